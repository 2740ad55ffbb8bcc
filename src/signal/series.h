/* The visibility signal: one row per (entity, time bin). Produced by src/signal, stored by
 * src/store, read by src/detect and src/out/plot. Definitions (README "The signal"):
 *  - full-feed peer: a peer up and holding >= the full-feed threshold of prefixes of the family;
 *  - visible prefix: seen by >= vis_frac (default 0.5) of full-feed peers at the end of the bin;
 *  - slash24: distinct /24 blocks (IPv6: /48) covered by the entity's visible prefixes of
 *    length <= 24 (<= 48); longer prefixes count only in visible_prefixes / more_specifics. */
#ifndef DM_SIGNAL_SERIES_H
#define DM_SIGNAL_SERIES_H

#include <stdint.h>

enum sig_entity_kind { SIG_COUNTRY = 1, SIG_ASN = 2, SIG_GLOBAL = 3 };

struct sig_entity {
	uint8_t kind;          /* enum sig_entity_kind */
	uint8_t afi;           /* DM_AFI_IPV4 / DM_AFI_IPV6 */
	char cc[3];            /* SIG_COUNTRY */
	uint32_t asn;          /* SIG_ASN */
};

/* Data-quality flags of a bin (apply to every entity in it). */
enum sig_quality {
	SIG_Q_OK = 0,
	SIG_Q_GAP = 1,            /* an input collector was in a gap: silent >= gap_min seconds */
	SIG_Q_PEERS_DROPPED = 2,  /* full-feed peers fell below the expected count (session resets) */
	SIG_Q_NO_DATA = 4,        /* before the RIB, or no full-feed peer at all */
	SIG_Q_FF_CHANGED = 8,     /* peers joined or left the full-feed set by table size (not by
	                           * their sessions): the denominator changed, not the routes */
};

struct sig_bin {
	int64_t t;                   /* bin start, UTC seconds, aligned to the bin size (64-bit:
	                              * bin arithmetic near 2^32 must not wrap to 1970) */
	/* 64-bit: the world's IPv6 /48s pass 2^32 (9.9 billion on a 2015 route-views6 RIB). */
	uint64_t visible_prefixes;
	uint64_t slash24;            /* /24 (IPv6: /48) equivalents visible */
	uint64_t baseline_slash24;   /* /24s the entity had when first seen fully (for peer_frac) */
	uint16_t peers_seeing;       /* full-feed peers seeing >= 1 of the entity's prefixes */
	uint16_t full_feed_peers;    /* full-feed peers in the bin (denominator) */
	uint16_t peers_up;           /* peers with an established session */
	float peer_frac;             /* mean over full-feed peers of (entity /24s seen / baseline) */
	uint32_t announcements, withdrawals;
	uint32_t interruptions;      /* visible -> invisible -> visible cycles completed in the bin */
	uint32_t more_specifics;     /* visible prefixes longer than /24 (/48) */
	uint8_t quality;             /* enum sig_quality flags */
	/* Input accounting of the bin (same for every entity of the bin): */
	uint32_t records;            /* MRT records read in the bin, all collectors */
	uint16_t collectors;         /* collectors whose update input is active in the bin */
	uint16_t collectors_silent;  /* of those, collectors in a gap in the bin (SIG_Q_GAP) */
	/* Full-feed set changes of the family at this bin's close (SIG_Q_FF_CHANGED): */
	uint16_t ff_joined;          /* peers whose table reached the join threshold */
	uint16_t ff_left;            /* full-feed peers whose table fell below the leave threshold */
};

#endif
