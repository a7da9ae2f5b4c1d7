/* TCP core (src/tcp/tcp_core.h), the second half of the scripted tests
 * (test_tcp_core.c has the state machine): SYN retries and ICMP, tcp_output_iov and
 * checksum offload, the path MTU (RFC 1191), persist probes with back-off, keepalive,
 * the user timeout (RFC 5482) and max_retries, sink and registered-ring receive, and
 * two endpoints pumped in memory with loss and reordering (byte-exact both ways,
 * D-SACK, receive-window auto-tuning).  Harness: tests/unit/tcp_fixture.h. */
#include "tcp_fixture.h"

#include "tcp/tcp_impl.h"

/* ---- SYN retries, ICMP ---- */

static void test_syn_retries(void)
{
    struct tcp_cfg k = cfg();
    k.syn_retries = 3;
    struct tcp_conn *c;
    REQUIRE(tcp_create(&k, &c) == 0);
    tcp_connect(c, T0);
    P = peer_full();
    EXPECT(c, T0, JET_TCP_SYN, ISS, 0, 0);
    uint64_t t = T0, rto = k.rto_init_ns;
    for (uint32_t i = 0; i < k.syn_retries; i++) {
        CHECK_EQ(tcp_next_timeout(c), t + rto);
        t += rto;
        CHECK_EQ(tick(c, t), 0);
        EXPECT(c, t, JET_TCP_SYN, ISS, 0, 0); /* the same SYN, a new TSval */
        CHECK_EQ(H.opt.ts_val, tsv(t));
        rto *= 2;
    }
    t += rto;
    CHECK_EQ(tick(c, t), -ETIMEDOUT);
    CHECK_EQ(tcp_state(c), TCP_CLOSED);
    NOTHING(c, t);
    tcp_destroy(c);

    /* an ICMP port unreachable in SYN_SENT refuses it; elsewhere a soft error */
    REQUIRE(tcp_create(&k, &c) == 0);
    tcp_connect(c, T0);
    drain(c, T0);
    tcp_icmp_error(c, -EHOSTUNREACH, T0);
    CHECK_EQ(tcp_state(c), TCP_SYN_SENT);
    tcp_icmp_error(c, -ECONNREFUSED, T0);
    CHECK_EQ(tcp_state(c), TCP_CLOSED);
    CHECK_EQ(tcp_error(c), -ECONNREFUSED);
    tcp_destroy(c);

    /* a soft error is what a timeout reports */
    REQUIRE(tcp_create(&k, &c) == 0);
    tcp_connect(c, T0);
    drain(c, T0);
    tcp_icmp_error(c, -EHOSTUNREACH, T0);
    t = T0;
    int rc = 0;
    for (int i = 0; i < 10 && rc == 0; i++) {
        t = tcp_next_timeout(c);
        rc = tick(c, t);
        drain(c, t);
    }
    CHECK_EQ(rc, -EHOSTUNREACH);
    tcp_destroy(c);
}

/* RTT samples from echoed timestamps (RFC 7323 4) and the two guards: an echo older
 * than the last RTO is no sample (the receiver echoes the segment before a hole, which
 * would measure the RTO wait itself and inflate the next RTO: regression, seen with
 * Linux at 2 % loss), and one echoed value gives one sample. */
static void test_rtt_echo(void)
{
    fill_data();
    struct tcp_cfg k = cfg();
    k.nodelay = true;
    struct tcp_conn *c = client(k, peer_full());
    uint64_t t = T0 + 1 * MS;
    CHECK_EQ(info(c).srtt_ns, 100 * US); /* the SYN-ACK echoed the SYN's TSval */
    tcp_send(c, data, 3000);
    CHECK_EQ(drain(c, t), 4);
    uint32_t ts1 = tsv(t);
    /* two ACKs at +200 us with the same echo: one sample of 200 us */
    struct pseg a = ack_of(988);
    a.tsecr = ts1;
    inject(c, t + 200 * US, a);
    uint64_t s1 = info(c).srtt_ns;
    CHECK_EQ(s1, (7 * 100 * US + 200 * US) / 8);
    a = ack_of(1976);
    a.tsecr = ts1;
    inject(c, t + 200 * US, a);
    CHECK_EQ(info(c).srtt_ns, s1);
    /* the rest is lost; the RTO retransmits it */
    uint64_t rto = tcp_next_timeout(c);
    while (c->snd.rtx_at != rto) { /* a tail loss probe may come first */
        tick(c, rto);
        drain(c, rto);
        rto = tcp_next_timeout(c);
    }
    tick(c, rto);
    CHECK(drain(c, rto) >= 1);
    CHECK_EQ(info(c).timeouts, 1);
    /* an ACK of it echoing a TSval from before the RTO: no sample */
    a = ack_of(3000);
    a.tsecr = ts1;
    inject(c, rto + 100 * US, a);
    CHECK_EQ(tcp_send_pending(c), 0);
    CHECK_EQ(info(c).srtt_ns, s1);
    /* new data, echoed as sent: a sample again */
    tcp_send(c, data, 100);
    drain(c, rto + 1 * MS);
    a = ack_of(3100);
    a.tsecr = tsv(rto + 1 * MS);
    inject(c, rto + 1 * MS + 300 * US, a);
    CHECK_EQ(info(c).srtt_ns, (7 * s1 + 300 * US) / 8);
    tcp_destroy(c);
}

/* ---- output forms, PMTU, persist, keepalive, user timeout, sink ---- */

/* tcp_output_iov: header and payload apart; the checksum over both, or only the
 * pseudo-header's sum with TCP_OUT_CSUM_PARTIAL. */
static void test_output_iov(void)
{
    fill_data();
    struct tcp_cfg k = cfg();
    k.nodelay = true;
    struct tcp_conn *c = client(k, peer_full());
    uint64_t t = T0 + 1 * MS;
    tcp_send(c, data, 301); /* odd length */
    uint8_t hdr[TCP_OUT_HDR_MAX];
    struct iovec iov[TCP_IOV_MAX];
    int niov;
    int n = tcp_output_iov(c, t, hdr, sizeof hdr, 100000, iov, TCP_IOV_MAX, &niov, 0);
    REQUIRE(n > 0 && niov >= 1);
    size_t hl = (size_t)n - 301;
    uint8_t seg[400];
    memcpy(seg, hdr, hl);
    size_t at = hl;
    for (int i = 0; i < niov; i++) {
        memcpy(seg + at, iov[i].iov_base, iov[i].iov_len);
        at += iov[i].iov_len;
    }
    struct jet_tcp_hdr h;
    CHECK_EQ(jet_tcp_parse(seg, (size_t)n, LADDR, RADDR, &h, 0), 0);
    CHECK(memcmp(seg + hl, data, 301) == 0);
    /* CHECKSUM_PARTIAL: the field holds the pseudo-header sum (folded, not complemented) */
    tcp_send(c, data, 7);
    n = tcp_output_iov(c, t, hdr, sizeof hdr, 100000, iov, TCP_IOV_MAX, &niov,
                       TCP_OUT_CSUM_PARTIAL);
    REQUIRE(n > 0);
    uint32_t ps = jet_inet_pseudo_sum(LADDR, RADDR, 6, (uint16_t)n);
    ps = (ps & 0xFFFF) + (ps >> 16);
    ps = (ps & 0xFFFF) + (ps >> 16);
    CHECK_EQ((hdr[16] << 8) | hdr[17], ps);
    /* a link completing it gets a valid segment */
    hl = (size_t)n - 7;
    memcpy(seg, hdr, hl);
    memcpy(seg + hl, iov[0].iov_base, 7);
    uint16_t cs = jet_inet_csum(jet_inet_sum(seg, (size_t)n, 0));
    seg[16] = (uint8_t)(cs >> 8);
    seg[17] = (uint8_t)cs;
    CHECK_EQ(jet_tcp_parse(seg, (size_t)n, LADDR, RADDR, &h, 0), 0);
    /* too small a buffer */
    CHECK_EQ(tcp_output(c, t, seg, TCP_OUT_HDR_MAX), -ENOSPC);
    tcp_destroy(c);
}

/* RFC 1191: a smaller path MTU lowers the send MSS; what is in flight is sent again in
 * segments that fit, without a congestion response. */
static void test_pmtu(void)
{
    fill_data();
    struct tcp_cfg k = cfg();
    k.nodelay = true;
    struct tcp_conn *c = client(k, peer_full());
    uint64_t t = T0 + 1 * MS;
    inject(c, t, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 1, .ack = ISS + 1,
                               .wnd = 60000});
    tcp_send(c, data, 3000);
    int segs = drain(c, t);
    CHECK_EQ(segs, 4); /* 988 x 3 + 36 */
    uint64_t cwnd = info(c).cwnd;
    tcp_pmtu(c, 0, t);          /* ignored */
    tcp_pmtu(c, 2000, t);       /* no decrease: ignored */
    CHECK_EQ(info(c).snd_mss, MSS);
    tcp_pmtu(c, 576, t);        /* 536-byte MSS: 524 bytes of payload with timestamps */
    CHECK_EQ(info(c).snd_mss, 536);
    CHECK_EQ(info(c).cwnd, cwnd);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1, 524);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1 + 524, IRS + 1, 524);
    tcp_pmtu(c, 60, t);         /* floor: TCP_MSS_MIN */
    CHECK_EQ(info(c).snd_mss, TCP_MSS_MIN);
    inject(c, t + 100 * US, ack_of(3000));
    CHECK_EQ(tcp_send_pending(c), 0);
    tcp_send(c, data, 200);
    EXPECT(c, t + 100 * US, JET_TCP_ACK, ISS + 3001, IRS + 1, TCP_MSS_MIN - 12);
    tcp_destroy(c);
}

/* Zero window: persist probes with exponential back-off until the window opens. */
static void test_persist(void)
{
    fill_data();
    struct tcp_cfg k = cfg();
    k.nodelay = true;
    struct tcp_conn *c = client(k, peer_full());
    uint64_t t = T0 + 1 * MS;
    inject(c, t, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 1, .ack = ISS + 1, .wnd = 0});
    tcp_send(c, data, 100);
    NOTHING(c, t);
    uint64_t p1 = tcp_next_timeout(c);
    CHECK(p1 > t && p1 != UINT64_MAX);
    uint64_t gap = p1 - t;
    tick(c, p1);
    EXPECT(c, p1, JET_TCP_ACK, ISS, IRS + 1, 0); /* seq snd.una - 1, no data */
    uint64_t p2 = tcp_next_timeout(c);
    CHECK_EQ(p2 - p1, 2 * gap);
    inject(c, p1 + 100 * US, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 1, .ack = ISS + 1,
                                           .wnd = 0});
    tick(c, p2);
    EXPECT(c, p2, JET_TCP_ACK, ISS, IRS + 1, 0);
    CHECK_EQ(tcp_next_timeout(c) - p2, 4 * gap);
    CHECK_EQ(info(c).zero_wnd_probes, 2);
    /* the window opens: the data goes, the persist timer stops */
    inject(c, p2 + 100 * US, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 1, .ack = ISS + 1,
                                           .wnd = 100});
    EXPECT(c, p2 + 100 * US, JET_TCP_ACK, ISS + 1, IRS + 1, 100);
    CHECK(tcp_next_timeout(c) < p2 + 100 * US + k.rto_max_ns);
    tcp_destroy(c);

    /* a zero-window probe from the peer is answered with our window */
    c = server(k, peer_full());
    inject(c, t, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS, .ack = ISS + 1, .wnd = 9});
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 1, 0);
    tcp_destroy(c);
}

static void test_keepalive(void)
{
    struct tcp_cfg k = cfg();
    k.keepalive_ns = 10 * SEC;
    k.keepalive_intvl_ns = 1 * SEC;
    k.keepalive_probes = 3;
    struct tcp_conn *c = client(k, peer_full());
    uint64_t t0 = T0 + 100 * US; /* the SYN-ACK: last segment received */
    CHECK_EQ(tcp_next_timeout(c), t0 + 10 * SEC);
    tick(c, t0 + 10 * SEC);
    EXPECT(c, t0 + 10 * SEC, JET_TCP_ACK, ISS, IRS + 1, 0);
    /* answered: idle again from the answer */
    uint64_t t = t0 + 10 * SEC + 100 * US;
    inject(c, t, ack_of(0));
    CHECK_EQ(tcp_next_timeout(c), t + 10 * SEC);
    /* unanswered: 3 probes a second apart, then the connection fails with an RST */
    t += 10 * SEC;
    for (int i = 0; i < 3; i++, t += SEC) {
        CHECK_EQ(tcp_next_timeout(c), t);
        CHECK_EQ(tick(c, t), 0);
        EXPECT(c, t, JET_TCP_ACK, ISS, IRS + 1, 0);
    }
    CHECK_EQ(tick(c, t), -ETIMEDOUT);
    EXPECT(c, t, JET_TCP_RST | JET_TCP_ACK, ISS + 1, IRS + 1, 0);
    CHECK_EQ(info(c).keepalive_probes, 4); /* the answered one too */
    tcp_destroy(c);
    /* set on an open connection; off again */
    c = client(cfg(), peer_full());
    CHECK(tcp_next_timeout(c) == UINT64_MAX);
    tcp_set_keepalive(c, 5 * SEC, 0, 0);
    CHECK_EQ(tcp_next_timeout(c), t0 + 5 * SEC);
    tcp_set_keepalive(c, 0, 0, 0);
    CHECK(tcp_next_timeout(c) == UINT64_MAX);
    tcp_destroy(c);
}

static void test_user_timeout(void)
{
    struct tcp_cfg k = cfg();
    k.user_timeout_ns = 50 * MS;
    k.max_retries = 100;
    struct tcp_conn *c = client(k, peer_full());
    uint64_t t = T0 + 1 * MS;
    tcp_send(c, "x", 1);
    drain(c, t);
    int rc = 0;
    uint64_t now = t;
    for (int i = 0; i < 100 && rc == 0; i++) {
        now = tcp_next_timeout(c);
        rc = tick(c, now);
        drain(c, now);
    }
    CHECK_EQ(rc, -ETIMEDOUT);
    CHECK_EQ(now, t + 50 * MS);
    tcp_destroy(c);

    /* without it, max_retries RTOs */
    k = cfg();
    k.max_retries = 3;
    c = client(k, peer_full());
    tcp_send(c, "x", 1);
    drain(c, t);
    rc = 0;
    int rtos = 0;
    for (int i = 0; i < 100 && rc == 0; i++) {
        now = tcp_next_timeout(c);
        uint64_t rtx = c->snd.rtx_at;
        rc = tick(c, now);
        rtos += now == rtx;
        drain(c, now);
    }
    CHECK_EQ(rc, -ETIMEDOUT);
    CHECK_EQ(rtos, 4);
    CHECK_EQ(tcp_error(c), -ETIMEDOUT);
    tcp_destroy(c);
}

/* Receive into a sink hook and into a registered ring; the checksum still covers
 * exactly the bytes placed. */
static uint8_t sinkbuf[1 << 16];
static size_t sink_calls;
static int sink_fail;
static int sink(void *arg, uint64_t off, const uint8_t *p, size_t len)
{
    (void)arg;
    if (sink_fail)
        return sink_fail;
    REQUIRE(off + len <= sizeof sinkbuf);
    memcpy(sinkbuf + off, p, len);
    sink_calls++;
    return 0;
}

static void test_sink_and_ring(void)
{
    struct tcp_cfg k = cfg();
    k.rcvbuf_external = true;
    struct tcp_conn *c;
    REQUIRE(tcp_create(&k, &c) == 0);
    CHECK_EQ(tcp_connect(c, T0), -EINVAL); /* no ring, no sink */
    CHECK_EQ(tcp_recv_sink(c, sink, NULL, RCVBUF), 0);
    tcp_destroy(c);
    /* client() again, now with the sink */
    REQUIRE(tcp_create(&k, &c) == 0);
    REQUIRE(tcp_recv_sink(c, sink, NULL, RCVBUF) == 0);
    REQUIRE(tcp_connect(c, T0) == 0);
    P = peer_full();
    P.ts_on = false;
    EXPECT(c, T0, JET_TCP_SYN, ISS, 0, 0);
    agree(&k, &P);
    uint64_t t = T0 + 100 * US;
    inject(c, t, (struct pseg){.flags = JET_TCP_SYN | JET_TCP_ACK, .seq = IRS, .ack = ISS + 1,
                               .wnd = 65535, .syn_opts = true, .tsecr = H.opt.ts_val});
    CHECK_EQ(tcp_state(c), TCP_ESTABLISHED);
    drain(c, t);
    inject(c, t, pdata(500, 300, 0)); /* out of order first */
    inject(c, t, pdata(0, 500, 0));
    /* damaged: nothing reaches the sink */
    struct pseg d = pdata(800, 200, 0);
    size_t n = build(segbuf, sizeof segbuf, t, &d);
    segbuf[n - 3] ^= 0xFF;
    size_t calls = sink_calls;
    CHECK_EQ(tcp_input(c, segbuf, n, 0, t), -EIO);
    CHECK_EQ(sink_calls, calls);
    CHECK_EQ(tcp_recv_placed(c), 800);
    CHECK(pdata_ok(sinkbuf, 0, 800));
    drain(c, t);
    CHECK_EQ(H.ack, IRS + 801);
    /* a failing sink fails the connection with an RST that acknowledges only what was
     * placed */
    sink_fail = -ENOSPC;
    inject(c, t, pdata(800, 100, 0));
    CHECK_EQ(tcp_error(c), -ENOSPC);
    EXPECT(c, t, JET_TCP_RST | JET_TCP_ACK, ISS + 1, IRS + 801, 0);
    sink_fail = 0;
    tcp_destroy(c);

    /* a registered ring */
    static uint8_t ring[4096];
    k = cfg();
    k.rcvbuf_bytes = 4096;
    k.rcvbuf_init = 4096;
    k.rcvbuf_external = true;
    REQUIRE(tcp_create(&k, &c) == 0);
    REQUIRE(tcp_recv_register(c, ring, sizeof ring) == 0);
    REQUIRE(tcp_connect(c, T0) == 0);
    P = peer_full();
    P.ts_on = false;
    EXPECT(c, T0, JET_TCP_SYN, ISS, 0, 0);
    CHECK_EQ(H.win, 4096);
    agree(&k, &P);
    inject(c, t, (struct pseg){.flags = JET_TCP_SYN | JET_TCP_ACK, .seq = IRS, .ack = ISS + 1,
                               .wnd = 65535, .syn_opts = true, .tsecr = H.opt.ts_val});
    drain(c, t);
    for (uint32_t off = 0; off < 4000; off += 800)
        inject(c, t, pdata(off, 800, 0));
    drain(c, t);
    CHECK_EQ(H.ack, IRS + 4001);
    CHECK_EQ(H.win, 96); /* 4096 - 4000, window scale 0 */
    const uint8_t *p;
    size_t got = tcp_recv_peek(c, &p);
    CHECK_EQ(got, 4000);
    CHECK(p == ring && pdata_ok(p, 0, 4000));
    CHECK_EQ(tcp_recv_consume(c, 4000), 0);
    EXPECT(c, t, JET_TCP_ACK, ISS + 1, IRS + 4001, 0); /* window update */
    CHECK_EQ(H.win, 4096);
    tcp_destroy(c);
}

/* ---- two endpoints pumped in memory (a quick end-to-end sanity check; the seeded
 * grid lives in the script engineer's pair test) ---- */

enum { WIRE_SLOTS = 512 };
struct wire {
    uint8_t b[WIRE_SLOTS][1600];
    size_t n[WIRE_SLOTS];
    uint64_t at[WIRE_SLOTS];
    int cnt;
};
static struct wire W[2];
static uint64_t rng = 88172645463325252ull;
static bool reorder = true;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

/* Moves everything c sends onto wire w (dropping loss_pm per mille), with delay. */
static void pump_out(struct tcp_conn *c, struct wire *w, uint64_t now, unsigned loss_pm,
                     unsigned mtu_payload)
{
    uint8_t buf[70000];
    for (;;) {
        int n = tcp_output(c, now, buf, mtu_payload + TCP_OUT_HDR_MAX);
        CHECK(n >= 0);
        if (n <= 0)
            break;
        const char *v = tcp_invariant_violation(c);
        if (v)
            fprintf(stderr, "pair: invariant after output: %s\n", v);
        CHECK(v == NULL);
        if (rnd() % 1000 < loss_pm || w->cnt == WIRE_SLOTS)
            continue;
        memcpy(w->b[w->cnt], buf, (size_t)n);
        w->n[w->cnt] = (size_t)n;
        w->at[w->cnt] = now + 50 * US + (reorder && rnd() % 4 == 0 ? rnd() % (100 * US) : 0);
        w->cnt++;
    }
}

/* Delivers what is due on w to c. */
static void pump_in(struct tcp_conn *c, struct wire *w, uint64_t now)
{
    for (int i = 0; i < w->cnt;) {
        if (w->at[i] > now) {
            i++;
            continue;
        }
        int rc = tcp_input(c, w->b[i], w->n[i], 0, now);
        CHECK_EQ(rc, 0);
        const char *v = tcp_invariant_violation(c);
        if (v)
            fprintf(stderr, "pair: invariant after input: %s\n", v);
        CHECK(v == NULL);
        w->cnt--;
        memmove(&w->b[i], &w->b[i + 1], sizeof w->b[0] * (size_t)(w->cnt - i));
        memmove(&w->n[i], &w->n[i + 1], sizeof w->n[0] * (size_t)(w->cnt - i));
        memmove(&w->at[i], &w->at[i + 1], sizeof w->at[0] * (size_t)(w->cnt - i));
    }
}

static uint64_t wire_next(const struct wire *w)
{
    uint64_t m = UINT64_MAX;
    for (int i = 0; i < w->cnt; i++)
        if (w->at[i] < m)
            m = w->at[i];
    return m;
}

static void run_pair(unsigned loss_pm, size_t bytes, bool nodelay, size_t chunk, int autotune)
{
    fill_data();
    struct tcp_cfg ka = cfg(), kb = cfg();
    kb.t = (struct tcp_tuple){.laddr = RADDR, .raddr = LADDR, .lport = RPORT, .rport = LPORT};
    kb.isn = 12345;
    ka.nodelay = kb.nodelay = nodelay;
    ka.mss = kb.mss = 1460;
    if (autotune) {
        ka.rcvbuf_bytes = kb.rcvbuf_bytes = 1 << 20;
        ka.rcvbuf_init = kb.rcvbuf_init = 0;
    }
    struct tcp_conn *a, *b;
    REQUIRE(tcp_create(&ka, &a) == 0 && tcp_create(&kb, &b) == 0);
    memset(W, 0, sizeof W);
    uint64_t now = T0;
    REQUIRE(tcp_connect(a, now) == 0);
    uint8_t syn[200];
    int n = tcp_output(a, now, syn, sizeof syn);
    REQUIRE(n > 0);
    REQUIRE(tcp_accept_syn(b, syn, (size_t)n, 0, now) == 0);
    size_t sa = 0, sb = 0, ra = 0, rb = 0; /* sent by a, by b; received by a, by b */
    static uint8_t rbuf[1 << 16];
    bool shut_a = false, shut_b = false;
    int steps = 0;
    while (steps++ < 2000000) {
        /* applications */
        if (tcp_state(a) >= TCP_ESTABLISHED && sa < bytes && !shut_a) {
            ssize_t k = tcp_send(a, data + sa % (sizeof data / 2), xp_min64(chunk, bytes - sa));
            if (k > 0)
                sa += (size_t)k;
        }
        if (tcp_state(b) >= TCP_ESTABLISHED && sb < bytes / 2 && !shut_b) {
            ssize_t k = tcp_send(b, data + sb % (sizeof data / 2), xp_min64(chunk, bytes / 2 - sb));
            if (k > 0)
                sb += (size_t)k;
        }
        ssize_t k;
        while ((k = tcp_recv(b, rbuf, sizeof rbuf)) > 0) {
            for (ssize_t i = 0; i < k; i++)
                if (rbuf[i] != data[(rb + (size_t)i) % (sizeof data / 2)]) {
                    CHECK(!"pair: a->b byte differs");
                    goto out;
                }
            rb += (size_t)k;
        }
        while ((k = tcp_recv(a, rbuf, sizeof rbuf)) > 0) {
            for (ssize_t i = 0; i < k; i++)
                if (rbuf[i] != data[(ra + (size_t)i) % (sizeof data / 2)]) {
                    CHECK(!"pair: b->a byte differs");
                    goto out;
                }
            ra += (size_t)k;
        }
        if (sa == bytes && !shut_a) {
            tcp_shutdown(a, now);
            shut_a = true;
        }
        if (sb == bytes / 2 && !shut_b && tcp_recv_eof(b)) {
            tcp_shutdown(b, now);
            shut_b = true;
        }
        pump_out(a, &W[0], now, loss_pm, 1460);
        pump_out(b, &W[1], now, loss_pm, 1460);
        if (tcp_done(a) && tcp_done(b))
            break;
        if (tcp_state(a) == TCP_TIME_WAIT && tcp_done(b))
            break;
        uint64_t t = tcp_next_timeout(a);
        t = xp_min64(t, tcp_next_timeout(b));
        t = xp_min64(t, wire_next(&W[0]));
        t = xp_min64(t, wire_next(&W[1]));
        if (t == UINT64_MAX)
            break;
        if (t > now)
            now = t;
        pump_in(b, &W[0], now);
        pump_in(a, &W[1], now);
        if (tcp_next_timeout(a) <= now)
            tcp_on_timeout(a, now);
        if (tcp_next_timeout(b) <= now)
            tcp_on_timeout(b, now);
        if (tcp_error(a) || tcp_error(b))
            break;
    }
out:
    CHECK_EQ(rb, bytes);
    CHECK_EQ(ra, bytes / 2);
    CHECK_EQ(tcp_error(a), 0);
    CHECK_EQ(tcp_error(b), 0);
    CHECK(tcp_state(a) == TCP_TIME_WAIT || tcp_state(a) == TCP_CLOSED);
    CHECK(tcp_done(b));
    struct jet_tcp_info ia = info(a), ib = info(b);
    if (rb != bytes || ra != bytes / 2 || tcp_error(a) || tcp_error(b))
        fprintf(stderr, "  pair loss %u/1000 %zu bytes: a %s err %d, b %s err %d, %.3f s\n",
                loss_pm, bytes, ia.state, tcp_error(a), ib.state, tcp_error(b),
                (double)(now - T0) / 1e9);
    if (autotune) {
        CHECK(b->rcv.wnd > 256 * 1024); /* grew while the reader kept up */
    }
    if (getenv("V")) {
            fprintf(stderr, "loss %u: retx %llu fast %llu rto %llu tlp %llu rack %llu dsack %llu ",
                    loss_pm, (unsigned long long)ia.retransmits,
                    (unsigned long long)ia.fast_retransmits, (unsigned long long)ia.timeouts,
                    (unsigned long long)ia.tlp_probes, (unsigned long long)ia.rack_losses,
                    (unsigned long long)ia.dsack_in);
            fprintf(stderr, "autotune: wnd %llu srtt %llu cwnd %llu t %.3f ms\n",
                    (unsigned long long)b->rcv.wnd, (unsigned long long)ia.srtt_ns,
                    (unsigned long long)ia.cwnd, (double)(now - T0) / 1e6);
    }
    (void)ia;
    tcp_destroy(a);
    tcp_destroy(b);
}

static void test_pair(void)
{
    run_pair(0, 300000, true, 65536, 0);
    run_pair(0, 300000, false, 1000, 0);
    run_pair(20, 300000, true, 65536, 0);
    run_pair(50, 200000, false, 3000, 0);
    reorder = false;
    run_pair(0, 4000000, true, 65536, 1);
    reorder = true;
}


int main(void)
{
    test_syn_retries();
    test_rtt_echo();
    test_output_iov();
    test_pmtu();
    test_persist();
    test_keepalive();
    test_user_timeout();
    test_sink_and_ring();
    test_pair();
    return check_done("test_tcp_core_io");
}
