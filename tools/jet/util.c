/* Shared helpers of the jet command: messages, LAN options, JSON. */
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "jet/pool.h"
#include "util/parse.h"

int die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("jet: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "jet %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see: jet %s --help)\n", cmd);
    va_end(ap);
    return 2;
}

/* The limits of a LAN's shape, as jet_lan_create and every open check them
 * (src/link/lan_seg.c); checked here too, option by option, so that a bad
 * value is a usage error (exit 2) that names the option, the same in every
 * subcommand that takes these options. */
#define RING_MIN 16u
#define RING_MAX 65536u
#define BUFFERS_MIN 256u /* the least the library sizes a pool to by default */

const char lan_options_help[] =
    "  --stations N      station slots, 2..64 (default 8)\n"
    "  --mtu BYTES       largest frame payload, 64..65536 (default 9000)\n"
    "  --buffers N       buffers in the shared pool, at least 256 (default: sized to the rings)\n"
    "  --ring N          entries per station-to-station ring, a power of two 16..65536\n"
    "                    (default 256)\n"
    "  --rate BPS        medium rate, at least 1M, e.g. 1G (serialisation delay and occupancy;\n"
    "                    default unlimited)\n"
    "  --delay DUR       propagation delay, e.g. 50us (at most 10s)\n"
    "  --jitter DUR      extra delay drawn from [0, DUR] per frame, order kept (at most 10s)\n"
    "  --loss P          frame loss probability, e.g. 0.01 or 1%\n"
    "  --ber P           bit error rate, 0..0.5, e.g. 1e-7\n"
    "  --dup P           duplication probability\n"
    "  --reorder P       probability a frame is held back behind the next one\n"
    "  --seed N          fault seed (same seed, same faults)\n"
    "  --mode OCTAL      segment permissions, owner read-write, no execute bits (default 600)\n"
    "  --group GROUP     share with a group (mode 660 unless --mode says otherwise)\n";

enum { O_STATIONS, O_MTU, O_BUFFERS, O_RING, O_RATE, O_DELAY, O_JITTER, O_LOSS, O_BER, O_DUP,
       O_REORDER, O_SEED, O_MODE, O_GROUP };

/* What a value of each option must be: the text of every refusal. */
static const struct {
    const char *name, *rule;
} lan_opts[] = {
    [O_STATIONS] = {"--stations", "stations must be 2 to 64"},
    [O_MTU] = {"--mtu", "MTU must be 64 to 65536 bytes"},
    [O_BUFFERS] = {"--buffers", "buffers must be 0 (sized to the rings) or 256 to 4294967294"},
    [O_RING] = {"--ring", "ring size must be a power of two from 16 to 65536"},
    [O_RATE] = {"--rate", "rate must be unlimited (0) or at least 1000000 bit/s, e.g. 1M, 10G"},
    [O_DELAY] = {"--delay", "delay and jitter must each be a duration of at most 10 s"},
    [O_JITTER] = {"--jitter", "delay and jitter must each be a duration of at most 10 s"},
    [O_LOSS] = {"--loss", "loss, dup and reorder must be probabilities (0..1), ber 0..0.5"},
    [O_BER] = {"--ber", "loss, dup and reorder must be probabilities (0..1), ber 0..0.5"},
    [O_DUP] = {"--dup", "loss, dup and reorder must be probabilities (0..1), ber 0..0.5"},
    [O_REORDER] = {"--reorder", "loss, dup and reorder must be probabilities (0..1), ber 0..0.5"},
    [O_SEED] = {"--seed", "the seed is a whole number"},
    [O_MODE] = {"--mode", "mode is octal, with owner read and write and no execute bits, "
                          "e.g. 600, 640, 660"},
    [O_GROUP] = {"--group", "no such group (a name or a number)"},
};
_Static_assert(JET_LAN_MAX_STATIONS == 64 && JET_LAN_MIN_MTU == 64 && JET_LAN_MAX_MTU == 65536,
               "the rules above name these limits");
_Static_assert(JET_LAN_MIN_RATE == 1000000 && JET_LAN_MAX_DELAY_NS == 10000000000ull,
               "the rules above name these limits");

int lan_option(const char *cmd, const char *opt, const char *arg, struct jet_lan_config *c)
{
    int which = -1;
    for (int i = 0; i < (int)(sizeof lan_opts / sizeof lan_opts[0]); i++)
        if (!strcmp(opt, lan_opts[i].name))
            which = i;
    if (which < 0)
        return 0;
    if (!arg) {
        usage_error(cmd, "%s needs a value", opt);
        return -1;
    }
    uint64_t u = 0;
    double p = 0;
    bool ok = false;
    switch (which) {
    case O_STATIONS:
        ok = !jet_parse_u64(arg, &u) && u >= 2 && u <= JET_LAN_MAX_STATIONS;
        if (ok)
            c->stations = (uint32_t)u;
        break;
    case O_MTU:
        ok = !jet_parse_size(arg, &u) && u >= JET_LAN_MIN_MTU && u <= JET_LAN_MAX_MTU;
        if (ok)
            c->mtu = (uint32_t)u;
        break;
    case O_BUFFERS:
        ok = !jet_parse_u64(arg, &u) && (u == 0 || (u >= BUFFERS_MIN && u < JET_POOL_NONE));
        if (ok)
            c->buffers = (uint32_t)u;
        break;
    case O_RING:
        ok = !jet_parse_u64(arg, &u) && u >= RING_MIN && u <= RING_MAX && !(u & (u - 1));
        if (ok)
            c->ring = (uint32_t)u;
        break;
    case O_RATE:
        ok = !jet_parse_rate(arg, &u) && (u == 0 || u >= JET_LAN_MIN_RATE);
        if (ok)
            c->rate_bps = u;
        break;
    case O_DELAY:
    case O_JITTER:
        ok = !jet_parse_duration(arg, &u) && u <= JET_LAN_MAX_DELAY_NS;
        if (ok)
            *(which == O_DELAY ? &c->delay_ns : &c->jitter_ns) = u;
        break;
    case O_LOSS:
    case O_BER:
    case O_DUP:
    case O_REORDER: {
        double *to[] = {&c->loss, &c->ber, &c->dup, &c->reorder}; /* O_LOSS .. O_REORDER */
        ok = !jet_parse_prob(arg, &p) && p >= 0 && p <= (which == O_BER ? 0.5 : 1);
        if (ok)
            *to[which - O_LOSS] = p;
        break;
    }
    case O_SEED:
        ok = !jet_parse_u64(arg, &c->seed);
        break;
    case O_MODE: {
        char *end;
        errno = 0;
        long m = strtol(arg, &end, 8);
        ok = arg[0] >= '0' && arg[0] <= '7' && !*end && !errno && m >= 0 && m <= 0777 &&
             (m & 0600) == 0600 && !(m & 0111);
        if (ok)
            c->mode = (uint32_t)m;
        break;
    }
    case O_GROUP: {
        struct group *g = getgrnam(arg);
        char *end;
        errno = 0;
        long gid = strtol(arg, &end, 10);
        if (g)
            c->gid = g->gr_gid, ok = true;
        else if (arg[0] >= '0' && arg[0] <= '9' && !*end && !errno && gid <= INT32_MAX)
            c->gid = (gid_t)gid, ok = true;
        if (ok && c->mode == 0600)
            c->mode = 0660;
        break;
    }
    }
    if (!ok) {
        usage_error(cmd, "bad value '%s' for %s: %s", arg, opt, lan_opts[which].rule);
        return -1;
    }
    return 1;
}

/* ---- JSON ---- */

void json_begin(struct json *j, FILE *f)
{
    j->f = f;
    j->depth = 0;
    j->first[0] = true;
}

static void put_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void key(struct json *j, const char *k)
{
    if (!j->first[j->depth])
        fputc(',', j->f);
    j->first[j->depth] = false;
    if (k) {
        put_str(j->f, k);
        fputc(':', j->f);
    }
}

void json_obj(struct json *j, const char *k)
{
    key(j, k);
    fputc('{', j->f);
    j->first[++j->depth] = true;
}

void json_end_obj(struct json *j)
{
    fputc('}', j->f);
    j->depth--;
}

void json_arr(struct json *j, const char *k)
{
    key(j, k);
    fputc('[', j->f);
    j->first[++j->depth] = true;
}

void json_end_arr(struct json *j)
{
    fputc(']', j->f);
    j->depth--;
}

void json_str(struct json *j, const char *k, const char *v)
{
    key(j, k);
    put_str(j->f, v);
}

void json_u64(struct json *j, const char *k, uint64_t v)
{
    key(j, k);
    fprintf(j->f, "%llu", (unsigned long long)v);
}

void json_i64(struct json *j, const char *k, int64_t v)
{
    key(j, k);
    fprintf(j->f, "%lld", (long long)v);
}

void json_dbl(struct json *j, const char *k, double v)
{
    key(j, k);
    if (v != v || v > 1e300 || v < -1e300)
        fputs("null", j->f);
    else
        fprintf(j->f, "%.6g", v);
}

void json_bool(struct json *j, const char *k, bool v)
{
    key(j, k);
    fputs(v ? "true" : "false", j->f);
}

void json_finish(struct json *j)
{
    fputc('\n', j->f);
    fflush(j->f);
}

const char *fmt_rate(char *buf, size_t cap, double bps)
{
    const char *u[] = {"bit/s", "Kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"};
    int i = 0;
    while (bps >= 1000 && i < 4) {
        bps /= 1000;
        i++;
    }
    snprintf(buf, cap, "%.2f %s", bps, u[i]);
    return buf;
}

const char *fmt_bytes(char *buf, size_t cap, double b)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (b >= 1024 && i < 4) {
        b /= 1024;
        i++;
    }
    snprintf(buf, cap, "%.2f %s", b, u[i]);
    return buf;
}
