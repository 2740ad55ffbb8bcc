/* darkmap detect: run the streaming detector (src/detect) over the series a replay stored, and
 * tell people: alert lines, JSON, SQLite rows, an optional webhook. Replaying archives then
 * detecting is how any past event is backtested; live input feeds the same detector. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/addr.h"
#include "base/obuf.h"
#include "base/time.h"
#include "cmd/cmds.h"
#include "detect/detect.h"
#include "geo/geo.h"
#include "out/alert.h"
#include "out/webhook.h"
#include "pipeline/pipeline.h"
#include "store/store.h"

static const char usage_text[] =
	"usage: darkmap detect --db FILE [--country CC]... [--asn N]... [--v6] [--all]\n"
	"                      [--json FILE|-] [--quiet] [--webhook URL] [--no-store]\n"
	"                      [--threshold F] [--hard F] [--recover F] [--baseline-days D]\n"
	"                      [--min-duration MIN] [--min-history MIN] [--new-normal-days D]\n"
	"                      [--inst-window H] [--inst-factor F]\n\n"
	"Runs outage, recovery, instability and data-quality detection over every entity's\n"
	"visibility series in FILE (written by `darkmap replay --db`), in time order, and prints\n"
	"one line per alert on stdout, sorted by time. Events are stored in FILE's events table.\n"
	"FILE may be a postgresql://... URI (a PostgreSQL store, docs/scale.md).\n"
	"Rules and defaults: docs/detect.md.\n\n"
	"options:\n"
	"  --country CC     only these countries (repeatable); default: every entity\n"
	"  --asn N          only these origin ASes (repeatable)\n"
	"  --v6             IPv6 entities (default IPv4)\n"
	"  --all            also print data-quality (unknown) events, marked as such\n"
	"  --json FILE|-    also write one JSON object per event (JSON Lines)\n"
	"  --webhook URL    POST each alert's JSON to URL (http://; 3 tries, backoff 0.2 s x2)\n"
	"  --no-store       do not write events to the database\n"
	"  --quiet          no alert lines on stdout (summary on stderr only)\n"
	"  --threshold F    outage below F x baseline /24s (0.8); --hard F: full outage (0.5)\n"
	"  --recover F      recovered at F x baseline (0.9, or halfway from --threshold to 1\n"
	"                   when only --threshold is given and is above 0.8)\n"
	"  --baseline-days D  median window of normal bins (7)\n"
	"  --min-duration MIN minutes below threshold before raising, and at a new level\n"
	"                   before an escalation or de-escalation (10)\n"
	"  --min-history MIN  minutes of normal data before any judgement (60)\n"
	"  --new-normal-days D an outage lasting D days is declared the new normal (21)\n"
	"  --inst-window H  instability window in hours (6); --inst-factor F (3)\n"
	"Every guard is a duration, so results agree across bin sizes within one bin.\n";


struct found {
	struct dm_event ev;
	uint64_t order;   /* (time, sequence) for a stable sort across entities */
};

static int cmp_found(const void *a, const void *b)
{
	const struct found *x = a, *y = b;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int64_t event_time(const struct dm_event *e)
{
	/* closing events are told when they happen (end), opening ones at their start */
	return e->end ? e->end : e->start;
}

static int want(const struct sig_entity *e, char (*ccs)[3], int ncc, const uint32_t *asns, int nas, int afi)
{
	if (e->afi != afi)
		return 0;
	if (!ncc && !nas)
		return e->kind == SIG_COUNTRY || e->kind == SIG_ASN;
	for (int i = 0; i < ncc; i++)
		if (e->kind == SIG_COUNTRY && !strcmp(e->cc, ccs[i]))
			return 1;
	for (int i = 0; i < nas; i++)
		if (e->kind == SIG_ASN && e->asn == asns[i])
			return 1;
	return 0;
}

int cmd_detect(int argc, char **argv)
{
	const char *db = NULL, *json = NULL, *hook = NULL;
	char ccs[64][3];
	uint32_t asns[64];
	int ncc = 0, nas = 0, afi = 1, all = 0, store_events = 1, quiet = 0;
	/* the detection rules: the pipeline's parser, shared with replay --detect */
	struct pl_opts po;
	pl_opts_default(&po, "detect");
	char why[256];
	int r;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV()                                                                                                        \
	do {                                                                                                           \
		if (!v) {                                                                                              \
			fprintf(stderr, "darkmap detect: %s needs a value\n", a);                                      \
			return EXIT_USAGE;                                                                             \
		}                                                                                                      \
		i++;                                                                                                   \
	} while (0)
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, stdout);
			return EXIT_OK;
		} else if (!strcmp(a, "--db")) {
			NEEDV();
			db = v;
		} else if (!strcmp(a, "--country")) {
			NEEDV();
			if (strlen(v) != 2 || ncc == 64) {
				fprintf(stderr, "darkmap detect: --country wants a two-letter code, got '%s'\n", v);
				return EXIT_USAGE;
			}
			snprintf(ccs[ncc++], 3, "%c%c", v[0] & ~0x20, v[1] & ~0x20);
		} else if (!strcmp(a, "--asn")) {
			NEEDV();
			const char *s = !strncasecmp(v, "AS", 2) ? v + 2 : v;
			char *end;
			unsigned long n = strtoul(s, &end, 10);
			if (*end || end == s || n > 0xffffffffUL || nas == 64) {
				fprintf(stderr, "darkmap detect: bad --asn '%s'\n", v);
				return EXIT_USAGE;
			}
			asns[nas++] = (uint32_t)n;
		} else if (!strcmp(a, "--v6")) {
			afi = 2;
		} else if (!strcmp(a, "--all")) {
			all = 1;
		} else if (!strcmp(a, "--json")) {
			NEEDV();
			json = v;
		} else if (!strcmp(a, "--webhook")) {
			NEEDV();
			hook = v;
		} else if (!strcmp(a, "--no-store")) {
			store_events = 0;
		} else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			quiet = 1;
		} else if ((r = pl_opts_parse_detect(&po, argc, argv, &i, why, sizeof why)) != 0) {
			if (r < 0) {
				fprintf(stderr, "darkmap detect: %s\n", why);
				return EXIT_USAGE;
			}
		} else {
			fprintf(stderr, "darkmap detect: unknown option '%s'\n%s", a, usage_text);
			return EXIT_USAGE;
		}
#undef NEEDV
	}
	if (!db) {
		fprintf(stderr, "darkmap detect: --db FILE is required\n%s", usage_text);
		return EXIT_USAGE;
	}
	struct dm_error err;
	/* --no-store writes nothing: a read-only database (or file system) is then fine */
	struct store *st = store_events ? store_open(db, &err) : store_open_ro(db, &err);
	if (!st) {
		fprintf(stderr, "darkmap detect: %s\n", err.what);
		return EXIT_FAILURE_;
	}
	struct detect_opts o = po.det;
	char binbuf[32];
	if (store_get_meta(st, "bin", binbuf, sizeof binbuf) == 0 && atoi(binbuf) > 0)
		o.bin = (uint32_t)atoi(binbuf);
	/* --threshold above the default recovery line: recover halfway to 1, so that
	 * `--threshold 0.95` alone means what it says rather than being refused */
	if (po.det_threshold_given && !po.det_recover_given && o.recover < o.threshold)
		o.recover = o.threshold + (1 - o.threshold) / 2;
	if (detect_opts_check(&o, why, sizeof why)) {
		fprintf(stderr, "darkmap detect: options out of range: %s (bin %u s from the database)\n", why, o.bin);
		store_close(st);
		return EXIT_USAGE;
	}
	struct detector *d = detector_new(&o);
	if (!d) {
		fputs("darkmap detect: out of memory\n", stderr);
		store_close(st);
		return EXIT_FAILURE_;
	}
	struct sig_entity *ents = NULL;
	size_t nents = 0;
	int rc = EXIT_OK;
	if (store_list_entities(st, &ents, &nents)) {
		fprintf(stderr, "darkmap detect: %s\n", store_errmsg(st));
		rc = EXIT_FAILURE_;
		goto out;
	}
	struct found *found = NULL;
	size_t nfound = 0, capfound = 0, nbins = 0, nent_used = 0;
	for (size_t i = 0; i < nents; i++) {
		if (!want(&ents[i], ccs, ncc, asns, nas, afi))
			continue;
		struct sig_bin *bins = NULL;
		size_t n = 0;
		if (store_get_bins(st, &ents[i], 0, UINT32_MAX, &bins, &n)) {
			fprintf(stderr, "darkmap detect: %s\n", store_errmsg(st));
			rc = EXIT_FAILURE_;
			break;
		}
		nent_used++;
		nbins += n;
		for (size_t k = 0; k <= n; k++) {
			struct dm_event ev[DETECT_MAX_EVENTS];
			int got = k < n ? detector_feed(d, &ents[i], &bins[k], ev, DETECT_MAX_EVENTS) : 0;
			if (got < 0) {
				fprintf(stderr, "darkmap detect: entity series out of order at t=%lld\n", (long long)bins[k].t);
				break;
			}
			for (int j = 0; j < got; j++) {
				if (nfound == capfound) {
					capfound = capfound ? capfound * 2 : 64;
					struct found *m = realloc(found, capfound * sizeof *m);
					if (!m) {
						fputs("darkmap detect: out of memory\n", stderr);
						exit(EXIT_FAILURE_);
					}
					found = m;
				}
				found[nfound].ev = ev[j];
				found[nfound].order = (uint64_t)event_time(&ev[j]) << 24 | (nfound & 0xffffff);
				nfound++;
			}
		}
		free(bins);
	}
	/* Events still open at the end of the data were told (and stored) when raised: they are
	 * named once in the summary, not printed again. */
	struct alert_open open;
	alert_open_collect(d, &open);
	if (nfound)
		qsort(found, nfound, sizeof *found, cmp_found);

	/* Mapping sources (AS names, the two country views) only when an event needs them:
	 * loading them takes a moment. */
	struct alert_names names = { geo_country_name, NULL, NULL };
	struct geo_db *geo = NULL;
	for (size_t i = 0; i < nfound && !geo; i++) {
		const struct dm_event *ev = &found[i].ev;
		if (ev->entity.kind == SIG_ASN || ev->type == DM_EV_OUTAGE || ev->type == DM_EV_PARTIAL) {
			struct dm_error gerr;
			geo = geo_db_new();
			if (geo && geo_load_defaults(geo, &gerr) >= 0) {
				names.as_name = geo_as_name;
				names.geo = geo;
			}
		}
	}
	for (size_t i = 0; i < nfound; i++) {
		struct dm_event *ev = &found[i].ev;
		if (ev->type == DM_EV_OUTAGE || ev->type == DM_EV_PARTIAL || ev->type == DM_EV_NEWNORMAL)
			alert_evidence(st, ev, o.bin, names.geo);
	}
	struct obuf out, js;
	obuf_init_fd(&out, 1);
	FILE *jf = NULL;
	if (json)
		jf = strcmp(json, "-") ? fopen(json, "w") : stdout;
	if (json && !jf) {
		fprintf(stderr, "darkmap detect: %s: %s\n", json, strerror(errno));
		rc = EXIT_FAILURE_;
	}
	obuf_init_mem(&js);
	struct webhook_opts wo;
	webhook_opts_default(&wo);
	unsigned alerts = 0, unknowns = 0, hook_fail = 0;
	if (store_events && store_begin(st)) {
		fprintf(stderr, "darkmap detect: events not stored: %s\n", store_errmsg(st));
		rc = EXIT_FAILURE_;
		store_events = 0;
	}
	if (store_events) {
		/* the rules this run used, for `darkmap eval` and anyone reading the events */
		const struct { const char *key; double v; } rules[] = {
			{"detect_bin", o.bin}, {"detect_threshold", o.threshold}, {"detect_hard", o.hard},
			{"detect_recover", o.recover}, {"detect_min_duration", o.min_duration},
			{"detect_inst_share", o.inst_min_share},
		};
		for (size_t k = 0; k < sizeof rules / sizeof rules[0]; k++) {
			char mv[32];
			snprintf(mv, sizeof mv, "%g", rules[k].v);
			if (store_events && store_put_meta(st, rules[k].key, mv)) {
				fprintf(stderr, "darkmap detect: events not stored: %s\n", store_errmsg(st));
				rc = EXIT_FAILURE_;
				store_events = 0;
			}
		}
	}
	for (size_t i = 0; i < nfound; i++) {
		const struct dm_event *ev = &found[i].ev;
		int is_alert = alert_is_alert(ev);
		if (is_alert)
			alerts++;
		else
			unknowns++;
		if (!quiet && (is_alert || all)) {
			if (!is_alert)
				obuf_puts(&out, "[data quality] ");
			alert_text(&out, ev, &names);
		}
		if (jf || (hook && is_alert)) {
			js.len = 0;
			alert_json(&js, ev, &names);
			if (jf) {
				fwrite(js.buf, 1, js.len, jf);
				fputc('\n', jf);
			}
			if (hook && is_alert) {
				struct webhook_result res;
				if (webhook_post(hook, js.buf, js.len, &wo, &res)) {
					hook_fail++;
					fprintf(stderr, "darkmap detect: %s\n", res.error);
				}
			}
		}
		if (store_events && store_put_event(st, ev)) {
			fprintf(stderr, "darkmap detect: %s\n", store_errmsg(st));
			rc = EXIT_FAILURE_;
			store_events = 0;
		}
	}
	if (store_events && store_commit(st)) {
		fprintf(stderr, "darkmap detect: %s\n", store_errmsg(st));
		rc = EXIT_FAILURE_;
	}
	/* Every output checked (issue 9): a full disk or a closed pipe is an error, exit 3. */
	int werr = obuf_free(&out);
	obuf_free(&js);
	if (werr) {
		fprintf(stderr, "darkmap detect: writing the alerts to standard output failed: %s\n", strerror(werr));
		rc = EXIT_FAILURE_;
	}
	if (jf) {
		errno = 0;
		int bad = jf == stdout ? fflush(jf) != 0 || ferror(jf) : (ferror(jf) | fclose(jf)) != 0;
		if (bad) {
			fprintf(stderr, "darkmap detect: writing the JSON to %s failed: %s\n",
			        jf == stdout ? "standard output" : json, errno ? strerror(errno) : "I/O error");
			rc = EXIT_FAILURE_;
		}
	}
	/* data quality is a property of the input (a collector gap, peers dropping), so every
	 * entity reports the same periods: count the periods, not the per-entity events */
	unsigned periods = 0;
	int64_t starts[256];
	for (size_t i = 0; i < nfound; i++) {
		const struct dm_event *ev = &found[i].ev;
		if (alert_is_alert(ev) || ev->end)
			continue;
		unsigned k = 0;
		while (k < periods && k < 256 && starts[k] != ev->start)
			k++;
		if (k == periods) {
			if (periods < 256)
				starts[periods] = ev->start;
			periods++;
		}
	}
	/* What was judged: a detector that never left warm-up has no opinion, and says so rather
	 * than "0 alerts". */
	struct detect_coverage cov;
	detector_coverage(d, &cov);
	char t0[32], t1[32];
	if (cov.judged == 0 && cov.best_history == 0) {
		fprintf(stderr, "darkmap detect: %zu entities, %zu bins: no judgement: not one bin of good data (no "
		        "full-feed peer, or every bin flagged; a replay without a RIB has no full-feed peer until a "
		        "peer's table is complete)\n", nent_used, nbins);
		rc = rc == EXIT_OK ? EXIT_DATA_ERRORS : rc;
	} else if (cov.judged == 0) {
		fprintf(stderr, "darkmap detect: %zu entities, %zu bins: no judgement: at most %u of the %u bins of "
		        "normal data needed (%u min at %u s bins) before any entity can be judged%s\n", nent_used, nbins,
		        cov.best_history, cov.need_history, cov.need_history * o.bin / 60, o.bin,
		        nbins ? "; replay a longer period, or a RIB and the updates after it" : "");
		rc = rc == EXIT_OK ? EXIT_DATA_ERRORS : rc;
	} else {
		fprintf(stderr, "darkmap detect: %zu entities, %zu bins: %u alerts; %u data-quality periods (%u per-entity "
		        "events, --all prints them)%s\n", nent_used, nbins, alerts, periods, unknowns,
		        hook_fail ? "; some webhook posts failed" : "");
		fprintf(stderr, "darkmap detect: judged %s - %s for %zu of %zu entities (no judgement before: each "
		        "entity's first %u min of normal data are its baseline", dm_time_fmt(cov.first_judged, DM_TIME_UTC, t0),
		        dm_time_fmt(cov.last_t + o.bin, DM_TIME_UTC, t1), cov.judged, cov.entities, cov.need_history * o.bin / 60);
		if (cov.judged < cov.entities)
			fprintf(stderr, "; %zu never had %u min of normal data with /24s visible", cov.entities - cov.judged,
			        cov.need_history * o.bin / 60);
		fputs(")\n", stderr);
	}
	alert_open_print(stderr, "darkmap detect", &open, &names);
	if (hook_fail && rc == EXIT_OK)
		rc = EXIT_DATA_ERRORS; /* the alerts were made but not all were delivered */
	free(found);
	geo_db_free(geo);
out:
	free(ents);
	detector_free(d);
	store_close(st);
	return rc;
}
