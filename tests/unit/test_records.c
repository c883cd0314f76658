/* test_records.c - unit tests of what records and ring-set continuity are
 * made of (plugin/core: uid.c, facts.c, record.c, snapshot.c, carry.c),
 * without tshark.  ctest unit.records.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carry.h"
#include "conn.h"
#include "facts.h"
#include "record.h"
#include "snapshot.h"
#include "uid.h"

static int failures, checks;

#define CHECK(cond)                                                               \
    do {                                                                          \
        checks++;                                                                 \
        if (!(cond)) {                                                            \
            failures++;                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                         \
    } while (0)

#define CHECK_STR(got, want)                                                      \
    do {                                                                          \
        checks++;                                                                 \
        if (strcmp((got), (want)) != 0) {                                         \
            failures++;                                                           \
            fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__, \
                    (got), (want));                                               \
        }                                                                         \
    } while (0)

static void
hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

/* ---- SHA-256 and the uid ----------------------------------------------------- */

static void
test_sha256(void)
{
    static const struct {
        const char *msg;
        const char *digest;
    } v[] = {   /* FIPS 180-4 examples, and the empty message */
        { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
        { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
        { "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
          "klmnopqrlmnopqrsmnopqrstnopqrstu",
          "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
    };
    uint8_t d[32];
    char h[65];

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        ts_sha256(v[i].msg, strlen(v[i].msg), d);
        hex(d, 32, h);
        CHECK_STR(h, v[i].digest);
    }
}

static void
test_uid(void)
{
    /* The expected uids were computed from docs/records.md's definition
     * with Python's hashlib, independently of uid.c. */
    ts_uid_input in;
    char uid[TS_UID_BUFSZ];

    memset(&in, 0, sizeof in);
    in.family = 4;
    memcpy(in.src, (uint8_t[]){ 10, 99, 0, 1 }, 4);
    memcpy(in.dst, (uint8_t[]){ 10, 99, 0, 2 }, 4);
    in.sport = 40001;
    in.dport = 5001;
    in.seq = 0x12345678;
    in.secs = 1795405290;
    ts_uid_make(&in, 0, uid);
    CHECK_STR(uid, "C1QEIljq7Cxcp2Kqa5");
    ts_uid_make(&in, 1, uid);
    CHECK_STR(uid, "C1eaMTEdYxjlAriv0j");
    /* bytes past the address length do not count */
    in.src[7] = 0xEE;
    ts_uid_make(&in, 0, uid);
    CHECK_STR(uid, "C1QEIljq7Cxcp2Kqa5");

    memset(&in, 0, sizeof in);
    in.family = 6;
    in.src[0] = 0xfd;
    in.src[15] = 1;
    in.dst[0] = 0xfd;
    in.dst[15] = 2;
    in.sport = 443;
    in.dport = 55555;
    in.seq = 1;
    in.secs = -1;
    ts_uid_make(&in, 0, uid);
    CHECK_STR(uid, "C0Qe7kPH19jW8HxvxE");
    CHECK(strlen(uid) == TS_UID_LEN);
}

/* ---- a connection to work with --------------------------------------------------- */

typedef struct conn_run {
    ts_conn  c;
    ts_facts f;
    int64_t  frame;
} conn_run;

/* One segment from (a)ddress 1 port 40000 or (b) address 2 port 80. */
static void
seg(conn_run *r, bool from_a, uint16_t flags, uint32_t seq, uint32_t ack, uint32_t len,
    int64_t time_ns)
{
    ts_segment s;
    ts_facts_seg fs;
    ts_record rec;

    memset(&s, 0, sizeof s);
    s.time = (double)time_ns / 1e9;
    s.seq = seq;
    s.ack = ack;
    s.len = len;
    s.win = 65535;
    s.flags = flags;
    s.sport = from_a ? 40000 : 80;
    s.dport = from_a ? 80 : 40000;
    s.src_key = from_a ? 1 : 2;
    s.dst_key = from_a ? 2 : 1;
    memset(&fs, 0, sizeof fs);
    fs.time_ns = time_ns;
    fs.frame = ++r->frame;
    fs.family = 4;
    fs.src[0] = 10;
    fs.src[3] = from_a ? 1 : 2;
    fs.dst[0] = 10;
    fs.dst[3] = from_a ? 2 : 1;
    fs.sport = s.sport;
    fs.dport = s.dport;
    fs.seq = seq;
    fs.ack = ack;
    fs.flags = flags;
    ts_conn_track(&r->c, &s, &rec, NULL);
    if (r->f.stats.segments == 0)
        ts_facts_start(&r->f, &fs);
    ts_facts_add(&r->f, &rec, &fs);
}

#define T0 1700000000000000000LL

/* A handshake and some data: ESTABLISHED both. */
static void
established(conn_run *r)
{
    memset(r, 0, sizeof *r);
    seg(r, true, TS_TH_SYN, 1000, 0, 0, T0);
    seg(r, false, TS_TH_SYN | TS_TH_ACK, 5000, 1001, 0, T0 + 1000000);
    seg(r, true, TS_TH_ACK, 1001, 5001, 0, T0 + 2000000);
    seg(r, true, TS_TH_ACK | TS_TH_PSH, 1001, 5001, 10, T0 + 3000000);
}

static ts_facts_seg
probe(bool from_a, uint16_t flags, uint32_t seq, uint32_t ack)
{
    ts_facts_seg fs;
    memset(&fs, 0, sizeof fs);
    fs.family = 4;
    fs.src[0] = fs.dst[0] = 10;
    fs.src[3] = from_a ? 1 : 2;
    fs.dst[3] = from_a ? 2 : 1;
    fs.sport = from_a ? 40000 : 80;
    fs.dport = from_a ? 80 : 40000;
    fs.seq = seq;
    fs.ack = ack;
    fs.flags = flags;
    return fs;
}

/* ---- facts: Wireshark's stream split ---------------------------------------------- */

static void
test_ws_splits(void)
{
    conn_run r;
    ts_facts_seg s;

    established(&r);
    CHECK(r.f.ws_base[0] == 1000 && r.f.ws_base[1] == 5000);
    CHECK((r.f.ws_flags & (TS_WS_BASE0 | TS_WS_BASE1)) == (TS_WS_BASE0 | TS_WS_BASE1));
    CHECK(!(r.f.ws_flags & TS_WS_CLOSED));
    /* a retransmitted SYN: one stream on every release */
    s = probe(true, TS_TH_SYN, 1000, 0);
    CHECK(!ts_facts_ws_splits(&r.f, &s, false) && !ts_facts_ws_splits(&r.f, &s, true));
    /* a SYN with another sequence number: a new stream everywhere */
    s = probe(true, TS_TH_SYN, 777, 0);
    CHECK(ts_facts_ws_splits(&r.f, &s, false) && ts_facts_ws_splits(&r.f, &s, true));
    /* a SYN-ACK with another one: from 4.2 only */
    s = probe(false, TS_TH_SYN | TS_TH_ACK, 9999, 1001);
    CHECK(!ts_facts_ws_splits(&r.f, &s, false) && ts_facts_ws_splits(&r.f, &s, true));
    /* data never splits */
    s = probe(false, TS_TH_ACK, 12345, 1);
    CHECK(!ts_facts_ws_splits(&r.f, &s, false) && !ts_facts_ws_splits(&r.f, &s, true));
    /* after a FIN+ACK, even the same SYN splits from 4.2 */
    seg(&r, true, TS_TH_FIN | TS_TH_ACK, 1011, 5001, 0, T0 + 4000000);
    CHECK(r.f.ws_flags & TS_WS_CLOSED);
    s = probe(true, TS_TH_SYN, 1000, 0);
    CHECK(!ts_facts_ws_splits(&r.f, &s, false) && ts_facts_ws_splits(&r.f, &s, true));

    /* a direction whose base is not set yet never splits */
    memset(&r, 0, sizeof r);
    seg(&r, true, TS_TH_SYN, 1000, 0, 0, T0);
    CHECK(!(r.f.ws_flags & TS_WS_BASE1));
    s = probe(false, TS_TH_SYN, 5, 0);
    CHECK(!ts_facts_ws_splits(&r.f, &s, true));
    /* mid-stream: base = seq - 1, and the other side's from the ack */
    memset(&r, 0, sizeof r);
    seg(&r, false, TS_TH_ACK, 700, 300, 5, T0);
    CHECK(r.f.ws_base[0] == 699 && r.f.ws_base[1] == 299);
    CHECK(!ts_facts_from_first(&r.f, &(ts_facts_seg){ .family = 4, .sport = 40000, .dport = 80 }));
}

/* ---- the record -------------------------------------------------------------------- */

static void
test_json_string(void)
{
    char buf[64];

    CHECK(ts_json_string("a\"b\\c\n\x01", buf, sizeof buf) == 17);
    CHECK_STR(buf, "\"a\\\"b\\\\c\\n\\u0001\"");
    CHECK(ts_json_string("abcdef", buf, 4) == 8);     /* needs 8, cut */
    CHECK_STR(buf, "\"ab");
}

static void
test_record(void)
{
    conn_run r;
    ts_connstats st;
    ts_record_values v;
    const char *text[2] = { "10.0.0.1", "10.0.0.2" };
    const char *ep[2] = { "10.0.0.1:40000", "10.0.0.2:80" };
    char line[TS_RECORD_MAX];

    established(&r);
    st = r.f.stats;
    ts_record_values_make(&v, &r.c, &r.f, &st, text, ep, 100, 7, !ts_carry_ended(&r.c), false);
    CHECK_STR(v.orig_h, "10.0.0.1");
    CHECK(v.orig_p == 40000 && v.resp_p == 80);
    CHECK(v.orig_pkts == 3 && v.resp_pkts == 1 && v.orig_bytes == 10 && v.resp_bytes == 0);
    CHECK_STR(v.client, "10.0.0.1:40000");
    CHECK(v.client_state == TS_STATE_ESTABLISHED && v.outcome == TS_OUTCOME_OPEN && v.open);
    CHECK(v.first_frame == 101 && v.last_frame == 104);
    CHECK(v.duration_ns == 3000000);
    CHECK(v.handshake_ms > 1.999 && v.handshake_ms < 2.001);
    CHECK(ts_record_json(&v, line, sizeof line) > 0);
    CHECK(strstr(line, "\"ts\":1700000000.000000,") != NULL);
    CHECK(strstr(line, "\"duration\":0.003000,") != NULL);
    CHECK(strstr(line, "\"tcpstate.stream\":7,") != NULL);
    CHECK(strstr(line, "\"tcpstate.handshake_ms\":2.000,") != NULL);
    CHECK(strstr(line, "\"tcpstate.open\":true,") != NULL);
    CHECK(line[strlen(line) - 1] == '\n' && line[strlen(line) - 2] == '}');
    CHECK(ts_record_json(&v, line, 40) == 0);   /* too small: nothing half-written counts */

    /* the server spoke first (mid-stream): the client is endpoint 1 */
    memset(&r, 0, sizeof r);
    seg(&r, false, TS_TH_ACK, 700, 300, 5, T0 - 1500);
    st = r.f.stats;
    ts_record_values_make(&v, &r.c, &r.f, &st, (const char *[]){ "10.0.0.2", "10.0.0.1" },
                          (const char *[]){ "10.0.0.2:80", "10.0.0.1:40000" }, 0, -1, true, true);
    CHECK_STR(v.client, "10.0.0.1:40000");
    CHECK_STR(v.server, "10.0.0.2:80");
    CHECK(v.roles_guessed);
    CHECK(v.handshake_ms < 0);
    CHECK(ts_record_json(&v, line, sizeof line) > 0);
    CHECK(strstr(line, "\"ts\":1699999999.999998,") != NULL);   /* rounded down */
    CHECK(strstr(line, "\"tcpstate.stream\":null,") != NULL);
    CHECK(strstr(line, "\"tcpstate.handshake_ms\":null,") != NULL);
    CHECK(strstr(line, "\"tcpstate.carried\":true,") != NULL);
}

/* ---- carry: what is kept ---------------------------------------------------------- */

static void
test_keep(void)
{
    conn_run r;
    const int64_t s = 1000000000;

    established(&r);
    CHECK(!ts_carry_ended(&r.c));
    CHECK(ts_carry_keep(&r.c, 3600 * s));
    CHECK(!ts_carry_keep(&r.c, (int64_t)TS_CARRY_IDLE_S * s));
    /* an attempt lingers only */
    memset(&r, 0, sizeof r);
    seg(&r, true, TS_TH_SYN, 1, 0, 0, T0);
    CHECK(!ts_carry_ended(&r.c));
    CHECK(ts_carry_keep(&r.c, 60 * s));
    CHECK(!ts_carry_keep(&r.c, (int64_t)TS_CARRY_LINGER_S * s));
    /* refused: ended, lingers */
    seg(&r, false, TS_TH_RST | TS_TH_ACK, 0, 2, 0, T0 + s);
    CHECK(ts_carry_ended(&r.c));
    CHECK(ts_carry_keep(&r.c, 10 * s) && !ts_carry_keep(&r.c, 200 * s));
}

/* ---- carry: which snapshot -------------------------------------------------------- */

static ts_snap_head
head(uint64_t id, uint64_t pred, uint64_t chain, uint32_t index, int64_t first, int64_t last)
{
    ts_snap_head h;
    memset(&h, 0, sizeof h);
    h.file_id = id;
    h.pred_id = pred;
    h.chain_id = chain;
    h.chain_index = index;
    h.first_ns = first;
    h.last_ns = last;
    h.frames = 10;
    h.encap = 1;
    strcpy(h.iface, "eth0");
    return h;
}

#define S(x) ((int64_t)(x) * 1000000000)

static void
choose(const ts_snap_head *hs, size_t n, uint64_t id, int64_t first, ts_carry_choice *ch)
{
    const ts_snap_head *p[16];
    ts_file_ident f = { id, first, 1, "eth0", "" };

    for (size_t i = 0; i < n; i++)
        p[i] = &hs[i];
    ts_carry_choose(p, n, &f, S(60), ch);
}

static void
test_choose(void)
{
    ts_carry_choice ch;
    ts_snap_head hs[8];

    /* a chain of three: the latest one that ends before the file */
    hs[0] = head(1, 0, 1, 0, S(0), S(99));
    hs[1] = head(2, 1, 1, 1, S(100), S(199));
    hs[2] = head(3, 2, 1, 2, S(200), S(299));
    choose(hs, 3, 4, S(300), &ch);
    CHECK(ch.n == 1 && ch.pick[0] == 2);
    /* opening file 2 again: its predecessor, not its own snapshot */
    choose(hs, 3, 2, S(100), &ch);
    CHECK(ch.n == 1 && ch.pick[0] == 0 && ch.self == 1);
    /* beyond the gap */
    choose(hs, 3, 4, S(400), &ch);
    CHECK(ch.n == 0 && ch.note == TS_NOTE_GAP && ch.about == 2);
    /* another interface, or link type, is another set */
    strcpy(hs[2].iface, "eth1");
    choose(hs, 3, 4, S(300), &ch);
    CHECK(ch.n == 0 && ch.note == TS_NOTE_GAP && ch.about == 1);
    strcpy(hs[2].iface, "eth0");
    hs[2].encap = 2;
    choose(hs, 3, 4, S(300), &ch);
    CHECK(ch.n == 0);
    hs[2].encap = 1;
    /* file 3 re-opened while a file 4 (out of order, from 2) exists and
     * starts later: 2 is still 3's predecessor */
    hs[3] = head(5, 3, 1, 3, S(400), S(499));
    choose(hs, 4, 3, S(200), &ch);
    CHECK(ch.n == 1 && ch.pick[0] == 1);
    /* a file starting inside file 3 (clock stepped back): 2's successor 3
     * starts before it */
    choose(hs, 3, 9, S(250), &ch);
    CHECK(ch.n == 0 && ch.note == TS_NOTE_OVERLAP);
    /* a stale snapshot: 7 continued 2 while skipping 3 */
    hs[3] = head(7, 2, 1, 2, S(300), S(399));
    hs[2] = head(3, 2, 1, 2, S(200), S(299));
    choose(hs, 4, 8, S(400), &ch);
    CHECK(ch.n == 0 && ch.note == TS_NOTE_STALE && ch.about == 3);
    /* two chains (two sensors): two candidates */
    hs[3] = head(11, 0, 11, 0, S(250), S(298));
    choose(hs, 4, 4, S(300), &ch);
    CHECK(ch.n == 2);
    /* a file whose own snapshot continued one that is gone */
    hs[0] = head(21, 20, 20, 1, S(0), S(99));
    choose(hs, 1, 21, S(0), &ch);
    CHECK(ch.n == 0 && ch.note == TS_NOTE_PRED_MISSING);
    /* replacing: more frames win, then the longer history */
    {
        ts_snap_head a = head(1, 0, 1, 0, 0, 0), b = a;
        b.frames = 5;
        CHECK(ts_carry_replaces(&a, &b) && !ts_carry_replaces(&b, &a));
        b.frames = 10;
        b.chain_index = 3;
        CHECK(!ts_carry_replaces(&a, &b) && ts_carry_replaces(&b, &a));
        CHECK(ts_carry_replaces(&a, &a));   /* the same again: idempotent */
    }
}

/* ---- the snapshot format ----------------------------------------------------------- */

static uint8_t *
make_snapshot(size_t *len)
{
    conn_run r;
    ts_snap_head h;
    ts_carried e;
    const size_t hs = ts_snap_head_size("eth0", "a description");
    uint8_t *buf;

    established(&r);
    memset(&e, 0, sizeof e);
    e.conn = r.c;
    e.facts = r.f;
    e.zeek_ended = 2;
    memset(&h, 0, sizeof h);
    h.file_id = 42;
    h.pred_id = 41;
    h.chain_id = 40;
    h.chain_index = 2;
    h.frames = 1234;
    h.frames_before = 5000;
    h.first_ns = T0;
    h.last_ns = T0 + S(10);
    h.encap = 1;
    h.count = 2;
    strcpy(h.iface, "eth0");
    strcpy(h.descr, "a description");
    *len = hs + 2 * sizeof e + 4;
    buf = (uint8_t *)calloc(1, *len);
    ts_snap_write_head(&h, "0.1.0", buf);
    memcpy(buf + hs, &e, sizeof e);
    memcpy(buf + hs + sizeof e, &e, sizeof e);
    ts_snap_seal(buf, *len - 4);
    return buf;
}

static ts_snap_status
check_whole(const uint8_t *buf, size_t len)
{
    ts_snap_head h;
    ts_snap_status st = ts_snap_read_head(buf, len, &h);
    return st == TS_SNAP_OK ? ts_snap_check(buf, len, &h) : st;
}

static void
reseal(uint8_t *buf, size_t len)
{
    ts_snap_head h;
    /* recompute the header's CRC, then the whole one */
    const size_t hs = (size_t)buf[12] | (size_t)buf[13] << 8;
    const uint32_t c = ts_crc32(0, buf, hs - 4);
    (void)h;
    for (int i = 0; i < 4; i++)
        buf[hs - 4 + i] = (uint8_t)(c >> (8 * i));
    ts_snap_seal(buf, len - 4);
}

static void
test_snapshot(void)
{
    size_t len;
    uint8_t *buf = make_snapshot(&len), *copy;
    ts_snap_head h;
    ts_carried e;

    CHECK(ts_snap_read_head(buf, len, &h) == TS_SNAP_OK);
    CHECK(h.file_id == 42 && h.pred_id == 41 && h.chain_id == 40 && h.chain_index == 2);
    CHECK(h.frames == 1234 && h.frames_before == 5000 && h.count == 2 && h.encap == 1);
    CHECK(h.first_ns == T0 && h.last_ns == T0 + S(10));
    CHECK_STR(h.iface, "eth0");
    CHECK_STR(h.descr, "a description");
    CHECK_STR(h.version, "0.1.0");
    CHECK(ts_snap_check(buf, len, &h) == TS_SNAP_OK);
    memcpy(&e, buf + h.head_size, sizeof e);
    CHECK(e.zeek_ended == 2 && e.conn.sum.segs[0] == 3 && e.facts.first_ns == T0);

    copy = (uint8_t *)malloc(len);
    /* every single flipped byte is caught */
    for (size_t i = 0; i < len; i++) {
        memcpy(copy, buf, len);
        copy[i] ^= 0x20;
        const ts_snap_status st = check_whole(copy, len);
        if (st == TS_SNAP_OK)
            fprintf(stderr, "a flipped byte %zu went unnoticed\n", i);
        CHECK(st != TS_SNAP_OK);
    }
    /* every truncation too */
    for (size_t n = 0; n < len; n++)
        CHECK(check_whole(buf, n) != TS_SNAP_OK);
    CHECK(check_whole(buf, 3) == TS_SNAP_TRUNCATED);
    CHECK(check_whole(buf, len - 1) == TS_SNAP_TRUNCATED);
    /* not ours */
    memcpy(copy, buf, len);
    copy[0] = 'X';
    CHECK(check_whole(copy, len) == TS_SNAP_NOT_SNAPSHOT);
    /* another format version */
    memcpy(copy, buf, len);
    copy[8] = 2;
    reseal(copy, len);
    CHECK(check_whole(copy, len) == TS_SNAP_BAD_FORMAT);
    /* another layout, another build: the header is still read */
    memcpy(copy, buf, len);
    copy[16] ^= 1;
    reseal(copy, len);
    CHECK(ts_snap_read_head(copy, len, &h) == TS_SNAP_OTHER_LAYOUT && h.file_id == 42);
    memcpy(copy, buf, len);
    copy[24] ^= 1;
    reseal(copy, len);
    CHECK(ts_snap_read_head(copy, len, &h) == TS_SNAP_OTHER_BUILD && h.file_id == 42);
    /* a state the state machine has no row for, with valid CRCs */
    memcpy(copy, buf, len);
    ts_snap_read_head(buf, len, &h);
    memcpy(&e, copy + h.head_size, sizeof e);
    e.conn.ep[1].st = 200;
    memcpy(copy + h.head_size, &e, sizeof e);
    reseal(copy, len);
    CHECK(check_whole(copy, len) == TS_SNAP_BAD_ENTRY);
    /* an entry count that does not fit */
    memcpy(copy, buf, len);
    copy[108] = 0xFF;
    copy[109] = 0xFF;
    copy[110] = 0xFF;
    copy[111] = 0x7F;
    reseal(copy, len);
    CHECK(check_whole(copy, len) == TS_SNAP_TRUNCATED);
    free(copy);
    free(buf);

    /* the file id depends on every part of what identifies a file */
    const uint8_t bytes[4] = { 1, 2, 3, 4 };
    const uint64_t id = ts_snap_file_id(T0, bytes, 4, 60, 1, "eth0", "d");
    CHECK(id != 0 && id == ts_snap_file_id(T0, bytes, 4, 60, 1, "eth0", "d"));
    CHECK(id != ts_snap_file_id(T0 + 1, bytes, 4, 60, 1, "eth0", "d"));
    CHECK(id != ts_snap_file_id(T0, bytes, 3, 60, 1, "eth0", "d"));
    CHECK(id != ts_snap_file_id(T0, bytes, 4, 61, 1, "eth0", "d"));
    CHECK(id != ts_snap_file_id(T0, bytes, 4, 60, 2, "eth0", "d"));
    CHECK(id != ts_snap_file_id(T0, bytes, 4, 60, 1, "eth1", "d"));
    CHECK(id != ts_snap_file_id(T0, bytes, 4, 60, 1, "eth0", ""));
}

int
main(void)
{
    test_sha256();
    test_uid();
    test_ws_splits();
    test_json_string();
    test_record();
    test_keep();
    test_choose();
    test_snapshot();
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
