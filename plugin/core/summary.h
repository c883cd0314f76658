/* summary.h - one connection's summary: outcome, close style, timings, counters
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Pure C99.  Updated by ts_conn_track() on every segment of the first pass,
 * so it is the summary "so far" while the first pass runs and the final one
 * after it (the GUI, tshark -2, retaps).  Lifetime: the connection's.
 */
#ifndef TCPSTATE_SUMMARY_H
#define TCPSTATE_SUMMARY_H

#include <stdbool.h>
#include <stdint.h>

/* Outcome classes, tcpstate.conn.outcome; also the names of docs/stats.md. */
#define TS_OUTCOMES(X)                                                                  \
    X(COMPLETE,        1, "complete",        "handshake, then a FIN from both sides")   \
    X(RESET_BY_CLIENT, 2, "reset_by_client", "the client's RST ended it")               \
    X(RESET_BY_SERVER, 3, "reset_by_server", "the server's RST ended it")               \
    X(REFUSED,         4, "refused",         "the SYN (or a probe) was answered by a RST") \
    X(NO_ANSWER,       5, "no_answer",       "a SYN (or a probe) only: nothing came back") \
    X(HALF_OPEN,       6, "half_open",       "SYN-ACK, but the handshake ACK never came") \
    X(OPEN,            7, "open",            "established at the end of the capture")   \
    X(HALF_CLOSED,     8, "half_closed",     "one FIN only at the end of the capture")  \
    X(MIDSTREAM,       9, "midstream",       "no handshake seen: the capture started mid-connection")

typedef enum ts_outcome {
    TS_OUTCOME_NONE = 0,
#define TS_OUTCOME_ENUM(id, value, name, doc) TS_OUTCOME_##id = value,
    TS_OUTCOMES(TS_OUTCOME_ENUM)
#undef TS_OUTCOME_ENUM
    TS_OUTCOME_MAX = 9
} ts_outcome;

/* How it closed, tcpstate.conn.close_style. */
#define TS_CLOSE_STYLES(X)                                                               \
    X(FOUR_SEGMENT,  1, "four_segment",  "FIN, ACK, FIN, ACK")                          \
    X(THREE_SEGMENT, 2, "three_segment", "FIN, FIN+ACK (the second FIN acks the first), ACK") \
    X(SIMULTANEOUS,  3, "simultaneous",  "both FINs crossed")                           \
    X(HALF_CLOSE,    4, "half_close",    "data kept flowing the other way after the first FIN") \
    X(RST_BY_CLIENT, 5, "rst_by_client", "a RST from the client ended it")              \
    X(RST_BY_SERVER, 6, "rst_by_server", "a RST from the server ended it")

typedef enum ts_close_style {
    TS_STYLE_NONE = 0,      /* not closed (yet) */
#define TS_STYLE_ENUM(id, value, name, doc) TS_STYLE_##id = value,
    TS_CLOSE_STYLES(TS_STYLE_ENUM)
#undef TS_STYLE_ENUM
    TS_STYLE_MAX = 6
} ts_close_style;

/* What every segment of the connection needs to know of the whole (the
 * tcpstate.conn.* fields).  The statistics add timings and counts of their
 * own, from the packets they are given (stats.c). */
typedef struct ts_summary {
    double   first;         /* time of the first segment, seconds since the epoch */
    uint64_t bytes[2];      /* payload bytes sent by [TS_CLIENT], [TS_SERVER] */
    uint32_t segs[2];       /* segments sent */
    float    last;          /* time of the last segment, seconds after `first` */
    uint8_t  flags;         /* TS_SUM_* */
    uint8_t  first_rst;     /* 0, or 1 + role of the first RST's sender */
} ts_summary;               /* 40 bytes */

#define TS_SUM_REFUSED        0x01  /* a SYN was answered by a RST */
#define TS_SUM_BOTH_FINS      0x02  /* both endpoints sent a FIN, before any RST */
#define TS_SUM_COMBINED_FIN   0x04  /* the second FIN also acked the first */
#define TS_SUM_DATA_AFTER_FIN 0x08  /* the passive side sent data after acking the first FIN */
#define TS_SUM_ONE_FIN        0x10  /* at least one FIN (a teardown step) */
#define TS_SUM_SYNACK         0x20  /* a SYN-ACK was sent */
#define TS_SUM_FIRST_SERVER   0x40  /* the server sent the connection's first segment */

const char *ts_outcome_name(ts_outcome o);          /* "complete", ...; "none" */
const char *ts_close_style_name(ts_close_style s);  /* "four_segment", ...; "none" */

#endif /* TCPSTATE_SUMMARY_H */
