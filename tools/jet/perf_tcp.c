/* jet perf --proto tcp: bulk throughput and ping-pong round-trip time over the
 * library's TCP (include/jet/tcp.h), like iperf3, on any link that carries IPv4.
 * `-s` listens on port P (default 5201), `-c --to HOST` connects; without --link a
 * private LAN (MTU 65536 unless --mtu says otherwise) is created and both ends forked.
 *
 * Session, on one connection (the shape of perf_rbs.c):
 *   client -> server  hello: "TCPPERF1", mode u32 (1 = ping-pong) | message size u32,
 *              the client's station number u64 (JET_LINK_NO_ADDR when its link has none)
 *   server -> client  hello ack: "TCPPERF1", the server's station number u64
 *   bulk:      the client sends -l byte messages for -t seconds or -n bytes, then shuts
 *              down: copied by jet_tcp_send, or with --zerocopy by reference
 *              (jet_tcp_send_ref: the same unchanged buffer again and again).  The
 *              server reads them: copied by jet_tcp_recv into a 4 MiB application ring
 *              it moves along (as bench/tcp_ref does), or with --zerocopy in place in a
 *              registered ring (jet_tcp_recv_register, recv_ready, recv_consume: bytes
 *              that came before accept move into it; in TCP's own ring should they not
 *              fit, -EBUSY); it times first byte to end of stream.
 *   ping-pong: the client sends one message and waits for it to come back, -n times
 *              or for -t seconds; both ends busy-poll, no Nagle.
 *   server -> client  result (big-endian u64s): bytes, rx_ns, cpu_ns, retransmits,
 *              after the client's end of stream; then both close.
 *
 * A dead peer: the station numbers exchanged in the hello let each end ask the LAN
 * whether the other's process still holds its station (perf.h), between slices of
 * PERF_PEER_CHECK_NS of every wait, as RBS perf does; on links that cannot tell, TCP's
 * own timers end it (user timeout and keepalive, PEER_TIMEOUT_NS). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jet/ip.h"
#include "jet/lan.h"
#include "perf.h"
#include "util/clock.h"

enum { HELLO = 24, HELLO_ACK = 16, RESULT = 32, APP_RING = 4 << 20 };
#define IO_NS           10000000000ll
#define PEER_TIMEOUT_NS 10000000000ull /* TCP's own bound on an unanswered peer */
#define SLICE_NS        ((int64_t)PERF_PEER_CHECK_NS)
#define PEER_GONE       (-EOWNERDEAD) /* the peer's station is held by no process */


/* One end's connection and what it knows of its peer. */
struct tend {
    struct jet_station *s;
    struct jet_tcp_conn *c;
    uint32_t peer_station; /* JET_LINK_NO_ADDR until the hello says */
    char where[64];        /* "198.18.0.2 port 5201", for messages */
};

static int conn_errno(const struct jet_tcp_conn *c)
{
    int e = jet_tcp_errno(c);
    return e > 0 ? -e : e;
}

/* A blocking call returned -ETIMEDOUT after a slice: the connection's own error, or
 * PEER_GONE, or -ETIMEDOUT once t ns passed since start, else 0 (go on). */
static int waited(struct tend *e, uint64_t start, int64_t t)
{
    int err = conn_errno(e->c);
    if (err)
        return err;
    if (e->peer_station != JET_LINK_NO_ADDR && !perf_peer_alive(e->s, e->peer_station))
        return PEER_GONE;
    if (perf_stop)
        return -EINTR;
    return jet_now_ns() - start >= (uint64_t)t ? -ETIMEDOUT : 0;
}

static int send_all(struct tend *e, const void *buf, size_t len, int64_t t)
{
    uint64_t start = jet_now_ns();
    for (size_t off = 0; off < len;) {
        ssize_t n = jet_tcp_send(e->c, (const uint8_t *)buf + off, len - off, SLICE_NS);
        if ((n == -ETIMEDOUT || n == -EAGAIN) && !(n = waited(e, start, t)))
            continue;
        if (n < 0)
            return (int)n;
        off += (size_t)n;
    }
    return 0;
}

static ssize_t recv_some(struct tend *e, void *buf, size_t len, int64_t t)
{
    uint64_t start = jet_now_ns();
    for (;;) {
        ssize_t n = jet_tcp_recv(e->c, buf, len, SLICE_NS);
        if ((n == -ETIMEDOUT || n == -EAGAIN) && !(n = waited(e, start, t)))
            continue;
        return n;
    }
}

static int recv_all(struct tend *e, void *buf, size_t len, int64_t t)
{
    for (size_t off = 0; off < len;) {
        ssize_t n = recv_some(e, (uint8_t *)buf + off, len - off, t);
        if (n == 0)
            return -ECONNRESET; /* end of stream too early */
        if (n < 0)
            return (int)n;
        off += (size_t)n;
    }
    return 0;
}

static int conn_die(struct tend *e, const char *what, int rc)
{
    if (rc == PEER_GONE || (rc == -EHOSTUNREACH && e->peer_station != JET_LINK_NO_ADDR &&
                            !perf_peer_alive(e->s, e->peer_station))) /* TCP saw it first */
        return perf_die_gone(e->s, e->peer_station, what, NULL);
    if (rc == -EINTR)
        return die("interrupted");
    return die("%s: %s: %s", what, e->where, tcp_cli_why(e->c, rc));
}

static uint32_t my_station(struct jet_station *s)
{
    return jet_station_link(s)->caps.addr;
}

static void describe(struct tend *e)
{
    uint32_t a;
    uint16_t p;
    char b[16];
    jet_tcp_peer(e->c, &a, &p);
    snprintf(e->where, sizeof e->where, "%s port %u", jet_ip_format(a, b), p);
}

/* ---- server ---- */

static int serve_one(struct jet_station *s, struct jet_tcp_listener *l, const struct perf_opts *o)
{
    struct tend e = {.s = s, .peer_station = JET_LINK_NO_ADDR};
    int rc;
    do
        rc = jet_tcp_accept(l, &e.c, 200000000);
    while ((rc == -ETIMEDOUT || rc == -EAGAIN) && !perf_stop);
    if (rc)
        return perf_stop ? die("interrupted") : die("accept: %s", strerror(-rc));
    describe(&e);
    uint8_t *ring = NULL;
    uint32_t ring_len = o->tcpo.o.rcvbuf ? o->tcpo.o.rcvbuf : APP_RING;
    if (o->tcpo.zerocopy) { /* right after accept: what came before moves into it */
        ring = malloc(ring_len);
        rc = ring ? jet_tcp_recv_register(e.c, ring, ring_len) : -ENOMEM;
        if (rc == -EBUSY) { /* more came than fits: read in place in TCP's own ring */
            free(ring);
            ring = NULL;
            rc = 0;
        }
        if (rc) {
            rc = die("cannot register a receive ring: %s", tcp_cli_why(e.c, rc));
            jet_tcp_abort(e.c);
            free(ring);
            return rc;
        }
    }
    uint64_t cpu0 = perf_cpu_ns();
    uint8_t hello[HELLO], ack[HELLO_ACK] = "TCPPERF1", res[RESULT] = {0};
    rc = recv_all(&e, hello, HELLO, IO_NS);
    if (!rc && memcmp(hello, "TCPPERF1", 8))
        rc = -EPROTO;
    if (!rc) {
        uint64_t ps = get64(hello + 16);
        e.peer_station = ps > UINT32_MAX ? JET_LINK_NO_ADDR : (uint32_t)ps;
        put64(ack + 8, my_station(s));
        rc = send_all(&e, ack, HELLO_ACK, IO_NS);
    }
    if (rc) {
        rc = rc == -EPROTO ? die("%s: not a jet perf client", e.where) : conn_die(&e, "hello", rc);
        jet_tcp_abort(e.c);
        free(ring);
        return rc;
    }
    bool pingpong = (get64(hello + 8) >> 32) == 1;
    uint32_t msg = (uint32_t)get64(hello + 8);
    struct perf_rx_clock k = {0};
    struct perf_iv iv = {0}; /* -i: the receiver's interval lines, from the first byte */
    if (pingpong) {
        jet_tcp_set_nodelay(e.c, true);
        jet_tcp_busy_poll(e.c, true); /* like the client: round trips, not CPU, matter */
        uint8_t *buf = malloc(msg ? msg : 1);
        for (rc = buf ? 0 : -ENOMEM; !rc && !perf_stop;) {
            ssize_t n = recv_some(&e, buf, msg, IO_NS);
            if (n == 0)
                break;
            rc = n < 0 ? (int)n : send_all(&e, buf, (size_t)n, IO_NS);
            k.bytes += n > 0 ? (uint64_t)n : 0;
        }
        free(buf);
    } else {
        if (!ring && !o->tcpo.zerocopy) /* copy: an application ring, moved along */
            ring = malloc(APP_RING), ring_len = APP_RING;
        uint64_t start = jet_now_ns();
        size_t pos = 0;
        for (rc = ring || o->tcpo.zerocopy ? 0 : -ENOMEM; !rc && !perf_stop;) {
            const uint8_t *p;
            ssize_t n;
            if (o->tcpo.zerocopy) {
                n = jet_tcp_recv_ready(e.c, &p, SLICE_NS);
            } else {
                size_t want = ring_len - pos < msg ? ring_len - pos : msg;
                n = jet_tcp_recv(e.c, ring + pos, want, SLICE_NS);
            }
            if ((n == -ETIMEDOUT || n == -EAGAIN) && !(n = waited(&e, start, IO_NS)))
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
            if (o->tcpo.zerocopy)
                jet_tcp_recv_consume(e.c, (size_t)n); /* read in place: nothing copied out */
            else if ((pos += (size_t)n) == ring_len)
                pos = 0;
        }
    }
    if (k.first)
        perf_iv_end(&iv, k.last, k.bytes);
    perf_iv_free(&iv);
    if (rc || perf_stop) {
        rc = conn_die(&e, "receive", rc ? rc : -EINTR);
        jet_tcp_abort(e.c);
        free(ring);
        return rc;
    }
    struct jet_tcp_info ti;
    jet_tcp_info(e.c, &ti);
    perf_stream_result_put(res, k.bytes, k.last - k.first, perf_cpu_ns() - cpu0, ti.retransmits);
    rc = send_all(&e, res, RESULT, IO_NS);
    if (rc)
        rc = conn_die(&e, "result", rc);
    jet_tcp_close(e.c, IO_NS);
    free(ring);
    if (!o->json && !o->one_off) {
        perf_stream_served(o, k.bytes, (double)(k.last - k.first) / 1e9);
        printf("served %llu bytes\n", (unsigned long long)k.bytes), fflush(stdout);
    }
    return rc ? 1 : 0;
}

static int run_tcp_server(struct jet_station *s, const struct perf_opts *o)
{
    struct jet_tcp_listener *l;
    struct jet_tcp_opts lo = o->tcpo.o;
    lo.user_timeout_ns = PEER_TIMEOUT_NS;
    lo.keepalive_ns = PEER_TIMEOUT_NS / 4;
    lo.keepalive_intvl_ns = PEER_TIMEOUT_NS / 8;
    lo.keepalive_probes = 4;
    if (o->tcpo.zerocopy && !lo.rcvbuf)
        lo.rcvbuf = APP_RING;
    int rc = jet_tcp_listen(s, 0, (uint16_t)o->chan, &lo, &l);
    if (rc)
        return die("cannot listen on TCP port %u: %s", o->chan,
                   rc == -EADDRINUSE ? "the port is in use" : strerror(-rc));
    if (!o->json && !o->one_off) {
        struct jet_ip_cfg c;
        char b[16];
        jet_ip_config(s, &c);
        printf("listening on %s port %u\n", jet_ip_format(c.addr, b), o->chan);
        fflush(stdout);
    }
    int ret = 0;
    do
        ret = serve_one(s, l, o);
    while (!o->one_off && !perf_stop);
    jet_tcp_listener_close(l);
    return perf_stop && !o->one_off ? 0 : ret;
}

/* ---- client ---- */

static void report_tcp(const struct perf_opts *o, const char *link, const uint8_t *res, double secs,
                       uint64_t cpu, const struct jet_tcp_info *ti, uint64_t *rtt, uint64_t nrtt,
                       uint64_t sent, double snd_secs, const struct perf_iv *iv)
{
    struct perf_stream_sum r;
    perf_stream_sum(o, res, secs, rtt, nrtt, &r);
    if (o->json) {
        struct json j;
        perf_json_begin(&j, o, "tcp", link);
        json_u64(&j, "msg", o->msg);
        json_bool(&j, "zerocopy", o->tcpo.zerocopy);
        json_str(&j, "cc", ti->cc ? ti->cc : "");
        json_u64(&j, "mss", ti->snd_mss);
        perf_stream_json_rate(&j, &r);
        json_u64(&j, "retransmits", ti->retransmits);
        json_u64(&j, "timeouts", ti->timeouts);
        json_u64(&j, "fast_retransmits", ti->fast_retransmits);
        json_u64(&j, "segs_out", ti->segs_out);
        json_u64(&j, "cwnd", ti->cwnd);
        json_dbl(&j, "srtt_us", (double)ti->srtt_ns / 1e3);
        perf_stream_json_end(&j, o, &r, cpu, rtt, nrtt, iv);
        return;
    }
    perf_stream_text_head(o, "TCP", link, &r, nrtt, o->tcpo.zerocopy ? ", zero-copy" : "", sent,
                          snd_secs, ti->retransmits, rtt);
    printf("%s, mss %u, cwnd %llu, retransmits %llu (timeouts %llu), srtt %.1f us, "
           "cpu: sender %.2f s, receiver %.2f s\n",
           ti->cc ? ti->cc : "?", ti->snd_mss, (unsigned long long)ti->cwnd,
           (unsigned long long)ti->retransmits, (unsigned long long)ti->timeouts,
           (double)ti->srtt_ns / 1e3, (double)cpu / 1e9, (double)r.rcpu / 1e9);
    fflush(stdout);
}

/* Bulk: -l byte messages until -t or -n; 0 or the error.  *sent: bytes sent so
 * far; iv ticks with what was acknowledged. */
static int bulk(struct tend *e, const struct perf_opts *o, const uint8_t *buf, uint64_t t0,
                struct perf_iv *iv, uint64_t *sentp)
{
    uint64_t sent = *sentp = 0;
    size_t off = 0; /* copy mode: how much of the current message went */
    for (;;) {
        uint64_t now = jet_now_ns();
        *sentp = sent;
        if (perf_stop || (o->bytes && sent >= o->bytes) ||
            (o->duration_ns && now - t0 >= o->duration_ns && !off))
            return 0;
        if (now >= iv->next) /* acknowledged so far */
            perf_iv_due(iv, now, sent - jet_tcp_send_pending(e->c));
        /* The current message: it started at sent - off (copy mode: a send may take
         * part of it), and the last one ends at -n, so len - off never exceeds what is
         * left to send (were len taken from sent, a message more than half sent when
         * fewer than -l bytes remain would make len - off wrap, and the send would run
         * past the buffer and past -n). */
        uint64_t len = o->msg;
        if (o->bytes && o->bytes - (sent - off) < len)
            len = o->bytes - (sent - off);
        if (!o->tcpo.zerocopy) {
            ssize_t n = jet_tcp_send(e->c, buf + off, len - off, SLICE_NS);
            if (n == -ETIMEDOUT || n == -EAGAIN) {
                int w = waited(e, now, IO_NS);
                if (w && w != -ETIMEDOUT)
                    return w;
                continue;
            }
            if (n < 0)
                return (int)n;
            sent += (uint64_t)n;
            off = off + (size_t)n == len ? 0 : off + (size_t)n;
            continue;
        }
        uint64_t ck[64];
        int n = jet_tcp_completed(e->c, ck, 64, 0);
        if (n < 0 && n != -EAGAIN && n != -ETIMEDOUT)
            return n;
        int rc = jet_tcp_send_ref(e->c, buf, len, 0); /* the same unchanged buffer */
        if (rc == -EAGAIN) { /* every reference in flight: wait for one to come back */
            n = jet_tcp_completed(e->c, ck, 64, SLICE_NS);
            if (n == -ETIMEDOUT || n == -EAGAIN) {
                int w = waited(e, now, IO_NS);
                if (w && w != -ETIMEDOUT)
                    return w;
            } else if (n < 0) {
                return n;
            }
            continue;
        }
        if (rc)
            return rc;
        sent += len;
    }
}

static int run_tcp_client(struct jet_station *s, const struct perf_opts *o)
{
    struct jet_tcp_opts co = o->tcpo.o;
    co.busy_poll = o->pingpong;
    co.nodelay = co.nodelay || o->pingpong;
    co.user_timeout_ns = PEER_TIMEOUT_NS;
    co.keepalive_ns = PEER_TIMEOUT_NS / 4;
    co.keepalive_intvl_ns = PEER_TIMEOUT_NS / 8;
    co.keepalive_probes = 4;
    struct tend e = {.s = s, .peer_station = JET_LINK_NO_ADDR};
    char b[16];
    snprintf(e.where, sizeof e.where, "%s port %u", jet_ip_format(o->to_addr, b), o->chan);
    /* A private LAN's server starts beside us: wait until its station is there (the
     * first ARP request is not lost), and take its RST as "not listening yet". */
    uint64_t until = jet_now_ns() + 5000000000ull;
    while (o->tcp_private && !perf_peer_alive(s, o->to) && jet_now_ns() < until && !perf_stop)
        usleep(1000);
    int rc;
    for (;;) {
        rc = jet_tcp_connect(s, o->to_addr, (uint16_t)o->chan, &co, &e.c, 5000000000ll);
        if (rc != -ECONNREFUSED || !o->tcp_private || jet_now_ns() >= until || perf_stop)
            break;
        jet_tcp_abort(e.c);
        e.c = NULL;
        usleep(2000);
    }
    if (rc) {
        rc = die("connect to %s: %s", e.where, tcp_cli_why(e.c, rc));
        if (e.c)
            jet_tcp_abort(e.c);
        return rc;
    }
    uint8_t hello[HELLO] = "TCPPERF1", ack[HELLO_ACK], res[RESULT];
    put64(hello + 8, (uint64_t)(o->pingpong ? 1 : 0) << 32 | o->msg);
    put64(hello + 16, my_station(s));
    uint8_t *buf = calloc(1, o->msg);
    uint64_t *rtt = NULL, nrtt = 0, cap = 0;
    if (!buf) {
        jet_tcp_abort(e.c);
        return die("out of memory");
    }
    for (uint32_t i = 0; i < o->msg; i++)
        buf[i] = (uint8_t)(i * 7 + 1);
    rc = send_all(&e, hello, HELLO, IO_NS);
    if (!rc)
        rc = recv_all(&e, ack, HELLO_ACK, IO_NS);
    if (!rc && memcmp(ack, "TCPPERF1", 8))
        rc = -EPROTO;
    if (!rc) {
        uint64_t ps = get64(ack + 8);
        e.peer_station = ps > UINT32_MAX ? JET_LINK_NO_ADDR : (uint32_t)ps;
    }
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
            rc = send_all(&e, buf, o->msg, IO_NS);
            if (!rc)
                rc = recv_all(&e, buf, o->msg, IO_NS);
            if (!rc)
                rc = perf_rtt_add(&rtt, &nrtt, &cap, jet_now_ns() - ts);
        }
        sent = nrtt * o->msg;
    } else if (!rc) {
        rc = bulk(&e, o, buf, t0, &iv, &sent);
    }
    uint64_t t_sent = jet_now_ns();
    if (!rc && perf_stop)
        rc = -EINTR;
    if (!rc)
        rc = jet_tcp_shutdown(e.c);
    if (!rc)
        rc = recv_all(&e, res, RESULT, IO_NS); /* after everything sent was received */
    uint64_t t1 = jet_now_ns(), cpu = perf_cpu_ns() - cpu0;
    int ret = 0;
    if (rc)
        perf_iv_free(&iv);
    if (rc == -EPROTO) {
        ret = die("%s: not a jet perf server", e.where);
    } else if (rc) {
        ret = conn_die(&e, "session", rc);
    } else {
        struct jet_tcp_info ti;
        jet_tcp_info(e.c, &ti);
        perf_iv_end(&iv, t1, o->pingpong ? nrtt : get64(res)); /* all acknowledged */
        report_tcp(o, jet_station_link(s)->name, res, (double)(t1 - t0) / 1e9, cpu, &ti, rtt, nrtt,
                   sent, (double)((o->pingpong ? t1 : t_sent) - t0) / 1e9, &iv);
    }
    perf_iv_free(&iv);
    if (ret)
        jet_tcp_abort(e.c); /* a failed session: nothing to wait for */
    else
        jet_tcp_close(e.c, IO_NS);
    free(rtt);
    free(buf);
    return ret;
}

/* ---- command line ---- */

const char perf_tcp_examples[] =
    "  jet perf --proto tcp                   private LAN: 3 s of 128 KiB messages, summary\n"
    "  jet perf --proto tcp -t 10 -i 1 --cc newreno --loss 0.001\n"
    "  jet perf --proto tcp --pingpong -n 100000 --json\n"
    "  two ends on a LAN (two shells; station K is 198.18.0.(K+1)):\n"
    "    jet lan create office --mtu 65536\n"
    "    jet perf --proto tcp -s --link lan:office --station 1\n"
    "    jet perf --proto tcp -c --to 1 --link lan:office -t 10 -i 1\n"
    "  over a real link (root; an address on each host's network):\n"
    "    host A: jet perf --proto tcp -s --link packet:eth1 --ip 198.18.40.2/24\n"
    "    host B: jet perf --proto tcp -c --to 198.18.40.2 --link packet:eth1 \\\n"
    "            --ip 198.18.40.1/24 -t 10 -i 1\n";

void perf_tcp_help(FILE *f)
{
    fprintf(f,
            "usage: jet perf --proto tcp [-s | -c --to HOST] [--link LINK [--station K]] "
            "[--ip ADDR/PLEN] [OPTIONS]\n\n"
            "Bulk throughput or round-trip time of the library's TCP (include/jet/tcp.h), like\n"
            "iperf3, on any link that carries IPv4.  Without --link, jet creates a private LAN\n"
            "(MTU 65536 unless --mtu), runs both ends, prints the result and removes the LAN.\n\n"
            "  -s, --server       listen (serves sessions until interrupted; -1 for one)\n"
            "  -c, --client       connect and send\n"
            "  --to HOST          the server (with -c): an IPv4 address, or a station number K\n"
            "                     of the LAN for its default address 198.18.0.(K+1)\n"
            "  --link LINK        lan:NAME, tap:IF, or any link the library opens\n"
            "  --station K        take station K (default: the first free one)\n"
            "  --port P, -p P     the server's TCP port (default 5201)\n"
            "  -l BYTES           message size (default 128K; 1 with --pingpong)\n"
            "  -n BYTES           send this many bytes (round trips with --pingpong)\n"
            "  -t SECONDS         send for this long (default 3 s when -n is not given)\n"
            "  -i SECONDS         print an interval line this often\n"
            "  --pingpong         round-trip time, one message at a time (both ends busy-poll,\n"
            "                     no Nagle)\n"
            "  --json             one JSON object with the result\n"
            "  -1, --one-off      server: serve one session, then exit\n"
            "%s"
            "An end whose peer's process ends (even by kill -9) says so and exits 1: on a LAN\n"
            "within about 0.2 s, elsewhere when TCP gives up (10 s without an answer).\n"
            "Exit status: 0 done, 1 failure (reason on stderr), 2 usage error.\n\n"
            "private LAN options (no --link):\n%s\n"
            "output: see jet perf --help; --json: docs/perf-json.md.\n\n"
            "examples:\n%s",
            tcp_options_help, lan_options_help, perf_tcp_examples);
}

static int run_end(const struct perf_opts *o, const char *link, int station, bool server)
{
    struct jet_station *s;
    int rc = tcp_cli_open("perf", link, station, &o->tcpo, &s);
    if (rc)
        return rc;
    rc = server ? run_tcp_server(s, o) : run_tcp_client(s, o);
    tcp_cli_close(s, 1000000000ll);
    return rc;
}

static int tcp_end(const void *o, const char *link, int station, bool server)
{
    return run_end(o, link, station, server);
}

int perf_tcp_main(struct perf_opts *op)
{
    struct perf_opts o = *op;
    perf_catch_stop();
    if (o.link)
        return run_end(&o, o.link, o.station, o.server);
    if (!o.mtu_given)
        o.lan.mtu = JET_LAN_MAX_MTU;
    /* Private LAN: the server is station 1, 198.18.0.2 unless --ip says otherwise. */
    if (o.tcpo.ip.has_ip)
        return usage_error("perf", "--ip names one station: use it with --link");
    struct perf_opts so = o;
    so.one_off = true;
    so.interval_ns = 0;
    o.to_addr = TCP_CLI_NET | 2;
    o.to = 1;
    o.tcp_private = true;
    return perf_private(
        &o.lan, o.json ? NULL : (o.pingpong ? "TCP ping-pong" : "TCP, one sender, one receiver"),
        tcp_end, &so, &o);
}
