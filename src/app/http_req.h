/* HTTP/1.1 request heads, sans-I/O: the request parsing of jet host's HTTP server
 * (tools/jet/host_http.c, docs/host-services.md), with no sockets, no clock and no
 * allocation.  The parser holds the bytes of one connection's requests in a fixed
 * buffer of HTTP_REQ_MAX bytes; the caller reads into it and asks for the next
 * request head.
 *
 * Who calls what
 *   bytes can be read:     p = http_req_room(q, &room); read up to room bytes into p;
 *                          http_req_fill(q, n)     (or http_req_feed to copy them in)
 *   after any of those:    while (http_req_next(q, &r) == 1) answer r
 *   the peer ended:        what http_req_buffered(q) still holds is a partial request
 *                          (jet host drops it)
 *
 * What http_req_next decides (RFC 9112, as jet host has always answered):
 *   - empty lines before a request are skipped (RFC 9112 2.2);
 *   - a head is the request line and the header lines through the first empty line
 *     (LF or CRLF line ends);
 *   - 400: a request line that is not METHOD SP TARGET SP VERSION, a method that is not
 *     upper-case letters, a version that is not HTTP/<digit>..., a header line that
 *     starts with white space (obsolete folding) or has no colon, a Content-Length that
 *     is not digits, HTTP/1.1 without Host;
 *   - 505: HTTP/2 to HTTP/9;
 *   - 405: a method other than GET and HEAD (its answer carries Allow: GET, HEAD);
 *   - 431: HTTP_REQ_MAX bytes buffered without a whole head: the buffer is emptied;
 *   - keep-alive is HTTP/1.1's default and HTTP/1.0's with "Connection: keep-alive";
 *     "Connection: close" ends it; a request with a body (Content-Length other than
 *     0, or any Transfer-Encoding) is answered and the connection closed, since the
 *     body is not read; every error closes but 405, which follows these rules
 *     (as does the caller's 404).
 *
 * Buffer lifetimes: the pointers in a struct http_req point into the parser's buffer
 * and stay valid until the next call on the parser. */
#ifndef JET_APP_HTTP_REQ_H
#define JET_APP_HTTP_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    HTTP_REQ_MAX = 8 << 10, /* request line and headers, at most */
};

/* One request head as http_req_next decided it. */
struct http_req {
    int error;          /* 0 (answer it), or the status it gets: 400, 405, 431, 505 */
    bool head;          /* the response goes without its body (HEAD, and some errors) */
    bool close;         /* close the connection once the response is sent */
    bool body;          /* the request announced a body (not read) */
    bool host;          /* a Host header was there */
    uint8_t minor;      /* HTTP/1.minor (0 or 1; 0 when the version was not understood) */
    const char *method; /* with error 0 or 405: "GET", "HEAD" or the other method */
    size_t method_len;
    const char *target; /* with error 0: the request target as sent */
    size_t target_len;
    const char *path;   /* with error 0: the target's path (origin form, or the path
                           of an absolute-form target), without the query */
    size_t path_len;
    size_t len;         /* bytes of the head (request line through the empty line) */
};

struct http_req_parser {
    size_t len;   /* bytes buffered */
    size_t taken; /* bytes of the head http_req_next last returned, dropped next call */
    size_t scan;  /* where the search for the head's end resumes */
    char buf[HTTP_REQ_MAX];
};

void http_req_init(struct http_req_parser *q);
/* Where to put bytes read, and how many fit (0 when the buffer is full: call
 * http_req_next, which answers 431 to a full buffer without a head). */
char *http_req_room(struct http_req_parser *q, size_t *room);
/* n bytes were written at http_req_room's pointer (n <= room). */
void http_req_fill(struct http_req_parser *q, size_t n);
/* Copies up to n bytes in; returns how many fit. */
size_t http_req_feed(struct http_req_parser *q, const void *p, size_t n);
/* 1: *r is the next request head (or the error it gets), taken off the buffer with
 * the next call; 0: no whole head yet (read more). */
int http_req_next(struct http_req_parser *q, struct http_req *r);
/* Bytes buffered that no request returned so far has taken. */
size_t http_req_buffered(struct http_req_parser *q);

/* Parses the request head h[0, n) (through its empty line, which must be there)
 * into *r, as http_req_next does.  For tests and the fuzz target. */
void http_req_parse(const char *h, size_t n, struct http_req *r);

/* The reason phrase of status code (those jet host sends). */
const char *http_reason(int code);

#endif
