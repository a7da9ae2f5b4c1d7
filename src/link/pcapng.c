/* The pcapng writer (pcapng.h): block encoders, then the buffered file
 * writer that appends whole blocks to its buffer and writes the buffer when
 * the next block does not fit, or on flush and close. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "link/pcapng.h"

static void le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
    le16(p, (uint16_t)v);
    le16(p + 2, (uint16_t)(v >> 16));
}

static size_t pad4(size_t n)
{
    return (n + 3) & ~(size_t)3;
}

static size_t text_len(const char *s)
{
    return s ? strnlen(s, PCAPNG_OPT_TEXT_MAX) : 0;
}

/* Bytes of an option with n bytes of value (0 when n is 0: left out). */
static size_t opt_size(size_t n)
{
    return n ? 4 + pad4(n) : 0;
}

/* Writes option code with n bytes of v at p, zero-padded; returns the bytes
 * written (nothing for n 0). */
static size_t put_opt(uint8_t *p, uint16_t code, const void *v, size_t n)
{
    if (!n)
        return 0;
    le16(p, code);
    le16(p + 2, (uint16_t)n);
    memcpy(p + 4, v, n);
    memset(p + 4 + n, 0, pad4(n) - n);
    return 4 + pad4(n);
}

/* Block type and total length at the front, the length again at the end. */
static int close_block(uint8_t *buf, uint32_t type, size_t total)
{
    le32(buf, type);
    le32(buf + 4, (uint32_t)total);
    le32(buf + total - 4, (uint32_t)total);
    return (int)total;
}

int pcapng_shb_emit(uint8_t *buf, size_t cap, const char *userappl)
{
    size_t ua = text_len(userappl), opts = ua ? opt_size(ua) + 4 : 0;
    size_t total = 8 + 16 + opts + 4;
    if (cap < total)
        return -ENOSPC;
    uint8_t *p = buf + 8;
    le32(p, PCAPNG_BOM);
    le16(p + 4, 1);         /* major */
    le16(p + 6, 0);         /* minor */
    memset(p + 8, 0xff, 8); /* section length: -1, not given */
    p += 16;
    if (ua) {
        p += put_opt(p, PCAPNG_SHB_USERAPPL, userappl, ua);
        memset(p, 0, 4); /* opt_endofopt */
    }
    return close_block(buf, PCAPNG_SHB, total);
}

int pcapng_idb_emit(uint8_t *buf, size_t cap, uint16_t linktype, uint32_t snaplen,
                    const char *if_name)
{
    size_t nl = text_len(if_name);
    size_t total = 8 + 8 + opt_size(nl) + opt_size(1) + 4 + 4;
    if (cap < total)
        return -ENOSPC;
    uint8_t *p = buf + 8;
    le16(p, linktype);
    le16(p + 2, 0);
    le32(p + 4, snaplen);
    p += 8;
    p += put_opt(p, PCAPNG_IF_NAME, if_name, nl);
    uint8_t res = 9; /* 10^-9 s */
    p += put_opt(p, PCAPNG_IF_TSRESOL, &res, 1);
    memset(p, 0, 4);
    return close_block(buf, PCAPNG_IDB, total);
}

size_t pcapng_epb_size(uint32_t caplen, const char *comment)
{
    return 8 + 20 + pad4(caplen) + opt_size(4) + opt_size(text_len(comment)) + 4 + 4;
}

int pcapng_epb_emit(uint8_t *buf, size_t cap, uint32_t ifid, uint64_t ts, const uint8_t *data,
                    uint32_t caplen, uint32_t len, unsigned dir, const char *comment)
{
    size_t total = pcapng_epb_size(caplen, comment);
    if (cap < total || caplen > len)
        return -ENOSPC;
    uint8_t *p = buf + 8;
    le32(p, ifid);
    le32(p + 4, (uint32_t)(ts >> 32));
    le32(p + 8, (uint32_t)ts);
    le32(p + 12, caplen);
    le32(p + 16, len);
    p += 20;
    memcpy(p, data, caplen);
    memset(p + caplen, 0, pad4(caplen) - caplen);
    p += pad4(caplen);
    uint8_t fl[4];
    le32(fl, dir & 3);
    p += put_opt(p, PCAPNG_EPB_FLAGS, fl, 4);
    p += put_opt(p, PCAPNG_OPT_COMMENT, comment, text_len(comment));
    memset(p, 0, 4);
    return close_block(buf, PCAPNG_EPB, total);
}

/* ---- the file writer ---- */

static int fail(struct pcapng_w *w, int rc, struct jet_err *err)
{
    if (!w->err)
        w->err = rc;
    return jet_err_set(err, rc, "pcapng: writing the capture file: %s", strerror(-rc));
}

static int write_all(struct pcapng_w *w, const uint8_t *p, size_t n, struct jet_err *err)
{
    while (n) {
        ssize_t k = write(w->fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return fail(w, -errno, err);
        }
        if (k == 0)
            return fail(w, -EIO, err);
        p += k;
        n -= (size_t)k;
        w->written += (uint64_t)k;
    }
    return 0;
}

int pcapng_flush(struct pcapng_w *w, struct jet_err *err)
{
    if (w->err)
        return jet_err_set(err, w->err, "pcapng: an earlier write failed: %s", strerror(-w->err));
    if (!w->n)
        return 0;
    size_t n = w->n;
    uint32_t k = w->epb_buffered;
    w->n = 0;
    w->epb_buffered = 0;
    w->last = SIZE_MAX;
    uint64_t before = w->written;
    int rc = write_all(w, w->buf, n, err);
    if (rc) { /* the EPBs a short write took whole are in the file */
        size_t done = (size_t)(w->written - before);
        for (size_t o = 0; o + 8 <= n;) {
            size_t len = (size_t)w->buf[o + 4] | (size_t)w->buf[o + 5] << 8 |
                         (size_t)w->buf[o + 6] << 16 | (size_t)w->buf[o + 7] << 24;
            if (o + len > done)
                break;
            if (w->buf[o] == (PCAPNG_EPB & 0xff) && k) {
                w->epb_written++;
                k--;
            }
            o += len;
        }
    }
    *(rc ? &w->epb_lost : &w->epb_written) += k;
    return rc;
}

/* Room for need bytes at the end of the buffer: flushes first if they do
 * not fit.  0, or the write error. */
static int room(struct pcapng_w *w, size_t need, struct jet_err *err)
{
    if (w->err)
        return jet_err_set(err, w->err, "pcapng: an earlier write failed: %s", strerror(-w->err));
    if (w->n + need <= PCAPNG_BUF)
        return 0;
    return pcapng_flush(w, err);
}

int pcapng_open(struct pcapng_w *w, const char *path, const char *userappl, struct jet_err *err)
{
    *w = (struct pcapng_w){.fd = -1, .last = SIZE_MAX};
    w->buf = malloc(PCAPNG_BUF);
    if (!w->buf)
        return jet_err_set(err, -ENOMEM, "out of memory");
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        int rc = -errno;
        free(w->buf);
        w->buf = NULL;
        return jet_err_set(err, rc, "capture file %s: %s", path, strerror(-rc));
    }
    w->n = (size_t)pcapng_shb_emit(w->buf, PCAPNG_BUF, userappl);
    return 0;
}

int pcapng_add_if(struct pcapng_w *w, uint16_t linktype, uint32_t snaplen, const char *if_name,
                  struct jet_err *err)
{
    int rc = room(w, 8 + 8 + 2 * 4 + PCAPNG_OPT_TEXT_MAX + 12, err);
    if (rc)
        return rc;
    w->last = SIZE_MAX;
    w->n += (size_t)pcapng_idb_emit(w->buf + w->n, PCAPNG_BUF - w->n, linktype, snaplen, if_name);
    return 0;
}

int pcapng_write(struct pcapng_w *w, uint32_t ifid, uint64_t ts, const uint8_t *data,
                 uint32_t caplen, uint32_t len, unsigned dir, const char *comment,
                 struct jet_err *err)
{
    size_t need = pcapng_epb_size(caplen, comment);
    int rc = room(w, need + opt_size(PCAPNG_OPT_TEXT_MAX), err); /* and a comment_last */
    if (rc)
        return rc;
    w->last = SIZE_MAX;
    if (need + opt_size(PCAPNG_OPT_TEXT_MAX) > PCAPNG_BUF) { /* a block of its own */
        uint8_t *b = malloc(need);
        if (!b)
            return jet_err_set(err, -ENOMEM, "out of memory");
        pcapng_epb_emit(b, need, ifid, ts, data, caplen, len, dir, comment);
        rc = write_all(w, b, need, err);
        free(b);
        (*(rc ? &w->epb_lost : &w->epb_written))++;
        return rc;
    }
    rc = pcapng_epb_emit(w->buf + w->n, PCAPNG_BUF - w->n, ifid, ts, data, caplen, len, dir,
                         comment);
    if (rc < 0)
        return jet_err_set(err, -EINVAL, "pcapng: captured length %u over the length %u", caplen,
                           len);
    w->last = comment ? SIZE_MAX : w->n;
    w->n += (size_t)rc;
    w->epb_buffered++;
    return 0;
}

int pcapng_comment_last(struct pcapng_w *w, const char *comment)
{
    size_t cl = text_len(comment);
    if (w->last == SIZE_MAX || !cl)
        return -ENOENT;
    uint8_t *b = w->buf + w->last;
    size_t total = (size_t)b[4] | (size_t)b[5] << 8 | (size_t)b[6] << 16 | (size_t)b[7] << 24;
    /* the block ends with opt_endofopt and its length: the comment goes in
     * their place, then both again */
    uint8_t *p = b + total - 8;
    p += put_opt(p, PCAPNG_OPT_COMMENT, comment, cl);
    memset(p, 0, 4);
    total += opt_size(cl);
    w->n += opt_size(cl);
    w->last = SIZE_MAX;
    close_block(b, PCAPNG_EPB, total);
    return 0;
}

int pcapng_close(struct pcapng_w *w, struct jet_err *err)
{
    int rc = w->fd >= 0 ? pcapng_flush(w, err) : 0;
    if (w->fd >= 0 && close(w->fd) && !rc)
        rc = jet_err_set(err, -errno, "pcapng: closing the capture file: %s", strerror(errno));
    w->fd = -1;
    free(w->buf);
    w->buf = NULL;
    w->n = 0;
    return rc ? rc : w->err;
}
