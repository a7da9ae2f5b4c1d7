/* RBS glue, connections: binds the sans-I/O core (rbs_core.h) to channels
 * (jet/chan.h) and gives applications the connection calls of include/jet/rbs.h.
 * Spec: docs/rbs.md sections 3 and 13.  Listeners are in rbs_listen.c; RBS as a
 * protocol of the station (its per-station state, the poll hook that drives every
 * connection) in rbs_host.c; blocking, channel ids and linger are the shared endpoint
 * glue (chan/endpoint.h).
 *
 * A connection is driven by every poll of its station (rbs_host.c runs
 * rbsg_conn_drive): every frame queued on its channel -> rbs_input_crc (the core
 * copies the payload straight into the receive ring, one copy, pool -> ring, with the
 * frame's CRC checked in that same pass; or, in sink mode, into a small private
 * staging buffer the same way, and once the CRC matched calls sink_write, which
 * pwrite()s it from there to its offset in the application's file), frame released;
 * then rbs_on_timeout if due; then output until nothing is due.  A blocking call
 * tries, and when nothing could be done drives the station once (ep_wait_more: that
 * runs RBS for every connection and listener of the station) or sleeps until a frame,
 * the station's next timer or its deadline, then looks at its own state again.
 *
 * Integrity.  The pool is shared with other processes, so a frame may change after any
 * check and before its bytes are used.  RBS channels therefore ask the station not to
 * check the payload CRC (policy defer_crc): the core checks it while it copies, over
 * exactly the bytes it copied, and a segment that fails is dropped before anything
 * acts on it (counted in the channel's dropped_crc and the core's crc_bad) and never
 * acknowledged, so the peer resends it.  A frame without a CRC is dropped the same way:
 * RBS has no checksum of its own.
 * Output only runs while the link lends a transmit buffer: jet_chan_tx_alloc first,
 * then rbs_output_iov writes the header into the lent buffer and points at the payload
 * in the send ring or the application's referenced buffer; one copy puts it behind the
 * header with the frame CRC computed during it (jet_crc32c_copy), and
 * jet_chan_tx_commit_crc seals the frame without reading the payload again.  A segment
 * the core produced is accounted as sent, so never produce one the link cannot take;
 * a buffer lent for nothing goes back with jet_chan_tx_abort. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jet/crc32c.h"
#include "rbs/rbs_glue.h"
#include "util/clock.h"

int rbsg_conn_err(const struct jet_rbs_conn *c)
{
    return c->err ? c->err : rbs_error(c->core);
}

/* "cannot reach station 3 of lan:x: <the link's own words>": the link refused every
 * frame for the peer (-EHOSTUNREACH) and said why in its terms. */
static void unreachable(struct jet_rbs_conn *c, const char *peer)
{
    if (c->unreach_why[0])
        snprintf(c->why, sizeof c->why, "cannot reach %s: %s", peer, c->unreach_why);
    else
        snprintf(c->why, sizeof c->why, "cannot reach %s (the link has no way to it)", peer);
}

/* Words for the connection's error, written once when it is first seen.  The peer is
 * named in the link's terms (ep_peer: "station 1 of lan:x"). */
void rbsg_explain(struct jet_rbs_conn *c)
{
    int e = rbsg_conn_err(c);
    if (!e || c->why[0])
        return;
    char peer[160];
    ep_peer(c->h->s, c->peer_st, peer, sizeof peer);
    switch (e) {
    case -ECONNRESET:
        snprintf(c->why, sizeof c->why, "connection reset by %s", peer);
        break;
    case -ECONNREFUSED:
        snprintf(c->why, sizeof c->why, "connection refused by %s, channel %u", peer, c->dst_chan);
        break;
    case -ETIMEDOUT:
        if (c->established)
            snprintf(c->why, sizeof c->why,
                     "%s stopped answering (retransmission or keepalive timeout)", peer);
        else if (c->unreach)
            unreachable(c, peer);
        else
            snprintf(c->why, sizeof c->why,
                     "no answer from %s, channel %u (nobody listening there?)", peer, c->dst_chan);
        break;
    case -EHOSTUNREACH: /* after the handshake: it was there, and is gone */
        snprintf(c->why, sizeof c->why, "%s left the link: %s", peer,
                 c->unreach_why[0] ? c->unreach_why : "the link has no way to it any more");
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
void rbsg_conn_output(struct jet_rbs_conn *c, uint64_t now)
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
            if (!c->unreach) /* the link's reason, in its own terms */
                snprintf(c->unreach_why, sizeof c->unreach_why, "%s", jet_station_error(c->h->s));
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
                rbsg_explain(c);
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
    /* only what is queued: the station was polled just before (jet_chan_recv on an
     * empty queue would poll it again) */
    while (jet_chan_pending(c->ch) && jet_chan_recv(c->ch, &rx, 0) == 0) {
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

int rbsg_conn_drive(struct jet_rbs_conn *c, uint64_t now)
{
    int n = conn_input(c, now);
    if (c->discard) { /* nobody reads any more */
        size_t r = rbs_recv_ready(c->core);
        if (r)
            rbs_recv_consume(c->core, r);
    }
    if (now >= rbs_next_timeout(c->core))
        rbs_on_timeout(c->core, now);
    rbsg_conn_output(c, now);
    if (rbs_state(c->core) >= RBS_ESTABLISHED)
        c->established = true;
    rbsg_explain(c);
    return n;
}

void rbsg_conn_free(struct jet_rbs_conn *c)
{
    struct rbs_host *h = c->h;
    for (struct jet_rbs_conn **pp = &h->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    jet_chan_close(c->ch);
    rbs_destroy(c->core);
    free(c);
}

/* ---- connections ---- */

int rbsg_conn_new(struct rbs_host *h, const struct jet_rbs_opts *o, bool external,
                  uint32_t syn_retries, struct jet_rbs_conn **out)
{
    struct jet_rbs_conn *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->h = h;
    c->busy_poll = o->busy_poll;
    uint32_t rcvbuf = o->rcvbuf ? o->rcvbuf : RBSG_DEF_BUF;
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
    int rc = ep_chan_open(h->s, &h->ids, &p, NULL, &c->ch);
    if (rc) {
        free(c);
        return rc;
    }
    struct rbs_cfg cfg = {
        .mss = mss,
        .rcvbuf_bytes = rcvbuf,
        .rcvbuf_external = external,
        .sndbuf_bytes = o->sndbuf ? o->sndbuf : RBSG_DEF_BUF,
        .max_refs = o->max_refs,
        .keepalive_ns = o->keepalive_ns,
        .rto_max_ns = RBSG_RTO_MAX_NS,
        .syn_retries = syn_retries,
        .isn = ep_random32(),
        .local_chan = jet_chan_id(c->ch),
        .nodelay = o->nodelay,
    };
    c->rcvbuf = rcvbuf;
    rc = rbs_create(&cfg, &c->core);
    if (rc) {
        jet_chan_close(c->ch);
        free(c);
        return rc;
    }
    c->pub_seq = ++h->pub_next;
    c->next = h->conns;
    h->conns = c;
    *out = c;
    return 0;
}

int jet_rbs_connected(struct jet_rbs_conn *c)
{
    int e = rbsg_conn_err(c);
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
    struct rbs_host *h;
    int hrc = rbsg_host_attach(s, &h);
    if (hrc)
        return hrc;
    if (o->ring && o->sink)
        return -EINVAL;
    struct jet_rbs_opts oo = *o;
    if (o->ring && !o->rcvbuf)
        oo.rcvbuf = o->ring_len > UINT32_MAX ? UINT32_MAX : (uint32_t)o->ring_len;
    struct jet_rbs_conn *c = NULL;
    /* With a bound of its own, connect retries the SYN until then (not only the
     * core's max_retries, ~2.6 s at the 250 ms RTO cap); without one, the core's. */
    int rc = rbsg_conn_new(h, &oo, o->ring != NULL || o->sink, timeout_ns > 0 ? UINT32_MAX : 0, &c);
    if (!rc && o->ring)
        rc = rbs_recv_register(c->core, o->ring, o->ring_len);
    if (!rc && o->sink)
        rc = jet_rbs_recv_sink(c, o->sink_fd, o->sink_off, 0);
    if (!rc) {
        c->peer_st = dst_station;
        c->dst_chan = dst_chan;
        rc = rbs_connect(c->core, jet_now_ns());
        if (rc)
            rbsg_conn_free(c);
    } else if (c) {
        rbsg_conn_free(c);
    }
    if (rc)
        return rc;
    *out = c;
    rbsg_conn_output(c, jet_now_ns());
    if (timeout_ns == 0)
        return -EINPROGRESS;
    struct ep_wait w;
    ep_wait_init(&w, timeout_ns, c->busy_poll);
    w.polled = true; /* the SYN just left: sleep first */
    for (;;) {
        rc = jet_rbs_connected(c);
        if (rc)
            return rc < 0 ? rc : 0;
        rc = ep_wait_more(h->s, &w);
        if (rc == -ETIMEDOUT) {
            char peer[160];
            ep_peer(s, dst_station, peer, sizeof peer);
            if (c->unreach)
                unreachable(c, peer);
            else
                snprintf(c->why, sizeof c->why,
                         "no answer from %s, channel %u, within %.1f s (nobody listening "
                         "there?)",
                         peer, dst_chan, (double)timeout_ns / 1e9);
            return rc;
        }
    }
}

/* ---- data ---- */

/* Maps a core error to the connection's (the glue may know better). */
static int fail_code(struct jet_rbs_conn *c, int rc)
{
    int e = rbsg_conn_err(c);
    rbsg_explain(c);
    return e && rc != -EPIPE ? e : rc;
}

/* A blocking data call could do nothing: the connection's error (the glue's or the
 * core's, whatever found it: every data call reports it alike), or else wait (0: try
 * again; -EAGAIN with timeout 0, -ETIMEDOUT). */
static int fail_or_wait(struct jet_rbs_conn *c, struct ep_wait *w)
{
    int e = rbsg_conn_err(c);
    if (e)
        return fail_code(c, e);
    return ep_wait_more(c->h->s, w);
}

ssize_t jet_rbs_send(struct jet_rbs_conn *c, const void *buf, size_t len, int64_t timeout_ns)
{
    struct ep_wait w;
    ep_wait_init(&w, timeout_ns, c->busy_poll);
    if (!len)
        return 0;
    for (;;) {
        int e = rbsg_conn_err(c);
        if (e)
            return fail_code(c, e);
        ssize_t n = rbs_send(c->core, buf, len);
        if (n > 0) {
            rbsg_conn_output(c, jet_now_ns());
            return n;
        }
        if (n != -EAGAIN)
            return fail_code(c, (int)n);
        int rc = ep_wait_more(c->h->s, &w);
        if (rc)
            return rc;
    }
}

int jet_rbs_send_ref(struct jet_rbs_conn *c, const void *buf, size_t len, uint64_t cookie)
{
    int rc = rbs_send_ref(c->core, buf, len, cookie);
    if (rc)
        return fail_code(c, rc);
    rbsg_conn_output(c, jet_now_ns());
    return 0;
}

int jet_rbs_completed(struct jet_rbs_conn *c, uint64_t *cookies, int max, int64_t timeout_ns)
{
    struct ep_wait w;
    ep_wait_init(&w, timeout_ns, c->busy_poll);
    for (;;) {
        int n = rbs_completed(c->core, cookies, max);
        if (n > 0 || max <= 0)
            return n;
        int rc = fail_or_wait(c, &w);
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
    struct ep_wait w;
    ep_wait_init(&w, timeout_ns, c->busy_poll);
    for (;;) {
        ssize_t n = rbs_recv(c->core, buf, len);
        if (n > 0) {
            rbsg_conn_output(c, jet_now_ns()); /* a window update may be due */
            return n;
        }
        if (n == 0)
            return 0;
        if (n != -EAGAIN)
            return fail_code(c, (int)n);
        int rc = fail_or_wait(c, &w);
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
    return ep_sink_write(c->sink_fd, c->sink_off + off, p, len, &c->sink_bytes, &c->sink_writes,
                         c->why, sizeof c->why);
}

int jet_rbs_recv_sink(struct jet_rbs_conn *c, int fd, uint64_t file_off, size_t window)
{
    int rc = ep_sink_check(fd, file_off);
    if (rc)
        return rc;
    /* Bytes that came before are written first, by the hook: it needs the file. */
    int fd0 = c->sink_fd;
    uint64_t off0 = c->sink_off;
    c->sink_fd = fd;
    c->sink_off = file_off;
    rc = rbs_recv_sink(c->core, sink_write, c, window ? window : c->rcvbuf);
    if (rc) {
        c->sink_fd = fd0;
        c->sink_off = off0;
        if (!rbsg_conn_err(c))
            c->why[0] = 0; /* the hook's words: the connection did not fail */
        return rc;
    }
    c->sink = true;
    c->sink_told = 0;
    return 0;
}

uint64_t jet_rbs_recv_placed(const struct jet_rbs_conn *c)
{
    return c->sink ? rbs_recv_placed(c->core) : 0;
}

ssize_t jet_rbs_recv_ready(struct jet_rbs_conn *c, const uint8_t **p, int64_t timeout_ns)
{
    struct ep_wait w;
    ep_wait_init(&w, timeout_ns, c->busy_poll);
    for (;;) {
        if (c->sink) { /* news of the file, not bytes in memory */
            *p = NULL;
            uint64_t n = ep_sink_news(rbs_recv_placed(c->core), &c->sink_told);
            if (n)
                return (ssize_t)n;
        }
        size_t n = rbs_recv_peek(c->core, p);
        if (n)
            return (ssize_t)n;
        if (rbs_recv_eof(c->core))
            return 0;
        int rc = fail_or_wait(c, &w);
        if (rc)
            return rc;
    }
}

int jet_rbs_recv_consume(struct jet_rbs_conn *c, size_t n)
{
    int rc = rbs_recv_consume(c->core, n);
    if (!rc)
        rbsg_conn_output(c, jet_now_ns());
    return rc;
}

/* ---- closing ---- */

int jet_rbs_shutdown(struct jet_rbs_conn *c)
{
    int rc = rbs_shutdown(c->core, jet_now_ns());
    if (rc)
        return fail_code(c, rc);
    rbsg_conn_output(c, jet_now_ns());
    return 0;
}

void rbsg_conn_abort(struct jet_rbs_conn *c, uint64_t now)
{
    if (rbs_abort(c->core, now) == 0)
        rbsg_conn_output(c, now); /* the RST */
}

void jet_rbs_abort(struct jet_rbs_conn *c)
{
    if (!c)
        return;
    rbsg_conn_abort(c, jet_now_ns());
    rbsg_conn_free(c);
}

int jet_rbs_close(struct jet_rbs_conn *c, int64_t timeout_ns)
{
    if (!c)
        return 0;
    struct rbs_host *h = c->h;
    uint64_t now = jet_now_ns();
    int rc = rbsg_conn_err(c);
    if (!rc) {
        rbs_shutdown(c->core, now);
        rbsg_conn_output(c, now);
    }
    c->discard = true;
    c->sink_fd = -1; /* the file may be closed once we return */
    struct ep_wait w;
    ep_wait_init(&w, timeout_ns, c->busy_poll);
    while (!rc) {
        rc = rbsg_conn_err(c);
        if (rc)
            break;
        enum rbs_state s = rbs_state(c->core);
        if (rbs_send_pending(c->core) == 0 &&
            (s == RBS_FIN_WAIT_2 || s == RBS_TIME_WAIT || s == RBS_CLOSED))
            break; /* everything we sent, the end of stream too, is acknowledged */
        rc = ep_wait_more(h->s, &w);
        if (rc == -EAGAIN)
            rc = -ETIMEDOUT;
    }
    now = jet_now_ns();
    if (rc || rbs_state(c->core) == RBS_CLOSED) {
        rbsg_conn_abort(c, now);
        rbsg_conn_free(c);
        return rc;
    }
    /* The library's now: every poll of the station drives it (TIME_WAIT, or FIN_WAIT_2
     * until the peer's FIN) and frees it once CLOSED, or aborts it at the deadline. */
    ep_linger_start(&c->linger, now, RBSG_LINGER_NS);
    return 0;
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
    return rbsg_conn_err(c);
}

const char *jet_rbs_error(const struct jet_rbs_conn *c)
{
    return c->why;
}

void jet_rbs_busy_poll(struct jet_rbs_conn *c, bool on)
{
    c->busy_poll = on;
}

void jet_rbs_set_nodelay(struct jet_rbs_conn *c, bool on)
{
    rbs_set_nodelay(c->core, on);
}

struct jet_station *jet_rbs_station(const struct jet_rbs_conn *c)
{
    return c->h->s;
}
