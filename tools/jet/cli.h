/* Shared parts of the jet command: subcommand table, option helpers, JSON output. */
#ifndef JET_TOOLS_CLI_H
#define JET_TOOLS_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "jet/ip.h"
#include "jet/lan.h"

struct jet_cmd {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
    const char *summary;
};

int cmd_cat(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_host(int argc, char **argv);
int cmd_lan(int argc, char **argv);
int cmd_ping(int argc, char **argv);
int cmd_perf(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_iperf3_kernel_server(int argc, char **argv); /* iperf3_kernel.c, hidden */
/* jet lan tap (lan_tap.c); argv[0] is "tap". */
int lan_tap_main(int argc, char **argv);

/* Prints "jet: " + message to stderr; returns 1 (a command's failure exit code). */
int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Exit code 2 and a hint for a usage error. */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* LAN creation options shared by `jet lan create` and the private LAN of
 * `jet perf`. Returns 1 if opt (with its value arg) was one of them, 0 if not,
 * -1 on a bad value (message printed). */
int lan_option(const char *cmd, const char *opt, const char *arg, struct jet_lan_config *c);
extern const char lan_options_help[];

/* IPv4 host options shared by `jet host` and `jet ping` (host.c). */
struct host_ip_opts {
    const char *link;
    int station; /* -1: the first free */
    struct jet_ip_cfg cfg;
    bool has_ip;
};
extern const char ip_options_help[];
/* 1 if opt (with its value arg) was one of them, 0 if not, -1 on a bad value
 * (message printed). */
int ip_option(const char *cmd, const char *opt, const char *arg, struct host_ip_opts *o);
/* Opens the station and attaches IPv4: 0, or the exit code (message printed). */
int ip_station_open(const char *cmd, const struct host_ip_opts *o, struct jet_station **out);
/* "02:4a:53:00:01:02" into b (18 bytes); returns b. */
const char *fmt_mac(const uint8_t m[6], char *b);

/* Minimal streaming JSON writer. */
struct json {
    FILE *f;
    int depth;
    bool first[16];
};
void json_begin(struct json *j, FILE *f);
void json_obj(struct json *j, const char *key);  /* key NULL inside arrays/at top */
void json_end_obj(struct json *j);
void json_arr(struct json *j, const char *key);
void json_end_arr(struct json *j);
void json_str(struct json *j, const char *key, const char *v);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
void json_dbl(struct json *j, const char *key, double v);
void json_bool(struct json *j, const char *key, bool v);
void json_finish(struct json *j); /* newline */

/* "9.41 Gbit/s"-style formatting into buf. */
const char *fmt_rate(char *buf, size_t cap, double bps);
const char *fmt_bytes(char *buf, size_t cap, double bytes);

#endif
