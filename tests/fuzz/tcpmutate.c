/* tcpmutate.c - deterministic mutations of the TCP headers in a pcap file
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 *   tcpmutate [-s SEED] [-r RATE] [-m KINDS] [-k] [-v] IN.pcap OUT.pcap
 *
 * Reads a classic pcap file (either byte order, micro- or nanosecond
 * timestamps; convert pcapng first with editcap -F pcap), finds the TCP
 * header of every record it can parse and mutates, with probability RATE
 * per TCP segment, one to three of its fields.  Whole records are also
 * duplicated, dropped, swapped with the next one, moved in time or cut
 * short, each with probability RATE/4.  The same SEED and input always
 * give the same output bytes (one splitmix64 stream, consumed in record
 * order).  No Wireshark, no GLib: the fuzz driver (fuzz.py) runs tshark
 * with the plugin on the output.
 *
 * Link types: Ethernet (802.1Q, 802.1ad and QinQ tags, MPLS, PPPoE
 * session), Linux cooked (SLL, SLL2), raw IPv4/IPv6, BSD loopback and
 * null, PPP; inside IP: IPv6 extension headers (hop-by-hop, routing,
 * destination options, first fragments, AH), IP-in-IP, 6in4, GRE (with
 * transparent Ethernet bridging and ERSPAN II) and VXLAN on UDP 4789.
 * A record it cannot parse is copied unchanged (it can still be
 * duplicated, dropped or moved).
 *
 * KINDS (comma-separated, default all): flags seq ack ports doff win urg
 * opts (header fields) and dup drop swap time trunc (records).
 * -k recomputes the TCP checksum of a mutated, wholly captured,
 * unfragmented segment; without it the checksum is left as it was (so a
 * mutated segment usually has a bad one: tcp.check_checksum finds it).
 * -v logs every mutation on stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- random numbers: splitmix64, one stream per run ----------------------- */

static uint64_t rng_state;

static uint64_t
rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint32_t
rng_below(uint32_t n)          /* 0 .. n-1; n > 0 */
{
    return (uint32_t)(rng_next() % n);
}

static bool
rng_chance(double p)
{
    return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0) < p;
}

/* ---- options and logging ---------------------------------------------------- */

enum kind {
    K_FLAGS, K_SEQ, K_ACK, K_PORTS, K_DOFF, K_WIN, K_URG, K_OPTS,   /* header fields */
    K_DUP, K_DROP, K_SWAP, K_TIME, K_TRUNC,                         /* records */
    K_COUNT
};
#define K_FIELDS K_DUP   /* kinds below this one mutate a header */

static const char *const kind_names[K_COUNT] = {
    "flags", "seq", "ack", "ports", "doff", "win", "urg", "opts",
    "dup", "drop", "swap", "time", "trunc",
};

/* Lifetime: the program's. */
static struct {
    uint64_t seed;
    double   rate;
    unsigned kinds;             /* bit (1 << enum kind) */
    bool     checksum;
    bool     verbose;
} opt = { 1, 0.05, (1u << K_COUNT) - 1, false, false };

static unsigned long rec_no;    /* input record being mutated (1-based), for the log */

static void
note(const char *fmt, ...)
{
    va_list ap;

    if (!opt.verbose)
        return;
    fprintf(stderr, "tcpmutate: record %lu: ", rec_no);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void
die(const char *fmt, ...)
{
    va_list ap;

    fputs("tcpmutate: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

/* ---- byte access ---------------------------------------------------------- */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* ---- the pcap file ------------------------------------------------------ */

#define PCAP_HDR 24
#define REC_HDR  16
#define MAX_REC  (256u * 1024u)     /* larger records are refused as corrupt */

typedef struct record {
    uint32_t sec, frac;             /* timestamp: seconds, micro- or nanoseconds */
    uint32_t orig_len;
    uint32_t len;                   /* captured bytes in data */
    uint8_t *data;                  /* owned */
} record;

/* Lifetime: the program's. */
static struct {
    uint8_t  hdr[PCAP_HDR];
    bool     swapped;               /* the file's byte order is not ours */
    bool     nano;
    uint32_t linktype;
    record  *recs;
    size_t   n, cap;
} file;

static uint32_t
file32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return file.swapped ? __builtin_bswap32(v) : v;
}

static void
put_file32(uint8_t *p, uint32_t v)
{
    if (file.swapped)
        v = __builtin_bswap32(v);
    memcpy(p, &v, 4);
}

static void
push_record(record r)
{
    if (file.n == file.cap) {
        file.cap = file.cap ? file.cap * 2 : 256;
        file.recs = realloc(file.recs, file.cap * sizeof *file.recs);
        if (!file.recs)
            die("out of memory");
    }
    file.recs[file.n++] = r;
}

static void
read_pcap(const char *path)
{
    FILE *fp = fopen(path, "rb");
    uint8_t rh[REC_HDR];
    uint32_t magic;

    if (!fp)
        die("%s: %s", path, strerror(errno));
    if (fread(file.hdr, 1, PCAP_HDR, fp) != PCAP_HDR)
        die("%s: too short for a pcap file", path);
    memcpy(&magic, file.hdr, 4);
    switch (magic) {
    case 0xa1b2c3d4: break;
    case 0xa1b23c4d: file.nano = true; break;
    case 0xd4c3b2a1: file.swapped = true; break;
    case 0x4d3cb2a1: file.swapped = file.nano = true; break;
    default: die("%s: not a classic pcap file (convert pcapng with editcap -F pcap)", path);
    }
    file.linktype = file32(file.hdr + 20) & 0x0FFFFFFF;
    while (fread(rh, 1, REC_HDR, fp) == REC_HDR) {
        record r = { file32(rh), file32(rh + 4), file32(rh + 12), file32(rh + 8), NULL };
        if (r.len > MAX_REC)
            die("%s: record %zu claims %u bytes", path, file.n + 1, r.len);
        r.data = malloc(r.len ? r.len : 1);
        if (!r.data)
            die("out of memory");
        if (fread(r.data, 1, r.len, fp) != r.len) {
            free(r.data);       /* a cut-off last record: dropped, as tshark would */
            break;
        }
        push_record(r);
    }
    fclose(fp);
}

static void
write_pcap(const char *path)
{
    FILE *fp = fopen(path, "wb");
    uint8_t rh[REC_HDR];

    if (!fp)
        die("%s: %s", path, strerror(errno));
    fwrite(file.hdr, 1, PCAP_HDR, fp);
    for (size_t i = 0; i < file.n; i++) {
        const record *r = &file.recs[i];
        put_file32(rh, r->sec);
        put_file32(rh + 4, r->frac);
        put_file32(rh + 8, r->len);
        put_file32(rh + 12, r->orig_len);
        fwrite(rh, 1, REC_HDR, fp);
        fwrite(r->data, 1, r->len, fp);
    }
    if (fclose(fp) != 0)
        die("%s: %s", path, strerror(errno));
}

/* ---- finding the TCP header ----------------------------------------------- */

/* Where one record's TCP header is.  Lifetime: one record. */
typedef struct tcp_loc {
    size_t tcp;         /* offset of the TCP header */
    size_t ip;          /* offset of the IP header carrying it */
    int    ipver;       /* 4 or 6 */
    size_t seglen;      /* TCP header + payload, from the IP header */
    bool   whole;       /* the whole segment was captured, not a fragment */
} tcp_loc;

#define MAX_DEPTH 6     /* tunnels inside tunnels */

static bool parse_ip(const uint8_t *d, size_t len, size_t off, int depth, tcp_loc *loc);
static bool parse_ether(const uint8_t *d, size_t len, size_t off, int depth, tcp_loc *loc);

/* What follows an IP header: TCP, or a tunnel to look into. */
static bool
parse_l4(const uint8_t *d, size_t len, size_t off, int proto, size_t plen, int depth,
         tcp_loc *loc)
{
    switch (proto) {
    case 6:
        if (off + 14 > len)
            return false;           /* not even the ports to the flags */
        loc->tcp = off;
        loc->seglen = plen;
        loc->whole = loc->whole && off + plen <= len && plen >= 20;
        return true;
    case 4:
    case 41:
        return parse_ip(d, len, off, depth + 1, loc);
    case 47: {                      /* GRE */
        if (off + 4 > len)
            return false;
        const uint16_t fl = get16(d + off), pt = get16(d + off + 2);
        size_t o = off + 4 + ((fl & 0x8000) ? 4 : 0) + ((fl & 0x2000) ? 4 : 0) +
                   ((fl & 0x1000) ? 4 : 0);
        if (pt == 0x0800 || pt == 0x86dd)
            return parse_ip(d, len, o, depth + 1, loc);
        if (pt == 0x6558)
            return parse_ether(d, len, o, depth + 1, loc);
        if (pt == 0x88be)           /* ERSPAN type II: 8 bytes, then Ethernet */
            return parse_ether(d, len, o + 8, depth + 1, loc);
        return false;
    }
    case 17:                        /* VXLAN on its registered port */
        if (off + 16 <= len && get16(d + off + 2) == 4789)
            return parse_ether(d, len, off + 16, depth + 1, loc);
        return false;
    default:
        return false;
    }
}

static bool
parse_ipv6(const uint8_t *d, size_t len, size_t off, int depth, tcp_loc *loc)
{
    if (off + 40 > len)
        return false;
    size_t plen = get16(d + off + 4);
    int next = d[off + 6];
    size_t o = off + 40;

    loc->ip = off;
    loc->ipver = 6;
    loc->whole = true;
    for (int hops = 0; hops < 8; hops++) {
        size_t ext;
        switch (next) {
        case 0: case 43: case 60:           /* hop-by-hop, routing, destination options */
            if (o + 8 > len)
                return false;
            ext = ((size_t)d[o + 1] + 1) * 8;
            break;
        case 44:                            /* fragment: the first one holds the header */
            if (o + 8 > len || (get16(d + o + 2) & 0xFFF8) != 0)
                return false;
            loc->whole = false;
            ext = 8;
            break;
        case 51:                            /* AH */
            if (o + 8 > len)
                return false;
            ext = ((size_t)d[o + 1] + 2) * 4;
            break;
        default:
            return parse_l4(d, len, o, next, plen >= o - off - 40 ? plen - (o - off - 40) : 0,
                            depth, loc);
        }
        next = d[o];
        o += ext;
    }
    return false;
}

static bool
parse_ip(const uint8_t *d, size_t len, size_t off, int depth, tcp_loc *loc)
{
    if (depth > MAX_DEPTH || off >= len)
        return false;
    if ((d[off] >> 4) == 6)
        return parse_ipv6(d, len, off, depth, loc);
    if ((d[off] >> 4) != 4 || off + 20 > len)
        return false;
    const size_t ihl = (size_t)(d[off] & 0x0F) * 4;
    const size_t total = get16(d + off + 2);
    const uint16_t frag = get16(d + off + 6);
    if (ihl < 20 || (frag & 0x1FFF) != 0 || total < ihl)
        return false;               /* not the first fragment: no TCP header */
    loc->ip = off;
    loc->ipver = 4;
    loc->whole = !(frag & 0x2000);
    return parse_l4(d, len, off + ihl, d[off + 9], total - ihl, depth, loc);
}

/* An ethertype-like protocol number at off. */
static bool
parse_ethertype(const uint8_t *d, size_t len, uint16_t type, size_t off, int depth,
                tcp_loc *loc)
{
    for (;;) {
        switch (type) {
        case 0x8100: case 0x88a8: case 0x9100:      /* VLAN tags, QinQ */
            if (off + 4 > len)
                return false;
            type = get16(d + off + 2);
            off += 4;
            continue;
        case 0x8847: case 0x8848:                   /* MPLS: labels up to bottom of stack */
            for (int i = 0; i < 8; i++, off += 4) {
                if (off + 4 > len)
                    return false;
                if (d[off + 2] & 0x01)
                    return parse_ip(d, len, off + 4, depth + 1, loc);
            }
            return false;
        case 0x8864:                                /* PPPoE session */
            if (off + 8 > len)
                return false;
            type = get16(d + off + 6);
            off += 8;
            if (type == 0x0021 || type == 0x0057)
                return parse_ip(d, len, off, depth + 1, loc);
            return false;
        case 0x0800: case 0x86dd:
            return parse_ip(d, len, off, depth + 1, loc);
        default:
            return false;
        }
    }
}

static bool
parse_ether(const uint8_t *d, size_t len, size_t off, int depth, tcp_loc *loc)
{
    if (depth > MAX_DEPTH || off + 14 > len)
        return false;
    return parse_ethertype(d, len, get16(d + off + 12), off + 14, depth, loc);
}

static bool
find_tcp(const uint8_t *d, size_t len, tcp_loc *loc)
{
    memset(loc, 0, sizeof *loc);
    switch (file.linktype) {
    case 1:                                 /* Ethernet */
        return parse_ether(d, len, 0, 0, loc);
    case 12: case 14: case 101: case 228: case 229:     /* raw IP */
        return parse_ip(d, len, 0, 0, loc);
    case 0: case 108:                       /* BSD null / loopback: 4-byte family */
        return parse_ip(d, len, 4, 0, loc);
    case 9:                                 /* PPP */
        if (len >= 4 && d[0] == 0xff && d[1] == 0x03)
            return parse_ip(d, len, 4, 0, loc);
        return parse_ip(d, len, 2, 0, loc);
    case 113:                               /* Linux cooked */
        return len >= 16 && parse_ethertype(d, len, get16(d + 14), 16, 0, loc);
    case 276:                               /* Linux cooked v2 */
        return len >= 20 && parse_ethertype(d, len, get16(d), 20, 0, loc);
    default:
        return false;
    }
}

/* ---- the TCP checksum ----------------------------------------------------- */

static uint32_t
sum16(const uint8_t *p, size_t n, uint32_t acc)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        acc += get16(p + i);
    if (n & 1)
        acc += (uint32_t)p[n - 1] << 8;
    return acc;
}

static void
fix_checksum(uint8_t *d, const tcp_loc *loc)
{
    uint32_t acc = 0;

    if (loc->ipver == 4)
        acc = sum16(d + loc->ip + 12, 8, 0);
    else
        acc = sum16(d + loc->ip + 8, 32, 0);
    acc += 6 + (uint32_t)(loc->seglen & 0xFFFF) + (uint32_t)(loc->seglen >> 16);
    put16(d + loc->tcp + 16, 0);
    acc = sum16(d + loc->tcp, loc->seglen, acc);
    while (acc >> 16)
        acc = (acc & 0xFFFF) + (acc >> 16);
    put16(d + loc->tcp + 16, (uint16_t)~acc);
}

/* ---- header mutations ------------------------------------------------------ */

#define F_FIN 0x001
#define F_SYN 0x002
#define F_RST 0x004
#define F_PSH 0x008
#define F_ACK 0x010
#define F_URG 0x020

/* The combinations scanners and broken stacks send, and the ones that
 * test the state machine's corners. */
static const struct {
    uint16_t    flags;
    const char *name;
} notorious[] = {
    { F_SYN | F_FIN, "SYN+FIN" },           { 0, "NULL" },
    { F_FIN | F_PSH | F_URG, "Xmas" },      { 0x03F, "all six" },
    { F_FIN, "FIN only" },                  { F_SYN | F_RST, "SYN+RST" },
    { F_RST | F_FIN, "RST+FIN" },           { F_SYN | F_ACK | F_RST, "SYN+ACK+RST" },
    { F_URG, "URG only" },                  { F_PSH, "PSH only" },
    { F_SYN, "SYN" },                       { F_SYN | F_ACK, "SYN+ACK" },
    { F_RST, "RST" },                       { F_RST | F_ACK, "RST+ACK" },
    { F_FIN | F_ACK, "FIN+ACK" },           { F_ACK, "ACK" },
    { F_SYN | F_ACK | F_FIN, "SYN+ACK+FIN" }, { 0xFFF, "every bit" },
    { F_SYN | 0x0C0, "SYN+ECE+CWR" },       { F_ACK | 0x100, "ACK+AE" },
    { F_ACK | 0xE00, "ACK+reserved" },
};

static void
mutate_flags(uint8_t *tcp)
{
    const uint16_t old = get16(tcp + 12) & 0x0FFF;
    uint16_t f = old;
    const char *how;

    switch (rng_below(4)) {
    case 0: {
        const unsigned i = rng_below((uint32_t)(sizeof notorious / sizeof notorious[0]));
        f = notorious[i].flags;
        how = notorious[i].name;
        break;
    }
    case 1:
        f ^= (uint16_t)(1u << rng_below(12));
        how = "one bit flipped";
        break;
    case 2:
        f ^= (uint16_t)(1u << rng_below(6)) | F_ACK;
        how = "a flag and ACK flipped";
        break;
    default:
        f = (uint16_t)rng_below(0x1000);
        how = "random";
        break;
    }
    put16(tcp + 12, (uint16_t)((get16(tcp + 12) & 0xF000) | (f & 0x0FFF)));
    note("flags 0x%03x -> 0x%03x (%s)", old, f, how);
}

/* A new sequence or acknowledgement number near, or far from, the old one. */
static uint32_t
mutate_number(uint32_t v, uint32_t other, const char **how)
{
    static const int32_t small[] = { -2, -1, 1, 2, 1460, -1460, 65535, -65535, 0x40000000 };

    switch (rng_below(6)) {
    case 0: *how = "random"; return (uint32_t)rng_next();
    case 1: *how = "small step"; return v + (uint32_t)small[rng_below(9)];
    case 2: *how = "the other number"; return other;
    case 3: *how = "zero"; return 0;
    case 4: *how = "wrap"; return v + 0x80000000u;
    default: *how = "all ones"; return 0xFFFFFFFFu;
    }
}

static void
mutate_seq_ack(uint8_t *tcp, size_t avail, bool ack)
{
    const char *how = "?";

    if (avail < 12)
        return;
    const size_t at = ack ? 8 : 4;
    const uint32_t old = get32(tcp + at);
    if (rng_below(4) == 0) {            /* swap both */
        const uint32_t o = get32(tcp + (ack ? 4 : 8));
        put32(tcp + 4, ack ? old : o);
        put32(tcp + 8, ack ? o : old);
        note("seq and ack swapped");
        return;
    }
    const uint32_t v = mutate_number(old, get32(tcp + (ack ? 4 : 8)), &how);
    put32(tcp + at, v);
    note("%s %" PRIu32 " -> %" PRIu32 " (%s)", ack ? "ack" : "seq", old, v, how);
}

static void
mutate_ports(uint8_t *tcp)
{
    const uint16_t s = get16(tcp), d = get16(tcp + 2);

    switch (rng_below(5)) {
    case 0: put16(tcp, d); put16(tcp + 2, s); note("ports swapped"); break;
    case 1: put16(tcp, d); note("source port = destination port %u", d); break;
    case 2: put16(tcp + (rng_below(2) ? 2 : 0), 0); note("a port zeroed"); break;
    case 3: put16(tcp, (uint16_t)rng_below(65536)); note("random source port"); break;
    default: put16(tcp + 2, (uint16_t)rng_below(65536)); note("random destination port"); break;
    }
}

static void
mutate_doff(uint8_t *tcp)
{
    const uint8_t old = tcp[12] >> 4;
    const uint8_t v = (uint8_t)rng_below(16);
    tcp[12] = (uint8_t)((v << 4) | (tcp[12] & 0x0F));
    note("data offset %u -> %u", old, v);
}

static void
mutate_window(uint8_t *tcp, size_t avail)
{
    static const uint16_t vals[] = { 0, 1, 0xFFFF, 0x8000 };

    if (avail < 16)
        return;
    const uint16_t v = rng_below(3) ? vals[rng_below(4)] : (uint16_t)rng_below(65536);
    note("window %u -> %u", get16(tcp + 14), v);
    put16(tcp + 14, v);
}

static void
mutate_urgent(uint8_t *tcp, size_t avail)
{
    if (avail < 20)
        return;
    const uint16_t v = (uint16_t)rng_below(65536);
    note("urgent pointer -> %u", v);
    put16(tcp + 18, v);
}

/* Corrupt the options: a byte, an option's length, or a window scale or
 * MSS value at its extreme. */
static void
mutate_options(uint8_t *tcp, size_t avail)
{
    size_t hl = (size_t)(tcp[12] >> 4) * 4;

    if (hl > avail)
        hl = avail;
    if (hl <= 20)
        return;
    for (size_t o = 20; o + 1 < hl && rng_below(3); ) {
        const uint8_t kind = tcp[o];
        if (kind == 0)
            break;
        if (kind == 1) {
            o++;
            continue;
        }
        if (kind == 3 && o + 2 < hl) {
            tcp[o + 2] = (uint8_t)(14 + rng_below(242));
            note("window scale -> %u", tcp[o + 2]);
            return;
        }
        if (kind == 2 && o + 3 < hl) {
            put16(tcp + o + 2, rng_below(2) ? 0 : 0xFFFF);
            note("MSS -> %u", get16(tcp + o + 2));
            return;
        }
        if (tcp[o + 1] < 2)
            break;
        o += tcp[o + 1];
    }
    const size_t at = 20 + rng_below((uint32_t)(hl - 20));
    tcp[at] = rng_below(2) ? (uint8_t)rng_below(256) : (uint8_t)(tcp[at] ^ 0xFF);
    note("option byte %zu -> 0x%02x", at, tcp[at]);
}

/* One to three field mutations of the TCP header at loc. */
static void
mutate_header(record *r, const tcp_loc *loc)
{
    uint8_t *tcp = r->data + loc->tcp;
    const size_t avail = r->len - loc->tcp;
    unsigned kinds[K_FIELDS], nk = 0;

    for (unsigned k = 0; k < K_FIELDS; k++)
        if (opt.kinds & (1u << k))
            kinds[nk++] = k;
    if (!nk)
        return;
    for (unsigned n = 1 + rng_below(3); n > 0; n--) {
        switch (kinds[rng_below(nk)]) {
        case K_FLAGS: mutate_flags(tcp); break;
        case K_SEQ:   mutate_seq_ack(tcp, avail, false); break;
        case K_ACK:   mutate_seq_ack(tcp, avail, true); break;
        case K_PORTS: mutate_ports(tcp); break;
        case K_DOFF:  mutate_doff(tcp); break;
        case K_WIN:   mutate_window(tcp, avail); break;
        case K_URG:   mutate_urgent(tcp, avail); break;
        default:      mutate_options(tcp, avail); break;
        }
    }
    if (opt.checksum && loc->whole && loc->tcp + loc->seglen <= r->len)
        fix_checksum(r->data, loc);
}

/* ---- record mutations -------------------------------------------------------- */

static record
copy_record(const record *r)
{
    record c = *r;
    c.data = malloc(r->len ? r->len : 1);
    if (!c.data)
        die("out of memory");
    memcpy(c.data, r->data, r->len);
    return c;
}

/* Move a record in time: back before its predecessors, far ahead (past
 * Zeek's timeouts), to zero, or by a random amount. */
static void
mutate_time(record *r)
{
    static const int32_t jumps[] = { -1, -10, -3600, 4, 6, 61, 301, 3601, 86400 };
    const uint32_t old = r->sec;

    switch (rng_below(4)) {
    case 0: r->sec = 0; r->frac = 0; break;
    case 1: r->sec = 0xFFFFFFFFu; break;
    case 2: r->sec += (uint32_t)jumps[rng_below(9)]; break;
    default: r->sec = (uint32_t)rng_next(); break;
    }
    note("time %" PRIu32 " -> %" PRIu32 " s", old, r->sec);
}

/* Cut a record short (as a snapshot length would): inside the TCP header
 * or its payload, keeping its original length. */
static void
mutate_trunc(record *r, const tcp_loc *loc, bool found)
{
    size_t cut;

    if (found && rng_below(2))
        cut = loc->tcp + rng_below(24);
    else
        cut = rng_below(r->len + 1);
    if (cut >= r->len)
        return;
    note("captured length %" PRIu32 " -> %zu", r->len, cut);
    r->len = (uint32_t)cut;
}

static bool
kind_on(enum kind k)
{
    return (opt.kinds & (1u << k)) != 0;
}

/* The whole file, in one pass over its records; the output list is built
 * from the input one.  A record swapped with the next one is held back
 * until that one is out (or dropped).  Returns how many TCP headers were
 * found. */
static size_t
mutate_file(size_t *mutated)
{
    record *in = file.recs;
    const size_t n = file.n;
    const double rec_rate = opt.rate / 4;
    size_t found_n = 0;
    record held;
    bool holding = false;

    file.recs = NULL;
    file.n = file.cap = 0;
    *mutated = 0;
    for (size_t i = 0; i < n; i++) {
        record r = in[i];
        tcp_loc loc;
        rec_no = (unsigned long)i + 1;
        const bool found = find_tcp(r.data, r.len, &loc);

        found_n += found;
        if (found && rng_chance(opt.rate)) {
            mutate_header(&r, &loc);
            ++*mutated;
        }
        if (kind_on(K_TIME) && rng_chance(rec_rate))
            mutate_time(&r);
        if (kind_on(K_TRUNC) && rng_chance(rec_rate))
            mutate_trunc(&r, &loc, found);
        if (kind_on(K_DROP) && rng_chance(rec_rate)) {
            note("dropped");
            free(r.data);
        } else if (!holding && kind_on(K_SWAP) && i + 1 < n && rng_chance(rec_rate)) {
            note("swapped with the next record");
            held = r;
            holding = true;
            continue;
        } else {
            push_record(r);
            if (kind_on(K_DUP) && rng_chance(rec_rate)) {
                note("duplicated");
                push_record(copy_record(&r));
            }
        }
        if (holding) {
            push_record(held);
            holding = false;
        }
    }
    free(in);
    return found_n;
}

/* ---- main ---------------------------------------------------------------- */

static unsigned
parse_kinds(const char *s)
{
    unsigned bits = 0;
    char buf[256];

    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        unsigned k;
        for (k = 0; k < K_COUNT && strcmp(tok, kind_names[k]) != 0; k++)
            ;
        if (k == K_COUNT)
            die("unknown mutation kind '%s'", tok);
        bits |= 1u << k;
    }
    return bits;
}

static void
usage(void)
{
    fputs("usage: tcpmutate [-s SEED] [-r RATE] [-m KINDS] [-k] [-v] IN.pcap OUT.pcap\n"
          "  KINDS: comma-separated of flags seq ack ports doff win urg opts dup drop swap\n"
          "  time trunc (default all); -k recomputes TCP checksums; -v logs mutations\n",
          stderr);
    exit(1);
}

int
main(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-k") == 0)
            opt.checksum = true;
        else if (strcmp(a, "-v") == 0)
            opt.verbose = true;
        else if (i + 1 < argc && strcmp(a, "-s") == 0)
            opt.seed = strtoull(argv[++i], NULL, 0);
        else if (i + 1 < argc && strcmp(a, "-r") == 0)
            opt.rate = strtod(argv[++i], NULL);
        else if (i + 1 < argc && strcmp(a, "-m") == 0)
            opt.kinds = parse_kinds(argv[++i]);
        else
            usage();
    }
    if (argc - i != 2 || !(opt.rate >= 0 && opt.rate <= 1))
        usage();
    rng_state = opt.seed;
    read_pcap(argv[i]);

    size_t mutated;
    const size_t n_in = file.n;
    const size_t found = mutate_file(&mutated);
    write_pcap(argv[i + 1]);
    if (opt.verbose)
        fprintf(stderr, "tcpmutate: %zu records in, %zu out, %zu TCP headers, %zu mutated\n",
                n_in, file.n, found, mutated);
    for (size_t r = 0; r < file.n; r++)
        free(file.recs[r].data);
    free(file.recs);
    return 0;
}
