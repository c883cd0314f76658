/* extract.h - the tcp.* and ip.* fields tcpstate borrows, and reading them
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TCPSTATE_EXTRACT_H
#define TCPSTATE_EXTRACT_H

#include <epan/packet.h>

#include "conn.h"

typedef enum ts_extract_result {
    TS_EXTRACT_NONE,      /* no usable TCP header in this frame */
    TS_EXTRACT_SEGMENT,   /* a segment of a connection: seg is filled */
    TS_EXTRACT_QUOTED     /* only a TCP header quoted in an ICMP error:
                             seg->stream is filled, nothing else */
} ts_extract_result;

/* Resolve the borrowed fields' ids (handoff, once all protocols exist). */
void ts_extract_resolve(void);

/* The ids of the borrowed fields, for set_postdissector_wanted_hfids()
 * (which takes ownership of the array). */
GArray *ts_extract_wanted_hfids(void);

/* Read the frame's TCP segment from the primed tree (first pass only). */
ts_extract_result ts_extract(packet_info *pinfo, proto_tree *tree, ts_segment *seg);

#endif /* TCPSTATE_EXTRACT_H */
