/* packet-tcpstate.c - TCP State Tracking: both endpoints' TCP states on every segment
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A post-dissector.  Per frame it fetches the borrowed tcp.* fields
 * (extract.c), steps the connection's state machine (conn.c, fsm.c),
 * stores a 16-byte record (store.c) and renders it.  Only the first pass
 * computes; every pass renders the stored record, so GUI clicks in any
 * order, retaps and tshark -2 show the same values.
 */
#include "config-tcpstate.h"

#include <epan/to_str.h>
#include <epan/expert.h>
#include <epan/packet.h>
#include <epan/prefs.h>
#include <epan/tap.h>

#include "anomalies.h"
#include "classify.h"
#include "compat.h"
#include "conn.h"
#include "extract.h"
#include "flood.h"
#include "flowgraph.h"
#include "fsm.h"
#include "stats.h"
#include "store.h"
#include "summary.h"
#include "text.h"

void proto_register_tcpstate(void);
void proto_reg_handoff_tcpstate(void);

/* Registered ids: set once at registration, live for the program's
 * lifetime.  They start at -1, not 0: Wireshark 4.0 refuses a subtree id
 * that is not -1 (later releases accept both). */
static int proto_tcpstate = -1;

static int hf_tcpstate_stream = -1;
static int hf_tcpstate_sender = -1;
static int hf_tcpstate_client_state = -1;
static int hf_tcpstate_server_state = -1;
static int hf_tcpstate_client_prev = -1;
static int hf_tcpstate_server_prev = -1;
static int hf_tcpstate_handshake = -1;
static int hf_tcpstate_teardown = -1;
static int hf_tcpstate_closer = -1;
static int hf_tcpstate_midstream = -1;
static int hf_tcpstate_icmp_quoted = -1;
static int hf_tcpstate_illegal = -1;
static int hf_tcpstate_conn_outcome = -1;
static int hf_tcpstate_conn_close_initiator = -1;
static int hf_tcpstate_conn_close_style = -1;
static int hf_tcpstate_conn_zeek_state = -1;
static int hf_tcpstate_conn_history = -1;
static int hf_tcpstate_conn_zeek_index = -1;
static int hf_tcpstate_conn_duration = -1;

static gint ett_tcpstate = -1;
static gint ett_tcpstate_conn = -1;

static int tcpstate_tap = -1;

/* Others' ids, resolved when a capture file opens: the expert tap and "_ws.expert". */
static int expert_tap = -1;
static int hf_ws_expert = -1;

/* One expert field per entry of the anomaly list (anomalies.h), indexed by
 * ts_anomaly; ei_tcpstate[TS_AN_SERVER_CLOSE] is "tcpstate.server_close". */
static expert_field ei_tcpstate[TS_AN_COUNT];

static dissector_handle_t tcpstate_handle;

/* Preferences; live for the program's lifetime. */
enum { INFO_TAG_OFF, INFO_TAG_CHANGES, INFO_TAG_ALWAYS };
static gint pref_info_tag = INFO_TAG_CHANGES;
static guint pref_syn_flood_threshold = 100;
static guint pref_syn_flood_window = 10;

static const enum_val_t info_tag_vals[] = {
    { "off", "Off", INFO_TAG_OFF },
    { "changes", "On segments that change a state or mark a step", INFO_TAG_CHANGES },
    { "always", "On every segment", INFO_TAG_ALWAYS },
    { NULL, NULL, 0 }
};

static const value_string state_vals[] = {
#define TS_STATE_VS(name, value) { value, #name },
    TS_STATES(TS_STATE_VS)
#undef TS_STATE_VS
    { 0, NULL }
};

static const value_string outcome_vals[] = {
#define TS_OUTCOME_VS(id, value, name, doc) { value, name },
    TS_OUTCOMES(TS_OUTCOME_VS)
#undef TS_OUTCOME_VS
    { 0, NULL }
};

static const value_string close_style_vals[] = {
    { TS_STYLE_NONE, "none" },
#define TS_STYLE_VS(id, value, name, doc) { value, name },
    TS_CLOSE_STYLES(TS_STYLE_VS)
#undef TS_STYLE_VS
    { 0, NULL }
};

static const value_string initiator_vals[] = {
    { TS_CLOSER_NONE, "none" },
    { TS_CLOSER_CLIENT, "client" },
    { TS_CLOSER_SERVER, "server" },
    { TS_CLOSER_BOTH, "both" },
    { 0, NULL }
};

static const value_string role_vals[] = {
    { 1, "client" },
    { 2, "server" },
    { 0, NULL }
};

static const value_string closer_vals[] = {
    { TS_CLOSER_CLIENT, "client" },
    { TS_CLOSER_SERVER, "server" },
    { TS_CLOSER_BOTH, "both" },
    { 0, NULL }
};

/* Filled from text.c's step names at registration. */
static value_string handshake_vals[4];
static value_string teardown_vals[5];

static void
make_step_vals(void)
{
    for (unsigned n = 1; n <= 3; n++)
        handshake_vals[n - 1] = (value_string){ n, ts_text_step_name(TS_STEPS_HANDSHAKE, n) };
    for (unsigned n = 1; n <= 4; n++)
        teardown_vals[n - 1] = (value_string){ n, ts_text_step_name(TS_STEPS_TEARDOWN, n) };
}

/* ---- first pass: compute ------------------------------------------------ */

static const ts_record *
track_frame(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree)
{
    ts_segment seg;
    ts_record *rec;

    switch (ts_extract(pinfo, tree, &seg)) {
    case TS_EXTRACT_SEGMENT: {
        ts_conn *conn = ts_store_conn(seg.stream);
        ts_flood_alarm alarm;
        ts_zeek ended;
        unsigned track;

        rec = ts_store_new_record(pinfo->num);
        seg.time = nstime_to_sec(&pinfo->abs_ts);
        seg.truncated = tvb_captured_length(tvb) < tvb_reported_length(tvb);
        track = ts_conn_track(conn, &seg, rec, &ended);
        if (track & TS_TRACK_ZEEK_NEW)
            ts_store_zeek_ended(seg.stream, pinfo->num, &ended);
        if ((track & TS_TRACK_HALF_OPEN_BEGIN) &&
            ts_flood_begin(conn, seg.stream, &seg, seg.time, &alarm)) {
            rec->anomalies |= TS_AN_BIT(SYN_FLOOD);
            ts_flood_remember(pinfo->num, &alarm);
        }
        if (track & TS_TRACK_HALF_OPEN_END)
            ts_flood_end(conn);
        return rec;
    }
    case TS_EXTRACT_QUOTED:
        rec = ts_store_new_record(pinfo->num);
        rec->stream = seg.stream;
        rec->flags = TS_REC_QUOTED;
        return rec;
    default:
        return NULL;
    }
}

/* ---- every pass: render ------------------------------------------------- */

static void
add_steps(proto_tree *tree, tvbuff_t *tvb, int hf, uint8_t bits)
{
    for (uint32_t n = 1; n <= 4; n++)
        if (bits & (1u << n))
            proto_item_set_generated(proto_tree_add_uint(tree, hf, tvb, 0, 0, n));
}

static void
render_quoted(tvbuff_t *tvb, proto_tree *tree, const ts_record *r)
{
    proto_item *ti = proto_tree_add_item(tree, proto_tcpstate, tvb, 0, 0, ENC_NA);
    proto_tree *st = proto_item_add_subtree(ti, ett_tcpstate);

    proto_item_append_text(ti, ", TCP header quoted in an ICMP error: not a segment of stream %u",
                           r->stream);
    proto_item_set_generated(proto_tree_add_uint(st, hf_tcpstate_stream, tvb, 0, 0, r->stream));
    proto_item_set_generated(proto_tree_add_boolean(st, hf_tcpstate_icmp_quoted, tvb, 0, 0, TRUE));
}

/* "<address>:<port>" of the segment's sender (from=TRUE) or receiver. */
static const char *
endpoint_str(packet_info *pinfo, gboolean from)
{
    const address *a = from ? &pinfo->src : &pinfo->dst;
    const char *s = address_to_str(pinfo->pool, a);

    return wmem_strdup_printf(pinfo->pool, a->type == AT_IPv6 ? "[%s]:%u" : "%s:%u", s,
                              from ? pinfo->srcport : pinfo->destport);
}

/* The expert infos of a record, each from the anomaly list. */
static gboolean experts_seen(packet_info *pinfo, proto_tree *tree);

static void
add_experts(packet_info *pinfo, proto_tree *tree, proto_item *ti, const ts_record *r)
{
    const gboolean from_server = (r->flags & TS_REC_FROM_SERVER) != 0;
    const gboolean seen = experts_seen(pinfo, tree);

    for (int i = 0; i < TS_AN_COUNT; i++) {
        if (!(r->anomalies & (1u << i)))
            continue;
        expert_field *ei = &ei_tcpstate[i];
        if (!seen && !(tree && proto_field_is_referenced(tree, ei->hf)))
            continue;
        switch ((ts_anomaly)i) {
        case TS_AN_ILLEGAL_FLAGS: {
            char name[48];
            ts_illegal_name(r->illegal, name, sizeof name);
            expert_add_info_format(pinfo, ti, ei, "Illegal TCP flag combination: %s", name);
            break;
        }
        case TS_AN_HANDSHAKE_STEP:
            expert_add_info_format(pinfo, ti, ei, "%s", ts_text_step_text(TS_STEPS_HANDSHAKE, r->handshake));
            break;
        case TS_AN_TEARDOWN_STEP:
            expert_add_info_format(pinfo, ti, ei, "%s", ts_text_step_text(TS_STEPS_TEARDOWN, r->teardown));
            break;
        case TS_AN_CLIENT_CLOSE:
        case TS_AN_SERVER_CLOSE:
            expert_add_info_format(pinfo, ti, ei, "The %s %s closed first: it sent the first FIN",
                                   from_server ? "server" : "client", endpoint_str(pinfo, TRUE));
            break;
        case TS_AN_CLIENT_RESET:
        case TS_AN_SERVER_RESET:
            expert_add_info_format(pinfo, ti, ei, "The %s %s reset the connection",
                                   from_server ? "server" : "client", endpoint_str(pinfo, TRUE));
            break;
        case TS_AN_HALF_OPEN:
            /* Only while no handshake ACK followed, as far as the first pass went. */
            if (ts_conn_half_open_pending(ts_store_conn(r->stream)))
                expert_add_info(pinfo, ti, ei);
            break;
        case TS_AN_SYN_FLOOD: {
            const ts_flood_alarm *a = ts_flood_alarm_of(pinfo->num);
            if (a)
                expert_add_info_format(pinfo, ti, ei,
                                       "SYN flood: %u half-open connections to %s from %u "
                                       "source addresses within %u s",
                                       a->half_open, endpoint_str(pinfo, FALSE), a->sources,
                                       a->window);
            break;
        }
        default:
            expert_add_info(pinfo, ti, ei);
            break;
        }
    }
}

/* The connection's summary: final after the first pass, so far during it. */
static void
render_conn(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, const ts_record *r)
{
    const ts_conn *c = ts_store_conn(r->stream);
    /* The Zeek connection this segment belongs to: an earlier one if Zeek
     * would have split the stream after it, else the current one. */
    unsigned zeek_index;
    const ts_zeek *zeek = ts_store_zeek_of(r->stream, pinfo->num, &zeek_index);
    char history[TS_ZEEK_HIST_BUFSZ];
    const ts_outcome o = ts_conn_outcome(c);
    const ts_closer closer = ts_conn_closer(c);
    const ts_close_style style = ts_conn_close_style(c);
    nstime_t duration;
    proto_item *ti;
    proto_tree *ct;

    /* "Connection: complete, closed first by server (four_segment)", put
     * together without printf (on every segment). */
    char text[128] = "Connection: ";
    g_strlcat(text, ts_outcome_name(o), sizeof text);
    if (closer != TS_CLOSER_NONE) {
        g_strlcat(text, ", closed first by ", sizeof text);
        g_strlcat(text, val_to_str_const(closer, initiator_vals, "?"), sizeof text);
    }
    if (style != TS_STYLE_NONE) {
        g_strlcat(text, " (", sizeof text);
        g_strlcat(text, ts_close_style_name(style), sizeof text);
        g_strlcat(text, ")", sizeof text);
    }
    ct = proto_tree_add_subtree(tree, tvb, 0, 0, ett_tcpstate_conn, &ti, text);
    proto_item_set_generated(ti);
    proto_item_set_generated(proto_tree_add_uint(ct, hf_tcpstate_conn_outcome, tvb, 0, 0, o));
    proto_item_set_generated(proto_tree_add_uint(ct, hf_tcpstate_conn_close_initiator, tvb, 0, 0,
                                                 closer));
    proto_item_set_generated(proto_tree_add_uint(ct, hf_tcpstate_conn_close_style, tvb, 0, 0,
                                                 style));
    proto_item_set_generated(proto_tree_add_string(ct, hf_tcpstate_conn_zeek_state, tvb, 0, 0,
                                                   ts_zeek_conn_state(zeek ? zeek : &c->zeek)));
    proto_item_set_generated(proto_tree_add_string(ct, hf_tcpstate_conn_history, tvb, 0, 0,
                                                   ts_zeek_history(zeek ? zeek : &c->zeek,
                                                                   history)));
    proto_item_set_generated(proto_tree_add_uint(ct, hf_tcpstate_conn_zeek_index, tvb, 0, 0,
                                                 zeek_index));
    nstime_set_zero(&duration);
    duration.secs = (time_t)c->sum.last;
    duration.nsecs = (int)((c->sum.last - (double)duration.secs) * 1e9);
    proto_item_set_generated(proto_tree_add_time(ct, hf_tcpstate_conn_duration, tvb, 0, 0,
                                                 &duration));
}

/* The tree items: only when someone will look at them (a visible tree, or a
 * filter, column or -e naming a tcpstate field); a hidden tree built for
 * other dissectors' fields costs nothing here. */
static proto_item *
render_tree(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, const ts_record *r,
            const char *steps)
{
    const uint8_t cst = r->state[TS_CLIENT], sst = r->state[TS_SERVER];
    proto_item *ti;
    proto_tree *st;

    ti = proto_tree_add_item(tree, proto_tcpstate, tvb, 0, 0, ENC_NA);
    proto_item_append_text(ti, ", Client: %s  Server: %s%s%s%s", ts_text_state(cst),
                           ts_text_state(sst), steps[0] ? "  [" : "", steps, steps[0] ? "]" : "");
    st = proto_item_add_subtree(ti, ett_tcpstate);

    proto_item_set_generated(proto_tree_add_uint(st, hf_tcpstate_stream, tvb, 0, 0, r->stream));
    proto_item_set_generated(proto_tree_add_uint(st, hf_tcpstate_sender, tvb, 0, 0,
                                                 (r->flags & TS_REC_FROM_SERVER) ? 2 : 1));
    proto_item_set_generated(proto_tree_add_uint(st, hf_tcpstate_client_state, tvb, 0, 0, cst));
    proto_item_set_generated(proto_tree_add_uint(st, hf_tcpstate_server_state, tvb, 0, 0, sst));
    proto_item_set_generated(proto_tree_add_uint(st, hf_tcpstate_client_prev, tvb, 0, 0,
                                                 r->prev[TS_CLIENT]));
    proto_item_set_generated(proto_tree_add_uint(st, hf_tcpstate_server_prev, tvb, 0, 0,
                                                 r->prev[TS_SERVER]));
    add_steps(st, tvb, hf_tcpstate_handshake, r->handshake);
    add_steps(st, tvb, hf_tcpstate_teardown, r->teardown);
    if (TS_REC_CLOSER(r) != TS_CLOSER_NONE)
        proto_item_set_generated(proto_tree_add_uint(st, hf_tcpstate_closer, tvb, 0, 0,
                                                     TS_REC_CLOSER(r)));
    if (r->flags & TS_REC_MIDSTREAM)
        proto_item_set_generated(proto_tree_add_boolean(st, hf_tcpstate_midstream, tvb, 0, 0, TRUE));
    if (r->illegal) {
        char name[48];
        ts_illegal_name(r->illegal, name, sizeof name);
        proto_item_set_generated(proto_tree_add_string(st, hf_tcpstate_illegal, tvb, 0, 0, name));
    }
    render_conn(tvb, pinfo, st, r);
    return ti;
}

/* Expert infos reach the user through a visible tree, the Expert column,
 * the expert tap (Expert Information, -z expert) or a filter on an expert
 * field; when none of them can see a CHAT-level step, skip its formatting. */
static gboolean
experts_seen(packet_info *pinfo, proto_tree *tree)
{
    return (tree && PTREE_DATA(tree)->visible) || pinfo->cinfo ||
           (expert_tap > 0 && have_tap_listener(expert_tap)) ||
           (tree && hf_ws_expert >= 0 && proto_field_is_referenced(tree, hf_ws_expert));
}

static void
render(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, const ts_record *r)
{
    const uint8_t cst = r->state[TS_CLIENT], sst = r->state[TS_SERVER];
    const gboolean changed = cst != r->prev[TS_CLIENT] || sst != r->prev[TS_SERVER] ||
                             r->handshake || r->teardown;
    const gboolean tag = pinfo->cinfo &&
                         (pref_info_tag == INFO_TAG_ALWAYS ||
                          (pref_info_tag == INFO_TAG_CHANGES && changed));
    const gboolean show = tree && proto_field_is_referenced(tree, proto_tcpstate);
    char steps[40];
    proto_item *ti = NULL;

    if (show || tag)
        ts_text_steps(r, steps, sizeof steps);
    if (show)
        ti = render_tree(tvb, pinfo, tree, r, steps);
    if (r->anomalies)
        add_experts(pinfo, tree, ti, r);

    if (tag) {
        char text[80] = " [";
        ts_text_states(r, steps, text + 2, sizeof text - 3);
        g_strlcat(text, "]", sizeof text);
        col_append_str(pinfo->cinfo, COL_INFO, text);
    }
}

static int
dissect_tcpstate(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data _U_)
{
    const ts_record *rec = PINFO_FD_VISITED(pinfo) ? ts_store_record(pinfo->num)
                                                   : track_frame(tvb, pinfo, tree);
    if (!rec)
        return 0;
    if (rec->flags & TS_REC_QUOTED) {
        render_quoted(tvb, tree, rec);
    } else {
        render(tvb, pinfo, tree, rec);
        if (have_tap_listener(tcpstate_tap)) {
            ts_tap_data *td = wmem_new(pinfo->pool, ts_tap_data);
            td->rec = rec;
            td->conn = ts_store_conn(rec->stream);
            tap_queue_packet(tcpstate_tap, pinfo, td);
        }
    }
    return tvb_captured_length(tvb);
}

/* ---- registration ------------------------------------------------------- */

/* Per capture file: fresh store; the borrowed fields are wanted only while
 * the protocol is enabled, so disabling it costs nothing. */
#ifdef TCPSTATE_SANITIZE_SELFTEST
/* Sanitizer builds and the memcheck canary (tests/memcheck) only: a
 * deliberate bug on request, so that a test can prove the preloaded
 * runtimes, or valgrind, really report bugs in the plugin.
 * TCPSTATE_DELIBERATE_BUG=ub: a signed integer overflow (UBSan); leak: a
 * heap overflow and a block never freed (valgrind); any other value: a
 * heap overflow (ASan). */
static void
deliberate_bug(void)
{
    const char *which = g_getenv("TCPSTATE_DELIBERATE_BUG");

    if (!which)
        return;
    if (g_str_equal(which, "ub")) {
        volatile int big = G_MAXINT;
        ws_warning("tcpstate: deliberate signed overflow: %d", big + which[0]);
    } else if (g_str_equal(which, "leak")) {
        char *volatile p = (char *)g_malloc(8);
        ws_warning("tcpstate: deliberate overflow and leak: %d", p[8]);
    } else {
        char *volatile p = (char *)g_malloc(8);
        ws_warning("tcpstate: deliberate overflow: %d", p[8]);
        g_free(p);
    }
}
#endif

static void
tcpstate_init(void)
{
#ifdef TCPSTATE_SANITIZE_SELFTEST
    deliberate_bug();
#endif
    /* Tap ids start at 1; find_tap_id() answers 0 for a tap not yet
     * registered, which "expert" may not be at handoff time. */
    expert_tap = find_tap_id("expert");
    hf_ws_expert = proto_registrar_get_id_byname("_ws.expert");
    ts_store_init();
    ts_flood_init(pref_syn_flood_threshold, pref_syn_flood_window);
    if (proto_is_protocol_enabled(find_protocol_by_id(proto_tcpstate)))
        set_postdissector_wanted_hfids(tcpstate_handle, ts_extract_wanted_hfids());
}

static void
tcpstate_cleanup(void)
{
    set_postdissector_wanted_hfids(tcpstate_handle, NULL);
    ts_flood_cleanup();
    ts_store_cleanup();
}

void
proto_register_tcpstate(void)
{
    static hf_register_info hf[] = {
        { &hf_tcpstate_stream,
          { "Stream index", "tcpstate.stream", FT_UINT32, BASE_DEC, NULL, 0x0, NULL, HFILL } },
        { &hf_tcpstate_sender,
          { "Sender", "tcpstate.sender", FT_UINT8, BASE_DEC, VALS(role_vals), 0x0, NULL, HFILL } },
        { &hf_tcpstate_client_state,
          { "Client state", "tcpstate.client.state", FT_UINT8, BASE_DEC, VALS(state_vals), 0x0,
            NULL, HFILL } },
        { &hf_tcpstate_server_state,
          { "Server state", "tcpstate.server.state", FT_UINT8, BASE_DEC, VALS(state_vals), 0x0,
            NULL, HFILL } },
        { &hf_tcpstate_client_prev,
          { "Client state before", "tcpstate.client.prev", FT_UINT8, BASE_DEC, VALS(state_vals),
            0x0, NULL, HFILL } },
        { &hf_tcpstate_server_prev,
          { "Server state before", "tcpstate.server.prev", FT_UINT8, BASE_DEC, VALS(state_vals),
            0x0, NULL, HFILL } },
        { &hf_tcpstate_handshake,
          { "Handshake step", "tcpstate.handshake", FT_UINT8, BASE_DEC, VALS(handshake_vals), 0x0,
            NULL, HFILL } },
        { &hf_tcpstate_teardown,
          { "Teardown step", "tcpstate.teardown", FT_UINT8, BASE_DEC, VALS(teardown_vals), 0x0,
            NULL, HFILL } },
        { &hf_tcpstate_closer,
          { "Closed first by", "tcpstate.closer", FT_UINT8, BASE_DEC, VALS(closer_vals), 0x0,
            NULL, HFILL } },
        { &hf_tcpstate_midstream,
          { "Mid-stream: roles and states guessed", "tcpstate.midstream", FT_BOOLEAN, BASE_NONE,
            NULL, 0x0, NULL, HFILL } },
        { &hf_tcpstate_icmp_quoted,
          { "TCP header quoted in an ICMP error", "tcpstate.icmp_quoted", FT_BOOLEAN, BASE_NONE,
            NULL, 0x0, NULL, HFILL } },
        { &hf_tcpstate_illegal,
          { "Illegal flag combination", "tcpstate.illegal", FT_STRING, BASE_NONE, NULL, 0x0,
            NULL, HFILL } },

        /* The connection's summary (final after the first pass, so far during it) */
        { &hf_tcpstate_conn_outcome,
          { "Outcome", "tcpstate.conn.outcome", FT_UINT8, BASE_DEC, VALS(outcome_vals), 0x0,
            NULL, HFILL } },
        { &hf_tcpstate_conn_close_initiator,
          { "Close initiator", "tcpstate.conn.close_initiator", FT_UINT8, BASE_DEC,
            VALS(initiator_vals), 0x0, NULL, HFILL } },
        { &hf_tcpstate_conn_close_style,
          { "Close style", "tcpstate.conn.close_style", FT_UINT8, BASE_DEC,
            VALS(close_style_vals), 0x0, NULL, HFILL } },
        { &hf_tcpstate_conn_zeek_state,
          { "Zeek conn_state", "tcpstate.conn.zeek_state", FT_STRING, BASE_NONE, NULL, 0x0,
            NULL, HFILL } },
        { &hf_tcpstate_conn_history,
          { "Zeek history", "tcpstate.conn.history", FT_STRING, BASE_NONE, NULL, 0x0, NULL,
            HFILL } },
        { &hf_tcpstate_conn_zeek_index,
          { "Zeek connection within the stream", "tcpstate.conn.zeek_index", FT_UINT32, BASE_DEC,
            NULL, 0x0, NULL, HFILL } },
        { &hf_tcpstate_conn_duration,
          { "Duration", "tcpstate.conn.duration", FT_RELATIVE_TIME, BASE_NONE, NULL, 0x0, NULL,
            HFILL } },
    };
    static gint *ett[] = {
        &ett_tcpstate,
        &ett_tcpstate_conn,
    };
    static ei_register_info ei[] = {
#define TS_AN_EI(id, name, group, severity, summary, rule, doc)                    \
        { &ei_tcpstate[TS_AN_##id],                                                \
          { "tcpstate." name, PI_##group, PI_##severity, summary, EXPFILL } },
        TS_ANOMALIES(TS_AN_EI)
#undef TS_AN_EI
    };
    module_t *prefs;

    ts_text_init();
    make_step_vals();
    proto_tcpstate = proto_register_protocol("TCP State Tracking", "TCPSTATE", "tcpstate");
    proto_register_field_array(proto_tcpstate, hf, array_length(hf));
    proto_register_subtree_array(ett, array_length(ett));
    expert_register_field_array(expert_register_protocol(proto_tcpstate), ei, array_length(ei));

    prefs = prefs_register_protocol(proto_tcpstate, NULL);
    prefs_register_enum_preference(prefs, "info_tag", "Tag in the Info column",
                                   "Append the client and server states, and the handshake or "
                                   "teardown step, to the Info column",
                                   &pref_info_tag, info_tag_vals, FALSE);
    prefs_register_uint_preference(prefs, "syn_flood_threshold", "SYN flood threshold",
                                   "Half-open connections to one server (address and port) within "
                                   "the window that raise tcpstate.syn_flood; 0 turns it off",
                                   10, &pref_syn_flood_threshold);
    prefs_register_uint_preference(prefs, "syn_flood_window", "SYN flood window (seconds)",
                                   "How long a SYN counts towards its server's half-open "
                                   "connections", 10, &pref_syn_flood_window);

    tcpstate_handle = register_dissector("tcpstate", dissect_tcpstate, proto_tcpstate);
    tcpstate_tap = register_tap(TS_TAP_NAME);
    ts_stats_register();
    ts_flowgraph_register(proto_tcpstate);
    register_init_routine(tcpstate_init);
    register_cleanup_routine(tcpstate_cleanup);
}

void
proto_reg_handoff_tcpstate(void)
{
    ts_extract_resolve();
    register_postdissector(tcpstate_handle);
}
