/* jet cat: netcat over RBS (include/jet/rbs.h).
 *
 *   jet cat -l --link lan:NAME [--station K] [--chan C]    listen, serve one connection
 *   jet cat --link lan:NAME [--station K] STATION:CHAN     connect
 *
 * Both ways at once: stdin goes to the peer, the peer's bytes to stdout.  Each side
 * shuts its sending half down at the end of its stdin; the program ends once both
 * directions are finished (and everything it sent is acknowledged).
 *
 * One event loop, no threads: it polls the station's fd and stdin (jet_rbs_arm /
 * jet_rbs_fd / jet_rbs_timeout, the epoll pattern of rbs.h), and each round
 *   - reads stdin into one of NBLK blocks and queues the block by reference
 *     (jet_rbs_send_ref: the block is copied once, into the frame), reusing blocks as
 *     jet_rbs_completed hands them back;
 *   - when stdout is a regular file (not opened O_APPEND): receives in sink mode
 *     (jet_rbs_recv_sink at stdout's current offset): the library pwrite()s each
 *     segment's payload from the pool straight to its place in the file, in order or
 *     not, so a received file costs one copy, pool -> page cache.  The loop only
 *     learns how far the file is complete (jet_rbs_recv_ready) and, at the end, leaves
 *     stdout's offset after the last byte.  If the connection fails, bytes that came
 *     out of order beyond the complete part and made the file longer are cut off
 *     again, and the exit code is 1.
 *   - otherwise (pipe, terminal, socket, O_APPEND file): receives into a registered
 *     ring (the library places each segment's payload at its stream offset in the
 *     ring, one copy from the pool) and write()s the ring's readable bytes out, then
 *     frees them (jet_rbs_recv_consume): one copy more, ring -> stdout.
 * There is no intermediate buffer either way; -v says which way was taken. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "jet/rbs.h"
#include "util/parse.h"

enum { NBLK = 8, BLK = 1 << 20, RING = 8 << 20, DEFAULT_CHAN = 5300 };
#define CLOSE_NS 10000000000ll

struct cat {
    struct jet_station *s;
    struct jet_rbs_conn *c;
    uint8_t *blk[NBLK];
    bool busy[NBLK];
    uint8_t *ring; /* the receive ring (not in sink mode) */
    int out_fd;
    bool sink;        /* stdout is a regular file: the library writes into it */
    off_t out_base;   /* sink: file offset of stream byte 0 */
    off_t out_size0;  /* sink: the file's size before */
    uint64_t out_off; /* stream bytes written out (sink: in order, by the library) */
    bool in_eof, out_eof, shut, verbose;
};

static void cat_help(FILE *f)
{
    fprintf(f,
            "usage: jet cat -l --link lan:NAME [--station K] [--chan C]\n"
            "       jet cat --link lan:NAME [--station K] STATION:CHAN\n\n"
            "netcat over RBS, the Jetstream reliable byte stream: stdin goes to the peer, the\n"
            "peer's bytes go to stdout.  -l listens on channel C (default %d) and serves one\n"
            "connection; otherwise connects to the listener on STATION:CHAN.  When stdout is a\n"
            "regular file, each received segment is written straight from the link's buffer\n"
            "into it at its offset (one copy); otherwise the bytes go through a receive ring.\n\n"
            "  -l, --listen     listen instead of connecting\n"
            "  -v, --verbose    at the end, say how the received bytes were written\n"
            "  --link LINK      lan:NAME\n"
            "  --station K      take station K (default: the first free one)\n"
            "  --chan C         channel to listen on (default %d)\n"
            "  --timeout SECS   connect: give up after this long (default 10)\n",
            DEFAULT_CHAN, DEFAULT_CHAN);
}

static bool readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

static int fail(struct cat *k, const char *what, long rc)
{
    const char *why = k->c ? jet_rbs_error(k->c) : "";
    return die("%s: %s", what, why[0] ? why : strerror((int)-rc));
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
        k->busy[ck[i]] = false, did = 1;
    while (!k->in_eof) {
        int b = -1;
        for (int i = 0; i < NBLK && b < 0; i++)
            if (!k->busy[i])
                b = i;
        if (b < 0 || !readable(STDIN_FILENO))
            break;
        ssize_t r = read(STDIN_FILENO, k->blk[b], BLK);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            break;
        if (r < 0) {
            die("reading stdin: %s", strerror(errno));
            return -1;
        }
        did = 1;
        if (r == 0) {
            k->in_eof = true;
            break;
        }
        int rc = jet_rbs_send_ref(k->c, k->blk[b], (size_t)r, (uint64_t)b);
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

/* Writes what the ring holds to stdout (sink mode: notes how far the library wrote the
 * file).  1 / 0 / negative as pump_in. */
static int pump_out(struct cat *k)
{
    int did = 0;
    while (!k->out_eof) {
        const uint8_t *p;
        ssize_t n = jet_rbs_recv_ready(k->c, &p, 0);
        if (n == -EAGAIN)
            break;
        if (n < 0) {
            fail(k, "receive", n);
            return -1;
        }
        did = 1;
        if (n == 0) {
            k->out_eof = true;
            break;
        }
        if (k->sink) { /* already in the file */
            k->out_off += (uint64_t)n;
            continue;
        }
        ssize_t w = write(k->out_fd, p, (size_t)n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            die("writing stdout: %s", w < 0 ? strerror(errno) : "nothing written");
            return -1;
        }
        k->out_off += (uint64_t)w;
        jet_rbs_recv_consume(k->c, (size_t)w);
    }
    return did;
}

/* Sleeps until the station or stdin has something, or the next RBS timer. */
static void nap(struct cat *k)
{
    if (jet_rbs_arm(k->s) != 0)
        return;
    int64_t t = jet_rbs_timeout(k->s);
    int ms = t < 0 || t > 50000000 ? 50 : (int)(t / 1000000);
    if (jet_rbs_send_pending(k->c) && ms > 1)
        ms = 1; /* a busy link does not ring the doorbell when it frees up */
    struct pollfd p[2] = {{.fd = jet_rbs_fd(k->s), .events = POLLIN},
                          {.fd = STDIN_FILENO, .events = POLLIN}};
    bool want_in = false; /* stdin matters only while a block is free for it */
    for (int i = 0; i < NBLK && !k->in_eof; i++)
        want_in |= !k->busy[i];
    poll(p, want_in ? 2 : 1, ms);
}

/* -v: how the received bytes were written (the counters of the library's writes). */
static void report(struct cat *k)
{
    struct jet_rbs_stats st;
    if (!k->verbose || !k->c)
        return;
    jet_rbs_stats(k->c, &st);
    if (k->sink)
        fprintf(stderr,
                "jet cat: sink: %" PRIu64 " bytes received in order; %" PRIu64
                " segments placed straight into the file by pwrite (%" PRIu64 " bytes, %" PRIu64
                " segments out of order)\n",
                jet_rbs_recv_placed(k->c), st.sink_writes, st.sink_bytes, st.ooo_segs);
    else
        fprintf(stderr, "jet cat: ring: %" PRIu64 " bytes received and written out of the ring\n",
                k->out_off);
}

/* Sink mode, at the end: stdout's offset after the bytes written in order; after a
 * failure, the file cut back to them if out-of-order bytes beyond made it longer. */
static void finish_file(struct cat *k, bool ok)
{
    off_t end = k->out_base + (off_t)k->out_off;
    struct stat sb;
    if (!ok && fstat(k->out_fd, &sb) == 0) {
        off_t keep = end > k->out_size0 ? end : k->out_size0;
        if (sb.st_size > keep && ftruncate(k->out_fd, keep) == 0)
            fprintf(stderr, "jet cat: stdout cut back to the %" PRIu64 " bytes received in order\n",
                    k->out_off);
    }
    lseek(k->out_fd, end, SEEK_SET);
}

static int run(struct cat *k)
{
    for (;;) {
        int rc = jet_rbs_poll(k->s);
        if (rc < 0)
            return die("%s", jet_station_error(k->s));
        int a = pump_in(k);
        if (a < 0)
            return 1;
        int b = pump_out(k);
        if (b < 0)
            return 1;
        if (k->in_eof && k->out_eof && jet_rbs_send_pending(k->c) == 0)
            break;
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

int cmd_cat(int argc, char **argv)
{
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
        } else if (!strcmp(a, "--station")) {
            if (jet_parse_u64(v, &u) || u >= 65535)
                return usage_error("cat", "bad --station '%s'", v);
            station = (int)u, i++;
        } else if (!strcmp(a, "--chan")) {
            if (jet_parse_u64(v, &chan) || chan == 0 || chan >= UINT32_MAX)
                return usage_error("cat", "bad --chan '%s' (channel 0 is reserved)", v);
            i++;
        } else if (!strcmp(a, "--timeout")) {
            if (jet_parse_duration(v, &timeout_ns) || !timeout_ns)
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
    off_t pos = lseek(STDOUT_FILENO, 0, SEEK_CUR);
    if (fstat(STDOUT_FILENO, &sb) == 0 && S_ISREG(sb.st_mode) && fl >= 0 && !(fl & O_APPEND) &&
        pos >= 0) {
        k.sink = true; /* `>` or `1<>`; `>>` appends with write from the ring */
        k.out_base = pos;
        k.out_size0 = sb.st_size;
    }
    bool nomem = false;
    if (!k.sink)
        nomem = !(k.ring = malloc(RING));
    for (int i = 0; i < NBLK; i++)
        nomem |= !(k.blk[i] = malloc(BLK));
    int ret = 1;
    if (nomem) {
        ret = die("out of memory");
        goto out;
    }
    struct jet_err err = {0};
    int rc = jet_station_open(link, station, &k.s, &err);
    if (rc) {
        ret = die("%s", jet_err_str(&err, rc));
        goto out;
    }
    struct jet_rbs_opts o = {.rcvbuf = RING, .sndbuf = 64 << 10, .max_refs = NBLK};
    if (listen) {
        struct jet_rbs_listener *l;
        rc = jet_rbs_listen(k.s, (uint32_t)chan, &o, &l);
        if (rc) {
            ret = die("cannot listen on channel %llu: %s", (unsigned long long)chan,
                      rc == -EADDRINUSE ? "the channel is in use" : strerror(-rc));
            goto close;
        }
        fprintf(stderr, "jet cat: listening on %s station %u channel %llu\n", link,
                jet_station_addr(k.s), (unsigned long long)chan);
        rc = jet_rbs_accept(l, &k.c, -1);
        if (!rc) /* before anything arrives */
            rc = k.sink ? jet_rbs_recv_sink(k.c, STDOUT_FILENO, (uint64_t)k.out_base, RING)
                        : jet_rbs_recv_register(k.c, k.ring, RING);
        jet_rbs_listener_close(l);
        if (rc) {
            ret = die("accept: %s", strerror(-rc));
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
            ret = fail(&k, "connect", rc);
            goto close;
        }
    }
    ret = run(&k);
close:
    if (k.c) {
        report(&k);
        if (k.sink)
            k.out_off = jet_rbs_recv_placed(k.c);
        jet_rbs_abort(k.c);
    }
    if (k.sink)
        finish_file(&k, ret == 0);
    jet_rbs_station_fini(k.s, 1000000000ll);
    jet_station_close(k.s);
out:
    for (int i = 0; i < NBLK; i++)
        free(k.blk[i]);
    free(k.ring);
    return ret;
}
