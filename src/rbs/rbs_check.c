/* RBS core invariants, for tests and fuzzing: rbs_invariant_violation() names the
 * first broken one; rbs_check_invariants() aborts on it.  Never on the data path. */
#include <stdlib.h>

#include "rbs/rbs_impl.h"

static const char *ranges_bad(const struct rbs_range *r, uint32_t n, uint32_t max,
                              uint64_t lo, uint64_t hi)
{
    if (n > max)
        return "range count";
    for (uint32_t i = 0; i < n; i++) {
        if (r[i].s >= r[i].e)
            return "empty range";
        if (r[i].s <= lo || r[i].e > hi)
            return "range outside bounds";
        if (i && r[i].s <= r[i - 1].e)
            return "ranges unsorted, overlapping or adjacent";
    }
    return NULL;
}

const char *rbs_invariant_violation(const struct rbs_conn *c)
{
    const char *m;
    if ((unsigned)c->state > RBS_LAST_ACK)
        return "state";
    if (c->state == RBS_CLOSED && (c->rtx_at || c->persist_at || c->tw_at || c->tlp_at))
        return "timer running while CLOSED";
    /* send side */
    if (c->snd_una > c->snd_nxt)
        return "snd_una > snd_nxt";
    uint64_t fin = rbs_fin_pos(c);
    if (c->snd_nxt > (fin != UINT64_MAX ? fin + 1 : rbs_data_end(c)))
        return "snd_nxt beyond data and FIN";
    if (c->state != RBS_CLOSED && c->snd_una < c->snd_nxt && !c->rtx_at)
        return "data outstanding without a retransmission timer";
    if (c->rtx_at && c->persist_at)
        return "retransmission and persist timers both running";
    if ((m = ranges_bad(c->sb, c->nsb, RBS_SB_MAX, c->snd_una, c->snd_nxt)))
        return m;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < c->nsb; i++)
        sum += c->sb[i].e - c->sb[i].s;
    if (sum != c->sacked)
        return "sacked byte count";
    if (c->rec != REC_NONE && (c->retx_next < c->snd_una || c->retx_next > c->snd_nxt))
        return "retx_next outside [snd_una, snd_nxt]";
    if (c->rec != REC_NONE && c->recover > c->snd_nxt)
        return "recover beyond snd_nxt";
    if (rbs_pipe(c) > c->snd_nxt - c->snd_una)
        return "pipe larger than the flight";
    if (c->cwnd < c->mss || c->mss < RBS_MSS_MIN || c->mss > c->cfg.mss)
        return "cwnd or mss";
    if (c->rto < c->cfg.rto_min_ns || c->rto > c->cfg.rto_max_ns)
        return "rto outside [min, max]";
    /* send queue: chunks contiguous from the acked offset to q_end */
    uint64_t acked = c->snd_una ? (c->snd_una - 1 < c->q_end ? c->snd_una - 1 : c->q_end) : 0;
    uint64_t off = c->ch_count ? c->ch[c->ch_head].off : c->q_end;
    if (c->ch_count > c->ch_cap || c->ck_count > c->cfg.max_refs)
        return "chunk or cookie count";
    if (off > acked && c->ch_count)
        return "first chunk starts after the acked offset";
    if (c->ch_count && c->ch[c->ch_head].off + c->ch[c->ch_head].len <= acked)
        return "acked chunk not freed";
    uint64_t ring = 0;
    for (uint32_t i = 0; i < c->ch_count; i++) {
        const struct rbs_chunk *k = &c->ch[(c->ch_head + i) % c->ch_cap];
        if (k->off != off || !k->len)
            return "chunks not contiguous";
        if (!k->ref) {
            ring += k->len;
            if (k->p < c->sring || k->p + k->len > c->sring + c->sr_cap)
                return "ring chunk outside the ring";
        }
        off += k->len;
    }
    if (off != c->q_end)
        return "chunks do not end at q_end";
    if (ring != c->sr_tail - c->sr_head || ring > c->sr_cap)
        return "send ring accounting";
    /* receive side */
    if (c->rcv_nxt && c->rcv_read > c->rcv_nxt - 1)
        return "read beyond rcv_nxt";
    uint64_t dend = c->rcv_nxt < c->rcv_fin ? c->rcv_nxt : c->rcv_fin;
    if (dend && dend - 1 > c->rcv_read + c->rb_cap)
        return "received data beyond the ring";
    if (c->rcv_fin != UINT64_MAX && c->rcv_nxt > c->rcv_fin + 1)
        return "rcv_nxt past the FIN";
    if ((m = ranges_bad(c->ooo, c->nooo, RBS_OOO_MAX, c->rcv_nxt, rbs_rcv_edge(c))))
        return m;
    if (c->rcv_fin != UINT64_MAX && c->nooo && c->ooo[c->nooo - 1].e > c->rcv_fin)
        return "out-of-order data after the FIN";
    if (c->rcv_read < c->rb_base || (c->opened && (!c->rb_cap || (!c->rbuf && !c->sink))))
        return "receive ring base";
    if (c->sink && (c->rbuf || c->rcv_read != (dend ? dend - 1 : 0) || c->rcv_read < c->sink_base))
        return "sink mode: in-order bytes not counted as read";
    if (c->tlp_at && (c->rec != REC_NONE || c->snd_una == c->snd_nxt))
        return "tail loss probe armed in recovery or with nothing in flight";
    if (rbs_adv_wnd(c) > c->rb_cap)
        return "window larger than the ring";
    return NULL;
}

void rbs_check_invariants(const struct rbs_conn *c)
{
    if (rbs_invariant_violation(c))
        abort();
}
