/* replay_split.h - the one line splitter of the replay tools
 * (tests/zeek/zeek_replay.c, tests/lua/core_replay.c), which read the same
 * tab-separated segment lines.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TCPSTATE_REPLAY_SPLIT_H
#define TCPSTATE_REPLAY_SPLIT_H

/* Split line at tabs, in place, into at most maxf fields (the line end
 * dropped); returns the number of fields. */
static inline int
replay_split(char *line, char **f, int maxf)
{
    int n = 0;
    char *p = line;
    f[n++] = p;
    while (*p && n < maxf) {
        if (*p == '\t') {
            *p = '\0';
            f[n++] = p + 1;
        } else if (*p == '\n' || *p == '\r') {
            *p = '\0';
            break;
        }
        p++;
    }
    return n;
}

#endif
