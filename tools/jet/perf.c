/* jet perf --proto raw: a frame blaster and ping-pong timer over any link.
 *
 * Like iperf3: `-s` receives, `-c --to STATION` sends.  Without --link it
 * creates a private LAN, forks both ends, prints the result and cleans up.
 *
 * Wire use: data frames go to channel C (default 5201), control frames
 * (START, END and their answers) to channel C+1, so that the LAN's per-flow
 * fault draws for the data do not depend on how many control frames were
 * retried.  Each payload starts with a 16-byte perf header:
 *   type u8 | version u8 | reserved u16 | session u32 | seq/value u64
 * Control frames must arrive undamaged and are retried until answered. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "jet/frame.h"
#include "jet/lan.h"
#include "jet/link.h"
#include "util/clock.h"
#include "util/parse.h"

enum { T_START = 1, T_START_ACK, T_DATA, T_END, T_RESULT, T_PING, T_PONG };
enum { PH = 16, CTL_PAYLOAD = 128, WIN_BITS = 1 << 20 };
#define RETRY_NS 20000000ull
#define GIVE_UP_NS 3000000000ull

struct perf_opts {
    const char *link;
    int station;
    bool server, client, json, pingpong, one_off;
    uint32_t to, chan, frame;
    uint64_t nframes, duration_ns, interval_ns;
    struct jet_lan_config lan;
    bool lan_given, mtu_given;
};

/* What the receiver reports, in RESULT order. */
struct result {
    uint64_t delivered, duplicated, reordered, crc_failed, dropped_header, first_seq, last_seq,
        rx_ns, bytes;
};
#define RESULT_FIELDS 9

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}
static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}
static void put_ph(uint8_t *p, uint8_t type, uint32_t session, uint64_t seq)
{
    p[0] = type;
    p[1] = 1;
    p[2] = p[3] = 0;
    p[4] = (uint8_t)(session >> 24);
    p[5] = (uint8_t)(session >> 16);
    p[6] = (uint8_t)(session >> 8);
    p[7] = (uint8_t)session;
    put64(p + 8, seq);
}
static uint32_t ph_session(const uint8_t *p)
{
    return (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
}

struct end {
    struct jet_link *l;
    uint32_t me, peer, chan;
    const struct perf_opts *o;
};

/* Sends one frame with the given payload to (peer, chan). Waits out
 * back-pressure. 0, or a negative errno (the link's reason in l->err). */
static int send_frame(struct end *e, uint32_t chan, const uint8_t *payload, uint32_t len)
{
    struct jet_frame f;
    int rc;
    while ((rc = jet_link_tx_alloc(e->l, &f)) == -EAGAIN || rc == -ENOBUFS) {
        if (stop_flag)
            return -EINTR;
        jet_link_wait(e->l, 100000);
    }
    if (rc)
        return rc;
    struct jet_frame_hdr h = {.flags = JET_FF_CRC,
                              .src_station = (uint16_t)e->me,
                              .dst_station = (uint16_t)e->peer,
                              .dst_chan = chan,
                              .src_chan = chan,
                              .payload_len = len};
    long n = jet_frame_build(f.data, f.cap, &h, payload, len);
    if (n < 0) {
        jet_link_tx_abort(e->l, &f);
        return (int)n;
    }
    f.len = (uint32_t)n;
    f.encap = JET_ENCAP_NATIVE;
    return jet_link_tx_commit(e->l, &f);
}

/* Polls for a control frame of `type` and session on the control channel;
 * passes data-channel frames to on_data if given. Returns 1 with the payload
 * copied to out, 0 if none now. */
static int poll_ctl(struct end *e, uint8_t type, uint32_t session, uint8_t *out)
{
    struct jet_frame f[32];
    int n = jet_link_rx_burst(e->l, f, 32), got = 0;
    for (int i = 0; i < n; i++) {
        struct jet_frame_hdr h;
        if (!got && f[i].encap == JET_ENCAP_NATIVE &&
            jet_frame_parse(f[i].data, f[i].len, &h, 0) == 0 && !h.crc_bad &&
            h.dst_chan == e->chan + 1 && h.src_station == e->peer && h.payload_len >= PH) {
            const uint8_t *p = f[i].data + JET_FRAME_HDR_LEN;
            if (p[0] == type && ph_session(p) == session) {
                uint32_t cl = h.payload_len < CTL_PAYLOAD ? h.payload_len : CTL_PAYLOAD;
                memset(out, 0, CTL_PAYLOAD);
                memcpy(out, p, cl);
                got = 1;
            }
        }
    }
    if (n > 0)
        jet_link_rx_release(e->l, f, (unsigned)n);
    return got;
}

/* Sends a control message until its answer comes. 0, or -ETIMEDOUT / errno. */
static int exchange(struct end *e, const uint8_t *msg, uint8_t answer, uint8_t *reply)
{
    uint32_t session = ph_session(msg);
    uint64_t start = jet_now_ns(), last = 0;
    for (;;) {
        uint64_t now = jet_now_ns();
        if (stop_flag)
            return -EINTR;
        if (now - start > GIVE_UP_NS)
            return -ETIMEDOUT;
        if (last == 0 || now - last > RETRY_NS) {
            int rc = send_frame(e, e->chan + 1, msg, CTL_PAYLOAD);
            if (rc && rc != -EHOSTUNREACH)
                return rc;
            last = now;
        }
        if (poll_ctl(e, answer, session, reply))
            return 0;
    }
}

static void print_interval(uint32_t frame, double t0, double t1, uint64_t frames)
{
    char b[32];
    double secs = t1 - t0;
    printf("[%6.2f-%6.2f s] %10llu frames  %s  %.3f Mpps\n", t0, t1, (unsigned long long)frames,
           fmt_rate(b, sizeof b, (double)frames * frame * 8 / secs), (double)frames / secs / 1e6);
    fflush(stdout);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void report(const struct perf_opts *o, const char *link, uint64_t sent,
                   const struct result *r, uint64_t lost, double seconds, const uint64_t *rtt,
                   uint64_t nrtt)
{
    double gbps = seconds > 0 ? (double)r->bytes * 8 / seconds / 1e9 : 0;
    double mpps = seconds > 0 ? (double)r->delivered / seconds / 1e6 : 0;
    double p50 = 0, p99 = 0;
    if (nrtt) {
        p50 = (double)rtt[nrtt / 2] / 1e3;
        p99 = (double)rtt[(nrtt * 99) / 100 < nrtt ? (nrtt * 99) / 100 : nrtt - 1] / 1e3;
    }
    if (o->json) {
        struct json j;
        json_begin(&j, stdout);
        json_obj(&j, NULL);
        json_str(&j, "proto", "raw");
        json_str(&j, "link", link);
        json_u64(&j, "frame", o->frame);
        json_u64(&j, "frames_sent", sent);
        json_u64(&j, "frames_delivered", r->delivered);
        json_u64(&j, "bytes", r->bytes);
        json_dbl(&j, "seconds", seconds);
        json_dbl(&j, "gbps", gbps);
        json_dbl(&j, "mpps", mpps);
        json_u64(&j, "lost", lost);
        json_u64(&j, "duplicated", r->duplicated);
        json_u64(&j, "reordered", r->reordered);
        json_u64(&j, "crc_failed", r->crc_failed);
        json_u64(&j, "dropped_header", r->dropped_header);
        if (r->delivered) {
            json_u64(&j, "first_seq_delivered", r->first_seq);
            json_u64(&j, "last_seq_delivered", r->last_seq);
        }
        if (o->pingpong) {
            json_obj(&j, "rtt_us");
            json_dbl(&j, "p50", p50);
            json_dbl(&j, "p99", p99);
            json_dbl(&j, "min", nrtt ? (double)rtt[0] / 1e3 : 0);
            json_dbl(&j, "max", nrtt ? (double)rtt[nrtt - 1] / 1e3 : 0);
            json_end_obj(&j);
        }
        json_end_obj(&j);
        json_finish(&j);
        return;
    }
    char b[32], c[32];
    printf("- - - - - - - - - - - - - - - - - - - - - - - - -\n");
    if (o->pingpong) {
        printf("%llu round trips of %u-byte frames over %s: rtt p50 %.2f us, p99 %.2f us "
               "(%llu lost)\n",
               (unsigned long long)nrtt, o->frame, link, p50, p99, (unsigned long long)lost);
        fflush(stdout);
        return;
    }
    printf("sent %llu frames of %u bytes over %s\n", (unsigned long long)sent, o->frame, link);
    printf("delivered %llu: lost %llu, duplicated %llu, reordered %llu, crc failed %llu, "
           "header damaged %llu\n",
           (unsigned long long)r->delivered, (unsigned long long)lost,
           (unsigned long long)r->duplicated, (unsigned long long)r->reordered,
           (unsigned long long)r->crc_failed, (unsigned long long)r->dropped_header);
    printf("%s in %.3f s = %s, %.3f Mpps\n", fmt_bytes(b, sizeof b, (double)r->bytes), seconds,
           fmt_rate(c, sizeof c, gbps * 1e9), mpps);
    fflush(stdout);
}

/* ---- sender ---- */

static int run_client(struct end *e)
{
    const struct perf_opts *o = e->o;
    uint32_t session = (uint32_t)(jet_now_ns() ^ (uint64_t)getpid() << 16) | 1;
    uint8_t msg[CTL_PAYLOAD] = {0}, reply[CTL_PAYLOAD];
    uint32_t plen = o->frame - JET_FRAME_OVERHEAD;
    put_ph(msg, T_START, session, 0);
    put64(msg + 16, o->nframes);
    put64(msg + 24, (uint64_t)o->frame << 32 | (o->pingpong ? 1u : 0u));
    int rc = exchange(e, msg, T_START_ACK, reply);
    if (rc == -ETIMEDOUT)
        return die("no perf receiver answered at station %u channel %u of %s", e->peer, e->chan,
                   e->l->name);
    if (rc)
        return die("start: %s", rc == -EINTR ? "interrupted" : jet_err_str(&e->l->err, rc));

    uint8_t *payload = calloc(1, plen > PH ? plen : PH);
    if (!payload)
        return die("out of memory");
    for (uint32_t i = PH; i < plen; i++)
        payload[i] = (uint8_t)(i * 7 + 1);
    uint64_t t0 = jet_now_ns(), next_iv = t0 + o->interval_ns, iv_start = t0, iv_frames = 0;
    uint64_t sent = 0, nrtt = 0, lost = 0;
    uint64_t *rtt = NULL;
    int ret = 0;

    if (o->pingpong) {
        rtt = calloc(o->nframes ? o->nframes : 1, sizeof *rtt);
        if (!rtt) {
            free(payload);
            return die("out of memory");
        }
        for (uint64_t i = 0; i < o->nframes && !stop_flag; i++) {
            put_ph(payload, T_PING, session, i);
            uint64_t ts = jet_now_ns();
            rc = send_frame(e, e->chan, payload, plen);
            if (rc) {
                ret = die("ping: %s", jet_err_str(&e->l->err, rc));
                break;
            }
            sent++;
            bool got = false;
            uint32_t spins = 0;
            while (!got && !stop_flag) {
                struct jet_frame f[8];
                int n = jet_link_rx_burst(e->l, f, 8);
                if (n == 0 && (++spins & 255))
                    continue; /* busy-poll; look at the clock now and then */
                uint64_t now = jet_now_ns();
                for (int k = 0; k < n; k++) {
                    const uint8_t *p = f[k].data + JET_FRAME_HDR_LEN;
                    struct jet_frame_hdr h;
                    if (!got && jet_frame_parse(f[k].data, f[k].len, &h, 0) == 0 && !h.crc_bad &&
                        h.dst_chan == e->chan && h.payload_len >= PH && p[0] == T_PONG &&
                        ph_session(p) == session && get64(p + 8) == i) {
                        rtt[nrtt++] = now - ts;
                        got = true;
                    }
                }
                if (n > 0)
                    jet_link_rx_release(e->l, f, (unsigned)n);
                if (!got && now - ts > 100000000ull) {
                    lost++;
                    break;
                }
            }
        }
    } else {
        for (;;) {
            if (stop_flag)
                break;
            if (o->nframes && sent >= o->nframes)
                break;
            if ((sent & 63) == 0 && (o->duration_ns || o->interval_ns)) {
                uint64_t now = jet_now_ns();
                if (o->duration_ns && now - t0 >= o->duration_ns)
                    break;
                if (o->interval_ns && now >= next_iv && !o->json) {
                    print_interval(o->frame, (double)(iv_start - t0) / 1e9, (double)(now - t0) / 1e9,
                                   iv_frames);
                    iv_start = now;
                    iv_frames = 0;
                    next_iv = now + o->interval_ns;
                }
            }
            put_ph(payload, T_DATA, session, sent);
            rc = send_frame(e, e->chan, payload, plen);
            if (rc == -EHOSTUNREACH) {
                ret = die("receiver station %u went away after %llu frames", e->peer,
                          (unsigned long long)sent);
                break;
            }
            if (rc) {
                ret = die("send: %s", rc == -EINTR ? "interrupted" : jet_err_str(&e->l->err, rc));
                break;
            }
            sent++;
            iv_frames++;
        }
    }
    uint64_t t1 = jet_now_ns();
    if (ret == 0 && !o->pingpong && o->interval_ns && !o->json && iv_frames)
        print_interval(o->frame, (double)(iv_start - t0) / 1e9, (double)(t1 - t0) / 1e9, iv_frames);
    struct result r = {0};
    if (ret == 0 && !stop_flag) {
        put_ph(msg, T_END, session, sent);
        put64(msg + 16, t1 - t0);
        rc = exchange(e, msg, T_RESULT, reply);
        if (rc == -ETIMEDOUT)
            ret = die("the receiver at station %u did not report a result", e->peer);
        else if (rc)
            ret = die("end: %s", jet_err_str(&e->l->err, rc));
    }
    if (ret == 0 && !stop_flag) {
        uint64_t *f = &r.delivered;
        for (int i = 0; i < RESULT_FIELDS; i++)
            f[i] = get64(reply + PH + 8 * i);
        double secs;
        if (o->pingpong) {
            qsort(rtt, nrtt, sizeof *rtt, cmp_u64);
            r.delivered = nrtt;
            r.bytes = nrtt * o->frame;
            secs = (double)(t1 - t0) / 1e9;
        } else {
            uint64_t arrived = r.delivered + r.crc_failed + r.dropped_header;
            lost = sent > arrived ? sent - arrived : 0;
            secs = r.rx_ns ? (double)r.rx_ns / 1e9 : (double)(t1 - t0) / 1e9;
        }
        report(o, e->l->name, sent, &r, lost, secs, rtt, nrtt);
    }
    if (stop_flag && ret == 0)
        ret = die("interrupted");
    free(rtt);
    free(payload);
    return ret;
}

/* ---- receiver ---- */

struct rx_state {
    uint32_t session, peer, frame;
    bool running, ended, finished;
    bool pingpong;
    uint64_t sent_by_peer, max_seq, t_first, t_last, last_rx, end_at, linger_until;
    bool any;
    struct result r;
    uint64_t *bits;
};

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

static void send_result(struct end *e, struct rx_state *s)
{
    uint8_t msg[CTL_PAYLOAD] = {0};
    put_ph(msg, T_RESULT, s->session, 0);
    s->r.last_seq = s->max_seq;
    s->r.rx_ns = s->t_last > s->t_first ? s->t_last - s->t_first : 0;
    s->r.bytes = s->r.delivered * s->frame;
    const uint64_t *f = &s->r.delivered;
    for (int i = 0; i < RESULT_FIELDS; i++)
        put64(msg + PH + 8 * i, f[i]);
    send_frame(e, e->chan + 1, msg, CTL_PAYLOAD);
}

static void on_ctl(struct end *e, struct rx_state *s, const struct jet_frame_hdr *h,
                   const uint8_t *p, uint64_t now)
{
    uint8_t msg[CTL_PAYLOAD] = {0};
    if (h->payload_len < 32)
        return;
    if (p[0] == T_START) {
        if (!s->running || s->session != ph_session(p)) {
            uint64_t *bits = s->bits;
            memset(s, 0, sizeof *s);
            s->bits = bits;
            memset(bits, 0, WIN_BITS / 8);
            s->session = ph_session(p);
            s->peer = h->src_station;
            s->running = true;
            s->pingpong = get64(p + 24) & 1;
            s->frame = (uint32_t)(get64(p + 24) >> 32);
            s->last_rx = now;
        }
        e->peer = h->src_station;
        put_ph(msg, T_START_ACK, s->session, 0);
        send_frame(e, e->chan + 1, msg, CTL_PAYLOAD);
    } else if (p[0] == T_END && s->running && ph_session(p) == s->session) {
        if (s->finished) {
            send_result(e, s); /* our result was lost: again */
            s->linger_until = now + 300000000ull;
        } else if (!s->ended) {
            s->ended = true;
            s->sent_by_peer = get64(p + 8);
            s->end_at = now;
        }
    }
}

static int run_server(struct end *e)
{
    const struct perf_opts *o = e->o;
    struct rx_state s = {0};
    s.bits = calloc(WIN_BITS / 64, sizeof(uint64_t));
    if (!s.bits)
        return die("out of memory");
    int ret = 0;
    uint64_t idle = 0, iv_start = 0, iv_frames = 0, iv_t0 = 0;
    if (!o->json && !o->one_off)
        printf("jet perf: receiving on %s station %u channel %u\n", e->l->name, e->me, e->chan),
            fflush(stdout);
    while (!stop_flag) {
        struct jet_frame f[32];
        int n = jet_link_rx_burst(e->l, f, 32);
        /* The clock is read once per burst while data flows (for the receive
         * interval), rarely when idle, and not at all for ping-pong echoes. */
        bool clock = (n > 0 && !s.pingpong) || (++idle & 1023) == 0 || s.ended || s.finished ||
                     !s.running;
        uint64_t now = clock ? jet_now_ns() : 0;
        for (int i = 0; i < n; i++) {
            struct jet_frame_hdr h;
            if (f[i].encap != JET_ENCAP_NATIVE)
                continue;
            int rc = jet_frame_parse(f[i].data, f[i].len, &h, 0);
            if (rc) {
                if (s.running && !s.finished)
                    s.r.dropped_header++;
                continue;
            }
            const uint8_t *p = f[i].data + JET_FRAME_HDR_LEN;
            if (h.dst_chan == e->chan + 1) {
                if (!h.crc_bad && h.payload_len >= PH)
                    on_ctl(e, &s, &h, p, now ? now : (now = jet_now_ns()));
                continue;
            }
            if (h.dst_chan != e->chan || !s.running || s.finished || h.src_station != s.peer)
                continue;
            if (h.crc_bad) {
                s.r.crc_failed++;
                continue;
            }
            if (h.payload_len < PH || ph_session(p) != s.session)
                continue;
            if (p[0] == T_PING) {
                /* Echo in place: the payload (and its CRC) stay, the header turns round. */
                struct jet_frame_hdr r = h;
                r.src_station = h.dst_station;
                r.dst_station = h.src_station;
                r.src_chan = h.dst_chan;
                r.dst_chan = h.src_chan;
                uint8_t *q = f[i].data + JET_FRAME_HDR_LEN;
                q[0] = T_PONG;
                /* the type byte changed: reseal recomputes the payload CRC */
                if (jet_frame_seal(f[i].data, f[i].cap, &r) > 0) {
                    s.r.delivered++;
                    jet_link_tx_commit(e->l, &f[i]);
                    f[i].buf = UINT32_MAX; /* consumed */
                }
                continue;
            }
            if (p[0] == T_DATA) {
                seq_seen(&s, get64(p + 8), now);
                iv_frames++;
            }
        }
        /* give back what was not transmitted */
        int k = 0;
        for (int i = 0; i < n; i++)
            if (f[i].buf != UINT32_MAX)
                f[k++] = f[i];
        if (k)
            jet_link_rx_release(e->l, f, (unsigned)k);
        if (!now)
            continue;
        if (n > 0)
            s.last_rx = now;
        if (o->interval_ns && !o->json && !o->one_off && s.running && !s.finished && s.t_first) {
            if (!iv_t0)
                iv_t0 = iv_start = s.t_first;
            if (now - iv_start >= o->interval_ns) {
                print_interval(s.frame, (double)(iv_start - iv_t0) / 1e9, (double)(now - iv_t0) / 1e9,
                               iv_frames);
                iv_start = now;
                iv_frames = 0;
            }
        }
        if (s.ended && !s.finished &&
            (s.r.delivered >= s.sent_by_peer ||
             now - (s.t_last > s.end_at ? s.t_last : s.end_at) > 30000000ull)) {
            s.finished = true;
            send_result(e, &s);
            s.linger_until = now + 300000000ull;
            if (!o->json && !o->one_off) {
                uint64_t arrived = s.r.delivered + s.r.crc_failed + s.r.dropped_header;
                uint64_t lost = s.sent_by_peer > arrived ? s.sent_by_peer - arrived : 0;
                double secs = s.t_last > s.t_first ? (double)(s.t_last - s.t_first) / 1e9 : 0;
                struct result r = s.r;
                struct perf_opts ro = *o;
                ro.frame = s.frame;
                report(&ro, e->l->name, s.sent_by_peer, &r, lost, secs, NULL, 0);
            }
        }
        if (s.finished && now > s.linger_until) {
            if (o->one_off)
                break;
            s.running = false;
            s.finished = false;
            iv_t0 = 0;
        }
        if (s.running && !s.finished && now - s.last_rx > 500000000ull) {
            s.last_rx = now;
            if (!jet_lan_station_alive(e->l, s.peer)) {
                ret = die("sender station %u went away after %llu frames", s.peer,
                          (unsigned long long)s.r.delivered);
                if (o->one_off)
                    break;
                s.running = false;
                ret = 0;
            }
        }
    }
    free(s.bits);
    if (stop_flag && !o->one_off)
        return 0; /* a server stopped by a signal is not a failure */
    return ret;
}

/* ---- command line ---- */

static void perf_help(FILE *f)
{
    fprintf(f,
            "usage: jet perf --proto raw [-s | -c --to STATION] [--link lan:NAME [--station K]] [OPTIONS]\n\n"
            "Measures frame throughput or round-trip time, like iperf3.  With --link, this process\n"
            "is one end (-s receives, -c sends); without it, jet creates a private LAN, runs both\n"
            "ends, prints the result and removes the LAN.\n\n"
            "  --proto raw        raw Jetstream frames (the only protocol so far)\n"
            "  -s, --server       receive (serves sessions until interrupted; -1 for one)\n"
            "  -c, --client       send\n"
            "  --to STATION       the receiver's station (with -c)\n"
            "  --link LINK        lan:NAME (see jet lan --help)\n"
            "  --station K        take station K (default: the first free one)\n"
            "  --chan C           data channel (default 5201; control uses C+1)\n"
            "  --frame BYTES      whole frame size, header and CRC included (default 9000, min 44)\n"
            "  -n FRAMES          send this many frames (or round trips with --pingpong)\n"
            "  -t SECONDS         send for this long (default 3 s when -n is not given)\n"
            "  -i SECONDS         print an interval line this often\n"
            "  --pingpong         measure round-trip time, one frame at a time\n"
            "  --json             print one JSON object with the result\n"
            "  -1, --one-off      receiver: serve one session, then exit\n\n"
            "private LAN options (no --link):\n%s",
            lan_options_help);
}

static int parse_args(int argc, char **argv, struct perf_opts *o)
{
    memset(o, 0, sizeof *o);
    o->station = -1;
    o->chan = 5201;
    o->frame = 9000;
    o->to = UINT32_MAX;
    jet_lan_config_default(&o->lan);
    const char *proto = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t u;
        double d;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            perf_help(stdout);
            exit(0);
        } else if (!strcmp(a, "-s") || !strcmp(a, "--server")) {
            o->server = true;
        } else if (!strcmp(a, "-c") || !strcmp(a, "--client")) {
            o->client = true;
        } else if (!strcmp(a, "-1") || !strcmp(a, "--one-off")) {
            o->one_off = true;
        } else if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--pingpong")) {
            o->pingpong = true;
        } else if (!v && a[0] == '-') {
            return usage_error("perf", "%s: unknown option or missing value", a);
        } else if (!strcmp(a, "--proto")) {
            proto = v, i++;
        } else if (!strcmp(a, "--link")) {
            o->link = v, i++;
        } else if (!strcmp(a, "--station")) {
            if (jet_parse_u64(v, &u) || u >= JET_LAN_MAX_STATIONS)
                return usage_error("perf", "bad --station '%s'", v);
            o->station = (int)u, i++;
        } else if (!strcmp(a, "--to")) {
            if (jet_parse_u64(v, &u) || u >= JET_LAN_MAX_STATIONS)
                return usage_error("perf", "bad --to '%s'", v);
            o->to = (uint32_t)u, i++;
        } else if (!strcmp(a, "--chan")) {
            if (jet_parse_u64(v, &u) || u == 0 || u >= UINT32_MAX)
                return usage_error("perf", "bad --chan '%s' (channel 0 is reserved)", v);
            o->chan = (uint32_t)u, i++;
        } else if (!strcmp(a, "--frame") || !strcmp(a, "-l")) {
            if (jet_parse_size(v, &u) || u < JET_FRAME_OVERHEAD + PH ||
                u > JET_LAN_MAX_MTU + JET_FRAME_OVERHEAD)
                return usage_error("perf", "--frame must be %d to %d bytes", JET_FRAME_OVERHEAD + PH,
                                   JET_LAN_MAX_MTU + JET_FRAME_OVERHEAD);
            o->frame = (uint32_t)u, i++;
        } else if (!strcmp(a, "-n")) {
            if (jet_parse_size(v, &u) || u == 0)
                return usage_error("perf", "bad -n '%s'", v);
            o->nframes = u, i++;
        } else if (!strcmp(a, "-t")) {
            if (jet_parse_duration(v, &u) || u == 0)
                return usage_error("perf", "bad -t '%s'", v);
            o->duration_ns = u, i++;
        } else if (!strcmp(a, "-i")) {
            if (jet_parse_duration(v, &u))
                return usage_error("perf", "bad -i '%s'", v);
            o->interval_ns = u, i++;
        } else {
            int r = lan_option("perf", a, v, &o->lan);
            if (r < 0)
                return 2;
            if (r == 0)
                return usage_error("perf", "unknown option '%s'", a);
            o->lan_given = true;
            if (!strcmp(a, "--mtu"))
                o->mtu_given = true;
            i++;
        }
        (void)d;
    }
    if (!proto || strcmp(proto, "raw"))
        return usage_error("perf", proto ? "protocol '%s' is not available (use --proto raw)"
                                         : "say which protocol: --proto raw%s",
                           proto ? proto : "");
    if (o->server && o->client)
        return usage_error("perf", "-s and -c exclude each other");
    if (o->link && !o->server && !o->client)
        return usage_error("perf", "with --link, say -s (receive) or -c (send)");
    if (!o->link && (o->server || o->client))
        return usage_error("perf", "-s and -c need --link lan:NAME");
    if (o->client && o->to == UINT32_MAX)
        return usage_error("perf", "-c needs --to STATION");
    if (o->link && o->lan_given)
        return usage_error("perf", "LAN options apply to the private LAN only; set them with "
                                   "jet lan create");
    if (o->pingpong && !o->nframes)
        o->nframes = o->duration_ns ? UINT64_MAX : 10000;
    if (o->pingpong && o->nframes > 100000000)
        return usage_error("perf", "--pingpong needs -n (at most 100000000)");
    if (!o->nframes && !o->duration_ns)
        o->duration_ns = 3000000000ull;
    return 0;
}

static int run_end(const struct perf_opts *o, const char *link, int station, bool server,
                   uint32_t peer)
{
    struct jet_err err = {0};
    struct jet_link *l;
    struct jet_link_opts lo = {.station = station};
    int rc = jet_link_open(link, &lo, &l, &err);
    if (rc)
        return die("%s", jet_err_str(&err, rc));
    if (!server && o->frame - JET_FRAME_OVERHEAD > l->caps.mtu) {
        jet_link_close(l);
        return die("--frame %u needs a payload of %u bytes; %s carries at most %u", o->frame,
                   o->frame - JET_FRAME_OVERHEAD, link, l->caps.mtu);
    }
    struct end e = {.l = l, .me = jet_lan_station(l), .peer = peer, .chan = o->chan, .o = o};
    rc = server ? run_server(&e) : run_client(&e);
    jet_link_close(l);
    return rc;
}

static pid_t children[2];
static void forward_signal(int sig)
{
    for (int i = 0; i < 2; i++)
        if (children[i] > 0)
            kill(children[i], sig);
}

int cmd_perf(int argc, char **argv)
{
    struct perf_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (o.link)
        return run_end(&o, o.link, o.station, o.server, o.to);

    /* Private LAN: create, fork a receiver (station 1) and a sender (station 0). */
    char name[64], link[80];
    snprintf(name, sizeof name, "perf-%d", (int)getpid());
    snprintf(link, sizeof link, "lan:%s", name);
    o.lan.stations = o.lan.stations < 2 ? 2 : o.lan.stations;
    uint32_t need = o.frame - JET_FRAME_OVERHEAD;
    if (!o.mtu_given)
        o.lan.mtu = need < CTL_PAYLOAD ? CTL_PAYLOAD : need;
    else if (o.lan.mtu < need)
        return usage_error("perf", "--frame %u does not fit --mtu %u", o.frame, o.lan.mtu);
    struct jet_err err = {0};
    rc = jet_lan_create(name, &o.lan, &err);
    if (rc)
        return die("%s", jet_err_str(&err, rc));
    if (!o.json)
        printf("jet perf: private LAN %s, %s, %u-byte frames\n", link,
               o.pingpong ? "ping-pong" : "one sender, one receiver", o.frame),
            fflush(stdout);
    fflush(stdout);
    struct perf_opts ro = o;
    ro.one_off = true;
    ro.interval_ns = 0;
    children[0] = fork();
    if (children[0] == 0)
        _exit(run_end(&ro, link, 1, true, 0));
    children[1] = fork();
    if (children[1] == 0)
        _exit(run_end(&o, link, 0, false, 1));
    struct sigaction fw = {.sa_handler = forward_signal};
    sigaction(SIGINT, &fw, NULL);
    sigaction(SIGTERM, &fw, NULL);
    int st, ret = 0;
    /* The sender decides; the receiver follows within a few seconds or is stopped. */
    waitpid(children[1], &st, 0);
    ret = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
    children[1] = 0;
    uint64_t until = jet_now_ns() + 4000000000ull;
    int rst = 0;
    for (;;) {
        pid_t p = waitpid(children[0], &rst, WNOHANG);
        if (p == children[0])
            break;
        if (jet_now_ns() > until) {
            kill(children[0], SIGKILL);
            waitpid(children[0], &rst, 0);
            break;
        }
        usleep(10000);
    }
    if (ret == 0 && !(WIFEXITED(rst) && WEXITSTATUS(rst) == 0))
        ret = 1;
    jet_lan_destroy(name, true, NULL);
    return ret;
}
