/* jet perf: what the raw sender and receiver (perf_send.c, perf_recv.c) and
 * jet perf --proto rbs / tcp (perf_rbs.c, perf_tcp.c) share: the perf header's
 * fields, control messages, dead-peer checks, the byte-stream sessions' result,
 * clocks and report parts, opening a raw end on a link, and the private LAN run
 * (perf.h is the interface; perf.c only parses the command line and dispatches;
 * perf_report.c prints the intervals, progress line, summary and JSON). */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan/endpoint.h"
#include "jet/frame.h"
#include "jet/lan.h"
#include "perf.h"
#include "util/clock.h"

volatile sig_atomic_t perf_stop;

/* Big-endian fields, stored and loaded as whole words: the library reads
 * the header right after it is built (copying it into the frame), and a
 * load that spans several narrower stores is not forwarded from them; it
 * waits for every pending store, e.g. the whole previous payload. */
void put64(uint8_t *p, uint64_t v)
{
    v = __builtin_bswap64(v);
    memcpy(p, &v, 8);
}

uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}

void put_ph(uint8_t *p, uint8_t type, uint32_t session, uint64_t seq)
{
    put64(p, (uint64_t)type << 56 | (uint64_t)1 << 48 | session);
    put64(p + 8, seq);
}

uint32_t ph_session(const uint8_t *p)
{
    return (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
}

bool perf_peer_alive(struct jet_station *s, uint32_t peer)
{
    /* The link tells (through any wrappers); one that cannot is taken as yes:
     * the peer is then waited for, as a slow one is. */
    return jet_link_peer_alive(jet_station_link(s), peer) != 0;
}

int perf_die_gone(struct jet_station *s, uint32_t peer, const char *what, const char *after, ...)
{
    char who[160], a[80], when[96] = "";
    if (after) {
        va_list ap;
        va_start(ap, after);
        vsnprintf(a, sizeof a, after, ap);
        va_end(ap);
        snprintf(when, sizeof when, " (%s)", a);
    }
    return die("%s: %s left the link: its process is gone%s", what,
               ep_peer(s, peer, who, sizeof who), when);
}

int perf_rtt_add(uint64_t **v, uint64_t *n, uint64_t *cap, uint64_t rtt)
{
    if (*n == *cap) {
        if (*cap >= PERF_PINGPONG_MAX)
            return -ENOMEM;
        uint64_t nc = *cap ? *cap * 2 : 65536;
        if (nc > PERF_PINGPONG_MAX)
            nc = PERF_PINGPONG_MAX;
        uint64_t *nv = realloc(*v, nc * sizeof *nv);
        if (!nv)
            return -ENOMEM;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = rtt;
    return 0;
}

int send_ctl(struct end *e, const uint8_t *msg)
{
    struct iovec iov = {(void *)msg, CTL_PAYLOAD};
    for (;;) {
        ssize_t rc = jet_chan_send(e->ctl, (uint16_t)e->peer, e->o->chan, &iov, 1);
        if (rc != -EAGAIN)
            return rc < 0 ? (int)rc : 0;
        if (perf_stop)
            return -EINTR;
        jet_station_poll(e->s);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void perf_rtt_sort(uint64_t *rtt, uint64_t n)
{
    if (n)
        qsort(rtt, n, sizeof *rtt, cmp_u64);
}

void perf_rtt_pct(const uint64_t *rtt, uint64_t n, double *p50, double *p99)
{
    *p50 = n ? (double)rtt[n / 2] / 1e3 : 0;
    *p99 = n ? (double)rtt[n * 99 / 100] / 1e3 : 0;
}

int perf_raw_end(const struct perf_opts *o, const char *link, int station, bool server,
                 uint32_t peer)
{
    struct jet_err err = {0};
    struct jet_station *st;
    int rc = jet_station_open(link, station, &st, &err);
    if (rc)
        return die("%s", jet_err_str(&err, rc));
    struct jet_link *l = jet_station_link(st);
    if (!server && (o->frame - JET_FRAME_OVERHEAD > l->caps.mtu ||
                    (o->latency && o->probe_frame - JET_FRAME_OVERHEAD > l->caps.mtu))) {
        uint32_t mtu = l->caps.mtu;
        jet_station_close(st);
        return die("--frame %u needs a payload of %u bytes; %s carries at most %u", o->frame,
                   o->frame - JET_FRAME_OVERHEAD, link, mtu);
    }
    if (l->caps.mtu < CTL_PAYLOAD) {
        jet_station_close(st);
        return die("%s: jet perf needs an MTU of at least %d bytes", link, CTL_PAYLOAD);
    }
    struct jet_chan_policy cp = {.queue_frames = 64};
    struct jet_chan *ctl;
    if (jet_chan_open(st, o->chan, &cp, &ctl)) {
        rc = die("%s", jet_station_error(st));
        jet_station_close(st);
        return rc;
    }
    if (o->pingpong) {
        jet_station_busy_poll(st, true);
        jet_station_timestamps(st, false); /* round trips are timed by the client */
    }
    struct end e = {.s = st, .ctl = ctl, .me = jet_station_addr(st), .peer = peer, .o = o};
    rc = server ? run_server(&e) : run_client(&e);
    jet_station_close(st);
    return rc;
}

static pid_t children[2];
static void forward_signal(int sig)
{
    for (int i = 0; i < 2; i++)
        if (children[i] > 0)
            kill(children[i], sig);
}

int perf_private(const struct jet_lan_config *lan, const char *banner, perf_end_fn end,
                 const void *rx_opts, const void *tx_opts)
{
    char name[64], link[80];
    snprintf(name, sizeof name, "perf-%d", (int)getpid());
    snprintf(link, sizeof link, "lan:%s", name);
    struct jet_err err = {0};
    int rc = jet_lan_create(name, lan, &err);
    if (rc)
        return die("%s", jet_err_str(&err, rc));
    if (banner)
        printf("jet perf: private LAN %s, %s\n", link, banner);
    fflush(stdout);
    children[0] = fork();
    if (children[0] == 0)
        _exit(end(rx_opts, link, 1, true));
    children[1] = fork();
    if (children[1] == 0)
        _exit(end(tx_opts, link, 0, false));
    struct sigaction fw = {.sa_handler = forward_signal};
    sigaction(SIGINT, &fw, NULL);
    sigaction(SIGTERM, &fw, NULL);
    int st = 0, ret;
    /* The sender decides; the receiver follows within a few seconds or is stopped. */
    while (waitpid(children[1], &st, 0) < 0 && errno == EINTR)
        ;
    ret = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
    children[1] = 0;
    /* A sender that failed never ends its session: stop the receiver now. */
    if (ret != 0)
        kill(children[0], SIGTERM);
    uint64_t until = jet_now_ns() + 4000000000ull;
    int rst = 0;
    for (;;) {
        pid_t p = waitpid(children[0], &rst, WNOHANG);
        if (p == children[0])
            break;
        if (jet_now_ns() > until) {
            kill(children[0], SIGKILL);
            waitpid(children[0], &rst, 0);
            break;
        }
        usleep(10000);
    }
    children[0] = 0;
    if (ret == 0 && !(WIFEXITED(rst) && WEXITSTATUS(rst) == 0))
        ret = 1;
    jet_lan_destroy(name, true, NULL);
    return ret;
}

/* ---- byte-stream sessions (perf_rbs.c, perf_tcp.c) ---- */

static void on_stop(int sig)
{
    (void)sig;
    perf_stop = 1;
}

void perf_catch_stop(void)
{
    struct sigaction sa = {.sa_handler = on_stop};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

uint64_t perf_cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

void perf_stream_result_put(uint8_t *res, uint64_t bytes, uint64_t rx_ns, uint64_t cpu,
                            uint64_t retransmits)
{
    put64(res, bytes);
    put64(res + 8, rx_ns);
    put64(res + 16, cpu);
    put64(res + 24, retransmits);
}

void perf_stream_sum(const struct perf_opts *o, const uint8_t *res, double secs, uint64_t *rtt,
                     uint64_t nrtt, struct perf_stream_sum *r)
{
    uint64_t rx_ns = get64(res + 8);
    r->bytes = get64(res);
    r->rcpu = get64(res + 16);
    r->secs = o->pingpong || !rx_ns ? secs : (double)rx_ns / 1e9;
    r->gbps = r->secs > 0 ? (double)r->bytes * 8 / r->secs / 1e9 : 0;
    perf_rtt_sort(rtt, nrtt);
    perf_rtt_pct(rtt, nrtt, &r->p50, &r->p99);
}

void perf_stream_json_rate(struct json *j, const struct perf_stream_sum *r)
{
    json_u64(j, "bytes", r->bytes);
    json_dbl(j, "seconds", r->secs);
    json_dbl(j, "gbps", r->gbps);
}

void perf_stream_json_end(struct json *j, const struct perf_opts *o,
                          const struct perf_stream_sum *r, uint64_t cpu, const uint64_t *rtt,
                          uint64_t nrtt, const struct perf_iv *iv)
{
    if (o->pingpong)
        json_u64(j, "round_trips", nrtt);
    perf_json_end(j, o, cpu, r->rcpu, r->bytes, rtt, nrtt, iv);
}

void perf_stream_text_head(const struct perf_opts *o, const char *proto, const char *link,
                           const struct perf_stream_sum *r, uint64_t nrtt, const char *how,
                           uint64_t sent, double snd_secs, uint64_t retr, const uint64_t *rtt)
{
    char b[32], c[32];
    struct perf_summary s = {
        .snd = {true, sent, snd_secs},
        .rcv = {true, r->bytes, r->secs},
        .has_retr = true,
        .retr = retr,
        .rtt = rtt,
        .nrtt = nrtt,
    };
    perf_summary(o, &s);
    if (o->pingpong)
        printf("%llu round trips of %u-byte messages over %s on %s: rtt p50 %.2f us, "
               "p99 %.2f us\n",
               (unsigned long long)nrtt, o->msg, proto, link, r->p50, r->p99);
    else
        printf("%s in %.3f s = %s over %s on %s (%u-byte messages%s)\n",
               fmt_bytes(b, sizeof b, (double)r->bytes), r->secs,
               fmt_rate(c, sizeof c, r->gbps * 1e9), proto, link, o->msg, how);
}

void perf_stream_served(const struct perf_opts *o, uint64_t bytes, double secs)
{
    struct perf_summary s = {.rcv = {true, bytes, secs}};
    struct perf_opts q = *o;
    q.pingpong = false; /* the server keeps no round trip times */
    perf_summary(&q, &s);
}
