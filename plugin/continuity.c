/* continuity.c - connection state carried across the files of a ring set
 * (see continuity.h)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A file's course:
 *  1. init: the folder is checked (once per program it says what is wrong
 *     with it);
 *  2. its first frame: the file's identity (time, bytes, interface) and the
 *     folder's snapshot headers give the candidates (ts_carry_choose(), one
 *     per chain), which are loaded and checked whole;
 *  3. the first segment of each stream: a connection carried by a
 *     candidate on the same 4-tuple, which Wireshark would not have split
 *     there, continues.  With one candidate, the first such continuation
 *     confirms it; with several, the first one that only one candidate
 *     carries decides, and one that several carry ends the search (no
 *     state carried, a warning);
 *  4. the end: what is still undecided is settled (one candidate that no
 *     connection of the file contradicted is taken; otherwise nothing),
 *     and the file's own snapshot is written: to a temporary file, then
 *     renamed over the old one, unless the old one saw more of the file.
 */
#include "config-tcpstate.h"

#include "continuity.h"
#include "flood.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>
#include <unistd.h>

#include <epan/epan.h>
#include <wiretap/wtap.h>

#include "carry.h"
#include "compat.h"
#include "connfacts.h"
#include "store.h"

gboolean ts_cont_on;

#define SUFFIX ".tcpstate"

/* A 4-tuple, endpoints in a fixed order: the hash key of carried
 * connections. */
typedef struct tuple {
    uint8_t family;
    uint8_t ep[2][18];      /* address (16) and port (2), the smaller first */
} tuple;

static void
tuple_of(tuple *t, uint8_t family, const uint8_t *a, uint16_t pa, const uint8_t *b, uint16_t pb)
{
    uint8_t x[18], y[18];

    memset(t, 0, sizeof *t);
    t->family = family;
    memcpy(x, a, 16);
    x[16] = (uint8_t)(pa >> 8);
    x[17] = (uint8_t)pa;
    memcpy(y, b, 16);
    y[16] = (uint8_t)(pb >> 8);
    y[17] = (uint8_t)pb;
    if (memcmp(x, y, sizeof x) <= 0) {
        memcpy(t->ep[0], x, 18);
        memcpy(t->ep[1], y, 18);
    } else {
        memcpy(t->ep[0], y, 18);
        memcpy(t->ep[1], x, 18);
    }
}

static guint
tuple_hash(gconstpointer p)
{
    const uint8_t *b = (const uint8_t *)p;
    guint h = 2166136261u;
    for (size_t i = 0; i < sizeof(tuple); i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static gboolean
tuple_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(tuple)) == 0;
}

enum { FREE, ADOPTED, SUPERSEDED };

/* One snapshot of the folder: its header; once loaded, its connections. */
typedef struct snap {
    char         *path;
    char         *name;
    ts_snap_head  head;
    ts_carried   *entries;      /* head.count of them, when loaded */
    tuple        *keys;
    uint8_t      *used;         /* FREE, ADOPTED, SUPERSEDED */
    GHashTable   *by_tuple;     /* tuple -> index + 1 */
    uint32_t      contra;       /* segments on its tuples that do not continue them */
} snap;

/* Lifetime: one capture file. */
static struct {
    char     *dir;
    gboolean  can_save;
    int64_t   gap_ns;
    gboolean  started;          /* the first frame was seen */
    uint64_t  file_id;
    int64_t   first_ns, last_ns;
    uint32_t  frames;           /* the highest frame number seen */
    int32_t   encap;
    char     *iface, *descr;
    GPtrArray *cands;           /* of snap: the candidates, then the one decided */
    enum { NONE, UNDECIDED, DECIDED } state;
    uint32_t  misses;           /* streams that began mid-connection, carried by no candidate */
    GHashTable *adopted;        /* stream -> const ts_carried * */
    uint64_t  frames_before, chain_id, pred_id;
    uint32_t  chain_index;
    const void *seeded;         /* the snapshot whose half-open connections the SYN-flood
                                   detector goes on counting (flood.h), or NULL */
} cont;

/* What was said about the folder, once per program and folder. */
static char *warned_dir;

static void
snap_free(gpointer p)
{
    snap *s = (snap *)p;
    if (!s)
        return;
    if (s->by_tuple)
        g_hash_table_destroy(s->by_tuple);
    g_free(s->entries);
    g_free(s->keys);
    g_free(s->used);
    g_free(s->path);
    g_free(s->name);
    g_free(s);
}

static void
forget(void)
{
    if (cont.cands)
        g_ptr_array_free(cont.cands, TRUE);
    if (cont.adopted)
        g_hash_table_destroy(cont.adopted);
    g_free(cont.dir);
    g_free(cont.iface);
    g_free(cont.descr);
    memset(&cont, 0, sizeof cont);
    ts_cont_on = FALSE;
}

static void
folder_warning(const char *dir, const char *what)
{
    if (warned_dir && strcmp(warned_dir, dir) == 0)
        return;
    g_free(warned_dir);
    warned_dir = g_strdup(dir);
    ws_warning("tcpstate: the state folder %s (tcpstate.state_dir) %s", dir, what);
}

void
ts_cont_init(const char *dir, guint gap_seconds)
{
    forget();
    if (!dir || !dir[0])
        return;
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        folder_warning(dir, "does not exist or is not a folder: no connection state is "
                            "loaded or saved; each file starts from nothing");
        return;
    }
    if (g_access(dir, R_OK | X_OK) != 0) {
        folder_warning(dir, "cannot be read: no connection state is loaded or saved; each "
                            "file starts from nothing");
        return;
    }
    cont.can_save = g_access(dir, W_OK | X_OK) == 0;
    if (!cont.can_save)
        folder_warning(dir, "is not writable: connection state is loaded from it, but no "
                            "file's state is saved");
    cont.dir = g_strdup(dir);
    cont.gap_ns = (int64_t)gap_seconds * 1000000000;
    cont.adopted = g_hash_table_new(g_direct_hash, g_direct_equal);
    ts_cont_on = TRUE;
}

/* ---- file names ------------------------------------------------------------ */

/* "20240102T030405.123456789Z-0123456789abcdef.tcpstate": the file's first
 * frame (UTC) and its id. */
static char *
snap_name(int64_t first_ns, uint64_t file_id)
{
    int64_t secs = first_ns >= 0 ? first_ns / 1000000000 : -((-first_ns + 999999999) / 1000000000);
    const int64_t ns = first_ns - secs * 1000000000;
    GDateTime *t = g_date_time_new_from_unix_utc(secs);
    char *stamp = t ? g_date_time_format(t, "%Y%m%dT%H%M%S") : g_strdup("00000000T000000");
    char *name = g_strdup_printf("%s.%09" PRId64 "Z-%016" PRIx64 SUFFIX, stamp, ns, file_id);

    g_free(stamp);
    if (t)
        g_date_time_unref(t);
    return name;
}

/* The first frame's time in a snapshot's name; FALSE if the name is not one. */
static gboolean
name_time(const char *name, int64_t *first_ns)
{
    int y, mo, d, h, mi, s;
    long ns;
    char id[17];
    GDateTime *t;

    if (sscanf(name, "%4d%2d%2dT%2d%2d%2d.%9ldZ-%16[0-9a-f]", &y, &mo, &d, &h, &mi, &s, &ns,
               id) != 8)
        return FALSE;
    t = g_date_time_new_utc(y, mo, d, h, mi, s);
    if (!t)
        return FALSE;
    *first_ns = g_date_time_to_unix(t) * 1000000000 + ns;
    g_date_time_unref(t);
    return TRUE;
}

static gboolean
is_snap_name(const char *name)
{
    return name[0] != '.' && g_str_has_suffix(name, SUFFIX);
}

/* ---- the first frame: which snapshot does this file continue? ------------- */

/* At most TS_SNAP_HEAD_MAX bytes of a file. */
static ts_snap_status
read_head(const char *path, ts_snap_head *h)
{
    uint8_t buf[TS_SNAP_HEAD_MAX];
    FILE *fp = g_fopen(path, "rb");
    size_t n;

    memset(h, 0, sizeof *h);
    if (!fp)
        return TS_SNAP_TRUNCATED;
    n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    return ts_snap_read_head(buf, n, h);
}

/* Load a candidate whole and check it; FALSE, with a warning, if it fails. */
static gboolean
snap_load(snap *s)
{
    gchar *data = NULL;
    gsize len = 0;
    GError *err = NULL;
    ts_snap_head h;
    ts_snap_status st;

    if (!g_file_get_contents(s->path, &data, &len, &err)) {
        ws_warning("tcpstate: cannot read the state snapshot %s (%s): no connection state is "
                   "carried into this file", s->path, err->message);
        g_error_free(err);
        return FALSE;
    }
    st = ts_snap_read_head((const uint8_t *)data, len, &h);
    if (st == TS_SNAP_OK && h.file_id != s->head.file_id)
        st = TS_SNAP_CORRUPT;       /* replaced while we looked */
    if (st == TS_SNAP_OK)
        st = ts_snap_check((const uint8_t *)data, len, &h);
    if (st != TS_SNAP_OK) {
        ws_warning("tcpstate: the state snapshot %s, which precedes this file, %s: no "
                   "connection state is carried into this file, which starts from nothing",
                   s->path, ts_snap_status_text(st));
        g_free(data);
        return FALSE;
    }
    s->head = h;
    s->entries = g_new(ts_carried, h.count ? h.count : 1);
    memcpy(s->entries, data + h.head_size, (size_t)h.count * sizeof(ts_carried));
    g_free(data);
    s->keys = g_new(tuple, h.count ? h.count : 1);
    s->used = g_new0(uint8_t, h.count ? h.count : 1);
    s->by_tuple = g_hash_table_new(tuple_hash, tuple_equal);
    for (uint32_t i = 0; i < h.count; i++) {
        const ts_facts *f = &s->entries[i].facts;
        tuple_of(&s->keys[i], f->family, f->addr[0], f->port[0], f->addr[1], f->port[1]);
        if (s->entries[i].flags & TS_CARRIED_UID_ONLY)
            s->used[i] = SUPERSEDED;        /* only its uid counts (start) */
        else
            g_hash_table_insert(s->by_tuple, &s->keys[i], GUINT_TO_POINTER(i + 1));
    }
    return TRUE;
}

static void
note_choice(const ts_carry_choice *ch, GPtrArray *heads_snaps)
{
    const snap *s = ch->about < heads_snaps->len ? (const snap *)g_ptr_array_index(heads_snaps, ch->about)
                                                 : NULL;

    switch (ch->note) {
    case TS_NOTE_GAP:
        ws_warning("tcpstate: the latest state snapshot of this interface, %s, ends %.3f s "
                   "before this file's first frame, more than tcpstate.state_gap (%.0f s): no "
                   "connection state is carried into this file, which starts from nothing",
                   s->name, (double)(cont.first_ns - s->head.last_ns) / 1e9,
                   (double)cont.gap_ns / 1e9);
        break;
    case TS_NOTE_STALE:
        ws_warning("tcpstate: the state snapshot %s, which precedes this file, was made while "
                   "an earlier file of its set had not been analysed (another snapshot continues "
                   "the same one and starts before it): no connection state is carried into this "
                   "file; analyse the file that snapshot ends again, then this one", s->name);
        break;
    case TS_NOTE_OVERLAP:
        ws_warning("tcpstate: this file starts inside the time of another analysed file that "
                   "continues the state snapshot %s (the clock stepped back, or the files "
                   "overlap): no connection state is carried into this file", s->name);
        break;
    case TS_NOTE_PRED_MISSING:
        ws_warning("tcpstate: this file's own state snapshot, %s, says it continued one that "
                   "is no longer in the folder: no connection state is carried into this file, "
                   "which starts from nothing", s->name);
        break;
    case TS_NOTE_NONE:
        break;
    }
}

static gint
by_syn(gconstpointer a, gconstpointer b)
{
    const ts_flood_carry *x = (const ts_flood_carry *)a, *y = (const ts_flood_carry *)b;
    return x->syn_ns < y->syn_ns ? -1 : x->syn_ns > y->syn_ns;
}

/* The only candidate's half-open connections go on counting from the
 * file's first SYN (with several candidates, the count starts from nothing:
 * docs/ring-buffers.md). */
static void
seed_flood(const snap *s)
{
    GArray *list = g_array_new(FALSE, FALSE, sizeof(ts_flood_carry));

    for (uint32_t i = 0; i < s->head.count; i++) {
        const ts_carried *e = &s->entries[i];
        ts_flood_carry c;
        if (!(e->flags & TS_CARRIED_FLOOD_COUNTED))
            continue;
        c.key = e->flood_key;
        c.syn_ns = e->flood_syn_ns;
        c.client_key = e->conn.client_key;
        c.id = i;
        c.alarmed = (e->flags & TS_CARRIED_FLOOD_ALARMED) != 0;
        g_array_append_val(list, c);
    }
    g_array_sort(list, by_syn);
    ts_flood_seed((const ts_flood_carry *)(void *)list->data, list->len);
    g_array_free(list, TRUE);
    cont.seeded = s;
}

static void
start(tvbuff_t *tvb, packet_info *pinfo)
{
    const wtap_rec *rec = pinfo->rec;
    const guint32 caplen = tvb_captured_length(tvb);
    uint32_t iface_id = 0;
    const char *iface, *descr;
    GPtrArray *ok = g_ptr_array_new_with_free_func(snap_free);
    GPtrArray *all = g_ptr_array_new();       /* ok and other builds: headers only */
    GPtrArray *unreadable = g_ptr_array_new_with_free_func(g_free);
    GPtrArray *foreign = g_ptr_array_new_with_free_func(snap_free);
    const ts_snap_head **heads;
    ts_carry_choice ch, ch_all;
    ts_file_ident f;
    GDir *d;
    const char *name;

    cont.started = TRUE;
    cont.first_ns = (int64_t)pinfo->abs_ts.secs * 1000000000 + pinfo->abs_ts.nsecs;
    cont.encap = -1;
    if (rec && rec->rec_type == REC_TYPE_PACKET) {
        cont.encap = rec->rec_header.packet_header.pkt_encap;
        if (rec->presence_flags & WTAP_HAS_INTERFACE_ID)
            iface_id = rec->rec_header.packet_header.interface_id;
    }
    iface = pinfo->epan ? TS_INTERFACE_NAME(pinfo, iface_id) : NULL;
    descr = pinfo->epan ? TS_INTERFACE_DESCRIPTION(pinfo, iface_id) : NULL;
    cont.iface = g_strdup(iface ? iface : "");
    cont.descr = g_strdup(descr ? descr : "");
    cont.file_id = ts_snap_file_id(cont.first_ns, caplen ? tvb_get_ptr(tvb, 0, caplen) : NULL,
                                   caplen, pinfo->fd->pkt_len, cont.encap, cont.iface,
                                   cont.descr);
    cont.chain_id = cont.file_id;
    cont.state = NONE;

    d = g_dir_open(cont.dir, 0, NULL);
    while (d && (name = g_dir_read_name(d))) {
        snap *s;
        ts_snap_status st;

        if (!is_snap_name(name))
            continue;
        s = g_new0(snap, 1);
        s->name = g_strdup(name);
        s->path = g_build_filename(cont.dir, name, NULL);
        st = read_head(s->path, &s->head);
        if (st == TS_SNAP_OK) {
            g_ptr_array_add(ok, s);
            g_ptr_array_add(all, s);
        } else if (st == TS_SNAP_OTHER_BUILD || st == TS_SNAP_OTHER_LAYOUT) {
            g_ptr_array_add(foreign, s);
            g_ptr_array_add(all, s);
        } else {
            int64_t t;
            if (name_time(name, &t) && t <= cont.first_ns &&
                cont.first_ns - t <= (int64_t)86400 * 1000000000)
                g_ptr_array_add(unreadable, g_strdup_printf("%s %s", s->path,
                                                            ts_snap_status_text(st)));
            snap_free(s);
        }
    }
    if (d)
        g_dir_close(d);

    f.file_id = cont.file_id;
    f.first_ns = cont.first_ns;
    f.encap = cont.encap;
    f.iface = cont.iface;
    f.descr = cont.descr;
    heads = g_new(const ts_snap_head *, all->len + 1);
    for (guint i = 0; i < ok->len; i++)
        heads[i] = &((snap *)g_ptr_array_index(ok, i))->head;
    ts_carry_choose(heads, ok->len, &f, cont.gap_ns, &ch);
    for (guint i = 0; i < all->len; i++)
        heads[i] = &((snap *)g_ptr_array_index(all, i))->head;
    ts_carry_choose(heads, all->len, &f, cont.gap_ns, &ch_all);
    g_free(heads);

    /* A snapshot of another build would have been the one: refuse all. */
    for (size_t i = 0; i < ch_all.n; i++) {
        const snap *s = (const snap *)g_ptr_array_index(all, ch_all.pick[i]);
        if (g_ptr_array_find(foreign, s, NULL)) {
            ws_warning("tcpstate: the state snapshot %s, which precedes this file, %s (%s): no "
                       "connection state is carried into this file, which starts from nothing",
                       s->path, ts_snap_status_text(TS_SNAP_OTHER_BUILD), s->head.version);
            ch.n = 0;
            ch.note = TS_NOTE_NONE;
        }
    }
    /* One that cannot be read may be the one, or lie between. */
    for (guint i = 0; i < unreadable->len; i++) {
        ws_warning("tcpstate: the state snapshot %s%s", (const char *)g_ptr_array_index(unreadable, i),
                   ch.n ? ", and may be the one that precedes this file: no connection state is "
                          "carried into this file, which starts from nothing; delete it"
                        : "; delete it");
        ch.n = 0;
        ch.note = TS_NOTE_NONE;
    }
    if (!ch.n)
        note_choice(&ch, ok);

    cont.cands = g_ptr_array_new_with_free_func(snap_free);
    for (size_t i = 0; i < ch.n; i++) {
        snap *s = (snap *)g_ptr_array_index(ok, ch.pick[i]);
        g_ptr_array_index(ok, ch.pick[i]) = NULL;   /* ours now */
        if (!snap_load(s)) {
            snap_free(s);
            g_ptr_array_set_size(cont.cands, 0);
            for (size_t k = i + 1; k < ch.n; k++) {
                snap_free(g_ptr_array_index(ok, ch.pick[k]));
                g_ptr_array_index(ok, ch.pick[k]) = NULL;
            }
            break;
        }
        g_ptr_array_add(cont.cands, s);
    }
    /* Before any segment: a new connection of this file whose uid would
     * repeat a carried one's (the same 4-tuple, second and ISN, as when
     * Wireshark 4.2+ starts a new stream at a SYN after a close) takes the
     * next collision index, as in one run over the merged capture. */
    for (guint c = 0; c < cont.cands->len; c++) {
        const snap *s = (const snap *)g_ptr_array_index(cont.cands, c);
        for (uint32_t i = 0; i < s->head.count; i++)
            ts_connfacts_reserve_uid(&s->entries[i].facts);
    }
    if (cont.cands->len)
        cont.state = UNDECIDED;
    if (cont.cands->len == 1)
        seed_flood((snap *)g_ptr_array_index(cont.cands, 0));
    g_ptr_array_free(all, TRUE);
    g_ptr_array_free(ok, TRUE);
    g_ptr_array_free(foreign, TRUE);
    g_ptr_array_free(unreadable, TRUE);
}

void
ts_cont_frame(tvbuff_t *tvb, packet_info *pinfo)
{
    if (!cont.started)
        start(tvb, pinfo);
    if (pinfo->num > cont.frames) {
        cont.frames = pinfo->num;
        cont.last_ns = (int64_t)pinfo->abs_ts.secs * 1000000000 + pinfo->abs_ts.nsecs;
    }
}

/* ---- the streams: carried connections go on ---------------------------------- */

static void
decide(snap *s)
{
    for (guint i = 0; i < cont.cands->len; i++)
        if (g_ptr_array_index(cont.cands, i) == s)
            g_ptr_array_index(cont.cands, i) = NULL;
    g_ptr_array_set_size(cont.cands, 0);
    g_ptr_array_add(cont.cands, s);
    cont.state = DECIDED;
    cont.frames_before = s->head.frames_before + s->head.frames;
    cont.chain_id = s->head.chain_id;
    cont.chain_index = s->head.chain_index + 1;
    cont.pred_id = s->head.file_id;
}

static void
refuse(void)
{
    if (cont.seeded)
        ts_flood_unseed();
    cont.seeded = NULL;
    g_ptr_array_set_size(cont.cands, 0);
    cont.state = NONE;
}

static snap *
decided(void)
{
    return cont.state == DECIDED ? (snap *)g_ptr_array_index(cont.cands, 0) : NULL;
}

static void
adopt(snap *s, uint32_t i, ts_conn *conn, uint32_t stream)
{
    const ts_carried *e = &s->entries[i];
    ts_facts *f = ts_store_facts(stream);

    s->used[i] = ADOPTED;
    *conn = e->conn;
    /* The SYN-flood detector of this file never counted it. */
    conn->flags &= (uint8_t)~TS_CONN_FLOOD_COUNTED;
    conn->flood_server = 0;
    if (cont.seeded == s)
        ts_flood_adopt(i, conn, stream);
    *f = e->facts;
    f->first_frame -= (int64_t)cont.frames_before;
    f->last_frame -= (int64_t)cont.frames_before;
    ts_store_zeek_carried(stream, e->zeek_ended);
    g_hash_table_insert(cont.adopted, GUINT_TO_POINTER(stream), (gpointer)e);
}

void
ts_cont_adopt(ts_conn *conn, uint32_t stream, const ts_facts_seg *fs)
{
    snap *match = NULL;
    uint32_t match_i = 0;
    guint matches = 0;
    gboolean known = FALSE;
    tuple t;

    if (cont.state == NONE)
        return;
    tuple_of(&t, fs->family, fs->src, fs->sport, fs->dst, fs->dport);
    for (guint c = 0; c < cont.cands->len; c++) {
        snap *s = (snap *)g_ptr_array_index(cont.cands, c);
        const guint i = GPOINTER_TO_UINT(g_hash_table_lookup(s->by_tuple, &t));
        if (!i || s->used[i - 1] != FREE)
            continue;
        if (ts_facts_ws_splits(&s->entries[i - 1].facts, fs, TS_WS_SPLITS_AFTER_CLOSE)) {
            s->used[i - 1] = SUPERSEDED;    /* a new connection on its 4-tuple */
            known = TRUE;
            continue;
        }
        if (!ts_carry_continues(&s->entries[i - 1].conn, fs)) {
            s->contra++;                    /* its tuple, another connection's numbers */
            continue;
        }
        known = TRUE;
        matches++;
        match = s;
        match_i = i - 1;
    }
    if (matches == 1) {
        if (cont.state == UNDECIDED)
            decide(match);
        adopt(match, match_i, conn, stream);
    } else if (matches > 1) {
        ws_warning("tcpstate: %u state snapshots precede this file and carry the connection "
                   "of its tcp.stream %u: tcpstate cannot tell which of them this file "
                   "continues (two sets sharing the folder, with the same interface and "
                   "overlapping times?), so no connection state is carried into this file; "
                   "give each set its own tcpstate.state_dir", matches, stream);
        refuse();
    } else if (!known && cont.state == UNDECIDED &&
               (fs->flags & (TS_TH_SYN | TS_TH_ACK | TS_TH_RST)) == TS_TH_ACK) {
        cont.misses++;      /* began before this file, but no candidate knows it */
    }
}

static uint32_t
live_entries(const snap *s)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->head.count; i++)
        n += !(s->entries[i].flags & TS_CARRIED_UID_ONLY) && !ts_carry_ended(&s->entries[i].conn);
    return n;
}

/* No segment continued a candidate: keep those nothing speaks against. */
void
ts_cont_finish(void)
{
    snap *keep = NULL, *s;
    guint kept = 0;

    if (cont.state != UNDECIDED)
        return;
    for (guint c = 0; c < cont.cands->len; c++) {
        s = (snap *)g_ptr_array_index(cont.cands, c);
        if (!ts_carry_rejects(s->contra, cont.misses, live_entries(s))) {
            keep = s;
            kept++;
        }
    }
    if (kept == 1) {
        decide(keep);
        return;
    }
    s = (snap *)g_ptr_array_index(cont.cands, 0);
    if (cont.cands->len == 1 && s->contra)
        ws_warning("tcpstate: the state snapshot %s precedes this file in time, but %u segments "
                   "of this file on the 4-tuples of connections it carries do not continue "
                   "their sequence numbers: it is taken to be another set's, and no connection "
                   "state is carried into this file", s->path, s->contra);
    else if (cont.cands->len == 1)
        ws_warning("tcpstate: the state snapshot %s precedes this file in time, but none of the "
                   "%u connections that were already going on at its start is one it carries: "
                   "it is taken to be another set's, and no connection state is carried into "
                   "this file", s->path, cont.misses);
    else
        ws_warning("tcpstate: %u state snapshots precede this file, and no connection of this "
                   "file continues one of them: tcpstate cannot tell which set this file "
                   "belongs to, so no connection state is carried into it; give each set its "
                   "own tcpstate.state_dir", cont.cands->len);
    refuse();
}

const ts_carried *
ts_cont_carried(uint32_t stream)
{
    if (!ts_cont_on || !cont.adopted)
        return NULL;
    return (const ts_carried *)g_hash_table_lookup(cont.adopted, GUINT_TO_POINTER(stream));
}

uint64_t
ts_cont_frames_before(void)
{
    return cont.frames_before;
}

void
ts_cont_foreach_untouched(void (*fn)(const ts_carried *e, void *data), void *data)
{
    const snap *s = ts_cont_on ? decided() : NULL;

    for (uint32_t i = 0; s && i < s->head.count; i++)
        if (s->used[i] == FREE)
            fn(&s->entries[i], data);
}

/* ---- the end: this file's snapshot ------------------------------------------- */

static gboolean
write_file(const char *path, const uint8_t *data, size_t len)
{
    char *dirname = g_path_get_dirname(path);
    char *base = g_path_get_basename(path);
    char *tmp = g_strdup_printf("%s%s.%s.%ld.tmp", dirname, G_DIR_SEPARATOR_S, base, (long)getpid());
    int fd = g_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    gboolean ok = fd >= 0;
    int saved = 0;

    for (size_t done = 0; ok && done < len;) {
        const ssize_t n = write(fd, data + done, MIN(len - done, (size_t)1 << 30));
        if (n <= 0) {
            ok = FALSE;
        } else {
            done += (size_t)n;
        }
    }
    if (ok && fsync(fd) != 0)
        ok = FALSE;
    if (!ok)
        saved = errno;
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = FALSE;
        saved = errno;
    }
    if (ok && g_rename(tmp, path) != 0) {
        ok = FALSE;
        saved = errno;
    }
    if (!ok) {
        ws_warning("tcpstate: cannot save the connection state to %s (%s): the next file of "
                   "the set will start from nothing", path, g_strerror(saved));
        if (fd >= 0)
            g_unlink(tmp);
    }
    g_free(tmp);
    g_free(dirname);
    g_free(base);
    return ok;
}

/* The newest stream of each 4-tuple: only it can still receive segments. */
typedef struct newest {
    tuple    key;
    uint32_t stream;
} newest;

static void
flood_of(ts_carried *e, gboolean counted, bool alarmed)
{
    e->flags = counted ? TS_CARRIED_FLOOD_COUNTED | (alarmed ? TS_CARRIED_FLOOD_ALARMED : 0) : 0;
    if (!counted) {
        e->flood_key = 0;
        e->flood_syn_ns = 0;
    }
}

/* The entry of connection c (facts f) in this file's snapshot: the
 * SYN-flood detector's marks are this file's; the next file's detector
 * takes the count from flags (flood_of). */
static void
entry_of(ts_carried *e, const ts_conn *c, const ts_facts *f)
{
    memset(e, 0, sizeof *e);
    e->conn = *c;
    e->conn.flags &= (uint8_t)~TS_CONN_FLOOD_COUNTED;
    e->conn.flood_server = 0;
    e->facts = *f;
}

/* A connection not carried whose uid a connection of the next file could
 * still repeat: its first segment is in the second of this file's last
 * frame (or later: a clock that went back). */
static void
keep_uid(GArray *out, const ts_conn *c, const ts_facts *f)
{
    ts_carried e;

    if (f->first_ns / 1000000000 < cont.last_ns / 1000000000)
        return;
    entry_of(&e, c, f);
    e.flags = TS_CARRIED_UID_ONLY;
    g_array_append_val(out, e);
}

/* The newest stream of each 4-tuple (by_tuple: tuple -> newest *, into nw). */
static void
newest_streams(GArray *nw, GHashTable *by_tuple)
{
    const uint32_t bound = ts_store_conn_bound();

    for (uint32_t stream = 0; stream < bound; stream++) {
        const ts_facts *f = ts_store_conn_peek(stream) ? ts_store_facts_peek(stream) : NULL;
        newest n;
        if (!f)
            continue;
        tuple_of(&n.key, f->family, f->addr[0], f->port[0], f->addr[1], f->port[1]);
        n.stream = stream;
        g_array_append_val(nw, n);
    }
    /* (the array does not move from here on) */
    for (guint i = 0; i < nw->len; i++) {
        newest *n = &g_array_index(nw, newest, i);
        newest *had = (newest *)g_hash_table_lookup(by_tuple, &n->key);
        if (!had || had->stream < n->stream)
            g_hash_table_replace(by_tuple, &n->key, n);
    }
}

/* What this file leaves (carry.h): its own connections, then what it
 * carried through from the snapshot it continued. */
static void
gather(GArray *out)
{
    const snap *from = decided();
    GHashTable *by_tuple = g_hash_table_new(tuple_hash, tuple_equal);
    GArray *nw = g_array_new(FALSE, FALSE, sizeof(newest));
    bool alarmed = false;

    newest_streams(nw, by_tuple);
    for (guint i = 0; i < nw->len; i++) {
        const newest *n = &g_array_index(nw, newest, i);
        const ts_conn *c = ts_store_conn_peek(n->stream);
        const ts_facts *f = ts_store_facts_peek(n->stream);
        ts_carried e;

        if (g_hash_table_lookup(by_tuple, &n->key) != n) {
            keep_uid(out, c, f);
            continue;
        }
        if (!ts_carry_keep(c, cont.last_ns - f->last_ns))
            continue;
        entry_of(&e, c, f);
        e.facts.first_frame += (int64_t)cont.frames_before;
        e.facts.last_frame += (int64_t)cont.frames_before;
        e.zeek_ended = ts_store_zeek_count(n->stream);
        flood_of(&e, ts_flood_carried(c, n->stream, &e.flood_key, &e.flood_syn_ns, &alarmed),
                 alarmed);
        g_array_append_val(out, e);
    }
    for (uint32_t i = 0; from && i < from->head.count; i++) {
        const ts_carried *e = &from->entries[i];
        ts_carried again;
        if (from->used[i] == ADOPTED)
            continue;       /* saved above, as this file's connection */
        if (from->used[i] == SUPERSEDED || g_hash_table_contains(by_tuple, &from->keys[i])) {
            keep_uid(out, &e->conn, &e->facts);
            continue;
        }
        if (!ts_carry_keep(&e->conn, cont.last_ns - e->facts.last_ns))
            continue;
        again = *e;
        flood_of(&again, cont.seeded == from &&
                 ts_flood_placeholder(i, &again.flood_key, &again.flood_syn_ns, &alarmed),
                 alarmed);
        g_array_append_val(out, again);
    }
    g_hash_table_destroy(by_tuple);
    g_array_free(nw, TRUE);
}

static void
save(void)
{
    GArray *out = g_array_new(FALSE, TRUE, sizeof(ts_carried));
    ts_snap_head h, old;
    char *name, *path;

    gather(out);
    memset(&h, 0, sizeof h);
    h.file_id = cont.file_id;
    h.pred_id = cont.pred_id;
    h.chain_id = cont.chain_id;
    h.chain_index = cont.chain_index;
    h.frames = cont.frames;
    h.frames_before = cont.frames_before;
    h.first_ns = cont.first_ns;
    h.last_ns = cont.last_ns;
    h.encap = cont.encap;
    h.count = out->len;
    g_strlcpy(h.iface, cont.iface, sizeof h.iface);
    g_strlcpy(h.descr, cont.descr, sizeof h.descr);

    name = snap_name(cont.first_ns, cont.file_id);
    path = g_build_filename(cont.dir, name, NULL);
    if (read_head(path, &old) == TS_SNAP_OK && old.file_id == h.file_id &&
        !ts_carry_replaces(&h, &old)) {
        ws_warning("tcpstate: the state snapshot %s is kept: it saw more of this file (%u frames "
                   "against %u), or a longer history (%u files before it against %u)", path,
                   old.frames, h.frames, old.chain_index, h.chain_index);
    } else {
        const size_t head_size = ts_snap_head_size(h.iface, h.descr);
        const size_t len = head_size + (size_t)out->len * sizeof(ts_carried);
        uint8_t *buf = (uint8_t *)g_malloc(len + 4);

        ts_snap_write_head(&h, TCPSTATE_VERSION, buf);
        if (out->len)
            memcpy(buf + head_size, out->data, (size_t)out->len * sizeof(ts_carried));
        ts_snap_seal(buf, len);
        write_file(path, buf, len + 4);
        g_free(buf);
    }
    g_free(path);
    g_free(name);
    g_array_free(out, TRUE);
}

void
ts_cont_cleanup(void)
{
    if (ts_cont_on && cont.started) {
        ts_cont_finish();
        if (cont.can_save)
            save();
    }
    forget();
}
