/* TCP: SipHash-2-4 and RFC 6528 initial sequence numbers (tcp_isn.h).
 *
 * Order: the SipHash state and its round; tcp_siphash24 (compression of each 8-byte
 * word, the last word padded with the length, finalisation); tcp_isn on top of it; and
 * last, apart, tcp_key_random, the only function here that does I/O.
 *
 * SipHash-2-4 as the paper specifies it: the state is four 64-bit words initialised
 * from the key k0, k1 and the constants "somepseudorandomlygeneratedbytes"; each message
 * word m (little-endian) is xored into v3, two SipRounds run, and m is xored into v0;
 * the final word holds the 0..7 leftover bytes and, in its top byte, the message length
 * mod 256; then 0xff is xored into v2, four SipRounds run, and the result is
 * v0 ^ v1 ^ v2 ^ v3. */
#include "tcp/tcp_isn.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

static inline uint64_t rotl64(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64 - b));
}

static inline uint64_t load64le(const uint8_t *p)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < 8; i++)
        x |= (uint64_t)p[i] << (8 * i);
    return x;
}

struct sip {
    uint64_t v0, v1, v2, v3;
};

/* One SipRound: two ARX half-rounds over the pairs (v0, v1) and (v2, v3), crossed. */
static inline void sipround(struct sip *s)
{
    s->v0 += s->v1;
    s->v2 += s->v3;
    s->v1 = rotl64(s->v1, 13) ^ s->v0;
    s->v3 = rotl64(s->v3, 16) ^ s->v2;
    s->v0 = rotl64(s->v0, 32);
    s->v2 += s->v1;
    s->v0 += s->v3;
    s->v1 = rotl64(s->v1, 17) ^ s->v2;
    s->v3 = rotl64(s->v3, 21) ^ s->v0;
    s->v2 = rotl64(s->v2, 32);
}

static inline void sip_word(struct sip *s, uint64_t m)
{
    s->v3 ^= m;
    sipround(s);
    sipround(s);
    s->v0 ^= m;
}

void tcp_key_from_bytes(struct tcp_key *k, const uint8_t b[TCP_KEY_LEN])
{
    k->k0 = load64le(b);
    k->k1 = load64le(b + 8);
}

uint64_t tcp_siphash24(const struct tcp_key *k, const void *msg, size_t len)
{
    struct sip s = {
        .v0 = k->k0 ^ 0x736f6d6570736575ull, /* "somepseu" */
        .v1 = k->k1 ^ 0x646f72616e646f6dull, /* "dorandom" */
        .v2 = k->k0 ^ 0x6c7967656e657261ull, /* "lygenera" */
        .v3 = k->k1 ^ 0x7465646279746573ull, /* "tedbytes" */
    };
    const uint8_t *p = msg;
    size_t whole = len & ~(size_t)7;
    for (size_t i = 0; i < whole; i += 8)
        sip_word(&s, load64le(p + i));
    uint64_t last = (uint64_t)(len & 0xff) << 56;
    for (size_t i = 0; i < (len & 7); i++)
        last |= (uint64_t)p[whole + i] << (8 * i);
    sip_word(&s, last);
    s.v2 ^= 0xff;
    for (int r = 0; r < 4; r++)
        sipround(&s);
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint32_t tcp_isn(const struct tcp_key *k, const struct tcp_tuple *t, uint64_t now)
{
    /* F's input: a domain byte (the cookie code hashes other messages under the same
     * key), then the tuple little-endian. */
    uint8_t m[13] = {'I'};
    tcp_tuple_put(m + 1, t);
    uint32_t f = (uint32_t)tcp_siphash24(k, m, sizeof m);
    return (uint32_t)(now / TCP_ISN_TICK_NS) + f;
}

/* ==== I/O: the only function in src/tcp that talks to the kernel ==================== */

int tcp_key_random(struct tcp_key *k)
{
    uint8_t b[TCP_KEY_LEN];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        got += (size_t)n;
    }
    tcp_key_from_bytes(k, b);
    explicit_bzero(b, sizeof b); /* no copy of the key left on the stack */
    return 0;
}
