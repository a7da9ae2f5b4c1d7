/* The loop link (include/jet/loop.h): ends of one network inside one
 * process; frames move between them by reference, nothing is shared with
 * another process.
 *
 * Memory.  A network has up to 64 slots, one per end number, each made at
 * the first attach to that number and kept until the network is freed (its
 * last end closes).  A slot holds what outlives one end: its pool of
 * LOOP_BUFS buffers and their holder words, its free list, its inboxes
 * (one SPSC ring per sending slot) and its return rings (one SPSC ring per
 * returning slot).  So a frame an end sent stays valid in its receiver
 * however long the sender has been closed, and a sender pushing into a peer
 * that is closing at that moment writes into memory that is still there.
 *
 * Ownership.  Buffer id = slot * LOOP_BUFS + index: ids are unique across the
 * network, so a station indexes its per-frame state by them whatever end
 * sent the frame (caps.buffers = 64 * LOOP_BUFS).  holder[index] is the token
 * of the end that holds the buffer (lent by tx_alloc or rx_burst, queued in
 * its transmit queue, or waiting in its inbox), 0 when it is at home (in the
 * owner's free list or on its way there in a return ring).  An op given a
 * frame checks the holder is the caller: a frame of another link, or one
 * given back twice, is refused.  Tokens are (generation << 8) | slot, new at
 * every attach, so an entry left for an earlier end of a slot is told apart.
 *
 * Moving a frame.  tx_commit: the sender sets the holder to the receiver's
 * token, writes an entry into the receiver's inbox for it and publishes the
 * tail (at once when nothing waits before it; else the frame joins the
 * sender's queue of LOOP_TXQ and goes on a later flush, in order per
 * destination).  rx_burst lends the entries; rx_release sets the holder to 0
 * and gives the buffer back: to the owner's free list if it is the caller's
 * own, else through the owner's return ring for the caller's slot, which the
 * owner empties into its free list when it runs out.
 *
 * Sleeping.  A waiting end sets its slot's `sleeping` word, fences, and looks
 * for work before sleeping on its doorbell (a futex) or in poll on its
 * eventfd; whoever gives it work (a frame, room in an inbox it sends to, a
 * returned buffer) publishes, fences, and rings it if the word is set.  One
 * fence per commit, burst or release call, no system call unless the peer
 * sleeps.
 *
 * Closing.  The end's slot token goes to 0 first; then, under the slot's
 * lock, every frame in its inboxes and every buffer it still holds goes back
 * to its owner (counted).  A sender that pushed into a slot it then finds
 * closed takes the lock and takes its own frames back (counted as its
 * tx_dropped).  The network registry (names under one mutex) is the only
 * process-wide state: loop names are a namespace like interface names. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "jet/frame.h"
#include "jet/loop.h"
#include "util/clock.h"

enum {
    ENDS = JET_LOOP_MAX_ENDS,
    BUFS = JET_LOOP_BUFFERS, /* per slot; a power of two */
    RING = 256,              /* entries of one inbox (sender -> receiver); a power of two */
    TXQ = 64,                /* frames an end keeps while their inbox is full */
    HEADROOM = 128,          /* bytes before frame data in each buffer, as on the LAN */
    ETH_MAX_HDR = 18,        /* Ethernet header with one VLAN tag */
    MAX_FRAME = JET_LOOP_MTU + JET_FRAME_HDR_LEN + 4 + ETH_MAX_HDR, /* either encapsulation */
    STRIDE = (HEADROOM + MAX_FRAME + 63) & ~63, /* data 64-byte aligned */
    BURST = 32,
    SLEEP_FUTEX = 1,
    SLEEP_FD = 2,
};
#define NAP_NS 100000000ull /* longest single sleep */
#define TXQ_NAP_NS 1000000ull /* ... while frames wait to go out */

/* One frame in an inbox: 16 bytes. */
struct ent {
    uint32_t buf;   /* network-wide buffer id */
    uint32_t len;
    uint32_t tok;   /* the receiver's token when sent */
    uint32_t encap;
};

/* SPSC ring, free-running indices, fill = tail - head.  The producer (the
 * sending slot's end) writes tail, the consumer (the receiving slot's end)
 * writes head; under the slot lock when that end is closed. */
struct inbox {
    _Alignas(64) _Atomic uint32_t tail;
    _Alignas(64) _Atomic uint32_t head;
    _Alignas(64) struct ent e[RING];
};

/* Buffers given back to the owning slot by one other slot.  Never full: it
 * holds distinct buffers of its owner, at most BUFS. */
struct retring {
    _Alignas(64) _Atomic uint32_t tail;
    _Alignas(64) _Atomic uint32_t head;
    _Alignas(64) uint32_t e[BUFS];
};

struct slot {
    uint32_t addr, gen;
    uint8_t *mem;            /* BUFS buffers of STRIDE bytes */
    _Atomic uint32_t *holder; /* per buffer: token of the end that holds it, 0 at home */
    uint32_t free[BUFS];     /* buffers at home; the slot's current end uses them */
    uint32_t nfree;
    pthread_mutex_t lock;    /* closing, attaching, and senders taking back frames
                                they pushed into a slot that closed */
    _Atomic int efd;         /* eventfd for jet_link_fd, -1 until asked for */
    _Alignas(64) _Atomic uint32_t token; /* the current end's token, 0 when none */
    _Atomic uint32_t sleeping;           /* SLEEP_* */
    _Alignas(64) _Atomic uint32_t doorbell;
    struct inbox in[ENDS];     /* in[src] */
    struct retring ret[ENDS];  /* ret[from] */
};

struct loop_net {
    struct loop_net *next;
    char name[JET_LOOP_NAME_MAX + 1];
    uint8_t mac[2];
    uint32_t ends;                   /* open ends (registry lock) */
    _Atomic uint64_t mask;           /* slots that exist */
    struct slot *_Atomic slot[ENDS]; /* set once, freed with the network */
};

/* An entry of the sender's queue. */
struct txe {
    uint32_t buf, len, tok;
    uint8_t encap, dst;
};

struct loop_end {
    struct jet_link base;
    struct loop_net *net;
    struct slot *me;
    uint32_t addr, token;
    uint32_t qn, rr;
    struct txe q[TXQ];
    uint64_t wake;                /* slots given work since the last fence */
    uint64_t sent;                /* ... of which inboxes pushed into */
    uint32_t sent_tok[ENDS];      /* the token pushed to, per slot in `sent` */
    uint32_t seen_head[ENDS];     /* last head read of the inbox we feed, per slot */
    struct jet_link_stats st;
};

static const struct jet_link_ops loop_ops;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct loop_net *nets; /* the loop namespace of this process */

static struct loop_end *E(struct jet_link *l)
{
    return (struct loop_end *)l;
}

static uint8_t *buf_data(const struct slot *s, uint32_t i)
{
    return s->mem + (size_t)i * STRIDE + HEADROOM;
}

static struct slot *slot_of(struct loop_net *n, uint32_t buf)
{
    uint32_t s = buf / BUFS;
    return s < ENDS ? atomic_load_explicit(&n->slot[s], memory_order_acquire) : NULL;
}

/* Whether f is a frame e holds now: its owner slot in *o. */
static bool held(struct loop_end *e, const struct jet_frame *f, struct slot **o)
{
    struct slot *s = slot_of(e->net, f->buf);
    uint32_t i = f->buf % BUFS;
    if (!s || f->data != buf_data(s, i) ||
        atomic_load_explicit(&s->holder[i], memory_order_relaxed) != e->token)
        return false;
    *o = s;
    return true;
}

/* Buffer i of slot o goes home; `from` is the slot giving it back (the
 * producer of o's return ring for it: the caller's own slot, or a closed
 * slot whose lock the caller holds).  Returns o's bit for the wake mask. */
static uint64_t give_back(struct slot *o, uint32_t i, uint32_t from)
{
    atomic_store_explicit(&o->holder[i], 0, memory_order_relaxed);
    if (o->addr == from) {
        o->free[o->nfree++] = i;
        return 0;
    }
    struct retring *r = &o->ret[from];
    uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    r->e[t % BUFS] = i;
    atomic_store_explicit(&r->tail, t + 1, memory_order_release);
    return 1ull << o->addr;
}

/* Wakes the end of slot p if it sleeps.  The caller published its work and
 * fenced. */
static void ring_bell(struct slot *p)
{
    if (!atomic_load_explicit(&p->sleeping, memory_order_relaxed))
        return;
    uint32_t how = atomic_exchange(&p->sleeping, 0);
    if (how & SLEEP_FUTEX) {
        atomic_fetch_add(&p->doorbell, 1);
        syscall(SYS_futex, &p->doorbell, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    }
    if (how & SLEEP_FD) {
        int fd = atomic_load(&p->efd);
        uint64_t one = 1;
        if (fd >= 0 && write(fd, &one, sizeof one) < 0) {
            /* the counter is full: it is readable anyway */
        }
    }
}

/* Takes back, under the lock of closed slot p, the frames e pushed into it. */
static void take_back(struct loop_end *e, struct slot *p)
{
    uint64_t wake = 0;
    pthread_mutex_lock(&p->lock);
    if (atomic_load(&p->token) == 0) {
        struct inbox *r = &p->in[e->addr];
        uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
        uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
        for (; h != t; h++) {
            struct ent x = r->e[h % RING];
            struct slot *o = slot_of(e->net, x.buf);
            if (o)
                wake |= give_back(o, x.buf % BUFS, p->addr);
            if (e->st.tx_frames) { /* (0: an earlier end of our slot pushed it) */
                e->st.tx_frames--;
                e->st.tx_bytes -= e->st.tx_bytes < x.len ? e->st.tx_bytes : x.len;
            }
            e->st.tx_dropped++;
        }
        atomic_store_explicit(&r->head, h, memory_order_release);
    }
    pthread_mutex_unlock(&p->lock);
    e->wake |= wake & ~(1ull << e->addr);
}

/* After publishing: one fence, then ring every slot given work, and take
 * back frames pushed into a slot whose end closed meanwhile. */
static void publish(struct loop_end *e)
{
    if (!e->wake)
        return;
    atomic_thread_fence(memory_order_seq_cst);
    while (e->wake) {
        uint64_t m = e->wake, sent = e->sent;
        e->wake = e->sent = 0;
        for (; m; m &= m - 1) {
            uint32_t d = (uint32_t)__builtin_ctzll(m);
            struct slot *p = atomic_load_explicit(&e->net->slot[d], memory_order_acquire);
            ring_bell(p);
            if ((sent >> d & 1) &&
                atomic_load_explicit(&p->token, memory_order_relaxed) != e->sent_tok[d])
                take_back(e, p); /* adds owners to wake: the loop goes round */
        }
        if (e->wake)
            atomic_thread_fence(memory_order_seq_cst);
    }
}

/* Puts one frame into slot d's inbox from us: false if it is full. */
static bool push(struct loop_end *e, struct slot *d, uint32_t tok, uint32_t buf, uint32_t len,
                 uint32_t encap)
{
    struct inbox *r = &d->in[e->addr];
    uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    if (t - e->seen_head[d->addr] >= RING) {
        e->seen_head[d->addr] = atomic_load_explicit(&r->head, memory_order_acquire);
        if (t - e->seen_head[d->addr] >= RING)
            return false;
    }
    struct slot *o = slot_of(e->net, buf);
    atomic_store_explicit(&o->holder[buf % BUFS], tok, memory_order_relaxed);
    r->e[t % RING] = (struct ent){.buf = buf, .len = len, .tok = tok, .encap = encap};
    atomic_store_explicit(&r->tail, t + 1, memory_order_release);
    e->st.tx_frames++;
    e->st.tx_bytes += len;
    e->wake |= 1ull << d->addr;
    e->sent |= 1ull << d->addr;
    e->sent_tok[d->addr] = tok;
    return true;
}

/* Token of the end at address a, 0 if none. */
static uint32_t token_at(struct loop_net *n, uint32_t a, struct slot **d)
{
    *d = a < ENDS ? atomic_load_explicit(&n->slot[a], memory_order_acquire) : NULL;
    return *d ? atomic_load_explicit(&(*d)->token, memory_order_acquire) : 0;
}

/* Gives back a buffer e holds (owner o). */
static void drop_buf(struct loop_end *e, struct slot *o, uint32_t buf)
{
    e->wake |= give_back(o, buf % BUFS, e->addr);
}

/* Moves queued frames whose inbox has room, in order per destination. */
static int loop_flush(struct jet_link *l)
{
    struct loop_end *e = E(l);
    uint64_t blocked = 0;
    uint32_t k = 0;
    for (uint32_t j = 0; j < e->qn; j++) {
        struct txe x = e->q[j];
        if (blocked >> x.dst & 1) {
            e->q[k++] = x;
            continue;
        }
        struct slot *d;
        if (token_at(e->net, x.dst, &d) != x.tok) {
            drop_buf(e, slot_of(e->net, x.buf), x.buf); /* its end closed: undeliverable */
            e->st.tx_dropped++;
            continue;
        }
        if (!push(e, d, x.tok, x.buf, x.len, x.encap)) {
            blocked |= 1ull << x.dst;
            e->q[k++] = x;
        }
    }
    e->qn = k;
    publish(e);
    return 0;
}

/* Sends a frame e holds to end dst (token tok): at once, or queued.  0, or
 * -ENOBUFS when the queue is full (the caller gives the buffer back). */
static int send_one(struct loop_end *e, struct slot *d, uint32_t tok, uint32_t buf, uint32_t len,
                    uint32_t encap)
{
    if (!e->qn && push(e, d, tok, buf, len, encap))
        return 0;
    if (e->qn == TXQ) {
        loop_flush(&e->base);
        if (e->qn == TXQ)
            return -ENOBUFS;
    }
    e->q[e->qn++] = (struct txe){.buf = buf, .len = len, .tok = tok, .encap = (uint8_t)encap,
                                 .dst = (uint8_t)d->addr};
    return 0;
}

static void harvest(struct loop_end *e)
{
    struct slot *m = e->me;
    for (uint64_t mask = atomic_load(&e->net->mask); mask; mask &= mask - 1) {
        struct retring *r = &m->ret[__builtin_ctzll(mask)];
        uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
        uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (h == t)
            continue;
        for (; h != t && m->nfree < BUFS; h++)
            m->free[m->nfree++] = r->e[h % BUFS];
        atomic_store_explicit(&r->head, h, memory_order_release);
    }
}

static bool returns_pending(struct loop_end *e)
{
    for (uint64_t mask = atomic_load(&e->net->mask); mask; mask &= mask - 1) {
        struct retring *r = &e->me->ret[__builtin_ctzll(mask)];
        if (atomic_load_explicit(&r->tail, memory_order_acquire) !=
            atomic_load_explicit(&r->head, memory_order_relaxed))
            return true;
    }
    return false;
}

/* ---- transmit ---- */

static int loop_tx_alloc(struct jet_link *l, struct jet_frame *f)
{
    struct loop_end *e = E(l);
    if (e->qn >= TXQ) {
        loop_flush(l);
        if (e->qn >= TXQ)
            return -EAGAIN;
    }
    struct slot *m = e->me;
    if (!m->nfree) {
        harvest(e);
        if (!m->nfree)
            return jet_err_set(&l->err, -ENOBUFS,
                               "all %u buffers of end %u are lent (receivers hold them); retry "
                               "later",
                               BUFS, e->addr);
    }
    uint32_t i = m->free[--m->nfree];
    atomic_store_explicit(&m->holder[i], e->token, memory_order_relaxed);
    *f = (struct jet_frame){.data = buf_data(m, i),
                            .cap = MAX_FRAME,
                            .buf = e->addr * BUFS + i,
                            .encap = JET_ENCAP_NATIVE};
    return 0;
}

static void loop_tx_abort(struct jet_link *l, struct jet_frame *f)
{
    struct loop_end *e = E(l);
    struct slot *o;
    if (held(e, f, &o)) {
        drop_buf(e, o, f->buf);
        publish(e);
    }
}

/* A broadcast: a copy in a buffer of our own to every other end, the frame
 * itself to the last. */
static int bcast(struct loop_end *e, struct jet_frame *f, struct slot *o)
{
    uint64_t peers = atomic_load(&e->net->mask) & ~(1ull << e->addr);
    uint32_t last = ENDS;
    for (uint64_t m = peers; m; m &= m - 1) {
        struct slot *d;
        if (token_at(e->net, (uint32_t)__builtin_ctzll(m), &d))
            last = (uint32_t)__builtin_ctzll(m);
    }
    if (last == ENDS) {
        e->st.tx_dropped++; /* nobody to hear it */
        drop_buf(e, o, f->buf);
        publish(e);
        return 0;
    }
    for (uint64_t m = peers; m; m &= m - 1) {
        uint32_t a = (uint32_t)__builtin_ctzll(m);
        struct slot *d;
        uint32_t tok = token_at(e->net, a, &d);
        if (!tok)
            continue;
        uint32_t buf = f->buf;
        struct slot *bo = o;
        if (a != last) {
            struct jet_frame c;
            if (loop_tx_alloc(&e->base, &c)) {
                e->st.tx_dropped++; /* no buffer for this copy */
                continue;
            }
            memcpy(c.data, f->data, f->len);
            buf = c.buf;
            bo = e->me;
        }
        if (send_one(e, d, tok, buf, f->len, f->encap)) {
            e->st.tx_dropped++;
            drop_buf(e, bo, buf);
        }
    }
    loop_flush(&e->base);
    return 0;
}

static int loop_tx_commit(struct jet_link *l, struct jet_frame *f)
{
    struct loop_end *e = E(l);
    struct slot *o, *d;
    if (!held(e, f, &o))
        return jet_err_set(&l->err, -EINVAL, "frame does not belong to this link");
    const uint8_t *p = f->data;
    uint32_t dst;
    int rc;
    if (f->encap == JET_ENCAP_NATIVE) {
        if (f->len < JET_FRAME_HDR_LEN) {
            rc = jet_err_set(&l->err, -EINVAL, "native frame of %u bytes is shorter than a header",
                             f->len);
            goto drop;
        }
        if (f->len > JET_LOOP_MTU + JET_FRAME_HDR_LEN + 4) {
            rc = jet_err_set(&l->err, -EMSGSIZE,
                             "frame of %u bytes exceeds the loop MTU (%u-byte payload)", f->len,
                             JET_LOOP_MTU);
            goto drop;
        }
        dst = (uint32_t)p[4] << 8 | p[5];
    } else if (f->encap == JET_ENCAP_ETH) {
        if (f->len < 14) {
            rc = jet_err_set(&l->err, -EINVAL, "Ethernet frame of %u bytes is too short", f->len);
            goto drop;
        }
        if (f->len > JET_LOOP_MTU + ETH_MAX_HDR) {
            rc = jet_err_set(&l->err, -EMSGSIZE, "Ethernet frame of %u bytes exceeds the loop MTU (%u)",
                             f->len, JET_LOOP_MTU);
            goto drop;
        }
        if (p[0] & 1)
            dst = JET_STATION_BROADCAST;
        else if (p[0] == 0x02 && p[1] == 0x4a && p[2] == 0x4c && p[3] == e->net->mac[0] &&
                 p[4] == e->net->mac[1] && p[5] < ENDS)
            dst = p[5];
        else {
            e->st.tx_dropped++;
            rc = jet_err_set(&l->err, -EHOSTUNREACH,
                             "destination %02x:%02x:%02x:%02x:%02x:%02x is not an end of loop '%s'",
                             p[0], p[1], p[2], p[3], p[4], p[5], e->net->name);
            goto drop;
        }
    } else {
        rc = jet_err_set(&l->err, -EINVAL, "unknown encapsulation %u", f->encap);
        goto drop;
    }
    if (dst == JET_STATION_BROADCAST)
        return bcast(e, f, o);
    uint32_t tok = token_at(e->net, dst, &d);
    if (!tok) {
        e->st.tx_dropped++;
        rc = jet_err_set(&l->err, -EHOSTUNREACH, "no end %u is attached to loop '%s'", dst,
                         e->net->name);
        goto drop;
    }
    if (send_one(e, d, tok, f->buf, f->len, f->encap)) {
        e->st.tx_dropped++;
        rc = jet_err_set(&l->err, -ENOBUFS, "transmit queue full (allocate before committing)");
        goto drop;
    }
    publish(e);
    return 0;
drop:
    drop_buf(e, o, f->buf);
    publish(e);
    return rc;
}

static int loop_tx_room(struct jet_link *l)
{
    return E(l)->qn ? 0 : TXQ;
}

/* ---- receive ---- */

static int loop_rx_burst(struct jet_link *l, struct jet_frame *f, unsigned max)
{
    struct loop_end *e = E(l);
    struct slot *m = e->me;
    if (e->qn)
        loop_flush(l);
    if (atomic_load_explicit(&m->sleeping, memory_order_relaxed))
        atomic_store_explicit(&m->sleeping, 0, memory_order_relaxed); /* awake: no doorbells */
    unsigned n = 0;
    uint64_t bytes = 0, mask = atomic_load_explicit(&e->net->mask, memory_order_acquire);
    /* round-robin over the sending slots, starting after the last one served first */
    uint64_t order = (mask >> e->rr) | (e->rr ? mask << (ENDS - e->rr) : 0);
    for (; order && n < max; order &= order - 1) {
        uint32_t src = ((uint32_t)__builtin_ctzll(order) + e->rr) % ENDS;
        struct inbox *r = &m->in[src];
        uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
        uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (h == t)
            continue;
        for (; h != t && n < max; h++) {
            struct ent x = r->e[h % RING];
            struct slot *o = slot_of(e->net, x.buf);
            if (x.tok != e->token || !o || x.len > MAX_FRAME) {
                if (o) /* left for an earlier end of this slot */
                    e->wake |= give_back(o, x.buf % BUFS, e->addr);
                e->st.rx_dropped++;
                continue;
            }
            f[n] = (struct jet_frame){.data = buf_data(o, x.buf % BUFS),
                                      .len = x.len,
                                      .cap = MAX_FRAME,
                                      .buf = x.buf,
                                      .encap = (uint8_t)x.encap};
            bytes += x.len;
            n++;
        }
        atomic_store_explicit(&r->head, h, memory_order_release);
        e->wake |= 1ull << src; /* room opened in its inbox to us: it may wait for it */
    }
    e->rr = (e->rr + 1) % ENDS;
    e->wake &= ~(1ull << e->addr);
    e->st.rx_frames += n;
    e->st.rx_bytes += bytes;
    publish(e);
    return (int)n;
}

static void loop_rx_release(struct jet_link *l, struct jet_frame *f, unsigned n)
{
    struct loop_end *e = E(l);
    for (unsigned i = 0; i < n; i++) {
        struct slot *o;
        if (held(e, &f[i], &o)) /* else not a frame this end holds: nothing to give back */
            drop_buf(e, o, f[i].buf);
    }
    publish(e);
}

/* ---- waiting ---- */

/* Whether the end has something to do now: a frame to take, queued frames
 * that can go, or (its free list empty) buffers given back.  Called with
 * `sleeping` set and fenced. */
static bool work(struct loop_end *e)
{
    struct slot *m = e->me;
    for (uint64_t mask = atomic_load(&e->net->mask); mask; mask &= mask - 1) {
        struct inbox *r = &m->in[__builtin_ctzll(mask)];
        if (atomic_load_explicit(&r->tail, memory_order_acquire) !=
            atomic_load_explicit(&r->head, memory_order_relaxed))
            return true;
    }
    if (e->qn) {
        uint32_t before = e->qn;
        loop_flush(&e->base);
        if (e->qn < before)
            return true;
    }
    return !m->nfree && returns_pending(e);
}

static int loop_wait(struct jet_link *l, int64_t timeout_ns)
{
    struct loop_end *e = E(l);
    struct slot *m = e->me;
    uint64_t now = jet_now_ns();
    uint64_t until = timeout_ns < 0 ? UINT64_MAX : now + (uint64_t)timeout_ns;
    int rc = 0;
    for (;;) {
        uint32_t bell = atomic_load(&m->doorbell);
        atomic_store(&m->sleeping, SLEEP_FUTEX);
        atomic_thread_fence(memory_order_seq_cst);
        if (work(e) || now >= until)
            break;
        uint64_t nap = e->qn ? TXQ_NAP_NS : NAP_NS; /* a peer that closes rings nobody */
        uint64_t wake = until - now < nap ? until : now + nap, d = wake - now;
        struct timespec ts = {(time_t)(d / 1000000000u), (long)(d % 1000000000u)};
        long fr = syscall(SYS_futex, &m->doorbell, FUTEX_WAIT_PRIVATE, bell, &ts, NULL, 0);
        int fe = errno;
        if (fr == 0 || fe != ETIMEDOUT) {
            if (fr < 0 && fe == EINTR)
                rc = -EINTR;
            break; /* rung, or the doorbell moved before we slept */
        }
        now = jet_now_ns();
        if (now >= until)
            break;
    }
    atomic_store(&m->sleeping, 0);
    return rc;
}

static int loop_fd(struct jet_link *l)
{
    struct slot *m = E(l)->me;
    int fd = atomic_load(&m->efd);
    if (fd >= 0)
        return fd;
    pthread_mutex_lock(&m->lock);
    fd = atomic_load(&m->efd);
    int fe = 0;
    if (fd < 0) {
        fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        fe = errno;
        if (fd >= 0)
            atomic_store(&m->efd, fd);
    }
    pthread_mutex_unlock(&m->lock);
    if (fd < 0)
        return jet_err_set(&l->err, -fe, "eventfd: %s", strerror(fe));
    return fd;
}

static int loop_arm(struct jet_link *l)
{
    struct loop_end *e = E(l);
    int fd = loop_fd(l);
    if (fd < 0)
        return fd;
    uint64_t v;
    if (read(fd, &v, sizeof v) < 0) {
        /* not readable: nothing to clear */
    }
    atomic_store(&e->me->sleeping, SLEEP_FD);
    atomic_thread_fence(memory_order_seq_cst);
    return work(e) ? 1 : 0;
}

static int loop_stats(struct jet_link *l, struct jet_link_stats *out)
{
    *out = E(l)->st;
    return 0;
}

/* ---- attach and close ---- */

/* Gives back every frame waiting in slot m's inboxes. Slot lock held. */
static uint64_t drain_inboxes(struct loop_net *n, struct slot *m, uint64_t *count)
{
    uint64_t wake = 0;
    for (uint64_t mask = atomic_load(&n->mask); mask; mask &= mask - 1) {
        struct inbox *r = &m->in[__builtin_ctzll(mask)];
        uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
        uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
        for (; h != t; h++) {
            struct slot *o = slot_of(n, r->e[h % RING].buf);
            if (o)
                wake |= give_back(o, r->e[h % RING].buf % BUFS, m->addr);
            ++*count;
        }
        atomic_store_explicit(&r->head, h, memory_order_release);
    }
    return wake;
}

static void free_net(struct loop_net *n)
{
    for (uint32_t a = 0; a < ENDS; a++) {
        struct slot *s = n->slot[a];
        if (!s)
            continue;
        if (s->efd >= 0)
            close(s->efd);
        pthread_mutex_destroy(&s->lock);
        free(s->mem);
        free(s->holder);
        free(s);
    }
    free(n);
}

static struct slot *slot_new(uint32_t addr)
{
    size_t size = (sizeof(struct slot) + 63) & ~(size_t)63;
    struct slot *s = aligned_alloc(64, size);
    if (!s)
        return NULL;
    memset(s, 0, size);
    s->mem = aligned_alloc(64, (size_t)BUFS * STRIDE);
    s->holder = calloc(BUFS, sizeof *s->holder);
    if (!s->mem || !s->holder) {
        free(s->mem);
        free(s->holder);
        free(s);
        return NULL;
    }
    s->addr = addr;
    atomic_init(&s->efd, -1);
    pthread_mutex_init(&s->lock, NULL);
    for (uint32_t i = 0; i < BUFS; i++)
        s->free[i] = BUFS - 1 - i; /* handed out from 0 up */
    s->nfree = BUFS;
    return s;
}

static bool name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > JET_LOOP_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || (c == '.' && i > 0)))
            return false;
    }
    return true;
}

/* The network named name, made if new. Registry lock held. */
static struct loop_net *net_get(const char *name)
{
    for (struct loop_net *n = nets; n; n = n->next)
        if (!strcmp(n->name, name))
            return n;
    struct loop_net *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    strcpy(n->name, name);
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    n->mac[0] = (uint8_t)(h >> 24);
    n->mac[1] = (uint8_t)(h >> 16);
    n->next = nets;
    nets = n;
    return n;
}

static void net_put(struct loop_net *n)
{
    pthread_mutex_lock(&reg_lock);
    if (--n->ends == 0) {
        for (struct loop_net **pp = &nets; *pp; pp = &(*pp)->next)
            if (*pp == n) {
                *pp = n->next;
                break;
            }
        free_net(n);
    }
    pthread_mutex_unlock(&reg_lock);
}

int jet_loop_attach(const char *name, int addr, struct jet_link **out, struct jet_err *err)
{
    if (!name_ok(name))
        return jet_err_set(err, -EINVAL, "loop: name must be 1 to %d of A-Z a-z 0-9 _ - . "
                                         "(not starting with '.')",
                           JET_LOOP_NAME_MAX);
    if (addr < -1 || addr >= ENDS)
        return jet_err_set(err, -ERANGE, "loop '%s' has no end %d (0 to %d)", name, addr,
                           ENDS - 1);
    struct loop_end *e = calloc(1, sizeof *e);
    if (!e)
        return jet_err_set(err, -ENOMEM, "out of memory");
    int rc = 0;
    pthread_mutex_lock(&reg_lock);
    struct loop_net *n = net_get(name);
    if (!n) {
        rc = jet_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    if (addr < 0) {
        for (int a = 0; a < ENDS && addr < 0; a++)
            if (!n->slot[a] || !atomic_load(&n->slot[a]->token))
                addr = a;
        if (addr < 0) {
            rc = jet_err_set(err, -EBUSY, "loop '%s' has all its %d ends attached", name, ENDS);
            goto out;
        }
    } else if (n->slot[addr] && atomic_load(&n->slot[addr]->token)) {
        rc = jet_err_set(err, -EADDRINUSE, "end %d of loop '%s' is attached already", addr, name);
        goto out;
    }
    struct slot *s = n->slot[addr];
    if (!s) {
        s = slot_new((uint32_t)addr);
        if (!s) {
            rc = jet_err_set(err, -ENOMEM, "out of memory for the buffers of end %d", addr);
            goto out;
        }
        atomic_store_explicit(&n->slot[addr], s, memory_order_release);
        atomic_fetch_or(&n->mask, 1ull << addr);
    }
    e->net = n;
    e->me = s;
    e->addr = (uint32_t)addr;
    pthread_mutex_lock(&s->lock);
    /* Frames a sender pushed after the last end closed, and buffers given
     * back meanwhile, are dealt with before anyone can see the new token. */
    e->wake = drain_inboxes(n, s, &e->st.rx_dropped);
    harvest(e);
    s->gen = (s->gen + 1) & 0xffffff;
    if (!s->gen)
        s->gen = 1;
    e->token = s->gen << 8 | (uint32_t)addr;
    atomic_store(&s->sleeping, 0);
    atomic_store(&s->token, e->token);
    pthread_mutex_unlock(&s->lock);
    n->ends++;
out:
    if (rc && n && n->ends == 0 && !n->mask) {
        nets = n->next; /* made just now, at the head */
        free(n);
    }
    pthread_mutex_unlock(&reg_lock);
    if (rc) {
        free(e);
        return rc;
    }
    e->base.ops = &loop_ops;
    e->base.caps = (struct jet_link_caps){.addr = e->addr,
                                          .has_mac = true,
                                          .mtu = JET_LOOP_MTU,
                                          .max_frame = MAX_FRAME,
                                          .burst = BURST,
                                          .buffers = ENDS * BUFS,
                                          .zero_copy = true,
                                          .native = true,
                                          .eth = true};
    jet_loop_mac(&e->base, e->addr, e->base.caps.mac);
    snprintf(e->base.name, sizeof e->base.name, "loop:%s", name);
    publish(e);
    *out = &e->base;
    return 0;
}

static void loop_close(struct jet_link *l)
{
    struct loop_end *e = E(l);
    struct slot *m = e->me;
    loop_flush(l);
    for (uint32_t j = 0; j < e->qn; j++) /* their inbox stayed full: counted, never silent */
        drop_buf(e, slot_of(e->net, e->q[j].buf), e->q[j].buf);
    e->st.tx_dropped += e->qn;
    e->qn = 0;
    atomic_store(&m->token, 0);
    atomic_store(&m->sleeping, 0);
    atomic_thread_fence(memory_order_seq_cst); /* a sender that missed the 0 is seen below */
    pthread_mutex_lock(&m->lock);
    e->wake |= drain_inboxes(e->net, m, &e->st.rx_dropped);
    /* Buffers the application still holds (it should have given them back). */
    for (uint64_t mask = atomic_load(&e->net->mask); mask; mask &= mask - 1) {
        struct slot *o = e->net->slot[__builtin_ctzll(mask)];
        for (uint32_t i = 0; i < BUFS; i++)
            if (atomic_load_explicit(&o->holder[i], memory_order_relaxed) == e->token)
                e->wake |= give_back(o, i, e->addr);
    }
    pthread_mutex_unlock(&m->lock);
    e->wake &= ~(1ull << e->addr);
    e->sent = 0;
    publish(e);
    net_put(e->net);
    free(e);
}

void jet_loop_mac(const struct jet_link *l, uint32_t addr, uint8_t mac[6])
{
    const struct loop_end *e = (const struct loop_end *)l;
    mac[0] = 0x02;
    mac[1] = 0x4a;
    mac[2] = 0x4c;
    mac[3] = e->net->mac[0];
    mac[4] = e->net->mac[1];
    mac[5] = (uint8_t)addr;
}

static int loop_peer_alive(struct jet_link *l, uint32_t addr)
{
    struct slot *d;
    return token_at(((struct loop_end *)l)->net, addr, &d) != 0;
}

static const struct jet_link_ops loop_ops = {
    .kind = "loop",
    .rx_burst = loop_rx_burst,
    .rx_release = loop_rx_release,
    .tx_alloc = loop_tx_alloc,
    .tx_abort = loop_tx_abort,
    .tx_commit = loop_tx_commit,
    .tx_flush = loop_flush,
    .tx_room = loop_tx_room,
    .wait = loop_wait,
    .fd = loop_fd,
    .arm = loop_arm,
    .stats = loop_stats,
    .peer_alive = loop_peer_alive,
    .close = loop_close,
};
