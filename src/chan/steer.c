/* IP flow steering: which channel an IPv4 packet arriving in an Ethernet
 * frame goes to (include/jet/chan.h, "Ethernet and IP flow steering").
 *
 * steer_ipv4() runs in the driver for every such packet: it checks the IPv4
 * header (lengths and checksum: a damaged header cannot be trusted to name a
 * channel), takes the ports of a TCP or UDP packet that is not a fragment
 * (every fragment, the first too, goes where the reassembler reads: the
 * protocol rule or the default channel), and looks the packet up shape by shape, most specific first,
 * skipping shapes that have no rule: connection, listener on an address,
 * listener on a port, protocol; then the default channel.  Each lookup is
 * one probe run in a hash table of at most half load.
 *
 * Rules are kept apart from the channels: a dense array, a hash table of
 * indexes into it, and a list per channel (struct jet_chan.rule_head), so a
 * channel's close removes its own rules and nothing else is searched. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chan/chan_impl.h"
#include "jet/inet.h"
#include "util/rng.h"
#include "wire/cursor.h"

static int flow_shape(const struct jet_flow *f)
{
    bool ports = f->proto == JET_IP_PROTO_TCP || f->proto == JET_IP_PROTO_UDP;
    if (!f->proto)
        return -1;
    if (f->src && f->dst && f->sport && f->dport)
        return ports ? STEER_CONN : -1;
    if (f->src || f->sport)
        return -1;
    if (f->dport)
        return ports ? (f->dst ? STEER_ADDR : STEER_PORT) : -1;
    return f->dst ? -1 : STEER_PROTO;
}

static uint32_t flow_home(const struct jet_flow *f, uint32_t bits)
{
    uint64_t a = (uint64_t)f->src << 32 | f->dst;
    uint64_t b = (uint64_t)f->proto << 32 | (uint32_t)f->sport << 16 | f->dport;
    return (uint32_t)(jet_mix64(a ^ jet_mix64(b)) >> (64 - bits));
}

static bool flow_eq(const struct jet_flow *a, const struct jet_flow *b)
{
    return a->proto == b->proto && a->src == b->src && a->dst == b->dst && a->sport == b->sport &&
           a->dport == b->dport;
}

/* The table slot holding rule f, or UINT32_MAX. */
static uint32_t find_slot(const struct steer *t, const struct jet_flow *f)
{
    if (!t->tbits)
        return UINT32_MAX;
    uint32_t mask = (1u << t->tbits) - 1;
    for (uint32_t i = flow_home(f, t->tbits);; i = (i + 1) & mask) {
        uint32_t r = t->tab[i];
        if (!r)
            return UINT32_MAX;
        if (flow_eq(&t->rules[r - 1].key, f))
            return i;
    }
}

static uint32_t lookup(const struct steer *t, uint8_t proto, uint32_t src, uint32_t dst,
                       uint16_t sport, uint16_t dport)
{
    struct jet_flow f = {.proto = proto, .src = src, .dst = dst, .sport = sport, .dport = dport};
    uint32_t i = find_slot(t, &f);
    return i == UINT32_MAX ? 0 : t->rules[t->tab[i] - 1].chan_ref;
}

int steer_ipv4(const struct jet_station *s, const uint8_t *pkt, size_t len, uint32_t *ref)
{
    const struct steer *t = &s->steer;
    struct jet_ipv4_hdr h;
    if (jet_ipv4_parse(pkt, len, &h, 0))
        return -EBADMSG;
    uint32_t r = 0;
    bool ports = (h.proto == JET_IP_PROTO_TCP || h.proto == JET_IP_PROTO_UDP) &&
                 !jet_ipv4_is_fragment(&h) && h.total_len - h.hdr_len >= 4;
    if (ports) {
        uint16_t sport = jet_load_be16(pkt + h.hdr_len), dport = jet_load_be16(pkt + h.hdr_len + 2);
        if (t->n[STEER_CONN])
            r = lookup(t, h.proto, h.src, h.dst, sport, dport);
        if (!r && t->n[STEER_ADDR])
            r = lookup(t, h.proto, 0, h.dst, 0, dport);
        if (!r && t->n[STEER_PORT])
            r = lookup(t, h.proto, 0, 0, 0, dport);
    }
    if (!r && t->n[STEER_PROTO])
        r = lookup(t, h.proto, 0, 0, 0, 0);
    *ref = r ? r : t->default_ref;
    return 0;
}

/* Doubles the table (or makes the first one), rehashing every rule. */
static int grow_table(struct steer *t)
{
    uint32_t bits = t->tbits ? t->tbits + 1 : 4, cap = 1u << bits;
    uint32_t *tab = calloc(cap, sizeof *tab);
    if (!tab)
        return -ENOMEM;
    for (uint32_t i = 0; t->tbits && i < 1u << t->tbits; i++) {
        uint32_t r = t->tab[i];
        if (!r)
            continue;
        uint32_t j = flow_home(&t->rules[r - 1].key, bits);
        while (tab[j])
            j = (j + 1) & (cap - 1);
        tab[j] = r;
    }
    free(t->tab);
    t->tab = tab;
    t->tbits = bits;
    return 0;
}

/* A free rule entry's index, growing the array if none is free. */
static int rule_alloc(struct steer *t, uint32_t *idx)
{
    if (!t->free) {
        uint32_t cap = t->cap ? t->cap * 2 : 16;
        if (cap > (1u << 30))
            return -ENOMEM;
        struct steer_rule *r = realloc(t->rules, (size_t)cap * sizeof *r);
        if (!r)
            return -ENOMEM;
        for (uint32_t i = cap; i-- > t->cap;)
            r[i] = (struct steer_rule){.next = t->free}, t->free = i + 1;
        t->rules = r;
        t->cap = cap;
    }
    *idx = t->free - 1;
    t->free = t->rules[*idx].next;
    return 0;
}

/* Tells the link that the stack holds (add) or no longer holds the local
 * end of rule f: a listener's or a connection's port, which a link sharing
 * its interface with the kernel must hand up (jet_link_own). */
static int own(struct jet_station *s, const struct jet_flow *f, bool add)
{
    if (f->proto != JET_IP_PROTO_TCP && f->proto != JET_IP_PROTO_UDP)
        return 0;
    struct jet_link_flow lf = {.addr = f->dst, .proto = f->proto, .port = f->dport};
    int rc = jet_link_own(s->link, &lf, add);
    if (rc && add)
        return jet_err_set(&s->err, rc, "link %s cannot take the flow: %s", s->link->name,
                           jet_link_error(s->link));
    return 0;
}

int jet_chan_steer(struct jet_chan *c, const struct jet_flow *f)
{
    struct jet_station *s = c->s;
    struct steer *t = &s->steer;
    int shape = flow_shape(f);
    if (shape < 0)
        return jet_err_set(&s->err, -EINVAL,
                           "a steering rule is a connection (protocol, both addresses and ports), "
                           "a listener (TCP or UDP: destination port, and maybe address) or a "
                           "protocol alone");
    struct jet_flow key = {
        .proto = f->proto, .src = f->src, .dst = f->dst, .sport = f->sport, .dport = f->dport};
    if (find_slot(t, &key) != UINT32_MAX)
        return jet_err_set(&s->err, -EADDRINUSE, "that flow is steered to a channel already");
    uint32_t used = 0;
    for (int k = 0; k < STEER_SHAPES; k++)
        used += t->n[k];
    if (((uint64_t)used + 1) * 2 > (t->tbits ? 1ull << t->tbits : 0) && grow_table(t))
        return jet_err_set(&s->err, -ENOMEM, "out of memory for the steering table");
    uint32_t idx;
    if (rule_alloc(t, &idx))
        return jet_err_set(&s->err, -ENOMEM, "out of memory for steering rules");
    int rc = own(s, &key, true);
    if (rc) {
        t->rules[idx] = (struct steer_rule){.next = t->free};
        t->free = idx + 1;
        return rc;
    }
    t->rules[idx] = (struct steer_rule){.key = key, .chan_ref = c->idx + 1, .next = c->rule_head};
    c->rule_head = idx + 1;
    uint32_t mask = (1u << t->tbits) - 1, i = flow_home(&key, t->tbits);
    while (t->tab[i])
        i = (i + 1) & mask;
    t->tab[i] = idx + 1;
    t->n[shape]++;
    return 0;
}

/* Takes table slot i out (backward shift: no tombstones) and frees its rule. */
static void remove_slot(struct steer *t, uint32_t i)
{
    uint32_t mask = (1u << t->tbits) - 1, idx = t->tab[i] - 1;
    t->n[flow_shape(&t->rules[idx].key)]--;
    t->rules[idx] = (struct steer_rule){.next = t->free};
    t->free = idx + 1;
    t->tab[i] = 0;
    for (uint32_t j = (i + 1) & mask; t->tab[j]; j = (j + 1) & mask) {
        uint32_t home = flow_home(&t->rules[t->tab[j] - 1].key, t->tbits);
        if (lp_moves_back(i, j, home)) {
            t->tab[i] = t->tab[j];
            t->tab[j] = 0;
            i = j;
        }
    }
}

int jet_chan_unsteer(struct jet_chan *c, const struct jet_flow *f)
{
    struct steer *t = &c->s->steer;
    uint32_t *link = &c->rule_head;
    while (*link && !flow_eq(&t->rules[*link - 1].key, f))
        link = &t->rules[*link - 1].next;
    if (!*link)
        return jet_err_set(&c->s->err, -ENOENT, "the channel has no such steering rule");
    uint32_t idx = *link - 1;
    *link = t->rules[idx].next;
    own(c->s, &t->rules[idx].key, false);
    remove_slot(t, find_slot(t, &t->rules[idx].key));
    return 0;
}

void jet_station_steer_default(struct jet_station *s, struct jet_chan *c)
{
    s->steer.default_ref = c ? c->idx + 1 : 0;
}

void steer_chan_closing(struct jet_station *s, struct jet_chan *c)
{
    struct steer *t = &s->steer;
    while (c->rule_head) {
        uint32_t idx = c->rule_head - 1;
        c->rule_head = t->rules[idx].next;
        own(s, &t->rules[idx].key, false);
        remove_slot(t, find_slot(t, &t->rules[idx].key));
    }
    if (t->default_ref == c->idx + 1)
        t->default_ref = 0;
}

void steer_free(struct jet_station *s)
{
    free(s->steer.rules);
    free(s->steer.tab);
}
