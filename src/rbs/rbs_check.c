/* RBS core invariants, for tests and fuzzing: rbs_invariant_violation() names the
 * first broken one; rbs_check_invariants() aborts on it.  Never on the data path.
 * The engine's own state (queue, scoreboard, recovery, RTO, receive buffer and
 * out-of-order ranges) is checked by xp_snd_violation and xp_rcv_violation. */
#include <stdlib.h>

#include "rbs/rbs_impl.h"

const char *rbs_invariant_violation(const struct rbs_conn *c)
{
    const char *m;
    const struct xp_snd *s = &c->snd;
    if ((unsigned)c->state > RBS_LAST_ACK)
        return "state";
    if (c->state == RBS_CLOSED &&
        (s->rtx_at || c->persist_at || c->tw_at || s->tlp_at || s->rack_at))
        return "timer running while CLOSED";
    if (s->rtx_at && c->persist_at)
        return "retransmission and persist timers both running";
    if (s->mss < RBS_MSS_MIN || s->mss > c->cfg.mss)
        return "cwnd or mss";
    if ((m = xp_snd_violation(s, c->state != RBS_CLOSED)))
        return m;
    if (s->max_refs != c->cfg.max_refs)
        return "chunk or cookie count";
    if ((m = xp_rcv_violation(&c->rcv, c->opened)))
        return m;
    if (c->rcv.ws != c->rcv_ws || c->rcv.mss != c->cfg.mss)
        return "receive window scale or mss";
    return NULL;
}

void rbs_check_invariants(const struct rbs_conn *c)
{
    if (rbs_invariant_violation(c))
        abort();
}
