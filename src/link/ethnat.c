/* Native Jetstream frames on an Ethernet medium (ethnat.h). */
#include "link/ethnat.h"

#include <errno.h>
#include <string.h>

#include "jet/crc32c.h"
#include "jet/frame.h"
#include "wire/cursor.h"

static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

uint16_t ethnat_station_from_mac(const uint8_t mac[6])
{
    uint16_t s = (uint16_t)(mac[4] << 8 | mac[5]);
    return s == JET_STATION_BROADCAST ? JET_STATION_BROADCAST - 1 : s;
}

int ethnat_init(struct ethnat *e, const uint8_t mac[6], int station)
{
    if (station < -1 || station >= (int)JET_STATION_BROADCAST)
        return -EINVAL;
    memset(e, 0, sizeof *e);
    memcpy(e->mac, mac, 6);
    e->station = station < 0 ? ethnat_station_from_mac(mac) : (uint16_t)station;
    return 0;
}

uint8_t *ethnat_wrap(struct ethnat *e, uint8_t *data)
{
    uint8_t *h = data - ETHNAT_HEADROOM;
    uint16_t dst = jet_load_be16(data + 4);
    const struct ethnat_peer *p = &e->peers[dst % ETHNAT_PEERS];
    memcpy(h, p->used && p->station == dst ? p->mac : bcast, 6);
    memcpy(h + 6, e->mac, 6);
    jet_store_be16(h + 12, JET_ETHERTYPE);
    return h;
}

/* Learns src station -> mac from a frame whose header is whole (24 bytes at
 * f); the table changes only if the header check holds. */
static void learn(struct ethnat *e, const uint8_t *f, const uint8_t *mac)
{
    uint16_t src = jet_load_be16(f + 2);
    struct ethnat_peer *p = &e->peers[src % ETHNAT_PEERS];
    if (src == JET_STATION_BROADCAST || (mac[0] & 1) ||
        (p->used && p->station == src && !memcmp(p->mac, mac, 6)))
        return;
    if (jet_crc32c(0, f, 20) != jet_load_be32(f + 20))
        return;
    memcpy(p->mac, mac, 6);
    p->station = src;
    p->used = true;
    e->learnt++;
}

enum ethnat_rx ethnat_rx(struct ethnat *e, const uint8_t *data, uint32_t len, uint32_t *nlen)
{
    if (len < ETHNAT_HEADROOM + JET_FRAME_HDR_LEN || jet_load_be16(data + 12) != JET_ETHERTYPE)
        return ETHNAT_ETH;
    const uint8_t *f = data + ETHNAT_HEADROOM;
    uint32_t avail = len - ETHNAT_HEADROOM;
    uint16_t dst = jet_load_be16(f + 4);
    if (dst != e->station && dst != JET_STATION_BROADCAST) {
        e->foreign++;
        return ETHNAT_FOREIGN;
    }
    learn(e, f, data + 6);
    *nlen = avail;
    /* Minimum-size padding (a frame under 60 bytes went out as 60) is cut off
     * when the header is whole and says the frame is shorter; anything else
     * is lent as it came (a malformed one for the station to count). */
    if (len <= ETHNAT_MIN_FRAME && jet_crc32c(0, f, 20) == jet_load_be32(f + 20)) {
        uint32_t plen = jet_load_be32(f + 16);
        uint64_t flen = (uint64_t)JET_FRAME_HDR_LEN + plen + ((f[1] & JET_FF_CRC) ? 4 : 0);
        if (flen < avail)
            *nlen = (uint32_t)flen;
    }
    return ETHNAT_NATIVE;
}
