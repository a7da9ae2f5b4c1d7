/* The udp: link beyond the contract (src/link/udp*.c, docs/link-udp.md):
 *   cut         udp_cut on crafted datagrams and GRO trains: what is lent as
 *               native, as Ethernet, what is dropped, never a byte outside
 *   errors      a name that does not resolve, a bind port taken, a bind
 *               address not local, a bad station: each its errno and reason
 *   hostile     datagrams from the peer's address and port made by hand
 *               (a plain socket): malformed ones counted in rx_dropped, the
 *               good ones around them lent intact; a stranger's datagram
 *               (another port) is not taken
 *   icmp        a peer that does not listen yet: the kernel's ICMP errors are
 *               counted, sending goes on, and frames pass once it listens
 *   trains      equal frames go as UDP GSO trains and come back through GRO
 *               split into frames, in order, each with its own buffer id,
 *               lent a few at a time; the same with GSO and GRO off
 *   ipv6        an end on [::1] (skipped where loopback has no IPv6)
 * With JET_UDP_BENCH=1, a frame rate on loopback with GSO and GRO on and off
 * (two threads, frames of 64, 1,472 and 8,000 bytes). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "jet/frame.h"
#include "jet/link.h"
#include "link/udp.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- udp_cut ---- */

static void t_cut(void)
{
    uint8_t d[4096];
    struct udp_piece pc[64];
    uint64_t bad = 0;
    uint32_t off = 0;
    memset(d, 0xaa, sizeof d);
    /* one native frame */
    d[0] = 1;
    CHECK_EQ(udp_cut(d, 100, 0, &off, pc, 64, &bad), 1);
    CHECK(pc[0].off == 0 && pc[0].len == 100 && pc[0].encap == JET_ENCAP_NATIVE);
    CHECK_EQ(off, 100);
    CHECK_EQ(bad, 0);
    /* the smallest native frame, one byte less */
    off = 0;
    CHECK_EQ(udp_cut(d, 24, 0, &off, pc, 64, &bad), 1);
    off = 0;
    CHECK_EQ(udp_cut(d, 23, 0, &off, pc, 64, &bad), 0);
    CHECK_EQ(bad, 1);
    CHECK_EQ(off, 23);
    /* Ethernet behind 80 00: lent from byte 2 */
    d[0] = 0x80;
    d[1] = 0;
    off = 0;
    CHECK_EQ(udp_cut(d, 16, 0, &off, pc, 64, &bad), 1);
    CHECK(pc[0].off == 2 && pc[0].len == 14 && pc[0].encap == JET_ENCAP_ETH);
    off = 0;
    CHECK_EQ(udp_cut(d, 15, 0, &off, pc, 64, &bad), 0); /* shorter than a header */
    CHECK_EQ(bad, 2);
    d[1] = 1; /* 80 01: reserved */
    off = 0;
    CHECK_EQ(udp_cut(d, 100, 0, &off, pc, 64, &bad), 0);
    CHECK_EQ(bad, 3);
    /* other first bytes: 00, 02, 7f, 81, ff */
    const uint8_t firsts[] = {0, 2, 0x7f, 0x81, 0xff};
    for (unsigned i = 0; i < sizeof firsts; i++) {
        d[0] = firsts[i];
        off = 0;
        CHECK_EQ(udp_cut(d, 100, 0, &off, pc, 64, &bad), 0);
    }
    CHECK_EQ(bad, 8);
    /* an empty datagram */
    off = 0;
    CHECK_EQ(udp_cut(d, 0, 0, &off, pc, 64, &bad), 0);
    CHECK_EQ(bad, 9);
    CHECK_EQ(off, 0);
    /* a GRO train of 100-byte datagrams, the last 20: native, eth, bad, native,
     * bad (too short), lent two at a time */
    memset(d, 0, 420);
    d[0] = 1;
    d[100] = 0x80;
    d[200] = 0x42;
    d[300] = 1;
    d[400] = 1; /* 20 bytes: too short for a native frame */
    off = 0;
    bad = 0;
    CHECK_EQ(udp_cut(d, 420, 100, &off, pc, 2, &bad), 2);
    CHECK(pc[0].off == 0 && pc[0].len == 100 && pc[0].encap == JET_ENCAP_NATIVE);
    CHECK(pc[1].off == 102 && pc[1].len == 98 && pc[1].encap == JET_ENCAP_ETH);
    CHECK_EQ(off, 200);
    CHECK_EQ(udp_cut(d, 420, 100, &off, pc, 2, &bad), 1);
    CHECK(pc[0].off == 300 && pc[0].len == 100);
    CHECK_EQ(off, 420);
    CHECK_EQ(bad, 2);
    /* gso_size larger than the read: one datagram */
    off = 0;
    CHECK_EQ(udp_cut(d, 100, 1000, &off, pc, 64, &bad), 1);
    CHECK_EQ(pc[0].len, 100);
}

/* ---- helpers ---- */

static unsigned free_port(int family)
{
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_storage a = {.ss_family = (sa_family_t)family};
    if (family == AF_INET)
        ((struct sockaddr_in *)&a)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else
        ((struct sockaddr_in6 *)&a)->sin6_addr = in6addr_loopback;
    socklen_t al = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    unsigned p = 0;
    if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, al) &&
        !getsockname(fd, (struct sockaddr *)&a, &al))
        p = ntohs(family == AF_INET ? ((struct sockaddr_in *)&a)->sin_port
                                    : ((struct sockaddr_in6 *)&a)->sin6_port);
    if (fd >= 0)
        close(fd);
    return p;
}

/* A plain socket on 127.0.0.1:port, connected to 127.0.0.1:to. */
static int plain(unsigned port, unsigned to)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    a.sin_port = htons((uint16_t)to);
    REQUIRE(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    return fd;
}

static struct jet_link *open_opts(const char *name, int station, const struct udp_opts *o)
{
    struct jet_link_name n;
    struct jet_err err = {0};
    struct jet_link *l = NULL;
    REQUIRE(jet_link_name_parse(name, &n, &err) == 0);
    int rc = udp_link_open_opts(&n, station, o, &l, &err);
    if (rc)
        fprintf(stderr, "open %s: %s\n", name, err.msg);
    REQUIRE(rc == 0);
    return l;
}

/* Two ends on loopback: *a bound to p1 sending to p2, *b the reverse. */
static void pair(struct jet_link **a, struct jet_link **b, const struct udp_opts *o)
{
    unsigned p1 = free_port(AF_INET), p2 = free_port(AF_INET);
    REQUIRE(p1 && p2 && p1 != p2);
    char n[128];
    snprintf(n, sizeof n, "udp:127.0.0.1:%u,bind=127.0.0.1:%u", p2, p1);
    *a = open_opts(n, 1, o);
    snprintf(n, sizeof n, "udp:127.0.0.1:%u,bind=127.0.0.1:%u", p1, p2);
    *b = open_opts(n, 2, o);
}

static uint8_t pat(uint32_t seed, uint32_t i)
{
    uint32_t x = (seed + 1) * 2654435761u + i * 40503u;
    return (uint8_t)(x >> 13 ^ x >> 24);
}

/* Queues a native frame of len bytes (seed in its pattern) on l. */
static int send_native(struct jet_link *l, uint32_t len, uint32_t seed)
{
    struct jet_frame f;
    int rc = jet_link_tx_alloc(l, &f);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < len; i++)
        f.data[i] = pat(seed, i);
    f.data[0] = JET_FRAME_VERSION;
    f.len = len;
    f.encap = JET_ENCAP_NATIVE;
    return jet_link_tx_commit(l, &f);
}

static bool is_native(const struct jet_frame *f, uint32_t len, uint32_t seed)
{
    if (f->len != len || f->encap != JET_ENCAP_NATIVE || f->data[0] != JET_FRAME_VERSION)
        return false;
    for (uint32_t i = 1; i < len; i++)
        if (f->data[i] != pat(seed, i))
            return false;
    return true;
}

/* Receives up to want frames on l within ms, max per burst; returns the count
 * and leaves them in g (held: the caller releases). */
static unsigned recv_n(struct jet_link *l, struct jet_frame *g, unsigned want, unsigned max,
                       unsigned ms)
{
    unsigned got = 0;
    uint64_t until = now_ns() + (uint64_t)ms * 1000000u;
    while (got < want && now_ns() < until) {
        unsigned m = want - got < max ? want - got : max;
        int n = jet_link_rx_burst(l, g + got, m);
        REQUIRE(n >= 0);
        got += (unsigned)n;
        if (!n)
            jet_link_wait(l, 2000000);
    }
    return got;
}

/* ---- errors ---- */

static void expect_open_err(const char *name, int station, int want, const char *says)
{
    struct jet_link *l = NULL;
    struct jet_err err = {0};
    int rc = jet_link_open(name, &(struct jet_link_opts){.station = station}, &l, &err);
    if (rc != want || !strstr(err.msg, says))
        fprintf(stderr, "open %s: %d '%s', wanted %d and '%s'\n", name, rc, err.msg, want, says);
    CHECK_EQ(rc, want);
    CHECK(strstr(err.msg, says) != NULL);
    if (!rc)
        jet_link_close(l);
}

static void t_errors(void)
{
    expect_open_err("udp:jt-no-such-host.invalid:7475", -1, -EHOSTUNREACH, "cannot resolve peer");
    unsigned p = free_port(AF_INET);
    int fd = plain(p, 9);
    char n[128];
    snprintf(n, sizeof n, "udp:127.0.0.1:7475,bind=127.0.0.1:%u", p);
    expect_open_err(n, -1, -EADDRINUSE, "is taken");
    snprintf(n, sizeof n, "udp:127.0.0.1:7475,bind=%u", p); /* any address: taken as well */
    expect_open_err(n, -1, -EADDRINUSE, "is taken");
    close(fd);
    expect_open_err("udp:127.0.0.1:7475,bind=192.0.2.77:0", -1, -EADDRNOTAVAIL,
                    "not an address of this host");
    expect_open_err("udp:127.0.0.1:7475,bind=[::1]:0", -1, -EHOSTUNREACH, "IPv6");
    expect_open_err("udp:127.0.0.1:7475", 65535, -EINVAL, "station 65535");
    /* bind=PORT alone, and no bind at all: an ephemeral port */
    struct jet_link *l = NULL;
    struct jet_err err = {0};
    CHECK_EQ(jet_link_open("udp:127.0.0.1:7475", NULL, &l, &err), 0);
    if (l) {
        struct udp_info in;
        udp_link_info(l, &in);
        CHECK(in.local_port != 0);
        CHECK(!in.v6);
        CHECK(l->caps.native && l->caps.eth && l->caps.has_mac && (l->caps.mac[0] & 3) == 2);
        CHECK_EQ(l->caps.max_frame, l->caps.mtu + JET_FRAME_OVERHEAD);
        CHECK_EQ(l->caps.eth_mtu, l->caps.mtu + 28 - 2 - 18);
        CHECK_EQ(l->caps.max_frame, in.dgram_max);
        CHECK_EQ(in.dgram_max, 65507); /* loopback: the largest UDP payload */
        CHECK_EQ(strcmp(l->name, "udp:127.0.0.1:7475"), 0);
        jet_link_close(l);
    }
}

/* ---- hostile datagrams ---- */

static void t_hostile(void)
{
    unsigned p1 = free_port(AF_INET), p2 = free_port(AF_INET), p3 = free_port(AF_INET);
    char n[128];
    snprintf(n, sizeof n, "udp:127.0.0.1:%u,bind=127.0.0.1:%u", p2, p1);
    struct jet_link *l = open_opts(n, 5, NULL);
    int peer = plain(p2, p1), stranger = plain(p3, p1);
    uint8_t d[200];
    memset(d, 0x5a, sizeof d);
    struct {
        uint8_t b0, b1;
        uint32_t len;
        int lent; /* -1 dropped, else the encap */
    } rows[] = {
        {1, 0, 24, JET_ENCAP_NATIVE}, {1, 0, 23, -1},    {0x80, 0, 16, JET_ENCAP_ETH},
        {0x80, 0, 15, -1},            {0x80, 1, 100, -1}, {0, 0, 100, -1},
        {2, 0, 100, -1},              {0xff, 0, 100, -1}, {1, 0, 0, -1},
        {1, 0, 200, JET_ENCAP_NATIVE}, {0x80, 0, 200, JET_ENCAP_ETH}, {1, 0, 1, -1},
    };
    unsigned nrows = sizeof rows / sizeof rows[0], want = 0, dropped = 0;
    for (unsigned i = 0; i < nrows; i++) {
        d[0] = rows[i].b0;
        d[1] = rows[i].b1;
        d[2] = (uint8_t)i;
        CHECK_EQ(send(peer, d, rows[i].len, 0), (ssize_t)rows[i].len);
        if (rows[i].lent >= 0)
            want++;
        else
            dropped++;
        /* a stranger's datagram in between: never taken */
        uint8_t s[64] = {1};
        send(stranger, s, sizeof s, 0);
    }
    struct jet_frame g[16];
    unsigned got = recv_n(l, g, want, 3, 2000);
    CHECK_EQ(got, want);
    unsigned k = 0;
    for (unsigned i = 0; i < nrows && k < got; i++) {
        if (rows[i].lent < 0)
            continue;
        bool eth = rows[i].lent == JET_ENCAP_ETH;
        CHECK_EQ(g[k].encap, rows[i].lent);
        CHECK_EQ(g[k].len, rows[i].len - (eth ? 2 : 0));
        CHECK_EQ(g[k].data[eth ? 0 : 2], i); /* the bytes as sent, after the shim */
        if (!eth)
            CHECK_EQ(g[k].data[0], 1);
        k++;
    }
    jet_link_rx_release(l, g, got);
    CHECK_EQ(jet_link_rx_burst(l, g, 16), 0);
    struct jet_link_stats st;
    CHECK_EQ(jet_link_stats(l, &st), 0);
    CHECK_EQ(st.rx_frames, want);
    CHECK_EQ(st.rx_dropped, dropped);
    close(peer);
    close(stranger);
    jet_link_close(l);
}

/* ---- a peer that does not listen yet ---- */

static void t_icmp(void)
{
    unsigned p1 = free_port(AF_INET), p2 = free_port(AF_INET);
    char n[128];
    snprintf(n, sizeof n, "udp:127.0.0.1:%u,bind=127.0.0.1:%u", p2, p1);
    struct jet_link *a = open_opts(n, 1, NULL);
    for (unsigned i = 0; i < 20; i++) {
        CHECK_EQ(send_native(a, 100, i), 0);
        CHECK_EQ(jet_link_tx_flush(a), 0);
        struct jet_frame g;
        CHECK_EQ(jet_link_rx_burst(a, &g, 1), 0); /* the read's error is not fatal either */
        usleep(1000);
    }
    struct udp_info in;
    udp_link_info(a, &in);
    CHECK(in.icmp_errors > 0);
    struct jet_link_stats st;
    jet_link_stats(a, &st);
    CHECK_EQ(st.tx_frames, 20);
    CHECK_EQ(st.tx_dropped, 0);
    /* the peer comes: frames pass */
    snprintf(n, sizeof n, "udp:127.0.0.1:%u,bind=127.0.0.1:%u", p1, p2);
    struct jet_link *b = open_opts(n, 2, NULL);
    CHECK_EQ(send_native(a, 300, 77), 0);
    CHECK_EQ(jet_link_tx_flush(a), 0);
    struct jet_frame g;
    CHECK_EQ(recv_n(b, &g, 1, 1, 2000), 1);
    CHECK(is_native(&g, 300, 77));
    jet_link_rx_release(b, &g, 1);
    jet_link_close(a);
    jet_link_close(b);
}

/* ---- GSO trains and GRO ---- */

static void trains(bool on)
{
    struct udp_opts o = {.no_gso = !on, .no_gro = !on};
    struct jet_link *a, *b;
    pair(&a, &b, &o);
    struct udp_info ia, ib;
    udp_link_info(a, &ia);
    udp_link_info(b, &ib);
    if (on && !(ia.gso && ib.gro)) {
        fprintf(stderr, "trains: the kernel offers no UDP GSO/GRO here: skipped\n");
        jet_link_close(a);
        jet_link_close(b);
        return;
    }
    CHECK(on || (!ia.gso && !ib.gro));
    /* 100 frames: 40 of 1,000 bytes, 1 of 500 (ends a train), 59 of 1,000 */
    enum { N = 100 };
    uint32_t len[N];
    unsigned sent = 0;
    for (unsigned i = 0; i < N; i++) {
        len[i] = i == 40 ? 500 : 1000;
        int rc = send_native(a, len[i], i);
        if (rc == -EAGAIN) {
            CHECK_EQ(jet_link_tx_flush(a), 0);
            rc = send_native(a, len[i], i);
        }
        CHECK_EQ(rc, 0);
        sent += rc == 0;
    }
    CHECK_EQ(jet_link_tx_flush(a), 0);
    static struct jet_frame g[N];
    unsigned got = recv_n(b, g, sent, 7, 3000);
    CHECK_EQ(got, N);
    unsigned bad = 0;
    for (unsigned i = 0; i < got; i++) {
        bad += !is_native(&g[i], len[i], i);
        for (unsigned j = 0; j < i; j++)
            bad += g[i].buf == g[j].buf;
    }
    CHECK_EQ(bad, 0);
    jet_link_rx_release(b, g, got);
    udp_link_info(a, &ia);
    udp_link_info(b, &ib);
    if (on) {
        CHECK(ia.gso_sends >= 2);
        CHECK(ib.gro_reads >= 1);
    } else {
        CHECK_EQ(ia.gso_sends, 0);
        CHECK_EQ(ib.gro_reads, 0);
        CHECK_EQ(ia.sends, N);
    }
    fprintf(stderr, "trains %s: %llu sent alone, %llu trains in %llu sendmmsg; read %llu alone, "
                    "%llu trains in %llu recvmmsg\n",
            on ? "on" : "off", (unsigned long long)ia.sends, (unsigned long long)ia.gso_sends,
            (unsigned long long)ia.syscalls_tx, (unsigned long long)ib.reads,
            (unsigned long long)ib.gro_reads, (unsigned long long)ib.syscalls_rx);
    /* every buffer came home: as many can be taken as at first */
    struct jet_link_stats sa, sb;
    jet_link_stats(a, &sa);
    jet_link_stats(b, &sb);
    CHECK_EQ(sa.tx_frames, N);
    CHECK_EQ(sb.rx_frames, N);
    CHECK_EQ(sb.rx_dropped, 0);
    jet_link_close(a);
    jet_link_close(b);
}

static void t_trains(void)
{
    trains(true);
    trains(false);
}

/* ---- IPv6 ---- */

static void t_ipv6(void)
{
    unsigned p1 = free_port(AF_INET6), p2 = free_port(AF_INET6);
    if (!p1 || !p2) {
        fprintf(stderr, "ipv6: no [::1] here: skipped\n");
        return;
    }
    char n[128];
    snprintf(n, sizeof n, "udp:[::1]:%u,bind=[::1]:%u", p2, p1);
    struct jet_link *a = open_opts(n, 1, NULL);
    CHECK_EQ(strcmp(a->name, n), 0);
    snprintf(n, sizeof n, "udp:[::1]:%u,bind=[::1]:%u", p1, p2);
    struct jet_link *b = open_opts(n, 2, NULL);
    struct udp_info in;
    udp_link_info(a, &in);
    CHECK(in.v6);
    CHECK_EQ(in.dgram_max, 65527 < in.pmtu - 48 ? 65527 : in.pmtu - 48);
    CHECK_EQ(a->caps.mtu, in.dgram_max - 28);
    uint32_t big = a->caps.mtu + JET_FRAME_OVERHEAD;
    CHECK_EQ(send_native(a, big, 3), 0);
    CHECK_EQ(send_native(a, 64, 4), 0);
    CHECK_EQ(jet_link_tx_flush(a), 0);
    struct jet_frame g[2];
    CHECK_EQ(recv_n(b, g, 2, 2, 2000), 2);
    CHECK(is_native(&g[0], big, 3) && is_native(&g[1], 64, 4));
    jet_link_rx_release(b, g, 2);
    jet_link_close(a);
    jet_link_close(b);
}

/* ---- a frame rate (JET_UDP_BENCH=1) ---- */

struct bench {
    struct jet_link *a, *b;
    uint32_t len;
    uint64_t ns;
    atomic_bool stop;
    uint64_t sent, got;
};

static void *bench_tx(void *arg)
{
    struct bench *x = arg;
    uint64_t until = now_ns() + x->ns;
    while (now_ns() < until) {
        for (unsigned i = 0; i < 64; i++) {
            struct jet_frame f;
            if (jet_link_tx_alloc(x->a, &f))
                break;
            f.data[0] = JET_FRAME_VERSION;
            memcpy(f.data + 8, &x->sent, 8);
            f.len = x->len;
            jet_link_tx_commit(x->a, &f);
            x->sent++;
        }
        jet_link_tx_flush(x->a);
    }
    atomic_store(&x->stop, true);
    return NULL;
}

static void *bench_rx(void *arg)
{
    struct bench *x = arg;
    struct jet_frame g[64];
    uint64_t idle_until = 0;
    for (;;) {
        int n = jet_link_rx_burst(x->b, g, 64);
        if (n > 0) {
            x->got += (uint64_t)n;
            jet_link_rx_release(x->b, g, (unsigned)n);
            continue;
        }
        if (atomic_load(&x->stop)) {
            if (!idle_until)
                idle_until = now_ns() + 100000000u;
            if (now_ns() > idle_until)
                break;
        }
        jet_link_wait(x->b, 1000000);
    }
    return NULL;
}

static void bench(void)
{
    const uint32_t lens[] = {64, 1472, 8000};
    for (unsigned li = 0; li < 3; li++) {
        for (int mode = 0; mode < 4; mode++) {
            struct udp_opts o = {.no_gso = !(mode & 1), .no_gro = !(mode & 2)};
            struct bench x = {.len = lens[li], .ns = 1000000000u};
            pair(&x.a, &x.b, &o);
            pthread_t t1, t2;
            uint64_t t0 = now_ns();
            pthread_create(&t2, NULL, bench_rx, &x);
            pthread_create(&t1, NULL, bench_tx, &x);
            pthread_join(t1, NULL);
            pthread_join(t2, NULL);
            double s = (double)(now_ns() - t0 - 100000000u) / 1e9;
            struct jet_link_stats sb;
            jet_link_stats(x.b, &sb);
            fprintf(stderr, "bench %5u bytes gso %-3s gro %-3s: sent %.0f kframes/s, received "
                            "%.0f kframes/s (%.2f Gbit/s), lost %.1f%%\n",
                    x.len, mode & 1 ? "on" : "off", mode & 2 ? "on" : "off", x.sent / s / 1e3,
                    x.got / s / 1e3, x.got * x.len * 8 / s / 1e9,
                    x.sent ? 100.0 * (double)(x.sent - x.got) / (double)x.sent : 0);
            jet_link_close(x.a);
            jet_link_close(x.b);
        }
    }
}

int main(void)
{
    t_cut();
    if (free_port(AF_INET) == 0) {
        fprintf(stderr, "test_udp_link: no loopback here: skipped\n");
        return 77;
    }
    t_errors();
    t_hostile();
    t_icmp();
    t_trains();
    t_ipv6();
    if (getenv("JET_UDP_BENCH"))
        bench();
    return check_done("test_udp_link");
}
