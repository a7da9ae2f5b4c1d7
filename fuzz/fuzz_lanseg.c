/* libFuzzer target for the emulated LAN's segment as hostile input: the
 * header checks of lan_seg_open()/lan_seg_check() and the data path's checks
 * of everything it reads from the segment (src/link/lan_seg.c, lan_tx.c, lan_rx.c).
 *
 * One small LAN (2 stations, ring 16, 64 buffers of MTU 64) is created once,
 * and its metadata (header, station slots, rings, return rings, pool header,
 * owner and length words) saved.  For each input:
 *   byte 0 picks the region the rest of the input is written over:
 *     0  the header, before anything opens the segment: then jet_lan_info()
 *        and two attaches must either be refused (-EPROTO, with a reason) or
 *        work as below;
 *     1  station slots, 2 rings, 3 return rings, 4 pool header and owner
 *        words: written while two stations are attached (a scribbler);
 *   then station 0 sends a few frames to station 1 and to itself, both
 *   receive and release, both wait without sleeping, both detach.
 * Every frame received must lie inside one pool buffer and be no longer than
 * the LAN's largest frame; nothing may crash, hang or leak (ASan).  Then the
 * saved metadata is written back for the next input.
 * Also built with fuzz/replay.inc as a plain driver. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "jet/frame.h"
#include "jet/lan.h"
#include "jet/link.h"
#include "link/lan_impl.h"
#include "fuzz.h"

static char lan[64];
static uint8_t *seg;      /* the segment, mapped (each attach maps it again elsewhere) */
static size_t seg_size;
static uint8_t *saved;    /* its metadata as created */
static size_t meta_size;  /* bytes before the first pool buffer */
static struct lan_geom geo;
static uint64_t region_off[5], region_len[5];

static void cleanup(void)
{
    jet_lan_destroy(lan, true, NULL);
}

static void setup(void)
{
    if (seg)
        return;
    snprintf(lan, sizeof lan, "fuzzseg-%d", (int)getpid());
    struct jet_lan_config c;
    jet_lan_config_default(&c);
    c.stations = 2;
    c.ring = 16;
    c.mtu = 64;
    c.buffers = 64;
    struct jet_err err = {0};
    jet_lan_destroy(lan, true, NULL);
    MUST(jet_lan_create(lan, &c, &err) == 0);
    atexit(cleanup);
    char path[128];
    snprintf(path, sizeof path, "/dev/shm/jet-lan.%s", lan);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    MUST(fd >= 0);
    seg_size = (size_t)lseek(fd, 0, SEEK_END);
    seg = mmap(NULL, seg_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    MUST(seg != MAP_FAILED);
    close(fd);
    struct lan_seg s = {.fd = -1, .base = seg, .size = seg_size};
    MUST(lan_seg_check(&s, lan, &err) == 0);
    geo = s.g;
    meta_size = (size_t)((uint8_t *)s.pool.bufs - seg);
    saved = malloc(meta_size);
    MUST(saved);
    memcpy(saved, seg, meta_size);
    region_off[0] = 0;
    region_len[0] = geo.stations_off;
    region_off[1] = geo.stations_off;
    region_len[1] = geo.rings_off - geo.stations_off;
    region_off[2] = geo.rings_off;
    region_len[2] = geo.ret_off - geo.rings_off;
    region_off[3] = geo.ret_off;
    region_len[3] = geo.pool_off - geo.ret_off;
    region_off[4] = geo.pool_off;
    region_len[4] = meta_size - geo.pool_off;
}

static void overlay(unsigned region, const uint8_t *d, size_t n)
{
    if (n > region_len[region])
        n = (size_t)region_len[region];
    memcpy(seg + region_off[region], d, n);
}

/* A received frame must lie inside one pool buffer: its id names a buffer of
 * the pool, its bytes start at that buffer's headroom and end inside it, and
 * every frame of one link agrees on where the pool is mapped. */
static void check_frame(const struct jet_frame *f, const uint8_t **pool)
{
    MUST(f->buf < geo.cfg.buffers);
    MUST(f->len <= geo.frame_max && f->cap == geo.frame_max);
    MUST(geo.headroom + f->len <= geo.buf_size);
    const uint8_t *p = f->data - geo.headroom - (size_t)f->buf * geo.buf_size;
    if (!*pool)
        *pool = p;
    MUST(p == *pool);
}

static void send_one(struct jet_link *l, uint16_t from, uint16_t to, uint32_t plen)
{
    struct jet_frame f;
    if (jet_link_tx_alloc(l, &f) != 0)
        return;
    struct jet_frame_hdr h = {.src_station = from, .dst_station = to, .dst_chan = 7, .src_chan = 9};
    uint8_t pay[64];
    memset(pay, (int)plen, sizeof pay);
    if (plen > sizeof pay)
        plen = sizeof pay;
    long n = jet_frame_build(f.data, f.cap, &h, pay, plen);
    if (n < 0) {
        jet_link_tx_abort(l, &f);
        return;
    }
    f.len = (uint32_t)n;
    jet_link_tx_commit(l, &f); /* consumes it, whatever it says */
}

static void drain(struct jet_link *l, const uint8_t **pool)
{
    struct jet_frame f[8];
    for (int round = 0; round < 4; round++) {
        int n = jet_link_rx_burst(l, f, 8);
        if (n <= 0)
            break;
        MUST(n <= 8);
        for (int i = 0; i < n; i++)
            check_frame(&f[i], pool);
        jet_link_rx_release(l, f, (unsigned)n);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size < 1)
        return 0;
    unsigned region = data[0] % 5;
    data++;
    size--;
    struct jet_err err = {0};
    if (region == 0) {
        overlay(0, data, size);
        static struct jet_lan_info info;
        int rc = jet_lan_info(lan, &info, &err);
        MUST(rc == 0 || (rc == -EPROTO && err.msg[0]));
    }
    struct jet_link *a = NULL, *b = NULL;
    int ra = jet_lan_attach(lan, 0, &a, &err);
    MUST(ra == 0 || (ra < 0 && err.msg[0]));
    int rb = ra == 0 ? jet_lan_attach(lan, 1, &b, &err) : -1;
    if (ra == 0 && region != 0)
        overlay(region, data, size);
    if (ra == 0 && rb == 0) {
        const uint8_t *pa = NULL, *pb = NULL;
        send_one(a, 0, 1, 8);
        send_one(a, 0, 1, 60);
        send_one(a, 0, 0, 12);
        jet_link_tx_flush(a);
        drain(b, &pb);
        drain(a, &pa);
        send_one(b, 1, 0, 40);
        drain(a, &pa);
        jet_link_wait(a, 0);
        jet_link_wait(b, 0);
        drain(b, &pb);
    }
    if (b)
        jet_link_close(b);
    if (a)
        jet_link_close(a);
    memcpy(seg, saved, meta_size);
    return 0;
}

/* Seeds: region byte, then the segment's own bytes of that region, so that
 * mutations start from a valid header, slots, rings and pool. */
size_t jet_fuzz_seed(unsigned i, uint8_t *buf, size_t cap)
{
    setup();
    if (i >= 5 || cap < 2)
        return 0;
    size_t n = (size_t)region_len[i];
    if (n > cap - 1)
        n = cap - 1;
    buf[0] = (uint8_t)i;
    memcpy(buf + 1, saved + region_off[i], n);
    return n + 1;
}
