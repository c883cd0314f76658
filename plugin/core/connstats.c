/* connstats.c - what the statistics add up per connection (see connstats.h)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "connstats.h"

static void
stay(bool in, double t, double *since, double *max)
{
    if (in && *since < 0) {
        *since = t;
    } else if (!in && *since >= 0) {
        if (t - *since > *max)
            *max = t - *since;
        *since = -1;
    }
}

void
ts_connstats_add(ts_connstats *s, const ts_record *r, double t)
{
    if (s->segments++ == 0) {
        s->first = t;
        s->syn = s->synack = s->opened = s->cw_since = s->f2_since = -1;
    }
    s->last = t;
    if (r->illegal)
        s->illegal++;
    for (uint32_t w = r->anomalies & TS_AN_WARNINGS; w; w &= w - 1)
        s->warnings++;
    if ((r->handshake & (1u << 1)) && !(r->flags & TS_REC_FROM_SERVER) && s->syn < 0)
        s->syn = t;
    if ((r->handshake & (1u << 2)) && s->synack < 0)
        s->synack = t;
    if ((r->handshake & (1u << 3)) && s->opened < 0)
        s->opened = t;
    stay(r->state[TS_CLIENT] == TS_STATE_CLOSE_WAIT || r->state[TS_SERVER] == TS_STATE_CLOSE_WAIT,
         t, &s->cw_since, &s->cw_max);
    stay(r->state[TS_CLIENT] == TS_STATE_FIN_WAIT2 || r->state[TS_SERVER] == TS_STATE_FIN_WAIT2,
         t, &s->f2_since, &s->f2_max);
}

static double
between(double from, double to)
{
    return from >= 0 && to >= from ? to - from : -1;
}

double
ts_connstats_syn_to_synack(const ts_connstats *s)
{
    return between(s->syn, s->synack);
}

double
ts_connstats_synack_to_ack(const ts_connstats *s)
{
    return between(s->synack, s->opened);
}

double
ts_connstats_handshake(const ts_connstats *s)
{
    return between(s->syn, s->opened);
}

static double
longest(double max, double since, double last)
{
    return since >= 0 && last - since > max ? last - since : max;
}

double
ts_connstats_close_wait(const ts_connstats *s)
{
    return longest(s->cw_max, s->cw_since, s->last);
}

double
ts_connstats_fin_wait2(const ts_connstats *s)
{
    return longest(s->f2_max, s->f2_since, s->last);
}
