/* rtnl: the few rtnetlink requests `jet lan tap` makes to configure a network
 * interface (what `ip link set` and `ip addr add` do): look an interface up by
 * name, set its flags, MAC address and MTU, move it into another network
 * namespace, add an IPv4 address.
 *
 * A socket belongs to the network namespace it was created in, so
 * rtnl_open(ns_fd) configures interfaces inside that namespace while the
 * process itself stays where it is (the LAN's doorbell sockets are abstract
 * Unix sockets, which are per namespace: a station must not move).
 *
 * Every call returns 0 (or an index) or a negative errno, with the reason in
 * err.  Each request waits for the kernel's acknowledgement. */
#ifndef JET_TOOLS_RTNL_H
#define JET_TOOLS_RTNL_H

#include <stdint.h>

#include "jet/err.h"

/* An rtnetlink socket in the network namespace ns_fd (an open
 * /var/run/netns/NAME), or in ours if ns_fd < 0.  Returns the socket. */
int rtnl_open(int ns_fd, struct jet_err *err);

/* The index of interface name in the socket's namespace, or -ENODEV. */
int rtnl_link_index(int fd, const char *name, struct jet_err *err);

struct rtnl_link_change {
    int up;             /* 1 up, 0 down, -1 as it is */
    const uint8_t *mac; /* 6 bytes, or NULL */
    uint32_t mtu;       /* 0: as it is */
    int ns_fd;          /* >= 0: move into that namespace (done alone, first) */
};

/* Applies c to interface ifindex. */
int rtnl_link_set(int fd, int ifindex, const struct rtnl_link_change *c, struct jet_err *err);

/* Adds IPv4 address addr (host byte order) / plen to interface ifindex. */
int rtnl_addr_add(int fd, int ifindex, uint32_t addr, uint8_t plen, struct jet_err *err);

#endif
