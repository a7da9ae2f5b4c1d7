/* TCP (include/jet/tcp.h) with the Linux kernel as the peer, over a tap: link, in a
 * private network namespace (unshare(CLONE_NEWNET): it dies with the process; skipped
 * without root).
 *
 *     kernel: jtq0 198.18.8.1/24  <--tap-->  our station 198.18.8.2/24
 *
 *   k2us     a kernel socket connects to our listener, sends 4 MB and half-closes; we
 *            check them byte by byte and answer with 3 MB and a close; the kernel
 *            reads them byte-exact to the end of stream
 *   us2k     we connect to a kernel listener and do the same the other way round
 *   refused  a kernel connect to a port of ours nobody listens on: ECONNREFUSED (our RST)
 *   reuse    a kernel client connects twice from the same port; we close first, so its
 *            second SYN meets our first connection in TIME_WAIT: a new one opens
 *   tso      we send 16 MB to a kernel listener with TSO (the tap link segments): byte-exact,
 *            no retransmission, large segments (our bytes per output call and the link's
 *            bytes per frame over the MTU), and an AF_PACKET capture with PACKET_VNET_HDR
 *            sees GSO frames whose gso_size is the wire payload: 1448 for the kernel's
 *            MSS 1460, and 988 when its listener sets TCP_MAXSEG 1000 (the MTU stays
 *            1500: gso_size follows the connection's MSS, not the MTU); then the same
 *            with TSO off (no_tso): one MSS per frame
 * In k2us and us2k the kernel's own view (TCP_INFO) must show the options agreed (SACK,
 * timestamps, window scaling) and no retransmission on this clean link.  The kernel side
 * runs in a thread with blocking sockets (timeouts set); ours in the main thread with
 * blocking calls.  Bounded to about 40 s. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "jet/chan.h"
#include "jet/ip.h"
#include "jet/link.h"
#include "jet/stack.h"
#include "jet/tcp.h"

#define KIP "198.18.8.1"
#define OUR_IP 0xC6120802u /* 198.18.8.2 */
#define K_IP 0xC6120801u
#define SEC 1000000000ll
#define K_TO_US (4u << 20)
#define US_TO_K (3u << 20)
#define TSO_BYTES (16u << 20)

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint8_t pat(uint32_t id, uint64_t i)
{
    return (uint8_t)(i * 131 + (i >> 9) * 7 + id * 29 + 3);
}

static int sh(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "'%s': %d\n", cmd, rc);
    return rc;
}

/* ---- the kernel's side ---- */

struct kside {
    pthread_t t;
    int mode;       /* 0: connect to us (k2us), 1: listen (us2k), 2: connect to a closed
                       port, 3: connect twice from one port (reuse), 4: listen and only
                       receive (tso) */
    int maxseg;     /* mode 4: TCP_MAXSEG on the listener, 0: none */
    uint16_t port;
    int lfd;        /* mode 1: the listening socket (made before the thread starts) */
    atomic_int done;
    int err;        /* errno of the first failure, 0 if none */
    const char *what;
    uint64_t rcvd;
    bool bad;
    struct tcp_info ti;
    bool have_ti;
};

static void kfail(struct kside *k, const char *what)
{
    if (!k->err) {
        k->err = errno ? errno : EIO;
        k->what = what;
    }
}

static void set_timeouts(int fd)
{
    struct timeval tv = {.tv_sec = 8};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Sends n bytes of stream id, then half-closes; reads the peer's stream (id2) to its end. */
static void kexchange(struct kside *k, int fd, uint32_t id, uint64_t n, uint32_t id2, uint64_t n2)
{
    static uint8_t buf[1 << 16];
    for (uint64_t off = 0; off < n;) {
        size_t m = sizeof buf;
        if (m > n - off)
            m = (size_t)(n - off);
        for (size_t i = 0; i < m; i++)
            buf[i] = pat(id, off + i);
        ssize_t w = send(fd, buf, m, MSG_NOSIGNAL);
        if (w <= 0)
            return kfail(k, "send");
        off += (uint64_t)w;
    }
    if (shutdown(fd, SHUT_WR))
        return kfail(k, "shutdown");
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r < 0)
            return kfail(k, "recv");
        if (r == 0)
            break;
        for (ssize_t i = 0; i < r; i++)
            if (buf[i] != pat(id2, k->rcvd + (uint64_t)i))
                k->bad = true;
        k->rcvd += (uint64_t)r;
    }
    if (k->rcvd != n2) {
        errno = EPROTO;
        kfail(k, "length");
    }
    socklen_t l = sizeof k->ti;
    k->have_ti = getsockopt(fd, IPPROTO_TCP, TCP_INFO, &k->ti, &l) == 0;
}

static void *kmain(void *arg)
{
    struct kside *k = arg;
    struct sockaddr_in us = {.sin_family = AF_INET, .sin_port = htons(k->port)};
    us.sin_addr.s_addr = htonl(OUR_IP);
    if (k->mode == 4) {
        int fd = accept(k->lfd, NULL, NULL);
        if (fd < 0)
            kfail(k, "accept");
        else {
            set_timeouts(fd);
            kexchange(k, fd, 0, 0, 3, TSO_BYTES);
            close(fd);
        }
    } else if (k->mode == 1) {
        int fd = accept(k->lfd, NULL, NULL);
        if (fd < 0)
            kfail(k, "accept");
        else {
            set_timeouts(fd);
            kexchange(k, fd, 2, US_TO_K, 1, K_TO_US);
            close(fd);
        }
    } else if (k->mode == 3) {
        /* twice from the same port: we close first, so the second SYN meets our
         * connection in TIME_WAIT */
        for (int round = 0; round < 2 && !k->err; round++) {
            int fd = socket(AF_INET, SOCK_STREAM, 0);
            int one = 1;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            set_timeouts(fd);
            struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(40001)};
            me.sin_addr.s_addr = htonl(K_IP);
            if (bind(fd, (struct sockaddr *)&me, sizeof me))
                kfail(k, "bind");
            else if (connect(fd, (struct sockaddr *)&us, sizeof us))
                kfail(k, "connect again");
            else {
                char b[16];
                ssize_t r, got = 0;
                while ((r = recv(fd, b, sizeof b, 0)) > 0)
                    got += r;
                if (r < 0 || got != 5)
                    kfail(k, "recv hello");
                else
                    k->rcvd++;
            }
            close(fd);
            usleep(200000); /* our ACK of its FIN: the old socket is gone */
        }
    } else {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        set_timeouts(fd);
        if (connect(fd, (struct sockaddr *)&us, sizeof us)) {
            kfail(k, "connect");
        } else if (k->mode == 0) {
            kexchange(k, fd, 1, K_TO_US, 2, US_TO_K);
        } else {
            errno = 0;
            kfail(k, "connect succeeded");
        }
        close(fd);
    }
    atomic_store(&k->done, 1);
    return NULL;
}

static void kstart2(struct kside *k, int mode, uint16_t port, int maxseg)
{
    memset(k, 0, sizeof *k);
    k->mode = mode;
    k->port = port;
    k->maxseg = maxseg;
    k->lfd = -1;
    if (mode == 1 || mode == 4) {
        k->lfd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(k->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (maxseg)
            REQUIRE(setsockopt(k->lfd, IPPROTO_TCP, TCP_MAXSEG, &maxseg, sizeof maxseg) == 0);
        struct timeval tv = {.tv_sec = 8};
        setsockopt(k->lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
        a.sin_addr.s_addr = htonl(K_IP);
        REQUIRE(bind(k->lfd, (struct sockaddr *)&a, sizeof a) == 0);
        REQUIRE(listen(k->lfd, 8) == 0);
    }
    REQUIRE(pthread_create(&k->t, NULL, kmain, k) == 0);
}

static void kstart(struct kside *k, int mode, uint16_t port)
{
    kstart2(k, mode, port, 0);
}

/* Whether the machine is busier than its CPUs (1-minute load average). */
static bool loaded(void)
{
    double la = 0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &la) != 1)
            la = 0;
        fclose(f);
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return la > (double)(n > 0 ? n : 1);
}

static void kcheck(struct kside *k, const char *name)
{
    pthread_join(k->t, NULL);
    if (k->lfd >= 0)
        close(k->lfd);
    if (k->err)
        fprintf(stderr, "%s: kernel side: %s: %s\n", name, k->what, strerror(k->err));
    CHECK_EQ(k->err, 0);
    CHECK(!k->bad);
    CHECK(k->have_ti);
    if (!k->have_ti)
        return;
    fprintf(stderr,
            "%s: kernel's TCP_INFO: options %#x (sack %d ts %d wscale %d: snd %u rcv %u) "
            "retrans %u rtt %u us snd_mss %u rcv_mss %u\n",
            name, k->ti.tcpi_options, !!(k->ti.tcpi_options & TCPI_OPT_SACK),
            !!(k->ti.tcpi_options & TCPI_OPT_TIMESTAMPS), !!(k->ti.tcpi_options & TCPI_OPT_WSCALE),
            k->ti.tcpi_snd_wscale, k->ti.tcpi_rcv_wscale, k->ti.tcpi_total_retrans,
            k->ti.tcpi_rtt, k->ti.tcpi_snd_mss, k->ti.tcpi_rcv_mss);
    CHECK(k->ti.tcpi_options & TCPI_OPT_SACK);
    CHECK(k->ti.tcpi_options & TCPI_OPT_TIMESTAMPS);
    CHECK(k->ti.tcpi_options & TCPI_OPT_WSCALE);
    /* Nothing is lost on this link, but the kernel's tail loss probe fires when our
     * ACK is later than 2 RTTs (10 ms at least): under the sanitizers, or on a machine
     * with more runnable tasks than CPUs, our side may be descheduled that long.  Then
     * a probe or two are allowed; otherwise none. */
    if (getenv("JET_SANITIZED") || loaded())
        CHECK(k->ti.tcpi_total_retrans <= 2);
    else
        CHECK_EQ(k->ti.tcpi_total_retrans, 0);
}

/* ---- our side ---- */

/* Receives the kernel's stream (id) to its end, checking it; sends ours (id2). */
static void our_exchange(struct jet_tcp_conn *c, uint32_t id, uint64_t n, uint32_t id2,
                         uint64_t n2, bool send_first)
{
    static uint8_t buf[1 << 16];
    uint64_t rcvd = 0;
    bool bad = false;
    uint64_t until = now_ns() + 12 * (uint64_t)SEC;
    if (!send_first)
        for (;;) {
            ssize_t r = jet_tcp_recv(c, buf, sizeof buf, 5 * SEC);
            if (r <= 0) {
                if (r < 0)
                    fprintf(stderr, "recv: %zd %s\n", r, jet_tcp_error(c));
                CHECK_EQ(r, 0);
                break;
            }
            for (ssize_t i = 0; i < r; i++)
                bad |= buf[i] != pat(id, rcvd + (uint64_t)i);
            rcvd += (uint64_t)r;
            if (now_ns() > until)
                break;
        }
    for (uint64_t off = 0; off < n2 && now_ns() < until;) {
        size_t m = sizeof buf;
        if (m > n2 - off)
            m = (size_t)(n2 - off);
        for (size_t i = 0; i < m; i++)
            buf[i] = pat(id2, off + i);
        ssize_t w = jet_tcp_send(c, buf, m, 5 * SEC);
        if (w <= 0) {
            fprintf(stderr, "send: %zd %s\n", w, jet_tcp_error(c));
            CHECK(w > 0);
            break;
        }
        off += (uint64_t)w;
    }
    CHECK_EQ(jet_tcp_shutdown(c), 0);
    if (send_first)
        for (;;) {
            ssize_t r = jet_tcp_recv(c, buf, sizeof buf, 5 * SEC);
            if (r <= 0) {
                if (r < 0)
                    fprintf(stderr, "recv: %zd %s\n", r, jet_tcp_error(c));
                CHECK_EQ(r, 0);
                break;
            }
            for (ssize_t i = 0; i < r; i++)
                bad |= buf[i] != pat(id, rcvd + (uint64_t)i);
            rcvd += (uint64_t)r;
            if (now_ns() > until)
                break;
        }
    CHECK_EQ(rcvd, n);
    CHECK(!bad);
    struct jet_tcp_info i;
    jet_tcp_info(c, &i);
    fprintf(stderr,
            "  ours: %s sack %d ts %d wscale %d (%u/%u) mss %u/%u srtt %llu us retrans %llu "
            "segs out %llu (%llu bytes) in %llu (%llu bytes)\n",
            i.state, i.sack, i.timestamps, i.wscale, i.snd_wscale, i.rcv_wscale, i.snd_mss,
            i.rcv_mss, (unsigned long long)i.srtt_ns / 1000, (unsigned long long)i.retransmits,
            (unsigned long long)i.segs_out, (unsigned long long)i.bytes_out,
            (unsigned long long)i.segs_in, (unsigned long long)i.bytes_in);
    CHECK(i.sack && i.timestamps && i.wscale);
    CHECK_EQ(jet_tcp_close(c, 5 * SEC), 0);
}

static void t_k2us(struct jet_station *s)
{
    struct jet_tcp_listener *l = NULL;
    CHECK_EQ(jet_tcp_listen(s, 0, 5001, NULL, &l), 0);
    struct kside k;
    uint64_t t0 = now_ns();
    kstart(&k, 0, 5001);
    struct jet_tcp_conn *c = NULL;
    int rc = jet_tcp_accept(l, &c, 5 * SEC);
    CHECK_EQ(rc, 0);
    if (!rc)
        our_exchange(c, 1, K_TO_US, 2, US_TO_K, false);
    /* the kernel reads to the end while we linger */
    while (!atomic_load(&k.done) && now_ns() - t0 < 15 * (uint64_t)SEC)
        jet_station_wait(s, 10000000), jet_station_poll(s);
    kcheck(&k, "k2us");
    fprintf(stderr, "k2us: %.3f s\n", (double)(now_ns() - t0) / 1e9);
    jet_tcp_listener_close(l);
}

static void t_us2k(struct jet_station *s)
{
    struct kside k;
    uint64_t t0 = now_ns();
    kstart(&k, 1, 5002);
    struct jet_tcp_conn *c = NULL;
    int rc = jet_tcp_connect(s, K_IP, 5002, NULL, &c, 5 * SEC);
    if (rc)
        fprintf(stderr, "connect: %d %s\n", rc, c ? jet_tcp_error(c) : "");
    CHECK_EQ(rc, 0);
    if (!rc)
        our_exchange(c, 2, US_TO_K, 1, K_TO_US, true);
    else
        jet_tcp_abort(c);
    while (!atomic_load(&k.done) && now_ns() - t0 < 15 * (uint64_t)SEC)
        jet_station_wait(s, 10000000), jet_station_poll(s);
    kcheck(&k, "us2k");
    fprintf(stderr, "us2k: %.3f s\n", (double)(now_ns() - t0) / 1e9);
}

static void t_refused(struct jet_station *s)
{
    struct kside k;
    kstart(&k, 2, 5999);
    uint64_t t0 = now_ns();
    while (!atomic_load(&k.done) && now_ns() - t0 < 5 * (uint64_t)SEC)
        jet_station_wait(s, 10000000), jet_station_poll(s);
    pthread_join(k.t, NULL);
    fprintf(stderr, "refused: kernel connect: %s (%s) after %.3f s\n", strerror(k.err),
            k.what ? k.what : "-", (double)(now_ns() - t0) / 1e9);
    CHECK_EQ(k.err, ECONNREFUSED);
    struct jet_tcp_host_stats hs;
    CHECK_EQ(jet_tcp_host_stats(s, &hs), 0);
    CHECK(hs.resets_sent_closed_port >= 1);
}

/* A kernel client that reconnects from the same port while our side of its previous
 * connection is in TIME_WAIT. */
static void t_reuse(struct jet_station *s)
{
    struct jet_tcp_listener *l = NULL;
    CHECK_EQ(jet_tcp_listen(s, 0, 5004, NULL, &l), 0);
    struct kside k;
    kstart(&k, 3, 5004);
    for (int round = 0; round < 2; round++) {
        struct jet_tcp_conn *c = NULL;
        int rc = jet_tcp_accept(l, &c, 5 * SEC);
        CHECK_EQ(rc, 0);
        if (rc)
            break;
        CHECK_EQ(jet_tcp_send(c, "hello", 5, SEC), 5);
        CHECK_EQ(jet_tcp_close(c, 2 * SEC), 0); /* then TIME_WAIT, in the library */
    }
    uint64_t t0 = now_ns();
    while (!atomic_load(&k.done) && now_ns() - t0 < 5 * (uint64_t)SEC)
        jet_station_wait(s, 10000000), jet_station_poll(s);
    pthread_join(k.t, NULL);
    if (k.err)
        fprintf(stderr, "reuse: kernel side: %s: %s\n", k.what, strerror(k.err));
    CHECK_EQ(k.err, 0);
    CHECK_EQ(k.rcvd, 2);
    jet_tcp_listener_close(l);
}

/* ---- TSO ---- */

/* What an AF_PACKET socket with PACKET_VNET_HDR on jtq0 sees of our TCP frames (the
 * kernel receiving them): GSO frames and their gso_size. */
struct cap {
    pthread_t t;
    int fd;
    atomic_int stop;
    uint64_t frames, gso_frames, bytes;
    uint32_t gso_min, gso_max, big_plain; /* big_plain: longest TCP payload of a non-GSO frame */
};

static void *cap_main(void *arg)
{
    struct cap *k = arg;
    static uint8_t b[sizeof(struct virtio_net_hdr) + 14 + 128];
    while (!atomic_load(&k->stop)) {
        struct pollfd p = {.fd = k->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        struct sockaddr_ll from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(k->fd, b, sizeof b, MSG_TRUNC | MSG_DONTWAIT,
                             (struct sockaddr *)&from, &fl);
        if (n < (ssize_t)sizeof(struct virtio_net_hdr) + 14 + 40 ||
            from.sll_pkttype == PACKET_OUTGOING)
            continue;
        struct virtio_net_hdr h;
        memcpy(&h, b, sizeof h);
        const uint8_t *ip = b + sizeof h + 14; /* SOCK_RAW: after the Ethernet header */
        if (ip[9] != IPPROTO_TCP || ((uint32_t)ip[12] << 24 | (uint32_t)ip[13] << 16 |
                                     (uint32_t)ip[14] << 8 | ip[15]) != OUR_IP)
            continue;
        uint32_t tot = (uint32_t)ip[2] << 8 | ip[3], ihl = (ip[0] & 15u) * 4;
        uint32_t thl = (ip[ihl + 12] >> 4) * 4u;
        uint32_t pay = tot - ihl - thl;
        k->frames++;
        k->bytes += pay;
        if ((h.gso_type & 0x7f) == VIRTIO_NET_HDR_GSO_TCPV4) {
            k->gso_frames++;
            if (!k->gso_min || h.gso_size < k->gso_min)
                k->gso_min = h.gso_size;
            if (h.gso_size > k->gso_max)
                k->gso_max = h.gso_size;
        } else if (pay > k->big_plain) {
            k->big_plain = pay;
        }
    }
    return NULL;
}

static void cap_start(struct cap *k)
{
    memset(k, 0, sizeof *k);
    k->fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP));
    REQUIRE(k->fd >= 0);
    int one = 1, big = 64 << 20;
    REQUIRE(setsockopt(k->fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) == 0);
    setsockopt(k->fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    struct sockaddr_ll a = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
                            .sll_ifindex = (int)if_nametoindex("jtq0")};
    REQUIRE(bind(k->fd, (struct sockaddr *)&a, sizeof a) == 0);
    REQUIRE(pthread_create(&k->t, NULL, cap_main, k) == 0);
}

static void cap_stop(struct cap *k)
{
    usleep(100000); /* the last frames */
    atomic_store(&k->stop, 1);
    pthread_join(k->t, NULL);
    close(k->fd);
}

/* We send TSO_BYTES to a kernel listener (TCP_MAXSEG maxseg when not 0), with TSO on
 * (the tap link's default) or off. */
static void t_tso(struct jet_station *s, uint16_t port, int maxseg, bool tso)
{
    static uint8_t buf[1 << 16];
    char name[32];
    snprintf(name, sizeof name, "tso%s mss %d", tso ? "" : " off", maxseg ? maxseg : 1460);
    struct jet_link_stats l0, l1;
    CHECK_EQ(jet_link_stats(jet_station_link(s), &l0), 0);
    struct cap cp;
    cap_start(&cp);
    struct kside k;
    uint64_t t0 = now_ns();
    kstart2(&k, 4, port, maxseg);
    struct jet_tcp_opts o = {.no_tso = !tso};
    struct jet_tcp_conn *c = NULL;
    int rc = jet_tcp_connect(s, K_IP, port, &o, &c, 5 * SEC);
    CHECK_EQ(rc, 0);
    uint64_t until = now_ns() + 15 * (uint64_t)SEC;
    for (uint64_t off = 0; !rc && off < TSO_BYTES && now_ns() < until;) {
        size_t m = sizeof buf;
        if (m > TSO_BYTES - off)
            m = (size_t)(TSO_BYTES - off);
        for (size_t i = 0; i < m; i++)
            buf[i] = pat(3, off + i);
        ssize_t w = jet_tcp_send(c, buf, m, 5 * SEC);
        if (w <= 0) {
            fprintf(stderr, "%s: send: %zd %s\n", name, w, jet_tcp_error(c));
            CHECK(w > 0);
            break;
        }
        off += (uint64_t)w;
    }
    struct jet_tcp_info i = {0};
    if (!rc) {
        CHECK_EQ(jet_tcp_shutdown(c), 0);
        while (!atomic_load(&k.done) && now_ns() < until)
            jet_station_wait(s, 10000000), jet_station_poll(s);
        jet_tcp_info(c, &i);
        CHECK_EQ(jet_tcp_close(c, 5 * SEC), 0);
    } else if (c) {
        jet_tcp_abort(c);
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    kcheck(&k, name);
    cap_stop(&cp);
    CHECK_EQ(jet_link_stats(jet_station_link(s), &l1), 0);
    uint64_t lf = l1.tx_frames - l0.tx_frames, lb = l1.tx_bytes - l0.tx_bytes;
    double per_seg = i.segs_out ? (double)i.bytes_out / (double)i.segs_out : 0;
    double per_frame = lf ? (double)lb / (double)lf : 0;
    fprintf(stderr,
            "%s: %.3f s (%.2f Gbit/s); ours: snd_mss %u, %llu bytes in %llu segments (%.0f "
            "per segment), retrans %llu; link: %llu frames, %.0f bytes per frame; capture: "
            "%llu TCP frames, %llu GSO (gso_size %u..%u), longest other payload %u\n",
            name, secs, (double)TSO_BYTES * 8 / secs / 1e9, i.snd_mss,
            (unsigned long long)i.bytes_out, (unsigned long long)i.segs_out, per_seg,
            (unsigned long long)i.retransmits, (unsigned long long)lf, per_frame,
            (unsigned long long)cp.frames, (unsigned long long)cp.gso_frames, cp.gso_min,
            cp.gso_max, cp.big_plain);
    uint32_t wire = (uint32_t)(maxseg ? maxseg : 1460) - 12; /* timestamps */
    CHECK_EQ(k.rcvd, TSO_BYTES);
    CHECK(i.bytes_out >= TSO_BYTES);
    CHECK_EQ(i.snd_mss, wire + 12);
    if (tso) {
        CHECK(per_seg > 1500);   /* large segments out of the core */
        CHECK(per_frame > 1514); /* and through the link */
        CHECK(cp.gso_frames > 0);
        CHECK_EQ(cp.gso_min, wire); /* the connection's MSS, not the MTU's 1448 */
        CHECK_EQ(cp.gso_max, wire);
    } else {
        CHECK(per_seg <= wire);
        CHECK(per_frame <= 1514);
        CHECK_EQ(cp.gso_frames, 0);
    }
    CHECK(cp.big_plain <= wire); /* nothing went over the MSS unsegmented */
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_tcp_kernel: skipped (needs root for a network namespace)\n");
        return 77;
    }
    alarm(80);
    REQUIRE(unshare(CLONE_NEWNET) == 0);
    REQUIRE(access("/dev/net/tun", R_OK | W_OK) == 0);
    sh("echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6; "
       "echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6");
    sh("ip link set lo up");
    struct jet_station *s = NULL;
    struct jet_err err = {0};
    int rc = jet_station_open("tap:jtq0", -1, &s, &err);
    if (rc)
        fprintf(stderr, "open tap:jtq0: %s\n", err.msg);
    REQUIRE(rc == 0);
    REQUIRE(sh("ip addr add " KIP "/24 dev jtq0") == 0);
    struct jet_ip_cfg c = {.addr = OUR_IP, .plen = 24};
    rc = jet_ip_attach(s, &c);
    if (rc)
        fprintf(stderr, "jet_ip_attach: %s\n", jet_station_error(s));
    REQUIRE(rc == 0);
    /* TCP on the station before the kernel's first SYN (a listener attaches it) */
    struct jet_tcp_listener *other = NULL;
    CHECK_EQ(jet_tcp_listen(s, 0, 5003, NULL, &other), 0);
    t_refused(s);
    jet_tcp_listener_close(other);
    t_k2us(s);
    t_us2k(s);
    t_reuse(s);
    t_tso(s, 5005, 0, true);
    t_tso(s, 5006, 1000, true);
    t_tso(s, 5007, 1000, false);
    jet_tcp_station_fini(s, 2 * SEC);
    jet_station_close(s);
    return check_done("test_tcp_kernel");
}
