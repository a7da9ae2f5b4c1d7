/* What the links on a file descriptor (tap:, packet:, xdp:, udp:) share
 * for waiting: the descriptor is level-triggered, so a wait is one poll(). */
#ifndef JET_LINK_FD_H
#define JET_LINK_FD_H

#include <stdbool.h>
#include <stdint.h>

#include "jet/link.h"

/* Sleeps until fd is readable (or writable, with `out`), or timeout_ns
 * passes (-1: no limit).  With `soon` (frames wait to go or to be reaped,
 * which poll() does not show) it looks again within 1 ms.  0, -EINTR, or a
 * negative errno with the reason on l. */
int link_fd_wait(struct jet_link *l, int fd, bool out, bool soon, int64_t timeout_ns);

/* jet_link_arm() for such a link with nothing of its own pending: 1 if fd
 * is readable now, else 0 (level-triggered: nothing to clear). */
int link_fd_ready(int fd);

#endif
