/* TCP sans-I/O protocol core: one endpoint of one TCP connection (RFC 9293).
 * Spec: docs/tcp.md.  The glue (station, steering, listeners, blocking calls) is
 * src/tcp/tcp_glue.c and friends; the engine underneath is src/xport
 * (docs/transport.md): send queue, SACK scoreboard, loss recovery, RTT/RTO,
 * congestion control, receive placement and ACK policy.  This core is TCP's header,
 * options, handshake, close, state machine and timers on top of it, as RBS is RBS's.
 *
 * The core does no I/O, reads no clock, prints nothing, and allocates only in
 * tcp_create() (and where the engine does: tcp_recv_sink's staging buffer, range-set
 * growth).  Time is the caller's `now` in nanoseconds on any monotonic clock; every
 * call that takes `now` gets a value >= the previous one.
 *
 * A segment here is a TCP header with its options and payload: the IPv4 payload.  The
 * 4-tuple is fixed at creation (cfg.t); the IPv4 layer around it is the glue's.
 *
 * Driving it (one thread at a time per connection):
 *     tcp_create(&cfg, &c);
 *     tcp_connect(c, now)  or  tcp_accept_syn(c, syn, len, flags, now)
 *                          or  tcp_accept_cookie(c, ack, len, flags, &opts, now)
 *     loop:
 *         for each received segment:        tcp_input(c, seg, len, flags, now)
 *         if now >= tcp_next_timeout(c):    tcp_on_timeout(c, now)
 *         while ((n = tcp_output(c, now, buf, cap)) > 0)   send buf[0..n)
 *         application: tcp_send / tcp_send_ref / tcp_completed, tcp_recv / peek / consume
 *     sleep until a segment arrives or tcp_next_timeout(c)
 * Call tcp_output after anything that may have made a segment due (input, timeout,
 * send, recv/consume, shutdown, abort, option changes) until it returns 0.
 *
 * Buffers and lifetimes
 *   - tcp_input and the accept calls read seg during the call only, each byte once:
 *     seg may be memory another process can write.  The header is copied out and
 *     parsed from the copy; the payload's new bytes are copied once, straight to their
 *     stream offset in the receive ring (internal or registered), or in sink mode into
 *     a private staging copy and from there to the sink hook.  Unless the caller passes
 *     TCP_IN_CSUM_OK, the Internet checksum (with the pseudo-header of cfg.t) is
 *     computed over the header copy and over the payload in the same pass that copies
 *     it, so it covers exactly the bytes used; a mismatch drops the segment before
 *     anything acts on it (stats.csum_bad, -EIO).  Never keeps the pointer.
 *   - tcp_send copies into the internal send ring; tcp_send_ref queues the caller's
 *     buffer by reference: it must stay allocated and unchanged until tcp_completed
 *     returns its cookie (or the connection is destroyed).
 *   - tcp_output_iov lends pointers into queued send data; they are valid until the
 *     next call other than tcp_output*, tcp_next_timeout, tcp_state, tcp_error or
 *     tcp_get_info on this connection.
 *
 * Errors: 0 (or a count) or a negative errno.  Malformed segments (bad lengths, data
 * offset, option lengths) are counted in stats and dropped: -EBADMSG. */
#ifndef JET_TCP_CORE_H
#define JET_TCP_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "jet/inet.h"
#include "jet/tcp.h"
#include "tcp/tcp_cookie.h"
#include "tcp/tcp_isn.h"
#include "xport/xp_cc.h"

struct tcp_conn;

enum {
    TCP_MSS_DEFAULT = 536,      /* the peer's MSS when its SYN has none (RFC 9293 3.7.1) */
    TCP_MSS_MIN = 88,           /* smallest MSS we send with (Linux's floor) */
    TCP_SEG_MAX = 65535 - 20,   /* largest segment (header + payload) in one IPv4 packet */
    TCP_OUT_HDR_MAX = JET_TCP_HDR_MAX,
    TCP_QUICKACK_SEGS = 16,     /* segments ACKed at once at the start (and after idle) */
    TCP_CHALLENGE_ACK_LIMIT = 1000, /* challenge ACKs per second (RFC 5961 7, Linux's) */
};

/* Any field left 0 takes its default (in brackets). */
struct tcp_cfg {
    struct tcp_tuple t;        /* local and remote address and port (host order) */
    uint32_t mss;              /* largest payload we accept and send: link MTU - 40 [1460];
                                  offered in our SYN; the send MSS is min(this, the
                                  peer's MSS option or 536) and follows PMTU (tcp_pmtu) */
    uint32_t rcvbuf_bytes;     /* receive ring size, the largest window [4 MiB]; sets
                                  the window scale we offer */
    uint32_t rcvbuf_init;      /* window advertised at first when auto-tuning
                                  [min(rcvbuf_bytes, 256 KiB)]; it grows toward
                                  rcvbuf_bytes as the application keeps up (docs/tcp.md);
                                  = rcvbuf_bytes: no auto-tuning */
    bool rcvbuf_external;      /* no internal receive ring: tcp_recv_register or
                                  tcp_recv_sink must come before connect / accept */
    uint32_t sndbuf_bytes;     /* internal send ring for tcp_send [4 MiB] */
    uint32_t max_refs;         /* tcp_send_ref buffers queued or awaiting completion [256] */
    uint64_t rto_min_ns;       /* RFC 6298 minimum RTO [TCP_RTO_MIN_DEFAULT_NS] */
    uint64_t rto_max_ns;       /* [60 s] */
    uint64_t rto_init_ns;      /* before the first RTT sample (SYN) [1 s, RFC 6298] */
    uint64_t ack_delay_ns;     /* delayed ACK [TCP_ACK_DELAY_DEFAULT_NS]; every 2nd
                                  full segment, out-of-order data and the first
                                  TCP_QUICKACK_SEGS segments are ACKed at once */
    bool nodelay;              /* no Nagle: a short segment goes out at once */
    uint64_t keepalive_ns;     /* idle time before the first keepalive probe; 0: off [off] */
    uint64_t keepalive_intvl_ns; /* between probes [75 s] */
    uint32_t keepalive_probes; /* unanswered probes before -ETIMEDOUT [9] */
    uint32_t max_retries;      /* consecutive RTO expirations before -ETIMEDOUT [15] */
    uint32_t syn_retries;      /* the same for our SYN / SYN-ACK [6]; UINT32_MAX: until
                                  the caller gives up */
    uint64_t user_timeout_ns;  /* RFC 5482: fail when sent data stays unacknowledged this
                                  long; 0: only max_retries counts [0] */
    uint64_t time_wait_ns;     /* TIME_WAIT (2 MSL) [60 s, as Linux] */
    uint32_t init_cwnd_segs;   /* RFC 6928 initial window [10] */
    const struct xp_cc_ops *cc;/* congestion control [CUBIC]; NewReno: &xp_cc_newreno */
    uint32_t isn;              /* our initial sequence number (tcp_isn()) */
    uint32_t ts_offset;        /* added to our timestamp clock (per connection, hashed) */
    bool no_sack, no_ts, no_wscale; /* do not offer SACK / timestamps / window scaling */
};

#define TCP_RTO_MIN_DEFAULT_NS 5000000ull   /* 5 ms: LAN-sized (docs/tcp.md says why) */
#define TCP_ACK_DELAY_DEFAULT_NS 1000000ull /* 1 ms */
#define TCP_TS_HZ 1000000u                  /* our timestamp clock: microseconds */

/* Flags for tcp_input and the accept calls. */
enum {
    TCP_IN_CSUM_OK = 1, /* the caller verified the checksum, or the link did, and the
                           bytes cannot change under the core: do not compute it */
};
/* Flags for tcp_output_iov. */
enum {
    TCP_OUT_CSUM_PARTIAL = 1, /* leave the checksum field holding the pseudo-header sum
                                 (folded, not complemented), for a link that completes
                                 it (CHECKSUM_PARTIAL, virtio NEEDS_CSUM) */
};

enum tcp_state {
    TCP_CLOSED = 0,
    TCP_LISTEN, /* not used by a connection; for names and info */
    TCP_SYN_SENT,
    TCP_SYN_RCVD,
    TCP_ESTABLISHED,
    TCP_FIN_WAIT_1,
    TCP_FIN_WAIT_2,
    TCP_CLOSING,
    TCP_TIME_WAIT,
    TCP_CLOSE_WAIT,
    TCP_LAST_ACK,
};

/* Allocates an endpoint with cfg.  0, -EINVAL (bad cfg), -ENOMEM. */
int tcp_create(const struct tcp_cfg *cfg, struct tcp_conn **out);
/* Frees everything; referenced send buffers are not touched.  NULL is fine. */
void tcp_destroy(struct tcp_conn *c);
const struct tcp_cfg *tcp_get_cfg(const struct tcp_conn *c);

/* Active open: SYN_SENT, a SYN due.  0, -EISCONN if not fresh. */
int tcp_connect(struct tcp_conn *c, uint64_t now);
/* Passive open from a received SYN (the whole segment, addressed to cfg.t): SYN_RCVD,
 * a SYN-ACK due.  0; -EBADMSG if malformed or the checksum is wrong; -EPROTO if it is
 * not a SYN without ACK/RST; -EISCONN if used. */
int tcp_accept_syn(struct tcp_conn *c, const uint8_t *seg, size_t len, unsigned flags,
                   uint64_t now);
/* Passive open from the ACK that completed a SYN-cookie handshake (the listener checked
 * it with tcp_cookie_check, which gave o): ESTABLISHED with iss = ack - 1,
 * irs = seq - 1 and the options o says, then the segment is processed as input (its
 * data, FIN).  cfg.isn is ignored.  0, -EBADMSG, -EPROTO (not an ACK), -EISCONN. */
int tcp_accept_cookie(struct tcp_conn *c, const uint8_t *seg, size_t len, unsigned flags,
                      const struct tcp_cookie_opts *o, uint64_t now);

/* One received segment for this connection.  Always consumes it.  0 when well-formed
 * (even if dropped as unacceptable or answered with an ACK or RST: stats say),
 * -EIO (checksum), -EBADMSG (malformed). */
int tcp_input(struct tcp_conn *c, const uint8_t *seg, size_t len, unsigned flags, uint64_t now);

/* Writes the next due segment (header, options, payload, checksum) into buf, cap bytes
 * (at least TCP_OUT_HDR_MAX + 1), and returns its length; 0 if nothing is due now;
 * -ENOSPC if cap is too small for any segment. */
int tcp_output(struct tcp_conn *c, uint64_t now, uint8_t *buf, size_t cap);
/* The same without copying the payload: the header goes into hdr (hcap >=
 * TCP_OUT_HDR_MAX), iov[0..*niov) points at the payload (room for iovmax >= 1
 * entries), at most maxpayload bytes.  The checksum covers header and payload, or is
 * the pseudo-header sum with TCP_OUT_CSUM_PARTIAL.  Returns header + payload length, 0
 * if nothing is due. */
enum { TCP_IOV_MAX = 8 };
int tcp_output_iov(struct tcp_conn *c, uint64_t now, uint8_t *hdr, size_t hcap,
                   size_t maxpayload, struct iovec *iov, int iovmax, int *niov, unsigned flags);

/* Absolute time (ns) of the next timer, UINT64_MAX if none. */
uint64_t tcp_next_timeout(const struct tcp_conn *c);
/* Runs every timer due at now.  0, or the connection's error if it just failed. */
int tcp_on_timeout(struct tcp_conn *c, uint64_t now);
/* True once nothing is left to do: CLOSED (after an abort, reset, or TIME_WAIT's end). */
bool tcp_done(const struct tcp_conn *c);

/* ICMP "fragmentation needed" with the next hop's MTU (RFC 1191): the send MSS drops
 * to mtu - 40 (not below TCP_MSS_MIN, never above what it was) and what is in flight
 * above it is sent again in smaller segments.  Ignored for mtu 0 or no decrease. */
void tcp_pmtu(struct tcp_conn *c, uint32_t mtu, uint64_t now);
/* Any other ICMP error about this connection (RFC 1122 4.2.3.9, RFC 5927): remembered
 * as a soft error (reported if the connection then times out); in SYN_SENT a port or
 * protocol unreachable fails it with -ECONNREFUSED. */
void tcp_icmp_error(struct tcp_conn *c, int err, uint64_t now);

/* ---- application side ---- */

/* Copies up to len bytes into the send ring; returns how many were taken (0..len),
 * -EAGAIN if none fit, -EPIPE after shutdown, -ENOTCONN before connect/accept, or the
 * connection's error. */
ssize_t tcp_send(struct tcp_conn *c, const void *buf, size_t len);
/* Queues buf[0..len) by reference; cookie comes back from tcp_completed once every
 * byte is acknowledged.  0, -EAGAIN (max_refs in use), -EPIPE, the error. */
int tcp_send_ref(struct tcp_conn *c, const void *buf, size_t len, uint64_t cookie);
int tcp_completed(struct tcp_conn *c, uint64_t *cookies, int max);
uint64_t tcp_send_pending(const struct tcp_conn *c); /* queued, not yet acknowledged */
uint64_t tcp_send_space(const struct tcp_conn *c);   /* bytes tcp_send would take now */

/* Copies up to len in-order bytes out; 0 at end of stream, -EAGAIN if none yet, or the
 * connection's error. */
ssize_t tcp_recv(struct tcp_conn *c, void *buf, size_t len);
/* Receive into the application's ring (as rbs_recv_register: only while nothing is
 * buffered, -EBUSY otherwise; the ring must outlive the connection). */
int tcp_recv_register(struct tcp_conn *c, void *buf, size_t len);
/* Sink mode (as rbs_recv_sink): each new range goes to fn(arg, off, p, len) during
 * tcp_input; a negative return fails the connection with that errno (RST). */
typedef int (*tcp_sink_fn)(void *arg, uint64_t off, const uint8_t *p, size_t len);
int tcp_recv_sink(struct tcp_conn *c, tcp_sink_fn fn, void *arg, uint64_t window);
uint64_t tcp_recv_placed(const struct tcp_conn *c);
size_t tcp_recv_ready(const struct tcp_conn *c);
size_t tcp_recv_peek(const struct tcp_conn *c, const uint8_t **p);
int tcp_recv_consume(struct tcp_conn *c, size_t n);
bool tcp_recv_eof(const struct tcp_conn *c);

/* Half-close: a FIN follows the queued data.  0, -ENOTCONN if never opened. */
int tcp_shutdown(struct tcp_conn *c, uint64_t now);
/* Abort: an RST is due (unless CLOSED, SYN_SENT or TIME_WAIT), state CLOSED, error
 * -ECONNABORTED. */
int tcp_abort(struct tcp_conn *c, uint64_t now);

/* TSO, for a link that segments (jet_link_caps.tso): a data segment may then carry up
 * to max_bytes of payload (whole multiples of the wire segment's payload, the send MSS
 * minus the options; never more than an IPv4 packet holds), which the link cuts into
 * wire segments of tcp_out_seg_size bytes, each with the same header and options.
 * 0: off (the default), one MSS per segment.  Retransmissions and probes stay one MSS.
 * Takes effect at the next output. */
void tcp_set_tso(struct tcp_conn *c, uint32_t max_bytes);
/* Payload bytes per wire segment of the segment tcp_output / tcp_output_iov last
 * returned (the link's gso_size); 0 when it was no data segment (it fits one). */
uint32_t tcp_out_seg_size(const struct tcp_conn *c);

/* Options that may change on an open connection. */
void tcp_set_nodelay(struct tcp_conn *c, bool on);
void tcp_set_keepalive(struct tcp_conn *c, uint64_t idle_ns, uint64_t intvl_ns, uint32_t probes);

enum tcp_state tcp_state(const struct tcp_conn *c);
const char *tcp_state_name(enum tcp_state s);
/* 0, or why the connection failed: -ECONNRESET, -ECONNREFUSED, -ETIMEDOUT,
 * -ECONNABORTED, a soft ICMP error it timed out with, or a sink hook's errno. */
int tcp_error(const struct tcp_conn *c);
/* Fills the core's part of the info (state, RTT, cwnd, counters; jet/tcp.h). */
void tcp_get_info(const struct tcp_conn *c, struct jet_tcp_info *out);

/* ---- without a connection ---- */

/* The RST that answers seg (received on t, seen from us) when no connection takes it
 * (RFC 9293 3.10.7.1): written into buf (cap >= JET_TCP_HDR_LEN) with its checksum.
 * Returns its length, 0 when none is due (seg is an RST itself), -EBADMSG when seg is
 * malformed.  seg is read once; the checksum is verified unless TCP_IN_CSUM_OK. */
int tcp_rst_reply(const struct tcp_tuple *t, const uint8_t *seg, size_t len, unsigned flags,
                  uint8_t *buf, size_t cap);

/* Tests and fuzzing: NULL if every internal invariant holds, else which one broke. */
const char *tcp_invariant_violation(const struct tcp_conn *c);

#endif
