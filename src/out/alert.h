/* Alerts: each detector event (src/detect) as the short text line a person would post, with
 * its evidence, and as one JSON object. Formats and examples: docs/detect.md. */
#ifndef DM_OUT_ALERT_H
#define DM_OUT_ALERT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/obuf.h"
#include "detect/event.h"

struct geo_db;

/* Where names come from. Pass geo_country_name / geo_as_name (src/geo/geo.h) or your own;
 * any member may be NULL, and a NULL answer leaves the name out. */
struct alert_names {
	const char *(*country_name)(const char *cc);                     /* "KP" -> "North Korea" */
	const char *(*as_name)(const struct geo_db *g, uint32_t asn);    /* 131279 -> "..." */
	const struct geo_db *geo;                                        /* passed to as_name */
};

/* "KP (North Korea)", "AS131279 (Ryugyong-dong)", "AS64500", "global"; IPv6 entities get
 * " IPv6" appended. Always NUL-terminated; returns the length written. */
size_t alert_entity_label(const struct sig_entity *e, const struct alert_names *names, char *buf, size_t n);

/* "9 h 31 min", "45 min", "2 d 3 h", "0 min": whole minutes, seconds dropped. */
size_t alert_duration(uint32_t seconds, char *buf, size_t n);

/* 1 when a person should be told (outage, partial, recovery, instability rising or subsiding);
 * 0 for unknown (data quality) events, which sinks log but do not push as alerts. */
int alert_is_alert(const struct dm_event *ev);

/* One text line, ending in '\n'. */
void alert_text(struct obuf *o, const struct dm_event *ev, const struct alert_names *names);

/* Appends to ev->evidence what carries a loss (outage, partial, new normal), from the
 * visibility changes stored in st around the event (docs/detect.md "Evidence"): the origin ASes
 * of the lost /24s with their shares, the upstream they were last seen through, the peer that
 * withdrew last, and for a country where the two mapping views (geo, may be NULL) disagree.
 * `darkmap detect` and the pipeline's streaming detector both call it. */
struct store;
void alert_evidence(struct store *st, struct dm_event *ev, uint32_t bin, const struct geo_db *geo);

/* The same from changes the caller holds (a pipeline without a database keeps its recent losses
 * in memory): ch are the changes of [from, to) (alert_evidence_window) that alert_change_of
 * accepts for ev->entity, ordered by time, ties in the order they were made. */
struct sig_change;
void alert_evidence_window(const struct dm_event *ev, uint32_t bin, int64_t *from, int64_t *to);
int alert_change_of(const struct sig_change *c, const struct sig_entity *e);
void alert_evidence_of(struct dm_event *ev, const struct sig_change *ch, size_t n, const struct geo_db *geo);

/* One JSON object (no trailing newline). Field list: docs/detect.md. */
void alert_json(struct obuf *o, const struct dm_event *ev, const struct alert_names *names);

/* The alerts still open when the data ends: told (and stored) when raised, so `detect` and the
 * pipeline name them once in their summary. alert_open_collect drains detector_finish, keeping
 * the first ones and counting all; alert_open_print writes "WHO: N events still open at the end
 * of the data: KP outage since ..." (nothing when none is open). */
struct detector;
struct alert_open {
	struct dm_event ev[16];
	size_t n;
};
void alert_open_collect(struct detector *d, struct alert_open *o);
void alert_open_print(FILE *f, const char *who, const struct alert_open *o, const struct alert_names *names);

#endif
