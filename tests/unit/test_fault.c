/* Seeded faults (src/link/fault.h) and the fault wrapper link (fault.c):
 *   - the draws: deterministic per seed and per flow, whatever other flows
 *     do; loss, duplication, reordering and bit-error rates within bounds;
 *   - the LAN's own faults: one seeded run whose counters and delivered bytes
 *     are fixed below, as the LAN gave them before the faults moved to
 *     fault.c (build-base, issue 10);
 *   - the wrapper over lan: and loop:, seeded as the LAN (the same run through
 *     `fault:.../lan:X` over a clean LAN gives the LAN's own figures), delay
 *     and rate timing, tx_room with a rate, ownership at close (frames
 *     waiting are given back and counted; no pool buffer leaked);
 *   - the link-name grammar: good and bad forms with their reasons, a
 *     capture file that cannot be created. */
#include <errno.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "jet/lan.h"
#include "jet/link.h"
#include "link/fault.h"
#include "util/clock.h"

static char lan_clean[64], lan_faulty[64], lan_nober[64];

static bool contains(const char *s, const char *sub)
{
    return strstr(s, sub) != NULL;
}

/* ---- the draws ---- */

static const struct jet_link_fault draw_cfg = {
    .loss = 0.1, .dup = 0.05, .reorder = 0.02, .ber = 1e-5, .jitter_ns = 1000, .seed = 42};

/* A verdict as one number: its flags, jitter and the generator's next draw. */
static uint64_t verdict_bits(struct fault_verdict *v)
{
    return ((uint64_t)v->lose | (uint64_t)v->dup << 1 | (uint64_t)v->reorder << 2 |
            v->jitter_ns << 3) ^
           jet_rng_next(&v->rng) << 20;
}

static void test_draws(void)
{
    /* Two flows in different slots: flow A's verdicts alone, and with flow B
     * interleaved, are the same; another seed or sender gives others. */
    uint64_t ka = fault_flow_key(1, JET_ENCAP_NATIVE, (const uint8_t *)"\0\0\0\0\0\1\0\0\0\0\0\5", 12);
    uint64_t kb = fault_flow_key(2, JET_ENCAP_NATIVE, (const uint8_t *)"\0\0\0\0\0\2\0\0\0\0\0\6", 12);
    REQUIRE(jet_mix64(ka) % FAULT_FLOWS != jet_mix64(kb) % FAULT_FLOWS);
    enum { N = 2000 };
    static uint64_t alone[N], mixed[N], seed2[N], other_me[N];
    struct fault_flow fl[FAULT_FLOWS] = {{0}};
    struct fault_verdict v;
    for (int i = 0; i < N; i++) {
        fault_draw(&draw_cfg, fl, fault_flow_slot(fl, ka), 0, &v);
        alone[i] = verdict_bits(&v);
    }
    memset(fl, 0, sizeof fl);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < i % 3; j++)
            fault_draw(&draw_cfg, fl, fault_flow_slot(fl, kb), 0, &v);
        fault_draw(&draw_cfg, fl, fault_flow_slot(fl, ka), 0, &v);
        mixed[i] = verdict_bits(&v);
    }
    struct jet_link_fault c2 = draw_cfg;
    c2.seed = 43;
    memset(fl, 0, sizeof fl);
    for (int i = 0; i < N; i++) {
        fault_draw(&c2, fl, fault_flow_slot(fl, ka), 0, &v);
        seed2[i] = verdict_bits(&v);
    }
    memset(fl, 0, sizeof fl);
    for (int i = 0; i < N; i++) {
        fault_draw(&draw_cfg, fl, fault_flow_slot(fl, ka), 1, &v);
        other_me[i] = verdict_bits(&v);
    }
    CHECK(!memcmp(alone, mixed, sizeof alone));
    CHECK(memcmp(alone, seed2, sizeof alone) != 0);
    CHECK(memcmp(alone, other_me, sizeof alone) != 0);

    /* Rates: 200,000 draws; bounds are 5 standard deviations. */
    enum { M = 200000 };
    uint64_t lost = 0, dup = 0, ro = 0, jit_max = 0, jit_sum = 0;
    memset(fl, 0, sizeof fl);
    for (int i = 0; i < M; i++) {
        fault_draw(&draw_cfg, fl, fault_flow_slot(fl, ka + (uint64_t)(i % 7)), 3, &v);
        lost += v.lose;
        dup += v.dup;
        ro += v.reorder;
        jit_sum += v.jitter_ns;
        if (v.jitter_ns > jit_max)
            jit_max = v.jitter_ns;
    }
    double sd_l = sqrt(M * 0.1 * 0.9), sd_d = sqrt(M * 0.05 * 0.95), sd_r = sqrt(M * 0.02 * 0.98);
    CHECK(fabs((double)lost - M * 0.1) < 5 * sd_l);
    CHECK(fabs((double)dup - M * 0.05) < 5 * sd_d);
    CHECK(fabs((double)ro - M * 0.02) < 5 * sd_r);
    CHECK(jit_max <= 1000 && jit_max >= 990);
    CHECK(fabs((double)jit_sum / M - 500) < 10);
    fprintf(stderr, "draws: lost %llu, dup %llu, reorder %llu of %d; mean jitter %.1f ns\n",
            (unsigned long long)lost, (unsigned long long)dup, (unsigned long long)ro, M,
            (double)jit_sum / M);

    /* Bit errors: 20,000 frames of 1500 bytes at 1e-5: 2,400 flips expected. */
    static uint8_t buf[1500];
    struct jet_rng r = {7};
    uint64_t flips = 0, diff = 0;
    for (int i = 0; i < 20000; i++) {
        memset(buf, 0, sizeof buf);
        flips += fault_flip_bits(&r, 1e-5, buf, sizeof buf);
        for (size_t j = 0; j < sizeof buf; j++)
            diff += (uint64_t)__builtin_popcount(buf[j]);
    }
    CHECK_EQ(diff, flips); /* each flip is one bit, never the same twice */
    CHECK(fabs((double)flips - 2400) < 5 * sqrt(2400));
    fprintf(stderr, "ber 1e-5: %llu bits flipped in 240 Mbit (2400 expected)\n",
            (unsigned long long)flips);
    struct jet_rng r1 = {9}, r2 = {9};
    uint8_t b1[64] = {0}, b2[64] = {0};
    fault_flip_bits(&r1, 0.01, b1, sizeof b1);
    fault_flip_bits(&r2, 0.01, b2, sizeof b2);
    CHECK(!memcmp(b1, b2, sizeof b1));
}

/* ---- a fixed run over a link pair ---- */

struct run {
    uint64_t rx, sum; /* frames received, order-free hash of their bytes */
    uint64_t unreach; /* commits refused: a bit error hit the destination */
};

static void drain(struct jet_link *b, struct run *r)
{
    struct jet_frame f[32];
    int n;
    while ((n = jet_link_rx_burst(b, f, 32)) > 0) {
        for (int i = 0; i < n; i++) {
            uint64_t h = f[i].len;
            for (uint32_t j = 0; j < f[i].len; j++) {
                uint8_t m = f[i].encap == JET_ENCAP_ETH && j < 6 ? b->caps.mac[j] : 0;
                h = jet_mix64(h ^ (uint8_t)(f[i].data[j] ^ m));
            }
            r->sum += h;
            r->rx++;
        }
        jet_link_rx_release(b, f, (unsigned)n);
    }
}

/* n frames a -> b: lengths 60..1459, four channels, every fifth an Ethernet
 * frame (EtherType 0x88b0..2) when eth; b drained after each; then until
 * nothing arrives for 50 ms. */
static int pump(struct jet_link *a, struct jet_link *b, uint32_t n, bool eth, struct run *r)
{
    memset(r, 0, sizeof *r);
    for (uint32_t i = 0; i < n; i++) {
        struct jet_frame f;
        int rc;
        uint64_t t0 = jet_now_ns();
        while ((rc = jet_link_tx_alloc(a, &f)) == -EAGAIN) {
            jet_link_tx_flush(a);
            drain(b, r);
            if (jet_now_ns() - t0 > 2000000000ull)
                break;
        }
        if (rc) {
            fprintf(stderr, "tx_alloc: %d %s\n", rc, jet_link_error(a));
            return rc;
        }
        uint32_t len = 60 + (uint32_t)(jet_mix64(i) % 1400);
        memset(f.data, 0, 24);
        for (uint32_t j = 24; j < len; j++)
            f.data[j] = (uint8_t)(i * 31 + j);
        if (eth && i % 5 == 4) {
            memcpy(f.data, b->caps.mac, 6);
            f.data[12] = 0x88, f.data[13] = (uint8_t)(0xb0 + i % 3);
            f.encap = JET_ENCAP_ETH;
        } else {
            f.data[0] = 0x40;
            f.data[4] = (uint8_t)(b->caps.addr >> 8);
            f.data[5] = (uint8_t)b->caps.addr;
            f.data[11] = (uint8_t)(i % 4);
            f.encap = JET_ENCAP_NATIVE;
        }
        f.len = len;
        if ((rc = jet_link_tx_commit(a, &f)) == -EHOSTUNREACH) {
            r->unreach++;
        } else if (rc) {
            fprintf(stderr, "tx_commit: %d %s\n", rc, jet_link_error(a));
            return rc;
        }
        jet_link_tx_flush(a);
        drain(b, r);
    }
    uint64_t last = jet_now_ns(), seen = r->rx;
    while (jet_now_ns() - last < 50000000ull) {
        jet_link_tx_flush(a);
        drain(b, r);
        if (r->rx != seen)
            seen = r->rx, last = jet_now_ns();
    }
    return 0;
}

static int open2(const char *na, const char *nb, struct jet_link **a, struct jet_link **b)
{
    struct jet_err err = {0};
    struct jet_link_opts o0 = {.station = 0}, o1 = {.station = 1};
    int rc = jet_link_open(na, &o0, a, &err);
    if (!rc && (rc = jet_link_open(nb, &o1, b, &err)))
        jet_link_close(*a);
    if (rc)
        fprintf(stderr, "open %s / %s: %s\n", na, nb, err.msg);
    return rc;
}

/* The LAN's own seeded faults give what they gave before fault.c existed:
 * figures from build-base (the build before issue 10) on this same run, but for the
 * Ethernet frames (every fifth) that --ber damaged: since issue 12 the LAN drops those
 * as a failed FCS (docs/lan.md, caps.csum), so they, their duplicates and their
 * reorderings are not delivered (the draws, lost and corrupted, are the same). */
static void test_lan_fixed(void)
{
    struct jet_link *a, *b;
    char name[80];
    snprintf(name, sizeof name, "lan:%s", lan_faulty);
    REQUIRE(open2(name, name, &a, &b) == 0);
    struct run r;
    CHECK_EQ(pump(a, b, 20000, true, &r), 0);
    struct jet_lan_station_info s;
    jet_lan_station_stats(a, &s);
    fprintf(stderr,
            "lan faults: lost %llu corrupted %llu duplicated %llu reordered %llu tx %llu rx %llu "
            "sum %016llx\n",
            (unsigned long long)s.fault_lost, (unsigned long long)s.fault_corrupted,
            (unsigned long long)s.fault_duplicated, (unsigned long long)s.fault_reordered,
            (unsigned long long)s.tx_frames, (unsigned long long)r.rx, (unsigned long long)r.sum);
    CHECK_EQ(s.fault_lost, 925);
    CHECK_EQ(s.fault_corrupted, 1142);
    CHECK_EQ(s.fault_duplicated, 591);
    CHECK_EQ(s.fault_reordered, 749);
    CHECK_EQ(s.tx_frames, 19434);
    CHECK_EQ(r.rx, 19434);
    CHECK(r.sum == 0x3f17ee2bc30cd352ull);
    struct jet_link_stats ls;
    CHECK_EQ(jet_link_stats(a, &ls), 0);
    CHECK_EQ(ls.faults, 925 + 1142 + 591 + 749);
    jet_link_close(a);
    jet_link_close(b);
}

/* The wrapper draws as the LAN does: native frames through
 * fault:.../INNER (end 0 to end 1) see the faults the LAN `ref` itself
 * gives.  With bit errors (ber) the wrapper damages the header before the
 * inner link reads the destination (the LAN after): frames whose
 * destination was hit go elsewhere or are refused, so only the counters are
 * compared then; without, the frames delivered too. */
static void test_wrapper_as_lan(const char *inner_kind, const char *inner, const char *ref,
                                const char *faults, bool ber)
{
    struct jet_link *a, *b;
    char name[80], wname[160];
    snprintf(name, sizeof name, "lan:%s", ref);
    REQUIRE(open2(name, name, &a, &b) == 0);
    struct run want;
    CHECK_EQ(pump(a, b, 5000, false, &want), 0);
    struct jet_lan_station_info s;
    jet_lan_station_stats(a, &s);
    jet_link_close(a);
    jet_link_close(b);

    for (int round = 0; round < 2; round++) {
        snprintf(name, sizeof name, "%s:%s", inner_kind, inner);
        snprintf(wname, sizeof wname, "fault:%s/%s", faults, name);
        if (open2(wname, name, &a, &b)) {
            CHECK(0);
            return;
        }
        CHECK_EQ(a->caps.addr, 0);
        CHECK(!strcmp(a->name, wname));
        CHECK(!strcmp(a->ops->kind, "fault"));
        struct run got;
        CHECK_EQ(pump(a, b, 5000, false, &got), 0);
        struct fault_counts c;
        CHECK_EQ(fault_link_counts(a, &c), 0);
        fprintf(stderr,
                "fault%s over %s, round %d: lost %llu corrupted %llu duplicated %llu reordered %llu "
                "rx %llu (the LAN's own: %llu %llu %llu %llu rx %llu)\n",
                ber ? " (ber)" : "", inner_kind, round, (unsigned long long)c.lost, (unsigned long long)c.corrupted,
                (unsigned long long)c.duplicated, (unsigned long long)c.reordered,
                (unsigned long long)got.rx, (unsigned long long)s.fault_lost,
                (unsigned long long)s.fault_corrupted, (unsigned long long)s.fault_duplicated,
                (unsigned long long)s.fault_reordered, (unsigned long long)want.rx);
        CHECK_EQ(c.lost, s.fault_lost);
        CHECK_EQ(c.corrupted, s.fault_corrupted);
        CHECK_EQ(c.duplicated, s.fault_duplicated);
        CHECK_EQ(c.reordered, s.fault_reordered);
        CHECK_EQ(c.waiting, 0);
        struct jet_link_stats ls;
        CHECK_EQ(jet_link_stats(a, &ls), 0);
        CHECK_EQ(ls.faults, c.lost + c.corrupted + c.duplicated + c.reordered);
        if (!ber) {
            CHECK_EQ(got.rx, want.rx);
            CHECK(got.sum == want.sum);
            CHECK_EQ(got.rx, 5000 - c.lost + c.duplicated);
            CHECK_EQ(ls.tx_frames, got.rx);
            CHECK_EQ(ls.tx_dropped, 0);
            CHECK_EQ(got.unreach, 0);
        } else {
            CHECK(got.rx <= want.rx);
            CHECK(got.unreach <= ls.tx_dropped);
            CHECK(got.rx + 20 > want.rx);
        }
        jet_link_close(a);
        jet_link_close(b);
    }
}

/* One frame through fault:delay=D/INNER: it arrives no earlier than D. */
static void test_delay(const char *inner)
{
    char wname[160];
    snprintf(wname, sizeof wname, "fault:delay=3ms/%s", inner);
    struct jet_link *a, *b;
    if (open2(wname, inner, &a, &b)) {
        CHECK(0);
        return;
    }
    uint64_t worst = 0, best = UINT64_MAX;
    for (int i = 0; i < 5; i++) {
        struct jet_frame f;
        REQUIRE(jet_link_tx_alloc(a, &f) == 0);
        memset(f.data, 0, 64);
        f.data[5] = (uint8_t)b->caps.addr;
        f.len = 64;
        uint64_t t0 = jet_now_ns();
        CHECK_EQ(jet_link_tx_commit(a, &f), 0);
        struct run r = {0};
        while (r.rx == 0 && jet_now_ns() - t0 < 2000000000ull) {
            jet_link_wait(a, 10000000); /* wakes when the frame is due */
            jet_link_tx_flush(a);
            drain(b, &r);
        }
        uint64_t dt = jet_now_ns() - t0;
        CHECK_EQ(r.rx, 1);
        worst = dt > worst ? dt : worst;
        best = dt < best ? dt : best;
    }
    fprintf(stderr, "delay 3 ms over %s: arrived after %.3f .. %.3f ms\n", inner, best / 1e6,
            worst / 1e6);
    CHECK(best >= 3000000);
    CHECK(worst < 200000000); /* a loaded machine may be late, never early */
    jet_link_close(a);
    jet_link_close(b);
}

/* fault:rate=R/INNER: N frames of L bytes take no less than N*8L/R, and the
 * sender that keeps to tx_room is held within the lookahead. */
static void test_rate(const char *inner)
{
    char wname[160];
    snprintf(wname, sizeof wname, "fault:rate=100M/%s", inner);
    struct jet_link *a, *b;
    if (open2(wname, inner, &a, &b)) {
        CHECK(0);
        return;
    }
    CHECK_EQ(a->caps.rate_bps, 100000000);
    enum { N = 400, LEN = 1250 }; /* 100 us each: 40 ms */
    struct run r = {0};
    uint32_t sent = 0, max_waiting = 0, zero_room = 0;
    uint64_t t0 = jet_now_ns();
    while (r.rx < N && jet_now_ns() - t0 < 5000000000ull) {
        if (sent < N && jet_link_tx_room(a) > 0) {
            struct jet_frame f;
            if (jet_link_tx_alloc(a, &f) == 0) {
                memset(f.data, 0, LEN);
                f.data[5] = (uint8_t)b->caps.addr;
                f.len = LEN;
                CHECK_EQ(jet_link_tx_commit(a, &f), 0);
                sent++;
            }
        } else if (sent < N) {
            zero_room++;
            jet_link_wait(a, 1000000);
        }
        jet_link_tx_flush(a);
        struct fault_counts c;
        fault_link_counts(a, &c);
        if (c.waiting > max_waiting)
            max_waiting = (uint32_t)c.waiting;
        drain(b, &r);
    }
    uint64_t dt = jet_now_ns() - t0, want = (uint64_t)N * LEN * 8 * 10; /* ns at 100 Mbit/s */
    double mbps = (double)N * LEN * 8 / ((double)dt / 1e9) / 1e6;
    fprintf(stderr, "rate 100M over %s: %u frames in %.2f ms = %.1f Mbit/s (%.2f ms at the rate); "
            "at most %u frames waited in the wrapper; room 0 seen %u times\n",
            inner, (unsigned)r.rx, dt / 1e6, mbps, want / 1e6, max_waiting, zero_room);
    CHECK_EQ(r.rx, N);
    CHECK(dt >= want);      /* never faster than the rate */
    CHECK(mbps > 100 * 0.5); /* and not far slower (a loaded machine) */
    CHECK(max_waiting <= 3); /* the lookahead (100 us) holds 1..2 frames of 100 us */
    CHECK(zero_room > 0);
    jet_link_close(a);
    jet_link_close(b);
}

/* Frames still waiting at close go back to the inner link and are counted;
 * close does not wait for frames due after its bounded drain. */
static void test_close_waiting(const char *inner)
{
    char wname[160];
    snprintf(wname, sizeof wname, "fault:delay=5s,dup=0.5,reorder=0.3,seed=1/%s", inner);
    struct jet_link *a, *b;
    if (open2(wname, inner, &a, &b)) {
        CHECK(0);
        return;
    }
    for (int i = 0; i < 20; i++) {
        struct jet_frame f;
        REQUIRE(jet_link_tx_alloc(a, &f) == 0);
        memset(f.data, 0, 64);
        f.data[5] = (uint8_t)b->caps.addr;
        f.len = 64;
        CHECK_EQ(jet_link_tx_commit(a, &f), 0);
    }
    struct jet_frame spare;
    REQUIRE(jet_link_tx_alloc(a, &spare) == 0);
    jet_link_tx_abort(a, &spare); /* a lent buffer given back through the wrapper */
    struct fault_counts c;
    CHECK_EQ(fault_link_counts(a, &c), 0);
    CHECK_EQ(c.waiting, 20 + c.duplicated);
    struct run r = {0};
    drain(b, &r);
    CHECK_EQ(r.rx, 0);
    struct jet_link_stats st;
    CHECK_EQ(jet_link_stats(a, &st), 0);
    CHECK_EQ(st.tx_dropped, 0);
    CHECK_EQ(st.faults, c.duplicated + c.reordered);
    uint64_t t0 = jet_now_ns();
    uint64_t waiting = c.waiting;
    jet_link_close(a);
    uint64_t dt = jet_now_ns() - t0;
    CHECK(dt < 100000000); /* nothing due within the drain: no waiting for it */
    drain(b, &r);
    CHECK_EQ(r.rx, 0);
    fprintf(stderr, "close over %s: %llu frames waiting given back in %.2f ms\n", inner,
            (unsigned long long)waiting, dt / 1e6);
    jet_link_close(b);
}

/* Nested wrappers, and the drain at close: frames due within it leave. */
static void test_nested(const char *inner)
{
    char wname[200];
    snprintf(wname, sizeof wname, "fault:delay=1ms/fault:rate=50M,seed=2/%s", inner);
    struct jet_link *a, *b;
    if (open2(wname, inner, &a, &b)) {
        CHECK(0);
        return;
    }
    CHECK_EQ(a->caps.rate_bps, 50000000);
    for (int i = 0; i < 10; i++) {
        struct jet_frame f;
        REQUIRE(jet_link_tx_alloc(a, &f) == 0);
        memset(f.data, 0, 500);
        f.data[5] = (uint8_t)b->caps.addr;
        f.len = 500;
        CHECK_EQ(jet_link_tx_commit(a, &f), 0);
    }
    jet_link_close(a); /* 1 ms delay, then 10 x 80 us: all within the drain */
    struct run r = {0};
    uint64_t t0 = jet_now_ns();
    while (r.rx < 10 && jet_now_ns() - t0 < 100000000ull)
        drain(b, &r);
    CHECK_EQ(r.rx, 10);
    jet_link_close(b);
}

/* ---- names ---- */

struct name_row {
    const char *in;
    int rc;
    const char *why; /* a part of the reason (refusals), or of inner (accepted) */
};

static const struct name_row names[] = {
    {"fault:loss=0.01,seed=7/tap:jt0", 0, "tap:jt0"},
    {"fault:loss=1%,ber=1e-7,dup=0.5,reorder=2%/lan:x", 0, "lan:x"},
    {"fault:rate=100M,delay=50us,jitter=5us/loop:x", 0, "loop:x"},
    {"fault:rate=1G/fault:loss=0.5/udp:[::1]:5000", 0, "fault:loss=0.5/udp:[::1]:5000"},
    {"fault:seed=0x10/xdp:eth0@1", 0, "xdp:eth0@1"},
    {"fault:rate=0/lan:x", 0, "lan:x"},
    {"capture:/tmp/x.pcap/lan:x", 0, "lan:x"},
    {"capture:/tmp/lan:x/y.pcap/fault:loss=1%/lan:z", 0, "fault:loss=1%/lan:z"},
    {"capture:x/capture:y/lan:z", 0, "capture:y/lan:z"},
    {"fault:loss=0.01", -EINVAL, "expected fault:KEY=VAL,.../LINK"},
    {"fault:/lan:x", -EINVAL, "no KEY=VAL before '/'"},
    {"fault:loss/lan:x", -EINVAL, "'loss' is not KEY=VAL"},
    {"fault:=1/lan:x", -EINVAL, "'=1' is not KEY=VAL"},
    {"fault:loss=1%,/lan:x", -EINVAL, "'' is not KEY=VAL"},
    {"fault:,loss=1%/lan:x", -EINVAL, "'' is not KEY=VAL"},
    {"fault:drop=1%/lan:x", -EINVAL, "unknown key 'drop' (loss, ber, dup, reorder, delay"},
    {"fault:loss=1%,loss=2%/lan:x", -EINVAL, "loss given twice"},
    {"fault:loss=2/lan:x", -EINVAL, "loss=2: want a probability"},
    {"fault:dup=-0.1/lan:x", -EINVAL, "dup=-0.1: want a probability"},
    {"fault:ber=0.6/lan:x", -EINVAL, "ber=0.6: want a probability per bit (0..0.5"},
    {"fault:delay=11s/lan:x", -EINVAL, "delay=11s: want a duration of at most 10 s"},
    {"fault:jitter=fast/lan:x", -EINVAL, "jitter=fast: want a duration"},
    {"fault:rate=999k/lan:x", -EINVAL, "rate=999k: want 0 (not limited) or at least 1M"},
    {"fault:seed=-1/lan:x", -EINVAL, "seed=-1: want a whole number"},
    {"fault:loss=1%/lan:", -EINVAL, "lan: name must be"},
    {"fault:loss=1%/", -EINVAL, "expected KIND:ARG"},
    {"fault:loss=1%/bogus:x", -EINVAL, "unknown kind 'bogus'"},
    {"fault:loss=1%/fault:loss=1%", -EINVAL, "expected fault:KEY=VAL,.../LINK"},
    {"fault:loss=0.000000000000000000000000000000000000000000000000000000000001/lan:x", -EINVAL,
     "too long"},
    {"capture:/tmp/x.pcap", -EINVAL, "expected capture:PATH/LINK"},
    {"capture:/lan:x", -EINVAL, "expected capture:PATH/LINK"},
    {"capture:x/lan:", -EINVAL, "expected capture:PATH/LINK"},
};

static void test_names(void)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const struct name_row *r = &names[i];
        struct jet_link_name n;
        struct jet_err err = {0};
        int rc = jet_link_name_parse(r->in, &n, &err);
        if (rc != r->rc || (rc && !contains(err.msg, r->why)) || (!rc && strcmp(n.inner, r->why)))
            fprintf(stderr, "name '%s': rc %d, '%s', inner '%s'\n", r->in, rc, err.msg,
                    rc ? "" : n.inner);
        CHECK_EQ(rc, r->rc);
        if (rc) {
            CHECK(contains(err.msg, r->why));
            CHECK_EQ(err.code, rc);
        } else {
            CHECK(!strcmp(n.inner, r->why));
        }
    }
    struct jet_link_name n;
    CHECK_EQ(jet_link_name_parse("fault:loss=1%,ber=1e-7,dup=0.5,reorder=2%,delay=50us,jitter=5us,"
                                 "rate=2.5G,seed=99/lan:x",
                                 &n, NULL),
             0);
    CHECK_EQ(n.kind, JET_LINK_FAULT);
    CHECK(n.fault.loss == 0.01 && n.fault.ber == 1e-7 && n.fault.dup == 0.5 &&
          n.fault.reorder == 0.02);
    CHECK_EQ(n.fault.delay_ns, 50000);
    CHECK_EQ(n.fault.jitter_ns, 5000);
    CHECK_EQ(n.fault.rate_bps, 2500000000ull);
    CHECK_EQ(n.fault.seed, 99);
    CHECK(n.name[0] == 0 && n.path[0] == 0);
    CHECK_EQ(jet_link_name_parse("capture:/a/b/lan:x", &n, NULL), 0);
    CHECK_EQ(n.kind, JET_LINK_CAPTURE);
    CHECK(!strcmp(n.path, "/a/b"));

    /* Opening: a capture file that cannot be created (tests/unit/test_capture.c
     * has the rest), an inner link that is not there. */
    struct jet_link *l = NULL;
    struct jet_err err = {0};
    char s[128];
    snprintf(s, sizeof s, "capture:/no-such-dir-jt/x.pcap/lan:%s", lan_clean);
    CHECK_EQ(jet_link_open(s, NULL, &l, &err), -ENOENT);
    CHECK(contains(err.msg, "/no-such-dir-jt/x.pcap"));
    CHECK_EQ(jet_link_open("fault:loss=1%/lan:no-such-lan-zz", NULL, &l, &err), -ENOENT);
    CHECK(contains(err.msg, "no-such-lan-zz"));
    CHECK_EQ(jet_link_open("fault:loss=1%/packet:x", NULL, &l, &err), -ENODEV); /* no IF x */
    CHECK(l == NULL);
}

static int make_lan(char *name, size_t cap, const char *tag, int faults)
{
    snprintf(name, cap, "tf-%s-%d", tag, (int)getpid());
    struct jet_lan_config c;
    jet_lan_config_default(&c);
    c.stations = 2;
    if (faults) {
        c.seed = 7;
        c.loss = 0.05;
        c.ber = faults == 2 ? 0 : 1e-5;
        c.dup = 0.03;
        c.reorder = 0.04;
    }
    struct jet_err err = {0};
    int rc = jet_lan_create(name, &c, &err);
    if (rc)
        fprintf(stderr, "lan create %s: %s\n", name, err.msg);
    return rc;
}

/* Every buffer of LAN name is free again (nothing attached). */
static void check_pool(const char *name)
{
    struct jet_lan_info in;
    struct jet_err err = {0};
    if (jet_lan_info(name, &in, &err)) {
        CHECK(0);
        return;
    }
    CHECK_EQ(in.attached, 0);
    CHECK_EQ(in.buffers_free, in.config.buffers);
}

int main(void)
{
    test_draws();
    if (make_lan(lan_clean, sizeof lan_clean, "clean", 0) ||
        make_lan(lan_faulty, sizeof lan_faulty, "faulty", 1) ||
        make_lan(lan_nober, sizeof lan_nober, "nober", 2)) {
        CHECK(0); /* every part needs its LAN: a LAN that cannot be made is a failure */
        return check_done("test_fault");
    }
    test_names();
    test_lan_fixed();
    char lan[80], loop[80];
    snprintf(lan, sizeof lan, "lan:%s", lan_clean);
    snprintf(loop, sizeof loop, "loop:tf-%d", (int)getpid());
    const char *f1 = "loss=0.05,ber=1e-5,dup=0.03,reorder=0.04,seed=7",
               *f2 = "loss=0.05,dup=0.03,reorder=0.04,seed=7";
    test_wrapper_as_lan("lan", lan_clean, lan_faulty, f1, true);
    test_wrapper_as_lan("lan", lan_clean, lan_nober, f2, false);
    test_wrapper_as_lan("loop", loop + 5, lan_nober, f2, false);
    test_delay(lan);
    test_delay(loop);
    test_rate(lan);
    test_rate(loop);
    test_close_waiting(lan);
    test_close_waiting(loop);
    test_nested(lan);
    test_nested(loop);
    check_pool(lan_clean);
    check_pool(lan_faulty);
    check_pool(lan_nober);
    struct jet_err err = {0};
    jet_lan_destroy(lan_nober, true, &err);
    jet_lan_destroy(lan_clean, true, &err);
    jet_lan_destroy(lan_faulty, true, &err);
    return check_done("test_fault");
}
