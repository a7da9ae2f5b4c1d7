/* jet perf --proto raw: a frame blaster, ping-pong and latency timer over
 * channels (include/jet/chan.h); see perf.h for the wire use.
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

volatile sig_atomic_t perf_stop;
static void on_signal(int sig)
{
    (void)sig;
    perf_stop = 1;
}

/* Big-endian fields, stored and loaded as whole words: the library reads
 * the header right after it is built (copying it into the frame), and a
 * load that spans several narrower stores is not forwarded from them; it
 * waits for every pending store, e.g. the whole previous payload. */
void put64(uint8_t *p, uint64_t v)
{
    v = __builtin_bswap64(v);
    memcpy(p, &v, 8);
}

uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}

void put_ph(uint8_t *p, uint8_t type, uint32_t session, uint64_t seq)
{
    put64(p, (uint64_t)type << 56 | (uint64_t)1 << 48 | session);
    put64(p + 8, seq);
}

uint32_t ph_session(const uint8_t *p)
{
    return (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
}

bool perf_peer_alive(struct jet_station *s, uint32_t peer)
{
    struct jet_link *l = jet_station_link(s);
    if (strncmp(l->name, "lan:", 4) != 0)
        return true;
    return jet_lan_station_alive(l, peer);
}

int perf_rtt_add(uint64_t **v, uint64_t *n, uint64_t *cap, uint64_t rtt)
{
    if (*n == *cap) {
        if (*cap >= PERF_PINGPONG_MAX)
            return -ENOMEM;
        uint64_t nc = *cap ? *cap * 2 : 65536;
        if (nc > PERF_PINGPONG_MAX)
            nc = PERF_PINGPONG_MAX;
        uint64_t *nv = realloc(*v, nc * sizeof *nv);
        if (!nv)
            return -ENOMEM;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = rtt;
    return 0;
}

int send_ctl(struct end *e, const uint8_t *msg)
{
    struct iovec iov = {(void *)msg, CTL_PAYLOAD};
    for (;;) {
        ssize_t rc = jet_chan_send(e->ctl, (uint16_t)e->peer, e->o->chan, &iov, 1);
        if (rc != -EAGAIN)
            return rc < 0 ? (int)rc : 0;
        if (perf_stop)
            return -EINTR;
        jet_station_poll(e->s);
    }
}

void print_interval(uint32_t frame, double t0, double t1, uint64_t frames)
{
    char b[32];
    double secs = t1 - t0;
    printf("[%6.2f-%6.2f s] %10llu frames  %s  %.3f Mpps\n", t0, t1, (unsigned long long)frames,
           fmt_rate(b, sizeof b, (double)frames * frame * 8 / secs), (double)frames / secs / 1e6);
    fflush(stdout);
}

void report(const struct perf_opts *o, const char *link, uint64_t sent, const struct result *r,
            const struct lat *lat, double seconds, const uint64_t *rtt, uint64_t nrtt)
{
    double gbps = seconds > 0 ? (double)r->bytes * 8 / seconds / 1e9 : 0;
    double mpps = seconds > 0 ? (double)r->delivered / seconds / 1e6 : 0;
    uint64_t arrived = r->delivered + r->dropped_crc + r->dropped_header + r->dropped_policy;
    uint64_t lost = sent > arrived ? sent - arrived : 0;
    double p50 = 0, p99 = 0;
    if (nrtt) {
        p50 = (double)rtt[nrtt / 2] / 1e3;
        p99 = (double)rtt[(nrtt * 99) / 100] / 1e3;
    }
    if (o->json) {
        struct json j;
        json_begin(&j, stdout);
        json_obj(&j, NULL);
        json_str(&j, "proto", "raw");
        json_str(&j, "link", link);
        json_u64(&j, "frame", o->frame);
        json_u64(&j, "frames_sent", sent);
        json_u64(&j, "frames_delivered", r->delivered);
        json_u64(&j, "bytes", r->bytes);
        json_dbl(&j, "seconds", seconds);
        json_dbl(&j, "gbps", gbps);
        json_dbl(&j, "mpps", mpps);
        json_u64(&j, "lost", lost);
        json_u64(&j, "duplicated", r->duplicated);
        json_u64(&j, "reordered", r->reordered);
        json_u64(&j, "dropped_policy", r->dropped_policy);
        json_u64(&j, "dropped_crc", r->dropped_crc);
        json_u64(&j, "crc_failed", r->dropped_crc);
        json_u64(&j, "dropped_header", r->dropped_header);
        json_u64(&j, "crc_bad_delivered", r->crc_bad_delivered);
        if (r->delivered > r->crc_bad_delivered && !o->pingpong) {
            json_u64(&j, "first_seq_delivered", r->first_seq);
            json_u64(&j, "last_seq_delivered", r->last_seq);
        }
        if (o->pingpong) {
            json_obj(&j, "rtt_us");
            json_dbl(&j, "p50", p50);
            json_dbl(&j, "p99", p99);
            json_dbl(&j, "min", nrtt ? (double)rtt[0] / 1e3 : 0);
            json_dbl(&j, "max", nrtt ? (double)rtt[nrtt - 1] / 1e3 : 0);
            json_end_obj(&j);
        }
        if (o->latency && lat) {
            json_u64(&j, "probes_delivered", r->probes);
            json_obj(&j, "lat_us");
            for (int c = 0; c < 8; c++) {
                if (!lat[c].count)
                    continue;
                char k[2] = {(char)('0' + c), 0};
                json_obj(&j, k);
                json_u64(&j, "count", lat[c].count);
                json_dbl(&j, "p50", (double)lat[c].p50 / 1e3);
                json_dbl(&j, "p99", (double)lat[c].p99 / 1e3);
                json_dbl(&j, "max", (double)lat[c].max / 1e3);
                json_end_obj(&j);
            }
            json_end_obj(&j);
        }
        json_end_obj(&j);
        json_finish(&j);
        return;
    }
    char b[32], c[32];
    printf("- - - - - - - - - - - - - - - - - - - - - - - - -\n");
    if (o->pingpong) {
        printf("%llu round trips of %u-byte frames over %s: rtt p50 %.2f us, p99 %.2f us\n",
               (unsigned long long)nrtt, o->frame, link, p50, p99);
        fflush(stdout);
        return;
    }
    printf("sent %llu frames of %u bytes over %s\n", (unsigned long long)sent, o->frame, link);
    printf("delivered %llu: lost %llu, duplicated %llu, reordered %llu, dropped by policy %llu, "
           "crc failed %llu (delivered flagged %llu), header damaged %llu\n",
           (unsigned long long)r->delivered, (unsigned long long)lost,
           (unsigned long long)r->duplicated, (unsigned long long)r->reordered,
           (unsigned long long)r->dropped_policy, (unsigned long long)r->dropped_crc,
           (unsigned long long)r->crc_bad_delivered, (unsigned long long)r->dropped_header);
    if (r->delivered > r->crc_bad_delivered)
        printf("sequence numbers delivered: %llu .. %llu\n", (unsigned long long)r->first_seq,
               (unsigned long long)r->last_seq);
    printf("%s in %.3f s = %s, %.3f Mpps\n", fmt_bytes(b, sizeof b, (double)r->bytes), seconds,
           fmt_rate(c, sizeof c, gbps * 1e9), mpps);
    if (o->latency && lat)
        for (int k = 0; k < 8; k++)
            if (lat[k].count)
                printf("one-way latency, class %d: p50 %.1f us, p99 %.1f us, max %.1f us "
                       "(%llu frames)\n",
                       k, (double)lat[k].p50 / 1e3, (double)lat[k].p99 / 1e3,
                       (double)lat[k].max / 1e3, (unsigned long long)lat[k].count);
    fflush(stdout);
}

/* ---- command line ---- */

static void perf_help(FILE *f)
{
    fprintf(
        f,
        "usage: jet perf --proto raw [-s | -c --to STATION] [--link lan:NAME [--station K]] "
        "[OPTIONS]\n\n"
        "Measures frame throughput or round-trip time, like iperf3.  With --link, this process\n"
        "is one end (-s receives, -c sends); without it, jet creates a private LAN, runs both\n"
        "ends, prints the result and removes the LAN.\n\n"
        "  --proto raw        raw Jetstream frames (--proto rbs: see jet perf --proto rbs --help)\n"
        "  -s, --server       receive (serves sessions until interrupted; -1 for one)\n"
        "  -c, --client       send\n"
        "  --to STATION       the receiver's station (with -c)\n"
        "  --link LINK        lan:NAME (see jet lan --help)\n"
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
        "private LAN options (no --link):\n%s",
        lan_options_help);
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

/* One parser for both protocols: -l is the frame size for raw and the
 * message size for rbs; -n counts frames for raw, bytes (or round trips
 * with --pingpong) for rbs. */
static int parse_args(int argc, char **argv, struct perf_opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--proto") && !strcmp(argv[i + 1], "rbs"))
            o->rbs = true;
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
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            (o->rbs ? perf_rbs_help : perf_help)(stdout);
            exit(0);
        } else if (o->rbs && raw_only(a)) {
            return usage_error("perf", "unknown option '%s' for --proto rbs", a);
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
    if (!proto || (strcmp(proto, "raw") && strcmp(proto, "rbs")))
        return usage_error("perf",
                           proto ? "protocol '%s' is not available (use --proto raw or rbs)"
                                 : "say which protocol: --proto raw or --proto rbs%s",
                           proto ? proto : "");
    if (o->server && o->client)
        return usage_error("perf", "-s and -c exclude each other");
    if (o->link && !o->server && !o->client)
        return usage_error("perf", "with --link, say -s (receive) or -c (send)");
    if (!o->link && (o->server || o->client))
        return usage_error("perf", "-s and -c need --link lan:NAME");
    if (o->client && o->to == UINT32_MAX)
        return usage_error("perf", "-c needs --to STATION");
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

static int run_end(const struct perf_opts *o, const char *link, int station, bool server,
                   uint32_t peer)
{
    struct jet_err err = {0};
    struct jet_station *st;
    int rc = jet_station_open(link, station, &st, &err);
    if (rc)
        return die("%s", jet_err_str(&err, rc));
    struct jet_link *l = jet_station_link(st);
    if (!server && (o->frame - JET_FRAME_OVERHEAD > l->caps.mtu ||
                    (o->latency && o->probe_frame - JET_FRAME_OVERHEAD > l->caps.mtu))) {
        uint32_t mtu = l->caps.mtu;
        jet_station_close(st);
        return die("--frame %u needs a payload of %u bytes; %s carries at most %u", o->frame,
                   o->frame - JET_FRAME_OVERHEAD, link, mtu);
    }
    if (l->caps.mtu < CTL_PAYLOAD) {
        jet_station_close(st);
        return die("%s: jet perf needs an MTU of at least %d bytes", link, CTL_PAYLOAD);
    }
    struct jet_chan_policy cp = {.queue_frames = 64};
    struct jet_chan *ctl;
    if (jet_chan_open(st, o->chan, &cp, &ctl)) {
        rc = die("%s", jet_station_error(st));
        jet_station_close(st);
        return rc;
    }
    if (o->pingpong) {
        jet_station_busy_poll(st, true);
        jet_station_timestamps(st, false); /* round trips are timed by the client */
    }
    struct end e = {.s = st, .ctl = ctl, .me = jet_station_addr(st), .peer = peer, .o = o};
    rc = server ? run_server(&e) : run_client(&e);
    jet_station_close(st);
    return rc;
}

static int raw_end(const void *o, const char *link, int station, bool server)
{
    return run_end(o, link, station, server, server ? 0 : 1);
}

static pid_t children[2];
static void forward_signal(int sig)
{
    for (int i = 0; i < 2; i++)
        if (children[i] > 0)
            kill(children[i], sig);
}

int cmd_perf(int argc, char **argv)
{
    struct perf_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    if (o.rbs)
        return perf_rbs_main(&o);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (o.link)
        return run_end(&o, o.link, o.station, o.server, o.to);

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

int perf_private(const struct jet_lan_config *lan, const char *banner, perf_end_fn end,
                 const void *rx_opts, const void *tx_opts)
{
    char name[64], link[80];
    snprintf(name, sizeof name, "perf-%d", (int)getpid());
    snprintf(link, sizeof link, "lan:%s", name);
    struct jet_err err = {0};
    int rc = jet_lan_create(name, lan, &err);
    if (rc)
        return die("%s", jet_err_str(&err, rc));
    if (banner)
        printf("jet perf: private LAN %s, %s\n", link, banner);
    fflush(stdout);
    children[0] = fork();
    if (children[0] == 0)
        _exit(end(rx_opts, link, 1, true));
    children[1] = fork();
    if (children[1] == 0)
        _exit(end(tx_opts, link, 0, false));
    struct sigaction fw = {.sa_handler = forward_signal};
    sigaction(SIGINT, &fw, NULL);
    sigaction(SIGTERM, &fw, NULL);
    int st = 0, ret;
    /* The sender decides; the receiver follows within a few seconds or is stopped. */
    while (waitpid(children[1], &st, 0) < 0 && errno == EINTR)
        ;
    ret = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
    children[1] = 0;
    /* A sender that failed never ends its session: stop the receiver now. */
    if (ret != 0)
        kill(children[0], SIGTERM);
    uint64_t until = jet_now_ns() + 4000000000ull;
    int rst = 0;
    for (;;) {
        pid_t p = waitpid(children[0], &rst, WNOHANG);
        if (p == children[0])
            break;
        if (jet_now_ns() > until) {
            kill(children[0], SIGKILL);
            waitpid(children[0], &rst, 0);
            break;
        }
        usleep(10000);
    }
    children[0] = 0;
    if (ret == 0 && !(WIFEXITED(rst) && WEXITSTATUS(rst) == 0))
        ret = 1;
    jet_lan_destroy(name, true, NULL);
    return ret;
}
