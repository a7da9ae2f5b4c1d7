/* The emulated Jetstream LAN: a shared-memory segment (/dev/shm/jet-lan.NAME)
 * that any number of processes on one machine attach to as stations.
 *
 * Frames move between stations without copying: a sender hands the pool index
 * of its frame to the receiver through a per-(sender, receiver) ring, and the
 * payload stays where the sender wrote it.  The LAN emulates a shared medium
 * of a given rate (serialisation delay and occupancy, like the original 1 Gb/s
 * Jetstream ring), propagation delay and jitter, and seeded, reproducible
 * faults: loss, bit errors, duplication, reordering.  Faults are drawn per
 * frame from (seed, sender, destination, channel, frame number in that flow),
 * so a flow sees the same faults on every run whatever else is on the LAN.
 *
 * A station is held by a lock tied to the attaching process's open file; when
 * the process dies (even by kill -9) the lock goes, and the next process that
 * looks (attach, jet_lan_info, a sender blocked on it) reclaims the station:
 * its buffers return to the pool and the other stations carry on.
 *
 * docs/lan.md describes the segment layout. */
#ifndef JET_LAN_H
#define JET_LAN_H

#pragma GCC visibility push(default) /* the library exports only what these headers declare */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "jet/err.h"
#include "jet/link.h"

enum {
    JET_LAN_MAX_STATIONS = 64,
    JET_LAN_MAX_MTU = 65536,
    JET_LAN_MIN_MTU = 64,
    JET_LAN_NAME_MAX = 48,
};
#define JET_LAN_MIN_RATE 1000000ull         /* bit/s: a rated medium is at least this fast */
#define JET_LAN_MAX_DELAY_NS 10000000000ull /* delay and jitter, each at most this (10 s) */

struct jet_lan_config {
    uint32_t stations; /* station slots, 2..64 (default 8) */
    uint32_t mtu;      /* largest native payload, 64..65536 (default 9000) */
    uint32_t buffers;  /* pool buffers (default: enough for every ring, capped by memory) */
    uint32_t ring;     /* entries per (sender, receiver) ring, power of two (default 256) */
    uint64_t rate_bps; /* medium rate, 0 = unlimited, else >= JET_LAN_MIN_RATE */
    uint64_t delay_ns; /* propagation delay, <= JET_LAN_MAX_DELAY_NS */
    uint64_t jitter_ns; /* extra delay drawn uniformly from [0, jitter]; keeps order per flow */
    double loss;       /* probability a frame is lost */
    double ber;        /* probability each bit is flipped */
    double dup;        /* probability a frame is delivered twice */
    double reorder;    /* probability a frame is held back behind the next one */
    uint64_t seed;     /* fault seed */
    uint32_t mode;     /* segment permission bits (default 0600) */
    gid_t gid;         /* group for mode 0660 segments, (gid_t)-1 to leave as is */
};

/* Fills c with the defaults. */
void jet_lan_config_default(struct jet_lan_config *c);

/* Creates LAN `name`. 0, or -EEXIST / -EINVAL / -ENOMEM / other errno with the reason in err. */
int jet_lan_create(const char *name, const struct jet_lan_config *c, struct jet_err *err);

/* Removes LAN `name`. Refuses with -EBUSY while stations are attached unless
 * force is set (attached processes keep their mapping until they detach). */
int jet_lan_destroy(const char *name, bool force, struct jet_err *err);

/* Calls fn for each LAN on this machine. Returns how many, or a negative errno. */
int jet_lan_list(void (*fn)(const char *name, void *arg), void *arg, struct jet_err *err);

struct jet_lan_station_info {
    uint32_t station;
    bool attached;  /* held by a live process */
    pid_t pid;
    uint64_t token;
    uint64_t tx_frames, tx_bytes, rx_frames, rx_bytes;
    uint64_t tx_unreach;  /* frames sent to a station that is not attached */
    uint64_t fault_lost, fault_corrupted, fault_duplicated, fault_reordered;
    uint64_t rx_stale;    /* ring entries left for an earlier holder of the slot */
    uint64_t tx_dropped_close; /* frames still queued (receiver too slow) when it detached */
    uint64_t shm_bad;     /* values read from shared memory that failed a check (ring
                             entries, returned buffers, indices, lengths): dropped */
    uint32_t rx_queued;   /* frames waiting in this station's receive rings */
    uint32_t buffers_held; /* pool buffers this station owns (its cache, frames it holds) */
};

struct jet_lan_info {
    char name[JET_LAN_NAME_MAX + 1];
    uint32_t layout_version;
    struct jet_lan_config config;
    uint64_t segment_bytes;
    uint32_t buffers_free;     /* counted after reclaiming dead stations */
    uint64_t reclaims;         /* dead stations reclaimed since creation */
    uint64_t reclaimed_buffers;
    uint32_t attached;
    struct jet_lan_station_info st[JET_LAN_MAX_STATIONS];
    pid_t monitor_pid; /* the process of the attached monitor (jet_lan_monitor), 0: none */
};

/* Reads a LAN's configuration and state. Reclaims dead stations first, so the
 * counts are those of the living. 0, or -ENOENT (unknown LAN), -EPROTO
 * (segment layout version mismatch), ... with the reason in err. */
int jet_lan_info(const char *name, struct jet_lan_info *info, struct jet_err *err);

/* Attaches to LAN `name` as station `station` (or the first free one if -1).
 * Errors: -ENOENT unknown LAN, -EBUSY LAN full, -EADDRINUSE station taken,
 * -ERANGE no such station, -EPROTO layout version mismatch. */
int jet_lan_attach(const char *name, int station, struct jet_link **out, struct jet_err *err);

/* Attaches to LAN `name` as its monitor (what jet_link_open does for lan:NAME
 * with JET_LINK_MONITOR, include/jet/link.h): no station is taken; rx_burst
 * lends a copy of every frame any station puts onto the medium, as it left
 * the sender (before the medium's faults), in the order the medium took them;
 * tx_alloc fails with -EPERM.  One monitor at a time: -EBUSY while another
 * lives (one whose process died is replaced).  A monitor that falls behind
 * loses frames (its stats' rx_dropped); the stations never wait for it.
 * Errors as jet_lan_attach (-ENOENT, -EPROTO), and -EBUSY. */
int jet_lan_monitor(const char *name, struct jet_link **out, struct jet_err *err);

/* Snap length of LAN monitor l (jet_lan_monitor; jet dump --snaplen): the
 * stations copy only the first snaplen bytes of each frame for it (at least
 * 64; 0 or the LAN's largest frame and over: whole frames, the default), and
 * l lends at most snaplen bytes of each: a frame's len is then what was
 * captured.  Its whole length reaches a capture wrapper around l
 * (jet_capture_wrap: jet_capture_rec.len, the pcapng original length).
 * 0, or -EINVAL if l is not a LAN monitor. */
int jet_lan_monitor_snaplen(struct jet_link *l, uint32_t snaplen);

/* Station number of a LAN link (JET_LINK_NO_ADDR for a monitor). */
uint32_t jet_lan_station(const struct jet_link *l);

/* Whether station st is held by a live process now. Reclaims it if its
 * process died. */
bool jet_lan_station_alive(struct jet_link *l, uint32_t st);

/* Ethernet address of station st on LAN l: 02:4a:53:xx:yy:st (xx:yy from the LAN name). */
void jet_lan_station_mac(const struct jet_link *l, uint32_t st, uint8_t mac[6]);

/* Counters of l's own station (a snapshot). */
void jet_lan_station_stats(const struct jet_link *l, struct jet_lan_station_info *out);

/* Pool statistics of the LAN l is attached to. */
struct jet_pool_stats;
void jet_lan_pool_stats(const struct jet_link *l, struct jet_pool_stats *out);

#pragma GCC visibility pop

#endif
