/* Fixture shared by the stats publication tests test_statpub.c (the writer
 * at 65,536 channels) and test_statpub_hostile.c (the file as hostile
 * input): LANs named t-statpub-PID-TAG, the stats files of this run's
 * stations removed at exit if a REQUIRE stopped the run before the stations
 * closed, polling a station until its publication has got somewhere, and
 * reading a station's file.  Include instead of chan_fixture.h. */
#ifndef JET_TEST_STATPUB_FIXTURE_H
#define JET_TEST_STATPUB_FIXTURE_H

#ifdef JET_TEST_CHAN_FIXTURE_H
#error "include statpub_fixture.h before chan_fixture.h: it names the LANs"
#endif

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define FIXTURE_PREFIX "t-statpub"
#include "chan/chan_impl.h"
#include "check.h"
#include "jet/chan.h"
#include "jet/lan.h"

#include "chan_fixture.h"

enum { FRAME = 100 }; /* payload bytes of the frames the tests send */

static inline void remove_stat_files(void)
{
    if (getpid() != main_pid)
        return;
    for (int i = 0; i < nlans; i++)
        for (int st = 0; st < 4; st++) {
            char path[64 + JET_LAN_NAME_MAX];
            snprintf(path, sizeof path, STATPUB_DIR "/" STATPUB_PREFIX "%.*s.%d",
                     (int)JET_LAN_NAME_MAX, lans[i], st);
            unlink(path); /* ours: the LAN name carries our pid */
        }
}

static uint32_t max_poll_ns; /* informal: the longest poll seen while driving */

static inline void give_up(const char *what)
{
    fprintf(stderr, "gave up after 20 s: %s\n", what);
    exit(1);
}

static inline struct statpub_work work(const struct jet_station *s)
{
    struct statpub_work w = {0};
    REQUIRE(statpub_work(s, &w) == 0);
    return w;
}

/* Polls s until `passes` passes have completed (a pass begins at most every
 * 100 ms). */
static inline void drive_to(struct jet_station *s, uint64_t passes)
{
    uint64_t until = now_ns() + 20000000000ull;
    struct statpub_work w = {0};
    while (statpub_work(s, &w) != 0 || w.passes < passes) {
        if (now_ns() >= until)
            give_up("polling for a pass to complete");
        uint64_t t0 = now_ns();
        jet_station_poll(s);
        uint64_t d = now_ns() - t0;
        if (d > max_poll_ns)
            max_poll_ns = (uint32_t)d;
    }
}

/* Polls s until a pass is under way with its walk at `cursor` or beyond. */
static inline void drive_into_pass(struct jet_station *s, uint32_t cursor)
{
    uint64_t until = now_ns() + 20000000000ull;
    struct statpub_work w = {0};
    while (statpub_work(s, &w) != 0 || !w.running || w.cursor < cursor) {
        if (now_ns() >= until)
            give_up("polling for a pass to reach the middle");
        jet_station_poll(s);
    }
}

static int lan_of_test;

/* statpub_read of station `station`'s file on LAN lans[lan]. */
static inline int lan_read(int lan, uint32_t station, struct statpub_snap *sn, struct jet_err *err)
{
    char link[80], id[16];
    snprintf(link, sizeof link, "lan:%s", lans[lan]);
    snprintf(id, sizeof id, "%u", station);
    return statpub_read(link, id, sn, err);
}

static inline void snap_read(uint32_t station, struct statpub_snap *sn)
{
    struct jet_err err = {0};
    int rc = lan_read(lan_of_test, station, sn, &err);
    if (rc)
        fprintf(stderr, "statpub_read: %s\n", jet_err_str(&err, rc));
    REQUIRE(rc == 0);
}

/* xorshift64: a seeded stream of pseudo-random numbers (x not 0). */
static inline uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* First thing in main(): LANs and stats files removed at exit (by the main
 * process only). */
static inline void statpub_main_begin(void)
{
    main_pid = getpid();
    atexit(cleanup_lans);
    atexit(remove_stat_files);
}

#endif
