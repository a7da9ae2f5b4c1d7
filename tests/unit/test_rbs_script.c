/* Scripted segment tests for the RBS core (src/rbs): put an endpoint in a state,
 * inject an exact segment at virtual time t, and assert the exact reply (its fields)
 * or that none is sent.  The test plays the peer by hand.
 *
 * Our ISN sits just below 2^32 so every test crosses the sequence wrap. */
#include <errno.h>

#include "check.h"
#include "rbs/rbs_core.h"

enum { ISS = 0xFFFFFF00u, IRS = 5000, MSS = 1000, RCVBUF = 8000, LCHAN = 33, PCHAN = 77 };
static const uint64_t T0 = 1000000000ull;
static const uint64_t MS = 1000000ull, US = 1000ull;

static uint8_t segbuf[4096];

static struct rbs_cfg cfg(void)
{
    struct rbs_cfg k = {.mss = MSS, .rcvbuf_bytes = RCVBUF, .sndbuf_bytes = 64 * 1024,
                        .rto_min_ns = 10 * MS, .rto_max_ns = 1000 * MS, .rto_init_ns = 100 * MS,
                        .ack_delay_ns = 1 * MS, .keepalive_ns = UINT64_MAX, .max_retries = 5,
                        .time_wait_ns = 50 * MS, .isn = ISS, .local_chan = LCHAN};
    return k;
}

static uint32_t us32(uint64_t t)
{
    return (uint32_t)(t / 1000);
}

/* What the test (as the peer) sends. */
struct seg {
    uint8_t flags;
    uint32_t seq, ack;
    uint16_t wnd;
    uint32_t tsval, tsecr;
    int nsack;
    struct rbs_sack sack[4];
    const void *data;
    size_t len;
    bool syn_opts;
    uint32_t wscale;
};

static int inject(struct rbs_conn *c, uint64_t t, struct seg s)
{
    struct rbs_hdr h;
    memset(&h, 0, sizeof h);
    h.flags = s.flags;
    h.seq = s.seq;
    h.ack = s.ack;
    h.wnd = s.wnd;
    h.tsval = s.tsval;
    h.tsecr = s.tsecr;
    h.nsack = (uint8_t)s.nsack;
    memcpy(h.sack, s.sack, sizeof h.sack);
    if (s.flags & RBS_SYN) {
        h.opts = RBS_HAS_MSS | RBS_HAS_WSCALE | RBS_HAS_CHAN;
        h.mss = MSS;
        h.wscale = (uint8_t)s.wscale;
        h.chan = PCHAN;
    }
    int hl = rbs_hdr_emit(segbuf, sizeof segbuf, &h);
    REQUIRE(hl > 0);
    if (s.len)
        memcpy(segbuf + hl, s.data, s.len);
    int rc = rbs_input(c, segbuf, (size_t)hl + s.len, t);
    CHECK(rbs_invariant_violation(c) == NULL);
    return rc;
}

/* What the endpoint sends: 1 and the parsed header (payload in pl), or 0 if none. */
static uint8_t pl[4096];
static size_t pl_len;
static int out(struct rbs_conn *c, uint64_t t, struct rbs_hdr *h)
{
    uint8_t buf[MSS + RBS_HDR_MAX];
    int n = rbs_output(c, t, buf, sizeof buf);
    CHECK(n >= 0);
    CHECK(rbs_invariant_violation(c) == NULL);
    if (n <= 0)
        return 0;
    int hl = rbs_hdr_parse(buf, (size_t)n, h);
    REQUIRE(hl > 0);
    pl_len = (size_t)n - (size_t)hl;
    memcpy(pl, buf + hl, pl_len);
    return 1;
}

static bool nothing(struct rbs_conn *c, uint64_t t)
{
    struct rbs_hdr h;
    return out(c, t, &h) == 0;
}

static uint8_t data[64 * 1024];

/* Active open completed at T0 + 100 us with a peer window of wnd. */
static struct rbs_conn *client(uint16_t wnd)
{
    struct rbs_cfg k = cfg();
    struct rbs_conn *c;
    struct rbs_hdr h;
    REQUIRE(rbs_create(&k, &c) == 0);
    REQUIRE(rbs_connect(c, T0) == 0);
    REQUIRE(out(c, T0, &h));
    CHECK_EQ(h.flags, RBS_SYN);
    CHECK_EQ(h.seq, ISS);
    inject(c, T0 + 100 * US,
           (struct seg){.flags = RBS_SYN | RBS_ACK, .seq = IRS, .ack = ISS + 1, .wnd = wnd,
                        .tsval = 7, .tsecr = us32(T0)});
    CHECK_EQ(rbs_state(c), RBS_ESTABLISHED);
    REQUIRE(out(c, T0 + 100 * US, &h));
    CHECK_EQ(h.flags, RBS_ACK);
    CHECK_EQ(h.seq, ISS + 1);
    CHECK_EQ(h.ack, IRS + 1);
    CHECK(nothing(c, T0 + 100 * US));
    return c;
}

/* A peer ACK (seq IRS + 1) of our byte n (0 = the SYN). */
static struct seg ack_of(uint32_t n, uint16_t wnd)
{
    return (struct seg){.flags = RBS_ACK, .seq = IRS + 1, .ack = ISS + 1 + n, .wnd = wnd,
                        .tsval = 8, .tsecr = us32(T0)};
}

static void test_handshake_active(void)
{
    struct rbs_cfg k = cfg();
    struct rbs_conn *c;
    struct rbs_hdr h;
    REQUIRE(rbs_create(&k, &c) == 0);
    CHECK_EQ(rbs_connect(c, T0), 0);
    CHECK_EQ(rbs_connect(c, T0), -EISCONN);
    REQUIRE(out(c, T0, &h));
    CHECK_EQ(h.flags, RBS_SYN);
    CHECK_EQ(h.seq, ISS);
    CHECK_EQ(h.ack, 0);
    CHECK_EQ(h.opts, RBS_HAS_MSS | RBS_HAS_WSCALE | RBS_HAS_CHAN);
    CHECK_EQ(h.mss, MSS);
    CHECK_EQ(h.wscale, 0);
    CHECK_EQ(h.chan, LCHAN);
    CHECK_EQ(h.wnd, RCVBUF);
    CHECK_EQ(h.tsval, us32(T0));
    CHECK_EQ(pl_len, 0);
    CHECK(nothing(c, T0));
    CHECK_EQ(rbs_next_timeout(c), T0 + 100 * MS);
    /* a SYN-ACK acknowledging something else: RST from its ACK, stay in SYN_SENT */
    inject(c, T0 + 50 * US, (struct seg){.flags = RBS_SYN | RBS_ACK, .seq = IRS, .ack = ISS + 9});
    REQUIRE(out(c, T0 + 50 * US, &h));
    CHECK_EQ(h.flags, RBS_RST);
    CHECK_EQ(h.seq, ISS + 9);
    CHECK_EQ(rbs_state(c), RBS_SYN_SENT);
    /* a plain SYN (simultaneous open) is not supported: dropped */
    inject(c, T0 + 60 * US, (struct seg){.flags = RBS_SYN, .seq = IRS});
    CHECK(nothing(c, T0 + 60 * US));
    CHECK_EQ(rbs_state(c), RBS_SYN_SENT);
    /* the right SYN-ACK */
    inject(c, T0 + 100 * US,
           (struct seg){.flags = RBS_SYN | RBS_ACK, .seq = IRS, .ack = ISS + 1, .wnd = 4000,
                        .tsval = 12345, .tsecr = us32(T0)});
    CHECK_EQ(rbs_state(c), RBS_ESTABLISHED);
    CHECK_EQ(rbs_peer_chan(c), PCHAN);
    REQUIRE(out(c, T0 + 100 * US, &h));
    CHECK_EQ(h.flags, RBS_ACK);
    CHECK_EQ(h.seq, ISS + 1);
    CHECK_EQ(h.ack, IRS + 1);
    CHECK_EQ(h.tsecr, 12345);
    CHECK_EQ(h.opts, 0);
    struct rbs_stats st;
    rbs_get_stats(c, &st);
    CHECK_EQ(st.srtt_ns, 100 * US); /* sample from the echoed timestamp */
    CHECK_EQ(st.rttvar_ns, 50 * US);
    CHECK_EQ(st.rto_ns, 10 * MS);   /* 300 us, raised to rto_min */
    CHECK_EQ(rbs_next_timeout(c), UINT64_MAX);
    rbs_destroy(c);
}

static void test_handshake_passive(void)
{
    struct rbs_cfg k = cfg();
    struct rbs_conn *c;
    struct rbs_hdr h, syn;
    REQUIRE(rbs_create(&k, &c) == 0);
    memset(&syn, 0, sizeof syn);
    syn.flags = RBS_SYN;
    syn.seq = IRS;
    syn.wnd = 3000;
    syn.tsval = 4242;
    syn.opts = RBS_HAS_MSS | RBS_HAS_WSCALE | RBS_HAS_CHAN;
    syn.mss = 600;
    syn.wscale = 2;
    syn.chan = PCHAN;
    uint8_t b[64];
    int n = rbs_hdr_emit(b, sizeof b, &syn);
    REQUIRE(n > 0);
    CHECK_EQ(rbs_listen_accept(c, b, (size_t)n - 1, T0), -EMSGSIZE);
    CHECK_EQ(rbs_listen_accept(c, b, (size_t)n, T0), 0);
    CHECK_EQ(rbs_state(c), RBS_SYN_RCVD);
    CHECK_EQ(rbs_peer_chan(c), PCHAN);
    REQUIRE(out(c, T0, &h));
    CHECK_EQ(h.flags, RBS_SYN | RBS_ACK);
    CHECK_EQ(h.seq, ISS);
    CHECK_EQ(h.ack, IRS + 1);
    CHECK_EQ(h.tsecr, 4242);
    CHECK_EQ(h.chan, LCHAN);
    CHECK_EQ(h.mss, MSS);
    CHECK(nothing(c, T0));
    /* SYN-ACK lost: retransmitted at the initial RTO, then backed off */
    CHECK_EQ(rbs_next_timeout(c), T0 + 100 * MS);
    rbs_on_timeout(c, T0 + 100 * MS);
    REQUIRE(out(c, T0 + 100 * MS, &h));
    CHECK_EQ(h.flags, RBS_SYN | RBS_ACK);
    CHECK_EQ(h.seq, ISS);
    CHECK_EQ(rbs_next_timeout(c), T0 + 300 * MS);
    /* the peer's SYN again: SYN-ACK again at once */
    CHECK_EQ(rbs_input(c, b, (size_t)n, T0 + 150 * MS), 0);
    REQUIRE(out(c, T0 + 150 * MS, &h));
    CHECK_EQ(h.flags, RBS_SYN | RBS_ACK);
    CHECK(nothing(c, T0 + 150 * MS));
    /* an ACK that acknowledges nothing of ours: RST */
    inject(c, T0 + 160 * MS, (struct seg){.flags = RBS_ACK, .seq = IRS + 1, .ack = ISS});
    REQUIRE(out(c, T0 + 160 * MS, &h));
    CHECK_EQ(h.flags, RBS_RST);
    CHECK_EQ(h.seq, ISS);
    CHECK_EQ(rbs_state(c), RBS_SYN_RCVD);
    /* the handshake's ACK, with the first data */
    inject(c, T0 + 170 * MS,
           (struct seg){.flags = RBS_ACK, .seq = IRS + 1, .ack = ISS + 1, .wnd = 1000,
                        .tsval = 4243, .data = "hello", .len = 5});
    CHECK_EQ(rbs_state(c), RBS_ESTABLISHED);
    char r[8];
    CHECK_EQ(rbs_recv(c, r, sizeof r), 5);
    CHECK(memcmp(r, "hello", 5) == 0);
    /* the peer's MSS (600) and window scale (2: 1000 << 2) apply to what we send */
    struct rbs_stats st;
    rbs_get_stats(c, &st);
    CHECK_EQ(st.mss, 600);
    CHECK_EQ(st.snd_wnd, 4000);
    CHECK_EQ(rbs_send(c, data, 1000), 1000);
    REQUIRE(out(c, T0 + 170 * MS, &h));
    CHECK_EQ(pl_len, 600);
    CHECK_EQ(h.ack, IRS + 6);
    REQUIRE(out(c, T0 + 170 * MS, &h));
    CHECK_EQ(pl_len, 400);
    CHECK_EQ(h.seq, ISS + 601);
    rbs_destroy(c);
}

static void test_syn_backoff_timeout(void)
{
    struct rbs_cfg k = cfg();
    struct rbs_conn *c;
    struct rbs_hdr h;
    REQUIRE(rbs_create(&k, &c) == 0);
    rbs_connect(c, T0);
    REQUIRE(out(c, T0, &h));
    uint64_t t = T0, rto = 100 * MS;
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(rbs_next_timeout(c), t + rto);
        t += rto;
        CHECK_EQ(rbs_on_timeout(c, t), 0);
        REQUIRE(out(c, t, &h));
        CHECK_EQ(h.flags, RBS_SYN);
        CHECK_EQ(h.seq, ISS);
        rto = rto * 2 < 1000 * MS ? rto * 2 : 1000 * MS; /* capped at rto_max */
    }
    CHECK_EQ(rbs_next_timeout(c), t + rto);
    CHECK_EQ(rbs_on_timeout(c, t + rto), -ETIMEDOUT); /* max_retries = 5 */
    CHECK_EQ(rbs_state(c), RBS_CLOSED);
    CHECK_EQ(rbs_error(c), -ETIMEDOUT);
    CHECK(nothing(c, t + rto)); /* no RST: the peer never answered */
    rbs_destroy(c);
}

static void test_syn_sent_rst(void)
{
    struct rbs_cfg k = cfg();
    struct rbs_conn *c;
    struct rbs_hdr h;
    REQUIRE(rbs_create(&k, &c) == 0);
    rbs_connect(c, T0);
    REQUIRE(out(c, T0, &h));
    inject(c, T0 + 1 * MS, (struct seg){.flags = RBS_RST, .seq = 0}); /* no ACK: ignored */
    CHECK_EQ(rbs_state(c), RBS_SYN_SENT);
    inject(c, T0 + 1 * MS, (struct seg){.flags = RBS_RST | RBS_ACK, .seq = 0, .ack = ISS + 1});
    CHECK_EQ(rbs_state(c), RBS_CLOSED);
    CHECK_EQ(rbs_error(c), -ECONNREFUSED);
    CHECK(nothing(c, T0 + 1 * MS));
    rbs_destroy(c);
}

static void test_send_in_order(void)
{
    struct rbs_conn *c = client(8000);
    struct rbs_hdr h;
    uint64_t t = T0 + 1 * MS;
    for (int i = 0; i < 3000; i++)
        data[i] = (uint8_t)(i * 7);
    CHECK_EQ(rbs_send(c, data, 3000), 3000);
    for (int i = 0; i < 3; i++) {
        REQUIRE(out(c, t, &h));
        CHECK_EQ(h.flags, RBS_ACK);
        CHECK_EQ(h.seq, ISS + 1 + 1000 * i);
        CHECK_EQ(h.ack, IRS + 1);
        CHECK_EQ(h.tsval, us32(t));
        CHECK_EQ(h.tsecr, 7);
        CHECK_EQ(pl_len, 1000);
        CHECK(memcmp(pl, data + 1000 * i, 1000) == 0);
    }
    CHECK(nothing(c, t));
    /* tail loss probe first: 2 SRTT (100 us) + the peer's ACK delay (1 ms) */
    CHECK_EQ(rbs_next_timeout(c), t + 1200 * US);
    CHECK_EQ(rbs_send_pending(c), 3000);
    struct seg a = ack_of(2000, 8000);
    a.tsecr = us32(t);
    inject(c, t + 200 * US, a);
    CHECK_EQ(rbs_send_pending(c), 1000);
    CHECK(nothing(c, t + 200 * US)); /* a pure ACK is not answered */
    /* sample 200 us: SRTT 112.5 us; the probe timer restarts */
    CHECK_EQ(rbs_next_timeout(c), t + 200 * US + 1225 * US);
    inject(c, t + 300 * US, ack_of(3000, 8000));
    CHECK_EQ(rbs_send_pending(c), 0);
    CHECK_EQ(rbs_next_timeout(c), UINT64_MAX);
    rbs_destroy(c);
}

static void test_send_ref(void)
{
    struct rbs_conn *c = client(8000);
    struct rbs_hdr h;
    uint64_t t = T0 + 1 * MS, ck[4];
    CHECK_EQ(rbs_send_ref(c, data, 1500, 111), 0);
    CHECK_EQ(rbs_send(c, data + 1500, 200), 200);
    CHECK_EQ(rbs_send_ref(c, data + 1700, 300, 222), 0);
    REQUIRE(out(c, t, &h));
    CHECK_EQ(pl_len, 1000);
    REQUIRE(out(c, t, &h));
    CHECK_EQ(pl_len, 1000); /* 500 + 200 + 300 from three chunks */
    CHECK(memcmp(pl, data + 1000, 1000) == 0);
    inject(c, t, ack_of(1499, 8000));
    CHECK_EQ(rbs_completed(c, ck, 4), 0);
    inject(c, t, ack_of(1500, 8000));
    CHECK_EQ(rbs_completed(c, ck, 4), 1);
    CHECK_EQ(ck[0], 111);
    inject(c, t, ack_of(2000, 8000));
    CHECK_EQ(rbs_completed(c, ck, 4), 1);
    CHECK_EQ(ck[0], 222);
    rbs_destroy(c);
}

static void test_recv_in_order_delayed_ack(void)
{
    struct rbs_conn *c = client(8000);
    struct rbs_hdr h;
    uint64_t t = T0 + 1 * MS;
    for (int i = 0; i < 2000; i++)
        data[i] = (uint8_t)(i * 13);
    inject(c, t, (struct seg){.flags = RBS_ACK, .seq = IRS + 1, .ack = ISS + 1, .wnd = 8000,
                              .tsval = 100, .data = data, .len = 1000});
    CHECK(nothing(c, t)); /* delayed */
    CHECK_EQ(rbs_next_timeout(c), t + 1 * MS);
    CHECK_EQ(rbs_recv_ready(c), 1000);
    rbs_on_timeout(c, t + 1 * MS);
    REQUIRE(out(c, t + 1 * MS, &h));
    CHECK_EQ(h.ack, IRS + 1001);
    CHECK_EQ(h.wnd, RCVBUF - 1000);
    CHECK_EQ(h.tsecr, 100);
    /* two segments: the second is acknowledged at once */
    inject(c, t + 2 * MS, (struct seg){.flags = RBS_ACK, .seq = IRS + 1001, .ack = ISS + 1,
                                       .wnd = 8000, .tsval = 101, .data = data + 1000, .len = 500});
    CHECK(nothing(c, t + 2 * MS));
    inject(c, t + 2 * MS, (struct seg){.flags = RBS_ACK, .seq = IRS + 1501, .ack = ISS + 1,
                                       .wnd = 8000, .tsval = 102, .data = data + 1500, .len = 500});
    REQUIRE(out(c, t + 2 * MS, &h));
    CHECK_EQ(h.ack, IRS + 2001);
    CHECK_EQ(h.tsecr, 101); /* the earliest unacknowledged segment's timestamp */
    uint8_t r[4000];
    CHECK_EQ(rbs_recv(c, r, sizeof r), 2000);
    CHECK(memcmp(r, data, 2000) == 0);
    CHECK_EQ(rbs_recv(c, r, sizeof r), -EAGAIN);
    rbs_destroy(c);
}

static void test_recv_dup_reorder(void)
{
    struct rbs_conn *c = client(8000);
    struct rbs_hdr h;
    uint64_t t = T0 + 1 * MS;
    struct rbs_stats st;
    for (int i = 0; i < 3000; i++)
        data[i] = (uint8_t)(i * 31 + 1);
    /* segment 2 before segment 1: immediate ACK with a SACK block */
    inject(c, t, (struct seg){.flags = RBS_ACK, .seq = IRS + 1001, .ack = ISS + 1, .wnd = 8000,
                              .data = data + 1000, .len = 1000});
    REQUIRE(out(c, t, &h));
    CHECK_EQ(h.ack, IRS + 1);
    CHECK_EQ(h.nsack, 1);
    CHECK_EQ(h.sack[0].start, IRS + 1001);
    CHECK_EQ(h.sack[0].end, IRS + 2001);
    CHECK_EQ(rbs_recv_ready(c), 0);
    /* segment 3: two blocks merge into one range */
    inject(c, t, (struct seg){.flags = RBS_ACK, .seq = IRS + 2001, .ack = ISS + 1, .wnd = 8000,
                              .data = data + 2000, .len = 1000});
    REQUIRE(out(c, t, &h));
    CHECK_EQ(h.nsack, 1);
    CHECK_EQ(h.sack[0].end, IRS + 3001);
    /* segment 1 fills the hole: ACK at once, no SACK */
    inject(c, t, (struct seg){.flags = RBS_ACK, .seq = IRS + 1, .ack = ISS + 1, .wnd = 8000,
                              .data = data, .len = 1000});
    REQUIRE(out(c, t, &h));
    CHECK_EQ(h.ack, IRS + 3001);
    CHECK_EQ(h.nsack, 0);
    CHECK_EQ(rbs_recv_ready(c), 3000);
    /* a duplicate: ACK at once, nothing placed */
    inject(c, t, (struct seg){.flags = RBS_ACK, .seq = IRS + 1001, .ack = ISS + 1, .wnd = 8000,
                              .data = "XXXX", .len = 4});
    REQUIRE(out(c, t, &h));
    CHECK_EQ(h.ack, IRS + 3001);
    rbs_get_stats(c, &st);
    CHECK_EQ(st.dup_segs, 1);
    CHECK_EQ(st.ooo_segs, 2);
    CHECK_EQ(st.bytes_in, 3000);
    /* overlapping old + new: only the new part is taken */
    inject(c, t, (struct seg){.flags = RBS_ACK, .seq = IRS + 2991, .ack = ISS + 1, .wnd = 8000,
                              .data = "0123456789abcdef", .len = 16});
    CHECK_EQ(rbs_recv_ready(c), 3006);
    uint8_t r[4000];
    CHECK_EQ(rbs_recv(c, r, sizeof r), 3006);
    CHECK(memcmp(r, data, 3000) == 0);
    CHECK(memcmp(r + 3000, "abcdef", 6) == 0);
    rbs_destroy(c);
}

static void test_beyond_window(void)
{
    struct rbs_conn *c = client(8000);
    struct rbs_hdr h;
    uint64_t t = T0 + 1 * MS;
    struct rbs_stats st;
    /* entirely beyond the 8000-byte window: dropped, ACK at once */
    inject(c, t, (struct seg){.flags = RBS_ACK, .seq = IRS + 1 + RCVBUF, .ack = ISS + 1,
                              .wnd = 8000, .data = data, .len = 100});
    REQUIRE(out(c, t, &h));
    CHECK_EQ(h.ack, IRS + 1);
    CHECK_EQ(h.nsack, 0);
    rbs_get_stats(c, &st);
    CHECK_EQ(st.window_drops, 1);
    /* straddling the edge: the part inside is kept (out of order), the rest dropped */
    inject(c, t, (struct seg){.flags = RBS_ACK, .seq = IRS + 1 + RCVBUF - 50, .ack = ISS + 1,
                              .wnd = 8000, .data = data, .len = 100});
    REQUIRE(out(c, t, &h));
    CHECK_EQ(h.nsack, 1);
    CHECK_EQ(h.sack[0].start, IRS + 1 + RCVBUF - 50);
    CHECK_EQ(h.sack[0].end, IRS + 1 + RCVBUF);
    CHECK_EQ(h.wnd, RCVBUF);
    rbs_get_stats(c, &st);
    CHECK_EQ(st.window_drops, 2);
    rbs_destroy(c);
}

static void test_fast_retransmit(void)
{
    struct rbs_conn *c = client(60000);
    struct rbs_hdr h;
    struct rbs_stats st;
    uint64_t t = T0 + 1 * MS;
    CHECK_EQ(rbs_send(c, data, 5000), 5000);
    for (int i = 0; i < 5; i++)
        REQUIRE(out(c, t, &h));
    CHECK(nothing(c, t));
    /* segment 1 lost: the peer SACKs 2, 2-3, 2-4 */
    for (int i = 1; i <= 3; i++) {
        struct seg a = ack_of(0, 60000);
        a.nsack = 1;
        a.sack[0] = (struct rbs_sack){ISS + 1001, ISS + 1001 + 1000 * (uint32_t)i};
        inject(c, t + 100 * US, a);
        if (i < 3)
            CHECK(nothing(c, t + 100 * US));
    }
    rbs_get_stats(c, &st);
    CHECK_EQ(st.dup_acks, 3);
    CHECK_EQ(st.fast_retransmits, 1);
    CHECK_EQ(st.ssthresh, 2000); /* half the 2000 bytes in flight, at least 2 MSS */
    CHECK_EQ(st.cwnd, 2000);
    REQUIRE(out(c, t + 100 * US, &h));
    CHECK_EQ(h.seq, ISS + 1);
    CHECK_EQ(pl_len, 1000);
    CHECK(memcmp(pl, data, 1000) == 0);
    CHECK(nothing(c, t + 100 * US)); /* segment 5 is not known lost */
    /* recovery ends when everything up to `recover` is acked */
    inject(c, t + 200 * US, ack_of(5000, 60000));
    rbs_get_stats(c, &st);
    CHECK_EQ(st.retransmits, 1);
    CHECK_EQ(st.timeouts, 0);
    CHECK_EQ(st.cwnd, 2000);
    CHECK_EQ(rbs_next_timeout(c), UINT64_MAX);
    rbs_destroy(c);
}

static void test_sack_holes(void)
{
    struct rbs_conn *c = client(60000);
    struct rbs_hdr h;
    uint64_t t = T0 + 1 * MS;
    CHECK_EQ(rbs_send(c, data, 8000), 8000);
    for (int i = 0; i < 8; i++)
        REQUIRE(out(c, t, &h));
    /* 1 and 3 lost; 2 and 4..8 SACKed: both holes have >= 3 MSS SACKed above them */
    struct seg a = ack_of(0, 60000);
    a.nsack = 2;
    a.sack[0] = (struct rbs_sack){ISS + 3001, ISS + 8001};
    a.sack[1] = (struct rbs_sack){ISS + 1001, ISS + 2001};
    inject(c, t + 100 * US, a);
    REQUIRE(out(c, t + 100 * US, &h));
    CHECK_EQ(h.seq, ISS + 1);
    REQUIRE(out(c, t + 100 * US, &h));
    CHECK_EQ(h.seq, ISS + 2001);
    CHECK(nothing(c, t + 100 * US));
    inject(c, t + 200 * US, ack_of(8000, 60000));
    CHECK_EQ(rbs_next_timeout(c), UINT64_MAX);
    rbs_destroy(c);
}

static void test_early_retransmit(void)
{
    /* two segments in flight, nothing more to send: one SACK is enough (RFC 5827) */
    struct rbs_conn *c = client(60000);
    struct rbs_hdr h;
    struct rbs_stats st;
    uint64_t t = T0 + 1 * MS;
    CHECK_EQ(rbs_send(c, data, 2000), 2000);
    REQUIRE(out(c, t, &h));
    REQUIRE(out(c, t, &h));
    struct seg a = ack_of(0, 60000);
    a.nsack = 1;
    a.sack[0] = (struct rbs_sack){ISS + 1001, ISS + 2001};
    inject(c, t + 100 * US, a);
    REQUIRE(out(c, t + 100 * US, &h));
    CHECK_EQ(h.seq, ISS + 1);
    CHECK_EQ(pl_len, 1000);
    rbs_get_stats(c, &st);
    CHECK_EQ(st.fast_retransmits, 1);
    CHECK_EQ(st.timeouts, 0);
    rbs_destroy(c);
}

static void test_window_full(void)
{
    struct rbs_conn *c = client(2500);
    struct rbs_hdr h;
    uint64_t t = T0 + 1 * MS;
    CHECK_EQ(rbs_send(c, data, 6000), 6000);
    REQUIRE(out(c, t, &h));
    REQUIRE(out(c, t, &h));
    CHECK_EQ(h.seq, ISS + 1001);
    CHECK(nothing(c, t)); /* 500 bytes of window left: no small segment while in flight */
    inject(c, t + 100 * US, ack_of(1000, 2500));
    REQUIRE(out(c, t + 100 * US, &h));
    CHECK_EQ(h.seq, ISS + 2001);
    CHECK_EQ(pl_len, 1000);
    CHECK(nothing(c, t + 100 * US));
    /* everything acked, window still 500: a short segment is allowed (nothing in flight) */
    inject(c, t + 200 * US, ack_of(3000, 500));
    REQUIRE(out(c, t + 200 * US, &h));
    CHECK_EQ(h.seq, ISS + 3001);
    CHECK_EQ(pl_len, 500);
    CHECK(nothing(c, t + 200 * US));
    rbs_destroy(c);
}

static void test_zero_window_persist(void)
{
    struct rbs_conn *c = client(1000);
    struct rbs_hdr h;
    struct rbs_stats st;
    uint64_t t = T0 + 1 * MS;
    CHECK_EQ(rbs_send(c, data, 3000), 3000);
    REQUIRE(out(c, t, &h));
    CHECK(nothing(c, t));
    inject(c, t + 100 * US, ack_of(1000, 0));
    CHECK(nothing(c, t + 100 * US));
    uint64_t p = t + 100 * US + 10 * MS; /* persist timer: one RTO */
    CHECK_EQ(rbs_next_timeout(c), p);
    rbs_on_timeout(c, p);
    REQUIRE(out(c, p, &h));
    CHECK_EQ(h.flags, RBS_ACK);
    CHECK_EQ(h.seq, ISS + 1000); /* snd_una - 1: the peer must answer */
    CHECK_EQ(pl_len, 0);
    CHECK(nothing(c, p));
    inject(c, p + 100 * US, ack_of(1000, 0));
    CHECK_EQ(rbs_next_timeout(c), p + 20 * MS); /* backed off */
    rbs_on_timeout(c, p + 20 * MS);
    REQUIRE(out(c, p + 20 * MS, &h));
    CHECK_EQ(h.seq, ISS + 1000);
    rbs_get_stats(c, &st);
    CHECK_EQ(st.persist_probes, 2);
    /* the window opens: data flows, the persist timer stops */
    inject(c, p + 21 * MS, ack_of(1000, 2000));
    REQUIRE(out(c, p + 21 * MS, &h));
    CHECK_EQ(h.seq, ISS + 1001);
    REQUIRE(out(c, p + 21 * MS, &h));
    CHECK_EQ(h.seq, ISS + 2001);
    CHECK(nothing(c, p + 21 * MS));
    rbs_get_stats(c, &st);
    CHECK_EQ(rbs_next_timeout(c), p + 21 * MS + 2 * st.srtt_ns + 1 * MS); /* probe timer */
    rbs_destroy(c);
}

static void test_receiver_zero_window(void)
{
    struct rbs_conn *c = client(8000);
    struct rbs_hdr h;
    uint64_t t = T0 + 1 * MS;
    for (int i = 0; i < RCVBUF; i += 1000)
        inject(c, t, (struct seg){.flags = RBS_ACK, .seq = IRS + 1 + (uint32_t)i, .ack = ISS + 1,
                                  .wnd = 8000, .data = data, .len = 1000});
    REQUIRE(out(c, t, &h));
    CHECK_EQ(h.ack, IRS + 1 + RCVBUF);
    CHECK_EQ(h.wnd, 0);
    /* a probe gets an ACK with the (still zero) window */
    inject(c, t + 1 * MS, (struct seg){.flags = RBS_ACK, .seq = IRS + RCVBUF, .ack = ISS + 1});
    REQUIRE(out(c, t + 1 * MS, &h));
    CHECK_EQ(h.wnd, 0);
    /* the application reads half: a window update goes out */
    uint8_t r[4000];
    CHECK_EQ(rbs_recv(c, r, sizeof r), 4000);
    REQUIRE(out(c, t + 2 * MS, &h));
    CHECK_EQ(h.wnd, 4000);
    CHECK_EQ(h.ack, IRS + 1 + RCVBUF);
    rbs_destroy(c);
}

static void test_rto_backoff(void)
{
    struct rbs_conn *c = client(8000);
    struct rbs_hdr h;
    struct rbs_stats st;
    uint64_t t = T0 + 1 * MS;
    CHECK_EQ(rbs_send(c, data, 2000), 2000);
    REQUIRE(out(c, t, &h));
    REQUIRE(out(c, t + 1 * US, &h));
    /* the tail loss probe resends the last segment and restarts the RTO */
    uint64_t tlp = t + 1200 * US; /* armed by the first segment in flight */
    CHECK_EQ(rbs_next_timeout(c), tlp);
    rbs_on_timeout(c, tlp);
    REQUIRE(out(c, tlp, &h));
    CHECK_EQ(h.seq, ISS + 1001);
    CHECK(nothing(c, tlp));
    uint64_t at = tlp + 10 * MS, rto = 10 * MS;
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(rbs_next_timeout(c), at);
        CHECK(nothing(c, at - 1));
        rbs_on_timeout(c, at);
        REQUIRE(out(c, at, &h));
        CHECK_EQ(h.seq, ISS + 1);
        CHECK_EQ(pl_len, 1000);
        CHECK(nothing(c, at)); /* cwnd is 1 MSS after a timeout */
        rto *= 2;
        at += rto;
    }
    rbs_get_stats(c, &st);
    CHECK_EQ(st.timeouts, 4);
    CHECK_EQ(st.tlp_probes, 1);
    CHECK_EQ(st.retransmits, 5);
    CHECK_EQ(st.cwnd, MSS);
    CHECK_EQ(st.rto_ns, 160 * MS);
    /* the first segment's ACK: RTO recovery sends segment 2 next (slow start: 2 MSS) */
    struct seg a = ack_of(1000, 8000);
    a.tsecr = us32(at - rto) ; /* echoes the last retransmission */
    inject(c, at - rto + 1 * MS, a);
    REQUIRE(out(c, at - rto + 1 * MS, &h));
    CHECK_EQ(h.seq, ISS + 1001);
    rbs_get_stats(c, &st);
    CHECK_EQ(st.rto_ns, 10 * MS); /* a fresh sample clears the back-off */
    rbs_destroy(c);
}

static void test_rto_give_up(void)
{
    struct rbs_conn *c = client(8000);
    struct rbs_hdr h;
    uint64_t t = T0 + 1 * MS;
    CHECK_EQ(rbs_send(c, data, 10), 10);
    REQUIRE(out(c, t, &h));
    for (int i = 0; i < 6; i++) { /* a tail loss probe, then 5 RTOs */
        t = rbs_next_timeout(c);
        CHECK_EQ(rbs_on_timeout(c, t), 0);
        REQUIRE(out(c, t, &h));
    }
    t = rbs_next_timeout(c);
    CHECK_EQ(rbs_on_timeout(c, t), -ETIMEDOUT);
    REQUIRE(out(c, t, &h));
    CHECK_EQ(h.flags, RBS_RST | RBS_ACK);
    CHECK_EQ(h.seq, ISS + 11);
    CHECK_EQ(rbs_send(c, data, 1), -ETIMEDOUT);
    CHECK_EQ(rbs_recv(c, data, 1), -ETIMEDOUT);
    rbs_destroy(c);
}

static void test_close_active(void)
{
    struct rbs_conn *c = client(8000);
    struct rbs_hdr h;
    uint64_t t = T0 + 1 * MS;
    CHECK_EQ(rbs_send(c, data, 100), 100);
    CHECK_EQ(rbs_shutdown(c, t), 0);
    CHECK_EQ(rbs_state(c), RBS_FIN_WAIT_1);
    CHECK_EQ(rbs_send(c, data, 1), -EPIPE);
    REQUIRE(out(c, t, &h)); /* the FIN rides on the last data */
    CHECK_EQ(h.flags, RBS_ACK | RBS_FIN);
    CHECK_EQ(pl_len, 100);
    CHECK(nothing(c, t));
    /* lost: the RTO resends data + FIN */
    rbs_on_timeout(c, t + 10 * MS);
    REQUIRE(out(c, t + 10 * MS, &h));
    CHECK_EQ(h.flags, RBS_ACK | RBS_FIN);
    CHECK_EQ(h.seq, ISS + 1);
    CHECK_EQ(pl_len, 100);
    inject(c, t + 11 * MS, ack_of(101, 8000));
    CHECK_EQ(rbs_state(c), RBS_FIN_WAIT_2);
    CHECK(nothing(c, t + 11 * MS));
    /* half-close: the peer still sends, we still receive */
    inject(c, t + 12 * MS, (struct seg){.flags = RBS_ACK, .seq = IRS + 1, .ack = ISS + 102,
                                        .wnd = 8000, .data = "late", .len = 4});
    CHECK_EQ(rbs_recv_ready(c), 4);
    inject(c, t + 13 * MS, (struct seg){.flags = RBS_ACK | RBS_FIN, .seq = IRS + 5,
                                        .ack = ISS + 102, .wnd = 8000});
    CHECK_EQ(rbs_state(c), RBS_TIME_WAIT);
    REQUIRE(out(c, t + 13 * MS, &h));
    CHECK_EQ(h.flags, RBS_ACK);
    CHECK_EQ(h.ack, IRS + 6);
    CHECK_EQ(h.seq, ISS + 102);
    char r[8];
    CHECK_EQ(rbs_recv(c, r, sizeof r), 4);
    CHECK_EQ(rbs_recv(c, r, sizeof r), 0); /* end of stream */
    /* the FIN again (our ACK was lost): ACK again, TIME_WAIT restarts */
    inject(c, t + 20 * MS, (struct seg){.flags = RBS_ACK | RBS_FIN, .seq = IRS + 5,
                                        .ack = ISS + 102, .wnd = 8000});
    REQUIRE(out(c, t + 20 * MS, &h));
    CHECK_EQ(h.ack, IRS + 6);
    CHECK_EQ(rbs_next_timeout(c), t + 70 * MS);
    rbs_on_timeout(c, t + 70 * MS);
    CHECK_EQ(rbs_state(c), RBS_CLOSED);
    CHECK_EQ(rbs_error(c), 0);
    /* anything now gets an RST */
    inject(c, t + 71 * MS, ack_of(101, 8000));
    REQUIRE(out(c, t + 71 * MS, &h));
    CHECK_EQ(h.flags, RBS_RST);
    CHECK_EQ(h.seq, ISS + 102);
    rbs_destroy(c);
}

static void test_close_passive_and_simultaneous(void)
{
    struct rbs_conn *c = client(8000);
    struct rbs_hdr h;
    uint64_t t = T0 + 1 * MS;
    inject(c, t, (struct seg){.flags = RBS_ACK | RBS_FIN, .seq = IRS + 1, .ack = ISS + 1,
                              .wnd = 8000, .data = "bye", .len = 3});
    CHECK_EQ(rbs_state(c), RBS_CLOSE_WAIT);
    REQUIRE(out(c, t, &h)); /* a FIN is acknowledged at once */
    CHECK_EQ(h.ack, IRS + 5);
    CHECK(rbs_recv_eof(c));
    /* data after the FIN is unexpected */
    inject(c, t, (struct seg){.flags = RBS_ACK, .seq = IRS + 5, .ack = ISS + 1, .wnd = 8000,
                              .data = "x", .len = 1});
    CHECK_EQ(rbs_recv_ready(c), 3);
    REQUIRE(out(c, t, &h));
    /* we still send (half-close), then close */
    CHECK_EQ(rbs_send(c, data, 10), 10);
    CHECK_EQ(rbs_shutdown(c, t), 0);
    CHECK_EQ(rbs_state(c), RBS_LAST_ACK);
    REQUIRE(out(c, t, &h));
    CHECK_EQ(h.flags, RBS_ACK | RBS_FIN);
    CHECK_EQ(pl_len, 10);
    inject(c, t + 1 * MS, ack_of(11, 8000)); /* old sequence number: not acceptable */
    CHECK_EQ(rbs_state(c), RBS_LAST_ACK);
    REQUIRE(out(c, t + 1 * MS, &h));
    CHECK_EQ(h.ack, IRS + 5);
    inject(c, t + 1 * MS, (struct seg){.flags = RBS_ACK, .seq = IRS + 5, .ack = ISS + 12,
                                       .wnd = 8000});
    CHECK_EQ(rbs_state(c), RBS_CLOSED);
    CHECK_EQ(rbs_error(c), 0);
    CHECK_EQ(rbs_next_timeout(c), UINT64_MAX);
    rbs_destroy(c);

    /* simultaneous close: FIN crosses FIN */
    c = client(8000);
    CHECK_EQ(rbs_shutdown(c, t), 0);
    REQUIRE(out(c, t, &h));
    CHECK_EQ(h.flags, RBS_ACK | RBS_FIN);
    CHECK_EQ(h.seq, ISS + 1);
    inject(c, t + 1 * MS, (struct seg){.flags = RBS_ACK | RBS_FIN, .seq = IRS + 1,
                                       .ack = ISS + 1, .wnd = 8000});
    CHECK_EQ(rbs_state(c), RBS_CLOSING);
    REQUIRE(out(c, t + 1 * MS, &h));
    CHECK_EQ(h.ack, IRS + 2);
    inject(c, t + 2 * MS, (struct seg){.flags = RBS_ACK, .seq = IRS + 2, .ack = ISS + 2,
                                       .wnd = 8000});
    CHECK_EQ(rbs_state(c), RBS_TIME_WAIT);
    rbs_destroy(c);
}

static void test_abort_and_rst(void)
{
    struct rbs_conn *c = client(8000);
    struct rbs_hdr h;
    struct rbs_stats st;
    uint64_t t = T0 + 1 * MS;
    /* RST outside the window: ignored */
    inject(c, t, (struct seg){.flags = RBS_RST, .seq = IRS + 1 + 100000});
    CHECK(nothing(c, t));
    CHECK_EQ(rbs_state(c), RBS_ESTABLISHED);
    /* RST inside the window but not exact: challenge ACK */
    inject(c, t, (struct seg){.flags = RBS_RST, .seq = IRS + 10});
    REQUIRE(out(c, t, &h));
    CHECK_EQ(h.flags, RBS_ACK);
    CHECK_EQ(h.ack, IRS + 1);
    CHECK_EQ(rbs_state(c), RBS_ESTABLISHED);
    /* SYN on an established connection: challenge ACK, nothing else */
    inject(c, t, (struct seg){.flags = RBS_SYN, .seq = IRS + 77});
    REQUIRE(out(c, t, &h));
    CHECK_EQ(h.flags, RBS_ACK);
    CHECK_EQ(h.ack, IRS + 1);
    CHECK_EQ(rbs_state(c), RBS_ESTABLISHED);
    /* an ACK for data never sent: ACK and drop */
    inject(c, t, ack_of(500, 8000));
    REQUIRE(out(c, t, &h));
    CHECK_EQ(h.seq, ISS + 1);
    rbs_get_stats(c, &st);
    CHECK_EQ(st.challenge_acks, 2);
    CHECK_EQ(st.unexpected, 2); /* the RST outside the window, the ACK of unsent data */
    /* the exact RST: reset */
    inject(c, t, (struct seg){.flags = RBS_RST, .seq = IRS + 1});
    CHECK_EQ(rbs_state(c), RBS_CLOSED);
    CHECK_EQ(rbs_error(c), -ECONNRESET);
    CHECK(nothing(c, t));
    rbs_destroy(c);

    /* our abort */
    c = client(8000);
    CHECK_EQ(rbs_send(c, data, 10), 10);
    REQUIRE(out(c, t, &h));
    CHECK_EQ(rbs_abort(c, t), 0);
    REQUIRE(out(c, t, &h));
    CHECK_EQ(h.flags, RBS_RST | RBS_ACK);
    CHECK_EQ(h.seq, ISS + 11);
    CHECK_EQ(h.ack, IRS + 1);
    CHECK(nothing(c, t));
    CHECK_EQ(rbs_state(c), RBS_CLOSED);
    CHECK_EQ(rbs_error(c), -ECONNABORTED);
    CHECK_EQ(rbs_next_timeout(c), UINT64_MAX);
    rbs_destroy(c);
}

static void test_keepalive(void)
{
    struct rbs_cfg k = cfg();
    k.keepalive_ns = 100 * MS;
    k.keepalive_intvl_ns = 10 * MS;
    k.keepalive_probes = 2;
    struct rbs_conn *c;
    struct rbs_hdr h;
    REQUIRE(rbs_create(&k, &c) == 0);
    rbs_connect(c, T0);
    REQUIRE(out(c, T0, &h));
    inject(c, T0 + 1 * MS, (struct seg){.flags = RBS_SYN | RBS_ACK, .seq = IRS, .ack = ISS + 1,
                                        .wnd = 8000, .tsecr = us32(T0)});
    REQUIRE(out(c, T0 + 1 * MS, &h));
    uint64_t t = T0 + 101 * MS;
    CHECK_EQ(rbs_next_timeout(c), t);
    rbs_on_timeout(c, t);
    REQUIRE(out(c, t, &h));
    CHECK_EQ(h.seq, ISS); /* snd_una - 1 */
    CHECK_EQ(pl_len, 0);
    /* answered: idle again from now */
    inject(c, t + 1 * MS, ack_of(0, 8000));
    CHECK_EQ(rbs_next_timeout(c), t + 101 * MS);
    t += 101 * MS;
    rbs_on_timeout(c, t);
    REQUIRE(out(c, t, &h));
    CHECK_EQ(rbs_next_timeout(c), t + 10 * MS);
    rbs_on_timeout(c, t + 10 * MS);
    REQUIRE(out(c, t + 10 * MS, &h));
    CHECK_EQ(rbs_on_timeout(c, t + 20 * MS), -ETIMEDOUT);
    REQUIRE(out(c, t + 20 * MS, &h));
    CHECK_EQ(h.flags, RBS_RST | RBS_ACK);
    CHECK_EQ(rbs_error(c), -ETIMEDOUT);
    struct rbs_stats st;
    rbs_get_stats(c, &st);
    CHECK_EQ(st.keepalive_probes, 3);
    rbs_destroy(c);
}

static void test_malformed_counted(void)
{
    struct rbs_conn *c = client(8000);
    struct rbs_stats st;
    uint8_t b[32] = {1, RBS_ACK, 6};
    CHECK_EQ(rbs_input(c, b, 10, T0), -EMSGSIZE);
    b[0] = 2;
    CHECK_EQ(rbs_input(c, b, 24, T0), -EPROTONOSUPPORT);
    b[0] = 1;
    b[1] = 0x20;
    CHECK_EQ(rbs_input(c, b, 24, T0), -EINVAL);
    b[1] = RBS_SYN | RBS_FIN;
    CHECK_EQ(rbs_input(c, b, 24, T0), -EPROTO);
    rbs_get_stats(c, &st);
    CHECK_EQ(st.bad[RBS_BAD_TRUNC], 1);
    CHECK_EQ(st.bad[RBS_BAD_VERSION], 1);
    CHECK_EQ(st.bad[RBS_BAD_RESERVED], 1);
    CHECK_EQ(st.bad[RBS_BAD_FLAGS], 1);
    CHECK(nothing(c, T0));
    CHECK_EQ(rbs_state(c), RBS_ESTABLISHED);
    rbs_destroy(c);
}

static void test_registered_ring(void)
{
    struct rbs_conn *c = client(8000);
    struct rbs_hdr h;
    uint8_t ring[1500];
    const uint8_t *p;
    uint64_t t = T0 + 1 * MS;
    CHECK_EQ(rbs_recv_register(c, ring, sizeof ring), 0);
    for (int i = 0; i < 3000; i++)
        data[i] = (uint8_t)(i ^ 0x5a);
    /* out of order first: placed straight into the application's ring */
    inject(c, t, (struct seg){.flags = RBS_ACK, .seq = IRS + 1001, .ack = ISS + 1, .wnd = 8000,
                              .data = data + 1000, .len = 500});
    CHECK(memcmp(ring + 1000, data + 1000, 500) == 0);
    CHECK_EQ(rbs_recv_register(c, data, 10), -EBUSY);
    inject(c, t, (struct seg){.flags = RBS_ACK, .seq = IRS + 1, .ack = ISS + 1, .wnd = 8000,
                              .data = data, .len = 1000});
    CHECK_EQ(rbs_recv_ready(c), 1500);
    CHECK_EQ(rbs_recv_peek(c, &p), 1500);
    CHECK(p == ring);
    CHECK_EQ(rbs_recv_consume(c, 1501), -EINVAL);
    CHECK_EQ(rbs_recv_consume(c, 1200), 0);
    REQUIRE(out(c, t, &h));
    CHECK_EQ(h.wnd, 1200);
    /* wraps around the ring end */
    inject(c, t, (struct seg){.flags = RBS_ACK, .seq = IRS + 1501, .ack = ISS + 1, .wnd = 8000,
                              .data = data + 1500, .len = 1000});
    CHECK_EQ(rbs_recv_ready(c), 1300);
    CHECK_EQ(rbs_recv_peek(c, &p), 300);
    CHECK(p == ring + 1200);
    CHECK(memcmp(ring, data + 1500, 1000) == 0);
    rbs_destroy(c);
}

static void test_external_ring(void)
{
    struct rbs_cfg k = cfg();
    k.rcvbuf_external = true;
    struct rbs_conn *c;
    struct rbs_hdr h;
    uint8_t ring[RCVBUF];
    const uint8_t *p;
    REQUIRE(rbs_create(&k, &c) == 0);
    CHECK_EQ(rbs_recv_peek(c, &p), 0);
    CHECK_EQ(rbs_connect(c, T0), -EINVAL); /* no ring yet */
    CHECK_EQ(rbs_recv_register(c, ring, sizeof ring), 0);
    CHECK_EQ(rbs_connect(c, T0), 0);
    REQUIRE(out(c, T0, &h));
    CHECK_EQ(h.wnd, RCVBUF);
    inject(c, T0 + 100 * US, (struct seg){.flags = RBS_SYN | RBS_ACK, .seq = IRS, .ack = ISS + 1,
                                          .wnd = 8000, .tsecr = us32(T0)});
    inject(c, T0 + 200 * US, (struct seg){.flags = RBS_ACK, .seq = IRS + 1, .ack = ISS + 1,
                                          .wnd = 8000, .data = "placed", .len = 6});
    CHECK_EQ(rbs_recv_peek(c, &p), 6);
    CHECK(p == ring && memcmp(ring, "placed", 6) == 0);
    rbs_destroy(c);
}

int main(void)
{
    test_handshake_active();
    test_handshake_passive();
    test_syn_backoff_timeout();
    test_syn_sent_rst();
    test_send_in_order();
    test_send_ref();
    test_recv_in_order_delayed_ack();
    test_recv_dup_reorder();
    test_beyond_window();
    test_fast_retransmit();
    test_sack_holes();
    test_early_retransmit();
    test_window_full();
    test_zero_window_persist();
    test_receiver_zero_window();
    test_rto_backoff();
    test_rto_give_up();
    test_close_active();
    test_close_passive_and_simultaneous();
    test_abort_and_rst();
    test_keepalive();
    test_malformed_counted();
    test_registered_ring();
    test_external_ring();
    return check_done("test_rbs_script");
}
