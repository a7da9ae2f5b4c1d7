/* Scripted segment tests of the TCP core (src/tcp/tcp_core.h): the test plays the
 * peer by hand, with virtual time.
 *
 *   inject(c, t, seg)    builds the exact segment seg with jet_tcp_emit (checksum and
 *                        all, from the peer's address to ours) and feeds it at t
 *   EXPECT(c, t, flags, seq, ack, len)
 *                        the endpoint's next segment at t must be exactly this (its
 *                        whole header is left in H, the payload in PL / PL_LEN)
 *   NOTHING(c, t)        the endpoint sends nothing at t
 *   client(k, p) / server(k, p)
 *                        an endpoint whose active / passive open has completed, with
 *                        our cfg k and the peer's SYN options p
 *   tick(c, t)           runs the timers due at t (after checking the next timeout)
 *
 * Every call checks tcp_invariant_violation().  Everything we send is parsed back with
 * jet_tcp_parse with the checksum verified.  The peer's state (its timestamps, window,
 * what it acknowledged) is in the global P, so a script writes only what matters:
 * inject() adds the peer's timestamp option (TSval from its own clock, TSecr echoing
 * our last TSval) whenever timestamps were agreed, unless the segment says otherwise.
 *
 * Our ISN sits just below 2^32 so that every test crosses the sequence wrap. */
#ifndef JET_TEST_TCP_FIXTURE_H
#define JET_TEST_TCP_FIXTURE_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "jet/inet.h"
#include "jet/tcp.h"
#include "tcp/tcp_core.h"
#include "xport/xp_cc.h"

/* The TCP header options of jet/inet.h. */
typedef struct jet_tcp_hdr_opts wire_opts;

enum {
    ISS = 0xFFFFFF00u, /* our ISN (cfg.isn) */
    IRS = 5000,        /* the peer's ISN */
    MSS = 1000,
    RCVBUF = 200000,   /* window scale 2 is the smallest that covers it */
    PEER_WS = 3,
    TS_OFF = 0x12340000u,
    LPORT = 40000,
    RPORT = 5201,
};
#define LADDR 0xC6120001u /* 198.18.0.1 */
#define RADDR 0xC6120002u /* 198.18.0.2 */
static const uint64_t T0 = 1000000000ull;
static const uint64_t MS = 1000000ull, US = 1000ull, SEC = 1000000000ull;

/* Our timestamp clock: microseconds plus the per-connection offset. */
static inline uint32_t tsv(uint64_t t)
{
    return (uint32_t)(t / 1000) + TS_OFF;
}
/* The peer's: milliseconds from 7000, as Linux's. */
static inline uint32_t ptsv(uint64_t t)
{
    return (uint32_t)(t / 1000000) + 7000;
}

static inline struct tcp_cfg cfg(void)
{
    struct tcp_cfg k;
    memset(&k, 0, sizeof k);
    k.t = (struct tcp_tuple){.laddr = LADDR, .raddr = RADDR, .lport = LPORT, .rport = RPORT};
    k.mss = MSS;
    k.rcvbuf_bytes = RCVBUF;
    k.rcvbuf_init = RCVBUF; /* no auto-tuning: windows are exact */
    k.sndbuf_bytes = 1 << 20;
    k.rto_min_ns = 10 * MS;
    k.rto_max_ns = 1000 * MS;
    k.rto_init_ns = 100 * MS;
    k.ack_delay_ns = 1 * MS;
    k.max_retries = 5;
    k.syn_retries = 5;
    k.time_wait_ns = 50 * MS;
    k.isn = ISS;
    k.ts_offset = TS_OFF;
    return k;
}

/* The peer: what its SYN offers, and what it knows. */
struct peer {
    /* offered in its SYN */
    uint16_t mss;    /* 0: no MSS option */
    int ws;          /* -1: no window scale option */
    bool sack, ts;
    uint16_t syn_wnd;
    /* agreed (set by client() / server()) */
    bool ts_on, sack_on;
    int our_ws;      /* the shift we apply to our advertised window (0 if not agreed) */
    int snd_shift;   /* the shift the peer applies to its window */
    /* running */
    uint32_t last_tsval; /* our last TSval seen */
    uint16_t wnd;        /* the window field in its segments (default for ack_of) */
};
static struct peer P;

static inline struct peer peer_full(void)
{
    return (struct peer){.mss = MSS, .ws = PEER_WS, .sack = true, .ts = true, .syn_wnd = 65535,
                         .wnd = 8000};
}
static inline struct peer peer_bare(void) /* no options at all (536 MSS) */
{
    return (struct peer){.mss = 0, .ws = -1, .syn_wnd = 65535, .wnd = 65535};
}

/* A segment from the peer. */
struct pseg {
    uint8_t flags;
    uint32_t seq, ack;
    uint16_t wnd;
    bool nots;              /* no timestamp option even though agreed */
    bool ts;                /* a timestamp option even though not agreed */
    uint32_t tsval, tsecr;  /* 0: automatic (the peer's clock, our last TSval) */
    int nsack;
    uint32_t sack[4][2];    /* wire numbers [left, right) */
    bool syn_opts;          /* the SYN options of P */
    const void *data;
    size_t len;
    unsigned in_flags;      /* tcp_input flags */
};

static uint8_t segbuf[70000];

static inline size_t build(uint8_t *b, size_t cap, uint64_t t, const struct pseg *s)
{
    struct jet_tcp_hdr h;
    memset(&h, 0, sizeof h);
    h.sport = RPORT;
    h.dport = LPORT;
    h.seq = s->seq;
    h.ack = s->ack;
    h.flags = s->flags;
    h.win = s->wnd;
    if (s->syn_opts) {
        h.opt.mss = P.mss;
        h.opt.has_wscale = P.ws >= 0;
        h.opt.wscale = (uint8_t)(P.ws >= 0 ? P.ws : 0);
        h.opt.sack_ok = P.sack;
    }
    if ((P.ts_on && !s->nots) || s->ts || (s->syn_opts && P.ts)) {
        h.opt.has_ts = true;
        h.opt.ts_val = s->tsval ? s->tsval : ptsv(t);
        h.opt.ts_ecr = s->tsecr ? s->tsecr : ((s->flags & JET_TCP_ACK) ? P.last_tsval : 0);
    }
    h.opt.nsack = (uint8_t)s->nsack;
    for (int i = 0; i < s->nsack; i++) {
        h.opt.sack[i].left = s->sack[i][0];
        h.opt.sack[i].right = s->sack[i][1];
    }
    int hl = jet_tcp_hdr_len(&h.opt);
    REQUIRE(hl >= 20 && (size_t)hl + s->len <= cap);
    if (s->len)
        memcpy(b + hl, s->data, s->len);
    int n = jet_tcp_emit(b, cap, &h, RADDR, LADDR, s->len);
    REQUIRE(n == hl + (int)s->len);
    return (size_t)n;
}

static inline int inject(struct tcp_conn *c, uint64_t t, struct pseg s)
{
    size_t n = build(segbuf, sizeof segbuf, t, &s);
    int rc = tcp_input(c, segbuf, n, s.in_flags, t);
    const char *v = tcp_invariant_violation(c);
    if (v)
        fprintf(stderr, "invariant broken after input at t=%llu: %s\n",
                (unsigned long long)(t - T0), v);
    CHECK(v == NULL);
    return rc;
}

/* What the endpoint sends: 1 and its parsed header in *h (payload in PL), or 0. */
static struct jet_tcp_hdr H;
static uint8_t PL[70000];
static size_t PL_LEN;
static uint8_t outbuf[70000];
static inline int out(struct tcp_conn *c, uint64_t t, struct jet_tcp_hdr *h)
{
    int n = tcp_output(c, t, outbuf, sizeof outbuf);
    const char *v = tcp_invariant_violation(c);
    if (v)
        fprintf(stderr, "invariant broken after output at t=%llu: %s\n",
                (unsigned long long)(t - T0), v);
    CHECK(v == NULL);
    CHECK(n >= 0);
    if (n <= 0)
        return 0;
    int rc = jet_tcp_parse(outbuf, (size_t)n, LADDR, RADDR, h, 0);
    if (rc != 0)
        fprintf(stderr, "we sent a segment that does not parse (%d), %d bytes\n", rc, n);
    REQUIRE(rc == 0);
    CHECK_EQ(h->sport, LPORT);
    CHECK_EQ(h->dport, RPORT);
    PL_LEN = (size_t)n - h->hdr_len;
    memcpy(PL, outbuf + h->hdr_len, PL_LEN);
    if (h->opt.has_ts)
        P.last_tsval = h->opt.ts_val;
    return 1;
}

static inline const char *flag_str(uint8_t f)
{
    static char b[8][32];
    static int k;
    char *s = b[k++ & 7];
    snprintf(s, 32, "%s%s%s%s%s", f & JET_TCP_SYN ? "S" : "", f & JET_TCP_FIN ? "F" : "",
             f & JET_TCP_RST ? "R" : "", f & JET_TCP_PSH ? "P" : "", f & JET_TCP_ACK ? "." : "");
    return s;
}

static inline void show(const char *what, const struct jet_tcp_hdr *h, size_t len)
{
    fprintf(stderr, "  %s: [%s] seq %u ack %u win %u len %zu", what, flag_str(h->flags), h->seq,
            h->ack, h->win, len);
    if (h->opt.has_ts)
        fprintf(stderr, " TS %u/%u", h->opt.ts_val, h->opt.ts_ecr);
    for (int i = 0; i < h->opt.nsack; i++)
        fprintf(stderr, " sack %u-%u", h->opt.sack[i].left, h->opt.sack[i].right);
    fprintf(stderr, "\n");
}

/* The next segment must have these flags (PSH ignored), numbers and payload length. */
static inline bool expect_(struct tcp_conn *c, uint64_t t, uint8_t flags, uint32_t seq,
                           uint32_t ack, size_t len, int line)
{
    check_count++;
    if (!out(c, t, &H)) {
        check_failures++;
        fprintf(stderr, "line %d: at t=%.3f ms expected [%s] seq %u ack %u len %zu, got nothing\n",
                line, (double)(t - T0) / 1e6, flag_str(flags), seq, ack, len);
        memset(&H, 0, sizeof H);
        return false;
    }
    bool ok = (H.flags & ~JET_TCP_PSH) == flags && H.seq == seq && H.ack == ack && PL_LEN == len;
    if (!(flags & JET_TCP_ACK) && (flags & JET_TCP_RST))
        ok = (H.flags & ~JET_TCP_PSH) == flags && H.seq == seq && PL_LEN == len;
    if (!ok) {
        check_failures++;
        fprintf(stderr, "line %d: at t=%.3f ms expected [%s] seq %u ack %u len %zu\n", line,
                (double)(t - T0) / 1e6, flag_str(flags), seq, ack, len);
        show("got", &H, PL_LEN);
    }
    return ok;
}
#define EXPECT(c, t, flags, seq, ack, len) expect_(c, t, flags, seq, ack, len, __LINE__)

static inline bool nothing_(struct tcp_conn *c, uint64_t t, int line)
{
    struct jet_tcp_hdr h;
    check_count++;
    if (out(c, t, &h)) {
        check_failures++;
        fprintf(stderr, "line %d: at t=%.3f ms expected nothing\n", line, (double)(t - T0) / 1e6);
        show("got", &h, PL_LEN);
        return false;
    }
    return true;
}
#define NOTHING(c, t) nothing_(c, t, __LINE__)

/* Drains everything due at t; returns how many segments (the last in H). */
static inline int drain(struct tcp_conn *c, uint64_t t)
{
    int n = 0;
    while (n < 10000 && out(c, t, &H))
        n++;
    CHECK(n < 10000);
    return n;
}

/* Runs the timers at t (which must not be before the next timeout). */
static inline int tick(struct tcp_conn *c, uint64_t t)
{
    int rc = tcp_on_timeout(c, t);
    const char *v = tcp_invariant_violation(c);
    if (v)
        fprintf(stderr, "invariant broken after timeout at t=%llu: %s\n",
                (unsigned long long)(t - T0), v);
    CHECK(v == NULL);
    return rc;
}

static inline struct jet_tcp_info info(const struct tcp_conn *c)
{
    struct jet_tcp_info i;
    memset(&i, 0, sizeof i);
    tcp_get_info(c, &i);
    return i;
}

/* Send data: a byte pattern the receiving side can check. */
static uint8_t data[1 << 20];
static inline void fill_data(void)
{
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 131 + (i >> 8) * 7 + 1);
}

/* The smallest window scale that lets 16 bits cover n bytes (RFC 7323 2.3). */
static inline int ws_for(uint64_t n)
{
    int ws = 0;
    while (ws < 14 && ((uint64_t)0xFFFF << ws) < n)
        ws++;
    return ws;
}

/* What a data segment of ours carries at most: the send MSS less the options every
 * data segment has (timestamps: 12 bytes; RFC 6691). */
static inline size_t payload_max(uint32_t mss)
{
    return mss - (P.ts_on ? 12u : 0u);
}

/* Our SYN or SYN-ACK offers what k says. */
static inline void check_syn_opts(const struct tcp_cfg *k, const struct jet_tcp_hdr *h,
                                  uint64_t t, int line)
{
    int f0 = check_failures;
    CHECK_EQ(h->opt.mss, k->mss ? k->mss : 1460);
    CHECK_EQ(h->opt.sack_ok, !k->no_sack);
    CHECK_EQ(h->opt.has_ts, !k->no_ts);
    if (!k->no_ts)
        CHECK_EQ(h->opt.ts_val, (uint32_t)(t / 1000) + k->ts_offset);
    CHECK_EQ(h->opt.has_wscale, !k->no_wscale);
    uint32_t rb = k->rcvbuf_bytes ? k->rcvbuf_bytes : 4u << 20;
    if (!k->no_wscale)
        CHECK_EQ(h->opt.wscale, ws_for(rb));
    /* the window of a SYN is never scaled (RFC 7323 2.2) */
    uint32_t init = k->rcvbuf_init ? k->rcvbuf_init : (rb < 256u * 1024 ? rb : 256u * 1024);
    CHECK_EQ(h->win, init < 65535 ? init : 65535);
    CHECK_EQ(PL_LEN, 0);
    if (check_failures != f0)
        fprintf(stderr, "  (SYN options checked at line %d)\n", line);
}

static inline void agree(const struct tcp_cfg *k, const struct peer *p)
{
    P = *p;
    P.ts_on = p->ts && !k->no_ts;
    P.sack_on = p->sack && !k->no_sack;
    bool ws = p->ws >= 0 && !k->no_wscale;
    P.our_ws = ws ? ws_for(k->rcvbuf_bytes ? k->rcvbuf_bytes : 4u << 20) : 0;
    P.snd_shift = ws ? p->ws : 0;
}

/* Our window as advertised when free bytes are free (scaled, rounded down). */
static inline uint16_t adv(uint64_t free)
{
    uint64_t w = free >> P.our_ws;
    return (uint16_t)(w > 0xFFFF ? 0xFFFF : w);
}

/* Active open: SYN at T0, the peer's SYN-ACK at T0 + 100 us, our ACK. */
static inline struct tcp_conn *client(struct tcp_cfg k, struct peer p)
{
    struct tcp_conn *c;
    REQUIRE(tcp_create(&k, &c) == 0);
    REQUIRE(tcp_connect(c, T0) == 0);
    CHECK_EQ(tcp_state(c), TCP_SYN_SENT);
    P = p;
    P.ts_on = false;
    if (EXPECT(c, T0, JET_TCP_SYN, k.isn, 0, 0))
        check_syn_opts(&k, &H, T0, __LINE__);
    uint32_t syn_ts = H.opt.ts_val;
    agree(&k, &p);
    uint64_t t = T0 + 100 * US;
    struct pseg sa = {.flags = JET_TCP_SYN | JET_TCP_ACK, .seq = IRS, .ack = k.isn + 1,
                      .wnd = p.syn_wnd, .syn_opts = true, .ts = p.ts, .tsecr = syn_ts};
    if (!P.ts_on)
        sa.tsecr = 0;
    CHECK_EQ(inject(c, t, sa), 0);
    CHECK_EQ(tcp_state(c), TCP_ESTABLISHED);
    if (EXPECT(c, t, JET_TCP_ACK, k.isn + 1, IRS + 1, 0)) {
        CHECK_EQ(H.opt.has_ts, P.ts_on);
        if (P.ts_on) {
            CHECK_EQ(H.opt.ts_val, tsv(t));
            CHECK_EQ(H.opt.ts_ecr, ptsv(t));
        }
        uint32_t rb = k.rcvbuf_bytes ? k.rcvbuf_bytes : 4u << 20;
        uint32_t init = k.rcvbuf_init ? k.rcvbuf_init : (rb < 256u * 1024 ? rb : 256u * 1024);
        CHECK_EQ(H.win, adv(init));
        CHECK_EQ(H.opt.nsack, 0);
    }
    NOTHING(c, t);
    return c;
}

/* Passive open: the peer's SYN at T0, our SYN-ACK, the peer's ACK at T0 + 100 us. */
static inline struct tcp_conn *server(struct tcp_cfg k, struct peer p)
{
    struct tcp_conn *c;
    REQUIRE(tcp_create(&k, &c) == 0);
    P = p;
    P.ts_on = false;
    struct pseg syn = {.flags = JET_TCP_SYN, .seq = IRS, .wnd = p.syn_wnd, .syn_opts = true,
                       .ts = p.ts};
    size_t n = build(segbuf, sizeof segbuf, T0, &syn);
    CHECK_EQ(tcp_accept_syn(c, segbuf, n, 0, T0), 0);
    CHECK_EQ(tcp_state(c), TCP_SYN_RCVD);
    agree(&k, &p);
    if (EXPECT(c, T0, JET_TCP_SYN | JET_TCP_ACK, k.isn, IRS + 1, 0)) {
        CHECK_EQ(H.opt.mss, k.mss ? k.mss : 1460);
        CHECK_EQ(H.opt.sack_ok, P.sack_on);        /* offered only if the peer did */
        CHECK_EQ(H.opt.has_ts, P.ts_on);
        CHECK_EQ(H.opt.has_wscale, p.ws >= 0 && !k.no_wscale);
        if (P.ts_on) {
            CHECK_EQ(H.opt.ts_val, tsv(T0));
            CHECK_EQ(H.opt.ts_ecr, ptsv(T0));
        }
        if (H.opt.has_wscale)
            CHECK_EQ(H.opt.wscale, P.our_ws);
    }
    NOTHING(c, T0);
    uint64_t t = T0 + 100 * US;
    CHECK_EQ(inject(c, t, (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 1, .ack = k.isn + 1,
                                        .wnd = p.wnd}),
             0);
    CHECK_EQ(tcp_state(c), TCP_ESTABLISHED);
    NOTHING(c, t);
    return c;
}

/* The peer's pure ACK of our stream byte n (the SYN is n = 0... the ack is ISS + 1 + n)
 * with its window field P.wnd. */
static inline struct pseg ack_of(uint32_t n)
{
    return (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 1, .ack = ISS + 1 + n, .wnd = P.wnd};
}
/* The peer's data: stream bytes [off, off + len) of its pattern, ACKing our byte n. */
static uint8_t pdata_buf[1 << 16];
static inline struct pseg pdata(uint32_t off, size_t len, uint32_t n)
{
    for (size_t i = 0; i < len && i < sizeof pdata_buf; i++)
        pdata_buf[i] = (uint8_t)((off + i) * 7 + 3);
    return (struct pseg){.flags = JET_TCP_ACK, .seq = IRS + 1 + off, .ack = ISS + 1 + n,
                         .wnd = P.wnd, .data = pdata_buf, .len = len};
}
static inline bool pdata_ok(const uint8_t *b, uint32_t off, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (b[i] != (uint8_t)((off + i) * 7 + 3))
            return false;
    return true;
}
/* A SACK block in our stream offsets. */
#define SACKB(a, b) {ISS + 1 + (a), ISS + 1 + (b)}

#endif
