/* Jetstream frame format v1: parse and emit (spec: docs/frame-format.md).
 *
 * Receive: jet_frame_parse() runs its checks in a fixed order, and the order is part
 * of the contract (tests pin it):
 *   1. at least 24 bytes                        else -EMSGSIZE
 *   2. header check (CRC32C of bytes 0..19)     else -EBADMSG
 *      Nothing in the header is trusted before this, so a damaged length or
 *      version is reported as damage, not as "truncated" or "unsupported".
 *   3. version == 1                             else -EPROTONOSUPPORT
 *   4. reserved flag bits and bytes 6-7 zero    else -EINVAL
 *   5. payload_len <= 65536                     else -EMSGSIZE
 *   6. the buffer holds the whole frame         else -EMSGSIZE
 *   7. payload CRC (unless the caller defers it) -> h->crc_bad, never an error
 *   Optionally later: jet_frame_copy_payload() for a deferred, fused check.
 *
 * Send: jet_frame_build() (copy the payload in) or jet_frame_seal() (payload already
 * in place) validate the header fields, check the capacity, and only then write, so a
 * failed call leaves the buffer untouched. jet_frame_emit_hdr() writes the header alone.
 * A forwarder that passes on a damaged frame calls jet_frame_mark_crc_bad().
 *
 * No function keeps a pointer to any buffer after it returns.
 */
#include <errno.h>
#include <string.h>

#include "jet/crc32c.h"
#include "jet/frame.h"
#include "wire/cursor.h"

enum { HCHECK_SPAN = JET_FRAME_OFF_HCHECK }; /* header check covers bytes 0..19 */

_Static_assert(JET_FRAME_OVERHEAD == JET_FRAME_HDR_LEN + JET_FRAME_CRC_LEN, "overhead");
_Static_assert((JET_FF_CRC | JET_FF_CRC_BAD | JET_FF_PRIO_MASK | JET_FF_RESERVED) == 0xff &&
                   (JET_FF_PRIO_MASK >> JET_FF_PRIO_SHIFT) == JET_FRAME_PRIO_MAX,
               "flag bits partition byte 1");

static uint32_t hcheck(const uint8_t *hdr)
{
    return jet_crc32c(0, hdr, HCHECK_SPAN);
}

static uint32_t frame_len_for(uint8_t flags, uint32_t payload_len)
{
    return JET_FRAME_HDR_LEN + payload_len + ((flags & JET_FF_CRC) ? JET_FRAME_CRC_LEN : 0);
}

int jet_frame_parse(const void *buf, size_t len, struct jet_frame_hdr *h, unsigned flags)
{
    struct jet_rcur c;
    const uint8_t *hdr, *payload;
    uint16_t reserved;

    jet_rcur_init(&c, buf, len);
    if (jet_rcur_ptr(&c, JET_FRAME_HDR_LEN, &hdr))
        return -EMSGSIZE;
    if (jet_load_be32(hdr + JET_FRAME_OFF_HCHECK) != hcheck(hdr))
        return -EBADMSG;

    /* The 24 bytes are known present: these reads cannot fail. */
    struct jet_rcur f;
    jet_rcur_init(&f, hdr, JET_FRAME_HDR_LEN);
    jet_rcur_u8(&f, &h->version);
    jet_rcur_u8(&f, &h->flags);
    jet_rcur_u16(&f, &h->src_station);
    jet_rcur_u16(&f, &h->dst_station);
    jet_rcur_u16(&f, &reserved);
    jet_rcur_u32(&f, &h->dst_chan);
    jet_rcur_u32(&f, &h->src_chan);
    jet_rcur_u32(&f, &h->payload_len);
    jet_rcur_skip(&f, 4); /* header check, verified above */
    if (f.err)
        return f.err;

    if (h->version != JET_FRAME_VERSION)
        return -EPROTONOSUPPORT;
    if ((h->flags & JET_FF_RESERVED) || reserved != 0)
        return -EINVAL;
    if (h->payload_len > JET_FRAME_MAX_PAYLOAD)
        return -EMSGSIZE;
    h->prio = (uint8_t)((h->flags & JET_FF_PRIO_MASK) >> JET_FF_PRIO_SHIFT);
    h->frame_len = frame_len_for(h->flags, h->payload_len);
    if (len < h->frame_len)
        return -EMSGSIZE;

    if (jet_rcur_ptr(&c, h->payload_len, &payload))
        return -EMSGSIZE;
    h->crc_bad = (h->flags & JET_FF_CRC_BAD) ? 1 : 0;
    if ((h->flags & JET_FF_CRC) && !(flags & JET_PARSE_NO_PAYLOAD_CRC)) {
        uint32_t trailer;
        if (jet_rcur_u32(&c, &trailer))
            return -EMSGSIZE;
        if (jet_crc32c(0, payload, h->payload_len) != trailer)
            h->crc_bad = 1;
    }
    return 0;
}

/* Validate what an emitter needs from h, with the payload length it will write. */
static int emit_check(const struct jet_frame_hdr *h, size_t payload_len)
{
    if ((h->flags & JET_FF_RESERVED) || h->prio > JET_FRAME_PRIO_MAX ||
        payload_len > JET_FRAME_MAX_PAYLOAD)
        return -EINVAL;
    return 0;
}

/* Write the 24 header bytes at p (space already checked, fields already validated). */
static void put_hdr(uint8_t *out, const struct jet_frame_hdr *h, uint32_t payload_len)
{
    uint8_t fl =
        (uint8_t)((h->flags & (JET_FF_CRC | JET_FF_CRC_BAD)) | (h->prio << JET_FF_PRIO_SHIFT));
    /* Built on the stack and copied out whole: the header check then reads
     * bytes just stored here, not bytes still on their way to a cache line
     * another core owns.  And stored as the same 8- and 4-byte words the
     * CRC loads, so every load is forwarded from its store: a load that
     * spans several narrower stores waits until they reach the cache, which
     * is behind every store of the payload just copied into lines the
     * receiver holds (15% of a 9000-byte sender's time). */
    uint8_t p[JET_FRAME_HDR_LEN];
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t w0 = (uint64_t)JET_FRAME_VERSION | (uint64_t)fl << 8 |
                  (uint64_t)__builtin_bswap16(h->src_station) << 16 |
                  (uint64_t)__builtin_bswap16(h->dst_station) << 32; /* bytes 6, 7: zero */
    uint64_t w1 =
        (uint64_t)__builtin_bswap32(h->dst_chan) | (uint64_t)__builtin_bswap32(h->src_chan) << 32;
    uint32_t w2 = __builtin_bswap32(payload_len);
    memcpy(p, &w0, 8);
    memcpy(p + 8, &w1, 8);
    memcpy(p + 16, &w2, 4);
    uint32_t hc = __builtin_bswap32(hcheck(p));
    /* out of the registers, not by reloading p (a 16-byte load of two
     * 8-byte stores would not be forwarded either) */
    memcpy(out, &w0, 8);
    memcpy(out + 8, &w1, 8);
    memcpy(out + 16, &w2, 4);
    memcpy(out + 20, &hc, 4);
#else
    struct jet_wcur w;
    jet_wcur_init(&w, p, JET_FRAME_HDR_LEN);
    jet_wcur_u8(&w, JET_FRAME_VERSION);
    jet_wcur_u8(&w, fl);
    jet_wcur_u16(&w, h->src_station);
    jet_wcur_u16(&w, h->dst_station);
    jet_wcur_zero(&w, 2);
    jet_wcur_u32(&w, h->dst_chan);
    jet_wcur_u32(&w, h->src_chan);
    jet_wcur_u32(&w, payload_len);
    jet_wcur_u32(&w, hcheck(p));
    memcpy(out, p, JET_FRAME_HDR_LEN);
#endif
}

int jet_frame_emit_hdr(void *buf, size_t cap, const struct jet_frame_hdr *h)
{
    int rc = emit_check(h, h->payload_len);
    if (rc)
        return rc;
    if (!buf || cap < JET_FRAME_HDR_LEN)
        return -ENOSPC;
    put_hdr(buf, h, h->payload_len);
    return JET_FRAME_HDR_LEN;
}

long jet_frame_build(void *buf, size_t cap, const struct jet_frame_hdr *h, const void *payload,
                     size_t len)
{
    int rc = emit_check(h, len);
    if (rc)
        return rc;
    if (len && !payload)
        return -EINVAL;
    uint32_t flen = frame_len_for(h->flags, (uint32_t)len);
    if (!buf || cap < flen)
        return -ENOSPC;

    uint8_t *p = buf;
    put_hdr(p, h, (uint32_t)len);
    if (h->flags & JET_FF_CRC) {
        /* len may be 0 with payload NULL: keep that pointer out of the copy */
        uint32_t crc = len ? jet_crc32c_copy(0, p + JET_FRAME_HDR_LEN, payload, len)
                           : jet_crc32c(0, p + JET_FRAME_HDR_LEN, 0);
        jet_store_be32(p + JET_FRAME_HDR_LEN + len, crc);
    } else if (len) {
        memcpy(p + JET_FRAME_HDR_LEN, payload, len);
    }
    return (long)flen;
}

long jet_frame_seal(void *buf, size_t cap, const struct jet_frame_hdr *h)
{
    int rc = emit_check(h, h->payload_len);
    if (rc)
        return rc;
    uint32_t flen = frame_len_for(h->flags, h->payload_len);
    if (!buf || cap < flen)
        return -ENOSPC;

    uint8_t *p = buf;
    if (h->flags & JET_FF_CRC) {
        uint32_t crc = jet_crc32c(0, p + JET_FRAME_HDR_LEN, h->payload_len);
        jet_store_be32(p + JET_FRAME_HDR_LEN + h->payload_len, crc);
    }
    put_hdr(p, h, h->payload_len);
    return (long)flen;
}

long jet_frame_copy_payload(void *dst, size_t cap, const void *frame, struct jet_frame_hdr *h)
{
    const uint8_t *payload = (const uint8_t *)frame + JET_FRAME_HDR_LEN;
    size_t n = h->payload_len;

    if (n > JET_FRAME_MAX_PAYLOAD)
        return -EINVAL;
    if (cap < n || (n && !dst))
        return -ENOSPC;
    if (h->flags & JET_FF_CRC) {
        uint32_t crc = n ? jet_crc32c_copy(0, dst, payload, n) : jet_crc32c(0, payload, 0);
        if (crc != jet_load_be32(payload + n))
            h->crc_bad = 1;
    } else if (n) {
        memcpy(dst, payload, n);
    }
    return (long)n;
}

void jet_frame_mark_crc_bad(void *frame)
{
    uint8_t *p = frame;
    p[JET_FRAME_OFF_FLAGS] |= JET_FF_CRC_BAD;
    jet_store_be32(p + JET_FRAME_OFF_HCHECK, hcheck(p));
}

const char *jet_frame_strerror(int err)
{
    switch (err < 0 ? -err : err) {
    case 0:
        return "ok";
    case EMSGSIZE:
        return "frame truncated or too long";
    case EBADMSG:
        return "header check failed";
    case EPROTONOSUPPORT:
        return "unsupported frame version";
    case EINVAL:
        return "reserved bits set or invalid field";
    case EPROTOTYPE:
        return "not a Jetstream EtherType";
    case ENOSPC:
        return "buffer too small";
    default:
        return "unknown frame error";
    }
}
