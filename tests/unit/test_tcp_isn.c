/* Tests of src/tcp/tcp_isn.c: SipHash-2-4 against the published test vectors (the
 * paper's appendix and the 64-entry table of the reference distribution: key
 * 00 01 .. 0f, message 00 01 .. len-1 for len 0..63), and the RFC 6528 ISN: exact
 * 4-microsecond growth for one 4-tuple (and its wrap after 2^32 ticks), different for
 * different tuples and keys, uniform bits and an avalanche on a one-bit change of the
 * tuple, and the getrandom key helper. */
#include <errno.h>
#include <math.h>

#include "check.h"
#include "tcp/tcp_isn.h"
#include "util/clock.h"
#include "util/rng.h"

/* SipHash-2-4 outputs, little-endian bytes, for len = 0..63. */
static const uint8_t vectors[64][8] = {
    {0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72},
    {0xfd, 0x67, 0xdc, 0x93, 0xc5, 0x39, 0xf8, 0x74},
    {0x5a, 0x4f, 0xa9, 0xd9, 0x09, 0x80, 0x6c, 0x0d},
    {0x2d, 0x7e, 0xfb, 0xd7, 0x96, 0x66, 0x67, 0x85},
    {0xb7, 0x87, 0x71, 0x27, 0xe0, 0x94, 0x27, 0xcf},
    {0x8d, 0xa6, 0x99, 0xcd, 0x64, 0x55, 0x76, 0x18},
    {0xce, 0xe3, 0xfe, 0x58, 0x6e, 0x46, 0xc9, 0xcb},
    {0x37, 0xd1, 0x01, 0x8b, 0xf5, 0x00, 0x02, 0xab},
    {0x62, 0x24, 0x93, 0x9a, 0x79, 0xf5, 0xf5, 0x93},
    {0xb0, 0xe4, 0xa9, 0x0b, 0xdf, 0x82, 0x00, 0x9e},
    {0xf3, 0xb9, 0xdd, 0x94, 0xc5, 0xbb, 0x5d, 0x7a},
    {0xa7, 0xad, 0x6b, 0x22, 0x46, 0x2f, 0xb3, 0xf4},
    {0xfb, 0xe5, 0x0e, 0x86, 0xbc, 0x8f, 0x1e, 0x75},
    {0x90, 0x3d, 0x84, 0xc0, 0x27, 0x56, 0xea, 0x14},
    {0xee, 0xf2, 0x7a, 0x8e, 0x90, 0xca, 0x23, 0xf7},
    {0xe5, 0x45, 0xbe, 0x49, 0x61, 0xca, 0x29, 0xa1},
    {0xdb, 0x9b, 0xc2, 0x57, 0x7f, 0xcc, 0x2a, 0x3f},
    {0x94, 0x47, 0xbe, 0x2c, 0xf5, 0xe9, 0x9a, 0x69},
    {0x9c, 0xd3, 0x8d, 0x96, 0xf0, 0xb3, 0xc1, 0x4b},
    {0xbd, 0x61, 0x79, 0xa7, 0x1d, 0xc9, 0x6d, 0xbb},
    {0x98, 0xee, 0xa2, 0x1a, 0xf2, 0x5c, 0xd6, 0xbe},
    {0xc7, 0x67, 0x3b, 0x2e, 0xb0, 0xcb, 0xf2, 0xd0},
    {0x88, 0x3e, 0xa3, 0xe3, 0x95, 0x67, 0x53, 0x93},
    {0xc8, 0xce, 0x5c, 0xcd, 0x8c, 0x03, 0x0c, 0xa8},
    {0x94, 0xaf, 0x49, 0xf6, 0xc6, 0x50, 0xad, 0xb8},
    {0xea, 0xb8, 0x85, 0x8a, 0xde, 0x92, 0xe1, 0xbc},
    {0xf3, 0x15, 0xbb, 0x5b, 0xb8, 0x35, 0xd8, 0x17},
    {0xad, 0xcf, 0x6b, 0x07, 0x63, 0x61, 0x2e, 0x2f},
    {0xa5, 0xc9, 0x1d, 0xa7, 0xac, 0xaa, 0x4d, 0xde},
    {0x71, 0x65, 0x95, 0x87, 0x66, 0x50, 0xa2, 0xa6},
    {0x28, 0xef, 0x49, 0x5c, 0x53, 0xa3, 0x87, 0xad},
    {0x42, 0xc3, 0x41, 0xd8, 0xfa, 0x92, 0xd8, 0x32},
    {0xce, 0x7c, 0xf2, 0x72, 0x2f, 0x51, 0x27, 0x71},
    {0xe3, 0x78, 0x59, 0xf9, 0x46, 0x23, 0xf3, 0xa7},
    {0x38, 0x12, 0x05, 0xbb, 0x1a, 0xb0, 0xe0, 0x12},
    {0xae, 0x97, 0xa1, 0x0f, 0xd4, 0x34, 0xe0, 0x15},
    {0xb4, 0xa3, 0x15, 0x08, 0xbe, 0xff, 0x4d, 0x31},
    {0x81, 0x39, 0x62, 0x29, 0xf0, 0x90, 0x79, 0x02},
    {0x4d, 0x0c, 0xf4, 0x9e, 0xe5, 0xd4, 0xdc, 0xca},
    {0x5c, 0x73, 0x33, 0x6a, 0x76, 0xd8, 0xbf, 0x9a},
    {0xd0, 0xa7, 0x04, 0x53, 0x6b, 0xa9, 0x3e, 0x0e},
    {0x92, 0x59, 0x58, 0xfc, 0xd6, 0x42, 0x0c, 0xad},
    {0xa9, 0x15, 0xc2, 0x9b, 0xc8, 0x06, 0x73, 0x18},
    {0x95, 0x2b, 0x79, 0xf3, 0xbc, 0x0a, 0xa6, 0xd4},
    {0xf2, 0x1d, 0xf2, 0xe4, 0x1d, 0x45, 0x35, 0xf9},
    {0x87, 0x57, 0x75, 0x19, 0x04, 0x8f, 0x53, 0xa9},
    {0x10, 0xa5, 0x6c, 0xf5, 0xdf, 0xcd, 0x9a, 0xdb},
    {0xeb, 0x75, 0x09, 0x5c, 0xcd, 0x98, 0x6c, 0xd0},
    {0x51, 0xa9, 0xcb, 0x9e, 0xcb, 0xa3, 0x12, 0xe6},
    {0x96, 0xaf, 0xad, 0xfc, 0x2c, 0xe6, 0x66, 0xc7},
    {0x72, 0xfe, 0x52, 0x97, 0x5a, 0x43, 0x64, 0xee},
    {0x5a, 0x16, 0x45, 0xb2, 0x76, 0xd5, 0x92, 0xa1},
    {0xb2, 0x74, 0xcb, 0x8e, 0xbf, 0x87, 0x87, 0x0a},
    {0x6f, 0x9b, 0xb4, 0x20, 0x3d, 0xe7, 0xb3, 0x81},
    {0xea, 0xec, 0xb2, 0xa3, 0x0b, 0x22, 0xa8, 0x7f},
    {0x99, 0x24, 0xa4, 0x3c, 0xc1, 0x31, 0x57, 0x24},
    {0xbd, 0x83, 0x8d, 0x3a, 0xaf, 0xbf, 0x8d, 0xb7},
    {0x0b, 0x1a, 0x2a, 0x32, 0x65, 0xd5, 0x1a, 0xea},
    {0x13, 0x50, 0x79, 0xa3, 0x23, 0x1c, 0xe6, 0x60},
    {0x93, 0x2b, 0x28, 0x46, 0xe4, 0xd7, 0x06, 0x66},
    {0xe1, 0x91, 0x5f, 0x5c, 0xb1, 0xec, 0xa4, 0x6c},
    {0xf3, 0x25, 0x96, 0x5c, 0xa1, 0x6d, 0x62, 0x9f},
    {0x57, 0x5f, 0xf2, 0x8e, 0x60, 0x38, 0x1b, 0xe5},
    {0x72, 0x45, 0x06, 0xeb, 0x4c, 0x32, 0x8a, 0x95},
};

static void ref_key(struct tcp_key *k)
{
    uint8_t b[TCP_KEY_LEN];
    for (int i = 0; i < TCP_KEY_LEN; i++)
        b[i] = (uint8_t)i;
    tcp_key_from_bytes(k, b);
}

static void test_siphash_vectors(void)
{
    struct tcp_key k;
    ref_key(&k);
    CHECK(k.k0 == 0x0706050403020100ull && k.k1 == 0x0f0e0d0c0b0a0908ull);
    /* The paper's worked example (appendix A): 15 bytes. */
    uint8_t msg[64 + 8];
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    CHECK(tcp_siphash24(&k, msg, 15) == 0xa129ca6149be45e5ull);
    CHECK(tcp_siphash24(&k, NULL, 0) == 0x726fdb47dd0e0e31ull);
    int bad = 0;
    for (int len = 0; len < 64; len++) {
        uint64_t want = 0;
        for (int i = 0; i < 8; i++)
            want |= (uint64_t)vectors[len][i] << (8 * i);
        if (tcp_siphash24(&k, msg, (size_t)len) != want) {
            fprintf(stderr, "siphash vector len %d wrong\n", len);
            bad++;
        }
        /* The same message at an odd address (no alignment assumed). */
        uint8_t shifted[64 + 1];
        memcpy(shifted + 1, msg, (size_t)len);
        if (tcp_siphash24(&k, shifted + 1, (size_t)len) != want)
            bad++;
    }
    CHECK_EQ(bad, 0);
}

static const struct tcp_tuple T0 = {
    .laddr = 0xC6120001, .raddr = 0xC6120002, .lport = 80, .rport = 40000}; /* 198.18.0.1/2 */

static void test_isn_clock(void)
{
    struct tcp_key k;
    ref_key(&k);
    const uint64_t now0 = 123456789012345ull; /* any point of a monotonic clock */
    uint32_t i0 = tcp_isn(&k, &T0, now0);
    CHECK_EQ(tcp_isn(&k, &T0, now0), i0); /* deterministic */
    /* M is now / 4 us: exact growth, whatever F is. */
    static const uint64_t d[] = {0,
                                 1,
                                 3999,
                                 4000,
                                 8000,
                                 1000000,
                                 1000000000ull,
                                 3600ull * 1000000000ull,
                                 4ull * 1000 * (1ull << 31)};
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        uint32_t want = (uint32_t)((now0 + d[i]) / 4000 - now0 / 4000);
        CHECK_EQ((uint32_t)(tcp_isn(&k, &T0, now0 + d[i]) - i0), want);
    }
    /* Period: 2^32 ticks of 4 us (4.77 hours) later the same number comes back. */
    CHECK_EQ(tcp_isn(&k, &T0, now0 + 4000ull * (1ull << 32)), i0);
    /* Monotonic-ish: over an hour in 1 ms steps the ISN never steps back (serial). */
    int back = 0;
    uint32_t prev = i0;
    for (uint64_t t = now0; t < now0 + 3600ull * 1000000000ull; t += 1000000ull) {
        uint32_t x = tcp_isn(&k, &T0, t);
        if ((int32_t)(x - prev) < 0)
            back++;
        prev = x;
    }
    CHECK_EQ(back, 0);
    /* now = 0 and the last representable nanosecond do not trap. */
    (void)tcp_isn(&k, &T0, 0);
    (void)tcp_isn(&k, &T0, UINT64_MAX);
}

static void test_isn_distinct(void)
{
    struct tcp_key k;
    ref_key(&k);
    const uint64_t now = 5000000000ull;
    uint32_t i0 = tcp_isn(&k, &T0, now);
    /* Every one-bit change of the tuple, and the reversed direction, change F. */
    int same = 0;
    for (int b = 0; b < 96; b++) {
        struct tcp_tuple t = T0;
        if (b < 32)
            t.laddr ^= 1u << b;
        else if (b < 64)
            t.raddr ^= 1u << (b - 32);
        else if (b < 80)
            t.lport ^= (uint16_t)(1u << (b - 64));
        else
            t.rport ^= (uint16_t)(1u << (b - 80));
        same += tcp_isn(&k, &t, now) == i0;
    }
    struct tcp_tuple rev = {
        .laddr = T0.raddr, .raddr = T0.laddr, .lport = T0.rport, .rport = T0.lport};
    same += tcp_isn(&k, &rev, now) == i0;
    CHECK_EQ(same, 0);
    /* Every one-bit change of the key changes it too. */
    same = 0;
    for (int b = 0; b < 128; b++) {
        struct tcp_key k2 = k;
        if (b < 64)
            k2.k0 ^= 1ull << b;
        else
            k2.k1 ^= 1ull << (b - 64);
        same += tcp_isn(&k2, &T0, now) == i0;
    }
    CHECK_EQ(same, 0);

    /* 20000 client ports at once: a 32-bit PRF collides with probability
     * 20000^2 / 2^33 = 0.05; more than 2 collisions would mean a weak F. */
    enum { N = 20000 };
    static uint32_t v[N];
    for (int i = 0; i < N; i++) {
        struct tcp_tuple t = T0;
        t.rport = (uint16_t)(10000 + i);
        v[i] = tcp_isn(&k, &t, now);
    }
    int coll = 0;
    { /* a small open-addressing set */
        enum { H = 1 << 16 };
        static uint32_t tab[H];
        static uint8_t used[H];
        for (int i = 0; i < N; i++) {
            unsigned h = (v[i] * 2654435761u) >> 16;
            while (used[h] && tab[h] != v[i])
                h = (h + 1) & (H - 1);
            if (used[h])
                coll++;
            used[h] = 1;
            tab[h] = v[i];
        }
    }
    fprintf(stderr, "isn: %d collisions among %d tuples\n", coll, N);
    CHECK(coll <= 2);
}

/* Bit balance and byte histogram of F over 2^16 sequential tuples, and the avalanche of
 * a one-bit tuple change.  Bounds at 5 to 6 standard deviations: a correct PRF fails
 * them with negligible probability, a plain sum or xor of the fields fails at once. */
static void test_isn_uniform(void)
{
    struct tcp_key k;
    ref_key(&k);
    enum { N = 1 << 16 };
    const uint64_t now = 0; /* M = 0: the ISN is F itself */
    unsigned ones[32] = {0}, hist[256] = {0};
    double flips = 0;
    int nflip = 0;
    struct jet_rng r = {42};
    for (unsigned i = 0; i < N; i++) {
        struct tcp_tuple t = T0;
        t.lport = (uint16_t)(i >> 8);
        t.rport = (uint16_t)(i & 0xff);
        uint32_t f = tcp_isn(&k, &t, now);
        for (int b = 0; b < 32; b++)
            ones[b] += (f >> b) & 1;
        hist[f >> 24]++;
        if (i % 16 == 0) {
            struct tcp_tuple u = t;
            unsigned b = (unsigned)(jet_rng_next(&r) % 96);
            if (b < 32)
                u.laddr ^= 1u << b;
            else if (b < 64)
                u.raddr ^= 1u << (b - 32);
            else if (b < 80)
                u.lport ^= (uint16_t)(1u << (b - 64));
            else
                u.rport ^= (uint16_t)(1u << (b - 80));
            flips += __builtin_popcount(f ^ tcp_isn(&k, &u, now));
            nflip++;
        }
    }
    double sd = sqrt(N * 0.25), worst = 0;
    for (int b = 0; b < 32; b++)
        worst = fmax(worst, fabs(ones[b] - N / 2.0) / sd);
    double chi = 0, e = N / 256.0;
    for (int i = 0; i < 256; i++)
        chi += (hist[i] - e) * (hist[i] - e) / e;
    double avg = flips / nflip, avg_sd = sqrt(8.0 / nflip); /* popcount of 32 fair bits: var 8 */
    fprintf(stderr,
            "isn: worst bit bias %.2f sd, top-byte chi2 %.1f (df 255), avalanche %.2f bits\n",
            worst, chi, avg);
    CHECK(worst < 5.5);
    CHECK(chi < 255 + 6 * sqrt(2 * 255.0));
    CHECK(fabs(avg - 16) < 6 * avg_sd);
}

static void test_key_random(void)
{
    struct tcp_key a, b;
    int rc = tcp_key_random(&a);
    if (rc == -ENOSYS) {
        fprintf(stderr, "getrandom not available: key helper not tested\n");
        return;
    }
    CHECK_EQ(rc, 0);
    CHECK_EQ(tcp_key_random(&b), 0);
    CHECK(a.k0 != b.k0 || a.k1 != b.k1);
    CHECK(a.k0 != 0 || a.k1 != 0);
}

/* Cost, printed for docs/tcp.md (not a check: machines differ). */
static void bench(void)
{
    struct tcp_key k;
    ref_key(&k);
    enum { N = 1000000 };
    uint32_t acc = 0;
    uint64_t t0 = jet_now_ns();
    for (unsigned i = 0; i < N; i++) {
        struct tcp_tuple t = T0;
        t.rport = (uint16_t)i;
        acc += tcp_isn(&k, &t, i);
    }
    uint64_t t1 = jet_now_ns();
    fprintf(stderr, "isn: %.1f ns per ISN (%08x)\n", (double)(t1 - t0) / N, acc);
}

int main(void)
{
    test_siphash_vectors();
    test_isn_clock();
    test_isn_distinct();
    test_isn_uniform();
    test_key_random();
    bench();
    return check_done("test_tcp_isn");
}
