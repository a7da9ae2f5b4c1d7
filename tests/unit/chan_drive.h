/* Driving stations in the channel tests (test_chan*.c): take the next frame of
 * a channel while a sending station of the same process keeps flushing, run
 * the driver until the link is dry, and the start and end of main().
 * Include after chan_fixture.h. */
#ifndef JET_TEST_CHAN_DRIVE_H
#define JET_TEST_CHAN_DRIVE_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "jet/chan.h"

/* Takes the next frame of c (a channel of station self), keeping `pump` (a
 * sending station of this process, or NULL) flushing its transmit queue. */
static inline int recv_pump(struct jet_station *self, struct jet_chan *c, struct jet_station *pump,
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
static inline void settle(struct jet_station *s)
{
    for (int i = 0; i < 10000 && jet_station_poll(s) > 0; i++)
        ;
}

/* First thing in main(): the LANs of this run are removed at exit if a
 * REQUIRE stops it (children of fork() report through their exit status and
 * never run that: they _exit), and a write to a pipe whose reader is gone
 * fails instead of killing the test.  Returns the start time for
 * chan_main_end(). */
static inline uint64_t chan_main_begin(void)
{
    main_pid = getpid();
    atexit(cleanup_lans);
    signal(SIGPIPE, SIG_IGN);
    return now_ns();
}

/* Last thing in main(): prints the run time and the checks; the exit code. */
static inline int chan_main_end(const char *name, uint64_t t0)
{
    fprintf(stderr, "%s: %.0f ms\n", name, (double)(now_ns() - t0) / 1e6);
    return check_done(name);
}

#endif
