/* Unit tests for the IPv4 core's ARP (src/ip/arp_cache.c): exact bytes of the
 * gratuitous ARP and of a reply; learning (requests for us, replies, what is
 * not learned); an unresolved address (3 requests 1 s apart, then failed for
 * IP_ARP_FAILED_NS); the queue of packets waiting (flushed in order, bounded
 * per address and in total); the reachable timeout, the unicast refresh and
 * its rate; the table bound; ip_next_timeout.  Virtual time only. */
#include "ip_fixture.h"
#include "ip/ip_impl.h"

static const uint8_t Z6[6];
static uint8_t fb[2048], pl[70000];

static unsigned count_arp(const struct fx *f, uint16_t op, uint32_t tpa, const uint8_t *edst)
{
    unsigned k = 0;
    for (unsigned i = 0; i < f->nout; i++) {
        struct jet_arp a;
        if (fx_out_arp(f, i, &a) && a.op == op && a.tpa == tpa &&
            (!edst || memcmp(f->out[i].b, edst, 6) == 0))
            k++;
    }
    return k;
}

static int send_udp(struct fx *f, uint32_t dst, size_t n)
{
    struct iovec v = {pl, n};
    return ip_output(f->c, JET_IP_PROTO_UDP, dst, &v, 1, n, false, f->now);
}

static void test_bytes(void)
{
    struct fx f;
    fx_init(&f);
    ip_start(f.c, f.now);
    static const uint8_t garp[] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x4a, 0x53, 0x00, 0x00, 0x01, 0x08, 0x06,
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
        0x02, 0x4a, 0x53, 0x00, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc6, 0x12, 0x00, 0x01};
    CHECK_EQ(f.nout, 1);
    CHECK(f.nout == 1 && f.out[0].len == sizeof garp && memcmp(f.out[0].b, garp, sizeof garp) == 0);
    fx_clear(&f);
    /* a request for us from 198.18.0.2 */
    static const uint8_t req[] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x4a, 0x53, 0x00, 0x00, 0x02, 0x08, 0x06,
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
        0x02, 0x4a, 0x53, 0x00, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x02,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc6, 0x12, 0x00, 0x01,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}; /* padded to 60 */
    static const uint8_t rep[] = {
        0x02, 0x4a, 0x53, 0x00, 0x00, 0x02, 0x02, 0x4a, 0x53, 0x00, 0x00, 0x01, 0x08, 0x06,
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
        0x02, 0x4a, 0x53, 0x00, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x01,
        0x02, 0x4a, 0x53, 0x00, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x02};
    fx_in(&f, req, sizeof req);
    CHECK_EQ(f.nout, 1);
    CHECK(f.nout == 1 && f.out[0].len == sizeof rep && memcmp(f.out[0].b, rep, sizeof rep) == 0);
    struct jet_ip_stats *st = ip_core_stats(f.c);
    CHECK_EQ(st->arp_in, 1);
    CHECK_EQ(st->arp_replies_out, 1);
    CHECK_EQ(st->arp_requests_out, 1);
    /* and it was learned: a send goes straight out */
    fx_clear(&f);
    CHECK_EQ(send_udp(&f, PEER, 10), 0);
    CHECK_EQ(f.nout, 1);
    CHECK(f.nout == 1 && memcmp(f.out[0].b, MAC_PEER, 6) == 0 &&
          jet_load_be16(f.out[0].b + 12) == JET_ETHERTYPE_IPV4);
    fx_done(&f);
}

static void test_learning(void)
{
    static const uint8_t mac3[6] = {0x02, 0, 0, 0, 0, 3};
    static const uint8_t mac3b[6] = {0x02, 0, 0, 0, 0, 0x33};
    static const uint8_t mcast[6] = {0x01, 0, 0x5e, 0, 0, 3};
    static const struct {
        const char *what;
        uint16_t op;
        const uint8_t *edst, *sha;
        uint32_t spa, tpa;
        bool learned, replied;
    } t[] = {
        {"request for us", JET_ARP_REQUEST, MAC_BC, mac3, PEER3, ME, true, true},
        {"request for another", JET_ARP_REQUEST, MAC_BC, mac3, PEER3, PEER, false, false},
        {"reply to us", JET_ARP_REPLY, MAC_ME, mac3, PEER3, ME, true, false},
        {"reply for another", JET_ARP_REPLY, MAC_BC, mac3, PEER3, PEER, false, false},
        {"multicast sender MAC", JET_ARP_REPLY, MAC_ME, mcast, PEER3, ME, false, false},
        {"zero sender MAC", JET_ARP_REQUEST, MAC_BC, Z6, PEER3, ME, false, false},
        {"sender off the prefix", JET_ARP_REPLY, MAC_ME, mac3, 0x0A000001, ME, false, false},
        {"sender 0 (a probe)", JET_ARP_REQUEST, MAC_BC, mac3, 0, ME, false, true},
        {"sender is us", JET_ARP_REQUEST, MAC_BC, mac3, ME, ME, false, true},
        {"to another MAC", JET_ARP_REPLY, MAC_PEER, mac3, PEER3, ME, false, false},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct fx f;
        fx_init(&f);
        size_t n = fx_arp(fb, t[i].edst, t[i].op, t[i].sha, t[i].spa, Z6, t[i].tpa);
        fx_in(&f, fb, n);
        bool replied = count_arp(&f, JET_ARP_REPLY, t[i].spa, NULL) == 1;
        fx_clear(&f);
        uint32_t dst = t[i].spa && (t[i].spa >> 8) == (ME >> 8) && t[i].spa != ME ? t[i].spa : PEER3;
        CHECK_EQ(send_udp(&f, dst, 10), 0);
        bool learned = f.nout == 1 && jet_load_be16(f.out[0].b + 12) == JET_ETHERTYPE_IPV4;
        if (learned != t[i].learned || replied != t[i].replied)
            fprintf(stderr, "row %zu (%s): learned %d replied %d\n", i, t[i].what, learned, replied);
        CHECK_EQ(learned, t[i].learned);
        CHECK_EQ(replied, t[i].replied);
        fx_done(&f);
    }
    /* an update: a known entry takes the new MAC from any ARP packet */
    struct fx f;
    fx_init(&f);
    fx_learn(&f, PEER3, mac3);
    size_t n = fx_arp(fb, MAC_BC, JET_ARP_REQUEST, mac3b, PEER3, Z6, PEER); /* not for us */
    fx_in(&f, fb, n);
    CHECK_EQ(send_udp(&f, PEER3, 10), 0);
    CHECK(f.nout == 1 && memcmp(f.out[0].b, mac3b, 6) == 0);
    /* malformed */
    struct jet_ip_stats *st = ip_core_stats(f.c);
    n = fx_arp(fb, MAC_BC, JET_ARP_REQUEST, mac3, PEER3, Z6, ME);
    fb[14] = 1; /* hardware type 0x0101 */
    fx_in(&f, fb, n);
    n = fx_arp(fb, MAC_BC, JET_ARP_REQUEST, mac3, PEER3, Z6, ME);
    fx_in(&f, fb, n - 1);
    CHECK_EQ(st->arp_bad, 2);
    fx_done(&f);
}

/* An unresolved address: a request at once, then at +1 s, +2 s; failed at
 * +3 s for IP_ARP_FAILED_NS; the waiting packets dropped. */
static void test_unresolved(void)
{
    struct fx f;
    fx_init(&f);
    struct jet_ip_stats *st = ip_core_stats(f.c);
    uint64_t t0 = f.now;
    CHECK_EQ(send_udp(&f, PEER3, 100), 0);
    CHECK_EQ(send_udp(&f, PEER3, 100), 0);
    CHECK_EQ(count_arp(&f, JET_ARP_REQUEST, PEER3, MAC_BC), 1);
    CHECK_EQ(f.nout, 1);
    CHECK_EQ(ip_next_timeout(f.c), t0 + IP_ARP_RETRY_NS);
    /* polls in between send nothing, nor do more sends */
    fx_poll(&f, t0 + IP_ARP_RETRY_NS / 2);
    CHECK_EQ(send_udp(&f, PEER3, 100), 0);
    CHECK_EQ(f.nout, 1);
    fx_poll(&f, t0 + IP_ARP_RETRY_NS);
    CHECK_EQ(f.nout, 2);
    fx_poll(&f, t0 + IP_ARP_RETRY_NS + 1);
    CHECK_EQ(f.nout, 2);
    fx_poll(&f, t0 + 2 * IP_ARP_RETRY_NS);
    CHECK_EQ(f.nout, 3);
    CHECK_EQ(count_arp(&f, JET_ARP_REQUEST, PEER3, MAC_BC), IP_ARP_TRIES);
    CHECK_EQ(st->arp_unresolved, 0);
    fx_poll(&f, t0 + 3 * IP_ARP_RETRY_NS - 1);
    CHECK_EQ(st->arp_unresolved, 0);
    fx_poll(&f, t0 + 3 * IP_ARP_RETRY_NS);
    CHECK_EQ(f.nout, 3);
    CHECK_EQ(st->arp_unresolved, 1);
    CHECK_EQ(st->arp_queue_drops, 3);
    CHECK_EQ(st->arp_requests_out, 3);
    uint64_t tf = f.now;
    CHECK_EQ(send_udp(&f, PEER3, 100), -EHOSTUNREACH);
    fx_poll(&f, tf + IP_ARP_FAILED_NS - 1);
    CHECK_EQ(send_udp(&f, PEER3, 100), -EHOSTUNREACH);
    fx_poll(&f, tf + IP_ARP_FAILED_NS);
    CHECK_EQ(send_udp(&f, PEER3, 100), 0); /* a new round */
    CHECK_EQ(f.nout, 4);
    /* the answer comes: the queued packet goes, to the MAC learned */
    static const uint8_t mac3[6] = {0x02, 0, 0, 0, 0, 3};
    size_t n = fx_arp(fb, MAC_ME, JET_ARP_REPLY, mac3, PEER3, MAC_ME, ME);
    fx_in(&f, fb, n);
    CHECK_EQ(f.nout, 5);
    CHECK(f.nout == 5 && memcmp(f.out[4].b, mac3, 6) == 0);
    fx_poll(&f, f.now + 10 * SEC);
    CHECK_EQ(f.nout, 5);
    CHECK_EQ(ip_next_timeout(f.c), UINT64_MAX);
    fx_done(&f);
}

/* Waiting packets: flushed in order; at most IP_ARP_QUEUE per address and
 * IP_ARP_QUEUE_BYTES in all. */
static void test_queue(void)
{
    struct fx f;
    fx_init(&f);
    struct jet_ip_stats *st = ip_core_stats(f.c);
    for (unsigned i = 0; i < IP_ARP_QUEUE; i++) {
        pl[0] = (uint8_t)i;
        CHECK_EQ(send_udp(&f, PEER, 10 + i), 0);
    }
    CHECK_EQ(send_udp(&f, PEER, 10), -ENOBUFS);
    CHECK_EQ(st->arp_queue_drops, 1);
    fx_clear(&f);
    size_t n = fx_arp(fb, MAC_ME, JET_ARP_REPLY, MAC_PEER, PEER, MAC_ME, ME);
    fx_in(&f, fb, n);
    CHECK_EQ(f.nout, IP_ARP_QUEUE);
    for (unsigned i = 0; i < f.nout; i++) {
        struct jet_ipv4_hdr h;
        const uint8_t *p;
        CHECK(fx_out_ip(&f, i, &h, &p) && h.total_len == 20 + 10 + i && p[0] == i);
        CHECK(memcmp(f.out[i].b, MAC_PEER, 6) == 0);
    }
    CHECK_EQ(st->ip_out, IP_ARP_QUEUE);
    fx_done(&f);

    /* total bytes: 60000-byte datagrams to many addresses */
    fx_init(&f);
    st = ip_core_stats(f.c);
    unsigned fit = IP_ARP_QUEUE_BYTES / 60000, k;
    int rc = 0;
    for (k = 0; k < 100 && rc == 0; k++)
        rc = send_udp(&f, 0xC6120010 + k / 4, 60000);
    CHECK_EQ(rc, -ENOBUFS);
    CHECK_EQ(k - 1, fit);
    CHECK_EQ(st->arp_queue_drops, 1);
    /* small ones to a new address still fit */
    CHECK_EQ(send_udp(&f, 0xC6120080, 10), 0);
    /* ... until given up: every waiting packet dropped and counted */
    for (int i = 1; i <= IP_ARP_TRIES; i++)
        fx_poll(&f, f.now + IP_ARP_RETRY_NS);
    CHECK_EQ(st->arp_queue_drops, 1 + fit + 1);
    CHECK_EQ(st->arp_unresolved, (fit + 3) / 4 + 1);
    fx_done(&f);
}

/* Reachable for IP_ARP_REACHABLE_NS; used after that: a unicast refresh, at
 * most one a second, IP_ARP_TRIES in all; gone IP_ARP_STALE_NS later without
 * an answer. */
static void test_refresh(void)
{
    struct fx f;
    fx_init(&f);
    uint64_t t0 = f.now;
    fx_learn(&f, PEER, MAC_PEER);
    f.now = t0 + IP_ARP_REACHABLE_NS - 1;
    CHECK_EQ(send_udp(&f, PEER, 10), 0);
    CHECK_EQ(f.nout, 1);
    fx_clear(&f);
    uint64_t t1 = t0 + IP_ARP_REACHABLE_NS;
    f.now = t1;
    for (int i = 0; i < 50; i++)
        CHECK_EQ(send_udp(&f, PEER, 10), 0); /* still sent, to the MAC we know */
    CHECK_EQ(f.nout, 51);
    CHECK_EQ(count_arp(&f, JET_ARP_REQUEST, PEER, MAC_PEER), 1); /* unicast */
    CHECK(memcmp(f.out[1].b, MAC_PEER, 6) == 0);
    fx_clear(&f);
    for (uint64_t t = t1; t < t1 + IP_ARP_STALE_NS; t += 100 * MS) {
        fx_poll(&f, t);
        send_udp(&f, PEER, 10);
    }
    CHECK_EQ(count_arp(&f, JET_ARP_REQUEST, PEER, MAC_PEER), IP_ARP_TRIES - 1);
    fx_clear(&f);
    fx_poll(&f, t1 + IP_ARP_STALE_NS);
    CHECK_EQ(send_udp(&f, PEER, 10), 0); /* gone: a broadcast request, the packet waits */
    CHECK_EQ(f.nout, 1);
    CHECK_EQ(count_arp(&f, JET_ARP_REQUEST, PEER, MAC_BC), 1);
    fx_done(&f);

    /* an answer during the refresh: reachable again, no more requests */
    fx_init(&f);
    t0 = f.now;
    fx_learn(&f, PEER, MAC_PEER);
    f.now = t0 + IP_ARP_REACHABLE_NS + SEC;
    CHECK_EQ(send_udp(&f, PEER, 10), 0);
    CHECK_EQ(count_arp(&f, JET_ARP_REQUEST, PEER, MAC_PEER), 1);
    size_t n = fx_arp(fb, MAC_ME, JET_ARP_REPLY, MAC_PEER, PEER, MAC_ME, ME);
    fx_in(&f, fb, n);
    fx_clear(&f);
    uint64_t tend = f.now + 30 * SEC;
    for (uint64_t t = f.now; t < tend; t += SEC / 2) {
        fx_poll(&f, t);
        send_udp(&f, PEER, 10);
    }
    CHECK_EQ(count_arp(&f, JET_ARP_REQUEST, PEER, NULL), 0);
    fx_done(&f);
}

/* The table holds IP_ARP_ENTRIES; more senders evict the oldest. */
static void test_table_bound(void)
{
    struct ip_core_cfg cfg = fx_cfg(0xC6120001, MAC_ME, 0, 1500);
    cfg.ip.plen = 15; /* 198.18.0.0/15 */
    struct fx f;
    fx_init_cfg(&f, &cfg);
    for (unsigned i = 0; i < 3 * IP_ARP_ENTRIES; i++) {
        uint8_t mac[6] = {0x02, 0, 0, 0, (uint8_t)(i >> 8), (uint8_t)i};
        f.now += MS;
        fx_learn(&f, 0xC6130000 + i, mac);
    }
    unsigned used = 0;
    for (unsigned i = 0; i < IP_ARP_ENTRIES; i++)
        used += f.c->arp[i].state != ARP_FREE;
    CHECK_EQ(used, IP_ARP_ENTRIES);
    /* the newest are known, the oldest are not */
    CHECK_EQ(send_udp(&f, 0xC6130000 + 3 * IP_ARP_ENTRIES - 1, 10), 0);
    CHECK(f.nout == 1 && jet_load_be16(f.out[0].b + 12) == JET_ETHERTYPE_IPV4);
    fx_clear(&f);
    CHECK_EQ(send_udp(&f, 0xC6130000, 10), 0);
    CHECK_EQ(count_arp(&f, JET_ARP_REQUEST, 0xC6130000, MAC_BC), 1);
    fx_clear(&f);
    /* all waiting: a new address is refused, not an evicted queue */
    for (unsigned i = 0; i < IP_ARP_ENTRIES; i++)
        send_udp(&f, 0xC6131000 + i, 10);
    CHECK_EQ(send_udp(&f, 0xC6132000, 10), -ENOBUFS);
    fx_done(&f);
}

int main(void)
{
    test_bytes();
    test_learning();
    test_unresolved();
    test_queue();
    test_refresh();
    test_table_bound();
    return check_done("test_ip_arp");
}
