/* jet dump's printer and filter: one line per frame, as tcpdump prints
 * (docs/capture.md), from the bytes a capture recorded.  The bytes are
 * hostile input (another station's frames, a file from anywhere, a cut
 * snap length): every field is length-checked before it is read, and a
 * frame cut short is printed as far as it goes, then "[|what]".
 * No I/O, no allocation: fuzz/fuzz_dumpline.c runs it. */
#ifndef JET_TOOLS_DUMP_PRINT_H
#define JET_TOOLS_DUMP_PRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jet/capture.h"

/* --chan and --station: a frame is kept when it matches every filter set. */
struct dump_filter {
    bool has_chan, has_station, has_mac;
    uint32_t chan;    /* a native frame's source or destination channel */
    uint32_t station; /* a native frame's source or destination station ... */
    uint8_t mac[6];   /* ... or, when has_mac, an Ethernet frame from or to this MAC */
};

/* The native header of a frame (native, or inside Ethernet as 0x88B5)
 * whose header check holds: true with *n set. */
struct dump_native {
    uint16_t src, dst;
    uint32_t src_chan, dst_chan;
    uint8_t flags;
};
bool dump_native_of(const struct jet_capture_rec *r, struct dump_native *n);

/* Whether the frame (r->caplen bytes at r->data) passes f.  A frame too
 * short to tell does not. */
bool dump_match(const struct dump_filter *f, const struct jet_capture_rec *r);

enum { DUMP_LINE_MAX = 512 };

/* Writes r's line (no newline) into buf (cap bytes, NUL-terminated, cut if
 * short); show_dir: "In  " / "Out " after the time (not on a monitor, which
 * sees every station's frames).  Returns the length written. */
size_t dump_line(char *buf, size_t cap, const struct jet_capture_rec *r, bool show_dir);

/* Reading a pcapng file (jet dump -r): little-endian sections, the
 * interfaces' link types (Ethernet, USER0) and timestamp resolutions, and
 * their Enhanced Packet Blocks; other blocks are passed over. */
enum { DUMP_IF_MAX = 64, DUMP_BLOCK_MAX = 16 << 20 };
struct dump_pcapng {
    uint32_t nif;
    struct dump_if {
        int8_t encap;    /* enum jet_encap, -1: a link type not printed */
        uint8_t tsresol; /* the if_tsresol option as is (default 6) */
    } ifs[DUMP_IF_MAX];
    bool seen_shb;
};
/* The block b[0..n) (n as its header says, checked: 12.. DUMP_BLOCK_MAX, a
 * multiple of 4, the same at the end).  1 with a frame in *r (r->data points
 * into b), 0 for a block that holds none, or -EBADMSG with the reason in
 * *why. */
int dump_pcapng_block(struct dump_pcapng *s, const uint8_t *b, size_t n, struct jet_capture_rec *r,
                      const char **why);

#endif
