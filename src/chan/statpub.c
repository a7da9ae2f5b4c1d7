/* Published station counters for `jet stat` (see statpub.h for the file
 * and the design).
 *
 * Writer, in the station's process, driven by jet_station_poll():
 *   statpub_maybe -> statpub_tick (reads the clock if the poll did not) ->
 *   begin: the first time, pub_create() makes the file under a temporary
 *   name, locks it, sizes it, writes the header (magic last) and renames it
 *   into place, replacing any stale file of an earlier holder of the
 *   station; later, a pass begins: pub_due and pub_skip go to 0, so every
 *   poll calls statpub_tick ->
 *   slice: the next STATPUB_SLICE channel structs into the back buffer, or,
 *   when the walk has reached the end of the file, one growth step instead ->
 *   flip: the pass done, the back buffer becomes the front under the
 *   seqlock, with the station counters; the next pass is due
 *   STATPUB_PERIOD_NS after this one began.
 *   statpub_forget() (from jet_chan_close) clears a closing channel's entry
 *   if the pass in progress has written it.  statpub_close() (from
 *   jet_station_close) unlinks the file.
 *
 * Readers, in any process: statpub_list() finds the files of a LAN,
 * statpub_read() copies one, statpub_remove_stale() removes a dead one.
 *
 * Why fallocate and not just ftruncate: a page of a tmpfs file that cannot
 * be had when first touched through a mapping kills the toucher with
 * SIGBUS; reserving the pages when the file grows turns a full /dev/shm into
 * an error here instead of a crash on the data path.  The writer maps the
 * largest file there can be once (address space only), so growing is an
 * fallocate, never a remap. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "chan/statpub.h"
#include "jet/lan.h"
#include "util/clock.h"
#include "util/prefetch.h"

enum {
    STATPUB_MIN_CAP = 16,
    /* Polls without a time between clock readings, at most: a busy poller
     * then reads the clock once per 16 polls (about 1.5 ns a poll), and one
     * that slows down (a benchmark, then an idle loop polling every 10 ms)
     * lags at most 16 polls before the count adapts. */
    STATPUB_MAX_SKIP = 16,
    READ_TRIES = 2000,
    PF_AHEAD = 8, /* channel structs prefetched ahead of the walk */
};

struct statpub {
    int fd;
    struct statpub_hdr *h; /* mapped for STATPUB_MAX_CHANNELS entry pairs */
    size_t size;           /* of the mapping */
    uint32_t cap;          /* entry pairs the file has room for */
    /* the pass in progress */
    bool running;
    uint32_t back;     /* the buffer it writes: not h->front */
    uint32_t cur;      /* the next channel struct (index) to look at */
    uint32_t live;     /* entries of open channels written (statpub_forget takes away) */
    uint64_t begin_ns; /* CLOCK_REALTIME when it began */
    uint64_t next_due; /* CLOCK_MONOTONIC when the next may begin */
    struct statpub_work w;
    char path[160];
};

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A file with room for cap entry pairs. */
static size_t file_size(uint32_t cap)
{
    return sizeof(struct statpub_hdr) + (size_t)cap * 2 * sizeof(struct statpub_ent);
}

/* LAN names follow the link-name grammar; check again, as they become paths. */
static int stat_path(char *buf, size_t cap, const char *lan, uint32_t station, struct jet_err *err)
{
    size_t n = lan ? strlen(lan) : 0;
    if (n == 0 || n > JET_LAN_NAME_MAX || strchr(lan, '/') || lan[0] == '.')
        return jet_err_set(err, -EINVAL, "bad LAN name '%s'", lan ? lan : "");
    snprintf(buf, cap, STATPUB_DIR "/" STATPUB_PREFIX "%s.%u", lan, station);
    return 0;
}

/* ---- writer ---- */

_Static_assert(sizeof(struct statpub_hdr) % 64 == 0 && sizeof(struct statpub_ent) == 128,
               "entries on whole cache lines");

/* Entry i of buffer b. */
static struct statpub_ent *ent(struct statpub_hdr *h, uint32_t i, uint32_t b)
{
    return (struct statpub_ent *)(h + 1) + 2 * (size_t)i + b;
}

/* Makes room for cap entry pairs: reserves the pages (the mapping covers them
 * already), then maps them in, so that the walk does not take a page fault
 * per 16 entries of its first pass (a hint: fine if not taken). */
static int grow(struct statpub *p, uint32_t cap)
{
    size_t old = p->cap ? file_size(p->cap) : 0, size = file_size(cap); /* 0: the header too */
    if (fallocate(p->fd, 0, (off_t)old, (off_t)(size - old)) < 0) {
        if (errno != EOPNOTSUPP && errno != ENOSYS)
            return -errno;
        if (ftruncate(p->fd, (off_t)size) < 0) /* no fallocate here: size only */
            return -errno;
    }
    p->cap = cap;
#ifdef MADV_POPULATE_WRITE
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), from = old / pg * pg;
    madvise((char *)p->h + from, size - from, MADV_POPULATE_WRITE);
#endif
    return 0;
}

static void pub_free(struct statpub *p)
{
    if (p->h)
        munmap(p->h, p->size);
    if (p->fd >= 0)
        close(p->fd);
    free(p);
}

static int pub_create(struct jet_station *s)
{
    const char *lan = s->link->name + 4;
    struct statpub *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->fd = -1;
    int rc = stat_path(p->path, sizeof p->path, lan, s->addr, NULL);
    if (rc) {
        free(p);
        return rc;
    }
    /* The LAN's permissions and group: whoever may use the LAN may read this. */
    char seg[128], tmp[192];
    snprintf(seg, sizeof seg, STATPUB_DIR "/jet-lan.%s", lan);
    struct stat sb;
    mode_t mode = 0600;
    gid_t gid = (gid_t)-1;
    if (stat(seg, &sb) == 0) {
        mode = sb.st_mode & 0666;
        gid = sb.st_gid;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp%d", p->path, (int)getpid());
    p->fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (p->fd < 0) {
        rc = -errno;
        free(p);
        return rc;
    }
    if (fchmod(p->fd, mode) < 0 || flock(p->fd, LOCK_EX | LOCK_NB) < 0) {
        rc = -errno;
        goto fail;
    }
    if (gid != (gid_t)-1 && gid != getegid() && fchown(p->fd, (uid_t)-1, gid) < 0) {
        /* not in the LAN's group: the file stays private, which is safe */
    }
    /* Address space for the largest file; pages only as grow() reserves them. */
    p->size = file_size(STATPUB_MAX_CHANNELS);
    void *m = mmap(NULL, p->size, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd, 0);
    if (m == MAP_FAILED) {
        rc = -errno;
        goto fail;
    }
    p->h = m;
    if ((rc = grow(p, STATPUB_MIN_CAP)) < 0)
        goto fail;
    struct statpub_hdr *h = p->h;
    struct jet_lan_station_info li;
    jet_lan_station_stats(s->link, &li);
    h->layout = STATPUB_LAYOUT;
    h->hdr_size = sizeof *h;
    h->ent_size = sizeof(struct statpub_ent);
    h->pid = (int32_t)getpid();
    h->station = s->addr;
    h->token = li.token;
    snprintf(h->link, sizeof h->link, "%s", s->link->name);
    h->created_ns = realtime_ns();
    h->capacity = p->cap;
    atomic_thread_fence(memory_order_release);
    h->magic = STATPUB_MAGIC;
    if (rename(tmp, p->path) < 0) {
        rc = -errno;
        goto fail;
    }
    s->pub = p;
    return 0;
fail:
    unlink(tmp);
    pub_free(p);
    return rc;
}

/* Publishing stops for good; the data path never hears of it. */
static void turn_off(struct jet_station *s)
{
    s->pub_off = true;
    s->pub_due = UINT64_MAX;
    s->pub_skip = UINT32_MAX;
}

static void stop(struct jet_station *s)
{
    s->pub_failures++;
    turn_off(s);
}

/* Entries are written with streaming stores where there are some: the
 * walk writes 128 bytes per channel it will not read again, and a normal
 * store first reads the line it goes to (a third of the time of a slice).
 * Streaming stores are ordered with nothing, hence store_fence() before
 * the flip (the entries before the seq) and after it (the seq before the next
 * pass's entries, written into what readers took as the front until then). */
static void put_ent(struct statpub_ent *dst, const struct statpub_ent *src)
{
#if defined(__SSE2__)
    _Static_assert(sizeof *dst % 16 == 0, "whole 16-byte stores");
    __m128i *d = (__m128i *)dst;
    const __m128i *v = (const __m128i *)src;
    for (size_t k = 0; k < sizeof *dst / 16; k++)
        _mm_stream_si128(d + k, _mm_loadu_si128(v + k));
#else
    *dst = *src;
#endif
}

static void store_fence(void)
{
#if defined(__SSE2__)
    _mm_sfence();
#endif
    atomic_thread_fence(memory_order_release);
}

/* The counters as jet_chan_stats() gives them, with the policy. */
static void fill_ent(struct statpub_ent *dst, const struct jet_chan *c)
{
    struct statpub_ent e = {
        .id = c->id,
        .drop = (uint8_t)c->p.drop,
        .accept_bad_crc = c->p.accept_bad_crc,
        .prio = c->p.prio,
        .queue_frames = c->p.queue_frames,
        .burst_bytes = c->p.burst_bytes,
        .queued = chan_queued(c),
        .queued_hwm = chan_queued_hwm(c),
        .queue_bytes = c->p.queue_bytes,
        .reserve_bps = c->p.reserve_bps,
        .frames_in = c->frames_in,
        .bytes_in = c->bytes_in,
        .frames_out = c->st.frames_out,
        .bytes_out = c->st.bytes_out,
        .dropped_policy = c->st.dropped_policy,
        .dropped_crc = c->st.dropped_crc,
        .crc_bad_delivered = c->crc_bad_delivered,
        .backpressured = c->st.backpressured,
        .tx_conforming = c->st.tx_conforming,
        .queued_bytes = chan_queued_bytes(c),
    };
    put_ent(dst, &e);
}

/* The pass is complete (or can go no further): its buffer becomes the front. */
static void flip(struct jet_station *s, struct statpub *p, bool full)
{
    struct statpub_hdr *h = p->h;
    store_fence(); /* the pass's entries before the seq */
    uint32_t seq = atomic_load_explicit(&h->seq, memory_order_relaxed);
    atomic_store_explicit(&h->seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    h->front = p->back;
    h->nent = p->cur;
    h->nchan = p->live;
    h->capacity = p->cap;
    if (full)
        h->flags |= STATPUB_F_STOPPED;
    h->begin_ns = p->begin_ns;
    h->publish_ns = realtime_ns();
    h->publishes++;
    h->frames_in = s->st.frames_in;
    h->dropped_header = s->st.dropped_header;
    h->dropped_no_chan = s->st.dropped_no_chan;
    h->dropped_not_mine = s->st.dropped_not_mine;
    h->dropped_other = s->st.dropped_other;
    atomic_store_explicit(&h->seq, seq + 2, memory_order_release);
    p->running = false;
    p->w.passes++;
    /* back to waiting: the clock is read again from now on */
    s->pub_due = p->next_due;
    s->pub_checked = jet_now_ns();
    s->pub_skip = s->pub_every ? s->pub_every - 1 : 0;
    if (full)
        stop(s); /* the file stays, flagged, until the station closes */
}

/* One poll's share of the pass: up to STATPUB_SLICE channel structs, or one
 * growth step when the walk has reached the end of the file. */
static void slice(struct jet_station *s, struct statpub *p)
{
    s->pub_due = 0; /* the next poll goes on, with a time or without */
    s->pub_skip = 0;
    p->w.polls++;
    uint32_t end = s->nslab * CHAN_SLAB; /* channel structs there are */
    if (end > STATPUB_MAX_CHANNELS)
        end = STATPUB_MAX_CHANNELS; /* beyond: not shown */
    if (p->cur < end && p->live < s->nchan && p->cur == p->cap) {
        uint32_t cap = p->cap + STATPUB_GROW_ENTS < end ? p->cap + STATPUB_GROW_ENTS : end;
        if (grow(p, cap) < 0) {
            flip(s, p, true);
            return;
        }
        if (cap - p->cur > p->w.grow_max)
            p->w.grow_max = cap - p->cur;
        return;
    }
    struct statpub_hdr *h = p->h;
    uint32_t stop_at = p->cur + STATPUB_SLICE;
    if (stop_at > end)
        stop_at = end;
    if (stop_at > p->cap)
        stop_at = p->cap;
    uint32_t from = p->cur, i = p->cur;
    for (; i < stop_at && p->live < s->nchan; i++) {
        if (i + PF_AHEAD < stop_at) { /* the struct's lines (slabs are not contiguous) */
            const char *n = (const char *)chan_at(s, i + PF_AHEAD);
            for (size_t l = 0; l < sizeof(struct jet_chan); l += 64)
                jet_prefetch(n + l);
        }
        const struct jet_chan *c = chan_at(s, i);
        struct statpub_ent *e = ent(h, i, p->back);
        if (c->id) {
            fill_ent(e, c);
            p->live++;
        } else if (e->id) {
            e->id = 0; /* left from an older pass */
        }
    }
    p->cur = i;
    if (i - from > p->w.slice_max)
        p->w.slice_max = i - from;
    /* every open channel written (W, the channels written and still open,
     * is a subset of those open, and as large), or no more structs */
    if (p->live == s->nchan || p->cur >= end)
        flip(s, p, false);
}

/* A pass begins (the file is created first, in a poll of its own). */
static void begin(struct jet_station *s, uint64_t now)
{
    struct statpub *p = s->pub;
    p->next_due = now + STATPUB_PERIOD_NS;
    p->running = true;
    p->back = p->h->front ^ 1;
    p->cur = 0;
    p->live = 0;
    p->begin_ns = realtime_ns();
    /* A reader that sees an entry this pass writes into what was the front
     * until now must also see the flip that made it the back. */
    store_fence();
    slice(s, p);
}

void statpub_forget(struct statpub *p, const struct jet_chan *c)
{
    if (!p->running || c->idx >= p->cur)
        return; /* the walk has not come by: it will find the struct free */
    struct statpub_ent *e = ent(p->h, c->idx, p->back);
    if (e->id == c->id) { /* written, not opened behind the walk */
        e->id = 0;
        p->live--;
    }
}

int statpub_work(const struct jet_station *s, struct statpub_work *out)
{
    if (!s->pub)
        return -ENOENT;
    *out = s->pub->w;
    out->running = s->pub->running;
    out->cursor = s->pub->cur;
    out->capacity = s->pub->cap;
    return 0;
}

void statpub_tick(struct jet_station *s, uint64_t now_ns)
{
    if (s->pub_off) {
        s->pub_skip = UINT32_MAX;
        return;
    }
    if (s->pub && s->pub->running) {
        slice(s, s->pub);
        return;
    }
    uint64_t now = now_ns;
    if (!now) {
        /* pub_every polls took now - pub_checked: look again after about
         * STATPUB_CHECK_NS worth of them */
        now = jet_now_ns();
        uint64_t per_poll = (now - s->pub_checked) / (s->pub_every ? s->pub_every : 1);
        uint64_t every = per_poll ? STATPUB_CHECK_NS / per_poll : STATPUB_MAX_SKIP;
        s->pub_every = (uint32_t)(every < 1                  ? 1
                                  : every > STATPUB_MAX_SKIP ? STATPUB_MAX_SKIP
                                                             : every);
        s->pub_skip = s->pub_every - 1;
        s->pub_checked = now;
    }
    if (now < s->pub_due)
        return;
    if (!s->pub) {
        /* Only a LAN has a place others can look; a wrapper around one
         * (another kind) is not a LAN handle jet_lan_station_stats takes. */
        if (strcmp(s->link->ops->kind, "lan") != 0 || strncmp(s->link->name, "lan:", 4) != 0) {
            turn_off(s);
            return;
        }
        if (pub_create(s) < 0) {
            stop(s);
            return;
        }
        s->pub->w.polls++;
        /* the first pass begins at the next poll */
        s->pub_due = 0;
        s->pub_skip = 0;
        return;
    }
    begin(s, now);
}

void statpub_close(struct jet_station *s)
{
    turn_off(s);
    struct statpub *p = s->pub;
    if (!p)
        return;
    s->pub = NULL;
    /* Unlink only our own file: never one that replaced it. */
    struct stat a, b;
    if (fstat(p->fd, &a) == 0 && stat(p->path, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino)
        unlink(p->path);
    pub_free(p);
}

/* ---- readers ---- */

static bool pid_alive(pid_t pid)
{
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* Whether some open file (the publisher's) holds the lock of fd's file. */
static bool held(int fd)
{
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        flock(fd, LOCK_UN);
        return false;
    }
    return errno == EWOULDBLOCK;
}

static void snap_fill(struct statpub_snap *o, const struct statpub_hdr *h, uint32_t n,
                      const struct statpub_ent *e)
{
    o->flags = h->flags;
    o->publish_ns = h->publish_ns;
    o->publishes = h->publishes;
    o->begin_ns = h->begin_ns;
    o->st = (struct jet_station_stats){.frames_in = h->frames_in,
                                       .dropped_header = h->dropped_header,
                                       .dropped_no_chan = h->dropped_no_chan,
                                       .dropped_not_mine = h->dropped_not_mine,
                                       .dropped_other = h->dropped_other,
                                       .channels = n};
    o->nchan = n;
    for (uint32_t i = 0; i < n; i++) {
        struct statpub_chan *c = &o->chan[i];
        c->st = (struct jet_chan_stats){.id = e[i].id,
                                        .frames_in = e[i].frames_in,
                                        .bytes_in = e[i].bytes_in,
                                        .frames_out = e[i].frames_out,
                                        .bytes_out = e[i].bytes_out,
                                        .dropped_policy = e[i].dropped_policy,
                                        .dropped_crc = e[i].dropped_crc,
                                        .crc_bad_delivered = e[i].crc_bad_delivered,
                                        .backpressured = e[i].backpressured,
                                        .tx_conforming = e[i].tx_conforming,
                                        .queued = e[i].queued,
                                        .queued_hwm = e[i].queued_hwm,
                                        .queued_bytes = e[i].queued_bytes};
        c->p = (struct jet_chan_policy){.accept_bad_crc = e[i].accept_bad_crc != 0,
                                        .drop = (enum jet_drop_policy)e[i].drop,
                                        .queue_frames = e[i].queue_frames,
                                        .queue_bytes = e[i].queue_bytes,
                                        .prio = e[i].prio,
                                        .reserve_bps = e[i].reserve_bps,
                                        .burst_bytes = e[i].burst_bytes};
    }
}

/* Copies the seqlocked part: the header, and into raw the front buffer's
 * channels (its entries [0, nent) with id != 0, hc->nchan of them).  0,
 * -EAGAIN (no consistent copy), -EPROTO, -ENOMEM. */
static int copy_consistent(int fd, void **map, size_t *maplen, struct statpub_hdr *hc,
                           struct statpub_ent **raw, uint32_t *rawcap)
{
    for (int t = 0; t < READ_TRIES; t++) {
        if (t >= 64) {
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
        }
        struct statpub_hdr *h = *map;
        uint32_t s1 = atomic_load_explicit(&h->seq, memory_order_acquire);
        if (s1 & 1)
            continue;
        memcpy(hc, h, sizeof *hc);
        uint32_t nent = hc->nent, n = hc->nchan, front = hc->front;
        bool sane = nent <= hc->capacity && nent <= STATPUB_MAX_CHANNELS && n <= nent && front <= 1;
        if (sane && file_size(nent) > *maplen) { /* grown since we mapped it */
            struct stat sb;
            if (fstat(fd, &sb) < 0)
                return -errno;
            if ((size_t)sb.st_size > *maplen) {
                void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
                if (m == MAP_FAILED)
                    return -errno;
                munmap(*map, *maplen);
                *map = m;
                *maplen = (size_t)sb.st_size;
            }
            if (file_size(nent) > *maplen)
                sane = false;
            else
                continue; /* copy again from the new mapping */
        }
        if (sane && n > *rawcap) {
            struct statpub_ent *r = realloc(*raw, (size_t)n * sizeof *r);
            if (!r)
                return -ENOMEM;
            *raw = r;
            *rawcap = n;
        }
        uint32_t k = 0;
        for (uint32_t i = 0; sane && i < nent; i++) {
            const struct statpub_ent *e = ent(h, i, front);
            if (!e->id)
                continue;
            if (k == n) { /* more than the header says: torn, or broken */
                sane = false;
                break;
            }
            memcpy(&(*raw)[k++], e, sizeof *e);
        }
        atomic_thread_fence(memory_order_acquire);
        uint32_t s2 = atomic_load_explicit(&h->seq, memory_order_relaxed);
        if (s1 != s2)
            continue;
        return sane && k == n ? 0 : -EPROTO;
    }
    return -EAGAIN;
}

int statpub_read(const char *lan, uint32_t station, struct statpub_snap *out, struct jet_err *err)
{
    char path[160];
    int rc = stat_path(path, sizeof path, lan, station, err);
    if (rc)
        return rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        rc = -errno;
        if (rc == -ENOENT)
            return jet_err_set(err, rc, "station %u of LAN '%s' publishes no counters", station,
                               lan);
        return jet_err_set(err, rc, "cannot open %s: %s", path, strerror(-rc));
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        rc = jet_err_set(err, -errno, "cannot stat %s: %s", path, strerror(errno));
        close(fd);
        return rc;
    }
    if ((size_t)sb.st_size < sizeof(struct statpub_hdr)) {
        close(fd);
        return jet_err_set(err, -EPROTO, "%s is not a Jetstream stats file (too short)", path);
    }
    size_t maplen = (size_t)sb.st_size;
    void *map = mmap(NULL, maplen, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        rc = jet_err_set(err, -errno, "cannot map %s: %s", path, strerror(errno));
        close(fd);
        return rc;
    }
    const struct statpub_hdr *h = map;
    struct statpub_ent *raw = NULL;
    uint32_t rawcap = 0;
    if (h->magic != STATPUB_MAGIC || h->layout != STATPUB_LAYOUT || h->hdr_size != sizeof *h ||
        h->ent_size != sizeof(struct statpub_ent) || h->station != station) {
        rc = jet_err_set(err, -EPROTO,
                         "%s: not a stats file of layout %u (found layout %u; a different "
                         "version of Jetstream?)",
                         path, STATPUB_LAYOUT, h->magic == STATPUB_MAGIC ? h->layout : 0);
        goto out;
    }
    out->station = station;
    out->pid = h->pid;
    out->token = h->token;
    memcpy(out->link, h->link, sizeof out->link);
    out->link[sizeof out->link - 1] = 0;
    out->created_ns = h->created_ns;
    out->alive = pid_alive(h->pid) && held(fd);
    struct statpub_hdr hc;
    rc = copy_consistent(fd, &map, &maplen, &hc, &raw, &rawcap);
    if (rc == -EAGAIN && !out->alive) {
        /* died in mid-write: the header's identity is all there is */
        memset(&hc, 0, sizeof hc);
        rc = 0;
    }
    if (rc == 0 && hc.nchan > out->cap) {
        struct statpub_chan *c = realloc(out->chan, (size_t)hc.nchan * sizeof *c);
        if (!c)
            rc = -ENOMEM;
        else {
            out->chan = c;
            out->cap = hc.nchan;
        }
    }
    if (rc == 0)
        snap_fill(out, &hc, hc.nchan, raw);
    else if (rc == -EAGAIN)
        jet_err_set(err, rc, "%s: the publisher kept writing; no consistent copy", path);
    else if (rc == -EPROTO)
        jet_err_set(err, rc, "%s: inconsistent snapshot (nchan %u, nent %u, capacity %u)", path,
                    hc.nchan, hc.nent, hc.capacity);
    else
        jet_err_set(err, rc, "%s: %s", path, strerror(-rc));
out:
    free(raw);
    munmap(map, maplen);
    close(fd);
    return rc;
}

void statpub_snap_free(struct statpub_snap *out)
{
    free(out->chan);
    out->chan = NULL;
    out->cap = out->nchan = 0;
}

/* "123" -> 123; anything else -> -1. */
static long number(const char *s, const char *end)
{
    if (s == end || end - s > 9)
        return -1;
    long v = 0;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

int statpub_list(const char *lan, void (*fn)(uint32_t station, void *arg), void *arg,
                 struct jet_err *err)
{
    char pfx[96];
    int rc = stat_path(pfx, sizeof pfx, lan, 0, err);
    if (rc)
        return rc;
    snprintf(pfx, sizeof pfx, STATPUB_PREFIX "%s.", lan);
    size_t pl = strlen(pfx);
    DIR *d = opendir(STATPUB_DIR);
    if (!d)
        return jet_err_set(err, -errno, "cannot read " STATPUB_DIR ": %s", strerror(errno));
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, pfx, pl) != 0)
            continue;
        const char *rest = e->d_name + pl, *end = rest + strlen(rest);
        long st = number(rest, end);
        if (st >= 0 && st < JET_LAN_MAX_STATIONS) {
            fn((uint32_t)st, arg);
            n++;
            continue;
        }
        /* STATION.tmpPID of a publisher that died before renaming it */
        const char *dot = strstr(rest, ".tmp");
        if (dot && number(rest, dot) >= 0) {
            long pid = number(dot + 4, end);
            if (pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
                unlinkat(dirfd(d), e->d_name, 0);
        }
    }
    closedir(d);
    return n;
}

int statpub_remove_stale(const char *lan, uint32_t station, struct jet_err *err)
{
    char path[160];
    int rc = stat_path(path, sizeof path, lan, station, err);
    if (rc)
        return rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT
                   ? 0
                   : jet_err_set(err, -errno, "cannot open %s: %s", path, strerror(errno));
    /* Holding the lock, nobody can be publishing into this file. */
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
        close(fd);
        return jet_err_set(err, rc, "%s is still held by its publisher", path);
    }
    struct stat a, b;
    rc = 0;
    if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino &&
        unlink(path) < 0 && errno != ENOENT)
        rc = jet_err_set(err, -errno, "cannot remove %s: %s", path, strerror(errno));
    close(fd);
    return rc;
}
