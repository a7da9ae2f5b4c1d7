/* TCP glue, connections: binds the sans-I/O core (tcp_core.h) to the station's IPv4
 * (ip_core.h) and a channel per connection, and gives applications the connection
 * calls of include/jet/tcp.h.  Spec: docs/tcp-api.md.  Listeners are in tcp_listen.c,
 * TCP as a protocol of the station in tcp_host.c; blocking, channel ids and linger are
 * the shared endpoint glue (chan/endpoint.h).
 *
 * Steering.  Every connection owns a channel with the rule {TCP, remote address and
 * port, our address and port} (jet_flow's connection shape): the driver queues the
 * connection's frames there, in the link's pool.  Whatever reaches the IPv4 core
 * instead (fragments, reassembled; frames queued on a listener channel before the
 * rule existed) comes back through tcp_host.c to tcpg_conn_segment.
 *
 * Input (tcpg_conn_drive, run by every poll of the station): each frame of the channel
 * is checked as ip_input would (ip_rx_check: MAC, IPv4 header, our address; a fragment
 * goes to ip_input to be reassembled), and its TCP segment goes to tcp_input straight
 * from the pool with flags 0: the core copies the header out and the payload once, to
 * its place in the receive ring (or through the sink hook into the application's file),
 * and verifies the checksum over exactly the bytes it copied (the pool is shared with
 * other processes); on a link with caps.csum (the LAN: frames arrive intact or not at
 * all) with TCP_IN_CSUM_OK instead, and output leaves checksums partial.  Every
 * TCPG_ACK_BATCH segments of a backlog, output runs (the ACK due goes out while the
 * rest is placed).  Then due timers, then output.
 *
 * Output: tcp_output_iov writes the header into a stack buffer and points at the
 * payload in the send ring or a referenced buffer; ip_output copies both once into the
 * lent frame behind the IPv4 header (DF set: path MTU discovery).  When the link has
 * no room (-EAGAIN) the segment is copied aside (c->held) and sent first by the next
 * drive, before anything new: the core counted it as sent and must not lose it.  A
 * segment IPv4 refuses for good (no route, ARP gave up) is lost: the core resends it;
 * before the handshake completed the connection fails at once with that error.
 *
 * A blocking call tries, and when nothing could be done drives the station once
 * (ep_wait_more: that runs TCP for every connection and listener of the station) or
 * sleeps until a frame, the station's next timer or its deadline. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tcp/tcp_glue.h" /* first: see there */

#include "chan/chan_impl.h" /* the station's error */
#include "util/clock.h"

int tcpg_conn_err(const struct jet_tcp_conn *c)
{
    return c->err ? c->err : tcp_error(c->core);
}

static const char *peer_text(const struct jet_tcp_conn *c, char *b, size_t n)
{
    char a[16];
    snprintf(b, n, "%s:%u", jet_ip_format(c->t.raddr, a), c->t.rport);
    return b;
}

/* Words for the connection's error, written once when it is first seen. */
void tcpg_explain(struct jet_tcp_conn *c)
{
    int e = tcpg_conn_err(c);
    if (!e || c->why[0])
        return;
    char p[32], a[16];
    peer_text(c, p, sizeof p);
    jet_ip_format(c->t.raddr, a);
    switch (e) {
    case -ECONNRESET:
        snprintf(c->why, sizeof c->why, "connection with %s reset by the peer (RST)", p);
        break;
    case -ECONNREFUSED:
        snprintf(c->why, sizeof c->why, "connection to %s refused (%s)", p,
                 c->icmp_err == -ECONNREFUSED   ? "ICMP port unreachable"
                 : c->icmp_err == -ENOPROTOOPT ? "ICMP protocol unreachable: no TCP there"
                                               : "RST");
        break;
    case -ETIMEDOUT:
        if (c->established)
            snprintf(c->why, sizeof c->why,
                     "%s stopped answering (retransmission, keepalive or user timeout)", p);
        else
            snprintf(c->why, sizeof c->why,
                     "no answer from %s (the SYN was sent again and again: nobody there, or "
                     "a firewall drops it)",
                     p);
        break;
    case -EHOSTUNREACH:
        snprintf(c->why, sizeof c->why,
                 "%s is unreachable (no answer to ARP, or an ICMP error said so)", a);
        break;
    case -ENETUNREACH:
        snprintf(c->why, sizeof c->why,
                 "no route to %s: outside the station's prefix and no gateway", a);
        break;
    case -ECONNABORTED:
        snprintf(c->why, sizeof c->why, "connection with %s aborted", p);
        break;
    default:
        snprintf(c->why, sizeof c->why, "connection with %s failed: %s", p, strerror(-e));
    }
}

/* ---- output ---- */

/* Fails a connection that has not completed its handshake with IPv4's verdict. */
static void fail_unreachable(struct jet_tcp_conn *c, int rc, uint64_t now)
{
    if (c->established || tcpg_conn_err(c))
        return;
    c->err = rc;
    tcp_abort(c->core, now);
    tcpg_explain(c);
}

/* The link refused a frame to h->ip->gone_addr for good (ip_glue.c tx_commit: on the
 * LAN, that station left the link, its process gone): every connection to that address
 * fails now with -EHOSTUNREACH and the link's words, rather than after its timeouts. */
static void conns_gone(struct tcp_host *h, uint64_t now)
{
    struct ip_host *ip = h->ip;
    ip->gone = false;
    for (struct jet_tcp_conn *k = h->conns; k; k = k->next) {
        enum tcp_state st = tcp_state(k->core);
        if (k->t.raddr != ip->gone_addr || tcpg_conn_err(k) || st == TCP_CLOSED ||
            st == TCP_TIME_WAIT)
            continue;
        char p[32];
        k->err = -EHOSTUNREACH;
        tcp_abort(k->core, now);
        snprintf(k->why, sizeof k->why, "%s left the link: %s", peer_text(k, p, sizeof p),
                 ip->gone_why);
    }
}

/* Sends n bytes of segment (the iovec) through IPv4, with the link's segment size gso
 * when it segments (c->tso; then the checksum is partial).  0 sent (or queued for
 * ARP), -EAGAIN the link had no room, else the error (the segment is lost). */
static int seg_send(struct jet_tcp_conn *c, const struct iovec *iov, int niov, size_t n,
                    uint16_t gso, uint64_t now)
{
    int rc = ip_output_gso(c->h->ip->core, JET_IP_PROTO_TCP, c->t.raddr, iov, niov, n, true,
                           gso, now);
    if (c->h->ip->gone)
        conns_gone(c->h, now);
    if (rc == 0 || rc == -EAGAIN)
        return rc;
    c->tx_refused++;
    if (rc == -EHOSTUNREACH || rc == -ENETUNREACH)
        fail_unreachable(c, rc, now);
    else if (rc == -EMSGSIZE) /* over the link's MTU: as a local "fragmentation needed" */
        tcp_pmtu(c->core, c->h->mtu, now);
    return rc;
}

void tcpg_conn_output(struct jet_tcp_conn *c, uint64_t now)
{
    if (c->held_len) {
        struct iovec v = {c->held, c->held_len};
        if (seg_send(c, &v, 1, c->held_len, c->held_seg, now) == -EAGAIN)
            return;
        c->held_len = 0;
    }
    /* TSO: up to 64 KiB segments the link cuts into wire segments of the core's
     * tcp_out_seg_size (or, for a segment that fits one, any non-zero size: the link
     * then completes the checksum only), checksums left partial for the link */
    size_t wire = c->h->mtu - 20 - JET_TCP_HDR_LEN;
    size_t maxpayload = c->tso ? TCPG_TSO_MAX : wire;
    unsigned oflags = c->tso || c->h->link_csum ? TCP_OUT_CSUM_PARTIAL : 0;
    for (;;) {
        uint8_t hdr[TCP_OUT_HDR_MAX];
        struct iovec iov[1 + TCP_IOV_MAX];
        int niov = 0;
        int n = tcp_output_iov(c->core, now, hdr, sizeof hdr, maxpayload, iov + 1, TCP_IOV_MAX,
                               &niov, oflags);
        if (n <= 0)
            return;
        size_t plen = 0;
        for (int i = 0; i < niov; i++)
            plen += iov[1 + i].iov_len;
        iov[0].iov_base = hdr;
        iov[0].iov_len = (size_t)n - plen;
        uint16_t gso = 0;
        if (c->tso) {
            uint32_t g = tcp_out_seg_size(c->core);
            gso = (uint16_t)(g ? g : wire);
        }
        int rc = seg_send(c, iov, 1 + niov, (size_t)n, gso, now);
        if (rc != -EAGAIN)
            continue;
        /* No room on the link: keep a copy, sent before anything else next time. */
        if (!c->held)
            c->held = malloc(TCP_SEG_MAX);
        if (!c->held) {
            c->tx_refused++; /* lost: the core resends it */
            return;
        }
        uint8_t *p = c->held;
        for (int i = 0; i < 1 + niov; i++) {
            memcpy(p, iov[i].iov_base, iov[i].iov_len);
            p += iov[i].iov_len;
        }
        c->held_len = (uint32_t)n;
        c->held_seg = gso;
        return;
    }
}

/* ---- input and timers ---- */

void tcpg_conn_segment(struct jet_tcp_conn *c, const uint8_t *seg, size_t len, unsigned flags,
                       uint64_t now)
{
    tcp_input(c->core, seg, len, flags, now);
}

/* In TIME_WAIT, a new SYN for the same 4-tuple while a listener has the port: the
 * connection makes room for a new one (as Linux does for a SYN that comes after the
 * old connection's sequence space; RFC 6191).  The SYN is copied into h->seg, checked
 * there, and c->reborn set: the poll frees c and hands the SYN to the listener. */
static bool time_wait_syn(struct jet_tcp_conn *c, const struct jet_rx *rx, const struct ip_rx *ir)
{
    struct tcp_host *h = c->h;
    uint8_t fl;
    if (!ep_lingering(&c->linger) || /* the application's handle: it stays */
        jet_rx_read(rx, ir->l4_off + 13u, &fl, 1) ||
        (fl & (JET_TCP_SYN | JET_TCP_ACK | JET_TCP_RST)) != JET_TCP_SYN ||
        !tcpg_listener_find(h, c->t.laddr, c->t.lport) ||
        jet_rx_read(rx, ir->l4_off, h->seg, ir->l4_len))
        return false;
    struct jet_tcp_hdr th;
    if (jet_tcp_parse(h->seg, ir->l4_len, ir->src, ir->dst, &th,
                      h->link_csum ? JET_INET_NO_CSUM : 0) ||
        (th.flags & (JET_TCP_SYN | JET_TCP_ACK | JET_TCP_RST)) != JET_TCP_SYN)
        return false;
    c->reborn = ir->l4_len;
    return true;
}

/* Every frame queued on the connection's channel into the core. */
static int conn_input(struct jet_tcp_conn *c, uint64_t now)
{
    struct ip_core *ipc = c->h->ip->core;
    bool tw = tcp_state(c->core) == TCP_TIME_WAIT;
    unsigned fl = c->h->link_csum ? TCP_IN_CSUM_OK : 0; /* the LAN vouches for it */
    int n = 0;
    struct jet_rx rx;
    /* only what is queued: the station was polled just before */
    while (jet_chan_pending(c->ch) && jet_chan_recv(c->ch, &rx, 0) == 0) {
        struct ip_rx ir;
        if (ip_rx_check(ipc, rx.payload, rx.len, &ir) == 0) {
            if (ir.frag)
                ip_input(ipc, rx.payload, rx.len, now); /* whole, it comes back */
            else if (ir.proto != JET_IP_PROTO_TCP || ir.src != c->t.raddr)
                ; /* not ours: the rule says it cannot happen */
            else if (tw && time_wait_syn(c, &rx, &ir)) {
                jet_chan_release(c->ch, &rx);
                return n + 1; /* the rest goes with the connection */
            } else
                tcp_input(c->core, rx.payload + ir.l4_off, ir.l4_len, fl, now);
            n++;
        }
        jet_chan_release(c->ch, &rx);
        /* A long backlog (a whole window of large segments takes a millisecond or
         * more to place) is ACKed as it drains, not once at its end: the peer's ACK
         * clock keeps running and its RTT samples stay those of the path, so its
         * tail-loss probe and RTO do not fire for data already here. */
        if (!(n % TCPG_ACK_BATCH))
            tcpg_conn_output(c, now);
    }
    return n;
}

int tcpg_conn_drive(struct jet_tcp_conn *c, uint64_t now)
{
    int n = jet_chan_pending(c->ch) ? conn_input(c, now) : 0;
    if (c->reborn)
        return n; /* the poll hands the SYN on and frees c */
    if (c->discard) { /* nobody reads any more */
        size_t r = tcp_recv_ready(c->core);
        if (r)
            tcp_recv_consume(c->core, r);
    }
    if (now >= tcp_next_timeout(c->core)) {
        tcp_on_timeout(c->core, now);
        /* data unacknowledged past a timer: is the peer's station still there? */
        if (now >= c->h->ip->probe_at && tcp_send_pending(c->core) && !tcpg_conn_err(c))
            ipg_probe(c->h->ip, c->t.raddr, now);
        if (c->h->ip->gone)
            conns_gone(c->h, now);
    }
    tcpg_conn_output(c, now);
    if (!c->established) {
        enum tcp_state s = tcp_state(c->core);
        if (s >= TCP_ESTABLISHED)
            c->established = true;
    }
    if (!c->why[0])
        tcpg_explain(c);
    return n;
}

void tcpg_conn_icmp(struct jet_tcp_conn *c, int err, uint32_t mtu, uint64_t now)
{
    if (err == -EMSGSIZE) {
        tcp_pmtu(c->core, mtu, now);
    } else if ((err == -EHOSTUNREACH || err == -ENETUNREACH) && !c->established &&
               tcp_state(c->core) == TCP_SYN_SENT) {
        fail_unreachable(c, err, now); /* as Linux: fatal while connecting */
    } else {
        c->icmp_err = err;
        tcp_icmp_error(c->core, err, now);
    }
    tcpg_conn_output(c, now);
}

/* Adds what the core counted to the station's totals (the connection goes). */
static void count_gone(struct jet_tcp_conn *c)
{
    struct jet_tcp_info i;
    tcp_get_info(c->core, &i);
    struct jet_tcp_host_stats *st = &c->h->st;
    st->segs_in += i.segs_in;
    st->segs_out += i.segs_out;
    st->malformed += i.malformed;
    st->csum_bad += i.csum_bad;
    if (!c->established && !c->counted_fail) {
        c->counted_fail = true;
        st->failed_opens++;
    }
}

void tcpg_conn_free(struct jet_tcp_conn *c)
{
    struct tcp_host *h = c->h;
    if (c->lis)
        tcpg_listener_forget(c);
    for (struct jet_tcp_conn **pp = &h->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    count_gone(c);
    jet_chan_close(c->ch); /* its rule goes with it */
    tcp_destroy(c->core);
    free(c->held);
    free(c);
}

/* ---- connections ---- */

static uint32_t rcvbuf_of(const struct jet_tcp_opts *o)
{
    return o->rcvbuf ? o->rcvbuf : TCPG_DEF_BUF;
}

int tcpg_conn_new(struct tcp_host *h, const struct tcp_tuple *t, const struct jet_tcp_opts *o,
                  bool external, uint32_t isn, struct jet_tcp_conn **out)
{
    *out = NULL;
    uint32_t mss = h->mtu - 20 - JET_TCP_HDR_LEN;
    if (o->mss && o->mss < mss)
        mss = o->mss;
    if (mss < TCP_MSS_MIN)
        return -EINVAL;
    const struct xp_cc_ops *cc = &xp_cc_cubic;
    if (o->cc && !(cc = xp_cc_find(o->cc)))
        return jet_err_set(&h->s->err, -EINVAL,
                           "unknown congestion control \"%s\" (cubic or newreno)", o->cc);
    if (mss > rcvbuf_of(o))
        mss = rcvbuf_of(o); /* the core wants a whole segment to fit the window */
    if (mss < TCP_MSS_MIN)
        return -EINVAL;
    struct jet_tcp_conn *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->h = h;
    c->t = *t;
    c->busy_poll = o->busy_poll;
    c->nodelay = o->nodelay;
    c->cc = cc->name;
    c->sink_fd = -1;
    c->born = jet_now_ns();
    uint32_t rcvbuf = o->rcvbuf ? o->rcvbuf : TCPG_DEF_BUF;
    c->rcvbuf = rcvbuf;
    uint64_t frames = 2ull * rcvbuf / mss + 256;
    uint64_t qb = 2ull * rcvbuf + 4ull * (h->mtu + 64);
    struct jet_chan_policy p = {
        .drop = JET_DROP_NEWEST,
        .queue_frames = (uint32_t)(frames > 65536 ? 65536 : frames),
        .queue_bytes = qb > UINT32_MAX ? UINT32_MAX : qb,
    };
    c->flow = (struct jet_flow){.proto = JET_IP_PROTO_TCP,
                                .src = t->raddr,
                                .dst = t->laddr,
                                .sport = t->rport,
                                .dport = t->lport};
    int rc = ep_chan_open(h->s, &h->ids, &p, &c->flow, &c->ch);
    if (rc) {
        free(c);
        return rc;
    }
    struct tcp_cfg cfg = {
        .t = *t,
        .mss = mss,
        .rcvbuf_bytes = rcvbuf,
        .rcvbuf_external = external,
        .sndbuf_bytes = o->sndbuf,
        .max_refs = o->max_refs,
        .rto_min_ns = o->rto_min_ns,
        .nodelay = o->nodelay,
        .keepalive_ns = o->keepalive_ns,
        .keepalive_intvl_ns = o->keepalive_intvl_ns,
        .keepalive_probes = o->keepalive_probes,
        .user_timeout_ns = o->user_timeout_ns,
        .cc = cc,
        .isn = isn,
        .ts_offset = tcpg_ts_offset(h, t),
        .no_sack = o->no_sack,
        .no_ts = o->no_timestamps,
        .no_wscale = o->no_wscale,
    };
    rc = tcp_create(&cfg, &c->core);
    if (rc) {
        jet_chan_close(c->ch);
        free(c);
        return rc;
    }
    if (ip_core_cfg(h->ip->core)->tso && !o->no_tso) { /* the link segments (tap:) */
        c->tso = true;
        tcp_set_tso(c->core, TCPG_TSO_MAX);
    }
    c->pub_seq = ++h->pub_next;
    c->next = h->conns;
    h->conns = c;
    *out = c;
    return 0;
}

int jet_tcp_connected(struct jet_tcp_conn *c)
{
    int e = tcpg_conn_err(c);
    if (e) {
        tcpg_explain(c);
        return e;
    }
    enum tcp_state s = tcp_state(c->core);
    return c->established || (s != TCP_SYN_SENT && s != TCP_SYN_RCVD && s != TCP_CLOSED);
}

int jet_tcp_connect(struct jet_station *s, uint32_t addr, uint16_t port,
                    const struct jet_tcp_opts *o, struct jet_tcp_conn **out, int64_t timeout_ns)
{
    static const struct jet_tcp_opts none;
    *out = NULL;
    if (!s || !addr || !port)
        return -EINVAL;
    if (!o)
        o = &none;
    if (o->ring && o->sink)
        return -EINVAL;
    struct tcp_host *h;
    int rc = tcpg_host_attach(s, &h);
    if (rc)
        return rc;
    uint16_t lport = tcpg_eph_port(h);
    if (!lport)
        return jet_err_set(&s->err, -EADDRNOTAVAIL, "no free TCP port in %u..%u",
                           TCPG_EPH_FIRST, TCPG_EPH_LAST);
    struct jet_tcp_opts oo = *o;
    if (o->ring && !o->rcvbuf)
        oo.rcvbuf = o->ring_len > UINT32_MAX ? UINT32_MAX : (uint32_t)o->ring_len;
    struct tcp_tuple t = {.laddr = h->addr, .raddr = addr, .lport = lport, .rport = port};
    uint64_t now = jet_now_ns();
    struct jet_tcp_conn *c = NULL;
    rc = tcpg_conn_new(h, &t, &oo, o->ring != NULL || o->sink, tcp_isn(&h->key, &t, now), &c);
    if (!rc && o->ring)
        rc = tcp_recv_register(c->core, o->ring, o->ring_len);
    if (!rc && o->sink)
        rc = jet_tcp_recv_sink(c, o->sink_fd, o->sink_off, 0);
    if (!rc)
        rc = tcp_connect(c->core, now);
    if (rc) {
        if (c) {
            c->established = true; /* not a failed open: never opened */
            tcpg_conn_free(c);
        }
        return rc;
    }
    c->active = true;
    h->st.active_opens++;
    *out = c;
    tcpg_conn_output(c, now);
    if (timeout_ns == 0) {
        rc = jet_tcp_connected(c);
        return rc < 0 ? rc : rc ? 0 : -EINPROGRESS;
    }
    struct ep_wait w;
    ep_wait_init(&w, timeout_ns, c->busy_poll);
    w.polled = true; /* the SYN just left: sleep first */
    for (;;) {
        rc = jet_tcp_connected(c);
        if (rc)
            return rc < 0 ? rc : 0;
        rc = ep_wait_more(h->s, &w);
        if (rc == -ETIMEDOUT) {
            char p[32];
            snprintf(c->why, sizeof c->why, "no answer from %s within %.1f s",
                     peer_text(c, p, sizeof p), (double)timeout_ns / 1e9);
            return rc;
        }
    }
}

/* ---- data ---- */

/* Maps a core error to the connection's (the glue may know better). */
static int fail_code(struct jet_tcp_conn *c, int rc)
{
    int e = tcpg_conn_err(c);
    tcpg_explain(c);
    return e && rc != -EPIPE ? e : rc;
}

/* A blocking data call could do nothing: the connection's error (the glue's or the
 * core's, whatever found it: every data call reports it alike), or else wait (0: try
 * again; -EAGAIN with timeout 0, -ETIMEDOUT). */
static int fail_or_wait(struct jet_tcp_conn *c, struct ep_wait *w)
{
    int e = tcpg_conn_err(c);
    if (e)
        return fail_code(c, e);
    return ep_wait_more(c->h->s, w);
}

ssize_t jet_tcp_send(struct jet_tcp_conn *c, const void *buf, size_t len, int64_t timeout_ns)
{
    struct ep_wait w;
    ep_wait_init(&w, timeout_ns, c->busy_poll);
    if (!len)
        return 0;
    for (;;) {
        int e = tcpg_conn_err(c);
        if (e)
            return fail_code(c, e);
        ssize_t n = tcp_send(c->core, buf, len);
        if (n > 0) {
            tcpg_conn_output(c, jet_now_ns());
            return n;
        }
        if (n != -EAGAIN && n != -ENOTCONN)
            return fail_code(c, (int)n);
        if (n == -ENOTCONN && !c->active && !c->lis)
            return fail_code(c, (int)n);
        int rc = ep_wait_more(c->h->s, &w);
        if (rc)
            return rc;
    }
}

int jet_tcp_send_ref(struct jet_tcp_conn *c, const void *buf, size_t len, uint64_t cookie)
{
    int rc = tcp_send_ref(c->core, buf, len, cookie);
    if (rc)
        return fail_code(c, rc);
    tcpg_conn_output(c, jet_now_ns());
    return 0;
}

int jet_tcp_completed(struct jet_tcp_conn *c, uint64_t *cookies, int max, int64_t timeout_ns)
{
    struct ep_wait w;
    ep_wait_init(&w, timeout_ns, c->busy_poll);
    for (;;) {
        int n = tcp_completed(c->core, cookies, max);
        if (n > 0 || max <= 0)
            return n;
        int rc = fail_or_wait(c, &w);
        if (rc)
            return rc;
    }
}

uint64_t jet_tcp_send_pending(const struct jet_tcp_conn *c)
{
    return tcp_send_pending(c->core);
}

ssize_t jet_tcp_recv(struct jet_tcp_conn *c, void *buf, size_t len, int64_t timeout_ns)
{
    if (c->sink)
        return -EINVAL; /* the bytes go to the file */
    struct ep_wait w;
    ep_wait_init(&w, timeout_ns, c->busy_poll);
    for (;;) {
        ssize_t n = tcp_recv(c->core, buf, len);
        if (n > 0) {
            tcpg_conn_output(c, jet_now_ns()); /* a window update may be due */
            return n;
        }
        if (n == 0)
            return 0;
        if (n != -EAGAIN && n != -ENOTCONN)
            return fail_code(c, (int)n);
        int rc = fail_or_wait(c, &w);
        if (rc)
            return rc;
    }
}

int jet_tcp_recv_register(struct jet_tcp_conn *c, void *ring, size_t len)
{
    if (c->sink)
        return -EBUSY;
    return tcp_recv_register(c->core, ring, len);
}

/* The sink hook (tcp_sink_fn), run by the core inside tcp_input: the payload's bytes,
 * from the core's private staging copy (whose checksum matched) to their place in the
 * file.  All of it, or the errno. */
static int sink_write(void *arg, uint64_t off, const uint8_t *p, size_t len)
{
    struct jet_tcp_conn *c = arg;
    return ep_sink_write(c->sink_fd, c->sink_off + off, p, len, &c->sink_bytes, &c->sink_writes,
                         c->why, sizeof c->why);
}

int jet_tcp_recv_sink(struct jet_tcp_conn *c, int fd, uint64_t file_off, size_t window)
{
    int rc = ep_sink_check(fd, file_off);
    if (rc)
        return rc;
    /* Bytes that came before (an accepted connection's) are written first, by the
     * hook: it needs the file already. */
    int fd0 = c->sink_fd;
    uint64_t off0 = c->sink_off;
    c->sink_fd = fd;
    c->sink_off = file_off;
    rc = tcp_recv_sink(c->core, sink_write, c, window ? window : c->rcvbuf);
    if (rc) {
        c->sink_fd = fd0;
        c->sink_off = off0;
        if (!tcpg_conn_err(c))
            c->why[0] = 0; /* the hook's words: the connection did not fail */
        return rc;
    }
    c->sink = true;
    c->sink_told = 0;
    return 0;
}

uint64_t jet_tcp_recv_placed(const struct jet_tcp_conn *c)
{
    return c->sink ? tcp_recv_placed(c->core) : 0;
}

ssize_t jet_tcp_recv_ready(struct jet_tcp_conn *c, const uint8_t **p, int64_t timeout_ns)
{
    struct ep_wait w;
    ep_wait_init(&w, timeout_ns, c->busy_poll);
    for (;;) {
        if (c->sink) { /* news of the file, not bytes in memory */
            *p = NULL;
            uint64_t n = ep_sink_news(tcp_recv_placed(c->core), &c->sink_told);
            if (n)
                return (ssize_t)n;
        } else {
            size_t n = tcp_recv_peek(c->core, p);
            if (n)
                return (ssize_t)n;
        }
        if (tcp_recv_eof(c->core))
            return 0;
        int rc = fail_or_wait(c, &w);
        if (rc)
            return rc;
    }
}

int jet_tcp_recv_consume(struct jet_tcp_conn *c, size_t n)
{
    int rc = tcp_recv_consume(c->core, n);
    if (!rc)
        tcpg_conn_output(c, jet_now_ns());
    return rc;
}

/* ---- closing ---- */

int jet_tcp_shutdown(struct jet_tcp_conn *c)
{
    uint64_t now = jet_now_ns();
    int rc = tcp_shutdown(c->core, now);
    if (rc)
        return fail_code(c, rc);
    tcpg_conn_output(c, now);
    return 0;
}

void tcpg_conn_abort(struct jet_tcp_conn *c, uint64_t now)
{
    if (tcp_abort(c->core, now) == 0)
        tcpg_conn_output(c, now); /* the RST (lost if the link has no room now) */
}

void jet_tcp_abort(struct jet_tcp_conn *c)
{
    if (!c)
        return;
    tcpg_conn_abort(c, jet_now_ns());
    tcpg_conn_free(c);
}

/* Everything we sent, the FIN too, is acknowledged. */
static bool close_done(const struct jet_tcp_conn *c)
{
    enum tcp_state s = tcp_state(c->core);
    return tcp_send_pending(c->core) == 0 &&
           (s == TCP_FIN_WAIT_2 || s == TCP_TIME_WAIT || s == TCP_CLOSED);
}

int jet_tcp_close(struct jet_tcp_conn *c, int64_t timeout_ns)
{
    if (!c)
        return 0;
    struct tcp_host *h = c->h;
    uint64_t now = jet_now_ns();
    int rc = tcpg_conn_err(c);
    bool unread = !c->sink && tcp_recv_ready(c->core) > 0;
    if (!rc && unread) { /* RFC 9293 3.10.4, as Linux: data would be lost, say so */
        jet_tcp_abort(c);
        return 0;
    }
    if (!rc) {
        tcp_shutdown(c->core, now);
        tcpg_conn_output(c, now);
    }
    c->discard = true;
    c->sink_fd = -1; /* the file may be closed once we return */
    struct ep_wait w;
    ep_wait_init(&w, timeout_ns, c->busy_poll);
    while (!rc && !close_done(c)) {
        rc = tcpg_conn_err(c);
        if (rc)
            break;
        int wr = ep_wait_more(h->s, &w);
        if (wr == -EAGAIN)
            break; /* timeout 0: the close goes on in the background */
        rc = wr;
    }
    now = jet_now_ns();
    if (rc || tcp_done(c->core)) {
        tcpg_conn_abort(c, now);
        tcpg_conn_free(c);
        return rc;
    }
    /* The library's now: every poll of the station drives it (the rest of the close,
     * FIN_WAIT_2 until the peer's FIN, TIME_WAIT) and frees it once done, or aborts it
     * at the deadline. */
    ep_linger_start(&c->linger, now, TCPG_LINGER_NS);
    if (c->lis)
        tcpg_listener_forget(c);
    return 0;
}

/* ---- options ---- */

void jet_tcp_set_nodelay(struct jet_tcp_conn *c, bool on)
{
    c->nodelay = on;
    tcp_set_nodelay(c->core, on);
    tcpg_conn_output(c, jet_now_ns());
}

void jet_tcp_set_keepalive(struct jet_tcp_conn *c, uint64_t idle_ns, uint64_t intvl_ns,
                           uint32_t probes)
{
    tcp_set_keepalive(c->core, idle_ns, intvl_ns, probes);
    tcpg_conn_output(c, jet_now_ns());
}

void jet_tcp_busy_poll(struct jet_tcp_conn *c, bool on)
{
    c->busy_poll = on;
}

/* ---- readiness ---- */

unsigned jet_tcp_events(const struct jet_tcp_conn *c)
{
    unsigned ev = 0;
    int e = tcpg_conn_err(c);
    enum tcp_state s = tcp_state(c->core);
    bool eof = tcp_recv_eof(c->core);
    if (e)
        ev |= JET_TCP_ERR | JET_TCP_IN;
    if (eof)
        ev |= JET_TCP_HUP | JET_TCP_IN;
    if (c->sink ? tcp_recv_placed(c->core) > c->sink_told : tcp_recv_ready(c->core) > 0)
        ev |= JET_TCP_IN;
    bool open = c->established || (s != TCP_SYN_SENT && s != TCP_SYN_RCVD && s != TCP_CLOSED);
    if (open && !e)
        ev |= JET_TCP_CONNECTED;
    if (open && !e && (s == TCP_ESTABLISHED || s == TCP_CLOSE_WAIT) && tcp_send_space(c->core) > 0)
        ev |= JET_TCP_OUT;
    return ev;
}

/* ---- state ---- */

void jet_tcp_info(const struct jet_tcp_conn *c, struct jet_tcp_info *out)
{
    memset(out, 0, sizeof *out);
    tcp_get_info(c->core, out);
    if (!out->state)
        out->state = tcp_state_name(tcp_state(c->core));
    out->laddr = c->t.laddr;
    out->raddr = c->t.raddr;
    out->lport = c->t.lport;
    out->rport = c->t.rport;
    out->local_chan = jet_chan_id(c->ch);
    if (!out->cc)
        out->cc = c->cc;
    out->nodelay = c->nodelay;
    if (!out->sink_bytes)
        out->sink_bytes = c->sink_bytes;
    if (!out->sink_writes)
        out->sink_writes = c->sink_writes;
}

int jet_tcp_errno(const struct jet_tcp_conn *c)
{
    return tcpg_conn_err(c);
}

const char *jet_tcp_error(const struct jet_tcp_conn *c)
{
    tcpg_explain((struct jet_tcp_conn *)c);
    return c->why;
}

void jet_tcp_local(const struct jet_tcp_conn *c, uint32_t *addr, uint16_t *port)
{
    if (addr)
        *addr = c->t.laddr;
    if (port)
        *port = c->t.lport;
}

void jet_tcp_peer(const struct jet_tcp_conn *c, uint32_t *addr, uint16_t *port)
{
    if (addr)
        *addr = c->t.raddr;
    if (port)
        *port = c->t.rport;
}

struct jet_station *jet_tcp_station(const struct jet_tcp_conn *c)
{
    return c->h->s;
}
