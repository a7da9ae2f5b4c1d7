/* Internal: endpoint glue shared by the connection protocols on a station (RBS,
 * TCP next).  A protocol's glue binds its sans-I/O core to channels; what does
 * not depend on the protocol lives here:
 *
 *   - blocking calls: try, and when nothing could be done, ep_wait_more() and
 *     try again.  It drives the station (jet_station_poll: every protocol on
 *     it, this one included) and sleeps in jet_station_wait, which wakes for a
 *     frame, transmit room, the earliest timer of any protocol on the station,
 *     or the caller's deadline;
 *   - a fresh channel for a connection: an id from the protocol's range, tried
 *     from a random place, plus its steering rule when the link carries
 *     Ethernet (TCP's 4-tuple);
 *   - linger: an endpoint the application closed is driven in the background
 *     (by every poll of its station) until its close ends or a deadline
 *     passes; ep_drive_until() lets closing endpoints finish before a
 *     protocol leaves the station;
 *   - sink files: a received stream written at its offsets into the application's
 *     file (pwrite from the core's checked staging copy), for every protocol alike;
 *   - words: a peer named in the link's own terms (error texts).
 *
 * One thread per station at a time, as everywhere. */
#ifndef JET_CHAN_ENDPOINT_H
#define JET_CHAN_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jet/chan.h"

/* A blocking call sleeps at most this long before it looks around again. */
#define EP_LOOK_NS 50000000ull

/* ---- blocking calls ---- */

struct ep_wait {
    uint64_t deadline; /* CLOCK_MONOTONIC ns, UINT64_MAX: none */
    bool nonblock;     /* timeout 0: one drive, no sleep */
    bool polled;       /* the first drive is done: sleep before the next */
    bool busy;         /* spin (drive again at once) instead of sleeping */
};

/* timeout_ns: 0 never blocks, -1 no limit, else that many ns from now. */
void ep_wait_init(struct ep_wait *w, int64_t timeout_ns, bool busy);
/* 0: try again; -EAGAIN (timeout 0) / -ETIMEDOUT: give up.  The first call
 * only drives the station (so a non-blocking call gets that one chance);
 * later ones sleep first, at most EP_LOOK_NS. */
int ep_wait_more(struct jet_station *s, struct ep_wait *w);

/* ---- channels for connections ---- */

/* Ids a protocol takes its connection channels from: [first, last]. */
struct ep_ids {
    uint32_t first, last;
    uint32_t next; /* the next id to try */
};
enum { EP_ID_TRIES = 256 }; /* ids tried (the open ones skipped) before giving up */

/* Starts at a random id in [first, last] (first >= 1, first <= last). */
void ep_ids_init(struct ep_ids *r, uint32_t first, uint32_t last);
/* Opens a channel with the next free id of r and policy p; with f, also
 * steers flow f to it (jet_chan_steer; the channel is closed again if that
 * fails).  0; -EADDRNOTAVAIL (EP_ID_TRIES ids in a row taken), or what
 * jet_chan_open / jet_chan_steer return (-EADDRINUSE: f is steered already),
 * with the reason in jet_station_error(s). */
int ep_chan_open(struct jet_station *s, struct ep_ids *r, const struct jet_chan_policy *p,
                 const struct jet_flow *f, struct jet_chan **out);

/* 32 random bits (getrandom; the clock mixed if that fails): initial
 * sequence numbers, the first id of a range. */
uint32_t ep_random32(void);

/* ---- linger ---- */

struct ep_linger {
    uint64_t until; /* CLOCK_MONOTONIC ns by which it is given up; 0: not lingering */
};

/* The application let go at now: finish within max_ns. */
static inline void ep_linger_start(struct ep_linger *l, uint64_t now, uint64_t max_ns)
{
    l->until = now + max_ns;
}
static inline bool ep_lingering(const struct ep_linger *l)
{
    return l->until != 0;
}
/* Past its deadline at now: abort it and free it. */
static inline bool ep_linger_over(const struct ep_linger *l, uint64_t now)
{
    return l->until && now > l->until;
}
/* t, or the linger deadline if that comes first (a protocol's next timeout). */
static inline uint64_t ep_linger_timer(const struct ep_linger *l, uint64_t t)
{
    return l->until && l->until < t ? l->until : t;
}

/* Drives s (and sleeps between drives) until done(arg) or timeout_ns passes
 * (-1: no limit).  0 once done, else -ETIMEDOUT. */
int ep_drive_until(struct jet_station *s, bool (*done)(void *arg), void *arg, int64_t timeout_ns);

/* ---- sink files ---- */

/* Whether fd can take a stream written at offsets from file_off: 0; -EBADF; -EINVAL
 * (beyond what off_t can say, or O_APPEND: pwrite would append whatever the offset);
 * -ESPIPE (a pipe, socket or terminal), or what fcntl / lseek said. */
int ep_sink_check(int fd, uint64_t file_off);
/* A protocol's sink hook: p[0..len) at offset at of fd, all of it (EINTR retried).
 * fd < 0 (the application closed it): the bytes are dropped, 0.  *bytes counts what
 * pwrite wrote, *writes the calls done whole.  0, or the negative errno with words
 * ("... (connection aborted)": the core fails the connection) in why[0..whyn). */
int ep_sink_write(int fd, uint64_t at, const uint8_t *p, size_t len, uint64_t *bytes,
                  uint64_t *writes, char *why, size_t whyn);
/* The bytes the core placed in the file since *told (placed: its count so far), for
 * recv_ready's news; *told moves up to placed. */
static inline uint64_t ep_sink_news(uint64_t placed, uint64_t *told)
{
    uint64_t n = placed > *told ? placed - *told : 0;
    *told += n;
    return n;
}

/* ---- words ---- */

/* A peer in the link's terms, for error texts: "station 3 of lan:office" on a
 * link with native addresses (the station number), "address 3 of NAME" on
 * others; NAME is the link's name as it was opened.  Returns buf. */
const char *ep_peer(const struct jet_station *s, uint32_t addr, char *buf, size_t n);

#endif
