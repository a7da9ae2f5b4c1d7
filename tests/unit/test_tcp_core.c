/* TCP core (src/tcp/tcp_core.h): scripted segment tests with virtual time, one table
 * or script per behaviour of the state machine: active and passive open with option
 * negotiation, data both ways, close from either side, simultaneous open and close,
 * TIME_WAIT (duration, retransmitted FIN, RFC 1337), the RST rules (acceptability,
 * RFC 5961 challenge ACKs and their rate limit, replies in SYN_SENT / SYN_RCVD),
 * checksum failures (-EIO), malformed segments (-EBADMSG), tcp_rst_reply, abort and
 * tcp_accept_cookie (timers, output forms and a pumped pair: test_tcp_core_io.c).  The harness is tests/unit/tcp_fixture.h (shared
 * with the other scripted TCP tests): inject an exact segment at t, expect exactly this
 * reply or none. */
#include "tcp_fixture.h"

#include "tcp/tcp_cookie.h"

/* ---- opening ---- */

static void test_active_open(void)
{
    struct {
        const char *name;
        struct peer p;
        bool no_ts, no_sack, no_wscale;
    } rows[] = {
        {"all options", peer_full(), false, false, false},
        {"peer offers none", peer_bare(), false, false, false},
        {"we offer no timestamps", peer_full(), true, false, false},
        {"we offer no SACK", peer_full(), false, true, false},
        {"we offer no window scale", peer_full(), false, false, true},
        {"we offer nothing", peer_full(), true, true, true},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int f0 = check_failures;
        struct tcp_cfg k = cfg();
        k.no_ts = rows[i].no_ts;
        k.no_sack = rows[i].no_sack;
        k.no_wscale = rows[i].no_wscale;
        struct tcp_conn *c = client(k, rows[i].p);
        struct jet_tcp_info in = info(c);
        CHECK_EQ(in.timestamps, P.ts_on);
        CHECK_EQ(in.sack, P.sack_on);
        CHECK_EQ(in.wscale, rows[i].p.ws >= 0 && !k.no_wscale);
        CHECK_EQ(in.snd_wscale, P.snd_shift);
        CHECK_EQ(in.rcv_wscale, P.our_ws);
        uint32_t pm = rows[i].p.mss ? rows[i].p.mss : TCP_MSS_DEFAULT;
        CHECK_EQ(in.snd_mss, pm < MSS ? pm : MSS);
        CHECK_EQ(in.cwnd, 10ull * in.snd_mss); /* RFC 6928 */
        CHECK(strcmp(in.cc, "cubic") == 0);
        CHECK(tcp_invariant_violation(c) == NULL);
        tcp_destroy(c);
        if (check_failures != f0)
            fprintf(stderr, "  (active open row: %s)\n", rows[i].name);
    }
}

static void test_passive_open(void)
{
    struct {
        const char *name;
        struct peer p;
        bool no_ts;
    } rows[] = {
        {"all options", peer_full(), false},
        {"peer offers none", peer_bare(), false},
        {"we refuse timestamps", peer_full(), true},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int f0 = check_failures;
        struct tcp_cfg k = cfg();
        k.no_ts = rows[i].no_ts;
        struct tcp_conn *c = server(k, rows[i].p);
        struct jet_tcp_info in = info(c);
        CHECK_EQ(in.timestamps, P.ts_on);
        CHECK_EQ(in.sack, P.sack_on);
        CHECK(strcmp(in.state, "ESTABLISHED") == 0);
        tcp_destroy(c);
        if (check_failures != f0)
            fprintf(stderr, "  (passive open row: %s)\n", rows[i].name);
    }

    /* accept_syn refuses what is not a bare SYN, and bytes that do not check */
    struct tcp_cfg k = cfg();
    struct tcp_conn *c;
    REQUIRE(tcp_create(&k, &c) == 0);
    P = peer_full();
    struct pseg sa = {.flags = JET_TCP_SYN | JET_TCP_ACK, .seq = IRS, .ack = 7, .syn_opts = true};
    size_t n = build(segbuf, sizeof segbuf, T0, &sa);
    CHECK_EQ(tcp_accept_syn(c, segbuf, n, 0, T0), -EPROTO);
    struct pseg syn = {.flags = JET_TCP_SYN, .seq = IRS, .syn_opts = true, .wnd = 1000};
    n = build(segbuf, sizeof segbuf, T0, &syn);
    segbuf[14] ^= 1; /* the window: the checksum no longer matches */
    CHECK_EQ(tcp_accept_syn(c, segbuf, n, 0, T0), -EBADMSG);
    CHECK_EQ(tcp_state(c), TCP_CLOSED);
    segbuf[14] ^= 1;
    CHECK_EQ(tcp_accept_syn(c, segbuf, n, 0, T0), 0);
    CHECK_EQ(tcp_accept_syn(c, segbuf, n, 0, T0), -EISCONN);
    CHECK_EQ(tcp_connect(c, T0), -EISCONN);
    tcp_destroy(c);
}

/* ---- data ---- */

static void test_data_both_ways(void)
{
    fill_data();
    struct tcp_cfg k = cfg();
    k.nodelay = true;
    struct tcp_conn *c = client(k, peer_full());
    uint64_t t = T0 + 1 * MS;
    size_t pm = payload_max(MSS);
    CHECK_EQ(tcp_send(c, data, 2500), 2500);
    /* 988 + 988 + 524 bytes (timestamps take 12 of the 1000-byte MSS) */
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1, pm);
    CHECK(memcmp(PL, data, pm) == 0);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1 + pm, IRS + 1, pm);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1 + 2 * pm, IRS + 1, 2500 - 2 * pm);
    CHECK(H.flags & JET_TCP_PSH);
    CHECK(memcmp(PL, data + 2 * pm, 2500 - 2 * pm) == 0);
    NOTHING(c, t);
    CHECK_EQ(tcp_send_pending(c), 2500);
    t += 200 * US;
    inject(c, t, ack_of(2500));
    CHECK_EQ(tcp_send_pending(c), 0);
    CHECK(tcp_next_timeout(c) == UINT64_MAX); /* nothing in flight: no timer */
    struct jet_tcp_info in = info(c);
    CHECK(in.srtt_ns > 0 && in.srtt_ns <= 1200 * US);
    CHECK_EQ(in.bytes_acked, 2500);
    NOTHING(c, t);

    /* the peer's data: quick ACKs at the start (TCP_QUICKACK_SEGS) */
    t += 1 * MS;
    CHECK_EQ(inject(c, t, pdata(0, 700, 2500)), 0);
    EXPECT(c, t, JET_TCP_ACK, ISS + 2501, IRS + 1 + 700, 0);
    CHECK_EQ(H.opt.ts_ecr, ptsv(t));
    uint8_t buf[2000];
    CHECK_EQ(tcp_recv(c, buf, sizeof buf), 700);
    CHECK(pdata_ok(buf, 0, 700));
    CHECK_EQ(tcp_recv(c, buf, sizeof buf), -EAGAIN);
    /* out of order: a SACK block at once, then the hole filled */
    CHECK_EQ(inject(c, t, pdata(1400, 700, 2500)), 0);
    EXPECT(c, t, JET_TCP_ACK, ISS + 2501, IRS + 1 + 700, 0);
    CHECK_EQ(H.opt.nsack, 1);
    CHECK_EQ(H.opt.sack[0].left, IRS + 1 + 1400);
    CHECK_EQ(H.opt.sack[0].right, IRS + 1 + 2100);
    /* the same out-of-order segment again: a D-SACK, then its range (RFC 2883 4.1.2) */
    CHECK_EQ(inject(c, t, pdata(1400, 700, 2500)), 0);
    EXPECT(c, t, JET_TCP_ACK, ISS + 2501, IRS + 1 + 700, 0);
    CHECK_EQ(H.opt.nsack, 2);
    CHECK_EQ(H.opt.sack[0].left, IRS + 1 + 1400);
    CHECK_EQ(H.opt.sack[0].right, IRS + 1 + 2100);
    CHECK_EQ(H.opt.sack[1].left, IRS + 1 + 1400);
    CHECK_EQ(H.opt.sack[1].right, IRS + 1 + 2100);
    CHECK_EQ(inject(c, t, pdata(700, 700, 2500)), 0);
    EXPECT(c, t, JET_TCP_ACK, ISS + 2501, IRS + 1 + 2100, 0);
    CHECK_EQ(H.opt.nsack, 0);
    CHECK_EQ(tcp_recv(c, buf, sizeof buf), 1400);
    CHECK(pdata_ok(buf, 700, 1400));
    /* a duplicate: ACKed at once with a D-SACK (RFC 2883), not delivered again */
    CHECK_EQ(inject(c, t, pdata(700, 700, 2500)), 0);
    EXPECT(c, t, JET_TCP_ACK, ISS + 2501, IRS + 1 + 2100, 0);
    CHECK_EQ(H.opt.nsack, 1);
    CHECK_EQ(H.opt.sack[0].left, IRS + 1 + 700);
    CHECK_EQ(H.opt.sack[0].right, IRS + 1 + 1400);
    CHECK_EQ(tcp_recv_ready(c), 0);
    /* data and ACK of ours in one segment */
    CHECK_EQ(tcp_send(c, data, 100), 100);
    EXPECT(c, t, JET_TCP_ACK, ISS + 2501, IRS + 2101, 100);
    CHECK_EQ(inject(c, t + 100 * US, pdata(2100, 50, 2600)), 0);
    EXPECT(c, t + 100 * US, JET_TCP_ACK, ISS + 2601, IRS + 2151, 0);
    CHECK_EQ(tcp_send_pending(c), 0);
    tcp_destroy(c);
}

/* Delayed ACK once the quick-ACK budget is spent: every 2nd segment, or the timer. */
static void test_delayed_ack(void)
{
    struct tcp_cfg k = cfg();
    struct tcp_conn *c = server(k, peer_full());
    uint64_t t = T0 + 1 * MS;
    uint32_t off = 0;
    for (int i = 0; i < TCP_QUICKACK_SEGS; i++, off += 100) {
        inject(c, t, pdata(off, 100, 0));
        EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1 + off + 100, 0);
    }
    inject(c, t, pdata(off, 100, 0));
    off += 100;
    NOTHING(c, t);
    CHECK_EQ(tcp_next_timeout(c), t + k.ack_delay_ns);
    inject(c, t, pdata(off, 100, 0)); /* the second: at once */
    off += 100;
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1 + off, 0);
    inject(c, t, pdata(off, 100, 0));
    off += 100;
    NOTHING(c, t);
    tick(c, t + k.ack_delay_ns);
    EXPECT(c, t + k.ack_delay_ns, JET_TCP_ACK, ISS + 1, IRS + 1 + off, 0);
    struct jet_tcp_info in = info(c);
    CHECK_EQ(in.quick_acks, TCP_QUICKACK_SEGS);
    CHECK(in.delayed_acks >= 1);
    tcp_destroy(c);
}

/* ---- closing ---- */

static void test_active_close(void)
{
    struct tcp_cfg k = cfg();
    struct tcp_conn *c = client(k, peer_full());
    uint64_t t = T0 + 1 * MS;
    CHECK_EQ(tcp_send(c, "hello", 5), 5);
    CHECK_EQ(tcp_shutdown(c, t), 0);
    CHECK_EQ(tcp_state(c), TCP_FIN_WAIT_1);
    CHECK_EQ(tcp_send(c, "x", 1), -EPIPE);
    EXPECT(c, t, JET_TCP_ACK | JET_TCP_FIN, ISS + 1, IRS + 1, 5);
    NOTHING(c, t);
    t += 100 * US;
    inject(c, t, ack_of(6));
    CHECK_EQ(tcp_state(c), TCP_FIN_WAIT_2);
    NOTHING(c, t);
    /* the peer still sends, then closes */
    inject(c, t, pdata(0, 10, 6));
    EXPECT(c, t, JET_TCP_ACK, ISS + 7, IRS + 11, 0);
    t += 100 * US;
    inject(c, t, (struct pseg){.flags = JET_TCP_FIN | JET_TCP_ACK, .seq = IRS + 11,
                               .ack = ISS + 7, .wnd = P.wnd});
    CHECK_EQ(tcp_state(c), TCP_TIME_WAIT);
    EXPECT(c, t, JET_TCP_ACK, ISS + 7, IRS + 12, 0);
    uint8_t b[16];
    CHECK_EQ(tcp_recv(c, b, sizeof b), 10);
    CHECK_EQ(tcp_recv(c, b, sizeof b), 0);
    CHECK(tcp_recv_eof(c));
    uint64_t tw = t + k.time_wait_ns;
    CHECK_EQ(tcp_next_timeout(c), tw);

    /* RFC 1337: an RST in TIME_WAIT is ignored, in the window or not */
    t += 1 * MS;
    inject(c, t, (struct pseg){.flags = JET_TCP_RST, .seq = IRS + 12});
    inject(c, t, (struct pseg){.flags = JET_TCP_RST | JET_TCP_ACK, .seq = IRS + 12,
                               .ack = ISS + 7});
    CHECK_EQ(tcp_state(c), TCP_TIME_WAIT);
    NOTHING(c, t);
    CHECK_EQ(tcp_error(c), 0);
    /* the FIN again (our ACK was lost): ACKed again, TIME_WAIT restarts */
    t += 1 * MS;
    inject(c, t, (struct pseg){.flags = JET_TCP_FIN | JET_TCP_ACK, .seq = IRS + 11,
                               .ack = ISS + 7, .wnd = P.wnd});
    EXPECT(c, t, JET_TCP_ACK, ISS + 7, IRS + 12, 0);
    tw = t + k.time_wait_ns;
    CHECK_EQ(tcp_next_timeout(c), tw);
    tick(c, tw - 1);
    CHECK_EQ(tcp_state(c), TCP_TIME_WAIT);
    tick(c, tw);
    CHECK_EQ(tcp_state(c), TCP_CLOSED);
    CHECK(tcp_done(c));
    CHECK_EQ(tcp_error(c), 0);
    NOTHING(c, tw);
    /* CLOSED now: a segment gets an RST */
    inject(c, tw, ack_of(6));
    EXPECT(c, tw, JET_TCP_RST, ISS + 7, 0, 0);
    tcp_destroy(c);
}

static void test_passive_close(void)
{
    struct tcp_cfg k = cfg();
    struct tcp_conn *c = server(k, peer_full());
    uint64_t t = T0 + 1 * MS;
    inject(c, t, (struct pseg){.flags = JET_TCP_FIN | JET_TCP_ACK, .seq = IRS + 1,
                               .ack = ISS + 1, .wnd = P.wnd});
    CHECK_EQ(tcp_state(c), TCP_CLOSE_WAIT);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 2, 0); /* a FIN is ACKed at once */
    uint8_t b[4];
    CHECK_EQ(tcp_recv(c, b, sizeof b), 0);
    CHECK_EQ(tcp_send(c, "abc", 3), 3);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 2, 3);
    CHECK_EQ(tcp_shutdown(c, t), 0);
    CHECK_EQ(tcp_state(c), TCP_LAST_ACK);
    EXPECT(c, t, JET_TCP_ACK | JET_TCP_FIN, ISS + 4, IRS + 2, 0);
    t += 100 * US;
    inject(c, t, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 2, .ack = ISS + 4});
    CHECK_EQ(tcp_state(c), TCP_LAST_ACK);
    inject(c, t, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 2, .ack = ISS + 5});
    CHECK_EQ(tcp_state(c), TCP_CLOSED);
    CHECK(tcp_done(c));
    CHECK_EQ(tcp_error(c), 0);
    CHECK(tcp_next_timeout(c) == UINT64_MAX);
    tcp_destroy(c);
}

/* The FIN lost: retransmitted by the RTO until acknowledged. */
static void test_fin_retransmit(void)
{
    struct tcp_cfg k = cfg();
    struct tcp_conn *c = server(k, peer_full());
    uint64_t t = T0 + 1 * MS;
    tcp_shutdown(c, t);
    EXPECT(c, t, JET_TCP_ACK | JET_TCP_FIN, ISS + 1, IRS + 1, 0);
    uint64_t rto = c ? t + k.rto_min_ns : 0; /* srtt 100 us: the RTO is the minimum */
    uint64_t next = tcp_next_timeout(c);
    CHECK(next > t && next <= rto);
    while (next < rto) { /* a tail loss probe may come first (not for a lone FIN yet) */
        tick(c, next);
        drain(c, next);
        next = tcp_next_timeout(c);
    }
    CHECK_EQ(next, rto);
    tick(c, rto);
    EXPECT(c, rto, JET_TCP_ACK | JET_TCP_FIN, ISS + 1, IRS + 1, 0);
    inject(c, rto + 100 * US, ack_of(1));
    CHECK_EQ(tcp_state(c), TCP_FIN_WAIT_2);
    tcp_destroy(c);
}

static void test_simultaneous_open(void)
{
    struct tcp_cfg k = cfg();
    struct tcp_conn *c;
    REQUIRE(tcp_create(&k, &c) == 0);
    REQUIRE(tcp_connect(c, T0) == 0);
    P = peer_full();
    P.ts_on = false;
    EXPECT(c, T0, JET_TCP_SYN, ISS, 0, 0);
    uint32_t syn_ts = H.opt.ts_val;
    /* the peer's own SYN crosses ours */
    uint64_t t = T0 + 50 * US;
    inject(c, t, (struct pseg){.flags = JET_TCP_SYN, .seq = IRS, .wnd = 65535, .syn_opts = true,
                               .ts = true});
    CHECK_EQ(tcp_state(c), TCP_SYN_RCVD);
    agree(&k, &P);
    EXPECT(c, t, JET_TCP_SYN | JET_TCP_ACK, ISS, IRS + 1, 0);
    CHECK_EQ(H.opt.mss, MSS);
    CHECK(H.opt.has_ts && H.opt.sack_ok && H.opt.has_wscale);
    NOTHING(c, t);
    /* the peer's SYN-ACK (its answer to our SYN) completes it */
    t += 50 * US;
    inject(c, t, (struct pseg){.flags = JET_TCP_SYN | JET_TCP_ACK, .seq = IRS, .ack = ISS + 1,
                               .wnd = 65535, .syn_opts = true, .tsecr = syn_ts});
    CHECK_EQ(tcp_state(c), TCP_ESTABLISHED);
    NOTHING(c, t);
    CHECK_EQ(tcp_send(c, "hi", 2), 2);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1, 2);
    tcp_destroy(c);

    /* the other order: SYN crosses, then a bare ACK of our SYN completes it */
    REQUIRE(tcp_create(&k, &c) == 0);
    REQUIRE(tcp_connect(c, T0) == 0);
    P = peer_full();
    P.ts_on = false;
    EXPECT(c, T0, JET_TCP_SYN, ISS, 0, 0);
    inject(c, T0 + 10 * US, (struct pseg){.flags = JET_TCP_SYN, .seq = IRS, .wnd = 65535,
                                          .syn_opts = true, .ts = true});
    agree(&k, &P);
    EXPECT(c, T0 + 10 * US, JET_TCP_SYN | JET_TCP_ACK, ISS, IRS + 1, 0);
    inject(c, T0 + 20 * US, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 1, .ack = ISS + 1,
                                          .wnd = 100});
    CHECK_EQ(tcp_state(c), TCP_ESTABLISHED);
    tcp_destroy(c);
}

static void test_simultaneous_close(void)
{
    struct tcp_cfg k = cfg();
    /* FIN crosses FIN: CLOSING, then the ACK of ours: TIME_WAIT */
    struct tcp_conn *c = client(k, peer_full());
    uint64_t t = T0 + 1 * MS;
    tcp_shutdown(c, t);
    EXPECT(c, t, JET_TCP_ACK | JET_TCP_FIN, ISS + 1, IRS + 1, 0);
    t += 50 * US;
    inject(c, t, (struct pseg){.flags = JET_TCP_FIN | JET_TCP_ACK, .seq = IRS + 1,
                               .ack = ISS + 1, .wnd = P.wnd});
    CHECK_EQ(tcp_state(c), TCP_CLOSING);
    EXPECT(c, t, JET_TCP_ACK, ISS + 2, IRS + 2, 0);
    t += 50 * US;
    inject(c, t, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 2, .ack = ISS + 2,
                               .wnd = P.wnd});
    CHECK_EQ(tcp_state(c), TCP_TIME_WAIT);
    NOTHING(c, t);
    CHECK_EQ(tcp_next_timeout(c), t + k.time_wait_ns);
    tcp_destroy(c);

    /* the peer's FIN acknowledges ours already: straight to TIME_WAIT */
    c = client(k, peer_full());
    tcp_shutdown(c, t);
    EXPECT(c, t, JET_TCP_ACK | JET_TCP_FIN, ISS + 1, IRS + 1, 0);
    inject(c, t + 10 * US, (struct pseg){.flags = JET_TCP_FIN | JET_TCP_ACK, .seq = IRS + 1,
                                         .ack = ISS + 2, .wnd = P.wnd});
    CHECK_EQ(tcp_state(c), TCP_TIME_WAIT);
    EXPECT(c, t + 10 * US, JET_TCP_ACK, ISS + 2, IRS + 2, 0);
    tcp_destroy(c);
}

/* ---- RST rules ---- */

static void test_rst_established(void)
{
    struct tcp_cfg k = cfg();
    struct {
        const char *name;
        int32_t off;  /* RST's sequence number - rcv.nxt */
        bool resets, challenge;
    } rows[] = {
        {"exactly rcv.nxt", 0, true, false},
        {"in the window", 1, false, true},
        {"at the right edge - 1", RCVBUF - 1, false, true},
        {"beyond the window", RCVBUF + 10, false, false},
        {"below rcv.nxt", -1, false, false},
        {"far below", -100000, false, false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int f0 = check_failures;
        struct tcp_conn *c = client(k, peer_full());
        uint64_t t = T0 + 1 * MS;
        inject(c, t, (struct pseg){.flags = JET_TCP_RST, .seq = IRS + 1 + (uint32_t)rows[i].off});
        CHECK_EQ(tcp_state(c), rows[i].resets ? TCP_CLOSED : TCP_ESTABLISHED);
        CHECK_EQ(tcp_error(c), rows[i].resets ? -ECONNRESET : 0);
        if (rows[i].challenge)
            EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1, 0);
        NOTHING(c, t);
        CHECK_EQ(info(c).challenge_acks, rows[i].challenge);
        if (rows[i].resets) {
            CHECK(tcp_done(c));
            uint8_t b[4];
            CHECK_EQ(tcp_recv(c, b, 4), -ECONNRESET);
            CHECK_EQ(tcp_send(c, b, 4), -ECONNRESET);
        }
        tcp_destroy(c);
        if (check_failures != f0)
            fprintf(stderr, "  (RST row: %s)\n", rows[i].name);
    }
}

static void test_challenge_acks(void)
{
    struct tcp_cfg k = cfg();
    struct tcp_conn *c = client(k, peer_full());
    uint64_t t = T0 + 1 * MS;
    /* a SYN in a synchronized state: challenge ACK, never a reset (RFC 5961 4) */
    inject(c, t, (struct pseg){.flags = JET_TCP_SYN, .seq = IRS + 77, .syn_opts = true});
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1, 0);
    CHECK_EQ(tcp_state(c), TCP_ESTABLISHED);
    /* an ACK of what we never sent: challenge ACK, dropped (RFC 5961 5.2) */
    inject(c, t, pdata(0, 10, 5));
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1, 0);
    CHECK_EQ(tcp_recv_ready(c), 0);
    /* an ACK too far below snd.una (more than the peer's largest window) */
    inject(c, t, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 1, .ack = ISS - 100000,
                               .wnd = P.wnd, .data = "zz", .len = 2});
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1, 0);
    CHECK_EQ(tcp_recv_ready(c), 0);
    /* an old ACK within the window is fine: its data is taken */
    struct pseg old = pdata(0, 10, 0);
    old.ack = ISS - 10;
    inject(c, t, old);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 11, 0);
    CHECK_EQ(tcp_recv_ready(c), 10);
    CHECK_EQ(info(c).challenge_acks, 3);

    /* the rate limit: TCP_CHALLENGE_ACK_LIMIT per second */
    t = T0 + 2 * SEC;
    int acks = 0;
    for (int i = 0; i < TCP_CHALLENGE_ACK_LIMIT + 50; i++) {
        inject(c, t, (struct pseg){.flags = JET_TCP_RST, .seq = IRS + 100});
        acks += drain(c, t);
    }
    CHECK_EQ(acks, TCP_CHALLENGE_ACK_LIMIT);
    t += SEC;
    inject(c, t, (struct pseg){.flags = JET_TCP_RST, .seq = IRS + 100});
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 11, 0);
    CHECK_EQ(tcp_state(c), TCP_ESTABLISHED);
    tcp_destroy(c);
}

static void test_rst_syn_states(void)
{
    struct tcp_cfg k = cfg();
    struct tcp_conn *c;
    P = peer_full();
    P.ts_on = false;
    struct {
        const char *name;
        struct pseg s;
        bool rst_out;       /* we answer with an RST */
        uint32_t rst_seq;
        enum tcp_state after;
        int err;
    } rows[] = {
        {"SYN-ACK with a wrong ACK", {.flags = JET_TCP_SYN | JET_TCP_ACK, .seq = IRS, .ack = ISS + 5,
                                      .syn_opts = true}, true, ISS + 5, TCP_SYN_SENT, 0},
        {"ACK below our SYN", {.flags = JET_TCP_ACK, .seq = IRS, .ack = ISS}, true, ISS,
         TCP_SYN_SENT, 0},
        {"RST with the right ACK", {.flags = JET_TCP_RST | JET_TCP_ACK, .seq = 0, .ack = ISS + 1},
         false, 0, TCP_CLOSED, -ECONNREFUSED},
        {"RST with a wrong ACK", {.flags = JET_TCP_RST | JET_TCP_ACK, .seq = 0, .ack = ISS + 9},
         false, 0, TCP_SYN_SENT, 0},
        {"RST without ACK", {.flags = JET_TCP_RST, .seq = IRS}, false, 0, TCP_SYN_SENT, 0},
        {"bare ACK-less segment", {.flags = 0, .seq = IRS}, false, 0, TCP_SYN_SENT, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int f0 = check_failures;
        REQUIRE(tcp_create(&k, &c) == 0);
        REQUIRE(tcp_connect(c, T0) == 0);
        EXPECT(c, T0, JET_TCP_SYN, ISS, 0, 0);
        inject(c, T0 + 10 * US, rows[i].s);
        if (rows[i].rst_out) {
            EXPECT(c, T0 + 10 * US, JET_TCP_RST, rows[i].rst_seq, 0, 0);
            CHECK_EQ(H.opt.has_ts, false);
        }
        NOTHING(c, T0 + 10 * US);
        CHECK_EQ(tcp_state(c), rows[i].after);
        CHECK_EQ(tcp_error(c), rows[i].err);
        tcp_destroy(c);
        if (check_failures != f0)
            fprintf(stderr, "  (SYN_SENT row: %s)\n", rows[i].name);
    }

    /* SYN_RCVD: an ACK that does not acknowledge our SYN-ACK gets an RST */
    REQUIRE(tcp_create(&k, &c) == 0);
    P = peer_full();
    P.ts_on = false;
    struct pseg syn = {.flags = JET_TCP_SYN, .seq = IRS, .wnd = 65535, .syn_opts = true,
                       .ts = true};
    size_t n = build(segbuf, sizeof segbuf, T0, &syn);
    REQUIRE(tcp_accept_syn(c, segbuf, n, 0, T0) == 0);
    agree(&k, &P);
    EXPECT(c, T0, JET_TCP_SYN | JET_TCP_ACK, ISS, IRS + 1, 0);
    inject(c, T0 + 10 * US, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 1, .ack = ISS + 3});
    EXPECT(c, T0 + 10 * US, JET_TCP_RST, ISS + 3, 0, 0);
    CHECK_EQ(tcp_state(c), TCP_SYN_RCVD);
    /* the peer's SYN again: our SYN-ACK again */
    inject(c, T0 + 20 * US, syn);
    EXPECT(c, T0 + 20 * US, JET_TCP_SYN | JET_TCP_ACK, ISS, IRS + 1, 0);
    /* an RST at rcv.nxt: refused */
    inject(c, T0 + 30 * US, (struct pseg){.flags = JET_TCP_RST, .seq = IRS + 1});
    CHECK_EQ(tcp_state(c), TCP_CLOSED);
    CHECK_EQ(tcp_error(c), -ECONNREFUSED);
    NOTHING(c, T0 + 30 * US);
    tcp_destroy(c);
}

/* PAWS (RFC 7323 5): an old TSval drops the segment (ACKed); an RST is not subject to
 * it; after 24 days without a new TSval, TS.Recent is invalid and any TSval goes. */
static void test_paws(void)
{
    struct tcp_cfg k = cfg();
    struct tcp_conn *c = server(k, peer_full());
    uint64_t t = T0 + 1 * MS;
    struct pseg d = pdata(0, 100, 0);
    d.tsval = ptsv(T0) - 5; /* older than TS.Recent */
    inject(c, t, d);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1, 0);
    CHECK_EQ(tcp_recv_ready(c), 0);
    CHECK_EQ(info(c).paws_drops, 1);
    /* the same data with a current TSval is taken */
    inject(c, t, pdata(0, 100, 0));
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 101, 0);
    CHECK_EQ(tcp_recv_ready(c), 100);
    /* idle 25 days: a TSval from a wrapped clock is accepted */
    uint64_t later = t + 25ull * 86400 * SEC;
    d = pdata(100, 10, 0);
    d.tsval = 3; /* "before" TS.Recent in serial arithmetic */
    inject(c, later, d);
    EXPECT(c, later, JET_TCP_ACK, ISS + 1, IRS + 111, 0);
    CHECK_EQ(H.opt.ts_ecr, 3);
    CHECK_EQ(info(c).paws_drops, 1);
    /* an RST with an old TSval still resets */
    inject(c, later, (struct pseg){.flags = JET_TCP_RST, .seq = IRS + 111, .tsval = 1});
    CHECK_EQ(tcp_error(c), -ECONNRESET);
    tcp_destroy(c);
}

/* The handshake's third segment may carry data and a FIN. */
static void test_third_segment_data(void)
{
    struct tcp_cfg k = cfg();
    struct tcp_conn *c;
    REQUIRE(tcp_create(&k, &c) == 0);
    P = peer_full();
    P.ts_on = false;
    struct pseg syn = {.flags = JET_TCP_SYN, .seq = IRS, .wnd = 65535, .syn_opts = true,
                       .ts = true};
    size_t n = build(segbuf, sizeof segbuf, T0, &syn);
    REQUIRE(tcp_accept_syn(c, segbuf, n, 0, T0) == 0);
    agree(&k, &P);
    EXPECT(c, T0, JET_TCP_SYN | JET_TCP_ACK, ISS, IRS + 1, 0);
    struct pseg d = pdata(0, 300, 0);
    d.flags |= JET_TCP_FIN;
    inject(c, T0 + 100 * US, d);
    CHECK_EQ(tcp_state(c), TCP_CLOSE_WAIT);
    EXPECT(c, T0 + 100 * US, JET_TCP_ACK, ISS + 1, IRS + 302, 0);
    uint8_t b[400];
    CHECK_EQ(tcp_recv(c, b, sizeof b), 300);
    CHECK(pdata_ok(b, 0, 300));
    CHECK_EQ(tcp_recv(c, b, sizeof b), 0);
    CHECK(info(c).srtt_ns == 100 * US); /* the ACK's TSecr timed the SYN-ACK */
    tcp_destroy(c);
}

/* ---- damaged and malformed input ---- */

static void test_bad_input(void)
{
    struct tcp_cfg k = cfg();
    struct tcp_conn *c = client(k, peer_full());
    uint64_t t = T0 + 1 * MS;
    struct pseg d = pdata(0, 100, 0);
    /* a flipped payload bit, a flipped header bit: dropped, -EIO, nothing acts */
    size_t n = build(segbuf, sizeof segbuf, t, &d);
    segbuf[n - 1] ^= 0x10;
    CHECK_EQ(tcp_input(c, segbuf, n, 0, t), -EIO);
    segbuf[n - 1] ^= 0x10;
    segbuf[4] ^= 0x01; /* sequence number */
    CHECK_EQ(tcp_input(c, segbuf, n, 0, t), -EIO);
    segbuf[4] ^= 0x01;
    NOTHING(c, t);
    CHECK_EQ(tcp_recv_ready(c), 0);
    CHECK_EQ(info(c).csum_bad, 2);
    /* odd-length payload, odd byte damaged */
    d = pdata(0, 101, 0);
    n = build(segbuf, sizeof segbuf, t, &d);
    segbuf[n - 1] ^= 0x80;
    CHECK_EQ(tcp_input(c, segbuf, n, 0, t), -EIO);
    /* the caller vouches for it: no check at all */
    CHECK_EQ(tcp_input(c, segbuf, n, TCP_IN_CSUM_OK, t), 0);
    CHECK_EQ(tcp_recv_ready(c), 101);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 102, 0);

    /* malformed: -EBADMSG, counted, nothing acts (checksum made right) */
    struct {
        const char *name;
        int doff;      /* data offset field (words) */
        int optlen;    /* length byte of an option at byte 20, 0: none */
        size_t len;    /* bytes handed in */
    } rows[] = {
        {"shorter than a header", 5, 0, 19},
        {"data offset 4", 4, 0, 40},
        {"data offset past the end", 15, 0, 40},
        {"option length 1", 6, 1, 24},
        {"option past the header", 6, 10, 24},
        {"empty", 5, 0, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t b[64];
        memset(b, 0, sizeof b);
        struct pseg a = ack_of(0);
        a.nots = true;
        size_t m = build(b, sizeof b, t, &a);
        REQUIRE(m == 20);
        b[12] = (uint8_t)(rows[i].doff << 4);
        if (rows[i].optlen) {
            b[20] = 8; /* timestamps kind */
            b[21] = (uint8_t)rows[i].optlen;
        }
        b[16] = b[17] = 0;
        uint16_t cs = jet_inet_csum(jet_inet_sum(b, rows[i].len,
                                                 jet_inet_pseudo_sum(RADDR, LADDR, 6,
                                                                     (uint16_t)rows[i].len)));
        if (rows[i].len >= 18) {
            b[16] = (uint8_t)(cs >> 8);
            b[17] = (uint8_t)cs;
        }
        uint64_t m0 = info(c).malformed;
        int rc = tcp_input(c, b, rows[i].len, 0, t);
        CHECK_EQ(rc, -EBADMSG);
        if (rc != -EBADMSG)
            fprintf(stderr, "  (malformed row: %s)\n", rows[i].name);
        CHECK_EQ(info(c).malformed, m0 + 1);
        NOTHING(c, t);
    }
    CHECK_EQ(tcp_state(c), TCP_ESTABLISHED);
    tcp_destroy(c);
}

/* ---- without a connection ---- */

static void test_rst_reply(void)
{
    struct tcp_tuple tu = {.laddr = LADDR, .raddr = RADDR, .lport = LPORT, .rport = RPORT};
    P = peer_bare();
    uint8_t out[64];
    struct jet_tcp_hdr h;
    struct {
        const char *name;
        struct pseg s;
        int ret;             /* > 0: an RST */
        uint8_t flags;
        uint32_t seq, ack;
    } rows[] = {
        {"SYN", {.flags = JET_TCP_SYN, .seq = 1000, .syn_opts = true}, 20,
         JET_TCP_RST | JET_TCP_ACK, 0, 1001},
        {"SYN with data", {.flags = JET_TCP_SYN, .seq = 1000, .data = "abc", .len = 3}, 20,
         JET_TCP_RST | JET_TCP_ACK, 0, 1004},
        {"ACK", {.flags = JET_TCP_ACK, .seq = 5, .ack = 777}, 20, JET_TCP_RST, 777, 0},
        {"FIN without ACK", {.flags = JET_TCP_FIN, .seq = 5, .data = "ab", .len = 2}, 20,
         JET_TCP_RST | JET_TCP_ACK, 0, 8},
        {"RST", {.flags = JET_TCP_RST, .seq = 5}, 0, 0, 0, 0},
        {"RST+ACK", {.flags = JET_TCP_RST | JET_TCP_ACK, .seq = 5, .ack = 6}, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        size_t n = build(segbuf, sizeof segbuf, T0, &rows[i].s);
        int rc = tcp_rst_reply(&tu, segbuf, n, 0, out, sizeof out);
        CHECK_EQ(rc, rows[i].ret);
        if (rc > 0) {
            REQUIRE(jet_tcp_parse(out, (size_t)rc, LADDR, RADDR, &h, 0) == 0);
            CHECK_EQ(h.flags, rows[i].flags);
            CHECK_EQ(h.seq, rows[i].seq);
            CHECK_EQ(h.ack, rows[i].ack);
            CHECK_EQ(h.sport, LPORT);
            CHECK_EQ(h.dport, RPORT);
            CHECK_EQ(h.win, 0);
        }
        if (rc != rows[i].ret)
            fprintf(stderr, "  (rst_reply row: %s)\n", rows[i].name);
    }
    struct pseg s = {.flags = JET_TCP_ACK, .seq = 5, .ack = 777};
    size_t n = build(segbuf, sizeof segbuf, T0, &s);
    CHECK_EQ(tcp_rst_reply(&tu, segbuf, n, 0, out, 19), -ENOSPC);
    segbuf[9] ^= 4; /* damaged */
    CHECK_EQ(tcp_rst_reply(&tu, segbuf, n, 0, out, sizeof out), -EBADMSG);
    CHECK_EQ(tcp_rst_reply(&tu, segbuf, n, TCP_IN_CSUM_OK, out, sizeof out), 20);
    CHECK_EQ(tcp_rst_reply(&tu, segbuf, 12, 0, out, sizeof out), -EBADMSG);
}

/* ---- abort ---- */

static void test_abort(void)
{
    struct tcp_cfg k = cfg();
    struct tcp_conn *c = client(k, peer_full());
    uint64_t t = T0 + 1 * MS;
    tcp_send(c, "abc", 3);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1, 3);
    inject(c, t, pdata(0, 4, 0));
    drain(c, t);
    CHECK_EQ(tcp_abort(c, t), 0);
    CHECK_EQ(tcp_state(c), TCP_CLOSED);
    CHECK(!tcp_done(c)); /* the RST is still due */
    EXPECT(c, t, JET_TCP_RST | JET_TCP_ACK, ISS + 4, IRS + 5, 0);
    NOTHING(c, t);
    CHECK(tcp_done(c));
    CHECK_EQ(tcp_error(c), -ECONNABORTED);
    CHECK(tcp_next_timeout(c) == UINT64_MAX);
    CHECK_EQ(info(c).rst_out, 1);
    tcp_destroy(c);

    /* in SYN_SENT: no RST */
    REQUIRE(tcp_create(&k, &c) == 0);
    tcp_connect(c, T0);
    drain(c, T0);
    tcp_abort(c, T0);
    NOTHING(c, T0);
    CHECK_EQ(tcp_error(c), -ECONNABORTED);
    CHECK(tcp_done(c));
    tcp_destroy(c);
}

/* ---- SYN cookies ---- */

static void test_accept_cookie(void)
{
    struct tcp_key key = {0x0123456789abcdefull, 0xfedcba9876543210ull};
    struct tcp_tuple tu = {.laddr = LADDR, .raddr = RADDR, .lport = LPORT, .rport = RPORT};
    uint64_t t = T0;
    wire_opts syn;
    memset(&syn, 0, sizeof syn);
    syn.mss = 1460;
    syn.has_wscale = true;
    syn.wscale = PEER_WS;
    syn.sack_ok = true;
    syn.has_ts = true;
    syn.ts_val = ptsv(t);
    struct tcp_cookie ck;
    REQUIRE(tcp_cookie_make(&key, &tu, IRS, &syn, false, MSS, tsv(t), t, &ck) == 0);
    /* the third segment: it acknowledges the cookie and carries data */
    P = peer_full();
    agree(&(struct tcp_cfg){.rcvbuf_bytes = RCVBUF}, &P);
    P.last_tsval = ck.tsval;
    t += 100 * US;
    struct pseg a = {.flags = JET_TCP_ACK | JET_TCP_PSH, .seq = IRS + 1, .ack = ck.isn + 1,
                     .wnd = 1000, .data = "GET /", .len = 5};
    size_t n = build(segbuf, sizeof segbuf, t, &a);
    struct jet_tcp_hdr h;
    REQUIRE(jet_tcp_parse(segbuf, n, RADDR, LADDR, &h, 0) == 0);
    struct tcp_cookie_opts o;
    unsigned age;
    REQUIRE(tcp_cookie_check(&key, &tu, h.seq, h.ack, &h.opt, t, &o, &age) == 0);
    struct tcp_cfg k = cfg();
    struct tcp_conn *c;
    REQUIRE(tcp_create(&k, &c) == 0);
    /* not an ACK: refused */
    struct pseg bad = a;
    bad.flags = JET_TCP_SYN;
    size_t bn = build(outbuf, sizeof outbuf, t, &bad);
    CHECK_EQ(tcp_accept_cookie(c, outbuf, bn, 0, &o, t), -EPROTO);
    /* damaged: refused, nothing changed */
    segbuf[n - 1] ^= 1;
    CHECK_EQ(tcp_accept_cookie(c, segbuf, n, 0, &o, t), -EBADMSG);
    CHECK_EQ(tcp_state(c), TCP_CLOSED);
    segbuf[n - 1] ^= 1;
    CHECK_EQ(tcp_accept_cookie(c, segbuf, n, 0, &o, t), 0);
    CHECK_EQ(tcp_state(c), TCP_ESTABLISHED);
    CHECK_EQ(tcp_accept_cookie(c, segbuf, n, 0, &o, t), -EISCONN);
    struct jet_tcp_info in = info(c);
    CHECK_EQ(in.snd_mss, o.mss < MSS ? o.mss : MSS);
    CHECK(in.timestamps && in.sack && in.wscale);
    CHECK_EQ(in.snd_wscale, PEER_WS);
    CHECK_EQ(tcp_recv_ready(c), 5);
    EXPECT(c, t, JET_TCP_ACK, ck.isn + 1, IRS + 6, 0); /* first data: quick ACK */
    CHECK_EQ(H.opt.ts_ecr, ptsv(t));
    CHECK_EQ(tcp_send(c, "HTTP", 4), 4);
    EXPECT(c, t, JET_TCP_ACK, ck.isn + 1, IRS + 6, 4);
    CHECK_EQ(H.win, adv(RCVBUF - 5));
    tcp_destroy(c);
}

/* Window scaling: the peer's window is shifted, ours is advertised shifted. */
static void test_window_scale(void)
{
    struct tcp_cfg k = cfg();
    k.nodelay = true;
    struct tcp_conn *c = client(k, peer_full());
    uint64_t t = T0 + 1 * MS;
    fill_data();
    /* peer window field 1000 << 3 = 8000 bytes: 8 segments of 988, the 9th is partial */
    inject(c, t, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 1, .ack = ISS + 1, .wnd = 1000});
    CHECK_EQ(tcp_send(c, data, 20000), 20000);
    struct jet_tcp_info in = info(c);
    CHECK_EQ(in.snd_wnd, 8000);
    size_t pm = payload_max(MSS), sent = 0;
    int segs = drain(c, t);
    sent = (size_t)segs * pm;
    CHECK_EQ(segs, 8); /* 8 x 988 = 7904; the rest (96) would be a silly window */
    CHECK_EQ(sent, 7904);
    (void)in;
    tcp_destroy(c);
}


int main(void)
{
    test_active_open();
    test_passive_open();
    test_data_both_ways();
    test_delayed_ack();
    test_active_close();
    test_passive_close();
    test_fin_retransmit();
    test_simultaneous_open();
    test_simultaneous_close();
    test_rst_established();
    test_challenge_acks();
    test_rst_syn_states();
    test_paws();
    test_third_segment_data();
    test_bad_input();
    test_rst_reply();
    test_abort();
    test_accept_cookie();
    test_window_scale();
    return check_done("test_tcp_core");
}
