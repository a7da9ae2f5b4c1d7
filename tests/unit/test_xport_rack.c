/* Table-driven tests of the sender's RACK-TLP (RFC 8985) and its new-data choice
 * (Nagle / no-delay, coalescing of small writes), with virtual time: a segment
 * overtaken within the reordering window is not lost; beyond it the RACK timer marks
 * it lost without 3 duplicate ACKs; a lost retransmission is found by time; the fast
 * retransmit and NewReno's partial-ACK retransmission ignore pipe; limited transmit;
 * reneging; the tail loss probe's time and what it sends, one per episode, the loss it
 * repaired (RFC 8985 7.4); the sent map's bound; short segments with and without
 * no-delay; small writes coalesced into full segments. */
#include "check.h"
#include "xport/xp_snd.h"

static const uint64_t MS = 1000000ull, US = 1000ull;
static const uint64_t T0 = 1000 * 1000000ull;
enum { SEG = 1000 };

static uint8_t data[1 << 20];

static void setup(struct xp_snd *s, bool rack, bool nodelay)
{
    const struct xp_snd_cfg k = {.sndbuf_bytes = 1 << 20, .max_refs = 16, .mss = SEG,
                                 .init_segs = 10, .rto_init_ns = 100 * MS, .rto_min_ns = 50 * MS,
                                 .rto_max_ns = 1000 * MS, .ack_delay_ns = 1 * MS,
                                 .rack = rack, .nodelay = nodelay};
    REQUIRE(xp_snd_init(s, &k) == 0);
    xp_snd_start(s, SEG, 1 << 20, 1);
    s->una = s->nxt = 1; /* handshake done */
    s->cc.cwnd = 100 * SEG;
}

/* One segment out at t: its position (0 if none). */
static uint64_t out(struct xp_snd *s, uint64_t t, size_t *len)
{
    struct iovec iov[8];
    int niov;
    struct xp_seg seg;
    if (!xp_snd_next(s, t, SEG, iov, 8, &niov, &seg))
        return 0;
    if (len)
        *len = seg.dlen;
    return seg.pos;
}

static uint64_t P(int seg) /* first position of segment seg (1-based) */
{
    return 1 + (uint64_t)(seg - 1) * SEG;
}

/* An ACK at t: cumulative to segment cum (whole segments), SACKing segments
 * [sb, se] (sb 0: none), with an RTT sample rtt (0: none). */
static void ack(struct xp_snd *s, int cum, int sb, int se, uint64_t rtt, uint64_t t)
{
    int64_t b[1][2] = {{(int64_t)P(sb), (int64_t)P(se + 1)}};
    xp_snd_on_ack(s, P(cum + 1), 1 << 20, 1, (const int64_t(*)[2])b, sb ? 1 : 0, true,
                  rtt ? rtt : UINT64_MAX, t);
    CHECK(xp_snd_violation(s, true) == NULL);
}

/* Ten segments, segment i sent at T0 + i * 100 us; segment 1 acknowledged 10 ms
 * later (RACK.rtt = min_RTT = SRTT = 10 ms, reo_wnd = 2.5 ms). */
static void flight10(struct xp_snd *s, bool rack)
{
    setup(s, rack, true);
    REQUIRE(xp_snd_copy(s, data, 10 * SEG) == 10 * SEG);
    for (int i = 1; i <= 10; i++)
        REQUIRE(out(s, T0 + (uint64_t)i * 100 * US, NULL) == P(i));
    ack(s, 1, 0, 0, 10 * MS, T0 + 10100 * US);
}

/* ---- reordering: within reo_wnd not lost; beyond, lost by the RACK timer ---- */

static void test_reorder_window(void)
{
    static const struct {
        uint64_t arrive;   /* segment 2 arrives (cumulative ACK) this long after
                              segment 3's SACK; 0: never */
        bool lost;         /* RACK marks it lost */
    } t[] = {
        {100 * US, false},
        {2000 * US, false}, /* before ts2 + RACK.rtt + reo_wnd = T0 + 12.7 ms */
        {0, true},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct xp_snd s;
        flight10(&s, true);
        CHECK_EQ(s.rk.rtt, 10 * MS);
        CHECK_EQ(s.rk.min_rtt, 10 * MS);
        CHECK_EQ(xp_snd_reo_wnd(&s), 2500 * US);
        uint64_t ts = T0 + 10300 * US;
        ack(&s, 1, 3, 3, 0, ts); /* segment 3 overtook 2 */
        CHECK_EQ(s.rec, XP_REC_NONE);
        CHECK_EQ(s.rack_at, T0 + 200 * US + 10 * MS + 2500 * US);
        CHECK_EQ(xp_snd_next_timer(&s), s.rack_at);
        CHECK_EQ(s.tlp_at, 0); /* segments are SACKed: RACK's timer instead */
        if (t[i].arrive) {
            ack(&s, 3, 0, 0, 0, ts + t[i].arrive);
            CHECK(s.rk.reord); /* an original delivered below RACK.fack */
            CHECK_EQ(s.rack_at, 0);
        } else {
            uint64_t at = s.rack_at;
            xp_snd_rack_timeout(&s, at - 1);
            CHECK_EQ(s.rec, XP_REC_NONE);
            CHECK_EQ(s.rack_at, at);
            xp_snd_rack_timeout(&s, at);
            CHECK_EQ(s.st.dup_acks, 1); /* no 3 duplicate ACKs needed */
            s.cc.cwnd = 100 * SEG;
            CHECK_EQ(out(&s, at, NULL), P(2)); /* segment 2 again */
        }
        CHECK_EQ(s.rec, t[i].lost ? XP_REC_FAST : XP_REC_NONE);
        CHECK_EQ(s.st.rack_losses, t[i].lost);
        CHECK_EQ(s.st.fast_retransmits, t[i].lost);
        CHECK(xp_snd_violation(&s, true) == NULL);
        xp_snd_fini(&s);
    }
}

/* With reo_wnd 0 (3 segments SACKed, no reordering seen) a hole sent before the last
 * SACKed segment is lost at once; after reordering was seen the window holds, even with
 * 3 MSS SACKed above the hole (RACK replaces the count). */
static void test_reorder_seen(void)
{
    static const struct {
        bool reord;
        int lost_now; /* fast recovery at once */
    } t[] = {{false, 1}, {true, 0}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct xp_snd s;
        flight10(&s, true);
        s.rk.reord = t[i].reord;
        uint64_t ts = T0 + 10600 * US;
        ack(&s, 1, 3, 6, 0, ts); /* 4 segments SACKed above the hole at 2 */
        CHECK_EQ(s.rec == XP_REC_FAST, t[i].lost_now);
        if (!t[i].lost_now) {
            CHECK_EQ(s.rack_at, T0 + 200 * US + 10 * MS + 2500 * US);
            xp_snd_rack_timeout(&s, s.rack_at);
            CHECK_EQ(s.rec, XP_REC_FAST);
        }
        s.cc.cwnd = 100 * SEG;
        CHECK_EQ(out(&s, ts + 3 * MS, NULL), P(2));
        CHECK(xp_snd_violation(&s, true) == NULL);
        xp_snd_fini(&s);
    }
}

/* ---- a lost retransmission, found by time ---- */

static void test_lost_retransmission(void)
{
    static const struct {
        bool rack;
        int relost; /* lost_retransmits after data sent after it is SACKed */
    } t[] = {{true, 1}, {false, 1}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct xp_snd s;
        flight10(&s, t[i].rack);
        REQUIRE(xp_snd_copy(&s, data, 5 * SEG) == 5 * SEG);
        ack(&s, 1, 3, 10, 0, T0 + 11000 * US); /* 2 lost: fast recovery */
        CHECK_EQ(s.rec, XP_REC_FAST);
        s.cc.cwnd = 100 * SEG;
        uint64_t tr = T0 + 11000 * US;
        CHECK_EQ(out(&s, tr, NULL), P(2));  /* the retransmission */
        CHECK_EQ(out(&s, tr + 100 * US, NULL), P(11)); /* new data after it */
        CHECK_EQ(s.st.lost_retransmits, 0);
        /* 11 SACKed 10 ms later; the retransmission is overdue (reo_wnd 0 in recovery) */
        ack(&s, 1, 3, 11, 0, tr + 10100 * US);
        CHECK_EQ(s.st.lost_retransmits, t[i].relost);
        CHECK_EQ(out(&s, tr + 10100 * US, NULL), P(2)); /* again */
        if (t[i].rack) /* segment 2 at first (reo_wnd 0: 3 SACKed), then its resend */
            CHECK_EQ(s.st.rack_losses, 2);
        CHECK(xp_snd_violation(&s, true) == NULL);
        xp_snd_fini(&s);
    }
    /* RACK: SACKed too early to be overdue, the retransmission waits for the timer */
    struct xp_snd s;
    flight10(&s, true);
    REQUIRE(xp_snd_copy(&s, data, 5 * SEG) == 5 * SEG);
    ack(&s, 1, 3, 10, 0, T0 + 11000 * US);
    s.cc.cwnd = 100 * SEG;
    uint64_t tr = T0 + 11000 * US;
    CHECK_EQ(out(&s, tr, NULL), P(2));
    CHECK_EQ(out(&s, tr + 100 * US, NULL), P(11));
    ack(&s, 1, 3, 11, 0, tr + 5 * MS); /* RACK.rtt = 4.9 ms: due at tr + 4.9 ms */
    CHECK_EQ(s.st.lost_retransmits, 1);
    xp_snd_fini(&s);
}

/* ---- the fast retransmit goes whatever pipe says ---- */

static void test_fast_retransmit_first(void)
{
    static const struct {
        bool sack;      /* the peer SACKs (else 3 duplicate ACKs) */
        int partial;    /* then a partial ACK up to this segment (0: none) */
        int next;       /* the segment the partial ACK makes go at once (0: none) */
    } t[] = {
        {true, 0, 0},
        {false, 0, 0},
        {false, 4, 5}, /* NewReno (RFC 6582 3.2): the next hole at once */
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct xp_snd s;
        setup(&s, true, true);
        REQUIRE(xp_snd_copy(&s, data, 10 * SEG) == 10 * SEG);
        for (int j = 1; j <= 10; j++)
            REQUIRE(out(&s, T0, NULL) == P(j));
        ack(&s, 1, 0, 0, 10 * MS, T0 + 10 * MS);
        for (int d = 0; d < 3; d++) /* segment 2 lost; 3, 4, 5 arrive */
            ack(&s, 1, t[i].sack ? 3 : 0, 3 + d, 0, T0 + 10 * MS);
        CHECK_EQ(s.rec, XP_REC_FAST);
        CHECK(xp_snd_pipe(&s) >= s.cc.cwnd); /* RFC 6675 4.2 / RFC 5681 3.2: still */
        CHECK_EQ(out(&s, T0 + 10 * MS, NULL), P(2));
        CHECK_EQ(out(&s, T0 + 10 * MS, NULL), 0);
        if (t[i].partial) {
            ack(&s, t[i].partial, 0, 0, 10 * MS, T0 + 20 * MS);
            CHECK_EQ(s.rec, XP_REC_FAST);
            CHECK_EQ(out(&s, T0 + 20 * MS, NULL), t[i].next ? P(t[i].next) : 0);
            CHECK_EQ(out(&s, T0 + 20 * MS, NULL), 0);
        }
        CHECK(xp_snd_violation(&s, true) == NULL);
        xp_snd_fini(&s);
    }
}

/* Limited transmit (RFC 3042): the first two duplicate ACKs each let one new segment
 * out beyond cwnd; with SACK pipe makes the room by itself. */
static void test_limited_transmit(void)
{
    for (int sack = 0; sack < 2; sack++) {
        struct xp_snd s;
        setup(&s, true, true);
        s.cc.cwnd = 4 * SEG;
        REQUIRE(xp_snd_copy(&s, data, 10 * SEG) == 10 * SEG);
        for (int j = 1; j <= 4; j++)
            REQUIRE(out(&s, T0, NULL) == P(j));
        CHECK_EQ(out(&s, T0, NULL), 0);
        for (int d = 1; d <= 3; d++) {
            ack(&s, 0, sack ? 2 : 0, 1 + d, 0, T0 + 10 * MS);
            if (d < 3) {
                CHECK_EQ(out(&s, T0 + 10 * MS, NULL), P(4 + d));
                CHECK_EQ(out(&s, T0 + 10 * MS, NULL), 0);
            }
        }
        CHECK_EQ(s.rec, XP_REC_FAST); /* the 3rd: fast retransmit */
        CHECK_EQ(out(&s, T0 + 10 * MS, NULL), P(1));
        xp_snd_fini(&s);
    }
}

/* Reneging (RFC 2018 8): the cumulative ACK stops at or inside a SACKed range: the
 * scoreboard is forgotten and recovery resends from una. */
static void test_reneging(void)
{
    static const struct {
        int cum;     /* the ACK after segments 3..10 were SACKed (2 lost) */
        int reneges;
    } t[] = {{1, 0}, {2, 1}, {5, 1}, {10, 0}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct xp_snd s;
        flight10(&s, true);
        ack(&s, 1, 3, 10, 0, T0 + 11 * MS);
        CHECK_EQ(s.rec, XP_REC_FAST);
        CHECK_EQ(out(&s, T0 + 11 * MS, NULL), P(2));
        ack(&s, t[i].cum, 0, 0, 10 * MS, T0 + 21 * MS);
        CHECK_EQ(s.st.sack_reneges, t[i].reneges);
        if (t[i].reneges) {
            CHECK_EQ(s.sb.n, 0);
            CHECK_EQ(s.sacked, 0);
            size_t len = 0;
            CHECK_EQ(out(&s, T0 + 21 * MS, &len), P(t[i].cum + 1)); /* from una, */
            CHECK_EQ(len, SEG);                                     /* in full */
        }
        CHECK(xp_snd_violation(&s, true) == NULL);
        xp_snd_fini(&s);
    }
}

/* ---- tail loss probe ---- */

static void test_tlp(void)
{
    static const struct {
        int nsegs;      /* sent at T0 */
        int acked;      /* then acknowledged 10 ms later (RTT sample 10 ms) */
        int more;       /* segments queued but not sendable (peer window) */
        uint64_t pto;   /* after that ACK */
        int probe;      /* the segment the probe sends */
    } t[] = {
        {2, 1, 0, 21 * MS, 2}, /* 2 SRTT + the peer's ACK delay */
        {4, 1, 0, 21 * MS, 4}, /* the last segment again */
        {4, 1, 2, 21 * MS, 5}, /* new data, beyond cwnd */
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct xp_snd s;
        setup(&s, true, true);
        REQUIRE(xp_snd_copy(&s, data, (size_t)(t[i].nsegs + t[i].more) * SEG) > 0);
        s.wnd_edge = P(t[i].nsegs + 1); /* the window holds the rest back */
        for (int j = 1; j <= t[i].nsegs; j++)
            REQUIRE(out(&s, T0, NULL) == P(j));
        CHECK_EQ(out(&s, T0, NULL), 0);
        CHECK_EQ(s.tlp_at, 0); /* no RTT sample yet */
        uint64_t ta = T0 + 10 * MS;
        /* the ACK opens the window by what it acknowledges only */
        xp_snd_on_ack(&s, P(t[i].acked + 1), (uint64_t)(t[i].nsegs - t[i].acked) * SEG +
                      (uint64_t)t[i].more * SEG, 1, NULL, 0, true, 10 * MS, ta);
        s.cc.cwnd = s.nxt - s.una; /* cwnd-limited: the probe goes beyond it */
        CHECK_EQ(s.tlp_at, ta + t[i].pto);
        CHECK_EQ(out(&s, ta, NULL), 0);
        xp_snd_tlp(&s, s.tlp_at);
        size_t len = 0;
        CHECK_EQ(out(&s, ta + t[i].pto, &len), P(t[i].probe));
        CHECK_EQ(len, SEG);
        CHECK_EQ(s.st.tlp_probes, 1);
        CHECK_EQ(s.rtx_at, ta + t[i].pto + s.rtt.rto);
        CHECK(xp_snd_violation(&s, true) == NULL);
        xp_snd_fini(&s);
    }
    /* one probe per episode: an ACK below the probe's end does not re-arm it */
    struct xp_snd s;
    setup(&s, true, true);
    REQUIRE(xp_snd_copy(&s, data, 4 * SEG) == 4 * SEG);
    for (int j = 1; j <= 4; j++)
        REQUIRE(out(&s, T0, NULL) == P(j));
    ack(&s, 1, 0, 0, 10 * MS, T0 + 10 * MS);
    xp_snd_tlp(&s, s.tlp_at);
    uint64_t tp = s.rtx_at - s.rtt.rto;
    CHECK_EQ(out(&s, tp, NULL), P(4));
    ack(&s, 2, 0, 0, 10 * MS, tp + 1 * MS);
    CHECK_EQ(s.tlp_at, 0);
    CHECK(s.tlp_out);
    ack(&s, 4, 0, 0, 10 * MS, tp + 2 * MS); /* the probe's end: the episode is over */
    CHECK(!s.tlp_out);
    xp_snd_fini(&s);
}

/* RFC 8985 7.4: the ACK covering a probe that resent the last segment, no D-SACK: a
 * loss the probe repaired, cwnd cut; a D-SACK right after undoes it; a peer that never
 * D-SACKs (no_dsack) gets no verdict. */
static void test_tlp_loss(void)
{
    static const struct {
        bool no_dsack, dsack;
        bool cut;
    } t[] = {{false, false, true}, {false, true, false}, {true, false, false}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct xp_snd s;
        const struct xp_snd_cfg k = {.sndbuf_bytes = 1 << 20, .max_refs = 16, .mss = SEG,
                                     .init_segs = 10, .rto_init_ns = 100 * MS,
                                     .rto_min_ns = 50 * MS, .rto_max_ns = 1000 * MS,
                                     .ack_delay_ns = 1 * MS, .rack = true, .nodelay = true,
                                     .no_dsack = t[i].no_dsack};
        REQUIRE(xp_snd_init(&s, &k) == 0);
        xp_snd_start(&s, SEG, 1 << 20, 1);
        s.una = s.nxt = 1;
        s.cc.cwnd = 20 * SEG;
        REQUIRE(xp_snd_copy(&s, data, 3 * SEG) == 3 * SEG);
        for (int j = 1; j <= 3; j++)
            REQUIRE(out(&s, T0, NULL) == P(j));
        ack(&s, 2, 0, 0, 10 * MS, T0 + 10 * MS);
        xp_snd_tlp(&s, s.tlp_at);
        uint64_t tp = s.rtx_at - s.rtt.rto;
        CHECK_EQ(out(&s, tp, NULL), P(3));
        uint64_t cwnd = s.cc.cwnd;
        ack(&s, 3, 0, 0, 10 * MS, tp + 10 * MS);
        if (t[i].dsack)
            xp_snd_dsack(&s);
        CHECK_EQ(s.cc.cwnd < cwnd, t[i].cut);
        CHECK_EQ(s.st.tlp_losses, t[i].cut);
        CHECK_EQ(s.st.dsacks, t[i].dsack);
        CHECK(!s.tlp_out);
        xp_snd_fini(&s);
    }
}

/* ---- the sent map ---- */

static void test_sent_map(void)
{
    struct xp_snd s;
    setup(&s, true, true);
    REQUIRE(xp_snd_copy(&s, data, 300 * SEG) == 300 * SEG);
    s.cc.cwnd = 1000 * SEG;
    /* bound from the peer window (1 MiB / 1000 -> 2 * 1049 + 64): grows past 64 */
    for (int i = 1; i <= 300; i++)
        REQUIRE(out(&s, T0 + (uint64_t)i * US, NULL) == P(i));
    CHECK_EQ(s.rk.n, 300);
    CHECK(s.rk.cap >= 300);
    ack(&s, 150, 0, 0, 10 * MS, T0 + 10 * MS);
    CHECK_EQ(s.rk.n, 150);
    CHECK_EQ(s.rk.end, P(151));
    CHECK_EQ(s.rk.xmit_ts, T0 + 150 * US);
    xp_snd_fini(&s);
    /* at its bound a new segment merges into the last entry */
    setup(&s, true, true);
    s.rk.max = XP_SENT_MIN;
    REQUIRE(xp_snd_copy(&s, data, 100 * SEG) == 100 * SEG);
    for (int i = 1; i <= 100; i++)
        REQUIRE(out(&s, T0 + (uint64_t)i * US, NULL) == P(i));
    CHECK_EQ(s.rk.n, XP_SENT_MIN);
    CHECK(xp_snd_violation(&s, true) == NULL);
    ack(&s, 100, 0, 0, 10 * MS, T0 + 10 * MS);
    CHECK_EQ(s.rk.n, 0);
    xp_snd_fini(&s);
    /* RACK off: no map */
    setup(&s, false, true);
    REQUIRE(xp_snd_copy(&s, data, 10 * SEG) == 10 * SEG);
    while (out(&s, T0, NULL))
        ;
    CHECK_EQ(s.rk.n, 0);
    xp_snd_fini(&s);
}

/* ---- new data: Nagle / no-delay, coalescing ---- */

static void test_nagle(void)
{
    static const struct {
        bool nodelay;
        size_t w1, w2;   /* two writes, the second after the first went out */
        size_t segs[4];  /* lengths sent before any ACK, 0-terminated */
        size_t after[4]; /* then after the ACK of everything sent */
    } t[] = {
        {true, 500, 500, {500, 500}, {0}},
        {false, 500, 500, {500}, {500}},       /* the 2nd short waits for the 1st's ACK */
        {false, 1500, 300, {1000, 500}, {300}}, /* full, then one short, then waits */
        {true, 1500, 300, {1000, 500, 300}, {0}},
        {false, 500, 1700, {500, 1000}, {700}}, /* a full segment never waits */
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct xp_snd s;
        setup(&s, true, t[i].nodelay);
        size_t got[8] = {0}, n = 0, len;
        REQUIRE(xp_snd_copy(&s, data, t[i].w1) == t[i].w1);
        while (n < 8 && out(&s, T0, &len))
            got[n++] = len;
        REQUIRE(xp_snd_copy(&s, data, t[i].w2) == t[i].w2);
        while (n < 8 && out(&s, T0, &len))
            got[n++] = len;
        for (size_t j = 0; j < 4; j++)
            CHECK_EQ(got[j], t[i].segs[j]);
        xp_snd_on_ack(&s, s.nxt, 1 << 20, 1, NULL, 0, true, 10 * MS, T0 + 10 * MS);
        memset(got, 0, sizeof got);
        n = 0;
        while (n < 8 && out(&s, T0 + 10 * MS, &len))
            got[n++] = len;
        for (size_t j = 0; j < 4; j++)
            CHECK_EQ(got[j], t[i].after[j]);
        CHECK(xp_snd_violation(&s, true) == NULL);
        xp_snd_fini(&s);
    }
    /* the switch at run time; the FIN never waits */
    struct xp_snd s;
    setup(&s, true, false);
    REQUIRE(xp_snd_copy(&s, data, 1200) == 1200);
    size_t len;
    CHECK_EQ(out(&s, T0, &len), 1);
    CHECK_EQ(out(&s, T0, &len), P(2));
    REQUIRE(xp_snd_copy(&s, data, 100) == 100);
    CHECK_EQ(out(&s, T0, &len), 0);
    xp_snd_set_nodelay(&s, true);
    CHECK_EQ(out(&s, T0, &len), 1 + 1200);
    CHECK_EQ(len, 100);
    xp_snd_set_nodelay(&s, false);
    REQUIRE(xp_snd_copy(&s, data, 100) == 100);
    CHECK_EQ(out(&s, T0, &len), 0);
    s.fin_queued = true;
    struct iovec iov[4];
    int niov;
    struct xp_seg seg;
    REQUIRE(xp_snd_next(&s, T0, SEG, iov, 4, &niov, &seg));
    CHECK_EQ(seg.dlen, 100);
    CHECK(seg.fin);
    xp_snd_fini(&s);
}

static void test_coalesce(void)
{
    /* 1 KiB writes while a short segment is unacknowledged: one chunk, full segments */
    struct xp_snd s;
    setup(&s, true, false);
    size_t len;
    REQUIRE(xp_snd_copy(&s, data, 100) == 100);
    CHECK_EQ(out(&s, T0, &len), 1);
    for (int i = 0; i < 10; i++) {
        REQUIRE(xp_snd_copy(&s, data, 1024) == 1024);
        while (out(&s, T0, &len))
            CHECK_EQ(len, SEG); /* only full segments while the short one is out */
    }
    CHECK_EQ(s.ch_count, 1); /* every copy extended one chunk */
    CHECK_EQ(s.nxt, 1 + 100 + 10 * SEG);
    CHECK_EQ(xp_snd_data_end(&s) - s.nxt, 240);
    /* a full MSS across chunks: a reference after copied bytes */
    xp_snd_on_ack(&s, s.nxt, 1 << 20, 1, NULL, 0, true, 10 * MS, T0 + 10 * MS);
    static uint8_t ref[5000];
    REQUIRE(xp_snd_ref(&s, ref, sizeof ref, 7) == 0);
    struct iovec iov[4];
    int niov;
    struct xp_seg seg;
    REQUIRE(xp_snd_next(&s, T0 + 10 * MS, SEG, iov, 4, &niov, &seg));
    CHECK_EQ(seg.dlen, SEG);
    CHECK_EQ(niov, 2);
    CHECK_EQ(iov[0].iov_len, 240);
    CHECK(iov[1].iov_base == ref);
    xp_snd_fini(&s);
}

int main(void)
{
    test_reorder_window();
    test_reorder_seen();
    test_lost_retransmission();
    test_fast_retransmit_first();
    test_reneging();
    test_limited_transmit();
    test_tlp();
    test_tlp_loss();
    test_sent_map();
    test_nagle();
    test_coalesce();
    return check_done("test_xport_rack");
}
