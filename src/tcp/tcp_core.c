/* TCP core: lifetime, the open calls' common part, state changes, failure, close and
 * abort, receive-window auto-tuning, and the application's calls (send and receive
 * queues are the engine's: xp_snd / xp_rcv).
 *
 * The per-segment work is in tcp_in.c, output in tcp_out.c, and every timer is decided
 * in tcp_timer.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/tcp_impl.h"

static void set_defaults(struct tcp_cfg *k)
{
    if (!k->mss)
        k->mss = 1460;
    if (!k->rcvbuf_bytes)
        k->rcvbuf_bytes = TCP_RCVBUF_DEFAULT;
    if (!k->rcvbuf_init)
        k->rcvbuf_init = k->rcvbuf_bytes < TCP_RCVBUF_INIT_MAX ? k->rcvbuf_bytes
                                                                : TCP_RCVBUF_INIT_MAX;
    if (k->rcvbuf_init > k->rcvbuf_bytes)
        k->rcvbuf_init = k->rcvbuf_bytes;
    if (!k->sndbuf_bytes)
        k->sndbuf_bytes = 4u << 20;
    if (!k->max_refs)
        k->max_refs = 256;
    if (!k->rto_min_ns)
        k->rto_min_ns = TCP_RTO_MIN_DEFAULT_NS;
    if (!k->rto_max_ns)
        k->rto_max_ns = 60000000000ull;
    if (!k->rto_init_ns)
        k->rto_init_ns = 1000000000ull;
    if (!k->ack_delay_ns)
        k->ack_delay_ns = TCP_ACK_DELAY_DEFAULT_NS;
    if (!k->keepalive_intvl_ns)
        k->keepalive_intvl_ns = TCP_KEEPALIVE_INTVL_DEFAULT_NS;
    if (!k->keepalive_probes)
        k->keepalive_probes = 9;
    if (!k->max_retries)
        k->max_retries = 15;
    if (!k->syn_retries)
        k->syn_retries = 6;
    if (!k->time_wait_ns)
        k->time_wait_ns = TCP_TIME_WAIT_DEFAULT_NS;
    if (!k->init_cwnd_segs)
        k->init_cwnd_segs = 10;
    if (!k->cc)
        k->cc = xp_cc_find("cubic");
    if (k->rto_init_ns < k->rto_min_ns)
        k->rto_init_ns = k->rto_min_ns;
}

int tcp_create(const struct tcp_cfg *cfg, struct tcp_conn **out)
{
    struct tcp_cfg k;
    *out = NULL;
    if (cfg)
        k = *cfg;
    else
        memset(&k, 0, sizeof k);
    set_defaults(&k);
    if (k.mss < TCP_MSS_MIN || k.mss > 65535 - 40 || k.rto_min_ns > k.rto_max_ns ||
        k.rto_init_ns > k.rto_max_ns || k.max_refs > (1u << 24) || !k.init_cwnd_segs ||
        k.init_cwnd_segs > 1000 || k.rcvbuf_bytes > TCP_SEQ_WND_MAX ||
        k.rcvbuf_bytes < k.mss || k.sndbuf_bytes > TCP_SEQ_WND_MAX || !k.cc)
        return -EINVAL;

    struct tcp_conn *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->cfg = k;
    if (!k.no_wscale)
        while (c->rcv_ws < JET_TCP_WSCALE_MAX && ((uint64_t)k.rcvbuf_bytes >> c->rcv_ws) > 0xFFFF)
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
        .cc = k.cc,
        .rack = true,
        .nodelay = k.nodelay,
    };
    if (xp_snd_init(&c->snd, &sk) ||
        xp_rcv_init(&c->rcv, k.rcvbuf_bytes, k.rcvbuf_external, k.mss, c->rcv_ws,
                    k.ack_delay_ns)) {
        tcp_destroy(c);
        return -ENOMEM;
    }
    if (!k.rcvbuf_external)
        xp_rcv_set_wnd(&c->rcv, k.rcvbuf_init);
    c->rcv.move_held = true; /* an accepted connection may have bytes before a ring/sink */
    c->iss = k.isn;
    c->pmtu_mss = k.mss;
    c->peer_mss = TCP_MSS_DEFAULT;
    c->quickack = TCP_QUICKACK_SEGS;
    c->min_rtt = UINT64_MAX;
    *out = c;
    return 0;
}

void tcp_destroy(struct tcp_conn *c)
{
    if (!c)
        return;
    xp_snd_fini(&c->snd);
    xp_rcv_fini(&c->rcv);
    free(c);
}

const struct tcp_cfg *tcp_get_cfg(const struct tcp_conn *c)
{
    return &c->cfg;
}

/* The MSS we send with: ours, the peer's option, the path MTU. */
uint32_t tcp_mss_effective(const struct tcp_conn *c)
{
    uint32_t m = c->cfg.mss;
    if (c->peer_mss < m)
        m = c->peer_mss;
    if (c->pmtu_mss < m)
        m = c->pmtu_mss;
    return m < TCP_MSS_MIN ? TCP_MSS_MIN : m;
}

void tcp_enter(struct tcp_conn *c, enum tcp_state s, uint64_t now)
{
    if (s == TCP_ESTABLISHED && c->snd.fin_queued)
        s = TCP_FIN_WAIT_1;
    if (s == TCP_CLOSE_WAIT && c->snd.fin_queued)
        s = TCP_LAST_ACK;
    c->state = s;
    if (s == TCP_TIME_WAIT) {
        c->tw_at = now + c->cfg.time_wait_ns;
        xp_snd_stop(&c->snd);
        c->persist_at = 0;
        c->probe_due = false;
    }
    if (s == TCP_CLOSED) {
        xp_snd_stop(&c->snd);
        c->persist_at = c->rcv.ack_at = c->tw_at = 0;
        c->probe_due = c->syn_due = false;
    }
}

void tcp_fail(struct tcp_conn *c, int err, bool send_rst)
{
    if (send_rst && c->state != TCP_CLOSED && c->state != TCP_SYN_SENT &&
        c->state != TCP_TIME_WAIT)
        tcp_queue_rst(c, JET_TCP_RST | JET_TCP_ACK, xp_seq_wire(c->iss, c->snd.nxt),
                      xp_seq_wire(c->irs, c->rcv.nxt));
    if (!c->err)
        c->err = err;
    c->state = TCP_CLOSED;
    xp_snd_stop(&c->snd);
    c->persist_at = c->rcv.ack_at = c->tw_at = 0;
    c->probe_due = c->syn_due = c->rcv.ack_now = false;
}

int tcp_connect(struct tcp_conn *c, uint64_t now)
{
    if (c->opened)
        return -EISCONN;
    if (!c->rcv.buf && !c->rcv.sink)
        return -EINVAL;
    c->opened = true;
    c->state = TCP_SYN_SENT;
    c->syn_due = true;
    c->last_rx = now;
    c->now_seen = now;
    return 0;
}

void tcp_handshake_rtt(struct tcp_conn *c, uint64_t rtt)
{
    struct xp_rtt *r = &c->snd.rtt;
    bool timed_out = c->snd.backoff > 0;
    c->snd.backoff = 0;
    if (rtt != UINT64_MAX) {
        xp_rtt_sample(r, rtt);
        if (rtt < c->min_rtt)
            c->min_rtt = rtt;
    } else if (r->have) {
        xp_rtt_set_rto(r); /* a SYN timeout's back-off ends */
    } else {
        /* No sample: the initial RTO again without the back-off; if the SYN (or
         * SYN-ACK) timed out, at least 3 s until the first sample (RFC 6298 5.7,
         * Linux's TCP_TIMEOUT_FALLBACK), clamped to [rto_min, rto_max]. */
        uint64_t t = c->cfg.rto_init_ns;
        if (timed_out && t < TCP_RTO_FALLBACK_NS)
            t = TCP_RTO_FALLBACK_NS;
        r->rto = t < r->min ? r->min : t > r->max ? r->max : t;
    }
}

/* ---- receive-window auto-tuning ----
 * The window starts at rcvbuf_init.  Once per round trip (the smoothed RTT, at least
 * 100 us; 1 ms before any sample) the core looks at how much the application read in
 * that time: if it read at least half the window, the sender is filling the window
 * and the reader keeps up, so the window doubles (up to rcvbuf_bytes).  A slow reader
 * never grows it.  The window only grows (never withdrawn, RFC 9293 3.8.6). */
void tcp_autotune(struct tcp_conn *c, uint64_t now)
{
    struct xp_rcv *r = &c->rcv;
    if (!r->own || r->buf != r->own || r->wnd >= r->cap)
        return;
    uint64_t rtt = c->snd.rtt.have ? c->snd.rtt.srtt : 1000000;
    if (rtt < 100000)
        rtt = 100000;
    if (!c->at_epoch) {
        c->at_epoch = now;
        c->at_read0 = r->read;
        return;
    }
    if (now - c->at_epoch < rtt)
        return;
    uint64_t got = r->read - c->at_read0;
    if (got * 2 >= r->wnd)
        xp_rcv_set_wnd(r, r->wnd * 2 < r->cap ? r->wnd * 2 : r->cap);
    c->at_epoch = now;
    c->at_read0 = r->read;
}

/* ---- close ---- */

int tcp_shutdown(struct tcp_conn *c, uint64_t now)
{
    if (!c->opened)
        return -ENOTCONN;
    if (c->err)
        return c->err;
    if (c->snd.fin_queued)
        return 0;
    switch (c->state) {
    case TCP_SYN_SENT:
    case TCP_SYN_RCVD:
        c->snd.fin_queued = true; /* sent once established */
        return 0;
    case TCP_ESTABLISHED:
        c->snd.fin_queued = true;
        tcp_enter(c, TCP_FIN_WAIT_1, now);
        return 0;
    case TCP_CLOSE_WAIT:
        c->snd.fin_queued = true;
        tcp_enter(c, TCP_LAST_ACK, now);
        return 0;
    default:
        return 0; /* FIN already sent or closing */
    }
}

int tcp_abort(struct tcp_conn *c, uint64_t now)
{
    (void)now;
    if (c->state == TCP_CLOSED) {
        if (!c->err)
            c->err = -ECONNABORTED;
        return 0;
    }
    tcp_fail(c, -ECONNABORTED, true);
    return 0;
}

bool tcp_done(const struct tcp_conn *c)
{
    return c->opened && c->state == TCP_CLOSED && !c->rst_due;
}

/* ---- options ---- */

void tcp_set_nodelay(struct tcp_conn *c, bool on)
{
    c->cfg.nodelay = on;
    xp_snd_set_nodelay(&c->snd, on);
}

void tcp_set_keepalive(struct tcp_conn *c, uint64_t idle_ns, uint64_t intvl_ns, uint32_t probes)
{
    c->cfg.keepalive_ns = idle_ns;
    if (intvl_ns)
        c->cfg.keepalive_intvl_ns = intvl_ns;
    if (probes)
        c->cfg.keepalive_probes = probes;
}

/* ---- send side ---- */

static int send_check(const struct tcp_conn *c)
{
    if (c->err)
        return c->err;
    if (!c->opened)
        return -ENOTCONN;
    if (c->snd.fin_queued || c->state == TCP_CLOSED)
        return -EPIPE;
    return 0;
}

ssize_t tcp_send(struct tcp_conn *c, const void *buf, size_t len)
{
    int rc = send_check(c);
    if (rc)
        return rc;
    size_t done = xp_snd_copy(&c->snd, buf, len);
    if (done)
        tcp_timer_after_send(c);
    return done || !len ? (ssize_t)done : -EAGAIN;
}

int tcp_send_ref(struct tcp_conn *c, const void *buf, size_t len, uint64_t cookie)
{
    int rc = send_check(c);
    if (rc)
        return rc;
    if (!buf && len)
        return -EINVAL;
    rc = xp_snd_ref(&c->snd, buf, len, cookie);
    if (!rc)
        tcp_timer_after_send(c);
    return rc;
}

int tcp_completed(struct tcp_conn *c, uint64_t *cookies, int max)
{
    return xp_snd_completed(&c->snd, cookies, max);
}

uint64_t tcp_send_pending(const struct tcp_conn *c)
{
    return xp_snd_pending(&c->snd);
}

uint64_t tcp_send_space(const struct tcp_conn *c)
{
    const struct xp_snd *s = &c->snd;
    if (send_check(c))
        return 0;
    uint64_t used = s->sr_tail - s->sr_head;
    return s->sr_cap > used ? s->sr_cap - used : 0;
}

/* ---- receive side ---- */

size_t tcp_recv_ready(const struct tcp_conn *c)
{
    return xp_rcv_ready(&c->rcv);
}

bool tcp_recv_eof(const struct tcp_conn *c)
{
    return xp_rcv_eof(&c->rcv);
}

size_t tcp_recv_peek(const struct tcp_conn *c, const uint8_t **p)
{
    return xp_rcv_peek(&c->rcv, p);
}

int tcp_recv_consume(struct tcp_conn *c, size_t n)
{
    return xp_rcv_consume(&c->rcv, n, tcp_synced(c) && c->state != TCP_TIME_WAIT);
}

ssize_t tcp_recv(struct tcp_conn *c, void *buf, size_t len)
{
    size_t got = xp_rcv_read(&c->rcv, buf, len, tcp_synced(c) && c->state != TCP_TIME_WAIT);
    if (got || !len)
        return (ssize_t)got;
    if (xp_rcv_eof(&c->rcv))
        return 0;
    if (c->err)
        return c->err;
    if (!c->opened)
        return -ENOTCONN;
    return -EAGAIN;
}

int tcp_recv_register(struct tcp_conn *c, void *buf, size_t len)
{
    if (len > TCP_SEQ_WND_MAX)
        len = TCP_SEQ_WND_MAX;
    return xp_rcv_register(&c->rcv, buf, len);
}

int tcp_recv_sink(struct tcp_conn *c, tcp_sink_fn fn, void *arg, uint64_t window)
{
    return xp_rcv_set_sink(&c->rcv, fn, arg, window);
}

uint64_t tcp_recv_placed(const struct tcp_conn *c)
{
    return xp_rcv_placed(&c->rcv);
}

/* ---- queries ---- */

enum tcp_state tcp_state(const struct tcp_conn *c)
{
    return c->state;
}

const char *tcp_state_name(enum tcp_state s)
{
    static const char *const n[] = {
        "CLOSED",     "LISTEN",     "SYN_SENT", "SYN_RCVD",   "ESTABLISHED", "FIN_WAIT_1",
        "FIN_WAIT_2", "CLOSING",    "TIME_WAIT", "CLOSE_WAIT", "LAST_ACK",
    };
    return (unsigned)s < sizeof n / sizeof n[0] ? n[s] : "?";
}

int tcp_error(const struct tcp_conn *c)
{
    return c->err;
}

void tcp_get_info(const struct tcp_conn *c, struct jet_tcp_info *out)
{
    const struct xp_snd *s = &c->snd;
    const struct xp_rcv *r = &c->rcv;
    memset(out, 0, sizeof *out);
    out->state = tcp_state_name(c->state);
    out->laddr = c->cfg.t.laddr;
    out->raddr = c->cfg.t.raddr;
    out->lport = c->cfg.t.lport;
    out->rport = c->cfg.t.rport;
    out->cc = s->cc.ops ? s->cc.ops->name : "";
    out->snd_mss = s->mss;
    out->rcv_mss = c->cfg.mss;
    out->snd_wscale = c->snd_ws;
    out->rcv_wscale = c->rcv_ws;
    out->sack = c->sack_ok;
    out->timestamps = c->ts_ok;
    out->wscale = c->ws_ok;
    out->nodelay = c->cfg.nodelay;
    out->srtt_ns = s->rtt.srtt;
    out->rttvar_ns = s->rtt.rttvar;
    out->rto_ns = s->rtt.rto;
    out->min_rtt_ns = c->min_rtt == UINT64_MAX ? 0 : c->min_rtt;
    out->cwnd = s->cc.cwnd;
    out->ssthresh = s->cc.ssthresh;
    out->snd_wnd = s->wnd_edge > s->una ? s->wnd_edge - s->una : 0;
    out->rcv_wnd = r->last_adv_wnd;
    out->bytes_in = r->st.bytes_in;
    out->bytes_out = c->st.bytes_out;
    out->bytes_acked = s->una > 1 ? s->una - 1 : 0;
    out->segs_in = c->st.segs_in;
    out->segs_out = c->st.segs_out;
    out->retransmits = s->st.retransmits;
    out->retrans_bytes = s->st.retrans_bytes;
    out->fast_retransmits = s->st.fast_retransmits;
    out->lost_retransmits = s->st.lost_retransmits;
    out->timeouts = c->st.timeouts;
    out->tlp_probes = s->st.tlp_probes;
    out->rack_losses = s->st.rack_losses;
    out->dup_acks = s->st.dup_acks;
    out->sack_blocks_in = c->st.sack_blocks_in;
    out->dsack_in = c->st.dsack_in;
    out->sack_blocks_out = c->st.sack_blocks_out;
    out->dup_segs = r->st.dup_segs;
    out->ooo_segs = r->st.ooo_segs;
    out->ooo_dropped = r->st.ooo_dropped;
    out->window_drops = r->st.window_drops;
    out->challenge_acks = c->st.challenge_acks;
    out->paws_drops = c->st.paws_drops;
    out->csum_bad = c->st.csum_bad;
    out->malformed = c->st.malformed;
    out->rst_in = c->st.rst_in;
    out->rst_out = c->st.rst_out;
    out->keepalive_probes = c->st.keepalive_probes;
    out->zero_wnd_probes = c->st.zero_wnd_probes;
    out->delayed_acks = c->st.delayed_acks;
    out->quick_acks = c->st.quick_acks;
    out->sink_bytes = r->sink ? xp_rcv_placed(r) : 0;
    out->sink_writes = c->st.sink_writes;
}
