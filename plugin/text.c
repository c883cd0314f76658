/* text.c - the words tcpstate shows for a record (see text.h)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config-tcpstate.h"

#include "text.h"

#include <stdio.h>
#include <string.h>

#include "anomalies.h"
#include "classify.h"
#include "fsm.h"

static const char *const step_names[2][5] = {
    { NULL, "SYN", "SYN-ACK", "ACK (handshake complete)", NULL },
    { NULL, "first FIN", "ACK of the first FIN", "second FIN", "ACK of the second FIN" },
};
static const struct {
    const char *what;
    unsigned    total;
} kinds[2] = { { "Handshake", 3 }, { "Teardown", 4 } };

/* Every combination of step bits, made once by ts_text_init().  A step is
 * on most segments; formatting it each time was a measurable part of the
 * plugin's cost. */
static char step_tags[2][32][24];
static uint8_t step_tag_lens[2][32];
static char step_texts[2][32][128];
/* "C:<client state> S:<server state>" for every pair, 0 = no state. */
static char state_pairs[TS_STATE_MAX + 1][TS_STATE_MAX + 1][32];
static uint8_t state_pair_lens[TS_STATE_MAX + 1][TS_STATE_MAX + 1];

/* strlcat: s after what buf holds, truncated to len bytes with the NUL. */
static void
append(char *buf, size_t len, const char *s)
{
    size_t used = strlen(buf);
    while (*s && used + 1 < len)
        buf[used++] = *s++;
    if (used < len)
        buf[used] = '\0';
}

void
ts_text_init(void)
{
    for (unsigned c = 0; c <= TS_STATE_MAX; c++)
        for (unsigned v = 0; v <= TS_STATE_MAX; v++)
            state_pair_lens[c][v] = (uint8_t)snprintf(state_pairs[c][v], sizeof state_pairs[c][v],
                                                      "C:%s S:%s", ts_text_state((uint8_t)c),
                                                      ts_text_state((uint8_t)v));
    for (int k = 0; k < 2; k++) {
        for (unsigned bits = 0; bits < 32; bits++) {
            char nums[16] = "", names[100] = "";
            for (unsigned n = 1; n <= kinds[k].total; n++) {
                if (!(bits & (1u << n)))
                    continue;
                char num[4];
                snprintf(num, sizeof num, "%s%u", nums[0] ? "+" : "", n);
                append(nums, sizeof nums, num);
                if (names[0])
                    append(names, sizeof names, ", ");
                append(names, sizeof names, step_names[k][n]);
            }
            if (!nums[0]) {
                step_tags[k][bits][0] = step_texts[k][bits][0] = '\0';
                continue;
            }
            const int n = snprintf(step_tags[k][bits], sizeof step_tags[k][bits], "%s %s/%u",
                                   kinds[k].what, nums, kinds[k].total);
            /* n, not strlen(): after a strlen() of the tag, the GCC of
             * Debian 13 and sid (14, 16) takes the tag below for the whole
             * array and fails -Werror=format-truncation. */
            step_tag_lens[k][bits] = (uint8_t)(n < (int)sizeof step_tags[k][bits]
                                                   ? n : (int)sizeof step_tags[k][bits] - 1);
            snprintf(step_texts[k][bits], sizeof step_texts[k][bits], "%s: %s",
                     step_tags[k][bits], names);
        }
    }
}

const char *
ts_text_state(uint8_t state)
{
    return state >= 1 && state <= TS_STATE_MAX ? ts_state_name((ts_state)state) : "?";
}

const char *
ts_text_step_tag(int kind, uint8_t bits)
{
    return step_tags[kind & 1][bits & 31];
}

const char *
ts_text_step_text(int kind, uint8_t bits)
{
    return step_texts[kind & 1][bits & 31];
}

const char *
ts_text_step_name(int kind, unsigned step)
{
    return step <= kinds[kind & 1].total && step_names[kind & 1][step] ? step_names[kind & 1][step]
                                                                      : "?";
}

void
ts_text_steps(const ts_record *r, char *buf, size_t len)
{
    buf[0] = '\0';
    if (r->handshake)
        append(buf, len, step_tags[TS_STEPS_HANDSHAKE][r->handshake & 31]);
    if (r->teardown) {
        if (buf[0])
            append(buf, len, ", ");
        append(buf, len, step_tags[TS_STEPS_TEARDOWN][r->teardown & 31]);
    }
}

char *
ts_text_states(const ts_record *r, const char *steps, char *buf, size_t len)
{
    const uint8_t c = r->state[TS_CLIENT], v = r->state[TS_SERVER];

    buf[0] = '\0';
    if (c <= TS_STATE_MAX && v <= TS_STATE_MAX) {
        append(buf, len, state_pairs[c][v]);
    } else {
        append(buf, len, "C:");
        append(buf, len, ts_text_state(c));
        append(buf, len, " S:");
        append(buf, len, ts_text_state(v));
    }
    if (steps && steps[0]) {
        append(buf, len, " ");
        append(buf, len, steps);
    }
    return buf;
}

char *
ts_text_flags(uint16_t flags, char *buf, size_t len)
{
    static const char names[][4] = { "FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "AE" };

    buf[0] = '\0';
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(flags & (1u << i)))
            continue;
        if (buf[0])
            append(buf, len, ", ");
        append(buf, len, names[i]);
    }
    if (flags & TS_TH_RES) {
        if (buf[0])
            append(buf, len, ", ");
        append(buf, len, "Reserved");
    }
    if (!buf[0])
        append(buf, len, "<None>");
    return buf;
}

char *
ts_text_anomalies(uint32_t bits, uint8_t illegal, char *buf, size_t len)
{
    static const char *const names[TS_AN_COUNT] = {
#define TS_AN_NAME(id, name, group, severity, summary, rule, doc) name,
        TS_ANOMALIES(TS_AN_NAME)
#undef TS_AN_NAME
    };

    buf[0] = '\0';
    for (unsigned i = 0; i < TS_AN_COUNT; i++) {
        if (!(bits & (1u << i)))
            continue;
        if (buf[0])
            append(buf, len, ", ");
        append(buf, len, names[i]);
        if (i == TS_AN_ILLEGAL_FLAGS && illegal) {
            char name[48];
            ts_illegal_name(illegal, name, sizeof name);
            append(buf, len, ": ");
            append(buf, len, name);
        }
    }
    return buf;
}

/* Copy n bytes of s at *at, if they fit before end (one byte kept for the
 * NUL). */
static void
put(char **at, char *end, const char *s, size_t n)
{
    if (n < (size_t)(end - *at)) {
        memcpy(*at, s, n);
        *at += n;
    }
}

size_t
ts_text_info_tag(const ts_record *r, char *buf, size_t len)
{
    const uint8_t c = r->state[TS_CLIENT], v = r->state[TS_SERVER];
    char *at = buf, *end = buf + len;
    const uint8_t hs = r->handshake & 31, td = r->teardown & 31;

    if (!len)
        return 0;
    put(&at, end, " [", 2);
    if (c <= TS_STATE_MAX && v <= TS_STATE_MAX) {
        put(&at, end, state_pairs[c][v], state_pair_lens[c][v]);
    } else {
        char pair[40];
        ts_text_states(r, NULL, pair, sizeof pair);
        put(&at, end, pair, strlen(pair));
    }
    if (hs) {
        put(&at, end, " ", 1);
        put(&at, end, step_tags[TS_STEPS_HANDSHAKE][hs], step_tag_lens[TS_STEPS_HANDSHAKE][hs]);
    }
    if (td) {
        put(&at, end, hs ? ", " : " ", hs ? 2 : 1);
        put(&at, end, step_tags[TS_STEPS_TEARDOWN][td], step_tag_lens[TS_STEPS_TEARDOWN][td]);
    }
    put(&at, end, "]", 1);
    *at = '\0';
    return (size_t)(at - buf);
}
