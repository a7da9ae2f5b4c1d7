/* The XDP steering program of the xdp: link (docs/xdp-steering.md).
 *
 * Runs in the kernel on every frame the interface receives, before any
 * socket buffer exists, and decides in the order src/bpf/jet_xdp.h gives:
 * Jetstream frames, ARP for our addresses and the IPv4 flows the stack owns
 * go to the AF_XDP socket of the receive queue (jet_xsks); everything else
 * goes on to the kernel, so ARP, ssh and ping for the kernel's own addresses
 * keep working beside the stack.
 *
 * An entry for address 0 with JET_XDP_ADDR_ALL gives the stack the whole
 * interface: a frame the rules above leave to the kernel is redirected too
 * (counted as IP).
 *
 * Each frame bumps exactly one counter of jet_xdp_stats: NATIVE, ARP or IP
 * when redirected, NO_XSK when it was ours but the queue has no socket,
 * MALFORMED when a header it had to read is cut short or invalid, PASS
 * otherwise.  A frame it cannot read is never redirected: every read is
 * checked against data_end first (the verifier refuses the program
 * otherwise), and anything in doubt is the kernel's.
 *
 * Built by the Makefile with clang -target bpf into $(BUILD)/bpf/jet_xdp.o,
 * embedded in the library by src/bpf/jet_xdp_obj.S.  Section "xdp.frags":
 * loaded with BPF_F_XDP_HAS_FRAGS, so it may run on multi-buffer (jumbo)
 * frames; it reads only the first buffer, where the headers are. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <xdp/xdp_helpers.h>

#include "bpf/jet_xdp.h"

enum {
    ETH_P_JET = 0x88B5,
    ARP_HLEN = 28,      /* Ethernet/IPv4 ARP body */
    ARP_TPA = 24,       /* offset of the target protocol address in it */
    IP_MF_OFF = 0x3fff, /* More Fragments and the fragment offset */
};

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, JET_XDP_MAX_QUEUES);
    __type(key, __u32);
    __type(value, __u32);
} jet_xsks SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, JET_XDP_MAX_ADDRS);
    __type(key, __u32);
    __type(value, __u32);
} jet_addrs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, JET_XDP_MAX_PORTS);
    __type(key, struct jet_xdp_port);
    __type(value, __u32);
} jet_ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, JET_XDP_ST_N);
    __type(key, __u32);
    __type(value, __u64);
} jet_xdp_stats SEC(".maps");

/* libxdp's run config: where the program sits in the dispatcher when other
 * XDP programs share the interface.  Default priority; a frame it passes
 * goes on to the next program (XDP_PASS chains), a redirected one is
 * finished. */
struct {
    __uint(priority, XDP_DEFAULT_RUN_PRIO);
    __uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(jet_xdp);

/* What a frame is, before the socket lookup. */
enum verdict { V_PASS, V_MALFORMED, V_NATIVE, V_ARP, V_IP };

static __always_inline void count(__u32 idx)
{
    __u64 *v = bpf_map_lookup_elem(&jet_xdp_stats, &idx);

    if (v)
        *v += 1; /* per-CPU: no other writer */
}

static __always_inline enum verdict classify_arp(const __u8 *p, const __u8 *end)
{
    if (p + ARP_HLEN > end)
        return V_MALFORMED;
    /* Ethernet hardware addresses, IPv4 protocol addresses: else the
     * target address is not where we look, and the frame is not ours. */
    if (p[4] != ETH_ALEN || p[5] != 4 || p[2] != 0x08 || p[3] != 0x00)
        return V_PASS;
    __u32 tpa;
    __builtin_memcpy(&tpa, p + ARP_TPA, sizeof(tpa));
    return bpf_map_lookup_elem(&jet_addrs, &tpa) ? V_ARP : V_PASS;
}

static __always_inline enum verdict classify_ipv4(const __u8 *p, const __u8 *end)
{
    const struct iphdr *ip = (const struct iphdr *)p;

    if (p + sizeof(*ip) > end)
        return V_MALFORMED;
    if (ip->version != 4 || ip->ihl < 5)
        return V_MALFORMED;
    const __u8 *l4 = p + ip->ihl * 4;
    if (l4 > end)
        return V_MALFORMED;

    __u32 daddr = ip->daddr;
    const __u32 *flags = bpf_map_lookup_elem(&jet_addrs, &daddr);
    if (!flags)
        return V_PASS;
    if (*flags & JET_XDP_ADDR_ALL)
        return V_IP;
    /* A fragment carries no port (or not in every piece): the stack that
     * owns the address reassembles it. */
    if (ip->protocol == IPPROTO_ICMP || (ip->frag_off & bpf_htons(IP_MF_OFF)))
        return V_IP;
    if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
        return V_PASS;
    /* TCP and UDP both start with source port, destination port. */
    if (l4 + 4 > end)
        return V_MALFORMED;
    struct jet_xdp_port key = {.proto = ip->protocol, .pad = 0};
    __builtin_memcpy(&key.port, l4 + 2, sizeof(key.port));
    return bpf_map_lookup_elem(&jet_ports, &key) ? V_IP : V_PASS;
}

SEC("xdp.frags")
int jet_xdp(struct xdp_md *ctx)
{
    const __u8 *data = (const __u8 *)(long)ctx->data;
    const __u8 *end = (const __u8 *)(long)ctx->data_end;
    const struct ethhdr *eth = (const struct ethhdr *)data;
    enum verdict v;

    if (data + sizeof(*eth) > end) {
        v = V_MALFORMED;
    } else {
        const __u8 *l3 = data + sizeof(*eth);
        switch (eth->h_proto) {
        case bpf_htons(ETH_P_JET):
            v = V_NATIVE;
            break;
        case bpf_htons(ETH_P_ARP):
            v = classify_arp(l3, end);
            break;
        case bpf_htons(ETH_P_IP):
            v = classify_ipv4(l3, end);
            break;
        default: /* VLAN tags, IPv6, LLDP...: the kernel's */
            v = V_PASS;
            break;
        }
    }

    /* The whole interface given to the stack ({0, 0, 0}: jet_addrs[0] with
     * ALL): what would have been the kernel's is ours too. */
    if (v == V_PASS || v == V_MALFORMED) {
        __u32 any = 0;
        const __u32 *all = bpf_map_lookup_elem(&jet_addrs, &any);
        if (all && (*all & JET_XDP_ADDR_ALL))
            v = V_IP;
    }

    switch (v) {
    case V_MALFORMED:
        count(JET_XDP_ST_MALFORMED);
        return XDP_PASS;
    case V_PASS:
        count(JET_XDP_ST_PASS);
        return XDP_PASS;
    default:
        break;
    }

    /* Ours.  With no socket on this queue the lookup fails and the frame
     * goes to the kernel instead (the flags' low bits are the fallback). */
    int act = bpf_redirect_map(&jet_xsks, ctx->rx_queue_index, XDP_PASS);
    if (act != XDP_REDIRECT) {
        count(JET_XDP_ST_NO_XSK);
        return act;
    }
    count(v == V_NATIVE ? JET_XDP_ST_NATIVE : v == V_ARP ? JET_XDP_ST_ARP : JET_XDP_ST_IP);
    return XDP_REDIRECT;
}

char _license[] SEC("license") = "Dual BSD/GPL";
