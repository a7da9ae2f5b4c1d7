/* The Internet checksum (RFC 1071), as partial sums that chain.
 *
 * The ones'-complement sum does not depend on byte order (RFC 1071 2(B)):
 * the bytes are added as native-order words, eight at a time into a 64-bit
 * accumulator that cannot overflow for any length this library handles,
 * folded to 16 bits, and swapped to the big-endian value once at the end.
 *
 * On x86-64 with AVX2 (looked up once at run time) long buffers go 64 bytes
 * at a time instead: each 32-bit lane of four vector accumulators adds the
 * low and the high 16-bit halves of its words apart, which cannot overflow
 * in 8,192 steps; a sum of 16-bit words folds to the same value as a sum of
 * the 32-bit words they make.  About 4x the scalar loop on a 64 KiB frame
 * in cache (the checksum `jet lan tap` completes for every TSO segment the
 * kernel sends). */
#include <string.h>

#include "jet/inet.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_SUM 1
enum { AVX2_MIN = 256, AVX2_BLOCK = 8192 * 64 };

__attribute__((target("avx2"))) static uint64_t sum_avx2(const uint8_t *p, size_t len)
{
    const __m256i lo16 = _mm256_set1_epi32(0xFFFF);
    uint64_t acc = 0;
    while (len >= 64) {
        size_t blk = len < AVX2_BLOCK ? len & ~(size_t)63 : AVX2_BLOCK;
        __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
        for (const uint8_t *e = p + blk; p < e; p += 64) {
            __m256i v = _mm256_loadu_si256((const __m256i *)p);
            __m256i w = _mm256_loadu_si256((const __m256i *)(p + 32));
            a = _mm256_add_epi32(a, _mm256_and_si256(v, lo16));
            b = _mm256_add_epi32(b, _mm256_srli_epi32(v, 16));
            c = _mm256_add_epi32(c, _mm256_and_si256(w, lo16));
            d = _mm256_add_epi32(d, _mm256_srli_epi32(w, 16));
        }
        len -= blk;
        /* each lane of each is under 8192 * 65536: widen before adding up */
        uint32_t l[4][8];
        _mm256_storeu_si256((__m256i *)l[0], a);
        _mm256_storeu_si256((__m256i *)l[1], b);
        _mm256_storeu_si256((__m256i *)l[2], c);
        _mm256_storeu_si256((__m256i *)l[3], d);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 8; j++)
                acc += l[i][j];
    }
    return acc;
}

static int have_avx2(void)
{
    static int known = -1; /* a benign race: every thread finds the same */
    int k = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (k < 0) {
        __builtin_cpu_init();
        k = __builtin_cpu_supports("avx2") ? 1 : 0;
        __atomic_store_n(&known, k, __ATOMIC_RELAXED);
    }
    return k;
}
#endif

static inline uint32_t fold16(uint64_t s)
{
    s = (s & 0xFFFFFFFF) + (s >> 32);
    s = (s & 0xFFFFFFFF) + (s >> 32);
    s = (s & 0xFFFF) + (s >> 16);
    s = (s & 0xFFFF) + (s >> 16);
    return (uint32_t)s;
}

uint32_t jet_inet_sum(const void *buf, size_t len, uint32_t sum)
{
    const uint8_t *p = buf;
    uint64_t acc = 0;
#ifdef HAVE_AVX2_SUM
    if (len >= AVX2_MIN && have_avx2()) {
        acc = sum_avx2(p, len);
        p += len & ~(size_t)63;
        len &= 63;
    }
#endif
    while (len >= 32) {
        uint64_t w[4];
        memcpy(w, p, sizeof w);
        acc += (w[0] & 0xFFFFFFFF) + (w[0] >> 32) + (w[1] & 0xFFFFFFFF) + (w[1] >> 32);
        acc += (w[2] & 0xFFFFFFFF) + (w[2] >> 32) + (w[3] & 0xFFFFFFFF) + (w[3] >> 32);
        p += 32;
        len -= 32;
    }
    while (len >= 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        acc += w;
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        uint16_t w;
        memcpy(&w, p, 2);
        acc += w;
        p += 2;
        len -= 2;
    }
    if (len) { /* the last byte is the high half of a big-endian word */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        acc += p[0];
#else
        acc += (uint32_t)p[0] << 8;
#endif
    }
    uint32_t s = fold16(acc);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    s = (uint32_t)__builtin_bswap16((uint16_t)s);
#endif
    return fold16((uint64_t)s + sum);
}

uint32_t jet_inet_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
    uint64_t s = (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF);
    return fold16(s + proto + len);
}
