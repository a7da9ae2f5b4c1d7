/* Internal: a station publishes its counters for `jet stat`.
 *
 * Channel tables live in the process that opened the station, out of reach
 * of other processes.  So every station on a LAN link copies a snapshot of
 * its driver counters and of each channel's counters and policy, at most
 * every STATPUB_PERIOD_NS, into its own shared-memory file
 *
 *     /dev/shm/jet-stat.<LAN name>.<station>
 *
 * (permissions and group those of the LAN segment, 0600 by default), and
 * removes it when the station closes.  Readers (the jet tool) copy a
 * consistent snapshot out of it with statpub_read().
 *
 * File layout (STATPUB_LAYOUT; all fields fixed-width, little-endian host):
 *   struct statpub_hdr                   magic, layout, owner, seqlock, counts
 *   struct statpub_ent[capacity]         nchan of them valid
 * The writer bumps hdr.seq to odd before it writes and to even after, so a
 * reader that saw the same even value before and after its copy has a
 * consistent snapshot.  The file only grows (ftruncate + fallocate + remap
 * when channels outnumber the capacity); a reader whose mapping is shorter
 * than nchan entries maps it again.  The writer holds an flock on it for as
 * long as it lives, so a file nobody holds locked is stale (its process died
 * without closing the station).
 *
 * Failures (no space in /dev/shm, ...) never reach the data path: the
 * station stops publishing (pub_off) and counts the failure in
 * s->pub_failures.  A station whose driver does not run publishes nothing
 * new: the counters are those of its last poll. */
#ifndef JET_CHAN_STATPUB_H
#define JET_CHAN_STATPUB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "chan/chan_impl.h"
#include "jet/chan.h"
#include "jet/err.h"

enum {
    STATPUB_LAYOUT = 1, /* bump on any change to the structs below */
    STATPUB_LINK_MAX = 128,
    STATPUB_MAX_CHANNELS = 1 << 20, /* a reader's sanity bound */
};
#define STATPUB_MAGIC     0x315441545354454aull /* "JETSTAT1" in memory (little-endian) */
#define STATPUB_PERIOD_NS 100000000ull          /* at most one publication per 100 ms */
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
    _Alignas(64) _Atomic uint32_t seq; /* seqlock: odd while the writer writes */
    /* --- below: written under the seqlock --- */
    uint32_t nchan;      /* valid entries */
    uint32_t capacity;   /* entries the file has room for */
    uint32_t flags;      /* STATPUB_F_* */
    uint64_t publish_ns; /* CLOCK_REALTIME of this snapshot */
    uint64_t publishes;  /* snapshots written so far */
    uint64_t frames_in, dropped_header, dropped_no_chan, dropped_not_mine, dropped_other;
};

struct statpub_ent {
    uint32_t id;
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
};

/* Reads the clock if now_ns is 0, publishes if due, and sets when to look
 * again (statpub_maybe decides when to call it). */
void statpub_tick(struct jet_station *s, uint64_t now_ns);

/* Called by the driver at the end of every poll with CLOCK_MONOTONIC now, or
 * 0 when the poll did not read the clock (idle polls do not).  Publishes
 * when due; one comparison when not.  Without a time it reads the clock
 * itself, but only every pub_every such polls: a count that adapts to
 * about STATPUB_CHECK_NS between readings, from every poll (a station
 * that polls rarely) to every 16th (a busy poller).  The first call
 * creates the file; on links other than lan:NAME it turns publishing off
 * for good. */
static inline void statpub_maybe(struct jet_station *s, uint64_t now_ns)
{
    if (now_ns ? now_ns >= s->pub_due : s->pub_skip-- == 0)
        statpub_tick(s, now_ns);
}

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
    bool alive; /* the publishing process still runs and holds the file */
    struct jet_station_stats st;
    uint32_t nchan;
    struct statpub_chan *chan;
    uint32_t cap; /* allocated entries of chan */
};

/* Copies a consistent snapshot of station's file on LAN lan into out
 * (retrying while the writer is mid-write).  0 on success, also for a stale
 * file: then out->alive is false (the owner's pid is gone, or nothing holds
 * the file) and the counters are the last ones published.  -ENOENT when the
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
