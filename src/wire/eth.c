/* Ethernet II header parse/emit, and the Ethernet encapsulation of Jetstream frames
 * (spec: docs/frame-format.md, "Encapsulation 2").
 *
 * Receive: jet_frame_parse_eth() = jet_eth_parse() (one optional 802.1Q tag skipped)
 * -> EtherType must be JET_ETHERTYPE -> jet_frame_parse() on the rest, padding after
 * the frame ignored. Send: jet_eth_emit() writes the header, then the caller builds
 * the frame right after it (jet_frame_build()/jet_frame_seal() at buf + return value).
 *
 * Layout: dst MAC (6) | src MAC (6) | [0x8100 | TCI (2)] | EtherType (2). Only one
 * tag is skipped: a second tag (or an 802.1ad outer tag) shows up as the EtherType.
 */
#include <errno.h>

#include "jet/frame.h"
#include "wire/cursor.h"

enum { VID_MASK = 0x0FFF, VID_RESERVED = 0x0FFF };

int jet_eth_parse(const void *buf, size_t len, struct jet_eth_hdr *e)
{
    struct jet_rcur c;
    uint16_t type;

    jet_rcur_init(&c, buf, len);
    jet_rcur_bytes(&c, e->dst, JET_ETH_ALEN);
    jet_rcur_bytes(&c, e->src, JET_ETH_ALEN);
    jet_rcur_u16(&c, &type);
    if (c.err)
        return -EMSGSIZE;
    e->vlan = JET_ETH_UNTAGGED;
    e->hdr_len = JET_ETH_HDR_LEN;
    if (type == JET_ETH_TPID_VLAN) {
        uint16_t tci;
        jet_rcur_u16(&c, &tci);
        jet_rcur_u16(&c, &type);
        if (c.err)
            return -EMSGSIZE;
        if ((tci & VID_MASK) == VID_RESERVED)
            return -EINVAL;
        e->vlan = tci;
        e->hdr_len = JET_ETH_VLAN_HDR_LEN;
    }
    e->ethertype = type;
    return 0;
}

int jet_eth_emit(void *buf, size_t cap, const struct jet_eth_hdr *e)
{
    int tagged = e->vlan != JET_ETH_UNTAGGED;
    struct jet_wcur w;

    if (tagged && (e->vlan & VID_MASK) == VID_RESERVED)
        return -EINVAL;
    if (cap < (size_t)(tagged ? JET_ETH_VLAN_HDR_LEN : JET_ETH_HDR_LEN))
        return -ENOSPC; /* checked up front so that nothing is written on error */
    jet_wcur_init(&w, buf, cap);
    jet_wcur_bytes(&w, e->dst, JET_ETH_ALEN);
    jet_wcur_bytes(&w, e->src, JET_ETH_ALEN);
    if (tagged) {
        jet_wcur_u16(&w, JET_ETH_TPID_VLAN);
        jet_wcur_u16(&w, e->vlan);
    }
    jet_wcur_u16(&w, e->ethertype);
    if (w.err)
        return w.err;
    return tagged ? JET_ETH_VLAN_HDR_LEN : JET_ETH_HDR_LEN;
}

int jet_frame_parse_eth(const void *buf, size_t len, struct jet_eth_hdr *e, struct jet_frame_hdr *h,
                        unsigned flags)
{
    int rc = jet_eth_parse(buf, len, e);
    if (rc)
        return rc;
    if (e->ethertype != JET_ETHERTYPE)
        return -EPROTOTYPE;
    return jet_frame_parse((const uint8_t *)buf + e->hdr_len, len - e->hdr_len, h, flags);
}
