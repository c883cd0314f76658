/* flood.c - SYN-flood detection: half-open connections per server (see flood.h)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config-tcpstate.h"

#include "flood.h"

#include <glib.h>

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
    GArray  *entries;       /* of entry, oldest first from `head` */
    guint    head;
    uint32_t half_open;     /* entries in the window still half-open */
    bool     alarmed;
} server;

/* Lifetime: from ts_flood_init() to ts_flood_cleanup() (one file). */
static GHashTable *servers_by_key;  /* uint64 key -> index + 1 */
static GPtrArray  *servers;         /* of server */
static GHashTable *alarms;          /* frame -> ts_flood_alarm */
static uint32_t    threshold;
static uint32_t    window_ms;
static double      base_time;       /* the first SYN's time, seconds */
static bool        have_base;

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
    servers_by_key = NULL;
    servers = NULL;
    alarms = NULL;
}

static server *
server_of(const ts_segment *seg, uint32_t *index)
{
    gint64 key = (gint64)(seg->dst_key * 0x100000001b3ULL ^ seg->dport);
    gpointer found = g_hash_table_lookup(servers_by_key, &key);

    if (!found) {
        server *s = g_new0(server, 1);
        s->entries = g_array_new(FALSE, FALSE, sizeof(entry));
        g_ptr_array_add(servers, s);
        found = GUINT_TO_POINTER(servers->len);
        g_hash_table_insert(servers_by_key, g_memdup2(&key, sizeof key), found);
    }
    *index = GPOINTER_TO_UINT(found);
    return (server *)g_ptr_array_index(servers, *index - 1);
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
        uncount(s, ts_store_conn(e->stream));
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
        ts_conn *c = ts_store_conn(e->stream);
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
