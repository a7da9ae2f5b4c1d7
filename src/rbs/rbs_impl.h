/* RBS core internals shared by rbs_core.c (state machine, timers), rbs_send.c (segment
 * output, ACK intake, RTO), rbs_recv.c (data intake and the application's read calls)
 * and rbs_check.c (invariants).  Not for use outside src/rbs.
 *
 * RBS is its header codec (rbs_wire), handshake, close and state machine on top of the
 * transport engine (src/xport, docs/transport.md): c->snd is the send side (queue,
 * scoreboard, recovery, RTT/RTO, congestion control), c->rcv the receive side
 * (placement, out-of-order ranges, window, ACK policy).
 *
 * Sequence spaces (xport/xp_seq.h).  On the wire, sequence numbers are 32-bit and wrap.
 * Inside, both directions use 64-bit positions that never wrap:
 *   send side     S = 0 is our SYN, data byte at stream offset o is S = o + 1,
 *                 our FIN is S = 1 + (bytes queued at shutdown); wire = iss + S.
 *   receive side  R = 0 is the peer's SYN, data offset o is R = o + 1; wire = irs + R.
 * A received 32-bit number is unwrapped to the 64-bit position nearest a reference
 * (snd.una for acknowledgements, rcv.nxt for sequence numbers). */
#ifndef JET_RBS_IMPL_H
#define JET_RBS_IMPL_H

#include "rbs/rbs_core.h"
#include "xport/xp_rcv.h"
#include "xport/xp_snd.h"

#define RBS_WND_LIMIT XP_WND_LIMIT /* largest window (sequence numbers stay < 2^31 apart) */
enum {
    RBS_SEG_MAX = RBS_HDR_LEN + RBS_MSS_MAX, /* one frame payload: 65536 */
};

struct rbs_conn {
    struct rbs_cfg cfg;
    enum rbs_state state;
    int err;
    bool opened;              /* connect or accept was called */
    uint32_t iss, irs;
    uint32_t peer_chan;
    uint8_t snd_ws, rcv_ws;   /* shift applied to the peer's window / to ours */

    struct xp_snd snd;        /* send side (S positions) */
    struct xp_rcv rcv;        /* receive side (R positions, offsets = R - 1) */

    bool syn_due;             /* (re)send SYN or SYN-ACK */
    uint32_t syn_tsval;       /* TSval of the last SYN / SYN-ACK sent */
    uint64_t persist_at;      /* zero-window probe timer, 0 = off */
    uint32_t persist_n;
    bool probe_due;           /* send an ACK-eliciting probe (persist or keepalive) */
    uint64_t tw_at;           /* TIME_WAIT end, 0 = off */
    uint64_t last_rx;         /* time of the last acceptable segment */
    uint32_t ka_sent;         /* keepalive probes since last_rx */
    uint32_t ts_recent;       /* TSval to echo */

    bool rst_due;             /* an RST to send: rst_seq / rst_ack / rst_flags */
    uint32_t rst_seq, rst_ack;
    uint8_t rst_flags;

    struct rbs_stats st;      /* RBS's own counters; the engine's are added in rbs_get_stats */
};

static inline uint32_t us32(uint64_t now)
{
    return (uint32_t)(now / 1000);
}

static inline bool rbs_synced(const struct rbs_conn *c)
{
    return c->state >= RBS_ESTABLISHED;
}

/* Nearest 64-bit position to ref with low 32 bits (after base) equal to w. */
static inline int64_t rbs_unwrap(uint64_t ref, uint32_t base, uint32_t w)
{
    return xp_seq_unwrap(ref, base, w);
}

/* rbs_send.c */
void rbs_on_ack(struct rbs_conn *c, const struct rbs_hdr *h, uint64_t ack, uint64_t segR,
                size_t plen, uint64_t now);
void rbs_on_rto(struct rbs_conn *c, uint64_t now);
void rbs_rtt_sample(struct rbs_conn *c, uint32_t tsecr, uint64_t now);
int rbs_emit(struct rbs_conn *c, uint64_t now, uint8_t *hdr, size_t hcap, size_t maxpayload,
             struct iovec *iov, int iovmax, int *niov);
void rbs_fail(struct rbs_conn *c, int err, bool send_rst);

/* rbs_recv.c */
/* Takes an acceptable segment's payload at R position r >= rcv.nxt (len bytes, staged
 * in sg by xp_rcv_stage; FIN after it if fin): the engine places and records it; the
 * FIN moves the state; a sink that failed fails the connection. */
void rbs_rcv_data(struct rbs_conn *c, uint64_t r, size_t len, bool fin, const struct xp_stage *sg,
                  uint64_t now);
int rbs_rcv_sack(const struct rbs_conn *c, struct rbs_sack *out); /* blocks to send */

/* rbs_core.c */
void rbs_enter(struct rbs_conn *c, enum rbs_state s, uint64_t now);

#endif
