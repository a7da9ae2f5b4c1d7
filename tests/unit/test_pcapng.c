/* The pcapng writer (src/link/pcapng.c): the exact bytes of each block
 * (lengths, padding to 32 bits, the trailing length, options), the
 * buffered file writer (the same bytes in the file, a comment added to the
 * last frame, errors returned), and that tshark reads a written file:
 * interfaces, frames, lengths, directions and nanosecond timestamps. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "check.h"
#include "link/pcapng.h"

/* ---- the encoders, byte for byte ---- */

struct row {
    const char *what;
    int kind;         /* 0 SHB, 1 IDB, 2 EPB */
    const char *text; /* userappl, if_name or comment */
    uint16_t linktype;
    uint32_t snaplen, ifid, caplen, len;
    uint64_t ts;
    unsigned dir;
    int want_len;
    const uint8_t *want;
};

#define LE32(v) (uint8_t)(v), (uint8_t)((v) >> 8), (uint8_t)((v) >> 16), (uint8_t)((v) >> 24)

/* The blocks as byte diagrams. */
/* clang-format off */
static const uint8_t shb_plain[] = {LE32(0x0A0D0D0A), LE32(28), LE32(0x1A2B3C4D), 1, 0, 0, 0,
                                    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, LE32(28)};
static const uint8_t shb_appl[] = {LE32(0x0A0D0D0A), LE32(40), LE32(0x1A2B3C4D), 1, 0, 0, 0,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   4, 0, 2, 0, 'a', 'b', 0, 0, /* shb_userappl, padded */
                                   0, 0, 0, 0, LE32(40)};
static const uint8_t idb_user0[] = {LE32(1), LE32(44), 147, 0, 0, 0, LE32(65535),
                                    2, 0, 5, 0, 'l', 'a', 'n', ':', 'x', 0, 0, 0, /* if_name */
                                    9, 0, 1, 0, 9, 0, 0, 0,                      /* if_tsresol */
                                    0, 0, 0, 0, LE32(44)};
static const uint8_t idb_eth_noname[] = {LE32(1), LE32(32), 1, 0, 0, 0, LE32(262144),
                                         9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0, LE32(32)};
static const uint8_t frame5[5] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5};
static const uint8_t epb_out[] = {LE32(6), LE32(52), LE32(1), LE32(1), LE32(2), LE32(5), LE32(7),
                                  0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0, 0, 0, /* data, padded */
                                  2, 0, 4, 0, LE32(2),                   /* epb_flags: outbound */
                                  0, 0, 0, 0, LE32(52)};
static const uint8_t epb_in_comment[] = {LE32(6), LE32(56), LE32(0), LE32(0), LE32(1000000000u),
                                         LE32(4), LE32(4), 0xa1, 0xa2, 0xa3, 0xa4,
                                         2, 0, 4, 0, LE32(1),      /* inbound */
                                         1, 0, 1, 0, 'x', 0, 0, 0, /* opt_comment */
                                         0, 0, 0, 0, LE32(56)};
static const uint8_t epb_empty[] = {LE32(6), LE32(44), LE32(0), LE32(0xffffffffu), LE32(0xfffffffeu),
                                    LE32(0), LE32(60), 2, 0, 4, 0, LE32(0), /* direction unknown */
                                    0, 0, 0, 0, LE32(44)};
/* clang-format on */

static const struct row rows[] = {
    {"SHB, no options", 0, NULL, 0, 0, 0, 0, 0, 0, 0, sizeof shb_plain, shb_plain},
    {"SHB, shb_userappl", 0, "ab", 0, 0, 0, 0, 0, 0, 0, sizeof shb_appl, shb_appl},
    {"IDB USER0, if_name", 1, "lan:x", 147, 65535, 0, 0, 0, 0, 0, sizeof idb_user0, idb_user0},
    {"IDB Ethernet, no name", 1, "", 1, 262144, 0, 0, 0, 0, 0, sizeof idb_eth_noname,
     idb_eth_noname},
    {"EPB out, cut 7 to 5", 2, NULL, 0, 0, 1, 5, 7, 0x100000002ull, 2, sizeof epb_out, epb_out},
    {"EPB in, comment", 2, "x", 0, 0, 0, 4, 4, 1000000000u, 1, sizeof epb_in_comment,
     epb_in_comment},
    {"EPB nothing captured", 2, NULL, 0, 0, 0, 0, 60, 0xfffffffffffffffeull, 0, sizeof epb_empty,
     epb_empty},
};

static int emit(const struct row *r, uint8_t *b, size_t cap)
{
    switch (r->kind) {
    case 0:
        return pcapng_shb_emit(b, cap, r->text);
    case 1:
        return pcapng_idb_emit(b, cap, r->linktype, r->snaplen, r->text);
    default:
        return pcapng_epb_emit(b, cap, r->ifid, r->ts, frame5, r->caplen, r->len, r->dir, r->text);
    }
}

static void test_blocks(void)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        uint8_t b[256];
        memset(b, 0x55, sizeof b);
        int n = emit(r, b, sizeof b);
        CHECK_EQ(n, r->want_len);
        if (n != r->want_len || memcmp(b, r->want, (size_t)n)) {
            fprintf(stderr, "row '%s': bytes differ\n", r->what);
            CHECK(0);
        }
        CHECK_EQ(n % 4, 0);
        CHECK(b[n] == 0x55); /* nothing past the block */
        if (r->kind == 2)
            CHECK_EQ(pcapng_epb_size(r->caplen, r->text), (size_t)n);
        /* one byte short: refused */
        CHECK_EQ(emit(r, b, (size_t)r->want_len - 1), -ENOSPC);
    }
    uint8_t b[64];
    CHECK_EQ(pcapng_epb_emit(b, sizeof b, 0, 0, frame5, 5, 4, 1, NULL), -ENOSPC); /* caplen > len */
    /* a long text option is cut at PCAPNG_OPT_TEXT_MAX */
    char name[400];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = 0;
    static uint8_t big[1024];
    int n = pcapng_idb_emit(big, sizeof big, 1, 100, name);
    CHECK_EQ(n, 8 + 8 + 4 + PCAPNG_OPT_TEXT_MAX + 8 + 4 + 4);
}

/* ---- the file writer ---- */

static char dir[64];

static size_t slurp(const char *path, uint8_t *b, size_t cap)
{
    int fd = open(path, O_RDONLY);
    REQUIRE(fd >= 0);
    ssize_t n = read(fd, b, cap);
    close(fd);
    REQUIRE(n >= 0);
    return (size_t)n;
}

static void test_writer(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/w.pcapng", dir);
    struct pcapng_w w;
    struct jet_err err = {0};
    REQUIRE(pcapng_open(&w, path, "ab", &err) == 0);
    CHECK_EQ(pcapng_add_if(&w, 147, 65535, "lan:x", &err), 0);
    CHECK_EQ(pcapng_write(&w, 1, 0x100000002ull, frame5, 5, 7, 2, NULL, &err), 0);
    CHECK_EQ(pcapng_write(&w, 0, 1000000000u, frame5, 4, 4, 1, NULL, &err), 0);
    CHECK_EQ(pcapng_comment_last(&w, "x"), 0);       /* the second frame gets its comment */
    CHECK_EQ(pcapng_comment_last(&w, "y"), -ENOENT); /* once */
    uint8_t b[1024];
    CHECK_EQ(slurp(path, b, sizeof b), 0); /* buffered: nothing written yet */
    CHECK_EQ(pcapng_flush(&w, &err), 0);
    CHECK_EQ(pcapng_comment_last(&w, "z"), -ENOENT); /* written already */
    CHECK_EQ(pcapng_close(&w, &err), 0);
    size_t n = slurp(path, b, sizeof b);
    size_t want = sizeof shb_appl + sizeof idb_user0 + sizeof epb_out + sizeof epb_in_comment;
    CHECK_EQ(n, want);
    if (n == want) {
        CHECK(!memcmp(b, shb_appl, sizeof shb_appl));
        CHECK(!memcmp(b + sizeof shb_appl, idb_user0, sizeof idb_user0));
        CHECK(!memcmp(b + sizeof shb_appl + sizeof idb_user0, epb_out, sizeof epb_out));
        CHECK(!memcmp(b + want - sizeof epb_in_comment, epb_in_comment, sizeof epb_in_comment));
    }

    /* many frames: the buffer is written when full, whole blocks only */
    REQUIRE(pcapng_open(&w, path, NULL, &err) == 0);
    CHECK_EQ(pcapng_add_if(&w, 1, 0, "eth", &err), 0);
    static uint8_t frame[9000];
    for (unsigned i = 0; i < 100; i++)
        CHECK_EQ(pcapng_write(&w, 0, i, frame, sizeof frame, sizeof frame, 1, NULL, &err), 0);
    CHECK(w.written > 0 && w.written % 4 == 0);
    CHECK(w.written < 100 * 9000); /* some still buffered */
    /* a frame larger than the buffer goes out as a block of its own */
    static uint8_t huge[PCAPNG_BUF + 100];
    CHECK_EQ(pcapng_write(&w, 0, 1, huge, sizeof huge, sizeof huge, 1, NULL, &err), 0);
    CHECK_EQ(pcapng_close(&w, &err), 0);
    static uint8_t all[2 * 1024 * 1024];
    n = slurp(path, all, sizeof all);
    CHECK_EQ(n, 28 + 40 + 100 * pcapng_epb_size(9000, NULL) + pcapng_epb_size(sizeof huge, NULL));

    /* errors are returned with the reason, not printed */
    CHECK_EQ(pcapng_open(&w, "/nonexistent-dir-jt/x.pcapng", NULL, &err), -ENOENT);
    CHECK(strstr(err.msg, "/nonexistent-dir-jt/x.pcapng") != NULL);
    if (access("/dev/full", W_OK) == 0) {
        REQUIRE(pcapng_open(&w, "/dev/full", NULL, &err) == 0);
        CHECK_EQ(pcapng_add_if(&w, 1, 0, "eth", &err), 0);
        CHECK_EQ(pcapng_flush(&w, &err), -ENOSPC);
        CHECK_EQ(pcapng_write(&w, 0, 1, frame5, 5, 5, 1, NULL, &err), -ENOSPC); /* sticky */
        CHECK_EQ(pcapng_close(&w, &err), -ENOSPC);
    }
}

/* ---- tshark reads what was written ---- */

static void test_tshark(void)
{
    if (system("command -v tshark >/dev/null 2>&1") != 0) {
        fprintf(stderr, "tshark not installed: file check skipped\n");
        return;
    }
    char path[128], cmd[512], out[128];
    snprintf(path, sizeof path, "%s/t.pcapng", dir);
    snprintf(out, sizeof out, "%s/t.txt", dir);
    struct pcapng_w w;
    struct jet_err err = {0};
    REQUIRE(pcapng_open(&w, path, "test", &err) == 0);
    CHECK_EQ(pcapng_add_if(&w, 147, 0, "lan:t", &err), 0);
    CHECK_EQ(pcapng_add_if(&w, 1, 0, "lan:t", &err), 0);
    uint8_t eth[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0x4a, 0x53, 0, 0, 1, 0x08, 0x06};
    uint8_t nat[40] = {1, 0, 0, 1, 0, 2};
    uint64_t t0 = 1764923456123456789ull; /* 2025-12-05 ..., 9 digits of ns */
    CHECK_EQ(pcapng_write(&w, 0, t0, nat, sizeof nat, sizeof nat, 2, NULL, &err), 0);
    CHECK_EQ(pcapng_write(&w, 1, t0 + 1, eth, 20, sizeof eth, 1, NULL, &err), 0);
    CHECK_EQ(pcapng_write(&w, 0, t0 + 1000, nat, sizeof nat, sizeof nat, 2, NULL, &err), 0);
    CHECK_EQ(pcapng_comment_last(&w, "not sent"), 0);
    CHECK_EQ(pcapng_close(&w, &err), 0);
    snprintf(cmd, sizeof cmd,
             "tshark -r %s -T fields -E separator=, -e frame.interface_id -e frame.time_epoch "
             "-e frame.len -e frame.cap_len -e frame.packet_flags_direction -e frame.comment "
             ">%s 2>/dev/null",
             path, out);
    CHECK_EQ(system(cmd), 0);
    char got[512] = {0};
    size_t n = slurp(out, (uint8_t *)got, sizeof got - 1);
    got[n] = 0;
    const char *want = "0,1764923456.123456789,40,40,0x00000002,\n"
                       "1,1764923456.123456790,60,20,0x00000001,\n"
                       "0,1764923456.123457789,40,40,0x00000002,not sent\n";
    if (strcmp(got, want)) {
        fprintf(stderr, "tshark read:\n%swanted:\n%s", got, want);
        CHECK(0);
    }
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/jt-pcapng-XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL);
    test_blocks();
    test_writer();
    test_tshark();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd))
        fprintf(stderr, "could not remove %s\n", dir);
    return check_done("test_pcapng");
}
