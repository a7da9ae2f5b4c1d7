/* RBS send side on the transport engine (src/xport/xp_snd.h): the application's send
 * calls, ACK intake (the header's fields unwrapped and handed to the engine), the
 * retransmission timer's RBS part (retry limit, the SYN) and segment output.
 *
 * Order of work
 *   application:  rbs_send / rbs_send_ref append to the engine's queue.
 *   on an ACK:    rbs_on_ack (from rbs_input): window scaled, SACK blocks unwrapped
 *                 against snd.una, RTT sample from the echoed timestamp, then
 *                 xp_snd_on_ack does the rest (scoreboard, recovery, cwnd, timers).
 *   on RTO:       rbs_on_rto: count, give up after max_retries (syn_retries in
 *                 SYN_SENT), else xp_snd_rto (back off, RTO recovery) or the SYN again.
 *   output:       rbs_emit picks, in order: RST, SYN / SYN-ACK, the engine's next data
 *                 segment (retransmission, tail loss probe, new data / FIN), a persist
 *                 or keepalive probe, a pure ACK; and writes the RBS header. */
#include <errno.h>
#include <string.h>

#include "rbs/rbs_impl.h"

uint64_t rbs_send_pending(const struct rbs_conn *c)
{
    return xp_snd_pending(&c->snd);
}

static int send_check(const struct rbs_conn *c)
{
    if (c->err)
        return c->err;
    if (!c->opened)
        return -ENOTCONN;
    if (c->snd.fin_queued || c->state == RBS_CLOSED)
        return -EPIPE;
    return 0;
}

ssize_t rbs_send(struct rbs_conn *c, const void *buf, size_t len)
{
    int rc = send_check(c);
    if (rc)
        return rc;
    size_t done = xp_snd_copy(&c->snd, buf, len);
    return done || !len ? (ssize_t)done : -EAGAIN;
}

int rbs_send_ref(struct rbs_conn *c, const void *buf, size_t len, uint64_t cookie)
{
    int rc = send_check(c);
    if (rc)
        return rc;
    if (!buf && len)
        return -EINVAL;
    return xp_snd_ref(&c->snd, buf, len, cookie);
}

int rbs_completed(struct rbs_conn *c, uint64_t *cookies, int max)
{
    return xp_snd_completed(&c->snd, cookies, max);
}

/* ---- RTT (docs/rbs.md 6.1: samples from echoed timestamps, so retransmitted
 * segments give valid samples and Karn's rule is not needed) ---- */

/* The sample an echoed TSval gives now, UINT64_MAX if none (from the future, or absurd). */
static uint64_t ts_sample(uint32_t tsecr, uint64_t now)
{
    uint32_t d = us32(now) - tsecr;
    if (d > 60u * 1000 * 1000)
        return UINT64_MAX;
    return (uint64_t)d * 1000;
}

void rbs_rtt_sample(struct rbs_conn *c, uint32_t tsecr, uint64_t now)
{
    uint64_t r = ts_sample(tsecr, now);
    if (r != UINT64_MAX)
        xp_rtt_sample(&c->snd.rtt, r);
}

void rbs_on_ack(struct rbs_conn *c, const struct rbs_hdr *h, uint64_t ack, uint64_t segR,
                size_t plen, uint64_t now)
{
    int64_t sack[RBS_MAX_SACK][2];
    unsigned n = h->nsack;
    for (unsigned i = 0; i < n; i++) {
        sack[i][0] = rbs_unwrap(c->snd.una, c->iss, h->sack[i].start);
        sack[i][1] = rbs_unwrap(c->snd.una, c->iss, h->sack[i].end);
    }
    uint64_t rtt = ack > c->snd.una ? ts_sample(h->tsecr, now) : UINT64_MAX;
    xp_snd_on_ack(&c->snd, ack, (uint64_t)h->wnd << c->snd_ws, segR,
                  (const int64_t(*)[2])sack, n, plen == 0 && !(h->flags & RBS_FIN), rtt, now);
}

void rbs_on_rto(struct rbs_conn *c, uint64_t now)
{
    c->st.timeouts++;
    c->snd.backoff++;
    if (c->snd.backoff > (c->state == RBS_SYN_SENT ? c->cfg.syn_retries : c->cfg.max_retries)) {
        rbs_fail(c, -ETIMEDOUT, true);
        return;
    }
    if (c->snd.una == 0)
        c->syn_due = true; /* SYN or SYN-ACK lost */
    xp_snd_rto(&c->snd, now);
}

/* ---- output ---- */

/* Writes the header of a segment at S with dlen payload bytes (already pointed at by
 * the caller's iovec) and does the bookkeeping of sending it. */
static int build(struct rbs_conn *c, uint64_t now, uint8_t flags, uint64_t S, size_t dlen,
                 bool fin, uint8_t *hdr, size_t hcap)
{
    struct rbs_hdr h;
    memset(&h, 0, sizeof h);
    uint64_t adv = xp_rcv_adv_wnd(&c->rcv);
    h.flags = (uint8_t)(flags | (fin ? RBS_FIN : 0));
    h.seq = xp_seq_wire(c->iss, S);
    h.ack = flags & RBS_ACK ? xp_seq_wire(c->irs, c->rcv.nxt) : 0;
    h.wnd = (uint16_t)(adv >> c->rcv_ws);
    h.tsval = us32(now);
    h.tsecr = c->ts_recent;
    if (flags & RBS_SYN) {
        h.opts = RBS_HAS_MSS | RBS_HAS_WSCALE | RBS_HAS_CHAN;
        h.mss = c->cfg.mss;
        h.wscale = c->rcv_ws;
        h.chan = c->cfg.local_chan;
    } else if ((flags & RBS_ACK) && !(flags & RBS_RST)) {
        h.nsack = (uint8_t)rbs_rcv_sack(c, h.sack);
    }
    int hl = rbs_hdr_emit(hdr, hcap, &h);
    if (hl < 0)
        return hl;
    if ((flags & RBS_ACK) && !(flags & RBS_RST))
        xp_rcv_acked(&c->rcv, adv);
    if (flags & RBS_RST)
        c->st.rst_out++;
    c->st.segs_out++;
    c->st.bytes_out += dlen;
    return hl + (int)dlen;
}

int rbs_emit(struct rbs_conn *c, uint64_t now, uint8_t *hdr, size_t hcap, size_t maxpayload,
             struct iovec *iov, int iovmax, int *niov)
{
    *niov = 0;
    if (hcap < RBS_HDR_MAX || iovmax < 1)
        return -ENOSPC;
    if (c->rst_due) {
        c->rst_due = false;
        struct rbs_hdr h;
        memset(&h, 0, sizeof h);
        h.flags = c->rst_flags;
        h.seq = c->rst_seq;
        h.ack = c->rst_ack;
        h.tsval = us32(now);
        h.tsecr = c->ts_recent;
        int hl = rbs_hdr_emit(hdr, hcap, &h);
        if (hl > 0) {
            c->st.rst_out++;
            c->st.segs_out++;
        }
        return hl;
    }
    if (c->state == RBS_CLOSED)
        return 0;
    if (c->state == RBS_SYN_SENT || c->state == RBS_SYN_RCVD) {
        if (!c->syn_due)
            return 0;
        c->syn_due = false;
        if (c->snd.nxt == 0)
            c->snd.nxt = 1;
        else
            c->st.retransmits++;
        if (!c->snd.rtx_at)
            c->snd.rtx_at = now + c->snd.rtt.rto;
        c->syn_tsval = us32(now);
        return build(c, now, c->state == RBS_SYN_SENT ? RBS_SYN : RBS_SYN | RBS_ACK, 0, 0, false,
                     hdr, hcap);
    }

    uint64_t mss = xp_min64(c->snd.mss, maxpayload);
    if (!mss)
        return -ENOSPC;
    struct xp_seg seg;
    if (xp_snd_next(&c->snd, now, mss, iov, iovmax, niov, &seg))
        return build(c, now, RBS_ACK, seg.pos, seg.dlen, seg.fin, hdr, hcap);
    if (c->probe_due) {
        c->probe_due = false;
        return build(c, now, RBS_ACK, c->snd.una - 1, 0, false, hdr, hcap);
    }
    if (c->rcv.ack_now)
        return build(c, now, RBS_ACK, c->snd.nxt, 0, false, hdr, hcap);
    return 0;
}

void rbs_fail(struct rbs_conn *c, int err, bool send_rst)
{
    if (send_rst && c->state != RBS_CLOSED && c->state != RBS_SYN_SENT &&
        c->state != RBS_TIME_WAIT) {
        c->rst_due = true;
        c->rst_flags = RBS_RST | RBS_ACK;
        c->rst_seq = xp_seq_wire(c->iss, c->snd.nxt);
        c->rst_ack = xp_seq_wire(c->irs, c->rcv.nxt);
    }
    c->err = err;
    c->state = RBS_CLOSED;
    xp_snd_stop(&c->snd);
    c->persist_at = c->rcv.ack_at = c->tw_at = 0;
    c->probe_due = c->syn_due = c->rcv.ack_now = false;
}
