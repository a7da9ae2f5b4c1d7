/* jet host's TCP services (host_tcp.c) and their HTTP server with the status page
 * (host_http.c), driven from jet host's loop (host.c).  Private to tools/jet.
 *
 * One struct tcp_svc holds every listener and connection of the host.  host.c calls
 * tcp_svc_run() after every jet_station_poll(): it accepts what the listeners hold
 * and lets every connection do what it can without waiting (every TCP call with
 * timeout 0), and says whether anything happened; when nothing did, host.c sleeps in
 * jet_station_wait() no longer than tcp_svc_timeout().  docs/host-services.md. */
#ifndef JET_TOOLS_HOST_SVC_H
#define JET_TOOLS_HOST_SVC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "jet/chan.h"
#include "jet/tcp.h"

enum tsvc {
    TSVC_ECHO,    /* 7, RFC 862 */
    TSVC_DISCARD, /* 9, RFC 863 */
    TSVC_DAYTIME, /* 13, RFC 867 */
    TSVC_CHARGEN, /* 19, RFC 864 */
    TSVC_HTTP,    /* 80 */
    TSVC_IPERF3,  /* 5201 */
    TSVC_N
};

extern const struct tsvc_def {
    const char *name;
    uint16_t port;
} tsvc_def[TSVC_N];

/* The UDP services' counters, owned by host.c, shown on the status page. */
struct udp_svc_view {
    const char *name;
    uint16_t port;
    bool on;
    const uint64_t *served; /* datagrams answered so far */
};

enum {
    TSVC_MAX_CONNS = 1024,  /* connections served at once; beyond, accept waits and the
                               listeners' backlogs (then SYN cookies) take the rest */
    HOST_UDP_VIEWS = 3,
};

struct http_conn;
struct iperf3_srv;

/* One accepted connection. */
struct tconn {
    struct jet_tcp_conn *c;
    enum tsvc svc;
    bool closing;          /* shut down; waiting for our FIN to be acknowledged */
    bool peer_eof;         /* the peer's end of stream was read */
    uint64_t opened_ns, last_ns; /* accepted; last byte in or out */
    uint64_t close_by;     /* closing: abort if not done by then */
    uint64_t bytes_in, bytes_out;
    /* per service */
    uint32_t pos;          /* chargen: position in the pattern */
    int ih;                /* iperf3: the engine's handle, -1 none */
    bool want_send;        /* iperf3: the engine has bytes for it */
    struct http_conn *http;
};

struct tcp_svc_counts {
    uint64_t accepted, closed, aborted, refused_full, errors;
    uint64_t bytes_in, bytes_out;
};

struct tcp_svc {
    struct jet_station *s;
    const char *link;
    uint64_t started_ns;     /* CLOCK_MONOTONIC */
    int64_t started_wall;    /* time(NULL) */
    bool on[TSVC_N];         /* served */
    bool stopped;
    struct jet_tcp_listener *l[TSVC_N]; /* NULL: not served, or stopped */
    struct tcp_svc_counts n[TSVC_N];
    struct tconn **conn;     /* [nconn] */
    unsigned nconn;
    struct iperf3_srv *iperf;
    struct tconn *ih_conn[256]; /* iperf3 handle -> connection (IPERF3_SLOTS <= 256) */
    uint64_t iperf3_reported;
    uint8_t *chargen;        /* the RFC 864 pattern, one period and 64 KiB more */
    struct udp_svc_view udp[HOST_UDP_VIEWS];
    uint64_t cpu_wall;       /* iperf3's cpu_util: the previous sample */
    double cpu_user, cpu_sys;
    uint64_t http_requests, http_errors;
};

/* Listens on every service in want.  0, or 1 with the reason printed. */
int tcp_svc_open(struct jet_station *s, const char *link, const bool want[TSVC_N],
                 const struct udp_svc_view udp[HOST_UDP_VIEWS], struct tcp_svc **out);
/* Accepts and serves without waiting; 1 if anything happened, 0 if not. */
int tcp_svc_run(struct tcp_svc *t);
/* ns until the services' next deadline of their own (iperf3 timers, closing
 * connections), -1 if none. */
int64_t tcp_svc_timeout(const struct tcp_svc *t);
/* Stops: the listeners close, a running iperf3 test is told the server goes away,
 * every connection is closed (up to linger_ns for the peers to take what was sent,
 * the station driven meanwhile), the rest aborted.  Counters stay readable. */
void tcp_svc_stop(struct tcp_svc *t, int64_t linger_ns);
/* Stops (without lingering) if not yet, and frees t.  NULL is fine. */
void tcp_svc_free(struct tcp_svc *t);
/* The "served" part of jet host's closing lines: "tcp echo 3 conns 1048576 bytes, ..." */
void tcp_svc_print_end(const struct tcp_svc *t, FILE *f);

/* host_http.c: one HTTP connection's state. */
struct http_conn *http_conn_new(void);
void http_conn_free(struct http_conn *h);
/* Reads, answers and sends what it can on k without waiting: 1 if anything happened,
 * 0 if not, HTTP_DONE when the connection should be closed (everything sent), or a
 * negative errno (abort it). */
enum { HTTP_DONE = 2 };
int http_step(struct tcp_svc *t, struct tconn *k, uint64_t now);
/* Writes the status page (HTML, or JSON) into f. */
void status_html(struct tcp_svc *t, FILE *f);
void status_json(struct tcp_svc *t, FILE *f);

#endif
