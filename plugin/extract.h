/* extract.h - where a frame's TCP segment comes from: TCP's tap, or the tree
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Two sources, the cheap one first:
 *  - TCP's own header (struct tcpheader), which the TCP dissector queues
 *    for the "tcp" tap and fetch_tapped_data() hands back during the same
 *    dissection.  No protocol tree is needed.  Present in every dissection
 *    with taps: tshark's single pass and its second pass (-2), the GUI's
 *    first load, retaps and redissections.
 *  - The borrowed tcp.* and ip.* fields of a protocol tree, for the
 *    dissections without taps that build a tree: the first pass of
 *    tshark -2 -R/-Y, a read filter in the GUI.  Their fields are primed at
 *    file open (for the first frame) and requested as wanted fields once
 *    such a pass is seen.
 * The only code that reads another dissector's output.
 */
#ifndef TCPSTATE_EXTRACT_H
#define TCPSTATE_EXTRACT_H

#include <epan/packet.h>

#include "conn.h"

typedef enum ts_extract_result {
    TS_EXTRACT_NONE,      /* no usable TCP header in this frame */
    TS_EXTRACT_SEGMENT,   /* a segment of a connection: seg is filled */
    TS_EXTRACT_QUOTED,    /* only a TCP header quoted in an ICMP error:
                             seg->stream is filled, nothing else */
    TS_EXTRACT_UNSEEN,    /* a TCP segment, but this dissection has neither
                             taps nor the fields (the first pass of
                             tshark -2 without a filter): a later
                             dissection with taps can read it */
    TS_EXTRACT_CUT        /* a TCP segment, but TCP stopped before it
                             queued its header (a header cut short by the
                             snapshot length, or malformed) and no tree
                             holds the fields */
} ts_extract_result;

/* Resolve the borrowed fields, protocols and the "tcp" tap, and listen to
 * that tap as a dissector helper (handoff, once all protocols exist). */
void ts_extract_resolve(void);

/* Per capture file: mark the borrowed fields interesting, so that a first
 * dissection with a tree but without taps has them from its first frame
 * (init routine). */
void ts_extract_prime(void);

/* The ids of the borrowed fields, for set_postdissector_wanted_hfids()
 * (which takes ownership of the array). */
GArray *ts_extract_wanted_hfids(void);

/* Whether TCP verifies checksums (tcp.check_checksum): the verdict is in
 * the tree only, so tcpstate then wants its fields on every frame. */
gboolean ts_extract_checksums_verified(void);

/* The frame's TCP segment, from the tap or the tree. */
ts_extract_result ts_extract(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree,
                             ts_segment *seg);

/* The addresses of the frame's segment, for the connection's facts
 * (facts.h): TCP's copies in its tap header when this dissection has it,
 * else the packet's.  family: 4, 6, or 0 for another address type. */
void ts_extract_addresses(packet_info *pinfo, uint8_t *family, uint8_t src[16], uint8_t dst[16]);

#endif /* TCPSTATE_EXTRACT_H */
