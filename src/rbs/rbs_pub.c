/* RBS's connection records for jet stat (chan/statpub.h, "Connections"):
 * rbs_host.c names rbsg_pub_conns as RBS's hook when it attaches RBS to a
 * station; the station's publication pass (every 100 ms at most, never per
 * frame) calls it for a slice of records a poll, and it copies, for every
 * listener and
 * every connection of the station (those lingering after close too), the
 * state, the endpoints (station:channel), the engine's RTT, window and
 * congestion state and the counters.  It only reads. */
#include <string.h>

#include "chan/chan_impl.h"
#include "rbs/rbs_glue.h"
#include "rbs/rbs_impl.h"
#include "xport/xp_cc.h"

static void conn_rec(const struct rbs_host *h, const struct jet_rbs_conn *c, struct statpub_conn *r)
{
    const struct rbs_conn *k = c->core;
    const struct xp_snd *s = &k->snd;
    struct rbs_stats st;
    rbs_get_stats(k, &st);
    r->proto = STATPUB_PROTO_RBS;
    r->kind = STATPUB_CONN;
    r->chan = jet_chan_id(c->ch);
    r->laddr = h->s->addr <= 0xFFFF ? h->s->addr : 0;
    r->lport = r->chan;
    r->raddr = c->peer_st;
    r->rport = rbs_peer_chan(k);
    r->mss = st.mss;
    statpub_conn_name(r->state, rbs_state_name(rbs_state(k)));
    statpub_conn_name(r->cc, s->cc.ops ? s->cc.ops->name : "");
    r->srtt_ns = st.srtt_ns;
    r->rttvar_ns = st.rttvar_ns;
    r->rto_ns = st.rto_ns;
    r->cwnd = st.cwnd;
    r->ssthresh = st.ssthresh >= XP_SSTHRESH_INIT ? UINT64_MAX : st.ssthresh;
    r->snd_wnd = st.snd_wnd;
    r->rcv_wnd = st.rcv_wnd;
    r->in_flight = s->nxt > s->una ? s->nxt - s->una : 0;
    r->bytes_sent = st.bytes_out;
    r->bytes_received = st.bytes_in;
    r->bytes_acked = s->una > 1 ? s->una - 1 : 0; /* S 0 is the SYN */
    r->segs_out = st.segs_out;
    r->segs_in = st.segs_in;
    r->retransmits = st.retransmits;
    r->retrans_bytes = st.retrans_bytes;
    r->fast_retransmits = st.fast_retransmits;
    r->timeouts = st.timeouts;
    r->tlp_probes = st.tlp_probes;
    r->ooo_segs = st.ooo_segs;
    r->dup_segs = st.dup_segs;
}

/* The cursor (statpub_conns_fn): LISTENERS | i while listing the listeners
 * (the i-th next), then the pub_seq bound B: the connections with pub_seq
 * < B are left to list.  The list is newest first (pub_seq descending, as
 * rbsg_conn_new puts each at its head), so a walk from the head skips
 * those >= B, which were listed already or opened during the pass. */
#define LISTENERS (1ull << 62)

uint32_t rbsg_pub_conns(struct jet_station *s, void *state, uint64_t *cursor,
                        struct statpub_conn *out, uint32_t max)
{
    const struct rbs_host *h = state;
    uint32_t n = 0;
    uint64_t cur = *cursor ? *cursor : LISTENERS;
    if (cur & LISTENERS) {
        uint64_t i = 0, from = cur & ~LISTENERS;
        for (const struct jet_rbs_listener *l = h->lis; l; l = l->next, i++) {
            if (i < from)
                continue;
            if (!out) {
                n++;
                continue;
            }
            if (n == max) {
                *cursor = LISTENERS | i;
                return n;
            }
            struct statpub_conn *r = &out[n++];
            r->proto = STATPUB_PROTO_RBS;
            r->kind = STATPUB_LISTENER;
            r->chan = jet_chan_id(l->ch);
            r->laddr = s->addr <= 0xFFFF ? s->addr : 0;
            r->lport = r->chan;
            statpub_conn_name(r->state, "LISTEN");
            r->backlog = l->qn;
            r->dropped = l->dropped;
        }
        cur = h->pub_next + 1; /* every connection there is now */
    }
    for (const struct jet_rbs_conn *c = h->conns; c; c = c->next) {
        if (c->pub_seq >= cur)
            continue;
        if (!out) {
            n++;
            continue;
        }
        if (n == max) {
            *cursor = cur;
            return n;
        }
        conn_rec(h, c, &out[n++]);
        cur = c->pub_seq;
    }
    *cursor = STATPUB_CURSOR_END;
    return n;
}
