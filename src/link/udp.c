/* The udp:HOST:PORT[,bind=[ADDR:]PORT] link (udp.h, docs/link-udp.md):
 * Jetstream frames inside UDP between two hosts, point to point.
 *
 * Opening.  The peer is resolved (getaddrinfo: IPv4 or IPv6), one UDP socket
 * is bound to the bind option (default: any address, an ephemeral port) and
 * connected to the peer, so every datagram goes there and only the peer's
 * are read.  IP_MTU_DISCOVER = DO: datagrams are never fragmented; the
 * largest is the path MTU (IP_MTU, read after connect) less the IP and UDP
 * headers.  UDP_GRO is asked for and UDP_SEGMENT looked for (udp_open.c).
 *
 * Datagrams (udp_wire.c): a native frame as it is, or 80 00 and an Ethernet
 * frame; one frame per datagram on the wire.
 *
 * Buffers.  SLABS slabs of SLAB bytes (one mapping; pages touched as they
 * are used): a received datagram, or a coalesced train of them (GRO), is
 * read into one slab; a frame to send is written into one.  Buffer ids are
 * descriptors (DESCS of them), each a frame somewhere in a slab: a GRO train
 * lends several frames of one slab, each with its own id, without copying.
 * A slab counts its holders (descriptors, and the pending train being
 * lent) and goes home with the last.  Transmit may hold TX_SLABS of them,
 * receive the rest, so that neither starves the other.
 *
 * Receive.  rx_burst writes out queued frames, lends the rest of a train
 * read before (pend[]), then reads up to RXB datagrams with one recvmmsg,
 * each into a slab, and lends their frames in order.
 *
 * Transmit.  tx_commit checks the frame and queues it (TXQ); tx_flush (also
 * rx_burst, wait, close) writes the queue with sendmmsg: runs of frames of
 * one datagram length (the last may be shorter) go as one UDP_SEGMENT train
 * when GSO is on, each frame a datagram on the wire; an Ethernet frame's
 * shim is its own iovec, so nothing is written outside a frame.  tx_alloc
 * says -EAGAIN while TXQ frames wait: the sender flushes.
 *
 * Errors the kernel reports on the socket (an ICMP port unreachable from a
 * peer not listening yet, a smaller path MTU) come back from the next send
 * or read: counted and got over, never fatal. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "jet/frame.h"
#include "link/link_fd.h"
#include "link/udp_impl.h"

static const uint8_t shim[UDP_SHIM_LEN] = {UDP_SHIM0, 0};

static struct udpl *U(struct jet_link *l)
{
    return (struct udpl *)l;
}

static uint8_t *slab_data(const struct udpl *u, uint32_t s)
{
    return u->mem + (size_t)s * SLAB;
}

static uint8_t *desc_data(const struct udpl *u, uint32_t d)
{
    return slab_data(u, u->desc[d].slab) + u->desc[d].off;
}

static bool held(const struct udpl *u, const struct jet_frame *f)
{
    return f->buf < DESCS && u->desc[f->buf].state == D_LENT && f->data == desc_data(u, f->buf);
}

static void slab_put(struct udpl *u, uint32_t s)
{
    if (--u->refs[s] == 0) {
        u->held[u->side[s]]--;
        u->sfree[u->nsfree++] = s;
    }
}

/* Takes the top free slab for one side (the caller checked the budget). */
static uint32_t slab_take(struct udpl *u, int side)
{
    uint32_t s = u->sfree[--u->nsfree];
    u->side[s] = (uint8_t)side;
    u->held[side]++;
    return s;
}

/* A descriptor for bytes off.. of slab s, which gains a holder. */
static uint32_t desc_get(struct udpl *u, uint32_t s, uint32_t off)
{
    uint32_t d = u->dfree[--u->ndfree];
    u->desc[d] = (struct udesc){.slab = s, .off = off, .state = D_LENT};
    u->refs[s]++;
    return d;
}

static void desc_put(struct udpl *u, uint32_t d)
{
    u->desc[d].state = D_FREE;
    u->dfree[u->ndfree++] = d;
    slab_put(u, u->desc[d].slab);
}

/* ---- transmit ---- */

static int udp_tx_alloc(struct jet_link *l, struct jet_frame *f)
{
    struct udpl *u = U(l);
    if (u->qn == TXQ)
        return jet_err_set(&l->err, -EAGAIN, "transmit queue full (%d frames): flush", TXQ);
    if (u->held[0] >= TX_SLABS || !u->nsfree || !u->ndfree)
        return jet_err_set(&l->err, -ENOBUFS, "all %d transmit buffers are lent or queued",
                           TX_SLABS);
    uint32_t s = slab_take(u, 0);
    uint32_t d = desc_get(u, s, 0);
    *f = (struct jet_frame){.data = slab_data(u, s), .cap = u->max_frame, .buf = d,
                            .encap = JET_ENCAP_NATIVE};
    return 0;
}

static void udp_tx_abort(struct jet_link *l, struct jet_frame *f)
{
    struct udpl *u = U(l);
    if (held(u, f))
        desc_put(u, f->buf);
}

static int udp_tx_commit(struct jet_link *l, struct jet_frame *f)
{
    struct udpl *u = U(l);
    if (!held(u, f))
        return jet_err_set(&l->err, -EINVAL, "frame does not belong to this link");
    int rc;
    uint32_t len = f->len;
    if (f->encap == JET_ENCAP_NATIVE) {
        if (len < JET_FRAME_HDR_LEN) {
            rc = jet_err_set(&l->err, -EINVAL, "native frame of %u bytes", len);
            goto drop;
        }
        if (len > u->dgram_max) {
            rc = jet_err_set(&l->err, -EMSGSIZE, "native frame of %u bytes exceeds %u (%s: "
                             "path MTU %u)", len, u->dgram_max, l->name, u->pmtu);
            goto drop;
        }
        if (f->data[0] != JET_FRAME_VERSION) {
            rc = jet_err_set(&l->err, -EINVAL, "native frame of version %u: %s carries "
                             "version %d", f->data[0], l->name, JET_FRAME_VERSION);
            goto drop;
        }
    } else if (f->encap == JET_ENCAP_ETH) {
        if (len < UDP_ETH_MIN) {
            rc = jet_err_set(&l->err, -EINVAL, "Ethernet frame of %u bytes", len);
            goto drop;
        }
        /* As on Ethernet: eth_mtu bytes of payload, behind 14 bytes of header
         * or 18 with a VLAN tag */
        bool tagged = len >= 14 && ((f->data[12] == 0x81 && f->data[13] == 0x00) ||
                                    (f->data[12] == 0x88 && f->data[13] == 0xa8));
        uint32_t max = l->caps.eth_mtu + (tagged ? 18 : 14);
        if (len > max) {
            rc = jet_err_set(&l->err, -EMSGSIZE, "Ethernet frame of %u bytes exceeds %u (%s: "
                             "path MTU %u)", len, max, l->name, u->pmtu);
            goto drop;
        }
    } else {
        rc = jet_err_set(&l->err, -EINVAL, "unknown encapsulation %u", f->encap);
        goto drop;
    }
    if (u->qn == TXQ) { /* committed more than alloc allowed: make room */
        udp_flush(l);
        if (u->qn == TXQ) {
            rc = jet_err_set(&l->err, -ENOBUFS, "transmit queue full (allocate before "
                             "committing)");
            goto drop;
        }
    }
    u->q[u->qn++] = (struct utxe){.desc = f->buf, .len = len, .eth = f->encap == JET_ENCAP_ETH};
    u->desc[f->buf].state = D_QUEUED;
    return 0;
drop:
    u->st.tx_dropped++;
    desc_put(u, f->buf);
    return rc;
}

static uint32_t dlen(const struct utxe *e)
{
    return e->len + (e->eth ? UDP_SHIM_LEN : 0);
}

/* Builds up to MSGS messages from q[from..qn): into msg[], with the frames
 * each takes in nfr[].  Returns the message count. */
static unsigned build(struct udpl *u, uint32_t from, uint32_t *nfr)
{
    unsigned m = 0, v = 0;
    uint32_t j = from;
    while (j < u->qn && m < MSGS) {
        uint32_t start = j, seg = dlen(&u->q[j]), tot = seg;
        struct iovec *iov = &u->tiov[v];
        j++;
        if (u->gso) {
            while (j < u->qn && j - start < GSO_SEGS) {
                uint32_t l = dlen(&u->q[j]);
                if (l > seg || tot + l > u->gso_bytes)
                    break;
                tot += l;
                j++;
                if (l < seg)
                    break; /* a shorter one ends the train */
            }
        }
        for (uint32_t k = start; k < j; k++) {
            const struct utxe *e = &u->q[k];
            if (e->eth)
                u->tiov[v++] = (struct iovec){(void *)shim, UDP_SHIM_LEN};
            u->tiov[v++] = (struct iovec){desc_data(u, e->desc), e->len};
        }
        struct msghdr *h = &u->tmsg[m].msg_hdr;
        *h = (struct msghdr){.msg_iov = iov, .msg_iovlen = (size_t)(&u->tiov[v] - iov)};
        if (j - start > 1) {
            struct cmsghdr *c = (struct cmsghdr *)u->tctl[m];
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t g = (uint16_t)seg;
            memcpy(CMSG_DATA(c), &g, sizeof g);
            h->msg_control = c;
            h->msg_controllen = CMSG_SPACE(sizeof(uint16_t));
        }
        nfr[m++] = j - start;
    }
    return m;
}

/* Frames q[from..from+n) left (sent: counted; or dropped): given back. */
static void done(struct udpl *u, uint32_t from, uint32_t n, bool sent)
{
    for (uint32_t k = from; k < from + n; k++) {
        if (sent) {
            u->st.tx_frames++;
            u->st.tx_bytes += u->q[k].len;
        } else {
            u->st.tx_dropped++;
        }
        desc_put(u, u->q[k].desc);
    }
}

int udp_flush(struct jet_link *l)
{
    struct udpl *u = U(l);
    uint32_t i = 0, nfr[MSGS];
    int rc = 0, errs = 0;
    while (i < u->qn) {
        unsigned m = build(u, i, nfr);
        int r = sendmmsg(u->fd, u->tmsg, m, MSG_DONTWAIT);
        u->info.syscalls_tx++;
        if (r == 0)
            break; /* (not seen: m > 0) */
        if (r > 0) {
            for (int k = 0; k < r; k++) {
                done(u, i, nfr[k], true);
                i += nfr[k];
                if (nfr[k] > 1)
                    u->info.gso_sends++;
                else
                    u->info.sends++;
            }
            continue;
        }
        int e = errno;
        if (e == EAGAIN || e == EINTR || e == ENOBUFS)
            break; /* the socket (or the device's queue) takes nothing now: later */
        if (++errs > 8)
            break; /* errors again and again: try at the next flush */
        if (udp_sock_error(u, e, dlen(&u->q[i])))
            continue; /* reported for an earlier datagram: this one was not sent */
        if (nfr[0] > 1 && (e == EINVAL || e == EIO || e == EMSGSIZE)) {
            u->gso = false; /* the path cannot take this train: one by one from now on */
            continue;
        }
        rc = jet_err_set(&l->err, -e, "send to %s: %s", l->name, strerror(e));
        done(u, i, nfr[0], false);
        i += nfr[0];
    }
    if (i) {
        memmove(u->q, u->q + i, (u->qn - i) * sizeof u->q[0]);
        u->qn -= i;
    }
    return rc == -EBADF || rc == -ENOTSOCK ? rc : 0;
}

static int udp_tx_room(struct jet_link *l)
{
    return TXQ - (int)U(l)->qn;
}

/* ---- receive ---- */

/* Lends frames of the trains read before, in order, while f[] and ids last. */
static unsigned lend(struct udpl *u, struct jet_frame *f, unsigned max)
{
    unsigned n = 0;
    while (u->pn && n < max && u->ndfree) {
        struct upend *p = &u->pend[u->ph];
        const uint8_t *d = slab_data(u, p->slab);
        struct udp_piece pc[BURST];
        unsigned want = max - n;
        if (want > BURST)
            want = BURST;
        if (want > u->ndfree)
            want = u->ndfree;
        unsigned k = udp_cut(d, p->len, p->seg, &p->off, pc, want, &u->st.rx_dropped);
        for (unsigned i = 0; i < k; i++) {
            uint32_t id = desc_get(u, p->slab, pc[i].off);
            f[n++] = (struct jet_frame){.data = (uint8_t *)d + pc[i].off, .len = pc[i].len,
                                        .cap = pc[i].len, .buf = id, .encap = pc[i].encap};
            u->st.rx_frames++;
            u->st.rx_bytes += pc[i].len;
        }
        if (p->off >= p->len) { /* done with it: its slab loses the train's hold */
            slab_put(u, p->slab);
            u->ph = (u->ph + 1) % RXB;
            u->pn--;
        }
    }
    return n;
}

/* One recvmmsg into free slabs: the datagrams read become pending trains.
 * The count, 0 when nothing was there, or a negative errno. */
static int read_some(struct udpl *u)
{
    unsigned k = RXB;
    if (k > RX_SLABS - u->held[1])
        k = RX_SLABS - u->held[1];
    if (k > u->nsfree)
        k = u->nsfree;
    if (!k)
        return 0; /* receive's slabs all held: the application gives some back first */
    for (unsigned i = 0; i < k; i++) { /* the top k free slabs, taken below */
        uint32_t s = u->sfree[u->nsfree - 1 - i];
        u->riov[i] = (struct iovec){slab_data(u, s), SLAB};
        u->rmsg[i].msg_hdr = (struct msghdr){.msg_iov = &u->riov[i], .msg_iovlen = 1,
                                             .msg_control = u->rctl[i],
                                             .msg_controllen = sizeof u->rctl[i]};
    }
    int r;
    for (int tries = 0;; tries++) {
        r = recvmmsg(u->fd, u->rmsg, k, MSG_DONTWAIT, NULL);
        u->info.syscalls_rx++;
        if (r >= 0)
            break;
        int e = errno;
        if (e == EAGAIN || e == EINTR)
            return 0;
        if (tries < 8 && udp_sock_error(u, e, 0))
            continue;
        return jet_err_set(&u->base.err, -e, "read from %s: %s", u->base.name, strerror(e));
    }
    uint32_t trunc[RXB];
    unsigned ntrunc = 0;
    for (int i = 0; i < r; i++) {
        uint32_t s = slab_take(u, 1); /* datagram i's: the free list's top, in order */
        struct msghdr *h = &u->rmsg[i].msg_hdr;
        uint32_t len = u->rmsg[i].msg_len, seg = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
            if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
                c->cmsg_len >= CMSG_LEN(sizeof(int))) {
                int g;
                memcpy(&g, CMSG_DATA(c), sizeof g);
                seg = g > 0 ? (uint32_t)g : 0;
            } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL &&
                       c->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
                uint32_t drops;
                memcpy(&drops, CMSG_DATA(c), sizeof drops);
                u->st.rx_dropped += (uint32_t)(drops - u->kdrops);
                u->info.kernel_drops += (uint32_t)(drops - u->kdrops);
                u->kdrops = drops;
            }
        }
        if (h->msg_flags & MSG_TRUNC) { /* longer than a slab: not ours */
            u->st.rx_dropped++;
            u->refs[s] = 1;
            trunc[ntrunc++] = s; /* back once the others are taken */
            continue;
        }
        if (seg && seg < len)
            u->info.gro_reads++;
        else
            u->info.reads++;
        u->refs[s] = 1; /* the train's hold */
        uint32_t t = (u->ph + u->pn) % RXB;
        u->pend[t] = (struct upend){.slab = s, .len = len, .seg = seg};
        u->pn++;
    }
    for (unsigned i = 0; i < ntrunc; i++)
        slab_put(u, trunc[i]);
    return r;
}

static int udp_rx_burst(struct jet_link *l, struct jet_frame *f, unsigned max)
{
    struct udpl *u = U(l);
    if (u->qn)
        udp_flush(l);
    unsigned n = lend(u, f, max);
    while (n < max && !u->pn) {
        int r = read_some(u);
        if (r < 0)
            return n ? (int)n : r;
        if (r == 0)
            break;
        n += lend(u, f + n, max - n);
        if (r < RXB && !u->pn)
            break; /* the socket is empty */
    }
    return (int)n;
}

static void udp_rx_release(struct jet_link *l, struct jet_frame *f, unsigned n)
{
    struct udpl *u = U(l);
    for (unsigned i = 0; i < n; i++)
        if (held(u, &f[i]))
            desc_put(u, f[i].buf);
}

/* ---- waiting ---- */

static int udp_wait(struct jet_link *l, int64_t timeout_ns)
{
    struct udpl *u = U(l);
    if (u->qn)
        udp_flush(l);
    if (u->pn)
        return 0;
    /* frames wait to go (ENOBUFS does not show in poll): look again soon */
    return link_fd_wait(l, u->fd, u->qn, u->qn, timeout_ns);
}

static int udp_fd(struct jet_link *l)
{
    return U(l)->fd;
}

static int udp_arm(struct jet_link *l)
{
    struct udpl *u = U(l);
    if (u->pn)
        return 1;
    return link_fd_ready(u->fd);
}

static int udp_stats(struct jet_link *l, struct jet_link_stats *out)
{
    *out = U(l)->st;
    return 0;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void udp_close(struct jet_link *l)
{
    struct udpl *u = U(l);
    uint64_t until = mono_ns() + 200000000u; /* 200 ms for the queue to leave */
    while (u->qn) {
        udp_flush(l);
        if (!u->qn || mono_ns() > until)
            break;
        struct pollfd p = {.fd = u->fd, .events = POLLOUT};
        poll(&p, 1, 5);
    }
    done(u, 0, u->qn, false);
    close(u->fd);
    munmap(u->mem, (size_t)SLABS * SLAB);
    free(u);
}

void udp_link_info(const struct jet_link *l, struct udp_info *out)
{
    const struct udpl *u = (const struct udpl *)l;
    *out = u->info;
    out->gso = u->gso;
    out->gro = u->gro;
    out->pmtu = u->pmtu;
    out->dgram_max = u->dgram_max;
}

const struct jet_link_ops udp_ops = {
    .kind = "udp",
    .rx_burst = udp_rx_burst,
    .rx_release = udp_rx_release,
    .tx_alloc = udp_tx_alloc,
    .tx_abort = udp_tx_abort,
    .tx_commit = udp_tx_commit,
    .tx_flush = udp_flush,
    .tx_room = udp_tx_room,
    .wait = udp_wait,
    .fd = udp_fd,
    .arm = udp_arm,
    .stats = udp_stats,
    .close = udp_close,
};

/* The buffers and free lists of a new link (the socket is opened apart). */
int udp_mem_init(struct udpl *u, struct jet_err *err)
{
    u->mem = mmap(NULL, (size_t)SLABS * SLAB, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (u->mem == MAP_FAILED) {
        u->mem = NULL;
        return jet_err_set(err, -ENOMEM, "out of memory for %d buffers of %d bytes", SLABS,
                           SLAB);
    }
    for (uint32_t i = 0; i < SLABS; i++)
        u->sfree[i] = SLABS - 1 - i; /* handed out from 0 up */
    u->nsfree = SLABS;
    for (uint32_t i = 0; i < DESCS; i++)
        u->dfree[i] = DESCS - 1 - i;
    u->ndfree = DESCS;
    return 0;
}
