/* Channel-layer benchmarks (include/jet/chan.h), each set against a
 * reference measured in the same run, in this order:
 *
 *   1. placement: a sender process sends frames with 64 KiB payloads (LAN MTU
 *      65536); per frame the receiver reads a 16-byte header with
 *      jet_rx_read(), places the other 65520 bytes into one application
 *      buffer with jet_rx_place(), and copies the same bytes of the same frame
 *      into the same buffer with memcpy().  Which of the two goes first
 *      alternates frame by frame, so both see the same mix of cold and warm
 *      source.  TSC cycles around each call; per repetition of 2000 frames,
 *      the median cycles of each (place_receive says how): GB/s of each and
 *      the ratio place/memcpy (target >= 0.8).
 *   2. demultiplexing: one process, two stations on one LAN.  The receiver
 *      has N channels open; the sender pre-sends a batch of 64-byte frames
 *      spread over them in a fixed random order (a shuffle: not in address
 *      order, which hardware prefetchers would follow), then only
 *      jet_station_poll() on the receiver is timed, until the whole batch is
 *      queued; the queues are drained afterwards, untimed.  Three kinds of
 *      run, the first of each repetition rotating: N = 1; N = 65536 with ids
 *      1..65536 (direct index); N = 65536 with ids spread over the 32-bit
 *      range (hash table).  ns per frame (median over the batches of a run:
 *      a batch that lost the CPU, or met a once-per-100-ms counter
 *      publication, does not move it; the mean is reported too), the ratio
 *      numbered 65536 / 1 (target <= 1.2) and the ratio hashed 65536 / 1
 *      (reported, no target).
 *   3. priority: `jet perf --proto raw --rate 1G -t 2 --frame 9000 --latency`
 *      (a private 1 Gbit/s LAN, bulk at full speed, a 1024-byte probe every
 *      ms) with the probes in class 7, then in class 0 beside the bulk, each
 *      twice, alternating: the p99 one-way latency of the probes and of the
 *      bulk.  No target.  The jet binary is $JET, else ../jet next to this
 *      program.
 *
 * Figures 1 and 2 are medians over the repetitions, with the median (and
 * min, max) of the per-repetition ratios, which move much less than either
 * number on this noisy 2-vCPU machine (docs/bench.md).
 *
 *   bench_chan [--json] [--reps N] [--frames N] [--demux-frames N]
 *              [--lat-seconds S] [--no-latency]
 *
 * The LANs are named bchan-PID-place and bchan-PID-demux and destroyed at
 * the end, also on errors and on SIGINT/SIGTERM.  Exit 0; 1 when a
 * measurement failed (the JSON is still printed, with "error" set); 2 on bad
 * arguments. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jet/chan.h"
#include "jet/lan.h"
#include "util/clock.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
/* Serialised TSC reads: nothing before the start read leaks into the
 * interval, nothing after the end read leaks back. */
static inline uint64_t ticks_begin(void)
{
    _mm_lfence();
    uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
}
static inline uint64_t ticks_end(void)
{
    unsigned aux;
    uint64_t t = __rdtscp(&aux);
    _mm_lfence();
    return t;
}
#define TICKS_CLOCK "tsc"
#else
static inline uint64_t ticks_begin(void)
{
    return jet_now_ns();
}
static inline uint64_t ticks_end(void)
{
    return jet_now_ns();
}
#define TICKS_CLOCK "clock_monotonic"
#endif

#define CLOBBER() __asm__ volatile("" ::: "memory")

enum {
    MAX_REPS = 51,
    /* placement */
    PL_MTU = 65536,
    PL_HDR = 16,
    PL_BODY = PL_MTU - PL_HDR,
    PL_WARMUP = 64, /* frames received before the timing starts */
    PL_RING = 64,   /* LAN ring entries: 4 MiB of frames in flight */
    PL_QUEUE = 64,  /* receive queue (back-pressure, nothing dropped) */
    /* demultiplexing */
    DX_MANY = 65536,
    DX_PAYLOAD = 64,
    DX_MTU = 512,
    DX_BATCH = 1024, /* frames per timed poll loop; fits the ring */
    DX_RING = 2048,
    DX_BUFFERS = 8192,
    DX_WARMUP_BATCHES = 16,
};
#define PL_MAGIC        0x4a4554504c414345ull /* "JETPLACE" */
#define TARGET_PLACE    0.8
#define TARGET_DEMUX    1.2
#define RECV_GIVE_UP_NS 10000000000ull /* no frame for this long: the sender is stuck */
#define JET_TIMEOUT_S   60

static volatile sig_atomic_t stop;
static volatile pid_t child; /* the sender or jet perf, to pass a signal on */
static char errbuf[512];

static void on_signal(int sig)
{
    stop = 1;
    if (child > 0)
        kill(child, sig);
}

/* Records the first failure; returns -1. */
__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
    if (errbuf[0])
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, sizeof errbuf, fmt, ap);
    va_end(ap);
    return -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct stats {
    double median, min, max;
};

static double median_of(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Median, min and max of member f over the first n (<= MAX_REPS) of a[]. */
#define STATS(a, n, f)                                                                             \
    ({                                                                                             \
        double v_[MAX_REPS];                                                                       \
        for (int i_ = 0; i_ < (n); i_++)                                                           \
            v_[i_] = (a)[i_].f;                                                                    \
        double m_ = median_of(v_, (size_t)(n));                                                    \
        (struct stats){m_, v_[0], v_[(n)-1]};                                                      \
    })

/* TSC ticks per second, against CLOCK_MONOTONIC over about 20 ms. */
static double ticks_hz(void)
{
    uint64_t n0 = jet_now_ns(), t0 = ticks_begin(), n1;
    while ((n1 = jet_now_ns()) - n0 < 20000000)
        ;
    uint64_t t1 = ticks_end();
    return (double)(t1 - t0) * 1e9 / (double)(n1 - n0);
}

static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Creates LAN name with cfg; a LAN of that name left by an earlier run of
 * this pid is removed first. */
static int lan_make(const char *name, const struct jet_lan_config *cfg)
{
    struct jet_err err = {0};
    int rc = jet_lan_create(name, cfg, &err);
    if (rc == -EEXIST) {
        jet_lan_destroy(name, true, NULL);
        rc = jet_lan_create(name, cfg, &err);
    }
    if (rc)
        return fail("creating LAN %s: %s", name, jet_err_str(&err, rc));
    return 0;
}

/* ---- 1. placement ---- */

struct place_rep {
    double place_gbps, memcpy_gbps, ratio;
};

/* Whether fd has something to read (or its writer is gone), waiting up to ms. */
static bool readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) > 0;
}

/* The sender process: waits for `go`, sends `total` frames to station 1
 * channel 1, then keeps its station's transmit queue moving until `done`
 * is readable (the receiver has everything).  Returns the exit code. */
static int place_sender(const char *link, int go, int done, uint64_t total)
{
    if (!readable(go, 10000))
        return 3;
    struct jet_err err = {0};
    struct jet_station *s;
    struct jet_chan *c;
    int rc = jet_station_open(link, 0, &s, &err);
    if (rc) {
        fprintf(stderr, "bench_chan: sender: %s\n", jet_err_str(&err, rc));
        return 1;
    }
    if (jet_chan_open(s, 1, NULL, &c)) {
        fprintf(stderr, "bench_chan: sender: %s\n", jet_station_error(s));
        jet_station_close(s);
        return 1;
    }
    uint8_t *body = malloc(PL_BODY), hdr[PL_HDR];
    int ret = 0;
    if (!body) {
        jet_station_close(s);
        return 1;
    }
    for (uint32_t i = 0; i < PL_BODY; i++)
        body[i] = (uint8_t)(i * 7 + 1);
    put64(hdr, PL_MAGIC);
    uint64_t deadline = jet_now_ns() + 120000000000ull;
    for (uint64_t seq = 0; seq < total && !stop;) {
        put64(hdr + 8, seq);
        struct iovec iov[2] = {{hdr, PL_HDR}, {body, PL_BODY}};
        ssize_t n = jet_chan_send(c, 1, 1, iov, 2);
        if (n == -EAGAIN) { /* back-pressure: the receiver is behind, or gave up */
            if (readable(done, 0))
                break;
            jet_station_poll(s);
            jet_station_wait(s, 200000);
        } else if (n < 0) {
            fprintf(stderr, "bench_chan: sender: frame %llu: %s\n", (unsigned long long)seq,
                    jet_station_error(s));
            ret = 1;
            break;
        } else {
            seq++;
        }
        if (jet_now_ns() > deadline) {
            fprintf(stderr, "bench_chan: sender: gave up after 120 s at frame %llu\n",
                    (unsigned long long)seq);
            ret = 1;
            break;
        }
    }
    while (ret == 0 && !stop && !readable(done, 0) && jet_now_ns() < deadline) {
        jet_station_poll(s);
        jet_station_wait(s, 1000000);
    }
    free(body);
    jet_station_close(s);
    return ret;
}

/* Receives warmup + reps * frames frames; times placement and memcpy.
 *
 * Per repetition, the figure of each operation is the mean of two medians
 * over its frames: of those where it went first (the source as the
 * driver's CRC check left it) and of those where it went second (the source
 * in this core's cache).  Medians, because one frame that lost the CPU
 * would weigh more in a sum than a thousand that did not. */
static int place_receive(struct jet_chan *c, int reps, uint32_t frames, double hz,
                         struct place_rep *out)
{
    uint32_t half = frames / 2 + 1, n[2] = {0, 0};
    uint8_t *buf = aligned_alloc(64, PL_BODY + 64 - PL_BODY % 64);
    double *t = malloc(4 * (size_t)half * sizeof *t); /* [order][op][frame] */
    if (!buf || !t) {
        free(buf);
        free(t);
        return fail("out of memory");
    }
    memset(buf, 0, PL_BODY);
    uint64_t total = PL_WARMUP + (uint64_t)reps * frames, last = jet_now_ns();
    int rc = 0;
    for (uint64_t i = 0; i < total && rc == 0;) {
        struct jet_rx rx;
        int r = jet_chan_recv(c, &rx, 100000000);
        if (stop) {
            if (r == 0)
                jet_chan_release(c, &rx);
            rc = fail("interrupted");
            break;
        }
        if (r == -ETIMEDOUT || r == -EINTR || r == -EAGAIN) {
            if (jet_now_ns() - last > RECV_GIVE_UP_NS)
                rc = fail("placement: no frame for 10 s after %llu of %llu", (unsigned long long)i,
                          (unsigned long long)total);
            continue;
        }
        if (r < 0) {
            rc = fail("placement: receive: %s", strerror(-r));
            break;
        }
        last = jet_now_ns();
        uint8_t h[PL_HDR];
        if (rx.len != PL_MTU || rx.flags || jet_rx_read(&rx, 0, h, PL_HDR) != 0 ||
            get64(h) != PL_MAGIC || get64(h + 8) != i) {
            rc = fail("placement: frame %llu arrived damaged or out of order (len %u, seq %llu)",
                      (unsigned long long)i, rx.len, (unsigned long long)get64(h + 8));
            jet_chan_release(c, &rx);
            break;
        }
        if (i >= PL_WARMUP) {
            int order = (int)(i & 1), pr; /* 0: jet_rx_place first, 1: memcpy first */
            uint64_t t0, t1, t2;
            if (order == 0) {
                t0 = ticks_begin();
                pr = jet_rx_place(&rx, PL_HDR, PL_BODY, buf);
                t1 = ticks_end();
                CLOBBER();
                memcpy(buf, rx.payload + PL_HDR, PL_BODY);
                CLOBBER();
                t2 = ticks_end();
            } else {
                t0 = ticks_begin();
                memcpy(buf, rx.payload + PL_HDR, PL_BODY);
                CLOBBER();
                t1 = ticks_end();
                pr = jet_rx_place(&rx, PL_HDR, PL_BODY, buf);
                CLOBBER();
                t2 = ticks_end();
            }
            if (pr != 0) {
                jet_chan_release(c, &rx);
                rc = fail("placement: jet_rx_place: %s", strerror(-pr));
                break;
            }
            double *place = t + (size_t)(2 * order) * half, *copy = place + half;
            place[n[order]] = (double)(order == 0 ? t1 - t0 : t2 - t1);
            copy[n[order]] = (double)(order == 0 ? t2 - t1 : t1 - t0);
            n[order]++;
            uint64_t k = i - PL_WARMUP;
            if ((k + 1) % frames == 0) {
                double ticks[2] = {0, 0}; /* place, memcpy */
                for (int op = 0; op < 2; op++) {
                    int orders = 0;
                    for (int o = 0; o < 2; o++)
                        if (n[o]) {
                            ticks[op] += median_of(t + (size_t)(2 * o + op) * half, n[o]);
                            orders++;
                        }
                    ticks[op] /= orders;
                }
                struct place_rep *p = &out[k / frames];
                p->place_gbps = PL_BODY / (ticks[0] / hz) / 1e9;
                p->memcpy_gbps = PL_BODY / (ticks[1] / hz) / 1e9;
                p->ratio = p->place_gbps / p->memcpy_gbps;
                n[0] = n[1] = 0;
            }
        }
        jet_chan_release(c, &rx);
        i++;
    }
    free(t);
    free(buf);
    return rc;
}

static int bench_place(const char *lan, int reps, uint32_t frames, double hz, struct place_rep *out)
{
    struct jet_lan_config cfg;
    jet_lan_config_default(&cfg);
    cfg.stations = 2;
    cfg.mtu = PL_MTU;
    cfg.ring = PL_RING;
    if (lan_make(lan, &cfg))
        return -1;
    char link[96];
    snprintf(link, sizeof link, "lan:%s", lan);
    int go[2], done[2], rc = -1;
    if (pipe2(go, O_CLOEXEC) < 0) {
        jet_lan_destroy(lan, true, NULL);
        return fail("pipe: %s", strerror(errno));
    }
    if (pipe2(done, O_CLOEXEC) < 0) {
        close(go[0]);
        close(go[1]);
        jet_lan_destroy(lan, true, NULL);
        return fail("pipe: %s", strerror(errno));
    }
    uint64_t total = PL_WARMUP + (uint64_t)reps * frames;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(go[1]);
        close(done[1]);
        _exit(place_sender(link, go[0], done[0], total));
    }
    close(go[0]);
    close(done[0]);
    if (pid < 0) {
        fail("fork: %s", strerror(errno));
        goto out;
    }
    child = pid;
    struct jet_err err = {0};
    struct jet_station *s = NULL;
    struct jet_chan *c;
    int r = jet_station_open(link, 1, &s, &err);
    if (r) {
        fail("placement: receiver: %s", jet_err_str(&err, r));
        goto reap;
    }
    struct jet_chan_policy p = {.drop = JET_DROP_BACKPRESSURE, .queue_frames = PL_QUEUE};
    if (jet_chan_open(s, 1, &p, &c)) {
        fail("placement: receiver: %s", jet_station_error(s));
        goto reap;
    }
    if (write(go[1], "g", 1) != 1) {
        fail("placement: cannot start the sender: %s", strerror(errno));
        goto reap;
    }
    rc = place_receive(c, reps, frames, hz, out);
reap:
    /* Closing the receiver first makes a sender that is still sending fail
     * at once (station gone) instead of waiting for room. */
    jet_station_close(s);
    ssize_t w = write(done[1], "d", 1); /* fails if the sender is gone; waitpid says why */
    (void)w;
    int st = 0;
    uint64_t until = jet_now_ns() + 10000000000ull;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (jet_now_ns() > until) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            rc = fail("placement: the sender did not finish");
            break;
        }
        usleep(1000);
    }
    child = 0;
    if (rc == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        rc = fail("placement: the sender failed (status %d)", st);
out:
    close(go[1]);
    close(done[1]);
    jet_lan_destroy(lan, true, NULL);
    return rc;
}

/* ---- 2. demultiplexing ---- */

/* The three kinds of run: one channel; DX_MANY channels with ids 1..DX_MANY
 * (found by direct index); DX_MANY channels with ids spread over the 32-bit
 * range (found by hash). */
enum { DX_ONE, DX_DENSE, DX_HASHED, DX_KINDS };
static const char *const dx_kind_name[DX_KINDS] = {"1", "65536", "65536_hashed"};

struct demux_rep {
    uint32_t first;                        /* the kind run first in this repetition */
    double ns[DX_KINDS], mean[DX_KINDS];   /* by kind */
    double ratio, ratio_hashed;            /* ns[DX_DENSE] / ns[DX_ONE], ns[DX_HASHED] / ns[DX_ONE] */
};

struct demux_env {
    struct jet_station *tx, *rx;
    struct jet_chan *txc;
    struct jet_chan **chans;
    uint32_t *order; /* channel of frame m: chans[order[m % n]], a shuffle of 0..n-1 */
    bool scattered;  /* ids spread over the 32-bit range (hashed), not 1..n (direct) */
    double *per;     /* ns per frame of each batch */
};

static uint64_t xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* The id of channel i of n. */
static uint32_t dx_id(const struct demux_env *e, uint32_t n, uint32_t i)
{
    return e->scattered && n > 1 ? (i * 2654435761u) | 1 : i + 1;
}

/* One run with n channels open at the receiver: `batches` batches of
 * DX_BATCH frames.  Sets *median_ns (median over the batches) and *mean_ns. */
static int demux_run(struct demux_env *e, uint32_t n, uint32_t batches, double *median_ns,
                     double *mean_ns)
{
    struct jet_chan_policy p = {.queue_frames = DX_BATCH};
    uint32_t opened = 0, dst = jet_station_addr(e->rx);
    int rc = 0;
    uint64_t x = 0x9e3779b97f4a7c15ull; /* the same order every run */
    for (uint32_t i = 0; i < n; i++)
        e->order[i] = i;
    for (uint32_t i = n; i-- > 1;) {
        uint32_t j = (uint32_t)(xorshift(&x) % (i + 1)), t = e->order[i];
        e->order[i] = e->order[j];
        e->order[j] = t;
    }
    for (; opened < n; opened++)
        if (jet_chan_open(e->rx, dx_id(e, n, opened), &p, &e->chans[opened])) {
            rc = fail("demux: opening channel %u: %s", dx_id(e, n, opened), jet_station_error(e->rx));
            goto out;
        }
    struct jet_station_stats s0, s1;
    jet_station_stats(e->rx, &s0);
    uint8_t payload[DX_PAYLOAD] = {0};
    uint64_t k = 0, total_ns = 0;
    for (uint32_t b = 0; b < batches; b++) {
        if (stop) {
            rc = fail("interrupted");
            goto out;
        }
        for (uint32_t j = 0; j < DX_BATCH; j++) {
            put64(payload, k + j);
            struct iovec iov = {payload, DX_PAYLOAD};
            ssize_t r;
            for (int t = 0; (r = jet_chan_send(e->txc, (uint16_t)dst, dx_id(e, n, e->order[(k + j) % n]),
                                               &iov, 1)) == -EAGAIN &&
                            t < 100000;
                 t++)
                jet_station_poll(e->tx); /* takes back returned buffers */
            if (r < 0) {
                rc = fail("demux: send: %s", jet_station_error(e->tx));
                goto out;
            }
        }
        uint32_t got = 0, idle = 0;
        uint64_t t0 = jet_now_ns();
        while (got < DX_BATCH) {
            int r = jet_station_poll(e->rx);
            if (r < 0) {
                rc = fail("demux: poll: %s", jet_station_error(e->rx));
                goto out;
            }
            got += (uint32_t)r;
            if (r == 0 && ++idle > 1000000) {
                rc = fail("demux: only %u of %u frames of a batch arrived", got, DX_BATCH);
                goto out;
            }
        }
        uint64_t t1 = jet_now_ns();
        e->per[b] = (double)(t1 - t0) / DX_BATCH;
        total_ns += t1 - t0;
        for (uint32_t j = 0; j < DX_BATCH; j++) {
            struct jet_chan *c = e->chans[e->order[(k + j) % n]];
            struct jet_rx rx;
            if (jet_chan_recv(c, &rx, 0) != 0) {
                rc = fail("demux: frame %llu is not queued on channel %u",
                          (unsigned long long)(k + j), jet_chan_id(c));
                goto out;
            }
            bool ok = rx.len == DX_PAYLOAD && get64(rx.payload) == k + j;
            jet_chan_release(c, &rx);
            if (!ok) {
                rc = fail("demux: channel %u got the wrong frame", jet_chan_id(c));
                goto out;
            }
        }
        k += DX_BATCH;
    }
    jet_station_stats(e->rx, &s1);
    if (s1.frames_in - s0.frames_in != k)
        rc = fail("demux: %llu frames queued of %llu (header %llu, no channel %llu dropped)",
                  (unsigned long long)(s1.frames_in - s0.frames_in), (unsigned long long)k,
                  (unsigned long long)(s1.dropped_header - s0.dropped_header),
                  (unsigned long long)(s1.dropped_no_chan - s0.dropped_no_chan));
    *median_ns = median_of(e->per, batches);
    *mean_ns = (double)total_ns / (double)k;
out:
    while (opened)
        jet_chan_close(e->chans[--opened]);
    return rc;
}

static int bench_demux(const char *lan, int reps, uint32_t batches, struct demux_rep *out)
{
    struct jet_lan_config cfg;
    jet_lan_config_default(&cfg);
    cfg.stations = 2;
    cfg.mtu = DX_MTU;
    cfg.ring = DX_RING;
    cfg.buffers = DX_BUFFERS;
    if (lan_make(lan, &cfg))
        return -1;
    char link[96];
    snprintf(link, sizeof link, "lan:%s", lan);
    struct demux_env e = {0};
    struct jet_err err = {0};
    int rc = jet_station_open(link, 0, &e.tx, &err);
    if (rc) {
        rc = fail("demux: %s", jet_err_str(&err, rc));
        goto out;
    }
    if ((rc = jet_station_open(link, 1, &e.rx, &err))) {
        rc = fail("demux: %s", jet_err_str(&err, rc));
        goto out;
    }
    if (jet_chan_open(e.tx, 1, NULL, &e.txc)) {
        rc = fail("demux: %s", jet_station_error(e.tx));
        goto out;
    }
    e.chans = calloc(DX_MANY, sizeof *e.chans);
    e.order = calloc(DX_MANY, sizeof *e.order);
    e.per = calloc(batches > DX_WARMUP_BATCHES ? batches : DX_WARMUP_BATCHES, sizeof *e.per);
    if (!e.chans || !e.order || !e.per) {
        rc = fail("out of memory");
        goto out;
    }
    double m, mean;
    /* Warm-up: pool pages, rings and code, every kind; then 65,536 channels
     * for 400 ms, so that the station's first counter publication with that
     * many (at most one pass per 100 ms, and the first grows its file: some
     * 20 us a poll for 512 polls, src/chan/statpub.h) falls here and not in
     * the first repetition. */
    for (int k = 0; k < DX_KINDS && rc == 0; k++) {
        e.scattered = k == DX_HASHED;
        rc = demux_run(&e, k == DX_ONE ? 1 : DX_MANY, DX_WARMUP_BATCHES, &m, &mean);
    }
    e.scattered = false;
    for (uint64_t until = jet_now_ns() + 400000000ull; rc == 0 && jet_now_ns() < until;)
        rc = demux_run(&e, DX_MANY, DX_WARMUP_BATCHES, &m, &mean);
    /* each repetition runs the three kinds, the first one rotating */
    for (int r = 0; r < reps && rc == 0; r++) {
        struct demux_rep *d = &out[r];
        d->first = (uint32_t)(r % DX_KINDS);
        for (int i = 0; i < DX_KINDS && rc == 0; i++) {
            int k = (r + i) % DX_KINDS;
            e.scattered = k == DX_HASHED;
            rc = demux_run(&e, k == DX_ONE ? 1 : DX_MANY, batches, &d->ns[k], &d->mean[k]);
        }
        d->ratio = d->ns[DX_DENSE] / d->ns[DX_ONE];
        d->ratio_hashed = d->ns[DX_HASHED] / d->ns[DX_ONE];
    }
out:
    free(e.chans);
    free(e.order);
    free(e.per);
    jet_station_close(e.rx);
    jet_station_close(e.tx);
    jet_lan_destroy(lan, true, NULL);
    return rc;
}

/* ---- 3. priority latency (jet perf) ---- */

struct lat_run {
    int probe_prio, run;
    bool has0, has7;
    double p99[8], p50[8]; /* us, by class; has0/has7 say which exist */
    double gbps;
    uint64_t probes;
};

/* Path of the jet binary: $JET, else ../jet from this program's directory. */
static void jet_path(const char *argv0, char *out, size_t cap)
{
    const char *env = getenv("JET");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return;
    }
    char self[PATH_MAX];
    ssize_t n = -1;
    if (!strchr(argv0, '/'))
        n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0)
        self[n] = 0;
    else
        snprintf(self, sizeof self, "%s", argv0);
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(self, sizeof self, ".");
    snprintf(out, cap, "%s/../jet", self);
}

/* Runs argv with stdout into a temporary file, under a timeout; returns
 * what it printed (malloc'd) or NULL with the reason recorded. */
static char *run_capture(char *const argv[])
{
    char path[] = "/tmp/bench_chan.XXXXXX", epath[] = "/tmp/bench_chan.err.XXXXXX";
    int fd = mkstemp(path), efd = mkstemp(epath);
    char *text = NULL;
    if (fd < 0 || efd < 0) {
        fail("mkstemp: %s", strerror(errno));
        goto out;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, 1);
        dup2(efd, 2);
        execv(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (pid < 0) {
        fail("fork: %s", strerror(errno));
        goto out;
    }
    child = pid;
    int st = 0;
    uint64_t until = jet_now_ns() + JET_TIMEOUT_S * 1000000000ull;
    bool termed = false;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (!termed && jet_now_ns() > until) {
            kill(pid, SIGTERM); /* jet removes its private LAN */
            termed = true;
            until = jet_now_ns() + 5000000000ull;
        } else if (termed && jet_now_ns() > until) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        usleep(10000);
    }
    child = 0;
    off_t len = lseek(fd, 0, SEEK_END);
    text = len >= 0 ? calloc(1, (size_t)len + 1) : NULL;
    if (!text || pread(fd, text, (size_t)len, 0) != len) {
        free(text);
        text = NULL;
        fail("cannot read the output of %s", argv[0]);
    } else if (termed || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char e[300] = "";
        ssize_t n = pread(efd, e, sizeof e - 1, 0);
        e[n > 0 ? n : 0] = 0;
        e[strcspn(e, "\n")] = 0;
        fail("%s perf %s (status %d): %s", argv[0], termed ? "timed out" : "failed", st, e);
        free(text);
        text = NULL;
    }
out:
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
    if (efd >= 0) {
        close(efd);
        unlink(epath);
    }
    return text;
}

/* The number after "key": inside [from, to); false if it is not there. */
static bool json_num(const char *from, const char *to, const char *key, double *v)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = strstr(from, k);
    if (!p || p >= to)
        return false;
    char *end;
    *v = strtod(p + strlen(k), &end);
    return end != p + strlen(k);
}

/* Fills r from jet perf's JSON: lat_us.C.p50/p99 for C in 0 and 7. */
static int parse_lat(const char *out, struct lat_run *r)
{
    const char *end = out + strlen(out), *lat = strstr(out, "\"lat_us\":{");
    double v;
    if (!lat)
        return fail("jet perf printed no lat_us: %.200s", out);
    if (json_num(out, end, "gbps", &v))
        r->gbps = v;
    if (json_num(out, end, "probes_delivered", &v))
        r->probes = (uint64_t)v;
    for (int c = 0; c < 8; c += 7) {
        char k[16];
        snprintf(k, sizeof k, "\"%d\":{", c);
        const char *o = strstr(lat, k), *close = o ? strchr(o, '}') : NULL;
        bool has = o && close && json_num(o, close, "p99", &r->p99[c]) &&
                   json_num(o, close, "p50", &r->p50[c]);
        *(c ? &r->has7 : &r->has0) = has;
    }
    if (!r->has0)
        return fail("jet perf printed no latency for class 0: %.200s", out);
    if (r->probe_prio == 7 && !r->has7)
        return fail("jet perf printed no latency for class 7: %.200s", out);
    return 0;
}

static int bench_latency(const char *jet, double seconds, struct lat_run *runs, int nruns)
{
    if (access(jet, X_OK) != 0)
        return fail("%s: %s (set JET to the jet binary)", jet, strerror(errno));
    char secs[32];
    snprintf(secs, sizeof secs, "%g", seconds);
    for (int i = 0; i < nruns; i++) {
        struct lat_run *r = &runs[i];
        memset(r, 0, sizeof *r);
        r->probe_prio = i % 2 ? 0 : 7;
        r->run = i / 2 + 1;
        char prio[4];
        snprintf(prio, sizeof prio, "%d", r->probe_prio);
        char *argv[] = {(char *)jet, "perf",   "--proto",      "raw",     "--rate",
                        "1G",        "-t",     secs,           "--frame", "9000",
                        "--latency", "--json", "--probe-prio", prio,      NULL};
        char *out = run_capture(argv);
        if (!out)
            return -1;
        int rc = parse_lat(out, r);
        free(out);
        if (rc)
            return rc;
        if (stop)
            return fail("interrupted");
    }
    return 0;
}

/* ---- output ---- */

static void print_stats(const char *key, struct stats s, int prec)
{
    printf("\"%s\":{\"median\":%.*f,\"min\":%.*f,\"max\":%.*f}", key, prec, s.median, prec, s.min,
           prec, s.max);
}

static void print_json_lat(const struct lat_run *runs, int nruns)
{
    printf("\"latency\":{\"command\":\"jet perf --proto raw --rate 1G -t T --frame 9000 "
           "--latency --json --probe-prio P\",\"runs\":[");
    for (int i = 0; i < nruns; i++) {
        const struct lat_run *r = &runs[i];
        printf("%s{\"probe_prio\":%d,\"run\":%d,\"gbps\":%.3f,\"probes\":%llu,"
               "\"class0_p50_us\":%.1f,\"class0_p99_us\":%.1f",
               i ? "," : "", r->probe_prio, r->run, r->gbps, (unsigned long long)r->probes,
               r->p50[0], r->p99[0]);
        if (r->has7)
            printf(",\"class7_p50_us\":%.1f,\"class7_p99_us\":%.1f", r->p50[7], r->p99[7]);
        printf("}");
    }
    /* With priority the probes are class 7 and the bulk class 0; without,
     * both are class 0. */
    const char *sep = "";
    printf("],\"with_prio\":{\"probe_p99_us\":[");
    for (int i = 0; i < nruns; i += 2, sep = ",")
        printf("%s%.1f", sep, runs[i].p99[7]);
    printf("],\"bulk_p99_us\":[");
    sep = "";
    for (int i = 0; i < nruns; i += 2, sep = ",")
        printf("%s%.1f", sep, runs[i].p99[0]);
    printf("]},\"without_prio\":{\"probe_p99_us\":[");
    sep = "";
    for (int i = 1; i < nruns; i += 2, sep = ",")
        printf("%s%.1f", sep, runs[i].p99[0]);
    printf("]}}");
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_chan [--json] [--reps N (1..%d, default 7)] [--frames N (placement "
            "frames per rep, default 2000)]\n"
            "                  [--demux-frames N (per run, default 262144)] [--lat-seconds S "
            "(default 2)] [--no-latency]\n",
            MAX_REPS);
}

int main(int argc, char **argv)
{
    bool json = false, latency = true;
    int reps = 7;
    long frames = 2000, demux_frames = 262144;
    double lat_seconds = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--no-latency")) {
            latency = false;
        } else if (!strcmp(a, "--reps") && v) {
            reps = atoi(v), i++;
        } else if (!strcmp(a, "--frames") && v) {
            frames = atol(v), i++;
        } else if (!strcmp(a, "--demux-frames") && v) {
            demux_frames = atol(v), i++;
        } else if (!strcmp(a, "--lat-seconds") && v) {
            lat_seconds = atof(v), i++;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (reps < 1 || reps > MAX_REPS || frames < 1 || frames > 1000000 || demux_frames < DX_BATCH ||
        demux_frames > 100000000 || !(lat_seconds >= 0.1) || lat_seconds > 60) {
        usage(stderr);
        return 2;
    }
    uint32_t batches = (uint32_t)(demux_frames / DX_BATCH);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a sender that died early: write() says so */

    char lan_place[64], lan_demux[64], jet[PATH_MAX + 16];
    snprintf(lan_place, sizeof lan_place, "bchan-%d-place", (int)getpid());
    snprintf(lan_demux, sizeof lan_demux, "bchan-%d-demux", (int)getpid());
    jet_path(argv[0], jet, sizeof jet);
    double hz = ticks_hz();

    static struct place_rep pr[MAX_REPS];
    static struct demux_rep dr[MAX_REPS];
    struct lat_run lr[4] = {0};
    const int nlat = 4;
    bool ok_place = false, ok_demux = false, ok_lat = false;
    fprintf(stderr, "bench_chan: placement\n");
    ok_place = bench_place(lan_place, reps, (uint32_t)frames, hz, pr) == 0;
    if (!stop) {
        fprintf(stderr, "bench_chan: demultiplexing\n");
        ok_demux = bench_demux(lan_demux, reps, batches, dr) == 0;
    }
    if (!stop && latency) {
        fprintf(stderr, "bench_chan: priority latency (%s)\n", jet);
        ok_lat = bench_latency(jet, lat_seconds, lr, nlat) == 0;
    }

    struct stats place = STATS(pr, reps, place_gbps), copy = STATS(pr, reps, memcpy_gbps),
                 pratio = STATS(pr, reps, ratio), dratio = STATS(dr, reps, ratio),
                 hratio = STATS(dr, reps, ratio_hashed), dns[DX_KINDS], dmean[DX_KINDS];
    for (int k = 0; k < DX_KINDS; k++) {
        dns[k] = STATS(dr, reps, ns[k]);
        dmean[k] = STATS(dr, reps, mean[k]);
    }

    if (json) {
        printf("{\"bench\":\"chan\",\"reps\":%d", reps);
        if (errbuf[0]) {
            printf(",\"error\":\"");
            for (const char *p = errbuf; *p; p++) {
                if (*p == '"' || *p == '\\')
                    putchar('\\');
                putchar((unsigned char)*p < 32 ? ' ' : *p);
            }
            printf("\"");
        }
        if (ok_place) {
            printf(",\"placement\":{\"payload\":%d,\"placed_bytes\":%d,\"frames_per_rep\":%ld,"
                   "\"clock\":\"%s\",\"clock_ghz\":%.3f,",
                   PL_MTU, PL_BODY, frames, TICKS_CLOCK, hz / 1e9);
            print_stats("place_gbps", place, 3);
            printf(",");
            print_stats("memcpy_gbps", copy, 3);
            printf(",");
            print_stats("ratio", pratio, 4);
            printf(",\"target\":{\"ratio_at_least\":%.1f},\"pass\":%s,\"reps\":[", TARGET_PLACE,
                   pratio.median >= TARGET_PLACE ? "true" : "false");
            for (int r = 0; r < reps; r++)
                printf("%s{\"place_gbps\":%.3f,\"memcpy_gbps\":%.3f,\"ratio\":%.4f}", r ? "," : "",
                       pr[r].place_gbps, pr[r].memcpy_gbps, pr[r].ratio);
            printf("]}");
        }
        if (ok_demux) {
            printf(",\"demux\":{\"payload\":%d,\"batch\":%d,\"frames_per_run\":%llu,"
                   "\"channels\":[1,%d],",
                   DX_PAYLOAD, DX_BATCH, (unsigned long long)batches * DX_BATCH, DX_MANY);
            for (int k = 0; k < DX_KINDS; k++) {
                char name[64];
                snprintf(name, sizeof name, "ns_per_frame_%s", dx_kind_name[k]);
                print_stats(name, dns[k], 2);
                printf(",");
                snprintf(name, sizeof name, "mean_ns_per_frame_%s", dx_kind_name[k]);
                print_stats(name, dmean[k], 2);
                printf(",");
            }
            print_stats("ratio", dratio, 4);
            printf(",");
            print_stats("ratio_hashed", hratio, 4);
            printf(",\"target\":{\"ratio_at_most\":%.1f},\"pass\":%s,\"reps\":[", TARGET_DEMUX,
                   dratio.median <= TARGET_DEMUX ? "true" : "false");
            for (int r = 0; r < reps; r++) {
                printf("%s{\"first\":\"%s\"", r ? "," : "", dx_kind_name[dr[r].first]);
                for (int k = 0; k < DX_KINDS; k++)
                    printf(",\"ns_%s\":%.2f,\"mean_ns_%s\":%.2f", dx_kind_name[k], dr[r].ns[k],
                           dx_kind_name[k], dr[r].mean[k]);
                printf(",\"ratio\":%.4f,\"ratio_hashed\":%.4f}", dr[r].ratio, dr[r].ratio_hashed);
            }
            printf("]}");
        }
        if (ok_lat) {
            printf(",");
            print_json_lat(lr, nlat);
        }
        printf("}\n");
    } else {
        if (ok_place)
            printf("placement of %d of %d payload bytes, median of %d reps of %ld frames:\n"
                   "  jet_rx_place %.2f GB/s, memcpy %.2f GB/s, ratio %.3f [%.3f..%.3f] "
                   "(target >= %.1f: %s)\n",
                   PL_BODY, PL_MTU, reps, frames, place.median, copy.median, pratio.median,
                   pratio.min, pratio.max, TARGET_PLACE,
                   pratio.median >= TARGET_PLACE ? "PASS" : "MISS");
        if (ok_demux)
            printf("demultiplexing of %d-byte frames in random channel order, median of %d runs of "
                   "%u frames:\n"
                   "  1 channel %.1f ns/frame; %d channels, ids 1..%d %.1f ns/frame, "
                   "ratio %.3f [%.3f..%.3f] (target <= %.1f: %s);\n"
                   "  %d channels, ids spread (hashed) %.1f ns/frame, ratio %.3f [%.3f..%.3f]\n",
                   DX_PAYLOAD, reps, batches * DX_BATCH, dns[DX_ONE].median, DX_MANY, DX_MANY,
                   dns[DX_DENSE].median, dratio.median, dratio.min, dratio.max, TARGET_DEMUX,
                   dratio.median <= TARGET_DEMUX ? "PASS" : "MISS", DX_MANY,
                   dns[DX_HASHED].median, hratio.median, hratio.min, hratio.max);
        if (ok_lat) {
            printf("priority: p99 one-way latency at 1 Gbit/s, 9000-byte bulk, us:\n");
            for (int i = 0; i < nlat; i++) {
                const struct lat_run *r = &lr[i];
                if (r->probe_prio == 7)
                    printf("  run %d: probes in class 7 %.1f, bulk (class 0) %.1f\n", r->run,
                           r->p99[7], r->p99[0]);
                else
                    printf("  run %d: probes in class 0 with the bulk %.1f\n", r->run, r->p99[0]);
            }
        }
    }
    if (errbuf[0]) {
        fprintf(stderr, "bench_chan: %s\n", errbuf);
        return 1;
    }
    return 0;
}
