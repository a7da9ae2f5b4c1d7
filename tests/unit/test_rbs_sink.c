/* RBS sink mode: received bytes placed straight into a file (rbs_recv_sink in the core,
 * jet_rbs_recv_sink over channels).
 *   - core, scripted with virtual time (the test plays the peer): every range reaches
 *     the hook once with its offset, out of order too; the window stays `window`
 *     beyond the in-order edge (nothing waits to be read); trimming to the window,
 *     the range table full (nothing placed), end of stream, a hook that fails (the
 *     connection fails with its errno, an RST acknowledges nothing it did not place);
 *     registration rules;
 *   - over an emulated LAN with loss, reordering, duplication and bit errors: the
 *     listener (jet_rbs_recv_sink after accept) and the connector (opts.sink) each
 *     receive into a temporary file at an offset; the file is byte-exact and ends at
 *     offset + stream length, what came before the offset is untouched;
 *   - write failures (a read-only fd: -EBADF, /dev/full: -ENOSPC) reach the
 *     application as the connection's error, with words, and the peer sees a reset;
 *     registration errors (pipe, O_APPEND, bad fd, too late).
 * LANs are t-rbss-PID-TAG; each must have all its pool buffers back at the end. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "jet/lan.h"
#include "jet/rbs.h"
#include "rbs/rbs_core.h"
#include "util/rng.h"

#define FIXTURE_PREFIX "t-rbss"
#include "chan_fixture.h"

/* ---- the core, scripted ---- */

enum { ISS = 0xFFFFF000u, IRS = 0xFFFFFF00u, MSS = 1000, WND = 8000, LCHAN = 33, PCHAN = 77 };
static const uint64_t T0 = 1000000000ull, MS = 1000000ull, US = 1000ull;

/* The hook's file: a byte array, and a log of the calls. */
static uint8_t sfile[64 * 1024];
static struct call {
    uint64_t off;
    size_t len;
} calls[256];
static int ncalls;
static int hook_fail; /* the errno the hook returns (after placing nothing), 0: none */

static int hook(void *arg, uint64_t off, const uint8_t *p, size_t len)
{
    CHECK(arg == sfile);
    if (ncalls < 256)
        calls[ncalls++] = (struct call){off, len};
    if (hook_fail)
        return hook_fail;
    REQUIRE(off + len <= sizeof sfile);
    memcpy(sfile + off, p, len);
    return 0;
}

static uint8_t pat_b(uint64_t o)
{
    return (uint8_t)(o * 7 + (o >> 8) + 3);
}

static uint8_t segbuf[4096];

/* The peer's segment: data bytes [o, o + len) of the stream (pattern pat_b). */
static int inject(struct rbs_conn *c, uint64_t t, uint8_t flags, uint64_t o, size_t len)
{
    struct rbs_hdr h;
    memset(&h, 0, sizeof h);
    h.flags = flags;
    h.seq = IRS + 1 + (uint32_t)o;
    h.ack = ISS + 1;
    h.wnd = 10000;
    h.tsval = 8;
    int hl = rbs_hdr_emit(segbuf, sizeof segbuf, &h);
    REQUIRE(hl > 0 && (size_t)hl + len <= sizeof segbuf);
    for (size_t i = 0; i < len; i++)
        segbuf[hl + (int)i] = pat_b(o + i);
    int rc = rbs_input(c, segbuf, (size_t)hl + len, t);
    const char *bad = rbs_invariant_violation(c);
    if (bad)
        fprintf(stderr, "invariant: %s\n", bad);
    CHECK(bad == NULL);
    return rc;
}

/* What the endpoint sends now: 1 and the header, or 0. */
static int out(struct rbs_conn *c, uint64_t t, struct rbs_hdr *h)
{
    uint8_t buf[MSS + RBS_HDR_MAX];
    int n = rbs_output(c, t, buf, sizeof buf);
    CHECK(n >= 0);
    if (n <= 0)
        return 0;
    REQUIRE(rbs_hdr_parse(buf, (size_t)n, h) > 0);
    return 1;
}

/* Established as the active opener, receiving into the hook with window WND. */
static struct rbs_conn *sink_client(void)
{
    struct rbs_cfg k = {.mss = MSS,
                        .rcvbuf_bytes = WND,
                        .rcvbuf_external = true,
                        .rto_min_ns = 10 * MS,
                        .ack_delay_ns = 1 * MS,
                        .keepalive_ns = UINT64_MAX,
                        .isn = ISS,
                        .local_chan = LCHAN};
    struct rbs_conn *c;
    struct rbs_hdr h;
    REQUIRE(rbs_create(&k, &c) == 0);
    CHECK_EQ(rbs_connect(c, T0), -EINVAL); /* no ring, no sink */
    REQUIRE(rbs_recv_sink(c, hook, sfile, WND) == 0);
    REQUIRE(rbs_connect(c, T0) == 0);
    REQUIRE(out(c, T0, &h));
    CHECK_EQ(h.flags, RBS_SYN);
    CHECK_EQ(h.wnd, WND);
    struct rbs_hdr sa;
    memset(&sa, 0, sizeof sa);
    sa.flags = RBS_SYN | RBS_ACK;
    sa.seq = IRS;
    sa.ack = ISS + 1;
    sa.wnd = 10000;
    sa.tsval = 7;
    sa.tsecr = (uint32_t)(T0 / 1000);
    sa.opts = RBS_HAS_MSS | RBS_HAS_WSCALE | RBS_HAS_CHAN;
    sa.mss = MSS;
    sa.chan = PCHAN;
    int hl = rbs_hdr_emit(segbuf, sizeof segbuf, &sa);
    REQUIRE(hl > 0);
    REQUIRE(rbs_input(c, segbuf, (size_t)hl, T0 + 100 * US) == 0);
    REQUIRE(rbs_state(c) == RBS_ESTABLISHED);
    REQUIRE(out(c, T0 + 100 * US, &h));
    CHECK_EQ(h.ack, IRS + 1);
    ncalls = 0;
    hook_fail = 0;
    memset(sfile, 0, sizeof sfile);
    return c;
}

static bool file_has(uint64_t o, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (sfile[o + i] != pat_b(o + i))
            return false;
    return true;
}

/* In order, out of order, beyond the window, the hole filled: each range reaches the
 * hook once at its offset, and the window never shrinks (nothing waits to be read). */
static void test_core_placement(void)
{
    struct rbs_conn *c = sink_client();
    struct rbs_hdr h;
    uint64_t t = T0 + 1 * MS;
    inject(c, t, RBS_ACK, 0, 1000);
    CHECK_EQ(ncalls, 1);
    CHECK_EQ(calls[0].off, 0);
    CHECK_EQ(calls[0].len, 1000);
    CHECK_EQ(rbs_recv_placed(c), 1000);
    CHECK(out(c, t, &h) == 0); /* one in-order segment: the ACK is delayed */
    t += 1 * MS;
    rbs_on_timeout(c, t);
    REQUIRE(out(c, t, &h));
    CHECK_EQ(h.ack, IRS + 1 + 1000);
    CHECK_EQ(h.wnd, WND); /* in ring mode 7000 until the application reads */
    /* out of order: placed at its offset at once, SACKed, the window unchanged */
    inject(c, t, RBS_ACK, 2000, 1000);
    CHECK_EQ(ncalls, 2);
    CHECK_EQ(calls[1].off, 2000);
    CHECK_EQ(rbs_recv_placed(c), 1000);
    REQUIRE(out(c, t, &h));
    CHECK_EQ(h.ack, IRS + 1 + 1000);
    CHECK_EQ(h.wnd, WND);
    CHECK_EQ(h.nsack, 1);
    CHECK_EQ(h.sack[0].start, IRS + 1 + 2000);
    CHECK_EQ(h.sack[0].end, IRS + 1 + 3000);
    /* straddling the right edge (offset 1000 + WND): only what fits is placed */
    inject(c, t, RBS_ACK, 8500, 1000);
    CHECK_EQ(ncalls, 3);
    CHECK_EQ(calls[2].off, 8500);
    CHECK_EQ(calls[2].len, 500);
    /* wholly beyond the window: not placed */
    inject(c, t, RBS_ACK, 9000, 500);
    CHECK_EQ(ncalls, 3);
    struct rbs_stats st;
    rbs_get_stats(c, &st);
    CHECK_EQ(st.window_drops, 2);
    while (out(c, t, &h))
        ;
    /* the hole: in order again up to 3000, the edge moves with it */
    inject(c, t, RBS_ACK, 1000, 1000);
    CHECK_EQ(ncalls, 4);
    CHECK_EQ(calls[3].off, 1000);
    CHECK_EQ(calls[3].len, 1000);
    CHECK_EQ(rbs_recv_placed(c), 3000);
    REQUIRE(out(c, t, &h)); /* filled a hole: ACK at once */
    CHECK_EQ(h.ack, IRS + 1 + 3000);
    CHECK_EQ(h.wnd, WND);
    CHECK_EQ(h.nsack, 1);
    CHECK_EQ(h.sack[0].start, IRS + 1 + 8500);
    CHECK_EQ(h.sack[0].end, IRS + 1 + 9000);
    /* now 10500 fits (edge 3000 + WND = 11000) */
    inject(c, t, RBS_ACK, 10000, 1000);
    CHECK_EQ(ncalls, 5);
    CHECK_EQ(calls[4].len, 1000);
    CHECK(file_has(0, 3000) && file_has(8500, 500) && file_has(10000, 1000));
    CHECK_EQ(sfile[3000], 0); /* nothing where nothing came */
    /* nothing is ever readable in sink mode */
    const uint8_t *p;
    uint8_t b[16];
    CHECK_EQ(rbs_recv_ready(c), 0);
    CHECK_EQ(rbs_recv_peek(c, &p), 0);
    CHECK_EQ(rbs_recv_consume(c, 1), -EINVAL);
    CHECK_EQ(rbs_recv(c, b, sizeof b), -EAGAIN);
    CHECK(!rbs_recv_eof(c));
    rbs_destroy(c);
}

/* The hook fails: the connection fails with its errno, the range is not recorded, and
 * the RST acknowledges only what was placed. */
static void test_core_hook_fails(void)
{
    struct rbs_conn *c = sink_client();
    struct rbs_hdr h;
    uint64_t t = T0 + 1 * MS;
    inject(c, t, RBS_ACK, 0, 1000);
    inject(c, t, RBS_ACK, 1000, 1000);
    REQUIRE(out(c, t, &h)); /* second in-order segment: ACK at once */
    CHECK_EQ(h.ack, IRS + 1 + 2000);
    hook_fail = -ENOSPC;
    inject(c, t, RBS_ACK, 3000, 1000); /* out of order */
    CHECK_EQ(ncalls, 3);
    CHECK_EQ(rbs_error(c), -ENOSPC);
    CHECK_EQ(rbs_state(c), RBS_CLOSED);
    CHECK_EQ(rbs_recv_placed(c), 2000);
    REQUIRE(out(c, t, &h));
    CHECK_EQ(h.flags, RBS_RST | RBS_ACK);
    CHECK_EQ(h.ack, IRS + 1 + 2000);
    CHECK_EQ(h.nsack, 0); /* the failed range was not recorded */
    CHECK(out(c, t, &h) == 0);
    uint8_t b[4];
    CHECK_EQ(rbs_recv(c, b, sizeof b), -ENOSPC);
    rbs_destroy(c);

    /* in order this time: rcv_nxt does not move past what failed */
    c = sink_client();
    hook_fail = -EIO;
    inject(c, t, RBS_ACK, 0, 1000);
    CHECK_EQ(rbs_error(c), -EIO);
    CHECK_EQ(rbs_recv_placed(c), 0);
    REQUIRE(out(c, t, &h));
    CHECK_EQ(h.flags, RBS_RST | RBS_ACK);
    CHECK_EQ(h.ack, IRS + 1);
    rbs_destroy(c);
}

/* 32 out-of-order ranges fill the table: a 33rd is dropped before the hook sees it, a
 * range that merges is still placed. */
static void test_core_table_full(void)
{
    struct rbs_conn *c = sink_client();
    uint64_t t = T0 + 1 * MS;
    for (int i = 1; i <= 32; i++)
        inject(c, t, RBS_ACK, 2 * (uint64_t)i, 1);
    CHECK_EQ(ncalls, 32);
    inject(c, t, RBS_ACK, 100, 1);
    CHECK_EQ(ncalls, 32); /* dropped: not placed */
    struct rbs_stats st;
    rbs_get_stats(c, &st);
    CHECK_EQ(st.ooo_dropped, 1);
    inject(c, t, RBS_ACK, 3, 1); /* joins [2,3) and [4,5) */
    CHECK_EQ(ncalls, 33);
    CHECK_EQ(calls[32].off, 3);
    inject(c, t, RBS_ACK, 0, 2); /* absorbs 2..5 */
    CHECK_EQ(rbs_recv_placed(c), 5);
    rbs_destroy(c);
}

/* The FIN: out of order with data, then the hole; end of stream once all is placed;
 * nothing beyond the FIN reaches the hook. */
static void test_core_fin(void)
{
    struct rbs_conn *c = sink_client();
    struct rbs_hdr h;
    uint64_t t = T0 + 1 * MS;
    inject(c, t, RBS_ACK | RBS_FIN, 500, 500);
    CHECK_EQ(ncalls, 1);
    CHECK(!rbs_recv_eof(c));
    inject(c, t, RBS_ACK, 1000, 100); /* data after the FIN */
    CHECK_EQ(ncalls, 1);
    inject(c, t, RBS_ACK, 0, 500);
    CHECK_EQ(ncalls, 2);
    CHECK_EQ(rbs_recv_placed(c), 1000);
    CHECK(rbs_recv_eof(c));
    CHECK_EQ(rbs_state(c), RBS_CLOSE_WAIT);
    uint8_t b[4];
    CHECK_EQ(rbs_recv(c, b, sizeof b), 0);
    REQUIRE(out(c, t, &h));
    CHECK_EQ(h.ack, IRS + 1 + 1000 + 1); /* the FIN too */
    CHECK(file_has(0, 1000));
    rbs_destroy(c);
}

static void test_core_register_rules(void)
{
    struct rbs_cfg k = {.mss = MSS,
                        .rcvbuf_bytes = 1 << 20,
                        .keepalive_ns = UINT64_MAX,
                        .isn = ISS,
                        .local_chan = LCHAN};
    struct rbs_conn *c;
    REQUIRE(rbs_create(&k, &c) == 0); /* window scale 5: a unit is 32 bytes */
    CHECK_EQ(rbs_recv_sink(c, NULL, sfile, 4096), -EINVAL);
    CHECK_EQ(rbs_recv_sink(c, hook, sfile, 0), -EINVAL);
    CHECK_EQ(rbs_recv_sink(c, hook, sfile, 16), -EINVAL);
    CHECK_EQ(rbs_recv_sink(c, hook, sfile, (1ull << 30) + 1), -EINVAL);
    CHECK_EQ(rbs_recv_sink(c, hook, sfile, 1 << 20), 0);
    CHECK_EQ(rbs_recv_placed(c), 0);
    static uint8_t ring[4096];
    CHECK_EQ(rbs_recv_register(c, ring, sizeof ring), 0); /* back to a ring */
    CHECK_EQ(rbs_recv_placed(c), 0);
    rbs_destroy(c);
    /* bytes waiting in the ring: too late for a sink */
    c = sink_client();
    static uint8_t ring2[WND];
    REQUIRE(rbs_recv_register(c, ring2, sizeof ring2) == 0);
    inject(c, T0 + 1 * MS, RBS_ACK, 0, 10);
    CHECK_EQ(rbs_recv_ready(c), 10);
    CHECK_EQ(rbs_recv_sink(c, hook, sfile, WND), -EBUSY);
    CHECK_EQ(rbs_recv_consume(c, 10), 0);
    CHECK_EQ(rbs_recv_sink(c, hook, sfile, WND), 0); /* nothing buffered: allowed */
    inject(c, T0 + 1 * MS, RBS_ACK, 10, 10);
    CHECK_EQ(ncalls, 1);
    CHECK_EQ(calls[0].off, 0); /* offsets count from the registration */
    CHECK_EQ(rbs_recv_placed(c), 10);
    rbs_destroy(c);
}

/* ---- over channels, on an emulated LAN ---- */

#include "rbs_fixture.h"

static uint8_t pat(uint64_t o)
{
    return (uint8_t)(jet_mix64(o / 8 + (9ull << 40)) >> (8 * (o % 8)));
}

/* A temporary file under /tmp, already unlinked. */
static int tmpfile_fd(void)
{
    char name[] = "/tmp/jet-rbs-sink-XXXXXX";
    int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    unlink(name);
    return fd;
}

/* Opens a connection a (station 0) -> listener on b (station 1, channel 90), pumping
 * both; o applies to connect.  After accept, *cb gets the sink on sink_fd if >= 0. */
static void pair(struct jet_station *a, struct jet_station *b, const struct jet_rbs_opts *o,
                 struct jet_rbs_conn **ca, struct jet_rbs_conn **cb, int sink_fd, uint64_t off)
{
    struct jet_rbs_listener *l;
    struct jet_rbs_opts lo = {.rcvbuf = 1 << 20};
    REQUIRE(jet_rbs_listen(b, 90, &lo, &l) == 0);
    CHECK_EQ(jet_rbs_connect(a, 1, 90, o, ca, 0), -EINPROGRESS);
    REQUIRE(*ca);
    *cb = NULL;
    uint64_t t0 = now_ns();
    while (!*cb && now_ns() - t0 < 5000000000ull) {
        jet_rbs_poll(a);
        int rc = jet_rbs_accept(l, cb, 0);
        CHECK(rc == 0 || rc == -EAGAIN);
    }
    REQUIRE(*cb);
    if (sink_fd >= 0)
        CHECK_EQ(jet_rbs_recv_sink(*cb, sink_fd, off, 0), 0);
    jet_rbs_listener_close(l);
}

/* Sends `total` bytes of pat() from tx; rx receives in sink mode.  Pumps both until rx
 * sees the end of stream.  Returns what jet_rbs_recv_ready reported in total. */
static uint64_t transfer(struct jet_station *a, struct jet_station *b, struct jet_rbs_conn *tx,
                         struct jet_rbs_conn *rx, uint64_t total, bool *eof)
{
    static uint8_t buf[32768];
    uint64_t sent = 0, told = 0, t0 = now_ns();
    *eof = false;
    while (!*eof && now_ns() - t0 < 60000000000ull) {
        while (sent < total) {
            size_t n = sizeof buf < total - sent ? sizeof buf : (size_t)(total - sent);
            for (size_t i = 0; i < n; i++)
                buf[i] = pat(sent + i);
            ssize_t r = jet_rbs_send(tx, buf, n, 0);
            if (r <= 0)
                break;
            sent += (uint64_t)r;
            if (sent == total)
                CHECK_EQ(jet_rbs_shutdown(tx), 0);
        }
        const uint8_t *p = (const uint8_t *)1;
        ssize_t n;
        while ((n = jet_rbs_recv_ready(rx, &p, 0)) > 0) {
            CHECK(p == NULL); /* in the file, not in memory */
            told += (uint64_t)n;
            CHECK_EQ(jet_rbs_recv_placed(rx), told);
        }
        if (n == 0)
            *eof = true;
        else if (n != -EAGAIN) {
            fprintf(stderr, "recv_ready: %zd %s\n", n, jet_rbs_error(rx));
            break;
        }
        jet_rbs_poll(a);
        jet_rbs_poll(b);
    }
    return told;
}

/* The file holds `prefix` bytes 'P', then the stream at off, and nothing after. */
static void check_file(int fd, uint64_t off, uint64_t total)
{
    struct stat sb;
    REQUIRE(fstat(fd, &sb) == 0);
    CHECK_EQ(sb.st_size, off + total);
    static uint8_t buf[1 << 16];
    uint64_t bad = UINT64_MAX;
    for (uint64_t at = 0; at < off + total;) {
        size_t n = sizeof buf < off + total - at ? sizeof buf : (size_t)(off + total - at);
        ssize_t r = pread(fd, buf, n, (off_t)at);
        REQUIRE(r > 0);
        for (ssize_t i = 0; i < r && bad == UINT64_MAX; i++) {
            uint64_t o = at + (uint64_t)i;
            if (buf[i] != (o < off ? 'P' : pat(o - off)))
                bad = o;
        }
        at += (uint64_t)r;
    }
    if (bad != UINT64_MAX)
        fprintf(stderr, "file byte %llu differs\n", (unsigned long long)bad);
    CHECK(bad == UINT64_MAX);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 0); /* the library never moves the offset */
}

/* The listener (connector_sinks false) or the connector (opts.sink) receives into a
 * file at offset `off`, over a LAN with faults f. */
static void test_lan(const char *tag, const struct faults *f, uint64_t total, bool connector_sinks)
{
    int lan = mklan_faults(tag, f);
    struct jet_station *a = st_open(lan, 0), *b = st_open(lan, 1);
    int fd = tmpfile_fd();
    const uint64_t off = 1000 + (uint64_t)connector_sinks;
    uint8_t pre[1001];
    memset(pre, 'P', sizeof pre);
    REQUIRE(pwrite(fd, pre, off, 0) == (ssize_t)off);
    struct jet_rbs_opts o = {.rcvbuf = 1 << 20};
    if (connector_sinks) {
        o.sink = true;
        o.sink_fd = fd;
        o.sink_off = off;
    }
    struct jet_rbs_conn *ca, *cb;
    pair(a, b, &o, &ca, &cb, connector_sinks ? -1 : fd, off);
    struct jet_rbs_conn *tx = connector_sinks ? cb : ca, *rx = connector_sinks ? ca : cb;
    uint8_t one;
    CHECK_EQ(jet_rbs_recv(rx, &one, 1, 0), -EINVAL); /* bytes go to the file */
    CHECK_EQ(jet_rbs_recv_register(rx, pre, sizeof pre), -EBUSY);
    uint64_t t0 = now_ns();
    bool eof;
    uint64_t told = transfer(a, b, tx, rx, total, &eof);
    double secs = (double)(now_ns() - t0) / 1e9;
    CHECK(eof);
    CHECK_EQ(told, total);
    CHECK_EQ(jet_rbs_recv_placed(rx), total);
    CHECK_EQ(jet_rbs_errno(rx), 0);
    check_file(fd, off, total);
    struct jet_rbs_stats st;
    jet_rbs_stats(rx, &st);
    fprintf(stderr,
            "%s: %llu bytes into the file in %.2f s: %llu segments placed (%llu bytes), "
            "%llu out of order, %llu duplicates\n",
            tag, (unsigned long long)total, secs, (unsigned long long)st.sink_writes,
            (unsigned long long)st.sink_bytes, (unsigned long long)st.ooo_segs,
            (unsigned long long)st.dup_segs);
    CHECK_EQ(st.sink_bytes, total); /* every byte written once, duplicates and overlaps not */
    CHECK(st.sink_writes >= total / st.mss);
    CHECK_EQ(st.bytes_in, total);
    if (f && f->reorder > 0)
        CHECK(st.ooo_segs > 0); /* out-of-order placement was exercised */
    /* the other direction ends too (nothing in it); both closes then complete at once */
    CHECK_EQ(jet_rbs_shutdown(rx), 0);
    uint64_t t1 = now_ns();
    ssize_t r = -EAGAIN;
    while (now_ns() - t1 < 5000000000ull && (r != 0 || jet_rbs_send_pending(rx))) {
        jet_rbs_poll(a);
        jet_rbs_poll(b);
        if (r != 0)
            r = jet_rbs_recv(tx, &one, 1, 0);
    }
    CHECK_EQ(r, 0);
    /* until rx's end of stream is acknowledged (with heavy loss that can take
     * a few backed-off retransmissions), then 20 ms more.  rx got tx's FIN first,
     * so it goes LAST_ACK -> CLOSED; tx FIN_WAIT_2 -> TIME_WAIT. */
    uint64_t until = now_ns() + 5000000000ull;
    for (bool acked = false; now_ns() < until;) {
        jet_rbs_poll(a);
        jet_rbs_poll(b);
        jet_rbs_stats(rx, &st);
        if (!acked && !strcmp(st.state, "CLOSED")) {
            acked = true;
            until = now_ns() + 20000000ull;
        }
    }
    CHECK_EQ(jet_rbs_close(rx, 0), 0);
    CHECK_EQ(jet_rbs_close(tx, 0), 0);
    close(fd); /* the library let go of it in close */
    st_close(a);
    st_close(b);
    rmlan(lan);
}

/* A write that fails aborts the connection with the write's errno; the peer is reset. */
static void test_write_fails(const char *tag, int fd, int want)
{
    int lan = mklan_faults(tag, NULL);
    struct jet_station *a = st_open(lan, 0), *b = st_open(lan, 1);
    struct jet_rbs_conn *ca, *cb;
    pair(a, b, NULL, &ca, &cb, fd, 0);
    bool eof;
    uint64_t t0 = now_ns();
    uint64_t told = transfer(a, b, ca, cb, 1 << 20, &eof);
    double secs = (double)(now_ns() - t0) / 1e9;
    CHECK(!eof);
    CHECK_EQ(told, 0);
    CHECK(secs < 20); /* an error, not the 60 s bound: no hang */
    const uint8_t *p;
    CHECK_EQ(jet_rbs_recv_ready(cb, &p, 1000000000ll), want); /* and it stays */
    CHECK_EQ(jet_rbs_errno(cb), want);
    fprintf(stderr, "%s: %s after %.3f s\n", tag, jet_rbs_error(cb), secs);
    CHECK(strstr(jet_rbs_error(cb), "writing received bytes") != NULL);
    CHECK(strstr(jet_rbs_error(cb), strerror(-want)) != NULL);
    /* the sender is reset (or stopped by the closed window) */
    t0 = now_ns();
    while (!jet_rbs_errno(ca) && now_ns() - t0 < 5000000000ull) {
        jet_rbs_poll(a);
        jet_rbs_poll(b);
    }
    CHECK_EQ(jet_rbs_errno(ca), -ECONNRESET);
    CHECK_EQ(jet_rbs_close(cb, 0), want);
    jet_rbs_abort(ca);
    st_close(a);
    st_close(b);
    rmlan(lan);
}

/* Files the sink refuses, and a sink that comes too late. */
static void test_register_errors(void)
{
    int lan = mklan_faults("reg", NULL);
    struct jet_station *a = st_open(lan, 0), *b = st_open(lan, 1);
    struct jet_rbs_conn *ca, *cb;
    pair(a, b, NULL, &ca, &cb, -1, 0);
    int pfd[2];
    REQUIRE(pipe(pfd) == 0);
    CHECK_EQ(jet_rbs_recv_sink(cb, pfd[1], 0, 0), -ESPIPE);
    close(pfd[0]);
    close(pfd[1]);
    CHECK_EQ(jet_rbs_recv_sink(cb, pfd[1], 0, 0), -EBADF); /* closed */
    CHECK_EQ(jet_rbs_recv_sink(cb, -1, 0, 0), -EBADF);
    int fd = tmpfile_fd();
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int afd = open(path, O_WRONLY | O_APPEND);
    REQUIRE(afd >= 0);
    CHECK_EQ(jet_rbs_recv_sink(cb, afd, 0, 0), -EINVAL); /* pwrite would append */
    close(afd);
    CHECK_EQ(jet_rbs_recv_sink(cb, fd, (uint64_t)INT64_MAX + 1, 0), -EINVAL);
    /* something arrives before the sink: too late */
    CHECK_EQ(jet_rbs_send(ca, "hello", 5, 0), 5);
    const uint8_t *p;
    uint64_t t0 = now_ns();
    ssize_t n = -EAGAIN;
    while (n == -EAGAIN && now_ns() - t0 < 5000000000ull) {
        jet_rbs_poll(a);
        n = jet_rbs_recv_ready(cb, &p, 0);
    }
    CHECK_EQ(n, 5);
    CHECK_EQ(jet_rbs_recv_sink(cb, fd, 0, 0), -EBUSY);
    CHECK_EQ(jet_rbs_recv_consume(cb, 5), 0);
    CHECK_EQ(jet_rbs_recv_sink(cb, fd, 0, 0), 0); /* nothing buffered: from here on */
    CHECK_EQ(jet_rbs_send(ca, "world", 5, 0), 5);
    CHECK_EQ(jet_rbs_shutdown(ca), 0);
    t0 = now_ns();
    n = -EAGAIN;
    while (n == -EAGAIN && now_ns() - t0 < 5000000000ull) {
        jet_rbs_poll(a);
        n = jet_rbs_recv_ready(cb, &p, 0);
    }
    CHECK_EQ(n, 5);
    CHECK_EQ(jet_rbs_recv_ready(cb, &p, 2000000000ll), 0);
    char got[8] = {0};
    CHECK_EQ(pread(fd, got, sizeof got, 0), 5);
    CHECK(!memcmp(got, "world", 5));
    close(fd);
    jet_rbs_abort(ca);
    jet_rbs_abort(cb);
    st_close(a);
    st_close(b);
    rmlan(lan);
}

/* RBS_SINK_ONLY=name runs one test. */
static bool want(const char *name)
{
    return want_test("RBS_SINK_ONLY", name);
}

int main(void)
{
    main_pid = getpid();
    atexit(cleanup_lans);
    bool san = getenv("JET_SANITIZED") != NULL;
    uint64_t big = san ? 4 << 20 : 32 << 20;
    struct faults lossy = {.loss = 0.01, .reorder = 0.02, .dup = 0.01, .ber = 1e-7, .seed = 23};
    struct faults heavy = {.loss = 0.05, .reorder = 0.05, .dup = 0.02, .mtu = 1500, .seed = 23};
    if (want("core")) {
        test_core_placement();
        test_core_hook_fails();
        test_core_table_full();
        test_core_fin();
        test_core_register_rules();
    }
    if (want("clean"))
        test_lan("clean", NULL, big, false);
    if (want("lossy"))
        test_lan("lossy", &lossy, big / 2, false);
    if (want("heavy"))
        test_lan("heavy", &heavy, 2 << 20, true);
    if (want("connector"))
        test_lan("connector", &lossy, big / 4, true);
    if (want("rdonly")) {
        int fd = tmpfile_fd();
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        int ro = open(path, O_RDONLY);
        REQUIRE(ro >= 0);
        test_write_fails("rdonly", ro, -EBADF);
        close(ro);
        close(fd);
    }
    if (want("full")) {
        int full = open("/dev/full", O_WRONLY);
        if (full >= 0) {
            test_write_fails("full", full, -ENOSPC);
            close(full);
        }
    }
    if (want("register"))
        test_register_errors();
    return check_done("test_rbs_sink");
}
