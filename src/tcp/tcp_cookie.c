/* TCP: SYN cookies (tcp_cookie.h; the scheme is in its header and docs/tcp.md).
 *
 * Order: the MSS table and the option byte; the two keyed hashes (the per-tuple offset
 * and the MAC); tcp_cookie_make (SYN in: cookie, timestamp value and the options to
 * offer out); tcp_cookie_check (third segment in: the options back, or an error). */
#include "tcp/tcp_cookie.h"

#include <errno.h>

#include "xport/xp_seq.h"

/* Common MSS values: RFC 9293's default (536), IPv6-minimum-sized paths (1220), VPN and
 * tunnel paths (1400), PPPoE-ish and Ethernet (1440, 1460), jumbo frames (9000-byte
 * MTU: 8960), and the largest IPv4 packet on a 64 KiB LAN or a TAP (MTU 65521: 65481).
 * The smallest entry is Linux's TCP_MIN_MSS. */
const uint16_t tcp_cookie_mss_table[TCP_COOKIE_MSS_N] = {88,   536,  1220, 1400,
                                                         1440, 1460, 8960, 65480};

enum {
    MSS_DEFAULT = 536, /* RFC 9293 3.7.1: no MSS option */
    COUNT_BITS = 5,
    MAC_BITS = 24,
    IDX_BITS = 3,
    OPT_HAS_TS = 0x40, /* in the option byte the MAC covers */
    TS_MASK = (1 << TCP_COOKIE_TS_BITS) - 1,
};

/* The 6 option bits a timestamp value carries (Linux's layout). */
static unsigned ts_bits(const struct tcp_cookie_opts *o)
{
    unsigned b = o->has_wscale ? o->wscale : TCP_COOKIE_TS_NO_WSCALE;
    if (o->sack_ok)
        b |= TCP_COOKIE_TS_SACK;
    if (o->ecn_ok)
        b |= TCP_COOKIE_TS_ECN;
    return b;
}

/* The secret per-tuple offset: a count field in clear would show our clock. */
static uint32_t cookie_off(const struct tcp_key *k, const struct tcp_tuple *t)
{
    uint8_t m[13] = {'O'};
    tcp_tuple_put(m + 1, t);
    return (uint32_t)tcp_siphash24(k, m, sizeof m);
}

/* The MAC over everything the cookie vouches for; 24 bits. */
static uint32_t cookie_mac(const struct tcp_key *k, const struct tcp_tuple *t, uint32_t their_isn,
                           uint64_t count, unsigned idx, unsigned optbyte)
{
    uint8_t m[27] = {'C'};
    tcp_tuple_put(m + 1, t);
    for (int i = 0; i < 4; i++)
        m[13 + i] = (uint8_t)(their_isn >> (8 * i));
    for (int i = 0; i < 8; i++)
        m[17 + i] = (uint8_t)(count >> (8 * i));
    m[25] = (uint8_t)idx;
    m[26] = (uint8_t)optbyte;
    return (uint32_t)tcp_siphash24(k, m, sizeof m) & ((1u << MAC_BITS) - 1);
}

static uint32_t cookie_field(uint64_t count, uint32_t mac, unsigned idx)
{
    return ((uint32_t)count << (MAC_BITS + IDX_BITS)) | (mac << IDX_BITS) | idx;
}

int tcp_cookie_make(const struct tcp_key *k, const struct tcp_tuple *t, uint32_t their_isn,
                    const struct jet_tcp_hdr_opts *syn, bool ecn_ok, uint16_t our_mss, uint32_t ts_now,
                    uint64_t now, struct tcp_cookie *c)
{
    unsigned mss = syn->mss ? syn->mss : MSS_DEFAULT;
    if (our_mss && our_mss < mss)
        mss = our_mss;
    if (mss < tcp_cookie_mss_table[0])
        return -ERANGE;
    unsigned idx = TCP_COOKIE_MSS_N - 1;
    while (tcp_cookie_mss_table[idx] > mss)
        idx--;

    struct tcp_cookie_opts o = {.mss = tcp_cookie_mss_table[idx], .has_ts = syn->has_ts};
    if (o.has_ts) {
        o.has_wscale = syn->has_wscale;
        o.wscale = o.has_wscale
                       ? (syn->wscale > JET_TCP_WSCALE_MAX ? JET_TCP_WSCALE_MAX : syn->wscale)
                       : 0;
        o.sack_ok = syn->sack_ok;
        o.ecn_ok = ecn_ok;
    }
    unsigned bits = ts_bits(&o);
    unsigned optbyte = o.has_ts ? OPT_HAS_TS | bits : 0;

    uint64_t count = now / TCP_COOKIE_TICK_NS;
    uint32_t mac = cookie_mac(k, t, their_isn, count, idx, optbyte);
    c->isn = their_isn + cookie_off(k, t) + cookie_field(count, mac, idx);
    c->tsval = 0;
    if (o.has_ts) {
        uint32_t ts = (ts_now & ~(uint32_t)TS_MASK) | bits;
        if (xp_seq_lt(ts_now, ts))
            ts -= 1u << TCP_COOKIE_TS_BITS;
        c->tsval = ts;
    }
    c->opt = o;
    return 0;
}

int tcp_cookie_check(const struct tcp_key *k, const struct tcp_tuple *t, uint32_t seq, uint32_t ack,
                     const struct jet_tcp_hdr_opts *opt, uint64_t now, struct tcp_cookie_opts *out,
                     unsigned *age)
{
    uint32_t their_isn = seq - 1;
    uint32_t x = ack - 1 - their_isn - cookie_off(k, t);
    unsigned idx = x & ((1u << IDX_BITS) - 1);
    uint32_t mac = (x >> IDX_BITS) & ((1u << MAC_BITS) - 1);
    unsigned c5 = x >> (MAC_BITS + IDX_BITS);

    struct tcp_cookie_opts o = {.mss = tcp_cookie_mss_table[idx]};
    unsigned optbyte = 0;
    if (opt && opt->has_ts) {
        unsigned bits = opt->ts_ecr & TS_MASK;
        optbyte = OPT_HAS_TS | bits;
        o.has_ts = true;
        unsigned ws = bits & TCP_COOKIE_TS_NO_WSCALE;
        o.has_wscale = ws != TCP_COOKIE_TS_NO_WSCALE;
        o.wscale = o.has_wscale ? (uint8_t)ws : 0;
        o.sack_ok = bits & TCP_COOKIE_TS_SACK;
        o.ecn_ok = bits & TCP_COOKIE_TS_ECN;
    }

    /* The count field names the newest tick with those low bits, at most 31 back. */
    uint64_t cur = now / TCP_COOKIE_TICK_NS;
    unsigned a = ((unsigned)cur - c5) & ((1u << COUNT_BITS) - 1);
    if (a > cur)
        return -EINVAL; /* before time began: never issued */
    if (cookie_mac(k, t, their_isn, cur - a, idx, optbyte) != mac)
        return -EINVAL;
    if (a >= TCP_COOKIE_AGES)
        return -ETIMEDOUT;
    *out = o;
    if (age)
        *age = a;
    return 0;
}
