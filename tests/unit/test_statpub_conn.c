/* Connection records in the stats file of jet stat (src/chan/statpub.h,
 * "Connections"; the RBS and TCP hooks in src/rbs/rbs_pub.c, src/tcp/tcp_pub.c):
 *   1. the reader, table-driven, on images made here: good records; each kind
 *      of bad record (protocol, kind, flags, padding, a name not terminated,
 *      with a character no name has or bytes after its end, a port or a
 *      station out of range) dropped and counted while the others are kept;
 *      bad counts in the header (records among the channels' entries, odd,
 *      beyond capacity, more than a file holds, a first one and none, before
 *      the first pass, reserved bytes, the record size) and a file cut short:
 *      the whole file refused as damaged; another layout named with both
 *      numbers;
 *   2. the publication: two stations of a LAN (t-statpub-PID-conn) with IPv4,
 *      an RBS listener and connection and a TCP listener and connection, a
 *      known number of bytes sent each way on each; each station's file
 *      shows the listeners (LISTEN) and both connections ESTABLISHED with the
 *      right endpoints, srtt > 0, cwnd > 0, bytes sent / acknowledged /
 *      received equal to what went across, segments counted;
 *   3. many connections, opened and closed while passes run: 300 RBS
 *      connections (more than a slice of records, so a pass lists them over
 *      several polls) and, for 1.5 s, one aborted and one opened every few
 *      polls; in every snapshot read meanwhile no connection twice, and every
 *      connection open throughout the snapshot's pass (opened before it
 *      began, closed after it completed) in it.
 * Bounded: 20 s per wait at most. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "statpub_fixture.h"

#include "jet/ip.h"
#include "jet/rbs.h"
#include "jet/tcp.h"

/* ---- 1. the reader ---- */

struct mem {
    const uint8_t *b;
    size_t len;
};

static int mem_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct mem *m = ctx;
    if (off > m->len || len > m->len - off)
        return -ENODATA;
    memcpy(buf, m->b + off, len);
    return 0;
}

static int64_t mem_size(void *ctx)
{
    return (int64_t)((struct mem *)ctx)->len;
}

enum { ADDR = 3, NREC = 3, IMG = 64 * 1024 };

/* An image: header, channel 7 at entry 0, NREC records from entry 2 of
 * buffer `front`; *len its size. */
static struct statpub_hdr good_hdr(void)
{
    struct statpub_hdr h = {
        .magic = STATPUB_MAGIC,
        .layout = STATPUB_LAYOUT,
        .hdr_size = sizeof(struct statpub_hdr),
        .ent_size = sizeof(struct statpub_ent),
        .chunk = STATPUB_CHUNK,
        .conn_size = sizeof(struct statpub_conn),
        .pid = 4242,
        .addr = ADDR,
        .instance = 99,
        .seq = 8,
        .nchan = 1,
        .capacity = STATPUB_CHUNK,
        .front = 1,
        .nent = 1,
        .publishes = 3,
        .nconn = NREC,
        .conn_first = 2,
        .conn_more = 4,
    };
    strcpy(h.link, "lan:conn");
    return h;
}

static void good_recs(struct statpub_conn r[NREC])
{
    memset(r, 0, NREC * sizeof *r);
    r[0] = (struct statpub_conn){.proto = STATPUB_PROTO_RBS,
                                 .kind = STATPUB_LISTENER,
                                 .chan = 5201,
                                 .laddr = ADDR,
                                 .lport = 5201};
    strcpy(r[0].state, "LISTEN");
    r[1] = (struct statpub_conn){.proto = STATPUB_PROTO_RBS,
                                 .chan = 0x40000001,
                                 .laddr = ADDR,
                                 .lport = 0x40000001,
                                 .raddr = 1,
                                 .rport = 0x40000002,
                                 .srtt_ns = 50000,
                                 .cwnd = 90000,
                                 .ssthresh = UINT64_MAX,
                                 .bytes_sent = 12345};
    strcpy(r[1].state, "ESTABLISHED");
    strcpy(r[1].cc, "newreno");
    r[2] = (struct statpub_conn){.proto = STATPUB_PROTO_TCP,
                                 .flags = STATPUB_CF_SACK,
                                 .chan = 0x10000003,
                                 .laddr = 0xC6120001,
                                 .lport = 5201,
                                 .raddr = 0xC6120002,
                                 .rport = 65535,
                                 .bytes_received = 777};
    strcpy(r[2].state, "FIN_WAIT_1");
    strcpy(r[2].cc, "cubic");
}

static size_t build(uint8_t *img, const struct statpub_hdr *h, const struct statpub_conn *r)
{
    memset(img, 0, IMG);
    memcpy(img, h, sizeof *h);
    struct statpub_ent e = {.id = 7, .queue_frames = 64, .queued_hwm = 1, .queue_bytes = 4096};
    memcpy(img + statpub_ent_off(0, 1), &e, sizeof e);
    for (uint32_t k = 0; k < NREC; k++)
        memcpy(img + statpub_ent_off(2 + 2 * k, 1), &r[k], sizeof r[k]);
    return statpub_ent_off(2 + 2 * NREC - 1, 1) + sizeof(struct statpub_ent);
}

static int parse(const uint8_t *img, size_t len, struct statpub_snap *sn, struct jet_err *err)
{
    struct mem m = {img, len};
    struct statpub_src src = {mem_read, mem_size, &m};
    return statpub_parse(&src, "image", ADDR, 3, sn, err);
}

/* A record change: field at off (of record `which`) set to bytes v[0..n). */
struct rrow {
    const char *name;
    int which;
    size_t off, n;
    const char *v;
};
#define RF(f) offsetof(struct statpub_conn, f)

/* A header change: a 32-bit field set to v; expect rc and a word of the
 * reason. */
struct hrow {
    const char *name;
    size_t off;
    uint32_t v;
    size_t cut; /* else: the image cut to this size */
    const char *why;
};
#define HF(f) offsetof(struct statpub_hdr, f)

static void test_reader(void)
{
    static uint8_t img[IMG];
    struct statpub_hdr h = good_hdr();
    struct statpub_conn r[NREC];
    good_recs(r);
    size_t len = build(img, &h, r);
    struct statpub_snap sn = {0};
    struct jet_err err = {0};
    int rc = parse(img, len, &sn, &err);
    if (rc)
        fprintf(stderr, "good image: %s\n", jet_err_str(&err, rc));
    CHECK_EQ(rc, 0);
    CHECK_EQ(sn.nchan, 1);
    CHECK_EQ(sn.nconn, NREC);
    CHECK_EQ(sn.conn_bad, 0);
    CHECK_EQ(sn.conn_more, 4);
    CHECK(sn.nconn == NREC && !memcmp(sn.conn, r, sizeof r));

    /* bad records: dropped and counted, the others kept */
    const struct rrow rows[] = {
        {"proto 0", 1, RF(proto), 1, "\x00"},
        {"proto 3", 1, RF(proto), 1, "\x03"},
        {"proto 255", 0, RF(proto), 1, "\xff"},
        {"kind 2", 2, RF(kind), 1, "\x02"},
        {"flags 2", 2, RF(flags), 2, "\x02\x00"},
        {"flags 0x8000", 1, RF(flags), 2, "\x00\x80"},
        {"pad 1", 1, RF(pad), 1, "\x01"},
        {"state empty", 1, RF(state), 1, "\x00"},
        {"state not terminated", 1, RF(state), 16, "ESTABLISHEDxxxxx"},
        {"state with a space", 2, RF(state), 4, "A B\0"},
        {"state with an escape", 2, RF(state), 5, "\x1b[2J\0"},
        {"state with 0xff", 2, RF(state), 2, "\xff\0"},
        {"bytes after the state's end", 1, RF(state) + 13, 1, "z"},
        {"cc not terminated", 1, RF(cc), 16, "cubiccubiccubicc"},
        {"cc with a slash", 1, RF(cc), 4, "a/b\0"},
        {"bytes after the cc's end", 2, RF(cc) + 15, 1, "z"},
        {"TCP local port 65536", 2, RF(lport), 4, "\x00\x00\x01\x00"},
        {"TCP remote port ~0", 2, RF(rport), 4, "\xff\xff\xff\xff"},
        {"RBS station 65536", 1, RF(laddr), 4, "\x00\x00\x01\x00"},
        {"RBS peer station ~0", 1, RF(raddr), 4, "\xff\xff\xff\xff"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct statpub_conn b[NREC];
        good_recs(b);
        memcpy((uint8_t *)&b[rows[i].which] + rows[i].off, rows[i].v, rows[i].n);
        len = build(img, &h, b);
        err = (struct jet_err){0};
        rc = parse(img, len, &sn, &err);
        bool ok = rc == 0 && sn.nconn == NREC - 1 && sn.conn_bad == 1 && sn.nchan == 1;
        for (uint32_t k = 0, j = 0; ok && k < NREC; k++)
            if ((int)k != rows[i].which)
                ok = !memcmp(&sn.conn[j++], &b[k], sizeof b[k]);
        if (!ok)
            fprintf(stderr, "record row '%s': rc %d (%s), nconn %u, bad %u\n", rows[i].name, rc,
                    rc ? err.msg : "", sn.nconn, sn.conn_bad);
        CHECK(ok);
    }
    /* legal extremes: kept */
    {
        struct statpub_conn b[NREC];
        good_recs(b);
        memset(b[1].state, 'A', STATPUB_NAME_MAX - 1);
        b[1].bytes_sent = UINT64_MAX;
        b[2].lport = b[2].rport = 65535;
        b[2].laddr = b[2].raddr = UINT32_MAX;
        b[0].laddr = 65535;
        len = build(img, &h, b);
        CHECK(parse(img, len, &sn, &err) == 0 && sn.nconn == NREC && sn.conn_bad == 0);
    }

    /* bad counts: the whole file refused */
    const uint32_t cap = STATPUB_CHUNK;
    const struct hrow hrows[] = {
        {"layout 4", HF(layout), 4, 0, "another layout (4; this jet reads layout 5"},
        {"layout 6", HF(layout), 6, 0, "another layout (6; this jet reads layout 5"},
        {"conn_size 128", HF(conn_size), 128, 0, "record"},
        {"conn_size 0", HF(conn_size), 0, 0, "record"},
        {"nconn capacity", HF(nconn), cap, 0, "out of place"},
        {"nconn ~0", HF(nconn), UINT32_MAX, 0, "more connection records than a file holds"},
        {"nconn max + 1", HF(nconn), STATPUB_MAX_CONNS + 1, 0, "more connection records"},
        {"conn_first odd", HF(conn_first), 3, 0, "out of place"},
        {"conn_first 0 (the channel's)", HF(conn_first), 0, 0, "out of place"},
        {"conn_first beyond capacity", HF(conn_first), cap + 2, 0, "out of place"},
        {"conn_first ~0", HF(conn_first), UINT32_MAX - 1, 0, "out of place"},
        {"records to capacity + 2", HF(conn_first), cap - 2 * NREC + 2, 0, "out of place"},
        {"publishes 0", HF(publishes), 0, 0, "before the first pass"},
        {"reserved", HF(reserved) + 8, 1, 0, "reserved"},
        {"cut: last record - 1 byte", 0, 0, 1, "shorter than its header"},
        {"cut: header only", 0, 0, 2, "shorter than its header"},
    };
    for (size_t i = 0; i < sizeof hrows / sizeof hrows[0]; i++) {
        len = build(img, &h, r);
        if (hrows[i].cut == 1)
            len -= 1;
        else if (hrows[i].cut == 2)
            len = sizeof(struct statpub_hdr);
        else if (hrows[i].off == HF(publishes))
            memset(img + hrows[i].off, 0, 8);
        else
            memcpy(img + hrows[i].off, &hrows[i].v, 4);
        err = (struct jet_err){0};
        rc = parse(img, len, &sn, &err);
        bool ok = rc == -EPROTO && strstr(err.msg, hrows[i].why) && sn.nconn == 0 && sn.nchan == 0;
        if (!ok)
            fprintf(stderr, "header row '%s': rc %d (%s), nconn %u\n", hrows[i].name, rc, err.msg,
                    sn.nconn);
        CHECK(ok);
    }
    /* no records at all: fine */
    h.nconn = 0;
    h.conn_first = 0;
    h.conn_more = 0;
    len = build(img, &h, r);
    CHECK(parse(img, len, &sn, &err) == 0 && sn.nconn == 0 && sn.conn_bad == 0 && sn.nchan == 1);
    statpub_snap_free(&sn);
    fprintf(stderr, "reader: %zu record rows, %zu header rows\n", sizeof rows / sizeof rows[0],
            sizeof hrows / sizeof hrows[0]);
}

/* ---- 2. the publication ---- */

#define IP_A 0xC6121401u /* 198.18.20.1 */
#define IP_B 0xC6121402u /* 198.18.20.2 */
enum { RBS_CHAN = 7000, TCP_PORT = 7001, A2B = 300000, B2A = 70000 };

static void pump(struct jet_station *a, struct jet_station *b)
{
    jet_station_poll(a);
    jet_station_poll(b);
}

#define PUMP_UNTIL(a, b, cond)                                                                     \
    ({                                                                                             \
        uint64_t until_ = now_ns() + 20000000000ull;                                               \
        while (!(cond) && now_ns() < until_)                                                       \
            pump(a, b);                                                                            \
        (bool)(cond);                                                                              \
    })

static struct jet_station *host(int lan, int st, uint32_t ip)
{
    struct jet_station *s = st_open(lan, st);
    struct jet_ip_cfg c = {.addr = ip, .plen = 24};
    REQUIRE(jet_ip_attach(s, &c) == 0);
    return s;
}

/* Sends n bytes one way while reading them the other: both pumped. */
static bool rbs_move(struct jet_station *a, struct jet_station *b, struct jet_rbs_conn *tx,
                     struct jet_rbs_conn *rx, uint64_t n)
{
    static uint8_t buf[16384];
    memset(buf, 0x5a, sizeof buf);
    uint64_t sent = 0, got = 0, until = now_ns() + 20000000000ull;
    while ((sent < n || got < n) && now_ns() < until) {
        if (sent < n) {
            ssize_t k = jet_rbs_send(tx, buf, n - sent < sizeof buf ? n - sent : sizeof buf, 0);
            if (k > 0)
                sent += (uint64_t)k;
        }
        ssize_t k = jet_rbs_recv(rx, buf, sizeof buf, 0);
        if (k > 0)
            got += (uint64_t)k;
        pump(a, b);
    }
    return sent == n && got == n;
}

static bool tcp_move(struct jet_station *a, struct jet_station *b, struct jet_tcp_conn *tx,
                     struct jet_tcp_conn *rx, uint64_t n)
{
    static uint8_t buf[16384];
    memset(buf, 0xa5, sizeof buf);
    uint64_t sent = 0, got = 0, until = now_ns() + 20000000000ull;
    while ((sent < n || got < n) && now_ns() < until) {
        if (sent < n) {
            ssize_t k = jet_tcp_send(tx, buf, n - sent < sizeof buf ? n - sent : sizeof buf, 0);
            if (k > 0)
                sent += (uint64_t)k;
        }
        ssize_t k = jet_tcp_recv(rx, buf, sizeof buf, 0);
        if (k > 0)
            got += (uint64_t)k;
        pump(a, b);
    }
    return sent == n && got == n;
}

static const struct statpub_conn *find(const struct statpub_snap *sn, uint8_t proto, uint8_t kind)
{
    for (uint32_t k = 0; k < sn->nconn; k++)
        if (sn->conn[k].proto == proto && sn->conn[k].kind == kind)
            return &sn->conn[k];
    return NULL;
}

/* Whether record c of a connection shows n bytes sent and m received, all
 * acknowledged, in state ESTABLISHED. */
static bool conn_ok(const struct statpub_conn *c, uint64_t n, uint64_t m)
{
    if (!c)
        return false;
    bool ok = !strcmp(c->state, "ESTABLISHED") && c->srtt_ns > 0 && c->rto_ns > 0 && c->cwnd > 0 &&
              c->mss > 0 && c->cc[0] && c->bytes_sent >= n &&
              c->bytes_sent == n + c->retrans_bytes && c->bytes_acked == n &&
              c->bytes_received == m && c->in_flight == 0 && c->segs_out > 0 && c->segs_in > 0 &&
              c->rcv_wnd > 0 && c->snd_wnd > 0;
    if (!ok)
        fprintf(stderr,
                "record: %s %s srtt %llu cwnd %llu sent %llu (retrans %llu) acked %llu "
                "received %llu in flight %llu segs %llu/%llu; expected %llu sent, %llu received\n",
                c->state, c->cc, (unsigned long long)c->srtt_ns, (unsigned long long)c->cwnd,
                (unsigned long long)c->bytes_sent, (unsigned long long)c->retrans_bytes,
                (unsigned long long)c->bytes_acked, (unsigned long long)c->bytes_received,
                (unsigned long long)c->in_flight, (unsigned long long)c->segs_out,
                (unsigned long long)c->segs_in, (unsigned long long)n, (unsigned long long)m);
    return ok;
}

static void test_publication(void)
{
    int lan = mklan("conn", NULL);
    lan_of_test = lan;
    struct jet_station *a = host(lan, 0, IP_A), *b = host(lan, 1, IP_B);

    /* RBS: listener on b, a connects */
    struct jet_rbs_listener *rl = NULL;
    REQUIRE(jet_rbs_listen(b, RBS_CHAN, NULL, &rl) == 0);
    struct jet_rbs_conn *ra = NULL, *rb = NULL;
    REQUIRE(jet_rbs_connect(a, 1, RBS_CHAN, NULL, &ra, 0) == -EINPROGRESS);
    REQUIRE(PUMP_UNTIL(a, b, rb || jet_rbs_accept(rl, &rb, 0) == 0));
    REQUIRE(PUMP_UNTIL(a, b, jet_rbs_connected(ra) == 1 && jet_rbs_connected(rb) == 1));
    /* TCP: listener on a, b connects */
    struct jet_tcp_listener *tl = NULL;
    REQUIRE(jet_tcp_listen(a, 0, TCP_PORT, NULL, &tl) == 0);
    struct jet_tcp_conn *tb = NULL, *ta = NULL;
    REQUIRE(jet_tcp_connect(b, IP_A, TCP_PORT, NULL, &tb, 0) == -EINPROGRESS);
    REQUIRE(PUMP_UNTIL(a, b, jet_tcp_connected(tb) == 1 && (ta || !jet_tcp_accept(tl, &ta, 0))));

    CHECK(rbs_move(a, b, ra, rb, A2B));
    CHECK(rbs_move(a, b, rb, ra, B2A));
    CHECK(tcp_move(a, b, tb, ta, A2B));
    CHECK(tcp_move(a, b, ta, tb, B2A));
    /* everything acknowledged, then two whole passes on each */
    CHECK(PUMP_UNTIL(a, b,
                     jet_rbs_send_pending(ra) == 0 && jet_rbs_send_pending(rb) == 0 &&
                         jet_tcp_send_pending(ta) == 0 && jet_tcp_send_pending(tb) == 0));
    uint64_t pa = work(a).passes, pb = work(b).passes;
    REQUIRE(PUMP_UNTIL(a, b, work(a).passes >= pa + 2 && work(b).passes >= pb + 2));

    struct statpub_snap sa = {0}, sb = {0};
    snap_read(0, &sa);
    snap_read(1, &sb);
    /* a: RBS client (sent A2B, received B2A), TCP listener and server (sent B2A) */
    CHECK_EQ(sa.nconn, 3);
    CHECK_EQ(sb.nconn, 3);
    CHECK_EQ(sa.conn_bad + sb.conn_bad + sa.conn_more + sb.conn_more, 0);
    const struct statpub_conn *c;
    c = find(&sa, STATPUB_PROTO_RBS, STATPUB_CONN);
    CHECK(conn_ok(c, A2B, B2A));
    CHECK(c && c->laddr == 0 && c->raddr == 1 && c->lport == c->chan && c->rport != 0);
    uint32_t a_chan = c ? c->chan : 0, b_peer = c ? c->rport : 0;
    c = find(&sb, STATPUB_PROTO_RBS, STATPUB_CONN);
    CHECK(conn_ok(c, B2A, A2B));
    CHECK(c && c->laddr == 1 && c->raddr == 0 && c->chan == b_peer && c->rport == a_chan);
    c = find(&sb, STATPUB_PROTO_RBS, STATPUB_LISTENER);
    CHECK(c && !strcmp(c->state, "LISTEN") && c->chan == RBS_CHAN && c->lport == RBS_CHAN &&
          c->laddr == 1 && c->backlog == 0);
    c = find(&sa, STATPUB_PROTO_TCP, STATPUB_LISTENER);
    CHECK(c && !strcmp(c->state, "LISTEN") && c->lport == TCP_PORT);
    c = find(&sa, STATPUB_PROTO_TCP, STATPUB_CONN);
    CHECK(conn_ok(c, B2A, A2B));
    CHECK(c && c->laddr == IP_A && c->lport == TCP_PORT && c->raddr == IP_B);
    uint32_t eph = c ? c->rport : 0;
    c = find(&sb, STATPUB_PROTO_TCP, STATPUB_CONN);
    CHECK(conn_ok(c, A2B, B2A));
    CHECK(c && c->laddr == IP_B && c->lport == eph && c->raddr == IP_A && c->rport == TCP_PORT &&
          (c->flags & STATPUB_CF_SACK) && c->min_rtt_ns > 0);
    c = find(&sb, STATPUB_PROTO_TCP, STATPUB_CONN);
    if (c)
        fprintf(stderr,
                "tcp on b: %s %s srtt %.1f us rttvar %.1f us cwnd %llu sent %llu received %llu "
                "segs %llu/%llu\n",
                c->state, c->cc, (double)c->srtt_ns / 1e3, (double)c->rttvar_ns / 1e3,
                (unsigned long long)c->cwnd, (unsigned long long)c->bytes_sent,
                (unsigned long long)c->bytes_received, (unsigned long long)c->segs_out,
                (unsigned long long)c->segs_in);

    /* closed and gone: the records go with them */
    jet_rbs_abort(ra);
    jet_rbs_abort(rb);
    jet_rbs_listener_close(rl);
    jet_tcp_listener_close(tl);
    jet_tcp_station_fini(a, 0);
    jet_tcp_station_fini(b, 0);
    jet_rbs_station_fini(a, 0);
    jet_rbs_station_fini(b, 0);
    pa = work(a).passes;
    REQUIRE(PUMP_UNTIL(a, b, work(a).passes >= pa + 2));
    snap_read(0, &sa);
    CHECK_EQ(sa.nconn, 0);
    statpub_snap_free(&sa);
    statpub_snap_free(&sb);
    jet_station_close(a);
    jet_station_close(b);
    rmlan(lan);
}

/* ---- 3. many connections, and churn ---- */

enum { MANY = 300, SLOTS = 1024 };

struct tracked {
    struct jet_rbs_conn *c;
    uint32_t chan;
    uint64_t opened, closed; /* CLOCK_REALTIME; closed 0: open */
};

static uint64_t real_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int by_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

static void test_many(void)
{
    int lan = mklan("many", NULL);
    lan_of_test = lan;
    struct jet_station *a = st_open(lan, 0), *b = st_open(lan, 1);
    struct jet_rbs_opts o = {.rcvbuf = 16384, .sndbuf = 16384};
    struct jet_rbs_listener *l = NULL;
    REQUIRE(jet_rbs_listen(b, RBS_CHAN, &o, &l) == 0);
    static struct tracked t[SLOTS];
    static struct jet_rbs_conn *acc[SLOTS * 2];
    uint32_t nt = 0, nacc = 0;
    for (; nt < MANY; nt++) {
        REQUIRE(jet_rbs_connect(a, 1, RBS_CHAN, &o, &t[nt].c, 0) == -EINPROGRESS);
        struct jet_rbs_stats st;
        jet_rbs_stats(t[nt].c, &st);
        t[nt].chan = st.local_chan;
        t[nt].opened = real_ns();
        for (int k = 0; k < 4; k++) {
            pump(a, b);
            while (nacc < SLOTS * 2 && jet_rbs_accept(l, &acc[nacc], 0) == 0)
                nacc++;
        }
    }
    uint64_t until = now_ns() + 1500000000ull, polls = 0;
    uint32_t reads = 0, max_seen = 0, next_close = 0;
    static uint32_t chans[SLOTS];
    while (now_ns() < until) {
        pump(a, b);
        while (nacc < SLOTS * 2 && jet_rbs_accept(l, &acc[nacc], 0) == 0)
            nacc++;
        if (++polls % 7 == 0 && nt < SLOTS) { /* churn: one closed, one opened */
            jet_rbs_abort(t[next_close].c);
            t[next_close].closed = real_ns();
            t[next_close].c = NULL;
            next_close++;
            REQUIRE(jet_rbs_connect(a, 1, RBS_CHAN, &o, &t[nt].c, 0) == -EINPROGRESS);
            struct jet_rbs_stats st;
            jet_rbs_stats(t[nt].c, &st);
            t[nt].chan = st.local_chan;
            t[nt].opened = real_ns();
            nt++;
        }
        if (polls % 50)
            continue;
        struct statpub_snap sn = {0};
        struct jet_err err = {0};
        if (lan_read(lan, 0, &sn, &err) != 0 || sn.publishes == 0) {
            statpub_snap_free(&sn);
            continue;
        }
        reads++;
        CHECK_EQ(sn.conn_bad + sn.conn_more, 0);
        uint32_t n = 0;
        for (uint32_t k = 0; k < sn.nconn; k++)
            if (sn.conn[k].kind == STATPUB_CONN && n < SLOTS)
                chans[n++] = sn.conn[k].chan;
        if (n > max_seen)
            max_seen = n;
        qsort(chans, n, sizeof chans[0], by_u32);
        bool dup = false;
        for (uint32_t k = 1; k < n; k++)
            dup |= chans[k] == chans[k - 1];
        CHECK(!dup);
        for (uint32_t i = 0; i < nt; i++) { /* open throughout the pass: in it */
            if (t[i].opened >= sn.begin_ns || (t[i].closed && t[i].closed <= sn.publish_ns))
                continue;
            bool in = bsearch(&t[i].chan, chans, n, sizeof chans[0], by_u32) != NULL;
            if (!in)
                fprintf(stderr, "connection %u (chan %u) open throughout the pass, not in it\n",
                        i, t[i].chan);
            CHECK(in);
        }
        statpub_snap_free(&sn);
    }
    struct statpub_work w = work(a);
    fprintf(stderr,
            "many: %u connections opened, %u closed, %u snapshots read (up to %u records), "
            "%llu passes, at most %u entries a poll\n",
            nt, next_close, reads, max_seen, (unsigned long long)w.passes, w.slice_max);
    CHECK(reads >= 3 && max_seen >= MANY - 10);
    CHECK(w.slice_max <= STATPUB_SLICE);
    /* settled: exactly the open ones */
    uint64_t pa = work(a).passes;
    REQUIRE(PUMP_UNTIL(a, b, work(a).passes >= pa + 2));
    struct statpub_snap sn = {0};
    snap_read(0, &sn);
    CHECK_EQ(sn.nconn, nt - next_close);
    statpub_snap_free(&sn);
    for (uint32_t i = next_close; i < nt; i++)
        jet_rbs_abort(t[i].c);
    for (uint32_t i = 0; i < nacc; i++)
        jet_rbs_abort(acc[i]);
    jet_rbs_listener_close(l);
    jet_rbs_station_fini(a, 0);
    jet_rbs_station_fini(b, 0);
    jet_station_close(a);
    jet_station_close(b);
    rmlan(lan);
}

int main(void)
{
    statpub_main_begin();
    alarm(60);
    test_reader();
    test_publication();
    test_many();
    return check_done("test_statpub_conn");
}
