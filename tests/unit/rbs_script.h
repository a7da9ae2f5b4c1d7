/* Scripted segment tests of the RBS core (test_rbs_script*.c): the test plays
 * the peer by hand.  inject() builds an exact segment and feeds it at virtual
 * time t; out() takes what the endpoint sends then (its header, the payload
 * in pl), nothing() says it sends none; client() is an endpoint whose active
 * open has completed, ack_of() the peer's ACK of our byte n.  Every call
 * checks the endpoint's invariants.
 *
 * Our ISN sits just below 2^32 so every test crosses the sequence wrap. */
#ifndef JET_TEST_RBS_SCRIPT_H
#define JET_TEST_RBS_SCRIPT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "rbs/rbs_core.h"

enum { ISS = 0xFFFFFF00u, IRS = 5000, MSS = 1000, RCVBUF = 8000, LCHAN = 33, PCHAN = 77 };
static const uint64_t T0 = 1000000000ull;
static const uint64_t MS = 1000000ull, US = 1000ull;

static uint8_t segbuf[4096];

static inline struct rbs_cfg cfg(void)
{
    struct rbs_cfg k = {.mss = MSS, .rcvbuf_bytes = RCVBUF, .sndbuf_bytes = 64 * 1024,
                        .rto_min_ns = 10 * MS, .rto_max_ns = 1000 * MS, .rto_init_ns = 100 * MS,
                        .ack_delay_ns = 1 * MS, .keepalive_ns = UINT64_MAX, .max_retries = 5,
                        .time_wait_ns = 50 * MS, .isn = ISS, .local_chan = LCHAN};
    return k;
}

static inline uint32_t us32(uint64_t t)
{
    return (uint32_t)(t / 1000);
}

/* What the test (as the peer) sends. */
struct seg {
    uint8_t flags;
    uint32_t seq, ack;
    uint16_t wnd;
    uint32_t tsval, tsecr;
    int nsack;
    struct rbs_sack sack[4];
    const void *data;
    size_t len;
    bool syn_opts;
    uint32_t wscale;
};

static inline int inject(struct rbs_conn *c, uint64_t t, struct seg s)
{
    struct rbs_hdr h;
    memset(&h, 0, sizeof h);
    h.flags = s.flags;
    h.seq = s.seq;
    h.ack = s.ack;
    h.wnd = s.wnd;
    h.tsval = s.tsval;
    h.tsecr = s.tsecr;
    h.nsack = (uint8_t)s.nsack;
    memcpy(h.sack, s.sack, sizeof h.sack);
    if (s.flags & RBS_SYN) {
        h.opts = RBS_HAS_MSS | RBS_HAS_WSCALE | RBS_HAS_CHAN;
        h.mss = MSS;
        h.wscale = (uint8_t)s.wscale;
        h.chan = PCHAN;
    }
    int hl = rbs_hdr_emit(segbuf, sizeof segbuf, &h);
    REQUIRE(hl > 0);
    if (s.len)
        memcpy(segbuf + hl, s.data, s.len);
    int rc = rbs_input(c, segbuf, (size_t)hl + s.len, t);
    CHECK(rbs_invariant_violation(c) == NULL);
    return rc;
}

/* What the endpoint sends: 1 and the parsed header (payload in pl), or 0 if none. */
static uint8_t pl[4096];
static size_t pl_len;
static inline int out(struct rbs_conn *c, uint64_t t, struct rbs_hdr *h)
{
    uint8_t buf[MSS + RBS_HDR_MAX];
    int n = rbs_output(c, t, buf, sizeof buf);
    CHECK(n >= 0);
    CHECK(rbs_invariant_violation(c) == NULL);
    if (n <= 0)
        return 0;
    int hl = rbs_hdr_parse(buf, (size_t)n, h);
    REQUIRE(hl > 0);
    pl_len = (size_t)n - (size_t)hl;
    memcpy(pl, buf + hl, pl_len);
    return 1;
}

static inline bool nothing(struct rbs_conn *c, uint64_t t)
{
    struct rbs_hdr h;
    return out(c, t, &h) == 0;
}

static uint8_t data[64 * 1024];

/* Active open completed at T0 + 100 us with a peer window of wnd. */
static inline struct rbs_conn *client(uint16_t wnd)
{
    struct rbs_cfg k = cfg();
    struct rbs_conn *c;
    struct rbs_hdr h;
    REQUIRE(rbs_create(&k, &c) == 0);
    REQUIRE(rbs_connect(c, T0) == 0);
    REQUIRE(out(c, T0, &h));
    CHECK_EQ(h.flags, RBS_SYN);
    CHECK_EQ(h.seq, ISS);
    inject(c, T0 + 100 * US,
           (struct seg){.flags = RBS_SYN | RBS_ACK, .seq = IRS, .ack = ISS + 1, .wnd = wnd,
                        .tsval = 7, .tsecr = us32(T0)});
    CHECK_EQ(rbs_state(c), RBS_ESTABLISHED);
    REQUIRE(out(c, T0 + 100 * US, &h));
    CHECK_EQ(h.flags, RBS_ACK);
    CHECK_EQ(h.seq, ISS + 1);
    CHECK_EQ(h.ack, IRS + 1);
    CHECK(nothing(c, T0 + 100 * US));
    return c;
}

/* A peer ACK (seq IRS + 1) of our byte n (0 = the SYN). */
static inline struct seg ack_of(uint32_t n, uint16_t wnd)
{
    return (struct seg){.flags = RBS_ACK, .seq = IRS + 1, .ack = ISS + 1 + n, .wnd = wnd,
                        .tsval = 8, .tsecr = us32(T0)};
}

#endif
