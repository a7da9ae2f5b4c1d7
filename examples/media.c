/* media: a channel that takes damaged frames rather than lose them.
 *
 *   build/examples/media
 *
 * A media decoder can conceal a frame with a few wrong bits (a blip in the
 * picture or the sound) but not a frame that never came.  This program
 * creates its own emulated LAN with a bit error rate of 1e-5 and a fixed
 * fault seed, forks a sender (station 0) that sends 1000 "media frames" of
 * 1200 bytes each (a sequence number, then a pattern derived from it, as an
 * audio or video source would), and receives them on station 1, channel 100,
 * opened with
 *
 *     accept_bad_crc = true     frames whose payload CRC failed are delivered,
 *                               flagged JET_RX_CRC_BAD, instead of dropped
 *     drop = JET_DROP_OLDEST    if the decoder falls behind, the stalest
 *                               frame goes, never the newest
 *
 * It counts the frames that arrived intact, those delivered damaged, and
 * those missing (never delivered at all: a bit error in the frame header
 * makes a frame unusable to any channel).  Then the sender attaches again
 * and sends the same frames a second time; with the same seed and the same
 * flow, the same bits flip.  This time the channel is opened WITHOUT
 * accept_bad_crc: every frame the first pass delivered damaged is now lost,
 * counted in jet_chan_stats' dropped_crc.  (Seed 7 also happens to damage
 * three frame headers, so all three outcomes show.)
 *
 * Pipes keep the two processes in step: the receiver says "go" once its
 * channel is open, the sender says how many frames it sent, and keeps its
 * station open until the receiver has accounted for every one of them
 * (jet_station_close() flushes the transmit queue for a short while only).
 * The LAN is removed at exit.
 *
 * Exits 0 after printing the report, 1 with the reason on any API error. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jet/chan.h"
#include "jet/lan.h"

enum {
    NFRAMES = 1000,
    PAYLOAD = 1200,
    CHAN = 100,
    SENDER = 0,
    RECEIVER = 1,
    PASSES = 2,
};
#define BER 1e-5
#ifndef SEED
#define SEED 7u
#endif

/* A media frame: seq (u32, big-endian), ~seq (so a damaged frame's sequence
 * number can be trusted when the two still agree), then pattern bytes. */
static uint8_t pattern(uint32_t seq, uint32_t i)
{
    return (uint8_t)(seq * 131u + i * 7u + (i >> 8));
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void make_frame(uint8_t *b, uint32_t seq)
{
    put32(b, seq);
    put32(b + 4, ~seq);
    for (uint32_t i = 8; i < PAYLOAD; i++)
        b[i] = pattern(seq, i);
}

/* ---- sender (the forked child) ---- */

/* What the sender tells the receiver after each pass (through a pipe). */
struct done_msg {
    int32_t rc;
    uint32_t sent;
};

/* One pass: attach, send NFRAMES, wait for the receiver's word, detach. */
static int send_pass(const char *link, uint32_t *sent, int done_fd, int ack_fd)
{
    struct jet_err err = {0};
    struct jet_station *s;
    int rc = jet_station_open(link, SENDER, &s, &err);
    if (rc) {
        fprintf(stderr, "media sender: %s\n", jet_err_str(&err, rc));
        return rc;
    }
    struct jet_chan *c;
    if ((rc = jet_chan_open(s, CHAN, NULL, &c))) {
        fprintf(stderr, "media sender: %s\n", jet_station_error(s));
        jet_station_close(s);
        return rc;
    }
    uint8_t b[PAYLOAD];
    *sent = 0;
    for (uint32_t seq = 0; seq < NFRAMES; seq++) {
        make_frame(b, seq);
        struct iovec iov = {b, sizeof b};
        ssize_t n;
        /* -EAGAIN is back-pressure (the link's queue is full): wait, retry. */
        while ((n = jet_chan_send(c, RECEIVER, CHAN, &iov, 1)) == -EAGAIN)
            jet_station_wait(s, 1000000);
        if (n < 0) {
            fprintf(stderr, "media sender: frame %u: %s\n", seq, jet_station_error(s));
            jet_station_close(s);
            return (int)n;
        }
        (*sent)++;
    }
    /* Say how many went out, then keep the driver running (frames may still
     * wait in the link's transmit queue, which jet_station_close() would
     * flush for only a short while) until the receiver has accounted for
     * every frame and says so, or gives up. */
    struct done_msg m = {.sent = *sent};
    if (write(done_fd, &m, sizeof m) != (ssize_t)sizeof m) {
        jet_station_close(s);
        return -EPIPE;
    }
    struct pollfd p = {.fd = ack_fd, .events = POLLIN};
    while (poll(&p, 1, 1) == 0)
        jet_station_poll(s);
    char a;
    rc = read(ack_fd, &a, 1) == 1 ? 0 : -EPIPE;
    jet_station_close(s);
    return rc;
}

static int sender(const char *link, int go_fd, int done_fd)
{
    for (int pass = 0; pass < PASSES; pass++) {
        char go;
        if (read(go_fd, &go, 1) != 1)
            return 1; /* the receiver gave up */
        uint32_t sent = 0;
        int rc = send_pass(link, &sent, done_fd, go_fd);
        if (rc) {
            struct done_msg m = {.rc = rc, .sent = sent};
            if (rc != -EPIPE)
                (void)!write(done_fd, &m, sizeof m);
            return 1;
        }
    }
    return 0;
}

/* ---- receiver (the parent) ---- */

struct tally {
    uint32_t intact, damaged, damaged_seq_unreadable, bits_flipped;
    uint64_t damaged_bytes;
    uint8_t seen[NFRAMES]; /* 1: intact, 2: damaged (trusted sequence number) */
    struct jet_chan_stats cs;
    struct jet_station_stats ss0, ss1;
};

static uint32_t missing(const struct tally *t)
{
    uint32_t gaps = 0;
    for (uint32_t i = 0; i < NFRAMES; i++)
        gaps += !t->seen[i];
    /* damaged frames whose sequence number was unreadable fill some gaps */
    return gaps - (t->damaged_seq_unreadable < gaps ? t->damaged_seq_unreadable : gaps);
}

/* Looks at one received frame: a header of our own read out of the pool
 * (jet_rx_read), and for a damaged one, how far it is from what was sent. */
static void take(struct tally *t, const struct jet_rx *rx)
{
    uint8_t h[8];
    bool bad = rx->flags & JET_RX_CRC_BAD;
    uint32_t seq = UINT32_MAX;
    if (rx->len == PAYLOAD && jet_rx_read(rx, 0, h, sizeof h) == 0 && get32(h) == ~get32(h + 4) &&
        get32(h) < NFRAMES)
        seq = get32(h);
    if (!bad) {
        t->intact++;
        if (seq != UINT32_MAX)
            t->seen[seq] = 1;
        return;
    }
    t->damaged++;
    t->damaged_bytes += rx->len;
    if (seq == UINT32_MAX) {
        t->damaged_seq_unreadable++;
        return;
    }
    t->seen[seq] = 2;
    /* What a decoder concealing it would face: bits off from the real frame. */
    uint8_t want[PAYLOAD];
    make_frame(want, seq);
    for (uint32_t i = 0; i < rx->len; i++)
        t->bits_flipped += (uint32_t)__builtin_popcount(rx->payload[i] ^ want[i]);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Every frame the sender sent, accounted for: received by us (intact or
 * damaged), or counted by the driver as dropped (bad CRC, full queue,
 * damaged header: nothing else is on this LAN). */
static uint64_t accounted(struct jet_station *s, struct jet_chan *c, const struct tally *t)
{
    struct jet_chan_stats cs;
    struct jet_station_stats ss;
    jet_chan_stats(c, &cs);
    jet_station_stats(s, &ss);
    return t->intact + t->damaged + cs.dropped_crc + cs.dropped_policy + ss.dropped_header -
           t->ss0.dropped_header;
}

/* Receives one pass on channel c until every frame the sender says it sent
 * is accounted for. */
static int receive_pass(struct jet_station *s, struct jet_chan *c, int done_fd, struct tally *t,
                        struct done_msg *m)
{
    bool done = false;
    int64_t deadline = now_ns() + 20 * 1000000000ll;
    jet_station_stats(s, &t->ss0);
    for (;;) {
        struct jet_rx rx;
        int rc = jet_chan_recv(c, &rx, 2000000);
        if (rc == 0) {
            take(t, &rx);
            jet_chan_release(c, &rx); /* exactly once per frame */
            continue;
        }
        if (rc != -ETIMEDOUT) {
            fprintf(stderr, "media: receive: %s\n", jet_station_error(s));
            return rc;
        }
        struct pollfd p = {.fd = done_fd, .events = POLLIN};
        if (!done && poll(&p, 1, 0) == 1) {
            if (read(done_fd, m, sizeof *m) != (ssize_t)sizeof *m) {
                fprintf(stderr, "media: the sender died\n");
                return -EPIPE;
            }
            if (m->rc) {
                fprintf(stderr, "media: the sender failed: %s\n", strerror(-m->rc));
                return m->rc;
            }
            done = true;
        }
        if (done && accounted(s, c, t) >= m->sent)
            break;
        if (now_ns() > deadline) {
            fprintf(stderr, "media: %s after 20 s\n",
                    done ? "frames still unaccounted for" : "no word from the sender");
            return -ETIMEDOUT;
        }
    }
    jet_chan_stats(c, &t->cs);
    jet_station_stats(s, &t->ss1);
    return 0;
}

int main(void)
{
    char name[64], link[80];
    snprintf(name, sizeof name, "media-%d", (int)getpid());
    snprintf(link, sizeof link, "lan:%s", name);
    struct jet_lan_config cfg;
    jet_lan_config_default(&cfg);
    cfg.stations = 2;
    cfg.mtu = 1500;
    cfg.ber = BER;   /* jet lan create --ber 1e-5 */
    cfg.seed = SEED; /* the same faults on every run */
    struct jet_err err = {0};
    int rc = jet_lan_create(name, &cfg, &err);
    if (rc) {
        fprintf(stderr, "media: create LAN %s: %s\n", name, jet_err_str(&err, rc));
        return 1;
    }

    /* Fork before attaching: a process must not fork while attached. */
    signal(SIGPIPE, SIG_IGN); /* a sender that died shows as EPIPE, not as our death */
    int go[2], done[2];
    if (pipe(go) || pipe(done)) {
        perror("media: pipe");
        jet_lan_destroy(name, true, NULL);
        return 1;
    }
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
        perror("media: fork");
        jet_lan_destroy(name, true, NULL);
        return 1;
    }
    if (child == 0) {
        close(go[1]);
        close(done[0]);
        _exit(sender(link, go[0], done[1]));
    }
    close(go[0]);
    close(done[1]);

    struct jet_station *s = NULL;
    static struct tally t[PASSES];
    struct done_msg m[PASSES] = {{0}};
    if ((rc = jet_station_open(link, RECEIVER, &s, &err))) {
        fprintf(stderr, "media: attach: %s\n", jet_err_str(&err, rc));
        goto out;
    }
    for (int pass = 0; pass < PASSES; pass++) {
        struct jet_chan_policy p = {.accept_bad_crc = pass == 0, .drop = JET_DROP_OLDEST};
        struct jet_chan *c;
        if ((rc = jet_chan_open(s, CHAN, &p, &c))) {
            fprintf(stderr, "media: open channel %d: %s\n", CHAN, jet_station_error(s));
            goto out;
        }
        if (write(go[1], "g", 1) != 1) {
            rc = -EPIPE;
            fprintf(stderr, "media: the sender died\n");
            jet_chan_close(c);
            goto out;
        }
        rc = receive_pass(s, c, done[0], &t[pass], &m[pass]);
        jet_chan_close(c);
        if (rc)
            goto out;
        if (write(go[1], "a", 1) != 1) { /* all here: the sender may detach */
            rc = -EPIPE;
            fprintf(stderr, "media: the sender died\n");
            goto out;
        }
    }

    /* ---- the report ---- */
    printf("media: %s, bit error rate %g, seed %u: %u frames of %u bytes, "
           "station %d -> station %d channel %d\n",
           link, BER, SEED, m[0].sent, PAYLOAD, SENDER, RECEIVER, CHAN);
    for (int pass = 0; pass < PASSES; pass++) {
        struct tally *x = &t[pass];
        uint64_t hdr = x->ss1.dropped_header - x->ss0.dropped_header;
        if (pass == 0)
            printf("pass 1, accept_bad_crc on:  %4u intact, %3u delivered damaged "
                   "(JET_RX_CRC_BAD), %u missing\n",
                   x->intact, x->damaged, missing(x));
        else
            printf("pass 2, accept_bad_crc off: %4u intact, %3llu dropped for a bad CRC "
                   "(dropped_crc), %u missing in all\n",
                   x->intact, (unsigned long long)x->cs.dropped_crc, missing(x));
        if (pass == 0 && x->damaged)
            printf("  the damaged frames: %u bits wrong in %llu bytes (%.4f%% of bits), "
                   "%u with an unreadable sequence number: a decoder conceals these\n",
                   x->bits_flipped, (unsigned long long)x->damaged_bytes,
                   100.0 * x->bits_flipped / (8.0 * (double)x->damaged_bytes),
                   x->damaged_seq_unreadable);
        printf("  missing because of a damaged frame header (station dropped_header): %llu; "
               "dropped by the queue policy: %llu\n",
               (unsigned long long)hdr, (unsigned long long)x->cs.dropped_policy);
    }
    /* Pass 2 saw the same faults: the frames pass 1 delivered damaged are the
     * ones pass 2 lost. */
    bool same = t[1].cs.dropped_crc == t[0].damaged;
    for (uint32_t i = 0; i < NFRAMES; i++)
        same = same && (t[0].seen[i] == 1) == (t[1].seen[i] == 1);
    uint32_t got0 = t[0].intact + t[0].damaged, got1 = t[1].intact;
    printf("report: %u of %u frames reached the decoder with accept_bad_crc, %u without it: "
           "%llu lost to bad CRCs%s\n",
           got0, m[0].sent, got1, (unsigned long long)t[1].cs.dropped_crc,
           same ? ", exactly those pass 1 delivered damaged" : "");
    /* The accounting must add up; if not, something is wrong in the stack. */
    if (t[0].intact + t[0].damaged + missing(&t[0]) != NFRAMES ||
        t[1].intact + missing(&t[1]) != NFRAMES || t[0].cs.crc_bad_delivered != t[0].damaged ||
        m[1].sent != NFRAMES) {
        fprintf(stderr, "media: the counts do not add up to %d frames\n", NFRAMES);
        rc = -EPROTO;
    }
out:
    jet_station_close(s);
    close(go[1]); /* a sender still waiting for "go" gives up */
    int st = 0;
    if (waitpid(child, &st, 0) == child && !(WIFEXITED(st) && WEXITSTATUS(st) == 0) && !rc) {
        fprintf(stderr, "media: the sender failed\n");
        rc = -ECHILD;
    }
    close(done[0]);
    jet_lan_destroy(name, true, NULL);
    return rc ? 1 : 0;
}
