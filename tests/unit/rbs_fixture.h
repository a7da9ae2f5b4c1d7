/* RBS over an emulated LAN with faults: shared by test_rbs_glue.c and
 * test_rbs_sink.c.  Include after chan_fixture.h (mklan). */
#ifndef TEST_RBS_FIXTURE_H
#define TEST_RBS_FIXTURE_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "jet/lan.h"
#include "jet/rbs.h"

struct faults {
    double loss, reorder, dup, ber;
    uint32_t mtu;  /* 0: 9000 */
    uint64_t seed; /* 0: 11 */
};

/* chan_fixture's mklan takes a tweak without context: the faults go through here. */
static const struct faults *lan_faults;

static void apply_faults(struct jet_lan_config *c)
{
    const struct faults *f = lan_faults;
    c->mtu = f && f->mtu ? f->mtu : 9000;
    if (f) {
        c->loss = f->loss;
        c->reorder = f->reorder;
        c->dup = f->dup;
        c->ber = f->ber;
        c->seed = f->seed ? f->seed : 11;
    }
}

static int mklan_faults(const char *tag, const struct faults *f)
{
    lan_faults = f;
    return mklan(tag, apply_faults);
}

static void st_close(struct jet_station *s)
{
    jet_rbs_station_fini(s, 3000000000ll);
    jet_station_close(s);
}

/* Whether test `name` runs: all of them, or only the one environment
 * variable `env` names (to debug it). */
static bool want_test(const char *env, const char *name)
{
    const char *only = getenv(env);
    return !only || !strcmp(only, name);
}

#endif
