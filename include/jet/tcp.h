/* TCP over IPv4 on a station (RFC 9293), interoperating with Linux (docs/tcp.md).
 *
 * Socket-like: listen, accept, connect, send, recv, shutdown, close.  The station must
 * have IPv4 (jet/ip.h, jet_ip_attach).  The protocol core is sans-I/O
 * (src/tcp/tcp_core.h); this API binds it to the station: every connection owns a
 * channel its 4-tuple is steered to, every listener a channel its address and port
 * are steered to (jet/chan.h, struct jet_flow), so demultiplexing and the placement
 * of received bytes are the channel driver's.  Segments for no connection and no
 * listener get an RST, as from any TCP.
 *
 * Driving.  Nothing runs in the background.  TCP is a protocol attached to the station
 * (jet/stack.h): every poll of the station (jet_station_poll, or any blocking call of
 * any protocol on it) drives every TCP connection and listener of the station once
 * (input from their channels, timers, output).  A program that sleeps elsewhere
 * (epoll) waits on jet_station_fd(), arms with jet_station_arm(), sleeps at most
 * jet_station_timeout(), and calls jet_station_poll() when it wakes; then
 * jet_tcp_events() tells which connections can go on.  Blocking calls (timeout_ns != 0)
 * do all that themselves.
 *
 * Timeouts: 0 never blocks (-EAGAIN when nothing can be done now), -1 blocks without
 * limit, else blocks up to that many nanoseconds (-ETIMEDOUT when nothing happened).
 *
 * Ownership and lifetimes: as jet/rbs.h says for RBS, word for word in effect.
 *   - The station stays the application's and must outlive every TCP object on it;
 *     jet_tcp_station_fini() lets closing connections finish, then frees them all.
 *   - A struct jet_tcp_conn from connect/accept is the application's until
 *     jet_tcp_close() or jet_tcp_abort() returns; then the handle is gone (a closing
 *     connection lingers inside the library through FIN_WAIT and TIME_WAIT).
 *   - jet_tcp_send() copies; jet_tcp_send_ref() sends the caller's buffer (a pool
 *     buffer it was lent, or any memory) by reference: it must stay allocated and
 *     unchanged until jet_tcp_completed() returns its cookie or the connection is gone.
 *   - A registered receive ring and a sink file stay the application's and must stay
 *     valid until the connection is closed or aborted.
 *   - One thread per station at a time; no process-wide state.
 *
 * Errors: a negative errno; jet_tcp_error() says why in words.  A failed connection
 * reports its error from every later call: -ECONNRESET, -ECONNREFUSED, -ETIMEDOUT,
 * -ECONNABORTED, -EHOSTUNREACH, -ENETUNREACH. */
#ifndef JET_TCP_H
#define JET_TCP_H

#pragma GCC visibility push(default) /* the library exports only what these headers declare */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "jet/chan.h"

#ifdef __cplusplus
extern "C" {
#endif

struct jet_tcp_listener;
struct jet_tcp_conn;

/* Options; every field left 0 takes its default (in brackets).  NULL: all defaults. */
struct jet_tcp_opts {
    uint32_t rcvbuf;        /* largest receive window and ring [4 MiB]; the window
                               starts smaller and grows while the reader keeps up */
    uint32_t sndbuf;        /* send ring for jet_tcp_send [4 MiB] */
    uint32_t mss;           /* largest payload per segment [link MTU - 40] */
    uint32_t max_refs;      /* jet_tcp_send_ref buffers in flight [256] */
    bool nodelay;           /* no Nagle: short writes go out at once (TCP_NODELAY) */
    uint64_t keepalive_ns;  /* idle time before keepalive probes; 0: off [off] */
    uint64_t keepalive_intvl_ns; /* [75 s] */
    uint32_t keepalive_probes;   /* [9] */
    const char *cc;         /* congestion control: "cubic" or "newreno" [cubic] */
    uint64_t rto_min_ns;    /* minimum retransmission timeout [5 ms: LAN-sized] */
    uint64_t user_timeout_ns; /* fail when data stays unacknowledged this long [off] */
    uint32_t backlog;       /* listener: connections completing or waiting for accept;
                               beyond it SYNs are answered with SYN cookies [128] */
    bool busy_poll;         /* blocking calls spin instead of sleeping */
    bool no_sack, no_timestamps, no_wscale; /* do not offer these options */
    bool no_tso;            /* on a link that segments (tap:), send one MSS per segment
                               instead of up to 64 KiB segments the link cuts up */
    void *ring;             /* connect: receive into this ring from the first byte on */
    size_t ring_len;
    bool sink;              /* connect: receive into file sink_fd at sink_off */
    int sink_fd;
    uint64_t sink_off;
};

/* ---- opening ---- */
/* Listens on addr (0: the station's address) and port (1..65535).  0, -EADDRINUSE,
 * -EADDRNOTAVAIL (not our address), -ENOENT (no IPv4 on s), -EINVAL, -ENOMEM. */
int jet_tcp_listen(struct jet_station *s, uint32_t addr, uint16_t port,
                   const struct jet_tcp_opts *o, struct jet_tcp_listener **out);
/* Stops listening: connections not yet accepted are reset. */
void jet_tcp_listener_close(struct jet_tcp_listener *l);
/* Takes the oldest established connection.  0, -EAGAIN / -ETIMEDOUT. */
int jet_tcp_accept(struct jet_tcp_listener *l, struct jet_tcp_conn **out, int64_t timeout_ns);
/* Connects from an ephemeral port to addr:port and waits until established.  0,
 * -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH, -ENETUNREACH, -EINPROGRESS with timeout 0
 * (*out valid; jet_tcp_connected() says when it is done), -EADDRNOTAVAIL (no free
 * port or channel), -ENOENT (no IPv4 on s). */
int jet_tcp_connect(struct jet_station *s, uint32_t addr, uint16_t port,
                    const struct jet_tcp_opts *o, struct jet_tcp_conn **out, int64_t timeout_ns);
/* 1 when established (or further), 0 while the handshake runs, or the error. */
int jet_tcp_connected(struct jet_tcp_conn *c);

/* ---- data (as jet/rbs.h) ---- */
ssize_t jet_tcp_send(struct jet_tcp_conn *c, const void *buf, size_t len, int64_t timeout_ns);
int jet_tcp_send_ref(struct jet_tcp_conn *c, const void *buf, size_t len, uint64_t cookie);
int jet_tcp_completed(struct jet_tcp_conn *c, uint64_t *cookies, int max, int64_t timeout_ns);
uint64_t jet_tcp_send_pending(const struct jet_tcp_conn *c);
/* Returns the count (>= 1), 0 at end of stream, -EAGAIN / -ETIMEDOUT, or the error.
 * The error is the connection's, whatever found it (a timer too: keepalive, user
 * timeout), with any timeout, 0 included; so for every data call. */
ssize_t jet_tcp_recv(struct jet_tcp_conn *c, void *buf, size_t len, int64_t timeout_ns);
/* Receive into the application's ring from now on.  Bytes that arrived before (an
 * accepted connection may have some: TCP queues established connections) are copied
 * into it at their offsets.  0, -EINVAL, -EBUSY (in sink mode, or the bytes buffered
 * do not fit len), -ENOMEM (ring overlaps the one in use: they move through a copy). */
int jet_tcp_recv_register(struct jet_tcp_conn *c, void *ring, size_t len);
ssize_t jet_tcp_recv_ready(struct jet_tcp_conn *c, const uint8_t **p, int64_t timeout_ns);
int jet_tcp_recv_consume(struct jet_tcp_conn *c, size_t n);
/* Received bytes go to fd at file_off + their stream offset (pwrite) from now on;
 * window: bytes beyond the in-order edge [rcvbuf].  Bytes that arrived before are
 * written first (jet_tcp_recv_ready reports them).  0, -EBADF, -EINVAL (O_APPEND,
 * offset), -ESPIPE, -EBUSY, or the write's errno (nothing changed then). */
int jet_tcp_recv_sink(struct jet_tcp_conn *c, int fd, uint64_t file_off, size_t window);
uint64_t jet_tcp_recv_placed(const struct jet_tcp_conn *c);

/* ---- closing ---- */
int jet_tcp_shutdown(struct jet_tcp_conn *c);
/* Orderly close (shutdown, then up to timeout_ns for the peer to acknowledge it all);
 * 0, the error, or -ETIMEDOUT (then aborted).  Unread received data: an RST instead
 * (RFC 9293 3.10.4's advice, as Linux).  The handle is gone in every case. */
int jet_tcp_close(struct jet_tcp_conn *c, int64_t timeout_ns);
void jet_tcp_abort(struct jet_tcp_conn *c);

/* ---- options ---- */
void jet_tcp_set_nodelay(struct jet_tcp_conn *c, bool on);
void jet_tcp_set_keepalive(struct jet_tcp_conn *c, uint64_t idle_ns, uint64_t intvl_ns,
                           uint32_t probes);
void jet_tcp_busy_poll(struct jet_tcp_conn *c, bool on);

/* ---- readiness (for event loops) ---- */
enum {
    JET_TCP_IN = 1,   /* recv would not block: data, end of stream, or an error */
    JET_TCP_OUT = 2,  /* send would take bytes */
    JET_TCP_HUP = 4,  /* end of stream received */
    JET_TCP_ERR = 8,  /* the connection failed */
    JET_TCP_CONNECTED = 16,
};
/* What c can do now (no driving). */
unsigned jet_tcp_events(const struct jet_tcp_conn *c);
/* Connections waiting in l for accept. */
uint32_t jet_tcp_pending(const struct jet_tcp_listener *l);

/* ---- state ---- */
/* Like Linux's tcp_info. */
struct jet_tcp_info {
    const char *state;         /* "ESTABLISHED", ... (static string) */
    uint32_t laddr, raddr;     /* host order */
    uint16_t lport, rport;
    uint32_t local_chan;       /* the connection's channel */
    const char *cc;            /* "cubic", "newreno" */
    uint32_t snd_mss, rcv_mss; /* bytes */
    uint8_t snd_wscale, rcv_wscale;
    bool sack, timestamps, wscale; /* agreed in the handshake */
    bool nodelay;
    uint64_t srtt_ns, rttvar_ns, rto_ns, min_rtt_ns;
    uint64_t cwnd, ssthresh;   /* bytes */
    uint64_t snd_wnd, rcv_wnd; /* bytes: the peer's window, ours as advertised */
    uint64_t bytes_in, bytes_out;   /* new in-order bytes received; payload bytes sent,
                                       retransmissions included */
    uint64_t bytes_acked;
    uint64_t segs_in, segs_out;
    uint64_t retransmits, retrans_bytes, fast_retransmits, lost_retransmits, timeouts;
    uint64_t tlp_probes, rack_losses;
    uint64_t dup_acks, sack_blocks_in, dsack_in, sack_blocks_out;
    uint64_t dup_segs, ooo_segs, ooo_dropped, window_drops;
    uint64_t challenge_acks, paws_drops, csum_bad, malformed;
    uint64_t rst_in, rst_out, keepalive_probes, zero_wnd_probes;
    uint64_t delayed_acks, quick_acks;
    uint64_t sink_bytes, sink_writes;
};
void jet_tcp_info(const struct jet_tcp_conn *c, struct jet_tcp_info *out);
int jet_tcp_errno(const struct jet_tcp_conn *c);
const char *jet_tcp_error(const struct jet_tcp_conn *c);
void jet_tcp_local(const struct jet_tcp_conn *c, uint32_t *addr, uint16_t *port);
void jet_tcp_peer(const struct jet_tcp_conn *c, uint32_t *addr, uint16_t *port);
struct jet_station *jet_tcp_station(const struct jet_tcp_conn *c);

/* Counters of TCP on the station (like netstat -s). */
struct jet_tcp_host_stats {
    uint64_t active_opens, passive_opens, failed_opens, resets_sent_closed_port;
    uint64_t syn_backlog_drops, syn_cookies_sent, syn_cookies_ok, syn_cookies_bad;
    uint64_t conns_open, listeners;
    uint64_t segs_in, segs_out, malformed, csum_bad;
};
int jet_tcp_host_stats(struct jet_station *s, struct jet_tcp_host_stats *out);

/* Lets closing connections of s finish (up to linger_ns), then frees every TCP object
 * left on s; handles are invalid afterwards.  Call before jet_station_close(s). */
void jet_tcp_station_fini(struct jet_station *s, int64_t linger_ns);

#ifdef __cplusplus
}
#endif

#pragma GCC visibility pop

#endif
