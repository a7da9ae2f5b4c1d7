/* Scripted segment tests for the TCP core, part 3 (tcp_fixture.h): the timers that
 * end a connection and the errors that reach it from outside: keepalive (the first
 * probe after the idle time, seq = snd.una - 1, idle measured again from any segment,
 * then every interval, -ETIMEDOUT after keepalive_probes unanswered; the peer's
 * probes answered; tcp_set_keepalive on an open connection), the RFC 5482 user
 * timeout, and ICMP errors (RFC 1122 4.2.3.9, RFC 5927: hard in SYN_SENT, soft
 * otherwise and reported if the connection then times out). */
#include "tcp_fixture.h"

/* ---- keepalive ---- */

/* A keepalive probe: seq = snd.una - 1, no data or one byte (RFC 1122 4.2.3.6). */
static bool ka_probe_(struct tcp_conn *c, uint64_t t, uint32_t seq, uint32_t ack, int line)
{
    check_count++;
    if (!out(c, t, &H) || (H.flags & ~JET_TCP_PSH) != JET_TCP_ACK || H.seq != seq ||
        H.ack != ack || PL_LEN > 1) {
        check_failures++;
        fprintf(stderr, "line %d: at t=%.3f ms expected a keepalive probe seq %u ack %u\n", line,
                (double)(t - T0) / 1e6, seq, ack);
        return false;
    }
    return true;
}
#define KA_PROBE(c, t, seq, ack) ka_probe_(c, t, seq, ack, __LINE__)

static void test_keepalive(void)
{
    struct tcp_cfg k = cfg();
    k.keepalive_ns = 100 * MS;
    k.keepalive_intvl_ns = 10 * MS;
    k.keepalive_probes = 2;
    struct peer p = peer_full();
    struct tcp_conn *c = client(k, p);
    uint64_t t = T0 + 100 * US + 100 * MS; /* idle since the SYN-ACK */
    CHECK_EQ(tcp_next_timeout(c), t);
    tick(c, t);
    KA_PROBE(c, t, ISS, IRS + 1); /* seq = snd.una - 1 */
    CHECK_EQ(H.opt.ts_val, tsv(t));
    NOTHING(c, t);
    /* answered: idle again from the answer */
    uint64_t a = t + 1 * MS;
    inject(c, a, ack_of(0));
    NOTHING(c, a);
    CHECK_EQ(tcp_next_timeout(c), a + 100 * MS);
    /* data in between restarts the idle time too */
    inject(c, a + 50 * MS, pdata(0, 10, 0));
    drain(c, a + 50 * MS);
    uint64_t t2 = a + 150 * MS;
    uint64_t nt = tcp_next_timeout(c);
    CHECK(nt == t2 || nt < t2); /* a delayed ACK may come first */
    while ((nt = tcp_next_timeout(c)) < t2) {
        tick(c, nt);
        drain(c, nt);
    }
    CHECK_EQ(nt, t2);
    tick(c, t2);
    KA_PROBE(c, t2, ISS, IRS + 11);
    /* unanswered: every intvl, then -ETIMEDOUT after keepalive_probes */
    CHECK_EQ(tcp_next_timeout(c), t2 + 10 * MS);
    CHECK_EQ(tick(c, t2 + 10 * MS), 0);
    KA_PROBE(c, t2 + 10 * MS, ISS, IRS + 11);
    CHECK_EQ(tcp_next_timeout(c), t2 + 20 * MS);
    CHECK_EQ(tick(c, t2 + 20 * MS), -ETIMEDOUT);
    CHECK_EQ(tcp_error(c), -ETIMEDOUT);
    CHECK_EQ(tcp_state(c), TCP_CLOSED);
    drain(c, t2 + 20 * MS); /* an RST may go (Linux sends one) */
    CHECK_EQ(info(c).keepalive_probes, 3);
    tcp_destroy(c);

    /* the peer's keepalive probes (seq = rcv.nxt - 1, no data or one old byte) are
     * answered at once with an ACK (RFC 1122 4.2.3.6), or the peer gives up on us */
    c = client(cfg(), p);
    uint64_t tk = T0 + 10 * MS;
    inject(c, tk, pdata(0, 100, 0));
    drain(c, tk);
    inject(c, tk + 1 * SEC, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 100, .ack = ISS + 1,
                                          .wnd = P.wnd});
    EXPECT(c, tk + 1 * SEC, JET_TCP_ACK, ISS + 1, IRS + 101, 0);
    NOTHING(c, tk + 1 * SEC);
    struct pseg kp = pdata(99, 1, 0);
    inject(c, tk + 2 * SEC, kp);
    EXPECT(c, tk + 2 * SEC, JET_TCP_ACK, ISS + 1, IRS + 101, 0);
    NOTHING(c, tk + 2 * SEC);
    CHECK_EQ(tcp_recv_ready(c), 100);
    tcp_destroy(c);

    /* off by default; tcp_set_keepalive turns it on for an open connection */
    k = cfg();
    c = client(k, p);
    CHECK_EQ(tcp_next_timeout(c), UINT64_MAX);
    tcp_set_keepalive(c, 20 * MS, 5 * MS, 1);
    uint64_t n = tcp_next_timeout(c);
    CHECK(n > T0 && n <= T0 + 100 * US + 20 * MS + 1 * MS);
    tcp_destroy(c);
}

/* RFC 5482 user timeout: 50 ms without an acknowledgement of sent data fails it, even
 * though max_retries would allow more. */
static void test_user_timeout(void)
{
    struct tcp_cfg k = cfg();
    k.user_timeout_ns = 50 * MS;
    k.max_retries = 100;
    struct peer p = peer_full();
    p.ts = false;
    struct tcp_conn *c = client(k, p);
    uint64_t t = T0 + 1 * MS, t1 = t;
    CHECK_EQ(tcp_send(c, data, 1000), 1000);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1, 1000);
    /* progress resets it: ACKed after 40 ms, new data */
    uint64_t nt;
    while ((nt = tcp_next_timeout(c)) < t1 + 40 * MS) {
        CHECK_EQ(tick(c, nt), 0);
        drain(c, nt);
    }
    inject(c, t1 + 40 * MS, ack_of(1000));
    CHECK_EQ(tcp_error(c), 0);
    t = t1 = t1 + 41 * MS;
    CHECK_EQ(tcp_send(c, data, 1000), 1000);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1001, IRS + 1, 1000);
    uint64_t failed = 0;
    for (int n = 0; n < 100 && !failed; n++) {
        uint64_t at = tcp_next_timeout(c);
        if (at == UINT64_MAX)
            break;
        t = at;
        if (tick(c, at) == -ETIMEDOUT)
            failed = at;
        drain(c, at);
    }
    CHECK(failed >= t1 + 50 * MS);
    CHECK(failed <= t1 + 50 * MS + 40 * MS); /* at the first expiration past it at most */
    if (failed < t1 + 50 * MS || failed > t1 + 90 * MS)
        fprintf(stderr, "user timeout: failed %.3f ms after the data (want 50..90)\n",
                (double)(failed - t1) / 1e6);
    CHECK_EQ(tcp_error(c), -ETIMEDOUT);
    CHECK_EQ(tcp_state(c), TCP_CLOSED);
    tcp_destroy(c);
}

/* ---- ICMP ---- */

/* ICMP errors (RFC 1122 4.2.3.9, RFC 5927): in SYN_SENT a port unreachable refuses the
 * connection; on an open one a host unreachable is soft: remembered, and reported if
 * the connection then times out. */
static void test_icmp(void)
{
    struct tcp_cfg k = cfg();
    struct tcp_conn *c;
    REQUIRE(tcp_create(&k, &c) == 0);
    CHECK_EQ(tcp_connect(c, T0), 0);
    drain(c, T0);
    tcp_icmp_error(c, -ECONNREFUSED, T0 + 1 * MS);
    CHECK_EQ(tcp_state(c), TCP_CLOSED);
    CHECK_EQ(tcp_error(c), -ECONNREFUSED);
    tcp_destroy(c);

    k.max_retries = 2;
    struct peer p = peer_full();
    p.ts = false;
    c = client(k, p);
    uint64_t t = T0 + 1 * MS;
    CHECK_EQ(tcp_send(c, data, 100), 100);
    drain(c, t);
    tcp_icmp_error(c, -EHOSTUNREACH, t + 1 * MS);
    CHECK_EQ(tcp_state(c), TCP_ESTABLISHED);
    CHECK_EQ(tcp_error(c), 0);
    int rc = 0;
    for (int n = 0; n < 20 && !rc; n++) {
        uint64_t nt = tcp_next_timeout(c);
        if (nt == UINT64_MAX)
            break;
        rc = tick(c, nt);
        drain(c, nt);
    }
    CHECK_EQ(rc, -EHOSTUNREACH);
    CHECK_EQ(tcp_error(c), -EHOSTUNREACH);
    tcp_destroy(c);
}

int main(void)
{
    fill_data();
    test_keepalive();
    test_user_timeout();
    test_icmp();
    return check_done("test_tcp_script3");
}
