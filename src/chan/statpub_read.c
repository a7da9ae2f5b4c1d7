/* Reading the stats files of jet stat, and their names (see statpub.h for
 * the file, the names and why the file is hostile input; statpub.c writes
 * them).
 *
 * statpub_list() finds the files of a link (by the link part of their
 * names), statpub_read() opens one, checks that it is a regular file and
 * hands it to statpub_parse(), which copies and checks it with pread();
 * then the file must be for the link asked for, at the address and pid its
 * name says, owned by the user its process runs as.  statpub_remove_stale()
 * removes a file nobody holds.  Everything here takes the file for hostile:
 * no mapping, every field checked before use, reasons in words. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chan/statpub.h"

enum { READ_TRIES = 2000 };

/* ---- names ---- */

static bool lan_name_char(char c, size_t i)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || (c == '.' && i > 0);
}

int statpub_link_part(char *buf, size_t cap, const char *link, bool *lan, struct jet_err *err)
{
    size_t n = link ? strlen(link) : 0;
    *lan = false;
    if (n == 0 || n >= STATPUB_LINK_MAX)
        return jet_err_set(err, -EINVAL, "bad link name '%.*s' for a stats file", STATPUB_LINK_MAX,
                           link ? link : "");
    /* lan:NAME with a LAN name (the link-name grammar: no '/', no leading '.') */
    bool is_lan = n > 4 && strncmp(link, "lan:", 4) == 0;
    for (size_t i = 4; is_lan && i < n; i++)
        is_lan = lan_name_char(link[i], i - 4);
    if (is_lan) {
        if (n - 4 >= cap)
            return jet_err_set(err, -EINVAL, "LAN name '%s' too long", link + 4);
        memcpy(buf, link + 4, n - 4 + 1);
        *lan = true;
        return 0;
    }
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)link[i];
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_';
        if (k + (plain ? 1 : 3) >= cap || k + (plain ? 1 : 3) > STATPUB_PART_MAX)
            return jet_err_set(err, -EINVAL,
                               "link name '%s' too long for a stats file name (%d bytes encoded)",
                               link, STATPUB_PART_MAX);
        if (plain) {
            buf[k++] = (char)c;
        } else {
            buf[k++] = '%';
            buf[k++] = hex[c >> 4];
            buf[k++] = hex[c & 15];
        }
    }
    buf[k] = 0;
    return 0;
}

/* "123" -> 123 (no sign, no leading zero but "0", at most 10 digits, at
 * most max); anything else -> -1. */
static int64_t number(const char *s, const char *end, uint64_t max)
{
    if (s == end || end - s > 10 || (*s == '0' && end - s > 1))
        return -1;
    uint64_t v = 0;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    return v <= max ? (int64_t)v : -1;
}

int statpub_id_parse(const char *id, uint32_t *addr, int32_t *pid)
{
    size_t n = strnlen(id, STATPUB_ID_MAX);
    if (n == STATPUB_ID_MAX)
        return -EINVAL;
    const char *end = id + n, *dash = memchr(id, '-', n);
    *pid = 0;
    if (!dash) { /* K */
        int64_t k = number(id, end, INT32_MAX);
        if (k < 0)
            return -EINVAL;
        *addr = (uint32_t)k;
        return 0;
    }
    int64_t p = number(dash + 1, end, INT32_MAX);
    if (p <= 0)
        return -EINVAL;
    *pid = (int32_t)p;
    if (*id == 'n') /* nK-PID */
        return number(id + 1, dash, UINT32_MAX) < 0 ? -EINVAL : (*addr = JET_LINK_NO_ADDR, 0);
    int64_t a = number(id, dash, JET_LINK_NO_ADDR - 1ull);
    if (a < 0)
        return -EINVAL;
    *addr = (uint32_t)a;
    return 0;
}

int statpub_path(char *buf, size_t cap, const char *link, const char *id, struct jet_err *err)
{
    char part[STATPUB_PART_MAX + 1];
    bool lan;
    uint32_t a;
    int32_t p;
    int rc = statpub_link_part(part, sizeof part, link, &lan, err);
    if (rc)
        return rc;
    if (statpub_id_parse(id, &a, &p))
        return jet_err_set(err, -EINVAL, "bad stats file id '%.*s'", STATPUB_ID_MAX, id);
    if ((size_t)snprintf(buf, cap, STATPUB_DIR "/" STATPUB_PREFIX "%s.%s", part, id) >= cap)
        return jet_err_set(err, -EINVAL, "stats file name too long");
    return 0;
}

/* ---- reading ---- */

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

/* Why an entry is not one a writer makes, or NULL. */
static const char *bad_ent(const struct statpub_ent *e)
{
    if (e->drop > JET_DROP_BACKPRESSURE)
        return "drop policy out of range";
    if (e->accept_bad_crc > 1)
        return "accept_bad_crc not 0 or 1";
    if (e->prio > 7)
        return "priority above 7";
    if (e->pad || e->pad2)
        return "padding not zero";
    if (e->queued > e->queued_hwm)
        return "queued above its high-water mark";
    if (e->queue_bytes > UINT32_MAX || e->reserve_bps > (uint64_t)INT64_MAX)
        return "queue bytes or reserved rate out of range";
    return NULL;
}

static void ent_decode(struct statpub_chan *c, const struct statpub_ent *e)
{
    c->st = (struct jet_chan_stats){.id = e->id,
                                    .frames_in = e->frames_in,
                                    .bytes_in = e->bytes_in,
                                    .frames_out = e->frames_out,
                                    .bytes_out = e->bytes_out,
                                    .dropped_policy = e->dropped_policy,
                                    .dropped_crc = e->dropped_crc,
                                    .crc_bad_delivered = e->crc_bad_delivered,
                                    .backpressured = e->backpressured,
                                    .tx_conforming = e->tx_conforming,
                                    .queued = e->queued,
                                    .queued_hwm = e->queued_hwm,
                                    .queued_bytes = e->queued_bytes};
    c->p = (struct jet_chan_policy){.accept_bad_crc = e->accept_bad_crc != 0,
                                    .drop = (enum jet_drop_policy)e->drop,
                                    .queue_frames = e->queue_frames,
                                    .queue_bytes = e->queue_bytes,
                                    .prio = e->prio,
                                    .reserve_bps = e->reserve_bps,
                                    .burst_bytes = e->burst_bytes};
}

static int by_id(const void *a, const void *b)
{
    uint32_t x = ((const struct statpub_chan *)a)->st.id,
             y = ((const struct statpub_chan *)b)->st.id;
    return x < y ? -1 : x > y;
}

/* Why a record's name field (state, cc) is not one a writer makes, or
 * NULL: terminated within the field, of name characters, 0-padded. */
static const char *bad_name(const char *n, bool empty_ok)
{
    const char *end = memchr(n, 0, STATPUB_NAME_MAX);
    if (!end)
        return "a name not terminated";
    if (end == n && !empty_ok)
        return "an empty name";
    for (const char *c = n; c < end; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '-'))
            return "a name with characters no name has";
    for (const char *c = end; c < n + STATPUB_NAME_MAX; c++)
        if (*c)
            return "bytes after a name's end";
    return NULL;
}

/* Why a connection record is not one a writer makes, or NULL. */
static const char *bad_conn(const struct statpub_conn *c)
{
    if (c->proto == 0 || c->proto > STATPUB_PROTO_LAST)
        return "unknown protocol";
    if (c->kind > STATPUB_LISTENER)
        return "unknown kind";
    if (c->flags & ~(unsigned)STATPUB_CF_KNOWN)
        return "unknown flags";
    if (c->pad)
        return "padding not zero";
    if (c->proto == STATPUB_PROTO_RBS && (c->laddr > 0xFFFF || c->raddr > 0xFFFF))
        return "an RBS station above 65535";
    if (c->proto == STATPUB_PROTO_TCP && (c->lport > 0xFFFF || c->rport > 0xFFFF))
        return "a TCP port above 65535";
    const char *why = bad_name(c->state, false);
    return why ? why : bad_name(c->cc, true);
}

/* Why the header's identity is not that of a stats file of this layout
 * for address addr, or NULL. */
static const char *bad_identity(const struct statpub_hdr *h, uint32_t addr)
{
    static __thread char layout_why[160];
    if (h->magic != STATPUB_MAGIC)
        return "not a Jetstream stats file (no magic)";
    if (h->layout != STATPUB_LAYOUT) {
        snprintf(layout_why, sizeof layout_why,
                 "a stats file of another layout (%u; this jet reads layout %u: a different "
                 "version of Jetstream?)",
                 (unsigned)h->layout, (unsigned)STATPUB_LAYOUT);
        return layout_why;
    }
    if (h->hdr_size != sizeof(struct statpub_hdr) || h->ent_size != sizeof(struct statpub_ent) ||
        h->chunk != STATPUB_CHUNK || h->conn_size != sizeof(struct statpub_conn))
        return "header, entry, record or chunk size not those of its layout";
    if (h->addr != addr)
        return "the file says it is another address's";
    if (h->pid <= 0)
        return "publisher pid not positive";
    if (!memchr(h->link, 0, sizeof h->link))
        return "link name not terminated";
    const char *colon = strchr(h->link, ':');
    if (!colon || colon == h->link || !colon[1])
        return "link name not KIND:NAME";
    for (const char *c = h->link; *c; c++)
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
            return "link name with characters no link name has";
    if (h->instance == 0)
        return "instance 0";
    return NULL;
}

/* Why the seqlocked counts are not ones a writer makes (or do not fit a
 * file of `size` bytes), or NULL.  On success *need: the bytes the front
 * buffer's first nent entries reach to. */
static const char *bad_counts(const struct statpub_hdr *h, int64_t size, uint64_t *need)
{
    if (h->seq & 1)
        return "seq odd";
    if (h->front > 1)
        return "front buffer not 0 or 1";
    if (h->capacity == 0 || h->capacity > STATPUB_MAX_CHANNELS || h->capacity % STATPUB_CHUNK)
        return "capacity out of range or not whole chunks";
    if (h->nent > h->capacity)
        return "more entries than capacity";
    if (h->nchan > h->nent)
        return "more channels than entries";
    if (h->flags & ~(uint32_t)STATPUB_F_KNOWN)
        return "unknown flags";
    if (h->publishes == 0 && (h->nent || h->nconn))
        return "entries before the first pass";
    for (size_t i = 0; i < sizeof h->reserved / sizeof h->reserved[0]; i++)
        if (h->reserved[i])
            return "reserved header bytes not zero";
    if (h->nconn > STATPUB_MAX_CONNS)
        return "more connection records than a file holds";
    if (h->nconn && (h->conn_first % 2 || h->conn_first < h->nent || h->conn_first > h->capacity ||
                     h->nconn > (h->capacity - h->conn_first) / 2))
        return "connection records out of place (odd, among the channels' or beyond capacity)";
    if (!h->nconn && h->conn_first)
        return "connection records out of place (a first one, and none)";
    if ((h->flags & STATPUB_F_NO_LINK_STATS) &&
        (h->link_tx_frames | h->link_tx_bytes | h->link_rx_frames | h->link_rx_bytes |
         h->link_tx_dropped | h->link_rx_dropped | h->link_faults))
        return "link counters of a link that keeps none";
    /* nent <= 2^20: no overflow (statpub_ent_off is under 2^28) */
    *need = h->nent ? statpub_ent_off(h->nent - 1, h->front) + sizeof(struct statpub_ent)
                    : sizeof(struct statpub_hdr);
    if (h->nconn) { /* conn_first + 2 * nconn <= capacity <= 2^20: no overflow */
        uint64_t c = statpub_ent_off(h->conn_first + 2 * h->nconn - 1, h->front) +
                     sizeof(struct statpub_ent);
        if (c > *need)
            *need = c;
    }
    if (size < 0 || (uint64_t)size < *need)
        return "shorter than its header says";
    return NULL;
}

static int grow_conn(struct statpub_snap *out, uint32_t n)
{
    if (n <= out->conn_cap)
        return 0;
    struct statpub_conn *c = realloc(out->conn, (size_t)n * sizeof *c);
    if (!c)
        return -ENOMEM;
    out->conn = c;
    out->conn_cap = n;
    return 0;
}

/* The front buffer's connection records into out->conn: those that fail
 * their checks dropped and counted in *nbad.  Returns how many kept, or a
 * negative errno (-ENODATA: cut short). */
static int64_t read_conns(const struct statpub_src *src, const struct statpub_hdr *h,
                          struct statpub_snap *out, uint32_t *nbad)
{
    struct statpub_conn buf[STATPUB_CHUNK / 2];
    uint32_t k = 0, end = h->conn_first + 2 * h->nconn;
    *nbad = 0;
    /* a chunk (or what is left of one) a read: records never straddle one */
    for (uint32_t i = h->conn_first; i < end;) {
        uint32_t stop = (i / STATPUB_CHUNK + 1) * STATPUB_CHUNK;
        if (stop > end)
            stop = end;
        uint32_t n = (stop - i) / 2;
        int rc = src->read(src->ctx, statpub_ent_off(i, h->front), buf, n * sizeof *buf);
        if (rc)
            return rc;
        for (uint32_t j = 0; j < n; j++) {
            if (bad_conn(&buf[j]))
                (*nbad)++;
            else
                out->conn[k++] = buf[j];
        }
        i = stop;
    }
    return k;
}

static int grow_chan(struct statpub_snap *out, uint32_t n)
{
    if (n <= out->cap)
        return 0;
    struct statpub_chan *c = realloc(out->chan, (size_t)n * sizeof *c);
    if (!c)
        return -ENOMEM;
    out->chan = c;
    out->cap = n;
    return 0;
}

enum { TRY_AGAIN = 1 };

/* One attempt of statpub_parse: 0, TRY_AGAIN (the writer was at work), or
 * a negative errno; a damaged file (-EPROTO) has its reason in *why. */
static int parse_once(const struct statpub_src *src, uint32_t addr, struct statpub_snap *out,
                      const char **why, bool *ident)
{
    const uint64_t seq_at = offsetof(struct statpub_hdr, seq);
    struct statpub_hdr h;
    uint32_t s1, s2;
    int rc = src->read(src->ctx, seq_at, &s1, sizeof s1);
    if (rc == 0)
        rc = src->read(src->ctx, 0, &h, sizeof h);
    if (rc == -ENODATA) {
        *why = "shorter than a header";
        return -EPROTO;
    }
    if (rc)
        return rc;
    /* The identity never changes (the writer rewrites it with the same
     * bytes): checked even while the writer is at work, so that a file
     * whose writer died in mid-write still names its process. */
    const char *bad = bad_identity(&h, addr);
    if (bad && (s1 & 1)) {
        *why = bad;       /* the reason if it stays so */
        return TRY_AGAIN; /* maybe being rewritten after a truncation */
    }
    if (!bad) {
        out->addr = addr;
        out->pid = h.pid;
        out->instance = h.instance;
        memcpy(out->link, h.link, sizeof out->link);
        out->created_ns = h.created_ns;
        *ident = true;
        if (s1 & 1 || h.seq != s1)
            return TRY_AGAIN;
    }
    uint64_t need = 0;
    if (!bad) {
        int64_t size = src->size(src->ctx);
        if (size < 0)
            return (int)size;
        bad = bad_counts(&h, size, &need);
    }
    if (!bad && (grow_chan(out, h.nchan) < 0 || grow_conn(out, h.nconn) < 0))
        return -ENOMEM;
    /* the front buffer's entries, a chunk a read */
    struct statpub_ent buf[STATPUB_CHUNK];
    uint32_t k = 0;
    for (uint32_t i = 0; !bad && i < h.nent; i += STATPUB_CHUNK) {
        uint32_t n = h.nent - i < STATPUB_CHUNK ? h.nent - i : STATPUB_CHUNK;
        rc = src->read(src->ctx, statpub_ent_off(i, h.front), buf, n * sizeof *buf);
        if (rc == -ENODATA) {
            bad = "truncated while read";
            break;
        }
        if (rc)
            return rc;
        for (uint32_t j = 0; j < n && !bad; j++) {
            if (!buf[j].id)
                continue;
            if (k == h.nchan)
                bad = "more channels in the front buffer than the header says";
            else if ((bad = bad_ent(&buf[j])) == NULL)
                ent_decode(&out->chan[k++], &buf[j]);
        }
    }
    if (!bad && k != h.nchan)
        bad = "fewer channels in the front buffer than the header says";
    int64_t nconn = 0;
    uint32_t conn_bad = 0;
    if (!bad && h.nconn) {
        nconn = read_conns(src, &h, out, &conn_bad);
        if (nconn == -ENODATA)
            bad = "truncated while read";
        else if (nconn < 0)
            return (int)nconn;
    }
    rc = src->read(src->ctx, seq_at, &s2, sizeof s2);
    if (rc && rc != -ENODATA)
        return rc;
    if (rc || s2 != s1) /* changed (or cut) under us: the writer, or someone else */
        return bad && rc ? (*why = bad, -EPROTO) : TRY_AGAIN;
    if (bad) {
        *why = bad;
        return -EPROTO;
    }
    if (k > 1)
        qsort(out->chan, k, sizeof *out->chan, by_id);
    for (uint32_t j = 1; j < k; j++)
        if (out->chan[j].st.id == out->chan[j - 1].st.id) {
            *why = "a channel id twice";
            return -EPROTO;
        }
    out->nchan = k;
    out->nconn = (uint32_t)nconn;
    out->conn_bad = conn_bad;
    out->conn_more = h.conn_more;
    out->flags = h.flags;
    out->publish_ns = h.publish_ns;
    out->publishes = h.publishes;
    out->begin_ns = h.begin_ns;
    out->st = (struct jet_station_stats){.frames_in = h.frames_in,
                                         .dropped_header = h.dropped_header,
                                         .dropped_no_chan = h.dropped_no_chan,
                                         .dropped_not_mine = h.dropped_not_mine,
                                         .dropped_other = h.dropped_other,
                                         .channels = k};
    out->link_st = (struct jet_link_stats){.tx_frames = h.link_tx_frames,
                                           .tx_bytes = h.link_tx_bytes,
                                           .rx_frames = h.link_rx_frames,
                                           .rx_bytes = h.link_rx_bytes,
                                           .tx_dropped = h.link_tx_dropped,
                                           .rx_dropped = h.link_rx_dropped,
                                           .faults = h.link_faults};
    return 0;
}

int statpub_parse(const struct statpub_src *src, const char *what, uint32_t addr, int tries,
                  struct statpub_snap *out, struct jet_err *err)
{
    const char *why = NULL;
    bool ident = false;
    out->nchan = out->nconn = out->conn_bad = out->conn_more = 0;
    for (int t = 0; t < tries; t++) {
        if (t >= 64) {
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
        }
        int rc = parse_once(src, addr, out, &why, &ident);
        if (rc == TRY_AGAIN) {
            out->nchan = out->nconn = 0;
            continue;
        }
        if (rc == 0)
            return 0;
        out->nchan = out->nconn = 0;
        if (rc == -EPROTO)
            return jet_err_set(err, rc, "%s: damaged or not a stats file: %s", what, why);
        return jet_err_set(err, rc, "%s: %s", what, strerror(-rc));
    }
    if (!ident) {
        memset(out->link, 0, sizeof out->link);
        if (why) /* seq odd all along, and no stats file's identity */
            return jet_err_set(err, -EPROTO, "%s: damaged or not a stats file: %s", what, why);
    }
    return jet_err_set(err, -EAGAIN, "%s: the publisher kept writing; no consistent copy", what);
}

struct file_src {
    int fd;
};

static int file_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct file_src *f = ctx;
    char *b = buf;
    while (len) {
        ssize_t n = pread(f->fd, b, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -ENODATA;
        b += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static int64_t file_size_now(void *ctx)
{
    struct stat sb;
    if (fstat(((struct file_src *)ctx)->fd, &sb) < 0)
        return -errno;
    return (int64_t)sb.st_size;
}

/* The effective uid process pid runs as (its /proc directory's owner), or
 * -1 when it cannot be told (gone, /proc hidden). */
static long proc_uid(pid_t pid)
{
    char p[32];
    struct stat sb;
    snprintf(p, sizeof p, "/proc/%d", (int)pid);
    return stat(p, &sb) == 0 ? (long)sb.st_uid : -1;
}

int statpub_read(const char *link, const char *id, struct statpub_snap *out, struct jet_err *err)
{
    char path[STATPUB_PATH_MAX];
    uint32_t addr;
    int32_t id_pid;
    out->nchan = out->nconn = 0;
    int rc = statpub_path(path, sizeof path, link, id, err);
    if (rc)
        return rc;
    statpub_id_parse(id, &addr, &id_pid); /* checked by statpub_path */
    /* O_NONBLOCK: a FIFO someone put at the name must not hang us */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        rc = -errno;
        if (rc == -ENOENT)
            return jet_err_set(err, rc, "%s %s of link '%s' publishes no counters",
                               id_pid ? "publisher" : "station", id, link);
        if (rc == -ELOOP)
            return jet_err_set(err, -EPROTO, "%s: damaged or not a stats file: a symbolic link",
                               path);
        return jet_err_set(err, rc, "cannot open %s: %s", path, strerror(-rc));
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        rc = jet_err_set(err, -errno, "cannot stat %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        rc = jet_err_set(err, -EPROTO, "%s: damaged or not a stats file: not a regular file", path);
        goto out;
    }
    out->uid = (uint32_t)sb.st_uid;
    struct file_src f = {fd};
    struct statpub_src src = {file_read, file_size_now, &f};
    rc = statpub_parse(&src, path, addr, READ_TRIES, out, err);
    if (rc && (rc != -EAGAIN || !out->link[0])) /* -EAGAIN before a valid identity */
        goto out;
    if (strcmp(out->link, link) != 0) {
        rc = jet_err_set(err, -EPROTO, "%s: damaged or not a stats file: it is for link '%s'", path,
                         out->link);
        goto out;
    }
    if (id_pid && out->pid != id_pid) {
        rc = jet_err_set(err, -EPROTO,
                         "%s: damaged or not a stats file: it says pid %d, its name pid %d", path,
                         (int)out->pid, (int)id_pid);
        goto out;
    }
    /* Only the publisher writes its file: one owned by another user than
     * the process it names is not that process's (root may write anything). */
    long pu = proc_uid(out->pid);
    if (sb.st_uid != 0 && pu >= 0 && (uid_t)pu != sb.st_uid) {
        rc = jet_err_set(err, -EPROTO,
                         "%s: not the station's counters: the file belongs to uid %u, its "
                         "publisher (pid %d) runs as uid %ld",
                         path, (unsigned)sb.st_uid, (int)out->pid, pu);
        goto out;
    }
    out->alive = pid_alive(out->pid) && held(fd);
    if (rc == -EAGAIN && !out->alive) {
        /* died in mid-write: the identity is all there is */
        out->flags = 0;
        out->publish_ns = out->publishes = out->begin_ns = 0;
        out->st = (struct jet_station_stats){0};
        out->link_st = (struct jet_link_stats){0};
        rc = 0;
    }
out:
    if (rc)
        out->nchan = out->nconn = 0;
    close(fd);
    return rc;
}

void statpub_snap_free(struct statpub_snap *out)
{
    free(out->chan);
    out->chan = NULL;
    out->cap = out->nchan = 0;
    free(out->conn);
    out->conn = NULL;
    out->conn_cap = out->nconn = 0;
}

/* Removes ID.tmpPID.RANDOM (rest) if it is our user's regular file and
 * PID is gone: a publisher that died before renaming it. */
static void remove_dead_tmp(DIR *d, const char *name, const char *rest)
{
    const char *dot = strstr(rest, ".tmp"), *end = rest + strlen(rest);
    char id[STATPUB_ID_MAX];
    uint32_t a;
    int32_t ip;
    if (!dot || dot - rest >= (ptrdiff_t)sizeof id)
        return;
    memcpy(id, rest, (size_t)(dot - rest));
    id[dot - rest] = 0;
    if (statpub_id_parse(id, &a, &ip))
        return;
    const char *rnd = strchr(dot + 4, '.');
    if (!rnd || end - rnd != 17)
        return;
    int64_t pid = number(dot + 4, rnd, INT32_MAX);
    struct stat sb;
    if (pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH &&
        fstatat(dirfd(d), name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
        sb.st_uid == geteuid())
        unlinkat(dirfd(d), name, 0);
}

int statpub_list(const char *link, void (*fn)(const char *id, void *arg), void *arg,
                 struct jet_err *err)
{
    char part[STATPUB_PART_MAX + 1], pfx[STATPUB_PATH_MAX];
    bool lan;
    int rc = statpub_link_part(part, sizeof part, link, &lan, err);
    if (rc)
        return rc;
    snprintf(pfx, sizeof pfx, STATPUB_PREFIX "%s.", part);
    size_t pl = strlen(pfx);
    DIR *d = opendir(STATPUB_DIR);
    if (!d)
        return jet_err_set(err, -errno, "cannot read " STATPUB_DIR ": %s", strerror(errno));
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, pfx, pl) != 0)
            continue;
        const char *rest = e->d_name + pl;
        uint32_t a;
        int32_t p;
        if (strlen(rest) < STATPUB_ID_MAX && statpub_id_parse(rest, &a, &p) == 0) {
            fn(rest, arg);
            n++;
            continue;
        }
        remove_dead_tmp(d, e->d_name, rest);
    }
    closedir(d);
    return n;
}

int statpub_remove_stale(const char *link, const char *id, struct jet_err *err)
{
    char path[STATPUB_PATH_MAX];
    int rc = statpub_path(path, sizeof path, link, id, err);
    if (rc)
        return rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
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
    if (fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino && unlink(path) < 0 && errno != ENOENT)
        rc = jet_err_set(err, -errno, "cannot remove %s: %s", path, strerror(errno));
    close(fd);
    return rc;
}
