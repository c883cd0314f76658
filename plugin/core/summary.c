/* summary.c - one connection's summary (see summary.h)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "summary.h"

#include "conn.h"

static const char *const outcome_names[TS_OUTCOME_MAX + 1] = {
    [TS_OUTCOME_NONE] = "none",
#define TS_OUTCOME_NAME(id, value, name, doc) [value] = name,
    TS_OUTCOMES(TS_OUTCOME_NAME)
#undef TS_OUTCOME_NAME
};

static const char *const style_names[TS_STYLE_MAX + 1] = {
    [TS_STYLE_NONE] = "none",
#define TS_STYLE_NAME(id, value, name, doc) [value] = name,
    TS_CLOSE_STYLES(TS_STYLE_NAME)
#undef TS_STYLE_NAME
};

const char *
ts_outcome_name(ts_outcome o)
{
    return (unsigned)o <= TS_OUTCOME_MAX ? outcome_names[o] : "?";
}

const char *
ts_close_style_name(ts_close_style s)
{
    return (unsigned)s <= TS_STYLE_MAX ? style_names[s] : "?";
}

ts_outcome
ts_conn_outcome(const ts_conn *c)
{
    const ts_summary *s = &c->sum;

    if (c->flags & TS_CONN_MIDSTREAM)
        return TS_OUTCOME_MIDSTREAM;
    if (s->flags & TS_SUM_REFUSED)
        return TS_OUTCOME_REFUSED;
    if (s->flags & TS_SUM_BOTH_FINS)
        return TS_OUTCOME_COMPLETE;
    if (s->first_rst)
        return s->first_rst == 1 + TS_CLIENT ? TS_OUTCOME_RESET_BY_CLIENT
                                             : TS_OUTCOME_RESET_BY_SERVER;
    if (s->flags & TS_SUM_ONE_FIN)
        return TS_OUTCOME_HALF_CLOSED;
    if (c->flags & TS_CONN_OPENED)
        return TS_OUTCOME_OPEN;
    if (s->flags & TS_SUM_SYNACK)
        return TS_OUTCOME_HALF_OPEN;
    return TS_OUTCOME_NO_ANSWER;
}

ts_close_style
ts_conn_close_style(const ts_conn *c)
{
    const ts_summary *s = &c->sum;

    if (c->closer == TS_CLOSER_BOTH)
        return TS_STYLE_SIMULTANEOUS;
    if (s->first_rst && !(s->flags & TS_SUM_BOTH_FINS))
        return s->first_rst == 1 + TS_CLIENT ? TS_STYLE_RST_BY_CLIENT : TS_STYLE_RST_BY_SERVER;
    if (s->flags & TS_SUM_DATA_AFTER_FIN)
        return TS_STYLE_HALF_CLOSE;
    if (!(s->flags & TS_SUM_BOTH_FINS))
        return TS_STYLE_NONE;
    return (s->flags & TS_SUM_COMBINED_FIN) ? TS_STYLE_THREE_SEGMENT : TS_STYLE_FOUR_SEGMENT;
}
