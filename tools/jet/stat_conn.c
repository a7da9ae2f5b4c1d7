/* jet stat: the connections section of a live publication (src/chan/statpub.h,
 * "Connections"): one record per RBS or TCP connection and listener of the
 * station, as its publication pass last copied them.  Text like `ss -ti`: a
 * line with protocol, state, local and peer endpoints, then an indented line
 * of the engine's figures; JSON: an array "conn" (keys in docs/channels.md,
 * "jet stat"). */
#include <stdio.h>
#include <string.h>

#include "stat.h"

static const char *proto_name(const struct statpub_conn *c)
{
    return c->proto == STATPUB_PROTO_RBS ? "rbs" : "tcp";
}

/* RBS: STATION:CHANNEL; TCP: A.B.C.D:PORT; a listener's peer: *:*. */
static const char *endpoint(char *b, size_t cap, const struct statpub_conn *c, bool local)
{
    uint32_t a = local ? c->laddr : c->raddr, p = local ? c->lport : c->rport;
    if (!local && c->kind == STATPUB_LISTENER)
        snprintf(b, cap, "*:*");
    else if (c->proto == STATPUB_PROTO_RBS)
        snprintf(b, cap, "%u:%u", a, p);
    else if (local && c->kind == STATPUB_LISTENER && a == 0)
        snprintf(b, cap, "*:%u", p);
    else
        snprintf(b, cap, "%u.%u.%u.%u:%u", a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255, p);
    return b;
}

static const char *ms(char *b, size_t cap, uint64_t ns)
{
    snprintf(b, cap, "%.3f", (double)ns / 1e6);
    return b;
}

static void print_conn(const struct statpub_conn *c, const struct conn_rate *rate)
{
    char l[48], r[48];
    printf("    %-4s %-12s %-24s %-24s", proto_name(c), c->state, endpoint(l, sizeof l, c, true),
           endpoint(r, sizeof r, c, false));
    if (c->kind == STATPUB_LISTENER) {
        printf(" chan %u\n         backlog:%llu dropped:%llu\n", c->chan,
               (unsigned long long)c->backlog, (unsigned long long)c->dropped);
        return;
    }
    char a[24], b[24], rto[24], ss[32];
    if (c->ssthresh == UINT64_MAX)
        snprintf(ss, sizeof ss, "-");
    else
        snprintf(ss, sizeof ss, "%llu", (unsigned long long)c->ssthresh);
    printf(" chan %u\n", c->chan);
    printf("         %s rtt:%s/%s ms rto:%s ms mss:%u cwnd:%llu ssthresh:%s snd_wnd:%llu "
           "rcv_wnd:%llu in_flight:%llu bytes_sent:%llu bytes_acked:%llu bytes_received:%llu "
           "segs_out:%llu segs_in:%llu retrans:%llu/%llu fast_retrans:%llu timeouts:%llu "
           "tlp:%llu ooo:%llu dup:%llu",
           c->cc[0] ? c->cc : "-", ms(a, sizeof a, c->srtt_ns), ms(b, sizeof b, c->rttvar_ns),
           ms(rto, sizeof rto, c->rto_ns), c->mss, (unsigned long long)c->cwnd, ss,
           (unsigned long long)c->snd_wnd, (unsigned long long)c->rcv_wnd,
           (unsigned long long)c->in_flight, (unsigned long long)c->bytes_sent,
           (unsigned long long)c->bytes_acked, (unsigned long long)c->bytes_received,
           (unsigned long long)c->segs_out, (unsigned long long)c->segs_in,
           (unsigned long long)c->retransmits, (unsigned long long)c->retrans_bytes,
           (unsigned long long)c->fast_retransmits, (unsigned long long)c->timeouts,
           (unsigned long long)c->tlp_probes, (unsigned long long)c->ooo_segs,
           (unsigned long long)c->dup_segs);
    if (c->flags & STATPUB_CF_SACK)
        printf(" sack:%llu", (unsigned long long)c->sack_blocks);
    if (c->min_rtt_ns)
        printf(" minrtt:%s", ms(a, sizeof a, c->min_rtt_ns));
    if (rate && rate->valid) {
        char s1[32], s2[32];
        printf(" send %s recv %s", fmt_rate(s1, sizeof s1, rate->send_bps),
               fmt_rate(s2, sizeof s2, rate->recv_bps));
    }
    putchar('\n');
}

void print_conns(const struct st_view *v)
{
    const struct statpub_snap *sn = &v->snap;
    if (!sn->nconn && !sn->conn_bad && !sn->conn_more)
        return; /* no protocol publishes any: nothing to say */
    uint32_t nlis = 0;
    for (uint32_t k = 0; k < sn->nconn; k++)
        nlis += sn->conn[k].kind == STATPUB_LISTENER;
    printf("  connections: %u, listeners: %u", sn->nconn - nlis, nlis);
    if (sn->conn_bad)
        printf("; %u malformed record%s dropped", sn->conn_bad, sn->conn_bad == 1 ? "" : "s");
    if (sn->conn_more)
        printf("; %u more not published", sn->conn_more);
    putchar('\n');
    if (!sn->nconn)
        return;
    printf("    %-4s %-12s %-24s %-24s\n", "prot", "state", "local", "peer");
    for (uint32_t k = 0; k < sn->nconn; k++)
        print_conn(&sn->conn[k], v->rates && v->nr ? &v->nr[k] : NULL);
}

static void json_conn(struct json *j, const struct statpub_conn *c, const struct conn_rate *r)
{
    char b[48];
    json_obj(j, NULL);
    json_str(j, "proto", proto_name(c));
    json_str(j, "kind", c->kind == STATPUB_LISTENER ? "listener" : "conn");
    json_str(j, "state", c->state);
    json_u64(j, "chan", c->chan);
    json_str(j, "local", endpoint(b, sizeof b, c, true));
    json_str(j, "remote", endpoint(b, sizeof b, c, false));
    const char *ak = c->proto == STATPUB_PROTO_RBS ? "station" : "addr";
    const char *pk = c->proto == STATPUB_PROTO_RBS ? "chan" : "port";
    char key[32];
    snprintf(key, sizeof key, "local_%s", ak);
    if (c->proto == STATPUB_PROTO_RBS) {
        json_u64(j, key, c->laddr);
    } else {
        snprintf(b, sizeof b, "%u.%u.%u.%u", c->laddr >> 24, c->laddr >> 16 & 255,
                 c->laddr >> 8 & 255, c->laddr & 255);
        json_str(j, key, b);
    }
    snprintf(key, sizeof key, "local_%s", pk);
    json_u64(j, key, c->lport);
    if (c->kind == STATPUB_LISTENER) {
        json_u64(j, "backlog", c->backlog);
        json_u64(j, "dropped", c->dropped);
        json_end_obj(j);
        return;
    }
    snprintf(key, sizeof key, "remote_%s", ak);
    if (c->proto == STATPUB_PROTO_RBS) {
        json_u64(j, key, c->raddr);
    } else {
        snprintf(b, sizeof b, "%u.%u.%u.%u", c->raddr >> 24, c->raddr >> 16 & 255,
                 c->raddr >> 8 & 255, c->raddr & 255);
        json_str(j, key, b);
    }
    snprintf(key, sizeof key, "remote_%s", pk);
    json_u64(j, key, c->rport);
    json_str(j, "cc", c->cc);
    json_u64(j, "mss", c->mss);
    json_dbl(j, "srtt_us", (double)c->srtt_ns / 1e3);
    json_dbl(j, "rttvar_us", (double)c->rttvar_ns / 1e3);
    json_dbl(j, "rto_us", (double)c->rto_ns / 1e3);
    if (c->min_rtt_ns)
        json_dbl(j, "min_rtt_us", (double)c->min_rtt_ns / 1e3);
    json_u64(j, "cwnd", c->cwnd);
    if (c->ssthresh != UINT64_MAX)
        json_u64(j, "ssthresh", c->ssthresh);
    json_u64(j, "snd_wnd", c->snd_wnd);
    json_u64(j, "rcv_wnd", c->rcv_wnd);
    json_u64(j, "in_flight", c->in_flight);
    json_u64(j, "bytes_sent", c->bytes_sent);
    json_u64(j, "bytes_received", c->bytes_received);
    json_u64(j, "bytes_acked", c->bytes_acked);
    json_u64(j, "segs_out", c->segs_out);
    json_u64(j, "segs_in", c->segs_in);
    json_u64(j, "retransmits", c->retransmits);
    json_u64(j, "retrans_bytes", c->retrans_bytes);
    json_u64(j, "fast_retransmits", c->fast_retransmits);
    json_u64(j, "timeouts", c->timeouts);
    json_u64(j, "tlp_probes", c->tlp_probes);
    json_bool(j, "sack", (c->flags & STATPUB_CF_SACK) != 0);
    json_u64(j, "sack_blocks", c->sack_blocks);
    json_u64(j, "ooo_segs", c->ooo_segs);
    json_u64(j, "dup_segs", c->dup_segs);
    if (r && r->valid) {
        json_dbl(j, "send_bps", r->send_bps);
        json_dbl(j, "recv_bps", r->recv_bps);
    }
    json_end_obj(j);
}

void json_conns(struct json *j, const struct st_view *v)
{
    const struct statpub_snap *sn = &v->snap;
    json_u64(j, "conns_malformed", sn->conn_bad);
    json_u64(j, "conns_not_published", sn->conn_more);
    json_arr(j, "conn");
    for (uint32_t k = 0; k < sn->nconn; k++)
        json_conn(j, &sn->conn[k], v->rates && v->nr ? &v->nr[k] : NULL);
    json_end_arr(j);
}
