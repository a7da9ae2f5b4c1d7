/* Native Jetstream frames on an Ethernet medium: what packet: and xdp: (and
 * any link whose medium carries only Ethernet) use to say caps.native.
 *
 * Transmit: a native frame goes inside an Ethernet II frame of EtherType
 * 0x88B5 (JET_ETHERTYPE), untagged, from this end's MAC to the MAC learnt for
 * its destination station; to the broadcast MAC for JET_STATION_BROADCAST
 * and for a station not learnt yet (a learning bridge floods the same way).
 * The link lends native transmit buffers with ETHNAT_HEADROOM writable bytes
 * before frame->data, where ethnat_wrap() puts the Ethernet header.
 *
 * Receive: an untagged 0x88B5 frame whose destination station is this end's
 * (or broadcast) is lent as native, the Ethernet header stripped (and, for
 * a 60-byte frame with a sound header, the minimum-size padding); its source
 * station's MAC is learnt from it.  One for another station is not lent (a
 * NIC does not pass frames for other MACs either): counted in `foreign`.
 * Anything else is lent as Ethernet, as it came.
 *
 * Learning is hostile-input safe: an entry changes only for a frame whose
 * header check (CRC32C of the header) is right, so a damaged frame cannot
 * move a station's MAC; a forged one can, as on any Ethernet.  The table is
 * direct-mapped by station number (ETHNAT_PEERS slots): a station that
 * collides with another is flooded to until it is learnt again.
 *
 * Not thread-safe: one per link, used by the link's one thread. */
#ifndef JET_LINK_ETHNAT_H
#define JET_LINK_ETHNAT_H

#include <stdbool.h>
#include <stdint.h>

enum {
    ETHNAT_HEADROOM = 14, /* bytes ethnat_wrap writes before a native frame */
    ETHNAT_PEERS = 256,   /* learnt stations (direct-mapped) */
    ETHNAT_MIN_FRAME = 60, /* Ethernet's minimum frame (without FCS): shorter ones are padded */
};

struct ethnat_peer {
    uint8_t mac[6];
    uint16_t station;
    bool used;
};

struct ethnat {
    uint8_t mac[6];   /* this end's MAC: the source of every frame wrapped */
    uint16_t station; /* this end's station number */
    struct ethnat_peer peers[ETHNAT_PEERS];
    uint64_t learnt;  /* table entries made or changed */
    uint64_t foreign; /* native frames for another station, not lent */
};

/* The station number made from a MAC: its last two bytes, 65535 -> 65534. */
uint16_t ethnat_station_from_mac(const uint8_t mac[6]);

/* station: 0..65534, or -1 for ethnat_station_from_mac(mac).  -EINVAL for a
 * station out of range (65535 is broadcast). */
int ethnat_init(struct ethnat *e, const uint8_t mac[6], int station);

/* Writes the Ethernet header of the native frame at data (at least
 * JET_FRAME_HDR_LEN bytes: the caller checked) into data[-14..-1] and
 * returns data - 14, where the Ethernet frame (frame length + 14) starts. */
uint8_t *ethnat_wrap(struct ethnat *e, uint8_t *data);

enum ethnat_rx { ETHNAT_ETH, ETHNAT_NATIVE, ETHNAT_FOREIGN };

/* Classifies the received Ethernet frame data[0..len) as the header says.
 * ETHNAT_NATIVE: lend data + 14, *nlen bytes, as native.  ETHNAT_ETH: lend
 * it as it is.  ETHNAT_FOREIGN: give it back unlent. */
enum ethnat_rx ethnat_rx(struct ethnat *e, const uint8_t *data, uint32_t len, uint32_t *nlen);

#endif
