/* jet perf --proto rbs: bulk throughput and ping-pong round-trip time over RBS
 * (include/jet/rbs.h), like iperf3.  `-s` listens on channel C (default 5201), `-c --to
 * STATION` connects; without --link a private LAN is created and both ends forked.
 *
 * Session, on one connection:
 *   client -> server  hello: "RBSPERF1", mode u32 (1 = ping-pong), message size u32
 *   bulk:      the client sends -l byte messages by reference (single copy: buffer ->
 *              pool, no send ring) for -t seconds or -n bytes, then shuts down; the
 *              server reads them in place in the receive ring (one copy: pool -> ring),
 *              frees them without copying them out, and times first byte to end.
 *   ping-pong: the client sends one message and waits for it to come back, -n times
 *              or for -t seconds; both ends busy-poll.
 *   server -> client  result (big-endian u64s): bytes, rx_ns, cpu_ns, retransmits,
 *              after the client's end of stream; then both close. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jet/lan.h"
#include "jet/rbs.h"
#include "perf.h"
#include "util/clock.h"
#include "util/parse.h"

enum { HELLO = 16, RESULT = 32 };
#define IO_NS 10000000000ll



/* Blocking calls wait in slices of PERF_PEER_CHECK_NS: between two, the peer's
 * station is looked at (perf.h).  RBS alone finds a dead peer only when its
 * retransmissions or keepalives go unanswered, after seconds; a peer that is
 * merely slow is left to RBS's own timers. */
#define SLICE_NS ((int64_t)PERF_PEER_CHECK_NS)
#define PEER_GONE (-EOWNERDEAD) /* the peer's station is held by no process */

static uint32_t peer_of(const struct jet_rbs_conn *c)
{
    struct jet_rbs_stats st;
    jet_rbs_stats(c, &st);
    return st.peer_station;
}

/* A blocking call on c returned -ETIMEDOUT: the connection's own error (RBS
 * gave up: its retransmissions went unanswered, also -ETIMEDOUT), or else a
 * slice ran without result: 0 to go on, PEER_GONE, or -ETIMEDOUT once t ns
 * have passed since start. */
static int waited(struct jet_rbs_conn *c, uint64_t start, int64_t t)
{
    int e = jet_rbs_errno(c);
    if (e)
        return e;
    if (!perf_peer_alive(jet_rbs_station(c), peer_of(c)))
        return PEER_GONE;
    return jet_now_ns() - start >= (uint64_t)t ? -ETIMEDOUT : 0;
}

/* Sends / receives exactly len bytes (blocking, bounded by t). */
static int send_all(struct jet_rbs_conn *c, const void *buf, size_t len, int64_t t)
{
    uint64_t start = jet_now_ns();
    for (size_t off = 0; off < len;) {
        ssize_t n = jet_rbs_send(c, (const uint8_t *)buf + off, len - off, SLICE_NS);
        if (n == -ETIMEDOUT && !(n = waited(c, start, t)))
            continue;
        if (n < 0)
            return (int)n;
        off += (size_t)n;
    }
    return 0;
}

/* Like jet_rbs_recv, in slices. */
static ssize_t recv_some(struct jet_rbs_conn *c, void *buf, size_t len, int64_t t)
{
    uint64_t start = jet_now_ns();
    for (;;) {
        ssize_t n = jet_rbs_recv(c, buf, len, SLICE_NS);
        if (n == -ETIMEDOUT && !(n = waited(c, start, t)))
            continue;
        return n;
    }
}

static int recv_all(struct jet_rbs_conn *c, void *buf, size_t len, int64_t t)
{
    for (size_t off = 0; off < len;) {
        ssize_t n = recv_some(c, (uint8_t *)buf + off, len - off, t);
        if (n == 0)
            return -ECONNRESET; /* end of stream too early */
        if (n < 0)
            return (int)n;
        off += (size_t)n;
    }
    return 0;
}

static int conn_die(struct jet_rbs_conn *c, const char *what, int rc)
{
    if (rc == PEER_GONE)
        return perf_die_gone(jet_rbs_station(c), peer_of(c), what, NULL);
    const char *why = c ? jet_rbs_error(c) : "";
    return die("%s: %s", what, why[0] ? why : strerror(-rc));
}

/* ---- server ---- */

static int serve_one(struct jet_rbs_listener *l, const struct perf_opts *o)
{
    struct jet_rbs_conn *c;
    int rc;
    do
        rc = jet_rbs_accept(l, &c, 200000000);
    while (rc == -ETIMEDOUT && !perf_stop);
    if (rc)
        return perf_stop ? die("interrupted") : die("accept: %s", strerror(-rc));
    uint64_t cpu0 = perf_cpu_ns();
    uint8_t hello[HELLO], res[RESULT] = {0};
    rc = recv_all(c, hello, HELLO, IO_NS);
    if (rc || memcmp(hello, "RBSPERF1", 8)) {
        rc = rc ? conn_die(c, "hello", rc) : die("not a jet perf client");
        jet_rbs_abort(c);
        return rc;
    }
    bool pingpong = (get64(hello + 8) >> 32) == 1;
    uint32_t msg = (uint32_t)get64(hello + 8);
    struct perf_rx_clock k = {0};
    struct perf_iv iv = {0}; /* -i: the receiver's interval lines, from the first byte */
    if (pingpong) {
        jet_rbs_busy_poll(c, true); /* like the client: round trips, not CPU, matter */
        uint8_t *buf = malloc(msg ? msg : 1);
        for (rc = 0; buf && !rc && !perf_stop;) {
            ssize_t n = recv_some(c, buf, msg, IO_NS);
            if (n == 0)
                break;
            rc = n < 0 ? (int)n : send_all(c, buf, (size_t)n, IO_NS);
            k.bytes += n > 0 ? (uint64_t)n : 0;
        }
        free(buf);
    } else {
        uint64_t start = jet_now_ns();
        for (rc = 0; !rc && !perf_stop;) {
            const uint8_t *p;
            ssize_t n = jet_rbs_recv_ready(c, &p, SLICE_NS);
            if (n == -ETIMEDOUT && !(n = waited(c, start, IO_NS)))
                continue;
            if (n == 0)
                break;
            if (n < 0) {
                rc = (int)n;
                break;
            }
            start = jet_now_ns(); /* the bound is on silence, not on the session */
            if (!k.first)
                perf_iv_init(&iv, o, start, 1, false);
            perf_rx_tick(&k, start, (uint64_t)n);
            perf_iv_tick(&iv, start, k.bytes);
            jet_rbs_recv_consume(c, (size_t)n); /* read in place: nothing copied out */
        }
    }
    if (k.first)
        perf_iv_end(&iv, k.last, k.bytes);
    perf_iv_free(&iv);
    if (rc || perf_stop) {
        rc = rc ? conn_die(c, "receive", rc) : die("interrupted");
        jet_rbs_abort(c);
        return rc;
    }
    struct jet_rbs_stats st;
    jet_rbs_stats(c, &st);
    perf_stream_result_put(res, k.bytes, k.last - k.first, perf_cpu_ns() - cpu0, st.retransmits);
    rc = send_all(c, res, RESULT, IO_NS);
    if (rc)
        rc = conn_die(c, "result", rc);
    int crc = jet_rbs_close(c, IO_NS);
    (void)crc;
    if (!o->json && !o->one_off) {
        perf_stream_served(o, k.bytes, (double)(k.last - k.first) / 1e9);
        printf("served %llu bytes\n", (unsigned long long)k.bytes), fflush(stdout);
    }
    return rc ? 1 : 0;
}

static int run_rbs_server(struct jet_station *s, const struct perf_opts *o)
{
    struct jet_rbs_listener *l;
    struct jet_rbs_opts ro = {.busy_poll = false, .nodelay = o->nodelay};
    int rc = jet_rbs_listen(s, o->chan, &ro, &l);
    if (rc)
        return die("cannot listen on channel %u: %s", o->chan, strerror(-rc));
    int ret = 0;
    do
        ret = serve_one(l, o);
    while (!o->one_off && !perf_stop);
    jet_rbs_listener_close(l);
    return perf_stop && !o->one_off ? 0 : ret;
}

/* ---- client ---- */

static void report_rbs(const struct perf_opts *o, const char *link, const uint8_t *res, double secs,
                       uint64_t cpu, const struct jet_rbs_stats *st, uint64_t *rtt, uint64_t nrtt,
                       uint64_t sent, double snd_secs, const struct perf_iv *iv)
{
    struct perf_stream_sum r;
    perf_stream_sum(o, res, secs, rtt, nrtt, &r);
    if (o->json) {
        struct json j;
        perf_json_begin(&j, o, "rbs", link);
        json_u64(&j, "msg", o->msg);
        perf_stream_json_rate(&j, &r);
        json_u64(&j, "retransmits", st->retransmits);
        json_u64(&j, "timeouts", st->timeouts);
        json_u64(&j, "fast_retransmits", st->fast_retransmits);
        json_dbl(&j, "srtt_us", (double)st->srtt_ns / 1e3);
        perf_stream_json_end(&j, o, &r, cpu, rtt, nrtt, iv);
        return;
    }
    perf_stream_text_head(o, "RBS", link, &r, nrtt, "", sent, snd_secs, st->retransmits, rtt);
    printf("retransmits %llu (timeouts %llu), srtt %.1f us, cpu: sender %.2f s, receiver %.2f s\n",
           (unsigned long long)st->retransmits, (unsigned long long)st->timeouts,
           (double)st->srtt_ns / 1e3, (double)cpu / 1e9, (double)r.rcpu / 1e9);
    fflush(stdout);
}

static int run_rbs_client(struct jet_station *s, const struct perf_opts *o)
{
    struct jet_rbs_opts co = {.busy_poll = o->pingpong, .nodelay = o->nodelay};
    struct jet_rbs_conn *c;
    int rc = jet_rbs_connect(s, (uint16_t)o->to, o->chan, &co, &c, 5000000000ll);
    if (rc) {
        rc = conn_die(c, "connect", rc);
        jet_rbs_abort(c);
        return rc;
    }
    uint8_t hello[HELLO] = "RBSPERF1", res[RESULT];
    put64(hello + 8, (uint64_t)(o->pingpong ? 1 : 0) << 32 | o->msg);
    uint8_t *buf = calloc(1, o->msg);
    uint64_t *rtt = NULL, nrtt = 0, cap = 0;
    if (!buf)
        return die("out of memory");
    for (uint32_t i = 0; i < o->msg; i++)
        buf[i] = (uint8_t)(i * 7 + 1);
    rc = send_all(c, hello, HELLO, IO_NS);
    uint64_t cpu0 = perf_cpu_ns(), t0 = jet_now_ns(), sent = 0;
    struct perf_iv iv; /* -i lines and the progress line, on clock reads made anyway */
    perf_iv_init(&iv, o, t0, 1, true);
    perf_iv_rtts(&iv, &rtt);
    if (!rc && o->pingpong) {
        for (uint64_t i = 0; !rc && i < o->count && !perf_stop; i++) {
            uint64_t ts = jet_now_ns();
            if (o->duration_ns && ts - t0 >= o->duration_ns)
                break;
            perf_iv_tick(&iv, ts, nrtt);
            rc = send_all(c, buf, o->msg, IO_NS);
            if (!rc)
                rc = recv_all(c, buf, o->msg, IO_NS);
            if (!rc)
                rc = perf_rtt_add(&rtt, &nrtt, &cap, jet_now_ns() - ts);
        }
        sent = nrtt * o->msg;
    } else if (!rc) {
        uint64_t inflight = 0;
        for (;;) {
            uint64_t ck[64];
            int n = jet_rbs_completed(c, ck, 64, 0);
            if (n < 0 && n != -EAGAIN) {
                rc = n;
                break;
            }
            inflight -= n > 0 ? (uint64_t)n : 0;
            uint64_t now = jet_now_ns();
            bool done = perf_stop || (o->bytes && sent >= o->bytes) ||
                        (o->duration_ns && now - t0 >= o->duration_ns);
            if (done)
                break;
            if (now >= iv.next) /* acknowledged so far */
                perf_iv_due(&iv, now, sent - jet_rbs_send_pending(c));
            uint64_t len = o->msg;
            if (o->bytes && o->bytes - sent < len)
                len = o->bytes - sent;
            rc = jet_rbs_send_ref(c, buf, len, 0); /* the same unchanged buffer, many times */
            if (rc == -EAGAIN) { /* every reference in flight: wait for one to come back */
                n = jet_rbs_completed(c, ck, 64, SLICE_NS);
                if (n == -ETIMEDOUT && jet_rbs_errno(c))
                    n = jet_rbs_errno(c); /* the connection failed, not the slice */
                else if (n == -ETIMEDOUT && !perf_peer_alive(s, o->to))
                    n = PEER_GONE;
                if (n < 0 && n != -ETIMEDOUT && n != -EAGAIN) {
                    rc = n;
                    break;
                }
                inflight -= n > 0 ? (uint64_t)n : 0;
                rc = 0;
                continue;
            }
            if (rc)
                break;
            inflight++;
            sent += len;
        }
        (void)inflight;
    }
    uint64_t t_sent = jet_now_ns();
    if (!rc)
        rc = jet_rbs_shutdown(c);
    if (!rc)
        rc = recv_all(c, res, RESULT, IO_NS); /* after everything sent was received */
    uint64_t t1 = jet_now_ns(), cpu = perf_cpu_ns() - cpu0;
    int ret = 0;
    if (rc) {
        perf_iv_free(&iv);
        ret = perf_stop ? die("interrupted") : conn_die(c, "session", rc);
    } else {
        struct jet_rbs_stats st;
        jet_rbs_stats(c, &st);
        perf_iv_end(&iv, t1, o->pingpong ? nrtt : get64(res)); /* all acknowledged */
        report_rbs(o, jet_station_link(s)->name, res, (double)(t1 - t0) / 1e9, cpu, &st, rtt, nrtt,
                   sent, (double)((o->pingpong ? t1 : t_sent) - t0) / 1e9, &iv);
    }
    perf_iv_free(&iv);
    if (ret)
        jet_rbs_abort(c); /* a failed session: nothing to wait for */
    else
        jet_rbs_close(c, IO_NS);
    free(rtt);
    free(buf);
    return ret;
}

/* ---- command line ---- */

const char perf_rbs_examples[] =
    "  jet perf --proto rbs                   private LAN: 3 s of 128 KiB messages, summary\n"
    "  jet perf --proto rbs -t 10 -i 1 --rate 1G --loss 0.01\n"
    "  jet perf --proto rbs --pingpong -n 100000 --json\n"
    "  two ends on a LAN (two shells):\n"
    "    jet lan create office --mtu 65536\n"
    "    jet perf --proto rbs -s --link lan:office --station 1\n"
    "    jet perf --proto rbs -c --to 1 --link lan:office -n 1G -i 1\n"
    "  over a real link (root; each host's own interface, the other's station):\n"
    "    host A: jet perf --proto rbs -s --link xdp:eth1 --station 1\n"
    "    host B: jet perf --proto rbs -c --to 1 --link xdp:eth1 --station 2 -t 10 -i 1\n";

void perf_rbs_help(FILE *f)
{
    fprintf(
        f,
        "usage: jet perf --proto rbs [-s | -c --to STATION] [--link lan:NAME [--station K]] "
        "[OPTIONS]\n\n"
        "Bulk throughput or round-trip time of RBS, the Jetstream reliable byte stream, like\n"
        "iperf3.  Without --link, jet creates a private LAN, runs both ends, prints the result\n"
        "and removes the LAN.\n\n"
        "  -s, --server       listen (serves sessions until interrupted; -1 for one)\n"
        "  -c, --client       connect and send\n"
        "  --to STATION       the server's station (with -c)\n"
        "  --link LINK        lan:NAME\n"
        "  --station K        take station K\n"
        "  --chan C           the server's channel (default 5201)\n"
        "  -l BYTES           message size (default 128K; 1 with --pingpong)\n"
        "  -n BYTES           send this many bytes (round trips with --pingpong)\n"
        "  -t SECONDS         send for this long (default 3 s when -n is not given)\n"
        "  -i SECONDS         print an interval line this often\n"
        "  --pingpong         round-trip time, one message at a time (both ends busy-poll)\n"
        "  --nodelay          no Nagle: each short write leaves at once (default: Nagle)\n"
        "  --json             one JSON object with the result\n"
        "  -1, --one-off      server: serve one session, then exit\n"
        "An end whose peer's process ends (even by kill -9) says so and exits 1 within\n"
        "about 0.2 s; a slow peer is left to RBS's timers.\n\n"
        "private LAN options (no --link):\n%s\n"
        "output: see jet perf --help; --json: docs/perf-json.md.\n\n"
        "examples:\n%s",
        lan_options_help, perf_rbs_examples);
}

static int run_end(const struct perf_opts *o, const char *link, int station, bool server)
{
    struct jet_err err = {0};
    struct jet_station *s;
    int rc = jet_station_open(link, station, &s, &err);
    if (rc)
        return die("%s", jet_err_str(&err, rc));
    rc = server ? run_rbs_server(s, o) : run_rbs_client(s, o);
    jet_rbs_station_fini(s, 1000000000ll);
    jet_station_close(s);
    return rc;
}

static int rbs_end(const void *o, const char *link, int station, bool server)
{
    return run_end(o, link, station, server);
}

int perf_rbs_main(struct perf_opts *op)
{
    struct perf_opts o = *op;
    perf_catch_stop();
    if (o.link)
        return run_end(&o, o.link, o.station, o.server);

    struct perf_opts so = o;
    so.one_off = true;
    so.interval_ns = 0; /* the client prints the intervals */
    so.to = 1;
    o.to = 1;
    return perf_private(
        &o.lan, o.json ? NULL : (o.pingpong ? "RBS ping-pong" : "RBS, one sender, one receiver"),
        rbs_end, &so, &o);
}
