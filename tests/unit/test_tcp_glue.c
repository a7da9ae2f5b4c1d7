/* TCP over IPv4 on two stations of the emulated LAN (include/jet/tcp.h, src/tcp/tcp_glue.c,
 * tcp_listen.c, tcp_host.c; docs/tcp-api.md):
 *   - one process, both stations pumped by hand with non-blocking calls:
 *       listen / connect / accept, the info fields (state, tuple, options agreed, MSS
 *       from the LAN's MTU);
 *       several MB both ways at once, byte-exact, end of stream both sides;
 *       receive into a registered ring, into a sink file, send by reference;
 *       events for an epoll-style loop (OUT, IN, HUP, CONNECTED, ERR);
 *       RST for a closed port: connect gets -ECONNREFUSED, in words;
 *       a listener with backlog 1 and several connects at once: SYN cookies answer
 *       those beyond it, and every connection still opens and carries data;
 *       orderly close both sides, host stats; close with unread bytes resets;
 *       bytes that arrived before accept, then a ring or a sink file registered;
 *       a keepalive failure reported by recv with timeout 0 (and the other data calls);
 *   - blocking calls: a server thread (accept and echo, blocking) and the main thread
 *     (connect, send, recv with timeouts);
 *   - TCP segments in IPv4 fragments (a raw third station): reassembled, they reach the
 *     listener, or get an RST at a closed port; an ICMP protocol unreachable refuses a
 *     connect;
 *   - jet_tcp_station_fini with lingering connections, bounded even when the peer is
 *     silent.
 * Every LAN (t-tcpg-PID-TAG) must have all its pool buffers back at the end. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jet/inet.h"

#include "check.h"
#include "jet/frame.h"
#include "jet/ip.h"
#include "jet/lan.h"
#include "jet/stack.h"
#include "jet/tcp.h"
#include "util/rng.h"

#define FIXTURE_PREFIX "t-tcpg"
#include "chan_fixture.h"

#define IP_A 0xC6120A01u /* 198.18.10.1 */
#define IP_B 0xC6120A02u /* 198.18.10.2 */
#define SEC 1000000000ull
#define MB (1u << 20)

/* Byte at stream offset o of stream `id`. */
static uint8_t pat(uint32_t id, uint64_t o)
{
    return (uint8_t)(jet_mix64(o / 8 + ((uint64_t)id << 40)) >> (8 * (o % 8)));
}

static struct jet_station *host(int lan, int st, uint32_t ip)
{
    struct jet_station *s = st_open(lan, st);
    struct jet_ip_cfg c = {.addr = ip, .plen = 24};
    int rc = jet_ip_attach(s, &c);
    if (rc)
        fprintf(stderr, "jet_ip_attach: %s\n", jet_station_error(s));
    REQUIRE(rc == 0);
    return s;
}

static void add_drops(struct jet_chan *c, void *arg)
{
    struct jet_chan_stats st;
    jet_chan_stats(c, &st);
    *(uint64_t *)arg += st.dropped_policy;
}

/* Frames the station's channels dropped for a full queue. */
static uint64_t chan_drops(struct jet_station *s)
{
    uint64_t n = 0;
    jet_station_each_chan(s, add_drops, &n);
    return n;
}

static void pump(struct jet_station *a, struct jet_station *b)
{
    jet_station_poll(a);
    jet_station_poll(b);
}

/* Pumps until cond or a 10 s bound: false on the bound. */
#define PUMP_UNTIL(a, b, cond)                                                                     \
    ({                                                                                             \
        uint64_t until_ = now_ns() + 10 * SEC;                                                     \
        while (!(cond) && now_ns() < until_)                                                       \
            pump(a, b);                                                                            \
        (bool)(cond);                                                                              \
    })

/* Closes l, ends TCP on a and b (a second for lingering connections), closes both. */
static void stations_down(struct jet_station *a, struct jet_station *b, struct jet_tcp_listener *l)
{
    jet_tcp_listener_close(l);
    jet_tcp_station_fini(a, (int64_t)SEC);
    jet_tcp_station_fini(b, (int64_t)SEC);
    jet_station_close(a);
    jet_station_close(b);
}

/* Opens a connection from a to b:port (listener l on b) by pumping both. */
static void pair_open(struct jet_station *a, struct jet_station *b, struct jet_tcp_listener *l,
                      uint16_t port, const struct jet_tcp_opts *o, struct jet_tcp_conn **ca,
                      struct jet_tcp_conn **cb)
{
    int rc = jet_tcp_connect(a, IP_B, port, o, ca, 0);
    if (rc != -EINPROGRESS)
        fprintf(stderr, "connect: %d %s\n", rc, *ca ? jet_tcp_error(*ca) : "");
    REQUIRE(rc == -EINPROGRESS && *ca);
    *cb = NULL;
    bool ok = PUMP_UNTIL(a, b, jet_tcp_connected(*ca) != 0 && (*cb || !jet_tcp_accept(l, cb, 0)));
    if (!ok)
        fprintf(stderr, "open: connected %d (%s), accepted %p\n", jet_tcp_connected(*ca),
                jet_tcp_error(*ca), (void *)*cb);
    REQUIRE(ok);
    CHECK_EQ(jet_tcp_connected(*ca), 1);
    CHECK_EQ(jet_tcp_connected(*cb), 1);
}

/* ---- transfers, pumped by hand ---- */

enum { MODE_COPY, MODE_RING, MODE_SINK, MODE_REF };

struct side {
    struct jet_tcp_conn *c;
    uint32_t id; /* pattern of what this side sends */
    uint64_t sent, rcvd, total;
    int mode_tx, mode_rx;
    bool shut, eof, bad;
    uint8_t *refbuf; /* MODE_REF: the whole stream, sent by reference in pieces */
    uint64_t refs_out, refs_done, ref_next;
    int sink_fd;
};

static void check_bytes(struct side *me, uint32_t peer_id, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != pat(peer_id, me->rcvd + i) && !me->bad) {
            fprintf(stderr, "byte %llu differs\n", (unsigned long long)(me->rcvd + i));
            me->bad = true;
        }
    me->rcvd += n;
}

static void side_step(struct side *me, uint32_t peer_id)
{
    static uint8_t buf[1 << 16];
    if (me->mode_tx == MODE_REF) {
        uint64_t ck[16];
        int n = jet_tcp_completed(me->c, ck, 16, 0);
        for (int i = 0; i < n; i++) {
            CHECK_EQ(ck[i], me->refs_done); /* in order */
            me->refs_done++;
        }
        while (me->sent < me->total && me->refs_out - me->refs_done < 64) {
            size_t n2 = 100000;
            if (n2 > me->total - me->sent)
                n2 = (size_t)(me->total - me->sent);
            if (jet_tcp_send_ref(me->c, me->refbuf + me->sent, n2, me->refs_out))
                break;
            me->refs_out++;
            me->sent += n2;
        }
    } else {
        while (me->sent < me->total) {
            size_t n = sizeof buf;
            if (n > me->total - me->sent)
                n = (size_t)(me->total - me->sent);
            for (size_t i = 0; i < n; i++)
                buf[i] = pat(me->id, me->sent + i);
            ssize_t r = jet_tcp_send(me->c, buf, n, 0);
            if (r <= 0)
                break;
            me->sent += (uint64_t)r;
        }
    }
    if (me->sent == me->total && !me->shut) {
        CHECK_EQ(jet_tcp_shutdown(me->c), 0);
        me->shut = true;
    }
    for (;;) {
        if (me->mode_rx == MODE_COPY) {
            ssize_t r = jet_tcp_recv(me->c, buf, sizeof buf, 0);
            if (r == 0)
                me->eof = true;
            if (r <= 0)
                break;
            check_bytes(me, peer_id, buf, (size_t)r);
        } else if (me->mode_rx == MODE_RING) {
            const uint8_t *p;
            ssize_t r = jet_tcp_recv_ready(me->c, &p, 0);
            if (r == 0)
                me->eof = true;
            if (r <= 0)
                break;
            check_bytes(me, peer_id, p, (size_t)r);
            CHECK_EQ(jet_tcp_recv_consume(me->c, (size_t)r), 0);
        } else { /* sink: news of the file */
            const uint8_t *p;
            ssize_t r = jet_tcp_recv_ready(me->c, &p, 0);
            if (r == 0)
                me->eof = true;
            if (r <= 0)
                break;
            me->rcvd += (uint64_t)r;
        }
    }
}

static bool side_done(const struct side *s, const struct side *peer)
{
    return s->shut && s->eof && s->rcvd == peer->total &&
           (s->mode_tx != MODE_REF || s->refs_done == s->refs_out);
}

/* Runs a transfer between x (on a) and y (on b) until both saw the end of stream. */
static double transfer(struct jet_station *a, struct jet_station *b, struct side *x,
                       struct side *y)
{
    uint64_t t0 = now_ns(), until = t0 + 20 * SEC;
    while (!(side_done(x, y) && side_done(y, x)) && now_ns() < until) {
        pump(a, b);
        side_step(x, y->id);
        side_step(y, x->id);
        if (jet_tcp_errno(x->c) || jet_tcp_errno(y->c))
            break;
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    if (!(side_done(x, y) && side_done(y, x))) {
        struct jet_tcp_info ix, iy;
        jet_tcp_info(x->c, &ix);
        jet_tcp_info(y->c, &iy);
        fprintf(stderr,
                "transfer stuck: x sent %llu rcvd %llu shut %d eof %d (%s, %s); y sent %llu "
                "rcvd %llu shut %d eof %d (%s, %s)\n",
                (unsigned long long)x->sent, (unsigned long long)x->rcvd, x->shut, x->eof,
                ix.state, jet_tcp_error(x->c), (unsigned long long)y->sent,
                (unsigned long long)y->rcvd, y->shut, y->eof, iy.state, jet_tcp_error(y->c));
    }
    CHECK(side_done(x, y));
    CHECK(side_done(y, x));
    CHECK(!x->bad);
    CHECK(!y->bad);
    return secs;
}

/* 1 if c counts in conns_open: neither CLOSED nor in TIME_WAIT. */
static uint64_t counted(const struct jet_tcp_conn *c)
{
    struct jet_tcp_info i;
    jet_tcp_info(c, &i);
    return strcmp(i.state, "CLOSED") != 0 && strcmp(i.state, "TIME_WAIT") != 0 &&
           strcmp(i.state, "TIME-WAIT") != 0;
}

/* Closes both ends orderly (timeout 0: the library finishes) and pumps until both
 * stations count one connection fewer still open (TIME_WAIT does not count). */
static void pair_close(struct jet_station *a, struct jet_station *b, struct jet_tcp_conn *x,
                       struct jet_tcp_conn *y)
{
    struct jet_tcp_host_stats sa, sb;
    CHECK_EQ(jet_tcp_host_stats(a, &sa), 0);
    CHECK_EQ(jet_tcp_host_stats(b, &sb), 0);
    uint64_t na = sa.conns_open - counted(x), nb = sb.conns_open - counted(y);
    CHECK_EQ(jet_tcp_close(x, 0), 0);
    CHECK_EQ(jet_tcp_close(y, 0), 0);
    bool ok = PUMP_UNTIL(a, b,
                         (jet_tcp_host_stats(a, &sa), jet_tcp_host_stats(b, &sb),
                          sa.conns_open == na && sb.conns_open == nb));
    if (!ok)
        fprintf(stderr, "pair_close: open %llu -> %llu, %llu -> %llu\n", (unsigned long long)na,
                (unsigned long long)sa.conns_open, (unsigned long long)nb,
                (unsigned long long)sb.conns_open);
    CHECK(ok);
}

static void test_basic(int lan)
{
    struct jet_station *a = host(lan, 0, IP_A), *b = host(lan, 1, IP_B);
    struct jet_tcp_listener *l = NULL;
    CHECK_EQ(jet_tcp_listen(b, 0, 80, NULL, &l), 0);
    struct jet_tcp_listener *l2 = NULL;
    CHECK_EQ(jet_tcp_listen(b, 0, 80, NULL, &l2), -EADDRINUSE);
    CHECK_EQ(jet_tcp_listen(b, IP_A, 81, NULL, &l2), -EADDRNOTAVAIL);
    CHECK_EQ(jet_tcp_listen(b, 0, 0, NULL, &l2), -EINVAL);

    struct jet_tcp_conn *x, *y;
    pair_open(a, b, l, 80, NULL, &x, &y);

    /* info */
    struct jet_tcp_info ix, iy;
    jet_tcp_info(x, &ix);
    jet_tcp_info(y, &iy);
    CHECK(strcmp(ix.state, "ESTABLISHED") == 0);
    CHECK(strcmp(iy.state, "ESTABLISHED") == 0);
    CHECK_EQ(ix.laddr, IP_A);
    CHECK_EQ(ix.raddr, IP_B);
    CHECK_EQ(ix.rport, 80);
    CHECK(ix.lport >= 32768 && ix.lport <= 60999);
    CHECK_EQ(iy.lport, 80);
    CHECK_EQ(iy.rport, ix.lport);
    CHECK_EQ(iy.raddr, IP_A);
    CHECK(ix.sack && ix.timestamps && ix.wscale);
    CHECK(iy.sack && iy.timestamps && iy.wscale);
    CHECK(strcmp(ix.cc, "cubic") == 0);
    CHECK(ix.local_chan != 0 && ix.local_chan != iy.local_chan);
    /* MSS from the LAN's MTU: MTU - 40 (less the 12 bytes of timestamps per segment is
     * the core's business) */
    fprintf(stderr, "basic: snd_mss %u rcv_mss %u wscale %u/%u\n", ix.snd_mss, ix.rcv_mss,
            ix.snd_wscale, ix.rcv_wscale);
    CHECK(ix.snd_mss >= 1000);
    {
        uint32_t ad;
        uint16_t po;
        jet_tcp_peer(x, &ad, &po);
        CHECK_EQ(ad, IP_B);
        CHECK_EQ(po, 80);
        jet_tcp_local(y, &ad, &po);
        CHECK_EQ(ad, IP_B);
        CHECK_EQ(po, 80);
        CHECK(jet_tcp_station(x) == a);
    }

    struct jet_tcp_host_stats h0;
    CHECK_EQ(jet_tcp_host_stats(a, &h0), 0);
    CHECK_EQ(h0.conns_open, 1);

    /* events */
    unsigned ev = jet_tcp_events(x);
    CHECK(ev & JET_TCP_CONNECTED);
    CHECK(ev & JET_TCP_OUT);
    CHECK(!(ev & (JET_TCP_IN | JET_TCP_HUP | JET_TCP_ERR)));
    CHECK_EQ(jet_tcp_send(x, "hello", 5, 0), 5);
    CHECK(PUMP_UNTIL(a, b, jet_tcp_events(y) & JET_TCP_IN));
    char buf[16];
    CHECK_EQ(jet_tcp_recv(y, buf, sizeof buf, 0), 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    CHECK_EQ(jet_tcp_recv(y, buf, sizeof buf, 0), -EAGAIN);
    CHECK(!(jet_tcp_events(y) & JET_TCP_IN));

    /* an epoll-style loop on b: arm its fd, sleep on it (at most the station's
     * timeout), poll, then ask the connection what it can do */
    for (int i = 0; i < 20; i++) /* ACKs and window updates settle */
        pump(a, b);
    CHECK_EQ(jet_tcp_send(x, "again", 5, 0), 5);
    int fd = jet_station_fd(b);
    CHECK(fd >= 0);
    int64_t tmo = jet_station_timeout(b);
    CHECK(tmo >= -1);
    bool woke = false;
    for (int i = 0; i < 10 && !(jet_tcp_events(y) & JET_TCP_IN); i++) {
        if (jet_station_arm(b) == 0) {
            struct pollfd pf = {.fd = fd, .events = POLLIN};
            woke |= poll(&pf, 1, 500) == 1;
        }
        jet_station_poll(b);
    }
    CHECK(jet_tcp_events(y) & JET_TCP_IN);
    CHECK_EQ(jet_tcp_recv(y, buf, sizeof buf, 0), 5);
    CHECK(memcmp(buf, "again", 5) == 0);
    (void)woke;

    /* several MB both ways at once */
    struct side sx = {.c = x, .id = 1, .total = 6 * MB};
    struct side sy = {.c = y, .id = 2, .total = 5 * MB};
    double secs = transfer(a, b, &sx, &sy);
    fprintf(stderr, "basic: 6 MB + 5 MB both ways in %.3f s\n", secs);
    ev = jet_tcp_events(x);
    CHECK(ev & JET_TCP_HUP);
    CHECK(ev & JET_TCP_IN);
    jet_tcp_info(x, &ix);
    jet_tcp_info(y, &iy);
    fprintf(stderr,
            "basic: x bytes_out %llu in %llu segs %llu/%llu retrans %llu srtt %llu ns cwnd "
            "%llu; y retrans %llu\n",
            (unsigned long long)ix.bytes_out, (unsigned long long)ix.bytes_in,
            (unsigned long long)ix.segs_out, (unsigned long long)ix.segs_in,
            (unsigned long long)ix.retransmits, (unsigned long long)ix.srtt_ns,
            (unsigned long long)ix.cwnd, (unsigned long long)iy.retransmits);
    fprintf(stderr,
            "basic: x timeouts %llu fast %llu tlp %llu rack %llu dsack_in %llu dup_segs %llu "
            "ooo %llu/%llu window_drops %llu; y dup_segs %llu ooo %llu tlp %llu timeouts %llu\n",
            (unsigned long long)ix.timeouts, (unsigned long long)ix.fast_retransmits,
            (unsigned long long)ix.tlp_probes, (unsigned long long)ix.rack_losses,
            (unsigned long long)ix.dsack_in, (unsigned long long)ix.dup_segs,
            (unsigned long long)ix.ooo_segs, (unsigned long long)ix.ooo_dropped,
            (unsigned long long)ix.window_drops, (unsigned long long)iy.dup_segs,
            (unsigned long long)iy.ooo_segs, (unsigned long long)iy.tlp_probes,
            (unsigned long long)iy.timeouts);
    fprintf(stderr, "basic: channel drops a %llu b %llu\n", (unsigned long long)chan_drops(a),
            (unsigned long long)chan_drops(b));
    CHECK_EQ(ix.bytes_in, 5ull * MB);
    CHECK(ix.bytes_out >= 6ull * MB + 10);
    CHECK(ix.segs_in > 0 && ix.segs_out > 0);

    struct jet_tcp_host_stats ha, hb;
    CHECK_EQ(jet_tcp_host_stats(a, &ha), 0);
    CHECK_EQ(jet_tcp_host_stats(b, &hb), 0);
    CHECK_EQ(ha.active_opens, 1);
    CHECK_EQ(hb.passive_opens, 1);
    CHECK_EQ(hb.listeners, 1);
    CHECK_EQ(ha.listeners, 0);
    CHECK(ha.segs_out > 0 && hb.segs_in > 0);
    CHECK_EQ(hb.csum_bad, 0);

    pair_close(a, b, x, y);
    CHECK_EQ(jet_tcp_host_stats(a, &ha), 0);
    CHECK_EQ(jet_tcp_host_stats(b, &hb), 0);
    CHECK_EQ(ha.conns_open, 0);
    CHECK_EQ(hb.conns_open, 0);
    CHECK_EQ(ha.failed_opens, 0);

    /* RST for a closed port */
    struct jet_tcp_conn *z = NULL;
    CHECK_EQ(jet_tcp_connect(a, IP_B, 81, NULL, &z, 0), -EINPROGRESS);
    CHECK(PUMP_UNTIL(a, b, jet_tcp_connected(z) != 0));
    CHECK_EQ(jet_tcp_connected(z), -ECONNREFUSED);
    CHECK_EQ(jet_tcp_errno(z), -ECONNREFUSED);
    CHECK(jet_tcp_events(z) & JET_TCP_ERR);
    fprintf(stderr, "closed port: %s\n", jet_tcp_error(z));
    CHECK(strstr(jet_tcp_error(z), "198.18.10.2:81") && strstr(jet_tcp_error(z), "refused"));
    CHECK_EQ(jet_tcp_send(z, "x", 1, 0), -ECONNREFUSED);
    CHECK_EQ(jet_tcp_close(z, 0), -ECONNREFUSED);
    CHECK_EQ(jet_tcp_host_stats(b, &hb), 0);
    CHECK_EQ(hb.resets_sent_closed_port, 1);
    CHECK_EQ(jet_tcp_host_stats(a, &ha), 0);
    CHECK_EQ(ha.failed_opens, 1);

    /* close with unread bytes: an RST instead of a FIN; the peer hears of the reset */
    pair_open(a, b, l, 80, NULL, &x, &y);
    CHECK_EQ(jet_tcp_send(x, "unread", 6, 0), 6);
    CHECK(PUMP_UNTIL(a, b, jet_tcp_events(y) & JET_TCP_IN));
    CHECK_EQ(jet_tcp_close(y, 0), 0);
    CHECK(PUMP_UNTIL(a, b, jet_tcp_errno(x) != 0));
    CHECK_EQ(jet_tcp_errno(x), -ECONNRESET);
    CHECK((jet_tcp_events(x) & (JET_TCP_ERR | JET_TCP_IN)) == (JET_TCP_ERR | JET_TCP_IN));
    fprintf(stderr, "reset: %s\n", jet_tcp_error(x));
    CHECK(strstr(jet_tcp_error(x), "reset by the peer") != NULL);
    CHECK_EQ(jet_tcp_recv(x, buf, sizeof buf, 0), -ECONNRESET);
    CHECK_EQ(jet_tcp_close(x, 0), -ECONNRESET);

    stations_down(a, b, l);
}

/* The file holds stream `id`'s first n bytes at offset off. */
static void check_file(int fd, uint64_t off, uint32_t id, uint64_t n)
{
    uint8_t *got = malloc(n);
    REQUIRE(got);
    CHECK_EQ(pread(fd, got, n, (off_t)off), (ssize_t)n);
    uint64_t bad = 0;
    for (uint64_t i = 0; i < n; i++)
        bad += got[i] != pat(id, i);
    CHECK_EQ(bad, 0);
    free(got);
}

/* Ring, sink file and send by reference. */
static void test_modes(int lan)
{
    struct jet_station *a = host(lan, 0, IP_A), *b = host(lan, 1, IP_B);
    struct jet_tcp_listener *l = NULL;
    CHECK_EQ(jet_tcp_listen(b, IP_B, 5000, NULL, &l), 0);

    /* a receives into its ring from the first byte; b sends by reference */
    size_t ring_len = 1 << 20;
    uint8_t *ring = malloc(ring_len);
    REQUIRE(ring);
    struct jet_tcp_opts o = {.ring = ring, .ring_len = ring_len};
    struct jet_tcp_conn *x, *y;
    pair_open(a, b, l, 5000, &o, &x, &y);
    uint64_t total = 4 * MB + 12345;
    uint8_t *ref = malloc(total);
    REQUIRE(ref);
    for (uint64_t i = 0; i < total; i++)
        ref[i] = pat(7, i);
    struct side sx = {.c = x, .id = 8, .total = 1 * MB, .mode_rx = MODE_RING};
    struct side sy = {.c = y, .id = 7, .total = total, .mode_tx = MODE_REF, .refbuf = ref};
    double secs = transfer(a, b, &sx, &sy);
    fprintf(stderr, "ring + send_ref: %.2f MB in %.3f s, %llu refs\n", (double)total / MB, secs,
            (unsigned long long)sy.refs_done);
    CHECK(sy.refs_done > 10);
    CHECK_EQ(jet_tcp_send_pending(y), 0);
    pair_close(a, b, x, y);

    /* a receives into a file; b sends with copies */
    char path[] = "/tmp/t-tcpg-sink-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    unlink(path);
    struct jet_tcp_opts os = {.sink = true, .sink_fd = fd, .sink_off = 100};
    pair_open(a, b, l, 5000, &os, &x, &y);
    struct side tx = {.c = x, .id = 9, .total = 100000, .mode_rx = MODE_SINK};
    struct side ty = {.c = y, .id = 10, .total = 3 * MB + 7};
    secs = transfer(a, b, &tx, &ty);
    fprintf(stderr, "sink: %.2f MB in %.3f s\n", (double)ty.total / MB, secs);
    CHECK_EQ(jet_tcp_recv_placed(x), ty.total);
    struct jet_tcp_info ix;
    jet_tcp_info(x, &ix);
    CHECK_EQ(ix.sink_bytes, ty.total);
    CHECK(ix.sink_writes > 0);
    check_file(fd, 100, 10, ty.total);
    char got[10];
    CHECK_EQ(jet_tcp_recv(x, got, 10, 0), -EINVAL); /* the bytes go to the file */
    pair_close(a, b, x, y);
    close(fd);

    /* an accepted connection registers its ring after accept */
    pair_open(a, b, l, 5000, NULL, &x, &y);
    CHECK_EQ(jet_tcp_recv_register(y, ring, ring_len), 0);
    struct side ux = {.c = x, .id = 11, .total = 2 * MB};
    struct side uy = {.c = y, .id = 12, .total = 10, .mode_rx = MODE_RING};
    transfer(a, b, &ux, &uy);
    pair_close(a, b, x, y);

    free(ring);
    free(ref);
    stations_down(a, b, l);
}

/* Connects x on a to the listener (port) and sends n bytes of pattern id before anyone
 * on b accepts: pumps until they are all acknowledged (in y's internal ring), then
 * accepts y. */
static void open_sent_early(struct jet_station *a, struct jet_station *b,
                            struct jet_tcp_listener *l, uint16_t port, uint32_t id, uint64_t n,
                            struct jet_tcp_conn **x, struct jet_tcp_conn **y)
{
    REQUIRE(jet_tcp_connect(a, IP_B, port, NULL, x, 0) == -EINPROGRESS);
    REQUIRE(PUMP_UNTIL(a, b, jet_tcp_connected(*x) == 1));
    uint8_t buf[4096];
    for (uint64_t sent = 0; sent < n;) {
        size_t k = n - sent < sizeof buf ? (size_t)(n - sent) : sizeof buf;
        for (size_t i = 0; i < k; i++)
            buf[i] = pat(id, sent + i);
        ssize_t r = jet_tcp_send(*x, buf, k, 0);
        if (r > 0)
            sent += (uint64_t)r;
        else
            pump(a, b);
    }
    REQUIRE(PUMP_UNTIL(a, b, jet_tcp_send_pending(*x) == 0));
    REQUIRE(jet_tcp_accept(l, y, 0) == 0);
}

/* Bytes that arrived before accept (TCP queues established connections): registering a
 * ring, or a sink file, after accept still works and the stream is byte-exact. */
static void test_early(int lan)
{
    struct jet_station *a = host(lan, 0, IP_A), *b = host(lan, 1, IP_B);
    struct jet_tcp_listener *l = NULL;
    CHECK_EQ(jet_tcp_listen(b, IP_B, 6000, NULL, &l), 0);
    const uint64_t early = 30000;
    struct jet_tcp_conn *x, *y;

    /* a ring: too short for what waits, then long enough */
    open_sent_early(a, b, l, 6000, 21, early, &x, &y);
    CHECK_EQ(jet_tcp_events(y) & JET_TCP_IN, JET_TCP_IN);
    size_t ring_len = 1 << 20;
    uint8_t *ring = malloc(ring_len), small[4096];
    REQUIRE(ring);
    CHECK_EQ(jet_tcp_recv_register(y, small, sizeof small), -EBUSY);
    CHECK_EQ(jet_tcp_recv_register(y, ring, ring_len), 0);
    const uint8_t *p;
    ssize_t r = jet_tcp_recv_ready(y, &p, 0);
    CHECK(r > 0 && p == ring); /* the ring's start: the next byte is at offset 0 */
    struct side sx = {.c = x, .id = 21, .sent = early, .total = early + 2 * MB};
    struct side sy = {.c = y, .id = 22, .total = 10, .mode_rx = MODE_RING};
    transfer(a, b, &sx, &sy);
    fprintf(stderr, "early: %llu bytes before accept, then a ring: %llu bytes byte-exact\n",
            (unsigned long long)early, (unsigned long long)sy.rcvd);
    pair_close(a, b, x, y);

    /* a sink file */
    char path[] = "/tmp/t-tcpg-early-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    unlink(path);
    open_sent_early(a, b, l, 6000, 23, early, &x, &y);
    CHECK_EQ(jet_tcp_recv_sink(y, fd, 100, 0), 0);
    CHECK_EQ(jet_tcp_recv_placed(y), early); /* written at once */
    r = jet_tcp_recv_ready(y, &p, 0);
    CHECK_EQ(r, (ssize_t)early); /* news of them */
    CHECK(p == NULL);
    struct side tx = {.c = x, .id = 23, .sent = early, .total = early + 3 * MB + 7};
    struct side ty = {.c = y, .id = 24, .total = 10, .mode_rx = MODE_SINK, .rcvd = early};
    transfer(a, b, &tx, &ty);
    CHECK_EQ(jet_tcp_recv_placed(y), tx.total);
    struct jet_tcp_info iy;
    jet_tcp_info(y, &iy);
    CHECK_EQ(iy.sink_bytes, tx.total);
    check_file(fd, 100, 23, tx.total);
    pair_close(a, b, x, y);
    close(fd);

    /* a sink that cannot take the early bytes: the error, and the connection goes on */
    open_sent_early(a, b, l, 6000, 25, 5000, &x, &y);
    int pfd[2];
    REQUIRE(pipe(pfd) == 0);
    CHECK_EQ(jet_tcp_recv_sink(y, pfd[1], 0, 0), -ESPIPE);
    close(pfd[0]);
    close(pfd[1]);
    CHECK_EQ(jet_tcp_errno(y), 0);
    CHECK_EQ(jet_tcp_recv(y, small, sizeof small, 0), (ssize_t)sizeof small);
    CHECK_EQ(small[0], pat(25, 0));
    jet_tcp_abort(x);
    jet_tcp_abort(y);

    free(ring);
    stations_down(a, b, l);
}

/* A failure a timer finds (keepalive: the peer went silent) is what every data call
 * reports, with timeout 0 too: nothing but jet_tcp_recv(.., 0) drives a. */
static void test_timer_err(int lan)
{
    struct jet_station *a = host(lan, 0, IP_A), *b = host(lan, 1, IP_B);
    struct jet_tcp_listener *l = NULL;
    CHECK_EQ(jet_tcp_listen(b, IP_B, 7000, NULL, &l), 0);
    struct jet_tcp_opts o = {
        .keepalive_ns = 100000000, .keepalive_intvl_ns = 50000000, .keepalive_probes = 2};
    struct jet_tcp_conn *x, *y;
    pair_open(a, b, l, 7000, &o, &x, &y);
    for (int i = 0; i < 20; i++)
        pump(a, b);
    /* b is never polled again: silent */
    char buf[64];
    ssize_t r = -EAGAIN;
    uint64_t until = now_ns() + 5 * SEC;
    while (r == -EAGAIN && now_ns() < until) {
        r = jet_tcp_recv(x, buf, sizeof buf, 0);
        if (r == -EAGAIN)
            usleep(1000);
    }
    fprintf(stderr, "timer error: recv %zd: %s\n", r, jet_tcp_error(x));
    CHECK_EQ(r, -ETIMEDOUT);
    CHECK_EQ(jet_tcp_errno(x), -ETIMEDOUT);
    const uint8_t *p;
    CHECK_EQ(jet_tcp_recv_ready(x, &p, 0), -ETIMEDOUT);
    CHECK_EQ(jet_tcp_send(x, "x", 1, 0), -ETIMEDOUT);
    uint64_t ck;
    CHECK_EQ(jet_tcp_completed(x, &ck, 1, 0), -ETIMEDOUT);
    CHECK(strstr(jet_tcp_error(x), "stopped answering") != NULL);
    jet_tcp_abort(x);
    jet_tcp_abort(y);
    stations_down(a, b, l);
}

/* Backlog 1: the connections beyond it are answered with SYN cookies and still open. */
static void test_cookies(int lan)
{
    struct jet_station *a = host(lan, 0, IP_A), *b = host(lan, 1, IP_B);
    struct jet_tcp_listener *l = NULL;
    struct jet_tcp_opts lo = {.backlog = 1};
    CHECK_EQ(jet_tcp_listen(b, 0, 90, &lo, &l), 0);
    enum { N = 6 };
    struct jet_tcp_conn *x[N], *y[N] = {0};
    for (int i = 0; i < N; i++)
        CHECK_EQ(jet_tcp_connect(a, IP_B, 90, NULL, &x[i], 0), -EINPROGRESS);
    /* nobody accepts yet: one is in the backlog, the rest got cookies */
    bool all = PUMP_UNTIL(a, b, ({
                              int k = 0;
                              for (int i = 0; i < N; i++)
                                  k += jet_tcp_connected(x[i]) == 1;
                              k == N;
                          }));
    CHECK(all);
    struct jet_tcp_host_stats hb;
    CHECK_EQ(jet_tcp_host_stats(b, &hb), 0);
    fprintf(stderr, "cookies: sent %llu ok %llu bad %llu, drops %llu, pending %u\n",
            (unsigned long long)hb.syn_cookies_sent, (unsigned long long)hb.syn_cookies_ok,
            (unsigned long long)hb.syn_cookies_bad, (unsigned long long)hb.syn_backlog_drops,
            jet_tcp_pending(l));
    CHECK_EQ(hb.syn_cookies_sent, N - 1);
    CHECK_EQ(hb.syn_cookies_ok, N - 1);
    CHECK_EQ(hb.syn_cookies_bad, 0);
    CHECK_EQ(jet_tcp_pending(l), N);
    int got = 0;
    for (int i = 0; i < N; i++)
        got += jet_tcp_accept(l, &y[i], 0) == 0;
    CHECK_EQ(got, N);
    struct jet_tcp_conn *more = NULL;
    CHECK_EQ(jet_tcp_accept(l, &more, 0), -EAGAIN);
    CHECK_EQ(jet_tcp_pending(l), 0);
    /* every one carries data both ways; match them by port */
    for (int i = 0; i < N; i++) {
        uint16_t lp;
        jet_tcp_local(x[i], NULL, &lp);
        struct jet_tcp_conn *peer = NULL;
        for (int j = 0; j < N; j++) {
            uint16_t rp = 0;
            if (y[j])
                jet_tcp_peer(y[j], NULL, &rp);
            if (rp == lp)
                peer = y[j];
        }
        CHECK(peer != NULL);
        if (!peer)
            continue;
        struct jet_tcp_info ix;
        jet_tcp_info(x[i], &ix);
        struct side sx = {.c = x[i], .id = 20 + (uint32_t)i, .total = 200000};
        struct side sy = {.c = peer, .id = 40 + (uint32_t)i, .total = 300000};
        double secs = transfer(a, b, &sx, &sy);
        struct jet_tcp_info iy;
        jet_tcp_info(peer, &iy);
        jet_tcp_info(x[i], &ix);
        fprintf(stderr,
                "cookies: conn %d: %.3f s; x mss %u/%u ws %u/%u sack %d ts %d retrans %llu "
                "timeouts %llu; y mss %u/%u ws %u/%u retrans %llu timeouts %llu paws %llu "
                "window_drops %llu\n",
                i, secs, ix.snd_mss, ix.rcv_mss, ix.snd_wscale, ix.rcv_wscale, ix.sack,
                ix.timestamps, (unsigned long long)ix.retransmits,
                (unsigned long long)ix.timeouts, iy.snd_mss, iy.rcv_mss, iy.snd_wscale,
                iy.rcv_wscale, (unsigned long long)iy.retransmits,
                (unsigned long long)iy.timeouts, (unsigned long long)iy.paws_drops,
                (unsigned long long)iy.window_drops);
        CHECK(secs < 2);
        pair_close(a, b, x[i], peer);
    }
    stations_down(a, b, l);
}

/* ---- blocking calls: an echo server in a thread ---- */

struct echo {
    struct jet_station *s;
    struct jet_tcp_listener *l;
    atomic_int ready, served;
};

static void *echo_main(void *arg)
{
    struct echo *e = arg;
    struct jet_tcp_conn *c = NULL;
    int rc = jet_tcp_accept(e->l, &c, 5 * (int64_t)SEC);
    atomic_store(&e->ready, 1);
    if (rc)
        return NULL;
    static uint8_t buf[1 << 16];
    for (;;) {
        ssize_t n = jet_tcp_recv(c, buf, sizeof buf, 5 * (int64_t)SEC);
        if (n <= 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = jet_tcp_send(c, buf + off, (size_t)(n - off), 5 * (int64_t)SEC);
            if (w <= 0)
                goto out;
            off += w;
        }
    }
    jet_tcp_close(c, 5 * (int64_t)SEC);
    atomic_store(&e->served, 1);
out:
    jet_tcp_station_fini(e->s, (int64_t)SEC);
    return NULL;
}

static void test_blocking(int lan)
{
    struct jet_station *a = host(lan, 0, IP_A), *b = host(lan, 1, IP_B);
    struct echo e = {.s = b};
    CHECK_EQ(jet_tcp_listen(b, 0, 7, NULL, &e.l), 0);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, echo_main, &e) == 0);
    struct jet_tcp_conn *c = NULL;
    int rc = jet_tcp_connect(a, IP_B, 7, NULL, &c, 3 * (int64_t)SEC);
    if (rc)
        fprintf(stderr, "blocking connect: %d %s\n", rc, c ? jet_tcp_error(c) : "");
    CHECK_EQ(rc, 0);
    uint64_t total = 2 * MB, sent = 0, rcvd = 0;
    uint64_t t0 = now_ns();
    static uint8_t buf[1 << 15];
    bool bad = false;
    while (!rc && rcvd < total && now_ns() - t0 < 15 * SEC) {
        if (sent < total) {
            size_t n = sizeof buf;
            if (n > total - sent)
                n = (size_t)(total - sent);
            for (size_t i = 0; i < n; i++)
                buf[i] = pat(3, sent + i);
            ssize_t w = jet_tcp_send(c, buf, n, (int64_t)SEC);
            CHECK(w > 0);
            if (w <= 0)
                break;
            sent += (uint64_t)w;
        }
        while (rcvd < total) { /* what came back so far, without blocking unless all is sent */
            ssize_t r = jet_tcp_recv(c, buf, sizeof buf, sent < total ? 0 : 2 * (int64_t)SEC);
            if (r <= 0) {
                CHECK(r == -EAGAIN || sent < total);
                break;
            }
            for (ssize_t i = 0; i < r; i++)
                bad |= buf[i] != pat(3, rcvd + (uint64_t)i);
            rcvd += (uint64_t)r;
        }
    }
    CHECK_EQ(rcvd, total);
    CHECK(!bad);
    fprintf(stderr, "blocking echo: %.1f MB in %.3f s\n", (double)total / MB,
            (double)(now_ns() - t0) / 1e9);
    /* a timed connect to a port nobody listens on (b's thread is in a blocking recv,
     * driving b): refused quickly */
    uint64_t t1 = now_ns();
    struct jet_tcp_conn *z = NULL;
    CHECK_EQ(jet_tcp_connect(a, IP_B, 9999, NULL, &z, 3 * (int64_t)SEC), -ECONNREFUSED);
    CHECK(now_ns() - t1 < 2 * SEC);
    jet_tcp_abort(z);
    if (c) {
        CHECK_EQ(jet_tcp_shutdown(c), 0);
        CHECK_EQ(jet_tcp_recv(c, buf, sizeof buf, 3 * (int64_t)SEC), 0); /* the echo's end */
        CHECK_EQ(jet_tcp_recv(c, buf, sizeof buf, 0), 0);
        CHECK_EQ(jet_tcp_close(c, 3 * (int64_t)SEC), 0);
    }
    pthread_join(t, NULL);
    CHECK_EQ(atomic_load(&e.served), 1);

    /* no route (a has no gateway): at once; nobody at the address: ARP gives up */
    z = NULL;
    CHECK_EQ(jet_tcp_connect(a, 0x0A000001u, 80, NULL, &z, 0), -ENETUNREACH);
    fprintf(stderr, "no route: %s\n", jet_tcp_error(z));
    CHECK(strstr(jet_tcp_error(z), "no route to 10.0.0.1") != NULL);
    jet_tcp_abort(z);
    t1 = now_ns();
    z = NULL;
    CHECK_EQ(jet_tcp_connect(a, 0xC6120A09u, 80, NULL, &z, 8 * (int64_t)SEC), -EHOSTUNREACH);
    fprintf(stderr, "nobody there: %s after %.3f s\n", jet_tcp_error(z),
            (double)(now_ns() - t1) / 1e9);
    CHECK(strstr(jet_tcp_error(z), "198.18.10.9 is unreachable") != NULL);
    CHECK(now_ns() - t1 < 7 * SEC);
    jet_tcp_abort(z);
    jet_tcp_station_fini(a, (int64_t)SEC);
    jet_station_close(a);
    jet_station_close(b);
}

/* Fini with connections still closing, and with a peer that went silent. */
static void test_fini(int lan)
{
    struct jet_station *a = host(lan, 0, IP_A), *b = host(lan, 1, IP_B);
    struct jet_tcp_listener *l = NULL;
    CHECK_EQ(jet_tcp_listen(b, 0, 80, NULL, &l), 0);
    struct jet_tcp_conn *x1, *y1, *x2, *y2;
    pair_open(a, b, l, 80, NULL, &x1, &y1);
    pair_open(a, b, l, 80, NULL, &x2, &y2);
    CHECK_EQ(jet_tcp_send(x1, "data", 4, 0), 4);
    /* both of a's close in the background; b is driven by hand below */
    CHECK_EQ(jet_tcp_close(x1, 0), 0);
    CHECK_EQ(jet_tcp_close(x2, 0), 0);
    for (int i = 0; i < 50; i++)
        pump(a, b);
    char buf[8];
    CHECK_EQ(jet_tcp_recv(y1, buf, sizeof buf, 0), 4);
    CHECK_EQ(jet_tcp_recv(y1, buf, sizeof buf, 0), 0);
    CHECK_EQ(jet_tcp_recv(y2, buf, sizeof buf, 0), 0);
    CHECK_EQ(jet_tcp_close(y1, 0), 0);
    /* fini on a: x1 finishes, x2 waits in FIN_WAIT_2 for a FIN that b never sends
     * (nobody drives b now): bounded by the linger given */
    uint64_t t0 = now_ns();
    jet_tcp_station_fini(a, 300 * 1000000ll);
    uint64_t took = now_ns() - t0;
    fprintf(stderr, "fini: %.3f s\n", (double)took / 1e9);
    CHECK(took < 2 * SEC);
    struct jet_tcp_host_stats ha;
    CHECK_EQ(jet_tcp_host_stats(a, &ha), 0); /* TCP left a: all zero */
    CHECK_EQ(ha.conns_open, 0);
    jet_station_close(a);
    /* b: its own fini frees y2 (aborted) and the listener */
    jet_tcp_station_fini(b, 200 * 1000000ll);
    jet_station_close(b);
}

/* TCP segments that arrive as IPv4 fragments reach TCP through reassembly: from a
 * third station (c, IPv4 but no TCP) that writes raw Ethernet frames, a SYN in two
 * fragments to b's listener makes a connection there; the same to a closed port gets an
 * RST; an unfragmented SYN to a closed port too. */
#define IP_C 0xC6120A03u
static void send_frags(struct jet_chan *ch, const uint8_t *dmac, const uint8_t *smac,
                       const uint8_t *seg, size_t len, uint16_t id, size_t first)
{
    for (size_t off = 0; off < len;) {
        size_t n = off == 0 && first < len ? first : len - off;
        uint8_t f[128];
        struct jet_eth_hdr e = {.ethertype = JET_ETHERTYPE_IPV4, .vlan = JET_ETH_UNTAGGED};
        memcpy(e.dst, dmac, 6);
        memcpy(e.src, smac, 6);
        REQUIRE(jet_eth_emit(f, sizeof f, &e) == 14);
        bool more = off + n < len;
        struct jet_ipv4_hdr h = {.hdr_len = 20, .total_len = (uint16_t)(20 + n), .id = id,
                                 .frag = (uint16_t)((more ? JET_IPV4_MF : 0) | (off >> 3)),
                                 .ttl = 64, .proto = JET_IP_PROTO_TCP, .src = IP_C, .dst = IP_B};
        REQUIRE(jet_ipv4_emit(f + 14, 20, &h) == 20);
        memcpy(f + 34, seg + off, n);
        struct iovec v = {f, 34 + n};
        CHECK(jet_chan_send_eth(ch, &v, 1) > 0);
        off += n;
    }
}

static void test_frag(int lan)
{
    struct jet_station *b = host(lan, 1, IP_B), *c = host(lan, 2, IP_C);
    struct jet_tcp_listener *l = NULL;
    CHECK_EQ(jet_tcp_listen(b, 0, 80, NULL, &l), 0);
    struct jet_ip_cfg bc, cc;
    REQUIRE(jet_ip_config(b, &bc) == 0 && jet_ip_config(c, &cc) == 0);
    struct jet_chan *raw = ch_open(c, 99, NULL);
    for (int k = 0; k < 3; k++) {
        uint8_t seg[64];
        struct jet_tcp_hdr t = {.sport = (uint16_t)(1000 + k), .dport = k == 0 ? 80 : 81,
                                .seq = 12345, .flags = JET_TCP_SYN, .win = 65535};
        t.opt.mss = 1460;
        int n = jet_tcp_emit(seg, sizeof seg, &t, IP_C, IP_B, 0);
        REQUIRE(n == 24);
        send_frags(raw, bc.mac, cc.mac, seg, (size_t)n, (uint16_t)(77 + k), k < 2 ? 16 : 64);
        for (int i = 0; i < 50; i++) {
            jet_station_poll(b);
            jet_station_poll(c);
        }
    }
    struct jet_tcp_host_stats hb;
    CHECK_EQ(jet_tcp_host_stats(b, &hb), 0);
    fprintf(stderr, "frag: passive_opens %llu resets %llu\n", (unsigned long long)hb.passive_opens,
            (unsigned long long)hb.resets_sent_closed_port);
    CHECK_EQ(hb.passive_opens, 1);
    CHECK_EQ(hb.resets_sent_closed_port, 2);
    struct jet_ip_stats is;
    CHECK_EQ(jet_ip_stats(b, &is), 0);
    CHECK(is.frag_in >= 4);
    CHECK_EQ(is.proto_unknown, 0); /* TCP answered, not ICMP */
    jet_chan_close(raw);
    /* an ICMP error reaches its connection: c has no TCP, so its IPv4 answers b's SYN
     * with protocol unreachable, which refuses the connect */
    struct jet_tcp_conn *z = NULL;
    uint64_t t0 = now_ns();
    int rc = -1;
    CHECK_EQ(jet_tcp_connect(b, IP_C, 80, NULL, &z, 0), -EINPROGRESS);
    while (now_ns() - t0 < 3 * SEC && (rc = jet_tcp_connected(z)) == 0) {
        jet_station_poll(b);
        jet_station_poll(c);
    }
    CHECK_EQ(rc, -ECONNREFUSED);
    fprintf(stderr, "icmp: %s\n", jet_tcp_error(z));
    CHECK(strstr(jet_tcp_error(z), "ICMP protocol unreachable") != NULL);
    jet_tcp_abort(z);
    jet_tcp_station_fini(b, 0);
    jet_station_close(b);
    jet_station_close(c);
}

static void tweak_big(struct jet_lan_config *c)
{
    c->mtu = 65536; /* IPv4 packets up to 65535 bytes: segments of ~64 KiB */
}

static void tweak_eth(struct jet_lan_config *c)
{
    c->mtu = 1500;
}

static bool want(const char *name)
{
    const char *only = getenv("TCPG_ONLY");
    return !only || strstr(only, name);
}

int main(void)
{
    main_pid = getpid();
    atexit(cleanup_lans);
    alarm(150);
    static const struct {
        const char *name, *lan; /* TCPG_ONLY=name runs it */
        void (*tweak)(struct jet_lan_config *);
        void (*run)(int lan);
    } cases[] = {
        {"basic", "basic", tweak_big, test_basic},
        {"basic", "basic1500", tweak_eth, test_basic},
        {"modes", "modes", tweak_big, test_modes},
        {"early", "early", tweak_eth, test_early},
        {"timer_err", "timer_err", tweak_eth, test_timer_err},
        {"cookies", "cookies", tweak_eth, test_cookies},
        {"blocking", "blocking", NULL, test_blocking},
        {"frag", "frag", tweak_eth, test_frag},
        {"fini", "fini", NULL, test_fini},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (!want(cases[i].name))
            continue;
        int lan = mklan(cases[i].lan, cases[i].tweak);
        cases[i].run(lan);
        rmlan(lan);
    }
    return check_done("test_tcp_glue");
}
