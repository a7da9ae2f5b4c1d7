/* Ethernet frames and IP flow steering (jet_chan_steer and friends), on an
 * emulated LAN: station 0 sends Ethernet frames built with jet/inet.h,
 * station 1 steers them.  Each case sends one frame and checks which channel
 * got it, or which station counter took it:
 *   - rule shapes and their precedence: connection > listener on an address
 *     > listener on a port > protocol > default channel > dropped_other;
 *   - fragments, VLAN tags, ARP and other EtherTypes, damaged IPv4 headers;
 *   - a Jetstream frame inside Ethernet, by channel id;
 *   - rule errors, unsteer, close removing a channel's rules, 4,000 rules;
 *   - the channel's queue policy applied to steered frames;
 *   - Ethernet send errors and zero-copy Ethernet send;
 * and every pool buffer back at the end. */
#include <errno.h>
#include <string.h>

#include "chan_fixture.h"
#include "jet/frame.h"
#include "jet/inet.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
static const uint32_t H1 = IP(198, 18, 0, 1), H2 = IP(198, 18, 0, 2), H3 = IP(198, 18, 0, 3);

static struct jet_station *sa, *sb;
static struct jet_chan *tx;
static uint8_t mac_a[6], mac_b[6];
static uint64_t sent; /* frames tx sent (its frames_out) */

/* A packet to build: IPv4 unless arp, with a TCP, UDP or other payload. */
struct pkt {
    uint8_t proto;
    uint32_t src, dst;
    uint16_t sport, dport;
    uint16_t frag;     /* IPv4 flags and fragment offset */
    uint16_t vlan;     /* 0: untagged */
    bool arp;          /* an ARP request instead */
    bool bad_csum;     /* damage the IPv4 header checksum */
    uint16_t ethertype; /* neither IPv4 nor ARP, when set */
};

/* Builds the Ethernet frame for p into b; returns its length. */
static size_t build(uint8_t *b, size_t cap, const struct pkt *p)
{
    struct jet_eth_hdr e = {.vlan = p->vlan ? p->vlan : JET_ETH_UNTAGGED};
    memcpy(e.dst, mac_b, 6);
    memcpy(e.src, mac_a, 6);
    e.ethertype = p->arp ? JET_ETHERTYPE_ARP : p->ethertype ? p->ethertype : JET_ETHERTYPE_IPV4;
    int hl = jet_eth_emit(b, cap, &e);
    REQUIRE(hl > 0);
    uint8_t *l3 = b + hl;
    if (p->arp) {
        struct jet_arp a = {.op = JET_ARP_REQUEST, .spa = H1, .tpa = H2};
        memcpy(a.sha, mac_a, 6);
        REQUIRE(jet_arp_emit(l3, cap - (size_t)hl, &a) == JET_ARP_LEN);
        return (size_t)hl + JET_ARP_LEN;
    }
    if (p->ethertype) {
        memset(l3, 0xab, 46);
        return (size_t)hl + 46;
    }
    uint8_t *l4 = l3 + JET_IPV4_HDR_LEN;
    size_t l4len = 64;
    memset(l4, 0x5a, l4len);
    if (p->proto == JET_IP_PROTO_UDP && !(p->frag & JET_IPV4_OFF_MASK)) {
        struct jet_udp_hdr u = {.sport = p->sport, .dport = p->dport, .len = (uint16_t)l4len};
        REQUIRE(jet_udp_emit(l4, l4len, &u, p->src, p->dst) == (int)l4len);
    } else if (p->proto == JET_IP_PROTO_TCP && !(p->frag & JET_IPV4_OFF_MASK)) {
        struct jet_tcp_hdr t = {.sport = p->sport, .dport = p->dport, .seq = 1, .flags = JET_TCP_SYN};
        REQUIRE(jet_tcp_emit(l4, l4len, &t, p->src, p->dst, l4len - 20) == (int)l4len);
    }
    struct jet_ipv4_hdr ip = {.hdr_len = JET_IPV4_HDR_LEN,
                              .total_len = (uint16_t)(JET_IPV4_HDR_LEN + l4len),
                              .frag = p->frag,
                              .ttl = 64,
                              .proto = p->proto,
                              .src = p->src,
                              .dst = p->dst};
    REQUIRE(jet_ipv4_emit(l3, cap - (size_t)hl, &ip) == JET_IPV4_HDR_LEN);
    if (p->bad_csum)
        l3[11] ^= 0x40;
    return (size_t)hl + JET_IPV4_HDR_LEN + l4len;
}

/* Runs station b's driver until it has taken `n` more frames (bounded: 2 s). */
static void pump(uint64_t before, uint64_t n)
{
    uint64_t until = now_ns() + 2000000000ull;
    struct jet_station_stats st;
    do {
        jet_station_poll(sa);
        jet_station_poll(sb);
        jet_station_stats(sb, &st);
    } while (st.frames_in < before + n && now_ns() < until);
    CHECK_EQ(st.frames_in, before + n);
}

enum { DROP_OTHER = -1, DROP_HEADER = -2, LOST = -3 };

/* Sends p and says where station b put it: the index in ch[] of the channel
 * that queued it (whose frame is checked and released), or DROP_*. */
static int where(const struct pkt *p, struct jet_chan **ch, int nch)
{
    static uint8_t b[256];
    size_t len = build(b, sizeof b, p);
    struct jet_station_stats st0, st1;
    jet_station_stats(sb, &st0);
    struct iovec iov = {b, len};
    REQUIRE(jet_chan_send_eth(tx, &iov, 1) == (ssize_t)len);
    sent++;
    pump(st0.frames_in, 1);
    jet_station_stats(sb, &st1);
    if (st1.dropped_other > st0.dropped_other)
        return DROP_OTHER;
    if (st1.dropped_header > st0.dropped_header)
        return DROP_HEADER;
    for (int i = 0; i < nch; i++) {
        struct jet_rx rx;
        if (jet_chan_recv(ch[i], &rx, 0) == 0) {
            CHECK_EQ(rx.flags, JET_RX_ETH);
            CHECK_EQ(rx.len, len);
            CHECK_EQ(rx.l3_off, p->vlan ? 18 : 14);
            CHECK(memcmp(rx.payload, b, len) == 0);
            CHECK_EQ(rx.src_station, 0);
            jet_chan_release(ch[i], &rx);
            return i;
        }
    }
    return LOST;
}

static struct jet_flow flow(uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport)
{
    return (struct jet_flow){.proto = proto, .src = src, .dst = dst, .sport = sport, .dport = dport};
}

static void test_shapes(void)
{
    enum { CONN, ADDR, PORT, ICMPC, DEF, N };
    struct jet_chan *ch[N];
    for (int i = 0; i < N; i++)
        ch[i] = ch_open(sb, 100 + (uint32_t)i, NULL);
    const uint8_t U = JET_IP_PROTO_UDP, T = JET_IP_PROTO_TCP;
    struct pkt udp53 = {.proto = U, .src = H1, .dst = H2, .sport = 1000, .dport = 53};

    CHECK_EQ(where(&udp53, ch, N), DROP_OTHER); /* no rule, no default */
    CHECK_EQ(where(&(struct pkt){.arp = true}, ch, N), DROP_OTHER);
    jet_station_steer_default(sb, ch[DEF]);
    CHECK_EQ(where(&udp53, ch, N), DEF);
    CHECK_EQ(where(&(struct pkt){.arp = true}, ch, N), DEF);
    CHECK_EQ(where(&(struct pkt){.ethertype = 0x86dd}, ch, N), DEF);

    struct jet_flow port = flow(U, 0, 0, 0, 53), addr = flow(U, 0, H2, 0, 53),
                    conn = flow(U, H1, H2, 1000, 53), icmp = flow(JET_IP_PROTO_ICMP, 0, 0, 0, 0);
    CHECK_EQ(jet_chan_steer(ch[PORT], &port), 0);
    CHECK_EQ(where(&udp53, ch, N), PORT);
    CHECK_EQ(where(&(struct pkt){.proto = T, .src = H1, .dst = H2, .sport = 1000, .dport = 53}, ch, N),
             DEF); /* TCP: no rule */
    CHECK_EQ(jet_chan_steer(ch[ADDR], &addr), 0);
    CHECK_EQ(where(&udp53, ch, N), ADDR);
    CHECK_EQ(where(&(struct pkt){.proto = U, .src = H1, .dst = H3, .sport = 1000, .dport = 53}, ch, N),
             PORT); /* another address */
    CHECK_EQ(jet_chan_steer(ch[CONN], &conn), 0);
    CHECK_EQ(where(&udp53, ch, N), CONN);
    CHECK_EQ(where(&(struct pkt){.proto = U, .src = H1, .dst = H2, .sport = 1001, .dport = 53}, ch, N),
             ADDR); /* another source port */
    CHECK_EQ(where(&(struct pkt){.proto = JET_IP_PROTO_ICMP, .src = H1, .dst = H2}, ch, N), DEF);
    CHECK_EQ(jet_chan_steer(ch[ICMPC], &icmp), 0);
    CHECK_EQ(where(&(struct pkt){.proto = JET_IP_PROTO_ICMP, .src = H1, .dst = H2}, ch, N), ICMPC);

    /* fragments, the first (which carries the ports) too, go to the reassembler: the
     * default channel here */
    CHECK_EQ(where(&(struct pkt){.proto = U, .src = H1, .dst = H2, .sport = 1000, .dport = 53,
                                 .frag = JET_IPV4_MF},
                   ch, N),
             DEF);
    CHECK_EQ(where(&(struct pkt){.proto = U, .src = H1, .dst = H2, .frag = 100}, ch, N), DEF);
    /* VLAN-tagged */
    struct pkt tagged = udp53;
    tagged.vlan = 0x0123;
    CHECK_EQ(where(&tagged, ch, N), CONN);
    /* a damaged IPv4 header names no channel */
    struct pkt bad = udp53;
    bad.bad_csum = true;
    CHECK_EQ(where(&bad, ch, N), DROP_HEADER);

    /* errors */
    struct jet_flow bads[] = {
        flow(0, 0, 0, 0, 53),                          /* no protocol */
        flow(JET_IP_PROTO_ICMP, 0, 0, 0, 7),           /* ports without TCP/UDP */
        flow(U, H1, 0, 0, 53),                         /* source without the rest */
        flow(U, 0, 0, 1000, 53),                       /* source port alone */
        flow(U, 0, H2, 0, 0),                          /* address without port */
        flow(U, H1, H2, 0, 53),                        /* connection without source port */
        flow(JET_IP_PROTO_ICMP, H1, H2, 0, 0),         /* protocol with addresses */
    };
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++)
        CHECK_EQ(jet_chan_steer(ch[DEF], &bads[i]), -EINVAL);
    CHECK_EQ(jet_chan_steer(ch[DEF], &conn), -EADDRINUSE); /* on another channel */
    CHECK_EQ(jet_chan_steer(ch[CONN], &conn), -EADDRINUSE);
    CHECK_EQ(jet_chan_unsteer(ch[DEF], &conn), -ENOENT); /* not its rule */

    /* unsteer and close fall back to the next shape */
    CHECK_EQ(jet_chan_unsteer(ch[CONN], &conn), 0);
    CHECK_EQ(jet_chan_unsteer(ch[CONN], &conn), -ENOENT);
    CHECK_EQ(where(&udp53, ch, N), ADDR);
    CHECK_EQ(jet_chan_steer(ch[CONN], &conn), 0); /* back, then gone with its channel */
    CHECK_EQ(where(&udp53, ch, N), CONN);
    jet_chan_close(ch[CONN]);
    ch[CONN] = ch_open(sb, 100 + CONN, NULL); /* same id, no rules */
    CHECK_EQ(where(&udp53, ch, N), ADDR);
    CHECK_EQ(jet_chan_steer(ch[CONN], &conn), 0); /* the rule is free to take again */
    CHECK_EQ(where(&udp53, ch, N), CONN);
    jet_chan_close(ch[DEF]);
    ch[DEF] = ch_open(sb, 100 + DEF, NULL);
    CHECK_EQ(where(&(struct pkt){.arp = true}, ch, N), DROP_OTHER); /* the default went with it */
    for (int i = 0; i < N; i++)
        jet_chan_close(ch[i]);
    CHECK_EQ(where(&udp53, ch, 0), DROP_OTHER); /* every rule went with its channel */
}

/* 4,000 connection rules over 40 channels: the table grows, each packet
 * finds its channel; after half the rules go, the rest still do and the
 * others fall to the listener. */
static void test_many(void)
{
    enum { NCH = 40, PER = 100 };
    struct jet_chan *ch[NCH + 1];
    for (int i = 0; i <= NCH; i++)
        ch[i] = ch_open(sb, 200 + (uint32_t)i, NULL);
    CHECK_EQ(jet_chan_steer(ch[NCH], &(struct jet_flow){.proto = JET_IP_PROTO_TCP, .dport = 80}), 0);
    for (int i = 0; i < NCH * PER; i++) {
        struct jet_flow f = flow(JET_IP_PROTO_TCP, IP(198, 18, 1 + i / 250, i % 250), H2,
                                 (uint16_t)(10000 + i), 80);
        CHECK_EQ(jet_chan_steer(ch[i % NCH], &f), 0);
    }
    for (int i = 0; i < NCH * PER; i += 7) {
        struct pkt p = {.proto = JET_IP_PROTO_TCP, .src = IP(198, 18, 1 + i / 250, i % 250),
                        .dst = H2, .sport = (uint16_t)(10000 + i), .dport = 80};
        CHECK_EQ(where(&p, ch, NCH + 1), i % NCH);
    }
    for (int i = 0; i < NCH * PER; i += 2) {
        struct jet_flow f = flow(JET_IP_PROTO_TCP, IP(198, 18, 1 + i / 250, i % 250), H2,
                                 (uint16_t)(10000 + i), 80);
        CHECK_EQ(jet_chan_unsteer(ch[i % NCH], &f), 0);
    }
    for (int i = 0; i < NCH * PER; i += 5) {
        struct pkt p = {.proto = JET_IP_PROTO_TCP, .src = IP(198, 18, 1 + i / 250, i % 250),
                        .dst = H2, .sport = (uint16_t)(10000 + i), .dport = 80};
        CHECK_EQ(where(&p, ch, NCH + 1), i % 2 ? i % NCH : NCH);
    }
    for (int i = 0; i <= NCH; i++)
        jet_chan_close(ch[i]);
}

/* A steered channel keeps its own queue policy. */
static void test_policy(void)
{
    struct jet_chan_policy pol = {.queue_frames = 2, .drop = JET_DROP_NEWEST};
    struct jet_chan *c = ch_open(sb, 300, &pol);
    CHECK_EQ(jet_chan_steer(c, &(struct jet_flow){.proto = JET_IP_PROTO_UDP, .dport = 9}), 0);
    static uint8_t b[256];
    size_t len = build(b, sizeof b,
                       &(struct pkt){.proto = JET_IP_PROTO_UDP, .src = H1, .dst = H2, .sport = 9, .dport = 9});
    struct jet_station_stats st;
    jet_station_stats(sb, &st);
    for (int i = 0; i < 5; i++) {
        struct iovec iov = {b, len};
        REQUIRE(jet_chan_send_eth(tx, &iov, 1) == (ssize_t)len);
        sent++;
    }
    pump(st.frames_in, 5);
    struct jet_chan_stats cs;
    jet_chan_stats(c, &cs);
    CHECK_EQ(cs.queued, 2);
    CHECK_EQ(cs.dropped_policy, 3);
    CHECK_EQ(cs.queued_bytes, 2 * len);
    jet_chan_close(c); /* releases what is queued */
}

/* A Jetstream frame inside Ethernet: demultiplexed by its channel id. */
static void test_native_in_eth(void)
{
    struct jet_chan *c = ch_open(sb, 400, NULL);
    static uint8_t b[256];
    struct jet_eth_hdr e = {.vlan = JET_ETH_UNTAGGED, .ethertype = JET_ETHERTYPE};
    memcpy(e.dst, mac_b, 6);
    memcpy(e.src, mac_a, 6);
    int hl = jet_eth_emit(b, sizeof b, &e);
    REQUIRE(hl == 14);
    uint8_t payload[40];
    fill(payload, sizeof payload, 77);
    struct jet_frame_hdr h = {.flags = JET_FF_CRC, .src_station = 0, .dst_station = 1,
                              .dst_chan = 400, .src_chan = 9, .payload_len = sizeof payload};
    long n = jet_frame_build(b + hl, sizeof b - (size_t)hl, &h, payload, sizeof payload);
    REQUIRE(n > 0);
    struct jet_station_stats st;
    jet_station_stats(sb, &st);
    struct iovec iov = {b, (size_t)hl + (size_t)n};
    REQUIRE(jet_chan_send_eth(tx, &iov, 1) == hl + n);
    sent++;
    pump(st.frames_in, 1);
    struct jet_rx rx;
    CHECK_EQ(jet_chan_recv(c, &rx, 0), 0);
    uint64_t seq = 0;
    CHECK_EQ(rx.len, sizeof payload);
    CHECK(intact(&rx, &seq) && seq == 77);
    CHECK_EQ(rx.flags, 0);
    CHECK_EQ(rx.src_chan, 9);
    jet_chan_release(c, &rx);
    /* to a channel that is not open: counted as such */
    h.dst_chan = 401;
    REQUIRE(jet_frame_build(b + hl, sizeof b - (size_t)hl, &h, payload, sizeof payload) == n);
    jet_station_stats(sb, &st);
    REQUIRE(jet_chan_send_eth(tx, &iov, 1) == hl + n);
    sent++;
    pump(st.frames_in, 1);
    struct jet_station_stats st2;
    jet_station_stats(sb, &st2);
    CHECK_EQ(st2.dropped_no_chan, st.dropped_no_chan + 1);
    jet_chan_close(c);
}

static void test_send(void)
{
    static uint8_t b[JET_LAN_MAX_MTU + 100];
    struct iovec iov = {b, 13};
    CHECK_EQ(jet_chan_send_eth(tx, &iov, 1), -EMSGSIZE);
    iov.iov_len = jet_station_link(sa)->caps.max_frame + 1;
    CHECK_EQ(jet_chan_send_eth(tx, &iov, 1), -EMSGSIZE);
    /* a unicast MAC that is no station of this LAN */
    memset(b, 0, 64);
    b[0] = 0x02;
    b[5] = 0x77;
    iov.iov_len = 64;
    CHECK_EQ(jet_chan_send_eth(tx, &iov, 1), -EHOSTUNREACH);

    /* zero copy: filled in place */
    struct jet_chan *c = ch_open(sb, 500, NULL);
    CHECK_EQ(jet_chan_steer(c, &(struct jet_flow){.proto = JET_IP_PROTO_UDP, .dport = 5}), 0);
    struct jet_txbuf tb;
    REQUIRE(jet_chan_tx_alloc_eth(tx, &tb) == 0);
    CHECK(tb.cap >= 1514);
    size_t len = build(tb.payload, tb.cap,
                       &(struct pkt){.proto = JET_IP_PROTO_UDP, .src = H1, .dst = H2, .sport = 5, .dport = 5});
    struct jet_station_stats st;
    jet_station_stats(sb, &st);
    CHECK_EQ(jet_chan_tx_commit_eth(tx, &tb, (uint32_t)len), 0);
    sent++;
    pump(st.frames_in, 1);
    struct jet_rx rx;
    CHECK_EQ(jet_chan_recv(c, &rx, 0), 0);
    CHECK_EQ(rx.len, len);
    struct jet_udp_hdr u;
    struct jet_ipv4_hdr ip;
    CHECK_EQ(jet_ipv4_parse(rx.payload + rx.l3_off, rx.len - rx.l3_off, &ip, 0), 0);
    CHECK_EQ(jet_udp_parse(rx.payload + rx.l3_off + ip.hdr_len, ip.total_len - ip.hdr_len, ip.src,
                           ip.dst, &u, 0),
             0);
    CHECK_EQ(u.dport, 5);
    jet_chan_release(c, &rx);
    /* a commit that is too long consumes the buffer and says so */
    REQUIRE(jet_chan_tx_alloc_eth(tx, &tb) == 0);
    CHECK_EQ(jet_chan_tx_commit_eth(tx, &tb, tb.cap + 1), -EMSGSIZE);
    jet_chan_close(c);
}

/* Hostile frames: 3,000 random ones (random lengths and bytes, most made to
 * look like IPv4, half of those with a valid header checksum so they get as
 * far as the lookup).  Each must end in exactly one counter or queue, and
 * nothing may crash (ASan run). */
static void test_random(void)
{
    struct jet_chan *ch[3];
    ch[0] = ch_open(sb, 600, NULL);
    ch[1] = ch_open(sb, 601, NULL);
    ch[2] = ch_open(sb, 602, NULL);
    CHECK_EQ(jet_chan_steer(ch[0], &(struct jet_flow){.proto = JET_IP_PROTO_UDP, .dport = 7}), 0);
    CHECK_EQ(jet_chan_steer(ch[1], &(struct jet_flow){.proto = JET_IP_PROTO_ICMP}), 0);
    jet_station_steer_default(sb, ch[2]);
    uint64_t x = 0x243f6a8885a308d3ull;
    struct jet_station_stats st0, st1;
    jet_station_stats(sb, &st0);
    enum { N = 3000 };
    for (int i = 0; i < N; i++) {
        static uint8_t b[300];
        for (size_t k = 0; k < sizeof b; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            b[k] = (uint8_t)x;
        }
        size_t len = 14 + x % (sizeof b - 14);
        memcpy(b, mac_b, 6);
        if (i % 8) { /* mostly IPv4 */
            b[12] = 0x08, b[13] = 0x00;
            if (len >= 34) {
                b[14] = (uint8_t)(0x40 | (5 + (b[14] & 3)));  /* version 4, IHL 5..8 */
                b[16] = 0, b[17] = (uint8_t)(len - 14 - (b[17] & 7)); /* total length near the frame's */
                b[23] = i % 3 ? JET_IP_PROTO_UDP : JET_IP_PROTO_ICMP;
                if (i % 5 == 1 && len >= 38) /* no options, not a later fragment, port 7 */
                    b[14] = 0x45, b[20] &= 0xe0, b[21] = 0, b[36] = 0, b[37] = 7;
                if (i % 2 && (size_t)(b[14] & 0xf) * 4 <= len - 14) {
                    b[24] = b[25] = 0;
                    uint16_t c = jet_inet_csum(jet_inet_sum(b + 14, (b[14] & 0xfu) * 4, 0));
                    b[24] = (uint8_t)(c >> 8), b[25] = (uint8_t)c;
                }
            }
        }
        struct iovec iov = {b, len};
        ssize_t n;
        while ((n = jet_chan_send_eth(tx, &iov, 1)) == -EAGAIN) {
            jet_station_poll(sa);
            for (int k = 0; k < 3; k++) { /* keep the queues from filling */
                struct jet_rx rx;
                while (jet_chan_recv(ch[k], &rx, 0) == 0)
                    jet_chan_release(ch[k], &rx);
            }
        }
        REQUIRE(n == (ssize_t)len);
        sent++;
    }
    pump(st0.frames_in, N);
    jet_station_stats(sb, &st1);
    uint64_t queued = 0, dropped = 0;
    for (int k = 0; k < 3; k++) {
        struct jet_chan_stats cs;
        jet_chan_stats(ch[k], &cs);
        queued += cs.frames_in + cs.queued;
        dropped += cs.dropped_policy;
        CHECK(cs.frames_in + cs.queued > 0); /* every kind of fate was reached */
        jet_chan_close(ch[k]);
    }
    uint64_t hdr = st1.dropped_header - st0.dropped_header, other = st1.dropped_other - st0.dropped_other;
    CHECK(hdr > 0);
    CHECK_EQ(other, 0); /* the default channel takes what no rule does */
    CHECK_EQ(hdr + other + queued + dropped + (st1.dropped_no_chan - st0.dropped_no_chan) +
                 (st1.dropped_not_mine - st0.dropped_not_mine),
             N);
}

int main(void)
{
    main_pid = getpid();
    atexit(cleanup_lans);
    int lan = mklan("steer", NULL);
    sa = st_open(lan, 0);
    sb = st_open(lan, 1);
    REQUIRE(jet_station_link(sa)->caps.eth);
    jet_lan_station_mac(jet_station_link(sa), 0, mac_a);
    jet_lan_station_mac(jet_station_link(sa), 1, mac_b);
    tx = ch_open(sa, 1, NULL);
    test_shapes();
    test_many();
    test_policy();
    test_native_in_eth();
    test_send();
    test_random();
    struct jet_chan_stats cs;
    jet_chan_stats(tx, &cs);
    CHECK_EQ(cs.frames_out, sent);
    jet_chan_close(tx);
    jet_station_close(sa);
    jet_station_close(sb);
    rmlan(lan);
    return check_done("test_steer");
}
