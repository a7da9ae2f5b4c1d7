/* UDP datagrams (RFC 768) over IPv4: the checksum covers the pseudo-header,
 * the header and the payload; 0 on the wire means none was computed. */
#include <errno.h>

#include "jet/inet.h"
#include "wire/cursor.h"

int jet_udp_parse(const void *buf, size_t len, uint32_t src, uint32_t dst, struct jet_udp_hdr *h,
                  unsigned flags)
{
    const uint8_t *b = buf;
    if (len < JET_UDP_HDR_LEN)
        return -EMSGSIZE;
    uint16_t ulen = jet_load_be16(b + 4);
    if (ulen < JET_UDP_HDR_LEN)
        return -EPROTO;
    if (ulen > len)
        return -EMSGSIZE;
    uint16_t csum = jet_load_be16(b + 6);
    if (csum && !(flags & JET_INET_NO_CSUM) &&
        jet_inet_csum(jet_inet_sum(b, ulen, jet_inet_pseudo_sum(src, dst, JET_IP_PROTO_UDP, ulen))))
        return -EBADMSG;
    h->sport = jet_load_be16(b);
    h->dport = jet_load_be16(b + 2);
    h->len = ulen;
    h->csum = csum;
    return 0;
}

int jet_udp_emit(void *buf, size_t cap, const struct jet_udp_hdr *h, uint32_t src, uint32_t dst)
{
    uint8_t *b = buf;
    if (h->len < JET_UDP_HDR_LEN)
        return -EINVAL;
    if (cap < h->len)
        return -ENOSPC;
    jet_store_be16(b, h->sport);
    jet_store_be16(b + 2, h->dport);
    jet_store_be16(b + 4, h->len);
    jet_store_be16(b + 6, 0);
    uint16_t c =
        jet_inet_csum(jet_inet_sum(b, h->len, jet_inet_pseudo_sum(src, dst, JET_IP_PROTO_UDP, h->len)));
    jet_store_be16(b + 6, c ? c : 0xFFFF); /* 0 would say "no checksum" */
    return h->len;
}
