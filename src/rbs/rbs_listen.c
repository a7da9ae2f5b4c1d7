/* RBS listeners: SYN routing, the backlog, accept (include/jet/rbs.h; docs/rbs.md
 * section 3).
 *
 * A listener owns a well-known channel that only ever sees SYNs.  Each poll of the
 * station (rbs_host.c) hands every SYN queued there to listener_syn: a SYN from
 * (station, CHAN) that belongs to a connection already created goes to that
 * connection's core (a retransmitted SYN gets the SYN-ACK again); another goes to the
 * backlog, deduplicated by the same key, where jet_rbs_accept finds it.  SYNs are
 * copied out of the pool with their CRC checked on the copy, and only the copy is
 * used (the pool is shared with other processes). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jet/crc32c.h"
#include "rbs/rbs_glue.h"
#include "util/clock.h"

/* A frame on a listener's channel.  Returns false when its CRC failed (or it had
 * none): the caller counts it as a CRC drop. */
static bool listener_syn(struct jet_rbs_listener *l, const struct jet_rx *rx, uint64_t now)
{
    struct rbs_host *h = l->h;
    struct rbs_hdr hd;
    uint8_t syn[RBS_HDR_MAX]; /* the SYN, copied out of the pool once and checked there */
    uint32_t len = rx->len;
    if (len > RBS_HDR_MAX) {
        l->dropped++; /* a listener channel only ever sees SYNs: no payload */
        return true;
    }
    if (!(rx->flags & JET_RX_CRC_UNCHECKED) || jet_crc32c_copy(0, syn, rx->payload, len) != rx->crc)
        return false;
    if (rbs_hdr_parse(syn, len, &hd) < 0 || hd.flags != RBS_SYN) {
        l->dropped++;
        return true;
    }
    for (struct jet_rbs_conn *c = h->conns; c; c = c->next) {
        if (c->lis != l || c->peer_st != rx->src_station || c->syn_chan != hd.chan)
            continue;
        enum rbs_state s = rbs_state(c->core);
        if (s == RBS_CLOSED || s == RBS_TIME_WAIT)
            continue; /* an earlier connection of the same channel: this is a new one */
        rbs_input(c->core, syn, len, now);
        rbsg_conn_output(c, now);
        return true;
    }
    struct rbsg_pending *p = NULL;
    for (uint32_t i = 0; i < l->qn; i++)
        if (l->q[i].st == rx->src_station && l->q[i].chan == hd.chan)
            p = &l->q[i]; /* the same request again: keep the newest (its TSval is echoed) */
    while (!p && l->qn && now - l->q[0].at > RBSG_PENDING_MAX_AGE_NS) {
        memmove(l->q, l->q + 1, (l->qn - 1) * sizeof *l->q);
        l->qn--;
    }
    if (!p) {
        if (l->qn == l->o.backlog) {
            l->dropped++;
            return true;
        }
        p = &l->q[l->qn++];
    }
    p->at = now;
    p->st = rx->src_station;
    p->chan = hd.chan;
    p->len = len;
    memcpy(p->syn, syn, len);
    return true;
}

int rbsg_listeners_drive(struct rbs_host *h, uint64_t now)
{
    int n = 0;
    for (struct jet_rbs_listener *l = h->lis; l; l = l->next) {
        struct jet_rx rx;
        /* only what is queued: the station was polled just before */
        while (jet_chan_pending(l->ch) && jet_chan_recv(l->ch, &rx, 0) == 0) {
            if (listener_syn(l, &rx, now))
                jet_chan_release(l->ch, &rx);
            else
                jet_chan_release_crc_bad(l->ch, &rx);
            n++;
        }
    }
    return n;
}

int jet_rbs_listen(struct jet_station *s, uint32_t chan, const struct jet_rbs_opts *o,
                   struct jet_rbs_listener **out)
{
    *out = NULL;
    if (!s || !chan)
        return -EINVAL;
    struct rbs_host *h;
    int hrc = rbsg_host_attach(s, &h);
    if (hrc)
        return hrc;
    struct jet_rbs_listener *l = calloc(1, sizeof *l);
    if (l && o)
        l->o = *o;
    if (l && !l->o.backlog)
        l->o.backlog = RBSG_DEF_BACKLOG;
    if (l)
        l->q = calloc(l->o.backlog, sizeof *l->q);
    int rc = l && l->q ? 0 : -ENOMEM;
    if (!rc)
        rc = jet_chan_open(s, chan, &(struct jet_chan_policy){.defer_crc = true}, &l->ch);
    if (rc) {
        if (l)
            free(l->q);
        free(l);
        return rc;
    }
    l->h = h;
    l->next = h->lis;
    h->lis = l;
    *out = l;
    return 0;
}

void jet_rbs_listener_close(struct jet_rbs_listener *l)
{
    if (!l)
        return;
    struct rbs_host *h = l->h;
    for (struct jet_rbs_conn *c = h->conns; c; c = c->next)
        if (c->lis == l)
            c->lis = NULL;
    for (struct jet_rbs_listener **pp = &h->lis; *pp; pp = &(*pp)->next)
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    jet_chan_close(l->ch);
    free(l->q);
    free(l);
}

int jet_rbs_accept(struct jet_rbs_listener *l, struct jet_rbs_conn **out, int64_t timeout_ns)
{
    struct rbs_host *h = l->h;
    struct ep_wait w;
    *out = NULL;
    ep_wait_init(&w, timeout_ns, l->o.busy_poll);
    for (;;) {
        while (l->qn) {
            struct rbsg_pending p = l->q[0];
            memmove(l->q, l->q + 1, (l->qn - 1) * sizeof *l->q);
            l->qn--;
            struct jet_rbs_conn *c;
            int rc = rbsg_conn_new(h, &l->o, false, 0, &c);
            if (rc)
                return rc;
            c->peer_st = p.st;
            c->syn_chan = p.chan;
            c->lis = l;
            rc = rbs_listen_accept(c->core, p.syn, p.len, jet_now_ns());
            if (rc) { /* cannot happen for a SYN that parsed; skip it */
                rbsg_conn_free(c);
                continue;
            }
            c->dst_chan = rbs_peer_chan(c->core);
            *out = c;
            return 0;
        }
        int rc = ep_wait_more(h->s, &w);
        if (rc)
            return rc;
    }
}
