/* What the xdp: link (xdp.c) tells beyond the ops: for its tests and tools. */
#ifndef JET_LINK_XDP_H
#define JET_LINK_XDP_H

#include <stdbool.h>

#include "jet/link.h"

struct xdp_link_info {
    const char *mode;    /* "native" or "generic" */
    const char *why;     /* why not native ("" when native) */
    const char *how;     /* "dispatcher" (libxdp's, bpffs mounted) or "single" */
    bool zero_copy;      /* XDP_ZEROCOPY (else XDP_COPY) */
    bool need_wakeup;    /* bound with XDP_USE_NEED_WAKEUP */
    bool multi_buffer;   /* bound with XDP_USE_SG */
    int addrs_fd, ports_fd, stats_fd; /* the steering program's maps */
};

/* l must be an xdp: link (l->ops->kind "xdp"): 0, else -EINVAL. */
int xdp_link_info(const struct jet_link *l, struct xdp_link_info *out);

#endif
