/* test_fsm.c - unit tests of the pure state machine, without tshark
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 *   test_fsm cells    <fsm_cells.tsv>     every table cell equals the reviewed spec
 *   test_fsm scenario <scenarios.txt>     segment sequences through ts_conn_track(),
 *                                         then: every producible cell was exercised
 *   test_fsm dump-cells                   print the table in fsm_cells.tsv form
 *
 * fsm.c is compiled into this program with TS_FSM_COVERAGE, which counts
 * the cells each step looks up (see fsm.c).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anomalies.h"
#include "classify.h"
#include "conn.h"
#include "fsm.h"

extern unsigned long ts_fsm_hits[TS_NDIRS][TS_NEVENTS][TS_FSM_NSTATES];

static int failures;

static void
fail(const char *where, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FAIL %s:%d: ", where, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    failures++;
}

static int
lookup_name(const char *s, const char *(*name)(int), int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, name(i)) == 0)
            return i;
    return -1;
}

/* A cell that no classification can produce (see classify.c). */
static int
never_produced(int dir, int ev)
{
    if (dir == TS_DIR_SEND)
        return ev == TS_EV_ACK_SYN_X || ev == TS_EV_ACK_FIN_X;
    return ev == TS_EV_SYNACK || ev == TS_EV_FIN_X;
}

/* Cells that one rule fills, checked as a block by "cells" and not
 * required of the scenarios; -1 if the cell has no such rule.
 *  - a received SYN or FIN shows when it is answered (but a FIN that
 *    reaches FIN_WAIT1 without acking its FIN: the FINs crossed);
 *  - a crossed FIN is a FIN but from ESTABLISHED;
 *  - CLOSED after LAST_ACK is CLOSED but for its FIN again;
 *  - a sender of a RST is done with the connection;
 *  - an ACK of a SYN or FIN the receiver's state says it has not sent
 *    (CLOSED, LISTEN, CLOSED after LAST_ACK; for a FIN also the handshake
 *    states, ESTABLISHED and CLOSE_WAIT) tells nothing;
 *  - an endpoint that is not synchronized cannot answer a FIN. */
static int
rule_of(int dir, int ev, int st)
{
    if (st == sLC && !(dir == TS_DIR_SEND && (ev == TS_EV_FIN || ev == TS_EV_FIN_X)))
        return ts_fsm_table[dir][ev][sCL];
    if (dir == TS_DIR_RECV && ev == TS_EV_SYN)
        return sIG;
    if (dir == TS_DIR_RECV && ev == TS_EV_FIN && st != sF1)
        return sIG;
    if (dir == TS_DIR_SEND && ev == TS_EV_FIN_X && st != sES)
        return ts_fsm_table[TS_DIR_SEND][TS_EV_FIN][st];
    if (dir == TS_DIR_SEND && ev == TS_EV_RST)
        return sCL;
    if (dir == TS_DIR_RECV && (ev == TS_EV_ACK_SYN || ev == TS_EV_ACK_SYN_X) &&
        (st == sCL || st == sLI || st == sLC))
        return sIG;
    if (dir == TS_DIR_RECV && (ev == TS_EV_ACK_FIN || ev == TS_EV_ACK_FIN_X) &&
        (st <= sES || st == sCW || st == sLC))
        return sIG;
    if (dir == TS_DIR_SEND && ev == TS_EV_ACK_FIN && st < sES)
        return sIV;
    return -1;
}

/* Producible cells no sequence of segments can reach, and why. */
static const char *
unreachable(int dir, int ev, int st)
{
    if (dir == TS_DIR_RECV && ev == TS_EV_ACK_SYN && st == sSX)
        return "sSX is entered only on an ACK from a peer that sent a bare SYN, "
               "so every later ACK of the SYN from it is ACK_SYN_X";
    return NULL;
}


static const char *const anomaly_names[TS_AN_COUNT] = {
#define TS_AN_NAME(id, name, group, severity, summary, rule, doc) name,
    TS_ANOMALIES(TS_AN_NAME)
#undef TS_AN_NAME
};

/* Anomalies every scenario line checks implicitly (from hs=, td=, mid). */
#define DERIVED_ANOMALIES (TS_AN_BIT(HANDSHAKE_STEP) | TS_AN_BIT(TEARDOWN_STEP) | \
                           TS_AN_BIT(ROLES_GUESSED))

static const char *anomaly_i(int i) { return i >= 0 && i < TS_AN_COUNT ? anomaly_names[i] : "?"; }

/* "illegal_flags,refused" -> bits; -1 on an unknown name */
static long
parse_anomalies(const char *s)
{
    long bits = 0;
    char name[64];
    while (*s) {
        size_t n = strcspn(s, ",");
        if (n >= sizeof name)
            return -1;
        memcpy(name, s, n);
        name[n] = '\0';
        int i = lookup_name(name, anomaly_i, TS_AN_COUNT);
        if (i < 0)
            return -1;
        bits |= 1L << i;
        s += n + (s[n] == ',');
    }
    return bits;
}

static const char *
anomalies_str(uint32_t bits, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < TS_AN_COUNT && o < len; i++)
        if (bits & (1u << i))
            o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? "," : "", anomaly_names[i]);
    if (!o)
        snprintf(buf, len, "-");
    return buf;
}

static const char *alias_i(int i) { return ts_fsm_state_alias((uint8_t)i); }
static const char *event_i(int i) { return ts_event_name((ts_event)i); }
static const char *dir_i(int i) { return ts_dir_name((ts_dir)i); }
static const char *state_i(int i) { return ts_state_name((ts_state)i); }

/* ---- cells ------------------------------------------------------------ */

static int
dump_cells(void)
{
    printf("# dir\tevent\tstate\tnext\n");
    for (int d = 0; d < TS_NDIRS; d++)
        for (int e = 0; e < TS_NEVENTS; e++)
            for (int s = 0; s < TS_FSM_NSTATES; s++)
                printf("%s\t%s\t%s\t%s\n", dir_i(d), event_i(e), alias_i(s),
                       alias_i(ts_fsm_table[d][e][s]));
    return 0;
}

static int
check_cells(const char *path)
{
    static unsigned char seen[TS_NDIRS][TS_NEVENTS][TS_FSM_NSTATES];
    char buf[256];
    int line = 0, ncells = 0;
    FILE *fp = fopen(path, "r");

    if (!fp) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 2;
    }
    while (fgets(buf, sizeof buf, fp)) {
        char d[32], e[32], s[32], n[32];
        line++;
        if (buf[0] == '#' || buf[0] == '\n')
            continue;
        if (sscanf(buf, "%31s %31s %31s %31s", d, e, s, n) != 4) {
            fail(path, line, "expected: dir event state next");
            continue;
        }
        int di = lookup_name(d, dir_i, TS_NDIRS), ei = lookup_name(e, event_i, TS_NEVENTS);
        int si = lookup_name(s, alias_i, TS_FSM_NSTATES), ni = lookup_name(n, alias_i, sBK + 1);
        if (di < 0 || ei < 0 || si < 0 || ni < 0) {
            fail(path, line, "unknown name in '%s %s %s %s'", d, e, s, n);
            continue;
        }
        if (seen[di][ei][si]++)
            fail(path, line, "cell %s %s %s listed twice", d, e, s);
        if (ts_fsm_table[di][ei][si] != ni)
            fail(path, line, "cell %s %s %s: table says %s, spec says %s", d, e, s,
                 alias_i(ts_fsm_table[di][ei][si]), n);
        if (never_produced(di, ei) && ni != sIV)
            fail(path, line, "cell %s %s %s is never produced and must be sIV", d, e, s);
        if (rule_of(di, ei, si) >= 0 && ni != rule_of(di, ei, si))
            fail(path, line, "cell %s %s %s breaks its rule (%s)", d, e, s,
                 alias_i(rule_of(di, ei, si)));
        ncells++;
    }
    fclose(fp);
    for (int di = 0; di < TS_NDIRS; di++)
        for (int ei = 0; ei < TS_NEVENTS; ei++)
            for (int si = 0; si < TS_FSM_NSTATES; si++)
                if (!seen[di][ei][si])
                    fail(path, 0, "cell %s %s %s missing from the spec", dir_i(di),
                         event_i(ei), alias_i(si));

    /* ts_fsm_step resolves the pseudo-states in one place. */
    for (int s = 0; s < TS_FSM_NSTATES; s++) {
        for (int d = 0; d < TS_NDIRS; d++) {
            for (int e = 0; e < TS_NEVENTS; e++) {
                for (int passive = 0; passive < 2; passive++) {
                    uint8_t st = (uint8_t)s;
                    const uint8_t cell = ts_fsm_table[d][e][s];
                    ts_step_result r = ts_fsm_step(&st, (ts_dir)d, (ts_event)e, passive);
                    uint8_t want = cell == sBK ? (passive ? sLI : sCL)
                                 : cell >= TS_FSM_NSTATES ? (uint8_t)s : cell;
                    ts_step_result want_r = cell == sIV ? TS_STEP_INVALID
                                          : cell == sIG ? TS_STEP_IGNORED
                                          : want == s ? TS_STEP_SAME : TS_STEP_MOVED;
                    if (st != want || r != want_r)
                        fail("ts_fsm_step", 0, "%s %s %s passive=%d -> %s/%d, want %s/%d",
                             dir_i(d), event_i(e), alias_i(s), passive, alias_i(st), r,
                             alias_i(want), want_r);
                }
            }
        }
    }
    /* Out-of-range input is refused, never looked up. */
    uint8_t bad = TS_FSM_NSTATES;
    if (ts_fsm_step(&bad, TS_DIR_SEND, TS_EV_SYN, 0) != TS_STEP_INVALID || bad != TS_FSM_NSTATES)
        fail("ts_fsm_step", 0, "out-of-range state accepted");
    uint8_t ok = sES;
    if (ts_fsm_step(&ok, TS_DIR_SEND, TS_NEVENTS, 0) != TS_STEP_INVALID || ok != sES)
        fail("ts_fsm_step", 0, "out-of-range event accepted");
    if (ts_fsm_step(&ok, TS_NDIRS, TS_EV_SYN, 0) != TS_STEP_INVALID || ok != sES)
        fail("ts_fsm_step", 0, "out-of-range direction accepted");

    /* Display values are Linux's TCP_* numbers. */
    static const struct { uint8_t st; int linux_value; } lin[] = {
        { sES, 1 }, { sSS, 2 }, { sSA, 2 }, { sSR, 3 }, { sSX, 3 }, { sF1, 4 }, { sF2, 5 },
        { sTW, 6 }, { sTC, 6 }, { sTX, 6 }, { sCL, 7 }, { sLC, 7 }, { sCW, 8 }, { sLA, 9 },
        { sLI, 10 }, { sCG, 11 },
    };
    for (size_t i = 0; i < sizeof lin / sizeof lin[0]; i++)
        if ((int)ts_fsm_display(lin[i].st) != lin[i].linux_value)
            fail("ts_fsm_display", 0, "%s -> %d, want %d", alias_i(lin[i].st),
                 ts_fsm_display(lin[i].st), lin[i].linux_value);
    if (ts_fsm_display(sIV) != TS_STATE_NONE)
        fail("ts_fsm_display", 0, "pseudo-state displayed");

    printf("cells: %d checked, %d failures\n", ncells, failures);
    return failures ? 1 : 0;
}

/* ---- scenarios -------------------------------------------------------- */

static int
parse_flags(const char *s, uint16_t *out)
{
    uint16_t f = 0;
    if (strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    for (; *s; s++) {
        switch (*s) {
        case 'F': f |= TS_TH_FIN; break;
        case 'S': f |= TS_TH_SYN; break;
        case 'R': f |= TS_TH_RST; break;
        case 'P': f |= TS_TH_PSH; break;
        case 'A': f |= TS_TH_ACK; break;
        case 'U': f |= TS_TH_URG; break;
        case 'E': f |= TS_TH_ECE; break;
        case 'C': f |= TS_TH_CWR; break;
        case 'N': f |= TS_TH_AE; break;
        case 'X': f |= 0x800; break;   /* a reserved bit */
        default: return -1;
        }
    }
    *out = f;
    return 0;
}

/* "2,3" -> (1 << 2) | (1 << 3) */
static int
parse_bits(const char *s)
{
    int bits = 0;
    while (*s) {
        char *end;
        long n = strtol(s, &end, 10);
        if (end == s || n < 1 || n > 7)
            return -1;
        bits |= 1 << n;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return bits;
}

static const char *
closer_name(int c)
{
    static const char *const n[] = { "none", "client", "server", "both" };
    return c >= 0 && c <= 3 ? n[c] : "?";
}

static const char *closer_i(int i) { return closer_name(i); }
static const char *outcome_i(int i) { return ts_outcome_name((ts_outcome)i); }
static const char *style_i(int i) { return ts_close_style_name((ts_close_style)i); }

static const char *
bits_str(int bits, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < 8; i++)
        if (bits & (1 << i))
            o += (size_t)snprintf(buf + o, len - o, "%s%d", o ? "," : "", i);
    if (!o)
        snprintf(buf, len, "-");
    return buf;
}

static int
run_scenarios(const char *path)
{
    char buf[512], name[128] = "?";
    int line = 0, nseg = 0, nscen = 0;
    uint16_t cport = 40000, sport = 80;
    int closer = 0;   /* sticky: once stated, it holds for the rest of the scenario */
    int summarized = 1, last_line = 0;   /* the last segment must give out= and style= */
    ts_conn conn;
    FILE *fp = fopen(path, "r");

    if (!fp) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 2;
    }
    memset(&conn, 0, sizeof conn);
    while (fgets(buf, sizeof buf, fp)) {
        char *hash = strchr(buf, '#');
        line++;
        if (hash)
            *hash = '\0';
        char *p = buf;
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            continue;
        if (strncmp(p, "scenario", 8) == 0) {
            if (!summarized)
                fail(name, last_line, "the scenario's last segment needs out= and style=");
            summarized = 0;
            sscanf(p + 8, "%127s", name);
            memset(&conn, 0, sizeof conn);
            cport = 40000;
            sport = 80;
            closer = 0;
            nscen++;
            continue;
        }
        if (strncmp(p, "ports", 5) == 0) {
            unsigned a, b;
            if (sscanf(p + 5, "%u %u", &a, &b) != 2)
                fail(name, line, "ports: want two numbers");
            cport = (uint16_t)a;
            sport = (uint16_t)b;
            continue;
        }

        /* <a|b> <flags> <seq> <ack> [len= win=] -> <client> <server> [keys] */
        char *arrow = strstr(p, "->");
        if (!arrow) {
            fail(name, line, "no '->'");
            continue;
        }
        *arrow = '\0';
        char who[8], flags[16];
        unsigned long seq, ack;
        ts_segment seg;
        memset(&seg, 0, sizeof seg);
        int n = 0;
        if (sscanf(p, "%7s %15s %lu %lu%n", who, flags, &seq, &ack, &n) != 4 ||
            (strcmp(who, "a") && strcmp(who, "b"))) {
            fail(name, line, "want: a|b FLAGS SEQ ACK [len=N] [win=N] -> ...");
            continue;
        }
        if (parse_flags(flags, &seg.flags)) {
            fail(name, line, "bad flags '%s'", flags);
            continue;
        }
        seg.stream = (uint32_t)nscen;
        seg.seq = (uint32_t)seq;
        seg.ack = (uint32_t)ack;
        seg.win = 65535;
        const int from_a = strcmp(who, "a") == 0;
        seg.sport = from_a ? cport : sport;
        seg.dport = from_a ? sport : cport;
        seg.src_key = from_a ? 0xA : 0xB;
        seg.dst_key = from_a ? 0xB : 0xA;
        for (char *tok = strtok(p + n, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
            if (strncmp(tok, "len=", 4) == 0)
                seg.len = (uint32_t)strtoul(tok + 4, NULL, 10);
            else if (strncmp(tok, "win=", 4) == 0)
                seg.win = (uint32_t)strtoul(tok + 4, NULL, 10);
            else
                fail(name, line, "unknown segment key '%s'", tok);
        }

        char cst[32], sst[32];
        if (sscanf(arrow + 2, "%31s %31s%n", cst, sst, &n) != 2) {
            fail(name, line, "want: -> CLIENT_STATE SERVER_STATE [keys]");
            continue;
        }
        int want_hs = 0, want_td = 0, want_mid = 0, want_invalid = 0;
        int want_sender = -1;
        long want_an = 0;
        char want_ill[64] = "";
        int want_out = -1, want_style = -1;
        char want_int[64] = "";
        for (char *tok = strtok(arrow + 2 + n, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
            if (strncmp(tok, "hs=", 3) == 0)
                want_hs = parse_bits(tok + 3);
            else if (strncmp(tok, "td=", 3) == 0)
                want_td = parse_bits(tok + 3);
            else if (strncmp(tok, "closer=", 7) == 0)
                closer = lookup_name(tok + 7, closer_i, 4);
            else if (strcmp(tok, "mid") == 0)
                want_mid = 1;
            else if (strcmp(tok, "invalid") == 0)
                want_invalid = 1;
            else if (strcmp(tok, "from=client") == 0)
                want_sender = TS_CLIENT;
            else if (strcmp(tok, "from=server") == 0)
                want_sender = TS_SERVER;
            else if (strncmp(tok, "int=", 4) == 0)
                snprintf(want_int, sizeof want_int, "%s", tok + 4);
            else if (strncmp(tok, "an=", 3) == 0)
                want_an = parse_anomalies(tok + 3);
            else if (strncmp(tok, "ill=", 4) == 0)
                snprintf(want_ill, sizeof want_ill, "%s", tok + 4);
            else if (strncmp(tok, "out=", 4) == 0)
                want_out = lookup_name(tok + 4, outcome_i, TS_OUTCOME_MAX + 1);
            else if (strncmp(tok, "style=", 6) == 0)
                want_style = lookup_name(tok + 6, style_i, TS_STYLE_MAX + 1);
            else
                fail(name, line, "unknown expectation '%s'", tok);
        }

        ts_record rec;
        seg.time = 1700000000.0 + 0.01 * nseg;
        ts_conn_track(&conn, &seg, &rec, NULL);
        nseg++;
        last_line = line;
        summarized = want_out >= 0 && want_style >= 0;
        if (getenv("TS_PRINT_SUMMARY"))
            printf("SUMMARY %s %d %s %s\n", name, line, ts_outcome_name(ts_conn_outcome(&conn)),
                   ts_close_style_name(ts_conn_close_style(&conn)));
        if (want_out >= 0 && ts_conn_outcome(&conn) != (ts_outcome)want_out)
            fail(name, line, "outcome %s, want %s", ts_outcome_name(ts_conn_outcome(&conn)),
                 ts_outcome_name((ts_outcome)want_out));
        if (want_style >= 0 && ts_conn_close_style(&conn) != (ts_close_style)want_style)
            fail(name, line, "close style %s, want %s",
                 ts_close_style_name(ts_conn_close_style(&conn)),
                 ts_close_style_name((ts_close_style)want_style));

        const char *got_c = ts_state_name((ts_state)rec.state[TS_CLIENT]);
        const char *got_s = ts_state_name((ts_state)rec.state[TS_SERVER]);
        char b1[32], b2[32], have_int[64];
        snprintf(have_int, sizeof have_int, "%s,%s", alias_i(conn.ep[TS_CLIENT].st),
                 alias_i(conn.ep[TS_SERVER].st));
        if (strcmp(got_c, cst) || strcmp(got_s, sst))
            fail(name, line, "states %s %s, want %s %s (internal %s)", got_c, got_s, cst, sst,
                 have_int);
        if (lookup_name(cst, state_i, TS_STATE_MAX + 1) < 0 ||
            lookup_name(sst, state_i, TS_STATE_MAX + 1) < 0)
            fail(name, line, "unknown state name in expectation");
        if (rec.handshake != want_hs)
            fail(name, line, "handshake %s, want %s", bits_str(rec.handshake, b1, sizeof b1),
                 bits_str(want_hs, b2, sizeof b2));
        if (rec.teardown != want_td)
            fail(name, line, "teardown %s, want %s", bits_str(rec.teardown, b1, sizeof b1),
                 bits_str(want_td, b2, sizeof b2));
        if (want_hs < 0 || want_td < 0 || closer < 0 || want_an < 0)
            fail(name, line, "bad hs=, td=, closer= or an= value");
        if ((int)TS_REC_CLOSER(&rec) != closer)
            fail(name, line, "closer %s, want %s", closer_name(TS_REC_CLOSER(&rec)),
                 closer_name(closer));
        char a1[256], a2[256];
        if ((rec.anomalies & ~DERIVED_ANOMALIES) != (uint32_t)want_an)
            fail(name, line, "anomalies %s, want %s",
                 anomalies_str(rec.anomalies & ~DERIVED_ANOMALIES, a1, sizeof a1),
                 anomalies_str((uint32_t)want_an, a2, sizeof a2));
        if (!!(rec.anomalies & TS_AN_BIT(HANDSHAKE_STEP)) != !!rec.handshake ||
            !!(rec.anomalies & TS_AN_BIT(TEARDOWN_STEP)) != !!rec.teardown ||
            !!(rec.anomalies & TS_AN_BIT(ROLES_GUESSED)) !=
                !!((rec.flags & TS_REC_FIRST) && (rec.flags & TS_REC_MIDSTREAM)))
            fail(name, line, "step or roles_guessed anomalies do not match the record");
        char ill[64] = "";
        if (rec.illegal)
            ts_illegal_name(rec.illegal, ill, sizeof ill);
        for (char *q = want_ill; *q; q++)
            if (*q == '_')
                *q = ' ';   /* ill=FIN_without_ACK_(FIN_scan) */
        if (strcmp(ill, want_ill))
            fail(name, line, "illegal '%s', want '%s'", ill, want_ill);
        if (!!(rec.flags & TS_REC_MIDSTREAM) != want_mid)
            fail(name, line, "midstream %d, want %d", !!(rec.flags & TS_REC_MIDSTREAM), want_mid);
        if (!!(rec.flags & TS_REC_INVALID) != want_invalid)
            fail(name, line, "invalid transition %d, want %d", !!(rec.flags & TS_REC_INVALID),
                 want_invalid);
        if (want_sender >= 0 && !!(rec.flags & TS_REC_FROM_SERVER) != want_sender)
            fail(name, line, "sender is the %s", rec.flags & TS_REC_FROM_SERVER ? "server" : "client");
        if (want_int[0] && strcmp(want_int, have_int))
            fail(name, line, "internal states %s, want %s", have_int, want_int);
        if (rec.prev[0] == TS_STATE_NONE || rec.prev[1] == TS_STATE_NONE)
            fail(name, line, "prev state missing");
    }
    fclose(fp);
    if (!summarized)
        fail(name, last_line, "the scenario's last segment needs out= and style=");

    /* Every producible cell was exercised by some scenario; the others never were. */
    int unhit = 0;
    for (int d = 0; d < TS_NDIRS; d++)
        for (int e = 0; e < TS_NEVENTS; e++)
            for (int s = 0; s < TS_FSM_NSTATES; s++) {
                if (never_produced(d, e)) {
                    if (ts_fsm_hits[d][e][s])
                        fail("coverage", 0, "cell %s %s %s is never produced but was hit",
                             dir_i(d), event_i(e), alias_i(s));
                } else if (rule_of(d, e, s) >= 0) {
                    continue;
                } else if (unreachable(d, e, s)) {
                    if (ts_fsm_hits[d][e][s])
                        fail("coverage", 0, "cell %s %s %s was hit, yet is listed unreachable",
                             dir_i(d), event_i(e), alias_i(s));
                } else if (!ts_fsm_hits[d][e][s]) {
                    fprintf(stderr, "  unexercised cell: %s %s %s -> %s\n", dir_i(d),
                            event_i(e), alias_i(s), alias_i(ts_fsm_table[d][e][s]));
                    unhit++;
                }
            }
    if (unhit)
        fail("coverage", 0, "%d producible cells not exercised by any scenario", unhit);
    printf("scenarios: %d scenarios, %d segments, %d failures\n", nscen, nseg, failures);
    return failures ? 1 : 0;
}

int
main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "dump-cells") == 0)
        return dump_cells();
    if (argc == 3 && strcmp(argv[1], "cells") == 0)
        return check_cells(argv[2]);
    if (argc == 3 && strcmp(argv[1], "scenario") == 0)
        return run_scenarios(argv[2]);
    fprintf(stderr, "usage: %s cells FILE | scenario FILE | dump-cells\n", argv[0]);
    return 2;
}
