/* The XDP steering program (src/bpf/jet_xdp.bpf.c, docs/xdp-steering.md),
 * run in the kernel on crafted frames through BPF_PROG_TEST_RUN.
 *
 * 1. The embedded object: opened from memory, its program and maps named and
 *    shaped as src/bpf/jet_xdp.h says, its libxdp run config, loaded.
 * 2. One table of frames, each with the action it must get and the one
 *    counter of jet_xdp_stats it must move (and no other): first with no
 *    socket in jet_xsks, where a frame that is ours comes back XDP_PASS and
 *    counts NO_XSK; short frames down to 0 bytes go in behind XDP metadata
 *    (test_run wants at least an Ethernet header's worth of input).
 * 3. In a private network namespace (root only): a veth pair, an AF_XDP
 *    socket on one end through libxdp's xsk API (program load inhibited, as
 *    the xdp: link does it) put in jet_xsks; the same table again, where now
 *    the frames that are ours come back XDP_REDIRECT and count NATIVE, ARP
 *    or IP, but not on queue 1 where there is no socket; then the program
 *    attached to that veth end for real (native,
 *    then generic mode; MTU 9000, which native mode takes only from a
 *    frags program) and frames sent from the peer with AF_PACKET: the ones
 *    that are ours arrive on the socket's rx ring, the others do not, and
 *    the kernel still answers ARP and ping for its own address there.
 * Needs CAP_BPF (and CAP_NET_ADMIN for part 3): skips (77) without. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#include "bpf/jet_xdp.h"
#include "check.h"

extern const unsigned char jet_xdp_obj[], jet_xdp_obj_end[];

enum {
    ETH_HLEN_ = 14,
    ETH_P_ALL_ = 0x0003,
    JUMBO = 9000,
    FRAME_MAX = 9216,
    META_MAX = 32,     /* test_run's largest XDP metadata */
    PORT_TCP = 80,     /* owned for TCP only */
    PORT_UDP = 5001,   /* owned for UDP only */
    PORT_OTHER = 8080, /* owned by nobody */
    UMEM_FRAMES = 64,
    UMEM_FRAME = 4096,
    PING_ID = 0x4a54,
};

#define IP_OURS   "198.18.0.1" /* in jet_addrs, flags 0 */
#define IP_OTHER  "198.18.0.2" /* not in jet_addrs */
#define IP_ALL    "198.18.0.3" /* in jet_addrs with JET_XDP_ADDR_ALL */
#define IP_KERNEL "198.18.0.9" /* the kernel's own, on the AF_XDP end of the veth */
#define IF_XSK    "jtxdp0"     /* the veth end with the AF_XDP socket */
#define IF_PEER   "jtxdp1"

static const uint8_t mac_xsk[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x10};
static const uint8_t mac_peer[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x11};

/* How a row's frame is made. */
enum kind {
    K_ETH, /* Ethernet header with `type`, zero payload */
    K_ARP, /* ARP request for `addr` (plen 4 unless `arp_plen`) */
    K_IP,  /* IPv4 to `addr`, protocol `proto`, an 8-byte L4 header to `port` */
};

/* What the program must make of it: "ours" names the counter a redirect
 * moves; with no socket in jet_xsks ours comes back XDP_PASS + NO_XSK. */
enum want { W_PASS, W_MALFORMED, W_NATIVE, W_ARP, W_IP };

struct row {
    const char *name;
    enum kind kind;
    uint16_t type;    /* EtherType */
    const char *addr; /* ARP target / IPv4 destination */
    uint8_t proto;    /* IPv4 protocol */
    uint16_t port;    /* TCP/UDP destination port */
    uint16_t frag;    /* IPv4 flags + fragment offset (host order) */
    uint8_t vihl;     /* IPv4 version/IHL byte; 0 means 0x45 */
    uint8_t arp_plen; /* ARP protocol address length; 0 means 4 */
    int len;          /* frame length; -1: the natural length (at least 60) */
    enum want want;
};

/* clang-format off */
#define ETH(n, t, len, w)           { n, K_ETH, t, NULL, 0, 0, 0, 0, 0, len, w }
#define ARP(n, a, plen, len, w)     { n, K_ARP, 0x0806, a, 0, 0, 0, 0, plen, len, w }
#define IP(n, a, pr, port, w)       { n, K_IP, 0x0800, a, pr, port, 0, 0, 0, -1, w }
#define IPF(n, a, pr, port, frag, w){ n, K_IP, 0x0800, a, pr, port, frag, 0, 0, -1, w }
#define IPH(n, a, pr, port, vihl, len, w) { n, K_IP, 0x0800, a, pr, port, 0, vihl, 0, len, w }
#define SHORT(len)                  ETH("short frame " #len, 0x88B5, len, W_MALFORMED)
/* clang-format on */

enum { TCP = 6, UDP = 17, ICMP = 1, GRE = 47 };

static const struct row rows[] = {
    /* Jetstream frames, and EtherTypes that are not ours */
    ETH("jetstream frame", 0x88B5, -1, W_NATIVE),
    ETH("jetstream frame, 14 bytes", 0x88B5, 14, W_NATIVE),
    ETH("jetstream frame, 9000 bytes (multi-buffer)", 0x88B5, JUMBO, W_NATIVE),
    ETH("VLAN-tagged jetstream frame", 0x8100, -1, W_PASS),
    ETH("QinQ-tagged frame", 0x88A8, -1, W_PASS),
    ETH("IPv6", 0x86DD, -1, W_PASS),
    ETH("LLDP", 0x88CC, -1, W_PASS),
    ETH("EtherType 0x88B4", 0x88B4, -1, W_PASS),
    ETH("EtherType 0xB588 (byte-swapped)", 0xB588, -1, W_PASS),
    /* ARP */
    ARP("ARP for our address", IP_OURS, 0, -1, W_ARP),
    ARP("ARP for an ALL address", IP_ALL, 0, -1, W_ARP),
    ARP("ARP for another address", IP_OTHER, 0, -1, W_PASS),
    ARP("ARP for ours, exactly 42 bytes", IP_OURS, 0, 42, W_ARP),
    ARP("ARP for ours, cut at 41 bytes", IP_OURS, 0, 41, W_MALFORMED),
    ARP("ARP, only the Ethernet header", IP_OURS, 0, 14, W_MALFORMED),
    ARP("ARP for ours, plen 16", IP_OURS, 16, -1, W_PASS),
    /* IPv4 to us (flags 0) */
    IP("ICMP to us", IP_OURS, ICMP, 0, W_IP),
    IP("TCP to an owned port", IP_OURS, TCP, PORT_TCP, W_IP),
    IP("UDP to an owned port", IP_OURS, UDP, PORT_UDP, W_IP),
    IP("TCP to an unowned port", IP_OURS, TCP, PORT_OTHER, W_PASS),
    IP("UDP to an unowned port", IP_OURS, UDP, PORT_OTHER, W_PASS),
    IP("UDP to a port owned for TCP", IP_OURS, UDP, PORT_TCP, W_PASS),
    IP("TCP to a port owned for UDP", IP_OURS, TCP, PORT_UDP, W_PASS),
    IP("GRE to us", IP_OURS, GRE, 0, W_PASS),
    IPF("first fragment (MF) to us, unowned port", IP_OURS, UDP, PORT_OTHER, 0x2000, W_IP),
    IPF("later fragment (offset) to us", IP_OURS, UDP, PORT_OTHER, 0x0010, W_IP),
    IPF("last fragment to us", IP_OURS, TCP, PORT_OTHER, 0x0100, W_IP),
    IPF("DF set, unowned port", IP_OURS, TCP, PORT_OTHER, 0x4000, W_PASS),
    IPF("DF set, owned port", IP_OURS, TCP, PORT_TCP, 0x4000, W_IP),
    IPH("TCP to an owned port behind IP options", IP_OURS, TCP, PORT_TCP, 0x46, -1, W_IP),
    IPH("UDP to an owned port, 9000 bytes (multi-buffer)", IP_OURS, UDP, PORT_UDP, 0x45, JUMBO,
        W_IP),
    IPH("TCP to us, ports cut short", IP_OURS, TCP, PORT_TCP, 0x45, 14 + 20 + 3, W_MALFORMED),
    IPH("TCP to us, exactly the ports", IP_OURS, TCP, PORT_TCP, 0x45, 14 + 20 + 4, W_IP),
    IPH("ICMP to us, header only", IP_OURS, ICMP, 0, 0x45, 14 + 20, W_IP),
    /* IPv4 to an address with JET_XDP_ADDR_ALL */
    IP("TCP to an ALL address, unowned port", IP_ALL, TCP, PORT_OTHER, W_IP),
    IP("UDP to an ALL address, unowned port", IP_ALL, UDP, PORT_OTHER, W_IP),
    IP("GRE to an ALL address", IP_ALL, GRE, 0, W_IP),
    IPH("TCP to an ALL address, ports cut short", IP_ALL, TCP, PORT_OTHER, 0x45, 14 + 20 + 1, W_IP),
    /* IPv4 to another address */
    IP("ICMP to another address", IP_OTHER, ICMP, 0, W_PASS),
    IP("TCP to another address, owned port", IP_OTHER, TCP, PORT_TCP, W_PASS),
    IP("UDP to another address, owned port", IP_OTHER, UDP, PORT_UDP, W_PASS),
    IPF("fragment to another address", IP_OTHER, UDP, PORT_UDP, 0x2000, W_PASS),
    /* bad IPv4 headers: passed and counted, whatever the address */
    IPH("IPv4 header cut at 19 bytes", IP_OURS, TCP, PORT_TCP, 0x45, 14 + 19, W_MALFORMED),
    IPH("IPv4, Ethernet header only", IP_OURS, TCP, PORT_TCP, 0x45, 14, W_MALFORMED),
    IPH("IHL 4", IP_OURS, TCP, PORT_TCP, 0x44, -1, W_MALFORMED),
    IPH("IHL 0", IP_OURS, ICMP, 0, 0x40, -1, W_MALFORMED),
    IPH("IHL 15 beyond the frame", IP_OURS, ICMP, 0, 0x4f, 14 + 59, W_MALFORMED),
    IPH("IHL 15 exactly in the frame", IP_OURS, ICMP, 0, 0x4f, 14 + 60, W_IP),
    IPH("IHL 6 beyond the frame", IP_OTHER, ICMP, 0, 0x46, 14 + 23, W_MALFORMED),
    IPH("version 6 in an IPv4 EtherType", IP_OURS, TCP, PORT_TCP, 0x65, -1, W_MALFORMED),
    IPH("version 0", IP_OURS, ICMP, 0, 0x05, -1, W_MALFORMED),
    IPH("version 15, IHL 15", IP_OURS, ICMP, 0, 0xff, -1, W_MALFORMED),
    /* shorter than an Ethernet header (a Jetstream frame's first bytes) */
    SHORT(0),
    SHORT(1),
    SHORT(2),
    SHORT(3),
    SHORT(4),
    SHORT(5),
    SHORT(6),
    SHORT(7),
    SHORT(8),
    SHORT(9),
    SHORT(10),
    SHORT(11),
    SHORT(12),
    SHORT(13),
};

enum { NROWS = sizeof(rows) / sizeof(rows[0]) };

static const char *const stat_names[JET_XDP_ST_N] = {"NATIVE", "ARP",       "IP",
                                                     "PASS",   "MALFORMED", "NO_XSK"};

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    if (level == LIBBPF_DEBUG)
        return 0;
    return vfprintf(stderr, fmt, ap);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint32_t addr(const char *s)
{
    struct in_addr a;

    REQUIRE(inet_pton(AF_INET, s, &a) == 1);
    return a.s_addr;
}

/* Writes the row's frame at f (FRAME_MAX bytes); returns its length. */
static size_t build(const struct row *r, uint8_t *f)
{
    size_t natural = 60;

    memset(f, 0, FRAME_MAX);
    memcpy(f, mac_xsk, 6);
    memcpy(f + 6, mac_peer, 6);
    put16(f + 12, r->type);
    uint8_t *p = f + ETH_HLEN_;
    switch (r->kind) {
    case K_ETH:
        memset(p, 0xa5, FRAME_MAX - ETH_HLEN_); /* 0x45-like junk must not matter */
        break;
    case K_ARP: {
        uint32_t spa = addr(IP_OTHER), tpa = addr(r->addr);
        put16(p, 1);
        put16(p + 2, 0x0800);
        p[4] = 6;
        p[5] = r->arp_plen ? r->arp_plen : 4;
        put16(p + 6, 1);
        memcpy(p + 8, mac_peer, 6);
        memcpy(p + 14, &spa, 4);
        memcpy(p + 24, &tpa, 4);
        break;
    }
    case K_IP: {
        uint8_t vihl = r->vihl ? r->vihl : 0x45;
        size_t hl = (size_t)(vihl & 15) * 4;
        if (hl < 20)
            hl = 20;
        size_t tot = r->len > 0 ? (size_t)r->len - ETH_HLEN_ : hl + 8 + 18;
        uint32_t src = addr(IP_OTHER), dst = addr(r->addr);
        p[0] = vihl;
        put16(p + 2, (uint16_t)tot);
        put16(p + 6, r->frag);
        p[8] = 64;
        p[9] = r->proto;
        memcpy(p + 12, &src, 4);
        memcpy(p + 16, &dst, 4);
        for (size_t i = 20; i < hl; i++)
            p[i] = 1; /* NOP options */
        put16(p + hl, 40000);
        put16(p + hl + 2, r->port);
        natural = ETH_HLEN_ + hl + 8 + 18;
        break;
    }
    }
    if (natural < 60)
        natural = 60;
    return r->len >= 0 ? (size_t)r->len : natural;
}

struct prog {
    struct bpf_object *obj;
    int prog_fd, xsks_fd, addrs_fd, ports_fd, stats_fd;
    int ncpu;
    uint64_t *percpu;
};

static void stats_read(const struct prog *pr, uint64_t out[JET_XDP_ST_N])
{
    for (uint32_t i = 0; i < JET_XDP_ST_N; i++) {
        out[i] = 0;
        REQUIRE(bpf_map_lookup_elem(pr->stats_fd, &i, pr->percpu) == 0);
        for (int c = 0; c < pr->ncpu; c++)
            out[i] += pr->percpu[c];
    }
}

/* Runs `len` bytes at `frame` through the program once; returns the action
 * (or -errno of the run).  A frame shorter than an Ethernet header goes in
 * behind XDP metadata (test_run places it before ctx->data): older kernels
 * run the program on what is left; newer ones (this 6.18 among them)
 * refuse any frame under ETH_HLEN with -EINVAL, as no driver hands XDP one. */
static int run_frame(const struct prog *pr, const uint8_t *frame, size_t len)
{
    static uint8_t in[META_MAX + FRAME_MAX];
    size_t meta = 0;

    while (meta + len < ETH_HLEN_)
        meta += 4;
    memset(in, 0, meta);
    memcpy(in + meta, frame, len);
    struct xdp_md ctx = {.data = (uint32_t)meta, .data_end = (uint32_t)(meta + len)};
    LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = (uint32_t)(meta + len),
                .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);
    int err = bpf_prog_test_run_opts(pr->prog_fd, &o);
    return err ? -errno : (int)o.retval;
}

/* Every row: the action and exactly one counter moved by one. */
static void run_table(const struct prog *pr, int have_xsk, int whole)
{
    static uint8_t frame[FRAME_MAX];
    int bad_before = check_failures, refused = 0;

    for (int i = 0; i < NROWS; i++) {
        const struct row *r = &rows[i];
        size_t len = build(r, frame);
        int want_act = XDP_PASS, want_st;
        /* the whole interface ours: what the kernel would get is ours (IP) */
        enum want w = whole && (r->want == W_PASS || r->want == W_MALFORMED) ? W_IP : r->want;
        switch (w) {
        case W_PASS:
            want_st = JET_XDP_ST_PASS;
            break;
        case W_MALFORMED:
            want_st = JET_XDP_ST_MALFORMED;
            break;
        default:
            want_act = have_xsk ? XDP_REDIRECT : XDP_PASS;
            want_st = !have_xsk             ? JET_XDP_ST_NO_XSK
                      : w == W_NATIVE ? JET_XDP_ST_NATIVE
                      : w == W_ARP    ? JET_XDP_ST_ARP
                                            : JET_XDP_ST_IP;
            break;
        }
        uint64_t before[JET_XDP_ST_N], after[JET_XDP_ST_N];
        stats_read(pr, before);
        int act = run_frame(pr, frame, len);
        stats_read(pr, after);
        if (act == -EINVAL && len < ETH_HLEN_) {
            /* the kernel would not run it: nothing may have moved */
            refused++;
            want_st = -1;
        }
        int ok = act == want_act || want_st < 0;
        for (int s = 0; s < JET_XDP_ST_N; s++)
            ok &= after[s] - before[s] == (s == want_st ? 1u : 0u);
        CHECK(ok);
        if (!ok) {
            fprintf(stderr,
                    "  row \"%s\" (%zu bytes, %s): action %d, want %d; counters moved:", r->name,
                    len, have_xsk ? "socket" : "no socket", act, want_act);
            for (int s = 0; s < JET_XDP_ST_N; s++)
                if (after[s] != before[s])
                    fprintf(stderr, " %s+%" PRIu64, stat_names[s], after[s] - before[s]);
            fprintf(stderr, "; want %s+1\n", want_st < 0 ? "nothing" : stat_names[want_st]);
        }
    }
    fprintf(stderr,
            "table (%s%s): %d rows, %d failed, %d too short for this kernel's test_run\n",
            have_xsk ? "socket in jet_xsks" : "no socket", whole ? ", whole interface" : "",
            NROWS, check_failures - bad_before, refused);
}

static int map_fd(struct bpf_object *obj, const char *name, enum bpf_map_type type, uint32_t max,
                  uint32_t ksz, uint32_t vsz)
{
    struct bpf_map *m = bpf_object__find_map_by_name(obj, name);

    CHECK(m != NULL);
    if (!m)
        return -1;
    CHECK_EQ(bpf_map__type(m), type);
    CHECK_EQ(bpf_map__max_entries(m), max);
    CHECK_EQ(bpf_map__key_size(m), ksz);
    CHECK_EQ(bpf_map__value_size(m), vsz);
    return bpf_map__fd(m);
}

/* Opens and loads the embedded object.  Returns 0, 77 (not permitted) or 1. */
static int prog_open(struct prog *pr)
{
    memset(pr, 0, sizeof(*pr));
    LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "jet_xdp");
    pr->obj = bpf_object__open_mem(jet_xdp_obj, (size_t)(jet_xdp_obj_end - jet_xdp_obj), &oo);
    REQUIRE(pr->obj != NULL);
    struct bpf_program *p = bpf_object__find_program_by_name(pr->obj, JET_XDP_PROG_NAME);
    REQUIRE(p != NULL);
    CHECK_EQ(bpf_program__type(p), BPF_PROG_TYPE_XDP);
    /* libbpf loads an "xdp.frags" program with BPF_F_XDP_HAS_FRAGS (it
     * does not show in bpf_program__flags()); the 9000-byte rows prove it:
     * test_run refuses a frame longer than a page to a program without. */
    CHECK(strcmp(bpf_program__section_name(p), "xdp.frags") == 0);

    /* libxdp's view: the run config it would use in its dispatcher. */
    struct xdp_program *xp = xdp_program__from_bpf_obj(pr->obj, "xdp.frags");
    CHECK(libxdp_get_error(xp) == 0);
    if (!libxdp_get_error(xp)) {
        CHECK(strcmp(xdp_program__name(xp), JET_XDP_PROG_NAME) == 0);
        CHECK_EQ(xdp_program__run_prio(xp), 50);
        CHECK(xdp_program__chain_call_enabled(xp, XDP_PASS));
        CHECK(!xdp_program__chain_call_enabled(xp, XDP_REDIRECT));
        CHECK(!xdp_program__chain_call_enabled(xp, XDP_DROP));
        xdp_program__close(xp); /* the object is not its: it stays open */
    }

    int err = bpf_object__load(pr->obj);
    if (err == -EPERM) { /* the verifier's refusals are -EACCES or -EINVAL */
        printf("skip: loading a BPF program needs CAP_BPF (root)\n");
        return 77;
    }
    REQUIRE(err == 0);
    pr->prog_fd = bpf_program__fd(p);
    pr->xsks_fd = map_fd(pr->obj, JET_XDP_MAP_XSKS, BPF_MAP_TYPE_XSKMAP, JET_XDP_MAX_QUEUES, 4, 4);
    pr->addrs_fd = map_fd(pr->obj, JET_XDP_MAP_ADDRS, BPF_MAP_TYPE_HASH, JET_XDP_MAX_ADDRS, 4, 4);
    pr->ports_fd = map_fd(pr->obj, JET_XDP_MAP_PORTS, BPF_MAP_TYPE_HASH, JET_XDP_MAX_PORTS,
                          sizeof(struct jet_xdp_port), 4);
    pr->stats_fd =
        map_fd(pr->obj, JET_XDP_MAP_STATS, BPF_MAP_TYPE_PERCPU_ARRAY, JET_XDP_ST_N, 4, 8);
    REQUIRE(pr->prog_fd >= 0 && pr->xsks_fd >= 0 && pr->addrs_fd >= 0 && pr->ports_fd >= 0 &&
            pr->stats_fd >= 0);
    pr->ncpu = libbpf_num_possible_cpus();
    REQUIRE(pr->ncpu > 0);
    pr->percpu = calloc((size_t)pr->ncpu, sizeof(uint64_t));
    REQUIRE(pr->percpu != NULL);

    /* What the stack would own: two addresses, a TCP and a UDP port. */
    uint32_t k = addr(IP_OURS), v = 0;
    REQUIRE(bpf_map_update_elem(pr->addrs_fd, &k, &v, BPF_ANY) == 0);
    k = addr(IP_ALL);
    v = JET_XDP_ADDR_ALL;
    REQUIRE(bpf_map_update_elem(pr->addrs_fd, &k, &v, BPF_ANY) == 0);
    struct jet_xdp_port pk = {.proto = TCP, .port = htons(PORT_TCP)};
    v = 1;
    REQUIRE(bpf_map_update_elem(pr->ports_fd, &pk, &v, BPF_ANY) == 0);
    pk = (struct jet_xdp_port){.proto = UDP, .port = htons(PORT_UDP)};
    REQUIRE(bpf_map_update_elem(pr->ports_fd, &pk, &v, BPF_ANY) == 0);
    return 0;
}

/* ---- part 3: a real AF_XDP socket on a veth pair ---- */

struct xsk {
    void *area;
    struct xsk_umem *umem;
    struct xsk_socket *sock;
    struct xsk_ring_prod fq;
    struct xsk_ring_cons cq, rx;
};

static int sh(const char *cmd)
{
    int rc = system(cmd);

    if (rc != 0)
        fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
    return rc;
}

static int write_file(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");

    if (!f)
        return -errno;
    int rc = fputs(s, f) < 0 ? -EIO : 0;
    if (fclose(f) != 0)
        rc = -EIO;
    return rc;
}

/* A veth pair in a namespace of our own (gone with the process). */
static int veth_up(void)
{
    if (unshare(CLONE_NEWNET) != 0) {
        printf("skip: unshare(CLONE_NEWNET): %s (needs root)\n", strerror(errno));
        return 77;
    }
    /* no IPv6 autoconfiguration chatter on the pair */
    (void)write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
    /* MTU 9000: the kernel attaches a program natively to such a veth
     * only if it declares frags support (else -ERANGE) */
    /* Two rx queues on the socket's end (the peer's one tx queue still
     * lands every frame it sends on queue 0). */
    if (sh("ip link add " IF_XSK " numrxqueues 2 mtu 9000 address 02:00:00:00:00:10 type veth"
           " peer name " IF_PEER " mtu 9000 address 02:00:00:00:00:11") ||
        sh("ip addr add " IP_KERNEL "/24 dev " IF_XSK) || sh("ip link set " IF_XSK " up") ||
        sh("ip link set " IF_PEER " up")) {
        printf("skip: cannot create a veth pair (iproute2?)\n");
        return 77;
    }
    return 0;
}

static int xsk_open(struct xsk *x)
{
    memset(x, 0, sizeof(*x));
    size_t size = (size_t)UMEM_FRAMES * UMEM_FRAME;
    x->area = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(x->area != MAP_FAILED);
    int err = xsk_umem__create(&x->umem, x->area, size, &x->fq, &x->cq, NULL);
    if (err) {
        fprintf(stderr, "xsk_umem__create: %s\n", strerror(-err));
        return err;
    }
    struct xsk_socket_config cfg = {
        .rx_size = XSK_RING_CONS__DEFAULT_NUM_DESCS,
        .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
        .bind_flags = XDP_COPY,
    };
    err = xsk_socket__create(&x->sock, IF_XSK, 0, x->umem, &x->rx, NULL, &cfg);
    if (err) {
        fprintf(stderr, "xsk_socket__create: %s\n", strerror(-err));
        return err;
    }
    uint32_t idx;
    REQUIRE(xsk_ring_prod__reserve(&x->fq, UMEM_FRAMES, &idx) == UMEM_FRAMES);
    for (uint32_t i = 0; i < UMEM_FRAMES; i++)
        *xsk_ring_prod__fill_addr(&x->fq, idx + i) = (uint64_t)i * UMEM_FRAME;
    xsk_ring_prod__submit(&x->fq, UMEM_FRAMES);
    return 0;
}

static void xsk_close(struct xsk *x)
{
    if (x->sock)
        xsk_socket__delete(x->sock);
    if (x->umem)
        (void)xsk_umem__delete(x->umem);
    if (x->area)
        munmap(x->area, (size_t)UMEM_FRAMES * UMEM_FRAME);
}

/* Waits up to `wait_ms` for one frame on the rx ring; copies it out, gives
 * the buffer back to the fill ring.  Returns its length or -1. */
static int xsk_recv(struct xsk *x, uint8_t *out, size_t cap, long wait_ms)
{
    struct timespec t0, t;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        uint32_t idx;
        if (xsk_ring_cons__peek(&x->rx, 1, &idx) == 1) {
            const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, idx);
            uint64_t a = d->addr;
            size_t n = d->len < cap ? d->len : cap;
            memcpy(out, xsk_umem__get_data(x->area, a), n);
            xsk_ring_cons__release(&x->rx, 1);
            uint32_t fi;
            if (xsk_ring_prod__reserve(&x->fq, 1, &fi) == 1) {
                *xsk_ring_prod__fill_addr(&x->fq, fi) = xsk_umem__extract_addr(a);
                xsk_ring_prod__submit(&x->fq, 1);
            }
            return (int)n;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        long ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms >= wait_ms)
            return -1;
        struct pollfd p = {.fd = xsk_socket__fd(x->sock), .events = POLLIN};
        (void)poll(&p, 1, (int)(wait_ms - ms));
    }
}

/* The socket is bound to queue 0: a frame that is ours arriving on queue 1
 * (test_run's ctx names the device and the queue) has no socket there. */
static void queue_rows(const struct prog *pr, int ifx)
{
    static const struct row r = ETH("jetstream frame", 0x88B5, -1, W_NATIVE);
    static uint8_t f[FRAME_MAX];
    size_t len = build(&r, f);

    for (uint32_t q = 0; q < 2; q++) {
        struct xdp_md ctx = {
            .data_end = (uint32_t)len, .ingress_ifindex = (uint32_t)ifx, .rx_queue_index = q};
        LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = (uint32_t)len,
                    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);
        uint64_t before[JET_XDP_ST_N], after[JET_XDP_ST_N];
        stats_read(pr, before);
        int err = bpf_prog_test_run_opts(pr->prog_fd, &o);
        stats_read(pr, after);
        CHECK_EQ(err, 0);
        int st = q == 0 ? JET_XDP_ST_NATIVE : JET_XDP_ST_NO_XSK;
        CHECK_EQ(o.retval, q == 0 ? XDP_REDIRECT : XDP_PASS);
        for (int i = 0; i < JET_XDP_ST_N; i++)
            CHECK_EQ(after[i] - before[i], i == st ? 1 : 0);
    }
}

static uint16_t csum(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;

    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* An echo request from the peer to the kernel's address, checksums right. */
static size_t build_ping(uint8_t *f, uint16_t seq)
{
    static const struct row r = IP("ping", IP_KERNEL, ICMP, 0, W_PASS);
    size_t len = build(&r, f);
    uint8_t *ip = f + ETH_HLEN_, *icmp = ip + 20;

    memset(icmp, 0, 8);
    icmp[0] = 8; /* echo request */
    put16(icmp + 4, PING_ID);
    put16(icmp + 6, seq);
    put16(icmp + 2, csum(icmp, len - ETH_HLEN_ - 20));
    put16(ip + 10, csum(ip, 20));
    return len;
}

static int is_arp_reply(const uint8_t *f, size_t n, uint16_t seq)
{
    uint32_t spa = addr(IP_KERNEL), tpa = addr(IP_OTHER);

    (void)seq;
    return n >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[20] == 0 && f[21] == 2 &&
           memcmp(f + 28, &spa, 4) == 0 && memcmp(f + 38, &tpa, 4) == 0;
}

static int is_echo_reply(const uint8_t *f, size_t n, uint16_t seq)
{
    uint32_t src = addr(IP_KERNEL);
    const uint8_t *ip = f + ETH_HLEN_, *icmp = ip + 20;

    return n >= ETH_HLEN_ + 28 && f[12] == 0x08 && f[13] == 0x00 && ip[0] == 0x45 &&
           ip[9] == ICMP && memcmp(ip + 12, &src, 4) == 0 && icmp[0] == 0 &&
           icmp[4] == PING_ID >> 8 && icmp[5] == (PING_ID & 0xff) && icmp[6] == seq >> 8 &&
           icmp[7] == (seq & 0xff);
}

/* Waits up to 1 s for a frame on the AF_PACKET socket that `match` takes. */
static int wait_for(int s, int (*match)(const uint8_t *, size_t, uint16_t), uint16_t seq)
{
    static uint8_t f[FRAME_MAX];
    struct timespec t0, t;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        ssize_t n = recv(s, f, sizeof(f), MSG_DONTWAIT);
        if (n > 0 && match(f, (size_t)n, seq))
            return 1;
        if (n > 0)
            continue;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms >= 1000)
            return 0;
        struct pollfd p = {.fd = s, .events = POLLIN};
        (void)poll(&p, 1, (int)(1000 - ms));
    }
}

/* While the program is attached the kernel keeps its own traffic: it
 * answers ARP and ping for its address, sent from the peer end. */
static void kernel_answers(int s, const struct sockaddr_ll *to, const char *mname, uint16_t seq)
{
    static const struct row arp = ARP("ARP for the kernel's address", IP_KERNEL, 0, -1, W_PASS);
    static uint8_t f[FRAME_MAX];
    size_t len = build(&arp, f);

    CHECK_EQ(sendto(s, f, len, 0, (const struct sockaddr *)to, sizeof(*to)), (long long)len);
    int got_arp = wait_for(s, is_arp_reply, 0);
    CHECK(got_arp);
    len = build_ping(f, seq);
    CHECK_EQ(sendto(s, f, len, 0, (const struct sockaddr *)to, sizeof(*to)), (long long)len);
    int got_ping = wait_for(s, is_echo_reply, seq);
    CHECK(got_ping);
    fprintf(stderr, "live, %s mode: the kernel answered ARP %s, ping %s\n", mname,
            got_arp ? "yes" : "NO", got_ping ? "yes" : "NO");
}

/* Frames sent from the peer end through the attached program: the ones
 * that are ours arrive on the socket in order, the one that is not does not. */
static void live(const struct prog *pr, struct xsk *x, int ifx, int ifpeer, uint32_t mode)
{
    const char *mname = mode == XDP_FLAGS_DRV_MODE ? "native" : "generic";
    int err = bpf_xdp_attach(ifx, pr->prog_fd, mode, NULL);
    if (err) {
        fprintf(stderr, "attach in %s mode: %s\n", mname, strerror(-err));
        CHECK(err == 0);
        return;
    }
    int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL_));
    REQUIRE(s >= 0);
    struct sockaddr_ll to = {.sll_family = AF_PACKET,
                             .sll_protocol = htons(ETH_P_ALL_),
                             .sll_ifindex = ifpeer,
                             .sll_halen = 6};
    REQUIRE(bind(s, (const struct sockaddr *)&to, sizeof(to)) == 0);
    memcpy(to.sll_addr, mac_xsk, 6);

    static const struct row sent[] = {
        ETH("live jetstream frame", 0x88B5, -1, W_NATIVE),
        IP("live UDP to another address", IP_OTHER, UDP, PORT_UDP, W_PASS),
        IP("live UDP to an unowned port", IP_OURS, UDP, PORT_OTHER, W_PASS),
        IP("live UDP to an owned port", IP_OURS, UDP, PORT_UDP, W_IP),
        ARP("live ARP for our address", IP_OURS, 0, -1, W_ARP),
    };
    static uint8_t f[FRAME_MAX], got[FRAME_MAX];
    uint64_t before[JET_XDP_ST_N], after[JET_XDP_ST_N];
    stats_read(pr, before);
    for (size_t i = 0; i < sizeof(sent) / sizeof(sent[0]); i++) {
        size_t len = build(&sent[i], f);
        f[len - 1] = (uint8_t)i; /* which one it is */
        CHECK_EQ(sendto(s, f, len, 0, (struct sockaddr *)&to, sizeof(to)), (long long)len);
    }
    int n_ours = 0;
    for (size_t i = 0; i < sizeof(sent) / sizeof(sent[0]); i++) {
        if (sent[i].want == W_PASS)
            continue;
        size_t len = build(&sent[i], f);
        f[len - 1] = (uint8_t)i;
        int n = xsk_recv(x, got, sizeof(got), 1000);
        CHECK_EQ(n, (long long)len);
        CHECK(n == (int)len && memcmp(got, f, len) == 0);
        if (n != (int)len || memcmp(got, f, len) != 0)
            fprintf(stderr, "  %s mode: \"%s\" not received on the AF_XDP socket (%d)\n", mname,
                    sent[i].name, n);
        else
            n_ours++;
    }
    CHECK_EQ(xsk_recv(x, got, sizeof(got), 100), -1); /* nothing else */
    stats_read(pr, after);
    CHECK_EQ(after[JET_XDP_ST_NATIVE] - before[JET_XDP_ST_NATIVE], 1);
    CHECK_EQ(after[JET_XDP_ST_IP] - before[JET_XDP_ST_IP], 1);
    CHECK_EQ(after[JET_XDP_ST_ARP] - before[JET_XDP_ST_ARP], 1);
    CHECK(after[JET_XDP_ST_PASS] - before[JET_XDP_ST_PASS] >= 2);
    CHECK_EQ(after[JET_XDP_ST_NO_XSK] - before[JET_XDP_ST_NO_XSK], 0);
    fprintf(stderr, "live, %s mode: %d of 3 frames that are ours on the AF_XDP socket\n", mname,
            n_ours);
    kernel_answers(s, &to, mname, (uint16_t)mode);
    close(s);
    CHECK_EQ(bpf_xdp_detach(ifx, mode, NULL), 0);
}

int main(void)
{
    struct prog pr;

    libbpf_set_print(libbpf_log);
    int rc = prog_open(&pr);
    if (rc)
        return rc;
    run_table(&pr, 0, 0);

    rc = veth_up();
    if (rc == 0) {
        struct xsk x;
        int ifx = (int)if_nametoindex(IF_XSK), ifpeer = (int)if_nametoindex(IF_PEER);
        REQUIRE(ifx > 0 && ifpeer > 0);
        REQUIRE(xsk_open(&x) == 0);
        REQUIRE(xsk_socket__update_xskmap(x.sock, pr.xsks_fd) == 0);
        run_table(&pr, 1, 0);
        /* the whole interface the stack's (jet_link_own {0, 0, 0}) */
        uint32_t any = 0, all = JET_XDP_ADDR_ALL;
        REQUIRE(bpf_map_update_elem(pr.addrs_fd, &any, &all, BPF_ANY) == 0);
        run_table(&pr, 1, 1);
        REQUIRE(bpf_map_delete_elem(pr.addrs_fd, &any) == 0);
        run_table(&pr, 1, 0);
        queue_rows(&pr, ifx);
        live(&pr, &x, ifx, ifpeer, XDP_FLAGS_DRV_MODE);
        live(&pr, &x, ifx, ifpeer, XDP_FLAGS_SKB_MODE);
        xsk_close(&x);
    }
    bpf_object__close(pr.obj);
    free(pr.percpu);
    rc = check_done("test_xdp_prog") ? 1 : rc;
    return rc;
}
