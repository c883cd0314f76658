/* test_zeek.c - unit tests of plugin/core/zeek.c (Zeek conn_state / history)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Standalone: cc -std=c99 -Iplugin/core tests/zeek/test_zeek.c plugin/core/zeek.c
 * Exit status 0 if every check passes.
 */
#include <stdio.h>
#include <string.h>

#include "zeek.h"

#define F TS_ZEEK_FIN
#define S TS_ZEEK_SYN
#define R TS_ZEEK_RST
#define P TS_ZEEK_PSH
#define A TS_ZEEK_ACK

static int failures, checks;

/* A scripted connection: client 10.0.0.1:40000 (stream's first sender
 * unless the script says otherwise) and server port 'sport'. */
struct conn {
    ts_zeek z;
    double t;                  /* seconds since the first segment */
    uint16_t cport, sport;     /* client and server ports */
    bool client_first;         /* the client sent the stream's first segment */
    unsigned last_ret;
    uint32_t cseq, sseq;       /* next sequence numbers */
};

static void init(struct conn *c, uint16_t server_port, bool client_first)
{
    memset(c, 0, sizeof *c);
    c->cport = 40000;
    c->sport = server_port;
    c->client_first = client_first;
    c->cseq = 1000;
    c->sseq = 5000;
}

/* One segment; from_client selects the direction; seq/ack are taken from
 * the running counters unless given (explicit != 0). */
static unsigned seg_full(struct conn *c, bool from_client, unsigned flags, uint32_t len,
                         uint32_t seq, uint32_t ack, uint16_t win, bool bad, bool trunc)
{
    ts_zeek_seg s;
    memset(&s, 0, sizeof s);
    s.ts_sec = 1000000 + (int64_t)c->t;
    s.ts_nsec = (uint32_t)((c->t - (double)(int64_t)c->t) * 1e9);
    s.flags = (uint16_t)flags;
    s.len = len;
    s.win = win;
    s.sport = from_client ? c->cport : c->sport;
    s.dport = from_client ? c->sport : c->cport;
    s.from_first = from_client == c->client_first;
    s.seq = seq ? seq : (from_client ? c->cseq : c->sseq);
    s.ack = ack ? ack : (flags & A) ? (from_client ? c->sseq : c->cseq) : 0;
    s.bad_checksum = bad;
    s.truncated = trunc;
    if (!bad) {
        uint32_t adv = len + ((flags & S) ? 1u : 0u) + ((flags & F) ? 1u : 0u);
        if (flags & R)
            adv = 0;
        if (from_client && s.seq == c->cseq)
            c->cseq += adv;
        else if (!from_client && s.seq == c->sseq)
            c->sseq += adv;
    }
    c->last_ret = ts_zeek_segment(&c->z, &s);
    c->t += 0.01;
    return c->last_ret;
}

static unsigned cl(struct conn *c, unsigned flags, uint32_t len)
{
    return seg_full(c, true, flags, len, 0, 0, 1000, false, false);
}

static unsigned sv(struct conn *c, unsigned flags, uint32_t len)
{
    return seg_full(c, false, flags, len, 0, 0, 1000, false, false);
}

static void expect(const char *what, const struct conn *c, const char *state, const char *hist)
{
    char h[TS_ZEEK_HIST_BUFSZ];
    const char *gs = ts_zeek_conn_state(&c->z), *gh = ts_zeek_history(&c->z, h);
    checks++;
    if (strcmp(gs, state) || strcmp(gh, hist)) {
        failures++;
        printf("FAIL %-40s expected %-6s %-16s got %-6s %s\n", what, state, hist, gs, gh);
    } else {
        printf("ok   %-40s %-6s %s\n", what, gs, gh);
    }
}

static void expect_true(const char *what, bool v)
{
    checks++;
    if (!v) {
        failures++;
        printf("FAIL %s\n", what);
    } else {
        printf("ok   %s\n", what);
    }
}

static void handshake(struct conn *c)
{
    cl(c, S, 0);
    sv(c, S | A, 0);
    cl(c, A, 0);
}

/* ---- conn_state: one test per value ---------------------------------- */

static void test_states(void)
{
    struct conn c;

    init(&c, 8443, true);
    cl(&c, S, 0);
    expect("S0: SYN, no reply", &c, "S0", "S");

    init(&c, 8443, true);
    handshake(&c);
    cl(&c, A | P, 100);
    sv(&c, A | P, 50);            /* payload with ACK is d, not a */
    expect("S1: established, not closed", &c, "S1", "ShADd");
    cl(&c, A, 0);
    sv(&c, A, 0);
    expect("S1: pure ACKs add a", &c, "S1", "ShADda");

    init(&c, 8443, true);
    handshake(&c);
    cl(&c, A | P, 100);
    sv(&c, A, 0);
    sv(&c, A | P, 50);
    cl(&c, F | A, 0);
    sv(&c, F | A, 0);
    cl(&c, A, 0);
    expect("SF: normal close", &c, "SF", "ShADadFf");

    init(&c, 8443, true);
    cl(&c, S, 0);
    sv(&c, R | A, 0);
    expect("REJ: SYN answered by RST", &c, "REJ", "Sr");

    init(&c, 8443, true);
    handshake(&c);
    cl(&c, F | A, 0);
    expect("S2: originator closed, no reply", &c, "S2", "ShAF");

    init(&c, 8443, true);
    handshake(&c);
    sv(&c, F | A, 0);
    expect("S3: responder closed, no reply", &c, "S3", "ShAf");

    init(&c, 8443, true);
    handshake(&c);
    cl(&c, A | P, 10);
    cl(&c, R | A, 0);
    expect("RSTO: originator aborted", &c, "RSTO", "ShADR");

    init(&c, 8443, true);
    handshake(&c);
    sv(&c, A | P, 10);
    sv(&c, R | A, 0);
    expect("RSTR: responder aborted", &c, "RSTR", "ShAdr");

    init(&c, 8443, true);
    cl(&c, S, 0);
    cl(&c, R, 0);
    expect("RSTOS0: SYN then RST, no SYN-ACK", &c, "RSTOS0", "SR");

    /* SYN-ACK from a likely server port: roles flipped at once */
    init(&c, 80, false);
    sv(&c, S | A, 0);
    sv(&c, R, 0);
    expect("RSTRH: SYN-ACK then RST from responder", &c, "RSTRH", "^hr");

    init(&c, 8443, true);
    cl(&c, S, 0);
    cl(&c, F, 0);
    expect("SH: SYN then FIN, no SYN-ACK", &c, "SH", "SF");

    init(&c, 80, false);
    sv(&c, S | A, 0);
    sv(&c, F | A, 0);
    expect("SHR: SYN-ACK then FIN, no SYN", &c, "SHR", "^hf");

    init(&c, 8443, true);
    cl(&c, A | P, 100);
    sv(&c, A, 0);
    expect("OTH: midstream", &c, "OTH", "Da");

    /* RSTOS0 needs the history pattern: with an ACK first it is OTH */
    init(&c, 8443, true);
    cl(&c, S, 0);
    cl(&c, A, 0);
    cl(&c, R, 0);
    expect("OTH: SYN, ACK, RST (no RSTOS0)", &c, "OTH", "SAR");

    /* both sides reset, no payload: REJ */
    init(&c, 8443, true);
    handshake(&c);
    cl(&c, R, 0);
    sv(&c, R, 0);
    expect("REJ: both reset, no bytes", &c, "REJ", "ShARr");

    /* FIN then RST from one side, then the peer's FIN: SF */
    init(&c, 8443, true);
    handshake(&c);
    cl(&c, F | A, 0);
    cl(&c, R, 0);
    sv(&c, F | A, 0);
    expect("SF: FIN+RST counted as a close", &c, "SF", "ShAFRf");
}

/* ---- history letters --------------------------------------------------- */

static void test_letters(void)
{
    struct conn c;
    int i;

    /* a, d once per direction */
    init(&c, 8443, true);
    handshake(&c);
    for (i = 0; i < 3; i++) {
        cl(&c, A | P, 10);
        sv(&c, A, 0);
        sv(&c, A | P, 10);
        cl(&c, A, 0);
    }
    expect("a, d once per direction", &c, "S1", "ShADad");

    /* q: SYN+FIN, i: FIN+RST, once per direction */
    init(&c, 8443, true);
    cl(&c, S | F, 0);
    cl(&c, S | F, 0);
    expect("Q once", &c, "SH", "Q");
    init(&c, 8443, true);
    handshake(&c);
    sv(&c, F | R | A, 0);
    sv(&c, F | R | A, 0);
    expect("i once", &c, "RSTR", "ShAi");

    /* s/h: a retransmitted SYN adds nothing */
    init(&c, 8443, true);
    cl(&c, S, 0);
    seg_full(&c, true, S, 0, 1000, 0, 1000, false, false);
    sv(&c, S | A, 0);
    seg_full(&c, false, S | A, 0, 5000, 1001, 1000, false, false);
    expect("s/h: retransmissions add nothing", &c, "S1", "Sh");

    /* f: again only for a FIN at another sequence number */
    init(&c, 8443, true);
    handshake(&c);
    sv(&c, F | A, 0);
    seg_full(&c, false, F | A, 0, 5001, 1001, 1000, false, false);
    expect("f: retransmitted FIN once", &c, "S3", "ShAf");
    seg_full(&c, false, F | A, 0, 5100, 1001, 1000, false, false);
    expect("f: FIN elsewhere again", &c, "S3", "ShAff");

    /* r: again only for a RST at another sequence number */
    init(&c, 8443, true);
    handshake(&c);
    sv(&c, R, 0);
    seg_full(&c, false, R, 0, 5001, 0, 0, false, false);
    expect("r: same sequence number once", &c, "RSTR", "ShAr");
    seg_full(&c, false, R, 0, 5900, 0, 0, false, false);
    expect("r: another sequence number again", &c, "RSTR", "ShArr");

    /* t: retransmitted payload, 1st, 10th, 100th */
    init(&c, 8443, true);
    handshake(&c);
    cl(&c, A | P, 100);
    for (i = 1; i <= 120; i++) {
        seg_full(&c, true, A | P, 100, 1001, 0, 1000, false, false);
        if (i == 1)
            expect("T: 1st retransmission", &c, "S1", "ShADT");
        if (i == 9)
            expect("T: 9th", &c, "S1", "ShADT");
        if (i == 10)
            expect("T: 10th", &c, "S1", "ShADTT");
        if (i == 100)
            expect("T: 100th", &c, "S1", "ShADTTT");
    }
    expect("T: 120th", &c, "S1", "ShADTTT");

    /* w: zero window, logarithmic; none with a RST */
    init(&c, 8443, true);
    handshake(&c);
    for (i = 1; i <= 10; i++) {
        seg_full(&c, false, A, 0, 0, 0, 0, false, false);
        if (i == 1)
            expect("w: 1st zero window", &c, "S1", "ShAaw");
    }
    expect("w: 10th zero window", &c, "S1", "ShAaww");
    seg_full(&c, false, R | A, 0, 0, 0, 0, false, false);
    expect("w: not with a RST", &c, "RSTR", "ShAawwr");

    /* c: bad checksum, segment otherwise ignored */
    init(&c, 8443, true);
    cl(&c, S, 0);
    seg_full(&c, false, S | A, 0, 0, 0, 1000, true, false);
    expect("c: bad checksum, dropped", &c, "S0", "Sc");

    /* g: the peer acknowledges payload never seen */
    init(&c, 8443, true);
    handshake(&c);
    cl(&c, A | P, 100);
    seg_full(&c, false, A, 0, 0, 1301, 1000, false, false); /* acks 200 unseen bytes */
    expect("g: ACK beyond the data seen", &c, "S1", "ShADaG");
    init(&c, 8443, true);
    handshake(&c);
    seg_full(&c, true, A | P, 100, 0, 0, 1000, false, true); /* payload not captured */
    sv(&c, A, 0);
    expect("g: ACK of an uncaptured payload", &c, "S1", "ShADaG");
    init(&c, 8443, true);
    cl(&c, A | P, 100);
    seg_full(&c, false, A, 0, 0, 5000, 1000, false, false);
    expect("g: none on partial connections", &c, "OTH", "Da");

    /* ^: roles flipped by WantConnection (midstream from server port) */
    init(&c, 80, false);
    sv(&c, A | P, 100);
    cl(&c, A, 0);
    expect("^: first packet from a server port", &c, "OTH", "^dA");
    expect_true("^: originator is the stream's second sender", !ts_zeek_orig_is_first(&c.z));

    /* both ports likely servers: flip only if sport < dport */
    init(&c, 443, false);
    c.cport = 8080;
    sv(&c, A | P, 100);
    expect("^: both server ports, sport < dport", &c, "OTH", "^d");
    init(&c, 8080, false);
    c.cport = 443;
    sv(&c, A | P, 100);
    expect("^: both server ports, sport > dport", &c, "OTH", "D");

    /* SYN-ACK first from a non-server port: no flip until A or D, then "^h" */
    init(&c, 8443, false);
    sv(&c, S | A, 0);
    expect("H: SYN-ACK first, not flipped", &c, "OTH", "H");
    cl(&c, A, 0);
    expect("^h: flipped at the first A", &c, "OTH", "^hA");
    expect_true("^h: originator is now the client", !ts_zeek_orig_is_first(&c.z));

    /* SYN after the SYN-ACK (reordered capture): one connection */
    init(&c, 8443, false);
    seg_full(&c, false, S | A, 0, 5000, 1001, 1000, false, false);
    seg_full(&c, true, S, 0, 1000, 0, 1000, false, false);
    cl(&c, A, 0);
    expect("reordered handshake: one connection", &c, "S1", "Hs^A");

    /* history keeps the first 15 letters */
    init(&c, 8443, true);
    handshake(&c);
    for (i = 0; i < 12; i++) {
        sv(&c, R, 0);
        c.sseq += 100;
    }
    expect("history truncated at 15 letters", &c, "RSTR", "ShArrrrrrrrrrrr");
}

/* ---- Zeek connection boundaries in one stream -------------------------- */

static void test_splits(void)
{
    struct conn c;

    /* attempt timer: SYN unanswered for 5 s ends the connection */
    init(&c, 8443, true);
    cl(&c, S, 0);
    cl(&c, A | P, 10);
    expect("attempt: SYN and data, no reply", &c, "S0", "SD");
    c.t = 6.0;
    cl(&c, A | P, 10);
    expect("attempt: S0 ended at 5 s, new OTH", &c, "OTH", "D");
    expect_true("attempt: TS_ZEEK_NEW returned", (c.last_ret & TS_ZEEK_NEW) != 0);

    init(&c, 8443, true);
    cl(&c, S, 0);
    c.t = 4.0;
    cl(&c, A | P, 10);
    expect("attempt: before 5 s, same connection", &c, "S0", "SD");

    /* close delay: 5 s after a complete close the connection is gone */
    init(&c, 8443, true);
    handshake(&c);
    cl(&c, F | A, 0);
    sv(&c, F | A, 0);
    cl(&c, A, 0);
    c.t = 10.0;
    seg_full(&c, false, F | A, 0, 5000, 1001, 1000, false, false);
    expect("close delay: late FIN is a new connection", &c, "SH", "F");
    expect_true("close delay: TS_ZEEK_NEW", (c.last_ret & TS_ZEEK_NEW) != 0);
    expect_true("close delay: its originator is the server", !ts_zeek_orig_is_first(&c.z));
    c.sport = 80;
    c.t = 20.0;
    seg_full(&c, false, F | A, 0, 5000, 1001, 1000, false, false);
    expect("close delay: from port 80, roles flipped", &c, "SHR", "^f");

    /* reuse: a SYN after a RST starts a new connection at once */
    init(&c, 8443, true);
    cl(&c, S, 0);
    sv(&c, R | A, 0);
    c.cseq += 7777;
    cl(&c, S, 0);
    expect("reuse: SYN after RST", &c, "S0", "S");
    expect_true("reuse: TS_ZEEK_NEW", (c.last_ret & TS_ZEEK_NEW) != 0);

    /* a retransmitted SYN is not a reuse */
    init(&c, 8443, true);
    cl(&c, S, 0);
    expect_true("first segment: TS_ZEEK_NEW", (c.last_ret & TS_ZEEK_NEW) != 0);
    seg_full(&c, true, S, 0, 1000, 0, 1000, false, false);
    expect_true("SYN retransmission: same connection", !(c.last_ret & TS_ZEEK_NEW));

    /* a connection of bad-checksum segments only expires after 11 s;
     * once a valid segment came, the usual timeouts apply */
    init(&c, 8443, true);
    seg_full(&c, true, A | P, 10, 0, 0, 1000, true, false);
    c.t = 1.0;
    cl(&c, A | P, 10);
    c.t = 15.0;
    cl(&c, A | P, 10);
    expect("bad checksum first, then valid: one conn", &c, "OTH", "CD");
    init(&c, 8443, true);
    seg_full(&c, true, A | P, 10, 0, 0, 1000, true, false);
    c.t = 12.0;
    cl(&c, A | P, 10);
    expect("bad checksum only: gone after 11 s", &c, "OTH", "D");

    /* inactivity: 5 min after the handshake, 1 min during it */
    init(&c, 8443, true);
    handshake(&c);
    c.t = 299.0;
    cl(&c, A | P, 10);
    expect_true("inactivity: 299 s idle, same", !(c.last_ret & TS_ZEEK_NEW));
    c.t = 600.0;
    cl(&c, A | P, 10);
    expect_true("inactivity: 301 s idle, new", (c.last_ret & TS_ZEEK_NEW) != 0);
    init(&c, 22, true);
    handshake(&c);
    c.t = 1800.0;
    cl(&c, A | P, 10);
    expect_true("inactivity: port 22 has 1 h", !(c.last_ret & TS_ZEEK_NEW));
    init(&c, 8443, true);
    cl(&c, S, 0);
    sv(&c, A, 0);       /* an ACK before the SYN-ACK leaves the responder inactive */
    c.t = 61.0;
    cl(&c, S, 0);
    expect_true("attempt: a bare ACK reply does not count", (c.last_ret & TS_ZEEK_NEW) != 0);
}

int main(void)
{
    expect_true("sizeof(ts_zeek) == 24", sizeof(ts_zeek) == 24);
    test_states();
    test_letters();
    test_splits();
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
