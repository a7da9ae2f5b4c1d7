/* Command-line quantities; see parse.h. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/parse.h"

static int number(const char *s, double *v, const char **rest)
{
    if (!s || !*s)
        return -EINVAL;
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    if (end == s || errno || !isfinite(*v) || *v < 0)
        return -EINVAL;
    *rest = end;
    return 0;
}

/* Rounds a non-negative double to the nearest integer; -EINVAL past 2^64. */
static int to_u64(double v, uint64_t *out)
{
    v = floor(v + 0.5);
    if (!(v >= 0) || v >= 18446744073709551616.0)
        return -EINVAL;
    *out = (uint64_t)v;
    return 0;
}

int jet_parse_u64(const char *s, uint64_t *out)
{
    if (!s || !(*s >= '0' && *s <= '9'))
        return -EINVAL; /* no sign, no blanks */
    int base = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, base);
    if (*end || errno)
        return -EINVAL;
    *out = v;
    return 0;
}

int jet_parse_size(const char *s, uint64_t *out)
{
    double v;
    const char *u;
    if (number(s, &v, &u))
        return -EINVAL;
    double m = 1;
    if (!strcasecmp(u, "k") || !strcasecmp(u, "kib") || !strcasecmp(u, "kb"))
        m = 1024;
    else if (!strcasecmp(u, "m") || !strcasecmp(u, "mib") || !strcasecmp(u, "mb"))
        m = 1024.0 * 1024;
    else if (!strcasecmp(u, "g") || !strcasecmp(u, "gib") || !strcasecmp(u, "gb"))
        m = 1024.0 * 1024 * 1024;
    else if (*u && strcasecmp(u, "b"))
        return -EINVAL;
    v *= m;
    if (v > 1.8e19 || v != floor(v))
        return -EINVAL;
    *out = (uint64_t)v;
    return 0;
}

int jet_parse_rate(const char *s, uint64_t *out)
{
    double v;
    const char *u;
    if (number(s, &v, &u))
        return -EINVAL;
    double m = 1;
    switch (*u) {
    case 'k': case 'K': m = 1e3; u++; break;
    case 'm': case 'M': m = 1e6; u++; break;
    case 'g': case 'G': m = 1e9; u++; break;
    case 't': case 'T': m = 1e12; u++; break;
    default: break;
    }
    if (*u && strcasecmp(u, "bit") && strcasecmp(u, "bps") && strcasecmp(u, "b") &&
        strcasecmp(u, "bit/s"))
        return -EINVAL;
    return to_u64(v * m, out);
}

int jet_parse_duration(const char *s, uint64_t *ns)
{
    double v;
    const char *u;
    if (number(s, &v, &u))
        return -EINVAL;
    double m;
    if (!*u || !strcmp(u, "s"))
        m = 1e9;
    else if (!strcmp(u, "ms"))
        m = 1e6;
    else if (!strcmp(u, "us"))
        m = 1e3;
    else if (!strcmp(u, "ns"))
        m = 1;
    else if (!strcmp(u, "m") || !strcmp(u, "min"))
        m = 60e9;
    else
        return -EINVAL;
    return to_u64(v * m, ns);
}

int jet_parse_prob(const char *s, double *out)
{
    double v;
    const char *u;
    if (number(s, &v, &u))
        return -EINVAL;
    if (!strcmp(u, "%"))
        v /= 100;
    else if (*u)
        return -EINVAL;
    if (v > 1)
        return -EINVAL;
    *out = v;
    return 0;
}
