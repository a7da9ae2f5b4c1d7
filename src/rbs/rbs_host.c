/* RBS as a protocol of the station (jet/stack.h): its per-station state and the
 * drive of every listener and connection on the station.
 *
 * The state (struct rbs_host: listeners, connections, the channel id range) is
 * attached to the station on first use (jet_rbs_listen / jet_rbs_connect) and found
 * from it with jet_station_proto: no process-wide list, no lock, so two stations are
 * two independent stacks, one per thread if need be.  It stays attached until
 * jet_rbs_station_fini or jet_station_close (the close hook frees it).
 *
 * One poll of the station (jet_station_poll, run by every blocking call of any
 * protocol on it, by jet_rbs_poll, or by the application's own loop) demultiplexes a
 * burst, then runs host_poll here:
 *   1. listeners: the SYNs queued on each listener channel (rbs_listen.c);
 *   2. connections, each in turn: the frames queued on its channel into the core,
 *      due timers, output while the link lends buffers (rbs_glue.c).  A closing
 *      connection (handed back by jet_rbs_close) discards what it receives and is
 *      freed once CLOSED, or aborted once its linger deadline has passed.
 * The hook takes only what the station has queued (it never polls the station
 * again), so one poll is one pass, whatever the number of connections. */
#include <errno.h>
#include <stdlib.h>

#include "chan/chan_impl.h"
#include "jet/stack.h"
#include "rbs/rbs_glue.h"
#include "util/clock.h"

static void host_poll(struct jet_station *s, void *state, uint64_t now)
{
    (void)s;
    struct rbs_host *h = state;
    int n = rbsg_listeners_drive(h, now);
    struct jet_rbs_conn *next;
    for (struct jet_rbs_conn *c = h->conns; c; c = next) {
        next = c->next;
        n += rbsg_conn_drive(c, now);
        if (ep_lingering(&c->linger)) {
            if (rbs_state(c->core) == RBS_CLOSED)
                rbsg_conn_free(c);
            else if (ep_linger_over(&c->linger, now)) {
                rbsg_conn_abort(c, now);
                rbsg_conn_free(c);
            }
        }
    }
    h->polled_in = n;
}

static uint64_t host_next_timeout(struct jet_station *s, void *state)
{
    (void)s;
    const struct rbs_host *h = state;
    uint64_t t = UINT64_MAX;
    for (const struct jet_rbs_conn *c = h->conns; c; c = c->next) {
        uint64_t x = rbs_next_timeout(c->core);
        if (x < t)
            t = x;
        t = ep_linger_timer(&c->linger, t);
    }
    return t;
}

/* Frees everything: connections still open are aborted (an RST goes out), listeners
 * closed. */
static void host_free(struct rbs_host *h)
{
    while (h->conns) {
        struct jet_rbs_conn *c = h->conns;
        rbsg_conn_abort(c, jet_now_ns());
        rbsg_conn_free(c);
    }
    while (h->lis)
        jet_rbs_listener_close(h->lis);
    free(h);
}

/* jet_station_close: the station goes, and RBS with it. */
static void host_close(struct jet_station *s, void *state)
{
    (void)s;
    host_free(state);
}

static const struct jet_proto_ops rbs_ops = {
    .name = "rbs",
    .poll = host_poll,
    .next_timeout = host_next_timeout,
    .close = host_close,
};

struct rbs_host *rbsg_host(struct jet_station *s)
{
    return jet_station_proto(s, &rbs_ops);
}

int rbsg_host_attach(struct jet_station *s, struct rbs_host **out)
{
    struct rbs_host *h = jet_station_proto(s, &rbs_ops);
    if (h) {
        *out = h;
        return 0;
    }
    *out = NULL;
    h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    h->s = s;
    h->mtu = jet_station_link(s)->caps.mtu;
    ep_ids_init(&h->ids, RBSG_CHAN_FIRST, RBSG_CHAN_LAST);
    int rc = jet_station_attach(s, &rbs_ops, h);
    if (rc) { /* -ENOSPC: the station carries JET_STATION_PROTOS protocols already */
        free(h);
        return rc;
    }
    statpub_conn_source(s, &rbs_ops, rbsg_pub_conns); /* jet stat's connection records */
    *out = h;
    return 0;
}

/* ---- driving ---- */

int jet_rbs_poll(struct jet_station *s)
{
    struct rbs_host *h = rbsg_host(s);
    if (h)
        h->polled_in = 0;
    int n = jet_station_poll(s);
    return n < 0 || !h ? n : h->polled_in;
}

int jet_rbs_fd(struct jet_station *s)
{
    return jet_station_fd(s);
}

int jet_rbs_arm(struct jet_station *s)
{
    return jet_station_arm(s);
}

int64_t jet_rbs_timeout(struct jet_station *s)
{
    return jet_station_timeout(s);
}

static bool none_lingering(void *arg)
{
    const struct rbs_host *h = arg;
    for (const struct jet_rbs_conn *c = h->conns; c; c = c->next)
        if (ep_lingering(&c->linger))
            return false;
    return true;
}

void jet_rbs_station_fini(struct jet_station *s, int64_t linger_ns)
{
    struct rbs_host *h = rbsg_host(s);
    if (!h)
        return;
    ep_drive_until(s, none_lingering, h, linger_ns);
    jet_station_detach(s, &rbs_ops);
    host_free(h);
}
