/* Internal: a station publishes its counters for `jet stat`.
 *
 * Channel tables live in the process that opened the station, out of reach
 * of other processes.  So every station on a LAN link copies its driver
 * counters and each channel's counters and policy, in passes that begin at
 * most every STATPUB_PERIOD_NS, into its own shared-memory file
 *
 *     /dev/shm/jet-stat.<LAN name>.<station>
 *
 * (permissions and group those of the LAN segment, 0600 by default), and
 * removes it when the station closes.  Readers (the jet tool) copy a
 * consistent snapshot out of it with statpub_read().
 *
 * Incremental publication.  Copying 65,536 channels takes milliseconds, too
 * long for one jet_station_poll(); so a pass is spread over consecutive
 * polls, each looking at no more than STATPUB_SLICE channel structs (or
 * growing the file by one STATPUB_GROW_ENTS step): a few microseconds a poll
 * (statpub_work() counts it).  A pass walks the channel structs in the
 * order of their index in the station's slabs (struct jet_chan.idx), which
 * stays put while the channel is open, whatever the hash table does
 * (resizing on open, backward shifts on close): no channel is met twice or
 * skipped because of the table.  Entry i of the file belongs to channel
 * struct i; a free struct (id 0) gives an entry with id 0.
 *
 * Double-buffered: the file holds two buffers of entries, and a pass writes
 * the one readers are not reading (the back); when the pass completes, the
 * writer flips `front` under the header seqlock together with the
 * station's counters.  Readers therefore always copy one complete pass: every
 * channel open throughout it exactly once, each entry written whole, the
 * station counters of one instant (the pass's end).  Chosen over a seqlock
 * per entry, which halves the memory but lets a reader mix entries of two
 * passes and see a channel that has closed until the walk comes by again;
 * and rates over two publications (jet stat --watch) want one publish_ns per
 * snapshot.  The cost: two entries per channel struct (256 bytes; 16 MiB of
 * /dev/shm for 65,536 channels).  The snapshot is not of one instant: each
 * channel is copied when the walk reaches it, all within [begin_ns,
 * publish_ns], typically a few milliseconds for a station that polls.
 *
 * Opens and closes during a pass: a channel opened behind the walk appears
 * in the next pass, one ahead of it in this one.  A channel closed behind
 * the walk has its entry in the back buffer cleared at once
 * (statpub_chan_closing(), called by jet_chan_close()), so no pass that
 * completes after a close shows the channel.  A pass ends when every open
 * channel has been written (live == s->nchan) or the slabs end: entries
 * beyond `nent` of a buffer are left over from older passes, not part of it.
 *
 * File layout (STATPUB_LAYOUT; all fields fixed-width, little-endian host):
 *   struct statpub_hdr                   magic, layout, owner, seqlock, counts
 *   struct statpub_ent[capacity][2]      entry i of buffer b at [i][b]; the
 *                                        front buffer's entries i < nent with
 *                                        id != 0 are the snapshot (nchan of them)
 * Interleaving the buffers lets the file grow without moving either.  The
 * writer bumps hdr.seq to odd before a flip and to even after it, so a reader
 * that saw the same even value before and after its copy of the header and
 * the front buffer has a consistent snapshot.  The file only grows
 * (fallocate, STATPUB_GROW_ENTS entries a poll, before the pages are
 * touched, into a mapping reserved once for STATPUB_MAX_CHANNELS); a reader
 * whose mapping is shorter than nent entries maps it again.  The writer holds
 * an flock on it for as long as it lives, so a file nobody holds locked is
 * stale (its process died without closing the station).
 *
 * Failures (no space in /dev/shm, ...) never reach the data path: the
 * station completes the pass with what it wrote, flags it STATPUB_F_STOPPED,
 * stops publishing (pub_off) and counts the failure in s->pub_failures.  A
 * station whose driver does not run publishes nothing new: the counters are
 * those of its last completed pass. */
#ifndef JET_CHAN_STATPUB_H
#define JET_CHAN_STATPUB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "chan/chan_impl.h"
#include "jet/chan.h"
#include "jet/err.h"

enum {
    STATPUB_LAYOUT = 2, /* bump on any change to the structs below */
    STATPUB_LINK_MAX = 128,
    STATPUB_MAX_CHANNELS = 1 << 20, /* a reader's sanity bound, and the most entries a file has */
    /* Channel structs one poll looks at, at most: about 28 ns each with
     * 65,536 channels (the walk is sequential in memory), 7-8 us a poll on
     * the 2-vCPU development machine (the whole table in one poll: 3-8 ms) */
    STATPUB_SLICE = 256,
    /* Entry pairs (256 bytes) the file grows by in one poll: fallocate and
     * map in 64 KiB, about 20 us (once, as the channels first grow) */
    STATPUB_GROW_ENTS = 256,
};
#define STATPUB_MAGIC     0x315441545354454aull /* "JETSTAT1" in memory (little-endian) */
#define STATPUB_PERIOD_NS 100000000ull          /* at most one pass begins per 100 ms */
#define STATPUB_CHECK_NS  10000000ull           /* idle polls read the clock about this often */
#define STATPUB_DIR       "/dev/shm"
#define STATPUB_PREFIX    "jet-stat."

/* Header flags. */
enum {
    STATPUB_F_STOPPED = 1, /* the writer could not grow the file and stopped publishing */
};

struct statpub_hdr {
    uint64_t magic;    /* STATPUB_MAGIC, written last at creation */
    uint32_t layout;   /* STATPUB_LAYOUT */
    uint32_t hdr_size; /* sizeof(struct statpub_hdr): entries start here */
    uint32_t ent_size; /* sizeof(struct statpub_ent) */
    int32_t pid;       /* the publishing process */
    uint32_t station;
    uint32_t pad0;
    uint64_t token;                    /* the station's LAN owner token (changes on every attach) */
    char link[STATPUB_LINK_MAX];       /* "lan:NAME" */
    uint64_t created_ns;               /* CLOCK_REALTIME */
    _Alignas(64) _Atomic uint32_t seq; /* seqlock: odd while the writer flips */
    /* --- below: written under the seqlock, at the end of each pass --- */
    uint32_t nchan;      /* entries of the front buffer with id != 0 (<= nent) */
    uint32_t capacity;   /* entry pairs the file has room for */
    uint32_t flags;      /* STATPUB_F_* */
    uint32_t front;      /* 0 or 1: the buffer of the last complete pass */
    uint32_t nent;       /* how far that pass went: entries [0, nent) of the front buffer */
    uint64_t begin_ns;   /* CLOCK_REALTIME when that pass began */
    uint64_t publish_ns; /* CLOCK_REALTIME when it completed (the station counters' time) */
    uint64_t publishes;  /* passes completed so far */
    uint64_t frames_in, dropped_header, dropped_no_chan, dropped_not_mine, dropped_other;
};

struct statpub_ent {
    uint32_t id;  /* 0: no channel (a free channel struct) */
    uint8_t drop; /* enum jet_drop_policy */
    uint8_t accept_bad_crc;
    uint8_t prio;
    uint8_t pad;
    uint32_t queue_frames, burst_bytes;
    uint32_t queued, queued_hwm;
    uint64_t queue_bytes, reserve_bps;
    uint64_t frames_in, bytes_in, frames_out, bytes_out;
    uint64_t dropped_policy, dropped_crc, crc_bad_delivered, backpressured, tx_conforming;
    uint64_t queued_bytes;
    uint64_t pad2; /* to 128 bytes: an entry is two whole cache lines */
};

/* Reads the clock if now_ns is 0, begins a pass if due, and sets when to
 * look again; during a pass, does the next slice (statpub_maybe decides
 * when to call it). */
void statpub_tick(struct jet_station *s, uint64_t now_ns);

/* Called by the driver at the end of every poll with CLOCK_MONOTONIC now, or
 * 0 when the poll did not read the clock (idle polls do not).  Between
 * passes: begins one when due; one comparison when not.  Without a time it
 * reads the clock itself, but only every pub_every such polls: a count that
 * adapts to about STATPUB_CHECK_NS between readings, from every poll (a
 * station that polls rarely) to every 16th (a busy poller).  During a pass
 * (pub_due and pub_skip 0) every poll does a slice.  The first call creates
 * the file; on links other than lan:NAME it turns publishing off for good. */
static inline void statpub_maybe(struct jet_station *s, uint64_t now_ns)
{
    if (now_ns ? now_ns >= s->pub_due : s->pub_skip-- == 0)
        statpub_tick(s, now_ns);
}

/* jet_chan_close() calls this first: a channel the pass in progress has
 * written already leaves its back buffer, so the pass does not show it. */
void statpub_forget(struct statpub *p, const struct jet_chan *c);
static inline void statpub_chan_closing(struct jet_station *s, const struct jet_chan *c)
{
    if (s->pub)
        statpub_forget(s->pub, c);
}

/* The work publication has done, for tests and benchmarks. */
struct statpub_work {
    bool running;       /* a pass is in progress */
    uint32_t cursor;    /* its next channel struct (index) */
    uint64_t passes;    /* passes completed (= hdr.publishes) */
    uint64_t polls;     /* polls that did publication work (a slice, a growth step, creation) */
    uint32_t slice_max; /* the most channel structs one poll looked at */
    uint32_t grow_max;  /* the most entry pairs one poll grew the file by */
    uint32_t capacity;  /* entry pairs the file has room for */
};
/* 0, or -ENOENT when the station has no file (not yet, or not on a LAN). */
int statpub_work(const struct jet_station *s, struct statpub_work *out);

/* Removes the station's file and unmaps it; publishing stays off. */
void statpub_close(struct jet_station *s);

/* ---- readers ---- */

struct statpub_chan {
    struct jet_chan_stats st;
    struct jet_chan_policy p;
};

/* A copy of one station's file. chan is allocated by statpub_read (and
 * reused by later calls on the same struct); free it with statpub_snap_free.
 * Zero the struct before the first call. */
struct statpub_snap {
    uint32_t station;
    int32_t pid;
    uint64_t token;
    char link[STATPUB_LINK_MAX];
    uint32_t flags;                             /* STATPUB_F_* */
    uint64_t created_ns, publish_ns, publishes; /* CLOCK_REALTIME */
    uint64_t begin_ns; /* when the pass of this snapshot began (CLOCK_REALTIME) */
    bool alive;        /* the publishing process still runs and holds the file */
    struct jet_station_stats st;
    uint32_t nchan;
    struct statpub_chan *chan;
    uint32_t cap; /* allocated entries of chan */
};

/* Copies the last complete pass of station's file on LAN lan into out
 * (retrying while the writer flips; channels in no particular order).  0 on
 * success, also for a stale file: then out->alive is false (the owner's pid
 * is gone, or nothing holds the file) and the counters are the last ones
 * published.  -ENOENT when the
 * station publishes nothing, -EPROTO for a file of another layout, -EAGAIN
 * when no consistent copy could be had, other negative errno; reason in err. */
int statpub_read(const char *lan, uint32_t station, struct statpub_snap *out, struct jet_err *err);
void statpub_snap_free(struct statpub_snap *out);

/* Calls fn for each station of LAN lan that has a file. Also removes the
 * temporary files of publishers that died while creating theirs. Returns how
 * many, or a negative errno. */
int statpub_list(const char *lan, void (*fn)(uint32_t station, void *arg), void *arg,
                 struct jet_err *err);

/* Removes station's file if no live process holds it. 0 when removed (or
 * gone already), -EBUSY when its publisher still holds it. */
int statpub_remove_stale(const char *lan, uint32_t station, struct jet_err *err);

#endif
