/* One change of a prefix's global visibility, the evidence an alert names (docs/replay.md
 * "Visibility changes"). Produced by src/signal (sig_set_change_emit), stored by src/store
 * (table vis_changes). Changes come from routing elements only: a change of the full-feed set
 * or a peer outage recomputes visibility without producing one. */
#ifndef DM_SIGNAL_CHANGE_H
#define DM_SIGNAL_CHANGE_H

#include <stdint.h>
#include <stdlib.h>

#include "base/addr.h"

struct sig_change {
	int64_t t;                 /* the element's timestamp, UTC seconds */
	struct dm_prefix prefix;   /* masked; prefix.afi is the family */
	uint8_t visible;           /* 1: became visible, 0: lost (invisible) */
	uint8_t covered;           /* a visible less-specific still covers it: no /24 changed */
	char cc[3];                /* country with the largest share of its addresses ("ZZ") */
	char countries[96];        /* every country's share in /24s (/48s), largest first:
	                            * "CN:192,HK:64" (a prefix longer than /24: "KP:0");
	                            * ends with ",..." when more did not fit */
	uint32_t origin_asn;       /* origin AS of the path below */
	uint32_t upstream_asn;     /* the AS before the origin in that path (prepends skipped);
	                            * 0 when the path has no other AS */
	uint64_t units;            /* /24s (IPv6 /48s) of the prefix; 0 when longer */
	uint16_t peers_before;     /* full-feed peers holding it just before the change */
	uint16_t full_feed_peers;  /* full-feed peers of the family */
	/* The full-feed peer whose element made the change: for a loss the last one that withdrew
	 * it (its path before the withdrawal gives origin and upstream), for a return the one whose
	 * announcement made it visible again (its new path). */
	uint32_t peer_asn;
	struct dm_ip peer_addr;
	char collector[32];
};

/* The entry of country cc ("KP") in c->countries ("KP:4"), or NULL when cc has none. */
static inline const char *sig_change_country(const struct sig_change *c, const char *cc)
{
	for (const char *p = c->countries; p[0] && p[1]; ) {
		if (p[0] == cc[0] && p[1] == cc[1] && p[2] == ':')
			return p;
		while (*p && *p != ',')
			p++;
		if (*p == ',')
			p++;
	}
	return NULL;
}

/* The /24s (/48s) of a change that lie in country cc ("KP"), from c->countries: the share a
 * country-level alert should count (c->units is the whole prefix's). 0 when cc has none. */
static inline uint64_t sig_change_country_units(const struct sig_change *c, const char *cc)
{
	const char *p = sig_change_country(c, cc);
	return p ? strtoull(p + 3, NULL, 10) : 0;
}

#endif
