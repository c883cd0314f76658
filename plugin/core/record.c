/* record.c - one connection record for machines (see record.h)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "record.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *
ts_closer_name(ts_closer c)
{
    static const char *const names[] = { "none", "client", "server", "both" };
    return names[(unsigned)c & 3u];
}

void
ts_record_values_make(ts_record_values *v, const ts_conn *c, const ts_facts *f,
                      const ts_connstats *stats, const char *const ep_text[2],
                      const char *const endpoint[2], uint64_t frames_before, int64_t stream,
                      bool open, bool carried)
{
    /* Index 0 is the stream's first sender.  tcpstate's client is the
     * other one if the server spoke first; Zeek's originator is the first
     * sender unless Zeek flipped the roles (zeek.h). */
    const unsigned client = (c->sum.flags & TS_SUM_FIRST_SERVER) ? 1u : 0u;
    const unsigned orig = ts_zeek_orig_is_first(&c->zeek) ? 0u : 1u;
    const int orig_role = orig == client ? TS_CLIENT : TS_SERVER;
    const double hs = ts_connstats_handshake(stats);

    memset(v, 0, sizeof *v);
    ts_facts_uid(f, v->uid);
    v->ts_ns = f->first_ns;
    v->duration_ns = f->last_ns - f->first_ns;
    v->orig_h = ep_text[orig];
    v->orig_p = f->port[orig];
    v->resp_h = ep_text[!orig];
    v->resp_p = f->port[!orig];
    v->orig_bytes = c->sum.bytes[orig_role];
    v->resp_bytes = c->sum.bytes[!orig_role];
    v->orig_pkts = c->sum.segs[orig_role];
    v->resp_pkts = c->sum.segs[!orig_role];
    v->conn_state = ts_zeek_conn_state(&c->zeek);
    ts_zeek_history(&c->zeek, v->history);
    v->client = endpoint[client];
    v->server = endpoint[!client];
    v->stream = stream;
    v->outcome = ts_conn_outcome(c);
    v->closer = ts_conn_closer(c);
    v->style = ts_conn_close_style(c);
    v->client_state = ts_fsm_display(c->ep[TS_CLIENT].st);
    v->server_state = ts_fsm_display(c->ep[TS_SERVER].st);
    v->roles_guessed = (c->flags & TS_CONN_MIDSTREAM) != 0;
    v->open = open;
    v->carried = carried;
    v->handshake_ms = hs >= 0 ? hs * 1000 : -1;
    v->close_wait_s = ts_connstats_close_wait(stats);
    v->fin_wait2_s = ts_connstats_fin_wait2(stats);
    v->illegal = stats->illegal;
    v->warnings = stats->warnings;
    v->first_frame = frames_before + (uint64_t)f->first_frame;
    v->last_frame = frames_before + (uint64_t)f->last_frame;
}

/* ---- JSON ----------------------------------------------------------------- */

size_t
ts_json_string(const char *s, char *buf, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;

#define PUT(ch) do { if (n + 1 < len) buf[n] = (char)(ch); n++; } while (0)
    PUT('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':  PUT('\\'); PUT('"'); break;
        case '\\': PUT('\\'); PUT('\\'); break;
        case '\n': PUT('\\'); PUT('n'); break;
        case '\r': PUT('\\'); PUT('r'); break;
        case '\t': PUT('\\'); PUT('t'); break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                PUT('\\'); PUT('u'); PUT('0'); PUT('0');
                PUT(hex[*p >> 4]); PUT(hex[*p & 15]);
            } else {
                PUT(*p);    /* UTF-8 passes through */
            }
        }
    }
    PUT('"');
#undef PUT
    if (len)
        buf[n < len ? n : len - 1] = '\0';
    return n;
}

typedef struct out {
    char  *buf;
    size_t len, pos;
    bool   full;
} out;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
put(out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->full)
        return;
    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->pos, o->len - o->pos, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->len - o->pos)
        o->full = true;
    else
        o->pos += (size_t)n;
}

static void
key(out *o, const char *name)
{
    put(o, "%s\"%s\":", o->pos > 1 ? "," : "", name);
}

static void
str(out *o, const char *name, const char *value)
{
    char tmp[512];

    key(o, name);
    if (ts_json_string(value ? value : "", tmp, sizeof tmp) >= sizeof tmp)
        o->full = true;
    else
        put(o, "%s", tmp);
}

static void
num_u(out *o, const char *name, uint64_t value)
{
    key(o, name);
    put(o, "%llu", (unsigned long long)value);
}

static void
boolean(out *o, const char *name, bool value)
{
    key(o, name);
    put(o, "%s", value ? "true" : "false");
}

/* Nanoseconds as seconds with six decimals, rounded down (as Zeek's
 * microsecond timestamps). */
static void
ns_secs(out *o, const char *name, int64_t ns)
{
    const int64_t us = ns >= 0 ? ns / 1000 : -((-ns + 999) / 1000);
    const int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    const int64_t frac = us - secs * 1000000;

    key(o, name);
    if (secs < 0 && frac)
        put(o, "-%lld.%06lld", (long long)(-secs - 1), (long long)(1000000 - frac));
    else
        put(o, "%s%lld.%06lld", secs < 0 ? "-" : "", (long long)(secs < 0 ? -secs : secs),
            (long long)frac);
}

/* A double with `decimals` places; null if not finite or (nonneg) negative. */
static void
real(out *o, const char *name, double value, int decimals, bool null_if_negative)
{
    key(o, name);
    if (!isfinite(value) || (null_if_negative && value < 0))
        put(o, "null");
    else
        put(o, "%.*f", decimals, value);
}

size_t
ts_record_json(const ts_record_values *v, char *buf, size_t len)
{
    out o = { buf, len, 0, len < 2 };

    put(&o, "{");
    /* Zeek's conn.log names, in Zeek's order */
    ns_secs(&o, "ts", v->ts_ns);
    str(&o, "uid", v->uid);
    str(&o, "id.orig_h", v->orig_h);
    num_u(&o, "id.orig_p", v->orig_p);
    str(&o, "id.resp_h", v->resp_h);
    num_u(&o, "id.resp_p", v->resp_p);
    str(&o, "proto", "tcp");
    ns_secs(&o, "duration", v->duration_ns);
    num_u(&o, "orig_bytes", v->orig_bytes);
    num_u(&o, "resp_bytes", v->resp_bytes);
    str(&o, "conn_state", v->conn_state);
    str(&o, "history", v->history);
    num_u(&o, "orig_pkts", v->orig_pkts);
    num_u(&o, "resp_pkts", v->resp_pkts);
    /* tcpstate's own */
    str(&o, "tcpstate.schema", TS_RECORD_SCHEMA);
    key(&o, "tcpstate.stream");
    if (v->stream < 0)
        put(&o, "null");
    else
        put(&o, "%lld", (long long)v->stream);
    str(&o, "tcpstate.client", v->client);
    str(&o, "tcpstate.server", v->server);
    str(&o, "tcpstate.outcome", ts_outcome_name(v->outcome));
    str(&o, "tcpstate.closer", ts_closer_name(v->closer));
    str(&o, "tcpstate.close_style", ts_close_style_name(v->style));
    str(&o, "tcpstate.client_state", ts_state_name(v->client_state));
    str(&o, "tcpstate.server_state", ts_state_name(v->server_state));
    boolean(&o, "tcpstate.roles_guessed", v->roles_guessed);
    boolean(&o, "tcpstate.open", v->open);
    boolean(&o, "tcpstate.carried", v->carried);
    real(&o, "tcpstate.handshake_ms", v->handshake_ms, 3, true);
    real(&o, "tcpstate.close_wait_s", v->close_wait_s, 6, false);
    real(&o, "tcpstate.fin_wait2_s", v->fin_wait2_s, 6, false);
    num_u(&o, "tcpstate.illegal", v->illegal);
    num_u(&o, "tcpstate.warnings", v->warnings);
    num_u(&o, "tcpstate.first_frame", v->first_frame);
    num_u(&o, "tcpstate.last_frame", v->last_frame);
    put(&o, "}\n");
    return o.full ? 0 : o.pos;
}
