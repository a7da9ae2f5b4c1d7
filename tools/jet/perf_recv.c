/* jet perf, receiving side: one event loop that runs the station's driver,
 * answers control frames, and reads data frames (at most one per
 * --reader-delay, to play a slow application while the driver keeps
 * demultiplexing and the channel's drop policy decides). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jet/crc32c.h"
#include "jet/frame.h"
#include "jet/lan.h"
#include "perf.h"
#include "util/clock.h"

enum { WIN_BITS = 1 << 20, MAX_DATA_CHANS = 1024 };

struct samples {
    uint64_t *v;
    uint64_t n, cap;
};

struct rx_state {
    uint32_t session, peer, frame, nch, flags;
    bool running, ended, finished, any;
    uint64_t sent_by_peer, probes_by_peer, max_seq, t_first, t_last, last_rx, end_at,
        linger_until, next_read, last_check;
    uint64_t cpu0, cpu; /* CPU ns at the session's start; used by it (sent in the result) */
    struct result r;
    uint64_t *bits;
    struct jet_chan *data[MAX_DATA_CHANS + 1]; /* data channels, then the probe channel */
    uint32_t nopen, rr;
    struct samples lat[8];
    uint8_t *place_buf;
    int place_fd;
};

static void sample(struct samples *s, uint64_t v)
{
    if (s->n == s->cap) {
        uint64_t nc = s->cap ? s->cap * 2 : 4096;
        uint64_t *nv = realloc(s->v, nc * sizeof *nv);
        if (!nv)
            return; /* out of memory: fewer samples, never a crash */
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n++] = v;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void seq_seen(struct rx_state *s, uint64_t seq, uint64_t now)
{
    uint64_t *b = s->bits;
    if (!s->any || seq > s->max_seq) {
        uint64_t from = s->any ? s->max_seq + 1 : 0;
        if (seq - from >= WIN_BITS)
            memset(b, 0, WIN_BITS / 8);
        else
            for (uint64_t x = from; x < seq; x++)
                b[(x % WIN_BITS) / 64] &= ~(1ull << (x % 64));
        b[(seq % WIN_BITS) / 64] |= 1ull << (seq % 64);
        if (!s->any)
            s->r.first_seq = seq;
        s->max_seq = seq;
        s->any = true;
    } else if (s->max_seq - seq >= WIN_BITS) {
        s->r.reordered++; /* too old to tell; counted once */
    } else if (b[(seq % WIN_BITS) / 64] & (1ull << (seq % 64))) {
        s->r.duplicated++;
        return;
    } else {
        b[(seq % WIN_BITS) / 64] |= 1ull << (seq % 64);
        s->r.reordered++;
    }
    if (seq < s->r.first_seq)
        s->r.first_seq = seq;
    s->r.delivered++;
    if (!s->t_first)
        s->t_first = now;
    s->t_last = now;
}

static void close_session(struct end *e, struct rx_state *s)
{
    for (uint32_t i = 0; i < s->nopen; i++) {
        /* frames still queued: count them with the policy's drops of this run */
        jet_chan_close(s->data[i]);
    }
    s->nopen = 0;
    (void)e;
}

static int open_session(struct end *e, struct rx_state *s)
{
    const struct perf_opts *o = e->o;
    /* The payload CRC is checked here, in the pass that reads the header and
     * places the body (on_data), not by the station before: the pool is
     * shared, and a frame changed after an early check would be counted as
     * good.  With --accept-bad-crc or --place file the station checks. */
    struct jet_chan_policy p = {.drop = o->policy,
                                .queue_frames = o->queue,
                                .accept_bad_crc = o->accept_bad_crc,
                                .defer_crc = !o->accept_bad_crc && o->place != PLACE_FILE};
    uint32_t n = s->nch + ((s->flags & START_LATENCY) ? 1 : 0);
    for (uint32_t i = 0; i < n; i++) {
        int rc = jet_chan_open(e->s, o->chan + 1 + i, &p, &s->data[i]);
        if (rc) {
            close_session(e, s);
            return die("%s", jet_station_error(e->s));
        }
        s->nopen++;
    }
    return 0;
}

static void send_result(struct end *e, struct rx_state *s)
{
    uint8_t msg[CTL_PAYLOAD] = {0};
    put_ph(msg, T_RESULT, s->session, 0);
    s->r.last_seq = s->max_seq;
    s->r.rx_ns = s->t_last > s->t_first ? s->t_last - s->t_first : 0;
    s->r.bytes = s->r.delivered * s->frame;
    if (!s->cpu)
        s->cpu = perf_cpu_ns() - s->cpu0;
    put64(msg + RESULT_CPU_OFF, s->cpu);
    const uint64_t *f = &s->r.delivered;
    for (int i = 0; i < RESULT_FIELDS; i++)
        put64(msg + 16 + 8 * i, f[i]);
    for (int c = 0; c < 8; c++) {
        struct samples *l = &s->lat[c];
        uint8_t *p = msg + LAT_OFF + 32 * c;
        if (!l->n)
            continue;
        qsort(l->v, l->n, sizeof *l->v, cmp_u64);
        put64(p, l->n);
        put64(p + 8, l->v[l->n / 2]);
        put64(p + 16, l->v[(l->n * 99) / 100]);
        put64(p + 24, l->v[l->n - 1]);
    }
    send_ctl(e, msg);
}

/* Sums the policy counters of the data channels into the result. */
static void collect(struct end *e, struct rx_state *s)
{
    struct jet_station_stats ss;
    jet_station_stats(e->s, &ss);
    s->r.dropped_header = ss.dropped_header;
    s->r.dropped_policy = s->r.dropped_crc = s->r.crc_bad_delivered = 0;
    for (uint32_t i = 0; i < s->nopen; i++) {
        struct jet_chan_stats cs;
        jet_chan_stats(s->data[i], &cs);
        s->r.dropped_policy += cs.dropped_policy;
        s->r.dropped_crc += cs.dropped_crc;
        s->r.crc_bad_delivered += cs.crc_bad_delivered;
    }
}

static bool queues_empty(struct rx_state *s)
{
    for (uint32_t i = 0; i < s->nopen; i++) {
        struct jet_chan_stats cs;
        jet_chan_stats(s->data[i], &cs);
        if (cs.queued)
            return false;
    }
    return true;
}

static void on_ctl(struct end *e, struct rx_state *s, const struct jet_rx *rx, uint64_t now)
{
    uint8_t p[CTL_PAYLOAD] = {0}, msg[CTL_PAYLOAD] = {0};
    if (rx->len < 48 || (rx->flags & JET_RX_CRC_BAD))
        return;
    jet_rx_read(rx, 0, p, rx->len < CTL_PAYLOAD ? rx->len : CTL_PAYLOAD);
    if (p[0] == T_START) {
        if (!s->running || s->session != ph_session(p)) {
            close_session(e, s);
            for (int c = 0; c < 8; c++)
                s->lat[c].n = 0;
            struct rx_state keep = *s;
            memset(s, 0, sizeof *s);
            s->bits = keep.bits;
            memcpy(s->lat, keep.lat, sizeof s->lat);
            s->place_buf = keep.place_buf;
            s->place_fd = keep.place_fd;
            memset(s->bits, 0, WIN_BITS / 8);
            s->session = ph_session(p);
            s->peer = rx->src_station;
            s->frame = (uint32_t)(get64(p + 32) >> 32);
            s->flags = (uint32_t)get64(p + 32) & 0xff;
            s->nch = (uint32_t)get64(p + 40);
            if (s->nch == 0 || s->nch > MAX_DATA_CHANS)
                s->nch = 1;
            if (open_session(e, s))
                return;
            s->running = true;
            s->cpu0 = perf_cpu_ns();
            s->last_rx = now;
            s->next_read = now;
        }
        e->peer = rx->src_station;
        put_ph(msg, T_START_ACK, s->session, 0);
        send_ctl(e, msg);
    } else if (p[0] == T_END && s->running && ph_session(p) == s->session) {
        if (s->finished) {
            send_result(e, s); /* our result was lost: again */
            s->linger_until = now + 300000000ull;
        } else if (!s->ended) {
            s->ended = true;
            s->sent_by_peer = get64(p + 8);
            s->probes_by_peer = get64(p + 32);
            s->end_at = now;
        }
    }
}

/* Handles one data-channel frame; the frame is released by the caller. */
/* Whether the CRC rx carries (defer_crc) matches its payload of at least PH
 * bytes: the header is copied into h and, with --place buffer, the body into
 * the buffer, in the same pass; only those copies are used afterwards. */
static bool checked_copy(struct end *e, struct rx_state *s, const struct jet_rx *rx,
                         uint8_t h[PH])
{
    uint32_t crc = jet_crc32c_copy(0, h, rx->payload, PH);
    if (e->o->place == PLACE_BUFFER)
        crc = jet_crc32c_copy(crc, s->place_buf, rx->payload + PH, rx->len - PH);
    else
        crc = jet_crc32c(crc, rx->payload + PH, rx->len - PH);
    return crc == rx->crc;
}

/* One data frame. Returns false when its payload CRC failed here (the caller
 * gives it back as damaged, counted in dropped_crc). */
static bool on_data(struct end *e, struct rx_state *s, struct jet_chan *c, struct jet_rx *rx,
                    uint64_t now)
{
    uint8_t h[PH];
    if (rx->flags & JET_RX_CRC_BAD) {
        s->r.delivered++; /* delivered, flagged: its header may be damaged too */
        return true;
    }
    bool placed = false;
    if (rx->flags & JET_RX_CRC_UNCHECKED) {
        if (rx->len < PH) /* not a perf frame: ignored, once its CRC says it is intact */
            return jet_crc32c(0, rx->payload, rx->len) == rx->crc;
        if (!checked_copy(e, s, rx, h))
            return false;
        placed = e->o->place == PLACE_BUFFER;
    } else if (jet_rx_read(rx, 0, h, PH) != 0) {
        return true;
    }
    if (ph_session(h) != s->session)
        return true;
    uint64_t seq = get64(h + 8), sent_ns = get64(h + 16);
    if (h[0] == T_PING) {
        uint8_t out[PH];
        memcpy(out, h, PH);
        out[0] = T_PONG;
        uint32_t rest = rx->len - PH;
        struct iovec iov[2] = {{out, PH}, {(void *)(rx->payload + PH), rest}};
        while (jet_chan_send(c, rx->src_station, rx->src_chan, iov, 2) == -EAGAIN && !perf_stop)
            jet_station_poll(e->s);
        s->r.delivered++;
        return true;
    }
    if ((s->flags & START_LATENCY) && sent_ns && sent_ns <= rx->arrived_ns && rx->prio < 8)
        sample(&s->lat[rx->prio], rx->arrived_ns - sent_ns);
    if (h[0] == T_PROBE) {
        s->r.probes++;
        return true;
    }
    if (h[0] != T_DATA)
        return true;
    if (e->o->place == PLACE_BUFFER && !placed) {
        jet_rx_place(rx, PH, rx->len - PH, s->place_buf);
    } else if (e->o->place == PLACE_FILE) {
        uint64_t body = rx->len - PH;
        jet_rx_place_fd(rx, PH, body, s->place_fd, (off_t)(seq * body));
    }
    seq_seen(s, seq, now);
    return true;
}

/* Reads data frames: all that wait, or one if the reader is slow and due. */
static uint32_t read_data(struct end *e, struct rx_state *s, uint64_t now)
{
    const struct perf_opts *o = e->o;
    uint32_t got = 0;
    if (o->reader_delay_ns && now < s->next_read)
        return 0;
    for (uint32_t k = 0; k < s->nopen; k++) {
        uint32_t i = (s->rr + k) % s->nopen;
        struct jet_rx rx;
        /* Take what this channel has queued now, not what keeps arriving
         * while we read: the other channels' queues must not overflow. */
        uint32_t take = jet_chan_pending(s->data[i]);
        if (!take)
            take = 1; /* one recv runs the driver */
        while (take-- && jet_chan_recv(s->data[i], &rx, 0) == 0) {
            if (on_data(e, s, s->data[i], &rx, now))
                jet_chan_release(s->data[i], &rx);
            else
                jet_chan_release_crc_bad(s->data[i], &rx);
            got++;
            if (o->reader_delay_ns) {
                s->next_read = now + o->reader_delay_ns;
                s->rr = i + 1;
                return got;
            }
        }
    }
    return got;
}

int run_server(struct end *e)
{
    const struct perf_opts *o = e->o;
    struct rx_state s = {0};
    s.place_fd = -1;
    s.bits = calloc(WIN_BITS / 64, sizeof(uint64_t));
    s.place_buf = malloc(JET_LAN_MAX_MTU + 64);
    if (!s.bits || !s.place_buf) {
        free(s.bits);
        free(s.place_buf);
        return die("out of memory");
    }
    if (o->place == PLACE_FILE) {
        s.place_fd = open(o->place_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (s.place_fd < 0) {
            free(s.bits);
            free(s.place_buf);
            return die("--place file:%s: %s", o->place_path, strerror(errno));
        }
    }
    int ret = 0;
    uint64_t idle = 0;
    struct perf_iv iv; /* -i: the receiver's interval lines, from its first frame */
    bool iv_on = false;
    uint32_t iv_session = 0;
    if (!o->json && !o->one_off)
        printf("jet perf: receiving on %s station %u channel %u\n", jet_station_link(e->s)->name,
               e->me, o->chan),
            fflush(stdout);
    uint32_t spin = 0;
    bool busy = false; /* frames came in the cheap turns since the last look */
    while (!perf_stop) {
        int n = jet_station_poll(e->s);
        /* Busy-poll cheaply: with nothing new and nothing timed to do, only
         * every 256th turn looks at the clock and the rest of the state. */
        bool quiet = n == 0 || (s.flags & START_PINGPONG);
        if (quiet && !o->reader_delay_ns && s.running && !s.ended && (++spin & 255)) {
            if (n > 0) { /* ping-pong: echo now, look at the clock later */
                read_data(e, &s, 0);
                busy = true;
            }
            continue;
        }
        uint64_t now = jet_now_ns();
        if (busy)
            s.last_rx = now, busy = false;
        struct jet_rx rx;
        /* The poll above ran the driver: take only what the control channel
         * holds, without running it again. */
        while (jet_chan_pending(e->ctl) && jet_chan_recv(e->ctl, &rx, 0) == 0) {
            on_ctl(e, &s, &rx, now);
            jet_chan_release(e->ctl, &rx);
        }
        uint32_t got = 0;
        if (s.running && !s.finished)
            got = read_data(e, &s, now);
        if (n > 0 || got) {
            s.last_rx = now, idle = 0;
        } else if (!s.running && ++idle > 1000) {
            jet_station_wait(e->s, 10000000); /* nothing going on: sleep */
        } else if (o->reader_delay_ns && s.running && now < s.next_read) {
            /* a slow reader: sleep until the next read or a frame comes */
            uint64_t d = s.next_read - now;
            jet_station_wait(e->s, (int64_t)(d < 1000000 ? d : 1000000));
        } else if (s.running && now - s.last_rx > 200000) {
            jet_station_wait(e->s, 1000000); /* idle 0.2 ms: sleep until a frame comes */
        }
        if (o->interval_ns && !o->json && s.running && !s.finished && s.t_first &&
            !(s.flags & START_PINGPONG)) {
            if (iv_on && iv_session != s.session) /* a new session replaced the last */
                perf_iv_free(&iv), iv_on = false;
            if (!iv_on)
                perf_iv_init(&iv, o, s.t_first, s.frame, false), iv_on = true;
            iv_session = s.session;
            perf_iv_tick(&iv, now, s.r.delivered);
        }
        /* The sender ended: finish when every frame is read, or nothing has
         * come for a while (the rest were lost). */
        if (s.ended && !s.finished && queues_empty(&s)) {
            collect(e, &s);
            uint64_t accounted = s.r.delivered + s.r.dropped_crc + s.r.dropped_header +
                                 s.r.dropped_policy;
            /* (data frames: the sender's END, resent every 20 ms until our
             * result reaches it, must not keep a lossy link's session open) */
            if (accounted >= s.sent_by_peer ||
                now - (s.t_last > s.end_at ? s.t_last : s.end_at) > 30000000ull) {
                s.finished = true;
                send_result(e, &s);
                s.linger_until = now + 300000000ull;
                if (iv_on) {
                    perf_iv_end(&iv, s.t_last, s.r.delivered);
                    perf_iv_free(&iv);
                    iv_on = false;
                }
                if (!o->json && !o->one_off) {
                    double secs = s.t_last > s.t_first ? (double)(s.t_last - s.t_first) / 1e9 : 0;
                    struct perf_opts ro = *o;
                    ro.frame = s.frame;
                    report(&ro, jet_station_link(e->s)->name, s.sent_by_peer, &s.r, NULL, secs,
                           NULL, 0, NULL);
                }
            }
        }
        if (s.finished && now > s.linger_until) {
            close_session(e, &s);
            if (o->one_off)
                break;
            s.running = false;
            s.finished = false;
        }
        /* Nothing from the sender for a while: is its process still there?
         * (A slow one is, and is waited for.) */
        if (s.running && !s.finished && now - s.last_rx > PERF_PEER_CHECK_NS &&
            now - s.last_check >= PERF_PEER_CHECK_NS) {
            s.last_check = now;
            if (!perf_peer_alive(e->s, s.peer)) {
                ret = perf_die_gone(e->s, s.peer, "receive", "after %llu %s",
                                    (unsigned long long)s.r.delivered,
                                    (s.flags & START_PINGPONG) ? "pings" : "frames");
                close_session(e, &s);
                s.running = false;
                if (iv_on)
                    perf_iv_free(&iv), iv_on = false;
                if (o->one_off)
                    break;
                ret = 0;
            }
        }
    }
    close_session(e, &s);
    if (iv_on)
        perf_iv_free(&iv);
    for (int c = 0; c < 8; c++)
        free(s.lat[c].v);
    free(s.bits);
    free(s.place_buf);
    if (s.place_fd >= 0)
        close(s.place_fd);
    if (perf_stop && !o->one_off)
        return 0; /* a server stopped by a signal is not a failure */
    return ret;
}
