/* A naive Internet checksum (RFC 1071: big-endian 16-bit words, one at a
 * time, folded at the end), written apart from src/inet/csum.c so the tests
 * and the fuzz target check the library against something independent. */
#ifndef JET_TEST_INET_REF_H
#define JET_TEST_INET_REF_H

#include <stddef.h>
#include <stdint.h>

#include "wire/cursor.h"

static inline uint16_t ref_fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xFFFF) + (s >> 16);
    return (uint16_t)s;
}
/* The 16-bit ones'-complement sum of p[0..n) added to s. */
static inline uint16_t ref_sum(const uint8_t *p, size_t n, uint32_t s)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        s += (uint32_t)p[i] << 8 | p[i + 1];
        if (s & 0x80000000u)
            s = (s & 0xFFFF) + (s >> 16);
    }
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    return ref_fold(s);
}
/* The sum of the IPv4 pseudo-header of TCP and UDP. */
static inline uint16_t ref_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
    uint8_t ph[12] = {0};
    jet_store_be32(ph, src);
    jet_store_be32(ph + 4, dst);
    ph[9] = proto;
    jet_store_be16(ph + 10, len);
    return ref_sum(ph, 12, 0);
}
/* Sets the checksum field at off so that pseudo + p[0..n) verifies. */
static inline void ref_fix(uint8_t *p, size_t n, size_t off, uint32_t pseudo)
{
    jet_store_be16(p + off, 0);
    jet_store_be16(p + off, (uint16_t)~ref_sum(p, n, pseudo));
}

#endif
