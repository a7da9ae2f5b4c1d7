/* ICMP messages (RFC 792): the 8-byte header; the checksum covers the whole
 * message. */
#include <errno.h>

#include "jet/inet.h"
#include "wire/cursor.h"

int jet_icmp_parse(const void *buf, size_t len, struct jet_icmp_hdr *h, unsigned flags)
{
    const uint8_t *b = buf;
    if (len < JET_ICMP_HDR_LEN)
        return -EMSGSIZE;
    if (!(flags & JET_INET_NO_CSUM) && jet_inet_csum(jet_inet_sum(b, len, 0)) != 0)
        return -EBADMSG;
    h->type = b[0];
    h->code = b[1];
    h->csum = jet_load_be16(b + 2);
    h->rest = jet_load_be32(b + 4);
    return 0;
}

int jet_icmp_emit(void *buf, size_t cap, const struct jet_icmp_hdr *h, size_t data_len)
{
    uint8_t *b = buf;
    if (data_len > 0xFFFF - JET_IPV4_HDR_LEN - JET_ICMP_HDR_LEN)
        return -EINVAL;
    size_t n = JET_ICMP_HDR_LEN + data_len;
    if (cap < n)
        return -ENOSPC;
    b[0] = h->type;
    b[1] = h->code;
    jet_store_be16(b + 2, 0);
    jet_store_be32(b + 4, h->rest);
    jet_store_be16(b + 2, jet_inet_csum(jet_inet_sum(b, n, 0)));
    return (int)n;
}
