/* Jetstream frame format v1: parse and emit (specification: docs/frame-format.md).
 *
 * A frame is a 24-byte header protected by its own CRC32C (the "header check"), a
 * payload of 0..65536 bytes and, when flag CRC is set, a 4-byte CRC32C of the payload.
 * The header check decides whether a frame may be used at all; the payload CRC only
 * decides whether the payload is marked damaged.
 *
 * Buffers: every function here works on caller memory for the duration of the call
 * and keeps no pointer to it afterwards. Nothing allocates. Errors are negative errno
 * values; nothing prints. Every input length is treated as hostile.
 */
#ifndef JET_FRAME_H
#define JET_FRAME_H

#pragma GCC visibility push(default) /* the library exports only what these headers declare */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sizes. JET_FRAME_OVERHEAD is header + payload-CRC trailer. */
enum {
    JET_FRAME_VERSION = 1,
    JET_FRAME_HDR_LEN = 24,
    JET_FRAME_CRC_LEN = 4,
    JET_FRAME_MAX_PAYLOAD = 65536,
    JET_FRAME_OVERHEAD = 28,
};

/* Header byte 1 (flags). */
enum {
    JET_FF_CRC = 0x01,     /* a CRC32C trailer follows the payload */
    JET_FF_CRC_BAD = 0x02, /* a receiver passed this frame on although its payload failed */
    JET_FF_PRIO_SHIFT = 2, /* bits 2-4: priority class 0 (bulk) .. 7 (most urgent) */
    JET_FF_PRIO_MASK = 0x1c,
    JET_FF_RESERVED = 0xe0, /* sent 0; any set makes the frame malformed */
};

enum { JET_FRAME_PRIO_MAX = 7 };

/* Field offsets in the header, for code that patches a frame in place. */
enum {
    JET_FRAME_OFF_VERSION = 0,
    JET_FRAME_OFF_FLAGS = 1,
    JET_FRAME_OFF_SRC_STATION = 2,
    JET_FRAME_OFF_DST_STATION = 4,
    JET_FRAME_OFF_RESERVED = 6,
    JET_FRAME_OFF_DST_CHAN = 8,
    JET_FRAME_OFF_SRC_CHAN = 12,
    JET_FRAME_OFF_PAYLOAD_LEN = 16,
    JET_FRAME_OFF_HCHECK = 20,
};

#define JET_STATION_BROADCAST 0xFFFFu
#define JET_CHAN_CONTROL      0u
#define JET_ETHERTYPE         0x88B5u
#define JET_UDP_PORT          7475

/* Flags for jet_frame_parse() and jet_frame_parse_eth(). */
enum {
    /* Do not verify the payload CRC: the caller will verify it while copying the
     * payload out (jet_frame_copy_payload()). h->crc_bad then only reflects a
     * CRC_BAD flag that arrived set. */
    JET_PARSE_NO_PAYLOAD_CRC = 0x1,
};

/* Decoded header. Filled by the parsers; read by the emitters (which say below which
 * fields they use). */
struct jet_frame_hdr {
    uint8_t version; /* always JET_FRAME_VERSION after a successful parse */
    uint8_t flags;   /* byte 1 as on the wire (JET_FF_*), priority bits included */
    uint8_t prio;    /* decoded priority class 0..7 */
    uint8_t crc_bad; /* parse result: payload CRC failed, or CRC_BAD arrived set */
    uint16_t src_station;
    uint16_t dst_station; /* JET_STATION_BROADCAST = every station */
    uint32_t dst_chan;    /* JET_CHAN_CONTROL (0) is the control channel */
    uint32_t src_chan;
    uint32_t payload_len; /* 0..JET_FRAME_MAX_PAYLOAD */
    uint32_t frame_len;   /* header + payload + trailer (if flag CRC) */
};

/* Parse a native frame: the `len` bytes at `buf`, which may extend past the frame
 * (the bytes after h->frame_len are ignored, e.g. link padding).
 *
 * Returns 0 when the header is valid: h is filled, the payload is the
 * h->payload_len bytes at buf + JET_FRAME_HDR_LEN, and h->crc_bad says whether it is
 * damaged (payload CRC mismatch, or CRC_BAD set on arrival). A damaged payload is not
 * an error here: what to do with it is the receiving channel's policy.
 * Otherwise returns a negative errno and h must not be used:
 *   -EMSGSIZE         len < 24, or payload_len > 65536, or len < frame_len (truncated)
 *   -EBADMSG          header check failed (checked first, before any field is trusted)
 *   -EPROTONOSUPPORT  version is not 1
 *   -EINVAL           a reserved flag bit or the reserved field (bytes 6-7) is not zero
 * flags: 0 or JET_PARSE_NO_PAYLOAD_CRC. */
int jet_frame_parse(const void *buf, size_t len, struct jet_frame_hdr *h, unsigned flags);

/* Write the 24-byte header described by h into buf[0..23], computing the header check.
 * Uses h->flags (JET_FF_CRC and JET_FF_CRC_BAD; its priority bits are replaced by
 * h->prio), h->prio, the stations, the channels and h->payload_len. h->version,
 * h->crc_bad and h->frame_len are ignored (the version written is always 1).
 * Returns JET_FRAME_HDR_LEN, or -ENOSPC if cap < 24, or -EINVAL if h->flags has a
 * reserved bit set, h->prio > 7 or h->payload_len > 65536. Nothing is written on error. */
int jet_frame_emit_hdr(void *buf, size_t cap, const struct jet_frame_hdr *h);

/* Build a whole frame in buf: header from h (as jet_frame_emit_hdr(), except that the
 * payload length written is `len`; h->payload_len is ignored), then the `len` payload
 * bytes copied from `payload` (which must not overlap buf), then, if h->flags has
 * JET_FF_CRC, the payload CRC (computed during the copy).
 * Returns the frame length, or -ENOSPC if cap is too small, or -EINVAL as for
 * jet_frame_emit_hdr() (len > 65536 included). Nothing is written on error. */
long jet_frame_build(void *buf, size_t cap, const struct jet_frame_hdr *h, const void *payload,
                     size_t len);

/* Seal a frame whose payload the caller has already written at buf + JET_FRAME_HDR_LEN
 * (h->payload_len bytes): write the header from h and, if h->flags has JET_FF_CRC,
 * the trailer after the payload. Returns the frame length, -ENOSPC if cap is smaller
 * than it, or -EINVAL as for jet_frame_emit_hdr(). Nothing is written on error. */
long jet_frame_seal(void *buf, size_t cap, const struct jet_frame_hdr *h);

/* Copy the payload of a frame parsed with JET_PARSE_NO_PAYLOAD_CRC to dst (cap bytes),
 * verifying the payload CRC in the same pass when the frame carries one; on a mismatch
 * sets h->crc_bad = 1. `frame` and h must come from one successful parse; dst must not
 * overlap the frame. Returns the payload length, or -ENOSPC (nothing copied) if
 * cap < h->payload_len. */
long jet_frame_copy_payload(void *dst, size_t cap, const void *frame, struct jet_frame_hdr *h);

/* Set JET_FF_CRC_BAD in the frame at `frame` and recompute its header check; the rest
 * of the frame is untouched (the payload CRC keeps its received value). `frame` must
 * hold at least a 24-byte header, normally one that parsed (a forwarder marking a
 * frame whose payload failed before passing it on). */
void jet_frame_mark_crc_bad(void *frame);

/* Short constant text for the errors the functions in this header return
 * (accepts err < 0 or its absolute value; 0 gives "ok"). Never NULL. */
const char *jet_frame_strerror(int err);

/* ---- Ethernet II encapsulation ----------------------------------------------------- */

enum {
    JET_ETH_ALEN = 6,
    JET_ETH_HDR_LEN = 14,
    JET_ETH_VLAN_HDR_LEN = 18,
    JET_ETH_TPID_VLAN = 0x8100,
    JET_ETH_UNTAGGED = 0xFFFF, /* jet_eth_hdr.vlan when there is no 802.1Q tag */
};

struct jet_eth_hdr {
    uint8_t dst[6], src[6];
    uint16_t ethertype; /* after the VLAN tag, if any */
    uint16_t vlan;      /* whole 802.1Q TCI (PCP:3 DEI:1 VID:12), or JET_ETH_UNTAGGED */
    uint16_t hdr_len;   /* parse output: 14, or 18 with a tag (ignored by emit) */
};

/* Parse an Ethernet II header at buf (len bytes), skipping one 802.1Q tag (TPID
 * 0x8100) if present. Returns 0 with e filled, or -EMSGSIZE if len is shorter than the
 * header (14, or 18 with a tag), or -EINVAL if the tag carries VID 0xFFF (reserved by
 * 802.1Q, never sent, and it would be confused with JET_ETH_UNTAGGED). The ethertype is
 * reported, not checked. */
int jet_eth_parse(const void *buf, size_t len, struct jet_eth_hdr *e);

/* Write the Ethernet header for e into buf: with an 802.1Q tag unless
 * e->vlan == JET_ETH_UNTAGGED. e->hdr_len is ignored. Returns 14 or 18, or -ENOSPC if
 * cap is too small, or -EINVAL if e->vlan has VID 0xFFF but is not JET_ETH_UNTAGGED. */
int jet_eth_emit(void *buf, size_t cap, const struct jet_eth_hdr *e);

/* Parse an Ethernet-encapsulated Jetstream frame: jet_eth_parse(), then the EtherType
 * must be JET_ETHERTYPE (else -EPROTOTYPE), then jet_frame_parse() on the bytes after
 * the Ethernet header with `flags` (bytes after the frame, such as minimum-size
 * padding, are ignored). The frame starts at buf + e->hdr_len. Returns 0 or the first
 * error of those steps; e is filled when the Ethernet header parsed, h only on 0. */
int jet_frame_parse_eth(const void *buf, size_t len, struct jet_eth_hdr *e, struct jet_frame_hdr *h,
                        unsigned flags);

#ifdef __cplusplus
}
#endif

#pragma GCC visibility pop

#endif
