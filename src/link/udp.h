/* The udp: link's internals (src/link/udp.c, docs/link-udp.md), for its tests
 * and its fuzz target.
 *
 * A datagram's payload is one of (docs/link-udp.md):
 *   01 ...           a native Jetstream frame as it is (byte 0 is its version, 1)
 *   80 00 <Ethernet> an Ethernet II frame behind a 2-byte shim
 * Anything else (another first byte, 80 with a second byte other than 00, or
 * too short for what its first byte says) is dropped and counted. */
#ifndef JET_LINK_UDP_H
#define JET_LINK_UDP_H

#include <stdbool.h>
#include <stdint.h>

#include "jet/link.h"

enum {
    UDP_SHIM0 = 0x80,  /* first byte of the Ethernet shim */
    UDP_SHIM_LEN = 2,  /* 80 00 */
    UDP_ETH_MIN = 14,  /* an Ethernet header */
    UDP_DGRAM_MAX4 = 65507, /* the largest UDP payload over IPv4 (65535 - 20 - 8) */
    UDP_DGRAM_MAX6 = 65527, /* over IPv6, without jumbograms (65535 - 8) */
};

/* One frame cut from a received datagram: payload bytes off..off+len of the
 * buffer the datagram was read into, and how they begin. */
struct udp_piece {
    uint32_t off, len;
    uint8_t encap; /* enum jet_encap */
};

/* Cuts what one read returned, d[0..len), into frames, from *off on: a single
 * datagram (seg = 0 or seg >= len), or a train the kernel coalesced (UDP GRO)
 * of datagrams of seg bytes, the last maybe shorter.  Writes up to max pieces
 * (each inside d[0..len)), advances *off past every datagram it looked at
 * (lent or dropped), adds the dropped ones to *bad, and returns the count.
 * *off == len when the buffer is done.  Reads only inside d[0..len). */
unsigned udp_cut(const uint8_t *d, uint32_t len, uint32_t seg, uint32_t *off,
                 struct udp_piece *out, unsigned max, uint64_t *bad);

/* What a test wants beyond the link name. */
struct udp_opts {
    bool no_gso; /* never send with UDP_SEGMENT (also: JET_UDP_GSO=0) */
    bool no_gro; /* do not ask for UDP_GRO (also: JET_UDP_GRO=0) */
};

int udp_link_open_opts(const struct jet_link_name *n, int station, const struct udp_opts *o,
                       struct jet_link **out, struct jet_err *err);

/* What the link found and did, beyond struct jet_link_stats. */
struct udp_info {
    bool gso, gro;          /* in use now */
    bool v6;                /* the socket's family */
    uint16_t local_port;
    uint32_t pmtu;          /* the path MTU to the peer at open (IP_MTU) */
    uint32_t dgram_max;     /* the largest datagram payload sent */
    uint64_t icmp_errors;   /* ICMP errors the kernel reported (peer not listening, ...) */
    uint64_t kernel_drops;  /* datagrams the kernel dropped at our socket (SO_RXQ_OVFL) */
    uint64_t sends, gso_sends; /* datagrams sent as such, and GSO trains sent */
    uint64_t reads, gro_reads; /* reads of one datagram, and of a coalesced train */
    uint64_t syscalls_tx, syscalls_rx;
};
void udp_link_info(const struct jet_link *l, struct udp_info *out);

#endif
