/* snapshot.h - the state a capture file leaves to the next one of its ring set
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Pure C99: the format, its encoding and its validation; the glue
 * (plugin/continuity.c) reads and writes the files.  A snapshot holds the
 * connections still carried at the end of one capture file (carry.h), each
 * with its ts_conn and its facts (facts.h), and a header that says which
 * file it ends, which file it continued, and where that file stands in its
 * chain of files.  docs/ring-buffers.md describes the files.
 *
 * Layout, all integers of the header little-endian:
 *
 *   off  size
 *     0     8  "TCPSTATE"
 *     8     4  format version (TS_SNAP_FORMAT)
 *    12     4  header size, strings included
 *    16     8  layout fingerprint: the carried structures as this build
 *              lays them out, the state machine's table, the list sizes
 *              (ts_snap_layout())
 *    24     8  build: a hash of the core's sources (TS_CORE_BUILD)
 *    32    16  tcpstate's version, NUL-padded
 *    48     8  file id: the file this snapshot ends (ts_snap_file_id())
 *    56     8  id of the file it continued (0: none)
 *    64     8  chain id: the id of the chain's first file
 *    72     4  the file's index in its chain (0: the first)
 *    76     4  the file's frames (its last frame's number)
 *    80     8  frames of the chain's earlier files
 *    88     8  the file's first frame: ns since the epoch
 *    96     8  its last frame
 *   104     4  link-layer type of the first frame (WTAP_ENCAP_*)
 *   108     4  entries
 *   112     4  entry size (sizeof(ts_carried))
 *   116     1  interface name length, 1 its description's, 2 zero
 *   120     .  the interface name, then its description (not NUL-terminated)
 *     .     4  CRC-32 of the header so far
 *   then the entries (ts_carried, as this build lays them out: the layout
 *   fingerprint guards them), then a CRC-32 of everything before it.
 *
 * Nothing in a snapshot is trusted before its checks pass: sizes, both
 * CRCs, the format version, the fingerprint, the build, and the range of
 * every value the core indexes a table with (ts_snap_entry_valid()).
 */
#ifndef TCPSTATE_SNAPSHOT_H
#define TCPSTATE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "facts.h"

#define TS_SNAP_FORMAT     1
#define TS_SNAP_FIXED      120     /* the header before its strings */
#define TS_SNAP_STR_MAX    255     /* longer interface names are cut */
#define TS_SNAP_HEAD_MAX   (TS_SNAP_FIXED + 2 * TS_SNAP_STR_MAX + 4)

/* One carried connection. */
typedef struct ts_carried {
    ts_conn  conn;
    ts_facts facts;
    uint32_t zeek_ended;    /* Zeek connections that ended inside its stream before */
    uint32_t flags;         /* TS_CARRIED_*: the SYN-flood detector's count of it */
    uint64_t flood_key;     /*   its server (address and port), as the detector keys it */
    int64_t  flood_syn_ns;  /*   the SYN it counts from: ns since the epoch */
} ts_carried;

#define TS_CARRIED_FLOOD_COUNTED  0x01  /* counted half-open at the file's end */
#define TS_CARRIED_FLOOD_ALARMED  0x02  /* its server's alarm was raised, not re-armed */
#define TS_CARRIED_UID_ONLY       0x04  /* not carried, only its uid: a newer connection took
                                           its 4-tuple, and one of the next file could still
                                           repeat its uid (the same second: uid.h), so the
                                           next file counts it for the uid's collision index */

typedef struct ts_snap_head {
    uint32_t format;
    uint64_t layout;
    uint64_t build;
    char     version[17];
    uint64_t file_id;
    uint64_t pred_id;
    uint64_t chain_id;
    uint32_t chain_index;
    uint32_t frames;
    uint64_t frames_before;
    int64_t  first_ns, last_ns;
    int32_t  encap;
    uint32_t count;
    uint32_t entry_size;
    char     iface[TS_SNAP_STR_MAX + 1];
    char     descr[TS_SNAP_STR_MAX + 1];
    size_t   head_size;     /* bytes of the header, its CRC included */
} ts_snap_head;

typedef enum ts_snap_status {
    TS_SNAP_OK,
    TS_SNAP_TRUNCATED,      /* shorter than its header or its entries say */
    TS_SNAP_NOT_SNAPSHOT,   /* no "TCPSTATE" */
    TS_SNAP_BAD_FORMAT,     /* another format version */
    TS_SNAP_CORRUPT,        /* a CRC does not match, or sizes make no sense */
    TS_SNAP_OTHER_LAYOUT,   /* written by a build that lays the state out otherwise */
    TS_SNAP_OTHER_BUILD,    /* written by another build of the core */
    TS_SNAP_BAD_ENTRY       /* an entry holds values no connection can have */
} ts_snap_status;

/* What a status means, for warnings: "is corrupt (a checksum does not
 * match)", ... */
const char *ts_snap_status_text(ts_snap_status s);

/* This build's layout fingerprint and build id. */
uint64_t ts_snap_layout(void);
uint64_t ts_snap_build(void);

/* A file's identity, from what a dissector sees of it: its first frame's
 * time, captured bytes and lengths, link-layer type and interface. */
uint64_t ts_snap_file_id(int64_t first_ns, const uint8_t *bytes, size_t caplen, uint32_t len,
                         int32_t encap, const char *iface, const char *descr);

/* The header's size for these strings (cut to TS_SNAP_STR_MAX). */
size_t ts_snap_head_size(const char *iface, const char *descr);

/* Write the header (h's file and chain fields, strings, count; format,
 * layout, build and version are this build's) into buf, which has
 * ts_snap_head_size() bytes.  Then the caller appends the entries and
 * ts_snap_seal() appends the final CRC over buf[0 .. len). */
void ts_snap_write_head(const ts_snap_head *h, const char *version, uint8_t *buf);
void ts_snap_seal(uint8_t *buf, size_t len);

/* Read and check a header (it needs no more than TS_SNAP_HEAD_MAX bytes);
 * OK, or what is wrong with it.  A header of another build or layout is
 * read all the same (its fields are filled), so that the caller can say
 * which file it was. */
ts_snap_status ts_snap_read_head(const uint8_t *buf, size_t len, ts_snap_head *h);

/* Check a whole snapshot whose header h was read: its size, final CRC,
 * layout, build and every entry.  On OK, entry i is at
 * buf + h->head_size + i * sizeof(ts_carried). */
ts_snap_status ts_snap_check(const uint8_t *buf, size_t len, const ts_snap_head *h);

/* Values the core indexes tables with, in range. */
bool ts_snap_entry_valid(const ts_carried *e);

/* CRC-32 (IEEE 802.3, as zlib's crc32()). */
uint32_t ts_crc32(uint32_t crc, const void *data, size_t len);

#endif /* TCPSTATE_SNAPSHOT_H */
