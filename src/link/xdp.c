/* The xdp:IF[@Q] link's data path: AF_XDP rings through libxdp's xsk API
 * (opening, closing and flows: xdp_open.c; the steering program:
 * xdp_prog.c; the buffers' layout: xdp_impl.h).
 *
 * Receive.  rx_burst pushes queued frames out, peeks the rx ring, checks
 * each descriptor (frame index, offset and length inside the frame, the
 * frame the kernel's), gathers a multi-buffer frame's descriptors (each but
 * the last says XDP_PKT_CONTD) into a big buffer, classifies the frame
 * (ethnat_rx: native, Ethernet, or for another station and given back),
 * lends it, releases the ring entries, and tops the fill ring up.
 *
 * Transmit.  tx_commit checks the frame and writes its descriptors into the
 * tx ring (reserved, not yet visible to the kernel): one per UMEM frame it
 * spans, XDP_PKT_CONTD on all but the last; a frame lent from a big buffer
 * (received, forwarded as it is) is copied into a transmit slot first.
 * tx_flush (also rx_burst, wait, close) submits them, kicks the kernel with
 * sendto() only when the ring's flags ask (need-wakeup), and reaps the
 * completion ring, which tx_alloc reaps too.  tx_alloc says -EAGAIN while
 * TXQ frames wait for a flush: a sender that never flushes is pushed back,
 * not lost.
 *
 * No lock, no clock, no system call per frame: a sendto() per flush that
 * needs one (in copy mode, one per 32 frames the kernel takes). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "jet/frame.h"
#include "link/link_fd.h"
#include "link/xdp_impl.h"

static struct xdp *X(struct jet_link *l)
{
    return (struct xdp *)l;
}

static bool held(const struct xdp *x, const struct jet_frame *f)
{
    return f->buf < NBUF && x->state[f->buf] == B_LENT &&
           f->data == xdp_buf(x, f->buf) + x->off[f->buf];
}

/* Puts buffer b back on its free list. */
static void put_free(struct xdp *x, uint32_t b)
{
    x->state[b] = B_FREE;
    if (b < RXF)
        x->rx_free[x->rx_nfree++] = b;
    else if (b < NFRAMES)
        x->tx_free[x->tx_nfree++] = b;
    else
        x->big_free[x->big_nfree++] = b;
}

/* ---- rings ---- */

/* Gives the kernel every free receive frame. */
void xdp_refill(struct xdp *x)
{
    uint32_t idx, n = x->rx_nfree;
    if (!n || !(n = xsk_ring_prod__reserve(&x->fq, n, &idx)))
        return;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = x->rx_free[--x->rx_nfree];
        x->state[i] = B_KERNEL;
        *xsk_ring_prod__fill_addr(&x->fq, idx + k) = (uint64_t)i << FRAME_SHIFT;
    }
    xsk_ring_prod__submit(&x->fq, n);
    x->in_kernel += n;
}

/* Takes back what the kernel has sent: a receive frame forwarded, or one
 * descriptor of a transmit slot (free when its last completes). */
static void reap(struct xdp *x)
{
    uint32_t idx, n = xsk_ring_cons__peek(&x->cq, RING, &idx);
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = (uint32_t)(*xsk_ring_cons__comp_addr(&x->cq, idx + k) >> FRAME_SHIFT);
        if (i >= NFRAMES)
            continue;
        if (i >= RXF)
            i = RXF + (i - RXF) / x->k * x->k; /* the slot's first frame */
        if (x->state[i] != B_TX)
            continue;
        x->outstanding--;
        if (--x->desc_left[i] == 0)
            put_free(x, i);
    }
    if (n)
        xsk_ring_cons__release(&x->cq, n);
}

/* Tells the kernel about the tx ring when it asks to be told.  In copy mode
 * one sendto() sends a batch (32 frames): kick again while it takes some. */
static int kick(struct xdp *x)
{
    uint32_t left = RING - xsk_prod_nb_free(&x->tx, RING);
    for (int k = 0; left && k < KICKS && xsk_ring_prod__needs_wakeup(&x->tx); k++) {
        if (sendto(x->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0) {
            int e = errno;
            if (e == ENETDOWN || e == ENXIO)
                return jet_err_set(&x->base.err, -e, "xdp:%s: send: %s", x->ifname,
                                   strerror(e));
            if (e != EAGAIN && e != EBUSY && e != ENOBUFS && e != EINTR)
                break;
        }
        uint32_t now = RING - xsk_prod_nb_free(&x->tx, RING);
        if (now >= left)
            break; /* took nothing: the device is busy, try at the next flush */
        left = now;
    }
    return 0;
}

int xdp_flush(struct jet_link *l)
{
    struct xdp *x = X(l);
    if (x->pending) {
        xsk_ring_prod__submit(&x->tx, x->pend_desc);
        x->st.tx_frames += x->pending;
        x->st.tx_bytes += x->pend_bytes;
        x->outstanding += x->pend_desc;
        x->pending = x->pend_desc = 0;
        x->pend_bytes = 0;
    }
    int rc = 0;
    if (x->outstanding) {
        rc = kick(x);
        reap(x);
    }
    return rc;
}

/* ---- transmit ---- */

static int xdp_tx_alloc(struct jet_link *l, struct jet_frame *f)
{
    struct xdp *x = X(l);
    if (x->outstanding)
        reap(x);
    /* the ring's free entries already leave out the descriptors reserved by commits */
    if (x->pending >= TXQ || xsk_prod_nb_free(&x->tx, x->k) < x->k)
        return jet_err_set(&l->err, -EAGAIN, "transmit queue full (%u frames): flush",
                           x->pending);
    if (!x->tx_nfree)
        return jet_err_set(&l->err, -ENOBUFS, "all %u transmit buffers are lent or in flight",
                           (NFRAMES - RXF) / x->k);
    uint32_t i = x->tx_free[--x->tx_nfree];
    x->state[i] = B_LENT;
    x->off[i] = TX_OFF;
    *f = (struct jet_frame){.data = xdp_buf(x, i) + TX_OFF, .cap = x->max_eth, .buf = i,
                            .encap = JET_ENCAP_ETH};
    return 0;
}

static void xdp_tx_abort(struct jet_link *l, struct jet_frame *f)
{
    struct xdp *x = X(l);
    if (held(x, f))
        put_free(x, f->buf);
}

/* Checks the frame's length; the bytes to put on the wire (the Ethernet
 * header written before a native frame) in *start, *len.  0 or an error set. */
static int tx_check(struct xdp *x, struct jet_frame *f, uint8_t **start, uint32_t *len)
{
    struct jet_link *l = &x->base;
    *start = f->data;
    *len = f->len;
    if (f->encap == JET_ENCAP_NATIVE) {
        if (f->len < JET_FRAME_HDR_LEN)
            return jet_err_set(&l->err, -EINVAL, "native frame of %u bytes", f->len);
        if (f->len > x->max_native)
            return jet_err_set(&l->err, -EMSGSIZE, "native frame of %u bytes over the MTU of "
                               "%s (at most %u)", f->len, l->name, x->max_native);
        if (x->off[f->buf] < ETHNAT_HEADROOM)
            return jet_err_set(&l->err, -EINVAL, "no room for the Ethernet header");
        *start = ethnat_wrap(&x->en, f->data);
        *len += ETHNAT_HEADROOM;
        return 0;
    }
    if (f->encap != JET_ENCAP_ETH)
        return jet_err_set(&l->err, -EINVAL, "unknown encapsulation %u", f->encap);
    if (f->len < 14)
        return jet_err_set(&l->err, -EINVAL, "Ethernet frame of %u bytes", f->len);
    /* MTU + 14 bytes, 4 more with a VLAN tag (as the kernel takes them) */
    uint16_t et = (uint16_t)(f->data[12] << 8 | f->data[13]);
    uint32_t lim = x->max_eth - (et == 0x8100 || et == 0x88a8 ? 0 : 4);
    if (f->len > lim)
        return jet_err_set(&l->err, -EMSGSIZE, "Ethernet frame of %u bytes over the MTU of %s "
                           "(at most %u)", f->len, l->name, lim);
    return 0;
}

static int xdp_tx_commit(struct jet_link *l, struct jet_frame *f)
{
    struct xdp *x = X(l);
    if (!held(x, f))
        return jet_err_set(&l->err, -EINVAL, "frame does not belong to this link");
    uint32_t b = f->buf, len;
    uint8_t *start;
    int rc = tx_check(x, f, &start, &len);
    if (rc)
        goto drop;
    if (b >= NFRAMES) { /* a big receive buffer: copied into a transmit slot */
        if (!x->tx_nfree) {
            rc = jet_err_set(&l->err, -ENOBUFS, "no transmit slot to copy the frame into");
            goto drop;
        }
        uint32_t s = x->tx_free[--x->tx_nfree];
        uint8_t *to = xdp_buf(x, s) + TX_OFF - ETHNAT_HEADROOM;
        memcpy(to, start, len);
        put_free(x, b);
        b = s;
        start = to;
    }
    uint64_t a = (uint64_t)(start - x->area);
    uint64_t end = a + len, lim = ((uint64_t)b << FRAME_SHIFT) + (b < RXF ? 1 : x->k) * FRAME;
    if (end > lim) {
        rc = jet_err_set(&l->err, -EMSGSIZE, "frame of %u bytes past its buffer", f->len);
        goto drop;
    }
    uint32_t nd = (uint32_t)(((end - 1) >> FRAME_SHIFT) - (a >> FRAME_SHIFT) + 1), idx;
    if (xsk_ring_prod__reserve(&x->tx, nd, &idx) != nd) { /* committed past alloc's limit */
        xdp_flush(l);
        if (xsk_ring_prod__reserve(&x->tx, nd, &idx) != nd) {
            rc = jet_err_set(&l->err, -ENOBUFS, "transmit ring full (allocate before "
                             "committing)");
            goto drop;
        }
    }
    for (uint32_t k = 0; k < nd; k++) {
        uint64_t next = ((a >> FRAME_SHIFT) + 1) << FRAME_SHIFT;
        uint64_t stop = next < end ? next : end;
        struct xdp_desc *d = xsk_ring_prod__tx_desc(&x->tx, idx + k);
        d->addr = a;
        d->len = (uint32_t)(stop - a);
        d->options = k + 1 < nd ? XDP_PKT_CONTD : 0;
        a = stop;
    }
    x->state[b] = B_TX;
    x->desc_left[b] = (uint8_t)nd;
    x->pending++;
    x->pend_desc += nd;
    x->pend_bytes += f->len;
    return 0;
drop:
    x->st.tx_dropped++;
    put_free(x, b);
    return rc;
}

static int xdp_tx_room(struct jet_link *l)
{
    struct xdp *x = X(l);
    uint32_t ring = xsk_prod_nb_free(&x->tx, RING) / x->k;
    uint32_t q = TXQ - x->pending;
    return (int)(q < ring ? q : ring);
}

/* ---- receive ---- */

/* A descriptor's receive frame, checked: its index, or -1 (counted). */
static int64_t rx_frame(struct xdp *x, const struct xdp_desc *d)
{
    uint32_t i = (uint32_t)(d->addr >> FRAME_SHIFT), off = (uint32_t)(d->addr & (FRAME - 1));
    if (i >= RXF || x->state[i] != B_KERNEL) {
        x->st.rx_dropped++; /* not a frame the kernel had: leave it alone */
        return -1;
    }
    x->in_kernel--;
    if (off + d->len > FRAME) {
        x->st.rx_dropped++;
        put_free(x, i);
        return -1;
    }
    return i;
}

/* Gathers the multi-buffer frame whose descriptors are the ring's idx .. idx+nd-1
 * into a big buffer: its id, or -1 (dropped, counted).  Gives the pieces back. */
static int64_t gather(struct xdp *x, uint32_t idx, uint32_t nd, uint32_t *len)
{
    uint32_t b = x->big_nfree ? x->big_free[x->big_nfree - 1] : 0, n = 0;
    bool ok = x->big_nfree != 0;
    for (uint32_t k = 0; k < nd; k++) {
        const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, idx + k);
        int64_t i = rx_frame(x, d);
        if (i < 0) {
            ok = false;
            continue;
        }
        if (ok && n + d->len <= x->big_sz - RX_OFF)
            memcpy(xdp_buf(x, b) + RX_OFF + n, xdp_buf(x, (uint32_t)i) + (d->addr & (FRAME - 1)),
                   d->len);
        else
            ok = false;
        n += d->len;
        put_free(x, (uint32_t)i);
    }
    if (!ok) {
        x->st.rx_dropped++;
        return -1;
    }
    x->big_nfree--;
    *len = n;
    return b;
}

static int xdp_rx_burst(struct jet_link *l, struct jet_frame *f, unsigned max)
{
    struct xdp *x = X(l);
    if (x->pending || x->outstanding)
        xdp_flush(l);
    uint32_t idx, got = xsk_ring_cons__peek(&x->rx, x->sg ? RING : max, &idx), used = 0;
    unsigned n = 0;
    while (used < got && n < max) {
        const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, idx + used);
        uint32_t nd = 1, len = d->len, off = RX_OFF;
        int64_t b;
        if (d->options & XDP_PKT_CONTD) { /* multi-buffer: up to the last piece */
            while (used + nd < got &&
                   (xsk_ring_cons__rx_desc(&x->rx, idx + used + nd)->options & XDP_PKT_CONTD))
                nd++;
            if (used + nd == got)
                break; /* its last piece is not there yet */
            nd++;
            b = x->sg ? gather(x, idx + used, nd, &len) : -1;
            if (!x->sg) {
                for (uint32_t k = 0; k < nd; k++) {
                    int64_t i = rx_frame(x, xsk_ring_cons__rx_desc(&x->rx, idx + used + k));
                    if (i >= 0)
                        put_free(x, (uint32_t)i);
                }
                x->st.rx_dropped++;
            }
        } else {
            b = rx_frame(x, d);
            off = (uint32_t)(d->addr & (FRAME - 1));
        }
        used += nd;
        if (b < 0)
            continue;
        uint8_t *data = xdp_buf(x, (uint32_t)b) + off;
        uint32_t nlen = len;
        uint8_t encap = JET_ENCAP_ETH;
        if (len < 14) {
            x->st.rx_dropped++;
            put_free(x, (uint32_t)b);
            continue;
        }
        switch (ethnat_rx(&x->en, data, len, &nlen)) {
        case ETHNAT_FOREIGN:
            put_free(x, (uint32_t)b);
            continue;
        case ETHNAT_NATIVE:
            data += ETHNAT_HEADROOM;
            off += ETHNAT_HEADROOM;
            len = nlen;
            encap = JET_ENCAP_NATIVE;
            break;
        case ETHNAT_ETH:
            break;
        }
        x->state[b] = B_LENT;
        x->off[b] = (uint16_t)off;
        f[n++] = (struct jet_frame){.data = data, .len = len,
                                    .cap = (b < NFRAMES ? FRAME : x->big_sz) - off,
                                    .buf = (uint32_t)b, .encap = encap};
        x->st.rx_frames++;
        x->st.rx_bytes += len;
    }
    if (used < got)
        xsk_ring_cons__cancel(&x->rx, got - used);
    if (used)
        xsk_ring_cons__release(&x->rx, used);
    xdp_refill(x);
    if (!got && xsk_ring_prod__needs_wakeup(&x->fq))
        recvfrom(x->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
    return (int)n;
}

static void xdp_rx_release(struct jet_link *l, struct jet_frame *f, unsigned n)
{
    struct xdp *x = X(l);
    for (unsigned k = 0; k < n; k++)
        if (held(x, &f[k]))
            put_free(x, f[k].buf);
}

/* ---- waiting ---- */

static int xdp_wait(struct jet_link *l, int64_t timeout_ns)
{
    struct xdp *x = X(l);
    bool queued = x->pending != 0;
    if (x->pending || x->outstanding)
        xdp_flush(l);
    xdp_refill(x);
    if (queued || xsk_cons_nb_avail(&x->rx, 1))
        return 0; /* frames went out: room opened for the sender */
    return link_fd_wait(l, x->fd, false, x->outstanding, timeout_ns); /* in flight: reap soon */
}

static int xdp_fd(struct jet_link *l)
{
    return X(l)->fd;
}

static int xdp_arm(struct jet_link *l)
{
    struct xdp *x = X(l);
    xdp_refill(x);
    return xsk_cons_nb_avail(&x->rx, 1) ? 1 : 0;
}

static int xdp_stats(struct jet_link *l, struct jet_link_stats *out)
{
    struct xdp *x = X(l);
    *out = x->st;
    struct xdp_statistics k;
    socklen_t kl = sizeof k;
    if (getsockopt(x->fd, SOL_XDP, XDP_STATISTICS, &k, &kl) == 0) {
        out->rx_dropped += k.rx_dropped + k.rx_ring_full + k.rx_invalid_descs;
        out->tx_dropped += k.tx_invalid_descs;
    }
    return 0;
}

const struct jet_link_ops xdp_link_ops = {
    .kind = "xdp",
    .rx_burst = xdp_rx_burst,
    .rx_release = xdp_rx_release,
    .tx_alloc = xdp_tx_alloc,
    .tx_abort = xdp_tx_abort,
    .tx_commit = xdp_tx_commit,
    .tx_flush = xdp_flush,
    .tx_room = xdp_tx_room,
    .wait = xdp_wait,
    .fd = xdp_fd,
    .arm = xdp_arm,
    .stats = xdp_stats,
    .own = xdp_own_op,
    .close = xdp_close_op,
};
