/* The IPv4 host core: setup, the input path, timers, the port table and ping.
 *
 * Input order (ip_input): the Ethernet header (copied to the stack) -> MAC
 * filter (ours or broadcast) -> EtherType: ARP to arp_input, IPv4 on; the
 * rest of the frame is copied into c->rx once -> ip_check (version, header
 * length, total length, header checksum, TTL, source, destination) ->
 * fragments to reasm_input, which hands back whole datagrams (in c->big) ->
 * dispatch by protocol: ICMP (icmp_in.c), UDP (checksum, then the bound
 * port's deliver or port unreachable), TCP (a bound port's deliver, else
 * the protocol's handler, ip_proto_bind: TCP answers with an RST), others
 * their protocol's handler or protocol unreachable.
 * ip_rx_check runs the same checks on a frame in shared memory for the
 * protocols that take their own channel's frames, reading the header once
 * into a stack copy. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ip/ip_impl.h"
#include "jet/err.h"
#include "util/rng.h"
#include "wire/cursor.h"

static const uint64_t ICMP_COST_NS = 1000000000ull / IP_ICMP_RATE;

static int check_cfg(const struct ip_core_cfg *cfg, struct jet_err *err)
{
    const struct jet_ip_cfg *ip = &cfg->ip;
    uint32_t a = ip->addr;
    if (ip->plen < 1 || ip->plen > 32)
        return jet_err_set(err, -EINVAL, "prefix length %u: must be 1..32", ip->plen);
    uint32_t mask = ip->plen == 32 ? 0xFFFFFFFFu : ~(0xFFFFFFFFu >> ip->plen);
    if (a == 0 || a == 0xFFFFFFFFu || ip_is_mcast(a) || (a >> 24) == 127)
        return jet_err_set(err, -EINVAL, "address: not 0, broadcast, multicast or loopback");
    if (ip->plen <= 30 && ((a & ~mask) == 0 || (a & ~mask) == ~mask))
        return jet_err_set(err, -EINVAL, "address: the prefix's network or broadcast address");
    if (ip->gw) {
        if (((ip->gw ^ a) & mask) != 0)
            return jet_err_set(err, -EINVAL, "gateway: not inside the prefix");
        if (ip->gw == a || ip_is_mcast(ip->gw) ||
            (ip->plen <= 30 && ((ip->gw & ~mask) == 0 || (ip->gw & ~mask) == ~mask)))
            return jet_err_set(err, -EINVAL, "gateway: not a host address of the prefix");
    }
    static const uint8_t zero[6];
    if (!ip->has_mac || (ip->mac[0] & 1) || memcmp(ip->mac, zero, 6) == 0)
        return jet_err_set(err, -EINVAL, "mac: a unicast MAC is needed");
    if (cfg->mtu < 576 || cfg->mtu > 65535)
        return jet_err_set(err, -EINVAL, "mtu %u: must be 576..65535", cfg->mtu);
    return 0;
}

int ip_core_new(const struct ip_core_cfg *cfg, const struct ip_tx_ops *tx, void *tx_ctx,
                struct ip_core **out, struct jet_err *err)
{
    *out = NULL;
    int rc = check_cfg(cfg, err);
    if (rc)
        return rc;
    if (!tx || !tx->alloc || !tx->commit || !tx->abort)
        return jet_err_set(err, -EINVAL, "tx ops missing");
    struct ip_core *c = calloc(1, sizeof *c);
    if (!c)
        return jet_err_set(err, -ENOMEM, "out of memory");
    c->rx = malloc(IP_RX_CAP);
    c->big = malloc(IP_MAX_DGRAM);
    if (!c->rx || !c->big) {
        free(c->rx);
        free(c->big);
        free(c);
        return jet_err_set(err, -ENOMEM, "out of memory");
    }
    c->cfg = *cfg;
    c->tx = tx;
    c->tx_ctx = tx_ctx;
    uint8_t plen = cfg->ip.plen;
    c->mask = plen == 32 ? 0xFFFFFFFFu : ~(0xFFFFFFFFu >> plen);
    c->bcast = plen <= 30 ? (cfg->ip.addr | ~c->mask) : 0xFFFFFFFFu;
    c->ip_id = (uint16_t)jet_mix64(cfg->seed);
    c->ping_id = (uint16_t)jet_mix64(cfg->seed ^ 0x70696e67u);
    c->timer_due = UINT64_MAX;
    c->icmp_credit = IP_ICMP_BURST * ICMP_COST_NS;
    arp_init(c);
    for (unsigned i = 0; i < IP_PORT_BUCKETS; i++)
        c->port_bucket[i] = IP_NIL;
    for (unsigned i = 0; i < IP_PORTS_MAX; i++)
        c->ports[i].next = i + 1 < IP_PORTS_MAX ? (uint16_t)(i + 1) : IP_NIL;
    c->port_free = 0;
    *out = c;
    return 0;
}

void ip_core_free(struct ip_core *c)
{
    if (!c)
        return;
    arp_fini(c);
    reasm_fini(c);
    ip_out_free_list(c->backlog);
    free(c->rx);
    free(c->big);
    free(c);
}

const struct ip_core_cfg *ip_core_cfg(const struct ip_core *c)
{
    return &c->cfg;
}

struct jet_ip_stats *ip_core_stats(struct ip_core *c)
{
    return &c->st;
}

void ip_start(struct ip_core *c, uint64_t now)
{
    (void)now;
    arp_send_request(c, c->cfg.ip.addr, NULL);
}

/* ---- checks ---- */

/* The Ethernet header of a frame, copied: 0, or the counter to bump. */
static int eth_check(struct ip_core *c, const uint8_t *frame, size_t len, struct jet_eth_hdr *e)
{
    uint8_t h[JET_ETH_VLAN_HDR_LEN];
    size_t n = len < sizeof h ? len : sizeof h;
    memcpy(h, frame, n);
    if (jet_eth_parse(h, n, e) || e->vlan != JET_ETH_UNTAGGED) {
        c->st.eth_other++;
        return -EBADMSG;
    }
    if (memcmp(e->dst, c->cfg.ip.mac, 6) != 0 && memcmp(e->dst, ip_mac_bcast, 6) != 0) {
        c->st.eth_not_mine++;
        return -EBADMSG;
    }
    return 0;
}

/* Checks the IPv4 header at h (avail bytes of it in core memory; pktlen
 * bytes follow the Ethernet header in the frame).  Fills in everything but
 * the payload pointers.  0 or -EBADMSG, counted. */
static int ip_check(struct ip_core *c, const uint8_t *h, size_t avail, size_t pktlen,
                    struct ip_pkt_in *in)
{
    if (avail < JET_IPV4_HDR_LEN || h[0] >> 4 != 4)
        goto bad;
    unsigned hl = (h[0] & 0xF) * 4u;
    uint16_t total = jet_load_be16(h + 2);
    if (hl < JET_IPV4_HDR_LEN || hl > avail || total < hl || total > pktlen)
        goto bad;
    if (jet_inet_csum(jet_inet_sum(h, hl, 0)) != 0)
        goto bad;
    in->hdr = h;
    in->hdr_len = (uint8_t)hl;
    in->l4_len = total - hl;
    in->id = jet_load_be16(h + 4);
    in->frag = jet_load_be16(h + 6);
    in->ttl = h[8];
    in->proto = h[9];
    in->src = jet_load_be32(h + 12);
    in->dst = jet_load_be32(h + 16);
    if (in->ttl == 0)
        goto bad;
    in->bcast = ip_is_bcast(c, in->dst);
    if (ip_is_mcast(in->src) || ip_is_bcast(c, in->src) || (in->src == 0 && !in->bcast))
        goto bad;
    if (in->dst != c->cfg.ip.addr && !(in->bcast && in->proto == JET_IP_PROTO_UDP)) {
        c->st.ip_not_mine++;
        return -EBADMSG;
    }
    return 0;
bad:
    c->st.ip_bad++;
    return -EBADMSG;
}

int ip_rx_check(struct ip_core *c, const uint8_t *frame, size_t len, struct ip_rx *out)
{
    struct jet_eth_hdr e;
    if (eth_check(c, frame, len, &e))
        return -EBADMSG;
    if (e.ethertype != JET_ETHERTYPE_IPV4) {
        c->st.eth_other++;
        return -EBADMSG;
    }
    uint8_t h[JET_IPV4_HDR_MAX];
    size_t pktlen = len - e.hdr_len;
    size_t avail = pktlen < sizeof h ? pktlen : sizeof h;
    memcpy(h, frame + e.hdr_len, avail);
    struct ip_pkt_in in;
    if (ip_check(c, h, avail, pktlen, &in))
        return -EBADMSG;
    out->src = in.src;
    out->dst = in.dst;
    out->proto = in.proto;
    out->ttl = in.ttl;
    out->l4_off = (uint16_t)(e.hdr_len + in.hdr_len);
    out->l4_len = (uint16_t)in.l4_len;
    out->frag = (in.frag & (JET_IPV4_MF | JET_IPV4_OFF_MASK)) != 0;
    if (!out->frag)
        c->st.ip_in++;
    return 0;
}

/* ---- ports ---- */

static unsigned port_hash(uint8_t proto, uint16_t port)
{
    return (unsigned)((port * 0x9E37u + proto * 31u) >> 4) & (IP_PORT_BUCKETS - 1);
}

const struct ip_port *ip_port_find(const struct ip_core *c, uint8_t proto, uint16_t port)
{
    for (uint16_t i = c->port_bucket[port_hash(proto, port)]; i != IP_NIL; i = c->ports[i].next)
        if (c->ports[i].port == port && c->ports[i].proto == proto)
            return &c->ports[i];
    return NULL;
}

int ip_port_bind(struct ip_core *c, uint8_t proto, uint16_t port, void *sk,
                 const struct ip_l4_ops *ops)
{
    if (port == 0 || !ops)
        return -EINVAL;
    if (ip_port_find(c, proto, port))
        return -EADDRINUSE;
    if (c->port_free == IP_NIL)
        return -ENOSPC;
    uint16_t i = c->port_free;
    struct ip_port *p = &c->ports[i];
    c->port_free = p->next;
    p->proto = proto;
    p->port = port;
    p->sk = sk;
    p->ops = ops;
    unsigned b = port_hash(proto, port);
    p->next = c->port_bucket[b];
    c->port_bucket[b] = i;
    return 0;
}

void ip_port_unbind(struct ip_core *c, uint8_t proto, uint16_t port)
{
    uint16_t *pp = &c->port_bucket[port_hash(proto, port)];
    while (*pp != IP_NIL) {
        struct ip_port *p = &c->ports[*pp];
        if (p->port == port && p->proto == proto) {
            uint16_t i = *pp;
            *pp = p->next;
            memset(p, 0, sizeof *p);
            p->next = c->port_free;
            c->port_free = i;
            return;
        }
        pp = &p->next;
    }
}

bool ip_port_bound(const struct ip_core *c, uint8_t proto, uint16_t port)
{
    return ip_port_find(c, proto, port) != NULL;
}

int ip_proto_find(const struct ip_core *c, uint8_t proto)
{
    for (int i = 0; i < IP_PROTO_HOOKS; i++)
        if (c->protos[i].proto == proto && proto)
            return i;
    return -1;
}

int ip_proto_bind(struct ip_core *c, uint8_t proto, void *ctx, const struct ip_proto_ops *ops)
{
    if (!proto || !ops || !ops->deliver || !ops->error)
        return -EINVAL;
    if (ip_proto_find(c, proto) >= 0)
        return -EADDRINUSE;
    for (int i = 0; i < IP_PROTO_HOOKS; i++)
        if (!c->protos[i].proto) {
            c->protos[i].proto = proto;
            c->protos[i].ctx = ctx;
            c->protos[i].ops = ops;
            return 0;
        }
    return -ENOSPC;
}

void ip_proto_unbind(struct ip_core *c, uint8_t proto)
{
    int i = ip_proto_find(c, proto);
    if (i >= 0)
        memset(&c->protos[i], 0, sizeof c->protos[i]);
}

/* ---- input ---- */

static void udp_input(struct ip_core *c, struct ip_pkt_in *in, uint64_t now)
{
    struct jet_udp_hdr u;
    if (jet_udp_parse(in->l4, in->l4_len, in->src, in->dst, &u, 0)) {
        c->st.udp_bad++;
        return;
    }
    const struct ip_port *p = ip_port_find(c, JET_IP_PROTO_UDP, u.dport);
    if (p) {
        c->st.udp_in++;
        p->ops->deliver(p->sk, in->src, in->dst, in->l4, u.len, now);
        return;
    }
    c->st.udp_no_port++;
    icmp_send_error(c, in, JET_ICMP_DEST_UNREACH, 3, now);
}

static void dispatch(struct ip_core *c, struct ip_pkt_in *in, uint64_t now)
{
    switch (in->proto) {
    case JET_IP_PROTO_ICMP:
        icmp_input(c, in, now);
        return;
    case JET_IP_PROTO_UDP:
        udp_input(c, in, now);
        return;
    case JET_IP_PROTO_TCP:
        if (in->l4_len >= 4) {
            const struct ip_port *p =
                ip_port_find(c, JET_IP_PROTO_TCP, jet_load_be16(in->l4 + 2));
            if (p) {
                p->ops->deliver(p->sk, in->src, in->dst, in->l4, in->l4_len, now);
                return;
            }
        }
        break;
    default:
        break;
    }
    int k = ip_proto_find(c, in->proto);
    if (k >= 0) { /* the protocol answers itself (TCP: an RST) */
        c->protos[k].ops->deliver(c->protos[k].ctx, in->src, in->dst, in->l4, in->l4_len, now);
        return;
    }
    c->st.proto_unknown++;
    icmp_send_error(c, in, JET_ICMP_DEST_UNREACH, 2, now);
}

void ip_input(struct ip_core *c, const uint8_t *frame, size_t len, uint64_t now)
{
    struct jet_eth_hdr e;
    if (eth_check(c, frame, len, &e))
        return;
    size_t n = len - e.hdr_len;
    if (n > IP_RX_CAP)
        n = IP_RX_CAP; /* more than any IPv4 packet: the rest is padding */
    switch (e.ethertype) {
    case JET_ETHERTYPE_ARP: {
        uint8_t a[JET_ARP_LEN];
        size_t k = n < sizeof a ? n : sizeof a;
        memcpy(a, frame + e.hdr_len, k);
        arp_input(c, a, k, now);
        return;
    }
    case JET_ETHERTYPE_IPV4:
        break;
    case JET_ETHERTYPE:
        return; /* a Jetstream frame: not ours to count */
    default:
        c->st.eth_other++;
        return;
    }
    memcpy(c->rx, frame + e.hdr_len, n);
    struct ip_pkt_in in;
    if (ip_check(c, c->rx, n < JET_IPV4_HDR_MAX ? n : JET_IPV4_HDR_MAX, n, &in))
        return;
    c->st.ip_in++;
    in.l2bcast = memcmp(e.dst, ip_mac_bcast, 6) == 0;
    in.l4w = c->rx + in.hdr_len;
    in.l4 = in.l4w;
    if (in.frag & (JET_IPV4_MF | JET_IPV4_OFF_MASK)) {
        c->st.frag_in++;
        struct ip_pkt_in whole;
        if (!reasm_input(c, &in, &whole, now))
            return;
        dispatch(c, &whole, now);
        return;
    }
    dispatch(c, &in, now);
}

/* ---- timers ---- */

void ip_poll(struct ip_core *c, uint64_t now)
{
    if (c->backlog)
        ip_out_flush(c);
    if (now < c->timer_due)
        return;
    arp_timers(c, now);
    reasm_timers(c, now);
    uint64_t a = arp_next_due(c), r = reasm_next_due(c);
    c->timer_due = a < r ? a : r;
}

uint64_t ip_next_timeout(const struct ip_core *c)
{
    return c->backlog ? 0 : c->timer_due;
}

/* ---- ping ---- */

int ip_ping_start(struct ip_core *c, uint32_t dst, size_t data, uint64_t now)
{
    if (data > IP_MAX_DGRAM - JET_IPV4_HDR_LEN - JET_ICMP_HDR_LEN)
        return -EMSGSIZE;
    c->ping_seq++;
    uint8_t *m = c->big;
    for (size_t i = 0; i < data; i++)
        m[JET_ICMP_HDR_LEN + i] = (uint8_t)i;
    struct jet_icmp_hdr h = {
        .type = JET_ICMP_ECHO,
        .rest = (uint32_t)c->ping_id << 16 | c->ping_seq,
    };
    int n = jet_icmp_emit(m, IP_MAX_DGRAM, &h, data);
    if (n < 0)
        return n;
    c->ping_dst = dst;
    c->ping_hop = ip_in_prefix(c, dst) || !c->cfg.ip.gw ? dst : c->cfg.ip.gw;
    c->ping_sent = now;
    c->ping_state = 0;
    c->ping_active = true;
    struct iovec v = {m, (size_t)n};
    int rc = ip_output(c, JET_IP_PROTO_ICMP, dst, &v, 1, (size_t)n, false, now);
    if (rc < 0) {
        c->ping_active = false;
        c->ping_state = rc;
    }
    return rc;
}

int ip_ping_result(const struct ip_core *c, uint64_t *rtt_ns)
{
    if (c->ping_state == 1 && rtt_ns)
        *rtt_ns = c->ping_rtt;
    return c->ping_state;
}

void ip_ping_fail(struct ip_core *c, uint32_t hop_or_dst, int err)
{
    if (c->ping_active && (c->ping_hop == hop_or_dst || c->ping_dst == hop_or_dst)) {
        c->ping_active = false;
        c->ping_state = err;
    }
}
