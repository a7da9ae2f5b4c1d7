/* Internal: one LAN station's private state (struct lan_link) and the
 * helpers its three files share.  lan.c opens with how the station works and
 * holds attach, detach and the ops table; lan_tx.c the magazine of buffers
 * and the transmit path (queue, faults, publish, waking receivers);
 * lan_rx.c the receive path (rx_burst, buffer returns, index repair) and
 * waiting (wait, fd, arm).  The segment layout is lan_impl.h.
 *
 * The small helpers both paths use per frame are static inline here: the
 * compiler inlined them when the station was one file, and still does.  The
 * functions declared below were out-of-line calls then too; they are hidden
 * (-fvisibility=hidden), so a call between these files costs what it did. */
#ifndef JET_LAN_LINK_H
#define JET_LAN_LINK_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "jet/link.h"
#include "link/fault.h"
#include "link/lan_impl.h"

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
    bool asym;        /* registered for membarrier: see lan_publish_tails */
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
    /* Copying for the monitor (lan_mon.c), while h->mon_token says one is
     * attached: our monitor ring's producer side. */
    uint32_t mon_tail, mon_head; /* next byte to write; last good consumer head seen */
    uint32_t mon_lost;           /* frames it had no room for (published as lost) */
    bool mon_dirty;              /* tail or lost to publish */
    uint64_t mon_check;          /* when a full ring last made us look whether it lives */
    int rx_sock; /* doorbell socket for jet_link_fd, -1 until asked for */
    int tx_sock; /* for ringing other stations' doorbell sockets, -1 until needed */
};

static inline struct lan_link *lan_link_of(struct jet_link *l)
{
    return (struct lan_link *)l;
}

static inline int lan_futex(_Atomic uint32_t *w, int op, uint32_t val, const struct timespec *ts)
{
    return (int)syscall(SYS_futex, (uint32_t *)w, op, val, ts, NULL, 0);
}

static inline void lan_bad(struct lan_link *k)
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

static inline int lan_broken_err(struct lan_link *k)
{
    return jet_err_set(&k->base.err, -EIO,
                       "station %u of LAN '%s' was overwritten in shared memory by another "
                       "process; this station stopped using the LAN",
                       k->me, k->seg.g.name);
}

/* Whether idx, read from the segment, names a buffer we handed away and
 * that has come back to us (its owner word is our token again). */
static inline bool lan_came_back(struct lan_link *k, uint32_t idx)
{
    return idx < k->seg.pool.nbufs && k->bs[idx] == BS_AWAY &&
           jet_pool_owner(&k->seg.pool, idx) == k->token;
}

/* Gives buffers we hold back to the pool (only those still owned by us). */
static inline void lan_buf_free(struct lan_link *k, const uint32_t *idx, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        k->bs[idx[i]] = BS_AWAY;
    if (jet_pool_free_owned(&k->seg.pool, idx, n, k->token) != n)
        lan_bad(k); /* an owner word had been overwritten: left to its new owner */
}

static inline uint8_t *lan_frame_data(struct lan_link *k, uint32_t idx)
{
    return jet_pool_buf(&k->seg.pool, idx) + k->headroom;
}

/* ---- lan_tx.c ---- */

/* A buffer from the magazine (BS_USE), or JET_POOL_NONE when the pool is empty. */
uint32_t lan_mag_get(struct lan_link *k);
/* Puts a buffer we use back in the magazine. */
void lan_mag_put(struct lan_link *k, uint32_t idx);
/* Sends the frame held back to be reordered, if its receiver has room. */
void lan_release_held(struct lan_link *k);
/* At attach: whether this process is registered for the expedited
 * membarrier that lets senders skip their fence (see lan_tx.c). */
bool lan_membarrier_register(void);
/* After setting our sleeping flag, before looking at the tails again. */
void lan_sleep_fence(struct lan_link *k);
/* Stores the tails of the rings written since the last call, wakes sleepers. */
void lan_publish_tails(struct lan_link *k);
/* The link ops (include/jet/link.h); lan.c's ops table names them. */
int lan_flush(struct jet_link *l);
int lan_tx_room(struct jet_link *l);
int lan_tx_alloc(struct jet_link *l, struct jet_frame *f);
void lan_tx_abort(struct jet_link *l, struct jet_frame *f);
int lan_tx_commit(struct jet_link *l, struct jet_frame *f);

/* ---- lan_mon.c ---- */

/* Whether a monitor is attached: the one shared flag a station reads, once
 * per flush (or per frame committed on the fast path). */
static inline bool lan_mon_on(const struct lan_link *k)
{
    return atomic_load_explicit(&k->seg.h->mon_token, memory_order_relaxed) != 0;
}
/* Copies the frame in e (as the sender wrote it, before the faults) into
 * our monitor ring, stamped at (the flush's start), or counts it lost there
 * when the ring is full. */
void lan_mon_copy(struct lan_link *k, const struct txq_ent *e, uint64_t at);
/* Publishes our monitor ring's tail (and lost count) and wakes a sleeping
 * monitor; when k->mon_dirty, BEFORE lan_publish_tails: a frame a receiver
 * answers is then in the monitor's ring before the answer can be. */
void lan_mon_publish(struct lan_link *k);
/* At attach: our producer indices, from the ring as we find it; returns
 * how many it found damaged (counted in shm_bad). */
uint32_t lan_mon_attach(struct lan_link *k);

/* ---- lan_rx.c ---- */

/* Publishes the return-ring tails of buffers given back since the last time. */
void lan_publish_returns(struct lan_link *k);
/* The link ops. */
int lan_rx_burst(struct jet_link *l, struct jet_frame *f, unsigned max);
void lan_rx_release(struct jet_link *l, struct jet_frame *f, unsigned n);
int lan_wait(struct jet_link *l, int64_t timeout_ns);
int lan_fd(struct jet_link *l);
int lan_arm(struct jet_link *l);

#endif
