/* Ethernet and native Jetstream frames sharing the emulated LAN (issue 11,
 * item 1): one sender interleaves native unicast, native broadcast,
 * Ethernet unicast by station MAC, Ethernet broadcast and multicast, and a
 * full-size Ethernet frame; every station gets exactly the frames addressed
 * to it (group addresses: every station but the sender), in the order they
 * were sent, with their encapsulation and bytes intact.  Then the limits:
 * an Ethernet frame one byte over what the LAN carries is refused with
 * -EMSGSIZE, one to the MAC of a station not attached with -EHOSTUNREACH
 * (and counted), and a long interleaved run of both kinds to one station
 * arrives whole and in order.  No pool buffer is left behind. */
#include <errno.h>
#include <unistd.h>

#include "check.h"
#include "jet/frame.h"
#include "jet/lan.h"
#include "util/clock.h"

enum { MTU = 9000, NATIVE = 0, ETH = 1 };

static char lan[64];

static struct jet_link *attach(int st)
{
    struct jet_link *l = NULL;
    struct jet_err err = {0};
    int rc = jet_lan_attach(lan, st, &l, &err);
    if (rc)
        fprintf(stderr, "attach %s/%d: %s\n", lan, st, err.msg);
    REQUIRE(rc == 0);
    return l;
}

/* A native frame to dst whose payload starts with tag. */
static int send_native(struct jet_link *l, uint32_t dst, uint32_t tag)
{
    struct jet_frame f;
    int rc = jet_link_tx_alloc(l, &f);
    if (rc)
        return rc;
    uint8_t payload[64] = {0};
    memcpy(payload, &tag, 4);
    struct jet_frame_hdr h = {.flags = JET_FF_CRC,
                              .src_station = (uint16_t)jet_lan_station(l),
                              .dst_station = (uint16_t)dst,
                              .dst_chan = 7,
                              .src_chan = 7,
                              .payload_len = sizeof payload};
    long n = jet_frame_build(f.data, f.cap, &h, payload, sizeof payload);
    REQUIRE(n > 0);
    f.len = (uint32_t)n;
    f.encap = JET_ENCAP_NATIVE;
    return jet_link_tx_commit(l, &f);
}

/* An Ethernet frame of len bytes to dst (6 bytes), EtherType type, the
 * payload filled with bytes derived from tag (tag itself in the first 4). */
static int send_eth(struct jet_link *l, const uint8_t dst[6], uint16_t type, uint32_t tag,
                    uint32_t len)
{
    struct jet_frame f;
    int rc = jet_link_tx_alloc(l, &f);
    if (rc)
        return rc;
    REQUIRE(len >= 18 && len <= f.cap);
    memcpy(f.data, dst, 6);
    memcpy(f.data + 6, l->caps.mac, 6);
    f.data[12] = (uint8_t)(type >> 8);
    f.data[13] = (uint8_t)type;
    memcpy(f.data + 14, &tag, 4);
    for (uint32_t i = 18; i < len; i++)
        f.data[i] = (uint8_t)(tag * 31 + i);
    f.len = len;
    f.encap = JET_ENCAP_ETH;
    return jet_link_tx_commit(l, &f);
}

struct got {
    uint8_t encap;
    uint32_t tag, len;
    uint16_t type; /* Ethernet */
    bool intact;
};

/* Receives up to max frames at l (flushing the sender s meanwhile) until
 * max arrived or ms passed; returns the count. */
static int recv_all(struct jet_link *l, struct jet_link *s, struct got *g, int max, int ms)
{
    int n = 0;
    uint64_t until = jet_now_ns() + (uint64_t)ms * 1000000;
    while (jet_now_ns() < until) {
        struct jet_frame f[32];
        jet_link_tx_flush(s);
        int k = jet_link_rx_burst(l, f, 32);
        REQUIRE(k >= 0);
        for (int i = 0; i < k; i++) {
            struct got x = {.encap = f[i].encap, .len = f[i].len, .intact = true};
            if (f[i].encap == JET_ENCAP_ETH) {
                memcpy(&x.tag, f[i].data + 14, 4);
                x.type = (uint16_t)(f[i].data[12] << 8 | f[i].data[13]);
                x.intact = !memcmp(f[i].data + 6, s->caps.mac, 6);
                for (uint32_t j = 18; j < f[i].len; j++)
                    if (f[i].data[j] != (uint8_t)(x.tag * 31 + j))
                        x.intact = false;
            } else {
                struct jet_frame_hdr h;
                x.intact = jet_frame_parse(f[i].data, f[i].len, &h, 0) == 0 && !h.crc_bad;
                memcpy(&x.tag, f[i].data + JET_FRAME_HDR_LEN, 4);
            }
            if (n < max)
                g[n] = x;
            n++;
        }
        jet_link_rx_release(l, f, (unsigned)k);
        if (n >= max) {
            /* anything more would be a frame too many: look once more */
            jet_link_tx_flush(s);
            k = jet_link_rx_burst(l, f, 32);
            REQUIRE(k >= 0);
            jet_link_rx_release(l, f, (unsigned)k);
            return n + k;
        }
        if (k == 0)
            usleep(100);
    }
    return n;
}

static void expect(const char *who, const struct got *g, int n, const struct got *want, int nw)
{
    if (n != nw)
        fprintf(stderr, "%s: %d frames, wanted %d\n", who, n, nw);
    CHECK_EQ(n, nw);
    for (int i = 0; i < n && i < nw; i++) {
        if (g[i].encap != want[i].encap || g[i].tag != want[i].tag || g[i].len != want[i].len ||
            g[i].type != want[i].type || !g[i].intact)
            fprintf(stderr, "%s: frame %d: encap %u tag %u len %u type %04x intact %d, wanted "
                    "encap %u tag %u len %u type %04x\n",
                    who, i, g[i].encap, g[i].tag, g[i].len, g[i].type, g[i].intact, want[i].encap,
                    want[i].tag, want[i].len, want[i].type);
        CHECK_EQ(g[i].encap, want[i].encap);
        CHECK_EQ(g[i].tag, want[i].tag);
        CHECK_EQ(g[i].len, want[i].len);
        CHECK_EQ(g[i].type, want[i].type);
        CHECK(g[i].intact);
    }
}

int main(void)
{
    struct jet_lan_config c;
    jet_lan_config_default(&c);
    c.stations = 4;
    c.mtu = MTU;
    snprintf(lan, sizeof lan, "t-%d-eth", (int)getpid());
    struct jet_err err = {0};
    REQUIRE(jet_lan_create(lan, &c, &err) == 0);

    struct jet_link *s0 = attach(0), *s1 = attach(1), *s2 = attach(2);
    uint8_t mac1[6], mac2[6], mac3[6];
    jet_lan_station_mac(s0, 1, mac1);
    jet_lan_station_mac(s0, 2, mac2);
    jet_lan_station_mac(s0, 3, mac3);
    CHECK(s1->caps.has_mac && !memcmp(s1->caps.mac, mac1, 6));
    CHECK(s2->caps.has_mac && !memcmp(s2->caps.mac, mac2, 6));
    CHECK(s0->caps.native && s0->caps.eth);
    const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    const uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
    uint32_t big = MTU + 14; /* an untagged frame of the LAN's MTU */
    uint32_t nlen = JET_FRAME_HDR_LEN + 64 + 4;

    /* One interleaved sequence from station 0. */
    CHECK_EQ(send_native(s0, 1, 101), 0);
    CHECK_EQ(send_eth(s0, mac2, 0x0800, 102, 60), 0);
    CHECK_EQ(send_eth(s0, bcast, 0x0806, 103, 60), 0);
    CHECK_EQ(send_native(s0, JET_STATION_BROADCAST, 104), 0);
    CHECK_EQ(send_eth(s0, mcast, 0x0800, 105, 200), 0);
    CHECK_EQ(send_eth(s0, mac1, 0x0800, 106, big), 0);
    CHECK_EQ(send_native(s0, 2, 107), 0);
    CHECK_EQ(send_eth(s0, mac2, 0x86dd, 108, 1514), 0);

    struct got g[16];
    const struct got w1[] = {{NATIVE, 101, nlen, 0, 1},  {ETH, 103, 60, 0x0806, 1},
                             {NATIVE, 104, nlen, 0, 1},  {ETH, 105, 200, 0x0800, 1},
                             {ETH, 106, big, 0x0800, 1}};
    const struct got w2[] = {{ETH, 102, 60, 0x0800, 1},  {ETH, 103, 60, 0x0806, 1},
                             {NATIVE, 104, nlen, 0, 1},  {ETH, 105, 200, 0x0800, 1},
                             {NATIVE, 107, nlen, 0, 1},  {ETH, 108, 1514, 0x86dd, 1}};
    int n = recv_all(s1, s0, g, 5, 2000);
    expect("station 1", g, n, w1, 5);
    n = recv_all(s2, s0, g, 6, 2000);
    expect("station 2", g, n, w2, 6);
    n = recv_all(s0, s0, g, 1, 50);
    CHECK_EQ(n, 0); /* the sender gets none of its own group frames */

    /* Limits: the LAN carries Ethernet frames of its MTU plus a tagged header. */
    CHECK_EQ(send_eth(s0, mac1, 0x8100, 109, MTU + 18), 0);
    CHECK_EQ(send_eth(s0, mac1, 0x0800, 110, MTU + 19), -EMSGSIZE);
    struct jet_lan_station_info si0;
    jet_lan_station_stats(s0, &si0);
    CHECK_EQ(send_eth(s0, mac3, 0x0800, 111, 60), -EHOSTUNREACH); /* station 3 not attached */
    struct jet_lan_station_info si1;
    jet_lan_station_stats(s0, &si1);
    CHECK_EQ(si1.tx_unreach, si0.tx_unreach + 1);
    n = recv_all(s1, s0, g, 1, 2000);
    const struct got w3[] = {{ETH, 109, MTU + 18, 0x8100, 1}};
    expect("station 1, tagged", g, n, w3, 1);

    /* A long interleaved run of both kinds to station 1, received as it goes. */
    enum { RUN = 4000 };
    uint32_t sent = 0, got = 0;
    bool order = true;
    uint64_t until = jet_now_ns() + 5000000000ull;
    while (got < RUN && jet_now_ns() < until) {
        while (sent < RUN) {
            int rc = sent % 2 ? send_eth(s0, sent % 3 ? mac1 : bcast, 0x0800, 1000 + sent,
                                         sent % 5 ? 1514 : 64)
                              : send_native(s0, 1, 1000 + sent);
            if (rc == -EAGAIN || rc == -ENOBUFS)
                break;
            CHECK_EQ(rc, 0);
            sent++;
        }
        struct jet_frame f[32];
        jet_link_tx_flush(s0);
        int k = jet_link_rx_burst(s1, f, 32);
        REQUIRE(k >= 0);
        for (int i = 0; i < k; i++) {
            uint32_t tag;
            bool eth = f[i].encap == JET_ENCAP_ETH;
            memcpy(&tag, f[i].data + (eth ? 14 : JET_FRAME_HDR_LEN), 4);
            if (tag != 1000 + got || eth != (got % 2 == 1))
                order = false;
            got++;
        }
        jet_link_rx_release(s1, f, (unsigned)k);
        /* station 2 gets the broadcasts: keep its rings from filling */
        k = jet_link_rx_burst(s2, f, 32);
        REQUIRE(k >= 0);
        jet_link_rx_release(s2, f, (unsigned)k);
    }
    CHECK_EQ(got, RUN);
    CHECK(order);

    jet_link_close(s0);
    jet_link_close(s1);
    jet_link_close(s2);
    struct jet_lan_info *in = calloc(1, sizeof *in);
    REQUIRE(in && jet_lan_info(lan, in, &err) == 0);
    CHECK_EQ(in->buffers_free, in->config.buffers);
    free(in);
    CHECK_EQ(jet_lan_destroy(lan, false, &err), 0);
    return check_done("test_lan_eth");
}
