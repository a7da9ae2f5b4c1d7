/* Transport engine, receive side (xp_rcv.h): placement, out-of-order ranges, window,
 * SACK blocks, ACK policy and the application's read calls.
 *
 * xp_rcv_data, in order: FIN consistency -> trim the front (already received) -> trim
 * the back (beyond the window) -> out of order and the range bound reached: drop ->
 * place (ring: staged already; sink: the hook writes each new stretch from the staging
 * copy; a hook that fails records nothing) -> record (in order: advance nxt and absorb
 * ranges; out of order: insert) -> sink mode: in-order bytes count as read -> consume
 * the FIN when nxt reaches it -> ACK now (out of order, a hole filled, a duplicate, a
 * window drop, the FIN, every second segment) or after ack_delay. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jet/crc32c.h"
#include "jet/inet.h"
#include "xport/xp_rcv.h"

/* Bound on out-of-order ranges for the window cap. */
static void ooo_bound(struct xp_rcv *r)
{
    uint64_t m = r->cap / (r->mss ? r->mss : 1) + 1;
    xp_ranges_set_max(&r->ooo, m > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)m);
}

int xp_rcv_init(struct xp_rcv *r, uint64_t cap, bool external, uint32_t mss, uint8_t ws,
                uint64_t ack_delay_ns)
{
    memset(r, 0, sizeof *r);
    xp_ranges_init(&r->ooo, XP_RANGES_INLINE);
    r->fin = UINT64_MAX;
    r->mss = mss;
    r->ws = ws;
    r->ack_delay_ns = ack_delay_ns;
    if (!external && !(r->own = malloc(cap ? cap : 1)))
        return -ENOMEM;
    r->buf = r->own;
    r->cap = r->buf ? cap : 0;
    r->wnd = r->cap;
    ooo_bound(r);
    return 0;
}

void xp_rcv_fini(struct xp_rcv *r)
{
    free(r->own);
    free(r->stage);
    r->own = r->stage = NULL;
    xp_ranges_fini(&r->ooo);
}

uint64_t xp_rcv_adv_wnd(const struct xp_rcv *r)
{
    uint64_t e = xp_rcv_edge(r);
    uint64_t w = e > r->nxt ? e - r->nxt : 0;
    if (w > r->wnd) /* before the peer's SYN (nxt 0) */
        w = r->wnd;
    uint64_t max = (uint64_t)0xFFFF << r->ws;
    if (w > max)
        w = max;
    return w >> r->ws << r->ws;
}

/* Stream offset after the last readable byte. */
static uint64_t readable_end(const struct xp_rcv *r)
{
    uint64_t e = r->nxt < r->fin ? r->nxt : r->fin;
    return e ? e - 1 : 0;
}

/* The next stretch of [*x, end) that no out-of-order range holds: [*hs, *he), and *x
 * moves past it; false when there is none.  *k is a cursor into ooo (start at the first
 * range that may matter: ooo is sorted). */
static inline bool next_hole(const struct xp_rcv *r, uint32_t *k, uint64_t *x, uint64_t end,
                      uint64_t *hs, uint64_t *he)
{
    const struct xp_range *o = r->ooo.r;
    uint32_t n = r->ooo.n;
    while (*x < end) {
        if (*k < n && o[*k].e <= *x) {
            (*k)++;
            continue;
        }
        uint64_t s = *k < n && o[*k].s < end ? o[*k].s : end;
        if (s > *x) {
            *hs = *x;
            *he = *x = s;
            return true;
        }
        *x = o[*k].e; /* inside range k (s <= *x < e, so k < n) */
        (*k)++;
    }
    return false;
}

/* First range that may hold x or lie after it (a cursor start for next_hole). */
static uint32_t cursor(const struct xp_rcv *r, uint64_t x)
{
    return r->ooo.n > 8 ? xp_ranges_lower(&r->ooo, x) : 0;
}

enum { CK_NONE, CK_CRC, CK_INET };

/* The Internet checksum's partial sum of n bytes that sit at byte offset `at` of the
 * summed data: a piece at an odd offset is summed as if even and byte-swapped (RFC 1071
 * 2(B)).  Returned folded to 16 bits, ready to add to an accumulator. */
static inline uint32_t inet_piece(const uint8_t *p, size_t n, size_t at)
{
    uint32_t s = jet_inet_sum(p, n, 0);
    s = (s & 0xFFFF) + (s >> 16);
    s = (s & 0xFFFF) + (s >> 16);
    if (at & 1)
        s = ((s & 0xFF) << 8) | (s >> 8);
    return s;
}

/* Copies n bytes from s to d; with a check, chains the check of the bytes as stored
 * (CRC32C: fused with the copy; Internet sum: over the copy, which is private memory
 * still in cache).  at: offset of s[0] in the payload (Internet sum's byte order). */
static inline __attribute__((always_inline)) uint32_t copy(int kind, uint32_t crc, uint8_t *d,
                                                           const uint8_t *s, size_t n, size_t at)
{
    if (kind == CK_CRC)
        return jet_crc32c_copy(crc, d, s, n);
    memcpy(d, s, n);
    if (kind == CK_INET) {
        crc += inet_piece(d, n, at);
        crc = (crc & 0xFFFF) + (crc >> 16);
    }
    return crc;
}

/* Chains the check of bytes read but not stored. */
static inline __attribute__((always_inline)) uint32_t skip(int kind, uint32_t crc,
                                                           const uint8_t *s, size_t n, size_t at)
{
    if (kind == CK_CRC)
        return jet_crc32c(crc, s, n);
    if (kind == CK_INET) {
        crc += inet_piece(s, n, at);
        crc = (crc & 0xFFFF) + (crc >> 16);
    }
    return crc;
}

static inline __attribute__((always_inline)) uint32_t
stage(struct xp_rcv *r, bool data, uint64_t pos, const uint8_t *p, size_t len, int kind,
      uint32_t crc, struct xp_stage *sg)
{
    bool check = kind != CK_NONE;
    /* The staging copy sits at the payload's alignment in a cache line, so that the
     * fused copy's loads and stores are aligned alike (a 64-byte vector copy whose loads
     * all straddle two lines costs about a tenth more). */
    uint8_t *st = r->sink && check ? r->stage + ((uintptr_t)p & 63) : NULL;
    sg->pos = pos;
    sg->src = st ? st : p;
    size_t done = 0; /* payload bytes read so far */
    /* Positions are below 2^63: compared as signed, pos may lie before nxt by any
     * amount a 32-bit sequence number can say. */
    int64_t lo = (int64_t)pos, hi = (int64_t)pos + (int64_t)len;
    if (lo < (int64_t)r->nxt)
        lo = (int64_t)r->nxt;
    if (hi > (int64_t)xp_rcv_edge(r))
        hi = (int64_t)xp_rcv_edge(r);
    if (r->fin != UINT64_MAX && hi > (int64_t)r->fin)
        hi = (int64_t)r->fin;
    uint32_t k = data && lo < hi ? cursor(r, (uint64_t)lo) : 0;
    uint64_t x = (uint64_t)lo, hs, he;
    while (data && lo < hi && next_hole(r, &k, &x, (uint64_t)hi, &hs, &he)) {
        size_t a = (size_t)(hs - pos), n = (size_t)(he - hs);
        if (check && a > done)
            crc = skip(kind, crc, p + done, a - done, done);
        if (r->sink) {
            if (check)
                crc = copy(kind, crc, st + a, p + a, n, a);
        } else { /* hs - 1 is the stream offset; the ring may wrap within the stretch */
            uint64_t idx = (hs - 1 - r->base) % r->cap;
            size_t first = n < r->cap - idx ? n : (size_t)(r->cap - idx);
            crc = copy(kind, crc, r->buf + idx, p + a, first, a);
            if (n > first)
                crc = copy(kind, crc, r->buf, p + a + first, n - first, a + first);
        }
        done = a + n;
    }
    if (check && done < len)
        crc = skip(kind, crc, p + done, len - done, done);
    return crc;
}

uint32_t xp_rcv_stage(struct xp_rcv *r, bool data, uint64_t pos, const uint8_t *p, size_t len,
                      bool check, uint32_t crc, struct xp_stage *sg)
{
    if (check)
        return stage(r, data, pos, p, len, CK_CRC, crc, sg);
    return stage(r, data, pos, p, len, CK_NONE, crc, sg);
}

uint32_t xp_rcv_stage_inet(struct xp_rcv *r, bool data, uint64_t pos, const uint8_t *p,
                           size_t len, bool check, struct xp_stage *sg)
{
    if (check)
        return stage(r, data, pos, p, len, CK_INET, 0, sg);
    return stage(r, data, pos, p, len, CK_NONE, 0, sg);
}

/* Places the new bytes of [pos, pos + len), staged by xp_rcv_stage: 0, or the sink's
 * errno.  Ring mode: they are in the ring already.  Sink mode: each stretch no
 * out-of-order range holds goes to the hook once. */
static int place(struct xp_rcv *r, const struct xp_stage *sg, uint64_t pos, size_t len)
{
    if (!r->sink)
        return 0;
    uint32_t k = cursor(r, pos);
    uint64_t x = pos, hs, he;
    while (next_hole(r, &k, &x, pos + len, &hs, &he)) {
        int rc = r->sink(r->sink_arg, hs - 1 - r->sink_base, sg->src + (hs - sg->pos),
                         (size_t)(he - hs));
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* nxt moved: absorb ranges it reached. */
static bool absorb(struct xp_rcv *r)
{
    uint32_t k = 0;
    while (k < r->ooo.n && r->ooo.r[k].s <= r->nxt) {
        if (r->ooo.r[k].e > r->nxt) {
            r->st.bytes_in += r->ooo.r[k].e - r->nxt;
            r->nxt = r->ooo.r[k].e;
        }
        k++;
    }
    if (k) {
        xp_ranges_pop(&r->ooo, k);
        r->ooo_recent = 0;
    }
    return k > 0;
}

int xp_rcv_data(struct xp_rcv *r, uint64_t pos, size_t len, bool fin, const struct xp_stage *sg,
                uint64_t now)
{
    bool had_data = len > 0;
    int rc, ret = 0;
    if (fin && r->fin != UINT64_MAX && r->fin != pos + len)
        goto unexpected; /* a second FIN at another place */
    if (r->fin != UINT64_MAX && pos + len > r->fin)
        goto unexpected; /* data after the FIN */
    if (fin && r->ooo.n && r->ooo.r[r->ooo.n - 1].e > pos + len)
        goto unexpected; /* a FIN below data already received */
    if (pos < r->nxt) {
        uint64_t skip = r->nxt - pos;
        if (skip >= len)
            skip = len;
        len -= (size_t)skip;
        pos += skip;
        if (pos < r->nxt) /* only a FIN remains, and it was consumed already */
            fin = false;
    }
    uint64_t edge = xp_rcv_edge(r);
    if (pos + len > edge) {
        r->st.window_drops++;
        len = pos < edge ? (size_t)(edge - pos) : 0;
        fin = false;
        r->ack_now = true;
    }
    if (len) {
        if (pos > r->nxt) {
            if (!xp_ranges_room(&r->ooo, pos, pos + len))
                goto ooo_full;
            rc = place(r, sg, pos, len);
            if (rc < 0)
                return rc;
            r->ooo_recent = (uint32_t)xp_ranges_add(&r->ooo, pos, pos + len, NULL);
            r->st.ooo_segs++;
            r->ack_now = true; /* out of order: ACK at once so the sender sees the SACK */
        } else {
            rc = place(r, sg, pos, len);
            if (rc < 0)
                return rc;
            r->nxt += len;
            r->st.bytes_in += len;
            if (absorb(r) || r->ooo.n)
                r->ack_now = true; /* filled (part of) a hole */
            else
                r->ack_owed++;
        }
    } else if (had_data && !fin) {
        r->st.dup_segs++;
        r->ack_now = true;
    }
    if (fin && r->fin == UINT64_MAX)
        r->fin = pos + len;
    if (r->sink)
        r->read = readable_end(r); /* placed in order: the application has it */
    if (r->fin == r->nxt) {
        r->nxt++;
        r->ack_now = true;
        ret = XP_RCV_FIN;
    }
    if (r->ack_owed >= 2)
        r->ack_now = true;
    else if (r->ack_owed && !r->ack_at)
        r->ack_at = now + r->ack_delay_ns;
    return ret;
ooo_full:
    r->st.ooo_dropped++;
    r->ack_now = true;
    return 0;
unexpected:
    r->st.unexpected++;
    r->ack_now = true;
    return 0;
}

int xp_rcv_sack(const struct xp_rcv *r, struct xp_range *out, int max)
{
    int n = 0;
    uint32_t cnt = r->ooo.n;
    if (!cnt || max < 1)
        return 0;
    uint32_t first = r->ooo_recent < cnt ? r->ooo_recent : 0;
    out[n++] = r->ooo.r[first];
    for (uint32_t i = 0; i < cnt && n < max; i++)
        if (i != first)
            out[n++] = r->ooo.r[i];
    return n;
}

/* ---- application side ---- */

size_t xp_rcv_ready(const struct xp_rcv *r)
{
    uint64_t e = readable_end(r);
    return e > r->read ? (size_t)(e - r->read) : 0;
}

bool xp_rcv_eof(const struct xp_rcv *r)
{
    return r->fin != UINT64_MAX && r->nxt > r->fin;
}

size_t xp_rcv_peek(const struct xp_rcv *r, const uint8_t **p)
{
    size_t n = xp_rcv_ready(r);
    if (!n || !r->cap) {
        *p = r->buf;
        return 0;
    }
    uint64_t idx = (r->read - r->base) % r->cap;
    *p = r->buf + idx;
    return n < r->cap - idx ? n : (size_t)(r->cap - idx);
}

size_t xp_rcv_read(struct xp_rcv *r, void *buf, size_t len, bool open)
{
    size_t got = 0;
    while (got < len) {
        const uint8_t *p;
        size_t n = xp_rcv_peek(r, &p);
        if (!n)
            break;
        if (n > len - got)
            n = len - got;
        memcpy((uint8_t *)buf + got, p, n);
        xp_rcv_consume(r, n, open);
        got += n;
    }
    return got;
}

int xp_rcv_consume(struct xp_rcv *r, size_t n, bool open)
{
    if (n > xp_rcv_ready(r))
        return -EINVAL;
    if (!n)
        return 0;
    r->read += n;
    /* Window update when the window grew a lot from a small advertisement; the
     * sender's persist probes cover a lost update. */
    uint64_t w = xp_rcv_adv_wnd(r);
    uint64_t step = r->wnd / 2 < 2ull * r->mss ? r->wnd / 2 : 2ull * r->mss;
    if (open && r->fin == UINT64_MAX && r->last_adv_wnd < r->wnd / 2 &&
        w >= r->last_adv_wnd + step && w > 0)
        r->ack_now = true;
    return 0;
}

/* Stream offset after the last byte received: readable, or held out of order. */
static uint64_t held_end(const struct xp_rcv *r)
{
    uint64_t e = readable_end(r);
    if (r->ooo.n && r->ooo.r[r->ooo.n - 1].e - 1 > e)
        e = r->ooo.r[r->ooo.n - 1].e - 1;
    return e;
}

/* The bytes the ring holds (the readable ones, then each out-of-order range) to
 * to(arg, offset from read, p, n), piece by piece where the ring wraps.  0 or to's
 * error.  Only when the application changes where the stream goes, never per segment. */
static int held_each(const struct xp_rcv *r, xp_sink_fn to, void *arg)
{
    for (uint32_t k = 0; k <= r->ooo.n; k++) {
        uint64_t s = k ? r->ooo.r[k - 1].s - 1 : r->read;
        uint64_t e = k ? r->ooo.r[k - 1].e - 1 : readable_end(r);
        while (s < e) {
            uint64_t idx = (s - r->base) % r->cap;
            uint64_t n = e - s < r->cap - idx ? e - s : r->cap - idx;
            int rc = to(arg, s - r->read, r->buf + idx, (size_t)n);
            if (rc)
                return rc;
            s += n;
        }
    }
    return 0;
}

static int copy_to(void *arg, uint64_t off, const uint8_t *p, size_t len)
{
    memcpy((uint8_t *)arg + off, p, len);
    return 0;
}

/* Whether the bytes received so far (all in the ring, none in a sink) can move: the ring
 * holds them; at most ooo ranges fit the bound a window of cap bytes sets. */
static bool held_movable(const struct xp_rcv *r, uint64_t span, uint64_t cap)
{
    if (r->sink || !r->move_held)
        return !xp_rcv_ready(r) && !r->ooo.n; /* sink: in the file already */
    uint64_t m = cap / (r->mss ? r->mss : 1) + 1;
    return (r->buf || held_end(r) == r->read) && held_end(r) - r->read <= span &&
           r->ooo.n <= (m < XP_RANGES_INLINE ? XP_RANGES_INLINE : m);
}

int xp_rcv_register(struct xp_rcv *r, void *buf, size_t len)
{
    if (!buf || !len)
        return -EINVAL;
    if (!held_movable(r, len, len))
        return -EBUSY;
    uint64_t held = r->sink || !r->move_held ? 0 : held_end(r) - r->read;
    if (held) { /* same offsets from read, in the new ring */
        uint8_t *b = buf, *old = r->buf;
        if (b < old + r->cap && old < b + len) { /* the same memory (re-registered) */
            uint8_t *tmp = malloc(held);
            if (!tmp)
                return -ENOMEM;
            held_each(r, copy_to, tmp);
            memcpy(b, tmp, held);
            free(tmp);
        } else {
            held_each(r, copy_to, b);
        }
    }
    r->buf = buf;
    r->cap = len;
    r->wnd = len;
    r->base = r->read;
    r->sink = NULL;
    ooo_bound(r);
    return 0;
}

int xp_rcv_set_sink(struct xp_rcv *r, xp_sink_fn fn, void *arg, uint64_t window)
{
    if (!fn || !window || window > XP_WND_LIMIT || window < (1ull << r->ws))
        return -EINVAL;
    uint64_t end = readable_end(r);
    if (!held_movable(r, end - r->read + window, window))
        return -EBUSY;
    if (!r->stage && !(r->stage = aligned_alloc(64, XP_STAGE_BYTES)))
        return -ENOMEM;
    if (!r->sink && r->move_held) { /* bytes received already go to the hook first */
        int rc = held_each(r, fn, arg);
        if (rc)
            return rc;
    }
    r->sink = fn;
    r->sink_arg = arg;
    r->sink_base = r->read;
    r->read = end; /* sink mode: read follows nxt */
    r->buf = NULL;
    r->cap = window;
    r->wnd = window;
    r->base = r->read;
    free(r->own); /* never used again: a later ring is the application's */
    r->own = NULL;
    ooo_bound(r);
    return 0;
}

uint64_t xp_rcv_placed(const struct xp_rcv *r)
{
    return r->sink ? r->read - r->sink_base : 0;
}

const char *xp_rcv_violation(const struct xp_rcv *r, bool opened)
{
    const char *m;
    if (r->nxt && r->read > r->nxt - 1)
        return "read beyond rcv_nxt";
    uint64_t dend = r->nxt < r->fin ? r->nxt : r->fin;
    if (dend && dend - 1 > r->read + r->cap)
        return "received data beyond the ring";
    if (r->fin != UINT64_MAX && r->nxt > r->fin + 1)
        return "rcv_nxt past the FIN";
    if ((m = xp_ranges_violation(&r->ooo, r->nxt, xp_rcv_edge(r))))
        return m;
    if (r->ooo.n > r->ooo.max)
        return "more out-of-order ranges than the bound";
    if (r->fin != UINT64_MAX && r->ooo.n && r->ooo.r[r->ooo.n - 1].e > r->fin)
        return "out-of-order data after the FIN";
    if (r->read < r->base || (opened && (!r->cap || (!r->buf && !r->sink))))
        return "receive ring base";
    if (r->sink && (r->buf || r->read != (dend ? dend - 1 : 0) || r->read < r->sink_base))
        return "sink mode: in-order bytes not counted as read";
    if (xp_rcv_adv_wnd(r) > r->cap || r->wnd > r->cap)
        return "window larger than the ring";
    return NULL;
}
