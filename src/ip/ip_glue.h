/* Internal: the IPv4 glue's state, shared by its files.
 *
 *   ip_glue.c   IPv4 as a protocol of the station (jet/stack.h): jet_ip_attach,
 *               the per-station state (struct ip_host), the poll hook that feeds
 *               the default channel into the core (ip_core.h) and runs its
 *               timers, the core's transmit ops, jet_ip_config/stats/ping
 *   udp_sock.c  UDP sockets (jet/udp.h): a channel per bound socket with its
 *               steering rule, receive with one copy and the checksum over the
 *               copied bytes, the side queue of datagrams the core delivers,
 *               ICMP errors, send through ip_output
 *
 * What is not IPv4's own (blocking, channel ids) is the shared endpoint glue,
 * chan/endpoint.h.  One thread per station, as everywhere. */
#ifndef JET_IP_GLUE_H
#define JET_IP_GLUE_H

#include <stdbool.h>
#include <stdint.h>

#include "chan/endpoint.h"
#include "ip/ip_core.h"
#include "jet/udp.h"

enum {
    /* The default channel's and the sockets' channel ids: [CHAN_FIRST, CHAN_LAST]
     * (RBS's connections are above). */
    IPG_CHAN_FIRST = 0x20000000u,
    IPG_CHAN_LAST = 0x3FFFFFFFu,
    /* The default channel's queue: room for the fragments of several 64 KiB
     * datagrams at once (45 each at an MTU of 1500). */
    IPG_DEF_QUEUE_FRAMES = 8192,
    /* Ephemeral ports, as Linux's default range. */
    IPG_EPH_FIRST = 32768,
    IPG_EPH_LAST = 60999,
};
#define IPG_DEF_QUEUE_BYTES (32ull << 20)

/* IPv4's state on one station (attached to it: ip_glue.c). */
struct ip_host {
    struct jet_station *s;
    struct ip_core *core;
    struct jet_chan *ch;   /* the default channel: ARP, ICMP, fragments, the rest */
    struct ep_ids ids;     /* channel ids of the sockets */
    uint32_t mtu;          /* largest IPv4 packet on the link */
    struct jet_udp *socks; /* open sockets (closed with the station) */
    uint16_t eph_next;     /* next ephemeral port to try */
    uint32_t owned;        /* the address told to the link (jet_link_own), 0: none */
    /* The link refused a frame for good (-EHOSTUNREACH on commit: on the emulated LAN,
     * the station with that MAC left the link, its process gone): the packet's IPv4
     * destination and the link's words, kept until TCP takes them (tcp_glue.c fails
     * its connections to that address).  UDP does not look (docs/udp.md). */
    bool gone;
    uint32_t gone_addr;
    char gone_why[200];
    uint64_t probe_at; /* ipg_probe's next look (rate limit) */
};

/* At most this often ipg_probe asks the link (a system call on the LAN). */
#define IPG_PROBE_NS 100000000ull

/* A connection waits for an answer from addr that does not come (a retransmission
 * timeout): asks the link whether the station holding addr's next hop's MAC is still
 * there (jet_link_peer_alive: the LAN sees a killed process), at most once per
 * IPG_PROBE_NS.  When it is gone, h->gone is set as for a refused frame. */
void ipg_probe(struct ip_host *h, uint32_t addr, uint64_t now);

/* IPv4 on s, or NULL. */
struct ip_host *ipg_host(const struct jet_station *s);

/* udp_sock.c: frees every socket of h (the station is closing). */
void ipg_udp_close_all(struct ip_host *h);
/* udp_sock.c: datagrams the sockets' channels dropped for a full queue. */
uint64_t ipg_udp_chan_drops(const struct ip_host *h);

#endif
