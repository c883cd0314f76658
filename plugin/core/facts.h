/* facts.h - what the connection records and the ring-set continuity need to
 * know of a connection beyond its ts_conn
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Pure C99.  The glue keeps one ts_facts per tcp.stream, but only in runs
 * that list records (-z tcpstate,records) or carry state across the files
 * of a ring set (tcpstate.state_dir); other runs pay nothing for them, and
 * ts_conn stays as small as it is.  They are filled in the data path, on
 * every segment of the connection, in order, with the segment's final
 * record (ts_facts_add).  Lifetime: the capture file's; a connection still
 * open at its end takes its facts into the snapshot (snapshot.h), and the
 * next file's continuation of it takes them back.
 */
#ifndef TCPSTATE_FACTS_H
#define TCPSTATE_FACTS_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "connstats.h"
#include "uid.h"

/* One segment, as the facts see it.  Lifetime: one call. */
typedef struct ts_facts_seg {
    int64_t  time_ns;       /* nanoseconds since the epoch */
    int64_t  frame;         /* frame number in its file */
    uint8_t  family;        /* 4, 6; 0 another address type */
    uint8_t  src[16], dst[16];
    uint16_t sport, dport;
    uint32_t seq, ack;      /* raw */
    uint16_t flags;         /* TS_TH_* */
} ts_facts_seg;

typedef struct ts_facts {
    ts_connstats stats;     /* over every segment; times in seconds after first_ns */
    int64_t  first_ns;      /* its first segment: nanoseconds since the epoch */
    int64_t  last_ns;       /* its last segment */
    int64_t  first_frame;   /* frame numbers, counted from this file's first frame; */
    int64_t  last_frame;    /*   a connection carried from earlier files has <= 0 */
    uint32_t first_seq;     /* its first segment's raw sequence number (the uid's) */
    uint32_t uid_n;         /* the uid's collision index (uid.h) */
    uint32_t ws_base[2];    /* Wireshark's base_seq per direction: [0] the stream's */
    uint8_t  ws_flags;      /*   first sender, [1] the other; TS_WS_* */
    uint8_t  family;        /* 4, 6; 0 another address type */
    uint16_t port[2];       /* [0] the stream's first sender, [1] the other */
    uint8_t  addr[2][16];
} ts_facts;

#define TS_WS_BASE0   0x01  /* ws_base[0] is set */
#define TS_WS_BASE1   0x02  /* ws_base[1] is set */
#define TS_WS_CLOSED  0x04  /* after the first segment: a FIN+ACK or a RST (what
                               Wireshark's tcp.completeness calls FIN and RST) */

/* The connection's first segment: addresses, ports, times, uid input.  The
 * uid's collision index is the caller's (uid_n, 0 by default). */
void ts_facts_start(ts_facts *f, const ts_facts_seg *s);

/* Every segment of the connection, the first included, after
 * ts_conn_track() made its record r. */
void ts_facts_add(ts_facts *f, const ts_record *r, const ts_facts_seg *s);

/* Was s sent by the stream's first sender (by address and port)? */
bool ts_facts_from_first(const ts_facts *f, const ts_facts_seg *s);

/* Would Wireshark's TCP dissector have started a new tcp.stream at s, had
 * s come after the connection's segments in one capture?  As in the TCP
 * dissector of 4.0: a SYN without ACK whose sequence number is not the
 * base_seq of its direction; from 4.2 (since_4_2): any SYN, with or
 * without ACK, whose sequence number is not that base_seq, or after a FIN
 * or a RST (docs/compat.md).  Only a direction whose base_seq is set can
 * split. */
bool ts_facts_ws_splits(const ts_facts *f, const ts_facts_seg *s, bool since_4_2);

/* What the uid is made of, and the uid. */
void ts_facts_uid_input(const ts_facts *f, ts_uid_input *in);
void ts_facts_uid(const ts_facts *f, char out[TS_UID_BUFSZ]);

#endif /* TCPSTATE_FACTS_H */
