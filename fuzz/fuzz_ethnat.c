/* libFuzzer target for the receive side of native frames on Ethernet
 * (ethnat_rx() in src/link/ethnat.c): every input is a received Ethernet
 * frame, fed to one table that lives across inputs (so learning from one
 * input meets the next).
 *
 * Checked: the classification is what the EtherType and destination station
 * say; a native frame is lent within the bytes that arrived (trimmed only
 * for a frame of at most 60 bytes whose header check holds); the table only
 * ever holds unicast MACs of stations that are not broadcast, each in its own
 * slot; wrapping a frame after it addresses a learnt MAC or broadcast, from
 * our own.  Any disagreement abort()s. Also built with fuzz/replay.inc. */
#include <string.h>

#include "fuzz.h"
#include "jet/crc32c.h"
#include "jet/frame.h"
#include "link/ethnat.h"
#include "wire/cursor.h"

static const uint8_t mymac[6] = {0x02, 0, 0, 0, 0x00, 0x05};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ethnat e;
    static int ready;
    if (!ready) {
        MUST(ethnat_init(&e, mymac, -1) == 0);
        ready = 1;
    }
    if (size > 70000)
        size = 70000;
    uint32_t len = (uint32_t)size, nlen = 0xdeadbeef;
    enum ethnat_rx r = ethnat_rx(&e, data, len, &nlen);
    bool jet = len >= 14 + JET_FRAME_HDR_LEN && jet_load_be16(data + 12) == JET_ETHERTYPE;
    if (!jet) {
        MUST(r == ETHNAT_ETH);
    } else {
        uint16_t dst = jet_load_be16(data + 18);
        bool mine = dst == e.station || dst == JET_STATION_BROADCAST;
        MUST(r == (mine ? ETHNAT_NATIVE : ETHNAT_FOREIGN));
        if (r == ETHNAT_NATIVE) {
            MUST(nlen >= JET_FRAME_HDR_LEN && nlen <= len - 14);
            if (nlen < len - 14) {
                MUST(len <= ETHNAT_MIN_FRAME);
                MUST(jet_crc32c(0, data + 14, 20) == jet_load_be32(data + 34));
            }
        }
    }
    for (unsigned i = 0; i < ETHNAT_PEERS; i++) {
        const struct ethnat_peer *p = &e.peers[i];
        if (!p->used)
            continue;
        MUST(p->station % ETHNAT_PEERS == i);
        MUST(p->station != JET_STATION_BROADCAST && !(p->mac[0] & 1));
    }
    /* wrap a frame to the input's source station */
    uint8_t buf[64] = {0};
    uint8_t *f = buf + 32;
    uint16_t to = len >= 18 ? jet_load_be16(data + 16) : 0;
    jet_store_be16(f + 4, to);
    uint8_t *h = ethnat_wrap(&e, f);
    MUST(h == f - 14 && !memcmp(h + 6, mymac, 6) && jet_load_be16(h + 12) == JET_ETHERTYPE);
    const struct ethnat_peer *p = &e.peers[to % ETHNAT_PEERS];
    if (to != JET_STATION_BROADCAST && p->used && p->station == to)
        MUST(!memcmp(h, p->mac, 6));
    else
        MUST(!memcmp(h, "\xff\xff\xff\xff\xff\xff", 6));
    return 0;
}

size_t jet_fuzz_seed(unsigned i, uint8_t *buf, size_t cap)
{
    if (i >= 3 || cap < 200)
        return 0;
    memset(buf, 0, 200);
    memcpy(buf, i == 1 ? "\xff\xff\xff\xff\xff\xff" : "\x02\0\0\0\0\x05", 6);
    memcpy(buf + 6, "\x02\x01\x02\x03\x04\x05", 6);
    jet_store_be16(buf + 12, i == 2 ? 0x0800 : JET_ETHERTYPE);
    struct jet_frame_hdr h = {.src_station = 9, .dst_station = i == 1 ? 0xffff : 5,
                              .dst_chan = 1, .src_chan = 2, .payload_len = 10};
    jet_frame_emit_hdr(buf + 14, JET_FRAME_HDR_LEN, &h);
    return i == 0 ? 60 : 14 + JET_FRAME_HDR_LEN + 10;
}
