/* Protocols on a station: the station as the stack context.
 *
 * A protocol (RBS today, TCP next, or an application's own) keeps its
 * per-station state - listeners, connections, timers - attached to the
 * station it runs on, not in a process-wide list: two stations are two
 * independent stacks, usable from two threads at once.
 *
 * Driving.  One jet_station_poll() drives everything on the station:
 *   1. the driver demultiplexes a burst from the link into channel queues;
 *   2. each attached protocol's poll hook runs, in attach order, with the
 *      time: it takes the frames queued on its channels (without polling the
 *      station again: jet_chan_pending() tells whether a queue has any), runs
 *      its due timers and sends what is due;
 *   3. transmit work is pushed on to the link.
 * So a blocking call of any protocol drives the station once and then looks
 * at its own state; a program with several protocols on one station needs
 * one loop.  jet_station_timeout() is the earliest timer of all of them, and
 * jet_station_wait() never sleeps past it.  A poll started from inside a hook
 * (jet_chan_recv on an empty queue, say) only runs the driver: hooks do not
 * run inside hooks.
 *
 * Lifetimes.  The state stays the protocol's: the station only keeps the
 * pointer.  jet_station_close() calls every attached protocol's close hook,
 * last attached first, before it closes any channel (a protocol closes its
 * own channels there and frees its state); a protocol that ends earlier
 * detaches itself.  One thread per station at a time, as for channels. */
#ifndef JET_STACK_H
#define JET_STACK_H

#pragma GCC visibility push(default) /* the library exports only what these headers declare */

#include <stdint.h>

#include "jet/chan.h"

/* A protocol's hooks; the ops struct (static, one per protocol) also names
 * the protocol: jet_station_proto() finds its state by it. */
struct jet_proto_ops {
    const char *name; /* "rbs", for messages */
    /* Step 2 above.  now: CLOCK_MONOTONIC ns, read once for the poll. */
    void (*poll)(struct jet_station *s, void *state, uint64_t now);
    /* Absolute CLOCK_MONOTONIC ns of the protocol's next timer, UINT64_MAX if
     * none (optional: NULL is "none"). */
    uint64_t (*next_timeout)(struct jet_station *s, void *state);
    /* The station is closing: close the protocol's channels, free state.  The
     * link is still open (last words, an RST say, may be sent). */
    void (*close)(struct jet_station *s, void *state);
};

enum { JET_STATION_PROTOS = 8 }; /* protocols one station can carry */

/* Attaches a protocol with its state to s.  0; -EEXIST (ops attached
 * already), -ENOSPC (JET_STATION_PROTOS attached), -EINVAL (no poll or close
 * hook). */
int jet_station_attach(struct jet_station *s, const struct jet_proto_ops *ops, void *state);
/* Removes it without calling its close hook (the protocol frees its state
 * itself).  Not from inside a hook.  -ENOENT if not attached. */
int jet_station_detach(struct jet_station *s, const struct jet_proto_ops *ops);
/* The state attached with ops, or NULL. */
void *jet_station_proto(const struct jet_station *s, const struct jet_proto_ops *ops);
/* Nanoseconds until the earliest timer of the protocols on s (0: due now),
 * -1 if none. */
int64_t jet_station_timeout(struct jet_station *s);

#pragma GCC visibility pop

#endif
