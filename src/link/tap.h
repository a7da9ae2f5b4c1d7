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
 *       MTU - IP header - TCP header bytes; any other frame over it is
 *       refused with -EMSGSIZE.
 * caps: eth (Ethernet frames, JET_ENCAP_ETH), no native addresses, mtu the
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

#endif
