/* libFuzzer target for the IPv4 host core (src/ip): a sequence of frames, with
 * virtual time, into one core (198.18.0.1/24, MTU 576 so that fragments come
 * easily) on a fake link.
 *
 * The input is a program; each op is one byte (low 3 bits: what; the rest: a
 * parameter p) followed by its operands:
 *   0 RAW    len (2 bytes), bytes: fed to ip_input as is (and to ip_rx_check)
 *   1 TIME   2 bytes: advance the clock by that many ms (x p), run ip_poll
 *   2 IPV4   proto, flags, id, offset (2), length (2), payload bytes: a
 *            well-formed Ethernet + IPv4 frame (header checksum right, the
 *            UDP/ICMP checksum fixed when flags say so) so the deeper code -
 *            reassembly, ICMP, UDP delivery - sees hostile content
 *   3 ARP    op, sender and target host bytes, MAC byte: an ARP packet
 *   4 SEND   destination host byte, length (2), df: ip_output
 *   5 PORT   proto, port byte: bind or unbind a UDP/TCP port
 *   6 PING   destination host byte, size (2): ip_ping_start
 *   7 LINK   how many buffers the link lends from now (p % 8, or no limit)
 * After every op: the reassembly bounds hold, every lent buffer came back,
 * ip_next_timeout is not in the past unless something waits for the link.
 * A bound port's deliver answers with ip_output (as an echo service would).
 * Also built with fuzz/replay.inc as a plain driver. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ip/ip_core.h"
#include "ip/ip_impl.h"
#include "jet/inet.h"
#include "wire/cursor.h"
#include "fuzz.h"

enum { MTU = 576, NET = 0xC6120000u, ME = NET | 1 };
static const uint8_t MAC_ME[6] = {0x02, 0x4a, 0x53, 0x00, 0x00, 0x01};

struct link {
    long budget, lent;
    unsigned frames;
    struct ip_core *c;
    uint64_t now;
    int depth;
};

static int l_alloc(void *ctx, struct jet_txbuf *tb)
{
    struct link *l = ctx;
    if (l->budget == 0)
        return -EAGAIN;
    if (l->budget > 0)
        l->budget--;
    MUST(l->lent == 0); /* one at a time: each is committed or aborted before the next */
    tb->cap = MTU + 14;
    tb->payload = malloc(tb->cap);
    MUST(tb->payload);
    l->lent++;
    return 0;
}

static int l_commit(void *ctx, struct jet_txbuf *tb, uint32_t len)
{
    struct link *l = ctx;
    MUST(len <= tb->cap && len >= 14 + 20);
    free(tb->payload);
    l->lent--;
    l->frames++;
    return 0;
}

static void l_abort(void *ctx, struct jet_txbuf *tb)
{
    struct link *l = ctx;
    free(tb->payload);
    l->lent--;
}

static const struct ip_tx_ops ops = {l_alloc, l_commit, l_abort};
static struct link L;

static void deliver(void *sk, uint32_t src, uint32_t dst, const uint8_t *l4, size_t len,
                    uint64_t now)
{
    (void)sk;
    (void)dst;
    if (L.depth++ == 0 && len >= 8) {
        struct iovec v = {(void *)l4, len};
        ip_output(L.c, JET_IP_PROTO_UDP, src, &v, 1, len, false, now);
    }
    L.depth--;
}

static void error(void *sk, int err, uint32_t remote, uint16_t rport, uint32_t mtu, uint64_t now)
{
    (void)sk, (void)remote, (void)rport, (void)mtu, (void)now;
    MUST(err < 0);
}

static const struct ip_l4_ops l4 = {deliver, error};

struct rd {
    const uint8_t *p;
    size_t n;
};
static unsigned get8(struct rd *r)
{
    if (!r->n)
        return 0;
    r->n--;
    return *r->p++;
}
static unsigned get16(struct rd *r)
{
    unsigned h = get8(r);
    return h << 8 | get8(r);
}
static size_t take(struct rd *r, uint8_t *dst, size_t n)
{
    if (n > r->n)
        n = r->n;
    memcpy(dst, r->p, n);
    r->p += n;
    r->n -= n;
    return n;
}

static uint8_t fr[70000];

static void check(void)
{
    struct ip_core *c = L.c;
    MUST(L.lent == 0);
    MUST(c->reasm_n <= IP_REASM_MAX && c->reasm_mem <= IP_REASM_BYTES);
    MUST(c->arp_qbytes <= IP_ARP_QUEUE_BYTES);
    MUST(c->backlog_bytes <= IP_TX_BACKLOG_BYTES);
    uint64_t t = ip_next_timeout(c);
    MUST(c->backlog ? t <= L.now : 1);
}

static void op_ipv4(struct rd *r, unsigned p)
{
    unsigned proto_sel = get8(r), fl = get8(r), id = get8(r), off = get16(r), len = get16(r);
    uint8_t proto = proto_sel % 4 == 0 ? JET_IP_PROTO_UDP
                    : proto_sel % 4 == 1 ? JET_IP_PROTO_ICMP
                    : proto_sel % 4 == 2 ? JET_IP_PROTO_TCP
                                         : (uint8_t)proto_sel;
    uint32_t src = fl & 0x80 ? NET | (p & 0x1F) : NET | 2;
    uint32_t dst = fl & 0x40 ? (fl & 0x20 ? 0xFFFFFFFFu : NET | 0xFF) : ME;
    len %= 4000;
    uint8_t *b = fr;
    memcpy(b, fl & 0x10 ? (const uint8_t[6]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff} : MAC_ME, 6);
    memcpy(b + 6, (const uint8_t[6]){0x02, 0x4a, 0x53, 0, 0, 2}, 6);
    jet_store_be16(b + 12, JET_ETHERTYPE_IPV4);
    uint8_t *pl = b + 34;
    size_t got = take(r, pl, len);
    memset(pl + got, (int)id, len - got);
    if (fl & 0x08) { /* fix the checksum of the L4 header at the front */
        if (proto == JET_IP_PROTO_UDP && len >= 8) {
            jet_store_be16(pl + 4, (uint16_t)len);
            struct jet_udp_hdr u = {.sport = jet_load_be16(pl), .dport = jet_load_be16(pl + 2),
                                    .len = (uint16_t)len};
            jet_udp_emit(pl, len, &u, src, dst);
        } else if (proto == JET_IP_PROTO_ICMP && len >= 8) {
            struct jet_icmp_hdr h = {.type = pl[0], .code = pl[1], .rest = jet_load_be32(pl + 4)};
            jet_icmp_emit(pl, len, &h, len - 8);
        }
    }
    uint16_t frag = (uint16_t)((fl & 1 ? JET_IPV4_MF : 0) | (fl & 2 ? JET_IPV4_DF : 0) |
                               (off & JET_IPV4_OFF_MASK));
    struct jet_ipv4_hdr h = {.hdr_len = 20, .total_len = (uint16_t)(20 + len), .id = (uint16_t)id,
                             .frag = frag, .ttl = (uint8_t)(fl & 4 ? 0 : 64), .proto = proto,
                             .src = src, .dst = dst};
    jet_ipv4_emit(b + 14, 20, &h);
    ip_input(L.c, b, 34 + len, L.now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ip_core_cfg cfg = {.mtu = MTU, .seed = 1};
    cfg.ip.addr = ME;
    cfg.ip.plen = 24;
    cfg.ip.gw = NET | 0xFE;
    cfg.ip.has_mac = true;
    memcpy(cfg.ip.mac, MAC_ME, 6);
    memset(&L, 0, sizeof L);
    L.budget = -1;
    L.now = 1000000000ull;
    MUST(ip_core_new(&cfg, &ops, &L, &L.c, NULL) == 0);
    ip_start(L.c, L.now);
    struct rd r = {data, size};
    unsigned ops_done = 0;
    while (r.n && ops_done++ < 2000) {
        unsigned b = get8(&r), p = b >> 3;
        switch (b & 7) {
        case 0: {
            size_t n = take(&r, fr, get16(&r));
            uint8_t *x = malloc(n ? n : 1); /* exact size: a read past n is caught */
            MUST(x);
            memcpy(x, fr, n);
            struct ip_rx rx;
            if (ip_rx_check(L.c, x, n, &rx) == 0)
                MUST((size_t)rx.l4_off + rx.l4_len <= n);
            ip_input(L.c, x, n, L.now);
            free(x);
            break;
        }
        case 1:
            L.now += (uint64_t)get16(&r) * (p + 1) * 1000000ull;
            ip_poll(L.c, L.now);
            break;
        case 2:
            op_ipv4(&r, p);
            break;
        case 3: {
            unsigned op = get8(&r), s = get8(&r), t = get8(&r), m = get8(&r);
            uint8_t *a = fr;
            memcpy(a, op & 4 ? (const uint8_t[6]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff} : MAC_ME, 6);
            const uint8_t sha[6] = {(uint8_t)(m & 0x81 ? m : 2), 0, 0, 0, 0, (uint8_t)s};
            memcpy(a + 6, sha, 6);
            jet_store_be16(a + 12, JET_ETHERTYPE_ARP);
            struct jet_arp arp = {.op = (uint16_t)(op & 1 ? JET_ARP_REPLY : JET_ARP_REQUEST),
                                  .spa = op & 8 ? s : NET | s, .tpa = op & 2 ? ME : NET | t};
            memcpy(arp.sha, sha, 6);
            jet_arp_emit(a + 14, 28, &arp);
            ip_input(L.c, a, 42, L.now);
            break;
        }
        case 4: {
            unsigned d = get8(&r), n = get16(&r);
            uint32_t dst = p & 1 ? (uint32_t)d << 24 | d : NET | d;
            struct iovec v = {fr, n};
            memset(fr, (int)d, n);
            int rc = ip_output(L.c, (uint8_t)(p & 2 ? JET_IP_PROTO_UDP : 253), dst, &v, 1, n,
                               p & 4, L.now);
            MUST(rc == 0 || rc == -EAGAIN || rc == -ENETUNREACH || rc == -EHOSTUNREACH ||
                 rc == -EMSGSIZE || rc == -ENOBUFS);
            break;
        }
        case 5: {
            uint8_t proto = get8(&r) & 1 ? JET_IP_PROTO_TCP : JET_IP_PROTO_UDP;
            uint16_t port = (uint16_t)get8(&r);
            if (ip_port_bound(L.c, proto, port))
                ip_port_unbind(L.c, proto, port);
            else
                MUST(ip_port_bind(L.c, proto, port, NULL, &l4) == (port ? 0 : -EINVAL));
            break;
        }
        case 6: {
            unsigned d = get8(&r), n = get16(&r);
            ip_ping_start(L.c, NET | d, n, L.now);
            uint64_t rtt;
            int res = ip_ping_result(L.c, &rtt);
            MUST(res <= 1);
            break;
        }
        case 7:
            L.budget = p % 9 == 8 ? -1 : (long)(p % 9);
            break;
        }
        check();
    }
    L.budget = -1;
    ip_poll(L.c, L.now);
    L.now += 60ull * 1000000000;
    ip_poll(L.c, L.now);
    ip_poll(L.c, L.now + 60ull * 1000000000);
    MUST(L.c->reasm_n == 0 && L.c->backlog == NULL);
    ip_core_free(L.c);
    return 0;
}

/* Seeds: an ARP request for us, an echo request in two fragments, time, a
 * datagram to a closed port, a bound port and fragments for it. */
size_t jet_fuzz_seed(unsigned i, uint8_t *buf, size_t cap)
{
    if (cap < 512)
        return 0;
    size_t n = 0;
    switch (i) {
    case 0: /* ARP request for us from .2, then an echo of 16 bytes */
        buf[n++] = 3, buf[n++] = 4 | 2, buf[n++] = 2, buf[n++] = 1, buf[n++] = 2;
        buf[n++] = 2, buf[n++] = 1, buf[n++] = 0x08, buf[n++] = 7, buf[n++] = 0, buf[n++] = 0;
        buf[n++] = 0, buf[n++] = 16;
        buf[n++] = 8, buf[n++] = 0;
        for (int k = 0; k < 14; k++)
            buf[n++] = (uint8_t)k;
        return n;
    case 1: /* two fragments of a UDP datagram to a bound port 7 */
        buf[n++] = 5, buf[n++] = 0, buf[n++] = 7;
        buf[n++] = 2, buf[n++] = 0, buf[n++] = 1, buf[n++] = 9, buf[n++] = 0, buf[n++] = 0,
        buf[n++] = 0, buf[n++] = 16;
        buf[n++] = 0x13, buf[n++] = 0x88, buf[n++] = 0, buf[n++] = 7, buf[n++] = 0, buf[n++] = 24;
        for (int k = 0; k < 10; k++)
            buf[n++] = (uint8_t)k;
        buf[n++] = 2, buf[n++] = 0, buf[n++] = 0, buf[n++] = 9, buf[n++] = 0, buf[n++] = 2,
        buf[n++] = 0, buf[n++] = 8;
        for (int k = 0; k < 8; k++)
            buf[n++] = (uint8_t)k;
        return n;
    case 2: /* a send to an unknown host, time passes, a UDP to a closed port */
        buf[n++] = 4 | (2 << 3), buf[n++] = 9, buf[n++] = 3, buf[n++] = 0;
        buf[n++] = 1, buf[n++] = 0x03, buf[n++] = 0xE8;
        buf[n++] = 1, buf[n++] = 0x03, buf[n++] = 0xE8;
        buf[n++] = 2, buf[n++] = 0, buf[n++] = 0x08, buf[n++] = 3, buf[n++] = 0, buf[n++] = 0,
        buf[n++] = 0, buf[n++] = 12;
        buf[n++] = 0, buf[n++] = 1, buf[n++] = 0, buf[n++] = 99;
        return n;
    case 3: /* the link lends 2 buffers, a big send, time */
        buf[n++] = 3, buf[n++] = 1, buf[n++] = 2, buf[n++] = 1, buf[n++] = 2;
        buf[n++] = 7 | (2 << 3);
        buf[n++] = 4 | (2 << 3), buf[n++] = 2, buf[n++] = 0x0F, buf[n++] = 0xA0;
        buf[n++] = 7 | (8 << 3);
        buf[n++] = 1, buf[n++] = 0, buf[n++] = 1;
        return n;
    default:
        return 0;
    }
}
