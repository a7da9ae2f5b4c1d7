/* jet perf: what the raw sender and receiver (perf_send.c, perf_recv.c) and
 * jet perf --proto rbs / tcp (perf_rbs.c, perf_tcp.c) share: the perf header's
 * fields, control messages, dead-peer checks, the report, the byte-stream
 * sessions' result, clocks and report parts, opening a raw end on a link, and the
 * private LAN run (perf.h is the interface; perf.c only parses the command line and
 * dispatches). */
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

void perf_json_begin(struct json *j, const char *proto, const char *link)
{
    json_begin(j, stdout);
    json_obj(j, NULL);
    json_str(j, "proto", proto);
    json_str(j, "link", link);
}

void perf_json_rtt(struct json *j, const uint64_t *rtt, uint64_t n)
{
    double p50, p99;
    perf_rtt_pct(rtt, n, &p50, &p99);
    json_obj(j, "rtt_us");
    json_dbl(j, "p50", p50);
    json_dbl(j, "p99", p99);
    json_dbl(j, "min", n ? (double)rtt[0] / 1e3 : 0);
    json_dbl(j, "max", n ? (double)rtt[n - 1] / 1e3 : 0);
    json_end_obj(j);
}

void print_interval(uint32_t frame, double t0, double t1, uint64_t frames)
{
    char b[32];
    double secs = t1 - t0;
    printf("[%6.2f-%6.2f s] %10llu frames  %s  %.3f Mpps\n", t0, t1, (unsigned long long)frames,
           fmt_rate(b, sizeof b, (double)frames * frame * 8 / secs), (double)frames / secs / 1e6);
    fflush(stdout);
}

void report(const struct perf_opts *o, const char *link, uint64_t sent, const struct result *r,
            const struct lat *lat, double seconds, const uint64_t *rtt, uint64_t nrtt)
{
    double gbps = seconds > 0 ? (double)r->bytes * 8 / seconds / 1e9 : 0;
    double mpps = seconds > 0 ? (double)r->delivered / seconds / 1e6 : 0;
    uint64_t arrived = r->delivered + r->dropped_crc + r->dropped_header + r->dropped_policy;
    uint64_t lost = sent > arrived ? sent - arrived : 0;
    double p50, p99;
    perf_rtt_pct(rtt, nrtt, &p50, &p99);
    if (o->json) {
        struct json j;
        perf_json_begin(&j, "raw", link);
        json_u64(&j, "frame", o->frame);
        json_u64(&j, "frames_sent", sent);
        json_u64(&j, "frames_delivered", r->delivered);
        json_u64(&j, "bytes", r->bytes);
        json_dbl(&j, "seconds", seconds);
        json_dbl(&j, "gbps", gbps);
        json_dbl(&j, "mpps", mpps);
        json_u64(&j, "lost", lost);
        json_u64(&j, "duplicated", r->duplicated);
        json_u64(&j, "reordered", r->reordered);
        json_u64(&j, "dropped_policy", r->dropped_policy);
        json_u64(&j, "dropped_crc", r->dropped_crc);
        json_u64(&j, "crc_failed", r->dropped_crc);
        json_u64(&j, "dropped_header", r->dropped_header);
        json_u64(&j, "crc_bad_delivered", r->crc_bad_delivered);
        if (r->delivered > r->crc_bad_delivered && !o->pingpong) {
            json_u64(&j, "first_seq_delivered", r->first_seq);
            json_u64(&j, "last_seq_delivered", r->last_seq);
        }
        if (o->pingpong)
            perf_json_rtt(&j, rtt, nrtt);
        if (o->latency && lat) {
            json_u64(&j, "probes_delivered", r->probes);
            json_obj(&j, "lat_us");
            for (int c = 0; c < 8; c++) {
                if (!lat[c].count)
                    continue;
                char k[2] = {(char)('0' + c), 0};
                json_obj(&j, k);
                json_u64(&j, "count", lat[c].count);
                json_dbl(&j, "p50", (double)lat[c].p50 / 1e3);
                json_dbl(&j, "p99", (double)lat[c].p99 / 1e3);
                json_dbl(&j, "max", (double)lat[c].max / 1e3);
                json_end_obj(&j);
            }
            json_end_obj(&j);
        }
        json_end_obj(&j);
        json_finish(&j);
        return;
    }
    char b[32], c[32];
    fputs(PERF_RULE, stdout);
    if (o->pingpong) {
        printf("%llu round trips of %u-byte frames over %s: rtt p50 %.2f us, p99 %.2f us\n",
               (unsigned long long)nrtt, o->frame, link, p50, p99);
        fflush(stdout);
        return;
    }
    printf("sent %llu frames of %u bytes over %s\n", (unsigned long long)sent, o->frame, link);
    printf("delivered %llu: lost %llu, duplicated %llu, reordered %llu, dropped by policy %llu, "
           "crc failed %llu (delivered flagged %llu), header damaged %llu\n",
           (unsigned long long)r->delivered, (unsigned long long)lost,
           (unsigned long long)r->duplicated, (unsigned long long)r->reordered,
           (unsigned long long)r->dropped_policy, (unsigned long long)r->dropped_crc,
           (unsigned long long)r->crc_bad_delivered, (unsigned long long)r->dropped_header);
    if (r->delivered > r->crc_bad_delivered)
        printf("sequence numbers delivered: %llu .. %llu\n", (unsigned long long)r->first_seq,
               (unsigned long long)r->last_seq);
    printf("%s in %.3f s = %s, %.3f Mpps\n", fmt_bytes(b, sizeof b, (double)r->bytes), seconds,
           fmt_rate(c, sizeof c, gbps * 1e9), mpps);
    if (o->latency && lat)
        for (int k = 0; k < 8; k++)
            if (lat[k].count)
                printf("one-way latency, class %d: p50 %.1f us, p99 %.1f us, max %.1f us "
                       "(%llu frames)\n",
                       k, (double)lat[k].p50 / 1e3, (double)lat[k].p99 / 1e3,
                       (double)lat[k].max / 1e3, (unsigned long long)lat[k].count);
    fflush(stdout);
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

void perf_iv_init(struct perf_iv *iv, const struct perf_opts *o, uint64_t t0)
{
    iv->t0 = iv->start = t0;
    iv->next = t0 + o->interval_ns;
    iv->acked = 0;
}

void perf_iv_tick(struct perf_iv *iv, const struct perf_opts *o, uint64_t now, uint64_t acked)
{
    if (!o->interval_ns || now < iv->next || o->json)
        return;
    char b[32];
    double secs = (double)(now - iv->start) / 1e9;
    printf("[%6.2f-%6.2f s] %s\n", (double)(iv->start - iv->t0) / 1e9, (double)(now - iv->t0) / 1e9,
           fmt_rate(b, sizeof b, (double)(acked - iv->acked) * 8 / secs));
    fflush(stdout);
    iv->acked = acked;
    iv->start = now;
    iv->next = now + o->interval_ns;
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
                          uint64_t nrtt)
{
    json_dbl(j, "sender_cpu_s", (double)cpu / 1e9);
    json_dbl(j, "receiver_cpu_s", (double)r->rcpu / 1e9);
    if (o->pingpong) {
        json_u64(j, "round_trips", nrtt);
        perf_json_rtt(j, rtt, nrtt);
    }
    json_end_obj(j);
    json_finish(j);
}

void perf_stream_text_head(const struct perf_opts *o, const char *proto, const char *link,
                           const struct perf_stream_sum *r, uint64_t nrtt, const char *how)
{
    char b[32], c[32];
    fputs(PERF_RULE, stdout);
    if (o->pingpong)
        printf("%llu round trips of %u-byte messages over %s on %s: rtt p50 %.2f us, "
               "p99 %.2f us\n",
               (unsigned long long)nrtt, o->msg, proto, link, r->p50, r->p99);
    else
        printf("%s in %.3f s = %s over %s on %s (%u-byte messages%s)\n",
               fmt_bytes(b, sizeof b, (double)r->bytes), r->secs,
               fmt_rate(c, sizeof c, r->gbps * 1e9), proto, link, o->msg, how);
}
