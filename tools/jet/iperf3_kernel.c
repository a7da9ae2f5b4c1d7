/* jet iperf3-kernel-server: the iperf3 server engine (src/app/iperf3_srv.h) over
 * kernel TCP sockets.  The test harness for the engine until user-space TCP serves it
 * through `jet host --services iperf3`; hidden from `jet help`.
 *
 *   jet iperf3-kernel-server -p PORT [--bind ADDR] [--once] [-q]
 *
 * One thread, one epoll set, non-blocking sockets, level-triggered.  Each round:
 *   - wait for readiness, at most until the engine's next deadline;
 *   - the listener: accept everything waiting, each connection gets a handle
 *     (iperf3_srv_open), or is closed at once when the engine has none free;
 *   - a readable connection: read a few times into one buffer, hand the bytes to the
 *     engine; end of stream or an error: iperf3_srv_closed, then close(2);
 *   - a writable connection: flush it;
 *   - the engine's deadlines (iperf3_srv_tick), then every handle it lists as
 *     changed: flush what it has to send (sendmsg of its iovecs: the payload of -R by
 *     reference to the engine's constant pattern, no copy here), watch for EPOLLOUT
 *     while some is left, close it once it is finished.
 * A line per test on stdout.  SIGINT/SIGTERM: running tests get SERVER_TERMINATE. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "app/iperf3_srv.h"
#include "cli.h"
#include "util/clock.h"
#include "util/parse.h"

enum {
    RBUF = 256 << 10, /* read buffer */
    READS = 4,        /* reads per readiness, then the others get their turn */
    WRITES = 4,       /* sendmsg calls per flush */
    MAX_IOV = 64,
    LISTENER = IPERF3_SLOTS, /* epoll tag of the listening socket */
};

struct drv {
    struct iperf3_srv *srv;
    int ep, lfd;
    int fd[IPERF3_SLOTS];
    bool out_armed[IPERF3_SLOTS];
    uint8_t *rbuf;
    /* cpu_util: the previous sample */
    uint64_t cpu_wall;
    double cpu_user, cpu_sys;
};

static volatile sig_atomic_t stop_sig;
static void on_signal(int sig)
{
    stop_sig = sig;
}

static void help(FILE *f)
{
    fprintf(f,
            "usage: jet iperf3-kernel-server -p PORT [--bind ADDR] [--once] [-q]\n\n"
            "An iperf3 server (what iperf3 -s serves to `iperf3 -c`: -R, -P, -t, -n, -k, -J)\n"
            "made of Jetstream's sans-I/O iperf3 engine over kernel TCP sockets.  It is the\n"
            "test harness for the engine before user-space TCP serves it through\n"
            "`jet host --services iperf3`.  UDP and --bidir tests are refused.\n\n"
            "  -p, --port PORT  TCP port to listen on (iperf3's is 5201)\n"
            "  --bind ADDR      IPv4 address to listen on (default: all)\n"
            "  --once           exit after the first test (like iperf3 -s -1)\n"
            "  -q               no line per test\n");
}

static uint64_t retransmits(void *ctx, int h)
{
    struct drv *d = ctx;
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    if (d->fd[h] < 0 || getsockopt(d->fd[h], IPPROTO_TCP, TCP_INFO, &ti, &len))
        return 0;
    return ti.tcpi_total_retrans;
}

static void cpu_util(void *ctx, double pct[3])
{
    struct drv *d = ctx;
    struct rusage ru;
    uint64_t now = jet_now_ns();
    getrusage(RUSAGE_SELF, &ru);
    double u = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
    double s = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    double wall = (double)(now - d->cpu_wall) / 1e9;
    pct[0] = pct[1] = pct[2] = 0;
    if (d->cpu_wall && wall > 0) {
        pct[1] = 100 * (u - d->cpu_user) / wall;
        pct[2] = 100 * (s - d->cpu_sys) / wall;
        pct[0] = pct[1] + pct[2];
    }
    d->cpu_wall = now;
    d->cpu_user = u;
    d->cpu_sys = s;
}

static void watch_out(struct drv *d, int h, bool on)
{
    if (d->out_armed[h] == on)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.u32 = (uint32_t)h};
    epoll_ctl(d->ep, EPOLL_CTL_MOD, d->fd[h], &ev);
    d->out_armed[h] = on;
}

static void drop(struct drv *d, int h)
{
    iperf3_srv_closed(d->srv, h, jet_now_ns()); /* first: it may still ask for TCP_INFO */
    epoll_ctl(d->ep, EPOLL_CTL_DEL, d->fd[h], NULL);
    close(d->fd[h]);
    d->fd[h] = -1;
    d->out_armed[h] = false;
}

/* Sends what the engine has for h; closes h when the engine is done with it. */
static void flush(struct drv *d, int h)
{
    if (d->fd[h] < 0)
        return;
    for (int i = 0; i < WRITES; i++) {
        struct iovec iov[MAX_IOV];
        int n = iperf3_srv_peek(d->srv, h, iov, MAX_IOV);
        if (!n)
            break;
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(d->fd[h], &m, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno == EINTR)
                continue;
            drop(d, h); /* reset by the peer, or the like */
            return;
        }
        iperf3_srv_sent(d->srv, h, (size_t)w, jet_now_ns());
    }
    unsigned st = iperf3_srv_status(d->srv, h);
    if ((st & IPERF3_CLOSE) && !(st & IPERF3_WANT_SEND)) {
        drop(d, h);
        return;
    }
    watch_out(d, h, st & IPERF3_WANT_SEND);
}

static void readable(struct drv *d, int h)
{
    for (int i = 0; i < READS && d->fd[h] >= 0; i++) {
        ssize_t r = recv(d->fd[h], d->rbuf, RBUF, MSG_DONTWAIT);
        if (r > 0) {
            iperf3_srv_input(d->srv, h, d->rbuf, (size_t)r, jet_now_ns());
            if (r < RBUF)
                break;
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (r < 0 && errno == EINTR)
            continue;
        drop(d, h); /* end of stream or error: iperf3 never half-closes */
        break;
    }
}

static void accept_all(struct drv *d)
{
    for (;;) {
        int fd = accept4(d->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or a connection that went away meanwhile */
        int h = iperf3_srv_open(d->srv, jet_now_ns());
        if (h < 0) {
            close(fd);
            continue;
        }
        d->fd[h] = fd;
        d->out_armed[h] = false;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)h};
        if (epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev)) {
            iperf3_srv_closed(d->srv, h, jet_now_ns());
            close(fd);
            d->fd[h] = -1;
        }
    }
}

static void report(const struct iperf3_test_info *t, uint64_t n)
{
    static const char *const what[] = {"ok", "refused", "aborted", "timed out", "terminated"};
    char rate[32];
    double secs = (double)t->ns / 1e9;
    fmt_rate(rate, sizeof rate, secs > 0 ? (double)t->bytes * 8 / secs : 0);
    printf("test %llu: %s, %s, %u stream%s, %llu bytes in %.2f s, %s", (unsigned long long)n,
           what[t->outcome], t->reverse ? "reverse (server sends)" : "forward (server receives)",
           t->streams, t->streams == 1 ? "" : "s", (unsigned long long)t->bytes, secs, rate);
    if (t->outcome == IPERF3_REFUSED)
        printf(" (iperf3 error %d)", t->ierr);
    printf("\n");
    fflush(stdout);
}

static int open_listener(const char *bind_addr, uint64_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (bind_addr && inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1)
        return -EINVAL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 64)) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

int cmd_iperf3_kernel_server(int argc, char **argv)
{
    const char *bind_addr = NULL;
    uint64_t port = 0;
    bool once = false, quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            help(stdout);
            return 0;
        } else if (!strcmp(a, "-p") || !strcmp(a, "--port")) {
            if (!v || jet_parse_u64(v, &port) || !port || port > 65535)
                return usage_error("iperf3-kernel-server", "bad port '%s' (1..65535)",
                                   v ? v : "");
            i++;
        } else if (!strcmp(a, "--bind")) {
            if (!v)
                return usage_error("iperf3-kernel-server", "--bind needs an address");
            bind_addr = v;
            i++;
        } else if (!strcmp(a, "--once")) {
            once = true;
        } else if (!strcmp(a, "-q")) {
            quiet = true;
        } else {
            return usage_error("iperf3-kernel-server", "unknown argument '%s'", a);
        }
    }
    if (!port)
        return usage_error("iperf3-kernel-server", "say which port: -p PORT");

    struct drv d = {.ep = -1, .lfd = -1};
    for (int h = 0; h < IPERF3_SLOTS; h++)
        d.fd[h] = -1;
    int rc = 1;
    struct iperf3_cfg cfg = {.ops = {.retransmits = retransmits, .cpu_util = cpu_util}, .ctx = &d};
    d.srv = iperf3_srv_create(&cfg);
    d.rbuf = malloc(RBUF);
    if (!d.srv || !d.rbuf) {
        die("iperf3-kernel-server: out of memory");
        goto out;
    }
    d.lfd = open_listener(bind_addr, port);
    if (d.lfd < 0) {
        die("iperf3-kernel-server: cannot listen on %s:%llu: %s", bind_addr ? bind_addr : "*",
            (unsigned long long)port, strerror(-d.lfd));
        goto out;
    }
    d.ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.u32 = LISTENER};
    if (d.ep < 0 || epoll_ctl(d.ep, EPOLL_CTL_ADD, d.lfd, &lev)) {
        die("iperf3-kernel-server: epoll: %s", strerror(errno));
        goto out;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (!quiet) {
        printf("iperf3 server (jet engine, kernel TCP) listening on %s:%llu\n",
               bind_addr ? bind_addr : "*", (unsigned long long)port);
        fflush(stdout);
    }

    uint64_t reported = 0;
    bool terminating = false;
    uint64_t give_up = 0; /* after a signal: flush for at most a second */
    for (;;) {
        if (stop_sig && !terminating) {
            terminating = true;
            iperf3_srv_terminate(d.srv, jet_now_ns());
            epoll_ctl(d.ep, EPOLL_CTL_DEL, d.lfd, NULL);
            give_up = jet_now_ns() + 1000000000ull;
        }
        int h;
        while ((h = iperf3_srv_next_dirty(d.srv)) >= 0)
            flush(&d, h);
        const struct iperf3_stats *st = iperf3_srv_stats(d.srv);
        while (reported < st->tests) {
            reported++;
            if (!quiet)
                report(iperf3_srv_last(d.srv), reported);
        }
        bool open_fds = false;
        for (int k = 0; k < IPERF3_SLOTS; k++)
            open_fds |= d.fd[k] >= 0;
        if ((terminating || (once && reported)) && !open_fds)
            break;
        if (terminating && jet_now_ns() > give_up)
            break;

        uint64_t now = jet_now_ns(), t = iperf3_srv_timeout(d.srv);
        if (terminating && (!t || t > give_up))
            t = give_up;
        int ms = -1;
        if (t)
            ms = t <= now ? 0 : (int)((t - now + 999999) / 1000000);
        struct epoll_event ev[64];
        int n = epoll_wait(d.ep, ev, 64, ms);
        if (n < 0 && errno != EINTR) {
            die("iperf3-kernel-server: epoll_wait: %s", strerror(errno));
            goto out;
        }
        for (int i = 0; i < n; i++) {
            uint32_t tag = ev[i].data.u32;
            if (tag == LISTENER) {
                if (!terminating)
                    accept_all(&d);
                continue;
            }
            int c = (int)tag;
            if (d.fd[c] < 0)
                continue; /* closed earlier in this round */
            if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                readable(&d, c);
            if (d.fd[c] >= 0 && (ev[i].events & EPOLLOUT))
                flush(&d, c);
        }
        iperf3_srv_tick(d.srv, jet_now_ns());
    }
    rc = 0;
out:
    for (int h = 0; h < IPERF3_SLOTS; h++)
        if (d.fd[h] >= 0)
            close(d.fd[h]);
    if (d.lfd >= 0)
        close(d.lfd);
    if (d.ep >= 0)
        close(d.ep);
    iperf3_srv_destroy(d.srv);
    free(d.rbuf);
    return rc;
}
