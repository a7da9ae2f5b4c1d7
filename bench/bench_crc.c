/* CRC32C throughput: for each implementation this CPU runs and each buffer
 * size (all in cache), GB/s of jet_crc32c, of jet_crc32c_copy, and of a
 * memcpy of the same bytes, measured in the same run.  The three are timed in
 * alternation, rep after rep, so drift (frequency, neighbours) hits them
 * alike; each figure is the median over the reps.
 *
 *   bench_crc [--json] [--reps N] [--ms MS]
 *
 * Plain table by default; --json prints one JSON object on stdout. */
#include "jet/crc32c.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_crc [--json] [--reps N (1..%d, default 7)] [--ms MS per rep "
            "(default 50)]\n",
            MAX_REPS);
}

int main(int argc, char **argv)
{
    bool json = false;
    int reps = 7;
    unsigned ms = 50;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            reps = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--ms") == 0 && i + 1 < argc) {
            ms = (unsigned)atoi(argv[++i]);
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (reps < 1 || reps > MAX_REPS || ms < 1 || ms > 10000) {
        usage(stderr);
        return 2;
    }

    src = aligned_alloc(64, MAX_SIZE);
    dst = aligned_alloc(64, MAX_SIZE);
    if (!src || !dst) {
        fprintf(stderr, "bench_crc: out of memory\n");
        return 1;
    }
    struct jet_rng rng = {1};
    for (size_t i = 0; i < MAX_SIZE; i++)
        src[i] = (uint8_t)jet_rng_next(&rng);
    memset(dst, 0, MAX_SIZE);

    const char *dflt = jet_crc32c_impl();
    const char *const *names = jet_crc32c_impls();
    size_t nimpls = 0;
    while (names[nimpls])
        nimpls++;
    struct result *res = calloc(nimpls * NSIZES, sizeof *res);
    if (!res) {
        fprintf(stderr, "bench_crc: out of memory\n");
        return 1;
    }
    size_t nres = 0;
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
        for (size_t s = 0; s < NSIZES; s++)
            measure(&res[nres++], names[i], sizes[s], reps, ms);
    }
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
        printf("]}\n");
    } else {
        printf("crc32c throughput, GB/s, median of %d reps of ~%u ms (default impl: %s)\n", reps,
               ms, dflt);
        printf("%-12s %6s %9s %9s %9s %11s %16s\n", "impl", "size", "crc", "copy+crc", "memcpy",
               "crc/memcpy", "copy+crc/memcpy");
        for (size_t k = 0; k < nres; k++) {
            const struct result *r = &res[k];
            printf("%-12s %6zu %9.2f %9.2f %9.2f %11.3f %16.3f\n", r->impl, r->size,
                   r->gbps[OP_CRC], r->gbps[OP_COPY], r->gbps[OP_MEMCPY],
                   r->gbps[OP_CRC] / r->gbps[OP_MEMCPY], r->gbps[OP_COPY] / r->gbps[OP_MEMCPY]);
        }
    }
    free(res);
    free(src);
    free(dst);
    return 0;
}
