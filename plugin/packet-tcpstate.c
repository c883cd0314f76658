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

#include <epan/column-info.h>
#include <epan/to_str.h>
#include <epan/expert.h>
#include <epan/packet.h>
#include <epan/prefs.h>
#include <epan/tap.h>

#include "anomalies.h"
#include "classify.h"
#include "compat.h"
#include "conn.h"
#include "connfacts.h"
#include "continuity.h"
#include "extract.h"
#include "flood.h"
#include "flowgraph.h"
#include "fsm.h"
#include "records.h"
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
static int hf_tcpstate_conn_carried = -1;

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
static const char *pref_state_dir = "";     /* continuity.h: empty is off */
static guint pref_state_gap = 60;           /* seconds */

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

/* ---- the first dissection with data: compute -------------------------- */

/* Where the analysis of the open file stands.  Frames are analysed in
 * order, each in the first dissection of it that offers its segment (TCP's
 * tap, or the tree's fields): normally the first pass; in tshark -2
 * without a filter, whose first pass offers neither, the second.
 * Lifetime: one capture file (init routine). */
static struct {
    uint32_t last;          /* the last frame analysed */
    uint32_t hole;          /* the first frame a dissection could not read and
                               a later one may (0: none): nothing after it is
                               analysed before it */
    gboolean want_fields;   /* the borrowed fields are wanted fields */
    uint32_t first_max;     /* the last frame dissected for the first time */
    gboolean deferred;      /* frames are analysed in a later pass than their
                               first dissection (tshark -2 without a filter):
                               connection summaries are "so far" on the way */
    gboolean warned_deferred;
    uint32_t cut;           /* segments TCP could not read to the end of their
                               header, in dissections without the fields */
    gboolean starting;      /* no frame dissected yet (file_start) */
} analysis;

/* The first dissection of the file's first frame.  tshark registers its -z
 * listeners after it opens the file (after the init routine), so whether
 * this file keeps connection facts (records, continuity) is decided here. */
static void
file_start(void)
{
    analysis.starting = FALSE;
    ts_connfacts_init(ts_cont_on || ts_records_wanted());
}

/* The fields are wanted from now on: the next frame's tree has them. */
static void
want_fields(void)
{
    if (analysis.want_fields)
        return;
    analysis.want_fields = TRUE;
    set_postdissector_wanted_hfids(tcpstate_handle, ts_extract_wanted_hfids());
}

/* Connection summaries are being shown: say once if they are "so far"
 * because the analysis runs behind (tshark -2 without a filter). */
static void
note_conn_shown(void)
{
    if (!analysis.deferred || analysis.warned_deferred)
        return;
    analysis.warned_deferred = TRUE;
    ws_warning("tcpstate: the first pass of this two-pass run built no protocol tree and ran no "
               "taps, so tcpstate analysed the capture in the second pass: tcpstate.conn.* show "
               "each connection's summary so far, as in one pass; give a display or read filter "
               "(e.g. -Y tcp) for final summaries");
}

static ts_record *
track_segment(tvbuff_t *tvb _U_, packet_info *pinfo, ts_segment *seg)
{
    ts_conn *conn = ts_store_conn(seg->stream);
    ts_record *rec = ts_store_new_record(pinfo->num);
    ts_flood_alarm alarm;
    ts_zeek ended;
    unsigned track;
    ts_facts_seg fs;        /* records and continuity only */

    seg->time = nstime_to_sec(&pinfo->abs_ts);
    /* Records and ring-set continuity only (connfacts.h): a stream's first
     * segment may continue a connection of the previous file. */
    if (G_UNLIKELY(ts_connfacts_on)) {
        ts_connfacts_seg(pinfo, seg, &fs);
        if (ts_cont_on && !(conn->flags & TS_CONN_USED))
            ts_cont_adopt(conn, seg->stream, &fs);
    }
    track = ts_conn_track(conn, seg, rec, &ended);
    if (track & TS_TRACK_ZEEK_NEW)
        ts_store_zeek_ended(seg->stream, pinfo->num, &ended);
    if ((track & TS_TRACK_HALF_OPEN_BEGIN) &&
        ts_flood_begin(conn, seg->stream, seg, seg->time, &alarm)) {
        rec->anomalies |= TS_AN_BIT(SYN_FLOOD);
        ts_flood_remember(pinfo->num, &alarm);
    }
    if (track & TS_TRACK_HALF_OPEN_END)
        ts_flood_end(conn);
    if (G_UNLIKELY(ts_connfacts_on))
        ts_connfacts_add(seg->stream, rec, &fs);
    return rec;
}

static const ts_record *
track_frame(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree)
{
    ts_segment seg;
    ts_record *rec;

    if (!PINFO_FD_VISITED(pinfo) && pinfo->num > analysis.first_max)
        analysis.first_max = pinfo->num;
    /* Seen again, or after a frame still to be read: nothing to do.  (A
     * first dissection may repeat the last number: a read filter dropped
     * that frame, and tshark gives its number to the next one.) */
    if (pinfo->num < analysis.last || (pinfo->num == analysis.last && PINFO_FD_VISITED(pinfo)) ||
        (analysis.hole && pinfo->num > analysis.hole))
        return NULL;
    if (G_UNLIKELY(ts_cont_on))
        ts_cont_frame(tvb, pinfo);      /* the file's first frame decides what it continues */
    switch (ts_extract(tvb, pinfo, tree, &seg)) {
    case TS_EXTRACT_SEGMENT:
        analysis.last = pinfo->num;
        analysis.hole = 0;
        if (PINFO_FD_VISITED(pinfo) && pinfo->num < analysis.first_max)
            analysis.deferred = TRUE;
        /* From the tree: a dissection without taps, whose next frames need
         * the fields too.  Truncated: TCP may stop short of its tap. */
        if (seg.from_tree || seg.truncated)
            want_fields();
        return track_segment(tvb, pinfo, &seg);
    case TS_EXTRACT_QUOTED:
        analysis.last = pinfo->num;
        analysis.hole = 0;
        rec = ts_store_new_record(pinfo->num);
        rec->stream = seg.stream;
        rec->flags = TS_REC_QUOTED;
        return rec;
    case TS_EXTRACT_UNSEEN:
        /* A pass without taps: if it builds trees (-2 with a filter), the
         * next frames' trees hold the fields.  If it builds none (the first
         * pass of plain -2), wanting fields would make tshark build a tree
         * for every frame of that pass, only for the later pass (with taps)
         * to analyse them: want nothing. */
        if (tree)
            want_fields();
        if (!analysis.hole)
            analysis.hole = pinfo->num;
        return NULL;
    case TS_EXTRACT_CUT:
        want_fields();
        analysis.hole = 0;
        if (analysis.cut++ == 0)
            ws_warning("tcpstate: frame %u: TCP could not dissect this segment's header to its "
                       "end (a snapshot length shorter than the header, or a malformed header), "
                       "and this run's protocol tree does not hold TCP's fields: tcpstate skips "
                       "such segments here; with a display filter (e.g. -Y tcp), -V or in the "
                       "GUI it reads them", pinfo->num);
        analysis.last = pinfo->num;
        return NULL;
    default:
        return NULL;
    }
}

/* ---- every pass: render ------------------------------------------------- */

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

/* Whether an item of field hf is worth adding: the tree is shown (the GUI,
 * -V, PDML/JSON, and Wireshark 4.0's -T fields), or a filter, column or -e
 * names the field.  Adding an item nobody asked for to a hidden tree costs
 * little in epan, but computing its value (the Zeek history, say) would. */
static inline gboolean
wanted(proto_tree *tree, int hf)
{
    return proto_field_is_referenced(tree, hf);
}

#define ADD_GENERATED(call) proto_item_set_generated(call)

/* "Connection: complete, closed first by server (four_segment)", put
 * together without printf (on every segment of a shown tree). */
static void
conn_text(const ts_conn *c, char *text, size_t len)
{
    const ts_closer closer = ts_conn_closer(c);
    const ts_close_style style = ts_conn_close_style(c);

    g_strlcpy(text, "Connection: ", len);
    g_strlcat(text, ts_outcome_name(ts_conn_outcome(c)), len);
    if (closer != TS_CLOSER_NONE) {
        g_strlcat(text, ", closed first by ", len);
        g_strlcat(text, val_to_str_const(closer, initiator_vals, "?"), len);
    }
    if (style != TS_STYLE_NONE) {
        g_strlcat(text, " (", len);
        g_strlcat(text, ts_close_style_name(style), len);
        g_strlcat(text, ")", len);
    }
}

/* The Zeek fields of the Zeek connection this segment belongs to: an
 * earlier one if Zeek would have split the stream after it, else the
 * current one. */
static void
render_zeek(tvbuff_t *tvb, packet_info *pinfo, proto_tree *ct, const ts_record *r,
            const ts_conn *c)
{
    unsigned zeek_index;
    const ts_zeek *zeek = ts_store_zeek_of(r->stream, pinfo->num, &zeek_index);
    char history[TS_ZEEK_HIST_BUFSZ];

    if (!zeek)
        zeek = &c->zeek;
    if (wanted(ct, hf_tcpstate_conn_zeek_state))
        ADD_GENERATED(proto_tree_add_string(ct, hf_tcpstate_conn_zeek_state, tvb, 0, 0,
                                            ts_zeek_conn_state(zeek)));
    if (wanted(ct, hf_tcpstate_conn_history))
        ADD_GENERATED(proto_tree_add_string(ct, hf_tcpstate_conn_history, tvb, 0, 0,
                                            ts_zeek_history(zeek, history)));
    if (wanted(ct, hf_tcpstate_conn_zeek_index))
        ADD_GENERATED(proto_tree_add_uint(ct, hf_tcpstate_conn_zeek_index, tvb, 0, 0,
                                          zeek_index));
}

/* The connection's summary: final after the analysis of the file, so far
 * during it (a single pass). */
static void
render_conn(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, const ts_record *r)
{
    const ts_conn *c = ts_store_conn(r->stream);
    proto_tree *ct = tree;
    nstime_t duration;

    if (PTREE_DATA(tree)->visible) {
        char text[128];
        proto_item *ti;

        conn_text(c, text, sizeof text);
        ct = proto_tree_add_subtree(tree, tvb, 0, 0, ett_tcpstate_conn, &ti, text);
        proto_item_set_generated(ti);
    }
    if (wanted(ct, hf_tcpstate_conn_outcome))
        ADD_GENERATED(proto_tree_add_uint(ct, hf_tcpstate_conn_outcome, tvb, 0, 0,
                                          ts_conn_outcome(c)));
    if (wanted(ct, hf_tcpstate_conn_close_initiator))
        ADD_GENERATED(proto_tree_add_uint(ct, hf_tcpstate_conn_close_initiator, tvb, 0, 0,
                                          ts_conn_closer(c)));
    if (wanted(ct, hf_tcpstate_conn_close_style))
        ADD_GENERATED(proto_tree_add_uint(ct, hf_tcpstate_conn_close_style, tvb, 0, 0,
                                          ts_conn_close_style(c)));
    render_zeek(tvb, pinfo, ct, r, c);
    if (G_UNLIKELY(ts_cont_on) && wanted(ct, hf_tcpstate_conn_carried) &&
        ts_cont_carried(r->stream))
        ADD_GENERATED(proto_tree_add_boolean(ct, hf_tcpstate_conn_carried, tvb, 0, 0, TRUE));
    if (wanted(ct, hf_tcpstate_conn_duration)) {
        nstime_set_zero(&duration);
        duration.secs = (time_t)c->sum.last;
        duration.nsecs = (int)((c->sum.last - (double)duration.secs) * 1e9);
        ADD_GENERATED(proto_tree_add_time(ct, hf_tcpstate_conn_duration, tvb, 0, 0, &duration));
    }
}

static void
add_steps(proto_tree *tree, tvbuff_t *tvb, int hf, uint8_t bits)
{
    if (!bits || !wanted(tree, hf))
        return;
    for (uint32_t n = 1; n <= 4; n++)
        if (bits & (1u << n))
            ADD_GENERATED(proto_tree_add_uint(tree, hf, tvb, 0, 0, n));
}

/* The per-segment items. */
static void
render_segment(tvbuff_t *tvb, proto_tree *st, const ts_record *r)
{
    ADD_GENERATED(proto_tree_add_uint(st, hf_tcpstate_stream, tvb, 0, 0, r->stream));
    ADD_GENERATED(proto_tree_add_uint(st, hf_tcpstate_sender, tvb, 0, 0,
                                      (r->flags & TS_REC_FROM_SERVER) ? 2 : 1));
    ADD_GENERATED(proto_tree_add_uint(st, hf_tcpstate_client_state, tvb, 0, 0,
                                      r->state[TS_CLIENT]));
    ADD_GENERATED(proto_tree_add_uint(st, hf_tcpstate_server_state, tvb, 0, 0,
                                      r->state[TS_SERVER]));
    ADD_GENERATED(proto_tree_add_uint(st, hf_tcpstate_client_prev, tvb, 0, 0,
                                      r->prev[TS_CLIENT]));
    ADD_GENERATED(proto_tree_add_uint(st, hf_tcpstate_server_prev, tvb, 0, 0,
                                      r->prev[TS_SERVER]));
    add_steps(st, tvb, hf_tcpstate_handshake, r->handshake);
    add_steps(st, tvb, hf_tcpstate_teardown, r->teardown);
    if (TS_REC_CLOSER(r) != TS_CLOSER_NONE)
        ADD_GENERATED(proto_tree_add_uint(st, hf_tcpstate_closer, tvb, 0, 0, TS_REC_CLOSER(r)));
    if (r->flags & TS_REC_MIDSTREAM)
        ADD_GENERATED(proto_tree_add_boolean(st, hf_tcpstate_midstream, tvb, 0, 0, TRUE));
    if (r->illegal && wanted(st, hf_tcpstate_illegal)) {
        char name[48];
        ts_illegal_name(r->illegal, name, sizeof name);
        ADD_GENERATED(proto_tree_add_string(st, hf_tcpstate_illegal, tvb, 0, 0, name));
    }
}

/* Whether any connection-summary field is worth adding. */
static gboolean
conn_wanted(proto_tree *tree)
{
    return PTREE_DATA(tree)->visible || wanted(tree, hf_tcpstate_conn_outcome) ||
           wanted(tree, hf_tcpstate_conn_close_initiator) ||
           wanted(tree, hf_tcpstate_conn_close_style) ||
           wanted(tree, hf_tcpstate_conn_zeek_state) || wanted(tree, hf_tcpstate_conn_history) ||
           wanted(tree, hf_tcpstate_conn_zeek_index) || wanted(tree, hf_tcpstate_conn_duration) ||
           wanted(tree, hf_tcpstate_conn_carried);
}

/* The tree items: only when someone will look at them (a shown tree, or a
 * filter, column or -e naming a tcpstate field); in a hidden tree, only the
 * fields named, and no text. */
static proto_item *
render_tree(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, const ts_record *r,
            const char *steps)
{
    proto_item *ti = proto_tree_add_item(tree, proto_tcpstate, tvb, 0, 0, ENC_NA);
    proto_tree *st;

    if (PTREE_DATA(tree)->visible)
        proto_item_append_text(ti, ", Client: %s  Server: %s%s%s%s",
                               ts_text_state(r->state[TS_CLIENT]),
                               ts_text_state(r->state[TS_SERVER]), steps[0] ? "  [" : "", steps,
                               steps[0] ? "]" : "");
    st = proto_item_add_subtree(ti, ett_tcpstate);
    render_segment(tvb, st, r);
    if (conn_wanted(st)) {
        note_conn_shown();
        render_conn(tvb, pinfo, st, r);
    }
    return ti;
}

/* Expert infos reach the user through a shown tree, an Expert column, the
 * expert tap (Expert Information, -z expert) or a filter on _ws.expert or
 * on the expert's own field; when none of them can see it, skip it. */
static gboolean
experts_seen(packet_info *pinfo, proto_tree *tree)
{
    return (tree && PTREE_DATA(tree)->visible) ||
           (pinfo->cinfo && pinfo->cinfo->col_first[COL_EXPERT] >= 0) ||
           (expert_tap > 0 && have_tap_listener(expert_tap)) ||
           (tree && hf_ws_expert >= 0 && proto_field_is_referenced(tree, hf_ws_expert));
}

/* " [C:FIN_WAIT1 S:ESTABLISHED Teardown 1/4]" after the Info column. */
static void
render_info_tag(packet_info *pinfo, const ts_record *r)
{
    char text[96];

    ts_text_info_tag(r, text, sizeof text);
    col_append_str(pinfo->cinfo, COL_INFO, text);
}

static void
render(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, const ts_record *r)
{
    const gboolean changed = r->state[TS_CLIENT] != r->prev[TS_CLIENT] ||
                             r->state[TS_SERVER] != r->prev[TS_SERVER] || r->handshake ||
                             r->teardown;
    const gboolean tag = pinfo->cinfo &&
                         (pref_info_tag == INFO_TAG_ALWAYS ||
                          (pref_info_tag == INFO_TAG_CHANGES && changed));
    const gboolean show = tree && proto_field_is_referenced(tree, proto_tcpstate);
    char steps[40];
    proto_item *ti = NULL;

    if (show) {
        ts_text_steps(r, steps, sizeof steps);
        ti = render_tree(tvb, pinfo, tree, r, steps);
    }
    if (r->anomalies)
        add_experts(pinfo, tree, ti, r);
    if (tag)
        render_info_tag(pinfo, r);
}

static int
dissect_tcpstate(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data _U_)
{
    /* A first dissection analyses its frame; a later one renders the
     * stored record, or analyses a frame no earlier dissection could read. */
    const ts_record *rec = PINFO_FD_VISITED(pinfo) ? ts_store_record(pinfo->num) : NULL;

    if (G_UNLIKELY(analysis.starting))
        file_start();
    if (!rec && !(rec = track_frame(tvb, pinfo, tree)))
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
    memset(&analysis, 0, sizeof analysis);
    if (!proto_is_protocol_enabled(find_protocol_by_id(proto_tcpstate))) {
        ts_cont_init(NULL, 0);
        ts_connfacts_init(FALSE);
        return;
    }
    ts_cont_init(pref_state_dir, pref_state_gap);
    analysis.starting = TRUE;
    /* Segments come from TCP's tap, which needs no tree.  The fields are
     * for dissections without taps: primed for the first frame, wanted
     * once such a dissection shows up (track_frame).  TCP's checksum
     * verdict is in the tree only: verifying checksums wants the fields. */
    ts_extract_prime();
    if (ts_extract_checksums_verified())
        want_fields();
}

static void
tcpstate_cleanup(void)
{
    set_postdissector_wanted_hfids(tcpstate_handle, NULL);
    ts_cont_cleanup();          /* saves this file's snapshot: before the store goes */
    ts_connfacts_cleanup();
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
        { &hf_tcpstate_conn_carried,
          { "Carried from an earlier file of the ring set", "tcpstate.conn.carried", FT_BOOLEAN,
            BASE_NONE, NULL, 0x0,
            "The connection began in an earlier file: its state was loaded from the snapshot "
            "that file left in tcpstate.state_dir", HFILL } },
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
    prefs_register_directory_preference(prefs, "state_dir", "Ring-set state folder",
                                        "A folder where each capture file leaves the state of "
                                        "its connections still open, and where the next file of "
                                        "a ring set (dumpcap -b) takes it up; empty: off "
                                        "(docs/ring-buffers.md)", &pref_state_dir);
    prefs_register_uint_preference(prefs, "state_gap", "Ring-set gap (seconds)",
                                   "The longest time between the end of one file's snapshot and "
                                   "the first frame of the file that continues it", 10,
                                   &pref_state_gap);

    tcpstate_handle = register_dissector("tcpstate", dissect_tcpstate, proto_tcpstate);
    tcpstate_tap = register_tap(TS_TAP_NAME);
    ts_stats_register();
    ts_records_register();
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
