/* Command-line quantities (src/util/parse.c): one table per parser, each row an
 * input and the value it gives or its refusal (-EINVAL). */
#include <errno.h>
#include <math.h>

#include "check.h"
#include "util/parse.h"

struct urow {
    const char *in;
    int rc;
    uint64_t want;
};

struct drow {
    const char *in;
    int rc;
    double want;
};

/* clang-format off */
#define BAD_U(in) { in, -EINVAL, 0 }
#define BAD_D(in) { in, -EINVAL, 0 }
/* clang-format on */

/* sizes: bytes, K/M/G = 1024^n, the result must be a whole number of bytes */
static const struct urow sizes[] = {
    {"9000", 0, 9000},
    {"0", 0, 0},
    {"1", 0, 1},
    {"64K", 0, 65536},
    {"64k", 0, 65536},
    {"4KiB", 0, 4096},
    {"4kb", 0, 4096},
    {"1M", 0, 1048576},
    {"2MB", 0, 2097152},
    {"1G", 0, 1073741824},
    {"16G", 0, 17179869184ull},
    {"1.5K", 0, 1536},
    {"0.5K", 0, 512},
    {"1.5M", 0, 1572864},
    {"100b", 0, 100},
    {"100B", 0, 100},
    BAD_U(""),
    BAD_U("-1"),
    BAD_U("-1K"),
    BAD_U("12x"),
    BAD_U("1.2"),
    BAD_U("1.5"),
    BAD_U("0.1K"),
    BAD_U("K"),
    BAD_U("1KK"),
    BAD_U("1 K"),
    BAD_U("1T"),
    BAD_U("1e30"),
    BAD_U("17179869184G"), /* 2^64 */
    BAD_U("nan"),
    BAD_U("inf"),
    BAD_U(NULL),
};

/* rates: bits per second, K/M/G/T = 1000^n */
static const struct urow rates[] = {
    {"1G", 0, 1000000000ull},
    {"1g", 0, 1000000000ull},
    {"100M", 0, 100000000ull},
    {"2.5Gbit", 0, 2500000000ull},
    {"2.5G", 0, 2500000000ull},
    {"1000", 0, 1000},
    {"0", 0, 0},
    {"10Mbps", 0, 10000000ull},
    {"100Mbit/s", 0, 100000000ull},
    {"1Gb", 0, 1000000000ull},
    {"1k", 0, 1000},
    {"56K", 0, 56000},
    {"1T", 0, 1000000000000ull},
    {"40Gbit", 0, 40000000000ull},
    {"64bit", 0, 64},
    BAD_U(""),
    BAD_U("G"),
    BAD_U("-1G"),
    BAD_U("1Gx"),
    BAD_U("1Q"),
    BAD_U("1 G"),
    BAD_U("1GG"),
    BAD_U("10Mbpsx"),
    BAD_U("1e20"),
    BAD_U("nan"),
    BAD_U(NULL),
};

/* durations: ns/us/ms/s/m (min), a bare number is seconds */
static const struct urow durations[] = {
    {"10ms", 0, 10000000ull},
    {"5us", 0, 5000},
    {"2s", 0, 2000000000ull},
    {"1.5", 0, 1500000000ull},
    {"100ns", 0, 100},
    {"2m", 0, 120000000000ull},
    {"1min", 0, 60000000000ull},
    {"0", 0, 0},
    {"0.5ms", 0, 500000},
    {"250", 0, 250000000000ull},
    BAD_U(""),
    BAD_U("10xs"),
    BAD_U("10q"),
    BAD_U("5 ms"),
    BAD_U("ms"),
    BAD_U("-1s"),
    BAD_U("-5"),
    BAD_U("-1ms"),
    BAD_U("1e11"), /* 1e20 ns does not fit */
    BAD_U("inf"),
    BAD_U(NULL),
};

/* probabilities: 0..1, or N% */
static const struct drow probs[] = {
    {"0.01", 0, 0.01}, {"1e-7", 0, 1e-7}, {"1%", 0, 0.01}, {"50%", 0, 0.5}, {"0.5%", 0, 0.005},
    {"100%", 0, 1},    {"0", 0, 0},       {"0%", 0, 0},    {"1", 0, 1},     {"1.0", 0, 1},
    BAD_D("1.01"),     BAD_D("101%"),     BAD_D("2"),      BAD_D("x"),      BAD_D(""),
    BAD_D("%"),        BAD_D("1%%"),      BAD_D("0.5x"),   BAD_D("-0.1"),   BAD_D("-1%"),
    BAD_D("nan"),      BAD_D("inf"),      BAD_D(NULL),
};

/* plain unsigned integers: decimal, or hex with 0x */
static const struct urow u64s[] = {
    {"0", 0, 0},
    {"123", 0, 123},
    {"9000", 0, 9000},
    {"18446744073709551615", 0, UINT64_MAX},
    {"0x10", 0, 16},
    {"0X10", 0, 16},
    {"0xffffffffffffffff", 0, UINT64_MAX},
    {"010", 0, 10}, /* decimal, not octal */
    {"08", 0, 8},
    BAD_U(""),
    BAD_U("-3"),
    BAD_U(" -3"),
    BAD_U("12a"),
    BAD_U("0x"),
    BAD_U("0xg"),
    BAD_U("1.5"),
    BAD_U("1K"),
    BAD_U("18446744073709551616"),
    BAD_U(NULL),
};

static const char *shown(const char *s)
{
    return s ? s : "(null)";
}

static void check_urows(const char *what, int (*fn)(const char *, uint64_t *), const struct urow *t,
                        size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v = 0;
        int rc = fn(t[i].in, &v);
        int ok = rc == t[i].rc && (rc || v == t[i].want);
        if (!ok)
            fprintf(stderr, "%s('%s'): rc %d value %" PRIu64 ", expected rc %d value %" PRIu64 "\n",
                    what, shown(t[i].in), rc, v, t[i].rc, t[i].want);
        CHECK(ok);
    }
}

static void check_drows(const char *what, int (*fn)(const char *, double *), const struct drow *t,
                        size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double v = 0;
        int rc = fn(t[i].in, &v);
        int ok = rc == t[i].rc && (rc || fabs(v - t[i].want) <= 1e-12 * fabs(t[i].want));
        if (!ok)
            fprintf(stderr, "%s('%s'): rc %d value %g, expected rc %d value %g\n", what,
                    shown(t[i].in), rc, v, t[i].rc, t[i].want);
        CHECK(ok);
    }
}

#define NROWS(t) (sizeof(t) / sizeof((t)[0]))

/* Values past 2^63 but below 2^64 fit the output: they are either given exactly
 * or refused, never wrapped or clamped to another number. */
static void test_large(void)
{
    uint64_t v = 0;
    int rc = jet_parse_rate("1e19", &v);
    if (rc == 0 && v != 10000000000000000000ull)
        fprintf(stderr, "jet_parse_rate('1e19'): %" PRIu64 "\n", v);
    CHECK(rc == -EINVAL || (rc == 0 && v == 10000000000000000000ull));

    rc = jet_parse_rate("10000000T", &v);
    if (rc == 0 && v != 10000000000000000000ull)
        fprintf(stderr, "jet_parse_rate('10000000T'): %" PRIu64 "\n", v);
    CHECK(rc == -EINVAL || (rc == 0 && v == 10000000000000000000ull));

    rc = jet_parse_duration("1e10", &v); /* 1e19 ns */
    if (rc == 0 && v != 10000000000000000000ull)
        fprintf(stderr, "jet_parse_duration('1e10'): %" PRIu64 "\n", v);
    CHECK(rc == -EINVAL || (rc == 0 && v == 10000000000000000000ull));

    rc = jet_parse_size("8G", &v);
    CHECK(rc == 0 && v == 8589934592ull);
    rc = jet_parse_size("8388608G", &v); /* 2^53: exact in a double */
    CHECK(rc == 0 && v == 9007199254740992ull);
    rc = jet_parse_size("8192M", &v);
    CHECK(rc == 0 && v == 8589934592ull);
}

int main(void)
{
    check_urows("jet_parse_size", jet_parse_size, sizes, NROWS(sizes));
    check_urows("jet_parse_rate", jet_parse_rate, rates, NROWS(rates));
    check_urows("jet_parse_duration", jet_parse_duration, durations, NROWS(durations));
    check_drows("jet_parse_prob", jet_parse_prob, probs, NROWS(probs));
    check_urows("jet_parse_u64", jet_parse_u64, u64s, NROWS(u64s));
    test_large();
    return check_done("test_parse");
}
