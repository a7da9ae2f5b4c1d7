/* Helpers of the attack tests (test_lan_hostile.c, test_scribble.c): running
 * $BUILD/jet as a child under a time bound and judging how it ended.
 *
 * A child has a bound.  It fails the test if it
 *   - dies of a signal we did not send (SIGSEGV, SIGBUS, SIGFPE, SIGABRT, ...),
 *   - prints a sanitizer report (ASan, LSan, UBSan) on its stderr,
 *   - is still running at its bound (a hang: it is then stopped with SIGTERM,
 *     and SIGKILL 3 s later).
 * Whether its exit code and output are right is the caller's business.
 *
 * Every child is killed (by its pid) if the test exits early, and every LAN
 * whose name starts with the test's prefix is removed. */
#ifndef JET_TEST_HOSTILE_H
#define JET_TEST_HOSTILE_H

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static inline uint64_t h_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void h_sleep_us(unsigned us)
{
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* ---- the test's environment ---- */

static char h_jet[512];  /* $BUILD/jet */
static char h_tmp[256];  /* private temporary directory */
static char h_pfx[32];   /* prefix of every LAN name of this run */
static bool h_sanitized; /* JET_SANITIZED=1: slower, shorter runs */

enum { H_MAXKIDS = 64 };
static pid_t h_kids[H_MAXKIDS];

static inline void h_forget(pid_t pid)
{
    for (int i = 0; i < H_MAXKIDS; i++)
        if (h_kids[i] == pid)
            h_kids[i] = 0;
}

/* Kills the children still running, removes our LANs and the temporary
 * directory.  At exit and on SIGINT/SIGTERM. */
static inline void h_cleanup(void)
{
    for (int i = 0; i < H_MAXKIDS; i++)
        if (h_kids[i] > 0) {
            kill(h_kids[i], SIGKILL);
            waitpid(h_kids[i], NULL, 0);
            h_kids[i] = 0;
        }
    size_t pl = strlen(h_pfx);
    DIR *d = pl ? opendir("/dev/shm") : NULL;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            const char *n = e->d_name;
            const char *rest = !strncmp(n, "jet-lan.", 8)    ? n + 8
                               : !strncmp(n, "jet-stat.", 9) ? n + 9
                                                             : NULL;
            if (rest && !strncmp(rest, h_pfx, pl) && rest[pl] == '-') {
                char p[400];
                snprintf(p, sizeof p, "/dev/shm/%s", n);
                unlink(p);
            }
        }
        closedir(d);
    }
    if (h_tmp[0]) {
        DIR *t = opendir(h_tmp);
        if (t) {
            struct dirent *e;
            while ((e = readdir(t)) != NULL) {
                if (e->d_name[0] == '.')
                    continue;
                char p[600];
                snprintf(p, sizeof p, "%s/%s", h_tmp, e->d_name);
                unlink(p);
            }
            closedir(t);
        }
        rmdir(h_tmp);
        h_tmp[0] = 0;
    }
}

static inline void h_on_signal(int sig)
{
    h_cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Finds $BUILD/jet (exit 1 if missing), makes the temporary directory and
 * the LAN prefix (tag + pid), installs the cleanup. */
static inline void h_init(const char *tag)
{
    const char *b = getenv("BUILD");
    snprintf(h_jet, sizeof h_jet, "%s/jet", b && *b ? b : "build");
    if (access(h_jet, X_OK) != 0) {
        fprintf(stderr, "FAIL: no %s: build it first (BUILD=%s)\n", h_jet, b ? b : "");
        exit(1);
    }
    const char *s = getenv("JET_SANITIZED");
    h_sanitized = s && !strcmp(s, "1");
    snprintf(h_pfx, sizeof h_pfx, "%s%d", tag, (int)getpid());
    const char *td = getenv("TMPDIR");
    snprintf(h_tmp, sizeof h_tmp, "%s/jet-%s.XXXXXX", td && *td ? td : "/tmp", tag);
    if (!mkdtemp(h_tmp)) {
        fprintf(stderr, "FAIL: mkdtemp %s: %s\n", h_tmp, strerror(errno));
        exit(1);
    }
    atexit(h_cleanup);
    signal(SIGINT, h_on_signal);
    signal(SIGTERM, h_on_signal);
    signal(SIGPIPE, SIG_IGN);
}

/* ---- children ---- */

struct h_proc {
    pid_t pid;
    char what[400]; /* the command, for messages */
    char out[300], err[300];
    uint64_t t0, bound_ns; /* started at; must have exited by t0 + bound_ns */
    bool done;             /* reaped; status valid */
    bool hung;             /* still running at its bound */
    bool stopped;          /* we sent it SIGTERM / SIGKILL */
    int status;
    double secs; /* how long it ran */
};

static inline const char *h_signame(int sig)
{
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV";
    case SIGBUS:
        return "SIGBUS";
    case SIGFPE:
        return "SIGFPE";
    case SIGABRT:
        return "SIGABRT";
    case SIGILL:
        return "SIGILL";
    case SIGTRAP:
        return "SIGTRAP";
    case SIGKILL:
        return "SIGKILL";
    case SIGTERM:
        return "SIGTERM";
    case SIGPIPE:
        return "SIGPIPE";
    case SIGXFSZ:
        return "SIGXFSZ";
    default:
        return "signal";
    }
}

/* Starts $h_jet with args (NULL-terminated); stdin from in_fd (-1:
 * /dev/null), stdout to file `out`, stderr to file `err` (names in h_tmp). */
static inline void h_start(struct h_proc *p, uint64_t bound_ns, int in_fd, const char *tag,
                           const char *const *args)
{
    memset(p, 0, sizeof *p);
    snprintf(p->out, sizeof p->out, "%s/%s.out", h_tmp, tag);
    snprintf(p->err, sizeof p->err, "%s/%s.err", h_tmp, tag);
    size_t w = (size_t)snprintf(p->what, sizeof p->what, "jet");
    const char *argv[40];
    int n = 0;
    argv[n++] = h_jet;
    for (int i = 0; args[i] && n < 39; i++) {
        argv[n++] = args[i];
        if (w < sizeof p->what)
            w += (size_t)snprintf(p->what + w, sizeof p->what - w, " %s", args[i]);
    }
    argv[n] = NULL;
    fflush(stdout);
    fflush(stderr);
    p->t0 = h_now_ns();
    p->bound_ns = bound_ns;
    /* posix_spawn, not fork: forking a sanitized test copies the page
     * tables of its shadow memory, tens of milliseconds each time.  Every
     * descriptor of the tests is opened close-on-exec. */
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t def;
    posix_spawn_file_actions_init(&fa);
    if (in_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    else
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, p->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, p->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawnattr_init(&at);
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    sigaddset(&def, SIGINT);
    sigaddset(&def, SIGTERM);
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawn(&p->pid, argv[0], &fa, &at, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc) {
        fprintf(stderr, "FAIL: cannot start %s: %s\n", argv[0], strerror(rc));
        exit(1);
    }
    for (int i = 0; i < H_MAXKIDS; i++)
        if (h_kids[i] == 0) {
            h_kids[i] = p->pid;
            break;
        }
}

/* Reaps p if it has exited. Returns whether it is done. */
static inline bool h_poll(struct h_proc *p)
{
    if (p->done || p->pid <= 0)
        return true;
    int st;
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid) {
        p->done = true;
        p->status = st;
        p->secs = (double)(h_now_ns() - p->t0) / 1e9;
        h_forget(p->pid);
    }
    return p->done;
}

/* Waits until p exits or until the absolute time `until`. */
static inline bool h_wait_until(struct h_proc *p, uint64_t until)
{
    /* short naps at first: most commands end within milliseconds */
    for (unsigned n = 0; !h_poll(p) && h_now_ns() < until; n++)
        h_sleep_us(n < 100 ? 200 : 2000);
    return p->done;
}

/* SIGTERM, then SIGKILL after 3 s.  Sets hung if it outlived the SIGTERM. */
static inline void h_stop(struct h_proc *p)
{
    if (h_poll(p))
        return;
    p->stopped = true;
    kill(p->pid, SIGTERM);
    if (h_wait_until(p, h_now_ns() + 3000000000ull))
        return;
    p->hung = true;
    kill(p->pid, SIGKILL);
    while (!h_poll(p))
        h_sleep_us(2000);
}

/* Waits for p up to its bound; a process still running then is a hang. */
static inline void h_finish(struct h_proc *p)
{
    if (h_wait_until(p, p->t0 + p->bound_ns))
        return;
    h_stop(p);
    p->hung = true;
}

static inline char *h_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);
    if (!b)
        abort();
    if (f) {
        size_t r;
        while ((r = fread(b + n, 1, cap - n, f)) > 0) {
            n += r;
            if (n == cap) {
                cap *= 2;
                b = realloc(b, cap + 1);
                if (!b)
                    abort();
            }
        }
        fclose(f);
    }
    b[n] = 0;
    if (len)
        *len = n;
    return b;
}

static inline bool h_has_sanitizer_report(const char *text)
{
    return strstr(text, "ERROR: AddressSanitizer") || strstr(text, "ERROR: LeakSanitizer") ||
           strstr(text, "runtime error: ") || strstr(text, "SUMMARY: UndefinedBehaviorSanitizer") ||
           strstr(text, "ERROR: ThreadSanitizer") || strstr(text, "ERROR: MemorySanitizer");
}

/* First line of file `path` (at most cap-1 bytes), "" if none. */
static inline void h_first_line(const char *path, char *out, size_t cap)
{
    char *t = h_slurp(path, NULL);
    size_t i = 0;
    while (t[i] && t[i] != '\n' && i + 1 < cap) {
        out[i] = isprint((unsigned char)t[i]) ? t[i] : '?';
        i++;
    }
    out[i] = 0;
    free(t);
}

/* Last non-empty line of file `path` (at most cap-1 bytes), "" if none. */
static inline void h_last_line(const char *path, char *out, size_t cap)
{
    char *t = h_slurp(path, NULL);
    size_t n = strlen(t);
    while (n && (t[n - 1] == '\n' || t[n - 1] == '\r'))
        t[--n] = 0;
    char *s = strrchr(t, '\n');
    s = s ? s + 1 : t;
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++)
        out[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
    out[i] = 0;
    free(t);
}

/* Whether the process ended acceptably as a process (no signal of its own,
 * no sanitizer report, not hung).  If not, writes why into why. */
static inline bool h_sane(const struct h_proc *p, char *why, size_t cap)
{
    if (p->hung) {
        snprintf(why, cap, "hang: still running at its bound of %.1f s (stopped by the test)",
                 (double)p->bound_ns / 1e9);
        return false;
    }
    if (WIFSIGNALED(p->status)) {
        int sig = WTERMSIG(p->status);
        if (!(p->stopped && (sig == SIGTERM || sig == SIGKILL))) {
            snprintf(why, cap, "killed by %s (%d)%s", h_signame(sig), sig,
                     WCOREDUMP(p->status) ? ", core dumped" : "");
            return false;
        }
    }
    char *e = h_slurp(p->err, NULL);
    bool san = h_has_sanitizer_report(e);
    free(e);
    if (san) {
        snprintf(why, cap, "sanitizer report on stderr (exit status %d)",
                 WIFEXITED(p->status) ? WEXITSTATUS(p->status) : -1);
        return false;
    }
    if (WIFEXITED(p->status) && (WEXITSTATUS(p->status) == 127 || WEXITSTATUS(p->status) == 126)) {
        snprintf(why, cap, "could not be started (exit %d)", WEXITSTATUS(p->status));
        return false;
    }
    return true;
}

/* Exit code, or -1 if it did not exit by itself. */
static inline int h_rc(const struct h_proc *p)
{
    return p->done && WIFEXITED(p->status) ? WEXITSTATUS(p->status) : -1;
}

/* Prints the command's stderr (and stdout), indented and clipped. */
static inline void h_dump(const struct h_proc *p)
{
    const char *files[2] = {p->err, p->out};
    const char *names[2] = {"stderr", "stdout"};
    for (int k = 0; k < 2; k++) {
        char *t = h_slurp(files[k], NULL);
        if (t[0]) {
            printf("      %s:\n", names[k]);
            int lines = 0;
            for (char *s = t; *s && lines < 12; lines++) {
                char *nl = strchr(s, '\n');
                int n = nl ? (int)(nl - s) : (int)strlen(s);
                printf("      | %.*s\n", n > 200 ? 200 : n, s);
                s = nl ? nl + 1 : s + n;
            }
        }
        free(t);
    }
}

/* ---- checks on output ---- */

/* A small JSON validator (RFC 8259 grammar, no semantic checks). */
static inline void h_js_ws(const char **s)
{
    while (**s == ' ' || **s == '\t' || **s == '\n' || **s == '\r')
        (*s)++;
}

static inline bool h_js_value(const char **s, int depth);

static inline bool h_js_string(const char **s)
{
    if (**s != '"')
        return false;
    (*s)++;
    while (**s != '"') {
        unsigned char c = (unsigned char)**s;
        if (c < 0x20)
            return false;
        if (c == '\\') {
            (*s)++;
            if (**s == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!isxdigit((unsigned char)(*s)[i]))
                        return false;
                *s += 4;
            } else if (!strchr("\"\\/bfnrt", **s) || !**s) {
                return false;
            }
        }
        (*s)++;
    }
    (*s)++;
    return true;
}

static inline bool h_js_number(const char **s)
{
    const char *p = *s;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (isdigit((unsigned char)*p))
            p++;
    else
        return false;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    *s = p;
    return true;
}

static inline bool h_js_value(const char **s, int depth)
{
    if (depth > 64)
        return false;
    h_js_ws(s);
    char c = **s;
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        (*s)++;
        h_js_ws(s);
        if (**s == close) {
            (*s)++;
            return true;
        }
        for (;;) {
            if (c == '{') {
                h_js_ws(s);
                if (!h_js_string(s))
                    return false;
                h_js_ws(s);
                if (**s != ':')
                    return false;
                (*s)++;
            }
            if (!h_js_value(s, depth + 1))
                return false;
            h_js_ws(s);
            if (**s == ',') {
                (*s)++;
                continue;
            }
            if (**s != close)
                return false;
            (*s)++;
            return true;
        }
    }
    if (c == '"')
        return h_js_string(s);
    if (!strncmp(*s, "true", 4) || !strncmp(*s, "null", 4)) {
        *s += 4;
        return true;
    }
    if (!strncmp(*s, "false", 5)) {
        *s += 5;
        return true;
    }
    return h_js_number(s);
}

/* Whether text is exactly one JSON value (and white space). */
static inline bool h_json_valid(const char *text)
{
    const char *s = text;
    if (!h_js_value(&s, 0))
        return false;
    h_js_ws(&s);
    return *s == 0;
}

/* The number after "key": in compact JSON (jet's), searched from `from`. */
static inline bool h_json_num(const char *from, const char *key, double *v)
{
    char k[80];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = strstr(from, k);
    if (!p)
        return false;
    p += strlen(k);
    while (*p == ' ')
        p++;
    char *end;
    *v = strtod(p, &end);
    return end != p;
}

/* ---- files ---- */

/* Compares file `path` with want[0..n): returns the number of differing
 * bytes (counting a length difference), *first the first differing offset. */
static inline uint64_t h_cmp_file(const char *path, const uint8_t *want, size_t n, size_t *got_len,
                                  uint64_t *first)
{
    size_t len;
    char *t = h_slurp(path, &len);
    uint64_t diff = 0;
    *first = UINT64_MAX;
    size_t m = len < n ? len : n;
    for (size_t i = 0; i < m; i++)
        if ((uint8_t)t[i] != want[i]) {
            if (*first == UINT64_MAX)
                *first = i;
            diff++;
        }
    if (len != n) {
        if (*first == UINT64_MAX)
            *first = m;
        diff += len > n ? len - n : n - len;
    }
    *got_len = len;
    free(t);
    return diff;
}

/* Whether another open file description holds the lock on byte `byte` of
 * the file fd refers to (a LAN station is attached: docs/lan.md). */
static inline bool h_locked(int fd, unsigned byte)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1};
    if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
        return false;
    return fl.l_type != F_UNLCK;
}

static inline bool h_file_contains(const char *path, const char *s)
{
    char *t = h_slurp(path, NULL);
    bool r = strstr(t, s) != NULL;
    free(t);
    return r;
}

/* The pool's region header.  src/core/pool.c keeps struct jet_pool_region
 * private; this mirrors its first words.  The tests check the mirror against
 * a freshly made segment before they use it. */
struct h_pool_hdr {
    uint64_t magic;
    uint32_t layout, nbufs, buf_size, pad;
    uint64_t owner_off, len_off, data_off;
    uint64_t allocs, frees, alloc_fails, reclaimed; /* at offset 64 */
};
#define H_POOL_MAGIC        0x4a4554504f4f4c31ull /* "JETPOOL1" */
#define H_POOL_COUNTERS_OFF 64u

/* xorshift64*: the tests' seeded generator. */
static inline uint64_t h_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

#endif
