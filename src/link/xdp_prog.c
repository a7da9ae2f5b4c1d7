/* The xdp: link's steering program on an interface (xdp_prog.h).
 *
 * xdp_att_get, in order: find the interface's attachment in this process's
 * registry (same network namespace, same ifindex) and take a reference; or
 * make one: take the interface's lock (an abstract unix socket named after
 * the ifindex: abstract names live in the network namespace, and the socket
 * dies with the process, so a lock that is free means no live process holds
 * the interface), remove a program named jet_xdp that is still attached
 * (left by a process killed before it could detach: alone, or inside
 * libxdp's dispatcher), open the embedded object (bpf_object__open_mem),
 * hand it to libxdp and attach it: native mode, else generic, the reason
 * kept.  libxdp uses its dispatcher (other XDP programs may share the
 * interface) when a bpffs is mounted at /sys/fs/bpf, and falls back to
 * attaching the program alone when none is: the library never mounts one
 * (docs/link-xdp.md).
 *
 * xdp_att_put drops a reference; the last detaches and closes everything.
 * xdp_att_own keeps the maps jet_addrs and jet_ports as the holders of each
 * flow say (src/bpf/jet_xdp.h), counting holders per attachment and per
 * link (xdp_holds), so that a link's close gives back what it held. */
#include "link/xdp_prog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "bpf/jet_xdp.h"

extern const unsigned char jet_xdp_obj[], jet_xdp_obj_end[];

struct xdp_att {
    struct xdp_att *next;
    dev_t ns_dev;
    ino_t ns_ino;
    int ifindex;
    char ifname[16];
    unsigned refs;
    uint64_t queues; /* queues taken by links of this process */
    int lock_fd;
    struct bpf_object *obj;
    struct xdp_program *prog;
    enum xdp_attach_mode mode;
    bool dispatcher;
    char why[200]; /* why not native */
    int xsks_fd, addrs_fd, ports_fd, stats_fd;
    struct {
        uint32_t key; /* network order */
        uint32_t refs;
    } addrs[JET_XDP_MAX_ADDRS];
    unsigned naddrs;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xdp_att *reg;

/* ---- libbpf's and libxdp's messages: kept, not printed ---- */

static char lib_msg[200]; /* the last warning, under reg_lock */

static void keep(const char *fmt, va_list ap)
{
    char m[sizeof lib_msg];
    vsnprintf(m, sizeof m, fmt, ap);
    size_t n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
        m[--n] = 0;
    if (n)
        memcpy(lib_msg, m, n + 1);
}

static int xdp_print(enum libxdp_print_level lv, const char *fmt, va_list ap)
{
    if (lv == LIBXDP_WARN)
        keep(fmt, ap);
    return 0;
}

static int bpf_print(enum libbpf_print_level lv, const char *fmt, va_list ap)
{
    if (lv == LIBBPF_WARN)
        keep(fmt, ap);
    return 0;
}

struct quiet {
    libxdp_print_fn_t x;
    libbpf_print_fn_t b;
};

static struct quiet quiet_on(void)
{
    lib_msg[0] = 0;
    return (struct quiet){libxdp_set_print(xdp_print), libbpf_set_print(bpf_print)};
}

static void quiet_off(struct quiet q)
{
    libxdp_set_print(q.x);
    libbpf_set_print(q.b);
}

/* ---- the registry ---- */

static int netns_id(dev_t *dev, ino_t *ino)
{
    struct stat st;
    if (stat("/proc/thread-self/ns/net", &st) != 0)
        return -errno;
    *dev = st.st_dev;
    *ino = st.st_ino;
    return 0;
}

/* The interface's lock in this network namespace: -EBUSY when a live
 * process holds it. */
static int take_lock(struct xdp_att *a, struct jet_err *err)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return jet_err_set(err, -errno, "xdp:%s: socket: %s", a->ifname, strerror(errno));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int n = snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "jetstream/xdp/%d", a->ifindex);
    if (bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
                                                      (size_t)n)) != 0) {
        int e = errno;
        close(fd);
        if (e == EADDRINUSE)
            return jet_err_set(err, -EBUSY, "xdp:%s: another Jetstream process holds the "
                               "interface's XDP program (one process per interface)", a->ifname);
        return jet_err_set(err, -e, "xdp:%s: lock: %s", a->ifname, strerror(e));
    }
    a->lock_fd = fd;
    return 0;
}

static bool is_ours(const struct xdp_program *p)
{
    const char *n = p ? xdp_program__name(p) : NULL;
    return n && !strcmp(n, JET_XDP_PROG_NAME);
}

/* Removes a jet_xdp program left on the interface (we hold its lock: no
 * live process uses it).  Another program attached alone: -EBUSY. */
static int remove_stale(struct xdp_att *a, struct jet_err *err)
{
    struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(a->ifindex);
    if (!mp || libxdp_get_error(mp))
        return 0; /* nothing there (or nothing libxdp can read: attaching will say) */
    int rc = 0;
    if (xdp_multiprog__is_legacy(mp)) {
        struct xdp_program *p = xdp_multiprog__main_prog(mp);
        if (is_ours(p)) {
            rc = xdp_multiprog__detach(mp);
            if (rc)
                jet_err_set(err, rc, "xdp:%s: cannot detach a stale %s: %s", a->ifname,
                            JET_XDP_PROG_NAME, strerror(-rc));
        } else if (p) {
            rc = jet_err_set(err, -EBUSY, "xdp:%s: another XDP program (%s) is attached alone "
                             "(remove it: ip link set dev %s xdp off)", a->ifname,
                             xdp_program__name(p), a->ifname);
        }
    } else {
        struct xdp_program *stale[8];
        unsigned n = 0;
        for (struct xdp_program *p = xdp_multiprog__next_prog(NULL, mp); p && n < 8;
             p = xdp_multiprog__next_prog(p, mp))
            if (is_ours(p))
                stale[n++] = p;
        enum xdp_attach_mode m = xdp_multiprog__attach_mode(mp);
        for (unsigned i = 0; i < n && !rc; i++) {
            rc = xdp_program__detach(stale[i], a->ifindex, m, 0);
            if (rc)
                jet_err_set(err, rc, "xdp:%s: cannot detach a stale %s from libxdp's "
                            "dispatcher: %s", a->ifname, JET_XDP_PROG_NAME, strerror(-rc));
        }
    }
    xdp_multiprog__close(mp);
    return rc;
}

static void unload(struct xdp_att *a)
{
    if (a->prog)
        xdp_program__close(a->prog);
    if (a->obj)
        bpf_object__close(a->obj);
    a->prog = NULL;
    a->obj = NULL;
}

/* Opens the embedded object and attaches it in mode m: 0 or -errno. */
static int load(struct xdp_att *a, enum xdp_attach_mode m)
{
    LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = JET_XDP_PROG_NAME);
    a->obj = bpf_object__open_mem(jet_xdp_obj, (size_t)(jet_xdp_obj_end - jet_xdp_obj), &oo);
    if (!a->obj)
        return errno ? -errno : -EINVAL;
    a->prog = xdp_program__from_bpf_obj(a->obj, NULL);
    long e = libxdp_get_error(a->prog);
    if (e) {
        a->prog = NULL;
        unload(a);
        return (int)e;
    }
    /* it runs on multi-buffer frames (section xdp.frags): libbpf knows it only at
     * load time, libxdp's dispatcher must know before */
    xdp_program__set_xdp_frags_support(a->prog, true);
    int rc = xdp_program__attach(a->prog, a->ifindex, m, 0);
    if (rc) {
        unload(a);
        return rc;
    }
    a->mode = m;
    return 0;
}

static const char *perm_hint(int rc)
{
    return rc == -EPERM || rc == -EACCES ? " (needs CAP_NET_ADMIN and CAP_BPF: run as root)" : "";
}

static int attach(struct xdp_att *a, struct jet_err *err)
{
    const char *want = getenv("JET_XDP_MODE");
    bool native = !want || !*want || !strcmp(want, "native");
    bool skb = !want || !*want || !strcmp(want, "skb") || !strcmp(want, "generic");
    if (!native && !skb)
        return jet_err_set(err, -EINVAL, "xdp:%s: JET_XDP_MODE=%s: say native or skb", a->ifname,
                           want);
    int rc;
    if (native) {
        rc = load(a, XDP_MODE_NATIVE);
        if (rc == 0)
            return 0;
        snprintf(a->why, sizeof a->why, "native mode: %s%s%.120s", strerror(-rc),
                 lib_msg[0] ? ": " : "", lib_msg);
        if (rc == -EPERM || rc == -EACCES || !skb)
            return jet_err_set(err, rc == -EACCES ? -EPERM : rc, "xdp:%s: cannot attach the "
                               "steering program in %s%s", a->ifname, a->why, perm_hint(rc));
        lib_msg[0] = 0;
    } else {
        snprintf(a->why, sizeof a->why, "JET_XDP_MODE=%.40s", want);
    }
    rc = load(a, XDP_MODE_SKB);
    if (rc)
        return jet_err_set(err, rc == -EACCES ? -EPERM : rc, "xdp:%s: cannot attach the "
                           "steering program: %s; generic mode: %s%s%.120s%s", a->ifname, a->why,
                           strerror(-rc), lib_msg[0] ? ": " : "", lib_msg, perm_hint(rc));
    return 0;
}

static void att_free(struct xdp_att *a)
{
    if (a->prog)
        xdp_program__detach(a->prog, a->ifindex, a->mode, 0);
    unload(a);
    if (a->lock_fd >= 0)
        close(a->lock_fd);
    free(a);
}

static int att_make(struct xdp_att *a, struct jet_err *err)
{
    int rc = take_lock(a, err);
    if (!rc)
        rc = remove_stale(a, err);
    if (!rc)
        rc = attach(a, err);
    if (rc)
        return rc;
    struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(a->ifindex);
    if (mp && !libxdp_get_error(mp)) {
        a->dispatcher = !xdp_multiprog__is_legacy(mp);
        xdp_multiprog__close(mp);
    }
    a->xsks_fd = bpf_object__find_map_fd_by_name(a->obj, JET_XDP_MAP_XSKS);
    a->addrs_fd = bpf_object__find_map_fd_by_name(a->obj, JET_XDP_MAP_ADDRS);
    a->ports_fd = bpf_object__find_map_fd_by_name(a->obj, JET_XDP_MAP_PORTS);
    a->stats_fd = bpf_object__find_map_fd_by_name(a->obj, JET_XDP_MAP_STATS);
    if (a->xsks_fd < 0 || a->addrs_fd < 0 || a->ports_fd < 0)
        return jet_err_set(err, -ENOENT, "xdp:%s: the steering program has no map %s",
                           a->ifname, a->xsks_fd < 0 ? JET_XDP_MAP_XSKS
                                      : a->addrs_fd < 0 ? JET_XDP_MAP_ADDRS : JET_XDP_MAP_PORTS);
    return 0;
}

int xdp_att_get(int ifindex, const char *ifname, uint32_t q, struct xdp_att **out,
                struct jet_err *err)
{
    if (q >= JET_XDP_MAX_QUEUES)
        return jet_err_set(err, -EINVAL, "xdp:%s@%u: queues 0 to %d only", ifname, q,
                           JET_XDP_MAX_QUEUES - 1);
    dev_t dev = 0;
    ino_t ino = 0;
    int rc = netns_id(&dev, &ino);
    if (rc)
        return jet_err_set(err, rc, "xdp:%s: /proc/thread-self/ns/net: %s", ifname,
                           strerror(-rc));
    pthread_mutex_lock(&reg_lock);
    struct xdp_att *a = reg;
    while (a && !(a->ns_dev == dev && a->ns_ino == ino && a->ifindex == ifindex))
        a = a->next;
    if (a) {
        if (a->queues & (1ull << q)) {
            rc = jet_err_set(err, -EBUSY, "xdp:%s@%u: another link of this process has that "
                             "queue", ifname, q);
            goto out;
        }
    } else {
        a = calloc(1, sizeof *a);
        if (!a) {
            rc = jet_err_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        a->ns_dev = dev;
        a->ns_ino = ino;
        a->ifindex = ifindex;
        a->lock_fd = -1;
        snprintf(a->ifname, sizeof a->ifname, "%s", ifname);
        struct quiet qq = quiet_on();
        rc = att_make(a, err);
        if (rc) {
            att_free(a);
        } else {
            a->next = reg;
            reg = a;
        }
        quiet_off(qq);
        if (rc)
            goto out;
    }
    a->refs++;
    a->queues |= 1ull << q;
    *out = a;
out:
    pthread_mutex_unlock(&reg_lock);
    return rc;
}

void xdp_att_put(struct xdp_att *a, uint32_t q)
{
    pthread_mutex_lock(&reg_lock);
    a->queues &= ~(1ull << q);
    if (--a->refs == 0) {
        struct xdp_att **pp = &reg;
        while (*pp != a)
            pp = &(*pp)->next;
        *pp = a->next;
        struct quiet qq = quiet_on();
        att_free(a);
        quiet_off(qq);
    }
    pthread_mutex_unlock(&reg_lock);
}

int xdp_att_set_xsk(struct xdp_att *a, uint32_t q, int xsk_fd)
{
    uint32_t k = q, v = (uint32_t)xsk_fd;
    return bpf_map_update_elem(a->xsks_fd, &k, &v, BPF_ANY) ? -errno : 0;
}

const char *xdp_att_mode(const struct xdp_att *a)
{
    return a->mode == XDP_MODE_NATIVE ? "native" : "generic";
}

const char *xdp_att_why(const struct xdp_att *a)
{
    return a->mode == XDP_MODE_NATIVE ? "" : a->why;
}

const char *xdp_att_how(const struct xdp_att *a)
{
    return a->dispatcher ? "dispatcher" : "single";
}

int xdp_att_map_fd(const struct xdp_att *a, const char *name)
{
    if (!strcmp(name, JET_XDP_MAP_ADDRS))
        return a->addrs_fd;
    if (!strcmp(name, JET_XDP_MAP_PORTS))
        return a->ports_fd;
    if (!strcmp(name, JET_XDP_MAP_STATS))
        return a->stats_fd;
    if (!strcmp(name, JET_XDP_MAP_XSKS))
        return a->xsks_fd;
    return -ENOENT;
}

/* ---- owned flows ---- */

/* One holder more (add) or less of the address key k in jet_addrs. */
static int addr_ref(struct xdp_att *a, uint32_t k, uint32_t flags, bool add, struct jet_err *err)
{
    unsigned i = 0;
    while (i < a->naddrs && a->addrs[i].key != k)
        i++;
    if (add) {
        if (i == a->naddrs) {
            if (a->naddrs == JET_XDP_MAX_ADDRS)
                return jet_err_set(err, -ENOSPC, "xdp:%s: %d addresses held already",
                                   a->ifname, JET_XDP_MAX_ADDRS);
            if (bpf_map_update_elem(a->addrs_fd, &k, &flags, BPF_ANY))
                return jet_err_set(err, errno == E2BIG ? -ENOSPC : -errno,
                                   "xdp:%s: " JET_XDP_MAP_ADDRS ": %s", a->ifname,
                                   strerror(errno));
            a->addrs[a->naddrs++] = (typeof(a->addrs[0])){k, 0};
        }
        a->addrs[i].refs++;
        return 0;
    }
    if (i == a->naddrs)
        return -ENOENT;
    if (--a->addrs[i].refs == 0) {
        bpf_map_delete_elem(a->addrs_fd, &k);
        a->addrs[i] = a->addrs[--a->naddrs];
    }
    return 0;
}

/* One holder more or less of a port: the count is jet_ports' value. */
static int port_ref(struct xdp_att *a, uint8_t proto, uint16_t port, bool add,
                    struct jet_err *err)
{
    struct jet_xdp_port k = {.proto = proto, .port = htons(port)};
    uint32_t v = 0;
    bool there = bpf_map_lookup_elem(a->ports_fd, &k, &v) == 0;
    if (!add && !there)
        return -ENOENT;
    if (!add && v <= 1)
        return bpf_map_delete_elem(a->ports_fd, &k) ? -errno : 0;
    v = add ? (there ? v + 1 : 1) : v - 1;
    if (bpf_map_update_elem(a->ports_fd, &k, &v, BPF_ANY))
        return jet_err_set(err, errno == E2BIG ? -ENOSPC : -errno,
                           "xdp:%s: " JET_XDP_MAP_PORTS ": %s", a->ifname, strerror(errno));
    return 0;
}

static int flow_ref(struct xdp_att *a, const struct jet_link_flow *f, bool add, bool kernel_addr,
                    struct jet_err *err)
{
    if (f->proto == 0)
        return addr_ref(a, htonl(f->addr), f->addr && kernel_addr ? 0 : JET_XDP_ADDR_ALL, add,
                        err);
    return port_ref(a, f->proto, f->port, add, err);
}

static bool same_flow(const struct jet_link_flow *x, const struct jet_link_flow *y)
{
    return x->addr == y->addr && x->proto == y->proto && x->port == y->port;
}

int xdp_att_own(struct xdp_att *a, struct xdp_holds *h, const struct jet_link_flow *f, bool add,
                bool kernel_addr, struct jet_err *err)
{
    if (f->proto == 0 ? f->port != 0 : (f->proto != 6 && f->proto != 17) || f->port == 0)
        return jet_err_set(err, -EINVAL, "xdp:%s: a flow is an address (protocol 0, port 0) "
                           "or a TCP (6) or UDP (17) port other than 0", a->ifname);
    uint32_t i = 0;
    while (i < h->n && !same_flow(&h->v[i].f, f))
        i++;
    if (!add && i == h->n)
        return jet_err_set(err, -ENOENT, "xdp:%s: that flow is not held", a->ifname);
    if (add && i == h->n && h->n == h->cap) {
        uint32_t cap = h->cap ? h->cap * 2 : 8;
        struct xdp_hold *v = realloc(h->v, cap * sizeof *v);
        if (!v)
            return jet_err_set(err, -ENOMEM, "out of memory");
        h->v = v;
        h->cap = cap;
    }
    pthread_mutex_lock(&reg_lock);
    int rc = flow_ref(a, f, add, kernel_addr, err);
    pthread_mutex_unlock(&reg_lock);
    if (rc)
        return rc;
    if (i == h->n)
        h->v[h->n++] = (struct xdp_hold){*f, 0};
    if (add) {
        h->v[i].n++;
    } else if (--h->v[i].n == 0) {
        h->v[i] = h->v[--h->n];
    }
    return 0;
}

void xdp_att_disown(struct xdp_att *a, struct xdp_holds *h)
{
    struct jet_err e = {0};
    pthread_mutex_lock(&reg_lock);
    for (uint32_t i = 0; i < h->n; i++)
        while (h->v[i].n--)
            flow_ref(a, &h->v[i].f, false, false, &e);
    pthread_mutex_unlock(&reg_lock);
    free(h->v);
    *h = (struct xdp_holds){0};
}
