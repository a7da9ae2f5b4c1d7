/* jet: the Jetstream command.  One subcommand per file (tools/jet/NAME.c),
 * dispatched from the table below, like ip(8) or git(1). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct jet_cmd cmds[] = {
    {"cat", cmd_cat, "netcat over RBS: stdin to a peer, the peer's bytes to stdout"},
    {"dump", cmd_dump, "show a link's frames like tcpdump, or write them to pcapng"},
    {"host", cmd_host, "an IPv4 host on a link: ARP, ping, UDP echo/discard/daytime"},
    {"lan", cmd_lan, "create, inspect and remove emulated Jetstream LANs"},
    {"perf", cmd_perf, "measure throughput and round-trip time (like iperf3)"},
    {"ping", cmd_ping, "ICMP echo from an IPv4 host of its own on a link (like ping)"},
    {"stat", cmd_stat, "channels and counters of a station or a LAN"},
    {"iperf3-kernel-server", cmd_iperf3_kernel_server, NULL}, /* hidden: engine test harness */
};

static void help(FILE *f)
{
    fprintf(f, "usage: jet COMMAND [ARGS...]\n\n"
               "Jetstream: a user-space network stack with channels and single-copy receive.\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (cmds[i].summary)
            fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].summary);
    fprintf(f, "\n'jet COMMAND --help' tells more.  Try: jet perf --proto raw -n 100000\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        help(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        help(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("jet 0.1.0\n");
        return 0;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(argv[1], cmds[i].name))
            return cmds[i].run(argc - 1, argv + 1);
    fprintf(stderr, "jet: unknown command '%s'\n\n", argv[1]);
    help(stderr);
    return 2;
}
