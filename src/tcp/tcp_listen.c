/* TCP listeners: the listener channel, SYNs, the bounded backlog, SYN cookies beyond
 * it, accept (include/jet/tcp.h; docs/tcp-api.md).
 *
 * A listener owns a channel with the rule {TCP, its address, its port} ({TCP, port}
 * when it listens on every address): the driver queues there every segment for the
 * port that no connection's 4-tuple rule takes, mostly SYNs.  Each poll of the
 * station (tcp_host.c) hands them to listener_frame: the segment is checked as
 * ip_input would (ip_rx_check), copied whole out of the pool into the station's
 * private buffer (h->seg) with its checksum verified there, and only the copy is used
 * from then on (the pool is shared with other processes).  Then tcpg_listener_segment:
 *   - a segment for a connection that exists (queued before its rule did) goes to it;
 *   - a SYN, while fewer than opts.backlog connections are half-open or waiting for
 *     accept, makes a connection at once (its own channel and 4-tuple rule, the core in
 *     SYN_RCVD with a SYN-ACK due): the handshake then runs on that connection's
 *     channel, and the poll queues it for accept once established (tcpg_listener_update);
 *   - beyond the backlog a SYN is answered statelessly with a SYN cookie (RFC 4987,
 *     tcp_cookie.h; counted in syn_cookies_sent): nothing is kept;
 *   - an ACK for no connection completes a cookie handshake if tcp_cookie_check
 *     accepts it, and only while the listener has sent cookies within the cookies'
 *     lifetime (Linux's rule: cookies are not even checked otherwise, so a forger has
 *     nothing to aim at while there is no flood); the connection starts ESTABLISHED
 *     (tcp_accept_cookie) and waits for accept like the others;
 *   - anything else with ACK gets an RST (RFC 9293 3.10.7.2), the rest is dropped.
 * Connections a listener made stay its own (c->lis) until accepted: a failed one is
 * freed, and closing the listener resets those left. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/tcp_glue.h" /* first: see there */

#include "chan/chan_impl.h" /* the station's error */
#include "util/clock.h"

struct jet_tcp_listener *tcpg_listener_find(struct tcp_host *h, uint32_t addr, uint16_t port)
{
    for (struct jet_tcp_listener *l = h->lis; l; l = l->next)
        if (l->port == port && (!l->addr || l->addr == addr))
            return l;
    return NULL;
}

/* The largest payload we take, as tcpg_conn_new computes it. */
static uint32_t our_mss(const struct jet_tcp_listener *l)
{
    uint32_t mss = l->h->mtu - 20 - JET_TCP_HDR_LEN;
    if (l->o.mss && l->o.mss < mss)
        mss = l->o.mss;
    uint32_t rcvbuf = l->o.rcvbuf ? l->o.rcvbuf : TCPG_DEF_BUF;
    return mss < rcvbuf ? mss : rcvbuf;
}

/* The window scale the core offers for a receive buffer of rcvbuf bytes. */
static uint8_t our_wscale(uint32_t rcvbuf)
{
    uint8_t ws = 0;
    while (ws < JET_TCP_WSCALE_MAX && ((uint64_t)rcvbuf >> ws) > 0xFFFF)
        ws++;
    return ws;
}

/* Answers a SYN beyond the backlog with a SYN cookie: no state kept. */
static void send_cookie(struct jet_tcp_listener *l, const struct tcp_tuple *t,
                        const struct jet_tcp_hdr *syn, uint64_t now)
{
    struct tcp_host *h = l->h;
    struct jet_tcp_hdr so = *syn; /* what we agree to: the options we offer too */
    if (l->o.no_timestamps)
        so.opt.has_ts = false;
    if (l->o.no_sack)
        so.opt.sack_ok = false;
    if (l->o.no_wscale)
        so.opt.has_wscale = false;
    uint32_t mss = our_mss(l);
    uint32_t ts_now = (uint32_t)(now / (1000000000u / TCP_TS_HZ)) + tcpg_ts_offset(h, t);
    struct tcp_cookie ck;
    if (tcp_cookie_make(&h->key, t, syn->seq, &so.opt, false, (uint16_t)(mss > 65535 ? 65535 : mss),
                        ts_now, now, &ck)) {
        h->st.syn_backlog_drops++; /* an MSS no cookie can carry */
        return;
    }
    uint32_t rcvbuf = l->o.rcvbuf ? l->o.rcvbuf : TCPG_DEF_BUF;
    struct jet_tcp_hdr r = {
        .sport = t->lport,
        .dport = t->rport,
        .seq = ck.isn,
        .ack = syn->seq + 1,
        .flags = JET_TCP_SYN | JET_TCP_ACK,
        .win = (uint16_t)(rcvbuf < 0xFFFF ? rcvbuf : 0xFFFF),
    };
    r.opt.mss = (uint16_t)(mss > 65535 ? 65535 : mss);
    if (ck.opt.has_ts) {
        r.opt.has_ts = true;
        r.opt.ts_val = ck.tsval;
        r.opt.ts_ecr = syn->opt.ts_val;
    }
    if (ck.opt.has_wscale) {
        r.opt.has_wscale = true;
        r.opt.wscale = our_wscale(rcvbuf);
    }
    r.opt.sack_ok = ck.opt.sack_ok;
    uint8_t b[JET_TCP_HDR_MAX];
    int n = jet_tcp_emit(b, sizeof b, &r, t->laddr, t->raddr, 0);
    if (n <= 0)
        return;
    struct iovec v = {b, (size_t)n};
    if (ip_output(h->ip->core, JET_IP_PROTO_TCP, t->raddr, &v, 1, (size_t)n, true, now) == 0) {
        h->st.syn_cookies_sent++;
        h->st.segs_out++;
        l->last_cookie = now ? now : 1;
    } else {
        h->st.syn_backlog_drops++;
    }
}

/* A connection for l from a SYN (cookie NULL) or a cookie's ACK. */
static void passive_open(struct jet_tcp_listener *l, const struct tcp_tuple *t, const uint8_t *seg,
                         size_t len, const struct tcp_cookie_opts *cookie, uint64_t now)
{
    struct tcp_host *h = l->h;
    struct jet_tcp_conn *c;
    int rc = tcpg_conn_new(h, t, &l->o, false, tcp_isn(&h->key, t, now), &c);
    if (rc) {
        h->st.syn_backlog_drops++; /* no channel or memory: as if the backlog were full */
        return;
    }
    c->lis = l;
    l->nconn++;
    rc = cookie ? tcp_accept_cookie(c->core, seg, len, TCP_IN_CSUM_OK, cookie, now)
                : tcp_accept_syn(c->core, seg, len, TCP_IN_CSUM_OK, now);
    if (rc) {
        c->established = true; /* not counted as a failed open: it never was one */
        tcpg_conn_free(c);
        return;
    }
    h->st.passive_opens++;
    tcpg_conn_output(c, now);
    tcpg_listener_update(c);
}

void tcpg_listener_segment(struct jet_tcp_listener *l, const struct tcp_tuple *t,
                           const uint8_t *seg, size_t len, uint64_t now)
{
    struct tcp_host *h = l->h;
    struct jet_tcp_hdr th;
    if (jet_tcp_parse(seg, len, t->raddr, t->laddr, &th, JET_INET_NO_CSUM)) {
        h->st.malformed++;
        return;
    }
    h->st.segs_in++;
    if (th.flags & JET_TCP_RST)
        return;
    if ((th.flags & (JET_TCP_SYN | JET_TCP_ACK)) == JET_TCP_SYN) {
        if (l->nconn < l->o.backlog)
            passive_open(l, t, seg, len, NULL, now);
        else
            send_cookie(l, t, &th, now);
        return;
    }
    if (!(th.flags & JET_TCP_ACK))
        return; /* neither SYN nor ACK: dropped (RFC 9293 3.10.7.2) */
    if (!(th.flags & JET_TCP_SYN) && l->last_cookie &&
        now - l->last_cookie < TCPG_COOKIE_RECENT_NS) {
        struct tcp_cookie_opts co;
        int rc = tcp_cookie_check(&h->key, t, th.seq, th.ack, &th.opt, now, &co, NULL);
        if (rc == 0 && l->nconn < 4u * l->o.backlog + 64) {
            h->st.syn_cookies_ok++;
            passive_open(l, t, seg, len, &co, now);
            return;
        }
        h->st.syn_cookies_bad++;
    }
    tcpg_send_rst(h, t, seg, len, now);
}

/* A frame on a listener's channel. */
static void listener_frame(struct jet_tcp_listener *l, const struct jet_rx *rx, uint64_t now)
{
    struct tcp_host *h = l->h;
    struct ip_core *ipc = h->ip->core;
    struct ip_rx ir;
    if (ip_rx_check(ipc, rx->payload, rx->len, &ir))
        return;
    if (ir.frag) {
        ip_input(ipc, rx->payload, rx->len, now); /* whole, it comes back to tcp_host.c */
        return;
    }
    if (ir.proto != JET_IP_PROTO_TCP) /* l4_len <= 65535: h->seg holds it */
        return;
    size_t len = ir.l4_len;
    if (jet_rx_read(rx, ir.l4_off, h->seg, len))
        return;
    struct jet_tcp_hdr th;
    int rc = jet_tcp_parse(h->seg, len, ir.src, ir.dst, &th, /* over our copy */
                           h->link_csum ? JET_INET_NO_CSUM : 0);
    if (rc) {
        if (rc == -EBADMSG)
            h->st.csum_bad++;
        else
            h->st.malformed++;
        return;
    }
    struct tcp_tuple t = {.laddr = ir.dst, .raddr = ir.src, .lport = th.dport, .rport = th.sport};
    struct jet_tcp_conn *c = tcpg_find(h, &t);
    if (c) /* queued here before the connection's rule existed */
        tcpg_conn_segment(c, h->seg, len, TCP_IN_CSUM_OK, now);
    else
        tcpg_listener_segment(l, &t, h->seg, len, now);
}

int tcpg_listeners_drive(struct tcp_host *h, uint64_t now)
{
    int n = 0;
    for (struct jet_tcp_listener *l = h->lis; l; l = l->next) {
        struct jet_rx rx;
        /* only what is queued: the station was polled just before */
        while (jet_chan_pending(l->ch) && jet_chan_recv(l->ch, &rx, 0) == 0) {
            listener_frame(l, &rx, now);
            jet_chan_release(l->ch, &rx);
            n++;
        }
    }
    return n;
}

void tcpg_listener_forget(struct jet_tcp_conn *c)
{
    struct jet_tcp_listener *l = c->lis;
    if (!l)
        return;
    l->nconn--;
    if (c->ready)
        l->nready--;
    c->lis = NULL;
    c->ready = false;
}

void tcpg_listener_update(struct jet_tcp_conn *c)
{
    struct jet_tcp_listener *l = c->lis;
    if (!l || c->ready)
        return;
    uint64_t now = jet_now_ns();
    enum tcp_state s = tcp_state(c->core);
    if (tcpg_conn_err(c) || tcp_done(c->core) || now - c->born > TCPG_HANDSHAKE_NS) {
        tcpg_conn_abort(c, now); /* failed before anyone saw it: forgotten */
        tcpg_conn_free(c);
        return;
    }
    if (s != TCP_SYN_RCVD && s != TCP_SYN_SENT) {
        c->established = true;
        c->ready = true;
        c->ready_seq = ++c->h->ready_seq;
        l->nready++;
    }
}

/* ---- the public calls ---- */

int jet_tcp_listen(struct jet_station *s, uint32_t addr, uint16_t port,
                   const struct jet_tcp_opts *o, struct jet_tcp_listener **out)
{
    *out = NULL;
    if (!s || !port)
        return -EINVAL;
    if (o && o->ring)
        return -EINVAL; /* a ring is for one connection: register it after accept */
    struct tcp_host *h;
    int rc = tcpg_host_attach(s, &h);
    if (rc)
        return rc;
    if (addr && addr != h->addr) {
        char a[16], b[16];
        return jet_err_set(&s->err, -EADDRNOTAVAIL, "%s is not this station's address (%s)",
                           jet_ip_format(addr, a), jet_ip_format(h->addr, b));
    }
    for (struct jet_tcp_listener *x = h->lis; x; x = x->next)
        if (x->port == port)
            return jet_err_set(&s->err, -EADDRINUSE, "TCP port %u has a listener already",
                               port);
    struct jet_tcp_listener *l = calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    if (o)
        l->o = *o;
    if (l->o.cc) { /* the application's string need not outlive the call */
        const struct xp_cc_ops *cc = xp_cc_find(l->o.cc);
        if (!cc) {
            free(l);
            return jet_err_set(&s->err, -EINVAL, "unknown congestion control \"%s\"", o->cc);
        }
        l->o.cc = cc->name;
    }
    if (!l->o.backlog)
        l->o.backlog = TCPG_DEF_BACKLOG;
    l->o.sink = false;
    l->h = h;
    l->addr = addr;
    l->port = port;
    l->flow = (struct jet_flow){.proto = JET_IP_PROTO_TCP, .dst = addr, .dport = port};
    /* Room for a burst of SYNs (and the ACKs and data that may follow them before a
     * connection's rule exists). */
    uint32_t frames = l->o.backlog * 4 + 256;
    struct jet_chan_policy p = {
        .drop = JET_DROP_NEWEST,
        .queue_frames = frames > 65536 ? 65536 : frames,
    };
    rc = ep_chan_open(s, &h->ids, &p, &l->flow, &l->ch);
    if (rc) {
        free(l);
        return rc == -EADDRINUSE
                   ? jet_err_set(&s->err, rc, "TCP port %u is steered to another channel", port)
                   : rc;
    }
    l->next = h->lis;
    h->lis = l;
    *out = l;
    return 0;
}

void jet_tcp_listener_close(struct jet_tcp_listener *l)
{
    if (!l)
        return;
    struct tcp_host *h = l->h;
    uint64_t now = jet_now_ns();
    struct jet_tcp_conn *next;
    for (struct jet_tcp_conn *c = h->conns; c; c = next) {
        next = c->next;
        if (c->lis == l) { /* never accepted: reset */
            tcpg_conn_abort(c, now);
            tcpg_conn_free(c);
        }
    }
    for (struct jet_tcp_listener **pp = &h->lis; *pp; pp = &(*pp)->next)
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    jet_chan_close(l->ch);
    free(l);
}

/* The oldest connection of l waiting for accept, or NULL. */
static struct jet_tcp_conn *oldest_ready(struct jet_tcp_listener *l)
{
    struct jet_tcp_conn *best = NULL;
    if (!l->nready)
        return NULL;
    for (struct jet_tcp_conn *c = l->h->conns; c; c = c->next)
        if (c->lis == l && c->ready && (!best || c->ready_seq < best->ready_seq))
            best = c;
    return best;
}

int jet_tcp_accept(struct jet_tcp_listener *l, struct jet_tcp_conn **out, int64_t timeout_ns)
{
    struct ep_wait w;
    *out = NULL;
    ep_wait_init(&w, timeout_ns, l->o.busy_poll);
    for (;;) {
        struct jet_tcp_conn *c = oldest_ready(l);
        if (c) {
            tcpg_listener_forget(c);
            *out = c;
            return 0;
        }
        int rc = ep_wait_more(l->h->s, &w);
        if (rc)
            return rc;
    }
}

uint32_t jet_tcp_pending(const struct jet_tcp_listener *l)
{
    return l->nready;
}
