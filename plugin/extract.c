/* extract.c - the tcp.* and ip.* fields tcpstate borrows, and reading them
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The only code that reads another dissector's output.  The fields are
 * declared once, in TS_BORROWED; that list feeds
 * set_postdissector_wanted_hfids(), so Wireshark fills them in a tree that
 * is otherwise not built.  That happens on the first pass only.
 *
 * A frame can hold several TCP headers: one quoted inside an ICMP or
 * ICMPv6 error is not a segment of the connection, and is recognised by
 * its layer number (an icmp/icmpv6 layer comes before it in
 * pinfo->layers).  The segment analysed is the first TCP layer that is not
 * quoted; its fields are those with that layer number, its addresses those
 * of the last IP layer before it (the inner one, in a tunnel).
 */
#include "config-tcpstate.h"

#include "extract.h"

#include <epan/proto.h>

#include "compat.h"

/* Each wanted field costs a tree item in every frame, so the list is
 * short: tcp.srcport locates the TCP header, whose fixed 14 bytes give
 * ports, sequence and acknowledgement numbers and flags; ip.src and
 * ipv6.src locate the addresses, the destination following the source.
 * The rest are Wireshark's own conclusions: the stream index, the
 * payload length, the window after scaling and the checksum's status.
 *
 *        id          filter name         required */
#define TS_BORROWED(X)                            \
    X(TCP_STREAM,  "tcp.stream",      true)       \
    X(TCP_SRCPORT, "tcp.srcport",     true)       \
    X(TCP_LEN,     "tcp.len",         false)      \
    X(TCP_WINDOW,  "tcp.window_size", false)      \
    X(TCP_CKSUM,   "tcp.checksum.status", false)  \
    X(IP_SRC,      "ip.src",          false)      \
    X(IPV6_SRC,    "ipv6.src",        false)

enum ts_borrowed {
#define TS_B_ENUM(id, name, req) TS_B_##id,
    TS_BORROWED(TS_B_ENUM)
#undef TS_B_ENUM
    TS_B_COUNT
};

static const struct {
    const char *name;
    bool        required;
} borrowed[TS_B_COUNT] = {
#define TS_B_INFO(id, name, req) { name, req },
    TS_BORROWED(TS_B_INFO)
#undef TS_B_INFO
};

/* Resolved in handoff; live for the program's lifetime. */
static int borrowed_hf[TS_B_COUNT];
static int proto_tcp = -1;
static int proto_icmp = -1;
static int proto_icmpv6 = -1;

void
ts_extract_resolve(void)
{
    for (int i = 0; i < TS_B_COUNT; i++) {
        borrowed_hf[i] = proto_registrar_get_id_byname(borrowed[i].name);
        if (borrowed_hf[i] < 0)
            ws_warning("tcpstate: field %s is unknown to this Wireshark", borrowed[i].name);
    }
    proto_tcp = proto_get_id_by_filter_name("tcp");
    proto_icmp = proto_get_id_by_filter_name("icmp");
    proto_icmpv6 = proto_get_id_by_filter_name("icmpv6");
}

GArray *
ts_extract_wanted_hfids(void)
{
    GArray *ids = g_array_sized_new(FALSE, FALSE, (guint)sizeof(int), TS_B_COUNT);
    for (int i = 0; i < TS_B_COUNT; i++)
        if (borrowed_hf[i] >= 0)
            g_array_append_val(ids, borrowed_hf[i]);
    return ids;
}

/* The instance of field b at exactly this layer. */
static field_info *
field_at(proto_tree *tree, enum ts_borrowed b, int layer)
{
    GPtrArray *a;

    if (borrowed_hf[b] < 0 || !(a = proto_get_finfo_ptr_array(tree, borrowed_hf[b])))
        return NULL;
    for (guint i = 0; i < a->len; i++) {
        field_info *fi = (field_info *)g_ptr_array_index(a, i);
        if (fi->total_layer_num == layer)
            return fi;
    }
    return NULL;
}

/* The instance of field b in the deepest layer before this one. */
static field_info *
field_before(proto_tree *tree, enum ts_borrowed b, int layer)
{
    GPtrArray *a;
    field_info *best = NULL;

    if (borrowed_hf[b] < 0 || !(a = proto_get_finfo_ptr_array(tree, borrowed_hf[b])))
        return NULL;
    for (guint i = 0; i < a->len; i++) {
        field_info *fi = (field_info *)g_ptr_array_index(a, i);
        if (fi->total_layer_num < layer && (!best || fi->total_layer_num > best->total_layer_num))
            best = fi;
    }
    return best;
}

static uint32_t
uint_of(const field_info *fi)
{
    return fi ? (uint32_t)fvalue_get_uinteger(TS_FI_FVALUE((field_info *)fi)) : 0;
}

/* FNV-1a over len address bytes at start: an address's identity. */
static uint64_t
addr_key(tvbuff_t *tvb, gint start, gint len)
{
    uint8_t buf[16];
    uint64_t h = 0xcbf29ce484222325ULL;

    if (!tvb || len <= 0 || len > (gint)sizeof buf ||
        tvb_captured_length_remaining(tvb, start) < len)
        return 0;
    tvb_memcpy(tvb, buf, start, len);
    for (gint i = 0; i < len; i++) {
        h ^= buf[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* The fixed part of the TCP header up to the flags, as captured. */
#define TS_TCP_FIXED 14

ts_extract_result
ts_extract(packet_info *pinfo, proto_tree *tree, ts_segment *seg)
{
    int layer = 0, tcp_layer = 0, quoted_layer = 0;
    bool in_icmp = false;
    field_info *fi[TS_B_COUNT];

    if (!tree || proto_tcp < 0)
        return TS_EXTRACT_NONE;

    for (wmem_list_frame_t *f = wmem_list_head(pinfo->layers); f; f = wmem_list_frame_next(f)) {
        const int id = GPOINTER_TO_INT(wmem_list_frame_data(f));
        layer++;
        if (id == proto_icmp || id == proto_icmpv6) {
            in_icmp = true;
        } else if (id == proto_tcp) {
            if (!in_icmp) {
                tcp_layer = layer;
                break;
            }
            if (!quoted_layer)
                quoted_layer = layer;
        }
    }

    memset(seg, 0, sizeof *seg);
    if (!tcp_layer) {
        field_info *stream = quoted_layer ? field_at(tree, TS_B_TCP_STREAM, quoted_layer) : NULL;
        if (!stream)
            return TS_EXTRACT_NONE;
        seg->stream = uint_of(stream);
        return TS_EXTRACT_QUOTED;
    }

    for (int b = 0; b < TS_B_COUNT; b++) {
        if (b == TS_B_IP_SRC || b == TS_B_IPV6_SRC)
            fi[b] = field_before(tree, (enum ts_borrowed)b, tcp_layer);
        else
            fi[b] = field_at(tree, (enum ts_borrowed)b, tcp_layer);
        if (borrowed[b].required && !fi[b])
            return TS_EXTRACT_NONE;   /* a truncated or malformed header */
    }

    /* The header itself, where the TCP dissector found the source port. */
    tvbuff_t *hdr = fi[TS_B_TCP_SRCPORT]->ds_tvb;
    const gint off = fi[TS_B_TCP_SRCPORT]->start;
    if (!hdr || tvb_captured_length_remaining(hdr, off) < TS_TCP_FIXED)
        return TS_EXTRACT_NONE;       /* cut short by the snapshot length */

    seg->stream = uint_of(fi[TS_B_TCP_STREAM]);
    seg->sport = tvb_get_ntohs(hdr, off);
    seg->dport = tvb_get_ntohs(hdr, off + 2);
    seg->seq = tvb_get_ntohl(hdr, off + 4);
    seg->flags = tvb_get_ntohs(hdr, off + 12) & 0x0FFF;   /* as tcp.flags */
    /* As tcp.ack_raw, which exists only when ACK is set. */
    seg->ack = (seg->flags & 0x010) ? tvb_get_ntohl(hdr, off + 8) : 0;
    seg->len = uint_of(fi[TS_B_TCP_LEN]);
    seg->win = uint_of(fi[TS_B_TCP_WINDOW]);
    /* Only verified when the user turns tcp.check_checksum on; 0 = bad. */
    seg->bad_checksum = fi[TS_B_TCP_CKSUM] && uint_of(fi[TS_B_TCP_CKSUM]) == 0;
    /* The addresses identify the endpoints when both ports are equal, and
     * the server and the sources for the SYN-flood detector.  Of IPv4 and
     * IPv6, the deeper one belongs to this TCP header; in both headers the
     * destination address directly follows the source. */
    field_info *src = fi[TS_B_IP_SRC];
    if (fi[TS_B_IPV6_SRC] && (!src || fi[TS_B_IPV6_SRC]->total_layer_num > src->total_layer_num))
        src = fi[TS_B_IPV6_SRC];
    if (src) {
        seg->src_key = addr_key(src->ds_tvb, src->start, src->length);
        seg->dst_key = addr_key(src->ds_tvb, src->start + src->length, src->length);
    }
    return TS_EXTRACT_SEGMENT;
}
