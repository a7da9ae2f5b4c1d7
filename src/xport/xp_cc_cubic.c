/* Transport engine: CUBIC congestion control (RFC 9438), selectable per connection
 * (xp_cc_find("cubic") as xp_snd_cfg.cc).
 *
 * Units: windows in bytes, time in ns; the RFC's curve is in segments and seconds, so
 * W_cubic(t) = C * mss * (t - K)^3 + W_max with C = 0.4 segments / s^3 and t, K in
 * seconds.  The curve and K are computed in double (IEEE, so deterministic; K once per
 * epoch, the curve once or twice per ACK in congestion avoidance, never in slow
 * start); every window update is integer, with the products in 128 bits and the
 * fractions carried in remainders, so nothing overflows or is lost for any window up
 * to XP_CUBIC_WND_MAX (2^58 bytes, where every window saturates) and any epoch length.
 *
 * Order of events for one connection:
 *   init          cwnd = IW, ssthresh = "infinite", no W_max, no epoch
 *   on_ack        slow start (cwnd < ssthresh): + min(acked, 2 MSS) as NewReno (ABC L=2);
 *                 congestion avoidance: the first ACK starts the epoch (t_epoch = now,
 *                 cwnd_epoch = cwnd, W_est = cwnd, K from W_max - cwnd_epoch, or K = 0
 *                 and W_max = cwnd_epoch if W_max is below it); then W_est grows by
 *                 alpha * MSS * acked / cwnd (alpha = 3(1-beta)/(1+beta) = 9/17, 1 once
 *                 W_est reaches cwnd_prior); if W_cubic(t) < W_est the Reno-friendly
 *                 region sets cwnd = W_est, else cwnd grows by
 *                 (target - cwnd) * acked / cwnd with target = W_cubic(t + min RTT)
 *                 clamped to [cwnd, 1.5 cwnd] (concave below W_max, convex above)
 *   on_loss       W_max = cwnd, or cwnd * (1 + beta) / 2 when below the last W_max
 *                 (fast convergence); cwnd_prior = cwnd; ssthresh = max(cwnd * beta,
 *                 2 MSS); cwnd = ssthresh; the epoch ends
 *   on_rto        the same, but cwnd = 1 MSS and the min RTT is forgotten
 *   exit_recovery after fast recovery cwnd = ssthresh (after an RTO cwnd stays)
 * HyStart++ is not implemented: slow start ends at ssthresh or with a loss. */
#include <math.h>

#include "xport/xp_cc.h"
#include "xport/xp_seq.h"

typedef unsigned __int128 u128;

enum {
    BETA_NUM = 7, BETA_DEN = 10,    /* beta_cubic = 0.7 */
    FC_NUM = 17, FC_DEN = 20,       /* (1 + beta) / 2, fast convergence */
    ALPHA_NUM = 9, ALPHA_DEN = 17,  /* 3 (1 - beta) / (1 + beta) = 0.9 / 1.7 */
};

_Static_assert(sizeof(struct xp_cubic) <= sizeof(((struct xp_cc *)0)->u.raw),
               "CUBIC's state must fit xp_cc.u");

#define NO_EPOCH UINT64_MAX
#define CWND_MAX XP_CUBIC_WND_MAX /* 2^58: 17 * CWND_MAX (W_est's denominator) < 2^64 */

/* x * num / den without overflow for x < 2^64, num < den. */
static uint64_t mul_frac(uint64_t x, uint64_t num, uint64_t den)
{
    return x / den * num + x % den * num / den;
}

static uint64_t clamp_cwnd(uint64_t w, uint32_t mss)
{
    if (w > CWND_MAX)
        w = CWND_MAX;
    return w < mss ? mss : w;
}

uint64_t xp_cubic_k_ns(uint64_t w_max, uint64_t cwnd_epoch, uint32_t mss, double c)
{
    if (w_max <= cwnd_epoch || !mss || c <= 0)
        return 0;
    /* K = cbrt((W_max - cwnd_epoch) / C) seconds, the windows in segments */
    double k = cbrt((double)(w_max - cwnd_epoch) / mss / c) * 1e9;
    if (!(k < 1e18)) /* NaN-proof cap: 31 years */
        return 1000000000000000000ull;
    return (uint64_t)llround(k);
}

uint64_t xp_cubic_window(uint64_t w_max, uint64_t k_ns, uint64_t t_ns, uint32_t mss, double c)
{
    double d = ((double)t_ns - (double)k_ns) / 1e9; /* t - K, seconds */
    double w = (double)w_max + c * (double)mss * d * d * d;
    if (!(w > 0)) /* below zero (or NaN): only for a t before the epoch could start */
        return 0;
    if (w >= (double)CWND_MAX)
        return CWND_MAX;
    return (uint64_t)llround(w);
}

static void cubic_init(struct xp_cc *cc, uint32_t mss, uint32_t init_segs)
{
    struct xp_cubic *s = &cc->u.cubic;
    cc->mss = mss ? mss : 1;
    cc->cwnd = clamp_cwnd((uint64_t)init_segs * cc->mss, cc->mss);
    cc->ssthresh = XP_SSTHRESH_INIT;
    s->w_max = 0;
    s->k_ns = 0;
    s->t_epoch = NO_EPOCH;
    s->w_est = 0;
    s->cwnd_prior = 0;
    s->min_rtt = UINT64_MAX;
    s->rem_cubic = s->rem_est = 0;
}

static void epoch_start(struct xp_cc *cc, uint64_t now)
{
    struct xp_cubic *s = &cc->u.cubic;
    s->t_epoch = now;
    s->w_est = cc->cwnd;
    s->rem_cubic = s->rem_est = 0;
    if (s->w_max <= cc->cwnd) {
        /* no loss yet (or the window got past W_max another way): the plateau is here */
        s->w_max = cc->cwnd;
        s->k_ns = 0;
    } else {
        s->k_ns = xp_cubic_k_ns(s->w_max, cc->cwnd, cc->mss, XP_CUBIC_C);
    }
}

static void cubic_on_ack(struct xp_cc *cc, uint64_t acked, uint64_t rtt_ns, uint64_t now)
{
    struct xp_cubic *s = &cc->u.cubic;
    if (rtt_ns != UINT64_MAX && rtt_ns < s->min_rtt)
        s->min_rtt = rtt_ns;
    if (!acked)
        return;
    if (cc->cwnd < cc->ssthresh) {
        cc->cwnd = clamp_cwnd(cc->cwnd + xp_min64(acked, 2ull * cc->mss), cc->mss);
        return;
    }
    if (s->t_epoch == NO_EPOCH)
        epoch_start(cc, now);
    uint64_t t = now > s->t_epoch ? now - s->t_epoch : 0;

    /* Reno-friendly estimate: W_est += alpha * MSS * acked / cwnd.  The fraction is kept
     * over 17 cwnd whatever alpha is, so switching alpha keeps it exact (should the
     * engine's cap lower cwnd, a carried remainder is worth at most a few bytes). */
    uint64_t a = s->w_est >= s->cwnd_prior ? ALPHA_DEN : ALPHA_NUM;
    u128 den = (u128)ALPHA_DEN * cc->cwnd;
    u128 num = (u128)a * cc->mss * acked + s->rem_est;
    u128 inc = num / den;
    s->rem_est = (uint64_t)(num % den);
    s->w_est = inc >= CWND_MAX - s->w_est ? CWND_MAX : s->w_est + (uint64_t)inc;

    if (xp_cubic_window(s->w_max, s->k_ns, t, cc->mss, XP_CUBIC_C) < s->w_est) {
        /* Reno-friendly region */
        if (s->w_est > cc->cwnd)
            cc->cwnd = s->w_est;
        return;
    }
    /* concave or convex region: aim at where the curve is one RTT from now */
    uint64_t rtt = s->min_rtt == UINT64_MAX ? 0 : s->min_rtt;
    uint64_t target = xp_cubic_window(s->w_max, s->k_ns, t + rtt, cc->mss, XP_CUBIC_C);
    uint64_t hi = cc->cwnd + cc->cwnd / 2; /* cwnd <= 2^58: no overflow */
    if (target > hi)
        target = hi;
    if (target <= cc->cwnd)
        return; /* the plateau: at most cwnd */
    num = (u128)(target - cc->cwnd) * acked + s->rem_cubic;
    inc = num / cc->cwnd;
    s->rem_cubic = (uint64_t)(num % cc->cwnd);
    cc->cwnd = clamp_cwnd(inc >= CWND_MAX ? CWND_MAX : cc->cwnd + (uint64_t)inc, cc->mss);
}

/* A congestion event: W_max with fast convergence, ssthresh; the epoch ends. */
static void reduce(struct xp_cc *cc)
{
    struct xp_cubic *s = &cc->u.cubic;
    cc->cwnd = clamp_cwnd(cc->cwnd, cc->mss);
    if (cc->cwnd < s->w_max)
        s->w_max = mul_frac(cc->cwnd, FC_NUM, FC_DEN);
    else
        s->w_max = cc->cwnd;
    s->cwnd_prior = cc->cwnd;
    cc->ssthresh = xp_max64(mul_frac(cc->cwnd, BETA_NUM, BETA_DEN), 2ull * cc->mss);
    s->t_epoch = NO_EPOCH;
}

static void cubic_on_loss(struct xp_cc *cc, uint64_t pipe, uint64_t now)
{
    (void)pipe;
    (void)now;
    reduce(cc);
    cc->cwnd = cc->ssthresh;
}

static void cubic_on_rto(struct xp_cc *cc, uint64_t pipe, uint64_t now)
{
    (void)pipe;
    (void)now;
    reduce(cc);
    cc->cwnd = cc->mss;
    cc->u.cubic.min_rtt = UINT64_MAX; /* the path may have changed */
}

static void cubic_exit(struct xp_cc *cc, bool after_rto, uint64_t now)
{
    (void)now;
    if (!after_rto)
        cc->cwnd = xp_max64(cc->ssthresh, cc->mss);
}

const struct xp_cc_ops xp_cc_cubic = {
    .name = "cubic",
    .init = cubic_init,
    .on_ack = cubic_on_ack,
    .on_loss = cubic_on_loss,
    .on_rto = cubic_on_rto,
    .exit_recovery = cubic_exit,
};
