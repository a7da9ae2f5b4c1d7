/* Internal: the TCP glue's state, shared by its files (docs/tcp-api.md).
 *
 *   tcp_glue.c    connections: opening, input from their channel, output into
 *                 ip_output, the data, close and option calls, info, errors in words
 *   tcp_listen.c  listeners: the listener channel, SYNs, the bounded backlog, SYN
 *                 cookies beyond it, accept
 *   tcp_host.c    TCP as a protocol of the station (jet/stack.h): the per-station state,
 *                 the poll hook that drives every listener and connection, the next
 *                 timeout, segments and ICMP errors the IPv4 core hands over (no channel
 *                 took them: closed ports get an RST), ephemeral ports, host stats,
 *                 jet_tcp_station_fini
 *
 * The protocol itself is the sans-I/O core (tcp_core.h); IPv4 is the station's
 * (ip_glue.h); blocking, channel ids and linger are the shared endpoint glue
 * (chan/endpoint.h).  One thread per station at a time. */
#ifndef JET_TCP_GLUE_H
#define JET_TCP_GLUE_H

#include <stdbool.h>
#include <stdint.h>

#include "jet/inet.h"
#include "tcp/tcp_cookie.h"
#include "chan/endpoint.h"
#include "ip/ip_glue.h"
#include "jet/tcp.h"
#include "tcp/tcp_core.h"

enum {
    /* Connection and listener channel ids: [CHAN_FIRST, CHAN_LAST] (IPv4's default
     * channel and the UDP sockets are above, RBS's connections above those). */
    TCPG_CHAN_FIRST = 0x10000000u,
    TCPG_CHAN_LAST = 0x1FFFFFFFu,
    TCPG_DEF_BUF = 4 << 20,
    TCPG_DEF_BACKLOG = 128,
    TCPG_DEF_MAX_REFS = 256,
    TCPG_EPH_FIRST = 32768, /* ephemeral ports, Linux's default range */
    TCPG_EPH_LAST = 60999,
    TCPG_SEG_BUF = 65536, /* a whole segment copied out of the pool */
    TCPG_ACK_BATCH = 8,   /* input: output (the ACK due) after every this many segments */
    TCPG_TSO_MAX = 65535 - 20 - TCP_OUT_HDR_MAX, /* payload of a TSO segment, at most */
};
#define TCPG_LINGER_NS 75000000000ull /* a closed connection is freed by then at the latest
                                         (TIME_WAIT's 60 s and some) */
#define TCPG_HANDSHAKE_NS 75000000000ull /* a half-open passive connection gives up by then */
/* Cookies are checked only while the listener has sent some recently (Linux's
 * tcp_synq_no_recent_overflow): for as long as a cookie stays valid. */
#define TCPG_COOKIE_RECENT_NS ((uint64_t)TCP_COOKIE_AGES * TCP_COOKIE_TICK_NS)

/* TCP's state on one station (attached to it: tcp_host.c). */
struct tcp_host {
    struct jet_station *s;
    struct ip_host *ip;
    uint32_t addr;   /* the station's IPv4 address */
    uint32_t mtu;    /* largest IPv4 packet on the link */
    bool link_csum;  /* the link's caps.csum: checksums not checked on receive, left
                        partial on send (the LAN) */
    struct tcp_key key; /* ISNs, timestamp offsets, SYN cookies: once per station */
    struct ep_ids ids;  /* channel ids */
    uint16_t eph_next;
    struct jet_tcp_listener *lis;
    struct jet_tcp_conn *conns; /* every connection: the application's, those waiting
                                   for accept, and those lingering after close; newest
                                   first (pub_seq descending: tcp_pub.c) */
    uint64_t pub_next;          /* pub_seq of the last connection created */
    uint64_t ready_seq;         /* accept order */
    uint8_t *seg;               /* TCPG_SEG_BUF: a segment copied out of the pool */
    struct jet_tcp_host_stats st; /* segs_in/out, malformed, csum_bad: of connections
                                     gone (the live ones are added when read) */
    int polled_in;
};

struct jet_tcp_listener {
    struct tcp_host *h;
    struct jet_chan *ch;
    struct jet_flow flow;
    uint32_t addr; /* 0: every address of ours */
    uint16_t port;
    struct jet_tcp_opts o;
    uint32_t nconn;  /* half-open and not yet accepted connections (<= o.backlog) */
    uint32_t nready; /* established, waiting for accept */
    uint64_t last_cookie; /* when a SYN cookie last went out (0: never) */
    struct jet_tcp_listener *next;
};

struct jet_tcp_conn {
    struct tcp_host *h;
    struct tcp_conn *core;
    struct jet_chan *ch;
    struct tcp_tuple t;
    struct jet_flow flow;
    struct jet_tcp_listener *lis; /* made by this listener and not yet accepted */
    bool ready;              /* established and in lis's accept queue */
    uint64_t ready_seq;      /* accept order */
    uint64_t born;           /* created (passive: for the handshake's bound) */
    bool active;             /* opened by connect */
    bool busy_poll;
    bool nodelay;
    bool discard;            /* closed by the application: received bytes are dropped */
    bool established;        /* has been ESTABLISHED (for words and events) */
    bool counted_fail;       /* counted in failed_opens */
    struct ep_linger linger; /* handed back by jet_tcp_close: the library frees it */
    uint32_t rcvbuf;         /* receive ring bytes (the default sink window) */
    bool sink;
    int sink_fd;
    uint64_t sink_off, sink_told, sink_bytes, sink_writes;
    int err;                 /* glue-level error, overrides the core's */
    int icmp_err;            /* the last ICMP error about it (for the words) */
    uint64_t tx_refused;     /* segments ip_output refused (lost: the core resends) */
    uint32_t reborn;         /* TIME_WAIT met a new SYN (its length, in h->seg) */
    uint8_t *held;           /* a segment the link had no room for, sent first next time */
    uint32_t held_len;
    uint16_t held_seg;       /* its gso_size (tso) */
    bool tso;                /* the link segments: TSO segments with partial checksums */
    const char *cc;
    char why[400];
    uint64_t pub_seq; /* creation order (h->pub_next), for jet stat's cursor (tcp_pub.c) */
    struct jet_tcp_conn *next;
};

/* tcp_host.c */
/* TCP's state on s, attaching it first: 0, -ENOENT (no IPv4 on s), -ENOMEM, or
 * jet_station_attach's error. */
int tcpg_host_attach(struct jet_station *s, struct tcp_host **out);
struct tcp_host *tcpg_host(struct jet_station *s);
/* A free ephemeral port (no connection or listener of ours uses it), 0 if none. */
uint16_t tcpg_eph_port(struct tcp_host *h);
/* The connection with this tuple (seen from us), or NULL. */
struct jet_tcp_conn *tcpg_find(struct tcp_host *h, const struct tcp_tuple *t);
/* Sends an RST answering seg (a copy in our memory, checksum checked) if one is due. */
void tcpg_send_rst(struct tcp_host *h, const struct tcp_tuple *t, const uint8_t *seg, size_t len,
                   uint64_t now);
uint32_t tcpg_ts_offset(const struct tcp_host *h, const struct tcp_tuple *t);

/* tcp_glue.c */
int tcpg_conn_err(const struct jet_tcp_conn *c);
void tcpg_explain(struct jet_tcp_conn *c);
/* A connection for tuple t with a channel steered to it, its core created (not opened).
 * external: no internal receive ring (connect with a ring or a sink). */
int tcpg_conn_new(struct tcp_host *h, const struct tcp_tuple *t, const struct jet_tcp_opts *o,
                  bool external, uint32_t isn, struct jet_tcp_conn **out);
void tcpg_conn_output(struct jet_tcp_conn *c, uint64_t now);
/* One segment (in memory that may be shared: the core reads it once) into the core. */
void tcpg_conn_segment(struct jet_tcp_conn *c, const uint8_t *seg, size_t len, unsigned flags,
                       uint64_t now);
/* Frames of its channel into the core, due timers, output.  Returns segments taken. */
int tcpg_conn_drive(struct jet_tcp_conn *c, uint64_t now);
void tcpg_conn_abort(struct jet_tcp_conn *c, uint64_t now);
void tcpg_conn_free(struct jet_tcp_conn *c);
/* Where to send an ICMP error about the connection. */
void tcpg_conn_icmp(struct jet_tcp_conn *c, int err, uint32_t mtu, uint64_t now);

/* tcp_pub.c: the station's publication hook (statpub_conns_fn, chan/statpub.h): a
 * record per listener and connection of h (state). */
struct statpub_conn;
uint32_t tcpg_pub_conns(struct jet_station *s, void *state, uint64_t *cursor,
                        struct statpub_conn *out, uint32_t max);

/* tcp_listen.c */
/* The frames queued on every listener's channel.  Returns how many. */
int tcpg_listeners_drive(struct tcp_host *h, uint64_t now);
/* The listener that takes segments for addr:port, or NULL. */
struct jet_tcp_listener *tcpg_listener_find(struct tcp_host *h, uint32_t addr, uint16_t port);
/* A segment for l and no connection (in our memory, checksum checked): a SYN opens
 * one (or gets a cookie), an ACK may complete a cookie, the rest gets an RST. */
void tcpg_listener_segment(struct jet_tcp_listener *l, const struct tcp_tuple *t,
                           const uint8_t *seg, size_t len, uint64_t now);
/* A connection l made changed state: queues it for accept once established, frees it
 * when it failed first. */
void tcpg_listener_update(struct jet_tcp_conn *c);
/* Takes c out of its listener's count (accepted or freed). */
void tcpg_listener_forget(struct jet_tcp_conn *c);

#endif
