/* The channel layer and RBS on the loop link (loop:NAME, src/link/loop.c):
 * no shared memory, no LAN, so nothing above the link may assume one.
 *   - channels, one thread pumping both stations: native frames of every
 *     size class with a CRC32C of their own inside the payload, and Ethernet
 *     frames to the peer's MAC reaching its default channel;
 *   - channels, one thread per station: a sender held back by a receiver
 *     with a back-pressure channel, every frame in order and intact;
 *   - RBS, one thread pumping both stations: 4 MB one way and 2 MB the other
 *     at once, byte for byte;
 *   - RBS, one thread per station with blocking calls: 3 MB each way.
 * Each loop network (ls-PID-TAG) is gone when its stations close. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "jet/chan.h"
#include "jet/crc32c.h"
#include "jet/frame.h"
#include "jet/loop.h"
#include "jet/rbs.h"
#include "util/rng.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void loop_name(char *buf, size_t cap, const char *tag)
{
    snprintf(buf, cap, "loop:ls-%d-%s", (int)getpid(), tag);
}

static struct jet_station *st_open(const char *link, int addr)
{
    struct jet_station *s = NULL;
    struct jet_err err = {0};
    int rc = jet_station_open(link, addr, &s, &err);
    if (rc)
        fprintf(stderr, "jet_station_open %s: %s\n", link, err.msg);
    REQUIRE(rc == 0);
    CHECK_EQ(jet_station_addr(s), (uint32_t)addr);
    return s;
}

/* Payload of frame i: len bytes, the last 4 a CRC32C of the others. */
static uint32_t frame_len(uint32_t i)
{
    static const uint32_t sizes[] = {4, 5, 64, 100, 1000, 1500, 4096, 8999, 9000};
    return i % 3 ? sizes[i % 9] : 4 + (uint32_t)(jet_mix64(i) % (JET_LOOP_MTU - 3));
}

static void make_payload(uint8_t *p, uint32_t len, uint32_t i)
{
    for (uint32_t k = 0; k + 4 < len; k++)
        p[k] = (uint8_t)(jet_mix64((uint64_t)i << 20 | k / 8) >> (8 * (k % 8)));
    if (len >= 8)
        memcpy(p, &i, 4); /* the frame's number first */
    uint32_t c = jet_crc32c(0, p, len - 4);
    memcpy(p + len - 4, &c, 4);
}

static bool payload_ok(const struct jet_rx *rx, uint32_t i)
{
    static uint8_t b[JET_LOOP_MTU];
    uint32_t len = frame_len(i);
    if (rx->len != len || rx->flags != 0 || jet_rx_read(rx, 0, b, len) != 0)
        return false;
    uint32_t c;
    memcpy(&c, b + len - 4, 4);
    if (c != jet_crc32c(0, b, len - 4))
        return false;
    if (len >= 8) {
        uint32_t n;
        memcpy(&n, b, 4);
        return n == i;
    }
    return true;
}

/* ---- channels ---- */

static void test_chan_pumped(void)
{
    char link[64];
    loop_name(link, sizeof link, "chan");
    struct jet_station *a = st_open(link, 0), *b = st_open(link, 1);
    struct jet_chan *ca, *cb, *cdef;
    REQUIRE(jet_chan_open(a, 6, NULL, &ca) == 0);
    REQUIRE(jet_chan_open(b, 5, NULL, &cb) == 0);
    enum { N = 3000 };
    static uint8_t p[JET_LOOP_MTU];
    uint32_t sent = 0, got = 0, bad = 0;
    uint64_t t0 = now_ns();
    while (got < N && now_ns() - t0 < 10000000000ull) {
        while (sent < N && sent - got < 64) {
            uint32_t len = frame_len(sent);
            make_payload(p, len, sent);
            struct iovec iov = {p, len};
            ssize_t r = jet_chan_send(ca, 1, 5, &iov, 1);
            if (r == -EAGAIN)
                break;
            CHECK_EQ(r, len);
            sent++;
        }
        jet_station_poll(a);
        jet_station_poll(b);
        struct jet_rx rx;
        while (jet_chan_recv(cb, &rx, 0) == 0) {
            bad += !payload_ok(&rx, got);
            CHECK_EQ(rx.src_station, 0);
            CHECK_EQ(rx.src_chan, 6);
            got++;
            jet_chan_release(cb, &rx);
        }
    }
    CHECK_EQ(got, N);
    CHECK_EQ(bad, 0);

    /* a payload over the MTU is refused; a station that is not there is unreachable */
    struct iovec big = {p, JET_LOOP_MTU + 1};
    CHECK_EQ(jet_chan_send(ca, 1, 5, &big, 1), -EMSGSIZE);
    struct iovec one = {p, 10};
    CHECK_EQ(jet_chan_send(ca, 9, 5, &one, 1), -EHOSTUNREACH);

    /* Ethernet: to b's MAC, steered to its default channel */
    REQUIRE(jet_station_link(a)->caps.eth);
    REQUIRE(jet_chan_open(b, 7, NULL, &cdef) == 0);
    jet_station_steer_default(b, cdef);
    const struct jet_link_caps *cb_caps = &jet_station_link(b)->caps;
    const struct jet_link_caps *ca_caps = &jet_station_link(a)->caps;
    unsigned eth_got = 0, eth_bad = 0;
    for (uint32_t i = 0; i < 200 && eth_got + 3 > i; i++) {
        uint32_t len = 60 + i * 37 % 8000;
        uint8_t *e = p;
        memcpy(e, cb_caps->mac, 6);
        memcpy(e + 6, ca_caps->mac, 6);
        e[12] = 0x88;
        e[13] = 0xb6; /* not JET_ETHERTYPE (0x88b5): steered, not demultiplexed */
        for (uint32_t k = 14; k < len; k++)
            e[k] = (uint8_t)(k * 7 + i);
        struct iovec iov = {e, len};
        ssize_t r;
        while ((r = jet_chan_send_eth(ca, &iov, 1)) == -EAGAIN)
            jet_station_poll(a), jet_station_poll(b);
        CHECK_EQ(r, len);
        jet_station_poll(b);
        struct jet_rx rx;
        if (jet_chan_recv(cdef, &rx, 200000000) == 0) {
            static uint8_t g[9100];
            eth_got++;
            eth_bad += rx.len != len || !(rx.flags & JET_RX_ETH) || rx.l3_off != 14 ||
                       jet_rx_read(&rx, 0, g, len) != 0 || memcmp(g, e, len) != 0;
            jet_chan_release(cdef, &rx);
        }
    }
    CHECK_EQ(eth_got, 200);
    CHECK_EQ(eth_bad, 0);

    struct jet_station_stats sa, sb;
    jet_station_stats(a, &sa);
    jet_station_stats(b, &sb);
    CHECK_EQ(sb.dropped_header + sb.dropped_not_mine + sb.dropped_no_chan, 0);
    struct jet_link_stats la, lb;
    CHECK_EQ(jet_link_stats(jet_station_link(a), &la), 0);
    CHECK_EQ(jet_link_stats(jet_station_link(b), &lb), 0);
    CHECK_EQ(la.tx_frames, N + 200);
    CHECK_EQ(lb.rx_frames, N + 200);
    CHECK_EQ(la.tx_dropped, 1); /* the frame to station 9 */
    jet_chan_close(ca);
    jet_chan_close(cb);
    jet_chan_close(cdef);
    jet_station_close(a);
    jet_station_close(b);
}

struct chan_side {
    struct jet_station *s;
    struct jet_chan *c;
    uint32_t n, done, bad;
};

enum { NT = 20000 };

static void *chan_sender(void *arg)
{
    struct chan_side *x = arg;
    static uint8_t p[JET_LOOP_MTU];
    uint64_t t0 = now_ns();
    while (x->done < x->n && now_ns() - t0 < 20000000000ull) {
        uint32_t len = frame_len(x->done);
        make_payload(p, len, x->done);
        struct iovec iov = {p, len};
        ssize_t r = jet_chan_send(x->c, 1, 5, &iov, 1);
        if (r == -EAGAIN) {
            jet_station_wait(x->s, 10000000); /* until room opens */
            jet_station_poll(x->s);
            continue;
        }
        if (r != (ssize_t)len) {
            x->bad++;
            break;
        }
        x->done++;
    }
    return NULL;
}

static void *chan_receiver(void *arg)
{
    struct chan_side *x = arg;
    uint64_t t0 = now_ns();
    while (x->done < x->n && now_ns() - t0 < 20000000000ull) {
        struct jet_rx rx;
        int rc = jet_chan_recv(x->c, &rx, 2000000000);
        if (rc == -ETIMEDOUT || rc == -EAGAIN)
            continue;
        if (rc) {
            x->bad++;
            break;
        }
        x->bad += !payload_ok(&rx, x->done);
        x->done++;
        jet_chan_release(x->c, &rx);
    }
    return NULL;
}

static void test_chan_threads(void)
{
    char link[64];
    loop_name(link, sizeof link, "thr");
    struct chan_side tx = {.s = st_open(link, 0), .n = NT}, rx = {.s = st_open(link, 1), .n = NT};
    struct jet_chan_policy bp = {.drop = JET_DROP_BACKPRESSURE, .queue_frames = 32};
    REQUIRE(jet_chan_open(tx.s, 6, NULL, &tx.c) == 0);
    REQUIRE(jet_chan_open(rx.s, 5, &bp, &rx.c) == 0);
    uint64_t t0 = now_ns();
    pthread_t t1, t2;
    REQUIRE(pthread_create(&t2, NULL, chan_receiver, &rx) == 0);
    REQUIRE(pthread_create(&t1, NULL, chan_sender, &tx) == 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    double s = (double)(now_ns() - t0) / 1e9;
    fprintf(stderr, "channels, a thread per station: %u frames in %.2f s\n", rx.done, s);
    CHECK_EQ(tx.done, NT);
    CHECK_EQ(rx.done, NT);
    CHECK_EQ(tx.bad + rx.bad, 0);
    struct jet_chan_stats cs;
    jet_chan_stats(rx.c, &cs);
    CHECK_EQ(cs.dropped_policy + cs.dropped_crc, 0);
    jet_chan_close(tx.c);
    jet_chan_close(rx.c);
    jet_station_close(tx.s);
    jet_station_close(rx.s);
}

/* ---- RBS ---- */

static uint8_t pat(uint32_t id, uint64_t o)
{
    return (uint8_t)(jet_mix64(o / 8 + ((uint64_t)id << 40)) >> (8 * (o % 8)));
}

struct side {
    struct jet_station *s;
    struct jet_rbs_conn *c;
    uint32_t id, peer;
    uint64_t sent, rcvd, total, expect;
    bool shut, eof, bad;
    int64_t wait_ns; /* blocking calls: how long recv may wait */
};

static void side_step(struct side *me)
{
    static _Thread_local uint8_t buf[20000];
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
    for (int64_t w = me->wait_ns;; w = 0) {
        ssize_t r = jet_rbs_recv(me->c, buf, sizeof buf, w);
        if (r == 0)
            me->eof = true;
        if (r <= 0)
            break;
        for (ssize_t i = 0; i < r; i++)
            if (buf[i] != pat(me->peer, me->rcvd + (uint64_t)i) && !me->bad) {
                fprintf(stderr, "rbs: byte %llu differs\n",
                        (unsigned long long)(me->rcvd + (uint64_t)i));
                me->bad = true;
            }
        me->rcvd += (uint64_t)r;
    }
}

static void connect_pair(struct jet_station *a, struct jet_station *b, struct jet_rbs_listener **l,
                         struct jet_rbs_conn **ca, struct jet_rbs_conn **cb)
{
    struct jet_rbs_opts o = {.rcvbuf = 1 << 20, .sndbuf = 1 << 20};
    REQUIRE(jet_rbs_listen(b, 77, &o, l) == 0);
    CHECK_EQ(jet_rbs_connect(a, 1, 77, &o, ca, 0), -EINPROGRESS);
    REQUIRE(*ca);
    *cb = NULL;
    uint64_t t0 = now_ns();
    while (now_ns() - t0 < 5000000000ull) {
        jet_rbs_poll(a);
        jet_rbs_poll(b);
        if (!*cb)
            jet_rbs_accept(*l, cb, 0);
        if (*cb && jet_rbs_connected(*ca) == 1 && jet_rbs_connected(*cb) == 1)
            break;
    }
    REQUIRE(*cb);
    CHECK_EQ(jet_rbs_connected(*ca), 1);
    CHECK_EQ(jet_rbs_connected(*cb), 1);
}

static void finish(struct jet_station *a, struct jet_station *b, struct jet_rbs_listener *l,
                   struct side *sa, struct side *sb)
{
    CHECK(sa->eof && sb->eof);
    CHECK_EQ(sa->rcvd, sa->expect);
    CHECK_EQ(sb->rcvd, sb->expect);
    CHECK(!sa->bad && !sb->bad);
    if (!(sa->eof && sb->eof) || sa->rcvd != sa->expect || sb->rcvd != sb->expect)
        fprintf(stderr, "rbs: a %s (sent %llu rcvd %llu), b %s (sent %llu rcvd %llu)\n",
                jet_rbs_error(sa->c), (unsigned long long)sa->sent, (unsigned long long)sa->rcvd,
                jet_rbs_error(sb->c), (unsigned long long)sb->sent, (unsigned long long)sb->rcvd);
    jet_rbs_close(sa->c, 0);
    jet_rbs_close(sb->c, 0);
    jet_rbs_listener_close(l);
    uint64_t t0 = now_ns();
    while (now_ns() - t0 < 50000000ull) {
        jet_rbs_poll(a);
        jet_rbs_poll(b);
    }
    jet_rbs_station_fini(a, 0);
    jet_rbs_station_fini(b, 0);
    jet_station_close(a);
    jet_station_close(b);
}

static void test_rbs_pumped(void)
{
    char link[64];
    loop_name(link, sizeof link, "rbs");
    struct jet_station *a = st_open(link, 0), *b = st_open(link, 1);
    struct jet_rbs_listener *l;
    struct jet_rbs_conn *ca, *cb;
    connect_pair(a, b, &l, &ca, &cb);
    const uint64_t bytes = 4 << 20;
    struct side sa = {.s = a, .c = ca, .id = 1, .peer = 2, .total = bytes, .expect = bytes / 2},
                sb = {.s = b, .c = cb, .id = 2, .peer = 1, .total = bytes / 2, .expect = bytes};
    uint64_t t0 = now_ns();
    while (!(sa.eof && sb.eof) && now_ns() - t0 < 30000000000ull) {
        side_step(&sa);
        side_step(&sb);
        jet_rbs_poll(a);
        jet_rbs_poll(b);
        if (jet_rbs_errno(ca) || jet_rbs_errno(cb))
            break;
    }
    struct jet_rbs_stats st;
    jet_rbs_stats(ca, &st);
    fprintf(stderr, "rbs, pumped: %llu+%llu bytes in %.2f s, %llu retransmits\n",
            (unsigned long long)bytes, (unsigned long long)bytes / 2,
            (double)(now_ns() - t0) / 1e9, (unsigned long long)st.retransmits);
    CHECK_EQ(st.tx_refused, 0);
    finish(a, b, l, &sa, &sb);
}

static _Atomic int sides_done;

/* Runs one side until both are done (each keeps driving its station for the
 * other's sake: acknowledgements, the end of stream). */
static void *rbs_thread(void *arg)
{
    struct side *me = arg;
    uint64_t t0 = now_ns();
    bool done = false;
    while (sides_done < 2 && now_ns() - t0 < 30000000000ull && !jet_rbs_errno(me->c)) {
        side_step(me); /* recv sleeps up to wait_ns in the station's wait */
        jet_rbs_poll(me->s); /* at end of stream recv returns at once */
        if (me->eof)
            jet_station_wait(me->s, 1000000);
        if (!done && me->eof && me->shut && jet_rbs_send_pending(me->c) == 0) {
            done = true;
            sides_done++;
        }
    }
    return NULL;
}

static void test_rbs_threads(void)
{
    char link[64];
    loop_name(link, sizeof link, "rbst");
    struct jet_station *a = st_open(link, 0), *b = st_open(link, 1);
    struct jet_rbs_listener *l;
    struct jet_rbs_conn *ca, *cb;
    connect_pair(a, b, &l, &ca, &cb);
    const uint64_t bytes = 3 << 20;
    struct side sa = {.s = a, .c = ca, .id = 3, .peer = 4, .total = bytes, .expect = bytes,
                      .wait_ns = 5000000},
                sb = {.s = b, .c = cb, .id = 4, .peer = 3, .total = bytes, .expect = bytes,
                      .wait_ns = 5000000};
    uint64_t t0 = now_ns();
    pthread_t t1, t2;
    REQUIRE(pthread_create(&t1, NULL, rbs_thread, &sa) == 0);
    REQUIRE(pthread_create(&t2, NULL, rbs_thread, &sb) == 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    fprintf(stderr, "rbs, a thread per station: %llu bytes each way in %.2f s\n",
            (unsigned long long)bytes, (double)(now_ns() - t0) / 1e9);
    finish(a, b, l, &sa, &sb);
}

int main(void)
{
    test_chan_pumped();
    test_chan_threads();
    test_rbs_pumped();
    test_rbs_threads();
    return check_done("test_loop_stack");
}
