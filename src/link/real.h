/* The backends on real interfaces and sockets, opened by jet_link_open()
 * (link.c) from a parsed name.  station: jet_link_opts.station (-1: from
 * the link's MAC, ethnat.h).  Each returns 0 with *out a handle, or a
 * negative errno with the reason in err. */
#ifndef JET_LINK_REAL_H
#define JET_LINK_REAL_H

#include "jet/link.h"

/* packet:IF: AF_PACKET (src/link/packet.c, docs/link-packet.md). */
int packet_link_open(const struct jet_link_name *n, int station, struct jet_link **out,
                     struct jet_err *err);
/* packet:IF opened with JET_LINK_MONITOR: every frame on the interface,
 * promiscuous while open, lent as Ethernet; sends nothing (packet.c). */
int packet_monitor_open(const struct jet_link_name *n, struct jet_link **out, struct jet_err *err);
/* xdp:IF[@Q]: AF_XDP with the steering program (src/link/xdp.c, docs/link-xdp.md). */
int xdp_link_open(const struct jet_link_name *n, int station, struct jet_link **out,
                  struct jet_err *err);
/* udp:HOST:PORT[,bind=...]: Jetstream frames in UDP (src/link/udp.c, docs/link-udp.md). */
int udp_link_open(const struct jet_link_name *n, int station, struct jet_link **out,
                  struct jet_err *err);

#endif
