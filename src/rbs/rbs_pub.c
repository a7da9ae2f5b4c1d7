/* RBS's connection records for jet stat (chan/statpub.h, "Connections"):
 * rbs_host.c names rbsg_pub_conns as RBS's hook when it attaches RBS to a
 * station; the station's publication pass (every 100 ms at most, never per
 * frame) calls it for a slice of records a poll, and it copies, for every
 * listener and
 * every connection of the station (those lingering after close too), the
 * state, the endpoints (station:channel), the engine's RTT, window and
 * congestion state and the counters.  It only reads. */
#include <stddef.h>
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

static void conn_fill(const void *state, const void *c, struct statpub_conn *r)
{
    conn_rec(state, c, r);
}

static void lis_fill(const void *state, const void *lp, struct statpub_conn *r)
{
    const struct rbs_host *h = state;
    const struct jet_rbs_listener *l = lp;
    r->proto = STATPUB_PROTO_RBS;
    r->chan = jet_chan_id(l->ch);
    r->laddr = h->s->addr <= 0xFFFF ? h->s->addr : 0;
    r->lport = r->chan;
    r->backlog = l->qn;
    r->dropped = l->dropped;
}

uint32_t rbsg_pub_conns(struct jet_station *s, void *state, uint64_t *cursor,
                        struct statpub_conn *out, uint32_t max)
{
    (void)s;
    const struct rbs_host *h = state;
    const struct statpub_lists w = {
        .state = h,
        .lis = h->lis,
        .conns = h->conns,
        .lis_next = offsetof(struct jet_rbs_listener, next),
        .conn_next = offsetof(struct jet_rbs_conn, next),
        .conn_seq = offsetof(struct jet_rbs_conn, pub_seq),
        .pub_next = h->pub_next,
        .lis_rec = lis_fill,
        .conn_rec = conn_fill,
    };
    return statpub_walk(&w, cursor, out, max);
}
