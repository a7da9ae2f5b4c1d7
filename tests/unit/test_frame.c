/* Unit tests for the frame format (src/wire/frame.c, src/wire/eth.c) and the wire
 * cursor (src/wire/cursor.h). Table-driven: each table row is one frame shape, and
 * every malformation is applied to every row. The byte-exact tests pin the wire
 * layout against bytes written out by hand (header checks computed independently). */
#include <errno.h>
#include <stdint.h>

#include "check.h"
#include "jet/crc32c.h"
#include "jet/frame.h"
#include "wire/cursor.h"

/* Big enough for the largest frame plus trailing bytes and an Ethernet header. */
enum { BUF_CAP = JET_FRAME_MAX_PAYLOAD + JET_FRAME_OVERHEAD + 64 };

struct row {
    uint32_t plen;
    uint8_t flags; /* JET_FF_CRC or 0 */
    uint8_t prio;
    uint16_t src, dst;
    uint32_t dchan, schan;
};

static const struct row rows[] = {
    {0, 0, 0, 1, 2, 0, 0},
    {0, JET_FF_CRC, 7, 1, 2, 5, 6},
    {1, 0, 3, 0xFFFE, JET_STATION_BROADCAST, 1, 0xFFFFFFFF},
    {1, JET_FF_CRC, 4, 0, 0, 0x80000000, 1},
    {24, 0, 1, 10, 20, 30, 40},
    {24, JET_FF_CRC, 2, 10, 20, 30, 40},
    {1500, 0, 5, 0x1234, 0x5678, 0x9abcdef0, 0x0fedcba9},
    {1500, JET_FF_CRC, 6, 0x1234, 0x5678, 0x9abcdef0, 0x0fedcba9},
    {65536, 0, 0, 7, 8, 9, 10},
    {65536, JET_FF_CRC, 7, 7, 8, 9, 10},
};
enum { NROWS = sizeof rows / sizeof rows[0] };

static uint8_t *frame_buf, *aux_buf, *payload_buf;

static void fill_payload(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

static struct jet_frame_hdr row_hdr(const struct row *r)
{
    struct jet_frame_hdr h = {0};
    h.flags = r->flags;
    h.prio = r->prio;
    h.src_station = r->src;
    h.dst_station = r->dst;
    h.dst_chan = r->dchan;
    h.src_chan = r->schan;
    h.payload_len = r->plen;
    return h;
}

/* Build row r into frame_buf; returns the frame length. */
static size_t build_row(const struct row *r)
{
    struct jet_frame_hdr h = row_hdr(r);
    fill_payload(payload_buf, r->plen, r->plen * 31u + r->flags);
    long n = jet_frame_build(frame_buf, BUF_CAP, &h, payload_buf, r->plen);
    REQUIRE(n == (long)(JET_FRAME_HDR_LEN + r->plen + (r->flags & JET_FF_CRC ? 4 : 0)));
    return (size_t)n;
}

/* Recompute the header check after a test edits header bytes on purpose. */
static void refix_hcheck(uint8_t *p)
{
    uint32_t c = jet_crc32c(0, p, 20);
    p[20] = (uint8_t)(c >> 24);
    p[21] = (uint8_t)(c >> 16);
    p[22] = (uint8_t)(c >> 8);
    p[23] = (uint8_t)c;
}

static void check_fields(const struct jet_frame_hdr *h, const struct row *r)
{
    CHECK_EQ(h->version, 1);
    CHECK_EQ(h->flags, r->flags | (r->prio << JET_FF_PRIO_SHIFT));
    CHECK_EQ(h->prio, r->prio);
    CHECK_EQ(h->src_station, r->src);
    CHECK_EQ(h->dst_station, r->dst);
    CHECK_EQ(h->dst_chan, r->dchan);
    CHECK_EQ(h->src_chan, r->schan);
    CHECK_EQ(h->payload_len, r->plen);
}

/* ---- byte-exact layout ---------------------------------------------------------- */

static void test_pinned_layout(void)
{
    /* flags 0x15 = CRC | prio 5; header check and payload CRC computed independently. */
    static const uint8_t expect[] = {
        0x01, 0x15, 0x01, 0x02, 0xFF, 0xFF, 0x00, 0x00,      /* version flags src dst reserved */
        0x0A, 0x0B, 0x0C, 0x0D, 0x00, 0x00, 0x00, 0x07,      /* dst chan, src chan */
        0x00, 0x00, 0x00, 0x09, 0x9A, 0x59, 0x57, 0x21,      /* payload len, header check */
        '1',  '2',  '3',  '4',  '5',  '6',  '7',  '8',  '9', /* payload */
        0xE3, 0x06, 0x92, 0x83,                              /* CRC32C("123456789") */
    };
    struct jet_frame_hdr h = {0};
    h.flags = JET_FF_CRC;
    h.prio = 5;
    h.src_station = 0x0102;
    h.dst_station = JET_STATION_BROADCAST;
    h.dst_chan = 0x0A0B0C0D;
    h.src_chan = 7;
    h.payload_len = 9;

    uint8_t buf[64];
    memset(buf, 0xAA, sizeof buf);
    CHECK_EQ(jet_frame_emit_hdr(buf, sizeof buf, &h), 24);
    CHECK(memcmp(buf, expect, 24) == 0);
    CHECK_EQ(buf[24], 0xAA); /* header only */

    memset(buf, 0xAA, sizeof buf);
    CHECK_EQ(jet_frame_build(buf, sizeof buf, &h, "123456789", 9), (long)sizeof expect);
    CHECK(memcmp(buf, expect, sizeof expect) == 0);
    CHECK_EQ(buf[sizeof expect], 0xAA);

    memset(buf, 0xAA, sizeof buf);
    memcpy(buf + 24, "123456789", 9);
    CHECK_EQ(jet_frame_seal(buf, sizeof expect, &h), (long)sizeof expect);
    CHECK(memcmp(buf, expect, sizeof expect) == 0);

    struct jet_frame_hdr p;
    CHECK_EQ(jet_frame_parse(expect, sizeof expect, &p, 0), 0);
    CHECK_EQ(p.flags, 0x15);
    CHECK_EQ(p.prio, 5);
    CHECK_EQ(p.src_station, 0x0102);
    CHECK_EQ(p.dst_station, 0xFFFF);
    CHECK_EQ(p.dst_chan, 0x0A0B0C0D);
    CHECK_EQ(p.src_chan, 7);
    CHECK_EQ(p.payload_len, 9);
    CHECK_EQ(p.frame_len, sizeof expect);
    CHECK_EQ(p.crc_bad, 0);

    /* Marking sets bit 1 and rewrites only the check: 0x17, check 0xEDC3B81E. */
    jet_frame_mark_crc_bad(buf);
    static const uint8_t marked_diff[] = {0x17, 0xED, 0xC3, 0xB8, 0x1E};
    CHECK_EQ(buf[1], marked_diff[0]);
    CHECK(memcmp(buf + 20, marked_diff + 1, 4) == 0);
    CHECK(memcmp(buf + 2, expect + 2, 18) == 0);
    CHECK(memcmp(buf + 24, expect + 24, sizeof expect - 24) == 0);
}

/* ---- good frames ---------------------------------------------------------------- */

static void test_roundtrip(void)
{
    for (unsigned i = 0; i < NROWS; i++) {
        const struct row *r = &rows[i];
        size_t flen = build_row(r);
        struct jet_frame_hdr h;
        memset(&h, 0x5A, sizeof h);
        CHECK_EQ(jet_frame_parse(frame_buf, flen, &h, 0), 0);
        check_fields(&h, r);
        CHECK_EQ(h.frame_len, flen);
        CHECK_EQ(h.crc_bad, 0);
        CHECK(memcmp(frame_buf + 24, payload_buf, r->plen) == 0);

        /* Trailing bytes (link padding) are ignored. */
        memset(frame_buf + flen, 0xEE, 40);
        CHECK_EQ(jet_frame_parse(frame_buf, flen + 40, &h, 0), 0);
        CHECK_EQ(h.frame_len, flen);
        CHECK_EQ(h.crc_bad, 0);

        /* seal over the payload in place gives the same bytes as build. */
        memset(aux_buf, 0, flen);
        memcpy(aux_buf + 24, payload_buf, r->plen);
        struct jet_frame_hdr s = row_hdr(r);
        s.payload_len = r->plen;
        CHECK_EQ(jet_frame_seal(aux_buf, flen, &s), (long)flen);
        CHECK(memcmp(aux_buf, frame_buf, flen) == 0);

        /* Deferred payload check + fused copy. */
        CHECK_EQ(jet_frame_parse(frame_buf, flen, &h, JET_PARSE_NO_PAYLOAD_CRC), 0);
        CHECK_EQ(jet_frame_copy_payload(aux_buf, r->plen, frame_buf, &h), (long)r->plen);
        CHECK_EQ(h.crc_bad, 0);
        CHECK(memcmp(aux_buf, payload_buf, r->plen) == 0);
    }
}

static void test_prio(void)
{
    uint8_t buf[64];
    for (unsigned p = 0; p <= 7; p++) {
        for (unsigned crc = 0; crc <= 1; crc++) {
            struct jet_frame_hdr h = {0}, o;
            h.flags = crc ? JET_FF_CRC : 0;
            h.flags |= (uint8_t)((7 - p) << JET_FF_PRIO_SHIFT); /* ignored: h.prio wins */
            h.prio = (uint8_t)p;
            long n = jet_frame_build(buf, sizeof buf, &h, "x", 1);
            REQUIRE(n > 0);
            CHECK_EQ(buf[1], (p << 2) | crc);
            CHECK_EQ(jet_frame_parse(buf, (size_t)n, &o, 0), 0);
            CHECK_EQ(o.prio, p);
            CHECK_EQ(o.flags & JET_FF_CRC, crc);
        }
    }
    struct jet_frame_hdr h = {0};
    h.prio = 8;
    CHECK_EQ(jet_frame_emit_hdr(buf, sizeof buf, &h), -EINVAL);
}

/* ---- malformed frames ----------------------------------------------------------- */

static void test_truncation(void)
{
    for (unsigned i = 0; i < NROWS; i++) {
        size_t flen = build_row(&rows[i]);
        size_t bad = 0, first = 0;
        for (size_t len = 0; len < flen; len++) {
            struct jet_frame_hdr h;
            int rc = jet_frame_parse(frame_buf, len, &h, 0);
            int rc2 = jet_frame_parse(frame_buf, len, &h, JET_PARSE_NO_PAYLOAD_CRC);
            if (rc != -EMSGSIZE || rc2 != -EMSGSIZE) {
                if (!bad++)
                    first = len;
            }
        }
        if (bad)
            fprintf(stderr, "row %u: %zu truncations accepted, first len %zu\n", i, bad, first);
        CHECK_EQ(bad, 0);
    }
    struct jet_frame_hdr h;
    CHECK_EQ(jet_frame_parse(NULL, 0, &h, 0), -EMSGSIZE);
}

static void test_header_bitflips(void)
{
    for (unsigned i = 0; i < NROWS; i++) {
        size_t flen = build_row(&rows[i]);
        unsigned bad = 0;
        for (unsigned bit = 0; bit < 24 * 8; bit++) {
            struct jet_frame_hdr h;
            frame_buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            int rc = jet_frame_parse(frame_buf, flen, &h, 0);
            frame_buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            if (rc != -EBADMSG) {
                fprintf(stderr, "row %u bit %u: rc %d\n", i, bit, rc);
                bad++;
            }
        }
        CHECK_EQ(bad, 0);
        struct jet_frame_hdr h;
        CHECK_EQ(jet_frame_parse(frame_buf, flen, &h, 0), 0); /* restored */
    }
}

static void test_reserved(void)
{
    for (unsigned i = 0; i < NROWS; i++) {
        size_t flen = build_row(&rows[i]);
        struct jet_frame_hdr h;
        /* 3 reserved flag bits, then the 16 bits of bytes 6-7 */
        for (unsigned k = 0; k < 3 + 16; k++) {
            unsigned byte = k < 3 ? 1 : 6 + (k - 3) / 8;
            uint8_t mask = (uint8_t)(k < 3 ? 0x20u << k : 1u << ((k - 3) % 8));
            frame_buf[byte] ^= mask;
            refix_hcheck(frame_buf);
            CHECK_EQ(jet_frame_parse(frame_buf, flen, &h, 0), -EINVAL);
            frame_buf[byte] ^= mask;
            refix_hcheck(frame_buf);
        }
        CHECK_EQ(jet_frame_parse(frame_buf, flen, &h, 0), 0);
    }
}

static void test_version(void)
{
    static const uint8_t versions[] = {0, 2, 3, 0x81, 0xFF};
    for (unsigned i = 0; i < NROWS; i++) {
        size_t flen = build_row(&rows[i]);
        for (unsigned v = 0; v < sizeof versions; v++) {
            struct jet_frame_hdr h;
            frame_buf[0] = versions[v];
            refix_hcheck(frame_buf);
            CHECK_EQ(jet_frame_parse(frame_buf, flen, &h, 0), -EPROTONOSUPPORT);
        }
        frame_buf[0] = 1;
        refix_hcheck(frame_buf);
    }
}

static void test_oversize(void)
{
    static const uint32_t lens[] = {65537, 65540, 0x7FFFFFFF, 0xFFFFFFFF};
    struct jet_frame_hdr h = {0};
    for (unsigned crc = 0; crc <= 1; crc++) {
        h.flags = crc ? JET_FF_CRC : 0;
        h.payload_len = 0;
        REQUIRE(jet_frame_emit_hdr(frame_buf, BUF_CAP, &h) == 24);
        for (unsigned k = 0; k < sizeof lens / sizeof lens[0]; k++) {
            frame_buf[16] = (uint8_t)(lens[k] >> 24);
            frame_buf[17] = (uint8_t)(lens[k] >> 16);
            frame_buf[18] = (uint8_t)(lens[k] >> 8);
            frame_buf[19] = (uint8_t)lens[k];
            refix_hcheck(frame_buf);
            /* The buffer holds 65537+ bytes, so this is the size rule, not truncation. */
            CHECK_EQ(jet_frame_parse(frame_buf, BUF_CAP, &h, 0), -EMSGSIZE);
        }
    }
}

static void test_payload_damage(void)
{
    for (unsigned i = 0; i < NROWS; i++) {
        const struct row *r = &rows[i];
        size_t flen = build_row(r);
        int has_crc = (r->flags & JET_FF_CRC) != 0;
        size_t nbits = (flen - 24) * 8; /* payload and trailer */
        /* every bit for small frames; a stride for the 64 KiB one (each parse CRCs it all) */
        size_t step = nbits > 16000 ? 4099 : 1;
        unsigned bad = 0;
        for (size_t bit = 0; bit < nbits; bit += step) {
            uint8_t *b = frame_buf + 24 + bit / 8, m = (uint8_t)(1u << (bit % 8));
            struct jet_frame_hdr h;
            *b ^= m;
            int rc = jet_frame_parse(frame_buf, flen, &h, 0);
            if (rc != 0 || h.crc_bad != has_crc)
                bad++;
            /* deferred check: parse says clean, the fused copy finds the damage */
            rc = jet_frame_parse(frame_buf, flen, &h, JET_PARSE_NO_PAYLOAD_CRC);
            if (rc != 0 || h.crc_bad != 0)
                bad++;
            else if (jet_frame_copy_payload(aux_buf, BUF_CAP, frame_buf, &h) != (long)r->plen ||
                     h.crc_bad != has_crc)
                bad++;
            *b ^= m;
        }
        if (bad)
            fprintf(stderr, "row %u: %u payload flips misjudged\n", i, bad);
        CHECK_EQ(bad, 0);
        /* the last payload bit always gets tested too */
        if (r->plen) {
            struct jet_frame_hdr h;
            frame_buf[24 + r->plen - 1] ^= 0x80;
            CHECK_EQ(jet_frame_parse(frame_buf, flen, &h, 0), 0);
            CHECK_EQ(h.crc_bad, has_crc);
            frame_buf[24 + r->plen - 1] ^= 0x80;
        }
    }
}

static void test_crc_bad_arrives(void)
{
    for (unsigned i = 0; i < NROWS; i++) {
        const struct row *r = &rows[i];
        struct jet_frame_hdr h = row_hdr(r), o;
        h.flags |= JET_FF_CRC_BAD; /* a forwarder's frame: payload CRC still matches */
        fill_payload(payload_buf, r->plen, i);
        long n = jet_frame_build(frame_buf, BUF_CAP, &h, payload_buf, r->plen);
        REQUIRE(n > 0);
        CHECK_EQ(jet_frame_parse(frame_buf, (size_t)n, &o, 0), 0);
        CHECK_EQ(o.crc_bad, 1);
        CHECK(o.flags & JET_FF_CRC_BAD);
        CHECK_EQ(jet_frame_parse(frame_buf, (size_t)n, &o, JET_PARSE_NO_PAYLOAD_CRC), 0);
        CHECK_EQ(o.crc_bad, 1);
    }
}

static void test_mark_crc_bad(void)
{
    for (unsigned i = 0; i < NROWS; i++) {
        const struct row *r = &rows[i];
        size_t flen = build_row(r);
        memcpy(aux_buf, frame_buf, flen);
        jet_frame_mark_crc_bad(frame_buf);
        struct jet_frame_hdr h;
        CHECK_EQ(jet_frame_parse(frame_buf, flen, &h, 0), 0);
        CHECK_EQ(h.crc_bad, 1);
        CHECK_EQ(h.flags, r->flags | JET_FF_CRC_BAD | (r->prio << JET_FF_PRIO_SHIFT));
        CHECK_EQ(h.prio, r->prio);
        CHECK_EQ(h.frame_len, flen);
        CHECK(memcmp(frame_buf + 2, aux_buf + 2, 18) == 0);
        CHECK(memcmp(frame_buf + 24, aux_buf + 24, flen - 24) == 0);
        jet_frame_mark_crc_bad(frame_buf); /* idempotent */
        CHECK_EQ(jet_frame_parse(frame_buf, flen, &h, 0), 0);
        CHECK_EQ(h.crc_bad, 1);
    }
}

/* ---- emitter errors ------------------------------------------------------------- */

static void test_emit_errors(void)
{
    uint8_t buf[64];
    struct jet_frame_hdr h = {0};
    h.flags = JET_FF_CRC;
    h.payload_len = 4;

    memset(buf, 0xAA, sizeof buf);
    CHECK_EQ(jet_frame_emit_hdr(buf, 23, &h), -ENOSPC);
    CHECK_EQ(jet_frame_build(buf, 31, &h, "abcd", 4), -ENOSPC); /* needs 24+4+4 */
    CHECK_EQ(jet_frame_seal(buf, 31, &h), -ENOSPC);
    for (unsigned k = 0; k < sizeof buf; k++)
        CHECK_EQ(buf[k], 0xAA); /* nothing written on error */
    CHECK_EQ(jet_frame_build(buf, 32, &h, "abcd", 4), 32);
    CHECK_EQ(jet_frame_build(NULL, 0, &h, "abcd", 4), -ENOSPC);

    static const uint8_t bad_flags[] = {0x20, 0x40, 0x80, 0xE0};
    for (unsigned k = 0; k < sizeof bad_flags; k++) {
        struct jet_frame_hdr b = h;
        b.flags = bad_flags[k];
        CHECK_EQ(jet_frame_emit_hdr(buf, sizeof buf, &b), -EINVAL);
        CHECK_EQ(jet_frame_build(buf, sizeof buf, &b, "abcd", 4), -EINVAL);
        CHECK_EQ(jet_frame_seal(buf, sizeof buf, &b), -EINVAL);
    }
    struct jet_frame_hdr b = h;
    b.payload_len = JET_FRAME_MAX_PAYLOAD + 1;
    CHECK_EQ(jet_frame_emit_hdr(buf, sizeof buf, &b), -EINVAL);
    CHECK_EQ(jet_frame_seal(frame_buf, BUF_CAP, &b), -EINVAL);
    CHECK_EQ(jet_frame_build(frame_buf, BUF_CAP, &h, payload_buf, JET_FRAME_MAX_PAYLOAD + 1),
             -EINVAL);
    CHECK_EQ(jet_frame_build(buf, sizeof buf, &h, NULL, 4), -EINVAL);

    /* Empty payload from a NULL pointer is fine. */
    h.flags = 0;
    CHECK_EQ(jet_frame_build(buf, sizeof buf, &h, NULL, 0), 24);
    h.flags = JET_FF_CRC;
    CHECK_EQ(jet_frame_build(buf, sizeof buf, &h, NULL, 0), 28);
    CHECK_EQ(buf[24] | buf[25] | buf[26] | buf[27], 0); /* CRC32C of nothing is 0 */

    /* copy_payload needs room for the whole payload. */
    h.payload_len = 4;
    long n = jet_frame_build(buf, sizeof buf, &h, "abcd", 4);
    struct jet_frame_hdr p;
    REQUIRE(n == 32 && jet_frame_parse(buf, 32, &p, JET_PARSE_NO_PAYLOAD_CRC) == 0);
    uint8_t out[4] = {0};
    CHECK_EQ(jet_frame_copy_payload(out, 3, buf, &p), -ENOSPC);
    CHECK_EQ(out[0], 0);
    CHECK_EQ(jet_frame_copy_payload(out, 4, buf, &p), 4);
    CHECK(memcmp(out, "abcd", 4) == 0);
}

static void test_strerror(void)
{
    static const int errs[] = {EMSGSIZE, EBADMSG, EPROTONOSUPPORT, EINVAL, EPROTOTYPE, ENOSPC};
    for (unsigned i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        const char *s = jet_frame_strerror(-errs[i]);
        CHECK(s && *s);
        CHECK(s == jet_frame_strerror(errs[i]));
        for (unsigned j = 0; j < i; j++)
            CHECK(strcmp(s, jet_frame_strerror(-errs[j])) != 0);
    }
    CHECK(jet_frame_strerror(-12345) != NULL);
    CHECK(strcmp(jet_frame_strerror(0), "ok") == 0);
}

/* ---- Ethernet ------------------------------------------------------------------- */

static const uint8_t mac_a[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
static const uint8_t mac_b[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

static void test_eth_pinned(void)
{
    static const uint8_t expect[] = {
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, /* dst */
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, /* src */
        0x81, 0x00, 0xA0, 0x64,             /* 802.1Q, PCP 5, VID 100 */
        0x88, 0xB5,                         /* JET_ETHERTYPE */
    };
    struct jet_eth_hdr e = {0}, p;
    memcpy(e.dst, mac_b, 6);
    memcpy(e.src, mac_a, 6);
    e.ethertype = JET_ETHERTYPE;
    e.vlan = 0xA064;
    uint8_t buf[32];
    CHECK_EQ(jet_eth_emit(buf, sizeof buf, &e), 18);
    CHECK(memcmp(buf, expect, sizeof expect) == 0);
    CHECK_EQ(jet_eth_parse(expect, sizeof expect, &p), 0);
    CHECK_EQ(p.vlan, 0xA064);
    CHECK_EQ(p.ethertype, 0x88B5);
    CHECK_EQ(p.hdr_len, 18);
    CHECK(memcmp(p.dst, mac_b, 6) == 0 && memcmp(p.src, mac_a, 6) == 0);

    e.vlan = JET_ETH_UNTAGGED;
    CHECK_EQ(jet_eth_emit(buf, sizeof buf, &e), 14);
    CHECK(memcmp(buf, expect, 12) == 0 && buf[12] == 0x88 && buf[13] == 0xB5);
    CHECK_EQ(jet_eth_emit(buf, 13, &e), -ENOSPC);
    e.vlan = 1;
    CHECK_EQ(jet_eth_emit(buf, 17, &e), -ENOSPC);
    e.vlan = 0x0FFF; /* reserved VID */
    CHECK_EQ(jet_eth_emit(buf, sizeof buf, &e), -EINVAL);

    /* Short of 14 bytes, or a tag announced (0x8100) but cut off before 18. */
    for (size_t len = 0; len < sizeof expect; len++)
        CHECK_EQ(jet_eth_parse(expect, len, &p), -EMSGSIZE);
}

struct eth_row {
    const char *name;
    uint16_t vlan;      /* JET_ETH_UNTAGGED or a TCI */
    uint16_t ethertype; /* written after the tag */
    uint16_t inner;     /* 0, or a second tag's TPID written before ethertype */
    size_t pad;         /* bytes appended after the frame */
    int expect;
};

static const struct eth_row eth_rows[] = {
    {"untagged", JET_ETH_UNTAGGED, JET_ETHERTYPE, 0, 0, 0},
    {"untagged padded", JET_ETH_UNTAGGED, JET_ETHERTYPE, 0, 22, 0},
    {"vlan 1", 0x0001, JET_ETHERTYPE, 0, 0, 0},
    {"vlan pcp7 dei vid 4094", 0xFFFE, JET_ETHERTYPE, 0, 18, 0},
    {"vlan 0 (priority tag)", 0x0000, JET_ETHERTYPE, 0, 0, 0},
    {"ipv4 ethertype", JET_ETH_UNTAGGED, 0x0800, 0, 0, -EPROTOTYPE},
    {"vlan, ipv4 ethertype", 0x0064, 0x0800, 0, 0, -EPROTOTYPE},
    {"802.3 length field", JET_ETH_UNTAGGED, 0x0040, 0, 0, -EPROTOTYPE},
    {"double tag", 0x0064, 0x8100, 1, 0, -EPROTOTYPE},
};

static void test_eth_frames(void)
{
    for (unsigned i = 0; i < sizeof eth_rows / sizeof eth_rows[0]; i++) {
        const struct eth_row *t = &eth_rows[i];
        for (unsigned fr = 0; fr < NROWS; fr += 3) {
            const struct row *r = &rows[fr];
            struct jet_eth_hdr e = {0}, pe;
            memcpy(e.dst, mac_b, 6);
            memcpy(e.src, mac_a, 6);
            e.vlan = t->vlan;
            e.ethertype = t->ethertype;
            int hl = jet_eth_emit(aux_buf, BUF_CAP, &e);
            REQUIRE(hl == (t->vlan == JET_ETH_UNTAGGED ? 14 : 18));
            size_t off = (size_t)hl;
            if (t->inner) { /* a second tag: 0x8100 TCI, then JET_ETHERTYPE */
                static const uint8_t tag2[] = {0x00, 0x05, 0x88, 0xB5};
                memcpy(aux_buf + off, tag2, 4);
                off += 4;
            }
            struct jet_frame_hdr h = row_hdr(r), ph;
            fill_payload(payload_buf, r->plen, fr);
            long n = jet_frame_build(aux_buf + off, BUF_CAP - off, &h, payload_buf, r->plen);
            REQUIRE(n > 0);
            size_t total = off + (size_t)n;
            memset(aux_buf + total, 0, t->pad);
            int rc = jet_frame_parse_eth(aux_buf, total + t->pad, &pe, &ph, 0);
            if (rc != t->expect)
                fprintf(stderr, "eth row '%s' frame row %u: rc %d\n", t->name, fr, rc);
            CHECK_EQ(rc, t->expect);
            if (rc == 0) {
                CHECK_EQ(pe.hdr_len, hl);
                CHECK_EQ(pe.vlan, t->vlan);
                CHECK_EQ(pe.ethertype, JET_ETHERTYPE);
                CHECK(memcmp(pe.dst, mac_b, 6) == 0 && memcmp(pe.src, mac_a, 6) == 0);
                check_fields(&ph, r);
                CHECK_EQ(ph.frame_len, (size_t)n);
                CHECK_EQ(ph.crc_bad, 0);
                /* Frame truncation inside the Ethernet frame (sampled lengths). */
                for (size_t len = 0; len < total; len += 1 + len / 7) {
                    int trc = jet_frame_parse_eth(aux_buf, len, &pe, &ph, 0);
                    CHECK_EQ(trc, -EMSGSIZE);
                }
                CHECK_EQ(jet_frame_parse_eth(aux_buf, total - 1, &pe, &ph, 0), -EMSGSIZE);
            }
        }
    }

    /* Reserved VID 0xFFF in a received tag. */
    static const uint8_t vid_fff[] = {2, 0, 0, 0,    0,    2,    2,    0,    0,
                                      0, 0, 1, 0x81, 0x00, 0x0F, 0xFF, 0x88, 0xB5};
    struct jet_eth_hdr pe;
    struct jet_frame_hdr ph;
    CHECK_EQ(jet_eth_parse(vid_fff, sizeof vid_fff, &pe), -EINVAL);
    CHECK_EQ(jet_frame_parse_eth(vid_fff, sizeof vid_fff, &pe, &ph, 0), -EINVAL);
    /* A damaged frame header behind a good Ethernet header. */
    struct jet_eth_hdr e = {0};
    e.vlan = JET_ETH_UNTAGGED;
    e.ethertype = JET_ETHERTYPE;
    REQUIRE(jet_eth_emit(aux_buf, BUF_CAP, &e) == 14);
    struct jet_frame_hdr h = {0};
    REQUIRE(jet_frame_build(aux_buf + 14, BUF_CAP - 14, &h, NULL, 0) == 24);
    memset(aux_buf + 38, 0, 22); /* pad to the 60-byte Ethernet minimum */
    CHECK_EQ(jet_frame_parse_eth(aux_buf, 60, &pe, &ph, 0), 0);
    aux_buf[14 + 9] ^= 0x10;
    CHECK_EQ(jet_frame_parse_eth(aux_buf, 60, &pe, &ph, 0), -EBADMSG);
}

/* ---- cursor --------------------------------------------------------------------- */

static void test_cursor(void)
{
    static const uint8_t in[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F};
    struct jet_rcur c;
    uint8_t v8;
    uint16_t v16;
    uint32_t v32;
    uint64_t v64;

    jet_rcur_init(&c, in, sizeof in);
    CHECK_EQ(jet_rcur_u8(&c, &v8), 0);
    CHECK_EQ(v8, 0x01);
    CHECK_EQ(jet_rcur_u16(&c, &v16), 0);
    CHECK_EQ(v16, 0x0203);
    CHECK_EQ(jet_rcur_u32(&c, &v32), 0);
    CHECK_EQ(v32, 0x04050607);
    CHECK_EQ(jet_rcur_left(&c), 8);
    CHECK_EQ(jet_rcur_u64(&c, &v64), 0);
    CHECK(v64 == 0x08090A0B0C0D0E0Full);
    CHECK_EQ(jet_rcur_left(&c), 0);
    CHECK_EQ(jet_rcur_u8(&c, &v8), -EMSGSIZE);
    CHECK_EQ(v8, 0);
    CHECK_EQ(c.err, -EMSGSIZE);

    /* Each width fails without reading when one byte short; errors stick. */
    static const size_t widths[] = {1, 2, 4, 8, 5};
    for (unsigned k = 0; k < sizeof widths / sizeof widths[0]; k++) {
        size_t w = widths[k];
        jet_rcur_init(&c, in, w - 1);
        int rc;
        uint8_t bytes[8];
        memset(bytes, 0xFF, sizeof bytes);
        switch (w) {
        case 1:
            rc = jet_rcur_u8(&c, &v8);
            CHECK_EQ(v8, 0);
            break;
        case 2:
            rc = jet_rcur_u16(&c, &v16);
            CHECK_EQ(v16, 0);
            break;
        case 4:
            rc = jet_rcur_u32(&c, &v32);
            CHECK_EQ(v32, 0);
            break;
        case 8:
            rc = jet_rcur_u64(&c, &v64);
            CHECK(v64 == 0);
            break;
        default:
            rc = jet_rcur_bytes(&c, bytes, w);
            CHECK_EQ(bytes[0] | bytes[4], 0);
            break;
        }
        CHECK_EQ(rc, -EMSGSIZE);
        CHECK_EQ(jet_rcur_skip(&c, 0), -EMSGSIZE); /* sticky */
        CHECK_EQ(jet_rcur_left(&c), 0);
    }

    const uint8_t *at;
    jet_rcur_init(&c, in, sizeof in);
    CHECK_EQ(jet_rcur_skip(&c, 14), 0);
    CHECK_EQ(jet_rcur_ptr(&c, 1, &at), 0);
    CHECK(at == in + 14);
    CHECK_EQ(jet_rcur_ptr(&c, 1, &at), -EMSGSIZE);
    CHECK(at == NULL);
    jet_rcur_init(&c, NULL, 0);
    CHECK_EQ(jet_rcur_skip(&c, 0), 0);
    CHECK_EQ(jet_rcur_skip(&c, SIZE_MAX), -EMSGSIZE);

    uint8_t out[16];
    struct jet_wcur w;
    memset(out, 0xAA, sizeof out);
    jet_wcur_init(&w, out, 15);
    CHECK_EQ(jet_wcur_u8(&w, 0x01), 0);
    CHECK_EQ(jet_wcur_u16(&w, 0x0203), 0);
    CHECK_EQ(jet_wcur_u32(&w, 0x04050607), 0);
    CHECK_EQ(jet_wcur_u64(&w, 0x08090A0B0C0D0E0Full), 0);
    CHECK(memcmp(out, in, 15) == 0);
    CHECK_EQ(jet_wcur_left(&w), 0);
    CHECK_EQ(jet_wcur_u8(&w, 0x55), -ENOSPC);
    CHECK_EQ(out[15], 0xAA); /* nothing written past the end */
    CHECK_EQ(w.err, -ENOSPC);

    jet_wcur_init(&w, out, 6);
    CHECK_EQ(jet_wcur_zero(&w, 2), 0);
    CHECK_EQ(jet_wcur_u32(&w, 0xDEADBEEF), 0);
    CHECK_EQ(out[0] | out[1], 0);
    CHECK_EQ(jet_load_be32(out + 2), 0xDEADBEEF);
    memset(out, 0xAA, sizeof out);
    jet_wcur_init(&w, out, 3);
    CHECK_EQ(jet_wcur_u32(&w, 0x11111111), -ENOSPC);
    CHECK_EQ(out[0], 0xAA);                /* untouched */
    CHECK_EQ(jet_wcur_u8(&w, 1), -ENOSPC); /* sticky even though 1 byte would fit */
    jet_wcur_init(&w, out, 4);
    CHECK_EQ(jet_wcur_bytes(&w, "abcde", 5), -ENOSPC);
    CHECK_EQ(jet_wcur_skip(&w, 0), -ENOSPC);
}

int main(void)
{
    frame_buf = calloc(1, BUF_CAP);
    aux_buf = calloc(1, BUF_CAP);
    payload_buf = calloc(1, BUF_CAP);
    REQUIRE(frame_buf && aux_buf && payload_buf);

    test_pinned_layout();
    test_roundtrip();
    test_prio();
    test_truncation();
    test_header_bitflips();
    test_reserved();
    test_version();
    test_oversize();
    test_payload_damage();
    test_crc_bad_arrives();
    test_mark_crc_bad();
    test_emit_errors();
    test_strerror();
    test_eth_pinned();
    test_eth_frames();
    test_cursor();

    free(frame_buf);
    free(aux_buf);
    free(payload_buf);
    return check_done("test_frame");
}
