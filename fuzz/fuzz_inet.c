/* libFuzzer target for the TCP/IPv4 wire formats (src/inet/).
 *
 * For each input, every parser runs over it and is held to an independent model written
 * here (naive checksum, IPv4 length rules, TCP option walker): the model says which error,
 * if any, the header comment in jet/inet.h requires, and for TCP which options decode.
 *   1. jet_arp_parse(); jet_ipv4_parse() with flags 0 and JET_INET_NO_CSUM; when the IPv4
 *      header parses, its payload through the ICMP/UDP/TCP parser its protocol names (both
 *      flags, addresses from the header); the UDP, TCP and ICMP parsers on the raw input
 *      too (JET_INET_NO_CSUM, addresses 0).
 *   2. Whatever parses is checked (lengths, multiples of 4, bounds, nsack, wscale),
 *      re-emitted into a separate buffer and parsed again: the decoded fields must agree.
 *      Bytes are compared where the layout is fixed (ARP, the IPv4 header except its
 *      checksum, ICMP/UDP headers except theirs); TCP options are compared decoded, as
 *      the emitted layout may legitimately differ from the input's.
 *   3. "Fixed" copies with the checksums recomputed (IPv4 header; transport with the
 *      pseudo-header from the IPv4 header, or from 0.0.0.0 for the raw TCP/UDP/ICMP
 *      views), so random inputs get past checksum verification into the deeper code.
 *   4. Emit -> parse from structs whose fields come from the input (TCP options, IPv4).
 * Any disagreement abort()s. Also built with fuzz/replay.inc as a plain driver. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jet/inet.h"
#include "../tests/unit/inet_ref.h"
#include "wire/cursor.h"
#include "fuzz.h"

enum { CAP = 0x10000 + 128 };
/* Inputs are parsed from the end of tail[] and fixed[], so that under ASan a read past
 * the length runs into the global's redzone. */
static uint8_t out[CAP], out2[CAP], fixed[CAP], tail[CAP];

/* ---- the model ------------------------------------------------------------------------ */

/* rc must be want, or alt when both errors apply (the order is not specified). */
static void must_rc(int rc, int want, int alt)
{
    MUST(rc == want || rc == alt);
}

/* The TCP options as jet/inet.h specifies them; seen[k] counts valid options of kind k
 * (later duplicates: which one wins is not specified, so those are not compared). */
static int ref_tcp_opts(const uint8_t *o, size_t n, struct jet_tcp_hdr_opts *t, unsigned seen[9])
{
    memset(t, 0, sizeof *t);
    memset(seen, 0, 9 * sizeof seen[0]);
    for (size_t i = 0; i < n;) {
        uint8_t k = o[i];
        if (k == 0)
            break;
        if (k == 1) {
            i++;
            continue;
        }
        if (i + 1 >= n)
            return -EPROTO;
        size_t l = o[i + 1];
        if (l < 2 || l > n - i)
            return -EPROTO;
        const uint8_t *v = o + i + 2;
        if (k == 2 && l == 4)
            t->mss = jet_load_be16(v), seen[k]++;
        else if (k == 3 && l == 3)
            t->has_wscale = true, t->wscale = v[0] > 14 ? 14 : v[0], seen[k]++;
        else if (k == 4 && l == 2)
            t->sack_ok = true;
        else if (k == 5 && l >= 10 && (l - 2) % 8 == 0) {
            t->nsack = (uint8_t)((l - 2) / 8), seen[k]++;
            for (unsigned b = 0; b < t->nsack; b++) {
                t->sack[b].left = jet_load_be32(v + 8 * b);
                t->sack[b].right = jet_load_be32(v + 8 * b + 4);
            }
        } else if (k == 8 && l == 10)
            t->has_ts = true, t->ts_val = jet_load_be32(v), t->ts_ecr = jet_load_be32(v + 4),
            seen[k]++;
        i += l;
    }
    return 0;
}

static void must_opts_eq(const struct jet_tcp_hdr_opts *a, const struct jet_tcp_hdr_opts *b,
                         const unsigned *seen)
{
    MUST(a->nsack <= JET_TCP_SACK_MAX && b->nsack <= JET_TCP_SACK_MAX);
    MUST(!a->has_wscale || a->wscale <= JET_TCP_WSCALE_MAX);
    MUST(a->sack_ok == b->sack_ok);
    if (!seen || seen[2] <= 1)
        MUST(a->mss == b->mss);
    if (!seen || seen[3] <= 1) {
        MUST(a->has_wscale == b->has_wscale);
        MUST(!a->has_wscale || a->wscale == b->wscale);
    }
    if (!seen || seen[8] <= 1) {
        MUST(a->has_ts == b->has_ts);
        MUST(!a->has_ts || (a->ts_val == b->ts_val && a->ts_ecr == b->ts_ecr));
    }
    if (!seen || seen[5] <= 1) {
        MUST(a->nsack == b->nsack);
        for (unsigned k = 0; k < a->nsack; k++)
            MUST(a->sack[k].left == b->sack[k].left && a->sack[k].right == b->sack[k].right);
    }
}

/* Option bytes the options need at the least (no padding). */
static unsigned opts_min(const struct jet_tcp_hdr_opts *o)
{
    return (o->mss ? 4u : 0) + (o->has_wscale ? 3u : 0) + (o->sack_ok ? 2u : 0) +
           (o->has_ts ? 10u : 0) + (o->nsack ? 2u + 8u * o->nsack : 0);
}

/* ---- per format --------------------------------------------------------------------------- */

static void check_arp(const uint8_t *p, size_t n)
{
    struct jet_arp a, b;
    int rc = jet_arp_parse(p, n, &a);
    if (n < JET_ARP_LEN) {
        MUST(rc == -EMSGSIZE);
        return;
    }
    uint16_t op = jet_load_be16(p + 6);
    bool ok = jet_load_be16(p) == 1 && jet_load_be16(p + 2) == 0x0800 && p[4] == 6 && p[5] == 4 &&
              (op == 1 || op == 2);
    MUST(rc == (ok ? 0 : -EPROTO));
    if (rc)
        return;
    MUST(jet_arp_emit(out, CAP, &a) == JET_ARP_LEN);
    MUST(memcmp(out, p, JET_ARP_LEN) == 0);
    MUST(jet_arp_parse(out, JET_ARP_LEN, &b) == 0);
    MUST(b.op == a.op && b.spa == a.spa && b.tpa == a.tpa);
    MUST(memcmp(b.sha, a.sha, 6) == 0 && memcmp(b.tha, a.tha, 6) == 0);
}

static void check_icmp(const uint8_t *p, size_t n, unsigned flags)
{
    struct jet_icmp_hdr h, g;
    int rc = jet_icmp_parse(p, n, &h, flags);
    if (n < JET_ICMP_HDR_LEN) {
        MUST(rc == -EMSGSIZE);
        return;
    }
    bool bad = !(flags & JET_INET_NO_CSUM) && ref_sum(p, n, 0) != 0xFFFF;
    MUST(rc == (bad ? -EBADMSG : 0));
    if (rc)
        return;
    MUST(h.type == p[0] && h.code == p[1] && h.csum == jet_load_be16(p + 2));
    MUST(h.rest == jet_load_be32(p + 4));
    if (n > 0xFFFF - 28)
        return;
    memcpy(out + 8, p + 8, n - 8);
    MUST(jet_icmp_emit(out, n, &h, n - 8) == (int)n);
    MUST(memcmp(out, p, 2) == 0 && memcmp(out + 4, p + 4, n - 4) == 0);
    MUST(ref_sum(out, n, 0) == 0xFFFF);
    MUST(jet_icmp_parse(out, n, &g, 0) == 0);
    MUST(g.type == h.type && g.code == h.code && g.rest == h.rest);
    MUST(g.csum == jet_load_be16(out + 2));
}

static void check_udp(const uint8_t *p, size_t n, uint32_t src, uint32_t dst, unsigned flags)
{
    struct jet_udp_hdr h, g;
    int rc = jet_udp_parse(p, n, src, dst, &h, flags);
    if (n < JET_UDP_HDR_LEN) {
        MUST(rc == -EMSGSIZE);
        return;
    }
    uint16_t ulen = jet_load_be16(p + 4);
    if (ulen < 8) {
        MUST(rc == -EPROTO);
        return;
    }
    if (ulen > n) {
        MUST(rc == -EMSGSIZE);
        return;
    }
    bool bad = !(flags & JET_INET_NO_CSUM) && jet_load_be16(p + 6) != 0 &&
               ref_sum(p, ulen, ref_pseudo(src, dst, 17, ulen)) != 0xFFFF;
    MUST(rc == (bad ? -EBADMSG : 0));
    if (rc)
        return;
    MUST(h.sport == jet_load_be16(p) && h.dport == jet_load_be16(p + 2));
    MUST(h.len == ulen && h.csum == jet_load_be16(p + 6));
    memset(out, 0xA5, 8);
    memcpy(out + 8, p + 8, ulen - 8u);
    MUST(jet_udp_emit(out, ulen - 1u, &h, src, dst) == -ENOSPC);
    MUST(jet_udp_emit(out, ulen, &h, src, dst) == ulen);
    MUST(memcmp(out, p, 6) == 0 && memcmp(out + 8, p + 8, ulen - 8u) == 0);
    MUST(jet_load_be16(out + 6) != 0);
    MUST(ref_sum(out, ulen, ref_pseudo(src, dst, 17, ulen)) == 0xFFFF);
    MUST(jet_udp_parse(out, ulen, src, dst, &g, 0) == 0);
    MUST(g.sport == h.sport && g.dport == h.dport && g.len == h.len);
}

/* Emits h (options decoded) with plen payload bytes from payload, and parses it back. */
static void tcp_reemit(const struct jet_tcp_hdr *h, const uint8_t *payload, size_t plen,
                       uint32_t src, uint32_t dst)
{
    struct jet_tcp_hdr g;
    int hl = jet_tcp_hdr_len(&h->opt);
    bool valid = h->opt.nsack <= JET_TCP_SACK_MAX &&
                 !(h->opt.has_wscale && h->opt.wscale > JET_TCP_WSCALE_MAX);
    unsigned need = opts_min(&h->opt);
    if (hl < 0) {
        /* refused only when invalid, or when NOP padding (at most 5 bytes) might not fit */
        MUST(hl == -EINVAL && (!valid || need + 5 > 40));
        MUST(jet_tcp_emit(out2, CAP, h, src, dst, plen) == -EINVAL);
        return;
    }
    MUST(valid && hl % 4 == 0 && hl >= 20 && hl <= 60 && (unsigned)hl >= 20 + need);
    if ((size_t)hl + plen + 20 > 0xFFFF)
        return;
    memset(out2, 0xA5, (size_t)hl);
    memcpy(out2 + hl, payload, plen);
    size_t n = (size_t)hl + plen;
    MUST(jet_tcp_emit(out2, n - 1, h, src, dst, plen) == -ENOSPC);
    MUST(jet_tcp_emit(out2, n, h, src, dst, plen) == (int)n);
    MUST(ref_sum(out2, n, ref_pseudo(src, dst, 6, (uint16_t)n)) == 0xFFFF);
    MUST(jet_tcp_parse(out2, n, src, dst, &g, 0) == 0);
    MUST(g.sport == h->sport && g.dport == h->dport && g.seq == h->seq && g.ack == h->ack);
    MUST(g.hdr_len == hl && g.flags == h->flags && g.win == h->win && g.urg == h->urg);
    MUST(g.csum == jet_load_be16(out2 + 16));
    MUST(memcmp(out2 + hl, payload, plen) == 0);
    struct jet_tcp_hdr_opts w = h->opt;
    if (w.has_wscale && w.wscale > JET_TCP_WSCALE_MAX)
        w.wscale = JET_TCP_WSCALE_MAX;
    must_opts_eq(&g.opt, &w, NULL);
}

static void check_tcp(const uint8_t *p, size_t n, uint32_t src, uint32_t dst, unsigned flags)
{
    struct jet_tcp_hdr h;
    struct jet_tcp_hdr_opts want;
    unsigned seen[9];
    int rc = jet_tcp_parse(p, n, src, dst, &h, flags);
    if (n < JET_TCP_HDR_LEN || n > 0xFFFF) {
        MUST(rc == -EMSGSIZE || (n > 0xFFFF && rc < 0));
        return;
    }
    unsigned doff = (p[12] >> 4) * 4u;
    if (doff < 20 || doff > n) {
        MUST(rc == -EPROTO);
        return;
    }
    int orc = ref_tcp_opts(p + 20, doff - 20, &want, seen);
    bool bad = !(flags & JET_INET_NO_CSUM) &&
               ref_sum(p, n, ref_pseudo(src, dst, 6, (uint16_t)n)) != 0xFFFF;
    if (orc && bad)
        must_rc(rc, -EPROTO, -EBADMSG);
    else
        MUST(rc == (orc ? orc : bad ? -EBADMSG : 0));
    if (rc)
        return;
    MUST(h.sport == jet_load_be16(p) && h.dport == jet_load_be16(p + 2));
    MUST(h.seq == jet_load_be32(p + 4) && h.ack == jet_load_be32(p + 8));
    MUST(h.hdr_len == doff && h.flags == p[13] && h.win == jet_load_be16(p + 14));
    MUST(h.csum == jet_load_be16(p + 16) && h.urg == jet_load_be16(p + 18));
    must_opts_eq(&h.opt, &want, seen);
    tcp_reemit(&h, p + doff, n - doff, src, dst);
}

static void check_payload(const uint8_t *p, const struct jet_ipv4_hdr *ih)
{
    const uint8_t *pl = p + ih->hdr_len;
    size_t n = (size_t)ih->total_len - ih->hdr_len;
    for (unsigned f = 0; f <= JET_INET_NO_CSUM; f += JET_INET_NO_CSUM) {
        if (ih->proto == JET_IP_PROTO_ICMP)
            check_icmp(pl, n, f);
        else if (ih->proto == JET_IP_PROTO_UDP)
            check_udp(pl, n, ih->src, ih->dst, f);
        else if (ih->proto == JET_IP_PROTO_TCP)
            check_tcp(pl, n, ih->src, ih->dst, f);
    }
}

/* Returns the parse result; checks it against the model and re-emits. */
static int check_ipv4(const uint8_t *p, size_t n, unsigned flags, struct jet_ipv4_hdr *h)
{
    struct jet_ipv4_hdr g;
    int rc = jet_ipv4_parse(p, n, h, flags);
    if (n < JET_IPV4_HDR_LEN) {
        MUST(rc == -EMSGSIZE);
        return rc;
    }
    unsigned hl = (p[0] & 15) * 4u, total = jet_load_be16(p + 2);
    bool proto = p[0] >> 4 != 4 || hl < 20 || hl > total, size = hl > n || total > n;
    if (proto && size)
        must_rc(rc, -EPROTO, -EMSGSIZE);
    else if (proto || size)
        MUST(rc == (proto ? -EPROTO : -EMSGSIZE));
    else
        MUST(rc == (!(flags & JET_INET_NO_CSUM) && ref_sum(p, hl, 0) != 0xFFFF ? -EBADMSG : 0));
    if (rc)
        return rc;
    MUST(h->hdr_len == hl && h->total_len == total && h->tos == p[1]);
    MUST(h->id == jet_load_be16(p + 4) && h->frag == jet_load_be16(p + 6));
    MUST(h->ttl == p[8] && h->proto == p[9] && h->csum == jet_load_be16(p + 10));
    MUST(h->src == jet_load_be32(p + 12) && h->dst == jet_load_be32(p + 16));
    MUST(hl == 20 || h->opt == p + 20);
    MUST(jet_ipv4_is_fragment(h) == ((h->frag & 0x3FFF) != 0));
    MUST(jet_ipv4_emit(out, hl - 1, h) == -ENOSPC);
    MUST(jet_ipv4_emit(out, JET_IPV4_HDR_MAX, h) == (int)hl);
    MUST(memcmp(out, p, 10) == 0 && memcmp(out + 12, p + 12, hl - 12) == 0);
    MUST(ref_sum(out, hl, 0) == 0xFFFF);
    uint16_t c = jet_load_be16(out + 10);
    if (!(flags & JET_INET_NO_CSUM)) /* verified: the same, but for ones' complement's two zeros */
        MUST(c == h->csum || (h->csum == 0xFFFF && c == 0));
    MUST(jet_ipv4_parse(out, hl, &g, 0) == (total > hl ? -EMSGSIZE : 0));
    MUST(jet_ipv4_parse(out, hl, &g, JET_INET_NO_CSUM) == (total > hl ? -EMSGSIZE : 0));
    if (total == hl)
        MUST(g.hdr_len == hl && g.csum == c && g.src == h->src && g.dst == h->dst);
    return 0;
}

static void run_all(const uint8_t *p, size_t n)
{
    struct jet_ipv4_hdr h;
    check_arp(p, n);
    int rc0 = check_ipv4(p, n, 0, &h);
    if (check_ipv4(p, n, JET_INET_NO_CSUM, &h) == 0)
        check_payload(p, &h);
    else
        MUST(rc0 != 0);
    check_udp(p, n, 0, 0, JET_INET_NO_CSUM);
    check_tcp(p, n, 0, 0, JET_INET_NO_CSUM);
    check_icmp(p, n, JET_INET_NO_CSUM);
}

/* Copies with their checksums recomputed. */
static void run_fixed(const uint8_t *data, size_t size)
{
    struct jet_ipv4_hdr h;
    uint8_t *f = fixed + CAP - size;
    unsigned hl = size ? (data[0] & 15) * 4u : 0;
    if (size >= 20 && hl >= 20 && hl <= size) {
        memcpy(f, data, size);
        ref_fix(f, hl, 10, 0);
        if (jet_ipv4_parse(f, size, &h, 0) == 0) {
            uint8_t *pl = f + hl;
            size_t n = (size_t)h.total_len - hl;
            if (h.proto == JET_IP_PROTO_TCP && n >= 20)
                ref_fix(pl, n, 16, ref_pseudo(h.src, h.dst, 6, (uint16_t)n));
            else if (h.proto == JET_IP_PROTO_ICMP && n >= 8)
                ref_fix(pl, n, 2, 0);
            else if (h.proto == JET_IP_PROTO_UDP && n >= 8) {
                uint16_t ul = jet_load_be16(pl + 4);
                if (ul >= 8 && ul <= n)
                    ref_fix(pl, ul, 6, ref_pseudo(h.src, h.dst, 17, ul));
            }
        }
        run_all(f, size);
    }
    if (size >= 20 && size <= 0xFFFF) {
        memcpy(f, data, size);
        ref_fix(f, size, 16, ref_pseudo(0, 0, 6, (uint16_t)size));
        check_tcp(f, size, 0, 0, 0);
    }
    if (size >= 8) {
        memcpy(f, data, size);
        ref_fix(f, size, 2, 0);
        check_icmp(f, size, 0);
        uint16_t ul = jet_load_be16(data + 4);
        if (ul >= 8 && ul <= size) {
            memcpy(f, data, size);
            ref_fix(f, ul, 6, ref_pseudo(0, 0, 17, ul));
            check_udp(f, size, 0, 0, 0);
        }
    }
}

/* Emit -> parse from structs filled from the input. */
static void emit_parse(const uint8_t *d, size_t size)
{
    if (size < 48)
        return;
    struct jet_tcp_hdr t = {0};
    t.sport = jet_load_be16(d);
    t.dport = jet_load_be16(d + 2);
    t.seq = jet_load_be32(d + 4);
    t.ack = jet_load_be32(d + 8);
    t.flags = d[12];
    t.win = jet_load_be16(d + 14);
    t.urg = jet_load_be16(d + 16);
    uint8_t sel = d[13];
    t.opt.mss = sel & 1 ? jet_load_be16(d + 18) : 0;
    t.opt.has_wscale = sel & 2;
    t.opt.wscale = d[20] & 15; /* 15 must be refused */
    t.opt.sack_ok = sel & 4;
    t.opt.has_ts = sel & 8;
    t.opt.ts_val = jet_load_be32(d + 21);
    t.opt.ts_ecr = jet_load_be32(d + 25);
    t.opt.nsack = (uint8_t)(sel >> 4 & 7); /* 5..7 must be refused */
    for (unsigned k = 0; k < JET_TCP_SACK_MAX; k++) {
        t.opt.sack[k].left = jet_load_be32(d + 29 + k) ^ k;
        t.opt.sack[k].right = jet_load_be32(d + 33 + k) + k;
    }
    size_t plen = (size - 48) & 255;
    tcp_reemit(&t, d + 48, plen, jet_load_be32(d + 37), jet_load_be32(d + 41));

    struct jet_ipv4_hdr h = {0}, g;
    h.hdr_len = d[45] & 0x3F ? d[45] & 0x3F : 20;
    h.total_len = (uint16_t)(h.hdr_len + (d[46] & 63) - 8);
    h.tos = d[47];
    h.id = (uint16_t)(t.seq >> 16);
    h.frag = (uint16_t)t.seq;
    h.ttl = (uint8_t)t.ack;
    h.proto = (uint8_t)(t.ack >> 8);
    h.src = t.opt.ts_val;
    h.dst = t.opt.ts_ecr;
    h.opt = d;
    int rc = jet_ipv4_emit(out, CAP, &h);
    if (h.hdr_len < 20 || h.hdr_len > 60 || h.hdr_len % 4 || h.total_len < h.hdr_len) {
        MUST(rc == -EINVAL);
        return;
    }
    MUST(rc == h.hdr_len);
    MUST(jet_ipv4_parse(out, h.total_len, &g, 0) == 0);
    MUST(g.hdr_len == h.hdr_len && g.total_len == h.total_len && g.tos == h.tos);
    MUST(g.id == h.id && g.frag == h.frag && g.ttl == h.ttl && g.proto == h.proto);
    MUST(g.src == h.src && g.dst == h.dst && g.opt == out + 20);
    MUST(memcmp(out + 20, d, h.hdr_len - 20u) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the naive sum agrees with the library's at three alignments */
    for (size_t o = 0; o < 3 && o <= size; o++) {
        uint32_t s = jet_inet_sum(data + o, size - o, 0);
        MUST(s <= 0xFFFF && s == ref_sum(data + o, size - o, 0));
        s = jet_inet_sum(data + o, size - o, 0xFFFF);
        MUST(s <= 0xFFFF && s == ref_sum(data + o, size - o, 0xFFFF));
    }
    if (size > CAP) {
        run_all(data, size);
    } else {
        uint8_t *p = tail + CAP - size;
        memcpy(p, data, size);
        run_all(p, size);
        run_fixed(data, size);
    }
    emit_parse(data, size);
    return 0;
}

/* Seeds: 0 IPv4 + TCP SYN with MSS, SACK-permitted, timestamps, window scale; 1 IPv4 with
 * an option + TCP ACK with timestamps, 2 SACK blocks and data; 2 IPv4 + UDP; 3 IPv4 + ICMP
 * echo request; 4 an ARP request. */
size_t jet_fuzz_seed(unsigned i, uint8_t *buf, size_t cap)
{
    static const uint8_t ra[4] = {0x94, 0x04, 0x00, 0x00}; /* router alert */
    struct jet_ipv4_hdr ih = {.hdr_len = 20, .ttl = 64, .src = 0x0A000001, .dst = 0x0A000002};
    struct jet_tcp_hdr t = {.sport = 40000, .dport = 80, .seq = 1000, .win = 65535};
    int n = -1;
    if (cap < 200)
        return 0;
    memset(buf, 0, 200);
    switch (i) {
    case 0:
        t.flags = JET_TCP_SYN;
        t.opt = (struct jet_tcp_hdr_opts){.mss = 1460,
                                      .sack_ok = true,
                                      .has_ts = true,
                                      .ts_val = 1,
                                      .has_wscale = true,
                                      .wscale = 7};
        n = jet_tcp_emit(buf + 20, cap - 20, &t, ih.src, ih.dst, 0);
        ih.proto = JET_IP_PROTO_TCP;
        break;
    case 1:
        ih.hdr_len = 24;
        ih.opt = ra;
        t.flags = JET_TCP_ACK | JET_TCP_PSH;
        t.ack = 5000;
        t.opt = (struct jet_tcp_hdr_opts){.has_ts = true,
                                      .ts_val = 9,
                                      .ts_ecr = 8,
                                      .nsack = 2,
                                      .sack = {{6000, 7000}, {8000, 9000}}};
        memcpy(buf + 24 + 52, "hello", 5);
        n = jet_tcp_emit(buf + 24, cap - 24, &t, ih.src, ih.dst, 5);
        ih.proto = JET_IP_PROTO_TCP;
        break;
    case 2: {
        struct jet_udp_hdr u = {5353, 53, 8 + 12, 0};
        memcpy(buf + 28, "seed payload", 12);
        n = jet_udp_emit(buf + 20, cap - 20, &u, ih.src, ih.dst);
        ih.proto = JET_IP_PROTO_UDP;
        break;
    }
    case 3: {
        struct jet_icmp_hdr e = {JET_ICMP_ECHO, 0, 0, 0x12340001};
        memcpy(buf + 28, "0123456789abcdef", 16);
        n = jet_icmp_emit(buf + 20, cap - 20, &e, 16);
        ih.proto = JET_IP_PROTO_ICMP;
        break;
    }
    case 4: {
        struct jet_arp a = {JET_ARP_REQUEST, {2, 0, 0, 0, 0, 1}, 0x0A000001, {0}, 0x0A000002};
        return jet_arp_emit(buf, cap, &a) == JET_ARP_LEN ? JET_ARP_LEN : 0;
    }
    default:
        return 0;
    }
    if (n < 0)
        return 0;
    ih.total_len = (uint16_t)(ih.hdr_len + n);
    return jet_ipv4_emit(buf, cap, &ih) == ih.hdr_len ? ih.total_len : 0;
}
