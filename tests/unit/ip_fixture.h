/* Shared fixture for the IPv4 core tests (test_ip_arp.c, test_ip_reasm.c,
 * test_ip_core.c): a core on a fake link, virtual time, and builders for the
 * frames a peer sends.
 *
 * The fake struct ip_tx_ops lends heap buffers of fx.cap bytes (so that ASan
 * catches a write past cap), captures every committed frame in fx.out[], and
 * can be told to run out of buffers (fx.budget: allocations left, -1 = no
 * limit).  fx_done() checks that every lent buffer came back.
 *
 * Addresses: we are ME (198.18.0.1/24, MAC_ME), the peer PEER (198.18.0.2,
 * MAC_PEER), the gateway GW (198.18.0.254, MAC_GW). */
#ifndef JET_TEST_IP_FIXTURE_H
#define JET_TEST_IP_FIXTURE_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ip/ip_core.h"
#include "jet/err.h"
#include "jet/frame.h"
#include "jet/inet.h"
#include "wire/cursor.h"

#define ME 0xC6120001u   /* 198.18.0.1 */
#define PEER 0xC6120002u /* 198.18.0.2 */
#define PEER3 0xC6120003u
#define GW 0xC61200FEu   /* 198.18.0.254 */
#define BCAST 0xC61200FFu
#define SEC 1000000000ull
#define MS 1000000ull

static const uint8_t MAC_ME[6] = {0x02, 0x4a, 0x53, 0x00, 0x00, 0x01};
static const uint8_t MAC_PEER[6] = {0x02, 0x4a, 0x53, 0x00, 0x00, 0x02};
static const uint8_t MAC_GW[6] = {0x02, 0x4a, 0x53, 0x00, 0x00, 0xfe};
static const uint8_t MAC_BC[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

struct fx_frame {
    uint8_t *b;
    uint32_t len;
    uint16_t gso; /* jet_txbuf.gso_size at commit */
};

struct fx {
    struct ip_core *c;
    struct fx_frame *out;
    unsigned nout, capout;
    uint32_t cap;  /* bytes each lent buffer has */
    long budget;   /* allocations left; -1: unlimited */
    long lent;     /* buffers out right now */
    uint64_t now;
};

static inline int fx_alloc(void *ctx, struct jet_txbuf *tb)
{
    struct fx *f = ctx;
    if (f->budget == 0)
        return -EAGAIN;
    if (f->budget > 0)
        f->budget--;
    tb->payload = malloc(f->cap);
    REQUIRE(tb->payload);
    tb->cap = f->cap;
    f->lent++;
    return 0;
}

static inline int fx_commit(void *ctx, struct jet_txbuf *tb, uint32_t len)
{
    struct fx *f = ctx;
    REQUIRE(len <= tb->cap);
    if (f->nout == f->capout) {
        f->capout = f->capout ? f->capout * 2 : 64;
        f->out = realloc(f->out, f->capout * sizeof *f->out);
        REQUIRE(f->out);
    }
    f->out[f->nout].b = tb->payload;
    f->out[f->nout].len = len;
    f->out[f->nout].gso = tb->gso_size;
    f->nout++;
    f->lent--;
    return 0;
}

static inline void fx_abort(void *ctx, struct jet_txbuf *tb)
{
    struct fx *f = ctx;
    free(tb->payload);
    f->lent--;
}

static const struct ip_tx_ops fx_ops = {fx_alloc, fx_commit, fx_abort};

static inline void fx_clear(struct fx *f)
{
    for (unsigned i = 0; i < f->nout; i++)
        free(f->out[i].b);
    f->nout = 0;
}

static inline struct ip_core_cfg fx_cfg(uint32_t addr, const uint8_t mac[6], uint32_t gw, uint32_t mtu)
{
    struct ip_core_cfg cfg = {.mtu = mtu, .seed = 42};
    cfg.ip.addr = addr;
    cfg.ip.plen = 24;
    cfg.ip.gw = gw;
    cfg.ip.has_mac = true;
    memcpy(cfg.ip.mac, mac, 6);
    return cfg;
}

static inline void fx_init_cfg(struct fx *f, const struct ip_core_cfg *cfg)
{
    memset(f, 0, sizeof *f);
    f->cap = cfg->mtu + JET_ETH_HDR_LEN;
    f->budget = -1;
    f->now = 1000 * SEC;
    struct jet_err err;
    int rc = ip_core_new(cfg, &fx_ops, f, &f->c, &err);
    if (rc)
        fprintf(stderr, "ip_core_new: %s\n", err.msg);
    REQUIRE(rc == 0);
}

static inline void fx_init(struct fx *f)
{
    struct ip_core_cfg cfg = fx_cfg(ME, MAC_ME, GW, 1500);
    fx_init_cfg(f, &cfg);
}

static inline void fx_done(struct fx *f)
{
    CHECK_EQ(f->lent, 0);
    fx_clear(f);
    free(f->out);
    ip_core_free(f->c);
    f->c = NULL;
}

static inline void fx_in(struct fx *f, const uint8_t *b, size_t n)
{
    /* an exact-size heap copy, so that a read past n is caught under ASan */
    uint8_t *x = malloc(n ? n : 1);
    REQUIRE(x);
    memcpy(x, b, n);
    ip_input(f->c, x, n, f->now);
    free(x);
}

static inline void fx_poll(struct fx *f, uint64_t now)
{
    f->now = now;
    ip_poll(f->c, now);
}

/* ---- builders ---- */

static inline size_t fx_eth(uint8_t *b, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
    memcpy(b, dst, 6);
    memcpy(b + 6, src, 6);
    jet_store_be16(b + 12, type);
    return JET_ETH_HDR_LEN;
}

static inline size_t fx_arp(uint8_t *b, const uint8_t edst[6], uint16_t op, const uint8_t sha[6],
                     uint32_t spa, const uint8_t tha[6], uint32_t tpa)
{
    size_t n = fx_eth(b, edst, sha, JET_ETHERTYPE_ARP);
    struct jet_arp a = {.op = op, .spa = spa, .tpa = tpa};
    memcpy(a.sha, sha, 6);
    memcpy(a.tha, tha, 6);
    return n + (size_t)jet_arp_emit(b + n, JET_ARP_LEN, &a);
}

/* An Ethernet frame with an IPv4 header (checksum right) and payload. */
static inline size_t fx_ip(uint8_t *b, const uint8_t edst[6], uint32_t src, uint32_t dst, uint8_t proto,
                    uint16_t id, uint16_t frag, const void *pl, size_t plen)
{
    size_t n = fx_eth(b, edst, MAC_PEER, JET_ETHERTYPE_IPV4);
    struct jet_ipv4_hdr h = {.hdr_len = 20, .total_len = (uint16_t)(20 + plen), .id = id,
                             .frag = frag, .ttl = 64, .proto = proto, .src = src, .dst = dst};
    jet_ipv4_emit(b + n, 20, &h);
    memmove(b + n + 20, pl, plen);
    return n + 20 + plen;
}

/* A UDP datagram (header + data) with its checksum, into u. */
static inline size_t fx_udp(uint8_t *u, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                     const void *data, size_t n)
{
    memmove(u + 8, data, n);
    struct jet_udp_hdr h = {.sport = sport, .dport = dport, .len = (uint16_t)(8 + n)};
    return (size_t)jet_udp_emit(u, 8 + n, &h, src, dst);
}

/* An ICMP message (header + data) with its checksum, into m. */
static inline size_t fx_icmp(uint8_t *m, uint8_t type, uint8_t code, uint32_t rest, const void *data,
                      size_t n)
{
    memmove(m + 8, data, n);
    struct jet_icmp_hdr h = {.type = type, .code = code, .rest = rest};
    return (size_t)jet_icmp_emit(m, 8 + n, &h, n);
}

/* Parses captured frame i as IPv4: the header, the payload at *pl. */
static inline bool fx_out_ip(const struct fx *f, unsigned i, struct jet_ipv4_hdr *h, const uint8_t **pl)
{
    if (i >= f->nout || f->out[i].len < JET_ETH_HDR_LEN ||
        jet_load_be16(f->out[i].b + 12) != JET_ETHERTYPE_IPV4)
        return false;
    const uint8_t *b = f->out[i].b + JET_ETH_HDR_LEN;
    if (jet_ipv4_parse(b, f->out[i].len - JET_ETH_HDR_LEN, h, 0))
        return false;
    *pl = b + h->hdr_len;
    return true;
}

/* Whether captured frame i is an ARP packet; *a decoded. */
static inline bool fx_out_arp(const struct fx *f, unsigned i, struct jet_arp *a)
{
    return i < f->nout && f->out[i].len >= JET_ETH_HDR_LEN + JET_ARP_LEN &&
           jet_load_be16(f->out[i].b + 12) == JET_ETHERTYPE_ARP &&
           jet_arp_parse(f->out[i].b + JET_ETH_HDR_LEN, f->out[i].len - JET_ETH_HDR_LEN, a) == 0;
}

/* Teaches the core PEER's MAC (an ARP request for us from it) and clears the
 * captured reply. */
static inline void fx_learn(struct fx *f, uint32_t ip, const uint8_t mac[6])
{
    uint8_t b[64];
    static const uint8_t z[6];
    size_t n = fx_arp(b, MAC_BC, JET_ARP_REQUEST, mac, ip, z, ME);
    fx_in(f, b, n);
    fx_clear(f);
}

/* ---- a bound port that records what it hears ---- */

struct fx_sock {
    unsigned delivered, errors;
    uint32_t src, dst, remote;
    uint16_t rport;
    int err;
    uint32_t mtu;
    size_t len;
    uint8_t data[65536];
};

static inline void fx_deliver(void *sk, uint32_t src, uint32_t dst, const uint8_t *l4, size_t len,
                       uint64_t now)
{
    (void)now;
    struct fx_sock *s = sk;
    s->delivered++;
    s->src = src;
    s->dst = dst;
    s->len = len;
    memcpy(s->data, l4, len < sizeof s->data ? len : sizeof s->data);
}

static inline void fx_error(void *sk, int err, uint32_t remote, uint16_t rport, uint32_t mtu,
                     uint64_t now)
{
    (void)now;
    struct fx_sock *s = sk;
    s->errors++;
    s->err = err;
    s->remote = remote;
    s->rport = rport;
    s->mtu = mtu;
}

static const struct ip_l4_ops fx_l4 = {fx_deliver, fx_error};

#endif
