/* fsm.h - the per-endpoint TCP state machine of tcpstate
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Pure C99: no Wireshark, no GLib.  Unit-tested on its own (tests/unit).
 *
 * The observer ("man in the middle", as Linux conntrack puts it) sees
 * segments, not endpoints.  It tracks one state per endpoint and moves it
 * only on what the capture shows:
 *   (a) a segment the endpoint sends;
 *   (b) a segment it receives that needs no answer: an ACK that covers its
 *       SYN or its FIN, or a RST it would accept.
 * A received SYN or FIN shows up in the receiver's state when the
 * receiver's answer is captured -- except a FIN that crosses the
 * receiver's own (both FINs on the wire, neither acknowledging the other):
 * both endpoints are CLOSING once the second of them is captured, as the
 * kernel is whether or not its answer survives (docs/fields.md).
 * A captured segment is taken as delivered; a later segment of the
 * receiver that contradicts that (a retransmission) corrects it.
 *
 * Each segment is first classified into events (classify.c).  Each event
 * is one lookup in ts_fsm_table[dir][event][state]; the pseudo-states
 * sIV (invalid), sIG (ignore) and sBK (back to the initial state) are
 * resolved in one place, ts_fsm_step().
 */
#ifndef TCPSTATE_FSM_H
#define TCPSTATE_FSM_H

#include <stdbool.h>
#include <stdint.h>

/* Displayed states.  The values are Linux's TCP_* constants, i.e. the "st"
 * column of /proc/net/tcp; the labels are netstat's.  One list, from which
 * the enum, ts_state_name() and the dissector's value_string are made. */
#define TS_STATES(X)          \
    X(ESTABLISHED,  1)        \
    X(SYN_SENT,     2)        \
    X(SYN_RECV,     3)        \
    X(FIN_WAIT1,    4)        \
    X(FIN_WAIT2,    5)        \
    X(TIME_WAIT,    6)        \
    X(CLOSED,       7)        \
    X(CLOSE_WAIT,   8)        \
    X(LAST_ACK,     9)        \
    X(LISTEN,      10)        \
    X(CLOSING,     11)

typedef enum ts_state {
    TS_STATE_NONE = 0,        /* not tracked (never shown for a segment) */
#define TS_STATE_ENUM(name, value) TS_STATE_##name = value,
    TS_STATES(TS_STATE_ENUM)
#undef TS_STATE_ENUM
    TS_STATE_MAX = 11
} ts_state;

/* Internal states: the displayed states, some split by what the endpoint
 * still owes or awaits, or by how it got there (which decides what a
 * retransmission of its own FIN means).  Each maps to one displayed state. */
typedef enum ts_fsm_state {
    sCL,  /* CLOSED */
    sLI,  /* LISTEN */
    sSS,  /* SYN_SENT: own SYN not acked yet */
    sSA,  /* SYN_SENT: own SYN acked by a SYN-ACK, answer not seen yet */
    sSR,  /* SYN_RECV: answered the peer's SYN, own SYN not acked yet */
    sSX,  /* SYN_RECV: crossed open; own SYN acked, peer's earlier SYN not answered yet */
    sES,  /* ESTABLISHED */
    sF1,  /* FIN_WAIT1 */
    sF2,  /* FIN_WAIT2 */
    sCG,  /* CLOSING: has the peer's FIN, own FIN not acked yet */
    sTW,  /* TIME_WAIT: answered the peer's FIN after its own FIN was acked */
    sTC,  /* TIME_WAIT from CLOSING: own FIN acked by a segment that needs no answer
             (an ACK); its FIN again means that ACK never arrived */
    sTX,  /* TIME_WAIT from CLOSING: own FIN acked by the peer's retransmitted FIN;
             its FIN again crossed that retransmission */
    sCW,  /* CLOSE_WAIT */
    sLA,  /* LAST_ACK */
    sLC,  /* CLOSED after LAST_ACK: its FIN was acked; its FIN again means that ACK
             never arrived */
    TS_FSM_NSTATES,
    /* pseudo-states: table results only, never stored */
    sIV = TS_FSM_NSTATES,  /* invalid: this segment makes no sense here; state kept */
    sIG,                   /* ignore: nothing the observer can conclude; state kept */
    sBK                    /* back to where the endpoint started: LISTEN after a
                              passive open, CLOSED otherwise (RFC 9293 3.10.7.4) */
} ts_fsm_state;

/* Which side of the segment the endpoint is on. */
typedef enum ts_dir {
    TS_DIR_SEND = 0,
    TS_DIR_RECV = 1,
    TS_NDIRS
} ts_dir;

/* Events: what one segment means for one endpoint.  "_X" (crossed)
 * variants: the peer's SYN/FIN was captured in an earlier segment
 * (simultaneous open/close, retransmissions). */
typedef enum ts_event {
    TS_EV_SYN,        /* send: bare SYN (new or retransmitted); recv: a SYN arrives */
    TS_EV_SYNACK,     /* send: SYN+ACK (send only) */
    TS_EV_ACK_SYN,    /* send: answers the peer's SYN; recv: own SYN acked */
    TS_EV_ACK_SYN_X,  /* recv: own SYN acked, peer's SYN seen earlier */
    TS_EV_FIN,        /* send: FIN (new or retransmitted); recv: a FIN arrives */
    TS_EV_FIN_X,      /* send: a new FIN that does not ack the peer's FIN seen earlier:
                         the FINs crossed */
    TS_EV_ACK_FIN,    /* send: answers the peer's FIN; recv: own FIN acked */
    TS_EV_ACK_FIN_X,  /* recv: own FIN acked by the peer's retransmitted FIN (seen earlier) */
    TS_EV_RST,        /* send: RST; recv: a RST the endpoint would accept */
    TS_NEVENTS
} ts_event;

/* Result of one step. */
typedef enum ts_step_result {
    TS_STEP_MOVED,    /* the state changed */
    TS_STEP_SAME,     /* the table keeps the state (normal no-op) */
    TS_STEP_IGNORED,  /* sIG */
    TS_STEP_INVALID   /* sIV */
} ts_step_result;

/* The transition table: ts_fsm_table[dir][event][state] -> state or pseudo-state. */
extern const uint8_t ts_fsm_table[TS_NDIRS][TS_NEVENTS][TS_FSM_NSTATES];

/* Apply one event.  *st is an internal state (< TS_FSM_NSTATES);
 * passive_open says where sBK returns to (LISTEN if true, else CLOSED). */
ts_step_result ts_fsm_step(uint8_t *st, ts_dir dir, ts_event ev, bool passive_open);

/* Internal state -> displayed state. */
ts_state ts_fsm_display(uint8_t st);

/* Names, for tests, docs and diagrams. */
const char *ts_state_name(ts_state s);      /* "ESTABLISHED", ... ; "?" if unknown */
const char *ts_fsm_state_alias(uint8_t st); /* "sES", ... including pseudo-states */
const char *ts_event_name(ts_event ev);     /* "SYN", "ACK_FIN_X", ... */
const char *ts_dir_name(ts_dir dir);        /* "send", "recv" */

#endif /* TCPSTATE_FSM_H */
