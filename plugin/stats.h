/* stats.h - Statistics > TCP Connection Lifecycles, and tshark -z tcpstate,...
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TCPSTATE_STATS_H
#define TCPSTATE_STATS_H

#include "conn.h"

/* What the "tcpstate" tap carries for every tracked segment, on every pass.
 * Lifetime: the packet's (pinfo->pool); both pointers live for the file. */
typedef struct ts_tap_data {
    const ts_record *rec;
    const ts_conn   *conn;
} ts_tap_data;

#define TS_TAP_NAME   "tcpstate"
#define TS_STATS_MENU "TCP Connection Lifecycles"

/* The stats_tree and the per-connection table (from proto_register). */
void ts_stats_register(void);

#endif /* TCPSTATE_STATS_H */
