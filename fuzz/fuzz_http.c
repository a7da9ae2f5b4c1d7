/* Fuzz target: the HTTP/1.1 request parser (src/app/http_req.h).  The input:
 *   byte 0      how the stream is fed: 0 whole (as much as fits at a time), else in
 *               chunks of that many bytes
 *   byte 1      the rest is repeated 1 + (byte 1 % 8) times (long streams reach the
 *               431 bound from short inputs)
 *   the rest    the bytes of one connection
 * The stream is fed three ways: as byte 0 says, byte by byte, and whole.
 * Invariants: the three give the same requests in the same order (a request does not
 * depend on how its bytes were split across reads); each result is one of the
 * parser's codes with its rules (every error but 405 closes; 431 only when the
 * buffer filled; a 0 is GET or HEAD with a path inside its target); pointers stay in
 * the parser's buffer; bytes taken never exceed bytes fed; http_req_parse on the raw
 * input, head or not, stays in bounds (ASan checks the rest). */
#include <string.h>

#include "app/http_req.h"
#include "fuzz.h"

enum { STREAM_MAX = 32 << 10 };

static struct http_req_parser q;
static uint8_t stream[STREAM_MAX];

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

static bool in_buf(const char *p, size_t n)
{
    return p >= q.buf && p + n <= q.buf + HTTP_REQ_MAX;
}

/* Checks r and folds it into the hash. */
static uint64_t take(const struct http_req *r, uint64_t h)
{
    MUST(r->error == 0 || r->error == 400 || r->error == 405 || r->error == 431 ||
         r->error == 505);
    MUST(r->close || r->error == 0 || r->error == 405);
    MUST(r->len <= HTTP_REQ_MAX);
    if (r->error == 431)
        MUST(r->len == 0);
    else
        MUST(r->len >= 2 && in_buf(q.buf, r->len));
    if (r->error == 0 || r->error == 405) {
        MUST(in_buf(r->method, r->method_len) && r->method_len > 0);
        for (size_t i = 0; i < r->method_len; i++)
            MUST(r->method[i] >= 'A' && r->method[i] <= 'Z');
    }
    if (r->error == 0) {
        MUST((r->method_len == 3 && !memcmp(r->method, "GET", 3)) ||
             (r->method_len == 4 && !memcmp(r->method, "HEAD", 4)));
        MUST(r->head == (r->method_len == 4));
        MUST(in_buf(r->target, r->target_len) && r->target_len > 0);
        MUST(r->path_len <= r->target_len);
        MUST(in_buf(r->path, r->path_len) || (r->path_len == 1 && r->path[0] == '/'));
        MUST(r->minor <= 1 && (r->minor == 0 || r->host));
        for (size_t i = 0; i < r->path_len; i++)
            h = mix(h, (uint8_t)r->path[i]);
    }
    h = mix(h, (uint64_t)r->error << 16 | (uint64_t)r->close << 8 | r->head);
    return mix(h, r->len);
}

/* Feeds stream[0, n) in chunks of step (0: as much as fits); a hash of the requests. */
static uint64_t feed(size_t n, size_t step, unsigned *count)
{
    http_req_init(&q);
    uint64_t h = 0;
    size_t off = 0, taken = 0;
    *count = 0;
    for (;;) {
        struct http_req r;
        while (http_req_next(&q, &r) == 1) {
            h = take(&r, h);
            taken += r.len;
            ++*count;
        }
        MUST(taken + http_req_buffered(&q) <= off);
        if (off == n)
            return h;
        size_t k = step && n - off > step ? step : n - off;
        size_t room;
        char *p = http_req_room(&q, &room);
        MUST(room > 0 && room <= HTTP_REQ_MAX && in_buf(p, room));
        if (k > room)
            k = room;
        memcpy(p, stream + off, k);
        http_req_fill(&q, k);
        off += k;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t step = data[0], reps = 1 + data[1] % 8, len = size - 2, n = 0;
    for (size_t i = 0; i < reps && n + len <= STREAM_MAX; i++, n += len)
        memcpy(stream + n, data + 2, len);

    unsigned c1, c2, c3;
    uint64_t h1 = feed(n, step, &c1), h2 = feed(n, 1, &c2), h3 = feed(n, 0, &c3);
    MUST(h1 == h2 && h2 == h3 && c1 == c2 && c2 == c3);

    /* the parser on bytes that need not be a head */
    struct http_req r;
    http_req_parse((const char *)data + 2, len, &r);
    MUST(r.error != 431);
    return 0;
}

size_t jet_fuzz_seed(unsigned i, uint8_t *buf, size_t cap)
{
    static const char *const seeds[] = {
        "GET / HTTP/1.1\r\nHost: x\r\n\r\nHEAD /stats.json?x HTTP/1.1\r\nHost: x\r\n"
        "Connection: close\r\n\r\n",
        "\r\nGET http://h/p HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"
        "POST / HTTP/1.1\r\nHost: y\r\nContent-Length: 3\r\n\r\nabc",
        "GET / HTTP/2.0\r\n\r\nget / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n folded\r\n\n\n"
        "GET / HTTP/1.1\nHost: z\nTransfer-Encoding: chunked\n\n",
    };
    if (i > 3 || cap < 1100)
        return 0;
    if (i == 3) { /* a long header line, repeated: reaches 431 */
        static const char pre[] = "GET / HTTP/1.1\r\nX-Pad: ";
        buf[0] = 0;
        buf[1] = 7;
        memcpy(buf + 2, pre, sizeof pre - 1);
        memset(buf + 2 + sizeof pre - 1, 'a', 1000);
        return 2 + sizeof pre - 1 + 1000;
    }
    size_t n = strlen(seeds[i]);
    buf[0] = (uint8_t)(i * 5); /* whole, by 5, by 10 */
    buf[1] = (uint8_t)i;
    memcpy(buf + 2, seeds[i], n);
    return n + 2;
}
