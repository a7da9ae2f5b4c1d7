/* Shared helpers of the jet command: messages, LAN options, JSON. */
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
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

const char lan_options_help[] =
    "  --stations N      station slots, 2..64 (default 8)\n"
    "  --mtu BYTES       largest frame payload, 64..65536 (default 9000)\n"
    "  --buffers N       buffers in the shared pool (default: sized to the rings)\n"
    "  --ring N          entries per station-to-station ring, power of two (default 256)\n"
    "  --rate BPS        medium rate, e.g. 1G (serialisation delay and occupancy; default unlimited)\n"
    "  --delay DUR       propagation delay, e.g. 50us\n"
    "  --jitter DUR      extra delay drawn from [0, DUR] per frame (order kept)\n"
    "  --loss P          frame loss probability, e.g. 0.01 or 1%\n"
    "  --ber P           bit error rate, e.g. 1e-7\n"
    "  --dup P           duplication probability\n"
    "  --reorder P       probability a frame is held back behind the next one\n"
    "  --seed N          fault seed (same seed, same faults)\n"
    "  --mode OCTAL      segment permissions (default 600)\n"
    "  --group GROUP     share with a group (mode 660 unless --mode says otherwise)\n";

int lan_option(const char *cmd, const char *opt, const char *arg, struct jet_lan_config *c)
{
    static const char *const names[] = {"--stations", "--mtu",   "--buffers", "--ring",
                                        "--rate",     "--delay", "--jitter",  "--loss",
                                        "--ber",      "--dup",   "--reorder", "--seed",
                                        "--mode",     "--group", NULL};
    int which = -1;
    for (int i = 0; names[i]; i++)
        if (!strcmp(opt, names[i]))
            which = i;
    if (which < 0)
        return 0;
    if (!arg) {
        usage_error(cmd, "%s needs a value", opt);
        return -1;
    }
    uint64_t u = 0;
    int rc = 0;
    switch (which) {
    case 0: case 1: case 2: case 3:
        rc = which == 1 ? jet_parse_size(arg, &u) : jet_parse_u64(arg, &u);
        if (!rc && u > UINT32_MAX)
            rc = -EINVAL;
        if (!rc)
            *(which == 0 ? &c->stations : which == 1 ? &c->mtu : which == 2 ? &c->buffers : &c->ring) =
                (uint32_t)u;
        break;
    case 4: rc = jet_parse_rate(arg, &c->rate_bps); break;
    case 5: rc = jet_parse_duration(arg, &c->delay_ns); break;
    case 6: rc = jet_parse_duration(arg, &c->jitter_ns); break;
    case 7: rc = jet_parse_prob(arg, &c->loss); break;
    case 8: rc = jet_parse_prob(arg, &c->ber); break;
    case 9: rc = jet_parse_prob(arg, &c->dup); break;
    case 10: rc = jet_parse_prob(arg, &c->reorder); break;
    case 11: rc = jet_parse_u64(arg, &c->seed); break;
    case 12: {
        char *end;
        long m = strtol(arg, &end, 8);
        if (*end || m < 0 || m > 0777)
            rc = -EINVAL;
        else
            c->mode = (uint32_t)m;
        break;
    }
    case 13: {
        struct group *g = getgrnam(arg);
        char *end;
        long gid = strtol(arg, &end, 10);
        if (g)
            c->gid = g->gr_gid;
        else if (!*end && gid >= 0)
            c->gid = (gid_t)gid;
        else
            rc = -EINVAL;
        if (!rc && c->mode == 0600)
            c->mode = 0660;
        break;
    }
    }
    if (rc) {
        usage_error(cmd, "bad value '%s' for %s", arg, opt);
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
