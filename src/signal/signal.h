/* The visibility signal, maintained incrementally from the RIB's changes (rib_apply, src/rib/rib.h)
 * as elements (src/bgp/elem.h) are applied.
 *
 * Definitions (docs/replay.md has the long form, with examples):
 *  - full-feed peer (per family), with hysteresis: an up peer joins the set when its table
 *    holds >= the join threshold T of prefixes of the family, and leaves it only when its table
 *    falls below the leave threshold L = ceil(ff_leave x T) (ff_leave 0.9: 360,000 for
 *    T = 400,000; a full-feed peer at 399,999 stays) or when its session goes down. T by rule:
 *    "abs": 400,000 IPv4 / 10,000 IPv6; "rel": ceil(0.8 x the largest up peer's table); "count":
 *    explicit; "auto" (default): abs once any up table has reached the abs threshold (and from
 *    then on for the rest of the run: a world of full tables never falls back to rel), else
 *    rel; without a RIB of the family (no route of the family before sig_start) "auto" is abs
 *    only for it, since tables built from updates alone are partial. Chosen at every bin close (a peer must hold its table at a
 *    bin end). A bin whose close changed the set by table size gets SIG_Q_FF_CHANGED with the
 *    counts (ff_joined, ff_left); a peer that was full-feed when its session went down and
 *    rejoins is a session event, not counted.
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
 * bin is flagged SIG_Q_PEERS_DROPPED, and so is every bin that has fewer full-feed peers than
 * a bin close of the last drop_window seconds (3600) had (peers that left by table size
 * excepted): a duration, the same at every bin size.
 *  - collector gap (SIG_Q_GAP), a duration: an active collector is in a gap from gap_min
 *    seconds (600) after its last record (or the start of its input) until its next record; a
 *    bin that overlaps such a period is flagged. Quiet minutes are no gap at any bin size.
 * Work per element is O(1) plus, when a prefix changes
 * visibility, the trie nodes above it and the visible prefixes directly below it. */
#ifndef DM_SIGNAL_SIGNAL_H
#define DM_SIGNAL_SIGNAL_H

#include <stdint.h>

#include "geo/geo.h"
#include "bgp/elem.h"
#include "rib/rib.h"
#include "signal/change.h"
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
	double ff_leave;           /* 0.9: full-feed peers leave below ceil(ff_leave x threshold) */
	uint32_t gap_min;          /* 600: seconds of silence before a collector is in a gap;
	                            * 0: every active bin without a record is a gap */
	uint32_t drop_window;      /* 3600: SIG_Q_PEERS_DROPPED while fewer full-feed peers than at
	                            * any bin close of the last drop_window seconds */
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

/* The whole blocks (/24s, /48s) a prefix's country shares earn: total blocks of the prefix
 * shared by largest remainder of the shares' addresses (in the units of geo_share: addresses,
 * IPv6 /64s), ties to the earlier share (geo order: the larger, then the code). Each share's
 * addrs becomes a multiple of block, and they add up to total x block: a block counts for one
 * country only. What the signal does to every prefix <= /24 (/48); exported so that scenario
 * truth counts as replay does. */
void sig_apportion(struct geo_share *sh, int n, uint64_t total, uint64_t block);

struct sig *sig_new(struct rib *rib, sig_geo_fn geo, void *geo_arg, const struct sig_opts *o);
/* A quick answer for IPv4 beside the geo function (called with its arg): the country of the
 * addresses lo..hi (host order) when the geo function would give them all to it, its two
 * letters packed (the first in the high byte), else 0, and the signal asks the geo function
 * (geo.h geo_range4_country). Answers are the same with it or without. */
typedef uint16_t (*sig_geo4_fn)(void *arg, uint32_t lo, uint32_t hi);
/* With it, the same answers for n ranges at once, lo[j]..hi[j] into cc[j] (NULL: fn for each;
 * geo.h geo_range4_countries). */
typedef void (*sig_geo4_batch_fn)(void *arg, const uint32_t *lo, const uint32_t *hi, uint16_t *cc, size_t n);
void sig_set_geo4(struct sig *s, sig_geo4_fn fn, sig_geo4_batch_fn batch);
void sig_free(struct sig *s);
/* Exact snapshots (signal_snap.c, docs/scale.md "Snapshots"): the signal's state whole (not its
 * options, callbacks or mapping, nor sig_set_ff_sizes' sizes: the caller's). sig_snap_read loads
 * one into a signal fresh from sig_new over the RIB the snapshot's RIB part was loaded into: 0,
 * or -1 for bytes that are truncated, corrupt or of another build (then only fit for sig_free). */
struct snapbuf;
struct cur;
void sig_snap_write(struct sig *s, struct snapbuf *b);   /* settles what waits first (signal.c geo_defer) */
int sig_snap_read(struct sig *s, struct cur *c);

void sig_set_emit(struct sig *s, sig_emit_fn fn, void *arg);
/* Per collector and bin, at each bin close: records read, whether its update input was running
 * (active) in the bin, and whether it was in a gap (the rule above: what makes SIG_Q_GAP). */
typedef void (*sig_collector_fn)(void *arg, int64_t t, uint32_t collector, uint64_t records, int active,
                                 int gap);
void sig_set_collector_emit(struct sig *s, sig_collector_fn fn, void *arg);
/* Every change of a prefix's global visibility made by an element after sig_start (never
 * during the RIB load, never by a full-feed set change or a peer outage): signal/change.h. */
typedef void (*sig_change_fn)(void *arg, const struct sig_change *c);
void sig_set_change_emit(struct sig *s, sig_change_fn fn, void *arg);
/* Restrict emitted rows to these entities (plus the global ones); may be called repeatedly. */
void sig_want_country(struct sig *s, const char *cc);
void sig_want_asn(struct sig *s, uint32_t asn);
/* Every country (and the global rows); origin ASes only as asked with sig_want_asn. */
void sig_want_countries(struct sig *s);

/* Phases: elements fed before sig_start build the tables only (the RIB load); sig_start picks
 * the full-feed peers and computes the state; from then on sig_time(ts) closes every bin that
 * ends at or before ts (emitting its rows) before the caller feeds elements of time ts. */
void sig_start(struct sig *s);
void sig_time(struct sig *s, int64_t ts);
void sig_record(struct sig *s, uint32_t collector);
/* The AS hash slot of an origin ASN a record's new attribute set will look up (a hint: the
 * pipeline asks with rib_attr_prefetch's answer, before the record's elements). */
void sig_as_prefetch(const struct sig *s, uint32_t asn);
/* The signal reacts to what the RIB did (it never changes the RIB itself): the caller applies an
 * element with rib_apply (rib/rib.h) and hands the change over, before the next rib_apply. */
void sig_apply(struct sig *s, const struct dm_elem *e, const struct rib_change *ch);
/* rib_apply on the signal's RIB, then sig_apply (tests, tools). */
void sig_elem(struct sig *s, uint32_t collector, const struct dm_elem *e);
/* A collector's update input has begun (records expected in every bin) or ended. */
void sig_collector_active(struct sig *s, uint32_t collector, int active);
/* Closes the open bin (emits it). */
void sig_finish(struct sig *s);

/* ---- partitions of a cluster (src/cluster, docs/scale.md) ----
 * A cluster cuts the elements by address range: each partition's signal sees the routes of its
 * ranges only, so its own table sizes are parts of the peers' sizes. The full-feed choice (at
 * sig_start and every bin close) then reads `sizes` ([2 x peer + family], npeers peers: the
 * sizes summed over every partition) and the RIB load's route counts `rib_routes` (summed)
 * instead of its own, so every partition chooses the set one process would. The arrays must
 * stay valid until the next call; NULL goes back to the RIB's own. */
void sig_set_ff_sizes(struct sig *s, const uint32_t *sizes, uint32_t npeers, const uint64_t rib_routes[2]);
/* Route elements of the family applied before sig_start (what "auto" asks of a RIB load). */
uint64_t sig_rib_routes(const struct sig *s, int fam);
/* An entity's raw state in the open bin, what a partition hands the merger (docs/scale.md):
 * counts that add over partitions (vis, more, ann, wd, intr, cov: covered addresses, IPv4
 * addresses or IPv6 /64s, before rounding to /24s) and per full-feed peer (nff of them, in the
 * set's order; up to max written) the entity's prefixes and units that peer has a path to.
 * Inside the emit callback it is the state of the bin being emitted. 0, or -1 when unknown. */
struct sig_part {
	uint64_t vis, more, ann, wd, intr, cov;
	uint32_t nff;
};
int sig_entity_part(struct sig *s, const struct sig_entity *key, struct sig_part *out, uint32_t *pe_n,
                    uint64_t *pe_units, uint32_t max);

/* ---- introspection (summaries, tests) ---- */
struct sig_fam_info {
	uint32_t nff;              /* full-feed peers now */
	uint32_t threshold;        /* prefixes a peer needs to join the full-feed set */
	uint32_t leave;            /* a full-feed peer leaves below this many */
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
/* 1 when sig_start found no element before it (no RIB): "auto" is then the abs rule only (so
 * it is for a family without a route before sig_start, e.g. IPv6 with an IPv4-only RIB). */
int sig_no_rib(const struct sig *s);
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
