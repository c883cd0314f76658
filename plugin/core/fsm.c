/* fsm.c - the per-endpoint TCP state machine of tcpstate (see fsm.h)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "fsm.h"

#include <stddef.h>

/*
 * The table, shaped like Linux conntrack's tcp_conntracks[dir][event][state].
 * Columns are the endpoint's internal state before the event:
 *
 *            sCL  sLI  sSS  sSA  sSR  sSX  sES  sF1  sF2  sCG  sTW  sTC  sTX  sCW  sLA  sLC
 *
 * "Resync" cells: an endpoint's own segment is the best evidence of its
 * state, so it corrects what the observer assumed (e.g. a retransmitted FIN
 * proves that the earlier ACK of it never arrived).
 */
const uint8_t ts_fsm_table[TS_NDIRS][TS_NEVENTS][TS_FSM_NSTATES] = {
[TS_DIR_SEND] = {
/* SYN */       { sSS, sSS, sSS, sSS, sIV, sSS, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sSS },
/*  CL,LI: active open (from LISTEN: simultaneous open).  SS: retransmission.
 *  SA,SX: resync - a bare SYN again means the SYN-ACK never arrived.
 *  Synchronized states: a SYN there is invalid (RFC 9293 3.10.7.4, RFC 5961).
 *  LC: CLOSED, as CL. */
/* SYNACK */    { sIV, sSR, sSR, sIV, sSR, sES, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV },
/*  LI: passive open.  SS: simultaneous open, own SYN not acked yet.
 *  SR: retransmission.  SX: simultaneous open, own SYN already acked, so the
 *  answer completes it.  ES: resync - a retransmitted SYN-ACK proves the
 *  handshake ACK never arrived. */
/* ACK_SYN */   { sIV, sIV, sES, sES, sSR, sES, sES, sF1, sF2, sCG, sTW, sTC, sTX, sCW, sLA, sIV },
/*  SA: the third segment of the handshake.  SX: the answer completes a
 *  crossed open.  SS: resync - answering without a SYN means its own SYN was
 *  acked by a segment we did not capture.  SR: data in SYN_RECV (TCP Fast
 *  Open) changes nothing.  Later states: every segment acks the SYN.
 *  CL,LC: a closed endpoint has nothing to ack. */
/* ACK_SYN_X */ { sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV },
/*  never produced for a sender: crossing only matters to the receiver. */
/* FIN */       { sIV, sIV, sIV, sIV, sF1, sIV, sF1, sF1, sF1, sCG, sIV, sCG, sTX, sLA, sLA, sLA },
/*  ES: active close.  CW: passive close.  SR: close in SYN_RECV (RFC 9293).
 *  F1,CG,LA: retransmission.  F2,TC,LC: resync - a retransmitted FIN proves
 *  the ACK of it never arrived (F2 -> FIN_WAIT1, TC -> CLOSING, LC ->
 *  LAST_ACK).  TX: its retransmission crossed the peer's, which acked it:
 *  still TIME_WAIT.  TW: its FIN was acked by the FIN it answered, so a
 *  FIN again is invalid.  SS,SA,SX: FIN before the handshake completed is
 *  invalid (a FIN that also acks the peer's SYN moves to ES first). */
/* FIN_X */     { sIV, sIV, sIV, sIV, sF1, sIV, sCG, sF1, sF1, sCG, sIV, sCG, sTX, sLA, sLA, sLA },
/*  a FIN: ES: the FINs crossed - the peer's FIN, on the wire before this
 *  one and not acked by it, reaches the endpoint in FIN_WAIT1: CLOSING.
 *  Elsewhere as FIN (SR: a SYN_RECV endpoint never had the peer's FIN). */
/* ACK_FIN */   { sIV, sIV, sIV, sIV, sIV, sIV, sCW, sCG, sTW, sCG, sTW, sTC, sTX, sCW, sLA, sIV },
/*  ES: answers the first FIN.  F1: answers the peer's FIN after its own
 *  FIN again (resync from FIN_WAIT2).  F2: answers the second FIN.
 *  CG,TW,TC,TX,CW,LA: repeated ACKs. */
/* ACK_FIN_X */ { sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV },
/*  never produced for a sender. */
/* RST */       { sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL },
/*  a sender that resets is done with the connection, whatever its state. */
},
[TS_DIR_RECV] = {
/* SYN */       { sIG, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sIG },
/*  a received SYN shows when the receiver answers it. */
/* SYNACK */    { sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV },
/*  never produced for a receiver: it gets SYN plus ACK_SYN. */
/* ACK_SYN */   { sIG, sIG, sSA, sSA, sES, sSX, sES, sF1, sF2, sCG, sTW, sTC, sTX, sCW, sLA, sIG },
/*  SS: the SYN-ACK acks our SYN; its SYN needs our answer, so SYN_SENT stays.
 *  SR: the handshake ACK. */
/* ACK_SYN_X */ { sIG, sIG, sSX, sSA, sES, sSX, sES, sF1, sF2, sCG, sTW, sTC, sTX, sCW, sLA, sIG },
/*  SS: simultaneous open - the peer's SYN came earlier, so the endpoint was
 *  already SYN_RECV when this ACK of its own SYN arrived.  SR: the handshake
 *  ACK (the usual case: the client's SYN came earlier). */
/* FIN */       { sIG, sIG, sIG, sIG, sIG, sIG, sIG, sCG, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sIG },
/*  a received FIN shows when the receiver answers it, but F1: a FIN that
 *  does not ack the endpoint's own (that ACK, if any, came first) - the
 *  FINs crossed: CLOSING at once. */
/* FIN_X */     { sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV },
/*  never produced for a receiver: it gets FIN. */
/* ACK_FIN */   { sIG, sIG, sIG, sIG, sIG, sIG, sIG, sF2, sF2, sTC, sTW, sTC, sTX, sIG, sLC, sIG },
/*  F1: our FIN acked (a FIN+ACK's own FIN still needs our answer).  CG: the
 *  end of a simultaneous close.  LA: the last ACK. */
/* ACK_FIN_X */ { sIG, sIG, sIG, sIG, sIG, sIG, sIG, sF2, sF2, sTX, sTW, sTX, sTX, sIG, sLC, sIG },
/*  the ACK of our FIN comes with the peer's FIN again.  CG,TC: both FINs
 *  were retransmitted after a simultaneous close (their timers started
 *  together): TIME_WAIT, and a FIN of ours that follows crossed this one.
 *  F1: as ACK_FIN (the FIN in it shows with our answer).  LA: the last ACK. */
/* RST */       { sCL, sLI, sCL, sCL, sBK, sBK, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL },
/*  an acceptable RST aborts the connection; a listener ignores RSTs; in
 *  SYN_RECV it returns to where the endpoint started (RFC 9293 3.10.7.4).
 *  TW,TC,TX: TIME-WAIT assassination (RFC 1337; Linux's default
 *  tcp_rfc1337=0). */
},
};

#ifdef TS_FSM_COVERAGE
/* Unit tests only: how often each cell was looked up. */
unsigned long ts_fsm_hits[TS_NDIRS][TS_NEVENTS][TS_FSM_NSTATES];
#endif

ts_step_result
ts_fsm_step(uint8_t *st, ts_dir dir, ts_event ev, bool passive_open)
{
    uint8_t next;

    if (*st >= TS_FSM_NSTATES || (unsigned)dir >= TS_NDIRS || (unsigned)ev >= TS_NEVENTS)
        return TS_STEP_INVALID;

#ifdef TS_FSM_COVERAGE
    ts_fsm_hits[dir][ev][*st]++;
#endif
    next = ts_fsm_table[dir][ev][*st];
    switch (next) {
    case sIV:
        return TS_STEP_INVALID;
    case sIG:
        return TS_STEP_IGNORED;
    case sBK:
        next = passive_open ? sLI : sCL;
        break;
    default:
        break;
    }
    if (next == *st)
        return TS_STEP_SAME;
    *st = next;
    return TS_STEP_MOVED;
}

static const uint8_t display_of[TS_FSM_NSTATES] = {
    [sCL] = TS_STATE_CLOSED,      [sLI] = TS_STATE_LISTEN,
    [sSS] = TS_STATE_SYN_SENT,    [sSA] = TS_STATE_SYN_SENT,
    [sSR] = TS_STATE_SYN_RECV,    [sSX] = TS_STATE_SYN_RECV,
    [sES] = TS_STATE_ESTABLISHED, [sF1] = TS_STATE_FIN_WAIT1,
    [sF2] = TS_STATE_FIN_WAIT2,   [sCG] = TS_STATE_CLOSING,
    [sTW] = TS_STATE_TIME_WAIT,   [sTC] = TS_STATE_TIME_WAIT,
    [sTX] = TS_STATE_TIME_WAIT,   [sCW] = TS_STATE_CLOSE_WAIT,
    [sLA] = TS_STATE_LAST_ACK,    [sLC] = TS_STATE_CLOSED,
};

ts_state
ts_fsm_display(uint8_t st)
{
    return st < TS_FSM_NSTATES ? (ts_state)display_of[st] : TS_STATE_NONE;
}

static const char *const state_names[TS_STATE_MAX + 1] = {
    [TS_STATE_NONE] = "NONE",
#define TS_STATE_NAME(name, value) [value] = #name,
    TS_STATES(TS_STATE_NAME)
#undef TS_STATE_NAME
};

const char *
ts_state_name(ts_state s)
{
    return (unsigned)s <= TS_STATE_MAX ? state_names[s] : "?";
}

static const char *const alias_names[sBK + 1] = {
    "sCL", "sLI", "sSS", "sSA", "sSR", "sSX", "sES", "sF1", "sF2",
    "sCG", "sTW", "sTC", "sTX", "sCW", "sLA", "sLC", "sIV", "sIG", "sBK",
};

const char *
ts_fsm_state_alias(uint8_t st)
{
    return st <= sBK ? alias_names[st] : "?";
}

static const char *const event_names[TS_NEVENTS] = {
    "SYN", "SYNACK", "ACK_SYN", "ACK_SYN_X", "FIN", "FIN_X", "ACK_FIN", "ACK_FIN_X", "RST",
};

const char *
ts_event_name(ts_event ev)
{
    return (unsigned)ev < TS_NEVENTS ? event_names[ev] : "?";
}

const char *
ts_dir_name(ts_dir dir)
{
    return dir == TS_DIR_SEND ? "send" : dir == TS_DIR_RECV ? "recv" : "?";
}
