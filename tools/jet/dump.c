/* jet dump: watch a link's frames, like tcpdump (docs/capture.md).
 *
 * Opens LINK as a monitor (JET_LINK_MONITOR: on a LAN every station's
 * frames, without being a station the others address), wraps it in the
 * capture wrapper (jet_capture_wrap) with this file's callback, and receives
 * until COUNT frames were kept or SIGINT/SIGTERM.  The callback filters
 * (--chan, --station: dump_print.h) and then prints one line per frame
 * (dump_print.c) or, with -w, adds the frame to a pcapng file
 * (capture_link.h: the file the wrapper writes for `capture:PATH/INNER`;
 * written here rather than by the wrapper so that the filters and -c
 * decide what the file holds, frame by frame).  -r FILE prints a pcapng
 * file instead (one this command or `capture:` wrote, or any other with
 * Ethernet or USER0 interfaces).
 *
 * The file is complete (every kept frame, whole blocks) when jet dump ends
 * by -c or a signal; it is written at least every 200 ms and whenever the
 * link is idle for 10 ms, so a killed jet dump leaves a readable file with
 * all but the last moments. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "dump_print.h"
#include "jet/frame.h"
#include "jet/capture.h"
#include "link/capture_link.h"
#include "util/parse.h"

static volatile sig_atomic_t dump_stop;

static void on_signal(int sig)
{
    (void)sig;
    dump_stop = 1;
}

static void dump_help(FILE *f)
{
    fprintf(
        f,
        "usage: jet dump LINK [-w FILE.pcapng] [-c COUNT] [--chan C] [--station S]\n"
        "                [--snaplen N] [--json]\n"
        "       jet dump -r FILE.pcapng [-c COUNT] [--chan C] [--station S] [--json]\n\n"
        "Shows the frames on LINK, one line per frame as tcpdump does, or writes them to a\n"
        "pcapng file (Wireshark, tshark: tools/wireshark/ has the Jetstream dissector).\n"
        "LINK is opened as a monitor: on a LAN (lan:NAME) every station's frames, without\n"
        "taking a station; on packet:IF every frame on the interface.  Links that cannot\n"
        "watch their medium say so (wrap a station's own link in capture:FILE/LINK instead).\n"
        "Runs until COUNT frames or SIGINT/SIGTERM; the file is then complete.\n\n"
        "options:\n"
        "  -w FILE         write the frames to FILE (pcapng, nanosecond timestamps; an\n"
        "                  interface per encapsulation: Ethernet, and USER0 (147) for native\n"
        "                  Jetstream frames)\n"
        "  -r FILE         print the frames of a pcapng file instead of a link\n"
        "  -c COUNT        stop after COUNT frames (those the filters keep)\n"
        "  --chan C        only native frames from or to channel C\n"
        "  --station S     only frames from or to station S (native frames; on a LAN also\n"
        "                  Ethernet frames from or to the station's MAC)\n"
        "  --snaplen N     keep at most N bytes of each frame (default: whole frames); the\n"
        "                  frame's length is kept\n"
        "  --json          one JSON object per frame instead of a line: ts_ns, dir, encap,\n"
        "                  len, caplen, the stations and channels of a native frame,\n"
        "                  summary (the line without its time)\n"
        "  --help          this text\n\n"
        "lines:\n"
        "  TIME JET SRC.CHAN > DST.CHAN, flags [CRC], prio P, length L: RBS Flags [S.], seq,\n"
        "       ack, win, length (native frames; DST bcast for broadcast)\n"
        "  TIME IP A.PORT > B.PORT: Flags [P.], seq, ack, win, length (TCP over Ethernet)\n"
        "  and ARP, ICMP, UDP briefly; a frame cut by the snap length ends in [|what].\n\n"
        "examples:\n"
        "  jet dump lan:lab                          every frame on LAN lab\n"
        "  jet dump lan:lab -w /tmp/lab.pcapng       to a file; then: wireshark /tmp/lab.pcapng\n"
        "  jet dump lan:lab --station 1 --chan 5201 -c 10\n"
        "  jet dump -r /tmp/lab.pcapng --chan 5202   print a file, one channel\n"
        "  jet perf --proto rbs --link capture:/tmp/s.pcapng/lan:lab ...\n"
        "                                            one station's own frames, in and out\n");
}

/* One frame on stdout: its line, or with json its JSON object. */
static void print_frame(char *line, size_t cap, const struct jet_capture_rec *r, bool show_dir,
                        bool json)
{
    if (!json) {
        size_t n = dump_line(line, cap, r, show_dir);
        line[n] = '\n';
        fwrite(line, 1, n + 1, stdout);
        return;
    }
    dump_line(line, cap, r, false);
    struct json j;
    json_begin(&j, stdout);
    json_obj(&j, NULL);
    json_u64(&j, "ts_ns", r->ts_ns);
    if (show_dir && r->dir)
        json_str(&j, "dir", r->dir == JET_CAPTURE_OUT ? "out" : "in");
    json_str(&j, "encap", r->encap == JET_ENCAP_ETH ? "ethernet" : "native");
    json_u64(&j, "len", r->len);
    json_u64(&j, "caplen", r->caplen);
    struct dump_native n;
    if (dump_native_of(r, &n)) {
        json_u64(&j, "src_station", n.src);
        json_u64(&j, "src_chan", n.src_chan);
        json_u64(&j, "dst_station", n.dst);
        json_u64(&j, "dst_chan", n.dst_chan);
        json_u64(&j, "prio", n.flags >> 2 & 7);
        json_bool(&j, "crc", n.flags & 1);
    }
    if (r->refused)
        json_bool(&j, "refused", true);
    json_str(&j, "summary", line + 19); /* after HH:MM:SS.nnnnnnnnn and a space */
    json_end_obj(&j);
    json_finish(&j);
}

struct dump {
    bool json;
    struct dump_filter filt;
    uint64_t count; /* 0: no limit */
    uint64_t kept, skipped;
    bool monitor; /* directions not shown: a monitor sees every station's frames */
    bool file;
    struct capture_file cf;
    char line[DUMP_LINE_MAX];
};

/* The capture wrapper's callback, once per frame. */
static void on_frame(void *arg, const struct jet_capture_rec *r)
{
    struct dump *d = arg;
    if (d->count && d->kept >= d->count)
        return; /* the rest of the last burst */
    if (!dump_match(&d->filt, r)) {
        d->skipped++;
        return;
    }
    d->kept++;
    if (d->file) {
        struct jet_capture_rec rr = *r;
        if (d->monitor)
            rr.dir = 0; /* not known: every station's frames */
        capture_file_add(&d->cf, &rr, rr.refused ? "not sent: the link refused it" : NULL);
        return;
    }
    print_frame(d->line, sizeof d->line, r, !d->monitor, d->json);
}

struct args {
    bool json;
    const char *link, *wfile, *rfile;
    uint64_t count;
    uint32_t snaplen;
    struct dump_filter filt;
};

static int parse(int argc, char **argv, struct args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *val = NULL;
        const char *eq = strncmp(o, "--", 2) == 0 ? strchr(o, '=') : NULL;
        char opt[32];
        if (eq) {
            snprintf(opt, sizeof opt, "%.*s", (int)(eq - o), o);
            o = opt;
            val = eq + 1;
        }
        bool takes = !strcmp(o, "-w") || !strcmp(o, "-r") || !strcmp(o, "-c") ||
                     !strcmp(o, "--chan") || !strcmp(o, "--station") || !strcmp(o, "--snaplen");
        if (takes && !val) {
            if (i + 1 >= argc)
                return usage_error("dump", "%s needs a value", o);
            val = argv[++i];
        }
        uint64_t u = 0;
        bool num = takes && strcmp(o, "-w") && strcmp(o, "-r");
        if (num && jet_parse_u64(val, &u))
            return usage_error("dump", "bad value '%s' for %s (a whole number)", val, o);
        if (!strcmp(o, "--json")) {
            a->json = true;
        } else if (!strcmp(o, "-w")) {
            a->wfile = val;
        } else if (!strcmp(o, "-r")) {
            a->rfile = val;
        } else if (!strcmp(o, "-c")) {
            if (!u)
                return usage_error("dump", "-c wants at least 1");
            a->count = u;
        } else if (!strcmp(o, "--chan")) {
            if (u > UINT32_MAX)
                return usage_error("dump", "--chan %s: channels are 32-bit", val);
            a->filt.has_chan = true;
            a->filt.chan = (uint32_t)u;
        } else if (!strcmp(o, "--station")) {
            if (u >= JET_STATION_BROADCAST)
                return usage_error("dump", "--station %s: stations are 0..65534", val);
            a->filt.has_station = true;
            a->filt.station = (uint32_t)u;
        } else if (!strcmp(o, "--snaplen")) {
            if (u < 1 || u > PCAPNG_SNAP_MAX)
                return usage_error("dump", "--snaplen %s: 1..%u bytes", val, PCAPNG_SNAP_MAX);
            a->snaplen = (uint32_t)u;
        } else if (o[0] == '-') {
            return usage_error("dump", "unknown option '%s'", argv[i]);
        } else if (a->link) {
            return usage_error("dump", "one link only ('%s' and '%s')", a->link, o);
        } else {
            a->link = o;
        }
    }
    if (!a->link == !a->rfile)
        return usage_error("dump", a->rfile ? "-r reads a file: no LINK with it"
                                            : "which link? (e.g. jet dump lan:NAME)");
    if (a->json && a->wfile)
        return usage_error("dump", "--json prints frames: not with -w");
    if (a->rfile && (a->wfile || a->snaplen))
        return usage_error("dump", "-r prints a file: no -w or --snaplen with it");
    return 0;
}

/* ---- jet dump -r FILE ---- */

static int read_file(const struct args *a)
{
    FILE *f = fopen(a->rfile, "rb");
    if (!f)
        return die("%s: %s", a->rfile, strerror(errno));
    struct dump_pcapng st = {0};
    uint8_t *b = NULL;
    size_t cap = 0;
    uint64_t kept = 0, n_blocks = 0;
    char line[DUMP_LINE_MAX];
    int rc = 0;
    for (;;) {
        uint8_t h[8];
        size_t got = fread(h, 1, 8, f);
        if (got == 0)
            break;
        uint32_t n =
            (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 24;
        if (got < 8 || n < 12 || n > DUMP_BLOCK_MAX || n % 4) {
            rc = die("%s: block %llu: %s", a->rfile, (unsigned long long)n_blocks,
                     got < 8 ? "cut short" : "a block's length is wrong");
            break;
        }
        if (n > cap) {
            uint8_t *nb = realloc(b, n);
            if (!nb) {
                rc = die("out of memory");
                break;
            }
            b = nb;
            cap = n;
        }
        memcpy(b, h, 8);
        if (fread(b + 8, 1, n - 8, f) != n - 8) {
            /* a capture cut off by a killed writer ends with whole blocks;
             * anything else is damage */
            rc = die("%s: block %llu cut short", a->rfile, (unsigned long long)n_blocks);
            break;
        }
        n_blocks++;
        struct jet_capture_rec r;
        const char *why = NULL;
        int k = dump_pcapng_block(&st, b, n, &r, &why);
        if (k < 0) {
            rc = die("%s: block %llu: %s", a->rfile, (unsigned long long)n_blocks - 1, why);
            break;
        }
        if (k == 0 || !dump_match(&a->filt, &r))
            continue;
        print_frame(line, sizeof line, &r, r.dir != 0, a->json);
        if (a->count && ++kept >= a->count)
            break;
    }
    free(b);
    fclose(f);
    return rc;
}

/* ---- jet dump LINK ---- */

int cmd_dump(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            dump_help(stdout);
            return 0;
        }
    struct args a = {0};
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc;
    if (a.rfile)
        return read_file(&a);

    struct jet_err err = {0};
    struct jet_link_name ln;
    if (jet_link_name_parse(a.link, &ln, &err))
        return die("%s", err.msg);
    struct jet_link_opts lo = {.station = -1, .flags = JET_LINK_MONITOR};
    struct jet_link *inner, *l;
    rc = jet_link_open(a.link, &lo, &inner, &err);
    if (rc && strstr(err.msg, a.link))
        return die("%s", err.msg); /* it names the link already */
    if (rc)
        return die("%s: %s", a.link, err.msg);
    static struct dump d; /* the line buffer and the file: not on the stack */
    d = (struct dump){.json = a.json, .filt = a.filt, .count = a.count, .monitor = true};
    if (d.filt.has_station && ln.kind == JET_LINK_LAN && inner->ops->kind &&
        !strcmp(inner->ops->kind, "lan")) {
        jet_lan_station_mac(inner, d.filt.station, d.filt.mac);
        d.filt.has_mac = true;
    }
    if (a.snaplen) /* a LAN's stations then copy no more (-EINVAL: not a LAN monitor) */
        jet_lan_monitor_snaplen(inner, a.snaplen);
    struct jet_link_caps caps = inner->caps;
    char name[sizeof inner->name];
    snprintf(name, sizeof name, "%s", inner->name);
    struct jet_capture_opts co = {.fn = on_frame, .arg = &d, .snaplen = a.snaplen};
    rc = jet_capture_wrap(inner, &co, &l, &err); /* inner is the wrapper's now */
    if (rc)
        return die("%s", err.msg);
    if (a.wfile) {
        rc = capture_file_open(&d.cf, a.wfile, name, &caps, a.snaplen, &err);
        if (rc) {
            jet_link_close(l);
            return strstr(err.msg, a.wfile) ? die("%s", err.msg) : die("%s: %s", a.wfile, err.msg);
        }
        d.file = true;
    }

    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: wait returns */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (!a.wfile)
        fprintf(stderr, "jet dump: listening on %s%s\n", a.link,
                a.count ? "" : " (SIGINT to stop)");
    else
        fprintf(stderr, "jet dump: writing %s from %s\n", a.wfile, a.link);

    enum { BURST = 64 };
    struct jet_frame f[BURST];
    bool can_wait = true;
    while (!dump_stop && !(d.count && d.kept >= d.count)) {
        if (d.file && d.cf.err.code)
            break; /* the file cannot be written: stop (reported below) */
        int n = jet_link_rx_burst(l, f, BURST);
        if (n < 0) {
            rc = die("%s: %s", a.link, jet_link_error(l));
            break;
        }
        if (n > 0) {
            jet_link_rx_release(l, f, (unsigned)n);
            continue;
        }
        fflush(stdout);
        if (d.file)
            capture_file_flush(&d.cf, capture_now(), CAPTURE_IDLE_FLUSH_NS);
        int w = can_wait ? jet_link_wait(l, 100000000) : -EOPNOTSUPP;
        if (w == -EOPNOTSUPP) {
            can_wait = false;
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
        } else if (w < 0 && w != -EINTR && w != -ETIMEDOUT) {
            rc = die("%s: %s", a.link, jet_link_error(l));
            break;
        }
    }
    fflush(stdout);
    struct jet_link_stats ls;
    bool has_stats = jet_link_stats(l, &ls) == 0;
    jet_link_close(l);
    if (d.file && capture_file_close(&d.cf, &err))
        rc = die("%s: %s (%llu frames not written)", a.wfile, err.msg,
                 (unsigned long long)(d.cf.failed + d.cf.w.epb_lost));
    fprintf(stderr, "jet dump: %llu frames kept%s", (unsigned long long)d.kept,
            d.file ? " (written)" : "");
    if (d.skipped)
        fprintf(stderr, ", %llu filtered out", (unsigned long long)d.skipped);
    if (has_stats)
        fprintf(stderr, ", %llu dropped by the monitor", (unsigned long long)ls.rx_dropped);
    fputc('\n', stderr);
    return rc;
}
