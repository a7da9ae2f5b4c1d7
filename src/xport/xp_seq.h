/* Transport engine: the sequence space.  Shared by RBS and TCP (src/xport, internal).
 *
 * On the wire sequence numbers are 32-bit and wrap: they compare with serial number
 * arithmetic (RFC 1982), a before b when (int32_t)(a - b) < 0, valid only while the two
 * are less than 2^31 apart (windows are at most 2^30: XP_WND_LIMIT).  Inside, every
 * position is 64-bit and never wraps:
 *   position 0          the SYN,
 *   position 1 + o      the data byte at stream offset o,
 *   position 1 + len    the FIN after len stream bytes;
 *   wire number         isn + (uint32_t)position.
 * A received 32-bit number is unwrapped once, to the 64-bit position nearest a
 * reference the receiver trusts (snd.una for acknowledgements, rcv.nxt for sequence
 * numbers); from then on comparisons are plain integer comparisons, and a jump of 2^31
 * or more cannot be expressed.  Positions stay below 2^63, so a difference may be
 * taken as int64_t. */
#ifndef JET_XP_SEQ_H
#define JET_XP_SEQ_H

#include <stdbool.h>
#include <stdint.h>

#define XP_WND_LIMIT (1ull << 30) /* largest window: numbers stay < 2^31 apart */

/* Serial number arithmetic on wire numbers. */
static inline bool xp_seq_lt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}

static inline bool xp_seq_le(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) <= 0;
}

/* Wire number of a 64-bit position in a space whose position 0 is isn. */
static inline uint32_t xp_seq_wire(uint32_t isn, uint64_t pos)
{
    return isn + (uint32_t)pos;
}

/* The 64-bit position nearest ref whose wire number (after isn) is w.  May be negative
 * when ref is small and w lies behind it: callers compare it as int64_t. */
static inline int64_t xp_seq_unwrap(uint64_t ref, uint32_t isn, uint32_t w)
{
    return (int64_t)ref + (int32_t)(w - (uint32_t)(isn + (uint32_t)ref));
}

static inline uint64_t xp_min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static inline uint64_t xp_max64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

#endif
