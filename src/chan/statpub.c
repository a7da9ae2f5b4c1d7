/* Published station counters for `jet stat` (see statpub.h for the file,
 * the design and why the file is hostile input).
 *
 * Writer, in the station's process, driven by jet_station_poll():
 *   statpub_maybe -> statpub_tick (reads the clock if the poll did not) ->
 *   begin: the first time, pub_create() makes the file under a random name
 *   (O_EXCL), checks it, locks it, sizes it, writes the header and renames
 *   it over the final name, replacing any stale file of an earlier holder of
 *   the station; later, a pass begins (after checking that nobody truncated
 *   the file): pub_due and pub_skip go to 0, so every poll calls
 *   statpub_tick ->
 *   slice: the next STATPUB_SLICE channel structs into a private staging
 *   array, written into the back buffer with a pwrite per chunk, or, when
 *   the walk has reached the end of the file, one growth step instead ->
 *   connections: once the walk is done, the protocols' hooks
 *   (statpub_conn_source), one after the other, fill STATPUB_SLICE / 2
 *   records a poll (each hook's cursor says where it is), written into the
 *   back buffer after the channels' entries (or a growth step instead); not
 *   in a poll made from inside a protocol's hook ->
 *   flip: the pass done, the back buffer becomes the front: the header,
 *   rewritten whole under the seqlock with the station counters; the next
 *   pass is due STATPUB_PERIOD_NS after this one began.
 *   statpub_forget() (from jet_chan_close) clears a closing channel's entry
 *   if the pass in progress has written it.  statpub_close() (from
 *   jet_station_close) unlinks the file.
 * The writer never reads the file: what it knows of it (front, capacity,
 * which entries hold open channels, seq) is in struct statpub.
 *
 * Readers, in any process (statpub_read.c, with the file names):
 * statpub_list() finds the files of a link, statpub_read() opens one and
 * hands it to statpub_parse(), which copies and checks it with pread();
 * statpub_remove_stale() removes a dead one.
 *
 * The link's counters come from jet_link_stats(), when the link has the op
 * (looked at once, at creation): the station never asks what kind of link
 * it has.
 *
 * Why fallocate: pages reserved when the file grows make a full /dev/shm an
 * error there, at a growth step, rather than in the middle of a pass. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chan/statpub.h"
#include "util/clock.h"
#include "util/prefetch.h"
#include "util/rng.h"

enum {
    /* Polls without a time between clock readings, at most: a busy poller
     * then reads the clock once per 16 polls (about 1.5 ns a poll), and one
     * that slows down (a benchmark, then an idle loop polling every 10 ms)
     * lags at most 16 polls before the count adapts. */
    STATPUB_MAX_SKIP = 16,
    PF_AHEAD = 8,      /* channel structs prefetched ahead of the walk */
    CREATE_TRIES = 16, /* random names tried before giving up (each taken: EEXIST) */
};
_Static_assert(STATPUB_SLICE % STATPUB_CHUNK == 0 && STATPUB_GROW_ENTS % STATPUB_CHUNK == 0 &&
                   STATPUB_MAX_CHANNELS % STATPUB_CHUNK == 0,
               "slices and growth steps of whole chunks");

struct statpub {
    int fd;                 /* -1 after a failed creation: the struct then only keeps w.error */
    uint32_t cap;           /* entry pairs the file has room for (whole chunks) */
    struct statpub_hdr hdr; /* what the header says: written, never read back */
    /* the pass in progress */
    bool running;
    uint32_t back;     /* the buffer it writes: not hdr.front */
    uint32_t cur;      /* the next channel struct (index) to look at */
    uint32_t live;     /* entries of open channels written (statpub_forget takes away) */
    uint64_t begin_ns; /* CLOCK_REALTIME when it began */
    uint64_t next_due; /* CLOCK_MONOTONIC when the next may begin */
    int werr;          /* a write of statpub_forget failed: the pass stops at the next slice */
    /* bit i: entry i of the back buffer holds a channel the walk wrote and
     * that is still open (what statpub_forget must clear); bits >= cur are
     * left from older passes and never looked at */
    uint64_t *mine;
    uint32_t mine_words;
    bool link_stats; /* the link has the stats op */
    /* connections (after the walk): each protocol's hook fills a slice of
     * records at a time, written as entries from conn_first on */
    bool conn_phase;                  /* the walk is done; records being written */
    uint32_t conn_first, ccur;        /* first entry; the next entry to write */
    uint32_t cproto;                  /* s->proto index of the protocol being listed */
    const struct jet_proto_ops *cops; /* that protocol (NULL: not begun) */
    uint64_t ccursor;                 /* its hook's cursor (statpub_conns_fn) */
    uint64_t conn_more;               /* connections beyond the bound, not published */
    struct statpub_work w;
    char path[STATPUB_PATH_MAX];
    union { /* a slice's entries or records, before the pwrite */
        struct statpub_ent stage[STATPUB_SLICE];
        struct statpub_conn cstage[STATPUB_SLICE / 2];
    };
};

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A file with room for cap entry pairs (cap: whole chunks). */
static uint64_t file_size(uint32_t cap)
{
    return sizeof(struct statpub_hdr) + (uint64_t)cap * 2 * sizeof(struct statpub_ent);
}

/* ---- writer ---- */

/* Writes all of buf at off. */
static int put(int fd, const void *buf, size_t len, uint64_t off)
{
    const char *b = buf;
    while (len) {
        ssize_t n = pwrite(fd, b, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO;
        b += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

/* Reserves the pages of [from, file_size(cap)): a full /dev/shm fails
 * here, not in the middle of a pass. */
static int reserve(int fd, uint64_t from, uint32_t cap)
{
    uint64_t size = file_size(cap);
    if (size <= from)
        return 0;
    if (fallocate(fd, 0, (off_t)from, (off_t)(size - from)) < 0) {
        if (errno != EOPNOTSUPP && errno != ENOSYS)
            return -errno;
        if (ftruncate(fd, (off_t)size) < 0) /* no fallocate here: size only */
            return -errno;
    }
    return 0;
}

/* Makes room for cap entry pairs. */
static int grow(struct statpub *p, uint32_t cap)
{
    uint32_t words = (cap + 63) / 64;
    if (words > p->mine_words) {
        uint64_t *m = realloc(p->mine, words * sizeof *m);
        if (!m)
            return -ENOMEM;
        memset(m + p->mine_words, 0, (words - p->mine_words) * sizeof *m);
        p->mine = m;
        p->mine_words = words;
    }
    int rc = reserve(p->fd, p->cap ? file_size(p->cap) : 0, cap); /* 0: the header too */
    if (rc)
        return rc;
    p->cap = cap;
    return 0;
}

static void pub_free(struct statpub *p)
{
    if (p->fd >= 0)
        close(p->fd);
    free(p->mine);
    free(p);
}

/* Publishing stops for good; the data path never hears of it. */
static void turn_off(struct jet_station *s)
{
    s->pub_off = true;
    s->pub_due = UINT64_MAX;
    s->pub_skip = UINT32_MAX;
}

/* Publishing failed: counted, the reason kept for statpub_work(). */
static void stop(struct jet_station *s, int rc, const char *why)
{
    s->pub_failures++;
    if (s->pub && !s->pub->w.error) {
        s->pub->w.error = rc < 0 ? rc : -EIO;
        snprintf(s->pub->w.why, sizeof s->pub->w.why, "%s", why);
    }
    turn_off(s);
}

/* The file's mode and group on LAN `lan`: the LAN segment's read bits,
 * never a write bit for group or others, and its group (create_tmp: if we
 * are not in it, our group reads only if others do); 0600 if the segment
 * is not there to look at, or lan is NULL (not a LAN). */
static void file_mode(const char *lan, mode_t *mode, gid_t *gid)
{
    char seg[STATPUB_PART_MAX + 32];
    struct stat sb;
    *mode = 0600;
    *gid = (gid_t)-1;
    if (!lan)
        return;
    snprintf(seg, sizeof seg, STATPUB_DIR "/jet-lan.%s", lan);
    if (stat(seg, &sb) == 0 && S_ISREG(sb.st_mode)) {
        *mode = 0600 | (sb.st_mode & 0044);
        *gid = sb.st_gid;
    }
}

/* 64 bits no one can have guessed. */
static uint64_t random64(uint64_t *seed)
{
    uint64_t r;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        *seed += realtime_ns();
        r = jet_mix64(*seed ^ (uint64_t)getpid() << 32);
    }
    return r;
}

/* A name no one can have guessed: path.tmpPID.RANDOM. */
static void tmp_name(char *buf, size_t cap, const char *path, uint64_t *seed)
{
    snprintf(buf, cap, "%s.tmp%d.%016llx", path, (int)getpid(), (unsigned long long)random64(seed));
}

/* Creates the file under a random name, exclusively (O_EXCL never follows a
 * link, never opens what exists), and checks it is what we made. */
static int create_tmp(struct statpub *p, char *tmp, size_t cap, mode_t mode, gid_t gid)
{
    uint64_t seed = 0;
    int fd = -1;
    for (int t = 0; t < CREATE_TRIES && fd < 0; t++) {
        tmp_name(tmp, cap, p->path, &seed);
        fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            return -errno;
    }
    if (fd < 0)
        return -EEXIST;
    p->fd = fd;
    struct stat sb;
    if (fstat(fd, &sb) < 0)
        return -errno;
    if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid() || sb.st_nlink != 1 || sb.st_size != 0)
        return -EEXIST; /* cannot happen with O_EXCL; then not ours to write */
    /* Not in the LAN's group: our group may read only if everyone may. */
    if (gid != (gid_t)-1 && gid != sb.st_gid && fchown(fd, (uid_t)-1, gid) < 0)
        mode = (mode & ~(mode_t)0070) | (mode & 0004) << 3;
    if (fchmod(fd, mode) < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
        return -errno;
    return 0;
}

/* Rewrites the header under the seqlock: seq odd, the header, seq even,
 * each a pwrite of its own so that a reader's pread of seq cannot see the
 * even value before the rest. */
static int write_hdr(struct statpub *p)
{
    const uint64_t at = offsetof(struct statpub_hdr, seq);
    uint32_t odd = p->hdr.seq | 1, even = odd + 1;
    int rc = put(p->fd, &odd, sizeof odd, at);
    p->hdr.seq = odd;
    if (rc == 0)
        rc = put(p->fd, &p->hdr, sizeof p->hdr, 0);
    if (rc == 0)
        rc = put(p->fd, &even, sizeof even, at);
    if (rc == 0)
        p->hdr.seq = even;
    return rc;
}

/* The file's id (statpub.h): the station number on a LAN, ADDR-PID on
 * another link with addresses, nK-PID on one without (K: this process's
 * stations so far, so that two on one link do not share a name). */
static void file_id(char *buf, size_t cap, bool lan, uint32_t addr)
{
    static atomic_uint nth;
    if (addr != JET_LINK_NO_ADDR && lan)
        snprintf(buf, cap, "%u", addr);
    else if (addr != JET_LINK_NO_ADDR)
        snprintf(buf, cap, "%u-%d", addr, (int)getpid());
    else
        snprintf(buf, cap, "n%u-%d", atomic_fetch_add(&nth, 1), (int)getpid());
}

static int pub_create(struct jet_station *s, struct statpub *p)
{
    char part[STATPUB_PART_MAX + 1], id[STATPUB_ID_MAX], tmp[sizeof p->path + 32];
    bool lan;
    struct jet_err err = {0};
    int rc = statpub_link_part(part, sizeof part, s->link->name, &lan, &err);
    if (rc == 0) {
        file_id(id, sizeof id, lan, s->addr);
        rc = statpub_path(p->path, sizeof p->path, s->link->name, id, &err);
    }
    if (rc) {
        snprintf(p->w.why, sizeof p->w.why, "%s", err.msg);
        return rc;
    }
    mode_t mode;
    gid_t gid;
    file_mode(lan ? part : NULL, &mode, &gid);
    if ((rc = create_tmp(p, tmp, sizeof tmp, mode, gid)) < 0) {
        snprintf(p->w.why, sizeof p->w.why, "cannot create a file in " STATPUB_DIR ": %s",
                 strerror(-rc));
        if (p->fd >= 0)
            unlink(tmp);
        return rc;
    }
    if ((rc = grow(p, STATPUB_CHUNK)) < 0) {
        snprintf(p->w.why, sizeof p->w.why, "cannot size %.120s: %s", tmp, strerror(-rc));
        goto fail;
    }
    /* the op, not jet_link_stats(): its absence is no failure to note in the link */
    p->link_stats = s->link->ops->stats != NULL;
    uint64_t seed = 0, instance;
    while ((instance = random64(&seed)) == 0)
        ;
    p->hdr = (struct statpub_hdr){
        .magic = STATPUB_MAGIC,
        .layout = STATPUB_LAYOUT,
        .hdr_size = sizeof(struct statpub_hdr),
        .ent_size = sizeof(struct statpub_ent),
        .chunk = STATPUB_CHUNK,
        .conn_size = sizeof(struct statpub_conn),
        .pid = (int32_t)getpid(),
        .addr = s->addr,
        .instance = instance,
        .created_ns = realtime_ns(),
        .capacity = p->cap,
    };
    snprintf(p->hdr.link, sizeof p->hdr.link, "%s", s->link->name);
    if ((rc = put(p->fd, &p->hdr, sizeof p->hdr, 0)) < 0) {
        snprintf(p->w.why, sizeof p->w.why, "cannot write %.120s: %s", tmp, strerror(-rc));
        goto fail;
    }
    /* Replaces a stale file, a link or anything else at the name, never
     * following it; in the sticky /dev/shm only our own (root: any). */
    if (rename(tmp, p->path) < 0) {
        rc = -errno;
        struct stat sb;
        if ((rc == -EPERM || rc == -EACCES) && lstat(p->path, &sb) == 0 && sb.st_uid != geteuid())
            snprintf(
                p->w.why, sizeof p->w.why,
                "%.120s belongs to uid %u, not to us (uid %u): cannot replace it, not publishing",
                p->path, (unsigned)sb.st_uid, (unsigned)geteuid());
        else
            snprintf(p->w.why, sizeof p->w.why, "cannot rename %.120s to %.120s: %s", tmp, p->path,
                     strerror(-rc));
        goto fail;
    }
    return 0;
fail:
    unlink(tmp);
    close(p->fd);
    p->fd = -1;
    return rc;
}

/* The counters as jet_chan_stats() gives them, with the policy. */
static void fill_ent(struct statpub_ent *dst, const struct jet_chan *c)
{
    *dst = (struct statpub_ent){
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
}

/* A write failed: the pass ends here, the file keeps the last complete one
 * (flagged, if the header can still be written). */
static void write_failed(struct jet_station *s, struct statpub *p, int rc, const char *what)
{
    char why[sizeof p->w.why];
    snprintf(why, sizeof why, "cannot write %.120s (%s): %s; not publishing any more", p->path,
             what, strerror(-rc));
    p->running = false;
    p->conn_phase = false;
    p->hdr.flags |= STATPUB_F_STOPPED;
    write_hdr(p); /* best effort */
    stop(s, rc, why);
}

/* The pass is complete (or can go no further): its buffer becomes the front. */
static void flip(struct jet_station *s, struct statpub *p, bool full)
{
    struct jet_link_stats ls = {0};
    bool have = p->link_stats && jet_link_stats(s->link, &ls) == 0;
    if (!have)
        ls = (struct jet_link_stats){0};
    struct statpub_hdr *h = &p->hdr;
    h->front = p->back;
    h->nent = p->cur;
    h->nchan = p->live;
    /* the records written (all of them, unless the file could not grow) */
    uint32_t nconn = p->conn_phase ? (p->ccur - p->conn_first) / 2 : 0;
    h->nconn = nconn;
    h->conn_first = nconn ? p->conn_first : 0;
    h->conn_more = !p->conn_phase              ? 0
                   : p->conn_more > UINT32_MAX ? UINT32_MAX
                                               : (uint32_t)p->conn_more;
    p->conn_phase = false;
    h->capacity = p->cap;
    if (full)
        h->flags |= STATPUB_F_STOPPED;
    h->flags =
        have ? h->flags & ~(uint32_t)STATPUB_F_NO_LINK_STATS : h->flags | STATPUB_F_NO_LINK_STATS;
    h->begin_ns = p->begin_ns;
    h->publish_ns = realtime_ns();
    h->publishes++;
    h->frames_in = s->st.frames_in;
    h->dropped_header = s->st.dropped_header;
    h->dropped_no_chan = s->st.dropped_no_chan;
    h->dropped_not_mine = s->st.dropped_not_mine;
    h->dropped_other = s->st.dropped_other;
    h->link_tx_frames = ls.tx_frames;
    h->link_tx_bytes = ls.tx_bytes;
    h->link_rx_frames = ls.rx_frames;
    h->link_rx_bytes = ls.rx_bytes;
    h->link_tx_dropped = ls.tx_dropped;
    h->link_rx_dropped = ls.rx_dropped;
    h->link_faults = ls.faults;
    p->running = false;
    int rc = write_hdr(p);
    if (rc) {
        write_failed(s, p, rc, "header");
        return;
    }
    p->w.passes++;
    /* back to waiting: the clock is read again from now on */
    s->pub_due = p->next_due;
    s->pub_checked = jet_now_ns();
    s->pub_skip = s->pub_every ? s->pub_every - 1 : 0;
    if (full)
        stop(s, -ENOSPC, "cannot grow the stats file (no room in " STATPUB_DIR "?)");
}

/* Writes src (entries) as entries [from, i) of the back buffer: a pwrite
 * per chunk. */
static int write_ents(struct statpub *p, const void *src, uint32_t from, uint32_t i)
{
    const struct statpub_ent *e = src;
    for (uint32_t k = from; k < i;) {
        uint32_t end = (k / STATPUB_CHUNK + 1) * STATPUB_CHUNK;
        if (end > i)
            end = i;
        int rc = put(p->fd, &e[k - from], (size_t)(end - k) * sizeof(struct statpub_ent),
                     statpub_ent_off(k, p->back));
        if (rc)
            return rc;
        k = end;
    }
    return 0;
}

/* The walk is done: the protocols' connection records follow, a slice a
 * poll (conn_slice), after the channels' entries; or, with no protocol that
 * publishes any, the flip. */
static void walk_done(struct jet_station *s, struct statpub *p)
{
    bool any = false;
    for (uint32_t i = 0; i < s->nproto && !any; i++)
        any = s->proto[i].pub_conns != NULL;
    if (!any) {
        flip(s, p, false);
        return;
    }
    p->conn_phase = true;
    p->conn_first = (p->cur + 1) & ~1u; /* even: a record never straddles a chunk */
    p->ccur = p->conn_first;
    p->cproto = 0;
    p->cops = NULL;
    p->ccursor = 0;
    p->conn_more = 0;
}

/* The protocol whose records come next (p->cproto), or NULL when none is
 * left.  A protocol detached during the pass (the array shifts) is found
 * again by its ops, or skipped. */
static const struct station_proto *conn_proto(struct jet_station *s, struct statpub *p)
{
    for (;;) {
        if (p->cops && (p->cproto >= s->nproto || s->proto[p->cproto].ops != p->cops)) {
            uint32_t j = 0;
            while (j < s->nproto && s->proto[j].ops != p->cops)
                j++;
            if (j < s->nproto) {
                p->cproto = j;
            } else { /* gone: the one now at its place is begun afresh */
                p->cops = NULL;
                p->ccursor = 0;
            }
        }
        if (p->cproto >= s->nproto)
            return NULL;
        const struct station_proto *sp = &s->proto[p->cproto];
        if (sp->pub_conns && p->ccursor != STATPUB_CURSOR_END) {
            p->cops = sp->ops;
            return sp;
        }
        p->cproto++;
        p->cops = NULL;
        p->ccursor = 0;
    }
}

/* One poll's share of the records: the next STATPUB_SLICE / 2 from the
 * protocols' hooks, a pwrite per chunk; or one growth step when they would
 * not fit the file.  Not from a poll inside a protocol's hook (jet/stack.h):
 * the protocol may be in the middle of changing what its hook walks; the
 * next poll goes on. */
static void conn_slice(struct jet_station *s, struct statpub *p)
{
    if (s->in_hooks)
        return;
    const struct station_proto *sp = conn_proto(s, p);
    if (!sp) {
        flip(s, p, false);
        return;
    }
    uint32_t done = (p->ccur - p->conn_first) / 2;
    uint32_t room = STATPUB_MAX_CONNS - done;
    if (room > (STATPUB_MAX_CHANNELS - p->ccur) / 2)
        room = (STATPUB_MAX_CHANNELS - p->ccur) / 2;
    if (!room) { /* at the bound: the rest are only counted */
        for (; sp; sp = conn_proto(s, p)) {
            p->conn_more += sp->pub_conns(s, sp->state, &p->ccursor, NULL, 0);
            p->ccursor = STATPUB_CURSOR_END;
        }
        flip(s, p, false);
        return;
    }
    uint32_t want = room < STATPUB_SLICE / 2 ? room : STATPUB_SLICE / 2;
    if (p->ccur + 2 * want > p->cap) {
        uint32_t cap = p->cap + STATPUB_GROW_ENTS;
        if (cap > STATPUB_MAX_CHANNELS)
            cap = STATPUB_MAX_CHANNELS;
        if (grow(p, cap) < 0) {
            flip(s, p, true); /* with the records written so far */
            return;
        }
        if (cap - p->ccur > p->w.grow_max)
            p->w.grow_max = cap - p->ccur;
        return;
    }
    memset(p->cstage, 0, (size_t)want * sizeof p->cstage[0]);
    uint64_t before = p->ccursor;
    uint32_t n = sp->pub_conns(s, sp->state, &p->ccursor, p->cstage, want);
    if (n > want)
        n = want;
    if (n == 0 && p->ccursor == before)
        p->ccursor = STATPUB_CURSOR_END; /* no progress: done with it */
    int rc = write_ents(p, p->cstage, p->ccur, p->ccur + 2 * n);
    if (rc) {
        write_failed(s, p, rc, "connection records");
        return;
    }
    if (2 * n > p->w.slice_max)
        p->w.slice_max = 2 * n;
    p->ccur += 2 * n;
}

/* One poll's share of the pass: up to STATPUB_SLICE channel structs, or one
 * growth step when the walk has reached the end of the file; after the
 * walk, the connection records. */
static void slice(struct jet_station *s, struct statpub *p)
{
    s->pub_due = 0; /* the next poll goes on, with a time or without */
    s->pub_skip = 0;
    p->w.polls++;
    if (p->werr) {
        write_failed(s, p, p->werr, "a closed channel's entry");
        return;
    }
    if (p->conn_phase) {
        conn_slice(s, p);
        return;
    }
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
        uint64_t bit = 1ull << (i % 64);
        if (c->id) {
            fill_ent(&p->stage[i - from], c);
            p->mine[i / 64] |= bit;
            p->live++;
        } else {
            p->stage[i - from] = (struct statpub_ent){0};
            p->mine[i / 64] &= ~bit;
        }
    }
    int rc = write_ents(p, p->stage, from, i);
    if (rc) {
        write_failed(s, p, rc, "entries");
        return;
    }
    p->cur = i;
    if (i - from > p->w.slice_max)
        p->w.slice_max = i - from;
    /* every open channel written (W, the channels written and still open,
     * is a subset of those open, and as large), or no more structs */
    if (p->live == s->nchan || p->cur >= end)
        walk_done(s, p);
}

/* A pass begins (the file is created first, in a poll of its own).  The
 * file shorter than what was reserved: someone truncated it; reserve its
 * pages again (the writes of this pass and the next fill it in). */
static void begin(struct jet_station *s, uint64_t now)
{
    struct statpub *p = s->pub;
    struct stat sb;
    if (fstat(p->fd, &sb) == 0 && (uint64_t)sb.st_size < file_size(p->cap)) {
        p->w.truncated++;
        int rc = reserve(p->fd, 0, p->cap);
        if (rc) {
            write_failed(s, p, rc, "after it was truncated");
            return;
        }
    }
    p->next_due = now + STATPUB_PERIOD_NS;
    p->running = true;
    p->conn_phase = false;
    p->back = p->hdr.front ^ 1;
    p->cur = 0;
    p->live = 0;
    p->begin_ns = realtime_ns();
    slice(s, p);
}

void statpub_forget(struct statpub *p, const struct jet_chan *c)
{
    if (!p->running || c->idx >= p->cur)
        return; /* the walk has not come by: it will find the struct free */
    uint64_t bit = 1ull << (c->idx % 64);
    if (!(p->mine[c->idx / 64] & bit))
        return; /* opened behind the walk: not in this pass */
    p->mine[c->idx / 64] &= ~bit;
    p->live--;
    uint32_t zero = 0;
    int rc = put(p->fd, &zero, sizeof zero,
                 statpub_ent_off(c->idx, p->back) + offsetof(struct statpub_ent, id));
    if (rc && !p->werr)
        p->werr = rc;
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
        struct statpub *p = calloc(1, sizeof *p);
        if (!p) {
            stop(s, -ENOMEM, "out of memory");
            return;
        }
        p->fd = -1;
        s->pub = p;
        int rc = pub_create(s, p);
        p->w.polls++;
        if (rc < 0) {
            char why[sizeof p->w.why];
            memcpy(why, p->w.why, sizeof why);
            stop(s, rc, why);
            return;
        }
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
    if (p->fd >= 0 && fstat(p->fd, &a) == 0 && lstat(p->path, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino)
        unlink(p->path);
    pub_free(p);
}

int statpub_conn_source(struct jet_station *s, const struct jet_proto_ops *ops, statpub_conns_fn fn)
{
    for (uint32_t i = 0; i < s->nproto; i++)
        if (s->proto[i].ops == ops) {
            s->proto[i].pub_conns = fn;
            return 0;
        }
    return -ENOENT;
}

void statpub_conn_name(char dst[STATPUB_NAME_MAX], const char *name)
{
    size_t i = 0;
    for (; name && name[i] && i < STATPUB_NAME_MAX - 1; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        dst[i] = ok ? c : '_';
    }
    memset(dst + i, 0, STATPUB_NAME_MAX - i);
}

#define WALK_LISTENERS (1ull << 62)

static const void *walk_next(const void *e, size_t off)
{
    const void *n;
    memcpy(&n, (const char *)e + off, sizeof n);
    return n;
}

uint32_t statpub_walk(const struct statpub_lists *w, uint64_t *cursor, struct statpub_conn *out,
                      uint32_t max)
{
    uint32_t n = 0;
    uint64_t cur = *cursor ? *cursor : WALK_LISTENERS;
    if (cur & WALK_LISTENERS) {
        uint64_t i = 0, from = cur & ~WALK_LISTENERS;
        for (const void *l = w->lis; l; l = walk_next(l, w->lis_next), i++) {
            if (i < from)
                continue;
            if (!out) {
                n++;
                continue;
            }
            if (n == max) {
                *cursor = WALK_LISTENERS | i;
                return n;
            }
            struct statpub_conn *r = &out[n++];
            r->kind = STATPUB_LISTENER;
            statpub_conn_name(r->state, "LISTEN");
            w->lis_rec(w->state, l, r);
        }
        cur = w->pub_next + 1; /* every connection there is now */
    }
    for (const void *c = w->conns; c; c = walk_next(c, w->conn_next)) {
        uint64_t seq;
        memcpy(&seq, (const char *)c + w->conn_seq, sizeof seq);
        if (seq >= cur)
            continue;
        if (!out) {
            n++;
            continue;
        }
        if (n == max) {
            *cursor = cur;
            return n;
        }
        struct statpub_conn *r = &out[n++];
        r->kind = STATPUB_CONN;
        w->conn_rec(w->state, c, r);
        cur = seq;
    }
    *cursor = STATPUB_CURSOR_END;
    return n;
}
