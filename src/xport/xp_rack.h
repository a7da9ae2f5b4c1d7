/* Transport engine, internal: RACK (RFC 8985) hooks the sender calls (xp_rack.c).
 * Not for protocols: they use xp_snd.h. */
#ifndef JET_XP_RACK_H
#define JET_XP_RACK_H

#include "xport/xp_snd.h"

int xp_rack_init(struct xp_snd *s);
void xp_rack_fini(struct xp_snd *s);
/* The sent map's bound follows the peer's window (with the scoreboard's). */
void xp_rack_bound(struct xp_snd *s);
/* New data [.., e) left at now (appended to the map). */
void xp_rack_sent_new(struct xp_snd *s, uint64_t e, uint64_t now);
/* [b, e) was sent again at now. */
void xp_rack_sent_retx(struct xp_snd *s, uint64_t b, uint64_t e, uint64_t now);
/* A SACK block [b, e) (checked, above una) is about to enter the scoreboard: the
 * segments it newly covers are delivered.  echo: the time the ACK echoes (UINT64_MAX:
 * unknown). */
void xp_rack_on_sack(struct xp_snd *s, uint64_t b, uint64_t e, uint64_t now, uint64_t echo);
/* The cumulative ACK moves una to ack (called before una moves and before the
 * scoreboard is trimmed): segments below it not SACKed before are delivered. */
void xp_rack_on_cum(struct xp_snd *s, uint64_t ack, uint64_t now, uint64_t echo);
/* RFC 8985 6.2 step 5: marks lost what is overdue (never-resent holes below
 * rk.lost_to, watched retransmissions rx[].lost) and arms rack_at for the rest.
 * true if something new was marked lost. */
bool xp_rack_detect(struct xp_snd *s, uint64_t now);
/* Recovery episode ended (reo_wnd_persist). */
void xp_rack_exit_recovery(struct xp_snd *s);
/* NULL if the sent map and RACK's positions are consistent, else what is wrong. */
const char *xp_rack_violation(const struct xp_snd *s);

#endif
