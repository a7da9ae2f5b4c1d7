/* packet:IF as a monitor (JET_LINK_MONITOR, issue 15; src/link/packet.c):
 *
 *     private netns (unshare: it dies with the process)
 *     pma 02:4a:50:31:00:01 <== veth ==> pmb 02:4a:50:31:00:02
 *     packet:pma (station 1)             packet:pmb (station 2)
 *                                        packet:pmb as a monitor
 *
 * Station 1 sends native frames to station 2, native broadcast, Ethernet
 * frames to pmb's MAC and to a MAC nobody has (neither of which station 2
 * gets: it holds no flows);
 * station 2 answers.  The monitor on pmb gets every one of them, in and out,
 * as Ethernet frames byte for byte (native ones inside EtherType 0x88B5),
 * while the stations get what they got without it; pmb is promiscuous
 * exactly while the monitor is open; the monitor sends nothing (-EPERM).
 * Root only, else skipped (77). */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "jet/frame.h"
#include "jet/link.h"
#include "util/clock.h"

enum { NF = 40, MAXF = 256 };

static void sh(const char *cmd)
{
    if (system(cmd)) {
        fprintf(stderr, "failed: %s\n", cmd);
        exit(1);
    }
}

static struct jet_link *open_link(const char *name, int station, unsigned flags)
{
    struct jet_link *l = NULL;
    struct jet_err err = {0};
    struct jet_link_opts o = {.station = station, .flags = flags};
    int rc = jet_link_open(name, &o, &l, &err);
    if (rc)
        fprintf(stderr, "%s: %s\n", name, err.msg);
    REQUIRE(rc == 0);
    return l;
}

/* Whether the kernel counts ifn promiscuous (a packet socket's
 * PACKET_MR_PROMISC shows in `ip -d link`'s promiscuity, not in the flags
 * SIOCGIFFLAGS reports). */
static bool promisc(const char *ifn)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "ip -d link show %s | grep -q 'promiscuity [1-9]'", ifn);
    return system(cmd) == 0;
}

/* The frames as they go on the wire (Ethernet), to compare with the monitor's. */
struct wire {
    uint8_t b[1600];
    uint32_t len;
    bool seen;
};
static struct wire sent[MAXF];
static unsigned nsent;

static const uint8_t mac_a[6] = {0x02, 0x4a, 0x50, 0x31, 0x00, 0x01};
static const uint8_t mac_b[6] = {0x02, 0x4a, 0x50, 0x31, 0x00, 0x02};

static void send_native(struct jet_link *l, const uint8_t src_mac[6], const uint8_t dst_mac[6],
                        uint16_t from, uint16_t to, uint32_t plen, uint32_t tag)
{
    struct jet_frame f;
    REQUIRE(jet_link_tx_alloc(l, &f) == 0);
    uint8_t pay[1400];
    for (uint32_t i = 0; i < plen; i++)
        pay[i] = (uint8_t)(tag + i);
    struct jet_frame_hdr h = {.flags = JET_FF_CRC,
                              .src_station = from,
                              .dst_station = to,
                              .dst_chan = 5,
                              .src_chan = 6,
                              .payload_len = (uint16_t)plen};
    long n = jet_frame_build(f.data, f.cap, &h, pay, plen);
    REQUIRE(n > 0);
    f.len = (uint32_t)n;
    f.encap = JET_ENCAP_NATIVE;
    struct wire *w = &sent[nsent++];
    (void)dst_mac; /* to the broadcast MAC: no station's MAC is learnt before the
                      senders read anything (src/link/ethnat.h) */
    memset(w->b, 0xff, 6);
    memcpy(w->b + 6, src_mac, 6);
    w->b[12] = 0x88;
    w->b[13] = 0xb5;
    memcpy(w->b + 14, f.data, f.len);
    w->len = 14 + f.len;
    CHECK_EQ(jet_link_tx_commit(l, &f), 0);
}

static void send_eth(struct jet_link *l, const uint8_t src_mac[6], const uint8_t dst_mac[6],
                     uint32_t len, uint32_t tag)
{
    struct jet_frame f;
    REQUIRE(jet_link_tx_alloc(l, &f) == 0);
    memcpy(f.data, dst_mac, 6);
    memcpy(f.data + 6, src_mac, 6);
    f.data[12] = 0x88;
    f.data[13] = 0x99; /* no protocol the kernel answers */
    for (uint32_t i = 14; i < len; i++)
        f.data[i] = (uint8_t)(tag * 3 + i);
    f.len = len;
    f.encap = JET_ENCAP_ETH;
    struct wire *w = &sent[nsent++];
    memcpy(w->b, f.data, len);
    w->len = len;
    CHECK_EQ(jet_link_tx_commit(l, &f), 0);
}

/* Frames l gets within ms: counted; with mon, each matched to sent[]. */
static unsigned drain(struct jet_link *l, bool mon, unsigned want, int ms, unsigned *unmatched)
{
    unsigned got = 0;
    uint64_t until = jet_now_ns() + (uint64_t)ms * 1000000u;
    while (got < want && jet_now_ns() < until) {
        struct jet_frame f[32];
        int n = jet_link_rx_burst(l, f, 32);
        REQUIRE(n >= 0);
        if (n == 0) {
            jet_link_wait(l, 1000000);
            continue;
        }
        for (int i = 0; i < n; i++) {
            if (mon) {
                CHECK_EQ(f[i].encap, JET_ENCAP_ETH);
                bool ok = false;
                for (unsigned k = 0; k < nsent && !ok; k++)
                    if (!sent[k].seen && sent[k].len == f[i].len &&
                        !memcmp(sent[k].b, f[i].data, f[i].len))
                        ok = sent[k].seen = true;
                if (!ok) {
                    if (getenv("PM_DEBUG")) {
                        fprintf(stderr, "unmatched %u:", f[i].len);
                        for (uint32_t k = 0; k < f[i].len && k < 48; k++)
                            fprintf(stderr, " %02x", f[i].data[k]);
                        fprintf(stderr, "\n");
                    }
                    (*unmatched)++; /* the kernel's own traffic, if any */
                    continue;
                }
            } else if (getenv("PM_DEBUG"))
                fprintf(stderr, "got %u encap %u\n", f[i].len, f[i].encap);
            got++;
        }
        jet_link_rx_release(l, f, (unsigned)n);
    }
    return got;
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_packet_monitor: skipped (needs root)\n");
        return 77;
    }
    REQUIRE(unshare(CLONE_NEWNET) == 0);
    sh("ip link set lo up && echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6 && "
       "echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6 && "
       "ip link add pma address 02:4a:50:31:00:01 type veth peer name pmb address "
       "02:4a:50:31:00:02 && ip link set pma up && ip link set pmb up");
    struct jet_link *a = open_link("packet:pma", 1, 0), *b = open_link("packet:pmb", 2, 0);
    CHECK(!promisc("pmb"));
    struct jet_link *m = open_link("packet:pmb", -1, JET_LINK_MONITOR);
    CHECK(promisc("pmb"));
    CHECK(m->caps.max_frame >= 65536);
    struct jet_frame f;
    CHECK_EQ(jet_link_tx_alloc(m, &f), -EPERM);
    CHECK(strstr(jet_link_error(m), "monitor") != NULL);

    static const uint8_t nobody[6] = {0x02, 0x4a, 0x50, 0x31, 0x00, 0x77};
    for (uint32_t i = 0; i < NF; i++) {
        switch (i % 5) {
        case 0:
            send_native(a, mac_a, mac_b, 1, 2, 10 + i * 30, i);
            break;
        case 1:
            send_native(a, mac_a, mac_b, 1, JET_STATION_BROADCAST, 64, i);
            break;
        case 2:
            send_eth(a, mac_a, mac_b, 60 + i * 20, i);
            break;
        case 3:
            send_eth(a, mac_a, nobody, 100, i); /* only promiscuous ears get it */
            break;
        case 4:
            send_native(b, mac_b, mac_a, 2, 1, 200, i); /* out of pmb */
            break;
        }
        jet_link_tx_flush(a);
        jet_link_tx_flush(b);
    }
    unsigned um = 0;
    /* station 2 gets cases 0 and 1 (its filter passes 0x88B5 only: it holds
     * no flows); station 1 gets case 4 */
    CHECK_EQ(drain(b, false, NF * 2 / 5, 2000, NULL), NF * 2 / 5);
    CHECK_EQ(drain(a, false, NF / 5, 2000, NULL), NF / 5);
    CHECK_EQ(drain(m, true, NF, 2000, &um), NF);
    for (unsigned k = 0; k < nsent; k++)
        if (!sent[k].seen)
            fprintf(stderr, "monitor missed frame %u (%u bytes)\n", k, sent[k].len);
    if (um)
        fprintf(stderr, "monitor: %u frames of the kernel's own\n", um);
    struct jet_link_stats st;
    REQUIRE(jet_link_stats(m, &st) == 0);
    CHECK_EQ(st.tx_frames, 0);
    CHECK(st.rx_frames >= NF);
    jet_link_close(m);
    CHECK(!promisc("pmb"));
    /* opened again and killed: the kernel drops the membership with the socket */
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        struct jet_link *mm = open_link("packet:pmb", -1, JET_LINK_MONITOR);
        (void)mm;
        _exit(promisc("pmb") ? 0 : 1);
    }
    int wst = 0;
    REQUIRE(waitpid(pid, &wst, 0) == pid);
    CHECK(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
    CHECK(!promisc("pmb"));
    jet_link_close(b);
    jet_link_close(a);
    return check_done("test_packet_monitor");
}
