/* Capture: a link wrapper that sees every frame in and out of the link it
 * wraps, with a timestamp, and writes it to a pcapng file and/or hands it to
 * a callback (jet dump; docs/capture.md).  It is an ordinary link in front of
 * any other (the same place as fault:), so protocols take no special path:
 * `capture:PATH/INNER` by name through jet_link_open(), or jet_capture_wrap()
 * with options.
 *
 * What is seen: each frame rx_burst lends (direction IN), when it is lent;
 * each frame tx_commit is given (direction OUT), before the inner link takes
 * it (a frame the inner link then refuses is still recorded, flagged). The
 * bytes recorded are the frame as the link carries it: a native Jetstream
 * frame (JET_ENCAP_NATIVE) or an Ethernet frame (JET_ENCAP_ETH).
 *
 * pcapng (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html):
 * one Section Header Block, then an Interface Description Block per
 * encapsulation the link carries (LINKTYPE_ETHERNET = 1 for Ethernet frames,
 * LINKTYPE_USER0 = 147 for native frames), each with if_name (the link's
 * name), if_tsresol = 9 (nanoseconds) and the snap length; then an Enhanced
 * Packet Block per frame with epb_flags giving the direction.  A frame
 * longer than the snap length is cut, its original length kept.
 *
 * Ownership: the record handed to the callback, and the bytes it points to,
 * belong to the wrapper and are valid only during the call.  The wrapper owns
 * the inner link (closed by jet_link_close() of the wrapper) and the file. */
#ifndef JET_CAPTURE_H
#define JET_CAPTURE_H

#pragma GCC visibility push(default) /* the library exports only what these headers declare */

#include <stdint.h>

#include "err.h"
#include "link.h"

#define JET_LINKTYPE_ETHERNET 1u
#define JET_LINKTYPE_USER0 147u /* native Jetstream frames (tools/wireshark/) */

enum jet_capture_dir { JET_CAPTURE_IN = 1, JET_CAPTURE_OUT = 2 };

/* One captured frame. */
struct jet_capture_rec {
    uint64_t ts_ns;        /* CLOCK_REALTIME, nanoseconds since the epoch */
    const uint8_t *data;   /* the first caplen bytes of the frame */
    uint32_t caplen;       /* bytes at data: min(len, snaplen) */
    uint32_t len;          /* the frame's whole length */
    uint8_t dir;           /* enum jet_capture_dir */
    uint8_t encap;         /* enum jet_encap */
    uint8_t refused;       /* OUT: the inner link refused it (not sent) */
};

typedef void (*jet_capture_fn)(void *arg, const struct jet_capture_rec *r);

struct jet_capture_opts {
    const char *path;   /* pcapng file to create (truncated if it exists), or NULL */
    jet_capture_fn fn;  /* called for each frame, or NULL */
    void *arg;
    uint32_t snaplen;   /* bytes kept per frame; 0 = whole frames (up to 262144) */
};

/* Wraps inner (consumed: closed on failure too) in a capture link. At least
 * one of path and fn. 0 with *out set, or a negative errno with the reason in
 * err (-EINVAL bad options, a file error from creating path). */
int jet_capture_wrap(struct jet_link *inner, const struct jet_capture_opts *o,
                     struct jet_link **out, struct jet_err *err);

#pragma GCC visibility pop

#endif
