/* The xdp: link's state, shared by its data path (xdp.c) and its opening
 * and closing (xdp_open.c).
 *
 * The UMEM is NFRAMES frames of FRAME bytes in one mapping:
 *   frames 0 .. RXF-1      receive frames: the fill ring, then the rx ring,
 *                          then lent by rx_burst, then the free list (rx_free)
 *   frames RXF .. NFRAMES-1  transmit slots of k consecutive frames (k = 1
 *                          unless a frame needs more: multi-buffer), lent by
 *                          tx_alloc at TX_OFF, a descriptor per frame they
 *                          span, free again when every descriptor completes
 * and, with multi-buffer, `big` buffers outside the UMEM: a received frame
 * that came in several UMEM frames is copied into one, whole, to be lent.
 * Buffer id: the UMEM frame index (a slot's first frame), or NFRAMES + the
 * big buffer's index. */
#ifndef JET_LINK_XDP_IMPL_H
#define JET_LINK_XDP_IMPL_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include <xdp/xsk.h>

#include "link/ethnat.h"
#include "link/xdp.h"
#include "link/xdp_prog.h"

#ifndef XDP_USE_SG
#define XDP_USE_SG (1 << 4) /* linux/if_xdp.h of 6.6 on; Debian 12's headers lack it */
#endif
#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9
#endif
#ifndef XDP_PKT_CONTD
#define XDP_PKT_CONTD (1 << 0)
#endif

enum {
    NFRAMES = 6144,
    FRAME_SHIFT = 12,
    FRAME = 1 << FRAME_SHIFT,
    RXF = 4096,            /* receive frames: all of them fit the fill ring */
    RING = 4096,           /* every ring's size */
    RX_OFF = XDP_PACKET_HEADROOM, /* where the kernel puts a received frame */
    TX_OFF = 64,           /* where a transmit buffer starts (ethnat_wrap writes before) */
    TXQ = 512,             /* frames committed and not yet flushed, at most */
    BIG = 256,             /* big buffers (multi-buffer only) */
    BURST = 64,
    KICKS = 64,            /* sendto() calls per flush, at most */
    MIN_MTU = 68,
    MAX_MTU = 9702,        /* with multi-buffer (a transmit slot of 3 frames) */
    NBUF = NFRAMES + BIG,
};

enum { B_FREE, B_KERNEL, B_LENT, B_TX };

struct xdp {
    struct jet_link base;
    char ifname[IFNAMSIZ];
    int ifindex;
    uint32_t queue;
    int ns_fd; /* the network namespace opened in */
    struct xdp_att *att;
    struct xdp_holds holds;
    uint8_t *area;
    struct xsk_umem *umem;
    struct xsk_socket *xsk;
    int fd;
    struct xsk_ring_prod fq, tx;
    struct xsk_ring_cons cq, rx;
    bool zc, wakeup, sg;
    uint32_t k;           /* UMEM frames per transmit slot */
    uint32_t in_kernel;   /* receive frames in the fill or rx ring */
    uint32_t pending, pend_desc; /* frames (descriptors) committed, not yet submitted */
    uint64_t pend_bytes;  /* their bytes as committed (tx_bytes) */
    uint32_t outstanding; /* descriptors submitted, not yet completed */
    uint32_t max_native, max_eth; /* largest frame lengths at data */
    uint8_t *big;         /* BIG buffers of big_sz bytes (multi-buffer) */
    uint32_t big_sz;
    uint32_t rx_nfree, tx_nfree, big_nfree;
    uint32_t rx_free[RXF];
    uint32_t tx_free[NFRAMES - RXF];
    uint32_t big_free[BIG];
    uint8_t state[NBUF];
    uint8_t desc_left[NFRAMES]; /* a transmit slot's descriptors not yet completed */
    uint16_t off[NBUF];    /* a lent frame's data offset in its buffer */
    struct ethnat en;
    struct jet_link_stats st;
};

static inline uint8_t *xdp_buf(const struct xdp *x, uint32_t b)
{
    return b < NFRAMES ? x->area + ((size_t)b << FRAME_SHIFT)
                       : x->big + (size_t)(b - NFRAMES) * x->big_sz;
}

/* The data path's pieces that opening and closing use (xdp.c). */
void xdp_refill(struct xdp *x);
int xdp_flush(struct jet_link *l);
extern const struct jet_link_ops xdp_link_ops;
/* The ops of xdp_open.c. */
int xdp_own_op(struct jet_link *l, const struct jet_link_flow *f, bool add);
void xdp_close_op(struct jet_link *l);

#endif
