/* Transport engine: a set of byte ranges [s, e) of 64-bit positions, kept sorted,
 * disjoint and non-adjacent (touching ranges merge).  The sender's SACK scoreboard and
 * the receiver's out-of-order table are both one.
 *
 * Storage: XP_RANGES_INLINE entries inside the struct (no allocation while a
 * connection never needs more, which on a LAN is nearly always), growing by doubling
 * on the heap up to a bound the owner sets from its window (xp_ranges_set_max).  Growth
 * happens only when the set reaches a size it never had before, so it is amortised to
 * nothing; when the bound is reached (or memory is short) a range that needs a new
 * entry is refused, and the owner counts it (safe: only slower).  The struct holds a
 * pointer into itself: never copy it by value. */
#ifndef JET_XP_RANGE_H
#define JET_XP_RANGE_H

#include <stdbool.h>
#include <stdint.h>

enum { XP_RANGES_INLINE = 32 };

struct xp_range {
    uint64_t s, e; /* [s, e) */
};

struct xp_ranges {
    struct xp_range *r; /* small[] or the heap */
    uint32_t n;         /* ranges in use */
    uint32_t cap;       /* entries r[] holds */
    uint32_t max;       /* bound on n (>= XP_RANGES_INLINE) */
    struct xp_range small[XP_RANGES_INLINE];
};

/* Empty set bounded by max ranges (at least XP_RANGES_INLINE). */
void xp_ranges_init(struct xp_ranges *rs, uint32_t max);
/* Frees the heap storage; the set is empty and usable again. */
void xp_ranges_fini(struct xp_ranges *rs);
/* Changes the bound (never below XP_RANGES_INLINE; ranges beyond a lower bound stay). */
void xp_ranges_set_max(struct xp_ranges *rs, uint32_t max);

/* Index of the first range with e >= s (n if none): where [s, ...) would go or merge. */
uint32_t xp_ranges_lower(const struct xp_ranges *rs, uint64_t s);
/* Adds [s, e) (s < e), merging with every range it overlaps or touches.  Returns the
 * index of the range now holding it, or -1 (nothing changed) when it needs a new entry
 * and the set is at its bound or the storage cannot grow.  *added (if not NULL) gets
 * the bytes the set grew by. */
int xp_ranges_add(struct xp_ranges *rs, uint64_t s, uint64_t e, uint64_t *added);
/* Whether [s, e) could be added now: it touches a range, or there is room for one more
 * (the storage may still fail to grow; xp_ranges_add says). */
bool xp_ranges_fits(const struct xp_ranges *rs, uint64_t s, uint64_t e);
/* Like xp_ranges_fits, and makes sure the storage holds one more entry when [s, e)
 * needs one (may allocate: only at a new high-water mark).  false: it would not fit. */
bool xp_ranges_room(struct xp_ranges *rs, uint64_t s, uint64_t e);
/* Whether one range holds all of [s, e). */
bool xp_ranges_covers(const struct xp_ranges *rs, uint64_t s, uint64_t e);
/* Removes the first k ranges. */
void xp_ranges_pop(struct xp_ranges *rs, uint32_t k);
/* Keeps only positions above lo: ranges ending at or below lo + 1 go, one starting at
 * or below lo starts at lo + 1.  Returns the bytes removed. */
uint64_t xp_ranges_clip(struct xp_ranges *rs, uint64_t lo);
/* Sum of the range lengths (O(n)). */
uint64_t xp_ranges_bytes(const struct xp_ranges *rs);
/* NULL if sorted, disjoint, non-adjacent, non-empty, within (lo, hi] and n <= cap; else
 * what is wrong. */
const char *xp_ranges_violation(const struct xp_ranges *rs, uint64_t lo, uint64_t hi);

#endif
