/* Channels: early demultiplexing, partial read and directed placement,
 * per-channel policy, delay-sensitive transmit.
 *
 * A station (struct jet_station) is one process's attachment to a link plus
 * its channel table.  Its driver (jet_station_poll, run by every receive and
 * send call, or by the application's own loop) takes frames from the link,
 * checks the header (a damaged header is dropped and counted: it cannot be
 * trusted to name a channel), finds the owning channel from the destination
 * channel id alone in O(1), checks the payload CRC (or leaves that to the
 * protocol, which can do it while copying the payload out: defer_crc), and
 * queues the frame on that channel as a descriptor into the link's buffer
 * pool.  Nothing is copied on the way.  Ethernet frames (IPv4, ARP, ...)
 * have no channel id: they are steered to channels by flow (jet_chan_steer,
 * below).
 *
 * The application then takes the frame (jet_chan_recv), reads as little of
 * it as it likes (jet_rx_read: say, a header of its own protocol), and has
 * the rest placed where it belongs (jet_rx_place*: a buffer, an iovec, a
 * file at an offset, a pipe or socket) — each byte copied once, from the
 * pool to its destination — then gives it back (jet_chan_release).
 *
 * Ownership and lifetimes
 *   - struct jet_rx describes a frame lent to the application by
 *     jet_chan_recv(); rx->payload points into the pool and stays valid until
 *     jet_chan_release(), which must be called exactly once per frame, before
 *     jet_chan_close() of its channel.
 *   - jet_chan_send() copies the caller's bytes (once, with the CRC computed
 *     during that copy); the caller's iovec is not kept.
 *   - jet_chan_tx_alloc() lends a pool buffer; jet_chan_tx_commit() always
 *     consumes it, whatever it returns.
 *   - A station and its channels are used by one thread at a time.
 *
 * Errors: 0 (or a count) or a negative errno; the reason in
 * jet_station_error(). */
#ifndef JET_CHAN_H
#define JET_CHAN_H

#pragma GCC visibility push(default) /* the library exports only what these headers declare */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "jet/err.h"
#include "jet/link.h"

struct jet_station;
struct jet_chan;

/* What a channel does with a frame that finds its queue full. */
enum jet_drop_policy {
    JET_DROP_NEWEST = 0,       /* tail drop: the arriving frame is dropped */
    JET_DROP_OLDEST = 1,       /* head drop: the oldest queued frame makes room (real-time media) */
    JET_DROP_BACKPRESSURE = 2, /* nothing dropped: the station stops taking frames from the
                                  link until there is room, which holds the senders back
                                  (and every other channel of this station with them) */
};

struct jet_chan_policy {
    bool accept_bad_crc;       /* deliver frames whose payload CRC failed (flagged JET_RX_CRC_BAD) */
    bool defer_crc;            /* do not check the payload CRC when demultiplexing: a frame that
                                  carries one is delivered flagged JET_RX_CRC_UNCHECKED with the
                                  CRC it carries in rx->crc, for the protocol to check in the
                                  same pass that copies the payload out of the pool (see
                                  JET_RX_CRC_UNCHECKED).  A frame that arrived marked CRC_BAD is
                                  still dropped (or flagged, accept_bad_crc). */
    enum jet_drop_policy drop;
    uint32_t queue_frames;     /* receive queue limit in frames (0: 256) */
    uint64_t queue_bytes;      /* and in payload bytes (0: 16 MiB; at most 4 GiB - 1) */
    uint8_t prio;              /* transmit priority class 0..7, 7 most urgent (strict priority) */
    uint64_t reserve_bps;      /* reserved transmit rate, 0: none. Admitted only if every
                                  station's reservations fit the medium's rate. The channel
                                  then sends in class 7, shaped to this rate by a token
                                  bucket: beyond it, sending reports -EAGAIN. */
    uint32_t burst_bytes;      /* token bucket depth (0: 2 frames of the MTU) */
};

/* Per-channel counters. */
struct jet_chan_stats {
    uint32_t id;
    uint64_t frames_in, bytes_in;     /* handed to the application (jet_chan_recv), and not
                                         given back as damaged (jet_chan_release_crc_bad) */
    uint64_t frames_out, bytes_out;   /* sent */
    uint64_t dropped_policy;          /* dropped by the drop policy (queue full) */
    uint64_t dropped_crc;             /* payload CRC failed, not accepted (defer_crc: by the
                                         application's check, jet_chan_release_crc_bad) */
    uint64_t crc_bad_delivered;       /* payload CRC failed, handed over flagged */
    uint64_t backpressured;           /* times the queue was full under JET_DROP_BACKPRESSURE */
    uint64_t tx_conforming;           /* sent within the reserved rate */
    uint32_t queued, queued_hwm;      /* frames in the receive queue now, and at most */
    uint64_t queued_bytes;
};

/* Station-wide counters: frames that reached no channel. */
struct jet_station_stats {
    uint64_t frames_in;          /* frames taken from the link (each counted once, when its fate is decided) */
    uint64_t dropped_header;     /* header check failed, or malformed */
    uint64_t dropped_no_chan;    /* destination channel not open */
    uint64_t dropped_not_mine;   /* addressed to another station */
    uint64_t dropped_other;      /* not a Jetstream frame, and no steering rule or default
                                    channel took it (jet_chan_steer) */
    uint32_t channels;
};

/* Opens a station on the link named `link` (e.g. "lan:office"), taking
 * `station` (-1: the first free one). */
int jet_station_open(const char *link, int station, struct jet_station **out, struct jet_err *err);
/* Wraps an open link; the station owns it from now on (closes it). */
int jet_station_wrap(struct jet_link *l, struct jet_station **out, struct jet_err *err);
/* Closes the protocols attached to s (jet/stack.h: their close hooks, last
 * attached first), then every channel (releasing what they hold), then the
 * link. */
void jet_station_close(struct jet_station *s);

uint32_t jet_station_addr(const struct jet_station *s);
struct jet_link *jet_station_link(struct jet_station *s);
const char *jet_station_error(const struct jet_station *s);
void jet_station_stats(const struct jet_station *s, struct jet_station_stats *out);

/* Runs the driver once: demultiplexes what the link has (one burst, at most
 * 256 frames), runs the poll hook of every protocol attached to s
 * (jet/stack.h) and moves queued transmit frames on. Returns how many frames
 * it demultiplexed, or a negative errno. Never blocks. */
int jet_station_poll(struct jet_station *s);
/* Sleeps until frames may have arrived, transmit room may have opened, the
 * earliest timer of the protocols attached to s is due (jet_station_timeout:
 * no sleep at all when one is due now) or timeout_ns passes (-1: forever). */
int jet_station_wait(struct jet_station *s, int64_t timeout_ns);
/* A pollable fd for epoll: arm with jet_station_arm(); sleep only if it
 * returned 0; after waking call jet_station_poll()/jet_chan_recv(). */
int jet_station_fd(struct jet_station *s);
int jet_station_arm(struct jet_station *s);

/* Opens channel `id` (1 .. 2^32-1; 0 is reserved for control) with a policy
 * (NULL: defaults). Ids below 131,072 are found by direct index, larger ones
 * by hash: a station with many channels does best numbering them from 1. -EADDRINUSE if open already, -EBUSY if its reserved rate
 * is not admitted, -EINVAL for a bad policy. */
int jet_chan_open(struct jet_station *s, uint32_t id, const struct jet_chan_policy *p,
                  struct jet_chan **out);
/* Closes a channel: frames still queued are released; frames lent to the
 * application must have been released before. */
void jet_chan_close(struct jet_chan *c);
uint32_t jet_chan_id(const struct jet_chan *c);
void jet_chan_stats(const struct jet_chan *c, struct jet_chan_stats *out);
/* Frames waiting in c's receive queue now (no driver run: cheap). */
uint32_t jet_chan_pending(const struct jet_chan *c);
/* Calls fn for every open channel of s (for tools). */
void jet_station_each_chan(struct jet_station *s, void (*fn)(struct jet_chan *c, void *arg),
                           void *arg);

/* ---- receive ---- */

enum {
    JET_RX_CRC_BAD = 1, /* payload CRC failed (accept_bad_crc) */
    JET_RX_ETH = 2,     /* an Ethernet frame (steered): payload is the whole frame, from the
                           destination MAC; l3_off is where its EtherType's payload begins */
    JET_RX_CRC_UNCHECKED = 4, /* defer_crc: the frame carries a payload CRC (rx->crc) that
                           nobody has checked yet.  The payload stays in the link's shared
                           pool, where another process may still change it, so a check
                           made before the bytes are used proves nothing about the bytes
                           used: copy them out with jet_crc32c_copy (one load of each byte,
                           the CRC computed over exactly the bytes stored) and compare with
                           rx->crc; on a mismatch use none of them and give the frame back
                           with jet_chan_release_crc_bad (counted in dropped_crc). */
};

struct jet_rx {
    const uint8_t *payload; /* the payload, in the pool: valid until jet_chan_release() */
    uint32_t len;           /* payload bytes */
    uint32_t flags;         /* JET_RX_CRC_BAD, JET_RX_ETH */
    uint8_t prio;           /* the sender's priority class (Ethernet: 0) */
    uint8_t l3_off;         /* JET_RX_ETH: Ethernet header bytes (14, 18 with a VLAN tag) */
    uint16_t src_station;   /* Ethernet: 0 (the source is in the frame) */
    uint32_t src_chan;      /* Ethernet: 0 */
    uint64_t arrived_ns;    /* CLOCK_MONOTONIC when the driver demultiplexed it */
    uint32_t crc;           /* JET_RX_CRC_UNCHECKED: the CRC32C of the payload as sent (read
                               from the frame once, when it was demultiplexed); else 0 */
    struct jet_frame f;     /* private */
};

/* Takes the next frame of channel c. timeout_ns: 0 never blocks (-EAGAIN
 * when none), -1 waits without limit, else waits up to that long
 * (-ETIMEDOUT). With busy-poll set on the station it spins instead of
 * sleeping. */
int jet_chan_recv(struct jet_chan *c, struct jet_rx *rx, int64_t timeout_ns);
/* Copies len bytes at offset off of the payload into dst. 0, or -ERANGE if
 * [off, off+len) is not inside the payload (nothing copied). */
int jet_rx_read(const struct jet_rx *rx, size_t off, void *dst, size_t len);
/* Directed placement: copies len payload bytes at off straight to their
 * destination, once. Same bounds rule as jet_rx_read. */
int jet_rx_place(const struct jet_rx *rx, size_t off, size_t len, void *dst);
/* ... scattered over an iovec, filled in order; -EINVAL if the iovec holds
 * fewer than len bytes. */
int jet_rx_placev(const struct jet_rx *rx, size_t off, size_t len, const struct iovec *iov,
                  int iovcnt);
/* ... into a file descriptor: at file offset foff with pwrite (regular
 * files), or at the current position with write when foff is -1 (pipes,
 * sockets, terminals). Returns the bytes placed: len, or fewer when a
 * non-blocking pipe or socket filled up (place the rest later from off +
 * the count); a negative errno when nothing could be placed (-EAGAIN). */
ssize_t jet_rx_place_fd(const struct jet_rx *rx, size_t off, size_t len, int fd, off_t foff);
/* Gives the frame back. */
void jet_chan_release(struct jet_chan *c, struct jet_rx *rx);
/* Gives back a frame whose payload failed the CRC check its application made
 * (JET_RX_CRC_UNCHECKED): counted in the channel's dropped_crc like a frame
 * the driver drops itself, and no longer in frames_in and bytes_in. */
void jet_chan_release_crc_bad(struct jet_chan *c, struct jet_rx *rx);

/* ---- transmit ---- */

/* Sends one frame to (dst_station, dst_chan) with the bytes of iov as
 * payload, copied once into the pool with the CRC computed during the copy.
 * Returns the payload length, or -EAGAIN when the link cannot take a frame
 * now (back-pressure: retry after jet_station_wait), -EMSGSIZE over the MTU,
 * -EHOSTUNREACH when dst_station is not there. */
ssize_t jet_chan_send(struct jet_chan *c, uint16_t dst_station, uint32_t dst_chan,
                      const struct iovec *iov, int iovcnt);

struct jet_txbuf {
    uint8_t *payload; /* where to write the payload (in the pool) */
    uint32_t cap;     /* at most this many bytes */
    uint16_t gso_size; /* Ethernet frames on a link with caps.tso: jet_frame.gso_size
                          (0 after alloc: an ordinary frame) */
    struct jet_frame f; /* private */
};
/* Zero-copy send: lends a pool buffer to fill in place. 0, -EAGAIN, -ENOBUFS. */
int jet_chan_tx_alloc(struct jet_chan *c, struct jet_txbuf *tb);
/* Sends len bytes of tb->payload; always consumes tb. */
int jet_chan_tx_commit(struct jet_chan *c, struct jet_txbuf *tb, uint16_t dst_station,
                       uint32_t dst_chan, uint32_t len);
/* The same, for a payload whose CRC32C the caller computed while writing it
 * (jet_crc32c_copy chained over its pieces): the payload is not read again.
 * crc must be jet_crc32c(0, tb->payload, len). Always consumes tb. */
int jet_chan_tx_commit_crc(struct jet_chan *c, struct jet_txbuf *tb, uint16_t dst_station,
                           uint32_t dst_chan, uint32_t len, uint32_t crc);
/* Gives a lent transmit buffer back unsent. */
void jet_chan_tx_abort(struct jet_chan *c, struct jet_txbuf *tb);

/* ---- Ethernet and IP flow steering ----
 * Ethernet frames (on links that carry them: jet_link_caps.eth) reach
 * channels by steering rather than by channel id.  An IPv4 packet goes to
 * the channel of the most specific rule it matches:
 *   1. a connection: protocol, source and destination address and port;
 *   2. a listener on one address: protocol, destination address and port;
 *   3. a listener on every address: protocol and destination port;
 *   4. a protocol: protocol only (ICMP, say, or any protocol without ports);
 * then to the station's default channel (jet_chan_steer_default), which
 * also takes every frame that is not IPv4 (ARP, ...), then is dropped and
 * counted in dropped_other.  Rule fields are host byte order; 0 means "any"
 * and is allowed only where the shapes above have no field.  Fragments (the
 * first one too) are matched without ports: they match shape 4 or go to the
 * default channel, where the IPv4 layer reassembles them (jet/ip.h).  The IPv4 header is checked (length fields, checksum)
 * before it is trusted to name a channel: a damaged one is dropped and
 * counted in dropped_header.  A steered frame is queued under the channel's
 * own policy and limits, like any other. */
struct jet_flow {
    uint8_t proto;         /* JET_IP_PROTO_* (jet/inet.h); never 0 */
    uint32_t src, dst;     /* IPv4 addresses */
    uint16_t sport, dport; /* TCP or UDP ports */
};
/* Steers IPv4 packets matching f to channel c, until jet_chan_unsteer() or
 * the channel is closed.  -EINVAL: f has none of the four shapes (or ports
 * with a protocol other than TCP and UDP); -EADDRINUSE: the same rule is
 * set already (on any channel of the station); -ENOMEM. */
int jet_chan_steer(struct jet_chan *c, const struct jet_flow *f);
/* Removes c's rule f.  -ENOENT if c has no such rule. */
int jet_chan_unsteer(struct jet_chan *c, const struct jet_flow *f);
/* Makes c the station's default channel for Ethernet frames no rule takes
 * (NULL: none, the default).  Closing c clears it. */
void jet_station_steer_default(struct jet_station *s, struct jet_chan *c);

/* Sends one Ethernet frame: the bytes of iov, from the destination MAC on,
 * copied once into the pool (the link adds nothing but what the medium
 * does).  Returns the frame length; -EAGAIN (back-pressure), -EMSGSIZE
 * (over jet_link_caps.max_frame, or under 14 bytes), -EOPNOTSUPP if the link
 * carries no Ethernet, -EHOSTUNREACH for a destination the link cannot
 * reach.  Counted in c's frames_out and bytes_out. */
ssize_t jet_chan_send_eth(struct jet_chan *c, const struct iovec *iov, int iovcnt);
/* Zero-copy Ethernet send: lends a pool buffer; tb->payload is where the
 * frame starts (destination MAC), tb->cap its most bytes. */
int jet_chan_tx_alloc_eth(struct jet_chan *c, struct jet_txbuf *tb);
/* Sends the len-byte Ethernet frame written at tb->payload; always consumes tb. */
int jet_chan_tx_commit_eth(struct jet_chan *c, struct jet_txbuf *tb, uint32_t len);

/* Busy-poll: jet_chan_recv spins on the link instead of sleeping. */
void jet_station_busy_poll(struct jet_station *s, bool on);
/* Receive timestamps (jet_rx.arrived_ns; on by default): one clock read per
 * burst. Off, arrived_ns is 0 and the clock is not read. */
void jet_station_timestamps(struct jet_station *s, bool on);

#pragma GCC visibility pop

#endif
