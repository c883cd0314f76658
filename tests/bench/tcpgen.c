/* tcpgen.c - deterministic synthetic TCP captures for the tcpstate benchmark
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 *   tcpgen --packets 1000000 --connections 100000 --seed 1 -o out.pcap
 *   tcpgen --profile synflood --packets 1000000 --seed 1 -o flood.pcap
 *
 * Writes a classic pcap (microsecond timestamps, Ethernet).  The same seed
 * and sizes always give the same bytes: the output depends on nothing but
 * the command line (no clock, no addresses of the machine, no hash order).
 *
 * Profile "mix": N connections over IPv4 and IPv6, interleaved in time (a
 * pool of --concurrency open connections, each packet from one of them
 * chosen at random), each with its own 4-tuple, so one connection is one
 * tcp.stream.  Every connection gets a lifecycle class (see CLASSES); the
 * packets left over after every connection's fixed packets (handshake,
 * close) are spread at random over the connections that carry data, as
 * data segments and pure ACKs with consistent sequence and acknowledgement
 * numbers (nothing is lost or reordered).  The total is exactly --packets.
 *
 * Profile "synflood": --packets SYNs from distinct pseudo-random IPv4
 * sources and ports to one server port, no answers: each its own
 * half-open connection.
 *
 * IPv4 header checksums and TCP checksums (IPv4 and IPv6 pseudo-headers)
 * are valid.  Output goes through one large buffer: a write per 4 MiB,
 * not per packet.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- lifecycle classes -------------------------------------------------- */

/*        id            name            weight (per mille of the mix) */
#define CLASSES(X)                          \
    X(CLOSE_CLIENT, "close_client",  280)   \
    X(CLOSE_SERVER, "close_server",  140)   \
    X(CLOSE_3SEG,   "close_3seg",    120)   \
    X(RST_CLIENT,   "rst_client",     70)   \
    X(RST_SERVER,   "rst_server",     70)   \
    X(REFUSED,      "refused",        60)   \
    X(UNANSWERED,   "unanswered",     60)   \
    X(OPEN,         "open",          100)   \
    X(MIDSTREAM,    "midstream",     100)   \
    X(SYNFLOOD,     "synflood",        0)

enum cls {
#define C_ENUM(id, name, w) C_##id,
    CLASSES(C_ENUM)
#undef C_ENUM
    C_COUNT
};

static const char *const cls_name[C_COUNT] = {
#define C_NAME(id, name, w) name,
    CLASSES(C_NAME)
#undef C_NAME
};

static const unsigned cls_weight[C_COUNT] = {
#define C_W(id, name, w) w,
    CLASSES(C_W)
#undef C_W
};

/* Script steps.  A connection's script is a template of steps; DATA
 * stands for the connection's share of data segments and pure ACKs. */
enum step {
    S_END = 0,
    S_SYN,          /* client SYN (also its retransmission) */
    S_SYNACK,       /* server SYN+ACK */
    S_ACK3,         /* client ACK completing the handshake */
    S_DATA,         /* `extra` data segments / pure ACKs, then go on */
    S_FIN_C, S_FIN_S,   /* FIN+ACK from client / server */
    S_ACK_C, S_ACK_S,   /* pure ACK from client / server */
    S_RST_C, S_RST_S,   /* RST+ACK from client / server */
    S_REFUSE,       /* server RST+ACK answering a SYN */
};

static const uint8_t tpl_close_client[] = { S_SYN, S_SYNACK, S_ACK3, S_DATA,
                                            S_FIN_C, S_ACK_S, S_FIN_S, S_ACK_C, S_END };
static const uint8_t tpl_close_server[] = { S_SYN, S_SYNACK, S_ACK3, S_DATA,
                                            S_FIN_S, S_ACK_C, S_FIN_C, S_ACK_S, S_END };
static const uint8_t tpl_3seg_client[] = { S_SYN, S_SYNACK, S_ACK3, S_DATA,
                                           S_FIN_C, S_FIN_S, S_ACK_C, S_END };
static const uint8_t tpl_3seg_server[] = { S_SYN, S_SYNACK, S_ACK3, S_DATA,
                                           S_FIN_S, S_FIN_C, S_ACK_S, S_END };
static const uint8_t tpl_rst_client[] = { S_SYN, S_SYNACK, S_ACK3, S_DATA, S_RST_C, S_END };
static const uint8_t tpl_rst_server[] = { S_SYN, S_SYNACK, S_ACK3, S_DATA, S_RST_S, S_END };
static const uint8_t tpl_refused[] = { S_SYN, S_REFUSE, S_END };
static const uint8_t tpl_unanswered1[] = { S_SYN, S_END };
static const uint8_t tpl_unanswered2[] = { S_SYN, S_SYN, S_END };
static const uint8_t tpl_unanswered3[] = { S_SYN, S_SYN, S_SYN, S_END };
static const uint8_t tpl_open[] = { S_SYN, S_SYNACK, S_ACK3, S_DATA, S_END };
static const uint8_t tpl_mid_open[] = { S_DATA, S_END };
static const uint8_t tpl_mid_close[] = { S_DATA, S_FIN_C, S_ACK_S, S_FIN_S, S_ACK_C, S_END };
static const uint8_t tpl_synflood[] = { S_SYN, S_END };

/* Variants of one class: template index in `templates`. */
enum tpl {
    T_CLOSE_CLIENT, T_CLOSE_SERVER, T_3SEG_CLIENT, T_3SEG_SERVER, T_RST_CLIENT, T_RST_SERVER,
    T_REFUSED, T_UNANSWERED1, T_UNANSWERED2, T_UNANSWERED3, T_OPEN, T_MID_OPEN, T_MID_CLOSE,
    T_SYNFLOOD, T_COUNT
};
static const uint8_t *const templates[T_COUNT] = {
    tpl_close_client, tpl_close_server, tpl_3seg_client, tpl_3seg_server, tpl_rst_client,
    tpl_rst_server, tpl_refused, tpl_unanswered1, tpl_unanswered2, tpl_unanswered3, tpl_open,
    tpl_mid_open, tpl_mid_close, tpl_synflood
};
static const uint8_t tpl_class[T_COUNT] = {
    C_CLOSE_CLIENT, C_CLOSE_SERVER, C_CLOSE_3SEG, C_CLOSE_3SEG, C_RST_CLIENT, C_RST_SERVER,
    C_REFUSED, C_UNANSWERED, C_UNANSWERED, C_UNANSWERED, C_OPEN, C_MIDSTREAM, C_MIDSTREAM,
    C_SYNFLOOD
};

/* Packets of a template besides its DATA share; minimum of the DATA share. */
static unsigned tpl_fixed[T_COUNT];
static bool tpl_has_data[T_COUNT];

/* ---- deterministic randomness (xoshiro256**, seeded by splitmix64) ------ */

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void
rng_seed(rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed * 0x2545f4914f6cdd1dULL + stream;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t
rng_next(rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n) (Lemire's multiply-shift; the bias is negligible here). */
static inline uint32_t
rng_below(rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* A bijection of 32-bit integers (murmur3's finaliser, keyed). */
static uint32_t
perm32(uint32_t x, uint32_t key)
{
    x ^= key;
    x ^= x >> 16;
    x *= 0x85ebca6bU;
    x ^= x >> 13;
    x *= 0xc2b2ae35U;
    x ^= x >> 16;
    x += key * 0x9e3779b9U;
    return x;
}

/* ---- output ------------------------------------------------------------- */

#define OUTBUF_SIZE (4u << 20)

static unsigned char *outbuf;
static size_t outlen;
static FILE *outfp;
static uint64_t out_bytes;

static void
out_flush(void)
{
    if (outlen && fwrite(outbuf, 1, outlen, outfp) != outlen) {
        fprintf(stderr, "tcpgen: write failed: %s\n", strerror(errno));
        exit(1);
    }
    out_bytes += outlen;
    outlen = 0;
}

static inline unsigned char *
out_reserve(size_t n)
{
    if (outlen + n > OUTBUF_SIZE)
        out_flush();
    return outbuf + outlen;
}

static inline void
put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static inline void
put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* pcap headers are in host order of the writer: write little-endian,
 * whatever the host, so the bytes never depend on the machine. */
static inline void
put32le(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static void
write_pcap_header(void)
{
    unsigned char *p = out_reserve(24);
    put32le(p, 0xa1b2c3d4);         /* microsecond timestamps */
    p[4] = 2; p[5] = 0;             /* version 2.4, little-endian */
    p[6] = 4; p[7] = 0;
    put32le(p + 8, 0);              /* thiszone */
    put32le(p + 12, 0);             /* sigfigs */
    put32le(p + 16, 65535);         /* snaplen */
    put32le(p + 20, 1);             /* LINKTYPE_ETHERNET */
    outlen += 24;
}

/* One's-complement sum of big-endian 16-bit words. */
static inline uint32_t
csum_add(uint32_t sum, const unsigned char *p, size_t len)
{
    while (len > 1) {
        sum += (uint32_t)p[0] << 8 | p[1];
        p += 2;
        len -= 2;
    }
    if (len)
        sum += (uint32_t)p[0] << 8;
    return sum;
}

static inline uint16_t
csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* ---- packets ------------------------------------------------------------ */

/* One endpoint pair, as it goes on the wire. */
typedef struct tuple {
    uint8_t  v6;
    uint8_t  addr[2][16];   /* [0] client, [1] server */
    uint8_t  mac[2][6];
    uint16_t port[2];
} tuple;

/* A segment to write. */
typedef struct seg {
    int      from;          /* 0 client, 1 server */
    uint16_t flags;         /* TCP flags */
    uint32_t seq, ack;
    uint16_t win;
    uint16_t len;           /* payload bytes */
    bool     syn_opts;      /* MSS, window scale, SACK permitted */
    bool     bare;          /* a flood SYN: no options */
    uint16_t ip_id;
    uint8_t  ttl;
} seg;

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

static unsigned char payload_pattern[4096];
static uint64_t clock_us;
static uint64_t packets_written;

static void
write_packet(const tuple *t, const seg *s)
{
    const int from = s->from, to = !from;
    const size_t opt_len = s->syn_opts ? 12 : 0;
    const size_t tcp_len = 20 + opt_len + s->len;
    const size_t ip_len = (t->v6 ? 40 : 20) + tcp_len;
    const size_t frame_len = 14 + ip_len;
    unsigned char *p = out_reserve(16 + frame_len);
    unsigned char *eth = p + 16, *ip = eth + 14, *tcp = ip + (t->v6 ? 40 : 20);
    uint32_t sum;

    /* pcap record header */
    put32le(p, (uint32_t)(clock_us / 1000000));
    put32le(p + 4, (uint32_t)(clock_us % 1000000));
    put32le(p + 8, (uint32_t)frame_len);
    put32le(p + 12, (uint32_t)frame_len);

    memcpy(eth, t->mac[to], 6);
    memcpy(eth + 6, t->mac[from], 6);
    put16(eth + 12, t->v6 ? 0x86dd : 0x0800);

    if (t->v6) {
        put32(ip, 0x60000000);
        put16(ip + 4, (uint16_t)tcp_len);
        ip[6] = 6;
        ip[7] = s->ttl;
        memcpy(ip + 8, t->addr[from], 16);
        memcpy(ip + 24, t->addr[to], 16);
    } else {
        ip[0] = 0x45;
        ip[1] = 0;
        put16(ip + 2, (uint16_t)ip_len);
        put16(ip + 4, s->ip_id);
        put16(ip + 6, s->bare ? 0 : 0x4000);     /* DF */
        ip[8] = s->ttl;
        ip[9] = 6;
        ip[10] = ip[11] = 0;
        memcpy(ip + 12, t->addr[from], 4);
        memcpy(ip + 16, t->addr[to], 4);
        put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
    }

    put16(tcp, t->port[from]);
    put16(tcp + 2, t->port[to]);
    put32(tcp + 4, s->seq);
    put32(tcp + 8, s->ack);
    tcp[12] = (unsigned char)(((20 + opt_len) / 4) << 4);
    tcp[13] = (unsigned char)s->flags;
    put16(tcp + 14, s->win);
    tcp[16] = tcp[17] = 0;
    tcp[18] = tcp[19] = 0;
    if (s->syn_opts) {
        unsigned char *o = tcp + 20;
        o[0] = 2; o[1] = 4; put16(o + 2, t->v6 ? 1440 : 1460);   /* MSS */
        o[4] = 1;                                               /* NOP */
        o[5] = 3; o[6] = 3; o[7] = 7;                           /* window scale 7 */
        o[8] = 1; o[9] = 1;                                     /* NOP NOP */
        o[10] = 4; o[11] = 2;                                   /* SACK permitted */
    }
    if (s->len) {
        /* Rolling through a fixed pattern: deterministic, cheap. */
        const size_t off = (s->seq * 7u) & 2047u;
        memcpy(tcp + 20 + opt_len, payload_pattern + off, s->len);
    }

    /* pseudo-header, then the segment */
    if (t->v6) {
        sum = csum_add(0, ip + 8, 32);
        sum += (uint32_t)(tcp_len >> 16) + (uint32_t)(tcp_len & 0xffff);
    } else {
        sum = csum_add(0, ip + 12, 8);
        sum += (uint32_t)tcp_len;
    }
    sum += 6;
    sum = csum_add(sum, tcp, tcp_len);
    put16(tcp + 16, csum_fold(sum));

    outlen += 16 + frame_len;
    packets_written++;
}

/* ---- the mix ------------------------------------------------------------ */

typedef struct conn {
    uint32_t idx;
    uint32_t extra;         /* DATA packets still to send */
    uint32_t nxt[2];        /* next sequence number of client, server */
    uint32_t unacked[2];    /* bytes sent and not yet acknowledged */
    uint16_t ip_id[2];
    uint8_t  tpl;
    uint8_t  step;
    tuple    t;
} conn;

typedef struct options {
    uint64_t packets;
    uint64_t connections;
    uint64_t seed;
    const char *profile;
    const char *output;
    unsigned ipv6_pct;
    unsigned concurrency;
    unsigned gap_us;
    unsigned payload_max;
} options;

static options opt = {
    .packets = 0, .connections = 0, .seed = 1, .profile = "mix", .output = NULL,
    .ipv6_pct = 30, .concurrency = 256, .gap_us = 0, .payload_max = 200,
};

static rng r_emit;          /* everything decided while writing */

static inline void
tick(void)
{
    clock_us += 1 + rng_below(&r_emit, 2 * opt.gap_us - 1);
}

#define N_SERVERS 8
static const uint16_t server_ports[4] = { 7001, 7002, 9101, 9102 };

/* Client and server of connection idx: 4096 client hosts per family, each
 * with sequential ephemeral ports, so every 4-tuple is unique. */
static void
make_tuple(tuple *t, uint32_t idx, bool v6, uint32_t server)
{
    const uint32_t host = idx & 4095, slot = idx >> 12;

    memset(t, 0, sizeof *t);
    t->v6 = v6;
    if (v6) {
        static const uint8_t cli[16] = { 0xfd, 0, 0xbe, 0x4c, 0, 0, 0, 1 };
        static const uint8_t srv[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0x80 };
        memcpy(t->addr[0], cli, 16);
        t->addr[0][14] = (uint8_t)(host >> 8);
        t->addr[0][15] = (uint8_t)host;
        memcpy(t->addr[1], srv, 16);
        t->addr[1][15] = (uint8_t)(1 + server % N_SERVERS);
    } else {
        t->addr[0][0] = 10;
        t->addr[0][1] = 77;
        t->addr[0][2] = (uint8_t)(host >> 8);
        t->addr[0][3] = (uint8_t)host;
        t->addr[1][0] = 192;
        t->addr[1][1] = 0;
        t->addr[1][2] = 2;
        t->addr[1][3] = (uint8_t)(10 + server % N_SERVERS);
    }
    /* Linux's ephemeral range, 28232 ports per host: unique up to
     * 4096 * 28232 = 115M connections (main() caps the count below that). */
    t->port[0] = (uint16_t)(32768 + slot % 28232);
    t->port[1] = server_ports[(server / N_SERVERS) % 4];
    t->mac[0][0] = 0x02; t->mac[0][1] = 0x00; t->mac[0][2] = 0x5e;
    t->mac[0][3] = (uint8_t)(host >> 8); t->mac[0][4] = (uint8_t)host; t->mac[0][5] = 0x01;
    t->mac[1][0] = 0x02; t->mac[1][1] = 0x00; t->mac[1][2] = 0x5e;
    t->mac[1][3] = 0xff; t->mac[1][4] = (uint8_t)server; t->mac[1][5] = 0x02;
}

static void
conn_start(conn *c, uint32_t idx, uint8_t tpl, uint32_t extra)
{
    const bool v6 = rng_below(&r_emit, 100) < opt.ipv6_pct;

    memset(c, 0, sizeof *c);
    c->idx = idx;
    c->tpl = tpl;
    c->extra = extra;
    make_tuple(&c->t, idx, v6, rng_below(&r_emit, N_SERVERS * 4));
    c->nxt[0] = (uint32_t)rng_next(&r_emit);
    c->nxt[1] = (uint32_t)rng_next(&r_emit);
    c->ip_id[0] = (uint16_t)rng_next(&r_emit);
    c->ip_id[1] = (uint16_t)rng_next(&r_emit);
}

static void
seg_from(conn *c, seg *s, int from, uint16_t flags)
{
    memset(s, 0, sizeof *s);
    s->from = from;
    s->flags = flags;
    s->seq = c->nxt[from];
    s->ack = (flags & TH_ACK) ? c->nxt[!from] : 0;
    s->win = from ? 509 : 502;      /* x128 with window scale 7 */
    s->ttl = 64;
    s->ip_id = c->ip_id[from]++;
    if (flags & TH_ACK)
        c->unacked[!from] = 0;
}

/* One DATA packet: a data segment, or a pure ACK of the peer's data. */
static void
data_packet(conn *c, seg *s)
{
    int from;

    if ((c->unacked[0] || c->unacked[1]) && rng_below(&r_emit, 100) < 25) {
        from = c->unacked[0] ? 1 : 0;
        seg_from(c, s, from, TH_ACK);
        return;
    }
    from = rng_below(&r_emit, 100) < 40 ? 0 : 1;
    seg_from(c, s, from, TH_ACK | TH_PSH);
    s->len = (uint16_t)(1 + rng_below(&r_emit, opt.payload_max));
    c->nxt[from] += s->len;
    c->unacked[from] += s->len;
}

/* The connection's next packet; false when its script is over. */
static bool
conn_next(conn *c, seg *s)
{
    const uint8_t *tpl = templates[c->tpl];

    while (tpl[c->step] == S_DATA && c->extra == 0)
        c->step++;
    switch (tpl[c->step]) {
    case S_END:
        return false;
    case S_SYN:
        seg_from(c, s, 0, TH_SYN);
        s->seq = c->nxt[0] - (c->step > 0 ? 1 : 0);  /* retransmissions: same ISN */
        if (c->step == 0)
            c->nxt[0]++;
        s->win = 64240;
        s->syn_opts = true;
        break;
    case S_SYNACK:
        seg_from(c, s, 1, TH_SYN | TH_ACK);
        c->nxt[1]++;
        s->win = 65160;
        s->syn_opts = true;
        break;
    case S_ACK3:
    case S_ACK_C:
        seg_from(c, s, 0, TH_ACK);
        break;
    case S_ACK_S:
        seg_from(c, s, 1, TH_ACK);
        break;
    case S_DATA:
        data_packet(c, s);
        if (--c->extra)
            return true;        /* stay on DATA */
        break;
    case S_FIN_C:
    case S_FIN_S: {
        const int from = tpl[c->step] == S_FIN_S;
        seg_from(c, s, from, TH_FIN | TH_ACK);
        c->nxt[from]++;
        break;
    }
    case S_RST_C:
    case S_RST_S:
        seg_from(c, s, tpl[c->step] == S_RST_S, TH_RST | TH_ACK);
        s->win = 0;
        break;
    case S_REFUSE:
        seg_from(c, s, 1, TH_RST | TH_ACK);
        s->seq = 0;
        s->win = 0;
        break;
    default:
        abort();
    }
    c->step++;
    return true;
}

static uint64_t class_count[C_COUNT];
static uint64_t family_count[2];

static int
gen_mix(void)
{
    const uint64_t n = opt.connections;
    uint8_t *tpl_of = malloc(n ? n : 1);
    uint32_t *extra = calloc(n ? n : 1, sizeof *extra);
    uint32_t *carriers = malloc((n ? n : 1) * sizeof *carriers);
    uint64_t fixed = 0, ncarriers = 0, remaining;
    unsigned total_weight = 0;
    rng r_plan;
    conn *pool;
    unsigned active = 0;
    uint64_t next_conn = 0;
    seg s;

    if (!tpl_of || !extra || !carriers) {
        fprintf(stderr, "tcpgen: out of memory\n");
        return 1;
    }
    for (int k = 0; k < C_COUNT; k++)
        total_weight += cls_weight[k];

    /* Plan: a class (template) per connection, then spread the packets. */
    rng_seed(&r_plan, opt.seed, 1);
    for (uint64_t i = 0; i < n; i++) {
        unsigned w = rng_below(&r_plan, total_weight);
        int k = 0;
        uint8_t t;

        while (w >= cls_weight[k])
            w -= cls_weight[k++];
        switch (k) {
        case C_CLOSE_CLIENT: t = T_CLOSE_CLIENT; break;
        case C_CLOSE_SERVER: t = T_CLOSE_SERVER; break;
        case C_CLOSE_3SEG: t = rng_below(&r_plan, 3) ? T_3SEG_CLIENT : T_3SEG_SERVER; break;
        case C_RST_CLIENT: t = T_RST_CLIENT; break;
        case C_RST_SERVER: t = T_RST_SERVER; break;
        case C_REFUSED: t = T_REFUSED; break;
        case C_UNANSWERED: t = (uint8_t)(T_UNANSWERED1 + rng_below(&r_plan, 3)); break;
        case C_OPEN: t = T_OPEN; break;
        default: t = rng_below(&r_plan, 2) ? T_MID_CLOSE : T_MID_OPEN; break;
        }
        tpl_of[i] = t;
        fixed += tpl_fixed[t];
        if (tpl_has_data[t]) {
            carriers[ncarriers++] = (uint32_t)i;
            /* a mid-stream connection shows at least one data packet */
            if (templates[t][0] == S_DATA) {
                extra[i] = 1;
                fixed++;
            }
        }
        class_count[tpl_class[t]]++;
    }
    if (fixed > opt.packets) {
        fprintf(stderr, "tcpgen: %" PRIu64 " connections need at least %" PRIu64
                " packets (--packets %" PRIu64 "): raise --packets or lower --connections\n",
                n, fixed, opt.packets);
        return 2;
    }
    remaining = opt.packets - fixed;
    if (remaining && !ncarriers) {
        fprintf(stderr, "tcpgen: no connection carries data: %" PRIu64
                " packets cannot be placed\n", remaining);
        return 2;
    }
    for (uint64_t r = 0; r < remaining; r++)
        extra[carriers[rng_below(&r_plan, (uint32_t)ncarriers)]]++;
    free(carriers);

    /* Write: a pool of open connections, one packet of a random one at a time. */
    pool = calloc(opt.concurrency, sizeof *pool);
    if (!pool) {
        fprintf(stderr, "tcpgen: out of memory\n");
        return 1;
    }
    while (active < opt.concurrency && next_conn < n) {
        conn_start(&pool[active], (uint32_t)next_conn, tpl_of[next_conn], extra[next_conn]);
        family_count[pool[active].t.v6]++;
        active++;
        next_conn++;
    }
    while (active) {
        const unsigned j = rng_below(&r_emit, active);
        if (conn_next(&pool[j], &s)) {
            tick();
            write_packet(&pool[j].t, &s);
            continue;
        }
        if (next_conn < n) {
            conn_start(&pool[j], (uint32_t)next_conn, tpl_of[next_conn], extra[next_conn]);
            family_count[pool[j].t.v6]++;
            next_conn++;
        } else {
            pool[j] = pool[--active];
        }
    }
    free(pool);
    free(tpl_of);
    free(extra);
    if (packets_written != opt.packets) {
        fprintf(stderr, "tcpgen: internal error: wrote %" PRIu64 " packets, planned %" PRIu64
                "\n", packets_written, opt.packets);
        return 3;
    }
    return 0;
}

/* ---- the SYN flood ------------------------------------------------------ */

static int
gen_synflood(void)
{
    const uint32_t key = (uint32_t)(opt.seed * 0x9e3779b97f4a7c15ULL >> 32) ^ (uint32_t)opt.seed;
    const uint8_t server[4] = { 192, 0, 2, 80 };
    uint32_t x = 0;
    tuple t;
    seg s;

    memset(&t, 0, sizeof t);
    memcpy(t.addr[1], server, 4);
    t.port[1] = 7001;
    memcpy(t.mac[0], "\x02\x00\x5e\xaa\x00\x01", 6);   /* the upstream router */
    memcpy(t.mac[1], "\x02\x00\x5e\xaa\x00\x02", 6);
    for (uint64_t i = 0; i < opt.packets; i++) {
        uint32_t a;
        /* Distinct sources: walk the permutation until a unicast,
         * non-private address that is not the server (cycle walking keeps
         * it a bijection of the indices onto the accepted addresses). */
        do {
            a = perm32(x++, key);
        } while ((a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 || (a >> 24) >= 224 ||
                 (a >> 8) == 0xc00002);
        put32(t.addr[0], a);
        t.port[0] = (uint16_t)(1024 + rng_below(&r_emit, 64512));
        memset(&s, 0, sizeof s);
        s.from = 0;
        s.flags = TH_SYN;
        s.seq = (uint32_t)rng_next(&r_emit);
        s.win = (uint16_t)(512 + rng_below(&r_emit, 64000));
        s.ip_id = (uint16_t)rng_next(&r_emit);
        s.ttl = (uint8_t)(32 + rng_below(&r_emit, 224));
        s.bare = true;
        tick();
        write_packet(&t, &s);
    }
    class_count[C_SYNFLOOD] = opt.packets;
    family_count[0] = opt.packets;
    return 0;
}

/* ---- main --------------------------------------------------------------- */

static void
usage(FILE *f)
{
    fprintf(f,
        "usage: tcpgen --packets N [--connections C] [--seed S] [--profile mix|synflood]\n"
        "              [--ipv6 PCT] [--concurrency K] [--gap-us US] [--payload-max B]\n"
        "              -o OUT.pcap\n"
        "  --packets N      total packets (mix), or SYNs (synflood); k/M suffixes ok\n"
        "  --connections C  connections of the mix (default: packets / 10)\n"
        "  --seed S         same seed and sizes, same bytes (default 1)\n"
        "  --profile P      mix (default): every lifecycle class, interleaved;\n"
        "                   synflood: N SYNs from distinct random sources to one server\n"
        "  --ipv6 PCT       share of IPv6 connections in the mix (default 30)\n"
        "  --concurrency K  connections open at once in the mix (default 256)\n"
        "  --gap-us US      mean gap between packets (default 20 mix, 10 synflood)\n"
        "  --payload-max B  largest data segment payload (default 200)\n"
        "  -o FILE          output pcap ('-' for stdout)\n"
        "Prints a one-line summary to stderr.\n");
}

static bool
parse_count(const char *s, uint64_t *v)
{
    char *end;
    double d;

    errno = 0;
    d = strtod(s, &end);
    if (errno || end == s || d < 0)
        return false;
    if (*end == 'k' || *end == 'K')
        d *= 1e3, end++;
    else if (*end == 'm' || *end == 'M')
        d *= 1e6, end++;
    if (*end || d > 4e9)
        return false;
    *v = (uint64_t)(d + 0.5);
    return true;
}

int
main(int argc, char **argv)
{
    uint64_t v;
    struct timespec t0, t1;
    int rc;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!val) {
            fprintf(stderr, "tcpgen: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--packets") && parse_count(val, &v) && v > 0) {
            opt.packets = v;
        } else if (!strcmp(a, "--connections") && parse_count(val, &v)) {
            opt.connections = v;
        } else if (!strcmp(a, "--seed") && parse_count(val, &v)) {
            opt.seed = v;
        } else if (!strcmp(a, "--profile") && (!strcmp(val, "mix") || !strcmp(val, "synflood"))) {
            opt.profile = val;
        } else if (!strcmp(a, "--ipv6") && parse_count(val, &v) && v <= 100) {
            opt.ipv6_pct = (unsigned)v;
        } else if (!strcmp(a, "--concurrency") && parse_count(val, &v) && v > 0 && v <= 1000000) {
            opt.concurrency = (unsigned)v;
        } else if (!strcmp(a, "--gap-us") && parse_count(val, &v) && v > 0 && v <= 10000000) {
            opt.gap_us = (unsigned)v;
        } else if (!strcmp(a, "--payload-max") && parse_count(val, &v) && v > 0 && v <= 1400) {
            opt.payload_max = (unsigned)v;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            opt.output = val;
        } else {
            fprintf(stderr, "tcpgen: bad option or value: %s %s\n", a, val);
            usage(stderr);
            return 2;
        }
    }
    if (!opt.output || !opt.packets) {
        usage(stderr);
        return 2;
    }
    const bool flood = !strcmp(opt.profile, "synflood");
    if (flood)
        opt.connections = opt.packets;
    else if (!opt.connections)
        opt.connections = opt.packets / 10 ? opt.packets / 10 : 1;
    if (opt.connections > UINT64_C(4096) * 28232 || opt.packets > UINT32_MAX) {
        fprintf(stderr, "tcpgen: too large\n");
        return 2;
    }
    if (!opt.gap_us)
        opt.gap_us = flood ? 10 : 20;

    for (int t = 0; t < T_COUNT; t++) {
        for (const uint8_t *p = templates[t]; *p != S_END; p++) {
            if (*p == S_DATA)
                tpl_has_data[t] = true;
            else
                tpl_fixed[t]++;
        }
    }
    {
        rng r_pat;
        rng_seed(&r_pat, 0, 3);
        for (size_t i = 0; i < sizeof payload_pattern; i += 8) {
            uint64_t x = rng_next(&r_pat);
            memcpy(payload_pattern + i, &x, 8);
        }
    }
    rng_seed(&r_emit, opt.seed, 2);
    clock_us = UINT64_C(1700000000) * 1000000;

    outbuf = malloc(OUTBUF_SIZE);
    if (!outbuf) {
        fprintf(stderr, "tcpgen: out of memory\n");
        return 1;
    }
    if (!strcmp(opt.output, "-")) {
        outfp = stdout;
    } else if (!(outfp = fopen(opt.output, "wb"))) {
        fprintf(stderr, "tcpgen: %s: %s\n", opt.output, strerror(errno));
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    write_pcap_header();
    rc = flood ? gen_synflood() : gen_mix();
    out_flush();
    if (fflush(outfp) != 0 || (outfp != stdout && fclose(outfp) != 0)) {
        fprintf(stderr, "tcpgen: %s: %s\n", opt.output, strerror(errno));
        return 1;
    }
    free(outbuf);
    if (rc)
        return rc;
    clock_gettime(CLOCK_MONOTONIC, &t1);

    const double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "tcpgen: profile=%s seed=%" PRIu64 " packets=%" PRIu64 " connections=%" PRIu64
            " ipv4=%" PRIu64 " ipv6=%" PRIu64, opt.profile, opt.seed, packets_written,
            opt.connections, family_count[0], family_count[1]);
    for (int k = 0; k < C_COUNT; k++)
        if (class_count[k] || (!flood && k != C_SYNFLOOD))
            fprintf(stderr, " %s=%" PRIu64, cls_name[k], class_count[k]);
    fprintf(stderr, " bytes=%" PRIu64 " seconds=%.3f packets_per_s=%.0f\n", out_bytes, secs,
            secs > 0 ? (double)packets_written / secs : 0.0);
    return 0;
}
