/* Unit tests for the IPv4 core (src/ip/): configuration, address text,
 * ip_rx_check, ICMP echo (exact bytes; 64 KiB reassembled and answered
 * fragmented, between two cores), fragmentation output (sizes, offsets, MF,
 * ids, our output reassembled), the link backlog, destination unreachable
 * (port, protocol, rate limit, when none is sent), ICMP errors received
 * reaching the bound port, UDP and TCP delivery, and ping.
 * Virtual time only; frames go through the fake link of ip_fixture.h. */
#include "ip_fixture.h"
#include "ip/ip_impl.h"
#include "jet/ip.h"

static uint8_t fb[70000], pl[70000], pl2[70000];

/* ---- configuration ---- */

static void test_cfg(void)
{
    static const struct {
        uint32_t addr;
        uint8_t plen;
        uint32_t gw, mtu;
        bool mac_ok;
        int rc;
    } t[] = {
        {ME, 24, GW, 1500, true, 0},
        {ME, 24, 0, 1500, true, 0},
        {ME, 32, 0, 576, true, 0},
        {ME, 31, 0, 65535, true, 0},
        {0, 24, 0, 1500, true, -EINVAL},
        {0xFFFFFFFF, 24, 0, 1500, true, -EINVAL},
        {0xE0000001, 24, 0, 1500, true, -EINVAL},  /* multicast */
        {0x7F000001, 8, 0, 1500, true, -EINVAL},   /* loopback */
        {0xC6120000, 24, 0, 1500, true, -EINVAL},  /* network address */
        {BCAST, 24, 0, 1500, true, -EINVAL},       /* prefix broadcast */
        {ME, 0, 0, 1500, true, -EINVAL},
        {ME, 33, 0, 1500, true, -EINVAL},
        {ME, 24, 0xC6130001, 1500, true, -EINVAL}, /* gateway off the prefix */
        {ME, 24, ME, 1500, true, -EINVAL},         /* gateway = us */
        {ME, 24, BCAST, 1500, true, -EINVAL},
        {ME, 24, 0, 575, true, -EINVAL},
        {ME, 24, 0, 65536, true, -EINVAL},
        {ME, 24, 0, 1500, false, -EINVAL},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct ip_core_cfg cfg = fx_cfg(t[i].addr, MAC_ME, t[i].gw, t[i].mtu);
        cfg.ip.plen = t[i].plen;
        cfg.ip.has_mac = t[i].mac_ok;
        struct ip_core *c = NULL;
        struct jet_err err = {0};
        int rc = ip_core_new(&cfg, &fx_ops, NULL, &c, &err);
        CHECK_EQ(rc, t[i].rc);
        if (rc)
            CHECK(err.msg[0] != 0 && c == NULL);
        ip_core_free(c);
    }
    /* a multicast MAC */
    static const uint8_t mm[6] = {0x01, 0, 0x5e, 0, 0, 1};
    struct ip_core_cfg cfg = fx_cfg(ME, mm, 0, 1500);
    struct ip_core *c = NULL;
    CHECK_EQ(ip_core_new(&cfg, &fx_ops, NULL, &c, NULL), -EINVAL);
}

/* ---- text ---- */

static void test_text(void)
{
    static const struct {
        const char *s;
        bool with_plen;
        int rc;
        uint32_t a;
        uint8_t p;
    } t[] = {
        {"198.18.0.1", true, 0, 0xC6120001, 32},
        {"198.18.0.1/24", true, 0, 0xC6120001, 24},
        {"0.0.0.0/0", true, 0, 0, 0},
        {"255.255.255.255/32", true, 0, 0xFFFFFFFF, 32},
        {"198.18.0.1", false, 0, 0xC6120001, 0},
        {"198.18.0.1/24", false, -EINVAL, 0, 0},
        {"198.18.0.1/33", true, -EINVAL, 0, 0},
        {"198.18.0.1/", true, -EINVAL, 0, 0},
        {"198.18.0.1/024", true, -EINVAL, 0, 0},
        {"198.18.0", true, -EINVAL, 0, 0},
        {"198.18.0.1.5", true, -EINVAL, 0, 0},
        {"198.18.0.256", true, -EINVAL, 0, 0},
        {"198.18.0.1000", true, -EINVAL, 0, 0},
        {"198.18..1", true, -EINVAL, 0, 0},
        {" 198.18.0.1", true, -EINVAL, 0, 0},
        {"198.18.0.1 ", true, -EINVAL, 0, 0},
        {"198.18.0.-1", true, -EINVAL, 0, 0},
        {"a.b.c.d", true, -EINVAL, 0, 0},
        {"", true, -EINVAL, 0, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint32_t a = 0;
        uint8_t p = 0;
        int rc = jet_ip_parse(t[i].s, &a, t[i].with_plen ? &p : NULL);
        CHECK_EQ(rc, t[i].rc);
        if (rc == 0) {
            CHECK_EQ(a, t[i].a);
            if (t[i].with_plen)
                CHECK_EQ(p, t[i].p);
        }
    }
    char buf[16];
    CHECK(strcmp(jet_ip_format(0xC6120001, buf), "198.18.0.1") == 0);
    CHECK(strcmp(jet_ip_format(0xFFFFFFFF, buf), "255.255.255.255") == 0);
    CHECK(strcmp(jet_ip_format(0, buf), "0.0.0.0") == 0);
}

/* ---- ip_rx_check ---- */

enum mut { M_NONE, M_VER, M_IHL4, M_IHL_BIG, M_TOTAL_BIG, M_TOTAL_SMALL, M_CSUM, M_TTL0,
           M_SRC_MC, M_SRC_BC, M_SRC0, M_DST_OTHER, M_DST_BC_UDP, M_DST_BC_ICMP, M_DST_LBC_UDP,
           M_SRC0_BC_UDP, M_FRAG, M_MF, M_OPTS, M_MAC_OTHER, M_MAC_BC, M_VLAN, M_ARP };

static void test_rx_check(void)
{
    static const struct {
        enum mut m;
        int rc;
        bool frag;
        uint16_t l4_off;
    } t[] = {
        {M_NONE, 0, false, 34},       {M_VER, -EBADMSG, 0, 0},
        {M_IHL4, -EBADMSG, 0, 0},     {M_IHL_BIG, -EBADMSG, 0, 0},
        {M_TOTAL_BIG, -EBADMSG, 0, 0}, {M_TOTAL_SMALL, -EBADMSG, 0, 0},
        {M_CSUM, -EBADMSG, 0, 0},     {M_TTL0, -EBADMSG, 0, 0},
        {M_SRC_MC, -EBADMSG, 0, 0},   {M_SRC_BC, -EBADMSG, 0, 0},
        {M_SRC0, -EBADMSG, 0, 0},     {M_DST_OTHER, -EBADMSG, 0, 0},
        {M_DST_BC_UDP, 0, false, 34}, {M_DST_BC_ICMP, -EBADMSG, 0, 0},
        {M_DST_LBC_UDP, 0, false, 34}, {M_SRC0_BC_UDP, 0, false, 34},
        {M_FRAG, 0, true, 34},        {M_MF, 0, true, 34},
        {M_OPTS, 0, false, 38},       {M_MAC_OTHER, -EBADMSG, 0, 0},
        {M_MAC_BC, 0, false, 34},     {M_VLAN, -EBADMSG, 0, 0},
        {M_ARP, -EBADMSG, 0, 0},
    };
    struct fx f;
    fx_init(&f);
    uint8_t u[64];
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        enum mut m = t[i].m;
        uint32_t src = PEER, dst = ME;
        uint8_t proto = JET_IP_PROTO_UDP;
        if (m == M_SRC_MC) src = 0xE0000001;
        if (m == M_SRC_BC) src = BCAST;
        if (m == M_SRC0 || m == M_SRC0_BC_UDP) src = 0;
        if (m == M_DST_OTHER) dst = PEER3;
        if (m == M_DST_BC_UDP || m == M_DST_BC_ICMP) dst = BCAST;
        if (m == M_DST_LBC_UDP || m == M_SRC0_BC_UDP) dst = 0xFFFFFFFF;
        if (m == M_DST_BC_ICMP) proto = JET_IP_PROTO_ICMP;
        size_t un = fx_udp(u, src, dst, 1000, 2000, "hello", 5);
        uint16_t frag = m == M_FRAG ? 100 : m == M_MF ? JET_IPV4_MF : 0;
        size_t n = fx_ip(fb, m == M_MAC_BC ? MAC_BC : MAC_ME, src, dst, proto, 1, frag, u, un);
        uint8_t *ip = fb + 14;
        bool resum = true;
        switch (m) {
        case M_VER: ip[0] = 0x65; break;
        case M_IHL4: ip[0] = 0x44; break;
        case M_IHL_BIG: ip[0] = 0x4F; break;
        case M_TOTAL_BIG: jet_store_be16(ip + 2, (uint16_t)(n - 14 + 1)); break;
        case M_TOTAL_SMALL: jet_store_be16(ip + 2, 19); break;
        case M_CSUM: ip[10] ^= 1; resum = false; break;
        case M_TTL0: ip[8] = 0; break;
        case M_OPTS: /* one 4-byte option: NOP NOP NOP EOL */
            memmove(ip + 24, ip + 20, un);
            memcpy(ip + 20, "\x01\x01\x01\x00", 4);
            ip[0] = 0x46;
            jet_store_be16(ip + 2, (uint16_t)(24 + un));
            n += 4;
            break;
        case M_MAC_OTHER: fb[5] = 0x77; break;
        case M_VLAN:
            memmove(fb + 16, fb + 12, n - 12);
            jet_store_be16(fb + 12, 0x8100);
            jet_store_be16(fb + 14, 5);
            n += 4;
            resum = false;
            break;
        case M_ARP: jet_store_be16(fb + 12, JET_ETHERTYPE_ARP); break;
        default: break;
        }
        if (resum && m != M_VLAN) {
            unsigned hl = (ip[0] & 0xF) * 4u;
            if (hl >= 20 && hl + 14 <= n) {
                jet_store_be16(ip + 10, 0);
                jet_store_be16(ip + 10, jet_inet_csum(jet_inet_sum(ip, hl, 0)));
            }
        }
        struct ip_rx rx;
        uint8_t *x = malloc(n);
        memcpy(x, fb, n);
        int rc = ip_rx_check(f.c, x, n, &rx);
        free(x);
        CHECK_EQ(rc, t[i].rc);
        if (rc != t[i].rc)
            fprintf(stderr, "  row %zu\n", i);
        if (rc == 0) {
            CHECK_EQ(rx.frag, t[i].frag);
            CHECK_EQ(rx.l4_off, t[i].l4_off);
            CHECK_EQ(rx.l4_len, un);
            CHECK_EQ(rx.src, src);
            CHECK_EQ(rx.dst, dst);
            CHECK_EQ(rx.proto, proto);
            CHECK_EQ(rx.ttl, 64);
        }
    }
    struct jet_ip_stats *st = ip_core_stats(f.c);
    CHECK_EQ(st->ip_bad, 10);
    CHECK_EQ(st->ip_not_mine, 2);
    CHECK_EQ(st->eth_not_mine, 1);
    CHECK_EQ(st->eth_other, 2);
    CHECK_EQ(st->ip_in, 6); /* fragments are counted by ip_input */
    /* every truncation of a good frame: never a read past the end */
    size_t un = fx_udp(u, PEER, ME, 1000, 2000, "hello", 5);
    size_t n = fx_ip(fb, MAC_ME, PEER, ME, JET_IP_PROTO_UDP, 1, 0, u, un);
    for (size_t k = 0; k < n; k++) {
        uint8_t *x = malloc(k ? k : 1);
        memcpy(x, fb, k);
        struct ip_rx rx;
        CHECK_EQ(ip_rx_check(f.c, x, k, &rx), -EBADMSG);
        ip_input(f.c, x, k, f.now);
        free(x);
    }
    CHECK_EQ(f.nout, 0);
    fx_done(&f);
}

/* ---- ICMP echo ---- */

static void test_echo_bytes(void)
{
    struct fx f;
    fx_init(&f);
    fx_learn(&f, PEER, MAC_PEER);
    uint8_t m[64];
    size_t mn = fx_icmp(m, JET_ICMP_ECHO, 0, 0xabcd0001, "pingdata", 8);
    size_t n = fx_ip(fb, MAC_ME, PEER, ME, JET_IP_PROTO_ICMP, 0x1234, 0, m, mn);
    fx_in(&f, fb, n);
    static const uint8_t want[] = {
        0x02, 0x4a, 0x53, 0x00, 0x00, 0x02, 0x02, 0x4a, 0x53, 0x00, 0x00, 0x01, 0x08, 0x00,
        /* IPv4: 36 bytes, id from the seeded generator (seed 42), TTL 64, ICMP */
        0x45, 0x00, 0x00, 0x24, 0x76, 0x22, 0x00, 0x00, 0x40, 0x01, 0x78, 0x8f,
        0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02,
        /* echo reply, id 0xabcd, seq 1, the request's data */
        0x00, 0x00, 0x9c, 0x9d, 0xab, 0xcd, 0x00, 0x01,
        'p', 'i', 'n', 'g', 'd', 'a', 't', 'a'};
    CHECK_EQ(f.nout, 1);
    if (f.nout == 1) {
        CHECK_EQ(f.out[0].len, sizeof want);
        CHECK(f.out[0].len == sizeof want && memcmp(f.out[0].b, want, sizeof want) == 0);
    }
    struct jet_ip_stats *st = ip_core_stats(f.c);
    CHECK_EQ(st->echo_replies_out, 1);
    CHECK_EQ(st->icmp_in, 1);
    CHECK_EQ(st->ip_out, 1);
    /* bad ICMP checksum: no reply */
    fx_clear(&f);
    m[2] ^= 0xFF;
    n = fx_ip(fb, MAC_ME, PEER, ME, JET_IP_PROTO_ICMP, 0x1235, 0, m, mn);
    fx_in(&f, fb, n);
    CHECK_EQ(f.nout, 0);
    CHECK_EQ(st->icmp_bad, 1);
    /* echo to the broadcast address, or on Ethernet broadcast: ignored */
    m[2] ^= 0xFF;
    n = fx_ip(fb, MAC_BC, PEER, BCAST, JET_IP_PROTO_ICMP, 0x1236, 0, m, mn);
    fx_in(&f, fb, n);
    n = fx_ip(fb, MAC_BC, PEER, ME, JET_IP_PROTO_ICMP, 0x1237, 0, m, mn);
    fx_in(&f, fb, n);
    CHECK_EQ(f.nout, 0);
    fx_done(&f);
}

/* Moves every frame a sent to b (then clears a's). */
static void pump(struct fx *a, struct fx *b)
{
    for (unsigned i = 0; i < a->nout; i++)
        ip_input(b->c, a->out[i].b, a->out[i].len, b->now);
    fx_clear(a);
}

/* Two cores on one wire: B pings A with 65507 bytes (the largest); both
 * directions fragment, both reassemble. */
static void test_echo_64k(void)
{
    struct fx a, b;
    fx_init(&a);
    struct ip_core_cfg cb = fx_cfg(PEER, MAC_PEER, 0, 1500);
    fx_init_cfg(&b, &cb);
    fx_learn(&a, PEER, MAC_PEER);
    uint8_t req[64];
    static const uint8_t z[6];
    size_t n = fx_arp(req, MAC_BC, JET_ARP_REQUEST, MAC_ME, ME, z, PEER);
    fx_in(&b, req, n);
    fx_clear(&b);

    CHECK_EQ(ip_ping_start(b.c, ME, 65507, b.now), 0);
    CHECK_EQ(ip_ping_result(b.c, NULL), 0);
    unsigned nfr = b.nout;
    CHECK_EQ(nfr, 45); /* 65535 bytes of IPv4 in 1480-byte pieces */
    /* every fragment: same id, offsets follow, MF on all but the last */
    uint32_t off = 0, id = 0;
    for (unsigned i = 0; i < b.nout; i++) {
        struct jet_ipv4_hdr h;
        const uint8_t *p;
        REQUIRE(fx_out_ip(&b, i, &h, &p));
        if (i == 0)
            id = h.id;
        CHECK_EQ(h.id, id);
        CHECK_EQ((h.frag & JET_IPV4_OFF_MASK) * 8u, off);
        CHECK_EQ(!!(h.frag & JET_IPV4_MF), i + 1 < b.nout);
        CHECK(!(h.frag & JET_IPV4_DF));
        CHECK(h.total_len <= 1500);
        if (i + 1 < b.nout)
            CHECK_EQ((h.total_len - 20u) % 8, 0);
        off += h.total_len - 20u;
    }
    CHECK_EQ(off, 65515);
    a.now = b.now + 3 * MS;
    pump(&b, &a);
    struct jet_ip_stats *sa = ip_core_stats(a.c);
    CHECK_EQ(sa->reasm_ok, 1);
    CHECK_EQ(sa->frag_in, 45);
    CHECK_EQ(sa->echo_replies_out, 1);
    CHECK_EQ(a.nout, 45);
    CHECK_EQ(sa->frag_out, 45);
    CHECK_EQ(sa->ip_out, 1);
    b.now = a.now + 4 * MS;
    pump(&a, &b);
    uint64_t rtt = 0;
    CHECK_EQ(ip_ping_result(b.c, &rtt), 1);
    CHECK_EQ(rtt, 7 * MS);
    CHECK_EQ(ip_core_stats(b.c)->reasm_ok, 1);
    /* too big */
    CHECK_EQ(ip_ping_start(b.c, ME, 65508, b.now), -EMSGSIZE);
    fx_done(&a);
    fx_done(&b);
}

/* ---- fragmentation output ---- */

static void test_frag_out(void)
{
    static const struct {
        uint32_t mtu;
        size_t len;
        unsigned frames;
    } t[] = {
        {1500, 0, 1},     {1500, 1, 1},      {1500, 1480, 1},  {1500, 1481, 2},
        {1500, 2960, 2},  {1500, 2961, 3},   {1500, 65515, 45}, {576, 556, 1},
        {576, 557, 2},    {576, 65515, 119}, {9000, 65515, 8},  {1501, 3000, 3},
    };
    uint16_t last_id = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct fx a, b;
        struct ip_core_cfg ca = fx_cfg(ME, MAC_ME, 0, t[i].mtu);
        struct ip_core_cfg cb = fx_cfg(PEER, MAC_PEER, 0, t[i].mtu);
        fx_init_cfg(&a, &ca);
        fx_init_cfg(&b, &cb);
        fx_learn(&a, PEER, MAC_PEER);
        struct fx_sock *s = calloc(1, sizeof *s);
        REQUIRE(ip_port_bind(b.c, JET_IP_PROTO_UDP, 7, s, &fx_l4) == 0);
        for (size_t k = 0; k < t[i].len; k++)
            pl[k] = (uint8_t)(k * 7 + i);
        size_t un = 0;
        if (t[i].len >= 8)
            un = fx_udp(pl2, ME, PEER, 9, 7, pl, t[i].len - 8);
        else
            memcpy(pl2, pl, un = t[i].len);
        /* two pieces of iovec, split unevenly */
        struct iovec v[2] = {{pl2, un / 3}, {pl2 + un / 3, un - un / 3}};
        CHECK_EQ(ip_output(a.c, JET_IP_PROTO_UDP, PEER, v, 2, un, false, a.now), 0);
        CHECK_EQ(a.nout, t[i].frames);
        uint32_t off = 0;
        for (unsigned k = 0; k < a.nout; k++) {
            struct jet_ipv4_hdr h;
            const uint8_t *p;
            REQUIRE(fx_out_ip(&a, k, &h, &p));
            CHECK(h.total_len <= t[i].mtu);
            CHECK_EQ((h.frag & JET_IPV4_OFF_MASK) * 8u, off);
            CHECK_EQ(!!(h.frag & JET_IPV4_MF), k + 1 < a.nout);
            CHECK(memcmp(p, pl2 + off, h.total_len - 20u) == 0);
            CHECK(memcmp(a.out[k].b, MAC_PEER, 6) == 0);
            if (i > 0 && k == 0)
                CHECK(h.id != last_id || a.nout == 1); /* each core starts at the same seed */
            off += h.total_len - 20u;
        }
        CHECK_EQ(off, un);
        pump(&a, &b);
        if (t[i].len >= 8) {
            CHECK_EQ(s->delivered, 1);
            CHECK(s->len == un && memcmp(s->data, pl2, un) == 0);
        }
        /* DF */
        if (un + 20 > t[i].mtu)
            CHECK_EQ(ip_output(a.c, JET_IP_PROTO_UDP, PEER, v, 2, un, true, a.now), -EMSGSIZE);
        free(s);
        fx_done(&a);
        fx_done(&b);
    }
    /* ids differ between datagrams */
    struct fx a;
    fx_init(&a);
    fx_learn(&a, PEER, MAC_PEER);
    struct iovec v = {pl, 100};
    for (int k = 0; k < 3; k++)
        CHECK_EQ(ip_output(a.c, JET_IP_PROTO_UDP, PEER, &v, 1, 100, false, a.now), 0);
    struct jet_ipv4_hdr h[3];
    const uint8_t *p;
    for (int k = 0; k < 3; k++)
        REQUIRE(fx_out_ip(&a, (unsigned)k, &h[k], &p));
    CHECK(h[0].id != h[1].id && h[1].id != h[2].id && h[0].id != h[2].id);
    /* over 65535 in all */
    CHECK_EQ(ip_output(a.c, JET_IP_PROTO_UDP, PEER, &v, 1, 65516, false, a.now), -EMSGSIZE);
    /* routes */
    CHECK_EQ(ip_output(a.c, JET_IP_PROTO_UDP, 0x08080808, &v, 1, 100, false, a.now), 0);
    struct jet_arp arp;
    CHECK(fx_out_arp(&a, 3, &arp) && arp.tpa == GW); /* off the prefix: via the gateway */
    fx_done(&a);
    struct ip_core_cfg cn = fx_cfg(ME, MAC_ME, 0, 1500);
    fx_init_cfg(&a, &cn);
    CHECK_EQ(ip_output(a.c, JET_IP_PROTO_UDP, 0x08080808, &v, 1, 100, false, a.now), -ENETUNREACH);
    CHECK_EQ(ip_core_stats(a.c)->ip_no_route, 1);
    /* broadcasts go to ff:ff:ff:ff:ff:ff without ARP */
    CHECK_EQ(ip_output(a.c, JET_IP_PROTO_UDP, BCAST, &v, 1, 100, false, a.now), 0);
    CHECK_EQ(ip_output(a.c, JET_IP_PROTO_UDP, 0xFFFFFFFF, &v, 1, 100, false, a.now), 0);
    CHECK_EQ(a.nout, 2);
    CHECK(a.nout == 2 && memcmp(a.out[0].b, MAC_BC, 6) == 0 && memcmp(a.out[1].b, MAC_BC, 6) == 0);
    fx_done(&a);
}

/* The link lends 3 buffers, then none: the rest waits in the backlog. */
static void test_backlog(void)
{
    struct fx a, b;
    fx_init(&a);
    struct ip_core_cfg cb = fx_cfg(PEER, MAC_PEER, 0, 1500);
    fx_init_cfg(&b, &cb);
    fx_learn(&a, PEER, MAC_PEER);
    struct fx_sock *s = calloc(1, sizeof *s);
    REQUIRE(ip_port_bind(b.c, JET_IP_PROTO_UDP, 7, s, &fx_l4) == 0);
    for (size_t k = 0; k < 10000; k++)
        pl[k] = (uint8_t)(k * 13);
    size_t un = fx_udp(pl2, ME, PEER, 9, 7, pl, 10000);
    struct iovec v = {pl2, un};
    a.budget = 0;
    CHECK_EQ(ip_output(a.c, JET_IP_PROTO_UDP, PEER, &v, 1, un, false, a.now), -EAGAIN);
    CHECK_EQ(ip_next_timeout(a.c), UINT64_MAX);
    a.budget = 3;
    CHECK_EQ(ip_output(a.c, JET_IP_PROTO_UDP, PEER, &v, 1, un, false, a.now), 0);
    CHECK_EQ(a.nout, 3);
    memset(pl2, 0, un); /* the backlog holds its own copy */
    CHECK(ip_next_timeout(a.c) <= a.now);
    a.budget = -1;
    CHECK_EQ(ip_output(a.c, JET_IP_PROTO_UDP, PEER, &v, 1, 100, false, a.now), 0);
    CHECK_EQ(a.nout, 8); /* the 7 fragments in order, then the new packet */
    a.budget = 2;
    ip_poll(a.c, a.now);
    CHECK_EQ(a.nout, 8);
    CHECK_EQ(ip_next_timeout(a.c), UINT64_MAX);
    pump(&a, &b);
    CHECK_EQ(s->delivered, 1);
    un = fx_udp(pl2, ME, PEER, 9, 7, pl, 10000);
    CHECK(s->len == un && memcmp(s->data, pl2, un) == 0);
    /* backlog then poll */
    a.budget = 1;
    CHECK_EQ(ip_output(a.c, JET_IP_PROTO_UDP, PEER, &v, 1, un, false, a.now), 0);
    CHECK_EQ(ip_output(a.c, JET_IP_PROTO_UDP, PEER, &v, 1, 100, false, a.now), -EAGAIN);
    a.budget = -1;
    ip_poll(a.c, a.now);
    CHECK_EQ(a.nout, 7);
    s->delivered = 0;
    pump(&a, &b);
    CHECK_EQ(s->delivered, 1);
    CHECK_EQ(ip_core_stats(a.c)->ip_out, 3);
    free(s);
    fx_done(&a);
    fx_done(&b);
}

/* ---- destination unreachable ---- */

static void test_unreach(void)
{
    struct fx f;
    fx_init(&f);
    fx_learn(&f, PEER, MAC_PEER);
    struct jet_ip_stats *st = ip_core_stats(f.c);
    uint8_t u[700];
    memset(pl, 0xAB, 600);
    /* port unreachable: quotes the header and the datagram, 576 bytes at most */
    size_t un = fx_udp(u, PEER, ME, 4000, 9999, pl, 600);
    size_t n = fx_ip(fb, MAC_ME, PEER, ME, JET_IP_PROTO_UDP, 77, 0, u, un);
    fx_in(&f, fb, n);
    CHECK_EQ(f.nout, 1);
    struct jet_ipv4_hdr h;
    const uint8_t *p;
    REQUIRE(fx_out_ip(&f, 0, &h, &p));
    CHECK_EQ(h.total_len, 576);
    CHECK_EQ(h.dst, PEER);
    CHECK_EQ(h.proto, JET_IP_PROTO_ICMP);
    struct jet_icmp_hdr ih;
    CHECK_EQ(jet_icmp_parse(p, h.total_len - 20u, &ih, 0), 0);
    CHECK_EQ(ih.type, 3);
    CHECK_EQ(ih.code, 3);
    CHECK_EQ(ih.rest, 0);
    CHECK(memcmp(p + 8, fb + 14, 548) == 0);
    CHECK_EQ(st->udp_no_port, 1);
    CHECK_EQ(st->unreach_out, 1);
    fx_clear(&f);
    /* a short one is quoted whole */
    un = fx_udp(u, PEER, ME, 4000, 9999, "x", 1);
    n = fx_ip(fb, MAC_ME, PEER, ME, JET_IP_PROTO_UDP, 78, 0, u, un);
    fx_in(&f, fb, n);
    REQUIRE(fx_out_ip(&f, 0, &h, &p));
    CHECK_EQ(h.total_len, 20 + 8 + 20 + 9);
    CHECK(memcmp(p + 8, fb + 14, 29) == 0);
    fx_clear(&f);
    /* protocol unreachable */
    n = fx_ip(fb, MAC_ME, PEER, ME, 253, 79, 0, "abcdefgh", 8);
    fx_in(&f, fb, n);
    REQUIRE(fx_out_ip(&f, 0, &h, &p));
    CHECK_EQ(p[0], 3);
    CHECK_EQ(p[1], 2);
    CHECK_EQ(st->proto_unknown, 1);
    fx_clear(&f);
    /* TCP: protocol unreachable while unbound, delivered once bound */
    uint8_t tcp[20] = {0x13, 0x88, 0x00, 0x50};
    n = fx_ip(fb, MAC_ME, PEER, ME, JET_IP_PROTO_TCP, 80, 0, tcp, 20);
    fx_in(&f, fb, n);
    CHECK(f.nout == 1 && fx_out_ip(&f, 0, &h, &p) && p[0] == 3 && p[1] == 2);
    fx_clear(&f);
    struct fx_sock *s = calloc(1, sizeof *s);
    CHECK_EQ(ip_port_bind(f.c, JET_IP_PROTO_TCP, 80, s, &fx_l4), 0);
    n = fx_ip(fb, MAC_ME, PEER, ME, JET_IP_PROTO_TCP, 81, 0, tcp, 20);
    fx_in(&f, fb, n);
    CHECK_EQ(f.nout, 0);
    CHECK_EQ(s->delivered, 1);
    CHECK_EQ(s->len, 20);
    ip_port_unbind(f.c, JET_IP_PROTO_TCP, 80);

    /* none: broadcast, Ethernet broadcast, bad checksum, ICMP errors, unknown ICMP */
    unsigned before = (unsigned)st->unreach_out;
    un = fx_udp(u, PEER, BCAST, 4000, 9999, "x", 1);
    n = fx_ip(fb, MAC_BC, PEER, BCAST, JET_IP_PROTO_UDP, 90, 0, u, un);
    fx_in(&f, fb, n);
    un = fx_udp(u, PEER, 0xFFFFFFFF, 4000, 9999, "x", 1);
    n = fx_ip(fb, MAC_BC, PEER, 0xFFFFFFFF, JET_IP_PROTO_UDP, 91, 0, u, un);
    fx_in(&f, fb, n);
    un = fx_udp(u, PEER, ME, 4000, 9999, "x", 1);
    n = fx_ip(fb, MAC_BC, PEER, ME, JET_IP_PROTO_UDP, 92, 0, u, un);
    fx_in(&f, fb, n);
    u[6] ^= 0x55;
    n = fx_ip(fb, MAC_ME, PEER, ME, JET_IP_PROTO_UDP, 93, 0, u, un);
    fx_in(&f, fb, n);
    CHECK_EQ(st->udp_bad, 1);
    uint8_t m[64];
    size_t mn = fx_icmp(m, JET_ICMP_DEST_UNREACH, 3, 0, fb + 14, 28);
    n = fx_ip(fb, MAC_ME, PEER, ME, JET_IP_PROTO_ICMP, 94, 0, m, mn);
    fx_in(&f, fb, n);
    mn = fx_icmp(m, 42, 0, 0, "zz", 2);
    n = fx_ip(fb, MAC_ME, PEER, ME, JET_IP_PROTO_ICMP, 95, 0, m, mn);
    fx_in(&f, fb, n);
    CHECK_EQ(f.nout, 0);
    CHECK_EQ(st->unreach_out, before);
    /* a fragmented datagram to a closed port: one error, after reassembly,
     * quoting the first fragment's header (offset 0) */
    memset(pl, 0x11, 3000);
    un = fx_udp(u, PEER, ME, 4000, 9999, pl, 592);
    n = fx_ip(fb, MAC_ME, PEER, ME, JET_IP_PROTO_UDP, 96, JET_IPV4_MF, u, 296);
    fx_in(&f, fb, n);
    CHECK_EQ(f.nout, 0);
    n = fx_ip(fb, MAC_ME, PEER, ME, JET_IP_PROTO_UDP, 96, 296 / 8, u + 296, un - 296);
    fx_in(&f, fb, n);
    CHECK_EQ(f.nout, 1);
    if (f.nout == 1 && fx_out_ip(&f, 0, &h, &p)) {
        CHECK_EQ(p[0], 3);
        CHECK_EQ(p[1], 3);
        CHECK_EQ(jet_load_be16(p + 8 + 2), 20 + un); /* the whole datagram's length */
        CHECK_EQ(jet_load_be16(p + 8 + 6), 0);
        CHECK(memcmp(p + 8 + 20, u, 8) == 0);
    }
    free(s);
    fx_done(&f);
}

static void test_rate_limit(void)
{
    struct fx f;
    fx_init(&f);
    fx_learn(&f, PEER, MAC_PEER);
    struct jet_ip_stats *st = ip_core_stats(f.c);
    uint8_t u[64];
    size_t un = fx_udp(u, PEER, ME, 4000, 9999, "x", 1);
    size_t n = fx_ip(fb, MAC_ME, PEER, ME, JET_IP_PROTO_UDP, 1, 0, u, un);
    for (int i = 0; i < 25; i++)
        fx_in(&f, fb, n);
    CHECK_EQ(f.nout, IP_ICMP_BURST);
    CHECK_EQ(st->unreach_out, IP_ICMP_BURST);
    CHECK_EQ(st->icmp_rate_limited, 25 - IP_ICMP_BURST);
    CHECK_EQ(st->udp_no_port, 25);
    /* a token comes back every 10 ms (100 a second) */
    f.now += 9 * MS;
    fx_in(&f, fb, n);
    CHECK_EQ(st->unreach_out, IP_ICMP_BURST);
    f.now += 1 * MS;
    fx_in(&f, fb, n);
    fx_in(&f, fb, n);
    CHECK_EQ(st->unreach_out, IP_ICMP_BURST + 1);
    /* a second later the bucket is full again, no fuller */
    f.now += SEC;
    for (int i = 0; i < 25; i++)
        fx_in(&f, fb, n);
    CHECK_EQ(st->unreach_out, 2 * IP_ICMP_BURST + 1);
    /* echo replies are not limited */
    fx_clear(&f);
    uint8_t m[64];
    size_t mn = fx_icmp(m, JET_ICMP_ECHO, 0, 0x01020003, "abc", 3);
    n = fx_ip(fb, MAC_ME, PEER, ME, JET_IP_PROTO_ICMP, 2, 0, m, mn);
    for (int i = 0; i < 200; i++)
        fx_in(&f, fb, n);
    CHECK_EQ(f.nout, 200);
    CHECK_EQ(st->echo_replies_out, 200);
    /* 100 a second sustained: 1000 closed-port datagrams over 10 s, one each 10 ms... */
    fx_clear(&f);
    uint64_t sent0 = st->unreach_out;
    n = fx_ip(fb, MAC_ME, PEER, ME, JET_IP_PROTO_UDP, 3, 0, u, un);
    f.now += 10 * SEC;
    for (int i = 0; i < 2000; i++) {
        f.now += 5 * MS; /* ...sent at 200 a second */
        fx_in(&f, fb, n);
    }
    uint64_t got = st->unreach_out - sent0;
    CHECK(got >= 1000 && got <= 1000 + IP_ICMP_BURST);
    fx_done(&f);
}

/* ---- ICMP errors received ---- */

static void test_errors_in(void)
{
    static const struct {
        uint8_t type, code;
        uint32_t rest;
        int err;
        uint32_t mtu;
    } t[] = {
        {3, 0, 0, -ENETUNREACH, 0},   {3, 1, 0, -EHOSTUNREACH, 0},
        {3, 2, 0, -ENOPROTOOPT, 0},   {3, 3, 0, -ECONNREFUSED, 0},
        {3, 4, 1400, -EMSGSIZE, 1400}, {3, 13, 0, -EHOSTUNREACH, 0},
        {11, 0, 0, -EHOSTUNREACH, 0}, {12, 0, 0, -EHOSTUNREACH, 0},
    };
    struct fx f;
    fx_init(&f);
    struct fx_sock *s = calloc(1, sizeof *s);
    REQUIRE(ip_port_bind(f.c, JET_IP_PROTO_UDP, 5000, s, &fx_l4) == 0);
    CHECK_EQ(ip_port_bind(f.c, JET_IP_PROTO_UDP, 5000, s, &fx_l4), -EADDRINUSE);
    CHECK_EQ(ip_port_bind(f.c, JET_IP_PROTO_UDP, 0, s, &fx_l4), -EINVAL);
    CHECK(ip_port_bound(f.c, JET_IP_PROTO_UDP, 5000));
    CHECK(!ip_port_bound(f.c, JET_IP_PROTO_TCP, 5000));
    /* what we sent: 198.18.0.1:5000 -> 198.18.0.2:7 */
    uint8_t q[64], u[32];
    size_t un = fx_udp(u, ME, PEER, 5000, 7, "data", 4);
    struct jet_ipv4_hdr qh = {.hdr_len = 20, .total_len = (uint16_t)(20 + un), .id = 5, .ttl = 64,
                              .proto = JET_IP_PROTO_UDP, .src = ME, .dst = PEER};
    jet_ipv4_emit(q, 20, &qh);
    memcpy(q + 20, u, un);
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint8_t m[128];
        size_t mn = fx_icmp(m, t[i].type, t[i].code, t[i].rest, q, 28);
        size_t n = fx_ip(fb, MAC_ME, GW, ME, JET_IP_PROTO_ICMP, 9, 0, m, mn);
        unsigned e0 = s->errors;
        fx_in(&f, fb, n);
        CHECK_EQ(s->errors, e0 + 1);
        CHECK_EQ(s->err, t[i].err);
        CHECK_EQ(s->remote, PEER);
        CHECK_EQ(s->rport, 7);
        CHECK_EQ(s->mtu, t[i].mtu);
    }
    struct jet_ip_stats *st = ip_core_stats(f.c);
    CHECK_EQ(st->icmp_errors_in, sizeof t / sizeof t[0]);
    /* not about a packet of ours, too short a quote, an unbound port: no call */
    unsigned e0 = s->errors;
    uint8_t q2[64];
    memcpy(q2, q, sizeof q2);
    jet_store_be32(q2 + 12, PEER3);
    uint8_t m[128];
    size_t mn = fx_icmp(m, 3, 3, 0, q2, 28);
    size_t n = fx_ip(fb, MAC_ME, PEER, ME, JET_IP_PROTO_ICMP, 9, 0, m, mn);
    fx_in(&f, fb, n);
    mn = fx_icmp(m, 3, 3, 0, q, 27);
    n = fx_ip(fb, MAC_ME, PEER, ME, JET_IP_PROTO_ICMP, 9, 0, m, mn);
    fx_in(&f, fb, n);
    CHECK_EQ(st->icmp_bad, 1);
    memcpy(q2, q, sizeof q2);
    jet_store_be16(q2 + 20, 5001);
    mn = fx_icmp(m, 3, 3, 0, q2, 28);
    n = fx_ip(fb, MAC_ME, PEER, ME, JET_IP_PROTO_ICMP, 9, 0, m, mn);
    fx_in(&f, fb, n);
    CHECK_EQ(s->errors, e0);
    CHECK_EQ(f.nout, 0);
    /* unbound: no more calls */
    ip_port_unbind(f.c, JET_IP_PROTO_UDP, 5000);
    CHECK(!ip_port_bound(f.c, JET_IP_PROTO_UDP, 5000));
    mn = fx_icmp(m, 3, 3, 0, q, 28);
    n = fx_ip(fb, MAC_ME, PEER, ME, JET_IP_PROTO_ICMP, 9, 0, m, mn);
    fx_in(&f, fb, n);
    CHECK_EQ(s->errors, e0);
    /* bind until full */
    int rc = 0;
    unsigned k;
    for (k = 1; k <= 2000 && rc == 0; k++)
        rc = ip_port_bind(f.c, JET_IP_PROTO_UDP, (uint16_t)k, s, &fx_l4);
    CHECK_EQ(rc, -ENOSPC);
    CHECK_EQ(k - 2, IP_PORTS_MAX);
    for (k = 1; k <= IP_PORTS_MAX; k++)
        ip_port_unbind(f.c, JET_IP_PROTO_UDP, (uint16_t)k);
    CHECK_EQ(ip_port_bind(f.c, JET_IP_PROTO_UDP, 9, s, &fx_l4), 0);
    free(s);
    fx_done(&f);
}

/* ---- UDP delivery through the core ---- */

static void test_udp_deliver(void)
{
    struct fx f;
    fx_init(&f);
    struct fx_sock *s = calloc(1, sizeof *s);
    REQUIRE(ip_port_bind(f.c, JET_IP_PROTO_UDP, 68, s, &fx_l4) == 0);
    uint8_t u[64];
    size_t un = fx_udp(u, 0, 0xFFFFFFFF, 67, 68, "offer", 5);
    size_t n = fx_ip(fb, MAC_BC, 0, 0xFFFFFFFF, JET_IP_PROTO_UDP, 1, 0, u, un);
    fx_in(&f, fb, n);
    CHECK_EQ(s->delivered, 1);
    CHECK_EQ(s->src, 0);
    CHECK_EQ(s->dst, 0xFFFFFFFF);
    CHECK(s->len == un && memcmp(s->data, u, un) == 0);
    un = fx_udp(u, PEER, BCAST, 67, 68, "offer", 5);
    n = fx_ip(fb, MAC_BC, PEER, BCAST, JET_IP_PROTO_UDP, 2, 0, u, un);
    fx_in(&f, fb, n);
    CHECK_EQ(s->delivered, 2);
    /* Ethernet padding after the IPv4 packet is not part of it */
    un = fx_udp(u, PEER, ME, 67, 68, "x", 1);
    n = fx_ip(fb, MAC_ME, PEER, ME, JET_IP_PROTO_UDP, 3, 0, u, un);
    memset(fb + n, 0xEE, 60 - n);
    fx_in(&f, fb, 60);
    CHECK_EQ(s->delivered, 3);
    CHECK_EQ(s->len, 9);
    CHECK_EQ(ip_core_stats(f.c)->udp_in, 3);
    CHECK_EQ(f.nout, 0);
    free(s);
    fx_done(&f);
}

/* ---- ping ---- */

static void test_ping(void)
{
    struct fx f;
    fx_init(&f);
    fx_learn(&f, PEER, MAC_PEER);
    uint64_t rtt = 0;
    CHECK_EQ(ip_ping_result(f.c, &rtt), 0);
    CHECK_EQ(ip_ping_start(f.c, PEER, 56, f.now), 0);
    struct jet_ipv4_hdr h;
    const uint8_t *p;
    REQUIRE(fx_out_ip(&f, 0, &h, &p));
    CHECK_EQ(h.total_len, 84);
    CHECK_EQ(p[0], JET_ICMP_ECHO);
    uint32_t idseq = jet_load_be32(p + 4);
    /* a reply with another sequence, or from elsewhere: still waiting */
    uint8_t m[128];
    size_t mn = fx_icmp(m, JET_ICMP_ECHO_REPLY, 0, idseq + 1, p + 8, 56);
    size_t n = fx_ip(fb, MAC_ME, PEER, ME, JET_IP_PROTO_ICMP, 1, 0, m, mn);
    f.now += MS;
    fx_in(&f, fb, n);
    mn = fx_icmp(m, JET_ICMP_ECHO_REPLY, 0, idseq, p + 8, 56);
    n = fx_ip(fb, MAC_ME, PEER3, ME, JET_IP_PROTO_ICMP, 1, 0, m, mn);
    fx_in(&f, fb, n);
    CHECK_EQ(ip_ping_result(f.c, &rtt), 0);
    n = fx_ip(fb, MAC_ME, PEER, ME, JET_IP_PROTO_ICMP, 1, 0, m, mn);
    f.now += 4 * MS;
    fx_in(&f, fb, n);
    CHECK_EQ(ip_ping_result(f.c, &rtt), 1);
    CHECK_EQ(rtt, 5 * MS);
    /* an ICMP error about it */
    fx_clear(&f);
    CHECK_EQ(ip_ping_start(f.c, PEER, 8, f.now), 0);
    REQUIRE(fx_out_ip(&f, 0, &h, &p));
    mn = fx_icmp(m, 3, 1, 0, f.out[0].b + 14, 28);
    n = fx_ip(fb, MAC_ME, GW, ME, JET_IP_PROTO_ICMP, 1, 0, m, mn);
    fx_in(&f, fb, n);
    CHECK_EQ(ip_ping_result(f.c, &rtt), -EHOSTUNREACH);
    /* ARP gives up on the next hop */
    fx_clear(&f);
    CHECK_EQ(ip_ping_start(f.c, PEER3, 8, f.now), 0);
    for (int i = 1; i <= 3; i++) {
        CHECK_EQ(ip_ping_result(f.c, &rtt), 0);
        fx_poll(&f, f.now + SEC);
    }
    CHECK_EQ(ip_ping_result(f.c, &rtt), -EHOSTUNREACH);
    CHECK_EQ(ip_ping_start(f.c, PEER3, 8, f.now), -EHOSTUNREACH);
    fx_done(&f);
}

/* ---- Ethernet ---- */

static void test_eth(void)
{
    struct fx f;
    fx_init(&f);
    struct jet_ip_stats *st = ip_core_stats(f.c);
    size_t n = fx_eth(fb, MAC_ME, MAC_PEER, 0x86DD);
    memset(fb + n, 0, 46);
    fx_in(&f, fb, 60);
    CHECK_EQ(st->eth_other, 1);
    jet_store_be16(fb + 12, JET_ETHERTYPE);
    fx_in(&f, fb, 60);
    CHECK_EQ(st->eth_other, 1);
    fx_in(&f, fb, 10);
    CHECK_EQ(st->eth_other, 2);
    CHECK_EQ(f.nout, 0);
    fx_done(&f);
}

/* ip_output_gso: on a link that segments (cfg.tso) a TCP packet with DF over the MTU
 * goes whole with its segment size; anywhere else, or for UDP, as ip_output
 * (-EMSGSIZE).  The size rides along through the ARP queue too. */
static void test_tso(void)
{
    for (size_t k = 0; k < 10000; k++)
        pl[k] = (uint8_t)(k * 7);
    struct iovec v = {pl, 10000};
    struct fx a;
    struct ip_core_cfg cfg = fx_cfg(ME, MAC_ME, GW, 1500);
    cfg.tso = true;
    fx_init_cfg(&a, &cfg);
    a.cap = 14 + 65535;
    fx_learn(&a, PEER, MAC_PEER);
    CHECK_EQ(ip_output_gso(a.c, JET_IP_PROTO_TCP, PEER, &v, 1, 10000, true, 988, a.now), 0);
    struct jet_ipv4_hdr h;
    const uint8_t *p;
    REQUIRE(a.nout == 1 && fx_out_ip(&a, 0, &h, &p));
    CHECK_EQ(h.total_len, 10020);
    CHECK(h.frag & JET_IPV4_DF);
    CHECK_EQ(a.out[0].gso, 988);
    CHECK(memcmp(p, pl, 10000) == 0);
    /* one that fits carries the size too (the link completes its checksum) */
    CHECK_EQ(ip_output_gso(a.c, JET_IP_PROTO_TCP, PEER, &v, 1, 1000, true, 988, a.now), 0);
    CHECK_EQ(a.out[1].gso, 988);
    /* never over 65535 */
    CHECK_EQ(ip_output_gso(a.c, JET_IP_PROTO_TCP, PEER, &v, 1, 65516, true, 988, a.now),
             -EMSGSIZE);
    /* not TCP, or no size: ip_output's rules */
    CHECK_EQ(ip_output_gso(a.c, JET_IP_PROTO_UDP, PEER, &v, 1, 10000, true, 988, a.now),
             -EMSGSIZE);
    CHECK_EQ(ip_output_gso(a.c, JET_IP_PROTO_TCP, PEER, &v, 1, 10000, true, 0, a.now),
             -EMSGSIZE);
    CHECK_EQ(ip_output(a.c, JET_IP_PROTO_TCP, PEER, &v, 1, 10000, true, a.now), -EMSGSIZE);
    CHECK_EQ(a.nout, 2);
    /* the link lends no buffer now: nothing sent or kept (one frame, no backlog) */
    a.budget = 0;
    CHECK_EQ(ip_output_gso(a.c, JET_IP_PROTO_TCP, PEER, &v, 1, 4000, true, 1448, a.now),
             -EAGAIN);
    /* through the ARP queue */
    a.budget = -1;
    CHECK_EQ(ip_output_gso(a.c, JET_IP_PROTO_TCP, PEER + 1, &v, 1, 4000, true, 1448, a.now),
             0);
    unsigned n0 = a.nout; /* the ARP request */
    uint8_t mac2[6] = {2, 0, 0, 0, 0, 0x77}, arp[64];
    fx_in(&a, arp, fx_arp(arp, MAC_ME, JET_ARP_REPLY, mac2, PEER + 1, MAC_ME, ME));
    ip_poll(a.c, a.now);
    bool found = false;
    for (unsigned i = n0; i < a.nout; i++)
        if (fx_out_ip(&a, i, &h, &p) && h.total_len == 4020) {
            found = true;
            CHECK_EQ(a.out[i].gso, 1448);
        }
    CHECK(found);
    fx_done(&a);
    /* without tso: refused over the MTU with DF, fragmented without */
    struct fx b;
    fx_init(&b);
    fx_learn(&b, PEER, MAC_PEER);
    CHECK_EQ(ip_output_gso(b.c, JET_IP_PROTO_TCP, PEER, &v, 1, 10000, true, 988, b.now),
             -EMSGSIZE);
    CHECK_EQ(ip_output_gso(b.c, JET_IP_PROTO_TCP, PEER, &v, 1, 3000, false, 988, b.now), 0);
    CHECK_EQ(b.nout, 3);
    for (unsigned i = 0; i < b.nout; i++)
        CHECK_EQ(b.out[i].gso, 0);
    fx_done(&b);
}

int main(void)
{
    test_cfg();
    test_text();
    test_rx_check();
    test_echo_bytes();
    test_echo_64k();
    test_frag_out();
    test_backlog();
    test_unreach();
    test_rate_limit();
    test_errors_in();
    test_udp_deliver();
    test_ping();
    test_eth();
    test_tso();
    return check_done("test_ip_core");
}
