/* RBS core: lifetime, opening, the per-state input dispatch, timers, close and abort.
 *
 * rbs_input / rbs_input_crc run, for one segment: copy the header out of the segment
 * (the only read of it: the segment may sit in a pool another process writes) -> parse
 * the copy (malformed: count by reason, return its errno) -> stage the payload
 * (rbs_rcv_stage: new bytes copied to their place, and for rbs_input_crc the CRC of the
 * header copy and of the payload computed in the same pass; a mismatch drops the
 * segment here, before anything acted on it) -> by state:
 *   CLOSED     reply RST unless it is one.
 *   SYN_SENT   only a SYN-ACK acknowledging our SYN opens; a wrong ACK gets an RST.
 *   otherwise  sequence check (not acceptable: ACK it and drop, RSTs silently) ->
 *              RST (exact: reset; in window: challenge ACK) -> SYN (retransmitted SYN
 *              in SYN_RCVD: SYN-ACK again; else challenge ACK) -> timestamp echo ->
 *              ACK (beyond snd_nxt: ACK and drop; SYN_RCVD -> ESTABLISHED; then
 *              rbs_on_ack) -> our FIN acknowledged? -> data and FIN (rbs_rcv_data).
 * Timers (rbs_on_timeout): TIME_WAIT end, retransmission, tail loss probe, persist,
 * delayed ACK, keepalive.  Each is an absolute time, 0 when off; rbs_next_timeout is their minimum. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jet/crc32c.h"
#include "rbs/rbs_impl.h"

void rbs_rtt_sample(struct rbs_conn *c, uint32_t tsecr, uint64_t now);

static void set_defaults(struct rbs_cfg *k)
{
    if (!k->mss)
        k->mss = 1400;
    if (!k->rcvbuf_bytes)
        k->rcvbuf_bytes = 256 * 1024;
    if (!k->sndbuf_bytes)
        k->sndbuf_bytes = 256 * 1024;
    if (!k->max_refs)
        k->max_refs = 256;
    if (!k->rto_min_ns)
        k->rto_min_ns = 2000000;
    if (!k->rto_max_ns)
        k->rto_max_ns = 1000000000;
    if (!k->rto_init_ns)
        k->rto_init_ns = 20000000;
    if (!k->ack_delay_ns)
        k->ack_delay_ns = 200000;
    if (!k->keepalive_ns)
        k->keepalive_ns = 2000000000;
    if (!k->keepalive_intvl_ns)
        k->keepalive_intvl_ns = 500000000;
    if (!k->keepalive_probes)
        k->keepalive_probes = 4;
    if (!k->max_retries)
        k->max_retries = 12;
    if (!k->syn_retries)
        k->syn_retries = k->max_retries;
    if (!k->time_wait_ns)
        k->time_wait_ns = 2 * k->rto_max_ns;
    if (!k->init_cwnd_segs)
        k->init_cwnd_segs = 10;
}

int rbs_create(const struct rbs_cfg *cfg, struct rbs_conn **out)
{
    struct rbs_cfg k;
    *out = NULL;
    if (cfg)
        k = *cfg;
    else
        memset(&k, 0, sizeof k);
    set_defaults(&k);
    if (k.mss < RBS_MSS_MIN || k.mss > RBS_MSS_MAX || k.rto_min_ns > k.rto_max_ns ||
        k.rto_init_ns > k.rto_max_ns || k.max_refs > (1u << 24) || k.init_cwnd_segs > 1000)
        return -EINVAL;

    struct rbs_conn *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->cfg = k;
    c->ch_cap = 2 * k.max_refs + 16;
    c->ch = calloc(c->ch_cap, sizeof *c->ch);
    c->ck = calloc(k.max_refs, sizeof *c->ck);
    c->sring = malloc(k.sndbuf_bytes);
    if (!k.rcvbuf_external)
        c->rbuf_own = malloc(k.rcvbuf_bytes);
    if (!c->ch || !c->ck || !c->sring || (!k.rcvbuf_external && !c->rbuf_own)) {
        rbs_destroy(c);
        return -ENOMEM;
    }
    c->sr_cap = k.sndbuf_bytes;
    c->rbuf = c->rbuf_own;
    c->rb_cap = c->rbuf ? k.rcvbuf_bytes : 0;
    while (c->rcv_ws < RBS_WSCALE_MAX && ((uint64_t)k.rcvbuf_bytes >> c->rcv_ws) > 0xFFFF)
        c->rcv_ws++;
    c->iss = k.isn;
    c->mss = k.mss;
    c->rcv_fin = UINT64_MAX;
    c->rto = k.rto_init_ns;
    c->cwnd = (uint64_t)k.init_cwnd_segs * k.mss;
    c->ssthresh = UINT64_MAX / 4;
    *out = c;
    return 0;
}

void rbs_destroy(struct rbs_conn *c)
{
    if (!c)
        return;
    free(c->ch);
    free(c->ck);
    free(c->sring);
    free(c->rbuf_own);
    free(c->stage);
    free(c);
}

void rbs_enter(struct rbs_conn *c, enum rbs_state s, uint64_t now)
{
    if (s == RBS_ESTABLISHED && c->fin_queued)
        s = RBS_FIN_WAIT_1;
    c->state = s;
    if (s == RBS_TIME_WAIT) {
        c->tw_at = now + c->cfg.time_wait_ns;
        c->rtx_at = c->persist_at = 0;
    }
    if (s == RBS_CLOSED)
        c->rtx_at = c->persist_at = c->ack_at = c->tw_at = c->tlp_at = 0;
}

/* Learn the peer from its SYN or SYN-ACK. */
static void take_syn(struct rbs_conn *c, const struct rbs_hdr *h, uint64_t now)
{
    c->irs = h->seq;
    c->rcv_nxt = 1;
    c->last_ack_sent = 1;
    c->ts_recent = h->tsval;
    c->peer_chan = h->chan;
    c->snd_ws = h->wscale;
    if (h->mss < c->mss)
        c->mss = h->mss;
    c->cwnd = (uint64_t)c->cfg.init_cwnd_segs * c->mss;
    uint64_t wnd = (uint64_t)h->wnd << c->snd_ws;
    c->snd_wnd_edge = 1 + wnd;
    c->max_snd_wnd = wnd;
    c->snd_wl1 = 0;
    c->snd_wl2 = h->flags & RBS_ACK ? 1 : 0;
    c->last_rx = now;
}

int rbs_connect(struct rbs_conn *c, uint64_t now)
{
    if (c->opened)
        return -EISCONN;
    if (!c->cfg.local_chan || (!c->rbuf && !c->sink))
        return -EINVAL;
    c->opened = true;
    c->state = RBS_SYN_SENT;
    c->syn_due = true;
    c->last_rx = now;
    return 0;
}

int rbs_listen_accept(struct rbs_conn *c, const uint8_t *syn, size_t len, uint64_t now)
{
    struct rbs_hdr h;
    if (c->opened)
        return -EISCONN;
    if (!c->cfg.local_chan || (!c->rbuf && !c->sink))
        return -EINVAL;
    int hl = rbs_hdr_parse(syn, len, &h);
    if (hl < 0) {
        c->st.bad[rbs_bad_reason(hl)]++;
        return hl;
    }
    if (h.flags != RBS_SYN) {
        c->st.unexpected++;
        return -EPROTO;
    }
    c->st.segs_in++;
    c->opened = true;
    take_syn(c, &h, now);
    c->state = RBS_SYN_RCVD;
    c->syn_due = true;
    return 0;
}

uint32_t rbs_peer_chan(const struct rbs_conn *c)
{
    return c->peer_chan;
}

/* RFC 793 reset generation for a segment that belongs to no connection state. */
static void reply_rst(struct rbs_conn *c, const struct rbs_hdr *h, size_t plen)
{
    c->rst_due = true;
    if (h->flags & RBS_ACK) {
        c->rst_flags = RBS_RST;
        c->rst_seq = h->ack;
        c->rst_ack = 0;
    } else {
        c->rst_flags = RBS_RST | RBS_ACK;
        c->rst_seq = 0;
        c->rst_ack = h->seq + (uint32_t)plen + !!(h->flags & (RBS_SYN | RBS_FIN));
    }
}

static void input_syn_sent(struct rbs_conn *c, const struct rbs_hdr *h, size_t plen,
                           uint64_t now)
{
    if ((h->flags & RBS_ACK) && h->ack != c->iss + 1) {
        if (!(h->flags & RBS_RST))
            reply_rst(c, h, plen);
        c->st.unexpected++;
        return;
    }
    if (h->flags & RBS_RST) {
        if (h->flags & RBS_ACK) {
            c->st.rst_in++;
            rbs_fail(c, -ECONNREFUSED, false);
        } else {
            c->st.unexpected++;
        }
        return;
    }
    if ((h->flags & (RBS_SYN | RBS_ACK)) != (RBS_SYN | RBS_ACK)) {
        c->st.unexpected++; /* no simultaneous open; a bare ACK means nothing yet */
        return;
    }
    take_syn(c, h, now);
    c->snd_una = 1;
    c->backoff = 0;
    c->rtx_at = 0;
    /* Only a SYN-ACK echoing our latest SYN measures the path: one echoing an earlier
     * SYN may have waited for the listener's own retransmission timer. */
    if (h->tsecr == c->syn_tsval)
        rbs_rtt_sample(c, h->tsecr, now);
    rbs_enter(c, RBS_ESTABLISHED, now);
    c->ack_now = true;
}

static void input_synced(struct rbs_conn *c, const struct rbs_hdr *h, const struct rbs_stage *sg,
                         size_t plen, uint64_t now)
{
    bool fin = h->flags & RBS_FIN;
    int64_t sr = (int64_t)sg->r;
    int64_t nxt = (int64_t)c->rcv_nxt, edge = (int64_t)rbs_rcv_edge(c);
    int64_t seglen = (int64_t)plen + fin;

    if (h->flags & RBS_SYN) {
        if (c->state == RBS_SYN_RCVD && !(h->flags & RBS_ACK) && h->seq == c->irs) {
            c->syn_due = true; /* our SYN-ACK was lost: send it again */
            c->ts_recent = h->tsval; /* echo this SYN, or the peer's RTT includes its RTO */
            return;
        }
        c->st.challenge_acks++; /* RFC 5961 4.2: never reset on a SYN */
        c->ack_now = true;
        return;
    }

    bool ok;
    if (seglen == 0)
        ok = sr == nxt || (sr > nxt && sr <= edge);
    else
        ok = sr + seglen > nxt && (sr == nxt || sr < edge);
    if (!ok) {
        if (h->flags & RBS_RST) {
            c->st.unexpected++;
            return;
        }
        if (sr + seglen <= nxt) {
            if (seglen)
                c->st.dup_segs++;
            if (fin && c->state == RBS_TIME_WAIT)
                c->tw_at = now + c->cfg.time_wait_ns; /* FIN again: our ACK was lost */
        } else {
            c->st.window_drops++;
        }
        c->ack_now = true;
        return;
    }
    c->last_rx = now;
    c->ka_sent = 0;

    if (h->flags & RBS_RST) {
        if (sr == nxt) {
            c->st.rst_in++;
            rbs_fail(c, c->state == RBS_SYN_RCVD ? -ECONNREFUSED : -ECONNRESET, false);
            return;
        }
        c->st.challenge_acks++; /* RFC 5961 3.2: in window but not exact */
        c->ack_now = true;
        return;
    }
    if (sr <= (int64_t)c->last_ack_sent)
        c->ts_recent = h->tsval;

    int64_t a = rbs_unwrap(c->snd_una, c->iss, h->ack);
    if (a > (int64_t)c->snd_nxt) {
        c->st.unexpected++; /* acknowledges what we never sent */
        c->ack_now = true;
        return;
    }
    if (c->state == RBS_SYN_RCVD) {
        if (a < 1) {
            reply_rst(c, h, plen);
            c->st.unexpected++;
            return;
        }
        rbs_enter(c, RBS_ESTABLISHED, now);
    }
    if (a >= (int64_t)c->snd_una)
        rbs_on_ack(c, h, (uint64_t)a, (uint64_t)sr, plen, now);

    uint64_t fp = rbs_fin_pos(c);
    if (fp != UINT64_MAX && c->snd_una > fp) {
        if (c->state == RBS_FIN_WAIT_1)
            rbs_enter(c, RBS_FIN_WAIT_2, now);
        else if (c->state == RBS_CLOSING)
            rbs_enter(c, RBS_TIME_WAIT, now);
        else if (c->state == RBS_LAST_ACK)
            rbs_enter(c, RBS_CLOSED, now);
    }
    if (c->state == RBS_CLOSED)
        return;
    if (seglen) {
        if (sr < nxt) { /* trim what we have (acceptability keeps the FIN or a byte) */
            size_t skip = (size_t)(nxt - sr);
            plen -= skip;
            sr = nxt;
        }
        rbs_rcv_data(c, (uint64_t)sr, plen, fin, sg, now);
    }
}

/* Persist timer: armed while data waits on a zero window with nothing in flight. */
static void arm_persist(struct rbs_conn *c, uint64_t now)
{
    bool zero = rbs_synced(c) && c->state != RBS_TIME_WAIT && c->snd_una == c->snd_nxt &&
                c->snd_nxt < rbs_data_end(c) && c->snd_wnd_edge <= c->snd_nxt;
    if (!zero) {
        c->persist_at = 0;
        c->persist_n = 0;
    } else if (!c->persist_at) {
        uint64_t t = c->rto << (c->persist_n < 20 ? c->persist_n : 20);
        c->persist_at = now + (t < c->cfg.rto_max_ns ? t : c->cfg.rto_max_ns);
    }
}

/* One segment, seg[0..len).  check: seg may change while it is read, and crc is what
 * its CRC32C must be; else the caller vouches for the bytes. */
static int input(struct rbs_conn *c, const uint8_t *seg, size_t len, bool check, uint32_t crc,
                 uint64_t now)
{
    /* The header is read from seg once, into hb; everything below parses and acts on
     * that copy, and the CRC covers exactly it.  rbs_hdr_parse reads the first 24 bytes
     * of what it is given and then, if they fit the length it is told, the header
     * length they claim, and takes that length for the payload's too.  It refuses a
     * claim beyond RBS_HDR_MAX (the field's 8 bits say up to 1020; the spec allows 60)
     * before reading past the 24 bytes, and hb is also passed as if the segment ended
     * with it for such a claim: it never reads beyond hb. */
    uint8_t hb[RBS_HDR_MAX];
    size_t hn = len < sizeof hb ? len : sizeof hb;
    struct rbs_hdr h;
    if (hn)
        memcpy(hb, seg, hn);
    size_t told = hn >= RBS_HDR_LEN && hb[RBS_OFF_HLEN] > RBS_HDR_MAX / 4 ? hn : len;
    int hl = len > RBS_SEG_MAX ? -EMSGSIZE : rbs_hdr_parse(hb, told, &h);
    if (hl < 0) {
        if (check && len <= RBS_SEG_MAX &&
            jet_crc32c(jet_crc32c(0, hb, hn), seg + hn, len - hn) != crc)
            goto crc_bad; /* damaged, not malformed */
        c->st.bad[rbs_bad_reason(hl)]++;
        return hl;
    }
    size_t plen = len - (size_t)hl;
    bool synced = c->state != RBS_CLOSED && c->state != RBS_SYN_SENT; /* irs is known */
    uint64_t r = synced ? (uint64_t)rbs_unwrap(c->rcv_nxt, c->irs, h.seq) : 0;
    bool data = synced && !(h.flags & (RBS_SYN | RBS_RST));
    struct rbs_stage sg;
    uint32_t sum = check ? jet_crc32c(0, hb, (size_t)hl) : 0;
    sum = rbs_rcv_stage(c, data, r, seg + hl, plen, check, sum, &sg);
    if (check && sum != crc)
        goto crc_bad;
    c->st.segs_in++;
    switch (c->state) {
    case RBS_CLOSED:
        c->st.unexpected++;
        if (!(h.flags & RBS_RST))
            reply_rst(c, &h, plen);
        return 0;
    case RBS_SYN_SENT:
        input_syn_sent(c, &h, plen, now);
        break;
    default:
        input_synced(c, &h, &sg, plen, now);
        break;
    }
    arm_persist(c, now);
    return 0;
crc_bad: /* changed on the way or in the pool: nothing acts on it, nothing is acknowledged */
    c->st.crc_bad++;
    return -EIO;
}

int rbs_input(struct rbs_conn *c, const uint8_t *seg, size_t len, uint64_t now)
{
    return input(c, seg, len, false, 0, now);
}

int rbs_input_crc(struct rbs_conn *c, const uint8_t *seg, size_t len, uint32_t crc, uint64_t now)
{
    return input(c, seg, len, true, crc, now);
}

int rbs_output_iov(struct rbs_conn *c, uint64_t now, uint8_t *hdr, size_t hcap,
                   size_t maxpayload, struct iovec *iov, int iovmax, int *niov)
{
    int n = rbs_emit(c, now, hdr, hcap, maxpayload, iov, iovmax, niov);
    if (n == 0)
        arm_persist(c, now);
    return n;
}

int rbs_output(struct rbs_conn *c, uint64_t now, uint8_t *buf, size_t cap)
{
    struct iovec iov[RBS_IOV_MAX];
    int niov;
    if (cap < RBS_HDR_MAX + 1)
        return -ENOSPC;
    int n = rbs_output_iov(c, now, buf, cap, cap - RBS_HDR_MAX, iov, RBS_IOV_MAX, &niov);
    if (n <= 0)
        return n;
    size_t at = (size_t)n;
    for (int i = niov - 1; i >= 0; i--)
        at -= iov[i].iov_len; /* header length */
    for (int i = 0; i < niov; i++) {
        memcpy(buf + at, iov[i].iov_base, iov[i].iov_len);
        at += iov[i].iov_len;
    }
    return n;
}

/* ---- timers ---- */

static uint64_t ka_due(const struct rbs_conn *c)
{
    if (c->cfg.keepalive_ns == UINT64_MAX || !rbs_synced(c) || c->state == RBS_TIME_WAIT ||
        c->snd_una != c->snd_nxt)
        return 0;
    return c->last_rx + c->cfg.keepalive_ns + (uint64_t)c->ka_sent * c->cfg.keepalive_intvl_ns;
}

static void tmin(uint64_t *m, uint64_t t)
{
    if (t && t < *m)
        *m = t;
}

uint64_t rbs_next_timeout(const struct rbs_conn *c)
{
    uint64_t m = UINT64_MAX;
    if (c->state == RBS_CLOSED)
        return m;
    tmin(&m, c->tw_at);
    tmin(&m, c->rtx_at);
    tmin(&m, c->tlp_at);
    tmin(&m, c->persist_at);
    tmin(&m, c->ack_at);
    tmin(&m, ka_due(c));
    return m;
}

int rbs_on_timeout(struct rbs_conn *c, uint64_t now)
{
    if (c->state == RBS_CLOSED)
        return c->err;
    if (c->tw_at && now >= c->tw_at) {
        rbs_enter(c, RBS_CLOSED, now);
        return 0;
    }
    if (c->rtx_at && now >= c->rtx_at) {
        rbs_on_rto(c, now);
        if (c->state == RBS_CLOSED)
            return c->err;
    }
    if (c->tlp_at && now >= c->tlp_at)
        rbs_on_tlp(c, now);
    if (c->persist_at && now >= c->persist_at) {
        c->probe_due = true;
        c->st.persist_probes++;
        c->persist_n++;
        c->persist_at = 0;
        arm_persist(c, now);
    }
    if (c->ack_at && now >= c->ack_at) {
        c->ack_now = true;
        c->ack_at = 0;
    }
    uint64_t ka = ka_due(c);
    if (ka && now >= ka) {
        if (c->ka_sent >= c->cfg.keepalive_probes) {
            rbs_fail(c, -ETIMEDOUT, true);
            return c->err;
        }
        c->probe_due = true;
        c->ka_sent++;
        c->st.keepalive_probes++;
    }
    return 0;
}

/* ---- close ---- */

int rbs_shutdown(struct rbs_conn *c, uint64_t now)
{
    if (!c->opened)
        return -ENOTCONN;
    if (c->err)
        return c->err;
    if (c->fin_queued)
        return 0;
    switch (c->state) {
    case RBS_SYN_SENT:
    case RBS_SYN_RCVD:
        c->fin_queued = true; /* sent once established */
        return 0;
    case RBS_ESTABLISHED:
        c->fin_queued = true;
        rbs_enter(c, RBS_FIN_WAIT_1, now);
        return 0;
    case RBS_CLOSE_WAIT:
        c->fin_queued = true;
        rbs_enter(c, RBS_LAST_ACK, now);
        return 0;
    default:
        return -ENOTCONN;
    }
}

int rbs_abort(struct rbs_conn *c, uint64_t now)
{
    (void)now;
    if (c->state == RBS_CLOSED)
        return c->err ? c->err : -ENOTCONN;
    rbs_fail(c, -ECONNABORTED, true);
    return 0;
}

/* ---- queries ---- */

enum rbs_state rbs_state(const struct rbs_conn *c)
{
    return c->state;
}

const char *rbs_state_name(enum rbs_state s)
{
    static const char *const n[] = {
        "CLOSED",     "SYN_SENT",   "SYN_RCVD",  "ESTABLISHED", "FIN_WAIT_1",
        "FIN_WAIT_2", "CLOSING",    "TIME_WAIT", "CLOSE_WAIT",  "LAST_ACK",
    };
    return (unsigned)s < sizeof n / sizeof n[0] ? n[s] : "?";
}

int rbs_error(const struct rbs_conn *c)
{
    return c->err;
}

void rbs_get_stats(const struct rbs_conn *c, struct rbs_stats *out)
{
    *out = c->st;
    out->srtt_ns = c->srtt;
    out->rttvar_ns = c->rttvar;
    out->rto_ns = c->rto;
    out->cwnd = c->cwnd;
    out->ssthresh = c->ssthresh;
    out->snd_wnd = c->snd_wnd_edge > c->snd_nxt ? c->snd_wnd_edge - c->snd_nxt : 0;
    out->rcv_wnd = rbs_adv_wnd(c);
    out->mss = c->mss;
}
