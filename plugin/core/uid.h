/* uid.h - a connection's stable uid, as in Zeek's conn.log, from its first segment
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Pure C99.  Zeek draws its uids at random; tcpstate derives them, so that
 * the same connection gets the same uid in every run that sees the same
 * first segment: in two files of a ring set, in a run over the merged
 * capture, and at two sensors whose clocks agree to the second.
 *
 *   uid = "C" + base62(first 96 bits of SHA-256(input)), 17 digits
 *   input = "tcpstate-uid-1" | family | src | sport | dst | dport | seq | secs | n
 *
 * family is one byte, 4 or 6 (0: neither; then no address bytes), the
 * addresses are 4 or 16 bytes, ports 2, seq (the raw sequence number) 4,
 * secs (the segment's whole seconds since the epoch, rounded down) 8 and
 * n 4, all big-endian.  n is 0, unless an earlier connection of the same
 * run or ring set had the same input with a smaller n (a 4-tuple reused
 * with the same sequence number within one second): then the smallest n
 * not taken.  docs/records.md documents this.
 */
#ifndef TCPSTATE_UID_H
#define TCPSTATE_UID_H

#include <stddef.h>
#include <stdint.h>

#define TS_UID_LEN     18   /* "C" and 17 base-62 digits */
#define TS_UID_BUFSZ   19

/* What the uid is made of: the connection's first segment. */
typedef struct ts_uid_input {
    uint8_t  family;        /* 4, 6; 0: another address type */
    uint8_t  src[16], dst[16];  /* the first 4 (IPv4) or 16 bytes count */
    uint16_t sport, dport;
    uint32_t seq;
    int64_t  secs;          /* seconds since the epoch, rounded down */
} ts_uid_input;

/* The uid with collision index n, NUL-terminated in out. */
void ts_uid_make(const ts_uid_input *in, uint32_t n, char out[TS_UID_BUFSZ]);

/* SHA-256 (FIPS 180-4) of len bytes; out gets 32 bytes. */
void ts_sha256(const void *data, size_t len, uint8_t out[32]);

#endif /* TCPSTATE_UID_H */
