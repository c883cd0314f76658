/* fuzz_core.c - libFuzzer target for tcpstate's pure core
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Built with clang -fsanitize=fuzzer,address,undefined (tests/fuzz/CMakeLists.txt)
 * together with plugin/core/fsm.c, classify.c, conn.c, summary.c, connstats.c
 * and zeek.c.  No Wireshark, no GLib.
 *
 * The input is a sequence of 16-byte segment descriptions spread over up
 * to four connections (see decode()).  Sequence and acknowledgement
 * numbers are mostly chosen relative to what the harness saw each side
 * send, so that handshakes and closes happen often enough to reach every
 * state; the rest are raw.  Each segment goes through ts_conn_track() as
 * the dissector sends it, and after each one the invariants are checked:
 *   - the record is valid, its states and previous states are displayed
 *     states (1..11, with a name), each endpoint's internal state is below
 *     TS_FSM_NSTATES, previous states are the last record's states;
 *   - handshake steps are within 1..3, teardown steps within 1..4,
 *     anomaly bits below TS_AN_COUNT, the closer at most "both";
 *   - outcome, close style, Zeek state and history are in range, and
 *     ts_illegal_name() stays inside any buffer length;
 * and the whole input is run twice: both runs must give the same records
 * and the same connections byte for byte.  Out-of-range table reads and
 * undefined behaviour are ASan's and UBSan's to find.
 *
 *   fuzz_core [libFuzzer options] [corpus dirs or files]
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "conn.h"
#include "connstats.h"
#include "fsm.h"
#include "summary.h"
#include "zeek.h"

#define NCONN    4
#define SEG_SIZE 16
#define MAX_SEGS 2048

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "fuzz_core: invariant failed at segment %zu: %s (%s:%d)\n", \
                    seg_no, #cond, __FILE__, __LINE__);                                    \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* What the harness remembers of one connection, to make plausible numbers.
 * Lifetime: one run over the input. */
typedef struct side {
    uint32_t nxt;       /* the sequence number this side would send next */
    bool     seen;
} side;

typedef struct harness {
    ts_conn      conn[NCONN];
    ts_connstats stats[NCONN];
    side         sides[NCONN][2];   /* [conn][0: address A, 1: address B] */
    ts_record    last[NCONN];
    bool         used[NCONN];
    double       time[NCONN];
    ts_record    recs[MAX_SEGS];
    size_t       n;
} harness;

static size_t seg_no;   /* for CHECK messages: the segment being checked */

static uint32_t
get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The flag combinations stacks and scanners send. */
static const uint16_t common_flags[] = {
    TS_TH_SYN, TS_TH_SYN | TS_TH_ACK, TS_TH_ACK, TS_TH_ACK | TS_TH_PSH,
    TS_TH_FIN | TS_TH_ACK, TS_TH_RST, TS_TH_RST | TS_TH_ACK, TS_TH_FIN,
    0, TS_TH_SYN | TS_TH_FIN, TS_TH_FIN | TS_TH_PSH | TS_TH_URG, 0x3F,
    TS_TH_SYN | TS_TH_ECE | TS_TH_CWR, TS_TH_ACK | TS_TH_AE, TS_TH_SYN | TS_TH_RST,
    TS_TH_FIN | TS_TH_ACK | TS_TH_PSH,
};

/* A sequence or acknowledgement number: the expected one, near it, or raw. */
static uint32_t
pick_number(unsigned mode, uint32_t expected, uint32_t raw)
{
    switch (mode & 7) {
    case 0: case 1: case 2: return expected;
    case 3: return expected - 1;
    case 4: return expected + (raw & 0xFF);
    case 5: return expected - (raw & 0xFFFF);
    case 6: return expected + 0x80000000u;
    default: return raw;
    }
}

/* One 16-byte description -> one segment of connection *ci.
 *   d[0]  bits 0-1 connection, 2 sent by address B, 3 bad checksum,
 *         4 truncated, 5 equal ports, 6-7 time step (small, 4 s, 400 s, back)
 *   d[1]  bit 7: flags from common_flags[d[2]]; else flags = (d[1] & 0xF) << 8 | d[2]
 *   d[3]  high nibble sequence mode, low nibble acknowledgement mode
 *   d[4..7] raw sequence number, d[8..11] raw acknowledgement number
 *   d[12] payload length class and value, d[13..15] window */
static void
decode(harness *h, const uint8_t *d, int *ci, ts_segment *seg)
{
    const int c = d[0] & 3;
    const int from_b = (d[0] >> 2) & 1;
    side *snd = &h->sides[c][from_b], *rcv = &h->sides[c][!from_b];
    static const double steps[4] = { 0.001, 4.0, 400.0, -1.5 };

    memset(seg, 0, sizeof *seg);
    *ci = c;
    seg->stream = (uint32_t)c;
    seg->bad_checksum = (d[0] & 0x08) != 0;
    seg->truncated = (d[0] & 0x10) != 0;
    if (d[1] & 0x80)
        seg->flags = common_flags[d[2] % (sizeof common_flags / sizeof common_flags[0])];
    else
        seg->flags = (uint16_t)((d[1] & 0x0F) << 8 | d[2]);

    const uint32_t raw_seq = get32(d + 4), raw_ack = get32(d + 8);
    if (!snd->seen) {
        snd->nxt = raw_seq;
        snd->seen = true;
    }
    seg->seq = pick_number(d[3] >> 4, snd->nxt, raw_seq);
    seg->ack = pick_number(d[3] & 0x0F, rcv->seen ? rcv->nxt : raw_ack, raw_ack);
    switch (d[12] >> 6) {
    case 0: case 1: seg->len = 0; break;
    case 2: seg->len = d[12] & 0x3F; break;
    default: seg->len = (uint32_t)(d[12] & 0x3F) * 1460u; break;
    }
    seg->win = (uint32_t)d[13] << 16 | (uint32_t)d[14] << 8 | d[15];

    /* Two hosts per connection; equal ports make the addresses decide roles. */
    const uint16_t port_a = (uint16_t)(40000 + c), port_b = (d[0] & 0x20) ? port_a : 80;
    seg->sport = from_b ? port_b : port_a;
    seg->dport = from_b ? port_a : port_b;
    seg->src_key = from_b ? 0xB0B0u + (uint64_t)c : 0xA0A0u + (uint64_t)c;
    seg->dst_key = from_b ? 0xA0A0u + (uint64_t)c : 0xB0B0u + (uint64_t)c;

    h->time[c] += steps[d[0] >> 6];
    seg->time = 1.7e9 + h->time[c];

    /* What the sender would send next, as a stack would count it. */
    uint32_t next = seg->seq + seg->len;
    if (seg->flags & TS_TH_SYN)
        next++;
    if (seg->flags & TS_TH_FIN)
        next++;
    if (!(seg->flags & TS_TH_RST) && ts_seq_geq(next, snd->nxt))
        snd->nxt = next;
}

static void
check_record(const harness *h, int c, const ts_record *r)
{
    const ts_conn *conn = &h->conn[c];
    char name[TS_ZEEK_HIST_BUFSZ];

    CHECK(r->flags & TS_REC_VALID);
    CHECK(r->stream == (uint32_t)c);
    for (int i = 0; i < 2; i++) {
        CHECK(r->state[i] >= 1 && r->state[i] <= TS_STATE_MAX);
        CHECK(r->prev[i] >= 1 && r->prev[i] <= TS_STATE_MAX);
        CHECK(strcmp(ts_state_name((ts_state)r->state[i]), "?") != 0);
        CHECK(conn->ep[i].st < TS_FSM_NSTATES);
        CHECK(ts_fsm_display(conn->ep[i].st) == r->state[i]);
        if (h->used[c])
            CHECK(r->prev[i] == h->last[c].state[i]);
    }
    CHECK((r->handshake & ~0x0Eu) == 0);
    CHECK((r->teardown & ~0x1Eu) == 0);
#if TS_AN_COUNT < 32
    CHECK((r->anomalies >> TS_AN_COUNT) == 0);
#endif
    CHECK(TS_REC_CLOSER(r) <= TS_CLOSER_BOTH);
    CHECK(conn->closer <= TS_CLOSER_BOTH);
    CHECK(ts_conn_outcome(conn) <= TS_OUTCOME_MAX);
    CHECK(ts_conn_close_style(conn) <= TS_STYLE_MAX);
    CHECK(ts_outcome_name(ts_conn_outcome(conn)) != NULL);
    CHECK(ts_close_style_name(ts_conn_close_style(conn)) != NULL);
    CHECK(ts_zeek_conn_state(&conn->zeek) != NULL);
    const char *hist = ts_zeek_history(&conn->zeek, name);
    CHECK(hist != NULL && strlen(hist) <= TS_ZEEK_HIST_MAX);
    CHECK(ts_zeek_ep_state_name(ts_zeek_orig_state(&conn->zeek)) != NULL);
    CHECK(ts_zeek_ep_state_name(ts_zeek_resp_state(&conn->zeek)) != NULL);

    /* Any buffer length, allocated exactly, so ASan sees an overrun. */
    const unsigned len = 1u + (r->illegal ^ r->anomalies) % 40u;
    char *buf = malloc(len);
    if (buf) {
        ts_illegal_name(r->illegal, buf, len);
        CHECK(memchr(buf, '\0', len) != NULL);
        free(buf);
    }
}

/* One run over the whole input into h (zeroed by the caller). */
static void
run(harness *h, const uint8_t *data, size_t size)
{
    ts_zeek ended;

    for (size_t off = 0; off + SEG_SIZE <= size && h->n < MAX_SEGS; off += SEG_SIZE) {
        ts_segment seg;
        ts_record *r = &h->recs[h->n];
        int c;

        seg_no = h->n;
        decode(h, data + off, &c, &seg);
        const unsigned track = ts_conn_track(&h->conn[c], &seg, r, &ended);
        CHECK((track & ~(unsigned)(TS_TRACK_HALF_OPEN_BEGIN | TS_TRACK_HALF_OPEN_END |
                                   TS_TRACK_ZEEK_NEW)) == 0);
        if (track & TS_TRACK_ZEEK_NEW)
            CHECK(ts_zeek_conn_state(&ended) != NULL);
        check_record(h, c, r);
        ts_connstats_add(&h->stats[c], r, seg.time);
        (void)ts_connstats_handshake(&h->stats[c]);
        (void)ts_connstats_close_wait(&h->stats[c]);
        (void)ts_connstats_fin_wait2(&h->stats[c]);
        h->last[c] = *r;
        h->used[c] = true;
        h->n++;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static harness a, b;   /* large: not on the stack */

    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    run(&a, data, size);
    run(&b, data, size);
    seg_no = a.n;
    CHECK(a.n == b.n);
    CHECK(memcmp(a.recs, b.recs, a.n * sizeof a.recs[0]) == 0);
    CHECK(memcmp(a.conn, b.conn, sizeof a.conn) == 0);
    CHECK(memcmp(a.stats, b.stats, sizeof a.stats) == 0);
    return 0;
}
