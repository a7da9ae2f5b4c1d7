/* The tap link's virtio-net header work (tap_gso.h): checksum completion
 * and TCPv4 segmentation for frames received, the GSO header for frames
 * sent.  Pure functions over frame bytes; tap.c calls them per frame. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "jet/inet.h"
#include "link/tap_gso.h"

enum {
    ETH = 14,
    TCP_FIN = 0x01,
    TCP_PSH = 0x08,
    TCP_CWR = 0x80,
};

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int tap_tcp4_parse(const uint8_t *f, uint32_t len, struct tap_tcp4 *t)
{
    if (len < ETH + 20 + 20 || rd16(f + 12) != 0x0800)
        return -EINVAL;
    const uint8_t *ip = f + ETH;
    uint32_t ihl = (ip[0] & 15u) * 4;
    if (ip[0] >> 4 != 4 || ihl < 20 || ip[9] != JET_IP_PROTO_TCP || rd16(ip + 2) != len - ETH ||
        (rd16(ip + 6) & (JET_IPV4_MF | JET_IPV4_OFF_MASK)))
        return -EINVAL;
    if (len < ETH + ihl + 20)
        return -EINVAL;
    uint32_t thl = (uint32_t)(ip[ihl + 12] >> 4) * 4;
    if (thl < 20 || len < ETH + ihl + thl)
        return -EINVAL;
    t->ihl = ihl;
    t->thl = thl;
    t->hdr_len = ETH + ihl + thl;
    t->payload = len - t->hdr_len;
    return 0;
}

int tap_csum_complete(uint8_t *f, uint32_t len, uint32_t start, uint32_t off)
{
    if (start >= len || off + 2 > len - start)
        return -EINVAL;
    uint16_t c = jet_inet_csum(jet_inet_sum(f + start, len - start, 0));
    if (c == 0 && off == 6)
        c = 0xFFFF; /* UDP: 0 would mean "no checksum" */
    wr16(f + start + off, c);
    return 0;
}

uint32_t tap_tcp4_seg(const uint8_t *f, const struct tap_tcp4 *t, uint32_t off, uint32_t mss,
                      uint8_t *out)
{
    uint32_t n = t->payload - off < mss ? t->payload - off : mss;
    bool last = off + n >= t->payload;
    memcpy(out, f, t->hdr_len);
    memcpy(out + t->hdr_len, f + t->hdr_len + off, n);
    uint8_t *ip = out + ETH, *th = ip + t->ihl;
    uint32_t tcp_len = t->thl + n;
    wr16(ip + 2, (uint16_t)(t->ihl + tcp_len));
    wr16(ip + 4, (uint16_t)(rd16(ip + 4) + off / mss));
    wr16(ip + 10, 0);
    wr16(ip + 10, jet_inet_csum(jet_inet_sum(ip, t->ihl, 0)));
    wr32(th + 4, rd32(th + 4) + off);
    if (!last)
        th[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
    if (off)
        th[13] &= (uint8_t)~TCP_CWR;
    wr16(th + 16, 0);
    uint32_t sum = jet_inet_pseudo_sum(rd32(ip + 12), rd32(ip + 16), JET_IP_PROTO_TCP,
                                       (uint16_t)tcp_len);
    wr16(th + 16, jet_inet_csum(jet_inet_sum(th, tcp_len, sum)));
    return t->hdr_len + n;
}

int tap_vnet_tx(uint8_t *f, uint32_t len, uint32_t mtu, struct virtio_net_hdr *h)
{
    return tap_vnet_tx_gso(f, len, mtu, 0, h);
}

int tap_vnet_tx_gso(uint8_t *f, uint32_t len, uint32_t mtu, uint32_t gso,
                    struct virtio_net_hdr *h)
{
    memset(h, 0, sizeof *h);
    if (len <= mtu + ETH && !gso)
        return 0;
    struct tap_tcp4 t;
    if (len < ETH + 20 || rd16(f + 12) != 0x0800 || f[ETH + 9] != JET_IP_PROTO_TCP) {
        if (len <= mtu + ETH)
            return 0; /* a hint on a frame that is not TCPv4: an ordinary frame */
        return len <= mtu + 18 ? 0 : -EMSGSIZE; /* not IPv4 TCP: up to a VLAN-tagged MTU */
    }
    if (tap_tcp4_parse(f, len, &t))
        return len <= mtu + ETH ? 0 : -EINVAL;
    if (mtu <= t.ihl + t.thl)
        return -EMSGSIZE;
    uint8_t *ip = f + ETH, *th = ip + t.ihl;
    uint16_t tcp_len = (uint16_t)(len - ETH - t.ihl);
    /* The kernel finishes the checksum (each segment's, when it segments) from the
     * pseudo-header sum (over the whole TCP length) left in the field. */
    uint32_t ps = jet_inet_pseudo_sum(rd32(ip + 12), rd32(ip + 16), JET_IP_PROTO_TCP, tcp_len);
    wr16(th + 16, (uint16_t)~jet_inet_csum(ps));
    if (len <= mtu + ETH) {
        /* one segment: its checksum completed here, so that it is whole on the wire
         * (and in a capture), as it was before TSO; the kernel verifies it */
        return tap_csum_complete(f, len, ETH + t.ihl, 16);
    }
    h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h->csum_start = (uint16_t)(ETH + t.ihl);
    h->csum_offset = 16;
    /* segments of gso bytes, but never over the MTU */
    uint32_t seg = mtu - t.ihl - t.thl;
    if (gso && gso < seg)
        seg = gso;
    h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | (th[13] & TCP_CWR ? VIRTIO_NET_HDR_GSO_ECN : 0);
    h->hdr_len = (uint16_t)t.hdr_len;
    h->gso_size = (uint16_t)seg;
    return 0;
}
