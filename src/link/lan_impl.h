/* Internal: the emulated LAN's shared segment layout and the helpers shared by
 * lan_seg.c (create, open, inspect, reclaim) and the station data path (lan.c,
 * lan_tx.c, lan_rx.c; the station's private state is lan_link.h).
 *
 * Segment (/dev/shm/jet-lan.NAME), every part 64-byte aligned:
 *   struct lan_hdr                      configuration, medium clock, counters
 *   struct lan_station[stations]        one slot per station
 *   struct lan_ring[stations*stations]  ring (src -> dst) at index src*stations+dst
 *   struct lan_ret_ring[stations*stations] return ring (owner <- from), owner*stations+from
 *   struct lan_mon_ring[stations]       what each station sent, copied for the monitor
 *                                       (lan_mon.c; written only while one is attached)
 *   pool region                         include/jet/pool.h
 *
 * Station liveness: a station slot s is held by an open-file-description lock
 * (F_OFD_SETLK) on byte s of the segment file.  The kernel drops it when the
 * holder's last descriptor closes, which a killed process cannot prevent.
 * slot.token != 0 with no lock held means the holder died: whoever takes the
 * lock next reclaims the slot.
 *
 * Owner tokens: (serial << 8) | station, serial unique per attach, never 0.
 * A buffer owned by a token that is not the current token of its slot
 * belongs to nobody and is reclaimed. */
#ifndef JET_LAN_IMPL_H
#define JET_LAN_IMPL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "jet/lan.h"
#include "jet/pool.h"

#define LAN_MAGIC "JETLAN\r\n"
#define LAN_LAYOUT 5u /* bump on any change to the structs below or their meaning */
#define LAN_HEADROOM 128u /* bytes before frame data in each buffer */
#define LAN_ETH_MAX_HDR 18u /* Ethernet header with one VLAN tag */
#define LAN_SHM_PREFIX "/jet-lan."

struct lan_cfg {
    uint32_t stations, mtu, buffers, ring, mode, pad;
    uint64_t rate_bps, delay_ns, jitter_ns, seed;
    double loss, ber, dup, reorder;
};

struct lan_hdr {
    char magic[8];     /* written last at creation: a segment without it is not ready */
    uint32_t layout;   /* LAN_LAYOUT; at this offset in every layout version */
    uint32_t hdr_size;
    uint64_t seg_size;
    char name[64];
    struct lan_cfg cfg;
    uint64_t stations_off, rings_off, ring_bytes, ret_off, ret_bytes, pool_off, pool_bytes;
    uint64_t mon_off, mon_bytes; /* the monitor rings: one of mon_bytes per station */
    uint32_t headroom, frame_max;
    uint8_t mac[2]; /* bytes 3 and 4 of every station's MAC */
    uint64_t created_unix;
    _Alignas(64) _Atomic uint64_t medium_free_ns; /* when the shared medium is next idle */
    _Alignas(64) _Atomic uint32_t serial;
    _Atomic uint64_t reclaims, reclaimed_bufs;
    _Atomic uint64_t reserved_bps; /* sum of all stations' reservations */
    /* The monitor (JET_LINK_MONITOR, lan_mon.c).  mon_token is the flag every
     * station reads once per flush: alone on its line, written only when a
     * monitor attaches or goes, so that reading it costs an L1 hit. */
    _Alignas(64) _Atomic uint32_t mon_token; /* 0: no monitor; else its token */
    /* Bytes of each frame the monitor wants (its snap length; 0: whole
     * frames), on mon_token's line: set by the monitor (jet_lan_monitor_snaplen)
     * before it is read; a station reads it with each copy and takes
     * min(frame, it) bytes, at least LAN_MON_SNAP_MIN (hostile input). */
    _Atomic uint32_t mon_snap;
    _Alignas(64) _Atomic int32_t mon_pid;
    _Atomic uint32_t mon_doorbell; /* futex word: bumped to wake a sleeping monitor */
    _Atomic uint32_t mon_sleeping; /* 1: asleep on the doorbell */
    _Atomic uint32_t mon_fence;    /* 1: it runs a membarrier before sleeping (as asym_fence) */
};

struct lan_counters {
    _Atomic uint64_t tx_frames, tx_bytes, rx_frames, rx_bytes, tx_unreach;
    _Atomic uint64_t fault_lost, fault_corrupted, fault_duplicated, fault_reordered, rx_stale;
    _Atomic uint64_t tx_dropped_close; /* still queued when the station detached */
    _Atomic uint64_t shm_bad; /* values read from the segment that failed a check */
};

struct lan_station {
    _Alignas(64) _Atomic uint32_t token; /* 0: free */
    _Atomic int32_t pid;
    _Atomic uint64_t attach_unix;
    _Atomic uint32_t asym_fence; /* 1: before it sleeps, the holder runs a membarrier()
                                    that fences every registered station (lan_tx.c) */
    _Alignas(64) _Atomic uint32_t doorbell; /* futex word: bumped to wake a sleeping receiver */
    _Atomic uint32_t sleeping; /* LAN_SLEEP_* bits: how the receiver wants to be woken */
    _Atomic uint64_t reserved_bps; /* this station's share of h->reserved_bps */
    _Alignas(64) struct lan_counters c; /* written by the holder only */
};

enum {
    LAN_SLEEP_FUTEX = 1, /* asleep on the doorbell futex */
    LAN_SLEEP_FD = 2,    /* asleep in poll/epoll on its socket (jet_link_fd) */
};

/* Address of the doorbell socket of the station holding `token` on LAN
 * `name` (abstract namespace); returns its length. */
static inline socklen_t lan_sock_addr(struct sockaddr_un *a, const char *name, uint32_t token)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "jet-lan/%s/%08x", name, token);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

/* A ring entry: one frame handed from src to dst. 32 bytes, two per line;
 * everything the receiver needs is here, so taking a frame touches the ring
 * tail, the descriptor and the frame itself, nothing else. */
/* A frame of at most LAN_INLINE_MAX bytes travels inside its ring entry:
 * LAN_DESC_INLINE is set in encap, idx is JET_POOL_NONE and the bytes are
 * in inl[].  No pool buffer crosses between the stations then: the sender
 * keeps its buffer, the receiver copies the bytes into one of its own, so
 * a small frame costs the entry's two cache lines and the tail, and no
 * owner words or buffer returns. */
#define LAN_DESC_INLINE 0x8000u
#ifndef LAN_INLINE_MAX
#define LAN_INLINE_MAX 96u
#endif
struct lan_desc {
    uint32_t idx;        /* pool buffer (JET_POOL_NONE: inline) */
    uint32_t token;      /* the receiver's token when it was sent */
    uint32_t len;        /* frame bytes */
    uint16_t encap;      /* enum jet_encap */
    uint16_t src;        /* sending station: where the buffer goes back */
    uint64_t deliver_at; /* CLOCK_MONOTONIC ns before which it is not delivered; 0: at once */
    uint32_t seq;        /* the ring index it was written at: an entry left from an earlier
                            lap, or one a tail claims that its producer never wrote, is
                            told apart from a fresh one */
    uint32_t spare;
    uint8_t inl[LAN_INLINE_MAX]; /* the frame, when LAN_DESC_INLINE */
};

/* SPSC ring, free-running 32-bit indices, fill = tail - head.
 * The producer (station src) owns entries [tail, head + size) and writes tail;
 * the consumer (station dst) owns [head, tail) and writes head.  A new holder
 * of a slot continues from the indices it finds. */
struct lan_ring {
    _Alignas(64) _Atomic uint32_t tail;
    _Alignas(64) _Atomic uint32_t head;
    _Alignas(64) struct lan_desc e[];
};

/* Return ring (owner <- returner): a receiver gives the buffers of frames it
 * is done with back to the station that sent them, so a sender keeps reusing
 * the few buffers that are warm in cache instead of walking the whole pool.
 * Same index rules as struct lan_ring; the producer is the returner, the
 * consumer the owner. */
struct lan_ret_ent {
    uint32_t idx;   /* the buffer */
    uint32_t token; /* the owner's token it is returned to */
    uint32_t seq;   /* the ring index it was written at (struct lan_desc.seq) */
    uint32_t spare;
};
struct lan_ret_ring {
    _Alignas(64) _Atomic uint32_t tail;
    _Alignas(64) _Atomic uint32_t head;
    _Alignas(64) struct lan_ret_ent e[];
};

/* Monitor ring (station -> the monitor): a byte ring of records, one per
 * frame the station put onto the medium, copied there by the station while
 * a monitor is attached (h->mon_token != 0).  Free-running 32-bit byte
 * positions, fill = tail - head, size a power of two (mon_bytes less the
 * two index lines).  The producer (the station) owns [tail, head + size) and
 * writes tail and lost; the consumer (the monitor) owns [head, tail) and
 * writes head.  A record is 32-byte aligned (its header is 32 bytes) and
 * never wraps: where the next
 * one does not fit before the end, a LAN_MON_PAD record fills the rest.  A
 * full ring loses the frame for the monitor (lost), never holds the station
 * back. */
#define LAN_MON_PAD 0xffffffffu
#define LAN_MON_SNAP_MIN 64u /* a snap length below this is taken as this */
#define LAN_MON_LOCK JET_LAN_MAX_STATIONS /* lock byte of the monitor (stations: 0..63) */
struct lan_mon_rec {
    uint32_t pos;   /* the byte position it was written at (as lan_desc.seq) */
    uint32_t len;   /* frame bytes that follow (the first ones of the frame: the
                       monitor's snap length cuts it); LAN_MON_PAD: skip to the ring's end */
    uint64_t at;    /* CLOCK_MONOTONIC ns when its sender's flush began: the monitor
                       merges the rings by it (a frame sent in answer to another is
                       stamped after that one was published) */
    uint16_t encap; /* enum jet_encap */
    uint16_t src;   /* sending station */
    uint16_t dst;   /* destination station, JET_STATION_BROADCAST for broadcast */
    uint16_t spare;
    uint32_t wire_len; /* the frame's whole length (>= len) */
    uint32_t spare2;
};
struct lan_mon_ring {
    _Alignas(64) _Atomic uint32_t tail;
    _Atomic uint32_t lost; /* frames the ring had no room for (free-running) */
    _Alignas(64) _Atomic uint32_t head;
    _Alignas(64) uint8_t data[];
};
_Static_assert(sizeof(struct lan_mon_rec) == 32, "a record header is one alignment unit");
static inline uint32_t lan_mon_rec_bytes(uint32_t len)
{
    return (uint32_t)((sizeof(struct lan_mon_rec) + len + 31u) & ~31u);
}

/* The segment's shape: validated once when the segment is opened (every
 * field against the segment size and against the configuration it must
 * follow from) and kept in private memory.  Nothing here is read from the
 * segment again: a process that scribbles on the header later changes
 * nothing another station computes an address from. */
struct lan_geom {
    struct lan_cfg cfg;
    uint64_t seg_size, stations_off, rings_off, ring_bytes, ret_off, ret_bytes, pool_off,
        pool_bytes, mon_off, mon_bytes;
    uint32_t mon_size; /* data bytes of a monitor ring (a power of two) */
    uint32_t headroom, frame_max, buf_size;
    uint8_t mac[2];
    char name[JET_LAN_NAME_MAX + 1];
};

/* Limits of a LAN's medium, checked at creation and at every open. */
#define LAN_MIN_RATE JET_LAN_MIN_RATE /* a largest frame leaves in under 0.6 s */
#define LAN_MAX_DELAY_NS JET_LAN_MAX_DELAY_NS

/* Fills g with the layout that cfg dictates (cfg.buffers must be set).
 * 0, or -EINVAL with the reason in err.  Used by creation and by open,
 * which refuses a header that differs from it in any field. */
int lan_layout(const struct lan_cfg *cfg, struct lan_geom *g, struct jet_err *err);

/* An open segment (not a station). */
struct lan_seg {
    int fd;
    uint8_t *base;
    size_t size;
    struct lan_hdr *h; /* only its atomic fields (medium clock, serial, counters) are used */
    struct lan_station *st;
    struct lan_geom g;
    struct jet_pool pool;
};

int lan_seg_open(const char *name, struct lan_seg *s, struct jet_err *err);
/* Checks the header of the segment mapped at s->base (s->size bytes) and
 * fills s->g, s->st and s->pool from it: 0, or -EPROTO with the reason.
 * lan_seg_open() calls it; the fuzz target calls it on fuzzed memory. */
int lan_seg_check(struct lan_seg *s, const char *name, struct jet_err *err);
void lan_seg_close(struct lan_seg *s);

/* src and dst must be < g.cfg.stations (callers' loops and checks ensure it). */
static inline struct lan_ring *lan_ring(const struct lan_seg *s, uint32_t src, uint32_t dst)
{
    return (struct lan_ring *)(s->base + s->g.rings_off +
                               s->g.ring_bytes * ((uint64_t)src * s->g.cfg.stations + dst));
}

static inline struct lan_ret_ring *lan_ret(const struct lan_seg *s, uint32_t owner, uint32_t from)
{
    return (struct lan_ret_ring *)(s->base + s->g.ret_off +
                                   s->g.ret_bytes * ((uint64_t)owner * s->g.cfg.stations + from));
}

static inline struct lan_mon_ring *lan_mon_ring(const struct lan_seg *s, uint32_t station)
{
    return (struct lan_mon_ring *)(s->base + s->g.mon_off + s->g.mon_bytes * station);
}

static inline bool lan_token_live(const struct lan_seg *s, uint32_t token)
{
    uint32_t st = token & 0xff;
    return st < s->g.cfg.stations &&
           atomic_load_explicit(&s->st[st].token, memory_order_acquire) == token;
}

/* Lock byte `station` of the segment file: 0 if now held by this open file,
 * -EAGAIN if another holds it. */
int lan_lock(struct lan_seg *s, uint32_t station);
void lan_unlock(struct lan_seg *s, uint32_t station);
/* Whether another open file holds station's lock (its holder is alive). */
bool lan_locked_elsewhere(struct lan_seg *s, uint32_t station);
/* With station's lock held: if its slot still names a holder, that holder is
 * dead; clear the slot, drop its incoming ring entries, reclaim buffers. */
void lan_reclaim_locked(struct lan_seg *s, uint32_t station);
bool lan_check_station(struct lan_seg *s, uint32_t station);
/* Whether a monitor is attached and alive; one whose process died is
 * detached (its flag cleared: stations stop copying for it). */
bool lan_check_monitor(struct lan_seg *s);
/* Reclaims every dead station but `self` (the caller's own station, or
 * UINT32_MAX), and every buffer of a dead owner.  Its own station must be
 * skipped: a lock held through this same open file does not show as held. */
void lan_sweep(struct lan_seg *s, uint32_t self);
/* Returns to the pool every buffer whose owner word names no live station
 * (a dead one's, or a word overwritten with a token nobody holds). */
void lan_reclaim_orphans(struct lan_seg *s);
/* Reclaims station if its holder died. Returns true if it is alive. Never call
 * it for the caller's own station (see lan_sweep). */

static inline void lan_cnt_add(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

#endif
