/* The udp: link's state, shared by its data path (udp.c) and its socket
 * setup (udp_sock.c).  Not a public header: see udp.h for tests. */
#ifndef JET_LINK_UDP_IMPL_H
#define JET_LINK_UDP_IMPL_H

#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "link/udp.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

enum {
    SLAB = 65536,     /* a slab holds the largest datagram, or a GRO train (< 64 KiB) */
    SLABS = 512,      /* 32 MiB of address space; pages are touched as frames use them */
    DESCS = 2048,     /* buffer ids: frames lent at once (a train lends several per slab) */
    BURST = 32,       /* caps.burst */
    RXB = 64,         /* datagrams (or trains) per recvmmsg */
    TXQ = 128,        /* frames queued between flushes */
    MSGS = TXQ,       /* messages per sendmmsg (a frame each at worst) */
    TX_SLABS = 256,   /* slabs transmit may hold (lent by tx_alloc, queued); receive the rest */
    RX_SLABS = SLABS - TX_SLABS,
    GSO_SEGS = 64,    /* datagrams per UDP_SEGMENT train (the kernel takes up to 64 or 128) */
    SOCKBUF = 8 << 20, /* SO_SNDBUF, SO_RCVBUF asked for */
};

enum { D_FREE, D_LENT, D_QUEUED };

struct udesc {
    uint32_t slab, off; /* the frame's data: slab's bytes from off */
    uint8_t state;
};

struct utxe { /* a queued frame */
    uint32_t desc, len;
    bool eth;
};

struct upend { /* a datagram or train read, being lent */
    uint32_t slab, len, seg, off;
};

struct udpl {
    struct jet_link base;
    int fd;
    bool gso, gro, v6;
    uint32_t pmtu, dgram_max, max_frame;
    uint32_t gso_bytes; /* the most a UDP_SEGMENT train carries */
    uint32_t kdrops;    /* the socket's drop count last seen (SO_RXQ_OVFL) */
    uint8_t *mem;
    uint32_t nsfree, ndfree;
    uint32_t held[2]; /* slabs out of the free list, by side: 0 transmit, 1 receive */
    uint32_t sfree[SLABS];
    uint16_t refs[SLABS];
    uint8_t side[SLABS]; /* which side took the slab */
    uint32_t dfree[DESCS];
    struct udesc desc[DESCS];
    /* transmit */
    struct utxe q[TXQ];
    uint32_t qn;
    struct mmsghdr tmsg[MSGS];
    struct iovec tiov[2 * TXQ];
    _Alignas(struct cmsghdr) uint8_t tctl[MSGS][CMSG_SPACE(sizeof(uint16_t))];
    /* receive */
    struct upend pend[RXB];
    uint32_t ph, pn;
    struct mmsghdr rmsg[RXB];
    struct iovec riov[RXB];
    /* per datagram: UDP_GRO's segment size (int), SO_RXQ_OVFL's drop count (uint32) */
    _Alignas(struct cmsghdr) uint8_t rctl[RXB][CMSG_SPACE(sizeof(int)) +
                                               CMSG_SPACE(sizeof(uint32_t))];
    struct jet_link_stats st;
    struct udp_info info;
};

extern const struct jet_link_ops udp_ops;

int udp_flush(struct jet_link *l);
int udp_mem_init(struct udpl *u, struct jet_err *err);
/* Whether errno e from a send or read is an error the kernel queued on the
 * socket for an earlier datagram (an ICMP error from the peer's side): then
 * counted, and the call is to be made again.  len: the datagram the send
 * tried (0 for a read), to tell a smaller path MTU from a datagram too big. */
bool udp_sock_error(struct udpl *u, int e, uint32_t len);

#endif
