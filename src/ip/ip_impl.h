/* IPv4 host core internals shared by ip_core.c (setup, input dispatch, timers,
 * ports, ping), arp_cache.c (ARP: cache, requests, packets waiting for an
 * answer), ip_out.c (Ethernet/IPv4 output, fragmentation, the link backlog),
 * reasm.c (reassembly) and icmp_in.c (ICMP input, ICMP errors out, the rate
 * limit).  Not for use outside src/ip.
 *
 * Memory: everything the core reads from a frame is first copied into its own
 * memory (c->rx for a frame ip_input takes, a stack copy of the header for
 * ip_rx_check), so a field is read from the shared frame exactly once.
 * Packets that wait (for ARP, or for link room mid-datagram) are struct
 * ip_pkt copies on singly linked FIFOs; fragments kept for reassembly are
 * struct reasm_frag copies.  All of them are bounded (ip_core.h). */
#ifndef JET_IP_IMPL_H
#define JET_IP_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "ip/ip_core.h"
#include "jet/frame.h"
#include "jet/inet.h"

enum {
    IP_RX_CAP = JET_ETH_VLAN_HDR_LEN + 65535, /* one frame copied in */
    IP_MAX_DGRAM = 65535,
    IP_PORTS_MAX = 1024,       /* bindings */
    IP_PORT_BUCKETS = 256,
    IP_ARP_BUCKETS = 256,
    IP_REASM_FRAGS = 2048,     /* fragments of one datagram (64 KiB in 32-byte pieces) */
    IP_ICMP_QUOTE = 576 - JET_IPV4_HDR_LEN - JET_ICMP_HDR_LEN, /* as Linux: errors stay <= 576 */
    IP_NIL = 0xFFFF,           /* no index */
    IP_PROTO_HOOKS = 4,        /* whole protocols bound (ip_proto_bind) */
};

/* A datagram the core holds: waiting for ARP (on its entry's queue) or for
 * link room (on c->backlog, mac known, off bytes of it already sent). */
struct ip_pkt {
    struct ip_pkt *next;
    uint32_t dst;      /* IPv4 destination */
    uint32_t len;      /* L4 bytes in data */
    uint32_t off;      /* bytes already sent (backlog) */
    uint16_t id;       /* IP id (valid once started) */
    uint16_t gso;      /* ip_output_gso's segment size, 0: none */
    uint8_t proto;
    bool df, started;
    uint8_t mac[6];    /* next hop (backlog) */
    uint8_t data[];
};

enum arp_state { ARP_FREE, ARP_INCOMPLETE, ARP_REACHABLE, ARP_STALE, ARP_FAILED };

struct arp_entry {
    uint32_t ip;
    uint8_t state;     /* enum arp_state */
    uint8_t tries;     /* requests sent in this round */
    uint8_t mac[6];
    uint16_t next;     /* hash chain, IP_NIL ends */
    uint16_t qlen;     /* packets queued */
    uint64_t confirmed; /* last answer (REACHABLE, STALE) */
    uint64_t due;      /* INCOMPLETE: next request; STALE: next refresh or the end;
                          FAILED: when the entry goes */
    uint64_t stale_end; /* STALE: dropped if no answer by then */
    struct ip_pkt *qhead, *qtail;
};

struct reasm_frag {
    struct reasm_frag *next;
    uint16_t off, len; /* payload bytes [off, off + len) */
    bool last;         /* MF clear */
    uint8_t data[];
};

struct reasm_dgram {
    bool used;
    uint8_t proto;
    uint16_t id;
    uint32_t src, dst;
    uint64_t expires;
    uint64_t created_seq;  /* age order for eviction */
    uint32_t total;        /* payload bytes, known once the last fragment came (else 0) */
    bool have_last, have_first, l2bcast;
    uint32_t got;          /* payload bytes held */
    uint16_t nfrags;
    uint8_t hdr_len;
    uint8_t hdr[JET_IPV4_HDR_MAX]; /* the first fragment's header */
    size_t mem;            /* bytes charged to c->reasm_mem */
    struct reasm_frag *head, *tail; /* sorted by offset */
};

struct ip_port {
    uint8_t proto;
    uint16_t port;
    uint16_t next;     /* chain or free list */
    void *sk;
    const struct ip_l4_ops *ops;
};

/* One received IPv4 packet, after the checks, in the core's memory. */
struct ip_pkt_in {
    const uint8_t *hdr;  /* IPv4 header (hdr_len bytes) */
    const uint8_t *l4;   /* payload (l4_len bytes); writable core memory */
    uint8_t *l4w;
    uint32_t l4_len;
    uint32_t src, dst;
    uint16_t id, frag;
    uint8_t hdr_len, proto, ttl;
    bool bcast;          /* IP destination a broadcast */
    bool l2bcast;        /* came to the Ethernet broadcast address */
};

struct ip_core {
    struct ip_core_cfg cfg;
    const struct ip_tx_ops *tx;
    void *tx_ctx;
    struct jet_ip_stats st;
    uint32_t mask, bcast; /* bcast: the prefix's broadcast, or 0xFFFFFFFF (/31, /32) */

    uint16_t ip_id;
    uint64_t timer_due;   /* no ARP or reassembly timer is due before this (a lower bound) */

    /* ARP */
    struct arp_entry arp[IP_ARP_ENTRIES];
    uint16_t arp_bucket[IP_ARP_BUCKETS];
    size_t arp_qbytes;

    /* link backlog */
    struct ip_pkt *backlog, *backlog_tail;
    size_t backlog_bytes;

    /* reassembly */
    struct reasm_dgram reasm[IP_REASM_MAX];
    unsigned reasm_n;
    size_t reasm_mem;
    uint64_t reasm_seq;

    /* ICMP errors: token bucket, in nanoseconds of credit */
    uint64_t icmp_credit, icmp_last;

    /* ports */
    struct ip_port ports[IP_PORTS_MAX];
    uint16_t port_bucket[IP_PORT_BUCKETS];
    uint16_t port_free;
    struct {
        uint8_t proto; /* 0: free */
        void *ctx;
        const struct ip_proto_ops *ops;
    } protos[IP_PROTO_HOOKS];

    /* ping */
    uint16_t ping_id, ping_seq;
    uint32_t ping_dst, ping_hop;
    uint64_t ping_sent, ping_rtt;
    int ping_state;       /* 0 waiting (or none), 1 answered, -errno */
    bool ping_active;

    uint8_t *rx;          /* IP_RX_CAP: the frame being taken */
    uint8_t *big;         /* IP_MAX_DGRAM: a reassembled datagram, or a message built to send */
};

static inline bool ip_in_prefix(const struct ip_core *c, uint32_t a)
{
    return ((a ^ c->cfg.ip.addr) & c->mask) == 0;
}
static inline bool ip_is_bcast(const struct ip_core *c, uint32_t a)
{
    return a == 0xFFFFFFFFu || a == c->bcast;
}
static inline bool ip_is_mcast(uint32_t a)
{
    return (a >> 28) >= 0xE; /* 224/4 and 240/4 */
}
static inline void ip_timer_at(struct ip_core *c, uint64_t t)
{
    if (t < c->timer_due)
        c->timer_due = t;
}

extern const uint8_t ip_mac_bcast[6];

/* ip_out.c */
int ip_out_frame(struct ip_core *c, const uint8_t mac[6], uint16_t type, const void *p, size_t n);
int ip_out_send(struct ip_core *c, const uint8_t mac[6], uint8_t proto, uint32_t dst, bool df,
                uint16_t gso, const struct iovec *iov, int iovcnt, size_t len, uint64_t now);
void ip_out_backlog_add(struct ip_core *c, struct ip_pkt *p);
void ip_out_flush(struct ip_core *c);
void ip_out_free_list(struct ip_pkt *p);
struct ip_pkt *ip_pkt_copy(uint8_t proto, uint32_t dst, bool df, const struct iovec *iov,
                           int iovcnt, size_t len);

/* arp_cache.c */
void arp_init(struct ip_core *c);
void arp_fini(struct ip_core *c);
void arp_input(struct ip_core *c, const uint8_t *p, size_t n, uint64_t now);
void arp_send_request(struct ip_core *c, uint32_t tpa, const uint8_t *dmac);
/* The next hop's MAC into mac: 0; -EHOSTUNREACH (failed); or 1 when the
 * packet must wait (copied by arp_enqueue). */
int arp_resolve(struct ip_core *c, uint32_t ip, uint8_t mac[6], uint64_t now);
/* The MAC the cache holds for ip (resolved, stale or probing), without asking the
 * network or changing the entry: 0, or -ENOENT. */
int arp_peek(struct ip_core *c, uint32_t ip, uint8_t mac[6]);
int arp_enqueue(struct ip_core *c, uint32_t hop, struct ip_pkt *p);
void arp_timers(struct ip_core *c, uint64_t now);
uint64_t arp_next_due(const struct ip_core *c);

/* reasm.c */
void reasm_fini(struct ip_core *c);
/* Takes a fragment; returns true when it completed a datagram, which *out
 * then describes (in c->big). */
bool reasm_input(struct ip_core *c, const struct ip_pkt_in *in, struct ip_pkt_in *out,
                 uint64_t now);
void reasm_timers(struct ip_core *c, uint64_t now);
uint64_t reasm_next_due(const struct ip_core *c);

/* icmp_in.c */
void icmp_input(struct ip_core *c, struct ip_pkt_in *in, uint64_t now);
void icmp_send_error(struct ip_core *c, const struct ip_pkt_in *in, uint8_t type, uint8_t code,
                     uint64_t now);
/* Tells the port (or the protocol, ip_proto_bind) that sent the UDP or TCP packet to
 * dst whose L4 header starts at l4 (at least 4 bytes) about err. */
void ip_l4_error(struct ip_core *c, uint8_t proto, uint32_t dst, const uint8_t *l4, int err,
                 uint32_t mtu, uint64_t now);

/* ip_core.c */
const struct ip_port *ip_port_find(const struct ip_core *c, uint8_t proto, uint16_t port);
/* The handler ip_proto_bind gave proto, or -1. */
int ip_proto_find(const struct ip_core *c, uint8_t proto);
void ip_ping_fail(struct ip_core *c, uint32_t hop_or_dst, int err);

#endif
