/* CUBIC (src/xport/xp_cc_cubic.c, RFC 9438) with virtual time, table-driven: K and
 * W_cubic(t) against hand-computed points for several (W_max, C); the window after a
 * loss, one RTT at a time (concave up to W_max, a plateau around K, convex beyond);
 * the Reno-friendly region at a small RTT (alpha 9/17, then 1 past cwnd_prior); fast
 * convergence, loss, RTO and recovery exit as an event table; the 1 MSS floor under
 * random events; huge windows with MSS 1 over long epochs; determinism; and through
 * the engine, two RBS cores with CUBIC selected moving 4 MiB over a lossy simulated
 * link, every byte checked, twice per seed.
 *
 * Set CUBIC_PRINT=1 to print the cwnd trajectory and the transfer times. */
#include <errno.h>
#include <stdbool.h>

#include "check.h"
#include "rbs/rbs_core.h"
#include "rbs/rbs_impl.h"
#include "util/rng.h"
#include "xport/xp_cc.h"

static const uint64_t MS = 1000000ull, SEC = 1000000000ull;
static bool print;

#define CWND_MAX XP_CUBIC_WND_MAX

/* ---- the curve ---- */

static void test_curve(void)
{
    CHECK(xp_cc_find("cubic") == &xp_cc_cubic);
    CHECK(xp_cc_table[0] == &xp_cc_newreno && xp_cc_table[1] == &xp_cc_cubic);
    /* K = cbrt((W_max - cwnd_epoch) / (C * MSS)); points chosen so K is whole:
     * W(t) = W_max + C * MSS * (t - K)^3 */
    static const struct {
        uint64_t w_max, epoch;
        uint32_t mss;
        double c;
        uint64_t k_s;
        struct { int64_t t_ms; uint64_t w; } pt[4];
    } t[] = {
        /* 10.8 segments / 0.4 = 27: K = 3 s; W(1) = 36000 - 400 * 8 */
        {36000, 25200, 1000, 0.4, 3, {{0, 25200}, {1000, 32800}, {3000, 36000}, {5000, 39200}}},
        /* 86.4 / 0.4 = 216: K = 6 s */
        {288000, 201600, 1000, 0.4, 6, {{4000, 284800}, {6000, 288000}, {7000, 288400}, {8000, 291200}}},
        /* MSS 1500: 400 / 0.4 = 1000: K = 10 s; C * MSS = 600 */
        {2000000, 1400000, 1500, 0.4, 10, {{0, 1400000}, {9000, 1999400}, {10500, 2000075}, {12000, 2004800}}},
        /* C = 0.1: 2.7 / 0.1 = 27: K = 3 s; C * MSS = 100 */
        {10000, 7300, 1000, 0.1, 3, {{0, 7300}, {2000, 9900}, {3000, 10000}, {5000, 10800}}},
        /* C = 1: 8 / 1 = 8: K = 2 s */
        {20000, 12000, 1000, 1.0, 2, {{0, 12000}, {1000, 19000}, {3000, 21000}, {4000, 28000}}},
        /* C = 0.8, MSS 500: 43.2 / 0.8 = 54 ... use 21.6 / 0.8 = 27: K = 3 s; C * MSS = 400 */
        {30000, 19200, 500, 0.8, 3, {{0, 19200}, {2000, 29600}, {3000, 30000}, {6000, 40800}}},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint64_t k = xp_cubic_k_ns(t[i].w_max, t[i].epoch, t[i].mss, t[i].c);
        CHECK_EQ(k, t[i].k_s * SEC);
        for (int j = 0; j < 4; j++)
            CHECK_EQ(xp_cubic_window(t[i].w_max, k, (uint64_t)t[i].pt[j].t_ms * MS, t[i].mss,
                                     t[i].c),
                     t[i].pt[j].w);
    }
    /* K with the RFC's beta: W_max * 0.3 / 0.4 segments; 100 segments: cbrt(75) s */
    CHECK_EQ(xp_cubic_k_ns(100000, 70000, 1000, XP_CUBIC_C), 4217163327);
    /* nothing to regain: K = 0 */
    CHECK_EQ(xp_cubic_k_ns(5000, 5000, 1000, XP_CUBIC_C), 0);
    CHECK_EQ(xp_cubic_k_ns(5000, 9000, 1000, XP_CUBIC_C), 0);
    /* extremes: saturate, never wrap */
    CHECK_EQ(xp_cubic_window(CWND_MAX, 0, UINT64_MAX, 65535, XP_CUBIC_C), CWND_MAX);
    CHECK_EQ(xp_cubic_window(1000, UINT64_MAX, 0, 65535, XP_CUBIC_C), 0);
    uint64_t kbig = xp_cubic_k_ns(CWND_MAX, 0, 1, XP_CUBIC_C); /* cbrt(2^58 / 0.4) s */
    CHECK(kbig > 896519ull * SEC && kbig < 896520ull * SEC);  /* 896519.87 s */
}

/* ---- one RTT at a time ---- */

/* Acknowledges one window in MSS-sized ACKs spread over one RTT; *now advances. */
static void ack_round(struct xp_cc *cc, uint64_t *now, uint64_t rtt)
{
    uint64_t w = cc->cwnd, n = (w + cc->mss - 1) / cc->mss;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t a = i + 1 < n ? cc->mss : w - (n - 1) * cc->mss;
        xp_cc_on_ack(cc, a, rtt, *now + rtt * (i + 1) / n);
    }
    *now += rtt;
}

/* After a loss at 1000 segments (MSS 1000), RTT 100 ms: K = cbrt(750) = 9.086 s; W_est
 * gains 9/17 MSS per RTT and stays below the curve, so the window is the curve's. */
static void test_trajectory(void)
{
    struct xp_cc cc;
    uint64_t now = 10 * SEC, rtt = 100 * MS;
    const uint64_t wm = 1000000;
    xp_cc_init(&cc, &xp_cc_cubic, 1000, 10);
    CHECK_EQ(cc.cwnd, 10000);
    while (cc.cwnd < wm)
        ack_round(&cc, &now, rtt); /* slow start doubles per RTT */
    CHECK_EQ(cc.cwnd, 1280000);    /* 10 -> 20 -> ... -> 1280 segments */
    cc.cwnd = wm;
    xp_cc_on_loss(&cc, wm, now);
    xp_cc_exit_recovery(&cc, false, now);
    CHECK_EQ(cc.cwnd, 700000);
    CHECK_EQ(cc.ssthresh, 700000);
    CHECK_EQ(cc.u.cubic.w_max, wm);
    const uint64_t t0 = now, k = xp_cubic_k_ns(wm, 700000, 1000, XP_CUBIC_C);
    CHECK(k > 9085 * MS && k < 9086 * MS); /* 9.0856 s */
    enum { ROUNDS = 150 };
    uint64_t at[ROUNDS], prev = cc.cwnd;
    bool mono = true, below = true, tracks = true, curve = true;
    for (int r = 0; r < ROUNDS; r++) {
        ack_round(&cc, &now, rtt);
        at[r] = cc.cwnd; /* cwnd at t0 + (r + 1) RTT */
        uint64_t t = now - t0;
        mono = mono && cc.cwnd >= prev;
        /* never ahead of the curve one RTT on, never a round behind it */
        below = below && cc.cwnd <= xp_cubic_window(wm, k, t + rtt, 1000, XP_CUBIC_C);
        tracks = tracks && cc.cwnd + 1000 >= xp_cubic_window(wm, k, t - rtt, 1000, XP_CUBIC_C);
        curve = curve && cc.u.cubic.w_est < cc.cwnd;
        prev = cc.cwnd;
        if (print && r % 10 == 9)
            fprintf(stderr, "cubic t=%4.1f s cwnd %7llu W_cubic(t) %7llu W_est %6llu\n",
                    (double)t / 1e9, (unsigned long long)cc.cwnd,
                    (unsigned long long)xp_cubic_window(wm, k, t, 1000, XP_CUBIC_C),
                    (unsigned long long)cc.u.cubic.w_est);
    }
    CHECK(mono);
    CHECK(below);
    CHECK(tracks);
    CHECK(curve);
    CHECK_EQ(cc.u.cubic.k_ns, k);
    /* at[10 s - 1] is cwnd after s seconds.  Concave: the growth per second shrinks up to K */
    uint64_t g_prev = at[9] - 700000;
    CHECK(g_prev > 85000); /* W(1 s) - 700000 = 88555 */
    for (int sec = 2; sec <= 9; sec++) {
        uint64_t g = at[10 * sec - 1] - at[10 * sec - 11];
        CHECK(g < g_prev);
        g_prev = g;
    }
    /* the plateau: within 0.2% of W_max at K, under 2 MSS gained from K - 0.5 to K + 0.5 */
    CHECK(at[89] > wm - 2000 && at[89] <= wm + 100);
    CHECK(at[95] - at[85] < 2000);
    /* convex: the growth per second rises again, and cwnd passes W_max */
    g_prev = at[109] - at[99];
    for (int sec = 12; sec <= 15; sec++) {
        uint64_t g = at[10 * sec - 1] - at[10 * sec - 11];
        CHECK(g > g_prev);
        g_prev = g;
    }
    CHECK(at[149] > 1080000); /* W(15 s) = 1e6 + 400 * 5.914^3 = 1.0827 M */
}

/* Small RTT, small window: W_est (Reno) outgrows the curve; alpha 9/17 MSS per RTT until
 * W_est reaches cwnd_prior, then 1 MSS per RTT. */
static void test_reno_friendly(void)
{
    struct xp_cc cc;
    uint64_t now = SEC, rtt = 100000; /* 100 us */
    xp_cc_init(&cc, &xp_cc_cubic, 1000, 20);
    xp_cc_on_loss(&cc, 20000, now);
    xp_cc_exit_recovery(&cc, false, now);
    CHECK_EQ(cc.cwnd, 14000);
    CHECK_EQ(cc.u.cubic.cwnd_prior, 20000);
    uint64_t prev = cc.cwnd, t0 = now;
    bool friendly = true;
    for (int r = 0; r < 40; r++) {
        ack_round(&cc, &now, rtt);
        uint64_t g = cc.cwnd - prev;
        prev = cc.cwnd;
        friendly = friendly && cc.cwnd == cc.u.cubic.w_est &&
                   cc.cwnd > xp_cubic_window(cc.u.cubic.w_max, cc.u.cubic.k_ns, now - t0,
                                             1000, XP_CUBIC_C);
        if (r >= 1 && r < 10) /* alpha = 9/17: 529 bytes per window acked, less its growth */
            CHECK(g >= 490 && g <= 530);
        if (r >= 15) /* alpha = 1 */
            CHECK(g >= 960 && g <= 1000);
        if (print && r % 5 == 0)
            fprintf(stderr, "reno-friendly r=%2d cwnd %6llu (+%llu)\n", r,
                    (unsigned long long)cc.cwnd, (unsigned long long)g);
    }
    CHECK(friendly);
    /* far from the curve: 40 RTTs is 4 ms of a 2.47 s K */
    CHECK(cc.cwnd > 40000);
}

/* ---- events ---- */

enum { ACK, LOSS, RTO, EXIT, EXIT_RTO, SET };

static void apply(struct xp_cc *cc, int ev, uint64_t n, uint64_t now)
{
    switch (ev) {
    case ACK: xp_cc_on_ack(cc, n, 1 * MS, now); break;
    case LOSS: xp_cc_on_loss(cc, n, now); break;
    case RTO: xp_cc_on_rto(cc, n, now); break;
    case EXIT: xp_cc_exit_recovery(cc, false, now); break;
    case EXIT_RTO: xp_cc_exit_recovery(cc, true, now); break;
    case SET: cc->cwnd = n; break;
    }
}

static void test_events(void)
{
    struct xp_cc cc;
    xp_cc_init(&cc, &xp_cc_cubic, 1000, 10);
    static const struct {
        int ev;
        uint64_t n; /* acked / pipe / cwnd to set */
        uint64_t cwnd, ssthresh, w_max;
    } t[] = {
        {ACK, 1000, 11000, XP_SSTHRESH_INIT, 0},      /* slow start + acked */
        {ACK, 5000, 13000, XP_SSTHRESH_INIT, 0},      /* ABC: + 2 MSS at most */
        {SET, 100000, 100000, XP_SSTHRESH_INIT, 0},
        {LOSS, 90000, 70000, 70000, 100000},  /* W_max = cwnd; beta 0.7 (of cwnd, not pipe) */
        {EXIT, 0, 70000, 70000, 100000},
        {LOSS, 0, 49000, 49000, 59500},       /* below W_max: fast convergence, 0.85 */
        {EXIT, 0, 49000, 49000, 59500},
        {SET, 80000, 80000, 49000, 59500},    /* grown past W_max */
        {LOSS, 0, 56000, 56000, 80000},       /* W_max = cwnd */
        {LOSS, 0, 39200, 39200, 47600},       /* 56000 * 0.85 */
        {RTO, 0, 1000, 27440, 33320},         /* RTO: 1 MSS; W_max 39200 * 0.85 */
        {ACK, 1000, 2000, 27440, 33320},      /* slow start again */
        {ACK, 3000, 4000, 27440, 33320},
        {EXIT_RTO, 0, 4000, 27440, 33320},    /* leaving RTO recovery keeps cwnd */
        {SET, 27440, 27440, 27440, 33320},
        {ACK, 1000, 27459, 27440, 33320},     /* the epoch begins: Reno-friendly (below) */
        {RTO, 0, 1000, 19221, 23340},         /* 27459 < W_max: 0.85 of it; 0.7 of it */
    };
    uint64_t now = SEC;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        apply(&cc, t[i].ev, t[i].n, now);
        now += MS;
        CHECK_EQ(cc.cwnd, t[i].cwnd);
        CHECK_EQ(cc.ssthresh, t[i].ssthresh);
        CHECK_EQ(cc.u.cubic.w_max, t[i].w_max);
        if (t[i].ev == LOSS || t[i].ev == RTO)
            CHECK_EQ(cc.u.cubic.t_epoch, UINT64_MAX); /* epoch reset */
        if (i == 15) {
            /* the epoch began at this ACK: cwnd_epoch 27440, W_max 33320, so
             * K = cbrt(5.88 / 0.4) s, and W_est = cwnd + 9/17 * 1000 * 1000 / 27440 */
            CHECK_EQ(cc.u.cubic.t_epoch, now - MS);
            CHECK_EQ(cc.u.cubic.k_ns, xp_cubic_k_ns(33320, 27440, 1000, XP_CUBIC_C));
            CHECK(cc.u.cubic.k_ns > 2448 * MS && cc.u.cubic.k_ns < 2452 * MS); /* 2.4506 s */
            CHECK_EQ(cc.u.cubic.w_est, 27440 + 19); /* 9000000 / 466480 = 19.29 */
            CHECK_EQ(cc.u.cubic.min_rtt, 1 * MS);
        }
        if (i == 16) { /* 27459 * 0.85 = 23340.15, 27459 * 0.7 = 19221.3 */
            CHECK_EQ(cc.u.cubic.min_rtt, UINT64_MAX); /* forgotten on RTO */
            CHECK_EQ(cc.u.cubic.cwnd_prior, 27459);
        }
    }
}

/* The 1 MSS floor: a zero initial window, losses at 1 MSS, then random events. */
static void test_floor(void)
{
    static const uint32_t msss[] = {1, 536, 1000, 9000, 65535};
    for (size_t m = 0; m < sizeof msss / sizeof msss[0]; m++) {
        uint32_t mss = msss[m];
        struct xp_cc cc;
        xp_cc_init(&cc, &xp_cc_cubic, mss, 0);
        CHECK_EQ(cc.cwnd, mss);
        xp_cc_on_loss(&cc, 0, 0);
        CHECK_EQ(cc.ssthresh, 2ull * mss);
        CHECK_EQ(cc.cwnd, 2ull * mss);
        xp_cc_on_rto(&cc, 0, 0);
        CHECK_EQ(cc.cwnd, mss);
        xp_cc_on_rto(&cc, 0, 0);
        CHECK_EQ(cc.cwnd, mss);
        CHECK_EQ(cc.ssthresh, 2ull * mss);
        xp_cc_on_ack(&cc, 0, UINT64_MAX, 0);
        CHECK_EQ(cc.cwnd, mss);
        struct jet_rng rng = {.s = mss};
        uint64_t now = 0;
        bool ok = true;
        for (int i = 0; i < 20000; i++) {
            uint64_t r = jet_rng_next(&rng);
            now += r % (50 * MS);
            int ev = (int)(r >> 32) % 20;
            ev = ev < 15 ? ACK : ev < 17 ? LOSS : ev < 18 ? RTO : ev < 19 ? EXIT : EXIT_RTO;
            uint64_t n = (r >> 40) % (4ull * mss + 1);
            apply(&cc, ev, n, now);
            ok = ok && cc.cwnd >= mss && cc.cwnd <= CWND_MAX;
            if (ev == LOSS || ev == RTO)
                ok = ok && cc.ssthresh >= 2ull * mss;
        }
        CHECK(ok);
    }
}

/* Huge windows, MSS 1 (every window a billion segments), epochs of 10 s steps. */
static void test_huge(void)
{
    /* the last two start at and beyond the saturation point (the latter is clamped) */
    static const uint64_t starts[] = {1ull << 30, 1ull << 40, 1ull << 57, CWND_MAX, 1ull << 62};
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
        struct xp_cc cc;
        xp_cc_init(&cc, &xp_cc_cubic, 1, 10);
        cc.cwnd = starts[i];
        uint64_t now = 5 * SEC, w = starts[i] < CWND_MAX ? starts[i] : CWND_MAX;
        xp_cc_on_loss(&cc, cc.cwnd, now);
        xp_cc_exit_recovery(&cc, false, now);
        CHECK_EQ(cc.u.cubic.w_max, w);
        CHECK_EQ(cc.cwnd, w / 10 * 7 + w % 10 * 7 / 10);
        bool ok = true;
        uint64_t prev = cc.cwnd;
        for (int s = 0; s < 400; s++) { /* 4000 s: K is 930 s at 1 GB */
            xp_cc_on_ack(&cc, cc.cwnd, 30 * MS, now);
            ok = ok && cc.cwnd >= prev && cc.cwnd <= CWND_MAX &&
                 (prev >= CWND_MAX / 2 || cc.cwnd <= prev + prev / 2 + 1) &&
                 cc.u.cubic.w_est <= CWND_MAX;
            prev = cc.cwnd;
            now += 10 * SEC;
        }
        CHECK(ok);
        if (i == 0) {
            /* 1 GB: K = cbrt(322122548 / 0.4) = 930.4 s; well past it by 4000 s */
            CHECK(cc.u.cubic.k_ns > 930 * SEC && cc.u.cubic.k_ns < 931 * SEC);
            CHECK(cc.cwnd > starts[i]);
        }
        if (i >= 3) /* 4000 s is far past K (900 000 s) only for the small ones */
            CHECK(cc.cwnd > w / 10 * 7);
    }
    /* one ACK of 1 GB after an epoch of 10 s, MSS 1, at 1 GB cwnd */
    struct xp_cc cc;
    xp_cc_init(&cc, &xp_cc_cubic, 1, 10);
    cc.cwnd = 1ull << 30;
    cc.ssthresh = 1ull << 29;
    xp_cc_on_ack(&cc, 1ull << 30, 10 * MS, 0);  /* epoch starts, K = 0, W_max = cwnd */
    xp_cc_on_ack(&cc, 1ull << 30, 10 * MS, 10 * SEC);
    /* the first ACK: no loss yet, so alpha = 1 and W_est = cwnd + 1 (Reno-friendly);
     * the second: W_est += 2^30 / (2^30 + 1) (< 1 byte, carried), and the target
     * W(10 s + RTT) = 2^30 + 0.4 * 10.01^3 = 2^30 + 401, so
     * cwnd += 400 * 2^30 / (2^30 + 1) = 399.9999996 */
    CHECK_EQ(cc.u.cubic.w_est, (1ull << 30) + 1);
    CHECK_EQ(cc.cwnd, (1ull << 30) + 1 + 399);
}

/* The same seeded event stream twice: identical state after every event. */
static void test_determinism(void)
{
    struct xp_cc a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    xp_cc_init(&a, &xp_cc_cubic, 1448, 10);
    xp_cc_init(&b, &xp_cc_cubic, 1448, 10);
    struct jet_rng ra = {.s = 7}, rb = {.s = 7};
    uint64_t now = 0, hash = 0;
    bool same = true;
    for (int i = 0; i < 50000; i++) {
        uint64_t x = jet_rng_next(&ra), y = jet_rng_next(&rb);
        now += x % (2 * MS);
        int ev = x % 1000 < 990 ? ACK : x % 1000 < 997 ? LOSS : RTO;
        uint64_t n = (x >> 20) % 3000;
        apply(&a, ev, n, now);
        apply(&b, ev, (y >> 20) % 3000, now);
        if (ev != ACK) {
            apply(&a, EXIT, 0, now);
            apply(&b, EXIT, 0, now);
        }
        same = same && a.cwnd == b.cwnd && a.ssthresh == b.ssthresh &&
               !memcmp(a.u.raw, b.u.raw, sizeof a.u.raw);
        hash = jet_mix64(hash ^ a.cwnd);
    }
    CHECK(same);
    if (print)
        fprintf(stderr, "determinism: final cwnd %llu hash %016llx\n",
                (unsigned long long)a.cwnd, (unsigned long long)hash);
}

/* ---- through the engine: two RBS cores, CUBIC selected, over a lossy link ----
 *
 * Per direction: 1 Gb/s serialization, propagation `prop`, a 96 KiB tail-drop queue,
 * random loss p.  The sender moves XFER bytes by copy and shuts down; the receiver
 * checks every byte.  RBS has no option naming the algorithm yet, so the test selects
 * it on the core's engine (c->snd.cc) right after rbs_create; xp_snd_start keeps it. */

enum { SEG_CAP = 1400 + RBS_HDR_MAX, MAXQ = 4096, XFER = 4 << 20 };

struct pkt {
    uint64_t at;
    uint32_t len;
    uint8_t data[SEG_CAP];
};

struct dir {
    struct pkt *q;
    int n;
    uint64_t free_at;
    uint64_t dropped;
};

struct sim {
    struct jet_rng rng;
    double loss;
    uint64_t prop, now;
    struct dir d[2];
};

static uint8_t pattern(uint64_t off)
{
    return (uint8_t)(jet_mix64(off / 8) >> (8 * (off % 8)));
}

static void link_send(struct sim *s, int dir, const uint8_t *seg, int len)
{
    struct dir *d = &s->d[dir];
    uint64_t start = d->free_at > s->now ? d->free_at : s->now;
    if ((start - s->now) / 8 > 96 * 1024 || d->n == MAXQ) {
        d->dropped++;
        return;
    }
    d->free_at = start + (uint64_t)len * 8;
    if (jet_rng_unit(&s->rng) < s->loss) {
        d->dropped++;
        return;
    }
    struct pkt *p = &s->d[dir].q[d->n++];
    p->at = d->free_at + s->prop;
    p->len = (uint32_t)len;
    memcpy(p->data, seg, (size_t)len);
}

static int earliest(const struct dir *d)
{
    int best = -1;
    for (int i = 0; i < d->n; i++)
        if (best < 0 || d->q[i].at < d->q[best].at)
            best = i;
    return best;
}

struct result {
    bool ok;
    uint64_t done_ns, dropped, max_cwnd, w_max;
    struct rbs_stats sa;
};

static struct result run(const struct xp_cc_ops *ops, uint64_t seed, double loss, uint64_t prop,
                         uint32_t buf)
{
    struct result res;
    memset(&res, 0, sizeof res);
    struct sim s;
    memset(&s, 0, sizeof s);
    s.rng.s = seed;
    s.loss = loss;
    s.prop = prop;
    s.now = SEC;
    for (int i = 0; i < 2; i++)
        s.d[i].q = malloc(sizeof(struct pkt) * MAXQ);
    uint8_t *src = malloc(XFER), *dst = malloc(XFER);
    REQUIRE(src && dst && s.d[0].q && s.d[1].q);
    for (uint64_t i = 0; i < XFER; i++)
        src[i] = pattern(i);
    struct rbs_cfg ca = {.mss = 1400, .rcvbuf_bytes = buf, .sndbuf_bytes = buf,
                         .rto_min_ns = MS, .isn = (uint32_t)jet_mix64(seed),
                         .local_chan = 11, .keepalive_ns = UINT64_MAX};
    struct rbs_cfg cb = ca;
    cb.isn = (uint32_t)jet_mix64(seed + 1);
    cb.local_chan = 22;
    struct rbs_conn *ep[2];
    REQUIRE(rbs_create(&ca, &ep[0]) == 0 && rbs_create(&cb, &ep[1]) == 0);
    for (int k = 0; k < 2; k++)
        xp_cc_init(&ep[k]->snd.cc, ops, ca.mss, ca.init_cwnd_segs ? ca.init_cwnd_segs : 10);
    struct rbs_conn *a = ep[0], *b = ep[1];
    uint8_t seg[SEG_CAP];
    REQUIRE(rbs_connect(a, s.now) == 0);
    int n = rbs_output(a, s.now, seg, sizeof seg);
    REQUIRE(n > 0);
    s.now += prop;
    REQUIRE(rbs_listen_accept(b, seg, (size_t)n, s.now) == 0);

    uint64_t queued = 0, got = 0, limit = s.now + 60 * SEC;
    bool ok = true, shut = false, eof = false;
    while (ok) {
        for (int dir = 0; dir < 2; dir++) {
            int i;
            while ((i = earliest(&s.d[dir])) >= 0 && s.d[dir].q[i].at <= s.now) {
                struct pkt *p = &s.d[dir].q[i];
                if (rbs_input(ep[1 - dir], p->data, p->len, s.now))
                    ok = false;
                s.d[dir].q[i] = s.d[dir].q[--s.d[dir].n];
            }
        }
        for (int k = 0; k < 2; k++)
            if (rbs_next_timeout(ep[k]) <= s.now)
                rbs_on_timeout(ep[k], s.now);
        while (queued < XFER) {
            ssize_t m = rbs_send(a, src + queued, XFER - queued);
            if (m <= 0)
                break;
            queued += (uint64_t)m;
        }
        if (queued == XFER && !shut) {
            rbs_shutdown(a, s.now);
            shut = true;
        }
        for (;;) {
            ssize_t m = rbs_recv(b, dst + got, XFER - got ? XFER - got : 1);
            if (m == 0 && rbs_recv_eof(b))
                eof = true;
            if (m <= 0)
                break;
            got += (uint64_t)m;
        }
        if (b->state == RBS_CLOSE_WAIT)
            rbs_shutdown(b, s.now);
        for (int k = 0; k < 2; k++) {
            int count = 0;
            while ((n = rbs_output(ep[k], s.now, seg, sizeof seg)) > 0 && ++count < 100000)
                link_send(&s, k, seg, n);
            ok = ok && n >= 0 && count < 100000;
        }
        if (a->snd.cc.cwnd > res.max_cwnd)
            res.max_cwnd = a->snd.cc.cwnd;
        ok = ok && !rbs_invariant_violation(a) && !rbs_invariant_violation(b) &&
             !rbs_error(a) && !rbs_error(b) && a->snd.cc.ops == ops;
        enum rbs_state sa = rbs_state(a), sb = rbs_state(b);
        if ((sa == RBS_CLOSED || sa == RBS_TIME_WAIT) && (sb == RBS_CLOSED || sb == RBS_TIME_WAIT) &&
            eof)
            break;
        uint64_t next = UINT64_MAX;
        for (int dir = 0; dir < 2; dir++) {
            int i = earliest(&s.d[dir]);
            if (i >= 0 && s.d[dir].q[i].at < next)
                next = s.d[dir].q[i].at;
        }
        for (int k = 0; k < 2; k++)
            if (rbs_next_timeout(ep[k]) < next)
                next = rbs_next_timeout(ep[k]);
        if (next == UINT64_MAX || next > limit) {
            fprintf(stderr, "stuck: %s / %s, got %llu\n", rbs_state_name(sa), rbs_state_name(sb),
                    (unsigned long long)got);
            ok = false;
        }
        if (next > s.now)
            s.now = next;
    }
    res.ok = ok && got == XFER && memcmp(src, dst, XFER) == 0;
    res.done_ns = s.now - SEC;
    res.dropped = s.d[0].dropped + s.d[1].dropped;
    res.w_max = a->snd.cc.u.cubic.w_max;
    rbs_get_stats(a, &res.sa);
    rbs_destroy(a);
    rbs_destroy(b);
    free(src);
    free(dst);
    free(s.d[0].q);
    free(s.d[1].q);
    return res;
}

static void test_pair(void)
{
    static const struct {
        uint64_t seed;
        double loss;
        uint64_t prop_us;
        uint32_t buf;
    } rows[] = {
        {1, 0.00, 20, 262144}, /* queue drops only */
        {2, 0.01, 20, 262144},
        {3, 0.05, 20, 262144},
        {4, 0.01, 20, 16384},
        {5, 0.001, 2000, 1 << 20}, /* 4 ms RTT, 500 KB BDP: the curve matters */
        {6, 0.01, 2000, 1 << 20},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct result x = run(&xp_cc_cubic, rows[i].seed, rows[i].loss, rows[i].prop_us * 1000,
                              rows[i].buf);
        struct result y = run(&xp_cc_cubic, rows[i].seed, rows[i].loss, rows[i].prop_us * 1000,
                              rows[i].buf);
        CHECK(x.ok);
        CHECK(y.ok);
        CHECK_EQ(x.done_ns, y.done_ns);
        CHECK(!memcmp(&x.sa, &y.sa, sizeof x.sa));
        if (rows[i].loss > 0)
            CHECK(x.sa.fast_retransmits > 0 && x.w_max > 0); /* CUBIC reduced at least once */
        if (print || !x.ok) {
            struct result r = run(&xp_cc_newreno, rows[i].seed, rows[i].loss,
                                  rows[i].prop_us * 1000, rows[i].buf);
            fprintf(stderr,
                    "pair seed %llu loss %.3f prop %4llu us buf %7u: cubic %7.2f ms (%.0f Mb/s, "
                    "fast %llu rto %llu, max cwnd %llu) newreno %7.2f ms (fast %llu rto %llu)\n",
                    (unsigned long long)rows[i].seed, rows[i].loss,
                    (unsigned long long)rows[i].prop_us, rows[i].buf, (double)x.done_ns / 1e6,
                    XFER * 8.0 / (double)x.done_ns * 1000,
                    (unsigned long long)x.sa.fast_retransmits, (unsigned long long)x.sa.timeouts,
                    (unsigned long long)x.max_cwnd, (double)r.done_ns / 1e6,
                    (unsigned long long)r.sa.fast_retransmits, (unsigned long long)r.sa.timeouts);
        }
    }
}

int main(void)
{
    print = getenv("CUBIC_PRINT") != NULL;
    test_curve();
    test_trajectory();
    test_reno_friendly();
    test_events();
    test_floor();
    test_huge();
    test_determinism();
    test_pair();
    return check_done("test_cubic");
}
