/* The emulated LAN, station side: the magazine of buffers and the transmit
 * path (lan.c explains the design).
 *
 * In the order a frame goes: lan_tx_alloc lends a buffer from the magazine
 * (lan_mag_get, refilled from the buffers receivers returned, then from the
 * pool); lan_tx_commit checks the frame and either hands it over at once
 * (nothing queued, no medium to wait for) or queues it; lan_flush books the
 * medium for queued frames; transmit applies the seeded faults and publish
 * writes the ring entry (the frame inline, or its buffer given to the
 * receiver); lan_publish_tails stores the tails once per flush and wakes
 * receivers that sleep (the fence scheme is described above
 * lan_membarrier_register). */
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "jet/frame.h"
#include "link/lan_link.h"
#include "util/clock.h"

/* ---- buffers ---- */

/* Whether an entry after h, before t, carries its own index (LOOK_AHEAD,
 * lan_link.h, says what that tells). */
static bool ret_written_after(const struct lan_ret_ring *q, uint32_t h, uint32_t t, uint32_t mask)
{
    for (uint32_t i = h + 1; i != t && i - h <= LOOK_AHEAD; i++)
        if (q->e[i & mask].seq == i)
            return true;
    return false;
}

/* Takes back the buffers receivers returned to us (still warm in cache). */
static void take_returns(struct lan_link *k)
{
    for (uint32_t d = 0; d < k->nst && k->mag_n < k->mag_cap; d++) {
        struct lan_ret_ring *q = lan_ret(&k->seg, k->me, d);
        uint32_t h = k->ret_cons[d];
        uint32_t t = atomic_load_explicit(&q->tail, memory_order_acquire);
        if (h == t)
            continue;
        if (t - h > k->ring_size && q->e[(t - k->ring_size) & k->ring_mask].seq ==
                                        t - k->ring_size)
            h = t - k->ring_size; /* the returner lapped us (as in lan_rx_burst) */
        if (t - h > k->ring_size) {
            lan_bad(k); /* a damaged tail: wait for the returner to publish again */
            continue;
        }
        while (h != t && k->mag_n < k->mag_cap) {
            const struct lan_ret_ent *e = &q->e[h & k->ring_mask];
            uint32_t idx = e->idx, tok = e->token;
            if (e->seq != h) {
                lan_bad(k);
                if (!ret_written_after(q, h, t, k->ring_mask))
                    break; /* not written yet: the tail was not the returner's */
                h++;       /* a damaged entry among written ones: skipped */
                continue;
            }
            h++;
            if (tok == k->token) {
                if (lan_came_back(k, idx)) {
                    k->bs[idx] = BS_MAG;
                    k->mag[k->mag_n++] = idx;
                } else {
                    lan_bad(k);
                }
            } else if (idx < k->seg.pool.nbufs && !lan_token_live(&k->seg, tok)) {
                jet_pool_free_if(&k->seg.pool, idx, tok); /* meant for an earlier holder */
            } else {
                lan_bad(k);
            }
        }
        k->ret_cons[d] = h;
        atomic_store_explicit(&q->head, h, memory_order_release);
    }
}

uint32_t lan_mag_get(struct lan_link *k)
{
    if (k->mag_n == 0) {
        take_returns(k);
        if (k->mag_n == 0) {
            uint32_t got[MAG_REFILL];
            uint32_t want = k->mag_cap / 2 < MAG_REFILL ? k->mag_cap / 2 : MAG_REFILL;
            uint32_t n = jet_pool_alloc(&k->seg.pool, k->token, got, want);
            if (n == 0 && jet_now_ns() - k->last_reclaim > RECLAIM_NS) {
                /* Owner words overwritten with tokens nobody holds would
                 * keep their buffers from everyone: return them, now and
                 * then, when the pool looks empty. */
                k->last_reclaim = jet_now_ns();
                lan_reclaim_orphans(&k->seg);
                n = jet_pool_alloc(&k->seg.pool, k->token, got, want);
            }
            for (uint32_t i = 0; i < n; i++) {
                if (k->bs[got[i]] != BS_AWAY) {
                    lan_bad(k); /* its owner word had been cleared while we held it */
                    continue;
                }
                k->bs[got[i]] = BS_MAG;
                k->mag[k->mag_n++] = got[i];
            }
        }
    }
    if (k->mag_n == 0)
        return JET_POOL_NONE;
    uint32_t idx = k->mag[--k->mag_n];
    k->bs[idx] = BS_USE;
    return idx;
}

void lan_mag_put(struct lan_link *k, uint32_t idx)
{
    if (k->bs[idx] == BS_MAG) {
        lan_bad(k);
        return;
    }
    if (k->mag_n >= k->mag_cap) {
        k->mag_n -= k->mag_cap / 2;
        lan_buf_free(k, k->mag + k->mag_n, k->mag_cap / 2);
    }
    k->bs[idx] = BS_MAG;
    k->mag[k->mag_n++] = idx;
}

/* ---- faults (link/fault.h: the same draws as the fault wrapper link) ---- */

static uint32_t flow_slot(struct lan_link *k, uint32_t dst, uint32_t encap, const uint8_t *d,
                          uint32_t len)
{
    return fault_flow_slot(k->flows, fault_flow_key(dst, encap, d, len));
}

/* ---- transmit ---- */

/* Reads the consumer's head of our ring to dst.  A head more than a ring
 * behind our tail, or past it, was not written by the consumer: counted, and
 * the last good one kept (the consumer writes its head again when it next
 * takes frames, idles or sleeps).  A head that moved back is taken: it is
 * what the consumer writes when it corrects one overwritten earlier, and
 * refusing it would leave both sides waiting for each other.  (A wrong head
 * taken can make us overwrite entries not read yet: the consumer finds them
 * stamped one lap ahead and catches up, see lan_rx_burst.) */
static void read_head(struct lan_link *k, uint32_t dst)
{
    uint32_t h = atomic_load_explicit(&lan_ring(&k->seg, k->me, dst)->head, memory_order_acquire);
    if (k->prod_tail[dst] - h <= k->ring_size)
        k->prod_head[dst] = h;
    else
        lan_bad(k);
}

static uint32_t ring_room(struct lan_link *k, uint32_t dst)
{
    uint32_t used = k->prod_tail[dst] - k->prod_head[dst];
    if (used + 3 > k->ring_size) {
        read_head(k, dst);
        used = k->prod_tail[dst] - k->prod_head[dst];
        if (used + 3 > k->ring_size && !(k->dirty >> dst & 1)) {
            /* Full: make sure the receiver sees the tail we published (a
             * scribbled one would leave it waiting while we wait for it). */
            _Atomic uint32_t *t = &lan_ring(&k->seg, k->me, dst)->tail;
            if (atomic_load_explicit(t, memory_order_relaxed) != k->prod_tail[dst])
                atomic_store_explicit(t, k->prod_tail[dst], memory_order_release);
        }
    }
    return k->ring_size - used;
}

/* Whether a frame of len bytes to dst goes inline: when it is small and the
 * ring is nearly empty (the receiver keeps up, so latency is what counts).
 * A receiver that falls behind gets frames by reference instead, which costs
 * it no copy.  The consumer's head is read again at most once every
 * INLINE_FILL frames, so this adds no cache-line transfer per frame. */
static bool want_inline(struct lan_link *k, uint32_t dst, uint32_t len)
{
    if (len > LAN_INLINE_MAX)
        return false;
    uint32_t t = k->prod_tail[dst];
    if (t - k->prod_head[dst] < INLINE_FILL)
        return true;
    if (t - k->head_read[dst] < INLINE_FILL)
        return false;
    k->head_read[dst] = t;
    read_head(k, dst);
    return t - k->prod_head[dst] < INLINE_FILL;
}

/* Hands buffer idx (len bytes, encap) to station dst, to be delivered at `at`. */
static void publish(struct lan_link *k, uint32_t idx, uint32_t len, uint32_t encap, uint32_t dst,
                    uint64_t at)
{
    uint32_t tok = atomic_load_explicit(&k->seg.st[dst].token, memory_order_acquire);
    if (tok == 0) {
        lan_cnt_add(&k->c->tx_unreach, 1);
        lan_buf_free(k, &idx, 1);
        return;
    }
    if (at < k->last_deliver[dst])
        at = k->last_deliver[dst]; /* one flow's frames keep their order unless reordered */
    k->last_deliver[dst] = at;
    struct lan_ring *r = lan_ring(&k->seg, k->me, dst);
    uint32_t t = k->prod_tail[dst];
    struct lan_desc *e = &r->e[t & k->ring_mask];
    e->token = tok;
    e->len = len;
    e->src = (uint16_t)k->me;
    e->deliver_at = at;
    e->seq = t;
    if (want_inline(k, dst, len)) {
        memcpy(e->inl, lan_frame_data(k, idx), len);
        e->idx = JET_POOL_NONE;
        e->encap = (uint16_t)(encap | LAN_DESC_INLINE);
        lan_mag_put(k, idx);
    } else {
        /* Still ours?  A plain load (a locked compare-and-swap here would
         * wait for the payload's stores, see lan_publish_tails). */
        if (jet_pool_owner(&k->seg.pool, idx) != k->token) {
            lan_bad(k); /* its owner word was overwritten: the frame is lost */
            k->bs[idx] = BS_AWAY;
            return;
        }
        k->bs[idx] = BS_AWAY;
        jet_pool_give(&k->seg.pool, idx, tok);
        e->idx = idx;
        e->encap = (uint16_t)encap;
    }
    k->prod_tail[dst] = t + 1;
    k->dirty |= 1ull << dst;
    lan_cnt_add(&k->c->tx_frames, 1);
    lan_cnt_add(&k->c->tx_bytes, len);
}

void lan_release_held(struct lan_link *k)
{
    if (k->has_held && ring_room(k, k->held.dst) >= 1) {
        k->has_held = false;
        publish(k, k->held.idx, k->held.len, k->held.encap, k->held.dst, 0);
    }
}

/* One frame onto the medium toward dst: faults, then hand-over. */
static void transmit(struct lan_link *k, struct txq_ent *e, uint64_t at)
{
    if (k->faults) {
        uint8_t *d = lan_frame_data(k, e->idx);
        struct fault_verdict v;
        fault_draw(&k->fcfg, k->flows, e->flow, k->me, &v);
        at += v.jitter_ns;
        if (v.lose) {
            lan_cnt_add(&k->c->fault_lost, 1);
            lan_buf_free(k, &e->idx, 1);
            return;
        }
        if (k->cfg.ber > 0 && fault_flip_bits(&v.rng, k->cfg.ber, d, e->len)) {
            lan_cnt_add(&k->c->fault_corrupted, 1);
            if (e->encap == JET_ENCAP_ETH) {
                /* Its FCS fails: the receiver's NIC would drop it (caps.csum).  A native
                 * frame goes on: its payload CRC tells (docs/frame-format.md). */
                lan_buf_free(k, &e->idx, 1);
                if (k->has_held && k->held.dst == e->dst)
                    lan_release_held(k);
                return;
            }
        }
        uint32_t dup = JET_POOL_NONE;
        if (v.dup && (dup = lan_mag_get(k)) != JET_POOL_NONE) {
            memcpy(lan_frame_data(k, dup), d, e->len);
            lan_cnt_add(&k->c->fault_duplicated, 1);
        }
        if (v.reorder && !k->has_held) {
            /* Held back; goes out right after the next frame to dst. */
            lan_cnt_add(&k->c->fault_reordered, 1);
            k->held = *e;
            k->has_held = true;
            k->held_at = jet_now_ns();
            if (dup != JET_POOL_NONE)
                publish(k, dup, e->len, e->encap, e->dst, at);
            return;
        }
        publish(k, e->idx, e->len, e->encap, e->dst, at);
        if (dup != JET_POOL_NONE)
            publish(k, dup, e->len, e->encap, e->dst, at);
        if (k->has_held && k->held.dst == e->dst)
            lan_release_held(k);
        return;
    }
    publish(k, e->idx, e->len, e->encap, e->dst, at);
}

/* Broadcast: a copy for every other attached station with ring room. */
static void transmit_bcast(struct lan_link *k, struct txq_ent *e, uint64_t at)
{
    const uint8_t *src = lan_frame_data(k, e->idx);
    for (uint32_t d = 0; d < k->nst; d++) {
        if (d == k->me || atomic_load_explicit(&k->seg.st[d].token, memory_order_acquire) == 0)
            continue;
        uint32_t c = ring_room(k, d) >= 3 ? lan_mag_get(k) : JET_POOL_NONE;
        if (c == JET_POOL_NONE) {
            lan_cnt_add(&k->c->tx_unreach, 1);
            continue;
        }
        memcpy(lan_frame_data(k, c), src, e->len);
        struct txq_ent ce = *e;
        ce.idx = c;
        ce.dst = (uint16_t)d;
        ce.flow = flow_slot(k, d, e->encap, src, e->len);
        transmit(k, &ce, at);
    }
    lan_mag_put(k, e->idx);
}

/* Wakes a receiver asleep in poll/epoll: one datagram to its socket. A full
 * socket buffer means it is readable already. */
static void ring_socket(struct lan_link *k, uint32_t token)
{
    if (k->tx_sock < 0)
        k->tx_sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (k->tx_sock < 0 || token == 0)
        return;
    struct sockaddr_un a;
    socklen_t al = lan_sock_addr(&a, k->seg.g.name, token);
    char b = 1;
    (void)sendto(k->tx_sock, &b, 1, MSG_DONTWAIT, (struct sockaddr *)&a, al);
}

/* ---- waking a sleeping receiver ----
 * The sender stores a tail, then looks whether the receiver sleeps; the
 * receiver sets its sleeping flag, then looks at the tails once more.  One
 * of the two must see the other's store (no lost wake-up), which takes a
 * full fence between store and load on both sides.  On the sender's side,
 * once per frame, that fence waits for every store before it to reach the
 * cache, i.e. for the payload just written into lines the receiver holds
 * (11% of a 9000-byte sender's time).  So the fence is moved to the side
 * that is about to sleep anyway: a station registered for
 * MEMBARRIER_CMD_GLOBAL_EXPEDITED runs that membarrier after setting its
 * flag, which executes a full fence on every CPU that runs a registered
 * process; a sender that is registered itself, sending to such a station,
 * then needs no fence of its own.  Anyone unregistered (or with JET_LAN_NO_MEMBARRIER
 * set in its environment when it attached) uses the fenced path. */
bool lan_membarrier_register(void)
{
    /* 0: not tried, 1: registered, -1: unavailable.  Threads attaching at once
     * may both register: that is harmless (registering is idempotent). */
    static _Atomic int state;
    if (atomic_load(&state) == 0) {
        long q = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
        long need = MEMBARRIER_CMD_GLOBAL_EXPEDITED | MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED;
        bool ok = q >= 0 && (q & need) == need &&
                  syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) == 0;
        atomic_store(&state, ok ? 1 : -1);
    }
    return atomic_load(&state) == 1 && !getenv("JET_LAN_NO_MEMBARRIER");
}

/* After setting our sleeping flag, before looking at the tails again. */
void lan_sleep_fence(struct lan_link *k)
{
    if (!k->asym)
        return; /* the flag's seq_cst store fenced us; senders fence themselves */
    if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) != 0) {
        /* Senders may still skip their fence for a while: never sleep long again. */
        k->asym = false;
        k->asym_failed = true;
        atomic_store(&k->seg.st[k->me].asym_fence, 0);
    }
}

void lan_publish_tails(struct lan_link *k)
{
    uint64_t dirty = k->dirty;
    if (!dirty)
        return;
    k->dirty = 0;
    bool fenced = !k->asym;
    for (uint64_t m = dirty; m && !fenced; m &= m - 1)
        fenced = !atomic_load_explicit(&k->seg.st[__builtin_ctzll(m)].asym_fence,
                                       memory_order_relaxed);
    if (!fenced) {
        for (uint64_t m = dirty; m; m &= m - 1) {
            uint32_t d = (uint32_t)__builtin_ctzll(m);
            atomic_store_explicit(&lan_ring(&k->seg, k->me, d)->tail, k->prod_tail[d],
                                  memory_order_release);
        }
        atomic_signal_fence(memory_order_seq_cst); /* the receivers' membarrier fences us */
        goto wake;
    }
    /* Release stores, the last one a full barrier (an exchange), so the tail
     * is visible before we look whether the receiver sleeps; it sets its
     * flag before looking at the tails (no lost wake-up). */
    for (uint64_t m = dirty; m; m &= m - 1) {
        uint32_t d = (uint32_t)__builtin_ctzll(m);
        _Atomic uint32_t *t = &lan_ring(&k->seg, k->me, d)->tail;
        if (m & (m - 1))
            atomic_store_explicit(t, k->prod_tail[d], memory_order_release);
        else
            atomic_exchange_explicit(t, k->prod_tail[d], memory_order_seq_cst);
    }
wake:
    for (uint64_t m = dirty; m; m &= m - 1) {
        struct lan_station *st = &k->seg.st[__builtin_ctzll(m)];
        uint32_t how = atomic_load_explicit(&st->sleeping, memory_order_relaxed);
        if (how & LAN_SLEEP_FUTEX) {
            atomic_fetch_add(&st->doorbell, 1);
            lan_futex(&st->doorbell, FUTEX_WAKE, INT_MAX, NULL);
        }
        if (how & LAN_SLEEP_FD)
            ring_socket(k, atomic_load_explicit(&st->token, memory_order_relaxed));
    }
}

/* Drops every queued frame for dst (its station went away). */
static void drop_queued_for(struct lan_link *k, uint32_t dst)
{
    uint32_t n = k->txq_n, kept = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct txq_ent e = k->txq[(k->txq_head + i) % TXQ_CAP];
        if (e.dst == dst) {
            lan_cnt_add(&k->c->tx_unreach, 1);
            lan_buf_free(k, &e.idx, 1);
        } else {
            k->txq[(k->txq_head + kept++) % TXQ_CAP] = e;
        }
    }
    k->txq_n = kept;
}

/* Whether e can be handed to its destination now. May drop the queue to a
 * station found dead (returns false then too). */
static bool dst_ready(struct lan_link *k, const struct txq_ent *e, uint64_t now)
{
    if (e->dst == JET_STATION_BROADCAST)
        return true;
    if (atomic_load_explicit(&k->seg.st[e->dst].token, memory_order_acquire) == 0) {
        drop_queued_for(k, e->dst);
        return false;
    }
    if (ring_room(k, e->dst) >= 3)
        return true;
    /* The receiver is behind, or dead: look now and then. */
    uint64_t t = now ? now : jet_now_ns();
    if (e->dst != k->me && t - k->last_check[e->dst] > CHECK_NS) {
        k->last_check[e->dst] = t;
        if (!lan_check_station(&k->seg, e->dst))
            drop_queued_for(k, e->dst);
    }
    return false;
}

int lan_flush(struct jet_link *l)
{
    struct lan_link *k = lan_link_of(l);
    if (k->broken)
        return lan_broken_err(k);
    uint64_t now = (k->need_clock || k->has_held) ? jet_now_ns() : 0;
    bool mon = k->txq_n && lan_mon_on(k); /* one look per flush */
    uint64_t mon_at = mon ? (now ? now : jet_now_ns()) : 0;
    while (k->txq_n) {
        uint32_t n = k->txq_n;
        if (!dst_ready(k, &k->txq[k->txq_head], now)) {
            if (k->txq_n != n)
                continue; /* its receiver was gone: its frames were dropped */
            break;        /* it waits for its receiver's ring, and the rest behind it */
        }
        struct txq_ent *e = &k->txq[k->txq_head];
        uint64_t at = k->need_clock ? now : 0; /* 0: deliver at once */
        if (k->cfg.rate_bps) {
            _Atomic uint64_t *mf = &k->seg.h->medium_free_ns;
            uint64_t ser = (uint64_t)e->len * 8 * 1000000000ull / k->cfg.rate_bps;
            uint64_t free_at = atomic_load_explicit(mf, memory_order_relaxed), start;
            do {
                bool damaged = free_at > now + k->max_book; /* no sender books that far */
                if (damaged)
                    lan_bad(k); /* our booking replaces it */
                else if (free_at > now + LOOKAHEAD_NS)
                    goto out; /* medium busy: the frame waits */
                start = free_at > now && !damaged ? free_at : now;
            } while (!atomic_compare_exchange_weak_explicit(mf, &free_at, start + ser,
                                                            memory_order_relaxed,
                                                            memory_order_relaxed));
            at = start + ser;
        }
        at += k->cfg.delay_ns;
        struct txq_ent ent = *e;
        k->txq_head = (k->txq_head + 1) % TXQ_CAP;
        k->txq_n--;
        if (mon)
            lan_mon_copy(k, &ent, mon_at); /* as it goes onto the medium, before faults */
        if (ent.dst == JET_STATION_BROADCAST)
            transmit_bcast(k, &ent, at);
        else
            transmit(k, &ent, at);
    }
out:
    if (k->has_held && now > k->held_at + HOLD_NS)
        lan_release_held(k);
    if (k->mon_dirty)
        lan_mon_publish(k);
    lan_publish_tails(k);
    return 0;
}

/* Frames lan_tx_commit takes now without queueing them: none while frames
 * wait in the FIFO (for the medium or a receiver's ring); with a rated
 * medium, one while the medium can be booked within LOOKAHEAD_NS (it is
 * booked when committed, and goes onto the ring at once unless its
 * receiver's ring is full); without a rate, what the FIFO holds (frames then
 * wait only for a receiver's ring).  The station's transmit service keeps
 * the rest in its priority classes meanwhile. */
int lan_tx_room(struct jet_link *l)
{
    struct lan_link *k = lan_link_of(l);
    if (k->broken)
        return lan_broken_err(k); /* takes nothing again: the service gives its frames back */
    if (k->txq_n) {
        lan_flush(l);
        if (k->txq_n)
            return 0;
    }
    if (!k->cfg.rate_bps)
        return (int)k->txq_limit;
    uint64_t now = jet_now_ns();
    uint64_t free_at = atomic_load_explicit(&k->seg.h->medium_free_ns, memory_order_relaxed);
    /* a booking further ahead than any sender makes is damage: flush replaces it */
    return free_at <= now + LOOKAHEAD_NS || free_at > now + k->max_book;
}

int lan_tx_alloc(struct jet_link *l, struct jet_frame *f)
{
    struct lan_link *k = lan_link_of(l);
    if (k->broken)
        return lan_broken_err(k);
    if (k->txq_n >= k->txq_limit) {
        lan_flush(l);
        if (k->txq_n >= k->txq_limit)
            return -EAGAIN;
    }
    uint32_t idx = lan_mag_get(k);
    if (idx == JET_POOL_NONE)
        return jet_err_set(&l->err, -ENOBUFS,
                           "buffer pool exhausted (receivers hold every buffer); retry later");
    jet_pool_prefetch_owner(&k->seg.pool, idx); /* written when the frame is handed over */
    f->buf = idx;
    f->data = lan_frame_data(k, idx);
    f->cap = k->frame_max;
    f->len = 0;
    f->encap = JET_ENCAP_NATIVE;
    f->flags = (uint16_t)k->me; /* where the buffer goes back when released */
    return 0;
}

void lan_tx_abort(struct jet_link *l, struct jet_frame *f)
{
    struct lan_link *k = lan_link_of(l);
    if (f->buf < k->seg.pool.nbufs && k->bs[f->buf] == BS_USE)
        lan_mag_put(k, f->buf);
}

int lan_tx_commit(struct jet_link *l, struct jet_frame *f)
{
    struct lan_link *k = lan_link_of(l);
    const uint8_t *d = f->data;
    uint32_t dst;
    int rc = 0;
    if (f->buf >= k->seg.pool.nbufs || k->bs[f->buf] != BS_USE || f->data != lan_frame_data(k, f->buf))
        return jet_err_set(&l->err, -EINVAL, "frame does not belong to this link");
    if (k->broken) {
        rc = lan_broken_err(k);
        goto drop;
    }
    if (f->encap == JET_ENCAP_NATIVE) {
        if (f->len < 24) {
            rc = jet_err_set(&l->err, -EINVAL, "native frame of %u bytes is shorter than a header",
                             f->len);
            goto drop;
        }
        if (f->len > k->mtu + 28) {
            rc = jet_err_set(&l->err, -EMSGSIZE, "frame of %u bytes exceeds the LAN MTU (%u-byte payload)",
                             f->len, k->mtu);
            goto drop;
        }
        dst = (uint32_t)d[4] << 8 | d[5];
    } else if (f->encap == JET_ENCAP_ETH) {
        if (f->len < 14) {
            rc = jet_err_set(&l->err, -EINVAL, "Ethernet frame of %u bytes is too short", f->len);
            goto drop;
        }
        if (f->len > k->mtu + LAN_ETH_MAX_HDR) {
            rc = jet_err_set(&l->err, -EMSGSIZE, "Ethernet frame of %u bytes exceeds the LAN MTU (%u)",
                             f->len, k->mtu);
            goto drop;
        }
        if (d[0] & 1) {
            dst = JET_STATION_BROADCAST;
        } else if (d[0] == 0x02 && d[1] == 0x4a && d[2] == 0x53 && d[3] == k->seg.g.mac[0] &&
                   d[4] == k->seg.g.mac[1]) {
            dst = d[5];
        } else {
            rc = jet_err_set(&l->err, -EHOSTUNREACH,
                             "destination %02x:%02x:%02x:%02x:%02x:%02x is not a station of this LAN",
                             d[0], d[1], d[2], d[3], d[4], d[5]);
            lan_cnt_add(&k->c->tx_unreach, 1);
            goto drop;
        }
    } else {
        rc = jet_err_set(&l->err, -EINVAL, "unknown encapsulation %u", f->encap);
        goto drop;
    }
    if (dst != JET_STATION_BROADCAST &&
        (dst >= k->nst || atomic_load_explicit(&k->seg.st[dst].token, memory_order_acquire) == 0)) {
        lan_cnt_add(&k->c->tx_unreach, 1);
        rc = jet_err_set(&l->err, -EHOSTUNREACH, "station %u is not attached to LAN '%s'", dst,
                         k->seg.g.name);
        goto drop;
    }
    if (k->txq_n == TXQ_CAP) {
        lan_flush(l);
        if (k->txq_n == TXQ_CAP) {
            rc = jet_err_set(&l->err, -ENOBUFS, "transmit queue full (allocate before committing)");
            goto drop;
        }
    }
    if (k->txq_n == 0 && !k->cfg.rate_bps && dst != JET_STATION_BROADCAST &&
        ring_room(k, dst) >= 3) {
        /* Fast path: nothing queued ahead, no medium to wait for, room at
         * the receiver: onto the medium at once, as a flush would. */
        struct txq_ent ent = {.idx = f->buf,
                              .len = f->len,
                              .dst = (uint16_t)dst,
                              .encap = f->encap,
                              .flow = k->faults ? flow_slot(k, dst, f->encap, d, f->len) : 0};
        uint64_t at = k->need_clock ? jet_now_ns() + k->cfg.delay_ns : 0;
        if (lan_mon_on(k))
            lan_mon_copy(k, &ent, jet_now_ns());
        transmit(k, &ent, at);
        if (k->has_held)
            lan_flush(l); /* a held frame may be due */
        if (k->mon_dirty)
            lan_mon_publish(k);
        lan_publish_tails(k);
        return 0;
    }
    struct txq_ent *e = &k->txq[(k->txq_head + k->txq_n++) % TXQ_CAP];
    e->idx = f->buf;
    e->len = f->len;
    e->dst = (uint16_t)dst;
    e->encap = f->encap;
    e->flow = k->faults && dst != JET_STATION_BROADCAST ? flow_slot(k, dst, f->encap, d, f->len) : 0;
    lan_flush(l);
    return 0;
drop:
    lan_mag_put(k, f->buf);
    return rc;
}
