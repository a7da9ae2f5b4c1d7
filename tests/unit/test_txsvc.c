/* The station's transmit service (src/chan/txsvc.c) against a scripted link:
 * strict priority order, the fast path and its cached room, bucket shaping,
 * admission sums, back-pressure when full, flush while the link has no
 * room, close with frames queued. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "chan/txsvc.h"
#include "check.h"

enum { NBUF = 512, FRAME = 64 };

/* A link that records what it is handed.  room: what tx_room says (the
 * link takes that many frames, then says 0); no_room_op: the op is absent. */
struct fake {
    struct jet_link base;
    int room;
    int room_calls, flushes, waits, wait_gives;
    int commit_rc;
    bool used[NBUF];
    uint8_t mem[NBUF][FRAME];
    uint32_t nsent, aborted, lent;
    uint32_t sent_buf[NBUF];
    uint8_t sent_cls[NBUF];
    int64_t shared, shared_cap; /* the medium's sum of every end's reservations */
};

static struct fake *F(struct jet_link *l)
{
    return (struct fake *)l;
}

static int f_rx_burst(struct jet_link *l, struct jet_frame *f, unsigned max)
{
    (void)l, (void)f, (void)max;
    return 0;
}
static void f_rx_release(struct jet_link *l, struct jet_frame *f, unsigned n)
{
    (void)l, (void)f, (void)n;
}
static int f_tx_alloc(struct jet_link *l, struct jet_frame *f)
{
    struct fake *k = F(l);
    for (uint32_t i = 0; i < NBUF; i++)
        if (!k->used[i]) {
            k->used[i] = true;
            k->lent++;
            *f = (struct jet_frame){.data = k->mem[i], .cap = FRAME, .buf = i};
            return 0;
        }
    return -ENOBUFS;
}
static void give(struct fake *k, struct jet_frame *f)
{
    CHECK(f->buf < NBUF && k->used[f->buf]);
    if (f->buf < NBUF && k->used[f->buf]) {
        k->used[f->buf] = false;
        k->lent--;
    }
}
static void f_tx_abort(struct jet_link *l, struct jet_frame *f)
{
    give(F(l), f);
    F(l)->aborted++;
}
static int f_tx_commit(struct jet_link *l, struct jet_frame *f)
{
    struct fake *k = F(l);
    give(k, f);
    if (k->commit_rc)
        return jet_err_set(&l->err, k->commit_rc, "scripted refusal");
    k->sent_buf[k->nsent] = f->buf;
    k->sent_cls[k->nsent++] = f->cls;
    if (k->room > 0 && k->room != INT32_MAX)
        k->room--;
    return 0;
}
static int f_tx_flush(struct jet_link *l)
{
    F(l)->flushes++;
    return 0;
}
static int f_tx_room(struct jet_link *l)
{
    F(l)->room_calls++;
    return F(l)->room;
}
static int f_wait(struct jet_link *l, int64_t ns)
{
    (void)ns;
    struct fake *k = F(l);
    if (k->waits++ == 0)
        k->room = k->wait_gives;
    return 0;
}
static int f_reserve(struct jet_link *l, int64_t d)
{
    struct fake *k = F(l);
    if (d > 0 && k->shared + d > k->shared_cap)
        return jet_err_set(&l->err, -EBUSY, "cannot reserve %lld bit/s: %lld of the medium's "
                           "%lld bit/s are reserved already", (long long)d, (long long)k->shared,
                           (long long)k->shared_cap);
    k->shared += d;
    return 0;
}
static void f_close(struct jet_link *l)
{
    (void)l;
}

static const struct jet_link_ops full_ops = {
    .kind = "fake", .rx_burst = f_rx_burst, .rx_release = f_rx_release,
    .tx_alloc = f_tx_alloc, .tx_abort = f_tx_abort, .tx_commit = f_tx_commit,
    .tx_flush = f_tx_flush, .tx_room = f_tx_room, .wait = f_wait, .close = f_close};
static const struct jet_link_ops bare_ops = {
    .kind = "bare", .rx_burst = f_rx_burst, .rx_release = f_rx_release,
    .tx_alloc = f_tx_alloc, .tx_abort = f_tx_abort, .tx_commit = f_tx_commit, .close = f_close};
static const struct jet_link_ops shared_ops = {
    .kind = "shared", .rx_burst = f_rx_burst, .rx_release = f_rx_release,
    .tx_alloc = f_tx_alloc, .tx_abort = f_tx_abort, .tx_commit = f_tx_commit,
    .reserve = f_reserve, .close = f_close};

static struct txsvc svc;

static void setup(struct fake *k, const struct jet_link_ops *ops, uint64_t rate, int room)
{
    memset(k, 0, sizeof *k);
    k->base.ops = ops;
    k->base.caps.rate_bps = rate;
    snprintf(k->base.name, sizeof k->base.name, "fake:%s", ops->kind);
    k->room = room;
    txsvc_init(&svc, &k->base);
}

/* Allocates and commits one frame of class cls; returns the commit's code
 * (the alloc's when that fails). */
static int send1(struct fake *k, uint8_t cls)
{
    struct jet_frame f;
    int rc = txsvc_alloc(&svc, &k->base, &f, cls);
    if (rc)
        return rc;
    f.len = 32;
    f.cls = cls;
    return txsvc_commit(&svc, &k->base, &f);
}

/* ---- strict priority: frames queued while the link has no room leave
 * highest class first, FIFO within a class ---- */
static void test_priority_order(void)
{
    static const struct {
        const char *name, *in, *out; /* classes committed, classes sent */
    } rows[] = {
        {"one class", "0000", "0000"},
        {"rising", "01234567", "76543210"},
        {"mixed", "0370753", "7753300"},
        {"urgent last", "00000007", "70000000"},
        {"ties keep order", "5151", "5511"},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        struct fake k;
        setup(&k, &full_ops, 1000000, 0);
        size_t n = strlen(rows[r].in);
        uint32_t buf_of[16][16], nb[8] = {0}; /* buffers per class, in commit order */
        for (size_t i = 0; i < n; i++) {
            uint8_t c = (uint8_t)(rows[r].in[i] - '0');
            CHECK_EQ(send1(&k, c), 0);
            buf_of[c][nb[c]++] = (uint32_t)i; /* the fake lends buffers 0, 1, ... in order */
        }
        CHECK_EQ(svc.n, n);
        CHECK_EQ(k.nsent, 0);
        k.room = INT32_MAX;
        CHECK_EQ(txsvc_flush(&svc, &k.base), 0);
        CHECK_EQ(k.nsent, n);
        uint32_t taken[8] = {0};
        bool ok = true;
        for (size_t i = 0; i < n && i < k.nsent; i++) {
            uint8_t c = (uint8_t)(rows[r].out[i] - '0');
            ok &= k.sent_cls[i] == c && k.sent_buf[i] == buf_of[c][taken[c]++];
        }
        if (!ok)
            fprintf(stderr, "priority row '%s' sent out of order\n", rows[r].name);
        CHECK(ok);
        CHECK_EQ(k.lent, 0);
    }
}

/* ---- fast path: straight to the link while nothing waits; the room it
 * promised is asked for once and counted down ---- */
static void test_fast_path(void)
{
    struct fake k;
    setup(&k, &full_ops, 0, 4);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(send1(&k, (uint8_t)(i & 7)), 0);
    CHECK_EQ(k.nsent, 4);
    CHECK_EQ(k.room_calls, 1); /* asked once for 4 frames */
    CHECK_EQ(svc.n, 0);
    CHECK_EQ(send1(&k, 2), 0); /* room used up: asked again, none: queued */
    CHECK_EQ(k.room_calls, 2);
    CHECK_EQ(svc.n, 1);
    CHECK_EQ(k.nsent, 4);
    CHECK_EQ(send1(&k, 2), 0); /* behind a queued frame: queued too, never ahead of it */
    CHECK_EQ(svc.n, 2);
    k.room = 1;
    CHECK_EQ(txsvc_flush(&svc, &k.base), 1);
    CHECK_EQ(k.nsent, 5);
    k.room = 100;
    CHECK_EQ(txsvc_flush(&svc, &k.base), 0);
    CHECK_EQ(k.nsent, 6);

    /* a link without tx_room takes every frame at once: never queued */
    setup(&k, &bare_ops, 0, 0);
    for (int i = 0; i < 300; i++)
        CHECK_EQ(send1(&k, 7), 0);
    CHECK_EQ(k.nsent, 300);
    CHECK_EQ(svc.n, 0);
    CHECK_EQ(svc.queued_hwm, 0);
}

/* ---- full: alloc reports -EAGAIN once the frames queued reach the places
 * of the frame's class (limit 256 on a rated link, 16 without a rate; the
 * last eighth kept for the classes above 0); a commit beyond 256 queued
 * drops its frame ---- */
static void test_full(void)
{
    static const struct {
        uint64_t rate;
        uint8_t fill_cls;       /* class that fills the service */
        uint32_t places;        /* frames it gets in */
        uint32_t above;         /* then class 7 gets this many more */
    } rows[] = {
        {1000000000, 0, 224, 32}, {1000000000, 3, 237, 19}, {1000000000, 7, 256, 0},
        {0, 0, 14, 2},            {0, 7, 16, 0},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        struct fake k;
        setup(&k, &full_ops, rows[r].rate, 0);
        uint32_t n = 0;
        while (n < 300 && send1(&k, rows[r].fill_cls) == 0)
            n++;
        if (n != rows[r].places)
            fprintf(stderr, "full row %zu: class %u got %u places\n", r, rows[r].fill_cls, n);
        CHECK_EQ(n, rows[r].places);
        CHECK_EQ(svc.n, n);
        int flushes = k.flushes;
        CHECK_EQ(send1(&k, rows[r].fill_cls), -EAGAIN);
        CHECK(k.flushes > flushes); /* it tried to make room first */
        uint32_t m = 0;
        while (m < 300 && send1(&k, 7) == 0)
            m++;
        CHECK_EQ(m, rows[r].above);
        CHECK_EQ(k.lent, n + m);
        k.room = 1; /* one frame's room opens: the head of the highest class goes */
        CHECK_EQ(txsvc_flush(&svc, &k.base), n + m - 1);
        CHECK_EQ(k.nsent, 1);
        CHECK_EQ(k.sent_cls[0], m ? 7 : rows[r].fill_cls);
        txsvc_close(&svc, &k.base);
        CHECK_EQ(k.lent, 0);
    }
    /* lent beyond the limit, committed all at once: 256 queue, the rest are dropped */
    struct fake k;
    setup(&k, &full_ops, 0, 0);
    static struct jet_frame fs[TXSVC_CAP + 3];
    for (int i = 0; i < TXSVC_CAP + 3; i++)
        REQUIRE(f_tx_alloc(&k.base, &fs[i]) == 0);
    int ok = 0, nobufs = 0;
    for (int i = 0; i < TXSVC_CAP + 3; i++) {
        int rc = txsvc_commit(&svc, &k.base, &fs[i]);
        ok += rc == 0;
        nobufs += rc == -ENOBUFS;
    }
    CHECK_EQ(ok, TXSVC_CAP);
    CHECK_EQ(nobufs, 3);
    CHECK_EQ(k.aborted, 3);
    CHECK_EQ(svc.queued_hwm, TXSVC_CAP);
    txsvc_close(&svc, &k.base);
    CHECK_EQ(k.lent, 0);
}

/* ---- flush with link room 0: nothing moves, the link's own flush runs;
 * a refusal of a queued frame is counted ---- */
static void test_flush_no_room(void)
{
    struct fake k;
    setup(&k, &full_ops, 1000, 0);
    for (int i = 0; i < 5; i++)
        CHECK_EQ(send1(&k, (uint8_t)i), 0);
    for (int i = 0; i < 3; i++) {
        int fl = k.flushes;
        CHECK_EQ(txsvc_flush(&svc, &k.base), 5);
        CHECK_EQ(k.flushes, fl + 1);
    }
    CHECK_EQ(k.nsent, 0);
    k.room = 2;
    CHECK_EQ(txsvc_flush(&svc, &k.base), 3);
    CHECK(k.nsent == 2 && k.sent_cls[0] == 4 && k.sent_cls[1] == 3);
    k.room = INT32_MAX;
    k.commit_rc = -EHOSTUNREACH; /* the destination left while they waited */
    CHECK_EQ(txsvc_flush(&svc, &k.base), 0);
    CHECK_EQ(svc.refused, 3);
    CHECK_EQ(k.lent, 0);
}

/* ---- close with frames queued: given back to the link, counted ---- */
static void test_close(void)
{
    static const struct {
        const char *name;
        const struct jet_link_ops *ops;
        int wait_gives; /* room the link finds while close waits */
        uint32_t sent, dropped;
    } rows[] = {
        {"room never opens", &full_ops, 0, 0, 5},
        {"room for two", &full_ops, 2, 2, 3},
        {"nothing queued", &full_ops, 0, 0, 0},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        struct fake k;
        setup(&k, rows[r].ops, 0, 0);
        k.wait_gives = rows[r].wait_gives;
        if (rows[r].sent + rows[r].dropped)
            for (int i = 0; i < 5; i++)
                CHECK_EQ(send1(&k, (uint8_t)(i % 3)), 0);
        txsvc_close(&svc, &k.base);
        if (k.nsent != rows[r].sent || svc.dropped_close != rows[r].dropped)
            fprintf(stderr, "close row '%s': sent %u dropped %llu\n", rows[r].name, k.nsent,
                    (unsigned long long)svc.dropped_close);
        CHECK_EQ(k.nsent, rows[r].sent);
        CHECK_EQ(svc.dropped_close, rows[r].dropped);
        CHECK_EQ(k.aborted, rows[r].dropped);
        CHECK_EQ(k.lent, 0);
        CHECK_EQ(svc.n, 0);
    }
}

/* ---- token bucket: rate 8000 bit/s (1000 B/s), depth 100 B ---- */
static void test_bucket(void)
{
    static const struct {
        uint64_t at_ns; /* when */
        uint32_t pay;   /* bytes sent then, if ready */
        bool ready;
    } rows[] = {
        {0, 100, true},          /* a full bucket: one 100-byte frame */
        {0, 100, true},          /* empty, not in debt: one more (its debt: 800 bits) */
        {0, 0, false},           /* in debt */
        {50000000, 0, false},    /* 50 ms: 400 bits back, still -400 */
        {100000000, 50, true},   /* 100 ms: 0 again */
        {150000000, 0, true},    /* -400 + 400 */
        {10000000000, 0, true},  /* 10 s later: full, capped at the depth */
        {10000000000, 100, true},
        {10000000000, 1, true},  /* only the depth was kept: at 0, one more frame */
        {10000000000, 0, false}, /* and now in debt */
    };
    struct txsvc_bucket b;
    txsvc_bucket_init(&b, 100, 0);
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        bool ready = txsvc_bucket_ready(&b, 8000, 100, rows[r].at_ns);
        if (ready != rows[r].ready)
            fprintf(stderr, "bucket row %zu: ready %d, tokens %.0f\n", r, ready, b.tokens);
        CHECK_EQ(ready, rows[r].ready);
        if (ready)
            txsvc_bucket_pay(&b, rows[r].pay);
        if (r == 7)
            CHECK(b.tokens == 0); /* 800 bits at most, then one 100-byte frame */
    }
    CHECK_EQ(txsvc_class(3, false), 3);
    CHECK_EQ(txsvc_class(0, true), 7);
}

/* ---- admission: the station's own sum against the link's rate, and a
 * shared medium's sum through jet_link_reserve ---- */
static void test_admission(void)
{
    static const struct {
        const char *name;
        const struct jet_link_ops *ops;
        uint64_t rate;
        int64_t others, cap; /* shared medium: what other stations hold, its rate */
        int64_t steps[6];    /* reserve (negative: give back); 0 ends */
        int rc[6];
    } rows[] = {
        {"own sum", &bare_ops, 1000, 0, 0, {600, 600, 400, 1, -400, 400}, {0, -EBUSY, 0, -EBUSY, 0, 0}},
        {"no rate: anything", &bare_ops, 0, 0, 0, {600, 600, 1000000, -1000000}, {0, 0, 0, 0}},
        {"shared medium", &shared_ops, 1000, 500, 1000, {600, 500, 1, -500, 400}, {-EBUSY, 0, -EBUSY, 0, 0}},
        {"give back more than held", &bare_ops, 1000, 0, 0, {300, -999, 1000}, {0, 0, 0}},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        struct fake k;
        setup(&k, rows[r].ops, rows[r].rate, 0);
        k.shared = rows[r].others;
        k.shared_cap = rows[r].cap;
        int64_t held = 0;
        for (int i = 0; i < 6 && rows[r].steps[i]; i++) {
            struct jet_err err = {0};
            int rc = txsvc_reserve(&svc, &k.base, rows[r].steps[i], &err);
            if (rc != rows[r].rc[i])
                fprintf(stderr, "admission row '%s' step %d: %d (%s)\n", rows[r].name, i, rc,
                        err.msg);
            CHECK_EQ(rc, rows[r].rc[i]);
            if (rc)
                CHECK(strstr(err.msg, "reserve") != NULL);
            else
                held += rows[r].steps[i];
            if (held < 0)
                held = 0;
            CHECK_EQ(svc.reserved_bps, held);
            if (rows[r].ops == &shared_ops)
                CHECK_EQ(k.shared, rows[r].others + held); /* a refusal left nothing behind */
        }
    }
}

int main(void)
{
    test_priority_order();
    test_fast_path();
    test_full();
    test_flush_no_room();
    test_close();
    test_bucket();
    test_admission();
    return check_done("test_txsvc");
}
