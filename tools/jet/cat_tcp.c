/* jet cat --proto tcp: netcat over the library's TCP (include/jet/tcp.h), on any link
 * that carries IPv4; its peer may be another jet cat, or nc, socat, curl on Linux.
 *
 *   jet cat --proto tcp -l PORT --link LINK [--ip ADDR/PLEN] ...   listen, serve one
 *   jet cat --proto tcp --link LINK [--ip ADDR/PLEN] ... HOST PORT     connect
 *
 * Both ways at once: stdin goes to the peer, the peer's bytes to stdout.  Each side
 * shuts its sending half down at the end of its stdin; the program ends once both
 * directions are finished and everything it sent is acknowledged (as jet cat over RBS,
 * cat.c, whose loop this one follows).
 *
 * One loop, no threads.  Each round it drives the station (jet_station_poll), then
 *   - moves stdin to the connection: read into a block, then jet_tcp_send (copied into
 *     the send ring) until the block is gone; with --zerocopy, NBLK blocks queued by
 *     reference (jet_tcp_send_ref), reused as jet_tcp_completed hands them back;
 *   - moves what was received to stdout, OUT_CHUNK at most per round: jet_tcp_recv
 *     into a buffer, or with --zerocopy read in place from a registered ring
 *     (jet_tcp_recv_ready, recv_consume), then write() in order;
 *   - sleeps when there is nothing to do (nap): in the station's wait, or on both the
 *     station's fd and stdin while the connection is idle, never past TCP's timers.
 * A dead peer (its process killed, its link gone) is found by TCP itself: keepalive
 * probes while nothing comes in, a user timeout while sent data stays unacknowledged;
 * --dead-after SECS bounds both (default 5 s).
 * A failed transfer exits 1 with one line on stderr: why, and how much of the stream
 * stdout holds. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cat_common.h"
#include "jet/ip.h"
#include "jet/stack.h"
#include "tcp_cli.h"
#include "util/clock.h"
#include "util/parse.h"

enum {
    NBLK = 32,             /* --zerocopy: stdin blocks in flight */
    BLK = 256 << 10,       /* bytes per block */
    RING = 8 << 20,        /* --zerocopy: the registered receive ring */
    OUT_CHUNK = 256 << 10, /* bytes moved to stdout per round */
};
#define CLOSE_NS 10000000000ll

struct tcat {
    struct jet_station *s;
    struct jet_tcp_conn *c;
    bool zerocopy, verbose;
    uint8_t *blk[NBLK]; /* copy mode: blk[0] only */
    bool busy[NBLK];
    size_t fill, sent; /* copy mode: bytes in blk[0], of them sent */
    uint8_t *out;      /* copy mode: OUT_CHUNK bytes; --zerocopy: the ring */
    uint64_t out_off, in_bytes;
    uint64_t last_rx, t_first, t_end;
    bool in_eof, out_eof, shut;
    char where[64];
};

static int fail(struct tcat *k, const char *what, long rc)
{
    return cat_say("jet: %s: %s: %s (stdout holds the stream's first %" PRIu64 " bytes)", what,
                   k->where, tcp_cli_why(k->c, (int)rc), k->out_off);
}

/* stdin -> the connection.  1 if it did something, 0 if not, -1 on failure. */
static int pump_in(struct tcat *k)
{
    int did = 0;
    if (k->zerocopy) {
        uint64_t ck[NBLK];
        int n = jet_tcp_completed(k->c, ck, NBLK, 0);
        if (n < 0 && n != -EAGAIN && n != -ETIMEDOUT)
            return fail(k, "connection", n), -1;
        for (int i = 0; i < n; i++)
            if (ck[i] < NBLK)
                k->busy[ck[i]] = false, did = 1;
        for (int b = 0; b < NBLK && !k->in_eof; b++) {
            if (k->busy[b])
                continue;
            size_t fill = 0;
            if (!cat_readable(STDIN_FILENO))
                break;
            if (cat_read_in(k->blk[b], BLK, &fill, &k->in_eof) < 0)
                return -1;
            did = 1;
            if (!fill)
                continue;
            int rc = jet_tcp_send_ref(k->c, k->blk[b], fill, (uint64_t)b);
            if (rc)
                return fail(k, "send", rc), -1;
            k->busy[b] = true;
            k->in_bytes += fill;
        }
    } else {
        for (;;) {
            if (k->sent == k->fill && !k->in_eof) {
                k->fill = k->sent = 0;
                if (!cat_readable(STDIN_FILENO))
                    break;
                if (cat_read_in(k->blk[0], BLK, &k->fill, &k->in_eof) < 0)
                    return -1;
                did = 1;
            }
            if (k->sent == k->fill)
                break;
            ssize_t n = jet_tcp_send(k->c, k->blk[0] + k->sent, k->fill - k->sent, 0);
            if (n == -EAGAIN || n == -ETIMEDOUT)
                break;
            if (n < 0)
                return fail(k, "send", n), -1;
            k->sent += (size_t)n;
            k->in_bytes += (uint64_t)n;
            did = 1;
        }
    }
    if (k->in_eof && !k->shut && (k->zerocopy || k->sent == k->fill)) {
        int rc = jet_tcp_shutdown(k->c);
        if (rc)
            return fail(k, "shutdown", rc), -1;
        k->shut = true;
        did = 1;
    }
    return did;
}

static int write_out(struct tcat *k, const uint8_t *p, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t w = write(STDOUT_FILENO, p + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd o = {.fd = STDOUT_FILENO, .events = POLLOUT};
            poll(&o, 1, 10);
            continue;
        }
        if (w <= 0) {
            cat_say("jet: writing stdout: %s (stdout holds the stream's first %" PRIu64 " bytes)",
                    w < 0 ? strerror(errno) : "nothing written", k->out_off);
            return -1;
        }
        off += (size_t)w;
        k->out_off += (uint64_t)w;
    }
    return 0;
}

/* The connection -> stdout.  1 / 0 / -1 as pump_in. */
static int pump_out(struct tcat *k)
{
    if (k->out_eof)
        return 0;
    const uint8_t *p = k->out;
    ssize_t n =
        k->zerocopy ? jet_tcp_recv_ready(k->c, &p, 0) : jet_tcp_recv(k->c, k->out, OUT_CHUNK, 0);
    if (n == -EAGAIN || n == -ETIMEDOUT)
        return 0;
    if (n < 0)
        return fail(k, "receive", n), -1;
    uint64_t now = jet_now_ns();
    if (n == 0) {
        k->out_eof = true;
        k->t_end = now;
        return 1;
    }
    if (!k->t_first)
        k->t_first = now;
    size_t len = (size_t)n < OUT_CHUNK ? (size_t)n : OUT_CHUNK;
    if (write_out(k, p, len))
        return -1;
    if (k->zerocopy)
        jet_tcp_recv_consume(k->c, len);
    return 1;
}

static void nap(struct tcat *k)
{
    bool want_in = !k->in_eof;
    if (k->zerocopy) {
        bool free_blk = false;
        for (int i = 0; i < NBLK; i++)
            free_blk |= !k->busy[i];
        want_in &= free_blk;
    } else {
        want_in &= k->sent == k->fill;
    }
    bool active = jet_now_ns() - k->last_rx < CAT_ACTIVE_NS || jet_tcp_send_pending(k->c);
    cat_nap(k->s, want_in, active, &k->last_rx);
}

static void report(struct tcat *k)
{
    if (!k->verbose || !k->c)
        return;
    struct jet_tcp_info ti;
    jet_tcp_info(k->c, &ti);
    cat_say_rate(k->out_off, k->t_first, k->t_end);
    cat_say("jet cat: sent %" PRIu64 " bytes; %s, mss %u, %" PRIu64 " segments out, %" PRIu64
            " retransmitted (%" PRIu64 " timeouts), %" PRIu64 " SACK blocks in; srtt %.0f us",
            k->in_bytes, ti.cc ? ti.cc : "?", ti.snd_mss, ti.segs_out, ti.retransmits, ti.timeouts,
            ti.sack_blocks_in, (double)ti.srtt_ns / 1e3);
}

static int run(struct tcat *k)
{
    for (;;) {
        int rc = jet_station_poll(k->s);
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
        int e = jet_tcp_errno(k->c); /* failed while we had nothing to send or read */
        if (e)
            return fail(k, k->out_eof ? "send" : "receive", e > 0 ? -e : e);
        if (k->shut && k->out_eof && jet_tcp_send_pending(k->c) == 0)
            break;
        if (cat_stop)
            return cat_say("jet cat: stopped by signal %d", cat_stop);
        if (!a && !b && !rc)
            nap(k);
    }
    report(k);
    int rc = jet_tcp_close(k->c, CLOSE_NS);
    if (rc) {
        int r = fail(k, "close", rc);
        k->c = NULL;
        return r;
    }
    k->c = NULL;
    return 0;
}

static void cat_tcp_help(FILE *f)
{
    fprintf(f,
            "usage: jet cat --proto tcp -l PORT --link LINK [--station K] [OPTIONS]\n"
            "       jet cat --proto tcp --link LINK [--station K] [OPTIONS] HOST PORT\n\n"
            "netcat over the library's TCP: stdin goes to the peer, the peer's bytes go to\n"
            "stdout.  -l listens on PORT and serves one connection; otherwise connects to\n"
            "HOST PORT.  The peer may be another jet cat or any TCP (nc, socat on Linux).\n\n"
            "  -l PORT, --listen PORT  listen on this TCP port\n"
            "  HOST               an IPv4 address, or a station number K of the LAN for its\n"
            "                     default address 198.18.0.(K+1)\n"
            "  --link LINK        lan:NAME, tap:IF, or any link the library opens\n"
            "  --station K        take station K (default: the first free one)\n"
            "%s"
            "  --timeout SECS     connect: give up after this long (default 10)\n"
            "  --dead-after SECS  a peer that answers nothing for this long is taken for dead:\n"
            "                     keepalive probes and TCP's user timeout (default 5)\n"
            "  -v, --verbose      at the end, the receive rate and the connection's counters\n\n"
            "Each side shuts its sending half down at the end of its stdin; jet cat exits once\n"
            "both directions are complete.  A failed transfer exits 1 with one line on stderr\n"
            "that says why and how many bytes of the stream stdout holds (the stream's first).\n"
            "Exit status: 0 both directions complete, 1 failure, 2 usage error.\n",
            tcp_options_help);
}

int cmd_cat_tcp(int argc, char **argv)
{
    const char *link = NULL, *host = NULL, *port_s = NULL;
    struct tcp_cli t = {.ip.station = -1};
    uint64_t port = 0, timeout_ns = 10000000000ull, dead_ns = 5000000000ull;
    bool listen = false, verbose = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int r;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            cat_tcp_help(stdout);
            return 0;
        } else if (!strcmp(a, "--proto")) {
            i++; /* tcp: cmd_cat looked */
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            verbose = true;
        } else if ((r = tcp_cli_option("cat", a, v, &t)) != 0) {
            if (r < 0)
                return 2;
            i += r - 1;
        } else if (a[0] == '-' && a[1] && !v) {
            return usage_error("cat", "%s: unknown option or missing value", a);
        } else if (!strcmp(a, "-l") || !strcmp(a, "--listen")) {
            if (jet_parse_u64(v, &port) || port == 0 || port > 65535)
                return usage_error("cat", "bad -l '%s' (a TCP port, 1 to 65535)", v);
            listen = true, i++;
        } else if (!strcmp(a, "--link")) {
            link = v, i++;
        } else if (!strcmp(a, "--station")) {
            uint64_t u;
            if (jet_parse_u64(v, &u) || u >= 65535)
                return usage_error("cat", "bad --station '%s'", v);
            t.ip.station = (int)u, i++;
        } else if (!strcmp(a, "--timeout") || !strcmp(a, "--dead-after")) {
            uint64_t *d = a[2] == 't' ? &timeout_ns : &dead_ns;
            if (jet_parse_duration(v, d) || !*d || *d > 3600000000000ull)
                return usage_error("cat", "bad %s '%s'", a, v);
            i++;
        } else if (a[0] == '-' && a[1]) {
            return usage_error("cat", "unknown option '%s'", a);
        } else if (!host) {
            host = a;
        } else if (!port_s) {
            port_s = a;
        } else {
            return usage_error("cat", "HOST PORT only ('%s'?)", a);
        }
    }
    if (!link)
        return usage_error("cat", "say which link: --link lan:NAME or --link tap:IF");
    uint32_t addr = 0;
    if (listen && host)
        return usage_error("cat", "-l PORT takes no HOST PORT");
    if (!listen) {
        if (!host || !port_s)
            return usage_error("cat", "say where to connect (HOST PORT), or -l PORT to listen");
        if (tcp_cli_host(host, &addr))
            return usage_error("cat", "bad HOST '%s' (an IPv4 address, or a station number)", host);
        if (jet_parse_u64(port_s, &port) || port == 0 || port > 65535)
            return usage_error("cat", "bad PORT '%s' (1 to 65535)", port_s);
    }
    signal(SIGPIPE, SIG_IGN); /* a closed stdout is an error said in words */
    cat_catch_signals();

    struct tcat k = {.zerocopy = t.zerocopy, .verbose = verbose};
    bool nomem = !(k.out = malloc(k.zerocopy ? RING : OUT_CHUNK));
    for (int i = 0; i < (k.zerocopy ? NBLK : 1); i++)
        nomem |= !(k.blk[i] = malloc(BLK));
    int ret = 1, rc;
    if (nomem) {
        ret = cat_say("jet: out of memory");
        goto out;
    }
    rc = tcp_cli_open("cat", link, t.ip.station, &t, &k.s);
    if (rc) {
        ret = rc;
        goto out;
    }
    struct jet_tcp_opts o = t.o;
    o.keepalive_ns = dead_ns / 5;
    o.keepalive_intvl_ns = dead_ns / 5;
    o.keepalive_probes = 4;
    o.user_timeout_ns = dead_ns;
    if (k.zerocopy) {
        o.max_refs = NBLK;
        if (!o.rcvbuf || o.rcvbuf > RING)
            o.rcvbuf = RING;
    }
    char b[16];
    if (listen) {
        struct jet_tcp_listener *l;
        rc = jet_tcp_listen(k.s, 0, (uint16_t)port, &o, &l);
        if (rc) {
            ret = cat_say("jet: cannot listen on TCP port %llu: %s", (unsigned long long)port,
                          rc == -EADDRINUSE ? "the port is in use" : strerror(-rc));
            goto close;
        }
        struct jet_ip_cfg c;
        jet_ip_config(k.s, &c);
        cat_say("jet cat: listening on %s port %llu (%s)", jet_ip_format(c.addr, b),
                (unsigned long long)port, link);
        do
            rc = jet_tcp_accept(l, &k.c, 200000000);
        while ((rc == -ETIMEDOUT || rc == -EAGAIN) && !cat_stop);
        if (!rc && k.zerocopy) { /* what came before moves in; too much: TCP's own ring */
            rc = jet_tcp_recv_register(k.c, k.out, RING);
            rc = rc == -EBUSY ? 0 : rc;
        }
        jet_tcp_listener_close(l);
        if (rc) {
            ret = cat_say("jet: accept: %s", tcp_cli_why(k.c, rc));
            goto close;
        }
        uint32_t pa;
        uint16_t pp;
        jet_tcp_peer(k.c, &pa, &pp);
        snprintf(k.where, sizeof k.where, "%s port %u", jet_ip_format(pa, b), pp);
    } else {
        if (k.zerocopy)
            o.ring = k.out, o.ring_len = RING;
        snprintf(k.where, sizeof k.where, "%s port %llu", jet_ip_format(addr, b),
                 (unsigned long long)port);
        rc = jet_tcp_connect(k.s, addr, (uint16_t)port, &o, &k.c, (int64_t)timeout_ns);
        if (rc) {
            ret = cat_say("jet: connect to %s: %s", k.where, tcp_cli_why(k.c, rc));
            goto close;
        }
    }
    k.last_rx = jet_now_ns();
    ret = run(&k);
close:
    if (k.c) {
        report(&k);
        jet_tcp_abort(k.c);
        k.c = NULL;
    }
    tcp_cli_close(k.s, 1000000000ll);
out:
    for (int i = 0; i < NBLK; i++)
        free(k.blk[i]);
    free(k.out);
    return ret;
}
