/* Streaming detector: turns each entity's visibility series (src/signal) into outage, partial
 * outage, recovery, instability and unknown (data quality) events. The same calls run on
 * replayed archives and on live input: feed every entity once per bin, bins in time order.
 * The exact rules, so anyone can recompute them, are in docs/detect.md. */
#ifndef DM_DETECT_DETECT_H
#define DM_DETECT_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "detect/event.h"
#include "signal/series.h"

/* Upper bound of events one detector_feed call can return (an unknown state closing, an
 * outage/partial/recovery transition, an instability transition; one spare). */
enum { DETECT_MAX_EVENTS = 4 };

struct detect_opts {
	uint32_t bin;                 /* bin length in seconds (300) */
	/* Outage */
	double threshold;             /* outage when slash24 < threshold x baseline (0.8) */
	double recover;               /* recovered when slash24 >= recover x baseline (0.9) */
	double hard;                  /* full outage (not partial) when slash24 < hard x baseline (0.5) */
	uint32_t baseline_window;     /* seconds of good bins in the moving median (7 days) */
	uint32_t min_history;         /* good bins needed before any outage is judged (12) */
	uint32_t min_bins;            /* consecutive bins below threshold before raising (2) */
	uint32_t recover_bins;        /* consecutive bins above recover before recovery (1) */
	/* Data quality */
	double peers_floor;           /* bin unknown when full-feed peers < peers_floor x their
	                               * moving median (0.9); one peer of 40 is 0.975 */
	uint32_t peers_window;        /* seconds of bins in that median, every bin with full-feed
	                               * peers counted, so a lasting change is learnt (1 day) */
	/* Instability */
	uint32_t inst_window;         /* sliding window in seconds (6 h) */
	double inst_factor;           /* raised when window count >= factor x baseline count (3) */
	uint32_t inst_min_count;      /* ... and window count >= this (5) */
	/* Optional: fills ev->affected (space separated prefixes) for outage/partial events; the
	 * detector sees only counts, the caller (with the RIB) knows which prefixes are gone. */
	void (*affected)(void *ctx, const struct sig_entity *e, uint32_t t, char *buf, size_t n);
	void *affected_ctx;
};

/* Fills o with the defaults above. */
void detect_opts_default(struct detect_opts *o);

struct detector;

/* NULL when out of memory or when an option is out of range (thresholds in (0,1],
 * recover >= threshold, hard <= threshold, windows of at least one bin). */
struct detector *detector_new(const struct detect_opts *o);
void detector_free(struct detector *d);

/* Feeds one entity's bin; bins of an entity must come in increasing time order. Writes the
 * events this bin raises into out (at most max; DETECT_MAX_EVENTS is always enough) and
 * returns their number, or a negative enum dm_err (DM_ERR_BAD_VALUE: bin not after the
 * entity's previous bin; DM_ERR_NOMEM). */
int detector_feed(struct detector *d, const struct sig_entity *e, const struct sig_bin *b,
                  struct dm_event *out, int max);

/* At the end of the input: returns the events still open (outage, partial, instability,
 * unknown; end = 0, reason says "open at end of input"), at most max per call; call until it
 * returns 0. */
int detector_finish(struct detector *d, struct dm_event *out, int max);

/* Number of entities the detector tracks, and bytes it holds (for summaries and bench). */
size_t detector_entities(const struct detector *d);
size_t detector_bytes(const struct detector *d);

/* Short stable names: "outage", "partial", "recovery", "instability", "unknown". */
const char *dm_event_type_name(int type);

#endif
