/* The packet: row of the link contract test (test_link_contract.c includes
 * this file): two network namespaces joined by a veth pair jtpkaN / jtpkbN
 * (MTU 9000, IPv6 off, fixed locally administered MACs so the two stations
 * differ), one end of the link in each.  The namespaces are held only by
 * this process's descriptors (unshare, then setns back): they and the veths
 * go when the row closes them, or when the process dies however it dies.
 * Each end owns its whole interface (.own_all): the test's frames of any
 * EtherType are the link's.  Ethernet cannot tell a sender that nobody holds
 * a station (.blind).  Root only, else skipped. */
#ifndef JET_CONTRACT_PACKET_H
#define JET_CONTRACT_PACKET_H

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int pk_home = -1; /* this thread's namespace, to come back to */
static int pk_ns[2] = {-1, -1};

static void pk_drop(void)
{
    for (int e = 0; e < 2; e++) {
        if (pk_ns[e] >= 0)
            close(pk_ns[e]);
        pk_ns[e] = -1;
    }
}

/* Runs cmd in the namespace fd (then back home). */
static int pk_in(int fd, const char *cmd)
{
    if (setns(fd, CLONE_NEWNET))
        return -1;
    int rc = system(cmd);
    return setns(pk_home, CLONE_NEWNET) || rc ? -1 : 0;
}

static int pk_make(char *name, size_t cap, unsigned n)
{
    if (geteuid() != 0) {
        fprintf(stderr, "packet: skipped (needs root)\n");
        return 77;
    }
    if (pk_home < 0 && (pk_home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    pk_drop();
    for (int e = 0; e < 2; e++) {
        if (unshare(CLONE_NEWNET))
            return -1;
        pk_ns[e] = open("/proc/thread-self/ns/net", O_RDONLY); /* inherited by ip */
        if (setns(pk_home, CLONE_NEWNET) || pk_ns[e] < 0)
            return -1;
    }
    char cmd[1024];
    int pid = (int)getpid();
    snprintf(cmd, sizeof cmd,
             "ip link add jtpka%u mtu 9000 address 02:4a:50:%02x:00:01 type veth peer name "
             "jtpkb%u mtu 9000 address 02:4a:50:%02x:00:02 && "
             "ip link set jtpka%u netns /proc/%d/fd/%d && ip link set jtpkb%u netns /proc/%d/fd/%d",
             n, n & 255, n, n & 255, n, pid, pk_ns[0], n, pid, pk_ns[1]);
    if (system(cmd)) {
        fprintf(stderr, "packet: cannot make the veth pair: %s\n", cmd);
        pk_drop();
        return -1;
    }
    for (int e = 0; e < 2; e++) {
        snprintf(cmd, sizeof cmd,
                 "echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6 && "
                 "echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6 && "
                 "ip link set jtpk%c%u up",
                 e ? 'b' : 'a', n);
        if (pk_in(pk_ns[e], cmd)) {
            fprintf(stderr, "packet: cannot set up end %d: %s\n", e, cmd);
            pk_drop();
            return -1;
        }
    }
    snprintf(name, cap, "packet:jtpka%u", n);
    return 0;
}

static void pk_unmake(const char *name)
{
    (void)name;
    pk_drop(); /* the namespaces go, and the veths with them */
}

static void pk_peer(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "packet:jtpkb%s", name + strlen("packet:jtpka"));
}

static int pk_enter(const char *name, int end)
{
    (void)name;
    int fd = end < 0 ? pk_home : pk_ns[end ? 1 : 0];
    return fd < 0 || setns(fd, CLONE_NEWNET) ? -1 : 0;
}

#define CONTRACT_ROW_PACKET                                                                        \
    {                                                                                              \
        .kind = "packet", .make = pk_make, .unmake = pk_unmake, .peer = pk_peer, .settle_ms = 20,  \
        .enter = pk_enter, .own_all = true, .blind = true                                          \
    }

#endif
