/* iperf3 server engine (iperf3_srv.h): connections by handle, the test's phases,
 * deadlines.  The JSON texts are in iperf3_json.c.
 *
 * A test runs through these phases (what the server sends on the control
 * connection in brackets; docs/iperf3.md has the whole exchange):
 *   IDLE      no control connection.  The next open becomes the control.
 *   COOKIE    gathering the client's 37-byte cookie            -> [PARAM_EXCHANGE]
 *   PLEN      the parameters' 4-byte big-endian length
 *   PJSON     the parameters JSON; checked (iperf3_params_parse, then the limits):
 *             refused -> [SERVER_ERROR, error number, errno 0], END;
 *             accepted -> [CREATE_STREAMS]
 *   STREAMS   new connections are data connections: each must send the test's cookie;
 *             when `parallel` have joined                     -> [TEST_START, TEST_RUNNING]
 *   RUNNING   data flows (counted as received, or produced from the constant pattern
 *             with -R); the client's TEST_END freezes the counts, marks the data
 *             connections for close                           -> [EXCHANGE_RESULTS]
 *   RLEN/RSKIP the client's results (length, then skipped)    -> [results JSON, DISPLAY_RESULTS]
 *   DISPLAY   waiting for IPERF_DONE (or the control to close)
 *   END       the test is over: every connection marked for close; when the caller
 *             reports the control closed, back to IDLE.
 * Any connection opened while a test is past COOKIE and not in STREAMS gets
 * ACCESS_DENIED and is closed, as iperf3 -s does; so does a data connection whose
 * cookie is not the test's, or one beyond `parallel`.  The client closing the
 * control, CLIENT_TERMINATE, an unknown state byte or a deadline ends the test early.
 *
 * Slots: one per connection; a slot's role says what its bytes mean.  Data
 * connections keep their counts in the test's stream table (st[]), which outlives
 * the slot, so a stream closed early still appears in the results. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "app/iperf3_srv.h"

enum role { R_FREE = 0, R_CTRL, R_PENDING, R_DATA, R_DENY, R_CLOSING };
enum phase { P_IDLE = 0, P_COOKIE, P_PLEN, P_PJSON, P_STREAMS, P_RUNNING, P_RLEN, P_RSKIP,
             P_DISPLAY, P_END };

enum {
    PEEK_MAX = 4 << 20, /* bytes one peek of a data connection offers, at most */
};

#define SEC 1000000000ull

struct slot {
    uint8_t role;
    bool dirty;
    bool deny_sent;
    uint8_t got; /* R_PENDING: cookie bytes gathered */
    uint8_t cookie[IPERF3_COOKIE_LEN];
    int sidx; /* R_DATA: index into st[] */
};

struct tstream {
    unsigned id;
    int h;                /* its slot, -1 once closed */
    uint64_t bytes;       /* received, or handed to the transport (-R) */
    uint64_t bytes_omit;  /* bytes when the omitted seconds ended */
    uint64_t retrans;
    bool has_retrans;
};

struct iperf3_srv {
    struct iperf3_cfg cfg;
    struct slot slot[IPERF3_SLOTS];
    unsigned ndirty, scan;
    bool terminating;

    /* The test. */
    enum phase phase;
    int ctrl;
    uint8_t cookie[IPERF3_COOKIE_LEN];
    unsigned cgot;
    uint8_t lenbuf[4];
    unsigned lgot;
    uint32_t jlen, jgot; /* PJSON: gathered; RSKIP: skipped */
    struct iperf3_params prm;
    uint64_t len, limit, total_sent;
    unsigned nstreams;
    struct tstream st[IPERF3_MAX_STREAMS];
    uint64_t t_accept, t_start, t_omit_end, t_run_end, last_io, t_end;
    bool omit_pending;
    double cpu[3];
    struct iperf3_test_info cur;

    uint8_t *in;  /* parameters JSON (at most IPERF3_PARAMS_MAX), then our results */
    uint8_t *out; /* control output: [out_off, out_len) unsent */
    size_t out_off, out_len;
    uint8_t *pat; /* IPERF3_PAT bytes of payload, written by the first -R test */
    bool pat_ready;

    struct iperf3_stats stats;
    struct iperf3_test_info last;
};

static const uint8_t denied_byte = (uint8_t)IPERF3_ACCESS_DENIED;

static void touch(struct iperf3_srv *s, int h)
{
    if (!s->slot[h].dirty) {
        s->slot[h].dirty = true;
        s->ndirty++;
    }
}

struct iperf3_srv *iperf3_srv_create(const struct iperf3_cfg *cfg)
{
    struct iperf3_srv *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = *cfg;
    if (!s->cfg.max_streams || s->cfg.max_streams > IPERF3_MAX_STREAMS)
        s->cfg.max_streams = IPERF3_MAX_STREAMS;
    if (!s->cfg.setup_ns)
        s->cfg.setup_ns = 10 * SEC;
    if (!s->cfg.idle_ns)
        s->cfg.idle_ns = 30 * SEC;
    s->in = malloc(IPERF3_OUT_CAP); /* parameters, later the results text */
    s->out = malloc(IPERF3_OUT_CAP);
    s->pat = malloc(IPERF3_PAT);
    if (!s->in || !s->out || !s->pat) {
        iperf3_srv_destroy(s);
        return NULL;
    }
    s->ctrl = -1;
    return s;
}

void iperf3_srv_destroy(struct iperf3_srv *s)
{
    if (!s)
        return;
    free(s->in);
    free(s->out);
    free(s->pat);
    free(s);
}

/* ---- control output ---- */

static bool out_put(struct iperf3_srv *s, const void *p, size_t n)
{
    if (s->out_len + n > IPERF3_OUT_CAP && s->out_off) {
        memmove(s->out, s->out + s->out_off, s->out_len - s->out_off);
        s->out_len -= s->out_off;
        s->out_off = 0;
    }
    if (s->out_len + n > IPERF3_OUT_CAP)
        return false;
    memcpy(s->out + s->out_len, p, n);
    s->out_len += n;
    if (s->ctrl >= 0)
        touch(s, s->ctrl);
    return true;
}

static void send_state(struct iperf3_srv *s, int8_t st)
{
    uint8_t b = (uint8_t)st;
    out_put(s, &b, 1); /* a byte always fits after compaction but in a full buffer;
                          the test then ends by its deadline */
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ---- test lifetime ---- */

/* The test is over: every connection of it is marked for close. */
static void finish(struct iperf3_srv *s, enum iperf3_outcome o, uint64_t now)
{
    if (s->phase == P_IDLE || s->phase == P_END)
        return;
    s->cur.outcome = o;
    s->cur.reverse = s->prm.reverse;
    s->cur.streams = s->nstreams;
    if (o != IPERF3_OK && s->phase <= P_RUNNING) {
        /* Counts up to now, for the log. */
        uint64_t b = 0;
        for (unsigned i = 0; i < s->nstreams; i++)
            b += s->st[i].bytes - s->st[i].bytes_omit;
        s->cur.bytes = b;
        s->cur.ns = s->phase == P_RUNNING && now > s->t_start ? now - s->t_start : 0;
    }
    s->last = s->cur;
    s->stats.tests++;
    s->phase = P_END;
    for (int h = 0; h < IPERF3_SLOTS; h++) {
        struct slot *sl = &s->slot[h];
        if (sl->role == R_DATA || sl->role == R_PENDING) {
            if (sl->role == R_DATA)
                s->st[sl->sidx].h = -1;
            sl->role = R_CLOSING;
            touch(s, h);
        }
    }
    if (s->ctrl >= 0)
        touch(s, s->ctrl);
}

/* The control connection is gone: back to IDLE. */
static void reset_test(struct iperf3_srv *s)
{
    s->phase = P_IDLE;
    s->ctrl = -1;
    s->cgot = s->lgot = 0;
    s->jlen = s->jgot = 0;
    s->out_off = s->out_len = 0;
    s->nstreams = 0;
    s->total_sent = 0;
    s->omit_pending = false;
    memset(&s->prm, 0, sizeof s->prm);
    memset(&s->cur, 0, sizeof s->cur);
}

static void refuse(struct iperf3_srv *s, int ierr, uint64_t now)
{
    uint8_t b[9];
    b[0] = (uint8_t)IPERF3_SERVER_ERROR;
    put_be32(b + 1, (uint32_t)ierr);
    put_be32(b + 5, 0); /* errno: none, so the client adds no strerror text */
    out_put(s, b, sizeof b);
    s->cur.ierr = ierr;
    finish(s, IPERF3_REFUSED, now);
}

static void omit_check(struct iperf3_srv *s, uint64_t now)
{
    if (!s->omit_pending || now < s->t_omit_end)
        return;
    s->omit_pending = false;
    s->t_start = s->t_omit_end;
    for (unsigned i = 0; i < s->nstreams; i++)
        s->st[i].bytes_omit = s->st[i].bytes;
}

static void start_test(struct iperf3_srv *s, uint64_t now)
{
    if (s->prm.reverse && !s->pat_ready) {
        /* Pseudo-random payload (iperf3 sends random bytes too): nothing on the path
         * can compress it.  Fixed seed: runs are reproducible.  Written once. */
        uint64_t x = 0x9e3779b97f4a7c15ull;
        for (size_t i = 0; i < IPERF3_PAT; i += 8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            memcpy(s->pat + i, &x, 8);
        }
        s->pat_ready = true;
    }
    send_state(s, IPERF3_TEST_START);
    send_state(s, IPERF3_TEST_RUNNING);
    s->phase = P_RUNNING;
    s->t_start = now;
    s->omit_pending = s->prm.omit > 0;
    s->t_omit_end = now + (uint64_t)s->prm.omit * SEC;
    s->t_run_end =
        s->prm.time ? now + (uint64_t)(s->prm.time + s->prm.omit + IPERF3_SERVER_GRACE) * SEC : 0;
    if (s->cfg.ops.cpu_util) {
        double pct[3];
        s->cfg.ops.cpu_util(s->cfg.ctx, pct);
    }
    for (unsigned i = 0; i < s->nstreams; i++)
        if (s->st[i].h >= 0)
            touch(s, s->st[i].h);
}

static void test_end(struct iperf3_srv *s, uint64_t now)
{
    omit_check(s, now);
    s->t_end = now;
    uint64_t total = 0;
    for (unsigned i = 0; i < s->nstreams; i++) {
        struct tstream *t = &s->st[i];
        if (s->prm.reverse && s->cfg.ops.retransmits && t->h >= 0) {
            t->retrans = s->cfg.ops.retransmits(s->cfg.ctx, t->h);
            t->has_retrans = true;
        }
        total += t->bytes - t->bytes_omit;
    }
    s->cpu[0] = s->cpu[1] = s->cpu[2] = 0;
    if (s->cfg.ops.cpu_util)
        s->cfg.ops.cpu_util(s->cfg.ctx, s->cpu);
    s->cur.bytes = total;
    s->cur.ns = now > s->t_start ? now - s->t_start : 0;
    /* The data connections are done (iperf3 closes them here too). */
    for (unsigned i = 0; i < s->nstreams; i++) {
        int h = s->st[i].h;
        if (h >= 0) {
            s->slot[h].role = R_CLOSING;
            touch(s, h);
            s->st[i].h = -1;
        }
    }
    send_state(s, IPERF3_EXCHANGE_RESULTS);
    s->phase = P_RLEN;
    s->lgot = 0;
}

static void send_results(struct iperf3_srv *s, uint64_t now)
{
    struct iperf3_result_stream rs[IPERF3_MAX_STREAMS];
    bool rtx = s->prm.reverse && s->cfg.ops.retransmits;
    for (unsigned i = 0; i < s->nstreams; i++) {
        rs[i].id = s->st[i].id;
        rs[i].bytes = s->st[i].bytes - s->st[i].bytes_omit;
        rs[i].retransmits = rtx && s->st[i].has_retrans ? (int64_t)s->st[i].retrans : -1;
    }
    /* Forward: the server is the receiver and says -1, as iperf3 does. */
    int shr = s->prm.reverse ? (rtx ? 1 : 0) : -1;
    uint8_t hdr[4];
    char *buf = (char *)s->in; /* the parameters are long parsed: reuse their buffer */
    int n = iperf3_results_json(buf, IPERF3_OUT_CAP - 8, s->cpu, shr, rs, s->nstreams,
                                s->t_end > s->t_start ? s->t_end - s->t_start : 0);
    if (n < 0) {
        finish(s, IPERF3_ABORTED, now);
        return;
    }
    put_be32(hdr, (uint32_t)n);
    if (!out_put(s, hdr, 4) || !out_put(s, buf, (size_t)n)) {
        finish(s, IPERF3_ABORTED, now);
        return;
    }
    send_state(s, IPERF3_DISPLAY_RESULTS);
    s->phase = P_DISPLAY;
}

/* The parameters are in s->in[0, jlen): accept or refuse them. */
static void params_done(struct iperf3_srv *s, uint64_t now)
{
    struct iperf3_params *p = &s->prm;
    if (iperf3_params_parse(s->in, s->jlen, p)) {
        refuse(s, IPERF3_IE_RECVPARAMS, now);
        return;
    }
    if (p->udp || p->sctp || p->bidirectional) {
        refuse(s, IPERF3_IE_UNIMP, now);
        return;
    }
    if (p->parallel == 0)
        p->parallel = 1;
    if (p->parallel < 0 || p->parallel > (int64_t)s->cfg.max_streams) {
        refuse(s, IPERF3_IE_NUMSTREAMS, now);
        return;
    }
    if (p->len == 0)
        p->len = IPERF3_DEFAULT_LEN;
    if (p->len < 0 || p->len > IPERF3_MAX_LEN) {
        refuse(s, IPERF3_IE_BLOCKSIZE, now);
        return;
    }
    if (p->time < 0 || p->time > IPERF3_MAX_TIME) {
        refuse(s, IPERF3_IE_DURATION, now);
        return;
    }
    if (p->omit < 0 || p->omit > IPERF3_MAX_OMIT) {
        refuse(s, IPERF3_IE_OMIT, now);
        return;
    }
    if (p->num < 0 || p->blockcount < 0) {
        refuse(s, IPERF3_IE_RECVPARAMS, now);
        return;
    }
    s->len = (uint64_t)p->len;
    /* Sending (-R) stops at a block boundary once this many bytes went out in all. */
    s->limit = 0;
    if (p->num)
        s->limit = (uint64_t)p->num;
    else if (p->blockcount)
        s->limit = (uint64_t)p->blockcount > UINT64_MAX / s->len ? UINT64_MAX
                                                                 : (uint64_t)p->blockcount * s->len;
    send_state(s, IPERF3_CREATE_STREAMS);
    s->phase = P_STREAMS;
}

/* A state byte from the client after the parameters. */
static void ctrl_state(struct iperf3_srv *s, int8_t st, uint64_t now)
{
    switch (st) {
    case IPERF3_TEST_END:
        if (s->phase == P_RUNNING)
            test_end(s, now);
        else
            finish(s, IPERF3_ABORTED, now);
        break;
    case IPERF3_TEST_START: /* iperf3 -s ignores it too */
        break;
    case IPERF3_IPERF_DONE:
        finish(s, s->phase == P_DISPLAY ? IPERF3_OK : IPERF3_ABORTED, now);
        break;
    default: /* CLIENT_TERMINATE, or a byte that is no state */
        finish(s, IPERF3_ABORTED, now);
        break;
    }
}

static size_t take(uint8_t *dst, unsigned *got, unsigned want, const uint8_t *p, size_t n)
{
    size_t k = want - *got < n ? want - *got : n;
    memcpy(dst + *got, p, k);
    *got += (unsigned)k;
    return k;
}

static uint32_t get_be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void ctrl_input(struct iperf3_srv *s, const uint8_t *p, size_t n, uint64_t now)
{
    while (n) {
        size_t k;
        switch (s->phase) {
        case P_COOKIE:
            k = take(s->cookie, &s->cgot, IPERF3_COOKIE_LEN, p, n);
            if (s->cgot == IPERF3_COOKIE_LEN) {
                if (s->cookie[IPERF3_COOKIE_LEN - 1] != 0) {
                    finish(s, IPERF3_ABORTED, now); /* not a client: no cookie string */
                } else {
                    send_state(s, IPERF3_PARAM_EXCHANGE);
                    s->phase = P_PLEN;
                    s->lgot = 0;
                }
            }
            break;
        case P_PLEN:
            k = take(s->lenbuf, &s->lgot, 4, p, n);
            if (s->lgot == 4) {
                s->jlen = get_be32(s->lenbuf);
                s->jgot = 0;
                if (s->jlen == 0 || s->jlen > IPERF3_PARAMS_MAX)
                    refuse(s, IPERF3_IE_RECVPARAMS, now);
                else
                    s->phase = P_PJSON;
            }
            break;
        case P_PJSON:
            k = take(s->in, &s->jgot, s->jlen, p, n);
            if (s->jgot == s->jlen)
                params_done(s, now);
            break;
        case P_STREAMS:
        case P_RUNNING:
        case P_DISPLAY:
            k = 1;
            ctrl_state(s, (int8_t)p[0], now);
            break;
        case P_RLEN:
            k = take(s->lenbuf, &s->lgot, 4, p, n);
            if (s->lgot == 4) {
                s->jlen = get_be32(s->lenbuf);
                s->jgot = 0;
                if (s->jlen > IPERF3_RESULTS_MAX)
                    finish(s, IPERF3_ABORTED, now);
                else if (s->jlen == 0)
                    send_results(s, now);
                else
                    s->phase = P_RSKIP;
            }
            break;
        case P_RSKIP:
            k = s->jlen - s->jgot < n ? s->jlen - s->jgot : n;
            s->jgot += (uint32_t)k;
            if (s->jgot == s->jlen)
                send_results(s, now);
            break;
        default: /* END: nothing more is read */
            return;
        }
        p += k;
        n -= k;
    }
}

/* ---- data connections ---- */

static void data_input(struct iperf3_srv *s, struct slot *sl, size_t n)
{
    if (!s->prm.reverse)
        s->st[sl->sidx].bytes += n;
    /* -R: the client sends nothing after its cookie; anything else is dropped. */
}

/* The cookie of a would-be data connection is complete. */
static void pending_done(struct iperf3_srv *s, int h, uint64_t now)
{
    struct slot *sl = &s->slot[h];
    if (memcmp(sl->cookie, s->cookie, IPERF3_COOKIE_LEN)) {
        s->stats.bad_cookie++;
        s->stats.denied++;
        sl->role = R_DENY;
    } else if (s->phase != P_STREAMS || s->nstreams >= (unsigned)s->prm.parallel) {
        s->stats.denied++;
        sl->role = R_DENY;
    } else {
        unsigned i = s->nstreams++;
        /* iperf3 numbers its streams 1, 3, 4, 5, ... on both sides (iperf_add_stream);
         * the client looks up each result by this id. */
        s->st[i] = (struct tstream){.id = i ? i + 2 : 1, .h = h};
        sl->role = R_DATA;
        sl->sidx = (int)i;
        if (s->nstreams == (unsigned)s->prm.parallel)
            start_test(s, now);
    }
    touch(s, h);
}

/* Bytes data connection sl may still be offered (-R). */
static uint64_t data_avail(const struct iperf3_srv *s, const struct slot *sl)
{
    if (sl->role != R_DATA || s->phase != P_RUNNING || !s->prm.reverse)
        return 0;
    if (!s->limit)
        return UINT64_MAX;
    uint64_t pos = s->st[sl->sidx].bytes % s->len;   /* within the current block */
    uint64_t to_blk = pos ? s->len - pos : 0;
    if (s->total_sent >= s->limit)
        return to_blk; /* only the rest of the block begun */
    uint64_t rem = s->limit - s->total_sent;
    if (rem <= to_blk)
        return to_blk;
    rem -= to_blk;
    return to_blk + (rem + s->len - 1) / s->len * s->len;
}

/* ---- the API ---- */

int iperf3_srv_open(struct iperf3_srv *s, uint64_t now)
{
    int h = -1;
    for (int i = 0; i < IPERF3_SLOTS; i++)
        if (s->slot[i].role == R_FREE) {
            h = i;
            break;
        }
    if (h < 0) {
        s->stats.full++;
        return -ENOSPC;
    }
    struct slot *sl = &s->slot[h];
    memset(sl, 0, sizeof *sl);
    if (s->phase == P_IDLE && !s->terminating) {
        reset_test(s);
        sl->role = R_CTRL;
        s->ctrl = h;
        s->phase = P_COOKIE;
        s->t_accept = s->last_io = now;
    } else if (s->phase == P_STREAMS && !s->terminating) {
        sl->role = R_PENDING;
    } else {
        sl->role = R_DENY; /* iperf3 -s: busy, and it does not read the cookie */
        s->stats.denied++;
    }
    touch(s, h);
    return h;
}

void iperf3_srv_input(struct iperf3_srv *s, int h, const uint8_t *p, size_t n, uint64_t now)
{
    if (h < 0 || h >= IPERF3_SLOTS || !n)
        return;
    struct slot *sl = &s->slot[h];
    omit_check(s, now);
    switch (sl->role) {
    case R_CTRL:
        s->last_io = now;
        ctrl_input(s, p, n, now);
        break;
    case R_PENDING: {
        unsigned got = sl->got;
        size_t k = take(sl->cookie, &got, IPERF3_COOKIE_LEN, p, n);
        sl->got = (uint8_t)got;
        s->last_io = now;
        if (sl->got == IPERF3_COOKIE_LEN) {
            pending_done(s, h, now);
            if (sl->role == R_DATA && n > k)
                data_input(s, sl, n - k);
        }
        break;
    }
    case R_DATA:
        s->last_io = now;
        data_input(s, sl, n);
        break;
    default: /* DENY, CLOSING: not read */
        break;
    }
}

int iperf3_srv_peek(struct iperf3_srv *s, int h, struct iovec *iov, int max)
{
    if (h < 0 || h >= IPERF3_SLOTS || max < 1)
        return 0;
    struct slot *sl = &s->slot[h];
    switch (sl->role) {
    case R_CTRL:
        if (s->out_off == s->out_len)
            return 0;
        iov[0].iov_base = s->out + s->out_off;
        iov[0].iov_len = s->out_len - s->out_off;
        return 1;
    case R_DENY:
        if (sl->deny_sent)
            return 0;
        iov[0].iov_base = (void *)&denied_byte;
        iov[0].iov_len = 1;
        return 1;
    case R_DATA: {
        uint64_t avail = data_avail(s, sl);
        if (avail > PEEK_MAX)
            avail = PEEK_MAX;
        /* Blocks by reference: the payload at stream offset o is pat[o % IPERF3_PAT]. */
        size_t off = (size_t)(s->st[sl->sidx].bytes % IPERF3_PAT);
        int k = 0;
        while (avail && k < max) {
            size_t m = IPERF3_PAT - off;
            if (m > avail)
                m = (size_t)avail;
            iov[k].iov_base = s->pat + off;
            iov[k].iov_len = m;
            k++;
            avail -= m;
            off = 0;
        }
        return k;
    }
    default:
        return 0;
    }
}

void iperf3_srv_sent(struct iperf3_srv *s, int h, size_t n, uint64_t now)
{
    if (h < 0 || h >= IPERF3_SLOTS || !n)
        return;
    struct slot *sl = &s->slot[h];
    omit_check(s, now);
    switch (sl->role) {
    case R_CTRL:
        if (n > s->out_len - s->out_off)
            n = s->out_len - s->out_off;
        s->out_off += n;
        if (s->out_off == s->out_len)
            s->out_off = s->out_len = 0;
        s->last_io = now;
        break;
    case R_DENY:
        sl->deny_sent = true;
        break;
    case R_DATA: {
        uint64_t avail = data_avail(s, sl);
        if (n > avail)
            n = (size_t)avail;
        s->st[sl->sidx].bytes += n;
        s->total_sent += n;
        s->last_io = now;
        break;
    }
    default:
        return;
    }
    /* h is not listed as changed: the caller looks at its status after sending. */
}

void iperf3_srv_closed(struct iperf3_srv *s, int h, uint64_t now)
{
    if (h < 0 || h >= IPERF3_SLOTS)
        return;
    struct slot *sl = &s->slot[h];
    switch (sl->role) {
    case R_CTRL:
        /* Closing after the results were displayed is how some clients say done. */
        finish(s, s->phase == P_DISPLAY ? IPERF3_OK : IPERF3_ABORTED, now);
        reset_test(s);
        break;
    case R_DATA: {
        struct tstream *t = &s->st[sl->sidx];
        if (s->prm.reverse && s->cfg.ops.retransmits) {
            t->retrans = s->cfg.ops.retransmits(s->cfg.ctx, h);
            t->has_retrans = true;
        }
        t->h = -1; /* its count stays for the results */
        break;
    }
    default:
        break;
    }
    if (sl->dirty)
        s->ndirty--;
    memset(sl, 0, sizeof *sl);
}

unsigned iperf3_srv_status(const struct iperf3_srv *s, int h)
{
    if (h < 0 || h >= IPERF3_SLOTS)
        return 0;
    const struct slot *sl = &s->slot[h];
    switch (sl->role) {
    case R_CTRL:
        return (s->out_off < s->out_len ? IPERF3_WANT_SEND : 0) |
               (s->phase == P_END ? IPERF3_CLOSE : 0);
    case R_DENY:
        return (sl->deny_sent ? 0 : IPERF3_WANT_SEND) | IPERF3_CLOSE;
    case R_DATA:
        return data_avail(s, sl) ? IPERF3_WANT_SEND : 0;
    case R_CLOSING:
        return IPERF3_CLOSE;
    default:
        return 0;
    }
}

int iperf3_srv_next_dirty(struct iperf3_srv *s)
{
    if (!s->ndirty)
        return -1;
    for (int i = 0; i < IPERF3_SLOTS; i++) {
        unsigned h = (s->scan + (unsigned)i) % IPERF3_SLOTS;
        if (s->slot[h].dirty) {
            s->slot[h].dirty = false;
            s->ndirty--;
            s->scan = h + 1;
            return (int)h;
        }
    }
    s->ndirty = 0;
    return -1;
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
    return !a ? b : !b ? a : a < b ? a : b;
}

uint64_t iperf3_srv_timeout(const struct iperf3_srv *s)
{
    uint64_t t = 0;
    if (s->phase == P_IDLE || s->phase == P_END)
        return 0;
    if (s->phase < P_RUNNING)
        t = earliest(t, s->t_accept + s->cfg.setup_ns);
    if (s->omit_pending)
        t = earliest(t, s->t_omit_end);
    if (s->phase == P_RUNNING && s->t_run_end)
        t = earliest(t, s->t_run_end);
    return earliest(t, s->last_io + s->cfg.idle_ns);
}

void iperf3_srv_tick(struct iperf3_srv *s, uint64_t now)
{
    omit_check(s, now);
    if (s->phase == P_IDLE || s->phase == P_END)
        return;
    if ((s->phase < P_RUNNING && now >= s->t_accept + s->cfg.setup_ns) ||
        (s->phase == P_RUNNING && s->t_run_end && now >= s->t_run_end) ||
        now >= s->last_io + s->cfg.idle_ns)
        finish(s, IPERF3_TIMED_OUT, now);
}

void iperf3_srv_terminate(struct iperf3_srv *s, uint64_t now)
{
    s->terminating = true;
    if (s->phase != P_IDLE && s->phase != P_END) {
        if (s->phase > P_COOKIE)
            send_state(s, IPERF3_SERVER_TERMINATE);
        finish(s, IPERF3_TERMINATED, now);
    }
    for (int h = 0; h < IPERF3_SLOTS; h++)
        if (s->slot[h].role == R_PENDING) {
            s->slot[h].role = R_CLOSING;
            touch(s, h);
        }
}

const struct iperf3_stats *iperf3_srv_stats(const struct iperf3_srv *s)
{
    return &s->stats;
}

const struct iperf3_test_info *iperf3_srv_last(const struct iperf3_srv *s)
{
    return &s->last;
}

bool iperf3_srv_busy(const struct iperf3_srv *s)
{
    return s->ctrl >= 0;
}
