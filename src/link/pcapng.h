/* A small pcapng writer (draft-ietf-opsawg-pcapng): the three blocks a
 * capture needs, as encoders into a caller's buffer (pinned byte for byte by
 * tests/unit/test_pcapng.c) and a buffered file writer on
 * top of them (docs/capture.md).
 *
 * Blocks are written little-endian (the Section Header's byte-order magic
 * says so; readers swap as needed), each padded to 32 bits, each ending with
 * its total length again:
 *   SHB  Section Header: byte-order magic, version 1.0, section length -1
 *        (unknown), shb_userappl;
 *   IDB  Interface Description: link type, snap length, if_name, if_tsresol 9
 *        (timestamps count nanoseconds);
 *   EPB  Enhanced Packet: interface id, 64-bit timestamp, captured and
 *        original length, the captured bytes, epb_flags (direction), and an
 *        opt_comment when there is one.
 *
 * The writer buffers whole blocks and writes them with write(2) when its
 * buffer fills and on pcapng_flush(): no system call per frame, and a file
 * cut off by a killed process ends at a block boundary (readable up to its
 * last flush).  Errors are returned (negative errno, the reason in err),
 * never printed; the first write error sticks: later calls fail at once. */
#ifndef JET_LINK_PCAPNG_H
#define JET_LINK_PCAPNG_H

#include <stddef.h>
#include <stdint.h>

#include "jet/err.h"

enum {
    PCAPNG_SHB = 0x0A0D0D0A,
    PCAPNG_IDB = 0x00000001,
    PCAPNG_EPB = 0x00000006,
    PCAPNG_BOM = 0x1A2B3C4D,
    PCAPNG_OPT_END = 0,
    PCAPNG_OPT_COMMENT = 1,
    PCAPNG_SHB_USERAPPL = 4,
    PCAPNG_IF_NAME = 2,
    PCAPNG_IF_TSRESOL = 9,
    PCAPNG_EPB_FLAGS = 2,
    PCAPNG_DIR_IN = 1, /* epb_flags bits 0-1 */
    PCAPNG_DIR_OUT = 2,
    PCAPNG_SNAP_MAX = 262144,  /* snaplen 0 means this */
    PCAPNG_OPT_TEXT_MAX = 256, /* longest if_name, shb_userappl or comment kept */
    PCAPNG_EPB_OVERHEAD = 28 + 12 + 4 + 4 + PCAPNG_OPT_TEXT_MAX + 4 + 4, /* besides the data */
    PCAPNG_BUF = 256 * 1024,                                             /* the writer's buffer */
};

/* Encoders: each writes one whole block into buf and returns its length, or
 * -ENOSPC when cap is too small (nothing useful written).  Text options are
 * cut at PCAPNG_OPT_TEXT_MAX bytes; NULL or "" leaves the option out. */
int pcapng_shb_emit(uint8_t *buf, size_t cap, const char *userappl);
int pcapng_idb_emit(uint8_t *buf, size_t cap, uint16_t linktype, uint32_t snaplen,
                    const char *if_name);
/* caplen bytes of data (caplen <= len); dir 0 (unknown), PCAPNG_DIR_IN or
 * PCAPNG_DIR_OUT; comment NULL for none. */
int pcapng_epb_emit(uint8_t *buf, size_t cap, uint32_t ifid, uint64_t ts, const uint8_t *data,
                    uint32_t caplen, uint32_t len, unsigned dir, const char *comment);
/* Bytes pcapng_epb_emit needs for caplen bytes and comment. */
size_t pcapng_epb_size(uint32_t caplen, const char *comment);

/* The file writer. */
struct pcapng_w {
    int fd;       /* -1 when closed */
    int err;      /* 0, or the first write error (sticky) */
    uint8_t *buf; /* PCAPNG_BUF bytes of whole blocks not written yet */
    size_t n;
    size_t last;           /* offset in buf of the last EPB while it is there, else SIZE_MAX */
    uint64_t written;      /* bytes written to the file */
    uint32_t epb_buffered; /* EPBs in buf */
    uint64_t epb_written;  /* EPBs written to the file */
    uint64_t epb_lost;     /* EPBs accepted but lost by a failed write */
};

/* Creates (truncates) path and buffers its Section Header Block.  0, or a
 * negative errno with the reason (naming path) in err. */
int pcapng_open(struct pcapng_w *w, const char *path, const char *userappl, struct jet_err *err);
/* Appends an IDB; interface ids count from 0 in the order of these calls. */
int pcapng_add_if(struct pcapng_w *w, uint16_t linktype, uint32_t snaplen, const char *if_name,
                  struct jet_err *err);
/* Appends an EPB. */
int pcapng_write(struct pcapng_w *w, uint32_t ifid, uint64_t ts, const uint8_t *data,
                 uint32_t caplen, uint32_t len, unsigned dir, const char *comment,
                 struct jet_err *err);
/* Adds an opt_comment to the EPB pcapng_write appended last, while it is
 * still in the buffer and has none (pcapng_write keeps room for one).
 * -ENOENT when it is not. */
int pcapng_comment_last(struct pcapng_w *w, const char *comment);
/* Writes what is buffered to the file. */
int pcapng_flush(struct pcapng_w *w, struct jet_err *err);
/* Flushes and closes (also after an error).  0, or the first error. */
int pcapng_close(struct pcapng_w *w, struct jet_err *err);

#endif
