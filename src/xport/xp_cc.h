/* Transport engine: congestion control as a pluggable module.
 *
 * The sender (xp_snd.c) never names an algorithm: it calls these hooks and reads
 * cc->cwnd.  An algorithm is one file filling a struct xp_cc_ops (xp_cc_newreno.c) plus
 * an entry in xp_cc_table[] (xp_cc.c); its private state goes in cc->u.  The engine
 * decides when a hook runs (the loss detection and recovery rules are the engine's,
 * RFC 6675), the hook only decides the window:
 *   init          at creation and once the effective MSS is known (handshake)
 *   on_ack        snd.una advanced outside fast recovery (also during RTO recovery):
 *                 acked bytes, the RTT sample if the ACK gave one (UINT64_MAX if not)
 *   on_loss       fast recovery starts; pipe = bytes in flight per RFC 6675
 *   on_rto        the retransmission timer expired with data outstanding
 *   exit_recovery the ACK that ends a recovery episode (after_rto: the episode began
 *                 with an RTO); on_ack does not run for that ACK
 * After on_ack the engine caps cwnd at max(2 * the largest peer window, the initial
 * window), so an application- or window-limited sender does not build an unbounded
 * cwnd; every hook keeps cwnd >= 1 MSS.
 *
 * The default algorithm is called directly (xp_cc_on_ack below compares the table
 * pointer first), so the per-ACK path has no indirect call unless another one is in
 * use. */
#ifndef JET_XP_CC_H
#define JET_XP_CC_H

#include <stdbool.h>
#include <stdint.h>

struct xp_cc;

struct xp_cc_ops {
    const char *name;
    void (*init)(struct xp_cc *cc, uint32_t mss, uint32_t init_segs);
    void (*on_ack)(struct xp_cc *cc, uint64_t acked, uint64_t rtt_ns, uint64_t now);
    void (*on_loss)(struct xp_cc *cc, uint64_t pipe, uint64_t now);
    void (*on_rto)(struct xp_cc *cc, uint64_t pipe, uint64_t now);
    void (*exit_recovery)(struct xp_cc *cc, bool after_rto, uint64_t now);
};

struct xp_cc {
    const struct xp_cc_ops *ops;
    uint64_t cwnd, ssthresh; /* bytes */
    uint32_t mss;            /* effective send MSS */
    union {
        struct {
            uint64_t acc; /* bytes acked toward the next +1 MSS in congestion avoidance */
        } reno;
        struct xp_cubic { /* xp_cc_cubic.c; windows in bytes, times in ns */
            uint64_t w_max;      /* W_max: window before the last reduction */
            uint64_t k_ns;       /* K of this epoch */
            uint64_t t_epoch;    /* start of congestion avoidance, UINT64_MAX: none */
            uint64_t w_est;      /* Reno-friendly estimate */
            uint64_t cwnd_prior; /* cwnd before the last reduction (alpha -> 1) */
            uint64_t min_rtt;    /* smallest RTT sample, UINT64_MAX: none */
            uint64_t rem_cubic, rem_est; /* fractions of a byte carried between ACKs */
        } cubic;
        uint64_t raw[8]; /* room for another algorithm's state */
    } u;
};

#define XP_SSTHRESH_INIT (UINT64_MAX / 4)

extern const struct xp_cc_ops xp_cc_newreno;
extern const struct xp_cc_ops xp_cc_cubic;
/* Every algorithm, the default (NewReno) first; NULL-terminated. */
extern const struct xp_cc_ops *const xp_cc_table[];

/* The algorithm called name, NULL if none; NULL or "" gives the default. */
const struct xp_cc_ops *xp_cc_find(const char *name);

/* CUBIC's curve (RFC 9438), exposed for tests; C in segments / s^3 (XP_CUBIC_C).
 * K in ns for a window W_max reduced to cwnd_epoch (0 if not below it), and
 * W_cubic(t) = C * mss * (t - K)^3 + W_max in bytes (t in ns since the epoch began). */
#define XP_CUBIC_C 0.4
#define XP_CUBIC_WND_MAX (1ull << 58) /* CUBIC's windows saturate here (bytes) */
uint64_t xp_cubic_k_ns(uint64_t w_max, uint64_t cwnd_epoch, uint32_t mss, double c);
uint64_t xp_cubic_window(uint64_t w_max, uint64_t k_ns, uint64_t t_ns, uint32_t mss, double c);

/* NewReno's hooks, called directly for the default (see above). */
void xp_newreno_on_ack(struct xp_cc *cc, uint64_t acked, uint64_t rtt_ns, uint64_t now);

static inline void xp_cc_init(struct xp_cc *cc, const struct xp_cc_ops *ops, uint32_t mss,
                              uint32_t init_segs)
{
    cc->ops = ops ? ops : &xp_cc_newreno;
    cc->ops->init(cc, mss, init_segs);
}

static inline void xp_cc_on_ack(struct xp_cc *cc, uint64_t acked, uint64_t rtt_ns, uint64_t now)
{
    if (cc->ops == &xp_cc_newreno)
        xp_newreno_on_ack(cc, acked, rtt_ns, now);
    else
        cc->ops->on_ack(cc, acked, rtt_ns, now);
}

static inline void xp_cc_on_loss(struct xp_cc *cc, uint64_t pipe, uint64_t now)
{
    cc->ops->on_loss(cc, pipe, now);
}

static inline void xp_cc_on_rto(struct xp_cc *cc, uint64_t pipe, uint64_t now)
{
    cc->ops->on_rto(cc, pipe, now);
}

static inline void xp_cc_exit_recovery(struct xp_cc *cc, bool after_rto, uint64_t now)
{
    cc->ops->exit_recovery(cc, after_rto, now);
}

#endif
