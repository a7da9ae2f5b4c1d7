/* The capture wrapper link (include/jet/capture.h, `capture:PATH/INNER`,
 * docs/capture.md) and the capture file it writes (capture_link.h).
 *
 * The wrapper owns the inner link and lends the inner link's buffers as
 * they are; every op is forwarded.  What it adds:
 *   rx_burst   after the inner link lent n frames: one CLOCK_REALTIME read
 *              for the burst, then each frame recorded IN (callback, file);
 *   tx_commit  before the inner link takes the frame (it consumes it):
 *              the frame goes to the file's buffer (and, with a callback,
 *              its first caplen bytes to a scratch copy); after the inner
 *              link answered, a refusal is noted on the file's record (an
 *              opt_comment) and the callback is called with refused set;
 *   wait, arm  write the file's buffer when it holds frames older than
 *              CAPTURE_IDLE_FLUSH_NS (the link is idle: the file catches up);
 *   close      closes the inner link, then flushes and closes the file.
 * Recording reads the frames and never writes them, and forwards every
 * return code as the inner link gave it: what is delivered is unchanged.
 * A file write error stops the writing (counted), never the frames. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "link/capture_link.h"
#include "link/lan_mon.h"

uint64_t capture_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the capture file ---- */

static int add_if(struct capture_file *c, unsigned encap, struct jet_err *err)
{
    uint16_t lt = encap == JET_ENCAP_ETH ? JET_LINKTYPE_ETHERNET : JET_LINKTYPE_USER0;
    int rc = pcapng_add_if(&c->w, lt, c->snaplen, c->if_name, err);
    if (rc == 0)
        c->ifid[encap] = (int)c->nif++;
    return rc;
}

int capture_file_open(struct capture_file *c, const char *path, const char *if_name,
                      const struct jet_link_caps *caps, uint32_t snaplen, struct jet_err *err)
{
    *c = (struct capture_file){.ifid = {-1, -1}};
    snprintf(c->if_name, sizeof c->if_name, "%s", if_name);
    c->snaplen = snaplen && snaplen < PCAPNG_SNAP_MAX ? snaplen : PCAPNG_SNAP_MAX;
    int rc = pcapng_open(&c->w, path, "Jetstream jet 0.1.0", err);
    if (rc)
        return rc;
    if ((caps->native && (rc = add_if(c, JET_ENCAP_NATIVE, err))) ||
        (caps->eth && (rc = add_if(c, JET_ENCAP_ETH, err))) ||
        (rc = pcapng_flush(&c->w, err))) { /* a file that says what it is, at once */
        pcapng_close(&c->w, NULL);
        return rc;
    }
    c->last_flush = capture_now();
    return 0;
}

static void keep_err(struct capture_file *c, const struct jet_err *e)
{
    if (!c->err.code)
        c->err = *e;
}

void capture_file_add(struct capture_file *c, const struct jet_capture_rec *r, const char *comment)
{
    struct jet_err e = {0};
    unsigned encap = r->encap == JET_ENCAP_ETH ? JET_ENCAP_ETH : JET_ENCAP_NATIVE;
    if (c->err.code || (c->ifid[encap] < 0 && add_if(c, encap, &e))) {
        keep_err(c, &e);
        c->failed++;
        return;
    }
    unsigned dir = r->dir == JET_CAPTURE_IN    ? PCAPNG_DIR_IN
                   : r->dir == JET_CAPTURE_OUT ? PCAPNG_DIR_OUT
                                               : 0;
    if (pcapng_write(&c->w, (uint32_t)c->ifid[encap], r->ts_ns, r->data, r->caplen, r->len, dir,
                     comment, &e)) {
        keep_err(c, &e);
        c->failed++;
        return;
    }
    if (r->ts_ns - c->last_flush >= CAPTURE_FLUSH_NS && r->ts_ns > c->last_flush)
        capture_file_flush(c, r->ts_ns, 0);
}

void capture_file_comment_last(struct capture_file *c, const char *comment)
{
    pcapng_comment_last(&c->w, comment);
}

void capture_file_flush(struct capture_file *c, uint64_t now_ns, uint64_t min_age_ns)
{
    if (!c->w.n || c->err.code || now_ns - c->last_flush < min_age_ns)
        return;
    struct jet_err e = {0};
    if (pcapng_flush(&c->w, &e))
        keep_err(c, &e);
    c->last_flush = now_ns;
}

int capture_file_close(struct capture_file *c, struct jet_err *err)
{
    struct jet_err e = {0};
    int rc = pcapng_close(&c->w, &e);
    if (rc)
        keep_err(c, &e);
    if (c->err.code) {
        if (err)
            *err = c->err;
        return c->err.code;
    }
    return 0;
}

/* ---- the wrapper link ---- */

struct cap_link {
    struct jet_link base;
    struct jet_link *inner; /* owned: closed with the wrapper */
    jet_capture_fn fn;
    void *arg;
    uint32_t snaplen; /* 1..PCAPNG_SNAP_MAX */
    bool lan_mon;     /* inner is a LAN monitor: frames may be cut (lan_mon_wire_len) */
    bool file;
    struct capture_file cf;
    uint8_t *scratch; /* fn: an OUT frame's first snaplen bytes */
    uint64_t in, out, refused;
};

static const struct jet_link_ops cap_ops;

static struct cap_link *C(struct jet_link *l)
{
    return (struct cap_link *)l;
}

static int pass(struct cap_link *k, int rc)
{
    if (rc < 0)
        k->base.err = k->inner->err;
    return rc;
}

static int cap_rx_burst(struct jet_link *l, struct jet_frame *f, unsigned max)
{
    struct cap_link *k = C(l);
    int n = jet_link_rx_burst(k->inner, f, max);
    if (n <= 0)
        return pass(k, n);
    struct jet_capture_rec r = {.ts_ns = capture_now(), .dir = JET_CAPTURE_IN};
    for (int i = 0; i < n; i++) {
        r.data = f[i].data;
        r.caplen = f[i].len < k->snaplen ? f[i].len : k->snaplen;
        r.len = k->lan_mon ? lan_mon_wire_len(k->inner, &f[i]) : f[i].len;
        r.encap = f[i].encap;
        if (k->file)
            capture_file_add(&k->cf, &r, NULL);
        if (k->fn)
            k->fn(k->arg, &r);
    }
    k->in += (uint64_t)n;
    return n;
}

static int cap_tx_commit(struct jet_link *l, struct jet_frame *f)
{
    struct cap_link *k = C(l);
    struct jet_capture_rec r = {.ts_ns = capture_now(),
                                .dir = JET_CAPTURE_OUT,
                                .data = f->data,
                                .len = f->len,
                                .encap = f->encap};
    r.caplen = r.len < k->snaplen ? r.len : k->snaplen;
    if (k->file)
        capture_file_add(&k->cf, &r, NULL);
    if (k->fn) {
        memcpy(k->scratch, r.data, r.caplen); /* the inner link consumes the frame */
        r.data = k->scratch;
    }
    int rc = jet_link_tx_commit(k->inner, f);
    k->out++;
    if (rc < 0) {
        k->refused++;
        r.refused = 1;
        if (k->file) {
            char why[96];
            snprintf(why, sizeof why, "not sent: the link refused it (%s)", strerror(-rc));
            capture_file_comment_last(&k->cf, why);
        }
    }
    if (k->fn)
        k->fn(k->arg, &r);
    return pass(k, rc);
}

static void cap_rx_release(struct jet_link *l, struct jet_frame *f, unsigned n)
{
    jet_link_rx_release(C(l)->inner, f, n);
}

static int cap_tx_alloc(struct jet_link *l, struct jet_frame *f)
{
    struct cap_link *k = C(l);
    return pass(k, jet_link_tx_alloc(k->inner, f));
}

static void cap_tx_abort(struct jet_link *l, struct jet_frame *f)
{
    jet_link_tx_abort(C(l)->inner, f);
}

static int cap_tx_flush(struct jet_link *l)
{
    struct cap_link *k = C(l);
    return pass(k, jet_link_tx_flush(k->inner));
}

static int cap_tx_room(struct jet_link *l)
{
    struct cap_link *k = C(l);
    int room = jet_link_tx_room(k->inner);
    if (room < 0)
        k->base.err = k->inner->err;
    return room;
}

/* The link is idle: the file catches up. */
static void idle(struct cap_link *k)
{
    if (k->file && k->cf.w.n)
        capture_file_flush(&k->cf, capture_now(), CAPTURE_IDLE_FLUSH_NS);
}

static int cap_wait(struct jet_link *l, int64_t timeout_ns)
{
    struct cap_link *k = C(l);
    idle(k);
    return pass(k, jet_link_wait(k->inner, timeout_ns));
}

static int cap_fd(struct jet_link *l)
{
    struct cap_link *k = C(l);
    return pass(k, jet_link_fd(k->inner));
}

static int cap_arm(struct jet_link *l)
{
    struct cap_link *k = C(l);
    int rc = jet_link_arm(k->inner);
    if (rc == 0)
        idle(k); /* about to sleep */
    return pass(k, rc);
}

static int cap_reserve(struct jet_link *l, int64_t delta_bps)
{
    struct cap_link *k = C(l);
    return pass(k, jet_link_reserve(k->inner, delta_bps));
}

static int cap_stats(struct jet_link *l, struct jet_link_stats *o)
{
    struct cap_link *k = C(l);
    return pass(k, jet_link_stats(k->inner, o));
}

static int cap_peer_alive(struct jet_link *l, uint32_t addr)
{
    struct cap_link *k = C(l);
    return pass(k, jet_link_peer_alive(k->inner, addr));
}

static int cap_own(struct jet_link *l, const struct jet_link_flow *f, bool add)
{
    struct cap_link *k = C(l);
    return pass(k, jet_link_own(k->inner, f, add));
}

static void cap_close(struct jet_link *l)
{
    struct cap_link *k = C(l);
    jet_link_close(k->inner);
    if (k->file)
        capture_file_close(&k->cf, NULL);
    free(k->scratch);
    free(k);
}

int capture_link_counts(struct jet_link *l, struct capture_counts *out)
{
    if (!l || l->ops != &cap_ops)
        return -EINVAL;
    struct cap_link *k = C(l);
    *out = (struct capture_counts){.in = k->in, .out = k->out, .refused = k->refused};
    if (k->file) {
        out->written = k->cf.w.epb_written;
        out->failed = k->cf.failed + k->cf.w.epb_lost;
        out->err = k->cf.err.code;
        snprintf(out->msg, sizeof out->msg, "%s", k->cf.err.msg);
    }
    return 0;
}

static const struct jet_link_ops cap_ops = {
    .kind = "capture",
    .rx_burst = cap_rx_burst,
    .rx_release = cap_rx_release,
    .tx_alloc = cap_tx_alloc,
    .tx_abort = cap_tx_abort,
    .tx_commit = cap_tx_commit,
    .tx_flush = cap_tx_flush,
    .tx_room = cap_tx_room,
    .wait = cap_wait,
    .fd = cap_fd,
    .arm = cap_arm,
    .reserve = cap_reserve,
    .stats = cap_stats,
    .peer_alive = cap_peer_alive,
    .own = cap_own,
    .close = cap_close,
};

int jet_capture_wrap(struct jet_link *inner, const struct jet_capture_opts *o,
                     struct jet_link **out, struct jet_err *err)
{
    if (!inner)
        return jet_err_set(err, -EINVAL, "capture: no link to wrap");
    if (!o || (!o->path && !o->fn) || (o->path && !o->path[0])) {
        jet_link_close(inner);
        return jet_err_set(err, -EINVAL, "capture: want a file path, a callback or both");
    }
    struct cap_link *k = calloc(1, sizeof *k);
    if (!k) {
        jet_link_close(inner);
        return jet_err_set(err, -ENOMEM, "out of memory");
    }
    k->inner = inner;
    k->fn = o->fn;
    k->arg = o->arg;
    k->snaplen = o->snaplen && o->snaplen < PCAPNG_SNAP_MAX ? o->snaplen : PCAPNG_SNAP_MAX;
    k->lan_mon = lan_mon_is(inner);
    k->base.ops = &cap_ops;
    k->base.caps = inner->caps;
    snprintf(k->base.name, sizeof k->base.name, "%s", inner->name);
    if (inner->caps.max_frame && inner->caps.max_frame < k->snaplen)
        k->snaplen = inner->caps.max_frame; /* no frame is longer (TSO frames included) */
    if (k->fn)
        k->scratch = malloc(k->snaplen);
    int rc = 0;
    if (o->fn && !k->scratch)
        rc = jet_err_set(err, -ENOMEM, "out of memory");
    if (!rc && o->path) {
        rc = capture_file_open(&k->cf, o->path, inner->name, &inner->caps, k->snaplen, err);
        k->file = rc == 0;
    }
    if (rc) {
        jet_link_close(inner);
        free(k->scratch);
        free(k);
        return rc;
    }
    *out = &k->base;
    return 0;
}

int capture_link_open(const char *s, const struct jet_link_name *n,
                      const struct jet_link_opts *opts, struct jet_link **out, struct jet_err *err)
{
    struct jet_link *inner;
    int rc = jet_link_open(n->inner, opts, &inner, err);
    if (rc)
        return rc;
    struct jet_capture_opts o = {.path = n->path};
    struct jet_link *l;
    rc = jet_capture_wrap(inner, &o, &l, err);
    if (rc)
        return rc;
    snprintf(l->name, sizeof l->name, "%s", s);
    *out = l;
    return 0;
}
