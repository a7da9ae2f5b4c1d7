/* Shared by the libFuzzer targets (fuzz/fuzz_*.c): the entry points each
 * defines, and MUST, the check that turns a broken invariant into a crash
 * the fuzzer reports (abort, not a message: the harness has no one to tell). */
#ifndef JET_FUZZ_H
#define JET_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional: seed input i into buf (at most cap bytes); its length, 0 when
 * there are no more (replay.inc mutates them). */
size_t jet_fuzz_seed(unsigned i, uint8_t *buf, size_t cap);

#define MUST(cond)                                                                                 \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

#endif
