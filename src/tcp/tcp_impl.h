/* TCP core internals shared by tcp_core.c (lifetime, opening, state changes, the
 * application's calls), tcp_in.c (segment arrives), tcp_out.c (segment output),
 * tcp_timer.c (every timer) and tcp_check.c (invariants).  Not for use outside src/tcp.
 *
 * TCP is its header and options (jet_tcp_parse / jet_tcp_emit), handshake, close, state
 * machine and timers on top of the transport engine (src/xport, docs/transport.md):
 * c->snd is the send side (queue, scoreboard, recovery, RTT/RTO, congestion control),
 * c->rcv the receive side (placement, out-of-order ranges, window, ACK policy).
 *
 * Sequence spaces (xport/xp_seq.h).  On the wire, sequence numbers are 32-bit and wrap.
 * Inside, both directions use 64-bit positions that never wrap:
 *   send side     S = 0 is our SYN, data byte at stream offset o is S = o + 1,
 *                 our FIN is S = 1 + (bytes queued at shutdown); wire = iss + S.
 *   receive side  R = 0 is the peer's SYN, data offset o is R = o + 1; wire = irs + R.
 * A received 32-bit number is unwrapped to the 64-bit position nearest a reference
 * (snd.una for acknowledgements, rcv.nxt for sequence numbers). */
#ifndef JET_TCP_IMPL_H
#define JET_TCP_IMPL_H

#include "jet/inet.h"
#include "jet/tcp.h"
#include "tcp/tcp_core.h"
#include "xport/xp_rcv.h"
#include "xport/xp_snd.h"

enum {
    TCP_SEQ_WND_MAX = 1 << 30,     /* largest window (RFC 7323: 2^30) */
    TCP_PAWS_IDLE_S = 24 * 86400,  /* ts_recent invalid after 24 days idle (RFC 7323 5.5) */
    TCP_PERSIST_MAX_SHIFT = 16,
};
#define TCP_KEEPALIVE_INTVL_DEFAULT_NS 75000000000ull
#define TCP_RTO_FALLBACK_NS 3000000000ull /* RFC 6298 5.7: after a SYN timed out */
#define TCP_TIME_WAIT_DEFAULT_NS 60000000000ull
#define TCP_RCVBUF_DEFAULT (4u << 20)
#define TCP_RCVBUF_INIT_MAX (256u << 10)

/* Counters of the core itself; the engine's are added in tcp_get_info. */
struct tcp_stats {
    uint64_t segs_in, segs_out, bytes_out;
    uint64_t challenge_acks, paws_drops, csum_bad, malformed;
    uint64_t rst_in, rst_out, keepalive_probes, zero_wnd_probes, timeouts;
    uint64_t delayed_acks, quick_acks, sack_blocks_in, dsack_in, sack_blocks_out;
    uint64_t sink_bytes, sink_writes;
    uint64_t unexpected; /* segments that fit no rule of the state (dropped) */
};

struct tcp_conn {
    struct tcp_cfg cfg;
    enum tcp_state state;
    int err;                  /* why it failed (sticky) */
    int soft_err;             /* last ICMP soft error */
    bool opened;              /* connect or an accept was called */
    bool passive;             /* opened by an accept call (SYN_RCVD goes back to... none) */
    uint32_t iss, irs;

    /* negotiated in the handshake */
    bool ts_ok, sack_ok, ws_ok;
    uint8_t snd_ws, rcv_ws;   /* shift applied to the peer's window / to ours */
    uint32_t peer_mss;        /* the peer's MSS option (536 when absent) */
    uint32_t pmtu_mss;        /* cap from tcp_pmtu */

    struct xp_snd snd;        /* send side (S positions) */
    struct xp_rcv rcv;        /* receive side (R positions, offsets = R - 1) */

    /* TSO (tcp_set_tso): most payload bytes per data segment, 0 off; the wire
     * segment payload of the last data segment out (tcp_out_seg_size) */
    uint32_t tso_max;
    uint32_t out_seg;

    /* output flags */
    bool syn_due;             /* (re)send SYN or SYN-ACK */
    bool probe_due;           /* send a zero-window or keepalive probe */
    bool rst_due;             /* an RST to send: rst_seq / rst_ack / rst_flags */
    uint32_t rst_seq, rst_ack;
    uint8_t rst_flags;

    /* timers (absolute ns, 0 = off); rtx/tlp live in snd, delayed ACK in rcv */
    uint64_t persist_at;
    uint32_t persist_n;
    uint32_t probes_out;      /* zero-window probes since the peer last spoke */
    uint64_t tw_at;
    uint64_t last_rx;         /* last acceptable segment (keepalive idle) */
    uint64_t now_seen;        /* the latest now given to any call (for the calls without
                                 one: tcp_send arms the persist timer from it) */
    uint32_t ka_sent;
    uint64_t stall_since;     /* user timeout: since when data waits (unacknowledged, or
                                 on a zero window) without progress; 0: none */
    uint64_t stall_una;       /* snd.una then */
    uint32_t syn_tsval;       /* TSval of the last SYN / SYN-ACK sent */

    /* timestamps (RFC 7323) */
    uint32_t ts_recent;
    uint64_t ts_recent_at;    /* when ts_recent was set (PAWS idle rule) */
    uint32_t rto_tsval;       /* our clock at the last RTO: echoes older than it are not
                                 RTT samples (tcp_in.c, rtt_from_echo) */
    uint32_t last_tsecr;      /* the echo the last RTT sample came from */
    bool rto_seen, tsecr_seen;

    /* RFC 5961 challenge ACK rate limit */
    uint64_t chal_epoch;      /* start of the current second */
    uint32_t chal_n;

    /* D-SACK to send (RFC 2883): a duplicate's range [dsack_s, dsack_e), R positions;
     * dsack_e = 0: none */
    uint64_t dsack_s, dsack_e;
    /* out-of-order ranges (by a position inside each) in the order segments last
     * touched them, most recent first: SACK blocks go out in this order (RFC 2018 4) */
    uint64_t sack_hist[JET_TCP_SACK_MAX];
    uint32_t sack_nhist;

    /* delayed ACK: quick ACKs left */
    uint32_t quickack;
    uint64_t last_data_rx;    /* for quick-ACK after idle */

    /* receive-window auto-tuning (tcp_core.c) */
    uint64_t at_epoch;        /* start of the measuring interval */
    uint64_t at_read0;        /* rcv.read at its start */
    uint64_t min_rtt;         /* smallest RTT sample, UINT64_MAX none */

    struct tcp_stats st;
};

static inline uint32_t tcp_ts_now(const struct tcp_conn *c, uint64_t now)
{
    return (uint32_t)(now / (1000000000u / TCP_TS_HZ)) + c->cfg.ts_offset;
}

static inline bool tcp_synced(const struct tcp_conn *c)
{
    return c->state >= TCP_ESTABLISHED;
}

/* tcp_core.c */
void tcp_enter(struct tcp_conn *c, enum tcp_state s, uint64_t now);
void tcp_fail(struct tcp_conn *c, int err, bool send_rst);
void tcp_autotune(struct tcp_conn *c, uint64_t now);
/* The handshake completed: RTT sample or RFC 6298 5.7's fallback RTO. */
void tcp_handshake_rtt(struct tcp_conn *c, uint64_t rtt);
uint32_t tcp_mss_effective(const struct tcp_conn *c);
/* Index of the out-of-order range holding position x, or -1. */
int tcp_ooo_range_at(const struct xp_ranges *rs, uint64_t x);

/* tcp_in.c */
/* Learn the peer's options from its SYN or SYN-ACK (and what we offered). */
void tcp_take_syn(struct tcp_conn *c, const struct jet_tcp_hdr *h, uint64_t now);

/* tcp_out.c */
int tcp_emit(struct tcp_conn *c, uint64_t now, uint8_t *hdr, size_t hcap, size_t maxpayload,
             struct iovec *iov, int iovmax, int *niov, unsigned flags);
void tcp_queue_rst(struct tcp_conn *c, uint8_t flags, uint32_t seq, uint32_t ack);
/* RFC 5961 challenge ACK (rate-limited): true if one is due. */
bool tcp_challenge_ack(struct tcp_conn *c, uint64_t now);

/* tcp_timer.c */
void tcp_timer_arm_persist(struct tcp_conn *c, uint64_t now);
void tcp_timer_after_input(struct tcp_conn *c, uint64_t now);
void tcp_timer_after_output(struct tcp_conn *c, uint64_t now);
/* Data was queued (no now: the latest one seen): persist and user timeout. */
void tcp_timer_after_send(struct tcp_conn *c);

#endif
