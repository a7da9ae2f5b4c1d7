/* The emulated LAN, station side: attach, transmit, receive, wait, detach.
 *
 * Transmit: tx_alloc lends a buffer from the station's magazine (a private
 * cache of buffers it owns, refilled from the pool in batches); tx_commit
 * checks the frame and appends it to the station's transmit queue; flush
 * moves queued frames onto the medium: it waits for the shared medium when a
 * rate is set, applies the seeded faults, gives the buffer to the receiver's
 * token and writes a descriptor into the (me -> receiver) ring.  Tails are
 * published once per flush, and a sleeping receiver is woken.
 *
 * Receive: rx_burst walks the rings into this station round-robin and takes
 * descriptors whose delivery time has come.  Frames are lent to the caller
 * in place; rx_release gives their buffers back to their senders, through
 * the return rings, or to the magazine.
 *
 * Faults are drawn per frame from a generator seeded by (LAN seed, sender,
 * destination, channel or EtherType, frame number in that flow), so the
 * faults a flow sees do not depend on other traffic or on timing; the draws
 * are link/fault.h, shared with the fault wrapper link.
 *
 * Files: this one attaches and detaches a station and holds its ops table,
 * station information and counters, and bandwidth reservations; lan_tx.c
 * holds the magazine and the transmit path (queue, medium, faults, publish,
 * waking receivers); lan_rx.c the receive path (rx_burst, buffer returns,
 * index repair) and waiting (wait, fd, arm); lan_link.h the station's
 * private state and the helpers those files share.  The segment's layout is
 * lan_impl.h; creating, opening and reclaiming it is lan_seg.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "link/lan_link.h"
#include "util/clock.h"

static const struct jet_link_ops lan_ops;

static int lan_reserve(struct jet_link *l, int64_t delta)
{
    struct lan_link *k = lan_link_of(l);
    _Atomic uint64_t *tot = &k->seg.h->reserved_bps, *mine = &k->seg.st[k->me].reserved_bps;
    if (delta < 0) {
        uint64_t d = delta == INT64_MIN ? (uint64_t)INT64_MAX + 1 : (uint64_t)-delta;
        uint64_t m = atomic_load(mine);
        if (d > m)
            d = m;
        atomic_fetch_sub(mine, d);
        atomic_fetch_sub(tot, d);
        return 0;
    }
    uint64_t cur = atomic_load(tot);
    do {
        if (k->cfg.rate_bps && (cur > k->cfg.rate_bps || (uint64_t)delta > k->cfg.rate_bps - cur))
            return jet_err_set(&l->err, -EBUSY,
                               "cannot reserve %llu bit/s: %llu of the LAN's %llu bit/s are "
                               "reserved already",
                               (unsigned long long)delta, (unsigned long long)cur,
                               (unsigned long long)k->cfg.rate_bps);
    } while (!atomic_compare_exchange_weak(tot, &cur, cur + (uint64_t)delta));
    atomic_fetch_add(mine, (uint64_t)delta);
    return 0;
}

/* ---- attach and detach ---- */

int jet_lan_attach(const char *name, int station, struct jet_link **out, struct jet_err *err)
{
    struct lan_link *k = calloc(1, sizeof *k);
    if (!k)
        return jet_err_set(err, -ENOMEM, "out of memory");
    int rc = lan_seg_open(name, &k->seg, err);
    if (rc) {
        free(k);
        return rc;
    }
    struct lan_seg *s = &k->seg;
    k->nst = s->g.cfg.stations;
    k->bs = calloc(s->pool.nbufs, 1);
    k->mag_cap = s->pool.nbufs / 4 < MAG_CAP ? s->pool.nbufs / 4 : MAG_CAP;
    if (k->mag_cap < 2)
        k->mag_cap = 2;
    if (!k->bs) {
        rc = jet_err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    if (station >= (int)k->nst) {
        rc = jet_err_set(err, -ERANGE, "LAN '%s' has stations 0 to %u; there is no station %d",
                         name, k->nst - 1, station);
        goto fail;
    }
    int got = -1;
    if (station >= 0) {
        if (lan_lock(s, (uint32_t)station) != 0) {
            rc = jet_err_set(err, -EADDRINUSE, "station %d of LAN '%s' is in use by pid %d",
                             station, name, (int)atomic_load(&s->st[station].pid));
            goto fail;
        }
        got = station;
    } else {
        for (uint32_t i = 0; i < k->nst && got < 0; i++)
            if (lan_lock(s, i) == 0)
                got = (int)i;
        if (got < 0) {
            rc = jet_err_set(err, -EBUSY, "LAN '%s' is full (all %u stations attached)", name,
                             k->nst);
            goto fail;
        }
    }
    k->me = (uint32_t)got;
    struct lan_station *st = &s->st[k->me];
    lan_reclaim_locked(s, k->me); /* a previous holder that died */
    uint32_t serial;
    do
        serial = (atomic_fetch_add(&s->h->serial, 1) + 1) & 0xffffff;
    while (serial == 0);
    k->token = serial << 8 | k->me;
    k->cfg = s->g.cfg;
    k->mtu = k->cfg.mtu;
    k->ring_size = k->cfg.ring;
    k->ring_mask = k->cfg.ring - 1;
    k->headroom = s->g.headroom;
    k->frame_max = s->g.frame_max;
    k->need_clock = k->cfg.rate_bps || k->cfg.delay_ns || k->cfg.jitter_ns;
    k->fcfg = (struct jet_link_fault){.loss = k->cfg.loss,
                                      .ber = k->cfg.ber,
                                      .dup = k->cfg.dup,
                                      .reorder = k->cfg.reorder,
                                      .delay_ns = k->cfg.delay_ns,
                                      .jitter_ns = k->cfg.jitter_ns,
                                      .rate_bps = k->cfg.rate_bps,
                                      .seed = k->cfg.seed};
    k->faults = fault_any(&k->fcfg);
    /* The furthest ahead a well-formed entry can be due: a booking of the
     * medium (LOOKAHEAD_NS, then the longest frame's serialisation), delay,
     * jitter, and the clocks of two processes read at different moments. */
    uint64_t ser_max = k->cfg.rate_bps ? (uint64_t)k->frame_max * 8 * 1000000000ull / k->cfg.rate_bps
                                       : 0;
    k->max_book = LOOKAHEAD_NS + ser_max + SLACK_NS;
    k->max_wait = k->need_clock ? k->max_book + k->cfg.delay_ns + k->cfg.jitter_ns : 0;
    k->c = &st->c;
    uint32_t damaged = 0;
    for (uint32_t d = 0; d < k->nst; d++) {
        /* We continue the indices we find; where they cannot be what their
         * writers wrote (more in flight than the ring holds), we start
         * afresh from the tail, and count it. */
        struct lan_ring *o = lan_ring(s, k->me, d), *in = lan_ring(s, d, k->me);
        k->prod_tail[d] = atomic_load(&o->tail);
        k->prod_head[d] = atomic_load(&o->head);
        if (k->prod_tail[d] - k->prod_head[d] > k->ring_size) {
            k->prod_head[d] = k->prod_tail[d];
            damaged++;
        }
        k->cons_head[d] = k->cons_tail[d] = atomic_load(&in->tail); /* nothing old is ours */
        atomic_store(&in->head, k->cons_head[d]);
        struct lan_ret_ring *mine = lan_ret(s, k->me, d), *theirs = lan_ret(s, d, k->me);
        k->ret_cons[d] = atomic_load(&mine->tail);
        atomic_store(&mine->head, k->ret_cons[d]);
        k->ret_tail[d] = k->ret_pub[d] = atomic_load(&theirs->tail);
        k->ret_head[d] = atomic_load(&theirs->head);
        if (k->ret_tail[d] - k->ret_head[d] > k->ring_size) {
            k->ret_head[d] = k->ret_tail[d];
            damaged++;
        }
    }
    damaged += lan_mon_attach(k);
    memset(&st->c, 0, sizeof st->c);
    lan_cnt_add(&st->c.shm_bad, damaged);
    atomic_store(&st->sleeping, 0);
    k->asym = lan_membarrier_register();
    atomic_store(&st->asym_fence, k->asym ? 1u : 0u);
    atomic_store(&st->pid, (int32_t)getpid());
    atomic_store(&st->attach_unix, (uint64_t)time(NULL));
    atomic_store_explicit(&st->token, k->token, memory_order_seq_cst);
    lan_sweep(s, k->me);

    k->base.ops = &lan_ops;
    k->rx_sock = k->tx_sock = -1;
    k->txq_limit = k->cfg.rate_bps ? TXQ_CAP : TXQ_UNRATED;
    atomic_store(&st->reserved_bps, 0);
    k->base.caps = (struct jet_link_caps){.addr = k->me,
                                          .has_mac = true,
                                          .mtu = k->mtu,
                                          .max_frame = k->frame_max,
                                          .buffers = s->pool.nbufs,
                                          .rate_bps = k->cfg.rate_bps,
                                          .burst = BURST,
                                          .zero_copy = true,
                                          .native = true,
                                          .eth = true,
                                          .csum = true};
    jet_lan_station_mac(&k->base, k->me, k->base.caps.mac);
    snprintf(k->base.name, sizeof k->base.name, "lan:%s", name);
    *out = &k->base;
    return 0;
fail:
    lan_seg_close(&k->seg);
    free(k->bs);
    free(k);
    return rc;
}

static bool mine(uint32_t token, void *arg)
{
    return token != *(uint32_t *)arg;
}

static void lan_close(struct jet_link *l)
{
    struct lan_link *k = lan_link_of(l);
    struct lan_seg *s = &k->seg;
    /* Let queued frames go out, for a while. */
    uint64_t until = jet_now_ns() + 200000000ull;
    while (k->txq_n && !k->broken && jet_now_ns() < until) {
        lan_flush(l);
        if (k->txq_n)
            lan_wait(l, 100000);
    }
    lan_release_held(k);
    lan_publish_tails(k);
    lan_publish_returns(k);
    if (k->has_held)
        lan_buf_free(k, &k->held.idx, 1);
    for (uint32_t i = 0; i < k->txq_n; i++)
        lan_buf_free(k, &k->txq[(k->txq_head + i) % TXQ_CAP].idx, 1);
    lan_cnt_add(&k->c->tx_dropped_close, k->txq_n); /* counted, never silent */
    k->txq_n = 0;
    /* Frames waiting for us go back to the pool with everything else we own. */
    for (uint32_t src = 0; src < k->nst; src++) {
        struct lan_ring *r = lan_ring(s, src, k->me);
        atomic_store(&r->head, atomic_load_explicit(&r->tail, memory_order_acquire));
    }
    atomic_fetch_sub(&s->h->reserved_bps, atomic_exchange(&s->st[k->me].reserved_bps, 0));
    atomic_store(&s->st[k->me].token, 0);
    atomic_store(&s->st[k->me].pid, 0);
    if (k->rx_sock >= 0)
        close(k->rx_sock);
    if (k->tx_sock >= 0)
        close(k->tx_sock);
    jet_pool_reclaim(&s->pool, mine, &k->token);
    lan_unlock(s, k->me);
    lan_seg_close(s);
    free(k->bs);
    free(k);
}

uint32_t jet_lan_station(const struct jet_link *l)
{
    if (l->ops != &lan_ops)
        return JET_LINK_NO_ADDR; /* a monitor (lan_mon.c) takes no station */
    return ((const struct lan_link *)l)->me;
}

bool jet_lan_station_alive(struct jet_link *l, uint32_t st)
{
    struct lan_link *k = lan_link_of(l);
    if (l->ops != &lan_ops)
        return false;
    if (st >= k->nst)
        return false;
    if (st == k->me)
        return true;
    return lan_check_station(&k->seg, st);
}

void jet_lan_station_mac(const struct jet_link *l, uint32_t st, uint8_t mac[6])
{
    const struct lan_link *k = (const struct lan_link *)l;
    mac[0] = 0x02;
    mac[1] = 0x4a;
    mac[2] = 0x53;
    mac[3] = k->seg.g.mac[0];
    mac[4] = k->seg.g.mac[1];
    mac[5] = (uint8_t)st;
}

void jet_lan_station_stats(const struct jet_link *l, struct jet_lan_station_info *o)
{
    const struct lan_link *k = (const struct lan_link *)l;
    memset(o, 0, sizeof *o);
    if (l->ops != &lan_ops)
        return; /* a monitor has no station counters */
    const struct lan_counters *c = k->c;
    o->station = k->me;
    o->attached = true;
    o->pid = getpid();
    o->token = k->token;
    o->tx_frames = atomic_load(&c->tx_frames);
    o->tx_bytes = atomic_load(&c->tx_bytes);
    o->rx_frames = atomic_load(&c->rx_frames);
    o->rx_bytes = atomic_load(&c->rx_bytes);
    o->tx_unreach = atomic_load(&c->tx_unreach);
    o->fault_lost = atomic_load(&c->fault_lost);
    o->fault_corrupted = atomic_load(&c->fault_corrupted);
    o->fault_duplicated = atomic_load(&c->fault_duplicated);
    o->fault_reordered = atomic_load(&c->fault_reordered);
    o->rx_stale = atomic_load(&c->rx_stale);
    o->tx_dropped_close = atomic_load(&c->tx_dropped_close);
    o->shm_bad = atomic_load(&c->shm_bad);
}

static int lan_stats(struct jet_link *l, struct jet_link_stats *o)
{
    const struct lan_counters *c = lan_link_of(l)->c;
    *o = (struct jet_link_stats){
        .tx_frames = atomic_load(&c->tx_frames),
        .tx_bytes = atomic_load(&c->tx_bytes),
        .rx_frames = atomic_load(&c->rx_frames),
        .rx_bytes = atomic_load(&c->rx_bytes),
        .tx_dropped = atomic_load(&c->tx_unreach) + atomic_load(&c->tx_dropped_close),
        .rx_dropped = atomic_load(&c->rx_stale) + atomic_load(&c->shm_bad),
        .faults = atomic_load(&c->fault_lost) + atomic_load(&c->fault_corrupted) +
                  atomic_load(&c->fault_duplicated) + atomic_load(&c->fault_reordered),
    };
    return 0;
}

void jet_lan_pool_stats(const struct jet_link *l, struct jet_pool_stats *out)
{
    jet_pool_get_stats(&((const struct lan_link *)l)->seg.pool, out);
}

static int lan_peer_alive(struct jet_link *l, uint32_t addr)
{
    return jet_lan_station_alive(l, addr);
}

static const struct jet_link_ops lan_ops = {
    .kind = "lan",
    .rx_burst = lan_rx_burst,
    .rx_release = lan_rx_release,
    .tx_alloc = lan_tx_alloc,
    .tx_abort = lan_tx_abort,
    .tx_commit = lan_tx_commit,
    .tx_flush = lan_flush,
    .tx_room = lan_tx_room,
    .wait = lan_wait,
    .fd = lan_fd,
    .arm = lan_arm,
    .reserve = lan_reserve,
    .stats = lan_stats,
    .peer_alive = lan_peer_alive,
    .close = lan_close,
};
