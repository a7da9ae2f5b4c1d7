/* Transport engine: range sets (xp_range.h).  Lookups are binary searches, so a set of
 * a few thousand ranges costs a handful of steps per segment; inserting and merging
 * move the tail with memmove as the 32-entry tables did. */
#include <stdlib.h>
#include <string.h>

#include "xport/xp_range.h"

void xp_ranges_init(struct xp_ranges *rs, uint32_t max)
{
    rs->r = rs->small;
    rs->n = 0;
    rs->cap = XP_RANGES_INLINE;
    rs->max = max < XP_RANGES_INLINE ? XP_RANGES_INLINE : max;
}

void xp_ranges_fini(struct xp_ranges *rs)
{
    if (rs->r != rs->small)
        free(rs->r);
    rs->r = rs->small;
    rs->n = 0;
    rs->cap = XP_RANGES_INLINE;
}

void xp_ranges_set_max(struct xp_ranges *rs, uint32_t max)
{
    rs->max = max < XP_RANGES_INLINE ? XP_RANGES_INLINE : max;
}

uint32_t xp_ranges_lower(const struct xp_ranges *rs, uint64_t s)
{
    uint32_t lo = 0, hi = rs->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (rs->r[mid].e < s)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Room for one more entry: doubles the storage (cold: only at a new high-water mark). */
static bool grow(struct xp_ranges *rs)
{
    if (rs->n < rs->cap)
        return true;
    if (rs->n >= rs->max)
        return false;
    uint32_t cap = rs->cap * 2 < rs->max ? rs->cap * 2 : rs->max;
    struct xp_range *p = malloc((size_t)cap * sizeof *p);
    if (!p)
        return false;
    memcpy(p, rs->r, (size_t)rs->n * sizeof *p);
    if (rs->r != rs->small)
        free(rs->r);
    rs->r = p;
    rs->cap = cap;
    return true;
}

int xp_ranges_add(struct xp_ranges *rs, uint64_t s, uint64_t e, uint64_t *added)
{
    struct xp_range *r = rs->r;
    uint32_t n = rs->n;
    uint32_t i = xp_ranges_lower(rs, s), j = i;
    while (j < n && r[j].s <= e)
        j++;
    if (i == j) {
        if (n >= rs->max || !grow(rs))
            return -1;
        r = rs->r;
        memmove(&r[i + 1], &r[i], (size_t)(n - i) * sizeof *r);
        r[i].s = s;
        r[i].e = e;
        rs->n++;
        if (added)
            *added = e - s;
        return (int)i;
    }
    uint64_t ns = s < r[i].s ? s : r[i].s;
    uint64_t ne = e > r[j - 1].e ? e : r[j - 1].e;
    if (added) {
        uint64_t had = 0;
        for (uint32_t k = i; k < j; k++)
            had += r[k].e - r[k].s;
        *added = ne - ns - had;
    }
    r[i].s = ns;
    r[i].e = ne;
    memmove(&r[i + 1], &r[j], (size_t)(n - j) * sizeof *r);
    rs->n -= j - i - 1;
    return (int)i;
}

bool xp_ranges_fits(const struct xp_ranges *rs, uint64_t s, uint64_t e)
{
    uint32_t i = xp_ranges_lower(rs, s);
    return rs->n < rs->max || (i < rs->n && rs->r[i].s <= e);
}

bool xp_ranges_room(struct xp_ranges *rs, uint64_t s, uint64_t e)
{
    uint32_t i = xp_ranges_lower(rs, s);
    if (i < rs->n && rs->r[i].s <= e)
        return true; /* merges */
    return rs->n < rs->max && grow(rs);
}

bool xp_ranges_covers(const struct xp_ranges *rs, uint64_t s, uint64_t e)
{
    /* the only candidate: the first range ending at or after e (ranges are disjoint) */
    uint32_t i = xp_ranges_lower(rs, e);
    return i < rs->n && rs->r[i].s <= s && e <= rs->r[i].e;
}

void xp_ranges_pop(struct xp_ranges *rs, uint32_t k)
{
    if (!k)
        return;
    memmove(&rs->r[0], &rs->r[k], (size_t)(rs->n - k) * sizeof rs->r[0]);
    rs->n -= k;
}

uint64_t xp_ranges_clip(struct xp_ranges *rs, uint64_t lo)
{
    uint64_t gone = 0;
    uint32_t k = 0;
    while (k < rs->n && rs->r[k].e <= lo + 1) {
        gone += rs->r[k].e - rs->r[k].s;
        k++;
    }
    xp_ranges_pop(rs, k);
    if (rs->n && rs->r[0].s <= lo) {
        gone += lo + 1 - rs->r[0].s;
        rs->r[0].s = lo + 1;
    }
    return gone;
}

uint64_t xp_ranges_bytes(const struct xp_ranges *rs)
{
    uint64_t sum = 0;
    for (uint32_t i = 0; i < rs->n; i++)
        sum += rs->r[i].e - rs->r[i].s;
    return sum;
}

const char *xp_ranges_violation(const struct xp_ranges *rs, uint64_t lo, uint64_t hi)
{
    if (rs->n > rs->cap || (rs->r == rs->small) != (rs->cap == XP_RANGES_INLINE))
        return "range count or storage";
    for (uint32_t i = 0; i < rs->n; i++) {
        if (rs->r[i].s >= rs->r[i].e)
            return "empty range";
        if (rs->r[i].s <= lo || rs->r[i].e > hi)
            return "range outside bounds";
        if (i && rs->r[i].s <= rs->r[i - 1].e)
            return "ranges unsorted, overlapping or adjacent";
    }
    return NULL;
}
