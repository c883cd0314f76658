/* facts.c - what records and continuity know of a connection (see facts.h)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "facts.h"

#include <string.h>

static unsigned
addr_len(uint8_t family)
{
    return family == 4 ? 4 : family == 6 ? 16 : 0;
}

void
ts_facts_start(ts_facts *f, const ts_facts_seg *s)
{
    const unsigned alen = addr_len(s->family);

    memset(f, 0, sizeof *f);
    f->family = alen ? s->family : 0;
    memcpy(f->addr[0], s->src, alen);
    memcpy(f->addr[1], s->dst, alen);
    f->port[0] = s->sport;
    f->port[1] = s->dport;
    f->first_ns = f->last_ns = s->time_ns;
    f->first_frame = f->last_frame = s->frame;
    f->first_seq = s->seq;
}

bool
ts_facts_from_first(const ts_facts *f, const ts_facts_seg *s)
{
    if (s->sport != s->dport)
        return s->sport == f->port[0];
    return memcmp(s->src, f->addr[0], addr_len(f->family)) == 0;
}

/* Wireshark's base_seq of each direction, as its TCP dissector sets them
 * (tcp_analyze_sequence_number): on a direction's first segment, its
 * sequence number (a SYN's) or one less; from the first ACK of the other
 * direction, ack - 1, if not set before.  A SYN-ACK whose sequence number
 * differs moves it (4.0's "different base_seq"). */
static void
ws_base_update(ts_facts *f, unsigned d, const ts_facts_seg *s)
{
    const uint8_t set = d ? TS_WS_BASE1 : TS_WS_BASE0;
    const uint8_t set_other = d ? TS_WS_BASE0 : TS_WS_BASE1;

    if ((s->flags & (TS_TH_SYN | TS_TH_ACK)) == (TS_TH_SYN | TS_TH_ACK) && (f->ws_flags & set) &&
        s->seq != f->ws_base[d])
        f->ws_base[d] = s->seq;
    if (!(f->ws_flags & set)) {
        f->ws_base[d] = (s->flags & TS_TH_SYN) ? s->seq : s->seq - 1;
        f->ws_flags |= set;
    }
    if (!(f->ws_flags & set_other) && (s->flags & TS_TH_ACK)) {
        f->ws_base[!d] = s->ack - 1;
        f->ws_flags |= set_other;
    }
}

void
ts_facts_add(ts_facts *f, const ts_record *r, const ts_facts_seg *s)
{
    const bool first = f->stats.segments == 0;

    if (!first && ((s->flags & (TS_TH_FIN | TS_TH_ACK)) == (TS_TH_FIN | TS_TH_ACK) ||
                   (s->flags & TS_TH_RST)))
        f->ws_flags |= TS_WS_CLOSED;
    ws_base_update(f, ts_facts_from_first(f, s) ? 0 : 1, s);
    f->last_ns = s->time_ns;
    f->last_frame = s->frame;
    ts_connstats_add(&f->stats, r, (double)(s->time_ns - f->first_ns) / 1e9);
}

bool
ts_facts_ws_splits(const ts_facts *f, const ts_facts_seg *s, bool since_4_2)
{
    const unsigned d = ts_facts_from_first(f, s) ? 0 : 1;
    const uint8_t set = d ? TS_WS_BASE1 : TS_WS_BASE0;
    const uint16_t sa = s->flags & (TS_TH_SYN | TS_TH_ACK);

    if (!(s->flags & TS_TH_SYN) || !(f->ws_flags & set))
        return false;
    if (sa == TS_TH_SYN)
        return s->seq != f->ws_base[d] || (since_4_2 && (f->ws_flags & TS_WS_CLOSED));
    return since_4_2 && (s->seq != f->ws_base[d] || (f->ws_flags & TS_WS_CLOSED));
}

void
ts_facts_uid_input(const ts_facts *f, ts_uid_input *in)
{
    const int64_t ns = f->first_ns;

    memset(in, 0, sizeof *in);
    in->family = f->family;
    memcpy(in->src, f->addr[0], sizeof in->src);
    memcpy(in->dst, f->addr[1], sizeof in->dst);
    in->sport = f->port[0];
    in->dport = f->port[1];
    in->seq = f->first_seq;
    /* rounded down, also before the epoch */
    in->secs = ns >= 0 ? ns / 1000000000 : -((-ns + 999999999) / 1000000000);
}

void
ts_facts_uid(const ts_facts *f, char out[TS_UID_BUFSZ])
{
    ts_uid_input in;

    ts_facts_uid_input(f, &in);
    ts_uid_make(&in, f->uid_n, out);
}
