/* The udp: rows of the link contract test (test_link_contract.c includes
 * this and lists CONTRACT_ROW_UDP and CONTRACT_ROW_UDP_VETH in its backends).
 *
 * CONTRACT_ROW_UDP: both ends in this process, on loopback, in whatever network namespace the
 * test runs in (no privilege needed):
 *     a = udp:127.0.0.1:P2,bind=127.0.0.1:P1   b = udp:127.0.0.1:P1,bind=127.0.0.1:P2
 * P1 and P2 are ports the kernel hands out as free at make time (bound to
 * port 0, read, closed) whose ends get distinct station numbers (made from
 * a hash of the local address and port).  Blind: a sender cannot tell an
 * unheld station or a closed peer (the datagram leaves; an ICMP error
 * comes back later and is only counted).
 * Include after check.h and jet/link.h (it uses CHECK_EQ and jet_link_open). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* A port the kernel says is free on 127.0.0.1 now, or 0. */
static unsigned udp_free_port(int *keep)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) ||
        getsockname(fd, (struct sockaddr *)&a, &al)) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    *keep = fd; /* held until both are known, so the two differ */
    return ntohs(a.sin_port);
}

static void udp_row_peer(const char *name, char *out, size_t cap)
{
    unsigned p1 = 0, p2 = 0;
    sscanf(name, "udp:127.0.0.1:%u,bind=127.0.0.1:%u", &p2, &p1);
    snprintf(out, cap, "udp:127.0.0.1:%u,bind=127.0.0.1:%u", p1, p2);
}

/* The station an end bound to port p would take. */
static int udp_row_station(const char *name)
{
    struct jet_link *l;
    struct jet_err err = {0};
    struct jet_link_opts o = {.station = -1};
    if (jet_link_open(name, &o, &l, &err)) {
        fprintf(stderr, "udp: open %s: %s\n", name, err.msg);
        return -1;
    }
    int s = (int)l->caps.addr;
    jet_link_close(l);
    return s;
}

static int udp_row_make(char *name, size_t cap, unsigned n)
{
    (void)n;
    for (int tries = 0; tries < 20; tries++) {
        int k1 = -1, k2 = -1;
        unsigned p1 = udp_free_port(&k1), p2 = udp_free_port(&k2);
        close(k1);
        close(k2);
        if (!p1 || !p2) {
            fprintf(stderr, "udp: no free port on 127.0.0.1 (loopback down?)\n");
            return -1;
        }
        char other[128];
        snprintf(name, cap, "udp:127.0.0.1:%u,bind=127.0.0.1:%u", p2, p1);
        udp_row_peer(name, other, sizeof other);
        int s1 = udp_row_station(name), s2 = udp_row_station(other);
        if (s1 < 0 || s2 < 0)
            return -1;
        if (s1 != s2)
            return 0;
    }
    return -1;
}

static void udp_row_unmake(const char *name)
{
    (void)name; /* nothing to remove: the sockets close with the ends */
}

#define CONTRACT_ROW_UDP                                                                           \
    {.kind = "udp", .make = udp_row_make, .unmake = udp_row_unmake, .peer = udp_row_peer,          \
     .blind = true}

/* ---- the second row: two network namespaces joined by a veth pair ----
 *
 *   netns A  198.18.42.101/24 jtucaN ==veth== jtucbN 198.18.42.102/24  netns B
 *   (MTU 9000, as the tap row: the checks send frames of up to 4 KB)
 *   a = udp:198.18.42.102:7475,bind=198.18.42.101:7475 (in A)
 *   b = udp:198.18.42.101:7475,bind=198.18.42.102:7475 (in B)
 * Made per check: A and B are namespaces of this thread's own (unshare),
 * held only by descriptors, so they (and the veth) vanish when unmake closes
 * them or the process ends however it ends: nothing is left behind.  The
 * veth is made here and moved into them (ip link set ... netns
 * /proc/self/fd/N); each is configured by a shell started while this thread
 * is in it (IPv6 off, and the peer's MAC a permanent neighbour: the kernels
 * send nothing of their own, not even ARP, which could wait a second for a
 * veth end not up yet).  Each end's socket is opened in its namespace
 * (enter: setns there and back).  Root only, else skipped. */
#include <fcntl.h>
#include <sched.h>

static int udpv_home = -1;         /* this thread's network namespace, to come back to */
static int udpv_fd[2] = {-1, -1}; /* the pair's namespaces (one pair at a time) */

/* A new namespace, as a descriptor; this thread stays where it was. */
static int udpv_new_ns(void)
{
    if (unshare(CLONE_NEWNET))
        return -1;
    int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (setns(udpv_home, CLONE_NEWNET)) {
        fprintf(stderr, "udp-veth: cannot come back to the test's namespace\n");
        exit(1);
    }
    return fd;
}

/* Runs cmd in namespace fd (a shell forked while this thread is there). */
static int udpv_run_in(int fd, const char *cmd)
{
    if (setns(fd, CLONE_NEWNET))
        return -1;
    int rc = system(cmd);
    if (setns(udpv_home, CLONE_NEWNET)) {
        fprintf(stderr, "udp-veth: cannot come back to the test's namespace\n");
        exit(1);
    }
    return rc;
}

static void udpv_unmake(const char *name)
{
    (void)name;
    for (int i = 0; i < 2; i++) {
        if (udpv_fd[i] >= 0)
            close(udpv_fd[i]); /* the last reference: the namespace and its veth end go */
        udpv_fd[i] = -1;
    }
}

static int udpv_make(char *name, size_t cap, unsigned n)
{
    if (geteuid() != 0) {
        fprintf(stderr, "udp-veth: skipped (needs root)\n");
        return 77; /* SKIP */
    }
    if (udpv_home < 0 && (udpv_home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    udpv_fd[0] = udpv_new_ns();
    udpv_fd[1] = udpv_new_ns();
    if (udpv_fd[0] < 0 || udpv_fd[1] < 0) {
        fprintf(stderr, "udp-veth: cannot make namespaces\n");
        udpv_unmake(NULL);
        return -1;
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "set -e; ip link add jtuca%u address 02:00:00:00:42:65 type veth "
             "peer name jtucb%u address 02:00:00:00:42:66; "
             "ip link set jtuca%u netns /proc/%d/fd/%d; ip link set jtucb%u netns /proc/%d/fd/%d",
             n, n, n, (int)getpid(), udpv_fd[0], n, (int)getpid(), udpv_fd[1]);
    int rc = system(cmd);
    for (int i = 0; i < 2 && rc == 0; i++) {
        char c[512];
        snprintf(c, sizeof c,
                 "set -e; sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
                 "net.ipv6.conf.default.disable_ipv6=1; ip link set lo up; "
                 "ip link set jtuc%c%u mtu 9000; ip addr add 198.18.42.%d/24 dev jtuc%c%u; "
                 "ip link set jtuc%c%u up; "
                 "ip neigh replace 198.18.42.%d lladdr 02:00:00:00:42:%x dev jtuc%c%u nud permanent",
                 "ab"[i], n, 101 + i, "ab"[i], n, "ab"[i], n, 102 - i, 0x66 - i, "ab"[i], n);
        rc = udpv_run_in(udpv_fd[i], c);
    }
    if (rc) {
        fprintf(stderr, "udp-veth: cannot make the veth pair (%s)\n", cmd);
        udpv_unmake(NULL);
        snprintf(cmd, sizeof cmd, "ip link del jtuca%u 2>/dev/null", n);
        if (system(cmd)) { /* it was moved, or never made */
        }
        return -1;
    }
    snprintf(name, cap, "udp:198.18.42.102:7475,bind=198.18.42.101:7475");
    return 0;
}

static void udpv_peer(const char *name, char *out, size_t cap)
{
    (void)name;
    snprintf(out, cap, "udp:198.18.42.101:7475,bind=198.18.42.102:7475");
}

static int udpv_enter(const char *name, int end)
{
    (void)name;
    return setns(end < 0 ? udpv_home : udpv_fd[end], CLONE_NEWNET);
}

#define CONTRACT_ROW_UDP_VETH                                                                      \
    {.kind = "udp-veth", .make = udpv_make, .unmake = udpv_unmake, .peer = udpv_peer,              \
     .enter = udpv_enter, .blind = true}
