/* Unit tests for the RBS header (src/rbs/rbs_wire.c): a byte-exact vector, emit/parse
 * round trips over a table of headers, every truncation of each, a table of bad
 * option encodings and bad fixed-header fields with the errno each must give, and
 * emit's refusals. */
#include <errno.h>

#include "check.h"
#include "rbs/rbs_wire.h"

static struct rbs_hdr mk(uint8_t flags, uint32_t seq, uint32_t ack)
{
    struct rbs_hdr h;
    memset(&h, 0, sizeof h);
    h.flags = flags;
    h.seq = seq;
    h.ack = ack;
    h.wnd = (uint16_t)(seq ^ ack);
    h.tsval = seq * 3u;
    h.tsecr = ack * 5u;
    return h;
}

static struct rbs_hdr syn(uint8_t flags)
{
    struct rbs_hdr h = mk(flags, 0xFFFFFFFFu, flags & RBS_ACK ? 77 : 0);
    h.opts = RBS_HAS_MSS | RBS_HAS_WSCALE | RBS_HAS_CHAN;
    h.mss = 8960;
    h.wscale = 7;
    h.chan = 0x01020304;
    return h;
}

static struct rbs_hdr sacked(int n)
{
    struct rbs_hdr h = mk(RBS_ACK, 100, 0xFFFFFF00u);
    h.nsack = (uint8_t)n;
    for (int i = 0; i < n; i++) {
        h.sack[i].start = 0xFFFFFFF0u + 1000u * (uint32_t)i; /* wraps */
        h.sack[i].end = h.sack[i].start + 500;
    }
    return h;
}

static void same(const struct rbs_hdr *a, const struct rbs_hdr *b)
{
    CHECK_EQ(a->flags, b->flags);
    CHECK_EQ(a->seq, b->seq);
    CHECK_EQ(a->ack, b->ack);
    CHECK_EQ(a->wnd, b->wnd);
    CHECK_EQ(a->tsval, b->tsval);
    CHECK_EQ(a->tsecr, b->tsecr);
    CHECK_EQ(a->opts, b->opts);
    if (a->opts) {
        CHECK_EQ(a->mss, b->mss);
        CHECK_EQ(a->wscale, b->wscale);
        CHECK_EQ(a->chan, b->chan);
    }
    CHECK_EQ(a->nsack, b->nsack);
    for (int i = 0; i < a->nsack && i < b->nsack; i++) {
        CHECK_EQ(a->sack[i].start, b->sack[i].start);
        CHECK_EQ(a->sack[i].end, b->sack[i].end);
    }
}

static void test_vector(void)
{
    /* SYN-ACK seq 0x11223344 ack 0x55667788 wnd 0x1000 tsval 1 tsecr 2,
     * MSS 1400, WSCALE 3, CHAN 9: 24 + 6 + 3 + 6 = 39, padded to 40 */
    static const uint8_t want[40] = {
        0x01, 0x12, 0x0a, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x10, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x02, 0x06, 0x00, 0x00,
        0x05, 0x78, 0x03, 0x03, 0x03, 0x05, 0x06, 0x00, 0x00, 0x00, 0x09, 0x00,
    };
    struct rbs_hdr h, p;
    memset(&h, 0, sizeof h);
    h.flags = RBS_SYN | RBS_ACK;
    h.seq = 0x11223344;
    h.ack = 0x55667788;
    h.wnd = 0x1000;
    h.tsval = 1;
    h.tsecr = 2;
    h.opts = RBS_HAS_MSS | RBS_HAS_WSCALE | RBS_HAS_CHAN;
    h.mss = 1400;
    h.wscale = 3;
    h.chan = 9;
    uint8_t b[64];
    CHECK_EQ(rbs_hdr_size(&h), 40);
    CHECK_EQ(rbs_hdr_emit(b, sizeof b, &h), 40);
    CHECK(memcmp(b, want, 40) == 0);
    CHECK_EQ(rbs_hdr_parse(want, 40, &p), 40);
    same(&h, &p);
    CHECK_EQ(p.hdr_len, 40);

    /* an ACK with one SACK block and 3 payload bytes */
    static const uint8_t ack[40] = {
        0x01, 0x10, 0x09, 0x00, 0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xff, 0, 0, 0, 0, 0, 3,
        0,    0,    0,    4,    4, 10, 0, 0, 0, 9, 0, 0, 0, 12, 0, 0, 'a', 'b', 'c', 0,
    };
    CHECK_EQ(rbs_hdr_parse(ack, 39, &p), 36);
    CHECK_EQ(p.nsack, 1);
    CHECK_EQ(p.sack[0].start, 9);
    CHECK_EQ(p.sack[0].end, 12);
    CHECK_EQ(p.wnd, 0xffff);
}

static void test_roundtrip_and_truncation(void)
{
    struct rbs_hdr rows[] = {
        mk(RBS_ACK, 1, 2),
        mk(RBS_ACK | RBS_FIN, 0xFFFFFFFFu, 0),
        mk(RBS_RST, 5, 0),
        mk(RBS_RST | RBS_ACK, 5, 6),
        syn(RBS_SYN),
        syn(RBS_SYN | RBS_ACK),
        sacked(1),
        sacked(2),
        sacked(3),
        sacked(4),
    };
    uint8_t b[128];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct rbs_hdr p;
        int n = rbs_hdr_emit(b, sizeof b, &rows[i]);
        CHECK(n >= RBS_HDR_LEN && n <= RBS_HDR_MAX && n % 4 == 0);
        CHECK_EQ((size_t)n, rbs_hdr_size(&rows[i]));
        CHECK_EQ(rbs_hdr_parse(b, (size_t)n, &p), n);
        same(&rows[i], &p);
        /* every truncation is -EMSGSIZE */
        for (int len = 0; len < n; len++)
            CHECK_EQ(rbs_hdr_parse(b, (size_t)len, &p), -EMSGSIZE);
        /* payload after the header (not on SYN / RST) */
        memset(b + n, 0xab, 20);
        int want = rows[i].flags & (RBS_SYN | RBS_RST) ? -EPROTO : n;
        CHECK_EQ(rbs_hdr_parse(b, (size_t)n + 20, &p), want);
        /* emit refuses a buffer one byte short, and writes nothing */
        memset(b, 0xee, sizeof b);
        CHECK_EQ(rbs_hdr_emit(b, (size_t)n - 1, &rows[i]), -ENOSPC);
        CHECK_EQ(b[0], 0xee);
    }
    CHECK_EQ(rbs_hdr_parse(NULL, 0, &(struct rbs_hdr){0}), -EMSGSIZE);
}

/* Fixed-header damage: (byte, value) written over a valid ACK header. */
static void test_fixed_fields(void)
{
    static const struct {
        int off;
        uint8_t val;
        int err;
    } rows[] = {
        {RBS_OFF_VERSION, 0, -EPROTONOSUPPORT},
        {RBS_OFF_VERSION, 2, -EPROTONOSUPPORT},
        {RBS_OFF_FLAGS, RBS_ACK | 0x08, -EINVAL},
        {RBS_OFF_FLAGS, RBS_ACK | 0x20, -EINVAL},
        {RBS_OFF_FLAGS, RBS_ACK | 0x80, -EINVAL},
        {RBS_OFF_RSVD1, 1, -EINVAL},
        {RBS_OFF_RSVD2, 1, -EINVAL},
        {RBS_OFF_RSVD2 + 1, 0x80, -EINVAL},
        {RBS_OFF_HLEN, 0, -EINVAL},
        {RBS_OFF_HLEN, 5, -EINVAL},
        {RBS_OFF_HLEN, 7, -EMSGSIZE}, /* 28 bytes claimed, 24 present */
        {RBS_OFF_HLEN, 255, -EINVAL}, /* more than 15 words */
        {RBS_OFF_HLEN, 16, -EINVAL},
        {RBS_OFF_FLAGS, 0, -EPROTO},                  /* no ACK, SYN or RST */
        {RBS_OFF_FLAGS, RBS_FIN, -EPROTO},            /* FIN without ACK */
        {RBS_OFF_FLAGS, RBS_SYN | RBS_FIN, -EPROTO},
        {RBS_OFF_FLAGS, RBS_SYN | RBS_RST, -EPROTO},
        {RBS_OFF_FLAGS, RBS_RST | RBS_FIN, -EPROTO},
        {RBS_OFF_FLAGS, RBS_RST | RBS_ACK | RBS_FIN, -EPROTO},
        {RBS_OFF_FLAGS, RBS_SYN, -ENOPROTOOPT}, /* SYN without its options */
        {RBS_OFF_FLAGS, RBS_SYN | RBS_ACK, -ENOPROTOOPT},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t b[64];
        struct rbs_hdr h = mk(RBS_ACK, 1, 2), p;
        REQUIRE(rbs_hdr_emit(b, sizeof b, &h) == 24);
        b[rows[i].off] = rows[i].val;
        int rc = rbs_hdr_parse(b, 24, &p);
        if (rc != rows[i].err)
            fprintf(stderr, "fixed row %zu\n", i);
        CHECK_EQ(rc, rows[i].err);
    }
}

/* Option area damage: options appended to a header with the given flags. */
static void test_options(void)
{
    static const struct {
        uint8_t flags;
        uint8_t n;
        uint8_t opt[36];
        int err; /* 0: parses */
    } rows[] = {
        {RBS_ACK, 4, {1, 1, 1, 1}, 0},
        {RBS_ACK, 4, {0, 0, 0, 0}, 0},
        {RBS_ACK, 4, {0, 0, 1, 0}, -EBADMSG},         /* junk after END */
        {RBS_ACK, 4, {9, 4, 0xaa, 0xbb}, 0},          /* unknown kind: skipped */
        {RBS_ACK, 4, {9, 5, 0xaa, 0xbb}, -EBADMSG},   /* unknown kind overruns */
        {RBS_ACK, 4, {9, 1, 0, 0}, -EBADMSG},         /* length < 2 */
        {RBS_ACK, 4, {1, 1, 1, 9}, -EBADMSG},         /* length byte missing */
        {RBS_ACK, 12, {4, 10, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0}, 0},
        {RBS_ACK, 12, {4, 10, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0}, -EBADMSG}, /* empty block */
        {RBS_ACK, 12, {4, 10, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0}, -EBADMSG}, /* backwards */
        {RBS_ACK, 12, {4, 10, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0}, -EBADMSG}, /* 2^31 */
        {RBS_ACK, 12, {4, 9, 0, 0, 0, 1, 0, 0, 2, 0, 0, 0}, -EBADMSG},  /* not 2 + 8n */
        {RBS_ACK, 4, {4, 2, 0, 0}, -EBADMSG},                           /* no block */
        {RBS_ACK, 36, {4, 42}, -EBADMSG},                               /* 5 blocks */
        {RBS_ACK, 24, {4, 10, 0, 0, 0, 1, 0, 0, 0, 2, 4, 10, 0, 0, 0, 5, 0, 0, 0, 6}, -EBADMSG},
        {RBS_RST | RBS_ACK, 12, {4, 10, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0}, -EBADMSG},
        {RBS_ACK, 8, {2, 6, 0, 0, 5, 0x78, 0, 0}, -EBADMSG},            /* MSS off SYN */
        {RBS_ACK, 4, {3, 3, 1, 0}, -EBADMSG},                           /* WSCALE off SYN */
        {RBS_ACK, 8, {5, 6, 0, 0, 0, 1, 0, 0}, -EBADMSG},               /* CHAN off SYN */
        {RBS_SYN, 16, {2, 6, 0, 0, 5, 0x78, 3, 3, 1, 5, 6, 0, 0, 0, 1, 0}, 0},
        {RBS_SYN, 16, {2, 6, 0, 0, 0, 63, 3, 3, 1, 5, 6, 0, 0, 0, 1, 0}, -EBADMSG},  /* MSS */
        {RBS_SYN, 16, {2, 6, 0, 1, 0, 0, 3, 3, 1, 5, 6, 0, 0, 0, 1, 0}, -EBADMSG},   /* MSS */
        {RBS_SYN, 16, {2, 6, 0, 0, 5, 0x78, 3, 3, 15, 5, 6, 0, 0, 0, 1, 0}, -EBADMSG}, /* ws */
        {RBS_SYN, 16, {2, 6, 0, 0, 5, 0x78, 3, 3, 1, 5, 6, 0, 0, 0, 0, 0}, -EBADMSG}, /* chan 0 */
        {RBS_SYN, 16, {2, 5, 0, 0, 5, 3, 3, 1, 5, 6, 0, 0, 0, 1, 0, 0}, -EBADMSG},  /* MSS len */
        {RBS_SYN, 16, {2, 6, 0, 0, 5, 0x78, 3, 4, 1, 0, 5, 6, 0, 0, 0, 1}, -EBADMSG}, /* ws len */
        {RBS_SYN, 12, {2, 6, 0, 0, 5, 0x78, 3, 3, 1, 0, 0, 0}, -ENOPROTOOPT},     /* no CHAN */
        {RBS_SYN, 20, {2, 6, 0, 0, 5, 0x78, 2, 6, 0, 0, 5, 0x78, 3, 3, 1, 5, 6, 0, 0, 1},
         -EBADMSG}, /* MSS twice */
        {RBS_SYN | RBS_ACK, 28, {2, 6, 0, 0, 5, 0x78, 3, 3, 1, 5, 6, 0, 0, 0, 1, 4, 10, 0, 0, 0, 1,
                                 0, 0, 0, 2, 0, 0, 0}, -EBADMSG}, /* SACK on SYN-ACK */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t b[128];
        struct rbs_hdr h = mk(rows[i].flags, 1, 2), p;
        h.opts = 0;
        /* write the fixed header by hand (emit refuses a SYN without options) */
        memset(b, 0, sizeof b);
        b[0] = 1;
        b[1] = rows[i].flags;
        b[2] = (uint8_t)((24 + rows[i].n) / 4);
        memcpy(b + 24, rows[i].opt, rows[i].n);
        int rc = rbs_hdr_parse(b, 24u + rows[i].n, &p);
        int want = rows[i].err ? rows[i].err : 24 + rows[i].n;
        if (rc != want)
            fprintf(stderr, "option row %zu: %d\n", i, rc);
        CHECK_EQ(rc, want);
        (void)h;
    }
}

static void test_emit_refuses(void)
{
    uint8_t b[64];
    struct rbs_hdr h = mk(RBS_SYN, 1, 0);
    CHECK_EQ(rbs_hdr_emit(b, sizeof b, &h), -EINVAL); /* SYN without options */
    h = syn(RBS_SYN);
    h.wscale = 15;
    CHECK_EQ(rbs_hdr_emit(b, sizeof b, &h), -EINVAL);
    h = syn(RBS_SYN);
    h.mss = 10;
    CHECK_EQ(rbs_hdr_emit(b, sizeof b, &h), -EINVAL);
    h = syn(RBS_SYN);
    h.chan = 0;
    CHECK_EQ(rbs_hdr_emit(b, sizeof b, &h), -EINVAL);
    h = mk(RBS_ACK, 1, 2);
    h.opts = RBS_HAS_MSS;
    h.mss = 1000;
    CHECK_EQ(rbs_hdr_emit(b, sizeof b, &h), -EINVAL); /* MSS off SYN */
    h = sacked(1);
    h.sack[0].end = h.sack[0].start;
    CHECK_EQ(rbs_hdr_emit(b, sizeof b, &h), -EINVAL);
    h = sacked(4);
    h.nsack = 5;
    CHECK_EQ(rbs_hdr_emit(b, sizeof b, &h), -EINVAL);
    h = mk(RBS_FIN, 1, 2);
    CHECK_EQ(rbs_hdr_emit(b, sizeof b, &h), -EINVAL);
    h = mk(RBS_ACK | 0x40, 1, 2);
    CHECK_EQ(rbs_hdr_emit(b, sizeof b, &h), -EINVAL);
    CHECK_EQ(rbs_hdr_emit(NULL, 0, &(struct rbs_hdr){.flags = RBS_ACK}), -ENOSPC);
}

static void test_reasons(void)
{
    static const struct {
        int err, reason;
    } rows[] = {
        {-EMSGSIZE, RBS_BAD_TRUNC},        {-EPROTONOSUPPORT, RBS_BAD_VERSION},
        {-EINVAL, RBS_BAD_RESERVED},       {-EPROTO, RBS_BAD_FLAGS},
        {-EBADMSG, RBS_BAD_OPTION},        {-ENOPROTOOPT, RBS_BAD_MISSING_OPT},
        {-ENOMEM, RBS_BAD_MAX},            {0, RBS_BAD_MAX},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        CHECK_EQ(rbs_bad_reason(rows[i].err), rows[i].reason);
    CHECK(strcmp(rbs_bad_name(RBS_BAD_TRUNC), "truncated") == 0);
    CHECK(strcmp(rbs_bad_name(RBS_BAD_MAX), "?") == 0);
    CHECK(strcmp(rbs_bad_name(-1), "?") == 0);
}

int main(void)
{
    test_vector();
    test_roundtrip_and_truncation();
    test_fixed_fields();
    test_options();
    test_emit_refuses();
    test_reasons();
    return check_done("test_rbs_wire");
}
