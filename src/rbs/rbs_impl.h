/* RBS core internals shared by rbs_core.c (state machine, timers), rbs_send.c (send
 * queue, scoreboard, congestion control, segment output), rbs_recv.c (receive ring and
 * placement) and rbs_check.c (invariants).  Not for use outside src/rbs.
 *
 * Sequence spaces.  On the wire, sequence numbers are 32-bit and wrap (serial number
 * arithmetic).  Inside, both directions use 64-bit positions that never wrap:
 *   send side     S = 0 is our SYN, data byte at stream offset o is S = o + 1,
 *                 our FIN is S = 1 + (bytes queued at shutdown); wire = iss + S.
 *   receive side  R = 0 is the peer's SYN, data offset o is R = o + 1; wire = irs + R.
 * A received 32-bit number is unwrapped to the 64-bit position nearest a reference
 * (snd_una for acknowledgements, rcv_nxt for sequence numbers), so comparisons are
 * plain integer comparisons and a jump of 2^31 or more is impossible to express. */
#ifndef JET_RBS_IMPL_H
#define JET_RBS_IMPL_H

#include "rbs/rbs_core.h"

enum {
    RBS_SB_MAX = 32,   /* sender scoreboard: SACKed ranges above snd_una */
    RBS_OOO_MAX = 32,  /* receiver: out-of-order ranges above rcv_nxt */
    RBS_DUPTHRESH = 3,
    RBS_RETX_MAX = 32, /* retransmissions watched for loss in one recovery episode */
};
#define RBS_WND_LIMIT (1ull << 30) /* largest window (sequence numbers stay < 2^31 apart) */
enum {
    RBS_SEG_MAX = RBS_HDR_LEN + RBS_MSS_MAX,       /* one frame payload: 65536 */
    RBS_STAGE_BYTES = (RBS_MSS_MAX + 64 + 63) & ~63, /* sink staging: a payload at any
                                                      alignment within a cache line */
};

enum rbs_recovery { REC_NONE = 0, REC_FAST, REC_RTO };

struct rbs_range {
    uint64_t s, e; /* [s, e) */
};

/* A retransmission sent in recovery: [s, e), sent when snd_nxt was `mark`.  If data
 * sent after it (at or above mark) is SACKed while [s, e) is still missing, the
 * retransmission itself was lost and is sent again (`lost`). */
struct rbs_retx {
    uint64_t s, e, mark;
    bool lost;
};

/* A received segment's payload after rbs_rcv_stage: where its new bytes are.  In ring
 * mode they are in the ring already; in sink mode the hook takes them from src. */
struct rbs_stage {
    uint64_t r;         /* R position of payload byte 0 (mod 2^64: may be "negative") */
    const uint8_t *src; /* sink mode: the payload by offset, i.e. R position x is at
                           src[x - r]: the staging copy (checked input), or the segment
                           itself (rbs_input: the caller vouches that it cannot change) */
};

/* A run of queued send data: either in the internal ring or an application buffer. */
struct rbs_chunk {
    const uint8_t *p;
    uint64_t off; /* stream offset of p[0] */
    uint64_t len;
    uint64_t cookie;
    bool ref; /* application buffer (cookie reported when acked) */
};

struct rbs_conn {
    struct rbs_cfg cfg;
    enum rbs_state state;
    int err;
    bool opened;              /* connect or accept was called */
    uint32_t iss, irs;
    uint32_t peer_chan;
    uint8_t snd_ws, rcv_ws;   /* shift applied to the peer's window / to ours */
    uint32_t mss;             /* effective send MSS: min(ours, peer's) */

    /* ---- send side (S positions) ---- */
    uint64_t snd_una, snd_nxt;
    uint64_t snd_wnd_edge;    /* peer's window right edge: ack + window */
    uint64_t snd_wl1, snd_wl2;/* R and S of the segment that last set the window */
    uint64_t max_snd_wnd;
    uint64_t q_end;           /* stream bytes queued so far (offset of the next byte) */
    bool fin_queued;          /* FIN at S = 1 + q_end (q_end frozen) */
    bool syn_due;             /* (re)send SYN or SYN-ACK */
    uint32_t syn_tsval;       /* TSval of the last SYN / SYN-ACK sent */

    struct rbs_chunk *ch;     /* chunk ring, ch_cap entries, oldest at ch_head */
    uint32_t ch_cap, ch_head, ch_count;
    uint64_t *ck;             /* completed cookies, ring of ch_cap */
    uint32_t ck_head, ck_count;
    uint8_t *sring;           /* internal send ring */
    uint64_t sr_cap, sr_head, sr_tail; /* free-running byte counters */

    struct rbs_range sb[RBS_SB_MAX];
    uint32_t nsb;
    uint64_t sacked;          /* bytes in sb */

    enum rbs_recovery rec;
    uint64_t recover;         /* snd_nxt when recovery began */
    uint64_t retx_next;       /* in recovery: holes below this were retransmitted */
    uint32_t dupacks;
    uint64_t cwnd, ssthresh, ca_acc;
    struct rbs_retx rx[RBS_RETX_MAX];
    uint32_t nrx;

    uint64_t srtt, rttvar, rto; /* ns */
    bool have_rtt;
    uint32_t backoff;         /* consecutive RTO expirations */
    uint64_t rtx_at;          /* retransmission timer, 0 = off */
    uint64_t tlp_at;          /* tail loss probe timer, 0 = off */
    bool tlp_due;             /* send a tail loss probe */
    bool tlp_out;             /* a probe is out; no other until snd_una advances */
    uint64_t persist_at;      /* zero-window probe timer, 0 = off */
    uint32_t persist_n;
    bool probe_due;           /* send an ACK-eliciting probe (persist or keepalive) */
    uint64_t tw_at;           /* TIME_WAIT end, 0 = off */
    uint64_t last_rx;         /* time of the last acceptable segment */
    uint32_t ka_sent;         /* keepalive probes since last_rx */

    bool rst_due;             /* an RST to send: rst_seq / rst_ack / rst_flags */
    uint32_t rst_seq, rst_ack;
    uint8_t rst_flags;

    /* ---- receive side (R positions, offsets = R - 1) ---- */
    uint8_t *rbuf;            /* ring in use: internal or registered */
    uint64_t rb_cap;
    uint64_t rb_base;         /* stream offset stored at rbuf[0] */
    uint8_t *rbuf_own;        /* the internal ring */
    rbs_sink_fn sink;         /* sink mode (rbuf NULL, rb_cap the window): placement hook */
    void *sink_arg;
    uint8_t *stage;           /* sink mode: RBS_STAGE_BYTES (64-aligned) where rbs_input_crc
                                 copies (and checks) a payload before the hook writes it */
    uint64_t sink_base;       /* stream offset handed to the hook as 0 */
    uint64_t rcv_nxt;
    uint64_t rcv_read;        /* stream offset of the next byte the app reads */
    uint64_t rcv_fin;         /* R of the peer's FIN, UINT64_MAX if unknown */
    struct rbs_range ooo[RBS_OOO_MAX];
    uint32_t nooo;
    uint32_t ooo_recent;      /* index of the range the last segment touched */
    uint64_t last_ack_sent;   /* rcv_nxt in the last segment sent */
    uint64_t last_adv_wnd;
    uint32_t ts_recent;
    uint32_t ack_owed;        /* in-order segments not yet acknowledged */
    bool ack_now;
    uint64_t ack_at;          /* delayed ACK timer, 0 = off */

    struct rbs_stats st;
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
    return (int64_t)ref + (int32_t)(w - (uint32_t)(base + (uint32_t)ref));
}

/* rbs_send.c */
uint64_t rbs_data_end(const struct rbs_conn *c);     /* S after the last queued byte */
uint64_t rbs_fin_pos(const struct rbs_conn *c);      /* S of FIN, UINT64_MAX if none */
void rbs_snd_acked(struct rbs_conn *c, uint64_t una); /* free acked data */
void rbs_on_ack(struct rbs_conn *c, const struct rbs_hdr *h, uint64_t ack, uint64_t segR,
                size_t plen, uint64_t now);
void rbs_on_rto(struct rbs_conn *c, uint64_t now);
void rbs_on_tlp(struct rbs_conn *c, uint64_t now);
uint64_t rbs_pipe(const struct rbs_conn *c);
void rbs_set_rto(struct rbs_conn *c);
int rbs_emit(struct rbs_conn *c, uint64_t now, uint8_t *hdr, size_t hcap, size_t maxpayload,
             struct iovec *iov, int iovmax, int *niov);
void rbs_fail(struct rbs_conn *c, int err, bool send_rst);

/* rbs_recv.c */
uint64_t rbs_rcv_edge(const struct rbs_conn *c);     /* R after the last byte that fits */
uint64_t rbs_adv_wnd(const struct rbs_conn *c);      /* window we would advertise, bytes */
/* The one pass over a received payload p[0..len) at R position r, before anything acts
 * on its segment (p may be in memory another process writes).  When data (a segment
 * that may carry data in this state), the bytes that may turn out new -- in the window,
 * below a known FIN, in no out-of-order range -- are copied to their place in the ring
 * (sink mode: into the staging buffer, when check); nothing else is written.  With
 * check, returns the CRC32C of all len bytes chained on crc, every byte loaded once, so
 * it covers exactly the bytes copied; without, returns crc and reads only what it
 * copies.  Changes no state: bytes it copied count for nothing until rbs_rcv_data
 * records them (the CRC may fail; the segment may be dropped).  len <= RBS_MSS_MAX in
 * sink mode with check. */
uint32_t rbs_rcv_stage(struct rbs_conn *c, bool data, uint64_t r, const uint8_t *p, size_t len,
                       bool check, uint32_t crc, struct rbs_stage *sg);
/* Takes an acceptable segment's payload at R position r >= rcv_nxt (len bytes, staged in
 * sg; FIN after it if fin): trims to the window, places (sink mode: hands the new bytes
 * to the hook), advances rcv_nxt, consumes the FIN, decides the ACK (now or delayed) and
 * counts drops. */
void rbs_rcv_data(struct rbs_conn *c, uint64_t r, size_t len, bool fin, const struct rbs_stage *sg,
                  uint64_t now);
int rbs_rcv_sack(const struct rbs_conn *c, struct rbs_sack *out); /* blocks to send */

/* rbs_core.c */
void rbs_enter(struct rbs_conn *c, enum rbs_state s, uint64_t now);

#endif
