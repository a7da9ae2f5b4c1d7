/* The payload CRC of channel frames (include/jet/chan.h) on a noisy emulated
 * LAN: the bad-CRC policy (dropped or delivered flagged), and defer_crc, the
 * check left to the protocol.  LANs as in test_chan.c. */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "check.h"
#include "jet/chan.h"
#include "jet/crc32c.h"
#include "jet/frame.h"
#include "jet/lan.h"

#include "chan_fixture.h"
#include "chan_drive.h"

/* ---- 1. payload CRC policy on a noisy medium ---- */

static void noisy(struct jet_lan_config *c)
{
    c->ber = 1e-4;
    c->seed = 12345;
}

static void test_crc(void)
{
    enum { N = 400, SIZE = 1000 };
    int lan = mklan("crc", noisy);
    struct jet_station *a = st_open(lan, 0), *b = st_open(lan, 1);
    struct jet_chan *ca = ch_open(a, 1, NULL);
    for (int accept = 0; accept < 2; accept++) {
        uint32_t id = 10 + (uint32_t)accept;
        struct jet_chan_policy p = {.accept_bad_crc = accept};
        struct jet_chan *c = ch_open(b, id, &p);
        struct jet_station_stats s0, s1;
        jet_station_stats(b, &s0);
        struct jet_lan_station_info f0, f1;
        jet_lan_station_stats(jet_station_link(a), &f0);
        int got = 0, flagged = 0;
        bool clean_ok = true, flagged_ok = true;
        struct jet_rx rx;
        for (int i = 0; i < N; i++) {
            CHECK_EQ(send_seq(ca, 1, id, (uint64_t)i, SIZE), SIZE);
            if (i % 50 != 49 && i != N - 1)
                continue;
            jet_station_poll(a);
            while (jet_chan_recv(c, &rx, 0) == 0) {
                uint64_t s;
                bool ok = intact(&rx, &s) && rx.len == SIZE;
                if (rx.flags & JET_RX_CRC_BAD)
                    flagged++;
                else
                    clean_ok &= ok;
                flagged_ok &= (rx.flags & ~(uint32_t)JET_RX_CRC_BAD) == 0;
                got++;
                jet_chan_release(c, &rx);
            }
        }
        jet_station_stats(b, &s1);
        jet_lan_station_stats(jet_station_link(a), &f1);
        struct jet_chan_stats cs;
        jet_chan_stats(c, &cs);
        uint64_t hdr = s1.dropped_header - s0.dropped_header;
        uint64_t corrupted = f1.fault_corrupted - f0.fault_corrupted;
        fprintf(stderr,
                "crc (accept %d): %d delivered (%d flagged), %" PRIu64 " dropped for CRC, %" PRIu64
                " for the header, %" PRIu64 " corrupted\n",
                accept, got, flagged, cs.dropped_crc, hdr, corrupted);
        CHECK(clean_ok);
        CHECK(flagged_ok);
        CHECK_EQ(f1.fault_lost - f0.fault_lost, 0);
        CHECK_EQ((uint64_t)got + cs.dropped_crc + hdr, N); /* nothing lost */
        CHECK_EQ(cs.frames_in, got);
        CHECK(hdr > 0);
        /* every damaged frame was caught by one of the two checks */
        CHECK_EQ(cs.dropped_crc + cs.crc_bad_delivered + hdr, corrupted);
        CHECK_EQ(s1.dropped_no_chan - s0.dropped_no_chan, 0);
        if (!accept) {
            CHECK_EQ(cs.crc_bad_delivered, 0);
            CHECK_EQ(flagged, 0);
            CHECK(cs.dropped_crc > 0);
        } else {
            CHECK_EQ(cs.dropped_crc, 0);
            CHECK(cs.crc_bad_delivered > 0);
            CHECK_EQ(cs.crc_bad_delivered, flagged);
        }
        jet_chan_close(c);
    }
    jet_station_close(a);
    jet_station_close(b);
    rmlan(lan);
}

/* ---- 2. defer_crc: the payload CRC left to the protocol ----
 * On the same noisy medium: every frame with a good header reaches a defer_crc
 * channel flagged JET_RX_CRC_UNCHECKED with the CRC it carried in rx->crc; a copy
 * made with jet_crc32c_copy matches rx->crc exactly when the payload is intact, and
 * the mismatches given back with jet_chan_release_crc_bad are the channel's
 * dropped_crc.  A frame changed in the pool after the driver queued it is caught by
 * that same copy.  A frame that carries no CRC arrives unflagged.  A raw channel
 * beside it behaves as before (test_crc). */
static void test_defer_crc(void)
{
    enum { N = 400, SIZE = 1000, ID = 20 };
    int lan = mklan("dcrc", noisy);
    struct jet_station *a = st_open(lan, 0), *b = st_open(lan, 1);
    struct jet_chan *ca = ch_open(a, 1, NULL);
    struct jet_chan *c = ch_open(b, ID, &(struct jet_chan_policy){.defer_crc = true});
    struct jet_chan *raw = ch_open(b, ID + 1, NULL); /* opened after: its own bit, clear */
    struct jet_station_stats s0, s1;
    jet_station_stats(b, &s0);
    struct jet_lan_station_info f0, f1;
    jet_lan_station_stats(jet_station_link(a), &f0);
    int got = 0, bad = 0, raw_got = 0;
    bool flags_ok = true, verdict_ok = true, raw_ok = true;
    static uint8_t copy[SIZE];
    struct jet_rx rx;
    for (int i = 0; i < N; i++) {
        CHECK_EQ(send_seq(ca, 1, ID, (uint64_t)i, SIZE), SIZE);
        CHECK_EQ(send_seq(ca, 1, ID + 1, (uint64_t)i, SIZE), SIZE);
        if (i % 50 != 49 && i != N - 1)
            continue;
        jet_station_poll(a);
        while (jet_chan_recv(c, &rx, 0) == 0) {
            flags_ok &= rx.flags == JET_RX_CRC_UNCHECKED && rx.len == SIZE;
            bool match = jet_crc32c_copy(0, copy, rx.payload, rx.len) == rx.crc;
            uint64_t seq;
            struct jet_rx tmp = rx;
            tmp.payload = copy;
            verdict_ok &= match == intact(&tmp, &seq); /* 1e-4 BER: never a collision */
            got++;
            if (match) {
                jet_chan_release(c, &rx);
            } else {
                bad++;
                jet_chan_release_crc_bad(c, &rx);
            }
        }
        while (jet_chan_recv(raw, &rx, 0) == 0) {
            uint64_t seq;
            raw_ok &= rx.flags == 0 && intact(&rx, &seq);
            raw_got++;
            jet_chan_release(raw, &rx);
        }
    }
    jet_station_stats(b, &s1);
    jet_lan_station_stats(jet_station_link(a), &f1);
    struct jet_chan_stats cs, rs;
    jet_chan_stats(c, &cs);
    jet_chan_stats(raw, &rs);
    uint64_t hdr = s1.dropped_header - s0.dropped_header;
    uint64_t corrupted = f1.fault_corrupted - f0.fault_corrupted;
    fprintf(stderr,
            "defer_crc: %d delivered, %d failed the placing check; raw: %d delivered, %" PRIu64
            " dropped for CRC; %" PRIu64 " for the header, %" PRIu64 " corrupted\n",
            got, bad, raw_got, rs.dropped_crc, hdr, corrupted);
    CHECK(flags_ok);
    CHECK(verdict_ok);
    CHECK(raw_ok);
    CHECK(bad > 0);
    CHECK_EQ(cs.dropped_crc, bad);
    CHECK_EQ(cs.crc_bad_delivered, 0);
    CHECK_EQ(cs.frames_in, got - bad); /* the damaged ones moved to dropped_crc */
    CHECK(rs.dropped_crc > 0);
    CHECK_EQ((uint64_t)got + (uint64_t)raw_got + rs.dropped_crc + hdr, 2 * N); /* nothing lost */
    /* every damaged frame was caught: by the header check, the driver (raw) or the copy */
    CHECK_EQ(cs.dropped_crc + rs.dropped_crc + hdr, corrupted);
    jet_station_close(a);
    jet_station_close(b);
    rmlan(lan);

    /* A clean LAN: a frame changed in the pool after the driver queued it. */
    lan = mklan("dcrc2", NULL);
    a = st_open(lan, 0);
    b = st_open(lan, 1);
    ca = ch_open(a, 1, NULL);
    c = ch_open(b, ID, &(struct jet_chan_policy){.defer_crc = true});
    struct jet_txbuf tb;
    REQUIRE(jet_chan_tx_alloc(ca, &tb) == 0);
    fill(tb.payload, SIZE, 7);
    uint8_t *inpool = tb.payload; /* the buffer travels by index: the same bytes */
    CHECK_EQ(jet_chan_tx_commit(ca, &tb, 1, ID, SIZE), 0);
    jet_station_poll(a);
    settle(b);
    CHECK_EQ(jet_chan_pending(c), 1);
    uint32_t good = jet_crc32c(0, inpool, SIZE);
    inpool[500] ^= 0x40; /* the scribbler, after the driver looked */
    REQUIRE(recv_pump(b, c, a, &rx, 1000) == 0);
    CHECK_EQ(rx.flags, JET_RX_CRC_UNCHECKED);
    CHECK_EQ(rx.crc, good);
    CHECK_EQ(rx.payload[500], inpool[500]);
    CHECK(jet_crc32c_copy(0, copy, rx.payload, rx.len) != rx.crc);
    jet_chan_release_crc_bad(c, &rx);
    jet_chan_stats(c, &cs);
    CHECK_EQ(cs.dropped_crc, 1);
    CHECK_EQ(cs.frames_in, 0);
    CHECK_EQ(cs.bytes_in, 0);
    /* a frame with no CRC at all: delivered, not flagged (nothing to check) */
    struct jet_link *l = jet_station_link(a);
    struct jet_frame f;
    REQUIRE(jet_link_tx_alloc(l, &f) == 0);
    struct jet_frame_hdr h = {.src_station = 0, .dst_station = 1, .dst_chan = ID, .src_chan = 1};
    fill(copy, 100, 9);
    long n = jet_frame_build(f.data, f.cap, &h, copy, 100);
    REQUIRE(n > 0);
    f.len = (uint32_t)n;
    CHECK_EQ(jet_link_tx_commit(l, &f), 0);
    jet_link_tx_flush(l);
    REQUIRE(recv_pump(b, c, a, &rx, 1000) == 0);
    CHECK_EQ(rx.flags, 0);
    CHECK_EQ(rx.crc, 0);
    CHECK_EQ(rx.len, 100);
    jet_chan_release(c, &rx);
    /* the bit goes with the channel: reopened without defer_crc, the driver checks again */
    jet_chan_close(c);
    c = ch_open(b, ID, NULL);
    REQUIRE(jet_chan_tx_alloc(ca, &tb) == 0);
    fill(tb.payload, SIZE, 8);
    CHECK_EQ(jet_chan_tx_commit(ca, &tb, 1, ID, SIZE), 0);
    REQUIRE(recv_pump(b, c, a, &rx, 1000) == 0);
    CHECK_EQ(rx.flags, 0);
    CHECK_EQ(rx.crc, 0);
    jet_chan_release(c, &rx);
    jet_station_close(a);
    jet_station_close(b);
    rmlan(lan);
}

int main(void)
{
    uint64_t t0 = chan_main_begin();
    test_crc();
    test_defer_crc();
    return chan_main_end("test_chan_crc", t0);
}
