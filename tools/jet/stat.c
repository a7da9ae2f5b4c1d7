/* jet stat: the stations of a LAN, and the channels and counters of each.
 *
 * Two sources, read in this order for every sample:
 *   1. the LAN segment (jet_lan_info): which stations are attached, their
 *      pid and owner token, frames and bytes sent and received, faults;
 *   2. each station's published counters (src/chan/statpub.h): the driver's
 *      counters and every channel's counters and policy, as the station's
 *      own process last copied them: a pass over its channels begins every
 *      100 ms while its driver runs and is done a slice per poll; a
 *      snapshot is the last complete pass (publish_ns: when it completed,
 *      pass_ns: how long it took).
 * A stats file whose process is gone, or whose token is not the one the
 * LAN now has for that station, is stale: it is shown as such and, when the
 * LAN says the station is not attached, removed.  Stats files are hostile
 * input (anyone can put a file at such a name in /dev/shm): statpub_read()
 * copies them with pread() and checks every field; one that fails, or that
 * belongs to another user than the process it names, is shown as damaged
 * (JSON "stats": "damaged", the reason in "stats_error") and nothing of it
 * is used; the other stations are shown as usual.
 *
 * --watch samples every interval until SIGINT/SIGTERM and shows rates next
 * to the totals: LAN counters over the sampling interval, channel counters
 * over the interval between the two publications seen. */
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

enum { MAXST = JET_LAN_MAX_STATIONS };

static volatile sig_atomic_t stat_stop;

static void on_signal(int sig)
{
    (void)sig;
    stat_stop = 1;
}

struct stat_opts {
    char lan[JET_LAN_NAME_MAX + 1];
    int station; /* -1: all */
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
    double tx_fps, rx_fps;
    struct chan_rate *cr; /* per snap.chan entry */
    uint32_t crcap;
};

/* What the previous sample saw of a station, for rates. */
struct st_prev {
    bool valid, pub_valid;
    uint64_t token, mono_ns, tx_frames, rx_frames;
    uint64_t pub_token, publish_ns;
    struct jet_chan_stats *chan; /* sorted by id */
    uint32_t nchan, cap;
};

struct sample {
    struct jet_lan_info info;
    uint64_t mono_ns, real_ns;
    uint64_t files; /* bit per station with a stats file */
    struct st_view st[MAXST];
};

static void stat_help(FILE *f)
{
    fprintf(f,
            "usage: jet stat lan:NAME [--station K] [--json] [--watch [SECONDS]]\n\n"
            "Shows every station attached to the LAN (pid, frames and bytes sent and received,\n"
            "faults) and, for each station that runs channels, its driver's counters and a\n"
            "table of its channels: policy, queue, frames and bytes in and out, drops.\n"
            "Stations publish these every 100 ms while their driver runs (with many channels,\n"
            "a few hundred per driver poll), into /dev/shm/jet-stat.NAME.K; files left by\n"
            "processes that died are reported and, once the LAN has let the station go,\n"
            "removed; a file that fails its checks is reported as damaged.\n\n"
            "options:\n"
            "  --station K, -s K   only station K\n"
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

static void mark_file(uint32_t station, void *arg)
{
    *(uint64_t *)arg |= 1ull << station;
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
    int rc = statpub_read(o->lan, i, &v->snap, &err);
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
    } else if (attached && v->snap.token && v->snap.token != li->token) {
        v->pub = PUB_STALE;
        v->stale_why = "left by an earlier holder of the station";
    } else if (v->snap.publishes == 0) {
        v->pub = PUB_NONE; /* its first pass is under way */
    }
    /* Remove only what the LAN has let go: a station attached now may be
     * about to publish. */
    if (v->pub == PUB_STALE && !attached)
        v->removed = statpub_remove_stale(o->lan, i, NULL) == 0;
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
    if (statpub_list(o->lan, mark_file, &sm->files, &lerr) < 0)
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
                bool same = p->pub_valid && p->pub_token == v->snap.token &&
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
            p->pub_token = v->snap.token;
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
        const struct statpub_snap *sn = &v->snap;
        double age =
            sm->real_ns > sn->publish_ns ? (double)(sm->real_ns - sn->publish_ns) / 1e9 : 0;
        printf("  driver: frames in %llu; dropped: header %llu, no channel %llu, not mine %llu, "
               "other %llu; %u channel%s; published %.1f s ago%s\n",
               (unsigned long long)sn->st.frames_in, (unsigned long long)sn->st.dropped_header,
               (unsigned long long)sn->st.dropped_no_chan,
               (unsigned long long)sn->st.dropped_not_mine,
               (unsigned long long)sn->st.dropped_other, sn->nchan, sn->nchan == 1 ? "" : "s", age,
               sn->flags & STATPUB_F_STOPPED ? " (publishing stopped: no room)" : "");
        print_chans(v, o->watch);
    }
    if (!any && o->station >= 0)
        printf("  (station %d is not attached)\n", o->station);
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

static void print_json(const struct stat_opts *o, const struct sample *sm)
{
    static const char *const pub_names[] = {"none", "live", "stale", "error", "damaged"};
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
        if (v->pub == PUB_LIVE) {
            const struct statpub_snap *sn = &v->snap;
            json_str(&j, "link", sn->link);
            json_i64(&j, "stats_pid", sn->pid);
            json_u64(&j, "publish_ns", sn->publish_ns);
            json_u64(&j, "publishes", sn->publishes);
            json_u64(&j, "pass_ns",
                     sn->publish_ns > sn->begin_ns ? sn->publish_ns - sn->begin_ns : 0);
            json_bool(&j, "publishing_stopped", (sn->flags & STATPUB_F_STOPPED) != 0);
            json_obj(&j, "driver");
            json_u64(&j, "frames_in", sn->st.frames_in);
            json_u64(&j, "dropped_header", sn->st.dropped_header);
            json_u64(&j, "dropped_no_chan", sn->st.dropped_no_chan);
            json_u64(&j, "dropped_not_mine", sn->st.dropped_not_mine);
            json_u64(&j, "dropped_other", sn->st.dropped_other);
            json_u64(&j, "channels", sn->nchan);
            json_end_obj(&j);
            json_arr(&j, "chan");
            for (uint32_t k = 0; k < sn->nchan; k++)
                json_chan(&j, v, k, v->rates);
            json_end_arr(&j);
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
    const char *link = NULL;
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
            if (jet_parse_u64(val, &k) || k >= MAXST)
                return usage_error("stat", "bad value '%s' for --station (0 to %d)", val,
                                   MAXST - 1);
            o->station = (int)k;
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
        return usage_error("stat", "which LAN? (jet stat lan:NAME)");
    struct jet_link_name ln;
    struct jet_err err = {0};
    if (jet_link_name_parse(link, &ln, &err))
        return usage_error("stat", "%s", err.msg);
    if (ln.kind != JET_LINK_LAN)
        return usage_error("stat", "'%s': only lan:NAME links publish counters", link);
    if (strlen(ln.name) >= sizeof o->lan)
        return usage_error("stat", "LAN name too long");
    memcpy(o->lan, ln.name, strlen(ln.name) + 1);
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
    struct st_prev *prev = calloc(MAXST, sizeof *prev);
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
        rc = sample(&o, sm, &err);
        if (rc) {
            ret = die("%s", jet_err_str(&err, rc));
            break;
        }
        if (o.station >= 0 && (uint32_t)o.station >= sm->info.config.stations &&
            !sm->st[o.station].listed) {
            ret = die("LAN '%s' has stations 0 to %u only", o.lan, sm->info.config.stations - 1);
            break;
        }
        if (!o.watch && o.station >= 0 && !sm->st[o.station].listed) {
            ret = die("station %d of LAN '%s' is not attached", o.station, o.lan);
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
    for (uint32_t i = 0; i < MAXST; i++) {
        statpub_snap_free(&sm->st[i].snap);
        free(sm->st[i].cr);
        free(prev[i].chan);
    }
    free(sm);
    free(prev);
    return ret;
}
