/* Links: where frames enter and leave a station.
 *
 * A link is a small ops table plus private state (smoltcp's Device, netmap's
 * ports).  It lends buffers: received frames and transmit buffers both live in
 * the link's buffer pool and are described by struct jet_frame.
 *
 * Ownership
 *   - jet_link_rx_burst() lends the caller up to `max` frames.  The caller owns
 *     them until it gives each back with jet_link_rx_release() or transmits it
 *     (zero-copy forwarding: a received frame may be passed to
 *     jet_link_tx_commit() as it is, on the same link).
 *   - jet_link_tx_alloc() lends the caller one empty buffer; the caller writes
 *     the frame into frame->data (at most frame->cap bytes), sets frame->len and
 *     frame->encap, and passes it to jet_link_tx_commit(), which ALWAYS consumes
 *     the frame, whatever it returns.  A lent buffer not committed is given
 *     back with jet_link_tx_abort().
 *   - Back-pressure shows at jet_link_tx_alloc(): -EAGAIN when the link cannot
 *     take another frame now (transmit queue full, medium busy).  Nothing is
 *     dropped silently: a frame the link could not deliver is counted.
 *   - Everything lent must be given back before jet_link_close(), which
 *     gives queued frames a bounded time (LAN: 200 ms) to leave and counts
 *     any it then has to drop (LAN: tx_dropped_close).
 *
 * Threads: one link handle is used by one thread at a time.
 *
 * Link names (one grammar, parsed by jet_link_name_parse()):
 *   lan:NAME        a station on the emulated Jetstream LAN NAME (shared memory)
 *   loop:NAME       an end of the in-process loop network NAME (jet/loop.h)
 *   tap:IF          a TAP device: the kernel at the other end (docs/links.md)
 *   packet:IF       AF_PACKET on interface IF (docs/link-packet.md)
 *   xdp:IF[@Q]      AF_XDP on queue Q (default 0) of IF, with an XDP program
 *                   steering our frames to it (docs/link-xdp.md)
 *   udp:HOST:PORT[,bind=[ADDR:]PORT]
 *                   Jetstream frames inside UDP to the peer HOST:PORT, from a
 *                   local address and port (default: any, an ephemeral port)
 *                   (docs/link-udp.md)
 *
 * Native frames on an Ethernet medium (packet:, xdp:): a link whose medium
 * carries only Ethernet may still say caps.native: it sends a native frame
 * inside an Ethernet II frame of EtherType 0x88B5 (JET_ETHERTYPE) to the MAC
 * it learnt for the destination station (broadcast until it has learnt one),
 * and lends a received one addressed to its station (or broadcast) as
 * native, the Ethernet header stripped (src/link/ethnat.h, docs/links.md).
 *
 * Wrappers prefix the name of the link they wrap, and may nest
 * (docs/link-wrappers.md):
 *   fault:KEY=VAL,KEY=VAL/INNER   seeded faults and a rate on any link, e.g.
 *                   fault:loss=0.01,seed=7/tap:jt0  fault:rate=100M,delay=50us/lan:x
 *                   keys: loss, ber, dup, reorder (probabilities: 0.01, 1e-7, 1%),
 *                   delay, jitter (durations: 50us), rate (bit/s: 1G), seed
 *   capture:PATH/INNER  every frame in and out, timestamped, to the pcapng file PATH
 *                   (include/jet/capture.h, docs/capture.md)
 */
#ifndef JET_LINK_H
#define JET_LINK_H

#pragma GCC visibility push(default) /* the library exports only what these headers declare */

#include <stdbool.h>
#include <stdint.h>

#include "jet/err.h"

/* How the bytes at frame->data begin. */
enum jet_encap {
    JET_ENCAP_NATIVE = 0, /* a Jetstream frame (docs/frame-format.md) */
    JET_ENCAP_ETH = 1,    /* an Ethernet II frame (any EtherType) */
};

/* A frame lent by a link.  32 bytes: bursts of them are arrays. */
struct jet_frame {
    uint8_t *data;  /* first byte of the frame */
    uint32_t len;   /* bytes in the frame */
    uint32_t cap;   /* tx: bytes that may be written at data */
    uint32_t buf;   /* link-private buffer id; do not change */
    uint8_t encap;  /* enum jet_encap */
    uint8_t cls;    /* tx: priority class 0..7 (7 most urgent), set by the sender before
                       tx_commit; the transmit service (the station's driver) serves
                       classes in strict priority.  A link never reads it from the
                       frame's bytes.  rx: 0. */
    uint16_t flags; /* link-private */
    uint16_t gso_size; /* tx, on a link with caps.tso, an Ethernet IPv4 TCP frame: payload
                          bytes per wire segment; the link completes the TCP checksum (the
                          field may hold just the pseudo-header sum) and cuts a frame over
                          the MTU into segments of this payload.  0: an ordinary frame.
                          The link's tx_alloc sets it to 0; rx: 0. */
};

/* caps.addr of a link without native station addresses. */
#define JET_LINK_NO_ADDR UINT32_MAX

/* What a link is.  The station and the protocols above it look only at
 * these, never at the link's name or kind. */
struct jet_link_caps {
    uint32_t addr;     /* this end's native address (the LAN: its station number),
                          JET_LINK_NO_ADDR if the link has none */
    uint8_t mac[6];    /* this end's Ethernet address, when has_mac */
    bool has_mac;
    uint32_t mtu;      /* largest payload of a native frame (bytes) */
    uint32_t eth_mtu;  /* largest payload of an Ethernet frame (an IPv4 packet) when it is
                          not mtu: on a medium that carries native frames inside Ethernet
                          (or UDP), a native frame's header and CRC take 28 bytes of the
                          wire's MTU, so mtu is eth_mtu - 28.  0: the same as mtu */
    uint32_t max_frame; /* largest frame at data, any encapsulation (bytes) */
    uint32_t burst;    /* frames worth asking for per rx_burst */
    uint32_t buffers;  /* buffer ids are 0 .. buffers-1 */
    uint64_t rate_bps; /* medium rate, 0 if not limited */
    bool zero_copy;    /* frames move between processes without copying */
    bool native;       /* carries JET_ENCAP_NATIVE frames */
    bool eth;          /* carries JET_ENCAP_ETH frames */
    bool tso;          /* segments an IPv4 TCP frame longer than the MTU (up to
                          max_frame) itself, by jet_frame.gso_size (TSO: tap:) */
    bool csum;         /* a frame arrives as it was sent or not at all (a frame the
                          medium damaged is dropped, as a NIC drops one whose FCS fails):
                          transport checksums need no check on receive, and a TCP
                          checksum may be left partial (the pseudo-header sum) on send,
                          as on loopback; whatever takes a frame off this medium (jet lan
                          tap) completes it (the LAN: docs/lan.md) */
};

/* A link's own counters (jet_link_stats). */
struct jet_link_stats {
    uint64_t tx_frames, tx_bytes; /* handed to the medium */
    uint64_t rx_frames, rx_bytes; /* lent by rx_burst */
    uint64_t tx_dropped;          /* committed but never handed to the medium (no such
                                     destination, closed with frames queued, ...) */
    uint64_t rx_dropped;          /* arrived but not lent (damaged descriptor, ...) */
    uint64_t faults;              /* frames a fault wrapper or the medium's faults changed:
                                     lost, corrupted, duplicated, reordered */
};

struct jet_link;

/* An IPv4 flow the stack above a link holds (jet_link_own): what a link that
 * shares its interface with the kernel (xdp:, packet:) must hand up rather
 * than leave to the kernel.  Fields in host byte order. */
struct jet_link_flow {
    uint32_t addr;  /* a local IPv4 address of the stack; 0 with a port: any of them */
    uint8_t proto;  /* 0: the address itself (ARP for it, ICMP and fragments to it);
                       JET_IP_PROTO_TCP or JET_IP_PROTO_UDP (6, 17): a local port */
    uint16_t port;  /* the local port, with TCP or UDP; else 0 */
};
/* {0, 0, 0}: every frame the interface receives is the stack's (an interface
 * given to Jetstream whole; the kernel sees none of its traffic). */

/* Every backend supplies rx_burst, rx_release, tx_alloc, tx_abort, tx_commit
 * and close.  The others are optional (NULL): the jet_link_* wrapper then
 * does the documented default or returns -EOPNOTSUPP with the reason set. */
struct jet_link_ops {
    const char *kind;
    int (*rx_burst)(struct jet_link *l, struct jet_frame *f, unsigned max);
    void (*rx_release)(struct jet_link *l, struct jet_frame *f, unsigned n);
    int (*tx_alloc)(struct jet_link *l, struct jet_frame *f);
    void (*tx_abort)(struct jet_link *l, struct jet_frame *f);
    int (*tx_commit)(struct jet_link *l, struct jet_frame *f);
    int (*tx_flush)(struct jet_link *l);                /* optional: 0 */
    int (*tx_room)(struct jet_link *l);                 /* optional: unlimited */
    int (*wait)(struct jet_link *l, int64_t timeout_ns); /* optional: -EOPNOTSUPP */
    int (*fd)(struct jet_link *l);                      /* optional: -EOPNOTSUPP */
    int (*arm)(struct jet_link *l);                     /* optional: -EOPNOTSUPP */
    int (*reserve)(struct jet_link *l, int64_t delta_bps); /* optional: 0 (nothing shared) */
    int (*stats)(struct jet_link *l, struct jet_link_stats *out); /* optional: -EOPNOTSUPP */
    int (*peer_alive)(struct jet_link *l, uint32_t addr); /* optional: -EOPNOTSUPP */
    int (*own)(struct jet_link *l, const struct jet_link_flow *f, bool add); /* optional: 0 */
    void (*close)(struct jet_link *l);
};

/* Common head of every link handle; backends embed it first. */
struct jet_link {
    const struct jet_link_ops *ops;
    struct jet_link_caps caps;
    char name[128];     /* the link name it was opened with */
    struct jet_err err; /* reason for the last failure on this link */
};

enum jet_link_kind { JET_LINK_LAN, JET_LINK_TAP, JET_LINK_PACKET, JET_LINK_XDP, JET_LINK_UDP,
                     JET_LINK_FAULT, JET_LINK_CAPTURE, JET_LINK_LOOP };

struct jet_link_name {
    enum jet_link_kind kind;
    char name[64];  /* LAN or loop name, or interface name */
    char host[256]; /* udp: the peer's host (IPv6 without brackets) */
    uint32_t queue; /* xdp: queue (0 when not given) */
    uint16_t port;  /* udp: the peer's port */
    char bind_host[64]; /* udp: local address to bind ("" = any) */
    uint16_t bind_port; /* udp: local port (0 = ephemeral) */
    /* Wrappers (fault:, capture:): the wrapped link's name, parsed in turn when opened. */
    char inner[256];
    char path[256]; /* capture: the file */
    struct jet_link_fault { /* fault: what to do to each frame sent; 0 = nothing */
        double loss, ber, dup, reorder; /* probabilities (ber: per bit, at most 0.5) */
        uint64_t delay_ns, jitter_ns;   /* each at most 10 s */
        uint64_t rate_bps;              /* 0 = not limited, else at least 1 Mbit/s */
        uint64_t seed;
    } fault;
};

/* Parses a link name. 0, or -EINVAL with the reason in err. */
int jet_link_name_parse(const char *s, struct jet_link_name *out, struct jet_err *err);

struct jet_link_opts {
    int station; /* lan, loop: station number to take, or -1 for the first free;
                    packet, xdp, udp: this end's station number for native frames
                    (0..65534), or -1 for one made from the link's MAC address
                    (its last two bytes; 65535 becomes 65534) */
    unsigned flags; /* JET_LINK_* below; 0 for an ordinary end */
};

/* jet_link_opts.flags: open the link as a monitor (jet dump): it takes no
 * station and sends nothing (tx_alloc fails with -EPERM); rx_burst lends a
 * copy of every frame the medium carries, whoever sent it and whoever it is
 * for (the LAN: every station's transmissions; packet: every frame on the
 * interface).  A monitor that falls behind loses frames itself (counted in its
 * stats' rx_dropped); it never delays or changes what the stations get.  A
 * link kind that cannot watch its medium refuses with -EOPNOTSUPP and says
 * why. */
#define JET_LINK_MONITOR 0x1u

/* Opens the link named s. On success *out is a handle to close with
 * jet_link_close(). Errors: negative errno with the reason in err. */
int jet_link_open(const char *s, const struct jet_link_opts *opts, struct jet_link **out,
                  struct jet_err *err);

/* Receives up to max frames into f[]. Returns the count (0 if none is ready), or
 * a negative errno. Never blocks. */
static inline int jet_link_rx_burst(struct jet_link *l, struct jet_frame *f, unsigned max)
{
    return l->ops->rx_burst(l, f, max);
}
/* Gives received frames back. */
static inline void jet_link_rx_release(struct jet_link *l, struct jet_frame *f, unsigned n)
{
    l->ops->rx_release(l, f, n);
}
/* Lends an empty transmit buffer: 0, -EAGAIN (link busy: retry after
 * jet_link_wait()), or -ENOBUFS (the pool is exhausted). */
static inline int jet_link_tx_alloc(struct jet_link *l, struct jet_frame *f)
{
    return l->ops->tx_alloc(l, f);
}
/* Gives back a lent transmit buffer without sending it. */
static inline void jet_link_tx_abort(struct jet_link *l, struct jet_frame *f)
{
    l->ops->tx_abort(l, f);
}
/* Sends f (always consumed). 0 when queued; a negative errno when the frame
 * was refused and dropped: -EMSGSIZE (too large), -EINVAL (malformed
 * address), -EHOSTUNREACH (no such station attached). */
static inline int jet_link_tx_commit(struct jet_link *l, struct jet_frame *f)
{
    return l->ops->tx_commit(l, f);
}
/* Sets l's error to "link NAME cannot OP" and returns -EOPNOTSUPP: what the
 * wrappers below return for an optional op the backend does not have. */
int jet_link_unsupported(struct jet_link *l, const char *op);

/* Pushes queued frames toward the medium. 0, or a negative errno. */
static inline int jet_link_tx_flush(struct jet_link *l)
{
    return l->ops->tx_flush ? l->ops->tx_flush(l) : 0;
}
/* How many more frames tx_commit takes now without queueing them behind the
 * medium (a rated medium that is busy, a full ring): the transmit service
 * above keeps frames in its priority classes until the link has room, so
 * that an urgent frame never waits behind a deep queue in the link.  A link
 * without the op takes every frame at once (INT32_MAX).  May be 0 while
 * tx_alloc succeeds.  A negative errno (reason in the link's error) when the
 * link failed and will take nothing again: whoever holds frames for it gives
 * them back with tx_abort. */
static inline int jet_link_tx_room(struct jet_link *l)
{
    return l->ops->tx_room ? l->ops->tx_room(l) : INT32_MAX;
}
/* Sleeps until a frame may be received or transmit room may have opened, or
 * timeout_ns passes (-1: no limit). 0, or a negative errno (-EINTR). */
static inline int jet_link_wait(struct jet_link *l, int64_t timeout_ns)
{
    return l->ops->wait ? l->ops->wait(l, timeout_ns) : jet_link_unsupported(l, "wait");
}
/* A file descriptor for poll/epoll: readable when frames may be waiting.
 * Use it with jet_link_arm(): arm, and only if that returns 0, sleep in
 * poll/epoll; after waking, receive until rx_burst returns 0, arm again.
 * Returns the fd (owned by the link, closed with it) or a negative errno. */
static inline int jet_link_fd(struct jet_link *l)
{
    return l->ops->fd ? l->ops->fd(l) : jet_link_unsupported(l, "give a file descriptor");
}
/* Prepares the fd for sleeping: clears its readiness and asks senders to
 * signal it. Returns 1 if there is work now (do not sleep), 0 if armed, or a
 * negative errno. Receiving disarms. */
static inline int jet_link_arm(struct jet_link *l)
{
    return l->ops->arm ? l->ops->arm(l) : jet_link_unsupported(l, "arm a file descriptor");
}
/* A shared medium's admission control for reserved transmit rate: adds
 * delta_bps (negative to give back) to what this end has reserved on the
 * medium, -EBUSY if every end's reservations together would exceed its
 * rate.  A link whose rate no one else shares has no such op (0): the
 * transmit service checks a station's own reservations against caps.rate_bps. */
static inline int jet_link_reserve(struct jet_link *l, int64_t delta_bps)
{
    return l->ops->reserve ? l->ops->reserve(l, delta_bps) : 0;
}
/* Whether the end at native address addr is there: 1 if it is attached
 * (and, where the link can tell, its holder alive: the LAN sees a killed
 * process), 0 if not, -EOPNOTSUPP if the link cannot tell.  For a sender
 * that waits on a peer and wants to know it is gone without a timeout. */
static inline int jet_link_peer_alive(struct jet_link *l, uint32_t addr)
{
    return l->ops->peer_alive ? l->ops->peer_alive(l, addr)
                              : jet_link_unsupported(l, "tell whether a peer is there");
}
/* Tells the link that the stack above holds flow f (add) or no longer does
 * (!add).  Holders are counted: a flow added twice is held until removed
 * twice.  The station calls it as steering rules come and go (each listener
 * and connection's local port) and the IPv4 layer for its address; a link
 * that delivers every frame anyway has no such op (0).  0, or a negative errno
 * (-ENOSPC: the link's table is full; -EINVAL: a malformed flow). */
static inline int jet_link_own(struct jet_link *l, const struct jet_link_flow *f, bool add)
{
    return l->ops->own ? l->ops->own(l, f, add) : 0;
}
/* The link's counters: 0, or -EOPNOTSUPP. */
static inline int jet_link_stats(struct jet_link *l, struct jet_link_stats *out)
{
    return l->ops->stats ? l->ops->stats(l, out) : jet_link_unsupported(l, "count");
}
void jet_link_close(struct jet_link *l);

/* The reason for the last failure on l. */
static inline const char *jet_link_error(const struct jet_link *l)
{
    return l->err.msg;
}

#pragma GCC visibility pop

#endif
