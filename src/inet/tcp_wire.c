/* TCP segment headers (RFC 9293) and the options Jetstream uses: MSS, window
 * scale (RFC 7323), SACK permitted and SACK blocks (RFC 2018), timestamps
 * (RFC 7323).
 *
 * Parse: options are read up to the data offset or an End of Option List.
 * A length under 2 or one that runs past the header makes the segment
 * malformed (-EPROTO: the caller counts and drops it); a known option with a
 * length other than its own is skipped, as Linux does; unknown ones are
 * skipped.
 *
 * Emit: the option layout is Linux's, each item padded with NOPs to a
 * 4-byte boundary, so that a capture of ours reads like a capture of the
 * kernel's and the timestamps stay 4-byte aligned:
 *   MSS(4) | SACK-permitted TS (12) or NOP NOP TS (12) or NOP NOP
 *   SACK-permitted (4) | NOP WS (4) | NOP NOP SACK blocks (4 + 8n). */
#include <errno.h>

#include "jet/inet.h"
#include "wire/cursor.h"

enum {
    OPT_EOL = 0,
    OPT_NOP = 1,
    OPT_MSS = 2,  /* len 4 */
    OPT_WS = 3,   /* len 3 */
    OPT_SACK_OK = 4, /* len 2 */
    OPT_SACK = 5, /* len 2 + 8n */
    OPT_TS = 8,   /* len 10 */
};

static int parse_opts(const uint8_t *o, unsigned n, struct jet_tcp_hdr_opts *t)
{
    for (unsigned i = 0; i < n;) {
        uint8_t kind = o[i];
        if (kind == OPT_EOL)
            break;
        if (kind == OPT_NOP) {
            i++;
            continue;
        }
        if (i + 1 >= n)
            return -EPROTO;
        unsigned l = o[i + 1];
        if (l < 2 || l > n - i)
            return -EPROTO;
        const uint8_t *v = o + i + 2;
        switch (kind) {
        case OPT_MSS:
            if (l == 4)
                t->mss = jet_load_be16(v);
            break;
        case OPT_WS:
            if (l == 3) {
                t->has_wscale = true;
                t->wscale = v[0] > JET_TCP_WSCALE_MAX ? JET_TCP_WSCALE_MAX : v[0];
            }
            break;
        case OPT_SACK_OK:
            if (l == 2)
                t->sack_ok = true;
            break;
        case OPT_SACK:
            if (l >= 10 && (l - 2) % 8 == 0) {
                unsigned nb = (l - 2) / 8;
                t->nsack = (uint8_t)(nb > JET_TCP_SACK_MAX ? JET_TCP_SACK_MAX : nb);
                for (unsigned k = 0; k < t->nsack; k++) {
                    t->sack[k].left = jet_load_be32(v + 8 * k);
                    t->sack[k].right = jet_load_be32(v + 8 * k + 4);
                }
            }
            break;
        case OPT_TS:
            if (l == 10) {
                t->has_ts = true;
                t->ts_val = jet_load_be32(v);
                t->ts_ecr = jet_load_be32(v + 4);
            }
            break;
        default:
            break;
        }
        i += l;
    }
    return 0;
}

int jet_tcp_parse(const void *buf, size_t len, uint32_t src, uint32_t dst, struct jet_tcp_hdr *h,
                  unsigned flags)
{
    const uint8_t *b = buf;
    if (len < JET_TCP_HDR_LEN || len > 0xFFFF)
        return -EMSGSIZE;
    unsigned hl = (b[12] >> 4) * 4u;
    if (hl < JET_TCP_HDR_LEN || hl > len)
        return -EPROTO;
    if (!(flags & JET_INET_NO_CSUM) &&
        jet_inet_csum(jet_inet_sum(b, len, jet_inet_pseudo_sum(src, dst, JET_IP_PROTO_TCP,
                                                               (uint16_t)len))))
        return -EBADMSG;
    *h = (struct jet_tcp_hdr){
        .sport = jet_load_be16(b),
        .dport = jet_load_be16(b + 2),
        .seq = jet_load_be32(b + 4),
        .ack = jet_load_be32(b + 8),
        .hdr_len = (uint8_t)hl,
        .flags = b[13],
        .win = jet_load_be16(b + 14),
        .csum = jet_load_be16(b + 16),
        .urg = jet_load_be16(b + 18),
    };
    return parse_opts(b + JET_TCP_HDR_LEN, hl - JET_TCP_HDR_LEN, &h->opt);
}

int jet_tcp_hdr_len(const struct jet_tcp_hdr_opts *o)
{
    if (o->nsack > JET_TCP_SACK_MAX || (o->has_wscale && o->wscale > JET_TCP_WSCALE_MAX))
        return -EINVAL;
    unsigned n = JET_TCP_HDR_LEN;
    n += o->mss ? 4 : 0;
    n += o->has_ts ? 12 : o->sack_ok ? 4 : 0;
    n += o->has_wscale ? 4 : 0;
    n += o->nsack ? 4 + 8u * o->nsack : 0;
    return n > JET_TCP_HDR_MAX ? -EINVAL : (int)n;
}

static uint8_t *put_nops(uint8_t *p, unsigned n)
{
    while (n--)
        *p++ = OPT_NOP;
    return p;
}

int jet_tcp_emit(void *buf, size_t cap, const struct jet_tcp_hdr *h, uint32_t src, uint32_t dst,
                 size_t payload_len)
{
    uint8_t *b = buf;
    const struct jet_tcp_hdr_opts *o = &h->opt;
    int hl = jet_tcp_hdr_len(o);
    if (hl < 0)
        return hl;
    if (payload_len > 0xFFFF - JET_IPV4_HDR_LEN - (size_t)hl)
        return -EINVAL;
    size_t total = (size_t)hl + payload_len;
    if (cap < total)
        return -ENOSPC;
    jet_store_be16(b, h->sport);
    jet_store_be16(b + 2, h->dport);
    jet_store_be32(b + 4, h->seq);
    jet_store_be32(b + 8, h->ack);
    b[12] = (uint8_t)(hl / 4 << 4);
    b[13] = h->flags;
    jet_store_be16(b + 14, h->win);
    jet_store_be16(b + 16, 0);
    jet_store_be16(b + 18, h->urg);
    uint8_t *p = b + JET_TCP_HDR_LEN;
    if (o->mss) {
        p[0] = OPT_MSS, p[1] = 4;
        jet_store_be16(p + 2, o->mss);
        p += 4;
    }
    if (o->has_ts) {
        if (o->sack_ok)
            p[0] = OPT_SACK_OK, p[1] = 2, p += 2;
        else
            p = put_nops(p, 2);
        p[0] = OPT_TS, p[1] = 10;
        jet_store_be32(p + 2, o->ts_val);
        jet_store_be32(p + 6, o->ts_ecr);
        p += 10;
    } else if (o->sack_ok) {
        p = put_nops(p, 2);
        p[0] = OPT_SACK_OK, p[1] = 2, p += 2;
    }
    if (o->has_wscale) {
        p = put_nops(p, 1);
        p[0] = OPT_WS, p[1] = 3, p[2] = o->wscale, p += 3;
    }
    if (o->nsack) {
        p = put_nops(p, 2);
        p[0] = OPT_SACK, p[1] = (uint8_t)(2 + 8 * o->nsack), p += 2;
        for (unsigned k = 0; k < o->nsack; k++, p += 8) {
            jet_store_be32(p, o->sack[k].left);
            jet_store_be32(p + 4, o->sack[k].right);
        }
    }
    jet_store_be16(b + 16, jet_inet_csum(jet_inet_sum(
                               b, total, jet_inet_pseudo_sum(src, dst, JET_IP_PROTO_TCP,
                                                             (uint16_t)total))));
    return (int)total;
}
