/* Internal: station and channel state shared by station.c, place.c, send.c. */
#ifndef JET_CHAN_IMPL_H
#define JET_CHAN_IMPL_H

#include "jet/chan.h"

enum { STALL_MAX = 128 };

/* The fields demultiplexing touches come first, in one cache line: with
 * 65,536 channels the channel structs do not fit in cache, and a frame
 * should cost one miss on its channel, not three. */
struct jet_chan {
    _Alignas(64) uint32_t id;
    uint32_t head, tail, qn; /* receive queue: buffer ids linked through s->next */
    uint32_t qn_hwm;         /* the most frames ever queued */
    uint64_t qbytes;
    uint32_t queue_frames;   /* = p.queue_frames, p.queue_bytes, p.drop, p.accept_bad_crc */
    uint64_t queue_bytes;
    uint8_t drop;
    bool accept_bad_crc;
    bool stalled;
    struct jet_station *s;
    /* colder */
    struct jet_chan_policy p;
    double tokens;   /* token bucket, bits (may go negative: a frame's debt) */
    uint64_t tb_last;
    struct jet_chan_stats st;
    uint32_t idx; /* place among the station's channel structs (chan_alloc) */
};

struct jet_station {
    struct jet_link *link;
    uint32_t addr;
    uint32_t nbufs;
    struct jet_rx *rx; /* per buffer id: the frame's description while queued */
    uint32_t *next;    /* per buffer id: next in its channel's queue */
    struct chan_slot *table; /* open addressing; the id is kept in the slot so a probe
                                that misses does not touch a channel */
    uint32_t tbits, tcap, nchan;
    uint32_t queued; /* frames in all channel queues */
    struct jet_chan *chan_free;  /* free channel structs (station.c) */
    uint8_t **slab;              /* the blocks they come from, CHAN_SLAB each */
    uint32_t nslab, slab_cap;
    struct jet_frame stall[STALL_MAX]; /* a burst being demultiplexed / held back */
    uint32_t stall_i, stall_n;
    uint32_t pf[STALL_MAX];            /* home table slot of stall[i], for prefetching */
    uint32_t pf_id[STALL_MAX];         /* its destination channel id */
    struct jet_chan *pfc[STALL_MAX];   /* its channel, looked up ahead (NULL: none) */
    bool busy_poll, timestamps;
    struct jet_station_stats st;
    struct jet_err err;
    /* statpub.c: the counters published for jet stat */
    uint64_t pub_due;      /* CLOCK_MONOTONIC ns of the next publication */
    uint64_t pub_checked;  /* when the clock was last read for it */
    uint32_t pub_skip;     /* polls without a clock reading left before reading it */
    uint32_t pub_every;    /* such polls between readings: adapts to about 10 ms */
    bool pub_off;          /* not a LAN link, or publishing failed */
    struct statpub *pub;   /* the mapped file, NULL until the first publication */
    uint64_t pub_failures; /* publications that failed (publishing then stops) */
};

enum { CHAN_SLAB = 8192 }; /* channel structs per slab */
struct chan_slot {
    uint32_t id;
    uint32_t ref; /* the channel's idx + 1; 0: empty */
};
static inline struct jet_chan *slot_chan(const struct jet_station *s, const struct chan_slot *t)
{
    uint32_t i = t->ref - 1;
    return (struct jet_chan *)s->slab[i / CHAN_SLAB] + i % CHAN_SLAB;
}
struct jet_chan *chan_lookup(const struct jet_station *s, uint32_t id);
uint32_t chan_dequeue(struct jet_chan *c);

/* After struct jet_station: statpub.h's inline statpub_maybe() reads it. */
#include "chan/statpub.h"

#endif
