/* TCP: SYN cookies (RFC 4987 section 3.6), sans-I/O (internal).
 *
 * When the SYN backlog is full a listener answers a SYN without keeping state: the
 * SYN-ACK's sequence number (the cookie) encodes what the handshake needs later, under
 * a MAC, and the third segment's acknowledgement number brings it back.
 *
 * The cookie (all arithmetic mod 2^32, bit 31 at the left):
 *
 *     cookie = theirs + off + [ count mod 32 (5) | mac (24) | mss index (3) ]
 *
 *     theirs     the SYN's sequence number (their ISN)
 *     off        SipHash-2-4(key, 'O', 4-tuple), 32 bits: hides the count field from
 *                an observer (it would otherwise show a clock) and makes the top bits
 *                unguessable
 *     count      now / TCP_COOKIE_TICK_NS (64 s ticks); its low 5 bits ride along
 *     mss index  into tcp_cookie_mss_table (8 entries), the largest entry <= the MSS
 *     mac        24 bits of SipHash-2-4(key, 'C', 4-tuple, theirs, full count, mss
 *                index, option byte)
 *
 * The option byte: when the SYN carried timestamps, the SYN-ACK's timestamp value
 * carries the peer's window scale, SACK-permitted and ECN in its low 6 bits as Linux
 * lays them out (bits 0-3 window scale, 15 = none; bit 4 SACK; bit 5 ECN), and the
 * third segment echoes them in its TSecr; the MAC covers those 6 bits and whether
 * timestamps were used, so they cannot be altered either.  Without timestamps the
 * cookie keeps only the MSS: the SYN-ACK must then offer no window scaling, no SACK and
 * no ECN (tcp_cookie.opt says what to offer, always).
 *
 * A cookie is accepted while count(now) - count(issued) < TCP_COOKIE_AGES: between 64
 * and 128 s after it was issued.  A blind forger (who has not seen the SYN-ACK) is
 * accepted with probability 2/32 * 2^-24 = 2^-28 per ACK (any mss index decodes); a
 * cookie altered by someone who has seen it, 2^-24 at most.  docs/tcp.md has the
 * reasoning and the comparison with Linux. */
#ifndef JET_TCP_COOKIE_H
#define JET_TCP_COOKIE_H

#include <stdbool.h>
#include <stdint.h>

#include "jet/inet.h"
#include "tcp/tcp_isn.h"

#define TCP_COOKIE_TICK_NS 64000000000ull /* the count advances every 64 s */

enum {
    TCP_COOKIE_AGES = 2,     /* accepted: the issuing tick and the one after it */
    TCP_COOKIE_MSS_N = 8,    /* entries in the MSS table (3 bits) */
    TCP_COOKIE_MSS_MIN = 88, /* the table's smallest entry; below it: no cookie */
    TCP_COOKIE_TS_BITS = 6,  /* low timestamp-value bits that carry options */
    TCP_COOKIE_TS_NO_WSCALE = 0xf,
    TCP_COOKIE_TS_SACK = 1 << 4,
    TCP_COOKIE_TS_ECN = 1 << 5,
};

/* The MSS values a cookie can carry, ascending. */
extern const uint16_t tcp_cookie_mss_table[TCP_COOKIE_MSS_N];

/* What a cookie carries: the SYN-ACK offers exactly this, the check returns exactly
 * this. */
struct tcp_cookie_opts {
    uint16_t mss;    /* a tcp_cookie_mss_table entry: the MSS to send with */
    uint8_t wscale;  /* the peer's window scale shift (0..14) when has_wscale */
    bool has_wscale; /* peer offered window scaling (only with has_ts) */
    bool sack_ok;    /* peer offered SACK (only with has_ts) */
    bool ecn_ok;     /* ECN agreed (only with has_ts) */
    bool has_ts;     /* timestamps in use (the SYN carried them) */
};

struct tcp_cookie {
    uint32_t isn;   /* our ISN: the SYN-ACK's sequence number */
    uint32_t tsval; /* the SYN-ACK's timestamp value, when opt.has_ts */
    struct tcp_cookie_opts opt;
};

/* Makes the cookie for a SYN on t (seen from us) whose sequence number is their_isn and
 * whose options are syn (as jet_tcp_parse() read them: mss 0 = absent, taken as 536).
 * ecn_ok: the caller agrees to ECN (the SYN set ECE and CWR and ECN is enabled).
 * our_mss: the largest segment our side may send (from the MTU); 0 for no limit.
 * ts_now: our timestamp clock, used only when syn->has_ts: c->tsval is ts_now with its
 * low 6 bits replaced by the options, lowered by 64 when that would put it ahead of
 * ts_now (as Linux does), so timestamps never run ahead of the clock.
 * Returns 0 and fills c, or -ERANGE when min(MSS, our_mss) is under TCP_COOKIE_MSS_MIN
 * (no table entry fits: drop the SYN). */
int tcp_cookie_make(const struct tcp_key *k, const struct tcp_tuple *t, uint32_t their_isn,
                    const struct jet_tcp_hdr_opts *syn, bool ecn_ok, uint16_t our_mss, uint32_t ts_now,
                    uint64_t now, struct tcp_cookie *c);

/* Checks the segment that completes a cookie handshake: seq and ack are its sequence
 * and acknowledgement numbers (their ISN + 1 and the cookie + 1), opt its options
 * (has_ts and ts_ecr are read; NULL: none).  The segment must be a pure ACK or carry
 * data from the first byte; a later segment (seq past their ISN + 1) fails, as on
 * Linux.  Returns 0 and fills out (and *age, if not NULL: ticks since issue, below
 * TCP_COOKIE_AGES) for a cookie this key issued for this SYN and tuple and that has not
 * expired; -ETIMEDOUT for one that did, issued 2 to 31 ticks ago; -EINVAL otherwise
 * (forged, wrong tuple or sequence number, options altered, timestamps added or
 * dropped).  out is written only on success. */
int tcp_cookie_check(const struct tcp_key *k, const struct tcp_tuple *t, uint32_t seq, uint32_t ack,
                     const struct jet_tcp_hdr_opts *opt, uint64_t now, struct tcp_cookie_opts *out,
                     unsigned *age);

#endif
