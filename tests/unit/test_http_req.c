/* HTTP/1.1 request heads (src/app/http_req.h), table-driven: each case is a byte
 * stream and the requests http_req_next must make of it, in order ("status close head
 * path" per request, 404-free: the path is what the caller would route).  Every case
 * runs three ways: fed whole, fed byte by byte (next called after each byte), and fed
 * in chunks of 7; all three must give the same answers.  Then the size bounds: a head
 * of exactly HTTP_REQ_MAX bytes is answered, one byte more is a 431 that empties the
 * buffer, and the parser goes on with the request after it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/http_req.h"
#include "check.h"

struct tcase {
    const char *name;
    const char *in;
    const char *want; /* "200 keep head=0 /path;..." per request; 0 is written "200" */
};

static const struct tcase cases[] = {
    {"GET 1.1", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "200 keep 0 /;"},
    {"HEAD", "HEAD /stats.json HTTP/1.1\r\nHost: x\r\n\r\n", "200 keep 1 /stats.json;"},
    {"LF only", "GET /a HTTP/1.1\nHost: x\n\n", "200 keep 0 /a;"},
    {"query cut", "GET /stats.json?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", "200 keep 0 /stats.json;"},
    {"absolute form", "GET http://h.example/p?q HTTP/1.1\r\nHost: h\r\n\r\n", "200 keep 0 /p;"},
    {"absolute no path", "GET http://h.example HTTP/1.1\r\nHost: h\r\n\r\n", "200 keep 0 /;"},
    {"1.0 closes", "GET / HTTP/1.0\r\n\r\n", "200 close 0 /;"},
    {"1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "200 keep 0 /;"},
    {"close", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "200 close 0 /;"},
    {"close in list", "GET / HTTP/1.1\r\nHost: x\r\nconnection: foo, close\r\n\r\n",
     "200 close 0 /;"},
    {"not a token", "GET / HTTP/1.1\r\nHost: x\r\nConnection: closed\r\n\r\n", "200 keep 0 /;"},
    {"blank lines first", "\r\n\r\n\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", "200 keep 0 /;"},
    {"pipelined",
     "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: x\r\n\r\n"
     "GET /3 HTTP/1.0\r\n\r\nGET /4 HTTP/1.1\r\nHost: x\r\n",
     "200 keep 0 /1;200 keep 1 /2;200 close 0 /3;"},
    {"body by length", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
     "200 close 0 /;"},
    {"length 0", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 000\r\n\r\n", "200 keep 0 /;"},
    {"chunked", "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
     "200 close 0 /;"},
    {"bad length", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", "400 close 0 -;"},
    {"negative length", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
     "400 close 0 -;"},
    {"no Host", "GET / HTTP/1.1\r\n\r\n", "400 close 0 -;"},
    {"HEAD no Host", "HEAD / HTTP/1.1\r\n\r\n", "400 close 1 -;"},
    {"no spaces", "GARBAGE\r\n\r\n", "400 close 0 -;"},
    {"one space", "GET /\r\n\r\n", "400 close 0 -;"},
    {"empty target", "GET  HTTP/1.1\r\nHost: x\r\n\r\n", "400 close 0 -;"},
    {"lower-case method", "get / HTTP/1.1\r\nHost: x\r\n\r\n", "400 close 0 -;"},
    {"bad version", "GET / HTTP/1.2\r\nHost: x\r\n\r\n", "400 close 0 -;"},
    {"not HTTP", "GET / FTP/1.1\r\nHost: x\r\n\r\n", "400 close 0 -;"},
    {"HTTP/2", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", "505 close 0 -;"},
    {"HEAD HTTP/3", "HEAD / HTTP/3.0\r\n\r\n", "505 close 1 -;"},
    {"folding", "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", "400 close 0 -;"},
    {"no colon", "GET / HTTP/1.1\r\nHost x\r\n\r\n", "400 close 0 -;"},
    {"POST", "POST / HTTP/1.1\r\nHost: x\r\n\r\n", "405 keep 0 -;"},
    {"POST with body", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
     "405 close 0 -;"},
    {"DELETE 1.0", "DELETE /x HTTP/1.0\r\n\r\n", "405 close 0 -;"},
    {"error then more", "BAD\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
     "400 close 0 -;200 keep 0 /;"},
    {"incomplete", "GET / HTTP/1.1\r\nHost: x\r\n", ""},
    {"nothing", "", ""},
};

/* One answer as the table writes it. */
static void describe(const struct http_req *r, char *b, size_t n)
{
    char path[64] = "-";
    if (!r->error)
        snprintf(path, sizeof path, "%.*s", (int)r->path_len, r->path);
    snprintf(b, n, "%d %s %d %s;", r->error ? r->error : 200, r->close ? "close" : "keep",
             r->head, path);
}

/* Feeds in[0, n) in chunks of `step` (0: whole), taking every request after each;
 * the answers go to out. */
static void run(const char *in, size_t n, size_t step, char *out, size_t cap)
{
    static struct http_req_parser q;
    http_req_init(&q);
    out[0] = 0;
    size_t off = 0;
    do {
        size_t k = step && n - off > step ? step : n - off;
        size_t took = http_req_feed(&q, in + off, k);
        off += took;
        struct http_req r;
        while (http_req_next(&q, &r) == 1) {
            char d[128];
            describe(&r, d, sizeof d);
            strncat(out, d, cap - strlen(out) - 1);
        }
        if (!took && k)
            break; /* full without a head: cannot happen (next makes room) */
    } while (off < n);
}

static void test_table(void)
{
    static char a[4096], b[4096], c[4096];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct tcase *t = &cases[i];
        size_t n = strlen(t->in);
        run(t->in, n, 0, a, sizeof a);
        run(t->in, n, 1, b, sizeof b);
        run(t->in, n, 7, c, sizeof c);
        if (strcmp(a, t->want) || strcmp(b, t->want) || strcmp(c, t->want))
            fprintf(stderr, "%s: want '%s', whole '%s', bytewise '%s', by 7 '%s'\n", t->name,
                    t->want, a, b, c);
        CHECK(!strcmp(a, t->want));
        CHECK(!strcmp(b, t->want));
        CHECK(!strcmp(c, t->want));
    }
}

/* A request whose head is exactly len bytes (a padding header makes it up). */
static char *head_of(size_t len)
{
    const char *pre = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ", *post = "\r\n\r\n";
    size_t fixed = strlen(pre) + strlen(post);
    char *b = malloc(len + 1);
    REQUIRE(b && len > fixed);
    memcpy(b, pre, strlen(pre));
    memset(b + strlen(pre), 'a', len - fixed);
    memcpy(b + len - strlen(post), post, strlen(post) + 1);
    return b;
}

static void test_bounds(void)
{
    static char out[4096];
    char *fit = head_of(HTTP_REQ_MAX), *over1 = head_of(HTTP_REQ_MAX + 1);
    char *over = head_of(HTTP_REQ_MAX + 100);
    for (size_t step = 0; step <= 1; step++) {
        run(fit, strlen(fit), step, out, sizeof out);
        CHECK(!strcmp(out, "200 keep 0 /;"));
        /* one byte too long: the buffer fills without the last LF: 431, and the LF
         * left over is an empty line */
        run(over1, strlen(over1), step, out, sizeof out);
        CHECK(!strcmp(out, "431 close 0 -;"));
        /* 100 bytes too long: after the 431 the rest of the padding line up to the
         * empty line is a request line of its own, and malformed: 400 */
        run(over, strlen(over), step, out, sizeof out);
        if (strcmp(out, "431 close 0 -;400 close 0 -;"))
            fprintf(stderr, "over (step %zu): '%s'\n", step, out);
        CHECK(!strcmp(out, "431 close 0 -;400 close 0 -;"));
    }
    free(fit);
    free(over1);
    free(over);

    /* 20 kB of headers, as the shell test sends: one 431, nothing after the first
     * buffer is taken for a request until the stream shows a head again */
    static struct http_req_parser q;
    http_req_init(&q);
    size_t room;
    char *p = http_req_room(&q, &room);
    CHECK_EQ(room, (size_t)HTTP_REQ_MAX);
    memset(p, 'a', room);
    http_req_fill(&q, room);
    CHECK(http_req_room(&q, &room) == p + HTTP_REQ_MAX);
    CHECK_EQ(room, 0);
    struct http_req r;
    CHECK_EQ(http_req_next(&q, &r), 1);
    CHECK_EQ(r.error, 431);
    CHECK(r.close && !r.head);
    CHECK_EQ(http_req_buffered(&q), 0);
    CHECK_EQ(http_req_next(&q, &r), 0);

    /* pipelined requests stay: buffered counts what is left after the one taken */
    http_req_init(&q);
    const char *two = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b";
    CHECK_EQ(http_req_feed(&q, two, strlen(two)), strlen(two));
    CHECK_EQ(http_req_next(&q, &r), 1);
    CHECK(r.path_len == 2 && !memcmp(r.path, "/a", 2));
    CHECK_EQ(r.len, strlen("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK_EQ(http_req_buffered(&q), 6);
    CHECK_EQ(http_req_next(&q, &r), 0);
}

static void test_fields(void)
{
    struct http_req r;
    const char *h = "HEAD http://x/y?z HTTP/1.0\r\nHost: x\r\n\r\n";
    http_req_parse(h, strlen(h), &r);
    CHECK_EQ(r.error, 0);
    CHECK(r.head && r.close && r.host && !r.body);
    CHECK_EQ(r.minor, 0);
    CHECK(r.method_len == 4 && !memcmp(r.method, "HEAD", 4));
    CHECK(r.target_len == 12 && !memcmp(r.target, "http://x/y?z", 12));
    CHECK(r.path_len == 2 && !memcmp(r.path, "/y", 2));
    CHECK(!strcmp(http_reason(431), "Request Header Fields Too Large"));
    CHECK(!strcmp(http_reason(505), "HTTP Version Not Supported"));
}

int main(void)
{
    test_table();
    test_bounds();
    test_fields();
    return check_done("http_req");
}
