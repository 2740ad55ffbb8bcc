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
 * outage/partial/recovery/newnormal transition, an instability transition; one spare). */
enum { DETECT_MAX_EVENTS = 4 };

/* Every guard is a duration in seconds, turned into bins as ceil(duration / bin) (at least 1),
 * so results agree across bin sizes within one bin (docs/detect.md "Durations, not bins"). */
struct detect_opts {
	uint32_t bin;                 /* bin length in seconds (300) */
	/* Outage levels, as fractions of the baseline */
	double threshold;             /* below it a normal entity is in (partial) outage (0.8) */
	double recover;               /* back at or above it: recovered (0.9) */
	double hard;                  /* below it: a full outage, not partial (0.5) */
	/* Baseline: median of normal bins only, frozen while an event is open */
	uint32_t baseline_window;     /* seconds of normal bins in the moving median (7 days) */
	uint32_t min_history;         /* seconds of normal bins before any judgement (1 h) */
	uint32_t min_duration;        /* seconds below threshold before raising, and at a new level
	                               * before an escalation / de-escalation (10 min) */
	uint32_t recover_duration;    /* seconds at or above recover before recovery (0: first bin) */
	uint32_t new_normal;          /* an event open this long is declared the new normal (21 days) */
	uint32_t settle;              /* seconds after a recovery whose interruptions are not
	                               * instability (restoration stragglers) (1 h) */
	/* Data quality */
	double peers_floor;           /* bin unknown when full-feed peers < peers_floor x their
	                               * moving median (0.9); one peer of 40 is 0.975 */
	uint32_t peers_window;        /* seconds of bins in that median, every bin with full-feed
	                               * peers counted, so a lasting change is learnt (1 day) */
	/* Instability */
	uint32_t inst_window;         /* sliding window in seconds (6 h) */
	double inst_factor;           /* raised when window count >= factor x baseline count (3) */
	uint32_t inst_min_count;      /* ... and window count >= this (5) */
	double inst_min_share;        /* ... and >= this x the entity's visible prefixes (0.5): the
	                               * entity as a whole is unstable, not a few of its networks */
};

/* Fills o with the defaults above. */
void detect_opts_default(struct detect_opts *o);

struct detector;

/* Checks the options: 0, or -1 with why (naming the option and the rule) in why[n]. */
int detect_opts_check(const struct detect_opts *o, char *why, size_t n);

/* NULL when out of memory or when detect_opts_check refuses the options. */
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

/* What could be judged: warm-up and too-short data are stated, never silent. */
struct detect_coverage {
	size_t entities;              /* entities fed */
	size_t judged;                /* entities that left warm-up */
	int64_t first_judged;         /* earliest bin judged (0: none) */
	int64_t last_t;               /* latest bin fed */
	uint32_t best_history;        /* most normal bins any entity gathered (when none judged) */
	uint32_t need_history;        /* normal bins needed: ceil(min_history / bin) */
};
void detector_coverage(const struct detector *d, struct detect_coverage *c);

/* Number of entities the detector tracks, and bytes it holds (for summaries and bench). */
size_t detector_entities(const struct detector *d);
size_t detector_bytes(const struct detector *d);

/* The words of a bin's sig_quality flags: "collector gap, full-feed set changed" ("" for none),
 * into buf (n bytes); returns buf. */
const char *dm_quality_words(uint8_t q, char *buf, size_t n);

/* Short stable names: "outage", "partial", "recovery", "instability", "unknown",
 * "newnormal". */
const char *dm_event_type_name(int type);

#endif
