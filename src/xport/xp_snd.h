/* Transport engine, send side: the send queue (an internal ring and application
 * buffers by reference with completion cookies), the SACK scoreboard, loss recovery
 * and the retransmission queue, the RTT estimator and RTO, congestion control hooks,
 * and the choice of the next data segment.  Sans-I/O: no clock (now is passed in), no
 * I/O, no header format (the protocol writes its own header around what
 * xp_snd_next picks).  Shared by RBS and TCP.
 *
 * Positions (xp_seq.h): 0 is the SYN, stream offset o is 1 + o, the FIN is 1 + q_end
 * once queued.  una <= nxt <= FIN + 1.  The protocol unwraps wire numbers (against
 * una) before calling in.
 *
 * Who calls what
 *   application:  xp_snd_copy / xp_snd_ref append data; xp_snd_completed pops cookies.
 *   on an ACK:    xp_snd_on_ack (window update by the WL1/WL2 rule, SACK blocks into
 *                 the scoreboard, RTT sample, free acked data, trim the scoreboard,
 *                 leave or continue recovery, cwnd via the cc module, restart the RTO;
 *                 else count a duplicate ACK; lost retransmissions; enter recovery).
 *   timers:       rtx_at (xp_snd_rto after the protocol counted and checked its
 *                 retry limit), tlp_at (xp_snd_tlp) and rack_at (xp_snd_rack_timeout,
 *                 RACK's reordering timer).  All absolute, 0 = off.
 *   output:       xp_snd_next: a lost retransmission again, the next lost range
 *                 (pipe < cwnd), a tail loss probe, new data / FIN (window, cwnd,
 *                 sender silly-window avoidance, Nagle unless nodelay).  The protocol
 *                 sends RST, SYN, probes and pure ACKs itself.
 *
 * Loss accounting follows RFC 6675 in spirit: pipe = outstanding - SACKed - lost
 * ranges not yet retransmitted; retx_next marks how far the lost ranges have been
 * retransmitted in this recovery episode.  The scoreboard survives an RTO (as in
 * Linux); a cumulative ACK that stops at or inside a SACKed range shows the peer
 * reneged (RFC 2018 8), and the scoreboard is then forgotten.
 *
 * RACK (RFC 8985, cfg.rack; xp_rack.c): the sent map (struct xp_sent, one entry per
 * data segment in position order with its last transmit time) gives each ACK the
 * transmit time of the most recently sent segment it delivered; a hole sent more than
 * RACK.rtt + reo_wnd before it is lost, by time instead of by count, and rack_at fires
 * when the rest of the holes sent before it would be. */
#ifndef JET_XP_SND_H
#define JET_XP_SND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "xport/xp_cc.h"
#include "xport/xp_range.h"
#include "xport/xp_rtt.h"
#include "xport/xp_seq.h"

enum {
    XP_DUPTHRESH = 3,
    XP_RETX_MAX = 32, /* retransmissions watched for loss in one recovery episode */
    XP_SB_MIN = XP_RANGES_INLINE, /* scoreboard bound: at least this many ranges ... */
    XP_SB_PER_WND = 2,            /* ... or 2 per MSS of the largest peer window */
};

enum xp_recovery { XP_REC_NONE = 0, XP_REC_FAST, XP_REC_RTO };

enum {
    XP_SENT_MIN = 64,          /* sent map entries allocated at least ... */
    XP_RACK_PERSIST = 16,      /* RFC 8985 6.2: recoveries a widened reo_wnd lasts */
};

/* A run of queued data: in the internal ring or an application buffer. */
struct xp_chunk {
    const uint8_t *p;
    uint64_t off; /* stream offset of p[0] */
    uint64_t len;
    uint64_t cookie;
    bool ref; /* application buffer (cookie reported when acked) */
};

/* A retransmission sent in fast recovery: [s, e), sent when nxt was `mark`.  If data
 * sent after it (at or above mark) is SACKed while [s, e) is still missing, the
 * retransmission itself was lost and is sent again (`lost`). */
struct xp_retx {
    uint64_t s, e, mark;
    uint64_t ts; /* when it was sent (RACK) */
    bool lost;
};

/* Sent map entry (RACK): one data segment [previous entry's e (or una), e), when it
 * was last sent, and whether that was a retransmission. */
struct xp_sent {
    uint64_t e, ts;
    bool retx;
};

/* RACK state (RFC 8985 names in comments). */
struct xp_rack {
    struct xp_sent *m;   /* sent map ring: positions ascending from head */
    uint32_t cap, head, n, max;  /* max: bound from the peer's window (growth stops) */
    uint64_t xmit_ts;    /* RACK.xmit_ts: latest transmit time of delivered data */
    uint64_t end;        /* RACK.end_seq */
    bool is_retx;        /* that segment was a retransmission */
    bool reord;          /* RACK.reordering_seen */
    bool sack_seen;      /* the peer sent a SACK block: RACK judges (RFC 8985 needs
                            SACK; before, a peer that never SACKs, NewReno alone) */
    uint64_t rtt;        /* RACK.rtt */
    uint64_t min_rtt;    /* RACK.min_RTT, UINT64_MAX: none */
    uint64_t fack;       /* RACK.fack: highest end delivered */
    uint64_t fack0;      /* RACK.fack before the ACK being processed */
    uint64_t lost_to;    /* never-retransmitted holes below this are lost */
    uint64_t retx_hi;    /* highest end of a retransmitted entry */
    uint64_t dsack_round;/* RACK.dsack_round, 0: none */
    uint32_t reo_mult;   /* RACK.reo_wnd_mult */
    uint32_t reo_persist;/* RACK.reo_wnd_persist */
    uint64_t tlp_end;    /* TLP.end_seq: the probe's end, 0: none out */
    bool tlp_retx;       /* TLP.is_retrans: the probe resent the last segment */
    bool tlp_undo;       /* this ACK cut cwnd for a loss the probe repaired: a D-SACK
                            reported right after it (xp_snd_dsack) undoes the cut */
    struct xp_cc tlp_cc; /* congestion state before that cut */
};

struct xp_snd_stats {
    uint64_t retransmits, retrans_bytes; /* data retransmissions (any cause) */
    uint64_t fast_retransmits;           /* fast recovery episodes */
    uint64_t lost_retransmits;
    uint64_t tlp_probes;
    uint64_t dup_acks;
    uint64_t sack_dropped; /* SACK blocks not recorded: scoreboard at its bound */
    uint64_t rack_losses;  /* segments RACK marked lost (time-based) */
    uint64_t rack_reorder; /* reordering RACK saw (RACK.reordering_seen set) */
    uint64_t dsacks;       /* DSACKs reported by the protocol (xp_snd_dsack) */
    uint64_t sack_reneges; /* the peer discarded data it had SACKed (scoreboard reset) */
    uint64_t tlp_losses;   /* losses only a tail loss probe repaired (RFC 8985 7.4) */
};

struct xp_snd {
    uint64_t una, nxt;
    uint64_t wnd_edge;      /* peer's window right edge: ack + window */
    uint64_t wl1, wl2;      /* peer position and ack of the segment that last set it */
    uint64_t max_wnd;       /* largest window the peer advertised */
    uint32_t mss;           /* effective send MSS */
    uint32_t init_segs;     /* initial window, segments */
    uint64_t ack_delay_ns;  /* the peer's delayed-ACK time (tail loss probe) */

    /* queue: stream offsets [acked, q_end) in chunks */
    uint64_t q_end;         /* stream bytes queued so far */
    bool fin_queued;        /* FIN at 1 + q_end (q_end frozen) */
    struct xp_chunk *ch;    /* chunk ring, ch_cap entries, oldest at ch_head */
    uint32_t ch_cap, ch_head, ch_count;
    uint64_t *ck;           /* completed cookies, ring of max_refs */
    uint32_t ck_head, ck_count, max_refs;
    uint8_t *ring;          /* internal send ring */
    uint64_t sr_cap, sr_head, sr_tail; /* free-running byte counters */

    /* scoreboard: SACKed ranges in (una, nxt] */
    struct xp_ranges sb;
    uint64_t sacked;        /* bytes in sb */

    /* recovery */
    enum xp_recovery rec;
    uint64_t recover;       /* nxt when recovery began */
    uint64_t retx_next;     /* in recovery: holes below this were retransmitted */
    uint32_t dupacks;
    bool fr_due;            /* one retransmission goes whatever pipe says: the fast
                               retransmit (RFC 5681 3.2, RFC 6675 5 step 4.2) and,
                               without SACK, a partial ACK's (RFC 6582 3.2) */
    struct xp_retx rx[XP_RETX_MAX];
    uint32_t nrx;

    struct xp_cc cc;
    struct xp_rtt rtt;
    uint32_t backoff;       /* consecutive RTO expirations */
    uint64_t rtx_at;        /* retransmission timer, 0 = off */
    uint64_t tlp_at;        /* tail loss probe timer, 0 = off */
    bool tlp_due;           /* send a tail loss probe */
    bool tlp_out;           /* a probe is out; no other until una advances (RACK:
                               until una passes its end, rack.tlp_end) */
    bool rack;              /* RFC 8985 RACK-TLP (cfg.rack) */
    bool nodelay;           /* no Nagle (cfg.nodelay, xp_snd_set_nodelay) */
    bool no_dsack;          /* cfg.no_dsack */
    uint64_t rack_at;       /* RACK reordering timer, 0 = off */
    uint64_t sml_end;       /* Nagle (Minshall): end of the last short segment sent */
    struct xp_rack rk;

    struct xp_snd_stats st;
};

struct xp_snd_cfg {
    uint32_t sndbuf_bytes, max_refs, mss, init_segs;
    uint64_t rto_init_ns, rto_min_ns, rto_max_ns, ack_delay_ns;
    const struct xp_cc_ops *cc; /* NULL: the default */
    bool rack;    /* RFC 8985 RACK-TLP loss detection (RBS and TCP turn it on) */
    bool nodelay; /* false: Nagle's algorithm holds short segments (see xp_snd_next) */
    bool no_dsack;/* the peer never reports duplicates by D-SACK (RBS): no RFC 8985 7.4
                     (a repaired tail loss cannot be told from a late ACK) */
};

/* Allocates the ring and tables (the only allocation besides scoreboard growth).
 * 0 or -ENOMEM (then xp_snd_fini cleans up). */
int xp_snd_init(struct xp_snd *s, const struct xp_snd_cfg *k);
void xp_snd_fini(struct xp_snd *s);
/* The effective MSS and the peer's first window are known (handshake): cwnd restarts
 * at the initial window of this MSS. */
void xp_snd_start(struct xp_snd *s, uint32_t mss, uint64_t wnd, uint64_t wl2);

static inline uint64_t xp_snd_data_end(const struct xp_snd *s)
{
    return 1 + s->q_end;
}

static inline uint64_t xp_snd_fin_pos(const struct xp_snd *s)
{
    return s->fin_queued ? 1 + s->q_end : UINT64_MAX;
}

static inline uint64_t xp_snd_wroom(const struct xp_snd *s)
{
    return s->wnd_edge > s->nxt ? s->wnd_edge - s->nxt : 0;
}

/* ---- queue (xp_sndq.c) ---- */
/* Copies up to len bytes into the ring; returns how many (0 when full). */
size_t xp_snd_copy(struct xp_snd *s, const void *buf, size_t len);
/* Queues buf by reference: 0, -EAGAIN (max_refs in use or the chunk ring full). */
int xp_snd_ref(struct xp_snd *s, const void *buf, size_t len, uint64_t cookie);
int xp_snd_completed(struct xp_snd *s, uint64_t *cookies, int max);
uint64_t xp_snd_pending(const struct xp_snd *s);
/* Frees data below position una (cookies of finished references become completed). */
void xp_snd_free_acked(struct xp_snd *s, uint64_t una);
/* Points iov at stream bytes [off, off + len); returns the bytes that fit in iovmax. */
size_t xp_snd_gather(const struct xp_snd *s, uint64_t off, size_t len, struct iovec *iov,
                     int iovmax, int *niov);
const char *xp_snd_queue_violation(const struct xp_snd *s);

/* ---- sender (xp_snd.c) ---- */
/* One ACK: ack >= una (already unwrapped), wnd in bytes (scaled), seg the peer's
 * position of the segment carrying it (for WL1), sack[0..nsack) unwrapped blocks,
 * dup_ok when the segment could be a duplicate ACK (no payload, no FIN), rtt_ns the
 * sample this ACK gives if it advances (UINT64_MAX: none). */
void xp_snd_on_ack(struct xp_snd *s, uint64_t ack, uint64_t wnd, uint64_t seg,
                   const int64_t (*sack)[2], unsigned nsack, bool dup_ok, uint64_t rtt_ns,
                   uint64_t now);
/* The retransmission timer expired (the caller counted it and checked its retry
 * limit): RTO backs off, RTO recovery (unless only the SYN is out), timer restarted. */
void xp_snd_rto(struct xp_snd *s, uint64_t now);
/* The tail loss probe timer expired. */
void xp_snd_tlp(struct xp_snd *s, uint64_t now);
/* RACK's reordering timer (rack_at) expired: marks lost what is now overdue, may start
 * fast recovery; the protocol then runs its output. */
void xp_snd_rack_timeout(struct xp_snd *s, uint64_t now);
/* The peer reported a DSACK (RFC 2883) in the ACK just given to xp_snd_on_ack (call
 * it after that call): widens RACK's reordering window (RFC 8985 6.2 step 4), and if
 * that ACK had taken a tail loss probe's repair as a loss (RFC 8985 7.4), the probe was
 * only a duplicate: the congestion window cut is undone.  Optional. */
void xp_snd_dsack(struct xp_snd *s);
/* TCP_NODELAY: on, short segments go out at once; off, Nagle's algorithm. */
void xp_snd_set_nodelay(struct xp_snd *s, bool on);
/* RACK on or off (before data flows; off frees nothing, the map just stops). */
void xp_snd_set_rack(struct xp_snd *s, bool on);
/* RACK's reordering window now (ns; for tests and info). */
uint64_t xp_snd_reo_wnd(const struct xp_snd *s);
uint64_t xp_snd_pipe(const struct xp_snd *s);
/* Whether a full-sized (or final) new segment could go out now. */
bool xp_snd_can_send_new(const struct xp_snd *s);

/* A data segment chosen by xp_snd_next: positions [pos, pos + dlen) of data, then the
 * FIN if fin. */
struct xp_seg {
    uint64_t pos;
    size_t dlen;
    bool fin;
};
/* Picks the next data segment of at most mss payload bytes, points iov at its payload
 * and does the bookkeeping of sending it (nxt, retransmission marks, counters,
 * timers): the caller must then send it (it counts as sent).  true if one was picked. */
bool xp_snd_next(struct xp_snd *s, uint64_t now, uint64_t mss, struct iovec *iov, int iovmax,
                 int *niov, struct xp_seg *seg);
/* The same for a link that segments (TSO): new data may leave as one segment of up to
 * max payload bytes (max >= mss; cut by the window and cwnd to whole multiples of mss,
 * a short tail only at the end of the queued data where Nagle allows a short segment),
 * which the link cuts into segments of mss.  Everything else is as xp_snd_next with
 * mss: retransmissions and tail loss probes are one mss, the RACK sent map gets one
 * entry per mss, Nagle and silly-window avoidance judge by mss. */
bool xp_snd_next_tso(struct xp_snd *s, uint64_t now, uint64_t mss, uint64_t max,
                     struct iovec *iov, int iovmax, int *niov, struct xp_seg *seg);
/* Earliest of rtx_at, tlp_at, rack_at (0 if none): for a protocol's next timeout. */
uint64_t xp_snd_next_timer(const struct xp_snd *s);
/* Stops the timers and forgets due probes (connection closed). */
void xp_snd_stop(struct xp_snd *s);

/* NULL if every send-side invariant holds, else which one broke. */
const char *xp_snd_violation(const struct xp_snd *s, bool open);

#endif
