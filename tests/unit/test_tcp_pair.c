/* Two TCP cores pumped in memory (src/tcp/tcp_core.h): client and server (the
 * server's tuple the client's mirrored), a virtual clock, and a link model per
 * direction with a rate and a one-way delay (so queues form), a bottleneck buffer
 * (tail drop), seeded random loss, reordering and duplication.
 *
 * Over a grid of loss x reorder x duplication x link buffer (3 x 3 x 2 x 3 = 54 cells,
 * CUBIC, SACK and timestamps on), then rows with NewReno, SACK off, timestamps off and
 * larger transfers: both sides send a stream of PRNG bytes (a different stream each
 * way) and close; every byte must arrive exactly once and in order (compared as it is
 * read), both ends must close cleanly (TIME_WAIT then CLOSED, no error), every core
 * invariant must hold after every step, and two runs of the same seed must give the
 * same results (segments, retransmissions, timeouts, virtual completion time).  The
 * table of results is printed (compact, one line per cell).
 *
 * In a third of the grid the client sends by reference (tcp_send_ref, cookies back in
 * order) and the server receives through a sink hook (each range checked at its
 * offset, counted once: "zs"); in another third the client receives into a registered
 * ring and the server sends by reference ("zr").  Segments from the server go out by
 * tcp_output_iov in odd cells, with TCP_OUT_CSUM_PARTIAL (the checksum completed as a
 * device would) in every other one of those; the client verifies every checksum.
 *
 * Link: 1 Gb/s (8 ns a byte), 50 us one way; a frame held back 20..120 us with
 * probability `reorder`, a copy 1..50 us after it with probability `dup`. */
#include <errno.h>
#include <stdbool.h>

#include "check.h"
#include "jet/inet.h"
#include "jet/tcp.h"
#include "tcp/tcp_core.h"
#include "util/rng.h"
#include "xport/xp_cc.h"

enum { MSSZ = 1460, SEG_CAP = MSSZ + 60, HEAP_MAX = 16384, CHUNK = 32768 };
static const uint64_t US = 1000, MS = 1000000, SEC = 1000000000ull;
static const uint64_t START = 1000000000ull;

/* ---- the link ---- */

struct pkt {
    uint64_t at, order; /* delivery time, then FIFO among equal times */
    uint16_t len;
    uint8_t data[SEG_CAP];
};

struct dir {
    struct pkt *heap[HEAP_MAX];
    int n;
    uint64_t free_at; /* serializer busy until */
    uint64_t sent, dropped, duped;
};

struct sim {
    struct jet_rng rng;
    double loss, reorder, dup;
    uint64_t qbuf; /* bottleneck buffer, bytes */
    struct dir d[2]; /* 0: client -> server, 1: server -> client */
    uint64_t now, order;
    struct pkt *pool;
    int pool_n;
    struct pkt **freel;
    int free_n;
};

static bool before(const struct pkt *a, const struct pkt *b)
{
    return a->at < b->at || (a->at == b->at && a->order < b->order);
}

static void heap_push(struct dir *d, struct pkt *p)
{
    int i = d->n++;
    while (i > 0) {
        int up = (i - 1) / 2;
        if (!before(p, d->heap[up]))
            break;
        d->heap[i] = d->heap[up];
        i = up;
    }
    d->heap[i] = p;
}

static struct pkt *heap_pop(struct dir *d)
{
    struct pkt *top = d->heap[0], *last = d->heap[--d->n];
    int i = 0;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        const struct pkt *best = last;
        if (l < d->n && before(d->heap[l], best)) {
            m = l;
            best = d->heap[l];
        }
        if (r < d->n && before(d->heap[r], best))
            m = r;
        if (m == i)
            break;
        d->heap[i] = d->heap[m];
        i = m;
    }
    if (d->n)
        d->heap[i] = last;
    return top;
}

static struct pkt *pkt_get(struct sim *s)
{
    return s->free_n ? s->freel[--s->free_n] : NULL;
}

static void pkt_put(struct sim *s, struct pkt *p)
{
    s->freel[s->free_n++] = p;
}

static void link_send(struct sim *s, int dir, const uint8_t *seg, size_t len)
{
    struct dir *d = &s->d[dir];
    d->sent++;
    uint64_t start = d->free_at > s->now ? d->free_at : s->now;
    if ((start - s->now) / 8 + len > s->qbuf || d->n >= HEAP_MAX - 1) {
        d->dropped++; /* tail drop */
        return;
    }
    d->free_at = start + (uint64_t)(len + 40) * 8;
    if (jet_rng_unit(&s->rng) < s->loss) {
        d->dropped++;
        return;
    }
    struct pkt *p = pkt_get(s);
    REQUIRE(p);
    p->at = d->free_at + 50 * US;
    if (s->reorder > 0 && jet_rng_unit(&s->rng) < s->reorder)
        p->at += 20 * US + jet_rng_next(&s->rng) % (100 * US);
    p->order = s->order++;
    p->len = (uint16_t)len;
    memcpy(p->data, seg, len);
    heap_push(d, p);
    if (s->dup > 0 && jet_rng_unit(&s->rng) < s->dup) {
        struct pkt *q = pkt_get(s);
        REQUIRE(q);
        *q = *p;
        q->at = p->at + 1 * US + jet_rng_next(&s->rng) % (50 * US);
        q->order = s->order++;
        heap_push(d, q);
        d->duped++;
    }
}

/* ---- the applications: a PRNG stream each way ---- */

static inline uint8_t stream_byte(int k, uint64_t off)
{
    return (uint8_t)(jet_mix64((off >> 3) ^ ((uint64_t)(k + 1) << 56)) >> (8 * (off & 7)));
}

struct app {
    struct tcp_conn *c;
    int k;               /* its stream (0 client, 1 server) */
    uint64_t total;      /* to send */
    uint64_t queued;
    uint64_t expect, got;
    bool shut, eof, bad;
    const uint8_t *src;  /* send by reference from here (NULL: copy) */
    uint64_t refs, completed;
    bool sink;           /* receive through the sink hook (bytes counted in got) */
};

/* Sink hook: each range once, at its stream offset. */
static int sink_check(void *arg, uint64_t off, const uint8_t *p, size_t len)
{
    struct app *a = arg;
    for (size_t i = 0; i < len; i++)
        if (p[i] != stream_byte(1 - a->k, off + i))
            a->bad = true;
    a->got += len;
    return 0;
}

static void app_step(struct app *p, uint64_t now)
{
    static uint8_t buf[CHUNK];
    while (p->src && p->queued < p->total) {
        size_t len = p->total - p->queued < 4 * CHUNK ? (size_t)(p->total - p->queued) : 4 * CHUNK;
        if (tcp_send_ref(p->c, p->src + p->queued, len, p->refs) != 0)
            break;
        p->refs++;
        p->queued += len;
    }
    uint64_t ck[8];
    int nc;
    while ((nc = tcp_completed(p->c, ck, 8)) > 0)
        for (int i = 0; i < nc; i++)
            if (ck[i] != p->completed++)
                p->bad = true; /* cookies come back in order */
    while (p->queued < p->total) {
        size_t len = p->total - p->queued < CHUNK ? (size_t)(p->total - p->queued) : CHUNK;
        uint64_t room = tcp_send_space(p->c);
        if (room == 0)
            break;
        if (len > room)
            len = (size_t)room;
        for (size_t i = 0; i < len; i++)
            buf[i] = stream_byte(p->k, p->queued + i);
        ssize_t m = tcp_send(p->c, buf, len);
        if (m <= 0)
            break;
        p->queued += (uint64_t)m;
    }
    if (p->queued == p->total && !p->shut) {
        CHECK_EQ(tcp_shutdown(p->c, now), 0);
        p->shut = true;
    }
    while (p->sink && !p->eof) {
        if (!tcp_recv_eof(p->c))
            return;
        p->eof = true;
    }
    while (!p->eof) {
        ssize_t m = tcp_recv(p->c, buf, sizeof buf);
        if (m == 0) {
            p->eof = true;
            break;
        }
        if (m < 0)
            break;
        for (ssize_t i = 0; i < m; i++)
            if (buf[i] != stream_byte(1 - p->k, p->got + (uint64_t)i))
                p->bad = true;
        p->got += (uint64_t)m;
    }
}

/* ---- one run ---- */

struct variant {
    const struct xp_cc_ops *cc; /* NULL: the default (CUBIC) */
    bool no_sack, no_ts;
    uint32_t rcvbuf;
    uint64_t bytes; /* each way */
    int zc;         /* 1: the client sends by reference, the server receives into a
                       sink; 2: the client receives into a registered ring, the server
                       sends by reference; 0: copies */
};

struct result {
    bool ok;
    uint64_t done_ns;
    uint64_t segs[2], retx[2], rto[2], fast[2], tlp[2], drops, dups;
};

static bool inv(struct tcp_conn *c, const char *who, uint64_t now)
{
    const char *v = tcp_invariant_violation(c);
    if (v)
        fprintf(stderr, "invariant broken (%s) at %.3f ms: %s\n", who,
                (double)(now - START) / 1e6, v);
    return !v;
}

static struct result run(uint64_t seed, double loss, double reorder, double dup, uint64_t qbuf,
                         const struct variant *v, bool iov_out)
{
    bool partial = iov_out && seed % 4 == 1;
    struct result res;
    memset(&res, 0, sizeof res);
    static struct sim s;
    memset(&s, 0, sizeof s);
    s.rng.s = seed;
    s.loss = loss;
    s.reorder = reorder;
    s.dup = dup;
    s.qbuf = qbuf;
    s.now = START;
    s.pool = malloc(sizeof(struct pkt) * HEAP_MAX);
    s.freel = malloc(sizeof(struct pkt *) * HEAP_MAX);
    REQUIRE(s.pool && s.freel);
    for (int i = 0; i < HEAP_MAX; i++)
        s.freel[s.free_n++] = &s.pool[i];

    struct tcp_cfg ka;
    memset(&ka, 0, sizeof ka);
    ka.t = (struct tcp_tuple){.laddr = 0xC6120001u, .raddr = 0xC6120002u, .lport = 40001,
                              .rport = 5001};
    ka.mss = MSSZ;
    ka.rcvbuf_bytes = v->rcvbuf;
    ka.sndbuf_bytes = 256 * 1024;
    ka.rto_min_ns = 1 * MS;
    ka.rto_init_ns = 20 * MS; /* a lost SYN costs 20 ms, not 1 s */
    ka.time_wait_ns = 10 * MS;
    ka.cc = v->cc;
    ka.no_sack = v->no_sack;
    ka.no_ts = v->no_ts;
    ka.isn = (uint32_t)jet_mix64(seed) | 0xFFFF0000u; /* wraps early */
    ka.ts_offset = (uint32_t)jet_mix64(seed + 7);
    struct tcp_cfg kb = ka;
    kb.t = (struct tcp_tuple){.laddr = ka.t.raddr, .raddr = ka.t.laddr, .lport = ka.t.rport,
                              .rport = ka.t.lport};
    kb.isn = (uint32_t)jet_mix64(seed + 1);
    kb.ts_offset = (uint32_t)jet_mix64(seed + 8);
    struct app ap[2];
    memset(ap, 0, sizeof ap);
    ka.rcvbuf_external = v->zc == 2;
    kb.rcvbuf_external = v->zc == 1;
    REQUIRE(tcp_create(&ka, &ap[0].c) == 0);
    REQUIRE(tcp_create(&kb, &ap[1].c) == 0);
    struct tcp_conn *ep[2] = {ap[0].c, ap[1].c};
    uint8_t *src = NULL, *ring = NULL;
    for (int k = 0; k < 2; k++) {
        ap[k].k = k;
        ap[k].total = ap[k].expect = v->bytes;
    }
    if (v->zc) {
        int sender = v->zc == 1 ? 0 : 1;
        src = malloc(v->bytes);
        REQUIRE(src);
        for (uint64_t i = 0; i < v->bytes; i++)
            src[i] = stream_byte(sender, i);
        ap[sender].src = src;
    }
    if (v->zc == 1) {
        ap[1].sink = true;
        REQUIRE(tcp_recv_sink(ep[1], sink_check, &ap[1], v->rcvbuf) == 0);
    } else if (v->zc == 2) {
        ring = malloc(v->rcvbuf);
        REQUIRE(ring);
        REQUIRE(tcp_recv_register(ep[0], ring, v->rcvbuf) == 0);
    }
    uint8_t seg[SEG_CAP + 64];
    REQUIRE(tcp_connect(ep[0], s.now) == 0);
    int n = tcp_output(ep[0], s.now, seg, sizeof seg);
    REQUIRE(n > 0);
    s.now += 50 * US;
    REQUIRE(tcp_accept_syn(ep[1], seg, (size_t)n, 0, s.now) == 0);

    bool ok = true;
    uint64_t limit = s.now + 60 * SEC;
    long steps = 0, still = 0;
    while (ok) {
        /* deliver what is due (the client verifies checksums, the server trusts them) */
        for (int dir = 0; dir < 2; dir++) {
            struct dir *d = &s.d[dir];
            while (d->n && d->heap[0]->at <= s.now) {
                struct pkt *p = heap_pop(d);
                int rc = tcp_input(ep[1 - dir], p->data, p->len, dir ? 0 : TCP_IN_CSUM_OK, s.now);
                if (rc) {
                    fprintf(stderr, "tcp_input: %d\n", rc);
                    ok = false;
                }
                pkt_put(&s, p);
            }
        }
        for (int k = 0; k < 2; k++)
            if (tcp_next_timeout(ep[k]) <= s.now)
                tcp_on_timeout(ep[k], s.now);
        for (int k = 0; k < 2; k++)
            app_step(&ap[k], s.now);
        for (int k = 0; k < 2; k++) {
            int count = 0;
            for (;;) {
                if (iov_out && k == 1) {
                    struct iovec iov[TCP_IOV_MAX];
                    int niov = 0;
                    unsigned of = partial ? TCP_OUT_CSUM_PARTIAL : 0;
                    n = tcp_output_iov(ep[k], s.now, seg, TCP_OUT_HDR_MAX, SEG_CAP, iov,
                                       TCP_IOV_MAX, &niov, of);
                    if (n > 0) {
                        size_t hl = (size_t)n;
                        for (int i = 0; i < niov; i++)
                            hl -= iov[i].iov_len;
                        size_t at = hl;
                        for (int i = 0; i < niov; i++) {
                            REQUIRE(at + iov[i].iov_len <= sizeof seg);
                            memcpy(seg + at, iov[i].iov_base, iov[i].iov_len);
                            at += iov[i].iov_len;
                        }
                        if (partial) { /* the checksum completed as a device does */
                            uint16_t c = jet_inet_csum(jet_inet_sum(seg, (size_t)n, 0));
                            seg[16] = (uint8_t)(c >> 8);
                            seg[17] = (uint8_t)c;
                        }
                    }
                } else {
                    n = tcp_output(ep[k], s.now, seg, sizeof seg);
                }
                if (n <= 0)
                    break;
                link_send(&s, k, seg, (size_t)n);
                if (++count > 100000) {
                    fprintf(stderr, "output does not run dry\n");
                    ok = false;
                    break;
                }
            }
            if (n < 0) {
                fprintf(stderr, "tcp_output: %d\n", n);
                ok = false;
            }
        }
        ok = ok && inv(ep[0], "client", s.now) && inv(ep[1], "server", s.now);
        if (tcp_done(ep[0]) && tcp_done(ep[1]))
            break;
        if (tcp_error(ep[0]) || tcp_error(ep[1])) {
            fprintf(stderr, "error: client %d server %d\n", tcp_error(ep[0]), tcp_error(ep[1]));
            ok = false;
            break;
        }
        uint64_t next = UINT64_MAX;
        for (int dir = 0; dir < 2; dir++)
            if (s.d[dir].n && s.d[dir].heap[0]->at < next)
                next = s.d[dir].heap[0]->at;
        for (int k = 0; k < 2; k++) {
            uint64_t t = tcp_next_timeout(ep[k]);
            if (t < next)
                next = t;
        }
        if (next == UINT64_MAX || next > limit || ++steps > 2000000) {
            fprintf(stderr, "stuck at %.3f ms: client %s server %s, got %llu / %llu\n",
                    (double)(s.now - START) / 1e6, tcp_state_name(tcp_state(ep[0])),
                    tcp_state_name(tcp_state(ep[1])), (unsigned long long)ap[1].got,
                    (unsigned long long)ap[0].got);
            ok = false;
            break;
        }
        if (next > s.now) {
            s.now = next;
            still = 0;
        } else if (++still > 100000) { /* a timer due now that never runs off */
            fprintf(stderr, "no progress at %.3f ms: client %s server %s\n",
                    (double)(s.now - START) / 1e6, tcp_state_name(tcp_state(ep[0])),
                    tcp_state_name(tcp_state(ep[1])));
            ok = false;
            break;
        }
    }
    res.done_ns = s.now - START;
    for (int k = 0; k < 2; k++) {
        bool good = !ap[k].bad && ap[k].got == ap[k].expect && ap[k].eof &&
                    tcp_error(ep[k]) == 0 && ap[k].completed == ap[k].refs;
        if (ok && !good)
            fprintf(stderr, "side %d: got %llu of %llu, content %s, eof %d, error %d\n", k,
                    (unsigned long long)ap[k].got, (unsigned long long)ap[k].expect,
                    ap[k].bad ? "differs" : "ok", ap[k].eof, tcp_error(ep[k]));
        ok = ok && good;
        struct jet_tcp_info i;
        memset(&i, 0, sizeof i);
        tcp_get_info(ep[k], &i);
        res.segs[k] = i.segs_out;
        res.retx[k] = i.retransmits;
        res.rto[k] = i.timeouts;
        res.fast[k] = i.fast_retransmits;
        res.tlp[k] = i.tlp_probes;
    }
    res.ok = ok;
    res.drops = s.d[0].dropped + s.d[1].dropped;
    res.dups = s.d[0].duped + s.d[1].duped;
    tcp_destroy(ep[0]);
    tcp_destroy(ep[1]);
    free(src);
    free(ring);
    free(s.pool);
    free(s.freel);
    return res;
}

static int cells, cells_ok;

static void cell(uint64_t seed, double loss, double reorder, double dup, uint64_t qbuf,
                 const struct variant *v, const char *name)
{
    bool iov = seed % 2;
    struct result x = run(seed, loss, reorder, dup, qbuf, v, iov);
    struct result y = run(seed, loss, reorder, dup, qbuf, v, iov);
    bool same = x.done_ns == y.done_ns && memcmp(x.segs, y.segs, sizeof x.segs) == 0 &&
                memcmp(x.retx, y.retx, sizeof x.retx) == 0 &&
                memcmp(x.rto, y.rto, sizeof x.rto) == 0 && x.drops == y.drops;
    CHECK(x.ok);
    CHECK(y.ok);
    CHECK(same);
    cells++;
    cells_ok += x.ok && y.ok && same;
    printf("%3llu %-9s loss %.2f reo %.2f dup %.2f buf %3lluK %6.2f ms segs %5llu/%5llu "
           "retx %4llu/%4llu fast %3llu/%3llu rto %2llu/%2llu tlp %3llu/%3llu drop %4llu%s%s\n",
           (unsigned long long)seed, name, loss, reorder, dup, (unsigned long long)qbuf / 1024,
           (double)x.done_ns / 1e6, (unsigned long long)x.segs[0], (unsigned long long)x.segs[1],
           (unsigned long long)x.retx[0], (unsigned long long)x.retx[1],
           (unsigned long long)x.fast[0], (unsigned long long)x.fast[1],
           (unsigned long long)x.rto[0], (unsigned long long)x.rto[1],
           (unsigned long long)x.tlp[0], (unsigned long long)x.tlp[1],
           (unsigned long long)x.drops, x.ok && y.ok ? "" : "  FAIL",
           same ? "" : "  NOT REPRODUCIBLE");
    fflush(stdout);
}

int main(void)
{
    static const double losses[] = {0, 0.01, 0.04}, reorders[] = {0, 0.02, 0.1},
                        dups[] = {0, 0.02};
    static const uint64_t bufs[] = {16 * 1024, 64 * 1024, 256 * 1024};
    const struct variant base = {.rcvbuf = 256 * 1024, .bytes = 500 * 1000};
    uint64_t seed = 1;
    for (int l = 0; l < 3; l++)
        for (int r = 0; r < 3; r++)
            for (int d = 0; d < 2; d++)
                for (int b = 0; b < 3; b++) {
                    struct variant v = base;
                    v.zc = (int)(seed % 3);
                    cell(seed++, losses[l], reorders[r], dups[d], bufs[b], &v,
                         v.zc == 1 ? "cubic-zs" : v.zc == 2 ? "cubic-zr" : "cubic");
                }
    /* variants, over a few lossy cells each */
    struct variant nr = base, nosack = base, nots = base, big = base, small = base;
    nr.cc = &xp_cc_newreno;
    nosack.no_sack = true;
    nots.no_ts = true;
    big.bytes = 3 * 1000 * 1000;
    small.rcvbuf = 16 * 1024;
    for (int i = 0; i < 3; i++) {
        double l = losses[i];
        cell(seed++, l, 0.02, 0.02, 64 * 1024, &nr, "newreno");
        cell(seed++, l, 0.02, 0.02, 64 * 1024, &nosack, "no-sack");
        cell(seed++, l, 0.02, 0.02, 64 * 1024, &nots, "no-ts");
        cell(seed++, l, 0.02, 0.00, 64 * 1024, &small, "rcv16K");
    }
    cell(seed++, 0.00, 0.00, 0.00, 256 * 1024, &big, "3MB");
    cell(seed++, 0.01, 0.02, 0.02, 64 * 1024, &big, "3MB");
    big.cc = &xp_cc_newreno;
    cell(seed++, 0.01, 0.02, 0.02, 64 * 1024, &big, "3MB-nr");
    printf("%d of %d cells ok (each run twice)\n", cells_ok, cells);
    return check_done("test_tcp_pair");
}
