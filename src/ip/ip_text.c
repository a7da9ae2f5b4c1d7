/* IPv4 addresses as text: "a.b.c.d" and "a.b.c.d/plen" (jet/ip.h).
 * Strict: four decimal parts of 1-3 digits, each 0..255, a prefix of 1-2
 * digits 0..32, nothing else (no spaces, signs, hex or octal). */
#include <errno.h>
#include <stdio.h>

#include "jet/ip.h"

/* Reads 1..maxd decimal digits at *s, at most max: the value, or -1. */
static long num(const char **s, int maxd, long max)
{
    long v = 0;
    int d = 0;
    while (**s >= '0' && **s <= '9') {
        if (++d > maxd)
            return -1;
        v = v * 10 + (**s - '0');
        (*s)++;
    }
    return d == 0 || v > max ? -1 : v;
}

int jet_ip_parse(const char *s, uint32_t *addr, uint8_t *plen)
{
    if (!s || !addr)
        return -EINVAL;
    uint32_t a = 0;
    for (int i = 0; i < 4; i++) {
        if (i && *s++ != '.')
            return -EINVAL;
        long v = num(&s, 3, 255);
        if (v < 0)
            return -EINVAL;
        a = a << 8 | (uint32_t)v;
    }
    long p = 32;
    if (*s == '/') {
        if (!plen)
            return -EINVAL;
        s++;
        p = num(&s, 2, 32);
        if (p < 0)
            return -EINVAL;
    }
    if (*s)
        return -EINVAL;
    *addr = a;
    if (plen)
        *plen = (uint8_t)p;
    return 0;
}

char *jet_ip_format(uint32_t addr, char *buf)
{
    snprintf(buf, 16, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xFF, (addr >> 8) & 0xFF,
             addr & 0xFF);
    return buf;
}
