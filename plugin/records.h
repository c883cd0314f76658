/* records.h - tshark -z tcpstate,records[,filter]: one JSON line per connection
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TCPSTATE_RECORDS_H
#define TCPSTATE_RECORDS_H

#include <glib.h>

/* The -z argument (from proto_register). */
void ts_records_register(void);

/* A -z tcpstate,records was given: the data path keeps the facts the
 * records need (connfacts.h).  Lifetime: the program. */
gboolean ts_records_wanted(void);

#endif /* TCPSTATE_RECORDS_H */
