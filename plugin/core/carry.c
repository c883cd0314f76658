/* carry.c - the rules of ring-set continuity (see carry.h)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "carry.h"

#include <stdio.h>
#include <string.h>

#include "fsm.h"

static bool
gone(uint8_t st)
{
    const ts_state s = ts_fsm_display(st);
    return s == TS_STATE_CLOSED || s == TS_STATE_TIME_WAIT || s == TS_STATE_LISTEN;
}

bool
ts_carry_ended(const ts_conn *c)
{
    return gone(c->ep[TS_CLIENT].st) && gone(c->ep[TS_SERVER].st);
}

bool
ts_carry_keep(const ts_conn *c, int64_t idle_ns)
{
    /* Long-lived: both endpoints were synchronized and both spoke. */
    const bool talking = (c->flags & TS_CONN_OPENED) && c->sum.segs[TS_CLIENT] &&
                         c->sum.segs[TS_SERVER];
    const int64_t limit = (!ts_carry_ended(c) && talking) ? TS_CARRY_IDLE_S : TS_CARRY_LINGER_S;

    return idle_ns < limit * (int64_t)1000000000;
}

static bool
same_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool
same_interface(const ts_snap_head *h, const ts_file_ident *f)
{
    char iface[TS_SNAP_STR_MAX + 1], descr[TS_SNAP_STR_MAX + 1];

    /* the header keeps at most TS_SNAP_STR_MAX bytes of each */
    snprintf(iface, sizeof iface, "%s", f->iface ? f->iface : "");
    snprintf(descr, sizeof descr, "%s", f->descr ? f->descr : "");
    return h->encap == f->encap && same_str(h->iface, iface) && same_str(h->descr, descr);
}

/* Is a later than b, as the end of a chain? */
static bool
later(const ts_snap_head *a, const ts_snap_head *b)
{
    if (a->last_ns != b->last_ns)
        return a->last_ns > b->last_ns;
    if (a->chain_index != b->chain_index)
        return a->chain_index > b->chain_index;
    return a->frames > b->frames;
}

void
ts_carry_choose(const ts_snap_head *const *heads, size_t n_heads, const ts_file_ident *f,
                int64_t gap_ns, ts_carry_choice *out)
{
    size_t best[TS_CARRY_MAX_CHAINS];
    size_t chains = 0, nearest = n_heads;
    ts_carry_note dropped = TS_NOTE_NONE;
    size_t dropped_about = n_heads;

    memset(out, 0, sizeof *out);
    out->self = out->about = n_heads;

    for (size_t i = 0; i < n_heads; i++) {
        const ts_snap_head *h = heads[i];
        size_t c;

        if (h->file_id == f->file_id) {
            out->self = i;
            continue;
        }
        if (!same_interface(h, f) || h->last_ns > f->first_ns)
            continue;
        if (nearest == n_heads || later(h, heads[nearest]))
            nearest = i;
        if (f->first_ns - h->last_ns > gap_ns)
            continue;
        for (c = 0; c < chains; c++)
            if (heads[best[c]]->chain_id == h->chain_id)
                break;
        if (c < chains) {
            if (later(h, heads[best[c]]))
                best[c] = i;
        } else if (chains < TS_CARRY_MAX_CHAINS) {
            best[chains++] = i;
        } else {
            /* More chains than we weigh at once: keep the latest ends. */
            size_t oldest = 0;
            for (size_t k = 1; k < chains; k++)
                if (later(heads[best[oldest]], heads[best[k]]))
                    oldest = k;
            if (later(h, heads[best[oldest]]))
                best[oldest] = i;
        }
    }

    for (size_t c = 0; c < chains; c++) {
        const ts_snap_head *p = heads[best[c]];
        ts_carry_note why = TS_NOTE_NONE;

        for (size_t j = 0; j < n_heads && why == TS_NOTE_NONE; j++) {
            const ts_snap_head *q = heads[j];
            if (q == p || q->file_id == p->file_id)
                continue;
            /* another successor of p's predecessor, earlier than p */
            if (p->pred_id && q->pred_id == p->pred_id && q->first_ns < p->first_ns)
                why = TS_NOTE_STALE;
            /* a successor of p other than this file, starting no later */
            else if (q->pred_id == p->file_id && q->file_id != f->file_id &&
                     q->first_ns <= f->first_ns)
                why = TS_NOTE_OVERLAP;
        }
        if (why == TS_NOTE_NONE) {
            out->pick[out->n++] = best[c];
        } else if (dropped == TS_NOTE_NONE) {
            dropped = why;
            dropped_about = best[c];
        }
    }
    if (out->n)
        return;
    if (dropped != TS_NOTE_NONE) {
        out->note = dropped;
        out->about = dropped_about;
        return;
    }
    if (out->self < n_heads && heads[out->self]->pred_id) {
        bool present = false;
        for (size_t j = 0; j < n_heads; j++)
            present = present || heads[j]->file_id == heads[out->self]->pred_id;
        if (!present) {
            out->note = TS_NOTE_PRED_MISSING;
            out->about = out->self;
            return;
        }
    }
    if (nearest < n_heads) {
        out->note = TS_NOTE_GAP;
        out->about = nearest;
    }
}

bool
ts_carry_replaces(const ts_snap_head *fresh, const ts_snap_head *old)
{
    if (fresh->frames != old->frames)
        return fresh->frames > old->frames;
    return fresh->chain_index >= old->chain_index;
}

static bool
near(uint32_t v, const ts_endpoint *ep)
{
    if (!(ep->flags & TS_EP_SENT))
        return true;
    return (uint32_t)(v - ep->snd_nxt + TS_CARRY_SEQ_SLACK) < 2u * TS_CARRY_SEQ_SLACK;
}

bool
ts_carry_continues(const ts_conn *c, const ts_facts_seg *s)
{
    const bool ack = (s->flags & TS_TH_ACK) != 0;

    if ((s->flags & (TS_TH_SYN | TS_TH_ACK)) == TS_TH_SYN)
        return true;
    for (int x = 0; x < 2; x++)
        if (near(s->seq, &c->ep[x]) && (!ack || near(s->ack, &c->ep[1 - x])))
            return true;
    return false;
}

bool
ts_carry_rejects(uint32_t contradictions, uint32_t misses, uint32_t live)
{
    return contradictions > 0 || (misses > 0 && live > 0);
}
