/* Transport engine: the send queue (xp_snd.h).  Queued data is a ring of chunks
 * covering stream offsets [acked, q_end) contiguously; a chunk is either bytes in the
 * internal send ring (xp_snd_copy; consecutive copies extend one chunk) or an
 * application buffer by reference (xp_snd_ref) whose cookie is reported once every
 * byte of it is acknowledged.  Output lends pointers into the chunks (xp_snd_gather):
 * no copy until the protocol copies the payload into its frame. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xport/xp_rack.h"
#include "xport/xp_snd.h"

int xp_snd_init(struct xp_snd *s, const struct xp_snd_cfg *k)
{
    memset(s, 0, sizeof *s);
    xp_ranges_init(&s->sb, XP_SB_MIN);
    s->max_refs = k->max_refs;
    s->ch_cap = 2 * k->max_refs + 16;
    s->ch = calloc(s->ch_cap, sizeof *s->ch);
    s->ck = calloc(k->max_refs ? k->max_refs : 1, sizeof *s->ck);
    s->ring = malloc(k->sndbuf_bytes ? k->sndbuf_bytes : 1);
    if (!s->ch || !s->ck || !s->ring || xp_rack_init(s))
        return -ENOMEM;
    s->rack = k->rack;
    s->nodelay = k->nodelay;
    s->no_dsack = k->no_dsack;
    s->sr_cap = k->sndbuf_bytes;
    s->mss = k->mss;
    s->init_segs = k->init_segs;
    s->ack_delay_ns = k->ack_delay_ns;
    xp_cc_init(&s->cc, k->cc, k->mss, k->init_segs);
    xp_rtt_init(&s->rtt, k->rto_init_ns, k->rto_min_ns, k->rto_max_ns);
    return 0;
}

void xp_snd_fini(struct xp_snd *s)
{
    free(s->ch);
    free(s->ck);
    free(s->ring);
    s->ch = NULL;
    s->ck = NULL;
    s->ring = NULL;
    xp_rack_fini(s);
    xp_ranges_fini(&s->sb);
}

static struct xp_chunk *chunk(const struct xp_snd *s, uint32_t i)
{
    return &s->ch[(s->ch_head + i) % s->ch_cap];
}

static int refs_in_use(const struct xp_snd *s)
{
    int n = (int)s->ck_count;
    for (uint32_t i = 0; i < s->ch_count; i++)
        n += chunk(s, i)->ref;
    return n;
}

static int push_chunk(struct xp_snd *s, const uint8_t *p, uint64_t len, uint64_t cookie, bool ref)
{
    if (s->ch_count == s->ch_cap)
        return -EAGAIN;
    struct xp_chunk *k = chunk(s, s->ch_count);
    k->p = p;
    k->off = s->q_end;
    k->len = len;
    k->cookie = cookie;
    k->ref = ref;
    s->ch_count++;
    s->q_end += len;
    return 0;
}

size_t xp_snd_copy(struct xp_snd *s, const void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        uint64_t used = s->sr_tail - s->sr_head;
        uint64_t idx = s->sr_tail % s->sr_cap;
        uint64_t n = xp_min64(xp_min64(len - done, s->sr_cap - used), s->sr_cap - idx);
        if (!n)
            break;
        uint8_t *dst = s->ring + idx;
        struct xp_chunk *last = s->ch_count ? chunk(s, s->ch_count - 1) : NULL;
        if (last && !last->ref && last->p + last->len == dst) {
            last->len += n;
            s->q_end += n;
        } else if (push_chunk(s, dst, n, 0, false)) {
            break;
        }
        memcpy(dst, (const uint8_t *)buf + done, n);
        s->sr_tail += n;
        done += n;
    }
    return done;
}

static void complete(struct xp_snd *s, uint64_t cookie)
{
    s->ck[(s->ck_head + s->ck_count) % s->max_refs] = cookie;
    s->ck_count++;
}

int xp_snd_ref(struct xp_snd *s, const void *buf, size_t len, uint64_t cookie)
{
    if (refs_in_use(s) >= (int)s->max_refs)
        return -EAGAIN;
    if (!len) { /* nothing to acknowledge: complete at once */
        complete(s, cookie);
        return 0;
    }
    return push_chunk(s, buf, len, cookie, true);
}

int xp_snd_completed(struct xp_snd *s, uint64_t *cookies, int max)
{
    int n = 0;
    while (n < max && s->ck_count) {
        cookies[n++] = s->ck[s->ck_head];
        s->ck_head = (s->ck_head + 1) % s->max_refs;
        s->ck_count--;
    }
    return n;
}

/* Stream offset acknowledged up to, for position una. */
static uint64_t acked_off(const struct xp_snd *s, uint64_t una)
{
    return una ? xp_min64(una - 1, s->q_end) : 0;
}

uint64_t xp_snd_pending(const struct xp_snd *s)
{
    return s->q_end - acked_off(s, s->una);
}

void xp_snd_free_acked(struct xp_snd *s, uint64_t una)
{
    uint64_t acked = acked_off(s, una);
    while (s->ch_count) {
        struct xp_chunk *k = chunk(s, 0);
        if (k->off >= acked)
            break;
        uint64_t n = xp_min64(acked - k->off, k->len);
        if (!k->ref)
            s->sr_head += n;
        k->p += n;
        k->off += n;
        k->len -= n;
        if (k->len)
            break;
        if (k->ref)
            complete(s, k->cookie);
        s->ch_head = (s->ch_head + 1) % s->ch_cap;
        s->ch_count--;
    }
}

const char *xp_snd_queue_violation(const struct xp_snd *s)
{
    uint64_t acked = acked_off(s, s->una);
    uint64_t off = s->ch_count ? s->ch[s->ch_head].off : s->q_end;
    if (s->ch_count > s->ch_cap || s->ck_count > s->max_refs)
        return "chunk or cookie count";
    if (off > acked && s->ch_count)
        return "first chunk starts after the acked offset";
    if (s->ch_count && s->ch[s->ch_head].off + s->ch[s->ch_head].len <= acked)
        return "acked chunk not freed";
    uint64_t ring = 0;
    for (uint32_t i = 0; i < s->ch_count; i++) {
        const struct xp_chunk *k = chunk(s, i);
        if (k->off != off || !k->len)
            return "chunks not contiguous";
        if (!k->ref) {
            ring += k->len;
            if (k->p < s->ring || k->p + k->len > s->ring + s->sr_cap)
                return "ring chunk outside the ring";
        }
        off += k->len;
    }
    if (off != s->q_end)
        return "chunks do not end at q_end";
    if (ring != s->sr_tail - s->sr_head || ring > s->sr_cap)
        return "send ring accounting";
    return NULL;
}
