/* The emulated LAN, station side: the receive path and waiting (lan.c
 * explains the design).
 *
 * lan_rx_burst walks the rings into this station round-robin, takes the
 * entries that are due (checking every field read from the segment) and
 * lends their frames in place; lan_rx_release gives the buffers back to
 * their senders through the return rings (published in batches,
 * lan_publish_returns), or to the magazine.  Before sleeping (lan_wait on
 * the doorbell futex, lan_arm for poll/epoll on lan_fd's socket) the station
 * publishes its returns and writes again any ring index of its own that was
 * overwritten (repair_indices). */
#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/socket.h>

#include "jet/frame.h"
#include "link/lan_link.h"
#include "util/clock.h"
#include "util/prefetch.h"

/* stuck_long and slot_lost are inline: the compiler inlined them into
 * rx_burst, wait and arm when the station was one file, and does not
 * otherwise (the code is the same as it was, instruction for instruction). */

/* Whether an entry after h, before t, carries its own index (LOOK_AHEAD,
 * lan_link.h, says what that tells). */
static bool desc_written_after(const struct lan_ring *r, uint32_t h, uint32_t t, uint32_t mask)
{
    for (uint32_t i = h + 1; i != t && i - h <= LOOK_AHEAD; i++)
        if (r->e[i & mask].seq == i)
            return true;
    return false;
}

/* Whether receive ring src has made no sense with the same tail t for
 * STUCK_NS: counted once, when it starts. */
static inline bool stuck_long(struct lan_link *k, uint32_t src, uint32_t t)
{
    struct stuck *st = &k->stuck[src];
    uint64_t now = jet_now_ns();
    if (st->since == 0 || st->t != t) {
        *st = (struct stuck){.t = t, .since = now};
        lan_bad(k);
        return false;
    }
    return now - st->since >= STUCK_NS;
}

/* Whether our station slot still holds our token.  Only a process writing
 * where it should not can change it while we hold the slot's lock; then other
 * stations may reclaim our buffers, so we stop using the LAN at once. */
static inline bool slot_lost(struct lan_link *k)
{
    if (k->broken)
        return true;
    if (atomic_load_explicit(&k->seg.st[k->me].token, memory_order_relaxed) == k->token)
        return false;
    k->broken = true;
    lan_bad(k);
    return true;
}

/* ---- receive ---- */

static void repair_indices(struct lan_link *k);

/* Drops the ring entry whose fields were read into idx/tok (damaged or not
 * for us): a buffer that is really ours goes back to the pool. */
static void drop_entry(struct lan_link *k, uint32_t idx, uint32_t tok, bool inl)
{
    lan_bad(k);
    if (!inl && tok == k->token && lan_came_back(k, idx))
        lan_buf_free(k, &idx, 1);
}

int lan_rx_burst(struct jet_link *l, struct jet_frame *f, unsigned max)
{
    struct lan_link *k = lan_link_of(l);
    if (slot_lost(k))
        return lan_broken_err(k);
    if (k->txq_n || k->has_held)
        lan_flush(l);
    _Atomic uint32_t *sleeping = &k->seg.st[k->me].sleeping;
    if (atomic_load_explicit(sleeping, memory_order_relaxed))
        atomic_store_explicit(sleeping, 0, memory_order_relaxed); /* awake: no doorbells */
    uint64_t now = k->need_clock ? jet_now_ns() : 0;
    unsigned n = 0;
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < k->nst && n < max; i++) {
        uint32_t src = k->rr + i;
        if (src >= k->nst)
            src -= k->nst;
        uint32_t h = k->cons_head[src];
        struct lan_ring *r = lan_ring(&k->seg, src, k->me);
        if (h == k->cons_tail[src]) {
            uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
            if (t - h > k->ring_size) {
                /* Not a tail the producer wrote (wait for the next one), or we
                 * and the producer disagree (a head or entries overwritten):
                 *  - the tail more than a ring ahead, with entries of its last
                 *    lap stamped as written: the producer lapped us (it took an
                 *    overwritten head for ours); what it overwrote is gone, go
                 *    on from the oldest entry of that lap;
                 *  - the same tail for STUCK_NS: go to it (ahead, dropping
                 *    what cannot be read; or back, when we ran ahead over
                 *    entries damaged to look written).  A tail that stays put
                 *    that long is the producer's, waiting for us. */
                uint32_t j = t - k->ring_size;
                bool lapped = false;
                if (h - t > k->ring_size)
                    for (; j != t && j - (t - k->ring_size) < LOOK_AHEAD && !lapped; j++)
                        lapped = r->e[j & k->ring_mask].seq == j;
                if (!lapped && !stuck_long(k, src, t))
                    continue;
                lan_bad(k);
                k->cons_head[src] = h = lapped ? j - 1 : t;
                atomic_store_explicit(&r->head, h, memory_order_release);
            }
            k->cons_tail[src] = t;
            if (h == t)
                continue;
        }
        uint32_t t = k->cons_tail[src];
        while (h != t && n < max) {
            /* Each field is read from the segment once, then checked. */
            const struct lan_desc *e = &r->e[h & k->ring_mask];
            uint64_t at = e->deliver_at;
            uint32_t idx = e->idx, tok = e->token, len = e->len, encap = e->encap, from = e->src;
            if (e->seq != h) {
                if (!desc_written_after(r, h, t, k->ring_mask) && !stuck_long(k, src, t)) {
                    /* Nothing after it was written either: the tail claims
                     * entries its producer has not written (yet).  Read the
                     * tail again later: never run ahead of the producer. */
                    k->cons_tail[src] = t = h;
                    break;
                }
                lan_bad(k);
                h++; /* a damaged entry among written ones (or, after the same
                        tail for STUCK_NS, a run of them that left the ring full):
                        dropped; its buffer, if any, is reclaimed when its sender
                        or we detach */
                continue;
            }
            bool inl = encap & LAN_DESC_INLINE;
            encap &= ~LAN_DESC_INLINE;
            if (at > now && at - now <= k->max_wait)
                break; /* not due yet */
            if (at > now || encap > JET_ENCAP_ETH || len > k->frame_max ||
                (inl && len > LAN_INLINE_MAX)) {
                drop_entry(k, idx, tok, inl); /* due later than any sender can ask, or malformed */
                h++;
                continue;
            }
            if (inl) {
                if (tok != k->token) {
                    lan_cnt_add(&k->c->rx_stale, 1); /* for an earlier holder; no buffer */
                    h++;
                    continue;
                }
                uint32_t b = lan_mag_get(k);
                if (b == JET_POOL_NONE)
                    break; /* no buffer to take it into: it waits in the ring */
                uint8_t *d = lan_frame_data(k, b);
                memcpy(d, e->inl, len);
                f[n].buf = b;
                f[n].data = d;
                f[n].len = len;
                f[n].cap = k->frame_max;
                f[n].encap = (uint16_t)encap;
                f[n].flags = (uint16_t)k->me; /* our own buffer: released into our magazine */
                bytes += len;
                n++;
                h++;
                continue;
            }
            h++;
            /* The token names the incarnation it was sent to: one that is
             * not ours was meant for an earlier holder of this slot. */
            if (tok != k->token) {
                lan_cnt_add(&k->c->rx_stale, 1);
                if (idx < k->seg.pool.nbufs && !lan_token_live(&k->seg, tok))
                    jet_pool_free_if(&k->seg.pool, idx, tok); /* that holder is gone */
                continue;
            }
            if (!lan_came_back(k, idx)) {
                lan_bad(k); /* not a buffer handed to us: leave it alone */
                continue;
            }
            k->bs[idx] = BS_USE;
            f[n].buf = idx;
            f[n].data = lan_frame_data(k, idx);
            jet_prefetch(f[n].data); /* its header is read next, by whoever takes it */
            f[n].len = len;
            f[n].cap = k->frame_max;
            f[n].encap = (uint16_t)encap;
            f[n].flags = from < k->nst ? (uint16_t)from : (uint16_t)k->me;
            bytes += len;
            n++;
        }
        if (h != k->cons_head[src]) {
            k->cons_head[src] = h;
            atomic_store_explicit(&r->head, h, memory_order_release);
        }
    }
    k->rr = k->rr + 1 >= k->nst ? 0 : k->rr + 1;
    if (n)
        k->idle_polls = 0;
    else if (++k->idle_polls == 64) {
        lan_publish_returns(k); /* quiet for a while: do not sit on a sender's buffers */
        repair_indices(k);
    }
    if (n) {
        lan_cnt_add(&k->c->rx_frames, n);
        lan_cnt_add(&k->c->rx_bytes, bytes);
    }
    return (int)n;
}

static void publish_returns_to(struct lan_link *k, uint32_t s)
{
    atomic_store_explicit(&lan_ret(&k->seg, s, k->me)->tail, k->ret_tail[s], memory_order_release);
    k->ret_pub[s] = k->ret_tail[s];
    k->ret_dirty &= ~(1ull << s);
}

void lan_publish_returns(struct lan_link *k)
{
    for (uint64_t m = k->ret_dirty; m; m &= m - 1)
        publish_returns_to(k, (uint32_t)__builtin_ctzll(m));
}

void lan_rx_release(struct jet_link *l, struct jet_frame *f, unsigned n)
{
    struct lan_link *k = lan_link_of(l);
    for (unsigned i = 0; i < n; i++) {
        uint32_t src = f[i].flags, idx = f[i].buf;
        if (idx >= k->seg.pool.nbufs || k->bs[idx] != BS_USE)
            continue; /* not a frame this link lent: nothing to give back */
        uint32_t tok = src < k->nst && src != k->me
                           ? atomic_load_explicit(&k->seg.st[src].token, memory_order_acquire)
                           : 0;
        if (tok == 0) {
            lan_mag_put(k, idx);
            continue;
        }
        if (k->ret_tail[src] - k->ret_head[src] >= k->ring_size) {
            struct lan_ret_ring *q = lan_ret(&k->seg, src, k->me);
            uint32_t h = atomic_load_explicit(&q->head, memory_order_acquire);
            if (k->ret_tail[src] - h <= k->ring_size)
                k->ret_head[src] = h; /* as read_head() */
            else
                lan_bad(k); /* not a head its owner wrote: keep the last good one */
            if (k->ret_tail[src] - k->ret_head[src] >= k->ring_size) {
                lan_mag_put(k, idx); /* the sender is not taking them back: keep it */
                /* Make sure it sees every return (publish, and write the tail
                 * again if it was overwritten, as ring_room() does). */
                publish_returns_to(k, src);
                continue;
            }
        }
        k->bs[idx] = BS_AWAY;
        jet_pool_give(&k->seg.pool, idx, tok);
        uint32_t rt = k->ret_tail[src]++;
        lan_ret(&k->seg, src, k->me)->e[rt & k->ring_mask] =
            (struct lan_ret_ent){.idx = idx, .token = tok, .seq = rt};
        k->ret_dirty |= 1ull << src;
    }
    /* Returns are published in batches: one tail store (one cache line to
     * the sender) per RET_BATCH buffers (half the ring if that is less: a
     * ring of 16 would otherwise fill before a batch does), and before
     * sleeping or detaching. */
    for (uint64_t m = k->ret_dirty; m; m &= m - 1) {
        uint32_t s = (uint32_t)__builtin_ctzll(m);
        if (k->ret_tail[s] - k->ret_pub[s] >= (RET_BATCH < k->ring_size / 2 ? RET_BATCH : k->ring_size / 2))
            publish_returns_to(k, s);
    }
}

/* Earliest delivery time among waiting frames: 0 if one is ready now (or an
 * entry is damaged: rx_burst drops it), UINT64_MAX if none waits. */
static uint64_t next_rx(struct lan_link *k, uint64_t now)
{
    uint64_t best = UINT64_MAX;
    for (uint32_t src = 0; src < k->nst; src++) {
        struct lan_ring *r = lan_ring(&k->seg, src, k->me);
        uint32_t h = k->cons_head[src];
        uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (h == t || t - h > k->ring_size)
            continue;
        const struct lan_desc *e = &r->e[h & k->ring_mask];
        if (e->seq != h)
            continue; /* not a real entry (rx_burst counts it): nothing waits */
        uint64_t at = e->deliver_at;
        if (at <= now || at - now > k->max_wait)
            return 0;
        if (at < best)
            best = at;
    }
    return best;
}

/* Before sleeping: writes again every ring index we are the writer of, from
 * our private copy, where the segment holds another value.  Our peers read
 * them to know how far they may go; a scribbled index must not leave a
 * sender waiting for room that was freed long ago. */
static void repair_indices(struct lan_link *k)
{
    for (uint32_t d = 0; d < k->nst; d++) {
        struct lan_ring *in = lan_ring(&k->seg, d, k->me), *out = lan_ring(&k->seg, k->me, d);
        struct lan_ret_ring *mine = lan_ret(&k->seg, k->me, d), *theirs = lan_ret(&k->seg, d, k->me);
        if (atomic_load_explicit(&in->head, memory_order_relaxed) != k->cons_head[d])
            atomic_store_explicit(&in->head, k->cons_head[d], memory_order_release);
        if (!(k->dirty >> d & 1) &&
            atomic_load_explicit(&out->tail, memory_order_relaxed) != k->prod_tail[d])
            atomic_store_explicit(&out->tail, k->prod_tail[d], memory_order_release);
        if (atomic_load_explicit(&mine->head, memory_order_relaxed) != k->ret_cons[d])
            atomic_store_explicit(&mine->head, k->ret_cons[d], memory_order_release);
        if (atomic_load_explicit(&theirs->tail, memory_order_relaxed) != k->ret_pub[d])
            atomic_store_explicit(&theirs->tail, k->ret_pub[d], memory_order_release);
    }
}

int lan_wait(struct jet_link *l, int64_t timeout_ns)
{
    struct lan_link *k = lan_link_of(l);
    if (slot_lost(k))
        return lan_broken_err(k);
    struct lan_station *st = &k->seg.st[k->me];
    uint64_t now = jet_now_ns();
    uint64_t until = timeout_ns < 0 ? UINT64_MAX : now + (uint64_t)timeout_ns;
    if (k->txq_n || k->has_held) {
        lan_flush(l);
        if (k->txq_n || k->has_held) {
            uint64_t poll = now + 50000; /* sending is blocked: look again soon */
            if (poll < until)
                until = poll;
        }
    }
    lan_publish_returns(k); /* the sender may be waiting for its buffers */
    repair_indices(k);
    int rc = 0;
    /* Sleeps in naps of at most NAP_NS: a wake-up lost because a flag in the
     * segment was overwritten delays us by one nap, never for ever. */
    for (;;) {
        uint32_t bell = atomic_load(&st->doorbell);
        atomic_store(&st->sleeping, LAN_SLEEP_FUTEX);
        lan_sleep_fence(k);
        if (k->asym_failed && until > now + 1000000)
            until = now + 1000000;
        uint64_t next = next_rx(k, now);
        uint64_t wake = next < until ? next : until;
        if (wake > now + NAP_NS)
            wake = now + NAP_NS;
        if (next <= now || wake <= now)
            break;
        uint64_t d = wake - now;
        struct timespec ts = {(time_t)(d / 1000000000u), (long)(d % 1000000000u)};
        int fr = lan_futex(&st->doorbell, FUTEX_WAIT, bell, &ts), fe = errno;
        if (fr == 0 || fe != ETIMEDOUT) {
            if (fr < 0 && fe == EINTR)
                rc = -EINTR;
            break; /* rung, or the doorbell moved before we slept */
        }
        now = jet_now_ns();
        if (now >= until || next <= now)
            break;
        if (slot_lost(k)) {
            rc = lan_broken_err(k);
            break;
        }
    }
    atomic_store(&st->sleeping, 0);
    return rc;
}

int lan_fd(struct jet_link *l)
{
    struct lan_link *k = lan_link_of(l);
    if (k->rx_sock >= 0)
        return k->rx_sock;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return jet_err_set(&l->err, -errno, "doorbell socket: %s", strerror(errno));
    struct sockaddr_un a;
    socklen_t al = lan_sock_addr(&a, k->seg.g.name, k->token);
    if (bind(fd, (struct sockaddr *)&a, al) < 0) {
        int e = errno;
        close(fd);
        return jet_err_set(&l->err, -e, "doorbell socket: bind: %s", strerror(e));
    }
    k->rx_sock = fd;
    return fd;
}

int lan_arm(struct jet_link *l)
{
    struct lan_link *k = lan_link_of(l);
    if (slot_lost(k))
        return lan_broken_err(k);
    if (k->rx_sock < 0) {
        int rc = lan_fd(l);
        if (rc < 0)
            return rc;
    }
    char b[64];
    while (recv(k->rx_sock, b, sizeof b, MSG_DONTWAIT) > 0)
        ;
    if (k->txq_n || k->has_held) {
        lan_flush(l);
        if (k->txq_n || k->has_held)
            return 1; /* frames wait to go out: keep polling */
    }
    lan_publish_returns(k);
    repair_indices(k);
    atomic_store(&k->seg.st[k->me].sleeping, LAN_SLEEP_FD);
    lan_sleep_fence(k);
    if (k->asym_failed)
        return 1; /* a wake-up could be missed: keep polling */
    return next_rx(k, jet_now_ns()) == 0 ? 1 : 0;
}
