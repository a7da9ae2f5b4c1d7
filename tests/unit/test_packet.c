/* The packet:IF link beyond the contract (src/link/packet.c, packet_own.c,
 * docs/link-packet.md), in a private network namespace of this process
 * (unshare: it dies with the process; root only, else skipped):
 *
 *   raw AF_PACKET socket -- pta ===== ptb -- packet:ptb (the link under test)
 *   (198.18.40.101)                    (198.18.40.102, the kernel's address)
 *
 *   errors    no such interface (-ENODEV, named), down (-ENETDOWN), without
 *             CAP_NET_RAW (-EPERM, in a child that gave up root), a station out
 *             of range (-EINVAL), malformed flows (-EINVAL); caps
 *   filter    what the socket filter lets through, frame by frame, as flows are
 *             owned and given back: 0x88B5 always; other EtherTypes only while
 *             the whole interface is owned; ARP for an owned address; IPv4 to an
 *             owned address (all of it); to an address the kernel has too, only
 *             TCP/UDP to the owned ports (and nftables rules for them); holders
 *             counted; the filter builder's limit (-ENOSPC)
 *   hostile   short, garbage and lying native frames, runts of every EtherType:
 *             no crash, every frame accounted (lent, or counted as dropped)
 *   overload  a blast that fills the receive ring while the link does not
 *             read; then frames sent one by one all arrive (the ring recovers);
 *             every receive id lent and held: nothing more is lent, and frames
 *             flow again once they are given back */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "jet/frame.h"
#include "jet/link.h"
#include "link/packet.h"

static const uint8_t mac_a[6] = {0x02, 0x4a, 0x50, 0x29, 0x00, 0x01};
static const uint8_t mac_b[6] = {0x02, 0x4a, 0x50, 0x29, 0x00, 0x02};
enum { ST_B = 0x0002 }; /* the link's station: from mac_b */
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
static const uint32_t ip_ours = IP(198, 18, 40, 2), ip_other = IP(198, 18, 40, 3),
                      ip_kernel = IP(198, 18, 40, 102);

static int raw = -1;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sh(const char *cmd)
{
    if (system(cmd)) {
        fprintf(stderr, "failed: %s\n", cmd);
        exit(1);
    }
}

static struct jet_link *open_b(int station)
{
    struct jet_link_opts o = {.station = station};
    struct jet_link *l = NULL;
    struct jet_err err = {0};
    int rc = jet_link_open("packet:ptb", &o, &l, &err);
    if (rc)
        fprintf(stderr, "open packet:ptb: %s\n", err.msg);
    REQUIRE(rc == 0);
    return l;
}

/* ---- frames sent from the other end, each marked with an id at its end ---- */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

static void send_raw(uint8_t *f, uint32_t len, uint32_t id)
{
    put32(f + len - 4, id);
    REQUIRE(send(raw, f, len, 0) == (ssize_t)len);
}

static uint32_t eth(uint8_t *f, const uint8_t *dst, uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, mac_a, 6);
    f[12] = (uint8_t)(type >> 8), f[13] = (uint8_t)type;
    return 14;
}

static void send_native(uint16_t dst, uint32_t len, uint32_t id)
{
    static const uint8_t bc[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    uint8_t f[1600] = {0};
    eth(f, bc, JET_ETHERTYPE);
    f[14 + 4] = (uint8_t)(dst >> 8), f[14 + 5] = (uint8_t)dst;
    send_raw(f, len, id);
}

static void send_type(uint16_t type, uint32_t id)
{
    uint8_t f[64] = {0};
    eth(f, mac_b, type);
    send_raw(f, 64, id);
}

static void send_arp(uint32_t target, uint32_t id)
{
    static const uint8_t bc[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    uint8_t f[64] = {0};
    uint8_t *a = f + eth(f, bc, 0x0806);
    a[1] = 1, a[2] = 0x08, a[4] = 6, a[5] = 4, a[7] = 1; /* Ethernet, IPv4, request */
    memcpy(a + 8, mac_a, 6);
    put32(a + 14, IP(198, 18, 40, 101));
    put32(a + 24, target);
    send_raw(f, 64, id);
}

static void send_ip(uint32_t dst, uint8_t proto, uint16_t dport, uint16_t frag, uint32_t id)
{
    uint8_t f[80] = {0};
    uint8_t *ip = f + eth(f, mac_b, 0x0800);
    ip[0] = 0x45, ip[3] = 80 - 14, ip[6] = (uint8_t)(frag >> 8), ip[7] = (uint8_t)frag;
    ip[8] = 64, ip[9] = proto;
    put32(ip + 12, IP(198, 18, 40, 101));
    put32(ip + 16, dst);
    ip[20] = 0x30, ip[21] = 0x39; /* source port 12345 */
    ip[22] = (uint8_t)(dport >> 8), ip[23] = (uint8_t)dport;
    send_raw(f, 80, id);
}

/* The ids of the frames l lends within ms (each given back at once). */
static unsigned got(struct jet_link *l, uint32_t *ids, unsigned cap, unsigned ms)
{
    unsigned k = 0;
    uint64_t until = now_ms() + ms;
    while (now_ms() < until) {
        struct jet_frame f[64];
        int n = jet_link_rx_burst(l, f, 64);
        REQUIRE(n >= 0);
        for (int i = 0; i < n; i++) {
            const uint8_t *e = f[i].data + f[i].len - 4;
            if (f[i].len >= 4 && k < cap)
                ids[k++] = (uint32_t)e[0] << 24 | (uint32_t)e[1] << 16 | (uint32_t)e[2] << 8 | e[3];
        }
        jet_link_rx_release(l, f, (unsigned)n);
        if (!n)
            jet_link_wait(l, 2000000);
    }
    return k;
}

static bool has(const uint32_t *ids, unsigned n, uint32_t id)
{
    for (unsigned i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

static int own(struct jet_link *l, uint32_t addr, uint8_t proto, uint16_t port, bool add)
{
    struct jet_link_flow fl = {.addr = addr, .proto = proto, .port = port};
    int rc = jet_link_own(l, &fl, add);
    if (rc)
        fprintf(stderr, "own %08x/%u/%u %d: %s\n", addr, proto, port, add, jet_link_error(l));
    return rc;
}

/* ---- checks ---- */

static void t_errors(void)
{
    struct jet_link_opts o = {.station = -1};
    struct jet_link *l = NULL;
    struct jet_err err = {0};
    CHECK_EQ(jet_link_open("packet:jt-nosuchif0", &o, &l, &err), -ENODEV);
    CHECK(strstr(err.msg, "jt-nosuchif0") != NULL);
    sh("ip link set ptb down");
    CHECK_EQ(jet_link_open("packet:ptb", &o, &l, &err), -ENETDOWN);
    CHECK(strstr(err.msg, "ip link set ptb up") != NULL);
    sh("ip link set ptb up");
    o.station = 70000;
    CHECK_EQ(jet_link_open("packet:ptb", &o, &l, &err), -EINVAL);
    /* without CAP_NET_RAW: a child that gave up root */
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        struct jet_err e2 = {0};
        struct jet_link_opts o2 = {.station = -1};
        if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
            _exit(3);
        int rc = jet_link_open("packet:ptb", &o2, &l, &e2);
        _exit(rc == -EPERM && strstr(e2.msg, "CAP_NET_RAW") ? 0 : 1);
    }
    int ws = 0;
    waitpid(pid, &ws, 0);
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);

    l = open_b(-1);
    const struct jet_link_caps *c = &l->caps;
    CHECK_EQ(c->addr, ST_B);
    CHECK(c->has_mac && !memcmp(c->mac, mac_b, 6));
    CHECK_EQ(c->eth_mtu, 1500);
    CHECK_EQ(c->mtu, 1500 - 28);
    CHECK_EQ(c->max_frame, 1500 + 18);
    CHECK(c->native && c->eth && !c->zero_copy && c->rate_bps == 0 && c->burst > 0);
    /* malformed flows */
    struct jet_link_flow bad[] = {{0, 0, 7},       {ip_ours, 0, 7}, {ip_ours, 1, 0},
                                  {ip_ours, 6, 0}, {0, 6, 0},       {ip_ours, 99, 5}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ(jet_link_own(l, &bad[i], true), -EINVAL);
    CHECK_EQ(own(l, ip_other, 0, 0, false), 0); /* giving back what is not held: nothing */
    jet_link_close(l);
    l = open_b(7);
    CHECK_EQ(l->caps.addr, 7);
    jet_link_close(l);
}

static void t_filter(void)
{
    struct jet_link *l = open_b(-1);
    uint32_t ids[256];
    unsigned n;
    /* nothing owned: 0x88B5 only */
    send_native(ST_B, 100, 1);
    send_native(JET_STATION_BROADCAST, 100, 2);
    send_native(ST_B + 1, 100, 3); /* another station's: not lent */
    send_type(0x88b6, 4);
    send_arp(ip_ours, 5);
    send_ip(ip_ours, 17, 9, 0, 6);
    n = got(l, ids, 256, 30);
    CHECK(has(ids, n, 1) && has(ids, n, 2) && !has(ids, n, 3));
    CHECK(!has(ids, n, 4) && !has(ids, n, 5) && !has(ids, n, 6));
    CHECK_EQ(n, 2);

    /* our own address (the kernel's is .102): ARP for it, every IPv4 packet to it */
    CHECK_EQ(own(l, ip_ours, 0, 0, true), 0);
    send_arp(ip_ours, 10);
    send_arp(ip_other, 11);
    send_ip(ip_ours, 17, 9, 0, 12);
    send_ip(ip_ours, 1, 0, 0, 13);
    send_ip(ip_ours, 6, 22, 0x2000 | 5, 14); /* a fragment: ours too */
    send_ip(ip_other, 17, 9, 0, 15);
    send_type(0x88b6, 16);
    n = got(l, ids, 256, 30);
    CHECK(has(ids, n, 10) && has(ids, n, 12) && has(ids, n, 13) && has(ids, n, 14));
    CHECK(!has(ids, n, 11) && !has(ids, n, 15) && !has(ids, n, 16));

    /* the whole interface, held twice */
    CHECK_EQ(own(l, 0, 0, 0, true), 0);
    CHECK_EQ(own(l, 0, 0, 0, true), 0);
    send_type(0x88b6, 20);
    send_ip(ip_other, 17, 9, 0, 21);
    n = got(l, ids, 256, 30);
    CHECK(has(ids, n, 20) && has(ids, n, 21));
    CHECK_EQ(own(l, 0, 0, 0, false), 0);
    send_type(0x88b6, 22);
    n = got(l, ids, 256, 30);
    CHECK(has(ids, n, 22)); /* still held once */
    CHECK_EQ(own(l, 0, 0, 0, false), 0);
    send_type(0x88b6, 23);
    send_ip(ip_ours, 17, 9, 0, 24);
    n = got(l, ids, 256, 30);
    CHECK(!has(ids, n, 23) && has(ids, n, 24));
    CHECK_EQ(own(l, ip_ours, 0, 0, false), 0);
    send_ip(ip_ours, 17, 9, 0, 25);
    send_arp(ip_ours, 26);
    n = got(l, ids, 256, 30);
    CHECK(!has(ids, n, 25) && !has(ids, n, 26));

    /* the kernel's own address: only the ports held (and ARP) */
    bool nft = system("nft list tables >/dev/null 2>&1") == 0;
    int rc = own(l, ip_kernel, 0, 0, true);
    CHECK_EQ(rc, 0);
    rc = own(l, 0, 6, 7, true); /* any of our addresses, TCP 7 */
    if (rc == -ENOSYS || !nft) {
        fprintf(stderr,
                "test_packet: no libnftables or nft here: the shared-address case "
                "skipped (%d)\n",
                rc);
    } else {
        CHECK_EQ(rc, 0);
        CHECK_EQ(own(l, ip_kernel, 17, 53, true), 0);
        send_arp(ip_kernel, 30);
        send_ip(ip_kernel, 6, 7, 0, 31);
        send_ip(ip_kernel, 6, 22, 0, 32);
        send_ip(ip_kernel, 17, 7, 0, 33);
        send_ip(ip_kernel, 17, 53, 0, 34);
        send_ip(ip_kernel, 1, 0, 0, 35);
        send_ip(ip_kernel, 6, 7, 0x2000 | 9, 36); /* not a first fragment: the kernel's */
        n = got(l, ids, 256, 30);
        CHECK(has(ids, n, 30) && has(ids, n, 31) && has(ids, n, 34));
        CHECK(!has(ids, n, 32) && !has(ids, n, 33) && !has(ids, n, 35) && !has(ids, n, 36));
        CHECK(system("nft list table inet jetstream_ptb | grep -q 'tcp dport 7 drop'") == 0);
        CHECK(system("nft list table inet jetstream_ptb | grep -q 'udp dport 53 drop'") == 0);
        CHECK_EQ(own(l, 0, 6, 7, false), 0);
        CHECK_EQ(own(l, ip_kernel, 17, 53, false), 0);
        CHECK(system("nft list table inet jetstream_ptb >/dev/null 2>&1") != 0); /* removed */
        send_ip(ip_kernel, 6, 7, 0, 37);
        n = got(l, ids, 256, 30);
        CHECK(!has(ids, n, 37));
        CHECK_EQ(own(l, 0, 6, 7, true), 0); /* closed with it in place: removed at close */
    }
    jet_link_close(l);
    if (nft)
        CHECK(system("nft list table inet jetstream_ptb >/dev/null 2>&1") != 0);

    /* the builder: a table too large for a socket filter */
    struct pk_flow fl[2100];
    for (unsigned i = 0; i < 2100; i++)
        fl[i] = (struct pk_flow){.addr = 0x0a000000 + i, .refs = 1};
    struct sock_filter *prog = calloc(PK_FILTER_MAX, sizeof *prog);
    REQUIRE(prog);
    CHECK_EQ(packet_filter_build(fl, 2100, prog, PK_FILTER_MAX), -ENOSPC);
    CHECK(packet_filter_build(fl, 500, prog, PK_FILTER_MAX) > 0);
    CHECK_EQ(packet_filter_build(fl, 0, prog, PK_FILTER_MAX), 5); /* ldh, jeq, ja, ret 0, ret all */
    free(prog);
}

static void t_hostile(void)
{
    struct jet_link *l = open_b(-1);
    CHECK_EQ(own(l, 0, 0, 0, true), 0);
    uint8_t f[1600];
    uint64_t seed = 12345;
    unsigned sent = 0;
    for (unsigned i = 0; i < 2000; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t len = 18 + (uint32_t)(seed >> 33) % 1400;
        for (uint32_t j = 0; j < len; j++)
            f[j] = (uint8_t)((seed >> (j % 56)) ^ j * 131);
        memcpy(f, mac_b, 6);
        switch (i % 4) {
        case 0: /* native to us, garbage header (lengths that lie) */
            f[12] = 0x88, f[13] = 0xb5, f[18] = 0, f[19] = ST_B;
            break;
        case 1: /* a runt native frame */
            f[12] = 0x88, f[13] = 0xb5;
            len = 18 + i % 24;
            break;
        case 2: /* IPv4 with a lying header */
            f[12] = 0x08, f[13] = 0x00;
            break;
        default: /* anything */
            break;
        }
        if (send(raw, f, len, 0) == (ssize_t)len)
            sent++;
        if (i % 64 == 63) {
            uint32_t ids[256];
            got(l, ids, 256, 2);
        }
    }
    uint32_t ids[256];
    got(l, ids, 256, 30);
    struct jet_link_stats st;
    CHECK_EQ(jet_link_stats(l, &st), 0);
    /* every frame: lent, or not (another station's) - none lost in the ring */
    CHECK(st.rx_frames > sent / 2 && st.rx_frames <= sent);
    CHECK_EQ(st.rx_dropped, 0);
    jet_link_close(l);
}

static void t_overload(void)
{
    struct jet_link *l = open_b(-1);
    /* a blast the link does not read: the ring fills, the kernel drops */
    uint8_t f[1000] = {0};
    static const uint8_t bc[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    eth(f, bc, JET_ETHERTYPE);
    f[18] = 0, f[19] = ST_B;
    struct mmsghdr mm[64];
    struct iovec iov = {f, sizeof f};
    for (int i = 0; i < 64; i++)
        mm[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov, .msg_iovlen = 1}};
    for (int i = 0; i < 600; i++)
        sendmmsg(raw, mm, 64, 0);
    uint32_t ids[512];
    unsigned n = got(l, ids, 512, 50);
    CHECK(n > 0);
    struct jet_link_stats st;
    CHECK_EQ(jet_link_stats(l, &st), 0);
    CHECK(st.rx_dropped > 0); /* the ring's drops, counted */
    /* then frames one at a time: every one arrives */
    unsigned ok = 0;
    for (uint32_t i = 0; i < 40; i++) {
        send_native(ST_B, 100, 1000 + i);
        n = got(l, ids, 512, 15);
        ok += has(ids, n, 1000 + i);
    }
    CHECK_EQ(ok, 40);

    /* every receive id held: nothing more is lent; given back, frames flow */
    enum { MAXH = 4096 };
    struct jet_frame *h = calloc(MAXH, sizeof *h);
    REQUIRE(h);
    unsigned nh = 0;
    for (uint32_t i = 0; i < 2 * 256 + 64; i++)
        send_native(ST_B, 100, 2000 + i);
    uint64_t until = now_ms() + 300;
    while (now_ms() < until && nh < MAXH) {
        int k = jet_link_rx_burst(l, h + nh, MAXH - nh);
        REQUIRE(k >= 0);
        nh += (unsigned)k;
        if (!k)
            usleep(1000); /* every id lent: wait would not sleep (frames are there) */
    }
    CHECK(nh > 0 && nh < l->caps.buffers);
    for (unsigned i = 0; i < nh; i++)
        CHECK(h[i].buf < l->caps.buffers);
    jet_link_rx_release(l, h, nh);
    n = got(l, ids, 512, 50);
    CHECK(n > 0);
    CHECK_EQ(nh + n, 2 * 256 + 64);
    free(h);
    jet_link_close(l);
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_packet: skipped (needs root)\n");
        return 77;
    }
    REQUIRE(unshare(CLONE_NEWNET) == 0);
    sh("ip link set lo up && echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6 && "
       "echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6 && "
       "ip link add pta address 02:4a:50:29:00:01 type veth peer name ptb address "
       "02:4a:50:29:00:02 && ip link set pta up && ip link set ptb up && "
       "ip addr add 198.18.40.101/24 dev pta && ip addr add 198.18.40.102/24 dev ptb");
    raw = socket(AF_PACKET, SOCK_RAW, 0);
    REQUIRE(raw >= 0);
    struct sockaddr_ll a = {.sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex("pta")};
    REQUIRE(bind(raw, (struct sockaddr *)&a, sizeof a) == 0);
    t_errors();
    t_filter();
    t_hostile();
    t_overload();
    close(raw);
    return check_done("test_packet");
}
