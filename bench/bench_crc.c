/* CRC32C throughput, two ways.
 *
 * In cache: for each implementation this CPU runs and each buffer size, GB/s
 * of jet_crc32c, of jet_crc32c_copy, and of a memcpy of the same bytes,
 * measured in the same run.  The three are timed in alternation, rep after
 * rep, so drift (frequency, neighbours) hits them alike; each figure is the
 * median over the reps.
 *
 * Remote: what a receiver sees.  A second thread, pinned to another CPU,
 * writes a buffer (memcpy from its own private copy, so the lines sit
 * modified in its cache); as soon as it is done the measuring thread times
 * one call on that buffer: jet_crc32c ("crc remote"), jet_crc32c_copy into a
 * local buffer ("copy+crc remote") or memcpy into the same local buffer
 * ("memcpy remote").  Every call is on freshly written data; the operations
 * of all implementations take turns, round after round, and each figure is
 * n / the median time of one call.  Skipped when fewer than two CPUs are
 * available.
 *
 *   bench_crc [--json] [--reps N] [--ms MS] [--remote-samples N]
 *
 * Plain table by default; --json prints one JSON object on stdout. */
#include "jet/crc32c.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "util/clock.h"
#include "util/rng.h"

enum { OP_CRC, OP_COPY, OP_MEMCPY, NOPS };

static const size_t sizes[] = {64, 1500, 9000, 65536};
enum { NSIZES = sizeof sizes / sizeof sizes[0], MAX_SIZE = 65536, MAX_REPS = 101 };

static uint8_t *src, *dst;
static volatile uint32_t sink; /* results land here so the work cannot be dropped */

/* Tells the compiler that memory may have been read or changed, so a call
 * whose inputs look unchanged is not hoisted and a store is not dropped. */
#define CLOBBER() __asm__ volatile("" ::: "memory")

/* Runs op iters times on n bytes; returns the elapsed nanoseconds. */
static uint64_t run(int op, size_t n, uint64_t iters)
{
    uint32_t acc = 0;
    uint64_t t0 = jet_now_ns();
    switch (op) {
    case OP_CRC:
        for (uint64_t i = 0; i < iters; i++) {
            acc ^= jet_crc32c(0, src, n);
            CLOBBER();
        }
        break;
    case OP_COPY:
        for (uint64_t i = 0; i < iters; i++) {
            acc ^= jet_crc32c_copy(0, dst, src, n);
            CLOBBER();
        }
        break;
    default:
        for (uint64_t i = 0; i < iters; i++) {
            memcpy(dst, src, n);
            CLOBBER();
        }
        break;
    }
    uint64_t t = jet_now_ns() - t0;
    sink ^= acc;
    return t ? t : 1;
}

/* Iterations of op on n bytes that take about ms milliseconds. */
static uint64_t calibrate(int op, size_t n, unsigned ms)
{
    uint64_t iters = 1, t;
    while ((t = run(op, n, iters)) < 2000000 && iters < (1ull << 40))
        iters *= 2;
    double want = (double)iters * (ms * 1e6) / (double)t;
    return want < 1 ? 1 : (uint64_t)want;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct result {
    const char *impl;
    size_t size;
    double gbps[NOPS];
};

static void measure(struct result *r, const char *impl, size_t n, int reps, unsigned ms)
{
    uint64_t iters[NOPS];
    double gbps[NOPS][MAX_REPS];
    for (int op = 0; op < NOPS; op++)
        iters[op] = calibrate(op, n, ms);
    for (int rep = 0; rep < reps; rep++)
        for (int op = 0; op < NOPS; op++) {
            uint64_t ns = run(op, n, iters[op]);
            gbps[op][rep] = (double)n * (double)iters[op] / (double)ns; /* bytes/ns = GB/s */
        }
    r->impl = impl;
    r->size = n;
    for (int op = 0; op < NOPS; op++)
        r->gbps[op] = median(gbps[op], reps);
}

/* ------------------------------------------------------------------ */
/* Remote data: written by another CPU just before each measured call. */

enum { OP_RCRC, OP_RCOPY, NROPS }; /* per implementation; memcpy is shared */

static const size_t rsizes[] = {9000, 65536};
enum { NRSIZES = sizeof rsizes / sizeof rsizes[0], MAX_SAMPLES = 100001 };

/* The two sides' flags live on lines of their own, away from the data. */
static struct {
    _Alignas(64) uint64_t req;  /* round the measuring thread asks for; ~0: stop */
    size_t len;                 /* bytes to write in that round */
    _Alignas(64) uint64_t done; /* last round the writer has finished */
} ctl;

static uint8_t *rbuf; /* shared: written by the writer, read by the measurer */
static uint8_t *wsrc; /* the writer's private source */

static inline void cpu_relax(void)
{
#if defined(__x86_64__)
    _mm_pause();
#endif
}

/* Fine-grained clock for timing one call: the TSC where there is one
 * (converted with a rate measured against jet_now_ns), else jet_now_ns. */
static inline uint64_t ticks(void)
{
#if defined(__x86_64__)
    _mm_lfence();
    uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
#else
    return jet_now_ns();
#endif
}

static void *writer_main(void *arg)
{
    (void)arg;
    uint64_t seen = 0;
    for (;;) {
        uint64_t r;
        while ((r = __atomic_load_n(&ctl.req, __ATOMIC_ACQUIRE)) == seen)
            cpu_relax();
        if (r == ~0ull)
            return NULL;
        seen = r;
        wsrc[r % 4096] ^= 1; /* the data changes from round to round */
        memcpy(rbuf, wsrc, ctl.len);
        CLOBBER();
        __atomic_store_n(&ctl.done, r, __ATOMIC_RELEASE);
    }
}

/* The first two CPUs this process may run on; false if there are fewer. */
static bool two_cpus(int *a, int *b)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return false;
    int found = 0;
    for (int c = 0; c < CPU_SETSIZE && found < 2; c++)
        if (CPU_ISSET(c, &set))
            *(found++ ? b : a) = c;
    return found == 2;
}

static int pin(pthread_t t, int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(t, sizeof set, &set);
}

struct rresult {
    const char *impl;
    size_t size;
    double gbps[NROPS], memcpy_gbps;
};

/* One timed operation on the freshly written buffer, in ticks. */
static uint64_t rop_once(int op, size_t n, uint64_t round)
{
    ctl.len = n;
    __atomic_store_n(&ctl.req, round, __ATOMIC_RELEASE);
    while (__atomic_load_n(&ctl.done, __ATOMIC_ACQUIRE) != round)
        cpu_relax();
    uint32_t acc = 0;
    uint64_t t0 = ticks();
    if (op == OP_RCRC)
        acc = jet_crc32c(0, rbuf, n);
    else if (op == OP_RCOPY)
        acc = jet_crc32c_copy(0, dst, rbuf, n);
    else
        memcpy(dst, rbuf, n);
    CLOBBER();
    uint64_t t = ticks() - t0;
    sink ^= acc;
    return t;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t median_u64(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof v[0], cmp_u64);
    return v[n / 2];
}

/* Fills res[k * NRSIZES + s] for the k-th of the nsel implementations sel[]
 * and size s (memcpy_gbps is the same measurement in every row of a size).
 * Returns 0, or -1 if the writer thread cannot be set up. */
static int measure_remote(struct rresult *res, const char *const *sel, size_t nsel, int samples)
{
    int cpu_me, cpu_writer;
    if (!two_cpus(&cpu_me, &cpu_writer))
        return -1;
    cpu_set_t saved; /* this thread's affinity, restored at the end */
    if (pthread_getaffinity_np(pthread_self(), sizeof saved, &saved) != 0)
        return -1;
    pthread_t w;
    ctl.req = ctl.done = 0;
    if (pthread_create(&w, NULL, writer_main, NULL) != 0)
        return -1;
    int rc = pin(w, cpu_writer) || pin(pthread_self(), cpu_me) ? -1 : 0;
    size_t nops = nsel * NROPS + 1; /* the last one: memcpy */
    uint64_t *t = rc ? NULL : malloc(nops * (size_t)samples * sizeof *t);
    if (!t)
        rc = -1;
    uint64_t round = 0, tick0 = ticks(), ns0 = jet_now_ns();
    /* The timer's own cost, subtracted from every call. */
    uint64_t overhead = 0;
    if (!rc) {
        for (int i = 0; i < samples; i++) {
            uint64_t a = ticks();
            t[i] = ticks() - a;
        }
        overhead = median_u64(t, (size_t)samples);
    }
    for (size_t s = 0; s < NRSIZES && !rc; s++) {
        /* Warm-up: one call of each, so code, tables and TLBs are ready. */
        for (size_t op = 0; op < nops; op++) {
            if (op < nops - 1)
                jet_crc32c_select(sel[op / NROPS]);
            rop_once(op < nops - 1 ? (int)(op % NROPS) : -1, rsizes[s], ++round);
        }
        for (int i = 0; i < samples; i++)
            for (size_t op = 0; op < nops; op++) {
                size_t o = (op + (size_t)i) % nops; /* rotate who goes first */
                if (o < nops - 1)
                    jet_crc32c_select(sel[o / NROPS]);
                uint64_t d = rop_once(o < nops - 1 ? (int)(o % NROPS) : -1, rsizes[s], ++round);
                t[o * (size_t)samples + (size_t)i] = d > overhead ? d - overhead : 1;
            }
        double ns_per_tick = (double)(jet_now_ns() - ns0) / (double)(ticks() - tick0);
        double mc =
            (double)rsizes[s] /
            ((double)median_u64(&t[(nops - 1) * (size_t)samples], (size_t)samples) * ns_per_tick);
        for (size_t k = 0; k < nsel; k++) {
            struct rresult *r = &res[k * NRSIZES + s];
            r->impl = sel[k];
            r->size = rsizes[s];
            r->memcpy_gbps = mc;
            for (int op = 0; op < NROPS; op++)
                r->gbps[op] = (double)rsizes[s] /
                              ((double)median_u64(&t[(k * NROPS + (size_t)op) * (size_t)samples],
                                                  (size_t)samples) *
                               ns_per_tick);
        }
    }
    __atomic_store_n(&ctl.req, ~0ull, __ATOMIC_RELEASE);
    pthread_join(w, NULL);
    pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);
    free(t);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_crc [--json] [--reps N (1..%d, default 7)] [--ms MS per rep "
            "(default 40)] [--remote-samples N (0..%d, default 2001; 0: no remote test)]\n",
            MAX_REPS, MAX_SAMPLES);
}

int main(int argc, char **argv)
{
    bool json = false;
    int reps = 7, samples = 2001;
    unsigned ms = 40;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            reps = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--ms") == 0 && i + 1 < argc) {
            ms = (unsigned)atoi(argv[++i]);
        } else if (strcmp(argv[i], "--remote-samples") == 0 && i + 1 < argc) {
            samples = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (reps < 1 || reps > MAX_REPS || ms < 1 || ms > 10000 || samples < 0 ||
        samples > MAX_SAMPLES) {
        usage(stderr);
        return 2;
    }

    src = aligned_alloc(64, MAX_SIZE);
    dst = aligned_alloc(64, MAX_SIZE);
    rbuf = aligned_alloc(64, MAX_SIZE);
    wsrc = aligned_alloc(64, MAX_SIZE);
    if (!src || !dst || !rbuf || !wsrc) {
        fprintf(stderr, "bench_crc: out of memory\n");
        return 1;
    }
    struct jet_rng rng = {1};
    for (size_t i = 0; i < MAX_SIZE; i++)
        src[i] = wsrc[i] = (uint8_t)jet_rng_next(&rng);
    memset(dst, 0, MAX_SIZE);
    memset(rbuf, 0, MAX_SIZE);

    const char *dflt = jet_crc32c_impl();
    const char *const *names = jet_crc32c_impls();
    size_t nimpls = 0;
    while (names[nimpls])
        nimpls++;
    struct result *res = calloc(nimpls * NSIZES, sizeof *res);
    struct rresult *rres = calloc(nimpls * NRSIZES, sizeof *rres);
    const char **sel = calloc(nimpls + 1, sizeof *sel); /* the supported ones */
    if (!res || !rres || !sel) {
        fprintf(stderr, "bench_crc: out of memory\n");
        return 1;
    }
    size_t nres = 0, nsel = 0;
    for (size_t i = 0; i < nimpls; i++) {
        int rc = jet_crc32c_select(names[i]);
        if (rc == -ENOTSUP) {
            fprintf(stderr, "bench_crc: %s not supported on this CPU, skipped\n", names[i]);
            continue;
        }
        if (rc) {
            fprintf(stderr, "bench_crc: selecting %s: %s\n", names[i], strerror(-rc));
            return 1;
        }
        sel[nsel++] = names[i];
        for (size_t s = 0; s < NSIZES; s++)
            measure(&res[nres++], names[i], sizes[s], reps, ms);
    }
    bool remote = samples > 0;
    if (remote && measure_remote(rres, sel, nsel, samples) != 0) {
        fprintf(stderr, "bench_crc: remote test needs two CPUs and a second thread, skipped\n");
        remote = false;
    }
    size_t nrres = remote ? nsel * NRSIZES : 0;
    jet_crc32c_select("auto");

    if (json) {
        printf("{\"bench\":\"crc32c\",\"default_impl\":\"%s\",\"reps\":%d,\"rep_ms\":%u,"
               "\"results\":[",
               dflt, reps, ms);
        for (size_t k = 0; k < nres; k++) {
            const struct result *r = &res[k];
            printf("%s{\"impl\":\"%s\",\"size\":%zu,\"crc_gbps\":%.3f,\"copy_crc_gbps\":%.3f,"
                   "\"memcpy_gbps\":%.3f,\"crc_vs_memcpy\":%.4f,\"copy_crc_vs_memcpy\":%.4f}",
                   k ? "," : "", r->impl, r->size, r->gbps[OP_CRC], r->gbps[OP_COPY],
                   r->gbps[OP_MEMCPY], r->gbps[OP_CRC] / r->gbps[OP_MEMCPY],
                   r->gbps[OP_COPY] / r->gbps[OP_MEMCPY]);
        }
        printf("],\"remote_samples\":%d,\"remote\":[", remote ? samples : 0);
        for (size_t k = 0; k < nrres; k++) {
            const struct rresult *r = &rres[k];
            printf("%s{\"impl\":\"%s\",\"size\":%zu,\"crc_gbps\":%.3f,\"copy_crc_gbps\":%.3f,"
                   "\"memcpy_gbps\":%.3f,\"crc_vs_memcpy\":%.4f,\"copy_crc_vs_memcpy\":%.4f}",
                   k ? "," : "", r->impl, r->size, r->gbps[OP_RCRC], r->gbps[OP_RCOPY],
                   r->memcpy_gbps, r->gbps[OP_RCRC] / r->memcpy_gbps,
                   r->gbps[OP_RCOPY] / r->memcpy_gbps);
        }
        printf("]}\n");
    } else {
        printf("crc32c throughput, GB/s, median of %d reps of ~%u ms (default impl: %s)\n", reps,
               ms, dflt);
        printf("%-14s %6s %9s %9s %9s %11s %16s\n", "impl", "size", "crc", "copy+crc", "memcpy",
               "crc/memcpy", "copy+crc/memcpy");
        for (size_t k = 0; k < nres; k++) {
            const struct result *r = &res[k];
            printf("%-14s %6zu %9.2f %9.2f %9.2f %11.3f %16.3f\n", r->impl, r->size,
                   r->gbps[OP_CRC], r->gbps[OP_COPY], r->gbps[OP_MEMCPY],
                   r->gbps[OP_CRC] / r->gbps[OP_MEMCPY], r->gbps[OP_COPY] / r->gbps[OP_MEMCPY]);
        }
        if (nrres) {
            printf("\nremote: data just written by another CPU, GB/s, n / median of %d calls\n",
                   samples);
            printf("%-14s %6s %11s %16s %14s %11s %16s\n", "impl", "size", "crc remote",
                   "copy+crc remote", "memcpy remote", "crc/memcpy", "copy+crc/memcpy");
            for (size_t k = 0; k < nrres; k++) {
                const struct rresult *r = &rres[k];
                printf("%-14s %6zu %11.2f %16.2f %14.2f %11.3f %16.3f\n", r->impl, r->size,
                       r->gbps[OP_RCRC], r->gbps[OP_RCOPY], r->memcpy_gbps,
                       r->gbps[OP_RCRC] / r->memcpy_gbps, r->gbps[OP_RCOPY] / r->memcpy_gbps);
            }
        }
    }
    free(res);
    free(rres);
    free(sel);
    free(rbuf);
    free(wsrc);
    free(src);
    free(dst);
    return 0;
}
