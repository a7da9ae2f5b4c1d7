/* Transport engine, receive side: placement straight into the application's buffer
 * (an internal ring, a ring the application registered, or a sink hook that writes a
 * file), out-of-order ranges, the advertised window, SACK blocks to report and the
 * ACK policy (delayed ACK, every second segment at once).  Sans-I/O; shared by RBS and
 * TCP.
 *
 * Positions (xp_seq.h): the peer's SYN is 0, stream offset o is 1 + o.  The protocol
 * unwraps the segment's sequence number against nxt, checks acceptability, and then:
 *   xp_rcv_stage   the one pass over the payload, before anything acts on the segment:
 *                  bytes that may turn out new (in the window, below a known FIN, in
 *                  no out-of-order range) are copied to their place in the ring, or in
 *                  sink mode into the staging buffer; with check, the CRC32C of the
 *                  whole payload is computed in the same pass (every byte loaded once,
 *                  so it covers exactly the bytes stored).  Records nothing.
 *   xp_rcv_data    once the segment is accepted (CRC matched, ACK processed): FIN
 *                  consistency, trims, out-of-order bound, placement (sink: the hook
 *                  writes each new stretch from the staging copy), records the range,
 *                  absorbs ranges, consumes the FIN, decides the ACK.
 * Nothing between the two steps may change nxt, read, fin or the ranges.
 *
 * Buffer invariant: the ring holds stream offsets [read, read + cap); bytes below
 * nxt - 1 are readable, bytes in ooo are received but not readable, the rest is free.
 * The right edge read + cap only grows, so an advertised window is never withdrawn.
 * Sink mode: no ring, cap is the window, read follows nxt (nothing is readable).
 *
 * Out-of-order ranges: at most max(XP_RANGES_INLINE, cap / mss + 1) (an honest sender
 * of full segments needs at most half that); a segment that would need one more is
 * dropped and counted (ooo_dropped).  The receiver never reneges on a range. */
#ifndef JET_XP_RCV_H
#define JET_XP_RCV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xport/xp_range.h"
#include "xport/xp_seq.h"

enum {
    XP_PAYLOAD_MAX = 65536, /* largest payload xp_rcv_stage checks into the staging copy */
    XP_STAGE_BYTES = (XP_PAYLOAD_MAX + 64 + 63) & ~63, /* a payload at any alignment
                                                          within a cache line */
};

/* Sink hook: place p[0..len) at sink offset off; 0 or a negative errno. */
typedef int (*xp_sink_fn)(void *arg, uint64_t off, const uint8_t *p, size_t len);

/* A received payload after xp_rcv_stage: where its new bytes are. */
struct xp_stage {
    uint64_t pos;       /* position of payload byte 0 (mod 2^64: may be "negative") */
    const uint8_t *src; /* sink mode: position x is at src[x - pos]: the staging copy
                           (checked input), or the segment itself (unchecked input: the
                           caller vouches that it cannot change) */
};

struct xp_rcv_stats {
    uint64_t bytes_in;     /* new in-order bytes */
    uint64_t ooo_segs;     /* segments placed out of order */
    uint64_t ooo_dropped;  /* out-of-order segments dropped: range bound reached */
    uint64_t dup_segs;     /* segments carrying only bytes received before */
    uint64_t window_drops; /* segments with bytes beyond the window */
    uint64_t unexpected;   /* data after the FIN, a FIN moved or below received data */
};

struct xp_rcv {
    uint8_t *buf;           /* ring in use: internal or registered; NULL in sink mode */
    uint64_t cap;           /* ring size, or the sink's window */
    uint64_t wnd;           /* window limit <= cap (receive-window auto-tuning: it
                               only grows; = cap unless the owner lowered it at start) */
    uint64_t base;          /* stream offset stored at buf[0] */
    uint8_t *own;           /* the internal ring */
    xp_sink_fn sink;
    void *sink_arg;
    uint8_t *stage;         /* sink mode: XP_STAGE_BYTES, 64-aligned */
    uint64_t sink_base;     /* stream offset handed to the hook as 0 */
    bool move_held;         /* xp_rcv_register / set_sink move bytes received already
                               (TCP: accepted connections may have some); else -EBUSY */
    uint64_t nxt;           /* next position expected (0 before the SYN) */
    uint64_t read;          /* stream offset of the next byte the application reads */
    uint64_t fin;           /* position of the peer's FIN, UINT64_MAX if unknown */
    struct xp_ranges ooo;
    uint32_t ooo_recent;    /* index of the range the last segment touched */
    uint32_t mss;           /* largest payload we accept */
    uint8_t ws;             /* our window scale */
    uint64_t ack_delay_ns;
    /* ACK policy */
    uint64_t last_ack_sent; /* nxt in the last ACK sent */
    uint64_t last_adv_wnd;
    uint32_t ack_owed;      /* in-order segments not yet acknowledged */
    bool ack_now;
    uint64_t ack_at;        /* delayed ACK timer, 0 = off */
    struct xp_rcv_stats st;
};

/* cap: ring size (an internal ring is allocated unless external); mss: largest payload
 * accepted; ws: window scale.  0 or -ENOMEM (xp_rcv_fini cleans up). */
int xp_rcv_init(struct xp_rcv *r, uint64_t cap, bool external, uint32_t mss, uint8_t ws,
                uint64_t ack_delay_ns);
void xp_rcv_fini(struct xp_rcv *r);

/* Position after the last byte that fits. */
static inline uint64_t xp_rcv_edge(const struct xp_rcv *r)
{
    return 1 + r->read + r->wnd;
}
/* Sets the window limit (clamped to cap).  Never lowers the right edge once data
 * arrived: call it at creation to start small, later only to grow. */
static inline void xp_rcv_set_wnd(struct xp_rcv *r, uint64_t wnd)
{
    r->wnd = wnd < r->cap ? wnd : r->cap;
}
/* The window we would advertise, bytes (a multiple of 2^ws, at most 0xFFFF units). */
uint64_t xp_rcv_adv_wnd(const struct xp_rcv *r);

/* See above.  data: the segment may carry data in this state.  len <= XP_PAYLOAD_MAX in
 * sink mode with check.  Returns the CRC chained on crc (check), else crc. */
uint32_t xp_rcv_stage(struct xp_rcv *r, bool data, uint64_t pos, const uint8_t *p, size_t len,
                      bool check, uint32_t crc, struct xp_stage *sg);
/* The same with the Internet checksum (TCP): returns the ones'-complement partial sum of
 * the payload (16-bit words folded into 32 bits, add to the header's and fold) when
 * check, else 0.  The sum covers the bytes as stored in the ring or staging copy, and
 * the rest as read from p: every byte read once. */
uint32_t xp_rcv_stage_inet(struct xp_rcv *r, bool data, uint64_t pos, const uint8_t *p,
                           size_t len, bool check, struct xp_stage *sg);
enum { XP_RCV_FIN = 1 };
/* An acceptable segment's payload at pos >= nxt (len bytes staged in sg; FIN after it if
 * fin).  Returns XP_RCV_FIN when the FIN was reached now (nxt moved past it), 0, or the
 * sink's negative errno (nothing recorded: the connection must fail). */
int xp_rcv_data(struct xp_rcv *r, uint64_t pos, size_t len, bool fin, const struct xp_stage *sg,
                uint64_t now);
/* Up to max ranges to report: the one the last segment touched first (RFC 2018), then
 * the others in order. */
int xp_rcv_sack(const struct xp_rcv *r, struct xp_range *out, int max);
/* An ACK carrying nxt and adv went out. */
static inline void xp_rcv_acked(struct xp_rcv *r, uint64_t adv)
{
    r->ack_now = false;
    r->ack_owed = 0;
    r->ack_at = 0;
    r->last_ack_sent = r->nxt;
    r->last_adv_wnd = adv;
}

/* ---- application side ---- */
size_t xp_rcv_ready(const struct xp_rcv *r);
bool xp_rcv_eof(const struct xp_rcv *r);
size_t xp_rcv_peek(const struct xp_rcv *r, const uint8_t **p);
/* Frees n read bytes (-EINVAL beyond ready); may make a window update due (open: the
 * connection is synchronized). */
int xp_rcv_consume(struct xp_rcv *r, size_t n, bool open);
/* Copies up to len readable bytes into buf and frees them (xp_rcv_consume with open, the
 * wrap of the ring taken care of): the bytes copied (0: none ready). */
size_t xp_rcv_read(struct xp_rcv *r, void *buf, size_t len, bool open);
/* Places the stream into buf[0..len) from the read position on.  With move_held, bytes
 * received already (readable or out of order: at most a window) are copied into buf at
 * their offsets from the read position.  -EINVAL; -EBUSY if bytes wait (without
 * move_held), if they do not fit len, or if out-of-order bytes are in a sink's file;
 * -ENOMEM (buf overlaps the ring in use: the bytes go through a copy). */
int xp_rcv_register(struct xp_rcv *r, void *buf, size_t len);
/* Sink mode (window bytes beyond the in-order edge).  With move_held, bytes received
 * already go to fn first, at their offsets from the read position (the readable ones
 * are then placed: xp_rcv_placed counts them); fn's error is returned and nothing
 * changes.  -EINVAL, -EBUSY (bytes wait without move_held, out-of-order bytes beyond
 * the window or in a sink already), -ENOMEM. */
int xp_rcv_set_sink(struct xp_rcv *r, xp_sink_fn fn, void *arg, uint64_t window);
uint64_t xp_rcv_placed(const struct xp_rcv *r);

/* NULL if every receive-side invariant holds, else which one broke. */
const char *xp_rcv_violation(const struct xp_rcv *r, bool opened);

#endif
