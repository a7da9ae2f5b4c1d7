/* CRC32C: every implementation this CPU runs is checked against published
 * vectors and against the bitwise reference, over all lengths 0..600 and
 * random lengths up to 20000 (and one larger) at every offset 0..63 from a
 * cache line (the vector code works on aligned 64-byte blocks, masking the
 * first and last), for chaining at random split points, and for the fused
 * copy (contents, CRC, and no byte written outside the destination).
 * Buffers end exactly at the end of their allocation, so ASan catches any
 * over-read; masked vector loads and stores are invisible to ASan, so
 * buffers are also placed against inaccessible pages.  Seeded PRNG. */
#include "jet/crc32c.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "util/rng.h"

enum {
    MAX_ALIGN = 64,  /* offsets from a cache line (and from a vector block) */
    SMALL_MAX = 600, /* every length 0..SMALL_MAX at every alignment */
    RAND_MAX_LEN = 20000,
    RAND_PER_ALIGN = 16,
    BIG_LEN = 100003, /* several full super-blocks plus an odd tail */
    GUARD = 64,       /* a multiple of 64: keeps the destination's offset */
};

static struct jet_rng rng = {0x6a657473ull}; /* fixed seed: reproducible */

static size_t rnd(size_t n) /* uniform in [0, n) */
{
    return (size_t)(jet_rng_next(&rng) % n);
}

/* A length, biased towards small ones and the boundaries of the
 * three-chain path without neglecting large ones. */
static size_t rnd_len(size_t max)
{
    switch (rnd(4)) {
    case 0:
        return rnd(200);
    case 1:
        return rnd(8 * 1024);
    default:
        return rnd(max + 1);
    }
}

static void fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)jet_rng_next(&rng);
}

/* Memory aligned to a cache line (so the caller's offsets are exact). */
static void *line_alloc(size_t n)
{
    void *p = NULL;
    REQUIRE(posix_memalign(&p, 64, n) == 0 && p);
    return p;
}

/* Copies src into a fresh allocation whose end is the end of the data,
 * starting at byte `align` of it (align bytes past a cache line boundary).
 * Free with free(*base). */
static uint8_t *tight_copy(const uint8_t *src, size_t n, size_t align, void **base)
{
    uint8_t *b = line_alloc(align + n + 1);
    *base = b;
    memcpy(b + align, src, n);
    return b + align;
}

struct vector {
    const char *name;
    uint8_t data[48];
    size_t len;
    uint32_t crc;
};

static struct vector vectors[] = {
    {"empty", {0}, 0, 0x00000000},
    {"123456789", "123456789", 9, 0xE3069283},
    {"32 x 00", {0}, 32, 0x8A9136AA}, /* RFC 3720 B.4 */
    {"32 x ff", {0}, 32, 0x62A8AB43},
    {"0..31", {0}, 32, 0x46DD794E},
    {"31..0", {0}, 32, 0x113FDB5C},
    {"iSCSI read PDU", /* RFC 3720 B.4: SCSI Read (10) command PDU */
     {0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
     48,
     0xD9963A56},
};

enum { NVECTORS = sizeof vectors / sizeof vectors[0] };

static void vectors_init(void)
{
    for (int i = 0; i < 32; i++) {
        vectors[3].data[i] = 0xff;
        vectors[4].data[i] = (uint8_t)i;
        vectors[5].data[i] = (uint8_t)(31 - i);
    }
}

static void test_vectors(const char *impl)
{
    for (size_t i = 0; i < NVECTORS; i++) {
        const struct vector *v = &vectors[i];
        uint8_t out[48];
        uint32_t got = jet_crc32c(0, v->data, v->len);
        uint32_t got_copy = jet_crc32c_copy(0, out, v->data, v->len);
        if (got != v->crc || got_copy != v->crc)
            fprintf(stderr, "  %s: vector \"%s\": crc %08x copy %08x, want %08x\n", impl, v->name,
                    got, got_copy, v->crc);
        CHECK_EQ(got, v->crc);
        CHECK_EQ(got_copy, v->crc);
        CHECK(memcmp(out, v->data, v->len) == 0);
        /* The same bytes fed one at a time must chain to the same value. */
        uint32_t c = 0;
        for (size_t k = 0; k < v->len; k++)
            c = jet_crc32c(c, &v->data[k], 1);
        CHECK_EQ(c, v->crc);
    }
}

/* Reference values computed once with the bitwise routine, reused for every
 * implementation. */
static uint8_t *data; /* BIG_LEN + MAX_ALIGN random bytes */
static uint32_t small_ref[MAX_ALIGN][SMALL_MAX + 1];

struct rand_case {
    size_t align, len;
    uint32_t crc;
};
static struct rand_case rand_cases[MAX_ALIGN * RAND_PER_ALIGN + 1];

static void refs_init(void)
{
    data = malloc(BIG_LEN + MAX_ALIGN);
    REQUIRE(data);
    fill(data, BIG_LEN + MAX_ALIGN);
    for (size_t a = 0; a < MAX_ALIGN; a++) {
        small_ref[a][0] = 0;
        for (size_t n = 0; n < SMALL_MAX; n++) /* the reference chains bytewise */
            small_ref[a][n + 1] = jet_crc32c_bitwise(small_ref[a][n], data + a + n, 1);
    }
    size_t k = 0;
    for (size_t a = 0; a < MAX_ALIGN; a++)
        for (size_t i = 0; i < RAND_PER_ALIGN; i++, k++) {
            rand_cases[k].align = a;
            rand_cases[k].len = rnd_len(RAND_MAX_LEN);
            rand_cases[k].crc = jet_crc32c_bitwise(0, data + a, rand_cases[k].len);
        }
    rand_cases[k].align = 3;
    rand_cases[k].len = BIG_LEN;
    rand_cases[k].crc = jet_crc32c_bitwise(0, data + 3, BIG_LEN);
}

static void test_small(const char *impl)
{
    int bad = 0;
    for (size_t a = 0; a < MAX_ALIGN; a++)
        for (size_t n = 0; n <= SMALL_MAX; n++) {
            void *base;
            uint8_t *p = tight_copy(data + a, n, a, &base);
            uint32_t got = jet_crc32c(0, p, n);
            if (got != small_ref[a][n] && bad++ < 5)
                fprintf(stderr, "  %s: align %zu len %zu: %08x, want %08x\n", impl, a, n, got,
                        small_ref[a][n]);
            free(base);
        }
    CHECK_EQ(bad, 0);
}

static void test_random(const char *impl)
{
    int bad = 0;
    for (size_t k = 0; k < sizeof rand_cases / sizeof rand_cases[0]; k++) {
        const struct rand_case *rc = &rand_cases[k];
        void *base;
        uint8_t *p = tight_copy(data + rc->align, rc->len, rc->align, &base);
        uint32_t got = jet_crc32c(0, p, rc->len);
        if (got != rc->crc && bad++ < 5)
            fprintf(stderr, "  %s: align %zu len %zu: %08x, want %08x\n", impl, rc->align, rc->len,
                    got, rc->crc);
        free(base);
    }
    CHECK_EQ(bad, 0);
}

/* Splits each random case at up to three random points and chains. */
static void test_chaining(const char *impl)
{
    int bad = 0;
    for (size_t k = 0; k < sizeof rand_cases / sizeof rand_cases[0]; k++) {
        const struct rand_case *rc = &rand_cases[k];
        const uint8_t *p = data + rc->align;
        size_t cut[5] = {0, 0, 0, 0, rc->len};
        for (int i = 1; i < 4; i++)
            cut[i] = rnd(rc->len + 1);
        for (int i = 1; i < 4; i++) /* sort the three cuts */
            for (int j = i; j > 1 && cut[j] < cut[j - 1]; j--) {
                size_t t = cut[j];
                cut[j] = cut[j - 1];
                cut[j - 1] = t;
            }
        uint32_t c = 0, cc = 0;
        uint8_t *out = malloc(rc->len + 1);
        REQUIRE(out);
        for (int i = 0; i < 4; i++) {
            c = jet_crc32c(c, p + cut[i], cut[i + 1] - cut[i]);
            cc = jet_crc32c_copy(cc, out + cut[i], p + cut[i], cut[i + 1] - cut[i]);
        }
        if ((c != rc->crc || cc != rc->crc || memcmp(out, p, rc->len) != 0) && bad++ < 5)
            fprintf(stderr, "  %s: chain len %zu cuts %zu %zu %zu: %08x copy %08x, want %08x\n",
                    impl, rc->len, cut[1], cut[2], cut[3], c, cc, rc->crc);
        free(out);
    }
    CHECK_EQ(bad, 0);
}

/* One fused copy of n bytes from data+sa to a destination at alignment da
 * with guard bytes on both sides. */
static int copy_case(size_t sa, size_t da, size_t n, uint32_t want)
{
    void *sbase;
    const uint8_t *src = tight_copy(data + sa, n, sa, &sbase);
    uint8_t *area = line_alloc(GUARD + da + n + GUARD);
    memset(area, 0xA5, GUARD + da + n + GUARD);
    uint8_t *dst = area + GUARD + da;
    for (size_t i = 0; i < n; i++) /* differs from src everywhere */
        dst[i] = (uint8_t)~src[i];
    uint32_t got = jet_crc32c_copy(0, dst, src, n);
    int ok = got == want && memcmp(dst, src, n) == 0;
    for (size_t i = 0; i < GUARD + da; i++)
        ok &= area[i] == 0xA5;
    for (size_t i = 0; i < GUARD; i++)
        ok &= dst[n + i] == 0xA5;
    free(area);
    free(sbase);
    return ok;
}

static void test_copy(const char *impl)
{
    int bad = 0;
    /* Every small length, with source and destination alignments rotating
     * independently through 0..63. */
    for (size_t n = 0; n <= SMALL_MAX; n++) {
        size_t sa = n % MAX_ALIGN, da = (n * 7 + 3) % MAX_ALIGN;
        int ok = copy_case(sa, da, n, small_ref[sa][n]);
        if (!ok && bad++ < 5)
            fprintf(stderr, "  %s: copy src align %zu dst align %zu len %zu failed\n", impl, sa, da,
                    n);
    }
    for (size_t k = 0; k < sizeof rand_cases / sizeof rand_cases[0]; k++) {
        const struct rand_case *rc = &rand_cases[k];
        size_t da = rnd(MAX_ALIGN);
        int ok = copy_case(rc->align, da, rc->len, rc->crc);
        if (!ok && bad++ < 5)
            fprintf(stderr, "  %s: copy src align %zu dst align %zu len %zu failed\n", impl,
                    rc->align, da, rc->len);
    }
    CHECK_EQ(bad, 0);
    /* Every pair of source and destination alignments, at lengths around
     * the edges of the word loop, the three-chain thresholds, the vector
     * threshold and block counts (1 to 4 blocks, the four-block loop) and
     * the super-block size (3 x 2048); the longest ones with fewer
     * destination alignments. */
    static const size_t grid_len[] = {
        0,   1,   3,   4,   5,   7,    8,    9,    23,   24,   25,   63,   64,   65,   95,
        96,  97,  127, 128, 129, 191,  192,  193,  255,  256,  257,  319,  320,  321,  511,
        512, 513, 575, 576, 577, 1023, 1024, 1025, 1500, 6143, 6144, 6145, 6168, 6191, 12288 + 17};
    for (size_t sa = 0; sa < MAX_ALIGN; sa++)
        for (size_t i = 0; i < sizeof grid_len / sizeof grid_len[0]; i++) {
            size_t n = grid_len[i];
            uint32_t want = n <= SMALL_MAX ? small_ref[sa][n] : jet_crc32c_bitwise(0, data + sa, n);
            size_t step = n > 2048 ? 7 : 1;
            for (size_t da = sa % step; da < MAX_ALIGN; da += step)
                if (!copy_case(sa, da, n, want) && bad++ < 5)
                    fprintf(stderr, "  %s: copy src align %zu dst align %zu len %zu failed\n", impl,
                            sa, da, n);
        }
    CHECK_EQ(bad, 0);
    /* NULL pointers are allowed with length 0. */
    CHECK_EQ(jet_crc32c_copy(0x12345678, NULL, NULL, 0), 0x12345678);
    CHECK_EQ(jet_crc32c(0x12345678, NULL, 0), 0x12345678);
}

/* Buffers right against inaccessible pages, before and after: no read or
 * write may go past either end, even a masked one (a fault is a crash). */
static void test_page_edges(const char *impl)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    enum { PAGES = 4 }; /* none, data, data, none */
    uint8_t *a = mmap(NULL, PAGES * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t *b = mmap(NULL, PAGES * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(a != MAP_FAILED && b != MAP_FAILED);
    REQUIRE(mprotect(a, pg, PROT_NONE) == 0 && mprotect(a + (PAGES - 1) * pg, pg, PROT_NONE) == 0);
    REQUIRE(mprotect(b, pg, PROT_NONE) == 0 && mprotect(b + (PAGES - 1) * pg, pg, PROT_NONE) == 0);
    uint8_t *lo = a + pg, *hi = a + (PAGES - 1) * pg; /* first, one past the last usable byte */
    uint8_t *dlo = b + pg, *dhi = b + (PAGES - 1) * pg;
    static const size_t lens[] = {1,   4,   5,   63,  64,   65,   100,  191,  192,  200, 255,
                                  256, 257, 300, 513, 1000, 1500, 4095, 4096, 4097, 8000};
    int bad = 0;
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t n = lens[i];
        if (n > (size_t)(hi - lo))
            continue;
        uint32_t want = jet_crc32c_bitwise(0, data, n);
        /* Source at the start or at the end of the usable pages, destination
         * at either end too, at a few offsets from a cache line. */
        const uint8_t *srcs[2] = {lo, hi - n};
        for (int e = 0; e < 2; e++) {
            memcpy((uint8_t *)srcs[e], data, n);
            static const size_t shift[] = {0, 1, 13, 60, 63};
            for (size_t j = 0; j < sizeof shift / sizeof shift[0]; j++) {
                size_t sh = shift[j];
                if (jet_crc32c(0, srcs[e], n) != want && bad++ < 5)
                    fprintf(stderr, "  %s: page edge %s len %zu: wrong crc\n", impl,
                            e ? "end" : "start", n);
                uint8_t *dsts[2] = {dlo + sh, dhi - n - sh};
                if (dsts[1] < dlo)
                    continue;
                for (int f = 0; f < 2; f++) {
                    memset(dlo, 0xA5, (size_t)(dhi - dlo));
                    uint32_t got = jet_crc32c_copy(0, dsts[f], srcs[e], n);
                    int ok = got == want && memcmp(dsts[f], data, n) == 0;
                    for (uint8_t *q = dlo; q < dhi; q++)
                        ok &= (q >= dsts[f] && q < dsts[f] + n) || *q == 0xA5;
                    if (!ok && bad++ < 5)
                        fprintf(stderr, "  %s: page edge copy src %s dst %s+%zu len %zu failed\n",
                                impl, e ? "end" : "start", f ? "end" : "start", sh, n);
                }
            }
        }
    }
    CHECK_EQ(bad, 0);
    munmap(a, PAGES * pg);
    munmap(b, PAGES * pg);
}

static void test_bitwise(void)
{
    for (size_t i = 0; i < NVECTORS; i++)
        CHECK_EQ(jet_crc32c_bitwise(0, vectors[i].data, vectors[i].len), vectors[i].crc);
}

static void test_select_api(void)
{
    const char *const *names = jet_crc32c_impls();
    REQUIRE(names && names[0]);
    int has_portable = 0;
    for (size_t i = 0; names[i]; i++)
        has_portable |= strcmp(names[i], "portable") == 0;
    CHECK(has_portable);
    /* Every implementation built for this architecture is listed, and
     * select() agrees with the CPU about which ones run here. */
#if defined(__x86_64__)
    __builtin_cpu_init();
    bool sse42 = __builtin_cpu_supports("sse4.2"),
         clmul = sse42 && __builtin_cpu_supports("pclmul");
    bool avx512 = clmul && __builtin_cpu_supports("avx512f") &&
                  __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("vpclmulqdq");
    static const char *const x86_names[] = {"avx512-vpclmul", "sse42-3way", "sse42-1way"};
    const bool x86_ok[] = {avx512, clmul, sse42};
    for (size_t k = 0; k < sizeof x86_names / sizeof x86_names[0]; k++) {
        int listed = 0;
        for (size_t i = 0; names[i]; i++)
            listed |= strcmp(names[i], x86_names[k]) == 0;
        CHECK(listed);
        int r = jet_crc32c_select(x86_names[k]);
        if (r != (x86_ok[k] ? 0 : -ENOTSUP))
            fprintf(stderr, "  select(%s) = %d, this CPU %s it\n", x86_names[k], r,
                    x86_ok[k] ? "runs" : "does not run");
        CHECK_EQ(r, x86_ok[k] ? 0 : -ENOTSUP);
    }
#endif
    CHECK_EQ(jet_crc32c_select("no-such-impl"), -ENOENT);
    CHECK_EQ(jet_crc32c_select(NULL), -ENOENT);
    CHECK_EQ(jet_crc32c_select("portable"), 0);
    CHECK(strcmp(jet_crc32c_impl(), "portable") == 0);
    CHECK_EQ(jet_crc32c_select("auto"), 0);
    /* "auto" is the first listed implementation this CPU supports. */
    const char *dflt = jet_crc32c_impl();
    for (size_t i = 0; names[i]; i++) {
        int r = jet_crc32c_select(names[i]);
        CHECK(r == 0 || r == -ENOTSUP);
        if (r == 0) {
            CHECK(strcmp(dflt, names[i]) == 0);
            break;
        }
    }
    CHECK_EQ(jet_crc32c_select("auto"), 0);
    CHECK(strcmp(jet_crc32c_impl(), dflt) == 0);
}

int main(void)
{
    /* The very first call goes through the lazy initialisation. */
    CHECK_EQ(jet_crc32c(0, "123456789", 9), 0xE3069283);
    CHECK(strcmp(jet_crc32c_impl(), "auto") != 0);
    vectors_init();
    test_bitwise();
    test_select_api();
    refs_init();
    const char *const *names = jet_crc32c_impls();
    for (size_t i = 0; names[i]; i++) {
        int r = jet_crc32c_select(names[i]);
        if (r == -ENOTSUP) {
            fprintf(stderr, "test_crc32c: %s not supported on this CPU, skipped\n", names[i]);
            continue;
        }
        REQUIRE(r == 0);
        REQUIRE(strcmp(jet_crc32c_impl(), names[i]) == 0);
        int before = check_failures;
        test_vectors(names[i]);
        test_small(names[i]);
        test_random(names[i]);
        test_chaining(names[i]);
        test_copy(names[i]);
        test_page_edges(names[i]);
        fprintf(stderr, "test_crc32c: %-12s %s\n", names[i],
                check_failures == before ? "ok" : "FAILED");
    }
    CHECK_EQ(jet_crc32c_select("auto"), 0);
    free(data);
    return check_done("test_crc32c");
}
