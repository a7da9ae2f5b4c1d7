/* Software prefetch that survives optimisation.
 *
 * GCC 12 treats a function whose only effect is __builtin_prefetch as
 * const (pass local-pure-const) and deletes calls to it: a prefetch loop
 * in a helper of its own silently vanished.  An asm volatile statement is
 * never deleted; the "m" operand only names the address, nothing is read
 * architecturally, and a prefetch of any address cannot fault. */
#ifndef JET_UTIL_PREFETCH_H
#define JET_UTIL_PREFETCH_H

#if defined(__x86_64__) || defined(__i386__)
static inline void jet_prefetch(const void *p)
{
    __asm__ volatile("prefetcht0 %0" : : "m"(*(const char *)p));
}
/* For a line about to be written (PREFETCHW: fetch it exclusive). */
static inline void jet_prefetchw(const void *p)
{
    __asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
}
#else
static inline void jet_prefetch(const void *p)
{
    __asm__ volatile("" : : "r"(p));
    __builtin_prefetch(p, 0, 3);
}
static inline void jet_prefetchw(const void *p)
{
    __asm__ volatile("" : : "r"(p));
    __builtin_prefetch(p, 1, 3);
}
#endif

#endif
