/* Internal: the tap:IF link (tap.c) and what `jet lan tap` needs beyond the
 * jet_link ops (tools link libjet.a, so they may call these).
 *
 * The link opens /dev/net/tun with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR: the
 * interface is created if it does not exist (and brought up: we made it,
 * so it is ours to configure) or attached to if it does (then it must be
 * up).  Offloads are switched on (TUNSETOFFLOAD: checksum, TSO for IPv4),
 * so the kernel may hand over one TCP segment of up to 64 KiB with its GSO
 * metadata in the virtio-net header:
 *   rx  a frame the kernel left with a partial checksum (NEEDS_CSUM) has it
 *       completed in software, so that every frame lent by rx_burst is an
 *       ordinary Ethernet frame with valid checksums; a GSO frame is lent
 *       whole (up to 65535 bytes of IPv4 after the Ethernet header), unless
 *       it is longer than rx_max_frame: then it is cut into segments of at
 *       most that (IPv4 ids, lengths, sequence numbers, flags and checksums
 *       fixed up, as the kernel's own GSO does);
 *   tx  an IPv4 TCP frame longer than the interface's MTU (plus its Ethernet
 *       header) goes in one write as a GSO frame, segments of
 *       MTU - IP header - TCP header bytes, or of jet_frame.gso_size when the
 *       sender gave one (caps.tso: then the TCP checksum may be partial; the
 *       link completes it in a frame that fits the MTU, the kernel in a GSO
 *       frame); any other frame over it is refused with -EMSGSIZE.
 * caps: eth (Ethernet frames, JET_ENCAP_ETH), tso, no native addresses, mtu the
 * interface's MTU (the largest IPv4 packet it carries), max_frame 14 + 65535,
 * has_mac with a MAC of this end (the one given, else a random locally
 * administered one): not the interface's, which is the kernel's end. */
#ifndef JET_LINK_TAP_H
#define JET_LINK_TAP_H

#include <stdbool.h>
#include <stdint.h>

#include "jet/link.h"

struct tap_opts {
    uint32_t rx_max_frame; /* 0: no limit; else the longest frame rx_burst lends (GSO
                              segmented down to it), at least 14 + 576 */
    bool has_mac;          /* caps.mac is mac, else random */
    uint8_t mac[6];
    bool must_exist;       /* -ENODEV rather than create the interface */
    uint32_t mtu;          /* 0: the interface's; else set it to this (576..65521) at open:
                              the link checks frames against the MTU it knows */
};

/* Opens tap:ifname.  Errors with reasons: -EPERM (no CAP_NET_ADMIN), -ENOENT
 * (no /dev/net/tun), -ENETDOWN (an existing interface is down), -EMSGSIZE
 * (its MTU is under 576), -ENODEV (must_exist and it does not), -EBUSY
 * (attached by another process, or not a TAP). */
int tap_link_open(const char *ifname, const struct tap_opts *o, struct jet_link **out,
                  struct jet_err *err);
/* The interface's index, for netlink (moving it, addresses). */
int tap_link_ifindex(const struct jet_link *l);

/* Frames straight into and out of the caller's memory, without the copy
 * through the link's own buffers that rx_burst + tx_alloc would need
 * (`jet lan tap` reads into a lent LAN transmit buffer and writes from a
 * lent LAN receive frame).  They keep the order of the link's other frames
 * and count in its stats. */
enum { TAP_READ_BURST = 2 };

/* Reads one frame the kernel sent into buf (at most cap bytes): 1 with its
 * length in *len: an ordinary Ethernet frame, a partial checksum completed,
 * as rx_burst would lend it; 0 when the device has none now; TAP_READ_BURST
 * when frames must be taken with rx_burst first: one just read was longer
 * than cap or rx_max_frame (kept whole, or cut into segments, by the link:
 * buf's bytes are then garbage), or frames read before still wait there
 * (it says so until rx_burst has lent them all); a negative errno
 * (set) when the read failed.  Malformed frames are dropped and counted. */
int tap_link_read_into(struct jet_link *l, uint8_t *buf, uint32_t cap, uint32_t *len);

/* Writes one Ethernet frame of len bytes from data to the kernel at once,
 * checked as tx_commit checks it; one longer than the MTU goes as a GSO
 * frame, and then its TCP checksum field is rewritten (to the
 * pseudo-header sum the kernel expects): the frame's bytes may change.  0
 * written; -EAGAIN nothing done (frames committed before, or the device, are
 * not ready: try again later, the same bytes); -EINVAL, -EMSGSIZE refused
 * as tx_commit refuses; another negative errno (set) when the write failed.
 * Every error but -EAGAIN counts as tx_dropped. */
int tap_link_write_from(struct jet_link *l, uint8_t *data, uint32_t len);
/* The same with a segment size (as jet_frame.gso_size): an IPv4 TCP frame goes with
 * NEEDS_CSUM, its checksum field rewritten to the pseudo-header sum, so the kernel
 * need not check it (a frame from a medium with caps.csum, whose TCP checksum may be
 * partial: `jet lan tap`); one over the MTU is cut into segments of at most gso. */
int tap_link_write_from_gso(struct jet_link *l, uint8_t *data, uint32_t len, uint32_t gso);

#endif
