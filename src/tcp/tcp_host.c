/* TCP as a protocol of the station (jet/stack.h): its per-station state and the drive
 * of every listener and connection on the station (docs/tcp-api.md).
 *
 * The state (struct tcp_host: listeners, connections, the key, channel ids, ephemeral
 * ports, counters) is attached to the station on first use (jet_tcp_listen /
 * jet_tcp_connect), after IPv4, and found from it with jet_station_proto.  It also
 * binds the whole protocol in the IPv4 core (ip_proto_bind): a TCP segment that no
 * channel took reaches the default channel and ip_input, which hands it here
 * (host_deliver): to its connection (reassembled fragments), to a listener (frames
 * queued before a connection's rule existed), or else an RST (RFC 9293 3.10.7.1: a
 * closed port).  ICMP errors about our segments come here too (host_error) and go to
 * the connection they concern.
 *
 * One poll of the station demultiplexes a burst, runs IPv4's hook (the default
 * channel: ARP, ICMP, fragments, segments for nobody), then host_poll here:
 *   1. listeners: the segments queued on each listener channel (tcp_listen.c);
 *   2. connections, each in turn: the frames queued on its channel into the core,
 *      due timers, output (tcp_glue.c).  A connection the application closed is freed
 *      once done, or aborted at its linger deadline; a connection a listener made and
 *      nobody accepted yet is queued for accept once established, freed if it failed.
 * The hook takes only what the station has queued (it never polls the station again). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/tcp_glue.h" /* first: see there */

#include "chan/chan_impl.h"
#include "jet/stack.h"
#include "util/clock.h"
#include "wire/cursor.h"

static void host_poll(struct jet_station *s, void *state, uint64_t now)
{
    (void)s;
    struct tcp_host *h = state;
    int n = tcpg_listeners_drive(h, now);
    struct jet_tcp_conn *next;
    for (struct jet_tcp_conn *c = h->conns; c; c = next) {
        next = c->next;
        n += tcpg_conn_drive(c, now);
        if (c->reborn) { /* a new connection for the 4-tuple of one in TIME_WAIT */
            struct tcp_tuple t = c->t;
            size_t len = c->reborn;
            tcpg_conn_free(c); /* its rule goes: the new one takes the tuple */
            struct jet_tcp_listener *l = tcpg_listener_find(h, t.laddr, t.lport);
            if (l)
                tcpg_listener_segment(l, &t, h->seg, len, now);
            continue;
        }
        if (ep_lingering(&c->linger)) {
            if (tcp_done(c->core))
                tcpg_conn_free(c);
            else if (ep_linger_over(&c->linger, now)) {
                tcpg_conn_abort(c, now);
                tcpg_conn_free(c);
            }
        } else if (c->lis) {
            tcpg_listener_update(c); /* may free c */
        }
    }
    h->polled_in = n;
}

static uint64_t host_next_timeout(struct jet_station *s, void *state)
{
    (void)s;
    const struct tcp_host *h = state;
    uint64_t t = UINT64_MAX;
    for (const struct jet_tcp_conn *c = h->conns; c; c = c->next) {
        uint64_t x = tcp_next_timeout(c->core);
        if (c->held_len)
            x = 0; /* a segment waits for link room */
        if (x < t)
            t = x;
        t = ep_linger_timer(&c->linger, t);
        if (c->lis && !c->ready && c->born + TCPG_HANDSHAKE_NS < t)
            t = c->born + TCPG_HANDSHAKE_NS;
    }
    return t;
}

/* Frees everything: connections still open are aborted (an RST goes out), listeners
 * closed. */
static void host_free(struct tcp_host *h)
{
    while (h->conns) {
        struct jet_tcp_conn *c = h->conns;
        tcpg_conn_abort(c, jet_now_ns());
        tcpg_conn_free(c);
    }
    while (h->lis)
        jet_tcp_listener_close(h->lis);
    if (ipg_host(h->s) == h->ip)
        ip_proto_unbind(h->ip->core, JET_IP_PROTO_TCP);
    free(h->seg);
    free(h);
}

static void host_close(struct jet_station *s, void *state)
{
    (void)s;
    host_free(state);
}

static const struct jet_proto_ops tcp_ops = {
    .name = "tcp",
    .poll = host_poll,
    .next_timeout = host_next_timeout,
    .close = host_close,
};

/* ---- what the IPv4 core hands over ---- */

struct jet_tcp_conn *tcpg_find(struct tcp_host *h, const struct tcp_tuple *t)
{
    for (struct jet_tcp_conn *c = h->conns; c; c = c->next)
        if (c->t.lport == t->lport && c->t.rport == t->rport && c->t.raddr == t->raddr &&
            c->t.laddr == t->laddr)
            return c;
    return NULL;
}

void tcpg_send_rst(struct tcp_host *h, const struct tcp_tuple *t, const uint8_t *seg, size_t len,
                   uint64_t now)
{
    uint8_t b[JET_TCP_HDR_MAX];
    int n = tcp_rst_reply(t, seg, len, TCP_IN_CSUM_OK, b, sizeof b);
    if (n <= 0)
        return;
    struct iovec v = {b, (size_t)n};
    if (ip_output(h->ip->core, JET_IP_PROTO_TCP, t->raddr, &v, 1, (size_t)n, true, now) == 0)
        h->st.segs_out++;
}

/* A TCP segment that reached the IPv4 core: l4 is core memory (a private copy). */
static void host_deliver(void *ctx, uint32_t src, uint32_t dst, const uint8_t *l4, size_t len,
                         uint64_t now)
{
    struct tcp_host *h = ctx;
    struct jet_tcp_hdr th;
    int rc = jet_tcp_parse(l4, len, src, dst, &th, h->link_csum ? JET_INET_NO_CSUM : 0);
    if (rc == -EBADMSG) {
        h->st.csum_bad++;
        return;
    }
    if (rc) {
        h->st.malformed++;
        return;
    }
    struct tcp_tuple t = {.laddr = dst, .raddr = src, .lport = th.dport, .rport = th.sport};
    struct jet_tcp_conn *c = tcpg_find(h, &t);
    if (c) { /* reassembled, or early: the connection counts it */
        tcpg_conn_segment(c, l4, len, TCP_IN_CSUM_OK, now);
        return;
    }
    struct jet_tcp_listener *l = tcpg_listener_find(h, dst, th.dport);
    if (l) {
        tcpg_listener_segment(l, &t, l4, len, now);
        return;
    }
    h->st.segs_in++;
    if (!(th.flags & JET_TCP_RST))
        h->st.resets_sent_closed_port++;
    tcpg_send_rst(h, &t, l4, len, now);
}

static void host_error(void *ctx, int err, uint32_t remote, uint16_t lport, uint16_t rport,
                       uint32_t mtu, uint64_t now)
{
    struct tcp_host *h = ctx;
    struct tcp_tuple t = {.laddr = h->addr, .raddr = remote, .lport = lport, .rport = rport};
    struct jet_tcp_conn *c = tcpg_find(h, &t);
    if (c)
        tcpg_conn_icmp(c, err, mtu, now);
}

static const struct ip_proto_ops tcp_ip_ops = {
    .deliver = host_deliver,
    .error = host_error,
};

/* ---- the state ---- */

struct tcp_host *tcpg_host(struct jet_station *s)
{
    return s ? jet_station_proto(s, &tcp_ops) : NULL;
}

int tcpg_host_attach(struct jet_station *s, struct tcp_host **out)
{
    *out = NULL;
    if (!s)
        return -EINVAL;
    struct tcp_host *h = jet_station_proto(s, &tcp_ops);
    if (h) {
        *out = h;
        return 0;
    }
    struct ip_host *ip = ipg_host(s);
    if (!ip)
        return -ENOENT;
    h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    h->seg = malloc(TCPG_SEG_BUF);
    int rc = h->seg ? tcp_key_random(&h->key) : -ENOMEM;
    if (rc) {
        free(h->seg);
        free(h);
        return rc;
    }
    h->s = s;
    h->ip = ip;
    h->addr = ip_core_cfg(ip->core)->ip.addr;
    h->mtu = ip->mtu;
    h->link_csum = jet_station_link(s)->caps.csum;
    ep_ids_init(&h->ids, TCPG_CHAN_FIRST, TCPG_CHAN_LAST);
    h->eph_next = (uint16_t)(TCPG_EPH_FIRST + ep_random32() % (TCPG_EPH_LAST - TCPG_EPH_FIRST + 1));
    rc = ip_proto_bind(ip->core, JET_IP_PROTO_TCP, h, &tcp_ip_ops);
    if (!rc)
        rc = jet_station_attach(s, &tcp_ops, h);
    if (!rc)
        statpub_conn_source(s, &tcp_ops, tcpg_pub_conns); /* jet stat's connection records */
    if (rc) {
        ip_proto_unbind(ip->core, JET_IP_PROTO_TCP);
        free(h->seg);
        free(h);
        return rc;
    }
    *out = h;
    return 0;
}

uint32_t tcpg_ts_offset(const struct tcp_host *h, const struct tcp_tuple *t)
{
    uint8_t m[13];
    m[0] = 'T';
    tcp_tuple_put(m + 1, t);
    return (uint32_t)tcp_siphash24(&h->key, m, sizeof m);
}

static bool port_used(const struct tcp_host *h, uint16_t p)
{
    for (const struct jet_tcp_conn *c = h->conns; c; c = c->next)
        if (c->t.lport == p)
            return true;
    for (const struct jet_tcp_listener *l = h->lis; l; l = l->next)
        if (l->port == p)
            return true;
    return false;
}

uint16_t tcpg_eph_port(struct tcp_host *h)
{
    const uint32_t n = TCPG_EPH_LAST - TCPG_EPH_FIRST + 1;
    for (uint32_t i = 0; i < n; i++) {
        uint16_t p = h->eph_next;
        h->eph_next = p >= TCPG_EPH_LAST ? TCPG_EPH_FIRST : (uint16_t)(p + 1);
        if (!port_used(h, p))
            return p;
    }
    return 0;
}

/* ---- the public calls ---- */

int jet_tcp_host_stats(struct jet_station *s, struct jet_tcp_host_stats *out)
{
    struct tcp_host *h = tcpg_host(s);
    memset(out, 0, sizeof *out);
    if (!h)
        return ipg_host(s) ? 0 : -ENOENT;
    *out = h->st;
    for (const struct jet_tcp_conn *c = h->conns; c; c = c->next) {
        struct jet_tcp_info i;
        tcp_get_info(c->core, &i);
        out->segs_in += i.segs_in;
        out->segs_out += i.segs_out;
        out->malformed += i.malformed;
        out->csum_bad += i.csum_bad;
        enum tcp_state st = tcp_state(c->core);
        if (st != TCP_CLOSED && st != TCP_TIME_WAIT)
            out->conns_open++;
    }
    for (const struct jet_tcp_listener *l = h->lis; l; l = l->next)
        out->listeners++;
    return 0;
}

/* Done for fini: every connection the application let go is finished, or in TIME_WAIT
 * (our side of the close is over: the rest is the 2 MSL wait). */
static bool none_lingering(void *arg)
{
    const struct tcp_host *h = arg;
    for (const struct jet_tcp_conn *c = h->conns; c; c = c->next)
        if (ep_lingering(&c->linger) && !tcp_done(c->core) && tcp_state(c->core) != TCP_TIME_WAIT)
            return false;
    return true;
}

void jet_tcp_station_fini(struct jet_station *s, int64_t linger_ns)
{
    struct tcp_host *h = tcpg_host(s);
    if (!h)
        return;
    ep_drive_until(s, none_lingering, h, linger_ns);
    jet_station_detach(s, &tcp_ops);
    host_free(h);
}
