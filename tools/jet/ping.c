/* jet ping: ICMP echo from an IPv4 host of its own (include/jet/ip.h).
 *
 *   jet ping --link LINK --ip ADDR/PLEN [--gw G] [--mac M] [-c N] [-s SIZE]
 *            [-i INTERVAL] [-W TIMEOUT] DEST
 *
 * Opens a station on LINK with IPv4 (as jet host does: it answers ARP and
 * ping meanwhile), then sends N echo requests of SIZE data bytes to DEST, one
 * each INTERVAL, each waited for up to TIMEOUT (jet_ip_ping drives the
 * station while it waits), and between them keeps driving the station until
 * the next one is due.  Prints like iputils ping: a line per reply, and the
 * statistics at the end (or at SIGINT).  Exit status: 0 if every request was
 * answered, 1 if not (or on setup failure), 2 usage error. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "jet/ip.h"
#include "util/clock.h"
#include "util/parse.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void ping_help(FILE *f)
{
    fprintf(f,
            "usage: jet ping --link LINK --ip ADDR/PLEN [--gw ADDR] [--mac MAC] [--station K]\n"
            "                [-c COUNT] [-s SIZE] [-i INTERVAL] [-W TIMEOUT] DEST\n\n"
            "Sends ICMP echo requests to DEST from a station of its own on LINK, with the\n"
            "IPv4 address given (it answers ARP and ping meanwhile), and prints the replies\n"
            "as ping(8) does.\n\n"
            "%s"
            "  -c COUNT          requests to send (default 5; 0: until SIGINT)\n"
            "  -s SIZE           data bytes per request, 0..65507 (default 56; over the MTU\n"
            "                    the request and its reply are fragmented)\n"
            "  -i INTERVAL       between requests, e.g. 0.2 or 10ms (default 1 s)\n"
            "  -W TIMEOUT        how long to wait for each reply (default 1 s)\n\n"
            "Exit status: 0 every request answered, 1 not (or a setup failure), 2 usage.\n",
            ip_options_help);
}

/* Drives the station until `until` (CLOCK_MONOTONIC ns) or a signal: it
 * answers ARP and ping meanwhile. */
static void idle_until(struct jet_station *s, uint64_t until)
{
    for (;;) {
        jet_station_poll(s);
        uint64_t now = jet_now_ns();
        if (stop || now >= until)
            return;
        uint64_t d = until - now;
        jet_station_wait(s, (int64_t)(d < 100000000 ? d : 100000000));
    }
}

int cmd_ping(int argc, char **argv)
{
    struct host_ip_opts o = {.station = -1};
    const char *dest = NULL;
    uint64_t count = 5, size = 56, interval = 1000000000, wait_ns = 1000000000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            ping_help(stdout);
            return 0;
        }
        if (!strcmp(a, "-c") || !strcmp(a, "-s") || !strcmp(a, "-i") || !strcmp(a, "-W")) {
            if (!v)
                return usage_error("ping", "%s needs a value", a);
            i++;
            if (!strcmp(a, "-c") && jet_parse_u64(v, &count))
                return usage_error("ping", "bad -c '%s'", v);
            if (!strcmp(a, "-s") && (jet_parse_size(v, &size) || size > 65507))
                return usage_error("ping", "bad -s '%s' (0..65507 data bytes)", v);
            if (!strcmp(a, "-i") && (jet_parse_duration(v, &interval) || interval > 3600e9))
                return usage_error("ping", "bad -i '%s' (a duration: 1, 0.2, 10ms)", v);
            if (!strcmp(a, "-W") &&
                (jet_parse_duration(v, &wait_ns) || !wait_ns || wait_ns > 3600e9))
                return usage_error("ping", "bad -W '%s' (a duration: 1, 0.5, 200ms)", v);
            continue;
        }
        int r = ip_option("ping", a, v, &o);
        if (r < 0)
            return 2;
        if (r == 1) {
            i++;
            continue;
        }
        if (a[0] == '-' && a[1])
            return usage_error("ping", "unknown option '%s'", a);
        if (dest)
            return usage_error("ping", "one destination only ('%s'?)", a);
        dest = a;
    }
    uint32_t dst;
    if (!dest)
        return usage_error("ping", "say whom to ping: DEST");
    if (jet_ip_parse(dest, &dst, NULL))
        return usage_error("ping", "bad destination '%s' (an IPv4 address)", dest);
    struct jet_station *s;
    int rc = ip_station_open("ping", &o, &s);
    if (rc)
        return rc;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    char d[16], me[16];
    jet_ip_format(dst, d);
    jet_ip_format(o.cfg.addr, me);
    printf("PING %s (%s) %llu(%llu) bytes of data.\n", d, d, (unsigned long long)size,
           (unsigned long long)size + 28);
    fflush(stdout);
    uint64_t sent = 0, got = 0, errors = 0, t0 = jet_now_ns();
    double min = 0, max = 0, sum = 0, sum2 = 0;
    for (uint64_t seq = 1; !stop && (!count || seq <= count); seq++) {
        uint64_t start = jet_now_ns(), rtt = 0;
        rc = jet_ip_ping(s, dst, size, (int64_t)wait_ns, &rtt);
        sent++;
        if (rc == 0) {
            double ms = (double)rtt / 1e6;
            got++;
            min = got == 1 || ms < min ? ms : min;
            max = ms > max ? ms : max;
            sum += ms;
            sum2 += ms * ms;
            printf("%llu bytes from %s: icmp_seq=%llu time=%.3f ms\n", (unsigned long long)size + 8,
                   d, (unsigned long long)seq, ms);
        } else if (rc == -ETIMEDOUT) {
            printf("no answer yet for icmp_seq=%llu\n", (unsigned long long)seq);
        } else if (rc == -EHOSTUNREACH) {
            errors++;
            printf("From %s icmp_seq=%llu Destination Host Unreachable\n", me,
                   (unsigned long long)seq);
        } else if (rc == -ENETUNREACH) {
            errors++;
            printf("From %s icmp_seq=%llu Destination Net Unreachable\n", me,
                   (unsigned long long)seq);
        } else {
            errors++;
            printf("icmp_seq=%llu: %s\n", (unsigned long long)seq, jet_station_error(s));
        }
        fflush(stdout);
        if (!count || seq < count)
            idle_until(s, start + interval);
    }
    uint64_t ms_total = (jet_now_ns() - t0) / 1000000;
    printf("\n--- %s ping statistics ---\n", d);
    printf("%llu packets transmitted, %llu received, ", (unsigned long long)sent,
           (unsigned long long)got);
    if (errors)
        printf("+%llu errors, ", (unsigned long long)errors);
    printf("%g%% packet loss, time %llums\n",
           sent ? (double)(sent - got) * 100.0 / (double)sent : 0.0, (unsigned long long)ms_total);
    if (got) {
        double avg = sum / (double)got, var = sum2 / (double)got - avg * avg;
        printf("rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", min, avg, max,
               var > 0 ? sqrt(var) : 0.0);
    }
    fflush(stdout);
    jet_station_close(s);
    return sent && got == sent ? 0 : 1;
}
