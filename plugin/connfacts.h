/* connfacts.h - the connections' facts in the data path, for connection
 * records (records.c) and ring-set continuity (continuity.c)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Only a run that lists records or carries state keeps facts (facts.h,
 * one per tcp.stream in store.c); in every other run ts_connfacts_on is
 * FALSE and the data path takes one branch for them.  Lifetime: one
 * capture file (init to cleanup routine).
 */
#ifndef TCPSTATE_CONNFACTS_H
#define TCPSTATE_CONNFACTS_H

#include <epan/packet.h>

#include "conn.h"
#include "facts.h"

/* This file keeps facts.  Set by ts_connfacts_init(). */
extern gboolean ts_connfacts_on;

/* Per capture file (init and cleanup routines). */
void ts_connfacts_init(gboolean on);
void ts_connfacts_cleanup(void);

/* The segment as the facts see it (before it is tracked). */
void ts_connfacts_seg(packet_info *pinfo, const ts_segment *seg, ts_facts_seg *out);

/* After ts_conn_track() made rec: the stream's facts take the segment; the
 * first segment of a stream starts them, with its uid. */
void ts_connfacts_add(uint32_t stream, const ts_record *rec, const ts_facts_seg *fs);

/* A uid carried from an earlier file is taken: a new connection with the
 * same uid input gets the next collision index (uid.h). */
void ts_connfacts_reserve_uid(const ts_facts *f);

/* The facts' addresses as text, [0] the stream's first sender, [1] the
 * other: "10.0.0.1" / "fd00::1", and "10.0.0.1:80" / "[fd00::1]:80" as
 * the Connections table writes them.  "?" for another address type. */
#define TS_ADDR_TEXT 64
#define TS_ENDPOINT_TEXT 72
void ts_connfacts_texts(const ts_facts *f, char text[2][TS_ADDR_TEXT],
                        char endpoint[2][TS_ENDPOINT_TEXT]);

#endif /* TCPSTATE_CONNFACTS_H */
