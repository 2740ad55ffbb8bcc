/* darkmap eval: score the events `darkmap detect` stored in a database against a scenario's
 * ground truth (truth.tsv): per truth event found or missed with its start, end and duration
 * errors, false alerts per entity-day; a table and JSON. Rules: docs/eval.md (src/detect/score). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/obuf.h"
#include "base/time.h"
#include "cmd/cmds.h"
#include "detect/detect.h"
#include "detect/score.h"
#include "out/json.h"
#include "store/store.h"

static const char usage_text[] =
	"usage: darkmap eval --truth FILE --db FILE [--json FILE|-] [--bin N]\n"
	"                    [--threshold F] [--hard F]\n\n"
	"Scores the events `darkmap detect` stored in the database against a scenario's ground\n"
	"truth (truth.tsv, written by `darkmap scenario`): one line per truth outage or instability\n"
	"event of a country or AS (found or missed; start, end and duration errors in seconds),\n"
	"then the false alerts (alerts that no truth row of their entity explains), then a summary:\n"
	"  N of M events found, start error max X s, end error max Y s, F false alerts (Z per entity-day)\n"
	"Rules: docs/eval.md.\n\n"
	"options:\n"
	"  --truth FILE     the scenario's truth.tsv\n"
	"  --db FILE        the database replay wrote and detect filled\n"
	"  --json FILE|-    also write the result as one JSON object\n"
	"  --bin N          the detector's bin in seconds (default: the database's meta\n"
	"                   detect_bin, else bin)\n"
	"  --threshold F, --hard F   the detector's thresholds (default: meta detect_threshold,\n"
	"                   detect_hard, else 0.8 and 0.5)\n"
	"Exit status: 0 every required event found and no false alert, 1 some missed or false,\n"
	"2 usage or a malformed truth file, 3 failure (unreadable database or file).\n";

/* "2014-12-22 16:15", with seconds when the time has them */
static void fmt_time(uint32_t t, char buf[32])
{
	dm_time_fmt(t, t % 60 ? "%Y-%m-%d %H:%M:%S" : DM_TIME_MIN, buf);
}

static const char *type_name(int type)
{
	return type == DM_EV_INSTABILITY ? "instability" : dm_event_type_name(type);
}

static void json_kv_str(struct obuf *o, const char *key, const char *v)
{
	obuf_printf(o, "\"%s\":", key);
	json_str(o, v, strlen(v));
}

static void json_time(struct obuf *o, const char *key, uint32_t t)
{
	char b[32];
	dm_time_fmt(t, DM_TIME_ISO, b);
	obuf_printf(o, "\"%s\":%u,\"%s_utc\":\"%s\"", key, t, key, b);
}

static void write_json(struct obuf *o, const char *truth_path, const char *db, const struct truth *t,
                       const struct dm_event *ev, const struct score *s, const struct score_opts *so, int ok)
{
	char name[24];
	obuf_puts(o, "{");
	json_kv_str(o, "truth", truth_path);
	obuf_putc(o, ',');
	json_kv_str(o, "db", db);
	obuf_printf(o, ",\"bin\":%u,\"threshold\":%g,\"hard\":%g,\"min_duration\":%u,\"shortest\":%u,", so->bin,
	            so->threshold, so->hard, so->min_duration, s->shortest);
	obuf_puts(o, "\"span\":{");
	json_time(o, "start", s->span_from);
	obuf_putc(o, ',');
	json_time(o, "end", s->span_to);
	obuf_printf(o, "},\"entities\":%zu,\"entity_days\":%.4f,\n\"events\":[", s->entities, s->entity_days);
	for (size_t i = 0; i < s->nrows; i++) {
		const struct score_row *r = &s->rows[i];
		const struct truth_row *tr = &t->v[r->truth];
		obuf_puts(o, i ? ",\n {" : "\n {");
		obuf_printf(o, "\"line\":%u,\"rows\":%u,\"last_line\":%u,", tr->line, r->merged, t->v[r->truth_last].line);
		json_kv_str(o, "entity", score_entity_name(&tr->entity, name, sizeof name));
		obuf_putc(o, ',');
		json_kv_str(o, "kind", tr->kind);
		obuf_putc(o, ',');
		json_time(o, "start", r->start);
		obuf_putc(o, ',');
		json_time(o, "end", r->end);
		if (r->expected == DM_EV_INSTABILITY)
			obuf_puts(o, ",\"fraction\":null");
		else
			obuf_printf(o, ",\"fraction\":%.4f", r->fraction);
		obuf_printf(o, ",\"not_required\":%s",
		            r->why_not == SCORE_WHY_SHARE   ? "\"share\""
		            : r->why_not == SCORE_WHY_SHORT ? "\"short\""
		                                            : "null");
		obuf_printf(o, ",\"tolerance\":%u,\"required\":%s,\"expected\":\"%s\",\"status\":\"%s\","
		            "\"found\":%s,\"allowed\":%u,\"detected\":",
		            r->tolerance, r->required ? "true" : "false", type_name(r->expected),
		            score_status_name(r->status), r->status == SCORE_FOUND ? "true" : "false", r->allowed);
		if (r->matched < 0) {
			obuf_puts(o, "null,\"start_error\":null,\"end_error\":null,\"duration_error\":null");
		} else {
			obuf_printf(o, "{\"type\":\"%s\",", type_name(r->got_type));
			json_time(o, "start", r->got_start);
			obuf_putc(o, ',');
			json_time(o, "end", r->got_end);
			obuf_printf(o, ",\"open\":%s},\"start_error\":%lld,", r->got_open ? "true" : "false",
			            (long long)r->start_err);
			if (r->expected == DM_EV_INSTABILITY)
				obuf_puts(o, "\"end_error\":null,\"duration_error\":null");
			else
				obuf_printf(o, "\"end_error\":%lld,\"duration_error\":%lld", (long long)r->end_err,
				            (long long)r->dur_err);
		}
		obuf_putc(o, ',');
		json_kv_str(o, "note", tr->note);
		obuf_putc(o, '}');
	}
	obuf_puts(o, "\n],\n\"false_alerts\":[");
	for (size_t i = 0; i < s->nfalse; i++) {
		const struct score_false *f = &s->falses[i];
		obuf_puts(o, i ? ",\n {" : "\n {");
		json_kv_str(o, "entity", score_entity_name(&f->entity, name, sizeof name));
		obuf_printf(o, ",\"type\":\"%s\",", type_name(f->type));
		json_time(o, "start", f->start);
		obuf_putc(o, ',');
		json_time(o, "end", f->end);
		obuf_printf(o, ",\"open\":%s,", f->open ? "true" : "false");
		json_kv_str(o, "reason", ev[f->event].reason);
		obuf_putc(o, '}');
	}
	obuf_printf(o, "\n],\n\"summary\":{\"required\":%zu,\"found\":%zu,\"wrong_type\":%zu,\"off_time\":%zu,"
	            "\"missed\":%zu,\"no_series\":%zu,\"not_required_share\":%zu,\"not_required_short\":%zu,\"start_error_max\":%lld,\"end_error_max\":%lld,"
	            "\"duration_error_max\":%lld,\"alerts\":%zu,\"false_alerts\":%zu,\"false_per_entity_day\":%.6g,"
	            "\"ok\":%s}}\n",
	            s->required, s->found, s->wrong_type, s->off_time, s->missed, s->no_series, s->skipped_share,
	            s->skipped_short, (long long)s->start_err_max, (long long)s->end_err_max, (long long)s->dur_err_max, s->alerts,
	            s->nfalse, s->false_per_entity_day, ok ? "true" : "false");
}

static void fmt_err(char *buf, size_t n, int64_t v)
{
	snprintf(buf, n, "%+lld s", (long long)v);
	if (v == 0)
		snprintf(buf, n, "0 s");
}

static void write_table(struct obuf *o, const struct truth *t, const struct score *s)
{
	char name[24], a[32], b[32], se[24], ee[24], de[24];
	obuf_printf(o, "%-9s %-11s %-37s %6s %-11s %-12s %-17s %9s %9s %9s %7s\n", "entity", "kind",
	            "truth (UTC)", "lost", "expected", "result", "detected", "start_err", "end_err", "dur_err",
	            "allowed");
	for (size_t i = 0; i < s->nrows; i++) {
		const struct score_row *r = &s->rows[i];
		const struct truth_row *tr = &t->v[r->truth];
		char span[80], lost[16], allowed[16];
		fmt_time(r->start, a);
		fmt_time(r->end, b);
		snprintf(span, sizeof span, "%s - %s", a, b);
		if (r->expected == DM_EV_INSTABILITY) {
			snprintf(lost, sizeof lost, "-");
			snprintf(allowed, sizeof allowed, "inside");
		} else {
			snprintf(lost, sizeof lost, "%.3f", r->fraction);
			snprintf(allowed, sizeof allowed, "%u s", r->allowed);
		}
		const char *got = r->matched < 0 ? "-" : r->got_open ? "open" : type_name(r->got_type);
		char gotbuf[24];
		if (r->matched >= 0 && r->got_open) {
			snprintf(gotbuf, sizeof gotbuf, "%s(open)", type_name(r->got_type));
			got = gotbuf;
		}
		snprintf(se, sizeof se, "-");
		snprintf(ee, sizeof ee, "-");
		snprintf(de, sizeof de, "-");
		if (r->matched >= 0) {
			fmt_err(se, sizeof se, r->start_err);
			if (r->expected != DM_EV_INSTABILITY) {
				fmt_err(ee, sizeof ee, r->end_err);
				fmt_err(de, sizeof de, r->dur_err);
			}
		}
		char kind[40];
		if (r->merged > 1)
			snprintf(kind, sizeof kind, "%s(%u)", tr->kind, r->merged);
		else
			snprintf(kind, sizeof kind, "%s", tr->kind);
		const char *result = r->why_not == SCORE_WHY_SHARE   ? "skip: share"
		                     : r->why_not == SCORE_WHY_SHORT ? "skip: short"
		                                                     : score_status_name(r->status);
		obuf_printf(o, "%-9s %-11s %-37s %6s %-11s %-12s %-17s %9s %9s %9s %7s\n",
		            score_entity_name(&tr->entity, name, sizeof name), kind, span, lost,
		            type_name(r->expected), result, got,
		            se, ee, de, allowed);
	}
	if (!s->nfalse) {
		obuf_puts(o, "false alerts: none\n");
	} else {
		obuf_printf(o, "false alerts (no truth row of the entity within bin + tolerance): %zu\n", s->nfalse);
		for (size_t i = 0; i < s->nfalse; i++) {
			const struct score_false *f = &s->falses[i];
			fmt_time(f->start, a);
			if (f->open)
				snprintf(b, sizeof b, "(open at end)");
			else
				fmt_time(f->end, b);
			obuf_printf(o, "  %-9s %-11s %s - %s\n", score_entity_name(&f->entity, name, sizeof name),
			            type_name(f->type), a, b);
		}
	}
	if (t->ignored_kinds)
		obuf_printf(o, "not scored: %u truth rows of other kinds (they excuse their entity's alerts)\n",
		            t->ignored_kinds);
	if (s->skipped_share || s->skipped_short)
		obuf_printf(o, "not required: %zu with a lost share the detector does not raise (<= 1 - threshold), "
		            "%zu shorter than its shortest outage (%u s at this bin)\n",
		            s->skipped_share, s->skipped_short, s->shortest);
	if (s->wrong_type || s->off_time || s->missed || s->no_series)
		obuf_printf(o, "not found: %zu wrong type, %zu outside the tolerance, %zu with nothing detected, "
		            "%zu without a series in the database\n",
		            s->wrong_type, s->off_time, s->missed, s->no_series);
	obuf_printf(o, "%zu of %zu events found, start error max %lld s, end error max %lld s, "
	            "%zu false alerts (%.3g per entity-day)\n",
	            s->found, s->required, (long long)s->start_err_max, (long long)s->end_err_max, s->nfalse,
	            s->false_per_entity_day);
}

static int meta_double(struct store *st, const char *key, double *v)
{
	char buf[64];
	if (store_get_meta(st, key, buf, sizeof buf) != 0)
		return -1;
	char *e;
	double x = strtod(buf, &e);
	if (e == buf || *e || !(x > 0))
		return -1;
	*v = x;
	return 0;
}

int cmd_eval(int argc, char **argv)
{
	const char *truth_path = NULL, *db = NULL, *json = NULL;
	double bin_opt = 0, thr_opt = 0, hard_opt = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, stdout);
			return EXIT_OK;
		}
		if (strcmp(a, "--truth") && strcmp(a, "--db") && strcmp(a, "--json") && strcmp(a, "--bin") &&
		    strcmp(a, "--threshold") && strcmp(a, "--hard")) {
			fprintf(stderr, "darkmap eval: unknown option '%s'\n%s", a, usage_text);
			return EXIT_USAGE;
		}
		if (!v) {
			fprintf(stderr, "darkmap eval: %s needs a value\n", a);
			return EXIT_USAGE;
		}
		i++;
		if (!strcmp(a, "--truth")) {
			truth_path = v;
		} else if (!strcmp(a, "--db")) {
			db = v;
		} else if (!strcmp(a, "--json")) {
			json = v;
		} else {
			char *e;
			double x = strtod(v, &e);
			int bad = *e || e == v || !(x > 0);
			if (!strcmp(a, "--bin"))
				bad = bad || x != (double)(uint32_t)x || x > 86400;
			else
				bad = bad || x > 1;
			if (bad) {
				fprintf(stderr, "darkmap eval: bad value for %s: '%s' (%s)\n", a, v,
				        !strcmp(a, "--bin") ? "whole seconds, 1..86400" : "a share in (0, 1]");
				return EXIT_USAGE;
			}
			*(!strcmp(a, "--bin") ? &bin_opt : !strcmp(a, "--threshold") ? &thr_opt : &hard_opt) = x;
		}
	}
	if (!truth_path || !db) {
		fprintf(stderr, "darkmap eval: --truth FILE and --db FILE are required\n%s", usage_text);
		return EXIT_USAGE;
	}
	struct dm_error err;
	struct truth t;
	int rc = truth_load(truth_path, &t, &err);
	if (rc) {
		fprintf(stderr, "darkmap eval: %s\n", err.what);
		return rc == DM_ERR_BAD_VALUE ? EXIT_USAGE : EXIT_FAILURE_;
	}
	struct store *st = store_open_ro(db, &err);
	if (!st) {
		fprintf(stderr, "darkmap eval: %s\n", err.what);
		truth_free(&t);
		return EXIT_FAILURE_;
	}
	struct score_opts so;
	score_opts_default(&so);
	double x;
	int have_detect_meta = 0;
	if (meta_double(st, "detect_bin", &x) == 0) {
		so.bin = (uint32_t)x;
		have_detect_meta = 1;
	} else if (meta_double(st, "bin", &x) == 0) {
		so.bin = (uint32_t)x;
	}
	if (meta_double(st, "detect_threshold", &x) == 0)
		so.threshold = x;
	if (meta_double(st, "detect_hard", &x) == 0)
		so.hard = x;
	if (meta_double(st, "detect_min_duration", &x) == 0)
		so.min_duration = (uint32_t)x;
	if (meta_double(st, "detect_inst_share", &x) == 0)
		so.inst_share = x;
	if (bin_opt)
		so.bin = (uint32_t)bin_opt;
	if (thr_opt)
		so.threshold = thr_opt;
	if (hard_opt)
		so.hard = hard_opt;
	if (!have_detect_meta && !bin_opt)
		fprintf(stderr, "darkmap eval: %s has no detect_bin meta (detect did not record its options): "
		        "judging with bin %u s, threshold %g, hard %g\n", db, so.bin, so.threshold, so.hard);

	struct sig_entity *ents = NULL;
	struct dm_event *ev = NULL;
	size_t nents = 0, nev = 0;
	struct score s;
	memset(&s, 0, sizeof s);
	rc = EXIT_FAILURE_;
	if (store_list_entities(st, &ents, &nents) || store_get_events(st, NULL, 0, UINT32_MAX, &ev, &nev)) {
		fprintf(stderr, "darkmap eval: %s: %s\n", db, store_errmsg(st));
		goto out;
	}
	if (!t.span_to) {
		/* no scenario row: the database's own span (first bin .. series end) */
		uint32_t first = 0, last = 0;
		for (size_t i = 0; i < nents; i++) {
			int64_t f, l;
			if (store_bin_extent(st, &ents[i], &f, &l) == 0) {
				if (!first || f < first)
					first = (uint32_t)f;
				if (l + so.bin > last)
					last = (uint32_t)(l + so.bin);
			}
		}
		so.span_from = first;
		so.span_to = meta_double(st, "series_end", &x) == 0 ? (uint32_t)x : last;
	}
	if (score_run(&t, ev, nev, ents, nents, &so, &s, &err)) {
		fprintf(stderr, "darkmap eval: %s: %s\n", truth_path, err.what);
		goto out;
	}
	int ok = s.found == s.required && s.nfalse == 0;
	struct obuf o;
	obuf_init_mem(&o);
	char a[32], b[32];
	fmt_time(s.span_from, a);
	fmt_time(s.span_to, b);
	obuf_printf(&o, "darkmap eval: %s against %s: bin %u s, threshold %g, hard %g; %zu entities judged "
	            "(IPv4 countries and ASes) over %s - %s UTC (%.4g entity-days)\n",
	            db, truth_path, so.bin, so.threshold, so.hard, s.entities, a, b, s.entity_days);
	write_table(&o, &t, &s);
	rc = ok ? EXIT_OK : EXIT_DATA_ERRORS;
	if (json) {
		struct obuf j;
		obuf_init_mem(&j);
		write_json(&j, truth_path, db, &t, ev, &s, &so, ok);
		FILE *jf = strcmp(json, "-") ? fopen(json, "w") : stdout;
		errno = 0;
		int bad = !jf || fwrite(j.buf, 1, j.len, jf) != j.len;
		if (jf)
			bad |= (jf == stdout ? fflush(jf) : fclose(jf)) != 0;
		if (bad) {
			fprintf(stderr, "darkmap eval: %s: %s\n", strcmp(json, "-") ? json : "standard output",
			        errno ? strerror(errno) : "write failed");
			rc = EXIT_FAILURE_;
		}
		obuf_free(&j);
	}
	/* with --json - the JSON owns stdout: the table goes to stderr */
	FILE *tf = json && !strcmp(json, "-") ? stderr : stdout;
	if (fwrite(o.buf, 1, o.len, tf) != o.len || fflush(tf)) {
		fprintf(stderr, "darkmap eval: writing the table to %s failed: %s\n",
		        tf == stdout ? "standard output" : "standard error", strerror(errno));
		rc = EXIT_FAILURE_;
	}
	obuf_free(&o);
out:
	score_free(&s);
	free(ev);
	free(ents);
	store_close(st);
	truth_free(&t);
	return rc;
}
