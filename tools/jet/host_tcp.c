/* jet host's TCP services: echo (7), discard (9), daytime (13), chargen (19), HTTP
 * (80, host_http.c) and the iperf3 server (5201, src/app/iperf3_srv.h), all on
 * user-space TCP (jet/tcp.h) in jet host's one loop.  docs/host-services.md.
 *
 * Nothing here waits: every TCP call has timeout 0.  host.c polls the station, then
 * calls tcp_svc_run(), which
 *   1. accepts every connection the listeners hold (at most TSVC_MAX_CONNS served at
 *      once: beyond that the listeners' backlogs hold them, then SYN cookies);
 *   2. lets every connection do what it can now (jet_tcp_events says what):
 *        echo     send back what the receive ring holds, read in place: a peer
 *                 that does not read fills our send ring, the rest stays in the
 *                 receive ring and our window closes on the peer (back-pressure,
 *                 nothing buffered in between);
 *        discard  read in place and drop;
 *        daytime  one line at accept, then close;
 *        chargen  the RFC 864 pattern as long as the send ring takes it (so bounded
 *                 by the peer's reading); input is read and dropped;
 *        http     host_http.c;
 *        iperf3   bytes in go to the engine, its bytes out to the connection; the
 *                 engine's deadlines run here too;
 *      each connection does a bounded amount of work per round, so none starves the
 *      others;
 *   3. a connection that is finished is shut down (FIN after what is queued) and
 *      kept, reading and dropping, until the peer has acknowledged everything
 *      (FIN_WAIT_2, TIME_WAIT or CLOSED), then closed; LINGER_NS at most, then
 *      aborted.  A connection that failed is closed at once.
 * It returns whether anything happened; when nothing did, host.c sleeps in
 * jet_station_wait() (frames, link room, TCP's timers) at most tcp_svc_timeout(). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "app/iperf3_srv.h"
#include "cli.h"
#include "host_svc.h"
#include "util/clock.h"

enum {
    ROUNDS = 8,               /* reads or writes per connection per round */
    CHARGEN_LINE = 74,        /* 72 characters and CRLF */
    CHARGEN_PERIOD = 95 * CHARGEN_LINE, /* the pattern repeats after 95 lines */
    CHARGEN_CHUNK = 64 << 10, /* largest send from the pattern */
    IPERF3_IOV = 16,
};
#define LINGER_NS 10000000000ll /* a closing connection gets this long */

_Static_assert(IPERF3_SLOTS <= 256, "ih_conn is too small");

const struct tsvc_def tsvc_def[TSVC_N] = {
    [TSVC_ECHO] = {"echo", 7},       [TSVC_DISCARD] = {"discard", 9},
    [TSVC_DAYTIME] = {"daytime", 13}, [TSVC_CHARGEN] = {"chargen", 19},
    [TSVC_HTTP] = {"http", 80},      [TSVC_IPERF3] = {"iperf3", 5201},
};

/* ---- iperf3's callbacks ---- */

static uint64_t iperf_retransmits(void *ctx, int h)
{
    struct tcp_svc *t = ctx;
    if (h < 0 || h >= IPERF3_SLOTS || !t->ih_conn[h])
        return 0;
    struct jet_tcp_info ti;
    jet_tcp_info(t->ih_conn[h]->c, &ti);
    return ti.retransmits;
}

static void iperf_cpu(void *ctx, double pct[3])
{
    struct tcp_svc *t = ctx;
    struct rusage ru;
    uint64_t now = jet_now_ns();
    getrusage(RUSAGE_SELF, &ru);
    double u = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
    double s = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    double wall = (double)(now - t->cpu_wall) / 1e9;
    pct[0] = pct[1] = pct[2] = 0;
    if (t->cpu_wall && wall > 0) {
        pct[1] = 100 * (u - t->cpu_user) / wall;
        pct[2] = 100 * (s - t->cpu_sys) / wall;
        pct[0] = pct[1] + pct[2];
    }
    t->cpu_wall = now;
    t->cpu_user = u;
    t->cpu_sys = s;
}

static void iperf_report(const struct iperf3_test_info *i, uint64_t n)
{
    static const char *const what[] = {"ok", "refused", "aborted", "timed out", "terminated"};
    char rate[32];
    double secs = (double)i->ns / 1e9;
    fmt_rate(rate, sizeof rate, secs > 0 ? (double)i->bytes * 8 / secs : 0);
    printf("iperf3 test %" PRIu64 ": %s, %s, %u stream%s, %" PRIu64 " bytes in %.2f s, %s\n", n,
           what[i->outcome], i->reverse ? "reverse (we send)" : "forward (we receive)",
           i->streams, i->streams == 1 ? "" : "s", i->bytes, secs, rate);
    fflush(stdout);
}

/* ---- connections ---- */

static void conn_free(struct tcp_svc *t, unsigned i)
{
    struct tconn *k = t->conn[i];
    http_conn_free(k->http);
    free(k);
    t->conn[i] = t->conn[--t->nconn];
}

/* iperf3: the engine forgets h (first: it may still ask for the retransmits). */
static void iperf_detach(struct tcp_svc *t, struct tconn *k, uint64_t now)
{
    if (k->ih < 0)
        return;
    int h = k->ih;
    iperf3_srv_closed(t->iperf, h, now);
    t->ih_conn[h] = NULL;
    k->ih = -1;
    k->want_send = false;
}

/* Shuts k down: the peer gets what is queued, then our FIN. */
static void begin_close(struct tcp_svc *t, struct tconn *k, uint64_t now)
{
    if (k->closing)
        return;
    iperf_detach(t, k, now);
    k->closing = true;
    k->close_by = now + LINGER_NS;
    jet_tcp_shutdown(k->c);
}

/* k failed (err < 0) or was given up: close it now; 1 (for "something happened"). */
static int conn_fail(struct tcp_svc *t, unsigned i, int err, uint64_t now)
{
    struct tconn *k = t->conn[i];
    iperf_detach(t, k, now);
    if (err)
        t->n[k->svc].errors++;
    t->n[k->svc].aborted++;
    if (err)
        jet_tcp_close(k->c, 0); /* failed: nothing to send; returns the error */
    else
        jet_tcp_abort(k->c);
    conn_free(t, i);
    return 1;
}

/* Whether a receive or a send would do something now.  jet_tcp_events drives
 * nothing, while a TCP call that finds nothing to do polls the station once: asking
 * first keeps a round to one poll however many connections are idle. */
static bool can_recv(const struct tconn *k)
{
    return jet_tcp_events(k->c) & JET_TCP_IN;
}

static bool can_send(const struct tconn *k)
{
    return jet_tcp_events(k->c) & (JET_TCP_OUT | JET_TCP_ERR);
}

static void count_in(struct tcp_svc *t, struct tconn *k, size_t n, uint64_t now)
{
    k->bytes_in += n;
    t->n[k->svc].bytes_in += n;
    k->last_ns = now;
}

static void count_out(struct tcp_svc *t, struct tconn *k, size_t n, uint64_t now)
{
    k->bytes_out += n;
    t->n[k->svc].bytes_out += n;
    k->last_ns = now;
}

/* Reads and drops what k has.  1 if anything came (or the end), 0 if not, or the
 * error. */
static int drain(struct tcp_svc *t, struct tconn *k, uint64_t now)
{
    int did = 0;
    for (int r = 0; r < ROUNDS && !k->peer_eof && can_recv(k); r++) {
        const uint8_t *p;
        ssize_t n = jet_tcp_recv_ready(k->c, &p, 0);
        if (n == -EAGAIN)
            break;
        if (n < 0)
            return (int)n;
        did = 1;
        if (n == 0) {
            k->peer_eof = true;
            break;
        }
        jet_tcp_recv_consume(k->c, (size_t)n);
        count_in(t, k, (size_t)n, now);
    }
    return did;
}

/* Closing k: done once our FIN is acknowledged (or k failed, or time is up).
 * 1 if k is gone, 0 if it waits on. */
static int closing_step(struct tcp_svc *t, unsigned i, uint64_t now)
{
    struct tconn *k = t->conn[i];
    int r = drain(t, k, now);
    if (r < 0)
        return conn_fail(t, i, r, now);
    struct jet_tcp_info ti;
    jet_tcp_info(k->c, &ti);
    if (!strcmp(ti.state, "FIN_WAIT_2") || !strcmp(ti.state, "TIME_WAIT") ||
        !strcmp(ti.state, "CLOSED")) {
        int rc = jet_tcp_close(k->c, 0);
        if (rc && rc != -ETIMEDOUT)
            t->n[k->svc].errors++;
        t->n[k->svc].closed++;
        conn_free(t, i);
        return 1;
    }
    if (now >= k->close_by)
        return conn_fail(t, i, 0, now);
    return 0;
}

/* Sends back what the receive ring holds, in place: what the send ring does not
 * take stays in the receive ring, whose window then closes on the client. */
static int echo_step(struct tcp_svc *t, struct tconn *k, uint64_t now)
{
    int did = 0;
    for (int r = 0; r < ROUNDS && !k->peer_eof && can_recv(k); r++) {
        const uint8_t *p;
        ssize_t n = jet_tcp_recv_ready(k->c, &p, 0);
        if (n == -EAGAIN)
            break;
        if (n < 0)
            return (int)n;
        if (n == 0) {
            k->peer_eof = true;
            did = 1;
            break;
        }
        if (!can_send(k))
            break;
        ssize_t w = jet_tcp_send(k->c, p, (size_t)n, 0);
        if (w == -EAGAIN)
            break;
        if (w < 0)
            return (int)w;
        jet_tcp_recv_consume(k->c, (size_t)w);
        count_in(t, k, (size_t)w, now);
        count_out(t, k, (size_t)w, now);
        did = 1;
        if (w < n)
            break; /* the send ring is full */
    }
    if (k->peer_eof) {
        begin_close(t, k, now);
        did = 1;
    }
    return did;
}

static int chargen_step(struct tcp_svc *t, struct tconn *k, uint64_t now)
{
    int did = drain(t, k, now);
    if (did < 0)
        return did;
    if (k->peer_eof) { /* RFC 864: the user closes, we stop */
        begin_close(t, k, now);
        return 1;
    }
    for (int r = 0; r < ROUNDS && can_send(k); r++) {
        ssize_t w = jet_tcp_send(k->c, t->chargen + k->pos, CHARGEN_CHUNK, 0);
        if (w == -EAGAIN)
            break;
        if (w < 0)
            return (int)w;
        k->pos = (uint32_t)((k->pos + (size_t)w) % CHARGEN_PERIOD);
        count_out(t, k, (size_t)w, now);
        did = 1;
        if (w < CHARGEN_CHUNK)
            break;
    }
    return did;
}

static int discard_step(struct tcp_svc *t, struct tconn *k, uint64_t now)
{
    int did = drain(t, k, now);
    if (did < 0)
        return did;
    if (k->peer_eof) {
        begin_close(t, k, now);
        did = 1;
    }
    return did;
}

/* Sends what the engine has for k; closes k once the engine is done with it. */
static int iperf_flush(struct tcp_svc *t, struct tconn *k, uint64_t now)
{
    int did = 0, h = k->ih;
    if (h < 0)
        return 0;
    for (int r = 0; r < ROUNDS && can_send(k); r++) {
        struct iovec iov[IPERF3_IOV];
        int n = iperf3_srv_peek(t->iperf, h, iov, IPERF3_IOV);
        if (!n)
            break;
        size_t took = 0;
        bool full = false;
        for (int i = 0; i < n; i++) {
            ssize_t w = jet_tcp_send(k->c, iov[i].iov_base, iov[i].iov_len, 0);
            if (w == -EAGAIN) {
                full = true;
                break;
            }
            if (w < 0) {
                if (took)
                    iperf3_srv_sent(t->iperf, h, took, now);
                return (int)w;
            }
            took += (size_t)w;
            if ((size_t)w < iov[i].iov_len) {
                full = true;
                break;
            }
        }
        if (took) {
            iperf3_srv_sent(t->iperf, h, took, now);
            count_out(t, k, took, now);
            did = 1;
        }
        if (full)
            break;
    }
    unsigned st = iperf3_srv_status(t->iperf, h);
    k->want_send = st & IPERF3_WANT_SEND;
    if ((st & IPERF3_CLOSE) && !k->want_send) {
        iperf_detach(t, k, now);
        begin_close(t, k, now);
        did = 1;
    }
    return did;
}

static int iperf_step(struct tcp_svc *t, struct tconn *k, uint64_t now)
{
    int did = 0;
    for (int r = 0; r < ROUNDS && k->ih >= 0 && can_recv(k); r++) {
        const uint8_t *p;
        ssize_t n = jet_tcp_recv_ready(k->c, &p, 0);
        if (n == -EAGAIN)
            break;
        if (n < 0)
            return (int)n;
        did = 1;
        if (n == 0) { /* iperf3 never half-closes: the peer is done with it */
            k->peer_eof = true;
            iperf_detach(t, k, now);
            begin_close(t, k, now);
            return 1;
        }
        iperf3_srv_input(t->iperf, k->ih, p, (size_t)n, now); /* takes them all */
        jet_tcp_recv_consume(k->c, (size_t)n);
        count_in(t, k, (size_t)n, now);
    }
    if (k->want_send) {
        int w = iperf_flush(t, k, now);
        if (w < 0)
            return w;
        did |= w;
    }
    return did;
}

/* The connections whose engine status changed: flush them (which closes those the
 * engine is done with). */
static int iperf_dirty(struct tcp_svc *t, uint64_t now)
{
    int did = 0, h;
    if (!t->iperf)
        return 0;
    while ((h = iperf3_srv_next_dirty(t->iperf)) >= 0) {
        struct tconn *k = h < IPERF3_SLOTS ? t->ih_conn[h] : NULL;
        if (!k)
            continue;
        int w = iperf_flush(t, k, now);
        if (w < 0) {
            for (unsigned i = 0; i < t->nconn; i++)
                if (t->conn[i] == k) {
                    conn_fail(t, i, w, now);
                    break;
                }
            did = 1;
        } else {
            did |= w;
        }
    }
    const struct iperf3_stats *st = iperf3_srv_stats(t->iperf);
    while (t->iperf3_reported < st->tests)
        iperf_report(iperf3_srv_last(t->iperf), ++t->iperf3_reported);
    return did;
}

/* RFC 867 leaves the format free: ctime's, as the UDP service. */
static void daytime_line(char *d, size_t cap)
{
    time_t now = time(NULL);
    struct tm tm;
    size_t len = strftime(d, cap - 3, "%a %b %e %H:%M:%S %Y", localtime_r(&now, &tm));
    memcpy(d + len, "\r\n", 3);
}

/* A new connection on service v; 0, or -1 when it was refused. */
static int conn_add(struct tcp_svc *t, enum tsvc v, struct jet_tcp_conn *c, uint64_t now)
{
    struct tconn *k = calloc(1, sizeof *k);
    if (!k)
        goto refuse;
    k->c = c;
    k->svc = v;
    k->ih = -1;
    k->opened_ns = k->last_ns = now;
    jet_tcp_set_nodelay(c, true); /* every service answers at once */
    if (v == TSVC_HTTP && !(k->http = http_conn_new()))
        goto refuse;
    if (v == TSVC_IPERF3) {
        int h = iperf3_srv_open(t->iperf, now);
        if (h < 0)
            goto refuse; /* every slot taken */
        k->ih = h;
        t->ih_conn[h] = k;
    }
    t->conn[t->nconn++] = k;
    t->n[v].accepted++;
    if (v == TSVC_DAYTIME) {
        char d[64];
        daytime_line(d, sizeof d);
        ssize_t w = jet_tcp_send(c, d, strlen(d), 0);
        if (w > 0)
            count_out(t, k, (size_t)w, now);
        begin_close(t, k, now);
    }
    return 0;
refuse:
    if (k) {
        http_conn_free(k->http);
        free(k);
    }
    t->n[v].refused_full++;
    jet_tcp_abort(c);
    return -1;
}

static int accept_all(struct tcp_svc *t, uint64_t now)
{
    int did = 0;
    for (int v = 0; v < TSVC_N; v++) {
        if (!t->l[v])
            continue;
        while (t->nconn < TSVC_MAX_CONNS) {
            struct jet_tcp_conn *c;
            if (jet_tcp_accept(t->l[v], &c, 0))
                break;
            conn_add(t, (enum tsvc)v, c, now);
            did = 1;
        }
    }
    return did;
}

/* One round for connection i: 1 if anything happened. */
static int conn_step(struct tcp_svc *t, unsigned i, uint64_t now)
{
    struct tconn *k = t->conn[i];
    if (k->closing)
        return closing_step(t, i, now);
    unsigned ev = jet_tcp_events(k->c);
    if (ev & JET_TCP_ERR)
        return conn_fail(t, i, jet_tcp_errno(k->c) ? jet_tcp_errno(k->c) : -ECONNRESET, now);
    int r = 0;
    switch (k->svc) {
    case TSVC_ECHO: r = echo_step(t, k, now); break;
    case TSVC_DISCARD: r = discard_step(t, k, now); break;
    case TSVC_DAYTIME: r = discard_step(t, k, now); break;
    case TSVC_CHARGEN: r = chargen_step(t, k, now); break;
    case TSVC_IPERF3: r = iperf_step(t, k, now); break;
    case TSVC_HTTP:
        r = http_step(t, k, now);
        if (r == HTTP_DONE) {
            begin_close(t, k, now);
            r = 1;
        }
        break;
    default: break;
    }
    if (r < 0)
        return conn_fail(t, i, r, now);
    return r;
}

int tcp_svc_run(struct tcp_svc *t)
{
    uint64_t now = jet_now_ns();
    int did = accept_all(t, now);
    if (t->iperf) {
        uint64_t due = iperf3_srv_timeout(t->iperf);
        if (due && due <= now) {
            iperf3_srv_tick(t->iperf, now);
            did = 1;
        }
    }
    /* Backwards: conn_free moves the last connection into the freed place. */
    for (unsigned i = t->nconn; i-- > 0;) {
        if (i >= t->nconn)
            continue; /* iperf_dirty closed some */
        did |= conn_step(t, i, now);
        if (t->iperf)
            did |= iperf_dirty(t, now);
    }
    if (t->iperf)
        did |= iperf_dirty(t, now);
    return did;
}

int64_t tcp_svc_timeout(const struct tcp_svc *t)
{
    uint64_t now = jet_now_ns(), due = UINT64_MAX;
    if (t->iperf) {
        uint64_t x = iperf3_srv_timeout(t->iperf);
        if (x && x < due)
            due = x;
    }
    for (unsigned i = 0; i < t->nconn; i++)
        if (t->conn[i]->closing && t->conn[i]->close_by < due)
            due = t->conn[i]->close_by;
    if (due == UINT64_MAX)
        return -1;
    return due <= now ? 0 : (int64_t)(due - now);
}

int tcp_svc_open(struct jet_station *s, const char *link, const bool want[TSVC_N],
                 const struct udp_svc_view udp[HOST_UDP_VIEWS], struct tcp_svc **out)
{
    *out = NULL;
    struct tcp_svc *t = calloc(1, sizeof *t);
    if (!t)
        return die("out of memory");
    t->s = s;
    t->link = link;
    t->started_ns = jet_now_ns();
    t->started_wall = (int64_t)time(NULL);
    memcpy(t->udp, udp, sizeof t->udp);
    t->conn = calloc(TSVC_MAX_CONNS, sizeof *t->conn);
    t->chargen = malloc(CHARGEN_PERIOD + CHARGEN_CHUNK);
    if (!t->conn || !t->chargen)
        goto oom;
    /* RFC 864: line i holds the 72 characters from the i-th of the 95 printable
     * ones (' ' .. '~'), wrapping around. */
    for (size_t i = 0; i < CHARGEN_PERIOD + CHARGEN_CHUNK; i++) {
        size_t line = (i / CHARGEN_LINE) % 95, col = i % CHARGEN_LINE;
        t->chargen[i] = col == 72 ? '\r' : col == 73 ? '\n' : (uint8_t)(' ' + (line + col) % 95);
    }
    memcpy(t->on, want, sizeof t->on);
    if (want[TSVC_IPERF3]) {
        struct iperf3_cfg cfg = {
            .ops = {.retransmits = iperf_retransmits, .cpu_util = iperf_cpu}, .ctx = t};
        if (!(t->iperf = iperf3_srv_create(&cfg)))
            goto oom;
    }
    struct jet_tcp_opts o = {.nodelay = true};
    for (int v = 0; v < TSVC_N; v++) {
        if (!want[v])
            continue;
        int rc = jet_tcp_listen(s, 0, tsvc_def[v].port, &o, &t->l[v]);
        if (rc) {
            die("cannot serve %s on TCP port %u: %s", tsvc_def[v].name, tsvc_def[v].port,
                strerror(-rc));
            tcp_svc_free(t);
            return 1;
        }
    }
    *out = t;
    return 0;
oom:
    tcp_svc_free(t);
    return die("out of memory");
}

void tcp_svc_stop(struct tcp_svc *t, int64_t linger_ns)
{
    uint64_t now = jet_now_ns(), end = now + (uint64_t)(linger_ns > 0 ? linger_ns : 0);
    t->stopped = true;
    for (int v = 0; v < TSVC_N; v++)
        if (t->l[v]) {
            jet_tcp_listener_close(t->l[v]);
            t->l[v] = NULL;
        }
    if (t->iperf) {
        iperf3_srv_terminate(t->iperf, now);
        iperf_dirty(t, now);
    }
    for (unsigned i = 0; i < t->nconn; i++)
        if (t->conn[i]->ih < 0 || !t->conn[i]->want_send)
            begin_close(t, t->conn[i], now);
    /* Let the peers take what was sent: drive the station until every connection
     * is done or the time is up. */
    while (t->nconn && now < end) {
        jet_station_poll(t->s);
        int did = 0;
        for (unsigned i = t->nconn; i-- > 0;) {
            struct tconn *k = t->conn[i];
            if (!k->closing) {
                int r = k->svc == TSVC_IPERF3 ? iperf_flush(t, k, now) : 0;
                if (r < 0)
                    conn_fail(t, i, r, now);
                else if (!k->closing && !k->want_send)
                    begin_close(t, k, now);
                did |= r != 0;
                continue;
            }
            did |= closing_step(t, i, now);
        }
        if (!did) {
            int64_t left = (int64_t)(end - now);
            jet_station_wait(t->s, left < 10000000 ? left : 10000000);
        }
        now = jet_now_ns();
    }
    while (t->nconn)
        conn_fail(t, t->nconn - 1, 0, now);
    if (t->iperf) {
        const struct iperf3_stats *st = iperf3_srv_stats(t->iperf);
        while (t->iperf3_reported < st->tests)
            iperf_report(iperf3_srv_last(t->iperf), ++t->iperf3_reported);
    }
}

void tcp_svc_free(struct tcp_svc *t)
{
    if (!t)
        return;
    if (!t->stopped)
        tcp_svc_stop(t, 0);
    iperf3_srv_destroy(t->iperf);
    free(t->conn);
    free(t->chargen);
    free(t);
}

void tcp_svc_print_end(const struct tcp_svc *t, FILE *f)
{
    int n = 0;
    fprintf(f, "tcp:");
    for (int v = 0; v < TSVC_N; v++) {
        if (!t->on[v])
            continue;
        const struct tcp_svc_counts *c = &t->n[v];
        fprintf(f, "%s %s %" PRIu64 " connections (%" PRIu64 " aborted), %" PRIu64
                   " bytes in, %" PRIu64 " out",
                n++ ? ";" : "", tsvc_def[v].name, c->accepted, c->aborted, c->bytes_in,
                c->bytes_out);
    }
    fprintf(f, "%s\n", n ? "" : " none");
}
