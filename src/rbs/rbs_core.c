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
 *              RST (exact: reset; in window: challenge ACK; TIME_WAIT ignores it,
 *              RFC 1337) -> SYN (retransmitted SYN in SYN_RCVD: SYN-ACK again; else
 *              challenge ACK) -> timestamp echo ->
 *              ACK (beyond snd_nxt: ACK and drop; SYN_RCVD -> ESTABLISHED; then
 *              rbs_on_ack) -> our FIN acknowledged? -> data and FIN (rbs_rcv_data).
 * Timers (rbs_on_timeout): TIME_WAIT end, retransmission, tail loss probe, RACK, persist,
 * delayed ACK, keepalive.  Each is an absolute time, 0 when off; rbs_next_timeout is their minimum. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jet/crc32c.h"
#include "rbs/rbs_impl.h"

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
    while (c->rcv_ws < RBS_WSCALE_MAX && ((uint64_t)k.rcvbuf_bytes >> c->rcv_ws) > 0xFFFF)
        c->rcv_ws++;
    const struct xp_snd_cfg sk = {
        .sndbuf_bytes = k.sndbuf_bytes,
        .max_refs = k.max_refs,
        .mss = k.mss,
        .init_segs = k.init_cwnd_segs,
        .rto_init_ns = k.rto_init_ns,
        .rto_min_ns = k.rto_min_ns,
        .rto_max_ns = k.rto_max_ns,
        .ack_delay_ns = k.ack_delay_ns,
        .rack = true,
        .nodelay = k.nodelay, /* Nagle unless asked not to (docs/rbs.md) */
        .no_dsack = true, /* nor D-SACK */
    };
    if (xp_snd_init(&c->snd, &sk) ||
        xp_rcv_init(&c->rcv, k.rcvbuf_bytes, k.rcvbuf_external, k.mss, c->rcv_ws,
                    k.ack_delay_ns)) {
        rbs_destroy(c);
        return -ENOMEM;
    }
    c->iss = k.isn;
    *out = c;
    return 0;
}

void rbs_destroy(struct rbs_conn *c)
{
    if (!c)
        return;
    xp_snd_fini(&c->snd);
    xp_rcv_fini(&c->rcv);
    free(c);
}

void rbs_set_nodelay(struct rbs_conn *c, bool on)
{
    c->cfg.nodelay = on;
    xp_snd_set_nodelay(&c->snd, on);
}

void rbs_enter(struct rbs_conn *c, enum rbs_state s, uint64_t now)
{
    if (s == RBS_ESTABLISHED && c->snd.fin_queued)
        s = RBS_FIN_WAIT_1;
    c->state = s;
    if (s == RBS_TIME_WAIT) {
        c->tw_at = now + c->cfg.time_wait_ns;
        c->snd.rtx_at = c->persist_at = 0;
    }
    if (s == RBS_CLOSED)
        c->snd.rtx_at = c->persist_at = c->rcv.ack_at = c->tw_at = c->snd.tlp_at =
            c->snd.rack_at = 0;
}

/* Learn the peer from its SYN or SYN-ACK. */
static void take_syn(struct rbs_conn *c, const struct rbs_hdr *h, uint64_t now)
{
    c->irs = h->seq;
    c->rcv.nxt = 1;
    c->rcv.last_ack_sent = 1;
    c->ts_recent = h->tsval;
    c->peer_chan = h->chan;
    c->snd_ws = h->wscale;
    xp_snd_start(&c->snd, h->mss, (uint64_t)h->wnd << c->snd_ws, h->flags & RBS_ACK ? 1 : 0);
    c->last_rx = now;
}

int rbs_connect(struct rbs_conn *c, uint64_t now)
{
    if (c->opened)
        return -EISCONN;
    if (!c->cfg.local_chan || (!c->rcv.buf && !c->rcv.sink))
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
    if (!c->cfg.local_chan || (!c->rcv.buf && !c->rcv.sink))
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
    c->snd.una = 1;
    c->snd.backoff = 0;
    c->snd.rtx_at = 0;
    /* Only a SYN-ACK echoing our latest SYN measures the path: one echoing an earlier
     * SYN may have waited for the listener's own retransmission timer. */
    if (h->tsecr == c->syn_tsval)
        rbs_rtt_sample(c, h->tsecr, now);
    rbs_enter(c, RBS_ESTABLISHED, now);
    c->rcv.ack_now = true;
}

static void input_synced(struct rbs_conn *c, const struct rbs_hdr *h, const struct xp_stage *sg,
                         size_t plen, uint64_t now)
{
    bool fin = h->flags & RBS_FIN;
    int64_t sr = (int64_t)sg->pos;
    int64_t nxt = (int64_t)c->rcv.nxt, edge = (int64_t)xp_rcv_edge(&c->rcv);
    int64_t seglen = (int64_t)plen + fin;

    if (h->flags & RBS_SYN) {
        if (c->state == RBS_SYN_RCVD && !(h->flags & RBS_ACK) && h->seq == c->irs) {
            c->syn_due = true; /* our SYN-ACK was lost: send it again */
            c->ts_recent = h->tsval; /* echo this SYN, or the peer's RTT includes its RTO */
            return;
        }
        c->st.challenge_acks++; /* RFC 5961 4.2: never reset on a SYN */
        c->rcv.ack_now = true;
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
        c->rcv.ack_now = true;
        return;
    }
    c->last_rx = now;
    c->ka_sent = 0;

    if (h->flags & RBS_RST) {
        if (c->state == RBS_TIME_WAIT) { /* RFC 1337: the stream ended well; keep waiting */
            c->st.unexpected++;
            return;
        }
        if (sr == nxt) {
            c->st.rst_in++;
            rbs_fail(c, c->state == RBS_SYN_RCVD ? -ECONNREFUSED : -ECONNRESET, false);
            return;
        }
        c->st.challenge_acks++; /* RFC 5961 3.2: in window but not exact */
        c->rcv.ack_now = true;
        return;
    }
    if (sr <= (int64_t)c->rcv.last_ack_sent)
        c->ts_recent = h->tsval;

    int64_t a = rbs_unwrap(c->snd.una, c->iss, h->ack);
    if (a > (int64_t)c->snd.nxt) {
        c->st.unexpected++; /* acknowledges what we never sent */
        c->rcv.ack_now = true;
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
    if (a >= (int64_t)c->snd.una)
        rbs_on_ack(c, h, (uint64_t)a, (uint64_t)sr, plen, now);

    uint64_t fp = xp_snd_fin_pos(&c->snd);
    if (fp != UINT64_MAX && c->snd.una > fp) {
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
    const struct xp_snd *s = &c->snd;
    bool zero = rbs_synced(c) && c->state != RBS_TIME_WAIT && s->una == s->nxt &&
                s->nxt < xp_snd_data_end(s) && s->wnd_edge <= s->nxt;
    if (!zero) {
        c->persist_at = 0;
        c->persist_n = 0;
    } else if (!c->persist_at) {
        uint64_t t = s->rtt.rto << (c->persist_n < 20 ? c->persist_n : 20);
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
    uint64_t r = synced ? (uint64_t)rbs_unwrap(c->rcv.nxt, c->irs, h.seq) : 0;
    bool data = synced && !(h.flags & (RBS_SYN | RBS_RST));
    struct xp_stage sg;
    uint32_t sum = check ? jet_crc32c(0, hb, (size_t)hl) : 0;
    sum = xp_rcv_stage(&c->rcv, data, r, seg + hl, plen, check, sum, &sg);
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
        c->snd.una != c->snd.nxt)
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
    tmin(&m, c->snd.rtx_at);
    tmin(&m, c->snd.tlp_at);
    tmin(&m, c->snd.rack_at);
    tmin(&m, c->persist_at);
    tmin(&m, c->rcv.ack_at);
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
    if (c->snd.rtx_at && now >= c->snd.rtx_at) {
        rbs_on_rto(c, now);
        if (c->state == RBS_CLOSED)
            return c->err;
    }
    if (c->snd.tlp_at && now >= c->snd.tlp_at) {
        if (rbs_synced(c))
            xp_snd_tlp(&c->snd, now);
        else
            c->snd.tlp_at = 0;
    }
    if (c->snd.rack_at && now >= c->snd.rack_at)
        xp_snd_rack_timeout(&c->snd, now);
    if (c->persist_at && now >= c->persist_at) {
        c->probe_due = true;
        c->st.persist_probes++;
        c->persist_n++;
        c->persist_at = 0;
        arm_persist(c, now);
    }
    if (c->rcv.ack_at && now >= c->rcv.ack_at) {
        c->rcv.ack_now = true;
        c->rcv.ack_at = 0;
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
    if (c->snd.fin_queued)
        return 0;
    switch (c->state) {
    case RBS_SYN_SENT:
    case RBS_SYN_RCVD:
        c->snd.fin_queued = true; /* sent once established */
        return 0;
    case RBS_ESTABLISHED:
        c->snd.fin_queued = true;
        rbs_enter(c, RBS_FIN_WAIT_1, now);
        return 0;
    case RBS_CLOSE_WAIT:
        c->snd.fin_queued = true;
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
    const struct xp_snd *s = &c->snd;
    const struct xp_rcv *r = &c->rcv;
    *out = c->st;
    out->retransmits += s->st.retransmits;
    out->retrans_bytes += s->st.retrans_bytes;
    out->fast_retransmits += s->st.fast_retransmits;
    out->lost_retransmits += s->st.lost_retransmits;
    out->tlp_probes += s->st.tlp_probes;
    out->dup_acks += s->st.dup_acks;
    out->sack_dropped += s->st.sack_dropped;
    out->bytes_in += r->st.bytes_in;
    out->ooo_segs += r->st.ooo_segs;
    out->ooo_dropped += r->st.ooo_dropped;
    out->dup_segs += r->st.dup_segs;
    out->window_drops += r->st.window_drops;
    out->unexpected += r->st.unexpected;
    out->srtt_ns = s->rtt.srtt;
    out->rttvar_ns = s->rtt.rttvar;
    out->rto_ns = s->rtt.rto;
    out->cwnd = s->cc.cwnd;
    out->ssthresh = s->cc.ssthresh;
    out->snd_wnd = xp_snd_wroom(s);
    out->rcv_wnd = xp_rcv_adv_wnd(r);
    out->mss = s->mss;
}
