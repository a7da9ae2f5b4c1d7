/* Unit tests for IPv4 reassembly (src/ip/reasm.c): every arrival order of
 * 3, 4 and 5 fragments (also with an exact duplicate slipped in), overlaps
 * (RFC 5722: the whole datagram goes), malformed and inconsistent
 * fragments, the 30 s timeout, the count and memory bounds, the largest
 * datagram, and hostile floods (100k random tiny fragments; one datagram of
 * ever more 8-byte pieces) that must stay inside the bounds.  A UDP port is
 * bound so that a reassembled datagram is seen whole, byte for byte. */
#include "ip_fixture.h"
#include "ip/ip_impl.h"
#include "util/rng.h"

static uint8_t fb[70000], dg[70000], pl[70000];
static size_t dglen;

/* The UDP datagram the fragments carry: payload n bytes, pattern by seed. */
static void make_dgram(size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        pl[i] = (uint8_t)(i * 31 + seed);
    dglen = fx_udp(dg, PEER, ME, 4000, 7, pl, n);
}

/* Feeds bytes [off, off + len) of dg as a fragment of datagram id. */
static void frag(struct fx *f, uint16_t id, uint32_t off, uint32_t len, bool mf)
{
    size_t n = fx_ip(fb, MAC_ME, PEER, ME, JET_IP_PROTO_UDP, id,
                     (uint16_t)((mf ? JET_IPV4_MF : 0) | off / 8), dg + off, len);
    fx_in(f, fb, n);
}

static void bounds_ok(const struct fx *f)
{
    const struct ip_core *c = f->c;
    CHECK(c->reasm_n <= IP_REASM_MAX);
    CHECK(c->reasm_mem <= IP_REASM_BYTES);
}

static struct fx f;
static struct fx_sock *sk;
static struct jet_ip_stats *st;

static void setup(void)
{
    fx_init(&f);
    st = ip_core_stats(f.c);
    sk = calloc(1, sizeof *sk);
    REQUIRE(ip_port_bind(f.c, JET_IP_PROTO_UDP, 7, sk, &fx_l4) == 0);
}

static void teardown(void)
{
    CHECK_EQ(f.c->reasm_n, 0);
    CHECK_EQ(f.c->reasm_mem, 0);
    fx_done(&f);
    free(sk);
}

static bool got_dgram(void)
{
    return sk->delivered == 1 && sk->len == dglen && memcmp(sk->data, dg, dglen) == 0;
}

/* next lexicographic permutation of p[0..n) */
static bool next_perm(unsigned *p, unsigned n)
{
    int i = (int)n - 2;
    while (i >= 0 && p[i] >= p[i + 1])
        i--;
    if (i < 0)
        return false;
    int j = (int)n - 1;
    while (p[j] <= p[i])
        j--;
    unsigned t = p[i];
    p[i] = p[j];
    p[j] = t;
    for (unsigned a = (unsigned)i + 1, b = n - 1; a < b; a++, b--) {
        t = p[a];
        p[a] = p[b];
        p[b] = t;
    }
    return true;
}

static void test_orders(void)
{
    unsigned perms = 0;
    for (unsigned k = 3; k <= 5; k++) {
        for (int dup = 0; dup <= 1; dup++) {
            setup();
            make_dgram(1000 * k - 8 - 3, k); /* the last piece is shorter */
            uint32_t off[6], len[6];
            for (unsigned i = 0; i < k; i++) {
                off[i] = 1000 * i;
                len[i] = i + 1 < k ? 1000 : (uint32_t)dglen - off[i];
            }
            unsigned p[5] = {0, 1, 2, 3, 4};
            uint16_t id = 100;
            unsigned n = 0;
            do {
                sk->delivered = 0;
                id++;
                for (unsigned i = 0; i < k; i++) {
                    unsigned q = p[i];
                    frag(&f, id, off[q], len[q], q + 1 < k);
                    if (dup && i == k / 2)
                        frag(&f, id, off[p[0]], len[p[0]], p[0] + 1 < k);
                    CHECK_EQ(sk->delivered, i + 1 == k ? 1 : 0);
                }
                CHECK(got_dgram());
                n++;
            } while (next_perm(p, k));
            CHECK_EQ(st->reasm_ok, n);
            CHECK_EQ(st->reasm_dup, dup ? n : 0);
            CHECK_EQ(st->frag_in, n * (k + (unsigned)dup));
            CHECK_EQ(st->reasm_overlap + st->reasm_drop + st->reasm_timeout, 0);
            perms += n;
            teardown();
        }
    }
    CHECK_EQ(perms, 2 * (6 + 24 + 120));
}

/* A = [0,1000) B = [1000,2000) C = [2000,end) last; after A and C, a piece
 * that overlaps anything drops the datagram, B can no longer complete it. */
static void test_overlaps(void)
{
    static const struct {
        uint32_t off, len;
        bool mf;
    } t[] = {
        {992, 16, true},   /* across A's end */
        {1992, 16, true},  /* across C's start */
        {8, 16, true},     /* inside A */
        {0, 1008, true},   /* A's offset, longer */
        {0, 992, true},    /* A's offset, shorter */
        {2000, 0, true},   /* C's range, but "more" */
        {0, 2048, true},   /* over A, B's hole and C */
        {2000, 504, false}, /* C's offset, different length */
    };
    setup();
    make_dgram(2500 - 8, 1);
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint16_t id = (uint16_t)(200 + i);
        frag(&f, id, 0, 1000, true);
        frag(&f, id, 2000, (uint32_t)dglen - 2000, false);
        uint64_t o0 = st->reasm_overlap, d0 = st->reasm_drop;
        frag(&f, id, t[i].off, t[i].len ? t[i].len : (uint32_t)dglen - 2000, t[i].mf);
        CHECK_EQ(st->reasm_overlap + st->reasm_drop, o0 + d0 + 1);
        if (st->reasm_overlap + st->reasm_drop != o0 + d0 + 1)
            fprintf(stderr, "overlap row %zu not dropped\n", i);
        frag(&f, id, 1000, 1000, true);
        CHECK_EQ(sk->delivered, 0);
        if (sk->delivered)
            fprintf(stderr, "overlap row %zu delivered\n", i);
    }
    CHECK_EQ(st->reasm_overlap, sizeof t / sizeof t[0] - 1);
    CHECK_EQ(st->reasm_drop, 1); /* {2000, 504, last}: a second, different last fragment */
    /* what is left (B alone, each) times out */
    fx_poll(&f, f.now + IP_REASM_TIMEOUT_NS);
    CHECK_EQ(st->reasm_timeout, sizeof t / sizeof t[0]);
    teardown();
}

static void test_malformed(void)
{
    setup();
    make_dgram(4000, 2);
    /* a non-last piece not a multiple of 8 */
    frag(&f, 1, 0, 1000, true);
    frag(&f, 1, 1000, 1001, true);
    CHECK_EQ(st->reasm_drop, 1);
    CHECK_EQ(f.c->reasm_n, 0);
    /* ending past 65535 */
    make_dgram(65507, 3);
    frag(&f, 2, 65512, 8, false);
    CHECK_EQ(st->reasm_drop, 2);
    frag(&f, 3, 65504, 12, false); /* 65516 bytes of payload */
    CHECK_EQ(st->reasm_drop, 3);
    /* empty */
    frag(&f, 4, 0, 0, true);
    CHECK_EQ(st->reasm_drop, 4);
    /* two different ends */
    make_dgram(4000, 4);
    frag(&f, 5, 0, 1000, true);
    frag(&f, 5, 3000, (uint32_t)dglen - 3000, false);
    frag(&f, 5, 2000, 1000, false);
    CHECK_EQ(st->reasm_drop, 5);
    /* data past the end */
    frag(&f, 6, 1000, 1000, false);
    frag(&f, 6, 2000, 1000, true);
    CHECK_EQ(st->reasm_drop, 6);
    /* an end before data already held */
    frag(&f, 7, 2000, 1000, true);
    frag(&f, 7, 1000, 1000, false);
    CHECK_EQ(st->reasm_drop, 7);
    CHECK_EQ(f.c->reasm_n, 0);
    CHECK_EQ(sk->delivered, 0);
    /* the largest datagram, pieces in reverse */
    make_dgram(65507, 5);
    CHECK_EQ(dglen, 65515);
    for (int off = 65120; off >= 0; off -= 1480)
        frag(&f, 8, (uint32_t)off, off == 65120 ? 395 : 1480, off != 65120);
    CHECK(got_dgram());
    teardown();
}

static void test_timeout(void)
{
    setup();
    make_dgram(3000, 6);
    uint64_t t0 = f.now;
    frag(&f, 1, 0, 1000, true);
    CHECK_EQ(ip_next_timeout(f.c), t0 + IP_REASM_TIMEOUT_NS);
    f.now = t0 + 10 * SEC;
    frag(&f, 1, 1000, 1000, true); /* later pieces do not extend it */
    fx_poll(&f, t0 + IP_REASM_TIMEOUT_NS - 1);
    CHECK_EQ(st->reasm_timeout, 0);
    fx_poll(&f, t0 + IP_REASM_TIMEOUT_NS);
    CHECK_EQ(st->reasm_timeout, 1);
    CHECK_EQ(ip_next_timeout(f.c), UINT64_MAX);
    frag(&f, 1, 2000, (uint32_t)dglen - 2000, false); /* the rest alone: no datagram */
    CHECK_EQ(sk->delivered, 0);
    fx_poll(&f, f.now + IP_REASM_TIMEOUT_NS);
    CHECK_EQ(st->reasm_timeout, 2);
    teardown();
}

static void test_bounds(void)
{
    /* count: 100 datagrams begun, 64 kept, the oldest dropped */
    setup();
    make_dgram(3000, 7);
    for (uint16_t id = 0; id < 100; id++) {
        frag(&f, id, 0, 1000, true);
        bounds_ok(&f);
    }
    CHECK_EQ(f.c->reasm_n, IP_REASM_MAX);
    CHECK_EQ(st->reasm_drop, 100 - IP_REASM_MAX);
    frag(&f, 99, 1000, (uint32_t)dglen - 1000, false);
    CHECK(got_dgram());
    frag(&f, 0, 1000, (uint32_t)dglen - 1000, false);
    CHECK_EQ(sk->delivered, 1);
    fx_poll(&f, f.now + IP_REASM_TIMEOUT_NS);
    teardown();

    /* memory: 64 KiB datagrams all but complete */
    setup();
    make_dgram(65507, 8);
    for (uint16_t id = 0; id < 80; id++) {
        for (uint32_t off = 0; off + 1480 < 65515; off += 1480) {
            frag(&f, id, off, 1480, true);
            bounds_ok(&f);
        }
    }
    CHECK(st->reasm_drop > 0);
    CHECK(f.c->reasm_mem > IP_REASM_BYTES - 70000);
    /* the newest still completes */
    frag(&f, 79, 65120, 395, false);
    CHECK(got_dgram());
    fx_poll(&f, f.now + IP_REASM_TIMEOUT_NS);
    teardown();
}

/* 100k random tiny fragments from a few sources: bounded all the way. */
static void test_flood(void)
{
    setup();
    struct jet_rng r = {7};
    unsigned nfrag = 0;
    memset(dg, 0x5A, sizeof dg);
    for (int i = 0; i < 100000; i++) {
        uint64_t x = jet_rng_next(&r);
        uint16_t id = (uint16_t)(x % 300);
        uint32_t off = (uint32_t)((x >> 16) % 8192) * 8;
        uint32_t len = 8 * (1 + (uint32_t)((x >> 32) % 8)) + ((x >> 40) % 4 == 0 ? (x >> 44) % 8 : 0);
        bool mf = (x >> 50) % 8 != 0;
        uint32_t src = PEER + (uint32_t)((x >> 56) % 3);
        if (off + len > 65515)
            off = 0;
        nfrag += mf || off;
        size_t n = fx_ip(fb, MAC_ME, src, ME, JET_IP_PROTO_UDP, id,
                         (uint16_t)((mf ? JET_IPV4_MF : 0) | off / 8), dg, len);
        ip_input(f.c, fb, n, f.now);
        f.now += 1000;
        if (i % 97 == 0)
            bounds_ok(&f);
        if (i % 10000 == 0)
            ip_poll(f.c, f.now);
    }
    bounds_ok(&f);
    CHECK_EQ(st->frag_in, nfrag);
    CHECK(nfrag > 99000);
    CHECK(st->reasm_overlap + st->reasm_drop > 0);
    fx_poll(&f, f.now + IP_REASM_TIMEOUT_NS);
    teardown();

    /* one datagram in ever more 8-byte pieces with holes between them */
    setup();
    for (uint32_t k = 0; k < 4000; k++) {
        size_t n = fx_ip(fb, MAC_ME, PEER, ME, JET_IP_PROTO_UDP, 1,
                         (uint16_t)(JET_IPV4_MF | (k * 16) / 8), dg, 8);
        ip_input(f.c, fb, n, f.now);
        bounds_ok(&f);
        for (unsigned i = 0; i < IP_REASM_MAX; i++)
            CHECK(f.c->reasm[i].nfrags <= IP_REASM_FRAGS);
    }
    CHECK(st->reasm_drop >= 1);
    fx_poll(&f, f.now + IP_REASM_TIMEOUT_NS);
    teardown();
}

int main(void)
{
    test_orders();
    test_overlaps();
    test_malformed();
    test_timeout();
    test_bounds();
    test_flood();
    return check_done("test_ip_reasm");
}
