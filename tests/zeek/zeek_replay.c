/* zeek_replay.c - replay TCP segments through plugin/core/zeek.c
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Independent of Wireshark and of the plugin: reads one TCP segment per
 * line on stdin, in capture order, tab separated:
 *
 *   stream  time  src  sport  dst  dport  flags  seq  ack  len  win  cksum  trunc
 *
 *   stream  tcp.stream (any non-negative integer identifying a connection)
 *   time    seconds since the epoch, "SSSS.NNNNNNNNN" (frame.time_epoch)
 *   flags   tcp.flags (hex "0x0012" or decimal)
 *   seq ack tcp.seq_raw tcp.ack_raw
 *   len     tcp.len;  win: tcp.window_size_value (raw)
 *   cksum   tcp.checksum.status: 0 bad, 1 good, 2 (or empty) unverified
 *   trunc   1 if the payload was not fully captured, else 0 (optional)
 *
 * and prints one line per Zeek connection (a stream can hold several),
 * in the order Zeek would have started them per stream:
 *
 *   stream  orig_h  orig_p  resp_h  resp_p  conn_state  history  start
 *
 * start is the input line number of the Zeek connection's first segment.
 *
 * Options:
 *   -C          ignore checksums (zeek -C)
 *   -i PREFIX   ignore checksums of segments whose source address starts
 *               with PREFIX (ignore_checksums_nets); may be repeated
 *   -p LIST     likely_server_ports: comma-separated ports, or "none";
 *               default: Zeek's default list (zeek.c)
 *   -v          also print every segment's state (debugging)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zeek.h"
#include "replay_split.h"

#define MAXF 16

struct stream {
    int used;
    ts_zeek z;
    char first_addr[64], other_addr[64];
    unsigned first_port, other_port;
    unsigned long start_line;   /* input line of the Zeek connection's first segment */
};

static struct stream *streams;
static size_t n_streams;

static struct stream *get_stream(size_t id)
{
    if (id >= n_streams) {
        size_t n = n_streams ? n_streams : 64;
        while (n <= id)
            n *= 2;
        streams = realloc(streams, n * sizeof *streams);
        if (!streams) {
            perror("realloc");
            exit(2);
        }
        memset(streams + n_streams, 0, (n - n_streams) * sizeof *streams);
        n_streams = n;
    }
    return &streams[id];
}

static void print_conn(size_t id, const struct stream *s)
{
    char h[TS_ZEEK_HIST_BUFSZ];
    int first = ts_zeek_orig_is_first(&s->z);
    printf("%zu\t%s\t%u\t%s\t%u\t%s\t%s\t%lu\n", id,
           first ? s->first_addr : s->other_addr, first ? s->first_port : s->other_port,
           first ? s->other_addr : s->first_addr, first ? s->other_port : s->first_port,
           ts_zeek_conn_state(&s->z), ts_zeek_history(&s->z, h), s->start_line);
}

static void parse_time(const char *s, ts_zeek_seg *seg)
{
    const char *dot = strchr(s, '.');
    seg->ts_sec = strtoll(s, NULL, 10);
    seg->ts_nsec = 0;
    if (dot) {
        unsigned long ns = 0;
        int i;
        const char *p = dot + 1;
        for (i = 0; i < 9; i++) {
            ns *= 10;
            if (*p >= '0' && *p <= '9')
                ns += (unsigned long)(*p++ - '0');
        }
        seg->ts_nsec = (uint32_t)ns;
    }
}

int main(int argc, char **argv)
{
    char line[4096];
    char *f[MAXF];
    const char *ignore_prefix[16];
    int n_ignore = 0, ignore_all = 0, verbose = 0, i;
    size_t id;
    unsigned long lineno = 0;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-C"))
            ignore_all = 1;
        else if (!strcmp(argv[i], "-v"))
            verbose = 1;
        else if (!strcmp(argv[i], "-i") && i + 1 < argc && n_ignore < 16)
            ignore_prefix[n_ignore++] = argv[++i];
        else if (!strcmp(argv[i], "-p") && i + 1 < argc) {
            uint16_t ports[64];
            size_t n = 0;
            char *list = argv[++i], *tok;
            if (strcmp(list, "none"))
                for (tok = strtok(list, ","); tok && n < 64; tok = strtok(NULL, ","))
                    ports[n++] = (uint16_t)atoi(tok);
            ts_zeek_set_server_ports(ports, n);
        } else {
            fprintf(stderr, "usage: %s [-C] [-i PREFIX] [-p PORTS|none] [-v] < segments.tsv\n",
                    argv[0]);
            return 2;
        }
    }

    while (fgets(line, sizeof line, stdin)) {
        ts_zeek_seg seg;
        struct stream *s;
        unsigned r;
        int n;
        lineno++;
        n = replay_split(line, f, MAXF);
        if (n < 11 || !*f[0] || line[0] == '#')
            continue;
        id = (size_t)strtoul(f[0], NULL, 10);
        s = get_stream(id);
        memset(&seg, 0, sizeof seg);
        parse_time(f[1], &seg);
        seg.sport = (uint16_t)atoi(f[3]);
        seg.dport = (uint16_t)atoi(f[5]);
        seg.flags = (uint16_t)strtoul(f[6], NULL, 0);
        seg.seq = (uint32_t)strtoul(f[7], NULL, 10);
        seg.ack = (uint32_t)strtoul(f[8], NULL, 10);
        seg.len = (uint32_t)strtoul(f[9], NULL, 10);
        seg.win = (uint16_t)strtoul(f[10], NULL, 10);
        if (!s->used) {
            s->used = 1;
            snprintf(s->first_addr, sizeof s->first_addr, "%s", f[2]);
            snprintf(s->other_addr, sizeof s->other_addr, "%s", f[4]);
            s->first_port = seg.sport;
            s->other_port = seg.dport;
        }
        seg.from_first = !strcmp(f[2], s->first_addr) && seg.sport == s->first_port;
        if (n > 11 && !strcmp(f[11], "0") && !ignore_all) {
            int j, ignored = 0;
            for (j = 0; j < n_ignore; j++)
                if (!strncmp(f[2], ignore_prefix[j], strlen(ignore_prefix[j])))
                    ignored = 1;
            seg.bad_checksum = !ignored;
        }
        seg.truncated = n > 12 && !strcmp(f[12], "1");

        {
            ts_zeek before = s->z;
            r = ts_zeek_segment(&s->z, &seg);
            if ((r & TS_ZEEK_NEW) && ts_zeek_conn_state(&before)[0]) {
                struct stream old = *s;
                old.z = before;
                print_conn(id, &old);
            }
            if (r & TS_ZEEK_NEW)
                s->start_line = lineno;
        }
        if (verbose) {
            char h[TS_ZEEK_HIST_BUFSZ];
            fprintf(stderr, "#%zu %s:%u>%s:%u %s seq=%u ack=%u len=%u -> %s %s %s/%s%s\n", id, f[2],
                    seg.sport, f[4], seg.dport, f[6], seg.seq, seg.ack, seg.len,
                    ts_zeek_conn_state(&s->z), ts_zeek_history(&s->z, h),
                    ts_zeek_ep_state_name(ts_zeek_orig_state(&s->z)),
                    ts_zeek_ep_state_name(ts_zeek_resp_state(&s->z)),
                    (r & TS_ZEEK_NEW) ? " NEW" : "");
        }
    }

    for (id = 0; id < n_streams; id++)
        if (streams[id].used)
            print_conn(id, &streams[id]);
    free(streams);
    return 0;
}
