/* libFuzzer target for the jet stat file reader (statpub_parse() in
 * src/chan/statpub.c; the file is described in src/chan/statpub.h).
 *
 * Each input is the bytes of a stats file (of station 3, or of a link without
 * addresses when its addr field is all ones), read through a struct
 * statpub_src over a private copy:
 *   1. As a still file.  A refusal must be -EPROTO (damaged) or -EAGAIN
 *      (seq odd), with a reason and no channel left in the snapshot.  A
 *      success is checked against the header read independently here:
 *      identity, counts within bounds and fitting the input, the number of
 *      channels that of the header, ids nonzero, ascending and unique,
 *      policies in range, the link name terminated and KIND:NAME, no link
 *      counters where the flags say the link keeps none; connection records
 *      (layout 5) kept and dropped adding up to the header's count, each kept
 *      one with its enums in range, its names terminated, of name characters
 *      and 0-padded, its ports and stations in range; then the snapshot is
 *      written back as a file (an independent writer of the layout, with
 *      the connection records after the channels) that must parse to the
 *      same snapshot.
 *   2. As a file someone writes while it is read: before each read after
 *      the first, the copy may have its seq moved, a byte changed, or its
 *      size cut (decided by a hash of the input and the read's number).
 *      Any outcome but a crash, a hang or a snapshot that breaks the
 *      invariants of 1 is fine.
 * Any disagreement abort()s. Also built with fuzz/replay.inc as a plain
 * driver; jet_fuzz_seed() makes valid files to mutate (the first five fit
 * the driver's 4 KiB seeds).  libFuzzer does not call it: give it the seeds
 * as a corpus (a file each, jet_fuzz_seed(i, buf, 1 << 20) for i = 0..8,
 * up to 150 KB: two buffers, several chunks) and -max_len=50000. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/statpub.h"
#include "util/rng.h"
#include "fuzz.h"

enum { STATION = 3, IN_MAX = 1 << 20 };

struct buf_src {
    uint8_t *b;
    size_t len;
    /* scribbling */
    bool scribble;
    uint64_t h;
    unsigned reads;
};

static int buf_read(void *ctx, uint64_t off, void *dst, size_t len)
{
    struct buf_src *s = ctx;
    if (s->scribble && s->reads++ > 0 && s->len) {
        uint64_t r = jet_mix64(s->h + s->reads);
        switch (r % 5) {
        case 0: { /* the writer flips */
            uint32_t seq;
            size_t at = offsetof(struct statpub_hdr, seq);
            if (s->len >= at + sizeof seq) {
                memcpy(&seq, s->b + at, sizeof seq);
                seq += 1 + (uint32_t)(r >> 8 & 1);
                memcpy(s->b + at, &seq, sizeof seq);
            }
            break;
        }
        case 1: /* someone writes a byte */
            s->b[(r >> 8) % s->len] ^= (uint8_t)(r >> 40 | 1);
            break;
        case 2: /* someone truncates it */
            s->len = (size_t)((r >> 8) % (s->len + 1));
            break;
        default:
            break;
        }
    }
    if (off > s->len || len > s->len - off)
        return -ENODATA;
    memcpy(dst, s->b + off, len);
    return 0;
}

static int64_t buf_size(void *ctx)
{
    return (int64_t)((struct buf_src *)ctx)->len;
}

/* The invariants of any snapshot statpub_parse() hands out. */
static void check_snap(const struct statpub_snap *o, uint32_t addr)
{
    MUST(o->addr == addr);
    MUST(o->pid > 0);
    MUST(o->instance != 0);
    MUST(memchr(o->link, 0, sizeof o->link) != NULL);
    const char *colon = strchr(o->link, ':');
    MUST(colon && colon > o->link && colon[1]);
    for (const char *c = o->link; *c; c++)
        MUST((unsigned char)*c > ' ' && (unsigned char)*c < 0x7f);
    MUST(o->flags == (o->flags & STATPUB_F_KNOWN));
    if (o->flags & STATPUB_F_NO_LINK_STATS) {
        const struct jet_link_stats *l = &o->link_st;
        MUST(!(l->tx_frames | l->tx_bytes | l->rx_frames | l->rx_bytes | l->tx_dropped |
               l->rx_dropped | l->faults));
    }
    MUST(o->nchan == o->st.channels);
    MUST(o->nconn <= STATPUB_MAX_CONNS && (o->nconn <= o->conn_cap || o->nconn == 0));
    MUST(o->publishes || (o->nconn == 0 && o->conn_bad == 0));
    for (uint32_t i = 0; i < o->nconn; i++) {
        const struct statpub_conn *c = &o->conn[i];
        MUST(c->proto >= STATPUB_PROTO_RBS && c->proto <= STATPUB_PROTO_LAST);
        MUST(c->kind <= STATPUB_LISTENER && !(c->flags & ~STATPUB_CF_KNOWN) && c->pad == 0);
        if (c->proto == STATPUB_PROTO_TCP)
            MUST(c->lport <= 0xFFFF && c->rport <= 0xFFFF);
        else
            MUST(c->laddr <= 0xFFFF && c->raddr <= 0xFFFF);
        const char *names[] = {c->state, c->cc};
        for (int k = 0; k < 2; k++) {
            const char *n = names[k], *end = memchr(n, 0, STATPUB_NAME_MAX);
            MUST(end && (k == 1 || end > n));
            for (const char *q = n; q < end; q++)
                MUST((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                     (*q >= '0' && *q <= '9') || *q == '_' || *q == '-');
            for (const char *q = end; q < n + STATPUB_NAME_MAX; q++)
                MUST(*q == 0);
        }
    }
    MUST(o->nchan <= o->cap || o->nchan == 0);
    MUST(o->publishes || o->nchan == 0);
    for (uint32_t i = 0; i < o->nchan; i++) {
        const struct statpub_chan *c = &o->chan[i];
        MUST(c->st.id != 0);
        MUST(i == 0 || c->st.id > o->chan[i - 1].st.id);
        MUST(c->p.drop <= JET_DROP_BACKPRESSURE);
        MUST(c->p.prio <= 7);
        MUST(c->p.queue_bytes <= UINT32_MAX);
        MUST(c->p.reserve_bps <= (uint64_t)INT64_MAX);
        MUST(c->st.queued <= c->st.queued_hwm);
    }
}

/* ---- an independent writer of layout 5 ---- */

enum { HDR = 384 };

static uint64_t ent_off(uint32_t i, uint32_t b)
{
    return HDR + (uint64_t)(i / 64) * 2 * 64 * 128 + (uint64_t)b * 64 * 128 +
           (uint64_t)(i % 64) * 128;
}

/* Connection records of a file: nc records from conn_first (even, >= nent). */
struct model_conns {
    const struct statpub_conn *c;
    uint32_t n, first, more;
};

/* No padding (compared with memcmp): 12 x 8 + 5 x 4 + 4 x 1 bytes. */
struct model_ent {
    uint64_t queue_bytes, reserve_bps, frames_in, bytes_in, frames_out, bytes_out, dropped_policy,
        dropped_crc, crc_bad_delivered, backpressured, tx_conforming, queued_bytes;
    uint32_t id, queue_frames, burst_bytes, queued, queued_hwm;
    uint8_t drop, bad_crc, prio, zero;
};
_Static_assert(sizeof(struct model_ent) == 120, "no padding in struct model_ent");

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}
static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

/* Writes a file with entries e[0..n) in buffer `front`, spread so that
 * entry k sits at index idx[k] (nent: one past the last); junk in the other
 * buffer.  Returns its size, 0 if it does not fit cap. */
static size_t write_file(uint8_t *b, size_t cap, const struct statpub_snap *o, uint32_t front,
                         const struct model_ent *e, const uint32_t *idx, uint32_t n, uint32_t nent,
                         uint32_t capacity, uint64_t junk, const struct model_conns *mc)
{
    size_t need = nent ? (size_t)ent_off(nent - 1, front) + 128 : HDR;
    if (mc->n && ent_off(mc->first + 2 * mc->n - 1, front) + 128 > need)
        need = (size_t)ent_off(mc->first + 2 * mc->n - 1, front) + 128;
    if (need > cap)
        return 0;
    memset(b, 0, need);
    put64(b + 0, 0x315441545354454aull);
    put32(b + 8, 5);
    put32(b + 12, HDR);
    put32(b + 16, 128);
    put32(b + 20, 64);
    put32(b + 24, (uint32_t)o->pid);
    put32(b + 28, o->addr);
    put64(b + 32, o->instance);
    memcpy(b + 40, o->link, strlen(o->link) + 1);
    put64(b + 168, o->created_ns);
    put32(b + 176, 2 * (uint32_t)(junk % 1000));
    put32(b + 180, n);
    put32(b + 184, capacity);
    put32(b + 188, o->flags);
    put32(b + 192, front);
    put32(b + 196, nent);
    put64(b + 200, o->begin_ns);
    put64(b + 208, o->publish_ns);
    put64(b + 216, o->publishes);
    put64(b + 224, o->st.frames_in);
    put64(b + 232, o->st.dropped_header);
    put64(b + 240, o->st.dropped_no_chan);
    put64(b + 248, o->st.dropped_not_mine);
    put64(b + 256, o->st.dropped_other);
    put64(b + 264, o->link_st.tx_frames);
    put64(b + 272, o->link_st.tx_bytes);
    put64(b + 280, o->link_st.rx_frames);
    put64(b + 288, o->link_st.rx_bytes);
    put64(b + 296, o->link_st.tx_dropped);
    put64(b + 304, o->link_st.rx_dropped);
    put64(b + 312, o->link_st.faults);
    put32(b + 320, 256);
    put32(b + 324, mc->n);
    put32(b + 328, mc->n ? mc->first : 0);
    put32(b + 332, mc->more);
    /* records: two entries each, never across a chunk (first is even) */
    for (uint32_t k = 0; k < mc->n; k++)
        memcpy(b + ent_off(mc->first + 2 * k, front), &mc->c[k], 256);
    /* the other buffer: whatever an older pass left */
    for (uint32_t i = 0; i < nent; i++) {
        uint64_t off = ent_off(i, front ^ 1);
        if (off + 128 <= need)
            for (int k = 0; k < 128; k += 8)
                put64(b + off + (uint64_t)k, jet_mix64(junk + i * 16u + (uint64_t)k));
    }
    for (uint32_t k = 0; k < n; k++) {
        uint8_t *p = b + ent_off(idx[k], front);
        put32(p, e[k].id);
        p[4] = e[k].drop;
        p[5] = e[k].bad_crc;
        p[6] = e[k].prio;
        put32(p + 8, e[k].queue_frames);
        put32(p + 12, e[k].burst_bytes);
        put32(p + 16, e[k].queued);
        put32(p + 20, e[k].queued_hwm);
        put64(p + 24, e[k].queue_bytes);
        put64(p + 32, e[k].reserve_bps);
        put64(p + 40, e[k].frames_in);
        put64(p + 48, e[k].bytes_in);
        put64(p + 56, e[k].frames_out);
        put64(p + 64, e[k].bytes_out);
        put64(p + 72, e[k].dropped_policy);
        put64(p + 80, e[k].dropped_crc);
        put64(p + 88, e[k].crc_bad_delivered);
        put64(p + 96, e[k].backpressured);
        put64(p + 104, e[k].tx_conforming);
        put64(p + 112, e[k].queued_bytes);
    }
    return need;
}

static void to_model(struct model_ent *m, const struct statpub_chan *c)
{
    *m = (struct model_ent){.id = c->st.id,
                            .queue_frames = c->p.queue_frames,
                            .burst_bytes = c->p.burst_bytes,
                            .queued = c->st.queued,
                            .queued_hwm = c->st.queued_hwm,
                            .drop = (uint8_t)c->p.drop,
                            .bad_crc = c->p.accept_bad_crc,
                            .prio = c->p.prio,
                            .queue_bytes = c->p.queue_bytes,
                            .reserve_bps = c->p.reserve_bps,
                            .frames_in = c->st.frames_in,
                            .bytes_in = c->st.bytes_in,
                            .frames_out = c->st.frames_out,
                            .bytes_out = c->st.bytes_out,
                            .dropped_policy = c->st.dropped_policy,
                            .dropped_crc = c->st.dropped_crc,
                            .crc_bad_delivered = c->st.crc_bad_delivered,
                            .backpressured = c->st.backpressured,
                            .tx_conforming = c->st.tx_conforming,
                            .queued_bytes = c->st.queued_bytes};
}

static bool same_snap(const struct statpub_snap *a, const struct statpub_snap *b)
{
    if (a->addr != b->addr || a->pid != b->pid || a->instance != b->instance ||
        strcmp(a->link, b->link) != 0 || a->flags != b->flags || a->created_ns != b->created_ns ||
        a->publish_ns != b->publish_ns || a->publishes != b->publishes ||
        a->begin_ns != b->begin_ns || a->st.frames_in != b->st.frames_in ||
        a->st.dropped_header != b->st.dropped_header ||
        a->st.dropped_no_chan != b->st.dropped_no_chan ||
        a->st.dropped_not_mine != b->st.dropped_not_mine ||
        a->st.dropped_other != b->st.dropped_other || a->st.channels != b->st.channels ||
        memcmp(&a->link_st, &b->link_st, sizeof a->link_st) != 0 || a->nchan != b->nchan ||
        a->nconn != b->nconn || a->conn_more != b->conn_more ||
        (a->nconn && memcmp(a->conn, b->conn, a->nconn * sizeof *a->conn) != 0))
        return false;
    for (uint32_t i = 0; i < a->nchan; i++) {
        struct model_ent x, y;
        to_model(&x, &a->chan[i]);
        to_model(&y, &b->chan[i]);
        if (memcmp(&x, &y, sizeof x) != 0)
            return false;
    }
    return true;
}

/* A parsed snapshot, written again by the model (entries at the front
 * buffer's first indices, the other buffer junk) and parsed: the same. */
static void round_trip(const struct statpub_snap *o, uint64_t h)
{
    static uint8_t file[IN_MAX];
    static struct model_ent e[STATPUB_MAX_CHANNELS / 64];
    static uint32_t idx[STATPUB_MAX_CHANNELS / 64];
    if (o->nchan > sizeof e / sizeof e[0])
        return;
    uint32_t gap = (uint32_t)(h % 3); /* free structs between channels */
    for (uint32_t k = 0; k < o->nchan; k++) {
        to_model(&e[k], &o->chan[o->nchan - 1 - k]); /* in another order */
        idx[k] = k * (gap + 1);
    }
    /* no channel: maybe free entries all the same (not before the first pass) */
    uint32_t nent = o->nchan       ? idx[o->nchan - 1] + 1 + gap
                    : o->publishes ? (uint32_t)(h >> 8 & 3)
                                   : 0;
    struct model_conns mc = {o->conn, o->nconn, (nent + 1 + (uint32_t)(h >> 12 & 2)) & ~1u,
                             o->conn_more};
    uint32_t top = mc.n ? mc.first + 2 * mc.n : nent;
    uint32_t capacity = (top + 63) / 64 * 64;
    if (!capacity)
        capacity = 64;
    if (capacity > STATPUB_MAX_CHANNELS)
        return;
    size_t len = write_file(file, sizeof file, o, (uint32_t)(h >> 4 & 1), e, idx, o->nchan, nent,
                            capacity, h, &mc);
    if (!len)
        return;
    struct buf_src bs = {.b = file, .len = len};
    struct statpub_src src = {buf_read, buf_size, &bs};
    struct statpub_snap again = {0};
    struct jet_err err = {0};
    int rc = statpub_parse(&src, "round trip", o->addr, 3, &again, &err);
    if (rc)
        fprintf(stderr, "round trip: %s\n", jet_err_str(&err, rc));
    MUST(rc == 0);
    check_snap(&again, o->addr);
    MUST(same_snap(o, &again));
    statpub_snap_free(&again);
}

/* The header, read here without the code under test. */
static void check_against_header(const uint8_t *d, size_t size, const struct statpub_snap *o)
{
    MUST(size >= HDR);
    uint32_t v[8];
    memcpy(v, d + 176, sizeof v); /* seq nchan capacity flags front nent */
    uint32_t seq = v[0], nchan = v[1], capacity = v[2], front = v[4], nent = v[5];
    MUST((seq & 1) == 0);
    MUST(front <= 1);
    MUST(capacity % 64 == 0 && capacity <= STATPUB_MAX_CHANNELS && nent <= capacity);
    MUST(nchan <= nent && o->nchan == nchan);
    MUST(nent == 0 || ent_off(nent - 1, front) + 128 <= size);
    uint32_t c[4]; /* conn_size nconn conn_first conn_more */
    memcpy(c, d + 320, sizeof c);
    MUST(c[0] == 256 && o->nconn + o->conn_bad == c[1] && o->conn_more == c[3]);
    MUST(c[1] == 0 || (c[2] % 2 == 0 && c[2] >= nent && c[2] + 2ull * c[1] <= capacity &&
                       ent_off(c[2] + 2 * c[1] - 1, front) + 128 <= size));
    for (uint32_t i = 0; i < o->nchan; i++) /* each channel is in the front buffer */
    {
        bool found = false;
        for (uint32_t k = 0; k < nent && !found; k++) {
            uint32_t id;
            memcpy(&id, d + ent_off(k, front), 4);
            found = id == o->chan[i].st.id;
        }
        MUST(found);
        if (i > 64)
            break; /* enough: the search is quadratic */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > IN_MAX)
        return 0;
    uint8_t *copy = malloc(size ? size : 1);
    MUST(copy);
    uint64_t h = size;
    for (size_t i = 0; i < size; i += 61)
        h = jet_mix64(h ^ data[i] ^ (uint64_t)i << 8);

    /* 1. a still file */
    memcpy(copy, data, size);
    struct buf_src bs = {.b = copy, .len = size};
    struct statpub_src src = {buf_read, buf_size, &bs};
    struct statpub_snap o = {0};
    struct jet_err err = {0};
    /* the address the file is asked for: none when its addr field says so
     * (the files of a link without addresses), else STATION */
    uint32_t addr = STATION;
    if (size >= 32 && !memcmp(data + 28, "\xff\xff\xff\xff", 4))
        addr = JET_LINK_NO_ADDR;
    int rc = statpub_parse(&src, "input", addr, 3, &o, &err);
    if (rc) {
        MUST(rc == -EPROTO || rc == -EAGAIN);
        MUST(err.code == rc && err.msg[0] && memchr(err.msg, 0, sizeof err.msg));
        MUST(o.nchan == 0);
    } else {
        MUST(memcmp(copy, data, size) == 0); /* read only */
        check_snap(&o, addr);
        check_against_header(data, size, &o);
        round_trip(&o, h);
    }

    /* 2. a file written while it is read */
    memcpy(copy, data, size);
    bs = (struct buf_src){.b = copy, .len = size, .scribble = true, .h = h};
    err = (struct jet_err){0};
    rc = statpub_parse(&src, "input", addr, 5, &o, &err);
    if (rc) {
        MUST(rc == -EPROTO || rc == -EAGAIN);
        MUST(err.code == rc && err.msg[0]);
        MUST(o.nchan == 0);
    } else {
        check_snap(&o, addr);
    }
    statpub_snap_free(&o);
    free(copy);
    return 0;
}

/* Valid files: seed i (0..8) of at most cap bytes, 0 when there is no
 * such seed or it does not fit (the first five fit 4 KiB). */
size_t jet_fuzz_seed(unsigned i, uint8_t *buf, size_t cap)
{
    static const struct {
        uint32_t n, gap, front, flags;
        uint64_t publishes;
    } shapes[] = {
        /* within 4 KiB (the replay driver's seeds) */
        {0, 0, 0, 0, 0},
        {3, 0, 0, 0, 5},
        {10, 1, 0, 0, 9},
        {1, 5, 0, 1, 1},
        {25, 0, 0, 0, 2},
        /* larger: the second buffer, several chunks */
        {2, 0, 1, 0, 2},
        {70, 0, 0, 0, 77},
        {90, 1, 1, 0, 3},
        {200, 2, 0, 0, 1000},
    };
    if (i >= sizeof shapes / sizeof shapes[0])
        return 0;
    struct model_ent e[200];
    uint32_t idx[200];
    /* seeds 1 and 6: a link without addresses and without counters */
    bool other = i == 1 || i == 6;
    /* connection records: seeds 2, 3 (one damaged: dropped) and 7 */
    static struct statpub_conn cs[4];
    memset(cs, 0, sizeof cs);
    cs[0] = (struct statpub_conn){.proto = STATPUB_PROTO_RBS,
                                  .kind = STATPUB_LISTENER,
                                  .chan = 5201,
                                  .laddr = 3,
                                  .lport = 5201,
                                  .backlog = 1};
    strcpy(cs[0].state, "LISTEN");
    cs[1] = (struct statpub_conn){.proto = STATPUB_PROTO_TCP,
                                  .flags = STATPUB_CF_SACK,
                                  .chan = 0x10000001,
                                  .laddr = 0xC6120001,
                                  .lport = 5201,
                                  .raddr = 0xC6120002,
                                  .rport = 40000,
                                  .mss = 8960,
                                  .srtt_ns = 120000,
                                  .rttvar_ns = 40000,
                                  .rto_ns = 5000000,
                                  .cwnd = 89600,
                                  .ssthresh = UINT64_MAX,
                                  .snd_wnd = 262144,
                                  .rcv_wnd = 4194304,
                                  .in_flight = 8960,
                                  .bytes_sent = 1000000,
                                  .bytes_acked = 991040,
                                  .segs_out = 120,
                                  .sack_blocks = 3};
    strcpy(cs[1].state, "ESTABLISHED");
    strcpy(cs[1].cc, "cubic");
    cs[2] = cs[1];
    cs[2].proto = STATPUB_PROTO_RBS;
    cs[2].flags = 0;
    cs[2].laddr = 3;
    cs[2].raddr = 1;
    cs[3] = cs[1];
    memset(cs[3].cc, 'x', sizeof cs[3].cc); /* not terminated: dropped */
    uint32_t ncs = i == 2 ? 3 : i == 3 ? 4 : i == 7 ? 3 : 0;
    struct statpub_snap o = {.addr = other ? (uint32_t)JET_LINK_NO_ADDR : (uint32_t)STATION,
                             .pid = 4242,
                             .instance = 0x1234567800000003ull,
                             .flags = shapes[i].flags | (other ? STATPUB_F_NO_LINK_STATS : 0),
                             .created_ns = 1700000000000000000ull,
                             .begin_ns = 1700000001000000000ull,
                             .publish_ns = 1700000001002000000ull,
                             .publishes = shapes[i].publishes,
                             .st = {.frames_in = 1000,
                                    .dropped_header = 2,
                                    .dropped_no_chan = 3,
                                    .dropped_other = 4,
                                    .channels = shapes[i].n},
                             .link_st = {.tx_frames = other ? 0 : 5,
                                         .tx_bytes = other ? 0 : 6000,
                                         .rx_frames = other ? 0 : 7,
                                         .rx_bytes = other ? 0 : 8000,
                                         .rx_dropped = other ? 0 : 9}};
    strcpy(o.link, other ? "fault:loss=0.01,seed=7/tap:jt0" : i == 2 ? "loop:fuzz" : "lan:fuzz");
    uint32_t n = shapes[i].n, gap = shapes[i].gap;
    for (uint32_t k = 0; k < n; k++) {
        e[k] = (struct model_ent){.id = 10 + 7 * k,
                                  .queue_frames = 256,
                                  .burst_bytes = 4096,
                                  .queued = k % 3,
                                  .queued_hwm = k % 3 + 1,
                                  .drop = (uint8_t)(k % 3),
                                  .bad_crc = (uint8_t)(k & 1),
                                  .prio = (uint8_t)(k % 8),
                                  .queue_bytes = 1u << 20,
                                  .reserve_bps = k * 1000,
                                  .frames_in = k * 10,
                                  .bytes_in = k * 1000,
                                  .queued_bytes = (k % 3) * 100};
        idx[k] = k * (gap + 1);
    }
    uint32_t nent = n ? idx[n - 1] + 1 : 0;
    struct model_conns mc = {cs, ncs, (nent + 1) & ~1u, i == 7 ? 5 : 0};
    uint32_t top = ncs ? mc.first + 2 * ncs : nent;
    uint32_t capacity = top > 64 ? (top + 63) / 64 * 64 : 64;
    size_t len = write_file(buf, cap, &o, shapes[i].front, e, idx, n, nent, capacity, i, &mc);
    if (len) { /* a seed that does not parse would fuzz nothing but the first checks */
        struct buf_src bs = {.b = buf, .len = len};
        struct statpub_src src = {buf_read, buf_size, &bs};
        struct statpub_snap got = {0};
        MUST(statpub_parse(&src, "seed", o.addr, 1, &got, NULL) == 0 && got.nchan == n &&
             got.nconn == (i == 3 ? 3 : ncs) && got.conn_bad == (i == 3 ? 1u : 0u));
        statpub_snap_free(&got);
    }
    return len;
}
