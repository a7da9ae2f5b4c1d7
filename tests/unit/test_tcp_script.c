/* Scripted segment tests for the TCP core (src/tcp/tcp_core.h): put an endpoint in a
 * state, inject an exact segment at virtual time t, and assert the exact reply (its
 * fields) or that none is sent.  The test plays the peer by hand (tcp_fixture.h).
 *
 * Here the handshake and its options and timers: keyed ISN (cfg.isn and ts_offset in
 * the SYN), SYN retries with back-off then -ETIMEDOUT, the first RTO = rto_init;
 * RFC 7323 window scale (scaled both ways, none when the peer offers none, the right
 * edge never moving left, SYN options ignored elsewhere), the WL1/WL2 window update
 * rule, timestamps (TSval clock, TSecr echo rules, RTT samples, bogus TSecr) with
 * PAWS; RFC 6298 RTO (minimum honoured, doubling back-off, reset by a new sample,
 * one segment after it, 3 s after a handshake without a sample, max_retries); MSS (the
 * SYN option, 536 without, RFC 6691 less the timestamp option, tcp_pmtu); RFC 6928
 * initial window; delayed ACK and quick-ACK; Nagle and no-delay.  SACK, recovery,
 * RACK-TLP, zero-window probes and RFC 5961: test_tcp_script2.c; keepalive, user
 * timeout and ICMP errors: test_tcp_script3.c. */
#include "tcp_fixture.h"

/* ---- opening ---- */

static void test_isn_and_syn(void)
{
    struct tcp_cfg k = cfg();
    struct tcp_conn *c;
    /* every default: rto_init 1 s (RFC 6298 2.1), MSS 1460, 4 MiB ring: wscale 7 */
    struct tcp_cfg d;
    memset(&d, 0, sizeof d);
    d.t = k.t;
    d.isn = 0x8badf00du;
    d.ts_offset = 0x55;
    REQUIRE(tcp_create(&d, &c) == 0);
    CHECK_EQ(tcp_state(c), TCP_CLOSED);
    CHECK_EQ(tcp_send(c, data, 10), -ENOTCONN);
    CHECK_EQ(tcp_connect(c, T0), 0);
    CHECK_EQ(tcp_connect(c, T0), -EISCONN);
    if (EXPECT(c, T0, JET_TCP_SYN, 0x8badf00du, 0, 0)) {
        check_syn_opts(&d, &H, T0, __LINE__);
        CHECK_EQ(H.opt.ts_val, (uint32_t)(T0 / 1000) + 0x55);
        CHECK_EQ(H.opt.ts_ecr, 0);
        CHECK_EQ(H.opt.wscale, 7); /* 65535 << 6 < 4 MiB <= 65535 << 7 */
        CHECK_EQ(H.win, 65535);
    }
    NOTHING(c, T0);
    CHECK_EQ(tcp_next_timeout(c), T0 + 1 * SEC);
    tcp_destroy(c);

    /* options turned off are not offered; cfg.isn again */
    k.no_sack = k.no_ts = k.no_wscale = true;
    k.isn = 12345;
    REQUIRE(tcp_create(&k, &c) == 0);
    CHECK_EQ(tcp_connect(c, T0), 0);
    if (EXPECT(c, T0, JET_TCP_SYN, 12345, 0, 0)) {
        CHECK_EQ(H.opt.mss, MSS);
        CHECK(!H.opt.sack_ok && !H.opt.has_ts && !H.opt.has_wscale);
        CHECK_EQ(H.hdr_len, 24); /* MSS only */
    }
    CHECK_EQ(tcp_next_timeout(c), T0 + 100 * MS);
    tcp_destroy(c);

    /* passive: the SYN-ACK carries cfg.isn */
    k = cfg();
    k.isn = 0xABCDEF01u;
    c = server(k, peer_full());
    tcp_destroy(c);
}

static void test_syn_retries(void)
{
    struct tcp_cfg k = cfg();
    k.syn_retries = 3;
    k.rto_max_ns = 250 * MS;
    struct tcp_conn *c;
    REQUIRE(tcp_create(&k, &c) == 0);
    CHECK_EQ(tcp_connect(c, T0), 0);
    EXPECT(c, T0, JET_TCP_SYN, ISS, 0, 0);
    /* 100 ms, then doubling, capped at rto_max: 200, 250 */
    static const uint64_t at[] = {100, 300, 550};
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(tcp_next_timeout(c), T0 + at[i] * MS);
        CHECK_EQ(tick(c, T0 + at[i] * MS), 0);
        if (EXPECT(c, T0 + at[i] * MS, JET_TCP_SYN, ISS, 0, 0))
            CHECK_EQ(H.opt.ts_val, tsv(T0 + at[i] * MS));
        NOTHING(c, T0 + at[i] * MS);
        CHECK_EQ(tcp_state(c), TCP_SYN_SENT);
    }
    CHECK_EQ(tcp_next_timeout(c), T0 + 800 * MS);
    CHECK_EQ(tick(c, T0 + 800 * MS), -ETIMEDOUT);
    CHECK_EQ(tcp_state(c), TCP_CLOSED);
    CHECK_EQ(tcp_error(c), -ETIMEDOUT);
    CHECK(tcp_done(c));
    NOTHING(c, T0 + 800 * MS); /* no RST: the peer never answered */
    CHECK_EQ(tcp_next_timeout(c), UINT64_MAX);
    CHECK_EQ(tcp_send(c, data, 1), -ETIMEDOUT);
    tcp_destroy(c);

    /* SYN-ACK retries for a passive open: the same rule */
    k = cfg();
    k.syn_retries = 2;
    REQUIRE(tcp_create(&k, &c) == 0);
    P = peer_full();
    struct pseg syn = {.flags = JET_TCP_SYN, .seq = IRS, .wnd = 65535, .syn_opts = true,
                       .ts = true};
    size_t n = build(segbuf, sizeof segbuf, T0, &syn);
    CHECK_EQ(tcp_accept_syn(c, segbuf, n, 0, T0), 0);
    EXPECT(c, T0, JET_TCP_SYN | JET_TCP_ACK, ISS, IRS + 1, 0);
    CHECK_EQ(tcp_next_timeout(c), T0 + 100 * MS);
    tick(c, T0 + 100 * MS);
    EXPECT(c, T0 + 100 * MS, JET_TCP_SYN | JET_TCP_ACK, ISS, IRS + 1, 0);
    CHECK_EQ(tcp_next_timeout(c), T0 + 300 * MS);
    tick(c, T0 + 300 * MS);
    EXPECT(c, T0 + 300 * MS, JET_TCP_SYN | JET_TCP_ACK, ISS, IRS + 1, 0);
    CHECK_EQ(tcp_next_timeout(c), T0 + 700 * MS);
    CHECK_EQ(tick(c, T0 + 700 * MS), -ETIMEDOUT);
    CHECK_EQ(tcp_state(c), TCP_CLOSED);
    tcp_destroy(c);
}

/* ---- RFC 7323 window scale ---- */

static void test_wscale(void)
{
    struct tcp_cfg k = cfg();
    struct peer p = peer_full();
    p.ts = false; /* whole MSS per segment */
    p.syn_wnd = 6000;
    struct tcp_conn *c = client(k, p);
    struct jet_tcp_info i = info(c);
    CHECK(i.wscale);
    CHECK_EQ(i.snd_wscale, PEER_WS);
    CHECK_EQ(i.rcv_wscale, ws_for(RCVBUF)); /* 2 */
    CHECK_EQ(i.snd_wnd, 6000);              /* the SYN-ACK's window is not scaled */
    CHECK_EQ(i.rcv_wnd, (uint64_t)adv(RCVBUF) << P.our_ws); /* bytes */
    uint64_t t = T0 + 1 * MS;
    /* the peer's windows from now on are scaled: 500 << 3 = 4000 bytes */
    P.wnd = 500;
    inject(c, t, ack_of(0));
    CHECK_EQ(info(c).snd_wnd, 4000);
    CHECK_EQ(tcp_send(c, data, 20000), 20000);
    for (int s = 0; s < 4; s++)
        EXPECT(c, t, JET_TCP_ACK, ISS + 1 + 1000 * s, IRS + 1, 1000);
    NOTHING(c, t); /* the window is full */
    /* 2 segments acknowledged, window 1000 << 3: 8000 bytes from 2000 on: 6 more */
    P.wnd = 1000;
    inject(c, t + 1 * MS, ack_of(2000));
    for (int s = 4; s < 10; s++)
        EXPECT(c, t + 1 * MS, JET_TCP_ACK, ISS + 1 + 1000 * s, IRS + 1, 1000);
    NOTHING(c, t + 1 * MS);
    /* our window is scaled by 2: 3000 bytes received and not read */
    inject(c, t + 2 * MS, pdata(0, 1000, 2000));
    if (EXPECT(c, t + 2 * MS, JET_TCP_ACK, ISS + 10001, IRS + 1001, 0))
        CHECK_EQ(H.win, adv(RCVBUF - 1000)); /* 49750 */
    inject(c, t + 2 * MS, pdata(1000, 1000, 2000));
    inject(c, t + 2 * MS, pdata(2000, 1000, 2000));
    drain(c, t + 2 * MS);
    CHECK_EQ(H.ack, IRS + 3001);
    CHECK_EQ(H.win, adv(RCVBUF - 3000));
    /* MSS and window scale options outside a SYN are ignored */
    P.mss = 100;
    P.ws = 0;
    inject(c, t + 2 * MS, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 3001,
                                        .ack = ISS + 10001, .wnd = 1000, .syn_opts = true});
    i = info(c);
    CHECK_EQ(i.snd_mss, MSS);
    CHECK_EQ(i.snd_wscale, PEER_WS);
    CHECK_EQ(i.snd_wnd, 8000);
    P.mss = MSS;
    P.ws = PEER_WS;
    /* one byte at a time: the window rounds down to 4-byte units, but the right edge
     * we advertise (ack + win << 2) never moves left (RFC 7323 2.4, RFC 9293 3.8.6) */
    uint64_t edge = (uint64_t)(H.ack - IRS) + ((uint64_t)H.win << P.our_ws);
    bool monotonic = true;
    for (uint32_t b = 0; b < 9; b++) {
        inject(c, t + 3 * MS, pdata(3000 + b, 1, 2000));
        if (!out(c, t + 3 * MS, &H))
            continue;
        uint64_t e = (uint64_t)(H.ack - IRS) + ((uint64_t)H.win << P.our_ws);
        if (e < edge) {
            monotonic = false;
            show("right edge moved left", &H, PL_LEN);
        }
        edge = e;
        drain(c, t + 3 * MS);
    }
    CHECK(monotonic);
    CHECK_EQ(tcp_recv_ready(c), 3009);
    tcp_destroy(c);

    /* the peer offers no window scale: nothing is scaled either way */
    p.ws = -1;
    c = client(k, p);
    i = info(c);
    CHECK(!i.wscale);
    CHECK_EQ(i.snd_wscale, 0);
    CHECK_EQ(i.rcv_wscale, 0);
    CHECK_EQ(i.rcv_wnd, 65535);
    P.wnd = 3000;
    inject(c, t, ack_of(0));
    CHECK_EQ(info(c).snd_wnd, 3000);
    CHECK_EQ(tcp_send(c, data, 20000), 20000);
    for (int s = 0; s < 3; s++)
        EXPECT(c, t, JET_TCP_ACK, ISS + 1 + 1000 * s, IRS + 1, 1000);
    NOTHING(c, t);
    inject(c, t + 1 * MS, pdata(0, 1000, 0));
    if (EXPECT(c, t + 1 * MS, JET_TCP_ACK, ISS + 3001, IRS + 1001, 0))
        CHECK_EQ(H.win, 65535); /* 199000 free, unscaled: the 16-bit maximum */
    NOTHING(c, t + 1 * MS);
    tcp_destroy(c);

    /* we do not offer it (no_wscale) though the peer does: nothing is scaled */
    k.no_wscale = true;
    p.ws = PEER_WS;
    c = client(k, p);
    CHECK(!info(c).wscale);
    P.wnd = 2000; /* 2000 bytes, not 16000 */
    inject(c, t, ack_of(0));
    CHECK_EQ(info(c).snd_wnd, 2000);
    CHECK_EQ(tcp_send(c, data, 20000), 20000);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1, 1000);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1001, IRS + 1, 1000);
    NOTHING(c, t);
    tcp_destroy(c);

    /* passive side: the same from the SYN */
    k = cfg();
    c = server(k, p);
    i = info(c);
    CHECK(i.wscale);
    CHECK_EQ(i.snd_wscale, PEER_WS);
    /* the final ACK of the handshake carried P.wnd = 8000 << 3 (not a SYN: scaled) */
    CHECK_EQ(i.snd_wnd, 64000);
    tcp_destroy(c);
}

/* The peer's window is taken from the newest segment only (RFC 9293 3.10.7.4: SND.WL1,
 * SND.WL2): a reordered older segment does not undo a newer one's window. */
static void test_window_update(void)
{
    struct tcp_cfg k = cfg();
    struct peer p = peer_full();
    p.ts = false;
    struct tcp_conn *c = client(k, p);
    uint64_t t = T0 + 1 * MS;
    P.wnd = 100; /* 800 bytes */
    inject(c, t, pdata(200, 100, 0)); /* sent after the next one, arrives first */
    drain(c, t);
    CHECK_EQ(info(c).snd_wnd, 800);
    P.wnd = 9000;
    inject(c, t, pdata(100, 100, 0));
    drain(c, t);
    CHECK_EQ(info(c).snd_wnd, 800);
    /* a newer segment (the hole's own) updates it: its seq is below WL1 too, so only
     * a segment at or above WL1 does */
    P.wnd = 500;
    inject(c, t, pdata(300, 100, 0));
    drain(c, t);
    CHECK_EQ(info(c).snd_wnd, 4000);
    /* an ACK of new data with an equal WL1 and a larger WL2 updates it */
    CHECK_EQ(tcp_send(c, data, 100), 100);
    drain(c, t);
    P.wnd = 600;
    inject(c, t + 1 * MS, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 301, .ack = ISS + 101,
                                        .wnd = P.wnd});
    CHECK_EQ(info(c).snd_wnd, 4800);
    tcp_destroy(c);
}

/* ---- RFC 7323 timestamps ---- */

static void test_timestamps(void)
{
    struct tcp_cfg k = cfg();
    struct peer p = peer_full();
    struct tcp_conn *c = client(k, p);
    struct jet_tcp_info i = info(c);
    CHECK(i.timestamps);
    /* the handshake's RTT from the SYN-ACK (100 us): RFC 6298 first sample */
    CHECK_EQ(i.srtt_ns, 100 * US);
    CHECK_EQ(i.rttvar_ns, 50 * US);
    CHECK_EQ(i.rto_ns, 10 * MS); /* 300 us raised to rto_min */
    uint64_t t = T0 + 10 * MS;
    size_t pm = payload_max(MSS); /* 988 */

    /* each in-order segment during quick-ACK is ACKed at once, echoing its TSval */
    for (uint32_t s = 0; s < 4; s++) {
        uint64_t ts = t + s * MS;
        inject(c, ts, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 1 + s * 100,
                                    .ack = ISS + 1, .wnd = P.wnd, .tsval = 100000 + s,
                                    .data = data, .len = 100});
        if (EXPECT(c, ts, JET_TCP_ACK, ISS + 1, IRS + 1 + (s + 1) * 100, 0)) {
            CHECK(H.opt.has_ts);
            CHECK_EQ(H.opt.ts_val, tsv(ts));
            CHECK_EQ(H.opt.ts_ecr, 100000 + s);
        }
    }
    /* out of order (above a hole): the duplicate ACK echoes TS.Recent, not this TSval
     * (RFC 7323 4.3: TS.Recent only from a segment at or below Last.ACK.sent) */
    t += 10 * MS;
    inject(c, t, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 601, .ack = ISS + 1,
                               .wnd = P.wnd, .tsval = 100010, .data = data, .len = 100});
    if (EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 401, 0))
        CHECK_EQ(H.opt.ts_ecr, 100003);
    /* the hole filled: its TSval is echoed */
    inject(c, t + 1 * MS, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 401, .ack = ISS + 1,
                                        .wnd = P.wnd, .tsval = 100011, .data = data, .len = 200});
    if (EXPECT(c, t + 1 * MS, JET_TCP_ACK, ISS + 1, IRS + 701, 0))
        CHECK_EQ(H.opt.ts_ecr, 100011);
    NOTHING(c, t + 1 * MS);

    /* RTT samples from TSecr: data at t1, ACKed 3 ms later echoing its TSval.
     * RTTVAR = 3/4 50 + 1/4 |100 - 3000| = 762.5 us; SRTT = 7/8 100 + 1/8 3000 = 462.5 us */
    uint64_t t1 = t + 5 * MS;
    CHECK_EQ(tcp_send(c, data, 500), 500);
    if (EXPECT(c, t1, JET_TCP_ACK, ISS + 1, IRS + 701, 500)) {
        CHECK_EQ(H.opt.ts_val, tsv(t1));
        CHECK_EQ(H.opt.ts_ecr, 100011);
    }
    /* a duplicate ACK gives no sample */
    inject(c, t1 + 1 * MS, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 701, .ack = ISS + 1,
                                         .wnd = P.wnd, .tsval = 100012, .tsecr = tsv(t1)});
    CHECK_EQ(info(c).srtt_ns, 100 * US);
    inject(c, t1 + 3 * MS, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 701, .ack = ISS + 501,
                                         .wnd = P.wnd, .tsval = 100013, .tsecr = tsv(t1)});
    i = info(c);
    CHECK_EQ(i.srtt_ns, 462500);
    CHECK_EQ(i.rttvar_ns, 762500);
    CHECK_EQ(i.rto_ns, 10 * MS); /* 3.5 ms: still rto_min */
    NOTHING(c, t1 + 3 * MS);

    /* full segments carry MSS - 12 bytes with timestamps (RFC 6691) */
    CHECK_EQ(tcp_send(c, data, 2 * pm), (ssize_t)(2 * pm));
    uint64_t t2 = t1 + 4 * MS;
    EXPECT(c, t2, JET_TCP_ACK, ISS + 501, IRS + 701, pm);
    EXPECT(c, t2, JET_TCP_ACK, ISS + 501 + pm, IRS + 701, pm);
    NOTHING(c, t2);
    /* a sample from an ACK whose TSecr echoes an older TSval (Karn is not needed: the
     * echoed time is when the data that was acknowledged left): 20 ms */
    inject(c, t2 + 20 * MS, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 701,
                                          .ack = ISS + 501 + 2 * pm, .wnd = P.wnd,
                                          .tsval = 100014, .tsecr = tsv(t2)});
    i = info(c);
    /* RTTVAR = 3/4 762.5 + 1/4 |462.5 - 20000| = 5456.25 us; SRTT = 7/8 462.5 + 2500 */
    CHECK_EQ(i.rttvar_ns, 5456250);
    CHECK_EQ(i.srtt_ns, 2904687);
    CHECK_EQ(i.rto_ns, 2904687 + 4 * 5456250);
    /* a TSecr we never sent (from the future, or 2^31 us old) gives no sample */
    uint64_t t3 = t2 + 30 * MS;
    CHECK_EQ(tcp_send(c, data, 100), 100);
    drain(c, t3);
    inject(c, t3 + 1 * MS, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 701,
                                         .ack = ISS + 601 + 2 * pm, .wnd = P.wnd,
                                         .tsval = 100015, .tsecr = tsv(t3) + 5000000});
    CHECK_EQ(tcp_send(c, data, 100), 100);
    drain(c, t3 + 2 * MS);
    inject(c, t3 + 3 * MS, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 701,
                                         .ack = ISS + 701 + 2 * pm, .wnd = P.wnd,
                                         .tsval = 100016, .tsecr = tsv(t3) - 2000000000u});
    CHECK_EQ(tcp_send_pending(c), 0);
    i = info(c);
    CHECK_EQ(i.srtt_ns, 2904687);
    CHECK_EQ(i.rttvar_ns, 5456250);
    tcp_destroy(c);

    /* after quick-ACK, two segments then one ACK: it echoes the first one's TSval
     * (RFC 7323 4.3: TS.Recent from the segment at Last.ACK.sent, not the later one) */
    c = client(k, p);
    t = T0 + 1 * MS;
    uint32_t off = 0;
    for (int s = 0; s < TCP_QUICKACK_SEGS + 2; s++) {
        struct pseg d = pdata(off, 1000, 0);
        d.tsval = 200000 + (uint32_t)s;
        inject(c, t, d);
        off += 1000;
        drain(c, t);
        t += 100 * US;
    }
    uint8_t sink[32768];
    while (tcp_recv(c, sink, sizeof sink) > 0)
        ;
    drain(c, t);
    t += 5 * MS; /* idle, but well under any "after idle" quick-ACK period of 1 s */
    struct pseg d1 = pdata(off, 1000, 0), d2 = pdata(off + 1000, 1000, 0);
    d1.tsval = 300000;
    d2.tsval = 300001;
    inject(c, t, d1);
    inject(c, t + 10 * US, d2);
    if (EXPECT(c, t + 10 * US, JET_TCP_ACK, ISS + 1, IRS + 1 + off + 2000, 0))
        CHECK_EQ(H.opt.ts_ecr, 300000);
    tcp_destroy(c);

    /* timestamps are used only if both offered them */
    p.ts = false;
    c = client(k, p);
    CHECK(!info(c).timestamps);
    CHECK_EQ(tcp_send(c, data, 1000), 1000);
    if (EXPECT(c, T0 + 1 * MS, JET_TCP_ACK, ISS + 1, IRS + 1, 1000)) /* a whole MSS */
        CHECK(!H.opt.has_ts);
    /* without timestamps one segment is timed: the SYN-ACK gave 100 us; the ACK of
     * this segment 2 ms later is a sample: SRTT = 87.5 + 250 = 337.5 us */
    inject(c, T0 + 3 * MS, ack_of(1000));
    CHECK_EQ(info(c).srtt_ns, 337500);
    tcp_destroy(c);
}

/* ---- PAWS (RFC 7323 5) ---- */

static void test_paws(void)
{
    struct tcp_cfg k = cfg();
    struct tcp_conn *c = client(k, peer_full());
    uint64_t t = T0 + 1 * MS;
    struct pseg s = pdata(0, 100, 0);
    s.tsval = 9000;
    inject(c, t, s);
    if (EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 101, 0))
        CHECK_EQ(H.opt.ts_ecr, 9000);
    /* new data in the window with an older TSval: dropped, a duplicate ACK */
    s = pdata(100, 100, 0);
    s.tsval = 8999;
    inject(c, t + 1 * MS, s);
    if (EXPECT(c, t + 1 * MS, JET_TCP_ACK, ISS + 1, IRS + 101, 0))
        CHECK_EQ(H.opt.ts_ecr, 9000);
    NOTHING(c, t + 1 * MS);
    CHECK_EQ(tcp_recv_ready(c), 100);
    CHECK_EQ(info(c).paws_drops, 1);
    /* an ACK of our data with an older TSval is not processed either */
    CHECK_EQ(tcp_send(c, data, 100), 100);
    EXPECT(c, t + 2 * MS, JET_TCP_ACK, ISS + 1, IRS + 101, 100);
    s = ack_of(100);
    s.seq = IRS + 101;
    s.tsval = 8000;
    inject(c, t + 3 * MS, s);
    EXPECT(c, t + 3 * MS, JET_TCP_ACK, ISS + 101, IRS + 101, 0);
    CHECK_EQ(tcp_send_pending(c), 100);
    CHECK_EQ(info(c).paws_drops, 2);
    /* the same TSval is not old: accepted */
    s = pdata(100, 100, 100);
    s.tsval = 9000;
    inject(c, t + 4 * MS, s);
    CHECK_EQ(tcp_recv_ready(c), 200);
    CHECK_EQ(tcp_send_pending(c), 0);
    drain(c, t + 4 * MS);
    CHECK_EQ(H.ack, IRS + 201);
    /* after 24 days without a segment TS.Recent is no longer trusted (RFC 7323 5.5):
     * an older TSval is accepted then */
    uint64_t later = t + 25ull * 86400 * SEC;
    s = pdata(200, 100, 100);
    s.tsval = 5000;
    inject(c, later, s);
    CHECK_EQ(tcp_recv_ready(c), 300);
    drain(c, later);
    CHECK_EQ(H.ack, IRS + 301);
    CHECK_EQ(H.opt.ts_ecr, 5000);
    CHECK_EQ(info(c).paws_drops, 2);
    t = later - 5 * MS;
    s = pdata(300, 0, 100);
    /* an RST is not subject to PAWS: an exact one with an old TSval resets */
    inject(c, t + 5 * MS, (struct pseg){.flags = JET_TCP_RST, .seq = IRS + 301, .tsval = 1});
    CHECK_EQ(tcp_state(c), TCP_CLOSED);
    CHECK_EQ(tcp_error(c), -ECONNRESET);
    NOTHING(c, t + 5 * MS);
    tcp_destroy(c);
}

/* ---- RFC 6298 RTO ---- */

/* Runs timers from t until the next RTO expiration (info.timeouts grows), collecting
 * the segments sent; returns its time, 0 if the connection failed first. */
static uint64_t next_rto(struct tcp_conn *c, uint64_t *t, int *rc)
{
    uint64_t before = info(c).timeouts;
    for (int n = 0; n < 100; n++) {
        uint64_t at = tcp_next_timeout(c);
        if (at == UINT64_MAX)
            return 0;
        CHECK(at >= *t);
        *t = at;
        *rc = tick(c, at);
        if (*rc)
            return 0;
        if (info(c).timeouts > before)
            return at;
        drain(c, at); /* a tail loss probe */
    }
    return 0;
}

static void test_rto(void)
{
    struct tcp_cfg k = cfg();
    struct peer p = peer_full();
    p.ts = false;
    struct tcp_conn *c = client(k, p);
    CHECK_EQ(info(c).rto_ns, 10 * MS); /* 100 us sample: 300 us, raised to rto_min */
    uint64_t t = T0 + 1 * MS, t1 = t;
    CHECK_EQ(tcp_send(c, data, 1000), 1000);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1, 1000);
    CHECK(tcp_next_timeout(c) <= t + 10 * MS);
    /* expirations: the first one RTO after the segment (or after a tail loss probe, which
     * restarts the timer), then doubling: 20, 40, 80 ms */
    int rc = 0;
    uint64_t r1 = next_rto(c, &t, &rc);
    CHECK(r1 >= t1 + 10 * MS && r1 <= t1 + 10 * MS + 3 * MS);
    EXPECT(c, r1, JET_TCP_ACK, ISS + 1, IRS + 1, 1000);
    NOTHING(c, r1);
    CHECK_EQ(info(c).rto_ns, 20 * MS);
    uint64_t prev = r1;
    for (int i = 1; i <= 3; i++) {
        uint64_t r = next_rto(c, &t, &rc);
        CHECK_EQ(r - prev, (10 * MS) << i);
        EXPECT(c, r, JET_TCP_ACK, ISS + 1, IRS + 1, 1000);
        prev = r;
    }
    struct jet_tcp_info i = info(c);
    CHECK_EQ(i.timeouts, 4);
    CHECK(i.retransmits >= 4);
    /* the ACK: without timestamps a retransmitted segment gives no sample (Karn), but
     * new data then does, and that sample removes the back-off */
    inject(c, prev + 1 * MS, ack_of(1000));
    CHECK_EQ(tcp_send(c, data, 1000), 1000);
    uint64_t t2 = prev + 2 * MS;
    EXPECT(c, t2, JET_TCP_ACK, ISS + 1001, IRS + 1, 1000);
    inject(c, t2 + 1 * MS, ack_of(2000));
    CHECK_EQ(info(c).rto_ns, 10 * MS);
    CHECK_EQ(tcp_next_timeout(c), UINT64_MAX); /* nothing outstanding: no timer */
    CHECK_EQ(tcp_send(c, data, 1000), 1000);
    EXPECT(c, t2 + 2 * MS, JET_TCP_ACK, ISS + 2001, IRS + 1, 1000);
    CHECK(tcp_next_timeout(c) <= t2 + 12 * MS);
    tcp_destroy(c);

    /* with timestamps the ACK of a retransmission samples (its TSecr says which copy
     * it answers, RFC 7323 4.1): the back-off goes at once */
    c = client(k, peer_full());
    t = T0 + 1 * MS;
    CHECK_EQ(tcp_send(c, data, 500), 500);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1, 500);
    r1 = next_rto(c, &t, &rc);
    EXPECT(c, r1, JET_TCP_ACK, ISS + 1, IRS + 1, 500);
    uint64_t r2 = next_rto(c, &t, &rc);
    EXPECT(c, r2, JET_TCP_ACK, ISS + 1, IRS + 1, 500);
    CHECK_EQ(info(c).rto_ns, 40 * MS);
    inject(c, r2 + 1 * MS, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 1, .ack = ISS + 501,
                                         .wnd = P.wnd, .tsecr = tsv(r2)});
    CHECK_EQ(info(c).rto_ns, 10 * MS);
    tcp_destroy(c);

    /* a large RTT: RTO = SRTT + 4 RTTVAR above the minimum (SYN-ACK after 20 ms: 60 ms) */
    REQUIRE(tcp_create(&k, &c) == 0);
    tcp_connect(c, T0);
    P = p;
    P.ts_on = false;
    drain(c, T0);
    agree(&k, &p);
    inject(c, T0 + 20 * MS, (struct pseg){.flags = JET_TCP_SYN | JET_TCP_ACK, .seq = IRS,
                                          .ack = ISS + 1, .wnd = 65535, .syn_opts = true});
    drain(c, T0 + 20 * MS);
    i = info(c);
    CHECK_EQ(i.srtt_ns, 20 * MS);
    CHECK_EQ(i.rto_ns, 60 * MS);
    tcp_destroy(c);

    /* the SYN-ACK timed out once and the handshake gave no sample (no timestamps, Karn):
     * RFC 6298 5.7 re-initializes the RTO to 3 s (here capped by rto_max, 1 s) when
     * data transmission begins, as Linux does (TCP_TIMEOUT_FALLBACK) */
    REQUIRE(tcp_create(&k, &c) == 0);
    P = p;
    P.ts_on = false;
    struct pseg syn = {.flags = JET_TCP_SYN, .seq = IRS, .wnd = 65535, .syn_opts = true};
    size_t sn = build(segbuf, sizeof segbuf, T0, &syn);
    CHECK_EQ(tcp_accept_syn(c, segbuf, sn, 0, T0), 0);
    drain(c, T0);
    tick(c, T0 + 100 * MS);
    EXPECT(c, T0 + 100 * MS, JET_TCP_SYN | JET_TCP_ACK, ISS, IRS + 1, 0);
    agree(&k, &p);
    inject(c, T0 + 150 * MS, ack_of(0));
    CHECK_EQ(tcp_state(c), TCP_ESTABLISHED);
    CHECK_EQ(info(c).srtt_ns, 0);
    CHECK_EQ(tcp_send(c, data, 100), 100);
    EXPECT(c, T0 + 160 * MS, JET_TCP_ACK, ISS + 1, IRS + 1, 100);
    CHECK_EQ(tcp_next_timeout(c), T0 + 160 * MS + k.rto_max_ns);
    tcp_destroy(c);

    /* the default minimum is TCP_RTO_MIN_DEFAULT_NS (5 ms) */
    k.rto_min_ns = 0;
    c = client(k, p);
    CHECK_EQ(info(c).rto_ns, TCP_RTO_MIN_DEFAULT_NS);
    tcp_destroy(c);
}

/* After an RTO the window is one segment (RFC 5681 3.1), then slow start: one
 * segment, two on its ACK, four on theirs (NewReno, ABC L = 2). */
static void test_rto_flight(void)
{
    struct tcp_cfg k = cfg();
    k.cc = &xp_cc_newreno;
    struct peer p = peer_full();
    p.ts = false;
    p.wnd = 65535;
    struct tcp_conn *c = client(k, p);
    uint64_t t = T0 + 1 * MS;
    CHECK_EQ(tcp_send(c, data, 10000), 10000);
    CHECK_EQ(drain(c, t), 10);
    int rc = 0;
    uint64_t r = next_rto(c, &t, &rc);
    CHECK(r != 0);
    EXPECT(c, r, JET_TCP_ACK, ISS + 1, IRS + 1, 1000);
    NOTHING(c, r);
    CHECK_EQ(info(c).cwnd, 1000);
    inject(c, r + 1 * MS, ack_of(1000));
    EXPECT(c, r + 1 * MS, JET_TCP_ACK, ISS + 1001, IRS + 1, 1000);
    EXPECT(c, r + 1 * MS, JET_TCP_ACK, ISS + 2001, IRS + 1, 1000);
    NOTHING(c, r + 1 * MS);
    inject(c, r + 2 * MS, ack_of(3000));
    for (int s = 3; s < 7; s++)
        EXPECT(c, r + 2 * MS, JET_TCP_ACK, ISS + 1 + 1000 * s, IRS + 1, 1000);
    NOTHING(c, r + 2 * MS);
    inject(c, r + 3 * MS, ack_of(10000));
    NOTHING(c, r + 3 * MS);
    CHECK_EQ(tcp_send_pending(c), 0);
    tcp_destroy(c);
}

static void test_max_retries(void)
{
    struct tcp_cfg k = cfg();
    k.max_retries = 3;
    struct peer p = peer_full();
    p.ts = false;
    struct tcp_conn *c = client(k, p);
    uint64_t t = T0 + 1 * MS;
    CHECK_EQ(tcp_send(c, data, 1000), 1000);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1, 1000);
    int rc = 0;
    for (int n = 1; n <= 3; n++) {
        uint64_t r = next_rto(c, &t, &rc);
        CHECK(r != 0);
        EXPECT(c, r, JET_TCP_ACK, ISS + 1, IRS + 1, 1000);
    }
    CHECK_EQ(next_rto(c, &t, &rc), 0);
    CHECK_EQ(rc, -ETIMEDOUT);
    CHECK_EQ(tcp_state(c), TCP_CLOSED);
    CHECK_EQ(tcp_error(c), -ETIMEDOUT);
    CHECK_EQ(tcp_send(c, data, 1), -ETIMEDOUT);
    CHECK(info(c).timeouts >= 3); /* the fourth expiration failed it (counted or not) */
    tcp_destroy(c);
}

/* ---- MSS ---- */

static void test_mss(void)
{
    struct tcp_cfg k = cfg();
    struct peer p = peer_full();
    p.ts = false;
    p.mss = 600;
    p.wnd = 65535;
    struct tcp_conn *c = client(k, p);
    CHECK_EQ(info(c).snd_mss, 600);
    CHECK_EQ(info(c).rcv_mss, MSS);
    uint64_t t = T0 + 1 * MS;
    CHECK_EQ(tcp_send(c, data, 1400), 1400);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1, 600);
    EXPECT(c, t, JET_TCP_ACK, ISS + 601, IRS + 1, 600);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1201, IRS + 1, 200);
    NOTHING(c, t);
    tcp_destroy(c);

    /* no MSS option: 536 (RFC 9293 3.7.1) */
    c = client(k, peer_bare());
    CHECK_EQ(info(c).snd_mss, 536);
    CHECK_EQ(tcp_send(c, data, 1200), 1200);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1, 536);
    EXPECT(c, t, JET_TCP_ACK, ISS + 537, IRS + 1, 536);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1073, IRS + 1, 128);
    tcp_destroy(c);

    /* the peer offers more than we allow: ours */
    p.mss = 9000;
    c = client(k, p);
    CHECK_EQ(info(c).snd_mss, MSS);
    CHECK_EQ(tcp_send(c, data, 1500), 1500);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1, 1000);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1001, IRS + 1, 500);
    tcp_destroy(c);

    /* path MTU (RFC 1191): 3 segments out, then "fragmentation needed" with MTU 640:
     * MSS 600, what is in flight is sent again in 600-byte segments */
    k.mss = 1460;
    p.mss = 1460;
    c = client(k, p);
    CHECK_EQ(tcp_send(c, data, 3000), 3000);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1, 1460);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1461, IRS + 1, 1460);
    EXPECT(c, t, JET_TCP_ACK, ISS + 2921, IRS + 1, 80);
    tcp_pmtu(c, 640, t + 1 * MS);
    CHECK_EQ(info(c).snd_mss, 600);
    CHECK(tcp_invariant_violation(c) == NULL);
    uint32_t off = 0;
    int segs = 0;
    bool ok = true;
    while (out(c, t + 1 * MS, &H) && segs < 20) {
        ok = ok && H.seq == ISS + 1 + off && PL_LEN <= 600 && PL_LEN > 0 &&
             memcmp(PL, data + off, PL_LEN) == 0;
        off += (uint32_t)PL_LEN;
        segs++;
    }
    CHECK(ok);
    /* all of the flight again at once (cwnd allows it), in 600-byte pieces */
    CHECK_EQ(segs, 5);
    CHECK_EQ(off, 3000);
    /* an increase or 0 is ignored */
    tcp_pmtu(c, 1500, t + 2 * MS);
    tcp_pmtu(c, 0, t + 2 * MS);
    CHECK_EQ(info(c).snd_mss, 600);
    /* not below TCP_MSS_MIN */
    tcp_pmtu(c, 68, t + 2 * MS);
    CHECK_EQ(info(c).snd_mss, TCP_MSS_MIN);
    tcp_destroy(c);

    /* with timestamps, data segments carry MSS - 12 (RFC 6691): the packet fits */
    k = cfg();
    p = peer_full();
    p.wnd = 65535;
    c = client(k, p);
    CHECK_EQ(tcp_send(c, data, 2000), 2000);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1, 988);
    CHECK_EQ(H.hdr_len, 32);
    EXPECT(c, t, JET_TCP_ACK, ISS + 989, IRS + 1, 988);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1977, IRS + 1, 24);
    tcp_destroy(c);
}

/* ---- RFC 6928 initial window ---- */

static void test_initial_window(void)
{
    struct tcp_cfg k = cfg();
    struct peer p = peer_full();
    p.ts = false;
    p.wnd = 65535; /* 512 KiB scaled */
    struct tcp_conn *c = client(k, p);
    uint64_t t = T0 + 1 * MS;
    CHECK_EQ(tcp_send(c, data, 30000), 30000);
    for (int s = 0; s < 10; s++)
        EXPECT(c, t, JET_TCP_ACK, ISS + 1 + 1000 * s, IRS + 1, 1000);
    NOTHING(c, t);
    CHECK_EQ(info(c).cwnd, 10 * MSS);
    /* init_cwnd_segs */
    tcp_destroy(c);
    k.init_cwnd_segs = 4;
    c = client(k, p);
    CHECK_EQ(tcp_send(c, data, 30000), 30000);
    for (int s = 0; s < 4; s++)
        EXPECT(c, t, JET_TCP_ACK, ISS + 1 + 1000 * s, IRS + 1, 1000);
    NOTHING(c, t);
    tcp_destroy(c);
}

/* ---- delayed ACK and quick-ACK ---- */

static void test_delayed_ack(void)
{
    struct tcp_cfg k = cfg();
    struct peer p = peer_full();
    p.ts = false;
    struct tcp_conn *c = client(k, p);
    uint64_t t = T0 + 1 * MS;
    /* the first TCP_QUICKACK_SEGS segments are ACKed at once */
    uint32_t off = 0;
    for (int s = 0; s < TCP_QUICKACK_SEGS; s++) {
        inject(c, t, pdata(off, 1000, 0));
        off += 1000;
        EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1 + off, 0);
        NOTHING(c, t);
        t += 100 * US;
    }
    CHECK(info(c).quick_acks >= TCP_QUICKACK_SEGS);
    char sink[65536];
    CHECK_EQ(tcp_recv(c, sink, sizeof sink), (ssize_t)off);
    drain(c, t); /* a window update, if one is due */
    /* then one segment waits ack_delay */
    inject(c, t, pdata(off, 1000, 0));
    off += 1000;
    NOTHING(c, t);
    CHECK_EQ(tcp_next_timeout(c), t + 1 * MS);
    NOTHING(c, t + 500 * US);
    tick(c, t + 1 * MS);
    EXPECT(c, t + 1 * MS, JET_TCP_ACK, ISS + 1, IRS + 1 + off, 0);
    NOTHING(c, t + 1 * MS);
    CHECK_EQ(tcp_next_timeout(c), UINT64_MAX);
    CHECK(info(c).delayed_acks >= 1);
    /* two full segments: ACKed at once on the second */
    t += 2 * MS;
    inject(c, t, pdata(off, 1000, 0));
    off += 1000;
    NOTHING(c, t);
    inject(c, t + 100 * US, pdata(off, 1000, 0));
    off += 1000;
    EXPECT(c, t + 100 * US, JET_TCP_ACK, ISS + 1, IRS + 1 + off, 0);
    NOTHING(c, t + 100 * US);
    /* data of ours going out carries the owed ACK */
    inject(c, t + 200 * US, pdata(off, 1000, 0));
    off += 1000;
    NOTHING(c, t + 200 * US);
    CHECK_EQ(tcp_send(c, data, 100), 100);
    EXPECT(c, t + 300 * US, JET_TCP_ACK, ISS + 1, IRS + 1 + off, 100);
    NOTHING(c, t + 300 * US);
    CHECK(tcp_next_timeout(c) > t + 1300 * US); /* the delayed ACK is off; the RTO runs */
    /* out of order: at once */
    inject(c, t + 400 * US, pdata(off + 1000, 1000, 0));
    EXPECT(c, t + 400 * US, JET_TCP_ACK, ISS + 101, IRS + 1 + off, 0);
    inject(c, t + 500 * US, pdata(off, 1000, 100)); /* the hole: at once */
    EXPECT(c, t + 500 * US, JET_TCP_ACK, ISS + 101, IRS + 1 + off + 2000, 0);
    off += 2000;
    /* after an idle time longer than the RTO, quick-ACK again (as Linux) */
    t += 200 * MS;
    inject(c, t, pdata(off, 1000, 100));
    off += 1000;
    EXPECT(c, t, JET_TCP_ACK, ISS + 101, IRS + 1 + off, 0);
    tcp_destroy(c);
}

/* ---- Nagle ---- */

static void test_nagle(void)
{
    struct tcp_cfg k = cfg();
    struct peer p = peer_full();
    p.ts = false;
    struct tcp_conn *c = client(k, p);
    uint64_t t = T0 + 1 * MS;
    CHECK_EQ(tcp_send(c, data, 100), 100);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1, 100); /* nothing outstanding: at once */
    CHECK_EQ(tcp_send(c, data + 100, 50), 50);
    NOTHING(c, t + 100 * US); /* waits for the ACK of the 100 */
    CHECK_EQ(tcp_send(c, data + 150, 30), 30);
    NOTHING(c, t + 200 * US);
    inject(c, t + 1 * MS, ack_of(100));
    EXPECT(c, t + 1 * MS, JET_TCP_ACK, ISS + 101, IRS + 1, 80); /* the two writes in one */
    CHECK(memcmp(PL, data + 100, 80) == 0);
    NOTHING(c, t + 1 * MS);
    /* a full segment does not wait */
    CHECK_EQ(tcp_send(c, data, 1000), 1000);
    EXPECT(c, t + 1 * MS, JET_TCP_ACK, ISS + 181, IRS + 1, 1000);
    /* turning no-delay on sends what waits */
    CHECK_EQ(tcp_send(c, data, 10), 10);
    NOTHING(c, t + 2 * MS);
    tcp_set_nodelay(c, true);
    CHECK(info(c).nodelay);
    EXPECT(c, t + 2 * MS, JET_TCP_ACK, ISS + 1181, IRS + 1, 10);

    /* the FIN does not wait: a held short segment leaves with it at shutdown */
    CHECK_EQ(tcp_send(c, data, 20), 20);
    EXPECT(c, t + 3 * MS, JET_TCP_ACK, ISS + 1191, IRS + 1, 20);
    tcp_set_nodelay(c, false);
    CHECK_EQ(tcp_send(c, data, 5), 5);
    NOTHING(c, t + 3 * MS);
    CHECK_EQ(tcp_shutdown(c, t + 4 * MS), 0);
    EXPECT(c, t + 4 * MS, JET_TCP_ACK | JET_TCP_FIN, ISS + 1211, IRS + 1, 5);
    tcp_destroy(c);

    /* nodelay from the start: every short write at once */
    k.nodelay = true;
    c = client(k, p);
    CHECK_EQ(tcp_send(c, data, 100), 100);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1, 100);
    CHECK_EQ(tcp_send(c, data, 50), 50);
    EXPECT(c, t + 100 * US, JET_TCP_ACK, ISS + 101, IRS + 1, 50);
    CHECK_EQ(tcp_send(c, data, 1), 1);
    EXPECT(c, t + 200 * US, JET_TCP_ACK, ISS + 151, IRS + 1, 1);
    NOTHING(c, t + 200 * US);
    tcp_destroy(c);
}

int main(void)
{
    fill_data();
    test_isn_and_syn();
    test_syn_retries();
    test_wscale();
    test_window_update();
    test_timestamps();
    test_paws();
    test_rto();
    test_rto_flight();
    test_max_retries();
    test_mss();
    test_initial_window();
    test_delayed_ack();
    test_nagle();
    return check_done("test_tcp_script");
}
