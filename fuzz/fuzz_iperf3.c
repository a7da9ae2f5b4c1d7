/* Fuzz target: the iperf3 server engine (src/app/iperf3_srv.h).  The input is parsed
 * whole as parameters JSON, then read as a script of connection events driving one
 * engine with virtual time:
 *   op % 6 == 0  open a connection
 *           1  LEN BYTES...  bytes in on connection (op >> 3)
 *           2  N             the transport takes N * 97 bytes of what peek offers
 *           3  that connection is closed
 *           4  T             time passes, T * 37 ms; deadlines run
 *           5  the driver's round: changed handles flushed, finished ones closed
 * Invariants: peek's iovecs are within bounds and non-empty, a freed handle has no
 * status, and everything is freed by destroy (ASan checks the rest). */
#include <string.h>

#include "app/iperf3_srv.h"
#include "fuzz.h"

enum { MAXH = 16 };

static void take(struct iperf3_srv *s, int h, size_t budget, uint64_t now)
{
    struct iovec iov[8];
    int n = iperf3_srv_peek(s, h, iov, 8);
    MUST(n >= 0 && n <= 8);
    size_t tot = 0;
    for (int i = 0; i < n; i++) {
        MUST(iov[i].iov_base && iov[i].iov_len > 0);
        volatile uint8_t x = ((const uint8_t *)iov[i].iov_base)[iov[i].iov_len - 1];
        (void)x;
        tot += iov[i].iov_len;
    }
    MUST((n > 0) == ((iperf3_srv_status(s, h) & IPERF3_WANT_SEND) != 0));
    if (tot)
        iperf3_srv_sent(s, h, budget < tot ? budget : tot, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct iperf3_params p;
    iperf3_params_parse(data, size, &p);

    struct iperf3_cfg cfg = {.max_streams = 8};
    struct iperf3_srv *s = iperf3_srv_create(&cfg);
    if (!s)
        return 0;
    int hs[MAXH];
    int nh = 0;
    uint64_t now = 1;
    size_t i = 0;
    while (i < size) {
        uint8_t op = data[i++];
        int k = nh ? (op >> 3) % nh : -1;
        switch (op % 6) {
        case 0: {
            int h = iperf3_srv_open(s, now);
            MUST(h < IPERF3_SLOTS);
            if (h >= 0 && nh < MAXH)
                hs[nh++] = h;
            else if (h >= 0)
                iperf3_srv_closed(s, h, now);
            break;
        }
        case 1: {
            if (i >= size)
                break;
            size_t len = data[i++];
            if (len > size - i)
                len = size - i;
            if (k >= 0)
                iperf3_srv_input(s, hs[k], data + i, len, now);
            i += len;
            break;
        }
        case 2:
            if (i < size && k >= 0)
                take(s, hs[k], (size_t)data[i] * 97 + 1, now);
            i++;
            break;
        case 3:
            if (k >= 0) {
                iperf3_srv_closed(s, hs[k], now);
                MUST(iperf3_srv_status(s, hs[k]) == 0);
                hs[k] = hs[--nh];
            }
            break;
        case 4:
            if (i < size)
                now += (uint64_t)data[i++] * 37000000ull;
            iperf3_srv_tick(s, now);
            break;
        default: {
            int h;
            while ((h = iperf3_srv_next_dirty(s)) >= 0) {
                MUST(h < IPERF3_SLOTS);
                unsigned st = iperf3_srv_status(s, h);
                MUST((st & ~3u) == 0);
                if (st & IPERF3_WANT_SEND)
                    take(s, h, 1 << 20, now);
                st = iperf3_srv_status(s, h);
                if ((st & IPERF3_CLOSE) && !(st & IPERF3_WANT_SEND))
                    for (int j = 0; j < nh; j++)
                        if (hs[j] == h) {
                            iperf3_srv_closed(s, h, now);
                            hs[j] = hs[--nh];
                            break;
                        }
            }
            break;
        }
        }
    }
    MUST(iperf3_srv_timeout(s) == 0 || iperf3_srv_busy(s));
    iperf3_srv_destroy(s);
    return 0;
}

/* Seeds: a forward test and a -R -P 2 test, as the client speaks them. */
static size_t put_input(uint8_t *b, size_t at, uint8_t hsel, const void *p, size_t n)
{
    b[at++] = (uint8_t)(1 | hsel << 3);
    b[at++] = (uint8_t)n;
    memcpy(b + at, p, n);
    return at + n;
}

size_t jet_fuzz_seed(unsigned i, uint8_t *buf, size_t cap)
{
    static const char cookie[IPERF3_COOKIE_LEN] = "abcdefghijklmnopqrstuvwxyz0123456789";
    static const char *const params[] = {
        "{\"tcp\":true,\"omit\":0,\"time\":1,\"parallel\":1,\"len\":131072}",
        "{\"tcp\":true,\"omit\":1,\"time\":2,\"parallel\":2,\"reverse\":true,\"len\":1000}",
    };
    if (i >= 2 || cap < 512)
        return 0;
    size_t at = 0, n = strlen(params[i]);
    uint8_t hdr[4] = {0, 0, 0, (uint8_t)n};
    buf[at++] = 0; /* open: the control, handle slot 0 */
    at = put_input(buf, at, 0, cookie, sizeof cookie);
    at = put_input(buf, at, 0, hdr, 4);
    at = put_input(buf, at, 0, params[i], n);
    for (unsigned k = 0; k <= i; k++) {
        buf[at++] = 0; /* open a data connection: slot k + 1 */
        at = put_input(buf, at, (uint8_t)(k + 1), cookie, sizeof cookie);
    }
    buf[at++] = 5;
    buf[at++] = 4, buf[at++] = 30; /* 1.1 s */
    buf[at++] = 2 | 1 << 3, buf[at++] = 200;
    uint8_t end = IPERF3_TEST_END, done = IPERF3_IPERF_DONE;
    at = put_input(buf, at, 0, &end, 1);
    uint8_t res[6] = {0, 0, 0, 2, '{', '}'};
    at = put_input(buf, at, 0, res, sizeof res);
    buf[at++] = 5;
    at = put_input(buf, at, 0, &done, 1);
    buf[at++] = 5;
    return at;
}
