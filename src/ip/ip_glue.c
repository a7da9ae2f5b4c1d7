/* IPv4 glue: binds the sans-I/O core (ip_core.h) to a station (jet/ip.h).
 *
 * jet_ip_attach() opens the station's default channel (an id from the range
 * the sockets' channels also come from), makes it the default for Ethernet
 * frames no steering rule takes, creates the core with that channel's
 * transmit calls as its ip_tx_ops, attaches the protocol "ipv4" and sends the
 * gratuitous ARP.
 *
 * One poll of the station (jet_station_poll, run by every blocking call of
 * any protocol on it, or by the application's own loop) demultiplexes a
 * burst, then runs host_poll here:
 *   1. every frame queued on the default channel goes into ip_input (ARP,
 *      ICMP, fragments, datagrams for ports without a channel of their own),
 *      and back to the link at once: the core copies what it keeps;
 *   2. ip_poll, if the core's next timeout is due (ARP retries, reassembly
 *      timeouts, packets that waited for an ARP answer or for link room).
 * The hook takes only what the station has queued (it never polls the station
 * again).  UDP sockets take their own channels' frames in jet_udp_recvfrom
 * (udp_sock.c), not here: a datagram waits in its channel's queue, in the
 * link's pool, until the application asks for it.
 *
 * Transmit: the core writes each Ethernet frame into a buffer the default
 * channel lends (jet_chan_tx_alloc_eth) and commits it there; every frame
 * IPv4 and its sockets send goes out through the default channel. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/chan_impl.h" /* the station's error and default channel */
#include "ip/ip_glue.h"
#include "ip/ip_impl.h" /* arp_peek, the prefix */
#include "jet/frame.h"
#include "jet/inet.h"
#include "jet/stack.h"
#include "util/clock.h"
#include "wire/cursor.h"

/* ---- the core's transmit ops: the default channel's buffers ---- */

static int tx_alloc(void *ctx, struct jet_txbuf *tb)
{
    struct ip_host *h = ctx;
    return jet_chan_tx_alloc_eth(h->ch, tb);
}

static int tx_commit(void *ctx, struct jet_txbuf *tb, uint32_t len)
{
    struct ip_host *h = ctx;
    const uint8_t *f = tb->payload;
    uint32_t dst = len >= JET_ETH_HDR_LEN + JET_IPV4_HDR_LEN && f[12] == 0x08 && f[13] == 0
                       ? jet_load_be32(f + JET_ETH_HDR_LEN + 16)
                       : 0; /* read now: a refused frame goes back to the pool */
    int rc = jet_chan_tx_commit_eth(h->ch, tb, len);
    if (rc == -EHOSTUNREACH && dst) { /* no station has that MAC any more */
        h->gone = true;
        h->gone_addr = dst;
        snprintf(h->gone_why, sizeof h->gone_why, "%s", jet_station_error(h->s));
    }
    return rc;
}

static void tx_abort(void *ctx, struct jet_txbuf *tb)
{
    struct ip_host *h = ctx;
    jet_chan_tx_abort(h->ch, tb);
}

static const struct ip_tx_ops tx_ops = {
    .alloc = tx_alloc,
    .commit = tx_commit,
    .abort = tx_abort,
};

/* ---- neighbours that left the link ---- */

void ipg_probe(struct ip_host *h, uint32_t addr, uint64_t now)
{
    h->probe_at = now + IPG_PROBE_NS;
    struct ip_core *c = h->core;
    uint32_t hop = ip_in_prefix(c, addr) ? addr : c->cfg.ip.gw;
    uint8_t mac[6];
    if (!hop || h->gone || arp_peek(c, hop, mac))
        return;
    /* The LAN's station MACs share their first five bytes (jet_lan_station_mac); the
     * last is the station.  Only a link that can tell answers 0 (gone). */
    const uint8_t *me = c->cfg.ip.mac;
    if (memcmp(mac, me, 5) || mac[5] == me[5])
        return;
    struct jet_link *l = jet_station_link(h->s);
    if (jet_link_peer_alive(l, mac[5]) != 0)
        return;
    h->gone = true;
    h->gone_addr = addr;
    snprintf(h->gone_why, sizeof h->gone_why,
             "station %u of %s has no process any more (killed?)", mac[5], l->name);
}

/* ---- the protocol's hooks ---- */

static void host_poll(struct jet_station *s, void *state, uint64_t now)
{
    (void)s;
    struct ip_host *h = state;
    struct jet_rx rx;
    /* only what is queued: jet_chan_recv on an empty queue would poll again */
    while (jet_chan_pending(h->ch) && jet_chan_recv(h->ch, &rx, 0) == 0) {
        ip_input(h->core, rx.payload, rx.len, now);
        jet_chan_release(h->ch, &rx);
    }
    if (now >= ip_next_timeout(h->core))
        ip_poll(h->core, now);
}

static uint64_t host_next_timeout(struct jet_station *s, void *state)
{
    (void)s;
    const struct ip_host *h = state;
    return ip_next_timeout(h->core);
}

static void host_free(struct ip_host *h)
{
    ipg_udp_close_all(h);
    if (h->owned)
        jet_link_own(jet_station_link(h->s),
                     &(struct jet_link_flow){.addr = h->owned}, false);
    if (h->ch)
        jet_chan_close(h->ch); /* and the station's default with it */
    ip_core_free(h->core);
    free(h);
}

/* jet_station_close: the station goes, and IPv4 with it. */
static void host_close(struct jet_station *s, void *state)
{
    (void)s;
    host_free(state);
}

static const struct jet_proto_ops ipv4_ops = {
    .name = "ipv4",
    .poll = host_poll,
    .next_timeout = host_next_timeout,
    .close = host_close,
};

struct ip_host *ipg_host(const struct jet_station *s)
{
    return s ? jet_station_proto(s, &ipv4_ops) : NULL;
}

/* ---- attaching ---- */

static const char *mac_text(const uint8_t m[6], char *b)
{
    snprintf(b, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return b;
}

int jet_ip_attach(struct jet_station *s, const struct jet_ip_cfg *cfg)
{
    if (!s || !cfg)
        return -EINVAL;
    struct jet_err *err = &s->err;
    const struct jet_link_caps *caps = &jet_station_link(s)->caps;
    if (ipg_host(s))
        return jet_err_set(err, -EEXIST, "IPv4 is attached to this station already");
    if (!caps->eth)
        return jet_err_set(err, -EOPNOTSUPP,
                           "link %s carries no Ethernet frames: IPv4 needs ARP and Ethernet",
                           jet_station_link(s)->name);
    if (s->steer.default_ref)
        return jet_err_set(err, -EBUSY,
                           "the station has a default channel already (IPv4 needs it for ARP, "
                           "ICMP and fragments)");
    struct ip_core_cfg cc = {.ip = *cfg, .seed = (uint64_t)ep_random32() << 32 | ep_random32()};
    if (cfg->has_mac) {
        char b[18];
        if (cfg->mac[0] & 1)
            return jet_err_set(err, -EINVAL,
                               "MAC %s is a group address: the station needs a "
                               "unicast one",
                               mac_text(cfg->mac, b));
        if (!memcmp(cfg->mac, "\0\0\0\0\0\0", 6))
            return jet_err_set(err, -EINVAL, "MAC 00:00:00:00:00:00 is not an address");
    } else if (caps->has_mac) {
        cc.ip.has_mac = true;
        memcpy(cc.ip.mac, caps->mac, 6);
    } else {
        return jet_err_set(err, -EADDRNOTAVAIL,
                           "link %s has no MAC of its own: name one in the configuration",
                           jet_station_link(s)->name);
    }
    /* The largest IPv4 packet: the link's MTU, within what a frame holds
     * behind its Ethernet header and what IPv4's length field can say. */
    uint64_t mtu = caps->eth_mtu ? caps->eth_mtu : caps->mtu;
    if (caps->max_frame >= 14 && mtu > caps->max_frame - 14u)
        mtu = caps->max_frame - 14u;
    if (mtu > 65535)
        mtu = 65535;
    if (mtu < 576)
        return jet_err_set(err, -EINVAL,
                           "link %s carries IPv4 packets of %llu bytes at most: IPv4 needs 576",
                           jet_station_link(s)->name, (unsigned long long)mtu);
    cc.mtu = (uint32_t)mtu;
    cc.tso = caps->tso;

    struct ip_host *h = calloc(1, sizeof *h);
    if (!h)
        return jet_err_set(err, -ENOMEM, "out of memory for IPv4's state");
    h->s = s;
    h->mtu = cc.mtu;
    ep_ids_init(&h->ids, IPG_CHAN_FIRST, IPG_CHAN_LAST);
    h->eph_next = (uint16_t)(IPG_EPH_FIRST + ep_random32() % (IPG_EPH_LAST - IPG_EPH_FIRST + 1));
    struct jet_err cerr = {0};
    int rc = ip_core_new(&cc, &tx_ops, h, &h->core, &cerr);
    if (rc) {
        free(h);
        return jet_err_set(err, rc, "%s", jet_err_str(&cerr, rc));
    }
    struct jet_chan_policy p = {
        .drop = JET_DROP_NEWEST,
        .queue_frames = IPG_DEF_QUEUE_FRAMES,
        .queue_bytes = IPG_DEF_QUEUE_BYTES,
    };
    rc = ep_chan_open(s, &h->ids, &p, NULL, &h->ch); /* the reason is set */
    if (rc) {
        ip_core_free(h->core);
        free(h);
        return rc;
    }
    /* A link sharing its interface with the kernel hands up ARP for the
     * address, and ICMP and fragments to it (jet_link_own) */
    struct jet_link *l = jet_station_link(s);
    rc = jet_link_own(l, &(struct jet_link_flow){.addr = cfg->addr}, true);
    if (rc == 0) {
        h->owned = cfg->addr;
        rc = jet_station_attach(s, &ipv4_ops, h); /* -ENOSPC, reason set */
    } else {
        jet_err_set(err, rc, "link %s cannot take address traffic: %s", l->name,
                    jet_link_error(l));
    }
    if (rc) {
        if (h->owned)
            jet_link_own(l, &(struct jet_link_flow){.addr = h->owned}, false);
        jet_chan_close(h->ch);
        ip_core_free(h->core);
        free(h);
        return rc;
    }
    jet_station_steer_default(s, h->ch);
    ip_start(h->core, jet_now_ns());
    return 0;
}

int jet_ip_config(struct jet_station *s, struct jet_ip_cfg *out)
{
    const struct ip_host *h = ipg_host(s);
    if (!h)
        return -ENOENT;
    *out = ip_core_cfg(h->core)->ip;
    return 0;
}

int jet_ip_stats(struct jet_station *s, struct jet_ip_stats *out)
{
    struct ip_host *h = ipg_host(s);
    if (!h)
        return -ENOENT;
    *out = *ip_core_stats(h->core);
    out->udp_queue_drops += ipg_udp_chan_drops(h);
    return 0;
}

/* ---- ping ---- */

static int ping_fail(struct jet_station *s, int rc, uint32_t dst, size_t data, int64_t timeout_ns)
{
    char a[16];
    jet_ip_format(dst, a);
    switch (rc) {
    case -ETIMEDOUT:
        return jet_err_set(&s->err, rc, "no echo reply from %s within %.3f s", a,
                           (double)timeout_ns / 1e9);
    case -EHOSTUNREACH:
        return jet_err_set(&s->err, rc,
                           "%s is unreachable (no answer to ARP, or an ICMP error "
                           "said so)",
                           a);
    case -ENETUNREACH:
        return jet_err_set(&s->err, rc, "no route to %s: off the prefix and no gateway", a);
    case -EMSGSIZE:
        return jet_err_set(&s->err, rc,
                           "an echo request of %zu data bytes does not fit in an "
                           "IPv4 packet (at most 65507)",
                           data);
    case -ENOBUFS:
        return jet_err_set(&s->err, rc, "no room for the echo request while ARP resolves %s", a);
    default:
        return jet_err_set(&s->err, rc, "ping %s: %s", a, strerror(-rc));
    }
}

int jet_ip_ping(struct jet_station *s, uint32_t dst, size_t data, int64_t timeout_ns,
                uint64_t *rtt_ns)
{
    struct ip_host *h = ipg_host(s);
    if (!h)
        return -ENOENT;
    if (data > 65507)
        return ping_fail(s, -EMSGSIZE, dst, data, timeout_ns);
    struct ep_wait w;
    ep_wait_init(&w, timeout_ns, false);
    int rc;
    for (;;) {
        rc = ip_ping_start(h->core, dst, data, jet_now_ns());
        if (rc != -EAGAIN)
            break;
        if (ep_wait_more(s, &w)) /* the link had no buffer within the timeout */
            return ping_fail(s, -ETIMEDOUT, dst, data, timeout_ns);
    }
    if (rc)
        return ping_fail(s, rc, dst, data, timeout_ns);
    w.polled = true; /* the request just left: sleep first */
    for (;;) {
        uint64_t rtt = 0;
        rc = ip_ping_result(h->core, &rtt);
        if (rc == 1) {
            if (rtt_ns)
                *rtt_ns = rtt;
            return 0;
        }
        if (rc < 0)
            return ping_fail(s, rc, dst, data, timeout_ns);
        if (ep_wait_more(s, &w))
            return ping_fail(s, -ETIMEDOUT, dst, data, timeout_ns);
    }
}
