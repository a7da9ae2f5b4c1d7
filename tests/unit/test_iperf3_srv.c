/* The iperf3 server engine (src/app/iperf3_srv.h), scripted: a client conversation
 * in the shape iperf 3.12 speaks it (cookie, parameters, data connections with the
 * cookie, TEST_END, results, IPERF_DONE) fed at hand-set times, and the engine's
 * exact bytes checked at each step; then hostile input - bad and huge lengths,
 * garbage JSON, refused tests, a wrong cookie on a data connection, too many
 * connections, deadlines - each refused cleanly.  Table of parameter texts last. */
#include <errno.h>

#include "app/iperf3_srv.h"
#include "check.h"

#define SEC 1000000000ull

static const char cookie[IPERF3_COOKIE_LEN] = "abcdefghijklmnopqrstuvwxyz0123456789";

/* Everything the engine has for h, as if the transport took it all. */
static size_t drain(struct iperf3_srv *s, int h, uint8_t *buf, size_t cap, uint64_t now)
{
    size_t got = 0;
    struct iovec iov[64];
    int n;
    while ((n = iperf3_srv_peek(s, h, iov, 64)) > 0) {
        size_t tot = 0;
        for (int i = 0; i < n; i++) {
            if (buf && got + tot + iov[i].iov_len <= cap)
                memcpy(buf + got + tot, iov[i].iov_base, iov[i].iov_len);
            tot += iov[i].iov_len;
        }
        iperf3_srv_sent(s, h, tot, now);
        got += tot;
        if (got > (64u << 20))
            break; /* an unlimited -R stream */
    }
    return got;
}

/* The control output must be exactly want[0, n). */
static void expect_ctrl(struct iperf3_srv *s, int h, const void *want, size_t n, uint64_t now,
                        int line)
{
    uint8_t buf[8192];
    size_t got = drain(s, h, buf, sizeof buf, now);
    if (got != n || memcmp(buf, want, n)) {
        fprintf(stderr, "line %d: control output %zu bytes, wanted %zu:", line, got, n);
        for (size_t i = 0; i < got && i < 64; i++)
            fprintf(stderr, " %02x", buf[i]);
        fprintf(stderr, "\n");
    }
    CHECK(got == n && !memcmp(buf, want, n));
}
#define EXPECT(s, h, now, ...)                                                                     \
    do {                                                                                           \
        static const uint8_t w_[] = {__VA_ARGS__};                                                 \
        expect_ctrl(s, h, w_, sizeof w_, now, __LINE__);                                          \
    } while (0)

static void feed(struct iperf3_srv *s, int h, const void *p, size_t n, uint64_t now)
{
    iperf3_srv_input(s, h, p, n, now);
}

/* Parameters with their length prefix, one byte at a time (the worst split). */
static void feed_params(struct iperf3_srv *s, int h, const char *json, uint64_t now)
{
    uint32_t n = (uint32_t)strlen(json);
    uint8_t hdr[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    for (int i = 0; i < 4; i++)
        feed(s, h, hdr + i, 1, now);
    for (uint32_t i = 0; i < n; i++)
        feed(s, h, json + i, 1, now);
}

static struct iperf3_srv *server(uint64_t (*rtx)(void *, int))
{
    struct iperf3_cfg cfg = {.ops = {.retransmits = rtx}};
    struct iperf3_srv *s = iperf3_srv_create(&cfg);
    REQUIRE(s);
    return s;
}

/* Control connection through CREATE_STREAMS. */
static int setup(struct iperf3_srv *s, const char *params, uint64_t now)
{
    int c = iperf3_srv_open(s, now);
    REQUIRE(c >= 0);
    feed(s, c, cookie, 20, now);
    EXPECT(s, c, now); /* nothing before the whole cookie */
    feed(s, c, cookie + 20, IPERF3_COOKIE_LEN - 20, now);
    EXPECT(s, c, now, IPERF3_PARAM_EXCHANGE);
    feed_params(s, c, params, now);
    return c;
}

static int join(struct iperf3_srv *s, uint64_t now)
{
    int h = iperf3_srv_open(s, now);
    REQUIRE(h >= 0);
    feed(s, h, cookie, IPERF3_COOKIE_LEN, now);
    return h;
}

static void results_in(struct iperf3_srv *s, int c, uint64_t now)
{
    static const char r[] = "{\"cpu_util_total\":1.5,\"streams\":[]}";
    uint8_t hdr[4] = {0, 0, 0, sizeof r - 1};
    feed(s, c, hdr, 4, now);
    feed(s, c, r, sizeof r - 1, now);
}

/* The results frame: 4-byte length, the JSON, DISPLAY_RESULTS. */
static void expect_results(struct iperf3_srv *s, int c, const char *json, uint64_t now, int line)
{
    uint8_t want[4096];
    size_t n = strlen(json);
    want[0] = (uint8_t)(n >> 24), want[1] = (uint8_t)(n >> 16), want[2] = (uint8_t)(n >> 8);
    want[3] = (uint8_t)n;
    memcpy(want + 4, json, n);
    want[4 + n] = IPERF3_DISPLAY_RESULTS;
    expect_ctrl(s, c, want, n + 5, now, line);
}

static void test_forward(void)
{
    struct iperf3_srv *s = server(NULL);
    uint64_t t = 1000 * SEC;
    int c = setup(s,
                  "{\"tcp\":true,\"omit\":0,\"time\":2,\"parallel\":2,\"len\":131072,"
                  "\"pacing_timer\":1000,\"client_version\":\"3.12\"}",
                  t);
    EXPECT(s, c, t, IPERF3_CREATE_STREAMS);
    CHECK(iperf3_srv_busy(s));
    int d1 = join(s, t);
    EXPECT(s, c, t); /* one of two */
    int d2 = iperf3_srv_open(s, t);
    REQUIRE(d2 >= 0);
    /* Cookie and the first data in one read. */
    uint8_t first[IPERF3_COOKIE_LEN + 100];
    memcpy(first, cookie, IPERF3_COOKIE_LEN);
    memset(first + IPERF3_COOKIE_LEN, 'x', 100);
    feed(s, d2, first, sizeof first, t);
    EXPECT(s, c, t, IPERF3_TEST_START, IPERF3_TEST_RUNNING);
    CHECK_EQ(iperf3_srv_peek(s, d1, (struct iovec[1]){0}, 1), 0); /* receives, sends nothing */
    static uint8_t blk[5000];
    feed(s, d1, blk, 1000, t + SEC);
    feed(s, d2, blk, 400, t + SEC);
    /* A busy server: a third client is denied without being read. */
    int other = iperf3_srv_open(s, t + SEC);
    EXPECT(s, other, t + SEC, 0xff);
    CHECK_EQ(iperf3_srv_status(s, other), IPERF3_CLOSE);
    iperf3_srv_closed(s, other, t + SEC);
    uint8_t end = IPERF3_TEST_END;
    feed(s, c, &end, 1, t + 2 * SEC + 500000);
    EXPECT(s, c, t, IPERF3_EXCHANGE_RESULTS);
    CHECK_EQ(iperf3_srv_status(s, d1), IPERF3_CLOSE);
    CHECK_EQ(iperf3_srv_status(s, d2), IPERF3_CLOSE);
    feed(s, d1, blk, 1000, t + 3 * SEC); /* late data is not counted */
    iperf3_srv_closed(s, d1, t + 3 * SEC);
    iperf3_srv_closed(s, d2, t + 3 * SEC);
    results_in(s, c, t + 3 * SEC);
    expect_results(s, c,
                   "{\"cpu_util_total\":0.000000,\"cpu_util_user\":0.000000,\"cpu_util_system\":"
                   "0.000000,\"sender_has_retransmits\":-1,\"streams\":[{\"id\":1,\"bytes\":1000,"
                   "\"retransmits\":-1,\"jitter\":0,\"errors\":0,\"packets\":0,\"start_time\":0,"
                   "\"end_time\":2.000500},{\"id\":3,\"bytes\":500,\"retransmits\":-1,\"jitter\":0,"
                   "\"errors\":0,\"packets\":0,\"start_time\":0,\"end_time\":2.000500}]}",
                   t + 3 * SEC, __LINE__);
    CHECK_EQ(iperf3_srv_status(s, c), 0);
    uint8_t done = IPERF3_IPERF_DONE;
    feed(s, c, &done, 1, t + 3 * SEC);
    CHECK_EQ(iperf3_srv_status(s, c), IPERF3_CLOSE);
    iperf3_srv_closed(s, c, t + 3 * SEC);
    CHECK(!iperf3_srv_busy(s));
    const struct iperf3_test_info *li = iperf3_srv_last(s);
    CHECK_EQ(li->outcome, IPERF3_OK);
    CHECK_EQ(li->bytes, 1500);
    CHECK_EQ(li->streams, 2);
    CHECK_EQ(iperf3_srv_stats(s)->tests, 1);
    CHECK_EQ(iperf3_srv_timeout(s), 0);
    /* Every change was listed; the slots are free for the next test. */
    while (iperf3_srv_next_dirty(s) >= 0)
        ;
    int again = iperf3_srv_open(s, t + 4 * SEC);
    CHECK_EQ(again, 0);
    iperf3_srv_closed(s, again, t + 4 * SEC);
    iperf3_srv_destroy(s);
}

static uint64_t seven(void *ctx, int h)
{
    (void)ctx;
    (void)h;
    return 7;
}

static void test_reverse_bytes(void)
{
    struct iperf3_srv *s = server(seven);
    uint64_t t = 5 * SEC;
    /* -R -n 300000: three whole blocks of 131072 go out. */
    int c = setup(s, "{\"tcp\":true,\"omit\":0,\"time\":0,\"num\":300000,\"parallel\":1,"
                     "\"reverse\":true,\"len\":131072}",
                  t);
    EXPECT(s, c, t, IPERF3_CREATE_STREAMS);
    int d = join(s, t);
    EXPECT(s, c, t, IPERF3_TEST_START, IPERF3_TEST_RUNNING);
    CHECK(iperf3_srv_status(s, d) & IPERF3_WANT_SEND);
    struct iovec iov[64];
    int n = iperf3_srv_peek(s, d, iov, 64);
    CHECK_EQ(n, 393216 / IPERF3_PAT);
    /* By reference: every piece is the same constant buffer. */
    for (int i = 1; i < n; i++)
        CHECK(iov[i].iov_base == iov[0].iov_base && iov[i].iov_len == IPERF3_PAT);
    const uint8_t *pat = iov[0].iov_base;
    iperf3_srv_sent(s, d, 100000, t); /* a partial write */
    n = iperf3_srv_peek(s, d, iov, 64);
    CHECK(n >= 1 && iov[0].iov_base == pat + 100000 % IPERF3_PAT);
    CHECK_EQ(drain(s, d, NULL, 0, t), 393216 - 100000);
    CHECK_EQ(iperf3_srv_status(s, d), 0);
    uint8_t end = IPERF3_TEST_END;
    feed(s, c, &end, 1, t + SEC);
    EXPECT(s, c, t, IPERF3_EXCHANGE_RESULTS);
    results_in(s, c, t + SEC);
    expect_results(s, c,
                   "{\"cpu_util_total\":0.000000,\"cpu_util_user\":0.000000,\"cpu_util_system\":"
                   "0.000000,\"sender_has_retransmits\":1,\"streams\":[{\"id\":1,\"bytes\":393216,"
                   "\"retransmits\":7,\"jitter\":0,\"errors\":0,\"packets\":0,\"start_time\":0,"
                   "\"end_time\":1.000000}]}",
                   t + SEC, __LINE__);
    iperf3_srv_closed(s, d, t + SEC);
    iperf3_srv_closed(s, c, t + SEC); /* closing after the results is a finished test */
    CHECK_EQ(iperf3_srv_last(s)->outcome, IPERF3_OK);
    CHECK_EQ(iperf3_srv_last(s)->bytes, 393216);
    iperf3_srv_destroy(s);
}

/* -R for a time, 4 streams, with -O 1: the first second is not counted. */
static void test_reverse_time_omit(void)
{
    struct iperf3_srv *s = server(NULL);
    uint64_t t = 0;
    int c = setup(s, "{\"tcp\":true,\"omit\":1,\"time\":2,\"parallel\":4,\"reverse\":true,"
                     "\"len\":1000}",
                  t);
    EXPECT(s, c, t, IPERF3_CREATE_STREAMS);
    int d[4];
    for (int i = 0; i < 4; i++)
        d[i] = join(s, t);
    EXPECT(s, c, t, IPERF3_TEST_START, IPERF3_TEST_RUNNING);
    CHECK_EQ(iperf3_srv_timeout(s), 1 * SEC); /* end of the omitted second */
    struct iovec iov[4];
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(iperf3_srv_peek(s, d[i], iov, 4), 4);
        iperf3_srv_sent(s, d[i], 5000, t + SEC / 2);
    }
    iperf3_srv_tick(s, t + SEC);
    for (int i = 0; i < 4; i++)
        iperf3_srv_sent(s, d[i], 3000 + (size_t)i, t + 2 * SEC);
    CHECK_EQ(iperf3_srv_timeout(s), (2 + 1 + IPERF3_SERVER_GRACE) * SEC);
    uint8_t end = IPERF3_TEST_END;
    feed(s, c, &end, 1, t + 3 * SEC);
    EXPECT(s, c, t, IPERF3_EXCHANGE_RESULTS);
    uint8_t zero[4] = {0};
    feed(s, c, zero, 4, t + 3 * SEC); /* an empty results text is skipped too */
    expect_results(
        s, c,
        "{\"cpu_util_total\":0.000000,\"cpu_util_user\":0.000000,\"cpu_util_system\":0.000000,"
        "\"sender_has_retransmits\":0,\"streams\":["
        "{\"id\":1,\"bytes\":3000,\"retransmits\":-1,\"jitter\":0,\"errors\":0,\"packets\":0,"
        "\"start_time\":0,\"end_time\":2.000000},"
        "{\"id\":3,\"bytes\":3001,\"retransmits\":-1,\"jitter\":0,\"errors\":0,\"packets\":0,"
        "\"start_time\":0,\"end_time\":2.000000},"
        "{\"id\":4,\"bytes\":3002,\"retransmits\":-1,\"jitter\":0,\"errors\":0,\"packets\":0,"
        "\"start_time\":0,\"end_time\":2.000000},"
        "{\"id\":5,\"bytes\":3003,\"retransmits\":-1,\"jitter\":0,\"errors\":0,\"packets\":0,"
        "\"start_time\":0,\"end_time\":2.000000}]}",
        t + 3 * SEC, __LINE__);
    iperf3_srv_destroy(s); /* with connections still open: no leak */
}

/* A refused test: SERVER_ERROR, the error number, errno 0; the control closes. */
static void refused(const char *params, int ierr, int line)
{
    struct iperf3_srv *s = server(NULL);
    int c = setup(s, params, 0);
    uint8_t want[9] = {0xfe, 0, 0, 0, (uint8_t)ierr, 0, 0, 0, 0};
    expect_ctrl(s, c, want, sizeof want, 0, line);
    CHECK_EQ(iperf3_srv_status(s, c), IPERF3_CLOSE);
    CHECK_EQ(iperf3_srv_last(s)->outcome, IPERF3_REFUSED);
    CHECK_EQ(iperf3_srv_last(s)->ierr, ierr);
    feed(s, c, "more", 4, 0); /* ignored */
    EXPECT(s, c, 0);
    iperf3_srv_closed(s, c, 0);
    CHECK(!iperf3_srv_busy(s));
    iperf3_srv_destroy(s);
}

static void test_refused(void)
{
    refused("{\"udp\":true,\"time\":10,\"parallel\":1,\"len\":1460}", IPERF3_IE_UNIMP, __LINE__);
    refused("{\"tcp\":true,\"bidirectional\":true,\"parallel\":1}", IPERF3_IE_UNIMP, __LINE__);
    refused("{\"sctp\":true}", IPERF3_IE_UNIMP, __LINE__);
    refused("{\"tcp\":true,\"parallel\":129}", IPERF3_IE_NUMSTREAMS, __LINE__);
    refused("{\"tcp\":true,\"parallel\":-1}", IPERF3_IE_NUMSTREAMS, __LINE__);
    refused("{\"tcp\":true,\"len\":2000000}", IPERF3_IE_BLOCKSIZE, __LINE__);
    refused("{\"tcp\":true,\"time\":86401}", IPERF3_IE_DURATION, __LINE__);
    refused("{\"tcp\":true,\"omit\":601}", IPERF3_IE_OMIT, __LINE__);
    refused("{\"tcp\":true,\"num\":-5}", IPERF3_IE_RECVPARAMS, __LINE__);
    refused("{\"tcp\":tru}", IPERF3_IE_RECVPARAMS, __LINE__);
    refused("[1,2,3]", IPERF3_IE_RECVPARAMS, __LINE__);
    refused("{\"tcp\":true} x", IPERF3_IE_RECVPARAMS, __LINE__);
    refused("\x01\x02garbage", IPERF3_IE_RECVPARAMS, __LINE__);
}

/* Parameter lengths: 0 and beyond the bound are refused at once, without waiting. */
static void test_bad_lengths(void)
{
    static const uint8_t lens[][4] = {{0, 0, 0, 0}, {0xff, 0xff, 0xff, 0xff}, {0, 0, 0x40, 1}};
    for (size_t i = 0; i < 3; i++) {
        struct iperf3_srv *s = server(NULL);
        int c = iperf3_srv_open(s, 0);
        feed(s, c, cookie, IPERF3_COOKIE_LEN, 0);
        EXPECT(s, c, 0, IPERF3_PARAM_EXCHANGE);
        feed(s, c, lens[i], 4, 0);
        EXPECT(s, c, 0, 0xfe, 0, 0, 0, IPERF3_IE_RECVPARAMS, 0, 0, 0, 0);
        CHECK_EQ(iperf3_srv_status(s, c), IPERF3_CLOSE);
        iperf3_srv_destroy(s);
    }
    /* The client's results: a huge length ends the test. */
    struct iperf3_srv *s = server(NULL);
    int c = setup(s, "{\"tcp\":true,\"parallel\":1}", 0);
    EXPECT(s, c, 0, IPERF3_CREATE_STREAMS);
    int d = join(s, 0);
    EXPECT(s, c, 0, IPERF3_TEST_START, IPERF3_TEST_RUNNING);
    uint8_t m[5] = {IPERF3_TEST_END, 0x7f, 0xff, 0xff, 0xff};
    feed(s, c, m, sizeof m, SEC);
    EXPECT(s, c, SEC, IPERF3_EXCHANGE_RESULTS);
    CHECK_EQ(iperf3_srv_status(s, c), IPERF3_CLOSE);
    CHECK_EQ(iperf3_srv_status(s, d), IPERF3_CLOSE);
    CHECK_EQ(iperf3_srv_last(s)->outcome, IPERF3_ABORTED);
    iperf3_srv_destroy(s);
}

static void test_hostile_streams(void)
{
    struct iperf3_srv *s = server(NULL);
    int c = setup(s, "{\"tcp\":true,\"time\":10,\"parallel\":2}", 0);
    EXPECT(s, c, 0, IPERF3_CREATE_STREAMS);
    /* A wrong cookie: ACCESS_DENIED on that connection, the test goes on. */
    int bad = iperf3_srv_open(s, 0);
    char wrong[IPERF3_COOKIE_LEN];
    memcpy(wrong, cookie, sizeof wrong);
    wrong[5] ^= 1;
    feed(s, bad, wrong, sizeof wrong, 0);
    EXPECT(s, bad, 0, 0xff);
    CHECK_EQ(iperf3_srv_status(s, bad), IPERF3_CLOSE);
    CHECK_EQ(iperf3_srv_stats(s)->bad_cookie, 1);
    iperf3_srv_closed(s, bad, 0);
    EXPECT(s, c, 0);
    /* Connections that never send their cookie fill the table; then opens fail. */
    int n = 0;
    while (iperf3_srv_open(s, 0) >= 0)
        n++;
    CHECK_EQ(n, IPERF3_SLOTS - 1);
    CHECK_EQ(iperf3_srv_open(s, 0), -ENOSPC);
    CHECK(iperf3_srv_stats(s)->full >= 1);
    /* The setup deadline ends it all. */
    CHECK_EQ(iperf3_srv_timeout(s), 10 * SEC);
    iperf3_srv_tick(s, 10 * SEC - 1);
    CHECK(iperf3_srv_busy(s));
    iperf3_srv_tick(s, 10 * SEC);
    CHECK_EQ(iperf3_srv_last(s)->outcome, IPERF3_TIMED_OUT);
    for (int h = 0; h < IPERF3_SLOTS; h++)
        CHECK(iperf3_srv_status(s, h) & IPERF3_CLOSE);
    for (int h = 0; h < IPERF3_SLOTS; h++)
        iperf3_srv_closed(s, h, 10 * SEC);
    CHECK(!iperf3_srv_busy(s));
    iperf3_srv_destroy(s);

    /* A control cookie that is no string; an unknown state byte while running. */
    s = server(NULL);
    c = iperf3_srv_open(s, 0);
    char nonul[IPERF3_COOKIE_LEN];
    memset(nonul, 'a', sizeof nonul);
    feed(s, c, nonul, sizeof nonul, 0);
    EXPECT(s, c, 0);
    CHECK_EQ(iperf3_srv_status(s, c), IPERF3_CLOSE);
    iperf3_srv_closed(s, c, 0);
    c = setup(s, "{\"tcp\":true,\"parallel\":1}", SEC);
    EXPECT(s, c, SEC, IPERF3_CREATE_STREAMS);
    int d = join(s, SEC);
    EXPECT(s, c, SEC, IPERF3_TEST_START, IPERF3_TEST_RUNNING);
    uint8_t junk = 77;
    feed(s, c, &junk, 1, SEC);
    CHECK_EQ(iperf3_srv_status(s, c), IPERF3_CLOSE);
    CHECK_EQ(iperf3_srv_status(s, d), IPERF3_CLOSE);
    CHECK_EQ(iperf3_srv_last(s)->outcome, IPERF3_ABORTED);
    CHECK_EQ(iperf3_srv_stats(s)->tests, 2);
    iperf3_srv_destroy(s);

    /* Idle: a client that stops talking mid-test; terminate: SERVER_TERMINATE. */
    s = server(NULL);
    c = setup(s, "{\"tcp\":true,\"parallel\":1,\"time\":0,\"num\":1000}", 0);
    EXPECT(s, c, 0, IPERF3_CREATE_STREAMS);
    d = join(s, 0);
    EXPECT(s, c, 0, IPERF3_TEST_START, IPERF3_TEST_RUNNING);
    CHECK_EQ(iperf3_srv_timeout(s), 30 * SEC);
    iperf3_srv_tick(s, 30 * SEC);
    CHECK_EQ(iperf3_srv_last(s)->outcome, IPERF3_TIMED_OUT);
    iperf3_srv_closed(s, d, 30 * SEC);
    iperf3_srv_closed(s, c, 30 * SEC);
    c = setup(s, "{\"tcp\":true,\"parallel\":1}", 40 * SEC);
    EXPECT(s, c, 40 * SEC, IPERF3_CREATE_STREAMS);
    iperf3_srv_terminate(s, 40 * SEC);
    EXPECT(s, c, 40 * SEC, IPERF3_SERVER_TERMINATE);
    CHECK_EQ(iperf3_srv_last(s)->outcome, IPERF3_TERMINATED);
    iperf3_srv_closed(s, c, 40 * SEC);
    int late = iperf3_srv_open(s, 40 * SEC);
    EXPECT(s, late, 40 * SEC, 0xff); /* no new test once terminating */
    iperf3_srv_destroy(s);
}

static void test_params_table(void)
{
    struct row {
        const char *text;
        int rc;
        int64_t time, parallel, len, num;
        bool reverse;
    } rows[] = {
        {"{}", 0, 0, 0, 0, 0, false},
        {" { \"time\" : 10 , \"parallel\":4 } ", 0, 10, 4, 0, 0, false},
        {"{\"num\":1e+06,\"len\":1.31072E5}", 0, 0, 0, 131072, 1000000, false},
        {"{\"time\":2.9}", 0, 2, 0, 0, 0, false},
        {"{\"num\":99999999999999999999999}", 0, 0, 0, 0, INT64_MAX, false},
        {"{\"reverse\":false}", 0, 0, 0, 0, 0, true}, /* presence, as iperf3 reads it */
        {"{\"title\":\"a\\\"b\\u00e9\",\"extra_data\":{\"x\":[1,{\"y\":null}]},\"time\":3}", 0, 3,
         0, 0, 0, false},
        {"{\"t\\u0069me\":5}", 0, 0, 0, 0, 0, false}, /* an escaped key is another key */
        {"", -EINVAL, 0, 0, 0, 0, false},
        {"{", -EINVAL, 0, 0, 0, 0, false},
        {"{\"time\"}", -EINVAL, 0, 0, 0, 0, false},
        {"{\"time\":}", -EINVAL, 0, 0, 0, 0, false},
        {"{\"time\":\"10\"}", -EINVAL, 0, 0, 0, 0, false},
        {"{\"time\":01}", -EINVAL, 0, 0, 0, 0, false},
        {"{\"time\":1.}", -EINVAL, 0, 0, 0, 0, false},
        {"{\"time\":-}", -EINVAL, 0, 0, 0, 0, false},
        {"{\"time\":1e}", -EINVAL, 0, 0, 0, 0, false},
        {"{\"a\":1,}", -EINVAL, 0, 0, 0, 0, false},
        {"{\"a\":\"\\x\"}", -EINVAL, 0, 0, 0, 0, false},
        {"{\"a\":\"\\u12\"}", -EINVAL, 0, 0, 0, 0, false},
        {"{\"a\":\"tab\there\"}", -EINVAL, 0, 0, 0, 0, false},
        {"{\"a\":[[[[[[[[[[1]]]]]]]]]]}", -EINVAL, 0, 0, 0, 0, false}, /* too deep */
        {"{\"a\":nul}", -EINVAL, 0, 0, 0, 0, false},
        {"{\"a\":1}{}", -EINVAL, 0, 0, 0, 0, false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct iperf3_params p;
        int rc = iperf3_params_parse((const uint8_t *)rows[i].text, strlen(rows[i].text), &p);
        if (rc != rows[i].rc)
            fprintf(stderr, "row %zu '%s': rc %d\n", i, rows[i].text, rc);
        CHECK_EQ(rc, rows[i].rc);
        if (rc || rows[i].rc)
            continue;
        CHECK_EQ(p.time, rows[i].time);
        CHECK_EQ(p.parallel, rows[i].parallel);
        CHECK_EQ(p.len, rows[i].len);
        CHECK_EQ(p.num, rows[i].num);
        CHECK_EQ(p.reverse, rows[i].reverse);
    }
    struct iperf3_params p;
    const char *v = "{\"client_version\":\"3.12\"}";
    CHECK_EQ(iperf3_params_parse((const uint8_t *)v, strlen(v), &p), 0);
    CHECK(!strcmp(p.client_version, "3.12"));
    /* Not NUL-ended: the parser stops at n. */
    CHECK_EQ(iperf3_params_parse((const uint8_t *)"{\"time\":12}", 10, &p), -EINVAL);
}

int main(void)
{
    test_forward();
    test_reverse_bytes();
    test_reverse_time_omit();
    test_refused();
    test_bad_lengths();
    test_hostile_streams();
    test_params_table();
    return check_done("test_iperf3_srv");
}
