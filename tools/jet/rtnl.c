/* rtnl: interface configuration over rtnetlink for `jet lan tap` (rtnl.h).
 *
 * A request is one message built in a stack buffer (header, ifinfomsg or
 * ifaddrmsg, attributes), sent with NLM_F_ACK; rtnl_talk then reads until
 * the kernel's answer with the request's sequence number: an error message
 * (0 = done) or, for RTM_GETLINK, the interface itself. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "rtnl.h"

struct req {
    struct nlmsghdr h;
    union {
        struct ifinfomsg ifi;
        struct ifaddrmsg ifa;
    };
    char attrs[256];
};

static void put_attr(struct req *r, uint16_t type, const void *data, size_t len)
{
    struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->h.nlmsg_len));
    a->rta_type = type;
    a->rta_len = (uint16_t)RTA_LENGTH(len);
    memcpy(RTA_DATA(a), data, len);
    r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

int rtnl_open(int ns_fd, struct jet_err *err)
{
    int self = -1, fd;
    if (ns_fd >= 0) {
        self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0)
            return jet_err_set(err, -errno, "/proc/self/ns/net: %s", strerror(errno));
        if (setns(ns_fd, CLONE_NEWNET) < 0) {
            int e = errno;
            close(self);
            return jet_err_set(err, -e, "cannot enter the network namespace: %s", strerror(e));
        }
    }
    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    int e = errno;
    if (self >= 0) {
        /* Back at once: this process's stations live in its own namespace. */
        int rc = setns(self, CLONE_NEWNET);
        int e2 = errno;
        close(self);
        if (rc < 0) {
            if (fd >= 0)
                close(fd);
            return jet_err_set(err, -e2, "cannot return to our network namespace: %s",
                               strerror(e2));
        }
    }
    if (fd < 0)
        return jet_err_set(err, -e, "rtnetlink socket: %s", strerror(e));
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv); /* a kernel always answers */
    return fd;
}

/* Sends r and reads the answer.  With ifindex non-NULL an RTM_NEWLINK
 * answer's index is stored there.  0 or the kernel's negative errno. */
static int rtnl_talk(int fd, struct req *r, int *ifindex, const char *what, struct jet_err *err)
{
    static uint32_t seq;
    r->h.nlmsg_seq = ++seq;
    r->h.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    struct sockaddr_nl k = {.nl_family = AF_NETLINK};
    if (sendto(fd, r, r->h.nlmsg_len, 0, (struct sockaddr *)&k, sizeof k) < 0)
        return jet_err_set(err, -errno, "%s: %s", what, strerror(errno));
    char buf[16384] __attribute__((aligned(4)));
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return jet_err_set(err, -errno, "%s: %s", what, strerror(errno));
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
             h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_seq != r->h.nlmsg_seq)
                continue;
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(h);
                if (h->nlmsg_len < NLMSG_LENGTH(sizeof *e))
                    return jet_err_set(err, -EPROTO, "%s: short netlink answer", what);
                if (e->error)
                    return jet_err_set(err, e->error, "%s: %s", what, strerror(-e->error));
                return 0;
            }
            if (h->nlmsg_type == RTM_NEWLINK && ifindex &&
                h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifinfomsg)))
                *ifindex = ((const struct ifinfomsg *)NLMSG_DATA(h))->ifi_index;
        }
    }
}

int rtnl_link_index(int fd, const char *name, struct jet_err *err)
{
    struct req r = {.h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
                          .nlmsg_type = RTM_GETLINK}};
    r.ifi.ifi_family = AF_UNSPEC;
    size_t n = strlen(name);
    if (n == 0 || n >= IFNAMSIZ)
        return jet_err_set(err, -EINVAL, "bad interface name '%s'", name);
    put_attr(&r, IFLA_IFNAME, name, n + 1);
    int idx = 0;
    char what[64];
    snprintf(what, sizeof what, "interface %s", name);
    int rc = rtnl_talk(fd, &r, &idx, what, err);
    if (rc)
        return rc == -ENODEV ? jet_err_set(err, -ENODEV, "no interface %s", name) : rc;
    if (idx <= 0)
        return jet_err_set(err, -ENODEV, "no interface %s", name);
    return idx;
}

static struct req link_req(int ifindex)
{
    struct req r = {.h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
                          .nlmsg_type = RTM_NEWLINK}};
    r.ifi.ifi_family = AF_UNSPEC;
    r.ifi.ifi_index = ifindex;
    return r;
}

int rtnl_link_set(int fd, int ifindex, const struct rtnl_link_change *c, struct jet_err *err)
{
    int rc;
    if (c->ns_fd >= 0) {
        struct req r = link_req(ifindex);
        uint32_t nsfd = (uint32_t)c->ns_fd;
        put_attr(&r, IFLA_NET_NS_FD, &nsfd, sizeof nsfd);
        if ((rc = rtnl_talk(fd, &r, NULL, "moving the interface into the namespace", err)))
            return rc;
    }
    if (c->mac || c->mtu || c->up >= 0) {
        struct req r = link_req(ifindex);
        if (c->up >= 0) {
            r.ifi.ifi_change = IFF_UP;
            r.ifi.ifi_flags = c->up ? IFF_UP : 0;
        }
        if (c->mac)
            put_attr(&r, IFLA_ADDRESS, c->mac, 6);
        if (c->mtu)
            put_attr(&r, IFLA_MTU, &c->mtu, sizeof c->mtu);
        char what[80];
        snprintf(what, sizeof what, "setting%s%s%s", c->mac ? " MAC" : "", c->mtu ? " MTU" : "",
                 c->up > 0 ? " up" : c->up == 0 ? " down" : "");
        if ((rc = rtnl_talk(fd, &r, NULL, what, err)))
            return rc;
    }
    return 0;
}

int rtnl_addr_add(int fd, int ifindex, uint32_t addr, uint8_t plen, struct jet_err *err)
{
    struct req r = {.h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg)),
                          .nlmsg_type = RTM_NEWADDR,
                          .nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL}};
    r.ifa.ifa_family = AF_INET;
    r.ifa.ifa_prefixlen = plen;
    r.ifa.ifa_index = (uint32_t)ifindex;
    uint32_t be = htonl(addr);
    put_attr(&r, IFA_LOCAL, &be, 4);
    put_attr(&r, IFA_ADDRESS, &be, 4);
    if (plen < 31) {
        uint32_t bc = htonl(addr | (plen ? 0xffffffffu >> plen : 0xffffffffu));
        put_attr(&r, IFA_BROADCAST, &bc, 4);
    }
    return rtnl_talk(fd, &r, NULL, "adding the IPv4 address", err);
}
