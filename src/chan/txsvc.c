/* The station's transmit service (txsvc.h): strict-priority classes in
 * front of any link, reserved-rate buckets and admission.
 *
 * Order of work:
 *   txsvc_alloc   -> (service full: txsvc_flush) -> jet_link_tx_alloc
 *   txsvc_commit  -> fast path: nothing queued, room promised -> jet_link_tx_commit
 *                 -> else txsvc_commit_queue: ask the link for room again;
 *                    none: the frame joins its class's FIFO
 *   txsvc_flush   (every station poll while frames wait, and before an
 *                 alloc the service would refuse) -> jet_link_tx_flush, then
 *                 the highest non-empty class's head to the link while it has room
 *   txsvc_close   -> flush for up to 200 ms, give the rest back, counted
 *
 * The classes are FIFOs threaded through one array of TXSVC_CAP slots
 * (next[]), with a free list: 7 KiB for all eight, bounded in total. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "chan/txsvc.h"
#include "util/clock.h"

#define CLOSE_NS 200000000ull /* how long close lets queued frames leave */

void txsvc_init(struct txsvc *t, const struct jet_link *l)
{
    memset(t, 0, offsetof(struct txsvc, next));
    t->limit = l->caps.rate_bps ? TXSVC_CAP : TXSVC_UNRATED;
    t->low = t->limit - t->limit / 8;
    for (int c = 0; c < TXSVC_CLASSES; c++)
        t->head[c] = t->tail[c] = TXSVC_NONE;
    for (uint32_t i = 0; i < TXSVC_CAP; i++)
        t->next[i] = (uint16_t)(i + 1 < TXSVC_CAP ? i + 1 : TXSVC_NONE);
    t->free = 0;
}

static void push(struct txsvc *t, struct jet_frame *f)
{
    uint32_t c = f->cls & 7;
    uint16_t i = t->free;
    t->free = t->next[i];
    t->slot[i] = *f;
    t->next[i] = TXSVC_NONE;
    if (t->tail[c] == TXSVC_NONE)
        t->head[c] = i;
    else
        t->next[t->tail[c]] = i;
    t->tail[c] = i;
    t->busy |= 1u << c;
    if (++t->n > t->queued_hwm)
        t->queued_hwm = t->n;
}

/* Takes the head of the highest non-empty class (t->n > 0). */
static struct jet_frame pop(struct txsvc *t)
{
    uint32_t c = 31 - (uint32_t)__builtin_clz(t->busy);
    uint16_t i = t->head[c];
    struct jet_frame f = t->slot[i];
    t->head[c] = t->next[i];
    if (t->head[c] == TXSVC_NONE) {
        t->tail[c] = TXSVC_NONE;
        t->busy &= ~(1u << c);
    }
    t->next[i] = t->free;
    t->free = i;
    t->n--;
    return f;
}


/* A link that failed takes nothing again: its queued frames go back to it
 * unsent, counted as refused, so no caller waits for room that never comes;
 * the link's own error then shows at the next tx_alloc or tx_commit. */
static void give_back_all(struct txsvc *t, struct jet_link *l)
{
    t->room = 0;
    while (t->n) {
        struct jet_frame f = pop(t);
        jet_link_tx_abort(l, &f);
        t->refused++;
    }
}

/* Hands queued frames to the link while it has room. */
static void drain(struct txsvc *t, struct jet_link *l)
{
    while (t->n) {
        if (t->room == 0) {
            int r = jet_link_tx_room(l);
            if (r < 0) {
                give_back_all(t, l);
                return;
            }
            if ((t->room = (uint32_t)r) == 0)
                return;
        }
        struct jet_frame f = pop(t);
        t->room--;
        if (jet_link_tx_commit(l, &f) != 0)
            t->refused++; /* dropped and counted by the link too */
    }
}

uint32_t txsvc_flush(struct txsvc *t, struct jet_link *l)
{
    jet_link_tx_flush(l);
    drain(t, l);
    return t->n;
}

int txsvc_commit_queue(struct txsvc *t, struct jet_link *l, struct jet_frame *f)
{
    if (t->n == 0) {
        /* The room promised is used up: the link may have more now.  A link
         * that failed gets the frame anyway: it consumes it and says why. */
        int r = jet_link_tx_room(l);
        t->room = r > 0 ? (uint32_t)r : 0;
        if (r != 0) {
            if (r > 0)
                t->room--;
            return jet_link_tx_commit(l, f);
        }
        push(t, f); /* asked just now: no room */
        return 0;
    }
    if (t->n >= TXSVC_CAP && txsvc_flush(t, l) >= TXSVC_CAP) {
        jet_link_tx_abort(l, f);
        return -ENOBUFS; /* lent beyond the limit and committed all at once */
    }
    push(t, f);
    drain(t, l); /* room may have opened for the queue's head */
    return 0;
}

void txsvc_close(struct txsvc *t, struct jet_link *l)
{
    uint64_t until = t->n ? jet_now_ns() + CLOSE_NS : 0;
    while (t->n && txsvc_flush(t, l) && jet_now_ns() < until)
        if (jet_link_wait(l, 100000) == -EOPNOTSUPP)
            break; /* a link that cannot wait: no way to let time pass usefully */
    while (t->n) {
        struct jet_frame f = pop(t);
        jet_link_tx_abort(l, &f);
        t->dropped_close++;
    }
}

int txsvc_reserve(struct txsvc *t, struct jet_link *l, int64_t delta, struct jet_err *err)
{
    if (delta <= 0) {
        uint64_t d = delta == INT64_MIN ? (uint64_t)INT64_MAX + 1 : (uint64_t)-delta;
        if (d > t->reserved_bps)
            d = t->reserved_bps;
        if (d)
            jet_link_reserve(l, -(int64_t)d);
        t->reserved_bps -= d;
        return 0;
    }
    /* The shared medium first: its reason names what it shares (the LAN's
     * total); a station's own sum fits in the rate whenever the medium's does. */
    int rc = jet_link_reserve(l, delta);
    if (rc)
        return jet_err_set(err, rc, "%s", jet_link_error(l));
    uint64_t rate = l->caps.rate_bps, cur = t->reserved_bps;
    if (rate && (cur > rate || (uint64_t)delta > rate - cur)) {
        jet_link_reserve(l, -delta);
        return jet_err_set(err, -EBUSY,
                           "cannot reserve %llu bit/s: %llu of the %llu bit/s of link %s are "
                           "reserved already by this station",
                           (unsigned long long)delta, (unsigned long long)cur,
                           (unsigned long long)rate, l->name);
    }
    t->reserved_bps = cur + (uint64_t)delta;
    return 0;
}

void txsvc_bucket_init(struct txsvc_bucket *b, uint64_t depth_bytes, uint64_t now)
{
    b->tokens = (double)depth_bytes * 8;
    b->last = now;
}

bool txsvc_bucket_ready(struct txsvc_bucket *b, uint64_t rate_bps, uint64_t depth_bytes,
                        uint64_t now)
{
    double cap = (double)depth_bytes * 8;
    if (now > b->last)
        b->tokens += (double)(now - b->last) * (double)rate_bps / 1e9;
    if (b->tokens > cap)
        b->tokens = cap;
    b->last = now;
    return b->tokens >= 0;
}
