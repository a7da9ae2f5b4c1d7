/* libFuzzer target for SYN cookies (src/tcp/tcp_cookie.c) and the ISN (tcp_isn.c).
 *
 * The input, read front to back (bytes past the end read as 0):
 *   key 16, tuple 12 (laddr, raddr, lport, rport), their ISN 4, the SYN's options
 *   (MSS 2, window scale 1, flags 1: has_ts, has_wscale, SACK, ECN), our MSS 2, our
 *   timestamp clock 4, the issue time 8, the check time's offset 4 (x 1024 ns, back in
 *   time when the flags' bit 4 is set), then any number of 14-byte segments: mode 1,
 *   sequence 4, acknowledgement 4, TSecr 4, tuple change 1.  Mode bit 0: the fields
 *   replace the honest third segment's (a raw segment) instead of being xored into it;
 *   bit 1: the TSecr option present (raw) or toggled (xor); bit 2: the tuple byte xors
 *   one tuple byte (which: its low 4 bits; by how much: mode's top 4 bits | 1).
 *
 * Held to (abort otherwise):
 *   1. tcp_cookie_make() succeeds unless min(MSS or 536, our MSS) < 88, then -ERANGE;
 *      what it grants is a table MSS not over the asked one, the options only with
 *      timestamps, a TSval with those option bits and never ahead of our clock.
 *   2. The honest third segment is accepted with exactly those options when checked
 *      0 or 1 tick after issue, refused with -ETIMEDOUT 2 to 31 ticks after, and
 *      otherwise (later, or a clock gone back) accepted only under rule 3.
 *   3. Never accept what was not issued: whenever tcp_cookie_check() accepts any
 *      segment, it is exactly the third segment for a cookie tcp_cookie_make() issues
 *      with this key, for this tuple and the SYN sequence number seq - 1, at the tick
 *      the check reports (within TCP_COOKIE_AGES of now), for a SYN with the options
 *      returned: same acknowledgement number and, with timestamps, same TSecr option
 *      bits.  (That a random segment lands on such a cookie has probability 2^-28: the
 *      unit test counts it; here it must simply never be anything else.)
 *   4. tcp_isn() is deterministic and moves by exactly one per 4 us.
 * Also built with fuzz/replay.inc as a plain driver. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "tcp/tcp_cookie.h"
#include "tcp/tcp_isn.h"
#include "fuzz.h"

struct rd {
    const uint8_t *p;
    size_t n, off;
};

static uint64_t take(struct rd *r, int bytes)
{
    uint64_t x = 0;
    for (int i = 0; i < bytes; i++, r->off++)
        x |= (uint64_t)(r->off < r->n ? r->p[r->off] : 0) << (8 * i);
    return x;
}

static bool opts_eq(const struct tcp_cookie_opts *a, const struct tcp_cookie_opts *b)
{
    return a->mss == b->mss && a->has_ts == b->has_ts && a->has_wscale == b->has_wscale &&
           a->wscale == b->wscale && a->sack_ok == b->sack_ok && a->ecn_ok == b->ecn_ok;
}

/* Rule 3 for one accepted segment. */
static void must_be_issued(const struct tcp_key *k, const struct tcp_tuple *t, uint32_t seq,
                           uint32_t ack, const struct jet_tcp_hdr_opts *ao, uint64_t now,
                           const struct tcp_cookie_opts *got, unsigned age)
{
    uint64_t cur = now / TCP_COOKIE_TICK_NS;
    MUST(age < TCP_COOKIE_AGES && age <= cur);
    MUST(got->has_ts == (ao && ao->has_ts));
    struct jet_tcp_hdr_opts syn = {.mss = got->mss,
                               .has_ts = got->has_ts,
                               .has_wscale = got->has_wscale,
                               .wscale = got->wscale,
                               .sack_ok = got->sack_ok};
    struct tcp_cookie c;
    uint32_t ts_now = got->has_ts ? ao->ts_ecr : 0;
    MUST(tcp_cookie_make(k, t, seq - 1, &syn, got->ecn_ok, 0, ts_now,
                         (cur - age) * TCP_COOKIE_TICK_NS, &c) == 0);
    MUST(c.isn == ack - 1);
    MUST(opts_eq(&c.opt, got));
    if (got->has_ts)
        MUST(((c.tsval ^ ao->ts_ecr) & ((1u << TCP_COOKIE_TS_BITS) - 1)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rd r = {data, size, 0};
    uint8_t kb[TCP_KEY_LEN];
    for (int i = 0; i < TCP_KEY_LEN; i++)
        kb[i] = (uint8_t)take(&r, 1);
    struct tcp_key k;
    tcp_key_from_bytes(&k, kb);
    struct tcp_tuple t;
    t.laddr = (uint32_t)take(&r, 4);
    t.raddr = (uint32_t)take(&r, 4);
    t.lport = (uint16_t)take(&r, 2);
    t.rport = (uint16_t)take(&r, 2);
    uint32_t their_isn = (uint32_t)take(&r, 4);
    struct jet_tcp_hdr_opts syn = {0};
    syn.mss = (uint16_t)take(&r, 2);
    syn.wscale = (uint8_t)take(&r, 1);
    unsigned fl = (unsigned)take(&r, 1);
    syn.has_ts = fl & 1;
    syn.has_wscale = fl & 2;
    syn.sack_ok = fl & 4;
    bool ecn = fl & 8;
    uint16_t our_mss = (uint16_t)take(&r, 2);
    uint32_t ts_now = (uint32_t)take(&r, 4);
    syn.ts_val = ts_now ^ 0x5555;
    uint64_t now = take(&r, 8);
    uint64_t dt = take(&r, 4) << 10;
    uint64_t later =
        (fl & 16) ? (now > dt ? now - dt : 0) : (now + dt < now ? UINT64_MAX : now + dt);

    /* 4: the ISN. */
    uint32_t i0 = tcp_isn(&k, &t, now);
    MUST(tcp_isn(&k, &t, now) == i0);
    MUST(tcp_isn(&k, &t, later) - i0 ==
         (uint32_t)(later / TCP_ISN_TICK_NS - now / TCP_ISN_TICK_NS));

    /* 1: make. */
    struct tcp_cookie c;
    memset(&c, 0, sizeof c);
    unsigned want_mss = syn.mss ? syn.mss : 536;
    if (our_mss && our_mss < want_mss)
        want_mss = our_mss;
    int rc = tcp_cookie_make(&k, &t, their_isn, &syn, ecn, our_mss, ts_now, now, &c);
    bool made = rc == 0;
    if (want_mss < TCP_COOKIE_MSS_MIN) {
        MUST(rc == -ERANGE);
    } else {
        MUST(rc == 0);
        MUST(c.opt.mss <= want_mss && c.opt.mss >= TCP_COOKIE_MSS_MIN);
        MUST(c.opt.has_ts == syn.has_ts);
        if (!c.opt.has_ts) {
            MUST(!c.opt.has_wscale && !c.opt.sack_ok && !c.opt.ecn_ok && c.tsval == 0);
        } else {
            MUST(c.opt.has_wscale == syn.has_wscale && c.opt.sack_ok == syn.sack_ok &&
                 c.opt.ecn_ok == ecn && c.opt.wscale <= JET_TCP_WSCALE_MAX);
            MUST((int32_t)(ts_now - c.tsval) >= 0 && ts_now - c.tsval < 64);
        }
    }

    /* 2: the honest third segment. */
    struct jet_tcp_hdr_opts ao = {.has_ts = c.opt.has_ts, .ts_val = 1, .ts_ecr = c.tsval};
    uint32_t hseq = their_isn + 1, hack = c.isn + 1;
    struct tcp_cookie_opts got;
    unsigned age = 0;
    if (made) {
        rc = tcp_cookie_check(&k, &t, hseq, hack, &ao, later, &got, &age);
        uint64_t ci = now / TCP_COOKIE_TICK_NS, cl = later / TCP_COOKIE_TICK_NS;
        if (cl >= ci && cl - ci < TCP_COOKIE_AGES) {
            MUST(rc == 0 && age == cl - ci && opts_eq(&got, &c.opt));
        } else if (cl >= ci && cl - ci < 32) {
            MUST(rc == -ETIMEDOUT);
        } else {
            MUST(rc == 0 || rc == -EINVAL || rc == -ETIMEDOUT);
            if (rc == 0)
                must_be_issued(&k, &t, hseq, hack, &ao, later, &got, age);
        }
    }

    /* 3: segments built from the rest of the input. */
    while (r.off < r.n) {
        unsigned mode = (unsigned)take(&r, 1);
        uint32_t s = (uint32_t)take(&r, 4), a = (uint32_t)take(&r, 4), e = (uint32_t)take(&r, 4);
        unsigned tb = (unsigned)take(&r, 1);
        struct tcp_tuple t2 = t;
        struct jet_tcp_hdr_opts o2 = ao;
        uint32_t seq = hseq ^ s, ack = hack ^ a;
        o2.ts_ecr ^= e;
        if (mode & 1) {
            seq = s;
            ack = a;
            o2.ts_ecr = e;
            o2.has_ts = mode & 2;
        } else if (mode & 2) {
            o2.has_ts = !o2.has_ts;
        }
        if (mode & 4) {
            uint8_t tbytes[12];
            tcp_tuple_put(tbytes, &t2);
            tbytes[(tb & 15) % 12] ^= (uint8_t)((mode >> 4) | 1);
            t2.laddr = (uint32_t)tbytes[0] | (uint32_t)tbytes[1] << 8 | (uint32_t)tbytes[2] << 16 |
                       (uint32_t)tbytes[3] << 24;
            t2.raddr = (uint32_t)tbytes[4] | (uint32_t)tbytes[5] << 8 | (uint32_t)tbytes[6] << 16 |
                       (uint32_t)tbytes[7] << 24;
            t2.lport = (uint16_t)(tbytes[8] | tbytes[9] << 8);
            t2.rport = (uint16_t)(tbytes[10] | tbytes[11] << 8);
        }
        age = 99;
        rc = tcp_cookie_check(&k, &t2, seq, ack, (mode & 8) && !o2.has_ts ? NULL : &o2, later, &got,
                              &age);
        MUST(rc == 0 || rc == -EINVAL || rc == -ETIMEDOUT);
        if (rc == 0)
            must_be_issued(&k, &t2, seq, ack, &o2, later, &got, age);
    }
    return 0;
}

size_t jet_fuzz_seed(unsigned i, uint8_t *buf, size_t cap)
{
    if (i >= 3 || cap < 128)
        return 0;
    uint8_t *p = buf;
    for (int j = 0; j < TCP_KEY_LEN; j++)
        *p++ = (uint8_t)(j * 37 + i);
    static const uint8_t tuple[12] = {1, 0, 18, 198, 2, 0, 18, 198, 80, 0, 0x40, 0x9c};
    memcpy(p, tuple, 12), p += 12;
    uint32_t isn = i == 1 ? 0xFFFFFFFFu : 0x12345678u;
    for (int j = 0; j < 4; j++)
        *p++ = (uint8_t)(isn >> (8 * j));
    *p++ = 0xb4, *p++ = 0x05;                  /* MSS 1460 */
    *p++ = 7;                                  /* window scale */
    *p++ = i == 2 ? 0 : 0x0f;                  /* ts, wscale, sack, ecn (seed 2: none) */
    *p++ = 0, *p++ = 0;                        /* our MSS: no limit */
    *p++ = 0x10, *p++ = 0, *p++ = 0, *p++ = 0; /* ts clock */
    uint64_t now = (uint64_t)(31 + i) * TCP_COOKIE_TICK_NS + 12345; /* near the count wrap */
    for (int j = 0; j < 8; j++)
        *p++ = (uint8_t)(now >> (8 * j));
    uint32_t dt = (uint32_t)(TCP_COOKIE_TICK_NS >> 10); /* one tick later */
    for (int j = 0; j < 4; j++)
        *p++ = (uint8_t)(dt >> (8 * j));
    /* segments: the honest one (xor 0), one with a flipped ACK bit, a raw one */
    static const uint8_t segs[3][14] = {
        {0},
        {0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0},
        {3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0},
    };
    memcpy(p, segs, sizeof segs), p += sizeof segs;
    return (size_t)(p - buf);
}
