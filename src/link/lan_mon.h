/* Internal: the LAN monitor's reading of a monitor ring (lan_mon.c), as pure
 * functions on bytes, so that the fuzz target (fuzz/fuzz_lanmon.c) and the
 * tests drive them without a segment. */
#ifndef JET_LINK_LAN_MON_H
#define JET_LINK_LAN_MON_H

#include <stdbool.h>
#include <stdint.h>

/* One record of a monitor ring, as checked. */
struct lan_mon_view {
    uint32_t skip;       /* bytes to move the head by */
    const uint8_t *data; /* the frame inside data[] (NULL: padding) */
    uint32_t len;        /* bytes at data: the frame's first (the snap length) */
    uint32_t wire_len;   /* the frame's whole length */
    uint8_t encap;
    uint16_t src, dst;
    uint64_t at; /* its sender's stamp (struct lan_mon_rec.at) */
};

/* Reads the record at byte position h of a ring whose data are
 * data[0..size) (size a power of two), with the producer's tail at t:
 * 1 with *v filled, 0 if h == t (nothing there), -EBADMSG if the indices or
 * the record are not what a producer writes (then nothing up to t can be
 * trusted).  Every field is read once and checked: the record's position,
 * its whole length (14..frame_max), the bytes it holds (at most that, at
 * least that or LAN_MON_SNAP_MIN, and inside both the ring's end and t), its
 * encapsulation; v->data then lies inside data[0..size). */
int lan_mon_parse(const uint8_t *data, uint32_t size, uint32_t h, uint32_t t, uint32_t frame_max,
                  struct lan_mon_view *v);

/* Completes the TCP or UDP checksum of an unfragmented IPv4 frame in
 * Ethernet (d, len bytes; it may be partial: caps.csum); leaves anything
 * else as it is. */
void lan_mon_csum(uint8_t *d, uint32_t len);

/* The original length of monitor frames (the side channel of the capture
 * wrapper, capture.c).  With a snap length (jet_lan_monitor_snaplen) a LAN
 * monitor lends each frame's first bytes only: jet_frame.len is what was
 * captured.  The whole length rides beside the frame, per lent buffer, in
 * the monitor: lan_mon_is says whether l is a LAN monitor (asked once, when
 * a wrapper is made), lan_mon_wire_len gives the whole length of a frame l
 * lent and has not been given back (f->len for any other frame). */
struct jet_link;
struct jet_frame;
bool lan_mon_is(const struct jet_link *l);
uint32_t lan_mon_wire_len(const struct jet_link *l, const struct jet_frame *f);

#endif
