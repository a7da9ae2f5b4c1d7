/* The LAN data path against values overwritten in shared memory: each case
 * attaches two stations, writes one hostile value into the segment at an
 * exact place (a ring tail or head, one ring entry's field, a return entry,
 * an owner word, the medium clock, a station slot, the header), then checks
 * that the value is counted (shm_bad), that nothing crashes or waits for
 * ever, that every frame delivered is one that was sent, and that after the
 * stations detach every pool buffer is free again.  Named after the bugs of
 * issue 9 (docs/lan.md, "Hostile memory"). */
#include <errno.h>
#include <unistd.h>

#include "check.h"
#include "jet/frame.h"
#include "jet/lan.h"
#include "link/lan_impl.h"
#include "util/clock.h"

static char lan[64];
static struct lan_seg seg; /* the test's own view, for scribbling */

static void mklan(const char *tag, uint64_t rate)
{
    struct jet_lan_config c;
    jet_lan_config_default(&c);
    c.stations = 2;
    c.ring = 16;
    c.mtu = 2000;
    c.buffers = 256;
    c.rate_bps = rate;
    snprintf(lan, sizeof lan, "ts-%d-%s", (int)getpid(), tag);
    struct jet_err err = {0};
    REQUIRE(jet_lan_create(lan, &c, &err) == 0);
    REQUIRE(lan_seg_open(lan, &seg, &err) == 0);
}

static struct jet_link *attach(int st)
{
    struct jet_link *l = NULL;
    struct jet_err err = {0};
    int rc = jet_lan_attach(lan, st, &l, &err);
    if (rc)
        fprintf(stderr, "attach %s/%d: %s\n", lan, st, err.msg);
    REQUIRE(rc == 0);
    return l;
}

static uint64_t shm_bad(struct jet_link *l)
{
    struct jet_lan_station_info in;
    jet_lan_station_stats(l, &in);
    return in.shm_bad;
}

/* Sends one native frame carrying seq to station dst (0 or a negative errno). */
static int send_seq(struct jet_link *l, uint32_t dst, uint64_t seq, uint32_t pad)
{
    struct jet_frame f;
    int rc = jet_link_tx_alloc(l, &f);
    if (rc)
        return rc;
    uint8_t payload[1024] = {0};
    memcpy(payload, &seq, 8);
    memset(payload + 8, (int)seq, pad);
    struct jet_frame_hdr h = {.flags = JET_FF_CRC,
                              .src_station = (uint16_t)jet_lan_station(l),
                              .dst_station = (uint16_t)dst,
                              .dst_chan = 9,
                              .src_chan = 9,
                              .payload_len = 8 + pad};
    long n = jet_frame_build(f.data, f.cap, &h, payload, 8 + pad);
    REQUIRE(n > 0);
    f.len = (uint32_t)n;
    return jet_link_tx_commit(l, &f);
}

/* Receives for up to ms; every frame must be well-formed with a good CRC;
 * their seqs go to out. Returns how many. */
static int drain(struct jet_link *rx, struct jet_link *tx, uint64_t *out, int max, int ms)
{
    int got = 0;
    uint64_t until = jet_now_ns() + (uint64_t)ms * 1000000;
    while (jet_now_ns() < until && got < max) {
        struct jet_frame f[16];
        int n = jet_link_rx_burst(rx, f, max - got < 16 ? (unsigned)(max - got) : 16);
        REQUIRE(n >= 0);
        for (int i = 0; i < n; i++) {
            struct jet_frame_hdr h;
            CHECK(jet_frame_parse(f[i].data, f[i].len, &h, 0) == 0 && !h.crc_bad);
            memcpy(&out[got++], f[i].data + JET_FRAME_HDR_LEN, 8);
        }
        jet_link_rx_release(rx, f, (unsigned)n);
        if (tx)
            jet_link_tx_flush(tx);
        if (n == 0)
            jet_link_wait(rx, 1000000);
    }
    return got;
}

static void finish(struct jet_link *a, struct jet_link *b, const char *what)
{
    if (b)
        jet_link_close(b);
    if (a)
        jet_link_close(a);
    lan_seg_close(&seg);
    struct jet_lan_info *in = calloc(1, sizeof *in);
    REQUIRE(in);
    struct jet_err err = {0};
    int rc = jet_lan_info(lan, in, &err);
    if (rc == 0 && in->buffers_free != in->config.buffers)
        fprintf(stderr, "%s: %u of %u buffers free\n", what, in->buffers_free, in->config.buffers);
    if (rc == 0)
        CHECK_EQ(in->buffers_free, in->config.buffers);
    free(in);
    CHECK_EQ(jet_lan_destroy(lan, true, &err), 0);
}

/* A ring tail no producer could have written: ignored and counted; the
 * frames come once the producer publishes its tail again. */
static void test_bad_tail(void)
{
    mklan("tail", 0);
    struct jet_link *a = attach(0), *b = attach(1);
    CHECK_EQ(send_seq(a, 1, 1, 100), 0);
    struct lan_ring *r = lan_ring(&seg, 0, 1);
    uint32_t t = atomic_load(&r->tail);
    atomic_store(&r->tail, t + 1000);
    uint64_t seqs[4];
    CHECK_EQ(drain(b, NULL, seqs, 4, 20), 0);
    CHECK(shm_bad(b) >= 1);
    CHECK_EQ(send_seq(a, 1, 2, 100), 0); /* publishes the true tail */
    int n = drain(b, a, seqs, 4, 200);
    CHECK_EQ(n, 2);
    CHECK(n == 2 && seqs[0] == 1 && seqs[1] == 2);
    finish(a, b, "bad tail");
}

/* One entry's fields overwritten, one field per row: that entry is dropped
 * and counted, the frames around it arrive. */
enum { F_DELIVER, F_LEN, F_ENCAP, F_IDX_OTHER, F_IDX_HUGE, F_INLINE_LEN };
static void test_bad_entry(int field)
{
    mklan("entry", 0);
    struct jet_link *a = attach(0), *b = attach(1);
    /* Large frames go by reference, small ones inline. */
    uint32_t pad = field == F_INLINE_LEN ? 20 : 500;
    struct lan_ring *r = lan_ring(&seg, 0, 1);
    uint32_t t0 = atomic_load(&r->tail);
    for (uint64_t s = 1; s <= 3; s++)
        CHECK_EQ(send_seq(a, 1, s, pad), 0);
    struct lan_desc *e = &r->e[(t0 + 1) & 15];
    switch (field) {
    case F_DELIVER:
        e->deliver_at = UINT64_MAX;
        break;
    case F_LEN:
        e->len = 0xfffffff0u;
        break;
    case F_ENCAP:
        e->encap = 0x77;
        break;
    case F_IDX_OTHER:
        e->idx = (e->idx + 100) % 256; /* a buffer not handed to station 1 */
        break;
    case F_IDX_HUGE:
        e->idx = 0x7fffffffu;
        break;
    case F_INLINE_LEN:
        CHECK(e->encap & LAN_DESC_INLINE);
        e->len = 200;
        break;
    }
    uint64_t seqs[4];
    int n = drain(b, a, seqs, 4, 100);
    CHECK_EQ(n, 2);
    CHECK(n == 2 && seqs[0] == 1 && seqs[1] == 3);
    CHECK(shm_bad(b) >= 1);
    /* The link still works. */
    CHECK_EQ(send_seq(a, 1, 4, pad), 0);
    CHECK_EQ(drain(b, a, seqs, 1, 200), 1);
    CHECK_EQ(seqs[0], 4);
    finish(a, b, "bad entry");
}

/* A return entry written twice: the sender takes the buffer back once. */
static void test_duplicate_return(void)
{
    mklan("ret", 0);
    struct jet_link *a = attach(0), *b = attach(1);
    for (uint64_t s = 1; s <= 40; s++) {
        CHECK_EQ(send_seq(a, 1, s, 500), 0);
        uint64_t seq;
        CHECK_EQ(drain(b, a, &seq, 1, 200), 1);
    }
    jet_link_wait(b, 0); /* publishes b's returns */
    struct lan_ret_ring *q = lan_ret(&seg, 0, 1);
    uint32_t t = atomic_load(&q->tail);
    REQUIRE(t != 0);
    /* Append a copy of the last entry written... */
    q->e[t & 15] = q->e[(t - 1) & 15];
    atomic_store(&q->tail, t + 1);
    /* ...and make station 0 take its returns now: empty its cache. */
    static struct jet_frame held[256];
    int nh = 0;
    while (nh < 256 && jet_link_tx_alloc(a, &held[nh]) == 0)
        nh++;
    CHECK(shm_bad(a) >= 1);
    for (int i = 0; i < nh; i++)
        jet_link_tx_abort(a, &held[i]);
    for (uint64_t s = 41; s <= 400; s++) {
        CHECK_EQ(send_seq(a, 1, s, 500), 0);
        uint64_t seq = 0;
        CHECK_EQ(drain(b, a, &seq, 1, 200), 1);
        CHECK_EQ(seq, s);
    }
    finish(a, b, "duplicate return");
}

/* The consumer's head moved backwards or past the tail: the sender keeps its
 * last good view (counted) and the receiver writes its head again. */
static void test_bad_head(void)
{
    mklan("head", 0);
    struct jet_link *a = attach(0), *b = attach(1);
    struct lan_ring *r = lan_ring(&seg, 0, 1);
    atomic_store(&r->head, atomic_load(&r->head) + 5000);
    uint64_t got = 0;
    for (uint64_t s = 1; s <= 100; s++) {
        int rc;
        uint64_t until = jet_now_ns() + 2000000000ull;
        while ((rc = send_seq(a, 1, s, 500)) == -EAGAIN && jet_now_ns() < until) {
            uint64_t seq[16];
            int n = drain(b, a, seq, 16, 1);
            for (int i = 0; i < n; i++)
                CHECK_EQ(seq[i], ++got);
        }
        CHECK_EQ(rc, 0);
    }
    uint64_t seq[100];
    int n = drain(b, a, seq, 100, 300);
    for (int i = 0; i < n; i++)
        CHECK_EQ(seq[i], ++got);
    CHECK_EQ(got, 100);
    CHECK(shm_bad(a) >= 1);
    finish(a, b, "bad head");
}

/* The owner word of a frame in flight overwritten (another process took the
 * buffer): the receiver refuses it, nothing is delivered twice. */
static void test_stolen_owner(void)
{
    mklan("owner", 0);
    struct jet_link *a = attach(0), *b = attach(1);
    struct lan_ring *r = lan_ring(&seg, 0, 1);
    uint32_t t0 = atomic_load(&r->tail);
    for (uint64_t s = 1; s <= 3; s++)
        CHECK_EQ(send_seq(a, 1, s, 500), 0);
    uint32_t idx = r->e[(t0 + 1) & 15].idx;
    REQUIRE(idx < seg.pool.nbufs);
    jet_pool_give(&seg.pool, idx, 0x12345601u); /* a token nobody holds */
    uint64_t seqs[4];
    int n = drain(b, a, seqs, 4, 100);
    CHECK(n == 2 && seqs[0] == 1 && seqs[1] == 3);
    CHECK(shm_bad(b) >= 1);
    finish(a, b, "stolen owner");
}

/* A medium clock booked hours ahead: the sender counts it and books anew
 * instead of waiting for ever. */
static void test_medium_clock(void)
{
    mklan("clock", 1000000000ull);
    struct jet_link *a = attach(0), *b = attach(1);
    atomic_store(&seg.h->medium_free_ns, jet_now_ns() + 3600ull * 1000000000ull);
    uint64_t got = 0;
    uint64_t until = jet_now_ns() + 2000000000ull;
    for (uint64_t s = 1; s <= 50 && jet_now_ns() < until; s++) {
        int rc;
        while ((rc = send_seq(a, 1, s, 500)) == -EAGAIN && jet_now_ns() < until)
            jet_link_wait(a, 100000);
        CHECK_EQ(rc, 0);
        uint64_t seq;
        got += (uint64_t)drain(b, a, &seq, 1, 200);
    }
    CHECK_EQ(got, 50);
    CHECK(shm_bad(a) >= 1);
    finish(a, b, "medium clock");
}

/* Our own slot's token overwritten: the station stops with a clear error. */
static void test_slot_taken(void)
{
    mklan("slot", 0);
    struct jet_link *a = attach(0), *b = attach(1);
    atomic_store(&seg.st[0].token, 0x00abcd00u);
    struct jet_frame f[4];
    int rc = jet_link_rx_burst(a, f, 4);
    CHECK_EQ(rc, -EIO);
    CHECK(strstr(jet_link_error(a), "overwritten") != NULL);
    CHECK_EQ(jet_link_tx_alloc(a, &f[0]), -EIO);
    CHECK_EQ(jet_link_wait(a, 1000000), -EIO);
    finish(a, b, "slot taken");
}

/* Header and pool header scribbled while stations run: they use what they
 * checked at attach and carry on; a new open refuses the segment. */
static void test_header_after_attach(void)
{
    mklan("hdr", 0);
    struct jet_link *a = attach(0), *b = attach(1);
    seg.h->cfg.stations = 1000;
    seg.h->rings_off = UINT64_MAX - 4096;
    seg.h->ring_bytes = 1;
    seg.h->pool_off = 3;
    seg.h->cfg.ring = 0;
    memset(seg.pool.r, 0xff, 64); /* magic, layout, counts, part offsets */
    for (uint64_t s = 1; s <= 50; s++) {
        CHECK_EQ(send_seq(a, 1, s, 500), 0);
        uint64_t seq = 0;
        CHECK_EQ(drain(b, a, &seq, 1, 200), 1);
        CHECK_EQ(seq, s);
    }
    struct jet_link *c = NULL;
    struct jet_err err = {0};
    CHECK_EQ(jet_lan_attach(lan, 1, &c, &err), -EPROTO);
    CHECK(strstr(err.msg, "damaged") != NULL);
    jet_link_close(b);
    jet_link_close(a);
    lan_seg_close(&seg);
    CHECK_EQ(jet_lan_destroy(lan, false, &err), 0); /* damaged, nobody attached */
    char path[128];
    snprintf(path, sizeof path, "/dev/shm/jet-lan.%s", lan);
    CHECK_EQ(access(path, F_OK), -1);
}

int main(void)
{
    test_bad_tail();
    for (int f = F_DELIVER; f <= F_INLINE_LEN; f++)
        test_bad_entry(f);
    test_duplicate_return();
    test_bad_head();
    test_stolen_owner();
    test_medium_clock();
    test_slot_taken();
    test_header_after_attach();
    return check_done("test_lan_shm");
}
