/* Channels (include/jet/chan.h) over the emulated LAN: delivery and
 * demultiplexing, partial read and directed placement at their edges, the
 * drop policies under overload (back-pressure across two processes), the
 * bad-CRC policy on a noisy medium, the CRC deferred to the protocol (defer_crc),
 * rate reservation and its admission, strict transmit priority, the pollable fd,
 * and the release of queued frames at close.  The channel table (65536
 * channels, deletion) is tested in test_chan_table.c.
 *
 * Every LAN is named t-chan-PID-TAG, removed by rmlan() (which also checks
 * that every pool buffer came back) and, if a REQUIRE stops the run, by an
 * atexit handler of the main process.  Children of fork() report through
 * their exit status and never run it (_exit). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "jet/chan.h"
#include "jet/crc32c.h"
#include "jet/frame.h"
#include "jet/lan.h"

#include "chan_fixture.h"


/* Takes the next frame of c (a channel of station self), keeping `pump` (a
 * sending station of this process, or NULL) flushing its transmit queue. */
static int recv_pump(struct jet_station *self, struct jet_chan *c, struct jet_station *pump,
                     struct jet_rx *rx, int ms)
{
    uint64_t until = now_ns() + (uint64_t)ms * 1000000u;
    for (;;) {
        int rc = jet_chan_recv(c, rx, 0);
        if (rc != -EAGAIN)
            return rc;
        if (now_ns() >= until)
            return -ETIMEDOUT;
        if (pump)
            jet_station_poll(pump);
        jet_station_wait(self, pump ? 100000 : 1000000);
    }
}

/* Runs the driver until it finds nothing more on the link. */
static void settle(struct jet_station *s)
{
    for (int i = 0; i < 10000 && jet_station_poll(s) > 0; i++)
        ;
}

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

/* ---- 3. drop policies under overload ---- */

static void test_policies(void)
{
    static const struct {
        enum jet_drop_policy drop;
        uint32_t qf;
        uint64_t qb;
        int n;
        uint32_t size;
        int kept;
        uint64_t first, last;
    } rows[] = {
        {JET_DROP_NEWEST, 10, 0, 100, 64, 10, 0, 9},
        {JET_DROP_OLDEST, 10, 0, 100, 64, 10, 90, 99},
        {JET_DROP_NEWEST, 0, 1000, 50, 100, 10, 0, 9}, /* the byte limit */
        {JET_DROP_OLDEST, 0, 1000, 50, 100, 10, 40, 49},
        {JET_DROP_NEWEST, 0, 1050, 50, 100, 10, 0, 9}, /* 10.5 frames' worth */
        {JET_DROP_OLDEST, 0, 1050, 50, 100, 10, 40, 49},
        {JET_DROP_NEWEST, 5, 1000, 50, 100, 5, 0, 4}, /* the tighter of the two */
        {JET_DROP_OLDEST, 20, 550, 50, 100, 5, 45, 49},
        {JET_DROP_NEWEST, 1, 0, 100, 8, 1, 0, 0},
        {JET_DROP_OLDEST, 1, 0, 100, 8, 1, 99, 99},
        {JET_DROP_OLDEST, 0, 50, 5, 100, 0, 0, 0},      /* a frame larger than the queue */
        {JET_DROP_NEWEST, 0, 0, 200, 64, 200, 0, 199},  /* defaults: 256 frames */
        {JET_DROP_BACKPRESSURE, 10, 0, 5, 64, 5, 0, 4}, /* under the limit */
    };
    int lan = mklan("pol", NULL);
    struct jet_station *a = st_open(lan, 0), *b = st_open(lan, 1);
    struct jet_chan *ca = ch_open(a, 1, NULL);
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        uint32_t id = 1000 + (uint32_t)r;
        struct jet_chan_policy p = {
            .drop = rows[r].drop, .queue_frames = rows[r].qf, .queue_bytes = rows[r].qb};
        struct jet_chan *c = ch_open(b, id, &p);
        for (int i = 0; i < rows[r].n; i++)
            CHECK_EQ(send_seq(ca, 1, id, (uint64_t)i, rows[r].size), rows[r].size);
        jet_station_poll(a);
        settle(b); /* everything demultiplexed before anything is read */
        struct jet_chan_stats cs;
        jet_chan_stats(c, &cs);
        CHECK_EQ(cs.queued, rows[r].kept);
        CHECK_EQ(cs.queued_bytes, (uint64_t)rows[r].kept * rows[r].size);
        CHECK_EQ(cs.dropped_policy, rows[r].n - rows[r].kept);
        CHECK_EQ(cs.queued_hwm, rows[r].kept);
        CHECK_EQ(cs.backpressured, 0);
        int got = 0;
        uint64_t first = UINT64_MAX, last = 0, prev = 0;
        bool order = true, ok = true;
        struct jet_rx rx;
        while (jet_chan_recv(c, &rx, 0) == 0) {
            uint64_t s;
            ok &= intact(&rx, &s) && rx.len == rows[r].size;
            if (got == 0)
                first = s;
            else
                order &= s == prev + 1; /* the kept ones are consecutive */
            prev = last = s;
            got++;
            jet_chan_release(c, &rx);
        }
        if (got != rows[r].kept || (got && (first != rows[r].first || last != rows[r].last)))
            fprintf(stderr, "policy row %zu: got %d, first %" PRIu64 ", last %" PRIu64 "\n", r, got,
                    first, last);
        CHECK_EQ(got, rows[r].kept);
        if (rows[r].kept) {
            CHECK_EQ(first, rows[r].first);
            CHECK_EQ(last, rows[r].last);
        }
        CHECK(order);
        CHECK(ok);
        jet_chan_stats(c, &cs);
        CHECK_EQ(cs.queued, 0);
        CHECK(cs.queued_hwm <= (rows[r].qf ? rows[r].qf : 256));
        /* each frame counted once: delivered or dropped */
        if (cs.frames_in != (uint64_t)rows[r].kept)
            fprintf(stderr,
                    "policy row %zu: frames_in %" PRIu64 " bytes_in %" PRIu64 ", %d delivered\n", r,
                    cs.frames_in, cs.bytes_in, got);
        CHECK_EQ(cs.frames_in, rows[r].kept);
        CHECK_EQ(cs.bytes_in, (uint64_t)rows[r].kept * rows[r].size);
        CHECK_EQ(cs.frames_in + cs.dropped_policy, rows[r].n);
        jet_chan_close(c);
    }
    jet_station_close(a);
    jet_station_close(b);
    rmlan(lan);
}

static void ring64(struct jet_lan_config *c)
{
    c->ring = 64;
}

/* The high-water mark survives reads (5 queued, 3 read, 1 more: still 5,
 * then 6 after 3 more), and a back-pressure stall counts once however many
 * polls it lasts: 2 frames of room, 4 sent, many polls -> 1; one read lets
 * one more in, the next stalls -> 2. */
static void test_hwm_stalls(void)
{
    int lan = mklan("hwm", NULL);
    struct jet_station *a = st_open(lan, 0), *b = st_open(lan, 1);
    struct jet_chan *ca = ch_open(a, 1, NULL);
    struct jet_chan *c = ch_open(b, 7, NULL);
    struct jet_chan_stats cs;
    struct jet_rx rx;
    uint64_t seq = 0, want = 0;
    bool order = true;
    for (int i = 0; i < 5; i++)
        send_seq(ca, 1, 7, seq++, 64);
    settle(b);
    for (int i = 0; i < 3; i++) {
        REQUIRE(jet_chan_recv(c, &rx, 0) == 0);
        uint64_t got = UINT64_MAX;
        order &= intact(&rx, &got) && got == want++;
        jet_chan_release(c, &rx);
    }
    send_seq(ca, 1, 7, seq++, 64);
    settle(b);
    jet_chan_stats(c, &cs);
    CHECK_EQ(cs.queued, 3);
    CHECK_EQ(cs.queued_hwm, 5);
    CHECK_EQ(cs.queued_bytes, 3 * 64);
    for (int i = 0; i < 3; i++)
        send_seq(ca, 1, 7, seq++, 64);
    settle(b);
    jet_chan_stats(c, &cs);
    CHECK_EQ(cs.queued, 6);
    CHECK_EQ(cs.queued_hwm, 6);
    while (jet_chan_recv(c, &rx, 0) == 0) {
        uint64_t got = UINT64_MAX;
        order &= intact(&rx, &got) && got == want++;
        jet_chan_release(c, &rx);
    }
    CHECK(order);
    CHECK_EQ(want, seq);
    jet_chan_stats(c, &cs);
    CHECK_EQ(cs.queued, 0);
    CHECK_EQ(cs.queued_bytes, 0);
    CHECK_EQ(cs.queued_hwm, 6);

    struct jet_chan_policy p = {.drop = JET_DROP_BACKPRESSURE, .queue_frames = 2};
    struct jet_chan *bp = ch_open(b, 8, &p);
    for (uint64_t i = 0; i < 4; i++)
        send_seq(ca, 1, 8, i, 64);
    for (int i = 0; i < 50; i++)
        jet_station_poll(b);
    jet_chan_stats(bp, &cs);
    CHECK_EQ(cs.queued, 2);
    CHECK_EQ(cs.backpressured, 1);
    CHECK_EQ(jet_station_arm(b), 1); /* a frame waits for room: no sleeping */
    REQUIRE(jet_chan_recv(bp, &rx, 0) == 0);
    jet_chan_release(bp, &rx);
    for (int i = 0; i < 50; i++)
        jet_station_poll(b);
    jet_chan_stats(bp, &cs);
    CHECK_EQ(cs.queued, 2);
    CHECK_EQ(cs.backpressured, 2);
    /* closing the stalled channel: its waiting frame goes as no channel */
    struct jet_station_stats ss0, ss1;
    jet_station_stats(b, &ss0);
    jet_chan_close(bp);
    settle(b);
    jet_station_stats(b, &ss1);
    CHECK_EQ(ss1.dropped_no_chan - ss0.dropped_no_chan, 1);
    jet_chan_close(c);
    jet_station_close(b);
    jet_station_close(a);
    rmlan(lan);
}

/* JET_DROP_BACKPRESSURE across two processes: a fast sender is held back by
 * a slow reader with a 4-frame queue; every frame arrives once, in order. */
static void test_backpressure(void)
{
    enum { N = 3000, Q = 4, SIZE = 256 };
    int lan = mklan("bp", ring64);
    int go[2], rep[2];
    REQUIRE(pipe(go) == 0 && pipe(rep) == 0);
    pid_t kid = fork();
    REQUIRE(kid >= 0);
    if (kid == 0) {
        char ch;
        if (read(go[0], &ch, 1) != 1)
            _exit(10);
        struct jet_station *s;
        if (st_try(lan, 0, &s))
            _exit(11);
        struct jet_chan *c;
        if (jet_chan_open(s, 3, NULL, &c))
            _exit(12);
        uint64_t eagain = 0, until = now_ns() + 20000000000ull;
        for (uint64_t i = 0; i < N; i++) {
            ssize_t rc;
            while ((rc = send_seq(c, 1, 7, i, SIZE)) == -EAGAIN) {
                eagain++;
                if (now_ns() > until)
                    _exit(13);
                jet_station_wait(s, 1000000);
            }
            if (rc != SIZE)
                _exit(14);
        }
        if (write(rep[1], &eagain, sizeof eagain) != sizeof eagain)
            _exit(15);
        /* keep pushing what is queued until the reader says it has all */
        struct pollfd pf = {.fd = go[0], .events = POLLIN};
        while (poll(&pf, 1, 1) == 0 && now_ns() < until) {
            jet_station_poll(s);
            jet_station_wait(s, 200000);
        }
        jet_station_close(s);
        _exit(0);
    }
    close(go[0]);
    close(rep[1]);
    struct jet_station *b = st_open(lan, 1);
    struct jet_chan_policy p = {.drop = JET_DROP_BACKPRESSURE, .queue_frames = Q};
    struct jet_chan *c = ch_open(b, 7, &p);
    REQUIRE(write(go[1], "g", 1) == 1);
    usleep(50000); /* let the sender run into the limit before anything is read */
    int got = 0;
    bool order = true, ok = true;
    uint64_t t0 = now_ns();
    while (got < N) {
        struct jet_rx rx;
        int rc = jet_chan_recv(c, &rx, 3000000000ll);
        if (rc) {
            fprintf(stderr, "backpressure: recv %d after %d frames\n", rc, got);
            break;
        }
        uint64_t s;
        ok &= intact(&rx, &s) && rx.len == SIZE;
        order &= s == (uint64_t)got;
        got++;
        jet_chan_release(c, &rx);
        if (got % 16 == 0)
            usleep(100); /* a slow reader */
    }
    uint64_t eagain = 0;
    CHECK_EQ(read(rep[0], &eagain, sizeof eagain), (long long)sizeof eagain);
    REQUIRE(write(go[1], "d", 1) == 1);
    int st = 0;
    waitpid(kid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st))
        fprintf(stderr, "backpressure: sender status %#x\n", st);
    CHECK_EQ(got, N);
    CHECK(order);
    CHECK(ok);
    CHECK(eagain > 0); /* the sender was held back */
    struct jet_chan_stats cs;
    jet_chan_stats(c, &cs);
    CHECK_EQ(cs.dropped_policy, 0);
    CHECK_EQ(cs.frames_in, N);
    CHECK(cs.backpressured > 0);
    CHECK(cs.queued_hwm <= Q);
    CHECK_EQ(cs.queued, 0);
    fprintf(stderr,
            "backpressure: %d frames in %.0f ms, sender held back %" PRIu64
            " times, queue full %" PRIu64 " times\n",
            got, (double)(now_ns() - t0) / 1e6, eagain, cs.backpressured);
    struct jet_rx rx;
    CHECK_EQ(jet_chan_recv(c, &rx, 0), -EAGAIN);
    jet_station_close(b);
    close(go[1]);
    close(rep[0]);
    rmlan(lan);
}

/* ---- 4. payload CRC policy on a noisy medium ---- */

static void noisy(struct jet_lan_config *c)
{
    c->ber = 1e-4;
    c->seed = 12345;
}

static void test_crc(void)
{
    enum { N = 400, SIZE = 1000 };
    int lan = mklan("crc", noisy);
    struct jet_station *a = st_open(lan, 0), *b = st_open(lan, 1);
    struct jet_chan *ca = ch_open(a, 1, NULL);
    for (int accept = 0; accept < 2; accept++) {
        uint32_t id = 10 + (uint32_t)accept;
        struct jet_chan_policy p = {.accept_bad_crc = accept};
        struct jet_chan *c = ch_open(b, id, &p);
        struct jet_station_stats s0, s1;
        jet_station_stats(b, &s0);
        struct jet_lan_station_info f0, f1;
        jet_lan_station_stats(jet_station_link(a), &f0);
        int got = 0, flagged = 0;
        bool clean_ok = true, flagged_ok = true;
        struct jet_rx rx;
        for (int i = 0; i < N; i++) {
            CHECK_EQ(send_seq(ca, 1, id, (uint64_t)i, SIZE), SIZE);
            if (i % 50 != 49 && i != N - 1)
                continue;
            jet_station_poll(a);
            while (jet_chan_recv(c, &rx, 0) == 0) {
                uint64_t s;
                bool ok = intact(&rx, &s) && rx.len == SIZE;
                if (rx.flags & JET_RX_CRC_BAD)
                    flagged++;
                else
                    clean_ok &= ok;
                flagged_ok &= (rx.flags & ~(uint32_t)JET_RX_CRC_BAD) == 0;
                got++;
                jet_chan_release(c, &rx);
            }
        }
        jet_station_stats(b, &s1);
        jet_lan_station_stats(jet_station_link(a), &f1);
        struct jet_chan_stats cs;
        jet_chan_stats(c, &cs);
        uint64_t hdr = s1.dropped_header - s0.dropped_header;
        uint64_t corrupted = f1.fault_corrupted - f0.fault_corrupted;
        fprintf(stderr,
                "crc (accept %d): %d delivered (%d flagged), %" PRIu64 " dropped for CRC, %" PRIu64
                " for the header, %" PRIu64 " corrupted\n",
                accept, got, flagged, cs.dropped_crc, hdr, corrupted);
        CHECK(clean_ok);
        CHECK(flagged_ok);
        CHECK_EQ(f1.fault_lost - f0.fault_lost, 0);
        CHECK_EQ((uint64_t)got + cs.dropped_crc + hdr, N); /* nothing lost */
        CHECK_EQ(cs.frames_in, got);
        CHECK(hdr > 0);
        /* every damaged frame was caught by one of the two checks */
        CHECK_EQ(cs.dropped_crc + cs.crc_bad_delivered + hdr, corrupted);
        CHECK_EQ(s1.dropped_no_chan - s0.dropped_no_chan, 0);
        if (!accept) {
            CHECK_EQ(cs.crc_bad_delivered, 0);
            CHECK_EQ(flagged, 0);
            CHECK(cs.dropped_crc > 0);
        } else {
            CHECK_EQ(cs.dropped_crc, 0);
            CHECK(cs.crc_bad_delivered > 0);
            CHECK_EQ(cs.crc_bad_delivered, flagged);
        }
        jet_chan_close(c);
    }
    jet_station_close(a);
    jet_station_close(b);
    rmlan(lan);
}

/* ---- 5. defer_crc: the payload CRC left to the protocol ----
 * On the same noisy medium: every frame with a good header reaches a defer_crc
 * channel flagged JET_RX_CRC_UNCHECKED with the CRC it carried in rx->crc; a copy
 * made with jet_crc32c_copy matches rx->crc exactly when the payload is intact, and
 * the mismatches given back with jet_chan_release_crc_bad are the channel's
 * dropped_crc.  A frame changed in the pool after the driver queued it is caught by
 * that same copy.  A frame that carries no CRC arrives unflagged.  A raw channel
 * beside it behaves as before (test_crc). */
static void test_defer_crc(void)
{
    enum { N = 400, SIZE = 1000, ID = 20 };
    int lan = mklan("dcrc", noisy);
    struct jet_station *a = st_open(lan, 0), *b = st_open(lan, 1);
    struct jet_chan *ca = ch_open(a, 1, NULL);
    struct jet_chan *c = ch_open(b, ID, &(struct jet_chan_policy){.defer_crc = true});
    struct jet_chan *raw = ch_open(b, ID + 1, NULL); /* opened after: its own bit, clear */
    struct jet_station_stats s0, s1;
    jet_station_stats(b, &s0);
    struct jet_lan_station_info f0, f1;
    jet_lan_station_stats(jet_station_link(a), &f0);
    int got = 0, bad = 0, raw_got = 0;
    bool flags_ok = true, verdict_ok = true, raw_ok = true;
    static uint8_t copy[SIZE];
    struct jet_rx rx;
    for (int i = 0; i < N; i++) {
        CHECK_EQ(send_seq(ca, 1, ID, (uint64_t)i, SIZE), SIZE);
        CHECK_EQ(send_seq(ca, 1, ID + 1, (uint64_t)i, SIZE), SIZE);
        if (i % 50 != 49 && i != N - 1)
            continue;
        jet_station_poll(a);
        while (jet_chan_recv(c, &rx, 0) == 0) {
            flags_ok &= rx.flags == JET_RX_CRC_UNCHECKED && rx.len == SIZE;
            bool match = jet_crc32c_copy(0, copy, rx.payload, rx.len) == rx.crc;
            uint64_t seq;
            struct jet_rx tmp = rx;
            tmp.payload = copy;
            verdict_ok &= match == intact(&tmp, &seq); /* 1e-4 BER: never a collision */
            got++;
            if (match) {
                jet_chan_release(c, &rx);
            } else {
                bad++;
                jet_chan_release_crc_bad(c, &rx);
            }
        }
        while (jet_chan_recv(raw, &rx, 0) == 0) {
            uint64_t seq;
            raw_ok &= rx.flags == 0 && intact(&rx, &seq);
            raw_got++;
            jet_chan_release(raw, &rx);
        }
    }
    jet_station_stats(b, &s1);
    jet_lan_station_stats(jet_station_link(a), &f1);
    struct jet_chan_stats cs, rs;
    jet_chan_stats(c, &cs);
    jet_chan_stats(raw, &rs);
    uint64_t hdr = s1.dropped_header - s0.dropped_header;
    uint64_t corrupted = f1.fault_corrupted - f0.fault_corrupted;
    fprintf(stderr,
            "defer_crc: %d delivered, %d failed the placing check; raw: %d delivered, %" PRIu64
            " dropped for CRC; %" PRIu64 " for the header, %" PRIu64 " corrupted\n",
            got, bad, raw_got, rs.dropped_crc, hdr, corrupted);
    CHECK(flags_ok);
    CHECK(verdict_ok);
    CHECK(raw_ok);
    CHECK(bad > 0);
    CHECK_EQ(cs.dropped_crc, bad);
    CHECK_EQ(cs.crc_bad_delivered, 0);
    CHECK_EQ(cs.frames_in, got - bad); /* the damaged ones moved to dropped_crc */
    CHECK(rs.dropped_crc > 0);
    CHECK_EQ((uint64_t)got + (uint64_t)raw_got + rs.dropped_crc + hdr, 2 * N); /* nothing lost */
    /* every damaged frame was caught: by the header check, the driver (raw) or the copy */
    CHECK_EQ(cs.dropped_crc + rs.dropped_crc + hdr, corrupted);
    jet_station_close(a);
    jet_station_close(b);
    rmlan(lan);

    /* A clean LAN: a frame changed in the pool after the driver queued it. */
    lan = mklan("dcrc2", NULL);
    a = st_open(lan, 0);
    b = st_open(lan, 1);
    ca = ch_open(a, 1, NULL);
    c = ch_open(b, ID, &(struct jet_chan_policy){.defer_crc = true});
    struct jet_txbuf tb;
    REQUIRE(jet_chan_tx_alloc(ca, &tb) == 0);
    fill(tb.payload, SIZE, 7);
    uint8_t *inpool = tb.payload; /* the buffer travels by index: the same bytes */
    CHECK_EQ(jet_chan_tx_commit(ca, &tb, 1, ID, SIZE), 0);
    jet_station_poll(a);
    settle(b);
    CHECK_EQ(jet_chan_pending(c), 1);
    uint32_t good = jet_crc32c(0, inpool, SIZE);
    inpool[500] ^= 0x40; /* the scribbler, after the driver looked */
    REQUIRE(recv_pump(b, c, a, &rx, 1000) == 0);
    CHECK_EQ(rx.flags, JET_RX_CRC_UNCHECKED);
    CHECK_EQ(rx.crc, good);
    CHECK_EQ(rx.payload[500], inpool[500]);
    CHECK(jet_crc32c_copy(0, copy, rx.payload, rx.len) != rx.crc);
    jet_chan_release_crc_bad(c, &rx);
    jet_chan_stats(c, &cs);
    CHECK_EQ(cs.dropped_crc, 1);
    CHECK_EQ(cs.frames_in, 0);
    CHECK_EQ(cs.bytes_in, 0);
    /* a frame with no CRC at all: delivered, not flagged (nothing to check) */
    struct jet_link *l = jet_station_link(a);
    struct jet_frame f;
    REQUIRE(jet_link_tx_alloc(l, &f) == 0);
    struct jet_frame_hdr h = {.src_station = 0, .dst_station = 1, .dst_chan = ID, .src_chan = 1};
    fill(copy, 100, 9);
    long n = jet_frame_build(f.data, f.cap, &h, copy, 100);
    REQUIRE(n > 0);
    f.len = (uint32_t)n;
    CHECK_EQ(jet_link_tx_commit(l, &f), 0);
    jet_link_tx_flush(l);
    REQUIRE(recv_pump(b, c, a, &rx, 1000) == 0);
    CHECK_EQ(rx.flags, 0);
    CHECK_EQ(rx.crc, 0);
    CHECK_EQ(rx.len, 100);
    jet_chan_release(c, &rx);
    /* the bit goes with the channel: reopened without defer_crc, the driver checks again */
    jet_chan_close(c);
    c = ch_open(b, ID, NULL);
    REQUIRE(jet_chan_tx_alloc(ca, &tb) == 0);
    fill(tb.payload, SIZE, 8);
    CHECK_EQ(jet_chan_tx_commit(ca, &tb, 1, ID, SIZE), 0);
    REQUIRE(recv_pump(b, c, a, &rx, 1000) == 0);
    CHECK_EQ(rx.flags, 0);
    CHECK_EQ(rx.crc, 0);
    jet_chan_release(c, &rx);
    jet_station_close(a);
    jet_station_close(b);
    rmlan(lan);
}

/* ---- 6. reservation admission ---- */

static void gigabit(struct jet_lan_config *c)
{
    c->rate_bps = 1000000000;
}

static void test_reserve(void)
{
    const struct jet_chan_policy r600 = {.reserve_bps = 600000000};
    int lan = mklan("rsv", gigabit);
    struct jet_station *a = st_open(lan, 0), *b = st_open(lan, 1);
    struct jet_chan *c1 = ch_open(a, 1, &r600), *x = NULL;
    CHECK_EQ(jet_chan_open(a, 2, &r600, &x), -EBUSY);
    CHECK(strstr(jet_station_error(a), "reserve") != NULL);
    CHECK_EQ(jet_chan_open(b, 2, &r600, &x), -EBUSY);
    CHECK(strstr(jet_station_error(b), "reserve") != NULL);
    struct jet_chan *plain = ch_open(a, 2, NULL); /* the refused id was not left open */
    jet_chan_close(plain);
    /* exactly the rest fits, one bit more does not */
    const struct jet_chan_policy r400 = {.reserve_bps = 400000000}, r1 = {.reserve_bps = 1};
    struct jet_chan *c4 = ch_open(b, 4, &r400);
    CHECK_EQ(jet_chan_open(b, 5, &r1, &x), -EBUSY);
    jet_chan_close(c4);
    /* conforming frames go out in the top class */
    struct jet_chan *rcv = ch_open(b, 50, NULL);
    CHECK_EQ(send_seq(c1, 1, 50, 1, 100), 100);
    struct jet_rx rx;
    CHECK_EQ(recv_pump(b, rcv, a, &rx, 2000), 0);
    CHECK_EQ(rx.prio, 7);
    jet_chan_release(rcv, &rx);
    struct jet_chan_stats cs;
    jet_chan_stats(c1, &cs);
    CHECK_EQ(cs.tx_conforming, 1);
    /* given back at close */
    jet_chan_close(c1);
    struct jet_chan *c2 = ch_open(b, 2, &r600);
    CHECK_EQ(jet_chan_open(a, 3, &r600, &x), -EBUSY);
    /* and when the station closes with the channel open */
    jet_station_close(b);
    struct jet_chan *c3 = ch_open(a, 3, &r600);
    (void)c2;
    (void)c3;
    jet_station_close(a);
    rmlan(lan);

    /* a rate beyond INT64_MAX is refused, not taken for a negative delta (a
     * give-back); own LAN, as closing such a channel adds 1 bit/s to the total */
    lan = mklan("rsvx", gigabit);
    a = st_open(lan, 0);
    b = st_open(lan, 1);
    ch_open(a, 1, &r600);
    const struct jet_chan_policy rmax = {.reserve_bps = UINT64_MAX};
    x = NULL;
    int orc = jet_chan_open(b, 6, &rmax, &x);
    if (orc != -EBUSY && orc != -EINVAL)
        fprintf(stderr, "reserve_bps UINT64_MAX on a 1 Gbit/s LAN: %d\n", orc);
    CHECK(orc == -EBUSY || orc == -EINVAL);
    if (orc == 0)
        jet_chan_close(x);
    jet_station_close(a);
    jet_station_close(b);
    rmlan(lan);

    /* no rate: anything is admitted */
    lan = mklan("rsv0", NULL);
    a = st_open(lan, 0);
    b = st_open(lan, 1);
    const struct jet_chan_policy huge = {.reserve_bps = 100000000000ull};
    ch_open(a, 1, &r600);
    ch_open(a, 2, &r600);
    ch_open(b, 1, &r600);
    ch_open(b, 2, &huge);
    jet_station_close(a);
    jet_station_close(b);
    rmlan(lan);

    /* a station killed while holding a reservation gives it back */
    lan = mklan("rsvk", gigabit);
    int pfd[2];
    REQUIRE(pipe(pfd) == 0);
    pid_t kid = fork();
    REQUIRE(kid >= 0);
    if (kid == 0) {
        struct jet_station *s;
        struct jet_chan *c;
        char ok = st_try(lan, 2, &s) == 0 && jet_chan_open(s, 9, &r600, &c) == 0 ? 'x' : 'e';
        if (write(pfd[1], &ok, 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    char ch = 0;
    CHECK_EQ(read(pfd[0], &ch, 1), 1);
    CHECK_EQ(ch, 'x');
    a = st_open(lan, 0);
    CHECK_EQ(jet_chan_open(a, 5, &r600, &x), -EBUSY);
    kill(kid, SIGKILL);
    int st;
    waitpid(kid, &st, 0);
    struct jet_lan_info *in = calloc(1, sizeof *in);
    struct jet_err err = {0};
    REQUIRE(in && jet_lan_info(lans[lan], in, &err) == 0);
    CHECK(!in->st[2].attached);
    CHECK_EQ(in->reclaims, 1);
    free(in);
    x = NULL;
    int rc = jet_chan_open(a, 5, &r600, &x);
    if (rc)
        fprintf(stderr, "after kill: %s\n", jet_station_error(a));
    CHECK_EQ(rc, 0);
    b = st_open(lan, 1);
    CHECK_EQ(jet_chan_open(b, 5, &r600, &x), -EBUSY); /* a holds it now */
    jet_station_close(b);
    jet_station_close(a);
    close(pfd[0]);
    close(pfd[1]);
    rmlan(lan);
}

/* ---- 7. transmit priority ---- */

static void rate100m(struct jet_lan_config *c)
{
    c->rate_bps = 100000000; /* a 1028-byte frame takes 82 us */
}

static void test_priority(void)
{
    enum { NB = 200, SIZE = 1000 };
    const uint64_t URGENT = 1000000;
    int lan = mklan("prio", rate100m);
    struct jet_station *a = st_open(lan, 0), *b = st_open(lan, 1);
    const struct jet_chan_policy p7 = {.prio = 7}, deep = {.queue_frames = 1024};
    struct jet_chan *bulk = ch_open(a, 10, NULL), *urgent = ch_open(a, 11, &p7);
    struct jet_chan *c = ch_open(b, 20, &deep);
    int sent = 0;
    for (int i = 0; i < NB; i++) {
        ssize_t rc = send_seq(bulk, 1, 20, (uint64_t)i, SIZE);
        if (rc != SIZE)
            break;
        sent++;
    }
    CHECK_EQ(sent, NB);
    CHECK_EQ(send_seq(urgent, 1, 20, URGENT, SIZE), SIZE);
    int n = 0, pos = -1;
    uint64_t next_bulk = 0;
    bool order = true;
    while (n < sent + 1) {
        struct jet_rx rx;
        if (recv_pump(b, c, a, &rx, 3000) != 0)
            break;
        uint64_t s;
        CHECK(intact(&rx, &s));
        if (s == URGENT) {
            pos = n;
            CHECK_EQ(rx.prio, 7);
            CHECK_EQ(rx.src_chan, 11);
        } else {
            order &= s == next_bulk++ && rx.prio == 0;
        }
        n++;
        jet_chan_release(c, &rx);
    }
    fprintf(stderr, "priority: the prio-7 frame arrived %d of %d\n", pos + 1, n);
    CHECK_EQ(n, sent + 1);
    CHECK(order);
    CHECK(pos >= 0 && pos < sent / 2);
    jet_station_close(a);
    jet_station_close(b);
    rmlan(lan);
}

/* ---- 8. the pollable fd ---- */

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

/* ---- 9. close with frames still queued ---- */

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
    main_pid = getpid();
    atexit(cleanup_lans);
    signal(SIGPIPE, SIG_IGN);
    uint64_t t0 = now_ns();
    test_delivery();
    test_iov_overflow();
    test_place();
    test_policies();
    test_hwm_stalls();
    test_backpressure();
    test_crc();
    test_defer_crc();
    test_reserve();
    test_priority();
    test_fd();
    test_close_queued();
    fprintf(stderr, "test_chan: %.0f ms\n", (double)(now_ns() - t0) / 1e6);
    return check_done("test_chan");
}
