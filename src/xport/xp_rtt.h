/* Transport engine: RTT estimation and the retransmission timeout (RFC 6298).
 *
 * All times in nanoseconds.  First sample R: SRTT = R, RTTVAR = R/2.  Then
 * RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R|, SRTT = 7/8 SRTT + 1/8 R.  RTO = SRTT +
 * max(G, 4 RTTVAR), G = 1 us (the clock granularity of wire timestamps), clamped to
 * [min, max].  Before any sample the RTO is the initial one.  On expiry the owner
 * doubles it (xp_rtt_backoff, up to max); the next sample recomputes it, which removes
 * the back-off (RFC 6298 5.7 leaves that to the implementation).
 *
 * Where samples come from is the owner's choice:
 *   - echoed timestamps (RBS, TCP with RFC 7323): a sample per ACK that advances,
 *     valid for retransmitted data too, so Karn's rule is not needed;
 *   - one timed segment at a time with Karn's rule (TCP without timestamps):
 *     xp_rtt_time_start when a new segment goes out and none is timed, xp_rtt_time_ack
 *     on each advancing ACK (gives the sample once the timed byte is acknowledged),
 *     xp_rtt_time_cancel on any retransmission (its ACK would be ambiguous). */
#ifndef JET_XP_RTT_H
#define JET_XP_RTT_H

#include <stdbool.h>
#include <stdint.h>

enum { XP_RTT_GRANULARITY_NS = 1000 };

struct xp_rtt {
    uint64_t srtt, rttvar, rto;
    uint64_t min, max;  /* RTO clamp */
    bool have;          /* a sample was taken */
    bool timing;        /* Karn: a segment is being timed */
    uint64_t timed_end; /* its end position: an ACK at or beyond it samples */
    uint64_t timed_at;  /* when it was sent */
};

/* rto_init before any sample, clamp [rto_min, rto_max] (rto_min <= rto_max). */
void xp_rtt_init(struct xp_rtt *r, uint64_t rto_init, uint64_t rto_min, uint64_t rto_max);
/* Takes one RTT sample (ns) and recomputes the RTO. */
void xp_rtt_sample(struct xp_rtt *r, uint64_t sample);
/* RTO from SRTT and RTTVAR, clamped. */
void xp_rtt_set_rto(struct xp_rtt *r);
/* Expiry: RTO doubles, up to max. */
void xp_rtt_backoff(struct xp_rtt *r);

/* Karn's rule helpers (see above). */
void xp_rtt_time_start(struct xp_rtt *r, uint64_t end, uint64_t now);
bool xp_rtt_time_ack(struct xp_rtt *r, uint64_t ack, uint64_t now);
void xp_rtt_time_cancel(struct xp_rtt *r);

#endif
