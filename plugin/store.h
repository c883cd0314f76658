/* store.h - where tcpstate keeps its state between packets
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Dense, paged arrays, all living from a capture file's opening to its
 * closing (init and cleanup routines):
 *  - one ts_record per frame number (16 bytes), written on the first pass
 *    and read on every later one;
 *  - one ts_conn per tcp.stream, written on the first pass only;
 *  - one ts_facts per tcp.stream (facts.h), only in runs that list records
 *    or carry state across files; other runs allocate none.
 * Pages are allocated on first use and zeroed, so unused frame numbers and
 * streams cost nothing but their page.
 */
#ifndef TCPSTATE_STORE_H
#define TCPSTATE_STORE_H

#include <stdint.h>

#include "conn.h"
#include "facts.h"

void ts_store_init(void);
void ts_store_cleanup(void);

/* The record of a frame, to fill on the first pass (zeroed on creation). */
ts_record *ts_store_new_record(uint32_t frame);

/* The record of a frame, or NULL if the first pass left none. */
const ts_record *ts_store_record(uint32_t frame);

/* The connection of a stream, created zeroed on first use. */
ts_conn *ts_store_conn(uint32_t stream);

/* The connection of a stream if the analysis made one, else NULL; and how
 * many streams there can be (a bound for walking them all). */
const ts_conn *ts_store_conn_peek(uint32_t stream);
uint32_t ts_store_conn_bound(void);

/* The facts of a stream, created zeroed on first use (facts.h), or NULL
 * from peek when there are none. */
ts_facts *ts_store_facts(uint32_t stream);
const ts_facts *ts_store_facts_peek(uint32_t stream);

/* Zeek connections that ended inside a tcp.stream (zeek.h): the one that
 * ended before `frame` began the next.  Rare (Zeek's timeouts, 4-tuple
 * reuse); kept so that every segment shows its own Zeek connection. */
void ts_store_zeek_ended(uint32_t stream, uint32_t frame, const ts_zeek *ended);

/* The Zeek connection a frame of the stream belongs to, if it ended before
 * the stream's current one; NULL for the current one (the ts_conn's).
 * *index: the Zeek connection's number within the stream, from 0. */
const ts_zeek *ts_store_zeek_of(uint32_t stream, uint32_t frame, unsigned *index);

/* How many Zeek connections ended inside the stream (in this file, and in
 * earlier files of a ring set); ts_store_zeek_carried() adds n that ended
 * in earlier files, which no frame of this file belongs to. */
unsigned ts_store_zeek_count(uint32_t stream);
void ts_store_zeek_carried(uint32_t stream, unsigned n);

/* Bytes allocated, for the benchmark and tests. */
uint64_t ts_store_bytes(void);

#endif /* TCPSTATE_STORE_H */
