/* Endpoint glue shared by connection protocols (chan/endpoint.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "chan/chan_impl.h"
#include "chan/endpoint.h"
#include "util/clock.h"
#include "util/rng.h"

/* ---- blocking calls ---- */

void ep_wait_init(struct ep_wait *w, int64_t timeout_ns, bool busy)
{
    w->nonblock = timeout_ns == 0;
    w->deadline = timeout_ns < 0 ? UINT64_MAX : jet_now_ns() + (uint64_t)timeout_ns;
    w->polled = false;
    w->busy = busy;
}

int ep_wait_more(struct jet_station *s, struct ep_wait *w)
{
    if (!w->polled) {
        w->polled = true;
        jet_station_poll(s);
        return 0;
    }
    if (w->nonblock)
        return -EAGAIN;
    uint64_t now = jet_now_ns();
    if (now >= w->deadline)
        return -ETIMEDOUT;
    if (!w->busy) {
        /* jet_station_wait also wakes for the earliest protocol timer */
        uint64_t d = w->deadline - now;
        jet_station_wait(s, (int64_t)(d < EP_LOOK_NS ? d : EP_LOOK_NS));
    }
    jet_station_poll(s);
    return 0;
}

/* ---- channels for connections ---- */

uint32_t ep_random32(void)
{
    uint32_t v;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != sizeof v)
        v = (uint32_t)jet_mix64(jet_now_ns() ^ (uint64_t)(uintptr_t)&v);
    return v;
}

void ep_ids_init(struct ep_ids *r, uint32_t first, uint32_t last)
{
    r->first = first;
    r->last = last;
    r->next = first + (last > first ? ep_random32() % (last - first) : 0);
}

int ep_chan_open(struct jet_station *s, struct ep_ids *r, const struct jet_chan_policy *p,
                 const struct jet_flow *f, struct jet_chan **out)
{
    int rc = -EADDRINUSE;
    for (int i = 0; i < EP_ID_TRIES && rc == -EADDRINUSE; i++) {
        uint32_t id = r->next;
        r->next = id >= r->last ? r->first : id + 1;
        rc = jet_chan_open(s, id, p, out);
    }
    if (rc == -EADDRINUSE)
        return jet_err_set(&s->err, -EADDRNOTAVAIL,
                           "no free channel: %d ids in a row are open already", EP_ID_TRIES);
    if (rc || !f)
        return rc;
    rc = jet_chan_steer(*out, f);
    if (rc) {
        char why[sizeof s->err.msg];
        snprintf(why, sizeof why, "%s", rc == -EADDRINUSE ? "another channel has it" : s->err.msg);
        jet_chan_close(*out);
        *out = NULL;
        return jet_err_set(&s->err, rc, "cannot steer the connection's flow to its channel: %s",
                           why);
    }
    return 0;
}

/* ---- linger ---- */

int ep_drive_until(struct jet_station *s, bool (*done)(void *arg), void *arg, int64_t timeout_ns)
{
    uint64_t until = timeout_ns < 0 ? UINT64_MAX : jet_now_ns() + (uint64_t)timeout_ns;
    for (;;) {
        if (done(arg))
            return 0;
        uint64_t now = jet_now_ns();
        if (now >= until)
            return -ETIMEDOUT;
        jet_station_poll(s);
        if (done(arg))
            return 0;
        now = jet_now_ns();
        if (now >= until)
            return -ETIMEDOUT;
        uint64_t d = until - now;
        jet_station_wait(s, (int64_t)(d < EP_LOOK_NS ? d : EP_LOOK_NS));
    }
}

/* ---- sink files ---- */

int ep_sink_check(int fd, uint64_t file_off)
{
    if (fd < 0)
        return -EBADF;
    if (file_off > INT64_MAX)
        return -EINVAL;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    if (fl & O_APPEND)
        return -EINVAL; /* pwrite would append, whatever the offset */
    if (lseek(fd, 0, SEEK_CUR) < 0)
        return -errno; /* -ESPIPE: a pipe, socket or terminal cannot be written at offsets */
    return 0;
}

int ep_sink_write(int fd, uint64_t at, const uint8_t *p, size_t len, uint64_t *bytes,
                  uint64_t *writes, char *why, size_t whyn)
{
    if (fd < 0)
        return 0; /* closed by the application: nobody wants the bytes */
    while (len) {
        int e = EFBIG; /* beyond what off_t can say */
        if (at <= INT64_MAX - len) {
            ssize_t w = pwrite(fd, p, len, (off_t)at);
            if (w > 0) {
                *bytes += (uint64_t)w;
                p += w;
                len -= (size_t)w;
                at += (uint64_t)w;
                continue;
            }
            e = w < 0 ? errno : ENOSPC; /* 0 bytes written: the file cannot grow */
            if (e == EINTR)
                continue;
        }
        snprintf(why, whyn,
                 "writing received bytes into fd %d at offset %llu failed: %s (connection "
                 "aborted)",
                 fd, (unsigned long long)at, strerror(e));
        return -e;
    }
    (*writes)++;
    return 0;
}

/* ---- words ---- */

const char *ep_peer(const struct jet_station *s, uint32_t addr, char *buf, size_t n)
{
    snprintf(buf, n, "%s %u of %s", s->link->caps.native ? "station" : "address", addr,
             s->link->name);
    return buf;
}
