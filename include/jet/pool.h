/* Buffer pool: fixed-size buffers in one region that may live in shared
 * memory, addressed by 32-bit index, lock-free between processes.
 *
 * Ownership is the single source of truth: each buffer has a 32-bit owner
 * word, 0 when free, otherwise the token of the owner (a LAN station
 * incarnation, or any non-zero value a private user picks).  Allocation is a
 * compare-and-swap of that word from 0 to the caller's token, so a process
 * killed at any instant leaves every buffer either free or owned by its token,
 * never in limbo; jet_pool_reclaim() returns the buffers of dead owners.
 *
 * Layout of the region (all offsets from its start, 64-byte aligned):
 *   struct header | owner words[nbufs] | lengths[nbufs] | buffers[nbufs][buf_size]
 *
 * Thread/process safety: alloc, free and reclaim may run concurrently from any
 * number of processes mapping the region.  Reads and writes of a buffer's
 * bytes are the owner's business. */
#ifndef JET_POOL_H
#define JET_POOL_H

#pragma GCC visibility push(default) /* the library exports only what these headers declare */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JET_POOL_NONE UINT32_MAX /* "no buffer" index */

struct jet_pool_region; /* the shared part, opaque */

/* Process-local view of a region. Plain struct: copy freely, no teardown. */
struct jet_pool {
    struct jet_pool_region *r;
    uint8_t *bufs;
    uint32_t nbufs, buf_size;
    uint32_t cursor; /* where this view's next allocation scan starts */
    _Atomic uint32_t *owner; /* the owner words */
    uint32_t *lens;          /* the length words */
};

struct jet_pool_stats {
    uint32_t nbufs, buf_size;
    uint32_t free;        /* buffers whose owner word is 0, counted now */
    uint64_t allocs;      /* buffers handed out since format */
    uint64_t frees;       /* buffers returned since format */
    uint64_t alloc_fails; /* allocation calls that found no free buffer */
    uint64_t reclaimed;   /* buffers returned by reclaim from dead owners */
};

/* Bytes a region for nbufs buffers of buf_size bytes needs (buf_size is
 * rounded up to 64). 0 if the numbers are out of range. */
size_t jet_pool_region_size(uint32_t nbufs, uint32_t buf_size);

/* Lays out a fresh pool in region (size bytes, 64-byte aligned, zeroed or
 * not), all buffers free. Returns 0, or -EINVAL if it does not fit. */
int jet_pool_format(void *region, size_t size, uint32_t nbufs, uint32_t buf_size);

/* Fills *p with a view of an already formatted region. 0, or -EBADMSG if the
 * region does not hold a pool of this layout version or its header is
 * inconsistent, -EINVAL if size is short.  The header is read once and
 * checked whole; the view never reads an offset or size from the region
 * again, so a region shared with a careless or hostile process cannot make
 * it address memory outside the region.  Index arguments below must be
 * < nbufs: callers check indices they did not allocate themselves. */
int jet_pool_view(struct jet_pool *p, void *region, size_t size);

/* Allocates up to n buffers for owner token `owner` (non-zero) into idx[].
 * Returns how many it got (0 when the pool is empty). */
uint32_t jet_pool_alloc(struct jet_pool *p, uint32_t owner, uint32_t *idx, uint32_t n);

/* Returns n buffers to the pool. The caller must own them. */
void jet_pool_free(struct jet_pool *p, const uint32_t *idx, uint32_t n);

/* Start of buffer idx (buf_size bytes). idx must be < nbufs. */
static inline uint8_t *jet_pool_buf(const struct jet_pool *p, uint32_t idx)
{
    return p->bufs + (size_t)idx * p->buf_size;
}

/* Asks for idx's owner word in a writable state ahead of a hand-over, so
 * the store later does not wait for the other core's cache. */
static inline void jet_pool_prefetch_owner(const struct jet_pool *p, uint32_t idx)
{
#if defined(__x86_64__) || defined(__i386__)
    /* asm volatile: GCC may delete a bare __builtin_prefetch (src/util/prefetch.h) */
    __asm__ volatile("prefetchw %0" : : "m"(*(const char *)&p->owner[idx]));
#else
    __builtin_prefetch((const void *)&p->owner[idx], 1);
#endif
}

/* Owner word of idx, read with acquire ordering. */
uint32_t jet_pool_owner(const struct jet_pool *p, uint32_t idx);

/* Hands idx from its current owner to `to` (the caller must be the current
 * owner; a plain release store). */
void jet_pool_give(struct jet_pool *p, uint32_t idx, uint32_t to);

/* Moves idx from owner `from` to 0 only if it is still owned by `from`
 * (compare-and-swap). Returns true if it freed it. */
bool jet_pool_free_if(struct jet_pool *p, uint32_t idx, uint32_t from);

/* jet_pool_free_if() for n buffers, with one counter update: frees each
 * idx[i] still owned by `from`, leaves any other alone.  Returns how many it
 * freed. */
uint32_t jet_pool_free_owned(struct jet_pool *p, const uint32_t *idx, uint32_t n, uint32_t from);

/* Per-buffer length word, for links that pass a frame length with the index. */
uint32_t *jet_pool_len(const struct jet_pool *p, uint32_t idx);

/* Frees every buffer whose owner is non-zero and for which alive(owner, arg)
 * is false. Safe against concurrent use by live owners. Returns the count. */
uint32_t jet_pool_reclaim(struct jet_pool *p, bool (*alive)(uint32_t owner, void *arg), void *arg);

void jet_pool_get_stats(const struct jet_pool *p, struct jet_pool_stats *st);

#pragma GCC visibility pop

#endif
