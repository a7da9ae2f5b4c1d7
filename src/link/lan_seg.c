/* The emulated LAN's segment: creation, opening, inspection, destruction and
 * the reclaiming of dead stations.  The data path is in lan_tx.c and lan_rx.c.
 *
 * Order of work: jet_lan_create() lays the segment out and writes the magic
 * last; lan_seg_open() checks magic and layout version before trusting any
 * other field; lan_sweep() checks each slot's lock and reclaims the dead. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "link/lan_impl.h"
#include "util/rng.h"

#define ALIGN64(x) (((x) + 63u) & ~(uint64_t)63u)

void jet_lan_config_default(struct jet_lan_config *c)
{
    memset(c, 0, sizeof *c);
    c->stations = 8;
    c->mtu = 9000;
    c->ring = 256;
    c->mode = 0600;
    c->gid = (gid_t)-1;
}

static int check_name(const char *name, struct jet_err *err)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > JET_LAN_NAME_MAX)
        return jet_err_set(err, -EINVAL, "LAN name must be 1 to %d characters", JET_LAN_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || (ch == '.' && i > 0)))
            return jet_err_set(err, -EINVAL,
                               "LAN name '%s': use letters, digits, '-', '_' and '.'", name);
    }
    return 0;
}

static void shm_name(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s%s", LAN_SHM_PREFIX, name);
}

static uint32_t default_buffers(const struct jet_lan_config *c, uint32_t buf_size)
{
    uint64_t want = (uint64_t)c->stations * c->ring;
    if (want < 1024)
        want = 1024;
    if (want > 16384)
        want = 16384;
    uint64_t cap = (256ull << 20) / buf_size; /* keep the default pool under 256 MiB */
    if (want > cap)
        want = cap;
    if (want < 256)
        want = 256;
    return (uint32_t)want;
}

/* The configuration limits, for creation and for every open. */
static int check_cfg(const struct lan_cfg *c, struct jet_err *err)
{
    if (c->stations < 2 || c->stations > JET_LAN_MAX_STATIONS)
        return jet_err_set(err, -EINVAL, "stations must be 2 to %d (found %u)",
                           JET_LAN_MAX_STATIONS, c->stations);
    if (c->mtu < JET_LAN_MIN_MTU || c->mtu > JET_LAN_MAX_MTU)
        return jet_err_set(err, -EINVAL, "MTU must be %d to %d bytes (found %u)", JET_LAN_MIN_MTU,
                           JET_LAN_MAX_MTU, c->mtu);
    if (c->ring < 16 || c->ring > (1u << 16) || (c->ring & (c->ring - 1)))
        return jet_err_set(err, -EINVAL,
                           "ring size must be a power of two from 16 to 65536 (found %u)", c->ring);
    if (c->rate_bps && c->rate_bps < LAN_MIN_RATE)
        return jet_err_set(err, -EINVAL,
                           "rate must be unlimited (0) or at least %llu bit/s (found %llu)",
                           (unsigned long long)LAN_MIN_RATE, (unsigned long long)c->rate_bps);
    if (c->delay_ns > LAN_MAX_DELAY_NS || c->jitter_ns > LAN_MAX_DELAY_NS)
        return jet_err_set(err, -EINVAL, "delay and jitter must each be at most %llu s",
                           (unsigned long long)(LAN_MAX_DELAY_NS / 1000000000ull));
    if (!(c->loss >= 0 && c->loss <= 1) || !(c->ber >= 0 && c->ber <= 0.5) ||
        !(c->dup >= 0 && c->dup <= 1) || !(c->reorder >= 0 && c->reorder <= 1))
        return jet_err_set(err, -EINVAL,
                           "loss, dup and reorder must be probabilities (0..1), ber 0..0.5");
    return 0;
}

int lan_layout(const struct lan_cfg *c, struct lan_geom *g, struct jet_err *err)
{
    int rc = check_cfg(c, err);
    if (rc)
        return rc;
    memset(g, 0, sizeof *g);
    g->cfg = *c;
    g->frame_max = c->mtu + 28 + LAN_ETH_MAX_HDR; /* room for either encapsulation */
    g->buf_size = (uint32_t)ALIGN64(LAN_HEADROOM + g->frame_max);
    g->headroom = LAN_HEADROOM;
    g->pool_bytes = jet_pool_region_size(c->buffers, g->buf_size);
    if (g->pool_bytes == 0)
        return jet_err_set(err, -EINVAL, "pool of %u buffers of %u bytes is out of range",
                           c->buffers, g->buf_size);
    /* No overflow: stations <= 64, ring <= 65536, entries of 128 bytes, a
     * pool under 2^62 bytes. */
    uint64_t n = c->stations;
    g->ring_bytes = ALIGN64(sizeof(struct lan_ring) + sizeof(struct lan_desc) * c->ring);
    g->stations_off = ALIGN64(sizeof(struct lan_hdr));
    g->rings_off = ALIGN64(g->stations_off + sizeof(struct lan_station) * n);
    g->ret_bytes = ALIGN64(sizeof(struct lan_ret_ring) + sizeof(struct lan_ret_ent) * c->ring);
    g->ret_off = ALIGN64(g->rings_off + g->ring_bytes * n * n);
    /* A monitor ring holds at least 1 MiB, and 32 of the largest frames:
     * room for a monitor that reads a few milliseconds late (docs/lan.md). */
    uint32_t mon = 1u << 20;
    while (mon < 32u * lan_mon_rec_bytes(g->frame_max))
        mon <<= 1;
    g->mon_size = mon;
    g->mon_bytes = ALIGN64(sizeof(struct lan_mon_ring) + mon);
    g->mon_off = ALIGN64(g->ret_off + g->ret_bytes * n * n);
    g->pool_off = ALIGN64(g->mon_off + g->mon_bytes * n);
    g->seg_size = g->pool_off + g->pool_bytes;
    return 0;
}

int jet_lan_create(const char *name, const struct jet_lan_config *c, struct jet_err *err)
{
    int rc = check_name(name, err);
    if (rc)
        return rc;
    struct lan_cfg cfg = {.stations = c->stations,
                          .mtu = c->mtu,
                          .ring = c->ring,
                          .rate_bps = c->rate_bps,
                          .delay_ns = c->delay_ns,
                          .jitter_ns = c->jitter_ns,
                          .seed = c->seed,
                          .loss = c->loss,
                          .ber = c->ber,
                          .dup = c->dup,
                          .reorder = c->reorder};
    rc = check_cfg(&cfg, err);
    if (rc)
        return rc;
    uint32_t frame_max = c->mtu + 28 + LAN_ETH_MAX_HDR;
    cfg.buffers = c->buffers ? c->buffers
                             : default_buffers(c, (uint32_t)ALIGN64(LAN_HEADROOM + frame_max));
    struct lan_geom g;
    rc = lan_layout(&cfg, &g, err);
    if (rc)
        return rc;
    uint64_t size = g.seg_size;

    char shm[96];
    shm_name(shm, sizeof shm, name);
    mode_t mode = (mode_t)(c->mode ? c->mode : 0600) & 0666;
    cfg.mode = (uint32_t)mode;
    int fd = shm_open(shm, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        if (errno == EEXIST)
            return jet_err_set(err, -EEXIST, "LAN '%s' already exists", name);
        return jet_err_set(err, -errno, "cannot create LAN '%s': %s", name, strerror(errno));
    }
    if (fchmod(fd, mode) < 0 || (c->gid != (gid_t)-1 && fchown(fd, (uid_t)-1, c->gid) < 0)) {
        rc = jet_err_set(err, -errno, "cannot set owner/mode of LAN '%s': %s", name,
                         strerror(errno));
        goto fail_unlink;
    }
    /* Reserve every page now: a full /dev/shm is a clear error here, not a
     * SIGBUS in some station's data path later. */
    int fa = posix_fallocate(fd, 0, (off_t)size);
    if (fa == EOPNOTSUPP || fa == EINVAL)
        fa = ftruncate(fd, (off_t)size) < 0 ? errno : 0;
    if (fa) {
        rc = jet_err_set(err, -fa, "cannot size LAN '%s' to %llu bytes: %s", name,
                         (unsigned long long)size, strerror(fa));
        goto fail_unlink;
    }
    uint8_t *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        rc = jet_err_set(err, -errno, "cannot map LAN '%s': %s", name, strerror(errno));
        goto fail_unlink;
    }
    struct lan_hdr *h = (struct lan_hdr *)base;
    h->layout = LAN_LAYOUT;
    h->hdr_size = sizeof *h;
    h->seg_size = size;
    snprintf(h->name, sizeof h->name, "%s", name);
    h->cfg = cfg;
    h->stations_off = g.stations_off;
    h->rings_off = g.rings_off;
    h->ring_bytes = g.ring_bytes;
    h->ret_off = g.ret_off;
    h->ret_bytes = g.ret_bytes;
    h->pool_off = g.pool_off;
    h->pool_bytes = g.pool_bytes;
    h->mon_off = g.mon_off;
    h->mon_bytes = g.mon_bytes;
    h->headroom = g.headroom;
    h->frame_max = g.frame_max;
    uint64_t nh = 0xcbf29ce484222325ull;
    for (const char *p = name; *p; p++)
        nh = (nh ^ (uint8_t)*p) * 0x100000001b3ull;
    h->mac[0] = (uint8_t)(nh >> 8);
    h->mac[1] = (uint8_t)nh;
    h->created_unix = (uint64_t)time(NULL);
    /* Every ring entry starts as if written one lap before index 0, so that a
     * reader can tell an entry not written yet (struct lan_desc.seq). */
    for (uint64_t r = 0; r < (uint64_t)cfg.stations * cfg.stations; r++) {
        struct lan_ring *ring = (struct lan_ring *)(base + g.rings_off + r * g.ring_bytes);
        struct lan_ret_ring *ret = (struct lan_ret_ring *)(base + g.ret_off + r * g.ret_bytes);
        for (uint32_t i = 0; i < cfg.ring; i++) {
            ring->e[i].seq = i - cfg.ring;
            ret->e[i].seq = i - cfg.ring;
        }
    }
    rc = jet_pool_format(base + g.pool_off, g.pool_bytes, cfg.buffers, g.buf_size);
    if (rc) {
        jet_err_set(err, rc, "cannot lay out the buffer pool");
        munmap(base, size);
        goto fail_unlink;
    }
    atomic_thread_fence(memory_order_release);
    memcpy(h->magic, LAN_MAGIC, 8);
    munmap(base, size);
    close(fd);
    return 0;

fail_unlink:
    shm_unlink(shm);
    close(fd);
    return rc;
}

int lan_seg_open(const char *name, struct lan_seg *s, struct jet_err *err)
{
    int rc = check_name(name, err);
    if (rc)
        return rc;
    char shm[96];
    shm_name(shm, sizeof shm, name);
    memset(s, 0, sizeof *s);
    s->fd = shm_open(shm, O_RDWR | O_CLOEXEC, 0);
    if (s->fd < 0) {
        if (errno == ENOENT)
            return jet_err_set(err, -ENOENT, "no LAN named '%s' (jet lan list shows them)", name);
        return jet_err_set(err, -errno, "cannot open LAN '%s': %s", name, strerror(errno));
    }
    struct stat sb;
    if (fstat(s->fd, &sb) < 0) {
        rc = jet_err_set(err, -errno, "cannot stat LAN '%s': %s", name, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(sb.st_mode) || (size_t)sb.st_size < sizeof(struct lan_hdr)) {
        rc = jet_err_set(err, -EPROTO, "LAN '%s': segment too small to be a Jetstream LAN", name);
        goto fail;
    }
    s->size = (size_t)sb.st_size;
    s->base = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
    if (s->base == MAP_FAILED) {
        s->base = NULL;
        rc = jet_err_set(err, -errno, "cannot map LAN '%s': %s", name, strerror(errno));
        goto fail;
    }
    s->h = (struct lan_hdr *)s->base;
    rc = lan_seg_check(s, name, err);
    if (rc)
        goto fail;
    return 0;
fail:
    lan_seg_close(s);
    return rc;
}

/* Whether the header's copy h describes exactly the layout g. */
static bool same_layout(const struct lan_hdr *h, const struct lan_geom *g)
{
    return h->seg_size == g->seg_size && h->stations_off == g->stations_off &&
           h->rings_off == g->rings_off && h->ring_bytes == g->ring_bytes &&
           h->ret_off == g->ret_off && h->ret_bytes == g->ret_bytes &&
           h->pool_off == g->pool_off && h->pool_bytes == g->pool_bytes &&
           h->mon_off == g->mon_off && h->mon_bytes == g->mon_bytes &&
           h->headroom == g->headroom && h->frame_max == g->frame_max;
}

int lan_seg_check(struct lan_seg *s, const char *name, struct jet_err *err)
{
    /* One read of the header into private memory; everything below checks
     * that copy, and only the copy is used afterwards. */
    struct lan_hdr h;
    memcpy(&h, s->base, offsetof(struct lan_hdr, medium_free_ns));
    atomic_thread_fence(memory_order_acquire);
    if (memcmp(h.magic, LAN_MAGIC, 6) != 0)
        return jet_err_set(err, -EPROTO,
                           "LAN '%s': not a Jetstream LAN segment, or still being created", name);
    if (memcmp(h.magic, LAN_MAGIC, 8) != 0 || h.layout != LAN_LAYOUT)
        return jet_err_set(err, -EPROTO,
                           "LAN '%s' has segment layout version %u; this build speaks version %u "
                           "(recreate the LAN with this jet)",
                           name, h.layout, LAN_LAYOUT);
    if (h.hdr_size != sizeof(struct lan_hdr))
        return jet_err_set(err, -EPROTO, "LAN '%s' is damaged: header size %u, expected %zu", name,
                           h.hdr_size, sizeof(struct lan_hdr));
    if (h.seg_size != s->size)
        return jet_err_set(err, -EPROTO,
                           "LAN '%s' is damaged: the header says %llu bytes, the segment has %zu",
                           name, (unsigned long long)h.seg_size, s->size);
    if (memchr(h.name, 0, sizeof h.name) == NULL || strcmp(h.name, name) != 0)
        return jet_err_set(err, -EPROTO, "LAN '%s' is damaged: it names itself otherwise", name);
    struct jet_err why = {0};
    int rc = lan_layout(&h.cfg, &s->g, &why);
    if (rc)
        return jet_err_set(err, -EPROTO, "LAN '%s' is damaged: %s", name, jet_err_str(&why, rc));
    if (!same_layout(&h, &s->g))
        return jet_err_set(err, -EPROTO,
                           "LAN '%s' is damaged: its part offsets do not follow from its "
                           "configuration",
                           name);
    s->g.mac[0] = h.mac[0];
    s->g.mac[1] = h.mac[1];
    snprintf(s->g.name, sizeof s->g.name, "%s", name);
    s->st = (struct lan_station *)(s->base + s->g.stations_off);
    rc = jet_pool_view(&s->pool, s->base + s->g.pool_off, s->g.pool_bytes);
    if (rc == 0 && (s->pool.nbufs != h.cfg.buffers || s->pool.buf_size != s->g.buf_size))
        rc = -EBADMSG;
    if (rc)
        return jet_err_set(err, -EPROTO, "LAN '%s' is damaged: its buffer pool header is %s", name,
                           rc == -EBADMSG ? "inconsistent" : "out of bounds");
    return 0;
}

void lan_seg_close(struct lan_seg *s)
{
    if (s->base)
        munmap(s->base, s->size);
    if (s->fd >= 0)
        close(s->fd);
    s->base = NULL;
    s->fd = -1;
}

static int lockop(struct lan_seg *s, uint32_t station, short type, int cmd, struct flock *out)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = station, .l_len = 1};
    int rc = fcntl(s->fd, cmd, &fl);
    if (out)
        *out = fl;
    return rc < 0 ? -errno : 0;
}

int lan_lock(struct lan_seg *s, uint32_t station)
{
    int rc = lockop(s, station, F_WRLCK, F_OFD_SETLK, NULL);
    return rc == -EACCES ? -EAGAIN : rc;
}

void lan_unlock(struct lan_seg *s, uint32_t station)
{
    lockop(s, station, F_UNLCK, F_OFD_SETLK, NULL);
}

bool lan_locked_elsewhere(struct lan_seg *s, uint32_t station)
{
    struct flock fl;
    if (lockop(s, station, F_WRLCK, F_OFD_GETLK, &fl) < 0)
        return true; /* cannot tell: assume alive, never reclaim in doubt */
    return fl.l_type != F_UNLCK;
}

static bool owner_live(uint32_t token, void *arg)
{
    return lan_token_live(arg, token);
}

void lan_reclaim_locked(struct lan_seg *s, uint32_t station)
{
    struct lan_station *st = &s->st[station];
    if (atomic_load_explicit(&st->token, memory_order_acquire) == 0)
        return;
    /* Senders stop at once: they check the token before every hand-over. */
    atomic_store_explicit(&st->token, 0, memory_order_seq_cst);
    atomic_store_explicit(&st->pid, 0, memory_order_relaxed);
    /* We are the consumer of its incoming rings now: drop what waits there.
     * Their buffers carry the dead token and go back to the pool below. */
    for (uint32_t src = 0; src < s->g.cfg.stations; src++) {
        struct lan_ring *r = lan_ring(s, src, station);
        atomic_store_explicit(&r->head, atomic_load_explicit(&r->tail, memory_order_acquire),
                              memory_order_release);
        struct lan_ret_ring *q = lan_ret(s, station, src);
        atomic_store_explicit(&q->head, atomic_load_explicit(&q->tail, memory_order_acquire),
                              memory_order_release);
    }
    atomic_fetch_sub(&s->h->reserved_bps, atomic_exchange(&st->reserved_bps, 0));
    uint32_t n = jet_pool_reclaim(&s->pool, owner_live, s);
    atomic_fetch_add(&s->h->reclaims, 1);
    atomic_fetch_add(&s->h->reclaimed_bufs, n);
}

bool lan_check_station(struct lan_seg *s, uint32_t station)
{
    if (atomic_load_explicit(&s->st[station].token, memory_order_acquire) == 0)
        return false;
    if (lan_locked_elsewhere(s, station))
        return true;
    if (lan_lock(s, station) != 0)
        return true; /* someone took it between the two calls: alive */
    lan_reclaim_locked(s, station);
    lan_unlock(s, station);
    return false;
}

bool lan_check_monitor(struct lan_seg *s)
{
    if (atomic_load_explicit(&s->h->mon_token, memory_order_acquire) == 0)
        return false;
    if (lan_locked_elsewhere(s, LAN_MON_LOCK))
        return true;
    if (lan_lock(s, LAN_MON_LOCK) != 0)
        return true; /* someone took it between the two calls: alive */
    /* Its holder died (kill -9): stations stop copying for it.  The rings
     * need nothing: the next monitor starts from their tails. */
    atomic_store_explicit(&s->h->mon_token, 0, memory_order_seq_cst);
    atomic_store_explicit(&s->h->mon_pid, 0, memory_order_relaxed);
    atomic_store_explicit(&s->h->mon_sleeping, 0, memory_order_relaxed);
    lan_unlock(s, LAN_MON_LOCK);
    return false;
}

void lan_reclaim_orphans(struct lan_seg *s)
{
    uint32_t n = jet_pool_reclaim(&s->pool, owner_live, s);
    if (n)
        atomic_fetch_add(&s->h->reclaimed_bufs, n);
}

void lan_sweep(struct lan_seg *s, uint32_t self)
{
    for (uint32_t i = 0; i < s->g.cfg.stations; i++)
        if (i != self)
            lan_check_station(s, i);
    lan_check_monitor(s);
    lan_reclaim_orphans(s);
}

/* How many station lock bytes of segment file shm other open files hold. */
static uint32_t locks_held(const char *shm)
{
    struct lan_seg s = {.fd = shm_open(shm, O_RDONLY | O_CLOEXEC, 0)};
    if (s.fd < 0)
        return 0;
    uint32_t n = 0;
    for (uint32_t i = 0; i < JET_LAN_MAX_STATIONS; i++)
        n += lan_locked_elsewhere(&s, i);
    close(s.fd);
    return n;
}

int jet_lan_destroy(const char *name, bool force, struct jet_err *err)
{
    struct lan_seg s;
    int rc = lan_seg_open(name, &s, err);
    if (rc == -ENOENT)
        return rc;
    if (rc == 0) {
        lan_sweep(&s, UINT32_MAX);
        uint32_t live = 0;
        for (uint32_t i = 0; i < s.g.cfg.stations; i++)
            live += atomic_load(&s.st[i].token) != 0;
        lan_seg_close(&s);
        if (live && !force)
            return jet_err_set(err, -EBUSY,
                               "LAN '%s' has %u attached station%s (use --force to remove it anyway)",
                               name, live, live == 1 ? "" : "s");
    }
    char shm[96];
    shm_name(shm, sizeof shm, name);
    if (rc != 0 && !force) {
        /* Damaged, or of another layout version: nothing in it is read, but
         * the station locks still tell whether processes are attached. */
        uint32_t held = locks_held(shm);
        if (held) {
            char why[sizeof err->msg];
            snprintf(why, sizeof why, "%s", jet_err_str(err, rc));
            return jet_err_set(err, -EBUSY,
                               "%s; %u process%s still attached (use --force to remove it "
                               "anyway)",
                               why, held, held == 1 ? " is" : "es are");
        }
    }
    if (shm_unlink(shm) < 0)
        return jet_err_set(err, -errno, "cannot remove LAN '%s': %s", name, strerror(errno));
    /* Counters stations published about this LAN (jet stat) go with it,
     * including those of stations killed before they could remove theirs. */
    DIR *d = opendir("/dev/shm");
    if (d) {
        char pfx[96];
        int pl = snprintf(pfx, sizeof pfx, "jet-stat.%s.", name);
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            if (strncmp(e->d_name, pfx, (size_t)pl) == 0 && e->d_name[pl] >= '0' &&
                e->d_name[pl] <= '9') {
                char path[320];
                snprintf(path, sizeof path, "/dev/shm/%s", e->d_name);
                unlink(path);
            }
        closedir(d);
    }
    return 0;
}

int jet_lan_list(void (*fn)(const char *name, void *arg), void *arg, struct jet_err *err)
{
    DIR *d = opendir("/dev/shm");
    if (!d)
        return jet_err_set(err, -errno, "cannot read /dev/shm: %s", strerror(errno));
    int n = 0;
    const char *pfx = &LAN_SHM_PREFIX[1];
    size_t pl = strlen(pfx);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, pfx, pl) == 0 && e->d_name[pl]) {
            fn(e->d_name + pl, arg);
            n++;
        }
    }
    closedir(d);
    return n;
}

int jet_lan_info(const char *name, struct jet_lan_info *info, struct jet_err *err)
{
    struct lan_seg s;
    int rc = lan_seg_open(name, &s, err);
    if (rc)
        return rc;
    lan_sweep(&s, UINT32_MAX);
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "%s", name);
    info->layout_version = LAN_LAYOUT;
    const struct lan_cfg *c = &s.g.cfg;
    info->config = (struct jet_lan_config){.stations = c->stations,
                                           .mtu = c->mtu,
                                           .buffers = c->buffers,
                                           .ring = c->ring,
                                           .rate_bps = c->rate_bps,
                                           .delay_ns = c->delay_ns,
                                           .jitter_ns = c->jitter_ns,
                                           .loss = c->loss,
                                           .ber = c->ber,
                                           .dup = c->dup,
                                           .reorder = c->reorder,
                                           .seed = c->seed,
                                           .mode = c->mode,
                                           .gid = (gid_t)-1};
    info->segment_bytes = s.size;
    struct jet_pool_stats ps;
    jet_pool_get_stats(&s.pool, &ps);
    info->buffers_free = ps.free;
    info->reclaims = atomic_load(&s.h->reclaims);
    info->reclaimed_buffers = atomic_load(&s.h->reclaimed_bufs);
    info->monitor_pid = atomic_load(&s.h->mon_token) ? atomic_load(&s.h->mon_pid) : 0;
    for (uint32_t i = 0; i < c->stations; i++) {
        struct lan_station *st = &s.st[i];
        struct jet_lan_station_info *o = &info->st[i];
        o->station = i;
        o->token = atomic_load(&st->token);
        o->attached = o->token != 0;
        info->attached += o->attached;
        o->pid = atomic_load(&st->pid);
        o->tx_frames = atomic_load(&st->c.tx_frames);
        o->tx_bytes = atomic_load(&st->c.tx_bytes);
        o->rx_frames = atomic_load(&st->c.rx_frames);
        o->rx_bytes = atomic_load(&st->c.rx_bytes);
        o->tx_unreach = atomic_load(&st->c.tx_unreach);
        o->fault_lost = atomic_load(&st->c.fault_lost);
        o->fault_corrupted = atomic_load(&st->c.fault_corrupted);
        o->fault_duplicated = atomic_load(&st->c.fault_duplicated);
        o->fault_reordered = atomic_load(&st->c.fault_reordered);
        o->rx_stale = atomic_load(&st->c.rx_stale);
        o->tx_dropped_close = atomic_load(&st->c.tx_dropped_close);
        o->shm_bad = atomic_load(&st->c.shm_bad);
        for (uint32_t src = 0; src < c->stations; src++) {
            struct lan_ring *r = lan_ring(&s, src, i);
            uint32_t q = atomic_load(&r->tail) - atomic_load(&r->head);
            o->rx_queued += q <= c->ring ? q : 0; /* a damaged ring counts nothing */
        }
    }
    for (uint32_t b = 0; b < s.pool.nbufs; b++) {
        uint32_t w = jet_pool_owner(&s.pool, b);
        if (w && lan_token_live(&s, w))
            info->st[w & 0xff].buffers_held++;
    }
    lan_seg_close(&s);
    return 0;
}
