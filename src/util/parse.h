/* Parsing of the quantities people type on command lines: sizes (9000, 64K,
 * 1M), rates (1G, 100M, 2.5Gbit, bits per second), durations (10ms, 5us, 2s,
 * 1.5), probabilities (0.01, 1e-7, 1%).  Each returns 0 or -EINVAL. */
#ifndef JET_UTIL_PARSE_H
#define JET_UTIL_PARSE_H

#include <stdint.h>

int jet_parse_size(const char *s, uint64_t *out);     /* bytes, K/M/G = 1024^n */
int jet_parse_rate(const char *s, uint64_t *out);     /* bits/s, K/M/G/T = 1000^n */
int jet_parse_duration(const char *s, uint64_t *ns);  /* ns/us/ms/s/m; bare number = seconds */
int jet_parse_prob(const char *s, double *out);       /* 0..1, or N% */
int jet_parse_u64(const char *s, uint64_t *out);      /* plain decimal (or 0x hex) */

#endif
