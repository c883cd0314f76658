/* flowgraph.c - the Flow Graph of TCP states (see flowgraph.h)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A sequence analysis, as TCP's own "TCP Flows", fed by the "tcpstate" tap
 * (stats.h), so that it draws one arrow per segment tcpstate tracked and
 * none for anything else (a TCP header quoted in an ICMP error, a frame
 * without a usable TCP header).  Per arrow:
 *   label    the segment's flags and its handshake or teardown step,
 *            "FIN, ACK  Teardown 1/4";
 *   comment  both endpoints' states after it, in the Info tag's notation,
 *            then its anomalies by name: "C:ESTABLISHED S:FIN_WAIT1
 *            server_close".
 * Every word comes from text.c and the anomaly list (anomalies.h).
 *
 * The record carries no TCP flags, so the listener asks for a protocol tree
 * (TL_REQUIRES_PROTO_TREE, and on 4.6 TL_REQUIRES_PROTOCOLS): the
 * protocols' own items at the top of a tree are then never faked, so the first "tcp" item there is the header of the
 * segment tcpstate tracked (a quoted header sits inside the ICMP item), and
 * its bytes give the flags and the ports, on every pass.
 *
 * The items are Wireshark's seq_analysis_item_t, declared per release in
 * compat.h; before the first arrow, the fields that
 * sequence_analysis_create_sai_with_addresses() filled are checked against
 * pinfo: on a mismatch (a release whose layout differs) the analysis warns
 * once and draws nothing, rather than write into the wrong places.
 */
#include "config-tcpstate.h"

#include "flowgraph.h"

#include <epan/epan_dissect.h>
#include <epan/packet.h>
#include <epan/proto.h>
#include <epan/tap.h>

#include "anomalies.h"
#include "compat.h"
#include "conn.h"
#include "stats.h"
#include "text.h"

#if TS_HAVE_FLOWGRAPH

/* Resolved on first use; live for the program's lifetime. */
static int proto_tcp = -1;
/* The release's item layout is not the one declared: never draw again. */
static bool layout_bad;

/* Anomalies the label already shows (as the step). */
#define FLOW_STEP_ANOMALIES (TS_AN_BIT(HANDSHAKE_STEP) | TS_AN_BIT(TEARDOWN_STEP))

/* The fixed TCP header up to the flags, as in extract.c. */
#define TCP_FIXED 14

/* The header of the segment tcpstate tracked: its flags and ports, from the
 * first "tcp" protocol item at the top of the tree.  false if there is none
 * (a dissector that put TCP under its own subtree). */
static bool
segment_header(proto_tree *tree, uint16_t *flags, uint16_t *sport, uint16_t *dport)
{
    if (!tree)
        return false;
    if (proto_tcp < 0)
        proto_tcp = proto_get_id_by_filter_name("tcp");
    for (proto_node *n = tree->first_child; n; n = n->next) {
        const field_info *fi = PNODE_FINFO(n);
        if (!fi || !fi->hfinfo || fi->hfinfo->id != proto_tcp)
            continue;
        if (!fi->ds_tvb || tvb_captured_length_remaining(fi->ds_tvb, fi->start) < TCP_FIXED)
            return false;
        *sport = tvb_get_ntohs(fi->ds_tvb, fi->start);
        *dport = tvb_get_ntohs(fi->ds_tvb, fi->start + 2);
        *flags = tvb_get_ntohs(fi->ds_tvb, fi->start + 12) & 0x0FFF;
        return true;
    }
    return false;
}

/* A GQueue that is one: its length agrees with its ends. */
static bool
queue_ok(const GQueue *q)
{
    return q && (q->length == 0) == (q->head == NULL) && (q->head == NULL) == (q->tail == NULL);
}

/* What sequence_analysis_create_sai_with_addresses() filled, where compat.h
 * says it is: the addresses of pinfo (net_src/dst or src/dst, by the
 * info's any_addr), the time string, and nothing else yet.  The pointer
 * fields are looked at first, so that a wrong layout is caught before an
 * address is compared. */
static bool
layout_ok(const ts_seq_item *sai, const packet_info *pinfo)
{
    if (!sai->time_str || sai->frame_label || sai->comment || sai->frame_number ||
        sai->port_src || sai->port_dst || sai->conv_num || sai->display || sai->line_style)
        return false;
    return (addresses_equal(&sai->src_addr, &pinfo->src) &&
            addresses_equal(&sai->dst_addr, &pinfo->dst)) ||
           (addresses_equal(&sai->src_addr, &pinfo->net_src) &&
            addresses_equal(&sai->dst_addr, &pinfo->net_dst));
}

static void
warn_layout(const char *what)
{
    ws_warning("tcpstate: the Flow Graph \"" TS_FLOW_UI_NAME "\" draws nothing: %s does not "
               "match the layout tcpstate was built for (Wireshark %d.%d.%d)",
               what, WIRESHARK_VERSION_MAJOR, WIRESHARK_VERSION_MINOR, WIRESHARK_VERSION_MICRO);
}

static tap_packet_status
flow_packet(void *tapdata, packet_info *pinfo, epan_dissect_t *edt, const void *data,
            tap_flags_t tflags _U_)
{
    ts_seq_info *sainfo = (ts_seq_info *)tapdata;
    const ts_tap_data *td = (const ts_tap_data *)data;
    const ts_record *r = td->rec;
    uint16_t flags = 0, sport = pinfo->srcport, dport = pinfo->destport;
    char steps[40], label[96], states[40], anomalies[256];
    uint32_t shown;
    ts_seq_item *sai;

    if (layout_bad)
        return TAP_PACKET_DONT_REDRAW;
    if (!queue_ok(sainfo->items)) {
        layout_bad = true;
        warn_layout("the flow graph's seq_analysis_info_t");
        return TAP_PACKET_DONT_REDRAW;
    }
    sai = sequence_analysis_create_sai_with_addresses(pinfo, sainfo);
    if (!sai)
        return TAP_PACKET_DONT_REDRAW;      /* no addresses for the chosen kind */
    if (!layout_ok(sai, pinfo)) {
        /* Left allocated: freeing it would need the right layout. */
        layout_bad = true;
        warn_layout("its seq_analysis_item_t");
        return TAP_PACKET_DONT_REDRAW;
    }

    const bool have_header = segment_header(edt ? edt->tree : NULL, &flags, &sport, &dport);
    ts_text_steps(r, steps, sizeof steps);
    if (have_header)
        ts_text_flags(flags, label, sizeof label);
    else
        g_strlcpy(label, "?", sizeof label);
    if (steps[0]) {
        g_strlcat(label, "  ", sizeof label);
        g_strlcat(label, steps, sizeof label);
    }

    /* The expert infos of the segment but the steps; half_open only while
     * it holds, as the expert info (packet-tcpstate.c). */
    shown = r->anomalies & ~FLOW_STEP_ANOMALIES;
    if ((shown & TS_AN_BIT(HALF_OPEN)) && !ts_conn_half_open_pending(td->conn))
        shown &= ~TS_AN_BIT(HALF_OPEN);
    ts_text_states(r, NULL, states, sizeof states);
    ts_text_anomalies(shown, r->illegal, anomalies, sizeof anomalies);

    sai->frame_number = pinfo->num;
    sai->port_src = sport;
    sai->port_dst = dport;
    sai->frame_label = g_strdup(label);
    sai->comment = anomalies[0] ? g_strconcat(states, "  ", anomalies, NULL) : g_strdup(states);
    sai->conv_num = (guint16)r->stream;
    sai->line_style = 1;
    sai->display = TRUE;
    g_queue_push_tail(sainfo->items, sai);
    return TAP_PACKET_REDRAW;
}

void
ts_flowgraph_register(int proto)
{
    register_seq_analysis(TS_FLOW_NAME, TS_FLOW_UI_NAME, proto, TS_TAP_NAME,
                          TL_REQUIRES_PROTO_TREE | TS_TL_REQUIRES_PROTOCOLS, flow_packet);
}

#else /* !TS_HAVE_FLOWGRAPH */

void
ts_flowgraph_register(int proto _U_)
{
}

#endif
