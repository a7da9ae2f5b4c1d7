/* RBS header parse and emit (spec: docs/rbs.md section 2).
 *
 * rbs_hdr_parse() checks in this order, and the order is part of the contract (the
 * first failing check decides the error, tests/unit/test_rbs_wire.c pins it):
 *   1. at least 24 bytes                                   -EMSGSIZE
 *   2. version == 1                                        -EPROTONOSUPPORT
 *   3. reserved flag bits, bytes 3, 14, 15 zero; hlen 6..15 -EINVAL
 *   4. the segment holds hlen * 4 bytes                    -EMSGSIZE
 *   5. flag combination; no payload on SYN or RST          -EPROTO
 *   6. options, left to right                              -EBADMSG
 *   7. a SYN carries MSS, WSCALE and CHAN                  -ENOPROTOOPT
 * rbs_hdr_emit() validates first and writes only when the whole header fits. */
#include <errno.h>
#include <string.h>

#include "rbs/rbs_wire.h"
#include "wire/cursor.h"

static int flags_ok(uint8_t f, size_t payload)
{
    if ((f & RBS_SYN) && (f & (RBS_FIN | RBS_RST)))
        return 0;
    if ((f & RBS_RST) && (f & RBS_FIN))
        return 0;
    if (!(f & (RBS_ACK | RBS_SYN | RBS_RST)))
        return 0; /* every other segment acknowledges */
    if ((f & (RBS_SYN | RBS_RST)) && payload)
        return 0;
    return 1;
}

/* A SACK block must name a non-empty range shorter than half the sequence space. */
static int sack_ok(uint32_t s, uint32_t e)
{
    return (int32_t)(e - s) > 0;
}

static int parse_opts(struct jet_rcur *c, struct rbs_hdr *h)
{
    while (jet_rcur_left(c)) {
        uint8_t kind, olen;
        jet_rcur_u8(c, &kind);
        if (kind == RBS_OPT_PAD)
            continue;
        if (kind == RBS_OPT_END) {
            uint8_t z;
            while (jet_rcur_left(c)) {
                jet_rcur_u8(c, &z);
                if (z)
                    return -EBADMSG;
            }
            return 0;
        }
        if (jet_rcur_u8(c, &olen) || olen < 2 || olen - 2u > jet_rcur_left(c))
            return -EBADMSG;
        size_t dlen = olen - 2u;
        switch (kind) {
        case RBS_OPT_MSS:
            if (olen != RBS_OPT_MSS_LEN || (h->opts & RBS_HAS_MSS) || !(h->flags & RBS_SYN))
                return -EBADMSG;
            jet_rcur_u32(c, &h->mss);
            if (h->mss < RBS_MSS_MIN || h->mss > RBS_MSS_MAX)
                return -EBADMSG;
            h->opts |= RBS_HAS_MSS;
            break;
        case RBS_OPT_WSCALE:
            if (olen != RBS_OPT_WSCALE_LEN || (h->opts & RBS_HAS_WSCALE) || !(h->flags & RBS_SYN))
                return -EBADMSG;
            jet_rcur_u8(c, &h->wscale);
            if (h->wscale > RBS_WSCALE_MAX)
                return -EBADMSG;
            h->opts |= RBS_HAS_WSCALE;
            break;
        case RBS_OPT_CHAN:
            if (olen != RBS_OPT_CHAN_LEN || (h->opts & RBS_HAS_CHAN) || !(h->flags & RBS_SYN))
                return -EBADMSG;
            jet_rcur_u32(c, &h->chan);
            if (!h->chan)
                return -EBADMSG;
            h->opts |= RBS_HAS_CHAN;
            break;
        case RBS_OPT_SACK:
            if (h->nsack || dlen == 0 || dlen % 8 || dlen / 8 > RBS_MAX_SACK ||
                !(h->flags & RBS_ACK) || (h->flags & (RBS_SYN | RBS_RST)))
                return -EBADMSG;
            for (size_t i = 0; i < dlen / 8; i++) {
                jet_rcur_u32(c, &h->sack[i].start);
                jet_rcur_u32(c, &h->sack[i].end);
                if (!sack_ok(h->sack[i].start, h->sack[i].end))
                    return -EBADMSG;
            }
            h->nsack = (uint8_t)(dlen / 8);
            break;
        default: /* unknown: skipped, so later versions can add options */
            jet_rcur_skip(c, dlen);
            break;
        }
        if (c->err)
            return -EBADMSG;
    }
    return 0;
}

int rbs_hdr_parse(const uint8_t *seg, size_t len, struct rbs_hdr *h)
{
    memset(h, 0, sizeof *h);
    if (!seg || len < RBS_HDR_LEN)
        return -EMSGSIZE;
    if (seg[RBS_OFF_VERSION] != RBS_VERSION)
        return -EPROTONOSUPPORT;
    uint8_t f = seg[RBS_OFF_FLAGS], hw = seg[RBS_OFF_HLEN];
    if ((f & ~RBS_FLAGS_KNOWN) || seg[RBS_OFF_RSVD1] || seg[RBS_OFF_RSVD2] ||
        seg[RBS_OFF_RSVD2 + 1] || hw < RBS_HDR_LEN / 4 || hw > RBS_HDR_MAX / 4)
        return -EINVAL;
    size_t hl = (size_t)hw * 4;
    if (hl > len)
        return -EMSGSIZE;
    if (!flags_ok(f, len - hl))
        return -EPROTO;

    struct jet_rcur c;
    jet_rcur_init(&c, seg + RBS_OFF_SEQ, RBS_HDR_LEN - RBS_OFF_SEQ);
    h->flags = f;
    h->hdr_len = (uint8_t)hl;
    jet_rcur_u32(&c, &h->seq);
    jet_rcur_u32(&c, &h->ack);
    jet_rcur_u16(&c, &h->wnd);
    jet_rcur_skip(&c, 2);
    jet_rcur_u32(&c, &h->tsval);
    jet_rcur_u32(&c, &h->tsecr);
    if (c.err) /* cannot happen: the fixed part was length-checked above */
        return -EMSGSIZE;

    jet_rcur_init(&c, seg + RBS_HDR_LEN, hl - RBS_HDR_LEN);
    int rc = parse_opts(&c, h);
    if (rc)
        return rc;
    if ((f & RBS_SYN) &&
        (h->opts & (RBS_HAS_MSS | RBS_HAS_WSCALE | RBS_HAS_CHAN)) !=
            (RBS_HAS_MSS | RBS_HAS_WSCALE | RBS_HAS_CHAN))
        return -ENOPROTOOPT;
    return (int)hl;
}

size_t rbs_hdr_size(const struct rbs_hdr *h)
{
    size_t n = RBS_HDR_LEN;
    if (h->opts & RBS_HAS_MSS)
        n += RBS_OPT_MSS_LEN;
    if (h->opts & RBS_HAS_WSCALE)
        n += RBS_OPT_WSCALE_LEN;
    if (h->opts & RBS_HAS_CHAN)
        n += RBS_OPT_CHAN_LEN;
    if (h->nsack)
        n += 2 + 8u * h->nsack;
    return (n + 3) & ~(size_t)3;
}

int rbs_hdr_emit(uint8_t *buf, size_t cap, const struct rbs_hdr *h)
{
    uint8_t f = h->flags;
    if ((f & ~RBS_FLAGS_KNOWN) || !flags_ok(f, 0) || h->nsack > RBS_MAX_SACK)
        return -EINVAL;
    if ((h->opts & ~(RBS_HAS_MSS | RBS_HAS_WSCALE | RBS_HAS_CHAN)) ||
        (h->opts && !(f & RBS_SYN)) || ((f & RBS_SYN) && h->opts != 7))
        return -EINVAL;
    if ((h->opts & RBS_HAS_MSS) && (h->mss < RBS_MSS_MIN || h->mss > RBS_MSS_MAX))
        return -EINVAL;
    if ((h->opts & RBS_HAS_WSCALE) && h->wscale > RBS_WSCALE_MAX)
        return -EINVAL;
    if ((h->opts & RBS_HAS_CHAN) && !h->chan)
        return -EINVAL;
    if (h->nsack && (!(f & RBS_ACK) || (f & (RBS_SYN | RBS_RST))))
        return -EINVAL;
    for (unsigned i = 0; i < h->nsack; i++)
        if (!sack_ok(h->sack[i].start, h->sack[i].end))
            return -EINVAL;
    size_t hl = rbs_hdr_size(h);
    if (!buf || cap < hl)
        return -ENOSPC;

    struct jet_wcur c;
    jet_wcur_init(&c, buf, hl);
    jet_wcur_u8(&c, RBS_VERSION);
    jet_wcur_u8(&c, f);
    jet_wcur_u8(&c, (uint8_t)(hl / 4));
    jet_wcur_u8(&c, 0);
    jet_wcur_u32(&c, h->seq);
    jet_wcur_u32(&c, h->ack);
    jet_wcur_u16(&c, h->wnd);
    jet_wcur_u16(&c, 0);
    jet_wcur_u32(&c, h->tsval);
    jet_wcur_u32(&c, h->tsecr);
    if (h->opts & RBS_HAS_MSS) {
        jet_wcur_u8(&c, RBS_OPT_MSS);
        jet_wcur_u8(&c, RBS_OPT_MSS_LEN);
        jet_wcur_u32(&c, h->mss);
    }
    if (h->opts & RBS_HAS_WSCALE) {
        jet_wcur_u8(&c, RBS_OPT_WSCALE);
        jet_wcur_u8(&c, RBS_OPT_WSCALE_LEN);
        jet_wcur_u8(&c, h->wscale);
    }
    if (h->opts & RBS_HAS_CHAN) {
        jet_wcur_u8(&c, RBS_OPT_CHAN);
        jet_wcur_u8(&c, RBS_OPT_CHAN_LEN);
        jet_wcur_u32(&c, h->chan);
    }
    if (h->nsack) {
        jet_wcur_u8(&c, RBS_OPT_SACK);
        jet_wcur_u8(&c, (uint8_t)(2 + 8 * h->nsack));
        for (unsigned i = 0; i < h->nsack; i++) {
            jet_wcur_u32(&c, h->sack[i].start);
            jet_wcur_u32(&c, h->sack[i].end);
        }
    }
    jet_wcur_zero(&c, jet_wcur_left(&c)); /* END and zero padding */
    return c.err ? c.err : (int)hl;
}

int rbs_bad_reason(int err)
{
    switch (err) {
    case -EMSGSIZE: return RBS_BAD_TRUNC;
    case -EPROTONOSUPPORT: return RBS_BAD_VERSION;
    case -EINVAL: return RBS_BAD_RESERVED;
    case -EPROTO: return RBS_BAD_FLAGS;
    case -EBADMSG: return RBS_BAD_OPTION;
    case -ENOPROTOOPT: return RBS_BAD_MISSING_OPT;
    default: return RBS_BAD_MAX;
    }
}

const char *rbs_bad_name(int reason)
{
    static const char *const names[RBS_BAD_MAX] = {
        "truncated", "version", "reserved", "flags", "option", "missing-option",
    };
    return reason >= 0 && reason < RBS_BAD_MAX ? names[reason] : "?";
}
