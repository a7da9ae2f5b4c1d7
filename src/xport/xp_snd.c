/* Transport engine, sender: scoreboard, loss recovery, RTO and tail loss probe, the
 * congestion control hooks and the choice of the next data segment (xp_snd.h).
 *
 * Loss rules.  Fast recovery starts on the 3rd duplicate ACK, or once 3 MSS are SACKed
 * above una, or by early retransmit (RFC 5827) for a small flight, unless an episode
 * that began at or above una is still open (NewReno's recover).  Lost: the hole at una
 * and every hole with 3 MSS SACKed above it (RFC 6675 IsLost); with no SACK at all the
 * first MSS at una; in RTO recovery every hole below recover.  Retransmissions made in
 * fast recovery are watched (rx[]): overtaken by later-sent SACKed data, they are lost
 * again (RACK's idea, by send order instead of time).
 *
 * With RACK (cfg.rack, RFC 8985; xp_rack.c) a hole is also lost once a segment sent
 * after it was delivered and RACK.rtt + reo_wnd passed since it was sent (rk.lost_to;
 * retransmissions are judged by their send time instead of by send order), and that
 * alone starts fast recovery.  Once RACK saw reordering, the counting rules (3 MSS
 * SACKed above a hole, 3 duplicate ACKs carrying SACK, early retransmit) stand down
 * and time decides (RFC 8985 replaces DupThresh where SACK is used); a peer that never
 * SACKs keeps NewReno's 3 duplicate ACKs.  RACK acts only once the peer sent a SACK
 * block.
 *
 * The fast retransmit goes whatever pipe says (RFC 5681 3.2, RFC 6675 5 step 4.2), and
 * without SACK so does a partial ACK's next hole (RFC 6582 3.2): fr_due. */
#include <string.h>

#include "xport/xp_rack.h"
#include "xport/xp_snd.h"

/* Scoreboard bound from the largest window the peer advertised: an honest receiver
 * cannot have more holes than half its window in MSS. */
static void sb_bound(struct xp_snd *s)
{
    uint64_t m = XP_SB_PER_WND * (s->max_wnd / (s->mss ? s->mss : 1) + 1);
    xp_ranges_set_max(&s->sb, m > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)m);
    xp_rack_bound(s);
}

void xp_snd_start(struct xp_snd *s, uint32_t mss, uint64_t wnd, uint64_t wl2)
{
    if (mss < s->mss)
        s->mss = mss;
    xp_cc_init(&s->cc, s->cc.ops, s->mss, s->init_segs);
    s->wnd_edge = 1 + wnd;
    s->max_wnd = wnd;
    s->wl1 = 0;
    s->wl2 = wl2;
    sb_bound(s);
}

/* Drops what una passed.  A range may not start at or below una (the ACK would have
 * covered it): a peer that SACKs so is wrong, and the range is clipped so a hole stays
 * at una. */
static void sb_trim(struct xp_snd *s)
{
    if (s->sb.n)
        s->sacked -= xp_ranges_clip(&s->sb, s->una);
}

/* Reneging (RFC 2018 8): the cumulative ACK stops at or inside a range the peer
 * SACKed, so it discarded data it had reported (Linux prunes its out-of-order queue
 * under memory pressure).  The scoreboard is forgotten: everything above una counts as
 * not received again, and recovery resends it from una in full segments.  (Linux waits
 * for the RTO to do the same; RBS's receiver never reneges.) */
static void sb_reneged(struct xp_snd *s)
{
    uint32_t i = s->sb.n ? xp_ranges_lower(&s->sb, s->una + 1) : 0;
    if (i >= s->sb.n || s->sb.r[i].s > s->una)
        return;
    xp_ranges_pop(&s->sb, s->sb.n);
    s->sacked = 0;
    s->st.sack_reneges++;
    if (s->rec != XP_REC_NONE)
        s->retx_next = s->una;
}

/* Lost bytes at or after `from`; *first gets the first such range (s == e if none). */
static uint64_t lost_scan(const struct xp_snd *s, uint64_t from, struct xp_range *first)
{
    uint64_t total = 0, above = s->sacked, prev = s->una;
    const struct xp_range *sb = s->sb.r;
    uint32_t nsb = s->sb.n;
    bool found = false;
    if (first)
        first->s = first->e = 0;
    if (s->rec == XP_REC_NONE)
        return 0;
    bool counting = !(s->rack && s->rk.reord);
    uint64_t rack_to = s->rack ? s->rk.lost_to : 0;
    for (uint32_t i = 0; i <= nsb; i++) {
        uint64_t hs = prev, he = i < nsb ? sb[i].s : s->nxt;
        bool lost;
        if (s->rec == XP_REC_RTO) {
            lost = true;
            he = xp_min64(he, xp_max64(s->recover, hs));
        } else if (i < nsb) {
            lost = i == 0 || (counting && above >= (uint64_t)XP_DUPTHRESH * s->mss);
        } else {
            lost = nsb == 0;
            he = xp_min64(he, hs + s->mss);
        }
        if (rack_to > hs && s->rec == XP_REC_FAST) { /* RACK: overdue holes */
            uint64_t re = xp_min64(i < nsb ? sb[i].s : s->nxt, rack_to);
            he = lost ? xp_max64(he, re) : re;
            lost = true;
        }
        uint64_t st = xp_max64(hs, from);
        if (lost && st < he) {
            total += he - st;
            if (!found && first) {
                first->s = st;
                first->e = he;
            }
            found = true;
        }
        if (i < nsb) {
            above -= sb[i].e - sb[i].s;
            prev = sb[i].e;
        }
    }
    return total;
}

/* Bytes of retransmissions known lost again (not SACKed, above una). */
static uint64_t relost_bytes(const struct xp_snd *s)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < s->nrx; i++)
        if (s->rx[i].lost && s->rx[i].e > s->una)
            n += s->rx[i].e - xp_max64(s->rx[i].s, s->una);
    return n;
}

uint64_t xp_snd_pipe(const struct xp_snd *s)
{
    uint64_t out = s->nxt - s->una - s->sacked;
    if (s->rec != XP_REC_NONE) {
        uint64_t lost = lost_scan(s, s->retx_next, NULL) + relost_bytes(s);
        out = out > lost ? out - lost : 0;
    }
    return out;
}

/* After an ACK in recovery: forget retransmissions that arrived, and mark lost those
 * overtaken by later-sent data. */
static void retx_update(struct xp_snd *s)
{
    /* with RACK, xp_rack_detect judges them by time */
    uint64_t top = s->sb.n && !s->rack ? s->sb.r[s->sb.n - 1].e : 0;
    uint32_t k = 0;
    for (uint32_t i = 0; i < s->nrx; i++) {
        struct xp_retx *r = &s->rx[i];
        if (r->e <= s->una || xp_ranges_covers(&s->sb, xp_max64(r->s, s->una), r->e))
            continue;
        if (!r->lost && top > r->mark) {
            r->lost = true;
            s->st.lost_retransmits++;
        }
        s->rx[k++] = *r;
    }
    s->nrx = k;
}

static void retx_note(struct xp_snd *s, uint64_t b, uint64_t e, uint64_t now)
{
    if (s->nrx == XP_RETX_MAX) { /* full: forget the oldest (the RTO still covers it) */
        memmove(&s->rx[0], &s->rx[1], (XP_RETX_MAX - 1) * sizeof s->rx[0]);
        s->nrx--;
    }
    s->rx[s->nrx].s = b;
    s->rx[s->nrx].e = e;
    s->rx[s->nrx].mark = s->nxt;
    s->rx[s->nrx].ts = now;
    s->rx[s->nrx].lost = false;
    s->nrx++;
}

/* Tail loss probe (RFC 8985 section 7): when the ACK clock may have stopped (the last
 * segments or their ACKs lost), probe after the PTO instead of waiting for the RTO, so
 * SACK feedback can start fast recovery.  PTO = 2 SRTT + the peer's delayed-ACK time.
 * RFC 8985 7.2 adds that time only when one segment is in flight; Linux adds 2 ms
 * otherwise.  Adding it always keeps a LAN's PTO (SRTT of tens of microseconds) above
 * scheduling jitter: without it RBS's bulk transfer sent ~10x more spurious probes.
 * Not armed in recovery, while a probe is out, before an RTT sample, or (RACK) while
 * segments are SACKed: RACK's timer covers that.  No probe if the RTO comes first. */
static void arm_tlp(struct xp_snd *s, uint64_t now)
{
    s->tlp_at = 0;
    if (s->rec != XP_REC_NONE || s->tlp_out || !s->rtt.have || s->una >= s->nxt)
        return;
    if (s->rack && s->sb.n)
        return;
    uint64_t t = now + 2 * s->rtt.srtt + s->ack_delay_ns;
    if (!s->rtx_at || t < s->rtx_at)
        s->tlp_at = t;
}

void xp_snd_tlp(struct xp_snd *s, uint64_t now)
{
    s->tlp_at = 0;
    if (s->rec != XP_REC_NONE || s->una >= s->nxt)
        return;
    s->tlp_due = true;
    s->tlp_out = true;
    s->st.tlp_probes++;
    s->rtx_at = now + s->rtt.rto;
}

bool xp_snd_can_send_new(const struct xp_snd *s)
{
    uint64_t avail = xp_snd_data_end(s) - s->nxt;
    uint64_t pipe = xp_snd_pipe(s);
    uint64_t croom = s->cc.cwnd > pipe ? s->cc.cwnd - pipe : 0;
    return avail && xp_min64(xp_snd_wroom(s), croom) >= xp_min64(avail, s->mss);
}

static void grow_cwnd(struct xp_snd *s, uint64_t acked, uint64_t rtt_ns, uint64_t now)
{
    uint64_t cap = xp_max64(2 * s->max_wnd, (uint64_t)s->init_segs * s->mss);
    xp_cc_on_ack(&s->cc, acked, rtt_ns, now);
    if (s->cc.cwnd > cap)
        s->cc.cwnd = xp_max64(cap, s->mss);
}

static void enter_recovery(struct xp_snd *s, enum xp_recovery how, uint64_t now)
{
    uint64_t flight = xp_snd_pipe(s);
    if (how == XP_REC_RTO)
        xp_cc_on_rto(&s->cc, flight, now);
    else
        xp_cc_on_loss(&s->cc, flight, now);
    s->rec = how;
    s->fr_due = how == XP_REC_FAST;
    s->recover = s->nxt;
    s->retx_next = s->una;
    s->dupacks = 0;
    s->nrx = 0;
    s->tlp_at = 0;
    s->tlp_due = false;
    if (how == XP_REC_RTO) {
        s->tlp_out = false;
        s->rk.tlp_end = 0;
    }
}

/* RFC 8985 7.4: the ACK covers a probe that resent the last segment and no D-SACK
 * said the original arrived: the probe repaired a loss, and congestion control reacts
 * as to any (as a recovery episode that is already over: cwnd = ssthresh, taken from
 * cwnd as Linux does since the flight is gone).  A D-SACK reported right after
 * (xp_snd_dsack) undoes it. */
static void tlp_repaired(struct xp_snd *s, uint64_t now)
{
    s->rk.tlp_cc = s->cc;
    s->rk.tlp_undo = true;
    xp_cc_on_loss(&s->cc, s->cc.cwnd, now);
    xp_cc_exit_recovery(&s->cc, false, now);
    s->st.tlp_losses++;
}

/* Starts fast recovery when a loss rule fires: the 3rd duplicate ACK, 3 MSS SACKed
 * above una, early retransmit, or RACK found a segment lost. */
static void loss_check(struct xp_snd *s, bool rack_lost, uint64_t now)
{
    if (s->rec != XP_REC_NONE || s->una >= s->nxt || s->una < s->recover)
        return;
    /* Once RACK saw reordering, time decides where the peer SACKs. */
    bool counting = !(s->rack && s->rk.reord);
    /* Early retransmit (RFC 5827): with a small flight and nothing new to send, fewer
     * than 3 segments can follow a loss; all but one segment SACKed is enough. */
    uint64_t flight = s->nxt - s->una;
    bool early = counting && s->sacked && flight - s->sacked <= s->mss &&
                 flight <= 4ull * s->mss && !xp_snd_can_send_new(s);
    if ((s->dupacks >= XP_DUPTHRESH && (counting || !s->sacked)) ||
        (counting && s->sacked >= (uint64_t)XP_DUPTHRESH * s->mss) || early || rack_lost) {
        enter_recovery(s, XP_REC_FAST, now);
        s->st.fast_retransmits++;
    }
}

void xp_snd_rack_timeout(struct xp_snd *s, uint64_t now)
{
    s->rack_at = 0;
    if (!s->rack || s->una >= s->nxt)
        return;
    if (s->rec != XP_REC_NONE)
        retx_update(s);
    loss_check(s, xp_rack_detect(s, now) || s->rk.lost_to > s->una, now);
}

void xp_snd_set_nodelay(struct xp_snd *s, bool on)
{
    s->nodelay = on;
}

void xp_snd_set_rack(struct xp_snd *s, bool on)
{
    s->rack = on && s->rk.m;
    if (!s->rack)
        s->rack_at = 0;
}

uint64_t xp_snd_next_timer(const struct xp_snd *s)
{
    uint64_t m = s->rtx_at;
    if (s->tlp_at && (!m || s->tlp_at < m))
        m = s->tlp_at;
    if (s->rack_at && (!m || s->rack_at < m))
        m = s->rack_at;
    return m;
}

void xp_snd_on_ack(struct xp_snd *s, uint64_t ack, uint64_t wnd, uint64_t seg,
                   const int64_t (*sack)[2], unsigned nsack, bool dup_ok, uint64_t rtt_ns,
                   uint64_t now)
{
    bool wnd_changed = false;
    s->rk.tlp_undo = false;
    if (seg > s->wl1 || (seg == s->wl1 && ack >= s->wl2)) {
        wnd_changed = ack + wnd != s->wnd_edge;
        s->wnd_edge = ack + wnd;
        s->wl1 = seg;
        s->wl2 = ack;
        if (wnd > s->max_wnd) {
            s->max_wnd = wnd;
            sb_bound(s);
        }
    }

    uint64_t sacked_before = s->sacked;
    uint64_t echo = rtt_ns != UINT64_MAX && rtt_ns <= now ? now - rtt_ns : UINT64_MAX;
    s->rk.fack0 = s->rk.fack;
    for (unsigned i = 0; i < nsack; i++) {
        int64_t b = sack[i][0], e = sack[i][1];
        if (e <= (int64_t)ack || e > (int64_t)s->nxt || b >= e)
            continue; /* stale or impossible block: ignored */
        if (b <= (int64_t)ack)
            b = (int64_t)ack + 1; /* keep a hole at una (the block overlaps the ACK) */
        if (b >= e)
            continue;
        uint64_t added = 0;
        if (s->rack) {
            xp_rack_on_sack(s, (uint64_t)b, (uint64_t)e, now, echo);
            s->rk.sack_seen = true;
        }
        if (xp_ranges_add(&s->sb, (uint64_t)b, (uint64_t)e, &added) < 0)
            s->st.sack_dropped++; /* at the bound: forgotten (only slower) */
        s->sacked += added;
    }

    if (ack > s->una) {
        uint64_t acked = ack - s->una;
        if (rtt_ns != UINT64_MAX)
            xp_rtt_sample(&s->rtt, rtt_ns);
        if (s->rack)
            xp_rack_on_cum(s, ack, now, echo);
        s->una = ack;
        xp_snd_free_acked(s, ack);
        sb_reneged(s);
        sb_trim(s);
        s->dupacks = 0;
        s->backoff = 0;
        if (s->rec != XP_REC_NONE && ack >= s->recover) {
            xp_cc_exit_recovery(&s->cc, s->rec == XP_REC_RTO, now);
            s->rec = XP_REC_NONE;
            s->fr_due = false;
            s->nrx = 0;
            if (s->rack)
                xp_rack_exit_recovery(s);
        } else if (s->rec != XP_REC_NONE) {
            s->retx_next = xp_max64(s->retx_next, ack);
            if (s->rec == XP_REC_FAST && !s->sb.n)
                s->fr_due = true; /* NewReno: the next hole at once */
            if (s->rec == XP_REC_RTO)
                grow_cwnd(s, acked, rtt_ns, now);
        } else {
            grow_cwnd(s, acked, rtt_ns, now);
        }
        s->rtx_at = s->una < s->nxt ? now + s->rtt.rto : 0;
        /* One probe per episode (RFC 8985 7.3): with RACK it ends when una passes the
         * probe, where 7.4 judges it; without D-SACK there is no verdict to wait for
         * and any progress ends it (as before RACK: RBS on a tail-dropping LAN). */
        if (!s->rack || !s->rk.tlp_end || ack >= s->rk.tlp_end || s->no_dsack) {
            if (s->rack && s->rk.tlp_end && ack >= s->rk.tlp_end && s->rk.tlp_retx &&
                s->rec == XP_REC_NONE && !s->no_dsack)
                tlp_repaired(s, now);
            s->tlp_out = false;
            s->rk.tlp_end = 0;
        }
        arm_tlp(s, now);
    } else {
        sb_trim(s);
        if (ack == s->una && s->una < s->nxt && dup_ok &&
            (!wnd_changed || s->sacked > sacked_before)) {
            s->dupacks++;
            s->st.dup_acks++;
        }
    }

    if (s->rec != XP_REC_NONE)
        retx_update(s);
    bool rack_lost = false;
    if (s->rack) {
        /* new verdicts, or holes judged lost above the episode that just ended */
        rack_lost = xp_rack_detect(s, now) || s->rk.lost_to > s->una;
        if (s->rack_at && s->tlp_at) /* RFC 8985 7.2: RACK's timer instead */
            s->tlp_at = 0;
    }
    loss_check(s, rack_lost, now);
}

void xp_snd_rto(struct xp_snd *s, uint64_t now)
{
    xp_rtt_backoff(&s->rtt);
    if (s->una)
        enter_recovery(s, XP_REC_RTO, now);
    s->rtx_at = now + s->rtt.rto;
}

void xp_snd_stop(struct xp_snd *s)
{
    s->rtx_at = s->tlp_at = s->rack_at = 0;
    s->tlp_due = false;
}

/* Output lends pointers into the queue's chunks (here, beside its one caller on the
 * per-segment path). */
size_t xp_snd_gather(const struct xp_snd *s, uint64_t off, size_t len, struct iovec *iov,
                     int iovmax, int *niov)
{
    uint32_t lo = 0, hi = s->ch_count; /* first chunk whose end is past off */
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        const struct xp_chunk *k = &s->ch[(s->ch_head + mid) % s->ch_cap];
        if (k->off + k->len <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t got = 0;
    int n = 0;
    for (uint32_t i = lo; i < s->ch_count && got < len && n < iovmax; i++) {
        const struct xp_chunk *k = &s->ch[(s->ch_head + i) % s->ch_cap];
        uint64_t skip = off + got - k->off;
        size_t take = (size_t)xp_min64(k->len - skip, len - got);
        iov[n].iov_base = (void *)(uintptr_t)(k->p + skip);
        iov[n].iov_len = take;
        n++;
        got += take;
    }
    *niov = n;
    return got;
}

/* Data segment over positions [b, b + len) (the FIN included if it falls inside),
 * trimmed to what the iovec holds.  false if nothing at all. */
static bool data_seg(struct xp_snd *s, uint64_t now, uint64_t b, uint64_t len,
                     struct iovec *iov, int iovmax, int *niov, struct xp_seg *seg)
{
    uint64_t dend = xp_min64(b + len, xp_snd_data_end(s));
    size_t dlen = dend > b ? (size_t)(dend - b) : 0;
    *niov = 0;
    if (dlen)
        dlen = xp_snd_gather(s, b - 1, dlen, iov, iovmax, niov);
    uint64_t fin = xp_snd_fin_pos(s);
    bool has_fin = fin != UINT64_MAX && b + dlen == fin && b + len > fin;
    if (!dlen && !has_fin) {
        *niov = 0;
        return false;
    }
    if (!s->rtx_at)
        s->rtx_at = now + s->rtt.rto;
    seg->pos = b;
    seg->dlen = dlen;
    seg->fin = has_fin;
    return true;
}

static uint64_t seg_len(const struct xp_seg *seg)
{
    return seg->dlen + seg->fin;
}

static void count_retx(struct xp_snd *s, const struct xp_seg *seg, uint64_t now)
{
    s->st.retransmits++;
    s->st.retrans_bytes += seg_len(seg);
    s->fr_due = false;
    if (s->rack)
        xp_rack_sent_retx(s, seg->pos, seg->pos + seg_len(seg), now);
}

/* New data [pos, pos + len) left: the sent map (one entry per mss: a TSO segment is
 * k wire segments), Nagle's small-segment mark (a short wire segment: the segment, or
 * a TSO segment's tail). */
static void sent_new(struct xp_snd *s, const struct xp_seg *seg, uint64_t mss, uint64_t now)
{
    if (s->rack) {
        if (seg->dlen > mss)
            for (uint64_t e = seg->pos + mss; e < s->nxt; e += mss)
                xp_rack_sent_new(s, e, now);
        xp_rack_sent_new(s, s->nxt, now);
    }
    if (seg->dlen < mss || (seg->dlen > mss && seg->dlen % mss))
        s->sml_end = s->nxt;
}

/* A TSO segment the iovec cut short (application buffers by reference): whole wire
 * segments only, so that no short one goes out in the middle of the stream. */
static void tso_trim(struct xp_seg *seg, uint64_t mss, struct iovec *iov, int *niov)
{
    size_t cut = (size_t)(seg->dlen % mss);
    seg->dlen -= cut;
    while (cut && *niov > 0) {
        struct iovec *v = &iov[*niov - 1];
        size_t k = v->iov_len < cut ? v->iov_len : cut;
        v->iov_len -= k;
        cut -= k;
        if (!v->iov_len)
            (*niov)--;
    }
}

bool xp_snd_next(struct xp_snd *s, uint64_t now, uint64_t mss, struct iovec *iov, int iovmax,
                 int *niov, struct xp_seg *seg)
{
    return xp_snd_next_tso(s, now, mss, mss, iov, iovmax, niov, seg);
}

bool xp_snd_next_tso(struct xp_snd *s, uint64_t now, uint64_t mss, uint64_t max,
                     struct iovec *iov, int iovmax, int *niov, struct xp_seg *seg)
{
    uint64_t fin = xp_snd_fin_pos(s);
    *niov = 0;
    if (s->rec != XP_REC_NONE && (s->fr_due || xp_snd_pipe(s) < s->cc.cwnd)) {
        for (uint32_t i = 0; i < s->nrx; i++) {
            struct xp_retx *x = &s->rx[i];
            if (!x->lost || x->e <= s->una)
                continue;
            uint64_t s0 = xp_max64(x->s, s->una);
            uint64_t len = xp_min64(x->e - s0, mss + (x->e == fin + 1));
            if (data_seg(s, now, s0, len, iov, iovmax, niov, seg)) {
                x->s = s0;
                x->e = s0 + seg_len(seg);
                x->lost = false;
                x->mark = s->nxt;
                x->ts = now;
                count_retx(s, seg, now);
                return true;
            }
        }
        struct xp_range r;
        if (lost_scan(s, s->retx_next, &r)) {
            uint64_t len = xp_min64(r.e - r.s, mss);
            if (r.s + len == fin) /* the FIN rides along */
                len++;
            if (data_seg(s, now, r.s, len, iov, iovmax, niov, seg)) {
                s->retx_next = r.s + seg_len(seg);
                if (s->rec == XP_REC_FAST)
                    retx_note(s, r.s, r.s + seg_len(seg), now);
                count_retx(s, seg, now);
                return true;
            }
        }
    }
    s->fr_due = false;

    uint64_t dend = xp_snd_data_end(s);
    if (s->tlp_due) {
        s->tlp_due = false;
        uint64_t avail = dend - s->nxt;
        if (avail && xp_snd_wroom(s) >= xp_min64(avail, mss)) { /* new data, beyond cwnd */
            uint64_t len = xp_min64(avail, mss);
            if (data_seg(s, now, s->nxt, len + (s->nxt + len == fin), iov, iovmax, niov, seg)) {
                s->nxt += seg_len(seg);
                s->rk.tlp_end = s->nxt;
                s->rk.tlp_retx = false;
                sent_new(s, seg, mss, now);
                return true;
            }
        } else if (s->una < s->nxt) { /* else the last segment again */
            uint64_t s0 = s->nxt - xp_min64(s->nxt - s->una, mss);
            if (data_seg(s, now, s0, s->nxt - s0, iov, iovmax, niov, seg)) {
                s->rk.tlp_end = s->nxt;
                s->rk.tlp_retx = true;
                count_retx(s, seg, now);
                return true;
            }
        }
    }
    if (s->nxt < dend || s->nxt == fin) {
        uint64_t avail = dend - s->nxt;
        uint64_t pipe = xp_snd_pipe(s);
        uint64_t cwnd = s->cc.cwnd;
        /* Limited transmit (RFC 3042): each of the first two duplicate ACKs lets one
         * more segment out.  With SACK, pipe already fell by what they SACKed. */
        if (s->dupacks && s->rec == XP_REC_NONE && !s->sacked)
            cwnd += (uint64_t)xp_min64(s->dupacks, XP_DUPTHRESH - 1) * s->mss;
        uint64_t croom = cwnd > pipe ? cwnd - pipe : 0;
        uint64_t room = xp_min64(xp_snd_wroom(s), croom);
        uint64_t len = xp_min64(xp_min64(avail, mss), room);
        /* Silly-window avoidance (RFC 9293 3.8.6.2.1): a segment cut short by the
         * window or cwnd only when nothing is in flight (otherwise an ACK will open
         * more room). */
        if (len < xp_min64(avail, mss) && (len == 0 || s->nxt > s->una))
            len = 0;
        if (max > mss && len == mss && avail > mss && room > mss) {
            /* TSO: as many whole wire segments as fit, the tail of the queued data
             * too unless Nagle would hold it as a short segment */
            len = xp_min64(xp_min64(avail, max), room);
            if (len < avail || (!s->nodelay && s->sml_end > s->una && s->nxt > s->una &&
                                s->nxt + len != fin))
                len -= len % mss;
        }
        /* Nagle (RFC 9293 3.7.4) with Minshall's refinement, as Linux: unless nodelay,
         * a short segment (the queued data ends below an MSS) waits while an earlier
         * short one is unacknowledged; the FIN does not wait.  Small writes meanwhile
         * join the same chunk and leave as full segments. */
        bool fin_rides = s->nxt + len == fin;
        if (!s->nodelay && len && len < mss && !fin_rides && s->sml_end > s->una &&
            s->nxt > s->una)
            len = 0;
        uint64_t slen = len + (len || avail == 0 ? fin_rides : 0);
        if (slen && (len || avail == 0) &&
            data_seg(s, now, s->nxt, slen, iov, iovmax, niov, seg)) {
            if (seg->dlen > mss && seg->dlen < len)
                tso_trim(seg, mss, iov, niov); /* the iovec held less */
            s->nxt += seg_len(seg);
            sent_new(s, seg, mss, now);
            if (!s->tlp_at)
                arm_tlp(s, now);
            return true;
        }
    }
    return false;
}

const char *xp_snd_violation(const struct xp_snd *s, bool open)
{
    const char *m;
    if (s->una > s->nxt)
        return "snd_una > snd_nxt";
    uint64_t fin = xp_snd_fin_pos(s);
    if (s->nxt > (fin != UINT64_MAX ? fin + 1 : xp_snd_data_end(s)))
        return "snd_nxt beyond data and FIN";
    if (open && s->una < s->nxt && !s->rtx_at)
        return "data outstanding without a retransmission timer";
    if ((m = xp_ranges_violation(&s->sb, s->una, s->nxt)))
        return m;
    if (xp_ranges_bytes(&s->sb) != s->sacked)
        return "sacked byte count";
    if (s->rec != XP_REC_NONE && (s->retx_next < s->una || s->retx_next > s->nxt))
        return "retx_next outside [snd_una, snd_nxt]";
    if (s->rec != XP_REC_NONE && s->recover > s->nxt)
        return "recover beyond snd_nxt";
    if (s->nrx > XP_RETX_MAX)
        return "retransmission watch count";
    if (xp_snd_pipe(s) > s->nxt - s->una)
        return "pipe larger than the flight";
    if (s->cc.cwnd < s->mss)
        return "cwnd below one MSS";
    if (s->rtt.rto < s->rtt.min || s->rtt.rto > s->rtt.max)
        return "rto outside [min, max]";
    if (s->tlp_at && (s->rec != XP_REC_NONE || s->una == s->nxt))
        return "tail loss probe armed in recovery or with nothing in flight";
    if (s->rack_at && s->una == s->nxt)
        return "RACK timer armed with nothing in flight";
    if ((m = xp_rack_violation(s)))
        return m;
    return xp_snd_queue_violation(s);
}
