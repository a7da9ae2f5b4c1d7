/* RBS: the Jetstream reliable byte stream over channels (docs/rbs.md).
 *
 * One connection carries one reliable, ordered, full-duplex byte stream between two
 * stations.  Each end owns a channel of its station for the connection; a listener owns
 * a well-known channel that only ever sees connection requests (SYNs).  This API binds
 * the sans-I/O protocol core (src/rbs/rbs_core.h) to channels (include/jet/chan.h): it
 * owns the channels, the clock, the timers and the blocking calls.
 *
 * Driving.  Nothing runs in the background.  RBS is a protocol attached to the
 * station (jet/stack.h): every poll of the station (jet_station_poll, jet_rbs_poll, or
 * any blocking call of any protocol on it) drives *every* RBS connection and listener
 * of the station once (input from the channels, timers, output).  A call on a
 * connection that cannot go on drives the station once, then looks at its own state
 * again.  A program that sleeps elsewhere (epoll) waits on jet_rbs_fd(), arms with
 * jet_rbs_arm(), sleeps at most jet_rbs_timeout(), and calls jet_rbs_poll() when it
 * wakes.  Blocking calls (timeout_ns != 0) do all that themselves.
 *
 * Timeouts: 0 never blocks (-EAGAIN when nothing can be done now), -1 blocks without
 * limit, else blocks up to that many nanoseconds (-ETIMEDOUT when nothing happened).
 *
 * Ownership and lifetimes
 *   - The station stays the application's.  It must outlive every listener and
 *     connection on it.  jet_rbs_station_fini() lets closing connections finish, then
 *     frees every RBS object of the station; jet_station_close() frees them too, but
 *     at once (connections still open or closing are aborted).
 *   - A struct jet_rbs_conn from connect/accept is the application's until it calls
 *     jet_rbs_close() or jet_rbs_abort(); after either returns the handle is gone
 *     (a closing connection lingers inside the library until its close handshake ends).
 *     A connection that failed (peer reset, timeout) still has to be closed.
 *   - jet_rbs_send() copies the caller's bytes into the connection's send ring (keep
 *     nothing).  jet_rbs_send_ref() sends the caller's buffer by reference: it must stay
 *     allocated and unchanged until jet_rbs_completed() returns its cookie (or the
 *     connection is closed/aborted); that is the single-copy path (buffer -> pool,
 *     CRC fused with the copy).
 *   - A registered receive ring (jet_rbs_recv_register, or opts.ring) must stay
 *     allocated until the connection is closed or aborted.  The library writes received
 *     bytes into it at their stream offset (in order or not); bytes between the read
 *     position and jet_rbs_recv_ready() are the application's to read in place until it
 *     frees them with jet_rbs_recv_consume().
 *   - A sink file (jet_rbs_recv_sink, or opts.sink) stays the application's: the fd must
 *     stay open until the connection is closed or aborted (jet_rbs_close detaches it
 *     before it returns: bytes arriving later are discarded).  The library pwrite()s
 *     each received segment's payload to its offset in the file (in order or not),
 *     from a private copy whose CRC it checked while copying it out of the pool,
 *     while it drives the station; it never reads the file, never moves its offset,
 *     never truncates it.
 *   - One thread per station (and so per connection) at a time; no locking inside and
 *     no process-wide state: RBS's state of a station is attached to the station, so
 *     stations in different threads are independent.
 *
 * Errors: a negative errno.  jet_rbs_error(conn) tells why in words.  A failed
 * connection reports its error from every later call: -ECONNRESET (the peer aborted),
 * -ECONNREFUSED (nobody listens there), -ETIMEDOUT (the peer stopped answering),
 * -ECONNABORTED (aborted here), -EHOSTUNREACH (the link no longer reaches the peer's
 * station: on a LAN, its process is gone).  Peers are named in the link's terms
 * ("station 1 of lan:x"), and a link's own reason for refusing frames is quoted. */
#ifndef JET_RBS_H
#define JET_RBS_H

#pragma GCC visibility push(default) /* the library exports only what these headers declare */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "jet/chan.h"

struct jet_rbs_listener;
struct jet_rbs_conn;

/* Connection options; every field left 0 takes its default (in brackets).  Pass NULL
 * for all defaults. */
struct jet_rbs_opts {
    uint32_t rcvbuf;       /* receive ring bytes; sets the window scale [4 MiB] */
    uint32_t sndbuf;       /* send ring for jet_rbs_send [4 MiB] */
    uint32_t mss;          /* largest payload per segment [link MTU - 60] */
    uint32_t max_refs;     /* jet_rbs_send_ref buffers in flight [256] */
    uint64_t keepalive_ns; /* idle time before keepalive probes [2 s]; UINT64_MAX: off */
    uint32_t backlog;      /* listener: SYNs waiting for accept [16] */
    bool busy_poll;        /* blocking calls spin instead of sleeping (lowest latency) */
    bool nodelay;          /* no Nagle: every short write leaves at once [false: a short
                              segment waits while an earlier short one is unacknowledged
                              (Nagle, Minshall's form), so small writes coalesce into full
                              segments; jet_rbs_set_nodelay] */
    void *ring;            /* connect: receive into this ring (ring_len bytes) from the
                              first byte on; see jet_rbs_recv_register */
    size_t ring_len;
    bool sink;             /* connect: receive into file sink_fd at sink_off from the
                              first byte on, window rcvbuf; see jet_rbs_recv_sink */
    int sink_fd;
    uint64_t sink_off;
};

/* ---- opening ---- */

/* Listens on channel `chan` of station s.  0, -EADDRINUSE (channel open already),
 * -ENOMEM, -EINVAL.  The options apply to every accepted connection. */
int jet_rbs_listen(struct jet_station *s, uint32_t chan, const struct jet_rbs_opts *o,
                   struct jet_rbs_listener **out);
/* Stops listening: SYNs not yet accepted are dropped (their senders time out).
 * Accepted connections are not affected. */
void jet_rbs_listener_close(struct jet_rbs_listener *l);

/* Takes the oldest connection request and answers it.  The connection is returned
 * in the middle of its handshake (the SYN-ACK leaves with the next call that drives
 * the station); the first send/recv on it waits for the handshake to finish, and
 * fails if it does not.  Right after accept, and before any other call on the
 * station, is the moment to jet_rbs_recv_register a ring.  0, -EAGAIN / -ETIMEDOUT
 * (no request), -ENOMEM, -EADDRNOTAVAIL (no free channel). */
int jet_rbs_accept(struct jet_rbs_listener *l, struct jet_rbs_conn **out, int64_t timeout_ns);

/* Opens a connection to the listener at (dst_station, dst_chan) and waits until it is
 * established.  0; -ECONNREFUSED; -ETIMEDOUT (no answer: no listener there, or the
 * link cannot reach that station - the reason says which); -EINPROGRESS with timeout_ns 0
 * (the handshake goes on: *out is valid, jet_rbs_connected() tells when it is done). */
int jet_rbs_connect(struct jet_station *s, uint16_t dst_station, uint32_t dst_chan,
                    const struct jet_rbs_opts *o, struct jet_rbs_conn **out, int64_t timeout_ns);
/* 1 when established (or further), 0 while the handshake runs, or the error. */
int jet_rbs_connected(struct jet_rbs_conn *c);

/* ---- data ---- */

/* Copies up to len bytes into the send ring and returns how many it took (1..len).
 * Waits (up to timeout_ns) only while none fit.  -EAGAIN (timeout 0, ring full),
 * -ETIMEDOUT, -EPIPE (after shutdown), or the connection's error. */
ssize_t jet_rbs_send(struct jet_rbs_conn *c, const void *buf, size_t len, int64_t timeout_ns);
/* Queues buf[0..len) by reference (single copy: see lifetimes).  0, -EAGAIN
 * (opts.max_refs buffers in flight: wait for jet_rbs_completed), -EPIPE, the error. */
int jet_rbs_send_ref(struct jet_rbs_conn *c, const void *buf, size_t len, uint64_t cookie);
/* Pops up to max cookies of fully acknowledged send_ref buffers, oldest first; waits
 * up to timeout_ns for the first.  Returns the count, or -EAGAIN/-ETIMEDOUT, the error. */
int jet_rbs_completed(struct jet_rbs_conn *c, uint64_t *cookies, int max, int64_t timeout_ns);
/* Bytes queued (ring and references) not yet acknowledged by the peer. */
uint64_t jet_rbs_send_pending(const struct jet_rbs_conn *c);

/* Copies up to len received bytes into buf.  Returns the count (>= 1), 0 at the end
 * of the stream (the peer shut down and everything was read), -EAGAIN / -ETIMEDOUT,
 * or the connection's error.  Waits only while nothing is there. */
ssize_t jet_rbs_recv(struct jet_rbs_conn *c, void *buf, size_t len, int64_t timeout_ns);

/* Registered receive: the library places received bytes straight into ring[0..len),
 * stream offset o at ring[(o - o0) % len] (o0: the read position at registration, 0
 * if registered before the first byte).  No copy out is needed: read the bytes in
 * place and free them with jet_rbs_recv_consume.  Only before anything was received
 * (-EBUSY otherwise): give it in opts.ring to connect, or call this right after
 * jet_rbs_accept.  Set opts.rcvbuf to len so the window can cover the whole ring. */
int jet_rbs_recv_register(struct jet_rbs_conn *c, void *ring, size_t len);
/* Waits up to timeout_ns until bytes are readable in place.  Returns how many follow
 * contiguously at *p (a wrapped ring needs two rounds), 0 at the end of the stream,
 * -EAGAIN / -ETIMEDOUT, or the error.  Works with the internal ring too. */
ssize_t jet_rbs_recv_ready(struct jet_rbs_conn *c, const uint8_t **p, int64_t timeout_ns);
/* Frees n bytes read in place (n <= what recv_ready reported).  0 or -EINVAL. */
int jet_rbs_recv_consume(struct jet_rbs_conn *c, size_t n);

/* Sink mode: received bytes go straight into a file (pool -> a small private copy,
 * CRC checked -> file): the payload of every segment is pwrite()n at file_off + (its
 * stream offset), in order or out of order, while the library drives the station.
 * fd must be seekable and not O_APPEND (-EINVAL; -ESPIPE for a pipe, socket or
 * terminal; -EBADF).  Bytes count as read once written in order, so the window advertised is `window` bytes beyond them
 * (0: opts.rcvbuf; at most 2^30; the scale was fixed by opts.rcvbuf, so make that at
 * least the window).  Only before anything was received (-EBUSY otherwise): give it
 * in opts.sink to connect, or call this right after jet_rbs_accept.
 * The library never writes beyond the stream's end, never truncates the file and never
 * moves fd's offset, so a file that was shorter ends exactly at file_off + the stream
 * length once the stream is complete.  Out-of-order bytes may sit beyond the in-order
 * ones until the holes fill: if the connection fails, only [file_off, file_off +
 * jet_rbs_recv_placed) is the stream.
 * A failed write (-ENOSPC, -EIO, -EBADF, -EFBIG ...) aborts the connection (the peer
 * sees a reset) with that errno as the connection's error, and jet_rbs_error says
 * where; nothing is acknowledged that was not written.
 * Then: jet_rbs_recv_ready returns how many more bytes were written in order since it
 * last said (with *p = NULL: they are in the file), 0 once the whole stream is there
 * (end of stream), or the error; jet_rbs_recv_consume is not needed (-EINVAL for
 * n > 0), jet_rbs_recv gives -EINVAL. */
int jet_rbs_recv_sink(struct jet_rbs_conn *c, int fd, uint64_t file_off, size_t window);
/* Sink mode: bytes written in order so far (the file holds the stream from file_off to
 * file_off + this); 0 otherwise. */
uint64_t jet_rbs_recv_placed(const struct jet_rbs_conn *c);

/* ---- closing ---- */

/* Half-close: the peer reads end of stream after the bytes queued so far.  The
 * connection still receives.  0, -ENOTCONN, or the error. */
int jet_rbs_shutdown(struct jet_rbs_conn *c);
/* Orderly close: shuts down (if not yet), then waits up to timeout_ns until the peer
 * has acknowledged every byte and the end of stream.  Returns 0 when it did, the
 * connection's error if it failed, or -ETIMEDOUT (then the connection is aborted: an
 * RST goes out).  Bytes still arriving from the peer are discarded.  In every case
 * the handle is gone; what is left of the close handshake (TIME_WAIT) runs inside the
 * library while the station is driven, and jet_rbs_station_fini ends it. */
int jet_rbs_close(struct jet_rbs_conn *c, int64_t timeout_ns);
/* Abort: an RST goes to the peer (which sees -ECONNRESET), queued data is dropped,
 * and the handle is gone. */
void jet_rbs_abort(struct jet_rbs_conn *c);

/* ---- driving and waiting ---- */

/* Polls the station once (jet_station_poll), which drives every RBS connection and
 * listener of s (and every other protocol attached to s): feeds each connection the
 * frames of its channel, runs due timers, sends what is due, and frees connections
 * whose close has finished.  Never blocks.  Returns the number of segments RBS took
 * in, or a negative errno. */
int jet_rbs_poll(struct jet_station *s);
/* The station's pollable fd (jet_station_fd). */
int jet_rbs_fd(struct jet_station *s);
/* Arms the fd: 1 if there is work now (call jet_rbs_poll, do not sleep), 0 if armed. */
int jet_rbs_arm(struct jet_station *s);
/* Nanoseconds until the earliest timer of s (0: due now), -1 if none: RBS's and every
 * other protocol's on the station (jet_station_timeout). */
int64_t jet_rbs_timeout(struct jet_station *s);
/* Lets closing connections of s finish (up to linger_ns), then frees every RBS object
 * left on s: connections still open are aborted, listeners closed, and RBS leaves the
 * station.  Call before jet_station_close(s) to give closes their time; RBS handles of
 * s are invalid afterwards. */
void jet_rbs_station_fini(struct jet_station *s, int64_t linger_ns);

/* ---- state ---- */

struct jet_rbs_stats {
    const char *state; /* "ESTABLISHED", ... (static string) */
    uint16_t peer_station;
    uint32_t local_chan, peer_chan;
    uint64_t segs_in, segs_out;
    uint64_t bytes_in;  /* new in-order bytes received */
    uint64_t bytes_out; /* payload bytes sent, retransmissions included */
    uint64_t retransmits, retrans_bytes, fast_retransmits, timeouts, tlp_probes;
    uint64_t dup_segs, ooo_segs, ooo_dropped, window_drops;
    uint64_t rst_in, rst_out, keepalive_probes, persist_probes;
    uint64_t malformed;  /* segments that failed to parse */
    uint64_t foreign;    /* frames on the connection's channel from another station */
    uint64_t tx_refused; /* link refused a produced segment (counted as lost) */
    uint64_t srtt_ns, rttvar_ns, rto_ns;
    uint64_t cwnd, ssthresh, snd_wnd, rcv_wnd;
    uint32_t mss;
    uint64_t sink_bytes;  /* sink mode: bytes pwrite() put into the file (each once) */
    uint64_t sink_writes; /* sink mode: ranges placed into the file (a segment, or its
                             parts around bytes received before) */
};
void jet_rbs_stats(const struct jet_rbs_conn *c, struct jet_rbs_stats *out);
/* 0 or the connection's error (negative errno). */
int jet_rbs_errno(const struct jet_rbs_conn *c);
/* Why the connection failed (or the last call's failure), "" if nothing failed. */
const char *jet_rbs_error(const struct jet_rbs_conn *c);
/* Blocking calls on c spin instead of sleeping (on), or sleep (off). */
void jet_rbs_busy_poll(struct jet_rbs_conn *c, bool on);
/* Nagle off (on) or back on for c, as opts.nodelay; applies to the next segment sent. */
void jet_rbs_set_nodelay(struct jet_rbs_conn *c, bool on);
/* The connection's station. */
struct jet_station *jet_rbs_station(const struct jet_rbs_conn *c);

#pragma GCC visibility pop

#endif
