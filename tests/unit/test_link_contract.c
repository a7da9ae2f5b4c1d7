/* The link contract (include/jet/link.h, docs/links.md): one test every
 * backend must pass, run on each row of `backends`: lan:, loop:, a fault
 * wrapper around loop:, and tap: (a new backend is one row: how to make a
 * place for two ends, its link names, how to remove it).  The tap row runs
 * in a private network namespace of this process (root only, else skipped):
 * two TAP interfaces whose ingress tc redirects to each other's egress, so
 * a frame one end writes is what the other end reads.
 * Each check opens two fresh ends a and b of one medium and drives them
 * from this thread (a second thread sends in the wait checks):
 *   caps        what the ends say they are is consistent
 *   sizes       every frame size near the limits, a sampling between, native
 *               and Ethernet, round-trips intact; one byte more is refused
 *   ownership   tx_abort gives a buffer back; received frames stay valid until
 *               released; given-back buffers are reused; a frame not lent by the
 *               link (another link's, a fake, one released twice) is refused
 *   pressure    a receiver that takes nothing shows at tx_alloc (-EAGAIN or
 *               -ENOBUFS), nothing is lost, sending resumes once it reads
 *   counters    tx_frames/bytes of the sender = rx_frames/bytes of the receiver,
 *               frames refused at commit counted in tx_dropped
 *   close       either end closing with frames in flight: no crash, no leak
 *               (ASan), the other end's buffers come back, frames it still holds
 *               stay readable
 *   optional    with the optional ops absent, the wrappers give their defaults
 *               or -EOPNOTSUPP with a reason; present ones answer sanely
 *   wait        wait (and fd + arm) return when a frame arrives from another
 *               thread, and time out otherwise */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "jet/frame.h"
#include "jet/lan.h"
#include "jet/link.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- backends ---- */

struct backend {
    const char *kind;
    /* Makes a medium for two ends (may be nothing); writes the link name. 0, or
     * nonzero when it could not (a failure: every backend here must run). */
    int (*make)(char *name, size_t cap, unsigned n);
    void (*unmake)(const char *name);
    /* The second end's name when it is not the same as the first's (a TAP
     * interface has one end); NULL: the same. */
    void (*peer)(const char *name, char *out, size_t cap);
    unsigned settle_ms; /* after opening an end, before frames reach it */
    /* Optional: called before opening end 0 (a) or 1 (b) of name, and with -1
     * after, to come back: a backend whose ends live in two network
     * namespaces enters the end's one (setns) there.  0, or nonzero on failure. */
    int (*enter)(const char *name, int end);
    /* The ends share their interfaces with the kernel (packet:, xdp:): each is
     * given the whole interface (jet_link_own of {0, 0, 0}) after opening, so
     * the test's frames (any EtherType) are the link's. */
    bool own_all;
    /* A sender cannot tell a native address nobody holds, or an end that has
     * closed (Ethernet, UDP): such frames leave and are lost on the medium,
     * rather than being refused with -EHOSTUNREACH. */
    bool blind;
};

enum { SKIP = 77 }; /* make: this backend cannot run here (and says why) */

static int lan_make(char *name, size_t cap, unsigned n)
{
    char lan[64];
    snprintf(lan, sizeof lan, "t-lc-%d-%u", (int)getpid(), n);
    struct jet_lan_config c;
    jet_lan_config_default(&c);
    c.stations = 4;
    c.ring = 64;
    c.buffers = 512;
    struct jet_err err = {0};
    jet_lan_destroy(lan, true, &err);
    if (jet_lan_create(lan, &c, &err)) {
        fprintf(stderr, "jet_lan_create %s: %s\n", lan, err.msg);
        return -1;
    }
    snprintf(name, cap, "lan:%s", lan);
    return 0;
}

static void lan_unmake(const char *name)
{
    struct jet_err err = {0};
    CHECK_EQ(jet_lan_destroy(name + 4, false, &err), 0); /* both ends detached */
}

static int loop_make(char *name, size_t cap, unsigned n)
{
    snprintf(name, cap, "loop:t-lc-%u", n); /* created by the first open */
    return 0;
}

static void loop_unmake(const char *name)
{
    (void)name; /* freed by the last close */
}

/* The fault wrapper with no fault set, around a loop: a wrapper must keep
 * the contract of the link it wraps. */
static int fault_make(char *name, size_t cap, unsigned n)
{
    snprintf(name, cap, "fault:seed=1/loop:t-lcf-%u", n);
    return 0;
}

/* Two TAP interfaces tcA<n> and tcB<n> in a private network namespace
 * (made by the first call): what is written to one leaves the other
 * (tc ingress -> mirred egress redirect), byte for byte.  MTU 9000, no
 * IPv6 (nothing but the test's frames).  A reopened end needs a moment:
 * the kernel turns on the interface's queue after its carrier comes back. */
static int tap_make(char *name, size_t cap, unsigned n)
{
    static int netns = -1;
    if (netns < 0) {
        netns = geteuid() == 0;
        /* as root this must run: no namespace or no /dev/net/tun is a failure, not a skip */
        if (netns && (unshare(CLONE_NEWNET) != 0 || access("/dev/net/tun", W_OK) != 0))
            return -1;
        if (netns && system("ip link set lo up && echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6"
                            " && echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6"))
            return -1;
    }
    if (!netns) {
        fprintf(stderr, "tap: skipped (needs root)\n");
        return SKIP;
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "set -e; for x in A B; do ip tuntap add tc${x}%u mode tap; "
             "ip link set tc${x}%u mtu 9000 up; tc qdisc add dev tc${x}%u ingress; done; "
             "tc filter add dev tcA%u parent ffff: protocol all u32 match u32 0 0 at -12 "
             "action mirred egress redirect dev tcB%u; "
             "tc filter add dev tcB%u parent ffff: protocol all u32 match u32 0 0 at -12 "
             "action mirred egress redirect dev tcA%u",
             n, n, n, n, n, n, n);
    if (system(cmd)) {
        fprintf(stderr, "tap: cannot make the interfaces: %s\n", cmd);
        return -1;
    }
    snprintf(name, cap, "tap:tcA%u", n);
    return 0;
}

static void tap_unmake(const char *name)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "ip link del tcA%s; ip link del tcB%s", name + 7, name + 7);
    CHECK_EQ(system(cmd), 0);
}

static void tap_peer(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "tap:tcB%s", name + 7);
}

/* The real links' rows: each in its own header (made in two namespaces
 * joined by a veth pair, or on loopback for udp:). */
#include "contract_packet.h"
#include "contract_udp.h"
#include "contract_xdp.h"

static const struct backend backends[] = {
    {.kind = "lan", .make = lan_make, .unmake = lan_unmake},
    {.kind = "loop", .make = loop_make, .unmake = loop_unmake},
    {.kind = "fault", .make = fault_make, .unmake = loop_unmake},
    {.kind = "tap", .make = tap_make, .unmake = tap_unmake, .peer = tap_peer, .settle_ms = 100},
#ifdef CONTRACT_ROW_PACKET
    CONTRACT_ROW_PACKET,
#endif
#ifdef CONTRACT_ROW_UDP
    CONTRACT_ROW_UDP,
#endif
#ifdef CONTRACT_ROW_UDP_VETH
    CONTRACT_ROW_UDP_VETH,
#endif
#ifdef CONTRACT_ROW_XDP
    CONTRACT_ROW_XDP,
#endif
#ifdef CONTRACT_ROW_XDP_SKB
    CONTRACT_ROW_XDP_SKB,
#endif
};

struct pair {
    const struct backend *b;
    char name[128], name2[128]; /* the ends' link names */
    struct jet_link *a, *b_;
    struct jet_link_caps ca, cb;
};

/* The encapsulation frames are sent in where either would do. */
static int enc(const struct pair *p)
{
    return p->ca.native ? JET_ENCAP_NATIVE : JET_ENCAP_ETH;
}

static void settle(const struct backend *be)
{
    if (be->settle_ms)
        usleep(be->settle_ms * 1000u);
}

static unsigned serial;

/* Opens end `end` (0 or 1) of a pair, in its namespace; NULL on failure. */
static struct jet_link *end_open(const struct backend *be, const char *name, int end)
{
    struct jet_link_opts o = {.station = -1};
    struct jet_err err = {0};
    struct jet_link *l = NULL;
    if (be->enter && be->enter(name, end)) {
        fprintf(stderr, "%s: cannot enter the namespace of end %d\n", name, end);
        return NULL;
    }
    int rc = jet_link_open(name, &o, &l, &err);
    if (rc)
        fprintf(stderr, "open %s: %s\n", name, err.msg);
    if (be->enter)
        be->enter(name, -1);
    if (rc == 0 && be->own_all) {
        rc = jet_link_own(l, &(struct jet_link_flow){0}, true);
        if (rc) {
            fprintf(stderr, "%s: own everything: %s\n", name, jet_link_error(l));
            jet_link_close(l);
            l = NULL;
        }
    }
    return rc ? NULL : l;
}

/* 0 when open, SKIP, or -1 when no medium could be made. */
static int pair_open(struct pair *p, const struct backend *be)
{
    memset(p, 0, sizeof *p);
    p->b = be;
    int mk = be->make(p->name, sizeof p->name, serial++);
    if (mk)
        return mk == SKIP ? SKIP : -1;
    if (be->peer)
        be->peer(p->name, p->name2, sizeof p->name2);
    else
        snprintf(p->name2, sizeof p->name2, "%s", p->name);
    p->a = end_open(be, p->name, 0);
    p->b_ = end_open(be, p->name2, 1);
    REQUIRE(p->a && p->b_);
    p->ca = p->a->caps;
    p->cb = p->b_->caps;
    settle(be);
    return 0;
}

static void pair_close(struct pair *p)
{
    jet_link_close(p->a);
    jet_link_close(p->b_);
    p->b->unmake(p->name);
}

/* ---- frames ---- */

static uint8_t pat(uint32_t seed, uint32_t i)
{
    uint32_t x = (seed + 1) * 2654435761u + i * 40503u;
    return (uint8_t)(x >> 13 ^ x >> 24);
}

/* Writes a frame of len bytes from `from` to `to` into f: a native frame
 * addressed by station number, or an Ethernet frame to to's MAC. */
static void fill(struct jet_frame *f, const struct jet_link_caps *to, int encap, uint32_t len,
                 uint32_t seed)
{
    for (uint32_t i = 0; i < len; i++)
        f->data[i] = pat(seed, i);
    if (encap == JET_ENCAP_NATIVE) {
        f->data[0] = 1; /* version 1: udp: tells a native frame by it */
        f->data[1] = 0; /* flags: class 0 */
        f->data[4] = (uint8_t)(to->addr >> 8);
        f->data[5] = (uint8_t)to->addr;
    } else {
        memcpy(f->data, to->mac, 6);
        f->data[12] = 0x88; /* an EtherType nobody uses (0x88B5 is a native frame's) */
        f->data[13] = 0xb6;
    }
    f->len = len;
    f->encap = (uint8_t)encap;
}

static bool same(const struct jet_frame *f, const struct jet_link_caps *to, int encap,
                 uint32_t len, uint32_t seed)
{
    if (f->len != len || f->encap != encap)
        return false;
    for (uint32_t i = 0; i < len; i++) {
        uint8_t want = pat(seed, i);
        if (encap == JET_ENCAP_NATIVE && (i == 0 || i == 1 || i == 4 || i == 5))
            want = i == 0 ? 1 : i == 1 ? 0 : i == 4 ? (uint8_t)(to->addr >> 8) : (uint8_t)to->addr;
        if (encap == JET_ENCAP_ETH && i < 6)
            want = to->mac[i];
        if (encap == JET_ENCAP_ETH && (i == 12 || i == 13))
            want = i == 12 ? 0x88 : 0xb6;
        if (f->data[i] != want)
            return false;
    }
    return true;
}

/* Sleeps on l for up to ns (wait if the link has it, else a short nap). */
static void nap(struct jet_link *l, int64_t ns)
{
    if (jet_link_wait(l, ns) == -EOPNOTSUPP)
        usleep(ns > 1000000 ? 1000 : (useconds_t)(ns / 1000 + 1));
}

/* Receives one frame on l within 2 s, flushing `tx` meanwhile. 1 or 0. */
static int recv1(struct jet_link *l, struct jet_link *tx, struct jet_frame *f)
{
    uint64_t until = now_ns() + 2000000000ull;
    for (;;) {
        int n = jet_link_rx_burst(l, f, 1);
        REQUIRE(n >= 0);
        if (n == 1)
            return 1;
        if (now_ns() > until)
            return 0;
        if (tx)
            jet_link_tx_flush(tx);
        nap(l, 1000000);
    }
}

/* Allocates on l, retrying on -EAGAIN for up to 2 s while `rx` reads nothing. */
static int alloc_retry(struct jet_link *l, struct jet_frame *f)
{
    uint64_t until = now_ns() + 2000000000ull;
    int rc;
    while ((rc = jet_link_tx_alloc(l, f)) == -EAGAIN && now_ns() < until)
        nap(l, 1000000);
    return rc;
}

static bool send_recv(struct pair *p, int encap, uint32_t len, uint32_t seed)
{
    struct jet_frame f;
    if (alloc_retry(p->a, &f) != 0)
        return false;
    if (len > f.cap) {
        jet_link_tx_abort(p->a, &f);
        return false;
    }
    fill(&f, &p->cb, encap, len, seed);
    int rc = jet_link_tx_commit(p->a, &f);
    if (rc) {
        fprintf(stderr, "%s: commit of %u bytes (encap %d): %d %s\n", p->b->kind, len, encap, rc,
                jet_link_error(p->a));
        return false;
    }
    struct jet_frame g;
    if (!recv1(p->b_, p->a, &g)) {
        fprintf(stderr, "%s: frame of %u bytes (encap %d) never arrived\n", p->b->kind, len, encap);
        return false;
    }
    bool ok = same(&g, &p->cb, encap, len, seed);
    if (!ok)
        fprintf(stderr, "%s: frame of %u bytes (encap %d) arrived as %u bytes (encap %d) or changed\n",
                p->b->kind, len, encap, g.len, g.encap);
    jet_link_rx_release(p->b_, &g, 1);
    return ok;
}

/* ---- checks ---- */

static void t_caps(struct pair *p)
{
    const struct jet_link_caps *a = &p->ca, *b = &p->cb;
    CHECK(a->native || a->eth);
    CHECK(a->mtu > 0 && a->max_frame > 0 && a->buffers > 0 && a->burst > 0);
    if (a->native) {
        CHECK(a->addr != JET_LINK_NO_ADDR && b->addr != JET_LINK_NO_ADDR);
        CHECK(a->addr != b->addr);
        CHECK(a->max_frame >= a->mtu + JET_FRAME_OVERHEAD);
    }
    if (a->eth) {
        CHECK(a->has_mac && b->has_mac);
        CHECK(memcmp(a->mac, b->mac, 6) != 0);
        CHECK(!(a->mac[0] & 1)); /* a unicast address */
    }
    CHECK_EQ(a->mtu, b->mtu);
    CHECK(strcmp(p->a->name, p->name) == 0);
}

/* Largest frame of each encapsulation: native 24 + MTU + 4; Ethernet (the
 * test's are untagged) MTU + 18 on the emulated media, eth_mtu + 14 where the
 * link has one (a real Ethernet's rule: 18 only with a VLAN tag); never past
 * max_frame. */
static uint32_t max_len(const struct jet_link_caps *c, int encap)
{
    uint32_t m = encap == JET_ENCAP_NATIVE ? c->mtu + JET_FRAME_OVERHEAD
                 : c->eth_mtu          ? c->eth_mtu + 14
                                       : c->mtu + 18;
    return m < c->max_frame ? m : c->max_frame;
}

static void t_sizes(struct pair *p)
{
    for (int encap = 0; encap < 2; encap++) {
        if (encap == JET_ENCAP_NATIVE ? !p->ca.native : !p->ca.eth)
            continue;
        uint32_t lo = encap == JET_ENCAP_NATIVE ? JET_FRAME_HDR_LEN : 14, hi = max_len(&p->ca, encap);
        unsigned bad = 0, n = 0;
        for (uint32_t len = lo; len <= hi && bad < 5; n++) {
            if (!send_recv(p, encap, len, len * 7 + (uint32_t)encap))
                bad++;
            /* every size near the ends and around 96/128/256..., a stride between */
            bool edge = len < lo + 96 || len + 70 > hi || (len & 127) < 3 || (len & 127) > 125;
            len += edge ? 1 : 61;
        }
        CHECK_EQ(bad, 0);
        CHECK(n > 150);
        /* one byte more: refused with -EMSGSIZE, counted nowhere as sent */
        struct jet_frame f;
        REQUIRE(alloc_retry(p->a, &f) == 0);
        if (hi + 1 <= f.cap) {
            fill(&f, &p->cb, encap, hi + 1, 1);
            int rc = jet_link_tx_commit(p->a, &f);
            CHECK_EQ(rc, -EMSGSIZE);
            CHECK(jet_link_error(p->a)[0] != 0);
        } else {
            jet_link_tx_abort(p->a, &f);
        }
        /* too short: refused */
        REQUIRE(alloc_retry(p->a, &f) == 0);
        fill(&f, &p->cb, encap, lo, 2);
        f.len = lo - 1;
        CHECK_EQ(jet_link_tx_commit(p->a, &f), -EINVAL);
    }
}

/* Allocates every buffer l will lend now (bounded); returns how many, with
 * the frames in out[] (cap entries). */
static unsigned alloc_all(struct jet_link *l, struct jet_frame *out, unsigned cap, int *last)
{
    unsigned n = 0;
    while (n < cap && (*last = jet_link_tx_alloc(l, &out[n])) == 0)
        n++;
    return n;
}

enum { MAXF = 1 << 16 };

/* How many buffers the sender can take (and gives back at once), waiting up
 * to 3 s for it to reach `want` while the receiver idles. */
static unsigned alloc_settled(struct pair *p, struct jet_frame *fr, unsigned want)
{
    uint64_t until = now_ns() + 3000000000ull;
    unsigned n;
    for (;;) {
        int last;
        jet_link_tx_flush(p->a);
        n = alloc_all(p->a, fr, MAXF, &last);
        for (unsigned i = 0; i < n; i++)
            jet_link_tx_abort(p->a, &fr[i]);
        if (n >= want || now_ns() > until)
            return n;
        for (unsigned i = 0; p->b_ && i < 70; i++) { /* an idle receiver */
            struct jet_frame g;
            if (jet_link_rx_burst(p->b_, &g, 1) == 1)
                jet_link_rx_release(p->b_, &g, 1);
            jet_link_wait(p->b_, 0);
        }
        nap(p->a, 1000000);
    }
}

static void t_ownership(struct pair *p)
{
    struct jet_frame *fr = calloc(MAXF, sizeof *fr);
    REQUIRE(fr);
    int last = 0;
    /* the receiver's buffer cache filled first (on the LAN, stations share one
     * pool and each keeps a cache of it) */
    unsigned nb = alloc_all(p->b_, fr, MAXF, &last);
    for (unsigned i = 0; i < nb; i++)
        jet_link_tx_abort(p->b_, &fr[i]);
    unsigned n0 = alloc_all(p->a, fr, MAXF, &last);
    CHECK(n0 > 0 && n0 < MAXF);
    CHECK(last == -ENOBUFS || last == -EAGAIN);
    /* lent buffers are distinct and inside the link's id space */
    for (unsigned i = 0; i < n0; i++)
        CHECK(fr[i].buf < p->ca.buffers && fr[i].cap >= max_len(&p->ca, JET_ENCAP_NATIVE));
    /* tx_abort gives them back: as many can be taken again */
    for (unsigned i = 0; i < n0; i++)
        jet_link_tx_abort(p->a, &fr[i]);
    unsigned n1 = alloc_all(p->a, fr, MAXF, &last);
    CHECK_EQ(n1, n0);
    for (unsigned i = 0; i < n1; i++)
        jet_link_tx_abort(p->a, &fr[i]);

    /* a frame that is not one the link lent: refused, nothing breaks */
    static uint8_t fake_data[256];
    struct jet_frame fake = {.data = fake_data, .len = 64, .cap = 256, .buf = 0};
    fill(&fake, &p->cb, enc(p), 64, 3);
    CHECK_EQ(jet_link_tx_commit(p->a, &fake), -EINVAL);
    fake.buf = p->ca.buffers + 5;
    CHECK_EQ(jet_link_tx_commit(p->a, &fake), -EINVAL);
    jet_link_tx_abort(p->a, &fake);
    jet_link_rx_release(p->a, &fake, 1);
    /* another link's frame: refused by this one, still the other's */
    struct jet_frame other;
    REQUIRE(alloc_retry(p->b_, &other) == 0);
    fill(&other, &p->ca, enc(p), 64, 4);
    CHECK_EQ(jet_link_tx_commit(p->a, &other), -EINVAL);
    jet_link_tx_abort(p->a, &other);
    jet_link_rx_release(p->a, &other, 1);
    CHECK_EQ(jet_link_tx_commit(p->b_, &other), 0); /* b still holds it: it goes */
    struct jet_frame g;
    CHECK(recv1(p->a, p->b_, &g) && same(&g, &p->ca, enc(p), 64, 4));
    jet_link_rx_release(p->a, &g, 1);
    jet_link_rx_release(p->a, &g, 1); /* twice: the second is ignored */

    /* received frames stay valid until released, while the sender goes on */
    enum { HOLD = 16 };
    struct jet_frame held[HOLD];
    for (unsigned i = 0; i < HOLD; i++) {
        struct jet_frame f;
        REQUIRE(alloc_retry(p->a, &f) == 0);
        fill(&f, &p->cb, enc(p), 300 + i, 100 + i);
        CHECK_EQ(jet_link_tx_commit(p->a, &f), 0);
        CHECK(recv1(p->b_, p->a, &held[i]));
    }
    for (unsigned i = 0; i < 64; i++)
        CHECK(send_recv(p, enc(p), 300, 999));
    for (unsigned i = 0; i < HOLD; i++) {
        CHECK(same(&held[i], &p->cb, enc(p), 300 + i, 100 + i));
        for (unsigned j = 0; j < i; j++)
            CHECK(held[i].buf != held[j].buf);
    }
    jet_link_rx_release(p->b_, held, HOLD);
    jet_link_rx_release(p->b_, held, 1); /* again: ignored */

    /* given-back buffers are reused: more round trips than there are buffers */
    unsigned bad = 0;
    for (unsigned i = 0; i < p->ca.buffers + 16 && bad < 3; i++)
        bad += !send_recv(p, enc(p), 200, i);
    CHECK_EQ(bad, 0);

    /* and nothing was lost on the way: the sender can take as many as at first
     * (once the receiver has been idle: a link may give buffers back in batches) */
    CHECK(alloc_settled(p, fr, n0) >= n0);
    free(fr);
}

/* Sends until tx_alloc pushes back (the receiver reads nothing). Returns the
 * count; every commit must succeed. */
static unsigned fill_up(struct pair *p, struct jet_link *tx, const struct jet_link_caps *to,
                        uint32_t seed0, int *why)
{
    unsigned sent = 0;
    for (; sent < MAXF; sent++) {
        struct jet_frame f;
        int rc = jet_link_tx_alloc(tx, &f);
        if (rc) {
            *why = rc;
            break;
        }
        fill(&f, to, enc(p), 1000, seed0 + sent);
        rc = jet_link_tx_commit(tx, &f);
        CHECK_EQ(rc, 0);
        if (rc)
            fprintf(stderr, "%s: commit %u: %s\n", p->b->kind, sent, jet_link_error(tx));
    }
    return sent;
}

static void t_pressure(struct pair *p)
{
    int why = 0;
    unsigned sent = fill_up(p, p->a, &p->cb, 0, &why);
    CHECK(sent > 0 && sent < MAXF);
    CHECK(why == -EAGAIN || why == -ENOBUFS);
    /* nothing lost: the receiver gets every one, in order */
    unsigned got = 0, bad = 0;
    uint64_t until = now_ns() + 5000000000ull;
    while (got < sent && now_ns() < until) {
        struct jet_frame g[32];
        int n = jet_link_rx_burst(p->b_, g, 32);
        REQUIRE(n >= 0);
        for (int i = 0; i < n; i++, got++)
            bad += !same(&g[i], &p->cb, enc(p), 1000, got);
        jet_link_rx_release(p->b_, g, (unsigned)n);
        jet_link_tx_flush(p->a);
        if (!n)
            nap(p->b_, 1000000);
    }
    CHECK_EQ(got, sent);
    CHECK_EQ(bad, 0);
    struct jet_frame g;
    CHECK_EQ(jet_link_rx_burst(p->b_, &g, 1), 0); /* and no more */
    /* sending resumes */
    CHECK(send_recv(p, enc(p), 1000, 5));
    struct jet_link_stats sa, sb;
    if (jet_link_stats(p->a, &sa) == 0 && jet_link_stats(p->b_, &sb) == 0) {
        CHECK_EQ(sa.tx_frames, sent + 1);
        CHECK_EQ(sb.rx_frames, sent + 1);
        CHECK_EQ(sa.tx_dropped, 0);
    }
}

static void t_counters(struct pair *p)
{
    struct jet_link_stats sa, sb;
    if (jet_link_stats(p->a, &sa) == -EOPNOTSUPP) {
        CHECK(jet_link_error(p->a)[0] != 0);
        return;
    }
    CHECK_EQ(jet_link_stats(p->b_, &sb), 0);
    CHECK_EQ(sa.tx_frames + sa.rx_frames + sb.tx_frames + sb.rx_frames, 0); /* fresh ends */
    uint64_t frames = 0, bytes = 0;
    for (uint32_t i = 0; i < 300; i++) {
        int encap = p->ca.eth && (i % 3 == 0 || !p->ca.native) ? JET_ENCAP_ETH : JET_ENCAP_NATIVE;
        uint32_t len = 64 + (i * 37) % 4000;
        if (send_recv(p, encap, len, i)) {
            frames++;
            bytes += len;
        }
    }
    CHECK_EQ(frames, 300);
    /* frames refused at commit: counted as dropped, not as sent */
    unsigned refused = 0;
    if (p->ca.native && !p->b->blind) {
        uint32_t nobody = 0;
        while (nobody == p->ca.addr || nobody == p->cb.addr)
            nobody++;
        for (unsigned i = 0; i < 5; i++) {
            struct jet_frame f;
            REQUIRE(alloc_retry(p->a, &f) == 0);
            struct jet_link_caps to = {.addr = nobody};
            fill(&f, &to, JET_ENCAP_NATIVE, 100, i);
            int rc = jet_link_tx_commit(p->a, &f);
            CHECK_EQ(rc, -EHOSTUNREACH);
            refused += rc == -EHOSTUNREACH;
        }
    }
    CHECK_EQ(jet_link_stats(p->a, &sa), 0);
    CHECK_EQ(jet_link_stats(p->b_, &sb), 0);
    CHECK_EQ(sa.tx_frames, frames);
    CHECK_EQ(sa.tx_bytes, bytes);
    CHECK_EQ(sa.tx_dropped, refused);
    CHECK_EQ(sb.rx_frames + sb.rx_dropped + sb.faults, frames);
    CHECK_EQ(sb.rx_frames, frames);
    CHECK_EQ(sb.rx_bytes, bytes);
    CHECK_EQ(sb.rx_dropped, 0);
    CHECK_EQ(sb.tx_frames + sb.tx_dropped + sa.rx_frames + sa.rx_dropped, 0);
}

/* The receiver closes with frames queued to it and some it holds; then the
 * sender closes with frames queued. */
static void t_close(struct pair *p)
{
    struct jet_frame *fr = calloc(MAXF, sizeof *fr);
    REQUIRE(fr);
    int last;
    unsigned n0 = alloc_all(p->a, fr, MAXF, &last);
    for (unsigned i = 0; i < n0; i++)
        jet_link_tx_abort(p->a, &fr[i]);

    int why = 0;
    unsigned sent = fill_up(p, p->a, &p->cb, 0, &why);
    CHECK(sent > 8);
    struct jet_frame held[4];
    for (unsigned i = 0; i < 4; i++)
        CHECK(recv1(p->b_, p->a, &held[i]));
    jet_link_close(p->b_); /* holding 4 (it should not), sent-4 queued to it */
    p->b_ = NULL;
    /* a link that can tell sees the end gone */
    int alive = jet_link_peer_alive(p->a, p->cb.addr);
    CHECK(alive == 0 || alive == -EOPNOTSUPP);
    /* the sender's buffers come back: it can take as many as before */
    CHECK_EQ(alloc_settled(p, fr, n0), n0);
    /* frames to the closed end are refused (native: its address is free) */
    if (p->ca.native && !p->b->blind) {
        struct jet_frame f;
        REQUIRE(alloc_retry(p->a, &f) == 0);
        fill(&f, &p->cb, JET_ENCAP_NATIVE, 100, 1);
        CHECK_EQ(jet_link_tx_commit(p->a, &f), -EHOSTUNREACH);
    }

    /* a new receiver; the sender fills it and closes; the receiver reads what
     * reached it, intact, after the sender is gone, and closes holding some */
    p->b_ = end_open(p->b, p->name2, 1);
    REQUIRE(p->b_);
    p->cb = p->b_->caps;
    settle(p->b);
    sent = fill_up(p, p->a, &p->cb, 50, &why);
    CHECK(sent > 8);
    jet_link_close(p->a);
    p->a = NULL;
    unsigned got = 0, bad = 0;
    struct jet_frame g[8];
    for (;;) {
        int n = jet_link_rx_burst(p->b_, g, 8);
        REQUIRE(n >= 0);
        if (n == 0)
            break;
        for (int i = 0; i < n; i++)
            bad += !same(&g[i], &p->cb, enc(p), 1000, 50 + got + (unsigned)i);
        got += (unsigned)n;
        if (got < sent - 8)
            jet_link_rx_release(p->b_, g, (unsigned)n);
        else
            break; /* keep the last burst: closed while held */
    }
    CHECK(got > 0 && got <= sent);
    CHECK_EQ(bad, 0);
    jet_link_close(p->b_);
    p->b_ = NULL;
    p->b->unmake(p->name);
    free(fr);
}

/* Runs the link's ops with the optional ones taken away. */
static void t_optional(struct pair *p)
{
    struct jet_link *l = p->a;
    /* present ones answer sanely */
    CHECK(jet_link_tx_flush(l) == 0);
    CHECK(jet_link_tx_room(l) >= 0);
    int fd = jet_link_fd(l);
    CHECK(fd >= 0 || fd == -EOPNOTSUPP);
    if (fd >= 0) {
        int r = jet_link_arm(l);
        CHECK(r == 0 || r == 1);
        struct jet_frame g;
        CHECK_EQ(jet_link_rx_burst(l, &g, 1), 0);
    }
    int rc = jet_link_reserve(l, 1000);
    CHECK(rc == 0 || rc == -EBUSY);
    if (rc == 0)
        CHECK_EQ(jet_link_reserve(l, -1000), 0);
    rc = jet_link_wait(l, 0);
    CHECK(rc == 0 || rc == -EOPNOTSUPP);
    /* a peer: the other end is there, address 60 (nobody's) is not */
    rc = jet_link_peer_alive(l, p->cb.addr);
    CHECK(rc == 1 || rc == -EOPNOTSUPP);
    if (rc == 1)
        CHECK_EQ(jet_link_peer_alive(l, 60), 0);

    /* absent: the wrappers' defaults */
    const struct jet_link_ops *real = l->ops;
    struct jet_link_ops bare = {.kind = real->kind,
                                .rx_burst = real->rx_burst,
                                .rx_release = real->rx_release,
                                .tx_alloc = real->tx_alloc,
                                .tx_abort = real->tx_abort,
                                .tx_commit = real->tx_commit,
                                .close = real->close};
    l->ops = &bare;
    memset(&l->err, 0, sizeof l->err);
    CHECK_EQ(jet_link_tx_flush(l), 0);
    CHECK_EQ(jet_link_tx_room(l), INT32_MAX);
    CHECK_EQ(jet_link_reserve(l, 12345), 0);
    struct {
        const char *what;
        int rc;
    } absent[5];
    struct jet_link_stats st;
    absent[0].what = "wait", absent[0].rc = jet_link_wait(l, 1000);
    absent[1].what = "fd", absent[1].rc = jet_link_fd(l);
    absent[2].what = "arm", absent[2].rc = jet_link_arm(l);
    absent[3].what = "stats", absent[3].rc = jet_link_stats(l, &st);
    absent[4].what = "peer_alive", absent[4].rc = jet_link_peer_alive(l, 0);
    for (unsigned i = 0; i < 5; i++) {
        if (absent[i].rc != -EOPNOTSUPP)
            fprintf(stderr, "%s without %s: %d\n", p->b->kind, absent[i].what, absent[i].rc);
        CHECK_EQ(absent[i].rc, -EOPNOTSUPP);
    }
    CHECK_EQ(l->err.code, -EOPNOTSUPP);
    CHECK(strstr(l->err.msg, p->name) != NULL); /* names the link */
    /* frames still move with the mandatory ops alone */
    l->ops = real;
    CHECK(send_recv(p, p->ca.native ? JET_ENCAP_NATIVE : JET_ENCAP_ETH, 500, 77));
}

struct sender {
    struct pair *p;
    int64_t delay_ns;
};

static void *send_later(void *arg)
{
    struct sender *s = arg;
    struct timespec ts = {0, (long)s->delay_ns};
    nanosleep(&ts, NULL);
    struct jet_frame f;
    if (alloc_retry(s->p->a, &f) == 0) {
        fill(&f, &s->p->cb, s->p->ca.native ? JET_ENCAP_NATIVE : JET_ENCAP_ETH, 200, 9);
        jet_link_tx_commit(s->p->a, &f);
        jet_link_tx_flush(s->p->a);
    }
    return NULL;
}

static void t_wait(struct pair *p)
{
    struct jet_link *l = p->b_;
    uint64_t t0 = now_ns();
    int rc = jet_link_wait(l, 50000000);
    if (rc == -EOPNOTSUPP)
        return;
    CHECK_EQ(rc, 0);
    /* times out: nothing came; the wait lasted (a link may wake early, rarely) */
    uint64_t waited = now_ns() - t0;
    CHECK(waited >= 10000000 && waited < 1000000000);
    struct jet_frame g;
    CHECK_EQ(jet_link_rx_burst(l, &g, 1), 0);

    /* a frame from another thread wakes it */
    struct sender s = {p, 30000000};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, send_later, &s) == 0);
    t0 = now_ns();
    int n = 0;
    while (n == 0 && now_ns() - t0 < 3000000000ull) {
        CHECK_EQ(jet_link_wait(l, 2000000000), 0);
        n = jet_link_rx_burst(l, &g, 1);
    }
    pthread_join(th, NULL);
    CHECK_EQ(n, 1);
    CHECK(now_ns() - t0 < 2000000000ull);
    if (n == 1)
        jet_link_rx_release(l, &g, 1);

    /* the same through fd + arm + poll */
    int fd = jet_link_fd(l);
    if (fd < 0)
        return;
    CHECK_EQ(jet_link_arm(l), 0);
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    CHECK_EQ(poll(&pf, 1, 30), 0);
    REQUIRE(pthread_create(&th, NULL, send_later, &s) == 0);
    t0 = now_ns();
    n = 0;
    while (n == 0 && now_ns() - t0 < 3000000000ull) {
        int armed = jet_link_arm(l);
        CHECK(armed == 0 || armed == 1);
        if (armed == 0)
            poll(&pf, 1, 2000);
        n = jet_link_rx_burst(l, &g, 1);
    }
    pthread_join(th, NULL);
    CHECK_EQ(n, 1);
    CHECK(now_ns() - t0 < 2000000000ull);
    if (n == 1)
        jet_link_rx_release(l, &g, 1);
}

static const struct {
    const char *name;
    void (*fn)(struct pair *p);
    bool closes; /* closes the pair itself */
} checks[] = {
    {"caps", t_caps, false},         {"sizes", t_sizes, false},
    {"ownership", t_ownership, false}, {"pressure", t_pressure, false},
    {"counters", t_counters, false}, {"close", t_close, true},
    {"optional", t_optional, false}, {"wait", t_wait, false},
};

int main(void)
{
    for (size_t b = 0; b < sizeof backends / sizeof backends[0]; b++) {
        for (size_t c = 0; c < sizeof checks / sizeof checks[0]; c++) {
            struct pair p;
            int fails = check_failures;
            uint64_t t0 = now_ns();
            int po = pair_open(&p, &backends[b]);
            if (po == SKIP)
                break; /* said why */
            if (po) {
                fprintf(stderr, "%s: cannot make a medium\n", backends[b].kind);
                CHECK(0); /* a backend that cannot run here checks nothing: a failure */
                break;
            }
            checks[c].fn(&p);
            if (!checks[c].closes)
                pair_close(&p);
            fprintf(stderr, "%-5s %-10s %s (%.0f ms)\n", backends[b].kind, checks[c].name,
                    check_failures == fails ? "ok" : "FAILED", (double)(now_ns() - t0) / 1e6);
        }
    }
    return check_done("test_link_contract");
}
