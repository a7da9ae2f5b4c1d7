/* RBS over channels (include/jet/rbs.h, src/rbs/rbs_glue.c) on the emulated LAN:
 *   - two stations in one process, pumped by hand (non-blocking calls): handshake,
 *     transfer both ways at once with content check, end of stream, registered ring;
 *   - the same on LANs with loss, reordering, duplication and bit errors;
 *   - two processes (fork) with blocking calls: a bulk transfer checked byte by byte,
 *     orderly close, abort seen as -ECONNRESET by the peer, kill -9 of the peer seen
 *     as an error within a few seconds;
 *   - connecting where nobody listens, or to a station that is not there: a clear
 *     error within a bound.
 * Every LAN (t-rbsg-PID-TAG) must have all its pool buffers back at the end. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "jet/lan.h"
#include "jet/rbs.h"
#include "util/rng.h"

#define FIXTURE_PREFIX "t-rbsg"
#include "chan_fixture.h"

#include "rbs_fixture.h"

/* Byte at stream offset o of stream `id`. */
static uint8_t pat(uint32_t id, uint64_t o)
{
    return (uint8_t)(jet_mix64(o / 8 + ((uint64_t)id << 40)) >> (8 * (o % 8)));
}

/* ---- one process, two stations, pumped by hand ---- */

struct side {
    struct jet_rbs_conn *c;
    uint32_t id; /* pattern of what this side sends */
    uint64_t sent, rcvd, total;
    bool shut, eof, bad;
};

static void side_step(struct side *me, uint32_t peer_id)
{
    uint8_t buf[20000];
    while (me->sent < me->total) {
        size_t n = sizeof buf;
        if (n > me->total - me->sent)
            n = (size_t)(me->total - me->sent);
        for (size_t i = 0; i < n; i++)
            buf[i] = pat(me->id, me->sent + i);
        ssize_t r = jet_rbs_send(me->c, buf, n, 0);
        if (r <= 0)
            break;
        me->sent += (uint64_t)r;
    }
    if (me->sent == me->total && !me->shut) {
        CHECK_EQ(jet_rbs_shutdown(me->c), 0);
        me->shut = true;
    }
    for (;;) {
        ssize_t r = jet_rbs_recv(me->c, buf, sizeof buf, 0);
        if (r == 0)
            me->eof = true;
        if (r <= 0)
            break;
        for (ssize_t i = 0; i < r; i++)
            if (buf[i] != pat(peer_id, me->rcvd + (uint64_t)i) && !me->bad) {
                fprintf(stderr, "byte %llu differs\n",
                        (unsigned long long)(me->rcvd + (uint64_t)i));
                me->bad = true;
            }
        me->rcvd += (uint64_t)r;
    }
}

/* Connects a (station 0) to a listener on b (station 1, channel 77) by pumping both. */
static void pair_open(struct jet_station *a, struct jet_station *b, struct jet_rbs_listener **l,
                      struct jet_rbs_conn **ca, struct jet_rbs_conn **cb,
                      const struct jet_rbs_opts *o)
{
    REQUIRE(jet_rbs_listen(b, 77, o, l) == 0);
    CHECK_EQ(jet_rbs_connect(a, 1, 77, o, ca, 0), -EINPROGRESS);
    REQUIRE(*ca);
    *cb = NULL;
    uint64_t t0 = now_ns();
    while (now_ns() - t0 < 5000000000ull) {
        jet_rbs_poll(a);
        jet_rbs_poll(b);
        if (!*cb) {
            int rc = jet_rbs_accept(*l, cb, 0);
            CHECK(rc == 0 || rc == -EAGAIN);
        }
        if (*cb && jet_rbs_connected(*ca) == 1 && jet_rbs_connected(*cb) == 1)
            break;
    }
    REQUIRE(*cb);
    CHECK_EQ(jet_rbs_connected(*ca), 1);
    CHECK_EQ(jet_rbs_connected(*cb), 1);
}

static void test_inproc(const char *tag, const struct faults *f, uint64_t bytes)
{
    int lan = mklan_faults(tag, f);
    struct jet_station *a = st_open(lan, 0), *b = st_open(lan, 1);
    struct jet_rbs_listener *l;
    struct jet_rbs_conn *ca, *cb;
    struct jet_rbs_opts o = {.rcvbuf = 1 << 20, .sndbuf = 1 << 20};
    pair_open(a, b, &l, &ca, &cb, &o);
    struct side sa = {.c = ca, .id = 1, .total = bytes},
                sb = {.c = cb, .id = 2, .total = bytes / 2};
    uint64_t t0 = now_ns();
    while (!(sa.eof && sb.eof) && now_ns() - t0 < 60000000000ull) {
        side_step(&sa, 2);
        side_step(&sb, 1);
        jet_rbs_poll(a);
        jet_rbs_poll(b);
        if (jet_rbs_errno(ca) || jet_rbs_errno(cb))
            break;
    }
    if (!(sa.eof && sb.eof))
        fprintf(stderr, "%s: a %s (sent %llu rcvd %llu), b %s (sent %llu rcvd %llu)\n", tag,
                jet_rbs_error(ca), (unsigned long long)sa.sent, (unsigned long long)sa.rcvd,
                jet_rbs_error(cb), (unsigned long long)sb.sent, (unsigned long long)sb.rcvd);
    CHECK(sa.eof && sb.eof);
    CHECK_EQ(sa.rcvd, bytes / 2);
    CHECK_EQ(sb.rcvd, bytes);
    CHECK(!sa.bad && !sb.bad);
    struct jet_rbs_stats st;
    jet_rbs_stats(ca, &st);
    fprintf(stderr,
            "%s: %llu+%llu bytes in %.2f s; a: %llu segs out, %llu retransmits, "
            "%llu timeouts, srtt %.1f us\n",
            tag, (unsigned long long)bytes, (unsigned long long)bytes / 2,
            (double)(now_ns() - t0) / 1e9, (unsigned long long)st.segs_out,
            (unsigned long long)st.retransmits, (unsigned long long)st.timeouts,
            (double)st.srtt_ns / 1e3);
    if (f && f->loss > 0)
        CHECK(st.retransmits > 0);
    /* Both ends closed; the closes finish while both stations are driven. */
    int crc = jet_rbs_close(ca, 0); /* once: the handle is the library's after this */
    CHECK(crc == 0 || crc == -ETIMEDOUT);
    jet_rbs_close(cb, 0);
    jet_rbs_listener_close(l);
    t0 = now_ns();
    while (now_ns() - t0 < 100000000ull) {
        jet_rbs_poll(a);
        jet_rbs_poll(b);
    }
    st_close(a);
    st_close(b);
    rmlan(lan);
}

/* Registered ring: bytes read in place. */
static void test_ring(void)
{
    int lan = mklan_faults("ring", NULL);
    struct jet_station *a = st_open(lan, 0), *b = st_open(lan, 1);
    struct jet_rbs_listener *l;
    struct jet_rbs_conn *ca, *cb = NULL;
    static uint8_t ring[1 << 16];
    struct jet_rbs_opts o = {.rcvbuf = sizeof ring, .ring = ring, .ring_len = sizeof ring};
    REQUIRE(jet_rbs_listen(b, 78, NULL, &l) == 0);
    CHECK_EQ(jet_rbs_connect(a, 1, 78, &o, &ca, 0), -EINPROGRESS);
    for (int i = 0; i < 100000 && !cb; i++) {
        jet_rbs_poll(a);
        if (jet_rbs_accept(l, &cb, 0) == 0)
            break;
    }
    REQUIRE(cb);
    const uint64_t total = 3 << 20;
    uint64_t sent = 0, got = 0;
    bool bad = false, eof = false;
    uint8_t buf[9000];
    uint64_t t0 = now_ns();
    while (!eof && now_ns() - t0 < 20000000000ull) {
        while (sent < total) {
            size_t n = sizeof buf < total - sent ? sizeof buf : (size_t)(total - sent);
            for (size_t i = 0; i < n; i++)
                buf[i] = pat(5, sent + i);
            ssize_t r = jet_rbs_send(cb, buf, n, 0);
            if (r <= 0)
                break;
            sent += (uint64_t)r;
            if (sent == total)
                CHECK_EQ(jet_rbs_shutdown(cb), 0);
        }
        const uint8_t *p;
        ssize_t n;
        while ((n = jet_rbs_recv_ready(ca, &p, 0)) > 0) {
            CHECK(p >= ring && p + n <= ring + sizeof ring);
            CHECK(p == ring + got % sizeof ring); /* in place, at its offset */
            for (ssize_t i = 0; i < n && !bad; i++)
                bad = p[i] != pat(5, got + (uint64_t)i);
            got += (uint64_t)n;
            CHECK_EQ(jet_rbs_recv_consume(ca, (size_t)n), 0);
        }
        eof = n == 0;
        jet_rbs_poll(b);
    }
    CHECK(eof);
    CHECK(!bad);
    CHECK_EQ(got, total);
    CHECK_EQ(jet_rbs_recv_register(ca, ring, sizeof ring) == 0, 1); /* nothing buffered now */
    jet_rbs_abort(ca);
    jet_rbs_abort(cb);
    jet_rbs_listener_close(l);
    st_close(a);
    st_close(b);
    rmlan(lan);
}

/* Connecting where nobody listens: -ETIMEDOUT within the bound, and a reason. */
static void test_no_listener(void)
{
    int lan = mklan_faults("nolis", NULL);
    struct jet_station *a = st_open(lan, 0), *b = st_open(lan, 1);
    struct jet_rbs_conn *c;
    uint64_t t0 = now_ns();
    int rc = jet_rbs_connect(a, 1, 999, NULL, &c, 800000000ll); /* station 1: nobody on 999 */
    double secs = (double)(now_ns() - t0) / 1e9;
    CHECK_EQ(rc, -ETIMEDOUT);
    CHECK(secs < 5); /* the 0.8 s bound held, with room for a loaded machine */
    REQUIRE(c);
    fprintf(stderr, "no listener: %s (%.2f s)\n", jet_rbs_error(c), secs);
    CHECK(strstr(jet_rbs_error(c), "nobody listening") != NULL);
    jet_rbs_abort(c);
    t0 = now_ns();
    rc = jet_rbs_connect(a, 3, 77, NULL, &c, 800000000ll); /* no station 3 at all */
    CHECK_EQ(rc, -ETIMEDOUT);
    REQUIRE(c);
    fprintf(stderr, "no station: %s\n", jet_rbs_error(c));
    CHECK(strstr(jet_rbs_error(c), "cannot reach station 3") != NULL);
    jet_rbs_abort(c);
    /* Without a bound of its own, the core gives up after its SYN retries. */
    t0 = now_ns();
    rc = jet_rbs_connect(a, 1, 999, NULL, &c, -1);
    secs = (double)(now_ns() - t0) / 1e9;
    CHECK_EQ(rc, -ETIMEDOUT);
    CHECK(secs < 15);
    fprintf(stderr, "no listener, no bound: gave up after %.1f s: %s\n", secs, jet_rbs_error(c));
    jet_rbs_abort(c);
    st_close(a);
    st_close(b);
    rmlan(lan);
}

/* ---- two processes, blocking calls ---- */

enum { CHILD_OK = 0, CHILD_FAIL = 20 };

/* The child listens on station 1 channel 80, accepts one connection and then does
 * `mode`: 0 receive and check `bytes`, then send `bytes / 4` back, close;
 * 1 abort at once; 2 receive until killed. */
static int child(int lan, int mode, uint64_t bytes)
{
    struct jet_station *s = st_open(lan, 1);
    struct jet_rbs_listener *l;
    struct jet_rbs_conn *c;
    if (jet_rbs_listen(s, 80, NULL, &l) || jet_rbs_accept(l, &c, 10000000000ll))
        return CHILD_FAIL + 1;
    int ret = CHILD_OK;
    static uint8_t buf[65536];
    if (mode == 1) {
        uint8_t one;
        if (jet_rbs_recv(c, &one, 1, 5000000000ll) != 1)
            ret = CHILD_FAIL + 2;
        jet_rbs_abort(c);
    } else {
        uint64_t got = 0;
        while (got < bytes || mode == 2) {
            ssize_t n = jet_rbs_recv(c, buf, sizeof buf, 20000000000ll);
            if (n <= 0) {
                fprintf(stderr, "child recv: %zd %s\n", n, jet_rbs_error(c));
                ret = CHILD_FAIL + 3;
                break;
            }
            for (ssize_t i = 0; i < n; i++)
                if (buf[i] != pat(7, got + (uint64_t)i)) {
                    ret = CHILD_FAIL + 4;
                    break;
                }
            got += (uint64_t)n;
        }
        if (!ret && jet_rbs_recv(c, buf, sizeof buf, 10000000000ll) != 0)
            ret = CHILD_FAIL + 5; /* end of stream after the last byte */
        for (uint64_t off = 0; !ret && off < bytes / 4;) {
            size_t n = sizeof buf < bytes / 4 - off ? sizeof buf : (size_t)(bytes / 4 - off);
            for (size_t i = 0; i < n; i++)
                buf[i] = pat(8, off + i);
            ssize_t w = jet_rbs_send(c, buf, n, 10000000000ll);
            if (w <= 0)
                ret = CHILD_FAIL + 6;
            else
                off += (uint64_t)w;
        }
        int crc = ret ? 0 : jet_rbs_close(c, 10000000000ll);
        if (crc) {
            fprintf(stderr, "child close: %d %s\n", crc, jet_rbs_error(c));
            ret = CHILD_FAIL + 7;
        } else if (ret)
            jet_rbs_abort(c);
    }
    jet_rbs_listener_close(l);
    jet_rbs_station_fini(s, 3000000000ll);
    jet_station_close(s);
    return ret;
}

static void test_fork(const char *tag, const struct faults *f, uint64_t bytes)
{
    int lan = mklan_faults(tag, f);
    pid_t kid = fork();
    REQUIRE(kid >= 0);
    if (kid == 0)
        _exit(child(lan, 0, bytes));
    struct jet_station *s = st_open(lan, 0);
    struct jet_rbs_conn *c = NULL;
    int rc = jet_rbs_connect(s, 1, 80, NULL, &c, 10000000000ll);
    if (rc)
        fprintf(stderr, "%s: connect: %s\n", tag, c ? jet_rbs_error(c) : "?");
    CHECK_EQ(rc, 0);
    uint64_t t0 = now_ns();
    static uint8_t buf[65536];
    uint64_t off = 0;
    while (!rc && off < bytes) {
        size_t n = sizeof buf < bytes - off ? sizeof buf : (size_t)(bytes - off);
        for (size_t i = 0; i < n; i++)
            buf[i] = pat(7, off + i);
        ssize_t w = jet_rbs_send(c, buf, n, 10000000000ll);
        if (w <= 0) {
            fprintf(stderr, "%s: send: %zd %s\n", tag, w, jet_rbs_error(c));
            rc = -1;
            break;
        }
        off += (uint64_t)w;
    }
    CHECK_EQ(rc, 0);
    if (!rc)
        CHECK_EQ(jet_rbs_shutdown(c), 0);
    uint64_t got = 0;
    bool bad = false;
    for (;;) {
        ssize_t n = rc ? -1 : jet_rbs_recv(c, buf, sizeof buf, 20000000000ll);
        if (n <= 0) {
            CHECK_EQ(n, 0);
            break;
        }
        for (ssize_t i = 0; i < n && !bad; i++)
            bad = buf[i] != pat(8, got + (uint64_t)i);
        got += (uint64_t)n;
    }
    CHECK(!bad);
    CHECK_EQ(got, bytes / 4);
    double secs = (double)(now_ns() - t0) / 1e9;
    struct jet_rbs_stats st;
    jet_rbs_stats(c, &st);
    fprintf(stderr, "%s: %llu bytes + %llu back in %.2f s (%.2f Gbit/s), %llu retransmits\n", tag,
            (unsigned long long)bytes, (unsigned long long)got, secs,
            (double)bytes * 8 / secs / 1e9, (unsigned long long)st.retransmits);
    CHECK_EQ(jet_rbs_close(c, 10000000000ll), 0);
    /* Keep answering while the child closes: our last ACK may have been lost,
     * and its FIN, sent again, needs one from a station that is driven. */
    int ws;
    while (waitpid(kid, &ws, WNOHANG) == 0) {
        jet_rbs_poll(s);
        usleep(100);
    }
    if (!WIFEXITED(ws) || WEXITSTATUS(ws))
        fprintf(stderr, "%s: child exit %d\n", tag, WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    st_close(s);
    rmlan(lan);
}

/* The peer aborts: -ECONNRESET here. */
static void test_abort(void)
{
    int lan = mklan_faults("abort", NULL);
    pid_t kid = fork();
    REQUIRE(kid >= 0);
    if (kid == 0)
        _exit(child(lan, 1, 0));
    struct jet_station *s = st_open(lan, 0);
    struct jet_rbs_conn *c = NULL;
    CHECK_EQ(jet_rbs_connect(s, 1, 80, NULL, &c, 10000000000ll), 0);
    REQUIRE(c);
    CHECK_EQ(jet_rbs_send(c, "x", 1, -1), 1);
    uint8_t b[16];
    uint64_t t0 = now_ns();
    ssize_t n = jet_rbs_recv(c, b, sizeof b, 10000000000ll);
    CHECK_EQ(n, -ECONNRESET);
    CHECK(now_ns() - t0 < 2000000000ull);
    fprintf(stderr, "abort: %zd %s\n", n, jet_rbs_error(c));
    CHECK(strstr(jet_rbs_error(c), "reset") != NULL);
    CHECK_EQ(jet_rbs_send(c, "y", 1, 0), -ECONNRESET);
    CHECK_EQ(jet_rbs_close(c, 1000000000ll), -ECONNRESET);
    int ws;
    waitpid(kid, &ws, 0);
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    st_close(s);
    rmlan(lan);
}

/* kill -9 of the peer while sending: an error within a few seconds, no hang. */
static void test_kill(bool sending)
{
    int lan = mklan_faults(sending ? "kill-tx" : "kill-idle", NULL);
    pid_t kid = fork();
    REQUIRE(kid >= 0);
    if (kid == 0)
        _exit(child(lan, 2, 0));
    struct jet_station *s = st_open(lan, 0);
    struct jet_rbs_conn *c = NULL;
    CHECK_EQ(jet_rbs_connect(s, 1, 80, NULL, &c, 10000000000ll), 0);
    REQUIRE(c);
    static uint8_t buf[65536];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = pat(7, i);
    CHECK_EQ(jet_rbs_send(c, buf, sizeof buf, 1000000000ll), (ssize_t)sizeof buf);
    usleep(100000);
    kill(kid, SIGKILL);
    int ws;
    waitpid(kid, &ws, 0);
    uint64_t t0 = now_ns();
    ssize_t r;
    if (sending) {
        do
            r = jet_rbs_send(c, buf, sizeof buf, 20000000000ll);
        while (r > 0);
    } else {
        r = jet_rbs_recv(c, buf, sizeof buf, 20000000000ll);
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    fprintf(stderr, "kill -9 of the peer (%s): %zd after %.2f s: %s\n",
            sending ? "sending" : "idle", r, secs, jet_rbs_error(c));
    CHECK(r < 0 && r != -ETIMEDOUT ? 1 : jet_rbs_errno(c) != 0);
    CHECK(secs < 18); /* an error, not the 20 s receive timeout: no hang */
    CHECK(jet_rbs_error(c)[0] != 0);
    jet_rbs_abort(c);
    st_close(s);
    rmlan(lan);
}

/* RBS_GLUE_ONLY=name runs one test. */
static bool want(const char *name)
{
    return want_test("RBS_GLUE_ONLY", name);
}

int main(void)
{
    main_pid = getpid();
    atexit(cleanup_lans);
    bool san = getenv("JET_SANITIZED") != NULL;
    uint64_t big = san ? 4 << 20 : 32 << 20;
    struct faults lossy = {.loss = 0.01, .reorder = 0.01, .dup = 0.01, .ber = 1e-7};
    struct faults heavy = {.loss = 0.05, .reorder = 0.05, .dup = 0.02, .mtu = 1500};
    if (want("clean"))
        test_inproc("clean", NULL, big);
    if (want("lossy"))
        test_inproc("lossy", &lossy, big / 2);
    if (want("heavy"))
        test_inproc("heavy", &heavy, 2 << 20);
    if (want("ring"))
        test_ring();
    if (want("nolistener"))
        test_no_listener();
    if (want("fork"))
        test_fork("fork", NULL, 4 * big);
    if (want("fork-lossy"))
        test_fork("fork-lossy", &lossy, big);
    if (want("abort"))
        test_abort();
    if (want("kill"))
        test_kill(true), test_kill(false);
    return check_done("test_rbs_glue");
}
