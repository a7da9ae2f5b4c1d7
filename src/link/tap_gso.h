/* Internal: the virtio-net header work of the tap link (tap_gso.c), as pure
 * functions on frame bytes, so they are tested without a TAP device.
 *
 *   rx  tap_csum_complete() finishes a checksum the kernel left partial
 *       (VIRTIO_NET_HDR_F_NEEDS_CSUM); tap_tcp4_seg() cuts one segment out
 *       of a large IPv4 TCP frame (software GSO), as the kernel's own
 *       segmentation does: IPv4 id + index, lengths, sequence numbers, PSH
 *       and FIN on the last segment only, CWR on the first only, both
 *       checksums computed.
 *   tx  tap_vnet_tx() decides the virtio-net header of a frame: none for
 *       one that fits the MTU, TCPv4 GSO (with the pseudo-header sum in the
 *       TCP checksum field, as the kernel expects of a partial checksum) for
 *       a larger IPv4 TCP frame, -EMSGSIZE for anything else too large;
 *       tap_vnet_tx_gso() the same with the sender's segment size (TSO). */
#ifndef JET_LINK_TAP_GSO_H
#define JET_LINK_TAP_GSO_H

#include <linux/virtio_net.h>
#include <stdint.h>

/* An Ethernet + IPv4 + TCP frame's layout. */
struct tap_tcp4 {
    uint32_t ihl;     /* IPv4 header bytes (at offset 14) */
    uint32_t thl;     /* TCP header bytes (at 14 + ihl) */
    uint32_t hdr_len; /* 14 + ihl + thl */
    uint32_t payload; /* TCP payload bytes */
};

/* Parses f (len bytes) as an untagged Ethernet frame carrying an unfragmented
 * IPv4 TCP segment whose total length is len - 14.  0, or -EINVAL. */
int tap_tcp4_parse(const uint8_t *f, uint32_t len, struct tap_tcp4 *t);

/* Completes a partial checksum: the 16-bit field at start + off holds the
 * sum of a pseudo-header (or 0); the ones'-complement sum from start to the
 * end of the frame goes there.  A UDP checksum (off 6) of 0 is sent as
 * 0xFFFF.  0, or -EINVAL when start/off lie outside the frame. */
int tap_csum_complete(uint8_t *f, uint32_t len, uint32_t start, uint32_t off);

/* Writes into out the segment of the TCP frame f (parsed as t) carrying the
 * payload bytes [off, off + mss) (fewer at the end), with every header field
 * and checksum right for it.  off is a multiple of mss.  Returns its length
 * (t->hdr_len + payload bytes). */
uint32_t tap_tcp4_seg(const uint8_t *f, const struct tap_tcp4 *t, uint32_t off, uint32_t mss,
                      uint8_t *out);

/* The virtio-net header for sending f (len bytes) on an interface of MTU
 * mtu: flags and gso_type 0 if len <= mtu + 18 and it is not an IPv4 TCP
 * frame over mtu + 14; for an IPv4 TCP frame over mtu + 14, TCPv4 GSO of
 * mtu - IPv4 header - TCP header bytes per segment (the TCP checksum field
 * is rewritten to the pseudo-header sum).  0, -EMSGSIZE (too large and not
 * TCPv4, or segments would be empty), -EINVAL (malformed TCPv4 frame). */
int tap_vnet_tx(uint8_t *f, uint32_t len, uint32_t mtu, struct virtio_net_hdr *h);
/* The same for a frame sent with a segment size (jet_frame.gso_size, not 0), whose
 * TCP checksum field may hold only the pseudo-header sum: an IPv4 TCP frame that fits
 * the MTU gets its checksum completed here (no header flags: it goes as an ordinary
 * frame, whole in a capture); one over the MTU goes as TCPv4 GSO of min(gso, mtu - IPv4
 * header - TCP header) bytes per segment (NEEDS_CSUM, the field rewritten to the
 * pseudo-header sum).  A frame that is not TCPv4 is treated as by tap_vnet_tx.  gso 0:
 * tap_vnet_tx. */
int tap_vnet_tx_gso(uint8_t *f, uint32_t len, uint32_t mtu, uint32_t gso,
                    struct virtio_net_hdr *h);

#endif
