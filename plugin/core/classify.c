/* classify.c - from one TCP segment to state-machine events (see classify.h)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "classify.h"

#include <stdio.h>
#include <string.h>

bool
ts_flags_valid(uint16_t flags)
{
    switch (flags & (TS_TH_FIN | TS_TH_SYN | TS_TH_RST | TS_TH_ACK | TS_TH_URG)) {
    case TS_TH_SYN:
    case TS_TH_SYN | TS_TH_URG:
    case TS_TH_SYN | TS_TH_ACK:
    case TS_TH_RST:
    case TS_TH_RST | TS_TH_ACK:
    case TS_TH_FIN | TS_TH_ACK:
    case TS_TH_FIN | TS_TH_ACK | TS_TH_URG:
    case TS_TH_ACK:
    case TS_TH_ACK | TS_TH_URG:
        return true;
    default:
        return false;
    }
}

bool
ts_rst_acceptable(const ts_endpoint *snd, const ts_endpoint *rcv, const ts_segment *seg)
{
    switch (rcv->st) {
    case sSS:
    case sSA:
        return (seg->flags & TS_TH_ACK) && (rcv->flags & TS_EP_SYN) &&
               seg->ack == rcv->isn + 1;
    default:
        break;
    }
    if (!(snd->flags & TS_EP_SENT))
        return true;
    if (seg->seq == snd->snd_nxt)
        return true;
    if ((snd->flags & TS_EP_FIN) && seg->seq == snd->snd_nxt - 1)
        return true;
    if (rcv->st == sSR || rcv->st == sSX)
        return ts_in_window(snd, rcv, seg->seq);
    return false;
}

bool
ts_in_window(const ts_endpoint *snd, const ts_endpoint *rcv, uint32_t seq)
{
    const uint32_t wnd = rcv->win ? rcv->win : 1;

    if (!(snd->flags & TS_EP_SENT))
        return true;    /* nothing known of the sender's sequence space */
    return ts_seq_geq(seq, snd->snd_nxt) && !ts_seq_geq(seq, snd->snd_nxt + wnd);
}

void
ts_illegal_name(uint8_t illegal, char *buf, unsigned len)
{
    static const struct {
        uint8_t     bit;
        const char *name;
    } order[] = {
        { TS_TH_SYN, "SYN" }, { TS_TH_FIN, "FIN" }, { TS_TH_RST, "RST" },
        { TS_TH_PSH, "PSH" }, { TS_TH_ACK, "ACK" }, { TS_TH_URG, "URG" },
    };
    const uint8_t f = illegal & TS_ILL_FLAGS;
    char base[32];
    size_t o = 0;
    const char *suffix = "";

    base[0] = '\0';
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (f & order[i].bit)
            o += (size_t)snprintf(base + o, sizeof base - o, "%s%s", o ? "+" : "", order[i].name);

    if (f == 0) {
        snprintf(base, sizeof base, "NULL");
        suffix = " (NULL scan)";
    } else if (f == TS_TH_FIN) {
        suffix = " without ACK (FIN scan)";
    } else if (f == (TS_TH_FIN | TS_TH_PSH | TS_TH_URG)) {
        suffix = " (Xmas scan)";
    } else if (f == TS_ILL_FLAGS) {
        suffix = " (Xmas tree)";
    } else if (illegal & TS_ILL_ACK_MISSING) {
        suffix = " (ACK missing)";
    } else if (!(f & (TS_TH_ACK | TS_TH_SYN | TS_TH_RST))) {
        suffix = " without ACK";
    }
    snprintf(buf, len, "%s%s", base, suffix);
}

/* The receiver's event for an ACK of its SYN.  Crossed only if the peer
 * sent a bare SYN earlier (simultaneous open); a peer's earlier SYN-ACK the
 * receiver may never have had (it may retransmit its SYN). */
static inline ts_event
syn_ack_event(const ts_endpoint *snd)
{
    return (snd->flags & TS_EP_ACTIVE) ? TS_EV_ACK_SYN_X : TS_EV_ACK_SYN;
}

static inline void
push(uint8_t *n, uint8_t *evs, ts_event ev)
{
    if (*n < TS_MAX_EVENTS)
        evs[(*n)++] = (uint8_t)ev;
}

void
ts_classify(const ts_endpoint *snd, const ts_endpoint *rcv, const ts_segment *seg,
            ts_class *c)
{
    const uint16_t f = seg->flags;
    const bool ack = (f & TS_TH_ACK) != 0;

    memset(c, 0, sizeof *c);
    c->valid_flags = ts_flags_valid(f);

    /* A RST wins over every other flag, as in the receiving stack. */
    if (f & TS_TH_RST) {
        push(&c->nsend, c->send, TS_EV_RST);
        c->rst_accepted = ts_rst_acceptable(snd, rcv, seg);
        if (c->rst_accepted)
            push(&c->nrecv, c->recv, TS_EV_RST);
        return;
    }
    /* Combinations no stack sends change nothing (Linux drops them or
     * answers with a challenge ACK). */
    if (!c->valid_flags)
        return;

    c->acks_syn = ack && (rcv->flags & TS_EP_SYN) && ts_seq_geq(seg->ack, rcv->isn + 1);
    c->acks_fin = ack && (rcv->flags & TS_EP_FIN) && ts_seq_geq(seg->ack, rcv->fin_seq + 1);

    if (f & TS_TH_SYN) {
        push(&c->nsend, c->send, ack ? TS_EV_SYNACK : TS_EV_SYN);
        if (c->acks_syn)
            push(&c->nrecv, c->recv, syn_ack_event(snd));
        push(&c->nrecv, c->recv, TS_EV_SYN);
        c->acks_fin = false;
        return;
    }

    /* Order: a retransmission of a (valid) FIN that was acked first: it says that
     * ACK never arrived, so the sender was still where it was before it
     * (FIN_WAIT1, CLOSING, LAST_ACK) when it sent this segment.  Then the ACK
     * of the peer's SYN; then a retransmitted FIN, which in the sender's
     * mind went out before the ACK it now carries; then the ACK of the
     * peer's FIN; then a new FIN (the three-segment close: ESTABLISHED ->
     * CLOSE_WAIT -> LAST_ACK). */
    const bool fin = (f & TS_TH_FIN) != 0;
    const bool fin_again = fin && (snd->flags & TS_EP_FIN) &&
                           snd->fin_seq == seg->seq + seg->len;
    const bool resync_first = fin_again && (snd->flags & TS_EP_FIN_STEP) &&
                              (snd->flags & TS_EP_FIN_ACKED);
    if (resync_first)
        push(&c->nsend, c->send, TS_EV_FIN);
    if (c->acks_syn) {
        push(&c->nsend, c->send, TS_EV_ACK_SYN);
        /* An ACK of our SYN from a peer that never sent a SYN is not a
         * handshake answer (Linux discards it in SYN_SENT). */
        if (snd->flags & TS_EP_SYN)
            push(&c->nrecv, c->recv, syn_ack_event(snd));
    }
    if (fin_again && !resync_first)
        push(&c->nsend, c->send, TS_EV_FIN);
    if (c->acks_fin) {
        push(&c->nsend, c->send, TS_EV_ACK_FIN);
        /* Crossed: the peer's FIN came in an earlier segment and comes again
         * in this one (both FINs retransmitted after a simultaneous close). */
        push(&c->nrecv, c->recv, fin_again ? TS_EV_ACK_FIN_X : TS_EV_ACK_FIN);
    }
    if (fin) {
        /* A new FIN that does not ack the peer's FIN, captured earlier (and
         * a teardown step for the peer, i.e. valid): the two FINs crossed. */
        const bool crossed = (rcv->flags & TS_EP_FIN_STEP) && !(rcv->flags & TS_EP_FIN_ACKED) &&
                             !c->acks_fin;
        if (!fin_again)
            push(&c->nsend, c->send, crossed ? TS_EV_FIN_X : TS_EV_FIN);
        push(&c->nrecv, c->recv, TS_EV_FIN);
    }
}
