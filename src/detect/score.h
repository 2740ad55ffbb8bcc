/* Scoring detected events against a scenario's ground truth (truth.tsv, docs/eval.md): per
 * truth event found or missed, start/end/duration errors, false alerts per entity-day. Pure
 * library code: it reads the truth file and compares arrays; `darkmap eval` prints the result.
 * The exact rules are in docs/eval.md; the numbers of tests/unit/test_score.c follow them. */
#ifndef DM_DETECT_SCORE_H
#define DM_DETECT_SCORE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "detect/event.h"
#include "signal/series.h"

/* One row of truth.tsv (columns: kind start end start_utc end_utc entity fraction tolerance
 * collector peer note; found by the header's names, so their order is free and the old
 * nk-2014 file without fraction/tolerance still reads). A row naming several entities
 * ("KP/AS131279", the old format) becomes one row per entity. */
struct truth_row {
	char kind[16];               /* outage, instability, flap, reorigin, upstream, ... */
	uint32_t start, end;         /* UTC seconds; end = first second the condition is over */
	struct sig_entity entity;    /* kind 0: none ("all", "-": collector or peer noise) */
	double fraction;             /* share of the entity's /24s lost; 1 when the column is absent */
	uint32_t tolerance;          /* seconds allowed beyond one bin (withdrawal spread) */
	char note[200];
	unsigned line;               /* line in the file, for messages */
};

struct truth {
	struct truth_row *v;
	size_t n;
	uint32_t span_from, span_to;   /* the `scenario` row; both 0 when the file has none */
	unsigned ignored_kinds;        /* rows of kinds that are never scored (flap, peer_reset...) */
};

/* Parses truth.tsv text; name is used in messages ("truth.tsv:12: bad start 'x'"). Returns 0,
 * or DM_ERR_BAD_VALUE / DM_ERR_NOMEM with err->what naming the line. t is empty on failure. */
int truth_parse(const char *name, const char *text, size_t len, struct truth *t, struct dm_error *err);
/* Reads and parses a file; DM_ERR_IO with err->what "PATH: No such file..." when unreadable. */
int truth_load(const char *path, struct truth *t, struct dm_error *err);
void truth_free(struct truth *t);

struct score_opts {
	uint32_t bin;                  /* the detector's bin, seconds (300) */
	double threshold, hard;        /* the detector's thresholds (0.8, 0.5) */
	uint32_t min_duration;         /* the detector's shortest outage, seconds (600) */
	double inst_share;             /* the detector's instability share of the entity (0.5) */
	uint32_t span_from, span_to;   /* used when the truth has no scenario row */
};
void score_opts_default(struct score_opts *o);

enum score_status {
	SCORE_FOUND = 1,         /* a detected event of the expected type within the tolerance */
	SCORE_WRONG_TYPE,        /* within the tolerance, but partial for outage or the reverse */
	SCORE_OFF_TIME,          /* an event of the entity overlaps, but start or end is outside */
	SCORE_MISSED,            /* nothing detected for the entity near the truth window */
	SCORE_NO_SERIES,         /* the entity has no series in the database: cannot be judged */
	SCORE_NOT_REQUIRED,      /* fraction too small for the threshold: not expected, not counted */
};

/* Why an outage row is not required. */
enum score_why_not {
	SCORE_WHY_SHARE = 1,     /* lost share f <= 1 - threshold: the detector does not raise it */
	SCORE_WHY_SHORT,         /* shorter than the detector's shortest outage at this bin */
};

/* One scored unit: an outage or instability row of a country or AS, or consecutive outage rows
 * of one entity at the same expected level (a 0.98 step then a 1.0 step: one outage). */
struct score_row {
	size_t truth, truth_last;  /* first and last truth row (index into truth->v) */
	unsigned merged;           /* truth rows in the unit */
	uint32_t start, end;       /* first row's start, last row's end */
	double fraction;           /* largest lost share of the rows */
	uint32_t tolerance;        /* largest tolerance of the rows */
	uint8_t why_not;           /* enum score_why_not; 0 when required */
	uint8_t expected;          /* DM_EV_OUTAGE, DM_EV_PARTIAL or DM_EV_INSTABILITY */
	uint8_t status;            /* enum score_status */
	int required;
	uint32_t allowed;          /* bin + tolerance, seconds */
	/* The matched event (or, when not found, the nearest overlapping one): */
	long matched;              /* index into the events array, -1 when none */
	uint8_t got_type;
	uint32_t got_start, got_end;
	int got_open;              /* still open at the end of input: got_end = span end */
	int64_t start_err, end_err, dur_err;   /* detected - truth, seconds (signed) */
};

/* A detected alert that no truth row of its entity explains. */
struct score_false {
	size_t event;              /* index into the events array */
	struct sig_entity entity;
	uint8_t type;
	uint32_t start, end;       /* end resolved as for matching; open: span end */
	int open;
};

struct score {
	struct score_row *rows;
	size_t nrows;
	struct score_false *falses;
	size_t nfalse;
	size_t required, found, wrong_type, off_time, missed, no_series;
	size_t skipped_share, skipped_short;   /* units not required, by reason */
	uint32_t shortest;                     /* the duration an outage needs to be required, s */
	size_t alerts;                       /* alerts on judged entities */
	/* Largest absolute errors over found outage/partial rows (instability has no end). */
	int64_t start_err_max, end_err_max, dur_err_max;
	size_t entities;                     /* judged: IPv4 countries and origin ASes */
	uint32_t span_from, span_to;
	double entity_days, false_per_entity_day;
};

/* Scores events (as store_get_events returns them: every entity, any order) against t.
 * ents: the entities with series in the database (store_list_entities); only IPv4 countries
 * and origin ASes are judged. Returns 0 or DM_ERR_NOMEM / DM_ERR_BAD_VALUE (no span: neither
 * a scenario row nor o->span_*). */
int score_run(const struct truth *t, const struct dm_event *ev, size_t nev, const struct sig_entity *ents,
              size_t nents, const struct score_opts *o, struct score *out, struct dm_error *err);
void score_free(struct score *s);

/* "found", "wrong_type", "off_time", "missed", "no_series", "not_required". */
const char *score_status_name(int status);
/* "KP", "AS131279", "-" into buf (at least 16 bytes). */
const char *score_entity_name(const struct sig_entity *e, char *buf, size_t len);

#endif
