/* kill -9 of a TCP peer on the emulated LAN: the survivor's connections fail at once
 * with -EHOSTUNREACH and the link's words (src/ip/ip_glue.c tx_commit records the
 * LAN's refusal of a frame for a station that left; src/tcp/tcp_glue.c conns_gone
 * fails every connection to that address), not after retransmission timeouts.
 *
 * Two processes on one LAN: the child (station 1, 198.18.11.2) echoes whatever two
 * connections bring; the parent (station 0, 198.18.11.1) opens both, streams through
 * the first and checks the echo byte for byte, keeps the second idle, then kills the
 * child with SIGKILL while the transfer runs.  Within 1 s the parent's send or recv on
 * the first fails with -EHOSTUNREACH, jet_tcp_error names the station, and the idle
 * connection to the same address has failed the same way. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "jet/ip.h"
#include "jet/lan.h"
#include "jet/stack.h"
#include "jet/tcp.h"

#define FIXTURE_PREFIX "t-tcpu"
#include "chan_fixture.h"

#define IP_A 0xC6120B01u /* 198.18.11.1 */
#define IP_B 0xC6120B02u /* 198.18.11.2 */
#define PORT 7007
#define SEC 1000000000ull
#define MS 1000000ull

static struct jet_station *host(int lan, int st, uint32_t ip)
{
    struct jet_station *s = NULL;
    if (st_try(lan, st, &s))
        return NULL;
    struct jet_ip_cfg c = {.addr = ip, .plen = 24};
    if (jet_ip_attach(s, &c)) {
        fprintf(stderr, "jet_ip_attach: %s\n", jet_station_error(s));
        jet_station_close(s);
        return NULL;
    }
    return s;
}

/* The child: accepts two connections and echoes both until killed. */
static void echo_child(int lan, int ready_fd)
{
    struct jet_station *s = host(lan, 1, IP_B);
    struct jet_tcp_listener *l;
    struct jet_tcp_opts o = {.nodelay = true};
    if (!s || jet_tcp_listen(s, 0, PORT, &o, &l))
        _exit(10);
    if (write(ready_fd, "r", 1) != 1)
        _exit(11);
    struct jet_tcp_conn *c[2];
    for (int i = 0; i < 2; i++)
        if (jet_tcp_accept(l, &c[i], 5 * SEC))
            _exit(12);
    static uint8_t buf[64 << 10];
    for (;;) {
        for (int i = 0; i < 2; i++) {
            ssize_t n = jet_tcp_recv(c[i], buf, sizeof buf, 0);
            if (n == -EAGAIN)
                continue;
            if (n <= 0)
                _exit(13);
            for (ssize_t off = 0; off < n;) {
                ssize_t w = jet_tcp_send(c[i], buf + off, (size_t)(n - off), SEC);
                if (w <= 0)
                    _exit(14);
                off += w;
            }
        }
        jet_station_poll(s);
    }
}

static uint8_t pat(uint64_t o)
{
    return (uint8_t)(o * 131 + (o >> 9));
}

static void test_kill(void)
{
    int lan = mklan("kill", NULL);
    int p[2];
    REQUIRE(pipe(p) == 0);
    pid_t kid = fork();
    REQUIRE(kid >= 0);
    if (kid == 0) {
        close(p[0]);
        alarm(30);
        echo_child(lan, p[1]);
    }
    close(p[1]);
    char r;
    REQUIRE(read(p[0], &r, 1) == 1);
    close(p[0]);

    struct jet_station *s = host(lan, 0, IP_A);
    REQUIRE(s);
    struct jet_tcp_conn *c = NULL, *idle = NULL;
    int rc = jet_tcp_connect(s, IP_B, PORT, NULL, &c, 5 * SEC);
    if (rc)
        fprintf(stderr, "connect: %d %s\n", rc, c ? jet_tcp_error(c) : "");
    REQUIRE(rc == 0);
    rc = jet_tcp_connect(s, IP_B, PORT, NULL, &idle, 5 * SEC);
    REQUIRE(rc == 0);

    /* a transfer, checked byte for byte, until 4 MiB have come back */
    static uint8_t out[32 << 10], in[64 << 10];
    uint64_t sent = 0, got = 0, bad = 0, t_end = now_ns() + 10 * SEC;
    while (got < (4u << 20) && now_ns() < t_end) {
        for (size_t i = 0; i < sizeof out; i++)
            out[i] = pat(sent + i);
        if (sent - got < (1u << 20)) {
            ssize_t w = jet_tcp_send(c, out, sizeof out, 0);
            if (w > 0)
                sent += (uint64_t)w;
            else
                REQUIRE(w == -EAGAIN);
        }
        ssize_t n = jet_tcp_recv(c, in, sizeof in, 10 * MS);
        if (n == -EAGAIN || n == -ETIMEDOUT)
            continue;
        REQUIRE(n > 0);
        for (ssize_t i = 0; i < n; i++)
            bad += in[i] != pat(got + (uint64_t)i);
        got += (uint64_t)n;
    }
    CHECK(got >= (4u << 20));
    CHECK_EQ(bad, 0);

    /* kill -9 of the peer while the transfer runs */
    REQUIRE(kill(kid, SIGKILL) == 0);
    int wst;
    REQUIRE(waitpid(kid, &wst, 0) == kid);
    uint64_t t0 = now_ns(), t_fail = 0;
    int err = 0;
    while (!err && now_ns() - t0 < 3 * SEC) {
        ssize_t w = jet_tcp_send(c, out, sizeof out, 10 * MS);
        if (w < 0 && w != -EAGAIN && w != -ETIMEDOUT)
            err = (int)w;
        ssize_t n = err ? 0 : jet_tcp_recv(c, in, sizeof in, 0);
        if (!err && n < 0 && n != -EAGAIN && n != -ETIMEDOUT)
            err = (int)n;
        if (err)
            t_fail = now_ns();
    }
    const char *why = jet_tcp_error(c);
    fprintf(stderr, "after kill -9: %s (%d) in %.1f ms: %s\n", strerror(-err), err,
            t_fail ? (double)(t_fail - t0) / 1e6 : -1.0, why);
    CHECK_EQ(err, -EHOSTUNREACH);
    CHECK(t_fail && t_fail - t0 < 1 * SEC);
    CHECK(strstr(why, "station 1") != NULL);
    CHECK(strstr(why, "left the link") != NULL);
    /* the idle connection to the same address failed with it */
    CHECK_EQ(jet_tcp_errno(idle), -EHOSTUNREACH);
    CHECK_EQ(jet_tcp_recv(idle, in, 1, 0), -EHOSTUNREACH);
    CHECK(strstr(jet_tcp_error(idle), "station 1") != NULL);

    jet_tcp_abort(c);
    jet_tcp_abort(idle);
    jet_station_close(s);
    struct jet_err e = {0};
    CHECK_EQ(jet_lan_destroy(lans[lan], true, &e), 0); /* the dead station's slot with it */
    lan_live[lan] = false;
}

int main(void)
{
    main_pid = getpid();
    atexit(cleanup_lans);
    alarm(60);
    test_kill();
    return check_done("tcp_unreach");
}
