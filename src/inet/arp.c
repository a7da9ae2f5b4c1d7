/* ARP for IPv4 over Ethernet (RFC 826): the 28-byte packet, nothing else
 * (no other hardware or protocol types). */
#include <errno.h>
#include <string.h>

#include "jet/inet.h"
#include "wire/cursor.h"

enum { HTYPE_ETHER = 1 };

int jet_arp_parse(const void *buf, size_t len, struct jet_arp *a)
{
    const uint8_t *b = buf;
    if (len < JET_ARP_LEN)
        return -EMSGSIZE;
    if (jet_load_be16(b) != HTYPE_ETHER || jet_load_be16(b + 2) != JET_ETHERTYPE_IPV4 ||
        b[4] != 6 || b[5] != 4)
        return -EPROTO;
    a->op = jet_load_be16(b + 6);
    if (a->op != JET_ARP_REQUEST && a->op != JET_ARP_REPLY)
        return -EPROTO;
    memcpy(a->sha, b + 8, 6);
    a->spa = jet_load_be32(b + 14);
    memcpy(a->tha, b + 18, 6);
    a->tpa = jet_load_be32(b + 24);
    return 0;
}

int jet_arp_emit(void *buf, size_t cap, const struct jet_arp *a)
{
    uint8_t *b = buf;
    if (a->op != JET_ARP_REQUEST && a->op != JET_ARP_REPLY)
        return -EINVAL;
    if (cap < JET_ARP_LEN)
        return -ENOSPC;
    jet_store_be16(b, HTYPE_ETHER);
    jet_store_be16(b + 2, JET_ETHERTYPE_IPV4);
    b[4] = 6;
    b[5] = 4;
    jet_store_be16(b + 6, a->op);
    memcpy(b + 8, a->sha, 6);
    jet_store_be32(b + 14, a->spa);
    memcpy(b + 18, a->tha, 6);
    jet_store_be32(b + 24, a->tpa);
    return JET_ARP_LEN;
}
