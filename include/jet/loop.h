/* The loop link (`loop:NAME`): two or more ends of one network inside one
 * process, for tests of the channel layer, RBS and TCP without shared memory
 * (docs/links.md).
 *
 * Each jet_link_open("loop:NAME") attaches a new end to the loop network
 * NAME, created by the first open and freed when its last end closes.  Loop
 * names are a namespace of the process, like interface names are of the
 * host: two opens of the same name anywhere in the process meet.  Up to 64
 * ends, numbered from 0 (caps.addr); opts->station picks the number, -1 the
 * first free one.
 *
 * Frames move by reference: each end owns a fixed pool of buffers, a frame
 * sent is handed to its receiver's inbox, and the buffer goes back to its
 * owner when the receiver releases it.  Ends may be driven from different
 * threads (one handle per thread at a time).  Native frames are addressed
 * by the destination station in their header (JET_STATION_BROADCAST: every
 * other end), Ethernet frames by destination MAC (jet_loop_mac; a group
 * address: every other end). */
#ifndef JET_LOOP_H
#define JET_LOOP_H

#pragma GCC visibility push(default) /* the library exports only what these headers declare */

#include <stdint.h>

#include "jet/err.h"
#include "jet/link.h"

enum {
    JET_LOOP_MAX_ENDS = 64,
    JET_LOOP_MTU = 9000,    /* largest native payload */
    JET_LOOP_BUFFERS = 256, /* buffers each end owns */
    JET_LOOP_NAME_MAX = 48, /* as LAN names: 1..48 of [A-Za-z0-9_.-], not starting with '.' */
};

/* Attaches a new end to loop network `name` as end `addr` (0..63), or the
 * first free one if addr is -1.  Errors: -EINVAL bad name, -ERANGE no such
 * end number, -EADDRINUSE taken, -EBUSY all 64 taken, -ENOMEM; the reason in
 * err.  jet_link_open("loop:NAME") calls this. */
int jet_loop_attach(const char *name, int addr, struct jet_link **out, struct jet_err *err);

/* Ethernet address of end addr of the loop network l is on:
 * 02:4a:4c:xx:yy:addr, xx:yy from a hash of the loop name. */
void jet_loop_mac(const struct jet_link *l, uint32_t addr, uint8_t mac[6]);

#pragma GCC visibility pop

#endif
