/* conn.c - one TCP connection's lifecycle as tcpstate sees it (see conn.h)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * ts_conn_track() runs once per segment, on the first pass:
 *   conn_start()    roles and starting states, on the connection's first segment
 *   ts_classify()   the segment's events for its sender and its receiver
 *   step_sender() / step_receiver()   one ts_fsm_step() per event
 *   note_close()    teardown steps and the closer
 *   learn()         sequence space: ISN, FIN, snd_nxt, window
 *   detect()        the anomalies of anomalies.h
 */
#include "conn.h"

#include <string.h>

#include "classify.h"

#define HS(n) ((uint8_t)(1u << (n)))   /* handshake step bit */
#define TD(n) ((uint8_t)(1u << (n)))   /* teardown step bit */
#define AN(id) TS_AN_BIT(id)

/* What was true before the segment; lifetime: one ts_conn_track() call. */
typedef struct before {
    uint8_t  snd_st, rcv_st;        /* internal states */
    uint8_t  snd_flags, rcv_flags;  /* TS_EP_* */
    uint8_t  conn_flags;            /* TS_CONN_* */
    uint8_t  first_fin;
    uint8_t  snd_challenge;
    bool     sync;                  /* both endpoints synchronized */
    uint32_t snd_fin_seq, rcv_fin_seq;
} before;

bool
ts_conn_from_client(const ts_conn *c, const ts_segment *seg)
{
    if (seg->sport != seg->dport)
        return seg->sport == c->client_port;
    return seg->src_key == c->client_key;
}

/* ESTABLISHED or a closing state: past the handshake, not closed. */
static bool
synced_state(uint8_t st)
{
    switch (st) {
    case sES: case sF1: case sF2: case sCG: case sTW: case sTC: case sTX: case sCW: case sLA:
        return true;
    default:
        return false;
    }
}

/* SYN_SENT or SYN_RECV: in the handshake. */
static bool
handshake_state(uint8_t st)
{
    return st == sSS || st == sSA || st == sSR || st == sSX;
}

static bool
synchronized(const ts_conn *c)
{
    return synced_state(c->ep[TS_CLIENT].st) && synced_state(c->ep[TS_SERVER].st);
}

static void
set_client(ts_conn *c, const ts_segment *seg, bool sender)
{
    c->client_port = sender ? seg->sport : seg->dport;
    c->client_key = sender ? seg->src_key : seg->dst_key;
}

/* Roles and starting states, from the connection's first segment.
 *  - a SYN without ACK, or any combination no stack sends (a probe): its
 *    sender is the client (CLOSED -> ...), the receiver the server (LISTEN);
 *    after a probe the first valid segment decides (see restart_probed());
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
    if (!ts_flags_valid(f)) {
        set_client(c, seg, true);
        c->ep[TS_CLIENT].st = sCL;
        c->ep[TS_SERVER].st = sLI;
        if (!(f & TS_TH_RST))
            c->flags |= TS_CONN_PROBED;   /* a RST among the flags ends it anyway */
    } else if ((f & TS_TH_SYN) && !(f & TS_TH_ACK)) {
        set_client(c, seg, true);
        c->ep[TS_CLIENT].st = sCL;
        c->ep[TS_SERVER].st = sLI;
    } else if ((f & (TS_TH_SYN | TS_TH_ACK)) == (TS_TH_SYN | TS_TH_ACK)) {
        set_client(c, seg, false);
        c->ep[TS_CLIENT].st = sSS;
        c->ep[TS_CLIENT].flags = TS_EP_SYN;
        c->ep[TS_CLIENT].isn = seg->ack - 1;
        c->ep[TS_SERVER].st = sLI;
    } else {
        set_client(c, seg, seg->sport >= seg->dport);
        c->ep[TS_CLIENT].st = sES;
        c->ep[TS_SERVER].st = sES;
        c->flags |= TS_CONN_MIDSTREAM | TS_CONN_OPENED;
    }
}

/* A connection opened by a probe (illegal flags) waits for its first valid
 * segment.  A SYN, SYN-ACK or RST goes on from CLOSED/LISTEN: the probe
 * opened nothing.  Anything else means the connection was established
 * before the probe (Wireshark starts a new tcp.stream on a SYN without ACK
 * whose sequence number differs, SYN+FIN included): start over mid-stream. */
static bool
restart_probed(ts_conn *c, const ts_segment *seg)
{
    const uint16_t f = seg->flags;

    if (!(c->flags & TS_CONN_PROBED) || !ts_flags_valid(f))
        return false;
    c->flags &= (uint8_t)~TS_CONN_PROBED;
    if (f & (TS_TH_SYN | TS_TH_RST))
        return false;
    const ts_summary sum = c->sum;
    const ts_zeek zeek = c->zeek;
    conn_start(c, seg);
    c->sum = sum;       /* the connection goes on: only our view of it restarts */
    c->zeek = zeek;
    return true;
}

/* Update what is known of both endpoints after the segment. */
static void
learn(ts_endpoint *snd, ts_endpoint *rcv, const ts_segment *seg, const ts_class *cl)
{
    const uint16_t f = seg->flags;

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

/* The sender's events; handshake steps 1 and 2; whether its FIN counted. */
static bool
step_sender(ts_endpoint *snd, const ts_class *cl, ts_record *rec)
{
    bool fin_ok = false;

    for (unsigned i = 0; i < cl->nsend; i++) {
        const ts_event ev = (ts_event)cl->send[i];
        const uint8_t from = snd->st;
        const ts_step_result r = ts_fsm_step(&snd->st, TS_DIR_SEND, ev,
                                             (snd->flags & TS_EP_PASSIVE) != 0);
        if (r == TS_STEP_INVALID) {
            rec->flags |= TS_REC_INVALID;
            continue;
        }
        if (ev == TS_EV_SYN) {
            rec->handshake |= HS(1);
        } else if (ev == TS_EV_SYNACK) {
            rec->handshake |= HS(2);
            if (from == sLI)
                snd->flags |= TS_EP_PASSIVE;
        } else if (ev == TS_EV_FIN || ev == TS_EV_FIN_X) {
            fin_ok = true;
        }
    }
    return fin_ok;
}

/* The receiver's events.  A segment that makes no sense for its sender
 * tells nothing about its receiver (a Linux receiver drops it or answers
 * with a RST), nor does one with a bad checksum (the receiver drops it). */
static void
step_receiver(ts_endpoint *rcv, const ts_class *cl, const ts_record *rec, bool bad_checksum)
{
    if ((rec->flags & TS_REC_INVALID) || bad_checksum)
        return;
    for (unsigned i = 0; i < cl->nrecv; i++)
        (void)ts_fsm_step(&rcv->st, TS_DIR_RECV, (ts_event)cl->recv[i],
                          (rcv->flags & TS_EP_PASSIVE) != 0);
}

static uint8_t
role_closer(int role)
{
    return (uint8_t)(role == TS_CLIENT ? TS_CLOSER_CLIENT : TS_CLOSER_SERVER);
}

/* Teardown steps and the closer, from the FINs and RSTs of the segment. */
static void
note_close(ts_conn *c, int from, const ts_segment *seg, const ts_class *cl,
           bool fin_ok, const before *b, ts_record *rec)
{
    const int to = !from;

    if (cl->acks_fin && !(b->rcv_flags & TS_EP_FIN_ACKED) && (c->ep[to].flags & TS_EP_FIN_STEP))
        rec->teardown |= (c->first_fin == 1 + to) ? TD(2) : TD(4);

    if (seg->flags & TS_TH_RST) {
        c->flags |= TS_CONN_RST;
        if (c->closer == TS_CLOSER_NONE)
            c->closer = role_closer(from);
        return;
    }
    if (!fin_ok)
        return;
    c->ep[from].flags |= TS_EP_FIN_STEP;
    if (c->first_fin == 0) {
        c->first_fin = (uint8_t)(1 + from);
        if (c->closer == TS_CLOSER_NONE)
            c->closer = role_closer(from);
    }
    if (c->first_fin == 1 + from) {
        rec->teardown |= TD(1);
    } else {
        rec->teardown |= TD(3);
        /* The second FIN does not answer the first: the FINs crossed. */
        if (!(b->rcv_flags & TS_EP_FIN_ACKED) && !cl->acks_fin && !(c->flags & TS_CONN_RST))
            c->closer = TS_CLOSER_BOTH;
    }
}

/* Illegal flags: conntrack's table, and no ACK once synchronized. */
static uint8_t
illegal_of(const ts_segment *seg, const ts_class *cl, const before *b)
{
    const uint16_t f = seg->flags;
    uint8_t ill = 0;

    if (!cl->valid_flags)
        ill = TS_ILL_PRESENT;
    else if (b->sync && !(f & (TS_TH_RST | TS_TH_ACK)))
        ill = TS_ILL_PRESENT | TS_ILL_ACK_MISSING;
    return ill ? (uint8_t)(ill | (f & TS_ILL_FLAGS)) : 0;
}

/* Handshake and close anomalies. */
static uint32_t
detect_lifecycle(const ts_conn *c, int from, const ts_segment *seg, const ts_class *cl,
                 const before *b)
{
    const uint16_t f = seg->flags;
    const bool rst = (f & TS_TH_RST) != 0;
    const bool syn = (f & TS_TH_SYN) && !rst;
    uint32_t an = 0;

    if (b->first_fin == 0 && c->first_fin != 0)
        an |= from == TS_CLIENT ? AN(CLIENT_CLOSE) : AN(SERVER_CLOSE);
    /* A RST aborts a connection its sender had; a RST that is the first thing
     * its sender says (mid-stream) answers something it knew nothing of. */
    if (rst && synced_state(b->snd_st) && ts_fsm_display(b->snd_st) != TS_STATE_TIME_WAIT &&
        (b->snd_flags & TS_EP_SENT))
        an |= from == TS_CLIENT ? AN(CLIENT_RESET) : AN(SERVER_RESET);
    if (rst && from == TS_SERVER && b->snd_st == sLI && !(b->rcv_flags & TS_EP_DONE) &&
        (b->rcv_st == sSS || b->rcv_st == sSA || b->rcv_st == sCL))
        an |= AN(REFUSED);
    else if (!(b->conn_flags & TS_CONN_OPENED) && (rst || ((f & TS_TH_FIN) && cl->valid_flags)))
        an |= AN(CLOSE_BEFORE_HANDSHAKE);
    if (syn && cl->valid_flags && seg->len > 0)
        an |= AN(SYN_WITH_DATA);
    if (syn && cl->valid_flags && synced_state(b->snd_st) &&
        (!(f & TS_TH_ACK) || b->snd_st != sES))
        an |= AN(SYN_IN_SYNCHRONIZED);
    /* (CLOSED after LAST_ACK is left by its FIN again: the last ACK never arrived.) */
    if (!rst && (b->snd_st == sCL || (b->snd_st == sLC && c->ep[from].st == sLC)) &&
        (b->snd_flags & TS_EP_DONE))
        an |= AN(SEGMENT_AFTER_CLOSE);
    if (cl->valid_flags && (b->snd_flags & TS_EP_FIN) && seg->len > 0 &&
        !ts_seq_geq(b->snd_fin_seq, seg->seq + seg->len))
        an |= AN(DATA_AFTER_FIN);
    /* The guess of sTX (fsm.h): its FIN again crossed the peer's retransmission. */
    if (b->snd_st == sTX && c->ep[from].st == sTX && (f & TS_TH_FIN) && cl->valid_flags)
        an |= AN(CROSSED_RETRANSMISSION);
    if (cl->valid_flags && (f & TS_TH_ACK) && (b->rcv_flags & TS_EP_FIN) &&
        !ts_seq_geq(b->rcv_fin_seq + 1, seg->ack))
        an |= AN(ACK_BEYOND_FIN);
    return an;
}

/* RST acceptance, challenge ACKs (RFC 5961), half-open handshakes. */
static uint32_t
detect_rfc5961(ts_conn *c, int from, const ts_segment *seg, const ts_class *cl,
               const before *b)
{
    ts_endpoint *snd = &c->ep[from], *rcv = &c->ep[!from];
    const uint16_t f = seg->flags;
    const bool rst = (f & TS_TH_RST) != 0;
    uint32_t an = 0;

    /* The answer owed: its next segment, if a pure ACK, is the challenge ACK. */
    snd->challenge = 0;
    if (b->snd_challenge && (f & (TS_TH_SYN | TS_TH_FIN | TS_TH_RST | TS_TH_ACK)) == TS_TH_ACK &&
        seg->len == 0)
        an |= AN(CHALLENGE_ACK);

    if (rst && !cl->rst_accepted && (snd->flags & TS_EP_SENT) &&
        (synced_state(b->rcv_st) || b->rcv_st == sSR || b->rcv_st == sSX)) {
        if (ts_in_window(snd, rcv, seg->seq)) {
            an |= AN(RST_IN_WINDOW);
            rcv->challenge = 1;
        } else {
            an |= AN(RST_OUT_OF_WINDOW);
        }
    }
    if (rst && cl->rst_accepted && ts_fsm_display(b->rcv_st) == TS_STATE_TIME_WAIT)
        an |= AN(TIME_WAIT_ASSASSINATION);
    /* A SYN without ACK on a synchronized connection draws a challenge ACK. */
    if ((f & (TS_TH_SYN | TS_TH_ACK)) == TS_TH_SYN && !rst && synced_state(b->rcv_st))
        rcv->challenge = 1;

    /* A retransmitted SYN-ACK leaves the handshake half-open until an ACK. */
    if ((f & (TS_TH_SYN | TS_TH_ACK)) == (TS_TH_SYN | TS_TH_ACK) && !rst && cl->valid_flags &&
        (b->snd_st == sSR || b->snd_st == sES) && snd->st == sSR) {
        an |= AN(HALF_OPEN);
        c->flags |= TS_CONN_SYNACK_RETX_PENDING;
    }
    if (synchronized(c))
        c->flags &= (uint8_t)~TS_CONN_SYNACK_RETX_PENDING;
    return an;
}

static void
remember(const ts_conn *c, int from, before *b)
{
    const ts_endpoint *snd = &c->ep[from], *rcv = &c->ep[!from];

    b->snd_st = snd->st;
    b->rcv_st = rcv->st;
    b->snd_flags = snd->flags;
    b->rcv_flags = rcv->flags;
    b->snd_fin_seq = snd->fin_seq;
    b->rcv_fin_seq = rcv->fin_seq;
    b->snd_challenge = snd->challenge;
    b->conn_flags = c->flags;
    b->first_fin = c->first_fin;
    b->sync = synchronized(c);
}

/* What the connection's summary (summary.c) is made of. */
static void
summarize(ts_conn *c, int from, const ts_segment *seg, const ts_class *cl, const before *b,
          const ts_record *rec)
{
    ts_summary *s = &c->sum;
    const uint16_t f = seg->flags;

    if (s->segs[TS_CLIENT] + s->segs[TS_SERVER] == 0)
        s->first = seg->time;
    s->last = (float)(seg->time - s->first);
    s->segs[from]++;
    s->bytes[from] += seg->len;

    if ((f & (TS_TH_SYN | TS_TH_ACK | TS_TH_RST)) == (TS_TH_SYN | TS_TH_ACK) && cl->valid_flags)
        s->flags |= TS_SUM_SYNACK;
    if (rec->anomalies & AN(REFUSED))
        s->flags |= TS_SUM_REFUSED;
    if ((f & TS_TH_RST) && !s->first_rst)
        s->first_rst = (uint8_t)(1 + from);
    if (rec->teardown & (TD(1) | TD(3)))
        s->flags |= TS_SUM_ONE_FIN;
    if ((rec->teardown & TD(3)) && !s->first_rst) {
        s->flags |= TS_SUM_BOTH_FINS;
        if (rec->teardown & TD(2))
            s->flags |= TS_SUM_COMBINED_FIN;
    }
    if (seg->len > 0 && cl->acks_fin && c->first_fin == 1 + !from && !(b->snd_flags & TS_EP_FIN))
        s->flags |= TS_SUM_DATA_AFTER_FIN;
}

/* Zeek's view of the segment (zeek.h); true if Zeek began a new connection
 * with it, the old one then in *before. */
static bool
zeek_view(ts_conn *c, int from, const ts_segment *seg, bool first, ts_zeek *before)
{
    ts_zeek_seg z;
    const double secs = seg->time < 0 ? 0 : seg->time;
    ts_zeek old;

    if (first && from == TS_SERVER)
        c->sum.flags |= TS_SUM_FIRST_SERVER;
    memset(&z, 0, sizeof z);
    z.ts_sec = (int64_t)secs;
    z.ts_nsec = (uint32_t)((secs - (double)z.ts_sec) * 1e9);
    z.seq = seg->seq;
    z.ack = seg->ack;
    z.len = seg->len;
    z.flags = (uint16_t)(seg->flags & 0x3F);
    z.win = (uint16_t)(seg->win > 0xFFFF ? 0xFFFF : seg->win);
    z.sport = seg->sport;
    z.dport = seg->dport;
    z.from_first = (from == TS_SERVER) == !!(c->sum.flags & TS_SUM_FIRST_SERVER);
    z.truncated = seg->truncated;
    z.bad_checksum = seg->bad_checksum && !seg->truncated;
    old = c->zeek;
    if (!(ts_zeek_segment(&c->zeek, &z) & TS_ZEEK_NEW) || first)
        return false;
    if (before)
        *before = old;
    return true;
}

/* An endpoint that was open and is now CLOSED is done with the connection. */
static void
mark_done(ts_endpoint *ep, uint8_t st_before)
{
    if (ts_fsm_display(ep->st) == TS_STATE_CLOSED && ts_fsm_display(st_before) != TS_STATE_CLOSED)
        ep->flags |= TS_EP_DONE;
}

unsigned
ts_conn_track(ts_conn *c, const ts_segment *seg, ts_record *rec, ts_zeek *zeek_before)
{
    ts_class cl;
    before b;
    unsigned track = 0;

    memset(rec, 0, sizeof *rec);
    if (!(c->flags & TS_CONN_USED)) {
        conn_start(c, seg);
        rec->flags |= TS_REC_FIRST;
        if ((seg->flags & (TS_TH_SYN | TS_TH_ACK | TS_TH_RST)) == TS_TH_SYN &&
            ts_flags_valid(seg->flags)) {
            c->flags |= TS_CONN_HALF_OPEN;
            track |= TS_TRACK_HALF_OPEN_BEGIN;
        }
    }

    rec->prev[TS_CLIENT] = (uint8_t)ts_fsm_display(c->ep[TS_CLIENT].st);
    rec->prev[TS_SERVER] = (uint8_t)ts_fsm_display(c->ep[TS_SERVER].st);
    const bool first_segment = (rec->flags & TS_REC_FIRST) != 0;
    if (restart_probed(c, seg))
        rec->flags |= TS_REC_FIRST;

    const int from = ts_conn_from_client(c, seg) ? TS_CLIENT : TS_SERVER;
    ts_endpoint *snd = &c->ep[from];
    ts_endpoint *rcv = &c->ep[!from];

    remember(c, from, &b);

    ts_classify(snd, rcv, seg, &cl);
    const bool fin_ok = step_sender(snd, &cl, rec);
    step_receiver(rcv, &cl, rec, seg->bad_checksum);
    mark_done(snd, b.snd_st);
    mark_done(rcv, b.rcv_st);
    note_close(c, from, seg, &cl, fin_ok, &b, rec);
    learn(snd, rcv, seg, &cl);

    /* Step 3: the segment after which both endpoints are synchronized, out
     * of the handshake (again, for the answer to a retransmitted SYN-ACK;
     * not for a LAST_ACK endpoint's FIN again after its last ACK). */
    if (!b.sync && synchronized(c) && (handshake_state(b.snd_st) || handshake_state(b.rcv_st))) {
        c->flags |= TS_CONN_OPENED;
        rec->handshake |= HS(3);
    }

    rec->illegal = illegal_of(seg, &cl, &b);
    rec->anomalies = detect_lifecycle(c, from, seg, &cl, &b) |
                     detect_rfc5961(c, from, seg, &cl, &b);
    if (rec->illegal)
        rec->anomalies |= AN(ILLEGAL_FLAGS);
    if (seg->flags & TS_TH_RES)
        rec->anomalies |= AN(RESERVED_BITS);
    if (rec->handshake)
        rec->anomalies |= AN(HANDSHAKE_STEP);
    if (rec->teardown)
        rec->anomalies |= AN(TEARDOWN_STEP);
    if ((rec->flags & TS_REC_FIRST) && (c->flags & TS_CONN_MIDSTREAM))
        rec->anomalies |= AN(ROLES_GUESSED);
    if ((rec->flags & TS_REC_INVALID) &&
        !(rec->anomalies & (AN(SEGMENT_AFTER_CLOSE) | AN(SYN_IN_SYNCHRONIZED) |
                            AN(CLOSE_BEFORE_HANDSHAKE))))
        rec->anomalies |= AN(UNEXPECTED_SEGMENT);

    summarize(c, from, seg, &cl, &b, rec);
    if (zeek_view(c, from, seg, first_segment, zeek_before))
        track |= TS_TRACK_ZEEK_NEW;

    if ((c->flags & TS_CONN_HALF_OPEN) &&
        (synchronized(c) || ts_fsm_display(c->ep[TS_CLIENT].st) == TS_STATE_CLOSED ||
         ts_fsm_display(c->ep[TS_SERVER].st) == TS_STATE_CLOSED)) {
        c->flags &= (uint8_t)~TS_CONN_HALF_OPEN;
        track |= TS_TRACK_HALF_OPEN_END;
    }

    rec->stream = seg->stream;
    rec->state[TS_CLIENT] = (uint8_t)ts_fsm_display(c->ep[TS_CLIENT].st);
    rec->state[TS_SERVER] = (uint8_t)ts_fsm_display(c->ep[TS_SERVER].st);
    rec->flags |= TS_REC_VALID | (uint8_t)(c->closer << TS_REC_CLOSER_SHIFT);
    if (from == TS_SERVER)
        rec->flags |= TS_REC_FROM_SERVER;
    if (c->flags & TS_CONN_MIDSTREAM)
        rec->flags |= TS_REC_MIDSTREAM;
    return track;
}
