/* Table-driven tests of the transport engine pieces on their own (src/xport): the
 * sequence space around 2^32, range sets beyond 32 entries, the sender's scoreboard
 * with 200 holes and its pruning, the receiver's out-of-order ranges beyond 32 and
 * their bound, placement into a ring that wraps, RFC 6298 RTO arithmetic with clamps
 * and back-off, and NewReno's window through slow start, congestion avoidance, fast
 * recovery and an RTO. */
#include <errno.h>

#include "check.h"
#include "jet/crc32c.h"
#include "xport/xp_cc.h"
#include "xport/xp_range.h"
#include "xport/xp_rcv.h"
#include "xport/xp_rtt.h"
#include "xport/xp_seq.h"
#include "xport/xp_snd.h"

static const uint64_t MS = 1000000ull;

/* ---- sequence space ---- */

static void test_seq(void)
{
    static const struct {
        uint64_t ref;
        uint32_t isn, w;
        int64_t want;
    } t[] = {
        {0, 0, 0, 0},
        {1, 0xFFFFFFFFu, 0, 1},                    /* isn just below 2^32: wire 0 is pos 1 */
        {1, 0xFFFFFFFFu, 0xFFFFFFFFu, 0},          /* the SYN */
        {1, 0xFFFFFFFFu, 0xFFFFFFFEu, -1},         /* behind the reference */
        {0xFFFFFF00ull, 0, 0x10u, 0x100000010ll},  /* crossing 2^32 forward */
        {0x100000010ull, 0, 0xFFFFFF00u, 0xFFFFFF00ll}, /* and back */
        {5ull << 32, 0x80000000u, 0x80000000u, 5ll << 32},
        {5ull << 32, 0, 0x7FFFFFFFu, (5ll << 32) + 0x7FFFFFFF}, /* 2^31 - 1 ahead */
        {5ull << 32, 0, 0x80000000u, (5ll << 32) - 0x80000000ll}, /* 2^31: taken as behind */
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        CHECK_EQ(xp_seq_unwrap(t[i].ref, t[i].isn, t[i].w), t[i].want);
    /* wire numbers of positions across 2^32, and back */
    for (uint64_t pos = 0xFFFFFFF0ull; pos < 0x100000010ull; pos += 3) {
        uint32_t w = xp_seq_wire(0x12345678u, pos);
        CHECK_EQ(xp_seq_unwrap(pos - 1000, 0x12345678u, w), (int64_t)pos);
        CHECK_EQ(xp_seq_unwrap(pos + 1000, 0x12345678u, w), (int64_t)pos);
    }
    CHECK(xp_seq_lt(0xFFFFFFFFu, 0));
    CHECK(!xp_seq_lt(0, 0xFFFFFFFFu));
    CHECK(xp_seq_lt(0x7FFFFFFFu, 0xFFFFFFF0u));
    CHECK(xp_seq_le(5, 5));
    CHECK(!xp_seq_lt(5, 5));
}

/* ---- range sets ---- */

static void test_ranges(void)
{
    struct xp_ranges rs;
    xp_ranges_init(&rs, 1000);
    /* merges: overlapping, touching, covering several */
    static const struct {
        uint64_t s, e;
        int idx;
        uint32_t n;
        uint64_t bytes;
    } t[] = {
        {10, 20, 0, 1, 10},  {30, 40, 1, 2, 20},  {20, 25, 0, 2, 25}, /* touches [10,20) */
        {50, 60, 2, 3, 35},  {5, 10, 0, 3, 40},   {24, 55, 0, 1, 55}, /* swallows three */
        {100, 101, 1, 2, 56}, {99, 100, 1, 2, 57}, {1, 2, 0, 3, 58},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint64_t added = 0, before = xp_ranges_bytes(&rs);
        CHECK_EQ(xp_ranges_add(&rs, t[i].s, t[i].e, &added), t[i].idx);
        CHECK_EQ(rs.n, t[i].n);
        CHECK_EQ(xp_ranges_bytes(&rs), t[i].bytes);
        CHECK_EQ(added, t[i].bytes - before);
        CHECK(xp_ranges_violation(&rs, 0, 1000) == NULL);
    }
    xp_ranges_fini(&rs);

    /* 200 alternating ranges: beyond the 32 inline entries, in random-ish order */
    xp_ranges_init(&rs, 300);
    for (uint32_t k = 0; k < 200; k++) {
        uint32_t i = (k * 7) % 200; /* 7 is prime to 200: every i once */
        REQUIRE(xp_ranges_add(&rs, 10 + 20 * (uint64_t)i, 20 + 20 * (uint64_t)i, NULL) >= 0);
    }
    CHECK_EQ(rs.n, 200);
    CHECK(rs.cap >= 200 && rs.r != rs.small);
    CHECK_EQ(xp_ranges_bytes(&rs), 2000);
    CHECK(xp_ranges_violation(&rs, 0, 10000) == NULL);
    CHECK(xp_ranges_covers(&rs, 10 + 20 * 150, 20 + 20 * 150));
    CHECK(xp_ranges_covers(&rs, 13 + 20 * 77, 17 + 20 * 77));
    CHECK(!xp_ranges_covers(&rs, 15, 35));
    CHECK(!xp_ranges_covers(&rs, 0, 5));
    CHECK_EQ(xp_ranges_lower(&rs, 21), 1);
    CHECK_EQ(xp_ranges_lower(&rs, 20), 0);
    /* clip: below lo + 1 goes, a range straddling lo starts at lo + 1 */
    CHECK_EQ(xp_ranges_clip(&rs, 1000), 500); /* [10,20) .. [990,1000): 50 ranges */
    CHECK_EQ(rs.n, 150);
    CHECK_EQ(rs.r[0].s, 1010);
    CHECK_EQ(xp_ranges_clip(&rs, 1014), 5);
    CHECK_EQ(rs.r[0].s, 1015);
    CHECK_EQ(rs.n, 150);
    /* one range joining everything */
    CHECK_EQ(xp_ranges_add(&rs, 0, 5000, NULL), 0);
    CHECK_EQ(rs.n, 1);
    CHECK_EQ(rs.r[0].e, 5000);
    xp_ranges_fini(&rs);

    /* the bound: a new range beyond it is refused, a merging one is not */
    xp_ranges_init(&rs, 40);
    for (uint64_t i = 0; i < 40; i++)
        REQUIRE(xp_ranges_add(&rs, 10 * i, 10 * i + 5, NULL) >= 0);
    CHECK_EQ(xp_ranges_add(&rs, 1000, 1001, NULL), -1);
    CHECK(!xp_ranges_fits(&rs, 1000, 1001));
    CHECK(!xp_ranges_room(&rs, 1000, 1001));
    CHECK(xp_ranges_room(&rs, 395, 397));
    CHECK_EQ(xp_ranges_add(&rs, 395, 397, NULL), 39);
    CHECK_EQ(rs.n, 40);
    xp_ranges_fini(&rs);
    /* the bound never goes below the inline storage */
    xp_ranges_init(&rs, 3);
    CHECK_EQ(rs.max, XP_RANGES_INLINE);
    xp_ranges_fini(&rs);
}

/* ---- sender: scoreboard with 200 holes ---- */

static void snd_setup(struct xp_snd *s, uint64_t bytes, uint64_t wnd)
{
    const struct xp_snd_cfg k = {.sndbuf_bytes = 1 << 20, .max_refs = 16, .mss = 1000,
                                 .init_segs = 10, .rto_init_ns = 100 * MS, .rto_min_ns = 10 * MS,
                                 .rto_max_ns = 1000 * MS, .ack_delay_ns = MS};
    REQUIRE(xp_snd_init(s, &k) == 0);
    xp_snd_start(s, 1000, wnd, 1);
    s->una = s->nxt = 1; /* handshake done */
    if (s->wnd_edge < 1 + bytes)
        s->wnd_edge = 1 + bytes; /* let it all out; max_wnd (the bound, the cap) stays */
    static uint8_t data[1 << 20];
    REQUIRE(xp_snd_copy(s, data, bytes) == bytes);
    s->cc.cwnd = 1ull << 30; /* send it all */
    struct iovec iov[8];
    int niov;
    struct xp_seg seg;
    uint64_t t = 1000 * MS;
    while (xp_snd_next(s, t, 1000, iov, 8, &niov, &seg))
        ;
    REQUIRE(s->nxt == 1 + bytes);
}

static void sackw(struct xp_snd *s, uint64_t ack, const int64_t (*b)[2], unsigned n,
                  uint64_t wnd, uint64_t t)
{
    xp_snd_on_ack(s, ack, wnd, 1, b, n, true, UINT64_MAX, t);
}

static void sack(struct xp_snd *s, uint64_t ack, const int64_t (*b)[2], unsigned n, uint64_t t)
{
    sackw(s, ack, b, n, 1 << 20, t);
}

static void test_scoreboard(void)
{
    struct xp_snd s;
    uint64_t t = 2000 * MS;
    snd_setup(&s, 400000, 1 << 20); /* 400 segments of 1000 */
    CHECK(s.sb.max >= 400);
    /* segment 2i is lost, 2i + 1 arrives: 200 SACK blocks, 4 per ACK as on the wire */
    for (int i = 0; i < 200; i += 4) {
        int64_t b[4][2];
        for (int j = 0; j < 4; j++) {
            b[j][0] = 1 + 1000 * (2 * (i + j) + 1);
            b[j][1] = b[j][0] + 1000;
        }
        sack(&s, 1, (const int64_t(*)[2])b, 4, t);
    }
    CHECK_EQ(s.sb.n, 200);
    CHECK_EQ(s.sacked, 200000);
    CHECK_EQ(s.st.sack_dropped, 0);
    CHECK_EQ(s.rec, XP_REC_FAST);
    CHECK_EQ(s.st.fast_retransmits, 1);
    CHECK(xp_snd_violation(&s, true) == NULL);
    /* every hole but the last has 3 MSS SACKed above it: lost; pipe counts none */
    CHECK_EQ(xp_snd_pipe(&s), 200000 - 198000); /* the last two holes: < 3 MSS above */
    /* the retransmissions go hole by hole, above what was resent */
    struct iovec iov[8];
    int niov;
    struct xp_seg seg;
    s.cc.cwnd = 1ull << 30;
    for (int i = 0; i < 5; i++) {
        REQUIRE(xp_snd_next(&s, t, 1000, iov, 8, &niov, &seg));
        CHECK_EQ(seg.pos, 1 + 2000 * (uint64_t)i);
        CHECK_EQ(seg.dlen, 1000);
    }
    CHECK_EQ(s.st.retransmits, 5);
    /* a cumulative ACK past 50 holes prunes 50 ranges */
    sack(&s, 1 + 100000, NULL, 0, t);
    CHECK_EQ(s.sb.n, 150);
    CHECK_EQ(s.sacked, 150000);
    CHECK_EQ(s.una, 100001);
    CHECK(s.retx_next >= s.una);
    CHECK(xp_snd_violation(&s, true) == NULL);
    /* a block that fills the holes between three ranges merges them */
    int64_t m[1][2] = {{1 + 100000 + 2000, 1 + 100000 + 6000}};
    sack(&s, 1 + 100000, (const int64_t(*)[2])m, 1, t);
    CHECK_EQ(s.sb.n, 148);
    CHECK_EQ(s.sacked, 150000 + 2000);
    /* stale, impossible and inverted blocks are ignored; one overlapping the ACK is cut */
    int64_t bad[4][2] = {{1, 100001}, {399000, 400002}, {300500, 300400}, {90001, 100501}};
    sack(&s, 1 + 100000, (const int64_t(*)[2])bad, 4, t);
    CHECK_EQ(s.sb.n, 149);
    CHECK_EQ(s.sb.r[0].s, 100002);
    CHECK_EQ(s.sb.r[0].e, 100501);
    CHECK_EQ(s.sacked, 152000 + 499);
    CHECK(xp_snd_violation(&s, true) == NULL);
    /* the full ACK ends recovery: cwnd = ssthresh */
    sack(&s, 1 + 400000, NULL, 0, t);
    CHECK_EQ(s.rec, XP_REC_NONE);
    CHECK_EQ(s.sb.n, 0);
    CHECK_EQ(s.sacked, 0);
    CHECK_EQ(s.rtx_at, 0);
    CHECK(xp_snd_violation(&s, true) == NULL);
    xp_snd_fini(&s);

    /* the bound from a small peer window: 2 * (8000 / 1000 + 1) = 18 -> 32 entries */
    snd_setup(&s, 200000, 8000);
    CHECK_EQ(s.sb.max, XP_RANGES_INLINE);
    for (int i = 0; i < 40; i++) {
        int64_t b[1][2] = {{1 + 1000 * (2 * i + 1), 1 + 1000 * (2 * i + 2)}};
        sackw(&s, 1, (const int64_t(*)[2])b, 1, 8000, t);
    }
    CHECK_EQ(s.sb.n, XP_RANGES_INLINE);
    CHECK_EQ(s.st.sack_dropped, 40 - XP_RANGES_INLINE);
    CHECK(xp_snd_violation(&s, true) == NULL);
    xp_snd_fini(&s);
}

/* ---- receiver: out-of-order ranges, ring placement ---- */

static uint8_t pattern(uint64_t off)
{
    return (uint8_t)(off * 131 + (off >> 8));
}

/* Feeds stream bytes [off, off + len) (position off + 1) through stage and data. */
static int feed(struct xp_rcv *r, uint64_t off, size_t len, bool check)
{
    static uint8_t seg[4096];
    for (size_t i = 0; i < len; i++)
        seg[i] = pattern(off + i);
    struct xp_stage sg;
    uint32_t crc = xp_rcv_stage(r, true, off + 1, seg, len, check, 0, &sg);
    if (check)
        CHECK_EQ(crc, jet_crc32c(0, seg, len));
    return xp_rcv_data(r, off + 1, len, false, &sg, 5000 * MS);
}

static bool read_back(struct xp_rcv *r, uint64_t off, size_t len)
{
    size_t got = 0;
    while (got < len) {
        const uint8_t *p;
        size_t n = xp_rcv_peek(r, &p);
        if (!n)
            return false;
        if (n > len - got)
            n = len - got;
        for (size_t i = 0; i < n; i++)
            if (p[i] != pattern(off + got + i))
                return false;
        CHECK_EQ(xp_rcv_consume(r, n, true), 0);
        got += n;
    }
    return true;
}

static void test_ooo(void)
{
    struct xp_rcv r;
    REQUIRE(xp_rcv_init(&r, 1 << 20, false, 1000, 5, MS) == 0);
    r.nxt = 1;
    CHECK_EQ(r.ooo.max, (1u << 20) / 1000 + 1);
    /* 100 out-of-order segments with a hole before each */
    for (uint64_t i = 0; i < 100; i++)
        CHECK_EQ(feed(&r, 1000 * (2 * i + 1), 1000, i & 1), 0);
    CHECK_EQ(r.ooo.n, 100);
    CHECK_EQ(r.st.ooo_segs, 100);
    CHECK_EQ(r.st.ooo_dropped, 0);
    CHECK(xp_rcv_violation(&r, true) == NULL);
    /* SACK report: the most recent range first, then the lowest ones */
    struct xp_range sb[4];
    CHECK_EQ(xp_rcv_sack(&r, sb, 4), 4);
    CHECK_EQ(sb[0].s, 1 + 1000 * 199);
    CHECK_EQ(sb[1].s, 1 + 1000);
    CHECK_EQ(sb[2].s, 1 + 3000);
    /* a resent segment overlapping received data copies only the new bytes */
    CHECK_EQ(feed(&r, 500, 1000, true), 0);
    CHECK_EQ(r.nxt, 1);
    CHECK_EQ(r.ooo.n, 100);
    /* fill the holes in order: everything becomes readable */
    for (uint64_t i = 0; i < 100; i++)
        CHECK_EQ(feed(&r, 2000 * i, 1000, true), 0);
    CHECK_EQ(r.ooo.n, 0);
    CHECK_EQ(r.nxt, 1 + 200000);
    CHECK_EQ(r.st.bytes_in, 200000);
    CHECK(read_back(&r, 0, 200000));
    CHECK(xp_rcv_violation(&r, true) == NULL);
    xp_rcv_fini(&r);

    /* a small window bounds the table at 32: the 33rd range is dropped and counted */
    REQUIRE(xp_rcv_init(&r, 8000, false, 1000, 0, MS) == 0);
    r.nxt = 1;
    for (uint64_t i = 1; i <= 32; i++)
        CHECK_EQ(feed(&r, 2 * i, 1, true), 0);
    CHECK_EQ(feed(&r, 100, 1, true), 0);
    CHECK_EQ(r.st.ooo_dropped, 1);
    CHECK_EQ(r.ooo.n, 32);
    CHECK_EQ(feed(&r, 3, 1, true), 0); /* joins two: still placed */
    CHECK_EQ(r.ooo.n, 31);
    CHECK(xp_rcv_violation(&r, true) == NULL);
    xp_rcv_fini(&r);
}

static void test_ring_wrap(void)
{
    static uint8_t ring[1000];
    struct xp_rcv r;
    REQUIRE(xp_rcv_init(&r, 1000, true, 400, 0, MS) == 0);
    r.nxt = 1;
    REQUIRE(xp_rcv_register(&r, ring, sizeof ring) == 0);
    static const struct {
        uint64_t off;
        size_t len;
        uint64_t consume; /* then read this much */
    } t[] = {
        {0, 400, 0}, {400, 400, 700}, /* read 700: the edge moves to 1700 */
        {1200, 400, 0},               /* out of order, at ring index 200 */
        {800, 400, 900},              /* fills the hole, wrapping at 1000: 700..1600 */
        {1600, 400, 200},             /* read up to 1800 */
        {1900, 300, 300},             /* 100 bytes received before: only 2000.. copied */
        {2200, 399, 0}, {2599, 1, 500},
    };
    uint64_t read = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        CHECK_EQ(feed(&r, t[i].off, t[i].len, i & 1), 0);
        if (t[i].consume) {
            CHECK(read_back(&r, read, t[i].consume));
            read += t[i].consume;
        }
        CHECK(xp_rcv_violation(&r, true) == NULL);
    }
    CHECK_EQ(r.nxt, 1 + 2600);
    CHECK_EQ(read, 2600);
    CHECK_EQ(xp_rcv_ready(&r), 0);
    /* beyond the edge (2600 + 1000): trimmed and counted */
    CHECK_EQ(feed(&r, 2600, 1200, true), 0);
    CHECK_EQ(r.st.window_drops, 1);
    CHECK_EQ(r.nxt, 1 + 3600);
    CHECK_EQ(xp_rcv_adv_wnd(&r), 0);
    /* a wrapped ring needs two peeks */
    const uint8_t *p;
    size_t n1 = xp_rcv_peek(&r, &p);
    CHECK_EQ(n1, 400);
    CHECK(p == ring + 600);
    CHECK(read_back(&r, 2600, 1000));
    CHECK_EQ(xp_rcv_adv_wnd(&r), 1000);
    xp_rcv_fini(&r);
}

/* Bytes received before the application registers a ring or a sink (an accepted TCP
 * connection has some): they move, in order and out of order, to their offsets. */
static uint8_t sunk[4000];
static uint64_t sunk_n;

static int sink_to(void *arg, uint64_t off, const uint8_t *p, size_t len)
{
    (void)arg;
    if (off + len > sizeof sunk)
        return -EIO;
    memcpy(sunk + off, p, len);
    sunk_n += len;
    return 0;
}

static int sink_full(void *arg, uint64_t off, const uint8_t *p, size_t len)
{
    (void)arg, (void)off, (void)p, (void)len;
    return -ENOSPC;
}

static void test_rehome(void)
{
    static uint8_t ring[3000];
    for (int sink = 0; sink < 2; sink++) {
        struct xp_rcv r;
        REQUIRE(xp_rcv_init(&r, 1000, false, 400, 0, MS) == 0);
        r.nxt = 1;
        r.move_held = true; /* as TCP */
        CHECK_EQ(feed(&r, 0, 400, true), 0);
        CHECK(read_back(&r, 0, 300));
        CHECK_EQ(feed(&r, 400, 400, false), 0); /* readable: 300..800 */
        CHECK_EQ(feed(&r, 1000, 250, true), 0); /* out of order, wrapped to ring index 0 */
        CHECK_EQ(r.ooo.n, 1);
        r.move_held = false; /* as RBS: too late */
        CHECK_EQ(xp_rcv_register(&r, ring, sizeof ring), -EBUSY);
        CHECK_EQ(xp_rcv_set_sink(&r, sink_to, NULL, 1000), -EBUSY);
        r.move_held = true;
        if (!sink) {
            CHECK_EQ(xp_rcv_register(&r, ring, 900), -EBUSY); /* 950 bytes held from 300 */
            CHECK_EQ(xp_rcv_register(&r, ring, sizeof ring), 0);
            CHECK(xp_rcv_violation(&r, true) == NULL);
            CHECK_EQ(xp_rcv_ready(&r), 500);
            CHECK_EQ(feed(&r, 800, 200, true), 0); /* the hole: all 950 readable */
            CHECK_EQ(xp_rcv_ready(&r), 950);
            const uint8_t *p;
            CHECK_EQ(xp_rcv_peek(&r, &p), 950);
            CHECK(p == ring);
            /* the same ring again, shorter, from the next byte: an overlapping move */
            CHECK(read_back(&r, 300, 100));
            CHECK_EQ(xp_rcv_register(&r, ring + 10, 2000), 0);
            CHECK(xp_rcv_violation(&r, true) == NULL);
            CHECK_EQ(xp_rcv_peek(&r, &p), 850);
            CHECK(p == ring + 10);
            CHECK(read_back(&r, 400, 850));
        } else {
            CHECK_EQ(xp_rcv_set_sink(&r, sink_full, NULL, 1000), -ENOSPC);
            CHECK_EQ(xp_rcv_ready(&r), 500); /* nothing changed */
            CHECK(xp_rcv_violation(&r, true) == NULL);
            sunk_n = 0;
            CHECK_EQ(xp_rcv_set_sink(&r, sink_to, NULL, 1000), 0);
            CHECK_EQ(sunk_n, 750); /* 300..800 and 1000..1250 */
            CHECK_EQ(xp_rcv_placed(&r), 500);
            CHECK_EQ(xp_rcv_ready(&r), 0);
            CHECK(xp_rcv_violation(&r, true) == NULL);
            CHECK_EQ(feed(&r, 800, 200, true), 0);
            CHECK_EQ(sunk_n, 950);
            CHECK_EQ(xp_rcv_placed(&r), 950);
            uint64_t bad = 0;
            for (uint64_t i = 0; i < 950; i++)
                bad += sunk[i] != pattern(300 + i);
            CHECK_EQ(bad, 0);
        }
        CHECK(xp_rcv_violation(&r, true) == NULL);
        xp_rcv_fini(&r);
    }
}

/* ---- RTT and RTO (RFC 6298) ---- */

static void test_rto(void)
{
    struct xp_rtt r;
    xp_rtt_init(&r, 1000 * MS, 200 * MS, 60000 * MS);
    CHECK_EQ(r.rto, 1000 * MS);
    CHECK(!r.have);
    static const struct {
        uint64_t sample, srtt, rttvar, rto;
    } t[] = {
        /* 2.2: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR */
        {100 * MS, 100 * MS, 50 * MS, 300 * MS},
        /* 2.3: RTTVAR = 3/4 50 + 1/4 |100 - 200| = 62.5; SRTT = 7/8 100 + 1/8 200 = 112.5 */
        {200 * MS, 112500000, 62500000, 362500000},
        /* a sample equal to SRTT: RTTVAR = 3/4 62.5 = 46.875; RTO = 112.5 + 187.5 */
        {112500000, 112500000, 46875000, 300000000},
        /* RTTVAR = 3/4 46.875 + 1/4 111.5 = 63.03125; SRTT = 7/8 112.5 + 1/8 1 = 98.5625 */
        {1 * MS, 98562500, 63031250, 350687500},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        xp_rtt_sample(&r, t[i].sample);
        CHECK_EQ(r.srtt, t[i].srtt);
        CHECK_EQ(r.rttvar, t[i].rttvar);
        CHECK_EQ(r.rto, t[i].rto);
    }
    /* minimum clamp (RFC 6298 2.4 says 1 s; ours is configurable) */
    xp_rtt_init(&r, 1000 * MS, 1000 * MS, 60000 * MS);
    xp_rtt_sample(&r, 10 * MS);
    CHECK_EQ(r.rto, 1000 * MS);
    /* granularity: RTTVAR 0 still adds G = 1 us */
    xp_rtt_init(&r, 1000 * MS, 1, 60000 * MS);
    xp_rtt_sample(&r, 0);
    CHECK_EQ(r.rto, XP_RTT_GRANULARITY_NS);
    /* maximum clamp and back-off (5.5: doubling, capped) */
    xp_rtt_init(&r, 1000 * MS, 200 * MS, 3000 * MS);
    xp_rtt_sample(&r, 900 * MS);
    CHECK_EQ(r.rto, 2700 * MS);
    xp_rtt_sample(&r, 2000 * MS); /* 1037.5 + 4 * 612.5 = 3487.5 -> 3000 */
    CHECK_EQ(r.rto, 3000 * MS);
    xp_rtt_init(&r, 300 * MS, 200 * MS, 3000 * MS);
    static const uint64_t backoff[] = {600, 1200, 2400, 3000, 3000};
    for (size_t i = 0; i < 5; i++) {
        xp_rtt_backoff(&r);
        CHECK_EQ(r.rto, backoff[i] * MS);
    }
    xp_rtt_sample(&r, 100 * MS); /* a new sample removes the back-off */
    CHECK_EQ(r.rto, 300 * MS);
    /* Karn's rule: a retransmission cancels the timing; only a clean one samples */
    xp_rtt_init(&r, 1000 * MS, 200 * MS, 60000 * MS);
    xp_rtt_time_start(&r, 1001, 0);
    xp_rtt_time_start(&r, 2001, 5 * MS); /* one at a time: ignored */
    CHECK(!xp_rtt_time_ack(&r, 1000, 50 * MS));
    xp_rtt_time_cancel(&r);
    CHECK(!xp_rtt_time_ack(&r, 1001, 60 * MS));
    CHECK(!r.have);
    xp_rtt_time_start(&r, 3001, 100 * MS);
    CHECK(xp_rtt_time_ack(&r, 4001, 180 * MS));
    CHECK_EQ(r.srtt, 80 * MS);
    CHECK_EQ(r.rto, 240 * MS);
}

/* ---- NewReno ---- */

static void test_newreno(void)
{
    CHECK(xp_cc_find(NULL) == &xp_cc_newreno);
    CHECK(xp_cc_find("") == &xp_cc_newreno);
    CHECK(xp_cc_find("newreno") == &xp_cc_newreno);
    CHECK(xp_cc_find("nonesuch") == NULL);
    CHECK(xp_cc_table[0] == &xp_cc_newreno);

    struct xp_cc cc;
    xp_cc_init(&cc, NULL, 1000, 10);
    CHECK_EQ(cc.cwnd, 10000);
    CHECK_EQ(cc.ssthresh, XP_SSTHRESH_INIT);
    enum { ACK, LOSS, RTO, EXIT, EXIT_RTO };
    static const struct {
        int ev;
        uint64_t n; /* acked bytes, or pipe */
        uint64_t cwnd, ssthresh;
    } t[] = {
        {ACK, 1000, 11000, XP_SSTHRESH_INIT},  /* slow start: + acked */
        {ACK, 5000, 13000, XP_SSTHRESH_INIT},  /* ABC: at most + 2 MSS per ACK */
        {LOSS, 13000, 6500, 6500},             /* halve the flight */
        {EXIT, 0, 6500, 6500},                 /* full ACK: cwnd = ssthresh */
        {ACK, 3000, 6500, 6500},               /* congestion avoidance: counting */
        {ACK, 3000, 6500, 6500},
        {ACK, 1000, 7500, 6500},               /* 7000 >= 6500: + 1 MSS, 500 left */
        {ACK, 7000, 8500, 6500},               /* 7500 >= 7500 */
        {LOSS, 3000, 2000, 2000},              /* at least 2 MSS */
        {EXIT, 0, 2000, 2000},
        {RTO, 9000, 1000, 4500},               /* RTO: 1 MSS */
        {ACK, 1000, 2000, 4500},               /* slow start again */
        {ACK, 2000, 4000, 4500},
        {EXIT_RTO, 0, 4000, 4500},             /* leaving RTO recovery keeps cwnd */
        {ACK, 2000, 6000, 4500},               /* slow start overshoots by one ACK */
        {ACK, 6000, 7000, 4500},               /* then avoidance */
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        switch (t[i].ev) {
        case ACK: xp_cc_on_ack(&cc, t[i].n, UINT64_MAX, 0); break;
        case LOSS: xp_cc_on_loss(&cc, t[i].n, 0); break;
        case RTO: xp_cc_on_rto(&cc, t[i].n, 0); break;
        case EXIT: xp_cc_exit_recovery(&cc, false, 0); break;
        case EXIT_RTO: xp_cc_exit_recovery(&cc, true, 0); break;
        }
        CHECK_EQ(cc.cwnd, t[i].cwnd);
        CHECK_EQ(cc.ssthresh, t[i].ssthresh);
    }

    /* through the sender: cwnd capped at twice the peer's largest window */
    struct xp_snd s;
    snd_setup(&s, 50000, 8000);
    s.cc.cwnd = 16000;
    sackw(&s, 1 + 1000, NULL, 0, 8000, 3000 * MS); /* slow start would give 17000 */
    CHECK_EQ(s.cc.cwnd, 16000);                    /* max(2 * 8000, 10 MSS) */
    CHECK_EQ(s.st.fast_retransmits, 0);
    /* three duplicate ACKs start fast recovery: ssthresh = pipe / 2 */
    for (int i = 0; i < 3; i++)
        xp_snd_on_ack(&s, 1 + 1000, 8000, 1, NULL, 0, true, UINT64_MAX, 3000 * MS);
    CHECK_EQ(s.st.dup_acks, 3);
    CHECK_EQ(s.rec, XP_REC_FAST);
    CHECK_EQ(s.cc.ssthresh, 49000 / 2);
    CHECK_EQ(s.cc.cwnd, 49000 / 2);
    /* pipe in fast recovery without SACK: the first MSS at una is lost */
    CHECK_EQ(xp_snd_pipe(&s), 48000);
    /* an RTO then: cwnd 1 MSS, every unSACKed byte lost */
    xp_snd_rto(&s, 4000 * MS);
    CHECK_EQ(s.rec, XP_REC_RTO);
    CHECK_EQ(s.cc.cwnd, 1000);
    CHECK_EQ(s.cc.ssthresh, 24000);
    CHECK_EQ(s.rtt.rto, 200 * MS);
    CHECK(xp_snd_violation(&s, true) == NULL);
    xp_snd_fini(&s);
}

int main(void)
{
    test_seq();
    test_ranges();
    test_scoreboard();
    test_ooo();
    test_ring_wrap();
    test_rehome();
    test_rto();
    test_newreno();
    return check_done("test_xport");
}
