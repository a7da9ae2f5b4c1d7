/* Test fixture shared by the channel tests: LANs named t-chan-PID-TAG that
 * are removed by rmlan() (which checks every pool buffer came back) or, if a
 * REQUIRE stops the run, by cleanup_lans() registered with atexit in main();
 * station/channel openers that REQUIRE success; payloads that carry their
 * sequence number and a pattern to check. */
#ifndef JET_TEST_CHAN_FIXTURE_H
#define JET_TEST_CHAN_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "jet/chan.h"
#include "jet/lan.h"

#ifndef FIXTURE_PREFIX
#define FIXTURE_PREFIX "t-chan" /* LAN names: PREFIX-PID-TAG */
#endif


static pid_t main_pid;
static char lans[32][JET_LAN_NAME_MAX + 1];
static bool lan_live[32];
static int nlans;

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void cleanup_lans(void)
{
    if (getpid() != main_pid)
        return;
    for (int i = 0; i < nlans; i++)
        if (lan_live[i]) {
            struct jet_err err = {0};
            jet_lan_destroy(lans[i], true, &err);
        }
}

/* Creates LAN t-chan-PID-tag (4 stations, MTU 2000 unless tweaked); returns its index. */
static inline int mklan(const char *tag, void (*tweak)(struct jet_lan_config *))
{
    REQUIRE(nlans < 32);
    struct jet_lan_config c;
    jet_lan_config_default(&c);
    c.stations = 4;
    c.mtu = 2000;
    if (tweak)
        tweak(&c);
    int i = nlans++;
    snprintf(lans[i], sizeof lans[i], FIXTURE_PREFIX "-%d-%s", (int)getpid(), tag);
    struct jet_err err = {0};
    int rc = jet_lan_create(lans[i], &c, &err);
    if (rc)
        fprintf(stderr, "create %s: %s\n", lans[i], err.msg);
    REQUIRE(rc == 0);
    lan_live[i] = true;
    return i;
}

/* Every buffer must be back in the pool once all stations have closed. */
static inline void pool_is_full(int lan, const char *what)
{
    struct jet_lan_info *in = calloc(1, sizeof *in);
    REQUIRE(in);
    struct jet_err err = {0};
    REQUIRE(jet_lan_info(lans[lan], in, &err) == 0);
    if (in->buffers_free != in->config.buffers)
        fprintf(stderr, "%s: %u of %u buffers free\n", what, in->buffers_free, in->config.buffers);
    CHECK_EQ(in->buffers_free, in->config.buffers);
    CHECK_EQ(in->attached, 0);
    free(in);
}

static inline void rmlan(int lan)
{
    pool_is_full(lan, lans[lan]);
    struct jet_err err = {0};
    CHECK_EQ(jet_lan_destroy(lans[lan], false, &err), 0);
    lan_live[lan] = false;
}

static inline int st_try(int lan, int st, struct jet_station **out)
{
    char link[96];
    snprintf(link, sizeof link, "lan:%s", lans[lan]);
    struct jet_err err = {0};
    int rc = jet_station_open(link, st, out, &err);
    if (rc)
        fprintf(stderr, "open %s/%d: %s\n", link, st, err.msg);
    return rc;
}

static inline struct jet_station *st_open(int lan, int st)
{
    struct jet_station *s = NULL;
    REQUIRE(st_try(lan, st, &s) == 0);
    return s;
}

static inline struct jet_chan *ch_open(struct jet_station *s, uint32_t id, const struct jet_chan_policy *p)
{
    struct jet_chan *c = NULL;
    int rc = jet_chan_open(s, id, p, &c);
    if (rc)
        fprintf(stderr, "chan_open %u: %d %s\n", id, rc, jet_station_error(s));
    REQUIRE(rc == 0);
    return c;
}

/* Payload of frame `seq`: seq in the first 8 bytes, then a pattern drawn from seq. */
static inline void fill(uint8_t *p, size_t len, uint64_t seq)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seq * 131 + i * 7 + 1);
    memcpy(p, &seq, len < 8 ? len : 8);
}

/* Whether rx carries an undamaged fill() payload; its seq in *seq. */
static inline bool intact(const struct jet_rx *rx, uint64_t *seq)
{
    uint64_t s = 0;
    memcpy(&s, rx->payload, rx->len < 8 ? rx->len : 8);
    *seq = s;
    for (size_t i = 8; i < rx->len; i++)
        if (rx->payload[i] != (uint8_t)(s * 131 + i * 7 + 1))
            return false;
    return true;
}

static inline ssize_t send_seq(struct jet_chan *c, uint16_t dst, uint32_t chan, uint64_t seq, uint32_t len)
{
    static uint8_t buf[JET_LAN_MAX_MTU];
    fill(buf, len, seq);
    struct iovec iov = {buf, len};
    return jet_chan_send(c, dst, chan, &iov, 1);
}

#endif
