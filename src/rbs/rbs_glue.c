/* RBS glue: binds the sans-I/O core (rbs_core.h) to channels (jet/chan.h) and gives
 * applications the API of include/jet/rbs.h.  Spec: docs/rbs.md sections 3 and 13.
 *
 * State.  Each station that uses RBS has a `host` (found from the station pointer in
 * a small process-wide list, the one lock of this file: the station struct belongs to
 * the channel layer): its listeners, its connections (the application's and those
 * closing in the background) and the next channel id to try.
 *
 * One drive of a station (host_poll, run by every call and by jet_rbs_poll):
 *   1. listeners: take the SYNs of each listener channel.  A SYN from (station, CHAN)
 *      that belongs to a connection already created goes to that connection's core
 *      (a retransmitted SYN gets the SYN-ACK again); another goes to the backlog,
 *      where jet_rbs_accept finds it (deduplicated by the same key).
 *   2. connections, each in turn: every frame of its channel -> rbs_input_crc (the
 *      core copies the payload straight into the receive ring, one copy, pool -> ring,
 *      with the frame's CRC checked in that same pass; or, in sink mode, into a small
 *      private staging buffer the same way, and once the CRC matched calls
 *      sink_write, which pwrite()s it from there to its offset in the application's
 *      file), frame released; then rbs_on_timeout if due; then output until nothing
 *      is due.  Closing connections discard what they receive and are freed once
 *      CLOSED.
 * Integrity.  The pool is shared with other processes, so a frame may change after any
 * check and before its bytes are used.  RBS channels therefore ask the station not to
 * check the payload CRC (policy defer_crc): the core checks it while it copies, over
 * exactly the bytes it copied, and a segment that fails is dropped before anything
 * acts on it (counted in the channel's dropped_crc and the core's crc_bad) and never
 * acknowledged, so the peer resends it.  A frame without a CRC is dropped the same way:
 * RBS has no checksum of its own.  SYNs are copied out of the pool with their CRC
 * checked on the copy, and only the copy is used.
 * Output only runs while the link lends a transmit buffer: jet_chan_tx_alloc first,
 * then rbs_output_iov writes the header into the lent buffer and points at the payload
 * in the send ring or the application's referenced buffer; one copy puts it behind the
 * header with the frame CRC computed during it (jet_crc32c_copy), and
 * jet_chan_tx_commit_crc seals the frame without reading the payload again.  A segment
 * the core produced is accounted as sent, so never produce one the link cannot take;
 * a buffer lent for nothing goes back with jet_chan_tx_abort. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "jet/crc32c.h"
#include "jet/rbs.h"
#include "rbs/rbs_core.h"
#include "util/clock.h"
#include "util/rng.h"

enum {
    DEF_BUF = 4 << 20,
    DEF_BACKLOG = 16,
    CHAN_FIRST = 0x40000000u, /* connection channels: [CHAN_FIRST, CHAN_LAST] */
    CHAN_LAST = 0xFFFFFF00u,
    CHAN_TRIES = 256,
};
#define PENDING_MAX_AGE_NS 5000000000ull  /* a SYN not accepted by then is forgotten */
#define LINGER_NS          10000000000ull /* a closed connection is freed by then at the latest */
#define SLEEP_MAX_NS       50000000ull    /* blocking calls look around at least this often */
#define RTO_MAX_NS                                                                                 \
    250000000ull /* LAN round trips are micro- to milliseconds: a peer                             \
                    silent through 12 backed-off RTOs (~3 s) is gone */

struct pending {
    uint64_t at;
    uint16_t st;
    uint32_t chan; /* the CHAN option: the peer's connection channel */
    uint32_t len;
    uint8_t syn[RBS_HDR_MAX];
};

struct host;

struct jet_rbs_listener {
    struct host *h;
    struct jet_chan *ch;
    struct jet_rbs_opts o;
    struct pending *q; /* backlog, oldest first */
    uint32_t qn;
    uint64_t dropped;
    struct jet_rbs_listener *next;
};

struct jet_rbs_conn {
    struct host *h;
    struct rbs_conn *core;
    struct jet_chan *ch;
    uint16_t peer_st;
    uint32_t dst_chan;            /* the listener's channel, until the SYN-ACK names the peer's */
    struct jet_rbs_listener *lis; /* the listener that made it (SYN routing), or NULL */
    uint32_t syn_chan;            /* CHAN of the peer's SYN (routing key) */
    bool busy_poll;
    bool discard;     /* being closed: received bytes are thrown away */
    bool closing;     /* handed back by jet_rbs_close: the library frees it */
    bool established; /* has been ESTABLISHED (for the error's wording) */
    bool unreach;     /* the peer station was not attached at the last send */
    uint64_t linger_until;
    uint32_t rcvbuf;    /* receive ring bytes it was created with (the default sink window) */
    bool sink;          /* sink mode: received bytes go to sink_fd with pwrite */
    int sink_fd;        /* the application's file; -1 once it is closed (bytes discarded) */
    uint64_t sink_off;  /* file offset of the first byte */
    uint64_t sink_told; /* placed bytes reported by jet_rbs_recv_ready */
    uint64_t sink_bytes, sink_writes; /* bytes pwrite wrote; segments placed */
    int err;                          /* glue-level error, overrides the core's */
    uint64_t foreign, malformed, tx_refused;
    char why[320];
    struct jet_rbs_conn *next;
};

struct host {
    struct jet_station *s;
    uint32_t mtu;
    uint32_t next_chan;
    struct jet_rbs_listener *lis;
    struct jet_rbs_conn *conns;
    struct host *next;
};

static pthread_mutex_t hosts_mu = PTHREAD_MUTEX_INITIALIZER;
static struct host *hosts;

static uint32_t random32(void)
{
    uint32_t v;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != sizeof v)
        v = (uint32_t)jet_mix64(jet_now_ns() ^ (uint64_t)(uintptr_t)&v);
    return v;
}

static struct host *host_find(struct jet_station *s, bool create)
{
    pthread_mutex_lock(&hosts_mu);
    struct host *h = hosts;
    while (h && h->s != s)
        h = h->next;
    if (!h && create && (h = calloc(1, sizeof *h))) {
        h->s = s;
        h->mtu = jet_station_link(s)->caps.mtu;
        h->next_chan = CHAN_FIRST + random32() % (CHAN_LAST - CHAN_FIRST);
        h->next = hosts;
        hosts = h;
    }
    pthread_mutex_unlock(&hosts_mu);
    return h;
}

/* Frees h once nothing of it is left. */
static void host_maybe_free(struct host *h)
{
    if (h->lis || h->conns)
        return;
    pthread_mutex_lock(&hosts_mu);
    for (struct host **pp = &hosts; *pp; pp = &(*pp)->next)
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    pthread_mutex_unlock(&hosts_mu);
    free(h);
}

static int conn_err(const struct jet_rbs_conn *c)
{
    return c->err ? c->err : rbs_error(c->core);
}

/* Words for the connection's error, written once when it is first seen. */
static void explain(struct jet_rbs_conn *c)
{
    int e = conn_err(c);
    if (!e || c->why[0])
        return;
    const char *lan = jet_station_link(c->h->s)->name;
    switch (e) {
    case -ECONNRESET:
        snprintf(c->why, sizeof c->why, "connection reset by station %u of %s", c->peer_st, lan);
        break;
    case -ECONNREFUSED:
        snprintf(c->why, sizeof c->why, "connection refused by station %u channel %u of %s",
                 c->peer_st, c->dst_chan, lan);
        break;
    case -ETIMEDOUT:
        if (c->established)
            snprintf(c->why, sizeof c->why,
                     "station %u of %s stopped answering (retransmission or keepalive timeout)",
                     c->peer_st, lan);
        else if (c->unreach)
            snprintf(c->why, sizeof c->why, "no station %u is attached to %s", c->peer_st, lan);
        else
            snprintf(c->why, sizeof c->why,
                     "no answer from station %u channel %u of %s (nobody listening there?)",
                     c->peer_st, c->dst_chan, lan);
        break;
    case -EHOSTUNREACH:
        snprintf(c->why, sizeof c->why, "station %u left %s (its process is gone)", c->peer_st,
                 lan);
        break;
    case -ECONNABORTED:
        snprintf(c->why, sizeof c->why, "connection aborted");
        break;
    default:
        snprintf(c->why, sizeof c->why, "%s", strerror(-e));
    }
}

/* ---- output ---- */

/* Gives a lent transmit buffer back unused. */
static void give_back(struct jet_chan *ch, struct jet_txbuf *tb)
{
    jet_chan_tx_abort(ch, tb);
}

static int conn_input(struct jet_rbs_conn *c, uint64_t now);

/* Sends every segment that is due, while the link takes frames. */
static void conn_output(struct jet_rbs_conn *c, uint64_t now)
{
    for (;;) {
        struct jet_txbuf tb;
        if (jet_chan_tx_alloc(c->ch, &tb))
            return; /* link busy: the next drive tries again */
        struct iovec iov[RBS_IOV_MAX];
        int niov = 0;
        int n = rbs_output_iov(c->core, now, tb.payload, RBS_HDR_MAX, tb.cap - RBS_HDR_MAX, iov,
                               RBS_IOV_MAX, &niov);
        if (n <= 0) {
            give_back(c->ch, &tb);
            return;
        }
        size_t plen = 0;
        for (int i = 0; i < niov; i++)
            plen += iov[i].iov_len;
        /* The one copy of the data, with the frame CRC computed during it. */
        uint8_t *p = tb.payload + ((size_t)n - plen);
        uint32_t crc = jet_crc32c(0, tb.payload, (size_t)n - plen); /* the RBS header */
        for (int i = 0; i < niov; i++) {
            crc = jet_crc32c_copy(crc, p, iov[i].iov_base, iov[i].iov_len);
            p += iov[i].iov_len;
        }
        uint32_t dst = rbs_peer_chan(c->core);
        if (!dst || rbs_state(c->core) == RBS_SYN_SENT)
            dst = c->dst_chan;
        int rc = jet_chan_tx_commit_crc(c->ch, &tb, c->peer_st, dst, (uint32_t)n, crc);
        if (rc == -EHOSTUNREACH) {
            c->unreach = true;
            /* Once synchronized, a peer station that left is gone for good (a
             * killed process): fail now rather than after the timeouts. */
            if (c->established && !c->err && !rbs_error(c->core)) {
                /* Its last words may be on their way: a reset (and why)
                 * says more than "gone", so take what has arrived first. */
                jet_station_poll(c->h->s);
                conn_input(c, now);
            }
            if (c->established && !c->err && !rbs_error(c->core)) {
                c->err = -EHOSTUNREACH;
                rbs_abort(c->core, now);
                explain(c);
            }
        } else if (rc) {
            c->tx_refused++;
        } else {
            c->unreach = false;
        }
    }
}

/* ---- input and timers ---- */

/* Every frame queued on the connection's channel into the core, which checks the CRC
 * as it places the payload (see "Integrity" above). */
static int conn_input(struct jet_rbs_conn *c, uint64_t now)
{
    int n = 0;
    struct jet_rx rx;
    while (jet_chan_recv(c->ch, &rx, 0) == 0) {
        int rc = -EIO;
        if (rx.src_station != c->peer_st) {
            c->foreign++;
            rc = 0;
        } else if (rx.flags & JET_RX_CRC_UNCHECKED) {
            rc = rbs_input_crc(c->core, rx.payload, rx.len, rx.crc, now);
            if (rc < 0 && rc != -EIO)
                c->malformed++;
            n++;
        }
        if (rc == -EIO)
            jet_chan_release_crc_bad(c->ch, &rx);
        else
            jet_chan_release(c->ch, &rx);
    }
    return n;
}

static int conn_drive(struct jet_rbs_conn *c, uint64_t now)
{
    int n = conn_input(c, now);
    if (c->discard) { /* nobody reads any more */
        size_t r = rbs_recv_ready(c->core);
        if (r)
            rbs_recv_consume(c->core, r);
    }
    if (now >= rbs_next_timeout(c->core))
        rbs_on_timeout(c->core, now);
    conn_output(c, now);
    if (rbs_state(c->core) >= RBS_ESTABLISHED)
        c->established = true;
    explain(c);
    return n;
}

static void conn_free(struct jet_rbs_conn *c)
{
    struct host *h = c->h;
    for (struct jet_rbs_conn **pp = &h->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    jet_chan_close(c->ch);
    rbs_destroy(c->core);
    free(c);
}

/* ---- listeners ---- */

/* A frame on a listener's channel.  Returns false when its CRC failed (or it had
 * none): the caller counts it as a CRC drop. */
static bool listener_syn(struct jet_rbs_listener *l, const struct jet_rx *rx, uint64_t now)
{
    struct host *h = l->h;
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
        conn_output(c, now);
        return true;
    }
    struct pending *p = NULL;
    for (uint32_t i = 0; i < l->qn; i++)
        if (l->q[i].st == rx->src_station && l->q[i].chan == hd.chan)
            p = &l->q[i]; /* the same request again: keep the newest (its TSval is echoed) */
    while (!p && l->qn && now - l->q[0].at > PENDING_MAX_AGE_NS) {
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

/* ---- the drive ---- */

static int host_poll(struct host *h)
{
    uint64_t now = jet_now_ns();
    int n = 0;
    if (!h->lis && !h->conns)
        return jet_station_poll(h->s);
    for (struct jet_rbs_listener *l = h->lis; l; l = l->next) {
        struct jet_rx rx;
        while (jet_chan_recv(l->ch, &rx, 0) == 0) {
            if (listener_syn(l, &rx, now))
                jet_chan_release(l->ch, &rx);
            else
                jet_chan_release_crc_bad(l->ch, &rx);
            n++;
        }
    }
    struct jet_rbs_conn *next;
    for (struct jet_rbs_conn *c = h->conns; c; c = next) {
        next = c->next;
        n += conn_drive(c, now);
        if (c->closing) {
            if (rbs_state(c->core) == RBS_CLOSED)
                conn_free(c);
            else if (now > c->linger_until) {
                rbs_abort(c->core, now);
                conn_output(c, now);
                conn_free(c);
            }
        }
    }
    return n;
}

static uint64_t host_next_timer(const struct host *h)
{
    uint64_t t = UINT64_MAX;
    for (const struct jet_rbs_conn *c = h->conns; c; c = c->next) {
        uint64_t x = rbs_next_timeout(c->core);
        if (x < t)
            t = x;
        if (c->closing && c->linger_until < t)
            t = c->linger_until;
    }
    return t;
}

/* Blocking calls: try, and if nothing could be done, wait_more() and try again. */
struct waiter {
    uint64_t deadline;
    bool nonblock, polled, busy;
};

static void waiter_init(struct waiter *w, int64_t timeout_ns, bool busy)
{
    w->nonblock = timeout_ns == 0;
    w->deadline = timeout_ns < 0 ? UINT64_MAX : jet_now_ns() + (uint64_t)timeout_ns;
    w->polled = false;
    w->busy = busy;
}

/* 0: try again; -EAGAIN / -ETIMEDOUT: give up.  The first call only drives the
 * station (a non-blocking call gets that one chance); later ones sleep first, until a
 * frame may have come, the next timer, or the deadline. */
static int wait_more(struct host *h, struct waiter *w)
{
    if (!w->polled) {
        w->polled = true;
        host_poll(h);
        return 0;
    }
    if (w->nonblock)
        return -EAGAIN;
    uint64_t now = jet_now_ns();
    if (now >= w->deadline)
        return -ETIMEDOUT;
    if (!w->busy) {
        uint64_t t = host_next_timer(h);
        if (t > w->deadline)
            t = w->deadline;
        if (t > now) {
            uint64_t d = t - now;
            jet_station_wait(h->s, (int64_t)(d < SLEEP_MAX_NS ? d : SLEEP_MAX_NS));
        }
    }
    host_poll(h);
    return 0;
}

/* ---- connections ---- */

static int conn_new(struct host *h, const struct jet_rbs_opts *o, bool external,
                    uint32_t syn_retries, struct jet_rbs_conn **out)
{
    struct jet_rbs_conn *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->h = h;
    c->busy_poll = o->busy_poll;
    uint32_t rcvbuf = o->rcvbuf ? o->rcvbuf : DEF_BUF;
    uint32_t mss = o->mss ? o->mss : h->mtu - RBS_HDR_MAX;
    if (mss > h->mtu - RBS_HDR_MAX)
        mss = h->mtu - RBS_HDR_MAX;
    if (mss > RBS_MSS_MAX)
        mss = RBS_MSS_MAX;
    if (h->mtu < RBS_HDR_MAX + RBS_MSS_MIN || mss < RBS_MSS_MIN) {
        free(c);
        return -EMSGSIZE;
    }
    uint64_t frames = 2ull * rcvbuf / mss + 256;
    struct jet_chan_policy p = {
        .accept_bad_crc = false,
        .defer_crc = true, /* the core checks it while placing (see "Integrity") */
        .drop = JET_DROP_NEWEST,
        .queue_frames = (uint32_t)(frames > 65536 ? 65536 : frames),
        .queue_bytes = 2ull * rcvbuf + 4ull * h->mtu,
    };
    int rc = -EADDRNOTAVAIL;
    for (int i = 0; i < CHAN_TRIES && rc; i++) {
        uint32_t id = h->next_chan++;
        if (h->next_chan > CHAN_LAST)
            h->next_chan = CHAN_FIRST;
        rc = jet_chan_open(h->s, id, &p, &c->ch);
        if (rc && rc != -EADDRINUSE)
            break;
    }
    if (rc) {
        free(c);
        return rc == -EADDRINUSE ? -EADDRNOTAVAIL : rc;
    }
    struct rbs_cfg cfg = {
        .mss = mss,
        .rcvbuf_bytes = rcvbuf,
        .rcvbuf_external = external,
        .sndbuf_bytes = o->sndbuf ? o->sndbuf : DEF_BUF,
        .max_refs = o->max_refs,
        .keepalive_ns = o->keepalive_ns,
        .rto_max_ns = RTO_MAX_NS,
        .syn_retries = syn_retries,
        .isn = random32(),
        .local_chan = jet_chan_id(c->ch),
    };
    c->rcvbuf = rcvbuf;
    rc = rbs_create(&cfg, &c->core);
    if (rc) {
        jet_chan_close(c->ch);
        free(c);
        return rc;
    }
    c->next = h->conns;
    h->conns = c;
    *out = c;
    return 0;
}

int jet_rbs_listen(struct jet_station *s, uint32_t chan, const struct jet_rbs_opts *o,
                   struct jet_rbs_listener **out)
{
    *out = NULL;
    if (!s || !chan)
        return -EINVAL;
    struct host *h = host_find(s, true);
    if (!h)
        return -ENOMEM;
    struct jet_rbs_listener *l = calloc(1, sizeof *l);
    if (l && o)
        l->o = *o;
    if (l && !l->o.backlog)
        l->o.backlog = DEF_BACKLOG;
    if (l)
        l->q = calloc(l->o.backlog, sizeof *l->q);
    int rc = l && l->q ? 0 : -ENOMEM;
    if (!rc)
        rc = jet_chan_open(s, chan, &(struct jet_chan_policy){.defer_crc = true}, &l->ch);
    if (rc) {
        if (l)
            free(l->q);
        free(l);
        host_maybe_free(h);
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
    struct host *h = l->h;
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
    host_maybe_free(h);
}

int jet_rbs_accept(struct jet_rbs_listener *l, struct jet_rbs_conn **out, int64_t timeout_ns)
{
    struct host *h = l->h;
    struct waiter w;
    *out = NULL;
    waiter_init(&w, timeout_ns, l->o.busy_poll);
    for (;;) {
        while (l->qn) {
            struct pending p = l->q[0];
            memmove(l->q, l->q + 1, (l->qn - 1) * sizeof *l->q);
            l->qn--;
            struct jet_rbs_conn *c;
            int rc = conn_new(h, &l->o, false, 0, &c);
            if (rc)
                return rc;
            c->peer_st = p.st;
            c->syn_chan = p.chan;
            c->lis = l;
            rc = rbs_listen_accept(c->core, p.syn, p.len, jet_now_ns());
            if (rc) { /* cannot happen for a SYN that parsed; skip it */
                conn_free(c);
                continue;
            }
            c->dst_chan = rbs_peer_chan(c->core);
            *out = c;
            return 0;
        }
        int rc = wait_more(h, &w);
        if (rc)
            return rc;
    }
}

int jet_rbs_connected(struct jet_rbs_conn *c)
{
    int e = conn_err(c);
    if (e)
        return e;
    enum rbs_state s = rbs_state(c->core);
    return s != RBS_SYN_SENT && s != RBS_SYN_RCVD;
}

int jet_rbs_connect(struct jet_station *s, uint16_t dst_station, uint32_t dst_chan,
                    const struct jet_rbs_opts *o, struct jet_rbs_conn **out, int64_t timeout_ns)
{
    static const struct jet_rbs_opts none;
    *out = NULL;
    if (!s || !dst_chan)
        return -EINVAL;
    if (!o)
        o = &none;
    struct host *h = host_find(s, true);
    if (!h)
        return -ENOMEM;
    if (o->ring && o->sink)
        return -EINVAL;
    struct jet_rbs_opts oo = *o;
    if (o->ring && !o->rcvbuf)
        oo.rcvbuf = o->ring_len > UINT32_MAX ? UINT32_MAX : (uint32_t)o->ring_len;
    struct jet_rbs_conn *c = NULL;
    /* With a bound of its own, connect retries the SYN until then (not only the
     * core's max_retries, ~2.6 s at the 250 ms RTO cap); without one, the core's. */
    int rc = conn_new(h, &oo, o->ring != NULL || o->sink, timeout_ns > 0 ? UINT32_MAX : 0, &c);
    if (!rc && o->ring)
        rc = rbs_recv_register(c->core, o->ring, o->ring_len);
    if (!rc && o->sink)
        rc = jet_rbs_recv_sink(c, o->sink_fd, o->sink_off, 0);
    if (!rc) {
        c->peer_st = dst_station;
        c->dst_chan = dst_chan;
        rc = rbs_connect(c->core, jet_now_ns());
        if (rc)
            conn_free(c);
    } else if (c) {
        conn_free(c);
    }
    if (rc) {
        host_maybe_free(h);
        return rc;
    }
    *out = c;
    conn_output(c, jet_now_ns());
    if (timeout_ns == 0)
        return -EINPROGRESS;
    struct waiter w;
    waiter_init(&w, timeout_ns, c->busy_poll);
    w.polled = true; /* the SYN just left: sleep first */
    for (;;) {
        rc = jet_rbs_connected(c);
        if (rc)
            return rc < 0 ? rc : 0;
        rc = wait_more(h, &w);
        if (rc == -ETIMEDOUT) {
            if (c->unreach)
                snprintf(c->why, sizeof c->why, "no station %u is attached to %s", dst_station,
                         jet_station_link(s)->name);
            else
                snprintf(c->why, sizeof c->why,
                         "no answer from station %u channel %u of %s within %.1f s "
                         "(nobody listening there?)",
                         dst_station, dst_chan, jet_station_link(s)->name,
                         (double)timeout_ns / 1e9);
            return rc;
        }
    }
}

/* ---- data ---- */

/* Maps a core error to the connection's (the glue may know better). */
static int fail_code(struct jet_rbs_conn *c, int rc)
{
    int e = conn_err(c);
    explain(c);
    return e && rc != -EPIPE ? e : rc;
}

ssize_t jet_rbs_send(struct jet_rbs_conn *c, const void *buf, size_t len, int64_t timeout_ns)
{
    struct waiter w;
    waiter_init(&w, timeout_ns, c->busy_poll);
    if (!len)
        return 0;
    for (;;) {
        int e = conn_err(c);
        if (e)
            return fail_code(c, e);
        ssize_t n = rbs_send(c->core, buf, len);
        if (n > 0) {
            conn_output(c, jet_now_ns());
            return n;
        }
        if (n != -EAGAIN)
            return fail_code(c, (int)n);
        int rc = wait_more(c->h, &w);
        if (rc)
            return rc;
    }
}

int jet_rbs_send_ref(struct jet_rbs_conn *c, const void *buf, size_t len, uint64_t cookie)
{
    int rc = rbs_send_ref(c->core, buf, len, cookie);
    if (rc)
        return fail_code(c, rc);
    conn_output(c, jet_now_ns());
    return 0;
}

int jet_rbs_completed(struct jet_rbs_conn *c, uint64_t *cookies, int max, int64_t timeout_ns)
{
    struct waiter w;
    waiter_init(&w, timeout_ns, c->busy_poll);
    for (;;) {
        int n = rbs_completed(c->core, cookies, max);
        if (n > 0 || max <= 0)
            return n;
        int e = conn_err(c);
        if (e)
            return fail_code(c, e);
        int rc = wait_more(c->h, &w);
        if (rc)
            return rc;
    }
}

uint64_t jet_rbs_send_pending(const struct jet_rbs_conn *c)
{
    return rbs_send_pending(c->core);
}

ssize_t jet_rbs_recv(struct jet_rbs_conn *c, void *buf, size_t len, int64_t timeout_ns)
{
    if (c->sink)
        return -EINVAL; /* the bytes go to the file */
    struct waiter w;
    waiter_init(&w, timeout_ns, c->busy_poll);
    for (;;) {
        ssize_t n = rbs_recv(c->core, buf, len);
        if (n > 0) {
            conn_output(c, jet_now_ns()); /* a window update may be due */
            return n;
        }
        if (n == 0)
            return 0;
        if (n != -EAGAIN)
            return fail_code(c, (int)n);
        if (c->err)
            return fail_code(c, c->err);
        int rc = wait_more(c->h, &w);
        if (rc)
            return rc;
    }
}

int jet_rbs_recv_register(struct jet_rbs_conn *c, void *ring, size_t len)
{
    if (c->sink)
        return -EBUSY;
    return rbs_recv_register(c->core, ring, len);
}

/* The sink hook (rbs_sink_fn), run by the core inside rbs_input_crc: the payload's
 * bytes, from the core's private staging copy (whose CRC matched) to their place in
 * the file.  All of it, or the errno. */
static int sink_write(void *arg, uint64_t off, const uint8_t *p, size_t len)
{
    struct jet_rbs_conn *c = arg;
    if (c->sink_fd < 0)
        return 0; /* closed by the application: nobody wants the bytes */
    uint64_t at = c->sink_off + off;
    while (len) {
        int e = EFBIG; /* beyond what off_t can say */
        if (at <= INT64_MAX - len) {
            ssize_t w = pwrite(c->sink_fd, p, len, (off_t)at);
            if (w > 0) {
                c->sink_bytes += (uint64_t)w;
                p += w;
                len -= (size_t)w;
                at += (uint64_t)w;
                continue;
            }
            e = w < 0 ? errno : ENOSPC; /* 0 bytes written: the file cannot grow */
            if (e == EINTR)
                continue;
        }
        snprintf(c->why, sizeof c->why,
                 "writing received bytes into fd %d at offset %llu failed: %s (connection "
                 "aborted)",
                 c->sink_fd, (unsigned long long)at, strerror(e));
        return -e;
    }
    c->sink_writes++;
    return 0;
}

int jet_rbs_recv_sink(struct jet_rbs_conn *c, int fd, uint64_t file_off, size_t window)
{
    if (fd < 0)
        return -EBADF;
    if (file_off > INT64_MAX)
        return -EINVAL;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    if (fl & O_APPEND)
        return -EINVAL; /* pwrite would append, whatever the offset */
    if (lseek(fd, 0, SEEK_CUR) < 0)
        return -errno; /* -ESPIPE: a pipe, socket or terminal cannot be written at offsets */
    int rc = rbs_recv_sink(c->core, sink_write, c, window ? window : c->rcvbuf);
    if (rc)
        return rc;
    c->sink = true;
    c->sink_fd = fd;
    c->sink_off = file_off;
    c->sink_told = 0;
    return 0;
}

uint64_t jet_rbs_recv_placed(const struct jet_rbs_conn *c)
{
    return c->sink ? rbs_recv_placed(c->core) : 0;
}

ssize_t jet_rbs_recv_ready(struct jet_rbs_conn *c, const uint8_t **p, int64_t timeout_ns)
{
    struct waiter w;
    waiter_init(&w, timeout_ns, c->busy_poll);
    for (;;) {
        if (c->sink) { /* news of the file, not bytes in memory */
            *p = NULL;
            uint64_t done = rbs_recv_placed(c->core);
            if (done > c->sink_told) {
                ssize_t n = (ssize_t)(done - c->sink_told);
                c->sink_told = done;
                return n;
            }
        }
        size_t n = rbs_recv_peek(c->core, p);
        if (n)
            return (ssize_t)n;
        if (rbs_recv_eof(c->core))
            return 0;
        int e = conn_err(c);
        if (e)
            return fail_code(c, e);
        int rc = wait_more(c->h, &w);
        if (rc)
            return rc;
    }
}

int jet_rbs_recv_consume(struct jet_rbs_conn *c, size_t n)
{
    int rc = rbs_recv_consume(c->core, n);
    if (!rc)
        conn_output(c, jet_now_ns());
    return rc;
}

/* ---- closing ---- */

int jet_rbs_shutdown(struct jet_rbs_conn *c)
{
    int rc = rbs_shutdown(c->core, jet_now_ns());
    if (rc)
        return fail_code(c, rc);
    conn_output(c, jet_now_ns());
    return 0;
}

void jet_rbs_abort(struct jet_rbs_conn *c)
{
    if (!c)
        return;
    struct host *h = c->h;
    uint64_t now = jet_now_ns();
    if (rbs_abort(c->core, now) == 0)
        conn_output(c, now); /* the RST */
    conn_free(c);
    host_maybe_free(h);
}

int jet_rbs_close(struct jet_rbs_conn *c, int64_t timeout_ns)
{
    if (!c)
        return 0;
    struct host *h = c->h;
    uint64_t now = jet_now_ns();
    int rc = conn_err(c);
    if (!rc) {
        rbs_shutdown(c->core, now);
        conn_output(c, now);
    }
    c->discard = true;
    c->sink_fd = -1; /* the file may be closed once we return */
    struct waiter w;
    waiter_init(&w, timeout_ns, c->busy_poll);
    while (!rc) {
        rc = conn_err(c);
        if (rc)
            break;
        enum rbs_state s = rbs_state(c->core);
        if (rbs_send_pending(c->core) == 0 &&
            (s == RBS_FIN_WAIT_2 || s == RBS_TIME_WAIT || s == RBS_CLOSED))
            break; /* everything we sent, the end of stream too, is acknowledged */
        rc = wait_more(h, &w);
        if (rc == -EAGAIN)
            rc = -ETIMEDOUT;
    }
    now = jet_now_ns();
    if (rc || rbs_state(c->core) == RBS_CLOSED) {
        if (rbs_abort(c->core, now) == 0)
            conn_output(c, now);
        conn_free(c);
        host_maybe_free(h);
        return rc;
    }
    c->closing = true;                 /* the library's now: host_poll frees it once CLOSED */
    c->linger_until = now + LINGER_NS; /* TIME_WAIT, or FIN_WAIT_2 until the peer's FIN */
    return 0;
}

/* ---- driving ---- */

int jet_rbs_poll(struct jet_station *s)
{
    struct host *h = host_find(s, false);
    if (!h)
        return jet_station_poll(s);
    int n = host_poll(h);
    host_maybe_free(h);
    return n;
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
    struct host *h = host_find(s, false);
    if (!h)
        return -1;
    uint64_t t = host_next_timer(h), now = jet_now_ns();
    if (t == UINT64_MAX)
        return -1;
    return t > now ? (int64_t)(t - now) : 0;
}

void jet_rbs_station_fini(struct jet_station *s, int64_t linger_ns)
{
    struct host *h = host_find(s, false);
    if (!h)
        return;
    uint64_t until = linger_ns < 0 ? UINT64_MAX : jet_now_ns() + (uint64_t)linger_ns;
    for (;;) {
        bool lingering = false;
        for (struct jet_rbs_conn *c = h->conns; c; c = c->next)
            lingering |= c->closing;
        if (!lingering || jet_now_ns() >= until)
            break;
        host_poll(h);
        uint64_t t = host_next_timer(h), now = jet_now_ns();
        if (t > until)
            t = until;
        if (t > now)
            jet_station_wait(s, (int64_t)(t - now < SLEEP_MAX_NS ? t - now : SLEEP_MAX_NS));
    }
    while (h->conns) {
        struct jet_rbs_conn *c = h->conns;
        uint64_t now = jet_now_ns();
        if (rbs_abort(c->core, now) == 0)
            conn_output(c, now);
        conn_free(c);
    }
    while (h->lis) {
        bool last = !h->lis->next;
        jet_rbs_listener_close(h->lis); /* frees h with the last one */
        if (last)
            return;
    }
    host_maybe_free(h);
}

/* ---- state ---- */

void jet_rbs_stats(const struct jet_rbs_conn *c, struct jet_rbs_stats *out)
{
    struct rbs_stats st;
    rbs_get_stats(c->core, &st);
    memset(out, 0, sizeof *out);
    out->state = rbs_state_name(rbs_state(c->core));
    out->peer_station = c->peer_st;
    out->local_chan = jet_chan_id(c->ch);
    out->peer_chan = rbs_peer_chan(c->core);
    out->segs_in = st.segs_in;
    out->segs_out = st.segs_out;
    out->bytes_in = st.bytes_in;
    out->bytes_out = st.bytes_out;
    out->retransmits = st.retransmits;
    out->retrans_bytes = st.retrans_bytes;
    out->fast_retransmits = st.fast_retransmits;
    out->timeouts = st.timeouts;
    out->tlp_probes = st.tlp_probes;
    out->dup_segs = st.dup_segs;
    out->ooo_segs = st.ooo_segs;
    out->ooo_dropped = st.ooo_dropped;
    out->window_drops = st.window_drops;
    out->rst_in = st.rst_in;
    out->rst_out = st.rst_out;
    out->keepalive_probes = st.keepalive_probes;
    out->persist_probes = st.persist_probes;
    for (int i = 0; i < RBS_BAD_MAX; i++)
        out->malformed += st.bad[i];
    out->foreign = c->foreign;
    out->tx_refused = c->tx_refused;
    out->srtt_ns = st.srtt_ns;
    out->rttvar_ns = st.rttvar_ns;
    out->rto_ns = st.rto_ns;
    out->cwnd = st.cwnd;
    out->ssthresh = st.ssthresh;
    out->snd_wnd = st.snd_wnd;
    out->rcv_wnd = st.rcv_wnd;
    out->mss = st.mss;
    out->sink_bytes = c->sink_bytes;
    out->sink_writes = c->sink_writes;
}

int jet_rbs_errno(const struct jet_rbs_conn *c)
{
    return conn_err(c);
}

const char *jet_rbs_error(const struct jet_rbs_conn *c)
{
    return c->why;
}

void jet_rbs_busy_poll(struct jet_rbs_conn *c, bool on)
{
    c->busy_poll = on;
}

struct jet_station *jet_rbs_station(const struct jet_rbs_conn *c)
{
    return c->h->s;
}
