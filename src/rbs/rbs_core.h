/* RBS sans-I/O protocol core: one endpoint of one connection.
 * Spec: docs/rbs.md.  The glue (channels, listener, blocking calls) lives elsewhere.
 *
 * The core does no I/O, reads no clock, allocates only in rbs_create() (and
 * rbs_recv_sink(): its staging buffer; and when the SACK scoreboard or the out-of-order
 * table first grows beyond 32 ranges, doubling up to a bound set by the window: see
 * docs/transport.md) and prints nothing.  Time is the caller's `now`
 * in nanoseconds on any monotonic clock; every call that takes `now` must get a value
 * >= the previous one.
 *
 * Driving it (one thread at a time per connection):
 *     rbs_create(&cfg, &c);  rbs_connect(c, now)  or  rbs_listen_accept(c, syn, len, now)
 *     loop:
 *         for each received frame payload:   rbs_input_crc(c, seg, len, crc, now)
 *         if now >= rbs_next_timeout(c):     rbs_on_timeout(c, now)
 *         while ((n = rbs_output(c, now, buf, cap)) > 0)  send buf[0..n) to the peer
 *         application: rbs_send/rbs_send_ref/rbs_completed, rbs_recv/peek/consume
 *     sleep until a frame arrives or rbs_next_timeout(c)
 * Call rbs_output after anything that may have made a segment due (input, timeout,
 * send, recv/consume, shutdown, abort) until it returns 0.
 *
 * Buffers and lifetimes
 *   - rbs_input / rbs_input_crc read seg during the call only, each byte once (so seg
 *     may be memory another process can write: rbs_input_crc checks what it read);
 *     payload bytes are copied once, straight to their stream offset in the receive
 *     ring (the internal one, or the one the application registered), out-of-order data
 *     too; or, in sink mode (rbs_recv_sink), copied into a private staging buffer and,
 *     once their CRC matched, handed to the application's placement hook with their
 *     offset during the call, and the hook copies them once to where they belong.
 *   - rbs_send copies into the internal send ring; rbs_send_ref queues the caller's
 *     buffer by reference: it must stay allocated and unchanged until rbs_completed
 *     returns its cookie (or the connection is destroyed).
 *   - rbs_output_iov lends pointers into queued send data (ring or referenced
 *     buffers); they are valid until the next call other than rbs_output*,
 *     rbs_next_timeout, rbs_state, rbs_error or rbs_get_stats on this connection.
 *
 * Errors: 0 (or a count) or a negative errno; malformed segments return the errno of
 * their enum rbs_bad reason and are counted in stats.bad[]. */
#ifndef JET_RBS_CORE_H
#define JET_RBS_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "rbs/rbs_wire.h"

struct rbs_conn;

/* Any field left 0 takes its default (in brackets). */
struct rbs_cfg {
    uint32_t mss;           /* largest payload per segment we send and accept [1400];
                               a segment is at most mss + RBS_HDR_MAX bytes */
    uint32_t rcvbuf_bytes;  /* receive ring size [256 KiB]; sets the window scale */
    bool rcvbuf_external;   /* no internal receive ring: the application must
                               rbs_recv_register its ring (ideally rcvbuf_bytes long) or
                               rbs_recv_sink before connect / accept (else they fail
                               with -EINVAL) */
    uint32_t sndbuf_bytes;  /* internal send ring for rbs_send [256 KiB] */
    uint32_t max_refs;      /* rbs_send_ref buffers queued or awaiting rbs_completed [256] */
    uint64_t rto_min_ns;    /* [2 ms] */
    uint64_t rto_max_ns;    /* [1 s] */
    uint64_t rto_init_ns;   /* RTO before the first RTT sample (SYN) [20 ms] */
    uint64_t ack_delay_ns;  /* delayed ACK [200 us]; every 2nd segment is acked at once */
    uint64_t keepalive_ns;  /* idle time before the first probe [2 s: on by default, so a
                               vanished peer is noticed]; UINT64_MAX: off */
    uint64_t keepalive_intvl_ns; /* between probes [500 ms] */
    uint32_t keepalive_probes;   /* unanswered probes before -ETIMEDOUT [4] */
    uint32_t max_retries;   /* consecutive RTO expirations before -ETIMEDOUT [12] */
    uint32_t syn_retries;   /* the same for our SYN (SYN_SENT) [max_retries]; UINT32_MAX:
                               retry until the caller gives up (a connect timeout) */
    uint64_t time_wait_ns;  /* TIME_WAIT duration [2 * rto_max] */
    uint32_t init_cwnd_segs;/* initial congestion window in segments [10] */
    uint32_t isn;           /* initial sequence number: choose it at random */
    uint32_t local_chan;    /* our connection channel, sent in SYN / SYN-ACK (not 0) */
    bool nodelay;           /* no Nagle: a short segment leaves at once even while an
                               earlier short one is unacknowledged [false: Nagle with
                               Minshall's refinement, the engine's; docs/rbs.md] */
};

enum rbs_state {
    RBS_CLOSED = 0,
    RBS_SYN_SENT,
    RBS_SYN_RCVD,
    RBS_ESTABLISHED,
    RBS_FIN_WAIT_1,
    RBS_FIN_WAIT_2,
    RBS_CLOSING,
    RBS_TIME_WAIT,
    RBS_CLOSE_WAIT,
    RBS_LAST_ACK,
};

struct rbs_stats {
    uint64_t segs_in, segs_out;
    uint64_t bytes_in;          /* new in-order payload bytes delivered to the buffer */
    uint64_t bytes_out;         /* payload bytes sent, retransmissions included */
    uint64_t retransmits;       /* segments retransmitted (any cause) */
    uint64_t retrans_bytes;
    uint64_t fast_retransmits;  /* loss recovery episodes entered from dup ACKs / SACK */
    uint64_t lost_retransmits;  /* retransmissions found lost by SACK (sent again) */
    uint64_t tlp_probes;        /* tail loss probes sent */
    uint64_t timeouts;          /* RTO expirations */
    uint64_t dup_acks;
    uint64_t dup_segs;          /* segments carrying only data already received */
    uint64_t ooo_segs;          /* segments placed out of order */
    uint64_t ooo_dropped;       /* out-of-order segments dropped: range bound reached */
    uint64_t sack_dropped;      /* SACK blocks not recorded: scoreboard bound reached */
    uint64_t window_drops;      /* segments with bytes beyond the receive window */
    uint64_t challenge_acks;
    uint64_t rst_in, rst_out;
    uint64_t persist_probes, keepalive_probes;
    uint64_t unexpected;        /* well-formed but unexpected segments, dropped */
    uint64_t crc_bad;           /* rbs_input_crc: segments whose CRC did not match, dropped */
    uint64_t bad[RBS_BAD_MAX];  /* malformed segments by enum rbs_bad */
    uint64_t srtt_ns, rttvar_ns, rto_ns;
    uint64_t cwnd, ssthresh;    /* bytes */
    uint64_t snd_wnd, rcv_wnd;  /* bytes: peer's window, our advertised window */
    uint32_t mss;               /* effective send MSS */
};

/* Allocates an endpoint with cfg (NULL: all defaults).  The only allocation: the
 * connection, its rings and tables.  0, -EINVAL (bad cfg), -ENOMEM. */
int rbs_create(const struct rbs_cfg *cfg, struct rbs_conn **out);
/* Frees everything; referenced send buffers are not touched. NULL is fine. */
void rbs_destroy(struct rbs_conn *c);
/* Turns Nagle off (on: cfg.nodelay) or back on; applies from the next rbs_output. */
void rbs_set_nodelay(struct rbs_conn *c, bool on);

/* Active open: queues a SYN.  0, or -EISCONN if not CLOSED/fresh. */
int rbs_connect(struct rbs_conn *c, uint64_t now);
/* Passive open from a received SYN (the whole segment): SYN_RCVD and a SYN-ACK
 * queued.  0; the parse errno if malformed; -EPROTO if not a SYN; -EISCONN if used. */
int rbs_listen_accept(struct rbs_conn *c, const uint8_t *syn, size_t len, uint64_t now);
/* The peer's connection channel from its SYN / SYN-ACK (0 before). */
uint32_t rbs_peer_chan(const struct rbs_conn *c);

/* Feeds one received segment seg[0..len), a frame payload whose CRC32C is crc as the
 * frame carried it, not yet checked: the bytes may still change while they are read
 * (a pool another process writes).  The header is copied out once and parsed from the
 * copy; the CRC is computed over that copy and over the payload in the same pass that
 * copies the payload's new bytes to their place, so it covers exactly the bytes used.
 * On a mismatch the segment is dropped before anything acts on it: nothing recorded,
 * nothing acknowledged (its bytes may lie in the ring's free space beyond the delivered
 * edge, where they count for nothing), stats.crc_bad counted, -EIO; the peer resends.
 * Always consumes the segment; never keeps the pointer.  0 when well-formed (even if
 * dropped as unexpected, which stats count), -EIO, or the malformation's errno (a
 * segment longer than RBS_HDR_LEN + RBS_MSS_MAX, which no frame holds, or whose header
 * claims more than RBS_HDR_MAX bytes: -EMSGSIZE). */
int rbs_input_crc(struct rbs_conn *c, const uint8_t *seg, size_t len, uint32_t crc, uint64_t now);
/* The same for a segment the caller vouches for (its CRC checked, its bytes private and
 * unchanging): no CRC is computed, and -EIO never returned. */
int rbs_input(struct rbs_conn *c, const uint8_t *seg, size_t len, uint64_t now);

/* Writes the next due segment into buf (cap bytes; at least RBS_HDR_MAX + 1) and
 * returns its length, 0 if nothing is due now, -ENOSPC if cap < RBS_HDR_MAX. */
int rbs_output(struct rbs_conn *c, uint64_t now, uint8_t *buf, size_t cap);

/* Same, without copying the payload: writes the header into hdr (hcap >= RBS_HDR_MAX)
 * and points iov[0..*niov) (room for iovmax >= 1 entries) at the payload bytes, for a
 * copy fused with the frame CRC.  Returns header length + payload length, 0 if
 * nothing is due.  The payload is at most maxpayload bytes. */
enum { RBS_IOV_MAX = 8 };
int rbs_output_iov(struct rbs_conn *c, uint64_t now, uint8_t *hdr, size_t hcap,
                   size_t maxpayload, struct iovec *iov, int iovmax, int *niov);

/* Absolute time (ns) of the next timer, UINT64_MAX if none. */
uint64_t rbs_next_timeout(const struct rbs_conn *c);
/* Runs every timer due at now.  0, or the connection's error if it just failed. */
int rbs_on_timeout(struct rbs_conn *c, uint64_t now);

/* ---- application side ---- */

/* Copies up to len bytes into the send ring; returns how many were taken (0..len),
 * -EAGAIN if none fit, -EPIPE after shutdown, or the connection's error. */
ssize_t rbs_send(struct rbs_conn *c, const void *buf, size_t len);
/* Queues buf[0..len) by reference (see lifetimes above); cookie comes back from
 * rbs_completed once every byte is acknowledged.  0, -EAGAIN (max_refs in use),
 * -EPIPE, the connection's error. */
int rbs_send_ref(struct rbs_conn *c, const void *buf, size_t len, uint64_t cookie);
/* Pops up to max cookies of fully acknowledged rbs_send_ref buffers, oldest first. */
int rbs_completed(struct rbs_conn *c, uint64_t *cookies, int max);
/* Bytes queued and not yet acknowledged. */
uint64_t rbs_send_pending(const struct rbs_conn *c);

/* Copies up to len in-order bytes out; 0 at end of stream (FIN received and read),
 * -EAGAIN if none yet, or the connection's error. */
ssize_t rbs_recv(struct rbs_conn *c, void *buf, size_t len);
/* Receive straight into the application's ring buf[0..len): stream offset o lives at
 * buf[(o - o0) % len], o0 the read position at registration.  Only while nothing is
 * buffered (else -EBUSY); best before connect / accept.  The ring must outlive the
 * connection or a re-registration.  Bytes become readable in place (rbs_recv_peek);
 * free them with rbs_recv_consume.  The advertised window is at most 0xFFFF units of
 * the window scale chosen from cfg.rcvbuf_bytes, so set that to the ring's size. */
int rbs_recv_register(struct rbs_conn *c, void *buf, size_t len);
/* Sink mode: no receive buffer at all.  Each new payload range is handed, during
 * rbs_input* and only then, to fn(arg, off, p, len): off counts from 0 at the read
 * position at registration (stream offset o goes to off = o - o0), p is valid during
 * the call only.  With rbs_input_crc, p is a private staging copy whose CRC matched
 * (the segment in the pool may have changed since; the copy did not).  Ranges come in
 * order or out of order, never beyond the FIN; every byte at most once (a stretch
 * received before is not handed again; a segment may be handed in several pieces
 * around such stretches).  fn must place all len bytes and return 0, or return a
 * negative errno: then the range is not recorded as received and the connection fails
 * with that errno (an RST goes to the peer).  fn must not call into this connection.
 * Contiguous bytes count as read once placed, so the window advertised is `window`
 * bytes beyond the in-order edge (at most 0xFFFF units of the scale chosen from
 * cfg.rcvbuf_bytes: set that to window).  Nothing is ever readable (rbs_recv* see
 * none); rbs_recv_placed tells the progress, rbs_recv_eof the end.  Same rule as
 * rbs_recv_register: only while nothing is buffered (-EBUSY), best before connect /
 * accept; the internal ring is freed, a staging buffer of RBS_MSS_MAX bytes allocated.
 * -EINVAL: no fn, window 0, above 2^30, or below one unit of the window scale;
 * -ENOMEM.  rbs_recv_register switches back to a ring. */
typedef int (*rbs_sink_fn)(void *arg, uint64_t off, const uint8_t *p, size_t len);
int rbs_recv_sink(struct rbs_conn *c, rbs_sink_fn fn, void *arg, uint64_t window);
/* Sink mode: bytes placed in order from sink offset 0 (the sink holds the stream
 * contiguously up to here); 0 in ring mode. */
uint64_t rbs_recv_placed(const struct rbs_conn *c);
/* In-order bytes readable now. */
size_t rbs_recv_ready(const struct rbs_conn *c);
/* Points *p at the first readable byte; returns how many follow contiguously in
 * memory (a wrapped ring needs two peeks). */
size_t rbs_recv_peek(const struct rbs_conn *c, const uint8_t **p);
/* Frees n read bytes (n <= rbs_recv_ready, else -EINVAL).  May make a window update due. */
int rbs_recv_consume(struct rbs_conn *c, size_t n);
/* True once the peer's FIN is in order (no byte will follow the ready ones). */
bool rbs_recv_eof(const struct rbs_conn *c);

/* Half-close: a FIN follows the queued data.  0, -ENOTCONN if never opened. */
int rbs_shutdown(struct rbs_conn *c, uint64_t now);
/* Abort: an RST is queued, state CLOSED, error -ECONNABORTED. */
int rbs_abort(struct rbs_conn *c, uint64_t now);

enum rbs_state rbs_state(const struct rbs_conn *c);
const char *rbs_state_name(enum rbs_state s);
/* 0, or why the connection failed: -ECONNRESET, -ECONNREFUSED, -ETIMEDOUT, -ECONNABORTED,
 * or the errno a sink hook returned. */
int rbs_error(const struct rbs_conn *c);
void rbs_get_stats(const struct rbs_conn *c, struct rbs_stats *out);

/* Tests and fuzzing: NULL if every internal invariant holds, else which one broke. */
const char *rbs_invariant_violation(const struct rbs_conn *c);
/* abort()s if an invariant is broken (print rbs_invariant_violation first to see which). */
void rbs_check_invariants(const struct rbs_conn *c);

#endif
