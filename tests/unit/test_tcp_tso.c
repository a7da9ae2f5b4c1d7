/* TSO in the TCP core (tcp_set_tso, tcp_out_seg_size; docs/tcp.md 2.4): two cores
 * pumped in memory with virtual time; the client sends with TSO and the link cuts each
 * of its segments into wire segments of tcp_out_seg_size bytes as the kernel's GSO does
 * (the header copied, sequence numbers advanced, PSH and FIN on the last only, the
 * checksum completed), then loses, delays and reorders wire segments.
 *
 * Checked over loss x reorder x the server's MSS (1460, and 1000 on the same link) x
 * Nagle on/off, writes of odd sizes or sends by reference of about 1 KB (a segment then
 * holds what 8 of them hold, cut to whole wire segments): every byte arrives once and in order, both ends
 * close cleanly, every core invariant holds after every step, no wire segment carries
 * more than the send MSS minus options, TSO segments are whole multiples of it (a short
 * tail only where the data ends), large segments were used, and on a clean link
 * nothing is retransmitted.  A path MTU drop in the middle (tcp_pmtu) shrinks the wire
 * segments from then on.  Retransmissions are single wire segments. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "check.h"
#include "jet/inet.h"
#include "jet/tcp.h"
#include "tcp/tcp_core.h"
#include "util/rng.h"

enum { QMAX = 1 << 16, TSO_MAX = 65535 - 20 - TCP_OUT_HDR_MAX };
static const uint64_t US = 1000, MS = 1000000, SEC = 1000000000ull;
static const uint64_t START = 1000000000ull;

struct pkt {
    uint64_t at, order;
    uint32_t len;
    uint8_t *data;
};

struct dirq {
    struct pkt q[QMAX]; /* sorted by (at, order) */
    uint32_t n;
    uint64_t free_at;
};

struct sim {
    struct jet_rng rng;
    double loss, reorder;
    uint64_t now, order;
    struct dirq d[2];
    uint64_t wire_segs, wire_max, tso_segs, out_segs, out_max, dropped;
    uint64_t wire_limit; /* most payload a wire segment may carry now */
    bool bad_cut;
};

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put(struct sim *s, int dir, const uint8_t *seg, size_t len)
{
    struct dirq *d = &s->d[dir];
    uint64_t start = d->free_at > s->now ? d->free_at : s->now;
    d->free_at = start + (uint64_t)(len + 40) * 8 / 10; /* 10 Gb/s */
    if (jet_rng_unit(&s->rng) < s->loss || d->n == QMAX) {
        s->dropped++;
        return;
    }
    uint64_t at = d->free_at + 20 * US;
    if (s->reorder > 0 && jet_rng_unit(&s->rng) < s->reorder)
        at += 5 * US + jet_rng_next(&s->rng) % (30 * US);
    uint32_t i = d->n;
    while (i > 0 && d->q[i - 1].at > at)
        i--;
    memmove(&d->q[i + 1], &d->q[i], (d->n - i) * sizeof d->q[0]);
    d->q[i] = (struct pkt){.at = at, .order = s->order++, .len = (uint32_t)len,
                           .data = malloc(len)};
    REQUIRE(d->q[i].data);
    memcpy(d->q[i].data, seg, len);
    d->n++;
}

static void csum_fix(uint8_t *seg, size_t len, uint32_t src, uint32_t dst)
{
    seg[16] = seg[17] = 0;
    uint32_t ps = jet_inet_pseudo_sum(src, dst, JET_IP_PROTO_TCP, (uint16_t)len);
    uint16_t c = jet_inet_csum(jet_inet_sum(seg, len, ps));
    seg[16] = (uint8_t)(c >> 8);
    seg[17] = (uint8_t)c;
}

/* The client's segment through the "device": cut into wire segments of gso bytes. */
static void gso_send(struct sim *s, const struct tcp_tuple *t, const uint8_t *seg, size_t len,
                     uint32_t gso, bool data_end)
{
    size_t hl = (size_t)(seg[12] >> 4) * 4;
    size_t pay = len - hl;
    s->out_segs++;
    if (pay > s->out_max)
        s->out_max = pay;
    if (pay <= gso || !gso) {
        if (pay > s->wire_limit)
            s->bad_cut = true;
        s->wire_segs++;
        if (pay > s->wire_max)
            s->wire_max = pay;
        put(s, 0, seg, len);
        return;
    }
    s->tso_segs++;
    /* whole multiples of gso, unless the segment ends the queued data */
    if (pay % gso && !data_end)
        s->bad_cut = true;
    if (gso > s->wire_limit)
        s->bad_cut = true;
    static uint8_t w[65536];
    uint32_t seq = rd32(seg + 4);
    uint8_t fl = seg[13];
    for (size_t off = 0; off < pay; off += gso) {
        size_t n = pay - off < gso ? pay - off : gso;
        bool last = off + n == pay;
        memcpy(w, seg, hl);
        memcpy(w + hl, seg + hl + off, n);
        wr32(w + 4, seq + (uint32_t)off);
        w[13] = last ? fl : (uint8_t)(fl & ~(JET_TCP_PSH | JET_TCP_FIN));
        csum_fix(w, hl + n, t->laddr, t->raddr);
        s->wire_segs++;
        if (n > s->wire_max)
            s->wire_max = n;
        put(s, 0, w, hl + n);
    }
}

static uint8_t byte_at(uint64_t i)
{
    return (uint8_t)(jet_mix64(i >> 3) >> ((i & 7) * 8));
}

struct res {
    bool ok;
    uint64_t retrans, vtime;
};

static bool inv(struct tcp_conn *c, const char *who, uint64_t now)
{
    const char *v = tcp_invariant_violation(c);
    if (v)
        fprintf(stderr, "invariant broken (%s) at %.3f ms: %s\n", who,
                (double)(now - START) / 1e6, v);
    return !v;
}

/* One transfer of `bytes` from the client (TSO) to the server. */
static struct res run(uint64_t seed, double loss, double reorder, uint32_t srv_mss,
                      bool nodelay, uint64_t bytes, uint32_t pmtu_at, bool ref)
{
    uint8_t *src = NULL;
    if (ref) { /* sent by reference in pieces of about 1 KB: 8 of them per segment at most */
        src = malloc(bytes);
        REQUIRE(src);
        for (uint64_t i = 0; i < bytes; i++)
            src[i] = byte_at(i);
    }
    static struct sim s;
    memset(&s, 0, sizeof s);
    s.rng.s = seed;
    s.loss = loss;
    s.reorder = reorder;
    s.now = START;
    struct tcp_cfg ka;
    memset(&ka, 0, sizeof ka);
    ka.t = (struct tcp_tuple){.laddr = 0xC6120001u, .raddr = 0xC6120002u, .lport = 40001,
                              .rport = 5001};
    ka.mss = 1460;
    ka.rcvbuf_bytes = 1 << 20;
    ka.sndbuf_bytes = 1 << 20;
    ka.rto_min_ns = 1 * MS;
    ka.rto_init_ns = 20 * MS;
    ka.time_wait_ns = 10 * MS;
    ka.nodelay = nodelay;
    ka.isn = (uint32_t)jet_mix64(seed) | 0xFFFF0000u; /* wraps early */
    ka.ts_offset = (uint32_t)jet_mix64(seed + 7);
    struct tcp_cfg kb = ka;
    kb.t = (struct tcp_tuple){.laddr = ka.t.raddr, .raddr = ka.t.laddr, .lport = ka.t.rport,
                              .rport = ka.t.lport};
    kb.mss = srv_mss;
    kb.isn = (uint32_t)jet_mix64(seed + 1);
    struct tcp_conn *a = NULL, *b = NULL;
    REQUIRE(tcp_create(&ka, &a) == 0);
    REQUIRE(tcp_create(&kb, &b) == 0);
    tcp_set_tso(a, TSO_MAX);
    s.wire_limit = (srv_mss < 1460 ? srv_mss : 1460) - 12;

    static uint8_t seg[65536], chunk[9973];
    REQUIRE(tcp_connect(a, s.now) == 0);
    int n = tcp_output(a, s.now, seg, sizeof seg);
    REQUIRE(n > 0);
    s.now += 20 * US;
    REQUIRE(tcp_accept_syn(b, seg, (size_t)n, 0, s.now) == 0);

    uint64_t sent = 0, got = 0, limit = s.now + 30 * SEC;
    bool ok = true, shut = false, bshut = false, pmtu_done = !pmtu_at;
    long steps = 0;
    while (ok) {
        for (int dir = 0; dir < 2; dir++) {
            struct dirq *d = &s.d[dir];
            while (d->n && d->q[0].at <= s.now) {
                struct pkt p = d->q[0];
                memmove(&d->q[0], &d->q[1], (d->n - 1) * sizeof d->q[0]);
                d->n--;
                int rc = tcp_input(dir ? a : b, p.data, p.len, 0, s.now);
                if (rc) {
                    fprintf(stderr, "tcp_input: %d\n", rc);
                    ok = false;
                }
                free(p.data);
            }
        }
        if (tcp_next_timeout(a) <= s.now)
            tcp_on_timeout(a, s.now);
        if (tcp_next_timeout(b) <= s.now)
            tcp_on_timeout(b, s.now);
        /* the application: odd-sized writes, reads of what is there */
        if (ref) {
            uint64_t ck[64];
            while (tcp_completed(a, ck, 64) > 0)
                ;
        }
        while (ref && sent < bytes && tcp_state(a) >= TCP_ESTABLISHED) {
            size_t m = 700 + (size_t)(sent % 777);
            if (m > bytes - sent)
                m = (size_t)(bytes - sent);
            if (tcp_send_ref(a, src + sent, m, sent) != 0)
                break;
            sent += m;
        }
        while (!ref && sent < bytes && tcp_state(a) >= TCP_ESTABLISHED) {
            size_t m = sizeof chunk - (size_t)(sent % 1001);
            if (m > bytes - sent)
                m = (size_t)(bytes - sent);
            for (size_t i = 0; i < m; i++)
                chunk[i] = byte_at(sent + i);
            ssize_t w = tcp_send(a, chunk, m);
            if (w <= 0)
                break;
            sent += (uint64_t)w;
        }
        if (sent == bytes && !shut && tcp_state(a) >= TCP_ESTABLISHED) {
            REQUIRE(tcp_shutdown(a, s.now) == 0);
            shut = true;
        }
        for (;;) {
            uint8_t r[16384];
            ssize_t k = tcp_recv(b, r, sizeof r);
            if (k <= 0) {
                if (k == 0 && !bshut) {
                    REQUIRE(tcp_shutdown(b, s.now) == 0);
                    bshut = true;
                }
                break;
            }
            for (ssize_t i = 0; i < k; i++)
                if (r[i] != byte_at(got + (uint64_t)i)) {
                    fprintf(stderr, "byte %llu differs\n", (unsigned long long)(got + i));
                    ok = false;
                    break;
                }
            got += (uint64_t)k;
        }
        if (!pmtu_done && got >= pmtu_at) {
            tcp_pmtu(a, 1200, s.now);
            s.wire_limit = 1200 - 40 - 12;
            pmtu_done = true;
        }
        for (int k = 0; k < 2 && ok; k++) {
            struct tcp_conn *c = k ? b : a;
            for (int count = 0;; count++) {
                n = tcp_output(c, s.now, seg, sizeof seg);
                if (n < 0) {
                    fprintf(stderr, "tcp_output: %d\n", n);
                    ok = false;
                }
                if (n <= 0)
                    break;
                if (k == 0) {
                    struct jet_tcp_hdr h;
                    bool end = false;
                    if (jet_tcp_parse(seg, (size_t)n, ka.t.laddr, ka.t.raddr, &h, 0) == 0)
                        end = h.flags & (JET_TCP_PSH | JET_TCP_FIN);
                    gso_send(&s, &ka.t, seg, (size_t)n, tcp_out_seg_size(a), end);
                } else {
                    put(&s, 1, seg, (size_t)n);
                }
                if (count > 100000) {
                    fprintf(stderr, "output does not run dry\n");
                    ok = false;
                    break;
                }
            }
        }
        ok = ok && inv(a, "client", s.now) && inv(b, "server", s.now);
        if (tcp_done(a) && tcp_done(b))
            break;
        if (tcp_error(a) || tcp_error(b)) {
            fprintf(stderr, "error: client %d server %d\n", tcp_error(a), tcp_error(b));
            ok = false;
            break;
        }
        uint64_t next = UINT64_MAX;
        for (int dir = 0; dir < 2; dir++)
            if (s.d[dir].n && s.d[dir].q[0].at < next)
                next = s.d[dir].q[0].at;
        uint64_t t = tcp_next_timeout(a);
        if (t < next)
            next = t;
        t = tcp_next_timeout(b);
        if (t < next)
            next = t;
        if (next == UINT64_MAX || next > limit || ++steps > 3000000) {
            fprintf(stderr, "stuck at %.3f ms: client %s server %s, got %llu of %llu\n",
                    (double)(s.now - START) / 1e6, tcp_state_name(tcp_state(a)),
                    tcp_state_name(tcp_state(b)), (unsigned long long)got,
                    (unsigned long long)bytes);
            ok = false;
            break;
        }
        if (next > s.now)
            s.now = next;
    }
    struct jet_tcp_info ia;
    tcp_get_info(a, &ia);
    printf("seed %3llu loss %.2f reo %.2f mss %4u %-7s %s%s: %7.2f ms, out %5llu segs (%4llu TSO, "
           "largest %5llu), wire %6llu segs (largest %4llu), dropped %4llu, retrans %4llu\n",
           (unsigned long long)seed, loss, reorder, srv_mss, nodelay ? "nodelay" : "nagle",
           pmtu_at ? "pmtu" : "    ", ref ? "ref" : "   ", (double)(s.now - START) / 1e6,
           (unsigned long long)s.out_segs, (unsigned long long)s.tso_segs,
           (unsigned long long)s.out_max, (unsigned long long)s.wire_segs,
           (unsigned long long)s.wire_max, (unsigned long long)s.dropped,
           (unsigned long long)ia.retransmits);
    ok = ok && got == bytes;
    if (s.bad_cut) {
        fprintf(stderr, "a segment was not cut into whole wire segments of the MSS\n");
        ok = false;
    }
    CHECK(s.tso_segs > 0);
    uint64_t wire = (srv_mss < 1460 ? srv_mss : 1460) - 12;
    CHECK(s.out_max >= (ref ? 4 : 8) * wire); /* large segments, not two or three MSS */
    CHECK(s.wire_max <= wire);
    if (loss == 0 && reorder == 0 && !pmtu_at) /* (the PMTU drop resends what is out) */
        CHECK_EQ(ia.retransmits, 0);
    for (int dir = 0; dir < 2; dir++)
        for (uint32_t i = 0; i < s.d[dir].n; i++)
            free(s.d[dir].q[i].data);
    struct res r = {.ok = ok, .retrans = ia.retransmits, .vtime = s.now - START};
    tcp_destroy(a);
    tcp_destroy(b);
    free(src);
    return r;
}

int main(void)
{
    static const double losses[] = {0, 0.01, 0.03}, reorders[] = {0, 0.05};
    static const uint32_t mss[] = {1460, 1000};
    uint64_t seed = 1;
    int cells = 0, good = 0;
    for (int l = 0; l < 3; l++)
        for (int r = 0; r < 2; r++)
            for (int m = 0; m < 2; m++) {
                bool nodelay = seed % 2;
                bool ref = seed % 3 == 0;
                struct res x =
                    run(seed, losses[l], reorders[r], mss[m], nodelay, 3000000, 0, ref);
                struct res y =
                    run(seed, losses[l], reorders[r], mss[m], nodelay, 3000000, 0, ref);
                CHECK(x.ok);
                CHECK_EQ(x.retrans, y.retrans); /* reproducible */
                CHECK_EQ(x.vtime, y.vtime);
                cells++;
                good += x.ok && x.retrans == y.retrans && x.vtime == y.vtime;
                seed++;
            }
    /* the path MTU drops after 1 MB: wire segments shrink, in flight is resent */
    struct res p = run(seed++, 0, 0, 1460, false, 3000000, 1000000, false);
    CHECK(p.ok);
    p = run(seed++, 0.01, 0.05, 1460, true, 3000000, 1000000, true);
    CHECK(p.ok);
    printf("%d of %d cells ok (each run twice)\n", good, cells);
    return check_done("test_tcp_tso");
}
