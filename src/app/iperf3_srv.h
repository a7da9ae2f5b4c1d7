/* iperf3 server engine, sans-I/O: the server side of the iperf3 control protocol
 * (as spoken by iperf 3.12, Debian 12's client) for TCP tests, with no sockets, no
 * clock and no threads.  It serves one test at a time, as iperf3 -s does: one
 * control connection and up to IPERF3_MAX_STREAMS data connections.
 *
 * The caller owns the connections (kernel sockets today: tools/jet/iperf3_kernel.c;
 * user-space TCP later) and names each by the handle iperf3_srv_open gave it.
 *
 * Who calls what
 *   a connection is accepted:   h = iperf3_srv_open(s, now)
 *   bytes arrive on h:          iperf3_srv_input(s, h, p, n, now)  (takes all n)
 *   h can take bytes:           n = iperf3_srv_peek(s, h, iov, max); write them;
 *                               iperf3_srv_sent(s, h, bytes_taken, now); then look
 *                               at iperf3_srv_status(s, h) (sent does not list h)
 *   h is finished:              iperf3_srv_status(s, h) has IPERF3_CLOSE and peek gives
 *                               nothing: close it, then iperf3_srv_closed(s, h, now)
 *   the peer closed h / error:  iperf3_srv_closed(s, h, now)  (h is free afterwards)
 *   time:                       iperf3_srv_timeout(s) is when to call iperf3_srv_tick
 *   after any call:             iperf3_srv_next_dirty(s) lists the handles whose
 *                               status may have changed (to arm or disarm writes,
 *                               or to close them).
 *
 * Buffer lifetimes: iovecs from peek point into the engine (the control output
 * buffer, or one constant payload pattern shared by every block of every data
 * stream) and stay valid until the next call into the engine.  Nothing the caller
 * passes in is kept.
 *
 * Protocol summary and what is supported: docs/iperf3.md. */
#ifndef JET_APP_IPERF3_SRV_H
#define JET_APP_IPERF3_SRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum {
    IPERF3_COOKIE_LEN = 37,          /* 36 characters and a NUL */
    IPERF3_MAX_STREAMS = 128,        /* iperf3's own bound on -P */
    IPERF3_SLOTS = IPERF3_MAX_STREAMS + 8, /* connections tracked at once */
    IPERF3_MAX_LEN = 1 << 20,        /* largest block (-l), iperf3's MAX_BLOCKSIZE */
    IPERF3_DEFAULT_LEN = 128 << 10,  /* TCP block when the client names none */
    IPERF3_PARAMS_MAX = 16 << 10,    /* largest parameters JSON accepted */
    IPERF3_RESULTS_MAX = 1 << 20,    /* largest client results JSON (skipped, not kept) */
    IPERF3_PAT = 64 << 10,           /* the constant payload buffer */
    IPERF3_OUT_CAP = 64 << 10,       /* control output buffer */
    IPERF3_MAX_TIME = 86400,         /* iperf3's MAX_TIME (s) */
    IPERF3_MAX_OMIT = 600,           /* iperf3's MAX_OMIT_TIME (s) */
    IPERF3_SERVER_GRACE = 5,         /* s past time + omit before the server gives up */
};

/* Test states: one signed byte on the control connection (iperf.h). */
enum iperf3_state {
    IPERF3_TEST_START = 1,
    IPERF3_TEST_RUNNING = 2,
    IPERF3_TEST_END = 4,
    IPERF3_PARAM_EXCHANGE = 9,
    IPERF3_CREATE_STREAMS = 10,
    IPERF3_SERVER_TERMINATE = 11,
    IPERF3_CLIENT_TERMINATE = 12,
    IPERF3_EXCHANGE_RESULTS = 13,
    IPERF3_DISPLAY_RESULTS = 14,
    IPERF3_IPERF_START = 15,
    IPERF3_IPERF_DONE = 16,
    IPERF3_ACCESS_DENIED = -1,
    IPERF3_SERVER_ERROR = -2,
};

/* iperf3's error numbers (iperf_api.h) sent after SERVER_ERROR: the client prints
 * its own text for them ("an option you are trying to set is not implemented yet"). */
enum iperf3_ierr {
    IPERF3_IE_DURATION = 5,
    IPERF3_IE_NUMSTREAMS = 6,
    IPERF3_IE_BLOCKSIZE = 7,
    IPERF3_IE_OMIT = 12,
    IPERF3_IE_UNIMP = 13,
    IPERF3_IE_RECVPARAMS = 114,
};

/* iperf3_srv_status bits. */
enum {
    IPERF3_WANT_SEND = 1, /* peek has bytes */
    IPERF3_CLOSE = 2,     /* close once peek has nothing */
};

/* What the transport tells the engine, all optional (NULL). */
struct iperf3_ops {
    /* Segments retransmitted so far on data connection h (asked for when the
     * server sends, -R).  NULL: unknown, and the client prints none. */
    uint64_t (*retransmits)(void *ctx, int h);
    /* This side's CPU use in percent (total, user, system) since the previous
     * call; called when a test starts (result ignored) and when it ends.
     * NULL: zeros. */
    void (*cpu_util)(void *ctx, double pct[3]);
};

struct iperf3_cfg {
    struct iperf3_ops ops;
    void *ctx;
    unsigned max_streams; /* 1..IPERF3_MAX_STREAMS; 0: IPERF3_MAX_STREAMS */
    uint64_t setup_ns;    /* control accepted to test running, at most; 0: 10 s */
    uint64_t idle_ns;     /* no byte in or out for this long ends a test; 0: 30 s */
};

/* The client's parameters (the fields this server uses). */
struct iperf3_params {
    bool tcp, udp, sctp, reverse, bidirectional;
    int64_t omit, time, num, blockcount, parallel, len;
    char client_version[24]; /* "" when absent or not a plain string */
};

/* How a test ended (iperf3_srv_last). */
enum iperf3_outcome {
    IPERF3_OK = 0,       /* results exchanged */
    IPERF3_REFUSED,      /* parameters refused (SERVER_ERROR sent) */
    IPERF3_ABORTED,      /* client terminated, closed early or broke the protocol */
    IPERF3_TIMED_OUT,    /* setup, idle or test-length limit */
    IPERF3_TERMINATED,   /* iperf3_srv_terminate */
};

struct iperf3_test_info {
    enum iperf3_outcome outcome;
    int ierr;          /* IPERF3_REFUSED: the iperf3 error number sent */
    bool reverse;
    unsigned streams;  /* data connections that joined */
    uint64_t bytes;    /* received (forward) or sent (reverse), after omit */
    uint64_t ns;       /* test start (after omit) to TEST_END */
};

struct iperf3_stats {
    uint64_t tests;        /* tests that ended, any outcome */
    uint64_t denied;       /* connections sent ACCESS_DENIED */
    uint64_t full;         /* opens refused: no slot free */
    uint64_t bad_cookie;   /* data connections with a cookie not the test's */
};

struct iperf3_srv;

/* A server with no test.  NULL when out of memory. */
struct iperf3_srv *iperf3_srv_create(const struct iperf3_cfg *cfg);
void iperf3_srv_destroy(struct iperf3_srv *s);

/* A new connection: its handle (0 <= h < IPERF3_SLOTS), or -ENOSPC when every slot
 * is taken (the caller closes it at once). */
int iperf3_srv_open(struct iperf3_srv *s, uint64_t now);
/* n bytes received on h.  The engine takes them all (keeps what it needs). */
void iperf3_srv_input(struct iperf3_srv *s, int h, const uint8_t *p, size_t n, uint64_t now);
/* What h should send next, in at most max iovecs (max >= 1): the count used, 0 when
 * nothing.  Valid until the next call into the engine. */
int iperf3_srv_peek(struct iperf3_srv *s, int h, struct iovec *iov, int max);
/* The transport took the first n bytes of what peek offered. */
void iperf3_srv_sent(struct iperf3_srv *s, int h, size_t n, uint64_t now);
/* h is gone (closed by the peer, failed, or closed by the caller as asked); the
 * handle may be reused by the next open. */
void iperf3_srv_closed(struct iperf3_srv *s, int h, uint64_t now);
/* IPERF3_WANT_SEND | IPERF3_CLOSE for h (0 for a free handle). */
unsigned iperf3_srv_status(const struct iperf3_srv *s, int h);
/* The next handle whose status may have changed since it was last listed, or -1. */
int iperf3_srv_next_dirty(struct iperf3_srv *s);
/* Absolute time of the next deadline (ns), 0 when none. */
uint64_t iperf3_srv_timeout(const struct iperf3_srv *s);
/* Runs the deadlines due at now. */
void iperf3_srv_tick(struct iperf3_srv *s, uint64_t now);
/* The server is going away: a running test gets SERVER_TERMINATE and every
 * connection is marked for close. */
void iperf3_srv_terminate(struct iperf3_srv *s, uint64_t now);

const struct iperf3_stats *iperf3_srv_stats(const struct iperf3_srv *s);
/* The test that ended last (zeros before the first). */
const struct iperf3_test_info *iperf3_srv_last(const struct iperf3_srv *s);
/* Whether a test is under way (a control connection is attached). */
bool iperf3_srv_busy(const struct iperf3_srv *s);

/* Parses the client's parameters JSON (n bytes, no NUL needed): a flat object; keys
 * this server does not use are skipped, values nested at most 8 deep.  0, or -EINVAL
 * for anything that is not one well-formed JSON object.  Absent fields: 0, len 0. */
int iperf3_params_parse(const uint8_t *p, size_t n, struct iperf3_params *out);

/* Writes the server's results JSON into buf (cap bytes): its length, or -ENOSPC. */
struct iperf3_result_stream {
    unsigned id;
    uint64_t bytes;
    int64_t retransmits; /* -1: unknown */
};
int iperf3_results_json(char *buf, size_t cap, const double cpu[3], int sender_has_retransmits,
                        const struct iperf3_result_stream *st, unsigned n, uint64_t ns);

#endif
