/* TCP output: the next due segment into the caller's buffer (tcp_output) or header
 * buffer plus payload pointers (tcp_output_iov), in this order of priority:
 *   RST          (tcp_queue_rst: an abort, a failed sink, a reply to a bad segment)
 *   SYN/SYN-ACK  in SYN_SENT / SYN_RCVD (first or again after the RTO)
 *   data         the engine's choice (xp_snd_next): a lost range again, a tail loss
 *                probe, new data and the FIN; the engine's Nagle (Minshall's form, as
 *                Linux) holds a short new segment while an earlier short one is
 *                unacknowledged, unless nodelay or the FIN follows it
 *   probe        zero-window (persist) or keepalive probe: seq snd.una - 1, no data
 *   ACK          pure ACK (delayed ACK due, quick ACK, challenge ACK, window update),
 *                with SACK blocks (most recent first, RFC 2018 4)
 * Every segment but the SYN carries an ACK and the window; with timestamps agreed every
 * segment carries TSval (our microsecond clock + ts_offset) and TSecr = TS.Recent.
 * The checksum covers header and payload, or is the pseudo-header sum alone
 * (TCP_OUT_CSUM_PARTIAL) for a link that completes it.
 *
 * Also here: tcp_queue_rst and the RFC 5961 challenge-ACK rate limit. */
#include <errno.h>
#include <string.h>

#include "tcp/tcp_impl.h"

void tcp_queue_rst(struct tcp_conn *c, uint8_t flags, uint32_t seq, uint32_t ack)
{
    c->rst_due = true;
    c->rst_flags = flags;
    c->rst_seq = seq;
    c->rst_ack = ack;
}

bool tcp_challenge_ack(struct tcp_conn *c, uint64_t now)
{
    uint64_t sec = now / 1000000000ull;
    if (sec != c->chal_epoch) {
        c->chal_epoch = sec;
        c->chal_n = 0;
    }
    if (c->chal_n >= TCP_CHALLENGE_ACK_LIMIT)
        return false;
    c->chal_n++;
    c->st.challenge_acks++;
    return true;
}

static uint32_t fold(uint32_t s)
{
    s = (s & 0xFFFF) + (s >> 16);
    return (s & 0xFFFF) + (s >> 16);
}

/* Writes the checksum of the header hdr[0..hl) and the payload iov[0..niov). */
static void csum(const struct tcp_conn *c, uint8_t *hdr, size_t hl, const struct iovec *iov,
                 int niov, size_t dlen, unsigned oflags)
{
    uint32_t s = jet_inet_pseudo_sum(c->cfg.t.laddr, c->cfg.t.raddr, JET_IP_PROTO_TCP,
                                     (uint16_t)(hl + dlen));
    hdr[16] = hdr[17] = 0;
    if (oflags & TCP_OUT_CSUM_PARTIAL) {
        uint16_t v = (uint16_t)fold(s);
        hdr[16] = (uint8_t)(v >> 8);
        hdr[17] = (uint8_t)v;
        return;
    }
    s = fold(s + fold(jet_inet_sum(hdr, hl, 0)));
    size_t at = 0;
    for (int i = 0; i < niov; i++) {
        uint32_t p = fold(jet_inet_sum(iov[i].iov_base, iov[i].iov_len, 0));
        if (at & 1)
            p = ((p & 0xFF) << 8) | (p >> 8);
        s = fold(s + p);
        at += iov[i].iov_len;
    }
    uint16_t v = jet_inet_csum(s);
    hdr[16] = (uint8_t)(v >> 8);
    hdr[17] = (uint8_t)v;
}

int tcp_ooo_range_at(const struct xp_ranges *rs, uint64_t x)
{
    uint32_t i = xp_ranges_lower(rs, x);
    if (i < rs->n && rs->r[i].e == x)
        i++;
    return i < rs->n && rs->r[i].s <= x && x < rs->r[i].e ? (int)i : -1;
}

/* The SACK blocks to send, at most max (RFC 2018 4 and RFC 2883): a pending D-SACK
 * first (sent once), then the ranges in the order segments last touched them (the
 * newest first; tcp_in.c keeps sack_hist), then any others in sequence order. */
static int sack_blocks(struct tcp_conn *c, struct xp_range *out, int max)
{
    const struct xp_ranges *rs = &c->rcv.ooo;
    int n = 0, k = 0;
    int idx[JET_TCP_SACK_MAX];
    if (max <= 0)
        return 0;
    if (c->dsack_e) {
        out[n].s = c->dsack_s;
        out[n].e = c->dsack_e;
        n++;
        c->dsack_e = 0;
    }
    /* indexes of ranges to report, in order */
    for (uint32_t h = 0; h < c->sack_nhist && n + k < max; h++) {
        int i = tcp_ooo_range_at(rs, c->sack_hist[h]);
        bool dup = i < 0;
        for (int j = 0; j < k && !dup; j++)
            dup = idx[j] == i;
        if (!dup)
            idx[k++] = i;
    }
    for (uint32_t i = 0; i < rs->n && n + k < max; i++) {
        bool dup = false;
        for (int j = 0; j < k && !dup; j++)
            dup = idx[j] == (int)i;
        if (!dup)
            idx[k++] = (int)i;
    }
    for (int j = 0; j < k; j++)
        out[n++] = rs->r[idx[j]];
    return n;
}

/* The window to advertise: the free ring space, in units of 2^rcv_ws, with two rules
 * on where its right edge (rcv.nxt + window) may go.
 *
 * Receiver silly-window avoidance (RFC 9293 3.8.6.2.2, MUST-39): once a window has been
 * advertised, its right edge moves on only when it can move by at least
 * min(window limit / 2, Eff.snd.MSS) (RFC 9293 3.7.1: the MSS we send with, the best
 * guess at the peer's segments; never more than the MSS we accept).  A smaller opening
 * (a reader taking a few bytes from a full ring) is held back: the edge stays where it
 * was, so the peer is never invited to send a sliver.  The held window is never less
 * than the free space minus that threshold: it is zero only while less than
 * min(window / 2, MSS) is free.  Linux (__tcp_select_window) judges by the free space
 * alone (0 while under its receive-MSS estimate, when under half the buffer; with
 * window scaling, any larger free space is offered, so the edge may creep by a unit):
 * the same on a closing window, stricter here on an open one.
 *
 * No shrinking (RFC 9293 3.8.6): rounding down to the scale's unit could move the edge
 * left as bytes arrive; then the window is rounded up instead, as Linux does (the edge
 * then lies at most 2^ws - 1 bytes past the ring's, which the receive side clips).  A
 * held edge is rounded up alike. */
static uint64_t adv_wnd(const struct tcp_conn *c)
{
    const struct xp_rcv *r = &c->rcv;
    uint64_t adv = xp_rcv_adv_wnd(r);
    uint64_t prev = r->last_ack_sent + r->last_adv_wnd;
    uint64_t unit = 1ull << r->ws;
    if (r->last_ack_sent && r->nxt + adv > prev) {
        uint64_t move = r->nxt + adv - prev, half = r->wnd / 2;
        if (move < half && move < r->mss) { /* the MSS we accept bounds Eff.snd.MSS */
            uint64_t m = tcp_mss_effective(c);
            if (move < (half < m ? half : m)) /* held: the edge as it was, whole units */
                return prev > r->nxt ? (prev - r->nxt + unit - 1) & ~(unit - 1) : 0;
        }
    }
    if (r->last_adv_wnd && r->nxt + adv < prev) {
        adv = (prev - r->nxt + unit - 1) & ~(unit - 1);
        if (adv > (uint64_t)0xFFFF << r->ws)
            adv = (uint64_t)0xFFFF << r->ws;
    }
    return adv;
}

/* Option bytes on a non-SYN segment before SACK blocks. */
static size_t base_opt_len(const struct tcp_conn *c)
{
    return c->ts_ok ? 12 : 0;
}

/* Writes the header of a segment at S with dlen payload bytes (in iov) and does the
 * bookkeeping of sending it.  sack_room: option bytes the header may carry (all of
 * them, timestamps included: SACK blocks get what is left). */
static int build(struct tcp_conn *c, uint64_t now, uint8_t flags, uint64_t S, size_t dlen,
                 uint8_t *hdr, size_t hcap, const struct iovec *iov, int niov, unsigned oflags,
                 size_t sack_room)
{
    struct jet_tcp_hdr h;
    memset(&h, 0, sizeof h);
    uint64_t adv = adv_wnd(c);
    bool syn = flags & JET_TCP_SYN, ack = flags & JET_TCP_ACK, rst = flags & JET_TCP_RST;
    h.sport = c->cfg.t.lport;
    h.dport = c->cfg.t.rport;
    h.flags = flags;
    h.seq = xp_seq_wire(c->iss, S);
    h.ack = ack ? xp_seq_wire(c->irs, c->rcv.nxt) : 0;
    if (syn) {
        uint64_t w = c->rcv.wnd; /* never scaled (RFC 7323 2.2), so not rounded */
        h.win = (uint16_t)(w > 0xFFFF ? 0xFFFF : w);
        adv = h.win; /* what the peer knows of our window */
        h.opt.mss = (uint16_t)c->cfg.mss;
        bool synack = ack;
        if (synack ? c->ws_ok : !c->cfg.no_wscale) {
            h.opt.has_wscale = true;
            h.opt.wscale = c->rcv_ws;
        }
        h.opt.sack_ok = synack ? c->sack_ok : !c->cfg.no_sack;
        if (synack ? c->ts_ok : !c->cfg.no_ts) {
            h.opt.has_ts = true;
            h.opt.ts_val = tcp_ts_now(c, now);
            h.opt.ts_ecr = synack ? c->ts_recent : 0;
            c->syn_tsval = h.opt.ts_val;
        }
    } else {
        h.win = (uint16_t)(adv >> c->rcv_ws);
        if (c->ts_ok) {
            h.opt.has_ts = true;
            h.opt.ts_val = tcp_ts_now(c, now);
            h.opt.ts_ecr = c->ts_recent;
        }
        if (c->sack_ok && ack && !rst && (c->rcv.ooo.n || c->dsack_e)) {
            struct xp_range r[JET_TCP_SACK_MAX + 1];
            /* NOP NOP kind len, then 8 bytes per block */
            int max = ((int)(sack_room > 40 ? 40 : sack_room) - (c->ts_ok ? 12 : 0) - 4) / 8;
            if (max < 0)
                max = 0;
            if (max > (c->ts_ok ? 3 : 4))
                max = c->ts_ok ? 3 : 4;
            int n = sack_blocks(c, r, max);
            for (int i = 0; i < n; i++) {
                h.opt.sack[i].left = xp_seq_wire(c->irs, r[i].s);
                h.opt.sack[i].right = xp_seq_wire(c->irs, r[i].e);
            }
            h.opt.nsack = (uint8_t)n;
            c->st.sack_blocks_out += (uint64_t)n;
        }
    }
    int hl = jet_tcp_emit(hdr, hcap, &h, c->cfg.t.laddr, c->cfg.t.raddr, 0);
    if (hl < 0)
        return hl;
    csum(c, hdr, (size_t)hl, iov, niov, dlen, oflags);
    if (ack && !rst)
        xp_rcv_acked(&c->rcv, adv);
    if (rst)
        c->st.rst_out++;
    c->st.segs_out++;
    c->st.bytes_out += dlen;
    return hl + (int)dlen;
}

static int emit_rst(struct tcp_conn *c, uint64_t now, uint8_t *hdr, size_t hcap, unsigned oflags)
{
    c->rst_due = false;
    struct jet_tcp_hdr h;
    memset(&h, 0, sizeof h);
    h.sport = c->cfg.t.lport;
    h.dport = c->cfg.t.rport;
    h.flags = c->rst_flags;
    h.seq = c->rst_seq;
    h.ack = c->rst_ack;
    if (c->ts_ok && (h.flags & JET_TCP_ACK)) {
        h.opt.has_ts = true;
        h.opt.ts_val = tcp_ts_now(c, now);
        h.opt.ts_ecr = c->ts_recent;
    }
    int hl = jet_tcp_emit(hdr, hcap, &h, c->cfg.t.laddr, c->cfg.t.raddr, 0);
    if (hl < 0)
        return hl;
    csum(c, hdr, (size_t)hl, NULL, 0, 0, oflags);
    c->st.rst_out++;
    c->st.segs_out++;
    return hl;
}

static int emit_syn(struct tcp_conn *c, uint64_t now, uint8_t *hdr, size_t hcap, unsigned oflags)
{
    struct xp_snd *s = &c->snd;
    c->syn_due = false;
    if (s->nxt == 0) {
        s->nxt = 1;
        xp_rtt_time_start(&s->rtt, 1, now); /* Karn: used when no timestamps */
    } else {
        s->st.retransmits++;
        xp_rtt_time_cancel(&s->rtt);
    }
    if (!s->rtx_at)
        s->rtx_at = now + s->rtt.rto;
    uint8_t fl = c->state == TCP_SYN_SENT ? JET_TCP_SYN : JET_TCP_SYN | JET_TCP_ACK;
    return build(c, now, fl, 0, 0, hdr, hcap, NULL, 0, oflags, 0);
}

int tcp_emit(struct tcp_conn *c, uint64_t now, uint8_t *hdr, size_t hcap, size_t maxpayload,
             struct iovec *iov, int iovmax, int *niov, unsigned oflags)
{
    *niov = 0;
    c->out_seg = 0;
    if (hcap < TCP_OUT_HDR_MAX || iovmax < 1)
        return -ENOSPC;
    if (c->rst_due)
        return emit_rst(c, now, hdr, hcap, oflags);
    switch (c->state) {
    case TCP_CLOSED:
    case TCP_LISTEN:
        return 0;
    case TCP_SYN_SENT:
        c->rcv.ack_now = false; /* nothing to acknowledge yet */
        return c->syn_due ? emit_syn(c, now, hdr, hcap, oflags) : 0;
    case TCP_SYN_RCVD:
        if (c->syn_due)
            return emit_syn(c, now, hdr, hcap, oflags);
        /* an unacceptable segment or a challenge: a bare ACK, as Linux's request
         * sockets send */
        return c->rcv.ack_now ? build(c, now, JET_TCP_ACK, c->snd.nxt, 0, hdr, hcap, NULL, 0,
                                      oflags, 40)
                              : 0;
    case TCP_TIME_WAIT:
        return c->rcv.ack_now ? build(c, now, JET_TCP_ACK, c->snd.nxt, 0, hdr, hcap, NULL, 0,
                                      oflags, 40)
                              : 0;
    default:
        break;
    }

    struct xp_snd *s = &c->snd;
    size_t opt = base_opt_len(c);
    uint64_t mss = s->mss > opt + 1 ? s->mss - opt : 1;
    if (mss > maxpayload)
        mss = maxpayload;
    if (mss > TCP_SEG_MAX - TCP_OUT_HDR_MAX)
        mss = TCP_SEG_MAX - TCP_OUT_HDR_MAX;
    if (!mss)
        return -ENOSPC;
    /* TSO: whole multiples of mss, within maxpayload and one IPv4 packet */
    uint64_t big = mss;
    if (c->tso_max > mss) {
        big = xp_min64(xp_min64(c->tso_max, maxpayload), TCP_SEG_MAX - TCP_OUT_HDR_MAX);
        big = xp_max64(big - big % mss, mss);
    }
    /* Nagle (Minshall's form, as Linux) is the engine's: xp_snd_cfg.nodelay */
    uint64_t dend = xp_snd_data_end(s), nxt0 = s->nxt;
    struct xp_seg seg;
    if (xp_snd_next_tso(s, now, mss, big, iov, iovmax, niov, &seg)) {
        c->out_seg = (uint32_t)mss;
        if (!c->ts_ok) { /* Karn: time one new segment, never a retransmission */
            if (seg.pos >= nxt0)
                xp_rtt_time_start(&s->rtt, seg.pos + seg.dlen + seg.fin, now);
            else
                xp_rtt_time_cancel(&s->rtt);
        }
        uint8_t fl = JET_TCP_ACK;
        if (seg.fin)
            fl |= JET_TCP_FIN;
        if (seg.dlen && seg.pos + seg.dlen == dend)
            fl |= JET_TCP_PSH;
        /* options may use what the payload leaves of the MSS (SACK blocks) */
        size_t room = s->mss > seg.dlen ? s->mss - seg.dlen : 0;
        return build(c, now, fl, seg.pos, seg.dlen, hdr, hcap, iov, *niov, oflags, room);
    }
    *niov = 0;
    if (c->probe_due) {
        c->probe_due = false;
        return build(c, now, JET_TCP_ACK, s->una - 1, 0, hdr, hcap, NULL, 0, oflags, 40);
    }
    if (c->rcv.ack_now)
        return build(c, now, JET_TCP_ACK, s->nxt, 0, hdr, hcap, NULL, 0, oflags, 40);
    return 0;
}

void tcp_set_tso(struct tcp_conn *c, uint32_t max_bytes)
{
    c->tso_max = max_bytes;
}

uint32_t tcp_out_seg_size(const struct tcp_conn *c)
{
    return c->out_seg;
}

int tcp_output_iov(struct tcp_conn *c, uint64_t now, uint8_t *hdr, size_t hcap,
                   size_t maxpayload, struct iovec *iov, int iovmax, int *niov, unsigned flags)
{
    c->now_seen = now;
    int n = tcp_emit(c, now, hdr, hcap, maxpayload, iov, iovmax, niov, flags);
    tcp_timer_after_output(c, now);
    return n;
}

int tcp_output(struct tcp_conn *c, uint64_t now, uint8_t *buf, size_t cap)
{
    struct iovec iov[TCP_IOV_MAX];
    int niov;
    if (cap < TCP_OUT_HDR_MAX + 1)
        return -ENOSPC;
    int n = tcp_output_iov(c, now, buf, cap, cap - TCP_OUT_HDR_MAX, iov, TCP_IOV_MAX, &niov, 0);
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
