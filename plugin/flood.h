/* flood.h - SYN-flood detection: half-open connections per server
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Per server (address and port), the connections a SYN opened in the last
 * `window` seconds that are still half-open (SYN unanswered, or SYN-ACK
 * sent without the final ACK).  When a SYN takes that count to the
 * threshold, the SYN is the alarm; the alarm re-arms once the count falls
 * below half the threshold.  State lives from the capture file's opening to
 * its closing; computed on the first pass only.
 */
#ifndef TCPSTATE_FLOOD_H
#define TCPSTATE_FLOOD_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"

typedef struct ts_flood_alarm {
    uint32_t half_open;     /* half-open connections to the server in the window */
    uint32_t sources;       /* distinct client addresses among them */
    uint32_t window;        /* seconds */
} ts_flood_alarm;

void ts_flood_init(uint32_t threshold, uint32_t window_seconds);
void ts_flood_cleanup(void);

/* A SYN opened connection c (stream) to the server; true, with *alarm
 * filled, if it crossed the threshold.  time in seconds. */
bool ts_flood_begin(ts_conn *c, uint32_t stream, const ts_segment *seg, double time,
                    ts_flood_alarm *alarm);

/* Connection c is no longer half-open (handshake done, or reset). */
void ts_flood_end(ts_conn *c);

/* The alarm a frame raised, or NULL. */
const ts_flood_alarm *ts_flood_alarm_of(uint32_t frame);
void ts_flood_remember(uint32_t frame, const ts_flood_alarm *alarm);

#endif /* TCPSTATE_FLOOD_H */
