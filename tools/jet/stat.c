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
 *      pass_ns: how long it took), with a record per RBS or TCP connection
 *      and listener of the station (stat_conn.c prints them).
 * A stats file whose process is gone, or whose pid is not the one the LAN
 * now has for that station, is stale: it is shown as such and, when the
 * LAN says the station is not attached, removed.
 *
 * On any other link (jet stat loop:X, fault:.../tap:IF, ...) the stats
 * files are the only source (stat_link.c).  Stats files are hostile
 * input (anyone can put a file at such a name in /dev/shm): statpub_read()
 * copies them with pread() and checks every field; one that fails, or that
 * belongs to another user than the process it names, is shown as damaged
 * (JSON "stats": "damaged", the reason in "stats_error") and nothing of it
 * is used; the other stations are shown as usual.
 *
 * --watch samples every interval until SIGINT/SIGTERM and shows rates next
 * to the totals: LAN counters over the sampling interval, link and channel
 * counters from a stats file over the interval between the two
 * publications seen.
 *
 * This file: the command line, the sampling loop (one struct stat_view per
 * kind of link, stat.h) and the LAN view; stat_show.c reads a stats file and
 * prints what both views show alike. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stat.h"
#include "util/parse.h"

static volatile sig_atomic_t stat_stop;

static void on_signal(int sig)
{
    (void)sig;
    stat_stop = 1;
}

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
            "Then, like ss -ti, each RBS and TCP connection and listener of the station: state,\n"
            "endpoints, RTT, cwnd, ssthresh, windows, bytes in flight, sent, acknowledged and\n"
            "received, segments, retransmits, timeouts (keys of --json: docs/channels.md).\n"
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

/* ---- the LAN view ---- */

/* A LAN's files are named by station number. */
static void mark_file(const char *id, void *arg)
{
    uint32_t st;
    int32_t pid;
    if (statpub_id_parse(id, &st, &pid) == 0 && pid == 0 && st < MAXST)
        *(uint64_t *)arg |= 1ull << st;
}

static bool is_attached(const struct jet_lan_info *in, uint32_t i)
{
    return i < in->config.stations && in->st[i].attached;
}

static void read_station(const struct stat_opts *o, struct sample *sm, uint32_t i)
{
    struct st_view *v = &sm->st[i];
    const struct jet_lan_station_info *li = &sm->info.st[i];
    bool attached = is_attached(&sm->info, i);
    v->pub = PUB_NONE;
    v->listed = attached || (sm->files >> i & 1);
    if (!(sm->files >> i & 1))
        return;
    char id[16];
    snprintf(id, sizeof id, "%u", i);
    if (stat_read_file(o, v, id) == -ENOENT) {
        v->listed = attached;
        return;
    }
    if ((v->pub == PUB_LIVE || v->pub == PUB_NONE) && attached && v->snap.pid != li->pid) {
        v->pub = PUB_STALE;
        v->stale_why = "left by an earlier holder of the station";
    }
    /* Remove only what the LAN has let go: a station attached now may be
     * about to publish. */
    if (v->pub == PUB_STALE && !attached)
        v->removed = statpub_remove_stale(o->link, id, NULL) == 0;
}

static int lan_sample(const struct stat_opts *o, struct sample *sm, struct jet_err *err)
{
    int rc = jet_lan_info(o->lan, &sm->info, err);
    if (rc)
        return rc;
    stat_stamp(sm);
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

static int lan_check(const struct stat_opts *o, const struct sample *sm)
{
    if (o->station >= 0 && (uint32_t)o->station >= sm->info.config.stations &&
        !sm->st[o->station].listed)
        return die("LAN '%s' has stations 0 to %u only", o->lan, sm->info.config.stations - 1);
    if (!o->watch && o->station >= 0 && !sm->st[o->station].listed)
        return die("station %d of LAN '%s' is not attached", (int)o->station, o->lan);
    return 0;
}

/* Rates against pv->prev (by station), then pv->prev := this sample. */
static void lan_rates(struct sample *sm, struct stat_prevs *pv)
{
    for (uint32_t i = 0; i < MAXST; i++) {
        struct st_view *v = &sm->st[i];
        struct st_prev *p = &pv->prev[i];
        const struct jet_lan_station_info *li = &sm->info.st[i];
        bool attached = is_attached(&sm->info, i);
        v->rates = false;
        if (!v->listed)
            continue;
        bool have_pub = v->pub == PUB_LIVE && stat_fit_rates(v);
        if (attached && p->valid && p->token == li->token) {
            uint64_t dt = sm->mono_ns - p->mono_ns;
            v->rates = true;
            v->tx_fps = stat_rate(li->tx_frames, p->tx_frames, dt);
            v->rx_fps = stat_rate(li->rx_frames, p->rx_frames, dt);
            if (have_pub) {
                bool same = p->pub_valid && p->pub_instance == v->snap.instance &&
                            v->snap.publish_ns >= p->publish_ns;
                stat_chan_rates(v, same ? p : NULL, same ? v->snap.publish_ns - p->publish_ns : 0);
            }
        }
        p->valid = attached;
        p->token = li->token;
        p->mono_ns = sm->mono_ns;
        p->tx_frames = li->tx_frames;
        p->rx_frames = li->rx_frames;
        p->pub_valid = false;
        if (have_pub)
            stat_keep_pub(p, v);
    }
}

static void lan_print_text(const struct stat_opts *o, const struct sample *sm)
{
    const struct jet_lan_info *in = &sm->info;
    char ts[32];
    printf("lan %s: %u of %u stations attached%s%s\n", in->name, in->attached, in->config.stations,
           o->watch ? "  -  " : "", o->watch ? stat_clock(ts, sizeof ts, sm) : "");
    bool any = false;
    for (uint32_t i = 0; i < MAXST; i++) {
        const struct st_view *v = &sm->st[i];
        if (!v->listed)
            continue;
        any = true;
        const struct jet_lan_station_info *li = &in->st[i];
        bool attached = is_attached(in, i);
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
        print_txrx("lan:   ", li->tx_frames, li->tx_bytes, li->rx_frames, li->rx_bytes, v,
                   o->watch && v->rates);
        printf(", queued %u, unreachable %llu\n", li->rx_queued, (unsigned long long)li->tx_unreach);
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

static void lan_print_json(const struct stat_opts *o, const struct sample *sm)
{
    const struct jet_lan_info *in = &sm->info;
    struct json j;
    json_head(&j, o, sm, "lan", in->name);
    json_u64(&j, "stations", in->config.stations);
    json_u64(&j, "attached", in->attached);
    json_arr(&j, "station");
    for (uint32_t i = 0; i < MAXST; i++) {
        const struct st_view *v = &sm->st[i];
        if (!v->listed)
            continue;
        const struct jet_lan_station_info *li = &in->st[i];
        bool attached = is_attached(in, i);
        json_obj(&j, NULL);
        json_u64(&j, "station", i);
        json_bool(&j, "attached", attached);
        if (attached) {
            json_i64(&j, "pid", li->pid);
            json_u64(&j, "token", li->token);
            json_txrx(&j, li->tx_frames, li->tx_bytes, li->rx_frames, li->rx_bytes);
            json_u64(&j, "rx_queued", li->rx_queued);
            json_u64(&j, "tx_unreach", li->tx_unreach);
            json_u64(&j, "fault_lost", li->fault_lost);
            json_u64(&j, "fault_corrupted", li->fault_corrupted);
            json_u64(&j, "fault_duplicated", li->fault_duplicated);
            json_u64(&j, "fault_reordered", li->fault_reordered);
            json_u64(&j, "rx_stale", li->rx_stale);
            json_u64(&j, "shm_bad", li->shm_bad);
            json_rates(&j, v);
        }
        json_pub(&j, v);
        if (v->pub == PUB_LIVE)
            json_live(&j, v);
        json_end_obj(&j);
    }
    json_end_arr(&j);
    json_end_obj(&j);
    json_finish(&j);
}

static const struct stat_view lan_view = {
    .sample = lan_sample,
    .check = lan_check,
    .rates = lan_rates,
    .text = lan_print_text,
    .json = lan_print_json,
};

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
    const struct stat_view *view = o.is_lan ? &lan_view : &stat_link_view;
    struct sample *sm = calloc(1, sizeof *sm);
    struct st_prev *prevs = calloc(2 * MAXPUB, sizeof *prevs);
    if (!sm || !prevs) {
        free(sm);
        free(prevs);
        return die("out of memory");
    }
    struct stat_prevs pv = {.prev = prevs, .next = prevs + MAXPUB};
    if (o.watch) {
        struct sigaction sa = {.sa_handler = on_signal};
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
    }
    int ret = 0;
    for (int n = 0;; n++) {
        struct jet_err err = {0};
        rc = view->sample(&o, sm, &err);
        if (rc) {
            ret = die("%s", jet_err_str(&err, rc));
            break;
        }
        if ((ret = view->check(&o, sm)))
            break;
        view->rates(sm, &pv);
        if (o.json) {
            view->json(&o, sm);
        } else {
            stat_next_screen(&o, n);
            view->text(&o, sm);
            fflush(stdout);
        }
        if (!o.watch || sleep_interrupted(o.interval_ns))
            break;
    }
    for (uint32_t i = 0; i < MAXPUB; i++) {
        statpub_snap_free(&sm->st[i].snap);
        free(sm->st[i].cr);
        free(sm->st[i].nr);
        free(prevs[i].chan);
        free(prevs[MAXPUB + i].chan);
        free(prevs[i].conn);
        free(prevs[MAXPUB + i].conn);
    }
    free(prevs);
    free(sm);
    return ret;
}
