/* libFuzzer target for the TCP core (src/tcp/tcp_core.h) with virtual time.
 *
 * For each input:
 *   1. tcp_rst_reply() on the whole input as a segment (checksum trusted and not):
 *      an answer must parse back as an RST.
 *   2. The input as a program driving one core, the fuzzer playing the peer.  The
 *      first byte picks the configuration (options offered, MSS 88 or 1000, receive
 *      ring, congestion control, no-delay, keepalive, user timeout), the second the
 *      starting state: a fresh passive open from a SYN built from input bytes (its
 *      handshake not completed), a client or a server with the handshake completed
 *      (the server's by tcp_accept_syn or by tcp_accept_cookie with options from the
 *      input), or one of those closing (our FIN out, or the peer's FIN in).  Then ops, one
 *      byte each (low 3 bits: what; the rest: a parameter) and their operands:
 *        0 RAW    len byte, bytes: fed as is (checksum checked, or trusted by turns)
 *        1 CRAFT  flags, seq and ack offsets from the live numbers, window, options
 *                 (timestamps old or new, SACK blocks near the flight, SYN options),
 *                 payload length: a well-formed segment near what the core expects
 *        2 TIME   advance the clock and run due timers
 *        3 SEND   queue application bytes (copy or by reference)
 *        4 RECV   read (copy, or peek and consume)
 *        5 ACK    the peer acknowledges some or all of what we sent, with SACK blocks
 *        6 CTRL   shutdown, abort, no-delay, keepalive, path MTU, ICMP error
 *        7 DATA   in-order (or slightly off) peer data, maybe with a FIN
 *      The live numbers are learned from what the core sends (its sequence numbers
 *      and acknowledgements), offset from the ISNs both sides started with, so deep
 *      paths (recovery, SACK, PAWS, zero window, closing states) are reached.
 *      After every op: the output drained (it must run dry; every segment must parse
 *      with its checksum right, whether from tcp_output, from tcp_output_iov gathered
 *      here, or with TCP_OUT_CSUM_PARTIAL completed as a device would),
 *      tcp_invariant_violation() must be NULL, and tcp_on_timeout reports no positive
 *      value.
 * Also built with fuzz/replay.inc as a plain driver. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jet/inet.h"
#include "jet/tcp.h"
#include "tcp/tcp_core.h"
#include "xport/xp_cc.h"
#include "fuzz.h"

#define LA 0xC6120001u
#define RA 0xC6120002u
enum { LP = 40000, RP = 80, OUTCAP = 1200 };
#define PISN 0x7FFFFFF0u /* the peer's ISNs: near 2^31 */

struct world {
    struct tcp_conn *c;
    struct tcp_cfg k;
    uint64_t now;
    const uint8_t *p, *end;
    uint32_t iss, irs;       /* our ISN (cfg.isn), the peer's */
    uint32_t our_hi;         /* highest sequence number + length we sent, as offset */
    uint32_t peer_acked;     /* the highest our ACKs said (offset from irs) */
    uint32_t peer_nxt;       /* the peer's next sequence offset (what it "sent") */
    uint32_t peer_ts;        /* the peer's timestamp clock */
    uint32_t our_ts;         /* our last TSval */
    bool ts, sack;           /* the peer offered them */
    unsigned feeds, outs;
    uint8_t src[4096], sink[4096];
};

static uint8_t next(struct world *w)
{
    return w->p < w->end ? *w->p++ : 0;
}
static uint16_t next16(struct world *w)
{
    uint16_t v = next(w);
    return (uint16_t)(v << 8 | next(w));
}

static void check(struct world *w)
{
    const char *v = tcp_invariant_violation(w->c);
    if (v) {
        fprintf(stderr, "invariant (%s): %s\n", tcp_state_name(tcp_state(w->c)), v);
        abort();
    }
}

/* One output call, by turns: tcp_output; tcp_output_iov gathered here; the same with
 * TCP_OUT_CSUM_PARTIAL, the checksum then completed as a device would (the field holds
 * the folded pseudo-header sum; the sum over the whole segment, complemented); and
 * tcp_output_iov with one iovec and a small payload limit.  Returns the length. */
static int output(struct world *w, uint8_t *b, size_t cap)
{
    unsigned how = w->outs++ % 4;
    if (how == 0)
        return tcp_output(w->c, w->now, b, cap);
    struct iovec iov[TCP_IOV_MAX];
    int niov = 0;
    size_t maxp = how == 3 ? 1 + w->outs % 300 : cap - TCP_OUT_HDR_MAX;
    int n = tcp_output_iov(w->c, w->now, b, TCP_OUT_HDR_MAX, maxp, iov,
                           how == 3 ? 1 : TCP_IOV_MAX, &niov,
                           how == 2 ? TCP_OUT_CSUM_PARTIAL : 0);
    if (n <= 0)
        return n;
    MUST(niov >= 0 && niov <= (how == 3 ? 1 : TCP_IOV_MAX));
    size_t dlen = 0;
    for (int i = 0; i < niov; i++)
        dlen += iov[i].iov_len;
    MUST(dlen <= maxp && dlen <= (size_t)n);
    size_t at = (size_t)n - dlen; /* the header */
    MUST(at >= JET_TCP_HDR_LEN && at <= TCP_OUT_HDR_MAX && (size_t)n <= cap);
    for (int i = 0; i < niov; i++) {
        memcpy(b + at, iov[i].iov_base, iov[i].iov_len);
        at += iov[i].iov_len;
    }
    if (how == 2) {
        uint16_t v = jet_inet_csum(jet_inet_sum(b, (size_t)n, 0));
        b[16] = (uint8_t)(v >> 8);
        b[17] = (uint8_t)v;
    }
    return n;
}

static void drain(struct world *w)
{
    uint8_t b[OUTCAP];
    int n, count = 0;
    while ((n = output(w, b, sizeof b)) > 0) {
        MUST(++count < 10000); /* output must run dry */
        struct jet_tcp_hdr h;
        MUST(jet_tcp_parse(b, (size_t)n, LA, RA, &h, 0) == 0); /* with a right checksum */
        MUST(h.sport == LP && h.dport == RP);
        uint32_t end = h.seq - w->iss + (uint32_t)(n - h.hdr_len) +
                       ((h.flags & JET_TCP_SYN) ? 1u : 0u) + ((h.flags & JET_TCP_FIN) ? 1u : 0u);
        if (!(h.flags & JET_TCP_RST) && (int32_t)(end - w->our_hi) > 0 &&
            (int32_t)(end - w->our_hi) < (1 << 30))
            w->our_hi = end;
        if ((h.flags & JET_TCP_ACK) && !(h.flags & JET_TCP_RST))
            w->peer_acked = h.ack - w->irs;
        if (h.opt.has_ts)
            w->our_ts = h.opt.ts_val;
    }
    MUST(n == 0);
    check(w);
}

static void feed(struct world *w, const uint8_t *seg, size_t len, unsigned flags)
{
    int rc = tcp_input(w->c, seg, len, flags, w->now);
    MUST(rc == 0 || rc == -EIO || rc == -EBADMSG);
    check(w);
}

/* A segment from the peer: header fields and options as given, payload of a pattern. */
static size_t emit(struct world *w, uint8_t *b, size_t cap, struct jet_tcp_hdr *h, size_t plen)
{
    h->sport = RP;
    h->dport = LP;
    int hl = jet_tcp_hdr_len(&h->opt);
    if (hl < 0)
        return 0;
    if (plen > cap - (size_t)hl)
        plen = cap - (size_t)hl;
    for (size_t i = 0; i < plen; i++)
        b[(size_t)hl + i] = (uint8_t)(w->peer_nxt + i);
    int n = jet_tcp_emit(b, cap, h, RA, LA, plen);
    return n > 0 ? (size_t)n : 0;
}

static void ts_opts(struct world *w, struct jet_tcp_hdr *h, uint8_t sel)
{
    if (!w->ts || (sel & 3) == 3)
        return;
    h->opt.has_ts = true;
    w->peer_ts += sel >> 5;
    h->opt.ts_val = (sel & 3) == 2 ? w->peer_ts - 1000 - sel : w->peer_ts; /* 2: old (PAWS) */
    h->opt.ts_ecr = (sel & 4) ? w->our_ts - (sel >> 3) : w->our_ts;
}

static void craft(struct world *w, uint8_t param)
{
    struct jet_tcp_hdr h;
    uint8_t b[OUTCAP + 100];
    memset(&h, 0, sizeof h);
    h.flags = next(w);
    int16_t ds = (int16_t)next16(w), da = (int16_t)next16(w);
    h.seq = w->irs + w->peer_nxt + (uint32_t)(int32_t)ds;
    h.ack = w->iss + w->our_hi + (uint32_t)(int32_t)da;
    if (param & 2)
        h.seq = w->irs + w->peer_nxt;
    if (param & 4)
        h.ack = w->iss + w->our_hi;
    h.win = next16(w);
    uint8_t sel = next(w);
    ts_opts(w, &h, sel);
    if (h.flags & JET_TCP_SYN) {
        h.opt.mss = (uint16_t)(next(w) * 8);
        h.opt.has_wscale = sel & 8;
        h.opt.wscale = (uint8_t)(next(w) % 15);
        h.opt.sack_ok = sel & 16;
    } else if (w->sack) {
        h.opt.nsack = (uint8_t)((sel >> 3) % (h.opt.has_ts ? 4 : 5));
        for (int i = 0; i < h.opt.nsack; i++) {
            uint32_t l = w->iss + w->our_hi - (uint32_t)next16(w);
            h.opt.sack[i].left = l;
            h.opt.sack[i].right = l + 1u + next(w) * 16u;
        }
    }
    size_t n = emit(w, b, sizeof b, &h, (h.flags & JET_TCP_SYN) ? 0 : (size_t)next(w) * 5);
    if (n)
        feed(w, b, n, (w->feeds++ & 1) ? TCP_IN_CSUM_OK : 0);
}

/* The peer acknowledges up to a fraction of what we sent, SACKing above it. */
static void ack_op(struct world *w, uint8_t param)
{
    struct jet_tcp_hdr h;
    uint8_t b[OUTCAP];
    memset(&h, 0, sizeof h);
    uint8_t frac = next(w);
    uint32_t cut = (uint32_t)((uint64_t)w->our_hi * frac / 255);
    h.flags = JET_TCP_ACK;
    h.seq = w->irs + w->peer_nxt;
    h.ack = w->iss + cut;
    h.win = (param & 8) ? 0 : next16(w);
    ts_opts(w, &h, param & 1 ? 0 : 0x20);
    if (w->sack && cut < w->our_hi) {
        int nb = param & 3;
        if (nb > (h.opt.has_ts ? 3 : 4))
            nb = 3;
        uint32_t span = w->our_hi - cut;
        for (int i = 0; i < nb; i++) {
            uint32_t a = cut + 1 + (uint32_t)((uint64_t)span * next(w) / 256);
            uint32_t e = a + 1 + (uint32_t)((uint64_t)span * next(w) / 512);
            if (e > w->our_hi)
                e = w->our_hi;
            if (a >= e)
                continue;
            h.opt.sack[h.opt.nsack].left = w->iss + a;
            h.opt.sack[h.opt.nsack].right = w->iss + e;
            h.opt.nsack++;
        }
    }
    size_t n = emit(w, b, sizeof b, &h, 0);
    if (n)
        feed(w, b, n, 0);
}

static void data_op(struct world *w, uint8_t param)
{
    struct jet_tcp_hdr h;
    uint8_t b[OUTCAP + 100];
    memset(&h, 0, sizeof h);
    size_t len = (size_t)next(w) * 4;
    h.flags = JET_TCP_ACK | ((param & 1) ? JET_TCP_FIN : 0) | ((param & 2) ? JET_TCP_PSH : 0);
    uint32_t off = w->peer_nxt;
    if (param & 4) /* out of order, or a duplicate */
        off += (uint32_t)(int32_t)(int8_t)next(w) * 64;
    h.seq = w->irs + off;
    h.ack = w->iss + w->our_hi;
    h.win = (uint16_t)(2000 + next(w) * 100);
    ts_opts(w, &h, 0x20);
    size_t n = emit(w, b, sizeof b, &h, len);
    if (!n)
        return;
    feed(w, b, n, 0);
    if (!(param & 4) || off == w->peer_nxt)
        w->peer_nxt += (uint32_t)(n - jet_tcp_hdr_len(&h.opt)) + ((param & 1) ? 1u : 0u);
}

static int sink_fn(void *arg, uint64_t off, const uint8_t *p, size_t len)
{
    (void)arg;
    (void)p;
    return (off + len) % 4099 == 17 ? -EIO : 0;
}

/* FUZZ_TCP_STATS=1: what the inputs reached (to judge the seeds and the crafting). */
static uint64_t st_runs, st_state[16], st_acked, st_retx, st_fast, st_sackin, st_paws, st_chal,
    st_ooo, st_tlp, st_probe, st_rto;
static void stats_print(void)
{
    fprintf(stderr, "runs %llu acked %llu retx %llu fast %llu rto %llu tlp %llu sack-in %llu "
                    "paws %llu challenge %llu ooo %llu zwp %llu; final states:",
            (unsigned long long)st_runs, (unsigned long long)st_acked,
            (unsigned long long)st_retx, (unsigned long long)st_fast,
            (unsigned long long)st_rto, (unsigned long long)st_tlp,
            (unsigned long long)st_sackin, (unsigned long long)st_paws,
            (unsigned long long)st_chal, (unsigned long long)st_ooo,
            (unsigned long long)st_probe);
    for (int i = 0; i < 16; i++)
        if (st_state[i])
            fprintf(stderr, " %s %llu", tcp_state_name((enum tcp_state)i),
                    (unsigned long long)st_state[i]);
    fprintf(stderr, "\n");
}
static void stats_note(const struct tcp_conn *c)
{
    static int on = -1;
    if (on < 0) {
        const char *e = getenv("FUZZ_TCP_STATS");
        on = e && *e == '1';
        if (on)
            atexit(stats_print);
    }
    if (!on)
        return;
    struct jet_tcp_info i;
    memset(&i, 0, sizeof i);
    tcp_get_info(c, &i);
    st_runs++;
    st_state[tcp_state(c) & 15]++;
    st_acked += i.bytes_acked > 0;
    st_retx += i.retransmits > 0;
    st_fast += i.fast_retransmits > 0;
    st_rto += i.timeouts > 0;
    st_tlp += i.tlp_probes > 0;
    st_sackin += i.sack_blocks_in > 0;
    st_paws += i.paws_drops > 0;
    st_chal += i.challenge_acks > 0;
    st_ooo += i.ooo_segs > 0;
    st_probe += i.zero_wnd_probes > 0;
}

static void run_program(const uint8_t *d, size_t n)
{
    static struct world w;
    memset(&w, 0, sizeof w);
    w.p = d;
    w.end = d + n;
    w.now = 1000000000ull;
    for (size_t i = 0; i < sizeof w.src; i++)
        w.src[i] = (uint8_t)(i * 13 + 1);
    uint8_t b0 = next(&w), b1 = next(&w);
    struct tcp_cfg *k = &w.k;
    k->t = (struct tcp_tuple){.laddr = LA, .raddr = RA, .lport = LP, .rport = RP};
    k->mss = (b0 & 1) ? TCP_MSS_MIN : 1000;
    k->rcvbuf_bytes = (b0 & 2) ? 4096 : 65536;
    k->rcvbuf_init = (b0 & 4) ? 0 : k->rcvbuf_bytes;
    k->sndbuf_bytes = 16384;
    k->max_refs = 4;
    k->rto_min_ns = 1000000;
    k->rto_max_ns = 64000000;
    k->rto_init_ns = 10000000;
    k->ack_delay_ns = 200000;
    k->max_retries = 6;
    k->syn_retries = 3;
    k->time_wait_ns = 20000000;
    k->no_sack = b0 & 8;
    k->no_ts = b0 & 16;
    k->no_wscale = b0 & 32;
    k->nodelay = b0 & 64;
    k->cc = (b0 & 128) ? &xp_cc_newreno : NULL;
    if (b1 & 8) {
        k->keepalive_ns = 30000000;
        k->keepalive_intvl_ns = 3000000;
        k->keepalive_probes = 3;
    }
    if (b1 & 16)
        k->user_timeout_ns = 40000000;
    k->isn = 0xFFFFF000u + next(&w);
    k->ts_offset = (uint32_t)next(&w) << 24;
    w.iss = k->isn;
    w.irs = PISN + next(&w);
    uint8_t b2 = next(&w); /* bit 0: a passive open completes as a SYN cookie's */
    w.peer_ts = 100;
    w.ts = !(b1 & 32);
    w.sack = !(b1 & 64);
    if (tcp_create(k, &w.c))
        abort();
    if (b1 & 128) {
        if (tcp_recv_sink(w.c, sink_fn, NULL, 8192) != 0)
            tcp_recv_sink(w.c, sink_fn, NULL, 4096);
    }
    /* the peer's SYN (passive) or SYN-ACK (active), options from the input */
    struct jet_tcp_hdr h;
    uint8_t b[OUTCAP];
    memset(&h, 0, sizeof h);
    h.seq = w.irs;
    h.win = (uint16_t)(1000 + next16(&w));
    h.opt.mss = (uint16_t)(next(&w) * 8);
    h.opt.has_wscale = next(&w) & 1;
    h.opt.wscale = (uint8_t)(next(&w) % 15);
    h.opt.sack_ok = w.sack;
    if (w.ts) {
        h.opt.has_ts = true;
        h.opt.ts_val = w.peer_ts;
    }
    int start = b1 & 7;
    if (start & 1) { /* active */
        MUST(tcp_connect(w.c, w.now) == 0);
        drain(&w);
        h.flags = JET_TCP_SYN | JET_TCP_ACK;
        h.ack = w.iss + 1;
        h.opt.ts_ecr = w.our_ts;
        w.now += 100000;
        size_t m = emit(&w, b, sizeof b, &h, 0);
        feed(&w, b, m, 0);
        w.peer_nxt = 1;
    } else if (start == 2 && (b2 & 1)) {
        /* the listener checked the cookie of this ACK (tcp_cookie_check gave o) */
        struct tcp_cookie_opts o = {.mss = tcp_cookie_mss_table[(b2 >> 1) & 7],
                                    .has_ts = w.ts};
        o.sack_ok = w.ts && w.sack;
        o.has_wscale = w.ts && (b2 & 16);
        o.wscale = (uint8_t)((b2 >> 5) * 2);
        memset(&h, 0, sizeof h);
        h.flags = JET_TCP_ACK;
        h.seq = w.irs + 1;
        h.ack = w.iss + 1;
        h.win = 4000;
        ts_opts(&w, &h, 0x20);
        w.peer_nxt = 1;
        size_t dl = (b2 & 2) ? 100 : 0; /* with the first data */
        size_t m = emit(&w, b, sizeof b, &h, dl);
        int rc = tcp_accept_cookie(w.c, b, m, 0, &o, w.now);
        MUST(rc == 0);
        w.peer_nxt += (uint32_t)dl;
    } else {
        h.flags = JET_TCP_SYN;
        size_t m = emit(&w, b, sizeof b, &h, 0);
        int rc = tcp_accept_syn(w.c, b, m, 0, w.now);
        MUST(rc == 0);
        w.peer_nxt = 1;
        drain(&w);
        if (start != 0) { /* the handshake's ACK */
            memset(&h, 0, sizeof h);
            h.flags = JET_TCP_ACK;
            h.seq = w.irs + 1;
            h.ack = w.iss + 1;
            h.win = 4000;
            ts_opts(&w, &h, 0x20);
            w.now += 100000;
            m = emit(&w, b, sizeof b, &h, 0);
            feed(&w, b, m, 0);
        }
    }
    drain(&w);
    if (start >= 4) { /* closing: our FIN, or the peer's */
        if (start & 2)
            tcp_shutdown(w.c, w.now);
        else
            data_op(&w, 1);
        drain(&w);
    }
    static uint8_t ring[1000 + 255 * 16];
    int steps = 0;
    while (w.p < w.end && steps++ < 1000) {
        uint8_t op = next(&w), param = op >> 3;
        switch (op & 7) {
        case 0: {
            size_t len = next(&w);
            if (len > (size_t)(w.end - w.p))
                len = (size_t)(w.end - w.p);
            feed(&w, w.p, len, (w.feeds++ & 1) ? TCP_IN_CSUM_OK : 0);
            w.p += len;
            break;
        }
        case 1:
            craft(&w, param);
            break;
        case 2: {
            w.now += (uint64_t)(next(&w) + 1) << (param & 15) << 8;
            uint64_t t = tcp_next_timeout(w.c);
            if (t <= w.now) {
                int rc = tcp_on_timeout(w.c, w.now);
                MUST(rc <= 0);
            }
            break;
        }
        case 3: {
            size_t len = (size_t)next(&w) * 16;
            if (param & 1) {
                int rc = tcp_send_ref(w.c, w.src, len, (uint64_t)steps);
                MUST(rc <= 0);
            } else {
                ssize_t rc = tcp_send(w.c, w.src, len);
                MUST(rc <= (ssize_t)len);
            }
            uint64_t ck[4];
            MUST(tcp_completed(w.c, ck, 4) <= 4);
            break;
        }
        case 4: {
            size_t ready = tcp_recv_ready(w.c);
            if (param & 1) {
                const uint8_t *q;
                size_t m = tcp_recv_peek(w.c, &q);
                MUST(m <= ready || ready == 0);
                if (m)
                    MUST(tcp_recv_consume(w.c, m > 100 ? m / 2 : m) == 0);
            } else if (param & 2) {
                tcp_recv_register(w.c, ring, 1000 + (size_t)next(&w) * 16);
            } else {
                ssize_t rc = tcp_recv(w.c, w.sink, (size_t)next(&w) * 16);
                MUST(rc <= (ssize_t)ready || rc < 0 || ready == 0);
            }
            (void)tcp_recv_eof(w.c);
            break;
        }
        case 5:
            ack_op(&w, param);
            break;
        case 6:
            switch (param & 7) {
            case 0: tcp_shutdown(w.c, w.now); break;
            case 1: if (param & 8) tcp_abort(w.c, w.now); break;
            case 2: tcp_set_nodelay(w.c, param & 8); break;
            case 3: tcp_set_keepalive(w.c, (uint64_t)(next(&w) + 1) * 100000, 50000, 2); break;
            case 4: tcp_pmtu(w.c, 68u + next(&w) * 8u, w.now); break;
            case 5: tcp_icmp_error(w.c, (param & 8) ? -ECONNREFUSED : -EHOSTUNREACH, w.now); break;
            default: {
                struct jet_tcp_info i;
                tcp_get_info(w.c, &i);
                MUST(i.state != NULL);
            }
            }
            break;
        case 7:
            data_op(&w, param);
            break;
        }
        check(&w);
        drain(&w);
    }
    stats_note(w.c);
    tcp_destroy(w.c);
}

static void check_rst_reply(const uint8_t *d, size_t n)
{
    struct tcp_tuple t = {.laddr = LA, .raddr = RA, .lport = LP, .rport = RP};
    uint8_t b[JET_TCP_HDR_MAX];
    for (unsigned fl = 0; fl < 2; fl++) {
        int r = tcp_rst_reply(&t, d, n, fl ? TCP_IN_CSUM_OK : 0, b, sizeof b);
        MUST(r == 0 || r == -EBADMSG || (r >= JET_TCP_HDR_LEN && r <= (int)sizeof b));
        if (r > 0) {
            struct jet_tcp_hdr h;
            MUST(jet_tcp_parse(b, (size_t)r, LA, RA, &h, 0) == 0);
            MUST(h.flags & JET_TCP_RST);
            MUST(h.sport == LP && h.dport == RP);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_rst_reply(data, size);
    run_program(data, size);
    return 0;
}

/* Seeds: programs that open each way, move data both ways with loss and SACK, time
 * out, and close. */
size_t jet_fuzz_seed(unsigned i, uint8_t *buf, size_t cap)
{
    static const uint8_t s0[] = {/* client, data both ways, acks, close */
                                 0x00, 0x01, 0x10, 0x00, 0x05, 0x00, 0x00, 0xb4, 0x01, 0x07,
                                 0x03, 100, 0x05 | 0xff, 0x05, 0x7f, 0x10, 0x00, 0x07, 50,
                                 10, 0x04, 40, 0x05, 0xff, 0x10, 0x00, 0x02, 20, 0x06,
                                 0x05, 0xff, 0x10, 0x00, 0x0f, 0, 20, 0x02, 200, 0x02, 200};
    static const uint8_t s1[] = {/* server, SACKed flight, timeouts */
                                 0x00, 0x02, 0x22, 0x00, 0x07, 0x00, 0x00, 0x04, 0x00, 0x7d, 0x01,
                                 0x03, 0x03, 200, 0x03, 200, 0x03, 200, 0x1b, 0x40, 0x10,
                                 0x00, 0x80, 0xc0, 0x20, 0x30, 0x1b, 0x40, 0x10, 0x00, 0x90,
                                 0xc0, 0x30, 0x30, 0x12, 50, 0x22, 30, 0x32, 200, 0x05,
                                 0xff, 0x10, 0x00};
    static const uint8_t s2[] = {/* closing, crafted RST / SYN / old timestamps */
                                 0x08, 0x06, 0x40, 0x00, 0x01, 0x00, 0x10, 0x00, 0x05, 0x00, 0x01,
                                 0x11, JET_TCP_RST, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x02,
                                 0x01, JET_TCP_SYN, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00,
                                 0x80, 0x07, 0x11, JET_TCP_ACK, 0x00, 0x00, 0x00, 0x00, 0x10,
                                 0x00, 0x02, 0x20, 0x07, 0x07, 0x20, 0x02, 0xff, 0x42, 0xff};
    static const uint8_t s3[] = {/* small MSS, zero window, keepalive, sink */
                                 0x01, 0x89, 0x00, 0x00, 0x03, 0x00, 0x00, 0x10, 0x01, 0x02,
                                 0x03, 0xff, 0x45, 0x80, 0x02, 0x80, 0x02, 0xff, 0x02, 0xff,
                                 0x05, 0xff, 0x10, 0x00, 0x07, 200, 0x27, 0x10, 0x20, 0x4a,
                                 0xff, 0x02, 0xff, 0x32, 0xff};
    static const uint8_t s4[] = {/* server from a SYN cookie with data, both ways, close */
                                 0x00, 0x02, 0x10, 0x00, 0x07, 0x13, 0x00, 0x04, 0xb4, 0x01,
                                 0x07, 0x03, 100, 0x05, 0xff, 0x10, 0x00, 0x07, 50, 0x04,
                                 40, 0x2a, 0x05, 0xff, 0x10, 0x00, 0x0f, 0, 0x06, 0x02, 200};
    const uint8_t *s[] = {s0, s1, s2, s3, s4};
    const size_t len[] = {sizeof s0, sizeof s1, sizeof s2, sizeof s3, sizeof s4};
    if (i >= 5 || cap < len[i])
        return 0;
    memcpy(buf, s[i], len[i]);
    return len[i];
}
