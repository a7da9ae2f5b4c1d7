/* lan_monitor: what a LAN's monitor (JET_LINK_MONITOR, `jet dump lan:NAME`)
 * costs the stations (bench/lan_monitor.sh, docs/lan.md "Watching the LAN").
 *
 *   lan_monitor NAME SECONDS
 *       Opens lan:NAME as a monitor and takes every frame (rx_burst, then
 *       rx_release; jet_link_wait when there is none) for SECONDS or until
 *       SIGTERM or SIGINT, neither printing nor writing them; prints one JSON
 *       object {"frames", "bytes", "dropped"} (dropped: frames it lost for
 *       falling behind, its stats' rx_dropped).
 *
 *   lan_monitor --pair PAYLOAD RUNS [--monitor]
 *       The stations' own cost, without a second process to share the CPU
 *       with: a private LAN, two stations in this process, 100,000 native
 *       frames of PAYLOAD bytes from one to the other (send 16, flush,
 *       receive all), RUNS times; with --monitor, a monitor attached and
 *       drained after each round, its time left out.  Prints
 *       {"payload", "monitor", "ns_min", "ns_median"} (per frame).
 *
 * Exit 1 (with {"error": REASON}) if a link cannot be opened. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jet/frame.h"
#include "jet/lan.h"
#include "jet/link.h"
#include "util/clock.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static struct jet_link *open_monitor(const char *lan)
{
    char name[96];
    snprintf(name, sizeof name, "lan:%s", lan);
    struct jet_link *m = NULL;
    struct jet_err err = {0};
    struct jet_link_opts o = {.station = -1, .flags = JET_LINK_MONITOR};
    if (jet_link_open(name, &o, &m, &err)) {
        printf("{\"error\":\"%s\"}\n", err.msg);
        return NULL;
    }
    return m;
}

static int watch(const char *lan, double secs)
{
    struct jet_link *m = open_monitor(lan);
    if (!m)
        return 1;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    uint64_t until = jet_now_ns() + (uint64_t)(secs * 1e9);
    uint64_t frames = 0, bytes = 0;
    struct jet_frame f[32];
    while (!stop && jet_now_ns() < until) {
        int n = jet_link_rx_burst(m, f, 32);
        if (n < 0)
            break;
        if (n == 0) {
            jet_link_wait(m, 10000000);
            continue;
        }
        for (int i = 0; i < n; i++)
            bytes += f[i].len;
        frames += (uint64_t)n;
        jet_link_rx_release(m, f, (unsigned)n);
    }
    struct jet_link_stats st = {0};
    jet_link_stats(m, &st);
    printf("{\"frames\":%llu,\"bytes\":%llu,\"dropped\":%llu}\n", (unsigned long long)frames,
           (unsigned long long)bytes, (unsigned long long)st.rx_dropped);
    jet_link_close(m);
    return 0;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int pair(uint32_t plen, int runs, bool mon)
{
    enum { N = 100000, RUNS_MAX = 256 };
    if (plen > 9000 || runs < 1 || runs > RUNS_MAX) {
        fprintf(stderr, "lan_monitor --pair: payload at most 9000, runs 1..%d\n", RUNS_MAX);
        return 2;
    }
    char lan[64];
    snprintf(lan, sizeof lan, "bmonpair-%d", (int)getpid());
    struct jet_lan_config c;
    jet_lan_config_default(&c);
    c.stations = 2;
    c.mtu = 9000;
    struct jet_err err = {0};
    struct jet_link *a = NULL, *b = NULL, *m = NULL;
    if (jet_lan_create(lan, &c, &err) || jet_lan_attach(lan, 0, &a, &err) ||
        jet_lan_attach(lan, 1, &b, &err)) {
        printf("{\"error\":\"%s\"}\n", err.msg);
        jet_lan_destroy(lan, true, NULL);
        return 1;
    }
    if (mon && !(m = open_monitor(lan))) {
        jet_lan_destroy(lan, true, NULL);
        return 1;
    }
    static uint8_t pay[9000];
    static double ns[RUNS_MAX];
    struct jet_frame g[32];
    for (int r = 0; r < runs; r++) {
        uint64_t t0 = jet_now_ns(), skip = 0;
        unsigned sent = 0, got = 0;
        while (got < N) {
            for (int i = 0; i < 16 && sent < N; i++) {
                struct jet_frame f;
                if (jet_link_tx_alloc(a, &f))
                    break;
                struct jet_frame_hdr h = {
                    .dst_station = 1, .dst_chan = 7, .src_chan = 7, .payload_len = (uint16_t)plen};
                f.len = (uint32_t)jet_frame_build(f.data, f.cap, &h, pay, plen);
                f.encap = JET_ENCAP_NATIVE;
                if (jet_link_tx_commit(a, &f) == 0)
                    sent++;
            }
            jet_link_tx_flush(a);
            int n;
            while ((n = jet_link_rx_burst(b, g, 32)) > 0) {
                got += (unsigned)n;
                jet_link_rx_release(b, g, (unsigned)n);
            }
            jet_link_rx_burst(a, g, 0); /* takes back returned buffers */
            if (m) {
                uint64_t t1 = jet_now_ns();
                while ((n = jet_link_rx_burst(m, g, 32)) > 0)
                    jet_link_rx_release(m, g, (unsigned)n);
                skip += jet_now_ns() - t1;
            }
        }
        ns[r] = (double)(jet_now_ns() - t0 - skip) / N;
    }
    qsort(ns, (size_t)runs, sizeof ns[0], cmp_dbl);
    printf("{\"payload\":%u,\"monitor\":%s,\"ns_min\":%.1f,\"ns_median\":%.1f}\n", plen,
           mon ? "true" : "false", ns[0],
           runs % 2 ? ns[runs / 2] : (ns[runs / 2 - 1] + ns[runs / 2]) / 2);
    if (m)
        jet_link_close(m);
    jet_link_close(b);
    jet_link_close(a);
    jet_lan_destroy(lan, true, NULL);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "--pair"))
        return pair((uint32_t)atoi(argv[2]), atoi(argv[3]),
                    argc > 4 && !strcmp(argv[4], "--monitor"));
    if (argc != 3) {
        fprintf(stderr, "usage: lan_monitor NAME SECONDS | lan_monitor --pair PAYLOAD RUNS "
                        "[--monitor]\n");
        return 2;
    }
    return watch(argv[1], atof(argv[2]));
}
