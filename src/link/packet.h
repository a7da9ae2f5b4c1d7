/* Internals of the packet:IF link (packet.c, packet_own.c): the flows the
 * stack holds (jet_link_own), the classic BPF socket filter made from them,
 * and the nftables rules that keep the kernel off our ports when the stack's
 * address is also one of the kernel's (docs/link-packet.md). */
#ifndef JET_LINK_PACKET_H
#define JET_LINK_PACKET_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>

#include "jet/link.h"

/* One flow held, with its holders counted (host byte order). */
struct pk_flow {
    uint32_t addr;
    uint8_t proto;
    uint16_t port;
    bool shared; /* addr is also one of the kernel's addresses (checked when added) */
    uint32_t refs;
};

struct pk_own {
    struct pk_flow *f;
    uint32_t n, cap;
    struct sock_filter *prog; /* the filter attached (not attached again unchanged) */
    int prog_n;
    bool nft_on;    /* our nftables table is in place */
    char table[48]; /* its name: jetstream_<ifname> */
};

enum {
    PK_FILTER_MAX = 4096, /* BPF_MAXINSNS */
    PK_SNAP = 0x7fffffff, /* what an accepting filter returns: the whole frame */
};

/* Builds the socket filter for the flows f[0..n): EtherType 0x88B5 always;
 * every frame if a flow is {0,0,0}; ARP whose target IP is an address of a
 * flow; IPv4 to such an address (all of it when the kernel does not have the
 * address; only TCP/UDP to the ports held, first fragments, when it does).
 * Returns the instruction count, or -ENOSPC when out[cap] is too small. */
int packet_filter_build(const struct pk_flow *f, uint32_t n, struct sock_filter *out, unsigned cap);

/* Adds (add) or removes a holder of flow fl; on a change of the set, a new
 * filter on socket fd and, for ports on an address the kernel shares, new
 * nftables rules.  ctl: an AF_INET socket of the interface's namespace (the
 * kernel's addresses are read through it).  0 or a negative errno, reason in
 * err. */
int packet_own(struct pk_own *o, int fd, int ctl, const char *ifname,
               const struct jet_link_flow *fl, bool add, struct jet_err *err);

/* Attaches the filter for o's flows to fd (at open: only 0x88B5), unless it
 * is the one attached already. */
int packet_filter_attach(struct pk_own *o, int fd, struct jet_err *err);

/* Whether addr (host order) is one of the kernel's IPv4 addresses in ctl's
 * namespace: 1, 0, or a negative errno. */
int packet_kernel_has(int ctl, uint32_t addr);

/* Removes our nftables table (if any) and frees the flows. */
void packet_own_fini(struct pk_own *o);

#endif
