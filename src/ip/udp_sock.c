/* UDP sockets (jet/udp.h) on a station's IPv4 (ip_glue.c).
 *
 * A bound socket has a channel of its own, opened with the steering rule
 * {UDP, its address or any, its port} (ep_chan_open): the driver queues its
 * datagrams there, in the link's pool, and the port is also bound in the core
 * (ip_port_bind), so that the core neither answers "port unreachable" for it
 * nor drops what only it can deliver.  Datagrams reach the socket two ways:
 *   1. its channel (most of them): jet_udp_recvfrom takes a frame, checks it
 *      as ip_input would (ip_rx_check: MAC, IPv4 header, destination; a
 *      fragment is handed to ip_input instead, to be reassembled), copies the
 *      8-byte UDP header into local memory and the payload once, from the
 *      pool into the caller's buffer, and then verifies the checksum over the
 *      bytes it copied: the pool is shared with other processes and may change
 *      under us, so a check over the pool proves nothing about the copy.  A
 *      datagram longer than the caller's buffer is copied whole into a
 *      private scratch buffer instead, checked there, and its head handed
 *      over (truncated);
 *   2. the side queue: what reached the core rather than the channel
 *      (reassembled from fragments, sent to a broadcast address the rule does
 *      not name) comes through ip_l4_ops.deliver, checked by the core, as a
 *      heap copy, bounded like the channel (opts.queue_frames/queue_bytes).
 *      recvfrom takes the side queue first.
 * ICMP errors about the socket's datagrams come through ip_l4_ops.error: on a
 * connected socket, about its peer, the next send or receive returns it once;
 * otherwise they are only counted.
 *
 * Send: the 8-byte header with the checksum over the pseudo-header, the header
 * and the caller's bytes, then ip_output, which copies header and data once
 * into lent frames (fragmenting as needed).  When the link cannot take the
 * first frame now (-EAGAIN) or the packets waiting for an ARP answer fill
 * their queue (-ENOBUFS: nothing was sent or kept), a send with a timeout
 * drives the station and tries again until it passes. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ip/ip_glue.h"
#include "jet/inet.h"
#include "util/clock.h"
#include "wire/cursor.h"

enum {
    UDP_MAX_DATA = 65507, /* 65535 - IPv4 header - UDP header */
    UDP_DEF_QUEUE_FRAMES = 1024,
};
#define UDP_DEF_QUEUE_BYTES (4ull << 20)

/* A datagram on the side queue: a heap copy of its payload. */
struct udp_dgram {
    struct udp_dgram *next;
    uint32_t src;
    uint16_t sport;
    uint32_t len;
    uint8_t data[];
};

struct jet_udp {
    struct ip_host *h;
    struct jet_udp *next; /* in h->socks */
    struct jet_chan *ch;  /* its channel once bound, else NULL */
    uint32_t laddr;       /* bound to: 0 (any of ours) or the station's address */
    uint16_t lport;
    uint32_t raddr; /* connected peer; 0: not connected */
    uint16_t rport;
    int err;       /* an ICMP error about the peer, not yet returned */
    uint32_t qmax; /* side queue limits (and the channel's) */
    uint64_t qmax_bytes;
    struct udp_dgram *qh, *qt; /* side queue, oldest first */
    uint32_t qn;
    uint64_t qbytes;
    uint8_t *scratch; /* UDP_MAX_DATA bytes: a truncated datagram, checked whole */
    struct jet_udp_stats st;
    char why[256];
};

__attribute__((format(printf, 3, 4))) static int fail(struct jet_udp *u, int rc, const char *fmt,
                                                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->why, sizeof u->why, fmt, ap);
    va_end(ap);
    return rc;
}

/* ---- what the core tells the socket ---- */

static void on_deliver(void *sk, uint32_t src, uint32_t dst, const uint8_t *l4, size_t len,
                       uint64_t now)
{
    (void)dst;
    (void)now;
    struct jet_udp *u = sk;
    struct jet_ip_stats *cs = ip_core_stats(u->h->core);
    uint16_t ulen = len >= JET_UDP_HDR_LEN ? jet_load_be16(l4 + 4) : 0;
    if (ulen < JET_UDP_HDR_LEN || ulen > len) {
        u->st.bad++;
        cs->udp_bad++;
        return;
    }
    uint16_t sport = jet_load_be16(l4);
    if (u->raddr && (src != u->raddr || sport != u->rport)) {
        u->st.not_peer++;
        return;
    }
    uint32_t plen = ulen - JET_UDP_HDR_LEN;
    struct udp_dgram *d = NULL;
    if (u->qn < u->qmax && u->qbytes + plen <= u->qmax_bytes)
        d = malloc(sizeof *d + plen);
    if (!d) {
        u->st.queue_drops++;
        cs->udp_queue_drops++;
        return;
    }
    d->next = NULL;
    d->src = src;
    d->sport = sport;
    d->len = plen;
    memcpy(d->data, l4 + JET_UDP_HDR_LEN, plen);
    if (u->qt)
        u->qt->next = d;
    else
        u->qh = d;
    u->qt = d;
    u->qn++;
    u->qbytes += plen;
}

static void on_error(void *sk, int err, uint32_t remote, uint16_t rport, uint32_t mtu, uint64_t now)
{
    (void)now;
    struct jet_udp *u = sk;
    u->st.errors_in++;
    if (!u->raddr || remote != u->raddr || rport != u->rport)
        return; /* as Linux: an unconnected socket is not told */
    char a[16];
    jet_ip_format(remote, a);
    u->err = err;
    switch (err) {
    case -ECONNREFUSED:
        fail(u, err, "%s:%u refused the datagram (ICMP port unreachable)", a, rport);
        break;
    case -EMSGSIZE:
        fail(u, err,
             "a datagram to %s:%u was too large for a hop (ICMP fragmentation needed, "
             "MTU %u)",
             a, rport, mtu);
        break;
    default:
        fail(u, err, "an ICMP error about %s:%u: %s", a, rport, strerror(-err));
    }
}

static const struct ip_l4_ops l4_ops = {
    .deliver = on_deliver,
    .error = on_error,
};

/* ---- opening and binding ---- */

int jet_udp_open(struct jet_station *s, const struct jet_udp_opts *opts, struct jet_udp **out)
{
    *out = NULL;
    struct ip_host *h = ipg_host(s);
    if (!h)
        return -ENOENT;
    struct jet_udp *u = calloc(1, sizeof *u);
    if (!u)
        return -ENOMEM;
    u->h = h;
    u->qmax = opts && opts->queue_frames ? opts->queue_frames : UDP_DEF_QUEUE_FRAMES;
    u->qmax_bytes = opts && opts->queue_bytes ? opts->queue_bytes : UDP_DEF_QUEUE_BYTES;
    u->next = h->socks;
    h->socks = u;
    *out = u;
    return 0;
}

/* Binds port (not 0) on addr: the core's port table, then the channel with
 * the steering rule. */
static int bind_port(struct jet_udp *u, uint32_t addr, uint16_t port)
{
    struct ip_host *h = u->h;
    int rc = ip_port_bind(h->core, JET_IP_PROTO_UDP, port, u, &l4_ops);
    if (rc == -EADDRINUSE)
        return fail(u, rc, "UDP port %u is in use on this station", port);
    if (rc)
        return fail(u, rc, "cannot bind UDP port %u: %s", port,
                    rc == -ENOSPC ? "the station has too many ports bound" : strerror(-rc));
    /* The channel's queue is in whole Ethernet frames: the payload limit plus
     * each frame's headers. */
    uint64_t qb = u->qmax_bytes + (uint64_t)u->qmax * 64;
    struct jet_chan_policy p = {
        .drop = JET_DROP_NEWEST,
        .queue_frames = u->qmax,
        .queue_bytes = qb > UINT32_MAX ? UINT32_MAX : qb,
    };
    struct jet_flow f = {.proto = JET_IP_PROTO_UDP, .dst = addr, .dport = port};
    rc = ep_chan_open(h->s, &h->ids, &p, &f, &u->ch);
    if (rc) {
        ip_port_unbind(h->core, JET_IP_PROTO_UDP, port);
        return fail(u, rc, "UDP port %u: %s", port, jet_station_error(h->s));
    }
    u->laddr = addr;
    u->lport = port;
    return 0;
}

int jet_udp_bind(struct jet_udp *u, uint32_t addr, uint16_t port)
{
    struct ip_host *h = u->h;
    char a[16], b[16];
    if (u->ch)
        return fail(u, -EINVAL, "the socket is bound already (to %s:%u)", jet_ip_format(u->laddr, a),
                    u->lport);
    uint32_t ours = ip_core_cfg(h->core)->ip.addr;
    if (addr && addr != ours)
        return fail(u, -EADDRNOTAVAIL, "%s is not this station's address (%s)", jet_ip_format(addr, a),
                    jet_ip_format(ours, b));
    if (port)
        return bind_port(u, addr, port);
    const uint32_t n = IPG_EPH_LAST - IPG_EPH_FIRST + 1;
    for (uint32_t i = 0; i < n; i++) {
        uint16_t p = h->eph_next;
        h->eph_next = p >= IPG_EPH_LAST ? IPG_EPH_FIRST : (uint16_t)(p + 1);
        if (ip_port_bound(h->core, JET_IP_PROTO_UDP, p))
            continue;
        int rc = bind_port(u, addr, p);
        if (rc != -EADDRINUSE)
            return rc;
    }
    return fail(u, -EADDRINUSE, "no free UDP port in %u..%u", IPG_EPH_FIRST, IPG_EPH_LAST);
}

int jet_udp_connect(struct jet_udp *u, uint32_t addr, uint16_t port)
{
    if (!addr) { /* dissolve */
        u->raddr = 0;
        u->rport = 0;
        u->err = 0;
        return 0;
    }
    if (!port)
        return fail(u, -EINVAL, "cannot connect to port 0");
    if (!u->ch) {
        int rc = jet_udp_bind(u, 0, 0);
        if (rc)
            return rc;
    }
    u->raddr = addr;
    u->rport = port;
    u->err = 0;
    return 0;
}

/* ---- send ---- */

static int send_fail(struct jet_udp *u, int rc, uint32_t dst, uint16_t port, size_t len)
{
    char a[16];
    jet_ip_format(dst, a);
    switch (rc) {
    case -ENETUNREACH:
        return fail(u, rc, "no route to %s: outside the station's prefix and no gateway", a);
    case -EHOSTUNREACH:
        return fail(u, rc, "%s (or the gateway toward it) does not answer ARP", a);
    case -EMSGSIZE:
        return fail(u, rc, "a datagram of %zu bytes does not fit in an IPv4 packet", len);
    case -EAGAIN:
        return fail(u, rc, "the link took no frame for %s:%u in time", a, port);
    default:
        return fail(u, rc, "sending to %s:%u: %s", a, port, strerror(-rc));
    }
}

/* The pending ICMP error, returned once. */
static int take_err(struct jet_udp *u)
{
    int e = u->err;
    u->err = 0;
    return e;
}

ssize_t jet_udp_sendto(struct jet_udp *u, const void *buf, size_t len, uint32_t addr, uint16_t port,
                       int64_t timeout_ns)
{
    struct ip_host *h = u->h;
    if (u->err)
        return take_err(u);
    if (!addr) {
        if (!u->raddr)
            return fail(u, -EDESTADDRREQ, "no destination: the socket is not connected");
        addr = u->raddr;
        port = u->rport;
    }
    if (!port)
        return fail(u, -EINVAL, "cannot send to port 0");
    if (len > UDP_MAX_DATA)
        return fail(u, -EMSGSIZE, "a datagram of %zu bytes is over UDP's %d", len, UDP_MAX_DATA);
    if (!u->ch) {
        int rc = jet_udp_bind(u, 0, 0);
        if (rc)
            return rc;
    }
    uint16_t ulen = (uint16_t)(JET_UDP_HDR_LEN + len);
    uint8_t hdr[JET_UDP_HDR_LEN];
    jet_store_be16(hdr, u->lport);
    jet_store_be16(hdr + 2, port);
    jet_store_be16(hdr + 4, ulen);
    jet_store_be16(hdr + 6, 0);
    uint32_t src = ip_core_cfg(h->core)->ip.addr;
    uint32_t sum = jet_inet_pseudo_sum(src, addr, JET_IP_PROTO_UDP, ulen);
    sum = jet_inet_sum(hdr, sizeof hdr, sum);
    if (len)
        sum = jet_inet_sum(buf, len, sum);
    uint16_t csum = jet_inet_csum(sum);
    jet_store_be16(hdr + 6, csum ? csum : 0xFFFF); /* 0 says "none" (RFC 768) */
    struct iovec iov[2] = {{hdr, sizeof hdr}, {(void *)buf, len}};
    struct ep_wait w;
    ep_wait_init(&w, timeout_ns, false);
    int rc;
    for (;;) {
        rc =
            ip_output(h->core, JET_IP_PROTO_UDP, addr, iov, len ? 2 : 1, ulen, false, jet_now_ns());
        if (rc != -EAGAIN && rc != -ENOBUFS)
            break;
        /* Nothing was sent or kept: the link is busy, or the packets waiting
         * for ARP fill their queue.  Drive the station and try again. */
        int wr = ep_wait_more(h->s, &w);
        if (wr) {
            rc = -EAGAIN;
            break;
        }
        if (u->err)
            return take_err(u);
    }
    if (rc)
        return send_fail(u, rc, addr, port, len);
    u->st.datagrams_out++;
    u->st.bytes_out += len;
    ip_core_stats(h->core)->udp_out++;
    return (ssize_t)len;
}

/* ---- receive ---- */

/* The datagram in frame rx, taken from the socket's channel: its first bytes
 * into buf (see the top of the file).  The bytes placed, or -1 when it was
 * dropped (counted). */
static ssize_t chan_datagram(struct jet_udp *u, const struct jet_rx *rx, void *buf, size_t cap,
                             uint32_t *addr, uint16_t *port, uint64_t now)
{
    struct ip_core *core = u->h->core;
    struct jet_ip_stats *cs = ip_core_stats(core);
    struct ip_rx ir;
    if (ip_rx_check(core, rx->payload, rx->len, &ir))
        return -1; /* counted by the core */
    if (ir.frag) { /* to be reassembled: it may come back through on_deliver */
        ip_input(core, rx->payload, rx->len, now);
        return -1;
    }
    uint8_t hb[JET_UDP_HDR_LEN];
    if (ir.proto != JET_IP_PROTO_UDP || ir.l4_len < JET_UDP_HDR_LEN ||
        jet_rx_read(rx, ir.l4_off, hb, sizeof hb))
        goto bad;
    uint16_t sport = jet_load_be16(hb), dport = jet_load_be16(hb + 2);
    uint16_t ulen = jet_load_be16(hb + 4), csum = jet_load_be16(hb + 6);
    if (ulen < JET_UDP_HDR_LEN || ulen > ir.l4_len || dport != u->lport)
        goto bad;
    if (u->raddr && (ir.src != u->raddr || sport != u->rport)) {
        u->st.not_peer++;
        return -1;
    }
    size_t plen = ulen - JET_UDP_HDR_LEN, take = plen < cap ? plen : cap;
    const uint8_t *data = buf; /* where the copy the checksum covers is */
    if (take < plen) {
        if (!u->scratch && !(u->scratch = malloc(UDP_MAX_DATA))) {
            u->st.queue_drops++;
            cs->udp_queue_drops++;
            return -1;
        }
        data = u->scratch;
    }
    if (plen && jet_rx_place(rx, ir.l4_off + JET_UDP_HDR_LEN, plen, (void *)data))
        goto bad;
    if (csum) {
        uint32_t sum = jet_inet_pseudo_sum(ir.src, ir.dst, JET_IP_PROTO_UDP, ulen);
        sum = jet_inet_sum(hb, sizeof hb, sum);
        if (plen)
            sum = jet_inet_sum(data, plen, sum);
        if (jet_inet_csum(sum) != 0)
            goto bad;
    }
    if (take < plen) {
        if (take)
            memcpy(buf, data, take);
        u->st.truncated++;
    }
    if (addr)
        *addr = ir.src;
    if (port)
        *port = sport;
    cs->udp_in++; /* the core counts those it delivers (the side queue's) */
    return (ssize_t)take;
bad:
    u->st.bad++;
    cs->udp_bad++;
    return -1;
}

/* The oldest datagram of the side queue into buf. */
static ssize_t queued_datagram(struct jet_udp *u, void *buf, size_t cap, uint32_t *addr,
                               uint16_t *port)
{
    struct udp_dgram *d = u->qh;
    u->qh = d->next;
    if (!u->qh)
        u->qt = NULL;
    u->qn--;
    u->qbytes -= d->len;
    size_t take = d->len < cap ? d->len : cap;
    if (take)
        memcpy(buf, d->data, take);
    if (take < d->len)
        u->st.truncated++;
    if (addr)
        *addr = d->src;
    if (port)
        *port = d->sport;
    free(d);
    return (ssize_t)take;
}

ssize_t jet_udp_recvfrom(struct jet_udp *u, void *buf, size_t cap, uint32_t *addr, uint16_t *port,
                         int64_t timeout_ns)
{
    if (!u->ch)
        return fail(u, -EINVAL, "the socket is not bound: bind, connect or send first");
    struct ep_wait w;
    ep_wait_init(&w, timeout_ns, false);
    for (;;) {
        if (u->err)
            return take_err(u);
        ssize_t n = -1;
        if (u->qh) {
            n = queued_datagram(u, buf, cap, addr, port);
        } else {
            struct jet_rx rx;
            uint64_t now = jet_now_ns();
            /* only what is queued: jet_chan_recv on an empty queue polls the station */
            while (n < 0 && !u->qh && jet_chan_pending(u->ch) &&
                   jet_chan_recv(u->ch, &rx, 0) == 0) {
                n = chan_datagram(u, &rx, buf, cap, addr, port, now);
                jet_chan_release(u->ch, &rx);
            }
        }
        if (n >= 0) {
            u->st.datagrams_in++;
            u->st.bytes_in += (uint64_t)n;
            return n;
        }
        if (u->qh || u->err)
            continue; /* a fragment completed a datagram, or an error came */
        int rc = ep_wait_more(u->h->s, &w);
        if (rc)
            return rc == -ETIMEDOUT
                       ? fail(u, rc, "no datagram within %.3f s", (double)timeout_ns / 1e9)
                       : rc;
    }
}

uint32_t jet_udp_pending(const struct jet_udp *u)
{
    return u->qn + (u->ch ? jet_chan_pending(u->ch) : 0);
}

void jet_udp_local(const struct jet_udp *u, uint32_t *addr, uint16_t *port)
{
    if (addr)
        *addr = u->laddr;
    if (port)
        *port = u->lport;
}

/* ---- closing, state ---- */

static void sock_free(struct jet_udp *u)
{
    struct ip_host *h = u->h;
    for (struct jet_udp **pp = &h->socks; *pp; pp = &(*pp)->next)
        if (*pp == u) {
            *pp = u->next;
            break;
        }
    if (u->ch) {
        ip_port_unbind(h->core, JET_IP_PROTO_UDP, u->lport);
        jet_chan_close(u->ch); /* its rule goes with it */
    }
    while (u->qh) {
        struct udp_dgram *d = u->qh;
        u->qh = d->next;
        free(d);
    }
    free(u->scratch);
    free(u);
}

void jet_udp_close(struct jet_udp *u)
{
    if (u)
        sock_free(u);
}

void ipg_udp_close_all(struct ip_host *h)
{
    while (h->socks)
        sock_free(h->socks);
}

uint64_t ipg_udp_chan_drops(const struct ip_host *h)
{
    uint64_t n = 0;
    for (const struct jet_udp *u = h->socks; u; u = u->next)
        if (u->ch) {
            struct jet_chan_stats cs;
            jet_chan_stats(u->ch, &cs);
            n += cs.dropped_policy;
        }
    return n;
}

const char *jet_udp_error(const struct jet_udp *u)
{
    return u->why;
}

void jet_udp_stats(const struct jet_udp *u, struct jet_udp_stats *out)
{
    *out = u->st;
    if (u->ch) {
        struct jet_chan_stats cs;
        jet_chan_stats(u->ch, &cs);
        out->queue_drops += cs.dropped_policy;
    }
}
