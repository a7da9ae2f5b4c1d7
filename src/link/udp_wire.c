/* The udp: link's datagram format (udp.h, docs/link-udp.md): cutting what
 * one read returned into frames.  Every length is checked before a byte is
 * read: the datagrams come from the network. */
#include "link/udp.h"

#include "jet/frame.h"

unsigned udp_cut(const uint8_t *d, uint32_t len, uint32_t seg, uint32_t *off,
                 struct udp_piece *out, unsigned max, uint64_t *bad)
{
    unsigned n = 0;
    if (seg == 0 || seg > len)
        seg = len;
    if (len == 0 && *off == 0) { /* an empty datagram */
        ++*bad;
        return 0;
    }
    while (n < max && *off < len) {
        uint32_t o = *off, l = len - o < seg ? len - o : seg;
        const uint8_t *p = d + o;
        *off = o + l;
        if (l >= JET_FRAME_HDR_LEN && p[0] == JET_FRAME_VERSION) {
            out[n++] = (struct udp_piece){.off = o, .len = l, .encap = JET_ENCAP_NATIVE};
        } else if (l >= UDP_SHIM_LEN + UDP_ETH_MIN && p[0] == UDP_SHIM0 && p[1] == 0) {
            out[n++] = (struct udp_piece){.off = o + UDP_SHIM_LEN, .len = l - UDP_SHIM_LEN,
                                          .encap = JET_ENCAP_ETH};
        } else {
            ++*bad;
        }
    }
    return n;
}
