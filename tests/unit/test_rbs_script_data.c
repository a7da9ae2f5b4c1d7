/* Scripted segment tests for the RBS core (src/rbs), as in test_rbs_script.c:
 * the data once connected.  Sending in order and by reference, delayed and
 * immediate ACKs, duplicates, reordering and segments beyond the window, fast
 * and early retransmit from SACK, the peer's window full and zero (persist),
 * our own window closing, RTO back-off and giving up, and receiving into a
 * registered or external ring. */
#include <errno.h>

#include "rbs_script.h"

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
    test_registered_ring();
    test_external_ring();
    return check_done("test_rbs_script_data");
}
