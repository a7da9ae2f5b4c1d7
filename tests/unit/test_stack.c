/* Protocols attached to a station (include/jet/stack.h):
 *   - two protocols on one station: one jet_station_poll runs both hooks, each
 *     takes the frames of its own channel; a poll from inside a hook runs only the
 *     driver (no hook inside a hook);
 *   - one timeout for the station: the earliest of the protocols', and
 *     jet_station_wait sleeps no longer than that;
 *   - attach rules (twice, too many, no hooks), detach, lookup;
 *   - jet_station_close runs the close hooks last attached first, before any
 *     channel is closed; RBS left open on a closing station is freed by it
 *     (ASan finds a leak otherwise), every pool buffer back;
 *   - no process-global stack state: two stations in two threads at once, RBS on
 *     each, a blocking transfer between them checked byte by byte. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>

#include "check.h"
#include "jet/rbs.h"
#include "jet/stack.h"

#define FIXTURE_PREFIX "t-stack"
#include "chan_fixture.h"

/* ---- a toy protocol: takes the frames of one channel, has one timer ---- */

struct toy {
    struct jet_station *s;
    struct jet_chan *ch;
    uint64_t timer;    /* absolute ns, UINT64_MAX: none */
    int polls, frames; /* hook runs; frames taken */
    int nested_polls;  /* hook runs seen from a poll made inside the hook */
    bool poll_inside;  /* poll the station from inside the hook */
    int *close_log;    /* where the close hook writes its id */
    int *close_n;
    int id;
    uint32_t chans_at_close; /* channels the station still had when closed */
};

static void toy_poll(struct jet_station *s, void *state, uint64_t now)
{
    struct toy *t = state;
    CHECK(now > 0);
    t->polls++;
    struct jet_rx rx;
    while (jet_chan_pending(t->ch) && jet_chan_recv(t->ch, &rx, 0) == 0) {
        t->frames++;
        jet_chan_release(t->ch, &rx);
    }
    if (t->poll_inside) {
        int before = t->polls;
        jet_station_poll(s); /* the driver only: this hook must not run again */
        t->nested_polls += t->polls - before;
    }
}

static uint64_t toy_timeout(struct jet_station *s, void *state)
{
    (void)s;
    return ((struct toy *)state)->timer;
}

static void toy_close(struct jet_station *s, void *state)
{
    struct toy *t = state;
    struct jet_station_stats st;
    jet_station_stats(s, &st);
    t->chans_at_close = st.channels;
    t->close_log[(*t->close_n)++] = t->id;
    jet_chan_close(t->ch);
    t->ch = NULL;
}

static const struct jet_proto_ops toy_a = {"toy-a", toy_poll, toy_timeout, toy_close};
static const struct jet_proto_ops toy_b = {"toy-b", toy_poll, toy_timeout, toy_close};

static void test_two_protocols(void)
{
    int lan = mklan("two", NULL);
    struct jet_station *s = st_open(lan, 0), *peer = st_open(lan, 1);
    struct jet_chan *tx = ch_open(peer, 9, NULL);
    int log[4], n = 0;
    struct toy a = {.s = s,
                    .ch = ch_open(s, 10, NULL),
                    .timer = UINT64_MAX,
                    .close_log = log,
                    .close_n = &n,
                    .id = 1};
    struct toy b = {.s = s,
                    .ch = ch_open(s, 20, NULL),
                    .timer = UINT64_MAX,
                    .close_log = log,
                    .close_n = &n,
                    .id = 2};

    /* attach rules */
    CHECK(jet_station_proto(s, &toy_a) == NULL);
    CHECK_EQ(jet_station_timeout(s), -1);
    CHECK_EQ(jet_station_attach(s, &toy_a, &a), 0);
    CHECK_EQ(jet_station_attach(s, &toy_a, &a), -EEXIST);
    CHECK_EQ(jet_station_attach(s, &toy_b, &b), 0);
    CHECK(jet_station_proto(s, &toy_a) == &a);
    CHECK(jet_station_proto(s, &toy_b) == &b);
    static const struct jet_proto_ops no_close = {"x", toy_poll, NULL, NULL};
    CHECK_EQ(jet_station_attach(s, &no_close, &a), -EINVAL);
    static struct jet_proto_ops more[JET_STATION_PROTOS];
    int added = 0, rc = 0;
    for (int i = 0; i < JET_STATION_PROTOS && !rc; i++) {
        more[i] = (struct jet_proto_ops){"more", toy_poll, NULL, toy_close};
        rc = jet_station_attach(s, &more[i], &a);
        added += rc == 0;
    }
    CHECK_EQ(rc, -ENOSPC);
    CHECK_EQ(added, JET_STATION_PROTOS - 2);
    /* RBS on a station with no room left for it says so (not "no memory") */
    struct jet_rbs_listener *full_l = NULL;
    CHECK_EQ(jet_rbs_listen(s, 77, NULL, &full_l), -ENOSPC);
    CHECK(full_l == NULL);
    for (int i = 0; i < added; i++)
        CHECK_EQ(jet_station_detach(s, &more[i]), 0);
    CHECK_EQ(jet_station_detach(s, &more[0]), -ENOENT);
    CHECK(jet_station_proto(s, &toy_b) == &b); /* order and entries kept */

    /* one poll drives both */
    for (int i = 0; i < 5; i++) {
        CHECK(send_seq(tx, 0, 10, (uint64_t)i, 100) > 0);
        CHECK(send_seq(tx, 0, 20, (uint64_t)i, 100) > 0);
    }
    jet_station_poll(peer);
    a.polls = b.polls = 0;
    int got = 0;
    for (int i = 0; i < 1000 && got < 10; i++) {
        int r = jet_station_poll(s);
        CHECK(r >= 0);
        got += r;
    }
    CHECK_EQ(got, 10);
    CHECK_EQ(a.frames, 5);
    CHECK_EQ(b.frames, 5);
    CHECK_EQ(a.polls, b.polls); /* every poll ran both */
    CHECK(a.polls >= 1);

    /* no hook inside a hook */
    a.poll_inside = true;
    int pb = b.polls;
    jet_station_poll(s);
    CHECK_EQ(a.nested_polls, 0);
    CHECK_EQ(b.polls, pb + 1);
    a.poll_inside = false;

    /* one timeout: the earliest */
    uint64_t now = now_ns();
    a.timer = now + 5000000000ull;
    CHECK(jet_station_timeout(s) > 4000000000ll);
    b.timer = now + 30000000ull; /* 30 ms */
    int64_t t = jet_station_timeout(s);
    CHECK(t > 0 && t <= 30000000);
    uint64_t t0 = now_ns();
    jet_station_wait(s, 2000000000ll); /* wakes for b's timer, not after 2 s */
    uint64_t slept = now_ns() - t0;
    CHECK(slept < 1000000000ull);
    fprintf(stderr, "wait with a 30 ms protocol timer and a 2 s timeout: %.1f ms\n",
            (double)slept / 1e6);
    b.timer = now_ns() - 1; /* due: no sleep at all */
    CHECK_EQ(jet_station_timeout(s), 0);
    t0 = now_ns();
    CHECK_EQ(jet_station_wait(s, 2000000000ll), 0);
    CHECK(now_ns() - t0 < 100000000ull);

    /* close: last attached first, before the channels */
    jet_station_close(s);
    CHECK_EQ(n, 2);
    CHECK_EQ(log[0], 2);
    CHECK_EQ(log[1], 1);
    CHECK_EQ(b.chans_at_close, 2); /* both toy channels still open when b closed */
    CHECK_EQ(a.chans_at_close, 1);
    jet_station_close(peer);
    rmlan(lan);
}

/* ---- RBS left on a station that closes ---- */

static void test_rbs_closed_with_station(void)
{
    int lan = mklan("rbsclose", NULL);
    struct jet_station *a = st_open(lan, 0), *b = st_open(lan, 1);
    struct jet_rbs_listener *l;
    struct jet_rbs_conn *ca, *cb = NULL;
    REQUIRE(jet_rbs_listen(b, 77, NULL, &l) == 0);
    CHECK_EQ(jet_rbs_connect(a, 1, 77, NULL, &ca, 0), -EINPROGRESS);
    uint64_t t0 = now_ns();
    while (now_ns() - t0 < 5000000000ull && !(cb && jet_rbs_connected(ca) == 1)) {
        jet_rbs_poll(a);
        if (!cb)
            jet_rbs_accept(l, &cb, 0);
        jet_rbs_poll(b);
    }
    REQUIRE(cb);
    CHECK_EQ(jet_rbs_connected(ca), 1);
    CHECK(jet_rbs_timeout(a) >= 0); /* RBS's timers are the station's */
    CHECK_EQ(jet_rbs_send(ca, "hello", 5, 0), 5);
    jet_rbs_poll(a); /* a frame in flight, queued on b */
    /* no jet_rbs_station_fini: the stations' close hooks free RBS */
    jet_station_close(a);
    jet_station_close(b);
    rmlan(lan);
}

/* ---- two stations, two threads, RBS on each ---- */

enum { XFER = 8 << 20 };

static uint8_t pat(uint64_t o)
{
    return (uint8_t)(o * 131 + (o >> 9));
}

struct end {
    int lan;
    struct jet_station *s;
    int rc;         /* 0, or where it failed */
    uint64_t moved; /* bytes sent or received */
    bool bad;
};

static void *listener_thread(void *arg)
{
    struct end *e = arg;
    struct jet_rbs_listener *l;
    struct jet_rbs_conn *c;
    if (jet_rbs_listen(e->s, 80, NULL, &l) || jet_rbs_accept(l, &c, 10000000000ll)) {
        e->rc = 1;
        return NULL;
    }
    static uint8_t buf[65536];
    while (e->moved < XFER) {
        ssize_t n = jet_rbs_recv(c, buf, sizeof buf, 10000000000ll);
        if (n <= 0) {
            e->rc = 2;
            break;
        }
        for (ssize_t i = 0; i < n; i++)
            e->bad |= buf[i] != pat(e->moved + (uint64_t)i);
        e->moved += (uint64_t)n;
    }
    if (!e->rc && jet_rbs_recv(c, buf, sizeof buf, 10000000000ll) != 0)
        e->rc = 3; /* end of stream */
    if (!e->rc && jet_rbs_close(c, 10000000000ll))
        e->rc = 4;
    else if (e->rc)
        jet_rbs_abort(c);
    jet_rbs_listener_close(l);
    jet_rbs_station_fini(e->s, 3000000000ll);
    return NULL;
}

static void *connector_thread(void *arg)
{
    struct end *e = arg;
    struct jet_rbs_conn *c;
    if (jet_rbs_connect(e->s, 1, 80, NULL, &c, 10000000000ll)) {
        e->rc = 1;
        if (c)
            jet_rbs_abort(c);
        return NULL;
    }
    static uint8_t buf[65536];
    while (e->moved < XFER) {
        size_t n = sizeof buf < XFER - e->moved ? sizeof buf : (size_t)(XFER - e->moved);
        for (size_t i = 0; i < n; i++)
            buf[i] = pat(e->moved + i);
        ssize_t w = jet_rbs_send(c, buf, n, 10000000000ll);
        if (w <= 0) {
            e->rc = 2;
            break;
        }
        e->moved += (uint64_t)w;
    }
    if (!e->rc && jet_rbs_close(c, 10000000000ll))
        e->rc = 3;
    else if (e->rc)
        jet_rbs_abort(c);
    /* the listener's last ACK may need answering: linger until the close is done */
    jet_rbs_station_fini(e->s, 3000000000ll);
    return NULL;
}

static void test_threads(void)
{
    int lan = mklan("threads", NULL);
    struct end rx = {.lan = lan, .s = st_open(lan, 1)}, tx = {.lan = lan, .s = st_open(lan, 0)};
    pthread_t tr, tt;
    REQUIRE(pthread_create(&tr, NULL, listener_thread, &rx) == 0);
    REQUIRE(pthread_create(&tt, NULL, connector_thread, &tx) == 0);
    pthread_join(tt, NULL);
    pthread_join(tr, NULL);
    CHECK_EQ(rx.rc, 0);
    CHECK_EQ(tx.rc, 0);
    CHECK_EQ(rx.moved, XFER);
    CHECK_EQ(tx.moved, XFER);
    CHECK(!rx.bad);
    fprintf(stderr, "two threads, one station each: %u bytes across, rc %d/%d\n", XFER, tx.rc,
            rx.rc);
    jet_station_close(rx.s);
    jet_station_close(tx.s);
    rmlan(lan);
}

int main(void)
{
    main_pid = getpid();
    atexit(cleanup_lans);
    test_two_protocols();
    test_rbs_closed_with_station();
    test_threads();
    return check_done("test_stack");
}
