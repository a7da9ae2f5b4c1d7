/* The xdp: link's steering program on an interface (xdp_prog.c): loading
 * the embedded object, attaching it with libxdp, its maps, and the flows the
 * stack owns (jet_link_own) kept in them.
 *
 * One attachment per interface (network namespace + ifindex) in a process,
 * shared by the links on its queues and counted: the first link attaches,
 * the last one's close detaches.  Another process holding the interface is
 * told apart from a stale program left by a crash by a lock that dies with
 * its process: an abstract unix socket, whose names are per network
 * namespace (docs/link-xdp.md).
 *
 * Not for the hot path: every function here takes a process-wide mutex. */
#ifndef JET_LINK_XDP_PROG_H
#define JET_LINK_XDP_PROG_H

#include <stdbool.h>
#include <stdint.h>

#include "jet/err.h"
#include "jet/link.h"

struct xdp_att;

/* What a link holds through xdp_att_own, to give back at close. */
struct xdp_hold {
    struct jet_link_flow f;
    uint32_t n;
};

struct xdp_holds {
    struct xdp_hold *v;
    uint32_t n, cap;
};

/* Takes (attaching if it is the first) the program on ifindex of the
 * calling thread's network namespace, for queue q.  JET_XDP_MODE=native|skb
 * forces a mode; else native, falling back to generic with the reason kept.
 * 0, or a negative errno with the reason in err (-EBUSY: another live process
 * or another link of this one holds the interface's program or queue q). */
int xdp_att_get(int ifindex, const char *ifname, uint32_t q, struct xdp_att **out,
                struct jet_err *err);

/* Gives back queue q; the last user detaches the program.  Must be called in
 * the namespace the attachment was made in (the link's close enters it). */
void xdp_att_put(struct xdp_att *a, uint32_t q);

/* Puts the AF_XDP socket fd at queue q of jet_xsks.  0 or -errno. */
int xdp_att_set_xsk(struct xdp_att *a, uint32_t q, int xsk_fd);

/* "native" or "generic", and why not native ("" when it is). */
const char *xdp_att_mode(const struct xdp_att *a);
const char *xdp_att_why(const struct xdp_att *a);
/* "dispatcher" (libxdp's multi-program dispatcher, bpffs mounted) or "single". */
const char *xdp_att_how(const struct xdp_att *a);
/* The program's map fds (for tests): JET_XDP_MAP_ADDRS, _PORTS, _STATS. */
int xdp_att_map_fd(const struct xdp_att *a, const char *name);

/* jet_link_own for a link holding h: adds or removes one holder of f in the
 * maps.  kernel_addr: f->addr is one of the kernel's on the interface (then
 * only ARP, ICMP, fragments and owned ports are the stack's, else every
 * packet to it).  0, -EINVAL (malformed flow), -ENOENT (removing a flow not
 * held), -ENOSPC (a map is full), with the reason in err. */
int xdp_att_own(struct xdp_att *a, struct xdp_holds *h, const struct jet_link_flow *f, bool add,
                bool kernel_addr, struct jet_err *err);

/* Gives back everything h holds, and frees h's table. */
void xdp_att_disown(struct xdp_att *a, struct xdp_holds *h);

#endif
