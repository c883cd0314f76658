/* uid.c - a connection's stable uid (see uid.h)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "uid.h"

#include <string.h>

/* ---- SHA-256, FIPS 180-4 ------------------------------------------------ */

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
};

static uint32_t
ror(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static void
block(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64], a, b, c, d, e, f, g, k;

    for (unsigned i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (unsigned i = 16; i < 64; i++) {
        const uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        const uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4]; f = h[5]; g = h[6]; k = h[7];
    for (unsigned i = 0; i < 64; i++) {
        const uint32_t t1 = k + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) +
                            K[i] + w[i];
        const uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

void
ts_sha256(const void *data, size_t len, uint8_t out[32])
{
    uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    const uint8_t *p = (const uint8_t *)data;
    uint8_t tail[128];
    size_t n = len, rest;
    const uint64_t bits = (uint64_t)len * 8;

    for (; n >= 64; n -= 64, p += 64)
        block(h, p);
    rest = n;
    memset(tail, 0, sizeof tail);
    if (rest)
        memcpy(tail, p, rest);
    tail[rest] = 0x80;
    const size_t total = rest + 1 + 8 <= 64 ? 64 : 128;
    for (unsigned i = 0; i < 8; i++)
        tail[total - 1 - i] = (uint8_t)(bits >> (8 * i));
    block(h, tail);
    if (total == 128)
        block(h, tail + 64);
    for (unsigned i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}

/* ---- the uid ----------------------------------------------------------- */

static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static size_t
put_be(uint8_t *p, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    return bytes;
}

void
ts_uid_make(const ts_uid_input *in, uint32_t n, char out[TS_UID_BUFSZ])
{
    static const char tag[] = "tcpstate-uid-1";
    uint8_t buf[sizeof tag - 1 + 1 + 2 * (16 + 2) + 4 + 8 + 4];
    uint8_t hash[32];
    const unsigned alen = in->family == 4 ? 4 : in->family == 6 ? 16 : 0;
    size_t len = 0;
    uint32_t w[3];

    memcpy(buf, tag, sizeof tag - 1);
    len = sizeof tag - 1;
    buf[len++] = alen ? in->family : 0;
    memcpy(buf + len, in->src, alen);
    len += alen;
    len += put_be(buf + len, in->sport, 2);
    memcpy(buf + len, in->dst, alen);
    len += alen;
    len += put_be(buf + len, in->dport, 2);
    len += put_be(buf + len, in->seq, 4);
    len += put_be(buf + len, (uint64_t)in->secs, 8);
    len += put_be(buf + len, n, 4);
    ts_sha256(buf, len, hash);

    /* The first 96 bits, a big-endian number, in base 62, most significant
     * digit first: 17 digits (62^17 > 2^96). */
    for (unsigned i = 0; i < 3; i++)
        w[i] = (uint32_t)hash[4 * i] << 24 | (uint32_t)hash[4 * i + 1] << 16 |
               (uint32_t)hash[4 * i + 2] << 8 | hash[4 * i + 3];
    out[0] = 'C';
    for (int d = TS_UID_LEN - 1; d >= 1; d--) {
        uint64_t r = 0;
        for (unsigned i = 0; i < 3; i++) {
            const uint64_t cur = (r << 32) | w[i];
            w[i] = (uint32_t)(cur / 62);
            r = cur % 62;
        }
        out[d] = digits[r];
    }
    out[TS_UID_LEN] = '\0';
}
