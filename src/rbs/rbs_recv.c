/* RBS receive side: the receive ring or the sink, out-of-order ranges, placement, the
 * advertised window, SACK blocks to send, and the application's read calls.
 *
 * A segment's payload is handled in two steps, so that a payload that changes while it
 * is read (it sits in a pool other processes can write) is never taken as good:
 *   rbs_rcv_stage (rbs_input, right after the header is copied out and parsed, before
 *   anything acts on the segment): the one pass over the payload.  Bytes that may turn
 *   out new -- in the window, below a known FIN, in no out-of-order range -- are copied
 *   to their place in the ring, or in sink mode into the staging buffer; the CRC of the
 *   whole segment is computed in the same pass (jet_crc32c_copy: the bytes stored are
 *   the bytes summed).  Nothing is recorded: until the CRC matched and rbs_rcv_data took
 *   them, the ring bytes lie in free space beyond the delivered edge, and overwriting
 *   them there harms nothing.  Bytes already received are never written again (a
 *   damaged copy of them would otherwise replace good bytes).
 *   rbs_rcv_data (rbs_input, after the sequence check, RST/SYN handling and ACK
 *   processing, only when the CRC matched): FIN consistency -> trim the front (already
 *   received) -> trim the back (beyond the window) -> out of order and the range table
 *   full: drop -> place (ring: nothing left to do; sink: the hook writes each new
 *   stretch from the staging buffer; a hook that fails fails the connection and records
 *   nothing) -> record the range (in order: advance rcv_nxt and absorb ranges; out of
 *   order: insert) -> sink mode: the in-order bytes count as read -> consume the FIN
 *   when rcv_nxt reaches it -> decide whether an ACK is due now or after the
 *   delayed-ACK time.
 * Nothing between the two steps changes what they depend on (rcv_nxt, rcv_read, the
 * ranges, the FIN), so every byte rbs_rcv_data records was staged.
 *
 * Invariant: the ring holds stream offsets [rcv_read, rcv_read + rb_cap); bytes below
 * rcv_nxt - 1 are readable, bytes in ooo[] are received but not readable, the rest is
 * free.  The right edge rcv_read + rb_cap only grows, so an advertised window is never
 * withdrawn: data is accepted up to the true edge, which is >= any edge advertised.
 * In sink mode there is no ring: rb_cap is the window, and rcv_read follows rcv_nxt
 * (nothing is ever readable), so the edge is always `window` beyond the in-order data. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jet/crc32c.h"
#include "rbs/rbs_impl.h"

uint64_t rbs_rcv_edge(const struct rbs_conn *c)
{
    return 1 + c->rcv_read + c->rb_cap;
}

uint64_t rbs_adv_wnd(const struct rbs_conn *c)
{
    uint64_t e = rbs_rcv_edge(c);
    uint64_t w = e > c->rcv_nxt ? e - c->rcv_nxt : 0;
    if (w > c->rb_cap) /* before the peer's SYN (rcv_nxt 0) */
        w = c->rb_cap;
    uint64_t max = (uint64_t)0xFFFF << c->rcv_ws;
    if (w > max)
        w = max;
    return w >> c->rcv_ws << c->rcv_ws;
}

/* Adds [s, e) to the sorted, disjoint, non-adjacent ranges r[0..*n), merging.
 * Returns the index of the range now holding it, or -1 (nothing changed) when it
 * would need a new entry and the table is full. */
int rbs_range_add(struct rbs_range *r, uint32_t *n, uint32_t max, uint64_t s, uint64_t e);
int rbs_range_add(struct rbs_range *r, uint32_t *n, uint32_t max, uint64_t s, uint64_t e)
{
    uint32_t i = 0, j;
    while (i < *n && r[i].e < s)
        i++;
    j = i;
    while (j < *n && r[j].s <= e)
        j++;
    if (i == j) {
        if (*n >= max)
            return -1;
        memmove(&r[i + 1], &r[i], (*n - i) * sizeof *r);
        r[i].s = s;
        r[i].e = e;
        (*n)++;
        return (int)i;
    }
    uint64_t ns = s < r[i].s ? s : r[i].s;
    uint64_t ne = e > r[j - 1].e ? e : r[j - 1].e;
    r[i].s = ns;
    r[i].e = ne;
    memmove(&r[i + 1], &r[j], (*n - j) * sizeof *r);
    *n -= j - i - 1;
    return (int)i;
}

/* Whether [s, e) can be recorded: it touches a range, or there is room for one more. */
static bool range_fits(const struct rbs_range *r, uint32_t n, uint32_t max, uint64_t s, uint64_t e)
{
    uint32_t i = 0;
    while (i < n && r[i].e < s)
        i++;
    return n < max || (i < n && r[i].s <= e);
}

/* Stream offset after the last readable byte. */
static uint64_t readable_end(const struct rbs_conn *c)
{
    uint64_t r = c->rcv_nxt < c->rcv_fin ? c->rcv_nxt : c->rcv_fin;
    return r ? r - 1 : 0;
}

/* The next stretch of [*x, end) that no out-of-order range holds: [*hs, *he), and *x
 * moves past it; false when there is none.  *k is a cursor into ooo[] (start at 0 with
 * the lowest *x; ooo[] is sorted). */
static bool next_hole(const struct rbs_conn *c, uint32_t *k, uint64_t *x, uint64_t end,
                      uint64_t *hs, uint64_t *he)
{
    while (*x < end) {
        if (*k < c->nooo && c->ooo[*k].e <= *x) {
            (*k)++;
            continue;
        }
        uint64_t s = *k < c->nooo && c->ooo[*k].s < end ? c->ooo[*k].s : end;
        if (s > *x) {
            *hs = *x;
            *he = *x = s;
            return true;
        }
        *x = c->ooo[*k].e; /* inside range k (s <= *x < e, so k < nooo) */
        (*k)++;
    }
    return false;
}

static inline uint32_t copy(bool check, uint32_t crc, uint8_t *d, const uint8_t *s, size_t n)
{
    if (check)
        return jet_crc32c_copy(crc, d, s, n);
    memcpy(d, s, n);
    return crc;
}

uint32_t rbs_rcv_stage(struct rbs_conn *c, bool data, uint64_t r, const uint8_t *p, size_t len,
                       bool check, uint32_t crc, struct rbs_stage *sg)
{
    /* The staging copy sits at the payload's alignment in a cache line, so that the
     * fused copy's loads and stores are aligned alike (a 64-byte vector copy whose loads
     * all straddle two lines costs about a tenth more). */
    uint8_t *st = c->sink && check ? c->stage + ((uintptr_t)p & 63) : NULL;
    sg->r = r;
    sg->src = st ? st : p;
    size_t done = 0; /* payload bytes read so far */
    /* Positions are below 2^63: compared as signed, r may lie before rcv_nxt by any
     * amount a 32-bit sequence number can say. */
    int64_t lo = (int64_t)r, hi = (int64_t)r + (int64_t)len;
    if (lo < (int64_t)c->rcv_nxt)
        lo = (int64_t)c->rcv_nxt;
    if (hi > (int64_t)rbs_rcv_edge(c))
        hi = (int64_t)rbs_rcv_edge(c);
    if (c->rcv_fin != UINT64_MAX && hi > (int64_t)c->rcv_fin)
        hi = (int64_t)c->rcv_fin;
    uint32_t k = 0;
    uint64_t x = (uint64_t)lo, hs, he;
    while (data && lo < hi && next_hole(c, &k, &x, (uint64_t)hi, &hs, &he)) {
        size_t a = (size_t)(hs - r), n = (size_t)(he - hs);
        if (check && a > done)
            crc = jet_crc32c(crc, p + done, a - done);
        if (c->sink) {
            if (check)
                crc = jet_crc32c_copy(crc, st + a, p + a, n);
        } else { /* hs - 1 is the stream offset; the ring may wrap within the stretch */
            uint64_t idx = (hs - 1 - c->rb_base) % c->rb_cap;
            size_t first = n < c->rb_cap - idx ? n : (size_t)(c->rb_cap - idx);
            crc = copy(check, crc, c->rbuf + idx, p + a, first);
            if (n > first)
                crc = copy(check, crc, c->rbuf, p + a + first, n - first);
        }
        done = a + n;
    }
    if (check && done < len)
        crc = jet_crc32c(crc, p + done, len - done);
    return crc;
}

/* Places the new bytes of [r, r + len), staged by rbs_rcv_stage: 0, or the sink's errno.
 * Ring mode: they are in the ring already.  Sink mode: each stretch no out-of-order range
 * holds goes to the hook once (bytes received before are not written again). */
static int place(struct rbs_conn *c, const struct rbs_stage *sg, uint64_t r, size_t len)
{
    if (!c->sink)
        return 0;
    uint32_t k = 0;
    uint64_t x = r, hs, he;
    while (next_hole(c, &k, &x, r + len, &hs, &he)) {
        int rc = c->sink(c->sink_arg, hs - 1 - c->sink_base, sg->src + (hs - sg->r),
                         (size_t)(he - hs));
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* rcv_nxt moved: absorb ranges it reached. */
static bool absorb(struct rbs_conn *c)
{
    uint32_t k = 0;
    while (k < c->nooo && c->ooo[k].s <= c->rcv_nxt) {
        if (c->ooo[k].e > c->rcv_nxt) {
            c->st.bytes_in += c->ooo[k].e - c->rcv_nxt;
            c->rcv_nxt = c->ooo[k].e;
        }
        k++;
    }
    if (k) {
        memmove(&c->ooo[0], &c->ooo[k], (c->nooo - k) * sizeof c->ooo[0]);
        c->nooo -= k;
        c->ooo_recent = 0;
    }
    return k > 0;
}

static void fin_reached(struct rbs_conn *c, uint64_t now)
{
    c->rcv_nxt++;
    c->ack_now = true;
    switch (c->state) {
    case RBS_ESTABLISHED: rbs_enter(c, RBS_CLOSE_WAIT, now); break;
    case RBS_FIN_WAIT_1: rbs_enter(c, RBS_CLOSING, now); break;
    case RBS_FIN_WAIT_2: rbs_enter(c, RBS_TIME_WAIT, now); break;
    default: break;
    }
}

void rbs_rcv_data(struct rbs_conn *c, uint64_t r, size_t len, bool fin, const struct rbs_stage *sg,
                  uint64_t now)
{
    bool had_data = len > 0;
    int rc;
    if (fin && c->rcv_fin != UINT64_MAX && c->rcv_fin != r + len)
        goto unexpected; /* a second FIN at another place */
    if (c->rcv_fin != UINT64_MAX && r + len > c->rcv_fin)
        goto unexpected; /* data after the FIN */
    if (fin && c->nooo && c->ooo[c->nooo - 1].e > r + len)
        goto unexpected; /* a FIN below data already received */
    if (r < c->rcv_nxt) {
        uint64_t skip = c->rcv_nxt - r;
        if (skip >= len) {
            skip = len;
        }
        len -= (size_t)skip;
        r += skip;
        if (r < c->rcv_nxt) /* only a FIN remains, and it was consumed already */
            fin = false;
    }
    uint64_t edge = rbs_rcv_edge(c);
    if (r + len > edge) {
        c->st.window_drops++;
        len = r < edge ? (size_t)(edge - r) : 0;
        fin = false;
        c->ack_now = true;
    }
    if (len) {
        if (r > c->rcv_nxt) {
            if (!range_fits(c->ooo, c->nooo, RBS_OOO_MAX, r, r + len)) {
                c->st.ooo_dropped++;
                c->ack_now = true;
                return;
            }
            rc = place(c, sg, r, len);
            if (rc < 0)
                goto sink_failed;
            c->ooo_recent = (uint32_t)rbs_range_add(c->ooo, &c->nooo, RBS_OOO_MAX, r, r + len);
            c->st.ooo_segs++;
            c->ack_now = true; /* out of order: ACK at once so the sender sees the SACK */
        } else {
            rc = place(c, sg, r, len);
            if (rc < 0)
                goto sink_failed;
            c->rcv_nxt += len;
            c->st.bytes_in += len;
            if (absorb(c) || c->nooo)
                c->ack_now = true; /* filled (part of) a hole */
            else
                c->ack_owed++;
        }
    } else if (had_data && !fin) {
        c->st.dup_segs++;
        c->ack_now = true;
    }
    if (fin && c->rcv_fin == UINT64_MAX)
        c->rcv_fin = r + len;
    if (c->sink)
        c->rcv_read = readable_end(c); /* placed in order: the application has it */
    if (c->rcv_fin == c->rcv_nxt)
        fin_reached(c, now);
    if (c->ack_owed >= 2)
        c->ack_now = true;
    else if (c->ack_owed && !c->ack_at)
        c->ack_at = now + c->cfg.ack_delay_ns;
    return;
sink_failed: /* never acknowledge bytes that did not reach their place */
    rbs_fail(c, rc, true);
    return;
unexpected:
    c->st.unexpected++;
    c->ack_now = true;
}

int rbs_rcv_sack(const struct rbs_conn *c, struct rbs_sack *out)
{
    int n = 0;
    if (!c->nooo)
        return 0;
    uint32_t first = c->ooo_recent < c->nooo ? c->ooo_recent : 0;
    out[n].start = c->irs + (uint32_t)c->ooo[first].s;
    out[n].end = c->irs + (uint32_t)c->ooo[first].e;
    n++;
    for (uint32_t i = 0; i < c->nooo && n < RBS_MAX_SACK; i++) {
        if (i == first)
            continue;
        out[n].start = c->irs + (uint32_t)c->ooo[i].s;
        out[n].end = c->irs + (uint32_t)c->ooo[i].e;
        n++;
    }
    return n;
}

/* ---- application side ---- */

size_t rbs_recv_ready(const struct rbs_conn *c)
{
    uint64_t e = readable_end(c);
    return e > c->rcv_read ? (size_t)(e - c->rcv_read) : 0;
}

bool rbs_recv_eof(const struct rbs_conn *c)
{
    return c->rcv_fin != UINT64_MAX && c->rcv_nxt > c->rcv_fin;
}

size_t rbs_recv_peek(const struct rbs_conn *c, const uint8_t **p)
{
    size_t n = rbs_recv_ready(c);
    if (!n || !c->rb_cap) {
        *p = c->rbuf;
        return 0;
    }
    uint64_t idx = (c->rcv_read - c->rb_base) % c->rb_cap;
    *p = c->rbuf + idx;
    return n < c->rb_cap - idx ? n : (size_t)(c->rb_cap - idx);
}

int rbs_recv_consume(struct rbs_conn *c, size_t n)
{
    if (n > rbs_recv_ready(c))
        return -EINVAL;
    if (!n)
        return 0;
    c->rcv_read += n;
    /* Window update when the window grew a lot from a small advertisement; the
     * sender's persist probes cover a lost update. */
    uint64_t w = rbs_adv_wnd(c);
    uint64_t step = c->rb_cap / 2 < 2ull * c->cfg.mss ? c->rb_cap / 2 : 2ull * c->cfg.mss;
    if (rbs_synced(c) && c->rcv_fin == UINT64_MAX && c->last_adv_wnd < c->rb_cap / 2 &&
        w >= c->last_adv_wnd + step && w > 0)
        c->ack_now = true;
    return 0;
}

ssize_t rbs_recv(struct rbs_conn *c, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        const uint8_t *p;
        size_t n = rbs_recv_peek(c, &p);
        if (!n)
            break;
        if (n > len - got)
            n = len - got;
        memcpy((uint8_t *)buf + got, p, n);
        rbs_recv_consume(c, n);
        got += n;
    }
    if (got || !len)
        return (ssize_t)got;
    if (rbs_recv_eof(c))
        return 0;
    if (c->err)
        return c->err;
    return -EAGAIN;
}

int rbs_recv_register(struct rbs_conn *c, void *buf, size_t len)
{
    if (!buf || !len)
        return -EINVAL;
    if (rbs_recv_ready(c) || c->nooo)
        return -EBUSY;
    c->rbuf = buf;
    c->rb_cap = len;
    c->rb_base = c->rcv_read;
    c->sink = NULL;
    return 0;
}

int rbs_recv_sink(struct rbs_conn *c, rbs_sink_fn fn, void *arg, uint64_t window)
{
    if (!fn || !window || window > RBS_WND_LIMIT || window < (1ull << c->rcv_ws))
        return -EINVAL;
    if (rbs_recv_ready(c) || c->nooo)
        return -EBUSY;
    if (!c->stage && !(c->stage = aligned_alloc(64, RBS_STAGE_BYTES)))
        return -ENOMEM;
    c->sink = fn;
    c->sink_arg = arg;
    c->sink_base = c->rcv_read;
    c->rbuf = NULL;
    c->rb_cap = window;
    c->rb_base = c->rcv_read;
    free(c->rbuf_own); /* never used again: a later ring is the application's */
    c->rbuf_own = NULL;
    return 0;
}

uint64_t rbs_recv_placed(const struct rbs_conn *c)
{
    return c->sink ? c->rcv_read - c->sink_base : 0;
}
