/* connfacts.c - the connections' facts in the data path (see connfacts.h)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config-tcpstate.h"

#include "connfacts.h"

#include <epan/address.h>
#include <epan/to_str.h>

#include "extract.h"
#include "store.h"
#include "uid.h"

gboolean ts_connfacts_on;

/* The next collision index of each uid input taken in this file or carried
 * into it: base uid (collision index 0) -> next index.  Lifetime: the
 * capture file. */
static GHashTable *uid_next;

void
ts_connfacts_init(gboolean on)
{
    ts_connfacts_cleanup();
    ts_connfacts_on = on;
    if (on)
        uid_next = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

void
ts_connfacts_cleanup(void)
{
    if (uid_next)
        g_hash_table_destroy(uid_next);
    uid_next = NULL;
    ts_connfacts_on = FALSE;
}

void
ts_connfacts_seg(packet_info *pinfo, const ts_segment *seg, ts_facts_seg *out)
{
    memset(out, 0, sizeof *out);
    out->time_ns = (int64_t)pinfo->abs_ts.secs * 1000000000 + pinfo->abs_ts.nsecs;
    out->frame = pinfo->num;
    ts_extract_addresses(pinfo, &out->family, out->src, out->dst);
    out->sport = seg->sport;
    out->dport = seg->dport;
    out->seq = seg->seq;
    out->ack = seg->ack;
    out->flags = seg->flags;
}

static void
base_uid(const ts_facts *f, char out[TS_UID_BUFSZ])
{
    ts_uid_input in;

    ts_facts_uid_input(f, &in);
    ts_uid_make(&in, 0, out);
}

void
ts_connfacts_reserve_uid(const ts_facts *f)
{
    char base[TS_UID_BUFSZ];
    gpointer next;

    if (!uid_next)
        return;
    base_uid(f, base);
    next = g_hash_table_lookup(uid_next, base);
    if (GPOINTER_TO_UINT(next) < f->uid_n + 1)
        g_hash_table_replace(uid_next, g_strdup(base), GUINT_TO_POINTER(f->uid_n + 1));
}

void
ts_connfacts_add(uint32_t stream, const ts_record *rec, const ts_facts_seg *fs)
{
    ts_facts *f = ts_store_facts(stream);

    if (f->stats.segments == 0) {
        char base[TS_UID_BUFSZ];

        ts_facts_start(f, fs);
        base_uid(f, base);
        f->uid_n = GPOINTER_TO_UINT(g_hash_table_lookup(uid_next, base));
        g_hash_table_replace(uid_next, g_strdup(base), GUINT_TO_POINTER(f->uid_n + 1));
    }
    ts_facts_add(f, rec, fs);
}

void
ts_connfacts_texts(const ts_facts *f, char text[2][TS_ADDR_TEXT],
                   char endpoint[2][TS_ENDPOINT_TEXT])
{
    for (int i = 0; i < 2; i++) {
        address a;

        if (f->family == 4 || f->family == 6) {
            set_address(&a, f->family == 4 ? AT_IPv4 : AT_IPv6, f->family == 4 ? 4 : 16,
                        f->addr[i]);
            address_to_str_buf(&a, text[i], TS_ADDR_TEXT);
        } else {
            g_strlcpy(text[i], "?", TS_ADDR_TEXT);
        }
        g_snprintf(endpoint[i], TS_ENDPOINT_TEXT, f->family == 6 ? "[%s]:%u" : "%s:%u", text[i],
                   f->port[i]);
    }
}
