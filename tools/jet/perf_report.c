/* jet perf's output, for every protocol (perf.h has the interface,
 * docs/perf-json.md the description):
 *   - the interval lines of -i ("[ ID] Interval  Transfer  Bitrate", as iperf3
 *     prints them), kept for the JSON's "intervals" too;
 *   - the progress line of a long run on a terminal, rewritten in place with \r
 *     and cleared before anything else is printed;
 *   - the iperf3-like summary after the run: a sender and a receiver line, the
 *     round trip times of ping-pong;
 *   - the JSON object's common keys (version, mode, CPU, rtt_us with its CDF,
 *     intervals, the private LAN) and the raw protocol's whole result.
 * A run calls perf_iv_init at its start, perf_iv_tick with clock reads it makes
 * anyway, perf_iv_end at its end, then the summary or the JSON, then perf_iv_free. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "perf.h"

enum { PROGRESS_FIRST_NS = 1000000000, PROGRESS_EVERY_NS = 250000000 };

/* ---- units, as iperf3 writes them ---- */

/* "4.09 GBytes" (binary prefixes, as iperf3's Transfer column). */
static const char *xfer(char *b, size_t cap, double bytes)
{
    static const char *const u[] = {"Bytes", "KBytes", "MBytes", "GBytes", "TBytes"};
    int i = 0;
    while (bytes >= 1024 && i < 4)
        bytes /= 1024, i++;
    snprintf(b, cap, bytes < 10 ? "%4.2f %s" : bytes < 100 ? "%4.1f %s" : "%4.0f %s", bytes, u[i]);
    return b;
}

/* "35.1 Gbits/sec" (decimal prefixes, as iperf3's Bitrate column). */
static const char *bitrate(char *b, size_t cap, double bps)
{
    static const char *const u[] = {"bits/sec", "Kbits/sec", "Mbits/sec", "Gbits/sec", "Tbits/sec"};
    int i = 0;
    while (bps >= 1000 && i < 4)
        bps /= 1000, i++;
    snprintf(b, cap, bps < 10 ? "%4.2f %s" : bps < 100 ? "%4.1f %s" : "%4.0f %s", bps, u[i]);
    return b;
}

/* "[  1]   0.00-1.00   sec  4.09 GBytes  35.1 Gbits/sec" without a newline. */
static void iv_line(double t0, double t1, double bytes)
{
    char b[32], r[32];
    double secs = t1 - t0;
    printf("[  1] %6.2f-%-6.2f sec  %12s  %14s", t0, t1, xfer(b, sizeof b, bytes),
           bitrate(r, sizeof r, secs > 0 ? bytes * 8 / secs : 0));
}

static void iv_header(const char *extra)
{
    printf("[ ID] Interval           Transfer      Bitrate%s\n", extra);
}

/* The k-th smallest of v[0..n) (k < n), leaving the smaller ones before index
 * k and the larger after it: selection with a three-way partition (equal times
 * are common), middle pivot; O(n) on the average, so an interval of a million
 * round trips costs a few ms once a second, between two of them. */
static uint64_t select_kth(uint64_t *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n; /* v[k] is in [lo, hi) */
    while (hi - lo > 1) {
        uint64_t p = v[lo + (hi - lo) / 2], t;
        size_t lt = lo, i = lo, gt = hi; /* [lo, lt) < p, [lt, i) == p, [gt, hi) > p */
        while (i < gt) {
            if (v[i] < p) {
                t = v[lt], v[lt++] = v[i], v[i++] = t;
            } else if (v[i] > p) {
                t = v[--gt], v[gt] = v[i], v[i] = t;
            } else {
                i++;
            }
        }
        if (k < lt)
            hi = lt;
        else if (k >= gt)
            lo = gt;
        else
            return p;
    }
    return v[k];
}

/* An interval's round trips (*iv->rtts)[from, to): p50, p99 (as the summary's
 * quantile: the time at index floor(n x q)) and the largest, in us. */
static void iv_rtt(struct perf_iv *iv, uint64_t from, uint64_t to, struct perf_ivrec *r)
{
    size_t n = (size_t)(to - from);
    if (!iv->rtts || !*iv->rtts || !n)
        return;
    if (n > iv->scap) {
        uint64_t *nv = realloc(iv->scratch, n * sizeof *nv);
        if (!nv)
            return;
        iv->scratch = nv;
        iv->scap = n;
    }
    uint64_t *v = iv->scratch, mx = 0;
    memcpy(v, *iv->rtts + from, n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        mx = v[i] > mx ? v[i] : mx;
    size_t k50 = n / 2, k99 = n * 99 / 100;
    r->p50_us = (double)select_kth(v, n, k50) / 1e3;
    /* the upper part already holds everything at or above the p50 */
    r->p99_us = (double)(k99 > k50 ? select_kth(v + k50, n - k50, k99 - k50) : v[k50]) / 1e3;
    r->max_us = (double)mx / 1e3;
}

static const char *usecs(char *b, size_t cap, double us)
{
    snprintf(b, cap, us < 10 ? "%.2f us" : us < 1000 ? "%.1f us" : "%.0f us", us);
    return b;
}

/* ---- intervals and the progress line ---- */

static void progress_clear(struct perf_iv *iv)
{
    if (!iv->shown)
        return;
    printf("\r%*s\r", iv->plen, "");
    fflush(stdout);
    iv->shown = false;
}

static void set_next(struct perf_iv *iv)
{
    iv->next = iv->next_iv < iv->next_prog ? iv->next_iv : iv->next_prog;
}

void perf_iv_init(struct perf_iv *iv, const struct perf_opts *o, uint64_t t0, uint64_t unit,
                  bool progress)
{
    memset(iv, 0, sizeof *iv);
    iv->o = o;
    iv->t0 = iv->start = t0;
    iv->unit = unit ? unit : 1;
    iv->rounds = o->pingpong;
    iv->next_iv = o->interval_ns ? t0 + o->interval_ns : UINT64_MAX;
    iv->progress = progress && !o->json && !o->interval_ns && isatty(STDOUT_FILENO);
    iv->next_prog = iv->progress ? t0 + PROGRESS_FIRST_NS : UINT64_MAX;
    set_next(iv);
}

void perf_iv_rtts(struct perf_iv *iv, uint64_t *const *rtts)
{
    iv->rtts = rtts;
}

/* A ping-pong interval's line: "[  1]   0.00-1.00   sec   812345   1.21 us ...". */
static void record_rounds(struct perf_iv *iv, const struct perf_ivrec *r)
{
    if (iv->o->json)
        return;
    char p50[24], p99[24], mx[24];
    if (!iv->header)
        printf("[ ID] Interval           Round trips        p50        p99        max\n");
    iv->header = true;
    printf("[  1] %6.2f-%-6.2f sec  %11llu", r->start, r->end, (unsigned long long)r->rounds);
    if (r->rounds && iv->rtts)
        printf("  %9s  %9s  %9s", usecs(p50, sizeof p50, r->p50_us),
               usecs(p99, sizeof p99, r->p99_us), usecs(mx, sizeof mx, r->max_us));
    putchar('\n');
    fflush(stdout);
}

static void record(struct perf_iv *iv, uint64_t now, uint64_t count)
{
    const struct perf_opts *o = iv->o;
    double a = (double)(iv->start - iv->t0) / 1e9, b = (double)(now - iv->t0) / 1e9;
    uint64_t bytes = (count - iv->mark) * iv->unit;
    struct perf_ivrec r = {a, b, bytes, 0, 0, 0, 0};
    if (iv->rounds) {
        r.bytes = 0;
        r.rounds = count - iv->mark;
        iv_rtt(iv, iv->mark, count, &r);
    }
    if (iv->n == iv->cap) {
        size_t nc = iv->cap ? iv->cap * 2 : 64;
        struct perf_ivrec *nv = realloc(iv->v, nc * sizeof *nv);
        if (nv)
            iv->v = nv, iv->cap = nc;
    }
    if (iv->n < iv->cap)
        iv->v[iv->n++] = r;
    if (iv->rounds) {
        record_rounds(iv, &r);
    } else if (!o->json) {
        if (!iv->header)
            iv_header(iv->unit > 1 ? "         Frames" : "");
        iv->header = true;
        iv_line(a, b, (double)bytes);
        if (iv->unit > 1) /* raw: frames and their rate too */
            printf("  %10llu  %.3f Mpps", (unsigned long long)(count - iv->mark),
                   b > a ? (double)(count - iv->mark) / (b - a) / 1e6 : 0);
        putchar('\n');
        fflush(stdout);
    }
    iv->mark = count;
    iv->start = now;
}

static void progress_show(struct perf_iv *iv, uint64_t now, uint64_t count)
{
    const struct perf_opts *o = iv->o;
    char line[160], b[32], r[32];
    double t = (double)(now - iv->t0) / 1e9;
    int n;
    if (iv->rounds)
        n = snprintf(line, sizeof line, "[%7.2f s] %llu round trips", t, (unsigned long long)count);
    else if (o->duration_ns)
        n = snprintf(line, sizeof line, "[%7.2f/%.2f s] %s  %s", t, (double)o->duration_ns / 1e9,
                     xfer(b, sizeof b, (double)(count * iv->unit)),
                     bitrate(r, sizeof r, t > 0 ? (double)(count * iv->unit) * 8 / t : 0));
    else
        n = snprintf(line, sizeof line, "[%7.2f s] %s  %s", t,
                     xfer(b, sizeof b, (double)(count * iv->unit)),
                     bitrate(r, sizeof r, t > 0 ? (double)(count * iv->unit) * 8 / t : 0));
    if (n < 0)
        return;
    if (n > (int)sizeof line - 1)
        n = (int)sizeof line - 1;
    /* pad over a longer previous line */
    printf("\r%s%*s", line, iv->plen > n ? iv->plen - n : 0, "");
    fflush(stdout);
    if (n > iv->plen)
        iv->plen = n;
    iv->shown = true;
}

void perf_iv_due(struct perf_iv *iv, uint64_t now, uint64_t count)
{
    if (now >= iv->next_iv) {
        record(iv, now, count);
        iv->next_iv = now + iv->o->interval_ns;
    }
    if (now >= iv->next_prog) {
        progress_show(iv, now, count);
        iv->next_prog = now + PROGRESS_EVERY_NS;
    }
    set_next(iv);
}

void perf_iv_end(struct perf_iv *iv, uint64_t now, uint64_t count)
{
    progress_clear(iv);
    iv->next_prog = UINT64_MAX;
    if (iv->next_iv != UINT64_MAX && now > iv->start && (count > iv->mark || !iv->n))
        record(iv, now, count);
    iv->next_iv = UINT64_MAX;
    set_next(iv);
}

void perf_iv_free(struct perf_iv *iv)
{
    progress_clear(iv);
    free(iv->v);
    iv->v = NULL;
    iv->n = iv->cap = 0;
    free(iv->scratch);
    iv->scratch = NULL;
    iv->scap = 0;
}

/* ---- the summary ---- */

static void rtt_stats(const uint64_t *rtt, uint64_t n, double *mean)
{
    double sum = 0;
    for (uint64_t i = 0; i < n; i++)
        sum += (double)rtt[i];
    *mean = n ? sum / (double)n / 1e3 : 0;
}

/* The round trip time at quantile num/den of n sorted times, in us: the sample
 * at index floor(n * num / den), the last for 1 (perf_rtt_pct's p50 and p99). */
static double quantile(const uint64_t *rtt, uint64_t n, uint64_t num, uint64_t den)
{
    if (!n)
        return 0;
    uint64_t i = n * num / den;
    return (double)rtt[i < n ? i : n - 1] / 1e3;
}

void perf_summary(const struct perf_opts *o, const struct perf_summary *s)
{
    fputs(PERF_RULE, stdout);
    iv_header(s->has_retr ? "          Retr" : "");
    if (s->snd.known) {
        iv_line(0, s->snd.secs, (double)s->snd.bytes);
        if (s->has_retr)
            printf("  %6llu", (unsigned long long)s->retr);
        printf("  sender\n");
    }
    if (s->rcv.known) {
        iv_line(0, s->rcv.secs, (double)s->rcv.bytes);
        printf("%s  receiver%s%s\n", s->has_retr ? "        " : "", s->rcv_note ? "  " : "",
               s->rcv_note ? s->rcv_note : "");
    }
    if (o->pingpong) {
        double mean;
        rtt_stats(s->rtt, s->nrtt, &mean);
        printf("rtt min/mean/p50/p99/max = %.3f/%.3f/%.3f/%.3f/%.3f us (%llu round trips)\n",
               quantile(s->rtt, s->nrtt, 0, 1), mean, quantile(s->rtt, s->nrtt, 1, 2),
               quantile(s->rtt, s->nrtt, 99, 100), quantile(s->rtt, s->nrtt, 1, 1),
               (unsigned long long)s->nrtt);
    }
}

/* ---- JSON ---- */

void perf_json_begin(struct json *j, const struct perf_opts *o, const char *proto, const char *link)
{
    json_begin(j, stdout);
    json_obj(j, NULL);
    json_str(j, "proto", proto);
    json_str(j, "link", link);
    json_u64(j, "version", 1);
    json_str(j, "mode", o->pingpong ? "pingpong" : "throughput");
}

void perf_json_rtt(struct json *j, const uint64_t *rtt, uint64_t n)
{
    double mean;
    rtt_stats(rtt, n, &mean);
    json_obj(j, "rtt_us");
    json_dbl(j, "p50", quantile(rtt, n, 1, 2));
    json_dbl(j, "p99", quantile(rtt, n, 99, 100));
    json_dbl(j, "min", quantile(rtt, n, 0, 1));
    json_dbl(j, "max", quantile(rtt, n, 1, 1));
    json_dbl(j, "mean", mean);
    json_dbl(j, "p90", quantile(rtt, n, 90, 100));
    json_dbl(j, "p999", quantile(rtt, n, 999, 1000));
    /* cdf[k]: the time at quantile k/100; cdf[0] the least, cdf[100] the greatest
     * (the index for k = 100 is n, the last sample) */
    json_arr(j, "cdf");
    for (uint64_t k = 0; k <= 100; k++)
        json_dbl(j, NULL, quantile(rtt, n, k, 100));
    json_end_arr(j);
    json_end_obj(j);
}

void perf_json_end(struct json *j, const struct perf_opts *o, uint64_t snd_cpu_ns,
                   uint64_t rcv_cpu_ns, uint64_t bytes, const uint64_t *rtt, uint64_t nrtt,
                   const struct perf_iv *iv)
{
    json_dbl(j, "sender_cpu_s", (double)snd_cpu_ns / 1e9);
    json_dbl(j, "receiver_cpu_s", (double)rcv_cpu_ns / 1e9);
    if (bytes)
        json_dbl(j, "cpu_ns_per_byte", (double)(snd_cpu_ns + rcv_cpu_ns) / (double)bytes);
    if (o->pingpong)
        perf_json_rtt(j, rtt, nrtt);
    if (o->interval_ns && iv && iv->n) {
        json_arr(j, "intervals");
        for (size_t i = 0; i < iv->n; i++) {
            const struct perf_ivrec *r = &iv->v[i];
            json_obj(j, NULL);
            json_dbl(j, "start", r->start);
            json_dbl(j, "end", r->end);
            if (iv->rounds) {
                json_u64(j, "round_trips", r->rounds);
                if (r->rounds && iv->rtts) {
                    json_dbl(j, "p50_us", r->p50_us);
                    json_dbl(j, "p99_us", r->p99_us);
                    json_dbl(j, "max_us", r->max_us);
                }
            } else {
                json_u64(j, "bytes", r->bytes);
                json_dbl(j, "gbps", r->end > r->start
                                        ? (double)r->bytes * 8 / (r->end - r->start) / 1e9
                                        : 0);
            }
            json_end_obj(j);
        }
        json_end_arr(j);
    }
    if (!o->link) { /* the private LAN this run made */
        json_obj(j, "lan");
        json_u64(j, "rate_bps", o->lan.rate_bps);
        json_dbl(j, "loss", o->lan.loss);
        json_u64(j, "mtu", o->lan.mtu);
        json_end_obj(j);
    }
    json_end_obj(j);
    json_finish(j);
}

/* ---- the raw protocol's result ---- */

void report(const struct perf_opts *o, const char *link, uint64_t sent, const struct result *r,
            const struct lat *lat, double seconds, const uint64_t *rtt, uint64_t nrtt,
            const struct perf_raw_snd *x)
{
    double gbps = seconds > 0 ? (double)r->bytes * 8 / seconds / 1e9 : 0;
    double mpps = seconds > 0 ? (double)r->delivered / seconds / 1e6 : 0;
    uint64_t arrived = r->delivered + r->dropped_crc + r->dropped_header + r->dropped_policy;
    uint64_t lost = sent > arrived ? sent - arrived : 0;
    double p50, p99;
    perf_rtt_pct(rtt, nrtt, &p50, &p99);
    if (o->json) {
        struct json j;
        perf_json_begin(&j, o, "raw", link);
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
        perf_json_end(&j, o, x ? x->cpu : 0, x ? x->rcpu : 0, r->bytes, rtt, nrtt,
                      x ? x->iv : NULL);
        return;
    }
    char b[32], c[32], note[96];
    snprintf(note, sizeof note, "lost/total %llu/%llu frames (%.2g%%)", (unsigned long long)lost,
             (unsigned long long)sent, sent ? 100.0 * (double)lost / (double)sent : 0);
    struct perf_summary s = {
        .snd = {x != NULL, o->pingpong ? nrtt * o->frame : sent * o->frame, x ? x->secs : 0},
        .rcv = {true, r->bytes, seconds},
        .rcv_note = o->pingpong ? NULL : note,
        .rtt = rtt,
        .nrtt = nrtt,
    };
    perf_summary(o, &s);
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
    if (x)
        printf("cpu: sender %.2f s, receiver %.2f s\n", (double)x->cpu / 1e9,
               (double)x->rcpu / 1e9);
    if (o->latency && lat)
        for (int k = 0; k < 8; k++)
            if (lat[k].count)
                printf("one-way latency, class %d: p50 %.1f us, p99 %.1f us, max %.1f us "
                       "(%llu frames)\n",
                       k, (double)lat[k].p50 / 1e3, (double)lat[k].p99 / 1e3,
                       (double)lat[k].max / 1e3, (unsigned long long)lat[k].count);
    fflush(stdout);
}
