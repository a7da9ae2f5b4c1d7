/* UDP sockets on a station with IPv4 (jet/ip.h).
 *
 * Socket-like: open, bind, connect, sendto, recvfrom, close; pollable with
 * the station's fd.  Each bound socket has a channel of its own, and its
 * flow (UDP, its address or any, its port) is steered to that channel: the
 * driver demultiplexes datagrams straight to the socket, and recvfrom copies
 * the payload once, from the link's pool into the application's buffer, and
 * verifies the checksum over the bytes it copied (never over the pool, which
 * another process may change).  Fragmented datagrams are reassembled by IPv4
 * and queued on the socket as well.  Checksums are always sent and always
 * verified (a datagram that arrives with none, checksum 0, is accepted, as
 * RFC 768 allows).
 *
 * ICMP errors about a socket's datagrams reach it: on a connected socket the
 * next send or receive returns the error once (-ECONNREFUSED for port
 * unreachable, -EHOSTUNREACH, -ENETUNREACH, -EMSGSIZE), as Linux does; an
 * unconnected socket counts them (jet_udp_stats.errors_in).
 *
 * Ownership: the caller's buffers are read (send) or written (receive)
 * during the call only.  One thread per station, as everywhere.  Errors: a
 * negative errno with the reason in jet_udp_error(). */
#ifndef JET_UDP_H
#define JET_UDP_H

#pragma GCC visibility push(default) /* the library exports only what these headers declare */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "jet/chan.h"

#ifdef __cplusplus
extern "C" {
#endif

struct jet_udp;

struct jet_udp_opts {
    uint32_t queue_frames; /* receive queue limit in datagrams (0: 1024) */
    uint64_t queue_bytes;  /* and in bytes (0: 4 MiB) */
};

/* Opens an unbound socket on s, which must have IPv4 (-ENOENT otherwise).
 * opts may be NULL. */
int jet_udp_open(struct jet_station *s, const struct jet_udp_opts *opts, struct jet_udp **out);
/* Binds to addr (0: any of ours; else it must be the station's) and port
 * (0: a free one from 32768..60999).  -EADDRINUSE, -EADDRNOTAVAIL, -EINVAL
 * (bound already). */
int jet_udp_bind(struct jet_udp *u, uint32_t addr, uint16_t port);
/* Sets the default destination and takes only datagrams from it; binds to
 * a free port first if unbound.  addr 0 dissolves the association. */
int jet_udp_connect(struct jet_udp *u, uint32_t addr, uint16_t port);
/* Sends one datagram of len bytes (0..65507) to addr:port, or to the
 * connected peer when addr is 0.  Binds to a free port first if unbound.
 * Returns len; -EAGAIN when the link cannot take it within timeout_ns (0:
 * never waits; -1 no limit); -EDESTADDRREQ (no destination); -EMSGSIZE;
 * -EHOSTUNREACH (ARP found no one), -ENETUNREACH; or a pending ICMP error
 * (connected sockets). */
ssize_t jet_udp_sendto(struct jet_udp *u, const void *buf, size_t len, uint32_t addr,
                       uint16_t port, int64_t timeout_ns);
/* Receives one datagram: its first min(len, cap) bytes into buf (the rest
 * is discarded and counted in truncated), the sender in *addr and *port (either
 * may be NULL).  Returns the bytes placed; -EAGAIN (timeout 0) or
 * -ETIMEDOUT when none came within timeout_ns (-1: no limit); or a pending
 * ICMP error (connected sockets). */
ssize_t jet_udp_recvfrom(struct jet_udp *u, void *buf, size_t cap, uint32_t *addr, uint16_t *port,
                         int64_t timeout_ns);
/* Datagrams waiting now (no driver run).  For epoll: sleep on
 * jet_station_fd() after jet_station_arm() returned 0; after waking, poll
 * the station (or call recvfrom with timeout 0). */
uint32_t jet_udp_pending(const struct jet_udp *u);
/* The local address and port (0, 0 while unbound). */
void jet_udp_local(const struct jet_udp *u, uint32_t *addr, uint16_t *port);
/* Closes the socket: its flow rule, channel and queued datagrams go. */
void jet_udp_close(struct jet_udp *u);
const char *jet_udp_error(const struct jet_udp *u);

struct jet_udp_stats {
    uint64_t datagrams_in, bytes_in;   /* handed to the application */
    uint64_t datagrams_out, bytes_out; /* sent */
    uint64_t bad;                      /* checksum or length wrong: dropped */
    uint64_t truncated;                /* longer than the receive buffer */
    uint64_t queue_drops;              /* the queue was full */
    uint64_t not_peer;                 /* connected: from someone else, dropped */
    uint64_t errors_in;                /* ICMP errors about this socket */
};
void jet_udp_stats(const struct jet_udp *u, struct jet_udp_stats *out);

#ifdef __cplusplus
}
#endif

#pragma GCC visibility pop

#endif
