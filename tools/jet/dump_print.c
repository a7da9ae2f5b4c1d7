/* jet dump's printer (dump_print.h): one line per frame.
 *
 *   TIME [In |Out ]BODY
 *   native:    JET 3.40001 > 1.5201, flags [CRC], prio 0, length 1500: RBS Flags [.], ...
 *   Ethernet:  IP 198.18.0.1.5201 > 198.18.0.2.40000: Flags [P.], seq 1:1449, ack 1, ...
 *              ARP, Request who-has 198.18.0.2 tell 198.18.0.1, length 28
 *              02:4a:53:00:00:01 > ff:ff:ff:ff:ff:ff, JET 1.0 > bcast.7, ...   (0x88B5)
 *              02:4a:53:00:00:01 > 02:4a:53:00:00:02, ethertype 0x86dd, length 74
 *
 * A cursor (struct rd) walks the captured bytes: every read says how many
 * bytes it needs and fails when they were not captured; a line stops there
 * with "[|what]".  Lengths printed come from the headers (what was sent),
 * not from how much was captured. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dump_print.h"
#include "jet/crc32c.h"
#include "jet/frame.h"
#include "jet/inet.h"
#include "rbs/rbs_wire.h"

/* The captured bytes [p, end). */
struct rd {
    const uint8_t *p, *end;
};

static bool has(const struct rd *r, size_t n)
{
    return (size_t)(r->end - r->p) >= n;
}

static uint32_t be16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
    return be16(p) << 16 | be16(p + 2);
}

/* The line being written: never past cap, always NUL-terminated. */
struct out {
    char *b;
    size_t cap, n;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
    if (o->n + 1 >= o->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(o->b + o->n, o->cap - o->n, fmt, ap);
    va_end(ap);
    if (k > 0)
        o->n += (size_t)k < o->cap - o->n ? (size_t)k : o->cap - o->n - 1;
}

static void put_ip(struct out *o, uint32_t a)
{
    put(o, "%u.%u.%u.%u", a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255);
}

static void put_mac(struct out *o, const uint8_t *m)
{
    put(o, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* ---- native frames and RBS ---- */

static void put_rbs(struct out *o, const uint8_t *seg, size_t caplen, uint32_t paylen)
{
    struct rbs_hdr h;
    size_t n = caplen < paylen ? caplen : paylen;
    int hl = rbs_hdr_parse(seg, n, &h);
    if (hl < 0) {
        if (n < paylen && n < RBS_HDR_MAX && n >= 2 && seg[0] == RBS_VERSION)
            put(o, ": RBS [|rbs]"); /* cut inside what may be an RBS header */
        else
            put(o, ": data %u", paylen);
        return;
    }
    uint32_t len = paylen - (uint32_t)hl;
    put(o, ": RBS Flags [%s%s%s%s%s]", h.flags & RBS_SYN ? "S" : "", h.flags & RBS_FIN ? "F" : "",
        h.flags & RBS_RST ? "R" : "", h.flags & RBS_ACK ? "." : "",
        h.flags & RBS_FLAGS_KNOWN ? "" : "none");
    if (len)
        put(o, ", seq %u:%u", h.seq, h.seq + len);
    else
        put(o, ", seq %u", h.seq);
    if (h.flags & RBS_ACK)
        put(o, ", ack %u", h.ack);
    put(o, ", win %u", h.wnd);
    if (h.opts) {
        put(o, ", options [");
        const char *sep = "";
        if (h.opts & RBS_HAS_MSS) {
            put(o, "mss %u", h.mss);
            sep = ",";
        }
        if (h.opts & RBS_HAS_WSCALE) {
            put(o, "%swscale %u", sep, h.wscale);
            sep = ",";
        }
        if (h.opts & RBS_HAS_CHAN)
            put(o, "%schan %u", sep, h.chan);
        put(o, "]");
    }
    if (h.nsack) {
        put(o, ", sack %u", h.nsack);
        for (unsigned i = 0; i < h.nsack && i < RBS_MAX_SACK; i++)
            put(o, " {%u:%u}", h.sack[i].start, h.sack[i].end);
    }
    put(o, ", length %u", len);
}

/* A native frame at r; len: the whole frame's length as sent (the Ethernet
 * payload's, for one inside Ethernet). */
static void put_native(struct out *o, struct rd r, uint32_t len)
{
    if (!has(&r, JET_FRAME_HDR_LEN)) {
        put(o, "JET, length %u [|jet]", len);
        return;
    }
    const uint8_t *h = r.p;
    if (be32(h + 20) != jet_crc32c(0, h, 20)) {
        put(o, "JET bad header check, length %u", len);
        return;
    }
    if (h[0] != 1) {
        put(o, "JET version %u, length %u", h[0], len);
        return;
    }
    uint32_t src = be16(h + 2), dst = be16(h + 4), paylen = be32(h + 16);
    put(o, "JET %u.%u > ", src, be32(h + 12));
    if (dst == JET_STATION_BROADCAST)
        put(o, "bcast.%u", be32(h + 8));
    else
        put(o, "%u.%u", dst, be32(h + 8));
    uint8_t fl = h[1];
    put(o, ", flags [%s%s%s%s]", fl & 1 ? "CRC" : "", (fl & 3) == 3 ? "," : "", fl & 2 ? "BAD" : "",
        fl & 3 ? "" : "none");
    put(o, ", prio %u, length %u", fl >> 2 & 7, len);
    if ((fl & 0xE0) || be16(h + 6)) {
        put(o, " (malformed: reserved bits set)");
        return;
    }
    if (paylen > JET_FRAME_MAX_PAYLOAD ||
        (uint64_t)JET_FRAME_HDR_LEN + paylen + (fl & 1) * 4u > len) {
        put(o, " (malformed: payload length %u)", paylen);
        return;
    }
    r.p += JET_FRAME_HDR_LEN;
    size_t cap = (size_t)(r.end - r.p);
    if (paylen)
        put_rbs(o, r.p, cap, paylen);
    if ((fl & 1) && cap >= (size_t)paylen + 4 && be32(r.p + paylen) != jet_crc32c(0, r.p, paylen))
        put(o, " (crc bad)");
}

/* ---- Ethernet: IPv4 (TCP, UDP, ICMP), ARP, native ---- */

static void put_tcp(struct out *o, struct rd r, uint32_t src, uint32_t dst, uint32_t seglen)
{
    if (!has(&r, JET_TCP_HDR_LEN)) {
        put_ip(o, src);
        put(o, " > ");
        put_ip(o, dst);
        put(o, ": [|tcp]");
        return;
    }
    const uint8_t *t = r.p;
    uint32_t sp = be16(t), dp = be16(t + 2), seq = be32(t + 4), ack = be32(t + 8);
    unsigned hl = (t[12] >> 4) * 4u, fl = t[13];
    put_ip(o, src);
    put(o, ".%u > ", sp);
    put_ip(o, dst);
    put(o, ".%u: Flags [%s%s%s%s%s%s%s%s%s]", dp, fl & 0x02 ? "S" : "", fl & 0x01 ? "F" : "",
        fl & 0x08 ? "P" : "", fl & 0x04 ? "R" : "", fl & 0x20 ? "U" : "", fl & 0x40 ? "E" : "",
        fl & 0x80 ? "W" : "", fl & 0x10 ? "." : "", fl ? "" : "none");
    if (hl < JET_TCP_HDR_LEN || hl > seglen) {
        put(o, ", bad header length %u", hl);
        return;
    }
    uint32_t len = seglen - hl;
    if (len)
        put(o, ", seq %u:%u", seq, seq + len);
    else
        put(o, ", seq %u", seq);
    if (fl & 0x10)
        put(o, ", ack %u", ack);
    put(o, ", win %u", be16(t + 14));
    /* options: the captured part of them */
    size_t olen = hl - JET_TCP_HDR_LEN, have = (size_t)(r.end - r.p) - JET_TCP_HDR_LEN;
    const uint8_t *p = t + JET_TCP_HDR_LEN, *end = p + (olen < have ? olen : have);
    if (olen) {
        put(o, ", options [");
        const char *sep = "";
        while (p < end) {
            uint8_t kind = *p;
            if (kind == 0) {
                put(o, "%seol", sep);
                break;
            }
            if (kind == 1) {
                put(o, "%snop", sep);
                p++;
                sep = ",";
                continue;
            }
            if (end - p < 2 || p[1] < 2 || p[1] > end - p) {
                put(o, "%s[bad opt]", sep);
                break;
            }
            uint8_t ol = p[1];
            if (kind == 2 && ol == 4)
                put(o, "%smss %u", sep, be16(p + 2));
            else if (kind == 3 && ol == 3)
                put(o, "%swscale %u", sep, p[2]);
            else if (kind == 4 && ol == 2)
                put(o, "%ssackOK", sep);
            else if (kind == 8 && ol == 10)
                put(o, "%sTS val %u ecr %u", sep, be32(p + 2), be32(p + 6));
            else if (kind == 5 && ol >= 10 && (ol - 2) % 8 == 0) {
                put(o, "%ssack %u", sep, (ol - 2) / 8);
                for (unsigned i = 2; i + 8 <= ol; i += 8)
                    put(o, " {%u:%u}", be32(p + i), be32(p + i + 4));
            } else
                put(o, "%sopt-%u:%u", sep, kind, ol);
            sep = ",";
            p += ol;
        }
        put(o, "]%s", olen > have ? " [|tcp]" : "");
    }
    put(o, ", length %u", len);
}

static void put_ipv4(struct out *o, struct rd r)
{
    if (!has(&r, JET_IPV4_HDR_LEN)) {
        put(o, "IP [|ip]");
        return;
    }
    const uint8_t *h = r.p;
    unsigned ihl = (h[0] & 15) * 4u;
    uint32_t tot = be16(h + 2), src = be32(h + 12), dst = be32(h + 16), frag = be16(h + 6);
    uint8_t proto = h[9];
    put(o, "IP ");
    if (h[0] >> 4 != 4 || ihl < JET_IPV4_HDR_LEN || ihl > tot) {
        put(o, "bad header (version %u, header length %u, total %u)", h[0] >> 4, ihl, tot);
        return;
    }
    if (!has(&r, ihl)) {
        put(o, "[|ip]");
        return;
    }
    uint32_t plen = tot - ihl;
    struct rd pl = {r.p + ihl, r.end};
    if ((size_t)(pl.end - pl.p) > plen)
        pl.end = pl.p + plen; /* link padding is not the packet's */
    if (frag & JET_IPV4_OFF_MASK) {
        put_ip(o, src);
        put(o, " > ");
        put_ip(o, dst);
        put(o, ": ip-proto-%u (fragment offset %u), length %u", proto,
            (frag & JET_IPV4_OFF_MASK) * 8, plen);
        return;
    }
    if (proto == JET_IP_PROTO_TCP) {
        put_tcp(o, pl, src, dst, plen);
        return;
    }
    if (proto == JET_IP_PROTO_UDP && has(&pl, JET_UDP_HDR_LEN)) {
        put_ip(o, src);
        put(o, ".%u > ", be16(pl.p));
        put_ip(o, dst);
        put(o, ".%u: UDP, length %u", be16(pl.p + 2), plen >= 8 ? plen - 8 : 0);
        return;
    }
    put_ip(o, src);
    put(o, " > ");
    put_ip(o, dst);
    if (proto == JET_IP_PROTO_ICMP && has(&pl, JET_ICMP_HDR_LEN)) {
        uint8_t t = pl.p[0];
        if (t == JET_ICMP_ECHO || t == JET_ICMP_ECHO_REPLY)
            put(o, ": ICMP echo %s, id %u, seq %u", t ? "request" : "reply", be16(pl.p + 4),
                be16(pl.p + 6));
        else if (t == JET_ICMP_DEST_UNREACH)
            put(o, ": ICMP unreachable, code %u", pl.p[1]);
        else if (t == JET_ICMP_TIME_EXCEEDED)
            put(o, ": ICMP time exceeded, code %u", pl.p[1]);
        else
            put(o, ": ICMP type %u, code %u", t, pl.p[1]);
    } else if (proto == JET_IP_PROTO_UDP || proto == JET_IP_PROTO_ICMP) {
        put(o, ": %s [|%s]", proto == JET_IP_PROTO_UDP ? "UDP" : "ICMP",
            proto == JET_IP_PROTO_UDP ? "udp" : "icmp");
        return;
    } else {
        put(o, ": ip-proto-%u", proto);
    }
    put(o, ", length %u", plen);
}

static void put_arp(struct out *o, struct rd r)
{
    if (!has(&r, JET_ARP_LEN)) {
        put(o, "ARP [|arp]");
        return;
    }
    const uint8_t *a = r.p;
    if (be16(a) != 1 || be16(a + 2) != JET_ETHERTYPE_IPV4 || a[4] != 6 || a[5] != 4) {
        put(o, "ARP, hardware %u, protocol 0x%04x", be16(a), be16(a + 2));
        return;
    }
    uint32_t op = be16(a + 6), spa = be32(a + 14), tpa = be32(a + 24);
    if (op == JET_ARP_REQUEST) {
        put(o, "ARP, Request who-has ");
        put_ip(o, tpa);
        put(o, " tell ");
        put_ip(o, spa);
    } else if (op == JET_ARP_REPLY) {
        put(o, "ARP, Reply ");
        put_ip(o, spa);
        put(o, " is-at ");
        put_mac(o, a + 8);
    } else {
        put(o, "ARP, op %u", op);
    }
    put(o, ", length %u", JET_ARP_LEN);
}

static void put_eth(struct out *o, struct rd r, uint32_t len)
{
    if (!has(&r, 14)) {
        put(o, "Ethernet, length %u [|ether]", len);
        return;
    }
    const uint8_t *e = r.p;
    uint32_t type = be16(e + 12);
    size_t hl = 14;
    if (type == 0x8100) { /* one 802.1Q tag */
        if (!has(&r, 18)) {
            put(o, "802.1Q, length %u [|ether]", len);
            return;
        }
        type = be16(e + 16);
        hl = 18;
    }
    r.p += hl;
    if (type == JET_ETHERTYPE_IPV4) {
        put_ipv4(o, r);
        return;
    }
    if (type == JET_ETHERTYPE_ARP) {
        put_arp(o, r);
        return;
    }
    put_mac(o, e + 6);
    put(o, " > ");
    put_mac(o, e);
    if (type == JET_ETHERTYPE) {
        put(o, ", ");
        put_native(o, r, len >= hl ? len - (uint32_t)hl : 0);
        return;
    }
    put(o, ", ethertype 0x%04x, length %u", type, len);
}

size_t dump_line(char *buf, size_t cap, const struct jet_capture_rec *rec, bool show_dir)
{
    struct out o = {buf, cap, 0};
    if (!cap)
        return 0;
    buf[0] = 0;
    time_t s = (time_t)(rec->ts_ns / 1000000000u);
    struct tm tm;
    localtime_r(&s, &tm);
    put(&o, "%02d:%02d:%02d.%09u ", tm.tm_hour, tm.tm_min, tm.tm_sec,
        (unsigned)(rec->ts_ns % 1000000000u));
    if (show_dir)
        put(&o, "%s", rec->dir == JET_CAPTURE_OUT ? "Out " : "In  ");
    uint32_t caplen = rec->caplen < rec->len ? rec->caplen : rec->len;
    struct rd r = {rec->data, rec->data + caplen};
    if (rec->encap == JET_ENCAP_ETH)
        put_eth(&o, r, rec->len);
    else
        put_native(&o, r, rec->len);
    if (rec->refused)
        put(&o, " (not sent: refused by the link)");
    return o.n;
}

/* ---- the filter ---- */

bool dump_native_of(const struct jet_capture_rec *rec, struct dump_native *n)
{
    uint32_t caplen = rec->caplen < rec->len ? rec->caplen : rec->len;
    const uint8_t *p = rec->data;
    if (rec->encap == JET_ENCAP_ETH) {
        if (caplen < 14)
            return false;
        size_t hl = 14;
        uint32_t type = be16(p + 12);
        if (type == 0x8100 && caplen >= 18) {
            type = be16(p + 16);
            hl = 18;
        }
        if (type != JET_ETHERTYPE)
            return false;
        p += hl;
        caplen -= (uint32_t)hl;
    }
    if (caplen < JET_FRAME_HDR_LEN || be32(p + 20) != jet_crc32c(0, p, 20))
        return false; /* a header that fails its check names nothing */
    *n = (struct dump_native){.src = (uint16_t)be16(p + 2),
                              .dst = (uint16_t)be16(p + 4),
                              .dst_chan = be32(p + 8),
                              .src_chan = be32(p + 12),
                              .flags = p[1]};
    return true;
}

bool dump_match(const struct dump_filter *f, const struct jet_capture_rec *rec)
{
    if (!f->has_chan && !f->has_station)
        return true;
    if (rec->encap == JET_ENCAP_ETH && f->has_station && f->has_mac && !f->has_chan) {
        uint32_t caplen = rec->caplen < rec->len ? rec->caplen : rec->len;
        if (caplen >= 12 && (!memcmp(rec->data, f->mac, 6) || !memcmp(rec->data + 6, f->mac, 6)))
            return true;
    }
    struct dump_native n;
    if (!dump_native_of(rec, &n))
        return false; /* channels and stations are a native frame's */
    if (f->has_station && n.src != f->station && n.dst != f->station)
        return false;
    if (f->has_chan && n.src_chan != f->chan && n.dst_chan != f->chan)
        return false;
    return true;
}

/* ---- reading pcapng ---- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t ts_ns(uint64_t ts, uint8_t res)
{
    if (res & 0x80) { /* 2^-k s */
        unsigned k = res & 0x7f;
        return k >= 64 ? 0 : (uint64_t)((unsigned __int128)ts * 1000000000u >> k);
    }
    uint64_t ns = ts;
    for (unsigned i = res; i < 9; i++)
        ns *= 10;
    for (unsigned i = 9; i < res && i < 30; i++)
        ns /= 10;
    return ns;
}

static int bad(const char **why, const char *w)
{
    *why = w;
    return -EBADMSG;
}

int dump_pcapng_block(struct dump_pcapng *s, const uint8_t *b, size_t n, struct jet_capture_rec *r,
                      const char **why)
{
    if (n < 12 || n % 4 || n > DUMP_BLOCK_MAX || le32(b + 4) != n || le32(b + n - 4) != n)
        return bad(why, "a block's length is wrong");
    uint32_t type = le32(b);
    if (type == 0x0A0D0D0A) {
        if (n < 28 || le32(b + 8) != 0x1A2B3C4D)
            return bad(why, "not a little-endian pcapng section header");
        s->nif = 0; /* a new section: new interfaces */
        s->seen_shb = true;
        return 0;
    }
    if (!s->seen_shb)
        return bad(why, "not a pcapng file (no section header first)");
    if (type == 1) { /* IDB */
        if (n < 20)
            return bad(why, "interface description too short");
        if (s->nif >= DUMP_IF_MAX)
            return bad(why, "too many interfaces");
        struct dump_if *f = &s->ifs[s->nif++];
        uint32_t lt = (uint32_t)b[8] | (uint32_t)b[9] << 8;
        f->encap = lt == JET_LINKTYPE_ETHERNET ? JET_ENCAP_ETH
                   : lt == JET_LINKTYPE_USER0  ? JET_ENCAP_NATIVE
                                               : -1;
        f->tsresol = 6;
        for (size_t o = 16; o + 4 <= n - 4;) {
            uint32_t code = (uint32_t)b[o] | (uint32_t)b[o + 1] << 8;
            uint32_t ol = (uint32_t)b[o + 2] | (uint32_t)b[o + 3] << 8;
            if (code == 0)
                break;
            if (ol > n - 4 - o - 4)
                return bad(why, "an interface option runs past its block");
            if (code == 9 && ol >= 1)
                f->tsresol = b[o + 4];
            o += 4 + ((ol + 3) & ~3u);
        }
        return 0;
    }
    if (type != 6) /* EPB only; others are passed over */
        return 0;
    if (n < 32)
        return bad(why, "packet block too short");
    uint32_t ifid = le32(b + 8), cap = le32(b + 20), len = le32(b + 24);
    if (ifid >= s->nif)
        return bad(why, "a packet of an interface not described");
    if (cap > n - 32 || cap > len)
        return bad(why, "a packet's captured length is wrong");
    const struct dump_if *f = &s->ifs[ifid];
    if (f->encap < 0)
        return 0;
    uint64_t ts = (uint64_t)le32(b + 12) << 32 | le32(b + 16);
    *r = (struct jet_capture_rec){.ts_ns = ts_ns(ts, f->tsresol),
                                  .data = b + 28,
                                  .caplen = cap,
                                  .len = len,
                                  .encap = (uint8_t)f->encap};
    size_t o = 28 + (((size_t)cap + 3) & ~(size_t)3);
    while (o + 4 <= n - 4) {
        uint32_t code = (uint32_t)b[o] | (uint32_t)b[o + 1] << 8;
        uint32_t ol = (uint32_t)b[o + 2] | (uint32_t)b[o + 3] << 8;
        if (code == 0 || ol > n - 4 - o - 4)
            break;
        if (code == 2 && ol == 4) /* epb_flags: direction */
            r->dir = (b[o + 4] & 3) == 1   ? JET_CAPTURE_IN
                     : (b[o + 4] & 3) == 2 ? JET_CAPTURE_OUT
                                           : 0;
        if (code == 1 && ol >= 8 && !memcmp(b + o + 4, "not sent", 8))
            r->refused = 1;
        o += 4 + ((ol + 3) & ~3u);
    }
    return 1;
}
