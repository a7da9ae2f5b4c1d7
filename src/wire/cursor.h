/* Length-checked cursors over wire buffers (internal to the library).
 *
 * Every parser and emitter in src/wire (and later the TCP/IP ones in src/inet) walks
 * its buffer through one of these instead of indexing raw pointers, so that "check
 * the length before reading a field" holds by construction:
 *
 *   struct jet_rcur c;
 *   jet_rcur_init(&c, buf, len);
 *   jet_rcur_u16(&c, &type);            // each call checks the remaining length first
 *   jet_rcur_u32(&c, &seq);
 *   if (c.err) return c.err;            // one check after a run of reads is enough
 *
 * Rules:
 * - Multi-byte integers are big-endian (network order) on the wire.
 * - A read that does not fit returns -EMSGSIZE, stores 0 in its output and reads
 *   nothing; a write that does not fit returns -ENOSPC and writes nothing.
 * - Errors are sticky: after the first failure the cursor keeps its err and every
 *   later call fails with it, so a parser may test c.err once after several reads.
 *   The position after a failure is unspecified.
 * - A cursor borrows its buffer; it never owns or frees it. The buffer must outlive
 *   the cursor and any pointer obtained from jet_rcur_ptr()/jet_wcur_ptr().
 * - The jet_load_be*()/jet_store_be*() helpers do no checking; they are for code that
 *   has already checked the length of a fixed-size header in one step.
 */
#ifndef JET_WIRE_CURSOR_H
#define JET_WIRE_CURSOR_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- unchecked big-endian loads and stores ---------------------------------------- */

static inline uint16_t jet_load_be16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t jet_load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t jet_load_be64(const uint8_t *p)
{
    return (uint64_t)jet_load_be32(p) << 32 | jet_load_be32(p + 4);
}

static inline void jet_store_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void jet_store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void jet_store_be64(uint8_t *p, uint64_t v)
{
    jet_store_be32(p, (uint32_t)(v >> 32));
    jet_store_be32(p + 4, (uint32_t)v);
}

/* ---- read cursor -------------------------------------------------------------------- */

struct jet_rcur {
    const uint8_t *p; /* next byte to read */
    size_t left;      /* bytes readable from p */
    int err;          /* 0, or the first error (sticky) */
};

static inline void jet_rcur_init(struct jet_rcur *c, const void *buf, size_t len)
{
    c->p = buf;
    c->left = buf ? len : 0;
    c->err = 0;
}

static inline size_t jet_rcur_left(const struct jet_rcur *c)
{
    return c->err ? 0 : c->left;
}

/* Claim n bytes: 0 and advance, or -EMSGSIZE (and the cursor turns failed). */
static inline int jet_rcur_take(struct jet_rcur *c, size_t n, const uint8_t **at)
{
    if (c->err || c->left < n) {
        if (!c->err)
            c->err = -EMSGSIZE;
        *at = NULL;
        return c->err;
    }
    *at = c->p;
    if (n) { /* no arithmetic on a NULL buffer of length 0 */
        c->p += n;
        c->left -= n;
    }
    return 0;
}

static inline int jet_rcur_u8(struct jet_rcur *c, uint8_t *v)
{
    const uint8_t *at;
    int rc = jet_rcur_take(c, 1, &at);
    *v = rc ? 0 : at[0];
    return rc;
}

static inline int jet_rcur_u16(struct jet_rcur *c, uint16_t *v)
{
    const uint8_t *at;
    int rc = jet_rcur_take(c, 2, &at);
    *v = rc ? 0 : jet_load_be16(at);
    return rc;
}

static inline int jet_rcur_u32(struct jet_rcur *c, uint32_t *v)
{
    const uint8_t *at;
    int rc = jet_rcur_take(c, 4, &at);
    *v = rc ? 0 : jet_load_be32(at);
    return rc;
}

static inline int jet_rcur_u64(struct jet_rcur *c, uint64_t *v)
{
    const uint8_t *at;
    int rc = jet_rcur_take(c, 8, &at);
    *v = rc ? 0 : jet_load_be64(at);
    return rc;
}

/* Copy n bytes out. On failure dst is zero-filled. dst must not overlap the buffer. */
static inline int jet_rcur_bytes(struct jet_rcur *c, void *dst, size_t n)
{
    const uint8_t *at;
    int rc = jet_rcur_take(c, n, &at);
    if (rc)
        memset(dst, 0, n);
    else if (n)
        memcpy(dst, at, n);
    return rc;
}

/* Zero-copy view of the next n bytes: *at points into the cursor's buffer (NULL on
 * failure) and stays valid as long as that buffer does. */
static inline int jet_rcur_ptr(struct jet_rcur *c, size_t n, const uint8_t **at)
{
    return jet_rcur_take(c, n, at);
}

static inline int jet_rcur_skip(struct jet_rcur *c, size_t n)
{
    const uint8_t *at;
    return jet_rcur_take(c, n, &at);
}

/* ---- write cursor ------------------------------------------------------------------- */

struct jet_wcur {
    uint8_t *p;  /* next byte to write */
    size_t left; /* bytes writable from p */
    int err;     /* 0, or the first error (sticky) */
};

static inline void jet_wcur_init(struct jet_wcur *c, void *buf, size_t cap)
{
    c->p = buf;
    c->left = buf ? cap : 0;
    c->err = 0;
}

static inline size_t jet_wcur_left(const struct jet_wcur *c)
{
    return c->err ? 0 : c->left;
}

/* Claim n writable bytes: 0 and advance, or -ENOSPC (and the cursor turns failed). */
static inline int jet_wcur_ptr(struct jet_wcur *c, size_t n, uint8_t **at)
{
    if (c->err || c->left < n) {
        if (!c->err)
            c->err = -ENOSPC;
        *at = NULL;
        return c->err;
    }
    *at = c->p;
    if (n) { /* no arithmetic on a NULL buffer of length 0 */
        c->p += n;
        c->left -= n;
    }
    return 0;
}

static inline int jet_wcur_u8(struct jet_wcur *c, uint8_t v)
{
    uint8_t *at;
    int rc = jet_wcur_ptr(c, 1, &at);
    if (!rc)
        at[0] = v;
    return rc;
}

static inline int jet_wcur_u16(struct jet_wcur *c, uint16_t v)
{
    uint8_t *at;
    int rc = jet_wcur_ptr(c, 2, &at);
    if (!rc)
        jet_store_be16(at, v);
    return rc;
}

static inline int jet_wcur_u32(struct jet_wcur *c, uint32_t v)
{
    uint8_t *at;
    int rc = jet_wcur_ptr(c, 4, &at);
    if (!rc)
        jet_store_be32(at, v);
    return rc;
}

static inline int jet_wcur_u64(struct jet_wcur *c, uint64_t v)
{
    uint8_t *at;
    int rc = jet_wcur_ptr(c, 8, &at);
    if (!rc)
        jet_store_be64(at, v);
    return rc;
}

/* Copy n bytes in. src must not overlap the destination range. */
static inline int jet_wcur_bytes(struct jet_wcur *c, const void *src, size_t n)
{
    uint8_t *at;
    int rc = jet_wcur_ptr(c, n, &at);
    if (!rc && n)
        memcpy(at, src, n);
    return rc;
}

/* Write n zero bytes (padding, reserved fields). */
static inline int jet_wcur_zero(struct jet_wcur *c, size_t n)
{
    uint8_t *at;
    int rc = jet_wcur_ptr(c, n, &at);
    if (!rc && n)
        memset(at, 0, n);
    return rc;
}

/* Advance over n bytes without writing them (a field filled in later). */
static inline int jet_wcur_skip(struct jet_wcur *c, size_t n)
{
    uint8_t *at;
    return jet_wcur_ptr(c, n, &at);
}

#endif
