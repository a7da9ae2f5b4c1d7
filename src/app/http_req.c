/* HTTP/1.1 request heads, sans-I/O (http_req.h).  The order things run in:
 *   http_req_room / http_req_fill / http_req_feed   bytes in, at the buffer's end
 *   http_req_next: settle() drops the head returned last and the empty lines before
 *     the next one; find_head() looks for the empty line that ends a head (resuming
 *     where the last look stopped, so bytes arriving one at a time cost linear time);
 *     http_req_parse() decides the head; a full buffer with no head is a 431. */
#include "app/http_req.h"

#include <string.h>
#include <strings.h>

const char *http_reason(int code)
{
    switch (code) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 505: return "HTTP Version Not Supported";
    default: return "Internal Server Error";
    }
}

/* Whether header line l (len n, no line end) is "name: value" with this name; the
 * value (trimmed of blanks) in *v, *vn. */
static bool header_is(const char *l, size_t n, const char *name, const char **v, size_t *vn)
{
    size_t k = strlen(name);
    if (n <= k || l[k] != ':' || strncasecmp(l, name, k))
        return false;
    const char *p = l + k + 1, *e = l + n;
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *v = p;
    *vn = (size_t)(e - p);
    return true;
}

/* Whether the comma/space separated list v[0, n) has token tok (any case). */
static bool has_token(const char *v, size_t n, const char *tok)
{
    size_t k = strlen(tok);
    for (size_t i = 0; i + k <= n; i++)
        if (!strncasecmp(v + i, tok, k) && (i == 0 || v[i - 1] == ',' || v[i - 1] == ' ') &&
            (i + k == n || v[i + k] == ',' || v[i + k] == ' '))
            return true;
    return false;
}

/* The error code the request gets; its response goes without a body if head. */
static int fail(struct http_req *r, int code, bool head)
{
    r->error = code;
    r->head = head;
    return code;
}

static int parse(const char *req, size_t n, struct http_req *r)
{
    r->len = n;
    r->close = true; /* every error before the headers are read closes */

    /* the request line */
    const char *eol = memchr(req, '\n', n);
    if (!eol)
        return fail(r, 400, false); /* not a head: http_req_next never passes one */
    size_t ll = (size_t)(eol - req);
    if (ll && req[ll - 1] == '\r')
        ll--;
    const char *sp1 = memchr(req, ' ', ll);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', ll - (size_t)(sp1 + 1 - req)) : NULL;
    if (!sp1 || !sp2 || sp1 == req || sp2 == sp1 + 1)
        return fail(r, 400, false);
    size_t ml = (size_t)(sp1 - req), tl = (size_t)(sp2 - sp1 - 1);
    size_t vl = ll - (size_t)(sp2 + 1 - req);
    const char *target = sp1 + 1, *ver = sp2 + 1;
    bool head = ml == 4 && !memcmp(req, "HEAD", 4), get = ml == 3 && !memcmp(req, "GET", 3);
    for (size_t i = 0; i < ml; i++)
        if (req[i] < 'A' || req[i] > 'Z')
            return fail(r, 400, false);
    r->method = req;
    r->method_len = ml;
    if (vl == 8 && !memcmp(ver, "HTTP/1.", 7) && (ver[7] == '0' || ver[7] == '1'))
        r->minor = (uint8_t)(ver[7] - '0');
    else if (vl >= 8 && !memcmp(ver, "HTTP/", 5) && ver[5] >= '2' && ver[5] <= '9')
        return fail(r, 505, head);
    else
        return fail(r, 400, head);

    /* the headers */
    bool keep = r->minor == 1;
    const char *p = eol + 1, *end = req + n;
    while (p < end) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e)
            return fail(r, 400, head); /* no empty line: not a head */
        size_t len = (size_t)(e - p);
        if (len && p[len - 1] == '\r')
            len--;
        if (!len)
            break; /* the empty line */
        const char *v;
        size_t vn;
        if (*p == ' ' || *p == '\t' || !memchr(p, ':', len))
            return fail(r, 400, head); /* obsolete folding, or no colon */
        if (header_is(p, len, "Host", &v, &vn)) {
            r->host = true;
        } else if (header_is(p, len, "Connection", &v, &vn)) {
            if (has_token(v, vn, "close"))
                keep = false;
            else if (has_token(v, vn, "keep-alive"))
                keep = true;
        } else if (header_is(p, len, "Content-Length", &v, &vn)) {
            for (size_t i = 0; i < vn; i++)
                if (v[i] < '0' || v[i] > '9')
                    return fail(r, 400, head);
            for (size_t i = 0; i < vn; i++)
                r->body |= v[i] != '0';
        } else if (header_is(p, len, "Transfer-Encoding", &v, &vn)) {
            r->body = true;
        }
        p = e + 1;
    }
    if (r->minor == 1 && !r->host)
        return fail(r, 400, head);
    r->close = !keep || r->body; /* a body is not read: close after the answer */
    if (!get && !head)
        return fail(r, 405, false);
    r->head = head;

    /* the target: origin form, or absolute form (its path) */
    r->target = target;
    r->target_len = tl;
    size_t pl = tl;
    const char *path = target;
    if (tl > 7 && !strncasecmp(target, "http://", 7)) {
        const char *slash = memchr(target + 7, '/', tl - 7);
        path = slash ? slash : "/";
        pl = slash ? tl - (size_t)(slash - target) : 1;
    }
    const char *q = memchr(path, '?', pl);
    if (q)
        pl = (size_t)(q - path);
    r->path = path;
    r->path_len = pl;
    return 0;
}

void http_req_parse(const char *req, size_t n, struct http_req *r)
{
    memset(r, 0, sizeof *r);
    parse(req, n, r);
}

/* Drops the head returned last, then the empty lines before the next request. */
static void settle(struct http_req_parser *q)
{
    size_t d = q->taken;
    while (d < q->len && (q->buf[d] == '\r' || q->buf[d] == '\n'))
        d++;
    if (!d)
        return;
    memmove(q->buf, q->buf + d, q->len - d);
    q->len -= d;
    q->taken = 0;
    q->scan = 0;
}

/* The length of the head at the start of the buffer (through the empty line), 0
 * while incomplete. */
static size_t find_head(struct http_req_parser *q)
{
    const char *b = q->buf;
    for (size_t i = q->scan; i + 1 < q->len; i++) {
        if (b[i] != '\n')
            continue;
        if (b[i + 1] == '\n')
            return i + 2;
        if (i + 2 < q->len && b[i + 1] == '\r' && b[i + 2] == '\n')
            return i + 3;
    }
    q->scan = q->len > 2 ? q->len - 2 : 0; /* a '\n' from here may still end a head */
    return 0;
}

void http_req_init(struct http_req_parser *q)
{
    q->len = q->taken = q->scan = 0;
}

char *http_req_room(struct http_req_parser *q, size_t *room)
{
    settle(q);
    *room = HTTP_REQ_MAX - q->len;
    return q->buf + q->len;
}

void http_req_fill(struct http_req_parser *q, size_t n)
{
    q->len += n;
}

size_t http_req_feed(struct http_req_parser *q, const void *p, size_t n)
{
    size_t room;
    char *d = http_req_room(q, &room);
    if (n > room)
        n = room;
    memcpy(d, p, n);
    q->len += n;
    return n;
}

int http_req_next(struct http_req_parser *q, struct http_req *r)
{
    settle(q);
    size_t hl = find_head(q);
    if (hl) {
        http_req_parse(q->buf, hl, r);
        q->taken = hl;
        return 1;
    }
    if (q->len < HTTP_REQ_MAX)
        return 0;
    memset(r, 0, sizeof *r);
    r->error = 431;
    r->close = true;
    q->len = q->scan = 0;
    return 1;
}

size_t http_req_buffered(struct http_req_parser *q)
{
    settle(q);
    return q->len;
}
