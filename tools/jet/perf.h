/* jet perf: shared definitions of the command line (perf.c), the raw sender
 * and receiver (perf_send.c, perf_recv.c), --proto rbs (perf_rbs.c), --proto tcp
 * (perf_tcp.c), the helpers they share (perf_common.c) and their output: intervals,
 * progress line, summary, JSON (perf_report.c; docs/perf-json.md).
 *
 * Wire use (all over channels, include/jet/chan.h): the receiver listens on
 * channel C (default 5201) for control frames; data goes to channels
 * C+1 .. C+N (--channels N, round-robin by sequence number) and latency
 * probes to C+N+1.  Separate channels keep the LAN's per-flow fault draws
 * for the data independent of how many control frames were retried.
 * Every payload starts with a perf header:
 *   type u8 | version u8 | class u8 | reserved u8 | session u32 | seq u64 | sent_ns u64
 * Control frames are retried until answered. */
#ifndef JET_TOOLS_PERF_H
#define JET_TOOLS_PERF_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "jet/chan.h"
#include "tcp_cli.h"

enum { T_START = 1, T_START_ACK, T_DATA, T_END, T_RESULT, T_PING, T_PONG, T_PROBE };
enum { PH = 24, CTL_PAYLOAD = 512 };
enum { PLACE_NONE, PLACE_BUFFER, PLACE_FILE };
enum { START_PINGPONG = 1, START_LATENCY = 2 };

struct perf_opts {
    const char *link;
    int station;
    bool server, client, json, pingpong, one_off, latency;
    uint32_t to, chan, frame, channels;
    uint64_t nframes, duration_ns, interval_ns;
    /* receiver */
    enum jet_drop_policy policy;
    uint32_t queue;
    uint64_t reader_delay_ns;
    bool accept_bad_crc;
    int place;
    const char *place_path;
    /* sender */
    uint8_t prio, probe_prio;
    uint64_t reserve_bps, probe_interval_ns;
    uint32_t probe_frame;
    /* private LAN */
    struct jet_lan_config lan;
    bool lan_given, mtu_given;
    /* --proto rbs (perf_rbs.c): message size, bytes to send (-n), round trips (-n, --pingpong) */
    bool rbs;
    bool nodelay; /* --nodelay: RBS without Nagle (--proto tcp's is in tcpo) */
    uint32_t msg;
    uint64_t bytes, count;
    /* --proto tcp (perf_tcp.c): rbs is set too (-l, -n as for rbs); chan is the port */
    bool tcp;
    uint32_t to_addr; /* --to HOST */
    bool tcp_private; /* the client of a private LAN: waits for the server to listen */
    struct tcp_cli tcpo;
};

/* The receiver's report, in RESULT order (u64 each), then the latency table. */
struct result {
    uint64_t delivered, duplicated, reordered, dropped_crc, dropped_header, first_seq, last_seq,
        rx_ns, bytes, dropped_policy, crc_bad_delivered, probes;
};
#define RESULT_FIELDS 12
struct lat {
    uint64_t count, p50, p99, max; /* ns */
};
#define LAT_OFF (16 + 8 * RESULT_FIELDS)
/* After the latency table: the receiver's CPU ns over the session (u64). */
#define RESULT_CPU_OFF (LAT_OFF + 32 * 8)

extern volatile sig_atomic_t perf_stop;

void put64(uint8_t *p, uint64_t v);
uint64_t get64(const uint8_t *p);
void put_ph(uint8_t *p, uint8_t type, uint32_t session, uint64_t seq);
uint32_t ph_session(const uint8_t *p);

struct end {
    struct jet_station *s;
    struct jet_chan *ctl;
    uint32_t me, peer;
    const struct perf_opts *o;
    char why[160]; /* why the peer could not be reached, if known */
};

/* Dead peers.  A process that dies, even by kill -9, loses the lock that holds
 * its station, and the LAN's jet_link_peer_alive() sees that; a peer that is alive but
 * slow (descheduled, stopped, overloaded) keeps it.  So an end waiting for its
 * peer asks every PERF_PEER_CHECK_NS without an answer, and gives up only when
 * no process holds the peer's station any more: within about 0.2 s of a kill,
 * however long the rings are, and never because the peer is slow. */
#define PERF_PEER_CHECK_NS 100000000ull
/* Whether a process holds station `peer` of s's LAN, asked of the LAN handle
 * under any fault wrappers (fault:.../lan:X); true when there is no LAN
 * underneath (the link cannot tell) and for the station itself. */
bool perf_peer_alive(struct jet_station *s, uint32_t peer);
/* Says that the peer's process is gone in the words RBS uses for a peer that
 * left (src/rbs/rbs_glue.c): "jet: WHAT: station 1 of lan:x left the link:
 * its process is gone (AFTER)", AFTER a printf format (NULL: none).  Returns 1. */
int perf_die_gone(struct jet_station *s, uint32_t peer, const char *what, const char *after, ...)
    __attribute__((format(printf, 4, 5)));

/* --pingpong keeps every round trip time: at most this many round trips. */
#define PERF_PINGPONG_MAX 100000000ull
/* Appends v to the round trip times (*v, *n, *cap), growing the array up to
 * PERF_PINGPONG_MAX entries.  0, or -ENOMEM. */
int perf_rtt_add(uint64_t **v, uint64_t *n, uint64_t *cap, uint64_t rtt);

/* Sorts the n round trip times at rtt (ns). */
void perf_rtt_sort(uint64_t *rtt, uint64_t n);
/* The median and 99th percentile of n sorted round trip times, in us (0 if none). */
void perf_rtt_pct(const uint64_t *rtt, uint64_t n, double *p50, double *p99);

/* Sends a control message to the peer's control channel; waits out back-pressure. */
int send_ctl(struct end *e, const uint8_t *msg);

/* ---- output (perf_report.c): intervals, progress line, summary, JSON ----
 * docs/perf-json.md describes all of it, the JSON keys one by one. */

/* The line between the intervals and the result, as text. */
#define PERF_RULE "- - - - - - - - - - - - - - - - - - - - - - - - -\n"

/* One -i interval as the JSON keeps it: seconds since the start, bytes; for
 * ping-pong the round trips instead, and their p50, p99 and largest time. */
struct perf_ivrec {
    double start, end;
    uint64_t bytes;
    uint64_t rounds;
    double p50_us, p99_us, max_us;
};
/* A run's clock for the interval lines (-i, "[ ID] Interval Transfer Bitrate") and
 * the progress line (a terminal's stdout, no --json, no -i: rewritten in place
 * with \r from the first second on).  The caller passes a count it keeps anyway
 * (frames, bytes, round trips) and a time it read anyway: between two due times,
 * a tick is one compare. */
struct perf_iv {
    const struct perf_opts *o;
    uint64_t t0, start, mark, unit; /* unit: bytes per count (raw: the frame size) */
    uint64_t next, next_iv, next_prog;
    struct perf_ivrec *v;
    size_t n, cap;
    bool header, progress, shown, rounds;
    int plen;
    uint64_t *const *rtts; /* ping-pong: the caller's round trip times (perf_iv_rtts) */
    uint64_t *scratch;     /* an interval's times, reordered to find its percentiles */
    size_t scap;
};
/* Starts the clock at t0.  unit: bytes per count; progress: this end may show a
 * progress line (the client; only when stdout is a terminal). */
void perf_iv_init(struct perf_iv *iv, const struct perf_opts *o, uint64_t t0, uint64_t unit,
                  bool progress);
/* Ping-pong: *rtts is the caller's array of round trip times (ns, in the order
 * taken; it may move when it grows), whose first `count` entries are the round
 * trips counted so far.  Each -i interval then prints and keeps its round trips'
 * p50, p99 and largest time; without it, only their number. */
void perf_iv_rtts(struct perf_iv *iv, uint64_t *const *rtts);
void perf_iv_due(struct perf_iv *iv, uint64_t now, uint64_t count);
/* At now (a clock read the caller made anyway) the count is count. */
static inline void perf_iv_tick(struct perf_iv *iv, uint64_t now, uint64_t count)
{
    if (now >= iv->next)
        perf_iv_due(iv, now, count);
}
/* The end of the run: the last, partial interval (count: the final count) and the
 * progress line cleared.  Idempotent. */
void perf_iv_end(struct perf_iv *iv, uint64_t now, uint64_t count);
/* Clears the progress line (an error follows) and frees the intervals. */
void perf_iv_free(struct perf_iv *iv);

/* The iperf3-like summary, after PERF_RULE: a sender and a receiver line
 * (interval, transfer, bitrate, retransmits where the protocol has them), and for
 * ping-pong the round trip min/mean/p50/p99/max. */
struct perf_side {
    bool known;
    uint64_t bytes;
    double secs;
};
struct perf_summary {
    struct perf_side snd, rcv;
    bool has_retr;
    uint64_t retr;
    const char *rcv_note; /* after the receiver line, or NULL */
    const uint64_t *rtt;  /* sorted, ns */
    uint64_t nrtt;
};
void perf_summary(const struct perf_opts *o, const struct perf_summary *s);

/* The result, as JSON: opens the object with "proto", "link", "version", "mode". */
void perf_json_begin(struct json *j, const struct perf_opts *o, const char *proto,
                     const char *link);
/* "rtt_us": p50, p99, min, max, mean, p90, p999, cdf of n sorted round trip times. */
void perf_json_rtt(struct json *j, const uint64_t *rtt, uint64_t n);
/* Last: sender_cpu_s, receiver_cpu_s, cpu_ns_per_byte (bytes > 0), rtt_us
 * (--pingpong), intervals (-i; iv may be NULL), lan (the private LAN); closes the
 * object and prints it. */
void perf_json_end(struct json *j, const struct perf_opts *o, uint64_t snd_cpu_ns,
                   uint64_t rcv_cpu_ns, uint64_t bytes, const uint64_t *rtt, uint64_t nrtt,
                   const struct perf_iv *iv);

/* The raw result (perf_report.c).  x: the sender's side (NULL at the receiver). */
struct perf_raw_snd {
    uint64_t cpu, rcpu; /* CPU ns of the sender, of the receiver (as it reported) */
    double secs;        /* the sender's own time */
    const struct perf_iv *iv;
};
void report(const struct perf_opts *o, const char *link, uint64_t sent, const struct result *r,
            const struct lat *lat, double seconds, const uint64_t *rtt, uint64_t nrtt,
            const struct perf_raw_snd *x);

/* ---- byte-stream sessions: what --proto rbs and --proto tcp share ----
 * (perf_rbs.c, perf_tcp.c: the same session shape over their own connections) */

/* SIGINT / SIGTERM set perf_stop. */
void perf_catch_stop(void);
/* CPU time this process used, ns (user + system). */
uint64_t perf_cpu_ns(void);
/* The server's result, big-endian u64s: bytes, rx_ns, cpu_ns, retransmits. */
enum { PERF_STREAM_RESULT = 32 };
void perf_stream_result_put(uint8_t *res, uint64_t bytes, uint64_t rx_ns, uint64_t cpu,
                            uint64_t retransmits);
/* The server's receive loop's clock: first byte to end of stream. */
struct perf_rx_clock {
    uint64_t bytes, first, last;
};
/* n bytes arrived at now. */
static inline void perf_rx_tick(struct perf_rx_clock *k, uint64_t now, uint64_t n)
{
    if (!k->first)
        k->first = now;
    k->last = now;
    k->bytes += n;
}
/* The client's view of a session: the server's result, the client's own time (secs)
 * and its round trips (sorted here). */
struct perf_stream_sum {
    uint64_t bytes, rcpu;
    double secs, gbps, p50, p99;
};
void perf_stream_sum(const struct perf_opts *o, const uint8_t *res, double secs, uint64_t *rtt,
                     uint64_t nrtt, struct perf_stream_sum *r);
/* JSON: "bytes", "seconds", "gbps". */
void perf_stream_json_rate(struct json *j, const struct perf_stream_sum *r);
/* JSON, last: the CPU times, the round trips, the intervals; closes the object
 * and prints it. */
void perf_stream_json_end(struct json *j, const struct perf_opts *o,
                          const struct perf_stream_sum *r, uint64_t cpu, const uint64_t *rtt,
                          uint64_t nrtt, const struct perf_iv *iv);
/* Text, first: the rule, the summary (sent: the client's bytes in snd_secs;
 * retr: its retransmits) and the headline over PROTO on link (how: ", zero-copy"
 * or ""). */
void perf_stream_text_head(const struct perf_opts *o, const char *proto, const char *link,
                           const struct perf_stream_sum *r, uint64_t nrtt, const char *how,
                           uint64_t sent, double snd_secs, uint64_t retr, const uint64_t *rtt);
/* A stream server's receiver line (text, not --json): bytes in secs. */
void perf_stream_served(const struct perf_opts *o, uint64_t bytes, double secs);

/* jet perf --proto rbs (perf_rbs.c): its own options, same shape. */

/* One end of a private-LAN run: opts, the link name, its station, receiver or sender. */
typedef int (*perf_end_fn)(const void *opts, const char *link, int station, bool server);
/* Creates a private LAN perf-PID, forks the receiver (station 1, rx_opts) and
 * the sender (station 0, tx_opts), waits (stopping the receiver when the
 * sender failed or after a bound), removes the LAN. Returns the exit code.
 * banner: printed after "jet perf: private LAN lan:NAME, " unless NULL. */
int perf_private(const struct jet_lan_config *lan, const char *banner, perf_end_fn end,
                 const void *rx_opts, const void *tx_opts);

/* Opens station `station` (-1: any) on link (any link name), the control
 * channel, and runs the raw receiver (server) or sender to `peer`; closes
 * it.  The exit code. */
int perf_raw_end(const struct perf_opts *o, const char *link, int station, bool server,
                 uint32_t peer);
int run_client(struct end *e);
int run_server(struct end *e);

/* Worked examples for --help: private LAN, two ends on lan:NAME, a real link
 * (perf.c has raw's; jet perf --help prints all three). */
extern const char perf_rbs_examples[], perf_tcp_examples[];

/* perf_rbs.c: jet perf --proto rbs, with the options perf.c parsed. */
#define PERF_RBS_MAX_MSG (64u << 20)
void perf_rbs_help(FILE *f);
int perf_rbs_main(struct perf_opts *o);

/* perf_tcp.c: jet perf --proto tcp, with the options perf.c parsed. */
void perf_tcp_help(FILE *f);
int perf_tcp_main(struct perf_opts *o);

#endif
