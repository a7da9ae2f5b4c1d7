/* Hostile LAN segments (issue 9): every word of the segment header and of
 * the pool header set to hostile values, and damaged segment files, then
 * every jet subcommand run on the result.
 *
 * For each case a fresh small LAN is made (4 stations, ring 16, MTU 2000,
 * 256 buffers), one field is overwritten in /dev/shm/jet-lan.NAME (pwrite at
 * its offsetof), and then
 *     jet lan show NAME, jet lan show NAME --json, jet stat lan:NAME,
 *     jet stat lan:NAME --json, jet lan list, jet lan list --json,
 *     for a representative subset of the values, three transfers:
 *       jet perf --proto raw -s -1 (station 1) and -c --to 1 (station 0),
 *       jet perf --proto rbs -s -1 and -c, and jet cat -l and jet cat 1:5300,
 *     and finally jet lan destroy NAME --force.
 * Every command runs under a bound.  Required:
 *   - no command dies of a signal or prints a sanitizer report; none hangs;
 *   - a failing command says why on stderr; `--json` output that exits 0 is
 *     valid JSON;
 *   - jet lan list exits 0 and lists the LAN, with "damaged": true (and
 *     "(damaged: ...)" in text) exactly when jet lan show refuses it;
 *   - no transfer exits 0 with wrong bytes (jet cat: the bytes sent; perf:
 *     counts that add up);
 *   - jet lan destroy --force exits 0 and the file is gone.
 * Damaged files as well: truncated or extended after creation, empty, a few
 * bytes, a file that is not a segment.
 *
 * Sanitized builds (JET_SANITIZED=1) start each command ~5x slower: there,
 * cases without transfers run only jet lan show --json, jet lan list --json
 * and destroy, and each case with transfers runs one of the three, in turn.
 *
 * Failures name the case (field = value), the command and the symptom, and
 * are listed again at the end.  JET_HOSTILE_ONLY=SUBSTRING runs only the
 * cases whose field name contains it (to reproduce one). */
#include <math.h>
#include <sys/mman.h>

#include "hostile.h"
#include "jet/lan.h"
#include "link/lan_impl.h"

enum { OP_WRITE, OP_TRUNC, OP_NEWFILE };

struct hcase {
    char field[48];
    char value[96];
    int op;
    uint64_t off; /* OP_WRITE: file offset; OP_TRUNC: new size */
    uint8_t bytes[80];
    unsigned n;       /* OP_WRITE: bytes to write; OP_NEWFILE: file content */
    uint64_t newsize; /* OP_NEWFILE: size after writing the content (ftruncate) */
    bool xfer;        /* also run the transfers */
};

static struct hcase *cases;
static int ncases, capcases;
static struct lan_hdr ref;     /* header of a fresh LAN */
static struct h_pool_hdr pref; /* its pool header */
static struct jet_lan_config cfg;

/* Failures, for the summary at the end. */
static char **fails;
static int nfails, capfails;
static int nchecks;

static uint64_t cmd_bound, xfer_bound, ready_bound;

static uint8_t cat_in[256 << 10];
static char cat_in_path[400];

/* ---- the case table ---- */

static struct hcase *add_case(const char *field, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static struct hcase *add_case(const char *field, const char *fmt, ...)
{
    if (ncases == capcases) {
        capcases = capcases ? capcases * 2 : 256;
        cases = realloc(cases, (size_t)capcases * sizeof *cases);
        if (!cases)
            abort();
    }
    struct hcase *c = &cases[ncases++];
    memset(c, 0, sizeof *c);
    snprintf(c->field, sizeof c->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->value, sizeof c->value, fmt, ap);
    va_end(ap);
    return c;
}

/* Values already added for the current field (no duplicates, no no-ops). */
static uint64_t seen[64];
static int nseen;
static const char *seen_field;

static bool fresh(const char *field, uint64_t v, uint64_t orig)
{
    if (!seen_field || strcmp(seen_field, field)) {
        seen_field = field;
        nseen = 0;
    }
    if (v == orig)
        return false;
    for (int i = 0; i < nseen; i++)
        if (seen[i] == v)
            return false;
    if (nseen < 64)
        seen[nseen++] = v;
    return true;
}

static void w32(const char *field, uint64_t off, uint32_t orig, uint32_t v, bool xfer)
{
    if (!fresh(field, v, orig))
        return;
    struct hcase *c = add_case(field, "%" PRIu32 " (0x%" PRIx32 ")", v, v);
    c->op = OP_WRITE;
    c->off = off;
    memcpy(c->bytes, &v, 4);
    c->n = 4;
    c->xfer = xfer;
}

static void w64(const char *field, uint64_t off, uint64_t orig, uint64_t v, bool xfer)
{
    if (!fresh(field, v, orig))
        return;
    struct hcase *c = add_case(field, "%" PRIu64 " (0x%" PRIx64 ")", v, v);
    c->op = OP_WRITE;
    c->off = off;
    memcpy(c->bytes, &v, 8);
    c->n = 8;
    c->xfer = xfer;
}

static void wdbl(const char *field, uint64_t off, double v, const char *desc, bool xfer)
{
    struct hcase *c = add_case(field, "%s", desc);
    c->op = OP_WRITE;
    c->off = off;
    memcpy(c->bytes, &v, 8);
    c->n = 8;
    c->xfer = xfer;
}

static void wbytes(const char *field, uint64_t off, const void *b, unsigned n, const char *desc,
                   bool xfer)
{
    struct hcase *c = add_case(field, "%s", desc);
    c->op = OP_WRITE;
    c->off = off;
    memcpy(c->bytes, b, n);
    c->n = n;
    c->xfer = xfer;
}

/* The generic hostile values of a 32-bit word whose value is o: zero, one,
 * either side of o, the sign bit, all ones. */
static void u32_generic(const char *field, uint64_t off, uint32_t o, bool xfer_max)
{
    const uint32_t v[] = {0, 1, o - 1, o + 1, 0x80000000u};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        w32(field, off, o, v[i], false);
    w32(field, off, o, UINT32_MAX, xfer_max);
}

/* The generic hostile values of a 64-bit word whose value is o: zero, o + 1
 * (unaligned, overlapping the next part), o + 64, the segment size S and
 * past it, o with a bit above 32, the sign bit, 2^64 - o (which wraps to 0
 * when added to o), all ones.  Transfers with o + 1 if xfer. */
static void u64_generic(const char *field, uint64_t off, uint64_t o, bool xfer)
{
    uint64_t S = ref.seg_size;
    w64(field, off, o, o + 1, xfer);
    const uint64_t v[] = {0, o + 64, S, S + 1, (1ull << 32) | o, 1ull << 63, 0 - o, UINT64_MAX};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        w64(field, off, o, v[i], false);
}

/* A probability: not a number, infinite, negative, just over 1, huge.
 * Transfers with `xfer` (one of the descriptions). */
static void dbl_field(const char *field, uint64_t off, double max, const char *xfer)
{
    const struct {
        double v;
        const char *d;
    } v[] = {{NAN, "NaN"},        {-NAN, "-NaN"}, {INFINITY, "+inf"},
             {-INFINITY, "-inf"}, {-1.0, "-1"},   {max + 1e-7, "just over the limit"},
             {1e308, "1e308"}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        wdbl(field, off, v[i].v, v[i].d, !strcmp(v[i].d, xfer));
}

#define HOFF(m) offsetof(struct lan_hdr, m)
#define COFF(m) (offsetof(struct lan_hdr, cfg) + offsetof(struct lan_cfg, m))

/* The cases.  Transfers (the slow part) run for about one value per field:
 * the one the issue names, or the most hostile. */
static void build_cases(void)
{
    const struct lan_cfg *c = &ref.cfg;
    uint32_t bs = pref.buf_size;
    /* magic and layout: the identity of the segment */
    {
        char z[8] = {0};
        wbytes("magic", HOFF(magic), z, 8, "8 zero bytes", true);
        wbytes("magic", HOFF(magic), "JETLAN\r\0", 8, "\"JETLAN\\r\\0\"", false);
        wbytes("magic", HOFF(magic), "XETLAN\r\n", 8, "\"XETLAN\\r\\n\"", false);
    }
    u32_generic("layout", HOFF(layout), ref.layout, true);
    u32_generic("hdr_size", HOFF(hdr_size), ref.hdr_size, false);
    w32("hdr_size", HOFF(hdr_size), ref.hdr_size, ref.hdr_size - 64, true);
    u64_generic("seg_size", HOFF(seg_size), ref.seg_size, false);
    w64("seg_size", HOFF(seg_size), ref.seg_size, ref.seg_size - 1, true);
    {
        char b[64];
        memset(b, 'A', sizeof b);
        wbytes("name", HOFF(name), b, 64, "64 x 'A', no NUL", true);
        memset(b, 0xff, sizeof b);
        wbytes("name", HOFF(name), b, 64, "64 x 0xff, no NUL", false);
        memset(b, 0, sizeof b);
        wbytes("name", HOFF(name), b, 64, "empty", false);
        static const char other[] = "other-lan", fmt[] = "%s%s%n\n\"\\";
        wbytes("name", HOFF(name), other, sizeof other, "\"other-lan\" (not the file's)", false);
        wbytes("name", HOFF(name), fmt, sizeof fmt, "\"%s%s%n\\n\\\"\\\\\"", false);
    }
    /* the configuration */
    {
        const char *f = "cfg.stations";
        const uint32_t v[] = {2, 3, 5, 63, JET_LAN_MAX_STATIONS, JET_LAN_MAX_STATIONS + 1, 256};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            w32(f, COFF(stations), c->stations, v[i], v[i] == 5 || v[i] == 65);
        u32_generic(f, COFF(stations), c->stations, false);
    }
    {
        const char *f = "cfg.mtu";
        const uint32_t v[] = {JET_LAN_MIN_MTU - 1, JET_LAN_MIN_MTU, JET_LAN_MAX_MTU,
                              JET_LAN_MAX_MTU + 1};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            w32(f, COFF(mtu), c->mtu, v[i], false);
        u32_generic(f, COFF(mtu), c->mtu, true);
    }
    {
        const char *f = "cfg.buffers";
        w32(f, COFF(buffers), c->buffers, 0x10000, false);
        u32_generic(f, COFF(buffers), c->buffers, true);
    }
    {
        const char *f = "cfg.ring";
        const uint32_t v[] = {0, 8, 15, 17, 32, 65536, 65537, 1u << 31};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            w32(f, COFF(ring), c->ring, v[i], v[i] == 0 || v[i] == 32);
        u32_generic(f, COFF(ring), c->ring, false);
    }
    {
        const uint32_t v[] = {0, 0777, 07777, UINT32_MAX};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            w32("cfg.mode", COFF(mode), c->mode, v[i], false);
        w32("cfg.pad", COFF(pad), c->pad, UINT32_MAX, false);
    }
    {
        const char *f = "cfg.rate_bps";
        const uint64_t v[] = {1, 8, LAN_MIN_RATE - 1, 1ull << 63, UINT64_MAX};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            w64(f, COFF(rate_bps), c->rate_bps, v[i], v[i] == 1);
    }
    const char *durs[] = {"cfg.delay_ns", "cfg.jitter_ns"};
    const size_t doff[] = {COFF(delay_ns), COFF(jitter_ns)};
    for (int k = 0; k < 2; k++) {
        /* 10 s is the largest a LAN takes (LAN_MAX_DELAY_NS) */
        const uint64_t v[] = {LAN_MAX_DELAY_NS + 1, 1000000000000ull, 1ull << 63, UINT64_MAX};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            w64(durs[k], doff[k], 0, v[i],
                k == 0 ? v[i] == LAN_MAX_DELAY_NS + 1 : v[i] == UINT64_MAX);
    }
    w64("cfg.seed", COFF(seed), c->seed, UINT64_MAX, true);
    dbl_field("cfg.loss", COFF(loss), 1.0, "NaN");
    dbl_field("cfg.ber", COFF(ber), 0.5, "+inf");
    dbl_field("cfg.dup", COFF(dup), 1.0, "-1");
    dbl_field("cfg.reorder", COFF(reorder), 1.0, "just over the limit");

    /* the parts of the segment */
    u64_generic("stations_off", HOFF(stations_off), ref.stations_off, true);
    w64("stations_off", HOFF(stations_off), ref.stations_off, ref.stations_off - 64, false);
    u64_generic("rings_off", HOFF(rings_off), ref.rings_off, true);
    w64("rings_off", HOFF(rings_off), ref.rings_off, ref.stations_off, false);
    u64_generic("ring_bytes", HOFF(ring_bytes), ref.ring_bytes, false);
    w64("ring_bytes", HOFF(ring_bytes), ref.ring_bytes, ref.ring_bytes - 64, true);
    w64("ring_bytes", HOFF(ring_bytes), ref.ring_bytes, (UINT64_MAX / 16) + 1 + ref.ring_bytes,
        false); /* x 16 rings wraps */
    u64_generic("ret_off", HOFF(ret_off), ref.ret_off, false);
    w64("ret_off", HOFF(ret_off), ref.ret_off, ref.rings_off, true);
    u64_generic("ret_bytes", HOFF(ret_bytes), ref.ret_bytes, false);
    w64("ret_bytes", HOFF(ret_bytes), ref.ret_bytes, ref.ret_bytes * 2, true);
    u64_generic("pool_off", HOFF(pool_off), ref.pool_off, false);
    /* pool_off + pool_bytes wraps to a small number */
    w64("pool_off", HOFF(pool_off), ref.pool_off, 0 - ref.pool_bytes + 64, true);
    w64("pool_off", HOFF(pool_off), ref.pool_off, ref.ret_off, false);
    u64_generic("pool_bytes", HOFF(pool_bytes), ref.pool_bytes, false);
    w64("pool_bytes", HOFF(pool_bytes), ref.pool_bytes, 0 - ref.pool_off + 64, true);
    w64("pool_bytes", HOFF(pool_bytes), ref.pool_bytes, ref.pool_bytes - 64, false);
    u64_generic("mon_off", HOFF(mon_off), ref.mon_off, false);
    w64("mon_off", HOFF(mon_off), ref.mon_off, ref.ret_off, false);
    u64_generic("mon_bytes", HOFF(mon_bytes), ref.mon_bytes, false);
    w64("mon_bytes", HOFF(mon_bytes), ref.mon_bytes, ref.mon_bytes - 64, false);
    {
        const char *f = "headroom";
        const uint32_t v[] = {0, 64, bs - ref.frame_max + 1, bs};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            w32(f, HOFF(headroom), ref.headroom, v[i], v[i] == 0);
        u32_generic(f, HOFF(headroom), ref.headroom, false);
    }
    {
        const char *f = "frame_max";
        const uint32_t v[] = {45, bs - ref.headroom + 1, bs};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            w32(f, HOFF(frame_max), ref.frame_max, v[i], v[i] == bs - ref.headroom + 1);
        u32_generic(f, HOFF(frame_max), ref.frame_max, false);
    }
    {
        uint8_t m[2] = {0xff, 0xff};
        wbytes("mac", HOFF(mac), m, 2, "ff:ff", false);
    }
    w64("created_unix", HOFF(created_unix), ref.created_unix, UINT64_MAX, false);
    /* the running part: medium clock and counters */
    w64("medium_free_ns", HOFF(medium_free_ns), 0, UINT64_MAX, false);
    w32("serial", HOFF(serial), 0, UINT32_MAX, true); /* the next token's serial wraps */
    w32("serial", HOFF(serial), 0, 0xffffff, false);
    w64("reclaims", HOFF(reclaims), 0, UINT64_MAX, false);
    w64("reclaimed_bufs", HOFF(reclaimed_bufs), 0, UINT64_MAX, false);
    w64("reserved_bps", HOFF(reserved_bps), 0, UINT64_MAX, false);
    /* the monitor's flag set with no monitor: stations copy for it until its
     * rings fill, then find its lock free and take the flag down */
    w32("mon_token", HOFF(mon_token), 0, UINT32_MAX, true);
    w32("mon_pid", HOFF(mon_pid), 0, 0x80000000u, false);
    w32("mon_doorbell", HOFF(mon_doorbell), 0, UINT32_MAX, false);
    w32("mon_sleeping", HOFF(mon_sleeping), 0, UINT32_MAX, true);
    w32("mon_fence", HOFF(mon_fence), 0, UINT32_MAX, false);
    /* the monitor's snap length: stations clamp it (tests/unit/test_lan_monitor.c
     * t_snap writes it with a monitor attached) */
    w32("mon_snap", HOFF(mon_snap), 0, 1, false);
    w32("mon_snap", HOFF(mon_snap), 0, UINT32_MAX, false);

    /* station slots 0 and 1: the stations the transfers take */
    static char sname[2][10][48];
    for (uint32_t s = 0; s < 2; s++) {
        uint64_t base = ref.stations_off + s * sizeof(struct lan_station);
        int k = 0;
#define SOFF(m) (base + offsetof(struct lan_station, m))
#define SF(m)   (snprintf(sname[s][k], 48, "st[%u].%s", s, m), sname[s][k++])
        const char *ft = SF("token");
        w32(ft, SOFF(token), 0, UINT32_MAX, false);
        w32(ft, SOFF(token), 0, 0x100 | 5, s == 0);      /* station 5 of 4 */
        w32(ft, SOFF(token), 0, 0x100 | (1 - s), false); /* the other station's */
        w32(ft, SOFF(token), 0, 0x100 | s, false);       /* its own: a dead holder */
        w32(SF("pid"), SOFF(pid), 0, 0x80000000u, false);
        w32(SF("asym_fence"), SOFF(asym_fence), 0, UINT32_MAX, false);
        w32(SF("doorbell"), SOFF(doorbell), 0, UINT32_MAX, false);
        w32(SF("sleeping"), SOFF(sleeping), 0, UINT32_MAX, false);
        w64(SF("reserved_bps"), SOFF(reserved_bps), 0, UINT64_MAX, false);
        w64(SF("c.shm_bad"), SOFF(c.shm_bad), 0, UINT64_MAX, false);
#undef SF
#undef SOFF
    }
    /* ring and return-ring indices of the pairs the transfers use */
    static char rname[2][4][48];
    for (uint32_t k = 0; k < 2; k++) {
        uint32_t src = k, dst = 1 - k;
        uint64_t rb = ref.rings_off + ref.ring_bytes * (src * c->stations + dst);
        uint64_t qb = ref.ret_off + ref.ret_bytes * (dst * c->stations + src);
        snprintf(rname[k][0], 48, "ring[%u][%u].tail", src, dst);
        snprintf(rname[k][1], 48, "ring[%u][%u].head", src, dst);
        snprintf(rname[k][2], 48, "ret[%u][%u].tail", dst, src);
        snprintf(rname[k][3], 48, "ret[%u][%u].head", dst, src);
        const uint32_t v[] = {c->ring + 1, UINT32_MAX};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
            bool x = k == 1 && i == 0;
            w32(rname[k][0], rb + offsetof(struct lan_ring, tail), 0, v[i], x);
            w32(rname[k][1], rb + offsetof(struct lan_ring, head), 0, v[i], false);
            w32(rname[k][2], qb + offsetof(struct lan_ret_ring, tail), 0, v[i], x);
            w32(rname[k][3], qb + offsetof(struct lan_ret_ring, head), 0, v[i], false);
        }
    }

    /* the pool header */
    uint64_t P = ref.pool_off;
#define POFF(m) (P + offsetof(struct h_pool_hdr, m))
    w64("pool.magic", POFF(magic), pref.magic, 0, true);
    w64("pool.magic", POFF(magic), pref.magic, pref.magic ^ 1, false);
    u32_generic("pool.layout", POFF(layout), pref.layout, false);
    {
        const char *f = "pool.nbufs";
        const uint32_t v[] = {0x40000000u, 0x3fffffffu};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            w32(f, POFF(nbufs), pref.nbufs, v[i], false);
        u32_generic(f, POFF(nbufs), pref.nbufs, true);
    }
    {
        const char *f = "pool.buf_size";
        const uint32_t v[] = {63, 64, bs - 64, bs + 64, 1u << 30, (1u << 30) + 64};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            w32(f, POFF(buf_size), bs, v[i], v[i] == bs + 64);
        u32_generic(f, POFF(buf_size), bs, false);
    }
    w32("pool.pad", POFF(pad), pref.pad, UINT32_MAX, false);
    const char *pf[] = {"pool.owner_off", "pool.len_off", "pool.data_off"};
    const uint64_t po[] = {POFF(owner_off), POFF(len_off), POFF(data_off)};
    const uint64_t pv[] = {pref.owner_off, pref.len_off, pref.data_off};
    for (int k = 0; k < 3; k++) {
        uint64_t B = ref.pool_bytes;
        w64(pf[k], po[k], pv[k], pv[k] + 1, k != 2);
        const uint64_t v[] = {0, pv[k] - 64, pv[k] + 64, B - 4, B, 0 - pv[k], UINT64_MAX};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            w64(pf[k], po[k], pv[k], v[i], false);
    }
    /* the data part runs 64 bytes past the end of the pool */
    w64("pool.data_off", POFF(data_off), pref.data_off,
        ref.pool_bytes - (uint64_t)pref.nbufs * bs + 64, true);
    w64("pool.allocs", P + H_POOL_COUNTERS_OFF, 0, UINT64_MAX, false);
#undef POFF

    /* damaged files */
    struct {
        const char *what;
        uint64_t size;
        bool xfer;
    } tr[] = {
        {"truncated to half", ref.seg_size / 2, true},
        {"truncated to seg_size - 1", ref.seg_size - 1, false},
        {"truncated to seg_size - 4096", ref.seg_size - 4096, false},
        {"truncated inside the pool header (pool_off + 32)", ref.pool_off + 32, false},
        {"truncated to the header (sizeof struct lan_hdr)", sizeof(struct lan_hdr), true},
        {"truncated to sizeof struct lan_hdr - 1", sizeof(struct lan_hdr) - 1, false},
        {"truncated to 4096", 4096, false},
        {"truncated to 0", 0, true},
        {"extended by 4096", ref.seg_size + 4096, true},
        {"extended by 1", ref.seg_size + 1, false},
        {"extended to twice its size", ref.seg_size * 2, false},
    };
    for (size_t i = 0; i < sizeof tr / sizeof tr[0]; i++) {
        struct hcase *k = add_case("file", "%s (%" PRIu64 " bytes)", tr[i].what, tr[i].size);
        k->op = OP_TRUNC;
        k->off = tr[i].size;
        k->xfer = tr[i].xfer;
    }
    struct {
        const char *what;
        const char *content;
        unsigned n;
        uint64_t size;
        bool xfer;
    } nf[] = {
        {"new empty file", "", 0, 0, true},
        {"new file of 5 bytes \"JETLA\"", "JETLA", 5, 0, false},
        {"new file of the 8-byte magic only", LAN_MAGIC, 8, 0, true},
        {"new file: magic, then 1 MiB of zeros", LAN_MAGIC, 8, 1 << 20, false},
        {"new file of 4096 bytes of text", "this is not a LAN segment\n", 26, 4096, true},
        {"new sparse file of 64 MiB of zeros", "", 0, 64 << 20, false},
    };
    for (size_t i = 0; i < sizeof nf / sizeof nf[0]; i++) {
        struct hcase *k = add_case("file", "%s", nf[i].what);
        k->op = OP_NEWFILE;
        memcpy(k->bytes, nf[i].content, nf[i].n);
        k->n = nf[i].n;
        k->newsize = nf[i].size;
        k->xfer = nf[i].xfer;
    }
    /* the header of a real segment, with the layout version of this build,
     * on a file of the right size where everything else is zero */
    {
        struct hcase *k = add_case("file", "magic and layout only, rest of the segment zero");
        k->op = OP_NEWFILE;
        memcpy(k->bytes, &ref, 12);
        k->n = 12;
        k->newsize = ref.seg_size;
        k->xfer = true;
    }
}

/* ---- running a case ---- */

static const struct hcase *cur;
static int cur_no;

static void fail(const struct h_proc *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail(const struct h_proc *p, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char line[1400];
    snprintf(line, sizeof line, "[%s = %s] `%s`: %s", cur->field, cur->value, p ? p->what : "-",
             msg);
    printf("FAIL case %d %s\n", cur_no, line);
    if (p)
        h_dump(p);
    if (nfails == capfails) {
        capfails = capfails ? capfails * 2 : 64;
        fails = realloc(fails, (size_t)capfails * sizeof *fails);
        if (!fails)
            abort();
    }
    fails[nfails++] = strdup(line);
}

/* Runs jet with args under cmd_bound; false (and a failure) if it crashed,
 * hung or printed a sanitizer report. */
static bool run(struct h_proc *p, const char *const *args)
{
    nchecks++;
    h_start(p, cmd_bound, -1, "cmd", args);
    h_finish(p);
    char why[300];
    if (!h_sane(p, why, sizeof why)) {
        fail(p, "%s", why);
        return false;
    }
    return true;
}

/* A failing command must say why. */
static void says_why(const struct h_proc *p)
{
    if (h_rc(p) == 0)
        return;
    char l[200];
    h_first_line(p->err, l, sizeof l);
    if (!l[0])
        fail(p, "exit code %d and nothing on stderr", h_rc(p));
}

static void json_ok(const struct h_proc *p)
{
    if (h_rc(p) != 0)
        return;
    char *t = h_slurp(p->out, NULL);
    if (!h_json_valid(t))
        fail(p, "exit 0, but stdout is not valid JSON: %.200s", t);
    free(t);
}

static void seg_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "/dev/shm/jet-lan.%s", name);
}

static bool make_case_file(const struct hcase *c, const char *name)
{
    char path[300];
    seg_path(path, sizeof path, name);
    if (c->op == OP_NEWFILE) {
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || (c->n && pwrite(fd, c->bytes, c->n, 0) != (ssize_t)c->n) ||
            (c->newsize && ftruncate(fd, (off_t)c->newsize) < 0)) {
            printf("FAIL setup: %s: %s\n", path, strerror(errno));
            if (fd >= 0)
                close(fd);
            return false;
        }
        close(fd);
        return true;
    }
    struct jet_err err = {0};
    int rc = jet_lan_create(name, &cfg, &err);
    if (rc) {
        printf("FAIL setup: cannot create LAN %s: %s\n", name, jet_err_str(&err, rc));
        return false;
    }
    int fd = open(path, O_RDWR | O_CLOEXEC);
    bool ok = fd >= 0;
    if (ok && c->op == OP_WRITE)
        ok = pwrite(fd, c->bytes, c->n, (off_t)c->off) == (ssize_t)c->n;
    if (ok && c->op == OP_TRUNC)
        ok = ftruncate(fd, (off_t)c->off) == 0;
    if (!ok)
        printf("FAIL setup: cannot damage %s: %s\n", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return ok;
}

/* The object of LAN `name` in jet lan list --json output (a copy), or NULL. */
static char *list_entry(const char *json, const char *name)
{
    char k[128];
    snprintf(k, sizeof k, "\"name\":\"%s\"", name);
    const char *p = strstr(json, k);
    if (!p)
        return NULL;
    const char *b = p;
    while (b > json && *b != '{')
        b--;
    const char *e = strchr(p, '}');
    size_t n = e ? (size_t)(e - b + 1) : strlen(b);
    char *r = malloc(n + 1);
    if (!r)
        abort();
    memcpy(r, b, n);
    r[n] = 0;
    return r;
}

/* The line of LAN `name` in jet lan list's text output (a copy), or NULL. */
static char *list_line(const char *text, const char *name)
{
    size_t nl = strlen(name);
    for (const char *s = text; *s;) {
        const char *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n >= nl && !strncmp(s, name, nl) &&
            (n == nl || s[nl] == ' ' || s[nl] == '\t' || s[nl] == '(')) {
            char *r = malloc(n + 1);
            if (!r)
                abort();
            memcpy(r, s, n);
            r[n] = 0;
            return r;
        }
        s = e ? e + 1 : s + n;
    }
    return NULL;
}

/* Waits until the server p has attached station `st` (its lock on byte st is
 * held) and, if `say` is set, printed it on stderr; or until it exited. */
static void wait_ready(struct h_proc *p, const char *name, unsigned st, const char *say)
{
    char path[300];
    seg_path(path, sizeof path, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    uint64_t until = h_now_ns() + ready_bound;
    while (!h_poll(p) && h_now_ns() < until) {
        bool locked = fd >= 0 && h_locked(fd, st);
        if (locked && (!say || h_file_contains(p->err, say)))
            break;
        h_sleep_us(5000);
    }
    if (fd >= 0)
        close(fd);
    h_sleep_us(20000);
}

/* One transfer: server (station 1) and client (station 0).  After a
 * successful client the server must end by itself; otherwise it is stopped
 * with SIGTERM and must then end within 3 s. */
static void transfer(const char *kind, const char *name, const char *const *srv,
                     const char *const *cli, int cli_in, const char *say,
                     void (*judge)(const struct h_proc *s, const struct h_proc *c))
{
    struct h_proc s, c;
    char tag[64];
    nchecks++;
    snprintf(tag, sizeof tag, "%s-srv", kind);
    h_start(&s, xfer_bound + 10000000000ull, -1, tag, srv);
    wait_ready(&s, name, 1, say);
    snprintf(tag, sizeof tag, "%s-cli", kind);
    h_start(&c, xfer_bound, cli_in, tag, cli);
    h_finish(&c);
    bool wedged = false;
    if (h_rc(&c) == 0) {
        wedged = !h_wait_until(&s, h_now_ns() + 5000000000ull);
        h_stop(&s);
    } else {
        h_wait_until(&s, h_now_ns() + 300000000ull);
        h_stop(&s);
    }
    char why[300];
    bool ok_s = h_sane(&s, why, sizeof why);
    if (!ok_s)
        fail(&s, "%s", why);
    else if (wedged)
        fail(&s, "hang: still running 5 s after its client succeeded (stopped by SIGTERM)");
    ok_s = ok_s && !wedged;
    bool ok_c = h_sane(&c, why, sizeof why);
    if (!ok_c)
        fail(&c, "%s", why);
    if (ok_c)
        says_why(&c);
    if (ok_s && ok_c && judge)
        judge(&s, &c);
    printf("      %s: server %s%d, client %d (%.2f s)%s\n", kind, s.stopped ? "stopped, " : "",
           h_rc(&s), h_rc(&c), c.secs, h_rc(&c) ? "" : " ok");
}

static void judge_raw(const struct h_proc *s, const struct h_proc *c)
{
    (void)s;
    if (h_rc(c) != 0)
        return;
    char *t = h_slurp(c->out, NULL);
    double sent = 0, del = 0, bytes = 0, last = 0;
    if (!h_json_valid(t) || !h_json_num(t, "frames_sent", &sent) ||
        !h_json_num(t, "frames_delivered", &del) || !h_json_num(t, "bytes", &bytes))
        fail(c, "exit 0, but no valid JSON result: %.200s", t);
    else if (del > sent || bytes != del * 1000)
        fail(c,
             "exit 0 with counts that do not add up: frames_sent %.0f, frames_delivered %.0f, "
             "bytes %.0f (frame 1000)",
             sent, del, bytes);
    else if (del > 0 && h_json_num(t, "last_seq_delivered", &last) && last >= sent)
        fail(c, "exit 0, but last_seq_delivered %.0f was never sent (frames_sent %.0f)", last,
             sent);
    free(t);
}

static void judge_rbs(const struct h_proc *s, const struct h_proc *c)
{
    (void)s;
    if (h_rc(c) != 0)
        return;
    char *t = h_slurp(c->out, NULL);
    double bytes = 0;
    if (!h_json_valid(t) || !h_json_num(t, "bytes", &bytes))
        fail(c, "exit 0, but no valid JSON result: %.200s", t);
    else if (bytes > 1048576)
        fail(c, "exit 0, but the server received %.0f bytes of 1048576 sent", bytes);
    free(t);
}

static void judge_cat(const struct h_proc *s, const struct h_proc *c)
{
    size_t got;
    uint64_t first;
    if (h_rc(s) == 0) {
        uint64_t d = h_cmp_file(s->out, cat_in, sizeof cat_in, &got, &first);
        if (d)
            fail(s,
                 "exit 0 with wrong output: %zu bytes received of %zu, %" PRIu64
                 " bytes wrong, the first at offset %" PRIu64,
                 got, sizeof cat_in, d, first);
    }
    if (h_rc(c) == 0) {
        uint64_t d = h_cmp_file(c->out, cat_in, 0, &got, &first);
        if (d)
            fail(c, "exit 0, but it wrote %zu bytes though its peer sent none", got);
    }
}

/* The three transfers; in sanitized builds one of them, in turn. */
static void transfers(const char *name)
{
    static unsigned turn;
    unsigned which = h_sanitized ? 1u << (turn++ % 3) : 7u;
    char link[128];
    snprintf(link, sizeof link, "lan:%s", name);
    const char *raw_s[] = {"perf", "--proto",   "raw", "-s",     "-1", "--link",
                           link,   "--station", "1",   "--json", NULL};
    const char *raw_c[] = {"perf",    "--proto", "raw",       "-c", "--to",   "1",
                           "--link",  link,      "--station", "0",  "-n",     "200",
                           "--frame", "1000",    "-t",        "2",  "--json", NULL};
    if (which & 1)
        transfer("perf raw", name, raw_s, raw_c, -1, NULL, judge_raw);
    const char *rbs_s[] = {"perf", "--proto",   "rbs", "-s",     "-1", "--link",
                           link,   "--station", "1",   "--json", NULL};
    const char *rbs_c[] = {"perf",      "--proto", "rbs", "-c", "--to", "1", "--link", link,
                           "--station", "0",       "-n",  "1M", "-t",   "2", "--json", NULL};
    if (which & 2)
        transfer("perf rbs", name, rbs_s, rbs_c, -1, NULL, judge_rbs);
    const char *cat_s[] = {"cat", "-l", "--link", link, "--station", "1", NULL};
    const char *cat_c[] = {"cat",       "--link", link,     "--station", "0",
                           "--timeout", "3",      "1:5300", NULL};
    if (which & 4) {
        int in = open(cat_in_path, O_RDONLY | O_CLOEXEC);
        transfer("cat", name, cat_s, cat_c, in, "listening on", judge_cat);
        if (in >= 0)
            close(in);
    }
}

static void run_case(int no, const struct hcase *c)
{
    cur = c;
    cur_no = no;
    char name[64], path[300];
    snprintf(name, sizeof name, "%s-%d", h_pfx, no);
    seg_path(path, sizeof path, name);
    printf("case %d: %s = %s%s\n", no, c->field, c->value, c->xfer ? " (with transfers)" : "");
    if (!make_case_file(c, name)) {
        fail(NULL, "setup failed");
        unlink(path);
        return;
    }
    struct h_proc p;
    const char *show[] = {"lan", "show", name, NULL};
    const char *showj[] = {"lan", "show", name, "--json", NULL};
    char link[128];
    snprintf(link, sizeof link, "lan:%s", name);
    const char *stat[] = {"stat", link, NULL};
    const char *statj[] = {"stat", link, "--json", NULL};
    const char *list[] = {"lan", "list", NULL};
    const char *listj[] = {"lan", "list", "--json", NULL};
    const char *destroy[] = {"lan", "destroy", name, "--force", NULL};

    /* Sanitized builds start each command ~5x slower: there, cases without
     * transfers run jet lan show --json, jet lan list --json and destroy. */
    bool all = c->xfer || !h_sanitized;
    int show_rc = -1;
    if (all && run(&p, show)) {
        says_why(&p);
        show_rc = h_rc(&p);
    }
    if (run(&p, showj)) {
        says_why(&p);
        json_ok(&p);
        if (show_rc >= 0 && (h_rc(&p) == 0) != (show_rc == 0))
            fail(&p, "exit %d, but jet lan show (text) exited %d", h_rc(&p), show_rc);
    }
    if (all && run(&p, stat))
        says_why(&p);
    if (all && run(&p, statj)) {
        says_why(&p);
        json_ok(&p);
    }
    int damaged_json = -1;
    if (run(&p, listj)) {
        char *t = h_slurp(p.out, NULL);
        char *e = list_entry(t, name);
        if (h_rc(&p) != 0)
            fail(&p, "exit code %d, wanted 0", h_rc(&p));
        else if (!h_json_valid(t))
            fail(&p, "stdout is not valid JSON");
        else if (!e)
            fail(&p, "does not list %s", name);
        else {
            damaged_json = strstr(e, "\"damaged\":true") != NULL;
            bool err = strstr(e, "\"error\":") != NULL;
            if (err && !damaged_json)
                fail(&p, "lists %s with an error but not \"damaged\": true: %s", name, e);
            else if (damaged_json && !err)
                fail(&p, "lists %s as damaged without an \"error\": %s", name, e);
            else if (show_rc >= 0 && damaged_json != (show_rc != 0))
                fail(&p, "lists %s %s, but jet lan show %s it: %s", name,
                     damaged_json ? "as damaged" : "as sound", show_rc ? "refuses" : "accepts", e);
        }
        free(e);
        free(t);
    }
    if (all && run(&p, list)) {
        char *t = h_slurp(p.out, NULL);
        char *l = list_line(t, name);
        if (h_rc(&p) != 0)
            fail(&p, "exit code %d, wanted 0", h_rc(&p));
        else if (!l)
            fail(&p, "does not list %s", name);
        else if (damaged_json >= 0 && (strstr(l, "(damaged: ") != NULL) != damaged_json)
            fail(&p, "line '%s' %s '(damaged: ', but the JSON list says \"damaged\": %s", l,
                 damaged_json ? "lacks" : "has", damaged_json ? "true" : "false");
        free(l);
        free(t);
    }
    if (c->xfer)
        transfers(name);
    if (run(&p, destroy)) {
        if (h_rc(&p) != 0)
            fail(&p, "exit code %d, wanted 0", h_rc(&p));
    }
    if (access(path, F_OK) == 0) {
        fail(&p, "%s is still there afterwards", path);
        unlink(path);
    }
}

/* Reads the header and pool header of a fresh LAN; checks the pool mirror. */
static void read_reference(void)
{
    char name[64], path[300];
    snprintf(name, sizeof name, "%s-ref", h_pfx);
    seg_path(path, sizeof path, name);
    struct jet_err err = {0};
    int rc = jet_lan_create(name, &cfg, &err);
    if (rc) {
        printf("FAIL: cannot create LAN %s: %s\n", name, jet_err_str(&err, rc));
        exit(1);
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    bool ok = fd >= 0 && pread(fd, &ref, sizeof ref, 0) == (ssize_t)sizeof ref &&
              pread(fd, &pref, sizeof pref, (off_t)ref.pool_off) == (ssize_t)sizeof pref;
    if (fd >= 0)
        close(fd);
    jet_lan_destroy(name, true, &err);
    if (!ok) {
        printf("FAIL: cannot read %s\n", path);
        exit(1);
    }
    if (pref.magic != H_POOL_MAGIC || pref.nbufs != cfg.buffers ||
        pref.owner_off != H_POOL_COUNTERS_OFF * 2 || pref.len_off <= pref.owner_off ||
        pref.data_off <= pref.len_off || pref.buf_size < cfg.mtu) {
        printf("FAIL: the pool header is not laid out as struct h_pool_hdr in tests/unit/hostile.h "
               "says: update the mirror (struct jet_pool_region in src/core/pool.c)\n");
        exit(1);
    }
    printf("reference LAN: segment %" PRIu64 " bytes, header %u, stations at %" PRIu64
           ", rings at %" PRIu64 " (%" PRIu64 " each), returns at %" PRIu64 " (%" PRIu64
           " each), pool at %" PRIu64 " (%" PRIu64 " bytes: %u buffers of %u, owners at +%" PRIu64
           ", lengths at +%" PRIu64 ", data at +%" PRIu64 ")\n",
           ref.seg_size, ref.hdr_size, ref.stations_off, ref.rings_off, ref.ring_bytes, ref.ret_off,
           ref.ret_bytes, ref.pool_off, ref.pool_bytes, pref.nbufs, pref.buf_size, pref.owner_off,
           pref.len_off, pref.data_off);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    h_init("hh");
    cmd_bound = (h_sanitized ? 10 : 5) * 1000000000ull;
    xfer_bound = (h_sanitized ? 20 : 10) * 1000000000ull;
    ready_bound = (h_sanitized ? 8 : 3) * 1000000000ull;
    jet_lan_config_default(&cfg);
    cfg.stations = 4;
    cfg.ring = 16;
    cfg.mtu = 2000;
    cfg.buffers = 256;
    read_reference();
    build_cases();

    uint64_t seed = 0x5eed;
    for (size_t i = 0; i < sizeof cat_in; i++)
        cat_in[i] = (uint8_t)h_rand(&seed);
    snprintf(cat_in_path, sizeof cat_in_path, "%s/cat.in", h_tmp);
    FILE *f = fopen(cat_in_path, "wb");
    if (!f || fwrite(cat_in, 1, sizeof cat_in, f) != sizeof cat_in || fclose(f)) {
        printf("FAIL: cannot write %s\n", cat_in_path);
        return 1;
    }

    const char *only = getenv("JET_HOSTILE_ONLY");
    int run_n = 0, nx = 0;
    uint64_t t0 = h_now_ns();
    for (int i = 0; i < ncases; i++) {
        if (only && *only && !strstr(cases[i].field, only))
            continue;
        run_case(i, &cases[i]);
        run_n++;
        nx += cases[i].xfer;
    }
    double secs = (double)(h_now_ns() - t0) / 1e9;
    printf("\n%d cases (%d with transfers), %d commands and transfers checked, in %.1f s\n", run_n,
           nx, nchecks, secs);
    if (nfails) {
        printf("%d failures:\n", nfails);
        for (int i = 0; i < nfails; i++)
            printf("  %s\n", fails[i]);
        printf("FAIL test_lan_hostile\n");
        return 1;
    }
    printf("PASS test_lan_hostile\n");
    return 0;
}
