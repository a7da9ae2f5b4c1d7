/* TCP core invariants, for tests and fuzzing: tcp_invariant_violation() names the first
 * broken one.  Never on the data path.  The engine's own state (queue, scoreboard,
 * recovery, RTO, receive buffer and out-of-order ranges) is checked by xp_snd_violation
 * and xp_rcv_violation. */
#include "tcp/tcp_impl.h"

const char *tcp_invariant_violation(const struct tcp_conn *c)
{
    const char *m;
    const struct xp_snd *s = &c->snd;
    if ((unsigned)c->state > TCP_LAST_ACK || c->state == TCP_LISTEN)
        return "state";
    if (c->state == TCP_CLOSED &&
        (s->rtx_at || c->persist_at || c->tw_at || s->tlp_at || s->rack_at || c->rcv.ack_at))
        return "timer running while CLOSED";
    if (c->state != TCP_TIME_WAIT && c->tw_at)
        return "TIME_WAIT timer outside TIME_WAIT";
    if (c->state == TCP_TIME_WAIT && (s->rtx_at || c->persist_at || !c->tw_at))
        return "TIME_WAIT timers";
    if (s->rtx_at && c->persist_at)
        return "retransmission and persist timers both running";
    if (s->mss < TCP_MSS_MIN || s->mss > c->cfg.mss)
        return "send mss outside [TCP_MSS_MIN, cfg.mss]";
    if (c->rcv_ws > JET_TCP_WSCALE_MAX || c->snd_ws > JET_TCP_WSCALE_MAX)
        return "window scale over 14";
    if (c->rcv.ws != c->rcv_ws || c->rcv.mss != c->cfg.mss)
        return "receive window scale or mss";
    if (c->state >= TCP_ESTABLISHED && c->state != TCP_TIME_WAIT && c->opened &&
        (s->una < 1 || c->rcv.nxt < 1))
        return "synchronized without SYNs exchanged";
    if ((c->state == TCP_FIN_WAIT_2 || c->state == TCP_TIME_WAIT) &&
        (!s->fin_queued || s->una <= xp_snd_fin_pos(s)))
        return "FIN_WAIT_2 / TIME_WAIT without our FIN acknowledged";
    if ((c->state == TCP_CLOSE_WAIT || c->state == TCP_LAST_ACK || c->state == TCP_CLOSING ||
         c->state == TCP_TIME_WAIT) && !xp_rcv_eof(&c->rcv))
        return "peer's FIN state without its FIN";
    if ((m = xp_snd_violation(s, c->state != TCP_CLOSED && c->state != TCP_TIME_WAIT)))
        return m;
    if (s->max_refs != c->cfg.max_refs)
        return "chunk or cookie count";
    if ((m = xp_rcv_violation(&c->rcv, c->opened)))
        return m;
    return NULL;
}
