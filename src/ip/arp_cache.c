/* ARP (RFC 826): the cache, requests and replies, and the packets waiting for
 * an answer.
 *
 * An entry's life:
 *   INCOMPLETE  created by a send to an unknown next hop: a broadcast request
 *               at once, then one each IP_ARP_RETRY_NS up to IP_ARP_TRIES;
 *               IP_ARP_RETRY_NS after the last without an answer it turns
 *               FAILED, and its waiting packets are dropped (arp_queue_drops).
 *   REACHABLE   an answer came (a reply, or a request for our address from
 *               it); used for IP_ARP_REACHABLE_NS after it.
 *   STALE       used after that: a unicast request goes out (then one each
 *               IP_ARP_RETRY_NS, up to IP_ARP_TRIES) and the MAC is still
 *               used; without an answer for IP_ARP_STALE_NS the entry goes.
 *   FAILED      sends to it say -EHOSTUNREACH for IP_ARP_FAILED_NS, then the
 *               entry goes.
 * Learning: a request for our address, or any reply for our address, creates
 * or refreshes the sender's entry; other ARP packets only update an entry
 * that exists (RFC 826's merge rule).  A full table evicts the entry
 * answered longest ago that holds no waiting packets.
 * Lookups hash the address into IP_ARP_BUCKETS chains. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ip/ip_impl.h"
#include "util/rng.h"

static unsigned bucket(uint32_t ip)
{
    return (unsigned)(jet_mix64(ip) & (IP_ARP_BUCKETS - 1));
}

void arp_init(struct ip_core *c)
{
    for (unsigned i = 0; i < IP_ARP_BUCKETS; i++)
        c->arp_bucket[i] = IP_NIL;
    memset(c->arp, 0, sizeof c->arp);
}

static void drop_queue(struct ip_core *c, struct arp_entry *e)
{
    struct ip_pkt *p = e->qhead;
    while (p) {
        struct ip_pkt *n = p->next;
        c->arp_qbytes -= p->len;
        c->st.arp_queue_drops++;
        free(p);
        p = n;
    }
    e->qhead = e->qtail = NULL;
    e->qlen = 0;
}

/* ARP gave up on e: TCP hears that each of its waiting segments could not go
 * (-EHOSTUNREACH, as Linux's own host unreachable; a connection still opening fails).
 * UDP is not told. */
static void tell_tcp(struct ip_core *c, struct arp_entry *e, uint64_t now)
{
    for (struct ip_pkt *p = e->qhead; p; p = p->next)
        if (p->proto == JET_IP_PROTO_TCP && p->len >= 4)
            ip_l4_error(c, p->proto, p->dst, p->data, -EHOSTUNREACH, 0, now);
}

void arp_fini(struct ip_core *c)
{
    for (unsigned i = 0; i < IP_ARP_ENTRIES; i++) {
        ip_out_free_list(c->arp[i].qhead);
        c->arp[i].qhead = NULL;
    }
}

static struct arp_entry *find(struct ip_core *c, uint32_t ip)
{
    for (uint16_t i = c->arp_bucket[bucket(ip)]; i != IP_NIL; i = c->arp[i].next)
        if (c->arp[i].ip == ip)
            return &c->arp[i];
    return NULL;
}

static void unlink_entry(struct ip_core *c, struct arp_entry *e)
{
    uint16_t idx = (uint16_t)(e - c->arp);
    uint16_t *pp = &c->arp_bucket[bucket(e->ip)];
    while (*pp != IP_NIL && *pp != idx)
        pp = &c->arp[*pp].next;
    if (*pp == idx)
        *pp = e->next;
    drop_queue(c, e);
    memset(e, 0, sizeof *e);
}

/* A new entry for ip (none exists): a free one, else the one answered
 * longest ago that has nothing waiting; NULL if all are waiting. */
static struct arp_entry *create(struct ip_core *c, uint32_t ip)
{
    struct arp_entry *v = NULL;
    for (unsigned i = 0; i < IP_ARP_ENTRIES; i++) {
        struct arp_entry *e = &c->arp[i];
        if (e->state == ARP_FREE) {
            v = e;
            break;
        }
        if (e->qlen)
            continue;
        if (!v || e->confirmed < v->confirmed)
            v = e;
    }
    if (!v)
        return NULL;
    if (v->state != ARP_FREE)
        unlink_entry(c, v);
    v->ip = ip;
    unsigned b = bucket(ip);
    v->next = c->arp_bucket[b];
    c->arp_bucket[b] = (uint16_t)(v - c->arp);
    return v;
}

void arp_send_request(struct ip_core *c, uint32_t tpa, const uint8_t *dmac)
{
    struct jet_arp a = {.op = JET_ARP_REQUEST, .spa = c->cfg.ip.addr, .tpa = tpa};
    memcpy(a.sha, c->cfg.ip.mac, 6);
    uint8_t p[JET_ARP_LEN];
    jet_arp_emit(p, sizeof p, &a);
    if (ip_out_frame(c, dmac ? dmac : ip_mac_bcast, JET_ETHERTYPE_ARP, p, sizeof p) == 0)
        c->st.arp_requests_out++;
}

static void send_reply(struct ip_core *c, const struct jet_arp *q)
{
    struct jet_arp a = {.op = JET_ARP_REPLY, .spa = c->cfg.ip.addr, .tpa = q->spa};
    memcpy(a.sha, c->cfg.ip.mac, 6);
    memcpy(a.tha, q->sha, 6);
    uint8_t p[JET_ARP_LEN];
    jet_arp_emit(p, sizeof p, &a);
    if (ip_out_frame(c, q->sha, JET_ETHERTYPE_ARP, p, sizeof p) == 0)
        c->st.arp_replies_out++;
}

/* The answer for e came: its packets go to the backlog and out. */
static void resolved(struct ip_core *c, struct arp_entry *e, const uint8_t mac[6], uint64_t now)
{
    memcpy(e->mac, mac, 6);
    e->state = ARP_REACHABLE;
    e->confirmed = now;
    e->tries = 0;
    struct ip_pkt *p = e->qhead;
    e->qhead = e->qtail = NULL;
    e->qlen = 0;
    if (!p)
        return;
    while (p) {
        struct ip_pkt *n = p->next;
        c->arp_qbytes -= p->len;
        memcpy(p->mac, mac, 6);
        ip_out_backlog_add(c, p);
        p = n;
    }
    ip_out_flush(c);
}

static bool mac_ok(const uint8_t m[6])
{
    static const uint8_t zero[6];
    return !(m[0] & 1) && memcmp(m, zero, 6) != 0;
}

void arp_input(struct ip_core *c, const uint8_t *p, size_t n, uint64_t now)
{
    struct jet_arp a;
    if (jet_arp_parse(p, n, &a)) {
        c->st.arp_bad++;
        return;
    }
    c->st.arp_in++;
    uint32_t me = c->cfg.ip.addr;
    bool for_me = a.tpa == me;
    /* A sender we could talk to: a unicast MAC and an address on our prefix
     * (the gateway is on it too) that is not ours, the network's or a broadcast. */
    bool learnable = mac_ok(a.sha) && a.spa != me && a.spa != 0 && !ip_is_bcast(c, a.spa) &&
                     !ip_is_mcast(a.spa) && ip_in_prefix(c, a.spa) &&
                     memcmp(a.sha, c->cfg.ip.mac, 6) != 0;
    if (learnable) {
        struct arp_entry *e = find(c, a.spa);
        if (!e && for_me)
            e = create(c, a.spa);
        if (e)
            resolved(c, e, a.sha, now);
    }
    if (for_me && a.op == JET_ARP_REQUEST && mac_ok(a.sha))
        send_reply(c, &a);
}

int arp_peek(struct ip_core *c, uint32_t ip, uint8_t mac[6])
{
    const struct arp_entry *e = find(c, ip);
    if (!e || e->state == ARP_INCOMPLETE || e->state == ARP_FAILED)
        return -ENOENT;
    memcpy(mac, e->mac, 6);
    return 0;
}

int arp_resolve(struct ip_core *c, uint32_t ip, uint8_t mac[6], uint64_t now)
{
    struct arp_entry *e = find(c, ip);
    if (e && e->state == ARP_FAILED && now >= e->due) {
        unlink_entry(c, e);
        e = NULL;
    }
    if (!e) {
        e = create(c, ip);
        if (!e)
            return -ENOBUFS;
        e->state = ARP_INCOMPLETE;
        e->tries = 1;
        e->due = now + IP_ARP_RETRY_NS;
        ip_timer_at(c, e->due);
        arp_send_request(c, ip, NULL);
        return 1;
    }
    switch (e->state) {
    case ARP_INCOMPLETE:
        return 1;
    case ARP_FAILED:
        return -EHOSTUNREACH;
    case ARP_REACHABLE:
        if (now - e->confirmed >= IP_ARP_REACHABLE_NS && now >= e->confirmed) {
            e->state = ARP_STALE;
            e->tries = 1;
            e->stale_end = now + IP_ARP_STALE_NS;
            e->due = now + IP_ARP_RETRY_NS;
            ip_timer_at(c, e->due);
            arp_send_request(c, ip, e->mac);
        }
        break;
    default:
        break;
    }
    memcpy(mac, e->mac, 6);
    return 0;
}

int arp_enqueue(struct ip_core *c, uint32_t hop, struct ip_pkt *p)
{
    struct arp_entry *e = find(c, hop);
    if (!e || e->state != ARP_INCOMPLETE || e->qlen >= IP_ARP_QUEUE ||
        c->arp_qbytes + p->len > IP_ARP_QUEUE_BYTES) {
        free(p);
        c->st.arp_queue_drops++;
        return -ENOBUFS;
    }
    p->next = NULL;
    if (e->qtail)
        e->qtail->next = p;
    else
        e->qhead = p;
    e->qtail = p;
    e->qlen++;
    c->arp_qbytes += p->len;
    return 0;
}

void arp_timers(struct ip_core *c, uint64_t now)
{
    for (unsigned i = 0; i < IP_ARP_ENTRIES; i++) {
        struct arp_entry *e = &c->arp[i];
        switch (e->state) {
        case ARP_INCOMPLETE:
            if (now < e->due)
                break;
            if (e->tries < IP_ARP_TRIES) {
                e->tries++;
                e->due = now + IP_ARP_RETRY_NS;
                arp_send_request(c, e->ip, NULL);
            } else {
                e->state = ARP_FAILED;
                e->due = now + IP_ARP_FAILED_NS;
                c->st.arp_unresolved++;
                tell_tcp(c, e, now);
                drop_queue(c, e);
                ip_ping_fail(c, e->ip, -EHOSTUNREACH);
            }
            break;
        case ARP_STALE:
            if (now >= e->stale_end) {
                unlink_entry(c, e);
            } else if (now >= e->due) {
                if (e->tries < IP_ARP_TRIES) {
                    e->tries++;
                    arp_send_request(c, e->ip, e->mac);
                }
                e->due = e->tries < IP_ARP_TRIES ? now + IP_ARP_RETRY_NS : e->stale_end;
            }
            break;
        case ARP_FAILED:
            if (now >= e->due)
                unlink_entry(c, e);
            break;
        default:
            break;
        }
    }
}

uint64_t arp_next_due(const struct ip_core *c)
{
    uint64_t t = UINT64_MAX;
    for (unsigned i = 0; i < IP_ARP_ENTRIES; i++) {
        const struct arp_entry *e = &c->arp[i];
        if (e->state == ARP_INCOMPLETE || e->state == ARP_STALE || e->state == ARP_FAILED) {
            uint64_t d = e->state == ARP_STALE && e->stale_end < e->due ? e->stale_end : e->due;
            if (d < t)
                t = d;
        }
    }
    return t;
}
