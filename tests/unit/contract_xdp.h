/* The xdp: rows of the link contract test (test_link_contract.c includes this).
 *
 * Each medium is a veth pair xcA<n> / xcB<n> between two network namespaces
 * of their own, made by unshare(CLONE_NEWNET) from this thread and held only
 * by file descriptors (they vanish with the process, whatever happens): end 0
 * opens xdp:xcA<n> in the first, end 1 xdp:xcB<n> in the second (the enter
 * hook setns()es there and back).  No IPv6; MTU 9000, so that frames span
 * several UMEM frames (multi-buffer) and the counters check's sizes up to
 * 4063 bytes fit.  Root only: else skipped.  The native row forces native XDP
 * (JET_XDP_MODE=native), the generic row generic (skb) mode; both are given
 * the whole interface (own_all) and cannot see an absent station (blind). */
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>

enum { XC_MAX = 512 }; /* media one run makes, over every row (serial numbers) */

static struct {
    int home;         /* the thread's namespace before the first make */
    int ns[XC_MAX][2]; /* per medium: the ends' namespaces */
} xc = {.home = -1};

/* A new namespace, left again: its fd, or -1. */
static int xc_newns(void)
{
    if (unshare(CLONE_NEWNET) != 0)
        return -1;
    int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (setns(xc.home, CLONE_NEWNET) != 0)
        abort();
    return fd;
}

static int xc_sh(int ns, const char *cmd)
{
    if (setns(ns, CLONE_NEWNET) != 0)
        return -1;
    int rc = system(cmd);
    if (setns(xc.home, CLONE_NEWNET) != 0)
        abort();
    return rc;
}

static int xc_make(char *name, size_t cap, unsigned n, const char *mode, unsigned mtu)
{
    if (geteuid() != 0) {
        fprintf(stderr, "xdp: skipped (needs root)\n");
        return SKIP;
    }
    if (n >= XC_MAX)
        return -1;
    if (xc.home < 0 && (xc.home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    setenv("JET_XDP_MODE", mode, 1);
    int a = xc_newns(), b = a >= 0 ? xc_newns() : -1;
    if (b < 0) {
        fprintf(stderr, "xdp: cannot make network namespaces\n");
        return -1;
    }
    xc.ns[n][0] = a;
    xc.ns[n][1] = b;
    static const char ns_setup[] =
        "echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6 && "
        "echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6 && ip link set lo up";
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "%s && ip link add xcA%u mtu %u type veth peer name xcB%u mtu %u "
             "netns /proc/%d/fd/%d && ip link set xcA%u up",
             ns_setup, n, mtu, n, mtu, (int)getpid(), b, n);
    if (xc_sh(b, ns_setup) || xc_sh(a, cmd)) {
        fprintf(stderr, "xdp: cannot make the veth pair: %s\n", cmd);
        return -1;
    }
    snprintf(cmd, sizeof cmd, "ip link set xcB%u up", n);
    if (xc_sh(b, cmd))
        return -1;
    snprintf(name, cap, "xdp:xcA%u", n);
    return 0;
}

static int xdp_native_make(char *name, size_t cap, unsigned n)
{
    return xc_make(name, cap, n, "native", 9000);
}

static int xdp_skb_make(char *name, size_t cap, unsigned n)
{
    return xc_make(name, cap, n, "skb", 9000);
}

static unsigned xc_serial(const char *name)
{
    return (unsigned)atoi(name + 7); /* xdp:xcA<n> or xdp:xcB<n> */
}

static void xdp_unmake(const char *name)
{
    unsigned n = xc_serial(name);
    close(xc.ns[n][0]); /* the namespaces go, and the veth pair with them */
    close(xc.ns[n][1]);
}

static void xdp_peer(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "xdp:xcB%u", xc_serial(name));
}

static int xdp_enter(const char *name, int end)
{
    return setns(end < 0 ? xc.home : xc.ns[xc_serial(name)][end], CLONE_NEWNET);
}

#define CONTRACT_ROW_XDP                                                                      \
    {.kind = "xdp", .make = xdp_native_make, .unmake = xdp_unmake, .peer = xdp_peer,           \
     .settle_ms = 20, .enter = xdp_enter, .own_all = true, .blind = true}
#define CONTRACT_ROW_XDP_SKB                                                                  \
    {.kind = "xdp-skb", .make = xdp_skb_make, .unmake = xdp_unmake, .peer = xdp_peer,          \
     .settle_ms = 20, .enter = xdp_enter, .own_all = true, .blind = true}
