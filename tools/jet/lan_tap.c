/* jet lan tap: a Linux TAP interface as a station of an emulated LAN, so that
 * the kernel's TCP/IP (and any unmodified program) runs across the LAN,
 * subject to its rate and faults.
 *
 * In the order it runs:
 *   tap_main       parses the command line, opens station K of lan:NAME
 *                  (the station's MAC is caps.mac: 02:4a:53:xx:yy:K), opens
 *                  tap:IF with rx_max_frame = the LAN's largest Ethernet
 *                  frame (capped at 14 + 65535), then configures the
 *                  interface over rtnetlink (rtnl.c): down, MAC = the
 *                  station's (so the LAN's unicast to K reaches this kernel),
 *                  MTU = the LAN's (capped at 65521, a TAP's largest) or
 *                  --mtu, into --netns, --ip, up; prints one line and
 *                  forwards until SIGINT or SIGTERM; closing the tap link
 *                  removes the interface.
 *   bridge_run     the loop: tap_to_lan, lan_to_tap, flush the LAN; when
 *                  neither moved anything, arm both links and sleep in ppoll
 *                  on both descriptors.
 *   tap_to_lan     frames the kernel sent are read straight into LAN
 *                  buffers (tap_link_read_into: the kernel's copy is the
 *                  only one, the partial checksum completed in place) and
 *                  committed as Ethernet frames; the LAN delivers them by
 *                  destination MAC (group addresses to every station).  A
 *                  frame the tap link must lend itself (longer than the LAN
 *                  buffer, or segments of a GSO frame it cut to
 *                  rx_max_frame) is taken with rx_burst and copied.
 *   lan_to_tap     Ethernet frames the LAN delivered to this station are
 *                  written to the kernel straight from the LAN's buffers
 *                  (tap_link_write_from: one longer than the interface's
 *                  MTU goes as a GSO frame, its TCP checksum field
 *                  rewritten in the buffer).  Native Jetstream frames
 *                  (broadcasts of other stations) are not the kernel's:
 *                  dropped and counted.
 *
 * Back-pressure: while the LAN has no buffer or queue room (-EAGAIN,
 * -ENOBUFS at tx_alloc) the TAP is not read, and a LAN frame the kernel
 * does not take now (-EAGAIN) stays lent and the LAN is not read until it
 * has gone, so a slow side makes the other wait (its kernel queue or the
 * LAN ring fills) instead of dropping here.  What is dropped
 * (no such station, too large, native, refused) is counted and printed when
 * the command stops. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "jet/ip.h"
#include "link/tap.h"
#include "rtnl.h"
#include "util/parse.h"

enum {
    BURST = 64,                  /* frames taken from a link per rx_burst */
    IFMTU_MIN = 576,             /* the tap link's least MTU */
    IFMTU_MAX = 65521,           /* a TAP's largest MTU (65535 - its 14-byte header) */
    IP_MAX = 65535,              /* the largest IPv4 packet */
    ETH_HDR = 14,
    IDLE_SPINS = 64,             /* empty passes before sleeping */
    BLOCKED_WAIT_NS = 50000,     /* frames held for a busy link: look again this soon */
    SLEEP_MS = 200,              /* longest sleep (the stop flag is looked at after it) */
};

static volatile sig_atomic_t tap_stop;

static void on_signal(int sig)
{
    (void)sig;
    tap_stop = 1;
}

struct bridge_counts {
    uint64_t tap_frames, tap_bytes; /* from the kernel onto the LAN */
    uint64_t lan_frames, lan_bytes; /* from the LAN to the kernel */
    uint64_t unreach;   /* to a MAC that is no station of the LAN, or one not attached */
    uint64_t too_big;   /* longer than the other side takes */
    uint64_t native;    /* native Jetstream frames from the LAN */
    uint64_t refused;   /* any other error of a tx_commit or write */
    uint64_t sleeps;    /* times the loop slept */
};

/* Frames lent by one link (rx_burst), [i, n) not forwarded yet. */
struct lent {
    struct jet_frame f[BURST];
    unsigned i, n;
};

struct bridge {
    struct jet_link *lan, *tap;
    uint32_t lan_max_eth; /* longest Ethernet frame the LAN carries */
    struct lent from_tap, from_lan;
    bool tap_waits;       /* the kernel's next frame waits for room on the LAN */
    struct bridge_counts c;
};

/* Takes a burst from l into s when s has nothing left: how many s holds
 * now, or a negative errno. */
static int take(struct jet_link *l, struct lent *s, struct jet_err *err)
{
    if (s->i == s->n) {
        int n = jet_link_rx_burst(l, s->f, BURST);
        if (n < 0)
            return jet_err_set(err, n, "%s", jet_link_error(l));
        s->i = 0;
        s->n = (unsigned)n;
    }
    return (int)(s->n - s->i);
}

/* Books the outcome rc of sending a frame of len bytes one way (its
 * frames and bytes counters): 0 sent, else why it was dropped. */
static void count(struct bridge_counts *c, int rc, uint32_t len, uint64_t *frames,
                  uint64_t *bytes)
{
    if (rc == 0) {
        ++*frames;
        *bytes += len;
    } else if (rc == -EHOSTUNREACH) {
        c->unreach++;
    } else if (rc == -EMSGSIZE) {
        c->too_big++;
    } else if (rc == -EPROTONOSUPPORT) {
        c->native++;
    } else {
        c->refused++;
    }
}

/* Moves frames the kernel sent onto the LAN: each read straight into a LAN
 * buffer (tap_link_read_into), or, when the tap link has frames it must
 * lend itself (one too long for the buffer, segments of a GSO frame it
 * cut), copied from those.  Returns how many it took (0 if none), or a
 * negative errno when a link failed for good. */
static int tap_to_lan(struct bridge *b, struct jet_err *err)
{
    struct lent *s = &b->from_tap;
    int moved = 0, rc;
    b->tap_waits = false;
    while (moved < BURST) {
        struct jet_frame o;
        rc = jet_link_tx_alloc(b->lan, &o);
        if (rc == -EAGAIN) { /* its queue is full: push it out, then try again */
            jet_link_tx_flush(b->lan);
            rc = jet_link_tx_alloc(b->lan, &o);
        }
        if (rc == -EAGAIN || rc == -ENOBUFS) {
            b->tap_waits = true; /* the kernel's frames wait until the LAN has room */
            break;
        }
        if (rc < 0)
            return jet_err_set(err, rc, "%s", jet_link_error(b->lan));
        uint32_t cap = o.cap < b->lan_max_eth ? o.cap : b->lan_max_eth, len;
        if (s->i < s->n) {
            struct jet_frame *f = &s->f[s->i++];
            len = f->len;
            if (len <= cap)
                memcpy(o.data, f->data, len);
            jet_link_rx_release(b->tap, f, 1);
        } else {
            rc = tap_link_read_into(b->tap, o.data, cap, &len);
            if (rc != 1) {
                jet_link_tx_abort(b->lan, &o);
                if (rc < 0)
                    return jet_err_set(err, rc, "%s", jet_link_error(b->tap));
                if (rc == TAP_READ_BURST && (rc = take(b->tap, s, err)) > 0)
                    continue;
                if (rc < 0)
                    return rc;
                break; /* the kernel sent nothing more */
            }
        }
        if (len > cap) {
            jet_link_tx_abort(b->lan, &o);
            rc = -EMSGSIZE;
        } else {
            o.len = len;
            o.encap = JET_ENCAP_ETH;
            o.cls = 0;
            rc = jet_link_tx_commit(b->lan, &o);
            if (rc == -EIO) /* the station is lost */
                return jet_err_set(err, rc, "%s", jet_link_error(b->lan));
        }
        count(&b->c, rc, len, &b->c.tap_frames, &b->c.tap_bytes);
        moved++;
    }
    return moved;
}

/* Writes the Ethernet frames the LAN delivered to the kernel, each straight
 * from the LAN's buffer (tap_link_write_from). */
static int lan_to_tap(struct bridge *b, struct jet_err *err)
{
    struct lent *s = &b->from_lan;
    int rc = take(b->lan, s, err);
    if (rc <= 0)
        return rc;
    unsigned start = s->i;
    while (s->i < s->n) {
        struct jet_frame *f = &s->f[s->i];
        /* A TCP checksum from the LAN may be partial (caps.csum: Jetstream senders
         * leave it so): the kernel gets it as NEEDS_CSUM, which it trusts as checked */
        uint32_t gso = b->lan->caps.csum ? 0xFFFF : 0;
        rc = f->encap == JET_ENCAP_ETH ? tap_link_write_from_gso(b->tap, f->data, f->len, gso)
                                       : -EPROTONOSUPPORT; /* native: not the kernel's */
        if (rc == -EAGAIN)
            break; /* held until the kernel takes frames again */
        s->i++;
        count(&b->c, rc, f->len, &b->c.lan_frames, &b->c.lan_bytes);
    }
    if (s->i > start)
        jet_link_rx_release(b->lan, s->f + start, s->i - start);
    return (int)(s->i - start);
}

/* Arms l for sleeping: 1 if it has work now, 0 armed, negative on failure.
 * A link without arm has a level-triggered descriptor: nothing to do. */
static int arm(struct jet_link *l)
{
    int rc = jet_link_arm(l);
    return rc == -EOPNOTSUPP ? 0 : rc;
}

/* Sleeps until either link may have work.  A link whose frames are held
 * (the other side is busy) is not waited on: the wait is short then, and
 * the held frames are offered again after it.  Returns 1 without sleeping
 * when a link says it has work (a frame came in, or frames wait to go out);
 * with `brief` set (it said so last time too, and the pass between found
 * nothing: frames wait for room at the far end) it sleeps briefly anyway. */
static int bridge_sleep(struct bridge *b, int lan_fd, int tap_fd, bool brief)
{
    bool held_tap = b->from_tap.i < b->from_tap.n || b->tap_waits,
         held_lan = b->from_lan.i < b->from_lan.n;
    struct pollfd p[2];
    nfds_t n = 0;
    jet_link_tx_flush(b->lan);
    jet_link_tx_flush(b->tap);
    if (!held_tap) {
        int rc = arm(b->tap);
        if (rc < 0)
            return rc;
        if (rc && !brief)
            return 1;
        brief |= rc > 0;
        p[n++] = (struct pollfd){.fd = tap_fd, .events = POLLIN};
    }
    if (!held_lan) {
        int rc = arm(b->lan);
        if (rc < 0)
            return rc;
        if (rc && !brief)
            return 1;
        brief |= rc > 0;
        p[n++] = (struct pollfd){.fd = lan_fd, .events = POLLIN};
    }
    struct timespec ts = {.tv_sec = 0, .tv_nsec = SLEEP_MS * 1000000L};
    if (held_tap || held_lan || brief)
        ts.tv_nsec = BLOCKED_WAIT_NS;
    b->c.sleeps++;
    if (ppoll(p, n, &ts, NULL) < 0 && errno != EINTR)
        return -errno;
    return 0;
}

static int bridge_run(struct bridge *b, struct jet_err *err)
{
    int lan_fd = jet_link_fd(b->lan);
    if (lan_fd < 0)
        return jet_err_set(err, lan_fd, "%s", jet_link_error(b->lan));
    int tap_fd = jet_link_fd(b->tap);
    if (tap_fd < 0)
        return jet_err_set(err, tap_fd, "%s", jet_link_error(b->tap));
    unsigned idle = 0;
    bool busy = false; /* the last bridge_sleep found work instead of sleeping */
    while (!tap_stop) {
        int a = tap_to_lan(b, err);
        if (a < 0)
            return a;
        int c = lan_to_tap(b, err);
        if (c < 0)
            return c;
        if (a)
            jet_link_tx_flush(b->lan); /* the tap link wrote its frames at once */
        if (a || c) {
            idle = 0;
            busy = false;
            continue;
        }
        if (++idle < IDLE_SPINS)
            continue;
        int rc = bridge_sleep(b, lan_fd, tap_fd, busy);
        if (rc < 0)
            return jet_err_set(err, rc, "waiting: %s", strerror(-rc));
        busy = rc == 1;
    }
    return 0;
}

/* ---- command line and set-up ---- */

static void tap_help(FILE *f)
{
    fprintf(f,
            "usage: jet lan tap NAME --ifname IF [--station K] [--ip ADDR/PLEN] [--netns NS]\n"
            "                   [--mtu N]\n\n"
            "Attaches a Linux TAP interface IF to LAN NAME as a station (Ethernet framing), so\n"
            "the kernel's TCP/IP and any program run across the emulated LAN, subject to its\n"
            "rate and faults.  The interface gets the station's MAC and the LAN's MTU (at most\n"
            "65521, a TAP's largest), is moved into the network namespace NS\n"
            "(/var/run/netns/NS, as made by `ip netns add`) if given, gets the IPv4 address\n"
            "ADDR/PLEN and is brought up.  Runs until SIGINT or SIGTERM; the interface is\n"
            "removed when it stops.  Needs CAP_NET_ADMIN.  A LAN created with --mtu 65535 or more carries the kernel's\n"
            "64 KiB TCP segments whole.\n\n"
            "  --ifname IF     the TAP interface (created if it does not exist)\n"
            "  --station K     take station K (default: the first free one)\n"
            "  --ip ADDR/PLEN  IPv4 address of the interface, e.g. 198.18.7.1/24\n"
            "  --netns NS      move the interface into network namespace NS\n"
            "  --mtu N         interface MTU, 576 .. the LAN's MTU or 65521 (default: that)\n");
}

struct tap_args {
    const char *lan, *ifname, *netns, *ip;
    int station;
    uint32_t mtu, addr;
    uint8_t plen;
};

static int tap_parse(int argc, char **argv, struct tap_args *a)
{
    *a = (struct tap_args){.station = -1};
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (o[0] != '-') {
            if (a->lan)
                return usage_error("lan", "tap takes one NAME");
            a->lan = o;
            continue;
        }
        if (!v)
            return usage_error("lan", "%s needs a value", o);
        i++;
        uint64_t u;
        if (!strcmp(o, "--ifname")) {
            if (!*v || strlen(v) >= 16 || strchr(v, '/') || strchr(v, ' '))
                return usage_error("lan", "bad interface name '%s' (1 to 15 characters)", v);
            a->ifname = v;
        } else if (!strcmp(o, "--station")) {
            if (jet_parse_u64(v, &u) || u >= JET_LAN_MAX_STATIONS)
                return usage_error("lan", "bad --station '%s' (0..%d)", v, JET_LAN_MAX_STATIONS - 1);
            a->station = (int)u;
        } else if (!strcmp(o, "--ip")) {
            if (jet_ip_parse(v, &a->addr, &a->plen))
                return usage_error("lan", "bad --ip '%s' (ADDR/PLEN, e.g. 198.18.7.1/24)", v);
            a->ip = v;
        } else if (!strcmp(o, "--netns")) {
            if (!*v || strchr(v, '/') || !strcmp(v, ".") || !strcmp(v, ".."))
                return usage_error("lan", "bad --netns '%s'", v);
            a->netns = v;
        } else if (!strcmp(o, "--mtu")) {
            if (jet_parse_u64(v, &u) || u < IFMTU_MIN || u > IFMTU_MAX)
                return usage_error("lan", "bad --mtu '%s' (%d..%d)", v, IFMTU_MIN, IFMTU_MAX);
            a->mtu = (uint32_t)u;
        } else {
            return usage_error("lan", "unknown option '%s'", o);
        }
    }
    if (!a->lan)
        return usage_error("lan", "tap needs a NAME");
    if (!a->ifname)
        return usage_error("lan", "tap needs --ifname IF");
    return 0;
}

/* Gives the interface the station's MAC (the tap link set its MTU when it
 * opened it), moves it, addresses it and brings it up. */
static int configure(const struct tap_args *a, struct jet_link *tap, const uint8_t mac[6],
                     struct jet_err *err)
{
    int ns_fd = -1, fd = -1, rc;
    fd = rtnl_open(-1, err);
    if (fd < 0)
        return fd;
    int idx = tap_link_ifindex(tap);
    if (idx <= 0) {
        rc = jet_err_set(err, idx < 0 ? idx : -ENODEV, "%s: no interface index", a->ifname);
        goto out;
    }
    if ((rc = rtnl_link_set(fd, idx,
                            &(struct rtnl_link_change){.up = 0, .mac = mac, .ns_fd = -1},
                            err)))
        goto out;
    if (a->netns) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "/var/run/netns/%s", a->netns);
        ns_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (ns_fd < 0) {
            rc = jet_err_set(err, -errno, "network namespace '%s' (%s): %s", a->netns, path,
                             strerror(errno));
            goto out;
        }
        if ((rc = rtnl_link_set(fd, idx, &(struct rtnl_link_change){.up = -1, .ns_fd = ns_fd},
                                err)))
            goto out;
        close(fd);
        fd = rtnl_open(ns_fd, err); /* from here on, inside the namespace */
        if (fd < 0) {
            rc = fd;
            goto out;
        }
        idx = rtnl_link_index(fd, a->ifname, err); /* the index may change with the move */
        if (idx < 0) {
            rc = idx;
            goto out;
        }
    }
    if (a->ip && (rc = rtnl_addr_add(fd, idx, a->addr, a->plen, err)))
        goto out;
    rc = rtnl_link_set(fd, idx, &(struct rtnl_link_change){.up = 1, .ns_fd = -1}, err);
out:
    if (ns_fd >= 0)
        close(ns_fd);
    if (fd >= 0)
        close(fd);
    return rc;
}

static void print_counts(const struct bridge *b)
{
    const struct bridge_counts *c = &b->c;
    printf("stopped: kernel->lan %llu frames (%llu bytes), lan->kernel %llu frames (%llu bytes);"
           " slept %llu times; dropped: %llu no such station, %llu too large, %llu native,"
           " %llu refused\n",
           (unsigned long long)c->tap_frames, (unsigned long long)c->tap_bytes,
           (unsigned long long)c->lan_frames, (unsigned long long)c->lan_bytes,
           (unsigned long long)c->sleeps,
           (unsigned long long)c->unreach, (unsigned long long)c->too_big,
           (unsigned long long)c->native, (unsigned long long)c->refused);
}

int lan_tap_main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            tap_help(stdout);
            return 0;
        }
    struct tap_args a;
    int rc = tap_parse(argc, argv, &a);
    if (rc)
        return rc;

    struct jet_err err = {0};
    char name[128];
    snprintf(name, sizeof name, "lan:%s", a.lan);
    static struct bridge b; /* 2 x 64 frames: off the stack */
    rc = jet_link_open(name, &(struct jet_link_opts){.station = a.station}, &b.lan, &err);
    if (rc)
        return die("%s", jet_err_str(&err, rc));
    uint32_t lan_mtu = b.lan->caps.mtu, mtu_max = lan_mtu < IFMTU_MAX ? lan_mtu : IFMTU_MAX;
    uint32_t ip_max = lan_mtu < IP_MAX ? lan_mtu : IP_MAX;
    uint32_t mtu = a.mtu ? a.mtu : mtu_max;
    int ret = 1;
    if (mtu_max < IFMTU_MIN) {
        die("LAN '%s' has MTU %u: a TAP station needs at least %d", a.lan, lan_mtu, IFMTU_MIN);
        goto close_lan;
    }
    if (mtu > mtu_max) {
        die("--mtu %u is more than LAN '%s' carries (%u)", mtu, a.lan, mtu_max);
        goto close_lan;
    }
    /* The LAN takes Ethernet frames of its MTU plus a header with one VLAN
     * tag (docs/lan.md).  The kernel's frames are untagged: the tap link
     * lends its GSO frames whole up to 14 + the LAN's MTU (at most a whole
     * IPv4 packet, 14 + 65535: its 64 KiB TSO segments), cut to that
     * otherwise.  That is independent of the interface's MTU: the far end's
     * tap link writes a frame longer than its MTU as a GSO frame. */
    b.lan_max_eth = lan_mtu + 18;
    struct tap_opts to = {.rx_max_frame = ETH_HDR + ip_max, .mtu = mtu};
    rc = tap_link_open(a.ifname, &to, &b.tap, &err);
    if (rc) {
        die("%s", jet_err_str(&err, rc));
        goto close_lan;
    }
    const uint8_t *mac = b.lan->caps.mac;
    rc = configure(&a, b.tap, mac, &err);
    if (rc) {
        die("%s: %s", a.ifname, jet_err_str(&err, rc));
        goto close_tap;
    }

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    printf("lan %s station %u: MAC %02x:%02x:%02x:%02x:%02x:%02x, interface %s%s%s, MTU %u%s%s\n",
           a.lan, b.lan->caps.addr, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], a.ifname,
           a.netns ? " in netns " : "", a.netns ? a.netns : "", mtu, a.ip ? ", " : "",
           a.ip ? a.ip : "");
    fflush(stdout);

    rc = bridge_run(&b, &err);
    if (rc)
        die("%s", jet_err_str(&err, rc));
    else
        ret = 0;
    print_counts(&b);
    fflush(stdout);
    /* Frames still lent go back before the links close. */
    if (b.from_tap.i < b.from_tap.n)
        jet_link_rx_release(b.tap, b.from_tap.f + b.from_tap.i, b.from_tap.n - b.from_tap.i);
    if (b.from_lan.i < b.from_lan.n)
        jet_link_rx_release(b.lan, b.from_lan.f + b.from_lan.i, b.from_lan.n - b.from_lan.i);
    b.from_tap.i = b.from_tap.n = b.from_lan.i = b.from_lan.n = 0;
close_tap:
    jet_link_close(b.tap); /* a TAP we created goes with its descriptor */
close_lan:
    jet_link_close(b.lan);
    return ret;
}
