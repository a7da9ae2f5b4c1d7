/* ring_ref: the bare reference that `jet perf` is measured against.
 *
 * Two processes, this one and a fork()ed child, share one
 * mmap(MAP_SHARED | MAP_ANONYMOUS) region made before the fork.  It holds
 * single-producer single-consumer rings of fixed-size slots and nothing else:
 * no buffer pool, no indices, no frame headers.  Whatever `jet perf` loses
 * against this program on the same machine in the same minute is the LAN's
 * own cost, which is why bench/run.sh reports ratios (docs/bench.md).
 *
 * Throughput (default): the parent copies each frame from a private buffer
 * into the next slot and publishes it; the child copies each slot out into a
 * private buffer and checks the 8-byte sequence number at its start.  Each
 * byte is written once by the sender and read once by the receiver, as in a
 * one-copy receive.  Seconds run from just before the first frame is copied
 * in to just after the last one is copied out.
 *
 * Ping-pong (--pingpong): two rings, one per direction.  The parent (client)
 * copies one frame in, the child (server) copies it out and back into the
 * return ring, the client copies the echo out.  Each round trip is timed with
 * CLOCK_MONOTONIC; both sides busy-poll.
 *
 * Order of events: parse_args -> map_region -> fork -> each side: pin,
 * prefault, meet at the start line (ctl.ready) -> run (send/recv or
 * client/server) -> the child leaves its counts in the control block and
 * exits -> the parent reaps it, prints one report, returns 0, 1 (run failed,
 * e.g. a sequence error) or 2 (bad arguments). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

_Static_assert(ATOMIC_INT_LOCK_FREE == 2,
               "32-bit atomics must be lock-free to work across processes");

enum {
    /* Counters written by different sides sit 128 bytes apart: Intel's
     * adjacent-line prefetcher fetches 64-byte lines in pairs. */
    LINE = 128,
    PAGE = 4096,
    SLOT_ALIGN = 64,
    SEQ_BYTES = 8,
    DEFAULT_SLOTS = 256,
    DEFAULT_FRAME = 9000,
    DEFAULT_PP_FRAME = 64,
    PP_WARMUP = 1000,          /* round trips left out of the percentiles */
    TIME_CHECK_EVERY = 16,     /* frames between clock reads in -t mode */
    YIELD_AFTER_SPINS = 8192,  /* idle polls in a row before sched_yield() */
    ABORT_CHECK_SPINS = 1024,  /* idle polls between looks at ctl.abort */
    REAP_CHECK_SPINS = 1 << 20 /* idle polls between waitpid(WNOHANG) */
};

#define MAX_FRAME     (16u << 20)
#define MAX_RING      (1ull << 30) /* bytes of slots per ring */
#define MAX_ROUNDS    20000000ull  /* ping-pong samples kept in memory */
#define MAX_SECONDS   3600.0
#define EXIT_RUN_FAIL 1
#define EXIT_USAGE    2

/* --- rings ----------------------------------------------------------------
 *
 * The shared part of one ring.  tail and head are free-running 32-bit
 * counters; slot i lives at slots + (i & mask) * stride and tail - head is
 * the fill.  The producer owns slots [tail, head + nslots) and is the only
 * writer of tail; the consumer owns [head, tail) and is the only writer of
 * head.  A release store of tail publishes the slot bytes written before it;
 * a release store of head hands back a slot only after its bytes were read. */
struct ring_shared {
    _Alignas(LINE) _Atomic uint32_t tail; /* producer writes, consumer reads */
    _Alignas(LINE) _Atomic uint32_t head; /* consumer writes, producer reads */
};

/* Process-private views.  Each side keeps its own counter locally and a
 * cached copy of the other side's, and reloads the shared counter only when
 * the cached one says full (producer) or empty (consumer): a side reads the
 * other's cache line when it has caught up with what it last saw there, not
 * once per frame. */
struct producer {
    struct ring_shared *sh;
    unsigned char *slots;
    size_t stride;
    uint32_t mask, nslots;
    uint32_t tail, head_cache;
};

struct consumer {
    struct ring_shared *sh;
    const unsigned char *slots;
    size_t stride;
    uint32_t mask;
    uint32_t head, tail_cache;
};

/* Next free slot, or NULL when the ring is full. */
static unsigned char *prod_slot(struct producer *p)
{
    if (p->tail - p->head_cache == p->nslots) {
        p->head_cache = atomic_load_explicit(&p->sh->head, memory_order_acquire);
        if (p->tail - p->head_cache == p->nslots)
            return NULL;
    }
    return p->slots + (size_t)(p->tail & p->mask) * p->stride;
}

/* Makes the slot from prod_slot() visible to the consumer. */
static void prod_publish(struct producer *p)
{
    p->tail++;
    atomic_store_explicit(&p->sh->tail, p->tail, memory_order_release);
}

/* Oldest full slot, or NULL when the ring is empty. */
static const unsigned char *cons_slot(struct consumer *c)
{
    if (c->head == c->tail_cache) {
        c->tail_cache = atomic_load_explicit(&c->sh->tail, memory_order_acquire);
        if (c->head == c->tail_cache)
            return NULL;
    }
    return c->slots + (size_t)(c->head & c->mask) * c->stride;
}

/* Hands the slot from cons_slot() back to the producer; its bytes must not
 * be read after this. */
static void cons_release(struct consumer *c)
{
    c->head++;
    atomic_store_explicit(&c->sh->head, c->head, memory_order_release);
}

/* --- the shared region ---------------------------------------------------- */

/* Start line, stop signal and the child's results. */
struct ctl {
    _Alignas(LINE) _Atomic uint32_t ready; /* child: pinned, prefaulted, polling */
    _Atomic uint32_t abort;                /* either side: stop, the run failed */
    _Atomic uint32_t done;                 /* parent: nothing more comes; total valid */
    uint64_t total;                        /* frames the parent sent, set before done */
    /* Written by the child before it exits, read by the parent after
     * waitpid(), which orders the two. */
    _Alignas(LINE) uint64_t delivered;
    uint64_t seq_errors;
    uint64_t t_last_ns; /* receiver's clock when its last frame was copied out */
    uint64_t cpu_ns;    /* the child's CPU time over its run (receiver / server) */
};

struct region {
    void *base;
    size_t size;
    struct ctl *ctl;
    struct ring_shared *sh[2];
    unsigned char *slots[2];
    size_t stride, ring_bytes;
};

struct opts {
    size_t frame;
    uint32_t slots;
    uint64_t count; /* -n: frames or round trips; 0 when -t is used */
    double seconds; /* -t */
    bool pingpong, json;
    int cpu[2]; /* parent, child; -1 = no pinning */
};

static size_t align_up(size_t v, size_t a)
{
    return (v + a - 1) / a * a;
}

/* Maps ctl | ring 0 | ring 1 | slots 0 | slots 1, each part page aligned.
 * Ring 0 carries parent -> child, ring 1 child -> parent (ping-pong only). */
static int map_region(struct region *rg, const struct opts *o)
{
    int nrings = o->pingpong ? 2 : 1;
    size_t off_ring = align_up(sizeof(struct ctl), PAGE);
    size_t off_slots = off_ring + 2 * align_up(sizeof(struct ring_shared), PAGE);

    rg->stride = align_up(o->frame, SLOT_ALIGN);
    rg->ring_bytes = align_up(rg->stride * o->slots, PAGE);
    rg->size = off_slots + (size_t)nrings * rg->ring_bytes;
    rg->base = mmap(NULL, rg->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (rg->base == MAP_FAILED)
        return -errno;
    unsigned char *b = rg->base;
    rg->ctl = (struct ctl *)b;
    for (int i = 0; i < 2; i++) {
        rg->sh[i] =
            (struct ring_shared *)(b + off_ring + i * align_up(sizeof(struct ring_shared), PAGE));
        rg->slots[i] = i < nrings ? b + off_slots + i * rg->ring_bytes : NULL;
    }
    /* A fresh anonymous mapping is zeroed: all counters 0, ring empty. */
    return 0;
}

static void producer_init(struct producer *p, const struct region *rg, int ring, uint32_t nslots)
{
    *p = (struct producer){.sh = rg->sh[ring],
                           .slots = rg->slots[ring],
                           .stride = rg->stride,
                           .mask = nslots - 1,
                           .nslots = nslots};
}

static void consumer_init(struct consumer *c, const struct region *rg, int ring, uint32_t nslots)
{
    *c = (struct consumer){
        .sh = rg->sh[ring], .slots = rg->slots[ring], .stride = rg->stride, .mask = nslots - 1};
}

/* Touches every page of the region so that neither side takes page faults
 * inside the timed part (page tables of shared mappings are not copied by
 * fork, so each process faults them in separately). */
static void prefault(const struct region *rg)
{
    const volatile unsigned char *b = rg->base;
    for (size_t off = 0; off < rg->size; off += PAGE)
        (void)b[off];
}

/* --- small helpers -------------------------------------------------------- */

/* CPU time of this process, user + system (CLOCK_PROCESS_CPUTIME_ID). */
static uint64_t cpu_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__) || defined(__i386__)
static inline void cpu_relax(void)
{
    __builtin_ia32_pause();
}
#elif defined(__aarch64__)
static inline void cpu_relax(void)
{
    __asm__ volatile("yield" ::: "memory");
}
#else
static inline void cpu_relax(void)
{
    __asm__ volatile("" ::: "memory");
}
#endif

/* Tells the compiler that buf's bytes are used, so the copies into private
 * buffers that nothing else reads are not optimised away. */
static inline void keep(const void *buf)
{
    __asm__ volatile("" : : "r"(buf) : "memory");
}

/* Idle-poll bookkeeping: one per side.  child_pid is set in the parent only,
 * so that a receiver that dies does not leave the sender spinning forever.
 *
 * After YIELD_AFTER_SPINS polls in a row with nothing to do (150-200 us at
 * 20 ns a pause) the poller calls sched_yield().  With each process on its
 * own CPU that never happens in steady state.  When other load puts both on
 * one CPU, it turns a wait of a whole time slice per ring lap into a hand-over
 * after 0.2 ms, so a busy moment costs a factor of two instead of a hundred.
 * A much shorter budget (5 us was tried) yields on every hypervisor or timer
 * hiccup and hands the CPU to whatever else is runnable: ping-pong p99 went
 * from 0.5 us to 8 us on a loaded machine. */
struct idle {
    struct ctl *ctl;
    pid_t child_pid;
    int child_status; /* valid when reaped */
    bool reaped;
    uint32_t spins;  /* all idle polls, for the periodic checks */
    uint32_t streak; /* idle polls since the last progress */
};

/* Called by the pollers whenever they moved a frame. */
static inline void idle_progress(struct idle *w)
{
    w->streak = 0;
}

/* One idle poll.  Returns false when the run must stop (abort or dead child). */
static bool idle_poll(struct idle *w)
{
    cpu_relax();
    w->spins++;
    if (++w->streak >= YIELD_AFTER_SPINS) {
        w->streak = 0;
        sched_yield();
    }
    if (w->spins % ABORT_CHECK_SPINS)
        return true;
    if (atomic_load_explicit(&w->ctl->abort, memory_order_relaxed))
        return false;
    if (w->child_pid > 0 && w->spins % REAP_CHECK_SPINS == 0 &&
        waitpid(w->child_pid, &w->child_status, WNOHANG) == w->child_pid) {
        w->reaped = true;
        return false;
    }
    return true;
}

static int pin(int cpu)
{
    cpu_set_t set;
    if (cpu < 0)
        return 0;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : -errno;
}

static void *alloc_buf(size_t n, int fill)
{
    void *p = aligned_alloc(SLOT_ALIGN, align_up(n, SLOT_ALIGN));
    if (p)
        memset(p, fill, align_up(n, SLOT_ALIGN));
    return p;
}

/* --- throughput ----------------------------------------------------------- */

/* Child.  Copies every frame out, checks its sequence number, and stops once
 * the parent has said how many it sent and all of them are in. */
static int run_receiver(const struct region *rg, const struct opts *o)
{
    struct consumer c;
    struct idle w = {.ctl = rg->ctl};
    struct ctl *ctl = rg->ctl;
    uint64_t got = 0, expect = 0, errors = 0;
    unsigned char *dst = alloc_buf(o->frame, 0);

    if (!dst)
        return -ENOMEM;
    consumer_init(&c, rg, 0, o->slots);
    atomic_store_explicit(&ctl->ready, 1, memory_order_release);
    for (;;) {
        const unsigned char *s = cons_slot(&c);
        if (!s) {
            if (atomic_load_explicit(&ctl->done, memory_order_acquire) && got == ctl->total)
                break;
            if (!idle_poll(&w))
                break;
            continue;
        }
        memcpy(dst, s, o->frame);
        cons_release(&c);
        keep(dst);
        idle_progress(&w);
        uint64_t seq;
        memcpy(&seq, dst, SEQ_BYTES);
        if (seq != expect) {
            errors++;
            expect = seq; /* resynchronise: one reordering, not every frame after it */
        }
        expect++;
        got++;
    }
    ctl->t_last_ns = now_ns();
    ctl->delivered = got;
    ctl->seq_errors = errors;
    free(dst);
    return 0;
}

/* Parent.  Returns 0 or -errno; fills *sent and *t_first. */
static int run_sender(const struct region *rg, const struct opts *o, struct idle *w,
                      uint64_t *sent_out, uint64_t *t_first)
{
    struct producer p;
    struct ctl *ctl = rg->ctl;
    uint64_t sent = 0, deadline = 0;
    unsigned char *src = alloc_buf(o->frame, 0xa5);
    int rc = 0;

    if (!src)
        return -ENOMEM;
    producer_init(&p, rg, 0, o->slots);
    *t_first = now_ns();
    if (o->count == 0)
        deadline = *t_first + (uint64_t)(o->seconds * 1e9);
    for (;;) {
        if (o->count ? sent == o->count
                     : sent % TIME_CHECK_EVERY == 0 && sent && now_ns() >= deadline)
            break;
        unsigned char *s = prod_slot(&p);
        if (!s) {
            if (!idle_poll(w)) {
                rc = -ECANCELED;
                break;
            }
            continue;
        }
        memcpy(src, &sent, SEQ_BYTES);
        memcpy(s, src, o->frame);
        prod_publish(&p);
        idle_progress(w);
        sent++;
    }
    ctl->total = sent;
    atomic_store_explicit(&ctl->done, 1, memory_order_release);
    *sent_out = sent;
    free(src);
    return rc;
}

/* --- ping-pong ------------------------------------------------------------ */

/* Child.  Echoes every frame from ring 0 into ring 1 through a private
 * buffer (copy out, copy in) until the parent says it is done. */
static int run_server(const struct region *rg, const struct opts *o)
{
    struct consumer in;
    struct producer out;
    struct idle w = {.ctl = rg->ctl};
    struct ctl *ctl = rg->ctl;
    uint64_t got = 0, errors = 0;
    unsigned char *buf = alloc_buf(o->frame, 0);

    if (!buf)
        return -ENOMEM;
    consumer_init(&in, rg, 0, o->slots);
    producer_init(&out, rg, 1, o->slots);
    atomic_store_explicit(&ctl->ready, 1, memory_order_release);
    for (;;) {
        const unsigned char *s = cons_slot(&in);
        if (!s) {
            if (atomic_load_explicit(&ctl->done, memory_order_acquire) && got == ctl->total)
                break;
            if (!idle_poll(&w))
                break;
            continue;
        }
        memcpy(buf, s, o->frame);
        cons_release(&in);
        uint64_t seq;
        memcpy(&seq, buf, SEQ_BYTES);
        if (seq != got)
            errors++;
        unsigned char *d;
        while (!(d = prod_slot(&out)))
            if (!idle_poll(&w))
                goto out;
        memcpy(d, buf, o->frame);
        prod_publish(&out);
        idle_progress(&w);
        got++;
    }
out:
    ctl->t_last_ns = now_ns();
    ctl->delivered = got;
    ctl->seq_errors = errors;
    free(buf);
    return 0;
}

/* Parent.  rtt[] receives one sample in ns per round trip.  Returns 0 or
 * -errno; *echoed counts round trips completed, *errors bad echoes. */
static int run_client(const struct region *rg, const struct opts *o, struct idle *w, uint64_t *rtt,
                      uint64_t *echoed, uint64_t *errors)
{
    struct producer out;
    struct consumer in;
    struct ctl *ctl = rg->ctl;
    unsigned char *src = alloc_buf(o->frame, 0x5a), *dst = alloc_buf(o->frame, 0);
    uint64_t i, bad = 0;
    int rc = 0;

    if (!src || !dst) {
        free(src);
        free(dst);
        return -ENOMEM;
    }
    producer_init(&out, rg, 0, o->slots);
    consumer_init(&in, rg, 1, o->slots);
    for (i = 0; i < o->count; i++) {
        uint64_t t0 = now_ns();
        unsigned char *d;
        while (!(d = prod_slot(&out)))
            if (!idle_poll(w))
                goto fail;
        memcpy(src, &i, SEQ_BYTES);
        memcpy(d, src, o->frame);
        prod_publish(&out);
        const unsigned char *s;
        while (!(s = cons_slot(&in)))
            if (!idle_poll(w))
                goto fail;
        memcpy(dst, s, o->frame);
        cons_release(&in);
        keep(dst);
        rtt[i] = now_ns() - t0;
        idle_progress(w);
        uint64_t seq;
        memcpy(&seq, dst, SEQ_BYTES);
        if (seq != i)
            bad++;
    }
    goto done;
fail:
    rc = -ECANCELED;
done:
    ctl->total = i;
    atomic_store_explicit(&ctl->done, 1, memory_order_release);
    *echoed = i;
    *errors = bad;
    free(src);
    free(dst);
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n), n > 0 (0: the least). */
static uint64_t percentile(const uint64_t *v, uint64_t n, double pct)
{
    uint64_t rank = (uint64_t)ceil(pct / 100.0 * (double)n);
    if (rank > n)
        rank = n;
    return v[rank ? rank - 1 : 0];
}

/* --- report --------------------------------------------------------------- */

struct result {
    uint64_t sent, delivered;
    double seconds;
    bool has_rtt;
    double p50_us, p99_us;
    uint64_t rtt_samples;
    const uint64_t *rtt;                     /* the sorted samples after warm-up */
    uint64_t sender_cpu_ns, receiver_cpu_ns; /* parent's, child's */
};

static void report(const struct opts *o, const struct result *r)
{
    uint64_t bytes = r->delivered * o->frame;
    double gbps = r->seconds > 0 ? (double)bytes * 8 / r->seconds / 1e9 : 0;
    double mpps = r->seconds > 0 ? (double)r->delivered / r->seconds / 1e6 : 0;

    if (o->json) { /* the keys of jet perf --json (docs/perf-json.md) */
        printf("{\"proto\":\"ring\",\"link\":\"shm-ring\",\"version\":1,\"mode\":\"%s\","
               "\"frame\":%zu,\"frames_sent\":%" PRIu64 ",\"frames_delivered\":%" PRIu64
               ",\"bytes\":%" PRIu64 ",\"seconds\":%.6f,\"gbps\":%.4f,\"mpps\":%.4f"
               ",\"sender_cpu_s\":%.6f,\"receiver_cpu_s\":%.6f",
               o->pingpong ? "pingpong" : "throughput", o->frame, r->sent, r->delivered, bytes,
               r->seconds, gbps, mpps, (double)r->sender_cpu_ns / 1e9,
               (double)r->receiver_cpu_ns / 1e9);
        if (bytes)
            printf(",\"cpu_ns_per_byte\":%.4f",
                   (double)(r->sender_cpu_ns + r->receiver_cpu_ns) / (double)bytes);
        if (r->has_rtt) {
            const uint64_t *v = r->rtt;
            uint64_t n = r->rtt_samples;
            double mean = 0;
            for (uint64_t i = 0; i < n; i++)
                mean += (double)v[i];
            mean = n ? mean / (double)n : 0;
            printf(",\"rtt_us\":{\"p50\":%.3f,\"p99\":%.3f,\"min\":%.3f,\"max\":%.3f,"
                   "\"mean\":%.3f,\"p90\":%.3f,\"p999\":%.3f,\"cdf\":[",
                   r->p50_us, r->p99_us, n ? (double)v[0] / 1e3 : 0, n ? (double)v[n - 1] / 1e3 : 0,
                   mean / 1e3, n ? (double)percentile(v, n, 90) / 1e3 : 0,
                   n ? (double)percentile(v, n, 99.9) / 1e3 : 0);
            /* cdf[k]: the time at quantile k/100, cdf[0] the least */
            for (int k = 0; k <= 100; k++)
                printf("%s%.3f", k ? "," : "", n ? (double)percentile(v, n, k) / 1e3 : 0);
            printf("]}");
        }
        printf("}\n");
        return;
    }
    printf("ring_ref: %zu-byte frames over a %" PRIu32 "-slot shared-memory ring (%s)\n", o->frame,
           o->slots, o->pingpong ? "ping-pong" : "throughput");
    printf("  %" PRIu64 " sent, %" PRIu64 " delivered in %.6f s: %.3f Gb/s, %.4f Mpps\n", r->sent,
           r->delivered, r->seconds, gbps, mpps);
    if (r->has_rtt)
        printf("  round trip p50 %.3f us, p99 %.3f us (%" PRIu64 " samples after warm-up)\n",
               r->p50_us, r->p99_us, r->rtt_samples);
}

/* --- arguments ------------------------------------------------------------ */

static void usage(FILE *f)
{
    fputs("usage: ring_ref [--frame BYTES] (-n FRAMES | -t SECONDS) [--slots N] [--cpu A,B] "
          "[--json]\n"
          "       ring_ref --pingpong [--frame BYTES] -n ROUNDTRIPS [--slots N] [--cpu A,B] "
          "[--json]\n"
          "Bare shared-memory SPSC ring between two processes: the reference for `jet perf`.\n"
          "  --frame BYTES  frame size, 8..16777216 (default 9000; 64 with --pingpong)\n"
          "  -n N           frames to send (throughput) or round trips to time (ping-pong)\n"
          "  -t SECONDS     send for this long (throughput; default 1 when -n is not given)\n"
          "  --slots N      ring slots, a power of two 2..65536 (default 256)\n"
          "  --cpu A,B      pin the sender/client to CPU A and the receiver/server to B\n"
          "  --pingpong     time 1-frame round trips; the first 1000 are warm-up\n"
          "  --json         print one JSON object with the keys `jet perf --json` uses\n",
          f);
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -EINVAL;
    *out = v;
    return 0;
}

static int parse_cpus(const char *s, int cpu[2])
{
    char buf[64];
    char *comma;
    uint64_t a, b;
    if (strlen(s) >= sizeof(buf))
        return -EINVAL;
    strcpy(buf, s);
    comma = strchr(buf, ',');
    if (!comma)
        return -EINVAL;
    *comma = '\0';
    if (parse_u64(buf, &a) || parse_u64(comma + 1, &b) || a >= CPU_SETSIZE || b >= CPU_SETSIZE)
        return -EINVAL;
    cpu[0] = (int)a;
    cpu[1] = (int)b;
    return 0;
}

static int bad_arg(const char *what, const char *val)
{
    fprintf(stderr, "ring_ref: bad %s '%s'\n", what, val ? val : "");
    usage(stderr);
    return -EINVAL;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {{"frame", required_argument, NULL, 'f'},
                                             {"slots", required_argument, NULL, 's'},
                                             {"cpu", required_argument, NULL, 'c'},
                                             {"pingpong", no_argument, NULL, 'p'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    bool have_frame = false, have_t = false;
    uint64_t v;
    char *end;
    int ch;

    *o = (struct opts){.slots = DEFAULT_SLOTS, .cpu = {-1, -1}};
    while ((ch = getopt_long(argc, argv, "n:t:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'f':
            if (parse_u64(optarg, &v) || v < SEQ_BYTES || v > MAX_FRAME)
                return bad_arg("--frame", optarg);
            o->frame = (size_t)v;
            have_frame = true;
            break;
        case 's':
            if (parse_u64(optarg, &v) || v < 2 || v > 65536 || (v & (v - 1)))
                return bad_arg("--slots", optarg);
            o->slots = (uint32_t)v;
            break;
        case 'c':
            if (parse_cpus(optarg, o->cpu))
                return bad_arg("--cpu", optarg);
            break;
        case 'n':
            if (parse_u64(optarg, &v) || v == 0)
                return bad_arg("-n", optarg);
            o->count = v;
            break;
        case 't':
            errno = 0;
            o->seconds = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(o->seconds > 0) || o->seconds > MAX_SECONDS)
                return bad_arg("-t", optarg);
            have_t = true;
            break;
        case 'p':
            o->pingpong = true;
            break;
        case 'j':
            o->json = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -EINVAL;
        }
    }
    if (optind < argc)
        return bad_arg("argument", argv[optind]);
    if (o->count && have_t) {
        fprintf(stderr, "ring_ref: give -n or -t, not both\n");
        return -EINVAL;
    }
    if (!have_frame)
        o->frame = o->pingpong ? DEFAULT_PP_FRAME : DEFAULT_FRAME;
    if (o->pingpong) {
        if (have_t || !o->count) {
            fprintf(stderr, "ring_ref: --pingpong needs -n ROUNDTRIPS\n");
            return -EINVAL;
        }
        if (o->count > MAX_ROUNDS) {
            fprintf(stderr, "ring_ref: -n at most %llu with --pingpong\n", MAX_ROUNDS);
            return -EINVAL;
        }
    } else if (!o->count && !have_t) {
        o->seconds = 1.0;
    }
    if ((unsigned long long)align_up(o->frame, SLOT_ALIGN) * o->slots > MAX_RING) {
        fprintf(stderr, "ring_ref: --frame x --slots exceeds %llu bytes\n", MAX_RING);
        return -EINVAL;
    }
    return 0;
}

/* --- main ----------------------------------------------------------------- */

/* Child side: pin, prefault, run, exit.  Never returns. */
static void child_main(const struct region *rg, const struct opts *o, pid_t parent)
{
    int rc;
    /* Die with the parent, so a killed run leaves no spinning orphan. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
        _exit(EXIT_RUN_FAIL);
    rc = pin(o->cpu[1]);
    if (rc) {
        fprintf(stderr, "ring_ref: pinning the child to CPU %d: %s\n", o->cpu[1], strerror(-rc));
        atomic_store(&rg->ctl->abort, 1);
        _exit(EXIT_RUN_FAIL);
    }
    prefault(rg);
    uint64_t cpu0 = cpu_now_ns();
    rc = o->pingpong ? run_server(rg, o) : run_receiver(rg, o);
    rg->ctl->cpu_ns = cpu_now_ns() - cpu0;
    if (rc) {
        fprintf(stderr, "ring_ref: child: %s\n", strerror(-rc));
        atomic_store(&rg->ctl->abort, 1);
        _exit(EXIT_RUN_FAIL);
    }
    fflush(NULL);
    _exit(0);
}

/* Waits for the child to finish and checks it left cleanly.  0 or -1. */
static int reap(struct idle *w)
{
    if (!w->reaped) {
        while (waitpid(w->child_pid, &w->child_status, 0) < 0)
            if (errno != EINTR) {
                perror("ring_ref: waitpid");
                return -1;
            }
        w->reaped = true;
    }
    if (!WIFEXITED(w->child_status) || WEXITSTATUS(w->child_status) != 0) {
        fprintf(stderr, "ring_ref: the child failed (%s %d)\n",
                WIFEXITED(w->child_status) ? "exit" : "signal",
                WIFEXITED(w->child_status) ? WEXITSTATUS(w->child_status)
                                           : WTERMSIG(w->child_status));
        return -1;
    }
    return 0;
}

/* Parent side after fork: runs the timed part and prints the report. */
static int parent_main(const struct region *rg, const struct opts *o, pid_t child)
{
    struct idle w = {.ctl = rg->ctl, .child_pid = child};
    struct ctl *ctl = rg->ctl;
    struct result r = {0};
    uint64_t *rtt = NULL, errors = 0, t_first = 0, t_end = 0;
    int rc = pin(o->cpu[0]), ret = EXIT_RUN_FAIL;

    if (rc) {
        fprintf(stderr, "ring_ref: pinning to CPU %d: %s\n", o->cpu[0], strerror(-rc));
        goto stop;
    }
    if (o->pingpong && !(rtt = calloc(o->count, sizeof(*rtt)))) {
        fprintf(stderr, "ring_ref: out of memory\n");
        goto stop;
    }
    prefault(rg);
    while (!atomic_load_explicit(&ctl->ready, memory_order_acquire))
        if (!idle_poll(&w))
            goto stop;

    uint64_t cpu0 = cpu_now_ns();
    if (o->pingpong) {
        t_first = now_ns();
        rc = run_client(rg, o, &w, rtt, &r.delivered, &errors);
        t_end = now_ns();
        r.sent = r.delivered;
    } else {
        rc = run_sender(rg, o, &w, &r.sent, &t_first);
    }
    r.sender_cpu_ns = cpu_now_ns() - cpu0;
    if (rc)
        goto stop;
    if (reap(&w))
        goto out;
    if (!o->pingpong) {
        r.delivered = ctl->delivered;
        t_end = ctl->t_last_ns;
    }
    errors += ctl->seq_errors;
    r.receiver_cpu_ns = ctl->cpu_ns;
    r.seconds = (double)(t_end - t_first) / 1e9;
    if (o->pingpong) {
        uint64_t warm = o->count > 2 * PP_WARMUP ? PP_WARMUP : o->count / 2;
        r.rtt_samples = r.delivered - warm;
        qsort(rtt + warm, r.rtt_samples, sizeof(*rtt), cmp_u64);
        r.has_rtt = true;
        r.p50_us = (double)percentile(rtt + warm, r.rtt_samples, 50) / 1e3;
        r.p99_us = (double)percentile(rtt + warm, r.rtt_samples, 99) / 1e3;
        r.rtt = rtt + warm;
    }
    if (errors || r.delivered != r.sent) {
        fprintf(stderr,
                "ring_ref: %" PRIu64 " sequence errors, %" PRIu64 " sent, %" PRIu64 " delivered\n",
                errors, r.sent, r.delivered);
        goto out;
    }
    report(o, &r);
    ret = fflush(stdout) ? EXIT_RUN_FAIL : 0;
    goto out;
stop:
    /* Tell the child to stop, then collect it either way. */
    atomic_store(&ctl->abort, 1);
    reap(&w);
out:
    free(rtt);
    return ret;
}

int main(int argc, char **argv)
{
    struct opts o;
    struct region rg = {0};
    pid_t parent = getpid(), child;
    int rc;

    if (parse_args(argc, argv, &o))
        return EXIT_USAGE;
    rc = map_region(&rg, &o);
    if (rc) {
        fprintf(stderr, "ring_ref: mmap %zu bytes: %s\n", rg.size, strerror(-rc));
        return EXIT_RUN_FAIL;
    }
    fflush(NULL);
    child = fork();
    if (child < 0) {
        perror("ring_ref: fork");
        return EXIT_RUN_FAIL;
    }
    if (child == 0)
        child_main(&rg, &o, parent);
    rc = parent_main(&rg, &o, child);
    munmap(rg.base, rg.size);
    return rc;
}
