/* store.h - where tcpstate keeps its state between packets
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Two dense, paged arrays, both living from a capture file's opening to its
 * closing (init and cleanup routines):
 *  - one ts_record per frame number (16 bytes), written on the first pass
 *    and read on every later one;
 *  - one ts_conn per tcp.stream, written on the first pass only.
 * Pages are allocated on first use and zeroed, so unused frame numbers and
 * streams cost nothing but their page.
 */
#ifndef TCPSTATE_STORE_H
#define TCPSTATE_STORE_H

#include <stdint.h>

#include "conn.h"

void ts_store_init(void);
void ts_store_cleanup(void);

/* The record of a frame, to fill on the first pass (zeroed on creation). */
ts_record *ts_store_new_record(uint32_t frame);

/* The record of a frame, or NULL if the first pass left none. */
const ts_record *ts_store_record(uint32_t frame);

/* The connection of a stream, created zeroed on first use. */
ts_conn *ts_store_conn(uint32_t stream);

/* Zeek connections that ended inside a tcp.stream (zeek.h): the one that
 * ended before `frame` began the next.  Rare (Zeek's timeouts, 4-tuple
 * reuse); kept so that every segment shows its own Zeek connection. */
void ts_store_zeek_ended(uint32_t stream, uint32_t frame, const ts_zeek *ended);

/* The Zeek connection a frame of the stream belongs to, if it ended before
 * the stream's current one; NULL for the current one (the ts_conn's).
 * *index: the Zeek connection's number within the stream, from 0. */
const ts_zeek *ts_store_zeek_of(uint32_t stream, uint32_t frame, unsigned *index);

/* Bytes allocated, for the benchmark and tests. */
uint64_t ts_store_bytes(void);

#endif /* TCPSTATE_STORE_H */
