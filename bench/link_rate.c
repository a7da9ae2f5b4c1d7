/* link_rate: the raw frame rate of a link between two network namespaces,
 * or of the plain AF_PACKET reference it is measured against (bench/links.sh,
 * docs/bench.md).
 *
 *   link_rate --tx LINK --rx LINK [--tx-ns NS] [--rx-ns NS] --frame BYTES -t SECS [--json]
 *   link_rate --ref TXIF,RXIF    [--tx-ns NS] [--rx-ns NS] --frame BYTES -t SECS [--json]
 *
 * (--tx af_packet:IF or --rx af_packet:IF makes that one end the reference's:
 * --ref TX,RX is both.)
 *
 * A fork()ed child enters the receiving namespace, opens the receiving end
 * (station 2) and busy-polls it, counting and giving back every frame; the
 * parent enters the sending namespace, opens the sending end (station 1) and
 * sends native frames to station 2 as fast as the link takes them for SECS
 * (tx_alloc, write the 24-byte header, tx_commit; tx_flush every burst).
 * BYTES is the Ethernet frame on the wire (14-byte header included): the
 * native frame is BYTES - 14 (udp: BYTES - 42, for its IPv4 and UDP headers,
 * at least a native header).  The reference (--ref) is the least an
 * AF_PACKET program does for the same frames: sendmmsg of 64 frames from one
 * buffer on a SOCK_RAW socket bound to TXIF, recvmmsg of 64 into private
 * buffers on one bound to RXIF for EtherType 0x88B5 (SO_RCVBUF 8 MiB, about
 * the packet: link's ring), no ring.
 *
 * The rate is what arrived: frames received / seconds sent (the receiver
 * drains for 100 ms after the sender stops).  Output: one JSON object
 * {"backend", "frame", "seconds", "sent", "received", "tx_mpps", "mpps",
 * "gbps"}; on failure {"error": REASON} and exit 1 (e.g. a link not built
 * yet); 2 on bad arguments. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jet/frame.h"
#include "jet/link.h"

enum { BURST = 64, ST_TX = 1, ST_RX = 2 };

struct shared {
    atomic_int ready, stop, failed;
    char why[512];
    uint64_t received, bytes;
};

static struct {
    const char *tx, *rx, *ref, *tx_ns, *rx_ns;
    uint32_t frame;
    double secs;
    bool json;
} o = {.frame = 64, .secs = 1};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int enter(const char *ns, char *why, size_t cap)
{
    if (!ns)
        return 0;
    char path[256];
    snprintf(path, sizeof path, "/run/netns/%s", ns);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET)) {
        snprintf(why, cap, "cannot enter network namespace %s: %s", ns, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

static int raw_socket(const char *ifname, uint16_t proto, char *why, size_t cap)
{
    int s = socket(AF_PACKET, SOCK_RAW, 0);
    struct sockaddr_ll a = {.sll_family = AF_PACKET,
                            .sll_protocol = htons(proto),
                            .sll_ifindex = (int)if_nametoindex(ifname)};
    if (s < 0 || !a.sll_ifindex || bind(s, (struct sockaddr *)&a, sizeof a)) {
        snprintf(why, cap, "AF_PACKET on %s: %s", ifname, strerror(errno));
        if (s >= 0)
            close(s);
        return -1;
    }
    return s;
}

#define REF "af_packet:" /* --tx/--rx af_packet:IF: that end is the reference */

static bool is_ref(const char *name)
{
    return !strncmp(name, REF, strlen(REF));
}

/* ---- the receiving side (child) ---- */

static void receive(struct shared *sh)
{
    if (enter(o.rx_ns, sh->why, sizeof sh->why))
        goto failed;
    uint64_t n = 0, bytes = 0;
    double stop_at = 0;
    if (is_ref(o.rx)) {
        int s = raw_socket(o.rx + strlen(REF), JET_ETHERTYPE, sh->why, sizeof sh->why);
        if (s < 0)
            goto failed;
        /* a receive buffer near the packet: link's ring (5 MiB at MTU 1500),
         * so that both ride out the same moments without a CPU alike */
        int rb = 8 << 20;
        setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &rb, sizeof rb);
        static uint8_t buf[BURST][9216];
        struct mmsghdr mm[BURST];
        struct iovec iov[BURST];
        for (int i = 0; i < BURST; i++) {
            iov[i] = (struct iovec){buf[i], sizeof buf[i]};
            mm[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
        }
        atomic_store(&sh->ready, 1);
        for (;;) {
            int r = recvmmsg(s, mm, BURST, MSG_DONTWAIT, NULL);
            if (r > 0) {
                n += (uint64_t)r;
                for (int i = 0; i < r; i++)
                    bytes += mm[i].msg_len;
                continue;
            }
            if (atomic_load(&sh->stop)) {
                if (!stop_at)
                    stop_at = now_s();
                else if (now_s() - stop_at > 0.1)
                    break;
            }
        }
        close(s);
    } else {
        struct jet_link_opts lo = {.station = ST_RX};
        struct jet_link *l;
        struct jet_err err = {0};
        if (jet_link_open(o.rx, &lo, &l, &err)) {
            snprintf(sh->why, sizeof sh->why, "open %s: %s", o.rx, err.msg);
            goto failed;
        }
        atomic_store(&sh->ready, 1);
        struct jet_frame f[BURST];
        for (;;) {
            int r = jet_link_rx_burst(l, f, BURST);
            if (r > 0) {
                n += (uint64_t)r;
                for (int i = 0; i < r; i++)
                    bytes += f[i].len;
                jet_link_rx_release(l, f, (unsigned)r);
                continue;
            }
            if (r < 0) {
                snprintf(sh->why, sizeof sh->why, "receive: %s", jet_link_error(l));
                jet_link_close(l);
                goto failed;
            }
            if (atomic_load(&sh->stop)) {
                if (!stop_at)
                    stop_at = now_s();
                else if (now_s() - stop_at > 0.1)
                    break;
            }
        }
        jet_link_close(l);
    }
    sh->received = n;
    sh->bytes = bytes;
    _exit(0);
failed:
    atomic_store(&sh->failed, 1);
    atomic_store(&sh->ready, 1);
    _exit(1);
}

/* ---- the sending side (parent) ---- */

static int send_ref(uint64_t *sent, double *secs, char *why, size_t cap)
{
    int s = raw_socket(o.tx + strlen(REF), 0, why, cap);
    if (s < 0)
        return -1;
    static uint8_t fr[9200];
    memset(fr, 0xff, 6);
    memset(fr + 6, 0x02, 6);
    fr[12] = JET_ETHERTYPE >> 8, fr[13] = JET_ETHERTYPE & 255;
    struct jet_frame_hdr h = {.src_station = ST_TX,
                              .dst_station = ST_RX,
                              .dst_chan = 7,
                              .src_chan = 7,
                              .payload_len = o.frame - 14 - JET_FRAME_HDR_LEN};
    jet_frame_emit_hdr(fr + 14, JET_FRAME_HDR_LEN, &h); /* what a link's receiver takes */
    struct mmsghdr mm[BURST];
    struct iovec iov = {fr, o.frame};
    for (int i = 0; i < BURST; i++)
        mm[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov, .msg_iovlen = 1}};
    uint64_t n = 0;
    double t0 = now_s(), t;
    do {
        int r = sendmmsg(s, mm, BURST, MSG_DONTWAIT);
        if (r > 0)
            n += (uint64_t)r;
    } while ((t = now_s()) - t0 < o.secs);
    close(s);
    *sent = n;
    *secs = t - t0;
    return 0;
}

static int send_link(struct jet_link *l, uint64_t *sent, double *secs, char *why, size_t cap)
{
    uint8_t hdr[JET_FRAME_HDR_LEN];
    /* the same bytes on the wire: udp: puts IPv4 and UDP headers in front too */
    uint32_t nlen = o.frame - 14 - (strncmp(o.tx, "udp:", 4) ? 0 : 28);
    if (nlen < JET_FRAME_HDR_LEN)
        nlen = JET_FRAME_HDR_LEN;
    struct jet_frame_hdr h = {.src_station = ST_TX,
                              .dst_station = ST_RX,
                              .dst_chan = 7,
                              .src_chan = 7,
                              .payload_len = nlen - JET_FRAME_HDR_LEN};
    jet_frame_emit_hdr(hdr, sizeof hdr, &h);
    uint64_t n = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < BURST; i++) {
            struct jet_frame f;
            if (jet_link_tx_alloc(l, &f))
                break; /* full: flush */
            memcpy(f.data, hdr, sizeof hdr);
            f.len = nlen;
            f.encap = JET_ENCAP_NATIVE;
            int rc = jet_link_tx_commit(l, &f);
            if (rc) {
                snprintf(why, cap, "commit: %s", jet_link_error(l));
                return -1;
            }
        }
        int rc = jet_link_tx_flush(l);
        if (rc < 0) {
            snprintf(why, cap, "flush: %s", jet_link_error(l));
            return -1;
        }
    } while ((t = now_s()) - t0 < o.secs);
    jet_link_tx_flush(l);
    struct jet_link_stats st;
    if (jet_link_stats(l, &st) == 0)
        n = st.tx_frames;
    *sent = n;
    *secs = t - t0;
    return 0;
}

static int fail_json(const char *why)
{
    if (o.json)
        printf("{\"error\": \"%s\"}\n", why); /* reasons hold no quotes or backslashes */
    fprintf(stderr, "link_rate: %s\n", why);
    return 1;
}

static int usage(void)
{
    fprintf(stderr, "usage: link_rate (--tx LINK --rx LINK | --ref TXIF,RXIF) [--tx-ns NS] "
                    "[--rx-ns NS] --frame BYTES -t SECS [--json]\n");
    return 2;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"tx", 1, 0, 'T'},    {"rx", 1, 0, 'R'},    {"ref", 1, 0, 'r'},  {"tx-ns", 1, 0, 'a'},
        {"rx-ns", 1, 0, 'b'}, {"frame", 1, 0, 'f'}, {"json", 0, 0, 'j'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "t:", lo, NULL)) != -1) {
        switch (c) {
        case 'T':
            o.tx = optarg;
            break;
        case 'R':
            o.rx = optarg;
            break;
        case 'r':
            o.ref = optarg;
            break;
        case 'a':
            o.tx_ns = optarg;
            break;
        case 'b':
            o.rx_ns = optarg;
            break;
        case 'f':
            o.frame = (uint32_t)atoi(optarg);
            break;
        case 't':
            o.secs = atof(optarg);
            break;
        case 'j':
            o.json = true;
            break;
        default:
            return usage();
        }
    }
    static char rtx[64], rrx[64];
    if (o.ref && strchr(o.ref, ',') && !o.tx && !o.rx) {
        snprintf(rtx, sizeof rtx, REF "%.*s", (int)(strchr(o.ref, ',') - o.ref), o.ref);
        snprintf(rrx, sizeof rrx, REF "%.40s", strchr(o.ref, ',') + 1);
        o.tx = rtx, o.rx = rrx;
    }
    if (!o.tx || !o.rx || o.frame < 14 + 28 || o.frame > 9000 || o.secs <= 0 || o.secs > 60)
        return usage();
    struct shared *sh =
        mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        return fail_json("mmap failed");
    pid_t pid = fork();
    if (pid < 0)
        return fail_json("fork failed");
    if (pid == 0)
        receive(sh);
    char why[600] = "";
    struct jet_link *l = NULL;
    int rc = enter(o.tx_ns, why, sizeof why);
    if (rc == 0 && !is_ref(o.tx)) {
        struct jet_link_opts lopt = {.station = ST_TX};
        struct jet_err err = {0};
        if ((rc = jet_link_open(o.tx, &lopt, &l, &err)))
            snprintf(why, sizeof why, "open %s: %s", o.tx, err.msg);
    }
    double t0 = now_s();
    while (!atomic_load(&sh->ready) && now_s() - t0 < 10)
        usleep(1000);
    if (atomic_load(&sh->failed) || !atomic_load(&sh->ready)) {
        snprintf(why, sizeof why, "%s", atomic_load(&sh->ready) ? sh->why : "receiver not ready");
        rc = -1;
    }
    uint64_t sent = 0;
    double secs = 0;
    if (rc == 0) {
        usleep(20000); /* the receiving end settles */
        rc = is_ref(o.tx) ? send_ref(&sent, &secs, why, sizeof why)
                          : send_link(l, &sent, &secs, why, sizeof why);
    }
    if (l)
        jet_link_close(l);
    atomic_store(&sh->stop, 1);
    int ws = 0;
    waitpid(pid, &ws, 0);
    if (rc == 0 && !(WIFEXITED(ws) && WEXITSTATUS(ws) == 0)) {
        snprintf(why, sizeof why, "receiver failed: %.500s", sh->why);
        rc = -1;
    }
    if (rc)
        return fail_json(why);
    double mpps = (double)sh->received / secs / 1e6;
    if (o.json)
        printf("{\"backend\": \"%s\", \"frame\": %u, \"seconds\": %.3f, \"sent\": %llu, "
               "\"received\": %llu, \"tx_mpps\": %.4f, \"mpps\": %.4f, \"gbps\": %.3f}\n",
               is_ref(o.tx) && is_ref(o.rx) ? "af_packet" : o.tx, o.frame, secs,
               (unsigned long long)sent, (unsigned long long)sh->received,
               (double)sent / secs / 1e6, mpps, mpps * o.frame * 8 / 1e3);
    else
        printf("%s: %u-byte frames: sent %llu, received %llu in %.2f s: %.3f Mpps, %.2f Gbit/s\n",
               is_ref(o.tx) && is_ref(o.rx) ? "af_packet" : o.tx, o.frame, (unsigned long long)sent,
               (unsigned long long)sh->received, secs, mpps, mpps * o.frame * 8 / 1e3);
    return 0;
}
