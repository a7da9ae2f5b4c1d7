/* The driver's transmit side (include/jet/chan.h).
 *
 * A frame's priority class goes in its header (for the receiver) and in
 * its descriptor (jet_frame.cls, for the transmit service, txsvc.c), which
 * serves classes in strict priority in front of any link.  A channel with a
 * reserved rate has a token bucket (depth burst_bytes) and sends every frame
 * in the top class 7, shaped to its rate: while the bucket is in debt,
 * sending reports -EAGAIN.  So the reservation holds whatever else is
 * queued, the channel cannot take more than it reserved, and its frames keep
 * their order.  Reservations were admitted at jet_chan_open() (txsvc_reserve). */
#include <errno.h>
#include <string.h>

#include "chan/chan_impl.h"
#include "jet/crc32c.h"
#include "jet/frame.h"
#include "util/clock.h"

/* The class a frame of this channel goes out in (txsvc_class); a reserved
 * channel's frame pays its debt from the bucket. */
static uint8_t tx_class(struct jet_chan *c, uint32_t frame_bytes)
{
    if (!c->p.reserve_bps)
        return c->p.prio;
    txsvc_bucket_pay(&c->tb, frame_bytes);
    c->st.tx_conforming++;
    return txsvc_class(c->p.prio, true);
}

/* Lends a buffer for a frame of class cls. */
static int alloc(struct jet_chan *c, struct jet_frame *f, uint8_t cls)
{
    struct jet_station *s = c->s;
    if (c->p.reserve_bps &&
        !txsvc_bucket_ready(&c->tb, c->p.reserve_bps, c->p.burst_bytes, jet_now_ns()))
        return jet_err_set(&s->err, -EAGAIN,
                           "reserved rate reached: the channel's token bucket is empty "
                           "(back-pressure, retry)");
    int rc = txsvc_alloc(&s->tx, s->link, f, cls);
    if (rc == -EAGAIN || rc == -ENOBUFS)
        return jet_err_set(&s->err, -EAGAIN, "link busy: %s (back-pressure, retry)",
                           rc == -EAGAIN ? "transmit queue full" : "no free buffer");
    if (rc)
        return jet_err_set(&s->err, rc, "%s", jet_link_error(s->link));
    return 0;
}

/* Bytes in iov, or more than max once they exceed it (without wrapping
 * around, whatever the lengths). */
static size_t iov_total(const struct iovec *iov, int iovcnt, size_t max)
{
    size_t len = 0;
    for (int i = 0; i < iovcnt && len <= max; i++)
        len += iov[i].iov_len > max ? max + 1 : iov[i].iov_len;
    return len;
}

/* Hands a finished frame of class cls to the transmit service and counts
 * len bytes sent. */
static int commit_count(struct jet_chan *c, struct jet_frame *f, uint8_t cls, uint32_t len)
{
    struct jet_station *s = c->s;
    f->cls = cls;
    int rc = txsvc_commit(&s->tx, s->link, f);
    if (rc == -ENOBUFS)
        return jet_err_set(&s->err, rc, "transmit queue full (%u frames committed at once)",
                           TXSVC_CAP);
    if (rc)
        return jet_err_set(&s->err, rc, "%s", jet_link_error(s->link));
    c->st.frames_out++;
    c->st.bytes_out += len;
    return 0;
}

/* Writes header and trailer around a payload in place and commits. */
static int seal_commit(struct jet_chan *c, struct jet_frame *f, uint16_t dst_station,
                       uint32_t dst_chan, uint32_t len, uint32_t crc)
{
    struct jet_station *s = c->s;
    uint8_t cls = tx_class(c, len + JET_FRAME_OVERHEAD);
    struct jet_frame_hdr h = {.flags = JET_FF_CRC,
                              .prio = cls,
                              .src_station = (uint16_t)s->addr,
                              .dst_station = dst_station,
                              .dst_chan = dst_chan,
                              .src_chan = c->id,
                              .payload_len = len};
    jet_frame_emit_hdr(f->data, f->cap, &h);
    uint8_t *t = f->data + JET_FRAME_HDR_LEN + len;
    t[0] = (uint8_t)(crc >> 24);
    t[1] = (uint8_t)(crc >> 16);
    t[2] = (uint8_t)(crc >> 8);
    t[3] = (uint8_t)crc;
    f->len = len + JET_FRAME_OVERHEAD;
    f->encap = JET_ENCAP_NATIVE;
    return commit_count(c, f, cls, len);
}

ssize_t jet_chan_send(struct jet_chan *c, uint16_t dst_station, uint32_t dst_chan,
                      const struct iovec *iov, int iovcnt)
{
    struct jet_station *s = c->s;
    size_t mtu = s->link->caps.mtu, len = iov_total(iov, iovcnt, mtu);
    if (iovcnt < 0 || len > mtu)
        return jet_err_set(&s->err, -EMSGSIZE, "payload of %zu bytes exceeds the MTU (%u)", len,
                           s->link->caps.mtu);
    if (dst_chan == 0)
        return jet_err_set(&s->err, -EINVAL, "channel 0 is reserved for control");
    struct jet_frame f;
    int rc = alloc(c, &f, txsvc_class(c->p.prio, c->p.reserve_bps != 0));
    if (rc)
        return rc;
    uint8_t *p = f.data + JET_FRAME_HDR_LEN;
    uint32_t crc = 0;
    for (int i = 0; i < iovcnt; i++) {
        crc = jet_crc32c_copy(crc, p, iov[i].iov_base, iov[i].iov_len);
        p += iov[i].iov_len;
    }
    rc = seal_commit(c, &f, dst_station, dst_chan, (uint32_t)len, crc);
    return rc ? rc : (ssize_t)len;
}

int jet_chan_tx_alloc(struct jet_chan *c, struct jet_txbuf *tb)
{
    int rc = alloc(c, &tb->f, txsvc_class(c->p.prio, c->p.reserve_bps != 0));
    if (rc)
        return rc;
    tb->payload = tb->f.data + JET_FRAME_HDR_LEN;
    tb->cap = c->s->link->caps.mtu;
    return 0;
}

static int commit(struct jet_chan *c, struct jet_txbuf *tb, uint16_t dst_station,
                  uint32_t dst_chan, uint32_t len, const uint32_t *crc)
{
    struct jet_station *s = c->s;
    if (len > tb->cap || dst_chan == 0) {
        jet_link_tx_abort(s->link, &tb->f);
        return jet_err_set(&s->err, len > tb->cap ? -EMSGSIZE : -EINVAL,
                           len > tb->cap ? "payload exceeds the lent buffer"
                                         : "channel 0 is reserved for control");
    }
    return seal_commit(c, &tb->f, dst_station, dst_chan, len,
                       crc ? *crc : jet_crc32c(0, tb->payload, len));
}

int jet_chan_tx_commit(struct jet_chan *c, struct jet_txbuf *tb, uint16_t dst_station,
                       uint32_t dst_chan, uint32_t len)
{
    return commit(c, tb, dst_station, dst_chan, len, NULL);
}

int jet_chan_tx_commit_crc(struct jet_chan *c, struct jet_txbuf *tb, uint16_t dst_station,
                           uint32_t dst_chan, uint32_t len, uint32_t crc)
{
    return commit(c, tb, dst_station, dst_chan, len, &crc);
}

void jet_chan_tx_abort(struct jet_chan *c, struct jet_txbuf *tb)
{
    jet_link_tx_abort(c->s->link, &tb->f);
}

/* ---- Ethernet ---- */

static int eth_check(struct jet_chan *c)
{
    if (!c->s->link->caps.eth)
        return jet_err_set(&c->s->err, -EOPNOTSUPP, "link %s carries no Ethernet frames",
                           c->s->link->name);
    return 0;
}

/* Commits an Ethernet frame of len bytes written at f->data. */
static int eth_commit(struct jet_chan *c, struct jet_frame *f, uint32_t len)
{
    struct jet_station *s = c->s;
    if (len < JET_ETH_HDR_LEN || len > f->cap) {
        jet_link_tx_abort(s->link, f);
        return jet_err_set(&s->err, -EMSGSIZE,
                           "Ethernet frame of %u bytes: a frame is 14 to %u bytes here", len,
                           f->cap);
    }
    f->len = len;
    f->encap = JET_ENCAP_ETH;
    tx_class(c, len); /* pays a reserved rate's debt; Ethernet frames go in class 0 */
    return commit_count(c, f, 0, len);
}

ssize_t jet_chan_send_eth(struct jet_chan *c, const struct iovec *iov, int iovcnt)
{
    struct jet_station *s = c->s;
    int rc = eth_check(c);
    if (rc)
        return rc;
    size_t max = s->link->caps.max_frame, len = iov_total(iov, iovcnt, max);
    if (iovcnt < 0 || len > max || len < JET_ETH_HDR_LEN)
        return jet_err_set(&s->err, -EMSGSIZE,
                           "Ethernet frame of %zu bytes: a frame is 14 to %zu bytes here", len, max);
    struct jet_frame f;
    if ((rc = alloc(c, &f, 0)))
        return rc;
    uint8_t *p = f.data;
    for (int i = 0; i < iovcnt; i++) {
        memcpy(p, iov[i].iov_base, iov[i].iov_len);
        p += iov[i].iov_len;
    }
    rc = eth_commit(c, &f, (uint32_t)len);
    return rc ? rc : (ssize_t)len;
}

int jet_chan_tx_alloc_eth(struct jet_chan *c, struct jet_txbuf *tb)
{
    int rc = eth_check(c);
    if (rc || (rc = alloc(c, &tb->f, 0)))
        return rc;
    tb->payload = tb->f.data;
    tb->cap = tb->f.cap;
    tb->gso_size = 0;
    return 0;
}

int jet_chan_tx_commit_eth(struct jet_chan *c, struct jet_txbuf *tb, uint32_t len)
{
    tb->f.gso_size = c->s->link->caps.tso ? tb->gso_size : 0;
    return eth_commit(c, &tb->f, len);
}
