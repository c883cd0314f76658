/* zeek.h - emulation of Zeek's conn.log conn_state and history
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Pure C99 (stdint, stdbool, string): no Wireshark, no GLib.
 *
 * Feed every TCP segment of one connection (one Wireshark tcp.stream), in
 * capture order, to ts_zeek_segment().  After any segment,
 * ts_zeek_conn_state() and ts_zeek_history() give what Zeek's conn.log
 * would say for the Zeek connection that segment belongs to, if the
 * capture ended there.  The emulation follows Zeek's TCP analyzer
 * (src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc, TCP.cc,
 * src/analyzer/protocol/tcp/TCP_Endpoint.cc, TCP_Reassembler.cc) and
 * conn_state() in scripts/base/protocols/conn/main.zeek, as far as a
 * passive, per-segment, 24-byte emulation allows.  docs/zeek-mapping.md
 * lists every rule, every approximation and the agreement with Zeek's
 * own test baselines.
 *
 * One tcp.stream can be several Zeek connections: Zeek forgets a
 * connection when one of its timers expires (attempt 5 s, close/reset
 * delay 5 s, partial close 3 s, inactivity 1 min / 5 min / 1 h) or when a
 * SYN reuses the 4-tuple, and the next segment then starts a new one.
 * ts_zeek_segment() emulates that and says so by returning TS_ZEEK_NEW;
 * the state then describes the new Zeek connection.
 *
 * The struct is 24 bytes, zero-initialised before the first segment, and
 * every call is O(1).  Its fields are bit-packed (layout below); use the
 * accessors, not the fields.
 */
#ifndef TCPSTATE_ZEEK_H
#define TCPSTATE_ZEEK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* TCP flag bits, as in Wireshark's tcp.flags. */
#define TS_ZEEK_FIN 0x01
#define TS_ZEEK_SYN 0x02
#define TS_ZEEK_RST 0x04
#define TS_ZEEK_PSH 0x08
#define TS_ZEEK_ACK 0x10
#define TS_ZEEK_URG 0x20

/* Zeek's endpoint states (the numeric values of Zeek's TCP_INACTIVE ...
 * TCP_RESET, as in c$orig$state). */
enum ts_zeek_ep_state {
    TS_ZEEK_INACTIVE = 0,
    TS_ZEEK_SYN_SENT = 1,
    TS_ZEEK_SYN_ACK_SENT = 2,
    TS_ZEEK_PARTIAL = 3,
    TS_ZEEK_ESTABLISHED = 4,
    TS_ZEEK_CLOSED = 5,
    TS_ZEEK_RESET = 6
};

/* History: at most 15 letters are kept (the first 15); a buffer of
 * TS_ZEEK_HIST_BUFSZ bytes holds them and the NUL. */
#define TS_ZEEK_HIST_MAX   15
#define TS_ZEEK_HIST_BUFSZ 16

/* Per-connection state: 24 bytes, all zero before the first segment.
 *
 *   ep[i], i = 0 for the tcp.stream's first sender, 1 for the other:
 *     bits  0..19  Zeek's LastSeq of that endpoint, low 20 bits
 *     bits 20..26  retransmission counter (history t/T), saturates at 127
 *     bits 27..29  Zeek endpoint state (ts_zeek_ep_state)
 *     bits 30..31  previous state, coarse: 0 INACTIVE 1 ESTABLISHED
 *                  2 CLOSED 3 other
 *   timer:
 *     bits  0..28  deadline of the pending Zeek timer, in 1/128 s, mod 2^29
 *     bits 29..30  timer kind: 0 inactivity, 1 attempt, 2 delete,
 *                  3 expiry of a connection with no valid segment
 *     bit  31      1 h inactivity timeout: connection_established saw
 *                  service port 21, 22, 23 or 513
 *   hist[10]: bits 0..74 = 15 history letters of 5 bits (0 = none),
 *     bit 75 Zeek's originator is endpoint 1 (the stream's second sender),
 *     bits 76..77 did_close of endpoint 0 / 1,
 *     bits 78..79 endpoint 0 / 1 has a content hole (missing payload)
 *   cnt[i]: bits 0..6 = W * 11 + G, the zero-window (w/W) and content gap
 *     (g/G) counters, each saturating at 10; bit 7: endpoint i's hole
 *     comes from a payload that was not captured.
 */
typedef struct ts_zeek {
    uint32_t ep[2];
    uint32_t timer;
    uint8_t  hist[10];
    uint8_t  cnt[2];
} ts_zeek;

/* One TCP segment.  Lifetime: one call. */
typedef struct ts_zeek_seg {
    int64_t  ts_sec;       /* capture time: seconds ... */
    uint32_t ts_nsec;      /* ... and nanoseconds */
    uint32_t seq;          /* raw sequence number (tcp.seq_raw) */
    uint32_t ack;          /* raw acknowledgement number (tcp.ack_raw) */
    uint32_t len;          /* payload length (tcp.len) */
    uint16_t flags;        /* TS_ZEEK_* bits (tcp.flags) */
    uint16_t win;          /* raw window field; only "is zero" matters */
    uint16_t sport;        /* source port */
    uint16_t dport;        /* destination port */
    bool     from_first;   /* sent by the stream's first sender */
    bool     bad_checksum; /* TCP checksum verified and wrong: Zeek drops
                              the segment and records c/C (unless run with
                              -C; then pass false) */
    bool     truncated;    /* payload not fully captured (snaplen): Zeek
                              cannot reassemble it, so its ACK is a gap */
} ts_zeek_seg;

/* ts_zeek_segment() result bit. */
#define TS_ZEEK_NEW 0x01   /* this segment began a new Zeek connection */

/* Account one segment.  Returns TS_ZEEK_NEW if it started a Zeek
 * connection (the stream's first segment, or Zeek would have ended the
 * previous one: a timer expired, or a SYN reused the 4-tuple). */
unsigned ts_zeek_segment(ts_zeek *z, const ts_zeek_seg *seg);

/* Zeek's conn_state ("S0", "S1", "SF", "REJ", "S2", "S3", "RSTO",
 * "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"); "" before any segment.
 * Static string. */
const char *ts_zeek_conn_state(const ts_zeek *z);

/* Zeek's history, written into buf (TS_ZEEK_HIST_BUFSZ bytes, NUL
 * terminated); returns buf. */
const char *ts_zeek_history(const ts_zeek *z, char buf[TS_ZEEK_HIST_BUFSZ]);

/* True if Zeek's originator (id.orig_h/orig_p) is the stream's first
 * sender, false if it is the other endpoint. */
bool ts_zeek_orig_is_first(const ts_zeek *z);

/* Zeek's endpoint states (c$orig$state, c$resp$state). */
enum ts_zeek_ep_state ts_zeek_orig_state(const ts_zeek *z);
enum ts_zeek_ep_state ts_zeek_resp_state(const ts_zeek *z);
const char *ts_zeek_ep_state_name(enum ts_zeek_ep_state s); /* "TCP_INACTIVE"... */

/* Zeek's likely_server_ports: the TCP ports Zeek's default scripts
 * register for their analyzers (see zeek.c).  ts_zeek_set_server_ports()
 * replaces the list (up to 64 ports; NULL restores the default), e.g. to
 * mimic "zeek -b" runs that load few analyzers.  Process-wide. */
bool ts_zeek_likely_server_port(uint16_t port);
void ts_zeek_set_server_ports(const uint16_t *ports, size_t n);

#endif /* TCPSTATE_ZEEK_H */
