/* Transport engine: NewReno congestion control (RFC 5681, RFC 6582 with the engine's
 * SACK recovery).  Initial window init_segs MSS (RFC 6928 gives 10), slow start with
 * appropriate byte counting L = 2 (RFC 3465), congestion avoidance +1 MSS per cwnd
 * acknowledged, halving on loss: ssthresh = max(pipe / 2, 2 MSS), cwnd = ssthresh in
 * fast recovery, 1 MSS after an RTO; leaving fast recovery, cwnd = ssthresh. */
#include "xport/xp_cc.h"
#include "xport/xp_seq.h"

static void reno_init(struct xp_cc *cc, uint32_t mss, uint32_t init_segs)
{
    cc->mss = mss;
    cc->cwnd = (uint64_t)init_segs * mss;
    cc->ssthresh = XP_SSTHRESH_INIT;
    cc->u.reno.acc = 0;
}

void xp_newreno_on_ack(struct xp_cc *cc, uint64_t acked, uint64_t rtt_ns, uint64_t now)
{
    (void)rtt_ns;
    (void)now;
    if (cc->cwnd < cc->ssthresh) {
        cc->cwnd += xp_min64(acked, 2ull * cc->mss); /* slow start, ABC with L = 2 */
    } else {
        cc->u.reno.acc += acked; /* congestion avoidance: + 1 MSS per cwnd acked */
        if (cc->u.reno.acc >= cc->cwnd) {
            cc->u.reno.acc -= cc->cwnd;
            cc->cwnd += cc->mss;
        }
    }
}

static void reno_on_loss(struct xp_cc *cc, uint64_t pipe, uint64_t now)
{
    (void)now;
    cc->ssthresh = xp_max64(pipe / 2, 2ull * cc->mss);
    cc->cwnd = cc->ssthresh;
    cc->u.reno.acc = 0;
}

static void reno_on_rto(struct xp_cc *cc, uint64_t pipe, uint64_t now)
{
    (void)now;
    cc->ssthresh = xp_max64(pipe / 2, 2ull * cc->mss);
    cc->cwnd = cc->mss;
    cc->u.reno.acc = 0;
}

static void reno_exit(struct xp_cc *cc, bool after_rto, uint64_t now)
{
    (void)now;
    if (!after_rto)
        cc->cwnd = xp_max64(cc->ssthresh, cc->mss);
}

const struct xp_cc_ops xp_cc_newreno = {
    .name = "newreno",
    .init = reno_init,
    .on_ack = xp_newreno_on_ack,
    .on_loss = reno_on_loss,
    .on_rto = reno_on_rto,
    .exit_recovery = reno_exit,
};
