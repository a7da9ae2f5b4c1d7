/* Stations and channels: the driver's receive side (include/jet/chan.h).
 *
 * Order of work in jet_station_poll():
 *   1. frames held back by a full JET_DROP_BACKPRESSURE channel are tried
 *      again first, in arrival order; while the first still finds no room,
 *      nothing more is taken from the link (that is the back-pressure);
 *   2. a burst from the link is demultiplexed frame by frame (demux_one):
 *      header check -> addressed to us -> channel lookup -> payload CRC
 *      (unless the channel's policy defers it to the protocol) ->
 *      the channel's queue policy -> appended to the channel's queue;
 *   3. the protocols attached to the station (jet/stack.h) run their poll
 *      hooks: they take the frames of their channels, run due timers, send;
 *   4. transmit work the link has queued is pushed on (jet_link_tx_flush),
 *      then frames waiting in the transmit service's classes (txsvc.c).
 *
 * Queues: a channel's receive queue is a singly linked list threaded
 * through per-buffer arrays (rx[buf], next[buf]), so queueing never copies a
 * frame nor allocates, and head drop and tail drop are O(1).  The channel
 * table is an open-addressing hash of channel ids, O(1) for any number of
 * channels. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "chan/chan_impl.h"
#include "chan/stack_impl.h"
#include "jet/crc32c.h"
#include "jet/frame.h"
#include "jet/inet.h"
#include "jet/lan.h"
#include "util/clock.h"
#include "util/prefetch.h"

#define NONE UINT32_MAX

/* ---- memory for many channels ----
 * With tens of thousands of channels, demultiplexing touches a random
 * table slot and a random channel per frame.  On 4 KiB pages every one of
 * those is also a TLB miss; so the table and the channels live in 2 MiB
 * blocks the kernel may back with huge pages (MADV_HUGEPAGE). */
#define BIG (2u << 20)

static void *big_alloc(size_t bytes)
{
    if (bytes < BIG / 4) /* from 512 KiB up, a 2 MiB page is worth its slack */
        return calloc(1, bytes);
    size_t n = (bytes + BIG - 1) & ~(size_t)(BIG - 1);
    void *p = aligned_alloc(BIG, n);
    if (!p)
        return NULL;
    madvise(p, n, MADV_HUGEPAGE); /* a hint: fine if it is not taken */
    memset(p, 0, bytes);
    return p;
}

/* Channel structs come from slabs of CHAN_SLAB; a channel's index names its
 * slab and place, and its receive queue in s->q, so a table slot holds the
 * id and the index in 8 bytes (65,536 channels: a 1 MiB table). */
static struct jet_chan *chan_alloc(struct jet_station *s)
{
    if (!s->chan_free) {
        if (s->nslab == s->slab_cap) {
            uint32_t cap = s->slab_cap ? s->slab_cap * 2 : 4;
            uint8_t **n = realloc(s->slab, cap * sizeof *n);
            if (!n)
                return NULL;
            s->slab = n;
            s->slab_cap = cap;
        }
        if ((uint64_t)(s->nslab + 1) * CHAN_SLAB >= UINT32_MAX)
            return NULL;
        uint32_t base = s->nslab * CHAN_SLAB;
        struct chan_q *q = big_alloc((size_t)(base + CHAN_SLAB) * sizeof *q);
        if (!q)
            return NULL;
        uint8_t *b = big_alloc(sizeof(struct jet_chan) * CHAN_SLAB);
        if (!b) {
            free(q);
            return NULL;
        }
        if (base)
            memcpy(q, s->q, (size_t)base * sizeof *q);
        free(s->q);
        s->q = q;
        s->slab[s->nslab++] = b;
        for (uint32_t i = CHAN_SLAB; i-- > 0;) {
            struct jet_chan *c = (struct jet_chan *)b + i;
            c->idx = base + i;
            c->s = (struct jet_station *)s->chan_free; /* free list through ->s */
            s->chan_free = c;
        }
    }
    struct jet_chan *c = s->chan_free;
    s->chan_free = (struct jet_chan *)c->s;
    uint32_t idx = c->idx;
    memset(c, 0, sizeof *c);
    c->idx = idx;
    return c;
}

static void chan_free(struct jet_station *s, struct jet_chan *c)
{
    c->id = 0;
    c->s = (struct jet_station *)s->chan_free;
    s->chan_free = c;
}

static uint32_t hash_id(uint32_t id, uint32_t bits)
{
    return (id * 0x9e3779b1u) >> (32 - bits);
}

uint32_t chan_ref(const struct jet_station *s, uint32_t id)
{
    if (id < DIR_IDS)
        return id < s->dircap ? s->dir[id] : 0;
    uint32_t mask = s->tcap - 1;
    for (uint32_t i = hash_id(id, s->tbits);; i = (i + 1) & mask) {
        const struct chan_slot *t = &s->table[i];
        if (!t->ref)
            return 0;
        if (t->id == id)
            return t->ref;
    }
}

struct jet_chan *chan_lookup(const struct jet_station *s, uint32_t id)
{
    uint32_t ref = chan_ref(s, id);
    return ref ? chan_at(s, ref - 1) : NULL;
}

/* Ids below DIR_IDS: the directory, grown to the next power of two above
 * the largest such id opened (at most 512 KiB). */
static int dir_insert(struct jet_station *s, struct jet_chan *c)
{
    if (c->id >= s->dircap) {
        uint32_t ncap = s->dircap ? s->dircap : 64;
        while (ncap <= c->id)
            ncap *= 2;
        uint32_t *nd = big_alloc((size_t)ncap * sizeof *nd);
        if (!nd)
            return -ENOMEM;
        if (s->dircap)
            memcpy(nd, s->dir, (size_t)s->dircap * sizeof *nd);
        free(s->dir);
        s->dir = nd;
        s->dircap = ncap;
    }
    s->dir[c->id] = c->idx + 1;
    s->nchan++;
    return 0;
}

static int table_insert(struct jet_station *s, struct jet_chan *c)
{
    if (c->id < DIR_IDS)
        return dir_insert(s, c);
    if ((uint64_t)(s->nhash + 1) * 4 > (uint64_t)s->tcap * 3) { /* load <= 3/4 */
        uint32_t nbits = s->tbits + 1, ncap = 1u << nbits;
        struct chan_slot *nt = big_alloc((size_t)ncap * sizeof *nt);
        if (!nt)
            return -ENOMEM;
        for (uint32_t i = 0; i < s->tcap; i++) {
            if (!s->table[i].ref)
                continue;
            uint32_t j = hash_id(s->table[i].id, nbits);
            while (nt[j].ref)
                j = (j + 1) & (ncap - 1);
            nt[j] = s->table[i];
        }
        free(s->table);
        s->table = nt;
        s->tbits = nbits;
        s->tcap = ncap;
    }
    uint32_t mask = s->tcap - 1, i = hash_id(c->id, s->tbits);
    while (s->table[i].ref)
        i = (i + 1) & mask;
    s->table[i] = (struct chan_slot){c->id, c->idx + 1};
    s->nhash++;
    s->nchan++;
    return 0;
}

/* Linear-probing deletion with backward shift (no tombstones). */
static void table_remove(struct jet_station *s, struct jet_chan *c)
{
    s->nchan--;
    if (c->id < DIR_IDS) {
        s->dir[c->id] = 0;
        return;
    }
    s->nhash--;
    uint32_t mask = s->tcap - 1, i = hash_id(c->id, s->tbits);
    while (s->table[i].ref != c->idx + 1)
        i = (i + 1) & mask;
    s->table[i] = (struct chan_slot){0, 0};
    for (uint32_t j = (i + 1) & mask; s->table[j].ref; j = (j + 1) & mask) {
        uint32_t home = hash_id(s->table[j].id, s->tbits);
        if (lp_moves_back(i, j, home)) {
            s->table[i] = s->table[j];
            s->table[j] = (struct chan_slot){0, 0};
            i = j;
        }
    }
}

/* ---- stations ---- */

int jet_station_wrap(struct jet_link *l, struct jet_station **out, struct jet_err *err)
{
    struct jet_station *s = calloc(1, sizeof *s);
    if (!s) {
        jet_link_close(l);
        return jet_err_set(err, -ENOMEM, "out of memory");
    }
    s->link = l;
    s->nbufs = l->caps.buffers;
    s->rx = calloc(s->nbufs ? s->nbufs : 1, sizeof *s->rx);
    s->next = calloc(s->nbufs ? s->nbufs : 1, sizeof *s->next);
    s->tbits = 4;
    s->tcap = 1u << s->tbits;
    s->table = calloc(s->tcap, sizeof *s->table);
    if (!s->rx || !s->next || !s->table || s->nbufs == 0) {
        free(s->rx);
        free(s->next);
        free(s->table);
        free(s);
        jet_link_close(l);
        return jet_err_set(err, -ENOMEM, "out of memory for the channel table");
    }
    s->addr = l->caps.addr;
    s->timestamps = true;
    txsvc_init(&s->tx, l);
    *out = s;
    return 0;
}

int jet_station_open(const char *link, int station, struct jet_station **out, struct jet_err *err)
{
    struct jet_link *l;
    struct jet_link_opts o = {.station = station};
    int rc = jet_link_open(link, &o, &l, err);
    if (rc)
        return rc;
    return jet_station_wrap(l, out, err);
}

void jet_station_close(struct jet_station *s)
{
    if (!s)
        return;
    stack_close(s); /* protocols first: they close their own channels */
    statpub_close(s);
    /* by slab index: closing moves nothing there (the table it may reshuffle) */
    for (uint32_t i = 0; s->nchan && i < s->nslab * CHAN_SLAB; i++)
        if (chan_at(s, i)->id)
            jet_chan_close(chan_at(s, i));
    if (s->stall_n > s->stall_i)
        jet_link_rx_release(s->link, s->stall + s->stall_i, s->stall_n - s->stall_i);
    txsvc_close(&s->tx, s->link); /* frames still waiting for the link: a while to leave */
    jet_link_close(s->link);
    for (uint32_t i = 0; i < s->nslab; i++)
        free(s->slab[i]);
    free(s->slab);
    free(s->q);
    free(s->rx);
    free(s->next);
    free(s->table);
    free(s->dir);
    free(s->defer);
    steer_free(s);
    free(s);
}

uint32_t jet_station_addr(const struct jet_station *s)
{
    return s->addr;
}

struct jet_link *jet_station_link(struct jet_station *s)
{
    return s->link;
}

const char *jet_station_error(const struct jet_station *s)
{
    return s->err.msg[0] ? s->err.msg : s->link->err.msg;
}

void jet_station_stats(const struct jet_station *s, struct jet_station_stats *o)
{
    *o = s->st;
    o->channels = s->nchan;
}

void jet_station_busy_poll(struct jet_station *s, bool on)
{
    s->busy_poll = on;
}

void jet_station_timestamps(struct jet_station *s, bool on)
{
    s->timestamps = on;
}

void jet_station_each_chan(struct jet_station *s, void (*fn)(struct jet_chan *c, void *arg),
                           void *arg)
{
    /* by slab index, up to the last open channel (fn may close the one it is given) */
    for (uint32_t i = 0, seen = 0, n = s->nchan; seen < n && i < s->nslab * CHAN_SLAB; i++)
        if (chan_at(s, i)->id) {
            seen++;
            fn(chan_at(s, i), arg);
        }
}

/* ---- demultiplexing ---- */

static void drop(struct jet_station *s, struct jet_frame *f, uint64_t *counter)
{
    (*counter)++;
    jet_link_rx_release(s->link, f, 1);
}

/* The caller checked there is room (full()). */
static void enqueue(struct jet_station *s, struct chan_q *q, uint32_t buf, uint32_t len)
{
    s->next[buf] = NONE;
    if (q->tail == NONE)
        q->head = buf;
    else
        s->next[q->tail] = buf;
    q->tail = buf;
    q->room_frames--;
    q->room_bytes -= len;
    s->queued++;
}

uint32_t chan_dequeue(struct jet_chan *c)
{
    struct jet_station *s = c->s;
    struct chan_q *q = chan_q(c);
    uint32_t buf = q->head;
    if (buf == NONE)
        return NONE;
    /* the queue only grows between dequeues: its high-water mark is one of
     * the lengths it had just before one (or its length now) */
    uint32_t n = c->queue_frames - q->room_frames;
    if (n > c->qn_hwm)
        c->qn_hwm = n;
    q->head = s->next[buf];
    if (q->head == NONE)
        q->tail = NONE;
    q->room_frames++;
    q->room_bytes += s->rx[buf].len;
    s->queued--;
    return buf;
}

static bool full(const struct chan_q *q, uint32_t len)
{
    return q->room_frames == 0 || len > q->room_bytes;
}

/* Whether queue ref has room for a frame of len bytes; when it has not and
 * the channel applies back-pressure, the frame must wait (returns 1: it and
 * the rest stay in stall[]).  Else 0, with *is_full set. */
static inline int must_wait(struct jet_station *s, uint32_t ref, uint32_t len, bool *is_full)
{
    *is_full = full(&s->q[ref - 1], len);
    if (*is_full) {
        struct jet_chan *c = chan_at(s, ref - 1);
        if (c->p.drop == JET_DROP_BACKPRESSURE) {
            if (s->stall_chan != c) { /* a new wait, not the same frame tried again */
                s->stall_chan = c;
                c->st.backpressured++;
            }
            return 1;
        }
    }
    s->stall_chan = NULL;
    return 0;
}

/* A full queue under drop-newest or drop-oldest: false when the arriving
 * frame is the one dropped, true once the oldest made room for it. */
static inline bool make_room(struct jet_station *s, struct jet_frame *f, uint32_t ref,
                             uint32_t len)
{
    struct jet_chan *c = chan_at(s, ref - 1);
    if (c->p.drop == JET_DROP_NEWEST || len > c->p.queue_bytes) {
        drop(s, f, &c->st.dropped_policy);
        return false;
    }
    while (full(&s->q[ref - 1], len)) { /* JET_DROP_OLDEST */
        uint32_t old = chan_dequeue(c);
        drop(s, &s->rx[old].f, &c->st.dropped_policy);
    }
    return true;
}

/* Channels whose policy defers the payload CRC to the protocol: one bit per
 * channel idx, read for every frame that carries a CRC (8 KiB for 65,536
 * channels: it stays in cache, where the channel structs would not). */
static inline bool defers_crc(const struct jet_station *s, uint32_t idx)
{
    return idx < s->defer_bits && (s->defer[idx / 64] >> (idx % 64) & 1);
}

static int defer_set(struct jet_station *s, uint32_t idx, bool on)
{
    if (idx >= s->defer_bits) {
        if (!on)
            return 0;
        uint32_t bits = s->nslab * CHAN_SLAB; /* every idx there is (CHAN_SLAB % 64 == 0) */
        uint64_t *d = realloc(s->defer, bits / 8);
        if (!d)
            return -ENOMEM;
        memset(d + s->defer_bits / 64, 0, (bits - s->defer_bits) / 8);
        s->defer = d;
        s->defer_bits = bits;
    }
    if (on)
        s->defer[idx / 64] |= 1ull << (idx % 64);
    else
        s->defer[idx / 64] &= ~(1ull << (idx % 64));
    return 0;
}

/* Native Jetstream frame at f->data + off (off: an Ethernet header before
 * it, or 0).  Returns 0 when the frame was consumed (queued or dropped), 1
 * when it must wait for room (back-pressure).  ref: the lookup stage's
 * result for the same header bytes (the header check here passes only if
 * they are the channel id): the channel's idx + 1, 0 when no channel has
 * that id.  A frame that is queued touches only its channel's struct
 * chan_q. */
static inline int demux_native(struct jet_station *s, struct jet_frame *f, uint32_t off,
                               uint64_t now, uint32_t ref)
{
    struct jet_frame_hdr h;
    if (jet_frame_parse(f->data + off, f->len - off, &h, JET_PARSE_NO_PAYLOAD_CRC) != 0) {
        drop(s, f, &s->st.dropped_header);
        return 0;
    }
    if (h.dst_station != s->addr && h.dst_station != JET_STATION_BROADCAST) {
        drop(s, f, &s->st.dropped_not_mine);
        return 0;
    }
    if (off)
        ref = chan_ref(s, h.dst_chan);
    if (!ref) {
        drop(s, f, &s->st.dropped_no_chan);
        return 0;
    }
    bool is_full;
    if (must_wait(s, ref, h.payload_len, &is_full))
        return 1;
    const uint8_t *payload = f->data + off + JET_FRAME_HDR_LEN;
    bool bad = h.crc_bad;
    uint32_t want = 0, unchecked = 0;
    if (!bad && (h.flags & JET_FF_CRC)) {
        const uint8_t *t = payload + h.payload_len;
        want = (uint32_t)t[0] << 24 | (uint32_t)t[1] << 16 | (uint32_t)t[2] << 8 | t[3];
        if (defers_crc(s, ref - 1))
            unchecked = JET_RX_CRC_UNCHECKED; /* checked where the payload is copied out */
        else
            bad = jet_crc32c(0, payload, h.payload_len) != want;
    }
    if (bad) {
        struct jet_chan *c = chan_at(s, ref - 1);
        if (!c->p.accept_bad_crc) {
            drop(s, f, &c->st.dropped_crc);
            return 0;
        }
    }
    if (is_full && !make_room(s, f, ref, h.payload_len))
        return 0;
    struct jet_rx *rx = &s->rx[f->buf];
    rx->payload = payload;
    rx->len = h.payload_len;
    rx->flags = bad ? JET_RX_CRC_BAD : unchecked;
    rx->prio = h.prio;
    rx->l3_off = 0;
    rx->src_station = h.src_station;
    rx->src_chan = h.src_chan;
    rx->arrived_ns = now;
    rx->crc = unchecked ? want : 0;
    rx->f = *f;
    enqueue(s, &s->q[ref - 1], f->buf, h.payload_len);
    return 0;
}

/* An Ethernet frame: a Jetstream frame inside one is demultiplexed by its
 * channel id, an IPv4 packet by flow (steer.c), anything else goes to the
 * default channel.  Same return as demux_native.  Queued whole: the
 * application sees the Ethernet frame (JET_RX_ETH). */
__attribute__((noinline)) static int demux_eth(struct jet_station *s, struct jet_frame *f,
                                               uint64_t now)
{
    struct jet_eth_hdr e;
    if (jet_eth_parse(f->data, f->len, &e) != 0) {
        drop(s, f, &s->st.dropped_header);
        return 0;
    }
    if (e.ethertype == JET_ETHERTYPE)
        return demux_native(s, f, e.hdr_len, now, 0);
    uint32_t ref = s->steer.default_ref;
    if (e.ethertype == JET_ETHERTYPE_IPV4 &&
        steer_ipv4(s, f->data + e.hdr_len, f->len - e.hdr_len, &ref) != 0) {
        drop(s, f, &s->st.dropped_header);
        return 0;
    }
    if (!ref) {
        drop(s, f, &s->st.dropped_other);
        return 0;
    }
    bool is_full;
    if (must_wait(s, ref, f->len, &is_full))
        return 1;
    if (is_full && !make_room(s, f, ref, f->len))
        return 0;
    struct jet_rx *rx = &s->rx[f->buf];
    *rx = (struct jet_rx){.payload = f->data,
                          .len = f->len,
                          .flags = JET_RX_ETH,
                          .l3_off = (uint8_t)e.hdr_len,
                          .arrived_ns = now,
                          .f = *f};
    enqueue(s, &s->q[ref - 1], f->buf, f->len);
    return 0;
}

static inline int demux_one(struct jet_station *s, struct jet_frame *f, uint64_t now, uint32_t ref)
{
    if (__builtin_expect(f->encap != JET_ENCAP_NATIVE, 0))
        return demux_eth(s, f, now);
    return demux_native(s, f, 0, now, ref);
}

/* Prefetching for large tables.  A frame's demultiplexing needs its table
 * slot, then its channel: two dependent cache misses once the table and the
 * channels outgrow the cache.  They are fetched in a pipeline along the
 * burst: the slot PF_SLOT frames ahead of the frame being demultiplexed, its
 * channel PF_CHAN frames ahead (by then the slot has arrived), so each miss
 * overlaps the work on the frames before it.  Reads only the destination
 * channel bytes of frames long enough to have them; the real checks come in
 * demux_one. */
enum { PF_SLOT = 32, PF_CHAN = 16, PF_DIR = UINT32_MAX - 1 };

/* The destination channel field of a frame header (big-endian, offset 8). */
static inline uint32_t hdr_dst_chan(const uint8_t *d)
{
    uint32_t v;
    memcpy(&v, d + 8, 4);
    return __builtin_bswap32(v);
}

static inline void pf_slot(struct jet_station *s, uint32_t i, bool pf)
{
    const struct jet_frame *f = &s->stall[i];
    if (f->encap != JET_ENCAP_NATIVE || f->len < JET_FRAME_HDR_LEN) {
        s->pf[i] = UINT32_MAX;
        return;
    }
    uint32_t id = hdr_dst_chan(f->data);
    s->pf_id[i] = id;
    if (id < DIR_IDS) {
        s->pf[i] = PF_DIR;
        if (pf && id < s->dircap)
            jet_prefetch(&s->dir[id]);
        return;
    }
    uint32_t slot = hash_id(id, s->tbits);
    s->pf[i] = slot;
    if (pf)
        jet_prefetch(&s->table[slot]);
}

/* By now the slot has arrived: finish the lookup (demux_one uses the
 * result) and ask for the channel's queue. */
static inline void pf_chan(struct jet_station *s, uint32_t i, bool pf)
{
    uint32_t ref = 0, slot = s->pf[i], id = s->pf_id[i], mask = s->tcap - 1;
    if (slot == PF_DIR) {
        ref = id < s->dircap ? s->dir[id] : 0;
        if (pf && ref)
            jet_prefetchw(&s->q[ref - 1]);
    } else if (slot != UINT32_MAX)
        for (;; slot = (slot + 1) & mask) {
            const struct chan_slot *t = &s->table[slot];
            if (!t->ref)
                break;
            if (t->id == id) {
                ref = t->ref;
                if (pf)
                    jet_prefetchw(&s->q[ref - 1]);
                break;
            }
        }
    s->pfr[i] = ref;
}

/* Demultiplexes stall[stall_i..stall_n).  Returns false when a frame must
 * wait for room (it and the rest stay in stall[]).  Every frame's channel is
 * looked up ahead, in the two stages above; only large tables (which do not
 * stay in cache) also prefetch. */
static bool demux_burst(struct jet_station *s, uint64_t now, int *total)
{
    uint32_t n = s->stall_n, i0 = s->stall_i;
    bool pf = s->nchan >= 1024;
    for (uint32_t j = i0; j < n && j < i0 + PF_SLOT; j++)
        pf_slot(s, j, pf);
    for (uint32_t j = i0; j < n && j < i0 + PF_CHAN; j++)
        pf_chan(s, j, pf);
    while (s->stall_i < n) {
        uint32_t i = s->stall_i;
        if (i + PF_SLOT < n)
            pf_slot(s, i + PF_SLOT, pf);
        if (i + PF_CHAN < n)
            pf_chan(s, i + PF_CHAN, pf);
        if (demux_one(s, &s->stall[i], now, s->pfr[i]))
            return false;
        s->stall_i++;
        s->st.frames_in++;
        ++*total;
    }
    s->stall_i = s->stall_n = 0;
    return true;
}

int jet_station_poll(struct jet_station *s)
{
    int total = 0;
    uint64_t now = s->stall_i < s->stall_n && s->timestamps ? jet_now_ns() : 0;
    /* 1. frames waiting for room */
    if (s->stall_i < s->stall_n && !demux_burst(s, now, &total))
        goto flush;
    /* 2. new frames: one burst of at most STALL_MAX (256) per poll, so an
     * application that reads between polls sees its queues grow by at most
     * that much at a time */
    int n = jet_link_rx_burst(s->link, s->stall, STALL_MAX);
    if (n < 0)
        return jet_err_set(&s->err, n, "%s", jet_link_error(s->link));
    if (n > 0) {
        if (!now && s->timestamps)
            now = jet_now_ns(); /* one clock read per burst, none when idle */
        s->stall_n = (uint32_t)n;
        s->stall_i = 0;
        demux_burst(s, now, &total); /* what must wait for room stays in stall[] */
    }
flush:
    /* 3. protocols, once per poll (not again from a poll inside their hooks) */
    if (s->nproto && !s->in_hooks)
        now = stack_run(s, now);
    if (s->tx.n)
        txsvc_flush(&s->tx, s->link); /* the link's queue, then the service's classes */
    else
        jet_link_tx_flush(s->link);
    statpub_maybe(s, now);
    return total;
}

int jet_station_wait(struct jet_station *s, int64_t timeout_ns)
{
    if (s->nproto) { /* not past the earliest protocol timer */
        int64_t t = jet_station_timeout(s);
        if (t == 0)
            return 0;
        if (t > 0 && (timeout_ns < 0 || t < timeout_ns))
            timeout_ns = t;
    }
    if (s->stall_i < s->stall_n) {
        /* held back: nothing new can be taken until the application reads */
        if (timeout_ns != 0)
            usleep(50);
        return 0;
    }
    if (s->tx.n && txsvc_flush(&s->tx, s->link) && (timeout_ns < 0 || timeout_ns > 50000))
        timeout_ns = 50000; /* frames wait for the link's room: look again soon */
    return jet_link_wait(s->link, timeout_ns);
}

int jet_station_fd(struct jet_station *s)
{
    return jet_link_fd(s->link);
}

int jet_station_arm(struct jet_station *s)
{
    if (s->stall_i < s->stall_n || s->queued)
        return 1; /* frames wait in a channel queue, or for room in one */
    if (s->tx.n && txsvc_flush(&s->tx, s->link))
        return 1; /* frames wait to go out: keep polling */
    return jet_link_arm(s->link);
}

/* ---- channels ---- */

int jet_chan_open(struct jet_station *s, uint32_t id, const struct jet_chan_policy *p,
                  struct jet_chan **out)
{
    struct jet_chan_policy pol = p ? *p : (struct jet_chan_policy){0};
    if (id == 0)
        return jet_err_set(&s->err, -EINVAL, "channel 0 is reserved for control");
    if (pol.drop > JET_DROP_BACKPRESSURE || pol.prio > 7 || pol.reserve_bps > (uint64_t)INT64_MAX)
        return jet_err_set(&s->err, -EINVAL, "bad channel policy (drop %d, prio %u)", pol.drop,
                           pol.prio);
    if (chan_lookup(s, id))
        return jet_err_set(&s->err, -EADDRINUSE, "channel %u is open already", id);
    if (!pol.queue_frames)
        pol.queue_frames = 256;
    if (!pol.queue_bytes)
        pol.queue_bytes = 16u << 20;
    if (pol.queue_bytes > UINT32_MAX)
        pol.queue_bytes = UINT32_MAX; /* as documented: 4 GiB - 1 at most */
    if (!pol.burst_bytes)
        pol.burst_bytes = 2 * (s->link->caps.mtu + JET_FRAME_OVERHEAD);
    struct jet_chan *c = chan_alloc(s);
    if (!c)
        return jet_err_set(&s->err, -ENOMEM, "out of memory");
    if (defer_set(s, c->idx, pol.defer_crc)) {
        chan_free(s, c);
        return jet_err_set(&s->err, -ENOMEM, "out of memory");
    }
    c->s = s;
    c->id = id;
    c->p = pol;
    c->queue_frames = pol.queue_frames;
    s->q[c->idx] = (struct chan_q){.head = NONE,
                                   .tail = NONE,
                                   .room_frames = pol.queue_frames,
                                   .room_bytes = (uint32_t)pol.queue_bytes};
    c->st.id = id;
    if (pol.reserve_bps) {
        int rc = txsvc_reserve(&s->tx, s->link, (int64_t)pol.reserve_bps, &s->err);
        if (rc) {
            chan_free(s, c);
            return rc;
        }
        txsvc_bucket_init(&c->tb, pol.burst_bytes, jet_now_ns());
    }
    int rc = table_insert(s, c);
    if (rc) {
        if (pol.reserve_bps)
            txsvc_reserve(&s->tx, s->link, -(int64_t)pol.reserve_bps, &s->err);
        chan_free(s, c);
        return jet_err_set(&s->err, rc, "out of memory for the channel table");
    }
    *out = c;
    return 0;
}

void jet_chan_close(struct jet_chan *c)
{
    if (!c)
        return;
    struct jet_station *s = c->s;
    statpub_chan_closing(s, c);
    if (s->stall_chan == c)
        s->stall_chan = NULL;
    steer_chan_closing(s, c);
    uint32_t b;
    while ((b = chan_dequeue(c)) != NONE)
        jet_link_rx_release(s->link, &s->rx[b].f, 1);
    if (c->p.reserve_bps)
        txsvc_reserve(&s->tx, s->link, -(int64_t)c->p.reserve_bps, &s->err);
    table_remove(s, c);
    defer_set(s, c->idx, false);
    chan_free(s, c);
}

uint32_t jet_chan_id(const struct jet_chan *c)
{
    return c->id;
}

uint32_t jet_chan_pending(const struct jet_chan *c)
{
    return chan_queued(c);
}

void jet_chan_stats(const struct jet_chan *c, struct jet_chan_stats *o)
{
    *o = c->st;
    o->frames_in = c->frames_in;
    o->bytes_in = c->bytes_in;
    o->crc_bad_delivered = c->crc_bad_delivered;
    o->queued_hwm = chan_queued_hwm(c);
    o->queued = chan_queued(c);
    o->queued_bytes = chan_queued_bytes(c);
}

/* ---- receive ---- */

int jet_chan_recv(struct jet_chan *c, struct jet_rx *rx, int64_t timeout_ns)
{
    struct jet_station *s = c->s;
    uint64_t until = 0;
    for (;;) {
        if (chan_q(c)->head == NONE) {
            int rc = jet_station_poll(s);
            if (rc < 0)
                return rc;
        }
        uint32_t b = chan_dequeue(c);
        if (b != NONE) {
            *rx = s->rx[b];
            c->frames_in++;
            c->bytes_in += rx->len;
            if (rx->flags & JET_RX_CRC_BAD)
                c->crc_bad_delivered++;
            return 0;
        }
        if (timeout_ns == 0)
            return -EAGAIN;
        uint64_t now = jet_now_ns();
        if (until == 0)
            until = timeout_ns < 0 ? UINT64_MAX : now + (uint64_t)timeout_ns;
        if (now >= until)
            return -ETIMEDOUT;
        if (!s->busy_poll) {
            int rc = jet_station_wait(s, until == UINT64_MAX ? -1 : (int64_t)(until - now));
            if (rc < 0 && rc != -EINTR)
                return rc;
            if (rc == -EINTR)
                return -EINTR;
        }
    }
}

void jet_chan_release(struct jet_chan *c, struct jet_rx *rx)
{
    jet_link_rx_release(c->s->link, &rx->f, 1);
    rx->payload = NULL;
    rx->len = 0;
}
