/* extract.c - where a frame's TCP segment comes from (see extract.h)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A frame can hold several TCP headers: one quoted inside an ICMP or
 * ICMPv6 error is not a segment of the connection, and is recognised by
 * its layer number (an icmp/icmpv6 layer comes before it in
 * pinfo->layers).  The segment analysed is the first TCP layer that is not
 * quoted.  From the tap: TCP queues its header at the end of the header's
 * dissection, before its payload's, so the first TCP layer's header is the
 * tap's first entry.  From the tree: its fields are those with that layer
 * number, its addresses those of the last IP layer before it (the inner
 * one, in a tunnel).
 */
#include "config-tcpstate.h"

#include "extract.h"

#include <epan/dissectors/packet-tcp.h>
#include <epan/epan_dissect.h>
#include <epan/prefs-int.h>
#include <epan/prefs.h>
#include <epan/proto.h>
#include <epan/tap.h>

#include "compat.h"

/* The tree's fields.  Each wanted field costs a tree item in every frame, so the list is
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
static int tcp_tap = -1;        /* TCP's header, struct tcpheader */
static int ip_tap = -1;         /* IPv4's header: present whenever taps run */
static int ipv6_tap = -1;       /* IPv6's header: likewise */
static int tap_listener;        /* our listener's identity: its address */
static module_t *tcp_module;

void
ts_extract_resolve(void)
{
    GString *err;

    for (int i = 0; i < TS_B_COUNT; i++) {
        borrowed_hf[i] = proto_registrar_get_id_byname(borrowed[i].name);
        if (borrowed_hf[i] < 0)
            ws_warning("tcpstate: field %s is unknown to this Wireshark", borrowed[i].name);
    }
    proto_tcp = proto_get_id_by_filter_name("tcp");
    proto_icmp = proto_get_id_by_filter_name("icmp");
    proto_icmpv6 = proto_get_id_by_filter_name("icmpv6");
    tcp_module = prefs_find_module("tcp");

    /* A listener with no filter and no callback makes TCP queue its header
     * in every dissection with taps, at no cost to the others: a dissector
     * helper makes nobody build a tree or dissect (SMB2 reads NTLMSSP's
     * data this way).  Tap ids start at 1. */
    tcp_tap = find_tap_id("tcp");
    ip_tap = find_tap_id("ip");
    ipv6_tap = find_tap_id("ipv6");
    err = register_tap_listener("tcp", &tap_listener, NULL, TL_IS_DISSECTOR_HELPER, NULL, NULL,
                                NULL, NULL);
    if (err) {
        ws_warning("tcpstate: cannot listen to the tcp tap (%s): tcpstate reads the protocol "
                   "tree instead", err->str);
        g_string_free(err, TRUE);
        tcp_tap = -1;
    }
}

void
ts_extract_prime(void)
{
    /* epan_dissect_prime_with_hfid() marks a field interesting for every
     * tree (the tree it is given is not used), until a tree holding the
     * field is reset: enough for the first frame of a pass, after which
     * wanted fields take over if that pass has no taps. */
    epan_dissect_t none;

    memset(&none, 0, sizeof none);
    for (int i = 0; i < TS_B_COUNT; i++)
        if (borrowed_hf[i] >= 0)
            epan_dissect_prime_with_hfid(&none, borrowed_hf[i]);
}

gboolean
ts_extract_checksums_verified(void)
{
    pref_t *pref = tcp_module ? prefs_find_preference(tcp_module, "check_checksum") : NULL;

    return pref && prefs_get_bool_value(pref, pref_current);
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

/* The instances of field b in the tree: indexed when the field is primed;
 * in a shown tree an unprimed field's items exist too, found by walking the
 * tree (only for segments TCP left out of its tap: *walked is then set and
 * the array is the caller's to free). */
static GPtrArray *
instances(proto_tree *tree, enum ts_borrowed b, bool walk, bool *walked)
{
    GPtrArray *a;

    *walked = false;
    if (!tree || borrowed_hf[b] < 0)
        return NULL;
    if ((a = proto_get_finfo_ptr_array(tree, borrowed_hf[b])) || !walk ||
        !PTREE_DATA(tree)->visible)
        return a;
    a = proto_find_finfo(tree, borrowed_hf[b]);
    *walked = a != NULL;
    return a;
}

/* The instance of field b at exactly this layer (before: the one in the
 * deepest layer before it). */
static field_info *
field_in(proto_tree *tree, enum ts_borrowed b, int layer, bool before, bool walk)
{
    bool walked;
    GPtrArray *a = instances(tree, b, walk, &walked);
    field_info *best = NULL;

    for (guint i = 0; a && i < a->len; i++) {
        field_info *fi = (field_info *)g_ptr_array_index(a, i);
        if (!before && fi->total_layer_num == layer) {
            best = fi;
            break;
        }
        if (before && fi->total_layer_num < layer &&
            (!best || fi->total_layer_num > best->total_layer_num))
            best = fi;
    }
    if (walked)
        g_ptr_array_free(a, TRUE);
    return best;
}

static field_info *
field_at(proto_tree *tree, enum ts_borrowed b, int layer)
{
    return field_in(tree, b, layer, false, false);
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

/* Where the frame's TCP headers are: the layer number of the segment (0 if
 * none) and of the first quoted header (0 if none), and how many TCP
 * layers come before the segment's. */
typedef struct tcp_layers {
    int segment;
    int quoted;
    int before;
} tcp_layers;

static void
find_layers(packet_info *pinfo, tcp_layers *l)
{
    int layer = 0;
    bool in_icmp = false;

    memset(l, 0, sizeof *l);
    for (wmem_list_frame_t *f = wmem_list_head(pinfo->layers); f; f = wmem_list_frame_next(f)) {
        const int id = GPOINTER_TO_INT(wmem_list_frame_data(f));
        layer++;
        if (id == proto_icmp || id == proto_icmpv6) {
            in_icmp = true;
        } else if (id == proto_tcp) {
            if (!in_icmp) {
                l->segment = layer;
                return;
            }
            if (!l->quoted)
                l->quoted = layer;
            l->before++;
        }
    }
}

static gboolean
taps_running(void)
{
    return (ip_tap > 0 && fetch_tapped_data(ip_tap, 0)) ||
           (ipv6_tap > 0 && fetch_tapped_data(ipv6_tap, 0)) ||
           (tcp_tap > 0 && fetch_tapped_data(tcp_tap, 0));
}

/* An address's identity: FNV-1a over its bytes, as addr_key() over the
 * tree's field. */
static uint64_t
address_key(const address *a)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    const uint8_t *p = (const uint8_t *)a->data;

    if (!p || a->len <= 0 || a->len > 16)
        return 0;
    for (int i = 0; i < a->len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* The addresses' identities serve only to tell the endpoints apart when
 * both ports are equal, and the SYN-flood detector (a SYN's server and
 * client); elsewhere they stay 0. */
static inline bool
keys_needed(const ts_segment *seg)
{
    return seg->sport == seg->dport || (seg->flags & TS_TH_SYN);
}

/* The segment from TCP's own header. */
static void
from_tap(const struct tcpheader *th, ts_segment *seg)
{
    seg->stream = th->th_stream;
    seg->sport = th->th_sport;
    seg->dport = th->th_dport;
    seg->seq = th->th_rawseq;
    seg->flags = th->th_flags & 0x0FFF;                 /* as tcp.flags */
    seg->ack = (seg->flags & TS_TH_ACK) ? th->th_rawack : 0;   /* as tcp.ack_raw */
    seg->len = th->th_have_seglen ? th->th_seglen : 0;  /* as tcp.len */
    seg->win = th->th_win;                              /* as tcp.window_size: scaled */
    if (keys_needed(seg)) {
        seg->src_key = address_key(&th->ip_src);
        seg->dst_key = address_key(&th->ip_dst);
    }
}

/* The segment from the primed tree (or, walk, from any shown tree): false
 * if its fields are not there. */
static bool
from_tree(proto_tree *tree, int tcp_layer, bool walk, ts_segment *seg)
{
    field_info *fi[TS_B_COUNT];

    if (!tree)
        return false;
    for (int b = 0; b < TS_B_COUNT; b++) {
        const bool before = b == TS_B_IP_SRC || b == TS_B_IPV6_SRC;
        fi[b] = field_in(tree, (enum ts_borrowed)b, tcp_layer, before, walk);
        if (borrowed[b].required && !fi[b])
            return false;   /* not primed, or a truncated or malformed header */
    }

    /* The header itself, where the TCP dissector found the source port. */
    tvbuff_t *hdr = fi[TS_B_TCP_SRCPORT]->ds_tvb;
    const gint off = fi[TS_B_TCP_SRCPORT]->start;
    if (!hdr || tvb_captured_length_remaining(hdr, off) < TS_TCP_FIXED)
        return false;       /* cut short by the snapshot length */

    seg->stream = uint_of(fi[TS_B_TCP_STREAM]);
    seg->sport = tvb_get_ntohs(hdr, off);
    seg->dport = tvb_get_ntohs(hdr, off + 2);
    seg->seq = tvb_get_ntohl(hdr, off + 4);
    seg->flags = tvb_get_ntohs(hdr, off + 12) & 0x0FFF;   /* as tcp.flags */
    /* As tcp.ack_raw, which exists only when ACK is set. */
    seg->ack = (seg->flags & TS_TH_ACK) ? tvb_get_ntohl(hdr, off + 8) : 0;
    seg->len = uint_of(fi[TS_B_TCP_LEN]);
    seg->win = uint_of(fi[TS_B_TCP_WINDOW]);
    seg->bad_checksum = fi[TS_B_TCP_CKSUM] && uint_of(fi[TS_B_TCP_CKSUM]) == 0;
    /* The addresses identify the endpoints when both ports are equal, and
     * the server and the sources for the SYN-flood detector.  Of IPv4 and
     * IPv6, the deeper one belongs to this TCP header; in both headers the
     * destination address directly follows the source. */
    field_info *src = fi[TS_B_IP_SRC];
    if (fi[TS_B_IPV6_SRC] && (!src || fi[TS_B_IPV6_SRC]->total_layer_num > src->total_layer_num))
        src = fi[TS_B_IPV6_SRC];
    if (src && keys_needed(seg)) {
        seg->src_key = addr_key(src->ds_tvb, src->start, src->length);
        seg->dst_key = addr_key(src->ds_tvb, src->start + src->length, src->length);
    }
    seg->from_tree = true;
    return true;
}

/* Only verified when the user turns tcp.check_checksum on; then the
 * verdict, which is in the tree only, is a wanted field.  0 = bad. */
static bool
checksum_bad(proto_tree *tree, int tcp_layer)
{
    field_info *fi = tree ? field_at(tree, TS_B_TCP_CKSUM, tcp_layer) : NULL;

    return fi && uint_of(fi) == 0;
}

ts_extract_result
ts_extract(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, ts_segment *seg)
{
    tcp_layers l;
    const struct tcpheader *th;

    if (proto_tcp < 0)
        return TS_EXTRACT_NONE;
    find_layers(pinfo, &l);
    memset(seg, 0, sizeof *seg);

    if (!l.segment) {
        field_info *stream = l.quoted ? field_at(tree, TS_B_TCP_STREAM, l.quoted) : NULL;
        if (!l.quoted)
            return TS_EXTRACT_NONE;
        if ((th = tcp_tap > 0 ? (const struct tcpheader *)fetch_tapped_data(tcp_tap, 0) : NULL))
            seg->stream = th->th_stream;
        else if (stream)
            seg->stream = uint_of(stream);
        else
            return TS_EXTRACT_NONE;
        return TS_EXTRACT_QUOTED;
    }

    th = (tcp_tap > 0 && l.before == 0) ? (const struct tcpheader *)fetch_tapped_data(tcp_tap, 0)
                                        : NULL;
    if (th) {
        from_tap(th, seg);
        seg->bad_checksum = checksum_bad(tree, l.segment);
    } else if (!from_tree(tree, l.segment, taps_running(), seg)) {
        /* Neither source: a dissection without taps and without the fields
         * (the first pass of tshark -2 without a filter), or TCP stopped
         * before it queued its header (a header cut short by the snapshot
         * length, or malformed) and no tree holds the fields. */
        return taps_running() ? TS_EXTRACT_CUT : TS_EXTRACT_UNSEEN;
    }
    seg->truncated = tvb_captured_length(tvb) < tvb_reported_length(tvb);
    return TS_EXTRACT_SEGMENT;
}

static uint8_t
address_bytes(const address *a, uint8_t out[16])
{
    memset(out, 0, 16);
    if (a->type == AT_IPv4 && a->len == 4) {
        memcpy(out, a->data, 4);
        return 4;
    }
    if (a->type == AT_IPv6 && a->len == 16) {
        memcpy(out, a->data, 16);
        return 6;
    }
    return 0;
}

void
ts_extract_addresses(packet_info *pinfo, uint8_t *family, uint8_t src[16], uint8_t dst[16])
{
    const struct tcpheader *th = NULL;
    tcp_layers l;

    if (tcp_tap > 0) {
        find_layers(pinfo, &l);
        if (l.segment && l.before == 0)
            th = (const struct tcpheader *)fetch_tapped_data(tcp_tap, 0);
    }
    *family = address_bytes(th ? &th->ip_src : &pinfo->src, src);
    if (address_bytes(th ? &th->ip_dst : &pinfo->dst, dst) != *family)
        *family = 0;
    if (!*family) {
        memset(src, 0, 16);
        memset(dst, 0, 16);
    }
}
