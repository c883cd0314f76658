/* store.c - where tcpstate keeps its state between packets (see store.h)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config-tcpstate.h"

#include "store.h"

#include <glib.h>
#include <string.h>

#define REC_PAGE_BITS  14   /* 16384 records = 256 KiB a page */
#define CONN_PAGE_BITS 10   /* 1024 connections a page */

typedef struct paged {
    void   **pages;
    uint32_t npages;        /* slots in pages[] */
    uint32_t page_bits;
    size_t   elem_size;
    uint64_t bytes;
} paged;

/* Lifetime: from the init routine to the cleanup routine (one file). */
static paged records = { NULL, 0, REC_PAGE_BITS, sizeof(ts_record), 0 };
static paged conns = { NULL, 0, CONN_PAGE_BITS, sizeof(ts_conn), 0 };
static paged facts = { NULL, 0, CONN_PAGE_BITS, sizeof(ts_facts), 0 };

typedef struct zeek_ended {
    uint32_t until;     /* first frame of the next Zeek connection */
    ts_zeek  zeek;
} zeek_ended;
static GHashTable *zeek_by_stream;  /* stream -> GArray of zeek_ended, oldest first */

static void
paged_free(paged *p)
{
    for (uint32_t i = 0; i < p->npages; i++)
        g_free(p->pages[i]);
    g_free(p->pages);
    p->pages = NULL;
    p->npages = 0;
    p->bytes = 0;
}

static void *
paged_at(paged *p, uint32_t index, gboolean create)
{
    const uint32_t page = index >> p->page_bits;
    const uint32_t slot = index & ((1u << p->page_bits) - 1);

    if (page >= p->npages) {
        if (!create)
            return NULL;
        uint32_t n = p->npages ? p->npages : 16;
        while (n <= page)
            n *= 2;
        p->pages = g_renew(void *, p->pages, n);
        memset(p->pages + p->npages, 0, (n - p->npages) * sizeof(void *));
        p->bytes += (uint64_t)(n - p->npages) * sizeof(void *);
        p->npages = n;
    }
    if (!p->pages[page]) {
        if (!create)
            return NULL;
        p->pages[page] = g_malloc0(p->elem_size << p->page_bits);
        p->bytes += (uint64_t)p->elem_size << p->page_bits;
    }
    return (char *)p->pages[page] + (size_t)slot * p->elem_size;
}

void
ts_store_init(void)
{
    ts_store_cleanup();
}

void
ts_store_cleanup(void)
{
    paged_free(&records);
    paged_free(&conns);
    paged_free(&facts);
    if (zeek_by_stream)
        g_hash_table_destroy(zeek_by_stream);
    zeek_by_stream = NULL;
}

static void
array_free(gpointer a)
{
    g_array_free((GArray *)a, TRUE);
}

static GArray *
zeek_array(uint32_t stream, gboolean create)
{
    GArray *a;

    if (!zeek_by_stream) {
        if (!create)
            return NULL;
        zeek_by_stream = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, array_free);
    }
    a = (GArray *)g_hash_table_lookup(zeek_by_stream, GUINT_TO_POINTER(stream));
    if (!a && create) {
        a = g_array_new(FALSE, TRUE, sizeof(zeek_ended));
        g_hash_table_insert(zeek_by_stream, GUINT_TO_POINTER(stream), a);
    }
    return a;
}

void
ts_store_zeek_ended(uint32_t stream, uint32_t frame, const ts_zeek *ended)
{
    zeek_ended e = { frame, *ended };
    g_array_append_val(zeek_array(stream, TRUE), e);
}

unsigned
ts_store_zeek_count(uint32_t stream)
{
    GArray *a = zeek_array(stream, FALSE);
    return a ? a->len : 0;
}

/* Entries that no frame belongs to (until = 0): they only count, so that
 * the next ones get the index they had in one run over all the files. */
void
ts_store_zeek_carried(uint32_t stream, unsigned n)
{
    GArray *a;

    if (!n)
        return;
    a = zeek_array(stream, TRUE);
    g_array_set_size(a, a->len + n);    /* zeroed: until = 0 */
}

const ts_zeek *
ts_store_zeek_of(uint32_t stream, uint32_t frame, unsigned *index)
{
    GArray *a = zeek_array(stream, FALSE);
    guint i;

    for (i = 0; a && i < a->len; i++) {
        const zeek_ended *e = &g_array_index(a, zeek_ended, i);
        if (frame < e->until) {
            *index = i;
            return &e->zeek;
        }
    }
    *index = i;
    return NULL;
}

ts_record *
ts_store_new_record(uint32_t frame)
{
    ts_record *r = (ts_record *)paged_at(&records, frame, TRUE);
    memset(r, 0, sizeof *r);
    return r;
}

const ts_record *
ts_store_record(uint32_t frame)
{
    const ts_record *r = (const ts_record *)paged_at(&records, frame, FALSE);
    return (r && (r->flags & (TS_REC_VALID | TS_REC_QUOTED))) ? r : NULL;
}

ts_conn *
ts_store_conn(uint32_t stream)
{
    return (ts_conn *)paged_at(&conns, stream, TRUE);
}

const ts_conn *
ts_store_conn_peek(uint32_t stream)
{
    const ts_conn *c = (const ts_conn *)paged_at(&conns, stream, FALSE);
    return c && (c->flags & TS_CONN_USED) ? c : NULL;
}

uint32_t
ts_store_conn_bound(void)
{
    const uint64_t n = (uint64_t)conns.npages << conns.page_bits;
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

ts_facts *
ts_store_facts(uint32_t stream)
{
    return (ts_facts *)paged_at(&facts, stream, TRUE);
}

const ts_facts *
ts_store_facts_peek(uint32_t stream)
{
    const ts_facts *f = (const ts_facts *)paged_at(&facts, stream, FALSE);
    return f && f->stats.segments ? f : NULL;
}

uint64_t
ts_store_bytes(void)
{
    return records.bytes + conns.bytes + facts.bytes;
}
