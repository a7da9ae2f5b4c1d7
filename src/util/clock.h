/* Clock for drivers and tools (protocol cores never read it: they are handed `now`). */
#ifndef JET_UTIL_CLOCK_H
#define JET_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t jet_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
