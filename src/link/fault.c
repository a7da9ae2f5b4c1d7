/* Seeded faults (fault.h) and the fault wrapper link: loss, bit errors,
 * duplication, reordering, delay, jitter and a rate on any link
 * (`fault:KEY=VAL,.../INNER`, docs/link-wrappers.md).
 *
 * The wrapper owns the inner link (closed with it) and lends the inner
 * link's buffers as they are: rx_burst, rx_release, tx_alloc, tx_abort, fd
 * and reserve pass through.  Transmit:
 *   tx_commit  books the wrapper's private medium clock (rate: each frame
 *              occupies 8*len/rate), draws the frame's faults (fault.h,
 *              seeded per flow as the LAN does) and then
 *              - commits it to the inner link at once when nothing makes it
 *                wait and nothing waits before it, or
 *              - puts it on the delay line: a FIFO of lent frames in the
 *                order of their due times (end of serialisation + delay +
 *                jitter, never earlier than the frame before it);
 *              a frame drawn for reordering is held and goes out right after
 *              the next frame to the same destination (or after HOLD_NS).
 *   tx_flush   (the station calls it every poll) and wait commit the frames
 *              that are due, while the inner link has room.
 *   tx_room    with a rate, no room unless the private medium can be booked
 *              within LOOKAHEAD_NS, so that frames wait in the station's
 *              priority classes, not in a deep FIFO here.
 *   close      gives waiting frames up to DRAIN_NS to leave, gives the rest
 *              back to the inner link (counted in tx_dropped), closes it.
 * Faults apply to frames sent through the wrapper only: wrap both ends of a
 * link to fault both directions. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jet/lan.h"
#include "link/capture_link.h"
#include "link/fault.h"
#include "util/clock.h"
#include "util/parse.h"

uint32_t fault_flip_bits(struct jet_rng *r, double ber, uint8_t *d, uint32_t len)
{
    uint64_t bits = (uint64_t)len * 8, pos = 0, n = 0;
    double lq = log1p(-ber);
    for (;;) {
        double u = jet_rng_unit(r);
        double skip = floor(log1p(-u) / lq);
        if (skip >= (double)(bits - pos))
            break;
        pos += (uint64_t)skip;
        d[pos / 8] ^= (uint8_t)(1u << (pos % 8));
        n++;
        if (++pos >= bits)
            break;
    }
    return (uint32_t)n;
}

/* ---- the wrapper link ---- */

enum {
    LINE_CAP = 1024, /* frames the delay line holds (lent buffers of the inner link) */
    LINE_SLACK = 2,  /* kept free by tx_alloc for a duplicate and a held frame */
};
#define HOLD_NS 1000000ull     /* a held frame waits at most this long for a successor */
#define LOOKAHEAD_NS 100000ull /* how far ahead of now the medium may be booked */
#define DRAIN_NS 200000000ull  /* close: how long waiting frames get to leave */
#define BLOCKED_NS 50000ull    /* wait: nap while due frames wait for inner room */

struct pend {
    struct jet_frame f;
    uint64_t due; /* CLOCK_MONOTONIC ns; 0: at once */
};

struct fault_link {
    struct jet_link base;
    struct jet_link *inner; /* owned: closed with the wrapper */
    struct jet_link_fault cfg;
    bool draws;   /* per-frame draws (fault_any) */
    bool clock;   /* rate, delay or jitter: frames may wait */
    uint32_t me;  /* in the seed: the inner link's caps.addr */
    uint64_t ser_max;     /* serialisation of the largest frame, ns */
    uint64_t medium_free; /* private medium: idle from this time on */
    uint64_t last_due;    /* due times never go back: frames keep their order */
    struct pend *line;    /* delay line, LINE_CAP entries from head */
    uint32_t head, n;
    struct pend held; /* a frame held back for reordering */
    uint64_t held_dst, held_at;
    bool has_held;
    struct fault_flow flows[FAULT_FLOWS];
    struct fault_counts c;
};

static const struct jet_link_ops fault_ops;

static struct fault_link *K(struct jet_link *l)
{
    return (struct fault_link *)l;
}

/* rc from the inner link: its reason becomes ours. */
static int pass(struct fault_link *k, int rc)
{
    if (rc < 0)
        k->base.err = k->inner->err;
    return rc;
}

/* The frame's destination for its flow key: the native header's station,
 * or the Ethernet destination folded to 24 bits. */
static uint64_t frame_dst(const struct jet_frame *f)
{
    const uint8_t *d = f->data;
    if (f->len < 6)
        return 0;
    if (f->encap == JET_ENCAP_NATIVE)
        return (uint64_t)d[4] << 8 | d[5];
    uint64_t mac = (uint64_t)d[0] << 40 | (uint64_t)d[1] << 32 | (uint64_t)d[2] << 24 |
                   (uint64_t)d[3] << 16 | (uint64_t)d[4] << 8 | d[5];
    return (mac >> 24 ^ mac) & 0xffffff;
}

/* Commits f to the inner link now; a refusal is counted (the sender heard
 * 0 when it was put on the delay line). */
static void commit_late(struct fault_link *k, struct jet_frame *f)
{
    int rc = jet_link_tx_commit(k->inner, f);
    if (rc < 0 && rc != -EHOSTUNREACH) /* an unreachable station the inner link counts itself */
        k->c.refused++;
}

/* f leaves at due (never before the frame ahead of it): at once if nothing
 * waits and it is due, else on the delay line.  Consumes f. */
static int enqueue(struct fault_link *k, struct jet_frame *f, uint64_t due, uint64_t now)
{
    if (!k->clock)
        due = 0; /* nothing to wait for (now may be a time: a frame is held) */
    else if (due < k->last_due)
        due = k->last_due;
    k->last_due = due;
    if (k->n == 0 && due <= now)
        return pass(k, jet_link_tx_commit(k->inner, f));
    if (k->n == LINE_CAP) {
        jet_link_tx_abort(k->inner, f);
        k->c.dropped++;
        return jet_err_set(&k->base.err, -ENOBUFS,
                           "fault: %u frames wait in the delay line already (allocate before "
                           "committing)",
                           LINE_CAP);
    }
    struct pend *p = &k->line[(k->head + k->n++) % LINE_CAP];
    p->f = *f;
    p->due = due;
    return 0;
}

static void release_held(struct fault_link *k, uint64_t due, uint64_t now)
{
    k->has_held = false;
    enqueue(k, &k->held.f, due, now);
}

/* Commits the frames that are due, while the inner link has room. */
static void drain(struct fault_link *k, uint64_t now)
{
    if (k->has_held && now >= k->held_at + HOLD_NS)
        release_held(k, now, now);
    while (k->n && k->line[k->head].due <= now && jet_link_tx_room(k->inner) > 0) {
        struct jet_frame f = k->line[k->head].f;
        k->head = (k->head + 1) % LINE_CAP;
        k->n--;
        commit_late(k, &f);
    }
}

static int fault_tx_flush(struct jet_link *l)
{
    struct fault_link *k = K(l);
    if (k->n || k->has_held)
        drain(k, jet_now_ns());
    return pass(k, jet_link_tx_flush(k->inner));
}

static int fault_tx_alloc(struct jet_link *l, struct jet_frame *f)
{
    struct fault_link *k = K(l);
    if (k->n >= LINE_CAP - LINE_SLACK) {
        drain(k, jet_now_ns());
        if (k->n >= LINE_CAP - LINE_SLACK)
            return jet_err_set(&l->err, -EAGAIN, "fault: %u frames wait in the delay line", k->n);
    }
    return pass(k, jet_link_tx_alloc(k->inner, f));
}

static int fault_tx_commit(struct jet_link *l, struct jet_frame *f)
{
    struct fault_link *k = K(l);
    if (!k->draws && !k->clock && !k->n)
        return pass(k, jet_link_tx_commit(k->inner, f));
    uint64_t now = k->clock || k->has_held ? jet_now_ns() : 0, due = now;
    if (k->cfg.rate_bps) {
        uint64_t ser = (uint64_t)f->len * 8 * 1000000000ull / k->cfg.rate_bps;
        uint64_t start = k->medium_free > now ? k->medium_free : now;
        k->medium_free = start + ser;
        due = start + ser;
    }
    due += k->cfg.delay_ns;
    if (!k->draws)
        return enqueue(k, f, due, now);
    uint64_t dst = frame_dst(f);
    uint32_t slot = fault_flow_slot(k->flows, fault_flow_key(dst, f->encap, f->data, f->len));
    struct fault_verdict v;
    fault_draw(&k->cfg, k->flows, slot, k->me, &v);
    due += v.jitter_ns;
    if (v.lose) {
        k->c.lost++;
        jet_link_tx_abort(k->inner, f);
        return 0;
    }
    if (k->cfg.ber > 0 && fault_flip_bits(&v.rng, k->cfg.ber, f->data, f->len)) {
        k->c.corrupted++;
        if (k->base.caps.csum && f->encap == JET_ENCAP_ETH) {
            /* the medium promises frames intact or none (caps.csum: receivers trust
             * transport checksums to it): damaged, it fails the FCS, as on the LAN */
            jet_link_tx_abort(k->inner, f);
            return 0;
        }
    }
    struct jet_frame dup;
    bool has_dup = false;
    if (v.dup && f->len <= k->base.caps.max_frame && jet_link_tx_alloc(k->inner, &dup) == 0) {
        if (dup.cap >= f->len) {
            memcpy(dup.data, f->data, f->len);
            dup.len = f->len;
            dup.encap = f->encap;
            dup.cls = f->cls;
            has_dup = true;
            k->c.duplicated++;
        } else {
            jet_link_tx_abort(k->inner, &dup);
        }
    }
    if (v.reorder && !k->has_held) {
        /* Held back; goes out right after the next frame to dst. */
        k->c.reordered++;
        k->held.f = *f;
        k->held_dst = dst;
        k->held_at = now ? now : jet_now_ns();
        k->has_held = true;
        if (has_dup)
            enqueue(k, &dup, due, now);
        return 0;
    }
    int rc = enqueue(k, f, due, now);
    if (has_dup)
        enqueue(k, &dup, due, now);
    if (k->has_held && k->held_dst == dst)
        release_held(k, due, now);
    return rc;
}

static int fault_tx_room(struct jet_link *l)
{
    struct fault_link *k = K(l);
    if (k->n >= LINE_CAP - LINE_SLACK)
        return 0;
    int room = jet_link_tx_room(k->inner);
    if (room < 0) /* the inner link failed */
        return jet_err_set(&l->err, room, "%s", jet_link_error(k->inner));
    int line = (int)(LINE_CAP - LINE_SLACK - k->n);
    if (line < room)
        room = line;
    if (k->cfg.rate_bps && room > 0) {
        uint64_t now = jet_now_ns();
        if (k->medium_free > now + LOOKAHEAD_NS)
            return 0;
        uint64_t from = k->medium_free > now ? k->medium_free : now;
        uint64_t fit = (now + LOOKAHEAD_NS - from) / (k->ser_max ? k->ser_max : 1) + 1;
        if (fit < (uint64_t)room)
            room = (int)fit;
    }
    return room;
}

static int fault_wait(struct jet_link *l, int64_t timeout_ns)
{
    struct fault_link *k = K(l);
    if (k->n || k->has_held) {
        uint64_t now = jet_now_ns();
        drain(k, now);
        uint64_t next = UINT64_MAX;
        if (k->n)
            next = k->line[k->head].due > now ? k->line[k->head].due : now + BLOCKED_NS;
        if (k->has_held && k->held_at + HOLD_NS < next)
            next = k->held_at + HOLD_NS;
        if (next != UINT64_MAX) {
            uint64_t t = next > now ? next - now : 0;
            if (timeout_ns < 0 || t < (uint64_t)timeout_ns)
                timeout_ns = (int64_t)t;
        }
    }
    int rc = pass(k, jet_link_wait(k->inner, timeout_ns));
    if (k->n || k->has_held)
        drain(k, jet_now_ns());
    return rc;
}

static int fault_arm(struct jet_link *l)
{
    struct fault_link *k = K(l);
    if (k->n || k->has_held) {
        drain(k, jet_now_ns());
        if (k->n || k->has_held)
            return 1; /* frames wait to go out: keep polling */
    }
    return pass(k, jet_link_arm(k->inner));
}

static int fault_rx_burst(struct jet_link *l, struct jet_frame *f, unsigned max)
{
    struct fault_link *k = K(l);
    return pass(k, jet_link_rx_burst(k->inner, f, max));
}

static void fault_rx_release(struct jet_link *l, struct jet_frame *f, unsigned n)
{
    jet_link_rx_release(K(l)->inner, f, n);
}

static void fault_tx_abort(struct jet_link *l, struct jet_frame *f)
{
    jet_link_tx_abort(K(l)->inner, f);
}

static int fault_fd(struct jet_link *l)
{
    struct fault_link *k = K(l);
    return pass(k, jet_link_fd(k->inner));
}

static int fault_reserve(struct jet_link *l, int64_t delta_bps)
{
    struct fault_link *k = K(l);
    return pass(k, jet_link_reserve(k->inner, delta_bps));
}

static int fault_peer_alive(struct jet_link *l, uint32_t addr)
{
    struct fault_link *k = K(l);
    return pass(k, jet_link_peer_alive(k->inner, addr));
}

static int fault_stats(struct jet_link *l, struct jet_link_stats *o)
{
    struct fault_link *k = K(l);
    if (jet_link_stats(k->inner, o) < 0)
        memset(o, 0, sizeof *o); /* an inner link without counters: ours only */
    o->tx_dropped += k->c.dropped + k->c.refused;
    o->faults += k->c.lost + k->c.corrupted + k->c.duplicated + k->c.reordered;
    return 0;
}

int fault_link_counts(struct jet_link *l, struct fault_counts *out)
{
    if (!l || l->ops != &fault_ops)
        return -EINVAL;
    *out = K(l)->c;
    out->waiting = K(l)->n + K(l)->has_held;
    return 0;
}

static void fault_close(struct jet_link *l)
{
    struct fault_link *k = K(l);
    uint64_t now = jet_now_ns(), until = now + DRAIN_NS;
    if (k->has_held)
        release_held(k, now, now);
    while (k->n && k->line[k->head].due <= until && now < until) {
        drain(k, now);
        jet_link_tx_flush(k->inner);
        if (!k->n)
            break;
        uint64_t due = k->line[k->head].due, d = due > now ? due - now : BLOCKED_NS;
        if (d > 1000000)
            d = 1000000;
        struct timespec ts = {0, (long)d};
        nanosleep(&ts, NULL);
        now = jet_now_ns();
    }
    for (; k->n; k->n--, k->head = (k->head + 1) % LINE_CAP) {
        jet_link_tx_abort(k->inner, &k->line[k->head].f);
        k->c.dropped++; /* counted, never silent */
    }
    jet_link_close(k->inner);
    free(k->line);
    free(k);
}

static const struct jet_link_ops fault_ops = {
    .kind = "fault",
    .rx_burst = fault_rx_burst,
    .rx_release = fault_rx_release,
    .tx_alloc = fault_tx_alloc,
    .tx_abort = fault_tx_abort,
    .tx_commit = fault_tx_commit,
    .tx_flush = fault_tx_flush,
    .tx_room = fault_tx_room,
    .wait = fault_wait,
    .fd = fault_fd,
    .arm = fault_arm,
    .reserve = fault_reserve,
    .stats = fault_stats,
    .peer_alive = fault_peer_alive,
    .close = fault_close,
};

int fault_link_open(const char *s, const struct jet_link_name *n, const struct jet_link_opts *opts,
                    struct jet_link **out, struct jet_err *err)
{
    if (n->kind == JET_LINK_CAPTURE) /* the capture wrapper: src/link/capture.c */
        return capture_link_open(s, n, opts, out, err);
    if (n->kind != JET_LINK_FAULT)
        return jet_err_set(err, -EINVAL, "link '%s' is not a wrapper", s);
    struct fault_link *k = calloc(1, sizeof *k);
    struct pend *line = calloc(LINE_CAP, sizeof *line);
    if (!k || !line) {
        free(k);
        free(line);
        return jet_err_set(err, -ENOMEM, "out of memory");
    }
    int rc = jet_link_open(n->inner, opts, &k->inner, err);
    if (rc) {
        free(k);
        free(line);
        return rc;
    }
    k->line = line;
    k->cfg = n->fault;
    k->draws = fault_any(&k->cfg);
    k->clock = k->cfg.rate_bps || k->cfg.delay_ns || k->cfg.jitter_ns;
    k->base.ops = &fault_ops;
    k->base.caps = k->inner->caps;
    k->base.caps.tso = false; /* faults act on wire frames, not on 64 KiB TSO frames */
    k->me = k->inner->caps.addr;
    if (k->cfg.rate_bps) {
        if (!k->base.caps.rate_bps || k->cfg.rate_bps < k->base.caps.rate_bps)
            k->base.caps.rate_bps = k->cfg.rate_bps;
        k->ser_max = (uint64_t)k->base.caps.max_frame * 8 * 1000000000ull / k->cfg.rate_bps;
    }
    snprintf(k->base.name, sizeof k->base.name, "%s", s);
    *out = &k->base;
    return 0;
}

/* ---- names: fault:KEY=VAL,.../INNER and capture:PATH/INNER ---- */

enum { K_LOSS, K_BER, K_DUP, K_REORDER, K_DELAY, K_JITTER, K_RATE, K_SEED, K_N };
static const char *const keys[K_N] = {"loss",  "ber",    "dup",  "reorder",
                                      "delay", "jitter", "rate", "seed"};

static int fault_opt(const char *key, const char *val, struct jet_link_fault *c, unsigned *seen,
                     struct jet_err *err)
{
    int i = 0;
    while (i < K_N && strcmp(key, keys[i]))
        i++;
    if (i == K_N)
        return jet_err_set(err, -EINVAL,
                           "fault: unknown key '%s' (loss, ber, dup, reorder, delay, jitter, rate, "
                           "seed)",
                           key);
    if (*seen >> i & 1)
        return jet_err_set(err, -EINVAL, "fault: %s given twice", key);
    *seen |= 1u << i;
    double p = 0;
    uint64_t u;
    switch (i) {
    case K_LOSS:
    case K_DUP:
    case K_REORDER:
        if (jet_parse_prob(val, &p))
            return jet_err_set(err, -EINVAL,
                               "fault: %s=%s: want a probability (0..1, e.g. 0.01 or 1%%)", key, val);
        *(i == K_LOSS ? &c->loss : i == K_DUP ? &c->dup : &c->reorder) = p + 0.0; /* not -0 */
        return 0;
    case K_BER:
        if (jet_parse_prob(val, &p) || p > 0.5)
            return jet_err_set(err, -EINVAL,
                               "fault: ber=%s: want a probability per bit (0..0.5, e.g. 1e-7)", val);
        c->ber = p + 0.0;
        return 0;
    case K_DELAY:
    case K_JITTER:
        if (jet_parse_duration(val, &u) || u > JET_LAN_MAX_DELAY_NS)
            return jet_err_set(err, -EINVAL,
                               "fault: %s=%s: want a duration of at most 10 s (e.g. 50us)", key, val);
        *(i == K_DELAY ? &c->delay_ns : &c->jitter_ns) = u;
        return 0;
    case K_RATE:
        if (jet_parse_rate(val, &u) || (u && u < JET_LAN_MIN_RATE))
            return jet_err_set(err, -EINVAL,
                               "fault: rate=%s: want 0 (not limited) or at least 1M bit/s (e.g. "
                               "100M, 1G)",
                               val);
        c->rate_bps = u;
        return 0;
    default:
        if (jet_parse_u64(val, &u))
            return jet_err_set(err, -EINVAL, "fault: seed=%s: want a whole number", val);
        c->seed = u;
        return 0;
    }
}

static int parse_fault(const char *arg, struct jet_link_name *out, struct jet_err *err)
{
    const char *slash = strchr(arg, '/');
    if (!slash)
        return jet_err_set(err, -EINVAL,
                           "fault: expected fault:KEY=VAL,.../LINK, e.g. "
                           "fault:loss=1%%,seed=7/lan:x");
    if (slash == arg)
        return jet_err_set(err, -EINVAL, "fault: no KEY=VAL before '/'");
    unsigned seen = 0;
    for (const char *p = arg; p < slash;) {
        const char *end = memchr(p, ',', (size_t)(slash - p));
        if (!end)
            end = slash;
        char item[64];
        size_t n = (size_t)(end - p);
        if (n >= sizeof item)
            return jet_err_set(err, -EINVAL, "fault: option '%.*s' too long", (int)n, p);
        memcpy(item, p, n);
        item[n] = 0;
        char *eq = strchr(item, '=');
        if (!eq || eq == item)
            return jet_err_set(err, -EINVAL, "fault: '%s' is not KEY=VAL", item);
        *eq = 0;
        int rc = fault_opt(item, eq + 1, &out->fault, &seen, err);
        if (rc)
            return rc;
        p = end + (end < slash);
        if (end < slash && p == slash)
            return jet_err_set(err, -EINVAL, "fault: '' is not KEY=VAL");
    }
    struct jet_link_name in;
    int rc = jet_link_name_parse(slash + 1, &in, err);
    if (rc)
        return rc;
    strcpy(out->inner, slash + 1); /* shorter than arg, which is under 256 bytes */
    return 0;
}

/* capture:PATH/INNER: PATH ends at the first '/' after which a valid link
 * name follows (a path may hold '/'). */
static int parse_capture(const char *arg, struct jet_link_name *out, struct jet_err *err)
{
    for (const char *p = strchr(arg, '/'); p; p = strchr(p + 1, '/')) {
        struct jet_link_name in;
        if (p == arg || jet_link_name_parse(p + 1, &in, NULL))
            continue;
        memcpy(out->path, arg, (size_t)(p - arg));
        out->path[p - arg] = 0;
        strcpy(out->inner, p + 1);
        return 0;
    }
    return jet_err_set(err, -EINVAL,
                       "capture: expected capture:PATH/LINK, e.g. capture:/tmp/x.pcap/lan:x "
                       "(no link name after a '/' in '%s')",
                       arg);
}

int fault_name_parse(enum jet_link_kind kind, const char *arg, struct jet_link_name *out,
                     struct jet_err *err)
{
    out->kind = kind;
    return kind == JET_LINK_CAPTURE ? parse_capture(arg, out, err) : parse_fault(arg, out, err);
}
