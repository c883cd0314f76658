/* docgen.c - documents made from the plugin's own lists
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 *   docgen expert TEMPLATE      docs/expert.md: TEMPLATE with @ANOMALIES@
 *                               replaced by one section per anomaly
 *   docgen anomalies            the anomaly list as TSV (name group severity summary)
 *
 * ctest compares the committed docs with this output, so the docs cannot go
 * stale; the tshark tests read the TSV.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anomalies.h"

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
    fprintf(stderr, "usage: %s expert TEMPLATE | anomalies\n", argv[0]);
    return 2;
}
