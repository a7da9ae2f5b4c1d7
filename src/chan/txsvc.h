/* Internal: the station's transmit service (docs/channels.md, "Delay-sensitive
 * service"), the same on every link.
 *
 * Frames committed by the station's channels go to the link at once while
 * nothing waits and the link has room (jet_link_tx_room); otherwise they
 * wait here, in 8 FIFOs, one per priority class (jet_frame.cls, set by the
 * sender: never read from the frame's bytes), and txsvc_flush() hands them
 * to the link in strict priority as room opens.  So an urgent frame waits
 * behind at most what the link itself has taken (a rated medium: what it
 * has booked within its look-ahead), never behind a deep queue of bulk.
 *
 * Room: the link's tx_room is a promise ("the next n commits go out without
 * queueing behind the medium"); it is read when the count cached here runs
 * out and counted down per commit, so a link whose room costs a call is
 * asked once per so many frames, not per frame.
 *
 * Ownership: a frame committed to the service is the service's (a lent
 * transmit buffer of the link) until it hands it to jet_link_tx_commit(),
 * which consumes it; frames still queued at txsvc_close() are given back
 * with jet_link_tx_abort() and counted in dropped_close.  A frame the link
 * refuses when the service hands it over later (no such destination any
 * more, ...) is dropped and counted by the link (its tx_dropped) and here
 * (refused); the sender was told 0 when it was queued.
 *
 * Reserved rates: a channel with a reservation has a token bucket
 * (struct txsvc_bucket) and sends every frame in class 7, shaped to its
 * rate: while the bucket is in debt its sends report -EAGAIN.  Admission
 * (txsvc_reserve): a station's own reservations together must fit in the
 * link's rate (caps.rate_bps, when it has one), and a shared medium's
 * jet_link_reserve() must admit it against every station's.
 *
 * Nothing here reads the clock: callers pass `now` (send.c reads it only
 * for reserved channels). */
#ifndef JET_CHAN_TXSVC_H
#define JET_CHAN_TXSVC_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "jet/err.h"
#include "jet/link.h"

enum {
    TXSVC_CLASSES = 8,
    TXSVC_CAP = 256,    /* frames the service holds at most (all classes) */
    TXSVC_UNRATED = 16, /* ... that tx_alloc lends for when the link has no rate: frames
                           then wait only for a receiver, and a deep queue would only
                           add buffers in flight */
    TXSVC_NONE = 0xffff,
};

struct txsvc {
    uint32_t n;      /* frames queued, all classes */
    uint32_t limit;  /* tx_alloc reports -EAGAIN from this many queued (TXSVC_CAP or
                        TXSVC_UNRATED); commits beyond it still queue, up to TXSVC_CAP */
    uint32_t low;    /* class 0 gets places up to this many queued (txsvc_places) */
    uint32_t room;   /* frames the link promised to take, not yet used */
    uint32_t busy;   /* bit c: class c has frames */
    uint16_t head[TXSVC_CLASSES], tail[TXSVC_CLASSES]; /* slot indices, TXSVC_NONE: empty */
    uint16_t free;   /* first free slot, TXSVC_NONE: none */
    uint64_t reserved_bps;  /* this station's admitted reservations */
    uint64_t queued_hwm;    /* the most frames ever queued */
    uint64_t refused;       /* queued frames the link refused when handed over */
    uint64_t dropped_close; /* frames still queued at close: given back, not sent */
    uint16_t next[TXSVC_CAP];
    struct jet_frame slot[TXSVC_CAP];
};

/* A reserved channel's token bucket, in bits; may go negative (the debt of
 * the frame just sent). */
struct txsvc_bucket {
    double tokens;
    uint64_t last; /* ns of the last refill */
};

/* Empty service for link l (reads l's caps only). */
void txsvc_init(struct txsvc *t, const struct jet_link *l);

/* Hands queued frames to the link in strict priority while it has room.
 * Returns the frames still queued. */
uint32_t txsvc_flush(struct txsvc *t, struct jet_link *l);

/* The slow path of txsvc_commit(). */
int txsvc_commit_queue(struct txsvc *t, struct jet_link *l, struct jet_frame *f);

/* How many frames may be queued when a frame of class cls is lent: the
 * last eighth of the places is kept for the classes above 0, in steps, so
 * that bulk filling the service never leaves an urgent frame waiting for a
 * place (class 0: 7/8 of the limit, class 7: all of it). */
static inline uint32_t txsvc_places(const struct txsvc *t, uint8_t cls)
{
    return t->low + (t->limit - t->low) * (cls & 7) / 7;
}

/* Lends a transmit buffer of l for a frame of class cls: 0, -EAGAIN when
 * the service holds txsvc_places(cls) frames and a flush frees none (the
 * link's own -EAGAIN, -ENOBUFS and other errors as jet_link_tx_alloc). */
static inline int txsvc_alloc(struct txsvc *t, struct jet_link *l, struct jet_frame *f,
                              uint8_t cls)
{
    if (__builtin_expect(t->n >= t->low, 0) && txsvc_flush(t, l) >= txsvc_places(t, cls))
        return -EAGAIN;
    return jet_link_tx_alloc(l, f);
}

/* Sends f (f->cls set), always consuming it: straight to the link when
 * nothing is queued and the link has room (what jet_link_tx_commit returns),
 * else queued in its class (0), or -ENOBUFS with f dropped when TXSVC_CAP
 * frames are queued already and the link takes none. */
static inline int txsvc_commit(struct txsvc *t, struct jet_link *l, struct jet_frame *f)
{
    if (__builtin_expect(t->n == 0 && t->room > 0, 1)) {
        t->room--;
        return jet_link_tx_commit(l, f);
    }
    return txsvc_commit_queue(t, l, f);
}

/* Gives the link a bounded time (200 ms) to take what is queued, then gives
 * the rest back to it unsent, counted in dropped_close. */
void txsvc_close(struct txsvc *t, struct jet_link *l);

/* Admission control: adds delta_bps (negative: gives back) to this
 * station's reservations.  -EBUSY with the reason in err when the link's
 * shared medium (jet_link_reserve) or the link's own rate (caps.rate_bps,
 * the station's reservations together) cannot carry it. */
int txsvc_reserve(struct txsvc *t, struct jet_link *l, int64_t delta_bps, struct jet_err *err);

/* A full bucket of depth_bytes. */
void txsvc_bucket_init(struct txsvc_bucket *b, uint64_t depth_bytes, uint64_t now);
/* Refills b at rate_bps up to depth_bytes; whether a frame may be sent now
 * (false: in debt, the sender reports -EAGAIN). */
bool txsvc_bucket_ready(struct txsvc_bucket *b, uint64_t rate_bps, uint64_t depth_bytes,
                        uint64_t now);
/* A frame of frame_bytes sent under the reservation pays for itself. */
static inline void txsvc_bucket_pay(struct txsvc_bucket *b, uint32_t frame_bytes)
{
    b->tokens -= (double)frame_bytes * 8;
}

/* The class a frame goes out in: a reserved channel's in class 7 (so its
 * frames never overtake one another and the reservation holds whatever else
 * waits), any other channel's in its own. */
static inline uint8_t txsvc_class(uint8_t prio, bool reserved)
{
    return reserved ? 7 : prio;
}

#endif
