/* core_replay.c - replay TCP segments through the native core (conn.c & co.)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The C half of the core parity check (tests/lua/parity_core.py); its Lua
 * half is tests/lua/core_replay.lua, which must print the same bytes.
 * Reads one segment per line on stdin, tab separated, as zeek_replay does:
 *
 *   stream  time  src  sport  dst  dport  flags  seq  ack  len  win  cksum  trunc
 *
 * (win is used as both the scaled and the raw window; cksum 0 = bad), and
 * prints one line per segment: the record (ts_record), what the tracker
 * said (TS_TRACK_*), and the connection's summary and Zeek view after it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anomalies.h"
#include "classify.h"
#include "conn.h"
#include "summary.h"
#include "zeek.h"
#include "replay_split.h"

#define MAXF 16

static ts_conn *conns;
static size_t n_conns;

static ts_conn *
conn_of(size_t id)
{
    if (id >= n_conns) {
        size_t n = n_conns ? n_conns : 64;
        while (n <= id)
            n *= 2;
        conns = realloc(conns, n * sizeof *conns);
        if (!conns) {
            perror("realloc");
            exit(2);
        }
        memset(conns + n_conns, 0, (n - n_conns) * sizeof *conns);
        n_conns = n;
    }
    return &conns[id];
}

/* FNV-1a of the address text: an address's identity */
static uint64_t
key_of(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

int
main(void)
{
    char line[4096];
    char *f[MAXF];
    unsigned long lineno = 0;

    while (fgets(line, sizeof line, stdin)) {
        ts_segment seg;
        ts_record rec;
        ts_zeek before;
        char hist[TS_ZEEK_HIST_BUFSZ], bhist[TS_ZEEK_HIST_BUFSZ], ill[64] = "";
        unsigned track;
        int n;

        lineno++;
        if (line[0] == '#')
            continue;
        n = replay_split(line, f, MAXF);
        if (n < 11)
            continue;
        memset(&seg, 0, sizeof seg);
        seg.stream = (uint32_t)strtoul(f[0], NULL, 10);
        seg.time = strtod(f[1], NULL);
        seg.src_key = key_of(f[2]);
        seg.sport = (uint16_t)atoi(f[3]);
        seg.dst_key = key_of(f[4]);
        seg.dport = (uint16_t)atoi(f[5]);
        seg.flags = (uint16_t)strtoul(f[6], NULL, 0);
        seg.seq = (uint32_t)strtoul(f[7], NULL, 10);
        seg.ack = (uint32_t)strtoul(f[8], NULL, 10);
        seg.len = (uint32_t)strtoul(f[9], NULL, 10);
        seg.win = (uint32_t)strtoul(f[10], NULL, 10);
        seg.bad_checksum = n > 11 && strcmp(f[11], "0") == 0;
        seg.truncated = n > 12 && strcmp(f[12], "1") == 0;

        ts_conn *c = conn_of(seg.stream);
        memset(&before, 0, sizeof before);
        track = ts_conn_track(c, &seg, &rec, &before);
        if (rec.illegal)
            ts_illegal_name(rec.illegal, ill, sizeof ill);
        printf("%lu\t%u\tst=%u,%u prev=%u,%u hs=%u td=%u closer=%u srv=%d mid=%d first=%d "
               "inv=%d ill=%s an=%u\ttrack=%d,%d,%d",
               lineno, rec.stream, rec.state[0], rec.state[1], rec.prev[0], rec.prev[1],
               rec.handshake, rec.teardown, (unsigned)TS_REC_CLOSER(&rec),
               !!(rec.flags & TS_REC_FROM_SERVER), !!(rec.flags & TS_REC_MIDSTREAM),
               !!(rec.flags & TS_REC_FIRST), !!(rec.flags & TS_REC_INVALID), ill, rec.anomalies,
               !!(track & TS_TRACK_HALF_OPEN_BEGIN), !!(track & TS_TRACK_HALF_OPEN_END),
               !!(track & TS_TRACK_ZEEK_NEW));
        if (track & TS_TRACK_ZEEK_NEW)
            printf(" ended=%s/%s", ts_zeek_conn_state(&before), ts_zeek_history(&before, bhist));
        printf("\tout=%s style=%s pending=%d last=%.9g segs=%u,%u bytes=%llu,%llu\tzeek=%s/%s/%d\n",
               ts_outcome_name(ts_conn_outcome(c)), ts_close_style_name(ts_conn_close_style(c)),
               ts_conn_half_open_pending(c), (double)c->sum.last, c->sum.segs[0], c->sum.segs[1],
               (unsigned long long)c->sum.bytes[0], (unsigned long long)c->sum.bytes[1],
               ts_zeek_conn_state(&c->zeek), ts_zeek_history(&c->zeek, hist),
               ts_zeek_orig_is_first(&c->zeek));
    }
    free(conns);
    return 0;
}
