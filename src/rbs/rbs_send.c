/* RBS send side: the send queue (internal ring and referenced buffers), the SACK
 * scoreboard, loss recovery, congestion control, the RTO estimator and segment output.
 *
 * Order of work
 *   application:  rbs_send / rbs_send_ref append chunks; q_end grows.
 *   on an ACK:    rbs_on_ack (from rbs_input): window update (WL1/WL2 rule), SACK
 *                 blocks into the scoreboard, then if snd_una advances: RTT sample from
 *                 the echoed timestamp, free acked chunks, trim the scoreboard, leave
 *                 or continue recovery, grow cwnd, restart the RTO timer; else count a
 *                 duplicate ACK.  In recovery, retransmissions overtaken by later data
 *                 are marked lost again.  Then loss detection (3 dup ACKs, 3 MSS SACKed
 *                 above snd_una, or early retransmit for small flights) enters fast
 *                 recovery.
 *   on RTO:       rbs_on_rto: back off, cwnd = 1 MSS, everything unSACKed below
 *                 snd_nxt counts as lost (RTO recovery).
 *   on TLP:       rbs_on_tlp (2 SRTT + ACK delay after the flight went quiet): one probe.
 *   output:       rbs_emit picks, in order: RST, SYN / SYN-ACK, in recovery a
 *                 retransmission found lost again, then the next lost range (if
 *                 pipe < cwnd), a tail loss probe, new data / FIN (window, cwnd), a
 *                 persist or keepalive probe, a pure ACK.
 *
 * Loss accounting follows RFC 6675 in spirit: pipe = outstanding - SACKed - lost
 * ranges not yet retransmitted; retx_next marks how far the lost ranges have been
 * retransmitted in this recovery episode.  The receiver never reneges on SACKed data
 * (docs/rbs.md), so the scoreboard survives an RTO. */
#include <errno.h>
#include <string.h>

#include "rbs/rbs_impl.h"

int rbs_range_add(struct rbs_range *r, uint32_t *n, uint32_t max, uint64_t s, uint64_t e);

static uint64_t min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static uint64_t max64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

uint64_t rbs_data_end(const struct rbs_conn *c)
{
    return 1 + c->q_end;
}

uint64_t rbs_fin_pos(const struct rbs_conn *c)
{
    return c->fin_queued ? 1 + c->q_end : UINT64_MAX;
}

uint64_t rbs_send_pending(const struct rbs_conn *c)
{
    uint64_t acked = c->snd_una ? min64(c->snd_una - 1, c->q_end) : 0;
    return c->q_end - acked;
}

/* ---- send queue ---- */

static struct rbs_chunk *chunk(const struct rbs_conn *c, uint32_t i)
{
    return &c->ch[(c->ch_head + i) % c->ch_cap];
}

static int refs_in_use(const struct rbs_conn *c)
{
    int n = (int)c->ck_count;
    for (uint32_t i = 0; i < c->ch_count; i++)
        n += chunk(c, i)->ref;
    return n;
}

static int send_check(const struct rbs_conn *c)
{
    if (c->err)
        return c->err;
    if (!c->opened)
        return -ENOTCONN;
    if (c->fin_queued || c->state == RBS_CLOSED)
        return -EPIPE;
    return 0;
}

static int push_chunk(struct rbs_conn *c, const uint8_t *p, uint64_t len, uint64_t cookie,
                      bool ref)
{
    if (c->ch_count == c->ch_cap)
        return -EAGAIN;
    struct rbs_chunk *k = chunk(c, c->ch_count);
    k->p = p;
    k->off = c->q_end;
    k->len = len;
    k->cookie = cookie;
    k->ref = ref;
    c->ch_count++;
    c->q_end += len;
    return 0;
}

ssize_t rbs_send(struct rbs_conn *c, const void *buf, size_t len)
{
    int rc = send_check(c);
    if (rc)
        return rc;
    size_t done = 0;
    while (done < len) {
        uint64_t used = c->sr_tail - c->sr_head;
        uint64_t idx = c->sr_tail % c->sr_cap;
        uint64_t n = min64(min64(len - done, c->sr_cap - used), c->sr_cap - idx);
        if (!n)
            break;
        uint8_t *dst = c->sring + idx;
        struct rbs_chunk *last = c->ch_count ? chunk(c, c->ch_count - 1) : NULL;
        if (last && !last->ref && last->p + last->len == dst) {
            last->len += n;
            c->q_end += n;
        } else if (push_chunk(c, dst, n, 0, false)) {
            break;
        }
        memcpy(dst, (const uint8_t *)buf + done, n);
        c->sr_tail += n;
        done += n;
    }
    return done || !len ? (ssize_t)done : -EAGAIN;
}

int rbs_send_ref(struct rbs_conn *c, const void *buf, size_t len, uint64_t cookie)
{
    int rc = send_check(c);
    if (rc)
        return rc;
    if (!buf && len)
        return -EINVAL;
    if (refs_in_use(c) >= (int)c->cfg.max_refs)
        return -EAGAIN;
    if (!len) { /* nothing to acknowledge: complete at once */
        c->ck[(c->ck_head + c->ck_count) % c->cfg.max_refs] = cookie;
        c->ck_count++;
        return 0;
    }
    return push_chunk(c, buf, len, cookie, true);
}

int rbs_completed(struct rbs_conn *c, uint64_t *cookies, int max)
{
    int n = 0;
    while (n < max && c->ck_count) {
        cookies[n++] = c->ck[c->ck_head];
        c->ck_head = (c->ck_head + 1) % c->cfg.max_refs;
        c->ck_count--;
    }
    return n;
}

void rbs_snd_acked(struct rbs_conn *c, uint64_t una)
{
    uint64_t acked = una ? min64(una - 1, c->q_end) : 0; /* stream offset acked up to */
    while (c->ch_count) {
        struct rbs_chunk *k = chunk(c, 0);
        if (k->off >= acked)
            break;
        uint64_t n = min64(acked - k->off, k->len);
        if (!k->ref)
            c->sr_head += n;
        k->p += n;
        k->off += n;
        k->len -= n;
        if (k->len)
            break;
        if (k->ref) {
            c->ck[(c->ck_head + c->ck_count) % c->cfg.max_refs] = k->cookie;
            c->ck_count++;
        }
        c->ch_head = (c->ch_head + 1) % c->ch_cap;
        c->ch_count--;
    }
}

/* Points iov at stream bytes [off, off + len); returns how many bytes fit in iovmax
 * pieces. */
static size_t gather(const struct rbs_conn *c, uint64_t off, size_t len, struct iovec *iov,
                     int iovmax, int *niov)
{
    uint32_t lo = 0, hi = c->ch_count; /* first chunk whose end is past off */
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        const struct rbs_chunk *k = chunk(c, mid);
        if (k->off + k->len <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t got = 0;
    int n = 0;
    for (uint32_t i = lo; i < c->ch_count && got < len && n < iovmax; i++) {
        const struct rbs_chunk *k = chunk(c, i);
        uint64_t skip = off + got - k->off;
        size_t take = (size_t)min64(k->len - skip, len - got);
        iov[n].iov_base = (void *)(uintptr_t)(k->p + skip);
        iov[n].iov_len = take;
        n++;
        got += take;
    }
    *niov = n;
    return got;
}

/* ---- RTT and RTO (RFC 6298; samples from echoed timestamps, so retransmitted
 * segments give valid samples and Karn's rule is not needed) ---- */

void rbs_set_rto(struct rbs_conn *c)
{
    uint64_t var = 4 * c->rttvar;
    uint64_t rto = c->srtt + (var > 1000 ? var : 1000);
    c->rto = min64(max64(rto, c->cfg.rto_min_ns), c->cfg.rto_max_ns);
}

void rbs_rtt_sample(struct rbs_conn *c, uint32_t tsecr, uint64_t now);
void rbs_rtt_sample(struct rbs_conn *c, uint32_t tsecr, uint64_t now)
{
    uint32_t d = us32(now) - tsecr;
    if (d > 60u * 1000 * 1000) /* from the future, or absurd: no sample */
        return;
    uint64_t r = (uint64_t)d * 1000;
    if (!c->have_rtt) {
        c->srtt = r;
        c->rttvar = r / 2;
        c->have_rtt = true;
    } else {
        uint64_t diff = c->srtt > r ? c->srtt - r : r - c->srtt;
        c->rttvar = (3 * c->rttvar + diff) / 4;
        c->srtt = (7 * c->srtt + r) / 8;
    }
    rbs_set_rto(c);
}

/* ---- scoreboard and loss ---- */

/* Drops what snd_una passed.  A range may not start at or below snd_una (the ACK would
 * have covered it): a peer that SACKs so is wrong, and the range is clipped so a hole
 * stays at snd_una. */
static void sb_trim(struct rbs_conn *c)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < c->nsb; i++) {
        struct rbs_range r = c->sb[i];
        if (r.s <= c->snd_una)
            r.s = c->snd_una + 1;
        if (r.s < r.e)
            c->sb[k++] = r;
    }
    c->nsb = k;
    c->sacked = 0;
    for (uint32_t i = 0; i < c->nsb; i++)
        c->sacked += c->sb[i].e - c->sb[i].s;
}

/* Lost bytes at or after `from`; *first gets the first such range (s == e if none).
 * Fast recovery: the hole at snd_una is lost (NewReno), and any hole with at least
 * DUPTHRESH * MSS SACKed above it (RFC 6675 IsLost); with no SACK at all, the first MSS.
 * RTO recovery: every hole below `recover`. */
static uint64_t lost_scan(const struct rbs_conn *c, uint64_t from, struct rbs_range *first)
{
    uint64_t total = 0, above = c->sacked, prev = c->snd_una;
    bool found = false;
    if (first)
        first->s = first->e = 0;
    if (c->rec == REC_NONE)
        return 0;
    for (uint32_t i = 0; i <= c->nsb; i++) {
        uint64_t hs = prev, he = i < c->nsb ? c->sb[i].s : c->snd_nxt;
        bool lost;
        if (c->rec == REC_RTO) {
            lost = true;
            he = min64(he, max64(c->recover, hs));
        } else if (i < c->nsb) {
            lost = i == 0 || above >= (uint64_t)RBS_DUPTHRESH * c->mss;
        } else {
            lost = c->nsb == 0;
            he = min64(he, hs + c->mss);
        }
        uint64_t s = max64(hs, from);
        if (lost && s < he) {
            total += he - s;
            if (!found && first) {
                first->s = s;
                first->e = he;
            }
            found = true;
        }
        if (i < c->nsb) {
            above -= c->sb[i].e - c->sb[i].s;
            prev = c->sb[i].e;
        }
    }
    return total;
}

/* Bytes of retransmissions known lost again (not SACKed, above snd_una). */
static uint64_t relost_bytes(const struct rbs_conn *c)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < c->nrx; i++)
        if (c->rx[i].lost && c->rx[i].e > c->snd_una)
            n += c->rx[i].e - max64(c->rx[i].s, c->snd_una);
    return n;
}

uint64_t rbs_pipe(const struct rbs_conn *c)
{
    uint64_t out = c->snd_nxt - c->snd_una - c->sacked;
    if (c->rec != REC_NONE) {
        uint64_t lost = lost_scan(c, c->retx_next, NULL) + relost_bytes(c);
        out = out > lost ? out - lost : 0;
    }
    return out;
}

static bool sacked_range(const struct rbs_conn *c, uint64_t s, uint64_t e)
{
    for (uint32_t i = 0; i < c->nsb; i++)
        if (c->sb[i].s <= s && e <= c->sb[i].e)
            return true;
    return false;
}

/* After an ACK in recovery: forget retransmissions that arrived, and mark lost those
 * overtaken by later-sent data (RACK's idea, by send order instead of time). */
static void retx_update(struct rbs_conn *c)
{
    uint64_t top = c->nsb ? c->sb[c->nsb - 1].e : 0;
    uint32_t k = 0;
    for (uint32_t i = 0; i < c->nrx; i++) {
        struct rbs_retx *r = &c->rx[i];
        if (r->e <= c->snd_una || sacked_range(c, max64(r->s, c->snd_una), r->e))
            continue;
        if (!r->lost && top > r->mark) {
            r->lost = true;
            c->st.lost_retransmits++;
        }
        c->rx[k++] = *r;
    }
    c->nrx = k;
}

static void retx_note(struct rbs_conn *c, uint64_t s, uint64_t e)
{
    if (c->nrx == RBS_RETX_MAX) { /* full: forget the oldest (the RTO still covers it) */
        memmove(&c->rx[0], &c->rx[1], (RBS_RETX_MAX - 1) * sizeof c->rx[0]);
        c->nrx--;
    }
    c->rx[c->nrx].s = s;
    c->rx[c->nrx].e = e;
    c->rx[c->nrx].mark = c->snd_nxt;
    c->rx[c->nrx].lost = false;
    c->nrx++;
}

/* Tail loss probe (RFC 8985 section 7): when the ACK clock may have stopped (the last
 * segments or their ACKs lost), probe after 2 SRTT + the peer's ACK delay instead of
 * waiting for the RTO, so SACK feedback can start fast recovery. */
static void arm_tlp(struct rbs_conn *c, uint64_t now)
{
    c->tlp_at = 0;
    if (c->rec != REC_NONE || c->tlp_out || !c->have_rtt || c->snd_una >= c->snd_nxt ||
        !rbs_synced(c))
        return;
    uint64_t t = now + 2 * c->srtt + c->cfg.ack_delay_ns;
    if (!c->rtx_at || t < c->rtx_at)
        c->tlp_at = t;
}

void rbs_on_tlp(struct rbs_conn *c, uint64_t now)
{
    c->tlp_at = 0;
    if (c->rec != REC_NONE || c->snd_una >= c->snd_nxt || !rbs_synced(c))
        return;
    c->tlp_due = true;
    c->tlp_out = true;
    c->st.tlp_probes++;
    c->rtx_at = now + c->rto;
}

/* Could a full-sized (or final) new segment go out now? */
static bool can_send_new(const struct rbs_conn *c)
{
    uint64_t avail = rbs_data_end(c) - c->snd_nxt;
    uint64_t wroom = c->snd_wnd_edge > c->snd_nxt ? c->snd_wnd_edge - c->snd_nxt : 0;
    uint64_t pipe = rbs_pipe(c);
    uint64_t croom = c->cwnd > pipe ? c->cwnd - pipe : 0;
    return avail && min64(wroom, croom) >= min64(avail, c->mss);
}

static void grow_cwnd(struct rbs_conn *c, uint64_t acked)
{
    uint64_t cap = max64(2 * c->max_snd_wnd, (uint64_t)c->cfg.init_cwnd_segs * c->mss);
    if (c->cwnd < c->ssthresh) {
        c->cwnd += min64(acked, 2ull * c->mss); /* slow start, ABC with L = 2 */
    } else {
        c->ca_acc += acked; /* congestion avoidance: + 1 MSS per cwnd acked */
        if (c->ca_acc >= c->cwnd) {
            c->ca_acc -= c->cwnd;
            c->cwnd += c->mss;
        }
    }
    if (c->cwnd > cap)
        c->cwnd = max64(cap, c->mss);
}

static void enter_recovery(struct rbs_conn *c, enum rbs_recovery how)
{
    uint64_t flight = rbs_pipe(c);
    c->ssthresh = max64(flight / 2, 2ull * c->mss);
    c->cwnd = how == REC_RTO ? c->mss : c->ssthresh;
    c->ca_acc = 0;
    c->rec = how;
    c->recover = c->snd_nxt;
    c->retx_next = c->snd_una;
    c->dupacks = 0;
    c->nrx = 0;
    c->tlp_at = 0;
    c->tlp_due = false;
}

void rbs_on_ack(struct rbs_conn *c, const struct rbs_hdr *h, uint64_t ack, uint64_t segR,
                size_t plen, uint64_t now)
{
    uint64_t wnd = (uint64_t)h->wnd << c->snd_ws;
    bool wnd_changed = false;
    if (segR > c->snd_wl1 || (segR == c->snd_wl1 && ack >= c->snd_wl2)) {
        wnd_changed = ack + wnd != c->snd_wnd_edge;
        c->snd_wnd_edge = ack + wnd;
        c->snd_wl1 = segR;
        c->snd_wl2 = ack;
        c->max_snd_wnd = max64(c->max_snd_wnd, wnd);
    }

    uint64_t sacked_before = c->sacked;
    for (unsigned i = 0; i < h->nsack; i++) {
        int64_t s = rbs_unwrap(c->snd_una, c->iss, h->sack[i].start);
        int64_t e = rbs_unwrap(c->snd_una, c->iss, h->sack[i].end);
        if (e <= (int64_t)ack || e > (int64_t)c->snd_nxt || s >= e)
            continue; /* stale or impossible block: ignored */
        if (s <= (int64_t)ack)
            s = (int64_t)ack + 1; /* keep a hole at snd_una (the block overlaps the ACK) */
        if (s >= e)
            continue;
        rbs_range_add(c->sb, &c->nsb, RBS_SB_MAX, (uint64_t)s, (uint64_t)e); /* full: dropped */
    }

    if (ack > c->snd_una) {
        uint64_t acked = ack - c->snd_una;
        rbs_rtt_sample(c, h->tsecr, now);
        c->snd_una = ack;
        rbs_snd_acked(c, ack);
        sb_trim(c);
        c->dupacks = 0;
        c->backoff = 0;
        if (c->rec != REC_NONE && ack >= c->recover) {
            if (c->rec == REC_FAST)
                c->cwnd = max64(c->ssthresh, c->mss);
            c->rec = REC_NONE;
            c->nrx = 0;
        } else if (c->rec != REC_NONE) {
            c->retx_next = max64(c->retx_next, ack);
            if (c->rec == REC_RTO)
                grow_cwnd(c, acked);
        } else {
            grow_cwnd(c, acked);
        }
        c->rtx_at = c->snd_una < c->snd_nxt ? now + c->rto : 0;
        c->tlp_out = false;
        arm_tlp(c, now);
    } else {
        sb_trim(c);
        if (ack == c->snd_una && c->snd_una < c->snd_nxt && plen == 0 &&
            !(h->flags & RBS_FIN) && (!wnd_changed || c->sacked > sacked_before)) {
            c->dupacks++;
            c->st.dup_acks++;
        }
    }

    if (c->rec != REC_NONE)
        retx_update(c);
    /* Early retransmit (RFC 5827): with a small flight and nothing new to send, fewer
     * than 3 segments can follow a loss; all but one segment SACKed is enough. */
    uint64_t flight = c->snd_nxt - c->snd_una;
    bool early = c->sacked && flight - c->sacked <= c->mss && flight <= 4ull * c->mss &&
                 !can_send_new(c);
    if (c->rec == REC_NONE && c->snd_una < c->snd_nxt && c->snd_una >= c->recover &&
        (c->dupacks >= RBS_DUPTHRESH || c->sacked >= (uint64_t)RBS_DUPTHRESH * c->mss ||
         early)) {
        enter_recovery(c, REC_FAST);
        c->st.fast_retransmits++;
    }
}

void rbs_on_rto(struct rbs_conn *c, uint64_t now)
{
    c->st.timeouts++;
    c->backoff++;
    if (c->backoff > (c->state == RBS_SYN_SENT ? c->cfg.syn_retries : c->cfg.max_retries)) {
        rbs_fail(c, -ETIMEDOUT, true);
        return;
    }
    c->rto = min64(2 * c->rto, c->cfg.rto_max_ns);
    if (c->snd_una == 0)
        c->syn_due = true; /* SYN or SYN-ACK lost */
    else
        enter_recovery(c, REC_RTO);
    c->rtx_at = now + c->rto;
}

/* ---- output ---- */

/* Writes the header of a segment at S with dlen payload bytes (already pointed at by
 * the caller's iovec) and does the bookkeeping of sending it. */
static int build(struct rbs_conn *c, uint64_t now, uint8_t flags, uint64_t S, size_t dlen,
                 bool fin, uint8_t *hdr, size_t hcap)
{
    struct rbs_hdr h;
    memset(&h, 0, sizeof h);
    uint64_t adv = rbs_adv_wnd(c);
    h.flags = (uint8_t)(flags | (fin ? RBS_FIN : 0));
    h.seq = c->iss + (uint32_t)S;
    h.ack = flags & RBS_ACK ? c->irs + (uint32_t)c->rcv_nxt : 0;
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
    if ((flags & RBS_ACK) && !(flags & RBS_RST)) {
        c->ack_now = false;
        c->ack_owed = 0;
        c->ack_at = 0;
        c->last_ack_sent = c->rcv_nxt;
        c->last_adv_wnd = adv;
    }
    if (flags & RBS_RST)
        c->st.rst_out++;
    c->st.segs_out++;
    c->st.bytes_out += dlen;
    return hl + (int)dlen;
}

/* A data / FIN segment covering S positions [s, s + slen); fin included if it falls
 * inside.  Trims to what the iovec can hold. */
static int data_seg(struct rbs_conn *c, uint64_t now, uint64_t s, uint64_t slen, uint8_t *hdr,
                    size_t hcap, struct iovec *iov, int iovmax, int *niov, uint64_t *sent)
{
    uint64_t dend = min64(s + slen, rbs_data_end(c));
    size_t dlen = dend > s ? (size_t)(dend - s) : 0;
    if (dlen)
        dlen = gather(c, s - 1, dlen, iov, iovmax, niov);
    uint64_t fin = rbs_fin_pos(c);
    bool has_fin = fin != UINT64_MAX && s + dlen == fin && s + slen > fin;
    *sent = dlen + has_fin;
    if (!*sent) {
        *niov = 0;
        return 0;
    }
    if (!c->rtx_at)
        c->rtx_at = now + c->rto;
    return build(c, now, RBS_ACK, s, dlen, has_fin, hdr, hcap);
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
        if (c->snd_nxt == 0)
            c->snd_nxt = 1;
        else
            c->st.retransmits++;
        if (!c->rtx_at)
            c->rtx_at = now + c->rto;
        c->syn_tsval = us32(now);
        return build(c, now, c->state == RBS_SYN_SENT ? RBS_SYN : RBS_SYN | RBS_ACK, 0, 0, false,
                     hdr, hcap);
    }

    uint64_t mss = min64(c->mss, maxpayload);
    uint64_t sent;
    int rc;
    if (!mss)
        return -ENOSPC;
    if (c->rec != REC_NONE && rbs_pipe(c) < c->cwnd) {
        for (uint32_t i = 0; i < c->nrx; i++) {
            struct rbs_retx *x = &c->rx[i];
            if (!x->lost || x->e <= c->snd_una)
                continue;
            uint64_t s0 = max64(x->s, c->snd_una);
            uint64_t slen = min64(x->e - s0, mss + (x->e == rbs_fin_pos(c) + 1));
            rc = data_seg(c, now, s0, slen, hdr, hcap, iov, iovmax, niov, &sent);
            if (rc > 0) {
                x->s = s0;
                x->e = s0 + sent;
                x->lost = false;
                x->mark = c->snd_nxt;
                c->st.retransmits++;
                c->st.retrans_bytes += sent;
                return rc;
            }
        }
        struct rbs_range r;
        if (lost_scan(c, c->retx_next, &r)) {
            uint64_t slen = min64(r.e - r.s, mss);
            if (r.s + slen == rbs_fin_pos(c)) /* the FIN rides along */
                slen++;
            rc = data_seg(c, now, r.s, slen, hdr, hcap, iov, iovmax, niov, &sent);
            if (rc > 0) {
                c->retx_next = r.s + sent;
                if (c->rec == REC_FAST)
                    retx_note(c, r.s, r.s + sent);
                c->st.retransmits++;
                c->st.retrans_bytes += sent;
                return rc;
            }
        }
    }

    uint64_t dend = rbs_data_end(c), fin = rbs_fin_pos(c);
    if (c->tlp_due) {
        c->tlp_due = false;
        uint64_t wroom = c->snd_wnd_edge > c->snd_nxt ? c->snd_wnd_edge - c->snd_nxt : 0;
        uint64_t avail = dend - c->snd_nxt;
        if (avail && wroom >= min64(avail, mss)) { /* new data, beyond cwnd */
            uint64_t len = min64(avail, mss);
            rc = data_seg(c, now, c->snd_nxt, len + (c->snd_nxt + len == fin), hdr, hcap, iov,
                          iovmax, niov, &sent);
            if (rc > 0) {
                c->snd_nxt += sent;
                return rc;
            }
        } else if (c->snd_una < c->snd_nxt) { /* else the last segment again */
            uint64_t s0 = c->snd_nxt - min64(c->snd_nxt - c->snd_una, mss);
            rc = data_seg(c, now, s0, c->snd_nxt - s0, hdr, hcap, iov, iovmax, niov, &sent);
            if (rc > 0) {
                c->st.retransmits++;
                c->st.retrans_bytes += sent;
                return rc;
            }
        }
    }
    if (c->snd_nxt < dend || c->snd_nxt == fin) {
        uint64_t avail = dend - c->snd_nxt;
        uint64_t wroom = c->snd_wnd_edge > c->snd_nxt ? c->snd_wnd_edge - c->snd_nxt : 0;
        uint64_t pipe = rbs_pipe(c);
        uint64_t croom = c->cwnd > pipe ? c->cwnd - pipe : 0;
        uint64_t len = min64(min64(avail, mss), min64(wroom, croom));
        /* Silly-window avoidance: a short segment only when it ends the data or
         * nothing is in flight (otherwise an ACK will open more room). */
        if (len < min64(avail, mss) && (len == 0 || c->snd_nxt > c->snd_una))
            len = 0;
        uint64_t slen = len + (c->snd_nxt + len == fin);
        if (slen && (len || avail == 0)) {
            rc = data_seg(c, now, c->snd_nxt, slen, hdr, hcap, iov, iovmax, niov, &sent);
            if (rc > 0) {
                c->snd_nxt += sent;
                if (!c->tlp_at)
                    arm_tlp(c, now);
                return rc;
            }
        }
    }

    if (c->probe_due) {
        c->probe_due = false;
        return build(c, now, RBS_ACK, c->snd_una - 1, 0, false, hdr, hcap);
    }
    if (c->ack_now)
        return build(c, now, RBS_ACK, c->snd_nxt, 0, false, hdr, hcap);
    return 0;
}

void rbs_fail(struct rbs_conn *c, int err, bool send_rst)
{
    if (send_rst && c->state != RBS_CLOSED && c->state != RBS_SYN_SENT &&
        c->state != RBS_TIME_WAIT) {
        c->rst_due = true;
        c->rst_flags = RBS_RST | RBS_ACK;
        c->rst_seq = c->iss + (uint32_t)c->snd_nxt;
        c->rst_ack = c->irs + (uint32_t)c->rcv_nxt;
    }
    c->err = err;
    c->state = RBS_CLOSED;
    c->rtx_at = c->persist_at = c->ack_at = c->tw_at = c->tlp_at = 0;
    c->probe_due = c->syn_due = c->ack_now = c->tlp_due = false;
}
