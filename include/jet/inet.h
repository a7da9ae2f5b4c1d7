/* TCP/IPv4 on the wire: the Internet checksum, and parsers and emitters for
 * ARP, IPv4, ICMP, UDP and TCP headers (RFC 826, 791, 792, 768, 9293 and the
 * TCP options of RFC 7323 and 2018).  Ethernet is in jet/frame.h.
 *
 * The rules, the same for every format here:
 *   - A parser reads only what the length it is given covers: every field is
 *     length-checked before it is read, and a header that claims more bytes
 *     than there are is refused.  Parsers never write to the packet.
 *   - Errors: -EMSGSIZE (shorter than the header, or than a length field
 *     claims), -EPROTO (a field no valid packet has: IPv4 version, header
 *     lengths, ARP hardware/protocol types, TCP option lengths), -EBADMSG (a
 *     checksum that does not verify).  On error the output struct holds no
 *     meaning.
 *   - Addresses and ports are host byte order in the structs; the wire is
 *     big-endian.  Pointers a parser returns (IPv4 options) point into the
 *     caller's buffer and live as long as it does.
 *   - Emitters write into a buffer the caller lends and owns, return the
 *     bytes written, or -ENOSPC when cap is too small (nothing useful is
 *     written then), -EINVAL for a struct no valid header has.  Emitters of
 *     headers that carry a payload (ICMP, UDP, TCP) find the payload already
 *     in place right after the header and compute the checksum over both:
 *     write the payload first (zero copy), then the header in front of it.
 *   - Nothing here allocates, does I/O or keeps state.
 *
 * Flag for the parsers: JET_INET_NO_CSUM skips checksum verification (the
 * link verified it already, or the caller will). */
#ifndef JET_INET_H
#define JET_INET_H

#pragma GCC visibility push(default) /* the library exports only what these headers declare */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    JET_ETHERTYPE_IPV4 = 0x0800,
    JET_ETHERTYPE_ARP = 0x0806,

    JET_IP_PROTO_ICMP = 1,
    JET_IP_PROTO_TCP = 6,
    JET_IP_PROTO_UDP = 17,

    JET_INET_NO_CSUM = 1u << 0, /* parse flag: do not verify checksums */
};

/* ---- the Internet checksum (RFC 1071) ----
 * A checksum is built from partial sums: jet_inet_sum() adds len bytes to
 * sum and returns the new partial sum (a 16-bit ones'-complement sum, kept
 * in the low 16 bits, of the bytes read as big-endian 16-bit words).  Every
 * piece but the last must have an even length.  jet_inet_csum() turns a
 * partial sum into the value for the checksum field (its complement).  Data
 * whose checksum field is right sums to 0xFFFF. */
uint32_t jet_inet_sum(const void *buf, size_t len, uint32_t sum);
static inline uint16_t jet_inet_csum(uint32_t sum)
{
    sum = (sum & 0xFFFF) + (sum >> 16);
    sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)~sum;
}
/* The partial sum of the IPv4 pseudo-header of TCP and UDP (RFC 9293 3.1):
 * source, destination, protocol and the TCP or UDP length (header and
 * payload). */
uint32_t jet_inet_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);

/* ---- ARP for IPv4 over Ethernet (RFC 826) ---- */
enum {
    JET_ARP_LEN = 28,
    JET_ARP_REQUEST = 1,
    JET_ARP_REPLY = 2,
};
struct jet_arp {
    uint16_t op;    /* JET_ARP_REQUEST or JET_ARP_REPLY */
    uint8_t sha[6]; /* sender hardware address */
    uint32_t spa;   /* sender IPv4 address */
    uint8_t tha[6]; /* target hardware address (zero in a request) */
    uint32_t tpa;   /* target IPv4 address */
};
/* Parses an ARP packet (the Ethernet payload; padding after 28 bytes is
 * ignored).  -EPROTO unless hardware type 1 (Ethernet), protocol 0x0800,
 * lengths 6 and 4, and op request or reply. */
int jet_arp_parse(const void *buf, size_t len, struct jet_arp *a);
/* Writes a 28-byte ARP packet; -EINVAL for an op other than request/reply. */
int jet_arp_emit(void *buf, size_t cap, const struct jet_arp *a);

/* ---- IPv4 (RFC 791) ---- */
enum {
    JET_IPV4_HDR_LEN = 20, /* without options */
    JET_IPV4_HDR_MAX = 60,
    JET_IPV4_DF = 0x4000,  /* in jet_ipv4_hdr.frag */
    JET_IPV4_MF = 0x2000,
    JET_IPV4_OFF_MASK = 0x1FFF, /* fragment offset, in 8-byte units */
};
struct jet_ipv4_hdr {
    uint8_t hdr_len;    /* header bytes, options included: 20..60, a multiple of 4 */
    uint8_t tos;        /* DSCP (6 bits) and ECN (2 bits) */
    uint16_t total_len; /* header and payload */
    uint16_t id;
    uint16_t frag; /* flags and fragment offset, as on the wire */
    uint8_t ttl;
    uint8_t proto; /* JET_IP_PROTO_* */
    uint16_t csum; /* parse: as received; emit: ignored (computed) */
    uint32_t src, dst;
    const uint8_t *opt; /* options (hdr_len - 20 bytes; none at 20); parse: buf + 20 */
};
/* Parses an IPv4 header.  The payload is total_len - hdr_len bytes at
 * buf + hdr_len; bytes after total_len (link padding) are not part of the
 * packet.  -EPROTO: version not 4, header length under 20 or over
 * total_len; -EMSGSIZE: len shorter than the header or than total_len;
 * -EBADMSG: header checksum (unless JET_INET_NO_CSUM). */
int jet_ipv4_parse(const void *buf, size_t len, struct jet_ipv4_hdr *h, unsigned flags);
/* Writes h (with its hdr_len - 20 option bytes from h->opt) and the header
 * checksum.  -EINVAL: hdr_len not 20..60 and a multiple of 4, total_len
 * under hdr_len, or options wanted with h->opt NULL.  Returns hdr_len. */
int jet_ipv4_emit(void *buf, size_t cap, const struct jet_ipv4_hdr *h);
/* A fragment (more fragments follow, or not the first)? */
static inline bool jet_ipv4_is_fragment(const struct jet_ipv4_hdr *h)
{
    return (h->frag & (JET_IPV4_MF | JET_IPV4_OFF_MASK)) != 0;
}

/* ---- ICMP (RFC 792) ---- */
enum {
    JET_ICMP_HDR_LEN = 8,
    JET_ICMP_ECHO_REPLY = 0,
    JET_ICMP_DEST_UNREACH = 3,
    JET_ICMP_ECHO = 8,
    JET_ICMP_TIME_EXCEEDED = 11,
};
struct jet_icmp_hdr {
    uint8_t type, code;
    uint16_t csum;  /* parse: as received; emit: ignored (computed) */
    uint32_t rest;  /* the header's second word: echo id << 16 | seq; next-hop MTU; ... */
};
/* Parses an ICMP message of len bytes (the whole IPv4 payload: the checksum
 * covers all of it). */
int jet_icmp_parse(const void *buf, size_t len, struct jet_icmp_hdr *h, unsigned flags);
/* Writes the 8-byte header in front of the data_len bytes at buf + 8, with
 * the checksum over both.  Returns 8 + data_len; -EINVAL if that and an
 * IPv4 header would exceed 65535 bytes. */
int jet_icmp_emit(void *buf, size_t cap, const struct jet_icmp_hdr *h, size_t data_len);

/* ---- UDP (RFC 768) ---- */
enum { JET_UDP_HDR_LEN = 8 };
struct jet_udp_hdr {
    uint16_t sport, dport;
    uint16_t len;  /* header and payload */
    uint16_t csum; /* parse: as received (0: none was sent); emit: ignored */
};
/* Parses a UDP datagram in an IPv4 payload of len bytes from src to dst.
 * The payload is h->len - 8 bytes at buf + 8.  -EPROTO: length field under
 * 8; -EMSGSIZE: over len; -EBADMSG: checksum (a checksum of 0 means the
 * sender computed none, and is accepted). */
int jet_udp_parse(const void *buf, size_t len, uint32_t src, uint32_t dst, struct jet_udp_hdr *h,
                  unsigned flags);
/* Writes the header for h->sport, h->dport and h->len (8 + the payload at
 * buf + 8) with the checksum (0 is sent as 0xFFFF).  Returns h->len. */
int jet_udp_emit(void *buf, size_t cap, const struct jet_udp_hdr *h, uint32_t src, uint32_t dst);

/* ---- TCP (RFC 9293; options of RFC 7323 and 2018) ---- */
enum {
    JET_TCP_HDR_LEN = 20, /* without options */
    JET_TCP_HDR_MAX = 60,
    JET_TCP_FIN = 0x01,
    JET_TCP_SYN = 0x02,
    JET_TCP_RST = 0x04,
    JET_TCP_PSH = 0x08,
    JET_TCP_ACK = 0x10,
    JET_TCP_URG = 0x20,
    JET_TCP_ECE = 0x40,
    JET_TCP_CWR = 0x80,
    JET_TCP_SACK_MAX = 4, /* blocks in one segment (3 beside timestamps) */
    JET_TCP_WSCALE_MAX = 14,
};
/* The options Jetstream reads and writes.  Unknown options are skipped on
 * parse; a known option with the wrong length is ignored, as Linux does; a
 * repeated option overrides the earlier one.  Parse reads every option on
 * any segment: "SYN only" below says where senders put them, and whether to
 * heed them outside a SYN is the protocol's decision. */
struct jet_tcp_hdr_opts {
    uint16_t mss;    /* 0: absent (SYN only) */
    uint8_t wscale;  /* shift, valid when has_wscale (SYN only; over 14 is read as 14) */
    bool has_wscale;
    bool sack_ok;    /* SACK permitted (SYN only) */
    bool has_ts;
    uint32_t ts_val, ts_ecr;
    uint8_t nsack;   /* SACK blocks, 0..JET_TCP_SACK_MAX */
    struct {
        uint32_t left, right; /* sequence space: [left, right) */
    } sack[JET_TCP_SACK_MAX];
};
struct jet_tcp_hdr {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t hdr_len; /* data offset in bytes: 20..60; emit: ignored (from the options) */
    uint8_t flags;   /* JET_TCP_* */
    uint16_t win;    /* as on the wire (unscaled) */
    uint16_t csum;   /* parse: as received; emit: ignored (computed) */
    uint16_t urg;
    struct jet_tcp_hdr_opts opt;
};
/* Parses a TCP segment in an IPv4 payload of len bytes from src to dst (the
 * checksum covers it all; it is verified before the options are read).  The
 * payload is len - h->hdr_len bytes at buf + h->hdr_len.  -EMSGSIZE: len
 * under 20 or over 65535; -EPROTO: data offset under 20 or past len, or an
 * option whose length is under 2 or runs past the header. */
int jet_tcp_parse(const void *buf, size_t len, uint32_t src, uint32_t dst, struct jet_tcp_hdr *h,
                  unsigned flags);
/* Header bytes jet_tcp_emit() writes for these options: 20 + each option
 * item aligned to 4 bytes with NOPs, in Linux's layout (docs/inet.md): 40
 * for a SYN with MSS, SACK-permitted, timestamps and window scale; 60 with
 * timestamps and 3 SACK blocks.  -EINVAL over 60 (a set that would fit only
 * packed without alignment is refused too), for nsack over 4 or a window
 * scale over 14. */
int jet_tcp_hdr_len(const struct jet_tcp_hdr_opts *o);
/* Writes the header (with options) in front of the payload_len bytes at
 * buf + jet_tcp_hdr_len(&h->opt), and the checksum over both.  Returns
 * header + payload bytes; -EINVAL if they and an IPv4 header would exceed
 * 65535 bytes. */
int jet_tcp_emit(void *buf, size_t cap, const struct jet_tcp_hdr *h, uint32_t src, uint32_t dst,
                 size_t payload_len);

#ifdef __cplusplus
}
#endif

#pragma GCC visibility pop

#endif
