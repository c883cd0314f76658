/* records.c - tshark -z tcpstate,records[,filter] (see records.h)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A listener on the "tcpstate" tap (stats.h).  Per connection it adds up
 * what the Connections table adds up (connstats.h: illegal segments,
 * warnings, stays in CLOSE_WAIT and FIN_WAIT2, handshake), from the
 * segments that pass its filter, starting, for a connection carried from
 * an earlier file of a ring set, from what its earlier files added up
 * (continuity.h), as the table does (stats.c).  Everything else comes from
 * the connection (ts_conn) and its facts (facts.h).  After the run it
 * prints one JSON object per connection per line on standard output, in
 * the order of their first frames: docs/records.md.  With state carried
 * (tcpstate.state_dir) and no filter, the connections carried into the
 * file that met no segment in it are listed too, still open.
 */
#include "config-tcpstate.h"

#include "records.h"

#include <stdio.h>
#include <stdlib.h>

#include <epan/packet.h>
#include <epan/stat_tap_ui.h>
#include <epan/tap.h>

#include "carry.h"
#include "compat.h"
#include "connfacts.h"
#include "connstats.h"
#include "continuity.h"
#include "record.h"
#include "stats.h"
#include "store.h"

#define RECORDS_ARG "tcpstate,records"

/* One -z tcpstate,records.  Lifetime: the program (tshark never removes
 * its listeners; freed at exit). */
typedef struct run {
    char       *filter;     /* NULL: none */
    GHashTable *rows;       /* stream -> ts_connstats */
} run;

static GPtrArray *runs;

gboolean
ts_records_wanted(void)
{
    return runs && runs->len > 0;
}

static tap_packet_status
records_packet(void *tapdata, packet_info *pinfo, epan_dissect_t *edt _U_, const void *data,
               tap_flags_t flags _U_)
{
    run *rn = (run *)tapdata;
    const ts_tap_data *td = (const ts_tap_data *)data;
    const ts_record *r = td->rec;
    const ts_facts *f = ts_store_facts_peek(r->stream);
    ts_connstats *st;
    int64_t t_ns;

    if (!f)
        return TAP_PACKET_DONT_REDRAW;
    st = (ts_connstats *)g_hash_table_lookup(rn->rows, GUINT_TO_POINTER(r->stream));
    if (!st) {
        const ts_carried *e = ts_cont_carried(r->stream);
        st = g_new0(ts_connstats, 1);
        if (e)
            *st = e->facts.stats;   /* what its earlier files added up */
        g_hash_table_insert(rn->rows, GUINT_TO_POINTER(r->stream), st);
    }
    t_ns = (int64_t)pinfo->abs_ts.secs * 1000000000 + pinfo->abs_ts.nsecs;
    ts_connstats_add(st, r, (double)(t_ns - f->first_ns) / 1e9);
    return TAP_PACKET_DONT_REDRAW;
}

static void
records_reset(void *tapdata)
{
    g_hash_table_remove_all(((run *)tapdata)->rows);
}

/* One line, with what it is sorted by. */
typedef struct line {
    uint64_t first_frame;
    char    *text;
} line;

static void
add_line(GArray *lines, const ts_conn *c, const ts_facts *f, const ts_connstats *st,
         uint64_t frames_before, int64_t stream, gboolean carried)
{
    char text[2][TS_ADDR_TEXT], endpoint[2][TS_ENDPOINT_TEXT];
    const char *tp[2] = { text[0], text[1] }, *ep[2] = { endpoint[0], endpoint[1] };
    ts_record_values v;
    char buf[TS_RECORD_MAX];
    line l;

    ts_connfacts_texts(f, text, endpoint);
    ts_record_values_make(&v, c, f, st, tp, ep, frames_before, stream, !ts_carry_ended(c),
                          carried);
    if (!ts_record_json(&v, buf, sizeof buf))
        return;     /* cannot happen: TS_RECORD_MAX holds the longest */
    l.first_frame = v.first_frame;
    l.text = g_strdup(buf);
    g_array_append_val(lines, l);
}

static void
add_untouched(const ts_carried *e, void *data)
{
    if (!ts_carry_ended(&e->conn))
        add_line((GArray *)data, &e->conn, &e->facts, &e->facts.stats, 0, -1, TRUE);
}

static gint
by_first_frame(gconstpointer a, gconstpointer b)
{
    const line *x = (const line *)a, *y = (const line *)b;
    if (x->first_frame != y->first_frame)
        return x->first_frame < y->first_frame ? -1 : 1;
    return strcmp(x->text, y->text);
}

static void
records_draw(void *tapdata)
{
    run *rn = (run *)tapdata;
    GArray *lines = g_array_new(FALSE, FALSE, sizeof(line));
    uint64_t frames_before;
    GHashTableIter it;
    gpointer key, value;

    ts_cont_finish();       /* decides the snapshot, and so the frame numbers */
    frames_before = ts_cont_frames_before();
    g_hash_table_iter_init(&it, rn->rows);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        const uint32_t stream = GPOINTER_TO_UINT(key);
        const ts_conn *c = ts_store_conn_peek(stream);
        const ts_facts *f = ts_store_facts_peek(stream);
        if (c && f)
            add_line(lines, c, f, (const ts_connstats *)value, frames_before, stream,
                     ts_cont_carried(stream) != NULL);
    }
    if (!rn->filter)
        ts_cont_foreach_untouched(add_untouched, lines);
    g_array_sort(lines, by_first_frame);
    for (guint i = 0; i < lines->len; i++) {
        fputs(g_array_index(lines, line, i).text, stdout);
        g_free(g_array_index(lines, line, i).text);
    }
    fflush(stdout);
    g_array_free(lines, TRUE);
}

static void
run_free(gpointer p)
{
    run *rn = (run *)p;
    g_hash_table_destroy(rn->rows);
    g_free(rn->filter);
    g_free(rn);
}

static TS_STAT_INIT_RET
records_init(const char *opt_arg, void *userdata _U_)
{
    const char *rest = opt_arg + strlen(RECORDS_ARG);
    run *rn;
    GString *err;

    if (*rest != '\0' && *rest != ',') {
        fprintf(stderr, "tshark: invalid -z argument \"%s\"; use -z " RECORDS_ARG
                        "[,filter]\n", opt_arg);
        TS_STAT_INIT_FAILED();
    }
    rn = g_new0(run, 1);
    rn->filter = *rest == ',' && rest[1] ? g_strdup(rest + 1) : NULL;
    rn->rows = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    err = register_tap_listener(TS_TAP_NAME, rn, rn->filter, TL_REQUIRES_NOTHING, records_reset,
                                records_packet, records_draw, NULL);
    if (err) {
        fprintf(stderr, "tshark: cannot list tcpstate records: %s\n", err->str);
        g_string_free(err, TRUE);
        run_free(rn);
        TS_STAT_INIT_FAILED();
    }
    if (!runs)
        runs = g_ptr_array_new_with_free_func(run_free);
    g_ptr_array_add(runs, rn);
    TS_STAT_INIT_DONE(true);
}

static void
records_shutdown(void)
{
    if (runs)
        g_ptr_array_free(runs, TRUE);
    runs = NULL;
}

void
ts_records_register(void)
{
    static stat_tap_ui ui = {
        REGISTER_PACKET_STAT_GROUP_UNSORTED,
        "TCP connection records (JSON Lines)",
        RECORDS_ARG,
        records_init,
        0,
        NULL
    };

    register_stat_tap_ui(&ui, NULL);
    register_shutdown_routine(records_shutdown);
}
