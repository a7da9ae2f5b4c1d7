/* What the stack tells a link it holds (jet_link_own, include/jet/link.h):
 * the IPv4 layer its address, the station's steering each listener's and
 * connection's local port, and that every hold is given back.  Two stations
 * on an in-process loop network whose links record the calls (their ops
 * table copied, with an `own` op added), TCP and UDP on top.  Also: a link
 * that refuses a flow makes the listen or bind fail with its reason, and
 * leaves nothing behind. */
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "check.h"
#include "jet/chan.h"
#include "jet/inet.h"
#include "jet/ip.h"
#include "jet/link.h"
#include "jet/tcp.h"
#include "jet/udp.h"

#define IP_A 0xC6120B01u /* 198.18.11.1 */
#define IP_B 0xC6120B02u /* 198.18.11.2 */
#define SEC 1000000000ull

enum { MAXF = 64 };

/* A recording link: its held flows with their counts. */
struct rec {
    struct jet_link_ops ops;
    struct {
        struct jet_link_flow f;
        int n;
    } held[MAXF];
    int calls, refuse; /* refuse: the next adds return -ENOSPC */
};
static struct rec recs[2];

static bool same(const struct jet_link_flow *a, const struct jet_link_flow *b)
{
    return a->addr == b->addr && a->proto == b->proto && a->port == b->port;
}

static struct rec *rec_of(struct jet_link *l)
{
    return l->ops == &recs[0].ops ? &recs[0] : &recs[1];
}

static int rec_own(struct jet_link *l, const struct jet_link_flow *f, bool add)
{
    struct rec *r = rec_of(l);
    r->calls++;
    if (add && r->refuse)
        return jet_err_set(&l->err, -ENOSPC, "the test's link is full");
    int free_i = -1;
    for (int i = 0; i < MAXF; i++) {
        if (r->held[i].n && same(&r->held[i].f, f)) {
            r->held[i].n += add ? 1 : -1;
            return 0;
        }
        if (!r->held[i].n && free_i < 0)
            free_i = i;
    }
    CHECK(add); /* never a removal of what was not held */
    if (!add || free_i < 0)
        return -EINVAL;
    r->held[free_i].f = *f;
    r->held[free_i].n = 1;
    return 0;
}

/* How many holds of f the link has. */
static int held(int k, uint32_t addr, uint8_t proto, uint16_t port)
{
    struct jet_link_flow f = {.addr = addr, .proto = proto, .port = port};
    for (int i = 0; i < MAXF; i++)
        if (recs[k].held[i].n && same(&recs[k].held[i].f, &f))
            return recs[k].held[i].n;
    return 0;
}

static int total(int k)
{
    int n = 0;
    for (int i = 0; i < MAXF; i++)
        n += recs[k].held[i].n;
    return n;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

static struct jet_station *host(int k, uint32_t ip)
{
    struct jet_link *l;
    struct jet_err err = {0};
    struct jet_link_opts o = {.station = k};
    REQUIRE(jet_link_open("loop:t-own", &o, &l, &err) == 0);
    recs[k].ops = *l->ops;
    recs[k].ops.own = rec_own;
    l->ops = &recs[k].ops;
    struct jet_station *s;
    REQUIRE(jet_station_wrap(l, &s, &err) == 0);
    struct jet_ip_cfg c = {.addr = ip, .plen = 24};
    REQUIRE(jet_ip_attach(s, &c) == 0);
    return s;
}

int main(void)
{
    struct jet_station *a = host(0, IP_A), *b = host(1, IP_B);
    /* the IPv4 layer holds its address */
    CHECK_EQ(held(0, IP_A, 0, 0), 1);
    CHECK_EQ(held(1, IP_B, 0, 0), 1);
    CHECK_EQ(total(0), 1);

    /* listeners: on every address, and on one */
    struct jet_tcp_listener *l1, *l2;
    REQUIRE(jet_tcp_listen(a, 0, 5000, NULL, &l1) == 0);
    REQUIRE(jet_tcp_listen(a, IP_A, 5001, NULL, &l2) == 0);
    CHECK_EQ(held(0, 0, JET_IP_PROTO_TCP, 5000), 1);
    CHECK_EQ(held(0, IP_A, JET_IP_PROTO_TCP, 5001), 1);

    /* a UDP socket bound to a port */
    struct jet_udp *u;
    REQUIRE(jet_udp_open(a, NULL, &u) == 0);
    REQUIRE(jet_udp_bind(u, 0, 53) == 0);
    CHECK_EQ(held(0, 0, JET_IP_PROTO_UDP, 53), 1);

    /* a connection: the client holds its ephemeral port on its address, the
     * server the listener's port again on its address */
    struct jet_tcp_conn *ca = NULL, *cb = NULL;
    REQUIRE(jet_tcp_connect(b, IP_A, 5000, NULL, &ca, 0) == -EINPROGRESS);
    uint64_t until = now_ns() + 5 * SEC;
    while ((jet_tcp_connected(ca) == 0 || !cb) && now_ns() < until) {
        jet_station_poll(a);
        jet_station_poll(b);
        if (!cb)
            jet_tcp_accept(l1, &cb, 0);
    }
    REQUIRE(cb && jet_tcp_connected(ca) == 1);
    struct jet_tcp_info ia;
    jet_tcp_info(ca, &ia);
    CHECK_EQ(held(1, IP_B, JET_IP_PROTO_TCP, ia.lport), 1);
    CHECK_EQ(held(0, IP_A, JET_IP_PROTO_TCP, 5000), 1);
    CHECK_EQ(held(0, 0, JET_IP_PROTO_TCP, 5000), 1);

    /* a link that refuses: the listen fails with its reason, nothing is held */
    int before = total(0);
    recs[0].refuse = 1;
    struct jet_tcp_listener *l3 = NULL;
    int rc = jet_tcp_listen(a, 0, 5002, NULL, &l3);
    CHECK_EQ(rc, -ENOSPC);
    if (!strstr(jet_station_error(a), "full"))
        fprintf(stderr, "reason: %s\n", jet_station_error(a));
    CHECK(strstr(jet_station_error(a), "full") != NULL);
    CHECK_EQ(total(0), before);
    recs[0].refuse = 0;
    REQUIRE(jet_tcp_listen(a, 0, 5002, NULL, &l3) == 0); /* the port is free after */
    CHECK_EQ(held(0, 0, JET_IP_PROTO_TCP, 5002), 1);
    jet_tcp_listener_close(l3);
    CHECK_EQ(held(0, 0, JET_IP_PROTO_TCP, 5002), 0);

    /* everything given back as it goes */
    jet_udp_close(u);
    CHECK_EQ(held(0, 0, JET_IP_PROTO_UDP, 53), 0);
    jet_tcp_abort(ca);
    jet_tcp_abort(cb);
    jet_tcp_listener_close(l1);
    jet_tcp_listener_close(l2);
    jet_tcp_station_fini(a, (int64_t)SEC);
    jet_tcp_station_fini(b, (int64_t)SEC);
    CHECK_EQ(total(0), 1); /* the address */
    CHECK_EQ(total(1), 1);
    jet_station_close(a);
    jet_station_close(b);
    CHECK_EQ(total(0), 0);
    CHECK_EQ(total(1), 0);
    CHECK(recs[0].calls > 0 && recs[1].calls > 0);
    return check_done("test_link_own");
}
