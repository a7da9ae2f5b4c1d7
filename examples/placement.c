/* placement: read a small header, place the body where the header says.
 *
 *   build/examples/placement [INPUT [OUTPUT]]
 *
 * Sends a file (INPUT, or a generated 8 MiB test file) from a forked sender
 * process to a receiver over its own emulated LAN (MTU 65536).  Each frame's
 * payload is a 16-byte header of our own, then a chunk of the file:
 *
 *     +0  offset  u64   where the chunk belongs in the file (big-endian)
 *     +8  length  u32   bytes of chunk that follow the header
 *     +12 flags   u32   PL_END on the last frame (offset = the file's size)
 *
 * The chunks go out in shuffled order, as they might from several disks or
 * over several paths.  The receiver copies only the header out of the pool
 * (jet_rx_read), checks it, and has the body written straight to the output
 * file at that offset (jet_rx_place_fd): one copy, from the pool to the
 * file, whatever the order.  The sender side is one copy too: jet_chan_send
 * copies from the mmapped input into the pool, computing the CRC on the way.
 *
 * The receive channel uses JET_DROP_BACKPRESSURE with a short queue: a file
 * transfer must lose nothing, so when the writer falls behind the station
 * stops taking frames off the link and the sender is held back.
 *
 * When the end marker has come, the receiver tells the sender (through a
 * pipe) that it may detach: jet_station_close() would flush the sender's
 * transmit queue for a short while only.  Then the output is compared with
 * the input; the program prints OK, the bytes and the time, and exits 0 (1
 * with the reason on any error).  Without OUTPUT the output is an unnamed
 * temporary file; the LAN and any generated file are removed at exit. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jet/chan.h"
#include "jet/lan.h"

enum {
    MTU = 65536,
    HDR = 16,
    CHUNK = MTU - HDR,
    CHAN = 9,
    SENDER = 0,
    RECEIVER = 1,
    PL_END = 1,
    TEST_SIZE = 8 << 20,
};

struct place_hdr {
    uint64_t offset;
    uint32_t length, flags;
};

static void put_hdr(uint8_t *p, const struct place_hdr *h)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(h->offset >> (56 - 8 * i));
    for (int i = 0; i < 4; i++) {
        p[8 + i] = (uint8_t)(h->length >> (24 - 8 * i));
        p[12 + i] = (uint8_t)(h->flags >> (24 - 8 * i));
    }
}

static void get_hdr(const uint8_t *p, struct place_hdr *h)
{
    h->offset = 0;
    h->length = h->flags = 0;
    for (int i = 0; i < 8; i++)
        h->offset = h->offset << 8 | p[i];
    for (int i = 0; i < 4; i++) {
        h->length = h->length << 8 | p[8 + i];
        h->flags = h->flags << 8 | p[12 + i];
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- sender (the forked child) ---- */

static ssize_t send_retry(struct jet_station *s, struct jet_chan *c, const struct iovec *iov, int n)
{
    ssize_t rc;
    /* -EAGAIN is back-pressure: the link (or the receiver behind it) is full. */
    while ((rc = jet_chan_send(c, RECEIVER, CHAN, iov, n)) == -EAGAIN)
        jet_station_wait(s, 1000000);
    return rc;
}

static int sender(const char *link, int in_fd, uint64_t size, int go_fd)
{
    char go;
    if (read(go_fd, &go, 1) != 1)
        return 1; /* the receiver gave up */
    const uint8_t *map = NULL;
    if (size && (map = mmap(NULL, size, PROT_READ, MAP_SHARED, in_fd, 0)) == MAP_FAILED) {
        perror("placement sender: mmap");
        return 1;
    }
    uint64_t nchunks = (size + CHUNK - 1) / CHUNK;
    uint64_t *order = malloc((nchunks ? nchunks : 1) * sizeof *order);
    struct jet_err err = {0};
    struct jet_station *s = NULL;
    struct jet_chan *c;
    int rc = order ? jet_station_open(link, SENDER, &s, &err) : -ENOMEM;
    if (rc) {
        fprintf(stderr, "placement sender: %s\n", jet_err_str(&err, rc));
        goto out;
    }
    if ((rc = jet_chan_open(s, CHAN, NULL, &c))) {
        fprintf(stderr, "placement sender: %s\n", jet_station_error(s));
        goto out;
    }
    /* A shuffled order (Fisher-Yates, fixed seed): out-of-order arrival. */
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (uint64_t i = 0; i < nchunks; i++)
        order[i] = i;
    for (uint64_t i = nchunks; i > 1; i--) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t j = x % i, t = order[i - 1];
        order[i - 1] = order[j], order[j] = t;
    }
    uint8_t hb[HDR];
    for (uint64_t i = 0; i < nchunks; i++) {
        uint64_t off = order[i] * CHUNK;
        struct place_hdr h = {.offset = off,
                              .length = (uint32_t)(size - off < CHUNK ? size - off : CHUNK)};
        put_hdr(hb, &h);
        /* Header and chunk gathered into one frame, copied once into the pool. */
        struct iovec iov[2] = {{hb, HDR}, {(void *)(map + off), h.length}};
        ssize_t n = send_retry(s, c, iov, 2);
        if (n < 0) {
            fprintf(stderr, "placement sender: chunk at %llu: %s\n", (unsigned long long)off,
                    jet_station_error(s));
            rc = (int)n;
            goto out;
        }
    }
    /* Frames of one channel arrive in the order sent: the end marker is last. */
    put_hdr(hb, &(struct place_hdr){.offset = size, .flags = PL_END});
    struct iovec iov = {hb, HDR};
    ssize_t n = send_retry(s, c, &iov, 1);
    if (n < 0) {
        fprintf(stderr, "placement sender: end: %s\n", jet_station_error(s));
        rc = (int)n;
        goto out;
    }
    /* Frames may still wait in the link's transmit queue, which
     * jet_station_close() would flush for only a short while: keep the driver
     * running until the receiver says it has everything (or gives up). */
    struct pollfd pf = {.fd = go_fd, .events = POLLIN};
    while (poll(&pf, 1, 1) == 0)
        jet_station_poll(s);
out:
    jet_station_close(s);
    free(order);
    if (map)
        munmap((void *)map, size);
    return rc ? 1 : 0;
}

/* ---- receiver (the parent) ---- */

struct progress {
    uint64_t frames, placed, size;
    bool end;
    double t0, t1;
};

/* One frame: read the header, check it, place the body. 0, or -EBADMSG for
 * a header that does not describe its frame, or the placement's errno. */
static int place_one(const struct jet_rx *rx, int out_fd, struct progress *p)
{
    uint8_t hb[HDR];
    struct place_hdr h;
    if (jet_rx_read(rx, 0, hb, HDR)) /* -ERANGE: shorter than a header */
        return -EBADMSG;
    get_hdr(hb, &h);
    /* Check everything the placement depends on before writing a byte. */
    if (h.length != rx->len - HDR || (h.flags & ~(uint32_t)PL_END) ||
        h.offset > (uint64_t)INT64_MAX - h.length)
        return -EBADMSG;
    if (h.flags & PL_END) {
        if (h.length)
            return -EBADMSG;
        p->end = true;
        p->size = h.offset;
        return 0;
    }
    ssize_t n = jet_rx_place_fd(rx, HDR, h.length, out_fd, (off_t)h.offset);
    if (n < 0)
        return (int)n;
    if ((size_t)n != h.length)
        return -EIO;
    p->placed += h.length;
    return 0;
}

static int receive(struct jet_station *s, struct jet_chan *c, int out_fd, pid_t child,
                   struct progress *p)
{
    double last = now_s();
    while (!p->end) {
        struct jet_rx rx;
        int rc = jet_chan_recv(c, &rx, 5000000);
        if (rc == -ETIMEDOUT) {
            int st;
            if (waitpid(child, &st, WNOHANG) == child) {
                fprintf(stderr, "placement: the sender exited before the end marker\n");
                return -EPIPE;
            }
            if (now_s() - last > 10) {
                fprintf(stderr, "placement: nothing from the sender in 10 s\n");
                return -ETIMEDOUT;
            }
            continue;
        }
        if (rc) {
            fprintf(stderr, "placement: receive: %s\n", jet_station_error(s));
            return rc;
        }
        if (!p->frames)
            p->t0 = now_s();
        p->frames++;
        last = now_s();
        rc = place_one(&rx, out_fd, p);
        jet_chan_release(c, &rx); /* the frame's payload is not valid after this */
        if (rc) {
            fprintf(stderr, "placement: frame %llu from station %u: %s\n",
                    (unsigned long long)p->frames, rx.src_station,
                    rc == -EBADMSG ? "bad placement header" : strerror(-rc));
            return rc;
        }
    }
    p->t1 = now_s();
    return 0;
}

/* cmp: 0 when the files' first `size` bytes match and out has no more. */
static int compare(int in_fd, int out_fd, uint64_t size)
{
    struct stat st;
    if (fstat(out_fd, &st) || (uint64_t)st.st_size != size) {
        fprintf(stderr, "placement: the output has %lld bytes, the input %llu\n",
                (long long)st.st_size, (unsigned long long)size);
        return -1;
    }
    enum { B = 1 << 20 };
    uint8_t *a = malloc(B), *b = malloc(B);
    int rc = a && b ? 0 : -1;
    for (uint64_t off = 0; !rc && off < size; off += B) {
        size_t n = size - off < B ? (size_t)(size - off) : B;
        if (pread(in_fd, a, n, (off_t)off) != (ssize_t)n ||
            pread(out_fd, b, n, (off_t)off) != (ssize_t)n) {
            perror("placement: compare: read");
            rc = -1;
        } else if (memcmp(a, b, n)) {
            size_t i = 0;
            while (a[i] == b[i])
                i++;
            fprintf(stderr, "placement: the files differ at byte %llu\n",
                    (unsigned long long)(off + i));
            rc = -1;
        }
    }
    free(a);
    free(b);
    return rc;
}

/* An unnamed temporary file (removed as soon as made: nothing is left behind). */
static int temp_file(void)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/jet-placement.XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd >= 0)
        unlink(path);
    return fd;
}

/* Fills fd with `size` bytes of a pattern that tells every chunk apart. */
static int make_test_file(int fd, uint64_t size)
{
    enum { B = 1 << 20 };
    uint64_t *w = malloc(B), x = 88172645463325252ull;
    if (!w)
        return -1;
    for (uint64_t off = 0; off < size; off += B) {
        for (size_t i = 0; i < B / 8; i++)
            x ^= x << 13, x ^= x >> 7, x ^= x << 17, w[i] = x;
        size_t n = size - off < B ? (size_t)(size - off) : B;
        if (pwrite(fd, w, n, (off_t)off) != (ssize_t)n) {
            free(w);
            return -1;
        }
    }
    free(w);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 3) {
        fprintf(stderr, "usage: %s [INPUT [OUTPUT]]\n", argv[0]);
        return 2;
    }
    int in_fd = argc > 1 ? open(argv[1], O_RDONLY) : temp_file();
    if (in_fd < 0 || (argc <= 1 && make_test_file(in_fd, TEST_SIZE))) {
        fprintf(stderr, "placement: %s: %s\n", argc > 1 ? argv[1] : "test file", strerror(errno));
        return 1;
    }
    struct stat st;
    if (fstat(in_fd, &st) || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "placement: %s is not a regular file\n", argv[1]);
        return 1;
    }
    uint64_t size = (uint64_t)st.st_size;
    int out_fd = argc > 2 ? open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0644) : temp_file();
    if (out_fd < 0) {
        fprintf(stderr, "placement: %s: %s\n", argc > 2 ? argv[2] : "temporary file",
                strerror(errno));
        return 1;
    }

    char name[64], link[80];
    snprintf(name, sizeof name, "placement-%d", (int)getpid());
    snprintf(link, sizeof link, "lan:%s", name);
    struct jet_lan_config cfg;
    jet_lan_config_default(&cfg);
    cfg.stations = 2;
    cfg.mtu = MTU;
    struct jet_err err = {0};
    int rc = jet_lan_create(name, &cfg, &err);
    if (rc) {
        fprintf(stderr, "placement: create LAN %s: %s\n", name, jet_err_str(&err, rc));
        return 1;
    }
    /* Fork before attaching: a process must not fork while attached. */
    signal(SIGPIPE, SIG_IGN); /* a sender that died shows as EPIPE, not as our death */
    int go[2];
    if (pipe(go)) {
        perror("placement: pipe");
        jet_lan_destroy(name, true, NULL);
        return 1;
    }
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
        perror("placement: fork");
        jet_lan_destroy(name, true, NULL);
        return 1;
    }
    if (child == 0) {
        close(go[1]);
        _exit(sender(link, in_fd, size, go[0]));
    }
    close(go[0]);

    struct jet_station *s = NULL;
    struct jet_chan *c = NULL;
    struct progress p = {0};
    if ((rc = jet_station_open(link, RECEIVER, &s, &err))) {
        fprintf(stderr, "placement: attach: %s\n", jet_err_str(&err, rc));
        goto out;
    }
    /* A short queue under back-pressure: lose nothing, hold the sender back. */
    struct jet_chan_policy pol = {.drop = JET_DROP_BACKPRESSURE, .queue_frames = 16};
    if ((rc = jet_chan_open(s, CHAN, &pol, &c))) {
        fprintf(stderr, "placement: open channel %d: %s\n", CHAN, jet_station_error(s));
        goto out;
    }
    if (write(go[1], "g", 1) != 1) {
        fprintf(stderr, "placement: the sender died\n");
        rc = -EPIPE;
        goto out;
    }
    rc = receive(s, c, out_fd, child, &p);
    if (write(go[1], "a", 1) != 1 && !rc) /* the sender may detach now */
        rc = -EPIPE;
    if (rc)
        goto out;
    struct jet_chan_stats cs;
    jet_chan_stats(c, &cs);
    if (p.size != size || p.placed != size) {
        fprintf(stderr,
                "placement: %llu bytes placed, the end marker says %llu, the input has %llu\n",
                (unsigned long long)p.placed, (unsigned long long)p.size, (unsigned long long)size);
        rc = -EPROTO;
        goto out;
    }
    if ((rc = ftruncate(out_fd, (off_t)size) ? -errno : 0) || (rc = compare(in_fd, out_fd, size)))
        goto out;
    double secs = p.t1 - p.t0;
    printf("placement: %llu frames on %s (MTU %d), chunks of %d bytes in shuffled order, each "
           "placed with one copy; the sender was held back %llu times\n",
           (unsigned long long)p.frames, link, MTU, CHUNK, (unsigned long long)cs.backpressured);
    printf("OK %llu bytes in %.3f s (%.2f Gbit/s), output identical to input\n",
           (unsigned long long)size, secs, secs > 0 ? (double)size * 8 / secs / 1e9 : 0.0);
out:
    jet_station_close(s);
    close(go[1]); /* a sender still waiting for "go" gives up */
    int wst = 0;
    if (waitpid(child, &wst, 0) == child && !(WIFEXITED(wst) && WEXITSTATUS(wst) == 0) && !rc) {
        fprintf(stderr, "placement: the sender failed\n");
        rc = -ECHILD;
    }
    jet_lan_destroy(name, true, NULL);
    close(in_fd);
    close(out_fd);
    return rc ? 1 : 0;
}
