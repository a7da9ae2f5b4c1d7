/* Publication for jet stat on links other than the LAN (src/chan/statpub.c,
 * names in statpub.h).
 *
 * 1. Names: a link name's part of the file name (percent-encoded, never a
 *    LAN's; a LAN keeps its name), ids ADDR-PID and nK-PID, hostile ids.
 * 2. A link of the test's own (struct jet_link with its own ops table):
 *      udp:127.0.0.1:PORT, address 5, with the stats op:
 *        station a, channels 40, 41   -> /dev/shm/jet-stat.udp%3A127%2E0%2E0%2E1%3APORT.5-PID
 *      tap:jtfPID, no address, no stats op:
 *        stations b0, b1 (channel 50) -> /dev/shm/jet-stat.tap%3AjtfPID.nK-PID (two files)
 *    Each publishes; statpub_list and statpub_read find them, with the
 *    link's counters or the flag that it keeps none; a's file at another
 *    pid's or another link's name is refused; `jet stat LINK --json` (the
 *    jet tool of the same build, when there) shows them; closing removes them.
 * 3. A loop link (two ends in this process, when this build has one): end 0
 *    sends 20 frames to a channel of end 1, whose file says so (queued there),
 *    and so does `jet stat loop:NAME --json`. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define FIXTURE_PREFIX "t-statpubl"
#include "chan/chan_impl.h"
#include "check.h"
#include "jet/chan.h"

#include "chan_fixture.h"
#include "file_bytes.h"

enum { FRAME = 100 };

static struct statpub_work work(const struct jet_station *s)
{
    struct statpub_work w = {0};
    REQUIRE(statpub_work(s, &w) == 0);
    return w;
}

static struct statpub_work publish(struct jet_station *s, uint64_t after)
{
    struct statpub_work w = {0};
    uint64_t until = now_ns() + 5000000000ull;
    while (now_ns() < until) {
        jet_station_poll(s);
        if (statpub_work(s, &w) == 0 && (w.error || w.passes > after))
            break;
    }
    return w;
}

/* A minimal link of the test's own: nothing to receive, no buffer to lend;
 * with or without the stats op and an address.  Enough for a station to
 * open channels and publish. */
struct fake_link {
    struct jet_link l;
    struct jet_link_stats st;
};
static int fake_rx_burst(struct jet_link *l, struct jet_frame *f, unsigned max)
{
    (void)l, (void)f, (void)max;
    return 0;
}
static void fake_rx_release(struct jet_link *l, struct jet_frame *f, unsigned n)
{
    (void)l, (void)f, (void)n;
}
static int fake_tx_alloc(struct jet_link *l, struct jet_frame *f)
{
    (void)l, (void)f;
    return -ENOBUFS;
}
static void fake_tx_abort(struct jet_link *l, struct jet_frame *f)
{
    (void)l, (void)f;
}
static int fake_tx_commit(struct jet_link *l, struct jet_frame *f)
{
    (void)l, (void)f;
    return -EINVAL;
}
static int fake_stats(struct jet_link *l, struct jet_link_stats *out)
{
    *out = ((struct fake_link *)l)->st;
    return 0;
}
static void fake_close(struct jet_link *l)
{
    free(l);
}
static const struct jet_link_ops fake_ops = {
    .kind = "fake",
    .rx_burst = fake_rx_burst,
    .rx_release = fake_rx_release,
    .tx_alloc = fake_tx_alloc,
    .tx_abort = fake_tx_abort,
    .tx_commit = fake_tx_commit,
    .stats = fake_stats,
    .close = fake_close,
};
static const struct jet_link_ops fake_ops_nostats = {
    .kind = "fake",
    .rx_burst = fake_rx_burst,
    .rx_release = fake_rx_release,
    .tx_alloc = fake_tx_alloc,
    .tx_abort = fake_tx_abort,
    .tx_commit = fake_tx_commit,
    .close = fake_close,
};

static struct jet_station *fake_station(const char *name, uint32_t addr, bool stats)
{
    struct fake_link *f = calloc(1, sizeof *f);
    REQUIRE(f);
    f->l.ops = stats ? &fake_ops : &fake_ops_nostats;
    f->l.caps = (struct jet_link_caps){
        .addr = addr, .mtu = 1500, .max_frame = 1600, .burst = 32, .buffers = 16, .native = true};
    snprintf(f->l.name, sizeof f->l.name, "%s", name);
    f->st = (struct jet_link_stats){.tx_frames = 11,
                                    .tx_bytes = 12000,
                                    .rx_frames = 13,
                                    .rx_bytes = 14000,
                                    .tx_dropped = 15,
                                    .rx_dropped = 16,
                                    .faults = 17};
    struct jet_station *s;
    struct jet_err err = {0};
    REQUIRE(jet_station_wrap(&f->l, &s, &err) == 0);
    return s;
}

struct ids {
    char id[8][STATPUB_ID_MAX];
    int n;
};
static void collect(const char *id, void *arg)
{
    struct ids *x = arg;
    if (x->n < 8)
        snprintf(x->id[x->n++], STATPUB_ID_MAX, "%s", id);
}

/* `jet stat link --json` ($BUILD/jet, run from the checkout): 0 and its
 * output in out, or -1. */
static int run_jet_stat(const char *link, char *out, size_t cap)
{
    const char *b = getenv("BUILD");
    char jet[256], cmd[512];
    snprintf(jet, sizeof jet, "%s/jet", b ? b : "build");
    if (access(jet, X_OK) != 0)
        return -1;
    snprintf(cmd, sizeof cmd, "'%s' stat '%s' --json 2>&1", jet, link);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    return pclose(p) == 0 ? 0 : -1;
}

static void test_other_links(void)
{
    char a_name[64], b_name[64], part[STATPUB_PART_MAX + 1], path[STATPUB_PATH_MAX];
    /* with an address and counters; the name has ':' and '.' to encode */
    snprintf(a_name, sizeof a_name, "udp:127.0.0.1:%d", 1024 + (int)getpid() % 60000);
    /* no address, no counters: two stations of one process on one link */
    snprintf(b_name, sizeof b_name, "tap:jtf%d", (int)getpid() % 100000);
    bool lan = true;
    struct jet_err err = {0};
    REQUIRE(statpub_link_part(part, sizeof part, a_name, &lan, &err) == 0);
    CHECK(!lan && strstr(part, "udp%3A127%2E0%2E0%2E1%3A") == part && !strchr(part, '.') &&
          !strchr(part, ':'));
    REQUIRE(statpub_link_part(part, sizeof part, "fault:loss=0.01,seed=7/lan:x@2", &lan, &err) ==
            0);
    CHECK(!strcmp(part, "fault%3Aloss%3D0%2E01%2Cseed%3D7%2Flan%3Ax%402"));
    REQUIRE(statpub_link_part(part, sizeof part, "lan:x.y", &lan, &err) == 0);
    CHECK(lan && !strcmp(part, "x.y"));
    char longname[STATPUB_LINK_MAX];
    memset(longname, '/', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    CHECK_EQ(statpub_link_part(part, sizeof part, longname, &lan, &err), -EINVAL);
    uint32_t ad;
    int32_t pd;
    CHECK(statpub_id_parse("7", &ad, &pd) == 0 && ad == 7 && pd == 0);
    CHECK(statpub_id_parse("7-123", &ad, &pd) == 0 && ad == 7 && pd == 123);
    CHECK(statpub_id_parse("n2-123", &ad, &pd) == 0 && ad == JET_LINK_NO_ADDR && pd == 123);
    static const char *const bad_ids[] = {
        "",     "-1",    "07",           "7-",     "7-0",         "n-5",
        "x7-5", "7-5-6", "4294967295-5", "7.tmp5", "99999999999", "7-99999999999"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++)
        if (statpub_id_parse(bad_ids[i], &ad, &pd) != -EINVAL) {
            fprintf(stderr, "id '%s' accepted\n", bad_ids[i]);
            CHECK(0);
        }

    struct jet_station *a = fake_station(a_name, 5, true);
    struct jet_station *b0 = fake_station(b_name, JET_LINK_NO_ADDR, false);
    struct jet_station *b1 = fake_station(b_name, JET_LINK_NO_ADDR, false);
    struct jet_chan_policy pol = {.prio = 3, .queue_frames = 32};
    struct jet_chan *ca[2] = {ch_open(a, 40, &pol), ch_open(a, 41, NULL)};
    struct jet_chan *cb = ch_open(b1, 50, NULL);
    CHECK(publish(a, 0).passes >= 1 && publish(b0, 0).passes >= 1 && publish(b1, 0).passes >= 1);
    CHECK_EQ(work(a).error, 0);

    /* a: its file at udp%3A...%3APORT.5-PID, owner only */
    char id[STATPUB_ID_MAX];
    snprintf(id, sizeof id, "5-%d", (int)getpid());
    REQUIRE(statpub_path(path, sizeof path, a_name, id, &err) == 0);
    struct stat sb;
    CHECK(lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 0777) == 0600);
    struct ids x = {0};
    CHECK_EQ(statpub_list(a_name, collect, &x, &err), 1);
    CHECK(x.n == 1 && !strcmp(x.id[0], id));
    struct statpub_snap sn = {0};
    int rc = statpub_read(a_name, id, &sn, &err);
    if (rc)
        fprintf(stderr, "statpub_read %s %s: %s\n", a_name, id, jet_err_str(&err, rc));
    CHECK_EQ(rc, 0);
    CHECK(sn.alive && sn.addr == 5 && sn.pid == getpid() && !strcmp(sn.link, a_name));
    CHECK(!(sn.flags & STATPUB_F_NO_LINK_STATS) && sn.link_st.tx_frames == 11 &&
          sn.link_st.rx_bytes == 14000 && sn.link_st.faults == 17);
    CHECK(sn.nchan == 2 && sn.chan[0].st.id == 40 && sn.chan[0].p.prio == 3 &&
          sn.chan[1].st.id == 41);
    /* a's file asked for under another link name or another pid: refused */
    CHECK_EQ(statpub_read(b_name, id, &sn, &err), -ENOENT);
    char other[STATPUB_PATH_MAX], id2[STATPUB_ID_MAX];
    snprintf(id2, sizeof id2, "5-%d", (int)getpid() + 1);
    REQUIRE(statpub_path(other, sizeof other, a_name, id2, &err) == 0);
    size_t len;
    uint8_t *img = slurp(path, &len);
    spit(other, img, len, 0600);
    CHECK_EQ(statpub_read(a_name, id2, &sn, &err), -EPROTO);
    CHECK(strstr(err.msg, "its name pid") != NULL);
    unlink(other);
    REQUIRE(statpub_path(other, sizeof other, "udp:127.0.0.2:9", id, &err) == 0);
    spit(other, img, len, 0600);
    CHECK_EQ(statpub_read("udp:127.0.0.2:9", id, &sn, &err), -EPROTO);
    CHECK(strstr(err.msg, "it is for link") != NULL);
    unlink(other);
    free(img);

    /* b: two publishers without an address, no link counters */
    x = (struct ids){0};
    CHECK_EQ(statpub_list(b_name, collect, &x, &err), 2);
    uint32_t chans = 0;
    for (int i = 0; i < x.n; i++) {
        CHECK(x.id[i][0] == 'n');
        CHECK_EQ(statpub_read(b_name, x.id[i], &sn, &err), 0);
        CHECK(sn.addr == JET_LINK_NO_ADDR && (sn.flags & STATPUB_F_NO_LINK_STATS) &&
              sn.link_st.tx_frames == 0 && sn.pid == getpid());
        chans += sn.nchan;
    }
    CHECK_EQ(chans, 1);

    /* the jet tool reads them too */
    static char out[65536];
    if (run_jet_stat(a_name, out, sizeof out) == 0) {
        CHECK(strstr(out, "\"station\":5") && strstr(out, "\"link_counters\":true") &&
              strstr(out, "\"tx_frames\":11") && strstr(out, "\"id\":41"));
        CHECK(run_jet_stat(b_name, out, sizeof out) == 0 && strstr(out, "\"publishers\":2") &&
              strstr(out, "\"link_counters\":false") && strstr(out, "\"id\":50"));
    } else {
        fprintf(stderr, "cannot run $BUILD/jet stat (build the jet tool first: make all)\n");
        CHECK(0); /* run from the checkout by tests/run.sh, after make all: it must be there */
    }

    jet_chan_close(ca[0]);
    jet_chan_close(ca[1]);
    jet_chan_close(cb);
    jet_station_close(a);
    jet_station_close(b0);
    jet_station_close(b1);
    x = (struct ids){0};
    CHECK_EQ(statpub_list(a_name, collect, &x, &err), 0);
    CHECK_EQ(statpub_list(b_name, collect, &x, &err), 0);
    statpub_snap_free(&sn);
}

/* Two ends of a loop link (one process): frames go from end 0 to a channel
 * of end 1, and end 1's file says so.  Skipped when this build has no loop
 * link. */
static void test_loop(void)
{
    char link[64];
    snprintf(link, sizeof link, "loop:t-statpub-%d", (int)getpid());
    struct jet_station *s0, *s1;
    struct jet_err err = {0};
    int rc = jet_station_open(link, 0, &s0, &err);
    if (rc)
        fprintf(stderr, "open %s: %s\n", link, jet_err_str(&err, rc));
    REQUIRE(rc == 0);
    REQUIRE(jet_station_open(link, 1, &s1, &err) == 0);
    struct jet_chan *tx = ch_open(s0, 1, NULL), *rx = ch_open(s1, 10, NULL);
    uint8_t buf[FRAME];
    uint32_t sent = 0;
    for (uint64_t until = now_ns() + 5000000000ull; sent < 20 && now_ns() < until;) {
        fill(buf, sizeof buf, sent);
        struct iovec iov = {buf, sizeof buf};
        if (jet_chan_send(tx, 1, 10, &iov, 1) >= 0)
            sent++;
        jet_station_poll(s0);
        jet_station_poll(s1);
    }
    CHECK_EQ(sent, 20);
    uint64_t after = work(s1).passes;
    for (uint64_t until = now_ns() + 5000000000ull; now_ns() < until;) {
        jet_station_poll(s0);
        jet_station_poll(s1);
        struct jet_chan_stats cs;
        jet_chan_stats(rx, &cs);
        if (cs.frames_in + cs.queued == 20 && work(s1).passes > after + 1)
            break;
    }
    char id[STATPUB_ID_MAX];
    snprintf(id, sizeof id, "1-%d", (int)getpid());
    struct statpub_snap sn = {0};
    rc = statpub_read(link, id, &sn, &err);
    if (rc)
        fprintf(stderr, "statpub_read %s %s: %s\n", link, id, jet_err_str(&err, rc));
    CHECK_EQ(rc, 0);
    CHECK(sn.addr == 1 && sn.nchan == 1 && sn.chan[0].st.id == 10 &&
          sn.chan[0].st.frames_in + sn.chan[0].st.queued == 20 && sn.st.frames_in == 20);
    struct jet_link_stats ls;
    if (jet_link_stats(jet_station_link(s1), &ls) == 0)
        CHECK(!(sn.flags & STATPUB_F_NO_LINK_STATS) && sn.link_st.rx_frames == 20);
    else
        CHECK(sn.flags & STATPUB_F_NO_LINK_STATS);
    fprintf(stderr, "loop: end %u published %u channel (%u: %u frames queued), %llu frames in\n",
            sn.addr, sn.nchan, sn.nchan ? sn.chan[0].st.id : 0, sn.nchan ? sn.chan[0].st.queued : 0,
            (unsigned long long)sn.st.frames_in);
    static char out[65536];
    if (run_jet_stat(link, out, sizeof out) == 0)
        CHECK(strstr(out, "\"publishers\":2") && strstr(out, "\"station\":1") &&
              strstr(out, "\"id\":10") && strstr(out, "\"queued\":20"));
    else {
        fprintf(stderr, "cannot run $BUILD/jet stat %s: %.200s\n", link, out);
        CHECK(0);
    }
    statpub_snap_free(&sn);
    jet_station_close(s0);
    jet_station_close(s1);
    CHECK_EQ(statpub_read(link, id, &sn, &err), -ENOENT);
}

int main(void)
{
    main_pid = getpid();
    test_other_links();
    test_loop();
    return check_done("test_statpub_links");
}
