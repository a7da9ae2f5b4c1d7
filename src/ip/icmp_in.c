/* ICMP (RFC 792, RFC 1122 3.2.2): input, and the errors the core sends.
 *
 * Input: echo requests are answered (the request's bytes turned into the
 * reply in place, in core memory: c->rx, or c->big when reassembled, and sent
 * through ip_output, fragmented as needed; never rate-limited).  Echo replies
 * complete the outstanding ping.  Errors (destination unreachable, time
 * exceeded, parameter problem) carry the IPv4 header and at least 8 bytes of
 * a packet we sent: the port that sent it (UDP or TCP source port) hears
 * about it through its ip_l4_ops.error, the ping through its result.
 *
 * Output: destination unreachable, never about an ICMP error, a broadcast
 * (IP or Ethernet), a fragment other than the first (only whole datagrams
 * get here) or a packet from a source that is not a host; it quotes the
 * packet's header and up to IP_ICMP_QUOTE bytes in all (576 bytes at most
 * on the wire, as Linux).  A token bucket of IP_ICMP_RATE a second,
 * IP_ICMP_BURST deep, limits them. */
#include <errno.h>
#include <string.h>

#include "ip/ip_impl.h"
#include "wire/cursor.h"

static const uint64_t COST_NS = 1000000000ull / IP_ICMP_RATE;

static bool rate_ok(struct ip_core *c, uint64_t now)
{
    if (now > c->icmp_last) {
        uint64_t d = now - c->icmp_last;
        uint64_t cap = IP_ICMP_BURST * COST_NS;
        c->icmp_credit = d >= cap || c->icmp_credit + d >= cap ? cap : c->icmp_credit + d;
        c->icmp_last = now;
    }
    if (c->icmp_credit < COST_NS)
        return false;
    c->icmp_credit -= COST_NS;
    return true;
}

static bool is_error_type(uint8_t t)
{
    /* everything but the queries and their replies */
    return !(t == JET_ICMP_ECHO || t == JET_ICMP_ECHO_REPLY || t == 13 || t == 14 || t == 15 ||
             t == 16 || t == 17 || t == 18 || t == 9 || t == 10);
}

void icmp_send_error(struct ip_core *c, const struct ip_pkt_in *in, uint8_t type, uint8_t code,
                     uint64_t now)
{
    if (in->bcast || in->l2bcast || in->src == 0 || ip_is_mcast(in->src) ||
        ip_is_bcast(c, in->src))
        return;
    if ((in->frag & JET_IPV4_OFF_MASK) != 0)
        return;
    if (in->proto == JET_IP_PROTO_ICMP &&
        (in->l4_len < 1 || is_error_type(in->l4[0])))
        return;
    if (!rate_ok(c, now)) {
        c->st.icmp_rate_limited++;
        return;
    }
    uint8_t m[JET_ICMP_HDR_LEN + IP_ICMP_QUOTE];
    size_t q = in->hdr_len + (size_t)in->l4_len;
    if (q > IP_ICMP_QUOTE)
        q = IP_ICMP_QUOTE;
    size_t h = in->hdr_len < q ? in->hdr_len : q;
    memcpy(m + JET_ICMP_HDR_LEN, in->hdr, h);
    memcpy(m + JET_ICMP_HDR_LEN + h, in->l4, q - h);
    struct jet_icmp_hdr ih = {.type = type, .code = code};
    int n = jet_icmp_emit(m, sizeof m, &ih, q);
    if (n < 0)
        return;
    struct iovec v = {m, (size_t)n};
    if (ip_output(c, JET_IP_PROTO_ICMP, in->src, &v, 1, (size_t)n, false, now) == 0 &&
        type == JET_ICMP_DEST_UNREACH)
        c->st.unreach_out++;
}

void ip_l4_error(struct ip_core *c, uint8_t proto, uint32_t dst, const uint8_t *l4, int err,
                 uint32_t mtu, uint64_t now)
{
    const struct ip_port *p = ip_port_find(c, proto, jet_load_be16(l4));
    int k = p ? -1 : ip_proto_find(c, proto);
    if (p)
        p->ops->error(p->sk, err, dst, jet_load_be16(l4 + 2), mtu, now);
    else if (k >= 0)
        c->protos[k].ops->error(c->protos[k].ctx, err, dst, jet_load_be16(l4),
                                jet_load_be16(l4 + 2), mtu, now);
}

static int map_error(uint8_t type, uint8_t code)
{
    if (type == JET_ICMP_DEST_UNREACH) {
        switch (code) {
        case 0: case 6: case 9: case 11:
            return -ENETUNREACH;
        case 2:
            return -ENOPROTOOPT;
        case 3:
            return -ECONNREFUSED;
        case 4:
            return -EMSGSIZE;
        default:
            return -EHOSTUNREACH;
        }
    }
    return -EHOSTUNREACH; /* time exceeded, parameter problem */
}

/* An error about a packet we sent: its quoted header and first 8 bytes. */
static void error_input(struct ip_core *c, const struct ip_pkt_in *in, uint8_t type, uint8_t code,
                        uint32_t rest, uint64_t now)
{
    const uint8_t *q = in->l4 + JET_ICMP_HDR_LEN;
    size_t n = in->l4_len - JET_ICMP_HDR_LEN;
    if (n < JET_IPV4_HDR_LEN || q[0] >> 4 != 4) {
        c->st.icmp_bad++;
        return;
    }
    unsigned hl = (q[0] & 0xF) * 4u;
    if (hl < JET_IPV4_HDR_LEN || n < hl + 8) {
        c->st.icmp_bad++;
        return;
    }
    uint8_t proto = q[9];
    uint32_t src = jet_load_be32(q + 12), dst = jet_load_be32(q + 16);
    if (src != c->cfg.ip.addr)
        return; /* not about a packet of ours */
    int err = map_error(type, code);
    const uint8_t *l4 = q + hl;
    if (proto == JET_IP_PROTO_UDP || proto == JET_IP_PROTO_TCP) {
        ip_l4_error(c, proto, dst, l4, err, err == -EMSGSIZE ? (rest & 0xFFFF) : 0, now);
    } else if (proto == JET_IP_PROTO_ICMP && l4[0] == JET_ICMP_ECHO) {
        uint32_t idseq = jet_load_be32(l4 + 4);
        if (c->ping_active && dst == c->ping_dst &&
            idseq == ((uint32_t)c->ping_id << 16 | c->ping_seq)) {
            c->ping_active = false;
            c->ping_state = err;
        }
    }
}

void icmp_input(struct ip_core *c, struct ip_pkt_in *in, uint64_t now)
{
    struct jet_icmp_hdr h;
    if (in->bcast || jet_icmp_parse(in->l4, in->l4_len, &h, 0)) {
        c->st.icmp_bad++;
        return;
    }
    c->st.icmp_in++;
    switch (h.type) {
    case JET_ICMP_ECHO: {
        if (in->l2bcast)
            return;
        uint8_t *m = in->l4w;
        struct jet_icmp_hdr r = {.type = JET_ICMP_ECHO_REPLY, .code = h.code, .rest = h.rest};
        int n = jet_icmp_emit(m, in->l4_len, &r, in->l4_len - JET_ICMP_HDR_LEN);
        if (n < 0)
            return;
        struct iovec v = {m, (size_t)n};
        if (ip_output(c, JET_IP_PROTO_ICMP, in->src, &v, 1, (size_t)n, false, now) == 0)
            c->st.echo_replies_out++;
        return;
    }
    case JET_ICMP_ECHO_REPLY:
        if (c->ping_active && in->src == c->ping_dst &&
            h.rest == ((uint32_t)c->ping_id << 16 | c->ping_seq)) {
            c->ping_active = false;
            c->ping_state = 1;
            c->ping_rtt = now - c->ping_sent;
        }
        return;
    case JET_ICMP_DEST_UNREACH:
    case JET_ICMP_TIME_EXCEEDED:
    case 12: /* parameter problem */
        c->st.icmp_errors_in++;
        error_input(c, in, h.type, h.code, h.rest, now);
        return;
    default:
        return;
    }
}
