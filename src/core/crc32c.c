/* CRC32C: bitwise reference, portable slicing-by-8, x86 SSE4.2 paths (one
 * chain, or three interleaved chains joined with PCLMULQDQ) and an AVX-512
 * path folding whole cache lines with VPCLMULQDQ, plus the fused
 * copy-and-CRC of each, behind one dispatch pointer.
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

/* a^n mod P, by repeated squaring. */
static uint32_t gf_pow(uint32_t a, uint64_t n)
{
    uint32_t r = X0;
    for (; n; n >>= 1) {
        if (n & 1)
            r = gf_mul(r, a);
        a = gf_mul(a, a);
    }
    return r;
}

/* x^n mod P for any n, negative too: x is invertible modulo P (P has a
 * constant term), and x^-1 = (P - 1) / x, which in the reflected form is P
 * without its x^0 bit, shifted one degree down, plus the x^31 term. */
static uint32_t gf_xpow_signed(int64_t n)
{
    if (n >= 0)
        return gf_xpow((uint64_t)n);
    return gf_pow((uint32_t)(POLY << 1) | 1u, (uint64_t)-n);
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
    /* Software prefetch distance in the three-chain CRC loop (bytes per
     * chain).  On data just written by another core it takes 64 KB from
     * ~9.5 to ~12 GB/s and 9 KB from ~8.4 to ~8.7-9 GB/s (AVX-512 Xeon VM,
     * medians of interleaved runs of bench_crc); in cache it costs nothing
     * measurable, issued once per line outside the word loop.  The copy
     * loop has none: there the same prefetch gained 5-12% on remote data
     * but cost 6-15% in cache (a sender copies its own, cached payload), and
     * prefetching its destination as well cost more still. */
    PREFETCH_AHEAD = 512,
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

/* Folding with wide carry-less multiplies (the VPCLMULQDQ path below).
 *
 * A 16-byte chunk loaded little-endian into a 128-bit lane stands for the
 * polynomial whose x^127 term is bit 0 of its first byte: its low 64-bit
 * half H is the high-degree part, X = H * x^64 + L.  Moving X forward by D
 * bits (to line it up with data D bits further on) means X * x^D =
 * H * x^(64+D) + L * x^D mod P.  One carry-less multiply of a reflected
 * 64-bit value by a 32-bit constant k held in the low half of the other
 * operand gives x * v * k * x^32 as a reflected 128-bit value (the same
 * extra x as above), so
 *     X * x^D  ==  clmul(H, x^(D+31)) ^ clmul(L, x^(D-33))   (mod P)
 * is a 128-bit value again, congruent to the shifted one; the data it lines
 * up with is simply xored in.  The CRC of the whole message is then the
 * last 128-bit remainder R times x^32 mod P, i.e. two crc32 instructions over
 * R's two halves starting from 0.  The exponents may be negative (x is
 * invertible mod P): x^(-8k) undoes k bytes of zero padding.
 *
 * The vector loop works on 64-byte blocks at 64-byte aligned addresses: the
 * first and last block are loaded with a byte mask (zeros in front of a
 * message change nothing; k zeros after it multiply its CRC by x^(8k), so
 * the last block's four lanes are each moved by their distance to the end
 * of the block minus those 8k bits).  Each table below holds
 * {x^(D+31), x^(D-33)} for one distance D, as the two 64-bit halves of a
 * lane: the low one multiplies H, the high one L. */
enum { VBLK = 64 }; /* bytes per vector block: 4 lanes of 16 */

static uint64_t vk_blk[4][2]; /* D = 512 * (i + 1): one to four blocks */
/* D = 128 * (3 - i) - 8 * k: lane i to the end of a block holding k bytes
 * of padding, as one 64-byte vector per k (4 KB in all). */
static uint64_t vk_last[VBLK][4][2] __attribute__((aligned(64)));

static void vfold_pair(uint64_t k[2], int64_t d)
{
    k[0] = gf_xpow_signed(d + 31);
    k[1] = gf_xpow_signed(d - 33);
}

static void vfold_init(void)
{
    uint32_t xinv8 = gf_xpow_signed(-8); /* one byte of padding less */
    for (int i = 0; i < 4; i++) {
        vfold_pair(vk_blk[i], 512 * (i + 1));
        vfold_pair(vk_last[0][i], 128 * (3 - i));
        for (int k = 1; k < VBLK; k++)
            for (int h = 0; h < 2; h++)
                vk_last[k][i][h] = gf_mul((uint32_t)vk_last[k - 1][i][h], xinv8);
    }
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

/* Asks for the line at q (for reading) unless q is at or past end.  The
 * bytes after a buffer may be another core's work in progress (the next
 * frame of a ring): pulling them over would only slow it down. */
#define PREFETCH_BELOW(q, end)                                                                     \
    do {                                                                                           \
        if ((uintptr_t)(q) < (uintptr_t)(end))                                                     \
            __builtin_prefetch((q));                                                               \
    } while (0)

/* CRC of the 3 * b bytes at p chained on c; b is a multiple of 8, >= 8.
 * Prefetches stay below end, the end of the whole buffer. */
TARGET_CLMUL static inline uint32_t block3(uint32_t c, const uint8_t *p, size_t b,
                                           const uint8_t *end)
{
    const uint8_t *p1 = p + b, *p2 = p + 2 * b;
    uint64_t c0 = c, c1 = 0, c2 = 0;
    size_t i = 0;
    /* A line per chain at a time, each asked for early: data often comes
     * from another core's cache. */
    for (; i + 64 <= b - 8; i += 64) {
        PREFETCH_BELOW(p + i + PREFETCH_AHEAD, end);
        PREFETCH_BELOW(p1 + i + PREFETCH_AHEAD, end);
        PREFETCH_BELOW(p2 + i + PREFETCH_AHEAD, end);
#pragma GCC unroll 8
        for (size_t k = i; k < i + 64; k += 8) {
            c0 = _mm_crc32_u64(c0, ld64(p + k));
            c1 = _mm_crc32_u64(c1, ld64(p1 + k));
            c2 = _mm_crc32_u64(c2, ld64(p2 + k));
        }
    }
    for (; i < b - 8; i += 8) {
        c0 = _mm_crc32_u64(c0, ld64(p + i));
        c1 = _mm_crc32_u64(c1, ld64(p1 + i));
        c2 = _mm_crc32_u64(c2, ld64(p2 + i));
    }
    /* The last word of A and B; that of C goes into the join. */
    c0 = _mm_crc32_u64(c0, ld64(p + b - 8));
    c1 = _mm_crc32_u64(c1, ld64(p1 + b - 8));
    return join3(c0, fold_k[b / 4], c1, fold_k[b / 8], c2, ld64(p2 + b - 8));
}

/* No prefetch here: see PREFETCH_AHEAD. */
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
    const uint8_t *end = p + n;
    /* Align the loads: all three chains are then aligned, b being a multiple of 8. */
    size_t head = (size_t)(-(uintptr_t)p & 7);
    c = hw_tail(c, p, head);
    p += head;
    n -= head;
    for (; n >= 3 * BLK_MAX; p += 3 * BLK_MAX, n -= 3 * BLK_MAX)
        c = block3(c, p, BLK_MAX, end);
    if (n >= 24) {
        size_t b = n / 24 * 8;
        c = block3(c, p, b, end);
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

/* ------------------------------------------------------------------ */
/* AVX-512 + VPCLMULQDQ: folding 64-byte blocks (see vfold_init above).
 *
 * The crc32 loop above loads 8 bytes per cycle at best, which is far below
 * what a core can pull from another core's cache; here every load is a whole
 * aligned cache line, four accumulators (256 bytes) are folded per iteration,
 * and each fold costs two carry-less multiplies and one three-way xor per 64
 * bytes.  The first and last blocks are masked loads (and masked stores for
 * the copy), so nothing outside the buffers is touched.  The initial CRC is
 * xored into the first four message bytes, which may straddle two blocks.
 *
 * Software prefetch was tried here too (prefetcht1, 2 KB ahead, kept inside
 * the buffer): +8% on 64 KB of data just written by another core, nothing
 * at 9 KB, but -6% (9 KB) and -17% (64 KB) in cache.  Left out: the
 * out-of-order window already keeps as many line fills in flight as memcpy
 * does, and both run at about the same speed on remote data. */

#define TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,vpclmulqdq,pclmul,sse4.2")))

/* Below this size the crc32 code is used (sse42-3way / sse42-1way).  From
 * 128 bytes up the vector code has the better throughput of back-to-back
 * calls (160 B: 5.2 vs 6.9 ns, 192 B: 5.5 vs 8.3 ns), but its latency
 * (9-12 ns for one to four blocks) only catches up with the three crc32
 * chains' at about 192-224 bytes.  Any value >= 4 is correct; the unit test
 * is also run with it at 4. */
#ifndef CRC32C_AVX512_MIN
#define CRC32C_AVX512_MIN 192
#endif
enum { AVX512_MIN = CRC32C_AVX512_MIN };

/* libgcc reports the AVX-512 features only if the OS saves the zmm and
 * mask registers (XCR0), and VPCLMULQDQ only if it saves the ymm ones. */
static bool cpu_avx512_vpclmul(void)
{
    return cpu_sse42_clmul() && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("vpclmulqdq");
}

TARGET_AVX512 static inline __m512i vk_load(const uint64_t k[2])
{
    return _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)k));
}

/* x moved forward by the distance of k, xored with y. */
TARGET_AVX512 static inline __m512i vfold(__m512i x, __m512i k, __m512i y)
{
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00),
                                     _mm512_clmulepi64_epi128(x, k, 0x11), y, 0x96);
}

/* The 64-byte vector with the CRC register c at bytes off..off+3 of a
 * 128-byte window (lo: first block, hi: second), zeros elsewhere. */
TARGET_AVX512 static inline void vcrc_inject(uint32_t c, size_t off, __m512i *lo, __m512i *hi)
{
    unsigned r = 8 * (unsigned)(off & 3);
    __m512i v = _mm512_set1_epi32((int)((c << r) | (c >> ((32 - r) & 31))));
    *lo = _mm512_maskz_mov_epi8((__mmask64)(0xFull << off), v);
    *hi = _mm512_maskz_mov_epi8(off > VBLK - 4 ? (__mmask64)(0xFull >> (VBLK - off)) : 0, v);
}

/* Raw CRC of the block-folded message: x is the last block's remainder,
 * pad the number of zero bytes after the message in it. */
TARGET_AVX512 static inline uint32_t vfinish(__m512i x, size_t pad)
{
    __m512i k = _mm512_load_si512((const void *)vk_last[pad]);
    x = _mm512_xor_si512(_mm512_clmulepi64_epi128(x, k, 0x00),
                         _mm512_clmulepi64_epi128(x, k, 0x11));
    __m256i y = _mm256_xor_si256(_mm512_castsi512_si256(x), _mm512_extracti64x4_epi64(x, 1));
    __m128i r = _mm_xor_si128(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
    uint64_t c = _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(r));
    return (uint32_t)_mm_crc32_u64(c, (uint64_t)_mm_extract_epi64(r, 1));
}

TARGET_AVX512 static inline __m512i vld(uintptr_t a)
{
    return _mm512_loadu_si512((const void *)a);
}

TARGET_AVX512 static uint32_t avx512_vpclmul(uint32_t c, const uint8_t *p, size_t n)
{
    if (n < AVX512_MIN) /* straight to the routine sse42_3way would pick */
        return n < THREEWAY_MIN ? sse42_1way(c, p, n) : sse42_3way(c, p, n);
    size_t off = (uintptr_t)p & (VBLK - 1);
    uintptr_t b = (uintptr_t)p - off; /* block 0, aligned */
    size_t nblk = (off + n + VBLK - 1) / VBLK, last = nblk - 1;
    size_t pad = nblk * VBLK - off - n;
    __mmask64 m0 = ~0ull << off, ml = ~0ull >> pad;
    __m512i c0, c1;
    vcrc_inject(c, off, &c0, &c1);
    if (nblk == 1) /* then off <= 60: c1 is 0 */
        return vfinish(_mm512_xor_si512(_mm512_maskz_loadu_epi8(m0 & ml, (const void *)b), c0),
                       pad);
    __m512i x0 = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m0, (const void *)b), c0);
    __m512i k1 = vk_load(vk_blk[0]), xl = _mm512_setzero_si512(); /* xl: for the last block */
    size_t i;
    if (nblk > 4) { /* blocks 0..3 are whole but for block 0's head */
        __m512i x1 = _mm512_xor_si512(vld(b + VBLK), c1);
        __m512i x2 = vld(b + 2 * VBLK), x3 = vld(b + 3 * VBLK);
        __m512i k4 = vk_load(vk_blk[3]);
        for (i = 4; i + 4 <= last; i += 4) {
            uintptr_t a = b + i * VBLK;
            x0 = vfold(x0, k4, vld(a));
            x1 = vfold(x1, k4, vld(a + VBLK));
            x2 = vfold(x2, k4, vld(a + 2 * VBLK));
            x3 = vfold(x3, k4, vld(a + 3 * VBLK));
        }
        x0 = vfold(x0, vk_load(vk_blk[2]), vfold(x1, vk_load(vk_blk[1]), vfold(x2, k1, x3)));
    } else if (last > 1) {
        x0 = vfold(x0, k1, _mm512_xor_si512(vld(b + VBLK), c1));
        i = 2;
    } else {
        xl = c1;
        i = 1;
    }
    for (; i < last; i++)
        x0 = vfold(x0, k1, vld(b + i * VBLK));
    __m512i v = _mm512_maskz_loadu_epi8(ml, (const void *)(b + last * VBLK));
    return vfinish(vfold(x0, k1, _mm512_xor_si512(v, xl)), pad);
}

TARGET_AVX512 static uint32_t avx512_vpclmul_copy(uint32_t c, uint8_t *d, const uint8_t *s,
                                                  size_t n)
{
    if (n < AVX512_MIN)
        return n < THREEWAY_MIN ? sse42_1way_copy(c, d, s, n) : sse42_3way_copy(c, d, s, n);
    /* Blocks follow the destination's alignment: whole aligned stores. */
    size_t off = (uintptr_t)d & (VBLK - 1);
    uintptr_t db = (uintptr_t)d - off, sb = (uintptr_t)s - off;
    size_t nblk = (off + n + VBLK - 1) / VBLK, last = nblk - 1;
    size_t pad = nblk * VBLK - off - n;
    __mmask64 m0 = ~0ull << off, ml = ~0ull >> pad;
    __m512i c0, c1, v0;
    vcrc_inject(c, off, &c0, &c1);
    if (nblk == 1) {
        v0 = _mm512_maskz_loadu_epi8(m0 & ml, (const void *)sb);
        _mm512_mask_storeu_epi8((void *)db, m0 & ml, v0);
        return vfinish(_mm512_xor_si512(v0, c0), pad);
    }
    v0 = _mm512_maskz_loadu_epi8(m0, (const void *)sb);
    _mm512_mask_storeu_epi8((void *)db, m0, v0);
    __m512i x0 = _mm512_xor_si512(v0, c0);
    __m512i k1 = vk_load(vk_blk[0]), xl = _mm512_setzero_si512();
    size_t i;
    if (nblk > 4) {
        __m512i v1 = vld(sb + VBLK), v2 = vld(sb + 2 * VBLK), v3 = vld(sb + 3 * VBLK);
        _mm512_store_si512((void *)(db + VBLK), v1);
        _mm512_store_si512((void *)(db + 2 * VBLK), v2);
        _mm512_store_si512((void *)(db + 3 * VBLK), v3);
        __m512i x1 = _mm512_xor_si512(v1, c1), x2 = v2, x3 = v3;
        __m512i k4 = vk_load(vk_blk[3]);
        for (i = 4; i + 4 <= last; i += 4) {
            uintptr_t sa = sb + i * VBLK, da = db + i * VBLK;
            v0 = vld(sa);
            v1 = vld(sa + VBLK);
            v2 = vld(sa + 2 * VBLK);
            v3 = vld(sa + 3 * VBLK);
            _mm512_store_si512((void *)da, v0);
            _mm512_store_si512((void *)(da + VBLK), v1);
            _mm512_store_si512((void *)(da + 2 * VBLK), v2);
            _mm512_store_si512((void *)(da + 3 * VBLK), v3);
            x0 = vfold(x0, k4, v0);
            x1 = vfold(x1, k4, v1);
            x2 = vfold(x2, k4, v2);
            x3 = vfold(x3, k4, v3);
        }
        x0 = vfold(x0, vk_load(vk_blk[2]), vfold(x1, vk_load(vk_blk[1]), vfold(x2, k1, x3)));
    } else if (last > 1) {
        v0 = vld(sb + VBLK);
        _mm512_store_si512((void *)(db + VBLK), v0);
        x0 = vfold(x0, k1, _mm512_xor_si512(v0, c1));
        i = 2;
    } else {
        xl = c1;
        i = 1;
    }
    for (; i < last; i++) {
        v0 = vld(sb + i * VBLK);
        _mm512_store_si512((void *)(db + i * VBLK), v0);
        x0 = vfold(x0, k1, v0);
    }
    v0 = _mm512_maskz_loadu_epi8(ml, (const void *)(sb + last * VBLK));
    _mm512_mask_storeu_epi8((void *)(db + last * VBLK), ml, v0);
    return vfinish(vfold(x0, k1, _mm512_xor_si512(v0, xl)), pad);
}

#endif /* HAVE_X86 */

/* ------------------------------------------------------------------ */
/* Dispatch. */

struct impl {
    const char *name;
    crc_fn crc;
    copy_fn copy;
    bool (*supported)(void); /* NULL: runs anywhere */
    crc_fn small_crc;        /* what crc runs below SMALL bytes, called directly */
    copy_fn small_copy;
};

/* Below this, jet_crc32c goes straight to the implementation's small-size
 * routine: frame headers (20 bytes) and small payloads skip the nested
 * size dispatch of the wide implementations. */
enum { SMALL = 128 };

/* Fastest first: the default is the first entry this CPU supports. */
static const struct impl impls[] = {
#if HAVE_X86
    {"avx512-vpclmul", avx512_vpclmul, avx512_vpclmul_copy, cpu_avx512_vpclmul, sse42_1way,
     sse42_1way_copy},
    {"sse42-3way", sse42_3way, sse42_3way_copy, cpu_sse42_clmul, sse42_1way, sse42_1way_copy},
    {"sse42-1way", sse42_1way, sse42_1way_copy, cpu_sse42, sse42_1way, sse42_1way_copy},
#endif
    {"portable", portable_crc, portable_copy, NULL, portable_crc, portable_copy},
};

enum { NIMPLS = sizeof impls / sizeof impls[0] };

/* Filled from impls by init_once. */
static const char *impl_names[NIMPLS + 1];

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const struct impl *best; /* set by init_once, then read-only */

static uint32_t first_crc(uint32_t c, const uint8_t *p, size_t n);
static uint32_t first_copy(uint32_t c, uint8_t *d, const uint8_t *s, size_t n);

/* Stand-in until init has run: its routines run init, then forward. */
static const struct impl first = {"auto", first_crc, first_copy, NULL, first_crc, first_copy};

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
    vfold_init();
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
    const struct impl *im = __atomic_load_n(&current, __ATOMIC_ACQUIRE);
    return ~(len < SMALL ? im->small_crc : im->crc)(~crc, buf, len);
}

uint32_t jet_crc32c_copy(uint32_t crc, void *dst, const void *src, size_t len)
{
    const struct impl *im = __atomic_load_n(&current, __ATOMIC_ACQUIRE);
    return ~(len < SMALL ? im->small_copy : im->copy)(~crc, dst, src, len);
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
