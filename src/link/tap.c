/* The tap:IF link (tap.h): Ethernet frames to and from a Linux TAP device.
 *
 * Opening.  /dev/net/tun (non-blocking) with IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR: the
 * interface is made if it does not exist, and then brought up (we made it:
 * it is ours, and the kernel deletes it when the descriptor closes), or
 * attached to if it does (then it must be up: it is someone else's to
 * configure, and it stays when we close).  TUNSETOFFLOAD lets the kernel
 * hand over partial checksums and TCPv4 segments of up to 64 KiB with their
 * metadata in the virtio-net header that starts every read and write.
 *
 * Buffers.  BUFS buffers of 64 KiB + headroom in one allocation (pages are
 * touched only as frames use them); buffer id = index.  state[] says who
 * has each: at home (free list), lent (to the application: tx_alloc or
 * rx_burst), queued to transmit, or the source of a segmentation under way.
 * tx_alloc leaves RX_RESERVE buffers for receiving.
 *
 * Receive.  rx_burst first writes out queued frames, then lends the
 * segments of a GSO frame being cut (when it is longer than rx_max_frame),
 * then reads frames, one readv each (the header into hdr[], the frame into
 * a buffer), until max or the device is empty: a partial checksum is
 * completed, a GSO frame lent whole or cut (tap_gso.c).
 *
 * Transmit.  tx_commit checks the frame, decides its virtio-net header
 * (tap_vnet_tx: GSO for a large IPv4 TCP frame) and queues it; tx_flush
 * (also rx_burst, wait, close) writes the queue, one writev per frame.  A
 * write never waits on the medium: the kernel takes or drops.  tx_alloc
 * says -EAGAIN while TXQ frames are queued: the sender flushes.
 *
 * Straight in and out (tap_link_read_into, tap_link_write_from: for `jet
 * lan tap`).  One readv into the caller's buffer, what goes past its cap
 * into a buffer of ours at the same offset: a frame that did not fit is
 * made whole there with one copy and goes the rx_burst way (pend_buf, or
 * cut); one writev from the caller's memory, after the queue.
 *
 * Waiting.  poll() on the device descriptor, which is level-triggered:
 * arm only looks whether a frame is there. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "link/link_fd.h"
#include "link/tap.h"
#include "link/tap_gso.h"

enum {
    BUFS = 256,
    HEADROOM = 64,
    MAX_FRAME = 14 + 65535,
    STRIDE = (HEADROOM + MAX_FRAME + 63) & ~63,
    BURST = 32,
    TXQ = 64,
    RX_RESERVE = 32, /* buffers tx_alloc leaves for receiving */
    MIN_MTU = 576,
    VNET = sizeof(struct virtio_net_hdr),
};

enum { B_FREE, B_LENT, B_QUEUED, B_SEG, B_PEND };

struct txe {
    uint32_t buf, len;
    struct virtio_net_hdr h;
};

struct tap {
    struct jet_link base;
    int fd, ifindex;
    bool created;
    char ifname[IFNAMSIZ];
    uint32_t mtu, rx_max;
    uint32_t set_mtu; /* tap_opts.mtu */
    uint8_t *mem;
    uint32_t nfree;
    uint32_t free[BUFS];
    uint8_t state[BUFS];
    struct txe q[TXQ];
    uint32_t qn;
    /* a received GSO frame being cut into segments of at most rx_max */
    int32_t seg_buf; /* -1: none */
    uint32_t seg_off, seg_mss;
    struct tap_tcp4 seg;
    /* a frame tap_link_read_into read that rx_burst lends next (it did not
       fit the caller's buffer) */
    int32_t pend_buf; /* -1: none */
    uint32_t pend_len;
    struct jet_link_stats st;
};

static const struct jet_link_ops tap_ops;
static int tap_flush(struct jet_link *l);

static struct tap *T(struct jet_link *l)
{
    return (struct tap *)l;
}

static uint8_t *buf_data(const struct tap *t, uint32_t i)
{
    return t->mem + (size_t)i * STRIDE + HEADROOM;
}

static bool held(const struct tap *t, const struct jet_frame *f)
{
    return f->buf < BUFS && f->data == buf_data(t, f->buf) && t->state[f->buf] == B_LENT;
}

static void put_buf(struct tap *t, uint32_t i)
{
    t->state[i] = B_FREE;
    t->free[t->nfree++] = i;
}

static int32_t get_buf(struct tap *t)
{
    if (!t->nfree)
        return -1;
    return (int32_t)t->free[--t->nfree];
}

/* ---- transmit ---- */

static int tap_tx_alloc(struct jet_link *l, struct jet_frame *f)
{
    struct tap *t = T(l);
    if (t->qn == TXQ)
        return jet_err_set(&l->err, -EAGAIN, "transmit queue full (%d frames): flush", TXQ);
    if (t->nfree <= RX_RESERVE)
        return jet_err_set(&l->err, -ENOBUFS, "all %d transmit buffers are lent",
                           BUFS - RX_RESERVE);
    uint32_t i = (uint32_t)get_buf(t);
    t->state[i] = B_LENT;
    *f = (struct jet_frame){.data = buf_data(t, i), .cap = MAX_FRAME, .buf = i,
                            .encap = JET_ENCAP_ETH};
    return 0;
}

static void tap_tx_abort(struct jet_link *l, struct jet_frame *f)
{
    struct tap *t = T(l);
    if (held(t, f))
        put_buf(t, f->buf);
}

/* Checks an Ethernet frame to send and decides its virtio-net header (which
 * may rewrite its TCP checksum field: tap_vnet_tx).  0, or an error set. */
static int tx_header(struct tap *t, uint8_t *d, uint32_t len, uint32_t gso,
                     struct virtio_net_hdr *h)
{
    if (len < 14 || len > MAX_FRAME)
        return jet_err_set(&t->base.err, len < 14 ? -EINVAL : -EMSGSIZE,
                           "Ethernet frame of %u bytes", len);
    int rc = tap_vnet_tx_gso(d, len, t->mtu, gso, h);
    if (rc == -EMSGSIZE)
        return jet_err_set(&t->base.err, rc,
                           "frame of %u bytes exceeds the MTU of %s (%u) and is not IPv4 TCP",
                           len, t->ifname, t->mtu);
    if (rc)
        return jet_err_set(&t->base.err, rc, "malformed IPv4 TCP frame of %u bytes", len);
    return 0;
}

/* One writev of a frame with its header: 0, -EAGAIN (the device takes
 * nothing now: try again), or another error, set and counted as dropped. */
static int write_frame(struct tap *t, const struct virtio_net_hdr *h, const uint8_t *d,
                       uint32_t len)
{
    struct iovec iov[2] = {{(void *)h, VNET}, {(void *)d, len}};
    if (writev(t->fd, iov, 2) >= 0) {
        t->st.tx_frames++;
        t->st.tx_bytes += len;
        return 0;
    }
    int e = errno;
    if (e == EAGAIN || e == EINTR)
        return -EAGAIN;
    t->st.tx_dropped++;
    return jet_err_set(&t->base.err, -e, "write to %s: %s%s", t->ifname, strerror(e),
                       e == EIO ? " (interface down?)" : "");
}

static int tap_tx_commit(struct jet_link *l, struct jet_frame *f)
{
    struct tap *t = T(l);
    if (!held(t, f))
        return jet_err_set(&l->err, -EINVAL, "frame does not belong to this link");
    int rc;
    struct txe *e = &t->q[t->qn];
    if (f->encap != JET_ENCAP_ETH) {
        rc = jet_err_set(&l->err, -EINVAL, "%s carries only Ethernet frames", l->name);
        goto drop;
    }
    if (t->qn == TXQ) { /* committed more than alloc allowed: make room */
        tap_flush(l);
        e = &t->q[t->qn];
        if (t->qn == TXQ) {
            rc = jet_err_set(&l->err, -ENOBUFS, "transmit queue full (allocate before committing)");
            goto drop;
        }
    }
    if ((rc = tx_header(t, f->data, f->len, f->gso_size, &e->h)))
        goto drop;
    e->buf = f->buf;
    e->len = f->len;
    t->state[f->buf] = B_QUEUED;
    t->qn++;
    return 0;
drop:
    t->st.tx_dropped++;
    put_buf(t, f->buf);
    return rc;
}

static int tap_flush(struct jet_link *l)
{
    struct tap *t = T(l);
    uint32_t j = 0;
    int rc = 0;
    for (; j < t->qn; j++) {
        struct txe *e = &t->q[j];
        int w = write_frame(t, &e->h, buf_data(t, e->buf), e->len);
        if (w == -EAGAIN)
            break; /* try again later */
        if (w)
            rc = w;
        put_buf(t, e->buf);
    }
    if (j) {
        memmove(t->q, t->q + j, (t->qn - j) * sizeof t->q[0]);
        t->qn -= j;
    }
    return rc == -EIO || rc == -EBADFD ? rc : 0;
}

static int tap_tx_room(struct jet_link *l)
{
    return TXQ - (int)T(l)->qn;
}

/* ---- receive ---- */

/* Lends segments of the frame being cut while f[] and buffers last. */
static unsigned cut(struct tap *t, struct jet_frame *f, unsigned max)
{
    unsigned n = 0;
    const uint8_t *src = buf_data(t, (uint32_t)t->seg_buf);
    while (n < max && t->seg_off < t->seg.payload) {
        int32_t b = get_buf(t);
        if (b < 0)
            break;
        uint8_t *d = buf_data(t, (uint32_t)b);
        uint32_t len = tap_tcp4_seg(src, &t->seg, t->seg_off, t->seg_mss, d);
        t->seg_off += t->seg_mss;
        t->state[b] = B_LENT;
        f[n++] = (struct jet_frame){.data = d, .len = len, .cap = MAX_FRAME, .buf = (uint32_t)b,
                                    .encap = JET_ENCAP_ETH};
        t->st.rx_frames++;
        t->st.rx_bytes += len;
    }
    if (t->seg_off >= t->seg.payload) {
        put_buf(t, (uint32_t)t->seg_buf);
        t->seg_buf = -1;
    }
    return n;
}

/* A frame just read into buffer b with header h: 1 to lend it, 0 when it
 * is being cut (b taken as the source), -1 to drop it. */
static int rx_fix(struct tap *t, uint32_t b, uint32_t len, const struct virtio_net_hdr *h)
{
    uint8_t *d = buf_data(t, b);
    if (t->rx_max && len > t->rx_max) {
        /* only a TCPv4 GSO frame is cut: any other is dropped, counted */
        if ((h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_TCPV4 ||
            tap_tcp4_parse(d, len, &t->seg))
            return -1;
        t->seg_buf = (int32_t)b;
        t->seg_off = 0;
        t->seg_mss = t->rx_max - t->seg.hdr_len;
        t->state[b] = B_SEG;
        return 0; /* every segment's checksums are computed afresh */
    }
    if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
        tap_csum_complete(d, len, h->csum_start, h->csum_offset))
        return -1;
    return 1;
}

static int tap_rx_burst(struct jet_link *l, struct jet_frame *f, unsigned max)
{
    struct tap *t = T(l);
    if (t->qn)
        tap_flush(l);
    unsigned n = 0;
    if (t->pend_buf >= 0 && max) {
        uint32_t b = (uint32_t)t->pend_buf;
        t->pend_buf = -1;
        t->state[b] = B_LENT;
        f[n++] = (struct jet_frame){.data = buf_data(t, b), .len = t->pend_len, .cap = MAX_FRAME,
                                    .buf = b, .encap = JET_ENCAP_ETH};
        t->st.rx_frames++;
        t->st.rx_bytes += t->pend_len;
    }
    if (t->seg_buf >= 0)
        n += cut(t, f + n, max - n);
    while (n < max && t->seg_buf < 0) {
        int32_t b = get_buf(t);
        if (b < 0)
            break;
        struct virtio_net_hdr h;
        struct iovec iov[2] = {{&h, VNET}, {buf_data(t, (uint32_t)b), MAX_FRAME}};
        ssize_t r = readv(t->fd, iov, 2);
        if (r < 0) {
            int e = errno;
            put_buf(t, (uint32_t)b);
            if (e == EAGAIN || e == EINTR)
                break;
            if (n)
                break; /* reported on the next call */
            return jet_err_set(&l->err, -e, "read from %s: %s", t->ifname, strerror(e));
        }
        if (r < (ssize_t)VNET + 14) {
            put_buf(t, (uint32_t)b);
            t->st.rx_dropped++;
            continue;
        }
        uint32_t len = (uint32_t)r - VNET;
        int k = rx_fix(t, (uint32_t)b, len, &h);
        if (k < 0) {
            put_buf(t, (uint32_t)b);
            t->st.rx_dropped++;
            continue;
        }
        if (k == 0) {
            n += cut(t, f + n, max - n);
            continue;
        }
        t->state[b] = B_LENT;
        f[n++] = (struct jet_frame){.data = buf_data(t, (uint32_t)b), .len = len, .cap = MAX_FRAME,
                                    .buf = (uint32_t)b, .encap = JET_ENCAP_ETH};
        t->st.rx_frames++;
        t->st.rx_bytes += len;
    }
    return (int)n;
}

static void tap_rx_release(struct jet_link *l, struct jet_frame *f, unsigned n)
{
    struct tap *t = T(l);
    for (unsigned i = 0; i < n; i++)
        if (held(t, &f[i]))
            put_buf(t, f[i].buf);
}

/* ---- waiting ---- */

static int tap_wait(struct jet_link *l, int64_t timeout_ns)
{
    struct tap *t = T(l);
    if (t->qn)
        tap_flush(l);
    if (t->seg_buf >= 0 || t->pend_buf >= 0)
        return 0;
    return link_fd_wait(l, t->fd, t->qn, t->qn, timeout_ns); /* frames wait to go: soon */
}

static int tap_fd(struct jet_link *l)
{
    return T(l)->fd;
}

static int tap_arm(struct jet_link *l)
{
    struct tap *t = T(l);
    if (t->seg_buf >= 0 || t->pend_buf >= 0)
        return 1;
    return link_fd_ready(t->fd);
}

static int tap_stats(struct jet_link *l, struct jet_link_stats *out)
{
    *out = T(l)->st;
    return 0;
}

/* ---- open and close ---- */

static void tap_close(struct jet_link *l)
{
    struct tap *t = T(l);
    tap_flush(l);
    t->st.tx_dropped += t->qn; /* the device would not take them */
    close(t->fd); /* the kernel deletes an interface we made (not persistent) */
    free(t->mem);
    free(t);
}

/* The interface's flags, index and MTU through a socket's ioctls. */
static int if_query(struct tap *t, bool bring_up, struct jet_err *err)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return jet_err_set(err, -errno, "socket: %s", strerror(errno));
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, t->ifname);
    int rc = 0;
    if (ioctl(s, SIOCGIFINDEX, &r) < 0) {
        rc = jet_err_set(err, -errno, "tap %s: no index: %s", t->ifname, strerror(errno));
        goto out;
    }
    t->ifindex = r.ifr_ifindex;
    if (ioctl(s, SIOCGIFFLAGS, &r) < 0) {
        rc = jet_err_set(err, -errno, "tap %s: flags: %s", t->ifname, strerror(errno));
        goto out;
    }
    if (!(r.ifr_flags & IFF_UP)) {
        if (!bring_up) {
            rc = jet_err_set(err, -ENETDOWN, "interface %s is down (ip link set %s up)",
                             t->ifname, t->ifname);
            goto out;
        }
        r.ifr_flags |= IFF_UP;
        if (ioctl(s, SIOCSIFFLAGS, &r) < 0) {
            rc = jet_err_set(err, -errno, "tap %s: cannot bring it up: %s", t->ifname,
                             strerror(errno));
            goto out;
        }
    }
    if (t->set_mtu) {
        r.ifr_mtu = (int)t->set_mtu;
        if (ioctl(s, SIOCSIFMTU, &r) < 0) {
            rc = jet_err_set(err, -errno, "tap %s: cannot set MTU %u: %s", t->ifname, t->set_mtu,
                             strerror(errno));
            goto out;
        }
    }
    if (ioctl(s, SIOCGIFMTU, &r) < 0) {
        rc = jet_err_set(err, -errno, "tap %s: MTU: %s", t->ifname, strerror(errno));
        goto out;
    }
    t->mtu = (uint32_t)r.ifr_mtu;
    if (t->mtu < MIN_MTU || t->mtu > 65535)
        rc = jet_err_set(err, -EMSGSIZE, "interface %s has MTU %u, outside %d..65535 "
                         "(ip link set %s mtu 1500)", t->ifname, t->mtu, MIN_MTU, t->ifname);
out:
    close(s);
    return rc;
}

/* TUNSETIFF on the open device.  Not IFF_NAPI: it works, but each write
 * still goes through NAPI alone (nothing for GRO to merge: large TCP
 * frames already go as GSO), and measured no faster (docs/links.md). */
static int set_iff(struct tap *t, bool existed, struct jet_err *err)
{
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, t->ifname);
    r.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR);
    if (ioctl(t->fd, TUNSETIFF, &r) == 0)
        return 0;
    int e = errno;
    if (e == EPERM)
        return jet_err_set(err, -EPERM, "tap %s: %s a TAP device needs CAP_NET_ADMIN (run as "
                           "root, or setcap cap_net_admin+ep)", t->ifname,
                           existed ? "attaching to" : "creating");
    if (e == EBUSY)
        return jet_err_set(err, -EBUSY, "tap %s is attached by another process", t->ifname);
    if (e == EINVAL && existed)
        return jet_err_set(err, -EBUSY, "interface %s exists and is not a TAP device (or is "
                           "multi-queue)", t->ifname);
    return jet_err_set(err, -e, "tap %s: TUNSETIFF: %s", t->ifname, strerror(e));
}

int tap_link_open(const char *ifname, const struct tap_opts *o, struct jet_link **out,
                  struct jet_err *err)
{
    static const struct tap_opts none;
    if (!o)
        o = &none;
    size_t nl = ifname ? strlen(ifname) : 0;
    if (nl == 0 || nl >= IFNAMSIZ)
        return jet_err_set(err, -EINVAL, "tap: interface name must be 1 to %d characters",
                           IFNAMSIZ - 1);
    if (o->mtu && (o->mtu < MIN_MTU || o->mtu > 65521))
        return jet_err_set(err, -EINVAL, "tap %s: MTU %u outside %d..65521", ifname, o->mtu,
                           MIN_MTU);
    if (o->rx_max_frame && o->rx_max_frame < 14 + MIN_MTU)
        return jet_err_set(err, -EINVAL, "tap %s: rx_max_frame %u is under %d", ifname,
                           o->rx_max_frame, 14 + MIN_MTU);
    struct tap *t = calloc(1, sizeof *t);
    if (!t)
        return jet_err_set(err, -ENOMEM, "out of memory");
    memcpy(t->ifname, ifname, nl + 1);
    t->seg_buf = -1;
    t->pend_buf = -1;
    t->rx_max = o->rx_max_frame;
    t->set_mtu = o->mtu;
    int rc;
    bool existed = if_nametoindex(ifname) != 0;
    if (!existed && o->must_exist) {
        rc = jet_err_set(err, -ENODEV, "no interface %s (create it: ip tuntap add %s mode tap)",
                         ifname, ifname);
        goto fail;
    }
    t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (t->fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENODEV || e == ENXIO)
            rc = jet_err_set(err, -ENOENT, "tap %s: no /dev/net/tun (modprobe tun; or mknod "
                             "/dev/net/tun c 10 200)", ifname);
        else if (e == EACCES || e == EPERM)
            rc = jet_err_set(err, -EPERM, "tap %s: cannot open /dev/net/tun: %s (needs root or "
                             "CAP_NET_ADMIN)", ifname, strerror(e));
        else
            rc = jet_err_set(err, -e, "tap %s: /dev/net/tun: %s", ifname, strerror(e));
        goto fail_free;
    }
    if ((rc = set_iff(t, existed, err)))
        goto fail;
    t->created = !existed;
    int hs = VNET;
    if (ioctl(t->fd, TUNSETVNETHDRSZ, &hs) < 0) {
        rc = jet_err_set(err, -errno, "tap %s: TUNSETVNETHDRSZ: %s", ifname, strerror(errno));
        goto fail;
    }
    if (ioctl(t->fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN)) < 0) {
        rc = jet_err_set(err, -errno, "tap %s: TUNSETOFFLOAD: %s", ifname, strerror(errno));
        goto fail;
    }
    if ((rc = if_query(t, t->created, err)))
        goto fail;
    t->mem = aligned_alloc(64, (size_t)BUFS * STRIDE);
    if (!t->mem) {
        rc = jet_err_set(err, -ENOMEM, "tap %s: out of memory for %d buffers", ifname, BUFS);
        goto fail;
    }
    for (uint32_t i = 0; i < BUFS; i++)
        t->free[i] = BUFS - 1 - i; /* handed out from 0 up */
    t->nfree = BUFS;
    t->base.ops = &tap_ops;
    t->base.caps = (struct jet_link_caps){.addr = JET_LINK_NO_ADDR,
                                          .has_mac = true,
                                          .mtu = t->mtu,
                                          .max_frame = MAX_FRAME,
                                          .burst = BURST,
                                          .buffers = BUFS,
                                          .eth = true,
                                          .tso = true};
    if (o->has_mac) {
        memcpy(t->base.caps.mac, o->mac, 6);
    } else {
        if (getrandom(t->base.caps.mac, 6, 0) != 6) {
            uint64_t x = (uint64_t)(uintptr_t)t ^ (uint64_t)getpid() << 32;
            memcpy(t->base.caps.mac, &x, 6);
        }
        t->base.caps.mac[0] = (uint8_t)((t->base.caps.mac[0] & 0xfe) | 0x02);
    }
    snprintf(t->base.name, sizeof t->base.name, "tap:%s", ifname);
    *out = &t->base;
    return 0;
fail:
    close(t->fd);
fail_free:
    free(t);
    return rc;
}

/* ---- straight into and out of a caller's memory (tap.h) ---- */

int tap_link_read_into(struct jet_link *l, uint8_t *buf, uint32_t cap, uint32_t *len)
{
    struct tap *t = T(l);
    if (t->seg_buf >= 0 || t->pend_buf >= 0)
        return TAP_READ_BURST; /* frames read before go first */
    if (t->qn)
        tap_flush(l);
    if (cap > MAX_FRAME)
        cap = MAX_FRAME;
    if (t->rx_max && cap > t->rx_max)
        cap = t->rx_max; /* a longer frame is cut: rx_burst lends its segments */
    for (int tries = 0; tries < BURST; tries++) {
        /* What goes past cap lands in buffer b, at the same offset, so
         * that a frame too long for buf is whole in b after one copy. */
        int32_t b = get_buf(t);
        if (b < 0)
            return TAP_READ_BURST; /* every buffer lent: rx_burst tells */
        uint8_t *own = buf_data(t, (uint32_t)b);
        struct virtio_net_hdr h;
        struct iovec iov[3] = {{&h, VNET}, {buf, cap}, {own + cap, MAX_FRAME - cap}};
        ssize_t r = readv(t->fd, iov, cap < MAX_FRAME ? 3 : 2);
        if (r < 0) {
            int e = errno;
            put_buf(t, (uint32_t)b);
            if (e == EAGAIN || e == EINTR)
                return 0;
            return jet_err_set(&l->err, -e, "read from %s: %s", t->ifname, strerror(e));
        }
        uint32_t n = r < (ssize_t)VNET + 14 ? 0 : (uint32_t)r - VNET;
        if (n > cap) {
            memcpy(own, buf, cap);
            int k = rx_fix(t, (uint32_t)b, n, &h);
            if (k > 0) {
                t->pend_buf = b;
                t->pend_len = n;
                t->state[b] = B_PEND;
            }
            if (k >= 0)
                return TAP_READ_BURST;
        } else {
            put_buf(t, (uint32_t)b);
            b = -1;
            if (n && (!(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) ||
                      !tap_csum_complete(buf, n, h.csum_start, h.csum_offset))) {
                t->st.rx_frames++;
                t->st.rx_bytes += n;
                *len = n;
                return 1;
            }
        }
        if (b >= 0)
            put_buf(t, (uint32_t)b);
        t->st.rx_dropped++; /* too short, or malformed: the next one */
    }
    return 0;
}

int tap_link_write_from(struct jet_link *l, uint8_t *data, uint32_t len)
{
    return tap_link_write_from_gso(l, data, len, 0);
}

int tap_link_write_from_gso(struct jet_link *l, uint8_t *data, uint32_t len, uint32_t gso)
{
    struct tap *t = T(l);
    if (t->qn && (tap_flush(l), t->qn))
        return -EAGAIN; /* frames committed before go first */
    struct virtio_net_hdr h;
    int rc = tx_header(t, data, len, gso, &h);
    if (rc) {
        t->st.tx_dropped++;
        return rc;
    }
    return write_frame(t, &h, data, len);
}

int tap_link_ifindex(const struct jet_link *l)
{
    return ((const struct tap *)l)->ifindex;
}

static const struct jet_link_ops tap_ops = {
    .kind = "tap",
    .rx_burst = tap_rx_burst,
    .rx_release = tap_rx_release,
    .tx_alloc = tap_tx_alloc,
    .tx_abort = tap_tx_abort,
    .tx_commit = tap_tx_commit,
    .tx_flush = tap_flush,
    .tx_room = tap_tx_room,
    .wait = tap_wait,
    .fd = tap_fd,
    .arm = tap_arm,
    .stats = tap_stats,
    .close = tap_close,
};
