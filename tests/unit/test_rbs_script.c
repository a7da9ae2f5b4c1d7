/* Scripted segment tests for the RBS core (src/rbs): put an endpoint in a state,
 * inject an exact segment at virtual time t, and assert the exact reply (its fields)
 * or that none is sent.  The test plays the peer by hand (rbs_script.h).
 *
 * Here the connection's life: the handshake (active, passive, SYN back-off and
 * refusal), the close (active, passive, simultaneous), resets and aborts,
 * keepalive, and malformed segments counted.  Data, loss, SACK and windows:
 * test_rbs_script_data.c. */
#include <errno.h>

#include "rbs_script.h"

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
    /* an exact RST (the peer, already CLOSED, answering that ACK) does not kill
     * TIME_WAIT nor fail a connection that ended well: RFC 1337 */
    inject(c, t + 21 * MS, (struct seg){.flags = RBS_RST, .seq = IRS + 6});
    CHECK_EQ(rbs_state(c), RBS_TIME_WAIT);
    CHECK_EQ(rbs_error(c), 0);
    CHECK(nothing(c, t + 21 * MS));
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

int main(void)
{
    test_handshake_active();
    test_handshake_passive();
    test_syn_backoff_timeout();
    test_syn_sent_rst();
    test_close_active();
    test_close_passive_and_simultaneous();
    test_abort_and_rst();
    test_keepalive();
    test_malformed_counted();
    return check_done("test_rbs_script");
}
