/* Publication for jet stat (src/chan/statpub.c) at 65,536 channels.
 *
 *   station 0, channel 1 --a few frames--> station 1, 65,536 channels
 *   statpub_read(LAN, 1) <- station 1's file, driven by its polls
 *
 * 1. The work of one poll is bounded: no poll looks at more than
 *    STATPUB_SLICE channel structs or grows the file by more than
 *    STATPUB_GROW_ENTS entries (counted by statpub_work(): timings on a
 *    shared 2-vCPU machine are too noisy to assert; the longest poll is
 *    printed), and a pass takes many polls.  After a complete pass the
 *    snapshot has every channel, with its id, policy and counters.
 * 2. Half the channels closed in the middle of a pass, some of their ids
 *    opened again on channel structs the walk has not reached yet, a new
 *    channel on one it has passed: the pass that completes next has no
 *    closed channel and no id twice; the one after it has exactly the open
 *    channels.
 * 3. A reader in another process copies snapshots while the station polls
 *    and closes and opens channels: every copy is consistent (no id twice,
 *    as many channels as the header says, counters as sent).
 * 4. A station with three channels: its passes end at the last one.
 *
 * The file as hostile input: tests/unit/test_statpub_hostile.c.  Other links
 * than the LAN: tests/unit/test_statpub_links.c.
 *
 * LANs are named t-statpub-PID-TAG; the stats files of this run's stations
 * are removed at exit if a REQUIRE stopped the run before the stations
 * closed. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "statpub_fixture.h"

enum { NCH = 65536, NSENT = 100 };

static int by_id(const void *a, const void *b)
{
    uint32_t x = ((const struct statpub_chan *)a)->st.id,
             y = ((const struct statpub_chan *)b)->st.id;
    return x < y ? -1 : x > y;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Whether the snapshot's ids, sorted, are exactly want[0..n) (sorted). */
static bool same_ids(struct statpub_snap *sn, const uint32_t *want, uint32_t n)
{
    qsort(sn->chan, sn->nchan, sizeof *sn->chan, by_id);
    if (sn->nchan != n) {
        fprintf(stderr, "snapshot: %u channels, want %u\n", sn->nchan, n);
        return false;
    }
    for (uint32_t i = 0; i < n; i++)
        if (sn->chan[i].st.id != want[i]) {
            fprintf(stderr, "snapshot: channel %u at %u, want %u\n", sn->chan[i].st.id, i, want[i]);
            return false;
        }
    return true;
}

/* Sorted ids of the channels open in ch[] (NULL: closed) and extra[]. */
static uint32_t open_ids(struct jet_chan **ch, uint32_t n, struct jet_chan **extra, uint32_t ne,
                         uint32_t *out)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        if (ch[i])
            out[k++] = jet_chan_id(ch[i]);
    for (uint32_t i = 0; i < ne; i++)
        if (extra[i])
            out[k++] = jet_chan_id(extra[i]);
    qsort(out, k, sizeof *out, cmp_u32);
    return k;
}

static uint32_t chan_id(uint32_t i)
{
    return 100 + 3 * i;
}

/* Channel i of the ones frames were sent to, or -1. */
static int sent_index(uint32_t i)
{
    return i % 655 == 1 && i / 655 < NSENT ? (int)(i / 655) : -1;
}

static uint32_t frames_for(int k)
{
    return (uint32_t)k % 4 + 1;
}

/* ---- 3. a reader in another process ---- */

/* The child: copies snapshots for about a second; exit 0 when every copy
 * was consistent and there were a few. */
static int reader_child(void)
{
    struct statpub_snap sn = {0};
    int good = 0;
    uint64_t until = now_ns() + 1200000000ull, last = 0;
    while (now_ns() < until) {
        struct jet_err err = {0};
        int rc = lan_read(lan_of_test, 1, &sn, &err);
        if (rc) {
            fprintf(stderr, "reader: %s\n", jet_err_str(&err, rc));
            return 1;
        }
        if (sn.publishes == last)
            continue;
        last = sn.publishes;
        qsort(sn.chan, sn.nchan, sizeof *sn.chan, by_id);
        if (sn.st.channels != sn.nchan || sn.nchan < NCH / 2 - 64) {
            fprintf(stderr, "reader: %u channels\n", sn.nchan);
            return 1;
        }
        for (uint32_t i = 0; i < sn.nchan; i++) {
            const struct jet_chan_stats *c = &sn.chan[i].st;
            if (i && c->id == sn.chan[i - 1].st.id) {
                fprintf(stderr, "reader: channel %u twice\n", c->id);
                return 1;
            }
            uint32_t k = (c->id - 100) / 3;
            int s = (c->id - 100) % 3 == 0 && k < NCH ? sent_index(k) : -1;
            if (s >= 0 && c->frames_in != frames_for(s)) {
                fprintf(stderr, "reader: channel %u: %llu frames in\n", c->id,
                        (unsigned long long)c->frames_in);
                return 1;
            }
        }
        good++;
    }
    statpub_snap_free(&sn);
    fprintf(stderr, "reader: %d consistent snapshots\n", good);
    return good >= 3 ? 0 : 1;
}

/* The parent: polls, and closes and opens again a few channels frames were
 * not sent to, now and then, while the child reads. */
static void churn(struct jet_station *b, struct jet_chan **ch)
{
    uint64_t x = 0x9e3779b97f4a7c15ull, until = now_ns() + 1500000000ull;
    for (uint64_t n = 0; now_ns() < until; n++) {
        jet_station_poll(b);
        if (n % 4096)
            continue;
        uint32_t pick[8];
        for (int j = 0; j < 8; j++) {
            uint32_t i;
            do
                i = (uint32_t)(rng_next(&x) % NCH);
            while (!ch[i] || sent_index(i) >= 0);
            pick[j] = i;
            jet_chan_close(ch[i]);
            ch[i] = NULL;
        }
        for (int j = 8; j-- > 0;) /* in reverse: other structs than they had */
            ch[pick[j]] = ch_open(b, chan_id(pick[j]), NULL);
    }
}

/* ---- the test ---- */

static void test_many(void)
{
    int lan = lan_of_test = mklan("sp", NULL);
    struct jet_station *a = st_open(lan, 0), *b = st_open(lan, 1);
    struct jet_chan *ca = ch_open(a, 1, NULL);
    struct jet_chan **ch = calloc(NCH, sizeof *ch);
    uint32_t *want = calloc(NCH + 64, sizeof *want);
    REQUIRE(ch && want);
    struct jet_chan_policy odd = {.drop = JET_DROP_OLDEST, .queue_frames = 77, .prio = 3};
    for (uint32_t i = 0; i < NCH; i++)
        ch[i] = ch_open(b, chan_id(i), i == 5 ? &odd : NULL);

    /* 1. a few frames to some channels, handed over; three left queued on channel 7 */
    uint32_t total = 0;
    for (int k = 0; k < NSENT; k++) {
        uint32_t i = (uint32_t)k * 655 + 1;
        for (uint32_t f = 0; f < frames_for(k); f++) {
            CHECK_EQ(send_seq(ca, 1, chan_id(i), f, FRAME), FRAME);
            total++;
            struct jet_rx rx;
            int rc = jet_chan_recv(ch[i], &rx, 1000000000);
            CHECK_EQ(rc, 0);
            if (rc == 0)
                jet_chan_release(ch[i], &rx);
        }
    }
    for (int f = 0; f < 3; f++)
        CHECK_EQ(send_seq(ca, 1, chan_id(7), (uint64_t)f, FRAME), FRAME);
    total += 3;
    for (int t = 0; t < 1000 && jet_chan_pending(ch[7]) < 3; t++)
        jet_station_wait(b, 1000000), jet_station_poll(b);
    CHECK_EQ(jet_chan_pending(ch[7]), 3);

    /* two more passes: one began after the last counter changed */
    uint64_t p0 = work(b).passes, polls0 = work(b).polls;
    max_poll_ns = 0;
    drive_to(b, p0 + 2);
    struct statpub_work w = work(b);
    fprintf(stderr,
            "65536 channels: %llu passes, %llu polls with publication work; most per poll: "
            "%u channel structs, %u entries grown; longest poll %.1f us (not asserted)\n",
            (unsigned long long)w.passes, (unsigned long long)w.polls, w.slice_max, w.grow_max,
            max_poll_ns / 1e3);
    CHECK(w.slice_max > 0);
    CHECK(w.slice_max <= STATPUB_SLICE);
    CHECK(w.grow_max <= STATPUB_GROW_ENTS);
    CHECK(w.capacity >= NCH);
    CHECK(w.polls - polls0 >= NCH / STATPUB_SLICE); /* a whole pass, in slices */

    struct statpub_snap sn = {0};
    snap_read(1, &sn);
    CHECK(sn.alive);
    CHECK_EQ(sn.publishes, w.passes);
    CHECK(sn.begin_ns > 0 && sn.begin_ns <= sn.publish_ns);
    CHECK_EQ(sn.st.channels, NCH);
    CHECK_EQ(sn.st.frames_in, total);
    CHECK_EQ(sn.st.dropped_no_chan, 0);
    uint32_t n = open_ids(ch, NCH, NULL, 0, want);
    CHECK(same_ids(&sn, want, n));
    bool counters = true;
    for (uint32_t j = 0; j < sn.nchan && sn.nchan == NCH; j++) {
        const struct statpub_chan *c = &sn.chan[j];
        uint32_t i = (c->st.id - 100) / 3;
        int k = sent_index(i);
        uint64_t fin = k >= 0 ? frames_for(k) : 0;
        counters &= c->st.frames_in == fin && c->st.bytes_in == fin * FRAME &&
                    c->st.queued == (i == 7 ? 3 : 0) &&
                    c->st.queued_bytes == (i == 7 ? 3 * FRAME : 0) && c->st.dropped_policy == 0;
        counters &= i == 5
                        ? c->p.drop == JET_DROP_OLDEST && c->p.queue_frames == 77 && c->p.prio == 3
                        : c->p.drop == JET_DROP_NEWEST && c->p.queue_frames == 256;
        if (!counters) {
            fprintf(stderr, "channel %u: frames_in %llu queued %u\n", c->st.id,
                    (unsigned long long)c->st.frames_in, c->st.queued);
            break;
        }
    }
    CHECK(counters);

    /* 2. closes and opens in the middle of a pass */
    drive_into_pass(b, NCH / 2);
    w = work(b);
    uint64_t p1 = w.passes; /* the pass under way completes as p1 + 1 */
    uint32_t cur = w.cursor, closed = 0;
    for (uint32_t i = 0; i < NCH; i += 2)
        if (sent_index(i) < 0) {
            jet_chan_close(ch[i]);
            ch[i] = NULL;
            closed++;
        }
    /* ids closed behind the walk, open again on the structs freed last
     * (LIFO): those ahead of it.  Without statpub_forget() they would be
     * shown twice. */
    for (uint32_t i = 0; i < 40; i += 2)
        if (!ch[i]) {
            ch[i] = ch_open(b, chan_id(i), NULL);
            closed--;
        }
    /* a new channel on a struct behind the walk: shown from the next pass on */
    uint32_t behind = cur / 2 | 1;
    while (!ch[behind] || sent_index(behind) >= 0)
        behind += 2;
    jet_chan_close(ch[behind]);
    ch[behind] = NULL;
    closed++;
    struct jet_chan *fresh = ch_open(b, 5000000, NULL);
    w = work(b);
    CHECK(w.running && w.passes == p1 && w.cursor == cur); /* all of it mid-pass */

    drive_to(b, p1 + 1);
    snap_read(1, &sn);
    CHECK_EQ(sn.publishes, p1 + 1);
    n = open_ids(ch, NCH, &fresh, 1, want);
    qsort(sn.chan, sn.nchan, sizeof *sn.chan, by_id);
    /* the open channels, but maybe not the fresh one */
    bool fresh_shown = sn.nchan > 0 && sn.chan[sn.nchan - 1].st.id == 5000000;
    if (!fresh_shown) {
        n = open_ids(ch, NCH, NULL, 0, want);
    }
    CHECK(same_ids(&sn, want, n));
    CHECK_EQ(sn.st.channels, sn.nchan);
    fprintf(stderr,
            "closed %u channels mid-pass, net (walk at %u): next pass shows %u channels, the one "
            "opened behind the walk %s\n",
            closed, cur, sn.nchan, fresh_shown ? "too" : "not yet");

    drive_to(b, p1 + 2);
    snap_read(1, &sn);
    n = open_ids(ch, NCH, &fresh, 1, want);
    CHECK(same_ids(&sn, want, n));

    /* 3. a reader in another process while channels come and go */
    fflush(stderr);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0)
        _exit(reader_child());
    churn(b, ch);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    w = work(b);
    CHECK(w.slice_max <= STATPUB_SLICE);
    drive_to(b, w.passes + 2);
    snap_read(1, &sn);
    n = open_ids(ch, NCH, &fresh, 1, want);
    CHECK(same_ids(&sn, want, n));

    /* 4. three channels: passes end at the last */
    struct jet_station *c = st_open(lan, 2);
    struct jet_chan *few[3] = {ch_open(c, 11, NULL), ch_open(c, 12, NULL), ch_open(c, 13, NULL)};
    jet_station_poll(c); /* creates the file */
    drive_to(c, 2);
    snap_read(2, &sn);
    uint32_t three[3] = {11, 12, 13};
    CHECK(same_ids(&sn, three, 3));
    w = work(c);
    CHECK(w.capacity < 1024);
    jet_chan_close(few[1]);
    few[1] = ch_open(c, 14, NULL);
    drive_to(c, 4);
    snap_read(2, &sn);
    uint32_t three2[3] = {11, 13, 14};
    CHECK(same_ids(&sn, three2, 3));
    for (int i = 0; i < 3; i++)
        jet_chan_close(few[i]);
    drive_to(c, 6);
    snap_read(2, &sn);
    CHECK_EQ(sn.nchan, 0);
    CHECK_EQ(sn.st.channels, 0);

    statpub_snap_free(&sn);
    jet_station_close(c);
    jet_station_close(b);
    jet_station_close(a);
    free(ch);
    free(want);
    struct jet_err err = {0};
    CHECK_EQ(lan_read(lan, 1, &sn, &err), -ENOENT); /* removed at close */
    rmlan(lan);
}

int main(void)
{
    statpub_main_begin();
    test_many();
    return check_done("test_statpub");
}
