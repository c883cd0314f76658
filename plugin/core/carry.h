/* carry.h - the rules of ring-set continuity: what a file leaves to the next,
 * and which snapshot a file continues
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Pure C99, unit-tested (tests/unit/test_records.c); the glue
 * (plugin/continuity.c) applies them.  docs/ring-buffers.md states them
 * for users.
 *
 * What a file leaves: every connection that has not ended, while its last
 * segment is less than TS_CARRY_IDLE_S before the file's last frame; a
 * connection that ended, or an attempt that never got both endpoints
 * talking, for TS_CARRY_LINGER_S (so that a retransmission or a late
 * segment after a file boundary still meets it).  Of connections on the
 * same 4-tuple only the newest can still receive segments (Wireshark
 * attaches a segment to the newest conversation of its 4-tuple), so only
 * it is carried.
 *
 * Which snapshot a file continues (ts_carry_choose): one that
 *  - is not the file's own, and was made on the same interface (name,
 *    description, link-layer type) as the file's first frame;
 *  - ends at or before the file's first frame, by no more than the gap;
 *  - is the latest such snapshot of its chain (the files one snapshot led
 *    to the next);
 *  - did not skip a file: no other snapshot continued the same one and
 *    starts before it (that one is the right successor; this one is stale);
 *  - has no successor, other than this file, that starts at or before this
 *    file's first frame (the file would start inside an analysed file of
 *    the same chain: the clock stepped back, or files overlap).
 * One per chain remains.  Then the connections decide (continuity.c): a
 * segment on a carried 4-tuple whose sequence numbers continue it
 * (ts_carry_continues) is a hit for its snapshot; one whose numbers do not
 * is a contradiction.  A candidate with hits and no rival with hits is
 * continued.  With no hits, a single candidate is continued unless
 * something speaks against it (ts_carry_rejects).  Several chains (two
 * sensors sharing a folder) that no hit tells apart: nothing is carried,
 * with a warning.
 */
#ifndef TCPSTATE_CARRY_H
#define TCPSTATE_CARRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "facts.h"
#include "snapshot.h"

#define TS_CARRY_LINGER_S   120     /* ended connections and attempts */
#define TS_CARRY_IDLE_S     86400   /* connections that have not ended */
#define TS_CARRY_MAX_CHAINS 8       /* candidates considered at once */

/* Has the connection ended: is each endpoint CLOSED, TIME_WAIT or LISTEN? */
bool ts_carry_ended(const ts_conn *c);

/* Does the connection go into the snapshot, idle_ns after its last
 * segment (at the file's last frame)? */
bool ts_carry_keep(const ts_conn *c, int64_t idle_ns);

/* Could segment s continue carried connection c (same 4-tuple)?  Its
 * sequence number must lie within TS_CARRY_SEQ_SLACK of what its sender
 * had sent, and its acknowledgement (with ACK) within the slack of what
 * the other endpoint had sent, for one of the two ways round; an endpoint
 * that never sent is no evidence.  Two sets' connections that share a
 * 4-tuple have unrelated sequence numbers: the chance that both fit is
 * about 2^-14.  A SYN without ACK always fits: it starts a new connection
 * on the tuple, which ts_facts_ws_splits() decides. */
#define TS_CARRY_SEQ_SLACK (1u << 24)
bool ts_carry_continues(const ts_conn *c, const ts_facts_seg *s);

/* The file being opened, as far as a dissector sees it. */
typedef struct ts_file_ident {
    uint64_t    file_id;
    int64_t     first_ns;
    int32_t     encap;
    const char *iface, *descr;
} ts_file_ident;

typedef enum ts_carry_note {
    TS_NOTE_NONE,           /* no snapshot of this interface ends before the file */
    TS_NOTE_GAP,            /* the nearest one ends more than the gap before it */
    TS_NOTE_STALE,          /* the nearest one skipped a file of its chain */
    TS_NOTE_OVERLAP,        /* its successor starts at or before this file: the clock
                               stepped back, or the files overlap */
    TS_NOTE_PRED_MISSING    /* this file's own snapshot continued one that is gone */
} ts_carry_note;

typedef struct ts_carry_choice {
    size_t        n;                            /* candidates, one per chain */
    size_t        pick[TS_CARRY_MAX_CHAINS];    /* indexes into heads */
    ts_carry_note note;                         /* why none, when n == 0 */
    size_t        about;                        /* the snapshot the note is about */
    size_t        self;                         /* the file's own snapshot; n_heads: none */
} ts_carry_choice;

/* Choose among the headers of a folder's snapshots (all valid). */
void ts_carry_choose(const ts_snap_head *const *heads, size_t n_heads, const ts_file_ident *f,
                     int64_t gap_ns, ts_carry_choice *out);

/* A single candidate that no segment of the file continued: is it another
 * set's?  Yes if a segment on one of its 4-tuples contradicted it, or if
 * it carries connections that had not ended (live) while the file has
 * connections already going on at its start (misses) that it does not
 * know.  A snapshot of only ended connections, or none, cannot be told
 * from the file's own predecessor, and carries nothing that could show
 * wrong states: it is continued (for the frame numbers and the chain). */
bool ts_carry_rejects(uint32_t contradictions, uint32_t misses, uint32_t live);

/* Should a snapshot `fresh` of a file replace the one already saved for it
 * (`old`)?  The one that saw more of the file wins (a run stopped early
 * leaves fewer frames); for the same frames, the one with the longer
 * history (chain index). */
bool ts_carry_replaces(const ts_snap_head *fresh, const ts_snap_head *old);

#endif /* TCPSTATE_CARRY_H */
