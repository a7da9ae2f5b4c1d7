/* jet stat on a link that is not a LAN (loop:X, fault:.../tap:IF, ...): the
 * stats files are the only source.  Every station that publishes on a link
 * of that name is shown, ordered by address, then pid, with the link's own
 * counters (jet_link_stats, or "keeps no counters"), its driver's and its
 * channels'.  A file whose process is gone is stale: reported and removed.
 * Rates come from two publications of the same file (matched by id and
 * instance), over the interval between them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stat.h"

struct pub_list {
    char (*ids)[STATPUB_ID_MAX];
    uint32_t n, more;
    int64_t addr; /* -1: any */
};

static void add_pub(const char *id, void *arg)
{
    struct pub_list *l = arg;
    uint32_t a;
    int32_t pid;
    if (statpub_id_parse(id, &a, &pid) || (l->addr >= 0 && a != (uint64_t)l->addr))
        return;
    if (l->n == MAXPUB) {
        l->more++;
        return;
    }
    snprintf(l->ids[l->n++], STATPUB_ID_MAX, "%s", id);
}

/* By address, then pid, then id. */
static int by_pub(const void *x, const void *y)
{
    const char *a = x, *b = y;
    uint32_t aa, ba;
    int32_t ap, bp;
    statpub_id_parse(a, &aa, &ap);
    statpub_id_parse(b, &ba, &bp);
    if (aa != ba)
        return aa < ba ? -1 : 1;
    if (ap != bp)
        return ap < bp ? -1 : 1;
    return strcmp(a, b);
}

static void read_pub(const struct stat_opts *o, struct st_view *v, const char *id)
{
    snprintf(v->id, sizeof v->id, "%s", id);
    int rc = stat_read_file(o, v, id);
    v->listed = rc != -ENOENT;
    if (v->pub == PUB_STALE)
        v->removed = statpub_remove_stale(o->link, id, NULL) == 0;
}

static int link_sample(const struct stat_opts *o, struct sample *sm, struct jet_err *err)
{
    static char ids[MAXPUB][STATPUB_ID_MAX];
    struct pub_list l = {.ids = ids, .addr = o->station};
    stat_stamp(sm);
    int rc = statpub_list(o->link, add_pub, &l, err);
    if (rc < 0)
        return rc;
    qsort(ids, l.n, sizeof ids[0], by_pub);
    sm->npub = 0;
    sm->more = l.more;
    for (uint32_t k = 0; k < l.n; k++) {
        read_pub(o, &sm->st[sm->npub], ids[k]);
        if (sm->st[sm->npub].listed)
            sm->npub++;
    }
    return 0;
}

static int link_check(const struct stat_opts *o, const struct sample *sm)
{
    if (!o->watch && o->station >= 0 && sm->npub == 0)
        return die("station %lld publishes no counters on link '%s'", (long long)o->station,
                   o->link);
    return 0;
}

/* Rates against the publications of the previous sample (pv->prev[0..nprev),
 * matched by id and instance), then this sample's become the previous ones
 * (through pv->next). */
static void link_rates(struct sample *sm, struct stat_prevs *pv)
{
    for (uint32_t i = 0; i < sm->npub; i++) {
        struct st_view *v = &sm->st[i];
        struct st_prev *n = &pv->next[i];
        v->rates = false;
        n->pub_valid = false;
        if (v->pub != PUB_LIVE || !stat_fit_rates(v))
            continue;
        const struct st_prev *p = NULL;
        for (uint32_t k = 0; k < pv->nprev && !p; k++) {
            const struct st_prev *q = &pv->prev[k];
            if (q->pub_valid && q->pub_instance == v->snap.instance && !strcmp(q->id, v->id) &&
                v->snap.publish_ns >= q->publish_ns)
                p = q;
        }
        if (p) {
            uint64_t dtp = v->snap.publish_ns - p->publish_ns;
            v->rates = true;
            v->tx_fps = stat_rate(v->snap.link_st.tx_frames, p->link_tx, dtp);
            v->rx_fps = stat_rate(v->snap.link_st.rx_frames, p->link_rx, dtp);
            stat_chan_rates(v, p, dtp);
        }
        if (!stat_keep_pub(n, v))
            continue;
        n->link_tx = v->snap.link_st.tx_frames;
        n->link_rx = v->snap.link_st.rx_frames;
        snprintf(n->id, sizeof n->id, "%s", v->id);
    }
    pv->nprev = sm->npub;
    struct st_prev *t = pv->prev;
    pv->prev = pv->next;
    pv->next = t;
}

/* "station 3 (pid 123)" or "publisher n0-123 (pid 123, no address)". */
static const char *who(char *b, size_t cap, const struct st_view *v)
{
    uint32_t a;
    int32_t pid;
    statpub_id_parse(v->id, &a, &pid);
    if (a != JET_LINK_NO_ADDR)
        snprintf(b, cap, "station %u (pid %d)", a, (int)pid);
    else
        snprintf(b, cap, "publisher %s (pid %d, no address)", v->id, (int)pid);
    return b;
}

static void link_print_text(const struct stat_opts *o, const struct sample *sm)
{
    char ts[32], w[96];
    printf("link %s: %u station%s publish%s counters%s%s\n", o->link, sm->npub,
           sm->npub == 1 ? "" : "s", sm->npub == 1 ? "es" : "", o->watch ? "  -  " : "",
           o->watch ? stat_clock(ts, sizeof ts, sm) : "");
    for (uint32_t i = 0; i < sm->npub; i++) {
        const struct st_view *v = &sm->st[i];
        who(w, sizeof w, v);
        switch (v->pub) {
        case PUB_NONE:
            printf("%s: (no counters published yet)\n", w);
            continue;
        case PUB_ERROR:
            printf("%s: stats file unreadable: %s\n", w, v->err);
            continue;
        case PUB_DAMAGED:
            printf("%s: stats file damaged, not shown: %s\n", w, v->err);
            continue;
        case PUB_STALE:
            printf("%s: stats file is stale (%s)%s\n", w, v->stale_why,
                   v->removed ? ", removed" : "");
            continue;
        case PUB_LIVE:
            break;
        }
        printf("%s\n", w);
        const struct jet_link_stats *l = &v->snap.link_st;
        if (v->snap.flags & STATPUB_F_NO_LINK_STATS) {
            printf("  link:   keeps no counters\n");
        } else {
            print_txrx("link:  ", l->tx_frames, l->tx_bytes, l->rx_frames, l->rx_bytes, v,
                       o->watch && v->rates);
            printf("; dropped: tx %llu, rx %llu; faults %llu\n",
                   (unsigned long long)l->tx_dropped, (unsigned long long)l->rx_dropped,
                   (unsigned long long)l->faults);
        }
        print_driver(sm, v, o->watch);
    }
    if (!sm->npub && o->station >= 0)
        printf("  (station %lld publishes no counters)\n", (long long)o->station);
    else if (!sm->npub)
        printf("  (no station publishes counters on this link)\n");
    if (sm->more)
        printf("  (%u more not shown)\n", sm->more);
}

static void link_print_json(const struct stat_opts *o, const struct sample *sm)
{
    struct json j;
    json_head(&j, o, sm, "link", o->link);
    json_u64(&j, "publishers", sm->npub);
    json_u64(&j, "not_shown", sm->more);
    json_arr(&j, "station");
    for (uint32_t i = 0; i < sm->npub; i++) {
        const struct st_view *v = &sm->st[i];
        uint32_t a;
        int32_t pid;
        statpub_id_parse(v->id, &a, &pid);
        json_obj(&j, NULL);
        json_str(&j, "id", v->id);
        if (a != JET_LINK_NO_ADDR)
            json_u64(&j, "station", a);
        json_i64(&j, "pid", pid);
        json_pub(&j, v);
        if (v->pub == PUB_LIVE) {
            const struct jet_link_stats *l = &v->snap.link_st;
            bool has = !(v->snap.flags & STATPUB_F_NO_LINK_STATS);
            json_bool(&j, "link_counters", has);
            if (has) {
                json_txrx(&j, l->tx_frames, l->tx_bytes, l->rx_frames, l->rx_bytes);
                json_u64(&j, "tx_dropped", l->tx_dropped);
                json_u64(&j, "rx_dropped", l->rx_dropped);
                json_u64(&j, "faults", l->faults);
                json_rates(&j, v);
            }
            json_live(&j, v);
        }
        json_end_obj(&j);
    }
    json_end_arr(&j);
    json_end_obj(&j);
    json_finish(&j);
}

const struct stat_view stat_link_view = {
    .sample = link_sample,
    .check = link_check,
    .rates = link_rates,
    .text = link_print_text,
    .json = link_print_json,
};
