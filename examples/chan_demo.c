/* chan_demo: two stations with channels of different policies, traffic
 * between them, then a pause so that `jet stat` can look at them.
 *
 *   build/jet lan create demo
 *   build/examples/chan_demo demo [-n FRAMES] [--size BYTES] [--linger SECONDS]
 *   build/jet stat lan:demo          (from another terminal, while it lingers)
 *   build/jet lan destroy demo
 *
 * In this one process it opens stations 0 and 1 of LAN NAME.  Station 1
 * opens two channels:
 *   channel 10: drop newest (tail drop), queue 64 frames, priority 0
 *   channel 20: drop oldest (head drop), queue 128 frames, priority 5,
 *               delivers frames whose CRC failed (flagged), 2 Mbit/s reserved
 * Station 0 opens channel 1 and sends FRAMES frames (default 1000) of BYTES
 * bytes (default 512) to each of the two, station 1 receiving and checking
 * them as they come.  Then it keeps both stations' drivers running for
 * SECONDS (default 10; a driver that does not run publishes nothing new),
 * prints "ready" once the final counters have been published, and on
 * SIGINT/SIGTERM or after SECONDS closes both stations, which removes their
 * stats files.  Exit code 0 when every frame arrived intact. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jet/chan.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

struct rxside {
    struct jet_chan *c;
    uint32_t id;
    uint64_t got, bad;
    uint8_t *buf;
};

/* Payload of frame seq: 4 bytes of seq, then bytes (seq + j) & 0xff. */
static void fill(uint8_t *p, uint32_t len, uint32_t seq)
{
    memcpy(p, &seq, 4);
    for (uint32_t j = 4; j < len; j++)
        p[j] = (uint8_t)(seq + j);
}

/* Takes every frame queued on r's channel, checking each. */
static void drain(struct rxside *r, uint32_t size)
{
    struct jet_rx rx;
    while (jet_chan_recv(r->c, &rx, 0) == 0) {
        uint32_t seq;
        bool ok = rx.len == size && jet_rx_read(&rx, 0, &seq, 4) == 0 &&
                  jet_rx_place(&rx, 0, rx.len, r->buf) == 0;
        for (uint32_t j = 4; ok && j < size; j++)
            ok = r->buf[j] == (uint8_t)(seq + j);
        if (ok && !(rx.flags & JET_RX_CRC_BAD))
            r->got++;
        else
            r->bad++;
        jet_chan_release(r->c, &rx);
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: chan_demo LAN [-n FRAMES] [--size BYTES] [--linger SECONDS]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *lan = NULL;
    long n = 1000, size = 512;
    double linger = 10;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-n") && v)
            n = atol(v), i++;
        else if (!strcmp(a, "--size") && v)
            size = atol(v), i++;
        else if (!strcmp(a, "--linger") && v)
            linger = atof(v), i++;
        else if (a[0] != '-' && !lan)
            lan = a;
        else
            return usage();
    }
    if (!lan || n < 1 || n > 100000000 || size < 4 || linger < 0)
        return usage();
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    char link[96];
    snprintf(link, sizeof link, "lan:%s", lan);
    struct jet_err err = {0};
    struct jet_station *s0 = NULL, *s1 = NULL;
    struct jet_chan *tx = NULL;
    struct rxside r[2] = {{.id = 10}, {.id = 20}};
    int rc = jet_station_open(link, 0, &s0, &err);
    if (!rc)
        rc = jet_station_open(link, 1, &s1, &err);
    if (rc) {
        fprintf(stderr, "chan_demo: %s\n", jet_err_str(&err, rc));
        goto out;
    }
    const struct jet_chan_policy p10 = {.drop = JET_DROP_NEWEST, .queue_frames = 64, .prio = 0};
    const struct jet_chan_policy p20 = {.drop = JET_DROP_OLDEST,
                                        .queue_frames = 128,
                                        .prio = 5,
                                        .accept_bad_crc = true,
                                        .reserve_bps = 2000000};
    if ((rc = jet_chan_open(s1, 10, &p10, &r[0].c)) ||
        (rc = jet_chan_open(s1, 20, &p20, &r[1].c))) {
        fprintf(stderr, "chan_demo: station 1: %s\n", jet_station_error(s1));
        goto out;
    }
    if ((rc = jet_chan_open(s0, 1, NULL, &tx))) {
        fprintf(stderr, "chan_demo: station 0: %s\n", jet_station_error(s0));
        goto out;
    }
    uint8_t *msg = malloc((size_t)size);
    r[0].buf = malloc((size_t)size);
    r[1].buf = malloc((size_t)size);
    if (!msg || !r[0].buf || !r[1].buf) {
        free(msg);
        rc = -ENOMEM;
        goto out;
    }

    /* Send a frame to each channel, then take what has arrived, so that the
     * 64-frame queue of channel 10 never overflows. */
    for (long i = 0; i < n && !stop; i++) {
        for (int k = 0; k < 2; k++) {
            fill(msg, (uint32_t)size, (uint32_t)i);
            struct iovec iov = {msg, (size_t)size};
            ssize_t sent;
            uint64_t give_up = now_ns() + 5000000000u;
            while ((sent = jet_chan_send(tx, 1, r[k].id, &iov, 1)) == -EAGAIN && !stop &&
                   now_ns() < give_up) {
                jet_station_poll(s0);
                drain(&r[0], (uint32_t)size);
                drain(&r[1], (uint32_t)size);
            }
            if (sent < 0) {
                fprintf(stderr, "chan_demo: send: %s\n", jet_station_error(s0));
                rc = (int)sent;
                free(msg);
                goto out;
            }
        }
        jet_station_poll(s0);
        drain(&r[0], (uint32_t)size);
        drain(&r[1], (uint32_t)size);
    }
    free(msg);
    uint64_t until = now_ns() + 5000000000u;
    while ((r[0].got + r[0].bad < (uint64_t)n || r[1].got + r[1].bad < (uint64_t)n) && !stop &&
           now_ns() < until) {
        jet_station_poll(s0);
        jet_station_wait(s1, 1000000);
        drain(&r[0], (uint32_t)size);
        drain(&r[1], (uint32_t)size);
    }
    printf("channel 10: %llu frames intact, %llu bad; channel 20: %llu intact, %llu bad (of %ld)\n",
           (unsigned long long)r[0].got, (unsigned long long)r[0].bad, (unsigned long long)r[1].got,
           (unsigned long long)r[1].bad, n);
    fflush(stdout);
    rc = r[0].got == (uint64_t)n && r[1].got == (uint64_t)n ? 0 : -EIO;

    /* Keep the drivers running: they publish the counters (every 100 ms). */
    uint64_t t0 = now_ns(), end = t0 + (uint64_t)(linger * 1e9);
    bool said = false;
    while (!stop && now_ns() < end) {
        jet_station_poll(s0);
        jet_station_poll(s1);
        if (!said && now_ns() - t0 > 300000000u) {
            printf("ready\n");
            fflush(stdout);
            said = true;
        }
        sleep_ms(10);
    }
out:
    jet_chan_close(tx);
    jet_chan_close(r[0].c);
    jet_chan_close(r[1].c);
    free(r[0].buf);
    free(r[1].buf);
    jet_station_close(s0);
    jet_station_close(s1);
    return rc ? 1 : 0;
}
