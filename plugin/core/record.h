/* record.h - one connection record for machines (-z tcpstate,records)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Pure C99.  One JSON object per connection per line (JSON Lines), with
 * Zeek's conn.log names where Zeek has the field and tcpstate's own under
 * "tcpstate.".  docs/records.md is the schema in words,
 * docs/records.schema.json the JSON Schema the tests validate against.
 * Every value comes from the connection's ts_conn, its facts (facts.h) and
 * what a statistics listener added up (connstats.h); ts_record_values()
 * derives them, ts_record_json() writes the line.  Lifetime: one call.
 */
#ifndef TCPSTATE_RECORD_H
#define TCPSTATE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "connstats.h"
#include "facts.h"
#include "uid.h"

/* The record's schema version: "tcpstate.schema" in every record.  Adding
 * a field is a new minor version, changing one a new major version. */
#define TS_RECORD_SCHEMA "1.0"

/* The longest line ts_record_json() writes, newline and NUL included. */
#define TS_RECORD_MAX 1536

typedef struct ts_record_values {
    char        uid[TS_UID_BUFSZ];
    int64_t     ts_ns;              /* the first segment, ns since the epoch */
    int64_t     duration_ns;        /* last segment minus first */
    const char *orig_h, *resp_h;    /* Zeek's originator and responder (text) */
    uint16_t    orig_p, resp_p;
    uint64_t    orig_bytes, resp_bytes;   /* payload bytes (tcp.len) */
    uint32_t    orig_pkts, resp_pkts;     /* segments */
    const char *conn_state;         /* Zeek's, "S0", ... */
    char        history[TS_ZEEK_HIST_BUFSZ];
    const char *client, *server;    /* "addr:port", as the Connections table */
    int64_t     stream;             /* tcp.stream in this run; < 0: none (carried
                                       from an earlier file, no segment in this one) */
    ts_outcome  outcome;
    ts_closer   closer;
    ts_close_style style;
    ts_state    client_state, server_state;
    bool        roles_guessed;      /* mid-stream: roles and states are guesses */
    bool        open;               /* not ended at the end of the file (carry.h) */
    bool        carried;            /* began in an earlier file of the ring set */
    double      handshake_ms;       /* SYN to the ACK that completed it; < 0: not seen */
    double      close_wait_s, fin_wait2_s;  /* longest stays */
    uint32_t    illegal, warnings;
    uint64_t    first_frame, last_frame;    /* across the ring set's files */
} ts_record_values;

/* The words of the Connections table: "none", "client", "server", "both". */
const char *ts_closer_name(ts_closer c);

/* The values of one connection.  ep_text/ep_port: the addresses (text) and
 * ports of the stream's first sender [0] and of the other [1], as in
 * facts->addr; endpoint[2]: the same as "addr:port" ("[addr]:port" for
 * IPv6); stats: what the listener added up (illegal, warnings, stays,
 * handshake), times in seconds after facts->first_ns; frames_before: the
 * frames of the ring set's earlier files; stream < 0 if none in this run. */
void ts_record_values_make(ts_record_values *v, const ts_conn *c, const ts_facts *f,
                           const ts_connstats *stats, const char *const ep_text[2],
                           const char *const endpoint[2], uint64_t frames_before,
                           int64_t stream, bool open, bool carried);

/* The JSON line of v (with "\n"), into buf: its length, or 0 if len is too
 * small (TS_RECORD_MAX always suffices). */
size_t ts_record_json(const ts_record_values *v, char *buf, size_t len);

/* Write s as a JSON string, quotes included, at most len bytes with the
 * NUL; returns the length it needs (as snprintf). */
size_t ts_json_string(const char *s, char *buf, size_t len);

#endif /* TCPSTATE_RECORD_H */
