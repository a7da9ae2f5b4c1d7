/* jet stat: the stations of a link, and the channels and counters of each.
 *
 * On a LAN (jet stat lan:NAME, or NAME), two sources, read in this order
 * for every sample:
 *   1. the LAN segment (jet_lan_info): which stations are attached, their
 *      pid and owner token, frames and bytes sent and received, faults;
 *   2. each station's published counters (src/chan/statpub.h): the driver's
 *      counters and every channel's counters and policy, as the station's
 *      own process last copied them: a pass over its channels begins every
 *      100 ms while its driver runs and is done a slice per poll; a
 *      snapshot is the last complete pass (publish_ns: when it completed,
 *      pass_ns: how long it took).
 * A stats file whose process is gone, or whose pid is not the one the LAN
 * now has for that station, is stale: it is shown as such and, when the
 * LAN says the station is not attached, removed.
 *
 * On any other link (jet stat loop:X, fault:.../tap:IF, ...) the stats
 * files are the only source: every station that publishes on a link of
 * that name, with the link's own counters (jet_link_stats, or "keeps no
 * counters"), its driver's and its channels'.  A file whose process is
 * gone is stale: reported and removed.  Stats files are hostile
 * input (anyone can put a file at such a name in /dev/shm): statpub_read()
 * copies them with pread() and checks every field; one that fails, or that
 * belongs to another user than the process it names, is shown as damaged
 * (JSON "stats": "damaged", the reason in "stats_error") and nothing of it
 * is used; the other stations are shown as usual.
 *
 * --watch samples every interval until SIGINT/SIGTERM and shows rates next
 * to the totals: LAN counters over the sampling interval, link and channel
 * counters from a stats file over the interval between the two
 * publications seen. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chan/statpub.h"
#include "cli.h"
#include "util/clock.h"
#include "util/parse.h"

enum {
    MAXST = JET_LAN_MAX_STATIONS,
    MAXPUB = 1024, /* publishers shown on a link that is not a LAN */
};

static volatile sig_atomic_t stat_stop;

static void on_signal(int sig)
{
    (void)sig;
    stat_stop = 1;
}

struct stat_opts {
    char link[STATPUB_LINK_MAX]; /* the link name */
    bool is_lan;
    char lan[JET_LAN_NAME_MAX + 1]; /* when is_lan */
    int64_t station;                /* -1: all (on a LAN: station; elsewhere: address) */
    bool json, watch;
    uint64_t interval_ns;
};

/* PUB_DAMAGED: the file is there but fails statpub_parse's checks (or is
 * not the station's): nothing of it is shown. */
enum pub_state { PUB_NONE, PUB_LIVE, PUB_STALE, PUB_ERROR, PUB_DAMAGED };

struct chan_rate {
    double in_fps, out_fps;
};

/* One station in one sample. */
struct st_view {
    bool listed;
    enum pub_state pub;
    const char *stale_why;
    bool removed;
    char err[256];
    struct statpub_snap snap; /* channels sorted by id */
    bool rates;               /* rates below are valid (--watch, second sample on) */
    double tx_fps, rx_fps;    /* LAN: from the LAN; elsewhere: from the link's counters */
    char id[STATPUB_ID_MAX];  /* not a LAN: the file's id */
    struct chan_rate *cr;     /* per snap.chan entry */
    uint32_t crcap;
};

/* What the previous sample saw of a station, for rates. */
struct st_prev {
    bool valid, pub_valid;
    uint64_t token, mono_ns, tx_frames, rx_frames;
    uint64_t pub_instance, publish_ns;
    uint64_t link_tx, link_rx;   /* not a LAN: the link's counters at publish_ns */
    char id[STATPUB_ID_MAX];     /* not a LAN: whose */
    struct jet_chan_stats *chan; /* sorted by id */
    uint32_t nchan, cap;
};

struct sample {
    struct jet_lan_info info;
    uint64_t mono_ns, real_ns;
    uint64_t files;            /* bit per station with a stats file */
    struct st_view st[MAXPUB]; /* LAN: by station; elsewhere: npub publishers */
    uint32_t npub;             /* not a LAN: files found (at most MAXPUB) */
    uint32_t more;             /* not a LAN: files beyond MAXPUB, not shown */
};

static void stat_help(FILE *f)
{
    fprintf(f,
            "usage: jet stat LINK [--station K] [--json] [--watch [SECONDS]]\n\n"
            "LINK is lan:NAME (or NAME) for the emulated LAN, or any other link name\n"
            "(loop:X, fault:.../tap:IF, ...).\n"
            "On a LAN, shows every station attached (pid, frames and bytes sent and received,\n"
            "faults) and, for each station that runs channels, its driver's counters and a\n"
            "table of its channels: policy, queue, frames and bytes in and out, drops.\n"
            "On another link, shows every station that publishes counters on a link of that\n"
            "name: the link's own counters, its driver's and its channels'.\n"
            "Stations publish these every 100 ms while their driver runs (with many channels,\n"
            "a few hundred per driver poll), into /dev/shm/jet-stat.NAME.K (a LAN) or\n"
            "/dev/shm/jet-stat.ENCODED-LINK.ADDR-PID; files left by processes that died are\n"
            "reported and removed (on a LAN once it has let the station go); a file that\n"
            "fails its checks is reported as damaged.\n\n"
            "options:\n"
            "  --station K, -s K   only station K (on another link: only address K)\n"
            "  --json              one JSON object (with --watch: one per line, per sample)\n"
            "  --watch [S], -w [S] sample again every S seconds (default 1; 0.5, 200ms, ...)\n"
            "                      until SIGINT or SIGTERM, with rates (frames/s) next to totals\n"
            "  --help              this text\n");
}

static const char *drop_name(enum jet_drop_policy d)
{
    switch (d) {
    case JET_DROP_NEWEST:
        return "newest";
    case JET_DROP_OLDEST:
        return "oldest";
    case JET_DROP_BACKPRESSURE:
        return "backpressure";
    }
    return "?";
}

/* A LAN's files are named by station number. */
static void mark_file(const char *id, void *arg)
{
    uint32_t st;
    int32_t pid;
    if (statpub_id_parse(id, &st, &pid) == 0 && pid == 0 && st < MAXST)
        *(uint64_t *)arg |= 1ull << st;
}

/* ---- sampling ---- */

static void read_station(const struct stat_opts *o, struct sample *sm, uint32_t i)
{
    struct st_view *v = &sm->st[i];
    const struct jet_lan_station_info *li = &sm->info.st[i];
    bool attached = i < sm->info.config.stations && li->attached;
    v->pub = PUB_NONE;
    v->stale_why = NULL;
    v->removed = false;
    v->err[0] = 0;
    v->listed = attached || (sm->files >> i & 1);
    if (!(sm->files >> i & 1))
        return;
    struct jet_err err = {0};
    char id[16];
    snprintf(id, sizeof id, "%u", i);
    int rc = statpub_read(o->link, id, &v->snap, &err);
    if (rc == -ENOENT) { /* gone since the listing */
        v->listed = attached;
        return;
    }
    if (rc) {
        v->pub = rc == -EPROTO ? PUB_DAMAGED : PUB_ERROR;
        snprintf(v->err, sizeof v->err, "%s", jet_err_str(&err, rc));
        return;
    }
    v->pub = PUB_LIVE; /* channels sorted by id already */
    if (!v->snap.alive) {
        v->pub = PUB_STALE;
        v->stale_why = "its process is gone";
    } else if (attached && v->snap.pid != li->pid) {
        v->pub = PUB_STALE;
        v->stale_why = "left by an earlier holder of the station";
    } else if (v->snap.publishes == 0) {
        v->pub = PUB_NONE; /* its first pass is under way */
    }
    /* Remove only what the LAN has let go: a station attached now may be
     * about to publish. */
    if (v->pub == PUB_STALE && !attached)
        v->removed = statpub_remove_stale(o->link, id, NULL) == 0;
}

static int sample(const struct stat_opts *o, struct sample *sm, struct jet_err *err)
{
    int rc = jet_lan_info(o->lan, &sm->info, err);
    if (rc)
        return rc;
    sm->mono_ns = jet_now_ns();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    sm->real_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    sm->files = 0;
    struct jet_err lerr = {0};
    if (statpub_list(o->link, mark_file, &sm->files, &lerr) < 0)
        sm->files = 0; /* /dev/shm unreadable: the LAN part still shows */
    for (uint32_t i = 0; i < MAXST; i++) {
        if (o->station >= 0 && (int)i != o->station) {
            sm->st[i].listed = false;
            continue;
        }
        read_station(o, sm, i);
    }
    return 0;
}

static const struct jet_chan_stats *find_prev(const struct st_prev *p, uint32_t id)
{
    uint32_t lo = 0, hi = p->nchan;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (p->chan[mid].id == id)
            return &p->chan[mid];
        if (p->chan[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static double rate(uint64_t now, uint64_t before, uint64_t dt_ns)
{
    return now >= before && dt_ns ? (double)(now - before) * 1e9 / (double)dt_ns : 0;
}

/* Rates against prev, then prev := this sample. */
static void rates(struct sample *sm, struct st_prev *prev)
{
    for (uint32_t i = 0; i < MAXST; i++) {
        struct st_view *v = &sm->st[i];
        struct st_prev *p = &prev[i];
        const struct jet_lan_station_info *li = &sm->info.st[i];
        bool attached = i < sm->info.config.stations && li->attached;
        v->rates = false;
        if (!v->listed)
            continue;
        bool have_pub = v->pub == PUB_LIVE;
        if (have_pub && v->snap.nchan > v->crcap) {
            struct chan_rate *c = realloc(v->cr, v->snap.nchan * sizeof *c);
            if (!c)
                have_pub = false;
            else {
                v->cr = c;
                v->crcap = v->snap.nchan;
            }
        }
        if (attached && p->valid && p->token == li->token) {
            uint64_t dt = sm->mono_ns - p->mono_ns;
            v->rates = true;
            v->tx_fps = rate(li->tx_frames, p->tx_frames, dt);
            v->rx_fps = rate(li->rx_frames, p->rx_frames, dt);
            if (have_pub) {
                bool same = p->pub_valid && p->pub_instance == v->snap.instance &&
                            v->snap.publish_ns >= p->publish_ns;
                uint64_t dtp = same ? v->snap.publish_ns - p->publish_ns : 0;
                for (uint32_t k = 0; k < v->snap.nchan; k++) {
                    const struct jet_chan_stats *c = &v->snap.chan[k].st;
                    const struct jet_chan_stats *q = same ? find_prev(p, c->id) : NULL;
                    v->cr[k].in_fps = q ? rate(c->frames_in, q->frames_in, dtp) : 0;
                    v->cr[k].out_fps = q ? rate(c->frames_out, q->frames_out, dtp) : 0;
                }
            }
        }
        p->valid = attached;
        p->token = li->token;
        p->mono_ns = sm->mono_ns;
        p->tx_frames = li->tx_frames;
        p->rx_frames = li->rx_frames;
        p->pub_valid = false;
        if (have_pub) {
            if (v->snap.nchan > p->cap) {
                struct jet_chan_stats *c = realloc(p->chan, v->snap.nchan * sizeof *c);
                if (!c)
                    continue;
                p->chan = c;
                p->cap = v->snap.nchan;
            }
            for (uint32_t k = 0; k < v->snap.nchan; k++)
                p->chan[k] = v->snap.chan[k].st;
            p->nchan = v->snap.nchan;
            p->pub_valid = true;
            p->pub_instance = v->snap.instance;
            p->publish_ns = v->snap.publish_ns;
        }
    }
}

/* ---- text ---- */

static const char *fps(char *b, size_t cap, double v)
{
    if (v >= 1e6)
        snprintf(b, cap, "%.2fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(b, cap, "%.1fk", v / 1e3);
    else
        snprintf(b, cap, "%.0f", v);
    return b;
}

static void print_chans(const struct st_view *v, bool watch)
{
    const struct statpub_snap *sn = &v->snap;
    if (!sn->nchan) {
        printf("    (no channel open)\n");
        return;
    }
    bool r = watch && v->rates;
    printf("    %10s %-12s %14s %4s %12s %10s %12s%s %14s %12s%s %14s %8s %8s %8s %8s\n", "chan",
           "policy", "queue limit", "prio", "reserve", "queued/hwm", "frames in",
           r ? "     in/s" : "", "bytes in", "frames out", r ? "    out/s" : "", "bytes out",
           "drop pol", "drop crc", "crc bad", "backpr");
    for (uint32_t k = 0; k < sn->nchan; k++) {
        const struct jet_chan_stats *c = &sn->chan[k].st;
        const struct jet_chan_policy *p = &sn->chan[k].p;
        char pol[32], lim[48], res[32], q[32], b1[24], b2[24], b3[32];
        snprintf(pol, sizeof pol, "%s%s", drop_name(p->drop), p->accept_bad_crc ? "+crc" : "");
        snprintf(lim, sizeof lim, "%uf/%s", p->queue_frames,
                 fmt_bytes(b3, sizeof b3, (double)p->queue_bytes));
        if (p->reserve_bps)
            fmt_rate(res, sizeof res, (double)p->reserve_bps);
        else
            snprintf(res, sizeof res, "-");
        snprintf(q, sizeof q, "%u/%u", c->queued, c->queued_hwm);
        char rin[24] = "", rout[24] = "";
        if (r) {
            snprintf(rin, sizeof rin, " %8s", fps(b1, sizeof b1, v->cr[k].in_fps));
            snprintf(rout, sizeof rout, " %8s", fps(b2, sizeof b2, v->cr[k].out_fps));
        }
        printf(
            "    %10u %-12s %14s %4u %12s %10s %12llu%s %14llu %12llu%s %14llu %8llu %8llu %8llu "
            "%8llu\n",
            c->id, pol, lim, p->prio, res, q, (unsigned long long)c->frames_in, rin,
            (unsigned long long)c->bytes_in, (unsigned long long)c->frames_out, rout,
            (unsigned long long)c->bytes_out, (unsigned long long)c->dropped_policy,
            (unsigned long long)c->dropped_crc, (unsigned long long)c->crc_bad_delivered,
            (unsigned long long)c->backpressured);
    }
}

/* The driver's counters and the channel table of a live publication. */
static void print_driver(const struct sample *sm, const struct st_view *v, bool watch)
{
    const struct statpub_snap *sn = &v->snap;
    double age = sm->real_ns > sn->publish_ns ? (double)(sm->real_ns - sn->publish_ns) / 1e9 : 0;
    printf("  driver: frames in %llu; dropped: header %llu, no channel %llu, not mine %llu, "
           "other %llu; %u channel%s; published %.1f s ago%s\n",
           (unsigned long long)sn->st.frames_in, (unsigned long long)sn->st.dropped_header,
           (unsigned long long)sn->st.dropped_no_chan, (unsigned long long)sn->st.dropped_not_mine,
           (unsigned long long)sn->st.dropped_other, sn->nchan, sn->nchan == 1 ? "" : "s", age,
           sn->flags & STATPUB_F_STOPPED ? " (publishing stopped: no room)" : "");
    print_chans(v, watch);
}

static void print_text(const struct stat_opts *o, const struct sample *sm)
{
    const struct jet_lan_info *in = &sm->info;
    char b1[32], b2[32], b3[24], b4[24], ts[32];
    time_t t = (time_t)(sm->real_ns / 1000000000u);
    struct tm tm;
    strftime(ts, sizeof ts, "%H:%M:%S", localtime_r(&t, &tm));
    printf("lan %s: %u of %u stations attached%s%s\n", in->name, in->attached, in->config.stations,
           o->watch ? "  -  " : "", o->watch ? ts : "");
    bool any = false;
    for (uint32_t i = 0; i < MAXST; i++) {
        const struct st_view *v = &sm->st[i];
        if (!v->listed)
            continue;
        any = true;
        const struct jet_lan_station_info *li = &in->st[i];
        bool attached = i < in->config.stations && li->attached;
        if (!attached && v->pub == PUB_STALE) {
            printf("station %u: not attached; stats file of pid %d is stale (%s)%s\n", i,
                   (int)v->snap.pid, v->stale_why, v->removed ? ", removed" : "");
            continue;
        }
        if (!attached && v->pub == PUB_ERROR) {
            printf("station %u: not attached; stats file unreadable: %s\n", i, v->err);
            continue;
        }
        if (!attached && v->pub == PUB_DAMAGED) {
            printf("station %u: not attached; stats file damaged, not shown: %s\n", i, v->err);
            continue;
        }
        printf("station %u: pid %d\n", i, attached ? (int)li->pid : (int)v->snap.pid);
        bool r = o->watch && v->rates;
        printf("  lan:    tx %llu frames%s%s%s (%s), rx %llu frames%s%s%s (%s), queued %u, "
               "unreachable %llu\n",
               (unsigned long long)li->tx_frames, r ? " [" : "",
               r ? fps(b3, sizeof b3, v->tx_fps) : "", r ? "/s]" : "",
               fmt_bytes(b1, sizeof b1, (double)li->tx_bytes), (unsigned long long)li->rx_frames,
               r ? " [" : "", r ? fps(b4, sizeof b4, v->rx_fps) : "", r ? "/s]" : "",
               fmt_bytes(b2, sizeof b2, (double)li->rx_bytes), li->rx_queued,
               (unsigned long long)li->tx_unreach);
        printf("          faults: lost %llu, corrupted %llu, duplicated %llu, reordered %llu; "
               "rx_stale %llu, shm_bad %llu\n",
               (unsigned long long)li->fault_lost, (unsigned long long)li->fault_corrupted,
               (unsigned long long)li->fault_duplicated, (unsigned long long)li->fault_reordered,
               (unsigned long long)li->rx_stale, (unsigned long long)li->shm_bad);
        switch (v->pub) {
        case PUB_NONE:
            printf("  (publishes no channel counters: not a channel user, or its driver has not "
                   "run yet)\n");
            continue;
        case PUB_ERROR:
            printf("  (channel counters unreadable: %s)\n", v->err);
            continue;
        case PUB_DAMAGED:
            printf("  (channel counters damaged, not shown: %s)\n", v->err);
            continue;
        case PUB_STALE:
            printf("  (stale channel counters of pid %d: %s)\n", (int)v->snap.pid, v->stale_why);
            continue;
        case PUB_LIVE:
            break;
        }
        print_driver(sm, v, o->watch);
    }
    if (!any && o->station >= 0)
        printf("  (station %d is not attached)\n", (int)o->station);
    else if (!any)
        printf("  (no station attached)\n");
}

/* ---- JSON ---- */

static void json_chan(struct json *j, const struct st_view *v, uint32_t k, bool r)
{
    const struct jet_chan_stats *c = &v->snap.chan[k].st;
    const struct jet_chan_policy *p = &v->snap.chan[k].p;
    json_obj(j, NULL);
    json_u64(j, "id", c->id);
    json_str(j, "drop", drop_name(p->drop));
    json_u64(j, "queue_frames", p->queue_frames);
    json_u64(j, "queue_bytes", p->queue_bytes);
    json_bool(j, "accept_bad_crc", p->accept_bad_crc);
    json_u64(j, "prio", p->prio);
    json_u64(j, "reserve_bps", p->reserve_bps);
    json_u64(j, "burst_bytes", p->burst_bytes);
    json_u64(j, "queued", c->queued);
    json_u64(j, "queued_hwm", c->queued_hwm);
    json_u64(j, "queued_bytes", c->queued_bytes);
    json_u64(j, "frames_in", c->frames_in);
    json_u64(j, "bytes_in", c->bytes_in);
    json_u64(j, "frames_out", c->frames_out);
    json_u64(j, "bytes_out", c->bytes_out);
    json_u64(j, "dropped_policy", c->dropped_policy);
    json_u64(j, "dropped_crc", c->dropped_crc);
    json_u64(j, "crc_bad_delivered", c->crc_bad_delivered);
    json_u64(j, "backpressured", c->backpressured);
    json_u64(j, "tx_conforming", c->tx_conforming);
    if (r) {
        json_dbl(j, "frames_in_per_s", v->cr[k].in_fps);
        json_dbl(j, "frames_out_per_s", v->cr[k].out_fps);
    }
    json_end_obj(j);
}

/* A live publication: when, the driver, the channels. */
static void json_live(struct json *j, const struct st_view *v)
{
    const struct statpub_snap *sn = &v->snap;
    json_str(j, "link", sn->link);
    json_i64(j, "stats_pid", sn->pid);
    json_u64(j, "publish_ns", sn->publish_ns);
    json_u64(j, "publishes", sn->publishes);
    json_u64(j, "pass_ns", sn->publish_ns > sn->begin_ns ? sn->publish_ns - sn->begin_ns : 0);
    json_bool(j, "publishing_stopped", (sn->flags & STATPUB_F_STOPPED) != 0);
    json_obj(j, "driver");
    json_u64(j, "frames_in", sn->st.frames_in);
    json_u64(j, "dropped_header", sn->st.dropped_header);
    json_u64(j, "dropped_no_chan", sn->st.dropped_no_chan);
    json_u64(j, "dropped_not_mine", sn->st.dropped_not_mine);
    json_u64(j, "dropped_other", sn->st.dropped_other);
    json_u64(j, "channels", sn->nchan);
    json_end_obj(j);
    json_arr(j, "chan");
    for (uint32_t k = 0; k < sn->nchan; k++)
        json_chan(j, v, k, v->rates);
    json_end_arr(j);
}

static const char *const pub_names[] = {"none", "live", "stale", "error", "damaged"};

static void print_json(const struct stat_opts *o, const struct sample *sm)
{
    const struct jet_lan_info *in = &sm->info;
    struct json j;
    json_begin(&j, stdout);
    json_obj(&j, NULL);
    json_str(&j, "lan", in->name);
    json_u64(&j, "time_ns", sm->real_ns);
    if (o->watch)
        json_dbl(&j, "interval_s", (double)o->interval_ns / 1e9);
    json_u64(&j, "stations", in->config.stations);
    json_u64(&j, "attached", in->attached);
    json_arr(&j, "station");
    for (uint32_t i = 0; i < MAXST; i++) {
        const struct st_view *v = &sm->st[i];
        if (!v->listed)
            continue;
        const struct jet_lan_station_info *li = &in->st[i];
        bool attached = i < in->config.stations && li->attached;
        json_obj(&j, NULL);
        json_u64(&j, "station", i);
        json_bool(&j, "attached", attached);
        if (attached) {
            json_i64(&j, "pid", li->pid);
            json_u64(&j, "token", li->token);
            json_u64(&j, "tx_frames", li->tx_frames);
            json_u64(&j, "tx_bytes", li->tx_bytes);
            json_u64(&j, "rx_frames", li->rx_frames);
            json_u64(&j, "rx_bytes", li->rx_bytes);
            json_u64(&j, "rx_queued", li->rx_queued);
            json_u64(&j, "tx_unreach", li->tx_unreach);
            json_u64(&j, "fault_lost", li->fault_lost);
            json_u64(&j, "fault_corrupted", li->fault_corrupted);
            json_u64(&j, "fault_duplicated", li->fault_duplicated);
            json_u64(&j, "fault_reordered", li->fault_reordered);
            json_u64(&j, "rx_stale", li->rx_stale);
            json_u64(&j, "shm_bad", li->shm_bad);
            if (v->rates) {
                json_dbl(&j, "tx_frames_per_s", v->tx_fps);
                json_dbl(&j, "rx_frames_per_s", v->rx_fps);
            }
        }
        json_str(&j, "stats", pub_names[v->pub]);
        if (v->pub == PUB_ERROR || v->pub == PUB_DAMAGED)
            json_str(&j, "stats_error", v->err);
        if (v->pub == PUB_STALE) {
            json_i64(&j, "stale_pid", v->snap.pid);
            json_str(&j, "stale_reason", v->stale_why);
            json_bool(&j, "removed", v->removed);
        }
        if (v->pub == PUB_LIVE)
            json_live(&j, v);
        json_end_obj(&j);
    }
    json_end_arr(&j);
    json_end_obj(&j);
    json_finish(&j);
}

/* ---- any other link: the stats files alone ---- */

struct pub_list {
    char (*ids)[STATPUB_ID_MAX];
    uint32_t n, more;
    int64_t addr; /* -1: any */
};

static void add_pub(const char *id, void *arg)
{
    struct pub_list *l = arg;
    uint32_t a;
    int32_t pid;
    if (statpub_id_parse(id, &a, &pid) || (l->addr >= 0 && a != (uint64_t)l->addr))
        return;
    if (l->n == MAXPUB) {
        l->more++;
        return;
    }
    snprintf(l->ids[l->n++], STATPUB_ID_MAX, "%s", id);
}

/* By address, then pid, then id. */
static int by_pub(const void *x, const void *y)
{
    const char *a = x, *b = y;
    uint32_t aa, ba;
    int32_t ap, bp;
    statpub_id_parse(a, &aa, &ap);
    statpub_id_parse(b, &ba, &bp);
    if (aa != ba)
        return aa < ba ? -1 : 1;
    if (ap != bp)
        return ap < bp ? -1 : 1;
    return strcmp(a, b);
}

static void read_pub(const struct stat_opts *o, struct st_view *v, const char *id)
{
    v->listed = true;
    v->pub = PUB_NONE;
    v->stale_why = NULL;
    v->removed = false;
    v->err[0] = 0;
    snprintf(v->id, sizeof v->id, "%s", id);
    struct jet_err err = {0};
    int rc = statpub_read(o->link, id, &v->snap, &err);
    if (rc == -ENOENT) { /* gone since the listing */
        v->listed = false;
        return;
    }
    if (rc) {
        v->pub = rc == -EPROTO ? PUB_DAMAGED : PUB_ERROR;
        snprintf(v->err, sizeof v->err, "%s", jet_err_str(&err, rc));
        return;
    }
    v->pub = PUB_LIVE;
    if (!v->snap.alive) {
        v->pub = PUB_STALE;
        v->stale_why = "its process is gone";
        v->removed = statpub_remove_stale(o->link, id, NULL) == 0;
    } else if (v->snap.publishes == 0) {
        v->pub = PUB_NONE;
    }
}

static int link_sample(const struct stat_opts *o, struct sample *sm, struct jet_err *err)
{
    static char ids[MAXPUB][STATPUB_ID_MAX];
    struct pub_list l = {.ids = ids, .addr = o->station};
    sm->mono_ns = jet_now_ns();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    sm->real_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    int rc = statpub_list(o->link, add_pub, &l, err);
    if (rc < 0)
        return rc;
    qsort(ids, l.n, sizeof ids[0], by_pub);
    sm->npub = 0;
    sm->more = l.more;
    for (uint32_t k = 0; k < l.n; k++) {
        read_pub(o, &sm->st[sm->npub], ids[k]);
        if (sm->st[sm->npub].listed)
            sm->npub++;
    }
    return 0;
}

/* Rates against the publications of the previous sample (prev[0..*nprev),
 * matched by id and instance), then prev := this sample's (through next). */
static void link_rates(struct sample *sm, struct st_prev *prev, uint32_t *nprev,
                       struct st_prev *next)
{
    for (uint32_t i = 0; i < sm->npub; i++) {
        struct st_view *v = &sm->st[i];
        struct st_prev *n = &next[i];
        v->rates = false;
        n->pub_valid = false;
        if (v->pub != PUB_LIVE)
            continue;
        if (v->snap.nchan > v->crcap) {
            struct chan_rate *c = realloc(v->cr, v->snap.nchan * sizeof *c);
            if (!c)
                continue;
            v->cr = c;
            v->crcap = v->snap.nchan;
        }
        const struct st_prev *p = NULL;
        for (uint32_t k = 0; k < *nprev && !p; k++)
            if (prev[k].pub_valid && prev[k].pub_instance == v->snap.instance &&
                !strcmp(prev[k].id, v->id) && v->snap.publish_ns >= prev[k].publish_ns)
                p = &prev[k];
        if (p) {
            uint64_t dtp = v->snap.publish_ns - p->publish_ns;
            v->rates = true;
            v->tx_fps = rate(v->snap.link_st.tx_frames, p->link_tx, dtp);
            v->rx_fps = rate(v->snap.link_st.rx_frames, p->link_rx, dtp);
            for (uint32_t k = 0; k < v->snap.nchan; k++) {
                const struct jet_chan_stats *c = &v->snap.chan[k].st;
                const struct jet_chan_stats *q = find_prev(p, c->id);
                v->cr[k].in_fps = q ? rate(c->frames_in, q->frames_in, dtp) : 0;
                v->cr[k].out_fps = q ? rate(c->frames_out, q->frames_out, dtp) : 0;
            }
        }
        if (v->snap.nchan > n->cap) {
            struct jet_chan_stats *c = realloc(n->chan, v->snap.nchan * sizeof *c);
            if (!c)
                continue;
            n->chan = c;
            n->cap = v->snap.nchan;
        }
        for (uint32_t k = 0; k < v->snap.nchan; k++)
            n->chan[k] = v->snap.chan[k].st;
        n->nchan = v->snap.nchan;
        n->pub_valid = true;
        n->pub_instance = v->snap.instance;
        n->publish_ns = v->snap.publish_ns;
        n->link_tx = v->snap.link_st.tx_frames;
        n->link_rx = v->snap.link_st.rx_frames;
        snprintf(n->id, sizeof n->id, "%s", v->id);
    }
    *nprev = sm->npub;
}

/* "station 3 (pid 123)" or "publisher n0-123 (pid 123, no address)". */
static const char *who(char *b, size_t cap, const struct st_view *v)
{
    uint32_t a;
    int32_t pid;
    statpub_id_parse(v->id, &a, &pid);
    if (a != JET_LINK_NO_ADDR)
        snprintf(b, cap, "station %u (pid %d)", a, (int)pid);
    else
        snprintf(b, cap, "publisher %s (pid %d, no address)", v->id, (int)pid);
    return b;
}

static void link_print_text(const struct stat_opts *o, const struct sample *sm)
{
    char b1[32], b2[32], b3[24], b4[24], ts[32], w[96];
    time_t t = (time_t)(sm->real_ns / 1000000000u);
    struct tm tm;
    strftime(ts, sizeof ts, "%H:%M:%S", localtime_r(&t, &tm));
    printf("link %s: %u station%s publish%s counters%s%s\n", o->link, sm->npub,
           sm->npub == 1 ? "" : "s", sm->npub == 1 ? "es" : "", o->watch ? "  -  " : "",
           o->watch ? ts : "");
    for (uint32_t i = 0; i < sm->npub; i++) {
        const struct st_view *v = &sm->st[i];
        who(w, sizeof w, v);
        switch (v->pub) {
        case PUB_NONE:
            printf("%s: (no counters published yet)\n", w);
            continue;
        case PUB_ERROR:
            printf("%s: stats file unreadable: %s\n", w, v->err);
            continue;
        case PUB_DAMAGED:
            printf("%s: stats file damaged, not shown: %s\n", w, v->err);
            continue;
        case PUB_STALE:
            printf("%s: stats file is stale (%s)%s\n", w, v->stale_why,
                   v->removed ? ", removed" : "");
            continue;
        case PUB_LIVE:
            break;
        }
        printf("%s\n", w);
        const struct jet_link_stats *l = &v->snap.link_st;
        bool r = o->watch && v->rates;
        if (v->snap.flags & STATPUB_F_NO_LINK_STATS)
            printf("  link:   keeps no counters\n");
        else
            printf("  link:   tx %llu frames%s%s%s (%s), rx %llu frames%s%s%s (%s); dropped: tx "
                   "%llu, rx %llu; faults %llu\n",
                   (unsigned long long)l->tx_frames, r ? " [" : "",
                   r ? fps(b3, sizeof b3, v->tx_fps) : "", r ? "/s]" : "",
                   fmt_bytes(b1, sizeof b1, (double)l->tx_bytes), (unsigned long long)l->rx_frames,
                   r ? " [" : "", r ? fps(b4, sizeof b4, v->rx_fps) : "", r ? "/s]" : "",
                   fmt_bytes(b2, sizeof b2, (double)l->rx_bytes), (unsigned long long)l->tx_dropped,
                   (unsigned long long)l->rx_dropped, (unsigned long long)l->faults);
        print_driver(sm, v, o->watch);
    }
    if (!sm->npub && o->station >= 0)
        printf("  (station %lld publishes no counters)\n", (long long)o->station);
    else if (!sm->npub)
        printf("  (no station publishes counters on this link)\n");
    if (sm->more)
        printf("  (%u more not shown)\n", sm->more);
}

static void link_print_json(const struct stat_opts *o, const struct sample *sm)
{
    struct json j;
    json_begin(&j, stdout);
    json_obj(&j, NULL);
    json_str(&j, "link", o->link);
    json_u64(&j, "time_ns", sm->real_ns);
    if (o->watch)
        json_dbl(&j, "interval_s", (double)o->interval_ns / 1e9);
    json_u64(&j, "publishers", sm->npub);
    json_u64(&j, "not_shown", sm->more);
    json_arr(&j, "station");
    for (uint32_t i = 0; i < sm->npub; i++) {
        const struct st_view *v = &sm->st[i];
        uint32_t a;
        int32_t pid;
        statpub_id_parse(v->id, &a, &pid);
        json_obj(&j, NULL);
        json_str(&j, "id", v->id);
        if (a != JET_LINK_NO_ADDR)
            json_u64(&j, "station", a);
        json_i64(&j, "pid", pid);
        json_str(&j, "stats", pub_names[v->pub]);
        if (v->pub == PUB_ERROR || v->pub == PUB_DAMAGED)
            json_str(&j, "stats_error", v->err);
        if (v->pub == PUB_STALE) {
            json_i64(&j, "stale_pid", v->snap.pid);
            json_str(&j, "stale_reason", v->stale_why);
            json_bool(&j, "removed", v->removed);
        }
        if (v->pub == PUB_LIVE) {
            const struct jet_link_stats *l = &v->snap.link_st;
            bool has = !(v->snap.flags & STATPUB_F_NO_LINK_STATS);
            json_bool(&j, "link_counters", has);
            if (has) {
                json_u64(&j, "tx_frames", l->tx_frames);
                json_u64(&j, "tx_bytes", l->tx_bytes);
                json_u64(&j, "rx_frames", l->rx_frames);
                json_u64(&j, "rx_bytes", l->rx_bytes);
                json_u64(&j, "tx_dropped", l->tx_dropped);
                json_u64(&j, "rx_dropped", l->rx_dropped);
                json_u64(&j, "faults", l->faults);
                if (v->rates) {
                    json_dbl(&j, "tx_frames_per_s", v->tx_fps);
                    json_dbl(&j, "rx_frames_per_s", v->rx_fps);
                }
            }
            json_live(&j, v);
        }
        json_end_obj(&j);
    }
    json_end_arr(&j);
    json_end_obj(&j);
    json_finish(&j);
}

/* ---- the command ---- */

static int parse(int argc, char **argv, struct stat_opts *o)
{
    const char *link = NULL, *station_arg = NULL;
    o->station = -1;
    o->interval_ns = 1000000000u;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        char opt[32];
        if (eq) {
            snprintf(opt, sizeof opt, "%.*s", (int)(eq - a), a);
            a = opt;
            val = eq + 1;
        }
        if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--station") || !strcmp(a, "-s")) {
            if (!val && i + 1 < argc)
                val = argv[++i];
            uint64_t k;
            if (!val)
                return usage_error("stat", "--station needs a station number");
            if (jet_parse_u64(val, &k) || k >= JET_LINK_NO_ADDR)
                return usage_error("stat", "bad value '%s' for --station", val);
            o->station = (int64_t)k;
            station_arg = val;
        } else if (!strcmp(a, "--watch") || !strcmp(a, "-w")) {
            o->watch = true;
            uint64_t ns;
            if (!val && i + 1 < argc && jet_parse_duration(argv[i + 1], &ns) == 0)
                val = argv[++i];
            if (val) {
                if (jet_parse_duration(val, &ns) || ns < 10000000u)
                    return usage_error("stat",
                                       "bad value '%s' for --watch (seconds, at least 0.01)", val);
                o->interval_ns = ns;
            }
        } else if (a[0] == '-') {
            return usage_error("stat", "unknown option '%s'", argv[i]);
        } else if (link) {
            return usage_error("stat", "one link only ('%s' and '%s')", link, a);
        } else {
            link = a;
        }
    }
    if (!link)
        return usage_error("stat", "which link? (jet stat lan:NAME, or another link name)");
    /* a plain NAME is a LAN's, as for jet lan */
    if (!strchr(link, ':') && strlen(link) < sizeof o->link - 4)
        snprintf(o->link, sizeof o->link, "lan:%s", link);
    else if (strlen(link) < sizeof o->link)
        snprintf(o->link, sizeof o->link, "%s", link);
    else
        return usage_error("stat", "link name too long");
    struct jet_link_name ln;
    struct jet_err err = {0};
    if (jet_link_name_parse(o->link, &ln, &err))
        return usage_error("stat", "%s", err.msg);
    o->is_lan = ln.kind == JET_LINK_LAN;
    if (o->is_lan) {
        if (strlen(ln.name) >= sizeof o->lan)
            return usage_error("stat", "LAN name too long");
        memcpy(o->lan, ln.name, strlen(ln.name) + 1);
        if (o->station >= MAXST)
            return usage_error("stat", "bad value '%s' for --station (0 to %d)", station_arg,
                               MAXST - 1);
    }
    return 0;
}

static bool sleep_interrupted(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (!stat_stop && nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    return stat_stop;
}

int cmd_stat(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            stat_help(stdout);
            return 0;
        }
    struct stat_opts o = {0};
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    struct sample *sm = calloc(1, sizeof *sm);
    struct st_prev *prev = calloc(2 * MAXPUB, sizeof *prev), *next = prev + MAXPUB;
    uint32_t nprev = 0;
    if (!sm || !prev) {
        free(sm);
        free(prev);
        return die("out of memory");
    }
    if (o.watch) {
        struct sigaction sa = {.sa_handler = on_signal};
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
    }
    bool tty = isatty(STDOUT_FILENO);
    int ret = 0;
    for (int n = 0;; n++) {
        struct jet_err err = {0};
        rc = o.is_lan ? sample(&o, sm, &err) : link_sample(&o, sm, &err);
        if (rc) {
            ret = die("%s", jet_err_str(&err, rc));
            break;
        }
        if (!o.is_lan) {
            if (!o.watch && o.station >= 0 && sm->npub == 0) {
                ret = die("station %lld publishes no counters on link '%s'", (long long)o.station,
                          o.link);
                break;
            }
            link_rates(sm, prev, &nprev, next);
            struct st_prev *t = prev; /* this sample's become the previous ones */
            prev = next;
            next = t;
            if (o.json) {
                link_print_json(&o, sm);
            } else {
                if (o.watch && tty)
                    fputs("\033[H\033[J", stdout);
                else if (n > 0)
                    putchar('\n');
                link_print_text(&o, sm);
                fflush(stdout);
            }
            if (!o.watch || sleep_interrupted(o.interval_ns))
                break;
            continue;
        }
        if (o.station >= 0 && (uint32_t)o.station >= sm->info.config.stations &&
            !sm->st[o.station].listed) {
            ret = die("LAN '%s' has stations 0 to %u only", o.lan, sm->info.config.stations - 1);
            break;
        }
        if (!o.watch && o.station >= 0 && !sm->st[o.station].listed) {
            ret = die("station %d of LAN '%s' is not attached", (int)o.station, o.lan);
            break;
        }
        rates(sm, prev);
        if (o.json) {
            print_json(&o, sm);
        } else {
            if (o.watch && tty)
                fputs("\033[H\033[J", stdout); /* home, clear: redraw in place */
            else if (n > 0)
                putchar('\n');
            print_text(&o, sm);
            fflush(stdout);
        }
        if (!o.watch || sleep_interrupted(o.interval_ns))
            break;
    }
    for (uint32_t i = 0; i < MAXPUB; i++) {
        statpub_snap_free(&sm->st[i].snap);
        free(sm->st[i].cr);
        free(prev[i].chan);
        free(next[i].chan);
    }
    free(prev < next ? prev : next);
    free(sm);
    return ret;
}
