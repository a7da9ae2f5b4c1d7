/* jet lan: create, show, list and destroy emulated Jetstream LANs (`jet lan tap`
 * is lan_tap.c). */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "jet/pool.h"

static void lan_help(FILE *f)
{
    fprintf(f,
            "usage: jet lan create NAME [OPTIONS]\n"
            "       jet lan show NAME [--json]\n"
            "       jet lan list [--json]\n"
            "       jet lan destroy NAME [--force]\n"
            "       jet lan tap NAME --ifname IF [--station K] [--ip ADDR/PLEN] [--netns NS]\n"
            "                   [--mtu N]  (a Linux TAP interface as a station; see jet lan tap --help)\n\n"
            "An emulated Jetstream LAN lives in shared memory (/dev/shm/jet-lan.NAME); processes\n"
            "attach to it as stations with the link name lan:NAME.  Frames move between them\n"
            "without copying.  Faults are seeded: the same seed gives the same faults.\n\n"
            "create options:\n%s",
            lan_options_help);
}

static int lan_create(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-')
        return usage_error("lan", "create needs a NAME");
    const char *name = argv[1];
    struct jet_lan_config c;
    jet_lan_config_default(&c);
    for (int i = 2; i < argc; i++) {
        int r = lan_option("lan", argv[i], i + 1 < argc ? argv[i + 1] : NULL, &c);
        if (r < 0)
            return 2;
        if (r == 0)
            return usage_error("lan", "unknown option '%s'", argv[i]);
        i++;
    }
    struct jet_err err = {0};
    int rc = jet_lan_create(name, &c, &err);
    if (rc)
        return die("%s", jet_err_str(&err, rc));
    return 0;
}

static void print_info(const struct jet_lan_info *in)
{
    const struct jet_lan_config *c = &in->config;
    char b1[32], b2[32];
    printf("lan %s: %u stations, mtu %u, %u buffers, ring %u, segment %s, mode %03o\n", in->name,
           c->stations, c->mtu, c->buffers, c->ring, fmt_bytes(b1, sizeof b1, (double)in->segment_bytes),
           c->mode);
    printf("  medium: rate %s, delay %.1f us, jitter %.1f us\n",
           c->rate_bps ? fmt_rate(b2, sizeof b2, (double)c->rate_bps) : "unlimited",
           (double)c->delay_ns / 1e3, (double)c->jitter_ns / 1e3);
    printf("  faults: loss %g, ber %g, dup %g, reorder %g, seed %llu\n", c->loss, c->ber, c->dup,
           c->reorder, (unsigned long long)c->seed);
    printf("  pool: %u of %u buffers free; %llu dead stations reclaimed (%llu buffers)\n",
           in->buffers_free, c->buffers, (unsigned long long)in->reclaims,
           (unsigned long long)in->reclaimed_buffers);
    if (in->monitor_pid)
        printf("  monitor: pid %d (jet dump; takes no station)\n", (int)in->monitor_pid);
    printf("  %-3s %-8s %12s %12s %12s %12s %8s %8s %8s\n", "st", "pid", "tx frames", "tx bytes",
           "rx frames", "rx bytes", "queued", "unreach", "shm bad");
    for (uint32_t i = 0; i < c->stations; i++) {
        const struct jet_lan_station_info *s = &in->st[i];
        if (!s->attached)
            continue;
        printf("  %-3u %-8d %12llu %12llu %12llu %12llu %8u %8llu %8llu\n", i, (int)s->pid,
               (unsigned long long)s->tx_frames, (unsigned long long)s->tx_bytes,
               (unsigned long long)s->rx_frames, (unsigned long long)s->rx_bytes, s->rx_queued,
               (unsigned long long)s->tx_unreach, (unsigned long long)s->shm_bad);
    }
    if (!in->attached)
        printf("  (no station attached)\n");
}

static void json_info(const struct jet_lan_info *in)
{
    const struct jet_lan_config *c = &in->config;
    struct json j;
    json_begin(&j, stdout);
    json_obj(&j, NULL);
    json_str(&j, "name", in->name);
    json_u64(&j, "layout_version", in->layout_version);
    json_u64(&j, "stations", c->stations);
    json_u64(&j, "mtu", c->mtu);
    json_u64(&j, "buffers", c->buffers);
    json_u64(&j, "buffers_free", in->buffers_free);
    json_u64(&j, "ring", c->ring);
    json_u64(&j, "segment_bytes", in->segment_bytes);
    json_u64(&j, "rate_bps", c->rate_bps);
    json_u64(&j, "delay_ns", c->delay_ns);
    json_u64(&j, "jitter_ns", c->jitter_ns);
    json_dbl(&j, "loss", c->loss);
    json_dbl(&j, "ber", c->ber);
    json_dbl(&j, "dup", c->dup);
    json_dbl(&j, "reorder", c->reorder);
    json_u64(&j, "seed", c->seed);
    json_u64(&j, "mode", c->mode);
    json_u64(&j, "reclaims", in->reclaims);
    json_u64(&j, "reclaimed_buffers", in->reclaimed_buffers);
    json_u64(&j, "attached", in->attached);
    json_u64(&j, "monitor_pid", (uint64_t)in->monitor_pid);
    json_arr(&j, "station");
    for (uint32_t i = 0; i < c->stations; i++) {
        const struct jet_lan_station_info *s = &in->st[i];
        if (!s->attached)
            continue;
        json_obj(&j, NULL);
        json_u64(&j, "station", i);
        json_i64(&j, "pid", s->pid);
        json_u64(&j, "tx_frames", s->tx_frames);
        json_u64(&j, "tx_bytes", s->tx_bytes);
        json_u64(&j, "rx_frames", s->rx_frames);
        json_u64(&j, "rx_bytes", s->rx_bytes);
        json_u64(&j, "rx_queued", s->rx_queued);
        json_u64(&j, "tx_unreach", s->tx_unreach);
        json_u64(&j, "fault_lost", s->fault_lost);
        json_u64(&j, "fault_corrupted", s->fault_corrupted);
        json_u64(&j, "fault_duplicated", s->fault_duplicated);
        json_u64(&j, "fault_reordered", s->fault_reordered);
        json_u64(&j, "tx_dropped_close", s->tx_dropped_close);
        json_u64(&j, "rx_stale", s->rx_stale);
        json_u64(&j, "shm_bad", s->shm_bad);
        json_end_obj(&j);
    }
    json_end_arr(&j);
    json_end_obj(&j);
    json_finish(&j);
}

static int lan_show(int argc, char **argv)
{
    const char *name = NULL;
    bool js = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            js = true;
        else if (argv[i][0] == '-')
            return usage_error("lan", "unknown option '%s'", argv[i]);
        else if (!name)
            name = argv[i];
        else
            return usage_error("lan", "show takes one NAME");
    }
    if (!name)
        return usage_error("lan", "show needs a NAME");
    static struct jet_lan_info in;
    struct jet_err err = {0};
    int rc = jet_lan_info(name, &in, &err);
    if (rc)
        return die("%s", jet_err_str(&err, rc));
    if (js)
        json_info(&in);
    else
        print_info(&in);
    return 0;
}

struct list_ctx {
    struct json *j;
};

static void list_one(const char *name, void *arg)
{
    struct list_ctx *lc = arg;
    static struct jet_lan_info in;
    struct jet_err err = {0};
    int rc = jet_lan_info(name, &in, &err);
    if (lc->j) {
        json_obj(lc->j, NULL);
        json_str(lc->j, "name", name);
        if (rc) {
            json_bool(lc->j, "damaged", rc == -EPROTO);
            json_str(lc->j, "error", jet_err_str(&err, rc));
        } else {
            json_u64(lc->j, "stations", in.config.stations);
            json_u64(lc->j, "attached", in.attached);
            json_u64(lc->j, "mtu", in.config.mtu);
        }
        json_end_obj(lc->j);
    } else if (rc) {
        printf("%-20s (%s: %s)\n", name, rc == -EPROTO ? "damaged" : "unreadable",
               jet_err_str(&err, rc));
    } else {
        printf("%-20s %u/%u stations attached, mtu %u\n", name, in.attached, in.config.stations,
               in.config.mtu);
    }
}

static int lan_list(int argc, char **argv)
{
    struct json j;
    struct list_ctx lc = {NULL};
    if (argc > 1 && !strcmp(argv[1], "--json")) {
        json_begin(&j, stdout);
        json_arr(&j, NULL);
        lc.j = &j;
    } else if (argc > 1) {
        return usage_error("lan", "list takes only --json");
    }
    struct jet_err err = {0};
    int rc = jet_lan_list(list_one, &lc, &err);
    if (lc.j) {
        json_end_arr(&j);
        json_finish(&j);
    }
    return rc < 0 ? die("%s", jet_err_str(&err, rc)) : 0;
}

static int lan_destroy(int argc, char **argv)
{
    const char *name = NULL;
    bool force = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-f"))
            force = true;
        else if (argv[i][0] == '-')
            return usage_error("lan", "unknown option '%s'", argv[i]);
        else
            name = argv[i];
    }
    if (!name)
        return usage_error("lan", "destroy needs a NAME");
    struct jet_err err = {0};
    int rc = jet_lan_destroy(name, force, &err);
    return rc ? die("%s", jet_err_str(&err, rc)) : 0;
}

int cmd_lan(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        lan_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "tap"))
        return lan_tap_main(argc - 1, argv + 1); /* has its own --help */
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            lan_help(stdout);
            return 0;
        }
    if (!strcmp(sub, "create"))
        return lan_create(argc - 1, argv + 1);
    if (!strcmp(sub, "show"))
        return lan_show(argc - 1, argv + 1);
    if (!strcmp(sub, "list") || !strcmp(sub, "ls"))
        return lan_list(argc - 1, argv + 1);
    if (!strcmp(sub, "destroy") || !strcmp(sub, "rm"))
        return lan_destroy(argc - 1, argv + 1);
    return usage_error("lan", "unknown subcommand '%s' (create, show, list, destroy, tap)", sub);
}
