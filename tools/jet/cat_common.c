/* What jet cat over RBS and over TCP share (cat_common.h). */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cat_common.h"
#include "util/clock.h"

int cat_say(const char *fmt, ...)
{
    char b[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof b - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return 1;
    if ((size_t)n > sizeof b - 2)
        n = (int)sizeof b - 2;
    b[n++] = '\n';
    for (int off = 0; off < n;) {
        ssize_t w = write(STDERR_FILENO, b + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (int)w;
    }
    return 1;
}

volatile int cat_stop;

static void on_stop(int sig)
{
    cat_stop = sig;
}

void cat_catch_signals(void)
{
    struct sigaction sa = {.sa_handler = on_stop};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool cat_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

int cat_read_in(uint8_t *b, size_t cap, size_t *fill, bool *eof)
{
    int reads = 0;
    while (*fill < cap && !*eof && cat_readable(STDIN_FILENO)) {
        ssize_t r = read(STDIN_FILENO, b + *fill, cap - *fill);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            break;
        if (r < 0) {
            cat_say("jet: reading stdin: %s", strerror(errno));
            return -1;
        }
        reads++;
        if (r == 0)
            *eof = true;
        *fill += (size_t)r;
    }
    return reads;
}

void cat_nap(struct jet_station *s, bool want_in, bool active, uint64_t *last_rx)
{
    if (jet_station_arm(s) != 0)
        return; /* work now */
    int64_t t = jet_station_timeout(s);
    int64_t d = t < 0 || t > CAT_NAP_MAX_NS ? CAT_NAP_MAX_NS : t;
    if (!want_in || active) {
        jet_station_wait(s, want_in && d > CAT_STDIN_LOOK_NS ? CAT_STDIN_LOOK_NS : d);
        return;
    }
    struct pollfd p[2] = {{.fd = jet_station_fd(s), .events = POLLIN},
                          {.fd = STDIN_FILENO, .events = POLLIN}};
    struct timespec ts = {.tv_sec = d / 1000000000, .tv_nsec = d % 1000000000};
    if (ppoll(p, 2, &ts, NULL) > 0 && p[0].revents)
        *last_rx = jet_now_ns(); /* a frame is on its way: wait in the station now */
}

void cat_say_rate(uint64_t bytes, uint64_t t_first, uint64_t t_end)
{
    double secs = t_first && t_end > t_first ? (double)(t_end - t_first) / 1e9 : 0;
    cat_say("jet cat: received %" PRIu64 " bytes in %.3f s (first byte to end of stream) = "
            "%.1f Mbit/s",
            bytes, secs, secs > 0 ? (double)bytes * 8 / secs / 1e6 : 0.0);
}
