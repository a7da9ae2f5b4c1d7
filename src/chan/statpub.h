/* Internal: a station publishes its counters for `jet stat`.
 *
 * Channel tables live in the process that opened the station, out of reach
 * of other processes.  So every station, on any link, copies its link's
 * counters (jet_link_stats), its driver counters and each channel's
 * counters and policy, in passes that begin at most every
 * STATPUB_PERIOD_NS, into its own file
 *
 *     /dev/shm/jet-stat.<link part>.<id>
 *
 * and removes it when the station closes.  Readers (the jet tool) list a
 * link's files with statpub_list() and copy a consistent snapshot out of
 * one with statpub_read().
 *
 * Names (statpub_link_part, statpub_path).  The station never looks at its
 * link's kind; the name only decides where the file goes:
 *   - lan:NAME: link part NAME and id the station number (caps.addr), as
 *     before: /dev/shm/jet-stat.NAME.K.  A LAN's station numbers are unique
 *     across processes, and LAN names have no '%'.
 *   - any other link name: link part the whole name percent-encoded (every
 *     byte but A-Z a-z 0-9 - _ as %XX, so ':' '/' '@' ',' '=' '.' never
 *     reach the file name; reversible, at most STATPUB_PART_MAX bytes,
 *     or it publishes nothing), and
 *     id ADDR-PID (caps.addr) or, for a link without addresses, nK-PID (K
 *     counts the stations of the process): such a link's addresses are its
 *     own affair (two processes may each have a loop:x with an end 0), so
 *     the pid keeps two publishers apart.  Every such part has "%3A" (the
 *     ':' after the kind), so it never equals a LAN's part.
 *   The file's link name (hdr.link) is the link name itself; a reader
 *   checks it is the one it asked for, and that the id's ADDR and PID are
 *   the header's.
 *
 * The file is hostile input to everyone but its writer.  /dev/shm is
 * world-writable (sticky), so any user can put something at that name, and
 * whoever may write the file may truncate it.  Hence:
 *   - Creation never opens a name someone else could have made: the file is
 *     created under a random name with O_CREAT|O_EXCL (which never follows
 *     a link), checked with fstat (a regular file of ours, one link, empty),
 *     written, and renamed over the final name.  rename() replaces a link or
 *     a stale file at that name without following it; in the sticky /dev/shm
 *     it refuses to replace another user's file (unless we are root), and
 *     then publication fails: counted, reason in statpub_work(), never a
 *     write into that file.
 *   - Its mode, on a LAN, is the LAN segment's read bits and 0600: never
 *     wider than the LAN's, never writable by group or others (not even for
 *     a --mode 666 LAN); the group is the LAN's when the publisher belongs
 *     to it (if not, its own group may read only if everyone may).  On any
 *     other link 0600: such a link has no shared object whose permissions
 *     say who may look.
 *   - The writer never reads the file back and never maps it: every value
 *     (front buffer, counts, capacity, seq) lives in its private struct
 *     statpub, and it writes with pwrite().  A file truncated or scribbled on
 *     under it cannot make it crash (no SIGBUS, no wild index); it notices a
 *     truncation at the next pass (fstat), reserves the pages again and
 *     rewrites everything within two passes.  A write that fails stops
 *     publishing (counted); the station carries on.
 *   - Readers copy the file with pread() into private memory (never mmap:
 *     a truncation would be a SIGBUS) and validate every field before use
 *     (statpub_parse: identity, sizes, counts against each other and against
 *     the file's size with overflow-free arithmetic, the front index, each
 *     entry's enums and padding, string termination, duplicate ids); a file
 *     that fails is reported as damaged (-EPROTO), never half-used.
 *
 * Incremental publication.  Copying 65,536 channels takes milliseconds, too
 * long for one jet_station_poll(); so a pass is spread over consecutive
 * polls, each looking at no more than STATPUB_SLICE channel structs (or
 * growing the file by one STATPUB_GROW_ENTS step): some microseconds a poll
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
 * File layout (STATPUB_LAYOUT 5; all fields fixed-width, little-endian host):
 *   struct statpub_hdr (384 bytes)       magic, layout, owner, seqlock, counts
 *   chunk 0, chunk 1, ...                capacity / STATPUB_CHUNK chunks, each
 *     struct statpub_ent[STATPUB_CHUNK]    buffer 0's entries of the chunk
 *     struct statpub_ent[STATPUB_CHUNK]    buffer 1's entries of the chunk
 * so entry i of buffer b is at
 *     hdr_size + (i / CHUNK) * 2 * CHUNK * ent_size + b * CHUNK * ent_size
 *              + (i % CHUNK) * ent_size.
 * Chunks let the file grow without moving either buffer, and let a slice
 * (STATPUB_SLICE = 4 chunks of one buffer) go out in a few pwrite() calls and
 * a reader take a buffer's entries a chunk per pread().  The front buffer's
 * entries i < nent with id != 0 are the snapshot (nchan of them), and its
 * entries [conn_first, conn_first + 2 * nconn) the connection records
 * (struct statpub_conn, two entries each; see Connections).  The writer
 * sets hdr.seq to odd, rewrites the whole header (so a truncated header is
 * whole again after one pass), then sets seq to even, each a pwrite() of its
 * own; a reader that reads the same even seq before (its own pread) and
 * after its copy of the header and the front buffer has a consistent
 * snapshot.  The file only grows (fallocate, STATPUB_GROW_ENTS entries a
 * poll, so that a full /dev/shm is an error at growth, not at a write).
 * The writer holds an flock on it for as long as it lives, so a file nobody
 * holds locked is stale (its process died without closing the station).
 * Layout 2 interleaved the buffers entry by entry and was written through a
 * shared mapping; 3 added chunk, rx_stale and shm_bad; 4 (any link) has
 * addr for station, instance for the LAN's owner token, and the link's own
 * counters (struct jet_link_stats, or zeros and STATPUB_F_NO_LINK_STATS)
 * for rx_stale and shm_bad, which only the LAN has (jet stat's LAN view
 * reads them from the LAN segment); 5 adds the connection records below
 * (a header of 384 bytes).  A reader refuses any other layout, naming both.
 *
 * Connections (layout 5).  A protocol attached to the station (jet/stack.h)
 * may publish one record per connection and listener (struct statpub_conn:
 * RBS and TCP do, from their glue): it names a hook with
 * statpub_conn_source() once it is attached.  When a pass's channel walk is
 * done, each poll asks the hooks, protocol after protocol, for the next
 * STATPUB_SLICE / 2 records (a cursor says where the protocol is) and
 * writes them as pairs of entries of the same back buffer, after the
 * channels' entries: record k is entries conn_first + 2k and + 1
 * (conn_first even, >= nent, so a record never straddles a chunk), growing
 * the file as the channels do (one step a poll); the flip publishes nconn
 * and conn_first with the rest.  So the records are as consistent as the
 * channels' (one pass, each whole, every connection open throughout it
 * once) and cost the data path nothing: nothing is counted or copied per
 * frame, the counters are the engine's own, read once a pass.  No slice
 * runs in a poll made from inside a protocol's hook.  At most
 * STATPUB_MAX_CONNS records, all within the file's STATPUB_MAX_CHANNELS
 * entries; connections beyond are counted (conn_more).
 * A reader checks the header's counts as it does the channels' (a file that
 * fails is damaged) and each record (enums, padding, strings NUL-terminated
 * within their field and of the characters a name has, ports and stations
 * in range): a record that fails is dropped and counted (conn_bad), the
 * others shown.
 *
 * Failures (no space in /dev/shm, a name another user holds, a write that
 * fails) never reach the data path: the station stops publishing (pub_off),
 * counts the failure in s->pub_failures and keeps the reason for
 * statpub_work(); a pass cut short by a full /dev/shm is completed with what
 * it wrote and flagged STATPUB_F_STOPPED.  A station whose driver does not
 * run publishes nothing new: the counters are those of its last completed
 * pass. */
#ifndef JET_CHAN_STATPUB_H
#define JET_CHAN_STATPUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chan/chan_impl.h"
#include "jet/chan.h"
#include "jet/err.h"
#include "jet/link.h"

enum {
    STATPUB_LAYOUT = 5, /* bump on any change to the structs below or the file's layout */
    STATPUB_LINK_MAX = 128,
    /* bytes of a file name's link part, at most: with "jet-stat.", the id
     * (at most 19 bytes) and a temporary name's ".tmpPID.RANDOM", under
     * NAME_MAX (255) */
    STATPUB_PART_MAX = 190,
    STATPUB_ID_MAX = 32, /* bytes of a file name's id, with its NUL */
    STATPUB_PATH_MAX = STATPUB_PART_MAX + STATPUB_ID_MAX + 32, /* a path, with its NUL */
    STATPUB_MAX_CHANNELS = 1 << 20, /* a reader's sanity bound, and the most entries a file has */
    /* Entries of one buffer in a chunk (8 KiB of each buffer; a file has
     * room for at least one chunk: 16.3 KiB) */
    STATPUB_CHUNK = 64,
    /* Channel structs one poll looks at, at most.  With 65,536 channels, the
     * walk (sequential in memory) and the pwrite of the slice's 32 KiB take
     * 15-25 us a poll on the shared 2-vCPU development machine, 2-3x what
     * stores into a shared mapping took (layout 2: 7-8 us), the price of a
     * writer that a truncated file cannot crash */
    STATPUB_SLICE = 256,
    /* Entry pairs (256 bytes) the file grows by in one poll: fallocate of
     * 64 KiB (once, as the channels first grow) */
    STATPUB_GROW_ENTS = 256,
    /* Connection records a file holds, at most (2 entries each; with the
     * channels' entries, within STATPUB_MAX_CHANNELS entries) */
    STATPUB_MAX_CONNS = 1 << 16,
    STATPUB_NAME_MAX = 16, /* a connection's state and cc names, with their NUL */
};
#define STATPUB_MAGIC     0x315441545354454aull /* "JETSTAT1" in memory (little-endian) */
#define STATPUB_PERIOD_NS 100000000ull          /* at most one pass begins per 100 ms */
#define STATPUB_CHECK_NS  10000000ull           /* idle polls read the clock about this often */
#define STATPUB_DIR       "/dev/shm"
#define STATPUB_PREFIX    "jet-stat."

/* Header flags. */
enum {
    STATPUB_F_STOPPED = 1, /* the writer could not grow or write the file and stopped publishing */
    STATPUB_F_NO_LINK_STATS = 2, /* the link keeps no counters (no stats op): link_* are 0 */
    STATPUB_F_KNOWN = STATPUB_F_STOPPED | STATPUB_F_NO_LINK_STATS,
};

struct statpub_hdr {
    uint64_t magic;    /* STATPUB_MAGIC */
    uint32_t layout;   /* STATPUB_LAYOUT */
    uint32_t hdr_size; /* sizeof(struct statpub_hdr): chunks start here */
    uint32_t ent_size; /* sizeof(struct statpub_ent) */
    uint32_t chunk;    /* STATPUB_CHUNK */
    int32_t pid;       /* the publishing process */
    uint32_t addr;     /* the station's address on the link (caps.addr; a LAN's station
                          number), JET_LINK_NO_ADDR if the link has none */
    uint64_t instance; /* random, nonzero, drawn at creation: tells this publication from an
                          earlier one of the same station and pid */
    char link[STATPUB_LINK_MAX]; /* the link name, NUL-terminated, printable, KIND:ARG */
    uint64_t created_ns;         /* CLOCK_REALTIME */
    uint32_t seq;                /* seqlock: odd while the writer rewrites the header */
    /* --- below: current as of the end of the last complete pass --- */
    uint32_t nchan;      /* entries of the front buffer with id != 0 (<= nent) */
    uint32_t capacity;   /* entry pairs the file has room for: a multiple of chunk */
    uint32_t flags;      /* STATPUB_F_* */
    uint32_t front;      /* 0 or 1: the buffer of the last complete pass */
    uint32_t nent;       /* how far that pass went: entries [0, nent) of the front buffer */
    uint64_t begin_ns;   /* CLOCK_REALTIME when that pass began */
    uint64_t publish_ns; /* CLOCK_REALTIME when it completed (the station counters' time) */
    uint64_t publishes;  /* passes completed so far (0: nent and nchan are 0) */
    uint64_t frames_in, dropped_header, dropped_no_chan, dropped_not_mine, dropped_other;
    /* the link's counters (struct jet_link_stats) at publish_ns; 0 with STATPUB_F_NO_LINK_STATS */
    uint64_t link_tx_frames, link_tx_bytes, link_rx_frames, link_rx_bytes;
    uint64_t link_tx_dropped, link_rx_dropped, link_faults;
    /* layout 5: the front buffer's connection records (see Connections above) */
    uint32_t conn_size;   /* sizeof(struct statpub_conn) (fixed, like ent_size) */
    uint32_t nconn;       /* records at entries [conn_first, conn_first + 2 * nconn) */
    uint32_t conn_first;  /* even, >= nent; 0 when nconn is 0 */
    uint32_t conn_more;   /* connections the pass had but did not publish (over the bound, or
                             no room) */
    uint64_t reserved[6]; /* 0; to 384 bytes, whole cache lines */
};
_Static_assert(sizeof(struct statpub_hdr) == 384 && offsetof(struct statpub_hdr, seq) == 176 &&
                   offsetof(struct statpub_hdr, link_tx_frames) == 264 &&
                   offsetof(struct statpub_hdr, conn_size) == 320,
               "statpub layout 5: header of 384 bytes, seq at 176, link counters at 264, "
               "connections at 320");

struct statpub_ent {
    uint32_t id;            /* 0: no channel (a free channel struct) */
    uint8_t drop;           /* enum jet_drop_policy */
    uint8_t accept_bad_crc; /* 0 or 1 */
    uint8_t prio;           /* 0..7 */
    uint8_t pad;            /* 0 */
    uint32_t queue_frames, burst_bytes;
    uint32_t queued, queued_hwm;       /* queued <= queued_hwm */
    uint64_t queue_bytes, reserve_bps; /* <= UINT32_MAX, <= INT64_MAX */
    uint64_t frames_in, bytes_in, frames_out, bytes_out;
    uint64_t dropped_policy, dropped_crc, crc_bad_delivered, backpressured, tx_conforming;
    uint64_t queued_bytes;
    uint64_t pad2; /* 0; to 128 bytes: an entry is two whole cache lines */
};
_Static_assert(sizeof(struct statpub_ent) == 128, "statpub layout 5: 128-byte entries");

/* A connection record (two entries).  proto: */
enum { STATPUB_PROTO_RBS = 1, STATPUB_PROTO_TCP = 2, STATPUB_PROTO_LAST = 2 };
/* kind: */
enum { STATPUB_CONN = 0, STATPUB_LISTENER = 1 };
/* flags: */
enum {
    STATPUB_CF_SACK = 1, /* SACK agreed (TCP): sack_blocks counts the peer's blocks */
    STATPUB_CF_KNOWN = STATPUB_CF_SACK,
};
struct statpub_conn {
    uint8_t proto, kind; /* STATPUB_PROTO_*, STATPUB_CONN or STATPUB_LISTENER */
    uint16_t flags;      /* STATPUB_CF_* */
    uint32_t chan;       /* our channel for it (a listener's: the one SYNs come to) */
    /* RBS: addr the station (<= 0xFFFF), port the channel; TCP: IPv4 address (host
     * order) and port (<= 0xFFFF).  Remote 0:0 for a listener (and an RBS peer
     * channel not yet known is 0) */
    uint32_t laddr, raddr, lport, rport;
    uint32_t mss;                 /* effective send MSS, bytes */
    uint32_t pad;                 /* 0 */
    char state[STATPUB_NAME_MAX]; /* "ESTABLISHED", "LISTEN", ...: NUL-terminated, 0-padded */
    char cc[STATPUB_NAME_MAX];    /* congestion control, "cubic", ...; "" for a listener */
    uint64_t srtt_ns, rttvar_ns, rto_ns, min_rtt_ns; /* min_rtt 0: not kept (RBS) */
    uint64_t cwnd, ssthresh;                         /* bytes; ssthresh UINT64_MAX: not set */
    uint64_t snd_wnd, rcv_wnd; /* bytes: the peer's window (room left in it), ours as advertised */
    uint64_t in_flight;        /* bytes sent and not acknowledged */
    uint64_t bytes_sent;       /* payload bytes, retransmissions included */
    uint64_t bytes_received;   /* new in-order payload bytes */
    uint64_t bytes_acked;      /* of ours, acknowledged by the peer */
    uint64_t segs_out, segs_in;
    uint64_t retransmits, retrans_bytes, fast_retransmits, timeouts, tlp_probes;
    uint64_t sack_blocks;      /* SACK blocks received (0 without STATPUB_CF_SACK) */
    uint64_t ooo_segs;         /* segments placed out of order */
    uint64_t dup_segs;         /* segments carrying only data already received */
    uint64_t backlog, dropped; /* listeners: waiting for accept; SYNs dropped */
};
_Static_assert(sizeof(struct statpub_conn) == 2 * sizeof(struct statpub_ent),
               "statpub layout 5: a connection record is two entries");

/* A protocol's publication hook: fills out[0..max) with the records of
 * its next listeners and connections on s (state: its jet_station_attach
 * state; out zeroed by the caller), from where *cursor says (0: from the
 * start), advances *cursor past them and returns how many it filled; sets
 * *cursor to STATPUB_CURSOR_END once it has listed them all.  Across the
 * calls of one pass (the cursor's values are the protocol's own), every
 * connection open throughout is listed exactly once; one opened or closed
 * meanwhile may be, or not.  With out NULL (max 0): returns how many are
 * left from *cursor, fills nothing.  Called at the end of a
 * jet_station_poll that is not inside a protocol's hook, a slice a poll
 * (see Connections above); it only reads. */
#define STATPUB_CURSOR_END UINT64_MAX
typedef uint32_t (*statpub_conns_fn)(struct jet_station *s, void *state, uint64_t *cursor,
                                     struct statpub_conn *out, uint32_t max);
/* Names fn as the hook of the protocol attached to s with ops (after
 * jet_station_attach).  It goes with the attachment: detaching or closing
 * the protocol ends it.  0, or -ENOENT when ops is not attached. */
int statpub_conn_source(struct jet_station *s, const struct jet_proto_ops *ops,
                        statpub_conns_fn fn);
/* A protocol's listeners and connections, as statpub_walk lists them: two
 * singly linked lists of the protocol's own types, whose next pointers (and
 * the connections' uint64_t pub_seq: creation order, 1, 2, ...) lie at the
 * offsets given.  The connection list must be newest first (pub_seq
 * descending), as a protocol that puts each new one at the head has it. */
struct statpub_lists {
    const void *state;               /* handed to the two fill functions */
    const void *lis, *conns;         /* the heads */
    size_t lis_next, conn_next;      /* offsetof each type's next pointer */
    size_t conn_seq;                 /* offsetof a connection's pub_seq */
    uint64_t pub_next;               /* the last pub_seq given */
    void (*lis_rec)(const void *state, const void *l, struct statpub_conn *r);
    void (*conn_rec)(const void *state, const void *c, struct statpub_conn *r);
};
/* A statpub_conns_fn over w: the listeners, then the connections.  Its
 * cursor is LISTENERS | i while it lists the listeners (the i-th next), then
 * the pub_seq bound B: the connections with pub_seq < B are left, so a walk
 * from the newest skips those >= B, listed already or opened during the
 * pass. */
uint32_t statpub_walk(const struct statpub_lists *w, uint64_t *cursor, struct statpub_conn *out,
                      uint32_t max);
/* Copies name into a record's field: NUL-terminated, 0-padded, cut to fit,
 * any character a name has not (statpub_read checks) as '_'. */
void statpub_conn_name(char dst[STATPUB_NAME_MAX], const char *name);

/* Where entry i of buffer b lies in the file (i < STATPUB_MAX_CHANNELS, b < 2). */
static inline uint64_t statpub_ent_off(uint32_t i, uint32_t b)
{
    const uint64_t e = sizeof(struct statpub_ent);
    return sizeof(struct statpub_hdr) + (uint64_t)(i / STATPUB_CHUNK) * 2 * STATPUB_CHUNK * e +
           (uint64_t)b * STATPUB_CHUNK * e + (uint64_t)(i % STATPUB_CHUNK) * e;
}

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
 * the file (on any link). */
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
    uint64_t truncated; /* passes that found the file shorter than written (someone truncated it) */
    int error;          /* 0, or why publishing stopped (negative errno) ... */
    char why[320];      /* ... in words */
};
/* 0, or -ENOENT when the station never tried to publish (not yet).  After a
 * failed creation it returns 0 with out->error set. */
int statpub_work(const struct jet_station *s, struct statpub_work *out);

/* Removes the station's file (if it is still the one at the name) and
 * closes it; publishing stays off. */
void statpub_close(struct jet_station *s);

/* ---- names ---- */

/* The link part of the stats files' names for link name `link` (see the
 * top): NAME for lan:NAME, else the name percent-encoded.  *lan says which.
 * 0, or -EINVAL (empty, too long) with the reason in err. */
int statpub_link_part(char *buf, size_t cap, const char *link, bool *lan, struct jet_err *err);

/* Parses a file name's id: "K" (lan:NAME, K the station), "ADDR-PID" or
 * "nK-PID".  *addr: K or ADDR (JET_LINK_NO_ADDR for nK), *pid: PID or 0
 * for "K".  0, or -EINVAL when it is none of these. */
int statpub_id_parse(const char *id, uint32_t *addr, int32_t *pid);

/* The path of the stats file `id` of link `link`. 0 or -EINVAL (reason in err). */
int statpub_path(char *buf, size_t cap, const char *link, const char *id, struct jet_err *err);

/* ---- readers ---- */

struct statpub_chan {
    struct jet_chan_stats st;
    struct jet_chan_policy p;
};

/* A copy of one station's file. chan is allocated by statpub_read (and
 * reused by later calls on the same struct); free it with statpub_snap_free.
 * Zero the struct before the first call. */
struct statpub_snap {
    uint32_t addr; /* the station's address on the link, JET_LINK_NO_ADDR if none */
    int32_t pid;
    uint32_t uid; /* the file's owner */
    uint64_t instance;
    char link[STATPUB_LINK_MAX];
    uint32_t flags;                             /* STATPUB_F_* */
    uint64_t created_ns, publish_ns, publishes; /* CLOCK_REALTIME */
    uint64_t begin_ns; /* when the pass of this snapshot began (CLOCK_REALTIME) */
    bool alive;        /* the publishing process still runs and holds the file */
    struct jet_station_stats st;
    struct jet_link_stats link_st; /* at publish_ns; 0 with STATPUB_F_NO_LINK_STATS */
    uint32_t nchan;
    struct statpub_chan *chan; /* sorted by id, no id twice */
    uint32_t cap;              /* allocated entries of chan */
    /* connection records that passed the checks, in the file's order (by
     * protocol, as each protocol listed them) */
    uint32_t nconn;
    struct statpub_conn *conn;
    uint32_t conn_cap;  /* allocated entries of conn */
    uint32_t conn_bad;  /* records that failed their checks: dropped */
    uint32_t conn_more; /* connections the publisher had but did not publish */
};

/* Copies the last complete pass of file `id` of link `link` (a link name:
 * lan:NAME, loop:X, ...) into out (retrying while the writer flips).  0 on
 * success, also for a stale file: then out->alive is false (the owner's pid
 * is gone, or nothing holds the file) and the counters are the last ones
 * published.  -ENOENT when there is no such file; -EPROTO for a file that is
 * not a stats file of this layout for this link, address and pid, or is
 * damaged (a field out of range, counts that disagree, shorter than its
 * header says, owned by another user than the process it names); -EAGAIN
 * when no consistent copy could be had; other negative errno.  Reason in
 * err.  Never maps the file. */
int statpub_read(const char *link, const char *id, struct statpub_snap *out, struct jet_err *err);
void statpub_snap_free(struct statpub_snap *out);

/* Where statpub_parse() gets a file's bytes. */
struct statpub_src {
    /* Copies len bytes at off into buf: 0, -ENODATA if the file ends
     * first, or another negative errno. */
    int (*read)(void *ctx, uint64_t off, void *buf, size_t len);
    /* The file's size now, or a negative errno. */
    int64_t (*size)(void *ctx);
    void *ctx;
};

/* The reader's core, on any source of bytes (statpub_read: a file; the fuzz
 * target: a buffer): validates the header (identity, address, layout,
 * counts, sizes) and the front buffer's entries, and copies the snapshot
 * into out (all of it but alive and uid), trying up to `tries` times while
 * the seqlock says the writer was at work; after 64 tries it sleeps 50 us
 * between them.  addr: the address the file must have (JET_LINK_NO_ADDR
 * for none).  Returns as statpub_read() does; what names the file in
 * messages is `what`.  On -EAGAIN with out->link[0] != 0 the identity (pid,
 * instance, link, created_ns) in out is valid; on any error out->nchan is 0. */
int statpub_parse(const struct statpub_src *src, const char *what, uint32_t addr, int tries,
                  struct statpub_snap *out, struct jet_err *err);

/* Calls fn with the id of each stats file of link `link` (in directory
 * order).  Also removes the temporary files of this user's publishers that
 * died while creating theirs. Returns how many, or a negative errno. */
int statpub_list(const char *link, void (*fn)(const char *id, void *arg), void *arg,
                 struct jet_err *err);

/* Removes file `id` of link if no live process holds it. 0 when removed (or
 * gone already), -EBUSY when its publisher still holds it. */
int statpub_remove_stale(const char *link, const char *id, struct jet_err *err);

#endif
