/* continuity.h - connection state carried across the files of a ring set
 * (the tcpstate.state_dir preference)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * When tcpstate.state_dir names a folder, the end of each capture file
 * leaves there a snapshot of the connections still carried (carry.h,
 * snapshot.h), and the start of a file looks for the snapshot that
 * directly precedes it: its connections go on where they stopped instead
 * of starting over mid-stream.  docs/ring-buffers.md has the rules.
 *
 * The data path calls in at three points: the first dissection of every
 * frame (ts_cont_frame: the first one decides which snapshot the file
 * continues), the first segment of each tcp.stream (ts_cont_adopt: is it a
 * carried connection?), and the file's end (ts_cont_cleanup saves).  With
 * the preference empty (the default) ts_cont_on is FALSE and none of them
 * runs.  Lifetime of everything here: one capture file (init to cleanup
 * routine); the warnings about the folder: the program.
 */
#ifndef TCPSTATE_CONTINUITY_H
#define TCPSTATE_CONTINUITY_H

#include <epan/packet.h>

#include "conn.h"
#include "facts.h"
#include "snapshot.h"

/* This file loads and saves state: the folder is set and readable. */
extern gboolean ts_cont_on;

/* Per capture file: the preferences' folder and gap (seconds). */
void ts_cont_init(const char *dir, guint gap_seconds);
void ts_cont_cleanup(void);     /* saves this file's snapshot, then frees */

/* The first dissection of a frame. */
void ts_cont_frame(tvbuff_t *tvb, packet_info *pinfo);

/* The first segment of a stream, before it is tracked: if it continues a
 * connection of the previous file, conn (zeroed) becomes that connection
 * and the stream's facts its facts. */
void ts_cont_adopt(ts_conn *conn, uint32_t stream, const ts_facts_seg *fs);

/* The end of the analysis: settle which snapshot this file continued, if
 * that is still open (records.c asks before it lists, cleanup before it
 * saves).  Idempotent. */
void ts_cont_finish(void);

/* The carried connection a stream of this file continues, as it was at
 * the end of the previous file; NULL if none (or continuity is off). */
const ts_carried *ts_cont_carried(uint32_t stream);

/* Frames of the ring set's files before this one (0 for its first). */
uint64_t ts_cont_frames_before(void);

/* The connections carried into this file that met no segment in it, and
 * have not been superseded by a new connection on their 4-tuple. */
void ts_cont_foreach_untouched(void (*fn)(const ts_carried *e, void *data), void *data);

#endif /* TCPSTATE_CONTINUITY_H */
