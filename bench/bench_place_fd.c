/* Placement into a file descriptor: jet_rx_place_fd() (pwrite/write, one
 * copy from the pool) against the splice route (vmsplice of the pool bytes
 * into a pipe, then splice from the pipe to the destination), for files on
 * tmpfs and on ext4, a pipe, a Unix stream socket and TCP over loopback.
 *
 * The issue asks for "pwrite or splice, whichever is fastest"; this is the
 * measurement behind the choice (docs/channels.md).  Each destination and
 * payload size (9000 and 65536 bytes, the LAN's common frame sizes) runs
 * both ways over the same bytes, A B then B A alternating, BPF_REPS
 * repetitions of ~32 MiB each; reported: GB/s of each (median) and the
 * median of the per-repetition ratios splice/write.  Readers of the pipe
 * and sockets are threads that read() into a buffer and throw it away; they
 * run in both ways alike.
 *
 * Safety is reported beside speed: after splice() returns, the bytes of a
 * file are in its page cache (the pipe is empty, the pool buffer may be
 * reused), but a pipe or a socket may still hold references to the pool's
 * pages (vmsplice without SPLICE_F_GIFT maps them, TCP sends them as page
 * fragments until acknowledged), so a buffer released to the pool after the
 * call could be rewritten under the reader: unusable for placement, whose
 * frame is released right after.
 *
 *   bench_place_fd [--json] [--reps N (1..51, default 5)] [--mib M (per run, default 32)]
 *
 * Files are made in /dev/shm and /tmp and unlinked at once (the fd keeps them).  Exit 0; 1 on
 * a failure (the JSON is still printed, with "error"); 2 on bad arguments. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "jet/chan.h"
#include "util/clock.h"

enum { MAX_REPS = 51, FILE_SPAN = 16 << 20, PIPE_SZ = 1 << 20 };

static char errbuf[256];

static int fail(const char *what)
{
    if (!errbuf[0])
        snprintf(errbuf, sizeof errbuf, "%s: %s", what, strerror(errno));
    return -1;
}

/* ---- destinations ---- */

enum dest { D_TMPFS, D_EXT4, D_PIPE, D_UNIX, D_TCP, D_N };
static const char *const dest_name[D_N] = {"file-tmpfs", "file-ext4", "pipe", "unix-socket",
                                            "tcp-loopback"};

struct sink {
    int fd;      /* where bytes go */
    int rfd;     /* the reading end (pipe, sockets), -1 for files */
    pthread_t th;
    bool th_on;
    char path[64]; /* files: their name (unlinked once open) */
};

static void *drain(void *arg)
{
    int fd = *(int *)arg;
    char *b = malloc(1 << 20);
    if (!b)
        return NULL;
    for (;;) {
        ssize_t n = read(fd, b, 1 << 20);
        if (n > 0 || (n < 0 && errno == EINTR))
            continue;
        break; /* 0: the writer closed; <0: give up */
    }
    free(b);
    return NULL;
}

static int tcp_pair(int *w, int *r)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0)
        return fail("socket");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1) ||
        getsockname(l, (struct sockaddr *)&a, &al)) {
        close(l);
        return fail("tcp listen");
    }
    *w = socket(AF_INET, SOCK_STREAM, 0);
    if (*w < 0 || connect(*w, (struct sockaddr *)&a, sizeof a)) {
        close(l);
        return fail("tcp connect");
    }
    *r = accept(l, NULL, NULL);
    close(l);
    return *r < 0 ? fail("accept") : 0;
}

static int sink_open(struct sink *k, enum dest d, bool reader)
{
    *k = (struct sink){.fd = -1, .rfd = -1};
    int p[2];
    switch (d) {
    case D_TMPFS:
    case D_EXT4:
        snprintf(k->path, sizeof k->path, "%s/jet-bpf-%d", d == D_TMPFS ? "/dev/shm" : "/tmp",
                 (int)getpid());
        k->fd = open(k->path, O_RDWR | O_CREAT | O_EXCL, 0600);
        if (k->fd < 0)
            return fail(k->path);
        unlink(k->path); /* gone with the fd, however this program ends */
        if (ftruncate(k->fd, FILE_SPAN))
            return fail("ftruncate");
        return 0;
    case D_PIPE:
        if (pipe(p))
            return fail("pipe");
        k->fd = p[1];
        k->rfd = p[0];
        fcntl(k->fd, F_SETPIPE_SZ, PIPE_SZ);
        break;
    case D_UNIX:
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, p))
            return fail("socketpair");
        k->fd = p[0];
        k->rfd = p[1];
        break;
    case D_TCP:
        if (tcp_pair(&k->fd, &k->rfd))
            return -1;
        break;
    default:
        return -1;
    }
    if (!reader)
        return 0;
    if (pthread_create(&k->th, NULL, drain, &k->rfd)) {
        errno = EAGAIN;
        return fail("pthread_create");
    }
    k->th_on = true;
    return 0;
}

static void sink_close(struct sink *k)
{
    if (k->fd >= 0)
        close(k->fd); /* the reader sees end of file (or a reset) and returns */
    if (k->th_on)
        pthread_join(k->th, NULL);
    if (k->rfd >= 0)
        close(k->rfd);
}

/* ---- the two ways ---- */

/* A: the library's placement (pwrite for files, write otherwise). */
static int put_write(struct sink *k, bool file, const struct jet_rx *rx, off_t at)
{
    ssize_t n = jet_rx_place_fd(rx, 0, rx->len, k->fd, file ? at : -1);
    if (n != (ssize_t)rx->len) {
        errno = n < 0 ? (int)-n : EIO;
        return fail("jet_rx_place_fd");
    }
    return 0;
}

/* B: vmsplice the bytes into a pipe, splice them on.  For a pipe
 * destination the vmsplice goes straight into it. */
static int put_splice(struct sink *k, bool file, int via[2], const struct jet_rx *rx, off_t at)
{
    const uint8_t *p = rx->payload;
    size_t left = rx->len;
    int into = via ? via[1] : k->fd; /* no via: the destination is the pipe */
    while (left) {
        struct iovec iov = {(void *)p, left};
        ssize_t n = vmsplice(into, &iov, 1, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail("vmsplice");
        }
        p += n;
        left -= (size_t)n;
        if (into == k->fd)
            continue;
        for (size_t moved = 0; moved < (size_t)n;) {
            loff_t o = at;
            ssize_t m = splice(via[0], NULL, k->fd, file ? &o : NULL, (size_t)n - moved,
                               SPLICE_F_MOVE);
            if (m <= 0) {
                if (m < 0 && errno == EINTR)
                    continue;
                return fail("splice");
            }
            moved += (size_t)m;
            at += m;
        }
    }
    return 0;
}

/* Is the splice route safe for a frame released right after it?  Places
 * 64 KiB of 0xAA by it, overwrites the pool buffer with 0x55 (what a sender
 * reusing the released buffer would do), then reads what the destination
 * got: all 0xAA, or did the destination still refer to the pool's pages? */
static int splice_safe(enum dest d, int via[2], uint8_t *pool, bool *safe)
{
    struct sink k;
    int rc = sink_open(&k, d, false);
    bool file = d == D_TMPFS || d == D_EXT4;
    uint8_t *got = malloc(65536);
    if (rc || !got) {
        free(got);
        sink_close(&k);
        return rc ? rc : fail("malloc");
    }
    memset(pool, 0xAA, 65536);
    struct jet_rx rx = {.payload = pool, .len = 65536};
    rc = put_splice(&k, file, d == D_PIPE ? NULL : via, &rx, 0);
    memset(pool, 0x55, 65536);
    size_t have = 0;
    while (rc == 0 && have < 65536) {
        ssize_t n = file ? pread(k.fd, got + have, 65536 - have, (off_t)have)
                         : read(k.rfd, got + have, 65536 - have);
        if (n <= 0) {
            rc = n < 0 && errno == EINTR ? 0 : fail("reading back");
            continue;
        }
        have += (size_t)n;
    }
    *safe = true;
    for (size_t i = 0; rc == 0 && i < 65536; i++)
        *safe &= got[i] == 0xAA;
    free(got);
    sink_close(&k);
    return rc;
}

/* Bytes of one run: `total` bytes in frames of `size`; GB/s. */
static int run(struct sink *k, enum dest d, bool splice_way, int via[2], const uint8_t *pool,
               uint32_t size, uint64_t total, double *gbps)
{
    bool file = d == D_TMPFS || d == D_EXT4;
    struct jet_rx rx = {.payload = pool, .len = size};
    uint64_t frames = total / size, t0 = jet_now_ns();
    off_t at = 0;
    for (uint64_t i = 0; i < frames; i++) {
        /* the next frame's bytes: a different pool buffer each time, as received */
        rx.payload = pool + (i % 64) * 65536;
        int rc = splice_way ? put_splice(k, file, d == D_PIPE ? NULL : via, &rx, at)
                            : put_write(k, file, &rx, at);
        if (rc)
            return rc;
        at += size;
        if (at + size > FILE_SPAN)
            at = 0;
    }
    *gbps = (double)(frames * size) / (double)(jet_now_ns() - t0);
    return 0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct row {
    enum dest d;
    uint32_t size;
    double write_gbps, splice_gbps, ratio, rmin, rmax;
    bool splice_safe;
};

int main(int argc, char **argv)
{
    bool json = false;
    int reps = 5;
    long mib = 32;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--mib") && i + 1 < argc)
            mib = atol(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_place_fd [--json] [--reps N (1..%d, default 5)] "
                            "[--mib M (per run, default 32)]\n",
                    MAX_REPS);
            return 2;
        }
    }
    if (reps < 1 || reps > MAX_REPS || mib < 1 || mib > 4096) {
        fprintf(stderr, "bench_place_fd: bad --reps or --mib\n");
        return 2;
    }
    /* 64 pool buffers of 64 KiB in shared memory, like the LAN's pool */
    uint8_t *pool = mmap(NULL, 64 * 65536, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (pool == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    for (size_t i = 0; i < 64 * 65536; i++)
        pool[i] = (uint8_t)(i * 131);
    int via[2] = {-1, -1};
    if (pipe(via)) {
        perror("pipe");
        return 1;
    }
    fcntl(via[1], F_SETPIPE_SZ, PIPE_SZ);
    static const uint32_t sizes[] = {9000, 65536};
    struct row rows[D_N * 2];
    int nrows = 0, rc = 0;
    for (int d = 0; d < D_N && rc == 0; d++)
        for (int s = 0; s < 2 && rc == 0; s++) {
            struct sink k;
            if ((rc = sink_open(&k, (enum dest)d, true))) {
                sink_close(&k);
                break;
            }
            double w[MAX_REPS], sp[MAX_REPS], r[MAX_REPS], g;
            uint64_t total = (uint64_t)mib << 20;
            /* warm-up: page cache pages, socket buffers, code */
            rc = run(&k, (enum dest)d, false, via, pool, sizes[s], total / 4, &g) ||
                 run(&k, (enum dest)d, true, via, pool, sizes[s], total / 4, &g);
            for (int i = 0; i < reps && rc == 0; i++) {
                for (int side = 0; side < 2 && rc == 0; side++) {
                    bool sp_way = (i + side) % 2;
                    rc = run(&k, (enum dest)d, sp_way, via, pool, sizes[s], total,
                             sp_way ? &sp[i] : &w[i]);
                }
                r[i] = sp[i] / w[i];
            }
            sink_close(&k);
            if (rc)
                break;
            struct row *o = &rows[nrows++];
            o->d = (enum dest)d;
            o->size = sizes[s];
            rc = splice_safe((enum dest)d, via, pool, &o->splice_safe);
            o->write_gbps = median(w, reps);
            o->splice_gbps = median(sp, reps);
            o->rmin = o->rmax = r[0];
            for (int i = 1; i < reps; i++) {
                o->rmin = r[i] < o->rmin ? r[i] : o->rmin;
                o->rmax = r[i] > o->rmax ? r[i] : o->rmax;
            }
            o->ratio = median(r, reps);
            fprintf(stderr, "bench_place_fd: %s %u done\n", dest_name[d], sizes[s]);
        }
    close(via[0]);
    close(via[1]);
    munmap(pool, 64 * 65536);
    if (json) {
        printf("{\"bench\":\"place_fd\",\"reps\":%d,\"mib_per_run\":%ld", reps, mib);
        if (errbuf[0])
            printf(",\"error\":\"%s\"", errbuf);
        printf(",\"rows\":[");
        for (int i = 0; i < nrows; i++)
            printf("%s{\"dest\":\"%s\",\"payload\":%u,\"write_gbps\":%.2f,\"splice_gbps\":%.2f,"
                   "\"splice_over_write\":%.3f,\"min\":%.3f,\"max\":%.3f,\"splice_safe\":%s}",
                   i ? "," : "", dest_name[rows[i].d], rows[i].size, rows[i].write_gbps,
                   rows[i].splice_gbps, rows[i].ratio, rows[i].rmin, rows[i].rmax,
                   rows[i].splice_safe ? "true" : "false");
        printf("]}\n");
    } else {
        printf("%-13s %7s %11s %12s %22s %s\n", "destination", "payload", "write GB/s",
               "splice GB/s", "splice/write [min..max]", "splice safe for the pool");
        for (int i = 0; i < nrows; i++)
            printf("%-13s %7u %11.2f %12.2f %8.3f [%.3f..%.3f] %s\n", dest_name[rows[i].d],
                   rows[i].size, rows[i].write_gbps, rows[i].splice_gbps, rows[i].ratio,
                   rows[i].rmin, rows[i].rmax, rows[i].splice_safe ? "yes" : "no");
        if (errbuf[0])
            printf("error: %s\n", errbuf);
    }
    return errbuf[0] ? 1 : 0;
}
