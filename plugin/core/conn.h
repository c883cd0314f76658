/* conn.h - one TCP connection's lifecycle as tcpstate sees it
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Pure C99: no Wireshark, no GLib.  The dissector turns each TCP segment
 * into a ts_segment, finds the ts_conn of its tcp.stream and calls
 * ts_conn_track(), which classifies the segment (classify.c), steps both
 * endpoints' state machines (fsm.c) and fills a small, immutable
 * ts_record for the packet.
 */
#ifndef TCPSTATE_CONN_H
#define TCPSTATE_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "anomalies.h"
#include "fsm.h"
#include "summary.h"
#include "zeek.h"

/* Roles.  Index into ts_conn.ep and ts_record.state. */
enum { TS_CLIENT = 0, TS_SERVER = 1 };

/* TCP header flag bits, as in Wireshark's tcp.flags (12 bits). */
#define TS_TH_FIN  0x001
#define TS_TH_SYN  0x002
#define TS_TH_RST  0x004
#define TS_TH_PSH  0x008
#define TS_TH_ACK  0x010
#define TS_TH_URG  0x020
#define TS_TH_ECE  0x040
#define TS_TH_CWR  0x080
#define TS_TH_AE   0x100   /* AccECN, formerly NS (RFC 3540, historic) */
#define TS_TH_RES  0xE00   /* reserved */

/* One TCP segment, as read from the dissection.  Lifetime: one call. */
typedef struct ts_segment {
    double   time;      /* frame time, seconds since the epoch */
    uint32_t stream;    /* tcp.stream */
    uint32_t seq;       /* tcp.seq_raw */
    uint32_t ack;       /* tcp.ack_raw */
    uint32_t len;       /* tcp.len: payload bytes */
    uint32_t win;       /* tcp.window_size: scaled when the scale is known */
    uint64_t src_key;   /* identity of the source address (a hash) */
    uint64_t dst_key;   /* identity of the destination address */
    uint16_t flags;     /* TS_TH_* */
    uint16_t sport;
    uint16_t dport;
    bool     truncated; /* the frame was not captured whole (snaplen) */
    bool     bad_checksum;  /* verified bad (tcp.check_checksum): the receiver drops it */
    bool     from_tree; /* read from the protocol tree, not from TCP's tap */
} ts_segment;

/* What the observer knows of one endpoint.  Lifetime: the connection's. */
typedef struct ts_endpoint {
    uint32_t isn;       /* sequence number of its latest SYN      (TS_EP_SYN) */
    uint32_t fin_seq;   /* sequence number its FIN occupies       (TS_EP_FIN) */
    uint32_t snd_nxt;   /* highest seq+len(+SYN,+FIN) it sent     (TS_EP_SENT) */
    uint32_t win;       /* last window it advertised              (TS_EP_SENT) */
    uint8_t  st;        /* internal state, ts_fsm_state */
    uint8_t  flags;     /* TS_EP_* */
    uint8_t  challenge; /* it owes a challenge ACK (RFC 5961): its next segment */
} ts_endpoint;

#define TS_EP_SENT       0x01  /* it sent at least one valid segment */
#define TS_EP_SYN        0x02  /* it sent a SYN (or one is implied by a SYN-ACK) */
#define TS_EP_FIN        0x04  /* it sent a FIN */
#define TS_EP_DONE       0x08  /* it was open, then became CLOSED */
#define TS_EP_FIN_ACKED  0x10  /* its FIN was acked */
#define TS_EP_PASSIVE    0x20  /* it opened passively (LISTEN -> SYN_RECV) */
#define TS_EP_ACTIVE     0x40  /* it sent a bare SYN */
#define TS_EP_FIN_STEP   0x80  /* its FIN was a teardown step (valid for it) */

/* Who closed: ts_record closer bits and ts_conn.closer. */
typedef enum ts_closer {
    TS_CLOSER_NONE   = 0,
    TS_CLOSER_CLIENT = 1,
    TS_CLOSER_SERVER = 2,
    TS_CLOSER_BOTH   = 3    /* simultaneous close: the FINs crossed */
} ts_closer;

/* One connection (one tcp.stream).  Lifetime: the capture file; created on
 * its first segment in the first pass, never changed after that pass. */
typedef struct ts_conn {
    ts_summary  sum;        /* outcome, timings, counters (summary.h) */
    ts_zeek     zeek;       /* Zeek's conn_state and history (zeek.h) */
    ts_endpoint ep[2];      /* [TS_CLIENT], [TS_SERVER] */
    uint64_t client_key;    /* client's address identity (equal ports only) */
    uint32_t flood_server;  /* the SYN-flood detector's index of the server */
    uint16_t client_port;
    uint8_t  flags;         /* TS_CONN_* */
    uint8_t  closer : 2;    /* ts_closer */
    uint8_t  first_fin : 2; /* 0, or 1 + role of the first FIN's sender */
    uint8_t  spare : 4;
} ts_conn;                  /* 120 bytes (bench.py measures it) */

#define TS_CONN_USED       0x01  /* initialised by its first segment */
#define TS_CONN_MIDSTREAM  0x02  /* no SYN seen: roles by port, states assumed */
#define TS_CONN_OPENED     0x04  /* both endpoints were synchronized at some point */
#define TS_CONN_RST        0x08  /* a RST was sent */
#define TS_CONN_HALF_OPEN  0x10  /* a SYN opened it and the handshake is not over */
#define TS_CONN_SYNACK_RETX_PENDING 0x20  /* a SYN-ACK was retransmitted, no ACK since */
#define TS_CONN_FLOOD_COUNTED 0x40  /* counted half-open by the SYN-flood detector */
#define TS_CONN_PROBED     0x80  /* opened by a segment with illegal flags: roles and
                                    states wait for the first valid segment */

/* The per-packet result.  16 bytes, immutable once the first pass made it;
 * every later pass (GUI clicks, retaps, tshark -2) only renders it. */
typedef struct ts_record {
    uint32_t stream;        /* tcp.stream */
    uint32_t anomalies;     /* TS_AN_BIT(...) of ts_anomaly (anomalies.h) */
    uint8_t  state[2];      /* ts_state after this segment: [TS_CLIENT], [TS_SERVER] */
    uint8_t  prev[2];       /* ts_state before this segment */
    uint8_t  handshake;     /* bit (1 << n) for handshake step n = 1..3 */
    uint8_t  teardown;      /* bit (1 << n) for teardown step n = 1..4 */
    uint8_t  flags;         /* TS_REC_*, and the closer in the top two bits */
    uint8_t  illegal;       /* 0, or TS_ILL_PRESENT | the segment's SYN..URG bits | TS_ILL_ACK_MISSING */
} ts_record;

#define TS_REC_VALID        0x01  /* a record of a real segment */
#define TS_REC_FROM_SERVER  0x02  /* sender is the server (else the client) */
#define TS_REC_MIDSTREAM    0x04  /* the connection's roles and states are guessed */
#define TS_REC_FIRST        0x08  /* first segment of its connection (or of its
                                     mid-stream restart after a probe) */
#define TS_REC_QUOTED       0x10  /* only a TCP header quoted in an ICMP error */
#define TS_REC_INVALID      0x20  /* a transition was invalid for the sender */
#define TS_REC_CLOSER_SHIFT 6     /* ts_closer, once the first FIN or RST was seen */
#define TS_REC_CLOSER(r)    ((ts_closer)(((r)->flags >> TS_REC_CLOSER_SHIFT) & 3u))

#define TS_ILL_FLAGS        0x3F  /* FIN SYN RST PSH ACK URG, as in TCP */
#define TS_ILL_PRESENT      0x40
#define TS_ILL_ACK_MISSING  0x80  /* no ACK in a synchronized connection */

/* What ts_conn_track() tells the SYN-flood detector. */
#define TS_TRACK_HALF_OPEN_BEGIN 0x01  /* a SYN opened a half-open connection */
#define TS_TRACK_HALF_OPEN_END   0x02  /* it is no longer half-open */
#define TS_TRACK_ZEEK_NEW        0x04  /* Zeek would have ended its connection before
                                          this segment and begun a new one (zeek.h) */

/* Track one segment of c and fill rec; returns TS_TRACK_* bits.  c must be
 * zeroed before its first segment.  With TS_TRACK_ZEEK_NEW, *zeek_before
 * (if not NULL) holds the Zeek connection that ended. */
unsigned ts_conn_track(ts_conn *c, const ts_segment *seg, ts_record *rec, ts_zeek *zeek_before);

/* Whether a stored record's half-open anomaly still holds: no handshake
 * ACK came after the SYN-ACK retransmission, as far as the first pass has
 * gone. */
static inline int ts_conn_half_open_pending(const ts_conn *c)
{
    return (c->flags & TS_CONN_SYNACK_RETX_PENDING) != 0;
}

/* True if seg was sent by c's client. */
bool ts_conn_from_client(const ts_conn *c, const ts_segment *seg);

/* The connection's summary classes, so far (final after the first pass). */
ts_outcome ts_conn_outcome(const ts_conn *c);
ts_close_style ts_conn_close_style(const ts_conn *c);
static inline ts_closer ts_conn_closer(const ts_conn *c) { return (ts_closer)c->closer; }

#endif /* TCPSTATE_CONN_H */
