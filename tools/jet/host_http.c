/* jet host's HTTP/1.1 server (TCP port 80) and its status page: the host's counters
 * as HTML at / and as JSON at /stats.json.  docs/host-services.md.
 *
 * One struct http_conn per connection, driven by http_step() from host_tcp.c's round
 * without waiting:
 *   1. send what is left of the response being sent; while some is left, read
 *      nothing more (a client that does not read holds one response, no more);
 *   2. a whole request head in the parser (src/app/http_req.h, which decides the
 *      request and its errors 400, 405, 431 and 505, and keep-alive): answer it into
 *      the output (pipelined requests behind it stay in the parser);
 *   3. else read more into the parser, at most HTTP_REQ_MAX bytes of request in all:
 *      a request head that does not fit gets 431 and the connection closes.
 * GET and HEAD of / (or /index.html) and /stats.json, else 404; every response has a
 * Content-Length.  A connection idle for IDLE_NS between requests is closed. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/http_req.h"
#include "app/iperf3_srv.h"
#include "cli.h"
#include "host_svc.h"
#include "jet/ip.h"
#include "util/clock.h"

enum {
    CONNS_SHOWN = 256, /* connections listed on the status page, at most */
};
#define IDLE_NS 60000000000ull

struct http_conn {
    struct http_req_parser in;
    char *out; /* the response being sent: out[ooff, olen) is left */
    size_t olen, ooff;
    bool close_after; /* close once out is sent */
};

struct http_conn *http_conn_new(void)
{
    struct http_conn *h = calloc(1, sizeof(struct http_conn));
    if (h)
        http_req_init(&h->in);
    return h;
}

void http_conn_free(struct http_conn *h)
{
    if (h)
        free(h->out);
    free(h);
}

/* ---- the status page ---- */

#define IP_FIELDS(X)                                                                        \
    X(eth_not_mine) X(eth_other) X(arp_in) X(arp_bad) X(arp_requests_out) X(arp_replies_out) \
    X(arp_unresolved) X(arp_queue_drops) X(ip_in) X(ip_bad) X(ip_not_mine) X(ip_out)         \
    X(ip_no_route) X(frag_out) X(frag_in) X(reasm_ok) X(reasm_timeout) X(reasm_overlap)      \
    X(reasm_dup) X(reasm_drop) X(icmp_in) X(icmp_bad) X(echo_replies_out) X(unreach_out)     \
    X(icmp_rate_limited) X(icmp_errors_in) X(proto_unknown)
#define UDP_FIELDS(X) X(udp_in) X(udp_out) X(udp_bad) X(udp_no_port) X(udp_queue_drops)
#define TCP_HOST_FIELDS(X)                                                                  \
    X(active_opens) X(passive_opens) X(failed_opens) X(resets_sent_closed_port)              \
    X(syn_backlog_drops) X(syn_cookies_sent) X(syn_cookies_ok) X(syn_cookies_bad)            \
    X(conns_open) X(listeners) X(segs_in) X(segs_out) X(malformed) X(csum_bad)
#define STATION_FIELDS(X)                                                                   \
    X(frames_in) X(dropped_header) X(dropped_no_chan) X(dropped_not_mine) X(dropped_other)   \
    X(channels)
#define SVC_FIELDS(X) X(accepted) X(closed) X(aborted) X(refused_full) X(errors) X(bytes_in) X(bytes_out)
#define INFO_FIELDS(X)                                                                      \
    X(snd_mss) X(rcv_mss) X(snd_wscale) X(rcv_wscale) X(srtt_ns) X(rttvar_ns) X(rto_ns)      \
    X(min_rtt_ns) X(cwnd) X(ssthresh) X(snd_wnd) X(rcv_wnd) X(bytes_in) X(bytes_out)         \
    X(bytes_acked) X(segs_in) X(segs_out) X(retransmits) X(retrans_bytes)                    \
    X(fast_retransmits) X(lost_retransmits) X(timeouts) X(tlp_probes) X(rack_losses)         \
    X(dup_acks) X(sack_blocks_in) X(dsack_in) X(sack_blocks_out) X(dup_segs) X(ooo_segs)     \
    X(ooo_dropped) X(window_drops) X(challenge_acks) X(paws_drops) X(csum_bad) X(malformed)  \
    X(rst_in) X(rst_out) X(keepalive_probes) X(zero_wnd_probes) X(delayed_acks)              \
    X(quick_acks) X(sink_bytes) X(sink_writes)

/* Everything the page shows, read once per request. */
struct snap {
    struct jet_ip_cfg cfg;
    struct jet_ip_stats ip;
    struct jet_station_stats st;
    struct jet_tcp_host_stats tcp;
    bool has_tcp;
    double uptime;
};

static void take(struct tcp_svc *t, struct snap *s)
{
    memset(s, 0, sizeof *s);
    jet_ip_config(t->s, &s->cfg);
    jet_ip_stats(t->s, &s->ip);
    jet_station_stats(t->s, &s->st);
    s->has_tcp = jet_tcp_host_stats(t->s, &s->tcp) == 0;
    s->uptime = (double)(jet_now_ns() - t->started_ns) / 1e9;
}

static const char *endpoint(uint32_t a, uint16_t p, char b[24])
{
    char ip[16];
    snprintf(b, 24, "%s:%u", jet_ip_format(a, ip), p);
    return b;
}

static void conn_json(struct json *j, const struct tconn *k, uint64_t now)
{
    struct jet_tcp_info i;
    char b[24];
    jet_tcp_info(k->c, &i);
    json_obj(j, NULL);
    json_str(j, "service", tsvc_def[k->svc].name);
    json_str(j, "state", i.state ? i.state : "?");
    json_str(j, "local", endpoint(i.laddr, i.lport, b));
    json_str(j, "remote", endpoint(i.raddr, i.rport, b));
    json_bool(j, "closing", k->closing);
    json_dbl(j, "age_s", (double)(now - k->opened_ns) / 1e9);
    json_u64(j, "chan", i.local_chan);
    json_str(j, "cc", i.cc ? i.cc : "");
    json_bool(j, "sack", i.sack);
    json_bool(j, "timestamps", i.timestamps);
    json_bool(j, "wscale", i.wscale);
    json_bool(j, "nodelay", i.nodelay);
#define X(f) json_u64(j, #f, i.f);
    INFO_FIELDS(X)
#undef X
    json_end_obj(j);
}

void status_json(struct tcp_svc *t, FILE *f)
{
    struct snap s;
    char a[16], m[18];
    uint64_t now = jet_now_ns();
    take(t, &s);
    struct json j;
    json_begin(&j, f);
    json_obj(&j, NULL);
    json_obj(&j, "host");
    json_str(&j, "link", t->link);
    json_str(&j, "addr", jet_ip_format(s.cfg.addr, a));
    json_u64(&j, "plen", s.cfg.plen);
    if (s.cfg.gw)
        json_str(&j, "gw", jet_ip_format(s.cfg.gw, a));
    json_str(&j, "mac", fmt_mac(s.cfg.mac, m));
    json_i64(&j, "started", t->started_wall);
    json_dbl(&j, "uptime_s", s.uptime);
    json_end_obj(&j);
    json_obj(&j, "station");
#define X(f) json_u64(&j, #f, s.st.f);
    STATION_FIELDS(X)
#undef X
    json_end_obj(&j);
    json_obj(&j, "ipv4");
#define X(f) json_u64(&j, #f, s.ip.f);
    IP_FIELDS(X)
#undef X
    json_end_obj(&j);
    json_obj(&j, "udp");
#define X(f) json_u64(&j, #f, s.ip.f);
    UDP_FIELDS(X)
#undef X
    json_arr(&j, "services");
    for (int u = 0; u < HOST_UDP_VIEWS; u++)
        if (t->udp[u].on) {
            json_obj(&j, NULL);
            json_str(&j, "name", t->udp[u].name);
            json_u64(&j, "port", t->udp[u].port);
            json_u64(&j, "served", *t->udp[u].served);
            json_end_obj(&j);
        }
    json_end_arr(&j);
    json_end_obj(&j);
    json_obj(&j, "tcp");
    if (s.has_tcp) {
#define X(f) json_u64(&j, #f, s.tcp.f);
        TCP_HOST_FIELDS(X)
#undef X
    }
    json_arr(&j, "services");
    for (int v = 0; v < TSVC_N; v++)
        if (t->on[v]) {
            unsigned open = 0;
            for (unsigned i = 0; i < t->nconn; i++)
                open += t->conn[i]->svc == (enum tsvc)v;
            json_obj(&j, NULL);
            json_str(&j, "name", tsvc_def[v].name);
            json_u64(&j, "port", tsvc_def[v].port);
            json_u64(&j, "open", open);
#define X(f) json_u64(&j, #f, t->n[v].f);
            SVC_FIELDS(X)
#undef X
            json_end_obj(&j);
        }
    json_end_arr(&j);
    json_u64(&j, "connections_total", t->nconn);
    json_arr(&j, "connections");
    for (unsigned i = 0; i < t->nconn && i < CONNS_SHOWN; i++)
        conn_json(&j, t->conn[i], now);
    json_end_arr(&j);
    json_end_obj(&j);
    if (t->iperf) {
        const struct iperf3_stats *is = iperf3_srv_stats(t->iperf);
        const struct iperf3_test_info *l = iperf3_srv_last(t->iperf);
        json_obj(&j, "iperf3");
        json_bool(&j, "busy", iperf3_srv_busy(t->iperf));
        json_u64(&j, "tests", is->tests);
        json_u64(&j, "denied", is->denied);
        json_u64(&j, "full", is->full);
        json_u64(&j, "bad_cookie", is->bad_cookie);
        if (is->tests) {
            json_obj(&j, "last");
            json_u64(&j, "outcome", l->outcome);
            json_bool(&j, "reverse", l->reverse);
            json_u64(&j, "streams", l->streams);
            json_u64(&j, "bytes", l->bytes);
            json_dbl(&j, "seconds", (double)l->ns / 1e9);
            json_end_obj(&j);
        }
        json_end_obj(&j);
    }
    json_obj(&j, "http");
    json_u64(&j, "requests", t->http_requests);
    json_u64(&j, "errors", t->http_errors);
    json_end_obj(&j);
    json_end_obj(&j);
    json_finish(&j);
}

static void html_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void row(FILE *f, const char *k, uint64_t v)
{
    fprintf(f, "<tr><td>%s</td><td class=n>%" PRIu64 "</td></tr>\n", k, v);
}

static void table(FILE *f, const char *title)
{
    fprintf(f, "<div class=box><h2>%s</h2><table>\n", title);
}

void status_html(struct tcp_svc *t, FILE *f)
{
    struct snap s;
    char a[16], g[16], m[18], b[24];
    uint64_t now = jet_now_ns();
    take(t, &s);
    fputs("<!DOCTYPE html>\n<html><head><meta charset=utf-8><title>jet host ", f);
    fprintf(f, "%s</title>\n", jet_ip_format(s.cfg.addr, a));
    fputs("<style>body{font-family:sans-serif;margin:1em}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
          "td.n{text-align:right;font-family:monospace}.box{display:inline-block;"
          "vertical-align:top;margin:0 1em 1em 0}</style></head><body>\n",
          f);
    fprintf(f, "<h1>jet host %s/%u</h1>\n<p>link ", a, s.cfg.plen);
    html_text(f, t->link);
    fprintf(f, ", MAC %s%s%s, up %.0f s. <a href=\"/stats.json\">JSON</a></p>\n",
            fmt_mac(s.cfg.mac, m), s.cfg.gw ? ", gateway " : "",
            s.cfg.gw ? jet_ip_format(s.cfg.gw, g) : "", s.uptime);

    table(f, "TCP services");
    fputs("<tr><th>service</th><th>port</th><th>open</th>", f);
#define X(fld) fputs("<th>" #fld "</th>", f);
    SVC_FIELDS(X)
#undef X
    fputs("</tr>\n", f);
    for (int v = 0; v < TSVC_N; v++) {
        if (!t->on[v])
            continue;
        unsigned open = 0;
        for (unsigned i = 0; i < t->nconn; i++)
            open += t->conn[i]->svc == (enum tsvc)v;
        fprintf(f, "<tr><td>%s</td><td class=n>%u</td><td class=n>%u</td>", tsvc_def[v].name,
                tsvc_def[v].port, open);
#define X(fld) fprintf(f, "<td class=n>%" PRIu64 "</td>", t->n[v].fld);
        SVC_FIELDS(X)
#undef X
        fputs("</tr>\n", f);
    }
    fputs("</table></div><br>\n", f);

    table(f, "TCP");
    if (s.has_tcp) {
#define X(fld) row(f, #fld, s.tcp.fld);
        TCP_HOST_FIELDS(X)
#undef X
    }
    fputs("</table></div>\n", f);
    table(f, "UDP");
#define X(fld) row(f, #fld, s.ip.fld);
    UDP_FIELDS(X)
#undef X
    for (int u = 0; u < HOST_UDP_VIEWS; u++)
        if (t->udp[u].on) {
            char k[48];
            snprintf(k, sizeof k, "%s (port %u) served", t->udp[u].name, t->udp[u].port);
            row(f, k, *t->udp[u].served);
        }
    fputs("</table></div>\n", f);
    table(f, "IPv4, ARP, ICMP");
#define X(fld) row(f, #fld, s.ip.fld);
    IP_FIELDS(X)
#undef X
    fputs("</table></div>\n", f);
    table(f, "Station");
#define X(fld) row(f, #fld, s.st.fld);
    STATION_FIELDS(X)
#undef X
    fputs("</table></div>\n", f);
    if (t->iperf) {
        const struct iperf3_stats *is = iperf3_srv_stats(t->iperf);
        table(f, "iperf3");
        row(f, "busy", iperf3_srv_busy(t->iperf));
        row(f, "tests", is->tests);
        row(f, "denied", is->denied);
        row(f, "full", is->full);
        row(f, "bad_cookie", is->bad_cookie);
        if (is->tests) {
            const struct iperf3_test_info *l = iperf3_srv_last(t->iperf);
            row(f, "last: streams", l->streams);
            row(f, "last: bytes", l->bytes);
            row(f, "last: ms", l->ns / 1000000);
        }
        fputs("</table></div>\n", f);
    }
    table(f, "HTTP");
    row(f, "requests", t->http_requests);
    row(f, "errors", t->http_errors);
    fputs("</table></div>\n", f);

    fprintf(f, "<h2>Connections (%u)</h2>\n<table>\n<tr><th>service</th><th>state</th>"
               "<th>local</th><th>remote</th><th>age s</th><th>cc</th>",
            t->nconn);
#define X(fld) fputs("<th>" #fld "</th>", f);
    INFO_FIELDS(X)
#undef X
    fputs("</tr>\n", f);
    for (unsigned c = 0; c < t->nconn && c < CONNS_SHOWN; c++) {
        const struct tconn *k = t->conn[c];
        struct jet_tcp_info i;
        jet_tcp_info(k->c, &i);
        fprintf(f, "<tr><td>%s</td><td>%s</td>", tsvc_def[k->svc].name,
                i.state ? i.state : "?");
        fprintf(f, "<td>%s</td>", endpoint(i.laddr, i.lport, b));
        fprintf(f, "<td>%s</td><td class=n>%.1f</td><td>%s</td>", endpoint(i.raddr, i.rport, b),
                (double)(now - k->opened_ns) / 1e9, i.cc ? i.cc : "");
#define X(fld) fprintf(f, "<td class=n>%" PRIu64 "</td>", (uint64_t)i.fld);
        INFO_FIELDS(X)
#undef X
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
    if (t->nconn > CONNS_SHOWN)
        fprintf(f, "<p>(the first %d shown)</p>\n", CONNS_SHOWN);
    fputs("</body></html>\n", f);
}

/* ---- requests and responses ---- */

/* Puts the response into h->out (the body left out for HEAD).  -ENOMEM. */
static int respond(struct tcp_svc *t, struct http_conn *h, int code, const char *type,
                   const char *body, size_t blen, bool head)
{
    char date[64], hdr[512];
    time_t now = time(NULL);
    struct tm tm;
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &tm));
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %d %s\r\nServer: jet-host\r\nDate: %s\r\n"
                     "Content-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
                     "%sConnection: %s\r\n\r\n",
                     code, http_reason(code), date, type, blen,
                     code == 405 ? "Allow: GET, HEAD\r\n" : "",
                     h->close_after ? "close" : "keep-alive");
    size_t total = (size_t)n + (head ? 0 : blen);
    char *o = malloc(total);
    if (!o)
        return -ENOMEM;
    memcpy(o, hdr, (size_t)n);
    if (!head)
        memcpy(o + n, body, blen);
    free(h->out);
    h->out = o;
    h->olen = total;
    h->ooff = 0;
    t->http_requests++;
    if (code >= 400)
        t->http_errors++;
    return 0;
}

static int respond_error(struct tcp_svc *t, struct http_conn *h, int code, bool head)
{
    char body[128];
    int n = snprintf(body, sizeof body, "%d %s\n", code, http_reason(code));
    return respond(t, h, code, "text/plain; charset=utf-8", body, (size_t)n, head);
}

/* Answers request r (http_req.h decided it).  0 or -ENOMEM. */
static int answer(struct tcp_svc *t, struct http_conn *h, const struct http_req *r)
{
    h->close_after = r->close;
    if (r->error)
        return respond_error(t, h, r->error, r->head);
    bool head = r->head;
    const char *path = r->path;
    size_t pl = r->path_len;
    bool html = (pl == 1 && path[0] == '/') || (pl == 11 && !memcmp(path, "/index.html", 11));
    bool json = pl == 11 && !memcmp(path, "/stats.json", 11);
    if (!html && !json)
        return respond_error(t, h, 404, head);
    char *b = NULL;
    size_t bl = 0;
    FILE *f = open_memstream(&b, &bl);
    if (!f)
        return -ENOMEM;
    if (html)
        status_html(t, f);
    else
        status_json(t, f);
    if (fclose(f)) {
        free(b);
        return -ENOMEM;
    }
    int rc = respond(t, h, 200, html ? "text/html; charset=utf-8" : "application/json", b, bl,
                     head);
    free(b);
    return rc;
}

int http_step(struct tcp_svc *t, struct tconn *k, uint64_t now)
{
    struct http_conn *h = k->http;
    int did = 0;
    for (int r = 0; r < 8; r++) {
        if (h->ooff < h->olen) {
            if (!(jet_tcp_events(k->c) & (JET_TCP_OUT | JET_TCP_ERR)))
                return did; /* jet_tcp_send would poll the station to find out */
            ssize_t w = jet_tcp_send(k->c, h->out + h->ooff, h->olen - h->ooff, 0);
            if (w == -EAGAIN)
                return did;
            if (w < 0)
                return (int)w;
            h->ooff += (size_t)w;
            k->bytes_out += (uint64_t)w;
            t->n[TSVC_HTTP].bytes_out += (uint64_t)w;
            k->last_ns = now;
            did = 1;
            if (h->ooff < h->olen)
                return did; /* the send ring is full */
        }
        if (h->out) {
            free(h->out);
            h->out = NULL;
            h->olen = h->ooff = 0;
            if (h->close_after)
                return HTTP_DONE;
        }
        struct http_req q;
        if (http_req_next(&h->in, &q)) { /* a request, or a 431 for one too long */
            int rc = answer(t, h, &q);
            if (rc)
                return rc;
            did = 1;
            continue;
        }
        if (k->peer_eof)
            return HTTP_DONE; /* a partial request at the end is dropped */
        if (!(jet_tcp_events(k->c) & JET_TCP_IN))
            break;
        size_t room;
        char *in = http_req_room(&h->in, &room);
        ssize_t n = jet_tcp_recv(k->c, in, room, 0);
        if (n == -EAGAIN)
            break;
        if (n < 0)
            return (int)n;
        did = 1;
        if (n == 0) {
            k->peer_eof = true;
            continue;
        }
        http_req_fill(&h->in, (size_t)n);
        k->bytes_in += (uint64_t)n;
        t->n[TSVC_HTTP].bytes_in += (uint64_t)n;
        k->last_ns = now;
    }
    if (!did && !h->out && now - k->last_ns > IDLE_NS)
        return HTTP_DONE;
    return did;
}
