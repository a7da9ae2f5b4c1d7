/* RBS segment header: wire constants, decoded view, parse and emit.
 * Spec: docs/rbs.md section 2.  An RBS segment is the whole payload of one Jetstream
 * frame: a 24-byte fixed header, options up to a 60-byte header, then stream bytes.
 *
 * The parser treats its input as hostile: it checks the length before every field,
 * checks reserved bits, flag combinations and every option, and returns a distinct
 * negative errno per kind of damage (enum rbs_bad says which; the caller counts).
 * Neither function keeps a pointer to the buffer it is given. */
#ifndef JET_RBS_WIRE_H
#define JET_RBS_WIRE_H

#include <stddef.h>
#include <stdint.h>

enum rbs_wire_const {
    RBS_VERSION = 1,
    RBS_HDR_LEN = 24,       /* fixed part */
    RBS_HDR_MAX = 60,       /* header length field counts 4-byte words, 6..15 */
    RBS_MAX_SACK = 4,       /* SACK blocks per segment */
    RBS_WSCALE_MAX = 14,    /* window scale shift */
    RBS_MSS_MIN = 64,       /* smallest MSS a SYN may announce */
    RBS_MSS_MAX = 65536 - RBS_HDR_LEN, /* a segment fits one frame payload */
};

/* Byte offsets in the fixed header. */
enum rbs_off {
    RBS_OFF_VERSION = 0,
    RBS_OFF_FLAGS = 1,
    RBS_OFF_HLEN = 2, /* in 4-byte words */
    RBS_OFF_RSVD1 = 3,
    RBS_OFF_SEQ = 4,
    RBS_OFF_ACK = 8,
    RBS_OFF_WND = 12,
    RBS_OFF_RSVD2 = 14,
    RBS_OFF_TSVAL = 16,
    RBS_OFF_TSECR = 20,
};

/* Flags (byte 1); TCP's bit values, for familiarity in traces. */
enum rbs_flags {
    RBS_FIN = 0x01,
    RBS_SYN = 0x02,
    RBS_RST = 0x04,
    RBS_ACK = 0x10,
    RBS_FLAGS_KNOWN = RBS_FIN | RBS_SYN | RBS_RST | RBS_ACK,
};

/* Option kinds: kind (1 byte), length (1 byte, counting kind and length), data. */
enum rbs_opt_kind {
    RBS_OPT_END = 0,    /* 1 byte; ends the options, the rest of the header is zero */
    RBS_OPT_PAD = 1,    /* 1 byte */
    RBS_OPT_MSS = 2,    /* len 6: u32 largest payload the sender accepts; SYN only */
    RBS_OPT_WSCALE = 3, /* len 3: u8 shift 0..14 applied to the sender's window; SYN only */
    RBS_OPT_SACK = 4,   /* len 2 + 8n, n 1..4: (start, end) pairs; ACK, not SYN */
    RBS_OPT_CHAN = 5,   /* len 6: u32 the sender's connection channel (not 0); SYN only */
};
enum { RBS_OPT_MSS_LEN = 6, RBS_OPT_WSCALE_LEN = 3, RBS_OPT_CHAN_LEN = 6 };

/* Which options a decoded header carries (h->opts). */
enum rbs_has { RBS_HAS_MSS = 1, RBS_HAS_WSCALE = 2, RBS_HAS_CHAN = 4 };

/* Why a segment was malformed: index of the per-reason counter; each has its errno. */
enum rbs_bad {
    RBS_BAD_TRUNC = 0,   /* -EMSGSIZE: shorter than 24 bytes or than its header length */
    RBS_BAD_VERSION,     /* -EPROTONOSUPPORT: version != 1 */
    RBS_BAD_RESERVED,    /* -EINVAL: reserved flag bit or byte set, header length < 6 */
    RBS_BAD_FLAGS,       /* -EPROTO: impossible flag combination, payload on SYN or RST */
    RBS_BAD_OPTION,      /* -EBADMSG: option length/value wrong, duplicated or misplaced */
    RBS_BAD_MISSING_OPT, /* -ENOPROTOOPT: SYN without MSS, WSCALE and CHAN */
    RBS_BAD_MAX
};

struct rbs_sack {
    uint32_t start, end; /* sequence numbers: [start, end) was received */
};

/* Decoded header.  Values are as on the wire (no unwrapping, no scaling). */
struct rbs_hdr {
    uint8_t flags;
    uint8_t hdr_len; /* bytes, 24..60; payload starts here (set by parse, computed by emit) */
    uint16_t wnd;
    uint32_t seq, ack;
    uint32_t tsval, tsecr;
    uint8_t opts;   /* enum rbs_has */
    uint8_t wscale;
    uint8_t nsack;
    uint32_t mss;
    uint32_t chan;
    struct rbs_sack sack[RBS_MAX_SACK];
};

/* Parses the segment seg[0..len).  On success returns the header length (>= 24; the
 * payload is seg + ret, len - ret bytes) and fills *h; on failure returns one of the
 * errnos of enum rbs_bad (negative) and *h is unspecified. */
int rbs_hdr_parse(const uint8_t *seg, size_t len, struct rbs_hdr *h);

/* Writes the header h (its options as h->opts and h->nsack say; h->hdr_len is
 * ignored) into buf.  Returns the header length written (multiple of 4), -ENOSPC if
 * cap is too small (nothing written) or -EINVAL if h could never parse (bad flags,
 * option value out of range; nothing written). */
int rbs_hdr_emit(uint8_t *buf, size_t cap, const struct rbs_hdr *h);

/* Header length rbs_hdr_emit() would write for h. */
size_t rbs_hdr_size(const struct rbs_hdr *h);

/* enum rbs_bad index for a parse error, RBS_BAD_MAX if err is not one of them. */
int rbs_bad_reason(int err);
/* Short name of a reason ("truncated", ...); "?" when out of range. */
const char *rbs_bad_name(int reason);

#endif
