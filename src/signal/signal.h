/* The visibility signal, maintained incrementally from elements (src/mrt/elem.h) over the RIB.
 *
 * Definitions (docs/replay.md has the long form, with examples):
 *  - full-feed peer (per family): an up peer whose table holds >= the threshold of prefixes of
 *    the family. Rule "abs": 400,000 IPv4 / 10,000 IPv6; "rel": >= 80% of the largest up peer's
 *    table; "auto" (default): abs when the largest table reaches the abs threshold, else rel;
 *    or explicit counts. Chosen at every bin close (a peer must hold its table at a bin end).
 *  - visible prefix: seen (>= 1 path) by >= ceil(vis x F) of the F full-feed peers (vis 0.5).
 *    For an origin-AS entity the pair (prefix, AS) must be seen by that many full-feed peers
 *    whose path ends in the AS.
 *  - slash24: distinct /24 (IPv6 /48) blocks covered by the entity's visible prefixes of length
 *    <= 24 (<= 48); a country gets, of each prefix, the whole /24s (/48s) its share of the
 *    prefix's addresses (geo_prefix_countries, every share) earns by largest remainder, so a
 *    block counts for one country only and countries add up to the world. 64-bit counts.
 *  - prefixes shorter than /8 (IPv4) or /16 (IPv6) are left out (default routes, bogons).
 *  - interruptions: visible -> invisible -> visible cycles, counted when the prefix (or the pair)
 *    becomes visible again; changes of the full-feed set (peer outages) never count.
 * A full-feed peer whose session leaves Established is a peer outage: its table is dropped, the
 * full-feed set shrinks and visibility is recomputed against the remaining peers at once; the
 * bin is flagged SIG_Q_PEERS_DROPPED. Work per element is O(1) plus, when a prefix changes
 * visibility, the trie nodes above it and the visible prefixes directly below it. */
#ifndef DM_SIGNAL_SIGNAL_H
#define DM_SIGNAL_SIGNAL_H

#include <stdint.h>

#include "geo/geo.h"
#include "mrt/elem.h"
#include "rib/rib.h"
#include "signal/series.h"

enum sig_ff_rule { SIG_FF_AUTO = 0, SIG_FF_ABS, SIG_FF_REL, SIG_FF_COUNT };

struct sig_opts {
	uint32_t bin;              /* seconds (300); bins start at multiples of it (UTC) */
	double vis;                /* 0.5 */
	enum sig_ff_rule ff_rule;
	uint32_t ff_abs[2];        /* abs thresholds [IPv4, IPv6]: 400000, 10000 */
	uint32_t ff_count[2];      /* SIG_FF_COUNT thresholds */
	double ff_rel;             /* 0.8 */
	uint32_t max_empty_bins;   /* longest run of empty bins emitted across an input gap (2016) */
};

void sig_opts_default(struct sig_opts *o);
/* Parses "auto", "abs", "rel", "rel:0.9", "N" or "N,N6". Returns 0 or -1. */
int sig_parse_ff_rule(const char *s, struct sig_opts *o);

struct sig;

typedef void (*sig_emit_fn)(void *arg, const struct sig_entity *e, const struct sig_bin *b);
/* Country split of a prefix, as geo_prefix_countries (src/geo/geo.h) gives it: the caller passes
 * that function with its geo_db (a wrapper), or its own (tests). NULL: every prefix is "ZZ".
 * Contract: at most max shares, the largest first; an answer of max shares may have been cut,
 * and the signal asks again with more room (no limit on the countries of a prefix). */
typedef int (*sig_geo_fn)(void *arg, const struct dm_prefix *p, struct geo_share *out, int max);

struct sig *sig_new(struct rib *rib, sig_geo_fn geo, void *geo_arg, const struct sig_opts *o);
void sig_free(struct sig *s);

void sig_set_emit(struct sig *s, sig_emit_fn fn, void *arg);
/* Per collector and bin, at each bin close: records read, and whether its update input was
 * running (active) in the bin; active with 0 records is what makes the bin's SIG_Q_GAP. */
typedef void (*sig_collector_fn)(void *arg, uint32_t t, uint32_t collector, uint64_t records, int active);
void sig_set_collector_emit(struct sig *s, sig_collector_fn fn, void *arg);
/* Restrict emitted rows to these entities (plus the global ones); may be called repeatedly. */
void sig_want_country(struct sig *s, const char *cc);
void sig_want_asn(struct sig *s, uint32_t asn);
/* Every country (and the global rows); origin ASes only as asked with sig_want_asn. */
void sig_want_countries(struct sig *s);

/* Phases: elements fed before sig_start build the tables only (the RIB load); sig_start picks
 * the full-feed peers and computes the state; from then on sig_time(ts) closes every bin that
 * ends at or before ts (emitting its rows) before the caller feeds elements of time ts. */
void sig_start(struct sig *s);
void sig_time(struct sig *s, uint32_t ts);
void sig_record(struct sig *s, uint32_t collector);
void sig_elem(struct sig *s, uint32_t collector, const struct dm_elem *e);
/* A collector's update input has begun (records expected in every bin) or ended. */
void sig_collector_active(struct sig *s, uint32_t collector, int active);
/* Closes the open bin (emits it). */
void sig_finish(struct sig *s);

/* ---- introspection (summaries, tests) ---- */
struct sig_fam_info {
	uint32_t nff;              /* full-feed peers now */
	uint32_t threshold;        /* prefixes a peer needs to be full-feed */
	uint32_t largest;          /* largest up peer table */
	uint32_t need;             /* full-feed peers a prefix needs to be visible */
	const char *rule;          /* "abs", "rel", "count": the rule that applied */
	uint64_t visible;          /* visible prefixes now */
	uint64_t slash24;          /* visible /24 (/48) now (global) */
};
void sig_fam_info(const struct sig *s, int fam, struct sig_fam_info *out);
/* Full-feed peer ids (rib peer indexes) of a family; returns how many (may exceed max). */
uint32_t sig_full_feed_peers(const struct sig *s, int fam, uint32_t *out, uint32_t max);
/* The current state of an entity as a bin would report it (counts of the open bin).
 * Returns 0, or -1 when the entity is unknown. */
int sig_entity_now(struct sig *s, const struct sig_entity *key, struct sig_bin *out);
/* Full-feed peers that see >= 1 prefix of the entity; returns how many (may exceed max). */
uint32_t sig_entity_peers(struct sig *s, const struct sig_entity *key, uint32_t *out, uint32_t max);
/* Bins emitted so far and elements applied. */
uint64_t sig_bins_emitted(const struct sig *s);
uint64_t sig_elements(const struct sig *s);
/* Elements left out: prefixes shorter than /8 (IPv4) or /16 (IPv6), e.g. default routes. */
uint64_t sig_ignored(const struct sig *s);
/* Elements that could not be applied (malformed prefix, out of memory). */
uint64_t sig_dropped(const struct sig *s);
size_t sig_memory(const struct sig *s);
/* Bytes in use (elements held), not the capacity sig_memory counts. */
size_t sig_memory_used(const struct sig *s);

#endif
