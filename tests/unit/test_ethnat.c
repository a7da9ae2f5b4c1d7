/* Native Jetstream frames on an Ethernet medium (src/link/ethnat.c): the
 * header written in front of a native frame, the classification of received
 * Ethernet frames, station learning (and what must not change it), padding,
 * and the station made from a MAC. */
#include <errno.h>

#include "check.h"
#include "jet/frame.h"
#include "link/ethnat.h"
#include "wire/cursor.h"

static const uint8_t mac_a[6] = {0x02, 0x11, 0x22, 0x33, 0x00, 0x07};
static const uint8_t mac_b[6] = {0x02, 0x44, 0x55, 0x66, 0x01, 0x02};
static const uint8_t mac_c[6] = {0x02, 0x77, 0x88, 0x99, 0x01, 0x02};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* An Ethernet frame at b: dst, src MACs, EtherType 0x88B5, then a native
 * frame from station src to dst with plen payload bytes (a CRC trailer if
 * crc).  Returns its length. */
static uint32_t mk(uint8_t *b, const uint8_t *dmac, const uint8_t *smac, uint16_t src,
                   uint16_t dst, uint32_t plen, bool crc)
{
    memcpy(b, dmac, 6);
    memcpy(b + 6, smac, 6);
    jet_store_be16(b + 12, JET_ETHERTYPE);
    struct jet_frame_hdr h = {.flags = crc ? JET_FF_CRC : 0,
                              .src_station = src,
                              .dst_station = dst,
                              .dst_chan = 9,
                              .src_chan = 8,
                              .payload_len = plen};
    jet_frame_emit_hdr(b + 14, JET_FRAME_HDR_LEN, &h);
    for (uint32_t i = 0; i < plen + (crc ? 4 : 0); i++)
        b[14 + JET_FRAME_HDR_LEN + i] = (uint8_t)(i * 7 + 1);
    return 14 + JET_FRAME_HDR_LEN + plen + (crc ? 4 : 0);
}

static void test_station_from_mac(void)
{
    static const struct {
        uint8_t m4, m5;
        uint16_t want;
    } t[] = {{0, 0, 0}, {0, 7, 7}, {0x12, 0x34, 0x1234}, {0xff, 0xfe, 0xfffe}, {0xff, 0xff, 0xfffe}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint8_t m[6] = {2, 0, 0, 0, t[i].m4, t[i].m5};
        CHECK_EQ(ethnat_station_from_mac(m), t[i].want);
    }
    struct ethnat e;
    CHECK_EQ(ethnat_init(&e, mac_a, -1), 0);
    CHECK_EQ(e.station, 7);
    CHECK_EQ(ethnat_init(&e, mac_a, 0), 0);
    CHECK_EQ(e.station, 0);
    CHECK_EQ(ethnat_init(&e, mac_a, 65534), 0);
    CHECK_EQ(e.station, 65534);
    CHECK_EQ(ethnat_init(&e, mac_a, 65535), -EINVAL); /* broadcast */
    CHECK_EQ(ethnat_init(&e, mac_a, 70000), -EINVAL);
    CHECK_EQ(ethnat_init(&e, mac_a, -2), -EINVAL);
}

/* wrap: to broadcast until learnt, then to the learnt MAC; the source is ours */
static void test_wrap_and_learn(void)
{
    struct ethnat a, b;
    REQUIRE(ethnat_init(&a, mac_a, 1) == 0);
    REQUIRE(ethnat_init(&b, mac_b, 2) == 0);
    uint8_t buf[2048], *f = buf + 64;
    /* a -> b before a knows b: broadcast */
    uint32_t n = mk(f - 14, bcast, bcast, 1, 2, 100, false) - 14;
    uint8_t *eth = ethnat_wrap(&a, f);
    CHECK(eth == f - 14);
    CHECK(!memcmp(eth, bcast, 6));
    CHECK(!memcmp(eth + 6, mac_a, 6));
    CHECK_EQ(jet_load_be16(eth + 12), JET_ETHERTYPE);
    /* b receives it: native, for b; learns station 1 at mac_a */
    uint32_t nlen = 0;
    CHECK_EQ(ethnat_rx(&b, eth, n + 14, &nlen), ETHNAT_NATIVE);
    CHECK_EQ(nlen, n);
    CHECK_EQ(b.learnt, 1);
    /* b answers: now unicast to mac_a */
    mk(f - 14, bcast, bcast, 2, 1, 10, true);
    eth = ethnat_wrap(&b, f);
    CHECK(!memcmp(eth, mac_a, 6));
    CHECK(!memcmp(eth + 6, mac_b, 6));
    /* the same frame again teaches nothing new */
    mk(f - 14, bcast, mac_a, 1, 2, 100, false);
    CHECK_EQ(ethnat_rx(&b, f - 14, n + 14, &nlen), ETHNAT_NATIVE);
    CHECK_EQ(b.learnt, 1);
    /* station 1 moves to mac_c: learnt again */
    mk(f - 14, bcast, mac_c, 1, 2, 100, false);
    CHECK_EQ(ethnat_rx(&b, f - 14, n + 14, &nlen), ETHNAT_NATIVE);
    CHECK_EQ(b.learnt, 2);
    mk(f - 14, bcast, bcast, 2, 1, 10, false);
    CHECK(!memcmp(ethnat_wrap(&b, f), mac_c, 6));
    /* broadcast destination: always the broadcast MAC */
    mk(f - 14, bcast, bcast, 2, JET_STATION_BROADCAST, 10, false);
    CHECK(!memcmp(ethnat_wrap(&b, f), bcast, 6));
    /* a station colliding in the table (1 + 256) evicts 1: 1 is flooded again */
    mk(f - 14, bcast, mac_b, 257, 2, 10, false);
    CHECK_EQ(ethnat_rx(&b, f - 14, 14 + JET_FRAME_HDR_LEN + 10, &nlen), ETHNAT_NATIVE);
    mk(f - 14, bcast, bcast, 2, 1, 10, false);
    CHECK(!memcmp(ethnat_wrap(&b, f), bcast, 6));
}

/* What must not teach: a damaged header, a group source MAC, the broadcast
 * station as a source. */
static void test_no_poison(void)
{
    struct ethnat b;
    REQUIRE(ethnat_init(&b, mac_b, 2) == 0);
    uint8_t buf[256];
    uint32_t len, nlen;
    len = mk(buf, mac_b, mac_a, 1, 2, 50, false);
    buf[14 + 9] ^= 1; /* damaged destination channel: header check fails */
    CHECK_EQ(ethnat_rx(&b, buf, len, &nlen), ETHNAT_NATIVE); /* the station drops it */
    CHECK_EQ(nlen, len - 14);
    CHECK_EQ(b.learnt, 0);
    len = mk(buf, mac_b, bcast, 1, 2, 50, false);
    CHECK_EQ(ethnat_rx(&b, buf, len, &nlen), ETHNAT_NATIVE);
    CHECK_EQ(b.learnt, 0);
    len = mk(buf, mac_b, mac_a, JET_STATION_BROADCAST, 2, 50, false);
    CHECK_EQ(ethnat_rx(&b, buf, len, &nlen), ETHNAT_NATIVE);
    CHECK_EQ(b.learnt, 0);
}

/* Classification, and padding: every length from 0 up, hostile ones too. */
static void test_classify(void)
{
    struct ethnat b;
    REQUIRE(ethnat_init(&b, mac_b, 2) == 0);
    uint8_t buf[256];
    uint32_t nlen;
    static const struct {
        const char *what;
        uint16_t dst;
        uint32_t plen;
        bool crc;
        uint16_t ethertype; /* 0: JET_ETHERTYPE */
        int want;
    } t[] = {
        {"for us", 2, 100, false, 0, ETHNAT_NATIVE},
        {"broadcast", JET_STATION_BROADCAST, 100, false, 0, ETHNAT_NATIVE},
        {"for another station", 3, 100, false, 0, ETHNAT_FOREIGN},
        {"IPv4", 2, 100, false, 0x0800, ETHNAT_ETH},
        {"ARP", 2, 100, false, 0x0806, ETHNAT_ETH},
        {"802.1Q tag", 2, 100, false, 0x8100, ETHNAT_ETH},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint32_t len = mk(buf, mac_b, mac_a, 1, t[i].dst, t[i].plen, t[i].crc);
        if (t[i].ethertype)
            jet_store_be16(buf + 12, t[i].ethertype);
        int got = ethnat_rx(&b, buf, len, &nlen);
        if (got != t[i].want)
            fprintf(stderr, "row '%s': %d\n", t[i].what, got);
        CHECK_EQ(got, t[i].want);
        if (got == ETHNAT_NATIVE)
            CHECK_EQ(nlen, len - 14);
    }
    CHECK_EQ(b.foreign, 1);
    /* too short for a native header: lent as Ethernet, whatever it says */
    for (uint32_t len = 0; len < 14 + JET_FRAME_HDR_LEN; len++) {
        mk(buf, mac_b, mac_a, 1, 2, 0, false);
        CHECK_EQ(ethnat_rx(&b, buf, len, &nlen), ETHNAT_ETH);
    }
    /* minimum-size padding: a short frame padded to 60 bytes is trimmed back */
    for (uint32_t plen = 0; plen <= 22; plen++)
        for (int crc = 0; crc < 2; crc++) {
            uint32_t len = mk(buf, mac_b, mac_a, 1, 2, plen, crc);
            uint32_t want = len - 14;
            if (len < ETHNAT_MIN_FRAME) {
                memset(buf + len, 0xEE, ETHNAT_MIN_FRAME - len);
                len = ETHNAT_MIN_FRAME;
            }
            CHECK_EQ(ethnat_rx(&b, buf, len, &nlen), ETHNAT_NATIVE);
            CHECK_EQ(nlen, want);
        }
    /* a payload length beyond the frame (or beyond 65536): lent whole */
    uint32_t len = mk(buf, mac_b, mac_a, 1, 2, 10, false);
    jet_store_be32(buf + 14 + 16, 1000);
    CHECK_EQ(ethnat_rx(&b, buf, ETHNAT_MIN_FRAME, &nlen), ETHNAT_NATIVE);
    CHECK_EQ(nlen, ETHNAT_MIN_FRAME - 14);
    (void)len;
    /* a longer frame is never trimmed, even when its header says it is short */
    len = mk(buf, mac_b, mac_a, 1, 2, 10, false);
    CHECK_EQ(ethnat_rx(&b, buf, 100, &nlen), ETHNAT_NATIVE);
    CHECK_EQ(nlen, 100 - 14);
}

int main(void)
{
    test_station_from_mac();
    test_wrap_and_learn();
    test_no_poison();
    test_classify();
    return check_done("test_ethnat");
}
