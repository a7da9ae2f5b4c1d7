/* The packet:IF link (docs/link-packet.md): native Jetstream frames and
 * Ethernet frames through an AF_PACKET socket on a kernel interface it
 * shares with the kernel's own stack.
 *
 * Opening.  Checks in the order a user needs to hear them: the interface
 * exists (-ENODEV), we may open a packet socket (-EPERM: CAP_NET_RAW), it is
 * up (-ENETDOWN), it is Ethernet, its MTU holds a native header (-EMSGSIZE).
 * Then a SOCK_RAW socket of protocol 0 (it receives nothing yet), a
 * TPACKET_V3 receive ring mapped in, PACKET_IGNORE_OUTGOING (not our own
 * frames back), the socket filter for 0x88B5 only (packet_own.c), and only
 * then bind() to the interface for every EtherType: what passes the filter
 * is ours.  The interface's MAC is this end's (ethnat: native frames in
 * Ethernet, station from jet_link_opts or the MAC).
 *
 * Receive.  The ring is BLKS blocks the kernel fills and hands over whole
 * (when full, or 1 ms after its first frame: tp_retire_blk_tov).  rx_burst
 * walks the blocks in order, frame by frame, and lends each frame where it
 * lies in the ring (native frames after their Ethernet header, ethnat_rx),
 * under a buffer id from a pool of RXIDS (ids TXB.. TXB+RXIDS-1): ids stay
 * unique among frames lent at once and below caps.buffers however many
 * frames the ring holds.  Each block counts its frames lent; it goes back
 * to the kernel (TP_STATUS_KERNEL) once walked and every frame lent from it
 * has come back (rx_release, or sent on by tx_commit).  A block held long
 * stops the kernel at it (it drops, counted in PACKET_STATISTICS).  A frame
 * the host's kernel sent with a partial checksum (TP_STATUS_CSUMNOTREADY)
 * has its IPv4 TCP/UDP checksum completed; an IPv4 TCP frame longer than
 * the MTU (merged by GRO, or a veth peer's TSO segment) is cut into
 * MTU-sized segments in transmit buffers (tap_gso.h: both checksums made
 * afresh), its block pinned meanwhile.
 *
 * Transmit.  TXB buffers of our own, the frame at a 64-byte boundary with
 * ETHNAT_HEADROOM before it; tx_commit checks and queues (up to TXQ: then
 * tx_alloc says -EAGAIN), tx_flush (and rx_burst, wait, close) sends the
 * queue with one sendmmsg.  sendmmsg measured faster than a TX ring on veth
 * (docs/link-packet.md), and PACKET_QDISC_BYPASS no faster (veth has no
 * qdisc).  A frame the kernel cannot take now (EAGAIN, ENOBUFS: a full
 * peer) stays queued; one it refuses is dropped and counted.
 *
 * Waiting.  poll() on the socket: the kernel signals a block handed over.
 *
 * Monitor (JET_LINK_MONITOR, packet_monitor_open): no socket filter, the
 * interface promiscuous while the socket is open (PACKET_MR_PROMISC: the
 * kernel drops the membership when the socket closes, even on kill -9),
 * outgoing frames too (no PACKET_IGNORE_OUTGOING), and every frame lent as
 * an Ethernet frame, whole (native ones with their 0x88B5 header, for
 * whatever station; a GRO/TSO frame uncut, its partial checksum
 * completed).  No nftables rules (no flows are held) and nothing is sent:
 * tx_alloc says -EPERM. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "jet/frame.h"
#include "link/link_fd.h"
#include "link/ethnat.h"
#include "link/packet.h"
#include "link/real.h"
#include "link/tap_gso.h"

enum {
    TXB = 256,     /* transmit buffers: ids 0..TXB-1 */
    TXQ = 128,     /* frames queued before tx_alloc pushes back; one sendmmsg */
    RXIDS = 256,   /* receive ids: TXB..TXB+RXIDS-1 */
    HEADROOM = 64, /* before a transmit frame (ETHNAT_HEADROOM of it used) */
    BURST = 64,
    MIN_IFMTU = 68,           /* IPv4's minimum; far above a native header (28) */
    MIN_BLK = 128 << 10,      /* holds a 64 KiB GRO/TSO frame whole */
    MAX_GSO = 65536 + 14 + 4, /* the largest such frame */
    BLKS = RXIDS + 64, /* every id may hold a block of its own, and the kernel still has room */
    RETIRE_MS = 1,     /* a block with frames goes to us at most this late */
    CLOSE_MS = 200,    /* close: time queued frames get to leave */
};

enum {
    S_FREE,
    S_LENT,
    S_QUEUED,
    S_SEG
}; /* tx buffers and rx ids; S_SEG: a tx buffer
      lent as a segment of a received TCP frame */

struct txe {
    uint32_t buf, len; /* len: the frame as committed (counted) */
    uint8_t *start;    /* the Ethernet frame on the wire */
    uint32_t wlen;
};

struct pk {
    struct jet_link base;
    int fd, ctl, ifindex;
    char ifname[IFNAMSIZ];
    uint32_t ifmtu;
    struct ethnat en;
    struct pk_own own;
    /* receive ring */
    uint8_t *ring;
    size_t ring_len;
    uint32_t blk_size, blks;
    uint32_t cur;        /* block being walked, or next to look at */
    bool walking;        /* cur is ours and being walked */
    uint32_t left;       /* frames of cur not walked yet */
    uint32_t off;        /* offset in cur of the next one */
    uint32_t *blk_lent;  /* per block: frames lent from it */
    uint8_t *blk_walked; /* per block: walked through, waits for its frames */
    uint32_t rx_nfree;
    uint32_t rx_free[RXIDS];
    uint8_t rx_state[RXIDS];
    uint32_t rx_blk[RXIDS];
    uint8_t *rx_ptr[RXIDS];
    /* transmit */
    uint8_t *txmem;
    uint32_t stride;
    uint32_t tx_nfree;
    uint32_t tx_free[TXB];
    uint8_t tx_state[TXB];
    struct txe q[TXQ];
    uint32_t qn;
    struct mmsghdr mm[TXQ];
    struct iovec iov[TXQ];
    /* a received IPv4 TCP frame longer than the MTU (GRO, a veth peer's TSO)
     * being cut into segments in transmit buffers; its block is pinned */
    bool cutting;
    uint32_t seg_blk, seg_off, seg_mss;
    const uint8_t *seg_src;
    struct tap_tcp4 seg;
    bool monitor; /* JET_LINK_MONITOR: every frame, as it is; sends nothing */
    struct jet_link_stats st;
};

static const struct jet_link_ops pk_ops;

static struct pk *P(struct jet_link *l)
{
    return (struct pk *)l;
}

static uint8_t *tx_data(const struct pk *p, uint32_t i)
{
    return p->txmem + (size_t)i * p->stride + HEADROOM;
}

static struct tpacket_block_desc *blk(const struct pk *p, uint32_t b)
{
    return (struct tpacket_block_desc *)(p->ring + (size_t)b * p->blk_size);
}

/* ---- receive ids and blocks ---- */

static void blk_give_back(struct pk *p, uint32_t b)
{
    p->blk_walked[b] = 0;
    __atomic_store_n(&blk(p, b)->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
}

/* Gives rx id i back: its block goes to the kernel when this was the last. */
static void rx_put(struct pk *p, uint32_t i)
{
    uint32_t b = p->rx_blk[i];
    p->rx_state[i] = S_FREE;
    p->rx_free[p->rx_nfree++] = i;
    if (--p->blk_lent[b] == 0 && p->blk_walked[b])
        blk_give_back(p, b);
}

/* Done with walking cur: hand it back now if nothing of it is lent. */
static void blk_done(struct pk *p)
{
    p->walking = false;
    if (p->blk_lent[p->cur])
        p->blk_walked[p->cur] = 1;
    else
        blk_give_back(p, p->cur);
    p->cur = p->cur + 1 == p->blks ? 0 : p->cur + 1;
}

static bool rx_ready(const struct pk *p)
{
    if (p->cutting)
        return true;
    if (p->walking)
        return p->left > 0;
    return __atomic_load_n(&blk(p, p->cur)->hdr.bh1.block_status, __ATOMIC_ACQUIRE) &
           TP_STATUS_USER;
}

static int pk_flush(struct jet_link *l);

/* Completes the TCP or UDP checksum of an IPv4 frame the kernel sent with
 * it partial (TP_STATUS_CSUMNOTREADY: the field holds the pseudo-header
 * sum).  0, or -EINVAL for a frame that is not one of those. */
static int csum_fill(uint8_t *d, uint32_t len)
{
    if (len < 14 + 20 || d[12] != 0x08 || d[13] != 0x00 || (d[14] >> 4) != 4)
        return -EINVAL;
    uint32_t ihl = (d[14] & 15u) * 4, end = 14 + (uint32_t)(d[16] << 8 | d[17]);
    if (end > len || ihl < 20)
        return -EINVAL;
    if (d[23] == 6)
        return tap_csum_complete(d, end, 14 + ihl, 16); /* not over any padding */
    if (d[23] == 17)
        return tap_csum_complete(d, end, 14 + ihl, 6);
    return -EINVAL;
}

/* Lends segments of the frame being cut, in transmit buffers, while f[]
 * and buffers last; unpins its block when done. */
static unsigned cut(struct pk *p, struct jet_frame *f, unsigned max)
{
    unsigned n = 0;
    while (n < max && p->seg_off < p->seg.payload && p->tx_nfree) {
        uint32_t b = p->tx_free[--p->tx_nfree];
        uint8_t *d = tx_data(p, b);
        uint32_t len = tap_tcp4_seg(p->seg_src, &p->seg, p->seg_off, p->seg_mss, d);
        p->seg_off += p->seg_mss;
        p->tx_state[b] = S_SEG;
        f[n++] =
            (struct jet_frame){.data = d, .len = len, .cap = len, .buf = b, .encap = JET_ENCAP_ETH};
        p->st.rx_frames++;
        p->st.rx_bytes += len;
    }
    if (p->seg_off >= p->seg.payload) {
        p->cutting = false;
        if (--p->blk_lent[p->seg_blk] == 0 && p->blk_walked[p->seg_blk])
            blk_give_back(p, p->seg_blk);
    }
    return n;
}

static int pk_rx_burst(struct jet_link *l, struct jet_frame *f, unsigned max)
{
    struct pk *p = P(l);
    if (p->qn)
        pk_flush(l);
    unsigned n = 0;
    while (n < max) {
        if (p->cutting) {
            unsigned k = cut(p, f + n, max - n);
            n += k;
            if (p->cutting)
                break; /* out of f[] or of buffers */
            continue;
        }
        if (!p->walking) {
            struct tpacket_block_desc *bd = blk(p, p->cur);
            if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
                break;
            if (p->blk_walked[p->cur])
                break; /* still ours from the last lap: the ring is full up to it */
            p->walking = true;
            p->left = bd->hdr.bh1.num_pkts;
            p->off = bd->hdr.bh1.offset_to_first_pkt;
        }
        if (!p->left) {
            blk_done(p);
            continue;
        }
        if (!p->rx_nfree)
            break; /* every id lent: the frames wait in the ring */
        /* a frame of the block, bounds-checked against the block */
        uint8_t *base = (uint8_t *)blk(p, p->cur);
        uint32_t off = p->off;
        if (off < sizeof(struct tpacket_block_desc) ||
            off > p->blk_size - sizeof(struct tpacket3_hdr)) {
            p->st.rx_dropped += p->left; /* a block we cannot walk */
            p->left = 0;
            continue;
        }
        const struct tpacket3_hdr *h = (const struct tpacket3_hdr *)(base + off);
        uint32_t status = h->tp_status, mac = h->tp_mac, snap = h->tp_snaplen, len = h->tp_len,
                 next = h->tp_next_offset, nlen = len;
        p->left--;
        if (p->left && (next < sizeof *h || next > p->blk_size - off))
            p->st.rx_dropped += p->left, p->left = 0;
        p->off = off + next;
        if (snap != len || len < 14 || mac > p->blk_size - off || snap > p->blk_size - off - mac) {
            p->st.rx_dropped++; /* truncated (longer than the ring's frames) or damaged */
            continue;
        }
        uint8_t *d = base + off + mac;
        uint8_t encap = JET_ENCAP_ETH;
        if (p->monitor) {
            if (status & TP_STATUS_CSUMNOTREADY)
                csum_fill(d, len); /* as it will be on the wire; anything else as it is */
        } else if (len > p->ifmtu + 18) { /* merged by GRO or sent as TSO: cut it up */
            if (tap_tcp4_parse(d, len, &p->seg) || p->ifmtu <= p->seg.hdr_len - 14) {
                p->st.rx_dropped++;
                continue;
            }
            p->cutting = true;
            p->seg_src = d;
            p->seg_blk = p->cur;
            p->seg_off = 0;
            p->seg_mss = p->ifmtu - (p->seg.hdr_len - 14);
            p->blk_lent[p->cur]++; /* pinned while cut */
            continue;
        } else {
            switch (ethnat_rx(&p->en, d, len, &nlen)) {
            case ETHNAT_FOREIGN:
                continue; /* for another station: a NIC would not pass it either */
            case ETHNAT_NATIVE:
                d += ETHNAT_HEADROOM;
                encap = JET_ENCAP_NATIVE;
                break;
            case ETHNAT_ETH:
                nlen = len;
                /* sent by this host's kernel: its checksum was left to a NIC */
                if ((status & TP_STATUS_CSUMNOTREADY) && csum_fill(d, len)) {
                    p->st.rx_dropped++;
                    continue;
                }
                break;
            }
        }
        uint32_t i = p->rx_free[--p->rx_nfree];
        p->rx_state[i] = S_LENT;
        p->rx_blk[i] = p->cur;
        p->rx_ptr[i] = d;
        p->blk_lent[p->cur]++;
        f[n++] =
            (struct jet_frame){.data = d, .len = nlen, .cap = nlen, .buf = TXB + i, .encap = encap};
        p->st.rx_frames++;
        p->st.rx_bytes += nlen;
    }
    if (p->walking && !p->left)
        blk_done(p);
    return (int)n;
}

static bool seg_held(const struct pk *p, const struct jet_frame *f)
{
    return f->buf < TXB && p->tx_state[f->buf] == S_SEG && f->data == tx_data(p, f->buf);
}

static bool rx_held(const struct pk *p, const struct jet_frame *f)
{
    uint32_t i = f->buf - TXB;
    return f->buf >= TXB && i < RXIDS && p->rx_state[i] == S_LENT && f->data == p->rx_ptr[i];
}

static void pk_rx_release(struct jet_link *l, struct jet_frame *f, unsigned n)
{
    struct pk *p = P(l);
    for (unsigned k = 0; k < n; k++) {
        if (rx_held(p, &f[k])) {
            rx_put(p, f[k].buf - TXB);
        } else if (seg_held(p, &f[k])) {
            p->tx_state[f[k].buf] = S_FREE;
            p->tx_free[p->tx_nfree++] = f[k].buf;
        }
    }
}

/* ---- transmit ---- */

static bool tx_held(const struct pk *p, const struct jet_frame *f)
{
    return f->buf < TXB && p->tx_state[f->buf] == S_LENT && f->data == tx_data(p, f->buf);
}

static void put_buf(struct pk *p, uint32_t b)
{
    if (b < TXB) {
        p->tx_state[b] = S_FREE;
        p->tx_free[p->tx_nfree++] = b;
    } else {
        rx_put(p, b - TXB);
    }
}

static int pk_tx_alloc(struct jet_link *l, struct jet_frame *f)
{
    struct pk *p = P(l);
    if (p->monitor)
        return jet_err_set(&l->err, -EPERM,
                           "%s is open as a monitor: it sends nothing (open it without "
                           "JET_LINK_MONITOR to send)",
                           l->name);
    if (p->qn == TXQ)
        return jet_err_set(&l->err, -EAGAIN, "transmit queue full (%d frames): flush", TXQ);
    if (!p->tx_nfree)
        return jet_err_set(&l->err, -ENOBUFS, "all %d transmit buffers are lent", TXB);
    uint32_t i = p->tx_free[--p->tx_nfree];
    p->tx_state[i] = S_LENT;
    *f = (struct jet_frame){
        .data = tx_data(p, i), .cap = l->caps.max_frame, .buf = i, .encap = JET_ENCAP_NATIVE};
    return 0;
}

static void pk_tx_abort(struct jet_link *l, struct jet_frame *f)
{
    struct pk *p = P(l);
    if (tx_held(p, f))
        put_buf(p, f->buf);
}

static int pk_tx_commit(struct jet_link *l, struct jet_frame *f)
{
    struct pk *p = P(l);
    bool rx = !tx_held(p, f) && !seg_held(p, f);
    if (rx && !rx_held(p, f))
        return jet_err_set(&l->err, -EINVAL, "frame does not belong to this link");
    int rc;
    uint8_t *start = f->data;
    uint32_t wlen = f->len;
    if (f->len > f->cap) { /* a received frame sent on is no longer than it came */
        rc = jet_err_set(&l->err, -EMSGSIZE, "frame of %u bytes in a buffer of %u", f->len,
                         f->cap);
        goto drop;
    }
    if (f->encap == JET_ENCAP_NATIVE) {
        if (f->len < JET_FRAME_HDR_LEN) {
            rc = jet_err_set(&l->err, -EINVAL, "native frame of %u bytes", f->len);
            goto drop;
        }
        if (f->len > l->caps.mtu + JET_FRAME_OVERHEAD) {
            rc = jet_err_set(&l->err, -EMSGSIZE,
                             "native frame of %u bytes exceeds %u (MTU of "
                             "%s %u, less 28)",
                             f->len, l->caps.mtu + JET_FRAME_OVERHEAD, p->ifname, p->ifmtu);
            goto drop;
        }
        start = ethnat_wrap(&p->en, f->data);
        wlen += ETHNAT_HEADROOM;
    } else if (f->encap == JET_ENCAP_ETH) {
        if (f->len < 14) {
            rc = jet_err_set(&l->err, -EINVAL, "Ethernet frame of %u bytes", f->len);
            goto drop;
        }
        /* the kernel takes MTU + 14, and 4 more for a VLAN tag */
        uint16_t et = (uint16_t)(f->data[12] << 8 | f->data[13]);
        uint32_t lim = p->ifmtu + 14 + (et == 0x8100 || et == 0x88a8 ? 4 : 0);
        if (f->len > lim) {
            rc = jet_err_set(&l->err, -EMSGSIZE,
                             "Ethernet frame of %u bytes exceeds the MTU of "
                             "%s (%u)",
                             f->len, p->ifname, p->ifmtu);
            goto drop;
        }
    } else {
        rc = jet_err_set(&l->err, -EINVAL, "unknown encapsulation %u", f->encap);
        goto drop;
    }
    if (p->qn == TXQ) { /* committed more than alloc allowed (forwarded frames) */
        pk_flush(l);
        if (p->qn == TXQ) {
            rc = jet_err_set(&l->err, -ENOBUFS, "transmit queue full (allocate before committing)");
            goto drop;
        }
    }
    if (rx)
        p->rx_state[f->buf - TXB] = S_QUEUED;
    else
        p->tx_state[f->buf] = S_QUEUED;
    p->q[p->qn++] = (struct txe){.buf = f->buf, .len = f->len, .start = start, .wlen = wlen};
    return 0;
drop:
    p->st.tx_dropped++;
    put_buf(p, f->buf);
    return rc;
}

static int pk_flush(struct jet_link *l)
{
    struct pk *p = P(l);
    uint32_t done = 0;
    int rc = 0;
    while (done < p->qn) {
        uint32_t k = p->qn - done;
        for (uint32_t j = 0; j < k; j++) {
            const struct txe *e = &p->q[done + j];
            p->iov[j] = (struct iovec){e->start, e->wlen};
            p->mm[j].msg_hdr = (struct msghdr){.msg_iov = &p->iov[j], .msg_iovlen = 1};
        }
        int r = sendmmsg(p->fd, p->mm, k, MSG_DONTWAIT);
        if (r > 0) {
            for (int j = 0; j < r; j++) {
                const struct txe *e = &p->q[done + (uint32_t)j];
                p->st.tx_frames++;
                p->st.tx_bytes += e->len;
                put_buf(p, e->buf);
            }
            done += (uint32_t)r;
            continue;
        }
        int e = r < 0 ? errno : EAGAIN;
        if (e == EAGAIN || e == ENOBUFS || e == EINTR)
            break; /* the kernel takes nothing now (a full peer): later */
        /* refused: the frame is dropped and counted, the rest goes on */
        p->st.tx_dropped++;
        put_buf(p, p->q[done].buf);
        done++;
        rc = jet_err_set(&l->err, -e, "send on %s: %s", p->ifname, strerror(e));
    }
    if (done) {
        memmove(p->q, p->q + done, (p->qn - done) * sizeof p->q[0]);
        p->qn -= done;
    }
    return rc == -ENETDOWN || rc == -ENXIO || rc == -ENODEV ? rc : 0;
}

static int pk_tx_room(struct jet_link *l)
{
    return TXQ - (int)P(l)->qn;
}

/* ---- waiting ---- */

static int pk_wait(struct jet_link *l, int64_t timeout_ns)
{
    struct pk *p = P(l);
    if (p->qn)
        pk_flush(l);
    if (rx_ready(p))
        return 0;
    return link_fd_wait(l, p->fd, p->qn, p->qn, timeout_ns); /* frames wait to go: soon */
}

static int pk_fd(struct jet_link *l)
{
    return P(l)->fd;
}

static int pk_arm(struct jet_link *l)
{
    return rx_ready(P(l)) ? 1 : 0;
}

static int pk_stats(struct jet_link *l, struct jet_link_stats *out)
{
    struct pk *p = P(l);
    struct tpacket_stats_v3 ks;
    socklen_t sl = sizeof ks;
    if (getsockopt(p->fd, SOL_PACKET, PACKET_STATISTICS, &ks, &sl) == 0)
        p->st.rx_dropped += ks.tp_drops; /* the ring was full (read resets them) */
    *out = p->st;
    return 0;
}

static int pk_own_op(struct jet_link *l, const struct jet_link_flow *f, bool add)
{
    struct pk *p = P(l);
    return packet_own(&p->own, p->fd, p->ctl, p->ifname, f, add, &l->err);
}

/* ---- open and close ---- */

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void pk_free(struct pk *p)
{
    packet_own_fini(&p->own);
    if (p->ring)
        munmap(p->ring, p->ring_len);
    if (p->fd >= 0)
        close(p->fd);
    if (p->ctl >= 0)
        close(p->ctl);
    free(p->blk_lent);
    free(p->blk_walked);
    free(p->txmem);
    free(p);
}

static void pk_close(struct jet_link *l)
{
    struct pk *p = P(l);
    uint64_t until = mono_ms() + CLOSE_MS;
    while (p->qn) {
        if (pk_flush(l) || !p->qn || mono_ms() > until)
            break;
        struct pollfd pf = {.fd = p->fd, .events = POLLOUT};
        poll(&pf, 1, 1);
    }
    p->st.tx_dropped += p->qn; /* could not leave in time */
    pk_free(p);
}

/* The interface's flags, MAC and MTU (ioctls on ctl). */
static int if_query(struct pk *p, struct jet_err *err)
{
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, p->ifname);
    if (ioctl(p->ctl, SIOCGIFFLAGS, &r) < 0)
        return errno == ENODEV
                   ? jet_err_set(err, -ENODEV, "interface %s does not exist", p->ifname)
                   : jet_err_set(err, -errno, "%s: flags: %s", p->ifname, strerror(errno));
    if (!(r.ifr_flags & IFF_UP))
        return jet_err_set(err, -ENETDOWN, "interface %s is down (ip link set %s up)", p->ifname,
                           p->ifname);
    if (ioctl(p->ctl, SIOCGIFHWADDR, &r) < 0)
        return jet_err_set(err, -errno, "%s: MAC address: %s", p->ifname, strerror(errno));
    if (r.ifr_hwaddr.sa_family != ARPHRD_ETHER)
        return jet_err_set(err, -EPROTONOSUPPORT,
                           "interface %s is not an Ethernet interface "
                           "(hardware type %u)",
                           p->ifname, r.ifr_hwaddr.sa_family);
    uint8_t mac[6];
    memcpy(mac, r.ifr_hwaddr.sa_data, 6);
    if (ioctl(p->ctl, SIOCGIFMTU, &r) < 0)
        return jet_err_set(err, -errno, "%s: MTU: %s", p->ifname, strerror(errno));
    if (r.ifr_mtu < MIN_IFMTU || r.ifr_mtu > 65535)
        return jet_err_set(err, -EMSGSIZE,
                           "interface %s has MTU %d, outside %d..65535: too small "
                           "for a native frame (28 bytes of header and CRC) and IPv4 "
                           "(ip link set %s mtu 1500)",
                           p->ifname, r.ifr_mtu, MIN_IFMTU, p->ifname);
    p->ifmtu = (uint32_t)r.ifr_mtu;
    memcpy(p->base.caps.mac, mac, 6);
    return 0;
}

/* The TPACKET_V3 receive ring: BLKS blocks of 128 KiB, each holding a
 * 64 KiB GRO/TSO frame whole (40 MiB).  Lending from a block keeps it from
 * the kernel, and when frames come slowly each has a block of its own
 * (retired by the timer): there are more blocks than receive ids, so that
 * frames held up to the last id never stop the ring. */
static int ring_setup(struct pk *p, struct jet_err *err)
{
    int v = TPACKET_V3;
    if (setsockopt(p->fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v) < 0)
        return jet_err_set(err, -errno, "%s: TPACKET_V3: %s", p->ifname, strerror(errno));
    uint32_t frame = MAX_GSO + 256; /* + tpacket3_hdr, sockaddr_ll, alignment */
    p->blk_size = MIN_BLK;
    while (p->blk_size < frame)
        p->blk_size <<= 1;
    p->blks = BLKS;
    struct tpacket_req3 req = {.tp_block_size = p->blk_size,
                               .tp_block_nr = p->blks,
                               .tp_frame_size = 2048,
                               .tp_frame_nr = p->blk_size / 2048 * p->blks,
                               .tp_retire_blk_tov = RETIRE_MS};
    if (setsockopt(p->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0)
        return jet_err_set(err, -errno, "%s: receive ring of %u blocks of %u bytes: %s", p->ifname,
                           p->blks, p->blk_size, strerror(errno));
    p->ring_len = (size_t)p->blk_size * p->blks;
    void *m = mmap(NULL, p->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, p->fd, 0);
    if (m == MAP_FAILED)
        return jet_err_set(err, -errno, "%s: mapping the ring: %s", p->ifname, strerror(errno));
    p->ring = m;
    p->blk_lent = calloc(p->blks, sizeof *p->blk_lent);
    p->blk_walked = calloc(p->blks, 1);
    if (!p->blk_lent || !p->blk_walked)
        return jet_err_set(err, -ENOMEM, "out of memory");
    return 0;
}

static int pk_open(const struct jet_link_name *n, int station, bool monitor,
                   struct jet_link **out, struct jet_err *err)
{
    size_t nl = strlen(n->name);
    if (nl == 0 || nl >= IFNAMSIZ)
        return jet_err_set(err, -EINVAL, "packet: interface name must be 1 to %d characters",
                           IFNAMSIZ - 1);
    unsigned ifindex = if_nametoindex(n->name);
    if (!ifindex)
        return jet_err_set(err, -ENODEV, "interface %s does not exist", n->name);
    struct pk *p = calloc(1, sizeof *p);
    if (!p)
        return jet_err_set(err, -ENOMEM, "out of memory");
    p->ctl = -1;
    p->monitor = monitor;
    memcpy(p->ifname, n->name, nl + 1);
    p->ifindex = (int)ifindex;
    int rc;
    p->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (p->fd < 0) {
        int e = errno;
        rc = e == EPERM || e == EACCES
                 ? jet_err_set(err, -EPERM,
                               "packet:%s needs CAP_NET_RAW (run as root, or setcap "
                               "cap_net_raw+ep)",
                               n->name)
                 : jet_err_set(err, -e, "packet:%s: socket: %s", n->name, strerror(e));
        goto fail;
    }
    p->ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (p->ctl < 0) {
        rc = jet_err_set(err, -errno, "socket: %s", strerror(errno));
        goto fail;
    }
    if ((rc = if_query(p, err)))
        goto fail;
    if (ethnat_init(&p->en, p->base.caps.mac, station)) {
        rc = jet_err_set(err, -EINVAL, "packet:%s: station %d is outside 0..65534", n->name,
                         station);
        goto fail;
    }
    if ((rc = ring_setup(p, err)))
        goto fail;
    int one = 1, sb = 4 << 20;
    if (!monitor) {
        setsockopt(p->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one); /* 4.20+ */
        setsockopt(p->fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb);
        if ((rc = packet_filter_attach(&p->own, p->fd, err)))
            goto fail;
    }
    struct sockaddr_ll a = {
        .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = p->ifindex};
    if (bind(p->fd, (struct sockaddr *)&a, sizeof a) < 0) {
        rc = jet_err_set(err, errno == ENODEV ? -ENODEV : -errno, "packet:%s: bind: %s", n->name,
                         strerror(errno));
        goto fail;
    }
    struct packet_mreq mr = {.mr_ifindex = p->ifindex, .mr_type = PACKET_MR_PROMISC};
    if (monitor && setsockopt(p->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) {
        rc = jet_err_set(err, -errno, "packet:%s: promiscuous mode: %s", n->name,
                         strerror(errno));
        goto fail;
    }
    /* transmit buffers: the frame 64-byte aligned, ETHNAT_HEADROOM before it */
    uint32_t max_frame = p->ifmtu + 18;
    p->stride = (HEADROOM + max_frame + 63) & ~63u;
    p->txmem = aligned_alloc(64, (size_t)TXB * p->stride);
    if (!p->txmem) {
        rc = jet_err_set(err, -ENOMEM, "packet:%s: out of memory for %d buffers", n->name, TXB);
        goto fail;
    }
    for (uint32_t i = 0; i < TXB; i++)
        p->tx_free[i] = TXB - 1 - i;
    p->tx_nfree = TXB;
    for (uint32_t i = 0; i < RXIDS; i++)
        p->rx_free[i] = RXIDS - 1 - i;
    p->rx_nfree = RXIDS;
    p->base.ops = &pk_ops;
    struct jet_link_caps *c = &p->base.caps;
    c->addr = p->en.station;
    c->has_mac = true;
    c->mtu = p->ifmtu - JET_FRAME_OVERHEAD;
    c->eth_mtu = p->ifmtu;
    c->max_frame = monitor ? MAX_GSO : max_frame; /* a monitor lends GRO frames whole */
    c->burst = BURST;
    c->buffers = TXB + RXIDS;
    c->native = c->eth = true;
    snprintf(p->base.name, sizeof p->base.name, "packet:%s", n->name);
    *out = &p->base;
    return 0;
fail:
    pk_free(p);
    return rc;
}

int packet_link_open(const struct jet_link_name *n, int station, struct jet_link **out,
                     struct jet_err *err)
{
    return pk_open(n, station, false, out, err);
}

int packet_monitor_open(const struct jet_link_name *n, struct jet_link **out, struct jet_err *err)
{
    return pk_open(n, -1, true, out, err);
}

static const struct jet_link_ops pk_ops = {
    .kind = "packet",
    .rx_burst = pk_rx_burst,
    .rx_release = pk_rx_release,
    .tx_alloc = pk_tx_alloc,
    .tx_abort = pk_tx_abort,
    .tx_commit = pk_tx_commit,
    .tx_flush = pk_flush,
    .tx_room = pk_tx_room,
    .wait = pk_wait,
    .fd = pk_fd,
    .arm = pk_arm,
    .stats = pk_stats,
    .own = pk_own_op,
    .close = pk_close,
};
