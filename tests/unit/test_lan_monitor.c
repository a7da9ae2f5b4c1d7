/* The LAN's monitor (issue 15: `jet dump lan:NAME` watches every station's
 * traffic without being a station; src/link/lan_mon.c, docs/lan.md).
 *
 *   t_same     two stations exchange frames of many sizes, native and
 *              Ethernet, unicast and broadcast, once without a monitor and
 *              once with one reading: each station gets exactly the same
 *              frames in the same order both times; the monitor sees every
 *              frame sent once, byte for byte, in each sender's order, and
 *              takes no station;
 *   t_order    ping-pong: the monitor gives the frames of both senders in the
 *              order they were played (merged by their stamps), not ring by
 *              ring;
 *   t_overflow a monitor that does not read: the stations still get every
 *              frame; the monitor then gets some and counts the rest lost;
 *   t_kill     a monitor in a child killed with SIGKILL: while it lives a
 *              second one is refused (-EBUSY); after, a station whose ring
 *              to it filled detaches it (the flag goes), and a new one
 *              attaches and sees new frames;
 *   t_nosend   a monitor sends nothing (-EPERM); link names that cannot
 *              watch their medium are refused with -EOPNOTSUPP and a reason;
 *              fault: passes the flag to its inner link;
 *   t_snap     a snap length (jet_lan_monitor_snaplen): 64, then one larger
 *              than some frames, then over the largest: the records hold
 *              min(len, snap) bytes, the frames' first, and their whole
 *              length reaches a capture wrapper around the monitor
 *              (jet_capture_rec caplen < len); hostile values of the
 *              header's mon_snap give LAN_MON_SNAP_MIN..len bytes, never more;
 *   t_hostile  lan_mon_parse on crafted records; then a live monitor ring
 *              scribbled (records, tail, lost, head): the monitor lends
 *              nothing outside its buffers or over the largest frame, counts
 *              the damage, and recovers; the station carries on.
 * Exits 0 pass, 1 fail. */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "jet/capture.h"
#include "jet/frame.h"
#include "jet/lan.h"
#include "jet/link.h"
#include "link/lan_impl.h"
#include "link/lan_mon.h"
#include "util/clock.h"

enum { MTU = 9000, MAXF = 2048 };

static char lan[64];

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

static struct jet_link *monitor(void)
{
    struct jet_link *l = NULL;
    struct jet_err err = {0};
    struct jet_link_opts o = {.station = -1, .flags = JET_LINK_MONITOR};
    char name[80];
    snprintf(name, sizeof name, "lan:%s", lan);
    int rc = jet_link_open(name, &o, &l, &err);
    if (rc)
        fprintf(stderr, "monitor %s: %s\n", lan, err.msg);
    REQUIRE(rc == 0);
    return l;
}

static uint64_t fnv(const uint8_t *d, uint32_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ d[i]) * 0x100000001b3ull;
    return h ^ n;
}

/* A frame as seen: who sent it, its encapsulation and a hash of its bytes. */
struct seen {
    uint32_t src;
    uint8_t encap;
    uint64_t h;
};
struct log {
    struct seen f[MAXF];
    unsigned n;
};

static void log_add(struct log *g, uint32_t src, uint8_t encap, const uint8_t *d, uint32_t len)
{
    REQUIRE(g->n < MAXF);
    g->f[g->n++] = (struct seen){src, encap, fnv(d, len)};
}

/* Sends one frame from l: native (payload plen bytes) or Ethernet (plen
 * bytes in all), to station dst (JET_STATION_BROADCAST: broadcast); the
 * bytes depend on tag.  Logged in *sent as the medium should carry it. */
static int send_frame(struct jet_link *l, bool eth, uint32_t dst, uint32_t plen, uint32_t tag,
                      struct log *sent)
{
    struct jet_frame f;
    int rc = jet_link_tx_alloc(l, &f);
    if (rc)
        return rc;
    uint32_t me = jet_lan_station(l);
    if (eth) {
        if (dst == JET_STATION_BROADCAST)
            memset(f.data, 0xff, 6);
        else
            jet_lan_station_mac(l, dst, f.data);
        memcpy(f.data + 6, l->caps.mac, 6);
        f.data[12] = 0x88;
        f.data[13] = 0x99;
        for (uint32_t i = 14; i < plen; i++)
            f.data[i] = (uint8_t)(tag * 131 + i * 7);
        f.len = plen;
        f.encap = JET_ENCAP_ETH;
    } else {
        static uint8_t pay[MTU];
        for (uint32_t i = 0; i < plen; i++)
            pay[i] = (uint8_t)(tag * 17 + i);
        struct jet_frame_hdr h = {.flags = JET_FF_CRC,
                                  .src_station = (uint16_t)me,
                                  .dst_station = (uint16_t)dst,
                                  .dst_chan = 7,
                                  .src_chan = 9,
                                  .payload_len = (uint16_t)plen};
        long n = jet_frame_build(f.data, f.cap, &h, pay, plen);
        REQUIRE(n > 0);
        f.len = (uint32_t)n;
        f.encap = JET_ENCAP_NATIVE;
    }
    if (sent)
        log_add(sent, me, f.encap, f.data, f.len);
    return jet_link_tx_commit(l, &f);
}

/* Takes what l has now into g (src: the station, for a log per receiver). */
static unsigned drain(struct jet_link *l, struct log *g, uint32_t src)
{
    struct jet_frame f[32];
    unsigned got = 0;
    for (;;) {
        int n = jet_link_rx_burst(l, f, 32);
        REQUIRE(n >= 0);
        if (n == 0)
            return got;
        for (int i = 0; i < n; i++) {
            REQUIRE(f[i].len <= l->caps.max_frame);
            if (g)
                log_add(g, src, f[i].encap, f[i].data, f[i].len);
        }
        jet_link_rx_release(l, f, (unsigned)n);
        got += (unsigned)n;
    }
}

/* The monitor's frames: the sender is read from the frame itself (a
 * native header's src_station, an Ethernet source MAC's last byte). */
static unsigned drain_mon(struct jet_link *m, struct log *g)
{
    struct jet_frame f[32];
    unsigned got = 0;
    for (;;) {
        int n = jet_link_rx_burst(m, f, 32);
        REQUIRE(n >= 0);
        if (n == 0)
            return got;
        for (int i = 0; i < n; i++) {
            REQUIRE(f[i].len >= 14 && f[i].len <= m->caps.max_frame);
            uint32_t src = f[i].encap == JET_ENCAP_ETH
                               ? f[i].data[11]
                               : (uint32_t)(f[i].data[6] << 8 | f[i].data[7]);
            if (g)
                log_add(g, src, f[i].encap, f[i].data, f[i].len);
        }
        jet_link_rx_release(m, f, (unsigned)n);
        got += (unsigned)n;
    }
}

static const uint32_t sizes[] = {0,   1,   14,  40,   63,   64,   65,   68,   69,   96,   97,
                                 128, 500, 999, 1460, 1500, 2000, 4000, 4095, 8191, 8999, 9000};
enum { NSIZES = sizeof sizes / sizeof sizes[0] };

/* The scenario: a and b send, in turn, frames of every size, kind and
 * addressing, draining each other now and then. */
static void scenario(struct jet_link *a, struct jet_link *b, struct jet_link *m, struct log *ra,
                     struct log *rb, struct log *sent, struct log *mon)
{
    uint32_t tag = 0;
    for (unsigned round = 0; round < 3; round++)
        for (unsigned i = 0; i < NSIZES; i++) {
            uint32_t s = sizes[(i + round * 5) % NSIZES];
            for (unsigned kind = 0; kind < 4; kind++) {
                bool eth = kind & 1, bc = kind & 2;
                uint32_t el = s < 14 ? 14 : s + 14 > MTU + 14 ? MTU + 14 : s + 14;
                struct jet_link *from = (tag & 1) ? b : a, *to = (tag & 1) ? a : b;
                uint32_t dst = bc ? JET_STATION_BROADCAST : jet_lan_station(to);
                CHECK_EQ(send_frame(from, eth, dst, eth ? el : s, tag++, sent), 0);
            }
            if (i % 3 == 2) {
                jet_link_tx_flush(a);
                jet_link_tx_flush(b);
                drain(a, ra, 0);
                drain(b, rb, 1);
                if (m)
                    drain_mon(m, mon);
            }
        }
    for (int k = 0; k < 4; k++) {
        jet_link_tx_flush(a);
        jet_link_tx_flush(b);
        drain(a, ra, 0);
        drain(b, rb, 1);
        if (m)
            drain_mon(m, mon);
    }
}

static bool same_log(const struct log *x, const struct log *y)
{
    if (x->n != y->n)
        return false;
    for (unsigned i = 0; i < x->n; i++)
        if (x->f[i].h != y->f[i].h || x->f[i].encap != y->f[i].encap)
            return false;
    return true;
}

/* Frames of sender src in g, in order, equal those in h. */
static bool same_from(const struct log *g, const struct log *h, uint32_t src)
{
    unsigned i = 0, j = 0;
    for (;;) {
        while (i < g->n && g->f[i].src != src)
            i++;
        while (j < h->n && h->f[j].src != src)
            j++;
        if (i == g->n || j == h->n)
            return i == g->n && j == h->n;
        if (g->f[i].h != h->f[j].h || g->f[i].encap != h->f[j].encap)
            return false;
        i++;
        j++;
    }
}

static struct log ra0, rb0, ra1, rb1, sent0, sent1, mon1;

static void t_same(void)
{
    struct jet_link *a = attach(0), *b = attach(1);
    scenario(a, b, NULL, &ra0, &rb0, &sent0, NULL);
    struct jet_link *m = monitor();
    CHECK_EQ(m->caps.addr, JET_LINK_NO_ADDR);
    struct jet_lan_info info;
    REQUIRE(jet_lan_info(lan, &info, NULL) == 0);
    CHECK_EQ(info.attached, 2); /* the monitor takes no station */
    CHECK_EQ(info.monitor_pid, getpid());
    scenario(a, b, m, &ra1, &rb1, &sent1, &mon1);
    CHECK(ra0.n > 0 && rb0.n > 0);
    CHECK(same_log(&ra0, &ra1));
    CHECK(same_log(&rb0, &rb1));
    CHECK(same_log(&sent0, &sent1));
    /* every frame once, in each sender's order, with its bytes */
    CHECK_EQ(mon1.n, sent1.n);
    CHECK(same_from(&mon1, &sent1, 0));
    CHECK(same_from(&mon1, &sent1, 1));
    struct jet_link_stats st;
    REQUIRE(jet_link_stats(m, &st) == 0);
    CHECK_EQ(st.rx_frames, sent1.n);
    CHECK_EQ(st.rx_dropped, 0);
    jet_link_close(m);
    REQUIRE(jet_lan_info(lan, &info, NULL) == 0);
    CHECK_EQ(info.monitor_pid, 0);
    /* after it went, nothing is copied any more: a new monitor sees only new frames */
    CHECK_EQ(send_frame(a, false, 1, 100, 1, NULL), 0);
    m = monitor();
    CHECK_EQ(send_frame(a, false, 1, 200, 2, NULL), 0);
    jet_link_tx_flush(a);
    struct log one = {0};
    drain_mon(m, &one);
    CHECK_EQ(one.n, 1);
    drain(b, NULL, 1);
    jet_link_close(m);
    jet_link_close(b);
    jet_link_close(a);
}

/* Sends n frames of plen payload bytes from a to b, b reading: returns the
 * frames b got. */
static unsigned pump(struct jet_link *a, struct jet_link *b, unsigned n, uint32_t plen)
{
    unsigned got = 0;
    uint64_t until = jet_now_ns() + 5000000000ull;
    for (unsigned i = 0; i < n && jet_now_ns() < until;) {
        int rc = send_frame(a, false, jet_lan_station(b), plen, i, NULL);
        if (rc == 0)
            i++;
        else
            REQUIRE(rc == -EAGAIN || rc == -ENOBUFS);
        got += drain(b, NULL, 1);
    }
    while (got < n && jet_now_ns() < until) {
        jet_link_tx_flush(a);
        got += drain(b, NULL, 1);
    }
    return got;
}

/* A frame sent in answer to another is seen after it: a and b play
 * ping-pong, each answering what it received; the monitor, read only at the
 * end (every frame still in its rings), must give them in the order played,
 * not ring by ring. */
static void t_order(void)
{
    struct jet_link *a = attach(0), *b = attach(1), *m = monitor();
    enum { N = 60 };
    static struct log sent, seen;
    sent.n = seen.n = 0;
    for (uint32_t i = 0; i < N; i++) {
        struct jet_link *from = i & 1 ? b : a, *to = i & 1 ? a : b;
        if (i % 7 == 3) /* now and then two in a row from one side */
            CHECK_EQ(send_frame(from, false, jet_lan_station(to), 30, 1000 + i, &sent), 0);
        CHECK_EQ(send_frame(from, i % 3 == 1, jet_lan_station(to), 100 + i, i, &sent), 0);
        jet_link_tx_flush(from);
        uint64_t until = jet_now_ns() + 1000000000ull;
        unsigned got = 0;
        while (got == 0 && jet_now_ns() < until)
            got = drain(to, NULL, 0); /* received: only now is the answer sent */
        CHECK(got > 0);
    }
    drain_mon(m, &seen);
    CHECK_EQ(seen.n, sent.n);
    bool same = seen.n == sent.n;
    for (unsigned i = 0; same && i < seen.n; i++)
        same = seen.f[i].h == sent.f[i].h;
    CHECK(same);
    jet_link_close(m);
    jet_link_close(b);
    jet_link_close(a);
}

static void t_overflow(void)
{
    struct jet_link *a = attach(0), *b = attach(1), *m = monitor();
    enum { N = 600 }; /* 600 x 9 KB: over five times a monitor ring */
    CHECK_EQ(pump(a, b, N, 9000), N);
    unsigned seen = drain_mon(m, NULL);
    struct jet_link_stats st;
    REQUIRE(jet_link_stats(m, &st) == 0);
    CHECK(seen > 0 && seen < N);
    CHECK_EQ(seen + st.rx_dropped, N);
    struct jet_lan_station_info si;
    jet_lan_station_stats(b, &si);
    CHECK_EQ(si.rx_frames, N);
    CHECK_EQ(si.shm_bad, 0);
    jet_lan_station_stats(a, &si);
    CHECK_EQ(si.shm_bad, 0);
    /* read as it goes: nothing lost */
    uint64_t d0 = st.rx_dropped;
    for (unsigned i = 0; i < 50; i++) {
        CHECK_EQ(pump(a, b, 4, 9000), 4);
        drain_mon(m, NULL);
    }
    REQUIRE(jet_link_stats(m, &st) == 0);
    CHECK_EQ(st.rx_dropped, d0);
    CHECK_EQ(st.rx_frames, seen + 200);
    jet_link_close(m);
    jet_link_close(b);
    jet_link_close(a);
}

static void t_kill(void)
{
    int pfd[2];
    REQUIRE(pipe(pfd) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        struct jet_link *m = NULL;
        char ok = jet_lan_monitor(lan, &m, NULL) == 0 ? 'y' : 'n';
        if (write(pfd[1], &ok, 1) != 1)
            _exit(1);
        for (;;)
            pause(); /* never reads: killed */
    }
    char ok = 0;
    REQUIRE(read(pfd[0], &ok, 1) == 1);
    CHECK_EQ(ok, 'y');
    close(pfd[0]);
    close(pfd[1]);
    struct jet_link *m = NULL;
    struct jet_err err = {0};
    CHECK_EQ(jet_lan_monitor(lan, &m, &err), -EBUSY);
    CHECK(strstr(err.msg, "monitor already") != NULL);
    struct jet_link *a = attach(0), *b = attach(1);
    CHECK_EQ(pump(a, b, 20, 1000), 20);
    kill(pid, SIGKILL);
    REQUIRE(waitpid(pid, NULL, 0) == pid);
    /* Its flag is still up: the station copies until its ring is full, then
     * finds the monitor dead (after CHECK_NS) and takes the flag down. */
    struct lan_seg s;
    REQUIRE(lan_seg_open(lan, &s, &err) == 0);
    CHECK(atomic_load(&s.h->mon_token) != 0);
    CHECK_EQ(pump(a, b, 300, 9000), 300);
    struct timespec ts = {0, 30000000};
    nanosleep(&ts, NULL);
    CHECK_EQ(pump(a, b, 20, 9000), 20);
    CHECK_EQ(atomic_load(&s.h->mon_token), 0);
    lan_seg_close(&s);
    m = monitor();
    CHECK_EQ(pump(a, b, 10, 500), 10);
    CHECK_EQ(drain_mon(m, NULL), 10);
    jet_link_close(m);
    /* and killed with its flag up, the next monitor takes its place at once */
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        struct jet_link *mm = NULL;
        _exit(jet_lan_monitor(lan, &mm, NULL) == 0 ? 0 : 1); /* dies attached */
    }
    int wst = 0;
    REQUIRE(waitpid(pid, &wst, 0) == pid);
    CHECK(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
    m = monitor();
    CHECK_EQ(pump(a, b, 10, 500), 10);
    CHECK_EQ(drain_mon(m, NULL), 10);
    jet_link_close(m);
    jet_link_close(b);
    jet_link_close(a);
}

static void refused(const char *name, const char *why)
{
    struct jet_link *l = NULL;
    struct jet_err err = {0};
    struct jet_link_opts o = {.station = -1, .flags = JET_LINK_MONITOR};
    int rc = jet_link_open(name, &o, &l, &err);
    CHECK_EQ(rc, -EOPNOTSUPP);
    if (rc == 0)
        jet_link_close(l);
    if (!strstr(err.msg, why))
        fprintf(stderr, "%s: reason '%s' lacks '%s'\n", name, err.msg, why);
    CHECK(strstr(err.msg, why) != NULL);
}

static void t_nosend(void)
{
    struct jet_link *a = attach(0), *m = monitor();
    struct jet_frame f;
    CHECK_EQ(jet_link_tx_alloc(m, &f), -EPERM);
    CHECK(strstr(jet_link_error(m), "monitor") != NULL);
    CHECK_EQ(send_frame(a, false, 1, 10, 1, NULL), -EHOSTUNREACH); /* no station 1 */
    CHECK_EQ(send_frame(a, false, JET_STATION_BROADCAST, 10, 1, NULL), 0);
    jet_link_tx_flush(a);
    struct jet_frame r[4];
    int n = jet_link_rx_burst(m, r, 4);
    CHECK_EQ(n, 1);
    if (n == 1)
        CHECK_EQ(jet_link_tx_commit(m, &r[0]), -EPERM); /* consumed all the same */
    CHECK_EQ(jet_link_rx_burst(m, r, 4), 0);
    jet_link_close(m);
    refused("tap:jtmon0", "packet:jtmon0");
    refused("xdp:lo", "packet:lo");
    refused("udp:127.0.0.1:7475", "packet:IF");
    refused("loop:x", "capture:");
    refused("fault:loss=0.5/loop:x", "loop:x cannot be a monitor");
    /* fault: passes the flag inward: a monitor under faults (which it never uses) */
    char name[96];
    snprintf(name, sizeof name, "fault:loss=0.5/lan:%s", lan);
    struct jet_link_opts o = {.station = -1, .flags = JET_LINK_MONITOR};
    struct jet_err err = {0};
    CHECK_EQ(jet_link_open(name, &o, &m, &err), 0);
    CHECK_EQ(m->caps.addr, JET_LINK_NO_ADDR);
    CHECK_EQ(jet_link_tx_alloc(m, &f), -EPERM);
    CHECK_EQ(send_frame(a, false, JET_STATION_BROADCAST, 10, 2, NULL), 0);
    jet_link_tx_flush(a);
    uint64_t until = jet_now_ns() + 1000000000ull;
    n = 0;
    while (n == 0 && jet_now_ns() < until)
        n = jet_link_rx_burst(m, r, 4);
    CHECK_EQ(n, 1);
    if (n > 0)
        jet_link_rx_release(m, r, (unsigned)n);
    jet_link_close(m);
    jet_link_close(a);
}

/* ---- snap length ---- */

struct snap_seen {
    unsigned n;
    uint32_t caplen[64], len[64];
    uint64_t h[64];
};

static void on_cap(void *arg, const struct jet_capture_rec *r)
{
    struct snap_seen *g = arg;
    REQUIRE(g->n < 64);
    g->caplen[g->n] = r->caplen;
    g->len[g->n] = r->len;
    g->h[g->n++] = fnv(r->data, r->caplen);
}

/* Sends Ethernet frames of the lengths in want[] from a to b, the snap
 * length being snap (set by the monitor; raw: written straight into the
 * header, so the stations' clamp applies); checks what the capture wrapper
 * cap around the monitor records: caplen = min(len, snap), len the whole
 * frame's, the bytes the frame's first. */
static void snap_round(struct jet_link *a, struct jet_link *b, struct jet_link *cap,
                       const uint32_t *want, unsigned nw, struct snap_seen *g, uint32_t snap,
                       bool raw)
{
    static struct log sent;
    sent.n = 0;
    g->n = 0;
    for (unsigned i = 0; i < nw; i++) {
        CHECK_EQ(send_frame(a, true, jet_lan_station(b), want[i], 500 + i, &sent), 0);
        jet_link_tx_flush(a);
    }
    drain(b, NULL, 1);
    struct jet_frame f[32];
    uint64_t until = jet_now_ns() + 2000000000ull;
    while (g->n < nw && jet_now_ns() < until) {
        int n = jet_link_rx_burst(cap, f, 32);
        REQUIRE(n >= 0);
        for (int i = 0; i < n; i++)
            CHECK(f[i].len == g->caplen[g->n - (unsigned)n + (unsigned)i]);
        jet_link_rx_release(cap, f, (unsigned)n);
    }
    CHECK_EQ(g->n, nw);
    /* what a station copies: snap 0 whole; else at least LAN_MON_SNAP_MIN */
    uint32_t eff = snap;
    if (raw && eff && eff < LAN_MON_SNAP_MIN)
        eff = LAN_MON_SNAP_MIN;
    for (unsigned i = 0; i < g->n && i < nw; i++) {
        uint32_t len = want[i], cl = eff && eff < len ? eff : len;
        if (g->caplen[i] != cl || g->len[i] != len)
            fprintf(stderr, "snap %u frame %u: caplen %u len %u, want %u %u\n", snap, len,
                    g->caplen[i], g->len[i], cl, len);
        CHECK(g->caplen[i] == cl && g->len[i] == len);
        /* the frame's first cl bytes: hash them as sent */
        static uint8_t buf[MTU + 64];
        memset(buf, 0, sizeof buf);
        jet_lan_station_mac(a, jet_lan_station(b), buf);
        memcpy(buf + 6, a->caps.mac, 6);
        buf[12] = 0x88;
        buf[13] = 0x99;
        for (uint32_t j = 14; j < len; j++)
            buf[j] = (uint8_t)((500 + i) * 131 + j * 7);
        CHECK(g->h[i] == fnv(buf, cl));
    }
}

static void t_snap(void)
{
    struct jet_link *a = attach(0), *b = attach(1), *m = monitor(), *cap = NULL;
    struct jet_err err = {0};
    static struct snap_seen g;
    struct jet_capture_opts co = {.fn = on_cap, .arg = &g};
    CHECK_EQ(jet_lan_monitor_snaplen(a, 64), -EINVAL); /* a station is no monitor */
    CHECK_EQ(jet_lan_monitor_snaplen(m, 64), 0);
    REQUIRE(jet_capture_wrap(m, &co, &cap, &err) == 0);
    struct lan_seg s;
    REQUIRE(lan_seg_open(lan, &s, &err) == 0);
    CHECK_EQ(atomic_load(&s.h->mon_snap), 64u);
    static const uint32_t want[] = {20, 63, 64, 65, 100, 1514, 4000, MTU + 14};
    enum { NW = sizeof want / sizeof want[0] };
    snap_round(a, b, cap, want, NW, &g, 64, false);
    CHECK_EQ(jet_lan_monitor_snaplen(m, 1000), 0); /* larger than some frames */
    snap_round(a, b, cap, want, NW, &g, 1000, false);
    CHECK_EQ(jet_lan_monitor_snaplen(m, 100000), 0); /* over the largest: whole */
    CHECK_EQ(atomic_load(&s.h->mon_snap), 0u);
    snap_round(a, b, cap, want, NW, &g, 0, false);
    /* A monitor that asks for fewer bytes than a station copies lends no more. */
    CHECK_EQ(jet_lan_monitor_snaplen(m, 10), 0);
    snap_round(a, b, cap, want, NW, &g, 10, false);
    CHECK_EQ(jet_lan_monitor_snaplen(m, 0), 0);
    /* Hostile values of the header's mon_snap: the stations take
     * LAN_MON_SNAP_MIN..len bytes, the monitor checks what it reads. */
    static const uint32_t bad[] = {1, 13, 63, 0x80000000u, UINT32_MAX, MTU + 15, 3};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        atomic_store(&s.h->mon_snap, bad[i]);
        snap_round(a, b, cap, want, NW, &g, bad[i] > MTU + 14 ? 0 : bad[i], true);
    }
    struct jet_link_stats st;
    REQUIRE(jet_link_stats(cap, &st) == 0);
    CHECK_EQ(st.rx_dropped, 0u);
    lan_seg_close(&s);
    jet_link_close(cap); /* and the monitor */
    jet_link_close(b);
    jet_link_close(a);
}

/* ---- hostile ---- */

static void put_rec_cut(uint8_t *d, uint32_t off, uint32_t pos, uint32_t len, uint32_t wire,
                        uint16_t encap)
{
    struct lan_mon_rec r = {
        .pos = pos, .len = len, .wire_len = wire, .encap = encap, .src = 1, .dst = 2};
    memcpy(d + off, &r, sizeof r);
}

static void put_rec(uint8_t *d, uint32_t off, uint32_t pos, uint32_t len, uint16_t encap)
{
    put_rec_cut(d, off, pos, len, len, encap);
}

static void t_parse(void)
{
    enum { SZ = 1024, FM = 600 };
    static uint8_t d[SZ];
    struct lan_mon_view v;
    memset(d, 0, sizeof d);
    put_rec(d, 0, 4096, 100, JET_ENCAP_NATIVE);
    uint32_t rl = lan_mon_rec_bytes(100);
    CHECK_EQ(lan_mon_parse(d, SZ, 4096, 4096, FM, &v), 0);
    CHECK_EQ(lan_mon_parse(d, SZ, 4096, 4096 + rl, FM, &v), 1);
    CHECK(v.data == d + 32 && v.len == 100 && v.skip == rl && v.encap == 0 && v.src == 1);
    CHECK_EQ(lan_mon_parse(d, SZ, 4096, 4096 + rl - 32, FM, &v), -EBADMSG);      /* past the tail */
    CHECK_EQ(lan_mon_parse(d, SZ, 4096, 4096 + rl + 8, FM, &v), -EBADMSG);       /* unaligned */
    CHECK_EQ(lan_mon_parse(d, SZ, 4096, 4096 + SZ + 16, FM, &v), -EBADMSG);      /* over a ring */
    CHECK_EQ(lan_mon_parse(d, SZ, 4096 + SZ, 4096 + SZ + rl, FM, &v), -EBADMSG); /* old lap */
    put_rec(d, 0, 4096, FM + 1, JET_ENCAP_NATIVE);
    CHECK_EQ(lan_mon_parse(d, SZ, 4096, 4096 + SZ, FM, &v), -EBADMSG); /* too long */
    put_rec(d, 0, 4096, 13, JET_ENCAP_NATIVE);
    CHECK_EQ(lan_mon_parse(d, SZ, 4096, 4096 + 512, FM, &v), -EBADMSG); /* too short */
    put_rec(d, 0, 4096, 100, 2);
    CHECK_EQ(lan_mon_parse(d, SZ, 4096, 4096 + 512, FM, &v), -EBADMSG); /* encapsulation */
    put_rec(d, 960, 4096 + 960, 100, JET_ENCAP_ETH);                    /* would wrap */
    CHECK_EQ(lan_mon_parse(d, SZ, 4096 + 960, 4096 + 960 + 256, FM, &v), -EBADMSG);
    put_rec(d, 960, 4096 + 960, LAN_MON_PAD, 0);
    CHECK_EQ(lan_mon_parse(d, SZ, 4096 + 960, 4096 + 960 + 256, FM, &v), 1);
    CHECK(v.data == NULL && v.skip == 64);
    CHECK_EQ(lan_mon_parse(d, SZ, 4096 + 960, 4096 + 960 + 32, FM, &v), -EBADMSG); /* pad > t */
    CHECK_EQ(lan_mon_parse(d, 1000, 0, 32, FM, &v), -EBADMSG); /* size not a power of two */
    /* cut records (a snap length) */
    put_rec_cut(d, 0, 4096, 64, 500, JET_ENCAP_ETH);
    CHECK_EQ(lan_mon_parse(d, SZ, 4096, 4096 + 96, FM, &v), 1);
    CHECK(v.len == 64 && v.wire_len == 500 && v.skip == 96);
    put_rec_cut(d, 0, 4096, 20, 20, JET_ENCAP_ETH); /* short frame, whole */
    CHECK_EQ(lan_mon_parse(d, SZ, 4096, 4096 + 64, FM, &v), 1);
    CHECK(v.len == 20 && v.wire_len == 20);
    put_rec_cut(d, 0, 4096, 100, 99, JET_ENCAP_ETH); /* more than the frame */
    CHECK_EQ(lan_mon_parse(d, SZ, 4096, 4096 + 512, FM, &v), -EBADMSG);
    put_rec_cut(d, 0, 4096, 64, FM + 1, JET_ENCAP_ETH); /* a whole length over the largest */
    CHECK_EQ(lan_mon_parse(d, SZ, 4096, 4096 + 512, FM, &v), -EBADMSG);
    put_rec_cut(d, 0, 4096, 63, 500, JET_ENCAP_ETH); /* under LAN_MON_SNAP_MIN */
    CHECK_EQ(lan_mon_parse(d, SZ, 4096, 4096 + 512, FM, &v), -EBADMSG);
    put_rec_cut(d, 0, 4096, 19, 20, JET_ENCAP_ETH); /* a short frame cut */
    CHECK_EQ(lan_mon_parse(d, SZ, 4096, 4096 + 512, FM, &v), -EBADMSG);
    put_rec_cut(d, 0, 4096, 0, 0, JET_ENCAP_ETH);
    CHECK_EQ(lan_mon_parse(d, SZ, 4096, 4096 + 512, FM, &v), -EBADMSG);
}

static void t_hostile(void)
{
    t_parse();
    struct jet_link *a = attach(0), *b = attach(1), *m = monitor();
    struct jet_err err = {0};
    struct lan_seg s;
    REQUIRE(lan_seg_open(lan, &s, &err) == 0);
    struct lan_mon_ring *r = lan_mon_ring(&s, 0);
    uint32_t size = s.g.mon_size;
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    unsigned lent = 0;
    for (unsigned round = 0; round < 200; round++) {
        CHECK_EQ(pump(a, b, 3, 50 + round * 40), 3);
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t x = (uint32_t)(rng >> 33);
        uint32_t t = atomic_load(&r->tail);
        switch (round % 6) {
        case 0: /* the records just written: random bytes */
            for (uint32_t i = 0; i < 64; i++)
                r->data[(t - 64 + i) & (size - 1)] = (uint8_t)(x >> (i % 24));
            break;
        case 1: /* a length over the largest frame */
            memcpy(&r->data[(t - 48) & (size - 1) & ~15u] + 4, &x, 4);
            break;
        case 2:
            atomic_store(&r->tail, t + (x | 1)); /* a tail nobody wrote */
            break;
        case 3:
            atomic_store(&r->lost, x); /* a lost count nobody wrote */
            break;
        case 4:
            atomic_store(&r->head, x); /* the monitor's head, as the station reads it */
            break;
        default:
            break;
        }
        struct jet_frame f[32];
        int n = jet_link_rx_burst(m, f, 32);
        REQUIRE(n >= 0 && n <= 32);
        for (int i = 0; i < n; i++) {
            CHECK(f[i].len >= 14 && f[i].len <= m->caps.max_frame && f[i].buf < m->caps.buffers);
            f[i].data[f[i].len - 1] ^= 1; /* inside the buffer (ASan) */
        }
        jet_link_rx_release(m, f, (unsigned)n);
        lent += (unsigned)n;
    }
    struct jet_link_stats st;
    REQUIRE(jet_link_stats(m, &st) == 0);
    CHECK(st.rx_dropped > 0);
    CHECK(lent > 0);
    /* recovers: with nothing scribbled, every frame comes through again */
    drain_mon(m, NULL);
    CHECK_EQ(pump(a, b, 2, 100), 2);
    drain_mon(m, NULL); /* the tail may have been left ahead: one resync */
    CHECK_EQ(pump(a, b, 5, 100), 5);
    CHECK_EQ(drain_mon(m, NULL), 5);
    lan_seg_close(&s);
    jet_link_close(m);
    jet_link_close(b);
    jet_link_close(a);
}

int main(void)
{
    snprintf(lan, sizeof lan, "tmon-%d", (int)getpid());
    struct jet_lan_config c;
    jet_lan_config_default(&c);
    c.stations = 4;
    c.mtu = MTU;
    struct jet_err err = {0};
    if (jet_lan_create(lan, &c, &err)) {
        fprintf(stderr, "create: %s\n", err.msg);
        return 1;
    }
    t_same();
    t_order();
    t_overflow();
    t_kill();
    t_nosend();
    t_snap();
    t_hostile();
    jet_lan_destroy(lan, true, NULL);
    return check_done("test_lan_monitor");
}
