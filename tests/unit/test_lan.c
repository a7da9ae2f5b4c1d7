/* The emulated LAN: errors, delivery, zero copy, broadcast, Ethernet
 * addressing, seeded faults, delay and rate, blocking wait across processes,
 * and the reclaiming of a killed station. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "jet/frame.h"
#include "jet/lan.h"
#include "jet/pool.h"
#include "util/clock.h"

static char lan[64];

static void mklan(const char *tag, void (*tweak)(struct jet_lan_config *))
{
    struct jet_lan_config c;
    jet_lan_config_default(&c);
    c.stations = 4;
    c.mtu = 2000;
    if (tweak)
        tweak(&c);
    snprintf(lan, sizeof lan, "t-%d-%s", (int)getpid(), tag);
    struct jet_err err = {0};
    int rc = jet_lan_create(lan, &c, &err);
    if (rc)
        fprintf(stderr, "create %s: %s\n", lan, err.msg);
    REQUIRE(rc == 0);
}

static void rmlan(void)
{
    struct jet_err err = {0};
    CHECK_EQ(jet_lan_destroy(lan, false, &err), 0);
}

static struct jet_link *attach(int st)
{
    struct jet_link *l = NULL;
    struct jet_err err = {0};
    int rc = jet_lan_attach(lan, st, &l, &err);
    if (rc)
        fprintf(stderr, "attach %s/%d: %s\n", lan, st, err.msg);
    REQUIRE(rc == 0);
    return l;
}

/* Sends a native frame with payload `seq` (8 bytes + pad) on channel chan. */
static int send_seq(struct jet_link *l, uint32_t dst, uint32_t chan, uint64_t seq, uint32_t pad)
{
    struct jet_frame f;
    int rc = jet_link_tx_alloc(l, &f);
    if (rc)
        return rc;
    uint8_t payload[2048] = {0};
    memcpy(payload, &seq, 8);
    struct jet_frame_hdr h = {.flags = JET_FF_CRC,
                              .src_station = (uint16_t)jet_lan_station(l),
                              .dst_station = (uint16_t)dst,
                              .dst_chan = chan,
                              .src_chan = chan,
                              .payload_len = 8 + pad};
    long n = jet_frame_build(f.data, f.cap, &h, payload, 8 + pad);
    REQUIRE(n > 0);
    f.len = (uint32_t)n;
    return jet_link_tx_commit(l, &f);
}

/* Receives everything available (waiting up to ms), returns count; seqs out. */
static struct jet_link *pump; /* a sender to keep flushing while draining */

static int drain(struct jet_link *l, uint64_t *seqs, int max, int ms, int *bad)
{
    int got = 0;
    uint64_t until = jet_now_ns() + (uint64_t)ms * 1000000;
    while (jet_now_ns() < until && got < max) {
        struct jet_frame f[32];
        int n = jet_link_rx_burst(l, f, 32);
        REQUIRE(n >= 0);
        for (int i = 0; i < n; i++) {
            struct jet_frame_hdr h;
            if (jet_frame_parse(f[i].data, f[i].len, &h, 0) != 0 || h.crc_bad) {
                if (bad)
                    (*bad)++;
                continue;
            }
            if (got < max)
                memcpy(&seqs[got++], f[i].data + JET_FRAME_HDR_LEN, 8);
        }
        jet_link_rx_release(l, f, (unsigned)n);
        if (pump)
            jet_link_tx_flush(pump);
        if (n == 0)
            jet_link_wait(l, pump ? 100000 : 1000000);
    }
    return got;
}

static void free_count_is_full(const char *what)
{
    struct jet_lan_info *in = calloc(1, sizeof *in);
    REQUIRE(in);
    struct jet_err err = {0};
    REQUIRE(jet_lan_info(lan, in, &err) == 0);
    if (in->buffers_free != in->config.buffers)
        fprintf(stderr, "%s: %u of %u buffers free\n", what, in->buffers_free, in->config.buffers);
    CHECK_EQ(in->buffers_free, in->config.buffers);
    free(in);
}

static void test_errors(void)
{
    struct jet_err err = {0};
    struct jet_link *l;
    struct jet_lan_config c;
    jet_lan_config_default(&c);
    CHECK_EQ(jet_lan_attach("no-such-lan-xyz", -1, &l, &err), -ENOENT);
    CHECK(strstr(err.msg, "no LAN named") != NULL);
    CHECK_EQ(jet_lan_create("bad/name", &c, &err), -EINVAL);
    c.mtu = 70000;
    CHECK_EQ(jet_lan_create("t-mtu", &c, &err), -EINVAL);
    jet_lan_config_default(&c);
    c.stations = 1;
    CHECK_EQ(jet_lan_create("t-st", &c, &err), -EINVAL);

    mklan("err", NULL);
    CHECK_EQ(jet_lan_create(lan, &c, &err), -EINVAL); /* stations=1 checked first */
    jet_lan_config_default(&c);
    CHECK_EQ(jet_lan_create(lan, &c, &err), -EEXIST);
    CHECK_EQ(jet_lan_attach(lan, 4, &l, &err), -ERANGE);
    struct jet_link *a = attach(0);
    CHECK_EQ(jet_lan_attach(lan, 0, &l, &err), -EADDRINUSE);
    struct jet_link *b = attach(-1), *c2 = attach(-1), *d = attach(-1);
    CHECK_EQ(jet_lan_station(b), 1);
    CHECK_EQ(jet_lan_attach(lan, -1, &l, &err), -EBUSY);
    CHECK(strstr(err.msg, "full") != NULL);
    CHECK_EQ(jet_lan_destroy(lan, false, &err), -EBUSY);
    jet_link_close(d);

    /* MTU: a payload of mtu bytes passes, mtu+1 is refused and counted nowhere else */
    struct jet_frame f;
    REQUIRE(jet_link_tx_alloc(a, &f) == 0);
    CHECK(f.cap >= 2000 + JET_FRAME_OVERHEAD);
    f.len = 2000 + JET_FRAME_OVERHEAD + 1;
    memset(f.data, 0, 8);
    f.data[5] = 1;
    CHECK_EQ(jet_link_tx_commit(a, &f), -EMSGSIZE);
    CHECK(strstr(jet_link_error(a), "MTU") != NULL);
    CHECK_EQ(send_seq(a, 1, 9, 1, 2000 - 8), 0);
    uint64_t s[4];
    CHECK_EQ(drain(b, s, 4, 50, NULL), 1);
    /* unattached station */
    CHECK_EQ(send_seq(a, 3, 9, 1, 0), -EHOSTUNREACH);
    /* too short to be a frame */
    REQUIRE(jet_link_tx_alloc(a, &f) == 0);
    f.len = 10;
    CHECK_EQ(jet_link_tx_commit(a, &f), -EINVAL);
    jet_link_close(a);
    jet_link_close(b);
    jet_link_close(c2);
    free_count_is_full("errors");

    /* a segment of another layout version is refused with a clear error */
    char path[128];
    snprintf(path, sizeof path, "/dev/shm/jet-lan.%s", lan);
    int fd = open(path, O_RDWR);
    REQUIRE(fd >= 0);
    uint32_t v = 99;
    REQUIRE(pwrite(fd, &v, 4, 8) == 4);
    CHECK_EQ(jet_lan_attach(lan, -1, &l, &err), -EPROTO);
    CHECK(strstr(err.msg, "layout version 99") != NULL);
    close(fd);
    CHECK_EQ(jet_lan_destroy(lan, false, &err), 0);
    CHECK_EQ(jet_lan_destroy(lan, false, &err), -ENOENT);
}

static void test_delivery(void)
{
    mklan("dlv", NULL);
    struct jet_link *a = attach(0), *b = attach(1), *c = attach(2);
    /* in order, zero copy: the receiver sees the buffer the sender filled */
    struct jet_frame f;
    REQUIRE(jet_link_tx_alloc(a, &f) == 0);
    uint32_t sent_buf = f.buf;
    jet_link_tx_abort(a, &f);
    uint64_t *seqs = calloc(4000, 8);
    int n = 0;
    pump = a; /* frames wait in a's queue while b's ring is full */
    for (uint64_t i = 0; i < 2000; i++) {
        int rc;
        while ((rc = send_seq(a, 1, 7, i, 100)) == -EAGAIN || rc == -ENOBUFS)
            n += drain(b, seqs + n, 4000 - n, 1, NULL); /* the ring is full: receive some */
        CHECK_EQ(rc, 0);
    }
    n += drain(b, seqs + n, 4000 - n, 200, NULL);
    pump = NULL;
    CHECK_EQ(n, 2000);
    bool inorder = true;
    for (int i = 0; i < n; i++)
        inorder &= seqs[i] == (uint64_t)i;
    CHECK(inorder);
    free(seqs);

    /* A frame larger than LAN_INLINE_MAX (96 bytes) moves by reference. */
    uint8_t big[200];
    for (int i = 0; i < 200; i++)
        big[i] = (uint8_t)(i * 7 + 1);
    REQUIRE(jet_link_tx_alloc(a, &f) == 0);
    struct jet_frame_hdr h = {.dst_station = 2, .src_station = 0, .dst_chan = 1, .payload_len = 200};
    f.len = (uint32_t)jet_frame_build(f.data, f.cap, &h, big, 200);
    uint32_t b2 = f.buf;
    CHECK_EQ(jet_link_tx_commit(a, &f), 0);
    struct jet_frame r[4];
    CHECK_EQ(jet_link_rx_burst(c, r, 4), 1);
    CHECK_EQ(r[0].buf, b2); /* same pool buffer: nothing was copied */
    CHECK(memcmp(r[0].data + 24, big, 200) == 0);
    /* zero-copy forwarding: c sends the received buffer on to b */
    r[0].data[5] = 1;
    CHECK_EQ(jet_link_tx_commit(c, &r[0]), 0);
    struct jet_frame r2[4];
    CHECK_EQ(jet_link_rx_burst(b, r2, 4), 1);
    CHECK_EQ(r2[0].buf, b2);
    jet_link_rx_release(b, r2, 1);

    /* Small frames travel inside the ring entry: every length up to the
     * inline limit and just past it arrives intact, in order, in a buffer
     * of the receiver's own when inline (the sender keeps its buffer). */
    for (uint32_t plen = 0; plen <= 100 - 28; plen++) {
        REQUIRE(jet_link_tx_alloc(a, &f) == 0);
        struct jet_frame_hdr hs = {.dst_station = 1, .src_station = 0, .dst_chan = 9,
                                   .payload_len = plen};
        f.len = (uint32_t)jet_frame_build(f.data, f.cap, &hs, big + plen, plen);
        uint32_t flen = f.len, sbuf = f.buf;
        CHECK_EQ(jet_link_tx_commit(a, &f), 0);
        struct jet_frame rs[2];
        CHECK_EQ(jet_link_rx_burst(b, rs, 2), 1);
        CHECK_EQ(rs[0].len, flen);
        struct jet_frame_hdr hr;
        CHECK_EQ(jet_frame_parse(rs[0].data, rs[0].len, &hr, 0), 0);
        CHECK_EQ(hr.payload_len, plen);
        CHECK(memcmp(rs[0].data + 24, big + plen, plen) == 0);
        if (flen <= 96)
            CHECK(rs[0].buf != sbuf);
        else
            CHECK_EQ(rs[0].buf, sbuf);
        jet_link_rx_release(b, rs, 1);
    }
    jet_link_rx_release(b, r2, 1);
    (void)sent_buf;

    /* broadcast: every other attached station gets a copy, the sender none */
    CHECK_EQ(send_seq(a, JET_STATION_BROADCAST, 3, 42, 0), 0);
    uint64_t s;
    CHECK_EQ(drain(b, &s, 1, 50, NULL), 1);
    CHECK_EQ(s, 42);
    CHECK_EQ(drain(c, &s, 1, 50, NULL), 1);
    CHECK_EQ(drain(a, &s, 1, 10, NULL), 0);

    /* Ethernet encapsulation: delivered by station MAC; broadcast MAC to all */
    uint8_t mac[6];
    jet_lan_station_mac(a, 2, mac);
    CHECK(mac[0] == 0x02 && mac[5] == 2);
    REQUIRE(jet_link_tx_alloc(a, &f) == 0);
    memcpy(f.data, mac, 6);
    jet_lan_station_mac(a, 0, f.data + 6);
    f.data[12] = 0x08;
    f.data[13] = 0x00;
    memset(f.data + 14, 0xab, 46);
    f.len = 60;
    f.encap = JET_ENCAP_ETH;
    CHECK_EQ(jet_link_tx_commit(a, &f), 0);
    CHECK_EQ(jet_link_rx_burst(c, r, 4), 1);
    CHECK_EQ(r[0].encap, JET_ENCAP_ETH);
    CHECK_EQ(r[0].len, 60);
    CHECK(r[0].data[14] == 0xab);
    jet_link_rx_release(c, r, 1);
    REQUIRE(jet_link_tx_alloc(a, &f) == 0);
    memset(f.data, 0x77, 60);
    f.data[0] = 0x00; /* unicast, not a station of this LAN */
    f.len = 60;
    f.encap = JET_ENCAP_ETH;
    CHECK_EQ(jet_link_tx_commit(a, &f), -EHOSTUNREACH);

    struct jet_lan_station_info si;
    jet_lan_station_stats(a, &si);
    CHECK(si.tx_frames >= 2003);
    CHECK(si.tx_unreach >= 1);
    jet_link_close(a);
    jet_link_close(b);
    jet_link_close(c);
    free_count_is_full("delivery");
    rmlan();
}

static void faults(struct jet_lan_config *c)
{
    c->loss = 0.05;
    c->ber = 1e-5;
    c->dup = 0.02;
    c->reorder = 0.02;
    c->seed = 7;
    c->ring = 1024; /* room for the whole run: the test drains only at the end */
}

/* Same seed, same faults: two runs over fresh LANs see identical sequences. */
static int fault_run(uint64_t *seqs, int *bad)
{
    mklan("flt", faults);
    struct jet_link *a = attach(0), *b = attach(1);
    for (uint64_t i = 0; i < 400; i++) {
        CHECK_EQ(send_seq(a, 1, 11, i, 500), 0);
        /* other traffic on another channel must not change channel 11's faults */
        if (i % 3 == 0)
            send_seq(a, 1, 12, i, 10);
        if (i % 100 == 99) {
            int n = drain(b, seqs + 0, 0, 0, NULL);
            (void)n;
        }
    }
    jet_link_tx_flush(a);
    jet_link_close(a); /* flushes a held (reordered) frame */
    uint64_t all[2000];
    int nb = 0;
    int n = drain(b, all, 2000, 100, &nb);
    int k = 0;
    /* keep channel 11's frames only: they have 500 bytes of padding */
    (void)all;
    jet_link_close(b);
    rmlan();
    *bad = nb;
    for (int i = 0; i < n; i++)
        seqs[k++] = all[i];
    return k;
}

static void test_faults(void)
{
    static uint64_t s1[2000], s2[2000];
    int bad1 = 0, bad2 = 0;
    int n1 = fault_run(s1, &bad1);
    int n2 = fault_run(s2, &bad2);
    CHECK_EQ(n1, n2);
    CHECK_EQ(bad1, bad2);
    CHECK(memcmp(s1, s2, sizeof(uint64_t) * (size_t)n1) == 0);
    /* 533 sent: some lost, some damaged, some duplicated, some reordered */
    CHECK(n1 < 533 + 40);
    CHECK(bad1 > 0);
    int dups = 0, back = 0;
    for (int i = 1; i < n1; i++) {
        dups += s1[i] == s1[i - 1];
    }
    for (int i = 1; i < n1; i++)
        back += s1[i] < s1[i - 1];
    CHECK(dups > 0);
    CHECK(back > 0);
}

static void slow(struct jet_lan_config *c)
{
    c->delay_ns = 30000000; /* 30 ms */
}

static void rated(struct jet_lan_config *c)
{
    c->rate_bps = 10000000; /* 10 Mbit/s: a 1250-byte frame takes 1 ms */
}

static void test_delay_rate(void)
{
    mklan("dly", slow);
    struct jet_link *a = attach(0), *b = attach(1);
    uint64_t t0 = jet_now_ns();
    CHECK_EQ(send_seq(a, 1, 1, 5, 0), 0);
    struct jet_frame r[2];
    CHECK_EQ(jet_link_rx_burst(b, r, 2), 0); /* not yet */
    uint64_t s;
    CHECK_EQ(drain(b, &s, 1, 2000, NULL), 1);
    CHECK(jet_now_ns() - t0 >= 30000000);
    jet_link_close(a);
    jet_link_close(b);
    rmlan();

    mklan("rate", rated);
    a = attach(0);
    b = attach(1);
    t0 = jet_now_ns();
    int got = 0;
    uint64_t seqs[100];
    for (uint64_t i = 0; i < 100; i++) {
        int rc;
        while ((rc = send_seq(a, 1, 1, i, 1250 - 36)) == -EAGAIN)
            jet_link_wait(a, 200000);
        CHECK_EQ(rc, 0);
    }
    pump = a; /* the medium is slow: frames leave as the sender keeps polling */
    got = drain(b, seqs, 100, 3000, NULL);
    pump = NULL;
    CHECK_EQ(got, 100);
    /* 100 frames of 1250 bytes at 10 Mbit/s cannot arrive in under 100 ms */
    CHECK(jet_now_ns() - t0 >= 99000000);
    jet_link_close(a);
    jet_link_close(b);
    rmlan();
}

/* A receiver blocked in jet_link_wait() in another process is woken by a send. */
static void test_wait_wakeup(void)
{
    mklan("wait", NULL);
    pid_t kid = fork();
    REQUIRE(kid >= 0);
    if (kid == 0) {
        struct jet_link *b = attach(1);
        uint64_t t0 = jet_now_ns();
        struct jet_frame r[2];
        int n = 0;
        while (n == 0 && jet_now_ns() - t0 < 5000000000ull) {
            jet_link_wait(b, 5000000000ll);
            n = jet_link_rx_burst(b, r, 2);
        }
        int ok = n == 1 && jet_now_ns() - t0 < 4000000000ull;
        jet_link_rx_release(b, r, (unsigned)n);
        jet_link_close(b);
        _exit(ok ? 0 : 1);
    }
    struct jet_link *a = attach(0);
    struct jet_err err = {0};
    static struct jet_lan_info in;
    do
        usleep(1000);
    while (jet_lan_info(lan, &in, &err) == 0 && !in.st[1].attached);
    usleep(50000);
    CHECK_EQ(send_seq(a, 1, 1, 1, 0), 0);
    int st;
    waitpid(kid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    jet_link_close(a);
    rmlan();
}

/* No lost wake-up: a receiver that goes to sleep in jet_link_wait() (3 s
 * timeout) between frames sent at random short intervals gets every frame
 * promptly; one missed wake-up would cost it the whole timeout.  Run with
 * both stations using the membarrier-based fence, and with either one on the
 * fenced path (JET_LAN_NO_MEMBARRIER when it attaches). */
static void test_wake_race(bool rx_fenced, bool tx_fenced)
{
    enum { N = 3000 };
    mklan("race", NULL);
    pid_t kid = fork();
    REQUIRE(kid >= 0);
    if (kid == 0) {
        if (rx_fenced)
            setenv("JET_LAN_NO_MEMBARRIER", "1", 1);
        struct jet_link *b = attach(1);
        uint64_t t0 = jet_now_ns(), worst = 0;
        int got = 0;
        while (got < N && jet_now_ns() - t0 < 20000000000ull) {
            uint64_t w0 = jet_now_ns();
            jet_link_wait(b, 3000000000ll);
            struct jet_frame r[8];
            int n = jet_link_rx_burst(b, r, 8);
            if (n > 0) {
                if (jet_now_ns() - w0 > worst)
                    worst = jet_now_ns() - w0;
                got += n;
                jet_link_rx_release(b, r, (unsigned)n);
            }
        }
        jet_link_close(b);
        if (got != N || worst > 1000000000ull)
            fprintf(stderr, "wake race: %d of %d frames, longest wait %.3f s\n", got, N,
                    (double)worst / 1e9);
        _exit(got == N && worst < 1000000000ull ? 0 : 1);
    }
    if (tx_fenced)
        setenv("JET_LAN_NO_MEMBARRIER", "1", 1);
    struct jet_link *a = attach(0);
    unsetenv("JET_LAN_NO_MEMBARRIER");
    struct jet_err err = {0};
    static struct jet_lan_info in;
    do
        usleep(1000);
    while (jet_lan_info(lan, &in, &err) == 0 && !in.st[1].attached);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t until = jet_now_ns() + x % 40000; /* 0..40 us apart: some find it awake */
        while (jet_now_ns() < until)
            ;
        int rc;
        while ((rc = send_seq(a, 1, 1, (uint64_t)i, 0)) == -EAGAIN || rc == -ENOBUFS)
            jet_link_rx_burst(a, NULL, 0);
        CHECK_EQ(rc, 0);
    }
    int st;
    waitpid(kid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    jet_link_close(a);
    rmlan();
}

/* kill -9 of a station that holds buffers and has frames queued for it. */
static void test_killed_station(void)
{
    mklan("kill", NULL);
    int pfd[2];
    REQUIRE(pipe(pfd) == 0);
    pid_t kid = fork();
    REQUIRE(kid >= 0);
    if (kid == 0) {
        struct jet_link *b = attach(1);
        struct jet_frame f[50];
        for (int i = 0; i < 50; i++)
            if (jet_link_tx_alloc(b, &f[i]) != 0)
                _exit(2);
        REQUIRE(write(pfd[1], "x", 1) == 1);
        for (;;)
            pause();
    }
    char ch;
    REQUIRE(read(pfd[0], &ch, 1) == 1);
    struct jet_link *a = attach(0);
    for (uint64_t i = 0; i < 100; i++)
        CHECK_EQ(send_seq(a, 1, 1, i, 100), 0); /* queued in b's ring */
    kill(kid, SIGKILL);
    int st;
    waitpid(kid, &st, 0);
    /* the dead station's buffers and the frames sent to it come back:
     * every buffer is free or held by the live station a */
    {
        struct jet_lan_info *in = calloc(1, sizeof *in);
        struct jet_err err = {0};
        REQUIRE(jet_lan_info(lan, in, &err) == 0);
        CHECK(!in->st[1].attached);
        CHECK_EQ(in->reclaims, 1);
        CHECK_EQ(in->buffers_free + in->st[0].buffers_held, in->config.buffers);
        free(in);
    }
    CHECK(!jet_lan_station_alive(a, 1));
    CHECK_EQ(send_seq(a, 1, 1, 0, 0), -EHOSTUNREACH);
    /* a new process takes the station and traffic flows again */
    struct jet_link *b = attach(1);
    for (uint64_t i = 0; i < 100; i++)
        CHECK_EQ(send_seq(a, 1, 1, i, 100), 0);
    uint64_t seqs[200];
    CHECK_EQ(drain(b, seqs, 200, 200, NULL), 100);
    CHECK_EQ(seqs[0], 0);
    CHECK_EQ(seqs[99], 99);
    jet_link_close(b);
    jet_link_close(a);
    free_count_is_full("end");
    struct jet_lan_info *in = calloc(1, sizeof *in);
    struct jet_err err = {0};
    REQUIRE(jet_lan_info(lan, in, &err) == 0);
    CHECK_EQ(in->reclaims, 1);
    free(in);
    rmlan();
    close(pfd[0]);
    close(pfd[1]);
}

int main(void)
{
    test_errors();
    test_delivery();
    test_faults();
    test_delay_rate();
    test_wait_wakeup();
    test_wake_race(false, false);
    test_wake_race(true, false);
    test_wake_race(false, true);
    test_killed_station();
    return check_done("test_lan");
}
