/* Internal: the IPv4 host core - ARP, IPv4 input checks, fragmentation and
 * reassembly, ICMP, and the table of ports protocols above have bound.
 *
 * Sans-I/O: it does no I/O and reads no clock.  Frames come in with `now`
 * (ip_input), frames go out into buffers the glue lends through struct
 * ip_tx_ops, and ip_next_timeout() says when ip_poll() must run next.  The
 * glue (ip_glue.c) binds it to a station: the station's default channel
 * feeds ip_input, the lent buffers are the channel's (jet_chan_tx_alloc_eth).
 * Unit tests drive it with virtual time and a fake ip_tx_ops.
 *
 * Ownership: ip_input reads the frame during the call only (memory it may
 * share with other processes: every field is read once, into the core's own
 * memory, and checked before it is used; a fragment kept for reassembly is
 * copied).  Buffers lent by alloc are always either committed or aborted
 * before the call that took them returns.  Packets waiting for ARP or for
 * link room are copies the core owns, in bounded queues.
 *
 * The caps the core keeps to (also documented in jet/ip.h):
 *   ARP cache   IP_ARP_ENTRIES entries, reachable IP_ARP_REACHABLE_NS after
 *               the last answer; used after that, a refresh request goes out
 *               (unicast) and the entry is kept IP_ARP_STALE_NS more; an
 *               unresolved address gets IP_ARP_TRIES requests IP_ARP_RETRY_NS
 *               apart, then is marked failed for IP_ARP_FAILED_NS (sends to it
 *               say -EHOSTUNREACH); at most IP_ARP_QUEUE packets wait for one
 *               address and IP_ARP_QUEUE_BYTES for all of them together.
 *   reassembly  IP_REASM_MAX datagrams and IP_REASM_BYTES bytes of fragments
 *               at once; IP_REASM_TIMEOUT_NS from the first fragment; overlap
 *               drops the datagram, an exact duplicate is ignored.
 *   ICMP errors a token bucket of IP_ICMP_RATE a second, IP_ICMP_BURST deep.
 */
#ifndef JET_IP_CORE_H
#define JET_IP_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "jet/chan.h"
#include "jet/ip.h"

#define IP_ARP_ENTRIES 256
#define IP_ARP_REACHABLE_NS (60ull * 1000000000)
#define IP_ARP_STALE_NS (5ull * 1000000000)
#define IP_ARP_TRIES 3
#define IP_ARP_RETRY_NS (1ull * 1000000000)
#define IP_ARP_FAILED_NS (3ull * 1000000000)
#define IP_ARP_QUEUE 16
#define IP_ARP_QUEUE_BYTES (1u << 20)
#define IP_REASM_MAX 64
#define IP_REASM_BYTES (4u << 20)
#define IP_REASM_TIMEOUT_NS (30ull * 1000000000)
#define IP_ICMP_RATE 100
#define IP_ICMP_BURST 10
#define IP_TX_BACKLOG_BYTES (1u << 20) /* rest of datagrams waiting for link room */
#define IP_TTL 64

struct ip_core;

/* How the core sends: one Ethernet frame per lent buffer.  alloc lends
 * tb->payload (where the frame starts, destination MAC first) and tb->cap;
 * 0, -EAGAIN (the link is busy now) or -ENOBUFS.  commit sends len bytes and
 * always consumes tb; abort gives it back unsent. */
struct ip_tx_ops {
    int (*alloc)(void *ctx, struct jet_txbuf *tb);
    int (*commit)(void *ctx, struct jet_txbuf *tb, uint32_t len);
    void (*abort)(void *ctx, struct jet_txbuf *tb);
};

struct ip_core_cfg {
    struct jet_ip_cfg ip; /* has_mac must be set: the glue fills in the link's MAC */
    uint32_t mtu;         /* largest IPv4 packet the link carries (header included),
                             576..65535 */
    uint64_t seed;        /* IP ids, ephemeral choices (tests fix it) */
    bool tso;             /* the link segments a TCP packet over the MTU itself
                             (jet_link_caps.tso): ip_output_gso sends it whole */
};

/* 0; -EINVAL (a bad configuration, reason in err), -ENOMEM. */
int ip_core_new(const struct ip_core_cfg *cfg, const struct ip_tx_ops *tx, void *tx_ctx,
                struct ip_core **out, struct jet_err *err);
/* Frees everything queued. */
void ip_core_free(struct ip_core *c);
const struct ip_core_cfg *ip_core_cfg(const struct ip_core *c);
/* The counters: the protocols above (UDP sockets) add to theirs here. */
struct jet_ip_stats *ip_core_stats(struct ip_core *c);

/* Sends the gratuitous ARP (a request for our own address).  Call once,
 * after attaching. */
void ip_start(struct ip_core *c, uint64_t now);

/* One Ethernet frame from the link (the default channel: ARP, ICMP,
 * fragments, datagrams no socket's channel took).  Acts on it: replies,
 * reassembles, hands datagrams to bound ports (struct ip_l4_ops.deliver),
 * sends ICMP errors; counts and drops what is malformed or not ours. */
void ip_input(struct ip_core *c, const uint8_t *frame, size_t len, uint64_t now);

/* Runs due timers (ARP retries and expiry, reassembly timeouts) and sends
 * what waits for link room or was just resolved.  Cheap when nothing is due. */
void ip_poll(struct ip_core *c, uint64_t now);
/* When ip_poll must next run (absolute, the clock of `now`); UINT64_MAX if
 * never; `now`-or-earlier when something waits for link room. */
uint64_t ip_next_timeout(const struct ip_core *c);

/* Sends an IPv4 packet of protocol proto to dst whose payload (the L4 header,
 * its checksum computed by the caller, and data) is the len bytes of iov.
 * The bytes are copied once, into lent buffers, or into a queue the core
 * owns while the next hop is resolved or the link is busy mid-datagram.
 * Next hop: dst itself inside the prefix (or the limited broadcast
 * 255.255.255.255, or the prefix's broadcast: to ff:ff:ff:ff:ff:ff), else
 * the gateway.  Fragmented to the MTU unless df.
 * 0 (sent or queued); -EAGAIN (the link had no buffer for the first frame:
 * nothing was sent or queued, try again after a poll); -ENETUNREACH (no
 * route); -EHOSTUNREACH (the next hop is marked failed); -EMSGSIZE (over the
 * MTU with df, or over 65535 in all); -ENOBUFS (the ARP queue is full: the
 * packet is dropped and counted). */
int ip_output(struct ip_core *c, uint8_t proto, uint32_t dst, const struct iovec *iov, int iovcnt,
              size_t len, bool df, uint64_t now);
/* ip_output for a TCP segment on a link that offloads (cfg.tso), gso the payload
 * bytes per wire segment (not 0): the frame carries it (jet_txbuf.gso_size), the link
 * completes the TCP checksum (the caller may leave the pseudo-header sum there) and
 * cuts a packet over the MTU into segments of gso payload bytes.  Such a packet (DF,
 * up to 65535 bytes) goes whole; without cfg.tso, or with gso 0, or for another
 * protocol, exactly ip_output (-EMSGSIZE over the MTU with df). */
int ip_output_gso(struct ip_core *c, uint8_t proto, uint32_t dst, const struct iovec *iov,
                  int iovcnt, size_t len, bool df, uint16_t gso, uint64_t now);

/* ---- ports bound by protocols above (UDP now, TCP later) ---- */

/* What the core tells a bound port.  Both are called from ip_input. */
struct ip_l4_ops {
    /* A whole datagram for the port that reached the core rather than the
     * port's own channel: reassembled from fragments, or sent to a broadcast
     * address.  l4 is the L4 header and data (len bytes, checksum verified
     * by the core for UDP), in the core's memory, valid during the call. */
    void (*deliver)(void *sk, uint32_t src, uint32_t dst, const uint8_t *l4, size_t len,
                    uint64_t now);
    /* An ICMP error about a packet this port sent to remote:rport: -ECONNREFUSED
     * (port unreachable), -ENOPROTOOPT (protocol unreachable), -EHOSTUNREACH
     * (host unreachable, time exceeded, ...), -ENETUNREACH, -EMSGSIZE
     * (fragmentation needed; mtu is the next hop's MTU, else 0). */
    void (*error)(void *sk, int err, uint32_t remote, uint16_t rport, uint32_t mtu,
                  uint64_t now);
};
/* Binds proto/port (on our address or any: the core has one address) to sk.
 * -EADDRINUSE; -ENOSPC (too many bindings); -EINVAL (port 0). */
int ip_port_bind(struct ip_core *c, uint8_t proto, uint16_t port, void *sk,
                 const struct ip_l4_ops *ops);
void ip_port_unbind(struct ip_core *c, uint8_t proto, uint16_t port);
/* Whether proto/port is bound. */
bool ip_port_bound(const struct ip_core *c, uint8_t proto, uint16_t port);

/* A whole protocol (TCP): what no bound port takes comes to ops instead of the
 * protocol unreachable the core would send. */
struct ip_proto_ops {
    /* A whole packet of the protocol that reached the core (no channel took it, or it
     * was reassembled from fragments).  l4 (len bytes, checksum not verified) is core
     * memory, valid during the call. */
    void (*deliver)(void *ctx, uint32_t src, uint32_t dst, const uint8_t *l4, size_t len,
                    uint64_t now);
    /* An ICMP error about a packet of the protocol we sent from lport to remote:rport
     * (err and mtu as for ip_l4_ops.error). */
    void (*error)(void *ctx, int err, uint32_t remote, uint16_t lport, uint16_t rport,
                  uint32_t mtu, uint64_t now);
};
/* -EADDRINUSE (the protocol has a handler already), -ENOSPC, -EINVAL. */
int ip_proto_bind(struct ip_core *c, uint8_t proto, void *ctx, const struct ip_proto_ops *ops);
void ip_proto_unbind(struct ip_core *c, uint8_t proto);

/* ---- the checks of ip_input, for frames a protocol takes from its own channel ---- */

struct ip_rx {
    uint32_t src, dst;
    uint8_t proto, ttl;
    uint16_t l4_off; /* the L4 header's offset in the Ethernet frame */
    uint16_t l4_len; /* L4 header and data (IPv4 total length minus header) */
    bool frag;       /* MF or an offset: the caller hands it to ip_input instead */
};
/* Checks an Ethernet frame holding an IPv4 packet as ip_input would (MAC
 * ours or broadcast, IPv4 header, destination ours or a broadcast), reading
 * each header field once.  0 with *out filled in; -EBADMSG when it must be
 * dropped (counted in the core's stats). */
int ip_rx_check(struct ip_core *c, const uint8_t *frame, size_t len, struct ip_rx *out);

/* ---- ping ---- */

/* Sends an echo request of data bytes to dst, remembering its id, sequence
 * and time; an earlier one still outstanding is forgotten.  0, or what
 * ip_output returns. */
int ip_ping_start(struct ip_core *c, uint32_t dst, size_t data, uint64_t now);
/* 1 when its reply came (*rtt_ns: its round trip, by the `now` of the
 * ip_input that took it), 0 while waiting, or a negative errno: an ICMP
 * error about it, or -EHOSTUNREACH when ARP gave up on the next hop. */
int ip_ping_result(const struct ip_core *c, uint64_t *rtt_ns);

#endif
