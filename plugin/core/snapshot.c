/* snapshot.c - the state a capture file leaves to the next one (see snapshot.h)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "snapshot.h"

#include <stddef.h>
#include <string.h>

#include "anomalies.h"
#include "fsm.h"
#include "summary.h"

/* A hash of the core's sources, made by CMake (plugin/core/CMakeLists.txt):
 * any change to the core is another build, whose snapshots this one
 * refuses.  Builds without it (none of ours) accept only their own. */
#ifndef TS_CORE_BUILD
#define TS_CORE_BUILD 0
#endif

static const char magic[8] = { 'T', 'C', 'P', 'S', 'T', 'A', 'T', 'E' };

const char *
ts_snap_status_text(ts_snap_status s)
{
    switch (s) {
    case TS_SNAP_OK:            return "is valid";
    case TS_SNAP_TRUNCATED:     return "is truncated";
    case TS_SNAP_NOT_SNAPSHOT:  return "is not a tcpstate snapshot";
    case TS_SNAP_BAD_FORMAT:    return "has a format version this tcpstate does not read";
    case TS_SNAP_CORRUPT:       return "is corrupt (a checksum or a size does not match)";
    case TS_SNAP_OTHER_LAYOUT:  return "was written by a tcpstate that lays out its state "
                                       "differently";
    case TS_SNAP_OTHER_BUILD:   return "was written by another version of tcpstate";
    case TS_SNAP_BAD_ENTRY:     return "holds a connection no analysis can have made";
    }
    return "?";
}

/* ---- hashes ------------------------------------------------------------------ */

static uint32_t crc_table[256];

uint32_t
ts_crc32(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = (const uint8_t *)data;

    if (!crc_table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            crc_table[i] = c;
        }
    crc = ~crc;
    while (len--)
        crc = crc_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

typedef struct fnv { uint64_t h; } fnv;

static void
fnv_bytes(fnv *f, const void *data, size_t len)
{
    const uint8_t *p = (const uint8_t *)data;
    if (!f->h)
        f->h = 0xcbf29ce484222325ULL;
    while (len--) {
        f->h ^= *p++;
        f->h *= 0x100000001b3ULL;
    }
}

static void
fnv_u64(fnv *f, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    fnv_bytes(f, b, sizeof b);
}

static void
fnv_str(fnv *f, const char *s)
{
    s = s ? s : "";
    fnv_u64(f, strlen(s));
    fnv_bytes(f, s, strlen(s));
}

#define F(type, member) fnv_u64(&f, offsetof(type, member))

uint64_t
ts_snap_layout(void)
{
    const uint16_t order = 0x0102;
    fnv f = { 0 };

    fnv_bytes(&f, &order, sizeof order);                  /* byte order */
    fnv_u64(&f, sizeof(void *));
    fnv_u64(&f, sizeof(ts_carried));
    fnv_u64(&f, sizeof(ts_conn));
    F(ts_conn, sum); F(ts_conn, zeek); F(ts_conn, ep); F(ts_conn, client_key);
    F(ts_conn, flood_server); F(ts_conn, client_port); F(ts_conn, flags);
    fnv_u64(&f, sizeof(ts_summary));
    F(ts_summary, first); F(ts_summary, bytes); F(ts_summary, segs); F(ts_summary, last);
    F(ts_summary, flags); F(ts_summary, first_rst);
    fnv_u64(&f, sizeof(ts_zeek));
    F(ts_zeek, ep); F(ts_zeek, timer); F(ts_zeek, hist); F(ts_zeek, cnt);
    fnv_u64(&f, sizeof(ts_endpoint));
    F(ts_endpoint, isn); F(ts_endpoint, fin_seq); F(ts_endpoint, snd_nxt); F(ts_endpoint, win);
    F(ts_endpoint, st); F(ts_endpoint, flags); F(ts_endpoint, challenge);
    fnv_u64(&f, sizeof(ts_facts));
    F(ts_facts, stats); F(ts_facts, first_ns); F(ts_facts, last_ns); F(ts_facts, first_frame);
    F(ts_facts, last_frame); F(ts_facts, first_seq); F(ts_facts, uid_n); F(ts_facts, ws_base);
    F(ts_facts, ws_flags); F(ts_facts, family); F(ts_facts, port); F(ts_facts, addr);
    fnv_u64(&f, sizeof(ts_connstats));
    F(ts_connstats, first); F(ts_connstats, syn); F(ts_connstats, cw_since);
    F(ts_connstats, cw_max); F(ts_connstats, segments); F(ts_connstats, warnings);
    F(ts_carried, conn); F(ts_carried, facts); F(ts_carried, zeek_ended);
    F(ts_carried, flags); F(ts_carried, flood_key); F(ts_carried, flood_syn_ns);
    /* what the values mean: the state machine and the lists */
    fnv_u64(&f, TS_FSM_NSTATES);
    fnv_u64(&f, TS_STATE_MAX);
    fnv_u64(&f, TS_OUTCOME_MAX);
    fnv_u64(&f, TS_STYLE_MAX);
    fnv_u64(&f, TS_AN_COUNT);
    fnv_bytes(&f, ts_fsm_table, sizeof ts_fsm_table);
    return f.h;
}

#undef F

uint64_t
ts_snap_build(void)
{
    return (uint64_t)TS_CORE_BUILD;
}

uint64_t
ts_snap_file_id(int64_t first_ns, const uint8_t *bytes, size_t caplen, uint32_t len,
                int32_t encap, const char *iface, const char *descr)
{
    fnv f = { 0 };

    fnv_u64(&f, (uint64_t)first_ns);
    fnv_u64(&f, caplen);
    fnv_u64(&f, len);
    fnv_u64(&f, (uint64_t)(int64_t)encap);
    fnv_str(&f, iface);
    fnv_str(&f, descr);
    if (bytes)
        fnv_bytes(&f, bytes, caplen);
    return f.h ? f.h : 1;   /* 0 means "none" */
}

/* ---- the header -------------------------------------------------------------- */

static size_t
cut_len(const char *s)
{
    const size_t n = s ? strlen(s) : 0;
    return n > TS_SNAP_STR_MAX ? TS_SNAP_STR_MAX : n;
}

size_t
ts_snap_head_size(const char *iface, const char *descr)
{
    return TS_SNAP_FIXED + cut_len(iface) + cut_len(descr) + 4;
}

static void
le(uint8_t *p, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le(const uint8_t *p, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void
ts_snap_write_head(const ts_snap_head *h, const char *version, uint8_t *buf)
{
    const size_t ni = cut_len(h->iface), nd = cut_len(h->descr);
    const size_t size = ts_snap_head_size(h->iface, h->descr);
    size_t vlen = version ? strlen(version) : 0;

    memset(buf, 0, size);
    memcpy(buf, magic, sizeof magic);
    le(buf + 8, TS_SNAP_FORMAT, 4);
    le(buf + 12, size, 4);
    le(buf + 16, ts_snap_layout(), 8);
    le(buf + 24, ts_snap_build(), 8);
    memcpy(buf + 32, version ? version : "", vlen > 16 ? 16 : vlen);
    le(buf + 48, h->file_id, 8);
    le(buf + 56, h->pred_id, 8);
    le(buf + 64, h->chain_id, 8);
    le(buf + 72, h->chain_index, 4);
    le(buf + 76, h->frames, 4);
    le(buf + 80, h->frames_before, 8);
    le(buf + 88, (uint64_t)h->first_ns, 8);
    le(buf + 96, (uint64_t)h->last_ns, 8);
    le(buf + 104, (uint64_t)(uint32_t)h->encap, 4);
    le(buf + 108, h->count, 4);
    le(buf + 112, sizeof(ts_carried), 4);
    buf[116] = (uint8_t)ni;
    buf[117] = (uint8_t)nd;
    memcpy(buf + TS_SNAP_FIXED, h->iface, ni);
    memcpy(buf + TS_SNAP_FIXED + ni, h->descr, nd);
    le(buf + size - 4, ts_crc32(0, buf, size - 4), 4);
}

void
ts_snap_seal(uint8_t *buf, size_t len)
{
    le(buf + len, ts_crc32(0, buf, len), 4);
}

ts_snap_status
ts_snap_read_head(const uint8_t *buf, size_t len, ts_snap_head *h)
{
    size_t size, ni, nd;

    memset(h, 0, sizeof *h);
    if (len < sizeof magic || memcmp(buf, magic, sizeof magic) != 0)
        return len < sizeof magic ? TS_SNAP_TRUNCATED : TS_SNAP_NOT_SNAPSHOT;
    if (len < 16)
        return TS_SNAP_TRUNCATED;
    h->format = (uint32_t)get_le(buf + 8, 4);
    if (h->format != TS_SNAP_FORMAT)
        return TS_SNAP_BAD_FORMAT;
    size = (size_t)get_le(buf + 12, 4);
    if (size < TS_SNAP_FIXED + 4 || size > TS_SNAP_HEAD_MAX)
        return TS_SNAP_CORRUPT;
    if (len < size)
        return TS_SNAP_TRUNCATED;
    if ((uint32_t)get_le(buf + size - 4, 4) != ts_crc32(0, buf, size - 4))
        return TS_SNAP_CORRUPT;
    ni = buf[116];
    nd = buf[117];
    if (TS_SNAP_FIXED + ni + nd + 4 != size)
        return TS_SNAP_CORRUPT;
    h->head_size = size;
    h->layout = get_le(buf + 16, 8);
    h->build = get_le(buf + 24, 8);
    memcpy(h->version, buf + 32, 16);
    h->file_id = get_le(buf + 48, 8);
    h->pred_id = get_le(buf + 56, 8);
    h->chain_id = get_le(buf + 64, 8);
    h->chain_index = (uint32_t)get_le(buf + 72, 4);
    h->frames = (uint32_t)get_le(buf + 76, 4);
    h->frames_before = get_le(buf + 80, 8);
    h->first_ns = (int64_t)get_le(buf + 88, 8);
    h->last_ns = (int64_t)get_le(buf + 96, 8);
    h->encap = (int32_t)(uint32_t)get_le(buf + 104, 4);
    h->count = (uint32_t)get_le(buf + 108, 4);
    h->entry_size = (uint32_t)get_le(buf + 112, 4);
    memcpy(h->iface, buf + TS_SNAP_FIXED, ni);
    memcpy(h->descr, buf + TS_SNAP_FIXED + ni, nd);
    if (h->layout != ts_snap_layout() || h->entry_size != sizeof(ts_carried))
        return TS_SNAP_OTHER_LAYOUT;
    if (h->build != ts_snap_build())
        return TS_SNAP_OTHER_BUILD;
    return TS_SNAP_OK;
}

bool
ts_snap_entry_valid(const ts_carried *e)
{
    const ts_conn *c = &e->conn;
    const ts_facts *f = &e->facts;

    /* The state machine indexes its table with the endpoints' states. */
    if (c->ep[0].st >= TS_FSM_NSTATES || c->ep[1].st >= TS_FSM_NSTATES)
        return false;
    if (!(c->flags & TS_CONN_USED) || c->sum.first_rst > 2 || c->first_fin > 2)
        return false;
    if (f->family != 0 && f->family != 4 && f->family != 6)
        return false;
    if (f->first_frame > f->last_frame || f->stats.segments == 0 ||
        (e->flags & ~(uint32_t)(TS_CARRIED_FLOOD_COUNTED | TS_CARRIED_FLOOD_ALARMED |
                       TS_CARRIED_UID_ONLY)))
        return false;
    return true;
}

ts_snap_status
ts_snap_check(const uint8_t *buf, size_t len, const ts_snap_head *h)
{
    const size_t body = h->head_size + (size_t)h->count * sizeof(ts_carried);

    if (len < h->head_size || h->count > (len - h->head_size) / sizeof(ts_carried) ||
        len < body + 4)
        return TS_SNAP_TRUNCATED;
    if (len != body + 4)
        return TS_SNAP_CORRUPT;
    if ((uint32_t)get_le(buf + body, 4) != ts_crc32(0, buf, body))
        return TS_SNAP_CORRUPT;
    if (h->layout != ts_snap_layout() || h->entry_size != sizeof(ts_carried))
        return TS_SNAP_OTHER_LAYOUT;
    if (h->build != ts_snap_build())
        return TS_SNAP_OTHER_BUILD;
    for (uint32_t i = 0; i < h->count; i++) {
        ts_carried e;
        memcpy(&e, buf + h->head_size + (size_t)i * sizeof e, sizeof e);
        if (!ts_snap_entry_valid(&e))
            return TS_SNAP_BAD_ENTRY;
    }
    return TS_SNAP_OK;
}
