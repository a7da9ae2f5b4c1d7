/* tcp_ref: kernel TCP over loopback, the reference `jet perf --proto rbs` is
 * measured against (issue 4: RBS bulk throughput at least 2x kernel TCP,
 * 1-byte ping-pong RTT at most 0.25x kernel TCP busy-poll ping-pong).
 *
 * Two processes, this one and a fork()ed child, one TCP connection on
 * 127.0.0.1, the same shape as `jet perf --proto rbs` with no --link.  The
 * parent listens on port 0 (the kernel picks a free port), the child inherits
 * the port number across fork() and connects.  The parent is always the side
 * that measures; the child reports its counts and CPU time back through a
 * pipe when it is done.
 *
 * Throughput (default): the child writes -l byte messages (default 131072,
 * jet perf rbs's default) from one private buffer for -t seconds, then shuts
 * down its sending side.  The parent recv()s up to -l bytes at a time into a
 * 4 MiB application ring (RBS's default receive ring), moving along it as an
 * application reading a stream would, until end of stream.  Seconds run from
 * the first byte received to the last, as jet perf rbs counts them.  Both
 * sockets block (as iperf3's do); kernel buffer sizes are left to
 * autotuning.
 *
 * Ping-pong (--pingpong): the parent sends -l bytes (default 1), the child
 * reads them and sends them back.  TCP_NODELAY and SO_BUSY_POLL on both
 * sockets, and both sides spin on recv(MSG_DONTWAIT), busy-polling in user
 * space as RBS's ping-pong does; the first 1000 round trips are left out of
 * the percentiles.
 *
 * CPU time: getrusage(RUSAGE_SELF) around the timed part in each process,
 * user plus system, so the kernel's loopback and TCP work lands in whichever
 * process ran it.  cpu_ns_per_byte = (sender + receiver CPU ns) / bytes.
 *
 * Across hosts or namespaces (ping-pong only): `tcp_ref --serve ADDR:PORT`
 * is the echo server, session after session until it is killed;
 * `tcp_ref --pingpong -n N --connect ADDR:PORT` the pinger, which measures.
 * When the pinger has shut down its sending side, the server answers with
 * its report (bytes echoed, CPU ns, retransmits: three big-endian u64) on the
 * same connection, so the result holds both ends' CPU as over loopback.
 * "link" is then "kernel:ADDR:PORT".
 *
 * Order of events: parse_args -> listen_loopback -> pipe -> fork -> child:
 * connect, run_sender / run_echo, report through the pipe, exit; parent:
 * accept, run_receiver / run_pinger, read the child's report, reap it, print
 * one report.  Exit 0, 1 (run failed, with a message) or 2 (bad arguments).
 * Every wait is bounded: IO_TIMEOUT_S without progress ends the run. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SO_BUSY_POLL
#define SO_BUSY_POLL 46
#endif

enum {
    DEFAULT_MSG = 131072,      /* jet perf --proto rbs -l default (128K) */
    DEFAULT_BUSY_POLL_US = 50, /* SO_BUSY_POLL in ping-pong */
    APP_RING = 4 << 20,        /* receiver's application ring, RBS's default rcvbuf */
    PP_WARMUP = 1000,          /* round trips left out of the percentiles */
    IO_TIMEOUT_S = 10,         /* no progress for this long: the run failed */
    SPIN_CHECK = 1024,         /* idle polls between clock reads */
    YIELD_AFTER_NS = 200000,   /* idle this long: sched_yield() (see spin_wait) */
    MAX_MSG = 64 << 20,
    MAX_ROUNDS = 20000000,
    EXIT_RUN_FAIL = 1,
    EXIT_USAGE = 2
};

#define MAX_SECONDS 3600.0

struct opts {
    uint32_t msg;
    uint64_t count; /* ping-pong round trips */
    double seconds; /* throughput */
    int busy_poll_us;
    bool pingpong, json, block;
    const char *serve, *connect; /* ADDR:PORT of --serve / --connect, or NULL */
    struct sockaddr_in addr;     /* the parsed one */
};

/* What the child sends the parent when it is done, in one write (< PIPE_BUF,
 * so it arrives whole or not at all). */
struct child_report {
    int32_t rc; /* 0 or -errno */
    uint32_t retransmits;
    uint64_t bytes;  /* sent (throughput) or echoed (ping-pong) */
    uint64_t cpu_ns; /* over the timed part */
};

/* --- small helpers -------------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

#if defined(__x86_64__) || defined(__i386__)
static inline void cpu_relax(void)
{
    __builtin_ia32_pause();
}
#else
static inline void cpu_relax(void)
{
    __asm__ volatile("" ::: "memory");
}
#endif

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank quantile num/den of sorted v[0..n), n > 0: 0 is the least. */
static uint64_t quantile(const uint64_t *v, uint64_t n, uint64_t num, uint64_t den)
{
    uint64_t rank = (n * num + den - 1) / den;
    return v[rank ? rank - 1 : 0];
}

static uint64_t percentile(const uint64_t *v, uint64_t n, unsigned pct)
{
    return quantile(v, n, pct, 100);
}

/* --- sockets -------------------------------------------------------------- */

static int setint(int fd, int level, int name, int val)
{
    return setsockopt(fd, level, name, &val, sizeof(val)) ? -errno : 0;
}

/* Bounds every blocking send/recv on fd (throughput mode). */
static int set_timeouts(int fd)
{
    struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
        return -errno;
    return 0;
}

/* Ping-pong options: no Nagle, kernel busy polling.  SO_BUSY_POLL above
 * net.core.busy_read needs CAP_NET_ADMIN; without it the run goes on with
 * user-space spinning only, and says so. */
static int set_pingpong_opts(int fd, const struct opts *o, bool *busy_ok)
{
    int rc = setint(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    if (!rc && o->block)
        rc = set_timeouts(fd);
    if (rc)
        return rc;
    *busy_ok = true;
    if (o->busy_poll_us && setint(fd, SOL_SOCKET, SO_BUSY_POLL, o->busy_poll_us))
        *busy_ok = false;
    return 0;
}

/* A listening socket on 127.0.0.1 at a port the kernel picks.  Returns the
 * fd or -errno; *port gets the port in host order. */
static int listen_loopback(uint16_t *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;

    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 1) ||
        getsockname(fd, (struct sockaddr *)&a, &len)) {
        rc = -errno;
        close(fd);
        return rc;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static int connect_loopback(uint16_t port)
{
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;

    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

/* Accepts one connection, waiting at most IO_TIMEOUT_S.  fd or -errno. */
static int accept_bounded(int lfd)
{
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    int n = poll(&p, 1, IO_TIMEOUT_S * 1000);
    if (n < 0)
        return -errno;
    if (n == 0)
        return -ETIMEDOUT;
    n = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    return n < 0 ? -errno : n;
}

/* --- busy-polled I/O (ping-pong) ------------------------------------------ */

/* Idle bookkeeping of one spin loop: after YIELD_AFTER_NS with nothing to do
 * the spinner calls sched_yield(), which never happens when each process has
 * a CPU of its own and keeps a moment with both on one CPU from costing a
 * whole time slice per round trip (ring_ref does the same); after
 * IO_TIMEOUT_S it gives up. */
struct spin {
    uint32_t n;
    uint64_t since; /* 0: not idle yet */
};

/* One idle poll.  0 or -ETIMEDOUT. */
static int spin_wait(struct spin *s)
{
    cpu_relax();
    if (++s->n % SPIN_CHECK)
        return 0;
    uint64_t t = now_ns();
    if (!s->since)
        s->since = t;
    else if (t - s->since >= (uint64_t)IO_TIMEOUT_S * 1000000000u)
        return -ETIMEDOUT;
    else if (t - s->since >= YIELD_AFTER_NS)
        sched_yield();
    return 0;
}

/* --block: ping-pong's sends and receives block (in the kernel, bounded by
 * set_timeouts) instead of spinning.  Where the path has processes of its own
 * to run (a TAP device's reader on each side), two spinning ends can leave
 * them no CPU. */
static bool block_io;

/* An EAGAIN of a blocking call: its timeout (IO_TIMEOUT_S) passed. */
static int spin_again(struct spin *s)
{
    return block_io ? -ETIMEDOUT : spin_wait(s);
}

/* Sends all of buf without blocking, spinning while the socket is full. */
static int spin_send(int fd, const unsigned char *buf, size_t len)
{
    struct spin s = {0};
    for (size_t off = 0; off < len;) {
        ssize_t n = send(fd, buf + off, len - off, (block_io ? 0 : MSG_DONTWAIT) | MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            s = (struct spin){0};
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            return -errno;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            int rc = spin_again(&s);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* Receives exactly len bytes, spinning on recv(MSG_DONTWAIT).  0, 1 at a
 * clean end of stream (nothing of the message read yet), or -errno
 * (-ECONNRESET for an end of stream inside a message). */
static int spin_recv(int fd, unsigned char *buf, size_t len)
{
    struct spin s = {0};
    for (size_t off = 0; off < len;) {
        ssize_t n = recv(fd, buf + off, len - off, block_io ? 0 : MSG_DONTWAIT);
        if (n > 0) {
            off += (size_t)n;
            s = (struct spin){0};
        } else if (n == 0) {
            return off ? -ECONNRESET : 1;
        } else if (errno != EAGAIN && errno != EINTR) {
            return -errno;
        } else if (errno == EINTR) {
            continue;
        } else {
            int rc = spin_again(&s);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* --- the child: sender / echo server -------------------------------------- */

static uint32_t retransmits(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
        return 0;
    return ti.tcpi_total_retrans;
}

/* Throughput: writes o->msg byte messages for o->seconds, then ends the
 * stream. */
static int run_sender(int fd, const struct opts *o, struct child_report *r)
{
    unsigned char *buf = malloc(o->msg);
    int rc = set_timeouts(fd);

    if (!buf)
        return -ENOMEM;
    for (uint32_t i = 0; i < o->msg; i++)
        buf[i] = (unsigned char)(i * 7 + 1);
    uint64_t cpu0 = cpu_ns(), deadline = now_ns() + (uint64_t)(o->seconds * 1e9);
    while (!rc && now_ns() < deadline) {
        for (size_t off = 0; off < o->msg;) {
            ssize_t n = send(fd, buf + off, o->msg - off, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                rc = errno == EAGAIN ? -ETIMEDOUT : -errno;
                break;
            }
            off += (size_t)n;
            r->bytes += (uint64_t)n;
        }
    }
    if (!rc && shutdown(fd, SHUT_WR))
        rc = -errno;
    r->cpu_ns = cpu_ns() - cpu0;
    r->retransmits = retransmits(fd);
    free(buf);
    return rc;
}

/* Ping-pong: echoes o->msg byte messages until the parent ends the stream. */
static int run_echo(int fd, const struct opts *o, struct child_report *r)
{
    unsigned char *buf = malloc(o->msg);
    bool busy_ok;
    int rc;

    if (!buf)
        return -ENOMEM;
    rc = set_pingpong_opts(fd, o, &busy_ok);
    uint64_t cpu0 = cpu_ns();
    while (!rc) {
        rc = spin_recv(fd, buf, o->msg);
        if (rc == 1) {
            rc = 0;
            break;
        }
        if (!rc)
            rc = spin_send(fd, buf, o->msg);
        if (!rc)
            r->bytes += o->msg;
    }
    r->cpu_ns = cpu_ns() - cpu0;
    r->retransmits = retransmits(fd);
    free(buf);
    return rc;
}

/* Never returns.  Errors are printed here and also travel in the report. */
static void child_main(const struct opts *o, uint16_t port, int lfd, int report_fd, pid_t parent)
{
    struct child_report r = {0};
    int fd, rc;

    close(lfd);
    /* Die with the parent, so a killed run leaves no spinning orphan. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
        _exit(EXIT_RUN_FAIL);
    fd = connect_loopback(port);
    if (fd < 0) {
        rc = fd;
        fprintf(stderr, "tcp_ref: child: connect to 127.0.0.1:%u: %s\n", port, strerror(-rc));
    } else {
        rc = o->pingpong ? run_echo(fd, o, &r) : run_sender(fd, o, &r);
        if (rc)
            fprintf(stderr, "tcp_ref: child: %s: %s\n", o->pingpong ? "echo" : "send",
                    strerror(-rc));
    }
    r.rc = rc;
    if (write(report_fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
        rc = rc ? rc : -EPIPE;
    if (fd >= 0)
        close(fd);
    _exit(rc ? EXIT_RUN_FAIL : 0);
}

/* --- the parent: receiver / pinger ----------------------------------------- */

struct result {
    uint64_t bytes;
    double seconds;
    uint64_t cpu_ns; /* parent's */
    bool busy_ok;
    uint64_t rounds, *rtt; /* ping-pong */
};

/* Throughput: reads into the application ring until end of stream. */
static int run_receiver(int fd, const struct opts *o, struct result *res)
{
    size_t ring_len = APP_RING > o->msg ? APP_RING : o->msg, pos = 0;
    unsigned char *ring = malloc(ring_len);
    uint64_t t_first = 0, t_last = 0, cpu0;
    int rc = set_timeouts(fd);

    if (!ring)
        return -ENOMEM;
    memset(ring, 0, ring_len); /* no page faults in the timed part */
    cpu0 = cpu_ns();
    while (!rc) {
        size_t want = ring_len - pos < o->msg ? ring_len - pos : o->msg;
        ssize_t n = recv(fd, ring + pos, want, 0);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno != EINTR)
                rc = errno == EAGAIN ? -ETIMEDOUT : -errno;
            continue;
        }
        t_last = now_ns();
        if (!t_first)
            t_first = t_last;
        res->bytes += (uint64_t)n;
        pos += (size_t)n;
        if (pos == ring_len)
            pos = 0;
    }
    res->cpu_ns = cpu_ns() - cpu0;
    res->seconds = (double)(t_last - t_first) / 1e9;
    free(ring);
    return rc;
}

/* Ping-pong: o->count timed round trips, then ends the stream. */
static int run_pinger(int fd, const struct opts *o, struct result *res)
{
    unsigned char *src = malloc(o->msg), *dst = malloc(o->msg);
    int rc = set_pingpong_opts(fd, o, &res->busy_ok);

    res->rtt = calloc(o->count, sizeof(*res->rtt));
    if (!src || !dst || !res->rtt) {
        free(src);
        free(dst);
        return -ENOMEM;
    }
    memset(src, 0x5a, o->msg);
    uint64_t cpu0 = cpu_ns(), t0 = now_ns();
    for (uint64_t i = 0; !rc && i < o->count; i++) {
        uint64_t ts = now_ns();
        rc = spin_send(fd, src, o->msg);
        if (!rc)
            rc = spin_recv(fd, dst, o->msg);
        if (rc == 1)
            rc = -ECONNRESET; /* the echo server went away */
        if (!rc)
            res->rtt[res->rounds++] = now_ns() - ts;
    }
    res->seconds = (double)(now_ns() - t0) / 1e9;
    res->cpu_ns = cpu_ns() - cpu0;
    res->bytes = res->rounds * o->msg;
    if (!rc && shutdown(fd, SHUT_WR))
        rc = -errno;
    free(src);
    free(dst);
    return rc;
}

/* Reads the child's report, waiting at most IO_TIMEOUT_S.  0 or -errno. */
static int read_report(int fd, struct child_report *r)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, IO_TIMEOUT_S * 1000);
    if (n < 0)
        return -errno;
    if (n == 0)
        return -ETIMEDOUT;
    ssize_t got = read(fd, r, sizeof(*r));
    if (got < 0)
        return -errno;
    return got == (ssize_t)sizeof(*r) ? 0 : -EPIPE; /* EOF: the child died first */
}

static void report(const struct opts *o, const struct result *res, const struct child_report *c)
{
    char link[64] = "loopback";
    if (o->connect)
        snprintf(link, sizeof link, "kernel:%s", o->connect);
    uint64_t send_ns = o->pingpong ? res->cpu_ns : c->cpu_ns;
    uint64_t recv_ns = o->pingpong ? c->cpu_ns : res->cpu_ns;
    double gbps = res->seconds > 0 ? (double)res->bytes * 8 / res->seconds / 1e9 : 0;
    double ns_per_byte = res->bytes ? (double)(send_ns + recv_ns) / (double)res->bytes : 0;
    double p50 = 0, p99 = 0, min = 0, max = 0, mean = 0;
    uint64_t warm = 0, n = 0;

    if (o->pingpong) {
        warm = res->rounds > 2 * PP_WARMUP ? PP_WARMUP : res->rounds / 2;
        n = res->rounds - warm;
        qsort(res->rtt + warm, n, sizeof(*res->rtt), cmp_u64);
        p50 = (double)percentile(res->rtt + warm, n, 50) / 1e3;
        p99 = (double)percentile(res->rtt + warm, n, 99) / 1e3;
        min = (double)res->rtt[warm] / 1e3;
        max = (double)res->rtt[warm + n - 1] / 1e3;
        for (uint64_t i = 0; i < n; i++)
            mean += (double)res->rtt[warm + i];
        mean = n ? mean / (double)n / 1e3 : 0;
    }
    if (o->json) { /* the keys of jet perf --json (docs/perf-json.md) */
        printf("{\"proto\":\"tcp\",\"link\":\"%s\",\"version\":1,\"mode\":\"%s\","
               "\"msg\":%" PRIu32 ",\"bytes\":%" PRIu64
               ",\"seconds\":%.6f,\"gbps\":%.4f,\"retransmits\":%" PRIu32
               ",\"sender_cpu_s\":%.6f,\"receiver_cpu_s\":%.6f",
               link, o->pingpong ? "pingpong" : "throughput", o->msg, res->bytes, res->seconds, gbps,
               c->retransmits, (double)send_ns / 1e9, (double)recv_ns / 1e9);
        if (res->bytes)
            printf(",\"cpu_ns_per_byte\":%.4f", ns_per_byte);
        if (o->pingpong) {
            const uint64_t *v = res->rtt + warm;
            printf(",\"busy_poll_us\":%d,\"round_trips\":%" PRIu64 ",\"rtt_us\":{\"p50\":%.3f,"
                   "\"p99\":%.3f,\"min\":%.3f,\"max\":%.3f,\"mean\":%.3f,\"p90\":%.3f,"
                   "\"p999\":%.3f,\"cdf\":[",
                   res->busy_ok ? o->busy_poll_us : 0, res->rounds, p50, p99, min, max, mean,
                   n ? (double)quantile(v, n, 90, 100) / 1e3 : 0,
                   n ? (double)quantile(v, n, 999, 1000) / 1e3 : 0);
            /* cdf[k]: the time at quantile k/100, cdf[0] the least (the sorted samples) */
            for (unsigned k = 0; k <= 100; k++)
                printf("%s%.3f", k ? "," : "", n ? (double)quantile(v, n, k, 100) / 1e3 : 0);
            printf("]}");
        }
        printf("}\n");
        return;
    }
    if (o->pingpong) {
        printf("tcp_ref: %" PRIu64 " round trips of %" PRIu32
               "-byte messages over %s TCP (busy-poll, SO_BUSY_POLL %d us)\n",
               res->rounds, o->msg, o->connect ? o->connect : "loopback",
               res->busy_ok ? o->busy_poll_us : 0);
        printf("  rtt p50 %.3f us, p99 %.3f us, min %.3f, max %.3f (%" PRIu64
               " samples after warm-up)\n",
               p50, p99, min, max, n);
    } else {
        printf("tcp_ref: %" PRIu64 " bytes in %.6f s = %.3f Gb/s over loopback TCP (%" PRIu32
               "-byte messages)\n",
               res->bytes, res->seconds, gbps, o->msg);
    }
    printf("  retransmits %" PRIu32 ", cpu: sender %.3f s, receiver %.3f s, %.4f ns/byte\n",
           c->retransmits, (double)send_ns / 1e9, (double)recv_ns / 1e9, ns_per_byte);
}

/* Reaps the child (blocking: it is bounded by its own timeouts and by the
 * connection's end).  0 if it exited cleanly, -1 otherwise. */
static int reap(pid_t child)
{
    int st;
    while (waitpid(child, &st, 0) < 0)
        if (errno != EINTR) {
            perror("tcp_ref: waitpid");
            return -1;
        }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "tcp_ref: the child failed (%s %d)\n", WIFEXITED(st) ? "exit" : "signal",
                WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        return -1;
    }
    return 0;
}

static int finish(const struct opts *o, struct result *res, const struct child_report *c);

static int parent_main(const struct opts *o, int lfd, int report_fd, pid_t child)
{
    struct result res = {0};
    struct child_report c = {0};
    int fd = accept_bounded(lfd), rc, ret = EXIT_RUN_FAIL;

    close(lfd);
    if (fd < 0) {
        fprintf(stderr, "tcp_ref: accept: %s\n", strerror(-fd));
        kill(child, SIGKILL);
        reap(child);
        return EXIT_RUN_FAIL;
    }
    rc = o->pingpong ? run_pinger(fd, o, &res) : run_receiver(fd, o, &res);
    if (rc) {
        fprintf(stderr, "tcp_ref: %s: %s\n", o->pingpong ? "ping-pong" : "receive", strerror(-rc));
        close(fd); /* the child sees the end of stream or a reset and stops */
        fd = -1;
    }
    int rrc = read_report(report_fd, &c);
    if (rrc && !rc)
        fprintf(stderr, "tcp_ref: the child's report: %s\n",
                rrc == -EPIPE ? "the child ended without one" : strerror(-rrc));
    if (rrc == -ETIMEDOUT)
        kill(child, SIGKILL);
    if (reap(child) || rc || rrc || c.rc)
        goto out;
    ret = finish(o, &res, &c);
out:
    if (fd >= 0)
        close(fd);
    free(res.rtt);
    return ret;
}

/* The checks of a run both ends finished, then the report.  0 or EXIT_RUN_FAIL. */
static int finish(const struct opts *o, struct result *resp, const struct child_report *cp)
{
    const struct result res = *resp;
    const struct child_report c = *cp;
    if (!o->pingpong && c.bytes != res.bytes) {
        fprintf(stderr, "tcp_ref: %" PRIu64 " bytes sent, %" PRIu64 " received\n", c.bytes,
                res.bytes);
        return EXIT_RUN_FAIL;
    }
    if (o->pingpong && (res.rounds != o->count || c.bytes != res.bytes)) {
        fprintf(stderr,
                "tcp_ref: %" PRIu64 " of %" PRIu64 " round trips, %" PRIu64 " bytes echoed\n",
                res.rounds, o->count, c.bytes);
        return EXIT_RUN_FAIL;
    }
    if (o->pingpong && !res.busy_ok)
        fprintf(stderr, "tcp_ref: SO_BUSY_POLL refused (needs CAP_NET_ADMIN above "
                        "net.core.busy_read); user-space spinning only\n");
    report(o, resp, &c);
    return fflush(stdout) ? EXIT_RUN_FAIL : 0;
}

/* --- across hosts: --serve / --connect (ping-pong) ------------------------- */

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static uint64_t get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

enum { HELLO = 4, SRV_REPORT = 24 };

/* --serve: the echo server of ping-pong sessions, one at a time, until it is
 * killed.  Each session: the message size (4 bytes, big-endian), then the
 * echo, then the report when the pinger's side ends. */
static int serve_main(const struct opts *o)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || setint(lfd, SOL_SOCKET, SO_REUSEADDR, 1) ||
        bind(lfd, (const struct sockaddr *)&o->addr, sizeof o->addr) || listen(lfd, 4)) {
        fprintf(stderr, "tcp_ref: listen on %s: %s\n", o->serve, strerror(errno));
        if (lfd >= 0)
            close(lfd);
        return EXIT_RUN_FAIL;
    }
    fprintf(stderr, "tcp_ref: echo server on %s\n", o->serve);
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            fprintf(stderr, "tcp_ref: accept: %s\n", strerror(errno));
            close(lfd);
            return EXIT_RUN_FAIL;
        }
        unsigned char hello[HELLO], rep[SRV_REPORT];
        struct child_report r = {0};
        struct opts so = *o;
        int rc = spin_recv(fd, hello, sizeof hello);
        if (!rc) {
            so.msg = (uint32_t)hello[0] << 24 | (uint32_t)hello[1] << 16 |
                     (uint32_t)hello[2] << 8 | hello[3];
            rc = so.msg && so.msg <= MAX_MSG ? run_echo(fd, &so, &r) : -EPROTO;
        }
        if (!rc) {
            put_be64(rep, r.bytes);
            put_be64(rep + 8, r.cpu_ns);
            put_be64(rep + 16, r.retransmits);
            rc = spin_send(fd, rep, sizeof rep);
        }
        if (rc)
            fprintf(stderr, "tcp_ref: echo: %s\n", rc == 1 ? "no message size" : strerror(-rc));
        close(fd);
    }
}

/* --connect: the pinger of one session with a --serve server, which measures. */
static int connect_main(const struct opts *o)
{
    uint64_t t0 = now_ns();
    int fd;
    for (;;) { /* the server may be starting: refused or unreachable for a moment */
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            perror("tcp_ref: socket");
            return EXIT_RUN_FAIL;
        }
        if (!connect(fd, (const struct sockaddr *)&o->addr, sizeof o->addr))
            break;
        int e = errno;
        close(fd);
        if ((e != ECONNREFUSED && e != EHOSTUNREACH && e != ENETUNREACH) ||
            now_ns() - t0 >= (uint64_t)IO_TIMEOUT_S * 1000000000u) {
            fprintf(stderr, "tcp_ref: connect to %s: %s\n", o->connect, strerror(e));
            return EXIT_RUN_FAIL;
        }
        usleep(20000);
    }
    unsigned char hello[HELLO] = {(unsigned char)(o->msg >> 24), (unsigned char)(o->msg >> 16),
                                  (unsigned char)(o->msg >> 8), (unsigned char)o->msg};
    unsigned char rep[SRV_REPORT];
    struct result res = {0};
    struct child_report c = {0};
    int ret = EXIT_RUN_FAIL, rc = spin_send(fd, hello, sizeof hello);
    if (!rc)
        rc = run_pinger(fd, o, &res); /* ends with our side shut down */
    if (!rc) {
        rc = spin_recv(fd, rep, sizeof rep);
        c.bytes = get_be64(rep);
        c.cpu_ns = get_be64(rep + 8);
        c.retransmits = (uint32_t)get_be64(rep + 16);
    }
    if (rc)
        fprintf(stderr, "tcp_ref: ping-pong with %s: %s\n", o->connect,
                rc == 1 ? "the server ended without its report" : strerror(-rc));
    else
        ret = finish(o, &res, &c);
    close(fd);
    free(res.rtt);
    return ret;
}

static int parse_u64(const char *s, uint64_t *out);

/* ADDR:PORT (IPv4 dotted quad, port 1..65535) into a. */
static int parse_hostport(const char *s, struct sockaddr_in *a)
{
    const char *colon = strrchr(s, ':');
    char host[INET_ADDRSTRLEN];
    uint64_t port;
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof host ||
        parse_u64(colon + 1, &port) || port == 0 || port > 65535)
        return -EINVAL;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    *a = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -EINVAL;
}

/* --- arguments ------------------------------------------------------------ */

static void usage(FILE *f)
{
    fputs("usage: tcp_ref [-t SECONDS] [-l BYTES] [--json]\n"
          "       tcp_ref --pingpong -n ROUNDTRIPS [-l BYTES] [--busy-poll US] [--json]\n"
          "       tcp_ref --serve ADDR:PORT [--busy-poll US]\n"
          "       tcp_ref --pingpong -n ROUNDTRIPS --connect ADDR:PORT [-l BYTES] [...]\n"
          "Kernel TCP over 127.0.0.1 between two processes: the reference for "
          "`jet perf --proto rbs`.\n"
          "  -t SECONDS      send for this long (throughput; default 1)\n"
          "  -l BYTES        message size (default 131072; 1 with --pingpong)\n"
          "  --pingpong      time -n round trips, busy-polling; the first 1000 are warm-up\n"
          "  -n ROUNDTRIPS   round trips to time (ping-pong)\n"
          "  --busy-poll US  SO_BUSY_POLL for ping-pong (default 50; 0 leaves it unset)\n"
          "  --serve A:P     be the echo server of ping-pong sessions from other hosts or\n"
          "                  namespaces, one at a time, until killed\n"
          "  --connect A:P   ping-pong with a --serve server there instead of a child\n"
          "  --block         ping-pong with blocking calls instead of spinning\n"
          "  --json          print one JSON object with the keys `jet perf --json` uses\n",
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

static int bad_arg(const char *what, const char *val)
{
    fprintf(stderr, "tcp_ref: bad %s '%s'\n", what, val ? val : "");
    usage(stderr);
    return -EINVAL;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {{"pingpong", no_argument, NULL, 'p'},
                                             {"busy-poll", required_argument, NULL, 'b'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"serve", required_argument, NULL, 'S'},
                                             {"connect", required_argument, NULL, 'C'},
                                             {"block", no_argument, NULL, 'B'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    bool have_msg = false, have_t = false;
    uint64_t v;
    char *end;
    int ch;

    *o = (struct opts){.busy_poll_us = DEFAULT_BUSY_POLL_US, .seconds = 1.0};
    while ((ch = getopt_long(argc, argv, "l:n:t:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'l':
            if (parse_u64(optarg, &v) || v == 0 || v > MAX_MSG)
                return bad_arg("-l", optarg);
            o->msg = (uint32_t)v;
            have_msg = true;
            break;
        case 'n':
            if (parse_u64(optarg, &v) || v == 0 || v > MAX_ROUNDS)
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
        case 'b':
            if (parse_u64(optarg, &v) || v > 1000000)
                return bad_arg("--busy-poll", optarg);
            o->busy_poll_us = (int)v;
            break;
        case 'p':
            o->pingpong = true;
            break;
        case 'j':
            o->json = true;
            break;
        case 'B':
            o->block = true;
            break;
        case 'S':
        case 'C':
            if (parse_hostport(optarg, &o->addr))
                return bad_arg(ch == 'S' ? "--serve" : "--connect", optarg);
            *(ch == 'S' ? &o->serve : &o->connect) = optarg;
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
    if (o->serve && (o->connect || o->pingpong || o->count || have_t || have_msg || o->json)) {
        fprintf(stderr,
                "tcp_ref: --serve takes only --busy-poll and --block (the pinger sends the size)\n");
        return -EINVAL;
    }
    if (o->block && !o->pingpong && !o->serve) {
        fprintf(stderr, "tcp_ref: --block is for --pingpong and --serve\n");
        return -EINVAL;
    }
    if (o->connect && !o->pingpong) {
        fprintf(stderr, "tcp_ref: --connect is for --pingpong\n");
        return -EINVAL;
    }
    if (o->pingpong && (have_t || !o->count)) {
        fprintf(stderr, "tcp_ref: --pingpong needs -n ROUNDTRIPS (and no -t)\n");
        return -EINVAL;
    }
    if (!o->pingpong && o->count) {
        fprintf(stderr, "tcp_ref: -n is for --pingpong; throughput runs for -t SECONDS\n");
        return -EINVAL;
    }
    if (!have_msg)
        o->msg = o->pingpong ? 1 : DEFAULT_MSG;
    return 0;
}

/* --- main ----------------------------------------------------------------- */

int main(int argc, char **argv)
{
    struct opts o;
    pid_t parent = getpid(), child;
    uint16_t port = 0;
    int lfd, pfd[2];

    if (parse_args(argc, argv, &o))
        return EXIT_USAGE;
    block_io = o.block;
    if (o.serve)
        return serve_main(&o);
    if (o.connect)
        return connect_main(&o);
    lfd = listen_loopback(&port);
    if (lfd < 0) {
        fprintf(stderr, "tcp_ref: listen on 127.0.0.1: %s\n", strerror(-lfd));
        return EXIT_RUN_FAIL;
    }
    if (pipe2(pfd, O_CLOEXEC)) {
        perror("tcp_ref: pipe");
        close(lfd);
        return EXIT_RUN_FAIL;
    }
    fflush(NULL);
    child = fork();
    if (child < 0) {
        perror("tcp_ref: fork");
        return EXIT_RUN_FAIL;
    }
    if (child == 0) {
        close(pfd[0]);
        child_main(&o, port, lfd, pfd[1], parent);
    }
    close(pfd[1]);
    int rc = parent_main(&o, lfd, pfd[0], child);
    close(pfd[0]);
    return rc;
}
