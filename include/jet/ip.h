/* IPv4 host on a station: ARP, IPv4 with fragmentation and reassembly, ICMP.
 *
 * jet_ip_attach() gives a station on a link that carries Ethernet
 * (jet_link_caps.eth: the emulated LAN, tap:IF) an IPv4 identity: an
 * address with its prefix, an optional default gateway and a MAC (the
 * link's own, caps.mac, unless the configuration names one).  It attaches
 * the protocol "ipv4" to the station (jet/stack.h) and opens the station's
 * default channel for Ethernet (jet_station_steer_default), so every frame
 * no flow rule takes - ARP, ICMP, fragments, datagrams for ports nobody
 * bound - reaches it; UDP sockets (jet/udp.h) and TCP (later) steer their
 * own flows to channels of their own.  From then on every poll of the
 * station (jet_station_poll, or any blocking call of any protocol on it)
 * also:
 *   - answers ARP requests for our address and keeps an ARP cache (entries
 *     reachable for 60 s, then refreshed when used; at most 3 requests, one
 *     a second, for an unresolved address; packets waiting for an answer
 *     held in a bounded queue); a gratuitous ARP goes out at attach;
 *   - checks every IPv4 packet (version, header length, total length,
 *     header checksum, TTL; options skipped) and counts and drops a bad one;
 *   - reassembles fragments (at most 64 datagrams and 4 MiB at once, 30 s
 *     each; a fragment that overlaps another drops its whole datagram, RFC
 *     5722's rule; an exact duplicate is ignored);
 *   - answers ICMP echo requests (up to 64 KiB, reassembled, the reply
 *     fragmented as needed), sends destination unreachable for closed UDP
 *     ports and unknown protocols (rate-limited: 100 a second, bursts of
 *     10), and hands ICMP errors to the socket they concern.
 * Output is fragmented to the link's MTU unless DF is set.
 *
 * Errors: 0 or a negative errno with the reason in jet_station_error().
 * One thread per station, as for channels. */
#ifndef JET_IP_H
#define JET_IP_H

#pragma GCC visibility push(default) /* the library exports only what these headers declare */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jet/chan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Addresses are host byte order throughout (198.18.0.1 is 0xC6120001). */
struct jet_ip_cfg {
    uint32_t addr; /* the station's address; not 0, broadcast, multicast or loopback */
    uint8_t plen;  /* prefix length, 1..32 */
    uint32_t gw;   /* default gateway, 0: none (only the prefix is reachable); must be
                      inside the prefix */
    bool has_mac;  /* use mac rather than the link's caps.mac */
    uint8_t mac[6]; /* unicast */
};

/* Attaches IPv4 to s.  -EOPNOTSUPP: the link carries no Ethernet; -EINVAL: a
 * bad configuration (the reason says which field); -EADDRNOTAVAIL: no MAC
 * (the link has none and cfg names none); -EEXIST: attached already; or
 * what opening the default channel returns (-EBUSY: s has a default channel
 * already).  IPv4 stays until jet_station_close(). */
int jet_ip_attach(struct jet_station *s, const struct jet_ip_cfg *cfg);
/* The configuration in use (the MAC filled in), -ENOENT without IPv4. */
int jet_ip_config(struct jet_station *s, struct jet_ip_cfg *out);

struct jet_ip_stats {
    /* Ethernet and ARP */
    uint64_t eth_not_mine;   /* unicast to another MAC */
    uint64_t eth_other;      /* EtherType neither ARP nor IPv4 (nor a Jetstream frame) */
    uint64_t arp_in, arp_bad; /* ARP packets taken; malformed or not for IPv4 */
    uint64_t arp_requests_out, arp_replies_out;
    uint64_t arp_unresolved; /* addresses given up after 3 unanswered requests */
    uint64_t arp_queue_drops; /* packets dropped waiting for an answer (queue full or
                                 given up) */
    /* IPv4 */
    uint64_t ip_in;          /* packets for us, after every check */
    uint64_t ip_bad;         /* header check failed: version, lengths, checksum, TTL 0,
                                source address */
    uint64_t ip_not_mine;    /* for another address */
    uint64_t ip_out;         /* packets sent (a fragmented one counts once) */
    uint64_t ip_no_route;    /* sends refused: off the prefix with no gateway */
    uint64_t frag_out;       /* fragments sent */
    uint64_t frag_in;        /* fragments taken */
    uint64_t reasm_ok;       /* datagrams reassembled */
    uint64_t reasm_timeout;  /* given up after 30 s */
    uint64_t reasm_overlap;  /* dropped for an overlapping fragment */
    uint64_t reasm_dup;      /* exact duplicates ignored */
    uint64_t reasm_drop;     /* dropped for memory or count limits, or malformed fragments */
    /* ICMP */
    uint64_t icmp_in, icmp_bad;
    uint64_t echo_replies_out;  /* echo requests answered */
    uint64_t unreach_out;       /* destination unreachable sent */
    uint64_t icmp_rate_limited; /* errors not sent: over the rate */
    uint64_t icmp_errors_in;    /* errors received (unreachable, time exceeded, ...) */
    /* UDP (every socket of the station together) */
    uint64_t udp_in, udp_out;
    uint64_t udp_bad;           /* checksum, lengths */
    uint64_t udp_no_port;       /* no socket bound (answered with port unreachable) */
    uint64_t udp_queue_drops;   /* a socket's queue was full */
    uint64_t proto_unknown;     /* protocols nobody handles (protocol unreachable) */
};
/* -ENOENT without IPv4. */
int jet_ip_stats(struct jet_station *s, struct jet_ip_stats *out);

/* Sends one ICMP echo request of size data bytes (0..65507) to dst and waits
 * up to timeout_ns (-1: no limit) for its reply, driving the station.  0 with
 * the round trip in *rtt_ns; -ETIMEDOUT; -EHOSTUNREACH (ARP had no answer,
 * or an ICMP error said so); -ENETUNREACH (no route); -EMSGSIZE. */
int jet_ip_ping(struct jet_station *s, uint32_t dst, size_t data, int64_t timeout_ns,
                uint64_t *rtt_ns);

/* "198.18.0.1" or "198.18.0.1/24" -> *addr (and *plen if given: 32 when the
 * text has no prefix; with plen NULL a prefix is refused).  0 or -EINVAL. */
int jet_ip_parse(const char *s, uint32_t *addr, uint8_t *plen);
/* Writes "a.b.c.d" to buf (at least 16 bytes); returns buf. */
char *jet_ip_format(uint32_t addr, char *buf);

#ifdef __cplusplus
}
#endif

#pragma GCC visibility pop

#endif
