/* libFuzzer target for the link-name parser (jet_link_name_parse() in
 * src/link/link.c).
 *
 * For each input, taken as a string (the first 512 bytes, up to the first NUL):
 *   1. Parse it.  A refusal must be -EINVAL with a reason in struct jet_err.
 *   2. On success check the parsed struct: kind in range, name and host
 *      NUL-terminated within their arrays, the fields a kind does not use left
 *      empty, LAN and loop names of 1..48 allowed characters not starting with '.',
 *      interface names of 1..15 characters without '/', ':', '@' or blanks,
 *      a udp host and a nonzero port, a bind address without separators.
 *   3. Format the struct back into a link name (udp hosts holding ':' in
 *      brackets; a wrapper's options spelt out, its inner name as it was) and
 *      require it to parse to the same struct.
 * Any disagreement abort()s. Also built with fuzz/replay.inc as a plain driver. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jet/lan.h"
#include "jet/link.h"
#include "fuzz.h"

enum { IN_MAX = 512 };

static int lan_char(char c, size_t i)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || (c == '.' && i > 0);
}

/* A parsed interface name: 1..15 bytes, none of '/', ':', '@', blanks, DEL. */
static void check_ifname(const char *s)
{
    size_t n = strlen(s);
    MUST(n >= 1 && n <= 15);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        MUST(c != '/' && c != ':' && c != '@' && c > ' ' && c != 0x7f);
    }
}

static void check_parsed(const struct jet_link_name *n);

/* Wrappers (fault:, capture:): the inner name parses in turn; fault values in
 * their ranges; only the wrapper's own fields set.  Other kinds leave them empty. */
static void check_wrapper(const struct jet_link_name *n)
{
    static const struct jet_link_fault none;
    bool wrap = n->kind == JET_LINK_FAULT || n->kind == JET_LINK_CAPTURE;
    MUST(memchr(n->inner, 0, sizeof n->inner) && memchr(n->path, 0, sizeof n->path));
    MUST(wrap == (n->inner[0] != 0));
    MUST((n->kind == JET_LINK_CAPTURE) == (n->path[0] != 0));
    if (n->kind != JET_LINK_FAULT)
        MUST(!memcmp(&n->fault, &none, sizeof none));
    if (!wrap)
        return;
    const struct jet_link_fault *f = &n->fault;
    MUST(f->loss >= 0 && f->loss <= 1 && f->dup >= 0 && f->dup <= 1 && f->reorder >= 0 &&
         f->reorder <= 1 && f->ber >= 0 && f->ber <= 0.5);
    MUST(f->delay_ns <= JET_LAN_MAX_DELAY_NS && f->jitter_ns <= JET_LAN_MAX_DELAY_NS);
    MUST(f->rate_bps == 0 || f->rate_bps >= JET_LAN_MIN_RATE);
    MUST(n->name[0] == 0 && n->host[0] == 0 && n->port == 0 && n->queue == 0);
    struct jet_link_name in;
    MUST(jet_link_name_parse(n->inner, &in, NULL) == 0);
    check_parsed(&in);
}

/* The shortest %g form of v that reads back as v. */
static void fmt_double(char *b, size_t cap, double v)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(b, cap, "%.*g", prec, v);
        if (strtod(b, NULL) == v)
            return;
    }
}

/* fault:KEY=VAL,.../INNER with the keys that are set (seed always). */
static int format_fault(const struct jet_link_name *n, char *buf, size_t cap)
{
    const struct jet_link_fault *f = &n->fault;
    const double p[] = {f->loss, f->ber, f->dup, f->reorder};
    static const char *const pk[] = {"loss", "ber", "dup", "reorder"};
    char opts[256] = "", v[40];
    for (int i = 0; i < 4; i++)
        if (p[i] != 0) {
            fmt_double(v, sizeof v, p[i]);
            snprintf(opts + strlen(opts), sizeof opts - strlen(opts), "%s=%s,", pk[i], v);
        }
    if (f->delay_ns)
        snprintf(opts + strlen(opts), sizeof opts - strlen(opts), "delay=%lluns,",
                 (unsigned long long)f->delay_ns);
    if (f->jitter_ns)
        snprintf(opts + strlen(opts), sizeof opts - strlen(opts), "jitter=%lluns,",
                 (unsigned long long)f->jitter_ns);
    if (f->rate_bps)
        snprintf(opts + strlen(opts), sizeof opts - strlen(opts), "rate=%llu,",
                 (unsigned long long)f->rate_bps);
    snprintf(opts + strlen(opts), sizeof opts - strlen(opts), "seed=%llu",
             (unsigned long long)f->seed);
    return snprintf(buf, cap, "fault:%s/%s", opts, n->inner);
}

static void check_parsed(const struct jet_link_name *n)
{
    MUST(n->kind >= JET_LINK_LAN && n->kind <= JET_LINK_LOOP); /* the last kind */
    check_wrapper(n);
    MUST(memchr(n->name, 0, sizeof n->name) != NULL);
    MUST(memchr(n->host, 0, sizeof n->host) != NULL);
    switch (n->kind) {
    case JET_LINK_FAULT:
    case JET_LINK_CAPTURE:
        break;
    case JET_LINK_LAN:
    case JET_LINK_LOOP: {
        size_t len = strlen(n->name);
        MUST(len >= 1 && len <= JET_LAN_NAME_MAX);
        for (size_t i = 0; i < len; i++)
            MUST(lan_char(n->name[i], i));
        MUST(n->host[0] == 0 && n->port == 0 && n->queue == 0);
        break;
    }
    case JET_LINK_TAP:
    case JET_LINK_PACKET:
        check_ifname(n->name);
        MUST(n->host[0] == 0 && n->port == 0 && n->queue == 0);
        break;
    case JET_LINK_XDP:
        check_ifname(n->name);
        MUST(n->host[0] == 0 && n->port == 0);
        break;
    case JET_LINK_UDP:
        MUST(n->host[0] != 0);
        MUST(n->port != 0);
        MUST(n->name[0] == 0 && n->queue == 0);
        for (const char *p = n->host; *p; p++)
            MUST((unsigned char)*p > ' ' && *p != '/' && *p != 0x7f);
        MUST(memchr(n->bind_host, 0, sizeof n->bind_host) != NULL);
        for (const char *p = n->bind_host; *p; p++)
            MUST((unsigned char)*p > ' ' && *p != '/' && *p != 0x7f && *p != ',' && *p != '[' &&
                 *p != ']');
        break;
    }
    if (n->kind != JET_LINK_UDP)
        MUST(n->bind_host[0] == 0 && n->bind_port == 0);
}

/* Writes the link name that denotes n into buf. */
static void format_name(const struct jet_link_name *n, char *buf, size_t cap)
{
    int len = -1;
    switch (n->kind) {
    case JET_LINK_FAULT:
        len = format_fault(n, buf, cap);
        break;
    case JET_LINK_CAPTURE:
        len = snprintf(buf, cap, "capture:%s/%s", n->path, n->inner);
        break;
    case JET_LINK_LAN:
        len = snprintf(buf, cap, "lan:%s", n->name);
        break;
    case JET_LINK_LOOP:
        len = snprintf(buf, cap, "loop:%s", n->name);
        break;
    case JET_LINK_TAP:
        len = snprintf(buf, cap, "tap:%s", n->name);
        break;
    case JET_LINK_PACKET:
        len = snprintf(buf, cap, "packet:%s", n->name);
        break;
    case JET_LINK_XDP:
        len = snprintf(buf, cap, "xdp:%s@%u", n->name, (unsigned)n->queue);
        break;
    case JET_LINK_UDP: {
        char bind[128] = "";
        const char *bh = n->bind_host;
        if (bh[0] && strchr(bh, ':'))
            snprintf(bind, sizeof bind, ",bind=[%s]:%u", bh, (unsigned)n->bind_port);
        else if (bh[0])
            snprintf(bind, sizeof bind, ",bind=%s:%u", bh, (unsigned)n->bind_port);
        else if (n->bind_port)
            snprintf(bind, sizeof bind, ",bind=%u", (unsigned)n->bind_port);
        if (strchr(n->host, ':'))
            len = snprintf(buf, cap, "udp:[%s]:%u%s", n->host, (unsigned)n->port, bind);
        else
            len = snprintf(buf, cap, "udp:%s:%u%s", n->host, (unsigned)n->port, bind);
        break;
    }
    }
    MUST(len > 0 && (size_t)len < cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[IN_MAX + 1];
    size_t len = size < IN_MAX ? size : IN_MAX;
    memcpy(s, data, len);
    s[len] = 0;

    struct jet_link_name n;
    struct jet_err err = {0};
    int rc = jet_link_name_parse(s, &n, &err);
    if (rc != 0) {
        MUST(rc == -EINVAL);
        MUST(err.code == rc);
        MUST(err.msg[0] != 0);
        MUST(memchr(err.msg, 0, sizeof err.msg) != NULL);
        return 0;
    }
    check_parsed(&n);

    char again[IN_MAX + 512];
    format_name(&n, again, sizeof again);
    if (strlen(strchr(again, ':') + 1) >= 256)
        return 0; /* a wrapper's options spelt out longer than the input: too long to parse */
    struct jet_link_name n2;
    struct jet_err err2 = {0};
    MUST(jet_link_name_parse(again, &n2, &err2) == 0);
    MUST(memcmp(&n, &n2, sizeof n) == 0);
    return 0;
}

size_t jet_fuzz_seed(unsigned i, uint8_t *buf, size_t cap)
{
    static const char *const seeds[] = {
        "lan:test",       "lan:a.b-c_D9",       "tap:tap0",       "packet:eth0",
        "xdp:enp3s0f1@3", "udp:127.0.0.1:9000", "udp:[::1]:5000", "udp:[fe80::1%eth0]:4789",
        "fault:loss=1%,seed=7/lan:x", "fault:rate=100M,delay=50us,jitter=5us/tap:tap0",
        "fault:ber=1e-7,dup=0.01,reorder=2%/fault:loss=0.5/udp:[::1]:5000",
        "capture:/tmp/a/b.pcap/lan:x", "loop:x", "udp:h:1,bind=[::1]:7", "fault:loss=1%/loop:t",
        "udp:198.18.0.2:9000,bind=198.18.0.1:9001",
    };
    if (i >= sizeof seeds / sizeof seeds[0])
        return 0;
    size_t n = strlen(seeds[i]);
    if (n > cap)
        n = cap;
    memcpy(buf, seeds[i], n);
    return n;
}
