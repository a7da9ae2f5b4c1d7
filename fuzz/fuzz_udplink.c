/* libFuzzer target for the udp: link's datagram parser, udp_cut()
 * (src/link/udp_wire.c, docs/link-udp.md): what one read returned, a
 * datagram or a GRO train of them, cut into frames.
 *
 * Input: bytes 0-1 the train's datagram size (big-endian; 0 = one datagram),
 * byte 2 the most pieces per call (0..255, 0 taken as 1), the rest the bytes
 * read.  The buffer is cut to the end in calls of at most that many pieces,
 * and each piece checked against a plain reading of the format:
 *   - every piece lies inside the buffer, at the start of its datagram (native)
 *     or two bytes after it (Ethernet);
 *   - a native piece is a whole datagram of >= 24 bytes beginning 01; an
 *     Ethernet one a whole datagram of >= 16 beginning 80 00, less the shim;
 *   - every datagram is lent or counted as dropped, once, in order, and the
 *     result does not depend on the pieces per call.
 * Any disagreement abort()s.  Also built with fuzz/replay.inc as a plain driver. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jet/frame.h"
#include "jet/link.h"
#include "link/udp.h"
#include "fuzz.h"

enum { MAXP = 256 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    uint32_t seg = (uint32_t)data[0] << 8 | data[1];
    unsigned per = data[2] ? data[2] : 1;
    uint32_t len = (uint32_t)(size - 3);
    /* a copy of its own size, so ASan sees a read past the end */
    uint8_t *d = malloc(len ? len : 1);
    MUST(d);
    memcpy(d, data + 3, len);
    uint32_t step = seg && seg < len ? seg : len;

    struct udp_piece pc[MAXP];
    uint32_t off = 0, expect = 0; /* the next datagram a piece may come from */
    uint64_t bad = 0, want_bad = 0;
    unsigned calls = 0;
    do {
        uint32_t before = off;
        unsigned n = udp_cut(d, len, seg, &off, pc, per, &bad);
        MUST(n <= per);
        MUST(off >= before && off <= len);
        for (unsigned i = 0; i < n; i++) {
            const struct udp_piece *p = &pc[i];
            MUST(p->off <= len && p->len <= len - p->off);
            /* datagrams skipped before this piece: each must be malformed */
            uint32_t start = p->encap == JET_ENCAP_ETH ? p->off - UDP_SHIM_LEN : p->off;
            MUST(start >= expect && (start - expect) % (step ? step : 1) == 0);
            for (uint32_t s = expect; s < start; s += step) {
                uint32_t l = len - s < step ? len - s : step;
                MUST(!(l >= JET_FRAME_HDR_LEN && d[s] == JET_FRAME_VERSION));
                MUST(!(l >= UDP_SHIM_LEN + UDP_ETH_MIN && d[s] == UDP_SHIM0 && d[s + 1] == 0));
                want_bad++;
            }
            uint32_t l = len - start < step ? len - start : step;
            if (p->encap == JET_ENCAP_NATIVE) {
                MUST(l == p->len && l >= JET_FRAME_HDR_LEN && d[start] == JET_FRAME_VERSION);
            } else {
                MUST(p->encap == JET_ENCAP_ETH);
                MUST(l == p->len + UDP_SHIM_LEN && l >= UDP_SHIM_LEN + UDP_ETH_MIN);
                MUST(d[start] == UDP_SHIM0 && d[start + 1] == 0);
            }
            expect = start + l;
        }
        MUST(++calls <= len + 2); /* progress every call */
    } while (off < len);
    for (uint32_t s = expect; s < len; s += step) /* dropped after the last piece */
        want_bad++;
    if (len == 0)
        want_bad = 1; /* an empty datagram */
    MUST(bad == want_bad);
    free(d);
    return 0;
}

size_t jet_fuzz_seed(unsigned i, uint8_t *buf, size_t cap)
{
    if (cap < 3 + 400)
        return 0;
    memset(buf, 0, 3 + 400);
    switch (i) {
    case 0: /* one native frame */
        buf[2] = 8;
        buf[3] = 1;
        return 3 + 60;
    case 1: /* one Ethernet frame */
        buf[2] = 8;
        buf[3] = 0x80;
        return 3 + 60;
    case 2: /* a train of 100: native, Ethernet, junk, a native one too short */
        buf[1] = 100;
        buf[2] = 2;
        buf[3] = 1;
        buf[103] = 0x80;
        buf[203] = 0x42;
        buf[303] = 1;
        return 3 + 320;
    default:
        return 0;
    }
}
