/* Buffer pool (include/jet/pool.h).
 *
 * The owner word array is the allocator: a free buffer has owner 0, and
 * allocation is a CAS from 0 to the caller's token, scanning from a per-view
 * cursor.  Owner words are packed 16 to a cache line, so a scan that finds
 * several free buffers touches few lines; callers allocate in batches.
 * Counters are updated once per batch. */
#include <errno.h>
#include <stddef.h>
#include <stdatomic.h>
#include <string.h>

#include "jet/pool.h"

#define POOL_MAGIC 0x4a4554504f4f4c31ull /* "JETPOOL1" */
#define POOL_LAYOUT 1u
#define ALIGN64(x) (((x) + 63u) & ~(size_t)63u)

struct jet_pool_region {
    uint64_t magic;
    uint32_t layout, nbufs, buf_size, pad;
    uint64_t owner_off, len_off, data_off;
    _Alignas(64) _Atomic uint64_t allocs;
    _Atomic uint64_t frees;
    _Atomic uint64_t alloc_fails;
    _Atomic uint64_t reclaimed;
};

/* The owner words, as located when the view was made: never recomputed from
 * the (shared, possibly scribbled) region header. */
static _Atomic uint32_t *owners(const struct jet_pool *p)
{
    return p->owner;
}

/* Offsets of the parts of a region for nbufs buffers of bs bytes (bs a
 * multiple of 64): the one place that lays a region out. */
static void layout(uint32_t nbufs, size_t *owner_off, size_t *len_off, size_t *data_off)
{
    *owner_off = ALIGN64(sizeof(struct jet_pool_region));
    *len_off = *owner_off + ALIGN64((size_t)nbufs * 4);
    *data_off = *len_off + ALIGN64((size_t)nbufs * 4);
}

size_t jet_pool_region_size(uint32_t nbufs, uint32_t buf_size)
{
    if (nbufs == 0 || nbufs >= JET_POOL_NONE || buf_size == 0 || buf_size > (1u << 30))
        return 0;
    size_t bs = ALIGN64((size_t)buf_size);
    return ALIGN64(sizeof(struct jet_pool_region)) + ALIGN64((size_t)nbufs * 4) * 2 +
           (size_t)nbufs * bs;
}

int jet_pool_format(void *region, size_t size, uint32_t nbufs, uint32_t buf_size)
{
    size_t need = jet_pool_region_size(nbufs, buf_size);
    if (need == 0 || size < need || ((uintptr_t)region & 63))
        return -EINVAL;
    struct jet_pool_region *r = region;
    memset(r, 0, sizeof *r);
    r->nbufs = nbufs;
    r->buf_size = (uint32_t)ALIGN64((size_t)buf_size);
    size_t oo, lo, dof;
    layout(nbufs, &oo, &lo, &dof);
    r->owner_off = oo;
    r->len_off = lo;
    r->data_off = dof;
    memset((uint8_t *)region + r->owner_off, 0, (size_t)nbufs * 4);
    r->layout = POOL_LAYOUT;
    atomic_thread_fence(memory_order_release);
    r->magic = POOL_MAGIC;
    return 0;
}

int jet_pool_view(struct jet_pool *p, void *region, size_t size)
{
    /* The header may be shared with processes that do not follow the rules:
     * read it once, check every field against the others and against size,
     * and keep what the view needs in private memory. */
    struct jet_pool_region h;
    if (size < sizeof h)
        return -EINVAL;
    memcpy(&h, region, offsetof(struct jet_pool_region, allocs));
    if (h.magic != POOL_MAGIC || h.layout != POOL_LAYOUT)
        return -EBADMSG;
    if (h.buf_size & 63u)
        return -EBADMSG;
    size_t need = jet_pool_region_size(h.nbufs, h.buf_size);
    if (need == 0)
        return -EBADMSG;
    if (need > size)
        return -EINVAL;
    size_t oo, lo, dof;
    layout(h.nbufs, &oo, &lo, &dof);
    if (h.owner_off != oo || h.len_off != lo || h.data_off != dof)
        return -EBADMSG;
    p->r = region;
    p->bufs = (uint8_t *)region + dof;
    p->nbufs = h.nbufs;
    p->buf_size = h.buf_size;
    p->cursor = 0;
    p->owner = (_Atomic uint32_t *)((uint8_t *)region + oo);
    p->lens = (uint32_t *)((uint8_t *)region + lo);
    return 0;
}

uint32_t jet_pool_alloc(struct jet_pool *p, uint32_t owner, uint32_t *idx, uint32_t n)
{
    _Atomic uint32_t *o = owners(p);
    uint32_t got = 0, c = p->cursor, scanned = 0;
    while (got < n && scanned < p->nbufs) {
        if (c >= p->nbufs)
            c = 0;
        uint32_t expect = 0;
        /* A relaxed peek first, so busy words cost a read, not a locked op. */
        if (atomic_load_explicit(&o[c], memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong_explicit(&o[c], &expect, owner, memory_order_acquire,
                                                    memory_order_relaxed))
            idx[got++] = c;
        c++;
        scanned++;
    }
    p->cursor = c;
    if (got)
        atomic_fetch_add_explicit(&p->r->allocs, got, memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&p->r->alloc_fails, 1, memory_order_relaxed);
    return got;
}

void jet_pool_free(struct jet_pool *p, const uint32_t *idx, uint32_t n)
{
    _Atomic uint32_t *o = owners(p);
    for (uint32_t i = 0; i < n; i++)
        atomic_store_explicit(&o[idx[i]], 0, memory_order_release);
    if (n)
        atomic_fetch_add_explicit(&p->r->frees, n, memory_order_relaxed);
}

uint32_t jet_pool_owner(const struct jet_pool *p, uint32_t idx)
{
    return atomic_load_explicit(&owners(p)[idx], memory_order_acquire);
}

void jet_pool_give(struct jet_pool *p, uint32_t idx, uint32_t to)
{
    atomic_store_explicit(&owners(p)[idx], to, memory_order_release);
}

bool jet_pool_free_if(struct jet_pool *p, uint32_t idx, uint32_t from)
{
    uint32_t expect = from;
    if (from == 0 || !atomic_compare_exchange_strong_explicit(&owners(p)[idx], &expect, 0,
                                                              memory_order_acq_rel,
                                                              memory_order_relaxed))
        return false;
    atomic_fetch_add_explicit(&p->r->frees, 1, memory_order_relaxed);
    return true;
}

uint32_t jet_pool_free_owned(struct jet_pool *p, const uint32_t *idx, uint32_t n, uint32_t from)
{
    _Atomic uint32_t *o = owners(p);
    uint32_t freed = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t expect = from;
        freed += from != 0 && atomic_compare_exchange_strong_explicit(
                                  &o[idx[i]], &expect, 0, memory_order_acq_rel,
                                  memory_order_relaxed);
    }
    if (freed)
        atomic_fetch_add_explicit(&p->r->frees, freed, memory_order_relaxed);
    return freed;
}

uint32_t *jet_pool_len(const struct jet_pool *p, uint32_t idx)
{
    return p->lens + idx;
}

uint32_t jet_pool_reclaim(struct jet_pool *p, bool (*alive)(uint32_t owner, void *arg), void *arg)
{
    _Atomic uint32_t *o = owners(p);
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->nbufs; i++) {
        uint32_t w = atomic_load_explicit(&o[i], memory_order_acquire);
        if (w == 0 || alive(w, arg))
            continue;
        /* A dead owner's word can only change by another reclaimer freeing it. */
        if (atomic_compare_exchange_strong_explicit(&o[i], &w, 0, memory_order_acq_rel,
                                                    memory_order_relaxed))
            n++;
    }
    if (n) {
        atomic_fetch_add_explicit(&p->r->reclaimed, n, memory_order_relaxed);
        atomic_fetch_add_explicit(&p->r->frees, n, memory_order_relaxed);
    }
    return n;
}

void jet_pool_get_stats(const struct jet_pool *p, struct jet_pool_stats *st)
{
    _Atomic uint32_t *o = owners(p);
    uint32_t nfree = 0;
    for (uint32_t i = 0; i < p->nbufs; i++)
        nfree += atomic_load_explicit(&o[i], memory_order_relaxed) == 0;
    st->nbufs = p->nbufs;
    st->buf_size = p->buf_size;
    st->free = nfree;
    st->allocs = atomic_load_explicit(&p->r->allocs, memory_order_relaxed);
    st->frees = atomic_load_explicit(&p->r->frees, memory_order_relaxed);
    st->alloc_fails = atomic_load_explicit(&p->r->alloc_fails, memory_order_relaxed);
    st->reclaimed = atomic_load_explicit(&p->r->reclaimed, memory_order_relaxed);
}
