/* The xdp: link beyond the contract (test_link_contract.c runs that): in a
 * private network namespace of this process (root only, else skipped), on
 * veth pairs made here.
 *   errors      no such interface (-ENODEV, named), down (-ENETDOWN), an MTU
 *               past what the link carries (-EMSGSIZE), a queue the interface
 *               does not have (-EINVAL, with the count), no privilege (-EPERM,
 *               in a child that dropped its capabilities)
 *   own         jet_link_own's flows as the steering program's maps hold them
 *               (jet_addrs: address -> flags, JET_XDP_ADDR_ALL unless the
 *               kernel has the address; jet_ports: port -> holders), counted,
 *               bad flows refused, everything given back at close
 *   shared      two links on two queues of one interface share one program:
 *               it stays until the last closes; one queue twice is refused
 *   namespace   a link opened in another namespace detaches there when closed
 *               from this one
 *   stale       a child opens a link and _exit()s without closing it: the
 *               program stays; opening again replaces it (one program, a new
 *               one) and closing detaches it; the same inside libxdp's
 *               dispatcher, with a bpffs mounted in a private mount namespace */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <xdp/libxdp.h>

#include "bpf/jet_xdp.h"
#include "check.h"
#include "jet/link.h"
#include "link/xdp.h"

static int sh(const char *cmd)
{
    int rc = system(cmd);
    if (rc)
        fprintf(stderr, "failed: %s\n", cmd);
    return rc;
}

static struct jet_link *open_ok(const char *name)
{
    struct jet_link *l = NULL;
    struct jet_err err = {0};
    int rc = jet_link_open(name, &(struct jet_link_opts){.station = -1}, &l, &err);
    if (rc)
        fprintf(stderr, "open %s: %d %s\n", name, rc, err.msg);
    return rc ? NULL : l;
}

static int open_err(const char *name, struct jet_err *err)
{
    struct jet_link *l = NULL;
    memset(err, 0, sizeof *err);
    int rc = jet_link_open(name, &(struct jet_link_opts){.station = -1}, &l, err);
    if (rc == 0)
        jet_link_close(l);
    return rc;
}

/* The id of the jet_xdp program on ifname (alone or in libxdp's dispatcher), 0 if none. */
static uint32_t prog_on(const char *ifname)
{
    int ifindex = (int)if_nametoindex(ifname);
    struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
    if (!mp || libxdp_get_error(mp))
        return 0;
    uint32_t id = 0;
    unsigned n = 0;
    if (xdp_multiprog__is_legacy(mp)) {
        struct xdp_program *p = xdp_multiprog__main_prog(mp);
        if (p && !strcmp(xdp_program__name(p), JET_XDP_PROG_NAME))
            id = xdp_program__id(p), n++;
    } else {
        for (struct xdp_program *p = xdp_multiprog__next_prog(NULL, mp); p;
             p = xdp_multiprog__next_prog(p, mp))
            if (!strcmp(xdp_program__name(p), JET_XDP_PROG_NAME))
                id = xdp_program__id(p), n++;
    }
    xdp_multiprog__close(mp);
    CHECK(n <= 1); /* never two of ours */
    return id;
}

/* Opens name in a child that dropped every capability: true when that fails
 * with rc and a reason that names `word`. */
static bool opens_unprivileged(const char *name, int rc, const char *word)
{
    pid_t c = fork();
    REQUIRE(c >= 0);
    if (c == 0) {
        struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct d[2] = {{0}};
        if (syscall(SYS_capset, &h, d) != 0)
            _exit(3);
        struct jet_err err;
        _exit(open_err(name, &err) == rc && strstr(err.msg, word) ? 0 : 1);
    }
    int st;
    waitpid(c, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void t_errors(void)
{
    struct jet_err err;
    CHECK_EQ(open_err("xdp:jt-nosuchif0", &err), -ENODEV);
    CHECK(strstr(err.msg, "jt-nosuchif0") != NULL);
    REQUIRE(sh("ip link add xd0 type veth peer name xd1") == 0); /* left down */
    CHECK_EQ(open_err("xdp:xd0", &err), -ENETDOWN);
    CHECK(strstr(err.msg, "xd0 is down") != NULL);
    REQUIRE(sh("ip link set xd0 mtu 12000 up && ip link set xd1 up") == 0);
    CHECK_EQ(open_err("xdp:xd0", &err), -EMSGSIZE);
    CHECK(strstr(err.msg, "MTU 12000") != NULL);
    REQUIRE(sh("ip link set xd0 mtu 1500") == 0);
    CHECK_EQ(open_err("xdp:xd0@3", &err), -EINVAL);
    CHECK(strstr(err.msg, "xd0 has 1 queue") != NULL);
    CHECK_EQ(open_err("xdp:xd0@64", &err), -EINVAL);
    CHECK_EQ(prog_on("xd0"), 0); /* failed opens leave nothing */

    /* no privilege: -EPERM naming what is missing; -ENODEV comes before it */
    CHECK(opens_unprivileged("xdp:xd0", -EPERM, "CAP_NET_ADMIN"));
    CHECK(opens_unprivileged("xdp:jt-nosuchif0", -ENODEV, "jt-nosuchif0"));
    sh("ip link del xd0");
}

static int64_t addr_val(int fd, uint32_t addr)
{
    uint32_t k = htonl(addr), v;
    return bpf_map_lookup_elem(fd, &k, &v) ? -1 : (int64_t)v;
}

static int64_t port_val(int fd, uint8_t proto, uint16_t port)
{
    struct jet_xdp_port k = {.proto = proto, .port = htons(port)};
    uint32_t v;
    return bpf_map_lookup_elem(fd, &k, &v) ? -1 : (int64_t)v;
}

static int own(struct jet_link *l, uint32_t addr, uint8_t proto, uint16_t port, bool add)
{
    return jet_link_own(l, &(struct jet_link_flow){addr, proto, port}, add);
}

static void t_own(void)
{
    REQUIRE(sh("ip link add xo0 type veth peer name xo1 && ip link set xo0 up && "
               "ip link set xo1 up && ip addr add 198.18.43.101/24 dev xo0") == 0);
    struct jet_link *l = open_ok("xdp:xo0");
    REQUIRE(l);
    struct xdp_link_info in;
    REQUIRE(xdp_link_info(l, &in) == 0);
    int A = in.addrs_fd, P = in.ports_fd;
    const uint32_t mine = 0xc6122b01, kern = 0xc6122b65; /* 198.18.43.1, .101 */
    /* the whole interface, twice: held until removed twice */
    CHECK_EQ(own(l, 0, 0, 0, true), 0);
    CHECK_EQ(own(l, 0, 0, 0, true), 0);
    CHECK_EQ(addr_val(A, 0), JET_XDP_ADDR_ALL);
    CHECK_EQ(own(l, 0, 0, 0, false), 0);
    CHECK_EQ(addr_val(A, 0), JET_XDP_ADDR_ALL);
    CHECK_EQ(own(l, 0, 0, 0, false), 0);
    CHECK_EQ(addr_val(A, 0), -1);
    CHECK_EQ(own(l, 0, 0, 0, false), -ENOENT); /* not held */
    /* an address of the stack's own: everything to it; the kernel's: only ours */
    CHECK_EQ(own(l, mine, 0, 0, true), 0);
    CHECK_EQ(addr_val(A, mine), JET_XDP_ADDR_ALL);
    CHECK_EQ(own(l, kern, 0, 0, true), 0);
    CHECK_EQ(addr_val(A, kern), 0);
    /* ports: counted in the map */
    CHECK_EQ(own(l, mine, 6, 80, true), 0);
    CHECK_EQ(own(l, 0, 6, 80, true), 0);
    CHECK_EQ(port_val(P, 6, 80), 2);
    CHECK_EQ(own(l, kern, 17, 53, true), 0);
    CHECK_EQ(port_val(P, 17, 53), 1);
    CHECK_EQ(port_val(P, 6, 53), -1);
    CHECK_EQ(own(l, mine, 6, 80, false), 0);
    CHECK_EQ(port_val(P, 6, 80), 1);
    CHECK_EQ(own(l, 0, 6, 80, false), 0);
    CHECK_EQ(port_val(P, 6, 80), -1);
    /* malformed flows */
    CHECK_EQ(own(l, 0, 6, 0, true), -EINVAL);
    CHECK_EQ(own(l, 0, 1, 7, true), -EINVAL);
    CHECK_EQ(own(l, mine, 0, 9, true), -EINVAL);
    CHECK(jet_link_error(l)[0] != 0);
    /* a second link on the interface shares the maps: refused on its queue */
    struct jet_err err;
    CHECK_EQ(open_err("xdp:xo0", &err), -EBUSY);
    CHECK(prog_on("xo0") != 0);
    jet_link_close(l); /* gives back what it held and detaches */
    CHECK_EQ(prog_on("xo0"), 0);
    sh("ip link del xo0");
}

static void t_shared(void)
{
    REQUIRE(sh("ip link add xq0 numtxqueues 2 numrxqueues 2 type veth peer name xq1 "
               "numtxqueues 2 numrxqueues 2 && ip link set xq0 up && ip link set xq1 up") == 0);
    struct jet_link *a = open_ok("xdp:xq0@0"), *b = open_ok("xdp:xq0@1");
    REQUIRE(a && b);
    CHECK(strcmp(b->name, "xdp:xq0@1") == 0);
    uint32_t id = prog_on("xq0");
    CHECK(id != 0);
    CHECK_EQ(own(a, 0, 0, 0, true), 0);
    CHECK_EQ(own(b, 0, 0, 0, true), 0);
    jet_link_close(a);
    CHECK_EQ(prog_on("xq0"), id); /* b still uses it */
    struct xdp_link_info in;
    REQUIRE(xdp_link_info(b, &in) == 0);
    CHECK_EQ(addr_val(in.addrs_fd, 0), JET_XDP_ADDR_ALL); /* b's hold */
    jet_link_close(b);
    CHECK_EQ(prog_on("xq0"), 0);
    sh("ip link del xq0");
}

/* Opened in another namespace, closed from this one: detached there. */
static void t_namespace(void)
{
    int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    REQUIRE(home >= 0);
    REQUIRE(unshare(CLONE_NEWNET) == 0);
    int other = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    REQUIRE(other >= 0);
    REQUIRE(sh("ip link add xn0 type veth peer name xn1 && ip link set xn0 up && "
               "ip link set xn1 up") == 0);
    struct jet_link *l = open_ok("xdp:xn0");
    REQUIRE(l);
    CHECK(prog_on("xn0") != 0);
    REQUIRE(setns(home, CLONE_NEWNET) == 0);
    jet_link_close(l);
    REQUIRE(setns(other, CLONE_NEWNET) == 0);
    CHECK_EQ(prog_on("xn0"), 0);
    REQUIRE(setns(home, CLONE_NEWNET) == 0);
    close(other);
    close(home);
}

/* A child opens ifname's link and dies without closing it (a crash). */
static void crash_holding(const char *name)
{
    pid_t c = fork();
    REQUIRE(c >= 0);
    if (c == 0) {
        struct jet_link *l = open_ok(name);
        _exit(l ? 0 : 1);
    }
    int st;
    waitpid(c, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void t_stale(const char *ifname, const char *how)
{
    char name[32];
    snprintf(name, sizeof name, "xdp:%s", ifname);
    crash_holding(name);
    uint32_t stale = prog_on(ifname);
    CHECK(stale != 0);
    struct jet_link *l = open_ok(name);
    REQUIRE(l);
    uint32_t now = prog_on(ifname);
    CHECK(now != 0 && now != stale);
    struct xdp_link_info in;
    REQUIRE(xdp_link_info(l, &in) == 0);
    if (strcmp(in.how, how))
        fprintf(stderr, "%s: attached as %s, not %s%s\n", ifname, in.how, how,
                !strcmp(how, "dispatcher") ? " (libxdp fell back: the kernel refused its "
                                             "dispatcher here)" : "");
    CHECK(strcmp(in.how, how) == 0 || !strcmp(how, "dispatcher"));
    jet_link_close(l);
    CHECK_EQ(prog_on(ifname), 0);
}

/* The same with libxdp's dispatcher: a bpffs in a private mount namespace (of a
 * child, so the machine's mounts never change). */
static void t_dispatcher(void)
{
    pid_t c = fork();
    REQUIRE(c >= 0);
    if (c == 0) {
        if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
            mount("bpf", "/sys/fs/bpf", "bpf", 0, NULL)) {
            fprintf(stderr, "dispatcher: cannot mount a private bpffs: skipped\n");
            _exit(77);
        }
        t_stale("xs0", "dispatcher");
        _exit(check_failures ? 1 : 0);
    }
    int st;
    waitpid(c, &st, 0);
    CHECK(WIFEXITED(st) && (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 77));
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_xdp_link: skipped (needs root)\n");
        return 77;
    }
    REQUIRE(unshare(CLONE_NEWNET) == 0);
    REQUIRE(sh("ip link set lo up && echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6 && "
               "echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6") == 0);
    libxdp_set_print(NULL);
    t_errors();
    t_own();
    t_shared();
    t_namespace();
    REQUIRE(sh("ip link add xs0 type veth peer name xs1 && ip link set xs0 up && "
               "ip link set xs1 up") == 0);
    t_stale("xs0", "single");
    t_dispatcher();
    return check_done("test_xdp_link");
}
