/* Internal: the RBS glue's state, shared by its files.
 *
 *   rbs_glue.c    connections: opening, output, input, the data and close calls, stats
 *   rbs_listen.c  listeners: SYN routing, the backlog, accept
 *   rbs_host.c    RBS as a protocol of the station (jet/stack.h): the per-station
 *                 state, the poll hook that drives every listener and connection,
 *                 the next timeout, jet_rbs_poll/timeout/station_fini
 *
 * What is not RBS's own (blocking, channel ids, linger, peer names) is the shared
 * endpoint glue, chan/endpoint.h. */
#ifndef JET_RBS_GLUE_H
#define JET_RBS_GLUE_H

#include <stdbool.h>
#include <stdint.h>

#include "chan/endpoint.h"
#include "jet/rbs.h"
#include "rbs/rbs_core.h"

enum {
    RBSG_DEF_BUF = 4 << 20,
    RBSG_DEF_BACKLOG = 16,
    RBSG_CHAN_FIRST = 0x40000000u, /* connection channels: [CHAN_FIRST, CHAN_LAST] */
    RBSG_CHAN_LAST = 0xFFFFFF00u,
};
#define RBSG_PENDING_MAX_AGE_NS 5000000000ull /* a SYN not accepted by then is forgotten */
#define RBSG_LINGER_NS          10000000000ull /* a closed connection is freed by then at the latest */
#define RBSG_RTO_MAX_NS                                                                            \
    250000000ull /* LAN round trips are micro- to milliseconds: a peer                             \
                    silent through 12 backed-off RTOs (~3 s) is gone */

/* A SYN waiting in a listener's backlog. */
struct rbsg_pending {
    uint64_t at;
    uint16_t st;
    uint32_t chan; /* the CHAN option: the peer's connection channel */
    uint32_t len;
    uint8_t syn[RBS_HDR_MAX];
};

/* RBS's state on one station (attached to it: rbs_host.c). */
struct rbs_host {
    struct jet_station *s;
    uint32_t mtu;
    struct ep_ids ids; /* connection channel ids */
    struct jet_rbs_listener *lis;
    struct jet_rbs_conn *conns; /* the application's and those lingering after close;
                                   newest first (pub_seq descending: rbs_pub.c) */
    uint64_t pub_next;          /* pub_seq of the last connection created */
    int polled_in;              /* segments the last poll hook took in */
};

struct jet_rbs_listener {
    struct rbs_host *h;
    struct jet_chan *ch;
    struct jet_rbs_opts o;
    struct rbsg_pending *q; /* backlog, oldest first */
    uint32_t qn;
    uint64_t dropped;
    struct jet_rbs_listener *next;
};

struct jet_rbs_conn {
    struct rbs_host *h;
    struct rbs_conn *core;
    struct jet_chan *ch;
    uint16_t peer_st;
    uint32_t dst_chan;            /* the listener's channel, until the SYN-ACK names the peer's */
    struct jet_rbs_listener *lis; /* the listener that made it (SYN routing), or NULL */
    uint32_t syn_chan;            /* CHAN of the peer's SYN (routing key) */
    bool busy_poll;
    bool discard;            /* being closed: received bytes are thrown away */
    bool established;        /* has been ESTABLISHED (for the error's wording) */
    bool unreach;            /* the link refused the last send: no such peer (-EHOSTUNREACH) */
    struct ep_linger linger; /* handed back by jet_rbs_close: the library frees it */
    uint32_t rcvbuf;         /* receive ring bytes it was created with (the default sink window) */
    bool sink;               /* sink mode: received bytes go to sink_fd with pwrite */
    int sink_fd;             /* the application's file; -1 once it is closed (bytes discarded) */
    uint64_t sink_off;       /* file offset of the first byte */
    uint64_t sink_told;      /* placed bytes reported by jet_rbs_recv_ready */
    uint64_t sink_bytes, sink_writes; /* bytes pwrite wrote; segments placed */
    int err;                          /* glue-level error, overrides the core's */
    uint64_t foreign, malformed, tx_refused;
    char unreach_why[160]; /* the link's own words when it refused a send (unreach) */
    char why[400];
    uint64_t pub_seq; /* creation order (h->pub_next), for jet stat's cursor (rbs_pub.c) */
    struct jet_rbs_conn *next;
};

/* rbs_host.c */
/* RBS's state on s, attaching it first if it has none: 0, or -ENOMEM, or
 * jet_station_attach's error (-ENOSPC: no room for another protocol). */
int rbsg_host_attach(struct jet_station *s, struct rbs_host **out);
/* s's RBS state, NULL if it has none. */
struct rbs_host *rbsg_host(struct jet_station *s);

/* rbs_glue.c */
int rbsg_conn_err(const struct jet_rbs_conn *c);
/* Words for the connection's error, written once when it is first seen. */
void rbsg_explain(struct jet_rbs_conn *c);
/* Creates a connection with a fresh channel (not yet opening). */
int rbsg_conn_new(struct rbs_host *h, const struct jet_rbs_opts *o, bool external,
                  uint32_t syn_retries, struct jet_rbs_conn **out);
/* Sends every segment that is due, while the link takes frames. */
void rbsg_conn_output(struct jet_rbs_conn *c, uint64_t now);
/* Frames of its channel into the core, due timers, output.  Returns segments taken in. */
int rbsg_conn_drive(struct jet_rbs_conn *c, uint64_t now);
/* Aborts it (an RST goes out unless it is CLOSED already). */
void rbsg_conn_abort(struct jet_rbs_conn *c, uint64_t now);
void rbsg_conn_free(struct jet_rbs_conn *c);

/* rbs_listen.c */
/* Takes the SYNs queued on every listener of h.  Returns how many frames. */
int rbsg_listeners_drive(struct rbs_host *h, uint64_t now);

/* rbs_pub.c: the station's publication hook (statpub_conns_fn, chan/statpub.h): a
 * record per listener and connection of h (state). */
struct statpub_conn;
uint32_t rbsg_pub_conns(struct jet_station *s, void *state, uint64_t *cursor,
                        struct statpub_conn *out, uint32_t max);

#endif
