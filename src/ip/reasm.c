/* IPv4 reassembly (RFC 791, RFC 5722's overlap rule applied to IPv4, as
 * Linux does).
 *
 * A datagram is keyed by source, destination, protocol and id.  Its
 * fragments are copies kept in a list sorted by offset, each charged
 * sizeof(struct reasm_frag) plus its bytes against IP_REASM_BYTES (so a flood
 * of tiny fragments runs into the bound as fast as one of big ones); at most
 * IP_REASM_MAX datagrams and IP_REASM_FRAGS fragments each.  When a new
 * datagram or fragment does not fit, the oldest other datagrams are dropped
 * to make room (reasm_drop).
 *
 * Per fragment, in order:
 *   malformed (empty, a non-last one not a multiple of 8 bytes, or ending
 *   past 65535 - 20) -> the datagram is dropped (reasm_drop);
 *   an exact duplicate (same offset, length and MF) -> ignored (reasm_dup);
 *   any other overlap -> the whole datagram dropped (reasm_overlap);
 *   a last fragment that disagrees with an earlier last one, or ends before
 *   data already held, or data past the known end -> dropped (reasm_drop).
 * Complete when the first and last fragments are in and the bytes held add
 * up to the length (no overlaps, so there is no hole): the datagram is
 * assembled in c->big with the first fragment's header (total length and
 * fragment field rewritten, checksum recomputed).  IP_REASM_TIMEOUT_NS after
 * its first fragment an incomplete datagram is dropped (reasm_timeout). */
#include <stdlib.h>
#include <string.h>

#include "ip/ip_impl.h"
#include "wire/cursor.h"

static void free_dgram(struct ip_core *c, struct reasm_dgram *d)
{
    struct reasm_frag *f = d->head;
    while (f) {
        struct reasm_frag *n = f->next;
        free(f);
        f = n;
    }
    c->reasm_mem -= d->mem;
    c->reasm_n--;
    memset(d, 0, sizeof *d);
}

void reasm_fini(struct ip_core *c)
{
    for (unsigned i = 0; i < IP_REASM_MAX; i++)
        if (c->reasm[i].used)
            free_dgram(c, &c->reasm[i]);
}

/* Drops the oldest datagram other than keep; false if there is none. */
static bool evict_oldest(struct ip_core *c, const struct reasm_dgram *keep)
{
    struct reasm_dgram *o = NULL;
    for (unsigned i = 0; i < IP_REASM_MAX; i++) {
        struct reasm_dgram *d = &c->reasm[i];
        if (d->used && d != keep && (!o || d->created_seq < o->created_seq))
            o = d;
    }
    if (!o)
        return false;
    free_dgram(c, o);
    c->st.reasm_drop++;
    return true;
}

static struct reasm_dgram *find(struct ip_core *c, const struct ip_pkt_in *in)
{
    for (unsigned i = 0; i < IP_REASM_MAX; i++) {
        struct reasm_dgram *d = &c->reasm[i];
        if (d->used && d->id == in->id && d->src == in->src && d->dst == in->dst &&
            d->proto == in->proto)
            return d;
    }
    return NULL;
}

static struct reasm_dgram *create(struct ip_core *c, const struct ip_pkt_in *in, uint64_t now)
{
    if (c->reasm_n >= IP_REASM_MAX)
        evict_oldest(c, NULL);
    for (unsigned i = 0; i < IP_REASM_MAX; i++) {
        struct reasm_dgram *d = &c->reasm[i];
        if (d->used)
            continue;
        d->used = true;
        d->id = in->id;
        d->src = in->src;
        d->dst = in->dst;
        d->proto = in->proto;
        d->expires = now + IP_REASM_TIMEOUT_NS;
        d->created_seq = c->reasm_seq++;
        c->reasm_n++;
        ip_timer_at(c, d->expires);
        return d;
    }
    return NULL;
}

static bool drop(struct ip_core *c, struct reasm_dgram *d, uint64_t *counter)
{
    if (d)
        free_dgram(c, d);
    (*counter)++;
    return false;
}

bool reasm_input(struct ip_core *c, const struct ip_pkt_in *in, struct ip_pkt_in *out,
                 uint64_t now)
{
    uint32_t off = (uint32_t)(in->frag & JET_IPV4_OFF_MASK) * 8;
    uint32_t len = in->l4_len;
    uint32_t end = off + len;
    bool last = !(in->frag & JET_IPV4_MF);
    struct reasm_dgram *d = find(c, in);

    if (len == 0 || (!last && (len & 7)) || end > IP_MAX_DGRAM - JET_IPV4_HDR_LEN)
        return drop(c, d, &c->st.reasm_drop);
    if (!d) {
        d = create(c, in, now);
        if (!d)
            return drop(c, NULL, &c->st.reasm_drop);
    }

    /* Where it goes, and whether it overlaps: prev is the last fragment
     * starting before it (the list is sorted and has no overlaps). */
    struct reasm_frag *prev = NULL, *next = d->head;
    if (d->tail && d->tail->off <= off) {
        prev = d->tail;
        next = NULL;
    } else {
        while (next && next->off <= off) {
            prev = next;
            next = next->next;
        }
    }
    if (prev && prev->off == off && prev->len == len && prev->last == last) {
        c->st.reasm_dup++;
        return false;
    }
    if ((prev && prev->off + prev->len > off) || (next && next->off < end))
        return drop(c, d, &c->st.reasm_overlap);
    uint32_t high = d->tail ? d->tail->off + d->tail->len : 0;
    if (last ? (d->have_last || end < high) : (d->have_last && end > d->total))
        return drop(c, d, &c->st.reasm_drop);
    if (d->nfrags >= IP_REASM_FRAGS)
        return drop(c, d, &c->st.reasm_drop);

    size_t cost = sizeof(struct reasm_frag) + len;
    while (c->reasm_mem + cost > IP_REASM_BYTES)
        if (!evict_oldest(c, d))
            return drop(c, d, &c->st.reasm_drop);
    struct reasm_frag *f = malloc(cost);
    if (!f)
        return drop(c, d, &c->st.reasm_drop);
    f->off = (uint16_t)off;
    f->len = (uint16_t)len;
    f->last = last;
    memcpy(f->data, in->l4, len);
    f->next = next;
    if (prev)
        prev->next = f;
    else
        d->head = f;
    if (!next)
        d->tail = f;
    d->mem += cost;
    c->reasm_mem += cost;
    d->nfrags++;
    d->got += len;
    if (last) {
        d->have_last = true;
        d->total = end;
    }
    if (off == 0) {
        d->have_first = true;
        d->hdr_len = in->hdr_len;
        memcpy(d->hdr, in->hdr, in->hdr_len);
    }
    d->l2bcast |= in->l2bcast;
    if (!d->have_first || !d->have_last || d->got != d->total)
        return false;

    /* Whole: no overlaps and the bytes add up, so no holes. */
    uint32_t hl = d->hdr_len;
    if (hl + d->total > IP_MAX_DGRAM)
        return drop(c, d, &c->st.reasm_drop);
    uint8_t *b = c->big;
    memcpy(b, d->hdr, hl);
    jet_store_be16(b + 2, (uint16_t)(hl + d->total));
    jet_store_be16(b + 6, 0);
    jet_store_be16(b + 10, 0);
    jet_store_be16(b + 10, jet_inet_csum(jet_inet_sum(b, hl, 0)));
    for (struct reasm_frag *g = d->head; g; g = g->next)
        memcpy(b + hl + g->off, g->data, g->len);
    *out = *in;
    out->hdr = b;
    out->hdr_len = (uint8_t)hl;
    out->l4w = b + hl;
    out->l4 = out->l4w;
    out->l4_len = d->total;
    out->frag = 0;
    out->ttl = b[8];
    out->l2bcast = d->l2bcast;
    free_dgram(c, d);
    c->st.reasm_ok++;
    return true;
}

void reasm_timers(struct ip_core *c, uint64_t now)
{
    for (unsigned i = 0; i < IP_REASM_MAX; i++) {
        struct reasm_dgram *d = &c->reasm[i];
        if (d->used && now >= d->expires) {
            free_dgram(c, d);
            c->st.reasm_timeout++;
        }
    }
}

uint64_t reasm_next_due(const struct ip_core *c)
{
    uint64_t t = UINT64_MAX;
    for (unsigned i = 0; i < IP_REASM_MAX; i++)
        if (c->reasm[i].used && c->reasm[i].expires < t)
            t = c->reasm[i].expires;
    return t;
}
