/* udp_hello: two IPv4 hosts on an emulated Jetstream LAN, in one process,
 * exchange one UDP datagram and its echo.
 *
 *   build/examples/udp_hello
 *
 * Creates a LAN (lan:NAME), opens two stations on it, gives each an IPv4
 * address (jet_ip_attach: ARP, ICMP, reassembly on the station), binds a UDP
 * socket on each, sends "hello over UDP" from 198.18.0.1 to 198.18.0.2:7,
 * echoes it back, prints both, and cleans up.
 *
 * One thread drives both stations: a blocking call drives only its own
 * station, so here every wait polls the other one too (the first datagram
 * waits in A's ARP queue until B's answer reaches A). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "jet/ip.h"
#include "jet/lan.h"
#include "jet/udp.h"

#define A_IP 0xC6120001u /* 198.18.0.1 */
#define B_IP 0xC6120002u /* 198.18.0.2 */

/* Receives one datagram on u, polling both stations meanwhile (1 s at most). */
static ssize_t recv_polling(struct jet_udp *u, struct jet_station *other, char *buf, size_t cap,
                            uint32_t *from, uint16_t *port)
{
    for (int i = 0; i < 1000; i++) {
        jet_station_poll(other);
        ssize_t n = jet_udp_recvfrom(u, buf, cap, from, port, 1000000); /* 1 ms */
        if (n != -ETIMEDOUT)
            return n;
    }
    return -ETIMEDOUT;
}

int main(void)
{
    char name[64], lan[80];
    snprintf(name, sizeof name, "udp-hello-%d", (int)getpid());
    snprintf(lan, sizeof lan, "lan:%s", name);
    struct jet_lan_config cfg;
    jet_lan_config_default(&cfg);
    struct jet_err err = {0};
    int rc = jet_lan_create(name, &cfg, &err);
    if (rc) {
        fprintf(stderr, "create: %s\n", jet_err_str(&err, rc));
        return 1;
    }
    struct jet_station *a = NULL, *b = NULL;
    struct jet_udp *ua = NULL, *ub = NULL;
    int ret = 1;
    if ((rc = jet_station_open(lan, -1, &a, &err)) || (rc = jet_station_open(lan, -1, &b, &err))) {
        fprintf(stderr, "station: %s\n", jet_err_str(&err, rc));
        goto out;
    }
    if ((rc = jet_ip_attach(a, &(struct jet_ip_cfg){.addr = A_IP, .plen = 24})) ||
        (rc = jet_ip_attach(b, &(struct jet_ip_cfg){.addr = B_IP, .plen = 24}))) {
        fprintf(stderr, "ip: %s\n", jet_station_error(rc == 0 ? b : a));
        goto out;
    }
    if ((rc = jet_udp_open(a, NULL, &ua)) || (rc = jet_udp_open(b, NULL, &ub)) ||
        (rc = jet_udp_bind(ub, 0, 7)) || (rc = jet_udp_bind(ua, 0, 0))) {
        fprintf(stderr, "udp: %s\n", ub ? jet_udp_error(ub) : strerror(-rc));
        goto out;
    }
    printf("%s: 198.18.0.1 and 198.18.0.2 attached\n", lan);

    const char msg[] = "hello over UDP";
    if ((rc = (int)jet_udp_sendto(ua, msg, sizeof msg - 1, B_IP, 7, 1000000000)) < 0) {
        fprintf(stderr, "send: %s\n", jet_udp_error(ua));
        goto out;
    }
    char buf[256];
    char who[16];
    uint32_t from;
    uint16_t port;
    ssize_t n = recv_polling(ub, a, buf, sizeof buf, &from, &port);
    if (n < 0) {
        fprintf(stderr, "recv at B: %s\n", jet_udp_error(ub));
        goto out;
    }
    printf("B got '%.*s' from %s:%u\n", (int)n, buf, jet_ip_format(from, who), port);
    if (jet_udp_sendto(ub, buf, (size_t)n, from, port, 1000000000) < 0) { /* the echo */
        fprintf(stderr, "echo: %s\n", jet_udp_error(ub));
        goto out;
    }
    n = recv_polling(ua, b, buf, sizeof buf, &from, &port);
    if (n < 0) {
        fprintf(stderr, "recv at A: %s\n", jet_udp_error(ua));
        goto out;
    }
    printf("A got '%.*s' back from %s:%u\n", (int)n, buf, jet_ip_format(from, who), port);
    ret = n == (ssize_t)(sizeof msg - 1) && !memcmp(buf, msg, sizeof msg - 1) ? 0 : 1;
out:
    if (ua)
        jet_udp_close(ua);
    if (ub)
        jet_udp_close(ub);
    if (a)
        jet_station_close(a);
    if (b)
        jet_station_close(b);
    jet_lan_destroy(name, false, &err);
    return ret;
}
