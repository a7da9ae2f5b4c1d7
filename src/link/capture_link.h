/* Inside the capture wrapper (capture.c, include/jet/capture.h): the capture
 * file it writes, which jet dump also writes itself when it filters what it
 * keeps (tools/jet/dump.c), and the wrapper's counters.  docs/capture.md. */
#ifndef JET_LINK_CAPTURE_LINK_H
#define JET_LINK_CAPTURE_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "jet/capture.h"
#include "link/pcapng.h"

/* A pcapng file with an Interface Description Block per encapsulation: the
 * ones caps says the link carries at open, any other the first time a frame
 * of it comes (JET_ENCAP_NATIVE: LINKTYPE_USER0, JET_ENCAP_ETH:
 * LINKTYPE_ETHERNET). */
struct capture_file {
    struct pcapng_w w;
    char if_name[128];
    uint32_t snaplen; /* in the IDBs: 1..PCAPNG_SNAP_MAX */
    int ifid[2];      /* per enum jet_encap: interface id, -1 before its IDB */
    uint32_t nif;
    uint64_t last_flush; /* CLOCK_REALTIME ns of the last write to the file */
    uint64_t failed;     /* frames refused after a write error (w.epb_lost: those lost
                            in the failed write; w.epb_written: those in the file) */
    struct jet_err err;  /* the first error, code 0 if none */
};

/* Creates path with the SHB and the IDBs caps calls for.  0, or a negative
 * errno with the reason in err. */
int capture_file_open(struct capture_file *c, const char *path, const char *if_name,
                      const struct jet_link_caps *caps, uint32_t snaplen, struct jet_err *err);
/* Appends r (r->caplen bytes, not over snaplen).  r->dir 0: direction not
 * known (a monitor sees other stations' traffic).  Writes the buffer to the
 * file when full or when CAPTURE_FLUSH_NS passed since the last write.
 * Never fails the caller's frame: an error is kept (c->err) and counted. */
void capture_file_add(struct capture_file *c, const struct jet_capture_rec *r, const char *comment);
/* Adds comment to the frame capture_file_add wrote last, when nothing was
 * written since (a frame the inner link refused). */
void capture_file_comment_last(struct capture_file *c, const char *comment);
/* Writes what is buffered if anything is and at least min_age_ns passed
 * since the last write (0: whatever the time). */
void capture_file_flush(struct capture_file *c, uint64_t now_ns, uint64_t min_age_ns);
/* Flushes and closes.  0, or the first error (reason in err). */
int capture_file_close(struct capture_file *c, struct jet_err *err);

#define CAPTURE_FLUSH_NS      200000000ull /* the file is at most this far behind */
#define CAPTURE_IDLE_FLUSH_NS 10000000ull  /* wait/arm: write what waits, if this old */

/* jet_link_open() of `capture:PATH/INNER` (n parsed): opens n->inner with
 * opts and wraps it, writing n->path. */
int capture_link_open(const char *s, const struct jet_link_name *n,
                      const struct jet_link_opts *opts, struct jet_link **out, struct jet_err *err);

/* CLOCK_REALTIME in ns (capture timestamps). */
uint64_t capture_now(void);

/* The wrapper's counters (jet dump reads them at the end). */
struct capture_counts {
    uint64_t in, out, refused; /* frames recorded */
    uint64_t written, failed;  /* of them, in the file; never to be (a write error); the
                                  rest wait in the buffer */
    int err;                   /* the file's first error, 0 if none */
    char msg[256];
};
/* -EINVAL if l is not a capture wrapper. */
int capture_link_counts(struct jet_link *l, struct capture_counts *out);

#endif
