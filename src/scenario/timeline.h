/* The scenario timeline language (docs/scenario.md): a file of settings (span, peers, seed, sets,
 * routes, ...) and event rows (outage, flap, peer_reset, ...) read into a struct timeline. Every
 * problem is an error value with its line, in file order; the caller prints them as
 * FILE:LINE: message. What needs a prefix table (resolving countries, ASes and prefixes to
 * routes) and the generation itself are `darkmap scenario`'s (src/cmd/scenario.c). */
#ifndef DM_SCENARIO_TIMELINE_H
#define DM_SCENARIO_TIMELINE_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "base/addr.h"

enum tl_kind { TL_OUTAGE, TL_INSTABILITY, TL_FLAP, TL_REORIGIN, TL_UPSTREAM, TL_PEER_RESET,
               TL_COLLECTOR_GAP, TL_CHURN, TL_NKINDS };

enum {
	TL_MAX_EXCEPT = 32,
	TL_MAX_PEERS = 40,       /* the generator's simulated peers */
	TL_SET_NONE = -1,        /* struct tl_row.set: the target is not set:NAME */
	TL_SET_UNKNOWN = -2,     /* set:NAME with no set row of that name (reported on resolution) */
};

struct tl_row {
	enum tl_kind kind;
	int line;
	int64_t start, end;                /* start < end, both within 1970..2106 */
	char *target, *note;
	double fraction, peers, rate;      /* peers: share of the peers taking part */
	int64_t spread, restore_spread;
	double first, last;                /* instability: minutes between flaps */
	uint32_t to, via;
	uint32_t except[TL_MAX_EXCEPT];
	int nexcept;
	int set;                           /* set:NAME targets: index in set[], or TL_SET_* */
};

struct tl_set {
	char name[64];
	char *items;
	int line;
};

struct tl_route {                      /* `route P,P,... ASN`: routes the table must hold */
	struct dm_prefix p;
	uint32_t origin;
	int line;
};

struct tl_error {
	int line;
	char *msg;
};

struct timeline {
	char path[PATH_MAX];
	char name[128];
	int64_t from, to;
	int have_span, span_line;
	int peers, peers_set;
	uint64_t seed;
	int seed_set;
	double churn;
	int churn_set;
	long sample;
	int sample_set;
	char countries[1024];
	int countries_set;
	char date_shift[64];
	struct tl_set *set;
	int nset;
	struct tl_route *add;
	int nadd;
	struct tl_row *row;                /* the rows without errors, in file order */
	int nrow;
	struct tl_error *err;              /* in file order */
	int nerr;
	int nomem;                         /* an allocation failed */
};

/* Reads a timeline from f (named path in errors), into a zeroed tl. Bad rows are left out,
 * each with an error; returns 0, or -1 out of memory (tl is then freed). */
int timeline_read(struct timeline *tl, FILE *f, const char *path);
/* Rows must lie inside the file's span: one error per row outside it (known once the whole file
 * is read: the span may come after the rows). Returns the errors added, or -1 out of memory. */
int timeline_check_span(struct timeline *tl);
void timeline_free(struct timeline *tl);

const char *tl_kind_name(enum tl_kind k);
/* "AS131279" or "131279" -> 131279 (1..2^32-1); 0 or -1. */
int tl_parse_asn(const char *s, uint32_t *out);
int tl_is_country_code(const char *s);
/* "1418342400", "2014-12-12", "2014-12-12T00:00", "2014-12-12 00:00:00Z" (UTC): 0 or -1. */
int tl_parse_time(const char *s, int64_t *out);
/* "2014-12-12T00:00:00Z" for an epoch time. */
void tl_fmt_iso(int64_t t, char *buf, size_t n);

#endif
