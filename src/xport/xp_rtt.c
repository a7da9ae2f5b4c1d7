/* Transport engine: RFC 6298 RTT estimator and RTO (xp_rtt.h). */
#include "xport/xp_rtt.h"

#include "xport/xp_seq.h"

void xp_rtt_init(struct xp_rtt *r, uint64_t rto_init, uint64_t rto_min, uint64_t rto_max)
{
    *r = (struct xp_rtt){.rto = rto_init, .min = rto_min, .max = rto_max};
}

void xp_rtt_set_rto(struct xp_rtt *r)
{
    uint64_t var = 4 * r->rttvar;
    uint64_t rto = r->srtt + (var > XP_RTT_GRANULARITY_NS ? var : XP_RTT_GRANULARITY_NS);
    r->rto = xp_min64(xp_max64(rto, r->min), r->max);
}

void xp_rtt_sample(struct xp_rtt *r, uint64_t sample)
{
    if (!r->have) {
        r->srtt = sample;
        r->rttvar = sample / 2;
        r->have = true;
    } else {
        uint64_t diff = r->srtt > sample ? r->srtt - sample : sample - r->srtt;
        r->rttvar = (3 * r->rttvar + diff) / 4;
        r->srtt = (7 * r->srtt + sample) / 8;
    }
    xp_rtt_set_rto(r);
}

void xp_rtt_backoff(struct xp_rtt *r)
{
    r->rto = xp_min64(2 * r->rto, r->max);
}

void xp_rtt_time_start(struct xp_rtt *r, uint64_t end, uint64_t now)
{
    if (r->timing)
        return;
    r->timing = true;
    r->timed_end = end;
    r->timed_at = now;
}

bool xp_rtt_time_ack(struct xp_rtt *r, uint64_t ack, uint64_t now)
{
    if (!r->timing || ack < r->timed_end)
        return false;
    r->timing = false;
    xp_rtt_sample(r, now - r->timed_at);
    return true;
}

void xp_rtt_time_cancel(struct xp_rtt *r)
{
    r->timing = false;
}
