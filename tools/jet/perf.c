/* jet perf: the command line and the dispatcher.  --proto raw is a frame
 * blaster, ping-pong and latency timer over channels (include/jet/chan.h;
 * perf_send.c, perf_recv.c; see perf.h for the wire use); --proto rbs is
 * perf_rbs.c, --proto tcp perf_tcp.c.  What they share is in perf_common.c.
 *
 * Like iperf3: `-s` receives, `-c --to STATION` sends.  Without --link it
 * creates a private LAN, forks both ends, prints the result and cleans up. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jet/frame.h"
#include "jet/lan.h"
#include "perf.h"
#include "util/clock.h"
#include "util/parse.h"

static void on_signal(int sig)
{
    (void)sig;
    perf_stop = 1;
}

/* ---- command line ---- */

static const char raw_examples[] =
    "  jet perf --proto raw                   private LAN: 3 s of 9000-byte frames, summary\n"
    "  jet perf --proto raw --frame 1500 -t 10 -i 1 --rate 1G --loss 0.001\n"
    "  jet perf --proto raw --pingpong --frame 64 -n 100000 --json\n"
    "  two ends on a LAN (two shells):\n"
    "    jet lan create office --rate 10G\n"
    "    jet perf --proto raw -s --link lan:office --station 1\n"
    "    jet perf --proto raw -c --to 1 --link lan:office -t 10 -i 1\n"
    "  over a real link (root; each host's own interface, the other's station):\n"
    "    host A: jet perf --proto raw -s --link packet:eth1 --station 2\n"
    "    host B: jet perf --proto raw -c --to 2 --link packet:eth1 --station 1 -t 10 -i 1\n"
    "    or in UDP: host A (198.18.42.102), host B (198.18.42.101):\n"
    "    host A: jet perf --proto raw -s --link udp:198.18.42.101:7475,bind=7475 --station 2\n"
    "    host B: jet perf --proto raw -c --to 2 --link udp:198.18.42.102:7475,bind=7475 \\\n"
    "            --station 1 --frame 1472 -t 10\n";

static void perf_help(FILE *f)
{
    fprintf(
        f,
        "usage: jet perf --proto raw [-s | -c --to STATION] [--link lan:NAME [--station K]] "
        "[OPTIONS]\n\n"
        "Measures frame throughput or round-trip time, like iperf3.  With --link, this process\n"
        "is one end (-s receives, -c sends); without it, jet creates a private LAN, runs both\n"
        "ends, prints the result and removes the LAN.\n\n"
        "  --proto raw        raw Jetstream frames (--proto rbs, --proto tcp: see\n"
        "                     jet perf --proto rbs --help, jet perf --proto tcp --help)\n"
        "  -s, --server       receive (serves sessions until interrupted; -1 for one)\n"
        "  -c, --client       send\n"
        "  --to STATION       the receiver's station (with -c)\n"
        "  --link LINK        a link name: lan:NAME (see jet lan --help), or any other the\n"
        "                     library opens (fault:.../lan:NAME, ...)\n"
        "  --station K        take station K (default: the first free one)\n"
        "  --chan C           control channel; data uses C+1.. (default 5201)\n"
        "  --frame BYTES      whole frame size, header and CRC included (default 9000, min 52)\n"
        "  -n FRAMES          send this many frames (or round trips with --pingpong)\n"
        "  -t SECONDS         send for this long (default 3 s when -n is not given)\n"
        "  -i SECONDS         print an interval line this often\n"
        "  --pingpong         measure round-trip time, one frame at a time\n"
        "  --json             print one JSON object with the result\n"
        "  -1, --one-off      receiver: serve one session, then exit\n"
        "An end whose peer's process ends (even by kill -9) says so and exits 1 within\n"
        "about 0.2 s; a peer that is alive but slow is waited for.\n\n"
        "receiver (channel policy):\n"
        "  --policy P         newest (tail drop, default), oldest (head drop) or backpressure\n"
        "  --queue N          receive queue limit in frames (default 256)\n"
        "  --reader-delay US  read one frame per US microseconds (a slow application)\n"
        "  --accept-bad-crc   deliver frames whose payload CRC failed, flagged\n"
        "  --place WHERE      read the perf header, place the rest: buffer, or file:PATH\n\n"
        "sender:\n"
        "  --channels N       spread the frames over N channels\n"
        "  --prio CLASS       transmit priority class 0..7 of the data\n"
        "  --reserve RATE     reserved rate of the data channel (token bucket), e.g. 100M\n"
        "  --latency          also send latency probes and report one-way latency per class\n"
        "  --probe-interval D probe every D (default 1ms)\n"
        "  --probe-frame B    probe frame size (default 1024)\n"
        "  --probe-prio CLASS probe priority class (default 7; 0 to compare without)\n\n"
        "private LAN options (no --link):\n%s\n"
        "output: a summary like iperf3's (sender and receiver lines; ping-pong: rtt\n"
        "min/mean/p50/p99/max); -i adds interval lines; on a terminal a long run shows a\n"
        "progress line; --json prints one object (docs/perf-json.md,\n"
        "docs/perf-json.schema.json).\n\n"
        "examples:\n%s"
        "  --proto rbs:\n%s"
        "  --proto tcp:\n%s",
        lan_options_help, raw_examples, perf_rbs_examples, perf_tcp_examples);
}

/* Options of --proto raw that mean nothing to --proto rbs. */
static bool raw_only(const char *a)
{
    static const char *const names[] = {
        "--latency", "--accept-bad-crc", "--policy",     "--queue",          "--reader-delay",
        "--place",   "--channels",       "--prio",       "--probe-prio",     "--reserve",
        "--frame",   "--probe-frame",    "--probe-interval"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(a, names[i]))
            return true;
    return false;
}

/* --proto tcp's own options (tcp_cli.h, and --to HOST, --port): how many
 * arguments it took, 0 if a is not one of them, -1 on a bad value. */
static int tcp_option(const char *a, const char *v, struct perf_opts *o)
{
    uint64_t u;
    if (!strcmp(a, "--to")) {
        if (!v || tcp_cli_host(v, &o->to_addr))
            return usage_error("perf", "bad --to '%s' (an IPv4 address, or a station number)",
                               v ? v : ""),
                   -1;
        o->to = 0;
        return 2;
    }
    if (!strcmp(a, "--port") || !strcmp(a, "-p")) {
        if (!v || jet_parse_u64(v, &u) || u == 0 || u > 65535)
            return usage_error("perf", "bad %s '%s' (1 to 65535)", a, v ? v : ""), -1;
        o->chan = (uint32_t)u;
        return 2;
    }
    if (!strcmp(a, "--chan"))
        return usage_error("perf", "--proto tcp takes --port P, not --chan"), -1;
    return tcp_cli_option("perf", a, v, &o->tcpo);
}

/* One parser for all protocols: -l is the frame size for raw and the
 * message size for rbs; -n counts frames for raw, bytes (or round trips
 * with --pingpong) for rbs. */
static int parse_args(int argc, char **argv, struct perf_opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--proto") && !strcmp(argv[i + 1], "rbs"))
            o->rbs = true;
        else if (!strcmp(argv[i], "--proto") && !strcmp(argv[i + 1], "tcp"))
            o->rbs = o->tcp = true; /* -l, -n and the rest as for rbs */
    o->tcpo.ip.station = -1;
    o->station = -1;
    o->chan = 5201;
    o->frame = 9000;
    o->to = UINT32_MAX;
    o->channels = 1;
    o->probe_interval_ns = 1000000;
    o->probe_frame = 1024;
    o->probe_prio = 7;
    jet_lan_config_default(&o->lan);
    const char *proto = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t u;
        double d;
        int t;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            (o->tcp ? perf_tcp_help : o->rbs ? perf_rbs_help : perf_help)(stdout);
            exit(0);
        } else if (o->rbs && raw_only(a)) {
            return usage_error("perf", "unknown option '%s' for --proto %s", a,
                               o->tcp ? "tcp" : "rbs");
        } else if (o->tcp && (t = tcp_option(a, v, o)) != 0) {
            if (t < 0)
                return 2;
            i += t - 1;
        } else if (!strcmp(a, "-s") || !strcmp(a, "--server")) {
            o->server = true;
        } else if (!strcmp(a, "-c") || !strcmp(a, "--client")) {
            o->client = true;
        } else if (!strcmp(a, "-1") || !strcmp(a, "--one-off")) {
            o->one_off = true;
        } else if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--pingpong")) {
            o->pingpong = true;
        } else if (o->rbs && !strcmp(a, "--nodelay")) {
            o->nodelay = true;
        } else if (!strcmp(a, "--latency")) {
            o->latency = true;
        } else if (!strcmp(a, "--accept-bad-crc")) {
            o->accept_bad_crc = true;
        } else if (!v && a[0] == '-') {
            return usage_error("perf", "%s: unknown option or missing value", a);
        } else if (!strcmp(a, "--proto")) {
            proto = v, i++;
        } else if (!strcmp(a, "--link")) {
            o->link = v, i++;
        } else if (!strcmp(a, "--station")) {
            if (jet_parse_u64(v, &u) || u >= JET_LAN_MAX_STATIONS)
                return usage_error("perf", "bad --station '%s'", v);
            o->station = (int)u, i++;
        } else if (!strcmp(a, "--to")) {
            if (jet_parse_u64(v, &u) || u >= JET_LAN_MAX_STATIONS)
                return usage_error("perf", "bad --to '%s'", v);
            o->to = (uint32_t)u, i++;
        } else if (!strcmp(a, "--chan")) {
            if (jet_parse_u64(v, &u) || u == 0 || u >= UINT32_MAX)
                return usage_error("perf", "bad --chan '%s' (channel 0 is reserved)", v);
            o->chan = (uint32_t)u, i++;
        } else if (!strcmp(a, "--policy")) {
            if (!strcmp(v, "newest"))
                o->policy = JET_DROP_NEWEST;
            else if (!strcmp(v, "oldest"))
                o->policy = JET_DROP_OLDEST;
            else if (!strcmp(v, "backpressure"))
                o->policy = JET_DROP_BACKPRESSURE;
            else
                return usage_error("perf", "--policy is newest, oldest or backpressure");
            i++;
        } else if (!strcmp(a, "--queue")) {
            if (jet_parse_u64(v, &u) || u == 0 || u > 1000000)
                return usage_error("perf", "bad --queue '%s'", v);
            o->queue = (uint32_t)u, i++;
        } else if (!strcmp(a, "--reader-delay")) {
            if (jet_parse_u64(v, &u) || u > 60000000)
                return usage_error("perf", "bad --reader-delay '%s' (microseconds)", v);
            o->reader_delay_ns = u * 1000, i++;
        } else if (!strcmp(a, "--place")) {
            if (!strcmp(v, "buffer"))
                o->place = PLACE_BUFFER;
            else if (!strncmp(v, "file:", 5) && v[5])
                o->place = PLACE_FILE, o->place_path = v + 5;
            else
                return usage_error("perf", "--place is buffer or file:PATH");
            i++;
        } else if (!strcmp(a, "--channels")) {
            if (jet_parse_u64(v, &u) || u == 0 || u > 1024)
                return usage_error("perf", "--channels must be 1 to 1024");
            o->channels = (uint32_t)u, i++;
        } else if (!strcmp(a, "--prio") || !strcmp(a, "--probe-prio")) {
            if (jet_parse_u64(v, &u) || u > 7)
                return usage_error("perf", "%s must be 0 to 7", a);
            *(a[2] == 'p' && a[3] == 'r' && a[4] == 'i' ? &o->prio : &o->probe_prio) = (uint8_t)u;
            i++;
        } else if (!strcmp(a, "--reserve")) {
            if (jet_parse_rate(v, &o->reserve_bps))
                return usage_error("perf", "bad --reserve '%s'", v);
            i++;
        } else if (!strcmp(a, "--probe-interval")) {
            if (jet_parse_duration(v, &o->probe_interval_ns) || o->probe_interval_ns < 1000)
                return usage_error("perf", "bad --probe-interval '%s'", v);
            i++;
        } else if (!strcmp(a, "--probe-frame")) {
            if (jet_parse_size(v, &u) || u < JET_FRAME_OVERHEAD + PH || u > 65536)
                return usage_error("perf", "bad --probe-frame '%s'", v);
            o->probe_frame = (uint32_t)u, i++;
        } else if (o->rbs && !strcmp(a, "-l")) {
            if (jet_parse_size(v, &u) || u == 0 || u > PERF_RBS_MAX_MSG)
                return usage_error("perf", "-l must be 1 byte to 64M");
            o->msg = (uint32_t)u, i++;
        } else if (o->rbs && !strcmp(a, "-n")) {
            if (jet_parse_size(v, &u) || u == 0)
                return usage_error("perf", "bad -n '%s'", v);
            o->bytes = o->count = u, i++;
        } else if (!strcmp(a, "--frame") || !strcmp(a, "-l")) {
            if (jet_parse_size(v, &u) || u < JET_FRAME_OVERHEAD + PH ||
                u > JET_LAN_MAX_MTU + JET_FRAME_OVERHEAD)
                return usage_error("perf", "--frame must be %d to %d bytes",
                                   JET_FRAME_OVERHEAD + PH, JET_LAN_MAX_MTU + JET_FRAME_OVERHEAD);
            o->frame = (uint32_t)u, i++;
        } else if (!strcmp(a, "-n")) {
            if (jet_parse_size(v, &u) || u == 0)
                return usage_error("perf", "bad -n '%s'", v);
            o->nframes = u, i++;
        } else if (!strcmp(a, "-t")) {
            if (jet_parse_duration(v, &u) || u == 0)
                return usage_error("perf", "bad -t '%s'", v);
            o->duration_ns = u, i++;
        } else if (!strcmp(a, "-i")) {
            if (jet_parse_duration(v, &u))
                return usage_error("perf", "bad -i '%s'", v);
            o->interval_ns = u, i++;
        } else {
            int r = lan_option("perf", a, v, &o->lan);
            if (r < 0)
                return 2;
            if (r == 0)
                return usage_error("perf", "unknown option '%s'", a);
            o->lan_given = true;
            if (!strcmp(a, "--mtu"))
                o->mtu_given = true;
            i++;
        }
        (void)d;
    }
    if (!proto || (strcmp(proto, "raw") && strcmp(proto, "rbs") && strcmp(proto, "tcp")))
        return usage_error("perf",
                           proto ? "protocol '%s' is not available (use --proto raw, rbs or tcp)"
                                 : "say which protocol: --proto raw, rbs or tcp%s",
                           proto ? proto : "");
    if (o->server && o->client)
        return usage_error("perf", "-s and -c exclude each other");
    if (o->link && !o->server && !o->client)
        return usage_error("perf", "with --link, say -s (receive) or -c (send)");
    if (!o->link && (o->server || o->client))
        return usage_error("perf", "-s and -c need --link LINK (lan:NAME, ...)");
    struct jet_link_name ln;
    struct jet_err lerr = {0};
    if (o->link && jet_link_name_parse(o->link, &ln, &lerr)) /* any kind; opening tells the rest */
        return usage_error("perf", "--link: %s", lerr.msg);
    if (o->client && o->to == UINT32_MAX)
        return usage_error("perf", o->tcp ? "-c needs --to HOST" : "-c needs --to STATION");
    if (!o->rbs && (uint64_t)o->chan + o->channels + 1 >= UINT32_MAX)
        return usage_error("perf", "--chan %u leaves no room for %u data channels and the probe "
                                   "channel above it",
                           o->chan, o->channels);
    if (o->link && o->lan_given)
        return usage_error("perf", "LAN options apply to the private LAN only; set them with "
                                   "jet lan create");
    /* --pingpong: -n round trips, or as many as -t allows, at most
     * PERF_PINGPONG_MAX (each one's time is kept for the percentiles). */
    uint64_t *rounds = o->rbs ? &o->count : &o->nframes;
    if (o->pingpong && *rounds > PERF_PINGPONG_MAX)
        return usage_error("perf", "--pingpong: -n is at most %llu round trips",
                           (unsigned long long)PERF_PINGPONG_MAX);
    if (o->pingpong && !*rounds)
        *rounds = o->duration_ns ? PERF_PINGPONG_MAX : 10000;
    if (o->rbs) {
        if (!o->msg)
            o->msg = o->pingpong ? 1 : 128 << 10;
        if (o->pingpong)
            o->bytes = 0;
        else
            o->count = 0;
        if (!o->pingpong && !o->bytes && !o->duration_ns)
            o->duration_ns = 3000000000ull;
        return 0;
    }
    if (!o->nframes && !o->duration_ns)
        o->duration_ns = 3000000000ull;
    return 0;
}

static int raw_end(const void *o, const char *link, int station, bool server)
{
    return perf_raw_end(o, link, station, server, server ? 0 : 1);
}

int cmd_perf(int argc, char **argv)
{
    struct perf_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    if (o.tcp)
        return perf_tcp_main(&o);
    if (o.rbs)
        return perf_rbs_main(&o);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (o.link)
        return perf_raw_end(&o, o.link, o.station, o.server, o.to);

    /* Private LAN (lan_option checked its shape): the MTU fits the frames. */
    uint32_t need = o.frame - JET_FRAME_OVERHEAD;
    if (o.latency && o.probe_frame - JET_FRAME_OVERHEAD > need)
        need = o.probe_frame - JET_FRAME_OVERHEAD;
    if (!o.mtu_given)
        o.lan.mtu = need < CTL_PAYLOAD ? CTL_PAYLOAD : need;
    else if (o.lan.mtu < need)
        return usage_error("perf", "--frame %u does not fit --mtu %u", o.frame, o.lan.mtu);
    char banner[128];
    snprintf(banner, sizeof banner, "%s, %u-byte frames",
             o.pingpong ? "ping-pong" : "one sender, one receiver", o.frame);
    struct perf_opts ro = o;
    ro.one_off = true;
    ro.interval_ns = 0;
    return perf_private(&o.lan, o.json ? NULL : banner, raw_end, &ro, &o);
}
