/* IPv4 headers (RFC 791): parse with every length checked against both the
 * buffer and the header's own fields, emit with the header checksum.
 * Fragments are reported (jet_ipv4_is_fragment), not reassembled here. */
#include <errno.h>
#include <string.h>

#include "jet/inet.h"
#include "wire/cursor.h"

int jet_ipv4_parse(const void *buf, size_t len, struct jet_ipv4_hdr *h, unsigned flags)
{
    const uint8_t *b = buf;
    if (len < JET_IPV4_HDR_LEN)
        return -EMSGSIZE;
    if (b[0] >> 4 != 4)
        return -EPROTO;
    unsigned hl = (b[0] & 0xF) * 4u;
    if (hl < JET_IPV4_HDR_LEN)
        return -EPROTO;
    if (hl > len)
        return -EMSGSIZE;
    uint16_t total = jet_load_be16(b + 2);
    if (total < hl)
        return -EPROTO;
    if (total > len)
        return -EMSGSIZE;
    if (!(flags & JET_INET_NO_CSUM) && jet_inet_csum(jet_inet_sum(b, hl, 0)) != 0)
        return -EBADMSG;
    h->hdr_len = (uint8_t)hl;
    h->tos = b[1];
    h->total_len = total;
    h->id = jet_load_be16(b + 4);
    h->frag = jet_load_be16(b + 6);
    h->ttl = b[8];
    h->proto = b[9];
    h->csum = jet_load_be16(b + 10);
    h->src = jet_load_be32(b + 12);
    h->dst = jet_load_be32(b + 16);
    h->opt = b + JET_IPV4_HDR_LEN;
    return 0;
}

int jet_ipv4_emit(void *buf, size_t cap, const struct jet_ipv4_hdr *h)
{
    uint8_t *b = buf;
    unsigned hl = h->hdr_len;
    if (hl < JET_IPV4_HDR_LEN || hl > JET_IPV4_HDR_MAX || hl % 4 || h->total_len < hl ||
        (hl > JET_IPV4_HDR_LEN && !h->opt))
        return -EINVAL;
    if (cap < hl)
        return -ENOSPC;
    b[0] = (uint8_t)(4 << 4 | hl / 4);
    b[1] = h->tos;
    jet_store_be16(b + 2, h->total_len);
    jet_store_be16(b + 4, h->id);
    jet_store_be16(b + 6, h->frag);
    b[8] = h->ttl;
    b[9] = h->proto;
    jet_store_be16(b + 10, 0);
    jet_store_be32(b + 12, h->src);
    jet_store_be32(b + 16, h->dst);
    if (hl > JET_IPV4_HDR_LEN)
        memmove(b + JET_IPV4_HDR_LEN, h->opt, hl - JET_IPV4_HDR_LEN);
    jet_store_be16(b + 10, jet_inet_csum(jet_inet_sum(b, hl, 0)));
    return (int)hl;
}
