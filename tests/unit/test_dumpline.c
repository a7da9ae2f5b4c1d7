/* jet dump's printer and filter (tools/jet/dump_print.c), line by line:
 * native frames (RBS SYN and data, broadcast, flags, a failed header check,
 * a bad payload CRC, cut by the snap length), Ethernet (TCP with options,
 * UDP, ICMP, ARP, a native frame inside, another EtherType, an 802.1Q tag,
 * cut frames), the direction, a refused frame, the filters, and the pcapng
 * block reader of -r on the blocks the writer makes. */
#include <errno.h>
#include <stdlib.h>

#include "../../tools/jet/dump_print.c"
#include "check.h"
#include "jet/frame.h"
#include "link/pcapng.h"
#include "rbs/rbs_wire.h"

static uint8_t fr[4096];

/* A native frame with payload pay (plen bytes) into fr; its length. */
static uint32_t native(uint16_t src, uint16_t dst, uint32_t dch, uint32_t sch, uint8_t flags,
                       uint8_t prio, const uint8_t *pay, uint32_t plen)
{
    struct jet_frame_hdr h = {.flags = flags,
                              .prio = prio,
                              .src_station = src,
                              .dst_station = dst,
                              .dst_chan = dch,
                              .src_chan = sch};
    long n = jet_frame_build(fr, sizeof fr, &h, pay, plen);
    REQUIRE(n > 0);
    return (uint32_t)n;
}

static uint32_t rbs(uint8_t *seg, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t datalen,
                    bool syn_opts)
{
    struct rbs_hdr h = {.flags = flags, .seq = seq, .ack = ack, .wnd = 512};
    if (syn_opts) {
        h.opts = RBS_HAS_MSS | RBS_HAS_WSCALE | RBS_HAS_CHAN;
        h.mss = 8940;
        h.wscale = 7;
        h.chan = 77;
    }
    int n = rbs_hdr_emit(seg, 200, &h);
    REQUIRE(n > 0);
    memset(seg + n, 0xab, datalen);
    return (uint32_t)n + datalen;
}

static char line[DUMP_LINE_MAX];

/* The line of rec without its time (HH:MM:SS.nnnnnnnnn and a space). */
static const char *body(uint32_t len, uint32_t caplen, uint8_t encap, uint8_t dir, bool show)
{
    struct jet_capture_rec r = {.ts_ns = 3723123456789ull,
                                .data = fr,
                                .len = len,
                                .caplen = caplen,
                                .encap = encap,
                                .dir = dir};
    size_t n = dump_line(line, sizeof line, &r, show);
    REQUIRE(n > 19 && strlen(line) == n);
    return line + 19;
}

static void expect(const char *got, const char *want)
{
    check_count++;
    if (strcmp(got, want)) {
        check_failures++;
        fprintf(stderr, "got:    %s\nwanted: %s\n", got, want);
    }
}

static void test_native(void)
{
    uint8_t seg[2000];
    uint32_t n = native(3, 1, 5201, 40001, JET_FF_CRC, 0, seg, rbs(seg, RBS_SYN, 100, 0, 0, true));
    expect(body(n, n, JET_ENCAP_NATIVE, JET_CAPTURE_OUT, true),
           "Out JET 3.40001 > 1.5201, flags [CRC], prio 0, length 68: RBS Flags [S], seq 100, win "
           "512, options [mss 8940,wscale 7,chan 77], length 0");
    n = native(1, 3, 40001, 77, JET_FF_CRC, 2, seg, rbs(seg, RBS_ACK, 1000, 101, 1448, false));
    expect(body(n, n, JET_ENCAP_NATIVE, JET_CAPTURE_IN, true),
           "In  JET 1.77 > 3.40001, flags [CRC], prio 2, length 1500: RBS Flags [.], seq "
           "1000:2448, ack 101, win 512, length 1448");
    /* cut inside the RBS header; then inside the frame header */
    expect(body(n, 30, JET_ENCAP_NATIVE, 0, false),
           "JET 1.77 > 3.40001, flags [CRC], prio 2, length 1500: RBS [|rbs]");
    expect(body(n, 20, JET_ENCAP_NATIVE, 0, false), "JET, length 1500 [|jet]");
    /* a payload CRC that fails (whole frame captured) */
    fr[100] ^= 1;
    expect(body(n, n, JET_ENCAP_NATIVE, 0, false),
           "JET 1.77 > 3.40001, flags [CRC], prio 2, length 1500: RBS Flags [.], seq 1000:2448, "
           "ack 101, win 512, length 1448 (crc bad)");
    /* a header that fails its check: nothing of it used */
    fr[3] ^= 1;
    expect(body(n, n, JET_ENCAP_NATIVE, 0, false), "JET bad header check, length 1500");
    /* broadcast, no CRC, not RBS */
    n = native(7, JET_STATION_BROADCAST, 9, 8, JET_FF_CRC_BAD, 5, (const uint8_t *)"hello", 5);
    expect(body(n, n, JET_ENCAP_NATIVE, 0, false),
           "JET 7.8 > bcast.9, flags [BAD], prio 5, length 29: data 5");
    n = native(7, 2, 9, 8, 0, 0, NULL, 0);
    expect(body(n, n, JET_ENCAP_NATIVE, 0, false),
           "JET 7.8 > 2.9, flags [none], prio 0, length 24");
    /* a length field larger than the frame */
    n = native(7, 2, 9, 8, 0, 0, (const uint8_t *)"abcd", 4);
    expect(body(n - 2, n - 2, JET_ENCAP_NATIVE, 0, false),
           "JET 7.8 > 2.9, flags [none], prio 0, length 26 (malformed: payload length 4)");
    /* refused */
    struct jet_capture_rec r = {.ts_ns = 3723123456789ull,
                                .data = fr,
                                .len = n,
                                .caplen = n,
                                .dir = JET_CAPTURE_OUT,
                                .refused = 1};
    dump_line(line, sizeof line, &r, true);
    CHECK(strstr(line, "(not sent: refused by the link)") != NULL);
    CHECK(!strncmp(line, "01:02:03.123456789 Out JET", 26)); /* TZ=UTC */
}

static const uint8_t mac_a[6] = {2, 0x4a, 0x53, 0, 0, 1}, mac_b[6] = {2, 0x4a, 0x53, 0, 0, 2};

static uint32_t eth(uint16_t type, bool vlan)
{
    memcpy(fr, mac_b, 6);
    memcpy(fr + 6, mac_a, 6);
    size_t o = 12;
    if (vlan) {
        fr[12] = 0x81;
        fr[13] = 0;
        fr[14] = 0;
        fr[15] = 5;
        o = 16;
    }
    fr[o] = (uint8_t)(type >> 8);
    fr[o + 1] = (uint8_t)type;
    return (uint32_t)o + 2;
}

static uint32_t ipv4(uint32_t o, uint8_t proto, uint32_t plen)
{
    uint8_t *h = fr + o;
    memset(h, 0, 20);
    h[0] = 0x45;
    h[2] = (uint8_t)((20 + plen) >> 8);
    h[3] = (uint8_t)(20 + plen);
    h[8] = 64;
    h[9] = proto;
    uint8_t a[] = {198, 18, 0, 1, 198, 18, 0, 2};
    memcpy(h + 12, a, 8);
    return o + 20;
}

static void test_eth(void)
{
    /* TCP SYN with options */
    uint32_t o = ipv4(eth(0x0800, false), 6, 40);
    uint8_t tcp[40] = {0x9c, 0x40, 0x14, 0x51, 0, 0, 0, 100, 0,    0,    0, 0, 0xa0, 0x02,
                       0xff, 0xff, 0,    0,    0, 0, 2, 4,   0x23, 0x30, 4, 2, 8,    10,
                       0,    0,    0,    9,    0, 0, 0, 0,   1,    3,    3, 7};
    memcpy(fr + o, tcp, sizeof tcp);
    uint32_t n = o + 40;
    expect(body(n, n, JET_ENCAP_ETH, 0, false),
           "IP 198.18.0.1.40000 > 198.18.0.2.5201: Flags [S], seq 100, win 65535, options [mss "
           "9008,sackOK,TS val 9 ecr 0,nop,wscale 7], length 0");
    /* data with ACK+PSH, in a VLAN tag; then cut */
    o = ipv4(eth(0x0800, true), 6, 20 + 100);
    uint8_t d[20] = {0x14, 0x51, 0x9c, 0x40, 0, 0, 1, 0, 0, 0, 0, 101, 0x50, 0x18, 0, 64};
    memcpy(fr + o, d, sizeof d);
    n = o + 120;
    expect(body(n, n, JET_ENCAP_ETH, 0, false),
           "IP 198.18.0.1.5201 > 198.18.0.2.40000: Flags [P.], seq 256:356, ack 101, win 64, "
           "length 100");
    expect(body(n, o + 10, JET_ENCAP_ETH, 0, false), "IP 198.18.0.1 > 198.18.0.2: [|tcp]");
    fr[o - 20 + 13 + 20] = 0; /* no flags at all */
    expect(body(n, n, JET_ENCAP_ETH, 0, false),
           "IP 198.18.0.1.5201 > 198.18.0.2.40000: Flags [none], seq 256:356, win 64, length 100");
    expect(body(n, 30, JET_ENCAP_ETH, 0, false), "IP [|ip]");
    /* UDP, ICMP echo, another protocol, a fragment */
    o = ipv4(eth(0x0800, false), 17, 20);
    uint8_t u[8] = {0x13, 0x88, 0, 7, 0, 20, 0, 0};
    memcpy(fr + o, u, 8);
    expect(body(o + 20, o + 20, JET_ENCAP_ETH, 0, false),
           "IP 198.18.0.1.5000 > 198.18.0.2.7: UDP, length 12");
    o = ipv4(eth(0x0800, false), 1, 64);
    uint8_t ic[8] = {8, 0, 0, 0, 0, 7, 0, 1};
    memcpy(fr + o, ic, 8);
    expect(body(o + 64, o + 64, JET_ENCAP_ETH, 0, false),
           "IP 198.18.0.1 > 198.18.0.2: ICMP echo request, id 7, seq 1, length 64");
    o = ipv4(eth(0x0800, false), 47, 10);
    expect(body(o + 10, o + 10, JET_ENCAP_ETH, 0, false),
           "IP 198.18.0.1 > 198.18.0.2: ip-proto-47, length 10");
    o = ipv4(eth(0x0800, false), 6, 100);
    fr[o - 20 + 6] = 0x20;
    fr[o - 20 + 7] = 0x10; /* MF, offset 16 * 8 */
    expect(body(o + 100, o + 100, JET_ENCAP_ETH, 0, false),
           "IP 198.18.0.1 > 198.18.0.2: ip-proto-6 (fragment offset 128), length 100");
    /* ARP request and reply */
    o = eth(0x0806, false);
    uint8_t arp[28] = {0,   1,  8, 0, 6, 4, 0, 1, 2, 0x4a, 0x53, 0,  0, 1,
                       198, 18, 0, 1, 0, 0, 0, 0, 0, 0,    198,  18, 0, 2};
    memcpy(fr + o, arp, 28);
    expect(body(60, 60, JET_ENCAP_ETH, 0, false),
           "ARP, Request who-has 198.18.0.2 tell 198.18.0.1, length 28");
    fr[o + 7] = 2;
    expect(body(60, 60, JET_ENCAP_ETH, 0, false),
           "ARP, Reply 198.18.0.1 is-at 02:4a:53:00:00:01, length 28");
    expect(body(60, o + 10, JET_ENCAP_ETH, 0, false), "ARP [|arp]");
    /* a native frame inside Ethernet; another EtherType; too short */
    uint8_t nat[64];
    uint32_t nl = native(1, 2, 9, 7, JET_FF_CRC, 0, (const uint8_t *)"x", 1);
    memcpy(nat, fr, nl);
    o = eth(0x88B5, false);
    memcpy(fr + o, nat, nl);
    expect(body(60, 60, JET_ENCAP_ETH, 0, false),
           "02:4a:53:00:00:01 > 02:4a:53:00:00:02, JET 1.7 > 2.9, flags [CRC], prio 0, length 46: "
           "data 1");
    eth(0x86dd, false);
    expect(body(86, 86, JET_ENCAP_ETH, 0, false),
           "02:4a:53:00:00:01 > 02:4a:53:00:00:02, ethertype 0x86dd, length 86");
    expect(body(10, 10, JET_ENCAP_ETH, 0, false), "Ethernet, length 10 [|ether]");
    /* a tiny buffer: cut, terminated */
    struct jet_capture_rec r = {.data = fr, .len = 86, .caplen = 86, .encap = JET_ENCAP_ETH};
    char small[8];
    CHECK_EQ(dump_line(small, sizeof small, &r, true), 7);
    CHECK_EQ(strlen(small), 7);
}

static void test_filter(void)
{
    uint32_t n = native(3, 1, 5201, 40001, 0, 0, NULL, 0);
    struct jet_capture_rec r = {.data = fr, .len = n, .caplen = n, .encap = JET_ENCAP_NATIVE};
    struct dump_filter f = {0};
    CHECK(dump_match(&f, &r));
    f = (struct dump_filter){.has_chan = true, .chan = 5201};
    CHECK(dump_match(&f, &r));
    f.chan = 40001;
    CHECK(dump_match(&f, &r));
    f.chan = 7;
    CHECK(!dump_match(&f, &r));
    f = (struct dump_filter){.has_station = true, .station = 3};
    CHECK(dump_match(&f, &r));
    f.station = 2;
    CHECK(!dump_match(&f, &r));
    f = (struct dump_filter){.has_station = true, .station = 1, .has_chan = true, .chan = 7};
    CHECK(!dump_match(&f, &r)); /* both must hold */
    r.caplen = 20;
    f = (struct dump_filter){.has_station = true, .station = 1};
    CHECK(!dump_match(&f, &r)); /* too short to tell */
    /* Ethernet: by MAC with has_mac; channels only of native frames inside */
    uint32_t o = ipv4(eth(0x0800, false), 17, 8);
    r = (struct jet_capture_rec){.data = fr, .len = o + 8, .caplen = o + 8, .encap = JET_ENCAP_ETH};
    f = (struct dump_filter){.has_station = true, .station = 1, .has_mac = true};
    memcpy(f.mac, mac_a, 6);
    CHECK(dump_match(&f, &r));
    f.mac[5] = 9;
    CHECK(!dump_match(&f, &r));
    f = (struct dump_filter){.has_chan = true, .chan = 5201};
    CHECK(!dump_match(&f, &r));
}

static void test_reader(void)
{
    uint8_t b[512];
    struct dump_pcapng s = {0};
    struct jet_capture_rec r;
    const char *why = NULL;
    int n = pcapng_epb_emit(b, sizeof b, 0, 1, fr, 10, 10, 1, NULL);
    CHECK_EQ(dump_pcapng_block(&s, b, (size_t)n, &r, &why), -EBADMSG); /* no SHB first */
    n = pcapng_shb_emit(b, sizeof b, "x");
    CHECK_EQ(dump_pcapng_block(&s, b, (size_t)n, &r, &why), 0);
    n = pcapng_idb_emit(b, sizeof b, 147, 100, "lan:x");
    CHECK_EQ(dump_pcapng_block(&s, b, (size_t)n, &r, &why), 0);
    CHECK(s.nif == 1 && s.ifs[0].encap == JET_ENCAP_NATIVE && s.ifs[0].tsresol == 9);
    n = pcapng_idb_emit(b, sizeof b, 228, 100, "raw"); /* LINKTYPE_IPV4: not printed */
    CHECK_EQ(dump_pcapng_block(&s, b, (size_t)n, &r, &why), 0);
    n = pcapng_epb_emit(b, sizeof b, 0, 1234567890123ull, fr, 10, 30, 2, "not sent: x");
    CHECK_EQ(dump_pcapng_block(&s, b, (size_t)n, &r, &why), 1);
    CHECK(r.ts_ns == 1234567890123ull && r.caplen == 10 && r.len == 30 &&
          r.dir == JET_CAPTURE_OUT && r.refused && r.data == b + 28 && r.encap == JET_ENCAP_NATIVE);
    n = pcapng_epb_emit(b, sizeof b, 1, 1, fr, 10, 10, 1, NULL);
    CHECK_EQ(dump_pcapng_block(&s, b, (size_t)n, &r, &why), 0); /* interface 1: not printed */
    n = pcapng_epb_emit(b, sizeof b, 2, 1, fr, 10, 10, 1, NULL);
    CHECK_EQ(dump_pcapng_block(&s, b, (size_t)n, &r, &why), -EBADMSG); /* no interface 2 */
    CHECK(why && strstr(why, "interface"));
    n = pcapng_epb_emit(b, sizeof b, 0, 1, fr, 10, 10, 1, NULL);
    b[20] = 200; /* captured length past the block */
    CHECK_EQ(dump_pcapng_block(&s, b, (size_t)n, &r, &why), -EBADMSG);
    CHECK_EQ(dump_pcapng_block(&s, b, (size_t)n - 4, &r, &why), -EBADMSG); /* lengths disagree */
    /* microseconds (the default resolution) become nanoseconds */
    s.ifs[0].tsresol = 6;
    n = pcapng_epb_emit(b, sizeof b, 0, 5, fr, 4, 4, 0, NULL);
    CHECK_EQ(dump_pcapng_block(&s, b, (size_t)n, &r, &why), 1);
    CHECK_EQ(r.ts_ns, 5000);
    CHECK_EQ(r.dir, 0);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    test_native();
    test_eth();
    test_filter();
    test_reader();
    return check_done("test_dumpline");
}
