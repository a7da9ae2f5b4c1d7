/* Channel transmit (include/jet/chan.h) over the emulated LAN: rate
 * reservation and its admission (refused past the LAN's rate, given back at
 * close, at station close and when the holder is killed), and strict
 * transmit priority.  LANs and children of fork() as in test_chan.c. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "jet/chan.h"
#include "jet/lan.h"

#include "chan_fixture.h"
#include "chan_drive.h"

/* ---- 1. reservation admission ---- */

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

/* ---- 2. transmit priority ---- */

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

int main(void)
{
    uint64_t t0 = chan_main_begin();
    test_reserve();
    test_priority();
    return chan_main_end("test_chan_tx", t0);
}
