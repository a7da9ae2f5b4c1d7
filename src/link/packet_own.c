/* The flows the stack holds on a packet:IF link (packet.h): the table of
 * flows with their holders, the classic BPF socket filter made from it,
 * the kernel's own addresses, and the nftables rules for an address the
 * stack shares with the kernel (docs/link-packet.md).
 *
 * Order: packet_own() finds or adds the flow, and when the set changed,
 * builds the filter (packet_filter_build), attaches it (SO_ATTACH_FILTER
 * replaces the old one at once), and rewrites the nftables table when a
 * shared address has ports or the table exists.  A failed add is undone.
 *
 * nftables goes through libnftables, opened with dlopen() when first
 * needed: the library is only needed by a stack whose address is also the
 * kernel's, and a build or a machine without it loses only that case (the
 * reason and the rules to apply by hand are in the error). */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "jet/frame.h"
#include "link/packet.h"

/* ---- the socket filter ---- */

enum { L_ACCEPT, L_ARP, L_IP, L_SHARED0 }; /* + 3 per shared address: ports, tcp, udp */

struct em {
    struct sock_filter *o;
    int *lab; /* label an insn jumps to (ja), or -1 */
    unsigned n, cap;
    bool full;
};

static void put(struct em *e, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k, int label)
{
    if (e->n >= e->cap) {
        e->full = true;
        return;
    }
    e->o[e->n] = (struct sock_filter){code, jt, jf, k};
    e->lab[e->n++] = label;
}

static void stmt(struct em *e, uint16_t code, uint32_t k)
{
    put(e, code, 0, 0, k, -1);
}

/* if A == v goto label (far: a jeq over a ja) */
static void jeq_to(struct em *e, uint32_t v, int label)
{
    put(e, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, v, -1);
    put(e, BPF_JMP | BPF_JA, 0, 0, 0, label);
}

static bool addr_shared(const struct pk_flow *f, uint32_t n, uint32_t a)
{
    for (uint32_t i = 0; i < n; i++)
        if (f[i].addr == a && f[i].shared)
            return true;
    return false;
}

/* The distinct nonzero addresses of the flows, in the order first seen. */
static uint32_t addrs(const struct pk_flow *f, uint32_t n, uint32_t *out)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!f[i].addr)
            continue;
        uint32_t j = 0;
        while (j < k && out[j] != f[i].addr)
            j++;
        if (j == k)
            out[k++] = f[i].addr;
    }
    return k;
}

int packet_filter_build(const struct pk_flow *f, uint32_t n, struct sock_filter *out, unsigned cap)
{
    for (uint32_t i = 0; i < n; i++)
        if (!f[i].addr && !f[i].proto) { /* the whole interface */
            if (cap < 1)
                return -ENOSPC;
            out[0] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, PK_SNAP);
            return 1;
        }
    uint32_t *a = malloc((n ? n : 1) * sizeof *a);
    int *lab = malloc((cap ? cap : 1) * sizeof *lab);
    int *pos = malloc((L_SHARED0 + 3 * (size_t)n + 1) * sizeof *pos);
    if (!a || !lab || !pos) {
        free(a), free(lab), free(pos);
        return -ENOMEM;
    }
    uint32_t na = addrs(f, n, a);
    struct em e = {.o = out, .lab = lab, .cap = cap};
    stmt(&e, BPF_LD | BPF_H | BPF_ABS, 12); /* EtherType */
    jeq_to(&e, JET_ETHERTYPE, L_ACCEPT);
    if (na) {
        jeq_to(&e, 0x0806, L_ARP);
        jeq_to(&e, 0x0800, L_IP);
    }
    stmt(&e, BPF_RET | BPF_K, 0);
    if (na) {
        pos[L_ARP] = (int)e.n; /* ARP: the target protocol address */
        stmt(&e, BPF_LD | BPF_W | BPF_ABS, 14 + 24);
        for (uint32_t i = 0; i < na; i++)
            jeq_to(&e, a[i], L_ACCEPT);
        stmt(&e, BPF_RET | BPF_K, 0);
        pos[L_IP] = (int)e.n; /* IPv4: the destination address */
        stmt(&e, BPF_LD | BPF_W | BPF_ABS, 14 + 16);
        uint32_t ns = 0;
        for (uint32_t i = 0; i < na; i++)
            jeq_to(&e, a[i], addr_shared(f, n, a[i]) ? (int)(L_SHARED0 + 3 * ns++) : L_ACCEPT);
        stmt(&e, BPF_RET | BPF_K, 0);
        /* an address the kernel has too: only TCP and UDP to our ports
         * (first fragments: the others have no ports, and are the kernel's) */
        ns = 0;
        for (uint32_t i = 0; i < na; i++) {
            if (!addr_shared(f, n, a[i]))
                continue;
            int base = (int)(L_SHARED0 + 3 * ns++);
            pos[base] = (int)e.n;
            stmt(&e, BPF_LD | BPF_H | BPF_ABS, 14 + 6);
            put(&e, BPF_JMP | BPF_JSET | BPF_K, 0, 1, 0x1fff, -1);
            stmt(&e, BPF_RET | BPF_K, 0);
            stmt(&e, BPF_LDX | BPF_B | BPF_MSH, 14);
            stmt(&e, BPF_LD | BPF_B | BPF_ABS, 14 + 9);
            jeq_to(&e, 6, base + 1);
            jeq_to(&e, 17, base + 2);
            stmt(&e, BPF_RET | BPF_K, 0);
            for (int p = 6; p <= 17; p += 11) {
                pos[base + (p == 6 ? 1 : 2)] = (int)e.n;
                stmt(&e, BPF_LD | BPF_H | BPF_IND, 14 + 2); /* destination port */
                for (uint32_t j = 0; j < n; j++)
                    if (f[j].proto == p && (f[j].addr == a[i] || !f[j].addr))
                        jeq_to(&e, f[j].port, L_ACCEPT);
                stmt(&e, BPF_RET | BPF_K, 0);
            }
        }
    }
    pos[L_ACCEPT] = (int)e.n;
    stmt(&e, BPF_RET | BPF_K, PK_SNAP);
    int rc = (int)e.n;
    if (e.full)
        rc = -ENOSPC;
    else
        for (unsigned i = 0; i < e.n; i++)
            if (lab[i] >= 0)
                out[i].k = (uint32_t)(pos[lab[i]] - (int)i - 1);
    free(a), free(lab), free(pos);
    return rc;
}

int packet_filter_attach(struct pk_own *o, int fd, struct jet_err *err)
{
    struct sock_filter *prog = malloc(PK_FILTER_MAX * sizeof *prog);
    if (!prog)
        return jet_err_set(err, -ENOMEM, "out of memory");
    int n = packet_filter_build(o->f, o->n, prog, PK_FILTER_MAX);
    int rc = 0;
    if (n < 0) {
        rc = jet_err_set(err, n, "too many flows for a socket filter (%u)", o->n);
    } else if (o->prog && o->prog_n == n && !memcmp(o->prog, prog, (size_t)n * sizeof *prog)) {
        /* the same program (a port on an address the kernel does not have) */
    } else {
        struct sock_fprog fp = {.len = (unsigned short)n, .filter = prog};
        if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp) < 0) {
            rc = jet_err_set(err, -errno, "SO_ATTACH_FILTER: %s", strerror(errno));
        } else {
            free(o->prog);
            o->prog = prog;
            o->prog_n = n;
            prog = NULL;
        }
    }
    free(prog);
    return rc;
}

/* ---- the kernel's addresses ---- */

int packet_kernel_has(int ctl, uint32_t addr)
{
    size_t sz = 32 * sizeof(struct ifreq);
    for (;;) {
        char *buf = malloc(sz);
        if (!buf)
            return -ENOMEM;
        struct ifconf ic = {.ifc_len = (int)sz, .ifc_buf = buf};
        if (ioctl(ctl, SIOCGIFCONF, &ic) < 0) {
            int e = errno;
            free(buf);
            return -e;
        }
        if ((size_t)ic.ifc_len + sizeof(struct ifreq) > sz && sz < (1u << 24)) {
            free(buf);
            sz *= 2;
            continue;
        }
        int found = 0;
        for (size_t off = 0; off + sizeof(struct ifreq) <= (size_t)ic.ifc_len;
             off += sizeof(struct ifreq)) {
            struct ifreq r;
            memcpy(&r, buf + off, sizeof r);
            struct sockaddr_in sin;
            memcpy(&sin, &r.ifr_addr, sizeof sin);
            if (sin.sin_family == AF_INET && ntohl(sin.sin_addr.s_addr) == addr)
                found = 1;
        }
        free(buf);
        return found;
    }
}

/* ---- nftables, for ports on an address the kernel shares ---- */

struct nft_ctx;
struct nftlib {
    void *h;
    struct nft_ctx *(*ctx_new)(uint32_t flags);
    void (*ctx_free)(struct nft_ctx *ctx);
    int (*run)(struct nft_ctx *ctx, const char *buf);
    int (*buffer_error)(struct nft_ctx *ctx);
    const char *(*get_error)(struct nft_ctx *ctx);
};

static int nft_open(struct nftlib *l)
{
    l->h = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!l->h)
        return -1;
    *(void **)&l->ctx_new = dlsym(l->h, "nft_ctx_new");
    *(void **)&l->ctx_free = dlsym(l->h, "nft_ctx_free");
    *(void **)&l->run = dlsym(l->h, "nft_run_cmd_from_buffer");
    *(void **)&l->buffer_error = dlsym(l->h, "nft_ctx_buffer_error");
    *(void **)&l->get_error = dlsym(l->h, "nft_ctx_get_error_buffer");
    if (!l->ctx_new || !l->ctx_free || !l->run || !l->buffer_error || !l->get_error) {
        dlclose(l->h);
        return -1;
    }
    return 0;
}

/* The rules: for each shared address, its TCP and UDP ports dropped before
 * the kernel's IPv4 stack sees them (AF_PACKET has its copy already). */
static char *nft_rules(const struct pk_own *o, const char *ifname, bool *any)
{
    char *s = NULL;
    size_t sl = 0;
    FILE *m = open_memstream(&s, &sl);
    if (!m)
        return NULL;
    fprintf(m, "add table inet %s\ndelete table inet %s\n", o->table, o->table);
    uint32_t *a = malloc((o->n ? o->n : 1) * sizeof *a);
    uint32_t na = a ? addrs(o->f, o->n, a) : 0;
    bool head = false;
    for (uint32_t i = 0; i < na; i++) {
        if (!addr_shared(o->f, o->n, a[i]))
            continue;
        for (int p = 6; p <= 17; p += 11) {
            bool first = true;
            for (uint32_t j = 0; j < o->n; j++) {
                const struct pk_flow *f = &o->f[j];
                if (f->proto != p || (f->addr && f->addr != a[i]))
                    continue;
                if (!head)
                    fprintf(m,
                            "table inet %s {\n chain ours {\n  type filter hook prerouting "
                            "priority -300; policy accept;\n",
                            o->table);
                head = true;
                if (first)
                    fprintf(m, "  iifname \"%s\" ip daddr %u.%u.%u.%u %s dport { %u", ifname,
                            a[i] >> 24, a[i] >> 16 & 255, a[i] >> 8 & 255, a[i] & 255,
                            p == 6 ? "tcp" : "udp", f->port);
                else
                    fprintf(m, ", %u", f->port);
                first = false;
            }
            if (!first)
                fprintf(m, " } drop\n");
        }
    }
    if (head)
        fprintf(m, " }\n}\n");
    free(a);
    *any = head;
    if (fclose(m)) {
        free(s);
        return NULL;
    }
    return s;
}

/* Puts the table in the state the flows ask for (or removes it). */
static int nft_apply(struct pk_own *o, const char *ifname, struct jet_err *err)
{
    bool any = false;
    char *cmd = nft_rules(o, ifname, &any);
    if (!cmd)
        return jet_err_set(err, -ENOMEM, "out of memory");
    if (!any && !o->nft_on) {
        free(cmd);
        return 0;
    }
    int rc = 0;
    struct nftlib l;
    if (strchr(ifname, '"') || strchr(ifname, '\\')) {
        rc = jet_err_set(err, -EINVAL, "interface name %s cannot be put in an nftables rule",
                         ifname);
    } else if (nft_open(&l)) {
        rc = jet_err_set(err, -ENOSYS,
                         "the kernel also has this address and would answer our "
                         "ports with resets: cannot load libnftables.so.1 (apt-get install "
                         "libnftables1) to keep it off them; or apply yourself: %s",
                         cmd);
    } else {
        struct nft_ctx *c = l.ctx_new(0);
        if (!c) {
            rc = jet_err_set(err, -ENOMEM, "nft_ctx_new failed");
        } else {
            l.buffer_error(c);
            if (l.run(c, cmd)) {
                const char *why = l.get_error(c);
                rc = jet_err_set(err, -EPERM,
                                 "nftables rules for the ports on an address the "
                                 "kernel shares: %s(needs CAP_NET_ADMIN)",
                                 why ? why : "");
            } else {
                o->nft_on = any;
            }
            l.ctx_free(c);
        }
        dlclose(l.h);
    }
    free(cmd);
    return rc;
}

/* ---- the table of flows ---- */

static int find(const struct pk_own *o, const struct jet_link_flow *fl)
{
    for (uint32_t i = 0; i < o->n; i++)
        if (o->f[i].addr == fl->addr && o->f[i].proto == fl->proto && o->f[i].port == fl->port)
            return (int)i;
    return -1;
}

static bool any_shared(const struct pk_own *o)
{
    for (uint32_t i = 0; i < o->n; i++)
        if (o->f[i].shared)
            return true;
    return false;
}

/* The filter and the nftables rules for the current set. */
static int apply(struct pk_own *o, int fd, const char *ifname, struct jet_err *err)
{
    int rc = packet_filter_attach(o, fd, err);
    if (rc == 0 && (o->nft_on || any_shared(o)))
        rc = nft_apply(o, ifname, err);
    return rc;
}

int packet_own(struct pk_own *o, int fd, int ctl, const char *ifname,
               const struct jet_link_flow *fl, bool add, struct jet_err *err)
{
    bool all = !fl->addr && !fl->proto && !fl->port;
    if (!all &&
        (fl->proto ? (fl->proto != 6 && fl->proto != 17) || !fl->port : fl->port || !fl->addr))
        return jet_err_set(err, -EINVAL, "malformed flow (address %08x, protocol %u, port %u)",
                           fl->addr, fl->proto, fl->port);
    if (!o->table[0]) {
        size_t k = (size_t)snprintf(o->table, sizeof o->table, "jetstream_");
        for (const char *c = ifname; *c && k + 1 < sizeof o->table; c++)
            o->table[k++] = (char)((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                                           (*c >= '0' && *c <= '9')
                                       ? *c
                                       : '_');
        o->table[k] = 0;
    }
    int i = find(o, fl);
    if (!add) {
        if (i < 0)
            return 0; /* not held: nothing to give back */
        if (--o->f[i].refs)
            return 0;
        o->f[i] = o->f[--o->n];
        return apply(o, fd, ifname, err);
    }
    if (i >= 0) {
        o->f[i].refs++;
        return 0;
    }
    if (o->n == o->cap) {
        uint32_t cap = o->cap ? o->cap * 2 : 8;
        struct pk_flow *f = realloc(o->f, cap * sizeof *f);
        if (!f)
            return jet_err_set(err, -ENOMEM, "out of memory");
        o->f = f;
        o->cap = cap;
    }
    bool shared = false;
    if (fl->addr) {
        int k = packet_kernel_has(ctl, fl->addr);
        if (k < 0)
            return jet_err_set(err, k, "reading the kernel's addresses: %s", strerror(-k));
        shared = k == 1;
    }
    o->f[o->n++] = (struct pk_flow){
        .addr = fl->addr, .proto = fl->proto, .port = fl->port, .shared = shared, .refs = 1};
    int rc = apply(o, fd, ifname, err);
    if (rc) { /* undo; the reason stays */
        struct jet_err e2 = {0};
        o->n--;
        apply(o, fd, ifname, &e2);
    }
    return rc;
}

void packet_own_fini(struct pk_own *o)
{
    if (o->nft_on) {
        struct nftlib l;
        if (nft_open(&l) == 0) {
            struct nft_ctx *c = l.ctx_new(0);
            if (c) {
                char cmd[128];
                snprintf(cmd, sizeof cmd, "delete table inet %s\n", o->table);
                l.buffer_error(c);
                l.run(c, cmd);
                l.ctx_free(c);
            }
            dlclose(l.h);
        }
        o->nft_on = false;
    }
    free(o->f);
    free(o->prog);
    o->f = NULL;
    o->prog = NULL;
    o->n = o->cap = 0;
}
