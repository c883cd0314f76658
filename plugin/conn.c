/* conn.c - one TCP connection's lifecycle as tcpstate sees it (see conn.h)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "conn.h"

#include <string.h>

#include "classify.h"

#define HS(n) ((uint8_t)(1u << (n)))   /* handshake step bit */
#define TD(n) ((uint8_t)(1u << (n)))   /* teardown step bit */

bool
ts_conn_from_client(const ts_conn *c, const ts_segment *seg)
{
    if (seg->sport != seg->dport)
        return seg->sport == c->client_port;
    return seg->src_key == c->client_key;
}

/* Roles and starting states, from the connection's first segment.
 *  - a SYN without ACK: its sender is the client (CLOSED -> ...), the
 *    receiver the server (LISTEN);
 *  - a SYN-ACK: its receiver is the client, whose SYN the capture missed:
 *    SYN_SENT, with the SYN implied by the SYN-ACK's ack;
 *  - anything else (mid-stream): the lower port is the server (Zeek's
 *    heuristic; with equal ports the first sender is the client), and
 *    both endpoints are assumed ESTABLISHED. */
static void
conn_start(ts_conn *c, const ts_segment *seg)
{
    const uint16_t f = seg->flags;

    memset(c, 0, sizeof *c);
    c->flags = TS_CONN_USED;
    if ((f & TS_TH_SYN) && !(f & TS_TH_ACK)) {
        c->client_port = seg->sport;
        c->client_key = seg->src_key;
        c->ep[TS_CLIENT].st = sCL;
        c->ep[TS_SERVER].st = sLI;
    } else if ((f & (TS_TH_SYN | TS_TH_ACK)) == (TS_TH_SYN | TS_TH_ACK)) {
        c->client_port = seg->dport;
        c->client_key = seg->dst_key;
        c->ep[TS_CLIENT].st = sSS;
        c->ep[TS_CLIENT].flags = TS_EP_SYN;
        c->ep[TS_CLIENT].isn = seg->ack - 1;
        c->ep[TS_SERVER].st = sLI;
    } else {
        const bool sender_is_client = seg->sport > seg->dport ||
                                      (seg->sport == seg->dport);
        c->client_port = sender_is_client ? seg->sport : seg->dport;
        c->client_key = sender_is_client ? seg->src_key : seg->dst_key;
        c->ep[TS_CLIENT].st = sES;
        c->ep[TS_SERVER].st = sES;
        c->flags |= TS_CONN_MIDSTREAM | TS_CONN_OPENED;
    }
}

/* Both endpoints ESTABLISHED or past it (not CLOSED). */
static bool
synchronized(const ts_conn *c)
{
    for (int i = 0; i < 2; i++) {
        switch (c->ep[i].st) {
        case sES: case sF1: case sF2: case sCG: case sCX: case sTW: case sCW: case sLA:
            break;
        default:
            return false;
        }
    }
    return true;
}

/* Update what is known of both endpoints after the segment. */
static void
learn(ts_endpoint *snd, ts_endpoint *rcv, const ts_segment *seg, const ts_class *cl)
{
    const uint16_t f = seg->flags;

    if (cl->acks_syn)
        rcv->flags |= TS_EP_SYN_ACKED;
    if (cl->acks_fin)
        rcv->flags |= TS_EP_FIN_ACKED;
    if (!cl->valid_flags || (f & TS_TH_RST))
        return;     /* neither advances the sender's sequence space */

    uint32_t end = seg->seq + seg->len;
    if (f & TS_TH_SYN) {
        snd->isn = seg->seq;
        snd->flags |= TS_EP_SYN;
        if (!(f & TS_TH_ACK))
            snd->flags |= TS_EP_ACTIVE;
        end += 1;
    }
    if (f & TS_TH_FIN) {
        if (!(snd->flags & TS_EP_FIN) || !ts_seq_geq(snd->fin_seq, end))
            snd->fin_seq = end;
        snd->flags |= TS_EP_FIN;
        end += 1;
    }
    if (!(snd->flags & TS_EP_SENT) || !ts_seq_geq(snd->snd_nxt, end))
        snd->snd_nxt = end;
    snd->win = seg->win;
    snd->flags |= TS_EP_SENT;
}

/* Teardown steps and the closer, from the FINs and RSTs of the segment. */
static void
note_close(ts_conn *c, int from, const ts_segment *seg, const ts_class *cl,
           bool fin_ok, bool rcv_fin_acked_before, ts_record *rec)
{
    const int to = !from;

    if (cl->acks_fin && !rcv_fin_acked_before && (c->ep[to].flags & TS_EP_FIN_STEP))
        rec->teardown |= (c->first_fin == 1 + to) ? TD(2) : TD(4);

    if (seg->flags & TS_TH_RST) {
        c->flags |= TS_CONN_RST;
        if (c->closer == TS_CLOSER_NONE)
            c->closer = (uint8_t)(from == TS_CLIENT ? TS_CLOSER_CLIENT : TS_CLOSER_SERVER);
        return;
    }
    if (!fin_ok)
        return;
    c->ep[from].flags |= TS_EP_FIN_STEP;
    if (c->first_fin == 0) {
        c->first_fin = (uint8_t)(1 + from);
        if (c->closer == TS_CLOSER_NONE)
            c->closer = (uint8_t)(from == TS_CLIENT ? TS_CLOSER_CLIENT : TS_CLOSER_SERVER);
    }
    if (c->first_fin == 1 + from) {
        rec->teardown |= TD(1);
    } else {
        rec->teardown |= TD(3);
        /* The second FIN does not answer the first: the FINs crossed. */
        if (!(c->ep[to].flags & TS_EP_FIN_ACKED) && !cl->acks_fin &&
            !(c->flags & TS_CONN_RST))
            c->closer = TS_CLOSER_BOTH;
    }
}

void
ts_conn_track(ts_conn *c, const ts_segment *seg, ts_record *rec)
{
    ts_class cl;

    memset(rec, 0, sizeof *rec);
    if (!(c->flags & TS_CONN_USED)) {
        conn_start(c, seg);
        rec->flags |= TS_REC_FIRST;
    }

    const int from = ts_conn_from_client(c, seg) ? TS_CLIENT : TS_SERVER;
    ts_endpoint *snd = &c->ep[from];
    ts_endpoint *rcv = &c->ep[!from];
    const bool rcv_fin_acked_before = (rcv->flags & TS_EP_FIN_ACKED) != 0;
    const bool open_before = synchronized(c);
    bool fin_ok = false;

    rec->prev[TS_CLIENT] = (uint8_t)ts_fsm_display(c->ep[TS_CLIENT].st);
    rec->prev[TS_SERVER] = (uint8_t)ts_fsm_display(c->ep[TS_SERVER].st);

    ts_classify(snd, rcv, seg, &cl);
    if (!cl.valid_flags)
        rec->flags |= TS_REC_BAD_FLAGS;

    for (unsigned i = 0; i < cl.nsend; i++) {
        const ts_event ev = (ts_event)cl.send[i];
        const uint8_t before = snd->st;
        const ts_step_result r = ts_fsm_step(&snd->st, TS_DIR_SEND, ev,
                                             (snd->flags & TS_EP_PASSIVE) != 0);
        if (r == TS_STEP_INVALID) {
            rec->flags |= TS_REC_INVALID;
            continue;
        }
        switch (ev) {
        case TS_EV_SYN:
            rec->handshake |= HS(1);
            break;
        case TS_EV_SYNACK:
            rec->handshake |= HS(2);
            if (before == sLI)
                snd->flags |= TS_EP_PASSIVE;
            break;
        case TS_EV_FIN:
            fin_ok = true;
            break;
        default:
            break;
        }
    }
    /* A segment that makes no sense for its sender tells nothing about its
     * receiver (a Linux receiver drops it or answers with a RST). */
    if (!(rec->flags & TS_REC_INVALID))
        for (unsigned i = 0; i < cl.nrecv; i++)
            (void)ts_fsm_step(&rcv->st, TS_DIR_RECV, (ts_event)cl.recv[i],
                              (rcv->flags & TS_EP_PASSIVE) != 0);

    note_close(c, from, seg, &cl, fin_ok, rcv_fin_acked_before, rec);
    learn(snd, rcv, seg, &cl);

    /* Step 3: the segment after which both endpoints are synchronized
     * (again, for the answer to a retransmitted SYN-ACK). */
    if (!open_before && synchronized(c)) {
        c->flags |= TS_CONN_OPENED;
        rec->handshake |= HS(3);
    }

    rec->stream = seg->stream;
    rec->state[TS_CLIENT] = (uint8_t)ts_fsm_display(c->ep[TS_CLIENT].st);
    rec->state[TS_SERVER] = (uint8_t)ts_fsm_display(c->ep[TS_SERVER].st);
    rec->closer = c->closer;
    rec->flags |= TS_REC_VALID;
    if (from == TS_SERVER)
        rec->flags |= TS_REC_FROM_SERVER;
    if (c->flags & TS_CONN_MIDSTREAM)
        rec->flags |= TS_REC_MIDSTREAM;
}
