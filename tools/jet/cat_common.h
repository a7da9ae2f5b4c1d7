/* What `jet cat` over RBS (cat.c) and over TCP (cat_tcp.c) share: one line on stderr
 * in one write, a look at stdin, reading stdin into a block, the nap between rounds,
 * and the receive-rate line of -v.  The loops themselves stay with their protocol
 * (each calls its own connection's functions directly). */
#ifndef JET_TOOLS_CAT_COMMON_H
#define JET_TOOLS_CAT_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jet/chan.h"
#include "jet/stack.h"

#define CAT_NAP_MAX_NS    50000000ll   /* longest sleep: timers are looked at this often at least */
#define CAT_STDIN_LOOK_NS 200000ll     /* while frames come and go, stdin is looked at this often */
#define CAT_ACTIVE_NS     100000000ull /* "frames come and go": one came this recently */

/* One line on stderr, written with one write(2) so that it lands whole in a log that
 * other processes append to (stdio may split it).  Returns 1. */
__attribute__((format(printf, 1, 2))) int cat_say(const char *fmt, ...);
/* Whether fd has something to read now (without waiting). */
bool cat_readable(int fd);
/* Reads stdin into b[*fill..cap) while it stays readable (a pipe gives at most its
 * buffer per read: take more); end of input sets *eof.  The reads done (>= 0), or -1
 * with the error said. */
int cat_read_in(uint8_t *b, size_t cap, size_t *fill, bool *eof);
/* Sleeps until the station or stdin has something, or the station's next timer.
 *
 * The station's fd is rung when a frame is queued for us, but a LAN with a delay
 * queues it before it may be received, and nothing rings again when it may: only the
 * station's wait (jet_station_wait) knows when.  So that is where jet cat sleeps,
 * unless stdin matters (want_in: room for it): then, while frames come and go (active:
 * one came within CAT_ACTIVE_NS, or sent bytes wait for acknowledgement), it waits at
 * most CAT_STDIN_LOOK_NS at a time and looks at stdin between; when the connection is
 * idle, it sleeps on both fds (the first frame rings the fd, and *last_rx is set). */
void cat_nap(struct jet_station *s, bool want_in, bool active, uint64_t *last_rx);
/* SIGINT and SIGTERM set cat_stop (the signal's number): the loops return on it, so
 * that the link is closed (an xdp: link detaches its program) rather than left. */
extern volatile int cat_stop;
void cat_catch_signals(void);
/* -v: "jet cat: received N bytes in S s (first byte to end of stream) = R Mbit/s". */
void cat_say_rate(uint64_t bytes, uint64_t t_first, uint64_t t_end);

#endif
