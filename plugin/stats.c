/* stats.c - Statistics > TCP Connection Lifecycles, and tshark -z tcpstate,...
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Two views of the "tcpstate" tap, which carries every tracked segment's
 * record and its connection (stats.h) on every pass:
 *  - a stats_tree, -z tcpstate,tree[,filter]: connections by outcome, close
 *    initiator, close style and final states; illegal segments; expert
 *    infos; half-open connections per server; handshake times;
 *  - a stat-tap table, -z tcpstate,conns[,filter]: one row per connection.
 * Both honour a display filter.  Connection-level values come from the
 * connection's summary: the final one after the first pass (the GUI,
 * tshark -2), the one so far while it runs (single-pass tshark), which is
 * why the tree moves a connection from class to class as it changes.
 */
#include "config-tcpstate.h"

#include "stats.h"

#include <epan/packet.h>
#include <epan/stat_tap_ui.h>
#include <epan/stats_tree.h>
#include <epan/to_str.h>

#include "anomalies.h"
#include "classify.h"
#include "compat.h"
#include "connstats.h"
#include "continuity.h"
#include "fsm.h"

static const char *const anomaly_names[TS_AN_COUNT] = {
#define TS_AN_NAME(id, name, group, severity, summary, rule, doc) "tcpstate." name,
    TS_ANOMALIES(TS_AN_NAME)
#undef TS_AN_NAME
};

static const char *
closer_name(ts_closer c)
{
    static const char *const names[] = { "none", "client", "server", "both" };
    return names[c & 3];
}

/* "10.0.0.1:80", "[fd00::1]:80": the sender (from) or the receiver. */
static char *
endpoint_str(packet_info *pinfo, bool from)
{
    const address *a = from ? &pinfo->src : &pinfo->dst;
    char *addr = address_to_str(NULL, a);
    char *s = g_strdup_printf(a->type == AT_IPv6 ? "[%s]:%u" : "%s:%u", addr,
                              from ? pinfo->srcport : pinfo->destport);
    wmem_free(NULL, addr);
    return s;
}

/* ---- the summary tree ------------------------------------------------------ */

#define ST_CONNS      "Connections by outcome"
#define ST_CLOSER     "Closed first by"
#define ST_STYLE      "Close style"
#define ST_STATES     "Final states (client, server)"
#define ST_ILLEGAL    "Illegal segments"
#define ST_EXPERT     "Expert infos"
#define ST_HALF_OPEN  "Half-open connections by server"
#define ST_SOURCES    "distinct sources"
#define ST_HANDSHAKE  "Handshake time (ms)"

/* One connection, as the tree last counted it.  Lifetime: one tree run. */
typedef struct tree_conn {
    ts_connstats stats;
    uint8_t      outcome, closer, style, cst, sst;
    bool         counted, half_open, rtt_done;
    char        *server;    /* "addr:port" */
    char        *client;    /* the client's address */
} tree_conn;

/* Per server, its half-open connections' sources (address -> count). */
typedef struct tree_server {
    int         half_open;
    GHashTable *sources;
} tree_server;

typedef struct tree_run {
    GHashTable *conns;      /* stream -> tree_conn */
    GHashTable *servers;    /* "addr:port" -> tree_server */
} tree_run;

/* The stats_tree API has no user data: runs by tree.  Lifetime: a run, from
 * the tree's init to its cleanup (or its next init); the table, to the
 * program's exit (stats_shutdown). */
static GHashTable *tree_runs;

static void
tree_conn_free(gpointer p)
{
    tree_conn *tc = (tree_conn *)p;
    g_free(tc->server);
    g_free(tc->client);
    g_free(tc);
}

static void
tree_server_free(gpointer p)
{
    tree_server *ts = (tree_server *)p;
    g_hash_table_destroy(ts->sources);
    g_free(ts);
}

static void
tree_run_free(gpointer p)
{
    tree_run *run = (tree_run *)p;
    g_hash_table_destroy(run->conns);
    g_hash_table_destroy(run->servers);
    g_free(run);
}

static void
tree_init(stats_tree *st)
{
    tree_run *run = g_new0(tree_run, 1);
    int node;

    run->conns = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, tree_conn_free);
    run->servers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, tree_server_free);
    if (!tree_runs)
        tree_runs = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, tree_run_free);
    g_hash_table_insert(tree_runs, st, run);    /* frees the tree's previous run, if any */

    /* The fixed classes always show, with 0 where nothing fell in them. */
    node = stats_tree_create_node(st, ST_CONNS, 0, STAT_DT_INT, TRUE);
    for (int o = 1; o <= TS_OUTCOME_MAX; o++)
        stats_tree_create_node(st, ts_outcome_name((ts_outcome)o), node, STAT_DT_INT, FALSE);
    node = stats_tree_create_node(st, ST_CLOSER, 0, STAT_DT_INT, TRUE);
    for (int c = 0; c <= TS_CLOSER_BOTH; c++)
        stats_tree_create_node(st, closer_name((ts_closer)c), node, STAT_DT_INT, FALSE);
    node = stats_tree_create_node(st, ST_STYLE, 0, STAT_DT_INT, TRUE);
    for (int s = 0; s <= TS_STYLE_MAX; s++)
        stats_tree_create_node(st, ts_close_style_name((ts_close_style)s), node, STAT_DT_INT,
                               FALSE);
    stats_tree_create_node(st, ST_STATES, 0, STAT_DT_INT, TRUE);
    stats_tree_create_node(st, ST_ILLEGAL, 0, STAT_DT_INT, TRUE);
    stats_tree_create_node(st, ST_EXPERT, 0, STAT_DT_INT, TRUE);
    stats_tree_create_node(st, ST_HALF_OPEN, 0, STAT_DT_INT, TRUE);
    stats_tree_create_node(st, ST_HANDSHAKE, 0, STAT_DT_FLOAT, FALSE);
}

static void
tree_cleanup(stats_tree *st)
{
    if (tree_runs)
        g_hash_table_remove(tree_runs, st);
}

/* Move one count from a child of parent to another. */
static void
recount(stats_tree *st, const char *parent, const char *from, const char *to)
{
    const int id = stats_tree_parent_id_by_name(st, parent);

    if (from && to && strcmp(from, to) == 0)
        return;
    if (from)
        increase_stat_node(st, from, id, FALSE, -1);
    if (to)
        increase_stat_node(st, to, id, FALSE, 1);
}

static void
set_half_open(stats_tree *st, tree_run *run, tree_conn *tc, bool half_open)
{
    tree_server *ts;
    gpointer n;

    if (tc->half_open == half_open)
        return;
    tc->half_open = half_open;
    ts = (tree_server *)g_hash_table_lookup(run->servers, tc->server);
    if (!ts) {
        ts = g_new0(tree_server, 1);
        ts->sources = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_hash_table_insert(run->servers, g_strdup(tc->server), ts);
    }
    ts->half_open += half_open ? 1 : -1;
    n = g_hash_table_lookup(ts->sources, tc->client);
    n = GINT_TO_POINTER(GPOINTER_TO_INT(n) + (half_open ? 1 : -1));
    if (GPOINTER_TO_INT(n) > 0)
        g_hash_table_insert(ts->sources, g_strdup(tc->client), n);
    else
        g_hash_table_remove(ts->sources, tc->client);

    increase_stat_node(st, ST_HALF_OPEN, 0, TRUE, half_open ? 1 : -1);
    const int parent = stats_tree_parent_id_by_name(st, ST_HALF_OPEN);
    const int node = stats_tree_manip_node_int(MN_SET, st, tc->server, parent, TRUE,
                                               ts->half_open);
    stats_tree_manip_node_int(MN_SET, st, ST_SOURCES, node, FALSE,
                              (gint)g_hash_table_size(ts->sources));
}

/* The connection-level nodes: where the connection stands now. */
static void
tree_connection(stats_tree *st, tree_run *run, tree_conn *tc, const ts_conn *c)
{
    const ts_outcome o = ts_conn_outcome(c);
    const ts_closer closer = ts_conn_closer(c);
    const ts_close_style style = ts_conn_close_style(c);
    const uint8_t cst = ts_fsm_display(c->ep[TS_CLIENT].st);
    const uint8_t sst = ts_fsm_display(c->ep[TS_SERVER].st);
    char before[48], now[48];

    g_snprintf(now, sizeof now, "%s, %s", ts_state_name((ts_state)cst),
               ts_state_name((ts_state)sst));
    if (!tc->counted) {
        tc->counted = true;
        increase_stat_node(st, ST_CONNS, 0, TRUE, 1);
        increase_stat_node(st, ST_CLOSER, 0, TRUE, 1);
        increase_stat_node(st, ST_STYLE, 0, TRUE, 1);
        increase_stat_node(st, ST_STATES, 0, TRUE, 1);
        recount(st, ST_CONNS, NULL, ts_outcome_name(o));
        recount(st, ST_CLOSER, NULL, closer_name(closer));
        recount(st, ST_STYLE, NULL, ts_close_style_name(style));
        recount(st, ST_STATES, NULL, now);
    } else {
        g_snprintf(before, sizeof before, "%s, %s", ts_state_name((ts_state)tc->cst),
                   ts_state_name((ts_state)tc->sst));
        recount(st, ST_CONNS, ts_outcome_name((ts_outcome)tc->outcome), ts_outcome_name(o));
        recount(st, ST_CLOSER, closer_name((ts_closer)tc->closer), closer_name(closer));
        recount(st, ST_STYLE, ts_close_style_name((ts_close_style)tc->style),
                ts_close_style_name(style));
        recount(st, ST_STATES, before, now);
    }
    tc->outcome = (uint8_t)o;
    tc->closer = (uint8_t)closer;
    tc->style = (uint8_t)style;
    tc->cst = cst;
    tc->sst = sst;
    set_half_open(st, run, tc, o == TS_OUTCOME_HALF_OPEN || o == TS_OUTCOME_NO_ANSWER);
}

static tap_packet_status
tree_packet(stats_tree *st, packet_info *pinfo, epan_dissect_t *edt _U_, const void *data,
            tap_flags_t flags _U_)
{
    const ts_tap_data *td = (const ts_tap_data *)data;
    const ts_record *r = td->rec;
    tree_run *run = tree_runs ? (tree_run *)g_hash_table_lookup(tree_runs, st) : NULL;
    tree_conn *tc;

    if (!run)
        return TAP_PACKET_DONT_REDRAW;
    tc = (tree_conn *)g_hash_table_lookup(run->conns, GUINT_TO_POINTER(r->stream));
    if (!tc) {
        const bool from_client = !(r->flags & TS_REC_FROM_SERVER);
        char *client = endpoint_str(pinfo, from_client);
        tc = g_new0(tree_conn, 1);
        tc->server = endpoint_str(pinfo, !from_client);
        tc->client = g_strndup(client, (gsize)(strrchr(client, ':') - client));
        g_free(client);
        g_hash_table_insert(run->conns, GUINT_TO_POINTER(r->stream), tc);
    }
    ts_connstats_add(&tc->stats, r, nstime_to_sec(&pinfo->rel_ts));
    tree_connection(st, run, tc, td->conn);

    if (r->illegal) {
        char name[48];
        ts_illegal_name(r->illegal, name, sizeof name);
        increase_stat_node(st, ST_ILLEGAL, 0, TRUE, 1);
        increase_stat_node(st, name, stats_tree_parent_id_by_name(st, ST_ILLEGAL), FALSE, 1);
    }
    for (int i = 0; i < TS_AN_COUNT; i++) {
        if (!(r->anomalies & (1u << i)) || i == TS_AN_HANDSHAKE_STEP || i == TS_AN_TEARDOWN_STEP)
            continue;
        increase_stat_node(st, ST_EXPERT, 0, TRUE, 1);
        increase_stat_node(st, anomaly_names[i], stats_tree_parent_id_by_name(st, ST_EXPERT),
                           FALSE, 1);
    }
    const double rtt = ts_connstats_handshake(&tc->stats);
    if (!tc->rtt_done && rtt >= 0) {
        tc->rtt_done = true;
        stats_tree_manip_node_float(MN_AVERAGE, st, ST_HANDSHAKE, 0, FALSE, (gfloat)(rtt * 1000));
    }
    return TAP_PACKET_REDRAW;
}

/* ---- the per-connection table ------------------------------------------------ */

enum conn_column {
    COL_STREAM, COL_CLIENT, COL_SERVER, COL_START, COL_DURATION, COL_OUTCOME, COL_CLOSER,
    COL_STYLE, COL_CLIENT_STATE, COL_SERVER_STATE, COL_ZEEK, COL_HISTORY, COL_SYN_SYNACK,
    COL_SYNACK_ACK, COL_HANDSHAKE, COL_SEGS_CS, COL_SEGS_SC, COL_BYTES_CS, COL_BYTES_SC,
    COL_ILLEGAL, COL_WARNINGS, COL_CLOSE_WAIT, COL_FIN_WAIT2, COL_COUNT
};

/* Column names are padded to the width of their format, so that tshark's
 * "name |" header lines up with its "format |" cells. */
static stat_tap_table_item conn_fields[COL_COUNT] = {
    { TABLE_ITEM_UINT,   TAP_ALIGN_RIGHT, "Stream", "%6u" },
    { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Client                      ", "%-28s" },
    { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Server                      ", "%-28s" },
    { TABLE_ITEM_FLOAT,  TAP_ALIGN_RIGHT, "     Start", "%10.6f" },
    { TABLE_ITEM_FLOAT,  TAP_ALIGN_RIGHT, "  Duration", "%10.6f" },
    { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Outcome        ", "%-15s" },
    { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Closer", "%-6s" },
    { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Close style  ", "%-13s" },
    { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Client state", "%-12s" },
    { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Server state", "%-12s" },
    { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Zeek  ", "%-6s" },
    { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "History         ", "%-16s" },
    { TABLE_ITEM_FLOAT,  TAP_ALIGN_RIGHT, "SYN>SYN-ACK ms", "%14.3f" },
    { TABLE_ITEM_FLOAT,  TAP_ALIGN_RIGHT, "SYN-ACK>ACK ms", "%14.3f" },
    { TABLE_ITEM_FLOAT,  TAP_ALIGN_RIGHT, "Handshake ms", "%12.3f" },
    { TABLE_ITEM_UINT,   TAP_ALIGN_RIGHT, "Segs C>S", "%8u" },
    { TABLE_ITEM_UINT,   TAP_ALIGN_RIGHT, "Segs S>C", "%8u" },
    { TABLE_ITEM_FLOAT,  TAP_ALIGN_RIGHT, "   Bytes C>S", "%12.0f" },
    { TABLE_ITEM_FLOAT,  TAP_ALIGN_RIGHT, "   Bytes S>C", "%12.0f" },
    { TABLE_ITEM_UINT,   TAP_ALIGN_RIGHT, "Illegal", "%7u" },
    { TABLE_ITEM_UINT,   TAP_ALIGN_RIGHT, "Warnings", "%8u" },
    { TABLE_ITEM_FLOAT,  TAP_ALIGN_RIGHT, "CLOSE_WAIT s", "%12.3f" },
    { TABLE_ITEM_FLOAT,  TAP_ALIGN_RIGHT, "FIN_WAIT2 s", "%11.3f" },
};

#define CONN_TABLE_NAME "Connections"

/* A row's cells: Client, Server and History are the row's own strings
 * (g_strdup, freed by conns_free_item); the other string cells point to
 * static names.  The row shows where its connection stands; a cell is
 * written only when its value changed (most segments change none).
 * Lifetime: a table's init to its reset; the table of tables, to the
 * program's exit (stats_shutdown). */
typedef struct conn_row {
    guint        row;
    ts_connstats stats;     /* times in seconds after base_ns */
    int64_t      base_ns;   /* its first tapped segment, or, for a connection carried
                               from an earlier file, its first segment there */
    double       start;     /* relative time of its first tapped segment (carried: of
                               its first segment, < 0) */
    uint8_t      outcome, closer, style, cst, sst;
    uint8_t      zeek_hist[sizeof(((ts_zeek *)0)->hist)];
    uint32_t     zeek_ep[2];
} conn_row;

static GHashTable *rows_by_table;   /* stat_tap_table* -> GHashTable stream -> conn_row */
static stat_tap_table *last_table;  /* the table of the last packet, and its rows; */
static GHashTable *last_rows;       /* forgotten when a table is reset */

static gboolean
owned_column(guint column)
{
    return column == COL_CLIENT || column == COL_SERVER || column == COL_HISTORY;
}

static GHashTable *
rows_of(stat_tap_table *table)
{
    GHashTable *rows;

    if (table == last_table)
        return last_rows;
    if (!rows_by_table)
        rows_by_table = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                              (GDestroyNotify)g_hash_table_destroy);
    rows = (GHashTable *)g_hash_table_lookup(rows_by_table, table);
    if (!rows) {
        rows = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
        g_hash_table_insert(rows_by_table, table, rows);
    }
    last_table = table;
    last_rows = rows;
    return rows;
}

static void
conns_init(stat_tap_table_ui *ui)
{
    stat_tap_table *table = stat_tap_find_table(ui, CONN_TABLE_NAME);

    if (!table) {
        /* The row's display filter, as the stat-table API declares it
         * (no Qt dialog of 4.0 to 4.6 offers it: docs/stats.md). */
        table = stat_tap_init_table(CONN_TABLE_NAME, COL_COUNT, 0, "tcp.stream == %d");
        stat_tap_add_table(ui, table);
    }
    rows_of(table);
}

/* A row's cells, in place (stat_tap_table.elements[row][column]). */
static stat_tap_table_item_type *
cell(stat_tap_table *table, guint row, enum conn_column col)
{
    return &table->elements[row][col];
}

static int64_t
ns_of(const nstime_t *t)
{
    return (int64_t)t->secs * 1000000000 + t->nsecs;
}

static conn_row *
new_row(stat_tap_table *table, GHashTable *rows, packet_info *pinfo, const ts_record *r)
{
    stat_tap_table_item_type items[COL_COUNT];
    conn_row *cr = g_new0(conn_row, 1);
    const bool from_client = !(r->flags & TS_REC_FROM_SERVER);

    memset(items, 0, sizeof items);
    for (int i = 0; i < COL_COUNT; i++)
        items[i].type = conn_fields[i].type;
    items[COL_STREAM].value.uint_value = r->stream;
    items[COL_CLIENT].value.string_value = endpoint_str(pinfo, from_client);
    items[COL_SERVER].value.string_value = endpoint_str(pinfo, !from_client);
    for (int i = COL_OUTCOME; i <= COL_ZEEK; i++)
        items[i].value.string_value = "";
    items[COL_HISTORY].value.string_value = g_strdup("");
    cr->row = table->num_elements;
    cr->start = nstime_to_sec(&pinfo->rel_ts);
    cr->base_ns = ns_of(&pinfo->abs_ts);
    /* A connection carried from an earlier file of a ring set (continuity.h)
     * starts with what its earlier files added up, as its record does. */
    const ts_carried *e = ts_cont_carried(r->stream);
    if (e) {
        cr->stats = e->facts.stats;
        cr->base_ns = e->facts.first_ns;
        cr->start = (double)(e->facts.first_ns - (ns_of(&pinfo->abs_ts) - ns_of(&pinfo->rel_ts))) / 1e9;
    }
    cr->outcome = cr->closer = cr->style = cr->cst = cr->sst = 0xFF;   /* none shown yet */
    items[COL_START].value.float_value = cr->start;
    stat_tap_init_table_row(table, cr->row, COL_COUNT, items);
    g_hash_table_insert(rows, GUINT_TO_POINTER(r->stream), cr);
    return cr;
}

static double
ms(double seconds)
{
    return seconds >= 0 ? seconds * 1000 : -1;
}

/* The string cells that name a class or a state: static names, written
 * when the class or state changed. */
static void
update_names(stat_tap_table *table, conn_row *cr, const ts_conn *c)
{
    const uint8_t o = (uint8_t)ts_conn_outcome(c), cl = (uint8_t)ts_conn_closer(c);
    const uint8_t style = (uint8_t)ts_conn_close_style(c);
    const uint8_t cst = (uint8_t)ts_fsm_display(c->ep[TS_CLIENT].st);
    const uint8_t sst = (uint8_t)ts_fsm_display(c->ep[TS_SERVER].st);
    const guint row = cr->row;

    if (o != cr->outcome)
        cell(table, row, COL_OUTCOME)->value.string_value = ts_outcome_name((ts_outcome)o);
    if (cl != cr->closer)
        cell(table, row, COL_CLOSER)->value.string_value = closer_name((ts_closer)cl);
    if (style != cr->style)
        cell(table, row, COL_STYLE)->value.string_value =
            ts_close_style_name((ts_close_style)style);
    if (cst != cr->cst)
        cell(table, row, COL_CLIENT_STATE)->value.string_value = ts_state_name((ts_state)cst);
    if (sst != cr->sst)
        cell(table, row, COL_SERVER_STATE)->value.string_value = ts_state_name((ts_state)sst);
    cr->outcome = o;
    cr->closer = cl;
    cr->style = style;
    cr->cst = cst;
    cr->sst = sst;
}

/* Zeek's conn_state and history: only when Zeek's view changed. */
static void
update_zeek(stat_tap_table *table, conn_row *cr, const ts_conn *c)
{
    stat_tap_table_item_type *history;
    char text[TS_ZEEK_HIST_BUFSZ];

    /* conn_state follows the endpoint states (the top bits of ep[], zeek.h)
     * and the history */
    const uint32_t ep0 = c->zeek.ep[0] & 0xF8000000u, ep1 = c->zeek.ep[1] & 0xF8000000u;

    if (!memcmp(cr->zeek_hist, c->zeek.hist, sizeof cr->zeek_hist) && cr->zeek_ep[0] == ep0 &&
        cr->zeek_ep[1] == ep1 && cell(table, cr->row, COL_ZEEK)->value.string_value[0])
        return;
    memcpy(cr->zeek_hist, c->zeek.hist, sizeof cr->zeek_hist);
    cr->zeek_ep[0] = ep0;
    cr->zeek_ep[1] = ep1;
    cell(table, cr->row, COL_ZEEK)->value.string_value = ts_zeek_conn_state(&c->zeek);
    ts_zeek_history(&c->zeek, text);
    history = cell(table, cr->row, COL_HISTORY);
    if (strcmp(history->value.string_value, text) != 0) {
        g_free((char *)history->value.string_value);
        history->value.string_value = g_strdup(text);
    }
}

/* The numbers: plain stores. */
static void
update_numbers(stat_tap_table *table, const conn_row *cr, const ts_conn *c)
{
    const guint row = cr->row;

    cell(table, row, COL_DURATION)->value.float_value = c->sum.last;
    cell(table, row, COL_SYN_SYNACK)->value.float_value = ms(ts_connstats_syn_to_synack(&cr->stats));
    cell(table, row, COL_SYNACK_ACK)->value.float_value = ms(ts_connstats_synack_to_ack(&cr->stats));
    cell(table, row, COL_HANDSHAKE)->value.float_value = ms(ts_connstats_handshake(&cr->stats));
    cell(table, row, COL_SEGS_CS)->value.uint_value = c->sum.segs[TS_CLIENT];
    cell(table, row, COL_SEGS_SC)->value.uint_value = c->sum.segs[TS_SERVER];
    cell(table, row, COL_BYTES_CS)->value.float_value = (double)c->sum.bytes[TS_CLIENT];
    cell(table, row, COL_BYTES_SC)->value.float_value = (double)c->sum.bytes[TS_SERVER];
    cell(table, row, COL_ILLEGAL)->value.uint_value = cr->stats.illegal;
    cell(table, row, COL_WARNINGS)->value.uint_value = cr->stats.warnings;
    cell(table, row, COL_CLOSE_WAIT)->value.float_value = ts_connstats_close_wait(&cr->stats);
    cell(table, row, COL_FIN_WAIT2)->value.float_value = ts_connstats_fin_wait2(&cr->stats);
}

static tap_packet_status
conns_packet(void *tapdata, packet_info *pinfo, epan_dissect_t *edt _U_, const void *data,
             tap_flags_t flags _U_)
{
    stat_data_t *sd = (stat_data_t *)tapdata;
    const ts_tap_data *td = (const ts_tap_data *)data;
    const ts_record *r = td->rec;
    stat_tap_table *table = g_array_index(sd->stat_tap_data->tables, stat_tap_table *, 0);
    GHashTable *rows = rows_of(table);
    conn_row *cr = (conn_row *)g_hash_table_lookup(rows, GUINT_TO_POINTER(r->stream));

    if (!cr)
        cr = new_row(table, rows, pinfo, r);
    ts_connstats_add(&cr->stats, r, (double)(ns_of(&pinfo->abs_ts) - cr->base_ns) / 1e9);
    update_names(table, cr, td->conn);
    update_zeek(table, cr, td->conn);
    update_numbers(table, cr, td->conn);
    return TAP_PACKET_REDRAW;
}

static void
conns_reset(stat_tap_table *table)
{
    last_table = NULL;
    last_rows = NULL;
    if (rows_by_table)
        g_hash_table_remove(rows_by_table, table);
}

static void
conns_free_item(stat_tap_table *table _U_, guint row _U_, guint column,
                stat_tap_table_item_type *field_data)
{
    if (owned_column(column)) {
        g_free((char *)field_data->value.string_value);
        field_data->value.string_value = NULL;
    }
}


/* ---- registration -------------------------------------------------------------- */

/* The cells a table's rows own (conns_free_item's), freed in a table that
 * tshark never frees (at exit). */
static void
free_owned_cells(gpointer key, gpointer value _U_, gpointer user_data _U_)
{
    stat_tap_table *table = (stat_tap_table *)key;

    for (guint row = 0; row < table->num_elements; row++)
        for (guint col = 0; col < table->num_fields && col < COL_COUNT; col++)
            if (owned_column(col))
                conns_free_item(table, row, col, &table->elements[row][col]);
}

/* Program exit.  tshark frees neither its -z trees nor its tables (on any
 * release), so their cleanup and reset callbacks above never run: free what
 * tcpstate keeps for them, and the strings it put in the tables' cells.
 * A tree or table freed later finds nothing of ours left. */
static void
stats_shutdown(void)
{
    if (tree_runs)
        g_hash_table_destroy(tree_runs);
    tree_runs = NULL;
    if (rows_by_table) {
        g_hash_table_foreach(rows_by_table, free_owned_cells, NULL);
        g_hash_table_destroy(rows_by_table);
    }
    rows_by_table = NULL;
    last_table = NULL;
    last_rows = NULL;
}

void
ts_stats_register(void)
{
    static stat_tap_table_ui conns_ui = {
        REGISTER_PACKET_STAT_GROUP_UNSORTED,
        TS_STATS_MENU ": Connections",
        "tcpstate",
        "tcpstate,conns",
        conns_init,
        conns_packet,
        conns_reset,
        conns_free_item,
        NULL,
        COL_COUNT, conn_fields,
        0, NULL,
        NULL,
        0
    };

    TS_STATS_TREE_REGISTER("tcpstate", "tcpstate", TS_STATS_MENU, 0, tree_packet, tree_init,
                           tree_cleanup);
    register_stat_tap_table_ui(&conns_ui);
    register_shutdown_routine(stats_shutdown);
}
