/* The tap:IF link (src/link/tap.c) and its virtio-net header work
 * (src/link/tap_gso.c).
 *
 * Pure functions, on crafted frames (no device needed):
 *   csum      a partial UDP/TCP checksum completed as the kernel would leave
 *             it; a UDP sum of 0 sent as 0xFFFF; bounds refused
 *   seg       a 10,000-byte TCP frame cut into segments: ids, lengths,
 *             sequence numbers, PSH/FIN last only, CWR first only, checksums,
 *             the payload byte-exact
 *   vnet_tx   the header for frames that fit, GSO for large IPv4 TCP (its
 *             pseudo-header sum completes to the right checksum), -EMSGSIZE
 *             for other large frames, -EINVAL for a malformed one
 * With the Linux kernel as the peer, in a private network namespace
 * (unshare(CLONE_NEWNET): it dies with the process; skipped without root):
 *   open      create (brought up, deleted at close), attach to an existing
 *             one (kept at close), -EBUSY twice or not a TAP, -ENODEV
 *             (must_exist), -ENETDOWN, -EMSGSIZE (MTU), -EINVAL (rx_max_frame)
 *   ping      198.18.7.1/24 on the interface, we are 198.18.7.2: our ARP
 *             request and ICMP echo answered, with valid checksums
 *   udp       a kernel UDP socket sends to us (we answer its ARP): the
 *             checksum the kernel left partial arrives complete
 *   tcp_rx    a kernel TCP socket sends 8 MB to a minimal receiver here:
 *             GSO frames over the MTU arrive whole (rx_max_frame 0), or cut to
 *             rx_max_frame 3000; every frame's checksums valid, data byte-exact
 *   tcp_tx    we send the kernel one 20,000-byte TCP frame (GSO on the way
 *             out): a kernel socket reads it byte-exact
 *   into      tcp_rx again with tap_link_read_into (and our ACKs written by
 *             tap_link_write_from): frames read straight into our buffers,
 *             checksums completed; with a buffer of 3,000 bytes the longer
 *             frames come whole from rx_burst instead (TAP_READ_BURST),
 *             with rx_max_frame 3,000 cut by it, in order, byte-exact
 *   from      tcp_tx again with tap_link_write_from: the GSO frame written
 *             from our memory (only its TCP checksum field rewritten),
 *             read byte-exact by the kernel; frames refused as tx_commit
 *             refuses them, counted
 * JET_TAP_BENCH=1 makes tcp_rx/tcp_tx long and prints rates. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "jet/frame.h"
#include "jet/inet.h"
#include "jet/link.h"
#include "link/tap.h"
#include "link/tap_gso.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint8_t pat(uint64_t i)
{
    return (uint8_t)(i * 131 + (i >> 9) * 7 + 3);
}

static const uint8_t MAC_A[6] = {0x02, 0, 0, 0, 0, 1}, MAC_B[6] = {0x02, 0, 0, 0, 0, 2};

/* Writes Ethernet + IPv4 headers (proto, l4len bytes after them) at f. */
static uint32_t put_ip(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint8_t proto,
                       uint32_t sip, uint32_t dip, uint32_t l4len, uint16_t id)
{
    struct jet_eth_hdr e = {.ethertype = 0x0800, .vlan = JET_ETH_UNTAGGED};
    memcpy(e.dst, dst, 6);
    memcpy(e.src, src, 6);
    jet_eth_emit(f, 14, &e);
    struct jet_ipv4_hdr h = {.hdr_len = 20, .total_len = (uint16_t)(20 + l4len), .id = id,
                             .frag = JET_IPV4_DF, .ttl = 64, .proto = proto, .src = sip,
                             .dst = dip};
    jet_ipv4_emit(f + 14, 20, &h);
    return 34 + l4len;
}

/* A TCP frame with payload[i] = pat(off + i) and the timestamp option. */
static uint32_t put_tcp(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint32_t sip,
                        uint32_t dip, struct jet_tcp_hdr *t, uint32_t plen, uint64_t off)
{
    int hl = jet_tcp_hdr_len(&t->opt);
    for (uint32_t i = 0; i < plen; i++)
        f[34 + hl + i] = pat(off + i);
    jet_tcp_emit(f + 34, 65535, t, sip, dip, plen);
    return put_ip(f, dst, src, JET_IP_PROTO_TCP, sip, dip, (uint32_t)hl + plen, 0x1234);
}

/* Whether frame f's IPv4 (and TCP/UDP/ICMP) checksums verify. */
static bool sums_ok(const uint8_t *f, uint32_t len)
{
    struct jet_ipv4_hdr ip;
    if (len < 34 || f[12] != 8 || f[13] != 0)
        return true; /* not IPv4 */
    if (jet_ipv4_parse(f + 14, len - 14, &ip, 0))
        return false;
    const uint8_t *p = f + 14 + ip.hdr_len;
    size_t pl = ip.total_len - ip.hdr_len;
    if (jet_ipv4_is_fragment(&ip))
        return true;
    if (ip.proto == JET_IP_PROTO_TCP) {
        struct jet_tcp_hdr t;
        return jet_tcp_parse(p, pl, ip.src, ip.dst, &t, 0) == 0;
    }
    if (ip.proto == JET_IP_PROTO_UDP) {
        struct jet_udp_hdr u;
        return jet_udp_parse(p, pl, ip.src, ip.dst, &u, 0) == 0;
    }
    if (ip.proto == JET_IP_PROTO_ICMP) {
        struct jet_icmp_hdr c;
        return jet_icmp_parse(p, pl, &c, 0) == 0;
    }
    return true;
}

/* ---- pure functions ---- */

static void t_csum(void)
{
    static uint8_t f[2000];
    uint32_t sip = 0xC6120701, dip = 0xC6120702;
    for (int tcp = 0; tcp < 2; tcp++) {
        uint32_t len;
        uint32_t off = tcp ? 16 : 6;
        if (tcp) {
            struct jet_tcp_hdr t = {.sport = 1, .dport = 2, .seq = 5, .flags = JET_TCP_ACK,
                                    .win = 100};
            len = put_tcp(f, MAC_A, MAC_B, sip, dip, &t, 1001, 0);
        } else {
            for (int i = 0; i < 1001; i++)
                f[42 + i] = pat((uint64_t)i);
            struct jet_udp_hdr u = {.sport = 7, .dport = 9, .len = 8 + 1001};
            jet_udp_emit(f + 34, 2000, &u, sip, dip);
            len = put_ip(f, MAC_A, MAC_B, JET_IP_PROTO_UDP, sip, dip, 8 + 1001, 1);
        }
        CHECK(sums_ok(f, len));
        uint16_t good = (uint16_t)(f[34 + off] << 8 | f[35 + off]);
        /* as the kernel leaves it: the pseudo-header sum, folded, not complemented */
        uint16_t ps = (uint16_t)~jet_inet_csum(jet_inet_pseudo_sum(
            sip, dip, tcp ? JET_IP_PROTO_TCP : JET_IP_PROTO_UDP, (uint16_t)(len - 34)));
        f[34 + off] = (uint8_t)(ps >> 8);
        f[35 + off] = (uint8_t)ps;
        CHECK(!sums_ok(f, len));
        CHECK_EQ(tap_csum_complete(f, len, 34, off), 0);
        CHECK_EQ(f[34 + off] << 8 | f[35 + off], good);
        CHECK(sums_ok(f, len));
    }
    /* UDP whose sum comes out 0: sent as 0xFFFF.  Two payload bytes chosen so. */
    for (int i = 0; i < 100; i++)
        f[42 + i] = pat((uint64_t)i);
    f[42 + 98] = f[42 + 99] = 0;
    struct jet_udp_hdr u = {.sport = 7, .dport = 9, .len = 108};
    jet_udp_emit(f + 34, 2000, &u, sip, dip);
    uint32_t len = put_ip(f, MAC_A, MAC_B, JET_IP_PROTO_UDP, sip, dip, 108, 1);
    uint16_t c0 = (uint16_t)(f[40] << 8 | f[41]);
    if (c0 == 0xFFFF) /* the sum was 0 already */
        c0 = 0;
    f[42 + 98] = (uint8_t)(c0 >> 8);
    f[42 + 99] = (uint8_t)c0;
    uint16_t ps = (uint16_t)~jet_inet_csum(jet_inet_pseudo_sum(sip, dip, JET_IP_PROTO_UDP, 108));
    f[40] = (uint8_t)(ps >> 8);
    f[41] = (uint8_t)ps;
    CHECK_EQ(tap_csum_complete(f, len, 34, 6), 0);
    CHECK_EQ(f[40] << 8 | f[41], 0xFFFF);
    CHECK(sums_ok(f, len));
    /* outside the frame */
    CHECK_EQ(tap_csum_complete(f, len, len, 0), -EINVAL);
    CHECK_EQ(tap_csum_complete(f, len, 34, len - 35), -EINVAL);
    CHECK_EQ(tap_csum_complete(f, len, 34, len - 36), 0);
}

static void t_seg(void)
{
    static uint8_t f[14 + 65535], out[14 + 65535], whole[20000];
    uint32_t sip = 0xC6120701, dip = 0xC6120702;
    struct jet_tcp_hdr t = {.sport = 1000, .dport = 80, .seq = 0xFFFFF000u, .ack = 77,
                            .flags = JET_TCP_ACK | JET_TCP_PSH | JET_TCP_FIN | JET_TCP_CWR,
                            .win = 500, .opt = {.has_ts = true, .ts_val = 9, .ts_ecr = 8}};
    uint32_t len = put_tcp(f, MAC_A, MAC_B, sip, dip, &t, 10000, 0);
    struct tap_tcp4 tt;
    REQUIRE(tap_tcp4_parse(f, len, &tt) == 0);
    CHECK_EQ(tt.ihl, 20);
    CHECK_EQ(tt.thl, 32);
    CHECK_EQ(tt.hdr_len, 66);
    CHECK_EQ(tt.payload, 10000);
    for (uint32_t mss = 1448; mss <= 10000; mss += 8552 / 2) {
        memset(whole, 0, sizeof whole);
        unsigned k = 0;
        for (uint32_t off = 0; off < tt.payload; off += mss, k++) {
            uint32_t sl = tap_tcp4_seg(f, &tt, off, mss, out);
            uint32_t n = tt.payload - off < mss ? tt.payload - off : mss;
            CHECK_EQ(sl, 66 + n);
            CHECK(sums_ok(out, sl));
            struct jet_ipv4_hdr ip;
            struct jet_tcp_hdr th;
            REQUIRE(jet_ipv4_parse(out + 14, sl - 14, &ip, 0) == 0);
            CHECK_EQ(ip.total_len, sl - 14);
            CHECK_EQ(ip.id, (uint16_t)(0x1234 + k));
            REQUIRE(jet_tcp_parse(out + 34, sl - 34, sip, dip, &th, 0) == 0);
            CHECK_EQ(th.seq, 0xFFFFF000u + off);
            bool last = off + mss >= tt.payload;
            CHECK_EQ(th.flags & (JET_TCP_FIN | JET_TCP_PSH), last ? JET_TCP_FIN | JET_TCP_PSH : 0);
            CHECK_EQ(th.flags & JET_TCP_CWR, off == 0 ? JET_TCP_CWR : 0);
            CHECK(th.flags & JET_TCP_ACK);
            CHECK(th.opt.has_ts && th.opt.ts_val == 9 && th.opt.ts_ecr == 8);
            CHECK(!memcmp(out, f, 12)); /* MACs */
            memcpy(whole + off, out + 66, n);
        }
        CHECK_EQ(k, (10000 + mss - 1) / mss);
        CHECK(!memcmp(whole, f + 66, 10000));
    }
    /* not IPv4 TCP, or inconsistent: refused */
    f[14 + 9] = JET_IP_PROTO_UDP;
    CHECK_EQ(tap_tcp4_parse(f, len, &tt), -EINVAL);
    f[14 + 9] = JET_IP_PROTO_TCP;
    CHECK_EQ(tap_tcp4_parse(f, len - 1, &tt), -EINVAL);
    CHECK_EQ(tap_tcp4_parse(f, 40, &tt), -EINVAL);
}

static void t_vnet_tx(void)
{
    static uint8_t f[14 + 65535];
    uint32_t sip = 0xC6120701, dip = 0xC6120702;
    struct virtio_net_hdr h;
    struct jet_tcp_hdr t = {.sport = 1, .dport = 2, .seq = 1, .flags = JET_TCP_ACK, .win = 9,
                            .opt = {.has_ts = true}};
    /* fits: no header work, frame untouched */
    uint32_t len = put_tcp(f, MAC_A, MAC_B, sip, dip, &t, 1500 - 52, 0);
    CHECK_EQ(len, 1514);
    CHECK_EQ(tap_vnet_tx(f, len, 1500, &h), 0);
    CHECK(h.flags == 0 && h.gso_type == VIRTIO_NET_HDR_GSO_NONE);
    CHECK(sums_ok(f, len));
    /* large TCP: GSO */
    len = put_tcp(f, MAC_A, MAC_B, sip, dip, &t, 60000, 0);
    CHECK_EQ(tap_vnet_tx(f, len, 1500, &h), 0);
    CHECK_EQ(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    CHECK_EQ(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
    CHECK_EQ(h.gso_size, 1500 - 20 - 32);
    CHECK_EQ(h.hdr_len, 14 + 20 + 32);
    CHECK_EQ(h.csum_start, 34);
    CHECK_EQ(h.csum_offset, 16);
    CHECK(!sums_ok(f, len)); /* partial now ... */
    CHECK_EQ(tap_csum_complete(f, len, h.csum_start, h.csum_offset), 0);
    CHECK(sums_ok(f, len)); /* ... and what the kernel completes is right */
    t.flags |= JET_TCP_CWR;
    len = put_tcp(f, MAC_A, MAC_B, sip, dip, &t, 3000, 0);
    CHECK_EQ(tap_vnet_tx(f, len, 1500, &h), 0);
    CHECK_EQ(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN);
    /* anything else: up to MTU + 18 (a VLAN tag), no further */
    for (uint32_t l = 1514; l <= 1520; l++) {
        memset(f, 0, 40);
        f[12] = 0x88;
        f[13] = 0xb5;
        CHECK_EQ(tap_vnet_tx(f, l, 1500, &h), l <= 1518 ? 0 : -EMSGSIZE);
    }
    for (int i = 0; i < 2000; i++)
        f[42 + i] = pat((uint64_t)i);
    struct jet_udp_hdr u = {.sport = 7, .dport = 9, .len = 2008};
    jet_udp_emit(f + 34, 4000, &u, sip, dip);
    len = put_ip(f, MAC_A, MAC_B, JET_IP_PROTO_UDP, sip, dip, 2008, 1);
    CHECK_EQ(tap_vnet_tx(f, len, 1500, &h), -EMSGSIZE);
    /* a large TCP frame whose IPv4 length disagrees */
    t.flags = JET_TCP_ACK;
    len = put_tcp(f, MAC_A, MAC_B, sip, dip, &t, 3000, 0);
    CHECK_EQ(tap_vnet_tx(f, len + 10, 1500, &h), -EINVAL);

    /* with the sender's segment size (TSO, jet_frame.gso_size): the connection's wire
     * payload, e.g. 988 for a peer MSS of 1000 with timestamps on an MTU 1500 link */
    len = put_tcp(f, MAC_A, MAC_B, sip, dip, &t, 60000, 0);
    CHECK_EQ(tap_vnet_tx_gso(f, len, 1500, 988, &h), 0);
    CHECK_EQ(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    CHECK_EQ(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
    CHECK_EQ(h.gso_size, 988);
    CHECK_EQ(h.hdr_len, 14 + 20 + 32);
    CHECK_EQ(tap_csum_complete(f, len, h.csum_start, h.csum_offset), 0);
    CHECK(sums_ok(f, len));
    /* never over the MTU, whatever the sender says */
    CHECK_EQ(tap_vnet_tx_gso(f, len, 1500, 9000, &h), 0);
    CHECK_EQ(h.gso_size, 1500 - 20 - 32);
    /* one that fits: its checksum completed by the link (the sender may have left the
     * pseudo-header sum, or anything: it is replaced), an ordinary frame */
    len = put_tcp(f, MAC_A, MAC_B, sip, dip, &t, 988, 0);
    f[14 + 20 + 16] ^= 0x5a;
    CHECK(!sums_ok(f, len));
    CHECK_EQ(tap_vnet_tx_gso(f, len, 1500, 988, &h), 0);
    CHECK(h.flags == 0 && h.gso_type == VIRTIO_NET_HDR_GSO_NONE);
    CHECK(sums_ok(f, len));
    /* not TCP: as without a segment size */
    len = put_ip(f, MAC_A, MAC_B, JET_IP_PROTO_UDP, sip, dip, 1000, 1);
    CHECK_EQ(tap_vnet_tx_gso(f, len, 1500, 988, &h), 0);
    CHECK(h.flags == 0 && h.gso_type == VIRTIO_NET_HDR_GSO_NONE);
}

/* ---- with the kernel ---- */

static int sh(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "'%s': %d\n", cmd, rc);
    return rc;
}

static bool if_up(const char *name)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, name);
    bool up = ioctl(s, SIOCGIFFLAGS, &r) == 0 && (r.ifr_flags & IFF_UP);
    close(s);
    return up;
}

static void t_open(void)
{
    struct jet_link *l = NULL, *l2 = NULL;
    struct jet_err err = {0};
    REQUIRE(tap_link_open("jtt0", NULL, &l, &err) == 0);
    CHECK(if_nametoindex("jtt0") > 0);
    CHECK_EQ(tap_link_ifindex(l), if_nametoindex("jtt0"));
    CHECK(if_up("jtt0"));
    CHECK(l->caps.eth && !l->caps.native && l->caps.has_mac);
    CHECK_EQ(l->caps.addr, JET_LINK_NO_ADDR);
    CHECK_EQ(l->caps.mtu, 1500);
    CHECK_EQ(l->caps.max_frame, 14 + 65535);
    CHECK((l->caps.mac[0] & 3) == 2); /* locally administered unicast */
    CHECK(!strcmp(l->name, "tap:jtt0"));
    CHECK_EQ(tap_link_open("jtt0", NULL, &l2, &err), -EBUSY);
    CHECK(strstr(err.msg, "jtt0") && strstr(err.msg, "another process"));
    CHECK_EQ(tap_link_open("lo", NULL, &l2, &err), -EBUSY);
    CHECK(strstr(err.msg, "not a TAP"));
    jet_link_close(l);
    CHECK_EQ(if_nametoindex("jtt0"), 0); /* we made it: gone */

    /* through the link name, with a MAC given */
    struct tap_opts o = {.has_mac = true, .mac = {0x02, 1, 2, 3, 4, 5}};
    REQUIRE(tap_link_open("jtt0", &o, &l, &err) == 0);
    CHECK(!memcmp(l->caps.mac, o.mac, 6));
    jet_link_close(l);
    REQUIRE(jet_link_open("tap:jtt0", NULL, &l, &err) == 0);
    CHECK(!strcmp(l->ops->kind, "tap"));
    jet_link_close(l);

    o = (struct tap_opts){.must_exist = true};
    CHECK_EQ(tap_link_open("jtt9", &o, &l, &err), -ENODEV);
    CHECK(strstr(err.msg, "no interface jtt9"));
    CHECK_EQ(if_nametoindex("jtt9"), 0);
    o = (struct tap_opts){.rx_max_frame = 500};
    CHECK_EQ(tap_link_open("jtt9", &o, &l, &err), -EINVAL);

    /* an existing interface: down, MTU too small, then fine; kept at close */
    REQUIRE(sh("ip tuntap add jtt1 mode tap") == 0);
    o = (struct tap_opts){.must_exist = true};
    CHECK_EQ(tap_link_open("jtt1", &o, &l, &err), -ENETDOWN);
    CHECK(strstr(err.msg, "interface jtt1 is down (ip link set jtt1 up)"));
    REQUIRE(sh("ip link set jtt1 mtu 500 up") == 0);
    CHECK_EQ(tap_link_open("jtt1", &o, &l, &err), -EMSGSIZE);
    CHECK(strstr(err.msg, "MTU 500"));
    REQUIRE(sh("ip link set jtt1 mtu 9000") == 0);
    REQUIRE(tap_link_open("jtt1", &o, &l, &err) == 0);
    CHECK_EQ(l->caps.mtu, 9000);
    jet_link_close(l);
    CHECK(if_nametoindex("jtt1") > 0);
    sh("ip link del jtt1");
}

/* The kernel peer: interface jtk0 (198.18.7.1/24), us 198.18.7.2. */
struct kp {
    struct jet_link *l;
    uint8_t mac[6], kmac[6];
    bool have_kmac;
    uint32_t ip, kip;
    unsigned arp_answered;
    bool direct; /* send_tcp writes with tap_link_write_from, not tx_alloc/commit */
};

enum { KIP = 0xC6120701, OURIP = 0xC6120702 };

static struct jet_frame alloc1(struct kp *k)
{
    struct jet_frame f;
    uint64_t until = now_ns() + 1000000000ull;
    int rc;
    while ((rc = jet_link_tx_alloc(k->l, &f)) != 0 && now_ns() < until)
        jet_link_tx_flush(k->l);
    REQUIRE(rc == 0);
    return f;
}

static void send_arp(struct kp *k, uint16_t op, const uint8_t *tha, uint32_t tpa)
{
    struct jet_frame f = alloc1(k);
    struct jet_eth_hdr e = {.ethertype = 0x0806, .vlan = JET_ETH_UNTAGGED};
    memcpy(e.dst, op == JET_ARP_REQUEST ? (const uint8_t[6]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
                                        : tha, 6);
    memcpy(e.src, k->mac, 6);
    jet_eth_emit(f.data, 14, &e);
    struct jet_arp a = {.op = op, .spa = k->ip, .tpa = tpa};
    memcpy(a.sha, k->mac, 6);
    if (op == JET_ARP_REPLY)
        memcpy(a.tha, tha, 6);
    jet_arp_emit(f.data + 14, 28, &a);
    f.len = 42;
    CHECK_EQ(jet_link_tx_commit(k->l, &f), 0);
    jet_link_tx_flush(k->l);
}

/* Handles ARP (answers requests for us, learns the kernel's MAC); 1 if f was ARP. */
static int arp_in(struct kp *k, const struct jet_frame *f)
{
    struct jet_arp a;
    if (f->len < 42 || f->data[12] != 8 || f->data[13] != 6 ||
        jet_arp_parse(f->data + 14, f->len - 14, &a))
        return 0;
    if (a.spa == k->kip) {
        memcpy(k->kmac, a.sha, 6);
        k->have_kmac = true;
    }
    if (a.op == JET_ARP_REQUEST && a.tpa == k->ip) {
        send_arp(k, JET_ARP_REPLY, a.sha, a.spa);
        k->arp_answered++;
    }
    return 1;
}

static void kp_open(struct kp *k, uint32_t rx_max)
{
    memset(k, 0, sizeof *k);
    struct jet_err err = {0};
    struct tap_opts o = {.rx_max_frame = rx_max};
    int rc = tap_link_open("jtk0", &o, &k->l, &err);
    if (rc)
        fprintf(stderr, "open jtk0: %s\n", err.msg);
    REQUIRE(rc == 0);
    memcpy(k->mac, k->l->caps.mac, 6);
    k->ip = OURIP;
    k->kip = KIP;
    REQUIRE(sh("ip addr add 198.18.7.1/24 dev jtk0") == 0);
}

/* Receives for up to ms, giving each frame (after arp_in) to fn until it returns true. */
static bool kp_recv(struct kp *k, int ms, bool (*fn)(struct kp *, struct jet_frame *, void *),
                    void *arg)
{
    uint64_t until = now_ns() + (uint64_t)ms * 1000000u;
    bool done = false;
    while (!done && now_ns() < until) {
        struct jet_frame f[32];
        int n = jet_link_rx_burst(k->l, f, 32);
        REQUIRE(n >= 0);
        for (int i = 0; i < n; i++) {
            arp_in(k, &f[i]);
            if (!done)
                done = fn(k, &f[i], arg);
        }
        jet_link_rx_release(k->l, f, (unsigned)n);
        if (!n)
            jet_link_wait(k->l, 10000000);
    }
    return done;
}

static bool got_kmac(struct kp *k, struct jet_frame *f, void *arg)
{
    (void)f;
    (void)arg;
    return k->have_kmac;
}

static bool got_echo_reply(struct kp *k, struct jet_frame *f, void *arg)
{
    (void)k;
    struct jet_ipv4_hdr ip;
    struct jet_icmp_hdr c;
    if (f->len < 42 || jet_ipv4_parse(f->data + 14, f->len - 14, &ip, JET_INET_NO_CSUM) ||
        ip.proto != JET_IP_PROTO_ICMP ||
        jet_icmp_parse(f->data + 34, ip.total_len - 20u, &c, JET_INET_NO_CSUM) ||
        c.type != JET_ICMP_ECHO_REPLY || c.rest != 0x42420007u)
        return false;
    CHECK(sums_ok(f->data, f->len));
    CHECK_EQ(ip.total_len, 20 + 8 + 1000);
    for (int i = 0; i < 1000; i++)
        if (f->data[42 + i] != pat((uint64_t)i)) {
            CHECK(0);
            break;
        }
    *(int *)arg = 1;
    return true;
}

static void t_ping(void)
{
    struct kp k;
    kp_open(&k, 0);
    send_arp(&k, JET_ARP_REQUEST, NULL, KIP);
    CHECK(kp_recv(&k, 2000, got_kmac, NULL));
    struct jet_frame f = alloc1(&k);
    for (int i = 0; i < 1000; i++)
        f.data[42 + i] = pat((uint64_t)i);
    struct jet_icmp_hdr c = {.type = JET_ICMP_ECHO, .rest = 0x42420007u};
    jet_icmp_emit(f.data + 34, 2000, &c, 1000);
    f.len = put_ip(f.data, k.kmac, k.mac, JET_IP_PROTO_ICMP, OURIP, KIP, 1008, 99);
    CHECK_EQ(jet_link_tx_commit(k.l, &f), 0);
    jet_link_tx_flush(k.l);
    int ok = 0;
    CHECK(kp_recv(&k, 2000, got_echo_reply, &ok));
    CHECK(ok);
    struct jet_link_stats st;
    CHECK_EQ(jet_link_stats(k.l, &st), 0);
    CHECK_EQ(st.tx_frames, 2);
    CHECK(st.rx_frames >= 2);
    CHECK_EQ(st.tx_dropped + st.rx_dropped, 0);
    jet_link_close(k.l);
}

static bool got_udp(struct kp *k, struct jet_frame *f, void *arg)
{
    (void)k;
    struct jet_ipv4_hdr ip;
    if (f->len < 42 || jet_ipv4_parse(f->data + 14, f->len - 14, &ip, JET_INET_NO_CSUM) ||
        ip.proto != JET_IP_PROTO_UDP)
        return false;
    CHECK(sums_ok(f->data, f->len));
    CHECK_EQ(ip.total_len, 20 + 8 + 1200);
    ++*(int *)arg;
    return *(int *)arg == 3;
}

static void t_udp(void)
{
    struct kp k;
    kp_open(&k, 0);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(s >= 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9999),
                             .sin_addr.s_addr = htonl(OURIP)};
    static uint8_t buf[1200];
    for (int i = 0; i < 3; i++)
        sendto(s, buf, sizeof buf, 0, (struct sockaddr *)&to, sizeof to);
    int n = 0;
    CHECK(kp_recv(&k, 3000, got_udp, &n));
    CHECK_EQ(n, 3);
    CHECK(k.arp_answered >= 1); /* the kernel asked for us first */
    close(s);
    jet_link_close(k.l);
}

/* A minimal TCP receiver: answers the SYN, checks and acknowledges data. */
struct rcv {
    uint32_t rcv_nxt, iss;
    uint16_t kport;
    bool synced;
    uint64_t got, frames, big, bad, maxlen;
    uint32_t rx_max;
    uint64_t into, lent; /* frames read by tap_link_read_into, lent by rx_burst */
};

/* Takes frames into f[32]: with into_cap, each read by tap_link_read_into
 * into its own buffer of into_cap bytes, from rx_burst when it says so (lent
 * then: how many, from f + *nin, to release); else rx_burst alone. */
static int take_frames(struct kp *k, struct rcv *r, uint32_t into_cap, struct jet_frame *f,
                       int *nin)
{
    static uint8_t mem[32][14 + 65535];
    int n = 0;
    while (into_cap && n < 32) {
        uint32_t len = 0;
        int rc = tap_link_read_into(k->l, mem[n], into_cap, &len);
        REQUIRE(rc >= 0);
        if (rc != 1) {
            CHECK(rc == 0 || rc == TAP_READ_BURST);
            if (rc == 0)
                break;
            int m = jet_link_rx_burst(k->l, f + n, (unsigned)(32 - n));
            REQUIRE(m >= 0);
            r->lent += (unsigned)m;
            *nin = n;
            return m;
        }
        CHECK(len >= 14 && len <= into_cap);
        CHECK(sums_ok(mem[n], len));
        f[n] = (struct jet_frame){.data = mem[n], .len = len, .encap = JET_ENCAP_ETH};
        n++;
        r->into++;
    }
    *nin = n;
    if (into_cap)
        return 0;
    return jet_link_rx_burst(k->l, f, 32);
}

static void send_tcp(struct kp *k, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                     uint8_t flags, const struct jet_tcp_hdr_opts *opt, uint32_t plen, uint64_t off)
{
    static uint8_t mem[14 + 65535];
    struct jet_frame f = k->direct ? (struct jet_frame){.data = mem} : alloc1(k);
    struct jet_tcp_hdr t = {.sport = sport, .dport = dport, .seq = seq, .ack = ack,
                            .flags = flags, .win = 65535};
    if (opt)
        t.opt = *opt;
    f.len = put_tcp(f.data, k->kmac, k->mac, OURIP, KIP, &t, plen, off);
    int rc;
    if (k->direct) {
        uint64_t until = now_ns() + 1000000000ull;
        while ((rc = tap_link_write_from(k->l, f.data, f.len)) == -EAGAIN && now_ns() < until)
            ;
    } else {
        rc = jet_link_tx_commit(k->l, &f);
    }
    if (rc)
        fprintf(stderr, "commit TCP %u bytes: %s\n", plen, jet_link_error(k->l));
    CHECK_EQ(rc, 0);
}

static void rcv_frame(struct kp *k, struct rcv *r, struct jet_frame *f)
{
    struct jet_ipv4_hdr ip;
    struct jet_tcp_hdr t;
    if (f->len < 54 || jet_ipv4_parse(f->data + 14, f->len - 14, &ip, 0) ||
        ip.proto != JET_IP_PROTO_TCP) {
        return;
    }
    if (jet_tcp_parse(f->data + 34, ip.total_len - 20u, ip.src, ip.dst, &t, 0)) {
        r->bad++;
        return;
    }
    if (!k->have_kmac) {
        memcpy(k->kmac, f->data + 6, 6);
        k->have_kmac = true;
    }
    if (t.dport != 5000 || (r->synced && t.sport != r->kport))
        return; /* another connection's */
    if (t.flags & JET_TCP_SYN) {
        r->kport = t.sport;
        r->rcv_nxt = t.seq + 1;
        r->iss = 1000;
        struct jet_tcp_hdr_opts o = {.mss = 1460, .has_wscale = true, .wscale = 9};
        send_tcp(k, 5000, t.sport, r->iss, r->rcv_nxt, JET_TCP_SYN | JET_TCP_ACK, &o, 0, 0);
        r->synced = true;
        return;
    }
    uint32_t plen = ip.total_len - 20u - t.hdr_len;
    if (!plen)
        return;
    r->frames++;
    if (f->len > 1514)
        r->big++;
    if (f->len > r->maxlen)
        r->maxlen = f->len;
    if (r->rx_max && f->len > r->rx_max)
        r->bad++;
    if (t.seq != r->rcv_nxt)
        return; /* out of order: not expected here, acked below as it stands */
    const uint8_t *p = f->data + 34 + t.hdr_len;
    for (uint32_t i = 0; i < plen; i++)
        if (p[i] != pat(r->got + i)) {
            r->bad++;
            break;
        }
    r->got += plen;
    r->rcv_nxt += plen;
}

static void t_tcp_rx(uint32_t rx_max, uint64_t total, bool bench, uint32_t into_cap)
{
    struct kp k;
    kp_open(&k, rx_max);
    k.direct = into_cap != 0;
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    REQUIRE(s >= 0);
    int sb = 4 << 20;
    setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(5000),
                             .sin_addr.s_addr = htonl(OURIP)};
    connect(s, (struct sockaddr *)&to, sizeof to);
    struct rcv r = {.rx_max = rx_max};
    static uint8_t chunk[1 << 16];
    uint64_t sent = 0, t0 = 0, until = now_ns() + (bench ? 20000000000ull : 10000000000ull);
    while (r.got < total && now_ns() < until && r.bad == 0) {
        if (r.synced && sent < total) {
            uint64_t n = total - sent < sizeof chunk ? total - sent : sizeof chunk;
            for (uint64_t i = 0; i < n; i++)
                chunk[i] = pat(sent + i);
            ssize_t w = send(s, chunk, n, 0);
            if (w > 0) {
                if (!t0)
                    t0 = now_ns();
                sent += (uint64_t)w;
            }
        }
        struct jet_frame f[32];
        int nin = 0, lent = take_frames(&k, &r, into_cap, f, &nin), n = nin + lent;
        REQUIRE(lent >= 0);
        uint64_t before = r.got;
        for (int i = 0; i < n; i++)
            if (!arp_in(&k, &f[i]))
                rcv_frame(&k, &r, &f[i]);
        jet_link_rx_release(k.l, f + nin, (unsigned)lent);
        if (r.got != before)
            send_tcp(&k, 5000, r.kport, r.iss + 1, r.rcv_nxt, JET_TCP_ACK, NULL, 0, 0);
        jet_link_tx_flush(k.l);
        if (!n && sent >= total)
            jet_link_wait(k.l, 1000000);
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    struct jet_link_stats st;
    jet_link_stats(k.l, &st);
    fprintf(stderr, "tcp_rx rx_max %u, read_into cap %u (%llu frames; %llu lent): %llu bytes in "
                    "%llu frames (%llu over 1514, largest %llu) "
                    "%.3f s: %.2f Gbit/s, %.0f frames/s; rx_dropped %llu\n",
            rx_max, into_cap, (unsigned long long)r.into, (unsigned long long)r.lent,
            (unsigned long long)r.got, (unsigned long long)r.frames,
            (unsigned long long)r.big, (unsigned long long)r.maxlen, secs,
            (double)r.got * 8 / secs / 1e9, (double)st.rx_frames / secs,
            (unsigned long long)st.rx_dropped);
    CHECK_EQ(r.got, total);
    CHECK_EQ(r.bad, 0);
    if (rx_max == 0)
        CHECK(r.big > 0); /* GSO frames arrived whole */
    else
        CHECK(r.maxlen <= rx_max && r.maxlen > 1514); /* cut, to more than the MTU */
    if (into_cap)
        CHECK(r.into > 0); /* the SYN and ACK-less frames at least */
    if (into_cap && (into_cap < r.maxlen || rx_max))
        CHECK(r.lent > 0); /* the longer ones (or the segments cut) came from rx_burst */
    if (into_cap > r.maxlen && !rx_max)
        CHECK_EQ(r.lent, 0);
    CHECK_EQ(st.rx_dropped, 0);
    close(s);
    jet_link_close(k.l);
}

/* We connect to a kernel listener and send it data in frames of up to
 * `seg` bytes of payload (GSO on the way out when over the MTU). */
static void t_tcp_tx(uint32_t seg, uint64_t total, bool bench, bool direct)
{
    struct kp k;
    kp_open(&k, 0);
    k.direct = direct;
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(ls >= 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(5001),
                            .sin_addr.s_addr = htonl(KIP)};
    REQUIRE(bind(ls, (struct sockaddr *)&a, sizeof a) == 0);
    REQUIRE(listen(ls, 1) == 0);
    send_arp(&k, JET_ARP_REQUEST, NULL, KIP);
    REQUIRE(kp_recv(&k, 2000, got_kmac, NULL));
    static uint16_t sport = 6000;
    sport++; /* a fresh connection each run */
    uint32_t iss = 7000, snd_una = iss + 1, snd_nxt = iss + 1, wnd = 0, irs = 0;
    uint8_t wscale = 0;
    struct jet_tcp_hdr_opts o = {.mss = 1460, .has_wscale = true, .wscale = 7};
    send_tcp(&k, sport, 5001, iss, 0, JET_TCP_SYN, &o, 0, 0);
    jet_link_tx_flush(k.l);
    bool est = false;
    int cs = -1;
    uint64_t rcvd = 0, bad = 0, t0 = now_ns(), until = t0 + (bench ? 20000000000ull : 10000000000ull);
    static uint8_t buf[1 << 16];
    while (rcvd < total && now_ns() < until) {
        struct jet_frame f[32];
        int n = jet_link_rx_burst(k.l, f, 32);
        REQUIRE(n >= 0);
        for (int i = 0; i < n; i++) {
            struct jet_ipv4_hdr ip;
            struct jet_tcp_hdr t;
            if (arp_in(&k, &f[i]) || f[i].len < 54 ||
                jet_ipv4_parse(f[i].data + 14, f[i].len - 14, &ip, 0) ||
                ip.proto != JET_IP_PROTO_TCP ||
                jet_tcp_parse(f[i].data + 34, ip.total_len - 20u, ip.src, ip.dst, &t, 0) ||
                t.dport != sport)
                continue;
            if ((t.flags & (JET_TCP_SYN | JET_TCP_ACK)) == (JET_TCP_SYN | JET_TCP_ACK) && !est) {
                irs = t.seq;
                wscale = t.opt.has_wscale ? t.opt.wscale : 0;
                wnd = t.win;
                est = true;
                send_tcp(&k, sport, 5001, snd_nxt, irs + 1, JET_TCP_ACK, NULL, 0, 0);
            } else if (est && (t.flags & JET_TCP_ACK)) {
                if ((int32_t)(t.ack - snd_una) > 0)
                    snd_una = t.ack;
                wnd = (uint32_t)t.win << wscale;
            }
            CHECK(!(t.flags & JET_TCP_RST));
        }
        jet_link_rx_release(k.l, f, (unsigned)n);
        /* send what the window allows */
        uint64_t off = snd_nxt - (iss + 1);
        while (est && off < total && snd_nxt - snd_una < wnd && jet_link_tx_room(k.l) > 0) {
            uint32_t len = total - off < seg ? (uint32_t)(total - off) : seg;
            if (len > wnd - (snd_nxt - snd_una))
                len = wnd - (snd_nxt - snd_una);
            if (len < seg && len < 1448 && snd_nxt != snd_una && off + len < total)
                break; /* no silly segments: wait for the window */
            send_tcp(&k, sport, 5001, snd_nxt, irs + 1, JET_TCP_ACK | JET_TCP_PSH, NULL, len, off);
            snd_nxt += len;
            off += len;
        }
        jet_link_tx_flush(k.l);
        if (est && cs < 0) {
            cs = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
        }
        if (cs >= 0) {
            ssize_t r;
            while ((r = recv(cs, buf, sizeof buf, 0)) > 0) {
                for (ssize_t i = 0; i < r; i++)
                    bad += buf[i] != pat(rcvd + (uint64_t)i);
                rcvd += (uint64_t)r;
            }
        }
        if (!n)
            jet_link_wait(k.l, 200000);
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    struct jet_link_stats st;
    jet_link_stats(k.l, &st);
    fprintf(stderr, "tcp_tx frames of %u bytes of payload: the kernel read %llu bytes in %.3f s: "
                    "%.2f Gbit/s, %.0f frames/s sent; tx_dropped %llu\n",
            seg, (unsigned long long)rcvd, secs, (double)rcvd * 8 / secs / 1e9,
            (double)st.tx_frames / secs, (unsigned long long)st.tx_dropped);
    CHECK(est);
    CHECK_EQ(rcvd, total);
    CHECK_EQ(bad, 0);
    CHECK_EQ(st.tx_dropped, 0);
    if (cs >= 0)
        close(cs);
    close(ls);
    jet_link_close(k.l);
}

/* tap_link_read_into with nothing to read; a UDP datagram the kernel left
 * with a partial checksum, read into our buffer complete. */
static void t_into(void)
{
    struct kp k;
    kp_open(&k, 0);
    static uint8_t buf[14 + 65535];
    uint32_t len = 0;
    while (tap_link_read_into(k.l, buf, sizeof buf, &len) == 1)
        ; /* what the kernel sent on its own at bring-up */
    CHECK_EQ(tap_link_read_into(k.l, buf, sizeof buf, &len), 0);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(s >= 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9999),
                             .sin_addr.s_addr = htonl(OURIP)};
    static uint8_t dg[1200];
    sendto(s, dg, sizeof dg, 0, (struct sockaddr *)&to, sizeof to);
    int udp = 0;
    uint64_t until = now_ns() + 3000000000ull;
    while (!udp && now_ns() < until) {
        int rc = tap_link_read_into(k.l, buf, sizeof buf, &len);
        REQUIRE(rc == 0 || rc == 1);
        if (rc == 0) {
            jet_link_wait(k.l, 10000000);
            continue;
        }
        struct jet_frame f = {.data = buf, .len = len, .encap = JET_ENCAP_ETH};
        if (arp_in(&k, &f))
            continue;
        if (got_udp(&k, &f, &udp) || udp) /* got_udp checks the sums */
            CHECK_EQ(len, 14 + 20 + 8 + 1200);
    }
    CHECK_EQ(udp, 1);
    struct jet_link_stats st;
    CHECK_EQ(jet_link_stats(k.l, &st), 0);
    CHECK(st.rx_frames >= 2); /* ARP request, UDP */
    CHECK_EQ(st.rx_dropped, 0);
    close(s);
    jet_link_close(k.l);
}

/* tap_link_write_from: a GSO frame's bytes change only in its TCP checksum
 * field; frames tx_commit would refuse are refused, counted. */
static void t_from(void)
{
    struct kp k;
    kp_open(&k, 0);
    static uint8_t f[14 + 65535], was[14 + 65535];
    struct jet_tcp_hdr t = {.sport = 1, .dport = 2, .seq = 1, .flags = JET_TCP_ACK, .win = 9};
    memset(k.kmac, 0x02, 6);
    uint32_t len = put_tcp(f, k.kmac, k.mac, OURIP, KIP, &t, 20000, 0);
    memcpy(was, f, len);
    CHECK_EQ(tap_link_write_from(k.l, f, len), 0); /* a stray segment: the kernel resets it */
    for (uint32_t i = 0; i < len; i++)
        if (f[i] != was[i] && (i < 34 + 16 || i > 34 + 17)) {
            CHECK(0);
            break;
        }
    CHECK(memcmp(f + 50, was + 50, 2) != 0); /* the pseudo-header sum now */
    CHECK_EQ(tap_link_write_from(k.l, f, 13), -EINVAL);
    memset(f + 12, 0x88, 2);
    CHECK_EQ(tap_link_write_from(k.l, f, 3000), -EMSGSIZE);
    CHECK(strstr(jet_link_error(k.l), "exceeds the MTU"));
    struct jet_link_stats st;
    CHECK_EQ(jet_link_stats(k.l, &st), 0);
    CHECK_EQ(st.tx_frames, 1);
    CHECK_EQ(st.tx_bytes, len);
    CHECK_EQ(st.tx_dropped, 2);
    jet_link_close(k.l);
}

int main(void)
{
    t_csum();
    t_seg();
    t_vnet_tx();
    if (geteuid() != 0) {
        fprintf(stderr, "test_tap: kernel tests skipped (need root)\n");
        int rc = check_done("test_tap");
        return rc ? rc : 77;
    }
    /* as root these must run: a namespace or /dev/net/tun missing is a failure */
    REQUIRE(unshare(CLONE_NEWNET) == 0);
    REQUIRE(access("/dev/net/tun", R_OK | W_OK) == 0);
    /* nothing but what the tests send: no IPv6 chatter on new interfaces */
    sh("echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6; "
       "echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6");
    sh("ip link set lo up");
    bool bench = getenv("JET_TAP_BENCH") != NULL;
    t_open();
    t_ping();
    t_udp();
    t_tcp_rx(0, bench ? 2000000000ull : 8000000, bench, 0);
    t_tcp_rx(3000, bench ? 1000000000ull : 4000000, bench, 0);
    t_tcp_tx(20000, bench ? 2000000000ull : 20000, bench, false);
    t_into();
    t_tcp_rx(0, bench ? 2000000000ull : 8000000, bench, 14 + 65535);
    t_tcp_rx(0, 4000000, false, 3000);
    t_tcp_rx(3000, 4000000, false, 14 + 65535);
    t_from();
    t_tcp_tx(20000, bench ? 2000000000ull : 20000, bench, true);
    if (bench) {
        t_tcp_tx(60000, 2000000000ull, true, false);
        t_tcp_tx(1448, 1000000000ull, true, false);
        t_tcp_tx(60000, 2000000000ull, true, true);
    }
    return check_done("test_tap");
}
