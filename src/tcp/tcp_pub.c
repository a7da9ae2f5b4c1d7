/* TCP's connection records for jet stat (chan/statpub.h, "Connections"):
 * tcp_host.c names tcpg_pub_conns as TCP's hook when it attaches TCP to a
 * station; the station's publication pass (every 100 ms at most, never per
 * frame) calls it for a slice of records a poll, and it copies, for every
 * listener and
 * every connection of the station (half-open, waiting for accept, and
 * lingering after close too), what `ss -ti` shows: state, endpoints
 * (addr:port), RTT, windows, congestion state, the counters.  It only
 * reads. */
#include "tcp/tcp_glue.h" /* first: see there */

#include <stddef.h>
#include <string.h>

#include "chan/chan_impl.h"
#include "tcp/tcp_impl.h"
#include "xport/xp_cc.h"

static void conn_rec(const struct jet_tcp_conn *c, struct statpub_conn *r)
{
    struct jet_tcp_info in;
    jet_tcp_info(c, &in);
    const struct xp_snd *s = &c->core->snd;
    r->proto = STATPUB_PROTO_TCP;
    r->kind = STATPUB_CONN;
    r->flags = in.sack ? STATPUB_CF_SACK : 0;
    r->chan = in.local_chan;
    r->laddr = in.laddr;
    r->lport = in.lport;
    r->raddr = in.raddr;
    r->rport = in.rport;
    r->mss = in.snd_mss;
    statpub_conn_name(r->state, in.state);
    statpub_conn_name(r->cc, in.cc);
    r->srtt_ns = in.srtt_ns;
    r->rttvar_ns = in.rttvar_ns;
    r->rto_ns = in.rto_ns;
    r->min_rtt_ns = in.min_rtt_ns;
    r->cwnd = in.cwnd;
    r->ssthresh = in.ssthresh >= XP_SSTHRESH_INIT ? UINT64_MAX : in.ssthresh;
    r->snd_wnd = in.snd_wnd;
    r->rcv_wnd = in.rcv_wnd;
    r->in_flight = s->nxt > s->una ? s->nxt - s->una : 0;
    r->bytes_sent = in.bytes_out;
    r->bytes_received = in.bytes_in;
    r->bytes_acked = in.bytes_acked;
    r->segs_out = in.segs_out;
    r->segs_in = in.segs_in;
    r->retransmits = in.retransmits;
    r->retrans_bytes = in.retrans_bytes;
    r->fast_retransmits = in.fast_retransmits;
    r->timeouts = in.timeouts;
    r->tlp_probes = in.tlp_probes;
    r->sack_blocks = in.sack ? in.sack_blocks_in : 0;
    r->ooo_segs = in.ooo_segs;
    r->dup_segs = in.dup_segs;
}

static void conn_fill(const void *state, const void *c, struct statpub_conn *r)
{
    (void)state;
    conn_rec(c, r);
}

static void lis_fill(const void *state, const void *lp, struct statpub_conn *r)
{
    (void)state;
    const struct jet_tcp_listener *l = lp;
    r->proto = STATPUB_PROTO_TCP;
    r->chan = jet_chan_id(l->ch);
    r->laddr = l->addr;
    r->lport = l->port;
    r->backlog = l->nready;
}

uint32_t tcpg_pub_conns(struct jet_station *s, void *state, uint64_t *cursor,
                        struct statpub_conn *out, uint32_t max)
{
    (void)s;
    const struct tcp_host *h = state;
    const struct statpub_lists w = {
        .state = h,
        .lis = h->lis,
        .conns = h->conns,
        .lis_next = offsetof(struct jet_tcp_listener, next),
        .conn_next = offsetof(struct jet_tcp_conn, next),
        .conn_seq = offsetof(struct jet_tcp_conn, pub_seq),
        .pub_next = h->pub_next,
        .lis_rec = lis_fill,
        .conn_rec = conn_fill,
    };
    return statpub_walk(&w, cursor, out, max);
}
