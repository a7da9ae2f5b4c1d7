/* Partial read and directed placement of received frames (include/jet/chan.h).
 * Every function copies each requested byte once, from the pool to its
 * destination, after checking that [off, off+len) lies inside the payload.
 * A channel with defer_crc leaves the payload CRC to its protocol, which
 * checks it while copying (jet_crc32c_copy) and reports a mismatch with
 * jet_chan_release_crc_bad. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "chan/chan_impl.h"

static bool inside(const struct jet_rx *rx, size_t off, size_t len)
{
    return off <= rx->len && len <= rx->len - off;
}

int jet_rx_read(const struct jet_rx *rx, size_t off, void *dst, size_t len)
{
    if (!inside(rx, off, len))
        return -ERANGE;
    if (len)
        memcpy(dst, rx->payload + off, len);
    return 0;
}

int jet_rx_place(const struct jet_rx *rx, size_t off, size_t len, void *dst)
{
    return jet_rx_read(rx, off, dst, len);
}

int jet_rx_placev(const struct jet_rx *rx, size_t off, size_t len, const struct iovec *iov,
                  int iovcnt)
{
    if (!inside(rx, off, len))
        return -ERANGE;
    size_t room = 0;
    for (int i = 0; i < iovcnt && room < len; i++)
        room += iov[i].iov_len < len - room ? iov[i].iov_len : len - room; /* no wrap-around */
    if (iovcnt < 0 || room < len)
        return -EINVAL;
    const uint8_t *p = rx->payload + off;
    for (int i = 0; i < iovcnt && len; i++) {
        size_t n = iov[i].iov_len < len ? iov[i].iov_len : len;
        memcpy(iov[i].iov_base, p, n);
        p += n;
        len -= n;
    }
    return 0;
}

ssize_t jet_rx_place_fd(const struct jet_rx *rx, size_t off, size_t len, int fd, off_t foff)
{
    if (!inside(rx, off, len))
        return -ERANGE;
    size_t done = 0;
    while (done < len) {
        ssize_t n = foff >= 0 ? pwrite(fd, rx->payload + off + done, len - done, foff + (off_t)done)
                              : write(fd, rx->payload + off + done, len - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (done)
                break; /* report what was placed; the error repeats on the next call */
            return -errno;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

/* The frame moves from frames_in to dropped_crc, so that every frame the station took
 * still counts in exactly one place (docs/channels.md, Counters). */
void jet_chan_release_crc_bad(struct jet_chan *c, struct jet_rx *rx)
{
    c->frames_in--;
    c->bytes_in -= rx->len;
    c->st.dropped_crc++;
    jet_chan_release(c, rx);
}
