/* RBS receive side on the transport engine (src/xport/xp_rcv.h): the data step of
 * rbs_input, the SACK option, and the application's read calls.
 *
 * A segment's payload is handled in two steps (docs/rbs.md 3.3), so that a payload
 * that changes while it is read (it sits in a pool other processes can write) is never
 * taken as good:
 *   xp_rcv_stage (rbs_input, right after the header is copied out and parsed, before
 *   anything acts on the segment): the one pass over the payload, copying the bytes
 *   that may turn out new to their place (ring) or to the staging buffer (sink), with
 *   the CRC computed in the same pass.  Records nothing.
 *   rbs_rcv_data (rbs_input, after the sequence check, RST/SYN handling and ACK
 *   processing, only when the CRC matched): xp_rcv_data records the bytes (sink: hands
 *   them to the hook) and decides the ACK; here, the FIN moves the state machine and a
 *   failed hook fails the connection with an RST whose ACK covers only what was
 *   placed. */
#include <errno.h>
#include <string.h>

#include "rbs/rbs_impl.h"

void rbs_rcv_data(struct rbs_conn *c, uint64_t r, size_t len, bool fin, const struct xp_stage *sg,
                  uint64_t now)
{
    int rc = xp_rcv_data(&c->rcv, r, len, fin, sg, now);
    if (rc < 0) { /* never acknowledge bytes that did not reach their place */
        rbs_fail(c, rc, true);
        return;
    }
    if (rc == XP_RCV_FIN) {
        switch (c->state) {
        case RBS_ESTABLISHED: rbs_enter(c, RBS_CLOSE_WAIT, now); break;
        case RBS_FIN_WAIT_1: rbs_enter(c, RBS_CLOSING, now); break;
        case RBS_FIN_WAIT_2: rbs_enter(c, RBS_TIME_WAIT, now); break;
        default: break;
        }
    }
}

int rbs_rcv_sack(const struct rbs_conn *c, struct rbs_sack *out)
{
    struct xp_range r[RBS_MAX_SACK];
    int n = xp_rcv_sack(&c->rcv, r, RBS_MAX_SACK);
    for (int i = 0; i < n; i++) {
        out[i].start = xp_seq_wire(c->irs, r[i].s);
        out[i].end = xp_seq_wire(c->irs, r[i].e);
    }
    return n;
}

/* ---- application side ---- */

size_t rbs_recv_ready(const struct rbs_conn *c)
{
    return xp_rcv_ready(&c->rcv);
}

bool rbs_recv_eof(const struct rbs_conn *c)
{
    return xp_rcv_eof(&c->rcv);
}

size_t rbs_recv_peek(const struct rbs_conn *c, const uint8_t **p)
{
    return xp_rcv_peek(&c->rcv, p);
}

int rbs_recv_consume(struct rbs_conn *c, size_t n)
{
    return xp_rcv_consume(&c->rcv, n, rbs_synced(c));
}

ssize_t rbs_recv(struct rbs_conn *c, void *buf, size_t len)
{
    size_t got = xp_rcv_read(&c->rcv, buf, len, rbs_synced(c));
    if (got || !len)
        return (ssize_t)got;
    if (xp_rcv_eof(&c->rcv))
        return 0;
    if (c->err)
        return c->err;
    return -EAGAIN;
}

int rbs_recv_register(struct rbs_conn *c, void *buf, size_t len)
{
    return xp_rcv_register(&c->rcv, buf, len);
}

int rbs_recv_sink(struct rbs_conn *c, rbs_sink_fn fn, void *arg, uint64_t window)
{
    return xp_rcv_set_sink(&c->rcv, fn, arg, window);
}

uint64_t rbs_recv_placed(const struct rbs_conn *c)
{
    return xp_rcv_placed(&c->rcv);
}
