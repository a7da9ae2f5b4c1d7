/* Internal: the station's side of attached protocols (stack.c), for station.c. */
#ifndef JET_STACK_IMPL_H
#define JET_STACK_IMPL_H

#include <stdint.h>

struct jet_station;

/* Runs every protocol's poll hook with now (0: reads the clock first);
 * returns the now it used.  Not while hooks run (s->in_hooks). */
uint64_t stack_run(struct jet_station *s, uint64_t now);
/* The earliest protocol timer (absolute ns), UINT64_MAX if none. */
uint64_t stack_next_timer(struct jet_station *s);
/* Calls every close hook, last attached first, and detaches them. */
void stack_close(struct jet_station *s);

#endif
