/* connstats.h - what the statistics add up per connection, from its packets
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Pure C99.  The statistics listeners (stats.c) feed every tapped segment of
 * a connection, in frame order, to ts_connstats_add(): handshake timings,
 * the longest stays in CLOSE_WAIT and FIN_WAIT2, illegal segments and
 * warnings.  Lifetime: one run of a statistic (a tshark -z, a GUI dialog).
 */
#ifndef TCPSTATE_CONNSTATS_H
#define TCPSTATE_CONNSTATS_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"

typedef struct ts_connstats {
    double   first, last;       /* times of its first and last tapped segment */
    double   syn, synack, opened;   /* first SYN, SYN-ACK, handshake step 3; < 0 unseen */
    double   cw_since, f2_since;    /* an endpoint is in CLOSE_WAIT / FIN_WAIT2 since; < 0 not */
    double   cw_max, f2_max;    /* longest completed stays */
    uint32_t segments;
    uint32_t illegal;           /* segments with illegal flags */
    uint32_t warnings;          /* expert warnings (severity Warn or worse) */
} ts_connstats;

void ts_connstats_add(ts_connstats *s, const ts_record *r, double time);

/* Handshake timings in seconds; < 0 if not measurable. */
double ts_connstats_syn_to_synack(const ts_connstats *s);
double ts_connstats_synack_to_ack(const ts_connstats *s);
double ts_connstats_handshake(const ts_connstats *s);

/* Longest stays, counting one still going on at the last segment. */
double ts_connstats_close_wait(const ts_connstats *s);
double ts_connstats_fin_wait2(const ts_connstats *s);

#endif /* TCPSTATE_CONNSTATS_H */
