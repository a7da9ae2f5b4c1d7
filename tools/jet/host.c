/* jet host: the stack as an IPv4 host (include/jet/ip.h, include/jet/udp.h).
 *
 *   jet host --link LINK --ip ADDR/PLEN [--gw ADDR] [--mac MAC] [--services LIST]
 *
 * Opens a station on LINK (lan:NAME, tap:IF, loop: is in-process only), gives
 * it IPv4 (jet_ip_attach: it answers ARP and ping from then on) and serves the
 * UDP services named (echo 7, discard 9, daytime 13), each on a socket of its
 * own, and the TCP services named (echo, discard, daytime, chargen 19, http 80,
 * iperf3 5201: host_tcp.c, host_http.c, docs/host-services.md).  It prints its
 * address, MAC and services, one line each, then runs one loop until SIGINT or
 * SIGTERM:
 *   1. poll the station once (the IPv4 hook answers ARP and ICMP there, TCP's
 *      hook moves every connection's segments and timers);
 *   2. serve every datagram each service's socket has (jet_udp_pending, then
 *      jet_udp_recvfrom without waiting);
 *   3. accept and serve the TCP connections, without waiting (tcp_svc_run);
 *   4. when none had anything, sleep in jet_station_wait, at most 100 ms and
 *      no later than the TCP services' own next deadline (it wakes for frames,
 *      link room and the protocols' timers), so a signal is seen soon.
 * Then it closes the TCP connections (a second for the peers to take what was
 * sent), the sockets and the station, prints what it did and exits 0.
 *
 * The option parsing and station setup here are shared with jet ping (ping.c,
 * through cli.h). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "host_svc.h"
#include "jet/ip.h"
#include "jet/tcp.h"
#include "jet/udp.h"
#include "util/parse.h"

#define NAP_NS   100000000ll /* longest sleep: a signal is seen this soon */
#define REPLY_NS 100000000ll /* how long a reply may wait for the link */
#define LINGER_NS 1000000000ll /* at exit: for TCP peers to take what was sent */

/* ---- options shared with jet ping ---- */

const char ip_options_help[] =
    "  --link LINK       lan:NAME or tap:IF (any link that carries Ethernet)\n"
    "  --ip ADDR/PLEN    the station's IPv4 address and prefix, e.g. 198.18.5.2/24\n"
    "  --gw ADDR         default gateway, inside the prefix (default: none)\n"
    "  --mac MAC         the station's MAC (default: the link's own)\n"
    "  --station K       lan: take station K (default: the first free one)\n";

static int parse_mac(const char *s, uint8_t m[6])
{
    unsigned v[6];
    char end;
    if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end) != 6)
        return -EINVAL;
    for (int i = 0; i < 6; i++) {
        if (v[i] > 255)
            return -EINVAL;
        m[i] = (uint8_t)v[i];
    }
    return 0;
}

int ip_option(const char *cmd, const char *opt, const char *arg, struct host_ip_opts *o)
{
    uint64_t u;
    if (strcmp(opt, "--link") && strcmp(opt, "--ip") && strcmp(opt, "--gw") &&
        strcmp(opt, "--mac") && strcmp(opt, "--station"))
        return 0;
    if (!arg) {
        usage_error(cmd, "%s needs a value", opt);
        return -1;
    }
    if (!strcmp(opt, "--link")) {
        o->link = arg;
    } else if (!strcmp(opt, "--ip")) {
        if (jet_ip_parse(arg, &o->cfg.addr, &o->cfg.plen)) {
            usage_error(cmd, "bad --ip '%s' (ADDR/PLEN, e.g. 198.18.5.2/24)", arg);
            return -1;
        }
        o->has_ip = true;
    } else if (!strcmp(opt, "--gw")) {
        if (jet_ip_parse(arg, &o->cfg.gw, NULL)) {
            usage_error(cmd, "bad --gw '%s' (an address, e.g. 198.18.5.1)", arg);
            return -1;
        }
    } else if (!strcmp(opt, "--mac")) {
        if (parse_mac(arg, o->cfg.mac)) {
            usage_error(cmd, "bad --mac '%s' (six hex bytes, e.g. 02:00:00:00:00:01)", arg);
            return -1;
        }
        o->cfg.has_mac = true;
    } else {
        if (jet_parse_u64(arg, &u) || u >= 65535) {
            usage_error(cmd, "bad --station '%s'", arg);
            return -1;
        }
        o->station = (int)u;
    }
    return 1;
}

int ip_station_open(const char *cmd, const struct host_ip_opts *o, struct jet_station **out)
{
    *out = NULL;
    if (!o->link)
        return usage_error(cmd, "say which link: --link lan:NAME or --link tap:IF");
    if (!o->has_ip)
        return usage_error(cmd, "say which address: --ip ADDR/PLEN");
    struct jet_err err = {0};
    struct jet_station *s;
    int rc = jet_station_open(o->link, o->station, &s, &err);
    if (rc)
        return die("cannot open %s: %s", o->link, jet_err_str(&err, rc));
    rc = jet_ip_attach(s, &o->cfg);
    if (rc) {
        const char *why = jet_station_error(s);
        die("cannot attach IPv4 to %s: %s", o->link, why[0] ? why : strerror(-rc));
        jet_station_close(s);
        return 1;
    }
    *out = s;
    return 0;
}

const char *fmt_mac(const uint8_t m[6], char *b)
{
    snprintf(b, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return b;
}

/* ---- services ---- */

enum { SVC_ECHO, SVC_DISCARD, SVC_DAYTIME, SVC_N };

static const struct {
    const char *name;
    uint16_t port;
} svc_def[SVC_N] = {
    [SVC_ECHO] = {"echo", 7},
    [SVC_DISCARD] = {"discard", 9},
    [SVC_DAYTIME] = {"daytime", 13},
};

struct host {
    struct jet_station *s;
    struct jet_udp *u[SVC_N]; /* NULL: not served */
    uint64_t served[SVC_N];   /* datagrams answered (or discarded) */
    uint64_t send_fail;       /* replies the link or ARP did not take */
    uint8_t *buf;
    struct tcp_svc *tcp;      /* NULL: no TCP service */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* "echo,http" -> want[] (UDP) and tcp[]: echo, discard and daytime are served on
 * both, chargen, http and iperf3 on TCP; "all" is every one.  0 or -1 (message
 * printed). */
static int parse_services(const char *list, bool want[SVC_N], bool tcp[TSVC_N])
{
    memset(want, 0, SVC_N * sizeof *want);
    memset(tcp, 0, TSVC_N * sizeof *tcp);
    if (!strcmp(list, "none") || !list[0])
        return 0;
    if (strlen(list) > 255) {
        usage_error("host", "--services: list too long");
        return -1;
    }
    char b[256];
    snprintf(b, sizeof b, "%s", list);
    for (char *save = NULL, *t = strtok_r(b, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        bool all = !strcmp(t, "all"), found = all;
        for (int i = 0; i < SVC_N; i++)
            if (all || !strcmp(t, svc_def[i].name))
                want[i] = found = true;
        for (int i = 0; i < TSVC_N; i++)
            if (all || !strcmp(t, tsvc_def[i].name))
                tcp[i] = found = true;
        if (!found) {
            usage_error("host",
                        "unknown service '%s' (echo, discard, daytime, chargen, http, iperf3, "
                        "all, or none)",
                        t);
            return -1;
        }
    }
    return 0;
}

/* Answers one datagram on service k's socket.  1 if one was there, 0 if not. */
static int serve_one(struct host *h, int k)
{
    struct jet_udp *u = h->u[k];
    uint32_t a;
    uint16_t p;
    ssize_t n = jet_udp_recvfrom(u, h->buf, 65536, &a, &p, 0);
    if (n < 0)
        return 0; /* none, or an error about a datagram: nothing to answer */
    h->served[k]++;
    ssize_t w = 0;
    if (k == SVC_ECHO) {
        w = jet_udp_sendto(u, h->buf, (size_t)n, a, p, REPLY_NS);
    } else if (k == SVC_DAYTIME) { /* RFC 867: the format is free; this is ctime's, + CRLF */
        time_t t = time(NULL);
        struct tm tm;
        char d[64];
        size_t len = strftime(d, sizeof d - 2, "%a %b %e %H:%M:%S %Y", localtime_r(&t, &tm));
        memcpy(d + len, "\r\n", 2);
        w = jet_udp_sendto(u, d, len + 2, a, p, REPLY_NS);
    }
    if (w < 0)
        h->send_fail++;
    return 1;
}

static int serve(struct host *h)
{
    int did = 0;
    for (int k = 0; k < SVC_N; k++)
        if (h->u[k])
            for (int budget = 256; budget-- && jet_udp_pending(h->u[k]);)
                did |= serve_one(h, k);
    return did;
}

static void host_help(FILE *f)
{
    fprintf(
        f,
        "usage: jet host --link LINK --ip ADDR/PLEN [--gw ADDR] [--mac MAC]\n"
        "                [--services LIST] [--station K] [--json]\n\n"
        "Runs the stack as an IPv4 host on LINK: it answers ARP and ping (ICMP echo, up to\n"
        "64 KiB, fragmented and reassembled), sends port unreachable for closed UDP ports,\n"
        "resets TCP connections to closed ports, and serves the services named.  It prints\n"
        "its address, MAC and services, one line each, and runs until SIGINT or SIGTERM;\n"
        "then it says what it did and exits 0.\n\n"
        "%s"
        "  --services LIST   comma-separated (default: echo,discard,daytime):\n"
        "                      echo     UDP and TCP 7 (RFC 862)\n"
        "                      discard  UDP and TCP 9 (RFC 863)\n"
        "                      daytime  UDP and TCP 13 (RFC 867)\n"
        "                      chargen  TCP 19 (RFC 864)\n"
        "                      http     TCP 80: the host's counters, HTML at /, JSON at\n"
        "                               /stats.json\n"
        "                      iperf3   TCP 5201: an iperf3 server (iperf3 -c, -R, -P, -J)\n"
        "                    all: every one; none: no service\n"
        "  --json            the start lines and the final counters as JSON objects, one\n"
        "                    per line\n\n"
        "Example: jet lan create office; jet host --link lan:office --ip 198.18.0.2/24\n"
        "         jet ping --link lan:office --ip 198.18.0.3/24 198.18.0.2\n"
        "Exit status: 0 stopped by a signal, 1 setup failure (reason on stderr), 2 usage.\n",
        ip_options_help);
}

static void print_start(const struct host *h, const struct host_ip_opts *o, bool json)
{
    struct jet_ip_cfg c;
    jet_ip_config(h->s, &c);
    char a[16], g[16], m[18];
    jet_ip_format(c.addr, a);
    jet_ip_format(c.gw, g);
    fmt_mac(c.mac, m);
    if (json) {
        struct json j;
        json_begin(&j, stdout);
        json_obj(&j, NULL);
        json_str(&j, "link", o->link);
        json_str(&j, "addr", a);
        json_u64(&j, "plen", c.plen);
        if (c.gw)
            json_str(&j, "gw", g);
        json_str(&j, "mac", m);
        json_arr(&j, "services");
        for (int k = 0; k < SVC_N; k++)
            if (h->u[k]) {
                json_obj(&j, NULL);
                json_str(&j, "name", svc_def[k].name);
                json_str(&j, "proto", "udp");
                json_u64(&j, "port", svc_def[k].port);
                json_end_obj(&j);
            }
        for (int k = 0; k < TSVC_N; k++)
            if (h->tcp && h->tcp->on[k]) {
                json_obj(&j, NULL);
                json_str(&j, "name", tsvc_def[k].name);
                json_str(&j, "proto", "tcp");
                json_u64(&j, "port", tsvc_def[k].port);
                json_end_obj(&j);
            }
        json_end_arr(&j);
        json_end_obj(&j);
        json_finish(&j);
    } else {
        printf("address %s/%u%s%s on %s\n", a, c.plen, c.gw ? " gateway " : "", c.gw ? g : "",
               o->link);
        printf("mac %s\n", m);
        printf("services");
        int n = 0;
        for (int k = 0; k < SVC_N; k++)
            if (h->u[k])
                printf("%s %s udp/%u", n++ ? "," : "", svc_def[k].name, svc_def[k].port);
        for (int k = 0; k < TSVC_N; k++)
            if (h->tcp && h->tcp->on[k])
                printf("%s %s tcp/%u", n++ ? "," : "", tsvc_def[k].name, tsvc_def[k].port);
        printf("%s\n", n ? "" : " none");
    }
    fflush(stdout);
}

static void print_end(const struct host *h, bool json)
{
    struct jet_ip_stats st;
    jet_ip_stats(h->s, &st);
    if (json) {
        struct json j;
        json_begin(&j, stdout);
        json_obj(&j, NULL);
        json_obj(&j, "served");
        for (int k = 0; k < SVC_N; k++)
            if (h->u[k])
                json_u64(&j, svc_def[k].name, h->served[k]);
        json_end_obj(&j);
        json_u64(&j, "reply_failures", h->send_fail);
        json_u64(&j, "arp_in", st.arp_in);
        json_u64(&j, "arp_replies_out", st.arp_replies_out);
        json_u64(&j, "ip_in", st.ip_in);
        json_u64(&j, "ip_out", st.ip_out);
        json_u64(&j, "ip_bad", st.ip_bad);
        json_u64(&j, "frag_in", st.frag_in);
        json_u64(&j, "frag_out", st.frag_out);
        json_u64(&j, "reasm_ok", st.reasm_ok);
        json_u64(&j, "echo_replies_out", st.echo_replies_out);
        json_u64(&j, "unreach_out", st.unreach_out);
        json_u64(&j, "udp_in", st.udp_in);
        json_u64(&j, "udp_out", st.udp_out);
        json_u64(&j, "udp_bad", st.udp_bad);
        json_u64(&j, "udp_no_port", st.udp_no_port);
        json_u64(&j, "udp_queue_drops", st.udp_queue_drops);
        if (h->tcp) {
            json_obj(&j, "tcp");
            for (int k = 0; k < TSVC_N; k++)
                if (h->tcp->on[k]) {
                    const struct tcp_svc_counts *c = &h->tcp->n[k];
                    json_obj(&j, tsvc_def[k].name);
                    json_u64(&j, "connections", c->accepted);
                    json_u64(&j, "aborted", c->aborted);
                    json_u64(&j, "refused_full", c->refused_full);
                    json_u64(&j, "bytes_in", c->bytes_in);
                    json_u64(&j, "bytes_out", c->bytes_out);
                    json_end_obj(&j);
                }
            json_end_obj(&j);
        }
        json_end_obj(&j);
        json_finish(&j);
    } else {
        printf("stopped: %" PRIu64 " pings answered, %" PRIu64 " ARP replies; UDP %" PRIu64
               " in, %" PRIu64 " out, %" PRIu64 " bad, %" PRIu64 " dropped, %" PRIu64
               " to closed ports; %" PRIu64 " datagrams reassembled\n",
               st.echo_replies_out, st.arp_replies_out, st.udp_in, st.udp_out, st.udp_bad,
               st.udp_queue_drops, st.udp_no_port, st.reasm_ok);
        if (h->tcp)
            tcp_svc_print_end(h->tcp, stdout);
    }
    fflush(stdout);
}

int cmd_host(int argc, char **argv)
{
    struct host_ip_opts o = {.station = -1};
    bool want[SVC_N] = {true, true, true}, json = false;
    bool tcp[TSVC_N] = {[TSVC_ECHO] = true, [TSVC_DISCARD] = true, [TSVC_DAYTIME] = true};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            host_help(stdout);
            return 0;
        }
        if (!strcmp(a, "--json")) {
            json = true;
            continue;
        }
        if (!strcmp(a, "--services")) {
            if (!v)
                return usage_error("host", "--services needs a value");
            if (parse_services(v, want, tcp))
                return 2;
            i++;
            continue;
        }
        int r = ip_option("host", a, v, &o);
        if (r < 0)
            return 2;
        if (r == 0)
            return usage_error("host", "unknown option or argument '%s'", a);
        i++;
    }
    bool any_tcp = false;
    for (int k = 0; k < TSVC_N; k++)
        any_tcp |= tcp[k];
    struct host h = {0};
    int rc = ip_station_open("host", &o, &h.s);
    if (rc)
        return rc;
    int ret = 1;
    if (!(h.buf = malloc(65536))) {
        die("out of memory");
        goto out;
    }
    for (int k = 0; k < SVC_N; k++) {
        if (!want[k])
            continue;
        rc = jet_udp_open(h.s, NULL, &h.u[k]);
        if (!rc && (rc = jet_udp_bind(h.u[k], 0, svc_def[k].port)) != 0) {
            die("cannot serve %s on UDP port %u: %s", svc_def[k].name, svc_def[k].port,
                jet_udp_error(h.u[k]));
            goto out;
        }
        if (rc) {
            die("cannot open a UDP socket: %s", strerror(-rc));
            goto out;
        }
    }
    if (any_tcp) {
        struct udp_svc_view uv[HOST_UDP_VIEWS];
        _Static_assert((int)HOST_UDP_VIEWS == (int)SVC_N, "one view per UDP service");
        for (int k = 0; k < SVC_N; k++)
            uv[k] = (struct udp_svc_view){svc_def[k].name, svc_def[k].port, h.u[k] != NULL,
                                          &h.served[k]};
        if (tcp_svc_open(h.s, o.link, tcp, uv, &h.tcp))
            goto out;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    print_start(&h, &o, json);
    while (!stop) {
        int n = jet_station_poll(h.s);
        if (n < 0) {
            die("%s: %s", o.link, jet_station_error(h.s));
            goto out;
        }
        int did = serve(&h);
        if (h.tcp)
            did |= tcp_svc_run(h.tcp);
        if (!n && !did && !stop) {
            int64_t nap = h.tcp ? tcp_svc_timeout(h.tcp) : -1;
            jet_station_wait(h.s, nap >= 0 && nap < NAP_NS ? nap : NAP_NS);
        }
    }
    if (h.tcp)
        tcp_svc_stop(h.tcp, LINGER_NS);
    print_end(&h, json);
    ret = 0;
out:
    tcp_svc_free(h.tcp);
    if (any_tcp)
        jet_tcp_station_fini(h.s, 0);
    for (int k = 0; k < SVC_N; k++)
        jet_udp_close(h.u[k]);
    jet_station_close(h.s);
    free(h.buf);
    return ret;
}
