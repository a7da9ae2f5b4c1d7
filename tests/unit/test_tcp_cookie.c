/* Tests of src/tcp/tcp_cookie.c (SYN cookies):
 *   - round trip for every MSS table entry (and the values between entries, the default
 *     536, our own MSS cap, -ERANGE below the table) and every option combination
 *     (timestamps x window scale 0..14 or none x SACK x ECN), with the timestamp value's
 *     low bits and its never-ahead-of-the-clock rule;
 *   - forgery: 10^6 random acknowledgement numbers for a real SYN, and 10^6 random
 *     (sequence, acknowledgement, TSecr) triples; every one-bit change of a real
 *     cookie's ACK, sequence number, TSecr option bits and 4-tuple;
 *   - expiry: accepted in the issuing tick and the next, -ETIMEDOUT from 2 ticks to 31,
 *     -EINVAL after, rejected before issue; exact boundaries to the nanosecond;
 *   - wrap-around: their ISN and the cookie across 2^32, the 5-bit count field across
 *     its wrap, the first ticks after time 0 and the last before 2^64 ns;
 *   - timestamps dropped or added on the third segment, a NULL options pointer. */
#include <errno.h>

#include "check.h"
#include "tcp/tcp_cookie.h"
#include "util/clock.h"
#include "util/rng.h"

static const uint64_t TICK = TCP_COOKIE_TICK_NS;
static const struct tcp_tuple T0 = {
    .laddr = 0xC6120001, .raddr = 0xC6120002, .lport = 80, .rport = 40000}; /* 198.18.0.1/2 */
static struct tcp_key K;

static bool opts_eq(const struct tcp_cookie_opts *a, const struct tcp_cookie_opts *b)
{
    return a->mss == b->mss && a->has_ts == b->has_ts && a->has_wscale == b->has_wscale &&
           (!a->has_wscale || a->wscale == b->wscale) && a->sack_ok == b->sack_ok &&
           a->ecn_ok == b->ecn_ok;
}

/* The third segment's options for a cookie: TSecr echoes the SYN-ACK's TSval. */
static struct jet_tcp_hdr_opts ack_opts(const struct tcp_cookie *c)
{
    struct jet_tcp_hdr_opts o = {0};
    if (c->opt.has_ts) {
        o.has_ts = true;
        o.ts_val = 77;
        o.ts_ecr = c->tsval;
    }
    return o;
}

/* make, then check the honest third segment at `later`; returns the check's rc. */
static int round_trip(const struct tcp_tuple *t, uint32_t their_isn, const struct jet_tcp_hdr_opts *syn,
                      bool ecn, uint16_t our_mss, uint64_t now, uint64_t later,
                      struct tcp_cookie *c, struct tcp_cookie_opts *got)
{
    int rc = tcp_cookie_make(&K, t, their_isn, syn, ecn, our_mss, 0x12345678, now, c);
    if (rc)
        return 1000 + rc;
    struct jet_tcp_hdr_opts a = ack_opts(c);
    return tcp_cookie_check(&K, t, their_isn + 1, c->isn + 1, &a, later, got, NULL);
}

static void test_mss(void)
{
    for (int i = 1; i < TCP_COOKIE_MSS_N; i++)
        CHECK(tcp_cookie_mss_table[i - 1] < tcp_cookie_mss_table[i]);
    CHECK_EQ(tcp_cookie_mss_table[0], TCP_COOKIE_MSS_MIN);
    const uint64_t now = 1000 * TICK + 7;
    int bad = 0;
    for (int i = 0; i < TCP_COOKIE_MSS_N; i++) {
        unsigned e = tcp_cookie_mss_table[i];
        unsigned next = i + 1 < TCP_COOKIE_MSS_N ? tcp_cookie_mss_table[i + 1] : 65536;
        unsigned probe[] = {e, e + 1, (e + next) / 2, next - 1};
        for (int j = 0; j < 4; j++) {
            struct jet_tcp_hdr_opts syn = {.mss = (uint16_t)probe[j]};
            for (int ts = 0; ts < 2; ts++) {
                syn.has_ts = ts;
                struct tcp_cookie c;
                struct tcp_cookie_opts got;
                int rc = round_trip(&T0, 1000u * probe[j], &syn, false, 0, now, now, &c, &got);
                if (rc || c.opt.mss != e || got.mss != e || !opts_eq(&got, &c.opt)) {
                    fprintf(stderr, "mss %u ts %d: rc %d mss %u/%u want %u\n", probe[j], ts, rc,
                            c.opt.mss, got.mss, e);
                    bad++;
                }
            }
        }
    }
    CHECK_EQ(bad, 0);
    struct tcp_cookie c;
    struct tcp_cookie_opts got;
    struct jet_tcp_hdr_opts syn = {0}; /* no MSS option: 536 */
    CHECK_EQ(round_trip(&T0, 1, &syn, false, 0, now, now, &c, &got), 0);
    CHECK_EQ(got.mss, 536);
    syn.mss = 9000; /* our MTU caps it */
    CHECK_EQ(round_trip(&T0, 1, &syn, false, 1460, now, now, &c, &got), 0);
    CHECK_EQ(got.mss, 1460);
    CHECK_EQ(round_trip(&T0, 1, &syn, false, 9000, now, now, &c, &got), 0);
    CHECK_EQ(got.mss, 8960);
    syn.mss = 65535;
    CHECK_EQ(round_trip(&T0, 1, &syn, false, 0, now, now, &c, &got), 0);
    CHECK_EQ(got.mss, 65480);
    syn.mss = 87; /* below the table */
    CHECK_EQ(tcp_cookie_make(&K, &T0, 1, &syn, false, 0, 0, now, &c), -ERANGE);
    syn.mss = 1460;
    CHECK_EQ(tcp_cookie_make(&K, &T0, 1, &syn, false, 87, 0, now, &c), -ERANGE);
    syn.mss = 88;
    CHECK_EQ(round_trip(&T0, 1, &syn, false, 0, now, now, &c, &got), 0);
    CHECK_EQ(got.mss, 88);
}

static void test_options(void)
{
    struct jet_rng r = {7};
    int bad = 0, n = 0;
    for (int ts = 0; ts < 2; ts++)
        for (int ws = -1; ws <= 15; ws++) /* -1: no window scale; 15: read as 14 */
            for (int sack = 0; sack < 2; sack++)
                for (int ecn = 0; ecn < 2; ecn++) {
                    struct jet_tcp_hdr_opts syn = {.mss = 1460,
                                               .has_ts = ts,
                                               .ts_val = 99,
                                               .has_wscale = ws >= 0,
                                               .wscale = (uint8_t)(ws < 0 ? 0 : ws),
                                               .sack_ok = sack};
                    uint32_t isn = (uint32_t)jet_rng_next(&r);
                    uint64_t now = 5 * TICK + jet_rng_next(&r) % (100 * TICK);
                    uint32_t ts_now = (uint32_t)jet_rng_next(&r);
                    if (n % 7 == 0)
                        ts_now &= 31; /* near 0: the lowered value wraps below 2^32 */
                    struct tcp_cookie c;
                    struct tcp_cookie_opts got;
                    int rc = tcp_cookie_make(&K, &T0, isn, &syn, ecn, 0, ts_now, now, &c);
                    struct tcp_cookie_opts want = {.mss = 1460, .has_ts = ts};
                    if (ts) {
                        want.has_wscale = ws >= 0;
                        want.wscale = (uint8_t)(ws < 0 ? 0 : ws > 14 ? 14 : ws);
                        want.sack_ok = sack;
                        want.ecn_ok = ecn;
                    }
                    struct jet_tcp_hdr_opts a = ack_opts(&c);
                    int rc2 =
                        tcp_cookie_check(&K, &T0, isn + 1, c.isn + 1, &a, now + TICK, &got, NULL);
                    bool ok = rc == 0 && rc2 == 0 && opts_eq(&c.opt, &want) && opts_eq(&got, &want);
                    if (ts) {
                        unsigned bits =
                            (want.has_wscale ? want.wscale : 15) | (sack ? 16 : 0) | (ecn ? 32 : 0);
                        ok = ok && (c.tsval & 63) == bits;
                        /* never ahead of our clock, and less than 64 behind */
                        ok = ok && (int32_t)(ts_now - c.tsval) >= 0 && ts_now - c.tsval < 64;
                    } else {
                        ok = ok && c.tsval == 0;
                    }
                    if (!ok) {
                        fprintf(stderr, "options ts %d ws %d sack %d ecn %d: rc %d/%d\n", ts, ws,
                                sack, ecn, rc, rc2);
                        bad++;
                    }
                    n++;
                }
    CHECK_EQ(n, 2 * 17 * 2 * 2);
    CHECK_EQ(bad, 0);
}

/* Random acknowledgement numbers against a real SYN, and random everything. */
static void test_forged(void)
{
    struct jet_rng r = {2024};
    const uint64_t now = 3000 * TICK + 12345;
    struct jet_tcp_hdr_opts syn = {
        .mss = 1460, .has_ts = true, .has_wscale = true, .wscale = 7, .sack_ok = true};
    struct tcp_cookie c;
    REQUIRE(tcp_cookie_make(&K, &T0, 0xdeadbeef, &syn, false, 0, 1000, now, &c) == 0);
    enum { N = 1000000 };
    int acc1 = 0, stale1 = 0, acc2 = 0, stale2 = 0, acc_ages[TCP_COOKIE_AGES] = {0};
    for (int i = 0; i < N; i++) {
        struct jet_tcp_hdr_opts a = ack_opts(&c);
        uint32_t ack = (uint32_t)jet_rng_next(&r);
        if (ack == c.isn + 1)
            continue;
        struct tcp_cookie_opts got;
        unsigned age = 99;
        int rc = tcp_cookie_check(&K, &T0, 0xdeadbeef + 1, ack, &a, now, &got, &age);
        if (rc == 0) {
            acc1++;
            if (age < TCP_COOKIE_AGES)
                acc_ages[age]++;
        }
        stale1 += rc == -ETIMEDOUT;
    }
    for (int i = 0; i < N; i++) {
        uint64_t x = jet_rng_next(&r), y = jet_rng_next(&r);
        struct jet_tcp_hdr_opts a = {.has_ts = y & 1, .ts_ecr = (uint32_t)(y >> 32)};
        struct tcp_cookie_opts got;
        int rc = tcp_cookie_check(&K, &T0, (uint32_t)x, (uint32_t)(x >> 32), &a, now, &got, NULL);
        acc2 += rc == 0;
        stale2 += rc == -ETIMEDOUT;
    }
    /* Expected accepts: 10^6 * 2^-28 = 0.004 each; -ETIMEDOUT 10^6 * 30/32 * 2^-24 = 0.06. */
    fprintf(stderr,
            "forged: %d of %d random ACKs accepted (%d stale), %d of %d random segments accepted "
            "(%d stale)\n",
            acc1, N, stale1, acc2, N, stale2);
    CHECK(acc1 <= 1);
    CHECK(acc2 <= 1);
    CHECK(stale1 <= 2 && stale2 <= 2);

    /* Every one-bit change of the real segment is refused. */
    struct jet_tcp_hdr_opts a = ack_opts(&c);
    struct tcp_cookie_opts got;
    REQUIRE(tcp_cookie_check(&K, &T0, 0xdeadbeef + 1, c.isn + 1, &a, now, &got, NULL) == 0);
    int accepted = 0, tried = 0;
    for (int b = 0; b < 32; b++, tried += 2) {
        accepted += tcp_cookie_check(&K, &T0, 0xdeadbeef + 1, (c.isn + 1) ^ (1u << b), &a, now,
                                     &got, NULL) == 0;
        accepted += tcp_cookie_check(&K, &T0, (0xdeadbeef + 1) ^ (1u << b), c.isn + 1, &a, now,
                                     &got, NULL) == 0;
    }
    for (int b = 0; b < 6; b++, tried++) {
        struct jet_tcp_hdr_opts m = a;
        m.ts_ecr ^= 1u << b;
        accepted += tcp_cookie_check(&K, &T0, 0xdeadbeef + 1, c.isn + 1, &m, now, &got, NULL) == 0;
    }
    for (int b = 0; b < 96; b++, tried++) {
        struct tcp_tuple t = T0;
        if (b < 32)
            t.laddr ^= 1u << b;
        else if (b < 64)
            t.raddr ^= 1u << (b - 32);
        else if (b < 80)
            t.lport ^= (uint16_t)(1u << (b - 64));
        else
            t.rport ^= (uint16_t)(1u << (b - 80));
        accepted += tcp_cookie_check(&K, &t, 0xdeadbeef + 1, c.isn + 1, &a, now, &got, NULL) == 0;
    }
    struct tcp_tuple rev = {
        .laddr = T0.raddr, .raddr = T0.laddr, .lport = T0.rport, .rport = T0.lport};
    accepted += tcp_cookie_check(&K, &rev, 0xdeadbeef + 1, c.isn + 1, &a, now, &got, NULL) == 0;
    /* another key */
    struct tcp_key k2 = K;
    k2.k1 ^= 1;
    accepted += tcp_cookie_check(&k2, &T0, 0xdeadbeef + 1, c.isn + 1, &a, now, &got, NULL) == 0;
    fprintf(stderr, "forged: %d of %d altered segments accepted\n", accepted, tried + 2);
    CHECK_EQ(accepted, 0);
    /* The high TSecr bits are our clock, not the cookie: they may be anything. */
    struct jet_tcp_hdr_opts m = a;
    m.ts_ecr ^= 0xFFFFFF00u;
    CHECK_EQ(tcp_cookie_check(&K, &T0, 0xdeadbeef + 1, c.isn + 1, &m, now, &got, NULL), 0);
}

static void test_expiry(void)
{
    struct jet_tcp_hdr_opts syn = {.mss = 1460};
    const uint64_t base = 777 * TICK; /* the first nanosecond of tick 777 */
    struct tcp_cookie c;
    REQUIRE(tcp_cookie_make(&K, &T0, 42, &syn, false, 0, 0, base + TICK - 1, &c) == 0);
    struct tcp_cookie_opts got;
    unsigned age = 99;
    int bad = 0;
    /* Issued in the last nanosecond of tick 777. */
    CHECK_EQ(tcp_cookie_check(&K, &T0, 43, c.isn + 1, NULL, base + TICK - 1, &got, &age), 0);
    CHECK_EQ(age, 0);
    CHECK_EQ(tcp_cookie_check(&K, &T0, 43, c.isn + 1, NULL, base + 2 * TICK - 1, &got, &age), 0);
    CHECK_EQ(age, 1);
    CHECK_EQ(tcp_cookie_check(&K, &T0, 43, c.isn + 1, NULL, base + 2 * TICK, &got, NULL),
             -ETIMEDOUT);
    for (int k = 2; k < 32; k++)
        bad += tcp_cookie_check(&K, &T0, 43, c.isn + 1, NULL, base + k * TICK + 5, &got, NULL) !=
               -ETIMEDOUT;
    for (int k = 32; k < 200; k++) /* the 5-bit field has wrapped: no longer recognisable */
        bad += tcp_cookie_check(&K, &T0, 43, c.isn + 1, NULL, base + k * TICK + 5, &got, NULL) !=
               -EINVAL;
    for (int k = 1; k < 40; k++) /* a clock before the cookie was made */
        bad +=
            tcp_cookie_check(&K, &T0, 43, c.isn + 1, NULL, base - k * TICK, &got, NULL) != -EINVAL;
    CHECK_EQ(bad, 0);
    /* Issued in the first nanosecond of a tick: accepted for 2 ticks less 1 ns. */
    REQUIRE(tcp_cookie_make(&K, &T0, 42, &syn, false, 0, 0, base, &c) == 0);
    CHECK_EQ(tcp_cookie_check(&K, &T0, 43, c.isn + 1, NULL, base + 2 * TICK - 1, &got, NULL), 0);
    CHECK_EQ(tcp_cookie_check(&K, &T0, 43, c.isn + 1, NULL, base + 2 * TICK, &got, NULL),
             -ETIMEDOUT);
}

static void test_wrap(void)
{
    struct jet_rng r = {99};
    struct jet_tcp_hdr_opts syn = {.mss = 1460, .has_ts = true, .sack_ok = true};
    struct tcp_cookie c;
    struct tcp_cookie_opts got;
    /* Their ISN just below 2^32: the ACK's sequence number is 0 or 1. */
    static const uint32_t edge[] = {0xFFFFFFFFu, 0xFFFFFFFEu, 0, 0x7FFFFFFFu, 0x80000000u};
    const uint64_t now = 50 * TICK;
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++)
        CHECK_EQ(round_trip(&T0, edge[i], &syn, false, 0, now, now, &c, &got), 0);
    /* Cookies across 2^32: over 10^5 random SYNs about half wrap; every one round-trips,
     * including one whose ACK wraps to 0 if met. */
    int bad = 0, wrapped = 0;
    for (int i = 0; i < 100000; i++) {
        uint32_t isn = (uint32_t)jet_rng_next(&r);
        uint64_t t = jet_rng_next(&r) % (UINT64_MAX - 2 * TICK);
        struct tcp_tuple tu = T0;
        tu.rport = (uint16_t)jet_rng_next(&r);
        int rc = round_trip(&tu, isn, &syn, false, 0, t, t + TICK, &c, &got);
        bad += rc != 0;
        wrapped += c.isn < isn;
    }
    fprintf(stderr, "wrap: %d of 100000 cookies below their ISN (wrapped), %d failed\n", wrapped,
            bad);
    CHECK_EQ(bad, 0);
    CHECK(wrapped > 40000);
    /* The 5-bit count field wraps from 31 to 0 (and at 63 -> 64, 2^16 -> ...). */
    static const uint64_t ticks[] = {31, 63, 95, 1023, 65535, 1ull << 27};
    for (size_t i = 0; i < sizeof ticks / sizeof ticks[0]; i++) {
        uint64_t t = ticks[i] * TICK + TICK / 2;
        CHECK_EQ(round_trip(&T0, 5, &syn, false, 0, t, t + TICK, &c, &got), 0);
        CHECK_EQ(round_trip(&T0, 5, &syn, false, 0, t, t + 2 * TICK, &c, &got), -ETIMEDOUT);
    }
    /* Time 0: ticks 0 and 1 accept; an ACK claiming a tick before 0 is refused. */
    CHECK_EQ(round_trip(&T0, 5, &syn, false, 0, 0, 0, &c, &got), 0);
    CHECK_EQ(round_trip(&T0, 5, &syn, false, 0, 0, 2 * TICK - 1, &c, &got), 0);
    CHECK_EQ(round_trip(&T0, 5, &syn, false, 0, 31 * TICK, 0, &c, &got), -EINVAL);
    CHECK_EQ(round_trip(&T0, 5, &syn, false, 0, 1 * TICK, 0, &c, &got), -EINVAL);
    /* The end of the 64-bit clock. */
    CHECK_EQ(round_trip(&T0, 5, &syn, false, 0, UINT64_MAX - TICK, UINT64_MAX, &c, &got), 0);
}

static void test_ts_mismatch(void)
{
    const uint64_t now = 9 * TICK;
    struct tcp_cookie c;
    struct tcp_cookie_opts got;
    struct jet_tcp_hdr_opts syn = {.mss = 1460, .has_ts = true, .has_wscale = true, .wscale = 2};
    REQUIRE(tcp_cookie_make(&K, &T0, 9, &syn, false, 0, 500, now, &c) == 0);
    struct jet_tcp_hdr_opts none = {0};
    CHECK_EQ(tcp_cookie_check(&K, &T0, 10, c.isn + 1, &none, now, &got, NULL), -EINVAL);
    CHECK_EQ(tcp_cookie_check(&K, &T0, 10, c.isn + 1, NULL, now, &got, NULL), -EINVAL);
    syn.has_ts = false;
    REQUIRE(tcp_cookie_make(&K, &T0, 9, &syn, false, 0, 500, now, &c) == 0);
    CHECK(!c.opt.has_wscale && !c.opt.sack_ok && !c.opt.ecn_ok);
    struct jet_tcp_hdr_opts ts = {.has_ts = true, .ts_ecr = 15};
    CHECK_EQ(tcp_cookie_check(&K, &T0, 10, c.isn + 1, &ts, now, &got, NULL), -EINVAL);
    CHECK_EQ(tcp_cookie_check(&K, &T0, 10, c.isn + 1, NULL, now, &got, NULL), 0);
    /* A later segment (data past the first byte) is not a cookie ACK. */
    CHECK_EQ(tcp_cookie_check(&K, &T0, 11, c.isn + 1, NULL, now, &got, NULL), -EINVAL);
}

/* Cost under a flood, printed for docs/tcp.md (not a check). */
static void bench(void)
{
    enum { N = 1000000 };
    struct jet_tcp_hdr_opts syn = {.mss = 1460, .has_ts = true};
    struct tcp_cookie c;
    uint32_t acc = 0;
    uint64_t t0 = jet_now_ns();
    for (unsigned i = 0; i < N; i++) {
        tcp_cookie_make(&K, &T0, i, &syn, false, 0, i, 100 * TICK, &c);
        acc += c.isn;
    }
    uint64_t t1 = jet_now_ns();
    struct tcp_cookie_opts got;
    struct jet_tcp_hdr_opts a = {.has_ts = true};
    for (unsigned i = 0; i < N; i++)
        acc += tcp_cookie_check(&K, &T0, i, i * 2654435761u, &a, 100 * TICK, &got, NULL);
    uint64_t t2 = jet_now_ns();
    fprintf(stderr, "cookie: make %.1f ns, check %.1f ns (%08x)\n", (double)(t1 - t0) / N,
            (double)(t2 - t1) / N, acc);
}

int main(void)
{
    uint8_t b[TCP_KEY_LEN];
    for (int i = 0; i < TCP_KEY_LEN; i++)
        b[i] = (uint8_t)(0xA5 ^ (i * 29));
    tcp_key_from_bytes(&K, b);
    test_mss();
    test_options();
    test_forged();
    test_expiry();
    test_wrap();
    test_ts_mismatch();
    bench();
    return check_done("test_tcp_cookie");
}
