/* jet stat: what the LAN view (stat.c) and any other link's (stat_link.c)
 * share: reading one stats file, rates between two samples, and printing a
 * station's traffic counters, driver and channel table, as text or JSON. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stat.h"
#include "util/clock.h"

const char *const pub_names[] = {"none", "live", "stale", "error", "damaged"};

/* ---- reading ---- */

void stat_stamp(struct sample *sm)
{
    sm->mono_ns = jet_now_ns();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    sm->real_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int stat_read_file(const struct stat_opts *o, struct st_view *v, const char *id)
{
    v->pub = PUB_NONE;
    v->stale_why = NULL;
    v->removed = false;
    v->err[0] = 0;
    struct jet_err err = {0};
    int rc = statpub_read(o->link, id, &v->snap, &err);
    if (rc == -ENOENT) /* gone since the listing */
        return rc;
    if (rc) {
        v->pub = rc == -EPROTO ? PUB_DAMAGED : PUB_ERROR;
        snprintf(v->err, sizeof v->err, "%s", jet_err_str(&err, rc));
        return rc;
    }
    v->pub = PUB_LIVE; /* channels sorted by id already */
    if (!v->snap.alive) {
        v->pub = PUB_STALE;
        v->stale_why = "its process is gone";
    } else if (v->snap.publishes == 0) {
        v->pub = PUB_NONE; /* its first pass is under way */
    }
    return 0;
}

/* ---- rates ---- */

double stat_rate(uint64_t now, uint64_t before, uint64_t dt_ns)
{
    return now >= before && dt_ns ? (double)(now - before) * 1e9 / (double)dt_ns : 0;
}

static const struct jet_chan_stats *find_prev(const struct st_prev *p, uint32_t id)
{
    uint32_t lo = 0, hi = p->nchan;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (p->chan[mid].id == id)
            return &p->chan[mid];
        if (p->chan[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

bool stat_fit_rates(struct st_view *v)
{
    if (v->snap.nconn > v->nrcap) {
        struct conn_rate *r = realloc(v->nr, v->snap.nconn * sizeof *r);
        if (!r)
            return false;
        v->nr = r;
        v->nrcap = v->snap.nconn;
    }
    if (v->snap.nchan <= v->crcap)
        return true;
    struct chan_rate *c = realloc(v->cr, v->snap.nchan * sizeof *c);
    if (!c)
        return false;
    v->cr = c;
    v->crcap = v->snap.nchan;
    return true;
}

void stat_chan_rates(struct st_view *v, const struct st_prev *p, uint64_t dt_ns)
{
    for (uint32_t k = 0; k < v->snap.nchan; k++) {
        const struct jet_chan_stats *c = &v->snap.chan[k].st;
        const struct jet_chan_stats *q = p ? find_prev(p, c->id) : NULL;
        v->cr[k].in_fps = q ? stat_rate(c->frames_in, q->frames_in, dt_ns) : 0;
        v->cr[k].out_fps = q ? stat_rate(c->frames_out, q->frames_out, dt_ns) : 0;
    }
    /* connections by protocol, kind and channel (a few: a linear search) */
    for (uint32_t k = 0; k < v->snap.nconn; k++) {
        const struct statpub_conn *c = &v->snap.conn[k];
        const struct conn_prev *q = NULL;
        for (uint32_t i = 0; p && dt_ns && i < p->nconn && !q; i++)
            if (p->conn[i].chan == c->chan && p->conn[i].proto == c->proto &&
                p->conn[i].kind == c->kind)
                q = &p->conn[i];
        v->nr[k].valid = q != NULL && c->kind == STATPUB_CONN;
        v->nr[k].send_bps = q ? 8 * stat_rate(c->bytes_sent, q->sent, dt_ns) : 0;
        v->nr[k].recv_bps = q ? 8 * stat_rate(c->bytes_received, q->rcvd, dt_ns) : 0;
    }
}

bool stat_keep_pub(struct st_prev *p, const struct st_view *v)
{
    if (v->snap.nchan > p->cap) {
        struct jet_chan_stats *c = realloc(p->chan, v->snap.nchan * sizeof *c);
        if (!c)
            return false;
        p->chan = c;
        p->cap = v->snap.nchan;
    }
    for (uint32_t k = 0; k < v->snap.nchan; k++)
        p->chan[k] = v->snap.chan[k].st;
    p->nchan = v->snap.nchan;
    if (v->snap.nconn > p->conn_cap) {
        struct conn_prev *c = realloc(p->conn, v->snap.nconn * sizeof *c);
        if (!c)
            return false;
        p->conn = c;
        p->conn_cap = v->snap.nconn;
    }
    for (uint32_t k = 0; k < v->snap.nconn; k++) {
        const struct statpub_conn *c = &v->snap.conn[k];
        p->conn[k] = (struct conn_prev){.proto = c->proto,
                                        .kind = c->kind,
                                        .chan = c->chan,
                                        .sent = c->bytes_sent,
                                        .rcvd = c->bytes_received};
    }
    p->nconn = v->snap.nconn;
    p->pub_valid = true;
    p->pub_instance = v->snap.instance;
    p->publish_ns = v->snap.publish_ns;
    return true;
}

/* ---- text ---- */

static const char *drop_name(enum jet_drop_policy d)
{
    switch (d) {
    case JET_DROP_NEWEST:
        return "newest";
    case JET_DROP_OLDEST:
        return "oldest";
    case JET_DROP_BACKPRESSURE:
        return "backpressure";
    }
    return "?";
}

static const char *fps(char *b, size_t cap, double v)
{
    if (v >= 1e6)
        snprintf(b, cap, "%.2fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(b, cap, "%.1fk", v / 1e3);
    else
        snprintf(b, cap, "%.0f", v);
    return b;
}

const char *stat_clock(char *b, size_t cap, const struct sample *sm)
{
    time_t t = (time_t)(sm->real_ns / 1000000000u);
    struct tm tm;
    strftime(b, cap, "%H:%M:%S", localtime_r(&t, &tm));
    return b;
}

void print_txrx(const char *label, uint64_t tx_frames, uint64_t tx_bytes, uint64_t rx_frames,
                uint64_t rx_bytes, const struct st_view *v, bool r)
{
    char b1[32], b2[32], b3[24], b4[24];
    printf("  %s tx %llu frames%s%s%s (%s), rx %llu frames%s%s%s (%s)", label,
           (unsigned long long)tx_frames, r ? " [" : "", r ? fps(b3, sizeof b3, v->tx_fps) : "",
           r ? "/s]" : "", fmt_bytes(b1, sizeof b1, (double)tx_bytes),
           (unsigned long long)rx_frames, r ? " [" : "", r ? fps(b4, sizeof b4, v->rx_fps) : "",
           r ? "/s]" : "", fmt_bytes(b2, sizeof b2, (double)rx_bytes));
}

static void print_chans(const struct st_view *v, bool watch)
{
    const struct statpub_snap *sn = &v->snap;
    if (!sn->nchan) {
        printf("    (no channel open)\n");
        return;
    }
    bool r = watch && v->rates;
    printf("    %10s %-12s %14s %4s %12s %10s %12s%s %14s %12s%s %14s %8s %8s %8s %8s\n", "chan",
           "policy", "queue limit", "prio", "reserve", "queued/hwm", "frames in",
           r ? "     in/s" : "", "bytes in", "frames out", r ? "    out/s" : "", "bytes out",
           "drop pol", "drop crc", "crc bad", "backpr");
    for (uint32_t k = 0; k < sn->nchan; k++) {
        const struct jet_chan_stats *c = &sn->chan[k].st;
        const struct jet_chan_policy *p = &sn->chan[k].p;
        char pol[32], lim[48], res[32], q[32], b1[24], b2[24], b3[32];
        snprintf(pol, sizeof pol, "%s%s", drop_name(p->drop), p->accept_bad_crc ? "+crc" : "");
        snprintf(lim, sizeof lim, "%uf/%s", p->queue_frames,
                 fmt_bytes(b3, sizeof b3, (double)p->queue_bytes));
        if (p->reserve_bps)
            fmt_rate(res, sizeof res, (double)p->reserve_bps);
        else
            snprintf(res, sizeof res, "-");
        snprintf(q, sizeof q, "%u/%u", c->queued, c->queued_hwm);
        char rin[24] = "", rout[24] = "";
        if (r) {
            snprintf(rin, sizeof rin, " %8s", fps(b1, sizeof b1, v->cr[k].in_fps));
            snprintf(rout, sizeof rout, " %8s", fps(b2, sizeof b2, v->cr[k].out_fps));
        }
        printf(
            "    %10u %-12s %14s %4u %12s %10s %12llu%s %14llu %12llu%s %14llu %8llu %8llu %8llu "
            "%8llu\n",
            c->id, pol, lim, p->prio, res, q, (unsigned long long)c->frames_in, rin,
            (unsigned long long)c->bytes_in, (unsigned long long)c->frames_out, rout,
            (unsigned long long)c->bytes_out, (unsigned long long)c->dropped_policy,
            (unsigned long long)c->dropped_crc, (unsigned long long)c->crc_bad_delivered,
            (unsigned long long)c->backpressured);
    }
}

void print_driver(const struct sample *sm, const struct st_view *v, bool watch)
{
    const struct statpub_snap *sn = &v->snap;
    double age = sm->real_ns > sn->publish_ns ? (double)(sm->real_ns - sn->publish_ns) / 1e9 : 0;
    printf("  driver: frames in %llu; dropped: header %llu, no channel %llu, not mine %llu, "
           "other %llu; %u channel%s; published %.1f s ago%s\n",
           (unsigned long long)sn->st.frames_in, (unsigned long long)sn->st.dropped_header,
           (unsigned long long)sn->st.dropped_no_chan, (unsigned long long)sn->st.dropped_not_mine,
           (unsigned long long)sn->st.dropped_other, sn->nchan, sn->nchan == 1 ? "" : "s", age,
           sn->flags & STATPUB_F_STOPPED ? " (publishing stopped: no room)" : "");
    print_chans(v, watch);
    print_conns(v);
}

void stat_next_screen(const struct stat_opts *o, int n)
{
    static int tty = -1;
    if (tty < 0)
        tty = isatty(STDOUT_FILENO);
    if (o->watch && tty)
        fputs("\033[H\033[J", stdout); /* home, clear: redraw in place */
    else if (n > 0)
        putchar('\n');
}

/* ---- JSON ---- */

void json_head(struct json *j, const struct stat_opts *o, const struct sample *sm,
               const char *key, const char *name)
{
    json_begin(j, stdout);
    json_obj(j, NULL);
    json_str(j, key, name);
    json_u64(j, "time_ns", sm->real_ns);
    if (o->watch)
        json_dbl(j, "interval_s", (double)o->interval_ns / 1e9);
}

void json_txrx(struct json *j, uint64_t tx_frames, uint64_t tx_bytes, uint64_t rx_frames,
               uint64_t rx_bytes)
{
    json_u64(j, "tx_frames", tx_frames);
    json_u64(j, "tx_bytes", tx_bytes);
    json_u64(j, "rx_frames", rx_frames);
    json_u64(j, "rx_bytes", rx_bytes);
}

void json_rates(struct json *j, const struct st_view *v)
{
    if (v->rates) {
        json_dbl(j, "tx_frames_per_s", v->tx_fps);
        json_dbl(j, "rx_frames_per_s", v->rx_fps);
    }
}

void json_pub(struct json *j, const struct st_view *v)
{
    json_str(j, "stats", pub_names[v->pub]);
    if (v->pub == PUB_ERROR || v->pub == PUB_DAMAGED)
        json_str(j, "stats_error", v->err);
    if (v->pub == PUB_STALE) {
        json_i64(j, "stale_pid", v->snap.pid);
        json_str(j, "stale_reason", v->stale_why);
        json_bool(j, "removed", v->removed);
    }
}

static void json_chan(struct json *j, const struct st_view *v, uint32_t k, bool r)
{
    const struct jet_chan_stats *c = &v->snap.chan[k].st;
    const struct jet_chan_policy *p = &v->snap.chan[k].p;
    json_obj(j, NULL);
    json_u64(j, "id", c->id);
    json_str(j, "drop", drop_name(p->drop));
    json_u64(j, "queue_frames", p->queue_frames);
    json_u64(j, "queue_bytes", p->queue_bytes);
    json_bool(j, "accept_bad_crc", p->accept_bad_crc);
    json_u64(j, "prio", p->prio);
    json_u64(j, "reserve_bps", p->reserve_bps);
    json_u64(j, "burst_bytes", p->burst_bytes);
    json_u64(j, "queued", c->queued);
    json_u64(j, "queued_hwm", c->queued_hwm);
    json_u64(j, "queued_bytes", c->queued_bytes);
    json_u64(j, "frames_in", c->frames_in);
    json_u64(j, "bytes_in", c->bytes_in);
    json_u64(j, "frames_out", c->frames_out);
    json_u64(j, "bytes_out", c->bytes_out);
    json_u64(j, "dropped_policy", c->dropped_policy);
    json_u64(j, "dropped_crc", c->dropped_crc);
    json_u64(j, "crc_bad_delivered", c->crc_bad_delivered);
    json_u64(j, "backpressured", c->backpressured);
    json_u64(j, "tx_conforming", c->tx_conforming);
    if (r) {
        json_dbl(j, "frames_in_per_s", v->cr[k].in_fps);
        json_dbl(j, "frames_out_per_s", v->cr[k].out_fps);
    }
    json_end_obj(j);
}

void json_live(struct json *j, const struct st_view *v)
{
    const struct statpub_snap *sn = &v->snap;
    json_str(j, "link", sn->link);
    json_i64(j, "stats_pid", sn->pid);
    json_u64(j, "publish_ns", sn->publish_ns);
    json_u64(j, "publishes", sn->publishes);
    json_u64(j, "pass_ns", sn->publish_ns > sn->begin_ns ? sn->publish_ns - sn->begin_ns : 0);
    json_bool(j, "publishing_stopped", (sn->flags & STATPUB_F_STOPPED) != 0);
    json_obj(j, "driver");
    json_u64(j, "frames_in", sn->st.frames_in);
    json_u64(j, "dropped_header", sn->st.dropped_header);
    json_u64(j, "dropped_no_chan", sn->st.dropped_no_chan);
    json_u64(j, "dropped_not_mine", sn->st.dropped_not_mine);
    json_u64(j, "dropped_other", sn->st.dropped_other);
    json_u64(j, "channels", sn->nchan);
    json_end_obj(j);
    json_arr(j, "chan");
    for (uint32_t k = 0; k < sn->nchan; k++)
        json_chan(j, v, k, v->rates);
    json_end_arr(j);
    json_conns(j, v);
}
