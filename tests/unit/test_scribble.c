/* A scribbler on a live LAN (issue 9): this process writes random bytes into
 * one region of the segment at a time while honest processes use it.
 *
 *   lan:PFX-REGION, 6 stations, --rate 4G:
 *     jet cat 1:5300 (station 0)  <== 16 MiB, paced ==>  jet cat -l (station 1)
 *                                 <== 1 MiB, paced ===
 *     jet perf --proto raw -c (station 2)  ==>  jet perf --proto raw -s -1 (station 3)
 *     jet perf --proto rbs -c (station 4)  ==>  jet perf --proto rbs -s -1 (station 5)
 *   and this process, mapping the segment, writing into REGION:
 *     hdr-config   the header up to the medium clock (magic, layout, sizes,
 *                  name, configuration, part offsets)
 *     hdr-running  the medium clock, serial and counters
 *     stations     the station slots
 *     rings        the rings (their heads, tails and entries; mostly the six
 *                  rings in use, near their live entries)
 *     returns      the return rings
 *     pool-header  the pool's header and counters
 *     owners       the pool's owner words (mostly of buffers in use)
 *     lengths      the pool's length words (likewise)
 *     buffers      the buffers (mostly those in use, often their first bytes)
 * For each region: a write every ~0.5 ms for the whole run, and one burst of
 * writes as fast as it can (200 ms) half-way.  Writes are random bytes, zero,
 * all ones, small numbers, the value there plus a little, single bit flips.
 *
 * Each run lasts T = 3 s (2 s in sanitized builds): perf -t T, jet cat's
 * input paced over 0.7 T.  Required of every honest process: no death by a
 * signal, no sanitizer report, no run past its bound (perf clients and jet cat
 * 2 T + 10 s: after its T seconds of data, a perf rbs client waits up to 10 s of
 * silence (IO_NS in tools/jet/perf_rbs.c) for a receiver that went quiet; a
 * server 5 s after its client); a non-zero exit says why on
 * stderr; an exit 0 has the right output (jet cat: the bytes sent, compared
 * byte for byte; perf: a valid JSON result whose counts add up).  Afterwards
 * jet lan show and list on the scribbled segment must not crash, and jet lan
 * destroy --force must remove it.
 *
 * The writes are seeded: the seed is printed; JET_SCRIBBLE_SEED=N reruns
 * with it, JET_SCRIBBLE_REGION=NAME runs one region only. */
#include <sys/mman.h>

#include "hostile.h"
#include "jet/lan.h"
#include "link/lan_impl.h"

enum {
    R_HDR_CFG,
    R_HDR_RUN,
    R_STATIONS,
    R_RINGS,
    R_RETURNS,
    R_POOL_HDR,
    R_OWNERS,
    R_LENS,
    R_BUFS,
    R_N
};
static const char *region_name[R_N] = {"hdr-config", "hdr-running", "stations",
                                       "rings",      "returns",     "pool-header",
                                       "owners",     "lengths",     "buffers"};

enum { NST = 6, CAT_A = 16 << 20, CAT_B = 1 << 20, FRAME = 1500 };
#define BURST_NS  200000000ull /* the burst: 200 ms of writes as fast as they go */
#define BURST_MAX 2000000u     /* or this many */
/* the rings in use: (src, dst) */
static const uint32_t pairs[6][2] = {{0, 1}, {1, 0}, {2, 3}, {3, 2}, {4, 5}, {5, 4}};

static struct lan_hdr g;     /* the header as created */
static struct h_pool_hdr ph; /* the pool header as created */
static uint8_t *seg;         /* the live segment, mapped */
static size_t seg_len;
static uint64_t rng;
static uint64_t nwrites;

static char **fails;
static int nfails;
static const char *cur_region;

static void fail(const struct h_proc *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail(const struct h_proc *p, const char *fmt, ...)
{
    char msg[600], line[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(line, sizeof line, "[region %s] `%s`: %s", cur_region, p ? p->what : "-", msg);
    printf("FAIL %s\n", line);
    if (p)
        h_dump(p);
    fails = realloc(fails, (size_t)(nfails + 1) * sizeof *fails);
    if (!fails)
        abort();
    fails[nfails++] = strdup(line);
}

/* ---- where and what to write ---- */

static uint64_t rnd(uint64_t n)
{
    return n ? h_rand(&rng) % n : 0;
}

static _Atomic uint32_t *owner_word(uint32_t i)
{
    return (_Atomic uint32_t *)(seg + g.pool_off + ph.owner_off + 4ull * i);
}

/* Buffers owned by somebody, and by the jet cat pair (stations 0 and 1: the
 * frames of the stream the test checks byte for byte), as last seen. */
static uint32_t *owned, *cat_owned;
static uint32_t nowned, ncat_owned, since_refresh;

static void refresh_owned(void)
{
    nowned = ncat_owned = 0;
    for (uint32_t j = 0; j < ph.nbufs; j++) {
        uint32_t w = atomic_load_explicit(owner_word(j), memory_order_relaxed);
        if (w)
            owned[nowned++] = j;
        if (w && (w & 0xff) <= 1)
            cat_owned[ncat_owned++] = j;
    }
    since_refresh = 0;
}

/* A buffer index: with probability p percent one that is owned by somebody
 * now, half of those one of jet cat's. */
static uint32_t pick_buffer(unsigned p)
{
    if (++since_refresh >= 32)
        refresh_owned();
    if (rnd(100) < p) {
        if (rnd(2) && ncat_owned)
            return cat_owned[rnd(ncat_owned)];
        if (nowned)
            return owned[rnd(nowned)];
    }
    return (uint32_t)rnd(ph.nbufs);
}

/* Offset of the next write in region r, for a write of up to 8 bytes. */
static uint64_t pick(int r)
{
    uint32_t ns = g.cfg.stations;
    switch (r) {
    case R_HDR_CFG:
        return rnd(offsetof(struct lan_hdr, medium_free_ns));
    case R_HDR_RUN: {
        uint64_t a = offsetof(struct lan_hdr, medium_free_ns);
        return a + rnd(g.hdr_size - a - 8);
    }
    case R_STATIONS:
        return g.stations_off + rnd(sizeof(struct lan_station) * ns - 8);
    case R_RINGS:
    case R_RETURNS: {
        bool ret = r == R_RETURNS;
        uint32_t src, dst;
        if (rnd(100) < 85) {
            const uint32_t *p = pairs[rnd(6)];
            src = p[0];
            dst = p[1];
        } else {
            src = (uint32_t)rnd(ns);
            dst = (uint32_t)rnd(ns);
        }
        /* ring [src][dst]; its return ring is [src][dst] too (owner src, from dst) */
        uint64_t esz = ret ? 8 : sizeof(struct lan_desc);
        uint64_t bytes = ret ? g.ret_bytes : g.ring_bytes;
        uint64_t base = (ret ? g.ret_off : g.rings_off) + bytes * (src * ns + dst);
        uint64_t ents = ret ? offsetof(struct lan_ret_ring, e) : offsetof(struct lan_ring, e);
        uint64_t u = rnd(100);
        if (u < 15)
            return base + offsetof(struct lan_ring, tail);
        if (u < 30)
            return base + offsetof(struct lan_ring, head);
        if (u < 35)
            return base + rnd(ents - 8);
        uint32_t e;
        if (u < 80) { /* near the live entries */
            uint32_t h = atomic_load_explicit(
                (_Atomic uint32_t *)(seg + base + offsetof(struct lan_ring, head)),
                memory_order_relaxed);
            e = (h + (uint32_t)rnd(24) - 4) % g.cfg.ring;
        } else {
            e = (uint32_t)rnd(g.cfg.ring);
        }
        return base + ents + e * esz + (ret ? 0 : rnd(esz - 8));
    }
    case R_POOL_HDR:
        return g.pool_off + rnd(ph.owner_off - 8);
    case R_OWNERS:
        return g.pool_off + ph.owner_off + 4ull * pick_buffer(70);
    case R_LENS:
        return g.pool_off + ph.len_off + 4ull * pick_buffer(70);
    case R_BUFS: {
        uint64_t b = g.pool_off + ph.data_off + (uint64_t)ph.buf_size * pick_buffer(80);
        if (rnd(100) < 50) /* the frame's headers: after the headroom */
            return b + g.headroom + rnd(64);
        return b + rnd(ph.buf_size - 8);
    }
    }
    return 0;
}

/* One write at offset off. */
static void scribble_one(uint64_t off)
{
    if (off + 8 > seg_len)
        return;
    uint8_t *p = seg + off;
    uint64_t kind = rnd(100);
    uint64_t a4 = off & ~3ull, a8 = off & ~7ull;
    if (kind < 35) { /* 1..8 random bytes */
        uint64_t v = h_rand(&rng);
        unsigned n = 1 + (unsigned)rnd(8);
        for (unsigned i = 0; i < n; i++)
            ((volatile uint8_t *)p)[i] = (uint8_t)(v >> (8 * i));
    } else if (kind < 50) {
        __atomic_store_n((uint32_t *)(seg + a4), 0, __ATOMIC_RELAXED);
    } else if (kind < 65) {
        uint32_t v = rnd(2) ? UINT32_MAX : (uint32_t)rnd(1024);
        __atomic_store_n((uint32_t *)(seg + a4), v, __ATOMIC_RELAXED);
    } else if (kind < 80) { /* plausible: what is there, plus or minus a little */
        uint32_t v = __atomic_load_n((uint32_t *)(seg + a4), __ATOMIC_RELAXED);
        v += (uint32_t)rnd(33) - 16;
        __atomic_store_n((uint32_t *)(seg + a4), v, __ATOMIC_RELAXED);
    } else if (kind < 90) {
        __atomic_store_n((uint64_t *)(seg + a8), h_rand(&rng), __ATOMIC_RELAXED);
    } else {
        __atomic_fetch_xor(p, (uint8_t)(1u << rnd(8)), __ATOMIC_RELAXED);
    }
    nwrites++;
}

/* ---- paced input ---- */

/* A child that writes data[0..n) into fd over about `secs`, then closes it. */
static pid_t pacer(int fd, const uint8_t *data, size_t n, double secs)
{
    pid_t pid = fork();
    if (pid < 0) {
        printf("FAIL: fork: %s\n", strerror(errno));
        exit(1);
    }
    if (pid > 0) {
        for (int i = 0; i < H_MAXKIDS; i++)
            if (h_kids[i] == 0) {
                h_kids[i] = pid;
                break;
            }
        return pid;
    }
    signal(SIGPIPE, SIG_IGN);
    for (int k = 3; k < 1024; k++) /* the other pipe's ends too: its reader must see EOF */
        if (k != fd)
            close(k);
    size_t chunk = 32 << 10;
    unsigned steps = (unsigned)((n + chunk - 1) / chunk);
    unsigned us = (unsigned)(secs * 1e6 / steps);
    for (size_t off = 0; off < n; off += chunk) {
        size_t len = n - off < chunk ? n - off : chunk;
        for (size_t w = 0; w < len;) {
            ssize_t k = write(fd, data + off + w, len - w);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                _exit(0); /* the reader is gone: its own exit tells */
            w += (size_t)k;
        }
        h_sleep_us(us);
    }
    _exit(0);
}

static void reap(pid_t pid)
{
    if (pid <= 0)
        return;
    if (waitpid(pid, NULL, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    h_forget(pid);
}

/* ---- one region ---- */

static uint8_t *in_a, *in_b;

static void seg_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "/dev/shm/jet-lan.%s", name);
}

static bool sane(const struct h_proc *p)
{
    char why[300];
    if (!h_sane(p, why, sizeof why)) {
        fail(p, "%s", why);
        return false;
    }
    if (h_rc(p) > 0) {
        char l[200];
        h_first_line(p->err, l, sizeof l);
        if (!l[0])
            fail(p, "exit code %d and nothing on stderr", h_rc(p));
    }
    return true;
}

static const char *how(const struct h_proc *p, char *buf, size_t cap)
{
    char l[160];
    h_last_line(p->err, l, sizeof l);
    if (p->hung)
        snprintf(buf, cap, "HUNG");
    else if (WIFSIGNALED(p->status))
        snprintf(buf, cap, "%s %s", p->stopped ? "stopped," : "killed by",
                 h_signame(WTERMSIG(p->status)));
    else
        snprintf(buf, cap, "%sexit %d after %.1f s%s%s%s", p->stopped ? "stopped, " : "", h_rc(p),
                 p->secs, l[0] ? " (" : "", l, l[0] ? ")" : "");
    return buf;
}

/* Polls all six processes (so each one's time is taken when it ends) until
 * every one of want[] has ended or passed `until` (its bound, if 0). */
static void wait_all(struct h_proc *const *all, struct h_proc *const *want, int nwant,
                     uint64_t until)
{
    for (;;) {
        uint64_t now = h_now_ns();
        bool pending = false;
        for (int i = 0; i < 6; i++)
            h_poll(all[i]);
        for (int i = 0; i < nwant; i++)
            if (!want[i]->done && now < (until ? until : want[i]->t0 + want[i]->bound_ns))
                pending = true;
        if (!pending)
            return;
        h_sleep_us(2000);
    }
}

/* The servers after their clients ended: a server must end by itself within
 * 5 s if its client succeeded; otherwise it may be waiting for a client
 * that never came, and is stopped (and must then stop within 3 s). */
static void finish_servers(struct h_proc *const *all, struct h_proc *const *srv,
                           struct h_proc *const *cli)
{
    wait_all(all, srv, 3, h_now_ns() + 5000000000ull);
    for (int i = 0; i < 3; i++) {
        if (srv[i]->done)
            continue;
        h_stop(srv[i]);
        if (h_rc(cli[i]) == 0 && !srv[i]->hung)
            fail(srv[i], "hang: still running 5 s after its client succeeded (stopped by SIGTERM)");
    }
}

static void run_region(int r, double T)
{
    cur_region = region_name[r];
    char name[64], link[96], path[300];
    snprintf(name, sizeof name, "%s-%s", h_pfx, region_name[r]);
    snprintf(link, sizeof link, "lan:%s", name);
    seg_path(path, sizeof path, name);
    printf("\n== region %s: %.1f s of writes, a burst half-way; lan %s\n", region_name[r], T, name);

    struct jet_lan_config cfg;
    jet_lan_config_default(&cfg);
    cfg.stations = NST;
    cfg.rate_bps = 4000000000ull;
    struct jet_err err = {0};
    int rc = jet_lan_create(name, &cfg, &err);
    if (rc) {
        fail(NULL, "cannot create LAN %s: %s", name, jet_err_str(&err, rc));
        return;
    }
    int fd = open(path, O_RDWR | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) < 0) {
        fail(NULL, "cannot open %s: %s", path, strerror(errno));
        return;
    }
    seg_len = (size_t)sb.st_size;
    seg = mmap(NULL, seg_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (seg == MAP_FAILED) {
        fail(NULL, "cannot map %s: %s", path, strerror(errno));
        close(fd);
        return;
    }
    memcpy(&g, seg, sizeof g);
    memcpy(&ph, seg + g.pool_off, sizeof ph);
    if (ph.magic != H_POOL_MAGIC || ph.owner_off != 2 * H_POOL_COUNTERS_OFF ||
        ph.len_off != ph.owner_off + ((4ull * ph.nbufs + 63) & ~63ull) || g.seg_size != seg_len ||
        g.cfg.stations != NST) {
        fail(NULL, "the segment is not laid out as this test (struct h_pool_hdr in "
                   "tests/unit/hostile.h, struct lan_hdr) expects: update the test");
        munmap(seg, seg_len);
        close(fd);
        return;
    }

    owned = realloc(owned, ph.nbufs * sizeof *owned);
    cat_owned = realloc(cat_owned, ph.nbufs * sizeof *cat_owned);
    if (!owned || !cat_owned)
        abort();
    nowned = ncat_owned = 0;
    since_refresh = 32;

    uint64_t perf_bound = (uint64_t)((2 * T + 10) * 1e9); /* T + perf_rbs.c's IO_NS, + T slack */
    uint64_t cat_bound = (uint64_t)((2 * T + 10) * 1e9);
    char secs[16];
    snprintf(secs, sizeof secs, "%.1f", T);
    char frame[16];
    snprintf(frame, sizeof frame, "%d", FRAME);

    /* servers */
    int pb[2], pa[2];
    if (pipe2(pb, O_CLOEXEC) < 0 || pipe2(pa, O_CLOEXEC) < 0) {
        fail(NULL, "pipe: %s", strerror(errno));
        return;
    }
    struct h_proc cs, cc, rs, rc_, bs, bc;
    const char *a_cs[] = {"cat", "-l", "--link", link, "--station", "1", NULL};
    h_start(&cs, cat_bound + 5000000000ull, pb[0], "cat-l", a_cs);
    close(pb[0]);
    const char *a_rs[] = {"perf", "--proto",   "raw", "-s",     "-1", "--link",
                          link,   "--station", "3",   "--json", NULL};
    h_start(&rs, perf_bound + 5000000000ull, -1, "raw-s", a_rs);
    const char *a_bs[] = {"perf", "--proto",   "rbs", "-s",     "-1", "--link",
                          link,   "--station", "5",   "--json", NULL};
    h_start(&bs, perf_bound + 5000000000ull, -1, "rbs-s", a_bs);
    uint64_t until = h_now_ns() + (h_sanitized ? 10 : 5) * 1000000000ull;
    while (h_now_ns() < until &&
           !((h_locked(fd, 1) && h_file_contains(cs.err, "listening on")) || h_poll(&cs)))
        h_sleep_us(5000);
    while (h_now_ns() < until && !(h_locked(fd, 3) || h_poll(&rs)))
        h_sleep_us(5000);
    while (h_now_ns() < until && !(h_locked(fd, 5) || h_poll(&bs)))
        h_sleep_us(5000);
    h_sleep_us(20000);

    /* clients */
    pid_t pace_b = pacer(pb[1], in_b, CAT_B, 0.7 * T);
    close(pb[1]);
    pid_t pace_a = pacer(pa[1], in_a, CAT_A, 0.7 * T);
    close(pa[1]);
    const char *a_cc[] = {"cat", "--link", link, "--station", "0", "1:5300", NULL};
    h_start(&cc, cat_bound, pa[0], "cat-c", a_cc);
    close(pa[0]);
    const char *a_rc[] = {"perf",      "--proto", "raw",     "-c",  "--to", "3",  "--link", link,
                          "--station", "2",       "--frame", frame, "-t",   secs, "--json", NULL};
    h_start(&rc_, perf_bound, -1, "raw-c", a_rc);
    const char *a_bc[] = {"perf", "--proto",   "rbs", "-c", "--to", "5",      "--link",
                          link,   "--station", "4",   "-t", secs,   "--json", NULL};
    h_start(&bc, perf_bound, -1, "rbs-c", a_bc);
    until = h_now_ns() + 3000000000ull;
    while (h_now_ns() < until &&
           !((h_locked(fd, 0) || h_poll(&cc)) && (h_locked(fd, 2) || h_poll(&rc_)) &&
             (h_locked(fd, 4) || h_poll(&bc))))
        h_sleep_us(2000);

    /* the scribbler */
    uint64_t t0 = h_now_ns(), t_end = t0 + (uint64_t)(T * 1e9);
    uint64_t t_burst = t0 + (uint64_t)(T * 0.5e9);
    bool burst_done = false;
    uint64_t moderate = 0, burst = 0;
    while (h_now_ns() < t_end) {
        if (!burst_done && h_now_ns() >= t_burst) {
            uint64_t bend = h_now_ns() + BURST_NS, n0 = nwrites;
            while (nwrites - n0 < BURST_MAX && (nwrites & 255 || h_now_ns() < bend))
                scribble_one(pick(r));
            burst = nwrites - n0;
            burst_done = true;
        }
        scribble_one(pick(r));
        moderate++;
        h_sleep_us(500);
        if ((moderate & 63) == 0 && h_poll(&cc) && h_poll(&rc_) && h_poll(&bc) && h_poll(&cs) &&
            h_poll(&rs) && h_poll(&bs))
            break; /* all gone */
    }
    double ws = (double)(h_now_ns() - t0) / 1e9;
    printf("   %" PRIu64 " writes in %.1f s and a burst of %" PRIu64 "\n", moderate, ws, burst);

    /* the honest processes end */
    struct h_proc *all[] = {&cs, &cc, &rs, &rc_, &bs, &bc};
    struct h_proc *srv[] = {&rs, &bs, &cs}, *cli[] = {&rc_, &bc, &cc};
    wait_all(all, cli, 3, 0);
    for (int i = 0; i < 3; i++)
        h_finish(cli[i]);
    finish_servers(all, srv, cli);
    reap(pace_a);
    reap(pace_b);

    char b1[200], b2[200];
    printf("   cat:      listener %s\n             connector %s\n", how(&cs, b1, sizeof b1),
           how(&cc, b2, sizeof b2));
    printf("   perf raw: server %s\n             client %s\n", how(&rs, b1, sizeof b1),
           how(&rc_, b2, sizeof b2));
    printf("   perf rbs: server %s\n             client %s\n", how(&bs, b1, sizeof b1),
           how(&bc, b2, sizeof b2));

    bool ok[6];
    for (int i = 0; i < 6; i++)
        ok[i] = sane(all[i]);

    size_t got;
    uint64_t first, d;
    bool exact = true;
    if (ok[0] && h_rc(&cs) == 0 && (d = h_cmp_file(cs.out, in_a, CAT_A, &got, &first))) {
        fail(&cs,
             "exit 0 with wrong output: %zu bytes of %d, %" PRIu64
             " wrong, the first at offset %" PRIu64,
             got, CAT_A, d, first);
        exact = false;
    }
    if (ok[1] && h_rc(&cc) == 0 && (d = h_cmp_file(cc.out, in_b, CAT_B, &got, &first))) {
        fail(&cc,
             "exit 0 with wrong output: %zu bytes of %d, %" PRIu64
             " wrong, the first at offset %" PRIu64,
             got, CAT_B, d, first);
        exact = false;
    }
    if (ok[3] && h_rc(&rc_) == 0) {
        char *t = h_slurp(rc_.out, NULL);
        double sent = 0, del = 0, bytes = 0, last = 0;
        if (!h_json_valid(t) || !h_json_num(t, "frames_sent", &sent) ||
            !h_json_num(t, "frames_delivered", &del) || !h_json_num(t, "bytes", &bytes))
            fail(&rc_, "exit 0, but no valid JSON result: %.200s", t);
        else if (del > sent || bytes != del * FRAME)
            fail(&rc_,
                 "exit 0 with counts that do not add up: frames_sent %.0f, "
                 "frames_delivered %.0f, bytes %.0f (frame %d)",
                 sent, del, bytes, FRAME);
        else if (del > 0 && h_json_num(t, "last_seq_delivered", &last) && last >= sent)
            fail(&rc_, "exit 0, but last_seq_delivered %.0f was never sent (frames_sent %.0f)",
                 last, sent);
        else {
            double crc = 0, hdr = 0, pol = 0;
            h_json_num(t, "crc_failed", &crc);
            h_json_num(t, "dropped_header", &hdr);
            h_json_num(t, "dropped_policy", &pol);
            printf("   perf raw: %.0f frames sent, %.0f delivered, crc_failed %.0f, "
                   "dropped_header %.0f, dropped_policy %.0f\n",
                   sent, del, crc, hdr, pol);
        }
        free(t);
    }
    if (ok[5] && h_rc(&bc) == 0) {
        char *t = h_slurp(bc.out, NULL);
        double bytes = 0;
        if (!h_json_valid(t) || !h_json_num(t, "bytes", &bytes))
            fail(&bc, "exit 0, but no valid JSON result: %.200s", t);
        else
            printf("   perf rbs: %.0f bytes\n", bytes);
        free(t);
    }
    if (exact && h_rc(&cs) == 0 && h_rc(&cc) == 0)
        printf("   cat: both directions byte-exact\n");

    munmap(seg, seg_len);
    close(fd);

    /* the scribbled segment, inspected and removed */
    struct h_proc p;
    const char *show[] = {"lan", "show", name, "--json", NULL};
    h_start(&p, 10000000000ull, -1, "show", show);
    h_finish(&p);
    sane(&p);
    const char *list[] = {"lan", "list", "--json", NULL};
    h_start(&p, 10000000000ull, -1, "list", list);
    h_finish(&p);
    if (sane(&p)) {
        char k[128];
        snprintf(k, sizeof k, "\"name\":\"%s\"", name);
        if (h_rc(&p) != 0 || !h_file_contains(p.out, k))
            fail(&p, "exit %d; the scribbled LAN %s is not listed", h_rc(&p), name);
    }
    const char *destroy[] = {"lan", "destroy", name, "--force", NULL};
    h_start(&p, 10000000000ull, -1, "destroy", destroy);
    h_finish(&p);
    if (sane(&p) && h_rc(&p) != 0)
        fail(&p, "exit code %d, wanted 0", h_rc(&p));
    if (access(path, F_OK) == 0) {
        fail(&p, "%s is still there afterwards", path);
        unlink(path);
    }
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    h_init("sc");
    const char *s = getenv("JET_SCRIBBLE_SEED");
    uint64_t seed = s && *s ? strtoull(s, NULL, 0) : (h_now_ns() ^ ((uint64_t)getpid() << 32));
    if (!seed)
        seed = 1;
    const char *only = getenv("JET_SCRIBBLE_REGION");
    double T = h_sanitized ? 2.0 : 3.0;
    printf("seed %" PRIu64 " (rerun: JET_SCRIBBLE_SEED=%" PRIu64 "%s%s)\n", seed, seed,
           only && *only ? " JET_SCRIBBLE_REGION=" : "", only && *only ? only : "");

    in_a = malloc(CAT_A);
    in_b = malloc(CAT_B);
    if (!in_a || !in_b)
        return 1;
    uint64_t ds = seed ^ 0xda7a;
    for (size_t i = 0; i < CAT_A; i++)
        in_a[i] = (uint8_t)h_rand(&ds);
    for (size_t i = 0; i < CAT_B; i++)
        in_b[i] = (uint8_t)h_rand(&ds);

    uint64_t t0 = h_now_ns();
    int n = 0;
    for (int r = 0; r < R_N; r++) {
        if (only && *only && strcmp(only, region_name[r]))
            continue;
        rng = seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(r + 1));
        if (!rng)
            rng = 1;
        run_region(r, T);
        n++;
    }
    if (!n) {
        printf("FAIL: no region named '%s'\n", only);
        return 1;
    }
    printf("\n%d regions, %" PRIu64 " writes, in %.1f s; seed %" PRIu64 "\n", n, nwrites,
           (double)(h_now_ns() - t0) / 1e9, seed);
    if (nfails) {
        printf("%d failures:\n", nfails);
        for (int i = 0; i < nfails; i++)
            printf("  %s\n", fails[i]);
        printf("FAIL test_scribble (seed %" PRIu64 ")\n", seed);
        return 1;
    }
    printf("PASS test_scribble\n");
    return 0;
}
