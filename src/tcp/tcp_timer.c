/* TCP timers: every timer of a connection is decided here (the engine keeps the
 * retransmission and tail-loss-probe deadlines in snd.rtx_at / snd.tlp_at and the
 * delayed ACK in rcv.ack_at; it arms them as data moves, and this file runs them).
 * Each is an absolute time in ns, 0 = off; tcp_next_timeout is their minimum.
 *
 *   TIME_WAIT    tw_at = entering TIME_WAIT + time_wait_ns (restarted by a
 *                retransmitted FIN); expiry: CLOSED.
 *   SYN          rtx_at in SYN_SENT / SYN_RCVD: SYN or SYN-ACK again with the RTO
 *                doubled, at most syn_retries times, then -ETIMEDOUT.
 *   RTO          rtx_at (RFC 6298, engine): xp_snd_rto (back-off, RTO recovery), at most
 *                max_retries consecutive expirations, then -ETIMEDOUT (or the soft ICMP
 *                error) with an RST.
 *   TLP          tlp_at (engine, RFC 8985): a tail loss probe.
 *   RACK         rack_at (engine, RFC 8985): the reordering window of a hole ran out.
 *   user timeout stall_since + user_timeout_ns (RFC 5482): data unacknowledged, or
 *                waiting on a zero window, that long without progress: -ETIMEDOUT.
 *   persist      persist_at: data waits, nothing in flight, the peer's window is zero:
 *                a probe (seq snd.una - 1) at RTO << n (exponential back-off, at most
 *                rto_max); ends when the window opens; max_retries probes in a row
 *                without any answer: -ETIMEDOUT.
 *   delayed ACK  rcv.ack_at (engine): the ACK goes out.
 *   keepalive    last_rx + keepalive_ns + k * keepalive_intvl_ns while idle (nothing in
 *                flight or queued) in ESTABLISHED, FIN_WAIT_2 and CLOSE_WAIT: probe k + 1
 *                (seq snd.una - 1); after keepalive_probes unanswered: -ETIMEDOUT + RST.
 * After each input and output, tcp_timer_after_input / _output rearm persist and
 * track the user timeout's progress. */
#include <errno.h>

#include "tcp/tcp_impl.h"

static uint64_t ka_due(const struct tcp_conn *c)
{
    const struct xp_snd *s = &c->snd;
    if (!c->cfg.keepalive_ns ||
        (c->state != TCP_ESTABLISHED && c->state != TCP_FIN_WAIT_2 &&
         c->state != TCP_CLOSE_WAIT) ||
        s->una != s->nxt || s->nxt < xp_snd_data_end(s))
        return 0;
    return c->last_rx + c->cfg.keepalive_ns + (uint64_t)c->ka_sent * c->cfg.keepalive_intvl_ns;
}

static uint64_t user_due(const struct tcp_conn *c)
{
    if (!c->cfg.user_timeout_ns || !c->stall_since)
        return 0;
    return c->stall_since + c->cfg.user_timeout_ns;
}

static void tmin(uint64_t *m, uint64_t t)
{
    if (t && t < *m)
        *m = t;
}

uint64_t tcp_next_timeout(const struct tcp_conn *c)
{
    uint64_t m = UINT64_MAX;
    if (c->state == TCP_CLOSED)
        return m;
    tmin(&m, c->tw_at);
    tmin(&m, c->snd.rtx_at);
    tmin(&m, c->snd.tlp_at);
    tmin(&m, c->snd.rack_at);
    tmin(&m, c->persist_at);
    tmin(&m, c->rcv.ack_at);
    tmin(&m, ka_due(c));
    tmin(&m, user_due(c));
    return m;
}

static int give_up(struct tcp_conn *c)
{
    tcp_fail(c, c->soft_err ? c->soft_err : -ETIMEDOUT, true);
    return c->err;
}

static void on_rto(struct tcp_conn *c, uint64_t now)
{
    struct xp_snd *s = &c->snd;
    bool syn = c->state == TCP_SYN_SENT || c->state == TCP_SYN_RCVD;
    c->st.timeouts++;
    s->backoff++;
    uint32_t limit = syn ? c->cfg.syn_retries : c->cfg.max_retries;
    if (limit != UINT32_MAX && s->backoff > limit) {
        give_up(c);
        return;
    }
    if (syn || s->una == 0)
        c->syn_due = true; /* SYN or SYN-ACK lost */
    c->rto_tsval = tcp_ts_now(c, now); /* older echoes are no RTT samples now */
    c->rto_seen = true;
    xp_snd_rto(s, now);
}

int tcp_on_timeout(struct tcp_conn *c, uint64_t now)
{
    c->now_seen = now;
    if (c->state == TCP_CLOSED)
        return c->err;
    if (c->tw_at && now >= c->tw_at) {
        tcp_enter(c, TCP_CLOSED, now);
        return 0;
    }
    uint64_t u = user_due(c);
    if (u && now >= u)
        return give_up(c);
    if (c->snd.rtx_at && now >= c->snd.rtx_at) {
        on_rto(c, now);
        if (c->state == TCP_CLOSED)
            return c->err;
    }
    if (c->snd.tlp_at && now >= c->snd.tlp_at) {
        /* xp_snd_next cannot yet build a probe once our FIN is out (it computes the
         * new data available as data_end - nxt, which underflows): leave that tail to
         * the RTO rather than lose the probe and its timer. */
        if (tcp_synced(c) && c->snd.nxt <= xp_snd_data_end(&c->snd))
            xp_snd_tlp(&c->snd, now);
        else
            c->snd.tlp_at = 0;
    }
    if (c->snd.rack_at && now >= c->snd.rack_at)
        xp_snd_rack_timeout(&c->snd, now);
    if (c->persist_at && now >= c->persist_at) {
        /* a peer that answers keeps its zero window as long as it likes; one that
         * does not answer max_retries probes is gone (Linux: tcp_retries2) */
        if (c->probes_out >= c->cfg.max_retries)
            return give_up(c);
        c->probes_out++;
        c->probe_due = true;
        c->st.zero_wnd_probes++;
        c->persist_n++;
        c->persist_at = 0;
        tcp_timer_arm_persist(c, now);
    }
    if (c->rcv.ack_at && now >= c->rcv.ack_at) {
        c->rcv.ack_now = true;
        c->rcv.ack_at = 0;
        c->st.delayed_acks++;
    }
    uint64_t ka = ka_due(c);
    if (ka && now >= ka) {
        if (c->ka_sent >= c->cfg.keepalive_probes)
            return give_up(c);
        c->probe_due = true;
        c->ka_sent++;
        c->st.keepalive_probes++;
    }
    return 0;
}

void tcp_timer_arm_persist(struct tcp_conn *c, uint64_t now)
{
    const struct xp_snd *s = &c->snd;
    bool sending = c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT ||
                   c->state == TCP_FIN_WAIT_1 || c->state == TCP_CLOSING ||
                   c->state == TCP_LAST_ACK;
    bool zero = sending && s->una == s->nxt && s->nxt < xp_snd_data_end(s) &&
                s->wnd_edge <= s->nxt;
    if (!zero) {
        c->persist_at = 0;
        c->persist_n = 0;
    } else if (!c->persist_at) {
        uint32_t n = c->persist_n < TCP_PERSIST_MAX_SHIFT ? c->persist_n : TCP_PERSIST_MAX_SHIFT;
        uint64_t t = s->rtt.rto << n;
        c->persist_at = now + (t < c->cfg.rto_max_ns ? t : c->cfg.rto_max_ns);
    }
}

/* User timeout bookkeeping: progress is snd.una moving. */
static void track_stall(struct tcp_conn *c, uint64_t now)
{
    const struct xp_snd *s = &c->snd;
    bool waiting = c->state != TCP_CLOSED && c->state != TCP_TIME_WAIT &&
                   (s->una < s->nxt || c->persist_at);
    if (!waiting)
        c->stall_since = 0;
    else if (!c->stall_since || s->una != c->stall_una) {
        c->stall_since = now;
        c->stall_una = s->una;
    }
}

void tcp_timer_after_send(struct tcp_conn *c)
{
    if (c->state != TCP_CLOSED)
        tcp_timer_after_output(c, c->now_seen);
}

void tcp_timer_after_input(struct tcp_conn *c, uint64_t now)
{
    tcp_timer_arm_persist(c, now);
    track_stall(c, now);
}

void tcp_timer_after_output(struct tcp_conn *c, uint64_t now)
{
    tcp_timer_arm_persist(c, now);
    track_stall(c, now);
}
