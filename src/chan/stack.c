/* Protocols attached to a station (include/jet/stack.h).
 *
 * The station keeps a short array of (ops, state) in attach order; a station
 * without protocols pays one test per poll.  jet_station_poll() runs
 * stack_run() after demultiplexing (and before transmit work is pushed on),
 * jet_station_wait() bounds its sleep by stack_next_timer(), and
 * jet_station_close() calls stack_close() before it closes any channel. */
#include <errno.h>
#include <string.h>

#include "chan/chan_impl.h"
#include "chan/stack_impl.h"
#include "util/clock.h"

static int find(const struct jet_station *s, const struct jet_proto_ops *ops)
{
    for (uint32_t i = 0; i < s->nproto; i++)
        if (s->proto[i].ops == ops)
            return (int)i;
    return -1;
}

int jet_station_attach(struct jet_station *s, const struct jet_proto_ops *ops, void *state)
{
    if (!ops || !ops->poll || !ops->close)
        return jet_err_set(&s->err, -EINVAL, "a protocol needs a poll and a close hook");
    if (find(s, ops) >= 0)
        return jet_err_set(&s->err, -EEXIST, "protocol %s is attached to this station already",
                           ops->name ? ops->name : "?");
    if (s->nproto == JET_STATION_PROTOS)
        return jet_err_set(&s->err, -ENOSPC, "a station carries at most %d protocols",
                           JET_STATION_PROTOS);
    s->proto[s->nproto++] = (struct station_proto){.ops = ops, .state = state};
    return 0;
}

int jet_station_detach(struct jet_station *s, const struct jet_proto_ops *ops)
{
    int i = find(s, ops);
    if (i < 0)
        return -ENOENT;
    memmove(&s->proto[i], &s->proto[i + 1], (s->nproto - (uint32_t)i - 1) * sizeof *s->proto);
    s->nproto--;
    return 0;
}

void *jet_station_proto(const struct jet_station *s, const struct jet_proto_ops *ops)
{
    int i = find(s, ops);
    return i < 0 ? NULL : s->proto[i].state;
}

uint64_t stack_run(struct jet_station *s, uint64_t now)
{
    if (!now)
        now = jet_now_ns();
    s->in_hooks = true;
    for (uint32_t i = 0; i < s->nproto; i++)
        s->proto[i].ops->poll(s, s->proto[i].state, now);
    s->in_hooks = false;
    return now;
}

uint64_t stack_next_timer(struct jet_station *s)
{
    uint64_t t = UINT64_MAX;
    for (uint32_t i = 0; i < s->nproto; i++) {
        const struct station_proto *p = &s->proto[i];
        if (p->ops->next_timeout) {
            uint64_t x = p->ops->next_timeout(s, p->state);
            if (x < t)
                t = x;
        }
    }
    return t;
}

int64_t jet_station_timeout(struct jet_station *s)
{
    uint64_t t = stack_next_timer(s);
    if (t == UINT64_MAX)
        return -1;
    uint64_t now = jet_now_ns();
    return t > now ? (int64_t)(t - now < INT64_MAX ? t - now : INT64_MAX) : 0;
}

void stack_close(struct jet_station *s)
{
    s->in_hooks = true; /* a poll from a close hook runs only the driver */
    while (s->nproto) {
        struct station_proto p = s->proto[--s->nproto];
        p.ops->close(s, p.state);
    }
    s->in_hooks = false;
}
