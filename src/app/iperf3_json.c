/* iperf3 server engine: the two JSON texts the server deals with.
 *
 *   iperf3_params_parse   reads the client's parameters: one object, as cJSON prints
 *                         it unformatted ({"tcp":true,"omit":0,"time":10,...}).  Every
 *                         byte is hostile: a cursor that never passes the end, strings
 *                         checked for escapes and control characters, numbers by the
 *                         JSON grammar, nesting bounded.  Keys are compared only when
 *                         they hold no escape (the client's never do).
 *   iperf3_results_json   writes the server's results, in the fields iperf3's
 *                         get_results requires; numbers without printf's %g, so the
 *                         text does not depend on the locale. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "app/iperf3_srv.h"

enum { MAX_DEPTH = 8, KEY_MAX = 32 };

struct cur {
    const uint8_t *p, *end;
};

static void ws(struct cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool eat(struct cur *c, uint8_t ch)
{
    ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

static int hexval(uint8_t h)
{
    if (h >= '0' && h <= '9')
        return h - '0';
    if ((h | 0x20) >= 'a' && (h | 0x20) <= 'f')
        return (h | 0x20) - 'a' + 10;
    return -1;
}

/* A string at c (after whitespace).  Copies it into out (cap bytes, NUL-ended) when
 * out is given, it holds no escape and fits; *plain says whether it was copied. */
static int string(struct cur *c, char *out, size_t cap, bool *plain)
{
    ws(c);
    if (c->p >= c->end || *c->p != '"')
        return -EINVAL;
    c->p++;
    size_t n = 0;
    bool ok = out != NULL;
    while (c->p < c->end) {
        uint8_t ch = *c->p++;
        if (ch == '"') {
            if (ok)
                out[n] = 0;
            if (plain)
                *plain = ok;
            return 0;
        }
        if (ch < 0x20)
            return -EINVAL;
        if (ch == '\\') {
            if (c->p >= c->end)
                return -EINVAL;
            uint8_t e = *c->p++;
            if (e == 'u') {
                if (c->end - c->p < 4)
                    return -EINVAL;
                for (int i = 0; i < 4; i++)
                    if (hexval(c->p[i]) < 0)
                        return -EINVAL;
                c->p += 4;
            } else if (!strchr("\"\\/bfnrt", e) || e == 0) {
                return -EINVAL;
            }
            ok = false;
            continue;
        }
        if (ok) {
            if (n + 1 < cap)
                out[n++] = (char)ch;
            else
                ok = false;
        }
    }
    return -EINVAL;
}

/* A number by the JSON grammar, its value truncated toward zero and clamped to
 * int64 (cJSON's valueint, widened). */
static int number(struct cur *c, int64_t *out)
{
    ws(c);
    const uint8_t *p = c->p, *e = c->end;
    bool neg = false;
    double v = 0;
    int scale = 0; /* power of ten still to apply */
    if (p < e && *p == '-') {
        neg = true;
        p++;
    }
    if (p >= e || *p < '0' || *p > '9')
        return -EINVAL;
    if (*p == '0') {
        p++;
    } else {
        while (p < e && *p >= '0' && *p <= '9') {
            if (v < 1e300)
                v = v * 10 + (*p - '0');
            else
                scale++;
            p++;
        }
    }
    if (p < e && *p == '.') {
        p++;
        if (p >= e || *p < '0' || *p > '9')
            return -EINVAL;
        while (p < e && *p >= '0' && *p <= '9') {
            if (v < 1e300 && scale > -400) {
                v = v * 10 + (*p - '0');
                scale--;
            }
            p++;
        }
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        bool eneg = false;
        if (p < e && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (p >= e || *p < '0' || *p > '9')
            return -EINVAL;
        int x = 0;
        while (p < e && *p >= '0' && *p <= '9') {
            if (x < 10000)
                x = x * 10 + (*p - '0');
            p++;
        }
        scale += eneg ? -x : x;
    }
    for (; scale > 0 && v < 1e300; scale--)
        v *= 10;
    for (; scale < 0 && v > 0; scale++)
        v /= 10;
    if (scale > 0 && v > 0)
        v = 1e300;
    c->p = p;
    if (v >= 9.2e18)
        *out = neg ? INT64_MIN : INT64_MAX;
    else
        *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

static bool literal(struct cur *c, const char *w)
{
    size_t n = strlen(w);
    ws(c);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n))
        return false;
    c->p += n;
    return true;
}

/* Any value, checked and skipped. */
static int skip_value(struct cur *c, int depth)
{
    int64_t dummy;
    ws(c);
    if (c->p >= c->end)
        return -EINVAL;
    switch (*c->p) {
    case '"':
        return string(c, NULL, 0, NULL);
    case '{':
    case '[': {
        uint8_t close = *c->p == '{' ? '}' : ']';
        bool obj = close == '}';
        if (depth >= MAX_DEPTH)
            return -EINVAL;
        c->p++;
        if (eat(c, close))
            return 0;
        for (;;) {
            if (obj && (string(c, NULL, 0, NULL) || !eat(c, ':')))
                return -EINVAL;
            if (skip_value(c, depth + 1))
                return -EINVAL;
            if (eat(c, close))
                return 0;
            if (!eat(c, ','))
                return -EINVAL;
        }
    }
    case 't':
        return literal(c, "true") ? 0 : -EINVAL;
    case 'f':
        return literal(c, "false") ? 0 : -EINVAL;
    case 'n':
        return literal(c, "null") ? 0 : -EINVAL;
    default:
        return number(c, &dummy);
    }
}

/* Keys whose presence alone sets a flag, as iperf3's get_parameters reads them. */
static bool *flag_field(struct iperf3_params *o, const char *k)
{
    if (!strcmp(k, "tcp"))
        return &o->tcp;
    if (!strcmp(k, "udp"))
        return &o->udp;
    if (!strcmp(k, "sctp"))
        return &o->sctp;
    if (!strcmp(k, "reverse"))
        return &o->reverse;
    if (!strcmp(k, "bidirectional"))
        return &o->bidirectional;
    return NULL;
}

static int64_t *num_field(struct iperf3_params *o, const char *k)
{
    if (!strcmp(k, "omit"))
        return &o->omit;
    if (!strcmp(k, "time"))
        return &o->time;
    if (!strcmp(k, "num"))
        return &o->num;
    if (!strcmp(k, "blockcount"))
        return &o->blockcount;
    if (!strcmp(k, "parallel"))
        return &o->parallel;
    if (!strcmp(k, "len"))
        return &o->len;
    return NULL;
}

int iperf3_params_parse(const uint8_t *p, size_t n, struct iperf3_params *out)
{
    struct cur c = {p, p + n};
    memset(out, 0, sizeof *out);
    if (!eat(&c, '{'))
        return -EINVAL;
    if (!eat(&c, '}')) {
        for (;;) {
            char key[KEY_MAX];
            bool plain;
            if (string(&c, key, sizeof key, &plain) || !eat(&c, ':'))
                return -EINVAL;
            bool *f = plain ? flag_field(out, key) : NULL;
            int64_t *v = plain ? num_field(out, key) : NULL;
            if (v) {
                ws(&c);
                if (number(&c, v))
                    return -EINVAL; /* a string, true, null, an object: not a number */
            } else if (plain && !strcmp(key, "client_version")) {
                bool vplain;
                ws(&c);
                if (c.p < c.end && *c.p == '"') {
                    if (string(&c, out->client_version, sizeof out->client_version, &vplain))
                        return -EINVAL;
                    if (!vplain)
                        out->client_version[0] = 0;
                } else if (skip_value(&c, 1)) {
                    return -EINVAL;
                }
            } else {
                if (skip_value(&c, 1))
                    return -EINVAL;
                if (f)
                    *f = true;
            }
            if (eat(&c, '}'))
                break;
            if (!eat(&c, ','))
                return -EINVAL;
        }
    }
    ws(&c);
    if (c.p != c.end)
        return -EINVAL; /* trailing bytes */
    return 0;
}

/* Appends to buf at *at; false when it did not fit. */
static bool put(char *buf, size_t cap, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool put(char *buf, size_t cap, size_t *at, const char *fmt, ...)
{
    va_list ap;
    if (*at >= cap)
        return false;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *at, cap - *at, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= cap - *at)
        return false;
    *at += (size_t)w;
    return true;
}

/* A non-negative quantity with 6 decimals, e.g. 10.000123; NaN, negative: 0. */
static bool put_fixed(char *buf, size_t cap, size_t *at, double v)
{
    if (!(v >= 0) || !isfinite(v))
        v = 0;
    if (v > 1e12)
        v = 1e12;
    uint64_t micro = (uint64_t)(v * 1e6 + 0.5);
    return put(buf, cap, at, "%" PRIu64 ".%06u", micro / 1000000, (unsigned)(micro % 1000000));
}

int iperf3_results_json(char *buf, size_t cap, const double cpu[3], int sender_has_retransmits,
                        const struct iperf3_result_stream *st, unsigned n, uint64_t ns)
{
    size_t at = 0;
    static const char *const cpu_keys[3] = {"cpu_util_total", "cpu_util_user", "cpu_util_system"};
    bool ok = put(buf, cap, &at, "{");
    for (int i = 0; i < 3 && ok; i++)
        ok = put(buf, cap, &at, "\"%s\":", cpu_keys[i]) && put_fixed(buf, cap, &at, cpu[i]) &&
             put(buf, cap, &at, ",");
    ok = ok && put(buf, cap, &at, "\"sender_has_retransmits\":%d,\"streams\":[",
                   sender_has_retransmits);
    for (unsigned i = 0; i < n && ok; i++) {
        ok = put(buf, cap, &at,
                 "%s{\"id\":%u,\"bytes\":%" PRIu64 ",\"retransmits\":%" PRId64
                 ",\"jitter\":0,\"errors\":0,\"packets\":0,\"start_time\":0,\"end_time\":",
                 i ? "," : "", st[i].id, st[i].bytes, st[i].retransmits) &&
             put_fixed(buf, cap, &at, (double)ns / 1e9) && put(buf, cap, &at, "}");
    }
    ok = ok && put(buf, cap, &at, "]}");
    return ok ? (int)at : -ENOSPC;
}
