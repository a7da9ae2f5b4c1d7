/* CRC32C (Castagnoli): the checksum of iSCSI, SCTP, ext4 and RBS frames.
 *
 * Polynomial 0x1EDC6F41, bit-reflected (0x82F63B78), initial value ~0 and
 * final xor ~0, both applied inside every call.  A CRC is therefore chained by
 * passing the previous result back in:
 *
 *     jet_crc32c(jet_crc32c(0, a, n), b, m) == jet_crc32c(0, a || b, n + m)
 *
 * and the CRC of nothing is 0, so 0 is the value to start a chain with.
 * Check value: jet_crc32c(0, "123456789", 9) == 0xE3069283.
 *
 * Several implementations are built in (see jet_crc32c_impls()); the fastest
 * one this CPU runs is picked at the first call.  All give identical results.
 *
 * Thread safety: every function may be called from any number of threads at
 * once.  jet_crc32c_select() switches the implementation for the whole
 * process; it is meant for tests and benchmarks, not for use while other
 * threads compute CRCs (they stay correct, but which code they run is
 * undefined until the switch has happened). */
#ifndef JET_CRC32C_H
#define JET_CRC32C_H

#pragma GCC visibility push(default) /* the library exports only what these headers declare */

#include <stddef.h>
#include <stdint.h>

/* CRC of the len bytes at buf (any alignment; buf may be NULL when len is 0),
 * chained on crc (0 to start).  Returns the new CRC.  Reads buf only. */
uint32_t jet_crc32c(uint32_t crc, const void *buf, size_t len);

/* Copies len bytes from src to dst, like memcpy (the ranges must not
 * overlap; any alignment; either may be NULL when len is 0), and returns the
 * CRC of those bytes chained on crc, exactly as jet_crc32c(crc, src, len)
 * would.  One pass over the data: each byte is loaded once, stored and folded
 * into the CRC.  Writes nothing outside [dst, dst + len). */
uint32_t jet_crc32c_copy(uint32_t crc, void *dst, const void *src, size_t len);

/* Name of the implementation in use, e.g. "sse42-3way" or "portable".
 * Static string, never NULL. */
const char *jet_crc32c_impl(void);

/* Makes the implementation called name the one in use, for the whole
 * process.  name is one of jet_crc32c_impls(), or "auto" for the default
 * (the fastest this CPU supports).  Returns 0; -ENOTSUP if this CPU cannot
 * run it (nothing changes); -ENOENT if the name is unknown or NULL. */
int jet_crc32c_select(const char *name);

/* Names of every implementation built into the library, fastest first, as a
 * static NULL-terminated array.  Some may be unsupported on this CPU:
 * jet_crc32c_select() tells. */
const char *const *jet_crc32c_impls(void);

/* Same result as jet_crc32c(), computed one bit at a time straight from the
 * definition.  Slow (a few hundred MB/s); the reference for tests. */
uint32_t jet_crc32c_bitwise(uint32_t crc, const void *buf, size_t len);

#pragma GCC visibility pop

#endif
