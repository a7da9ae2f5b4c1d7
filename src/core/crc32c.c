/* CRC32C: bitwise reference, portable slicing-by-8, and x86 SSE4.2 paths
 * (one chain, or three interleaved chains joined with PCLMULQDQ), plus the
 * fused copy-and-CRC of each, behind one dispatch pointer.
 *
 * Order of events: `current` starts out pointing at a stand-in whose
 * routines run init_once() (through pthread_once) and then forward.  Init
 * builds the slicing tables and the folding constants, then publishes the
 * default implementation in `current`.  So jet_crc32c() is always one
 * acquire load (a plain load on x86) and an indirect call, with no branch.
 * jet_crc32c_select() runs init, then stores another pointer into `current`.
 *
 * Every internal routine works on the raw CRC register (no inversion): the
 * public wrappers apply the ~ on the way in and out, so the routines compose
 * freely and chaining is exact.
 *
 * Bit convention used throughout (the "reflected" form): a 32-bit register
 * value c stands for the polynomial sum of c_i * x^(31-i), so bit 31 is x^0
 * and bit 0 is x^31; the first byte of a message is its highest-degree part,
 * least significant bit first.  With this convention the raw CRC of message
 * M is M(x) * x^32 mod P, which is what the x86 crc32 instruction computes. */
#include "jet/crc32c.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define HAVE_X86 1
#else
#define HAVE_X86 0
#endif

enum {
    POLY = 0x82F63B78u, /* Castagnoli, reflected, x^32 term implied */
    X0 = 0x80000000u,   /* the polynomial 1 in the reflected form */
};

/* A raw-register CRC routine and its fused copying twin. */
typedef uint32_t (*crc_fn)(uint32_t c, const uint8_t *p, size_t n);
typedef uint32_t (*copy_fn)(uint32_t c, uint8_t *d, const uint8_t *s, size_t n);

/* ------------------------------------------------------------------ */
/* Unaligned little-endian loads and plain stores.  memcpy keeps them free of
 * alignment and aliasing trouble; compilers turn each into a single move. */

static inline uint64_t ld64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline void st64(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(p, &v, 8);
}

/* ------------------------------------------------------------------ */
/* Bitwise reference: shift one bit at a time, straight from the definition. */

static uint32_t bitwise_update(uint32_t c, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (POLY & (0u - (c & 1)));
    }
    return c;
}

uint32_t jet_crc32c_bitwise(uint32_t crc, const void *buf, size_t len)
{
    return ~bitwise_update(~crc, buf, len);
}

/* ------------------------------------------------------------------ */
/* Arithmetic on polynomials modulo P, in the reflected form.  Used once, at
 * init, to compute the constants that shift a CRC over a run of bytes. */

/* a(x) * b(x) mod P.  Walks the terms of a from x^0 (bit 31) upwards while b
 * is multiplied by x at each step (a right shift, folding x^32 back as P). */
static uint32_t gf_mul(uint32_t a, uint32_t b)
{
    uint32_t r = 0;
    for (int i = 0; i < 32; i++) {
        if (a & (X0 >> i))
            r ^= b;
        b = (b >> 1) ^ (POLY & (0u - (b & 1)));
    }
    return r;
}

/* x^n mod P, by repeated squaring. */
static uint32_t gf_xpow(uint64_t n)
{
    uint32_t r = X0, sq = X0 >> 1; /* 1, and x */
    for (; n; n >>= 1) {
        if (n & 1)
            r = gf_mul(r, sq);
        sq = gf_mul(sq, sq);
    }
    return r;
}

/* ------------------------------------------------------------------ */
/* Portable: slicing-by-8.  slice[k][v] is the raw CRC register after byte v
 * followed by k zero bytes, starting from 0; eight lookups fold 8 bytes. */

static uint32_t slice[8][256];

static void slice_init(void)
{
    for (uint32_t v = 0; v < 256; v++) {
        uint8_t b = (uint8_t)v;
        slice[0][v] = bitwise_update(0, &b, 1);
    }
    for (int k = 1; k < 8; k++)
        for (int v = 0; v < 256; v++) {
            uint32_t prev = slice[k - 1][v];
            slice[k][v] = (prev >> 8) ^ slice[0][prev & 0xff];
        }
}

/* Folds the 8 message bytes held little-endian in w into c. */
static inline uint32_t slice_step(uint32_t c, uint64_t w)
{
    uint32_t lo = c ^ (uint32_t)w, hi = (uint32_t)(w >> 32);
    return slice[7][lo & 0xff] ^ slice[6][(lo >> 8) & 0xff] ^ slice[5][(lo >> 16) & 0xff] ^
           slice[4][lo >> 24] ^ slice[3][hi & 0xff] ^ slice[2][(hi >> 8) & 0xff] ^
           slice[1][(hi >> 16) & 0xff] ^ slice[0][hi >> 24];
}

static inline uint32_t slice_byte(uint32_t c, uint8_t b)
{
    return (c >> 8) ^ slice[0][(c ^ b) & 0xff];
}

static uint32_t portable_crc(uint32_t c, const uint8_t *p, size_t n)
{
    for (; n >= 8; p += 8, n -= 8)
        c = slice_step(c, ld64(p));
    for (; n; p++, n--)
        c = slice_byte(c, *p);
    return c;
}

static uint32_t portable_copy(uint32_t c, uint8_t *d, const uint8_t *s, size_t n)
{
    for (; n >= 8; s += 8, d += 8, n -= 8) {
        uint64_t w = ld64(s);
        st64(d, w);
        c = slice_step(c, w);
    }
    for (; n; s++, d++, n--) {
        *d = *s;
        c = slice_byte(c, *d);
    }
    return c;
}

/* ------------------------------------------------------------------ */
/* x86-64: the SSE4.2 crc32 instruction (latency 3 cycles, one per cycle).
 *
 * One chain is bound by the latency: 8 bytes per 3 cycles.  Three chains
 * over three adjacent blocks A, B, C of b bytes each fill the pipeline; the
 * block results are then joined by the identity
 *     crc(c, A||B||C) = crc(c, A) * x^(16b) + crc(0, B) * x^(8b) + crc(0, C)
 * (all mod P).  A multiplication by x^(8m) is done with one carry-less
 * multiply by the constant K(m) = x^(8m - 33) mod P: the 63-bit product of
 * two reflected 32-bit values, read as a reflected 64-bit word, is x * a * K,
 * and the crc32 instruction applied to a 64-bit word w computes w * x^32
 * mod P, which brings the total to a * x^(8m).  That last crc32 is shared
 * with the final 8 bytes of block C: they are xored with both products and
 * go through one crc32 together, so the join costs two multiplies, two xors
 * and no extra instruction on the chain.
 *
 * Large buffers run in super-blocks of 3 * BLK_MAX bytes; the rest (if at
 * least 24 bytes) in one super-block of 3 * b with b = rest / 24 * 8, so all
 * but fewer than 24 bytes take the three-chain path.  fold_k[i] holds
 * K(8i) = x^(64i - 33) for every b up to 2 * BLK_MAX, i.e. 2 KB of table.
 * The table is plain arithmetic, kept outside the x86 section so that any
 * carry-less-multiply backend can share it. */

enum {
    BLK_MAX = 2048, /* bytes per chain in a full super-block */
    /* Below this size one chain is used.  Back-to-back calls on small
     * buffers overlap in the out-of-order window, which hides the latency of
     * one chain, so there one chain gives the best throughput up to ~200
     * bytes; three chains cut the latency of a single call by a third at
     * 128 bytes and by half at 200.  128 trades ~10-15% of the former for the
     * latter.  (Measured on an AVX-512 Xeon; BLK_MAX from 1 to 8 KB made no
     * difference there.) */
    THREEWAY_MIN = 128,
};

static uint32_t fold_k[2 * BLK_MAX / 8 + 1];

static void fold_init(void)
{
    uint32_t x64 = gf_xpow(64);
    fold_k[0] = 0; /* unused: a block is at least 8 bytes */
    fold_k[1] = gf_xpow(31);
    for (size_t i = 2; i < sizeof fold_k / sizeof fold_k[0]; i++)
        fold_k[i] = gf_mul(fold_k[i - 1], x64);
}

#if HAVE_X86

#define TARGET_SSE42 __attribute__((target("sse4.2")))
#define TARGET_CLMUL __attribute__((target("sse4.2,pclmul")))

static bool cpu_sse42(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2");
}

static bool cpu_sse42_clmul(void)
{
    return cpu_sse42() && __builtin_cpu_supports("pclmul");
}

/* Fewer than 8 bytes, one chain. */
TARGET_SSE42 static inline uint32_t hw_tail(uint32_t c, const uint8_t *p, size_t n)
{
    if (n & 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        c = _mm_crc32_u32(c, w);
        p += 4;
    }
    if (n & 2) {
        uint16_t w;
        memcpy(&w, p, 2);
        c = _mm_crc32_u16(c, w);
        p += 2;
    }
    if (n & 1)
        c = _mm_crc32_u8(c, *p);
    return c;
}

TARGET_SSE42 static inline uint32_t hw_tail_copy(uint32_t c, uint8_t *d, const uint8_t *s, size_t n)
{
    if (n & 4) {
        uint32_t w;
        memcpy(&w, s, 4);
        memcpy(d, &w, 4);
        c = _mm_crc32_u32(c, w);
        s += 4;
        d += 4;
    }
    if (n & 2) {
        uint16_t w;
        memcpy(&w, s, 2);
        memcpy(d, &w, 2);
        c = _mm_crc32_u16(c, w);
        s += 2;
        d += 2;
    }
    if (n & 1) {
        *d = *s;
        c = _mm_crc32_u8(c, *s);
    }
    return c;
}

TARGET_SSE42 static inline uint32_t hw_chain(uint32_t c, const uint8_t *p, size_t n)
{
    uint64_t c64 = c;
    for (; n >= 16; p += 16, n -= 16) {
        c64 = _mm_crc32_u64(c64, ld64(p));
        c64 = _mm_crc32_u64(c64, ld64(p + 8));
    }
    if (n & 8) {
        c64 = _mm_crc32_u64(c64, ld64(p));
        p += 8;
    }
    return hw_tail((uint32_t)c64, p, n & 7);
}

TARGET_SSE42 static inline uint32_t hw_chain_copy(uint32_t c, uint8_t *d, const uint8_t *s,
                                                  size_t n)
{
    uint64_t c64 = c;
    for (; n >= 16; s += 16, d += 16, n -= 16) {
        uint64_t w0 = ld64(s), w1 = ld64(s + 8);
        st64(d, w0);
        st64(d + 8, w1);
        c64 = _mm_crc32_u64(c64, w0);
        c64 = _mm_crc32_u64(c64, w1);
    }
    if (n & 8) {
        uint64_t w = ld64(s);
        st64(d, w);
        c64 = _mm_crc32_u64(c64, w);
        s += 8;
        d += 8;
    }
    return hw_tail_copy((uint32_t)c64, d, s, n & 7);
}

/* Also the small-size path of the three-chain versions (a tail call, so
 * both run the very same code there: not inlined on purpose). */
TARGET_SSE42 __attribute__((noinline)) static uint32_t sse42_1way(uint32_t c, const uint8_t *p,
                                                                  size_t n)
{
    return hw_chain(c, p, n);
}

TARGET_SSE42 __attribute__((noinline)) static uint32_t sse42_1way_copy(uint32_t c, uint8_t *d,
                                                                       const uint8_t *s, size_t n)
{
    return hw_chain_copy(c, d, s, n);
}

/* a * x^(8m) + b * x^(8k) + w * x^32, for ka = K(m) and kb = K(k); see above. */
TARGET_CLMUL static inline uint32_t join3(uint64_t a, uint32_t ka, uint64_t b, uint32_t kb,
                                          uint64_t c, uint64_t w)
{
    __m128i pa =
        _mm_clmulepi64_si128(_mm_cvtsi64_si128((long long)a), _mm_cvtsi32_si128((int)ka), 0x00);
    __m128i pb =
        _mm_clmulepi64_si128(_mm_cvtsi64_si128((long long)b), _mm_cvtsi32_si128((int)kb), 0x00);
    w ^= (uint64_t)_mm_cvtsi128_si64(_mm_xor_si128(pa, pb));
    return (uint32_t)_mm_crc32_u64(c, w);
}

/* CRC of the 3 * b bytes at p chained on c; b is a multiple of 8, >= 8. */
TARGET_CLMUL static inline uint32_t block3(uint32_t c, const uint8_t *p, size_t b)
{
    const uint8_t *p1 = p + b, *p2 = p + 2 * b;
    uint64_t c0 = c, c1 = 0, c2 = 0;
    for (size_t i = 0; i < b - 8; i += 8) {
        c0 = _mm_crc32_u64(c0, ld64(p + i));
        c1 = _mm_crc32_u64(c1, ld64(p1 + i));
        c2 = _mm_crc32_u64(c2, ld64(p2 + i));
    }
    /* The last word of A and B; that of C goes into the join. */
    c0 = _mm_crc32_u64(c0, ld64(p + b - 8));
    c1 = _mm_crc32_u64(c1, ld64(p1 + b - 8));
    return join3(c0, fold_k[b / 4], c1, fold_k[b / 8], c2, ld64(p2 + b - 8));
}

TARGET_CLMUL static inline uint32_t block3_copy(uint32_t c, uint8_t *d, const uint8_t *s, size_t b)
{
    const uint8_t *s1 = s + b, *s2 = s + 2 * b;
    uint8_t *d1 = d + b, *d2 = d + 2 * b;
    uint64_t c0 = c, c1 = 0, c2 = 0;
    for (size_t i = 0; i < b - 8; i += 8) {
        uint64_t w0 = ld64(s + i), w1 = ld64(s1 + i), w2 = ld64(s2 + i);
        st64(d + i, w0);
        st64(d1 + i, w1);
        st64(d2 + i, w2);
        c0 = _mm_crc32_u64(c0, w0);
        c1 = _mm_crc32_u64(c1, w1);
        c2 = _mm_crc32_u64(c2, w2);
    }
    uint64_t w0 = ld64(s + b - 8), w1 = ld64(s1 + b - 8), last = ld64(s2 + b - 8);
    st64(d + b - 8, w0);
    st64(d1 + b - 8, w1);
    st64(d2 + b - 8, last);
    c0 = _mm_crc32_u64(c0, w0);
    c1 = _mm_crc32_u64(c1, w1);
    return join3(c0, fold_k[b / 4], c1, fold_k[b / 8], c2, last);
}

TARGET_CLMUL static uint32_t sse42_3way(uint32_t c, const uint8_t *p, size_t n)
{
    if (n < THREEWAY_MIN)
        return sse42_1way(c, p, n);
    /* Align the loads: all three chains are then aligned, b being a multiple of 8. */
    size_t head = (size_t)(-(uintptr_t)p & 7);
    c = hw_tail(c, p, head);
    p += head;
    n -= head;
    for (; n >= 3 * BLK_MAX; p += 3 * BLK_MAX, n -= 3 * BLK_MAX)
        c = block3(c, p, BLK_MAX);
    if (n >= 24) {
        size_t b = n / 24 * 8;
        c = block3(c, p, b);
        p += 3 * b;
        n -= 3 * b;
    }
    return hw_chain(c, p, n);
}

TARGET_CLMUL static uint32_t sse42_3way_copy(uint32_t c, uint8_t *d, const uint8_t *s, size_t n)
{
    if (n < THREEWAY_MIN)
        return sse42_1way_copy(c, d, s, n);
    /* Align the stores (a split store costs more than a split load). */
    size_t head = (size_t)(-(uintptr_t)d & 7);
    c = hw_tail_copy(c, d, s, head);
    d += head;
    s += head;
    n -= head;
    for (; n >= 3 * BLK_MAX; d += 3 * BLK_MAX, s += 3 * BLK_MAX, n -= 3 * BLK_MAX)
        c = block3_copy(c, d, s, BLK_MAX);
    if (n >= 24) {
        size_t b = n / 24 * 8;
        c = block3_copy(c, d, s, b);
        d += 3 * b;
        s += 3 * b;
        n -= 3 * b;
    }
    return hw_chain_copy(c, d, s, n);
}

#endif /* HAVE_X86 */

/* ------------------------------------------------------------------ */
/* Dispatch. */

struct impl {
    const char *name;
    crc_fn crc;
    copy_fn copy;
    bool (*supported)(void); /* NULL: runs anywhere */
};

/* Fastest first: the default is the first entry this CPU supports. */
static const struct impl impls[] = {
#if HAVE_X86
    {"sse42-3way", sse42_3way, sse42_3way_copy, cpu_sse42_clmul},
    {"sse42-1way", sse42_1way, sse42_1way_copy, cpu_sse42},
#endif
    {"portable", portable_crc, portable_copy, NULL},
};

enum { NIMPLS = sizeof impls / sizeof impls[0] };

/* Filled from impls by init_once. */
static const char *impl_names[NIMPLS + 1];

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const struct impl *best; /* set by init_once, then read-only */

static uint32_t first_crc(uint32_t c, const uint8_t *p, size_t n);
static uint32_t first_copy(uint32_t c, uint8_t *d, const uint8_t *s, size_t n);

/* Stand-in until init has run: its routines run init, then forward. */
static const struct impl first = {"auto", first_crc, first_copy, NULL};

/* Always a valid implementation, so the hot path has no branch.  Accessed
 * atomically only: the acquire loads pair with the release stores, so a
 * thread that sees a pointer also sees the tables its routines read. */
static const struct impl *current = &first;

static bool impl_ok(const struct impl *im)
{
    return !im->supported || im->supported();
}

static void init_once(void)
{
    slice_init();
    fold_init();
    for (size_t i = 0; i < NIMPLS; i++)
        impl_names[i] = impls[i].name;
    best = &impls[NIMPLS - 1];
    for (size_t i = 0; i < NIMPLS; i++)
        if (impl_ok(&impls[i])) {
            best = &impls[i];
            break;
        }
    /* select() runs init before it stores, so this store comes first. */
    __atomic_store_n(&current, best, __ATOMIC_RELEASE);
}

static const struct impl *impl_init(void)
{
    pthread_once(&once, init_once);
    return __atomic_load_n(&current, __ATOMIC_ACQUIRE);
}

static uint32_t first_crc(uint32_t c, const uint8_t *p, size_t n)
{
    return impl_init()->crc(c, p, n);
}

static uint32_t first_copy(uint32_t c, uint8_t *d, const uint8_t *s, size_t n)
{
    return impl_init()->copy(c, d, s, n);
}

uint32_t jet_crc32c(uint32_t crc, const void *buf, size_t len)
{
    return ~__atomic_load_n(&current, __ATOMIC_ACQUIRE)->crc(~crc, buf, len);
}

uint32_t jet_crc32c_copy(uint32_t crc, void *dst, const void *src, size_t len)
{
    return ~__atomic_load_n(&current, __ATOMIC_ACQUIRE)->copy(~crc, dst, src, len);
}

const char *jet_crc32c_impl(void)
{
    return impl_init()->name;
}

const char *const *jet_crc32c_impls(void)
{
    pthread_once(&once, init_once);
    return impl_names;
}

int jet_crc32c_select(const char *name)
{
    if (!name)
        return -ENOENT;
    pthread_once(&once, init_once);
    const struct impl *im = NULL;
    if (strcmp(name, "auto") == 0) {
        im = best;
    } else {
        for (size_t i = 0; i < NIMPLS && !im; i++)
            if (strcmp(name, impls[i].name) == 0)
                im = &impls[i];
        if (!im)
            return -ENOENT;
        if (!impl_ok(im))
            return -ENOTSUP;
    }
    __atomic_store_n(&current, im, __ATOMIC_RELEASE);
    return 0;
}
