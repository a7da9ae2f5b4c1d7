/* The channel table (src/chan/station.c): ids below 2^17 by direct index,
 * the rest in an open-addressing hash with backward-shift deletion.  Random
 * opens and closes over both kinds checked against a model; ids at the
 * boundary and at the top of the range; then 65536 channels on one station
 * (once with scattered ids, hashed, once with ids 1..65536, direct), one
 * frame to each, half closed at random: the rest are still found and frames
 * to the closed ones count as dropped_no_chan.  Timings are printed, not
 * asserted. */
#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "jet/chan.h"
#include "jet/lan.h"

#include "chan_fixture.h"


/* Runs the driver until it finds nothing more on the link. */
static void settle(struct jet_station *s)
{
    for (int i = 0; i < 10000 && jet_station_poll(s) > 0; i++)
        ;
}

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* ---- 5. many channels ---- */

static void count_chan(struct jet_chan *c, void *arg)
{
    (void)c;
    (*(uint32_t *)arg)++;
}

/* Random opens and closes over a small id space against a model: the
 * table's growth and backward-shift deletion keep every lookup right. */
static void table_model(struct jet_station *s)
{
    enum { IDS = 3000, OPS = 30000 };
    static struct jet_chan *open_[IDS];
    memset(open_, 0, sizeof open_);
    uint64_t x = 88172645463325252ull;
    bool ok = true;
    for (int op = 0; op < OPS; op++) {
        uint32_t k = (uint32_t)(rng_next(&x) % IDS);
        uint32_t id = k * 64 + 1; /* ids sharing low bits: long probe runs */
        struct jet_chan *c = NULL;
        int rc = jet_chan_open(s, id, NULL, &c);
        if (open_[k]) {
            ok &= rc == -EADDRINUSE;
            if (rc == 0)
                jet_chan_close(c);
            if (rng_next(&x) & 1) {
                jet_chan_close(open_[k]);
                open_[k] = NULL;
            }
        } else {
            ok &= rc == 0;
            if (rc == 0)
                open_[k] = c;
        }
    }
    uint32_t want = 0;
    for (int k = 0; k < IDS; k++)
        if (open_[k]) {
            want++;
            jet_chan_close(open_[k]);
        }
    CHECK(ok);
    struct jet_station_stats ss;
    jet_station_stats(s, &ss);
    CHECK_EQ(ss.channels, 0);
    CHECK(want > 0);
}

/* Ids on both sides of the direct/hashed boundary, and the largest: each
 * open one gets its frames, none another's; closing one leaves the rest. */
static void test_edges(void)
{
    static const uint32_t ids[] = {1,       2,          (1u << 17) - 1, 1u << 17, (1u << 17) + 1,
                                   1u << 20, UINT32_MAX - 1, UINT32_MAX};
    enum { N = sizeof ids / sizeof ids[0] };
    int lan = mklan("edges", NULL);
    struct jet_station *a = st_open(lan, 0), *b = st_open(lan, 1);
    struct jet_chan *ca = ch_open(a, 1, NULL), *ch[N];
    for (int i = 0; i < N; i++)
        ch[i] = ch_open(b, ids[i], NULL);
    for (int round = 0; round < 2; round++) {
        /* round 1: every other one closed first */
        if (round == 1)
            for (int i = 0; i < N; i += 2) {
                jet_chan_close(ch[i]);
                ch[i] = NULL;
            }
        struct jet_station_stats s0, s1;
        jet_station_stats(b, &s0);
        for (int i = 0; i < N; i++)
            CHECK_EQ(send_seq(ca, 1, ids[i], (uint64_t)i, 8), 8);
        settle(b);
        jet_station_stats(b, &s1);
        CHECK_EQ(s1.dropped_no_chan - s0.dropped_no_chan, round ? N / 2 : 0);
        for (int i = 0; i < N; i++) {
            if (!ch[i])
                continue;
            struct jet_rx rx;
            uint64_t seq = UINT64_MAX;
            CHECK_EQ(jet_chan_recv(ch[i], &rx, 0), 0);
            CHECK(intact(&rx, &seq) && seq == (uint64_t)i);
            jet_chan_release(ch[i], &rx);
            CHECK_EQ(jet_chan_pending(ch[i]), 0);
        }
    }
    uint32_t each = 0;
    jet_station_each_chan(b, count_chan, &each);
    CHECK_EQ(each, N / 2);
    jet_station_close(b);
    jet_station_close(a);
    rmlan(lan);
}

/* dense: ids 1..NCH (the direct index); else scattered odd ids (hashed). */
static void test_many(bool dense)
{
    enum { NCH = 65536, BATCH = 100 };
    int lan = mklan(dense ? "many-dense" : "many", NULL);
    struct jet_station *a = st_open(lan, 0), *b = st_open(lan, 1);
    if (!dense)
        table_model(b);
    struct jet_chan *ca = ch_open(a, 1, NULL);
    uint32_t *ids = calloc(NCH, sizeof *ids);
    struct jet_chan **ch = calloc(NCH, sizeof *ch);
    REQUIRE(ids && ch);
    uint64_t t0 = now_ns();
    bool opened = true;
    for (uint32_t i = 0; i < NCH; i++) {
        ids[i] = dense ? i + 1 : (uint32_t)(i * 2654435761u) | 1;
        opened &= jet_chan_open(b, ids[i], NULL, &ch[i]) == 0;
    }
    REQUIRE(opened);
    uint64_t t1 = now_ns();
    struct jet_station_stats ss;
    jet_station_stats(b, &ss);
    CHECK_EQ(ss.channels, NCH);

    /* one frame to each, each on its own channel */
    bool sent = true, right = true;
    int got = 0;
    for (uint32_t i = 0; i < NCH; i += BATCH) {
        uint32_t end = i + BATCH < NCH ? i + BATCH : NCH;
        for (uint32_t j = i; j < end; j++)
            sent &= send_seq(ca, 1, ids[j], j, 8) == 8;
        for (uint32_t j = i; j < end; j++) {
            struct jet_rx rx;
            if (jet_chan_recv(ch[j], &rx, 1000000000) != 0) {
                right = false;
                continue;
            }
            uint64_t s;
            right &= intact(&rx, &s) && s == j && rx.src_chan == 1;
            jet_chan_release(ch[j], &rx);
            got++;
        }
    }
    uint64_t t2 = now_ns();
    CHECK(sent);
    CHECK(right);
    CHECK_EQ(got, NCH);
    bool one_each = true;
    for (uint32_t i = 0; i < NCH; i++) {
        struct jet_chan_stats cs;
        jet_chan_stats(ch[i], &cs);
        one_each &= cs.frames_in == 1 && cs.queued == 0 && cs.id == ids[i];
    }
    CHECK(one_each);
    jet_station_stats(b, &ss);
    CHECK_EQ(ss.dropped_no_chan, 0);

    /* close half, chosen at random */
    uint32_t *perm = calloc(NCH, sizeof *perm);
    REQUIRE(perm);
    for (uint32_t i = 0; i < NCH; i++)
        perm[i] = i;
    uint64_t x = 0x2545f4914f6cdd1dull;
    for (uint32_t i = NCH - 1; i > 0; i--) {
        uint32_t j = (uint32_t)(rng_next(&x) % (i + 1));
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (uint32_t i = 0; i < NCH / 2; i++) {
        jet_chan_close(ch[perm[i]]);
        ch[perm[i]] = NULL;
    }
    uint64_t t3 = now_ns();
    jet_station_stats(b, &ss);
    CHECK_EQ(ss.channels, NCH / 2);
    uint32_t each = 0;
    jet_station_each_chan(b, count_chan, &each);
    CHECK_EQ(each, NCH / 2);
    /* the rest are still found */
    bool found = true;
    for (uint32_t i = 0; i < NCH; i++) {
        if (!ch[i])
            continue;
        struct jet_chan *c = NULL;
        int rc = jet_chan_open(b, ids[i], NULL, &c);
        found &= rc == -EADDRINUSE;
        if (rc == 0)
            jet_chan_close(c);
    }
    CHECK(found);
    /* a frame to every id again: the open ones get theirs, the closed count as no channel */
    uint64_t no_chan0 = ss.dropped_no_chan;
    got = 0;
    right = true;
    for (uint32_t i = 0; i < NCH; i += BATCH) {
        uint32_t end = i + BATCH < NCH ? i + BATCH : NCH;
        for (uint32_t j = i; j < end; j++)
            send_seq(ca, 1, ids[j], j + NCH, 8);
        settle(b);
        for (uint32_t j = i; j < end; j++) {
            if (!ch[j])
                continue;
            struct jet_rx rx;
            if (jet_chan_recv(ch[j], &rx, 1000000000) != 0) {
                right = false;
                continue;
            }
            uint64_t s;
            right &= intact(&rx, &s) && s == j + NCH;
            jet_chan_release(ch[j], &rx);
            got++;
        }
    }
    uint64_t t4 = now_ns();
    CHECK(right);
    CHECK_EQ(got, NCH / 2);
    jet_station_stats(b, &ss);
    CHECK_EQ(ss.dropped_no_chan - no_chan0, NCH / 2);
    /* a closed id can be opened again */
    bool reopened = true;
    for (uint32_t i = 0; i < 1000; i++) {
        uint32_t k = perm[i];
        reopened &= jet_chan_open(b, ids[k], NULL, &ch[k]) == 0;
    }
    CHECK(reopened);
    jet_station_stats(b, &ss);
    CHECK_EQ(ss.channels, NCH / 2 + 1000);
    fprintf(stderr,
            "many (%s ids): open %d channels %.1f ms, %d frames %.1f ms, close half %.1f ms, "
            "%d frames %.1f ms\n",
            dense ? "dense" : "scattered", NCH, (double)(t1 - t0) / 1e6, NCH, (double)(t2 - t1) / 1e6, (double)(t3 - t2) / 1e6,
            NCH, (double)(t4 - t3) / 1e6);
    uint64_t t5 = now_ns();
    jet_station_close(b); /* closes the remaining channels */
    fprintf(stderr, "many: station close with %d channels open %.1f ms\n", NCH / 2 + 1000,
            (double)(now_ns() - t5) / 1e6);
    jet_station_close(a);
    free(perm);
    free(ids);
    free(ch);
    rmlan(lan);
}

int main(void)
{
    main_pid = getpid();
    atexit(cleanup_lans);
    test_edges();
    test_many(false);
    test_many(true);
    return check_done("test_chan_table");
}
