/* libFuzzer target for the LAN monitor's reading of a monitor ring, which
 * the stations write in shared memory (hostile input: lan_mon_parse() in
 * src/link/lan_mon.c), and for the checksum it completes in its copy of an
 * Ethernet frame (lan_mon_csum()).
 *
 * Input: head (4 bytes, little-endian), tail (4 bytes), then the ring's
 * bytes (a ring of 1024 bytes: the rest zero).  The monitor's walk is
 * replayed: records are read from head until the tail, a malformed one
 * ending the walk.  Checked: every frame lent lies inside the ring and is
 * 14..frame_max bytes, no more than its whole length (a snap length cuts
 * records), itself 14..frame_max; the head only moves forward, by whole records, never
 * past the tail; after lan_mon_csum, an unfragmented IPv4 TCP or UDP frame
 * (UDP with a checksum) sums to 0xFFFF over its pseudo-header and segment.
 * Any disagreement abort()s.  Also built with fuzz/replay.inc. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "jet/inet.h"
#include "link/lan_impl.h"
#include "link/lan_mon.h"

enum { SIZE = 1024, FRAME_MAX = 600 };

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Whether d (len bytes) is an Ethernet IPv4 TCP/UDP frame lan_mon_csum
 * fills in; then its checksum must verify. */
static void check_csum(const uint8_t *d, uint32_t len)
{
    if (len < 34 || d[12] != 0x08 || d[13] != 0 || (d[14] >> 4) != 4)
        return;
    uint32_t ihl = (d[14] & 15u) * 4, tl = (uint32_t)(d[16] << 8 | d[17]);
    if (ihl < 20 || tl < ihl || 14 + tl > len || ((d[20] & 0x3f) | d[21]))
        return;
    uint32_t l4 = 14 + ihl, l4len = tl - ihl;
    uint8_t proto = d[23];
    if (!((proto == 6 && l4len >= 20) || (proto == 17 && l4len >= 8 && (d[l4 + 6] | d[l4 + 7]))))
        return;
    uint8_t ph[4] = {0, proto, (uint8_t)(l4len >> 8), (uint8_t)l4len};
    uint32_t sum = jet_inet_sum(d + 26, 8, 0);
    sum = jet_inet_sum(ph, 4, sum);
    sum = jet_inet_sum(d + l4, l4len, sum);
    MUST(jet_inet_csum(sum) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t ring[SIZE];
    static uint8_t copy[FRAME_MAX];
    if (size < 8)
        return 0;
    uint32_t h = le32(data), t = le32(data + 4);
    size -= 8;
    memset(ring, 0, sizeof ring);
    memcpy(ring, data + 8, size < SIZE ? size : SIZE);
    for (int step = 0; step < 256; step++) {
        struct lan_mon_view v;
        int rc = lan_mon_parse(ring, SIZE, h, t, FRAME_MAX, &v);
        MUST(rc == 0 || rc == 1 || rc == -EBADMSG);
        if (rc == 0)
            MUST(h == t);
        if (rc != 1)
            break;
        MUST(v.skip >= 32 && v.skip % 32 == 0 && v.skip <= t - h);
        if (v.data) {
            MUST(v.len >= 14 && v.len <= FRAME_MAX && v.encap <= 1);
            MUST(v.len <= v.wire_len && v.wire_len <= FRAME_MAX);
            MUST(v.len >= LAN_MON_SNAP_MIN || v.len == v.wire_len);
            MUST(v.data >= ring + 32 && v.data + v.len <= ring + SIZE);
            MUST(v.skip >= 32 + v.len);
            memcpy(copy, v.data, v.len);
            lan_mon_csum(copy, v.len);
            check_csum(copy, v.len);
        }
        h += v.skip;
    }
    /* the checksum helper on the raw input as a frame, too */
    uint32_t n = size < FRAME_MAX ? (uint32_t)size : FRAME_MAX;
    memcpy(copy, data + 8, n);
    lan_mon_csum(copy, n);
    check_csum(copy, n);
    return 0;
}

/* Seeds: a ring holding two records (the first cut by a snap length) and a
 * pad, and one holding an IPv4 TCP frame. */
static void put_cut(uint8_t *r, uint32_t off, uint32_t pos, uint32_t len, uint32_t wire,
                    uint16_t encap)
{
    struct lan_mon_rec rec = {.pos = pos, .len = len, .at = pos, .encap = encap, .wire_len = wire};
    memcpy(r + off, &rec, sizeof rec);
}

static void put(uint8_t *r, uint32_t off, uint32_t pos, uint32_t len, uint16_t encap)
{
    struct lan_mon_rec rec = {.pos = pos, .len = len, .at = pos, .encap = encap, .wire_len = len};
    memcpy(r + off, &rec, sizeof rec);
}

size_t jet_fuzz_seed(unsigned i, uint8_t *buf, size_t cap)
{
    if (i >= 2 || cap < 8 + SIZE)
        return 0;
    memset(buf, 0, 8 + SIZE);
    uint8_t *r = buf + 8;
    uint32_t h = 4096 + 832, t = h + 192;
    if (i == 1) {
        h = 0;
        t = 128;
    }
    memcpy(buf, &h, 4);
    memcpy(buf + 4, &t, 4);
    if (i == 0) {
        put_cut(r, 832, h, 64, 500, 1);
        put(r, 832 + 96, h + 96, 20, 0);
        put(r, 832 + 160, h + 160, LAN_MON_PAD, 0);
        return 8 + SIZE;
    }
    put(r, 0, 0, 74, 1);
    uint8_t *e = r + 32;
    e[12] = 0x08;
    e[14] = 0x45;
    e[17] = 60; /* IPv4 total length: 20 + TCP 40 */
    e[22] = 64;
    e[23] = 6;
    e[26] = 198, e[27] = 18, e[28] = 0, e[29] = 1;
    e[30] = 198, e[31] = 18, e[32] = 0, e[33] = 2;
    e[34 + 12] = 0xa0;
    return 8 + SIZE;
}
