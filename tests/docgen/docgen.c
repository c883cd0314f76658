/* docgen.c - documents made from the plugin's own lists
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 *   docgen expert TEMPLATE      docs/expert.md: TEMPLATE with @ANOMALIES@
 *                               replaced by one section per anomaly
 *   docgen anomalies            the anomaly list as TSV (name group severity summary)
 *   docgen dot                  docs/state-diagram.dot: the state machine's own
 *                               table (plugin/core/fsm.c) as a Graphviz graph
 *
 * ctest compares the committed docs with this output, so the docs cannot go
 * stale; the tshark tests read the TSV.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anomalies.h"
#include "fsm.h"

typedef struct {
    const char *name, *group, *severity, *summary, *rule, *doc;
} anomaly_info;

static const anomaly_info list[TS_AN_COUNT] = {
#define TS_AN_INFO(id, name, group, severity, summary, rule, doc) \
    { name, #group, #severity, summary, rule, doc },
    TS_ANOMALIES(TS_AN_INFO)
#undef TS_AN_INFO
};

/* "SEQUENCE" -> "Sequence", as Wireshark's Expert Info shows it */
static void
print_word(const char *w)
{
    putchar(w[0]);
    for (const char *p = w + 1; *p; p++)
        putchar(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
}

static void
print_anomalies(void)
{
    printf("| filter | group | severity | summary |\n|---|---|---|---|\n");
    for (int i = 0; i < TS_AN_COUNT; i++) {
        printf("| [`tcpstate.%s`](#tcpstate%s) | ", list[i].name, list[i].name);
        print_word(list[i].group);
        printf(" | ");
        print_word(list[i].severity);
        printf(" | %s |\n", list[i].summary);
    }
    for (int i = 0; i < TS_AN_COUNT; i++) {
        printf("\n### tcpstate.%s\n\n", list[i].name);
        printf("*");
        print_word(list[i].group);
        printf(", ");
        print_word(list[i].severity);
        printf("* — %s.\n\n", list[i].summary);
        printf("%s\n\n", list[i].doc);
        printf("Rule: %s.\n", list[i].rule);
    }
}


/* ---- the state diagram ----------------------------------------------------
 *
 * One node per internal state (fsm.h), named by its netstat state; the
 * states fsm.h splits carry what tells them apart.  One edge per pair of
 * states the table connects, labelled with every segment that moves an
 * endpoint along it ("sends FIN", "receives ACK of its FIN").  Left out:
 * invalid and ignored cells and cells that keep the state (retransmissions,
 * repeated ACKs).  An event that takes most states to the same state (RST
 * to CLOSED) is drawn once, from a node "any state", its exceptions named. */

static const char *const state_note[TS_FSM_NSTATES] = {
    [sSS] = "own SYN not acked yet",
    [sSA] = "own SYN acked,\\npeer's SYN to answer",
    [sSR] = "own SYN not acked yet",
    [sSX] = "crossed open: own SYN acked,\\npeer's SYN to answer",
    [sCG] = "has the peer's FIN,\\nown FIN not acked yet",
    [sTW] = "answered the peer's FIN",
    [sTC] = "from CLOSING, by an ACK:\\nits FIN again reopens it",
    [sTX] = "from CLOSING, by the peer's\\nFIN again: its own crossed it",
    [sLC] = "after LAST_ACK:\\nits FIN again reopens it",
};

/* What the event is, for the endpoint on side dir of the segment. */
static const char *
event_text(ts_dir dir, ts_event ev)
{
    static const char *const send[TS_NEVENTS] = {
        [TS_EV_SYN] = "sends SYN", [TS_EV_SYNACK] = "sends SYN-ACK",
        [TS_EV_ACK_SYN] = "sends ACK of peer's SYN", [TS_EV_FIN] = "sends FIN",
        [TS_EV_FIN_X] = "sends FIN\\n(crossing the peer's)",
        [TS_EV_ACK_FIN] = "sends ACK of peer's FIN", [TS_EV_RST] = "sends RST",
    };
    static const char *const recv[TS_NEVENTS] = {
        [TS_EV_SYN] = "receives SYN",
        [TS_EV_ACK_SYN] = "receives ACK of its SYN",
        [TS_EV_ACK_SYN_X] = "receives ACK of its SYN\\n(peer's SYN seen first)",
        [TS_EV_FIN] = "receives FIN\\n(crossing its own)",
        [TS_EV_ACK_FIN] = "receives ACK of its FIN",
        [TS_EV_ACK_FIN_X] = "receives ACK of its FIN\\n(in the peer's FIN again)",
        [TS_EV_RST] = "receives RST",
    };
    const char *t = dir == TS_DIR_SEND ? send[ev] : recv[ev];
    return t ? t : ts_event_name(ev);
}

/* The crossed variant of an event, or -1. */
static int
crossed(ts_event ev)
{
    return ev == TS_EV_ACK_SYN ? TS_EV_ACK_SYN_X : ev == TS_EV_ACK_FIN ? TS_EV_ACK_FIN_X
         : ev == TS_EV_FIN ? TS_EV_FIN_X : -1;
}

#define ANY TS_FSM_NSTATES          /* the "any state" node */
#define MAJORITY (TS_FSM_NSTATES / 2 + 1)

/* edges[from][to]: bit (dir * TS_NEVENTS + ev) per event on that edge;
 * to may be sLI or sCL for sBK cells, noted in back[from][to]. */
static uint32_t edges[ANY + 1][TS_FSM_NSTATES];
static uint32_t back[ANY + 1][TS_FSM_NSTATES];
/* For the "any state" edges: the states left out, per event bit. */
static uint32_t any_except[TS_NDIRS * TS_NEVENTS];

static void
collect_edges(void)
{
    for (int dir = 0; dir < TS_NDIRS; dir++) {
        for (int ev = 0; ev < TS_NEVENTS; ev++) {
            const uint8_t *row = ts_fsm_table[dir][ev];
            int bit = dir * TS_NEVENTS + ev, common = -1, most = 0;

            for (int to = 0; to < TS_FSM_NSTATES; to++) {
                int n = 0;
                for (int st = 0; st < TS_FSM_NSTATES; st++)
                    n += row[st] == to;
                if (n > most) {
                    most = n;
                    common = to;
                }
            }
            if (most < MAJORITY)
                common = -1;
            for (int st = 0; st < TS_FSM_NSTATES; st++) {
                uint8_t to = row[st];
                if (to == sIV || to == sIG || to == st)
                    continue;
                if (to == common) {
                    edges[ANY][to] |= 1u << bit;
                    continue;
                }
                if (to == sBK) {
                    edges[st][sLI] |= 1u << bit;
                    back[st][sLI] |= 1u << bit;
                    edges[st][sCL] |= 1u << bit;
                    back[st][sCL] |= 1u << bit;
                    continue;
                }
                edges[st][to] |= 1u << bit;
            }
            if (common >= 0)
                for (int st = 0; st < TS_FSM_NSTATES; st++)
                    if (row[st] != common && st != common)
                        any_except[bit] |= 1u << st;
        }
    }
}

static void
print_edge_label(int from, int to)
{
    const char *sep = "";

    for (int dir = 0; dir < TS_NDIRS; dir++) {
        for (int ev = 0; ev < TS_NEVENTS; ev++) {
            int bit = dir * TS_NEVENTS + ev, base = -1;

            if (!(edges[from][to] & (1u << bit)))
                continue;
            /* "_X": the same edge as the plain event needs no second label */
            for (int e = 0; e < TS_NEVENTS; e++)
                if (crossed((ts_event)e) == ev)
                    base = e;
            if (base >= 0 && (edges[from][to] & (1u << (dir * TS_NEVENTS + base))))
                continue;
            printf("%s%s", sep, event_text((ts_dir)dir, (ts_event)ev));
            if (back[from][to] & (1u << bit))
                printf(to == sLI ? "\\n(opened passively)" : "\\n(opened actively)");
            if (from == ANY && any_except[bit]) {
                const char *comma = "";
                printf("\\n(not in ");
                for (int st = 0; st < TS_FSM_NSTATES; st++) {
                    if (!(any_except[bit] & (1u << st)))
                        continue;
                    /* a displayed state once, even if split */
                    if (st > 0 && ts_fsm_display((uint8_t)st) == ts_fsm_display((uint8_t)(st - 1))
                        && (any_except[bit] & (1u << (st - 1))))
                        continue;
                    printf("%s%s", comma, ts_state_name(ts_fsm_display((uint8_t)st)));
                    comma = ", ";
                }
                printf(")");
            }
            sep = "\\n";
        }
    }
}

/* Edges the endpoint's own segment causes are solid, received ones dashed. */
static bool
edge_is_sent(int from, int to)
{
    return (edges[from][to] & ((1u << TS_NEVENTS) - 1)) != 0;
}

static bool
edge_is_received(int from, int to)
{
    return (edges[from][to] >> TS_NEVENTS) != 0;
}

static int
dot(void)
{
    collect_edges();
    printf("// Generated by tests/docgen (docgen dot) from ts_fsm_table in plugin/core/fsm.c;\n"
           "// ctest fails when this file or state-diagram.svg is stale.\n"
           "digraph tcpstate {\n"
           "    graph [fontname=\"Helvetica\", fontsize=11, nodesep=0.35, ranksep=0.45,\n"
           "           labelloc=t, label=<<b>tcpstate: one endpoint's TCP states</b><br/>"
           "<font point-size=\"10\">solid: a segment the endpoint sends; dashed: "
           "one it receives. Left out: segments that change nothing.</font>>];\n"
           "    node [fontname=\"Helvetica\", fontsize=11, shape=box, style=\"rounded,filled\",\n"
           "          fillcolor=\"#eef3fb\", color=\"#4a6a9a\"];\n"
           "    edge [fontname=\"Helvetica\", fontsize=9, color=\"#333333\", arrowsize=0.7];\n");
    for (int st = 0; st < TS_FSM_NSTATES; st++) {
        printf("    %s [label=<<b>%s</b>", ts_fsm_state_alias((uint8_t)st),
               ts_state_name(ts_fsm_display((uint8_t)st)));
        if (state_note[st]) {
            printf("<br/><font point-size=\"9\">");
            for (const char *p = state_note[st]; *p; p++) {
                if (p[0] == '\\' && p[1] == 'n') {
                    printf("<br/>");
                    p++;
                } else if (*p == '\'') {
                    printf("&#39;");
                } else {
                    putchar(*p);
                }
            }
            printf("</font>");
        }
        printf(">%s];\n", st == sCL || st == sLI ? ", fillcolor=\"#dde8d0\"" : "");
    }
    printf("    any [label=\"any state\", shape=plaintext, style=\"\"];\n");
    /* where endpoints start, side by side at the top */
    printf("    { rank=same; %s; %s; }\n", ts_fsm_state_alias(sCL), ts_fsm_state_alias(sLI));
    for (int from = 0; from <= ANY; from++) {
        for (int to = 0; to < TS_FSM_NSTATES; to++) {
            if (!edges[from][to])
                continue;
            printf("    %s -> %s [label=\"", from == ANY ? "any" : ts_fsm_state_alias((uint8_t)from),
                   ts_fsm_state_alias((uint8_t)to));
            print_edge_label(from, to);
            printf("\"%s];\n", edge_is_sent(from, to)
                                   ? (edge_is_received(from, to) ? ", style=bold" : "")
                                   : ", style=dashed");
        }
    }
    printf("}\n");
    return 0;
}

static int
expert_md(const char *template_path)
{
    char line[4096];
    FILE *fp = fopen(template_path, "r");

    if (!fp) {
        perror(template_path);
        return 2;
    }
    while (fgets(line, sizeof line, fp)) {
        if (strcmp(line, "@ANOMALIES@\n") == 0)
            print_anomalies();
        else
            fputs(line, stdout);
    }
    fclose(fp);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "expert") == 0)
        return expert_md(argv[2]);
    if (argc == 2 && strcmp(argv[1], "anomalies") == 0) {
        for (int i = 0; i < TS_AN_COUNT; i++)
            printf("tcpstate.%s\t%s\t%s\t%s\n", list[i].name, list[i].group, list[i].severity,
                   list[i].summary);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "dot") == 0)
        return dot();
    fprintf(stderr, "usage: %s expert TEMPLATE | anomalies | dot\n", argv[0]);
    return 2;
}
