/* Channels (include/jet/chan.h) over the emulated LAN: delivery and
 * demultiplexing, partial read and directed placement at their edges, the
 * pollable fd, and the release of queued frames at close.  The drop policies
 * and back-pressure are tested in test_chan_queue.c, the payload CRC policies
 * in test_chan_crc.c, rate reservation and transmit priority in
 * test_chan_tx.c, the channel table (65536 channels, deletion) in
 * test_chan_table.c.
 *
 * Every LAN is named t-chan-PID-TAG, removed by rmlan() (which also checks
 * that every pool buffer came back) and, if a REQUIRE stops the run, by an
 * atexit handler of the main process.  Children of fork() report through
 * their exit status and never run it (_exit). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "jet/chan.h"
#include "jet/frame.h"
#include "jet/lan.h"

#include "chan_fixture.h"
#include "chan_drive.h"

/* ---- 1. delivery ---- */

static void test_delivery(void)
{
    int lan = mklan("dlv", NULL);
    struct jet_station *a = st_open(lan, 0), *b = st_open(lan, 1), *c = st_open(lan, 2);
    CHECK_EQ(jet_station_addr(a), 0);
    CHECK_EQ(jet_station_addr(b), 1);
    struct jet_chan *ca = ch_open(a, 100, NULL);
    struct jet_chan *cb[2] = {ch_open(b, 200, NULL), ch_open(b, 201, NULL)};
    CHECK_EQ(jet_chan_id(cb[1]), 201);

    /* refused opens */
    struct jet_chan *x = NULL;
    CHECK_EQ(jet_chan_open(b, 200, NULL, &x), -EADDRINUSE);
    CHECK(strstr(jet_station_error(b), "200") != NULL);
    CHECK_EQ(jet_chan_open(b, 0, NULL, &x), -EINVAL);
    CHECK(strstr(jet_station_error(b), "reserved") != NULL);
    struct jet_chan_policy badprio = {.prio = 8}, baddrop = {.drop = (enum jet_drop_policy)3};
    CHECK_EQ(jet_chan_open(b, 202, &badprio, &x), -EINVAL);
    CHECK_EQ(jet_chan_open(b, 202, &baddrop, &x), -EINVAL);
    struct jet_station_stats ss;
    jet_station_stats(b, &ss);
    CHECK_EQ(ss.channels, 2);

    /* iovec sends: pieces of uneven sizes (0-length ones too) to either channel */
    static const struct {
        int n;
        size_t piece[6];
        int to;
    } rows[] = {
        {1, {1}, 0},
        {1, {0}, 1},
        {3, {5, 0, 7}, 0},
        {6, {1, 2, 3, 4, 5, 6}, 1},
        {2, {1000, 1000}, 0}, /* exactly the MTU */
        {4, {0, 0, 0, 1}, 1},
        {2, {1999, 1}, 1},
        {3, {17, 1500, 300}, 0},
    };
    static uint8_t src[4096];
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (uint8_t)(i * 13 + 5);
    uint64_t out_bytes = 0;
    int nrows = (int)(sizeof rows / sizeof rows[0]);
    for (int r = 0; r < nrows; r++) {
        struct iovec iov[6];
        size_t len = 0;
        for (int k = 0; k < rows[r].n; k++) {
            iov[k].iov_base = src + len + (size_t)r; /* pieces are consecutive in src */
            iov[k].iov_len = rows[r].piece[k];
            len += rows[r].piece[k];
        }
        ssize_t n = jet_chan_send(ca, 1, 200 + (uint32_t)rows[r].to, iov, rows[r].n);
        CHECK_EQ(n, (long long)len);
        out_bytes += len;
        struct jet_rx rx;
        int rc = jet_chan_recv(cb[rows[r].to], &rx, 1000000000);
        CHECK_EQ(rc, 0);
        if (rc)
            continue;
        CHECK_EQ(rx.len, len);
        CHECK(memcmp(rx.payload, src + r, len) == 0);
        CHECK_EQ(rx.src_station, 0);
        CHECK_EQ(rx.src_chan, 100);
        CHECK_EQ(rx.flags, 0);
        CHECK_EQ(rx.prio, 0);
        CHECK(rx.arrived_ns > 0);
        jet_chan_release(cb[rows[r].to], &rx);
        CHECK_EQ(jet_chan_recv(cb[!rows[r].to], &rx, 0), -EAGAIN); /* nothing on the other */
    }

    /* refused sends */
    uint8_t big[2001] = {0};
    struct iovec bi = {big, sizeof big};
    CHECK_EQ(jet_chan_send(ca, 1, 200, &bi, 1), -EMSGSIZE);
    CHECK(strstr(jet_station_error(a), "MTU") != NULL);
    bi.iov_len = 10;
    CHECK_EQ(jet_chan_send(ca, 1, 0, &bi, 1), -EINVAL);
    CHECK_EQ(jet_chan_send(ca, 3, 200, &bi, 1), -EHOSTUNREACH); /* station 3 not attached */

    /* zero-copy send: fill the lent buffer in place */
    struct jet_txbuf tb;
    REQUIRE(jet_chan_tx_alloc(ca, &tb) == 0);
    CHECK_EQ(tb.cap, 2000);
    fill(tb.payload, 1500, 77);
    CHECK_EQ(jet_chan_tx_commit(ca, &tb, 1, 201, 1500), 0);
    out_bytes += 1500;
    struct jet_rx rx;
    REQUIRE(jet_chan_recv(cb[1], &rx, 1000000000) == 0);
    uint64_t seq;
    CHECK_EQ(rx.len, 1500);
    CHECK(intact(&rx, &seq));
    CHECK_EQ(seq, 77);
    CHECK_EQ(rx.src_chan, 100);
    jet_chan_release(cb[1], &rx);
    REQUIRE(jet_chan_tx_alloc(ca, &tb) == 0); /* refused commits still consume the buffer */
    CHECK_EQ(jet_chan_tx_commit(ca, &tb, 1, 201, 2001), -EMSGSIZE);
    REQUIRE(jet_chan_tx_alloc(ca, &tb) == 0);
    CHECK_EQ(jet_chan_tx_commit(ca, &tb, 1, 0, 10), -EINVAL);
    REQUIRE(jet_chan_tx_alloc(ca, &tb) == 0);
    CHECK_EQ(jet_chan_tx_commit(ca, &tb, 1, 201, 0), 0); /* an empty payload */
    REQUIRE(jet_chan_recv(cb[1], &rx, 1000000000) == 0);
    CHECK_EQ(rx.len, 0);
    jet_chan_release(cb[1], &rx);

    struct jet_chan_stats cs;
    jet_chan_stats(ca, &cs);
    CHECK_EQ(cs.frames_out, nrows + 2);
    CHECK_EQ(cs.bytes_out, out_bytes);
    jet_chan_stats(cb[0], &cs);
    CHECK_EQ(cs.id, 200);
    CHECK_EQ(cs.frames_in, 4);
    CHECK_EQ(cs.queued, 0);

    /* nobody listens on channel 999: counted, nothing delivered */
    for (int i = 0; i < 3; i++)
        CHECK_EQ(send_seq(ca, 1, 999, (uint64_t)i, 50), 50);
    settle(b);
    jet_station_stats(b, &ss);
    CHECK_EQ(ss.dropped_no_chan, 3);
    CHECK_EQ(ss.dropped_header, 0);
    CHECK_EQ(ss.dropped_not_mine, 0);
    /* "frames taken from the link": every frame station b took, delivered or not */
    CHECK_EQ(ss.frames_in, nrows + 2 + 3);

    /* receive timestamps off: arrived_ns is 0; busy-poll still times out */
    jet_station_timestamps(b, false);
    CHECK_EQ(send_seq(ca, 1, 200, 5, 10), 10);
    REQUIRE(jet_chan_recv(cb[0], &rx, 1000000000) == 0);
    CHECK_EQ(rx.arrived_ns, 0);
    jet_chan_release(cb[0], &rx);
    jet_station_timestamps(b, true);
    jet_station_busy_poll(b, true);
    CHECK_EQ(jet_chan_recv(cb[0], &rx, 5000000), -ETIMEDOUT);
    CHECK_EQ(send_seq(ca, 1, 200, 6, 10), 10);
    CHECK_EQ(jet_chan_recv(cb[0], &rx, 1000000000), 0);
    CHECK(rx.arrived_ns > 0);
    jet_chan_release(cb[0], &rx);
    jet_station_busy_poll(b, false);

    /* broadcast: every other attached station's channel 300 gets it, the sender's not */
    struct jet_chan *a300 = ch_open(a, 300, NULL), *b300 = ch_open(b, 300, NULL);
    struct jet_chan *c300 = ch_open(c, 300, NULL);
    CHECK_EQ(send_seq(ca, JET_STATION_BROADCAST, 300, 4242, 64), 64);
    struct jet_chan *rcv[2] = {b300, c300};
    for (int i = 0; i < 2; i++) {
        int rc = jet_chan_recv(rcv[i], &rx, 1000000000);
        CHECK_EQ(rc, 0);
        if (rc)
            continue;
        CHECK(intact(&rx, &seq));
        CHECK_EQ(seq, 4242);
        CHECK_EQ(rx.src_station, 0);
        CHECK_EQ(rx.src_chan, 100);
        jet_chan_release(rcv[i], &rx);
    }
    CHECK_EQ(jet_chan_recv(a300, &rx, 20000000), -ETIMEDOUT);

    jet_station_close(a);
    jet_station_close(b);
    jet_station_close(c);
    rmlan(lan);
}

/* An iovec whose lengths add up past SIZE_MAX must be refused, not wrapped to
 * a small total and copied.  Run in a child on its own LAN: if the library
 * copies, it crashes there. */
static void test_iov_overflow(void)
{
    int lan = mklan("iov", NULL);
    pid_t kid = fork();
    REQUIRE(kid >= 0);
    if (kid == 0) {
        struct jet_station *s;
        struct jet_chan *c;
        if (st_try(lan, 0, &s) || jet_chan_open(s, 1, NULL, &c))
            _exit(10);
        static uint8_t small[16];
        struct iovec iov[2] = {{small, SIZE_MAX}, {small, 2}}; /* "1 byte" in all */
        ssize_t rc = jet_chan_send(c, 0, 1, iov, 2);
        jet_station_close(s);
        _exit(rc == -EMSGSIZE || rc == -EINVAL ? 0 : 11);
    }
    int st;
    waitpid(kid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st))
        fprintf(stderr, "iovec overflow: child %s %d\n",
                WIFSIGNALED(st) ? "killed by signal" : "exit",
                WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        rmlan(lan);
    } else { /* the pool may have been overwritten: just remove it */
        struct jet_err err = {0};
        CHECK_EQ(jet_lan_destroy(lans[lan], true, &err), 0);
        lan_live[lan] = false;
    }
}

/* ---- 2. partial read and placement ---- */

static void mtu9000(struct jet_lan_config *c)
{
    c->mtu = 9000;
}

enum { PL = 1000, GUARD = 0xa5 };

static bool all_guard(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != GUARD)
            return false;
    return true;
}

static bool zeros(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static void test_read_edges(const struct jet_rx *rx, const uint8_t *want)
{
    static const struct {
        size_t off, len;
        int rc;
    } rd[] = {
        {0, 0, 0},
        {0, 1, 0},
        {0, 16, 0}, /* an application header only */
        {0, PL, 0},
        {999, 1, 0},
        {1000, 0, 0},
        {500, 500, 0},
        {1000, 1, -ERANGE},
        {0, 1001, -ERANGE},
        {999, 2, -ERANGE},
        {1001, 0, -ERANGE},
        {SIZE_MAX, 1, -ERANGE},
        {1, SIZE_MAX, -ERANGE},
        {SIZE_MAX, 0, -ERANGE},
        {SIZE_MAX, SIZE_MAX, -ERANGE},
        {2, SIZE_MAX - 1, -ERANGE}, /* off + len wraps to 0 */
    };
    static uint8_t buf[PL + 64];
    for (size_t r = 0; r < sizeof rd / sizeof rd[0]; r++) {
        for (int fn = 0; fn < 2; fn++) {
            memset(buf, GUARD, sizeof buf);
            int rc = fn == 0 ? jet_rx_read(rx, rd[r].off, buf, rd[r].len)
                             : jet_rx_place(rx, rd[r].off, rd[r].len, buf);
            if (rc != rd[r].rc)
                fprintf(stderr, "read row %zu fn %d: rc %d\n", r, fn, rc);
            CHECK_EQ(rc, rd[r].rc);
            if (rd[r].rc == 0) {
                CHECK(memcmp(buf, want + rd[r].off, rd[r].len) == 0);
                CHECK(all_guard(buf + rd[r].len, sizeof buf - rd[r].len));
            } else {
                CHECK(all_guard(buf, sizeof buf)); /* nothing copied */
            }
        }
    }

    /* scattered placement over iovecs of uneven sizes, 16 guard bytes apart */
    static const struct {
        size_t off, len;
        int n;
        size_t sz[6];
        int rc;
    } pv[] = {
        {0, PL, 5, {1, 7, 300, 0, 692}, 0},
        {10, 990, 3, {3, 500, 487}, 0},
        {0, PL, 3, {600, 600, 600}, 0}, /* more room than needed: filled in order */
        {999, 1, 2, {0, 1}, 0},
        {0, 0, 0, {0}, 0},
        {0, PL, 2, {100, 200}, -EINVAL}, /* too small */
        {0, PL, 1, {999}, -EINVAL},
        {0, PL, -1, {0}, -EINVAL},
        {999, 2, 1, {10}, -ERANGE},
        {SIZE_MAX, 1, 1, {10}, -ERANGE},
    };
    static uint8_t area[4096];
    for (size_t r = 0; r < sizeof pv / sizeof pv[0]; r++) {
        memset(area, GUARD, sizeof area);
        struct iovec iov[6];
        size_t at = 16;
        for (int k = 0; k < pv[r].n; k++) {
            iov[k].iov_base = area + at;
            iov[k].iov_len = pv[r].sz[k];
            at += pv[r].sz[k] + 16;
        }
        int rc = jet_rx_placev(rx, pv[r].off, pv[r].len, iov, pv[r].n);
        if (rc != pv[r].rc)
            fprintf(stderr, "placev row %zu: rc %d\n", r, rc);
        CHECK_EQ(rc, pv[r].rc);
        if (pv[r].rc) {
            CHECK(all_guard(area, sizeof area));
            continue;
        }
        /* the payload range in order through the iovecs, the rest untouched */
        size_t done = 0, pos = 0;
        bool ok = all_guard(area, 16);
        for (int k = 0; k < pv[r].n; k++) {
            const uint8_t *p = iov[k].iov_base;
            size_t n = pv[r].sz[k] < pv[r].len - done ? pv[r].sz[k] : pv[r].len - done;
            ok &= memcmp(p, want + pv[r].off + done, n) == 0;
            ok &= all_guard(p + n, pv[r].sz[k] - n + 16);
            done += n;
            pos = (size_t)(p - area) + pv[r].sz[k] + 16;
        }
        ok &= all_guard(area + (pos ? pos : 16), sizeof area - (pos ? pos : 16));
        CHECK(ok);
        CHECK_EQ(done, pv[r].len);
    }
}

static void test_place_fd(const struct jet_rx *rx, const uint8_t *want)
{
    char path[] = "/tmp/jet-test-chan-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    unlink(path);
    static uint8_t back[32768];
    struct stat sb;

    /* at an offset: the bytes before stay a hole of zeros */
    CHECK_EQ(jet_rx_place_fd(rx, 100, 500, fd, 4096), 500);
    REQUIRE(fstat(fd, &sb) == 0);
    CHECK_EQ(sb.st_size, 4596);
    CHECK_EQ(pread(fd, back, 4596, 0), 4596);
    CHECK(zeros(back, 4096));
    CHECK(memcmp(back + 4096, want + 100, 500) == 0);
    /* further on, past a second hole */
    CHECK_EQ(jet_rx_place_fd(rx, 984, 16, fd, 20000), 16);
    REQUIRE(fstat(fd, &sb) == 0);
    CHECK_EQ(sb.st_size, 20016);
    CHECK_EQ(pread(fd, back, 20016, 0), 20016);
    CHECK(zeros(back + 4596, 20000 - 4596));
    CHECK(memcmp(back + 20000, want + 984, 16) == 0);
    CHECK(memcmp(back + 4096, want + 100, 500) == 0); /* earlier placement untouched */
    /* the whole payload over the start */
    CHECK_EQ(jet_rx_place_fd(rx, 0, PL, fd, 0), PL);
    CHECK_EQ(pread(fd, back, PL, 0), PL);
    CHECK(memcmp(back, want, PL) == 0);
    /* nothing, and out of range: the file does not change */
    CHECK_EQ(jet_rx_place_fd(rx, PL, 0, fd, 30000), 0);
    CHECK_EQ(jet_rx_place_fd(rx, 0, PL + 1, fd, 30000), -ERANGE);
    CHECK_EQ(jet_rx_place_fd(rx, SIZE_MAX, 1, fd, 30000), -ERANGE);
    REQUIRE(fstat(fd, &sb) == 0);
    CHECK_EQ(sb.st_size, 20016);
    close(fd);
    CHECK_EQ(jet_rx_place_fd(rx, 0, 10, -1, 0), -EBADF);

    /* a pipe, at its current position */
    int p[2];
    REQUIRE(pipe(p) == 0);
    CHECK_EQ(jet_rx_place_fd(rx, 0, PL, p[1], -1), PL);
    CHECK_EQ(jet_rx_place_fd(rx, 10, 20, p[1], -1), 20);
    CHECK_EQ(read(p[0], back, sizeof back), PL + 20);
    CHECK(memcmp(back, want, PL) == 0);
    CHECK(memcmp(back + PL, want + 10, 20) == 0);
    CHECK_EQ(jet_rx_place_fd(rx, 0, 10, p[1], 0), -ESPIPE); /* no offsets on a pipe */
    /* a full non-blocking pipe takes nothing */
    REQUIRE(fcntl(p[1], F_SETFL, O_NONBLOCK) == 0);
    memset(back, 0, 4096);
    while (write(p[1], back, 4096) > 0)
        ;
    while (write(p[1], back, 1) > 0)
        ;
    CHECK_EQ(jet_rx_place_fd(rx, 0, 100, p[1], -1), -EAGAIN);
    close(p[0]);
    close(p[1]);
}

/* A payload larger than a non-blocking pipe: placed in parts, from off + count. */
static void test_place_partial(const struct jet_rx *rx, const uint8_t *want)
{
    int p[2];
    REQUIRE(pipe(p) == 0);
    REQUIRE(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0 && fcntl(p[1], F_SETFL, O_NONBLOCK) == 0);
    int cap = fcntl(p[1], F_SETPIPE_SZ, 4096);
    REQUIRE(cap > 0);
    static uint8_t back[8192];
    size_t off = 0, got = 0;
    int parts = 0;
    while (off < rx->len && parts < 100) {
        ssize_t n = jet_rx_place_fd(rx, off, rx->len - off, p[1], -1);
        CHECK(n > 0);
        if (n <= 0)
            break;
        CHECK(n == (ssize_t)(rx->len - off) || n <= cap);
        off += (size_t)n;
        parts++;
        ssize_t r;
        while ((r = read(p[0], back + got, sizeof back - got)) > 0)
            got += (size_t)r;
    }
    CHECK_EQ(off, rx->len);
    CHECK_EQ(got, rx->len);
    CHECK(parts >= 2); /* it did not fit at once */
    CHECK(memcmp(back, want, rx->len) == 0);
    close(p[0]);
    close(p[1]);
}

static void test_place(void)
{
    int lan = mklan("place", mtu9000);
    struct jet_station *a = st_open(lan, 0), *b = st_open(lan, 1);
    struct jet_chan *ca = ch_open(a, 1, NULL), *cb = ch_open(b, 2, NULL);
    static uint8_t want[8000];
    fill(want, PL, 5);
    struct iovec iov = {want, PL};
    CHECK_EQ(jet_chan_send(ca, 1, 2, &iov, 1), PL);
    struct jet_rx rx;
    REQUIRE(jet_chan_recv(cb, &rx, 1000000000) == 0);
    REQUIRE(rx.len == PL);
    test_read_edges(&rx, want);
    test_place_fd(&rx, want);
    jet_chan_release(cb, &rx);

    /* 8000 bytes through a 4096-byte pipe */
    fill(want, 8000, 6);
    iov.iov_len = 8000;
    CHECK_EQ(jet_chan_send(ca, 1, 2, &iov, 1), 8000);
    REQUIRE(jet_chan_recv(cb, &rx, 1000000000) == 0);
    REQUIRE(rx.len == 8000);
    test_place_partial(&rx, want);
    jet_chan_release(cb, &rx);

    /* an empty payload */
    CHECK_EQ(jet_chan_send(ca, 1, 2, NULL, 0), 0);
    REQUIRE(jet_chan_recv(cb, &rx, 1000000000) == 0);
    CHECK_EQ(rx.len, 0);
    CHECK_EQ(rx.flags, 0);
    uint8_t g[4];
    memset(g, GUARD, sizeof g);
    CHECK_EQ(jet_rx_read(&rx, 0, g, 0), 0);
    CHECK_EQ(jet_rx_read(&rx, 0, g, 1), -ERANGE);
    CHECK_EQ(jet_rx_read(&rx, 1, g, 0), -ERANGE);
    CHECK(all_guard(g, sizeof g));
    CHECK_EQ(jet_rx_placev(&rx, 0, 0, NULL, 0), 0);
    int p[2];
    REQUIRE(pipe(p) == 0);
    CHECK_EQ(jet_rx_place_fd(&rx, 0, 0, p[1], -1), 0);
    close(p[0]);
    close(p[1]);
    jet_chan_release(cb, &rx);

    jet_station_close(a);
    jet_station_close(b);
    rmlan(lan);
}

/* ---- 3. the pollable fd ---- */

static void test_fd(void)
{
    int lan = mklan("fd", NULL);
    int pfd[2];
    REQUIRE(pipe(pfd) == 0);
    pid_t kid = fork();
    REQUIRE(kid >= 0);
    if (kid == 0) {
        struct jet_station *s;
        struct jet_chan *c;
        if (st_try(lan, 1, &s) || jet_chan_open(s, 9, NULL, &c))
            _exit(10);
        int fd = jet_station_fd(s);
        if (fd < 0)
            _exit(11);
        if (jet_station_arm(s) != 0)
            _exit(12);
        if (write(pfd[1], "r", 1) != 1)
            _exit(13);
        uint64_t t0 = now_ns();
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int n = poll(&pf, 1, 5000);
        uint64_t dt = now_ns() - t0;
        if (n != 1 || !(pf.revents & POLLIN))
            _exit(14);
        if (dt > 4000000000ull)
            _exit(15);
        struct jet_rx rx;
        if (jet_chan_recv(c, &rx, 0) != 0) /* awake because the frame is there */
            _exit(16);
        uint64_t seq;
        if (!intact(&rx, &seq) || seq != 99)
            _exit(17);
        jet_chan_release(c, &rx);
        jet_station_close(s);
        _exit(0);
    }
    char ch;
    REQUIRE(read(pfd[0], &ch, 1) == 1);
    struct jet_station *a = st_open(lan, 0);
    struct jet_chan *ca = ch_open(a, 1, NULL);
    usleep(50000);
    CHECK_EQ(send_seq(ca, 1, 9, 99, 32), 32);
    int st;
    waitpid(kid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st))
        fprintf(stderr, "fd: child status %#x\n", st);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(pfd[0]);
    close(pfd[1]);

    /* arm says 1 when there is work already */
    struct jet_station *b = st_open(lan, 1);
    struct jet_chan *cb = ch_open(b, 9, NULL);
    CHECK(jet_station_fd(b) >= 0);
    CHECK_EQ(jet_station_arm(b), 0);
    CHECK_EQ(send_seq(ca, 1, 9, 1, 32), 32);
    CHECK_EQ(jet_station_arm(b), 1); /* waiting on the link */
    struct jet_rx rx;
    CHECK_EQ(jet_chan_recv(cb, &rx, 0), 0);
    jet_chan_release(cb, &rx);
    CHECK_EQ(jet_station_arm(b), 0);
    CHECK_EQ(send_seq(ca, 1, 9, 2, 32), 32);
    jet_station_poll(b);
    /* demultiplexed into the channel's queue, not yet received: still work */
    CHECK_EQ(jet_station_arm(b), 1);
    CHECK_EQ(jet_chan_recv(cb, &rx, 0), 0);
    jet_chan_release(cb, &rx);
    CHECK_EQ(jet_station_arm(b), 0);
    jet_station_close(a);
    jet_station_close(b);
    rmlan(lan);
}

/* ---- 4. close with frames still queued ---- */

static void test_close_queued(void)
{
    int lan = mklan("cls", NULL);
    struct jet_station *a = st_open(lan, 0), *b = st_open(lan, 1);
    struct jet_chan *ca = ch_open(a, 1, NULL);
    const struct jet_chan_policy bp = {.drop = JET_DROP_BACKPRESSURE, .queue_frames = 4};
    struct jet_chan *c1 = ch_open(b, 1, NULL), *c2 = ch_open(b, 2, &bp), *c3 = ch_open(b, 3, NULL);
    /* channel 2 last: once its queue is full the driver takes nothing more */
    for (int i = 0; i < 100; i++)
        CHECK_EQ(send_seq(ca, 1, 1, (uint64_t)i, 200), 200);
    for (int i = 0; i < 10; i++)
        CHECK_EQ(send_seq(ca, 1, 3, (uint64_t)i, 200), 200);
    for (int i = 0; i < 60; i++)
        CHECK_EQ(send_seq(ca, 1, 2, (uint64_t)i, 200), 200);
    settle(b);
    struct jet_chan_stats cs;
    jet_chan_stats(c1, &cs);
    CHECK_EQ(cs.queued, 100);
    jet_chan_stats(c2, &cs);
    CHECK_EQ(cs.queued, 4); /* the rest held back by the driver or still on the link */
    CHECK(cs.backpressured > 0);
    struct jet_rx rx;
    jet_chan_stats(c3, &cs);
    CHECK_EQ(cs.queued, 10);
    CHECK_EQ(jet_chan_recv(c1, &rx, 0), 0);
    jet_chan_release(c1, &rx);
    jet_chan_close(c3);          /* 10 frames queued */
    for (int i = 0; i < 20; i++) /* and some left on the link */
        CHECK_EQ(send_seq(ca, 1, 1, (uint64_t)i, 200), 200);
    struct jet_lan_info *in = calloc(1, sizeof *in);
    struct jet_err err = {0};
    REQUIRE(in && jet_lan_info(lans[lan], in, &err) == 0);
    CHECK(in->buffers_free < in->config.buffers - 100);
    free(in);
    jet_station_close(b);
    jet_station_close(a);
    pool_is_full(lan, "close with frames queued");
    rmlan(lan);
}

int main(void)
{
    uint64_t t0 = chan_main_begin();
    test_delivery();
    test_iov_overflow();
    test_place();
    test_fd();
    test_close_queued();
    return chan_main_end("test_chan", t0);
}
