/* RBS: no success with wrong bytes.  A segment's CRC is checked in the same pass that
 * places its payload (rbs_input_crc), so a frame that changes in the shared pool after
 * any earlier look at it is dropped, counted and never acknowledged, and the peer's
 * retransmission delivers the right bytes.
 *   - core, scripted with virtual time (the test plays the peer), ring and sink mode:
 *     a payload byte changed after the CRC was computed; the header changed (sequence
 *     number, acknowledgement); bytes already received are never written again, not
 *     even by a segment whose CRC matches; malformed and damaged headers; a segment
 *     longer than a frame;
 *   - core against a scribbler thread that keeps writing random bytes into the segment
 *     while rbs_input_crc reads it: every segment is taken with exactly the bytes sent
 *     or dropped, never anything else (ring and sink);
 *   - over channels on an emulated LAN (station 0 plays the peer with a scripted core
 *     over a raw channel, station 1 runs the library): a data frame is changed in the
 *     pool after the station queued it and before RBS placed it, and a data frame is
 *     sent with no CRC at all: both are dropped (the channel's dropped_crc), the bytes
 *     after them are SACKed but not acknowledged, the retransmission fills the hole;
 *     the receiver holds exactly the bytes sent, into its ring or into a file.
 * LANs are t-rbsc-PID-TAG; each must have all its pool buffers back at the end. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "jet/crc32c.h"
#include "jet/frame.h"
#include "jet/lan.h"
#include "jet/rbs.h"
#include "jet/stack.h"
#include "rbs/rbs_core.h"
#include "util/rng.h"

#define FIXTURE_PREFIX "t-rbsc"
#include "chan_fixture.h"
#include "rbs_fixture.h"

/* ---- the core, scripted ---- */

enum { ISS = 0xFFFFF000u, IRS = 0xFFFFFF00u, MSS = 1000, WND = 8000, LCHAN = 33, PCHAN = 77 };
static const uint64_t T0 = 1000000000ull, MS = 1000000ull, US = 1000ull;

static uint8_t pat(uint64_t o)
{
    return (uint8_t)(jet_mix64(o / 8 + (5ull << 40)) >> (8 * (o % 8)));
}

/* The sink hook's file, and where the bytes it was given lived. */
static uint8_t sfile[64 * 1024];
static int ncalls;
static const uint8_t *hook_p;

static int hook(void *arg, uint64_t off, const uint8_t *p, size_t len)
{
    CHECK(arg == sfile);
    REQUIRE(off + len <= sizeof sfile);
    ncalls++;
    hook_p = p;
    memcpy(sfile + off, p, len);
    return 0;
}

static uint8_t segbuf[RBS_HDR_MAX + RBS_MSS_MAX + 64];

/* Writes the peer's segment carrying stream bytes [o, o + len) of pat() (ack: our
 * sequence number it acknowledges, 0: ISS + 1) into segbuf; returns its length and its
 * CRC in *crc. */
static size_t mkseg(uint8_t flags, uint64_t o, size_t len, uint32_t ack, uint32_t *crc)
{
    struct rbs_hdr h;
    memset(&h, 0, sizeof h);
    h.flags = flags;
    h.seq = IRS + 1 + (uint32_t)o;
    h.ack = ack ? ack : ISS + 1;
    h.wnd = 10000;
    h.tsval = 8;
    int hl = rbs_hdr_emit(segbuf, sizeof segbuf, &h);
    REQUIRE(hl > 0 && (size_t)hl + len <= sizeof segbuf);
    for (size_t i = 0; i < len; i++)
        segbuf[(size_t)hl + i] = pat(o + i);
    *crc = jet_crc32c(0, segbuf, (size_t)hl + len);
    return (size_t)hl + len;
}

/* Feeds segbuf[0..n) with CRC crc; checks the invariants after. */
static int feed(struct rbs_conn *c, uint64_t t, size_t n, uint32_t crc)
{
    int rc = rbs_input_crc(c, segbuf, n, crc, t);
    const char *bad = rbs_invariant_violation(c);
    if (bad)
        fprintf(stderr, "invariant: %s\n", bad);
    CHECK(bad == NULL);
    return rc;
}

/* A good segment of stream bytes [o, o + len). */
static int good(struct rbs_conn *c, uint64_t t, uint64_t o, size_t len)
{
    uint32_t crc;
    size_t n = mkseg(RBS_ACK, o, len, 0, &crc);
    return feed(c, t, n, crc);
}

/* What the endpoint sends now: 1 and the header, or 0. */
static int out(struct rbs_conn *c, uint64_t t, struct rbs_hdr *h)
{
    uint8_t buf[MSS + RBS_HDR_MAX];
    int n = rbs_output(c, t, buf, sizeof buf);
    CHECK(n >= 0);
    if (n <= 0)
        return 0;
    REQUIRE(rbs_hdr_parse(buf, (size_t)n, h) > 0);
    return 1;
}

/* Sends everything due; returns the last ACK number sent (0 if nothing went out). */
static uint32_t flush_acks(struct rbs_conn *c, uint64_t t)
{
    struct rbs_hdr h;
    uint32_t ack = 0;
    while (out(c, t, &h))
        ack = h.ack;
    return ack;
}

/* Established as the active opener: an internal ring of WND bytes (sink: the hook
 * instead, with window WND). */
static struct rbs_conn *client(bool sink)
{
    struct rbs_cfg k = {.mss = MSS,
                        .rcvbuf_bytes = WND,
                        .rcvbuf_external = sink,
                        .rto_min_ns = 10 * MS,
                        .ack_delay_ns = 1 * MS,
                        .keepalive_ns = UINT64_MAX,
                        .isn = ISS,
                        .local_chan = LCHAN};
    struct rbs_conn *c;
    struct rbs_hdr h;
    REQUIRE(rbs_create(&k, &c) == 0);
    if (sink)
        REQUIRE(rbs_recv_sink(c, hook, sfile, WND) == 0);
    REQUIRE(rbs_connect(c, T0) == 0);
    REQUIRE(out(c, T0, &h));
    struct rbs_hdr sa;
    memset(&sa, 0, sizeof sa);
    sa.flags = RBS_SYN | RBS_ACK;
    sa.seq = IRS;
    sa.ack = ISS + 1;
    sa.wnd = 10000;
    sa.tsval = 7;
    sa.tsecr = (uint32_t)(T0 / 1000);
    sa.opts = RBS_HAS_MSS | RBS_HAS_WSCALE | RBS_HAS_CHAN;
    sa.mss = MSS;
    sa.chan = PCHAN;
    int hl = rbs_hdr_emit(segbuf, sizeof segbuf, &sa);
    REQUIRE(hl > 0);
    /* the SYN-ACK checked too, and a damaged one changes nothing */
    uint32_t crc = jet_crc32c(0, segbuf, (size_t)hl);
    CHECK_EQ(feed(c, T0 + 50 * US, (size_t)hl, crc ^ 1), -EIO); /* crc_bad 1 from here */
    CHECK_EQ(rbs_state(c), RBS_SYN_SENT);
    REQUIRE(feed(c, T0 + 100 * US, (size_t)hl, crc) == 0);
    REQUIRE(rbs_state(c) == RBS_ESTABLISHED);
    REQUIRE(out(c, T0 + 100 * US, &h));
    CHECK_EQ(h.ack, IRS + 1);
    ncalls = 0;
    memset(sfile, 0, sizeof sfile);
    return c;
}

/* What the connection holds of the stream [0, n): the ring's readable bytes (read out
 * and freed) or the sink file.  True when they are pat(). */
static bool holds(struct rbs_conn *c, bool sink, uint64_t from, size_t n)
{
    static uint8_t buf[WND];
    if (sink) {
        for (size_t i = 0; i < n; i++)
            if (sfile[from + i] != pat(from + i))
                return false;
        return true;
    }
    REQUIRE(n <= sizeof buf);
    if (rbs_recv_ready(c) != n)
        return false;
    CHECK_EQ(rbs_recv(c, buf, n), (ssize_t)n);
    for (size_t i = 0; i < n; i++)
        if (buf[i] != pat(from + i))
            return false;
    return true;
}

static uint64_t delivered(struct rbs_conn *c, bool sink)
{
    return sink ? rbs_recv_placed(c) : rbs_recv_ready(c);
}

static uint64_t crc_bad(struct rbs_conn *c)
{
    struct rbs_stats st;
    rbs_get_stats(c, &st);
    return st.crc_bad;
}

/* A payload byte changed after the CRC was computed (the pool scribbled between the
 * sender's CRC and our copy): dropped, counted, nothing delivered, nothing ACKed; the
 * retransmission delivers. */
static void test_core_payload(bool sink)
{
    struct rbs_conn *c = client(sink);
    uint64_t t = T0 + 1 * MS;
    CHECK_EQ(good(c, t, 0, 1000), 0);
    CHECK_EQ(delivered(c, sink), 1000);
    uint32_t crc;
    size_t n = mkseg(RBS_ACK, 1000, 1000, 0, &crc);
    segbuf[n - 500] ^= 0x08;
    struct rbs_stats st0, st1;
    rbs_get_stats(c, &st0);
    int calls = ncalls;
    CHECK_EQ(feed(c, t, n, crc), -EIO);
    rbs_get_stats(c, &st1);
    CHECK_EQ(st1.crc_bad, st0.crc_bad + 1);
    CHECK_EQ(st1.segs_in, st0.segs_in);
    CHECK_EQ(st1.bytes_in, st0.bytes_in);
    CHECK_EQ(delivered(c, sink), 1000);
    CHECK_EQ(ncalls, calls); /* sink: not a byte of it was handed to the hook */
    /* the delayed ACK of the first segment acknowledges only that one */
    t += 2 * MS;
    rbs_on_timeout(c, t);
    CHECK_EQ(flush_acks(c, t), IRS + 1 + 1000);
    /* out of order behind the hole: placed, SACKed, not acknowledged */
    CHECK_EQ(good(c, t, 2000, 1000), 0);
    struct rbs_hdr h;
    REQUIRE(out(c, t, &h));
    CHECK_EQ(h.ack, IRS + 1 + 1000);
    CHECK_EQ(h.nsack, 1);
    CHECK_EQ(h.sack[0].start, IRS + 1 + 2000);
    /* a damaged copy of the hole again, now with the out-of-order bytes behind it
     * damaged as well: still dropped, and the bytes received before are untouched */
    n = mkseg(RBS_ACK, 1000, 2000, 0, &crc);
    segbuf[n - 10] ^= 0xFF;
    segbuf[n - 1500] ^= 0x01;
    CHECK_EQ(feed(c, t, n, crc), -EIO);
    CHECK_EQ(delivered(c, sink), 1000);
    CHECK(out(c, t, &h) == 0); /* never answered */
    /* the retransmission */
    CHECK_EQ(good(c, t, 1000, 1000), 0);
    CHECK_EQ(delivered(c, sink), 3000);
    REQUIRE(out(c, t, &h));
    CHECK_EQ(h.ack, IRS + 1 + 3000);
    CHECK(holds(c, sink, 0, 3000));
    CHECK_EQ(crc_bad(c), 1 + 2);
    if (sink) /* the hook wrote from the private staging copy, not from the segment */
        CHECK(hook_p < segbuf || hook_p >= segbuf + sizeof segbuf);
    rbs_destroy(c);
}

/* The header changed after the CRC was computed: a sequence number that would place
 * the bytes elsewhere, an acknowledgement of data never acknowledged, a FIN. */
static void test_core_header(bool sink)
{
    struct rbs_conn *c = client(sink);
    uint64_t t = T0 + 1 * MS;
    CHECK_EQ(rbs_send(c, "0123456789", 10), 10);
    struct rbs_hdr h;
    REQUIRE(out(c, t, &h)); /* our 10 bytes are in flight */
    CHECK_EQ(rbs_send_pending(c), 10);
    uint32_t crc;
    size_t n = mkseg(RBS_ACK, 0, 1000, 0, &crc);
    segbuf[RBS_OFF_SEQ + 3] ^= 0x10; /* seq + 16: in the window */
    CHECK_EQ(feed(c, t, n, crc), -EIO);
    n = mkseg(RBS_ACK, 0, 1000, ISS + 1, &crc);
    segbuf[RBS_OFF_ACK + 3] += 10; /* acknowledges our 10 bytes */
    CHECK_EQ(feed(c, t, n, crc), -EIO);
    CHECK_EQ(rbs_send_pending(c), 10);
    n = mkseg(RBS_ACK, 0, 1000, 0, &crc);
    segbuf[RBS_OFF_FLAGS] |= RBS_FIN;
    CHECK_EQ(feed(c, t, n, crc), -EIO);
    CHECK_EQ(rbs_state(c), RBS_ESTABLISHED);
    CHECK_EQ(delivered(c, sink), 0);
    CHECK_EQ(crc_bad(c), 1 + 3);
    if (sink)
        CHECK_EQ(ncalls, 0);
    /* a damaged header that no longer parses counts as damage, not as malformed */
    n = mkseg(RBS_ACK, 0, 1000, 0, &crc);
    segbuf[RBS_OFF_VERSION] = 9;
    CHECK_EQ(feed(c, t, n, crc), -EIO);
    struct rbs_stats st;
    rbs_get_stats(c, &st);
    CHECK_EQ(st.bad[RBS_BAD_VERSION], 0);
    CHECK_EQ(st.crc_bad, 1 + 4);
    /* ... and one whose CRC matches is malformed */
    crc = jet_crc32c(0, segbuf, n);
    CHECK_EQ(feed(c, t, n, crc), -EPROTONOSUPPORT);
    rbs_get_stats(c, &st);
    CHECK_EQ(st.bad[RBS_BAD_VERSION], 1);
    /* shorter than a header, damaged or not */
    CHECK_EQ(feed(c, t, 10, jet_crc32c(0, segbuf, 10) ^ 1), -EIO);
    CHECK_EQ(feed(c, t, 10, jet_crc32c(0, segbuf, 10)), -EMSGSIZE);
    /* a header length field claiming more than 60 bytes (up to 1020): refused as a
     * bad field (the spec allows 6..15 words), and nothing beyond the 60 bytes copied
     * out is read */
    uint64_t reserved0 = st.bad[RBS_BAD_RESERVED];
    n = mkseg(RBS_ACK, 0, 1100, 0, &crc);
    segbuf[RBS_OFF_HLEN] = 255;
    crc = jet_crc32c(0, segbuf, n);
    CHECK_EQ(feed(c, t, n, crc), -EINVAL);
    CHECK_EQ(rbs_input(c, segbuf, n, t), -EINVAL);
    segbuf[RBS_OFF_HLEN] = 16;
    CHECK_EQ(rbs_input(c, segbuf, n, t), -EINVAL);
    /* longer than any frame payload: malformed, not read */
    CHECK_EQ(rbs_input_crc(c, segbuf, RBS_HDR_LEN + RBS_MSS_MAX + 1, 0, t), -EMSGSIZE);
    rbs_get_stats(c, &st);
    CHECK_EQ(st.bad[RBS_BAD_TRUNC], 2);
    CHECK_EQ(st.bad[RBS_BAD_RESERVED], reserved0 + 3);
    /* the good one */
    CHECK_EQ(good(c, t, 0, 1000), 0);
    CHECK(holds(c, sink, 0, 1000));
    rbs_destroy(c);
}

/* Bytes once received are never written again: a later segment overlapping them --
 * even one whose CRC matches different bytes there -- only fills the holes. */
static void test_core_no_rewrite(bool sink)
{
    struct rbs_conn *c = client(sink);
    uint64_t t = T0 + 1 * MS;
    CHECK_EQ(good(c, t, 2000, 1000), 0); /* out of order: [2000, 3000) */
    CHECK_EQ(good(c, t, 4000, 500), 0);  /* and [4000, 4500) */
    int calls = ncalls;
    /* [1500, 4200) as one segment (a peer may send more than our MSS: accepted),
     * with other bytes where [2000, 3000) and [4000, 4200) were received */
    struct rbs_hdr h;
    memset(&h, 0, sizeof h);
    h.flags = RBS_ACK;
    h.seq = IRS + 1 + 1500;
    h.ack = ISS + 1;
    h.wnd = 10000;
    int hl = rbs_hdr_emit(segbuf, sizeof segbuf, &h);
    REQUIRE(hl > 0);
    for (size_t i = 0; i < 2700; i++) {
        uint64_t o = 1500 + i;
        bool have = (o >= 2000 && o < 3000) || o >= 4000;
        segbuf[(size_t)hl + i] = have ? (uint8_t)~pat(o) : pat(o);
    }
    size_t n = (size_t)hl + 2700;
    uint32_t crc = jet_crc32c(0, segbuf, n); /* matches the different bytes */
    CHECK_EQ(feed(c, t, n, crc), 0);
    if (sink)
        CHECK_EQ(ncalls, calls + 2); /* [1500, 2000) and [3000, 4000), nothing else */
    CHECK_EQ(good(c, t, 0, 1500), 0);
    CHECK_EQ(delivered(c, sink), 4500);
    CHECK(holds(c, sink, 0, 4500));
    rbs_destroy(c);
}

/* ---- the core against a scribbler thread ---- */

static uint8_t shared_seg[RBS_HDR_MAX + 9000]; /* the "pool" buffer */
static atomic_int scribble;                    /* 1: write, 0: pause, -1: stop */
static atomic_ulong scribbles;

static void *scribbler(void *arg)
{
    uint64_t r = 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)arg;
    size_t span = *(size_t *)arg;
    for (;;) {
        int s = atomic_load_explicit(&scribble, memory_order_acquire);
        if (s < 0)
            break;
        if (!s)
            continue;
        r = jet_mix64(r + 1);
        volatile uint8_t *p = shared_seg;
        p[r % span] = (uint8_t)(r >> 40); /* a racing write, as another process would */
        atomic_fetch_add_explicit(&scribbles, 1, memory_order_relaxed);
    }
    return NULL;
}

/* Each segment is fed while the scribbler writes into it.  A segment that was taken
 * must have delivered exactly its bytes; one that was dropped is sent again clean. */
static void test_core_scribbler(bool sink, uint64_t budget_ns)
{
    enum { PAYLOAD = 1000 };
    struct rbs_conn *c = client(sink);
    size_t span = RBS_HDR_LEN + PAYLOAD;
    atomic_store(&scribble, 0);
    atomic_store(&scribbles, 0);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, scribbler, &span) == 0);
    uint64_t t = T0 + 1 * MS, o = 0, dropped = 0, taken = 0, wrong = 0, other = 0;
    uint64_t base = crc_bad(c), here = 0; /* drops on this connection */
    uint64_t until = now_ns() + budget_ns;
    static uint8_t buf[PAYLOAD];
    while (now_ns() < until || taken + dropped < 200) {
        uint32_t crc;
        size_t n = mkseg(RBS_ACK, o, PAYLOAD, 0, &crc);
        memcpy(shared_seg, segbuf, n);
        /* the scribbler is on a CPU and writing (or given up on, after a while) */
        unsigned long w0 = atomic_load(&scribbles);
        atomic_store_explicit(&scribble, 1, memory_order_release);
        for (int spin = 0; spin < 100000 && atomic_load(&scribbles) == w0; spin++)
            ;
        int rc = rbs_input_crc(c, shared_seg, n, crc, t);
        atomic_store_explicit(&scribble, 0, memory_order_release);
        if (rc == -EIO) {
            dropped++;
            here++;
            CHECK_EQ(good(c, t, o, PAYLOAD), 0); /* the retransmission, clean */
        } else if (rc == 0) {
            taken++;
        } else {
            other++;
        }
        /* exactly the bytes sent, whichever way they came */
        if (delivered(c, sink) != (sink ? o + PAYLOAD : PAYLOAD)) {
            wrong++;
        } else if (sink) {
            for (size_t i = 0; i < PAYLOAD; i++)
                wrong += sfile[o + i] != pat(o + i);
        } else {
            REQUIRE(rbs_recv(c, buf, PAYLOAD) == PAYLOAD);
            for (size_t i = 0; i < PAYLOAD; i++)
                wrong += buf[i] != pat(o + i);
        }
        o += PAYLOAD;
        if (sink && o + PAYLOAD > sizeof sfile) { /* a fresh connection: the file is small */
            CHECK_EQ(crc_bad(c) - base, here);
            rbs_destroy(c);
            c = client(sink);
            o = 0;
            base = crc_bad(c);
            here = 0;
        }
        t += 1 * MS;
        rbs_on_timeout(c, t);
        flush_acks(c, t);
        if (check_failures > 50)
            break;
    }
    atomic_store(&scribble, -1);
    pthread_join(th, NULL);
    fprintf(stderr,
            "scribbler (%s): %llu segments taken, %llu dropped (CRC), %llu other; %llu wrong "
            "bytes; %lu racing writes\n",
            sink ? "sink" : "ring", (unsigned long long)taken, (unsigned long long)dropped,
            (unsigned long long)other, (unsigned long long)wrong, atomic_load(&scribbles));
    CHECK_EQ(wrong, 0);
    CHECK_EQ(other, 0);
    CHECK_EQ(crc_bad(c) - base, here);
    rbs_destroy(c);
}

/* ---- over channels: a frame changed in the pool after the station queued it ---- */

enum { LIS = 90, PEER_CH = 77, NSEG = 3, SEG = 1000 };

/* Station 0 plays the peer: a core of its own over a raw channel (which checks CRCs
 * the usual way).  Its data frames' pool pointers are kept, to scribble on. */
struct peer {
    struct jet_station *s;
    struct jet_chan *ch;
    struct rbs_conn *core;
    uint8_t *sent[NSEG]; /* pool payload of the first transmission of segment i */
    bool no_crc;         /* send the next data segment as a frame with no CRC */
};

/* A frame with no CRC trailer, sent on the raw link under the channel's name. */
static void send_no_crc(struct peer *p, uint32_t dst, const uint8_t *seg, size_t n)
{
    struct jet_link *l = jet_station_link(p->s);
    struct jet_frame f;
    REQUIRE(jet_link_tx_alloc(l, &f) == 0);
    struct jet_frame_hdr h = {
        .src_station = 0, .dst_station = 1, .dst_chan = dst, .src_chan = PEER_CH};
    long fl = jet_frame_build(f.data, f.cap, &h, seg, n);
    REQUIRE(fl > 0);
    f.len = (uint32_t)fl;
    CHECK_EQ(jet_link_tx_commit(l, &f), 0);
    jet_link_tx_flush(l);
}

/* Runs the peer once: what arrived, timers, what is due. */
static void peer_run(struct peer *p)
{
    uint64_t now = now_ns();
    struct jet_rx rx;
    while (jet_chan_recv(p->ch, &rx, 0) == 0) {
        rbs_input(p->core, rx.payload, rx.len, now); /* checked by the station */
        jet_chan_release(p->ch, &rx);
    }
    if (now >= rbs_next_timeout(p->core))
        rbs_on_timeout(p->core, now);
    for (;;) {
        struct jet_txbuf tb;
        REQUIRE(jet_chan_tx_alloc(p->ch, &tb) == 0);
        int n = rbs_output(p->core, now, tb.payload, tb.cap);
        REQUIRE(n >= 0);
        if (n == 0) {
            jet_chan_tx_abort(p->ch, &tb);
            break;
        }
        uint32_t dst = rbs_state(p->core) == RBS_SYN_SENT ? LIS : rbs_peer_chan(p->core);
        struct rbs_hdr h;
        int hl = rbs_hdr_parse(tb.payload, (size_t)n, &h);
        REQUIRE(hl > 0);
        uint64_t o = h.seq - (ISS + 1);
        if (n > hl && o % SEG == 0 && o / SEG < NSEG && !p->sent[o / SEG]) {
            p->sent[o / SEG] = tb.payload;
            if (p->no_crc && o / SEG == 1) {
                send_no_crc(p, dst, tb.payload, (size_t)n);
                jet_chan_tx_abort(p->ch, &tb);
                continue;
            }
        }
        CHECK_EQ(jet_chan_tx_commit(p->ch, &tb, 1, dst, (uint32_t)n), 0);
    }
    jet_station_poll(p->s); /* pushes the frames out */
}

struct chan_find {
    uint32_t id;
    struct jet_chan *c;
};

static void find_chan(struct jet_chan *c, void *arg)
{
    struct chan_find *f = arg;
    if (jet_chan_id(c) == f->id)
        f->c = c;
}

/* Station 1's side of the race.  One poll of the station demultiplexes, then runs the
 * protocols attached to it in attach order (jet/stack.h): this one, attached before
 * RBS, sees the frames queued on the connection's channel before RBS takes them, and
 * the scribbler changes the second one there, in the pool. */
struct scribble_hook {
    struct peer *p;
    struct jet_rbs_conn *c;
    bool armed;
    int pending; /* frames queued on c's channel when it struck; -1: not yet */
};

static void scribble_poll(struct jet_station *s, void *arg, uint64_t now)
{
    struct scribble_hook *k = arg;
    (void)now;
    if (!k->armed || k->pending >= 0)
        return;
    struct jet_rbs_stats st;
    jet_rbs_stats(k->c, &st);
    struct chan_find f = {st.local_chan, NULL};
    jet_station_each_chan(s, find_chan, &f);
    if (!f.c || !jet_chan_pending(f.c))
        return;
    k->pending = (int)jet_chan_pending(f.c);
    if (!k->p->no_crc) {
        int hl = k->p->sent[1][RBS_OFF_HLEN] * 4;
        k->p->sent[1][hl + 321] ^= 0x20;
    }
}

static void scribble_close(struct jet_station *s, void *arg)
{
    (void)s;
    (void)arg;
}

static const struct jet_proto_ops scribble_ops = {"scribbler", scribble_poll, NULL, scribble_close};

static struct jet_chan_stats conn_chan_stats(struct jet_station *s, struct jet_rbs_conn *c)
{
    struct jet_rbs_stats st;
    jet_rbs_stats(c, &st);
    struct chan_find f = {st.local_chan, NULL};
    jet_station_each_chan(s, find_chan, &f);
    REQUIRE(f.c);
    struct jet_chan_stats cs;
    jet_chan_stats(f.c, &cs);
    return cs;
}

static int tmpfile_fd(void)
{
    char name[] = "/tmp/jet-rbs-crc-XXXXXX";
    int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    unlink(name);
    return fd;
}

/* The library receives NSEG segments on station 1, into its ring or a file (sink);
 * the second one is changed in the pool after station 1 queued it (or, no_crc, sent
 * without a CRC). */
static void test_lan(const char *tag, bool sink, bool no_crc)
{
    int lan = mklan_faults(tag, NULL);
    struct peer p = {.s = st_open(lan, 0), .no_crc = no_crc};
    struct jet_station *b = st_open(lan, 1);
    struct scribble_hook sh = {.p = &p, .pending = -1};
    REQUIRE(jet_station_attach(b, &scribble_ops, &sh) == 0); /* before RBS: runs first */
    p.ch = ch_open(p.s, PEER_CH, NULL);
    struct rbs_cfg k = {.mss = SEG,
                        .rto_min_ns = 2 * MS,
                        .keepalive_ns = UINT64_MAX,
                        .isn = ISS,
                        .local_chan = PEER_CH};
    REQUIRE(rbs_create(&k, &p.core) == 0);
    struct jet_rbs_listener *l;
    REQUIRE(jet_rbs_listen(b, LIS, NULL, &l) == 0);
    REQUIRE(rbs_connect(p.core, now_ns()) == 0);
    struct jet_rbs_conn *c = NULL;
    int fd = sink ? tmpfile_fd() : -1;
    uint64_t t0 = now_ns();
    while (rbs_state(p.core) != RBS_ESTABLISHED && now_ns() - t0 < 5000000000ull) {
        peer_run(&p);
        if (!c && jet_rbs_accept(l, &c, 0) == 0 && sink)
            CHECK_EQ(jet_rbs_recv_sink(c, fd, 0, 0), 0);
        jet_rbs_poll(b);
    }
    REQUIRE(c && rbs_state(p.core) == RBS_ESTABLISHED);
    jet_rbs_poll(b); /* takes the handshake's ACK */
    static uint8_t data[NSEG * SEG];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = pat(i);
    CHECK_EQ(rbs_send(p.core, data, sizeof data), (ssize_t)sizeof data);
    peer_run(&p);
    REQUIRE(p.sent[0] && p.sent[1] && p.sent[2]);
    /* station 1's driver queues the frames (no CRC check: RBS defers it), then the
     * scribbler changes the second one in the pool (scribble_poll), then RBS takes
     * them, all in one poll: the second is dropped, the third waits out of order */
    sh.c = c;
    sh.armed = true;
    for (int i = 0; i < 10 && sh.pending < 0; i++)
        jet_station_poll(b);
    CHECK_EQ(sh.pending, NSEG); /* the no-CRC one too: RBS drops it */
    struct jet_rbs_stats st;
    jet_rbs_poll(b);
    CHECK_EQ(conn_chan_stats(b, c).dropped_crc, 1);
    const uint8_t *q;
    if (sink) {
        CHECK_EQ(jet_rbs_recv_placed(c), SEG);
    } else {
        CHECK_EQ(jet_rbs_recv_ready(c, &q, 0), SEG);
    }
    /* the peer hears: SEG acknowledged, the third SACKed, the second not */
    uint64_t tp = now_ns();
    while (rbs_send_pending(p.core) == sizeof data && now_ns() - tp < 1000000000ull) {
        struct jet_rx rx;
        if (jet_chan_recv(p.ch, &rx, 0) == 0) {
            struct rbs_hdr h;
            uint8_t hb[RBS_HDR_MAX];
            size_t hn = rx.len < sizeof hb ? rx.len : sizeof hb;
            memcpy(hb, rx.payload, hn);
            if (rbs_hdr_parse(hb, rx.len, &h) > 0)
                CHECK((uint32_t)(h.ack - (ISS + 1)) <= SEG); /* never past the hole */
            rbs_input(p.core, rx.payload, rx.len, now_ns());
            jet_chan_release(p.ch, &rx);
        } else {
            jet_rbs_poll(b);
            jet_station_poll(p.s);
        }
    }
    CHECK_EQ(rbs_send_pending(p.core), sizeof data - SEG);
    /* the retransmission fills the hole */
    t0 = now_ns();
    while (rbs_send_pending(p.core) && now_ns() - t0 < 5000000000ull) {
        peer_run(&p);
        jet_rbs_poll(b);
    }
    CHECK_EQ(rbs_send_pending(p.core), 0);
    if (sink) {
        CHECK_EQ(jet_rbs_recv_placed(c), sizeof data);
        static uint8_t back[sizeof data];
        CHECK_EQ(pread(fd, back, sizeof back, 0), (ssize_t)sizeof back);
        CHECK(!memcmp(back, data, sizeof data));
        struct stat sb;
        REQUIRE(fstat(fd, &sb) == 0);
        CHECK_EQ(sb.st_size, sizeof data);
    } else {
        static uint8_t got[sizeof data];
        CHECK_EQ(jet_rbs_recv(c, got, sizeof got, 0), (ssize_t)sizeof got);
        CHECK(!memcmp(got, data, sizeof data));
    }
    jet_rbs_stats(c, &st);
    fprintf(stderr, "%s: %llu bytes in, %llu out of order, channel dropped_crc %llu\n", tag,
            (unsigned long long)st.bytes_in, (unsigned long long)st.ooo_segs,
            (unsigned long long)conn_chan_stats(b, c).dropped_crc);
    CHECK_EQ(st.bytes_in, sizeof data);
    CHECK_EQ(conn_chan_stats(b, c).dropped_crc, 1);
    jet_rbs_abort(c);
    jet_rbs_listener_close(l);
    rbs_destroy(p.core);
    jet_chan_close(p.ch);
    st_close(p.s);
    st_close(b);
    if (fd >= 0)
        close(fd);
    rmlan(lan);
}

/* RBS_CRC_ONLY=name runs one test. */
static bool want(const char *name)
{
    return want_test("RBS_CRC_ONLY", name);
}

int main(void)
{
    main_pid = getpid();
    atexit(cleanup_lans);
    bool san = getenv("JET_SANITIZED") != NULL;
    for (int sink = 0; sink < 2; sink++) {
        if (want("payload"))
            test_core_payload(sink);
        if (want("header"))
            test_core_header(sink);
        if (want("rewrite"))
            test_core_no_rewrite(sink);
        if (want("scribbler"))
            test_core_scribbler(sink, san ? 300 * MS : 500 * MS);
    }
    if (want("lan-ring"))
        test_lan("ring", false, false);
    if (want("lan-sink"))
        test_lan("sink", true, false);
    if (want("lan-nocrc"))
        test_lan("nocrc", false, true);
    return check_done("test_rbs_crc");
}
