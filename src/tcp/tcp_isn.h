/* TCP: keyed hashing for connection establishment (internal, sans-I/O).
 *
 *   - SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012):
 *     a 64-bit pseudo-random function of a 128-bit key and a short message, the hash
 *     behind initial sequence numbers here and SYN cookies (tcp_cookie.h).
 *   - RFC 6528 initial sequence numbers: ISN = M + F(localip, localport, remoteip,
 *     remoteport, secretkey), M a 4-microsecond timer taken from the `now` the caller
 *     passes, F the low 32 bits of SipHash-2-4 under the caller's key.  For one 4-tuple
 *     the ISN advances by exactly one per 4 us (wrapping every 4.77 hours), as RFC 9293
 *     asks; across tuples and keys it is unpredictable without the key.
 *
 * Nothing here reads a clock, allocates or keeps state; the key is the caller's.  The
 * one function that does I/O is tcp_key_random() (getrandom), kept apart at the end of
 * tcp_isn.c.  All times are nanoseconds (`now`, as everywhere in Jetstream); addresses
 * and ports are host byte order, as in jet/inet.h.  docs/tcp.md has the scheme. */
#ifndef JET_TCP_ISN_H
#define JET_TCP_ISN_H

#include <stddef.h>
#include <stdint.h>

enum {
    TCP_KEY_LEN = 16,       /* bytes in a key: 128 bits */
    TCP_ISN_TICK_NS = 4000, /* M advances by one every 4 us (RFC 6528, RFC 9293 3.4.1) */
};

/* A 128-bit SipHash key, as its two little-endian 64-bit halves (k0 from bytes 0..7). */
struct tcp_key {
    uint64_t k0, k1;
};

/* A connection's 4-tuple, seen from this end (local = us). */
struct tcp_tuple {
    uint32_t laddr, raddr;
    uint16_t lport, rport;
};

/* Writes t as 12 bytes, little-endian: laddr, raddr, lport, rport (the hash inputs). */
static inline void tcp_tuple_put(uint8_t *m, const struct tcp_tuple *t)
{
    for (int i = 0; i < 4; i++) {
        m[i] = (uint8_t)(t->laddr >> (8 * i));
        m[4 + i] = (uint8_t)(t->raddr >> (8 * i));
    }
    m[8] = (uint8_t)t->lport;
    m[9] = (uint8_t)(t->lport >> 8);
    m[10] = (uint8_t)t->rport;
    m[11] = (uint8_t)(t->rport >> 8);
}

/* The key whose bytes are b[0..15] (the SipHash paper's byte order). */
void tcp_key_from_bytes(struct tcp_key *k, const uint8_t b[TCP_KEY_LEN]);

/* SipHash-2-4 of len bytes at msg under k.  msg may be NULL when len is 0. */
uint64_t tcp_siphash24(const struct tcp_key *k, const void *msg, size_t len);

/* The RFC 6528 initial sequence number for a connection on t at time now:
 * (uint32_t)(now / TCP_ISN_TICK_NS) + F(t, k).  Deterministic: the same inputs give the
 * same number, so the caller decides when a fresh one is due (each new connection). */
uint32_t tcp_isn(const struct tcp_key *k, const struct tcp_tuple *t, uint64_t now);

/* ---- the one function with I/O ----
 * Fills k from the kernel's random source (getrandom(2), blocking only until the pool
 * is first initialised at boot).  0, or -errno (-ENOSYS without getrandom, -EIO on an
 * impossible short read).  Call it once when a stack starts; pass the key to everything
 * above. */
int tcp_key_random(struct tcp_key *k);

#endif
