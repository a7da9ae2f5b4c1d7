/* IPv4 output: routing to a next hop, ARP resolution (arp_cache.c), the
 * Ethernet and IPv4 headers, fragmentation to the MTU, and the backlog of
 * datagrams the link had no room for mid-way.
 *
 * Order of a send: ip_output checks sizes and the route, resolves the next
 * hop (or queues a copy on its ARP entry), then ip_out_send writes one frame
 * per lent buffer: one packet, or fragments whose payloads (all but the
 * last) are multiples of 8 bytes, MF set on all but the last.  When the link
 * lends no buffer for the first frame nothing is sent (-EAGAIN); when it
 * stops lending mid-datagram the rest is copied to c->backlog and sent by
 * ip_poll (ip_out_flush), in order, before anything new goes out. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ip/ip_impl.h"
#include "wire/cursor.h"

const uint8_t ip_mac_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static void put_eth(struct ip_core *c, uint8_t *b, const uint8_t mac[6], uint16_t type)
{
    memcpy(b, mac, 6);
    memcpy(b + 6, c->cfg.ip.mac, 6);
    jet_store_be16(b + 12, type);
}

/* One frame of Ethernet type `type` carrying the n bytes at p. */
int ip_out_frame(struct ip_core *c, const uint8_t mac[6], uint16_t type, const void *p, size_t n)
{
    struct jet_txbuf tb;
    int rc = c->tx->alloc(c->tx_ctx, &tb);
    if (rc)
        return rc;
    if (tb.cap < JET_ETH_HDR_LEN + n) {
        c->tx->abort(c->tx_ctx, &tb);
        return -EMSGSIZE;
    }
    put_eth(c, tb.payload, mac, type);
    memcpy(tb.payload + JET_ETH_HDR_LEN, p, n);
    c->tx->commit(c->tx_ctx, &tb, (uint32_t)(JET_ETH_HDR_LEN + n));
    return 0;
}

/* Copies n bytes starting at byte off of the iovec to dst. */
static void iov_copy(uint8_t *dst, const struct iovec *iov, int iovcnt, size_t off, size_t n)
{
    for (int i = 0; i < iovcnt && n; i++) {
        size_t l = iov[i].iov_len;
        if (off >= l) {
            off -= l;
            continue;
        }
        size_t k = l - off < n ? l - off : n;
        memcpy(dst, (const uint8_t *)iov[i].iov_base + off, k);
        dst += k;
        n -= k;
        off = 0;
    }
}

/* Sends bytes [*off, len) of the datagram, as one packet or fragments.
 * 0 when all went; -EAGAIN when the link lent no buffer (*off says how far it
 * got); -EMSGSIZE when a frame cannot fit (df, or a link buffer under 28
 * bytes of IP). */
static int send_frags(struct ip_core *c, const uint8_t mac[6], uint8_t proto, uint32_t dst,
                      bool df, uint16_t id, uint16_t gso, const struct iovec *iov, int iovcnt,
                      size_t len, uint32_t *off)
{
    /* a TSO packet (gso: ip_output_gso let it through) may exceed the MTU: the link
     * segments it */
    uint32_t mtu = gso ? IP_MAX_DGRAM : c->cfg.mtu;
    bool whole = *off == 0 && len + JET_IPV4_HDR_LEN <= mtu;
    do {
        struct jet_txbuf tb;
        int rc = c->tx->alloc(c->tx_ctx, &tb);
        if (rc)
            return -EAGAIN;
        size_t room = tb.cap > JET_ETH_HDR_LEN + JET_IPV4_HDR_LEN
                          ? tb.cap - JET_ETH_HDR_LEN - JET_IPV4_HDR_LEN
                          : 0;
        if (room > mtu - JET_IPV4_HDR_LEN)
            room = mtu - JET_IPV4_HDR_LEN;
        size_t left = len - *off;
        size_t n;
        bool more;
        if (left <= room) {
            n = left;
            more = false;
        } else {
            n = room & ~(size_t)7;
            more = true;
            whole = false;
            if (df || n == 0) {
                c->tx->abort(c->tx_ctx, &tb);
                return -EMSGSIZE;
            }
        }
        uint8_t *b = tb.payload;
        put_eth(c, b, mac, JET_ETHERTYPE_IPV4);
        struct jet_ipv4_hdr h = {
            .hdr_len = JET_IPV4_HDR_LEN,
            .total_len = (uint16_t)(JET_IPV4_HDR_LEN + n),
            .id = id,
            .frag = (uint16_t)((df ? JET_IPV4_DF : 0) | (more ? JET_IPV4_MF : 0) | (*off >> 3)),
            .ttl = IP_TTL,
            .proto = proto,
            .src = c->cfg.ip.addr,
            .dst = dst,
        };
        jet_ipv4_emit(b + JET_ETH_HDR_LEN, JET_IPV4_HDR_LEN, &h);
        iov_copy(b + JET_ETH_HDR_LEN + JET_IPV4_HDR_LEN, iov, iovcnt, *off, n);
        tb.gso_size = gso;
        c->tx->commit(c->tx_ctx, &tb, (uint32_t)(JET_ETH_HDR_LEN + JET_IPV4_HDR_LEN + n));
        if (!whole)
            c->st.frag_out++;
        *off += (uint32_t)n;
    } while (*off < len);
    return 0;
}

struct ip_pkt *ip_pkt_copy(uint8_t proto, uint32_t dst, bool df, const struct iovec *iov,
                           int iovcnt, size_t len)
{
    struct ip_pkt *p = malloc(sizeof *p + len);
    if (!p)
        return NULL;
    memset(p, 0, sizeof *p);
    p->dst = dst;
    p->len = (uint32_t)len;
    p->proto = proto;
    p->df = df;
    iov_copy(p->data, iov, iovcnt, 0, len);
    return p;
}

void ip_out_free_list(struct ip_pkt *p)
{
    while (p) {
        struct ip_pkt *n = p->next;
        free(p);
        p = n;
    }
}

void ip_out_backlog_add(struct ip_core *c, struct ip_pkt *p)
{
    if (c->backlog_bytes + p->len > IP_TX_BACKLOG_BYTES) {
        c->st.arp_queue_drops += p->started ? 0 : 1;
        free(p);
        return;
    }
    p->next = NULL;
    if (c->backlog_tail)
        c->backlog_tail->next = p;
    else
        c->backlog = p;
    c->backlog_tail = p;
    c->backlog_bytes += p->len;
}

/* Sends what waits in the backlog, in order, until the link stops lending. */
void ip_out_flush(struct ip_core *c)
{
    struct ip_pkt *p;
    while ((p = c->backlog)) {
        if (!p->started) {
            p->id = c->ip_id++;
        }
        struct iovec v = {p->data, p->len};
        uint32_t off = p->off;
        int rc = send_frags(c, p->mac, p->proto, p->dst, p->df, p->id, p->gso, &v, 1, p->len,
                            &off);
        if ((off > p->off || rc == 0) && !p->started) {
            p->started = true;
            c->st.ip_out++;
        }
        p->off = off;
        if (rc == -EAGAIN) {
            if (!p->started)
                c->ip_id--; /* not used after all */
            return;
        }
        c->backlog = p->next;
        if (!c->backlog)
            c->backlog_tail = NULL;
        c->backlog_bytes -= p->len;
        free(p);
    }
}

int ip_out_send(struct ip_core *c, const uint8_t mac[6], uint8_t proto, uint32_t dst, bool df,
                uint16_t gso, const struct iovec *iov, int iovcnt, size_t len, uint64_t now)
{
    (void)now;
    if (c->backlog)
        ip_out_flush(c);
    if (c->backlog)
        return -EAGAIN;
    uint16_t id = c->ip_id++;
    uint32_t off = 0;
    int rc = send_frags(c, mac, proto, dst, df, id, gso, iov, iovcnt, len, &off);
    if (rc && off == 0) {
        c->ip_id--;
        return rc;
    }
    c->st.ip_out++;
    if (rc == -EAGAIN) {
        /* The whole datagram is kept so that offsets stay the packet's. */
        struct ip_pkt *p = ip_pkt_copy(proto, dst, df, iov, iovcnt, len);
        if (!p)
            return 0; /* the rest is lost, as on a lossy link */
        p->id = id;
        p->gso = gso;
        p->started = true;
        p->off = off;
        memcpy(p->mac, mac, 6);
        ip_out_backlog_add(c, p);
    }
    return 0;
}

int ip_output(struct ip_core *c, uint8_t proto, uint32_t dst, const struct iovec *iov, int iovcnt,
              size_t len, bool df, uint64_t now)
{
    return ip_output_gso(c, proto, dst, iov, iovcnt, len, df, 0, now);
}

int ip_output_gso(struct ip_core *c, uint8_t proto, uint32_t dst, const struct iovec *iov,
                  int iovcnt, size_t len, bool df, uint16_t gso, uint64_t now)
{
    if (!c->cfg.tso || proto != JET_IP_PROTO_TCP)
        gso = 0; /* an ordinary packet */
    if (len > IP_MAX_DGRAM - JET_IPV4_HDR_LEN ||
        (df && !gso && len + JET_IPV4_HDR_LEN > c->cfg.mtu))
        return -EMSGSIZE;
    if (gso && !df && len + JET_IPV4_HDR_LEN > c->cfg.mtu)
        gso = 0; /* fragmented as asked (only a TSO packet with DF goes whole) */
    uint8_t mac[6];
    if (ip_is_bcast(c, dst)) {
        memcpy(mac, ip_mac_bcast, 6);
    } else {
        uint32_t hop;
        if (ip_in_prefix(c, dst) && dst != c->cfg.ip.addr && !ip_is_mcast(dst) && dst != 0) {
            hop = dst;
        } else if (c->cfg.ip.gw && !ip_in_prefix(c, dst) && !ip_is_mcast(dst) && dst != 0) {
            hop = c->cfg.ip.gw;
        } else {
            c->st.ip_no_route++;
            return -ENETUNREACH;
        }
        int rc = arp_resolve(c, hop, mac, now);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            struct ip_pkt *p = ip_pkt_copy(proto, dst, df, iov, iovcnt, len);
            if (!p) {
                c->st.arp_queue_drops++;
                return -ENOBUFS;
            }
            p->gso = gso;
            return arp_enqueue(c, hop, p);
        }
    }
    return ip_out_send(c, mac, proto, dst, df, gso, iov, iovcnt, len, now);
}
