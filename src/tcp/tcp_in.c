/* TCP input: one segment arrives (RFC 9293 3.10.7), and the open calls that start from
 * a received segment (tcp_accept_syn, tcp_accept_cookie), ICMP, and tcp_rst_reply.
 *
 * For every segment, in order:
 *   read      the header is copied out of the segment once (the segment may be memory
 *             another process writes) and parsed from the copy (malformed: -EBADMSG,
 *             unless the checksum says it was damaged: -EIO);
 *   stage     the payload is read once: its possibly-new bytes copied to their place
 *             (xp_rcv_stage_inet) with the Internet checksum over exactly the bytes
 *             stored; a mismatch drops the segment here (-EIO), before anything acts;
 *   dispatch  CLOSED: RST reply.  SYN_SENT: 3.10.7.3.  Otherwise (3.10.7.4):
 *             PAWS (RFC 7323 5) -> sequence acceptability (not acceptable: ACK, or
 *             nothing for an RST) -> RST (RFC 5961 3: exactly rcv.nxt resets, in the
 *             window a challenge ACK; TIME_WAIT ignores it, RFC 1337) -> SYN (SYN_RCVD's
 *             retransmitted SYN: SYN-ACK again; else a challenge ACK, RFC 5961 4) ->
 *             no ACK bit: drop -> TS.Recent -> ACK (SYN_RCVD: must ack our SYN, else
 *             RST; RFC 5961 5: outside [una - max_wnd, nxt] a challenge ACK; then the
 *             engine: window, SACK, RTT, recovery, cwnd) -> our FIN acknowledged moves
 *             the state -> data and FIN (engine placement; FIN moves the state). */
#include <errno.h>
#include <string.h>

#include "tcp/tcp_impl.h"

/* A received segment after its header was read: the header copy and what it says. */
struct rx {
    uint8_t hb[JET_TCP_HDR_MAX];
    struct jet_tcp_hdr h;
    size_t hl, plen;
    const uint8_t *payload;
    uint32_t sum; /* pseudo-header + header copy partial sum */
};

static uint32_t fold(uint32_t s)
{
    s = (s & 0xFFFF) + (s >> 16);
    return (s & 0xFFFF) + (s >> 16);
}

/* Copies the header of seg[0..len) into x->hb (each byte read once) and parses the
 * copy.  The segment came from t->raddr to t->laddr.  0, -EBADMSG, or -EIO when it does
 * not parse and its checksum is also wrong (damaged, not malformed). */
static int read_hdr(const struct tcp_tuple *t, const uint8_t *seg, size_t len, unsigned flags,
                    struct rx *x)
{
    bool check = !(flags & TCP_IN_CSUM_OK);
    size_t hn = len < sizeof x->hb ? len : sizeof x->hb;
    if (hn)
        memcpy(x->hb, seg, hn);
    size_t doff = hn >= JET_TCP_HDR_LEN ? (size_t)(x->hb[12] >> 4) * 4 : 0;
    int rc = -EMSGSIZE;
    if (len >= JET_TCP_HDR_LEN && len <= TCP_SEG_MAX && doff >= JET_TCP_HDR_LEN && doff <= len)
        rc = jet_tcp_parse(x->hb, doff, t->raddr, t->laddr, &x->h, JET_INET_NO_CSUM);
    if (check && len <= 0xFFFF)
        x->sum = jet_inet_pseudo_sum(t->raddr, t->laddr, JET_IP_PROTO_TCP, (uint16_t)len);
    if (rc < 0) {
        if (check && len <= 0xFFFF && hn) {
            uint32_t s = x->sum + fold(jet_inet_sum(x->hb, hn, 0));
            if (len > hn)
                s += fold(jet_inet_sum(seg + hn, len - hn, 0));
            if (jet_inet_csum(fold(s)) != 0)
                return -EIO;
        }
        return -EBADMSG;
    }
    x->hl = doff;
    x->plen = len - doff;
    x->payload = seg + doff;
    if (check)
        x->sum += fold(jet_inet_sum(x->hb, doff, 0));
    return 0;
}

/* Reads the payload once (staging new bytes when data may be taken) and checks the
 * checksum.  0 or -EIO. */
static int stage(struct tcp_conn *c, struct rx *x, unsigned flags, bool data, uint64_t pos,
                 struct xp_stage *sg)
{
    bool check = !(flags & TCP_IN_CSUM_OK);
    uint32_t s = xp_rcv_stage_inet(&c->rcv, data, pos, x->payload, x->plen, check, sg);
    if (check && jet_inet_csum(fold(x->sum + s)) != 0) {
        c->st.csum_bad++;
        return -EIO;
    }
    return 0;
}

static int bad(struct tcp_conn *c, int rc)
{
    if (rc == -EIO)
        c->st.csum_bad++;
    else
        c->st.malformed++;
    return rc;
}

/* The RST RFC 9293 3.10.7.1 answers a segment with (from a state that has no better
 * answer): <SEQ=SEG.ACK><CTL=RST> if it has ACK, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN>
 * <CTL=RST,ACK>. */
static void rst_for(const struct jet_tcp_hdr *h, size_t plen, uint8_t *fl, uint32_t *seq,
                    uint32_t *ack)
{
    if (h->flags & JET_TCP_ACK) {
        *fl = JET_TCP_RST;
        *seq = h->ack;
        *ack = 0;
    } else {
        *fl = JET_TCP_RST | JET_TCP_ACK;
        *seq = 0;
        *ack = h->seq + (uint32_t)plen + !!(h->flags & JET_TCP_SYN) + !!(h->flags & JET_TCP_FIN);
    }
}

static void reply_rst(struct tcp_conn *c, const struct rx *x)
{
    uint8_t fl;
    uint32_t seq, ack;
    rst_for(&x->h, x->plen, &fl, &seq, &ack);
    tcp_queue_rst(c, fl, seq, ack);
}

/* The RTT an echoed TSval gives now (ns), UINT64_MAX if none (zero, from the future or
 * absurd). */
static uint64_t ts_sample(const struct tcp_conn *c, uint32_t tsecr, uint64_t now)
{
    uint32_t d = tcp_ts_now(c, now) - tsecr;
    if (!tsecr || d > 60u * TCP_TS_HZ)
        return UINT64_MAX;
    return (uint64_t)d * (1000000000u / TCP_TS_HZ);
}

/* The RTT sample an advancing ACK's echo gives (RFC 7323 4), or UINT64_MAX.  Two
 * guards keep one late or stale echo from inflating SRTT, and with it the RTO, in a
 * loop:
 *   - an echo older than our last RTO is refused: after a hole the receiver keeps
 *     echoing the TSval of the segment before it (TS.Recent moves only in order), so
 *     the ACK of the retransmission that fills the hole would measure the whole RTO
 *     wait; the next RTO, longer by that, would then measure itself, and so on (seen
 *     with Linux as the peer at 2 % loss: SRTT 1.4 s on a LAN);
 *   - each echoed value gives one sample: ACKs that all echo the same TSval (a burst
 *     of them processed late, or a stretch ACKed piecewise) count once. */
static uint64_t rtt_from_echo(struct tcp_conn *c, uint32_t tsecr, uint64_t now)
{
    if (c->rto_seen && xp_seq_lt(tsecr, c->rto_tsval))
        return UINT64_MAX;
    if (c->tsecr_seen && !xp_seq_lt(c->last_tsecr, tsecr))
        return UINT64_MAX;
    uint64_t r = ts_sample(c, tsecr, now);
    if (r != UINT64_MAX) {
        c->last_tsecr = tsecr;
        c->tsecr_seen = true;
    }
    return r;
}

static void rtt_note(struct tcp_conn *c, uint64_t rtt)
{
    if (rtt != UINT64_MAX && rtt < c->min_rtt)
        c->min_rtt = rtt;
}

void tcp_take_syn(struct tcp_conn *c, const struct jet_tcp_hdr *h, uint64_t now)
{
    const struct jet_tcp_hdr_opts *o = &h->opt;
    c->irs = h->seq;
    c->rcv.nxt = 1;
    c->rcv.last_ack_sent = 1;
    c->peer_mss = o->mss ? o->mss : TCP_MSS_DEFAULT;
    c->ws_ok = o->has_wscale && !c->cfg.no_wscale;
    c->snd_ws = c->ws_ok ? (o->wscale > JET_TCP_WSCALE_MAX ? JET_TCP_WSCALE_MAX : o->wscale) : 0;
    if (!c->ws_ok) {
        c->rcv_ws = 0; /* our offer (if any) is void: windows are 16 bits */
        c->rcv.ws = 0;
    }
    c->sack_ok = o->sack_ok && !c->cfg.no_sack;
    c->ts_ok = o->has_ts && !c->cfg.no_ts;
    if (c->ts_ok) {
        c->ts_recent = o->ts_val;
        c->ts_recent_at = now;
    }
    /* The window in a SYN is never scaled (RFC 7323 2.2). */
    xp_snd_start(&c->snd, tcp_mss_effective(c), h->win, h->flags & JET_TCP_ACK ? 1 : 0);
    c->last_rx = now;
}

/* ---- SYN_SENT (3.10.7.3) ---- */

static void input_syn_sent(struct tcp_conn *c, const struct rx *x, uint64_t now)
{
    const struct jet_tcp_hdr *h = &x->h;
    bool ack = h->flags & JET_TCP_ACK;
    if (ack && h->ack != c->iss + (uint32_t)c->snd.nxt) {
        /* nothing but our SYN was sent: only iss + 1 is acceptable */
        if (!(h->flags & JET_TCP_RST))
            reply_rst(c, x);
        c->st.unexpected++;
        return;
    }
    if (h->flags & JET_TCP_RST) {
        if (ack) {
            c->st.rst_in++;
            tcp_fail(c, -ECONNREFUSED, false);
        } else {
            c->st.unexpected++;
        }
        return;
    }
    if (!(h->flags & JET_TCP_SYN)) {
        c->st.unexpected++;
        return;
    }
    tcp_take_syn(c, h, now);
    if (!ack) {
        /* Simultaneous open: SYN_RCVD, our SYN again with an ACK (same ISS). */
        tcp_enter(c, TCP_SYN_RCVD, now);
        c->syn_due = true;
        return;
    }
    /* Our SYN is acknowledged. */
    uint64_t rtt = UINT64_MAX;
    if (c->ts_ok) {
        /* Only a SYN-ACK echoing our latest SYN measures the path. */
        if (h->opt.ts_val && h->opt.ts_ecr == c->syn_tsval)
            rtt = ts_sample(c, h->opt.ts_ecr, now);
    } else if (c->snd.rtt.timing) {
        rtt = now - c->snd.rtt.timed_at;
    }
    c->snd.rtt.timing = false;
    c->snd.una = 1;
    c->snd.rtx_at = 0;
    tcp_handshake_rtt(c, rtt);
    tcp_enter(c, TCP_ESTABLISHED, now);
    c->rcv.ack_now = true;
}

/* ---- synchronized states and SYN_RCVD (3.10.7.4) ---- */

static bool paws_reject(struct tcp_conn *c, const struct jet_tcp_hdr *h, uint64_t now)
{
    if (!c->ts_ok || !h->opt.has_ts || (h->flags & JET_TCP_RST))
        return false;
    if (!xp_seq_lt(h->opt.ts_val, c->ts_recent))
        return false;
    /* RFC 7323 5.5: after 24 days idle TS.Recent is invalid (the peer's clock may have
     * wrapped past it): accept, and the segment's TSval becomes TS.Recent. */
    if (now - c->ts_recent_at > (uint64_t)TCP_PAWS_IDLE_S * 1000000000ull) {
        c->ts_recent = h->opt.ts_val;
        c->ts_recent_at = now;
        return false;
    }
    return true;
}

static void on_ack(struct tcp_conn *c, const struct rx *x, uint64_t a, uint64_t sr, uint64_t now)
{
    const struct jet_tcp_hdr *h = &x->h;
    struct xp_snd *s = &c->snd;
    int64_t sack[JET_TCP_SACK_MAX][2];
    unsigned n = 0;
    bool dsack = false;
    if (c->sack_ok) {
        for (unsigned i = 0; i < h->opt.nsack; i++) {
            int64_t b = xp_seq_unwrap(s->una, c->iss, h->opt.sack[i].left);
            int64_t e = xp_seq_unwrap(s->una, c->iss, h->opt.sack[i].right);
            c->st.sack_blocks_in++;
            /* D-SACK (RFC 2883): the first block below the ACK, or inside the second */
            if (i == 0 && (e <= (int64_t)a ||
                           (h->opt.nsack > 1 &&
                            b >= xp_seq_unwrap(s->una, c->iss, h->opt.sack[1].left) &&
                            e <= xp_seq_unwrap(s->una, c->iss, h->opt.sack[1].right)))) {
                c->st.dsack_in++;
                dsack = true;
                continue;
            }
            sack[n][0] = b;
            sack[n][1] = e;
            n++;
        }
    }
    uint64_t rtt = UINT64_MAX;
    if (a > s->una) {
        if (c->ts_ok) {
            if (h->opt.has_ts)
                rtt = rtt_from_echo(c, h->opt.ts_ecr, now);
        } else if (s->rtt.timing && a >= s->rtt.timed_end) {
            s->rtt.timing = false;
            rtt = now - s->rtt.timed_at;
        }
        rtt_note(c, rtt);
    }
    /* the window of a SYN segment is never scaled (RFC 7323 2.2) */
    uint64_t wnd = (uint64_t)h->win << (h->flags & JET_TCP_SYN ? 0 : c->snd_ws);
    bool dup_ok = x->plen == 0 && !(h->flags & (JET_TCP_FIN | JET_TCP_SYN));
    xp_snd_on_ack(s, a, wnd, sr, (const int64_t(*)[2])sack, n, dup_ok, rtt, now);
    if (dsack)
        xp_snd_dsack(s);
}

/* Whether the segment [sr, sr + seglen) is acceptable (3.10.7.4's four cases, with
 * Linux's allowance of a segment starting at the window's right edge). */
static bool acceptable(const struct tcp_conn *c, int64_t sr, int64_t seglen)
{
    int64_t nxt = (int64_t)c->rcv.nxt, edge = (int64_t)xp_rcv_edge(&c->rcv);
    if (seglen == 0)
        return sr >= nxt && sr <= edge;
    /* a segment at rcv.nxt is taken even into a zero window: its ACK is processed
     * and the data beyond the window dropped (window probes) */
    return sr + seglen > nxt && (sr == nxt || sr < edge);
}

/* A duplicate arrived (RFC 2883): the next ACK reports it as its first SACK block, so
 * the sender's RACK can tell reordering from loss and widen its reordering window. */
static void note_dsack(struct tcp_conn *c, int64_t s, int64_t e)
{
    if (!c->sack_ok || s < 1 || e <= s)
        return;
    c->dsack_s = (uint64_t)s;
    c->dsack_e = (uint64_t)e;
}

static void challenge(struct tcp_conn *c, uint64_t now)
{
    if (tcp_challenge_ack(c, now))
        c->rcv.ack_now = true;
}

static void fin_acked(struct tcp_conn *c, uint64_t now)
{
    uint64_t fp = xp_snd_fin_pos(&c->snd);
    if (fp == UINT64_MAX || c->snd.una <= fp)
        return;
    if (c->state == TCP_FIN_WAIT_1)
        tcp_enter(c, TCP_FIN_WAIT_2, now);
    else if (c->state == TCP_CLOSING)
        tcp_enter(c, TCP_TIME_WAIT, now);
    else if (c->state == TCP_LAST_ACK)
        tcp_enter(c, TCP_CLOSED, now);
}

/* An out-of-order segment landed in the range starting at x: it goes first in the
 * SACK order; ranges absorbed or merged since drop out. */
static void sack_touched(struct tcp_conn *c, uint64_t x)
{
    const struct xp_ranges *rs = &c->rcv.ooo;
    int cur = tcp_ooo_range_at(rs, x);
    uint64_t h[JET_TCP_SACK_MAX];
    uint32_t n = 0;
    h[n++] = x;
    for (uint32_t i = 0; i < c->sack_nhist && n < JET_TCP_SACK_MAX; i++) {
        int r = tcp_ooo_range_at(rs, c->sack_hist[i]);
        bool dup = r < 0 || r == cur;
        for (uint32_t j = 1; j < n && !dup; j++)
            dup = tcp_ooo_range_at(rs, h[j]) == r;
        if (!dup)
            h[n++] = c->sack_hist[i];
    }
    memcpy(c->sack_hist, h, n * sizeof h[0]);
    c->sack_nhist = n;
}

static void rcv_data(struct tcp_conn *c, uint64_t r, size_t len, bool fin,
                     const struct xp_stage *sg, uint64_t now)
{
    struct xp_rcv *rv = &c->rcv;
    /* quick-ACK again after an idle period longer than the RTO (as Linux) */
    if (len && c->last_data_rx && now - c->last_data_rx > c->snd.rtt.rto)
        c->quickack = TCP_QUICKACK_SEGS;
    if (len)
        c->last_data_rx = now;
    uint64_t placed0 = rv->sink ? xp_rcv_placed(rv) : 0;
    uint64_t ooo0 = rv->st.ooo_segs;
    /* out-of-order data we hold already: a D-SACK for it, then its range (RFC 2883) */
    if (len && r > rv->nxt && rv->ooo.n && xp_ranges_covers(&rv->ooo, r, r + len))
        note_dsack(c, (int64_t)r, (int64_t)(r + len));
    int rc = xp_rcv_data(rv, r, len, fin, sg, now);
    if (rc < 0) { /* never acknowledge bytes that did not reach their place */
        tcp_fail(c, rc, true);
        return;
    }
    if (rv->sink && xp_rcv_placed(rv) != placed0)
        c->st.sink_writes++;
    if (rv->st.ooo_segs != ooo0 && rv->ooo_recent < rv->ooo.n)
        sack_touched(c, rv->ooo.r[rv->ooo_recent].s);
    if (len && rv->ack_owed && !rv->ack_now && c->quickack) {
        c->quickack--;
        rv->ack_now = true;
        c->st.quick_acks++;
    }
    if (rv->ack_now)
        rv->ack_at = 0;
    if (rc == XP_RCV_FIN) {
        switch (c->state) {
        case TCP_SYN_RCVD:
        case TCP_ESTABLISHED: tcp_enter(c, TCP_CLOSE_WAIT, now); break;
        case TCP_FIN_WAIT_1: tcp_enter(c, TCP_CLOSING, now); break;
        case TCP_FIN_WAIT_2: tcp_enter(c, TCP_TIME_WAIT, now); break;
        default: break;
        }
    }
}

static void input_synced(struct tcp_conn *c, const struct rx *x, const struct xp_stage *sg,
                         uint64_t now)
{
    const struct jet_tcp_hdr *h = &x->h;
    bool fin = h->flags & JET_TCP_FIN, syn = h->flags & JET_TCP_SYN;
    int64_t sr = (int64_t)sg->pos;
    /* Simultaneous open (RFC 9293 figure 8): in SYN_RCVD the peer's SYN-ACK acknowledges
     * our SYN; its SYN is the one we know, so it is taken as the ACK it carries. */
    if (syn && c->state == TCP_SYN_RCVD && (h->flags & JET_TCP_ACK) && !fin && !x->plen &&
        h->seq == c->irs && h->ack == xp_seq_wire(c->iss, c->snd.nxt)) {
        syn = false;
        sr = 1;
    }
    int64_t nxt = (int64_t)c->rcv.nxt;
    int64_t seglen = (int64_t)x->plen + fin + syn;
    size_t plen = x->plen;

    if (paws_reject(c, h, now)) {
        c->st.paws_drops++;
        c->rcv.ack_now = true;
        return;
    }
    if (!acceptable(c, sr, seglen)) {
        if (h->flags & JET_TCP_RST) {
            c->st.unexpected++;
            return;
        }
        if (syn && c->state == TCP_SYN_RCVD && !(h->flags & JET_TCP_ACK) && h->seq == c->irs) {
            c->syn_due = true; /* our SYN-ACK was lost: again */
            if (c->ts_ok && h->opt.has_ts) {
                c->ts_recent = h->opt.ts_val;
                c->ts_recent_at = now;
            }
            return;
        }
        if (sr + seglen <= nxt) {
            if (x->plen) {
                c->rcv.st.dup_segs++;
                note_dsack(c, sr, sr + (int64_t)x->plen);
            }
            if (fin && c->state == TCP_TIME_WAIT)
                c->tw_at = now + c->cfg.time_wait_ns; /* FIN again: our ACK was lost */
        } else {
            c->rcv.st.window_drops++;
        }
        if (syn)
            challenge(c, now);
        else
            c->rcv.ack_now = true;
        return;
    }

    if (h->flags & JET_TCP_RST) {
        if (c->state == TCP_TIME_WAIT) { /* RFC 1337: ignore it */
            c->st.unexpected++;
            return;
        }
        if (sr == nxt) {
            c->st.rst_in++;
            tcp_fail(c, c->state == TCP_SYN_RCVD ? -ECONNREFUSED : -ECONNRESET, false);
            return;
        }
        c->st.unexpected++;
        challenge(c, now); /* RFC 5961 3.2: in the window but not exact */
        return;
    }
    c->last_rx = now;
    c->ka_sent = 0;
    c->probes_out = 0;

    if (syn) {
        if (c->state == TCP_SYN_RCVD && !(h->flags & JET_TCP_ACK) && h->seq == c->irs) {
            c->syn_due = true;
            return;
        }
        c->st.unexpected++;
        challenge(c, now); /* RFC 5961 4.2: never reset on a SYN */
        return;
    }
    if (!(h->flags & JET_TCP_ACK)) {
        c->st.unexpected++;
        return;
    }
    /* TS.Recent (RFC 7323 4.3): from a segment that covers Last.ACK.sent. */
    if (c->ts_ok && h->opt.has_ts && sr <= (int64_t)c->rcv.last_ack_sent &&
        !xp_seq_lt(h->opt.ts_val, c->ts_recent)) {
        c->ts_recent = h->opt.ts_val;
        c->ts_recent_at = now;
    }

    struct xp_snd *s = &c->snd;
    int64_t a = xp_seq_unwrap(s->una, c->iss, h->ack);
    if (c->state == TCP_SYN_RCVD) {
        if (a <= (int64_t)s->una || a > (int64_t)s->nxt) {
            reply_rst(c, x);
            c->st.unexpected++;
            return;
        }
        tcp_enter(c, TCP_ESTABLISHED, now);
        /* the SYN-ACK's RTT: from the echo (it must echo our latest SYN-ACK), or timed
         * (Karn: not if it was sent again) */
        uint64_t rtt = UINT64_MAX;
        if (c->ts_ok && h->opt.has_ts && h->opt.ts_ecr == c->syn_tsval) {
            rtt = ts_sample(c, h->opt.ts_ecr, now);
            c->last_tsecr = h->opt.ts_ecr; /* one sample per echo (rtt_from_echo) */
            c->tsecr_seen = true;
        }
        else if (!c->ts_ok && s->rtt.timing)
            rtt = now - s->rtt.timed_at;
        s->rtt.timing = false;
        tcp_handshake_rtt(c, rtt);
    }
    /* RFC 5961 5.2: acceptable ACKs lie in [una - max_wnd, nxt]. */
    int64_t lo = (int64_t)s->una - (int64_t)s->max_wnd;
    if (a > (int64_t)s->nxt || a < lo) {
        c->st.unexpected++;
        challenge(c, now);
        return;
    }
    if (a >= (int64_t)s->una)
        on_ack(c, x, (uint64_t)a, (uint64_t)sr, now);
    fin_acked(c, now);
    if (c->state == TCP_CLOSED || c->state == TCP_TIME_WAIT)
        return;
    if (plen || fin) {
        if (sr < nxt) { /* trim what we have (acceptability keeps a byte or the FIN) */
            size_t skip = (size_t)(nxt - sr);
            if (plen)
                note_dsack(c, sr, nxt < sr + (int64_t)plen ? nxt : sr + (int64_t)plen);
            plen = skip < plen ? plen - skip : 0;
            sr = nxt;
        }
        rcv_data(c, (uint64_t)sr, plen, fin, sg, now);
        tcp_autotune(c, now);
    }
}

static void dispatch(struct tcp_conn *c, const struct rx *x, const struct xp_stage *sg,
                     uint64_t now)
{
    c->now_seen = now;
    c->st.segs_in++;
    switch (c->state) {
    case TCP_CLOSED:
    case TCP_LISTEN:
        c->st.unexpected++;
        if (!(x->h.flags & JET_TCP_RST))
            reply_rst(c, x);
        return;
    case TCP_SYN_SENT:
        input_syn_sent(c, x, now);
        break;
    default:
        input_synced(c, x, sg, now);
        break;
    }
    tcp_timer_after_input(c, now);
}

int tcp_input(struct tcp_conn *c, const uint8_t *seg, size_t len, unsigned flags, uint64_t now)
{
    struct rx x;
    int rc = read_hdr(&c->cfg.t, seg, len, flags, &x);
    if (rc < 0)
        return bad(c, rc);
    /* irs is known from SYN_RCVD on: unwrap against rcv.nxt and stage new bytes */
    bool synced = c->state != TCP_CLOSED && c->state != TCP_SYN_SENT && c->state != TCP_LISTEN;
    uint64_t r = synced ? (uint64_t)xp_seq_unwrap(c->rcv.nxt, c->irs, x.h.seq) : 0;
    bool data = synced && !(x.h.flags & (JET_TCP_SYN | JET_TCP_RST)) && c->state <= TCP_FIN_WAIT_2;
    struct xp_stage sg;
    if (stage(c, &x, flags, data, r, &sg))
        return -EIO;
    dispatch(c, &x, &sg, now);
    return 0;
}

/* ---- passive opens ---- */

int tcp_accept_syn(struct tcp_conn *c, const uint8_t *seg, size_t len, unsigned flags,
                   uint64_t now)
{
    struct rx x;
    if (c->opened)
        return -EISCONN;
    if (!c->rcv.buf && !c->rcv.sink)
        return -EINVAL;
    int rc = read_hdr(&c->cfg.t, seg, len, flags, &x);
    if (rc < 0) {
        bad(c, rc);
        return -EBADMSG;
    }
    struct xp_stage sg;
    if (stage(c, &x, flags, false, 0, &sg))
        return -EBADMSG;
    if ((x.h.flags & (JET_TCP_SYN | JET_TCP_ACK | JET_TCP_RST)) != JET_TCP_SYN) {
        c->st.unexpected++;
        return -EPROTO;
    }
    c->st.segs_in++;
    c->opened = true;
    c->passive = true;
    tcp_take_syn(c, &x.h, now);
    c->state = TCP_SYN_RCVD;
    c->syn_due = true;
    return 0;
}

int tcp_accept_cookie(struct tcp_conn *c, const uint8_t *seg, size_t len, unsigned flags,
                      const struct tcp_cookie_opts *o, uint64_t now)
{
    struct rx x;
    if (c->opened)
        return -EISCONN;
    if (!c->rcv.buf && !c->rcv.sink)
        return -EINVAL;
    int rc = read_hdr(&c->cfg.t, seg, len, flags, &x);
    if (rc < 0) {
        bad(c, rc);
        return -EBADMSG;
    }
    const struct jet_tcp_hdr *h = &x.h;
    if ((h->flags & (JET_TCP_SYN | JET_TCP_ACK | JET_TCP_RST)) != JET_TCP_ACK) {
        /* the payload is not read: nothing acts on it */
        c->st.unexpected++;
        return -EPROTO;
    }
    /* The receive side first, so the payload is staged where it belongs; undone if
     * the checksum fails. */
    c->irs = h->seq - 1;
    c->rcv.nxt = 1;
    c->state = TCP_ESTABLISHED;
    struct xp_stage sg;
    bool data = !(h->flags & (JET_TCP_SYN | JET_TCP_RST));
    if (stage(c, &x, flags, data, (uint64_t)xp_seq_unwrap(1, c->irs, h->seq), &sg)) {
        c->irs = 0;
        c->rcv.nxt = 0;
        c->state = TCP_CLOSED;
        return -EBADMSG;
    }
    c->opened = true;
    c->passive = true;
    c->iss = h->ack - 1;
    c->rcv.last_ack_sent = 1;
    c->peer_mss = o->mss ? o->mss : TCP_MSS_DEFAULT;
    c->ts_ok = o->has_ts && !c->cfg.no_ts;
    c->ws_ok = o->has_ts && o->has_wscale && !c->cfg.no_wscale;
    c->snd_ws = c->ws_ok ? (o->wscale > JET_TCP_WSCALE_MAX ? JET_TCP_WSCALE_MAX : o->wscale) : 0;
    if (!c->ws_ok) {
        c->rcv_ws = 0;
        c->rcv.ws = 0;
    }
    c->sack_ok = o->has_ts && o->sack_ok && !c->cfg.no_sack;
    if (c->ts_ok && h->opt.has_ts) {
        c->ts_recent = h->opt.ts_val;
        c->ts_recent_at = now;
    }
    c->snd.una = c->snd.nxt = 1; /* our SYN-ACK (the cookie) is acknowledged */
    xp_snd_start(&c->snd, tcp_mss_effective(c), (uint64_t)h->win << c->snd_ws, 1);
    c->snd.wl1 = (uint64_t)xp_seq_unwrap(1, c->irs, h->seq);
    c->last_rx = now;
    /* Now as input: its data and FIN (the ACK of our SYN-ACK is a no-op). */
    dispatch(c, &x, &sg, now);
    return 0;
}

/* ---- ICMP ---- */

void tcp_pmtu(struct tcp_conn *c, uint32_t mtu, uint64_t now)
{
    (void)now;
    if (!mtu || mtu <= 40)
        return;
    uint32_t m = mtu - 40;
    if (m < TCP_MSS_MIN)
        m = TCP_MSS_MIN;
    struct xp_snd *s = &c->snd;
    if (m >= c->pmtu_mss || m >= s->mss)
        return;
    c->pmtu_mss = m;
    s->mss = m;
    s->cc.mss = m;
    if (s->cc.cwnd < m)
        s->cc.cwnd = m;
    /* What is in flight went out in segments the path cannot carry: all of it is lost.
     * Retransmit it in smaller segments without a congestion response (the loss was
     * not congestion): RTO-style recovery up to nxt with the window kept (what the
     * engine's enter_recovery does, less the congestion hook; an engine call for this
     * would be better). */
    if (tcp_synced(c) && s->una < s->nxt && s->rec == XP_REC_NONE && s->una >= 1) {
        s->rec = XP_REC_RTO;
        s->recover = s->nxt;
        s->retx_next = s->una;
        s->dupacks = 0;
        s->nrx = 0;
        s->tlp_at = 0;
        s->tlp_due = false;
        s->tlp_out = false;
        s->rk.tlp_end = 0;
    }
}

void tcp_icmp_error(struct tcp_conn *c, int err, uint64_t now)
{
    (void)now;
    if (err > 0)
        err = -err;
    if (!err || c->state == TCP_CLOSED)
        return;
    if (c->state == TCP_SYN_SENT && (err == -ECONNREFUSED || err == -ENOPROTOOPT ||
                                     err == -EPROTONOSUPPORT)) {
        tcp_fail(c, -ECONNREFUSED, false);
        return;
    }
    c->soft_err = err;
}

/* ---- without a connection ---- */

int tcp_rst_reply(const struct tcp_tuple *t, const uint8_t *seg, size_t len, unsigned flags,
                  uint8_t *buf, size_t cap)
{
    struct rx x;
    int rc = read_hdr(t, seg, len, flags, &x);
    if (rc < 0)
        return -EBADMSG;
    if (!(flags & TCP_IN_CSUM_OK)) {
        uint32_t s = x.sum + fold(jet_inet_sum(x.payload, x.plen, 0));
        if (jet_inet_csum(fold(s)) != 0)
            return -EBADMSG;
    }
    if (x.h.flags & JET_TCP_RST)
        return 0;
    if (cap < JET_TCP_HDR_LEN)
        return -ENOSPC;
    struct jet_tcp_hdr r;
    memset(&r, 0, sizeof r);
    r.sport = t->lport;
    r.dport = t->rport;
    rst_for(&x.h, x.plen, &r.flags, &r.seq, &r.ack);
    return jet_tcp_emit(buf, cap, &r, t->laddr, t->raddr, 0);
}
