/* IPv4 and UDP sockets on two stations of a loop network (loop:NAME) in one
 * process: jet/ip.h and jet/udp.h end to end through the glue (src/ip).
 *
 *   main thread   station A (198.18.1.1/24): blocking calls (ping, sendto,
 *                 recvfrom with timeouts), one check after another
 *   server thread station B (198.18.1.2/24): one loop like jet host's, with
 *                 UDP echo on port 7 and a "burst" service on port 5000 (a
 *                 datagram "N SIZE" is answered with N datagrams of SIZE
 *                 bytes), stopped and restarted between phases so that the
 *                 main thread may read B's counters
 *
 *   - ARP resolution and ping (56 bytes, then fragmented ones up to 65507)
 *   - UDP echo byte-exact for sizes 0..65507, fragmented ones (over 8972 on
 *     the loop's MTU of 9000) too, and to the broadcast address
 *   - a connected socket gets -ECONNREFUSED after sending to a closed port
 *   - bind rules: -EADDRINUSE, -EADDRNOTAVAIL, -EINVAL, ephemeral ports
 *   - truncation (from the socket's channel and from the side queue)
 *   - queue limits (the channel's, and the side queue's for reassembled ones)
 *   - pollable: an armed station fd wakes for a datagram, not before
 *   - a fault wrapper with loss on both ends: no crash, counters move
 * Every wait is bounded; each loop network is gone when its stations close. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "jet/chan.h"
#include "jet/ip.h"
#include "jet/udp.h"
#include "util/rng.h"

#define IP_A     0xC6120101u /* 198.18.1.1 */
#define IP_B     0xC6120102u /* 198.18.1.2 */
#define IP_BCAST 0xC61201FFu
#define SEC      1000000000ll

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct jet_station *host_open(const char *link, int addr, uint32_t ip)
{
    struct jet_station *s = NULL;
    struct jet_err err = {0};
    int rc = jet_station_open(link, addr, &s, &err);
    if (rc)
        fprintf(stderr, "jet_station_open %s: %s\n", link, err.msg);
    REQUIRE(rc == 0);
    struct jet_ip_cfg c = {.addr = ip, .plen = 24};
    rc = jet_ip_attach(s, &c);
    if (rc)
        fprintf(stderr, "jet_ip_attach: %s\n", jet_station_error(s));
    REQUIRE(rc == 0);
    return s;
}

/* ---- station B: the server thread ---- */

struct server {
    struct jet_station *s;
    struct jet_udp *echo, *burst;
    pthread_t t;
    atomic_bool stop;
    uint64_t echoed, bursts;
    uint8_t buf[65536];
};

static void *server_main(void *arg)
{
    struct server *v = arg;
    while (!atomic_load(&v->stop)) {
        int n = jet_station_poll(v->s), did = 0;
        uint32_t a;
        uint16_t p;
        while (jet_udp_pending(v->echo)) {
            ssize_t r = jet_udp_recvfrom(v->echo, v->buf, sizeof v->buf, &a, &p, 0);
            if (r < 0)
                break;
            did = 1;
            if (jet_udp_sendto(v->echo, v->buf, (size_t)r, a, p, SEC) == r)
                v->echoed++;
        }
        while (jet_udp_pending(v->burst)) {
            ssize_t r = jet_udp_recvfrom(v->burst, v->buf, 64, &a, &p, 0);
            if (r < 0)
                break;
            did = 1;
            v->buf[r] = 0;
            unsigned cnt = 0, size = 0;
            if (sscanf((char *)v->buf, "%u %u", &cnt, &size) == 2 && size <= 65507) {
                v->bursts++;
                for (unsigned i = 0; i < cnt; i++) {
                    memset(v->buf, (int)i, size);
                    jet_udp_sendto(v->burst, v->buf, size, a, p, SEC);
                }
            }
        }
        if (!n && !did)
            jet_station_wait(v->s, 5000000);
    }
    return NULL;
}

static void server_start(struct server *v)
{
    atomic_store(&v->stop, false);
    REQUIRE(pthread_create(&v->t, NULL, server_main, v) == 0);
}

static void server_stop(struct server *v)
{
    atomic_store(&v->stop, true);
    pthread_join(v->t, NULL);
}

static void server_open(struct server *v, struct jet_station *s)
{
    memset(v, 0, sizeof *v);
    v->s = s;
    REQUIRE(jet_udp_open(s, NULL, &v->echo) == 0);
    REQUIRE(jet_udp_bind(v->echo, 0, 7) == 0);
    REQUIRE(jet_udp_open(s, NULL, &v->burst) == 0);
    REQUIRE(jet_udp_bind(v->burst, IP_B, 5000) == 0);
}

/* ---- helpers ---- */

static void fill(uint8_t *p, size_t len, uint64_t seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(jet_mix64(seed * 65536 + i / 8) >> (8 * (i % 8)));
}

/* Sends len bytes to dst:7 from u and wants them back, byte for byte, from
 * IP_B:7 within timeout.  Returns true if they came. */
static bool echo_once(struct jet_udp *u, uint32_t dst, size_t len, uint64_t seed, int64_t timeout)
{
    static uint8_t out[65536], in[65536];
    fill(out, len, seed);
    ssize_t r = jet_udp_sendto(u, out, len, dst, 7, SEC);
    if (r != (ssize_t)len) {
        fprintf(stderr, "sendto %zu bytes: %zd (%s)\n", len, r, jet_udp_error(u));
        return false;
    }
    uint64_t until = now_ns() + (uint64_t)timeout;
    for (;;) {
        int64_t left = (int64_t)(until - now_ns());
        if (left <= 0)
            return false;
        uint32_t a = 0;
        uint16_t p = 0;
        r = jet_udp_recvfrom(u, in, sizeof in, &a, &p, left);
        if (r < 0)
            return false;
        if (r == (ssize_t)len && a == IP_B && p == 7 && !memcmp(in, out, len))
            return true;
        /* a late echo of an earlier datagram (lossy runs): look further */
    }
}

/* ---- the tests ---- */

static void test_ping(struct jet_station *a)
{
    uint64_t rtt = 0;
    int rc = jet_ip_ping(a, IP_B, 56, 2 * SEC, &rtt);
    if (rc)
        fprintf(stderr, "ping: %s\n", jet_station_error(a));
    CHECK_EQ(rc, 0);
    CHECK(rtt > 0 && rtt < 2000000000ull);
    struct jet_ip_stats st;
    REQUIRE(jet_ip_stats(a, &st) == 0);
    CHECK(st.arp_requests_out >= 1); /* the gratuitous one, then B's */
    CHECK(st.arp_in >= 1);
    static const size_t sizes[] = {0, 1, 1472, 8972, 8973, 20000, 65507};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        rc = jet_ip_ping(a, IP_B, sizes[i], 2 * SEC, &rtt);
        if (rc)
            fprintf(stderr, "ping -s %zu: %s\n", sizes[i], jet_station_error(a));
        CHECK_EQ(rc, 0);
    }
    CHECK_EQ(jet_ip_ping(a, IP_B, 65508, SEC, &rtt), -EMSGSIZE);
    /* nobody at .9: ARP gives up (3 requests, a second apart) */
    uint64_t t0 = now_ns();
    rc = jet_ip_ping(a, 0xC6120109u, 56, 5 * SEC, &rtt);
    CHECK(rc == -EHOSTUNREACH || rc == -ETIMEDOUT);
    CHECK(now_ns() - t0 < 6000000000ull);
    /* off the prefix, no gateway */
    CHECK_EQ(jet_ip_ping(a, 0xC6130001u, 56, SEC, &rtt), -ENETUNREACH);
    REQUIRE(jet_ip_stats(a, &st) == 0);
    CHECK(st.frag_out > 0);
    CHECK(st.reasm_ok >= 3); /* the replies of 8973, 20000 and 65507 */
}

static void test_echo(struct jet_station *a)
{
    struct jet_udp *u;
    REQUIRE(jet_udp_open(a, NULL, &u) == 0);
    static const size_t sizes[] = {0,     1,     2,     3,     7,     8,     63,   64,   511,
                                   1000,  1472,  1473,  4096,  8971,  8972,  8973, 8980, 9000,
                                   12345, 17944, 17945, 30000, 65000, 65506, 65507};
    unsigned ok = 0, n = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++, n++) {
        bool got = echo_once(u, IP_B, sizes[i], i, 2 * SEC);
        if (!got)
            fprintf(stderr, "echo of %zu bytes failed\n", sizes[i]);
        ok += got;
    }
    for (uint64_t i = 0; i < 40; i++, n++)
        ok += echo_once(u, IP_B, jet_mix64(i + 77) % 65508, 1000 + i, 2 * SEC);
    CHECK_EQ(ok, n);
    uint32_t la;
    uint16_t lp;
    jet_udp_local(u, &la, &lp);
    CHECK_EQ(la, 0);
    CHECK(lp >= 32768 && lp <= 60999); /* bound to an ephemeral port by the first send */
    /* to the prefix's broadcast address: B's echo takes it, answers unicast */
    CHECK(echo_once(u, IP_BCAST, 100, 5, 2 * SEC));
    CHECK(echo_once(u, IP_BCAST, 20000, 6, 2 * SEC)); /* reassembled broadcast */
    struct jet_udp_stats st;
    jet_udp_stats(u, &st);
    CHECK_EQ(st.datagrams_out, n + 2);
    CHECK_EQ(st.datagrams_in, n + 2);
    CHECK_EQ(st.bad, 0);
    CHECK_EQ(st.truncated, 0);
    /* too large */
    static uint8_t big[65508];
    CHECK_EQ(jet_udp_sendto(u, big, sizeof big, IP_B, 7, SEC), -EMSGSIZE);
    CHECK_EQ(jet_udp_sendto(u, big, 10, 0, 0, SEC), -EDESTADDRREQ);
    CHECK_EQ(jet_udp_sendto(u, big, 10, 0xC6130001u, 7, SEC), -ENETUNREACH);
    CHECK(jet_udp_error(u)[0] != 0);
    /* nothing more is coming */
    CHECK_EQ(jet_udp_recvfrom(u, big, 10, NULL, NULL, 0), -EAGAIN);
    CHECK_EQ(jet_udp_recvfrom(u, big, 10, NULL, NULL, 20000000), -ETIMEDOUT);
    jet_udp_close(u);
}

static void test_refused(struct jet_station *a)
{
    struct jet_udp *u;
    REQUIRE(jet_udp_open(a, NULL, &u) == 0);
    REQUIRE(jet_udp_connect(u, IP_B, 9999) == 0);
    CHECK_EQ(jet_udp_sendto(u, "x", 1, 0, 0, SEC), 1);
    uint8_t b[16];
    ssize_t r = jet_udp_recvfrom(u, b, sizeof b, NULL, NULL, 2 * SEC);
    CHECK_EQ(r, -ECONNREFUSED);
    CHECK(strstr(jet_udp_error(u), "refused") != NULL);
    /* once only; the next send goes out again, and is refused again */
    CHECK_EQ(jet_udp_recvfrom(u, b, sizeof b, NULL, NULL, 0), -EAGAIN);
    CHECK_EQ(jet_udp_sendto(u, "y", 1, 0, 0, SEC), 1);
    uint64_t t0 = now_ns();
    int got = 0;
    while (!got && now_ns() - t0 < 2000000000ull) {
        r = jet_udp_sendto(u, "z", 1, 0, 0, SEC);
        if (r == -ECONNREFUSED)
            got = 1;
        else
            usleep(2000), jet_station_poll(a);
    }
    CHECK(got);
    struct jet_udp_stats st;
    jet_udp_stats(u, &st);
    CHECK(st.errors_in >= 2);
    /* connected to B's echo: only its datagrams come in */
    REQUIRE(jet_udp_connect(u, IP_B, 7) == 0);
    CHECK_EQ(jet_udp_sendto(u, "hello", 5, 0, 0, SEC), 5);
    uint32_t src = 0;
    r = jet_udp_recvfrom(u, b, sizeof b, &src, NULL, 2 * SEC);
    CHECK_EQ(r, 5);
    CHECK_EQ(src, IP_B);
    CHECK(!memcmp(b, "hello", 5));
    jet_udp_close(u);
    /* an unconnected socket is not told, only counts */
    REQUIRE(jet_udp_open(a, NULL, &u) == 0);
    CHECK_EQ(jet_udp_sendto(u, "x", 1, IP_B, 9998, SEC), 1);
    CHECK_EQ(jet_udp_recvfrom(u, b, sizeof b, NULL, NULL, 300000000), -ETIMEDOUT);
    jet_udp_stats(u, &st);
    CHECK_EQ(st.errors_in, 1);
    jet_udp_close(u);
}

static void test_bind(struct jet_station *a)
{
    struct jet_udp *u, *w, *x;
    REQUIRE(jet_udp_open(a, NULL, &u) == 0);
    REQUIRE(jet_udp_open(a, NULL, &w) == 0);
    CHECK_EQ(jet_udp_bind(u, 0, 7000), 0);
    CHECK_EQ(jet_udp_bind(u, 0, 7001), -EINVAL); /* bound already */
    CHECK_EQ(jet_udp_bind(w, 0, 7000), -EADDRINUSE);
    CHECK(strstr(jet_udp_error(w), "7000") != NULL);
    CHECK_EQ(jet_udp_bind(w, IP_A, 7000), -EADDRINUSE);
    CHECK_EQ(jet_udp_bind(w, IP_B, 7002), -EADDRNOTAVAIL);
    CHECK_EQ(jet_udp_bind(w, IP_A, 7002), 0);
    uint32_t la;
    uint16_t lp;
    jet_udp_local(w, &la, &lp);
    CHECK_EQ(la, IP_A);
    CHECK_EQ(lp, 7002);
    jet_udp_close(u);
    REQUIRE(jet_udp_open(a, NULL, &x) == 0);
    CHECK_EQ(jet_udp_bind(x, 0, 7000), 0); /* free again */
    CHECK_EQ(jet_udp_recvfrom(x, NULL, 0, NULL, NULL, 0), -EAGAIN);
    jet_udp_close(x);
    REQUIRE(jet_udp_open(a, NULL, &x) == 0);
    CHECK_EQ(jet_udp_recvfrom(x, NULL, 0, NULL, NULL, 0), -EINVAL); /* not bound */
    CHECK_EQ(jet_udp_bind(x, 0, 0), 0);
    jet_udp_local(x, &la, &lp);
    CHECK(lp >= 32768 && lp <= 60999);
    jet_udp_close(x);
    jet_udp_close(w);
}

/* Drives a (without reading u) until u has dropped `drops` datagrams for a
 * full queue and nothing more comes for 50 ms, or 5 s pass. */
static void wait_drops(struct jet_station *a, struct jet_udp *u, uint64_t drops)
{
    uint64_t t0 = now_ns(), quiet = now_ns();
    struct jet_udp_stats st;
    for (;;) {
        if (jet_station_poll(a) > 0)
            quiet = now_ns();
        jet_udp_stats(u, &st);
        uint64_t t = now_ns();
        if ((st.queue_drops >= drops && t - quiet > 50000000ull) || t - t0 > 5000000000ull)
            return;
        usleep(1000);
    }
}

static void test_trunc_and_queues(struct jet_station *a)
{
    struct jet_udp *u;
    struct jet_udp_opts o = {.queue_frames = 4};
    REQUIRE(jet_udp_open(a, &o, &u) == 0);
    static uint8_t out[65536], in[65536];
    /* truncation: from the channel, then a reassembled one from the side queue */
    size_t lens[2] = {1000, 20000};
    for (int k = 0; k < 2; k++) {
        fill(out, lens[k], 9 + (uint64_t)k);
        CHECK_EQ(jet_udp_sendto(u, out, lens[k], IP_B, 7, SEC), (ssize_t)lens[k]);
        memset(in, 0xEE, 200);
        ssize_t r = jet_udp_recvfrom(u, in, 101, NULL, NULL, 2 * SEC);
        CHECK_EQ(r, 101);
        CHECK(!memcmp(in, out, 101));
        CHECK_EQ(in[101], 0xEE);
    }
    struct jet_udp_stats st;
    jet_udp_stats(u, &st);
    CHECK_EQ(st.truncated, 2);
    CHECK_EQ(st.bad, 0);

    /* the channel's queue: 10 datagrams come, 4 stay */
    CHECK_EQ(jet_udp_sendto(u, "10 100", 6, IP_B, 5000, SEC), 6);
    wait_drops(a, u, 6);
    CHECK_EQ(jet_udp_pending(u), 4);
    int got = 0;
    while (jet_udp_recvfrom(u, in, sizeof in, NULL, NULL, 0) == 100)
        got++;
    CHECK_EQ(got, 4);
    jet_udp_stats(u, &st);
    CHECK_EQ(st.queue_drops, 6);
    /* the side queue: 10 reassembled datagrams come, 4 stay */
    CHECK_EQ(jet_udp_sendto(u, "10 20000", 8, IP_B, 5000, SEC), 8);
    wait_drops(a, u, 12);
    CHECK_EQ(jet_udp_pending(u), 4);
    got = 0;
    ssize_t r;
    while ((r = jet_udp_recvfrom(u, in, sizeof in, NULL, NULL, 0)) == 20000)
        got++;
    CHECK_EQ(got, 4);
    jet_udp_stats(u, &st);
    CHECK_EQ(st.queue_drops, 12);
    struct jet_ip_stats ist;
    REQUIRE(jet_ip_stats(a, &ist) == 0);
    CHECK(ist.udp_queue_drops >= 12);
    jet_udp_close(u);
}

static void test_attach_errors(const char *link)
{
    struct jet_station *s = NULL;
    struct jet_err err = {0};
    REQUIRE(jet_station_open(link, -1, &s, &err) == 0);
    struct jet_ip_cfg c = {.addr = IP_A, .plen = 24};
    struct jet_udp *u;
    CHECK_EQ(jet_udp_open(s, NULL, &u), -ENOENT);
    struct jet_ip_stats st;
    CHECK_EQ(jet_ip_stats(s, &st), -ENOENT);
    c.has_mac = true;
    memcpy(c.mac, "\x01\0\0\0\0\1", 6);
    CHECK_EQ(jet_ip_attach(s, &c), -EINVAL); /* a group MAC */
    CHECK(jet_station_error(s)[0] != 0);
    c.has_mac = false;
    struct jet_chan *ch;
    REQUIRE(jet_chan_open(s, 9, NULL, &ch) == 0);
    jet_station_steer_default(s, ch);
    CHECK_EQ(jet_ip_attach(s, &c), -EBUSY);
    jet_chan_close(ch);
    c.addr = IP_A + 7;
    CHECK_EQ(jet_ip_attach(s, &c), 0);
    CHECK_EQ(jet_ip_attach(s, &c), -EEXIST);
    struct jet_ip_cfg got;
    CHECK_EQ(jet_ip_config(s, &got), 0);
    CHECK_EQ(got.addr, IP_A + 7);
    CHECK(got.has_mac);
    CHECK(!memcmp(got.mac, jet_station_link(s)->caps.mac, 6));
    /* a socket left open is closed with the station */
    REQUIRE(jet_udp_open(s, NULL, &u) == 0);
    CHECK_EQ(jet_udp_bind(u, 0, 53), 0);
    jet_station_close(s);
}

/* Loss on both ends: a few pings and echoes fail, none crash, counters move. */
static void test_lossy(void)
{
    char la[128], lb[128];
    snprintf(la, sizeof la, "fault:loss=0.1,seed=11/loop:ud-%d-lossy", (int)getpid());
    snprintf(lb, sizeof lb, "fault:loss=0.1,seed=12/loop:ud-%d-lossy", (int)getpid());
    struct jet_station *a = host_open(la, 0, IP_A), *b = host_open(lb, 1, IP_B);
    static struct server v;
    server_open(&v, b);
    server_start(&v);
    int pings = 0, echoes = 0;
    for (int i = 0; i < 30; i++) {
        uint64_t rtt;
        pings += jet_ip_ping(a, IP_B, (size_t)(i % 3 ? 56 : 12000), 300000000, &rtt) == 0;
    }
    struct jet_udp *u;
    REQUIRE(jet_udp_open(a, NULL, &u) == 0);
    for (uint64_t i = 0; i < 100; i++)
        echoes += echo_once(u, IP_B, i % 4 ? 200 : 15000, 5000 + i, 200000000);
    server_stop(&v);
    fprintf(stderr, "lossy: %d of 30 pings, %d of 100 echoes answered\n", pings, echoes);
    CHECK(pings > 5 && pings < 30);
    CHECK(echoes > 20 && echoes < 100);
    struct jet_link_stats ls;
    CHECK_EQ(jet_link_stats(jet_station_link(a), &ls), 0);
    CHECK(ls.faults > 0);
    struct jet_ip_stats st;
    REQUIRE(jet_ip_stats(b, &st) == 0);
    CHECK(st.echo_replies_out > 0);
    CHECK(st.frag_in > 0);
    CHECK(st.udp_in > 0);
    jet_udp_close(u);
    jet_station_close(a);
    jet_station_close(b); /* the server's sockets with it */
}

/* Pollable: with the server stopped, B's station fd (armed) must wake when a
 * datagram for B's echo socket arrives, and not before; the datagram is then
 * taken without waiting. */
static void test_pollable(struct jet_station *a, struct server *v)
{
    struct jet_udp *u = NULL;
    REQUIRE(jet_udp_open(a, NULL, &u) == 0);
    int fd = jet_station_fd(v->s);
    CHECK(fd >= 0);
    /* nothing sent: an armed fd stays quiet */
    while (jet_station_poll(v->s) > 0)
        ;
    CHECK_EQ(jet_station_arm(v->s), 0);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    CHECK_EQ(poll(&p, 1, 50), 0);
    /* a datagram wakes it */
    CHECK_EQ(jet_station_arm(v->s), 0);
    static const char msg[] = "wake up";
    CHECK_EQ(jet_udp_sendto(u, msg, sizeof msg, IP_B, 7, SEC), (ssize_t)sizeof msg);
    uint64_t t0 = now_ns();
    CHECK_EQ(poll(&p, 1, 2000), 1);
    CHECK(now_ns() - t0 < 500000000ull);
    char buf[64];
    uint32_t from = 0;
    CHECK_EQ(jet_udp_recvfrom(v->echo, buf, sizeof buf, &from, NULL, 0), (ssize_t)sizeof msg);
    CHECK_EQ(from, IP_A);
    CHECK(!memcmp(buf, msg, sizeof msg));
    jet_udp_close(u);
}

int main(void)
{
    char link[64];
    snprintf(link, sizeof link, "loop:ud-%d-main", (int)getpid());
    struct jet_station *a = host_open(link, 0, IP_A), *b = host_open(link, 1, IP_B);
    static struct server v;
    server_open(&v, b);
    server_start(&v);
    test_ping(a);
    test_echo(a);
    test_refused(a);
    test_bind(a);
    test_trunc_and_queues(a);
    server_stop(&v);
    test_pollable(a, &v);

    struct jet_ip_stats st;
    REQUIRE(jet_ip_stats(b, &st) == 0);
    CHECK(st.arp_replies_out >= 1);
    CHECK(st.echo_replies_out >= 8);
    CHECK(st.reasm_ok > 0);
    CHECK(st.frag_out > 0);
    CHECK(st.unreach_out >= 3);
    CHECK(st.udp_no_port >= 3);
    CHECK_EQ(st.udp_bad, 0);
    CHECK_EQ(st.ip_bad, 0);
    CHECK(v.echoed >= 60);
    jet_station_close(a);
    jet_station_close(b);

    snprintf(link, sizeof link, "loop:ud-%d-attach", (int)getpid());
    test_attach_errors(link);
    test_lossy();
    return check_done("test_udp");
}
