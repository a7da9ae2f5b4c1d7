/* The capture wrapper (src/link/capture.c, include/jet/capture.h) over loop:
 * and lan: links:
 *   - every frame in and out is recorded once, with its direction,
 *     encapsulation, length, captured length (snap length), timestamp;
 *   - a frame the inner link refuses is recorded, flagged (callback) and
 *     commented (file);
 *   - what the other end receives is byte for byte what was sent, with and
 *     without the wrapper, and the capturing end receives what it would;
 *   - the file: one IDB per encapsulation (USER0 147, Ethernet 1), if_name,
 *     if_tsresol 9, snaplen; an EPB per frame with its direction; tshark
 *     reads it (when installed);
 *   - capture:PATH/INNER by name; bad options and paths refused with the
 *     inner link closed (ASan: nothing leaked);
 *   - a file that cannot grow (RLIMIT_FSIZE): the error is kept and the
 *     frames not written counted, and every frame is still delivered. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include "check.h"
#include "jet/capture.h"
#include "jet/frame.h"
#include "jet/lan.h"
#include "jet/link.h"
#include "jet/loop.h"
#include "link/capture_link.h"

static char dir[64];

enum { MAXREC = 256 };
struct seen {
    unsigned n;
    struct jet_capture_rec r[MAXREC];
    uint8_t first[MAXREC][64]; /* the first bytes of each */
};

static void on_rec(void *arg, const struct jet_capture_rec *r)
{
    struct seen *s = arg;
    if (s->n < MAXREC) {
        s->r[s->n] = *r;
        memcpy(s->first[s->n], r->data, r->caplen < 64 ? r->caplen : 64);
        s->r[s->n].data = NULL;
    }
    s->n++;
}

/* A native frame from src to dst (channel 7 to 9), payload of plen bytes
 * of seed-derived values, into f (lent by l). */
static int send_native(struct jet_link *l, uint16_t src, uint16_t dst, uint32_t plen, uint8_t seed)
{
    struct jet_frame f;
    int rc = jet_link_tx_alloc(l, &f);
    if (rc)
        return rc;
    uint8_t pay[4000];
    REQUIRE(plen <= sizeof pay);
    for (uint32_t i = 0; i < plen; i++)
        pay[i] = (uint8_t)(seed + i * 7);
    struct jet_frame_hdr h = {
        .flags = JET_FF_CRC, .src_station = src, .dst_station = dst, .dst_chan = 9, .src_chan = 7};
    long n = jet_frame_build(f.data, f.cap, &h, pay, plen);
    REQUIRE(n > 0);
    f.len = (uint32_t)n;
    f.encap = JET_ENCAP_NATIVE;
    return jet_link_tx_commit(l, &f);
}

static int send_eth(struct jet_link *l, const uint8_t dst[6], const uint8_t src[6], uint32_t len,
                    uint8_t seed)
{
    struct jet_frame f;
    int rc = jet_link_tx_alloc(l, &f);
    if (rc)
        return rc;
    memcpy(f.data, dst, 6);
    memcpy(f.data + 6, src, 6);
    f.data[12] = 0x88; /* an EtherType nobody here takes: IPv6 */
    f.data[13] = 0xdd;
    for (uint32_t i = 14; i < len; i++)
        f.data[i] = (uint8_t)(seed ^ i);
    f.len = len;
    f.encap = JET_ENCAP_ETH;
    return jet_link_tx_commit(l, &f);
}

/* Receives everything waiting on l; appends each frame's bytes' checksum
 * (a simple hash) and length to out.  Returns the count. */
static unsigned drain(struct jet_link *l, uint64_t *out, unsigned max)
{
    unsigned got = 0;
    for (int idle = 0; idle < 50;) {
        struct jet_frame f[32];
        int n = jet_link_rx_burst(l, f, 32);
        REQUIRE(n >= 0);
        if (n == 0) {
            idle++;
            usleep(200);
            continue;
        }
        for (int i = 0; i < n; i++) {
            uint64_t h = 1469598103934665603ull ^ f[i].len ^ (uint64_t)f[i].encap << 40;
            for (uint32_t k = 0; k < f[i].len; k++)
                h = (h ^ f[i].data[k]) * 1099511628211ull;
            if (got < max)
                out[got] = h;
            got++;
        }
        jet_link_rx_release(l, f, (unsigned)n);
    }
    return got;
}

/* The traffic of one run: from end A (maybe wrapped) to B and back. */
enum { N_NAT = 20, N_ETH = 10, N_BACK = 15, N_TOTAL_IN_B = N_NAT + N_ETH };
static void traffic(struct jet_link *a, struct jet_link *b, uint64_t *at_b, uint64_t *at_a,
                    unsigned *nb, unsigned *na)
{
    uint8_t ma[6], mb[6];
    jet_loop_mac(b, a->caps.addr, ma);
    jet_loop_mac(b, b->caps.addr, mb);
    for (unsigned i = 0; i < N_NAT; i++)
        CHECK_EQ(send_native(a, (uint16_t)a->caps.addr, (uint16_t)b->caps.addr, 100 + i * 90,
                             (uint8_t)i),
                 0);
    for (unsigned i = 0; i < N_ETH; i++)
        CHECK_EQ(send_eth(a, mb, ma, 60 + i * 100, (uint8_t)i), 0);
    /* one refused: no end 40 on this loop */
    CHECK_EQ(send_native(a, (uint16_t)a->caps.addr, 40, 10, 0), -EHOSTUNREACH);
    for (unsigned i = 0; i < N_BACK; i++)
        CHECK_EQ(send_native(b, (uint16_t)b->caps.addr, (uint16_t)a->caps.addr, 50 + i, (uint8_t)i),
                 0);
    jet_link_tx_flush(a);
    jet_link_tx_flush(b);
    *nb = drain(b, at_b, 64);
    *na = drain(a, at_a, 64);
}

/* ---- reading the file back (the few fields checked) ---- */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

struct file_sum {
    unsigned idb, epb, in, out, commented, unknown_dir;
    uint32_t linktype[4], snaplen[4];
    bool tsresol9[4], named[4];
    uint32_t caplen_max, len_max;
    bool ok; /* every block's two lengths agree, 32-bit aligned, file ends on a block */
};

static void read_file(const char *path, struct file_sum *s)
{
    static uint8_t b[4 << 20];
    int fd = open(path, O_RDONLY);
    REQUIRE(fd >= 0);
    ssize_t n = read(fd, b, sizeof b);
    close(fd);
    REQUIRE(n > 0 && (size_t)n < sizeof b);
    memset(s, 0, sizeof *s);
    s->ok = true;
    size_t o = 0;
    while (o + 12 <= (size_t)n) {
        uint32_t type = rd32(b + o), len = rd32(b + o + 4);
        if (len < 12 || len % 4 || o + len > (size_t)n || rd32(b + o + len - 4) != len) {
            s->ok = false;
            return;
        }
        const uint8_t *p = b + o;
        if (type == 1 && s->idb < 4) {
            s->linktype[s->idb] = p[8] | p[9] << 8;
            s->snaplen[s->idb] = rd32(p + 12);
            for (size_t q = 16; q + 4 <= len - 4;) {
                uint32_t code = p[q] | p[q + 1] << 8, ol = p[q + 2] | p[q + 3] << 8;
                if (!code)
                    break;
                if (code == 9 && ol == 1 && p[q + 4] == 9)
                    s->tsresol9[s->idb] = true;
                if (code == 2 && ol > 0)
                    s->named[s->idb] = true;
                q += 4 + ((ol + 3) & ~3u);
            }
            s->idb++;
        } else if (type == 6) {
            s->epb++;
            uint32_t cap = rd32(p + 20), flen = rd32(p + 24);
            if (cap > s->caplen_max)
                s->caplen_max = cap;
            if (flen > s->len_max)
                s->len_max = flen;
            size_t q = 28 + ((cap + 3) & ~3u);
            if (rd32(p + q) == (2u | 4u << 16)) { /* epb_flags, 4 bytes */
                uint32_t d = rd32(p + q + 4) & 3;
                s->in += d == 1;
                s->out += d == 2;
                s->unknown_dir += d == 0;
                q += 8;
            }
            if ((rd32(p + q) & 0xffff) == 1)
                s->commented++;
        }
        o += len;
    }
    s->ok = o == (size_t)n;
}

static bool tshark_count(const char *path, unsigned want)
{
    if (system("command -v tshark >/dev/null 2>&1") != 0) {
        fprintf(stderr, "tshark not installed: its check skipped\n");
        return true;
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "test \"$(tshark -r %s -T fields -e frame.len 2>/dev/null | wc -l)\" = %u", path,
             want);
    return system(cmd) == 0;
}

/* ---- the tests ---- */

static void test_loop(void)
{
    char name[64], path[128];
    snprintf(name, sizeof name, "tc%d", (int)getpid());
    snprintf(path, sizeof path, "%s/loop.pcapng", dir);
    struct jet_err err = {0};
    struct jet_link *a, *b;

    /* without the wrapper: what B and A receive */
    char ln[80];
    snprintf(ln, sizeof ln, "loop:%s", name);
    REQUIRE(jet_link_open(ln, NULL, &a, &err) == 0);
    REQUIRE(jet_link_open(ln, NULL, &b, &err) == 0);
    uint64_t plain_b[64], plain_a[64], cap_b[64], cap_a[64];
    unsigned pb, pa, cb, ca;
    traffic(a, b, plain_b, plain_a, &pb, &pa);
    CHECK_EQ(pb, N_TOTAL_IN_B);
    CHECK_EQ(pa, N_BACK);
    jet_link_close(a);
    jet_link_close(b);

    /* with it, snap length 200 */
    REQUIRE(jet_link_open(ln, NULL, &a, &err) == 0);
    REQUIRE(jet_link_open(ln, NULL, &b, &err) == 0);
    struct jet_link *inner = a;
    static struct seen s;
    memset(&s, 0, sizeof s);
    struct jet_capture_opts o = {.path = path, .fn = on_rec, .arg = &s, .snaplen = 200};
    REQUIRE(jet_capture_wrap(inner, &o, &a, &err) == 0);
    CHECK(!memcmp(&a->caps, &inner->caps, sizeof a->caps)); /* nothing changed */
    CHECK(!strcmp(a->name, inner->name));
    traffic(a, b, cap_b, cap_a, &cb, &ca);
    CHECK_EQ(cb, pb);
    CHECK_EQ(ca, pa);
    CHECK(!memcmp(cap_b, plain_b, sizeof(uint64_t) * pb)); /* delivery unchanged */
    CHECK(!memcmp(cap_a, plain_a, sizeof(uint64_t) * pa));
    struct capture_counts cc;
    CHECK_EQ(capture_link_counts(a, &cc), 0);
    CHECK_EQ(capture_link_counts(b, &cc), -EINVAL);
    CHECK_EQ(capture_link_counts(a, &cc), 0);
    CHECK_EQ(cc.out, N_NAT + N_ETH + 1);
    CHECK_EQ(cc.in, N_BACK);
    CHECK_EQ(cc.refused, 1);
    CHECK(cc.written <= N_NAT + N_ETH + 1 + N_BACK); /* the rest in the buffer */
    CHECK_EQ(cc.failed, 0);
    CHECK_EQ(cc.err, 0);

    /* the callback: each frame once, in order, right fields */
    REQUIRE(s.n == N_NAT + N_ETH + 1 + N_BACK);
    uint64_t last_ts = 0;
    for (unsigned i = 0; i < s.n; i++) {
        const struct jet_capture_rec *r = &s.r[i];
        bool out = i < N_NAT + N_ETH + 1, eth = i >= N_NAT && i < N_NAT + N_ETH;
        CHECK_EQ(r->dir, out ? JET_CAPTURE_OUT : JET_CAPTURE_IN);
        CHECK_EQ(r->encap, eth ? JET_ENCAP_ETH : JET_ENCAP_NATIVE);
        uint32_t want = i < N_NAT            ? 24 + 100 + i * 90 + 4
                        : eth                ? 60 + (i - N_NAT) * 100
                        : i == N_NAT + N_ETH ? 24 + 10 + 4
                                             : 24 + 50 + (i - N_NAT - N_ETH - 1) + 4;
        CHECK_EQ(r->len, want);
        CHECK_EQ(r->caplen, want < 200 ? want : 200);
        CHECK_EQ(r->refused, i == N_NAT + N_ETH);
        CHECK(r->ts_ns >= last_ts && r->ts_ns > 1600000000ull * 1000000000ull);
        last_ts = r->ts_ns;
        if (!eth) /* the bytes recorded are the frame's: its header names the stations */
            CHECK_EQ(s.first[i][5], out ? (i == N_NAT + N_ETH ? 40 : b->caps.addr) : a->caps.addr);
    }
    jet_link_close(a); /* closes the inner link, completes the file */
    jet_link_close(b);

    struct file_sum f;
    read_file(path, &f);
    CHECK(f.ok);
    CHECK_EQ(f.idb, 2);
    CHECK_EQ(f.linktype[0], JET_LINKTYPE_USER0);
    CHECK_EQ(f.linktype[1], JET_LINKTYPE_ETHERNET);
    CHECK(f.snaplen[0] == 200 && f.snaplen[1] == 200);
    CHECK(f.tsresol9[0] && f.tsresol9[1] && f.named[0] && f.named[1]);
    CHECK_EQ(f.epb, s.n);
    CHECK_EQ(f.out, N_NAT + N_ETH + 1);
    CHECK_EQ(f.in, N_BACK);
    CHECK_EQ(f.commented, 1);
    CHECK_EQ(f.caplen_max, 200);
    CHECK_EQ(f.len_max, 24 + 100 + (N_NAT - 1) * 90 + 4);
    CHECK(tshark_count(path, s.n));
}

static void test_by_name(void)
{
    char name[64], ln[300], path[128];
    snprintf(name, sizeof name, "tn%d", (int)getpid());
    snprintf(path, sizeof path, "%s/by-name.pcapng", dir);
    snprintf(ln, sizeof ln, "capture:%s/loop:%s", path, name);
    struct jet_err err = {0};
    struct jet_link *a, *b;
    REQUIRE(jet_link_open(ln, NULL, &a, &err) == 0);
    CHECK(!strcmp(a->name, ln));
    snprintf(ln, sizeof ln, "loop:%s", name);
    REQUIRE(jet_link_open(ln, NULL, &b, &err) == 0);
    for (unsigned i = 0; i < 5; i++)
        CHECK_EQ(send_native(a, (uint16_t)a->caps.addr, (uint16_t)b->caps.addr, 3000, 1), 0);
    uint64_t h[8];
    CHECK_EQ(drain(b, h, 8), 5);
    CHECK_EQ(send_native(b, (uint16_t)b->caps.addr, (uint16_t)a->caps.addr, 1, 1), 0);
    CHECK_EQ(drain(a, h, 8), 1);
    struct jet_link_stats st;
    CHECK_EQ(jet_link_stats(a, &st), 0); /* the inner link's counters */
    CHECK_EQ(st.tx_frames, 5);
    CHECK_EQ(st.rx_frames, 1);
    uint32_t max_frame = a->caps.max_frame;
    jet_link_close(a);
    jet_link_close(b);
    struct file_sum f;
    read_file(path, &f);
    CHECK(f.ok && f.idb == 2 && f.epb == 6 && f.out == 5 && f.in == 1);
    CHECK_EQ(f.snaplen[0], max_frame); /* whole frames: the link's largest */
    CHECK_EQ(f.caplen_max, 3028);

    /* refusals: options, paths; the inner link is closed either way */
    snprintf(ln, sizeof ln, "loop:%s", name);
    REQUIRE(jet_link_open(ln, NULL, &a, &err) == 0);
    struct jet_capture_opts none = {0};
    CHECK_EQ(jet_capture_wrap(a, &none, &b, &err), -EINVAL);
    CHECK(strstr(err.msg, "path") != NULL);
    REQUIRE(jet_link_open(ln, NULL, &a, &err) == 0);
    struct jet_capture_opts bad = {.path = "/nonexistent-jt-dir/x.pcapng"};
    CHECK_EQ(jet_capture_wrap(a, &bad, &b, &err), -ENOENT);
    CHECK(strstr(err.msg, "/nonexistent-jt-dir/x.pcapng") != NULL);
    snprintf(ln, sizeof ln, "capture:/nonexistent-jt-dir/x.pcapng/loop:%s", name);
    CHECK_EQ(jet_link_open(ln, NULL, &a, &err), -ENOENT);
    CHECK_EQ(jet_capture_wrap(NULL, &bad, &b, &err), -EINVAL);
    /* the loop network is gone: every end was closed */
    snprintf(ln, sizeof ln, "loop:%s", name);
    REQUIRE(jet_link_open(ln, NULL, &a, &err) == 0);
    CHECK_EQ(a->caps.addr, 0);
    jet_link_close(a);
}

/* The file stops growing (RLIMIT_FSIZE: write fails with EFBIG) part way. */
static void test_write_error(void)
{
    char name[64], ln[80], path[128];
    snprintf(name, sizeof name, "tw%d", (int)getpid());
    snprintf(ln, sizeof ln, "loop:%s", name);
    snprintf(path, sizeof path, "%s/full.pcapng", dir);
    struct jet_err err = {0};
    struct jet_link *in, *a, *b;
    REQUIRE(jet_link_open(ln, NULL, &in, &err) == 0);
    REQUIRE(jet_link_open(ln, NULL, &b, &err) == 0);
    struct jet_capture_opts o = {.path = path};
    REQUIRE(jet_capture_wrap(in, &o, &a, &err) == 0);
    struct rlimit old, lim = {.rlim_cur = 100000, .rlim_max = RLIM_INFINITY};
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
    lim.rlim_max = old.rlim_max;
    signal(SIGXFSZ, SIG_IGN);
    REQUIRE(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    enum { N = 150 }; /* 150 frames of 3028 bytes: the buffer fills once (256 KiB) */
    unsigned got = 0;
    uint64_t h[1];
    for (unsigned i = 0; i < N; i++) {
        CHECK_EQ(send_native(a, (uint16_t)a->caps.addr, (uint16_t)b->caps.addr, 3000, (uint8_t)i),
                 0);
        if (i % 32 == 31)
            got += drain(b, h, 0);
    }
    got += drain(b, h, 0);
    CHECK_EQ(got, N); /* every frame delivered */
    struct capture_counts cc;
    CHECK_EQ(capture_link_counts(a, &cc), 0);
    CHECK_EQ(cc.out, N);
    CHECK_EQ(cc.err, -EFBIG);
    CHECK(strstr(cc.msg, "File too large") != NULL);
    /* nothing waits in the buffer after a failed write: each frame is in the
     * file or counted */
    CHECK(cc.failed > 0 && cc.written > 0 && cc.written + cc.failed == N);
    jet_link_close(a);
    jet_link_close(b);
    REQUIRE(setrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, SIG_DFL);
    struct file_sum f;
    read_file(path, &f); /* whole blocks up to where the failed write cut the file */
    CHECK_EQ(f.epb, cc.written);
}

/* Over the LAN (shared memory, another delivery path): each frame sent
 * through the wrapper arrives, and each is recorded once. */
static void test_lan(void)
{
    char name[64], path[128], ln[300];
    snprintf(name, sizeof name, "tcap-%d", (int)getpid());
    snprintf(path, sizeof path, "%s/lan.pcapng", dir);
    struct jet_lan_config c;
    jet_lan_config_default(&c);
    c.stations = 2;
    struct jet_err err = {0};
    if (jet_lan_create(name, &c, &err)) {
        fprintf(stderr, "lan create: %s: LAN part skipped\n", err.msg);
        return;
    }
    snprintf(ln, sizeof ln, "capture:%s/lan:%s", path, name);
    struct jet_link *a, *b;
    struct jet_link_opts o0 = {.station = 0}, o1 = {.station = 1};
    REQUIRE(jet_link_open(ln, &o0, &a, &err) == 0);
    snprintf(ln, sizeof ln, "lan:%s", name);
    REQUIRE(jet_link_open(ln, &o1, &b, &err) == 0);
    enum { N = 100 };
    unsigned sent = 0, got = 0;
    uint64_t h[1];
    for (unsigned i = 0; i < N; i++) {
        int rc = send_native(a, 0, 1, 1000, (uint8_t)i);
        if (rc == -EAGAIN) { /* ring full: let B take some */
            got += drain(b, h, 0);
            i--;
            continue;
        }
        CHECK_EQ(rc, 0);
        sent++;
    }
    jet_link_tx_flush(a);
    got += drain(b, h, 0);
    CHECK_EQ(sent, N);
    CHECK_EQ(got, N); /* every frame arrived */
    jet_link_close(a);
    jet_link_close(b);
    jet_lan_destroy(name, true, &err);
    struct file_sum f;
    read_file(path, &f);
    CHECK(f.ok);
    CHECK_EQ(f.epb, N);
    CHECK_EQ(f.out, N);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/jt-capture-XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL);
    test_loop();
    test_by_name();
    test_write_error();
    test_lan();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd))
        fprintf(stderr, "could not remove %s\n", dir);
    return check_done("test_capture");
}
