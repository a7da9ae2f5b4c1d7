/* The stats file of jet stat (src/chan/statpub.c) as hostile input (statpub.h):
 * 1. Validation, table-driven: a real file, copied, each header field and
 *    each field of an entry set to hostile values (and the file cut short):
 *    statpub_parse() on the bytes and statpub_read() on the file say
 *    damaged (-EPROTO) with the reason, or -EAGAIN for an odd seq, and
 *    never hand out a channel; legal extremes still parse.  Not a regular
 *    file, a link, a file of another user than the pid it names: refused.
 * 2. Names taken before the station publishes: a symbolic link to a victim
 *    file, another user's file, a FIFO at the final name (replaced, the
 *    victim untouched, the file ours and not writable by others), a
 *    directory there (publication fails, with the reason; the station
 *    carries on), and, as a non-root publisher (nobody, when run as root),
 *    root's file at the name: not replaced, not written, reason given.
 *    The file's mode follows the LAN's read bits, never a write bit for
 *    others.
 * 3. The file truncated and scribbled on under a running writer, also by
 *    another process truncating and reading it over and over: the station
 *    keeps running, notices, and within two passes the file is whole again;
 *    the reader says damaged meanwhile, never crashes.
 *
 * The writer at 65,536 channels: tests/unit/test_statpub.c.
 *
 * LANs are named t-statpub-PID-TAG; the stats files of this run's stations
 * are removed at exit if a REQUIRE stopped the run before the stations
 * closed. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "file_bytes.h"
#include "statpub_fixture.h"

/* ---- helpers ---- */

static const char *stat_file(int lan, uint32_t st, char *buf, size_t cap)
{
    snprintf(buf, cap, STATPUB_DIR "/" STATPUB_PREFIX "%s.%u", lans[lan], st);
    return buf;
}

struct mem {
    const uint8_t *b;
    size_t len;
};

static int mem_read(void *ctx, uint64_t off, void *dst, size_t len)
{
    const struct mem *m = ctx;
    if (off > m->len || len > m->len - off)
        return -ENODATA;
    memcpy(dst, m->b + off, len);
    return 0;
}

static int64_t mem_size(void *ctx)
{
    return (int64_t)((const struct mem *)ctx)->len;
}

static int parse_mem(const uint8_t *b, size_t len, uint32_t station, struct statpub_snap *sn,
                     struct jet_err *err)
{
    struct mem m = {b, len};
    struct statpub_src src = {mem_read, mem_size, &m};
    return statpub_parse(&src, "image", station, 3, sn, err);
}

/* Polls s until a pass completed after `after` passes, or publication
 * failed; 5 s at most. */
static struct statpub_work publish(struct jet_station *s, uint64_t after)
{
    struct statpub_work w = {0};
    uint64_t until = now_ns() + 5000000000ull;
    while (now_ns() < until) {
        jet_station_poll(s);
        if (statpub_work(s, &w) == 0 && (w.error || w.passes > after))
            break;
    }
    return w;
}

/* The invariants of any snapshot handed out. */
static bool snap_sane(const struct statpub_snap *sn)
{
    bool ok = sn->nchan == sn->st.channels;
    for (uint32_t i = 0; i < sn->nchan && ok; i++)
        ok = sn->chan[i].st.id && (i == 0 || sn->chan[i].st.id > sn->chan[i - 1].st.id) &&
             sn->chan[i].p.drop <= JET_DROP_BACKPRESSURE && sn->chan[i].p.prio <= 7;
    return ok;
}

/* ---- 1. validation, table-driven ---- */

enum { IN_HDR, IN_ENT, LINK, CUT };

struct vrow {
    const char *what;
    int where;  /* IN_HDR: header; IN_ENT: channel 12's entry; LINK: str into link; CUT: v bytes */
    size_t off; /* of the field */
    unsigned width;  /* its size: 1, 4 or 8 */
    uint64_t v;      /* its hostile value */
    int want;        /* 0, -EPROTO, -EAGAIN */
    const char *why; /* part of the reason given */
    size_t off2;     /* a second field set too (width2 0: none) */
    unsigned width2;
    uint64_t v2;
    const char *str; /* LINK: the name written (NULL: 128 bytes of 'a', no NUL) */
};

#define HF(f) offsetof(struct statpub_hdr, f), sizeof(((struct statpub_hdr *)0)->f)
#define EF(f) offsetof(struct statpub_ent, f), sizeof(((struct statpub_ent *)0)->f)
#define R(what, where, field, v, want, why)                                                        \
    {                                                                                              \
        what, where, field, v, want, why, 0, 0, 0, NULL                                            \
    }
#define R2(what, where, field, v, want, why, field2, v2)                                           \
    {                                                                                              \
        what, where, field, v, want, why, field2, v2, NULL                                         \
    }
#define RL(what, str, want, why)                                                                   \
    {                                                                                              \
        what, LINK, 0, 0, 0, want, why, 0, 0, 0, str                                               \
    }
#define RC(what, len, want, why)                                                                   \
    {                                                                                              \
        what, CUT, 0, 0, len, want, why, 0, 0, 0, NULL                                             \
    }

static void set_field(uint8_t *p, unsigned width, uint64_t v)
{
    uint8_t b = (uint8_t)v;
    uint32_t w = (uint32_t)v;
    if (width == 1)
        memcpy(p, &b, 1);
    else if (width == 4)
        memcpy(p, &w, 4);
    else
        memcpy(p, &v, 8);
}

/* The image with row r applied; *len may shrink. */
static void apply(uint8_t *img, size_t *len, size_t ent12, const struct vrow *r)
{
    switch (r->where) {
    case IN_HDR:
    case IN_ENT: {
        size_t base = r->where == IN_HDR ? 0 : ent12;
        set_field(img + base + r->off, r->width, r->v);
        if (r->width2)
            set_field(img + base + r->off2, r->width2, r->v2);
        break;
    }
    case LINK: {
        char *l = (char *)img + offsetof(struct statpub_hdr, link);
        memset(l, r->str ? 0 : 'a', STATPUB_LINK_MAX);
        if (r->str)
            memcpy(l, r->str, strlen(r->str));
        break;
    }
    case CUT:
        if (r->v < *len)
            *len = (size_t)r->v;
        break;
    }
}

static void test_validation(void)
{
    int lan = lan_of_test = mklan("val", NULL);
    struct jet_station *a = st_open(lan, 0);
    struct jet_chan_policy odd = {.drop = JET_DROP_BACKPRESSURE, .prio = 6, .accept_bad_crc = true};
    struct jet_chan *ch[3] = {ch_open(a, 11, NULL), ch_open(a, 12, &odd), ch_open(a, 13, NULL)};
    jet_station_poll(a);
    REQUIRE(publish(a, 1).passes >= 2);
    char path[160], p3[160];
    stat_file(lan, 0, path, sizeof path);
    stat_file(lan, 3, p3, sizeof p3);
    size_t len0;
    uint8_t *img0 = slurp(path, &len0);
    struct statpub_hdr h;
    REQUIRE(len0 >= sizeof h);
    memcpy(&h, img0, sizeof h);
    CHECK_EQ(h.layout, STATPUB_LAYOUT);
    CHECK_EQ(h.nchan, 3);
    REQUIRE(h.nent >= 3 && h.nent <= h.capacity && h.front <= 1);
    size_t ent12 = 0;
    for (uint32_t i = 0; i < h.nent; i++) {
        uint32_t id;
        memcpy(&id, img0 + statpub_ent_off(i, h.front), sizeof id);
        if (id == 12)
            ent12 = (size_t)statpub_ent_off(i, h.front);
    }
    REQUIRE(ent12 > 0);
    uint64_t need = statpub_ent_off(h.nent - 1, h.front) + sizeof(struct statpub_ent);
    CHECK((uint64_t)len0 >= need);

    struct statpub_snap sn = {0};
    struct jet_err err = {0};
    CHECK_EQ(parse_mem(img0, len0, 0, &sn, &err), 0);
    CHECK_EQ(sn.nchan, 3);
    CHECK(sn.nchan == 3 && sn.chan[1].st.id == 12 && sn.chan[1].p.prio == 6 &&
          sn.chan[1].p.drop == JET_DROP_BACKPRESSURE && sn.chan[1].p.accept_bad_crc);
    /* the link's counters, published with the pass (the station is idle) */
    struct jet_link_stats ls;
    REQUIRE(jet_link_stats(jet_station_link(a), &ls) == 0);
    CHECK(!(sn.flags & STATPUB_F_NO_LINK_STATS));
    CHECK(memcmp(&sn.link_st, &ls, sizeof ls) == 0);
    CHECK_EQ(sn.addr, 0);
    CHECK(sn.instance != 0 && sn.pid == getpid() && !strcmp(sn.link, h.link));

    const uint64_t M = STATPUB_MAX_CHANNELS;
    const struct vrow rows[] = {
        /* identity */
        R("magic 0", IN_HDR, HF(magic), 0, -EPROTO, "no magic"),
        R("magic ~0", IN_HDR, HF(magic), UINT64_MAX, -EPROTO, "no magic"),
        R("layout 2", IN_HDR, HF(layout), 2, -EPROTO, "another layout"),
        R("layout ~0", IN_HDR, HF(layout), UINT32_MAX, -EPROTO, "another layout"),
        R("hdr_size 0", IN_HDR, HF(hdr_size), 0, -EPROTO, "size not those"),
        R("hdr_size ~0", IN_HDR, HF(hdr_size), UINT32_MAX, -EPROTO, "size not those"),
        R("ent_size 64", IN_HDR, HF(ent_size), 64, -EPROTO, "size not those"),
        R("ent_size 0", IN_HDR, HF(ent_size), 0, -EPROTO, "size not those"),
        R("chunk 0", IN_HDR, HF(chunk), 0, -EPROTO, "size not those"),
        R("chunk 65", IN_HDR, HF(chunk), 65, -EPROTO, "size not those"),
        R("chunk ~0", IN_HDR, HF(chunk), UINT32_MAX, -EPROTO, "size not those"),
        R("addr 1", IN_HDR, HF(addr), 1, -EPROTO, "another address"),
        R("addr ~0 (none)", IN_HDR, HF(addr), UINT32_MAX, -EPROTO, "another address"),
        R("pid 0", IN_HDR, HF(pid), 0, -EPROTO, "pid not positive"),
        R("pid -1", IN_HDR, HF(pid), UINT32_MAX, -EPROTO, "pid not positive"),
        R("pid INT32_MIN", IN_HDR, HF(pid), 0x80000000u, -EPROTO, "pid not positive"),
        RL("link unterminated", NULL, -EPROTO, "not terminated"),
        RL("link lan:", "lan:", -EPROTO, "not KIND:NAME"),
        RL("link :x", ":x", -EPROTO, "not KIND:NAME"),
        RL("link lan", "lan", -EPROTO, "not KIND:NAME"),
        RL("link empty", "", -EPROTO, "not KIND:NAME"),
        RL("link lan:a b", "lan:a b", -EPROTO, "characters"),
        RL("link lan:a\\nb", "lan:a\nb", -EPROTO, "characters"),
        RL("link lan:a\\x1b[2J", "lan:a\x1b[2J", -EPROTO, "characters"),
        RL("link lan:\\xff", "lan:\xff", -EPROTO, "characters"),
        /* the seqlocked part */
        R("seq odd", IN_HDR, HF(seq), 7, -EAGAIN, "kept writing"),
        R("seq ~0", IN_HDR, HF(seq), UINT32_MAX, -EAGAIN, "kept writing"),
        R2("seq odd, magic 0", IN_HDR, HF(seq), 7, -EPROTO, "no magic", HF(magic), 0),
        R("front 2", IN_HDR, HF(front), 2, -EPROTO, "front buffer"),
        R("front ~0", IN_HDR, HF(front), UINT32_MAX, -EPROTO, "front buffer"),
        R("capacity 0", IN_HDR, HF(capacity), 0, -EPROTO, "capacity"),
        R("capacity 63", IN_HDR, HF(capacity), 63, -EPROTO, "capacity"),
        R("capacity max + 64", IN_HDR, HF(capacity), M + 64, -EPROTO, "capacity"),
        R("capacity ~0", IN_HDR, HF(capacity), UINT32_MAX, -EPROTO, "capacity"),
        R("capacity 0x80000000", IN_HDR, HF(capacity), 0x80000000u, -EPROTO, "capacity"),
        R("nent capacity + 1", IN_HDR, HF(nent), h.capacity + 1, -EPROTO, "more entries than"),
        R("nent ~0", IN_HDR, HF(nent), UINT32_MAX, -EPROTO, "more entries than"),
        R2("nent max, capacity max", IN_HDR, HF(nent), M, -EPROTO, "shorter than its header",
           HF(capacity), M),
        R2("nent beyond the file", IN_HDR, HF(nent), h.capacity + 64, -EPROTO,
           "shorter than its header", HF(capacity), h.capacity + 64 * 40),
        R("nchan nent + 1", IN_HDR, HF(nchan), h.nent + 1, -EPROTO, "more channels than entries"),
        R("nchan ~0", IN_HDR, HF(nchan), UINT32_MAX, -EPROTO, "more channels than entries"),
        R("nchan 2 of 3", IN_HDR, HF(nchan), 2, -EPROTO, "more channels in the front"),
        R("nchan 0 of 3", IN_HDR, HF(nchan), 0, -EPROTO, "more channels in the front"),
        R2("nchan 4 of 3", IN_HDR, HF(nchan), 4, -EPROTO, "fewer channels", HF(nent),
           h.nent > 4 ? h.nent : 4),
        R("flags 4", IN_HDR, HF(flags), 4, -EPROTO, "unknown flags"),
        R2("no link counters, yet some", IN_HDR, HF(flags), STATPUB_F_NO_LINK_STATS, -EPROTO,
           "keeps none", HF(link_faults), 1),
        R2("no link counters, yet rx bytes", IN_HDR, HF(flags), STATPUB_F_NO_LINK_STATS, -EPROTO,
           "keeps none", HF(link_rx_bytes), UINT64_MAX),
        R("flags ~0", IN_HDR, HF(flags), UINT32_MAX, -EPROTO, "unknown flags"),
        R("publishes 0 with entries", IN_HDR, HF(publishes), 0, -EPROTO, "before the first pass"),
        R("instance 0", IN_HDR, HF(instance), 0, -EPROTO, "instance 0"),
        /* an entry */
        R("drop 3", IN_ENT, EF(drop), 3, -EPROTO, "drop policy"),
        R("drop 255", IN_ENT, EF(drop), 255, -EPROTO, "drop policy"),
        R("accept_bad_crc 2", IN_ENT, EF(accept_bad_crc), 2, -EPROTO, "accept_bad_crc"),
        R("prio 8", IN_ENT, EF(prio), 8, -EPROTO, "priority"),
        R("prio 255", IN_ENT, EF(prio), 255, -EPROTO, "priority"),
        R("pad 1", IN_ENT, EF(pad), 1, -EPROTO, "padding"),
        R("pad2 ~0", IN_ENT, EF(pad2), UINT64_MAX, -EPROTO, "padding"),
        R2("queued above hwm", IN_ENT, EF(queued), 5, -EPROTO, "high-water", EF(queued_hwm), 4),
        R("queued ~0", IN_ENT, EF(queued), UINT32_MAX, -EPROTO, "high-water"),
        R("queue_bytes 4 GiB", IN_ENT, EF(queue_bytes), 1ull << 32, -EPROTO, "out of range"),
        R("reserve_bps 2^63", IN_ENT, EF(reserve_bps), 1ull << 63, -EPROTO, "out of range"),
        R("id twice", IN_ENT, EF(id), 11, -EPROTO, "twice"),
        R("id 0", IN_ENT, EF(id), 0, -EPROTO, "fewer channels"),
        /* cut short */
        RC("empty", 0, -EPROTO, "shorter than a header"),
        RC("100 bytes", 100, -EPROTO, "shorter than a header"),
        RC("header - 1", sizeof(struct statpub_hdr) - 1, -EPROTO, "shorter than a header"),
        RC("header only", sizeof(struct statpub_hdr), -EPROTO, "shorter than its header"),
        RC("last entry - 1 byte", need - 1, -EPROTO, "shorter than its header"),
        /* legal extremes */
        R("frames_in ~0", IN_ENT, EF(frames_in), UINT64_MAX, 0, ""),
        R("id ~0", IN_ENT, EF(id), UINT32_MAX, 0, ""),
        R2("queued = hwm = ~0", IN_ENT, EF(queued), UINT32_MAX, 0, "", EF(queued_hwm), UINT32_MAX),
        R("instance ~0", IN_HDR, HF(instance), UINT64_MAX, 0, ""),
        R("link_tx_bytes ~0", IN_HDR, HF(link_tx_bytes), UINT64_MAX, 0, ""),
        R2("no link counters, all 0", IN_HDR, HF(flags), STATPUB_F_NO_LINK_STATS, 0, "",
           HF(link_tx_frames), 0),
        R("flags stopped", IN_HDR, HF(flags), STATPUB_F_STOPPED, 0, ""),
        R2("publish_ns ~0, begin_ns 0", IN_HDR, HF(publish_ns), UINT64_MAX, 0, "", HF(begin_ns), 0),
        R("capacity max", IN_HDR, HF(capacity), M, 0, ""),
        RC("cut after the front buffer's last entry", need, 0, ""),

    };
    uint8_t *img = malloc(len0);
    REQUIRE(img);
    int bad_rows = 0;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        const struct vrow *row = &rows[r];
        /* the bytes, parsed as station 0 */
        memcpy(img, img0, len0);
        size_t len = len0;
        apply(img, &len, ent12, row);
        err = (struct jet_err){0};
        int rc = parse_mem(img, len, 0, &sn, &err);
        bool ok = rc == row->want && (rc == 0 ? snap_sane(&sn) && sn.nchan == 3 : sn.nchan == 0) &&
                  (rc == 0 || strstr(err.msg, row->why) != NULL);
        /* the same as a file, of station 3 (not attached): statpub_read */
        memcpy(img, img0, len0);
        len = len0;
        set_field(img + offsetof(struct statpub_hdr, addr), 4, 3);
        apply(img, &len, ent12, row);
        spit(p3, img, len, 0600);
        struct jet_err ferr = {0};
        int frc = lan_read(lan, 3, &sn, &ferr);
        /* an odd seq and nobody holding the file: a publisher that died
         * mid-write, its identity shown */
        int fwant = row->want == -EAGAIN ? 0 : row->want;
        bool fok = frc == fwant && (frc == 0 ? snap_sane(&sn) && !sn.alive : sn.nchan == 0) &&
                   (frc == 0 || strstr(ferr.msg, row->why) != NULL);
        if (!ok || !fok) {
            fprintf(stderr, "row '%s': parse %d (%s), read %d (%s); want %d with '%s'\n", row->what,
                    rc, err.msg, frc, ferr.msg, row->want, row->why);
            bad_rows++;
        }
    }
    CHECK_EQ(bad_rows, 0);
    fprintf(stderr, "validation: %zu hostile or extreme files, each parsed and read as a file\n",
            sizeof rows / sizeof rows[0]);

    /* not a regular file, a link: damaged, and no hang on a FIFO */
    unlink(p3);
    REQUIRE(mkfifo(p3, 0600) == 0);
    CHECK_EQ(lan_read(lan, 3, &sn, &err), -EPROTO);
    CHECK(strstr(err.msg, "not a regular file") != NULL);
    unlink(p3);
    REQUIRE(mkdir(p3, 0700) == 0);
    CHECK_EQ(lan_read(lan, 3, &sn, &err), -EPROTO);
    rmdir(p3);
    REQUIRE(symlink(path, p3) == 0);
    CHECK_EQ(lan_read(lan, 3, &sn, &err), -EPROTO);
    CHECK(strstr(err.msg, "symbolic link") != NULL);
    unlink(p3);

    /* a file owned by another user than the process it names (as root) */
    if (geteuid() == 0) {
        memcpy(img, img0, len0);
        set_field(img + offsetof(struct statpub_hdr, addr), 4, 3);
        spit(p3, img, len0, 0644);
        CHECK_EQ(lan_read(lan, 3, &sn, &err), 0); /* ours: fine */
        REQUIRE(chown(p3, 65534, 65534) == 0);
        CHECK_EQ(lan_read(lan, 3, &sn, &err), -EPROTO);
        CHECK(strstr(err.msg, "belongs to uid 65534") != NULL);
        unlink(p3);
    }

    /* the real file reads as it did */
    CHECK_EQ(lan_read(lan, 0, &sn, &err), 0);
    CHECK(sn.alive && sn.nchan == 3);
    free(img);
    free(img0);
    statpub_snap_free(&sn);
    for (int i = 0; i < 3; i++)
        jet_chan_close(ch[i]);
    jet_station_close(a);
    rmlan(lan);
}

/* ---- 2. names taken before the station publishes ---- */

static void tweak_0666(struct jet_lan_config *c)
{
    c->mode = 0666;
}
static void tweak_0640(struct jet_lan_config *c)
{
    c->mode = 0640;
}
static void tweak_0604(struct jet_lan_config *c)
{
    c->mode = 0604;
}

/* As nobody, in a child: station 1 of lan, whose file name root holds,
 * fails to publish and says why; station 2 publishes a file of its own,
 * mode 0644 (the LAN is 0666).  Exit code 0 when all of that holds. */
static int nobody_child(int lan)
{
    if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
        setresuid(65534, 65534, 65534) < 0)
        return 10;
    char link[96], path[160];
    snprintf(link, sizeof link, "lan:%s", lans[lan]);
    struct jet_station *s1 = NULL, *s2 = NULL;
    struct jet_err err = {0};
    if (jet_station_open(link, 1, &s1, &err) || jet_station_open(link, 2, &s2, &err)) {
        fprintf(stderr, "nobody: %s\n", err.msg);
        return 11;
    }
    struct jet_chan *c1 = NULL, *c2 = NULL;
    if (jet_chan_open(s1, 5, NULL, &c1) || jet_chan_open(s2, 6, NULL, &c2))
        return 12;
    struct statpub_work w1 = publish(s1, 0), w2 = publish(s2, 0);
    if (!w1.error || !strstr(w1.why, "belongs to uid 0") || s1->pub_failures != 1) {
        fprintf(stderr, "nobody, station 1: error %d '%s'\n", w1.error, w1.why);
        return 13;
    }
    fprintf(stderr, "nobody, station 1: %s\n", w1.why);
    if (w2.error || w2.passes < 1)
        return 14;
    struct stat sb;
    if (lstat(stat_file(lan, 2, path, sizeof path), &sb) < 0 || sb.st_uid != 65534 ||
        (sb.st_mode & 07777) != 0644) {
        fprintf(stderr, "nobody, station 2: uid %u mode %o\n", (unsigned)sb.st_uid,
                (unsigned)sb.st_mode & 07777);
        return 15;
    }
    for (int i = 0; i < 100; i++) /* the station carries on */
        if (jet_station_poll(s1) < 0)
            return 16;
    jet_chan_close(c1);
    jet_chan_close(c2);
    jet_station_close(s1);
    jet_station_close(s2);
    return 0;
}

static void test_names(void)
{
    int lan = lan_of_test = mklan("nm", NULL);
    char path[4][160], victim[128], oldtmp[200];
    for (uint32_t i = 0; i < 4; i++)
        stat_file(lan, i, path[i], sizeof path[i]);
    snprintf(victim, sizeof victim, "/tmp/t-statpub-%d-victim", (int)getpid());
    static const uint8_t vtext[] = "a file the stats file must never write\n";
    spit(victim, vtext, sizeof vtext, 0644);
    /* station 0: a link to the victim; its old temporary name too */
    REQUIRE(symlink(victim, path[0]) == 0);
    snprintf(oldtmp, sizeof oldtmp, "%s.tmp%d", path[0], (int)getpid());
    REQUIRE(symlink(victim, oldtmp) == 0);
    /* station 1: another user's file (nobody's, when we are root) */
    spit(path[1], (const uint8_t *)"junk", 4, 0666);
    if (geteuid() == 0)
        REQUIRE(chown(path[1], 65534, 65534) == 0);
    /* station 2: a FIFO; station 3: a directory */
    REQUIRE(mkfifo(path[2], 0666) == 0);
    REQUIRE(mkdir(path[3], 0777) == 0);

    struct jet_station *s[4];
    struct jet_chan *c[4];
    struct statpub_work w[4];
    for (uint32_t i = 0; i < 4; i++) {
        s[i] = st_open(lan, (int)i);
        c[i] = ch_open(s[i], 100 + i, NULL);
        w[i] = publish(s[i], 0);
    }
    struct statpub_snap sn = {0};
    struct jet_err err = {0};
    for (uint32_t i = 0; i < 3; i++) {
        struct stat sb;
        CHECK_EQ(w[i].error, 0);
        CHECK(w[i].passes >= 1);
        CHECK(lstat(path[i], &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_uid == geteuid() &&
              sb.st_nlink == 1 && (sb.st_mode & 0022) == 0);
        CHECK_EQ(lan_read(lan, i, &sn, &err), 0);
        CHECK(sn.alive && sn.nchan == 1 && sn.chan[0].st.id == 100 + i);
    }
    /* a directory cannot be replaced: publication fails, loudly; the
     * station carries on */
    CHECK(w[3].error == -EISDIR || w[3].error == -ENOTEMPTY || w[3].error == -EEXIST);
    CHECK(strstr(w[3].why, "cannot rename") != NULL);
    CHECK_EQ(s[3]->pub_failures, 1);
    fprintf(stderr, "a directory at the name: %s\n", w[3].why);
    CHECK_EQ(send_seq(c[0], 3, 103, 1, FRAME), FRAME);
    struct jet_rx rx;
    int rc = jet_chan_recv(c[3], &rx, 1000000000);
    CHECK_EQ(rc, 0);
    if (rc == 0)
        jet_chan_release(c[3], &rx);
    CHECK_EQ(lan_read(lan, 3, &sn, &err), -EPROTO);
    /* the victim: untouched */
    size_t vlen;
    uint8_t *v = slurp(victim, &vlen);
    CHECK(vlen == sizeof vtext && memcmp(v, vtext, vlen) == 0);
    free(v);
    struct stat sb;
    CHECK(lstat(oldtmp, &sb) == 0 && S_ISLNK(sb.st_mode));

    for (uint32_t i = 0; i < 4; i++) {
        jet_chan_close(c[i]);
        jet_station_close(s[i]);
    }
    CHECK(lstat(path[0], &sb) < 0 && errno == ENOENT);      /* removed at close */
    CHECK(lstat(path[3], &sb) == 0 && S_ISDIR(sb.st_mode)); /* not ours to remove */
    rmdir(path[3]);
    unlink(oldtmp);
    unlink(victim);
    statpub_snap_free(&sn);
    rmlan(lan);

    /* a non-root publisher and another user's file at its name */
    if (geteuid() != 0) {
        fprintf(stderr, "not root: the publisher-as-nobody case skipped\n");
        return;
    }
    lan = mklan("nb", tweak_0666);
    char p1[160];
    static const uint8_t rtext[] = "root's file\n";
    spit(stat_file(lan, 1, p1, sizeof p1), rtext, sizeof rtext, 0644);
    fflush(stderr);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0)
        _exit(nobody_child(lan));
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status))
        fprintf(stderr, "nobody child: status %#x\n", status);
    v = slurp(p1, &vlen);
    CHECK(vlen == sizeof rtext && memcmp(v, rtext, vlen) == 0);
    free(v);
    CHECK(lstat(p1, &sb) == 0 && sb.st_uid == 0);
    unlink(p1);
    rmlan(lan);
}

/* The file's mode: the LAN's read bits and 0600, never more. */
static void test_modes(void)
{
    static const struct {
        void (*tweak)(struct jet_lan_config *);
        unsigned want;
    } m[] = {{NULL, 0600}, {tweak_0640, 0640}, {tweak_0666, 0644}, {tweak_0604, 0604}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        char tag[8], path[160];
        snprintf(tag, sizeof tag, "m%zu", i);
        int lan = mklan(tag, m[i].tweak);
        struct jet_station *s = st_open(lan, 0);
        struct jet_chan *c = ch_open(s, 1, NULL);
        CHECK(publish(s, 0).passes >= 1);
        struct stat sb;
        CHECK(lstat(stat_file(lan, 0, path, sizeof path), &sb) == 0);
        if ((sb.st_mode & 07777) != m[i].want)
            fprintf(stderr, "LAN mode %d: stats file mode %o, want %o\n", (int)i,
                    (unsigned)sb.st_mode & 07777, m[i].want);
        CHECK_EQ(sb.st_mode & 07777, m[i].want);
        jet_chan_close(c);
        jet_station_close(s);
        rmlan(lan);
    }
}

/* ---- 3. truncated and scribbled on under the writer ---- */

enum { NTR = 300 };

static bool ids_1_to_n(struct statpub_snap *sn, uint32_t n)
{
    bool ok = sn->nchan == n && snap_sane(sn);
    for (uint32_t i = 0; i < sn->nchan && ok; i++)
        ok = sn->chan[i].st.id == i + 1;
    return ok;
}

static void test_truncate(void)
{
    int lan = lan_of_test = mklan("tr", NULL);
    struct jet_station *s = st_open(lan, 0);
    struct jet_chan **ch = calloc(NTR, sizeof *ch);
    REQUIRE(ch);
    for (uint32_t i = 0; i < NTR; i++)
        ch[i] = ch_open(s, i + 1, NULL);
    jet_station_poll(s);
    drive_to(s, 2);
    char path[160];
    stat_file(lan, 0, path, sizeof path);
    struct statpub_snap sn = {0};
    struct jet_err err = {0};
    snap_read(0, &sn);
    CHECK(ids_1_to_n(&sn, NTR));

    /* between passes: to nothing; the reader says damaged */
    REQUIRE(truncate(path, 0) == 0);
    CHECK_EQ(lan_read(lan, 0, &sn, &err), -EPROTO);
    CHECK(strstr(err.msg, "shorter than a header") != NULL);
    uint64_t p = work(s).passes;
    drive_to(s, p + 2);
    CHECK(work(s).truncated >= 1);
    CHECK_EQ(work(s).error, 0);
    snap_read(0, &sn);
    CHECK(ids_1_to_n(&sn, NTR));

    /* in the middle of a pass, to a few bytes */
    drive_into_pass(s, 128);
    REQUIRE(truncate(path, 1000) == 0);
    p = work(s).passes;
    drive_to(s, p + 2);
    snap_read(0, &sn);
    CHECK(ids_1_to_n(&sn, NTR));

    /* scribbled on, all of it */
    size_t len;
    uint8_t *b = slurp(path, &len);
    uint64_t x = 0x243f6a8885a308d3ull;
    for (size_t i = 0; i < len; i++)
        b[i] = (uint8_t)rng_next(&x);
    int fd = open(path, O_WRONLY);
    REQUIRE(fd >= 0);
    REQUIRE(pwrite(fd, b, len, 0) == (ssize_t)len);
    close(fd);
    free(b);
    int rc = lan_read(lan, 0, &sn, &err);
    CHECK(rc == -EPROTO || rc == -EAGAIN);
    p = work(s).passes;
    drive_to(s, p + 2);
    snap_read(0, &sn);
    CHECK(ids_1_to_n(&sn, NTR));

    /* another process truncates it to random sizes and reads it, over and
     * over, while the station polls */
    fflush(stderr);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        struct statpub_snap cs = {0};
        uint64_t y = 0x13198a2e03707344ull, until = now_ns() + 400000000ull;
        int reads = 0, fine = 0;
        while (now_ns() < until) {
            if (truncate(path, (off_t)(rng_next(&y) % 70000)) < 0)
                _exit(2);
            struct jet_err cerr = {0};
            int r = lan_read(lan, 0, &cs, &cerr);
            if (r != 0 && r != -EPROTO && r != -EAGAIN)
                _exit(3);
            if (r == 0 && !snap_sane(&cs))
                _exit(4);
            reads++;
            fine += r == 0;
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
        }
        fprintf(stderr, "truncating reader: %d reads, %d of them whole\n", reads, fine);
        statpub_snap_free(&cs);
        _exit(0);
    }
    uint64_t until = now_ns() + 500000000ull;
    while (now_ns() < until)
        CHECK(jet_station_poll(s) >= 0);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    p = work(s).passes;
    drive_to(s, p + 2);
    snap_read(0, &sn);
    CHECK(ids_1_to_n(&sn, NTR));
    struct statpub_work w = work(s);
    CHECK_EQ(w.error, 0);
    CHECK_EQ(s->pub_failures, 0);
    fprintf(stderr, "truncated under the writer: %llu passes noticed it, file whole again\n",
            (unsigned long long)w.truncated);

    statpub_snap_free(&sn);
    for (uint32_t i = 0; i < NTR; i++)
        jet_chan_close(ch[i]);
    free(ch);
    jet_station_close(s);
    rmlan(lan);
}

int main(void)
{
    statpub_main_begin();
    test_validation();
    test_names();
    test_modes();
    test_truncate();
    return check_done("test_statpub_hostile");
}
