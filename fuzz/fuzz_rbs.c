/* libFuzzer target for RBS (src/rbs): the header parser and the protocol core.
 *
 * For each input:
 *   1. rbs_hdr_parse() on the whole input; if it parses, re-emit the decoded header and
 *      require it to parse back to the same fields.
 *   2. The input as a program driving two endpoints A (active) and B (passive) joined
 *      by a lossy in-memory link, with a virtual clock.  Each op is one byte (low 3
 *      bits: what; the rest: a parameter) followed by its operands:
 *        0 RAW    len byte, bytes: fed to A or B as a segment as is
 *        1 CRAFT  flags, seq delta, ack delta, window, SACK deltas, payload length:
 *                 a well-formed segment near the target's current sequence numbers,
 *                 so the state machine (not only the parser) sees hostile input
 *        2 TIME   advance the clock and run due timers
 *        3 SEND   queue application bytes (copy or by reference)
 *        4 RECV   read application bytes
 *        5 PUMP   move segments between A and B, dropping some
 *        6 CLOSE  shutdown or abort one side
 *        7 REG    register an application receive ring (when allowed)
 *      The first byte also picks the MSS: 512, or 64 so that more than 32 out-of-order
 *      and SACKed ranges fit the window (the engine's range sets grow past 32).
 *      After every op both endpoints' invariants are checked (abort on violation),
 *      output must stop within a bound (no loop), and the clock only moves forward.
 * Also built with fuzz/replay.inc as a plain driver. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jet/crc32c.h"
#include "rbs/rbs_core.h"
#include "rbs/rbs_impl.h"
#include "rbs/rbs_wire.h"
#include "fuzz.h"

enum { SEG = 512 + RBS_HDR_MAX, QMAX = 64 };

static void check_parse(const uint8_t *d, size_t n)
{
    struct rbs_hdr h, p;
    uint8_t b[RBS_HDR_MAX];
    int hl = rbs_hdr_parse(d, n, &h);
    if (hl < 0) {
        MUST(rbs_bad_reason(hl) < RBS_BAD_MAX);
        return;
    }
    MUST(hl >= RBS_HDR_LEN && hl <= RBS_HDR_MAX && (size_t)hl <= n && hl == h.hdr_len);
    int m = rbs_hdr_emit(b, sizeof b, &h);
    MUST(m > 0 && (size_t)m == rbs_hdr_size(&h));
    MUST(rbs_hdr_parse(b, (size_t)m, &p) == m);
    MUST(p.flags == h.flags && p.seq == h.seq && p.ack == h.ack && p.wnd == h.wnd &&
         p.tsval == h.tsval && p.tsecr == h.tsecr && p.opts == h.opts && p.nsack == h.nsack);
    MUST(memcmp(p.sack, h.sack, sizeof h.sack[0] * h.nsack) == 0);
    if (h.opts)
        MUST(p.mss == h.mss && p.wscale == h.wscale && p.chan == h.chan);
}

struct q {
    uint8_t seg[QMAX][SEG];
    uint16_t len[QMAX];
    int n;
};

struct world {
    struct rbs_conn *ep[2];
    struct q q[2]; /* q[k]: segments sent by ep[k], not yet delivered */
    uint64_t now;
    const uint8_t *p, *end;
    uint8_t src[4096], sink[4096];
    unsigned feeds; /* segments fed so far: picks the input path, see feed() */
};

static uint8_t next(struct world *w)
{
    return w->p < w->end ? *w->p++ : 0;
}

static void check(struct world *w)
{
    for (int k = 0; k < 2; k++) {
        const char *v = rbs_invariant_violation(w->ep[k]);
        if (v) {
            fprintf(stderr, "endpoint %c (%s): %s\n", "AB"[k], rbs_state_name(rbs_state(w->ep[k])), v);
            abort();
        }
    }
}

static void drain(struct world *w, int k)
{
    uint8_t b[SEG];
    int n, count = 0;
    while ((n = rbs_output(w->ep[k], w->now, b, sizeof b)) > 0) {
        MUST(++count < 10000); /* output must run dry */
        MUST(rbs_hdr_parse(b, (size_t)n, &(struct rbs_hdr){0}) > 0); /* we emit valid segments */
        struct q *q = &w->q[k];
        if (q->n < QMAX) {
            memcpy(q->seg[q->n], b, (size_t)n);
            q->len[q->n++] = (uint16_t)n;
        }
    }
    MUST(n == 0);
}

/* Segments go in by turns through rbs_input(), through rbs_input_crc() with the
 * right CRC, and through rbs_input_crc() with a wrong one, which must be refused
 * with -EIO (or as malformed) and leave both endpoints' invariants intact. */
static void feed(struct world *w, int k, const uint8_t *seg, size_t len)
{
    unsigned path = w->feeds++ % 3;
    int rc;
    if (path == 0) {
        rc = rbs_input(w->ep[k], seg, len, w->now);
    } else {
        uint32_t crc = jet_crc32c(0, seg, len) ^ (path == 2 ? 0x1u : 0);
        uint64_t bad0 = w->ep[k]->st.crc_bad;
        rc = rbs_input_crc(w->ep[k], seg, len, crc, w->now);
        if (path == 2)
            MUST(rc == -EIO ? w->ep[k]->st.crc_bad == bad0 + 1 : rc < 0);
        else
            MUST(rc != -EIO);
    }
    MUST(rc == 0 || rc == -EIO || rbs_bad_reason(rc) < RBS_BAD_MAX);
}

static void craft(struct world *w, int k, uint8_t param)
{
    struct rbs_conn *c = w->ep[k];
    struct rbs_hdr h;
    uint8_t b[SEG];
    memset(&h, 0, sizeof h);
    h.flags = next(w) & RBS_FLAGS_KNOWN;
    int16_t ds = (int16_t)(next(w) << 8 | next(w));
    int16_t da = (int16_t)(next(w) << 8 | next(w));
    h.seq = c->irs + (uint32_t)c->rcv.nxt + (uint32_t)(int32_t)ds;
    h.ack = c->iss + (uint32_t)c->snd.una + (uint32_t)(int32_t)da;
    if (param & 8)
        h.seq = c->irs + (uint32_t)c->rcv.nxt; /* exact */
    if (param & 16)
        h.ack = c->iss + (uint32_t)c->snd.nxt;
    h.wnd = (uint16_t)(next(w) << 8 | next(w));
    h.tsval = (uint32_t)(w->now / 1000) - next(w);
    h.tsecr = (uint32_t)(w->now / 1000) - next(w) * 10u;
    if (h.flags & RBS_SYN) {
        h.opts = RBS_HAS_MSS | RBS_HAS_WSCALE | RBS_HAS_CHAN;
        h.mss = RBS_MSS_MIN + next(w) * 4u;
        h.wscale = next(w) % (RBS_WSCALE_MAX + 1);
        h.chan = 1u + next(w);
    } else if ((h.flags & RBS_ACK) && !(h.flags & RBS_RST)) {
        h.nsack = next(w) % (RBS_MAX_SACK + 1);
        for (int i = 0; i < h.nsack; i++) {
            int16_t s = (int16_t)(next(w) << 8 | next(w));
            h.sack[i].start = c->iss + (uint32_t)c->snd.una + (uint32_t)(int32_t)s;
            h.sack[i].end = h.sack[i].start + 1u + next(w) * 8u;
        }
    }
    int hl = rbs_hdr_emit(b, sizeof b, &h);
    if (hl < 0)
        return;
    size_t plen = (h.flags & (RBS_SYN | RBS_RST)) ? 0 : next(w) * 2u;
    if (plen > sizeof b - (size_t)hl)
        plen = sizeof b - (size_t)hl;
    for (size_t i = 0; i < plen; i++)
        b[hl + (int)i] = (uint8_t)(i * 7);
    feed(w, k, b, (size_t)hl + plen);
}

static void run_program(const uint8_t *d, size_t n)
{
    static struct world w;
    struct rbs_cfg cfg = {.mss = 512, .rcvbuf_bytes = 4096, .sndbuf_bytes = 4096, .max_refs = 4,
                          .rto_min_ns = 1000000, .rto_max_ns = 64000000,
                          .rto_init_ns = 10000000, .ack_delay_ns = 100000,
                          .keepalive_ns = 50000000, .keepalive_intvl_ns = 5000000,
                          .max_retries = 6, .time_wait_ns = 20000000};
    memset(w.q, 0, sizeof w.q);
    w.p = d;
    w.end = d + n;
    w.now = 1000000000ull;
    for (size_t i = 0; i < sizeof w.src; i++)
        w.src[i] = (uint8_t)(i * 13 + 1);
    uint8_t b0 = next(&w);
    cfg.isn = 0xFFFFF000u + b0;
    if (b0 & 0x80) /* the smallest MSS: the range tables' bounds (window / MSS) pass 32 */
        cfg.mss = RBS_MSS_MIN;
    cfg.local_chan = 1;
    if (rbs_create(&cfg, &w.ep[0]))
        abort();
    cfg.isn = (uint32_t)next(&w) << 24;
    cfg.local_chan = 2;
    if (rbs_create(&cfg, &w.ep[1]))
        abort();
    MUST(rbs_connect(w.ep[0], w.now) == 0);
    drain(&w, 0);
    MUST(w.q[0].n == 1);
    uint8_t mode = next(&w);
    if (mode & 1) { /* B accepts the SYN (else B stays fresh: CLOSED) */
        MUST(rbs_listen_accept(w.ep[1], w.q[0].seg[0], w.q[0].len[0], w.now) == 0);
        w.q[0].n = 0;
    }
    static uint8_t ring[2][3000];
    int steps = 0;
    while (w.p < w.end && steps++ < 2000) {
        uint8_t op = next(&w), k = (op >> 3) & 1, param = op >> 4;
        uint64_t before = w.now;
        switch (op & 7) {
        case 0: {
            size_t len = next(&w);
            if (len > (size_t)(w.end - w.p))
                len = (size_t)(w.end - w.p);
            check_parse(w.p, len);
            feed(&w, k, w.p, len);
            w.p += len;
            break;
        }
        case 1:
            craft(&w, k, (uint8_t)(op >> 3));
            break;
        case 2:
            w.now += (uint64_t)(next(&w) + 1) << (param & 15) << 10;
            for (int i = 0; i < 2; i++) {
                uint64_t t = rbs_next_timeout(w.ep[i]);
                MUST(t == UINT64_MAX || t > before - 1 || rbs_state(w.ep[i]) != RBS_CLOSED);
                if (t <= w.now)
                    rbs_on_timeout(w.ep[i], w.now);
            }
            break;
        case 3: {
            size_t len = (size_t)next(&w) * 16;
            if (param & 1) {
                int rc = rbs_send_ref(w.ep[k], w.src, len, steps);
                MUST(rc == 0 || rc < 0);
            } else {
                ssize_t rc = rbs_send(w.ep[k], w.src, len);
                MUST(rc <= (ssize_t)len);
            }
            uint64_t ck[4];
            MUST(rbs_completed(w.ep[k], ck, 4) <= 4);
            break;
        }
        case 4: {
            size_t ready = rbs_recv_ready(w.ep[k]);
            ssize_t rc = rbs_recv(w.ep[k], w.sink, (size_t)next(&w) * 16);
            MUST(rc <= (ssize_t)ready || rc < 0);
            break;
        }
        case 5:
            for (int i = 0; i < 2; i++) {
                drain(&w, i);
                struct q *q = &w.q[i];
                uint8_t lossmask = next(&w);
                for (int j = 0; j < q->n; j++)
                    if (!(lossmask >> (j & 7) & 1))
                        feed(&w, 1 - i, q->seg[j], q->len[j]);
                q->n = 0;
            }
            break;
        case 6:
            if (param & 1)
                rbs_abort(w.ep[k], w.now);
            else
                rbs_shutdown(w.ep[k], w.now);
            break;
        case 7:
            rbs_recv_register(w.ep[k], ring[k], 1000 + param * 100u);
            break;
        }
        check(&w);
        for (int i = 0; i < 2; i++)
            drain(&w, i);
        check(&w);
    }
    rbs_destroy(w.ep[0]);
    rbs_destroy(w.ep[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_parse(data, size);
    run_program(data, size);
    return 0;
}

/* Seeds: valid headers, then programs that open, move data both ways with loss,
 * and close. */
size_t jet_fuzz_seed(unsigned i, uint8_t *buf, size_t cap)
{
    struct rbs_hdr h;
    memset(&h, 0, sizeof h);
    if (cap < 256)
        return 0;
    switch (i) {
    case 0:
        h.flags = RBS_SYN;
        h.opts = RBS_HAS_MSS | RBS_HAS_WSCALE | RBS_HAS_CHAN;
        h.mss = 1400;
        h.wscale = 3;
        h.chan = 5;
        return (size_t)rbs_hdr_emit(buf, cap, &h);
    case 1:
        h.flags = RBS_ACK;
        h.seq = 7;
        h.nsack = 2;
        h.sack[0] = (struct rbs_sack){100, 200};
        h.sack[1] = (struct rbs_sack){300, 400};
        return (size_t)rbs_hdr_emit(buf, cap, &h);
    case 2: { /* open, A sends, pump with no loss, B reads, close both */
        static const uint8_t p[] = {0, 0, 1, 3, 100, 5, 0, 0, 5, 0, 0, 4, 255, 5, 0, 0, 6, 14,
                                    5, 0, 0, 2, 10, 5, 0, 0, 2, 200, 5, 0, 0};
        memcpy(buf, p, sizeof p);
        return sizeof p;
    }
    case 3: { /* both send, some loss, timers */
        static const uint8_t p[] = {3, 9, 1, 5, 0, 0, 3, 60, 0x1b, 60, 5, 0x55, 0xaa, 0x22, 4,
                                    0x18, 1, 5, 0x11, 0, 0x42, 20, 5, 0, 0, 0x42, 50, 5, 0, 0, 4,
                                    100, 0x0c, 100, 6, 0x0e, 5, 0, 0, 0x42, 255};
        memcpy(buf, p, sizeof p);
        return sizeof p;
    }
    case 4: { /* established, then crafted segments at B */
        static const uint8_t p[] = {1, 2, 1, 5, 0, 0, 0x19, RBS_ACK, 0, 5, 0, 0, 0x10, 0, 1,
                                    2,  3, 1, 0, 0, 10, 0x19, RBS_RST, 0, 3, 0, 0, 0, 0, 0, 0,
                                    0x19, RBS_SYN, 0, 0, 0, 0, 1, 0, 0, 0, 50, 3, 2};
        memcpy(buf, p, sizeof p);
        return sizeof p;
    }
    case 5: { /* registered ring, sends by reference, zero window */
        static const uint8_t p[] = {0, 0, 1, 0x2f, 5, 0, 0, 0x13, 200, 0x13, 200, 5, 0, 0, 5, 0,
                                    0, 0x42, 30, 5, 0, 0, 0x0c, 50, 5, 0, 0, 0x42, 60, 5, 0, 0};
        memcpy(buf, p, sizeof p);
        return sizeof p;
    }
    default:
        return 0;
    }
}
