/* jet cat: netcat over RBS (include/jet/rbs.h).
 *
 *   jet cat -l --link lan:NAME [--station K] [--chan C]    listen, serve one connection
 *   jet cat --link lan:NAME [--station K] STATION:CHAN     connect
 *
 * Both ways at once: stdin goes to the peer, the peer's bytes to stdout.  Each side
 * shuts its sending half down at the end of its stdin; the program ends once both
 * directions are finished (and everything it sent is acknowledged).
 *
 * One event loop, no threads.  Each round it drives the station (jet_rbs_poll), then
 *   - reads stdin into one of NBLK blocks (several reads while stdin stays readable, so
 *     a pipe fills a block too) and queues the block by reference (jet_rbs_send_ref: the
 *     block is copied once, into the frame), reusing blocks as jet_rbs_completed hands
 *     them back;
 *   - moves what was received to stdout, in one of two ways chosen once at the start:
 *     sink: stdout is a regular file, not O_APPEND, and stderr does not write into the
 *       same file.  The library copies each segment's payload out of the pool with its
 *       CRC checked in the same pass (into a small private staging buffer), then
 *       pwrite()s it to B + its stream offset, B being stdout's offset at the start (in
 *       order or not; docs/rbs.md 3.3); the loop only learns how far the file is
 *       complete (jet_rbs_recv_ready).  jet cat writes [B, B + stream length) and
 *       nothing else: it never moves stdout's offset (it reads it once) and never
 *       truncates, so whatever anybody else wrote outside that range stays.
 *     write: anything else (pipe, terminal, socket, an O_APPEND file such as a shared
 *       log opened with >>, a file stderr also goes to).  The library places each
 *       segment at its stream offset in a registered ring; the loop write()s the
 *       ring's readable bytes to stdout in order, at most OUT_CHUNK per write, and frees
 *       them (jet_rbs_recv_consume): a second copy, ring -> stdout, exactly what cat(1)
 *       does.  O_APPEND: each write lands whole at the end of the file, between what
 *       other writers append; Linux's pwrite ignores the offset on such a file, which is
 *       why the sink is never used there.
 *   - sleeps when there is nothing to do (nap): in the station's own wait, which wakes
 *     for the link's frames at their delivery time (an emulated LAN with --delay holds
 *     frames that the station's fd cannot announce), unless stdin matters too; then
 *     ppoll on both fds while the connection is idle, or short waits with a look at
 *     stdin between them while frames come and go.
 * A failed transfer exits 1 with one line on stderr: why, and how much of the stream
 * stdout holds (every line this program prints goes out in one write, so that it
 * lands whole in a log shared with other writers).  -v says which way was taken. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cat_common.h"
#include "cli.h"
#include "jet/rbs.h"
#include "tcp_cli.h"
#include "util/clock.h"
#include "util/parse.h"

enum {
    NBLK = 32,             /* stdin blocks in flight */
    BLK = 256 << 10,       /* bytes per block */
    RING = 8 << 20,        /* receive ring (write mode) and receive window */
    OUT_CHUNK = 256 << 10, /* write mode: bytes per write(), then the station is driven */
    DEFAULT_CHAN = 5300,
};
#define CLOSE_NS 10000000000ll

struct cat {
    struct jet_station *s;
    struct jet_rbs_conn *c;
    uint8_t *blk[NBLK];
    bool busy[NBLK];
    uint8_t *ring; /* the receive ring (write mode) */
    int out_fd;
    bool sink;               /* stdout is a regular file that the library pwrite()s into */
    off_t out_base;          /* sink: file offset of stream byte 0 */
    uint64_t out_off;        /* stream bytes in stdout, in order (sink: written by the library) */
    uint64_t last_rx;        /* when the station last had something for us (jet_now_ns) */
    uint64_t t_first, t_end; /* when the first received byte / the end of stream came */
    bool in_eof, out_eof, shut, verbose;
};

static void cat_help(FILE *f)
{
    fprintf(f,
            "usage: jet cat -l --link lan:NAME [--station K] [--chan C] [-v]\n"
            "       jet cat --link lan:NAME [--station K] [--timeout SECS] [-v] STATION:CHAN\n"
            "       jet cat --proto tcp ...: over TCP, see jet cat --proto tcp --help\n\n"
            "netcat over RBS, the Jetstream reliable byte stream: stdin goes to the peer, the\n"
            "peer's bytes go to stdout.  -l listens on channel C (default %d) and serves one\n"
            "connection; otherwise connects to the listener on STATION:CHAN.\n\n"
            "  -l, --listen     listen instead of connecting\n"
            "  -v, --verbose    at the end, say how the received bytes were written, the\n"
            "                   receive rate and the retransmissions\n"
            "  --link LINK      lan:NAME\n"
            "  --station K      take station K (default: the first free one)\n"
            "  --chan C         channel to listen on (default %d)\n"
            "  --timeout SECS   connect: give up after this long (default 10)\n\n"
            "stdout:\n"
            "  a regular file opened with > or 1<> (not O_APPEND), that stderr does not also\n"
            "  write to: each received segment, once its CRC is checked, is written to its\n"
            "  place, B + its offset in the stream, B being the file's offset when jet cat\n"
            "  started (in order or not).  jet cat writes those bytes only: it never\n"
            "  moves the file's offset and never truncates the file, so the stream is at\n"
            "  [B, B + length) and the offset is still B afterwards (a later write through the\n"
            "  same open file starts at B again: to write after the stream, use >>).\n"
            "  anything else: a pipe, a terminal, a file opened with >> (O_APPEND, e.g. a log\n"
            "  other processes append to), a file stderr also goes to: the bytes are written\n"
            "  in order with write(), like cat; with >> each write is appended whole, after\n"
            "  whatever the other writers appended before it.\n\n"
            "A failed transfer exits 1 with one line on stderr that says why and how many bytes\n"
            "of the stream stdout holds: they are the stream's first bytes, in order.  Nothing\n"
            "is cut off.  With a regular file (not >>), bytes that came out of order may also\n"
            "stand beyond them, at their own places in [B, B + length), after a gap.\n"
            "Exit status: 0 both directions complete, 1 failure, 2 usage error.\n",
            DEFAULT_CHAN, DEFAULT_CHAN);
}

/* What stdout holds of the stream, for a failure message (" (...)"). */
static const char *held(struct cat *k, char *b, size_t cap)
{
    if (!k->c) {
        b[0] = 0;
    } else if (k->out_eof) {
        snprintf(b, cap, " (the whole stream received, %" PRIu64 " bytes, is in stdout)",
                 k->out_off);
    } else if (k->sink) {
        uint64_t n = jet_rbs_recv_placed(k->c);
        k->out_off = n > k->out_off ? n : k->out_off;
        snprintf(b, cap,
                 " (stdout holds the stream's first %" PRIu64 " bytes, at offset %lld; bytes "
                 "received out of order may stand beyond them)",
                 k->out_off, (long long)k->out_base);
    } else {
        snprintf(b, cap, " (stdout holds the stream's first %" PRIu64 " bytes)", k->out_off);
    }
    return b;
}

static int fail(struct cat *k, const char *what, long rc)
{
    const char *why = k->c ? jet_rbs_error(k->c) : "";
    char h[200];
    return cat_say("jet: %s: %s%s", what, why[0] ? why : strerror((int)-rc), held(k, h, sizeof h));
}

/* Moves stdin into free blocks and queues them.  1 if it did something, 0 if not,
 * negative on failure (message printed). */
static int pump_in(struct cat *k)
{
    int did = 0;
    uint64_t ck[NBLK];
    int n = jet_rbs_completed(k->c, ck, NBLK, 0);
    if (n < 0 && n != -EAGAIN) {
        fail(k, "connection", n);
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (ck[i] < NBLK)
            k->busy[ck[i]] = false, did = 1;
    while (!k->in_eof) {
        int b = -1;
        for (int i = 0; i < NBLK && b < 0; i++)
            if (!k->busy[i])
                b = i;
        if (b < 0 || !cat_readable(STDIN_FILENO))
            break;
        size_t fill = 0;
        int reads = cat_read_in(k->blk[b], BLK, &fill, &k->in_eof);
        if (reads < 0)
            return -1;
        did |= reads > 0;
        if (!fill)
            break;
        int rc = jet_rbs_send_ref(k->c, k->blk[b], fill, (uint64_t)b);
        if (rc) {
            fail(k, "send", rc);
            return -1;
        }
        k->busy[b] = true;
    }
    if (k->in_eof && !k->shut) {
        int rc = jet_rbs_shutdown(k->c);
        if (rc) {
            fail(k, "shutdown", rc);
            return -1;
        }
        k->shut = true;
    }
    return did;
}

/* Writes what the ring holds to stdout, OUT_CHUNK at most per call (so a slow reader
 * of a pipe delays the station's driving by one write at most); sink mode: notes how
 * far the library wrote the file.  1 / 0 / negative as pump_in. */
static int pump_out(struct cat *k)
{
    int did = 0;
    size_t budget = OUT_CHUNK;
    while (!k->out_eof && budget) {
        const uint8_t *p;
        ssize_t n = jet_rbs_recv_ready(k->c, &p, 0);
        if (n == -EAGAIN)
            break;
        if (n < 0) {
            fail(k, "receive", n);
            return -1;
        }
        did = 1;
        uint64_t now = jet_now_ns();
        if (n == 0) {
            k->out_eof = true;
            k->t_end = now;
            break;
        }
        if (!k->t_first)
            k->t_first = now;
        if (k->sink) { /* already in the file */
            k->out_off += (uint64_t)n;
            continue;
        }
        size_t len = (size_t)n < budget ? (size_t)n : budget;
        ssize_t w = write(k->out_fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) { /* somebody made stdout non-blocking */
            struct pollfd o = {.fd = k->out_fd, .events = POLLOUT};
            poll(&o, 1, 10);
            break;
        }
        if (w <= 0) {
            char h[200];
            cat_say("jet: writing stdout: %s%s", w < 0 ? strerror(errno) : "nothing written",
                    held(k, h, sizeof h));
            return -1;
        }
        k->out_off += (uint64_t)w;
        budget -= (size_t)w;
        jet_rbs_recv_consume(k->c, (size_t)w);
    }
    return did;
}

/* Sleeps until the station or stdin has something, or the next RBS timer (cat_nap). */
static void nap(struct cat *k)
{
    bool want_in = false; /* stdin matters only while a block is free for it */
    for (int i = 0; i < NBLK && !k->in_eof; i++)
        want_in |= !k->busy[i];
    bool active = jet_now_ns() - k->last_rx < CAT_ACTIVE_NS || jet_rbs_send_pending(k->c);
    cat_nap(k->s, want_in, active, &k->last_rx);
}

/* -v: how the received bytes were written (the counters of the library's writes), and
 * how the connection fared. */
static void report(struct cat *k)
{
    struct jet_rbs_stats st;
    if (!k->verbose || !k->c)
        return;
    jet_rbs_stats(k->c, &st);
    if (k->sink)
        cat_say("jet cat: sink: %" PRIu64 " bytes received in order; %" PRIu64
                " segments written into the file by pwrite once their CRC held (%" PRIu64
                " bytes, %" PRIu64 " segments out of order)",
                jet_rbs_recv_placed(k->c), st.sink_writes, st.sink_bytes, st.ooo_segs);
    else
        cat_say("jet cat: ring: %" PRIu64 " bytes received and written out of the ring",
                k->out_off);
    cat_say_rate(k->out_off, k->t_first, k->t_end);
    cat_say("jet cat: sent %" PRIu64 " payload bytes in %" PRIu64 " segments, %" PRIu64
            " retransmitted (%" PRIu64 " timeouts); srtt %.0f us",
            st.bytes_out, st.segs_out, st.retransmits, st.timeouts, (double)st.srtt_ns / 1e3);
}

static int run(struct cat *k)
{
    for (;;) {
        int rc = jet_rbs_poll(k->s);
        if (rc < 0)
            return cat_say("jet: %s", jet_station_error(k->s));
        if (rc > 0)
            k->last_rx = jet_now_ns();
        int a = pump_in(k);
        if (a < 0)
            return 1;
        int b = pump_out(k);
        if (b < 0)
            return 1;
        if (k->in_eof && k->out_eof && jet_rbs_send_pending(k->c) == 0)
            break;
        if (cat_stop)
            return cat_say("jet cat: stopped by signal %d", cat_stop);
        if (!a && !b && !rc)
            nap(k);
    }
    report(k);
    int rc = jet_rbs_close(k->c, CLOSE_NS);
    if (rc) {
        int r = fail(k, "close", rc);
        k->c = NULL;
        return r;
    }
    k->c = NULL;
    return 0;
}

/* Whether fds a and b are the same file. */
static bool same_file(int a, int b)
{
    struct stat x, y;
    return fstat(a, &x) == 0 && fstat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

int cmd_cat(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++) /* --proto tcp: cat_tcp.c; rbs: here */
        if (!strcmp(argv[i], "--proto") && !strcmp(argv[i + 1], "tcp"))
            return cmd_cat_tcp(argc, argv);
    const char *link = NULL, *target = NULL;
    bool listen = false, verbose = false;
    int station = -1;
    uint64_t chan = DEFAULT_CHAN, timeout_ns = 10000000000ull;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t u;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            cat_help(stdout);
            return 0;
        } else if (!strcmp(a, "-l") || !strcmp(a, "--listen")) {
            listen = true;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            verbose = true;
        } else if (a[0] == '-' && a[1] && !v) {
            return usage_error("cat", "%s: unknown option or missing value", a);
        } else if (!strcmp(a, "--link")) {
            link = v, i++;
        } else if (!strcmp(a, "--proto")) {
            if (strcmp(v, "rbs"))
                return usage_error("cat", "protocol '%s' is not available (rbs or tcp)", v);
            i++;
        } else if (!strcmp(a, "--station")) {
            if (jet_parse_u64(v, &u) || u >= 65535)
                return usage_error("cat", "bad --station '%s'", v);
            station = (int)u, i++;
        } else if (!strcmp(a, "--chan")) {
            if (jet_parse_u64(v, &chan) || chan == 0 || chan >= UINT32_MAX)
                return usage_error("cat", "bad --chan '%s' (channel 0 is reserved)", v);
            i++;
        } else if (!strcmp(a, "--timeout")) {
            if (jet_parse_duration(v, &timeout_ns) || !timeout_ns || timeout_ns > INT64_MAX)
                return usage_error("cat", "bad --timeout '%s'", v);
            i++;
        } else if (a[0] == '-' && a[1]) {
            return usage_error("cat", "unknown option '%s'", a);
        } else if (!target) {
            target = a;
        } else {
            return usage_error("cat", "one STATION:CHAN only ('%s'?)", a);
        }
    }
    if (!link)
        return usage_error("cat", "say which link: --link lan:NAME");
    if (listen == (target != NULL))
        return usage_error("cat", listen ? "-l takes no STATION:CHAN (use --chan)"
                                         : "say where to connect (STATION:CHAN), or -l to listen");
    uint64_t dst_st = 0, dst_ch = 0;
    if (target) {
        char buf[64];
        const char *colon = strchr(target, ':');
        if (!colon || (size_t)(colon - target) >= sizeof buf)
            return usage_error("cat", "'%s' is not STATION:CHAN", target);
        memcpy(buf, target, (size_t)(colon - target));
        buf[colon - target] = 0;
        if (jet_parse_u64(buf, &dst_st) || dst_st >= 65535 || jet_parse_u64(colon + 1, &dst_ch) ||
            dst_ch == 0 || dst_ch >= UINT32_MAX)
            return usage_error("cat", "'%s' is not STATION:CHAN", target);
    }

    struct cat k = {.out_fd = STDOUT_FILENO, .verbose = verbose};
    struct stat sb;
    int fl = fcntl(STDOUT_FILENO, F_GETFL);
    off_t pos = lseek(STDOUT_FILENO, 0, SEEK_CUR); /* reads the offset, moves nothing */
    if (fstat(STDOUT_FILENO, &sb) == 0 && S_ISREG(sb.st_mode) && fl >= 0 && !(fl & O_APPEND) &&
        pos >= 0 && !same_file(STDOUT_FILENO, STDERR_FILENO)) {
        k.sink = true; /* `>` or `1<>`; `>>`, and `>f 2>&1`, write in order from the ring */
        k.out_base = pos;
    }
    bool nomem = false;
    if (!k.sink)
        nomem = !(k.ring = malloc(RING));
    for (int i = 0; i < NBLK; i++)
        nomem |= !(k.blk[i] = malloc(BLK));
    int ret = 1;
    if (nomem) {
        ret = cat_say("jet: out of memory");
        goto out;
    }
    struct jet_err err = {0};
    int rc = jet_station_open(link, station, &k.s, &err);
    if (rc) {
        ret = cat_say("jet: %s", jet_err_str(&err, rc));
        goto out;
    }
    struct jet_rbs_opts o = {.rcvbuf = RING, .sndbuf = 64 << 10, .max_refs = NBLK};
    if (listen) {
        struct jet_rbs_listener *l;
        rc = jet_rbs_listen(k.s, (uint32_t)chan, &o, &l);
        if (rc) {
            ret = cat_say("jet: cannot listen on channel %llu: %s", (unsigned long long)chan,
                          rc == -EADDRINUSE ? "the channel is in use" : strerror(-rc));
            goto close;
        }
        cat_say("jet cat: listening on %s station %u channel %llu", link, jet_station_addr(k.s),
                (unsigned long long)chan);
        rc = jet_rbs_accept(l, &k.c, -1);
        if (!rc) /* before anything arrives */
            rc = k.sink ? jet_rbs_recv_sink(k.c, STDOUT_FILENO, (uint64_t)k.out_base, RING)
                        : jet_rbs_recv_register(k.c, k.ring, RING);
        jet_rbs_listener_close(l);
        if (rc) {
            ret = cat_say("jet: accept: %s", strerror(-rc));
            goto close;
        }
    } else if (k.sink) {
        o.sink = true;
        o.sink_fd = STDOUT_FILENO;
        o.sink_off = (uint64_t)k.out_base;
    } else {
        o.ring = k.ring;
        o.ring_len = RING;
    }
    if (!listen) {
        rc =
            jet_rbs_connect(k.s, (uint16_t)dst_st, (uint32_t)dst_ch, &o, &k.c, (int64_t)timeout_ns);
        if (rc) {
            const char *why = k.c ? jet_rbs_error(k.c) : "";
            ret = cat_say("jet: connect: %s", why[0] ? why : strerror(-rc));
            goto close;
        }
    }
    cat_catch_signals();
    k.last_rx = jet_now_ns();
    ret = run(&k);
close:
    if (k.c) {
        report(&k);
        jet_rbs_abort(k.c);
        k.c = NULL;
    }
    jet_rbs_station_fini(k.s, 1000000000ll);
    jet_station_close(k.s);
out:
    for (int i = 0; i < NBLK; i++)
        free(k.blk[i]);
    free(k.ring);
    return ret;
}
