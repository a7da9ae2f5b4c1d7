/* The Internet checksum (RFC 1071), as partial sums that chain.
 *
 * The ones'-complement sum does not depend on byte order (RFC 1071 2(B)):
 * the bytes are added as native-order words, eight at a time into a 64-bit
 * accumulator that cannot overflow for any length this library handles,
 * folded to 16 bits, and swapped to the big-endian value once at the end. */
#include <string.h>

#include "jet/inet.h"

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
