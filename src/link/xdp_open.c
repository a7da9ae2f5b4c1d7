/* The xdp:IF[@Q] link: opening, closing and the flows it is told it owns
 * (the data path: xdp.c; the steering program: xdp_prog.c; docs/link-xdp.md).
 *
 * Opening, in order: the interface exists (-ENODEV, before anything else),
 * privileges (-EPERM: CAP_NET_ADMIN, CAP_BPF, CAP_NET_RAW), up (-ENETDOWN),
 * an MTU the link carries (-EMSGSIZE: one UMEM frame, or a few with
 * multi-buffer), the queue exists (-EINVAL); the program attached (or the
 * process's attachment shared); the UMEM (one mapping) and the socket bound
 * with XDP_USE_NEED_WAKEUP (and XDP_USE_SG when a frame needs more than one
 * UMEM frame), zero-copy if the driver takes it, else copy; every receive
 * frame given to the fill ring; the socket put in jet_xsks at its queue.
 *
 * The link remembers the network namespace it was opened in: its close
 * detaches there (entering it and coming back if the thread is elsewhere),
 * and own() reads the kernel's addresses there.
 *
 * Close: bounded time (200 ms) for the frames submitted to complete, the
 * flows given back, the socket and UMEM freed, the program's reference
 * dropped (the last detaches). */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/capability.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "jet/frame.h"
#include "link/real.h"
#include "link/xdp_impl.h"

static struct xdp *X(struct jet_link *l)
{
    return (struct xdp *)l;
}

/* ---- flows (jet_link_own) ---- */

/* Whether addr (host order) is one of the kernel's on the interface. */
static bool kernel_has(const struct xdp *x, uint32_t addr)
{
    struct ifaddrs *ifa, *p;
    if (getifaddrs(&ifa) != 0)
        return false;
    bool yes = false;
    for (p = ifa; p && !yes; p = p->ifa_next)
        yes = p->ifa_addr && p->ifa_addr->sa_family == AF_INET && p->ifa_name &&
              !strcmp(p->ifa_name, x->ifname) &&
              ntohl(((struct sockaddr_in *)p->ifa_addr)->sin_addr.s_addr) == addr;
    freeifaddrs(ifa);
    return yes;
}

/* Enters the link's namespace if the thread is elsewhere: the namespace to
 * come back to (an fd), -1 when already there, or -2 on failure. */
static int ns_enter(const struct xdp *x)
{
    struct stat a, b;
    int cur = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (cur < 0)
        return -2;
    if (fstat(cur, &a) == 0 && fstat(x->ns_fd, &b) == 0 && a.st_ino == b.st_ino &&
        a.st_dev == b.st_dev) {
        close(cur);
        return -1;
    }
    if (setns(x->ns_fd, CLONE_NEWNET) != 0) {
        close(cur);
        return -2;
    }
    return cur;
}

static void ns_leave(int back)
{
    if (back >= 0) {
        if (setns(back, CLONE_NEWNET) != 0)
            abort(); /* the thread would stay in another namespace: never silently */
        close(back);
    }
}

int xdp_own_op(struct jet_link *l, const struct jet_link_flow *f, bool add)
{
    struct xdp *x = X(l);
    bool kern = false;
    if (add && f->proto == 0 && f->addr) {
        int back = ns_enter(x);
        kern = kernel_has(x, f->addr);
        ns_leave(back);
    }
    return xdp_att_own(x->att, &x->holds, f, add, kern, &l->err);
}

/* ---- open and close ---- */

static void teardown(struct xdp *x)
{
    if (x->att)
        xdp_att_disown(x->att, &x->holds);
    if (x->xsk)
        xsk_socket__delete(x->xsk); /* and out of jet_xsks */
    if (x->umem)
        xsk_umem__delete(x->umem);
    if (x->area)
        munmap(x->area, (size_t)NFRAMES * FRAME);
    free(x->big);
    if (x->att) {
        int back = ns_enter(x);
        xdp_att_put(x->att, x->queue);
        ns_leave(back);
    }
    if (x->ns_fd >= 0)
        close(x->ns_fd);
    free(x);
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void xdp_close_op(struct jet_link *l)
{
    struct xdp *x = X(l);
    xdp_flush(l);
    uint64_t until = mono_ns() + 200000000u;
    while (x->outstanding && mono_ns() < until) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        xdp_flush(l);
    }
    x->st.tx_dropped += x->outstanding; /* never completed: the device kept them */
    teardown(x);
}

static bool has_cap(const struct __user_cap_data_struct d[2], int cap)
{
    return d[cap >> 5].effective & (1u << (cap & 31));
}

/* -EPERM unless the process may attach XDP programs and open AF_XDP sockets. */
static int check_caps(const char *ifname, struct jet_err *err)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    if (syscall(SYS_capget, &h, d) != 0)
        return 0; /* cannot tell: the calls below will */
    bool bpf = has_cap(d, CAP_BPF) || has_cap(d, CAP_SYS_ADMIN);
    if (has_cap(d, CAP_NET_ADMIN) && has_cap(d, CAP_NET_RAW) && bpf)
        return 0;
    return jet_err_set(err, -EPERM, "xdp:%s needs CAP_NET_ADMIN, CAP_BPF and CAP_NET_RAW "
                       "(run as root, or setcap cap_net_admin,cap_net_raw,cap_bpf+ep); "
                       "missing %s%s%s", ifname,
                       has_cap(d, CAP_NET_ADMIN) ? "" : "CAP_NET_ADMIN ",
                       bpf ? "" : "CAP_BPF ", has_cap(d, CAP_NET_RAW) ? "" : "CAP_NET_RAW");
}

/* The interface's state, MTU, MAC and queue count, in the thread's namespace. */
static int if_query(struct xdp *x, uint32_t *mtu, uint32_t *queues, struct jet_err *err)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return jet_err_set(err, -errno, "socket: %s", strerror(errno));
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, x->ifname);
    int rc = 0;
    if (ioctl(s, SIOCGIFFLAGS, &r) < 0) {
        rc = jet_err_set(err, -errno, "xdp:%s: flags: %s", x->ifname, strerror(errno));
        goto out;
    }
    if (!(r.ifr_flags & IFF_UP)) {
        rc = jet_err_set(err, -ENETDOWN, "interface %s is down (ip link set %s up)", x->ifname,
                         x->ifname);
        goto out;
    }
    if (ioctl(s, SIOCGIFMTU, &r) < 0) {
        rc = jet_err_set(err, -errno, "xdp:%s: MTU: %s", x->ifname, strerror(errno));
        goto out;
    }
    *mtu = (uint32_t)r.ifr_mtu;
    if (ioctl(s, SIOCGIFHWADDR, &r) < 0) {
        rc = jet_err_set(err, -errno, "xdp:%s: MAC: %s", x->ifname, strerror(errno));
        goto out;
    }
    memcpy(x->base.caps.mac, r.ifr_hwaddr.sa_data, 6);
    struct ethtool_channels ch = {.cmd = ETHTOOL_GCHANNELS};
    r.ifr_data = (void *)&ch;
    *queues = 0; /* unknown: binding tells */
    if (ioctl(s, SIOCETHTOOL, &r) == 0) {
        uint32_t one = ch.rx_count > ch.tx_count ? ch.rx_count : ch.tx_count;
        *queues = one + ch.combined_count;
    }
out:
    close(s);
    return rc;
}

static int make_socket(struct xdp *x, struct jet_err *err)
{
    size_t size = (size_t)NFRAMES * FRAME;
    x->area = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (x->area == MAP_FAILED) {
        x->area = NULL;
        return jet_err_set(err, -ENOMEM, "xdp:%s: no memory for %d frames", x->ifname,
                           NFRAMES);
    }
    const struct xsk_umem_config uc = {.fill_size = RING, .comp_size = RING,
                                       .frame_size = FRAME, .frame_headroom = 0};
    /* zero-copy where the driver allows it, else copy; a failed bind leaves the
     * UMEM half set up in libxdp, so each try starts from a fresh one */
    static const uint16_t modes[2] = {XDP_ZEROCOPY, XDP_COPY};
    int rc = 0;
    for (int m = 0; m < 2; m++) {
        rc = xsk_umem__create(&x->umem, x->area, size, &x->fq, &x->cq, &uc);
        if (rc) {
            x->umem = NULL;
            return jet_err_set(err, rc, "xdp:%s: UMEM of %zu bytes: %s%s", x->ifname, size,
                               strerror(-rc), rc == -ENOMEM || rc == -ENOBUFS || rc == -EPERM
                                                  ? " (RLIMIT_MEMLOCK? needs CAP_IPC_LOCK "
                                                    "or ulimit -l 20000)" : "");
        }
        const struct xsk_socket_config sc = {
            .rx_size = RING, .tx_size = RING,
            .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
            .bind_flags = (uint16_t)(modes[m] | XDP_USE_NEED_WAKEUP | (x->sg ? XDP_USE_SG : 0))};
        rc = xsk_socket__create(&x->xsk, x->ifname, x->queue, x->umem, &x->rx, &x->tx, &sc);
        if (rc == 0) {
            x->zc = m == 0;
            x->wakeup = true;
            break;
        }
        x->xsk = NULL;
        xsk_umem__delete(x->umem);
        x->umem = NULL;
    }
    if (rc && x->sg && (rc == -EOPNOTSUPP || rc == -EINVAL))
        return jet_err_set(err, -EMSGSIZE, "xdp:%s@%u: the MTU needs multi-buffer frames "
                           "(XDP_USE_SG), which the kernel or driver refused (%s): lower the MTU "
                           "to %d (ip link set %s mtu %d)", x->ifname, x->queue, strerror(-rc),
                           FRAME - RX_OFF - 18, x->ifname, FRAME - RX_OFF - 18);
    if (rc)
        return jet_err_set(err, rc == -EACCES ? -EPERM : rc, "xdp:%s@%u: AF_XDP socket: %s",
                           x->ifname, x->queue, strerror(-rc));
    x->fd = xsk_socket__fd(x->xsk);
    /* copy mode sends at most this many frames per sendto() (32 unless told:
     * XDP_MAX_TX_SKB_BUDGET, Linux 6.17 on; older kernels say no, harmlessly) */
    uint32_t budget = TXQ;
    setsockopt(x->fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &budget, sizeof budget);
    struct xdp_options o;
    socklen_t ol = sizeof o;
    if (getsockopt(x->fd, SOL_XDP, XDP_OPTIONS, &o, &ol) == 0)
        x->zc = o.flags & XDP_OPTIONS_ZEROCOPY;
    return 0;
}

int xdp_link_open(const struct jet_link_name *n, int station, struct jet_link **out,
                  struct jet_err *err)
{
    size_t nl = strlen(n->name);
    if (nl == 0 || nl >= IFNAMSIZ)
        return jet_err_set(err, -EINVAL, "xdp: interface name must be 1 to %d characters",
                           IFNAMSIZ - 1);
    int ifindex = (int)if_nametoindex(n->name);
    if (!ifindex)
        return jet_err_set(err, -ENODEV, "interface %s does not exist", n->name);
    int rc = check_caps(n->name, err);
    if (rc)
        return rc;
    struct xdp *x = calloc(1, sizeof *x);
    if (!x)
        return jet_err_set(err, -ENOMEM, "out of memory");
    memcpy(x->ifname, n->name, nl + 1);
    x->ifindex = ifindex;
    x->queue = n->queue;
    x->fd = -1;
    x->ns_fd = -1;
    uint32_t mtu = 0, queues = 0;
    if ((rc = if_query(x, &mtu, &queues, err)))
        goto fail;
    /* one UMEM frame holds a received frame past XDP_PACKET_HEADROOM (the
     * largest Ethernet frame is a VLAN-tagged MTU); a larger MTU needs
     * multi-buffer frames */
    if (mtu < MIN_MTU || mtu > MAX_MTU) {
        rc = jet_err_set(err, -EMSGSIZE, "interface %s has MTU %u: xdp: takes %d to %d "
                         "(ip link set %s mtu 1500)", x->ifname, mtu, MIN_MTU, MAX_MTU,
                         x->ifname);
        goto fail;
    }
    x->sg = mtu + 18 > FRAME - RX_OFF;
    x->k = x->sg ? (TX_OFF + mtu + 18 + FRAME - 1) / FRAME : 1;
    if (queues && x->queue >= queues) {
        rc = jet_err_set(err, -EINVAL, "interface %s has %u queue%s: no queue %u", x->ifname,
                         queues, queues == 1 ? "" : "s", x->queue);
        goto fail;
    }
    if (ethnat_init(&x->en, x->base.caps.mac, station)) {
        rc = jet_err_set(err, -EINVAL, "xdp:%s: station %d outside 0..65534", x->ifname, station);
        goto fail;
    }
    x->ns_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (x->ns_fd < 0) {
        rc = jet_err_set(err, -errno, "xdp:%s: /proc/thread-self/ns/net: %s", x->ifname,
                         strerror(errno));
        goto fail;
    }
    if ((rc = xdp_att_get(ifindex, x->ifname, x->queue, &x->att, err)))
        goto fail;
    if ((rc = make_socket(x, err)))
        goto fail;
    for (uint32_t i = 0; i < RXF; i++)
        x->rx_free[x->rx_nfree++] = RXF - 1 - i;
    for (uint32_t j = (NFRAMES - RXF) / x->k; j-- > 0;)
        x->tx_free[x->tx_nfree++] = RXF + j * x->k; /* handed out from the first up */
    if (x->sg) {
        x->big_sz = (RX_OFF + mtu + 18 + 63) & ~63u;
        x->big = aligned_alloc(64, (size_t)BIG * x->big_sz);
        if (!x->big) {
            rc = jet_err_set(err, -ENOMEM, "xdp:%s: out of memory", x->ifname);
            goto fail;
        }
        for (uint32_t j = BIG; j-- > 0;)
            x->big_free[x->big_nfree++] = NFRAMES + j;
    }
    xdp_refill(x);
    if ((rc = xdp_att_set_xsk(x->att, x->queue, x->fd))) {
        jet_err_set(err, rc, "xdp:%s@%u: " "jet_xsks: %s", x->ifname, x->queue, strerror(-rc));
        goto fail;
    }
    x->max_native = mtu;     /* 28-byte header and CRC + mtu - 28 */
    x->max_eth = mtu + 18;   /* a VLAN-tagged full frame */
    x->base.ops = &xdp_link_ops;
    x->base.caps = (struct jet_link_caps){.addr = x->en.station,
                                          .has_mac = true,
                                          .mtu = mtu - JET_FRAME_OVERHEAD,
                                          .eth_mtu = mtu,
                                          .max_frame = x->max_eth,
                                          .burst = BURST,
                                          .buffers = NBUF,
                                          .zero_copy = x->zc,
                                          .native = true,
                                          .eth = true};
    memcpy(x->base.caps.mac, x->en.mac, 6);
    if (x->queue)
        snprintf(x->base.name, sizeof x->base.name, "xdp:%s@%u", x->ifname, x->queue);
    else
        snprintf(x->base.name, sizeof x->base.name, "xdp:%s", x->ifname);
    *out = &x->base;
    return 0;
fail:
    teardown(x);
    return rc;
}

int xdp_link_info(const struct jet_link *l, struct xdp_link_info *out)
{
    if (l->ops != &xdp_link_ops)
        return -EINVAL;
    const struct xdp *x = (const struct xdp *)l;
    *out = (struct xdp_link_info){.mode = xdp_att_mode(x->att),
                                  .why = xdp_att_why(x->att),
                                  .how = xdp_att_how(x->att),
                                  .zero_copy = x->zc,
                                  .need_wakeup = x->wakeup,
                                  .multi_buffer = x->sg,
                                  .addrs_fd = xdp_att_map_fd(x->att, "jet_addrs"),
                                  .ports_fd = xdp_att_map_fd(x->att, "jet_ports"),
                                  .stats_fd = xdp_att_map_fd(x->att, "jet_xdp_stats")};
    return 0;
}

