/* libFuzzer target for jet dump's printer, filter and pcapng block reader
 * (tools/jet/dump_print.c): the bytes a capture recorded are hostile (other
 * stations' frames, files from anywhere, frames cut by a snap length).
 *
 * The first byte picks what the rest is:
 *   bits 0-1  0: a native frame, 1: an Ethernet frame, 2: a pcapng block
 *             (of a section with interface 0 native, 1 Ethernet), 3: the
 *             same block with its two length fields made to agree with the
 *             input's length (so that the reader gets past them);
 *   bit 2     the frame's header check (at 0, or at 14 in Ethernet) made
 *             right, so that the printer reads on past it;
 *   bits 3-7  a snap length: the captured part is cut to it (0: whole).
 * Checked: every line fits the buffer it is given (a large one and a tiny
 * one), is NUL-terminated and as long as the printer says; a record the
 * reader returns points inside the block.  Reads past the input are ASan's.
 * Also built with fuzz/replay.inc. */
#include <string.h>

#include "../tools/jet/dump_print.c"
#include "fuzz.h"

static void check_line(const struct jet_capture_rec *r)
{
    static char big[DUMP_LINE_MAX], tiny[17];
    size_t n = dump_line(big, sizeof big, r, r->dir != 0);
    MUST(n < sizeof big && big[n] == 0 && strlen(big) == n);
    n = dump_line(tiny, sizeof tiny, r, true);
    MUST(n < sizeof tiny && tiny[n] == 0 && strlen(tiny) == n);
    MUST(dump_line(tiny, 0, r, true) == 0);
    struct dump_filter f[] = {
        {0},
        {.has_chan = true, .chan = 5201},
        {.has_station = true, .station = 1},
        {.has_station = true, .station = 1, .has_mac = true, .mac = {2, 0x4a, 0x53, 0, 0, 1}}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        (void)dump_match(&f[i], r);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t buf[70000];
    if (size < 1 || size - 1 > sizeof buf)
        return 0;
    unsigned mode = data[0] & 3, fix = data[0] >> 2 & 1, snap = (unsigned)(data[0] >> 3) * 8;
    size_t n = size - 1;
    memcpy(buf, data + 1, n); /* a copy of exactly n bytes: ASan sees any read past it */
    uint8_t *b = buf;
    if (mode >= 2) {
        if (mode == 3 && n >= 12) {
            n &= ~(size_t)3;
            put_le32(b + 4, (uint32_t)n);
            put_le32(b + n - 4, (uint32_t)n);
        }
        struct dump_pcapng s = {.nif = 2, .seen_shb = true};
        s.ifs[0] = (struct dump_if){JET_ENCAP_NATIVE, 9};
        s.ifs[1] = (struct dump_if){JET_ENCAP_ETH, (uint8_t)(data[0] & 0x80 ? 0x83 : 6)};
        struct jet_capture_rec r;
        const char *why = NULL;
        int k = dump_pcapng_block(&s, b, n, &r, &why);
        MUST(k == 0 || k == 1 || (k == -EBADMSG && why));
        if (k == 1) {
            MUST(r.data >= b && r.caplen <= n && r.data + r.caplen <= b + n && r.caplen <= r.len);
            check_line(&r);
        }
        return 0;
    }
    size_t off = mode == 1 ? 14 : 0;
    if (fix && n >= off + 24) {
        uint32_t c = jet_crc32c(0, b + off, 20);
        b[off + 20] = (uint8_t)(c >> 24);
        b[off + 21] = (uint8_t)(c >> 16);
        b[off + 22] = (uint8_t)(c >> 8);
        b[off + 23] = (uint8_t)c;
    }
    struct jet_capture_rec r = {.ts_ns = 1764923456123456789ull,
                                .data = b,
                                .len = (uint32_t)n,
                                .caplen = (uint32_t)(snap && snap < n ? snap : n),
                                .encap = mode == 1 ? JET_ENCAP_ETH : JET_ENCAP_NATIVE,
                                .dir =
                                    (uint8_t)(data[0] & 0x40 ? JET_CAPTURE_OUT : JET_CAPTURE_IN)};
    check_line(&r);
    r.len = (uint32_t)n + 100; /* a frame longer than what was captured */
    check_line(&r);
    return 0;
}

/* Seeds: an RBS SYN, an RBS data segment, an Ethernet IPv4 TCP SYN with
 * options, an ARP request, a native frame inside Ethernet, a pcapng EPB. */
size_t jet_fuzz_seed(unsigned i, uint8_t *out, size_t cap)
{
    uint8_t f[600] = {0};
    size_t n = 0;
    if (i == 0 || i == 1) { /* native + RBS */
        uint8_t h[] = {1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0x14, 0x51, 0x12, 0x34, 0x56, 0x78};
        memcpy(f + 1, h, sizeof h);
        uint32_t pl = i == 0 ? 40 : 24 + 100;
        f[1 + 16] = 0;
        f[1 + 17] = 0;
        f[1 + 18] = (uint8_t)(pl >> 8);
        f[1 + 19] = (uint8_t)pl;
        uint8_t syn[] = {1,    0x02, 10, 0, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0, 0x10, 0,
                         0,    0,    0,  0, 0,    1,    0,    0,    0, 0, 2, 6, 0,    0,
                         0x05, 0x78, 3,  3, 3,    5,    6,    0,    0, 0, 9, 0};
        uint8_t dat[] = {1, 0x10, 6, 0, 0, 0, 0, 1, 0, 0, 0, 2,
                         0, 64,   0, 0, 0, 0, 0, 1, 0, 0, 0, 1};
        if (i == 0)
            memcpy(f + 25, syn, sizeof syn);
        else
            memcpy(f + 25, dat, sizeof dat);
        n = 1 + 24 + pl + 4;
        f[0] = 4; /* native, header check made right */
    } else if (i == 2 || i == 3 || i == 4) {
        uint8_t eth[] = {2, 0x4a, 0x53, 0, 0, 2, 2, 0x4a, 0x53, 0, 0, 1};
        memcpy(f + 1, eth, sizeof eth);
        f[0] = 1;
        if (i == 2) {
            uint8_t ip[] = {0x08, 0x00, 0x45, 0, 0, 60,   0,    0, 0x40, 0,    64,   6,    0,
                            0,    198,  18,   0, 1, 198,  18,   0, 2,    0x9c, 0x40, 0x14, 0x51,
                            0,    0,    0,    1, 0, 0,    0,    0, 0xa0, 0x02, 0xff, 0xff, 0,
                            0,    0,    0,    2, 4, 0x23, 0x00, 4, 2,    8,    10,   0,    0,
                            0,    1,    0,    0, 0, 0,    1,    3, 3,    7};
            memcpy(f + 13, ip, sizeof ip);
            n = 13 + sizeof ip;
        } else if (i == 3) {
            uint8_t arp[] = {0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1, 2, 0x4a, 0x53, 0,  0, 1,
                             198,  18,   0, 1, 0,    0, 0, 0, 0, 0, 0, 0,    198,  18, 0, 2};
            memcpy(f + 13, arp, sizeof arp);
            n = 13 + sizeof arp + 18;
        } else {
            f[13] = 0x88;
            f[14] = 0xb5;
            uint8_t h[] = {1, 0, 0, 1, 0xff, 0xff, 0, 0, 0, 0, 0, 7, 0, 0, 0, 9, 0, 0, 0, 4};
            memcpy(f + 15, h, sizeof h);
            n = 15 + 24 + 4;
            f[0] = 1 | 4;
        }
    } else if (i == 5) { /* EPB on interface 0 with epb_flags */
        f[0] = 2;
        uint8_t *p = f + 1;
        put_le32(p, 6);
        put_le32(p + 4, 52);
        put_le32(p + 8, 0);
        put_le32(p + 20, 5);
        put_le32(p + 24, 7);
        p[36] = 2;
        p[38] = 4;
        p[40] = 2;
        put_le32(p + 48, 52);
        n = 1 + 52;
    } else {
        return 0;
    }
    if (n > cap)
        return 0;
    memcpy(out, f, n);
    return n;
}
