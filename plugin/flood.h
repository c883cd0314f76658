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

/* Ring-set continuity (continuity.c): the half-open connections of the
 * file before go on counting in this one.  A carried one stands in the
 * count as a placeholder until its SYN leaves the window, or until the
 * connection goes on in this file (ts_flood_adopt) and its handshake ends.
 * Seed before the file's first SYN, oldest SYN first. */
typedef struct ts_flood_carry {
    uint64_t key;           /* its server, as ts_flood_carried() gave it */
    int64_t  syn_ns;
    uint64_t client_key;
    uint32_t id;            /* the caller's: its placeholder's name */
    bool     alarmed;       /* its server's alarm was raised */
} ts_flood_carry;

void ts_flood_seed(const ts_flood_carry *list, size_t n);

/* Carried connection `id` goes on as stream `stream`, connection c. */
void ts_flood_adopt(uint32_t id, ts_conn *c, uint32_t stream);

/* Forget every placeholder (the snapshot was another set's). */
void ts_flood_unseed(void);

/* For the snapshot: is connection c (stream) counted half-open, and if so
 * its server, SYN time and the server's alarm.  ts_flood_placeholder():
 * the same of carried connection `id` that never went on in this file. */
bool ts_flood_carried(const ts_conn *c, uint32_t stream, uint64_t *key, int64_t *syn_ns,
                      bool *alarmed);
bool ts_flood_placeholder(uint32_t id, uint64_t *key, int64_t *syn_ns, bool *alarmed);

#endif /* TCPSTATE_FLOOD_H */
