/* Link names and opening: the one place link names are parsed. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jet/lan.h"
#include "jet/link.h"
#include "jet/loop.h"
#include "link/fault.h"
#include "link/link_fd.h"
#include "link/real.h"
#include "link/tap.h"

static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
    if (!*s || strlen(s) > 10)
        return -EINVAL;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -EINVAL;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v > max)
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

static int check_ifname(const char *kind, const char *s, struct jet_err *err)
{
    size_t n = strlen(s);
    if (n == 0 || n > 15)
        return jet_err_set(err, -EINVAL, "%s: interface name must be 1 to 15 characters", kind);
    for (size_t i = 0; i < n; i++)
        if (s[i] == '/' || s[i] == ':' || s[i] == '@' || s[i] <= ' ' || s[i] == 0x7f)
            return jet_err_set(err, -EINVAL, "%s: bad character in interface name '%s'", kind, s);
    return 0;
}

/* A LAN or loop network name: 1..48 of [A-Za-z0-9_-.], not starting with '.'
 * (it names a file for the LAN). */
static int check_netname(const char *kind, const char *s, struct jet_err *err)
{
    size_t n = strlen(s);
    if (n == 0 || n > JET_LAN_NAME_MAX)
        return jet_err_set(err, -EINVAL, "%s: name must be 1 to %d characters", kind,
                           JET_LAN_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || (c == '.' && i > 0)))
            return jet_err_set(err, -EINVAL, "%s: bad character in name '%s'", kind, s);
    }
    return 0;
}

/* udp:'s option after the peer: bind=[ADDR:]PORT (ADDR an IPv4 address or
 * [IPv6]). */
static int udp_bind_parse(const char *o, struct jet_link_name *out, struct jet_err *err)
{
    if (strncmp(o, "bind=", 5))
        return jet_err_set(err, -EINVAL, "udp: unknown option '%s' (bind=[ADDR:]PORT)", o);
    o += 5;
    const char *port = o;
    size_t hl = 0;
    if (*o == '[') {
        const char *rb = strchr(o, ']');
        if (!rb || rb[1] != ':')
            return jet_err_set(err, -EINVAL, "udp: expected bind=[IPV6]:PORT");
        o++;
        hl = (size_t)(rb - o);
        port = rb + 2;
    } else if (strchr(o, ':')) {
        const char *pc = strrchr(o, ':');
        hl = (size_t)(pc - o);
        port = pc + 1;
        if (memchr(o, ':', hl))
            return jet_err_set(err, -EINVAL, "udp: put an IPv6 bind address in brackets");
    }
    if (hl >= sizeof out->bind_host || (port != o && hl == 0))
        return jet_err_set(err, -EINVAL, "udp: missing or too long bind address");
    memcpy(out->bind_host, o, hl);
    out->bind_host[hl] = 0;
    for (size_t i = 0; i < hl; i++)
        if (out->bind_host[i] <= ' ' || out->bind_host[i] == '/' || out->bind_host[i] == 0x7f ||
            out->bind_host[i] == ',' || out->bind_host[i] == '[' || out->bind_host[i] == ']')
            return jet_err_set(err, -EINVAL, "udp: bad character in bind address");
    uint32_t p;
    if (parse_u32(port, 65535, &p))
        return jet_err_set(err, -EINVAL, "udp: bad bind port '%s'", port);
    out->bind_port = (uint16_t)p;
    return 0;
}

int jet_link_name_parse(const char *s, struct jet_link_name *out, struct jet_err *err)
{
    memset(out, 0, sizeof *out);
    if (!s)
        return jet_err_set(err, -EINVAL, "no link name");
    const char *colon = strchr(s, ':');
    if (!colon)
        return jet_err_set(err, -EINVAL,
                           "link '%s': expected KIND:ARG (lan:NAME, loop:NAME, tap:IF, packet:IF, "
                           "xdp:IF@Q, udp:HOST:PORT)",
                           s);
    size_t kl = (size_t)(colon - s);
    const char *arg = colon + 1;
    if (strlen(arg) >= 256)
        return jet_err_set(err, -EINVAL, "link name too long");
    if ((kl == 5 && !strncmp(s, "fault", 5)) || (kl == 7 && !strncmp(s, "capture", 7)))
        return fault_name_parse(kl == 5 ? JET_LINK_FAULT : JET_LINK_CAPTURE, arg, out, err);
    if ((kl == 3 && !strncmp(s, "lan", 3)) || (kl == 4 && !strncmp(s, "loop", 4))) {
        out->kind = kl == 3 ? JET_LINK_LAN : JET_LINK_LOOP;
        int rc = check_netname(kl == 3 ? "lan" : "loop", arg, err);
        if (rc)
            return rc;
        strcpy(out->name, arg);
        return 0;
    }
    if ((kl == 3 && !strncmp(s, "tap", 3)) || (kl == 6 && !strncmp(s, "packet", 6))) {
        out->kind = kl == 3 ? JET_LINK_TAP : JET_LINK_PACKET;
        int rc = check_ifname(kl == 3 ? "tap" : "packet", arg, err);
        if (rc)
            return rc;
        strcpy(out->name, arg);
        return 0;
    }
    if (kl == 3 && !strncmp(s, "xdp", 3)) {
        out->kind = JET_LINK_XDP;
        const char *at = strrchr(arg, '@');
        size_t il = at ? (size_t)(at - arg) : strlen(arg);
        char ifn[64];
        if (il >= sizeof ifn)
            return jet_err_set(err, -EINVAL, "xdp: expected xdp:IF[@QUEUE], got 'xdp:%s'", arg);
        memcpy(ifn, arg, il);
        ifn[il] = 0;
        int rc = check_ifname("xdp", ifn, err);
        if (rc)
            return rc;
        if (at && parse_u32(at + 1, 1u << 16, &out->queue))
            return jet_err_set(err, -EINVAL, "xdp: bad queue number '%s'", at + 1);
        strcpy(out->name, ifn);
        return 0;
    }
    if (kl == 3 && !strncmp(s, "udp", 3)) {
        out->kind = JET_LINK_UDP;
        char peer[256];
        const char *opt = strchr(arg, ',');
        size_t pl = opt ? (size_t)(opt - arg) : strlen(arg);
        memcpy(peer, arg, pl);
        peer[pl] = 0;
        if (opt) {
            int rc = udp_bind_parse(opt + 1, out, err);
            if (rc)
                return rc;
        }
        arg = peer;
        const char *host = arg, *port;
        size_t hl;
        if (*arg == '[') {
            const char *rb = strchr(arg, ']');
            if (!rb || rb[1] != ':')
                return jet_err_set(err, -EINVAL, "udp: expected udp:[IPV6]:PORT");
            host = arg + 1;
            hl = (size_t)(rb - host);
            port = rb + 2;
        } else {
            const char *pc = strrchr(arg, ':');
            if (!pc)
                return jet_err_set(err, -EINVAL, "udp: expected udp:HOST:PORT");
            hl = (size_t)(pc - arg);
            port = pc + 1;
            if (memchr(arg, ':', hl))
                return jet_err_set(err, -EINVAL, "udp: put an IPv6 address in brackets: udp:[ADDR]:PORT");
        }
        if (hl == 0 || hl >= sizeof out->host)
            return jet_err_set(err, -EINVAL, "udp: missing or too long host");
        uint32_t p;
        if (parse_u32(port, 65535, &p) || p == 0)
            return jet_err_set(err, -EINVAL, "udp: bad port '%s'", port);
        memcpy(out->host, host, hl);
        out->host[hl] = 0;
        for (size_t i = 0; i < hl; i++)
            if (out->host[i] <= ' ' || out->host[i] == '/' || out->host[i] == 0x7f ||
                out->host[i] == '[' || out->host[i] == ']')
                return jet_err_set(err, -EINVAL, "udp: bad character in host");
        out->port = (uint16_t)p;
        return 0;
    }
    return jet_err_set(err, -EINVAL, "link '%s': unknown kind '%.*s' (lan, loop, tap, packet, xdp, udp)",
                       s, (int)kl, s);
}

/* JET_LINK_MONITOR: the kinds that cannot watch their medium say why, and
 * what to use instead (lan: and packet: can; wrappers pass it inward). */
static int monitor_refused(const struct jet_link_name *n, struct jet_err *err)
{
    switch (n->kind) {
    case JET_LINK_TAP:
        return jet_err_set(err, -EOPNOTSUPP,
                           "tap:%s cannot be a monitor: a TAP device has one reader, the "
                           "stack at its end; watch it with packet:%s (or wrap the link that "
                           "uses it: capture:FILE/tap:%s)",
                           n->name, n->name, n->name);
    case JET_LINK_XDP:
        return jet_err_set(err, -EOPNOTSUPP,
                           "xdp:%s cannot be a monitor: its XDP program steers only the "
                           "stack's frames to one socket; watch the interface with packet:%s, "
                           "or run the tool with --link capture:FILE/xdp:%s",
                           n->name, n->name, n->name);
    case JET_LINK_UDP:
        return jet_err_set(err, -EOPNOTSUPP,
                           "udp: cannot be a monitor: a UDP socket gets only its own datagrams; "
                           "watch the interface with packet:IF, or run the tool with --link "
                           "capture:FILE/udp:...");
    case JET_LINK_LOOP:
        return jet_err_set(err, -EOPNOTSUPP,
                           "loop:%s cannot be a monitor: the loop network lives inside one "
                           "process; wrap its end instead (capture:FILE/loop:%s)",
                           n->name, n->name);
    default:
        return 0;
    }
}

int jet_link_open(const char *s, const struct jet_link_opts *opts, struct jet_link **out,
                  struct jet_err *err)
{
    struct jet_link_name n;
    int rc = jet_link_name_parse(s, &n, err);
    if (rc)
        return rc;
    if (opts && (opts->flags & JET_LINK_MONITOR) && (rc = monitor_refused(&n, err)))
        return rc;
    switch (n.kind) {
    case JET_LINK_LAN:
        if (opts && (opts->flags & JET_LINK_MONITOR))
            return jet_lan_monitor(n.name, out, err);
        return jet_lan_attach(n.name, opts ? opts->station : -1, out, err);
    case JET_LINK_LOOP:
        return jet_loop_attach(n.name, opts ? opts->station : -1, out, err);
    case JET_LINK_FAULT:   /* wrappers: link/fault.c opens the inner link, then wraps it */
    case JET_LINK_CAPTURE:
        return fault_link_open(s, &n, opts, out, err);
    case JET_LINK_TAP:
        return tap_link_open(n.name, NULL, out, err);
    case JET_LINK_PACKET:
        if (opts && (opts->flags & JET_LINK_MONITOR))
            return packet_monitor_open(&n, out, err);
        return packet_link_open(&n, opts ? opts->station : -1, out, err);
    case JET_LINK_XDP:
        return xdp_link_open(&n, opts ? opts->station : -1, out, err);
    case JET_LINK_UDP:
        return udp_link_open(&n, opts ? opts->station : -1, out, err);
    }
    return jet_err_set(err, -EINVAL, "link '%s': unknown kind", s);
}

int jet_link_unsupported(struct jet_link *l, const char *op)
{
    return jet_err_set(&l->err, -EOPNOTSUPP, "link %s cannot %s", l->name, op);
}

void jet_link_close(struct jet_link *l)
{
    if (l)
        l->ops->close(l);
}

int link_fd_wait(struct jet_link *l, int fd, bool out, bool soon, int64_t timeout_ns)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | (out ? POLLOUT : 0)};
    int ms = timeout_ns < 0 ? -1 : (int)((timeout_ns + 999999) / 1000000);
    if (soon && (ms < 0 || ms > 1))
        ms = 1;
    if (poll(&p, 1, ms) < 0)
        return errno == EINTR ? -EINTR : jet_err_set(&l->err, -errno, "poll: %s", strerror(errno));
    return 0;
}

int link_fd_ready(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0 ? 1 : 0;
}
