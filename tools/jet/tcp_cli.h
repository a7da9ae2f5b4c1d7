/* What `jet perf --proto tcp` (perf_tcp.c) and `jet cat --proto tcp` (cat_tcp.c) share:
 * the TCP and IPv4 options of the command line, opening a station with IPv4 (an
 * address of its own by default on a LAN), and host names.
 *
 * Default addresses.  On a link whose stations have numbers (the emulated LAN, also
 * under fault: or capture: wrappers), a station opened without --ip takes
 * 198.18.0.(K+1)/24, K its station number, so station 0 is 198.18.0.1 and station 1 is
 * 198.18.0.2.  Elsewhere (tap:IF) --ip is needed.  A HOST on the command line is an
 * IPv4 address, or a bare station number K standing for 198.18.0.(K+1). */
#ifndef JET_TOOLS_TCP_CLI_H
#define JET_TOOLS_TCP_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "jet/tcp.h"

#define TCP_CLI_NET 0xC6120000u /* 198.18.0.0/24: the default addresses */

struct tcp_cli {
    struct host_ip_opts ip; /* --ip, --gw, --mac (link and station: the command's) */
    struct jet_tcp_opts o;  /* --cc, --nodelay, --mss, --rcvbuf, --sndbuf */
    bool zerocopy;          /* --zerocopy: send by reference, receive in place */
    char cc[16];
};

extern const char tcp_options_help[];

/* Takes opt (with its value arg) if it is one of the options above.  Returns how
 * many arguments it took (1 or 2), 0 if opt is not one of them, -1 on a bad value
 * (message printed, exit code 2). */
int tcp_cli_option(const char *cmd, const char *opt, const char *arg, struct tcp_cli *t);

/* HOST: "a.b.c.d", or a station number K for 198.18.0.(K+1).  0 or -EINVAL. */
int tcp_cli_host(const char *s, uint32_t *addr);

/* Opens station `station` (-1: the first free) on link and attaches IPv4 (--ip, or
 * the default address).  0, or the exit code (message printed). */
int tcp_cli_open(const char *cmd, const char *link, int station, const struct tcp_cli *t,
                 struct jet_station **out);

/* Closes what tcp_cli_open opened: TCP's connections (up to linger_ns), then s. */
void tcp_cli_close(struct jet_station *s, int64_t linger_ns);

/* jet cat --proto tcp (cat_tcp.c); cmd_cat hands it the whole command line. */
int cmd_cat_tcp(int argc, char **argv);

/* The connection's error in words (its reason, else strerror(-rc)). */
const char *tcp_cli_why(const struct jet_tcp_conn *c, int rc);

#endif
