/* Transport engine: RACK, time-based loss detection (RFC 8985 section 6), for the
 * sender (xp_snd.c).  TLP (section 7) lives in xp_snd.c beside the other timers.
 *
 * Order of work
 *   output:  xp_rack_sent_new appends each new data segment to the sent map with its
 *            transmit time; xp_rack_sent_retx stamps the entries a retransmission
 *            covers (time, retransmitted).
 *   an ACK:  xp_rack_on_sack for each SACK block before it enters the scoreboard and
 *            xp_rack_on_cum before una moves: the segments newly delivered update
 *            RACK.xmit_ts / end_seq / rtt / min_RTT (step 2; a retransmission whose
 *            ACK echoes an earlier time or came back faster than min_RTT is skipped)
 *            and reveal reordering (step 3: delivered below RACK.fack, never resent).
 *            Then xp_rack_detect (steps 4-5).
 *   timer:   rack_at, the latest moment an outstanding segment sent before RACK's
 *            becomes overdue; xp_snd_rack_timeout runs the detection again.
 *
 * The sent map: a ring of (end, time, retransmitted) in position order, one entry per
 * segment, the head's start at una.  Bounded from the peer's window like the
 * scoreboard; it grows only at a new high-water mark and, at its bound, a new segment
 * merges into the last entry (its time becomes the later one: loss is only found
 * later, never wrongly).
 *
 * How loss is expressed.  Never-retransmitted segments leave in position order, so
 * their transmit times ascend with position: if one is overdue, every hole below it
 * sent before it is too.  RACK's verdict on them is therefore one position, lost_to,
 * and the RFC 6675 machinery (lost_scan, retx_next) counts holes below it as lost.
 * Retransmissions made in fast recovery are the watched rx[] entries (they carry their
 * send time): overdue, they are marked lost again.  In RTO recovery every hole below
 * recover is lost already.
 *
 * RACK judges only once the peer has sent a SACK block (RFC 8985 assumes SACK, as
 * Linux does): from cumulative ACKs alone every segment sent before a delivered
 * retransmission would look lost.  A SACK-capable peer SACKs the first out-of-order
 * arrival, so nothing is lost by waiting for it. */
#include <stdlib.h>
#include <string.h>

#include "xport/xp_rack.h"

/* Slack when comparing an echoed timestamp with a transmit time: wire timestamps are
 * microseconds, the engine's times nanoseconds. */
enum { ECHO_SLACK_NS = 2 * XP_RTT_GRANULARITY_NS };

/* cap is a power of two */
static struct xp_sent *ent(const struct xp_rack *k, uint32_t i)
{
    return &k->m[(k->head + i) & (k->cap - 1)];
}

int xp_rack_init(struct xp_snd *s)
{
    struct xp_rack *k = &s->rk;
    k->cap = k->max = XP_SENT_MIN;
    k->m = calloc(k->cap, sizeof *k->m);
    k->min_rtt = UINT64_MAX;
    k->reo_mult = 1;
    return k->m ? 0 : -1;
}

void xp_rack_fini(struct xp_snd *s)
{
    free(s->rk.m);
    s->rk.m = NULL;
    s->rk.cap = s->rk.n = 0;
}

void xp_rack_bound(struct xp_snd *s)
{
    uint64_t m = 2 * (s->max_wnd / (s->mss ? s->mss : 1) + 1) + XP_SENT_MIN;
    s->rk.max = m > (1u << 24) ? 1u << 24 : (uint32_t)m;
}

/* Doubles the ring (at a new high-water mark only) while below the bound.  false: at
 * the bound or no memory. */
static bool grow(struct xp_rack *k)
{
    if (k->cap >= k->max)
        return false;
    uint32_t nc = k->cap * 2;
    struct xp_sent *m = malloc((size_t)nc * sizeof *m);
    if (!m)
        return false;
    for (uint32_t i = 0; i < k->n; i++)
        m[i] = *ent(k, i);
    free(k->m);
    k->m = m;
    k->cap = nc;
    k->head = 0;
    return true;
}

void xp_rack_sent_new(struct xp_snd *s, uint64_t e, uint64_t now)
{
    struct xp_rack *k = &s->rk;
    if (!k->m)
        return;
    if (k->n == k->cap && !grow(k)) {
        struct xp_sent *last = ent(k, k->n - 1);
        last->e = e;
        last->ts = now;
        return;
    }
    struct xp_sent *x = ent(k, k->n++);
    x->e = e;
    x->ts = now;
    x->retx = false;
}

/* Index of the first entry ending after pos (n if none). */
static uint32_t find(const struct xp_rack *k, uint64_t pos)
{
    uint32_t lo = 0, hi = k->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (ent(k, mid)->e <= pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void xp_rack_sent_retx(struct xp_snd *s, uint64_t b, uint64_t e, uint64_t now)
{
    struct xp_rack *k = &s->rk;
    for (uint32_t i = find(k, b); i < k->n; i++) {
        struct xp_sent *x = ent(k, i);
        if (i && ent(k, i - 1)->e >= e)
            break;
        x->ts = now;
        x->retx = true;
        k->retx_hi = xp_max64(k->retx_hi, x->e);
    }
}

/* RACK_sent_after(t1, seq1, t2, seq2) */
static bool sent_after(uint64_t t1, uint64_t e1, uint64_t t2, uint64_t e2)
{
    return t1 > t2 || (t1 == t2 && e1 > e2);
}

/* Step 2 and 3 for one newly delivered segment (taken in ascending position). */
static void delivered(struct xp_snd *s, const struct xp_sent *x, uint64_t now, uint64_t echo)
{
    struct xp_rack *k = &s->rk;
    /* one ACK's segments count in ascending order: compare with fack before it */
    if (x->e > k->fack)
        k->fack = x->e;
    if (x->e < k->fack0 && !x->retx && !k->reord) {
        k->reord = true;
        s->st.rack_reorder++;
    }
    uint64_t rtt = now > x->ts ? now - x->ts : 0;
    if (x->retx) { /* the ACK may be for an earlier transmission (Karn's ambiguity) */
        if (echo != UINT64_MAX && echo + ECHO_SLACK_NS < x->ts)
            return;
        if (k->min_rtt != UINT64_MAX && rtt < k->min_rtt)
            return;
    }
    if (!sent_after(x->ts, x->e, k->xmit_ts, k->end))
        return; /* RACK.rtt follows the most recently sent segment delivered */
    k->rtt = rtt;
    if (rtt < k->min_rtt)
        k->min_rtt = rtt;
    k->xmit_ts = x->ts;
    k->end = x->e;
    k->is_retx = x->retx;
}

void xp_rack_on_sack(struct xp_snd *s, uint64_t b, uint64_t e, uint64_t now, uint64_t echo)
{
    struct xp_rack *k = &s->rk;
    /* entries whose last byte is in [b, e) and was not SACKed before */
    uint32_t j = xp_ranges_lower(&s->sb, b);
    for (uint32_t i = find(k, b); i < k->n; i++) {
        const struct xp_sent *x = ent(k, i);
        if (x->e > e)
            break;
        uint64_t last = x->e - 1;
        while (j < s->sb.n && s->sb.r[j].e <= last)
            j++;
        if (j < s->sb.n && s->sb.r[j].s <= last)
            continue;
        delivered(s, x, now, echo);
    }
}

void xp_rack_on_cum(struct xp_snd *s, uint64_t ack, uint64_t now, uint64_t echo)
{
    struct xp_rack *k = &s->rk;
    uint32_t j = 0;
    uint64_t st = s->una;
    if (!s->sb.n && k->retx_hi <= s->una) {
        /* The common case: nothing SACKed (so RACK.fack <= una: no reordering to see)
         * and nothing resent, so the last segment acknowledged is the most recently
         * sent one: only it counts. */
        uint32_t i = 0;
        while (i < k->n && ent(k, i)->e <= ack)
            i++;
        if (i) {
            delivered(s, ent(k, i - 1), now, echo);
            k->head = (k->head + i) & (k->cap - 1);
            k->n -= i;
        }
        return;
    }
    while (k->n) {
        struct xp_sent *x = ent(k, 0);
        if (x->e > ack)
            break;
        if (x->e > st) {
            /* delivered now unless one scoreboard range already held all of it */
            while (j < s->sb.n && s->sb.r[j].e < x->e)
                j++;
            if (!(j < s->sb.n && s->sb.r[j].s <= st))
                delivered(s, x, now, echo);
        }
        st = x->e;
        k->head = (k->head + 1) & (k->cap - 1);
        k->n--;
    }
}

uint64_t xp_snd_reo_wnd(const struct xp_snd *s)
{
    const struct xp_rack *k = &s->rk;
    if (!k->reord) {
        if (s->rec != XP_REC_NONE)
            return 0;
        if (s->sacked >= (uint64_t)XP_DUPTHRESH * s->mss)
            return 0;
    }
    if (k->min_rtt == UINT64_MAX)
        return 0;
    uint64_t w = k->min_rtt / 4 * k->reo_mult;
    return s->rtt.have ? xp_min64(w, s->rtt.srtt) : w;
}

void xp_snd_dsack(struct xp_snd *s)
{
    struct xp_rack *k = &s->rk;
    s->st.dsacks++;
    if (k->tlp_undo) { /* the probe only duplicated what had arrived (RFC 8985 7.4) */
        s->cc = k->tlp_cc;
        k->tlp_undo = false;
        s->st.tlp_losses--;
    }
    if (k->dsack_round && s->una >= k->dsack_round)
        k->dsack_round = 0;
    if (!k->dsack_round) {
        k->dsack_round = xp_max64(s->nxt, 1);
        if (k->reo_mult < 1u << 16)
            k->reo_mult++;
        k->reo_persist = XP_RACK_PERSIST;
    }
}

void xp_rack_exit_recovery(struct xp_snd *s)
{
    struct xp_rack *k = &s->rk;
    if (k->reo_persist && --k->reo_persist == 0)
        k->reo_mult = 1;
}

/* One outstanding transmission (time ts, end e): lost now?  Else *timeout grows to
 * when it would be (RFC 8985 6.2 step 5). */
static bool overdue(const struct xp_rack *k, uint64_t ts, uint64_t e, uint64_t reo,
                    uint64_t now, uint64_t *timeout)
{
    if (!sent_after(k->xmit_ts, k->end, ts, e))
        return false;
    uint64_t due = ts + k->rtt + reo;
    if (due <= now)
        return true;
    *timeout = xp_max64(*timeout, due - now);
    return false;
}

bool xp_rack_detect(struct xp_snd *s, uint64_t now)
{
    struct xp_rack *k = &s->rk;
    s->rack_at = 0;
    /* Nothing delivered yet; or nothing can be overdue: no watched retransmission, and
     * (below) no hole sent before RACK's segment. */
    if (!k->sack_seen || !k->end ||
        (!s->nrx && !s->sb.n && k->retx_hi <= s->una && !k->is_retx))
        return false;
    uint64_t reo = xp_snd_reo_wnd(s), timeout = 0;
    bool lost = false;

    /* watched retransmissions of this fast recovery episode */
    for (uint32_t i = 0; i < s->nrx; i++) {
        struct xp_retx *r = &s->rx[i];
        if (r->lost || r->e <= s->una)
            continue;
        if (xp_ranges_covers(&s->sb, xp_max64(r->s, s->una), r->e))
            continue;
        if (overdue(k, r->ts, r->e, reo, now, &timeout)) {
            r->lost = true;
            s->st.lost_retransmits++;
            s->st.rack_losses++;
            lost = true;
        }
    }

    /* The map: nothing can be overdue when no hole exists above una that was sent
     * before RACK's segment: no SACK, no retransmission above una, and RACK's segment
     * (below una) never resent, so every outstanding segment was sent after it. */
    if (s->sb.n || k->retx_hi > s->una || k->is_retx) {
        /* From lost_to (below: lost already), or in RTO recovery from recover (below:
         * all lost); from una when a retransmission (a probe) is out of recovery. */
        uint64_t from = xp_max64(k->lost_to, s->una);
        if (s->rec == XP_REC_RTO)
            from = xp_max64(from, s->recover);
        else if (s->rec == XP_REC_NONE && k->retx_hi > s->una)
            from = s->una;
        uint32_t i = find(k, from);
        uint64_t st = i ? ent(k, i - 1)->e : s->una;
        uint32_t j = xp_ranges_lower(&s->sb, st);
        for (; i < k->n; i++) {
            const struct xp_sent *x = ent(k, i);
            uint64_t xs = xp_max64(st, s->una);
            st = x->e;
            if (!x->retx && x->e > k->retx_hi && sent_after(x->ts, x->e, k->xmit_ts, k->end))
                break; /* and every later segment too */
            if (x->e <= xs)
                continue;
            while (j < s->sb.n && s->sb.r[j].e < x->e)
                j++;
            if (j < s->sb.n && s->sb.r[j].s <= xs)
                continue; /* delivered */
            if (x->retx && s->rec != XP_REC_NONE)
                continue; /* watched in rx[] (fast recovery) or lost (RTO) */
            if (x->e <= k->lost_to)
                continue;
            if (overdue(k, x->ts, x->e, reo, now, &timeout)) {
                k->lost_to = x->e;
                s->st.rack_losses++;
                lost = true;
            }
        }
    }
    if (timeout)
        s->rack_at = now + timeout;
    return lost;
}

const char *xp_rack_violation(const struct xp_snd *s)
{
    const struct xp_rack *k = &s->rk;
    if (!k->m)
        return k->n ? "sent map entries without storage" : NULL;
    if (k->n > k->cap || (k->cap & (k->cap - 1)))
        return "sent map count or capacity";
    uint64_t prev = 0;
    for (uint32_t i = 0; i < k->n; i++) {
        const struct xp_sent *x = ent(k, i);
        if (x->e <= prev || x->e <= s->una || x->e > s->nxt)
            return "sent map not ascending within (snd_una, snd_nxt]";
        prev = x->e;
    }
    if (k->lost_to > s->nxt || k->end > s->nxt || k->fack > s->nxt)
        return "RACK position beyond snd_nxt";
    return NULL;
}
