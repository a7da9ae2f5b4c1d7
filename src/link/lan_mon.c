/* The emulated LAN's monitor (JET_LINK_MONITOR, `jet dump lan:NAME`): a
 * process that sees every frame any station puts onto the medium without
 * being a station (docs/lan.md, "Watching the LAN").
 *
 * Stations' side (called from lan_tx.c).  A station reads the header's
 * mon_token once per flush (lan_mon_on); while it is 0 nothing else
 * happens.  While a monitor is attached, lan_mon_copy copies each frame as
 * it goes onto the medium (after the medium's rate has placed it, before
 * the faults, which the LAN draws per receiver) into the station's own
 * monitor ring, a byte ring of records (struct lan_mon_ring, lan_impl.h):
 * its first min(len, snap) bytes, snap the monitor's snap length (the
 * header's mon_snap, read with each copy: 0 whole frames, at least
 * LAN_MON_SNAP_MIN), and its whole length;
 * lan_mon_publish stores the ring's tail once per flush and wakes the
 * monitor if it sleeps.  The monitor never holds a pool buffer and a full
 * ring loses the frame for the monitor only (counted in the ring's lost):
 * what the stations get is unchanged.  A station that finds the ring full
 * looks every CHECK_NS whether the monitor still lives (its lock, as for
 * stations), and detaches a dead one.
 *
 * Monitor's side.  jet_lan_monitor() takes the monitor lock (byte
 * LAN_MON_LOCK of the segment file: one monitor at a time, -EBUSY), starts
 * every ring from its tail and sets mon_token.  mon_rx_burst merges the
 * rings by the records' stamps and copies each record, checked field by
 * field (the segment is hostile input: lan_mon_parse), into a buffer of its
 * own, which it lends; mon_wait sleeps on the header's doorbell.  Nothing it reads can
 * make it lend a frame outside its buffers or longer than the LAN's largest
 * frame; a malformed ring is counted (rx_dropped) and skipped to its tail. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "jet/frame.h"
#include "jet/inet.h"
#include "link/lan_link.h"
#include "link/lan_mon.h"
#include "util/clock.h"

/* ---- stations' side ---- */

uint32_t lan_mon_attach(struct lan_link *k)
{
    struct lan_mon_ring *r = lan_mon_ring(&k->seg, k->me);
    k->mon_tail = atomic_load(&r->tail);
    k->mon_head = atomic_load(&r->head);
    k->mon_lost = atomic_load(&r->lost);
    k->mon_dirty = false;
    if (k->mon_tail - k->mon_head > k->seg.g.mon_size || (k->mon_tail & 31)) {
        /* Not indices anyone wrote: start afresh (a monitor follows a tail
         * that jumps, counting it). */
        k->mon_tail &= ~31u;
        k->mon_head = k->mon_tail;
        atomic_store(&r->tail, k->mon_tail);
        return 1;
    }
    return 0;
}

/* The frame could not go into the ring: the monitor loses it.  A ring that
 * stays full may belong to a monitor that died: look now and then. */
static void mon_full(struct lan_link *k)
{
    k->mon_dirty = true;
    if (k->mon_lost++ & 63)
        return; /* the clock is read once every 64 frames lost */
    uint64_t now = jet_now_ns();
    if (now - k->mon_check > CHECK_NS) {
        k->mon_check = now;
        lan_check_monitor(&k->seg);
    }
}

void lan_mon_copy(struct lan_link *k, const struct txq_ent *e, uint64_t at)
{
    struct lan_mon_ring *r = lan_mon_ring(&k->seg, k->me);
    /* The monitor's snap length, hostile input: any value gives
     * LAN_MON_SNAP_MIN..e->len bytes (or fewer when the frame is). */
    uint32_t snap = atomic_load_explicit(&k->seg.h->mon_snap, memory_order_relaxed), cl = e->len;
    if (snap) {
        if (snap < LAN_MON_SNAP_MIN)
            snap = LAN_MON_SNAP_MIN;
        if (snap < cl)
            cl = snap;
    }
    uint32_t size = k->seg.g.mon_size, t = k->mon_tail;
    uint32_t rl = lan_mon_rec_bytes(cl), off = t & (size - 1), end = size - off;
    uint32_t need = rl <= end ? rl : end + rl;
    if (size - (t - k->mon_head) < need) {
        /* The consumer's head, checked as read_head() does a ring's: one
         * more than a ring behind our tail, or past it, is not its own. */
        uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);
        if (t - h <= size)
            k->mon_head = h;
        else
            lan_bad(k);
        if (size - (t - k->mon_head) < need) {
            mon_full(k);
            return;
        }
    }
    if (rl > end) { /* does not fit before the end: pad, and start over */
        struct lan_mon_rec *pad = (struct lan_mon_rec *)(r->data + off);
        *pad = (struct lan_mon_rec){.pos = t, .len = LAN_MON_PAD};
        t += end;
        off = 0;
    }
    struct lan_mon_rec *rec = (struct lan_mon_rec *)(r->data + off);
    *rec = (struct lan_mon_rec){.pos = t,
                                .len = cl,
                                .at = at,
                                .encap = e->encap,
                                .src = (uint16_t)k->me,
                                .dst = e->dst,
                                .wire_len = e->len};
    memcpy(rec + 1, lan_frame_data(k, e->idx), cl);
    k->mon_tail = t + rl;
    k->mon_dirty = true;
}

void lan_mon_publish(struct lan_link *k)
{
    struct lan_seg *s = &k->seg;
    struct lan_mon_ring *r = lan_mon_ring(s, k->me);
    k->mon_dirty = false;
    atomic_store_explicit(&r->lost, k->mon_lost, memory_order_relaxed);
    atomic_store_explicit(&r->tail, k->mon_tail, memory_order_release);
    /* The store-then-look handshake with a monitor going to sleep, as with a
     * receiver (lan_publish_tails): its membarrier fences us if both are
     * registered; otherwise we fence. */
    if (!k->asym || !atomic_load_explicit(&s->h->mon_fence, memory_order_relaxed))
        atomic_thread_fence(memory_order_seq_cst);
    else
        atomic_signal_fence(memory_order_seq_cst);
    /* One producer rings, the first to see the flag: it takes it down. */
    if (atomic_load_explicit(&s->h->mon_sleeping, memory_order_relaxed) &&
        atomic_exchange_explicit(&s->h->mon_sleeping, 0, memory_order_relaxed)) {
        atomic_fetch_add(&s->h->mon_doorbell, 1);
        lan_futex(&s->h->mon_doorbell, FUTEX_WAKE, INT_MAX, NULL);
    }
}

/* ---- the records, as the monitor reads them (hostile input) ---- */

int lan_mon_parse(const uint8_t *data, uint32_t size, uint32_t h, uint32_t t, uint32_t frame_max,
                  struct lan_mon_view *v)
{
    if (h == t)
        return 0;
    if (t - h > size || ((t - h) & 31) || (h & 31) || size < 64 || (size & (size - 1)))
        return -EBADMSG;
    uint32_t off = h & (size - 1), end = size - off;
    struct lan_mon_rec rec; /* read once, then checked */
    memcpy(&rec, data + off, sizeof rec);
    if (rec.pos != h)
        return -EBADMSG;
    if (rec.len == LAN_MON_PAD) {
        if (end > t - h || end == size)
            return -EBADMSG; /* a pad that claims more than was written, or a whole lap */
        *v = (struct lan_mon_view){.skip = end};
        return 1;
    }
    uint32_t rl = lan_mon_rec_bytes(rec.len);
    uint32_t least = rec.wire_len < LAN_MON_SNAP_MIN ? rec.wire_len : LAN_MON_SNAP_MIN;
    if (rec.wire_len < 14 || rec.wire_len > frame_max || rec.len > rec.wire_len ||
        rec.len < least || rec.encap > JET_ENCAP_ETH || rl > end || rl > t - h)
        return -EBADMSG;
    *v = (struct lan_mon_view){.skip = rl,
                               .data = data + off + sizeof rec,
                               .len = rec.len,
                               .wire_len = rec.wire_len,
                               .encap = (uint8_t)rec.encap,
                               .at = rec.at,
                               .src = rec.src,
                               .dst = rec.dst};
    return 1;
}

/* A sender's TCP on the LAN may leave a checksum partial (caps.csum): as
 * jet lan tap does for the kernel, the monitor's copy gets it computed, so a
 * capture shows what a real wire would carry.  Unfragmented IPv4 TCP and UDP
 * in Ethernet only; anything else is left as it is. */
void lan_mon_csum(uint8_t *d, uint32_t len)
{
    if (len < 14 + 20 || d[12] != 0x08 || d[13] != 0x00 || (d[14] >> 4) != 4)
        return;
    uint32_t ihl = (d[14] & 15u) * 4, tl = (uint32_t)(d[16] << 8 | d[17]);
    if (ihl < 20 || tl < ihl || 14 + tl > len || ((d[20] & 0x3f) | d[21]))
        return; /* short, or a fragment (MF or an offset) */
    uint8_t proto = d[23];
    uint32_t l4 = 14 + ihl, l4len = tl - ihl, co;
    if (proto == 6 && l4len >= 20)
        co = 16;
    else if (proto == 17 && l4len >= 8 && (d[l4 + 6] | d[l4 + 7]))
        co = 6;
    else
        return;
    uint8_t ph[4] = {0, proto, (uint8_t)(l4len >> 8), (uint8_t)l4len};
    uint32_t sum = jet_inet_sum(d + 26, 8, 0);
    sum = jet_inet_sum(ph, 4, sum);
    d[l4 + co] = d[l4 + co + 1] = 0;
    uint16_t c = jet_inet_csum(jet_inet_sum(d + l4, l4len, sum));
    if (proto == 17 && c == 0)
        c = 0xffff;
    d[l4 + co] = (uint8_t)(c >> 8);
    d[l4 + co + 1] = (uint8_t)c;
}

/* ---- the monitor link ---- */

enum { MON_BUFS = 128, MON_BURST = 32 };
/* Waiting (mon_wait).  The monitor reads in batches: with every ring under an
 * eighth full it naps first, records waiting or not, and takes them in one go
 * after; beside stations that busy-poll on few CPUs a monitor that woke for
 * every few records took a CPU from them.  The nap starts at NAP_MIN_NS; after
 * a nap that found records it doubles while the rings stay under an eighth
 * full, up to BATCH_MAX_NS for whole frames (a 1 MiB ring holds 130 us of
 * them at the LAN's 8 GB/s, so a nap never fills it past its middle) or
 * BATCH_MAX_SNAP_NS for snapped records (one snap of 128 bytes per frame is a
 * few per cent of whole 9000-byte frames), and halves when a ring passed its
 * middle.  After a nap that found none it grows to NAP_MAX_NS at most, and
 * only after QUIET_NS without a frame does the monitor sleep on the doorbell,
 * whose wake-up costs the first station that sends a futex call, and the
 * monitor a membarrier (lan_tx.c) that interrupts every CPU running a
 * station. */
#define NAP_MIN_NS        20000ull
#define NAP_MAX_NS        200000ull
#define BATCH_MAX_NS      60000ull
#define BATCH_MAX_SNAP_NS 1000000ull
#define QUIET_NS          100000000ull
#define MON_NAP_NS        100000000ull /* longest sleep: a lost wake-up costs at most this */
#define MON_NAP_FENCELESS 1000000ull   /* ... without membarrier, where one can be lost */

struct lan_mon {
    struct jet_link base;
    struct lan_seg seg;
    uint32_t token, nst, size, frame_max;
    bool asym;
    uint64_t nap, quiet;                 /* the next nap (mon_wait); how long it napped without a frame */
    uint32_t head[JET_LAN_MAX_STATIONS]; /* next byte to read, per station */
    uint32_t lost_seen[JET_LAN_MAX_STATIONS]; /* the ring's lost count last read */
    uint32_t snap;           /* the snap length it asked for (0: none); it lends no more */
    uint32_t wire[MON_BUFS]; /* per buffer lent: the frame's whole length */
    uint8_t *bufs;
    uint32_t stride;
    uint32_t nfree;
    uint32_t free[MON_BUFS];
    uint8_t lent[MON_BUFS];
    struct jet_link_stats st;
};

static const struct jet_link_ops mon_ops;

/* The LAN functions that ask only about the segment (jet_lan_station_mac,
 * jet_lan_pool_stats) take a monitor as they take a station: both begin
 * with the link head and the segment. */
_Static_assert(offsetof(struct lan_mon, seg) == offsetof(struct lan_link, seg),
               "a monitor's segment lies where a station's does");

static struct lan_mon *M(struct jet_link *l)
{
    return (struct lan_mon *)l;
}

static int mon_lost_err(struct lan_mon *m)
{
    return jet_err_set(&m->base.err, -EIO,
                       "the monitor of LAN '%s' was detached in shared memory by another "
                       "process; it stopped",
                       m->seg.g.name);
}

static bool mon_lost(struct lan_mon *m)
{
    return atomic_load_explicit(&m->seg.h->mon_token, memory_order_relaxed) != m->token;
}

/* Frames the producer of ring s counted as lost since we last looked. */
static void take_lost(struct lan_mon *m, struct lan_mon_ring *r, uint32_t s)
{
    uint32_t l = atomic_load_explicit(&r->lost, memory_order_relaxed);
    uint32_t d = l - m->lost_seen[s];
    if (!d)
        return;
    m->lost_seen[s] = l;
    m->st.rx_dropped += d <= (1u << 24) ? d : 1; /* a scribbled count: one bad value */
}

/* Lends the frames of every ring, merged by their senders' stamps: the
 * tails are read once (what is visible then is the burst's), and each
 * frame lent is the earliest stamped among the rings' next records. */
static int mon_rx_burst(struct jet_link *l, struct jet_frame *f, unsigned max)
{
    struct lan_mon *m = M(l);
    uint32_t tail[JET_LAN_MAX_STATIONS];
    struct lan_mon_view v[JET_LAN_MAX_STATIONS];
    uint64_t ready = 0; /* rings whose next record is in v[] */
    uint32_t old[JET_LAN_MAX_STATIONS];
    for (uint32_t s = 0; s < m->nst; s++) {
        struct lan_mon_ring *r = lan_mon_ring(&m->seg, s);
        tail[s] = atomic_load_explicit(&r->tail, memory_order_acquire);
        old[s] = m->head[s];
        take_lost(m, r, s);
    }
    unsigned n = 0;
    while (n < max && m->nfree) {
        int best = -1;
        for (uint32_t s = 0; s < m->nst; s++) {
            while (!(ready >> s & 1) && m->head[s] != tail[s]) {
                int rc = lan_mon_parse(lan_mon_ring(&m->seg, s)->data, m->size, m->head[s], tail[s],
                                       m->frame_max, &v[s]);
                if (rc < 0) {
                    m->st.rx_dropped++; /* malformed: up to the tail is skipped */
                    m->head[s] = tail[s];
                } else if (!v[s].data) {
                    m->head[s] += v[s].skip; /* padding */
                } else {
                    ready |= 1ull << s;
                }
            }
            if ((ready >> s & 1) && (best < 0 || v[s].at < v[best].at))
                best = (int)s;
        }
        if (best < 0)
            break;
        const struct lan_mon_view *b = &v[best];
        uint32_t i = m->free[--m->nfree];
        uint8_t *d = m->bufs + (size_t)i * m->stride;
        /* A record holds what the station's reading of mon_snap gave: a
         * record copied before we asked for a snap length is cut here. */
        uint32_t len = m->snap && m->snap < b->len ? m->snap : b->len;
        memcpy(d, b->data, len);
        if (b->encap == JET_ENCAP_ETH)
            lan_mon_csum(d, len); /* whole frames only: it needs every byte */
        m->lent[i] = 1;
        m->wire[i] = b->wire_len;
        f[n++] = (struct jet_frame){.data = d, .len = len, .cap = len, .buf = i, .encap = b->encap};
        m->st.rx_frames++;
        m->st.rx_bytes += len;
        m->head[best] += b->skip;
        ready &= ~(1ull << best);
    }
    for (uint32_t s = 0; s < m->nst; s++)
        if (m->head[s] != old[s])
            atomic_store_explicit(&lan_mon_ring(&m->seg, s)->head, m->head[s],
                                  memory_order_release);
    if (n)
        m->quiet = 0;
    return (int)n;
}

static void mon_rx_release(struct jet_link *l, struct jet_frame *f, unsigned n)
{
    struct lan_mon *m = M(l);
    for (unsigned i = 0; i < n; i++) {
        uint32_t b = f[i].buf;
        if (b < MON_BUFS && m->lent[b] && f[i].data == m->bufs + (size_t)b * m->stride) {
            m->lent[b] = 0;
            m->free[m->nfree++] = b;
        }
    }
}

static int mon_tx_alloc(struct jet_link *l, struct jet_frame *f)
{
    (void)f;
    return jet_err_set(&l->err, -EPERM,
                       "%s is open as a monitor: it sends nothing (open it without "
                       "JET_LINK_MONITOR to be a station)",
                       l->name);
}

static void mon_tx_abort(struct jet_link *l, struct jet_frame *f)
{
    (void)l;
    (void)f;
}

static int mon_tx_commit(struct jet_link *l, struct jet_frame *f)
{
    mon_rx_release(l, f, 1); /* a frame it lent, "sent on": given back */
    return mon_tx_alloc(l, f);
}

bool lan_mon_is(const struct jet_link *l)
{
    return l && l->ops == &mon_ops;
}

uint32_t lan_mon_wire_len(const struct jet_link *l, const struct jet_frame *f)
{
    if (!lan_mon_is(l))
        return f->len;
    const struct lan_mon *m = (const struct lan_mon *)l;
    uint32_t b = f->buf;
    if (b < MON_BUFS && m->lent[b] && f->data == m->bufs + (size_t)b * m->stride &&
        f->len <= m->wire[b])
        return m->wire[b];
    return f->len;
}

int jet_lan_monitor_snaplen(struct jet_link *l, uint32_t snaplen)
{
    if (!lan_mon_is(l))
        return -EINVAL;
    struct lan_mon *m = M(l);
    m->snap = snaplen >= m->frame_max ? 0 : snaplen;
    atomic_store_explicit(&m->seg.h->mon_snap, m->snap, memory_order_relaxed);
    return 0;
}

/* The fullest ring's bytes waiting to be read (free-running offsets; a bad
 * tail reads as full, and the parse in rx_burst deals with it). */
static uint32_t mon_fill(struct lan_mon *m)
{
    uint32_t most = 0;
    for (uint32_t s = 0; s < m->nst; s++) {
        uint32_t t = atomic_load_explicit(&lan_mon_ring(&m->seg, s)->tail, memory_order_acquire);
        uint32_t used = t - m->head[s];
        if (used > m->size)
            used = m->size;
        if (used > most)
            most = used;
    }
    return most;
}

/* Whether a record (or a lost count) waits in some ring. */
static bool mon_ready(struct lan_mon *m)
{
    for (uint32_t s = 0; s < m->nst; s++) {
        struct lan_mon_ring *r = lan_mon_ring(&m->seg, s);
        if (atomic_load_explicit(&r->tail, memory_order_acquire) != m->head[s])
            return true;
    }
    return false;
}

static int mon_wait(struct jet_link *l, int64_t timeout_ns)
{
    struct lan_mon *m = M(l);
    struct lan_hdr *h = m->seg.h;
    if (mon_lost(m))
        return mon_lost_err(m);
    uint32_t fill = mon_fill(m);
    if (fill >= m->size / 8 || (fill && timeout_ns == 0))
        return 0;
    if (m->quiet < QUIET_NS) {
        if (!m->nap)
            m->nap = NAP_MIN_NS;
        uint64_t d =
            timeout_ns >= 0 && (uint64_t)timeout_ns < m->nap ? (uint64_t)timeout_ns : m->nap;
        struct timespec ts = {(time_t)(d / 1000000000u), (long)(d % 1000000000u)};
        int rc = nanosleep(&ts, NULL) ? -EINTR : 0;
        fill = mon_fill(m);
        uint64_t cap = !fill ? NAP_MAX_NS : m->snap ? BATCH_MAX_SNAP_NS : BATCH_MAX_NS;
        if (!fill)
            m->quiet += d;
        if (fill >= m->size / 2)
            m->nap /= 2;
        else if (fill < m->size / 8)
            m->nap *= 2;
        if (m->nap > cap)
            m->nap = cap;
        if (m->nap < NAP_MIN_NS)
            m->nap = NAP_MIN_NS;
        return rc;
    }
    m->nap = NAP_MIN_NS; /* traffic that wakes it starts with short naps */
    uint64_t now = jet_now_ns();
    uint64_t until = timeout_ns < 0 ? UINT64_MAX : now + (uint64_t)timeout_ns;
    int rc = 0;
    for (;;) {
        uint32_t bell = atomic_load(&h->mon_doorbell);
        atomic_store(&h->mon_sleeping, 1);
        if (m->asym && syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) != 0) {
            m->asym = false; /* producers fence themselves from now on */
            atomic_store(&h->mon_fence, 0);
        }
        if (mon_ready(m))
            break;
        uint64_t wake = now + (m->asym ? MON_NAP_NS : MON_NAP_FENCELESS);
        if (wake > until)
            wake = until;
        if (wake <= now)
            break;
        uint64_t d = wake - now;
        struct timespec ts = {(time_t)(d / 1000000000u), (long)(d % 1000000000u)};
        int fr = lan_futex(&h->mon_doorbell, FUTEX_WAIT, bell, &ts), fe = errno;
        if (fr == 0 || fe != ETIMEDOUT) {
            if (fr < 0 && fe == EINTR)
                rc = -EINTR;
            break;
        }
        now = jet_now_ns();
        if (now >= until)
            break;
        if (mon_lost(m)) {
            rc = mon_lost_err(m);
            break;
        }
    }
    atomic_store(&h->mon_sleeping, 0);
    return rc;
}

static int mon_stats(struct jet_link *l, struct jet_link_stats *out)
{
    struct lan_mon *m = M(l);
    for (uint32_t s = 0; s < m->nst; s++)
        take_lost(m, lan_mon_ring(&m->seg, s), s);
    *out = m->st;
    return 0;
}

static void mon_free(struct lan_mon *m)
{
    lan_seg_close(&m->seg);
    free(m->bufs);
    free(m);
}

static void mon_close(struct jet_link *l)
{
    struct lan_mon *m = M(l);
    struct lan_hdr *h = m->seg.h;
    uint32_t tok = m->token;
    /* Stations stop copying at their next flush. */
    atomic_compare_exchange_strong(&h->mon_token, &tok, 0);
    atomic_store(&h->mon_sleeping, 0);
    atomic_store(&h->mon_pid, 0);
    lan_unlock(&m->seg, LAN_MON_LOCK);
    mon_free(m);
}

int jet_lan_monitor(const char *name, struct jet_link **out, struct jet_err *err)
{
    struct lan_mon *m = calloc(1, sizeof *m);
    if (!m)
        return jet_err_set(err, -ENOMEM, "out of memory");
    int rc = lan_seg_open(name, &m->seg, err);
    if (rc) {
        free(m);
        return rc;
    }
    struct lan_seg *s = &m->seg;
    struct lan_hdr *h = s->h;
    /* A sweeper (an attaching station, jet lan show) may hold the lock for
     * an instant while it looks whether the last monitor died: try again. */
    for (int i = 0; (rc = lan_lock(s, LAN_MON_LOCK)) == -EAGAIN && i < 20; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    if (rc) {
        rc =
            rc == -EAGAIN
                ? jet_err_set(err, -EBUSY, "LAN '%s' has a monitor already (pid %d): one at a time",
                              name, (int)atomic_load(&h->mon_pid))
                : jet_err_set(err, rc, "LAN '%s': monitor lock: %s", name, strerror(-rc));
        lan_seg_close(s);
        free(m);
        return rc;
    }
    /* A token left set is a monitor that died: we take its place. */
    m->nst = s->g.cfg.stations;
    m->size = s->g.mon_size;
    m->frame_max = s->g.frame_max;
    m->stride = (m->frame_max + 63u) & ~63u;
    m->bufs = aligned_alloc(64, (size_t)MON_BUFS * m->stride);
    if (!m->bufs) {
        lan_unlock(s, LAN_MON_LOCK);
        mon_free(m);
        return jet_err_set(err, -ENOMEM, "out of memory for the monitor's buffers");
    }
    for (uint32_t i = 0; i < MON_BUFS; i++)
        m->free[i] = MON_BUFS - 1 - i;
    m->nfree = MON_BUFS;
    /* Nothing old is ours: every ring starts at its tail. */
    for (uint32_t i = 0; i < m->nst; i++) {
        struct lan_mon_ring *r = lan_mon_ring(s, i);
        m->head[i] = atomic_load(&r->tail);
        atomic_store(&r->head, m->head[i]);
        m->lost_seen[i] = atomic_load(&r->lost);
    }
    m->asym = lan_membarrier_register();
    atomic_store(&h->mon_snap, 0); /* whole frames until asked (jet_lan_monitor_snaplen) */
    atomic_store(&h->mon_fence, m->asym ? 1u : 0u);
    atomic_store(&h->mon_sleeping, 0);
    atomic_store(&h->mon_pid, (int32_t)getpid());
    uint32_t serial;
    do
        serial = (atomic_fetch_add(&h->serial, 1) + 1) & 0xffffff;
    while (serial == 0);
    m->token = serial << 8 | 0xff; /* names no station: owns no buffer */
    atomic_store_explicit(&h->mon_token, m->token, memory_order_seq_cst);

    m->base.ops = &mon_ops;
    m->base.caps = (struct jet_link_caps){.addr = JET_LINK_NO_ADDR,
                                          .mtu = s->g.cfg.mtu,
                                          .max_frame = m->frame_max,
                                          .burst = MON_BURST,
                                          .buffers = MON_BUFS,
                                          .rate_bps = s->g.cfg.rate_bps,
                                          .native = true,
                                          .eth = true};
    snprintf(m->base.name, sizeof m->base.name, "lan:%s", name);
    *out = &m->base;
    return 0;
}

static const struct jet_link_ops mon_ops = {
    .kind = "lan", /* jet_lan_station_mac() and jet_lan_pool_stats() take it (see above) */
    .rx_burst = mon_rx_burst,
    .rx_release = mon_rx_release,
    .tx_alloc = mon_tx_alloc,
    .tx_abort = mon_tx_abort,
    .tx_commit = mon_tx_commit,
    .wait = mon_wait,
    .stats = mon_stats,
    .close = mon_close,
};
