/* jet perf, sending side: START, then data (and latency probes), then END,
 * or ping-pong round trips. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jet/frame.h"
#include "perf.h"
#include "util/clock.h"

#define RETRY_NS 20000000ull
#define GIVE_UP_NS 3000000000ull

/* Sends msg until a control answer of type `answer` for the same session comes.
 * attached: the peer answered before, so a peer whose station no process
 * holds any more is gone (-EHOSTUNREACH) rather than not there yet. */
static int exchange(struct end *e, const uint8_t *msg, uint8_t answer, uint8_t *reply,
                    bool attached)
{
    uint32_t session = ph_session(msg);
    uint64_t start = jet_now_ns(), last = 0, checked = start;
    for (;;) {
        uint64_t now = jet_now_ns();
        if (perf_stop)
            return -EINTR;
        if (attached && now - checked >= PERF_PEER_CHECK_NS) {
            checked = now;
            if (!perf_peer_alive(e->s, e->peer))
                return -EHOSTUNREACH;
        }
        if (now - start > GIVE_UP_NS)
            return -ETIMEDOUT;
        if (last == 0 || now - last > RETRY_NS) {
            int rc = send_ctl(e, msg);
            if (rc && (rc != -EHOSTUNREACH || attached))
                return rc;
            if (rc) /* no such station (yet): remember why, keep trying */
                snprintf(e->why, sizeof e->why, "%s", jet_station_error(e->s));
            else
                e->why[0] = 0;
            last = now;
        }
        struct jet_rx rx;
        while (jet_chan_recv(e->ctl, &rx, 0) == 0) {
            uint8_t h[PH];
            bool ok = !(rx.flags & JET_RX_CRC_BAD) && rx.src_station == e->peer &&
                      jet_rx_read(&rx, 0, h, PH) == 0 && h[0] == answer &&
                      ph_session(h) == session;
            if (ok) {
                memset(reply, 0, CTL_PAYLOAD);
                jet_rx_read(&rx, 0, reply, rx.len < CTL_PAYLOAD ? rx.len : CTL_PAYLOAD);
            }
            jet_chan_release(e->ctl, &rx);
            if (ok)
                return 0;
        }
        jet_station_wait(e->s, 1000000);
    }
}

/* One data or probe frame: perf header + body, copied once with the CRC. */
static int send_one(struct end *e, struct jet_chan *c, uint32_t dst_chan, uint8_t type,
                    uint32_t session, uint64_t seq, uint8_t *hdr, const uint8_t *body,
                    uint32_t body_len)
{
    put_ph(hdr, type, session, seq);
    put64(hdr + 16, e->o->latency ? jet_now_ns() : 0); /* one-way latency is measured on request */
    struct iovec iov[2] = {{hdr, PH}, {(void *)body, body_len}};
    for (uint32_t tries = 1;; tries++) {
        ssize_t rc = jet_chan_send(c, (uint16_t)e->peer, dst_chan, iov, 2);
        if (rc >= 0)
            return 0;
        if (rc != -EAGAIN)
            return (int)rc;
        if (perf_stop)
            return -EINTR;
        /* Back-pressure: let the queue drain; spin a little, then give the
         * CPU away (the receiver may need it, e.g. when both share one). */
        if (tries < 256)
            jet_station_poll(e->s);
        else
            jet_station_wait(e->s, 50000);
    }
}

int run_client(struct end *e)
{
    const struct perf_opts *o = e->o;
    uint32_t session = (uint32_t)(jet_now_ns() ^ (uint64_t)getpid() << 16) | 1;
    uint8_t msg[CTL_PAYLOAD] = {0}, reply[CTL_PAYLOAD];
    uint32_t plen = o->frame - JET_FRAME_OVERHEAD, body_len = plen - PH;
    uint32_t nch = o->channels ? o->channels : 1;
    struct jet_chan_policy dp = {.prio = o->prio, .reserve_bps = o->reserve_bps};
    struct jet_chan *data, *probe = NULL;
    int rc = jet_chan_open(e->s, o->chan + 1, &dp, &data);
    if (rc)
        return die("%s", jet_station_error(e->s));
    if (o->latency) {
        struct jet_chan_policy pp = {.prio = o->probe_prio};
        if ((rc = jet_chan_open(e->s, o->chan + nch + 1, &pp, &probe)))
            return die("%s", jet_station_error(e->s));
    }
    put_ph(msg, T_START, session, 0);
    put64(msg + 24, o->nframes);
    put64(msg + 32, (uint64_t)o->frame << 32 | (o->pingpong ? START_PINGPONG : 0) |
                        (o->latency ? START_LATENCY : 0));
    put64(msg + 40, nch);
    rc = exchange(e, msg, T_START_ACK, reply, false);
    if (rc == -ETIMEDOUT)
        return die("no perf receiver answered at station %u channel %u of %s%s%s", e->peer,
                   o->chan, jet_station_link(e->s)->name, e->why[0] ? ": " : "", e->why);
    if (rc)
        return die("start: %s", rc == -EINTR ? "interrupted" : jet_station_error(e->s));

    uint8_t *body = calloc(1, body_len + o->probe_frame + 1);
    if (!body)
        return die("out of memory");
    for (uint32_t i = 0; i < body_len; i++)
        body[i] = (uint8_t)(i * 7 + 1);
    uint8_t hdr[PH];
    uint64_t cpu0 = perf_cpu_ns(), t0 = jet_now_ns();
    struct perf_iv iv; /* -i lines and the progress line, on clock reads made anyway */
    perf_iv_init(&iv, o, t0, o->pingpong ? 1 : o->frame, true);
    uint64_t next_probe = t0 + o->probe_interval_ns, probes = 0;
    uint64_t sent = 0, nrtt = 0, lost = 0;
    uint64_t *rtt = NULL;
    int ret = 0;
    perf_iv_rtts(&iv, &rtt);

    if (o->pingpong) {
        uint64_t cap = 0;
        bool gone = false;
        for (uint64_t i = 0; i < o->nframes && !perf_stop && !gone; i++) {
            uint64_t ts = jet_now_ns();
            if (o->duration_ns && ts - t0 >= o->duration_ns)
                break;
            perf_iv_tick(&iv, ts, nrtt);
            rc = send_one(e, data, o->chan + 1, T_PING, session, i, hdr, body, body_len);
            if (rc == -EHOSTUNREACH) {
                gone = true;
                break;
            }
            if (rc) {
                ret = die("ping: %s", jet_station_error(e->s));
                break;
            }
            sent++;
            bool got = false;
            uint32_t spins = 0;
            uint64_t checked = ts;
            while (!got && !perf_stop) {
                struct jet_rx rx;
                if (jet_chan_recv(data, &rx, 0) == 0) {
                    uint8_t h[PH];
                    got = jet_rx_read(&rx, 0, h, PH) == 0 && h[0] == T_PONG &&
                          ph_session(h) == session && get64(h + 8) == i;
                    jet_chan_release(data, &rx);
                    if (got && perf_rtt_add(&rtt, &nrtt, &cap, jet_now_ns() - ts)) {
                        ret = die("out of memory for %llu round trip times",
                                  (unsigned long long)nrtt + 1);
                        goto pingpong_done;
                    }
                    continue;
                }
                if (++spins & 255)
                    continue; /* busy-poll; look at the clock now and then */
                uint64_t now = jet_now_ns();
                /* No answer for a while: is anyone there?  (A slow peer is;
                 * its pong may still come, or this ping counts as lost.) */
                if (now - checked >= PERF_PEER_CHECK_NS) {
                    checked = now;
                    if (!perf_peer_alive(e->s, e->peer)) {
                        gone = true;
                        break;
                    }
                }
                if (now - ts > 100000000ull) {
                    lost++;
                    break;
                }
            }
        }
        if (gone)
            ret = perf_die_gone(e->s, e->peer, "ping", "after %llu round trips",
                                (unsigned long long)nrtt);
    pingpong_done:;
    } else {
        for (;;) {
            if (perf_stop)
                break;
            if (o->nframes && sent >= o->nframes)
                break;
            if ((sent & 63) == 0 || o->latency) {
                uint64_t now = jet_now_ns();
                if (o->duration_ns && now - t0 >= o->duration_ns)
                    break;
                perf_iv_tick(&iv, now, sent);
                if (probe && now >= next_probe) {
                    rc = send_one(e, probe, o->chan + nch + 1, T_PROBE, session, probes, hdr, body,
                                  o->probe_frame - JET_FRAME_OVERHEAD - PH);
                    if (rc)
                        goto send_failed;
                    probes++;
                    next_probe += o->probe_interval_ns;
                    if (next_probe < now)
                        next_probe = now + o->probe_interval_ns;
                }
            }
            rc = send_one(e, data, o->chan + 1 + (uint32_t)(sent % nch), T_DATA, session, sent,
                          hdr, body, body_len);
            if (rc)
                goto send_failed;
            sent++;
            continue;
        send_failed:
            if (rc == -EHOSTUNREACH)
                ret = perf_die_gone(e->s, e->peer, "send", "after %llu frames",
                                    (unsigned long long)sent);
            else
                ret = die("send: %s", rc == -EINTR ? "interrupted" : jet_station_error(e->s));
            break;
        }
    }
    uint64_t t1 = jet_now_ns(), cpu = perf_cpu_ns() - cpu0;
    if (ret == 0)
        perf_iv_end(&iv, t1, o->pingpong ? nrtt : sent);
    else
        perf_iv_free(&iv);
    if (ret == 0 && !perf_stop) {
        put_ph(msg, T_END, session, sent);
        put64(msg + 24, t1 - t0);
        put64(msg + 32, probes);
        rc = exchange(e, msg, T_RESULT, reply, true);
        if (rc == -ETIMEDOUT)
            ret = die("the receiver at station %u did not report a result", e->peer);
        else if (rc == -EHOSTUNREACH)
            ret = perf_die_gone(e->s, e->peer, "end",
                                "after %llu frames, before it reported a result",
                                (unsigned long long)sent);
        else if (rc)
            ret = die("end: %s", rc == -EINTR ? "interrupted" : jet_station_error(e->s));
    }
    if (ret == 0 && !perf_stop) {
        struct result r;
        uint64_t *f = &r.delivered;
        for (int i = 0; i < RESULT_FIELDS; i++)
            f[i] = get64(reply + 16 + 8 * i);
        struct lat lat[8];
        for (int c = 0; c < 8; c++) {
            const uint8_t *p = reply + LAT_OFF + 32 * c;
            lat[c] = (struct lat){get64(p), get64(p + 8), get64(p + 16), get64(p + 24)};
        }
        double secs;
        if (o->pingpong) {
            perf_rtt_sort(rtt, nrtt);
            r.delivered = nrtt;
            r.bytes = nrtt * o->frame;
            secs = (double)(t1 - t0) / 1e9;
        } else {
            secs = r.rx_ns ? (double)r.rx_ns / 1e9 : (double)(t1 - t0) / 1e9;
        }
        (void)lost;
        struct perf_raw_snd x = {cpu, get64(reply + RESULT_CPU_OFF), (double)(t1 - t0) / 1e9, &iv};
        report(o, jet_station_link(e->s)->name, sent, &r, lat, secs, rtt, nrtt, &x);
    }
    perf_iv_free(&iv);
    if (perf_stop && ret == 0)
        ret = die("interrupted");
    free(rtt);
    free(body);
    return ret;
}
