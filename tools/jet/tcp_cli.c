/* The TCP and IPv4 options of jet perf --proto tcp and jet cat --proto tcp, and
 * opening a station with IPv4 for them (tcp_cli.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jet/ip.h"
#include "tcp_cli.h"
#include "util/parse.h"

const char tcp_options_help[] =
    "  --ip ADDR/PLEN     the station's IPv4 address (default on a LAN: 198.18.0.(K+1)/24\n"
    "                     for station K; needed on tap:IF)\n"
    "  --gw ADDR          default gateway (default: none)\n"
    "  --mac MAC          the station's MAC (default: the link's own)\n"
    "  --cc ALG           congestion control: cubic (default) or newreno\n"
    "  --nodelay          no Nagle: short writes leave at once (TCP_NODELAY)\n"
    "  --mss BYTES        largest segment payload (default: the link's MTU - 40)\n"
    "  --rcvbuf BYTES     receive window and ring (default 4M)\n"
    "  --sndbuf BYTES     send ring (default 4M)\n"
    "  --zerocopy         send by reference (jet_tcp_send_ref) and read in place from a\n"
    "                     registered ring (jet_tcp_recv_register); else copy, as\n"
    "                     send()/recv() do\n";

static int size_opt(const char *cmd, const char *opt, const char *arg, uint64_t lo, uint64_t hi,
                    uint32_t *out)
{
    uint64_t u;
    if (jet_parse_size(arg, &u) || u < lo || u > hi) {
        usage_error(cmd, "bad %s '%s' (%llu to %llu bytes)", opt, arg, (unsigned long long)lo,
                    (unsigned long long)hi);
        return -1;
    }
    *out = (uint32_t)u;
    return 2;
}

int tcp_cli_option(const char *cmd, const char *opt, const char *arg, struct tcp_cli *t)
{
    if (!strcmp(opt, "--nodelay")) {
        t->o.nodelay = true;
        return 1;
    }
    if (!strcmp(opt, "--zerocopy")) {
        t->zerocopy = true;
        return 1;
    }
    if (!strcmp(opt, "--ip") || !strcmp(opt, "--gw") || !strcmp(opt, "--mac"))
        return ip_option(cmd, opt, arg, &t->ip) < 0 ? -1 : 2;
    bool known = !strcmp(opt, "--cc") || !strcmp(opt, "--mss") || !strcmp(opt, "--rcvbuf") ||
                 !strcmp(opt, "--sndbuf");
    if (!known)
        return 0;
    if (!arg) {
        usage_error(cmd, "%s needs a value", opt);
        return -1;
    }
    if (!strcmp(opt, "--cc")) {
        if (strcmp(arg, "cubic") && strcmp(arg, "newreno")) {
            usage_error(cmd, "--cc is cubic or newreno, not '%s'", arg);
            return -1;
        }
        snprintf(t->cc, sizeof t->cc, "%s", arg);
        t->o.cc = t->cc;
        return 2;
    }
    if (!strcmp(opt, "--mss"))
        return size_opt(cmd, opt, arg, 64, 65495, &t->o.mss);
    if (!strcmp(opt, "--rcvbuf"))
        return size_opt(cmd, opt, arg, 4096, 1u << 30, &t->o.rcvbuf);
    return size_opt(cmd, opt, arg, 4096, 1u << 30, &t->o.sndbuf);
}

int tcp_cli_host(const char *s, uint32_t *addr)
{
    uint64_t k;
    if (!strchr(s, '.')) {
        if (jet_parse_u64(s, &k) || k > 253)
            return -EINVAL;
        *addr = TCP_CLI_NET | (uint32_t)(k + 1);
        return 0;
    }
    return jet_ip_parse(s, addr, NULL);
}

int tcp_cli_open(const char *cmd, const char *link, int station, const struct tcp_cli *t,
                 struct jet_station **out)
{
    *out = NULL;
    struct jet_err err = {0};
    struct jet_station *s;
    int rc = jet_station_open(link, station, &s, &err);
    if (rc)
        return die("cannot open %s: %s", link, jet_err_str(&err, rc));
    struct jet_ip_cfg cfg = t->ip.cfg;
    if (!t->ip.has_ip) {
        uint32_t k = jet_station_link(s)->caps.addr;
        if (k == JET_LINK_NO_ADDR || k > 253) {
            jet_station_close(s);
            return usage_error(cmd,
                               "%s has no station numbers to take a default address "
                               "from: say --ip ADDR/PLEN",
                               link);
        }
        cfg.addr = TCP_CLI_NET | (k + 1);
        cfg.plen = 24;
        if (cfg.gw && (cfg.gw & 0xffffff00u) != TCP_CLI_NET)
            cfg.gw = 0;
    }
    rc = jet_ip_attach(s, &cfg);
    if (rc) {
        const char *why = jet_station_error(s);
        die("cannot attach IPv4 to %s: %s", link, why[0] ? why : strerror(-rc));
        jet_station_close(s);
        return 1;
    }
    *out = s;
    return 0;
}

void tcp_cli_close(struct jet_station *s, int64_t linger_ns)
{
    if (!s)
        return;
    jet_tcp_station_fini(s, linger_ns);
    jet_station_close(s);
}

const char *tcp_cli_why(const struct jet_tcp_conn *c, int rc)
{
    const char *why = c ? jet_tcp_error(c) : NULL;
    return why && why[0] ? why : strerror(rc < 0 ? -rc : rc);
}
