/* The emulated LAN, station side: attach, transmit, receive, wait, detach.
 *
 * Transmit: tx_alloc lends a buffer from the station's magazine (a private
 * cache of buffers it owns, refilled from the pool in batches); tx_commit
 * checks the frame and appends it to the station's transmit queue; flush
 * moves queued frames onto the medium: it waits for the shared medium when a
 * rate is set, applies the seeded faults, gives the buffer to the receiver's
 * token and writes a descriptor into the (me -> receiver) ring.  Tails are
 * published once per flush, and a sleeping receiver is woken.
 *
 * Receive: rx_burst walks the rings into this station round-robin and takes
 * descriptors whose delivery time has come.  Frames are lent to the caller
 * in place; rx_release puts their buffers back in the magazine.
 *
 * Faults are drawn per frame from a generator seeded by (LAN seed, sender,
 * destination, channel or EtherType, frame number in that flow), so the
 * faults a flow sees do not depend on other traffic or on timing; the draws
 * are link/fault.h, shared with the fault wrapper link. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "jet/frame.h"
#include "link/fault.h"
#include "link/lan_impl.h"
#include "util/clock.h"
#include "util/prefetch.h"
#include "util/rng.h"

enum {
    MAG_CAP = 256,   /* magazine capacity (a quarter of the pool if that is less, so
                        that one station's cache cannot hold every buffer) */
    MAG_REFILL = 64, /* buffers taken from the pool at once (at most half the cap) */
    TXQ_CAP = 32,    /* frames waiting for the medium or a receiver's ring (the station's
                        transmit service keeps the rest, in its priority classes) */
    TXQ_UNRATED = 16, /* ... when the medium has no rate */
    BURST = 32,
    RET_BATCH = 32, /* buffers returned to a sender per published tail */
    INLINE_FILL = 16, /* small frames go inline while fewer entries wait in the ring */
};
#define HOLD_NS 1000000ull    /* a reordered frame waits at most this long for a successor */
#define CHECK_NS 20000000ull  /* how often a blocked sender checks its receiver is alive */
#define LOOKAHEAD_NS 100000ull /* how far ahead of now a sender may book the medium */
#define SLACK_NS 10000000ull    /* clock reads of two processes may differ by this much */
#define NAP_NS 100000000ull     /* longest single sleep: a lost wake-up costs at most this */
#define RECLAIM_NS 10000000ull  /* an empty pool is searched for orphans at most this often */
#define STUCK_NS 50000000ull    /* a ring that makes no sense for this long is resynchronised */

/* What this station knows of each pool buffer, in private memory.  An index
 * read from the segment (a ring entry, a returned buffer) is taken only if
 * the owner word says the buffer is ours AND this table says we had handed
 * it away, so no scribbled or repeated index makes the station use a buffer
 * twice, or one that another station holds. */
enum { BS_AWAY = 0, BS_MAG = 1, BS_USE = 2 };

struct txq_ent {
    uint32_t idx, len;
    uint16_t dst, encap;
    uint32_t flow; /* slot in the fault flow table */
};

struct lan_link {
    struct jet_link base;
    struct lan_seg seg;
    uint32_t me, token, nst, ring_mask, ring_size, headroom, frame_max, mtu;
    bool need_clock, faults;
    struct lan_cfg cfg;
    struct jet_link_fault fcfg; /* the faults of cfg, for link/fault.h */
    struct lan_counters *c;

    uint32_t mag[MAG_CAP];
    uint32_t mag_cap; /* MAG_CAP, or a quarter of a small pool; spills half */
    uint32_t mag_n;

    /* Transmit queue: one short FIFO, only as deep as keeps the medium busy.
     * Priority classes are the station's (its transmit service, which hands
     * frames over as lan_tx_room says there is room); the LAN never reads a
     * frame's class. */
    struct txq_ent txq[TXQ_CAP];
    uint32_t txq_head, txq_n;
    uint32_t txq_limit; /* TXQ_CAP with a rated medium; less without, where
                           frames only wait for the receiver's ring: a deep
                           queue would only add buffers in flight */
    struct txq_ent held;
    bool has_held;
    uint64_t held_at;

    uint32_t prod_tail[JET_LAN_MAX_STATIONS];  /* next entry to write, per destination */
    uint32_t prod_head[JET_LAN_MAX_STATIONS];  /* last seen consumer head, per destination */
    uint32_t head_read[JET_LAN_MAX_STATIONS];  /* prod_tail when want_inline last read head */
    bool asym;        /* registered for membarrier: see publish_tails */
    bool asym_failed; /* a membarrier failed: sleep in short naps from then on */
    uint64_t last_deliver[JET_LAN_MAX_STATIONS];
    uint64_t last_check[JET_LAN_MAX_STATIONS];
    uint64_t dirty; /* destinations whose tail must be published */
    uint32_t ret_tail[JET_LAN_MAX_STATIONS];   /* return ring producer index, per owner */
    uint32_t ret_head[JET_LAN_MAX_STATIONS];   /* last seen consumer head, per owner */
    uint32_t ret_pub[JET_LAN_MAX_STATIONS];    /* return ring tail last published, per owner */
    uint64_t ret_dirty;
    uint32_t idle_polls;
    uint32_t cons_head[JET_LAN_MAX_STATIONS];  /* next entry to read, per source */
    uint32_t cons_tail[JET_LAN_MAX_STATIONS];  /* last seen producer tail, per source */
    uint32_t ret_cons[JET_LAN_MAX_STATIONS];   /* next return entry to read, per returner */
    struct stuck {     /* a receive ring that made no sense with tail t, since when */
        uint32_t t;
        uint64_t since;
    } stuck[JET_LAN_MAX_STATIONS];
    uint8_t *bs;       /* BS_* per pool buffer */
    uint64_t max_wait; /* latest a well-formed entry can be due, from now */
    uint64_t max_book; /* furthest ahead of now a sender can have booked the medium */
    bool broken;       /* our slot was overwritten: every call fails */
    uint64_t last_reclaim; /* when an empty pool was last searched for orphans */
    uint32_t rr;
    struct fault_flow flows[FAULT_FLOWS];
    int rx_sock; /* doorbell socket for jet_link_fd, -1 until asked for */
    int tx_sock; /* for ringing other stations' doorbell sockets, -1 until needed */
};

static const struct jet_link_ops lan_ops;

static struct lan_link *L(struct jet_link *l)
{
    return (struct lan_link *)l;
}

static int futex(_Atomic uint32_t *w, int op, uint32_t val, const struct timespec *ts)
{
    return (int)syscall(SYS_futex, (uint32_t *)w, op, val, ts, NULL, 0);
}

/* ---- buffers ---- */

static void bad(struct lan_link *k)
{
    lan_cnt_add(&k->c->shm_bad, 1);
}

/* An entry at index h does not carry its index.  Either it is damaged, or it
 * was never written (a tail that claims more than its producer wrote).  It is
 * taken as damaged, and skipped, only if one of the next few entries before
 * the tail t carries its own index: the producer has written past it.  So a
 * reader never runs ahead of its producer, which would leave both waiting for
 * each other for ever. */
enum { LOOK_AHEAD = 8 };
static bool desc_written_after(const struct lan_ring *r, uint32_t h, uint32_t t, uint32_t mask)
{
    for (uint32_t i = h + 1; i != t && i - h <= LOOK_AHEAD; i++)
        if (r->e[i & mask].seq == i)
            return true;
    return false;
}

/* Whether receive ring src has made no sense with the same tail t for
 * STUCK_NS: counted once, when it starts. */
static bool stuck_long(struct lan_link *k, uint32_t src, uint32_t t)
{
    struct stuck *st = &k->stuck[src];
    uint64_t now = jet_now_ns();
    if (st->since == 0 || st->t != t) {
        *st = (struct stuck){.t = t, .since = now};
        bad(k);
        return false;
    }
    return now - st->since >= STUCK_NS;
}

static bool ret_written_after(const struct lan_ret_ring *q, uint32_t h, uint32_t t, uint32_t mask)
{
    for (uint32_t i = h + 1; i != t && i - h <= LOOK_AHEAD; i++)
        if (q->e[i & mask].seq == i)
            return true;
    return false;
}

/* Whether our station slot still holds our token.  Only a process writing
 * where it should not can change it while we hold the slot's lock; then other
 * stations may reclaim our buffers, so we stop using the LAN at once. */
static bool slot_lost(struct lan_link *k)
{
    if (k->broken)
        return true;
    if (atomic_load_explicit(&k->seg.st[k->me].token, memory_order_relaxed) == k->token)
        return false;
    k->broken = true;
    bad(k);
    return true;
}

static int broken_err(struct lan_link *k)
{
    return jet_err_set(&k->base.err, -EIO,
                       "station %u of LAN '%s' was overwritten in shared memory by another "
                       "process; this station stopped using the LAN",
                       k->me, k->seg.g.name);
}

/* Whether idx, read from the segment, names a buffer we handed away and
 * that has come back to us (its owner word is our token again). */
static bool came_back(struct lan_link *k, uint32_t idx)
{
    return idx < k->seg.pool.nbufs && k->bs[idx] == BS_AWAY &&
           jet_pool_owner(&k->seg.pool, idx) == k->token;
}

/* Gives buffers we hold back to the pool (only those still owned by us). */
static void buf_free(struct lan_link *k, const uint32_t *idx, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        k->bs[idx[i]] = BS_AWAY;
    if (jet_pool_free_owned(&k->seg.pool, idx, n, k->token) != n)
        bad(k); /* an owner word had been overwritten: left to its new owner */
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
            bad(k); /* a damaged tail: wait for the returner to publish again */
            continue;
        }
        while (h != t && k->mag_n < k->mag_cap) {
            const struct lan_ret_ent *e = &q->e[h & k->ring_mask];
            uint32_t idx = e->idx, tok = e->token;
            if (e->seq != h) {
                bad(k);
                if (!ret_written_after(q, h, t, k->ring_mask))
                    break; /* not written yet: the tail was not the returner's */
                h++;       /* a damaged entry among written ones: skipped */
                continue;
            }
            h++;
            if (tok == k->token) {
                if (came_back(k, idx)) {
                    k->bs[idx] = BS_MAG;
                    k->mag[k->mag_n++] = idx;
                } else {
                    bad(k);
                }
            } else if (idx < k->seg.pool.nbufs && !lan_token_live(&k->seg, tok)) {
                jet_pool_free_if(&k->seg.pool, idx, tok); /* meant for an earlier holder */
            } else {
                bad(k);
            }
        }
        k->ret_cons[d] = h;
        atomic_store_explicit(&q->head, h, memory_order_release);
    }
}

static uint32_t mag_get(struct lan_link *k)
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
                    bad(k); /* its owner word had been cleared while we held it */
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

static void mag_put(struct lan_link *k, uint32_t idx)
{
    if (k->bs[idx] == BS_MAG) {
        bad(k);
        return;
    }
    if (k->mag_n >= k->mag_cap) {
        k->mag_n -= k->mag_cap / 2;
        buf_free(k, k->mag + k->mag_n, k->mag_cap / 2);
    }
    k->bs[idx] = BS_MAG;
    k->mag[k->mag_n++] = idx;
}

static uint8_t *frame_data(struct lan_link *k, uint32_t idx)
{
    return jet_pool_buf(&k->seg.pool, idx) + k->headroom;
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
        bad(k);
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
        buf_free(k, &idx, 1);
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
        memcpy(e->inl, frame_data(k, idx), len);
        e->idx = JET_POOL_NONE;
        e->encap = (uint16_t)(encap | LAN_DESC_INLINE);
        mag_put(k, idx);
    } else {
        /* Still ours?  A plain load (a locked compare-and-swap here would
         * wait for the payload's stores, see publish_tails). */
        if (jet_pool_owner(&k->seg.pool, idx) != k->token) {
            bad(k); /* its owner word was overwritten: the frame is lost */
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

static void release_held(struct lan_link *k)
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
        uint8_t *d = frame_data(k, e->idx);
        struct fault_verdict v;
        fault_draw(&k->fcfg, k->flows, e->flow, k->me, &v);
        at += v.jitter_ns;
        if (v.lose) {
            lan_cnt_add(&k->c->fault_lost, 1);
            buf_free(k, &e->idx, 1);
            return;
        }
        if (k->cfg.ber > 0 && fault_flip_bits(&v.rng, k->cfg.ber, d, e->len))
            lan_cnt_add(&k->c->fault_corrupted, 1);
        uint32_t dup = JET_POOL_NONE;
        if (v.dup && (dup = mag_get(k)) != JET_POOL_NONE) {
            memcpy(frame_data(k, dup), d, e->len);
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
            release_held(k);
        return;
    }
    publish(k, e->idx, e->len, e->encap, e->dst, at);
}

/* Broadcast: a copy for every other attached station with ring room. */
static void transmit_bcast(struct lan_link *k, struct txq_ent *e, uint64_t at)
{
    const uint8_t *src = frame_data(k, e->idx);
    for (uint32_t d = 0; d < k->nst; d++) {
        if (d == k->me || atomic_load_explicit(&k->seg.st[d].token, memory_order_acquire) == 0)
            continue;
        uint32_t c = ring_room(k, d) >= 3 ? mag_get(k) : JET_POOL_NONE;
        if (c == JET_POOL_NONE) {
            lan_cnt_add(&k->c->tx_unreach, 1);
            continue;
        }
        memcpy(frame_data(k, c), src, e->len);
        struct txq_ent ce = *e;
        ce.idx = c;
        ce.dst = (uint16_t)d;
        ce.flow = flow_slot(k, d, e->encap, src, e->len);
        transmit(k, &ce, at);
    }
    mag_put(k, e->idx);
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
static bool membarrier_register(void)
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
static void sleep_fence(struct lan_link *k)
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

static void publish_tails(struct lan_link *k)
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
            futex(&st->doorbell, FUTEX_WAKE, INT_MAX, NULL);
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
            buf_free(k, &e.idx, 1);
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

static int lan_flush(struct jet_link *l)
{
    struct lan_link *k = L(l);
    if (k->broken)
        return broken_err(k);
    uint64_t now = (k->need_clock || k->has_held) ? jet_now_ns() : 0;
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
                    bad(k); /* our booking replaces it */
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
        if (ent.dst == JET_STATION_BROADCAST)
            transmit_bcast(k, &ent, at);
        else
            transmit(k, &ent, at);
    }
out:
    if (k->has_held && now > k->held_at + HOLD_NS)
        release_held(k);
    publish_tails(k);
    return 0;
}

/* Frames lan_tx_commit takes now without queueing them: none while frames
 * wait in the FIFO (for the medium or a receiver's ring); with a rated
 * medium, one while the medium can be booked within LOOKAHEAD_NS (it is
 * booked when committed, and goes onto the ring at once unless its
 * receiver's ring is full); without a rate, what the FIFO holds (frames then
 * wait only for a receiver's ring).  The station's transmit service keeps
 * the rest in its priority classes meanwhile. */
static int lan_tx_room(struct jet_link *l)
{
    struct lan_link *k = L(l);
    if (k->broken)
        return broken_err(k); /* takes nothing again: the service gives its frames back */
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

static int lan_tx_alloc(struct jet_link *l, struct jet_frame *f)
{
    struct lan_link *k = L(l);
    if (k->broken)
        return broken_err(k);
    if (k->txq_n >= k->txq_limit) {
        lan_flush(l);
        if (k->txq_n >= k->txq_limit)
            return -EAGAIN;
    }
    uint32_t idx = mag_get(k);
    if (idx == JET_POOL_NONE)
        return jet_err_set(&l->err, -ENOBUFS,
                           "buffer pool exhausted (receivers hold every buffer); retry later");
    jet_pool_prefetch_owner(&k->seg.pool, idx); /* written when the frame is handed over */
    f->buf = idx;
    f->data = frame_data(k, idx);
    f->cap = k->frame_max;
    f->len = 0;
    f->encap = JET_ENCAP_NATIVE;
    f->flags = (uint16_t)k->me; /* where the buffer goes back when released */
    return 0;
}

static void lan_tx_abort(struct jet_link *l, struct jet_frame *f)
{
    struct lan_link *k = L(l);
    if (f->buf < k->seg.pool.nbufs && k->bs[f->buf] == BS_USE)
        mag_put(k, f->buf);
}

static int lan_tx_commit(struct jet_link *l, struct jet_frame *f)
{
    struct lan_link *k = L(l);
    const uint8_t *d = f->data;
    uint32_t dst;
    int rc = 0;
    if (f->buf >= k->seg.pool.nbufs || k->bs[f->buf] != BS_USE || f->data != frame_data(k, f->buf))
        return jet_err_set(&l->err, -EINVAL, "frame does not belong to this link");
    if (k->broken) {
        rc = broken_err(k);
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
        transmit(k, &ent, at);
        if (k->has_held)
            lan_flush(l); /* a held frame may be due */
        publish_tails(k);
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
    mag_put(k, f->buf);
    return rc;
}

/* ---- receive ---- */

static void publish_returns(struct lan_link *k);
static void repair_indices(struct lan_link *k);

/* Drops the ring entry whose fields were read into idx/tok (damaged or not
 * for us): a buffer that is really ours goes back to the pool. */
static void drop_entry(struct lan_link *k, uint32_t idx, uint32_t tok, bool inl)
{
    bad(k);
    if (!inl && tok == k->token && came_back(k, idx))
        buf_free(k, &idx, 1);
}

static int lan_rx_burst(struct jet_link *l, struct jet_frame *f, unsigned max)
{
    struct lan_link *k = L(l);
    if (slot_lost(k))
        return broken_err(k);
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
                bad(k);
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
                bad(k);
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
                uint32_t b = mag_get(k);
                if (b == JET_POOL_NONE)
                    break; /* no buffer to take it into: it waits in the ring */
                uint8_t *d = frame_data(k, b);
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
            if (!came_back(k, idx)) {
                bad(k); /* not a buffer handed to us: leave it alone */
                continue;
            }
            k->bs[idx] = BS_USE;
            f[n].buf = idx;
            f[n].data = frame_data(k, idx);
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
        publish_returns(k); /* quiet for a while: do not sit on a sender's buffers */
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

static void publish_returns(struct lan_link *k)
{
    for (uint64_t m = k->ret_dirty; m; m &= m - 1)
        publish_returns_to(k, (uint32_t)__builtin_ctzll(m));
}

static void lan_rx_release(struct jet_link *l, struct jet_frame *f, unsigned n)
{
    struct lan_link *k = L(l);
    for (unsigned i = 0; i < n; i++) {
        uint32_t src = f[i].flags, idx = f[i].buf;
        if (idx >= k->seg.pool.nbufs || k->bs[idx] != BS_USE)
            continue; /* not a frame this link lent: nothing to give back */
        uint32_t tok = src < k->nst && src != k->me
                           ? atomic_load_explicit(&k->seg.st[src].token, memory_order_acquire)
                           : 0;
        if (tok == 0) {
            mag_put(k, idx);
            continue;
        }
        if (k->ret_tail[src] - k->ret_head[src] >= k->ring_size) {
            struct lan_ret_ring *q = lan_ret(&k->seg, src, k->me);
            uint32_t h = atomic_load_explicit(&q->head, memory_order_acquire);
            if (k->ret_tail[src] - h <= k->ring_size)
                k->ret_head[src] = h; /* as read_head() */
            else
                bad(k); /* not a head its owner wrote: keep the last good one */
            if (k->ret_tail[src] - k->ret_head[src] >= k->ring_size) {
                mag_put(k, idx); /* the sender is not taking them back: keep it */
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

static int lan_wait(struct jet_link *l, int64_t timeout_ns)
{
    struct lan_link *k = L(l);
    if (slot_lost(k))
        return broken_err(k);
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
    publish_returns(k); /* the sender may be waiting for its buffers */
    repair_indices(k);
    int rc = 0;
    /* Sleeps in naps of at most NAP_NS: a wake-up lost because a flag in the
     * segment was overwritten delays us by one nap, never for ever. */
    for (;;) {
        uint32_t bell = atomic_load(&st->doorbell);
        atomic_store(&st->sleeping, LAN_SLEEP_FUTEX);
        sleep_fence(k);
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
        int fr = futex(&st->doorbell, FUTEX_WAIT, bell, &ts), fe = errno;
        if (fr == 0 || fe != ETIMEDOUT) {
            if (fr < 0 && fe == EINTR)
                rc = -EINTR;
            break; /* rung, or the doorbell moved before we slept */
        }
        now = jet_now_ns();
        if (now >= until || next <= now)
            break;
        if (slot_lost(k)) {
            rc = broken_err(k);
            break;
        }
    }
    atomic_store(&st->sleeping, 0);
    return rc;
}

static int lan_fd(struct jet_link *l)
{
    struct lan_link *k = L(l);
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

static int lan_arm(struct jet_link *l)
{
    struct lan_link *k = L(l);
    if (slot_lost(k))
        return broken_err(k);
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
    publish_returns(k);
    repair_indices(k);
    atomic_store(&k->seg.st[k->me].sleeping, LAN_SLEEP_FD);
    sleep_fence(k);
    if (k->asym_failed)
        return 1; /* a wake-up could be missed: keep polling */
    return next_rx(k, jet_now_ns()) == 0 ? 1 : 0;
}

static int lan_reserve(struct jet_link *l, int64_t delta)
{
    struct lan_link *k = L(l);
    _Atomic uint64_t *tot = &k->seg.h->reserved_bps, *mine = &k->seg.st[k->me].reserved_bps;
    if (delta < 0) {
        uint64_t d = delta == INT64_MIN ? (uint64_t)INT64_MAX + 1 : (uint64_t)-delta;
        uint64_t m = atomic_load(mine);
        if (d > m)
            d = m;
        atomic_fetch_sub(mine, d);
        atomic_fetch_sub(tot, d);
        return 0;
    }
    uint64_t cur = atomic_load(tot);
    do {
        if (k->cfg.rate_bps && (cur > k->cfg.rate_bps || (uint64_t)delta > k->cfg.rate_bps - cur))
            return jet_err_set(&l->err, -EBUSY,
                               "cannot reserve %llu bit/s: %llu of the LAN's %llu bit/s are "
                               "reserved already",
                               (unsigned long long)delta, (unsigned long long)cur,
                               (unsigned long long)k->cfg.rate_bps);
    } while (!atomic_compare_exchange_weak(tot, &cur, cur + (uint64_t)delta));
    atomic_fetch_add(mine, (uint64_t)delta);
    return 0;
}

/* ---- attach and detach ---- */

int jet_lan_attach(const char *name, int station, struct jet_link **out, struct jet_err *err)
{
    struct lan_link *k = calloc(1, sizeof *k);
    if (!k)
        return jet_err_set(err, -ENOMEM, "out of memory");
    int rc = lan_seg_open(name, &k->seg, err);
    if (rc) {
        free(k);
        return rc;
    }
    struct lan_seg *s = &k->seg;
    k->nst = s->g.cfg.stations;
    k->bs = calloc(s->pool.nbufs, 1);
    k->mag_cap = s->pool.nbufs / 4 < MAG_CAP ? s->pool.nbufs / 4 : MAG_CAP;
    if (k->mag_cap < 2)
        k->mag_cap = 2;
    if (!k->bs) {
        rc = jet_err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    if (station >= (int)k->nst) {
        rc = jet_err_set(err, -ERANGE, "LAN '%s' has stations 0 to %u; there is no station %d",
                         name, k->nst - 1, station);
        goto fail;
    }
    int got = -1;
    if (station >= 0) {
        if (lan_lock(s, (uint32_t)station) != 0) {
            rc = jet_err_set(err, -EADDRINUSE, "station %d of LAN '%s' is in use by pid %d",
                             station, name, (int)atomic_load(&s->st[station].pid));
            goto fail;
        }
        got = station;
    } else {
        for (uint32_t i = 0; i < k->nst && got < 0; i++)
            if (lan_lock(s, i) == 0)
                got = (int)i;
        if (got < 0) {
            rc = jet_err_set(err, -EBUSY, "LAN '%s' is full (all %u stations attached)", name,
                             k->nst);
            goto fail;
        }
    }
    k->me = (uint32_t)got;
    struct lan_station *st = &s->st[k->me];
    lan_reclaim_locked(s, k->me); /* a previous holder that died */
    uint32_t serial;
    do
        serial = (atomic_fetch_add(&s->h->serial, 1) + 1) & 0xffffff;
    while (serial == 0);
    k->token = serial << 8 | k->me;
    k->cfg = s->g.cfg;
    k->mtu = k->cfg.mtu;
    k->ring_size = k->cfg.ring;
    k->ring_mask = k->cfg.ring - 1;
    k->headroom = s->g.headroom;
    k->frame_max = s->g.frame_max;
    k->need_clock = k->cfg.rate_bps || k->cfg.delay_ns || k->cfg.jitter_ns;
    k->fcfg = (struct jet_link_fault){.loss = k->cfg.loss,
                                      .ber = k->cfg.ber,
                                      .dup = k->cfg.dup,
                                      .reorder = k->cfg.reorder,
                                      .delay_ns = k->cfg.delay_ns,
                                      .jitter_ns = k->cfg.jitter_ns,
                                      .rate_bps = k->cfg.rate_bps,
                                      .seed = k->cfg.seed};
    k->faults = fault_any(&k->fcfg);
    /* The furthest ahead a well-formed entry can be due: a booking of the
     * medium (LOOKAHEAD_NS, then the longest frame's serialisation), delay,
     * jitter, and the clocks of two processes read at different moments. */
    uint64_t ser_max = k->cfg.rate_bps ? (uint64_t)k->frame_max * 8 * 1000000000ull / k->cfg.rate_bps
                                       : 0;
    k->max_book = LOOKAHEAD_NS + ser_max + SLACK_NS;
    k->max_wait = k->need_clock ? k->max_book + k->cfg.delay_ns + k->cfg.jitter_ns : 0;
    k->c = &st->c;
    uint32_t damaged = 0;
    for (uint32_t d = 0; d < k->nst; d++) {
        /* We continue the indices we find; where they cannot be what their
         * writers wrote (more in flight than the ring holds), we start
         * afresh from the tail, and count it. */
        struct lan_ring *o = lan_ring(s, k->me, d), *in = lan_ring(s, d, k->me);
        k->prod_tail[d] = atomic_load(&o->tail);
        k->prod_head[d] = atomic_load(&o->head);
        if (k->prod_tail[d] - k->prod_head[d] > k->ring_size) {
            k->prod_head[d] = k->prod_tail[d];
            damaged++;
        }
        k->cons_head[d] = k->cons_tail[d] = atomic_load(&in->tail); /* nothing old is ours */
        atomic_store(&in->head, k->cons_head[d]);
        struct lan_ret_ring *mine = lan_ret(s, k->me, d), *theirs = lan_ret(s, d, k->me);
        k->ret_cons[d] = atomic_load(&mine->tail);
        atomic_store(&mine->head, k->ret_cons[d]);
        k->ret_tail[d] = k->ret_pub[d] = atomic_load(&theirs->tail);
        k->ret_head[d] = atomic_load(&theirs->head);
        if (k->ret_tail[d] - k->ret_head[d] > k->ring_size) {
            k->ret_head[d] = k->ret_tail[d];
            damaged++;
        }
    }
    memset(&st->c, 0, sizeof st->c);
    lan_cnt_add(&st->c.shm_bad, damaged);
    atomic_store(&st->sleeping, 0);
    k->asym = membarrier_register();
    atomic_store(&st->asym_fence, k->asym ? 1u : 0u);
    atomic_store(&st->pid, (int32_t)getpid());
    atomic_store(&st->attach_unix, (uint64_t)time(NULL));
    atomic_store_explicit(&st->token, k->token, memory_order_seq_cst);
    lan_sweep(s, k->me);

    k->base.ops = &lan_ops;
    k->rx_sock = k->tx_sock = -1;
    k->txq_limit = k->cfg.rate_bps ? TXQ_CAP : TXQ_UNRATED;
    atomic_store(&st->reserved_bps, 0);
    k->base.caps = (struct jet_link_caps){.addr = k->me,
                                          .has_mac = true,
                                          .mtu = k->mtu,
                                          .max_frame = k->frame_max,
                                          .buffers = s->pool.nbufs,
                                          .rate_bps = k->cfg.rate_bps,
                                          .burst = BURST,
                                          .zero_copy = true,
                                          .native = true,
                                          .eth = true};
    jet_lan_station_mac(&k->base, k->me, k->base.caps.mac);
    snprintf(k->base.name, sizeof k->base.name, "lan:%s", name);
    *out = &k->base;
    return 0;
fail:
    lan_seg_close(&k->seg);
    free(k->bs);
    free(k);
    return rc;
}

static bool mine(uint32_t token, void *arg)
{
    return token != *(uint32_t *)arg;
}

static void lan_close(struct jet_link *l)
{
    struct lan_link *k = L(l);
    struct lan_seg *s = &k->seg;
    /* Let queued frames go out, for a while. */
    uint64_t until = jet_now_ns() + 200000000ull;
    while (k->txq_n && !k->broken && jet_now_ns() < until) {
        lan_flush(l);
        if (k->txq_n)
            lan_wait(l, 100000);
    }
    release_held(k);
    publish_tails(k);
    publish_returns(k);
    if (k->has_held)
        buf_free(k, &k->held.idx, 1);
    for (uint32_t i = 0; i < k->txq_n; i++)
        buf_free(k, &k->txq[(k->txq_head + i) % TXQ_CAP].idx, 1);
    lan_cnt_add(&k->c->tx_dropped_close, k->txq_n); /* counted, never silent */
    k->txq_n = 0;
    /* Frames waiting for us go back to the pool with everything else we own. */
    for (uint32_t src = 0; src < k->nst; src++) {
        struct lan_ring *r = lan_ring(s, src, k->me);
        atomic_store(&r->head, atomic_load_explicit(&r->tail, memory_order_acquire));
    }
    atomic_fetch_sub(&s->h->reserved_bps, atomic_exchange(&s->st[k->me].reserved_bps, 0));
    atomic_store(&s->st[k->me].token, 0);
    atomic_store(&s->st[k->me].pid, 0);
    if (k->rx_sock >= 0)
        close(k->rx_sock);
    if (k->tx_sock >= 0)
        close(k->tx_sock);
    jet_pool_reclaim(&s->pool, mine, &k->token);
    lan_unlock(s, k->me);
    lan_seg_close(s);
    free(k->bs);
    free(k);
}

uint32_t jet_lan_station(const struct jet_link *l)
{
    return ((const struct lan_link *)l)->me;
}

bool jet_lan_station_alive(struct jet_link *l, uint32_t st)
{
    struct lan_link *k = L(l);
    if (st >= k->nst)
        return false;
    if (st == k->me)
        return true;
    return lan_check_station(&k->seg, st);
}

void jet_lan_station_mac(const struct jet_link *l, uint32_t st, uint8_t mac[6])
{
    const struct lan_link *k = (const struct lan_link *)l;
    mac[0] = 0x02;
    mac[1] = 0x4a;
    mac[2] = 0x53;
    mac[3] = k->seg.g.mac[0];
    mac[4] = k->seg.g.mac[1];
    mac[5] = (uint8_t)st;
}

void jet_lan_station_stats(const struct jet_link *l, struct jet_lan_station_info *o)
{
    const struct lan_link *k = (const struct lan_link *)l;
    const struct lan_counters *c = k->c;
    memset(o, 0, sizeof *o);
    o->station = k->me;
    o->attached = true;
    o->pid = getpid();
    o->token = k->token;
    o->tx_frames = atomic_load(&c->tx_frames);
    o->tx_bytes = atomic_load(&c->tx_bytes);
    o->rx_frames = atomic_load(&c->rx_frames);
    o->rx_bytes = atomic_load(&c->rx_bytes);
    o->tx_unreach = atomic_load(&c->tx_unreach);
    o->fault_lost = atomic_load(&c->fault_lost);
    o->fault_corrupted = atomic_load(&c->fault_corrupted);
    o->fault_duplicated = atomic_load(&c->fault_duplicated);
    o->fault_reordered = atomic_load(&c->fault_reordered);
    o->rx_stale = atomic_load(&c->rx_stale);
    o->tx_dropped_close = atomic_load(&c->tx_dropped_close);
    o->shm_bad = atomic_load(&c->shm_bad);
}

static int lan_stats(struct jet_link *l, struct jet_link_stats *o)
{
    const struct lan_counters *c = L(l)->c;
    *o = (struct jet_link_stats){
        .tx_frames = atomic_load(&c->tx_frames),
        .tx_bytes = atomic_load(&c->tx_bytes),
        .rx_frames = atomic_load(&c->rx_frames),
        .rx_bytes = atomic_load(&c->rx_bytes),
        .tx_dropped = atomic_load(&c->tx_unreach) + atomic_load(&c->tx_dropped_close),
        .rx_dropped = atomic_load(&c->rx_stale) + atomic_load(&c->shm_bad),
        .faults = atomic_load(&c->fault_lost) + atomic_load(&c->fault_corrupted) +
                  atomic_load(&c->fault_duplicated) + atomic_load(&c->fault_reordered),
    };
    return 0;
}

void jet_lan_pool_stats(const struct jet_link *l, struct jet_pool_stats *out)
{
    jet_pool_get_stats(&((const struct lan_link *)l)->seg.pool, out);
}

static const struct jet_link_ops lan_ops = {
    .kind = "lan",
    .rx_burst = lan_rx_burst,
    .rx_release = lan_rx_release,
    .tx_alloc = lan_tx_alloc,
    .tx_abort = lan_tx_abort,
    .tx_commit = lan_tx_commit,
    .tx_flush = lan_flush,
    .tx_room = lan_tx_room,
    .wait = lan_wait,
    .fd = lan_fd,
    .arm = lan_arm,
    .reserve = lan_reserve,
    .stats = lan_stats,
    .close = lan_close,
};
