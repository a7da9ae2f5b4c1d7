/* What the XDP steering program (src/bpf/jet_xdp.bpf.c) and the xdp: link
 * (src/link/xdp.c) share: map names, key and value layouts, counters.
 * Included by both the BPF program (clang -target bpf) and user space, so it
 * uses only fixed-width types and no library header.
 *
 * The program runs on every frame the interface receives and decides, in this
 * order (docs/xdp-steering.md):
 *   1. shorter than an Ethernet header                    -> PASS, count MALFORMED
 *   2. EtherType 0x88B5 (a Jetstream frame, untagged)       -> the AF_XDP socket
 *   3. ARP whose target protocol address is in jet_addrs     -> the AF_XDP socket
 *   4. IPv4 to an address in jet_addrs (header checked: version 4, IHL >= 5,
 *      the header inside the frame; else PASS and count MALFORMED):
 *        ICMP, a fragment (MF set or offset != 0), or any protocol when the
 *        address's value has JET_XDP_ADDR_ALL                -> the AF_XDP socket
 *        TCP or UDP whose destination port is in jet_ports   -> the AF_XDP socket
 *   5. everything else                                       -> PASS (the kernel's)
 *   6. with an entry for address 0 with JET_XDP_ADDR_ALL in jet_addrs (an
 *      interface given to Jetstream whole: jet_link_own of the flow {0, 0, 0}),
 *      what steps 1-5 left to the kernel                  -> the AF_XDP socket (IP)
 * "The AF_XDP socket" is jet_xsks[rx_queue_index]; with no socket there the
 * frame is passed (bpf_redirect_map's XDP_PASS fallback) and counted NO_XSK.
 * Only the first buffer of a multi-buffer frame is read (headers live there). */
#ifndef JET_BPF_XDP_H
#define JET_BPF_XDP_H

#define JET_XDP_PROG_NAME "jet_xdp"       /* the program's function (and libxdp) name */
#define JET_XDP_MAP_XSKS "jet_xsks"       /* BPF_MAP_TYPE_XSKMAP: rx queue -> AF_XDP socket */
#define JET_XDP_MAP_ADDRS "jet_addrs"     /* BPF_MAP_TYPE_HASH: __u32 IPv4 address -> __u32 flags */
#define JET_XDP_MAP_PORTS "jet_ports"     /* BPF_MAP_TYPE_HASH: struct jet_xdp_port -> __u32 refs */
#define JET_XDP_MAP_STATS "jet_xdp_stats" /* BPF_MAP_TYPE_PERCPU_ARRAY: __u32 index -> __u64 count */

enum {
    JET_XDP_MAX_QUEUES = 64,   /* jet_xsks entries */
    JET_XDP_MAX_ADDRS = 16,    /* jet_addrs entries */
    JET_XDP_MAX_PORTS = 16384, /* jet_ports entries */
};

/* jet_addrs key: the IPv4 address in network byte order, as it sits in the
 * header.  Value: flags.  An address present with 0 owns only what step 4
 * lists (the kernel may use the same address for its own flows); with
 * JET_XDP_ADDR_ALL every packet to it is the stack's. */
enum { JET_XDP_ADDR_ALL = 1u };

/* jet_ports key: a local port the stack holds (a listener's, or a
 * connection's), on any address in jet_addrs.  Value: how many holders (the
 * user-space side counts; the program only looks the key up). */
struct jet_xdp_port {
    unsigned char proto; /* 6 TCP, 17 UDP */
    unsigned char pad;   /* 0 */
    unsigned short port; /* network byte order */
};

/* jet_xdp_stats indexes. */
enum {
    JET_XDP_ST_NATIVE = 0,    /* Jetstream frames redirected */
    JET_XDP_ST_ARP = 1,       /* ARP redirected */
    JET_XDP_ST_IP = 2,        /* IPv4 redirected */
    JET_XDP_ST_PASS = 3,      /* passed to the kernel */
    JET_XDP_ST_MALFORMED = 4, /* too short or a bad IPv4 header: passed */
    JET_XDP_ST_NO_XSK = 5,    /* ours, but no socket on the queue: passed */
    JET_XDP_ST_N = 6,
};

#endif
