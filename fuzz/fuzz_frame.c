/* libFuzzer target for the frame parsers (src/wire/frame.c, src/wire/eth.c).
 *
 * For each input:
 *   1. jet_frame_parse() as a native frame; if it parses, check the decoded fields'
 *      invariants, re-emit with jet_frame_build() and jet_frame_seal() and require the
 *      same bytes as the input (the trailer only when the payload CRC matched), and
 *      check the deferred-CRC path and jet_frame_mark_crc_bad() agree with the parse.
 *   2. jet_frame_parse_eth(); if it parses, re-emit Ethernet header + frame and require
 *      the same bytes.
 *   3. The same two parses on a copy whose header check is recomputed first, so that
 *      random inputs get past the 32-bit check and exercise the checks behind it.
 *   4. Emit -> parse: take header fields from the input, build a frame, and require it
 *      to parse back to the same fields.
 * Any disagreement abort()s. Also built with fuzz/replay.inc as a plain driver. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jet/crc32c.h"
#include "jet/frame.h"
#include "wire/cursor.h"
#include "fuzz.h"

enum { OUT_CAP = JET_ETH_VLAN_HDR_LEN + JET_FRAME_MAX_PAYLOAD + JET_FRAME_OVERHEAD };
static uint8_t out[OUT_CAP], out2[OUT_CAP], fixed[OUT_CAP];

/* Does the frame at f (already parsed into h) carry a payload CRC that matches? */
static int trailer_matches(const uint8_t *f, const struct jet_frame_hdr *h, const uint8_t *emitted)
{
    return memcmp(f + JET_FRAME_HDR_LEN + h->payload_len,
                  emitted + JET_FRAME_HDR_LEN + h->payload_len, JET_FRAME_CRC_LEN) == 0;
}

/* The frame at f (len bytes available) parsed into h: re-emit and compare. */
static void check_frame(const uint8_t *f, size_t len, const struct jet_frame_hdr *h)
{
    MUST(h->version == JET_FRAME_VERSION);
    MUST(!(h->flags & JET_FF_RESERVED));
    MUST(h->prio == (h->flags & JET_FF_PRIO_MASK) >> JET_FF_PRIO_SHIFT);
    MUST(h->payload_len <= JET_FRAME_MAX_PAYLOAD);
    MUST(h->frame_len ==
         JET_FRAME_HDR_LEN + h->payload_len + (h->flags & JET_FF_CRC ? JET_FRAME_CRC_LEN : 0));
    MUST(h->frame_len <= len);
    MUST(h->crc_bad <= 1);

    long n = jet_frame_build(out, OUT_CAP, h, f + JET_FRAME_HDR_LEN, h->payload_len);
    MUST(n == (long)h->frame_len);
    MUST(memcmp(out, f, JET_FRAME_HDR_LEN + h->payload_len) == 0);
    if (h->flags & JET_FF_CRC) {
        int match = trailer_matches(f, h, out);
        if (h->flags & JET_FF_CRC_BAD)
            MUST(h->crc_bad == 1);
        else
            MUST(h->crc_bad == !match);
    } else {
        MUST(h->crc_bad == !!(h->flags & JET_FF_CRC_BAD));
    }

    /* seal over a copy of the payload gives what build gave */
    memcpy(out2 + JET_FRAME_HDR_LEN, f + JET_FRAME_HDR_LEN, h->payload_len);
    MUST(jet_frame_seal(out2, h->frame_len, h) == (long)h->frame_len);
    MUST(memcmp(out2, out, h->frame_len) == 0);

    /* deferred check + fused copy reaches the same verdict */
    struct jet_frame_hdr d;
    MUST(jet_frame_parse(f, len, &d, JET_PARSE_NO_PAYLOAD_CRC) == 0);
    MUST(d.crc_bad == !!(h->flags & JET_FF_CRC_BAD));
    MUST(jet_frame_copy_payload(out2, OUT_CAP, f, &d) == (long)h->payload_len);
    MUST(d.crc_bad == h->crc_bad);
    MUST(memcmp(out2, f + JET_FRAME_HDR_LEN, h->payload_len) == 0);

    /* a marked copy still parses, now damaged, everything else unchanged */
    memcpy(out2, f, h->frame_len);
    jet_frame_mark_crc_bad(out2);
    struct jet_frame_hdr m;
    MUST(jet_frame_parse(out2, h->frame_len, &m, 0) == 0);
    MUST(m.crc_bad == 1 && m.flags == (h->flags | JET_FF_CRC_BAD));
    MUST(m.src_station == h->src_station && m.dst_station == h->dst_station);
    MUST(m.dst_chan == h->dst_chan && m.src_chan == h->src_chan);
    MUST(m.payload_len == h->payload_len);
}

static void emit_parse(const uint8_t *data, size_t size)
{
    struct jet_rcur c;
    struct jet_frame_hdr h = {0}, p;
    uint8_t sel;

    jet_rcur_init(&c, data, size);
    jet_rcur_u8(&c, &h.flags);
    jet_rcur_u8(&c, &sel);
    jet_rcur_u16(&c, &h.src_station);
    jet_rcur_u16(&c, &h.dst_station);
    jet_rcur_u32(&c, &h.dst_chan);
    jet_rcur_u32(&c, &h.src_chan);
    if (c.err)
        return;
    h.prio = sel & 0x0f; /* 8..15 must be refused */
    size_t plen = jet_rcur_left(&c);
    const uint8_t *payload;
    jet_rcur_ptr(&c, plen, &payload);

    long n = jet_frame_build(out, OUT_CAP, &h, payload, plen);
    if ((h.flags & JET_FF_RESERVED) || h.prio > JET_FRAME_PRIO_MAX ||
        plen > JET_FRAME_MAX_PAYLOAD) {
        MUST(n == -EINVAL);
        return;
    }
    MUST(n > 0);
    MUST(jet_frame_parse(out, (size_t)n, &p, 0) == 0);
    MUST(p.frame_len == (uint32_t)n && p.payload_len == plen);
    MUST(p.flags == ((h.flags & (JET_FF_CRC | JET_FF_CRC_BAD)) | (h.prio << JET_FF_PRIO_SHIFT)));
    MUST(p.prio == h.prio && p.crc_bad == !!(h.flags & JET_FF_CRC_BAD));
    MUST(p.src_station == h.src_station && p.dst_station == h.dst_station);
    MUST(p.dst_chan == h.dst_chan && p.src_chan == h.src_chan);
    MUST(memcmp(out + JET_FRAME_HDR_LEN, payload, plen) == 0);
    /* one byte short never parses */
    MUST(jet_frame_parse(out, (size_t)n - 1, &p, 0) == -EMSGSIZE);
}

static void parse_both(const uint8_t *data, size_t size)
{
    struct jet_frame_hdr h;
    struct jet_eth_hdr e;
    int rc;

    rc = jet_frame_parse(data, size, &h, 0);
    MUST(rc == 0 || rc == -EMSGSIZE || rc == -EBADMSG || rc == -EPROTONOSUPPORT || rc == -EINVAL);
    if (rc == 0)
        check_frame(data, size, &h);

    rc = jet_frame_parse_eth(data, size, &e, &h, 0);
    MUST(rc == 0 || rc == -EMSGSIZE || rc == -EBADMSG || rc == -EPROTONOSUPPORT || rc == -EINVAL ||
         rc == -EPROTOTYPE);
    if (rc == 0) {
        MUST(e.ethertype == JET_ETHERTYPE);
        MUST(e.hdr_len == (e.vlan == JET_ETH_UNTAGGED ? 14 : 18));
        MUST((size_t)e.hdr_len + h.frame_len <= size);
        check_frame(data + e.hdr_len, size - e.hdr_len, &h);
        /* header + frame re-emitted byte for byte (check_frame compares the frame) */
        int hl = jet_eth_emit(out2, OUT_CAP, &e);
        MUST(hl == e.hdr_len);
        MUST(memcmp(out2, data, (size_t)hl) == 0);
    }
}

/* Recompute the header check of a frame starting at p (24 bytes present). */
static void repair(uint8_t *p)
{
    jet_store_be32(p + JET_FRAME_OFF_HCHECK, jet_crc32c(0, p, JET_FRAME_OFF_HCHECK));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jet_eth_hdr e;

    parse_both(data, size);

    if (size <= OUT_CAP) {
        if (size >= JET_FRAME_HDR_LEN) {
            memcpy(fixed, data, size);
            repair(fixed);
            parse_both(fixed, size);
        }
        if (jet_eth_parse(data, size, &e) == 0 && size - e.hdr_len >= JET_FRAME_HDR_LEN) {
            memcpy(fixed, data, size);
            repair(fixed + e.hdr_len);
            parse_both(fixed, size);
        }
    }

    emit_parse(data, size);
    return 0;
}

/* Seeds: 0 native, no CRC, empty; 1 native with CRC; 2 Ethernet untagged, padded to
 * the 60-byte minimum; 3 Ethernet with a VLAN tag, CRC, priority 6. */
size_t jet_fuzz_seed(unsigned i, uint8_t *buf, size_t cap)
{
    static const char text[] = "Jetstream seed payload";
    struct jet_frame_hdr h = {0};
    struct jet_eth_hdr e = {
        {0x02, 0, 0, 0, 0, 0x02}, {0x02, 0, 0, 0, 0, 0x01}, JET_ETHERTYPE, JET_ETH_UNTAGGED, 0};
    size_t off = 0;
    long n;

    h.src_station = 1;
    h.dst_station = 2;
    h.dst_chan = 3;
    h.src_chan = 4;
    switch (i) {
    case 0:
        n = jet_frame_build(buf, cap, &h, NULL, 0);
        break;
    case 1:
        h.flags = JET_FF_CRC;
        h.prio = 3;
        n = jet_frame_build(buf, cap, &h, text, sizeof text - 1);
        break;
    case 2:
    case 3: {
        if (i == 3) {
            e.vlan = 0x6064;
            h.flags = JET_FF_CRC;
            h.prio = 6;
            h.dst_station = JET_STATION_BROADCAST;
            h.dst_chan = JET_CHAN_CONTROL;
        }
        int hl = jet_eth_emit(buf, cap, &e);
        if (hl < 0)
            return 0;
        off = (size_t)hl;
        n = jet_frame_build(buf + off, cap - off, &h, text, i == 2 ? 4 : sizeof text - 1);
        if (n > 0 && off + (size_t)n < 60 && cap >= 60) {
            memset(buf + off + n, 0, 60 - off - (size_t)n);
            n = 60 - (long)off;
        }
        break;
    }
    default:
        return 0;
    }
    return n > 0 ? off + (size_t)n : 0;
}
