/* classify.h - from one TCP segment to state-machine events
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Pure C99: no Wireshark, no GLib.
 */
#ifndef TCPSTATE_CLASSIFY_H
#define TCPSTATE_CLASSIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "fsm.h"

#define TS_MAX_EVENTS 3

/* What one segment means, for its sender and for its receiver, in the order
 * the events apply (an ACK before the FIN it rides with, as a stack does).
 * Lifetime: one segment. */
typedef struct ts_class {
    uint8_t nsend;
    uint8_t nrecv;
    uint8_t send[TS_MAX_EVENTS];   /* ts_event, for the sender's TS_DIR_SEND */
    uint8_t recv[TS_MAX_EVENTS];   /* ts_event, for the receiver's TS_DIR_RECV */
    bool    valid_flags;           /* a combination a TCP stack sends */
    bool    acks_syn;              /* the ack covers the receiver's SYN */
    bool    acks_fin;              /* the ack covers the receiver's FIN */
    bool    rst_accepted;          /* a RST the receiver would accept */
} ts_class;

/* Linux conntrack's tcp_valid_flags: PSH, ECE, CWR (and AE, reserved) masked
 * off, then only SYN, SYN+URG, SYN+ACK, RST, RST+ACK, FIN+ACK, FIN+ACK+URG,
 * ACK and ACK+URG are valid. */
bool ts_flags_valid(uint16_t flags);

/* Serial-number comparison (RFC 1982): a >= b. */
static inline bool ts_seq_geq(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) >= 0;
}

/* The name of an illegal combination (ts_record.illegal), e.g. "SYN+FIN",
 * "NULL (NULL scan)", "FIN+PSH+URG (Xmas scan)", "FIN without ACK (FIN
 * scan)", "SYN (ACK missing)".  Writes at most len bytes, NUL included. */
void ts_illegal_name(uint8_t illegal, char *buf, unsigned len);

/* Is seq inside the window the receiver offers the sender (RCV.NXT <= seq
 * < RCV.NXT + RCV.WND, with RCV.NXT taken as the sender's snd_nxt)? */
bool ts_in_window(const ts_endpoint *snd, const ts_endpoint *rcv, uint32_t seq);

/* Would rcv accept a RST in seg from snd?  RFC 9293 3.10.7 with RFC 5961:
 * in SYN_SENT the RST must ack our SYN; otherwise its sequence number must
 * be exactly the next one expected (Linux also accepts RCV.NXT-1 after a
 * FIN); in SYN_RECV anywhere in the window.  A sender the capture never saw
 * is assumed in sync.  (What LISTEN and CLOSED do with it is the table's
 * business.) */
bool ts_rst_acceptable(const ts_endpoint *snd, const ts_endpoint *rcv, const ts_segment *seg);

/* Classify seg, sent by snd to rcv, given what is known before it. */
void ts_classify(const ts_endpoint *snd, const ts_endpoint *rcv, const ts_segment *seg,
                 ts_class *out);

#endif /* TCPSTATE_CLASSIFY_H */
