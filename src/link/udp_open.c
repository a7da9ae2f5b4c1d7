/* The udp: link's socket (udp_impl.h, docs/link-udp.md): resolving the peer,
 * binding, connecting, the socket options and what they found (path MTU,
 * GSO, GRO), and the errors the kernel queues on the socket.
 *
 * Order: bind address (numeric) -> peer (getaddrinfo, in the bind address's
 * family if one was given) -> socket -> buffers, PMTU discovery, GRO,
 * SO_RXQ_OVFL -> bind -> connect -> getsockname (the local address and port
 * the MAC and station are made from) -> IP_MTU -> caps. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "jet/frame.h"
#include "link/ethnat.h"
#include "link/real.h"
#include "link/udp_impl.h"

enum { DGRAM_MIN = 576 + UDP_SHIM_LEN + 18 }; /* an IPv4 packet of 576 behind a tagged header */

/* The path MTU to the peer now (IP_MTU / IPV6_MTU on the connected socket),
 * 0 when the kernel does not say. */
static uint32_t path_mtu(const struct udpl *u)
{
    int mtu = 0;
    socklen_t sl = sizeof mtu;
    if (u->v6 ? getsockopt(u->fd, IPPROTO_IPV6, IPV6_MTU, &mtu, &sl)
              : getsockopt(u->fd, IPPROTO_IP, IP_MTU, &mtu, &sl))
        return 0;
    return mtu > 0 ? (uint32_t)mtu : 0;
}

static uint32_t ip_udp_hdr(const struct udpl *u)
{
    return u->v6 ? 40 + 8 : 20 + 8;
}

bool udp_sock_error(struct udpl *u, int e, uint32_t len)
{
    switch (e) {
    case ECONNREFUSED: /* ICMP port unreachable: the peer does not listen (yet) */
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EHOSTDOWN:
    case EPROTO:
        u->info.icmp_errors++;
        return true;
    case EMSGSIZE: /* ICMP fragmentation needed (a smaller path MTU), or this datagram */
        if (len && len + ip_udp_hdr(u) > path_mtu(u))
            return false; /* this datagram is too big for the path now */
        u->info.icmp_errors++;
        return true;
    default:
        return false;
    }
}

/* FNV-1a, 64 bits. */
static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* A locally administered unicast MAC from a hash of the local address and
 * port: 02:xx:xx:xx:xx:xx. */
static void make_mac(const struct sockaddr_storage *a, uint8_t mac[6])
{
    uint64_t h = 0xcbf29ce484222325ull;
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const void *)a;
        h = fnv(&s->sin6_addr, sizeof s->sin6_addr, h);
        h = fnv(&s->sin6_port, sizeof s->sin6_port, h);
    } else {
        const struct sockaddr_in *s = (const void *)a;
        h = fnv(&s->sin_addr, sizeof s->sin_addr, h);
        h = fnv(&s->sin_port, sizeof s->sin_port, h);
    }
    mac[0] = 0x02;
    for (int i = 1; i < 6; i++)
        mac[i] = (uint8_t)(h >> (8 * (i - 1)));
}

static const char *addr_text(const struct sockaddr_storage *a, char *b, size_t cap)
{
    char h[INET6_ADDRSTRLEN] = "?";
    uint16_t port;
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const void *)a;
        inet_ntop(AF_INET6, &s->sin6_addr, h, sizeof h);
        port = ntohs(s->sin6_port);
        snprintf(b, cap, "[%s]:%u", h, port);
    } else {
        const struct sockaddr_in *s = (const void *)a;
        inet_ntop(AF_INET, &s->sin_addr, h, sizeof h);
        port = ntohs(s->sin_port);
        snprintf(b, cap, "%s:%u", h, port);
    }
    return b;
}

/* getaddrinfo's failure as an errno with its reason. */
static int gai_fail(int g, const char *what, const char *host, struct jet_err *err)
{
    int code = (g == EAI_NONAME || g == EAI_AGAIN || g == EAI_FAIL
#ifdef EAI_NODATA
                || g == EAI_NODATA
#endif
#ifdef EAI_ADDRFAMILY
                || g == EAI_ADDRFAMILY
#endif
                )
                   ? -EHOSTUNREACH
                   : -EINVAL;
    return jet_err_set(err, code, "udp: cannot resolve %s %s: %s", what, host,
                       g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
}

/* Resolves the local and peer addresses into *local (family 0: none given)
 * and *peer. */
static int resolve(const struct jet_link_name *n, struct sockaddr_storage *local,
                   socklen_t *llen, struct sockaddr_storage *peer, socklen_t *plen,
                   struct jet_err *err)
{
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_protocol = IPPROTO_UDP}, *r = NULL;
    char port[8];
    memset(local, 0, sizeof *local);
    *llen = 0;
    int fam = AF_UNSPEC;
    if (n->bind_host[0]) {
        hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE | AI_NUMERICSERV;
        snprintf(port, sizeof port, "%u", n->bind_port);
        int g = getaddrinfo(n->bind_host, port, &hints, &r);
        if (g)
            return jet_err_set(err, -EINVAL, "udp: bind address %s: %s", n->bind_host,
                               g == EAI_NONAME ? "not a numeric IPv4 or IPv6 address"
                                               : gai_strerror(g));
        memcpy(local, r->ai_addr, r->ai_addrlen);
        *llen = r->ai_addrlen;
        fam = r->ai_family;
        freeaddrinfo(r);
        r = NULL;
    }
    hints.ai_flags = AI_NUMERICSERV | (fam == AF_UNSPEC ? AI_ADDRCONFIG : 0);
    hints.ai_family = fam;
    snprintf(port, sizeof port, "%u", n->port);
    int g = getaddrinfo(n->host, port, &hints, &r);
    if (g == EAI_NONAME && (hints.ai_flags & AI_ADDRCONFIG)) {
        hints.ai_flags &= ~AI_ADDRCONFIG; /* a host with only loopback addresses */
        g = getaddrinfo(n->host, port, &hints, &r);
    }
    if (g)
        return gai_fail(g, fam == AF_UNSPEC ? "peer" : fam == AF_INET ? "peer (IPv4, as the "
                        "bind address)" : "peer (IPv6, as the bind address)", n->host, err);
    /* IPv4 first when the name has both: the common case across a routed network */
    const struct addrinfo *pick = r;
    for (const struct addrinfo *a = r; a; a = a->ai_next)
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
    memcpy(peer, pick->ai_addr, pick->ai_addrlen);
    *plen = pick->ai_addrlen;
    freeaddrinfo(r);
    if (!n->bind_host[0] && n->bind_port) { /* bind=PORT: any address of the peer's family */
        local->ss_family = peer->ss_family;
        if (peer->ss_family == AF_INET6)
            ((struct sockaddr_in6 *)local)->sin6_port = htons(n->bind_port);
        else
            ((struct sockaddr_in *)local)->sin_port = htons(n->bind_port);
        *llen = peer->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                            : sizeof(struct sockaddr_in);
    }
    return 0;
}

/* SO_*BUFFORCE as root (past net.core.[rw]mem_max), else what the limits give. */
static void sockbuf(int fd, int force, int plain)
{
    int v = SOCKBUF;
    if (setsockopt(fd, SOL_SOCKET, force, &v, sizeof v))
        setsockopt(fd, SOL_SOCKET, plain, &v, sizeof v);
}

static bool env_off(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] == '0';
}

static int sock_open(struct udpl *u, const struct jet_link_name *n, const struct udp_opts *o,
                     struct sockaddr_storage *la, struct jet_err *err)
{
    struct sockaddr_storage pa;
    socklen_t ll = 0, pl = 0;
    char b[80];
    int rc = resolve(n, la, &ll, &pa, &pl, err);
    if (rc)
        return rc;
    u->v6 = pa.ss_family == AF_INET6;
    u->fd = socket(pa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    if (u->fd < 0)
        return jet_err_set(err, -errno, "udp: socket: %s", strerror(errno));
    sockbuf(u->fd, SO_RCVBUFFORCE, SO_RCVBUF);
    sockbuf(u->fd, SO_SNDBUFFORCE, SO_SNDBUF);
    int one = 1, pmtud = u->v6 ? IPV6_PMTUDISC_DO : IP_PMTUDISC_DO;
    if (u->v6 ? setsockopt(u->fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtud, sizeof pmtud)
              : setsockopt(u->fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtud, sizeof pmtud))
        return jet_err_set(err, -errno, "udp: path MTU discovery: %s", strerror(errno));
    setsockopt(u->fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
    u->gro = !o->no_gro && !env_off("JET_UDP_GRO") &&
             setsockopt(u->fd, SOL_UDP, UDP_GRO, &one, sizeof one) == 0;
    int seg = 0;
    socklen_t sl = sizeof seg;
    u->gso = !o->no_gso && !env_off("JET_UDP_GSO") &&
             getsockopt(u->fd, SOL_UDP, UDP_SEGMENT, &seg, &sl) == 0;
    if (ll && bind(u->fd, (struct sockaddr *)la, ll)) {
        int e = errno;
        addr_text(la, b, sizeof b);
        if (e == EADDRINUSE)
            return jet_err_set(err, -EADDRINUSE, "udp: local port %s is taken (another socket "
                               "is bound to it)", b);
        if (e == EADDRNOTAVAIL)
            return jet_err_set(err, -EADDRNOTAVAIL, "udp: bind address %s is not an address "
                               "of this host", b);
        if (e == EACCES)
            return jet_err_set(err, -EACCES, "udp: binding %s needs privilege "
                               "(CAP_NET_BIND_SERVICE for a port under 1024)", b);
        return jet_err_set(err, -e, "udp: bind %s: %s", b, strerror(e));
    }
    if (connect(u->fd, (struct sockaddr *)&pa, pl)) {
        int e = errno;
        return jet_err_set(err, -e, "udp: peer %s: %s%s", addr_text(&pa, b, sizeof b),
                           strerror(e), e == ENETUNREACH ? " (no route to it)" : "");
    }
    socklen_t gl = sizeof *la;
    if (getsockname(u->fd, (struct sockaddr *)la, &gl))
        return jet_err_set(err, -errno, "udp: getsockname: %s", strerror(errno));
    return 0;
}

int udp_link_open_opts(const struct jet_link_name *n, int station, const struct udp_opts *o,
                       struct jet_link **out, struct jet_err *err)
{
    static const struct udp_opts none;
    if (!o)
        o = &none;
    if (station < -1 || station >= (int)JET_STATION_BROADCAST)
        return jet_err_set(err, -EINVAL, "udp: station %d outside 0..%u", station,
                           JET_STATION_BROADCAST - 1);
    struct udpl *u = calloc(1, sizeof *u);
    if (!u)
        return jet_err_set(err, -ENOMEM, "out of memory");
    u->fd = -1;
    struct sockaddr_storage la;
    int rc = sock_open(u, n, o, &la, err);
    if (rc)
        goto fail;
    u->pmtu = path_mtu(u);
    uint32_t cap = u->v6 ? UDP_DGRAM_MAX6 : UDP_DGRAM_MAX4;
    u->dgram_max = u->pmtu > ip_udp_hdr(u) ? u->pmtu - ip_udp_hdr(u) : 0;
    if (u->dgram_max > cap)
        u->dgram_max = cap;
    if (u->dgram_max < DGRAM_MIN) {
        rc = jet_err_set(err, -EMSGSIZE, "udp: the path MTU to %s is %u bytes: datagrams of %u "
                         "bytes at most cannot carry an IPv4 packet of 576 (needs %d)", n->host,
                         u->pmtu, u->dgram_max, DGRAM_MIN);
        goto fail;
    }
    u->max_frame = u->dgram_max;
    u->gso_bytes = cap; /* a train is one IP packet before segmentation */
    if ((rc = udp_mem_init(u, err)))
        goto fail;
    make_mac(&la, u->base.caps.mac);
    u->info.v6 = u->v6;
    u->info.local_port = ntohs(la.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&la)->sin6_port
                                                        : ((struct sockaddr_in *)&la)->sin_port);
    u->base.ops = &udp_ops;
    u->base.caps.addr = station < 0 ? ethnat_station_from_mac(u->base.caps.mac) : (uint32_t)station;
    u->base.caps.has_mac = true;
    u->base.caps.mtu = u->dgram_max - JET_FRAME_OVERHEAD;
    /* an Ethernet frame of eth_mtu + 18 (tagged) behind the 2-byte shim fills a datagram */
    u->base.caps.eth_mtu = u->dgram_max - UDP_SHIM_LEN - 18;
    u->base.caps.max_frame = u->max_frame;
    u->base.caps.burst = BURST;
    u->base.caps.buffers = DESCS;
    u->base.caps.native = true;
    u->base.caps.eth = true;
    /* UDP's checksum (always on: IPv6 needs it, and we send it on IPv4): a
     * damaged datagram is dropped by the kernel, as a NIC drops a bad FCS */
    u->base.caps.csum = true;
    if (n->bind_host[0] || n->bind_port) {
        char bh[80];
        if (strchr(n->bind_host, ':'))
            snprintf(bh, sizeof bh, "[%s]:", n->bind_host);
        else
            snprintf(bh, sizeof bh, "%s%s", n->bind_host, n->bind_host[0] ? ":" : "");
        snprintf(u->base.name, sizeof u->base.name, strchr(n->host, ':') ? "udp:[%s]:%u,bind=%s%u"
                 : "udp:%s:%u,bind=%s%u", n->host, n->port, bh, n->bind_port);
    } else {
        snprintf(u->base.name, sizeof u->base.name, strchr(n->host, ':') ? "udp:[%s]:%u"
                 : "udp:%s:%u", n->host, n->port);
    }
    *out = &u->base;
    return 0;
fail:
    if (u->fd >= 0)
        close(u->fd);
    free(u);
    return rc;
}

int udp_link_open(const struct jet_link_name *n, int station, struct jet_link **out,
                  struct jet_err *err)
{
    return udp_link_open_opts(n, station, NULL, out, err);
}
