/* Internal: station and channel state shared by station.c, place.c, send.c. */
#ifndef JET_CHAN_IMPL_H
#define JET_CHAN_IMPL_H

#include "chan/txsvc.h"
#include "jet/chan.h"
#include "jet/stack.h"

enum { STALL_MAX = 256 };
/* Channel ids below this are found by direct index (s->dir), the rest by
 * hash (s->table): small ids, the common kind, cost one 4-byte entry. */
enum { DIR_IDS = 1u << 17 };

/* A channel's receive queue, the only per-channel state demultiplexing
 * touches for a frame it queues: 16 bytes in one dense array (s->q, by the
 * channel's idx), so with 65,536 channels the queues take 1 MiB and stay in
 * the core's L2 cache beside the lookup (256 KiB of s->dir for ids 1..65,536,
 * or the 1 MiB table), where channel structs of their own would not.  The rest of the channel (policy, counters) is read only
 * on the rare paths: a full queue, a damaged frame, a drop. */
struct chan_q {
    uint32_t room_frames; /* frames that may still be queued: p.queue_frames - queued */
    uint32_t room_bytes;  /* bytes that may still be queued: p.queue_bytes - queued bytes */
    uint32_t head, tail;  /* buffer ids linked through s->next; NONE: empty */
};

/* What jet_chan_recv() touches comes first, in one cache line: with tens of
 * thousands of channels a frame received costs one line of its channel. */
struct jet_chan {
    _Alignas(64) uint32_t id;
    uint32_t idx; /* place among the station's channel structs (chan_alloc) and in s->q */
    struct jet_station *s;
    uint32_t queue_frames; /* = p.queue_frames */
    uint32_t qn_hwm;       /* the most frames ever queued, as of the last dequeue */
    uint64_t frames_in, bytes_in, crc_bad_delivered; /* jet_chan_stats' (st's are unused) */
    /* colder */
    struct jet_chan_policy p; /* p.queue_bytes is at most UINT32_MAX (jet_chan_open) */
    uint32_t rule_head;       /* its steering rules: s->steer.rules index + 1, 0: none */
    struct txsvc_bucket tb;   /* reserved rate (txsvc.h) */
    struct jet_chan_stats st;
};

/* IP flow steering (steer.c): rules in a dense array, found through an
 * open-addressing table of rule index + 1; each channel's rules are linked
 * through `next` so closing it removes them without a search. */
enum { STEER_CONN, STEER_ADDR, STEER_PORT, STEER_PROTO, STEER_SHAPES };
struct steer_rule {
    struct jet_flow key;
    uint32_t chan_ref; /* the channel's idx + 1; 0: the entry is free */
    uint32_t next;     /* the channel's next rule (or the next free entry): index + 1, 0: none */
};
struct steer {
    struct steer_rule *rules;
    uint32_t cap, free;             /* entries in rules; first free entry + 1 (0: none) */
    uint32_t *tab;                  /* rule index + 1, 0: empty; load at most 1/2 */
    uint32_t tbits;                 /* tab has 1 << tbits slots (0: no table yet) */
    uint32_t n[STEER_SHAPES];       /* rules of each shape: a lookup skips the absent ones */
    uint32_t default_ref;           /* the default channel's idx + 1, 0: none */
};

/* A protocol attached to a station (jet_station_attach). */
struct statpub_conn;
struct station_proto {
    const struct jet_proto_ops *ops;
    void *state;
    /* its connection records for jet stat (statpub_conn_source), or NULL */
    uint32_t (*pub_conns)(struct jet_station *s, void *state, uint64_t *cursor,
                          struct statpub_conn *out, uint32_t max);
};

struct jet_station {
    struct jet_link *link;
    uint32_t addr;
    uint32_t nbufs;
    struct jet_rx *rx; /* per buffer id: the frame's description while queued */
    uint32_t *next;    /* per buffer id: next in its channel's queue */
    struct chan_slot *table; /* open addressing; the id is kept in the slot so a probe
                                that misses does not touch a channel */
    uint32_t tbits, tcap, nhash; /* nhash: channels in the table */
    uint32_t *dir;               /* channel ids below DIR_IDS: dir[id] = idx + 1 (0: none) */
    uint32_t dircap;             /* ids the directory covers */
    uint32_t nchan;              /* open channels */
    uint32_t queued; /* frames in all channel queues */
    struct jet_chan *chan_free;  /* free channel structs (station.c) */
    uint8_t **slab;              /* the blocks they come from, CHAN_SLAB each */
    uint32_t nslab, slab_cap;
    struct jet_frame stall[STALL_MAX]; /* a burst being demultiplexed / held back */
    uint32_t stall_i, stall_n;
    uint32_t pf[STALL_MAX];            /* home table slot of stall[i] (PF_DIR: in s->dir) */
    uint32_t pf_id[STALL_MAX];         /* its destination channel id */
    uint32_t pfr[STALL_MAX];           /* its channel's idx + 1, looked up ahead (0: none) */
    struct chan_q *q;                  /* receive queues by channel idx, nslab * CHAN_SLAB */
    struct jet_chan *stall_chan;       /* the channel stall[stall_i] waits for room in */
    uint64_t *defer;                   /* policy defer_crc: one bit per channel idx (station.c) */
    uint32_t defer_bits;               /* bits in defer */
    struct steer steer;
    bool busy_poll, timestamps;
    struct jet_station_stats st;
    struct jet_err err;
    /* statpub.c: the counters published for jet stat */
    uint64_t pub_due;      /* CLOCK_MONOTONIC ns of the next publication */
    uint64_t pub_checked;  /* when the clock was last read for it */
    uint32_t pub_skip;     /* polls without a clock reading left before reading it */
    uint32_t pub_every;    /* such polls between readings: adapts to about 10 ms */
    bool pub_off;          /* publishing failed, or the station is closing */
    struct statpub *pub;   /* the publication (file written by pwrite), or NULL */
    uint64_t pub_failures; /* publications that failed (publishing then stops) */
    struct txsvc tx;       /* the transmit service (txsvc.c): classes, reservations */
    /* jet/stack.h: protocols attached (station.c), run by every poll */
    struct station_proto proto[JET_STATION_PROTOS];
    uint32_t nproto;
    bool in_hooks; /* their hooks are running: a nested poll runs only the driver */
};

enum { CHAN_SLAB = 8192 }; /* channel structs per slab */
struct chan_slot {
    uint32_t id;
    uint32_t ref; /* the channel's idx + 1; 0: empty */
};
/* Deletion from a linear-probing table by backward shift (no tombstones):
 * after the hole at i, the entry at j (home slot `home`) moves back into it
 * unless its home lies in (i, j] cyclically. */
static inline bool lp_moves_back(uint32_t i, uint32_t j, uint32_t home)
{
    return !(i <= j ? (home > i && home <= j) : (home > i || home <= j));
}

/* Channel struct idx of the station (open or free). */
static inline struct jet_chan *chan_at(const struct jet_station *s, uint32_t idx)
{
    return (struct jet_chan *)s->slab[idx / CHAN_SLAB] + idx % CHAN_SLAB;
}
static inline struct jet_chan *slot_chan(const struct jet_station *s, const struct chan_slot *t)
{
    return chan_at(s, t->ref - 1);
}
struct jet_chan *chan_lookup(const struct jet_station *s, uint32_t id);
/* The idx + 1 of channel id, 0 if none is open. */
uint32_t chan_ref(const struct jet_station *s, uint32_t id);
/* steer.c: the idx + 1 of the channel an IPv4 packet of len bytes is
 * steered to (0: none); -EBADMSG when its header is damaged or malformed. */
int steer_ipv4(const struct jet_station *s, const uint8_t *pkt, size_t len, uint32_t *ref);
void steer_chan_closing(struct jet_station *s, struct jet_chan *c);
void steer_free(struct jet_station *s);
uint32_t chan_dequeue(struct jet_chan *c);

static inline struct chan_q *chan_q(const struct jet_chan *c)
{
    return &c->s->q[c->idx];
}
static inline uint32_t chan_queued(const struct jet_chan *c)
{
    return c->queue_frames - chan_q(c)->room_frames;
}
static inline uint64_t chan_queued_bytes(const struct jet_chan *c)
{
    return c->p.queue_bytes - chan_q(c)->room_bytes;
}
static inline uint32_t chan_queued_hwm(const struct jet_chan *c)
{
    uint32_t n = chan_queued(c);
    return n > c->qn_hwm ? n : c->qn_hwm;
}

/* After struct jet_station: statpub.h's inline statpub_maybe() reads it. */
#include "chan/statpub.h"

#endif
