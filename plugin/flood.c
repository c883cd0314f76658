/* flood.c - SYN-flood detection: half-open connections per server (see flood.h)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config-tcpstate.h"

#include "flood.h"

#include <glib.h>
#include <string.h>

#include "store.h"

/* One SYN that opened a half-open connection: 8 bytes, so that a flood of
 * a million SYNs in the window costs 8 MB here.  The client's address is
 * the connection's (ts_conn.client_key). */
typedef struct entry {
    uint32_t ms;            /* milliseconds since the first SYN of the file */
    uint32_t stream;
} entry;

/* One server.  Lifetime: the capture file. */
typedef struct server {
    uint64_t key;
    GArray  *entries;       /* of entry, oldest first from `head` */
    guint    head;
    uint32_t half_open;     /* entries in the window still half-open */
    bool     alarmed;
} server;

/* A stream number with this bit names a placeholder: a half-open
 * connection carried from the file before (ts_flood_seed). */
#define PLACEHOLDER 0x80000000u

/* Lifetime: from ts_flood_init() to ts_flood_cleanup() (one file). */
static GHashTable *servers_by_key;  /* uint64 key -> index + 1 */
static GPtrArray  *servers;         /* of server */
static GHashTable *alarms;          /* frame -> ts_flood_alarm */
static uint32_t    threshold;
static uint32_t    window_ms;
static double      base_time;       /* the first SYN's time, seconds */
static bool        have_base;
static GArray     *placeholders;    /* of ts_conn (flags, flood_server, client_key), by index */
static GHashTable *placeholder_ids; /* caller's id + 1 -> index + 1 */

static void
server_free(gpointer p)
{
    server *s = (server *)p;
    g_array_free(s->entries, TRUE);
    g_free(s);
}

void
ts_flood_init(uint32_t thresh, uint32_t window_seconds)
{
    ts_flood_cleanup();
    threshold = thresh;
    window_ms = window_seconds > UINT32_MAX / 1000 ? UINT32_MAX : window_seconds * 1000;
    have_base = false;
    servers_by_key = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    servers = g_ptr_array_new_with_free_func(server_free);
    alarms = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    placeholders = g_array_new(FALSE, TRUE, sizeof(ts_conn));
    placeholder_ids = g_hash_table_new(g_direct_hash, g_direct_equal);
}

void
ts_flood_cleanup(void)
{
    if (servers_by_key)
        g_hash_table_destroy(servers_by_key);
    if (servers)
        g_ptr_array_free(servers, TRUE);
    if (alarms)
        g_hash_table_destroy(alarms);
    if (placeholders)
        g_array_free(placeholders, TRUE);
    if (placeholder_ids)
        g_hash_table_destroy(placeholder_ids);
    placeholders = NULL;
    placeholder_ids = NULL;
    servers_by_key = NULL;
    servers = NULL;
    alarms = NULL;
}

static server *
server_by_key(gint64 key, uint32_t *index)
{
    gpointer found = g_hash_table_lookup(servers_by_key, &key);

    if (!found) {
        server *s = g_new0(server, 1);
        s->key = (uint64_t)key;
        s->entries = g_array_new(FALSE, FALSE, sizeof(entry));
        g_ptr_array_add(servers, s);
        found = GUINT_TO_POINTER(servers->len);
        g_hash_table_insert(servers_by_key, g_memdup2(&key, sizeof key), found);
    }
    *index = GPOINTER_TO_UINT(found);
    return (server *)g_ptr_array_index(servers, *index - 1);
}

static server *
server_of(const ts_segment *seg, uint32_t *index)
{
    return server_by_key((gint64)(seg->dst_key * 0x100000001b3ULL ^ seg->dport), index);
}

static ts_conn *
conn_of(uint32_t stream)
{
    if (stream & PLACEHOLDER)
        return &g_array_index(placeholders, ts_conn, stream & ~PLACEHOLDER);
    return ts_store_conn(stream);
}

/* Count a connection out of its server's half-open set, once. */
static void
uncount(server *s, ts_conn *c)
{
    if (!(c->flags & TS_CONN_FLOOD_COUNTED))
        return;
    c->flags &= (uint8_t)~TS_CONN_FLOOD_COUNTED;
    s->half_open--;
    if (s->alarmed && s->half_open < threshold / 2)
        s->alarmed = false;
}

/* A time as milliseconds since the file's first SYN; earlier times (the
 * capture's clock went back) count as that SYN's, much later ones clamp. */
static uint32_t
ms_of(double time)
{
    double ms;

    if (!have_base) {
        base_time = time;
        have_base = true;
    }
    ms = (time - base_time) * 1000.0;
    if (!(ms > 0))
        return 0;
    return ms >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

/* Drop the SYNs older than the window. */
static void
expire(server *s, uint32_t now)
{
    while (s->head < s->entries->len) {
        const entry *e = &g_array_index(s->entries, entry, s->head);
        if (now < window_ms || e->ms >= now - window_ms)
            break;
        uncount(s, conn_of(e->stream));
        s->head++;
    }
    if (s->head > 1024 && s->head * 2 > s->entries->len) {
        g_array_remove_range(s->entries, 0, s->head);
        s->head = 0;
    }
}

static uint32_t
distinct_sources(const server *s)
{
    GHashTable *seen = g_hash_table_new(g_int64_hash, g_int64_equal);
    uint32_t n;

    for (guint i = s->head; i < s->entries->len; i++) {
        const entry *e = &g_array_index(s->entries, entry, i);
        ts_conn *c = conn_of(e->stream);
        if (c->flags & TS_CONN_FLOOD_COUNTED)
            g_hash_table_add(seen, &c->client_key);
    }
    n = g_hash_table_size(seen);
    g_hash_table_destroy(seen);
    return n;
}

bool
ts_flood_begin(ts_conn *c, uint32_t stream, const ts_segment *seg, double time,
               ts_flood_alarm *alarm)
{
    entry e;
    server *s;

    if (!threshold || !servers)
        return false;
    e.ms = ms_of(time);
    e.stream = stream;
    s = server_of(seg, &c->flood_server);
    expire(s, e.ms);
    g_array_append_val(s->entries, e);
    c->flags |= TS_CONN_FLOOD_COUNTED;
    s->half_open++;
    if (s->alarmed || s->half_open < threshold)
        return false;
    s->alarmed = true;
    alarm->half_open = s->half_open;
    alarm->sources = distinct_sources(s);
    alarm->window = window_ms / 1000;
    return true;
}

void
ts_flood_end(ts_conn *c)
{
    if (servers && c->flood_server && c->flood_server <= servers->len)
        uncount((server *)g_ptr_array_index(servers, c->flood_server - 1), c);
}

const ts_flood_alarm *
ts_flood_alarm_of(uint32_t frame)
{
    return alarms ? (const ts_flood_alarm *)g_hash_table_lookup(alarms, GUINT_TO_POINTER(frame))
                  : NULL;
}

void
ts_flood_remember(uint32_t frame, const ts_flood_alarm *alarm)
{
    if (alarms)
        g_hash_table_insert(alarms, GUINT_TO_POINTER(frame), g_memdup2(alarm, sizeof *alarm));
}

/* ---- ring-set continuity --------------------------------------------------------- */

void
ts_flood_seed(const ts_flood_carry *list, size_t n)
{
    if (!threshold || !servers || !n || have_base)
        return;
    base_time = (double)list[0].syn_ns / 1e9;
    have_base = true;
    for (size_t i = 0; i < n; i++) {
        ts_conn pc;
        entry e;
        server *s;

        memset(&pc, 0, sizeof pc);
        s = server_by_key((gint64)list[i].key, &pc.flood_server);
        pc.flags = TS_CONN_FLOOD_COUNTED;
        pc.client_key = list[i].client_key;
        e.ms = ms_of((double)list[i].syn_ns / 1e9);
        e.stream = PLACEHOLDER | placeholders->len;
        g_array_append_val(placeholders, pc);
        g_hash_table_insert(placeholder_ids, GUINT_TO_POINTER(list[i].id + 1),
                            GUINT_TO_POINTER(placeholders->len));
        g_array_append_val(s->entries, e);
        s->half_open++;
        s->alarmed = s->alarmed || list[i].alarmed;
    }
}

static ts_conn *
placeholder(uint32_t id, uint32_t *index)
{
    const guint i = placeholder_ids ? GPOINTER_TO_UINT(g_hash_table_lookup(
                                          placeholder_ids, GUINT_TO_POINTER(id + 1))) : 0;
    if (!i)
        return NULL;
    *index = i - 1;
    return &g_array_index(placeholders, ts_conn, i - 1);
}

void
ts_flood_adopt(uint32_t id, ts_conn *c, uint32_t stream)
{
    uint32_t index;
    ts_conn *pc = placeholder(id, &index);
    server *s;

    if (!pc || !(pc->flags & TS_CONN_FLOOD_COUNTED))
        return;
    s = (server *)g_ptr_array_index(servers, pc->flood_server - 1);
    for (guint i = s->head; i < s->entries->len; i++) {
        entry *e = &g_array_index(s->entries, entry, i);
        if (e->stream == (PLACEHOLDER | index)) {
            e->stream = stream;     /* the count moves to the connection */
            pc->flags &= (uint8_t)~TS_CONN_FLOOD_COUNTED;
            c->flags |= TS_CONN_FLOOD_COUNTED;
            c->flood_server = pc->flood_server;
            return;
        }
    }
}

void
ts_flood_unseed(void)
{
    for (guint i = 0; placeholders && i < placeholders->len; i++) {
        ts_conn *pc = &g_array_index(placeholders, ts_conn, i);
        if (pc->flags & TS_CONN_FLOOD_COUNTED)
            uncount((server *)g_ptr_array_index(servers, pc->flood_server - 1), pc);
    }
}

static bool
counted(const ts_conn *c, uint32_t stream, uint64_t *key, int64_t *syn_ns, bool *alarmed)
{
    const server *s;

    if (!servers || !(c->flags & TS_CONN_FLOOD_COUNTED) || !c->flood_server ||
        c->flood_server > servers->len)
        return false;
    s = (const server *)g_ptr_array_index(servers, c->flood_server - 1);
    for (guint i = s->head; i < s->entries->len; i++) {
        const entry *e = &g_array_index(s->entries, entry, i);
        if (e->stream == stream) {
            *key = s->key;
            *syn_ns = (int64_t)(base_time * 1e9 + 0.5) + (int64_t)e->ms * 1000000;
            *alarmed = s->alarmed;
            return true;
        }
    }
    return false;
}

bool
ts_flood_carried(const ts_conn *c, uint32_t stream, uint64_t *key, int64_t *syn_ns,
                 bool *alarmed)
{
    return counted(c, stream, key, syn_ns, alarmed);
}

bool
ts_flood_placeholder(uint32_t id, uint64_t *key, int64_t *syn_ns, bool *alarmed)
{
    uint32_t index;
    const ts_conn *pc = placeholder(id, &index);

    return pc && counted(pc, PLACEHOLDER | index, key, syn_ns, alarmed);
}
