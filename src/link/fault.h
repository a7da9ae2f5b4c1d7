/* Internal: seeded fault injection, shared by the emulated LAN (its own
 * --loss, --ber, --dup, --reorder, --jitter, --seed) and by the fault wrapper
 * link (`fault:KEY=VAL,.../INNER`, fault.c; docs/link-wrappers.md).
 *
 * Faults are drawn per frame from a generator seeded by (seed, sender,
 * flow key, number of the frame in its flow), so the faults a flow sees do
 * not depend on other traffic or on timing.  The flow key is the frame's
 * destination and its channel (native frames) or EtherType (Ethernet).
 *
 * Order of use, per frame:
 *   slot = fault_flow_slot(flows, fault_flow_key(dst, encap, data, len));
 *   fault_draw(cfg, flows, slot, me, &v);   loss, duplication, reordering, jitter
 *   if (!v.lose && cfg->ber > 0) fault_flip_bits(&v.rng, cfg->ber, data, len);
 * The draws and their order are those of the LAN before this module existed:
 * a seeded LAN gives the same faults as it always did (tests/unit/test_fault.c
 * holds one such run's counters). */
#ifndef JET_LINK_FAULT_H
#define JET_LINK_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "jet/link.h"
#include "util/rng.h"

enum { FAULT_FLOWS = 64 }; /* flows remembered; two flows in one slot restart its count */

/* One remembered flow: key + 1 (0: empty slot), frames drawn in it so far. */
struct fault_flow {
    uint64_t key, n;
};

/* The flow key of a frame of len bytes at d toward dst (a LAN station number;
 * for a destination wider than 24 bits the caller folds it).  The channel of
 * a native frame (bytes 8..11), the EtherType of an Ethernet frame. */
static inline uint64_t fault_flow_key(uint64_t dst, uint32_t encap, const uint8_t *d, uint32_t len)
{
    uint64_t chan = 0;
    if (encap == JET_ENCAP_NATIVE && len >= 12)
        chan = (uint64_t)d[8] << 24 | (uint64_t)d[9] << 16 | (uint64_t)d[10] << 8 | d[11];
    else if (encap == JET_ENCAP_ETH && len >= 14)
        chan = 0x100000000ull | (uint64_t)d[12] << 8 | d[13];
    return (dst << 40 | (uint64_t)encap << 36) ^ chan;
}

/* The slot of flow key in flows[FAULT_FLOWS]; a slot that held another flow
 * starts counting this one from 0. */
static inline uint32_t fault_flow_slot(struct fault_flow *flows, uint64_t key)
{
    uint32_t slot = (uint32_t)(jet_mix64(key) % FAULT_FLOWS);
    if (flows[slot].key != key + 1) {
        flows[slot].key = key + 1;
        flows[slot].n = 0;
    }
    return slot;
}

/* What happens to one frame. */
struct fault_verdict {
    bool lose, dup, reorder;
    uint64_t jitter_ns;  /* extra delay, drawn only when cfg->jitter_ns */
    struct jet_rng rng;  /* continues with fault_flip_bits() */
};

/* Draws the faults of the next frame of the flow in slot, sent by `me` (the
 * sender's own address: LAN station number, caps.addr). */
static inline void fault_draw(const struct jet_link_fault *c, struct fault_flow *flows,
                              uint32_t slot, uint32_t me, struct fault_verdict *v)
{
    struct fault_flow *f = &flows[slot];
    v->rng.s = jet_mix64(c->seed ^ jet_mix64(f->key ^ ((uint64_t)me << 56))) ^ jet_mix64(f->n + 1);
    f->n++;
    double u_loss = jet_rng_unit(&v->rng), u_dup = jet_rng_unit(&v->rng),
           u_ro = jet_rng_unit(&v->rng);
    v->jitter_ns = c->jitter_ns ? (uint64_t)(jet_rng_unit(&v->rng) * (double)(c->jitter_ns + 1)) : 0;
    v->lose = u_loss < c->loss;
    v->dup = u_dup < c->dup;
    v->reorder = u_ro < c->reorder;
}

/* Whether c asks for any per-frame draw (delay and rate alone need none). */
static inline bool fault_any(const struct jet_link_fault *c)
{
    return c->loss > 0 || c->ber > 0 || c->dup > 0 || c->reorder > 0 || c->jitter_ns > 0;
}

/* Flips each bit of d[0..len) with probability ber (0 < ber < 1); returns
 * how many it flipped. */
uint32_t fault_flip_bits(struct jet_rng *r, double ber, uint8_t *d, uint32_t len);

/* The fault wrapper link (fault.c).  fault_name_parse() parses the part of a
 * link name after "fault:" or "capture:" (kind says which) into out, the
 * wrapped link's name included (checked by parsing it in turn);
 * fault_link_open() opens a parsed one, the wrapped link first.  Both return
 * 0 or a negative errno with the reason in err. */
int fault_name_parse(enum jet_link_kind kind, const char *arg, struct jet_link_name *out,
                     struct jet_err *err);
int fault_link_open(const char *s, const struct jet_link_name *n, const struct jet_link_opts *opts,
                    struct jet_link **out, struct jet_err *err);

/* A fault wrapper's own counters (jet_link_stats adds them to the inner
 * link's: faults = lost + corrupted + duplicated + reordered, tx_dropped +=
 * dropped + refused). */
struct fault_counts {
    uint64_t lost, corrupted, duplicated, reordered;
    uint64_t dropped; /* given back to the inner link unsent: still waiting at close,
                         or the delay line full at commit */
    uint64_t refused; /* committed to the inner link when due and refused by it */
    uint64_t waiting; /* frames on the delay line or held now */
};
/* 0, or -EINVAL if l is not a fault wrapper. */
int fault_link_counts(struct jet_link *l, struct fault_counts *out);

#endif
