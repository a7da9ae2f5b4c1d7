/* Small deterministic generators: splitmix64 for seeding and hashing, and a
 * per-stream generator built on it.  Not for cryptography. */
#ifndef JET_UTIL_RNG_H
#define JET_UTIL_RNG_H

#include <stdint.h>

static inline uint64_t jet_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

struct jet_rng {
    uint64_t s;
};

static inline uint64_t jet_rng_next(struct jet_rng *r)
{
    return jet_mix64(r->s += 0x9e3779b97f4a7c15ull);
}

/* Uniform double in [0, 1). */
static inline double jet_rng_unit(struct jet_rng *r)
{
    return (double)(jet_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

#endif
