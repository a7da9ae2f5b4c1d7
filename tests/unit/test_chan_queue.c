/* Channel receive queues (include/jet/chan.h) under overload, over the
 * emulated LAN: what each drop policy keeps at the frame and byte limits, the
 * high-water mark and the back-pressure stall count, and JET_DROP_BACKPRESSURE
 * holding a fast sender in another process back without losing a frame.
 * LANs and children of fork() as in test_chan.c. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "jet/chan.h"
#include "jet/lan.h"

#include "chan_fixture.h"
#include "chan_drive.h"

/* ---- 1. drop policies under overload ---- */

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

int main(void)
{
    uint64_t t0 = chan_main_begin();
    test_policies();
    test_hwm_stalls();
    test_backpressure();
    return chan_main_end("test_chan_queue", t0);
}
