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
 * compat.h.  Before the first arrow, a graph of its own checks that this
 * Wireshark lays them out so (layout_matches): if not (a point release
 * that changed them), the analysis warns once and draws nothing, rather
 * than write into the wrong places.
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
/* Is the release's layout of the sequence analysis types compat.h's?
 * Decided on the first segment that has addresses (layout_matches). */
static enum { LAYOUT_UNCHECKED, LAYOUT_OK, LAYOUT_BAD } layout;

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

/* Is the release's layout of the two structures the one compat.h declares?
 * Asked once per program, on the first segment, with a graph of its own:
 * sequence_analysis_info_new() must have made an empty queue at .items;
 * sequence_analysis_create_sai_with_addresses() must have put pinfo's
 * addresses at .src_addr and .dst_addr and a time string at .time_str, and
 * nothing else (the pointer fields are looked at before any address is
 * compared); sequence_analysis_get_nodes() must draw an item whose .display
 * is set, and write its nodes at .src_node and .dst_node and the graph's
 * at .nodes and .num_nodes.  The fields written for the test were zero and
 * are zeroed again, so that sequence_analysis_info_free(), Wireshark's own
 * code, frees the item whatever the layout.  true: yes; false: no, or
 * cannot tell from this packet (no addresses), with *decided false. */
static bool
layout_matches(packet_info *pinfo, bool *decided)
{
    ts_seq_info *graph = sequence_analysis_info_new();
    ts_seq_item *sai;
    bool ok;

    *decided = true;
    if (!graph)
        return false;
    if (!queue_ok(graph->items) || graph->num_nodes || graph->any_addr) {
        sequence_analysis_info_free(graph);
        return false;
    }
    sai = sequence_analysis_create_sai_with_addresses(pinfo, graph);  /* pinfo->src, dst */
    if (!sai) {
        *decided = false;
        sequence_analysis_info_free(graph);
        return false;
    }
    g_queue_push_tail(graph->items, sai);   /* Wireshark's to free from here on */
    ok = sai->time_str && !sai->frame_label && !sai->comment && !sai->frame_number &&
         !sai->port_src && !sai->port_dst && !sai->conv_num && !sai->display &&
         !sai->src_node && !sai->dst_node && !sai->line_style &&
         addresses_equal(&sai->src_addr, &pinfo->src) &&
         addresses_equal(&sai->dst_addr, &pinfo->dst);
    if (ok) {
        const bool one_node = addresses_equal(&pinfo->src, &pinfo->dst);
        sai->display = TRUE;
        sai->src_node = sai->dst_node = 7;
        ok = sequence_analysis_get_nodes(graph) == 1 && sai->src_node == 0 &&
             sai->dst_node == (one_node ? 0u : 1u) && graph->num_nodes == (one_node ? 1u : 2u) &&
             addresses_equal(&graph->nodes[0], &pinfo->src);
        sai->display = FALSE;
        sai->src_node = sai->dst_node = 0;
    }
    sequence_analysis_info_free(graph);
    return ok;
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

    if (layout != LAYOUT_OK) {
        bool decided;
        if (layout == LAYOUT_BAD)
            return TAP_PACKET_DONT_REDRAW;
        if (layout_matches(pinfo, &decided)) {
            layout = LAYOUT_OK;
        } else if (decided) {
            layout = LAYOUT_BAD;
            ws_warning("tcpstate: the Flow Graph \"" TS_FLOW_UI_NAME "\" draws nothing: this "
                       "Wireshark's sequence analysis items are not laid out as in Wireshark "
                       "%d.%d.%d, which tcpstate was built for",
                       WIRESHARK_VERSION_MAJOR, WIRESHARK_VERSION_MINOR,
                       WIRESHARK_VERSION_MICRO);
            return TAP_PACKET_DONT_REDRAW;
        }
    }
    if (!queue_ok(sainfo->items))
        return TAP_PACKET_DONT_REDRAW;
    sai = sequence_analysis_create_sai_with_addresses(pinfo, sainfo);
    if (!sai)
        return TAP_PACKET_DONT_REDRAW;      /* no addresses of the kind chosen */

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
