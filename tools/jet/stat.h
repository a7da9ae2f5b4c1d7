/* jet stat: what the command (stat.c: command line, the sampling loop and the
 * LAN view), the view of any other link (stat_link.c) and the shared reading
 * and printing of stats files (stat_show.c) have in common.
 *
 * One sample: the view's sample() fills struct sample, check() refuses what
 * cannot be shown (an exit code), rates() compares with what the previous
 * sample kept and keeps this one, then text() or json() prints it. */
#ifndef JET_TOOLS_STAT_H
#define JET_TOOLS_STAT_H

#include <stdbool.h>
#include <stdint.h>

#include "chan/statpub.h"
#include "cli.h"

enum {
    MAXST = JET_LAN_MAX_STATIONS,
    MAXPUB = 1024, /* publishers shown on a link that is not a LAN */
};

struct stat_opts {
    char link[STATPUB_LINK_MAX]; /* the link name */
    bool is_lan;
    char lan[JET_LAN_NAME_MAX + 1]; /* when is_lan */
    int64_t station;                /* -1: all (on a LAN: station; elsewhere: address) */
    bool json, watch;
    uint64_t interval_ns;
};

/* PUB_DAMAGED: the file is there but fails statpub_parse's checks (or is
 * not the station's): nothing of it is shown. */
enum pub_state { PUB_NONE, PUB_LIVE, PUB_STALE, PUB_ERROR, PUB_DAMAGED };
extern const char *const pub_names[]; /* JSON "stats", by enum pub_state */

struct chan_rate {
    double in_fps, out_fps;
};

/* A connection's rates (--watch): payload bits per second sent (retransmissions
 * included) and received, over the interval between two publications; valid
 * when the previous one had the same connection. */
struct conn_rate {
    bool valid;
    double send_bps, recv_bps;
};

/* What a publication showed of a connection, for the next one's rates. */
struct conn_prev {
    uint8_t proto, kind;
    uint32_t chan;
    uint64_t sent, rcvd;
};

/* One station in one sample. */
struct st_view {
    bool listed;
    enum pub_state pub;
    const char *stale_why;
    bool removed;
    char err[256];
    struct statpub_snap snap; /* channels sorted by id */
    bool rates;               /* rates below are valid (--watch, second sample on) */
    double tx_fps, rx_fps;    /* LAN: from the LAN; elsewhere: from the link's counters */
    char id[STATPUB_ID_MAX];  /* not a LAN: the file's id */
    struct chan_rate *cr;     /* per snap.chan entry */
    uint32_t crcap;
    struct conn_rate *nr;     /* per snap.conn entry */
    uint32_t nrcap;
};

/* What the previous sample saw of a station, for rates. */
struct st_prev {
    bool valid, pub_valid;
    uint64_t token, mono_ns, tx_frames, rx_frames;
    uint64_t pub_instance, publish_ns;
    uint64_t link_tx, link_rx;   /* not a LAN: the link's counters at publish_ns */
    char id[STATPUB_ID_MAX];     /* not a LAN: whose */
    struct jet_chan_stats *chan; /* sorted by id */
    uint32_t nchan, cap;
    struct conn_prev *conn; /* in the publication's order */
    uint32_t nconn, conn_cap;
};

/* The previous sample's stations: prev[] (a LAN: by station); a link that is
 * not a LAN fills next[] and swaps the two. */
struct stat_prevs {
    struct st_prev *prev, *next;
    uint32_t nprev;
};

struct sample {
    struct jet_lan_info info;
    uint64_t mono_ns, real_ns;
    uint64_t files;            /* bit per station with a stats file */
    struct st_view st[MAXPUB]; /* LAN: by station; elsewhere: npub publishers */
    uint32_t npub;             /* not a LAN: files found (at most MAXPUB) */
    uint32_t more;             /* not a LAN: files beyond MAXPUB, not shown */
};

/* A view: the LAN's (stat.c) or any other link's (stat_link.c). */
struct stat_view {
    int (*sample)(const struct stat_opts *o, struct sample *sm, struct jet_err *err);
    int (*check)(const struct stat_opts *o, const struct sample *sm); /* 0 or an exit code */
    void (*rates)(struct sample *sm, struct stat_prevs *pv);
    void (*text)(const struct stat_opts *o, const struct sample *sm);
    void (*json)(const struct stat_opts *o, const struct sample *sm);
};
extern const struct stat_view stat_link_view;

/* ---- stat_show.c: reading ---- */

/* The sample's clocks: mono_ns and real_ns. */
void stat_stamp(struct sample *sm);
/* Reads the stats file `id` of o->link into v (pub, err, stale_why, snap; not
 * listed): PUB_LIVE, PUB_STALE when its process is gone, PUB_NONE before its
 * first pass, PUB_ERROR or PUB_DAMAGED.  Returns statpub_read's code (-ENOENT:
 * the file went away, v says PUB_NONE). */
int stat_read_file(const struct stat_opts *o, struct st_view *v, const char *id);

/* ---- stat_show.c: rates ---- */

/* Frames per second from two counter readings dt_ns apart. */
double stat_rate(uint64_t now, uint64_t before, uint64_t dt_ns);
/* Room for a rate per channel and connection of v's publication: false when
 * out of memory. */
bool stat_fit_rates(struct st_view *v);
/* v's channel and connection rates against those kept in p (NULL: none) dt_ns
 * before. */
void stat_chan_rates(struct st_view *v, const struct st_prev *p, uint64_t dt_ns);
/* Keeps v's publication (instance, time, channels) in p for the next sample:
 * false when out of memory (p->pub_valid stays false). */
bool stat_keep_pub(struct st_prev *p, const struct st_view *v);

/* ---- stat_show.c: text ---- */

/* "HH:MM:SS" of the sample, for --watch headers. */
const char *stat_clock(char *b, size_t cap, const struct sample *sm);
/* "  LABEL tx N frames [R/s] (B), rx N frames [R/s] (B)" without a newline;
 * the rates when r. */
void print_txrx(const char *label, uint64_t tx_frames, uint64_t tx_bytes, uint64_t rx_frames,
                uint64_t rx_bytes, const struct st_view *v, bool r);
/* The driver's counters and the channel table of a live publication. */
void print_driver(const struct sample *sm, const struct st_view *v, bool watch);
/* Clears the screen (--watch on a terminal) or separates samples. */
void stat_next_screen(const struct stat_opts *o, int n);

/* ---- stat_conn.c: connections ---- */

/* The connections section of a live publication (nothing when no protocol
 * publishes any). */
void print_conns(const struct st_view *v);
/* "conns_malformed", "conns_not_published" and the array "conn". */
void json_conns(struct json *j, const struct st_view *v);

/* ---- stat_show.c: JSON ---- */

/* Opens the sample's object: KEY: NAME, time_ns, interval_s with --watch. */
void json_head(struct json *j, const struct stat_opts *o, const struct sample *sm,
               const char *key, const char *name);
/* tx_frames, tx_bytes, rx_frames, rx_bytes. */
void json_txrx(struct json *j, uint64_t tx_frames, uint64_t tx_bytes, uint64_t rx_frames,
               uint64_t rx_bytes);
/* tx_frames_per_s and rx_frames_per_s, when v has rates. */
void json_rates(struct json *j, const struct st_view *v);
/* "stats" and what goes with it: the error, the stale file's pid and why. */
void json_pub(struct json *j, const struct st_view *v);
/* A live publication: when, the driver, the channels. */
void json_live(struct json *j, const struct st_view *v);

#endif
