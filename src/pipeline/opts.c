/* The pipeline's options, parsed once for every subcommand that runs a pipeline (replay, and
 * collect): signal, selection, mapping, outputs, streaming detection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/time.h"
#include "pipeline/pipeline.h"

const char pl_opts_usage[] =
	"Signal:\n"
	"  --bin SECONDS      bin size (300); bins start at multiples of it, UTC\n"
	"  --vis FRACTION     a prefix is visible when seen by >= FRACTION of full-feed peers (0.5)\n"
	"  --full-feed RULE   auto (default) | abs (400000 IPv4 / 10000 IPv6 prefixes) |\n"
	"                     rel[:F] (>= F x the largest table, F 0.8) | N[,N6] (explicit counts);\n"
	"                     auto = abs once a table reaches 400000 (10000), else rel; without a\n"
	"                     RIB, abs only. A full-feed peer leaves the set below 0.9 x the\n"
	"                     threshold (--full-feed-leave F) or when its session goes down\n"
	"  --gap-min SECONDS  a collector silent this long is in a gap until its next record;\n"
	"                     bins overlapping the gap are flagged gap (600; 0: any bin without\n"
	"                     a record)\n"
	"  --geo FILE         a mapping source (repeatable), kind guessed from the name: delegated-*\n"
	"                     RIR file, *.mmdb, asnames json/csv, else an IP range CSV; or name the\n"
	"                     kind: --rir FILE, --ranges FILE, --mmdb FILE, --asnames FILE (as in\n"
	"                     darkmap geo). Default: darkmap geo's defaults for the data's date (docs/geo.md).\n"
	"                     A source that cannot be loaded is an error (exit 2).\n"
	"                     Precedence: for an address, the first source that covers it answers.\n"
	"                     Sources are asked in the order given, except that RIR files are asked\n"
	"                     among themselves oldest snapshot first (the YYYYMMDD their name ends\n"
	"                     with), then by file name, whatever their order on the command line:\n"
	"                     where two RIR files disagree, the older snapshot wins\n"
	"  --no-geo           no country mapping (every prefix is ZZ)\n"
	"Output:\n"
	"  --db FILE          write the series to this SQLite file (WAL)\n"
	"  --csv              print the series as CSV on stdout (columns: docs/replay.md)\n"
	"  --quality FILE     per collector and bin: records, records/s, active, silent, gap (CSV)\n"
	"  --changes FILE     every change of a prefix's visibility, with its evidence (CSV;\n"
	"                     with --db also in the table vis_changes)\n"
	"  --country CC       only this country (repeatable) and the global rows; CC is an ISO\n"
	"                     3166-1 alpha-2 code darkmap knows (src/geo/country.c), ZZ = unmapped\n"
	"  --asn N            only this origin AS (repeatable) and the global rows\n"
	"  --rows countries   every country and the global rows, origin ASes only as --asn asks\n"
	"                     (a full table has tens of thousands of ASes: rows = entities x bins)\n"
	"  --progress         progress line even when stderr is not a terminal\n"
	"  -q, --quiet        no progress, no per-error messages (the summary stays)\n"
	"Detection as bins close (the rules and options of darkmap detect, docs/detect.md):\n"
	"  --detect           run the detector on every bin as it closes: alert lines on stdout\n"
	"                     (on stderr with --csv), events in the database's events table, the\n"
	"                     same events `darkmap detect` finds in the same bins. With an existing\n"
	"                     --db, the baselines are reloaded from the bins stored before\n"
	"  --v6, --all, --json FILE|-, --webhook URL, --no-store, --threshold F, --hard F,\n"
	"  --recover F, --baseline-days D, --min-duration MIN, --min-history MIN,\n"
	"  --new-normal-days D, --inst-window H, --inst-factor F: as in darkmap detect\n"
	"                     (every country and origin AS row written is judged)\n";

void pl_opts_default(struct pl_opts *o, const char *name)
{
	memset(o, 0, sizeof *o);
	o->name = name;
	sig_opts_default(&o->sig);
	detect_opts_default(&o->det);
}

/* Which detect option a flag is; -1: none. */
static int det_flag(const char *a)
{
	static const char *const f[] = { "--threshold", "--hard", "--recover", "--baseline-days", "--min-duration",
		                         "--min-history", "--new-normal-days", "--inst-window", "--inst-factor" };
	for (int i = 0; i < (int)(sizeof f / sizeof f[0]); i++)
		if (!strcmp(a, f[i]))
			return i;
	return -1;
}

static int bad(char *why, size_t n, const char *fmt, const char *a, const char *v)
{
	snprintf(why, n, fmt, a, v);
	return -1;
}

int pl_opts_parse_detect(struct pl_opts *o, int argc, char **argv, int *i, char *why, size_t n)
{
	const char *a = argv[*i];
	int d = det_flag(a);
	if (d < 0)
		return 0;
	if (*i + 1 >= argc) {
		snprintf(why, n, "%s needs a value", a);
		return -2;
	}
	const char *v = argv[++*i];
	char *end;
	double x = strtod(v, &end);
	/* durations in days/hours/minutes, stored in seconds: refuse what does not fit */
	if (*end || end == v || x <= 0 || x > 1e6)
		return bad(why, n, "bad value for %s: '%s' (a positive number)", a, v);
	switch (d) {
	case 0: o->det.threshold = x; o->det_threshold_given = 1; break;
	case 1: o->det.hard = x; break;
	case 2: o->det.recover = x; o->det_recover_given = 1; break;
	case 3: o->det.baseline_window = (uint32_t)(x * 86400); break;
	case 4: o->det.min_duration = (uint32_t)(x * 60); break;
	case 5: o->det.min_history = (uint32_t)(x * 60); break;
	case 6: o->det.new_normal = (uint32_t)(x * 86400); break;
	case 7: o->det.inst_window = (uint32_t)(x * 3600); break;
	default: o->det.inst_factor = x; break;
	}
	return 1;
}

int pl_opts_parse(struct pl_opts *o, int argc, char **argv, int *i, char *why, size_t n)
{
	const char *a = argv[*i];
	const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
	static const char *const with_value[] = {
		"--bin", "--vis", "--full-feed", "--full-feed-leave", "--gap-min", "--changes", "--db", "--rows",
		"--quality", "--country", "--asn", "--from", "--to", "--geo", "--rir", "--ranges", "--mmdb",
		"--asnames", "--json", "--webhook",
	};
	int takes = pl_opts_parse_detect(o, argc, argv, i, why, n);
	if (takes)
		return takes;
	for (size_t k = 0; !takes && k < sizeof with_value / sizeof with_value[0]; k++)
		takes = !strcmp(a, with_value[k]);
	if (takes) {
		if (!v) {
			snprintf(why, n, "%s needs a value", a);
			return -2;
		}
		(*i)++;
	}
	char *end;
	if (!strcmp(a, "--bin")) {
		o->sig.bin = (uint32_t)strtoul(v, NULL, 10);
		if (o->sig.bin < 1 || o->sig.bin > 86400 * 7)
			return bad(why, n, "%s %s: want 1..604800 seconds", a, v);
	} else if (!strcmp(a, "--vis")) {
		o->sig.vis = strtod(v, &end);
		if (*end || !(o->sig.vis > 0 && o->sig.vis <= 1))
			return bad(why, n, "%s %s: want a fraction in (0, 1]", a, v);
	} else if (!strcmp(a, "--full-feed")) {
		if (sig_parse_ff_rule(v, &o->sig))
			return bad(why, n, "%s %s: want auto, abs, rel[:F] or N[,N6]", a, v);
	} else if (!strcmp(a, "--full-feed-leave")) {
		o->sig.ff_leave = strtod(v, &end);
		if (*end || !(o->sig.ff_leave > 0 && o->sig.ff_leave <= 1))
			return bad(why, n, "%s %s: want a fraction in (0, 1]", a, v);
	} else if (!strcmp(a, "--gap-min")) {
		unsigned long g = strtoul(v, &end, 10);
		if (*end || end == v || g > 86400 * 7)
			return bad(why, n, "%s %s: want 0..604800 seconds", a, v);
		o->sig.gap_min = (uint32_t)g;
	} else if (!strcmp(a, "--changes")) {
		o->changes_path = v;
	} else if (!strcmp(a, "--db")) {
		o->db_path = v;
	} else if (!strcmp(a, "--rows")) {
		if (strcmp(v, "all") && strcmp(v, "countries"))
			return bad(why, n, "%s %s: want all or countries", a, v);
		o->rows_countries = !strcmp(v, "countries");
	} else if (!strcmp(a, "--quality")) {
		o->quality_path = v;
	} else if (!strcmp(a, "--csv")) {
		o->csv = 1;
	} else if (!strcmp(a, "--country")) {
		if (strlen(v) != 2 || o->ncc >= PL_MAX_FILTER)
			return bad(why, n, "%s %s: want a two-letter code", a, v);
		/* a code no mapping can give would only ever have empty rows */
		if (!geo_country_name(v))
			return bad(why, n, "%s %s: not a country code darkmap knows (ISO 3166-1 alpha-2 such as KP, or ZZ "
			           "for unmapped space; src/geo/country.c)", a, v);
		o->want_cc[o->ncc++] = v;
	} else if (!strcmp(a, "--asn")) {
		const char *s = !strncasecmp(v, "AS", 2) ? v + 2 : v;
		unsigned long x = strtoul(s, &end, 10);
		if (*end || end == s || x > UINT32_MAX)
			return bad(why, n, "%s %s: want an AS number", a, v);
		if (o->nasn >= PL_MAX_FILTER) {
			snprintf(why, n, "%s %s: at most %d --asn (use no --rows for every AS)", a, v, PL_MAX_FILTER);
			return -1;
		}
		o->want_asn[o->nasn++] = (uint32_t)x;
	} else if (!strcmp(a, "--from") || !strcmp(a, "--to")) {
		uint32_t t;
		if (dm_time_parse(v, &t))
			return bad(why, n, "%s %s: want unix seconds or YYYY-MM-DD[THH:MM[:SS]]", a, v);
		if (a[2] == 'f')
			o->from = t;
		else
			o->to = t;
	} else if (!strcmp(a, "--geo") || !strcmp(a, "--rir") || !strcmp(a, "--ranges") || !strcmp(a, "--mmdb") ||
	           !strcmp(a, "--asnames")) {
		if (o->ngeo < PL_MAX_GEO) {
			o->geo_opt[o->ngeo] = a;
			o->geo_file[o->ngeo++] = v;
		}
	} else if (!strcmp(a, "--no-geo")) {
		o->no_geo = 1;
	} else if (!strcmp(a, "--detect")) {
		o->detect = 1;
	} else if (!strcmp(a, "--v6")) {
		o->detect_v6 = 1;
	} else if (!strcmp(a, "--all")) {
		o->detect_all = 1;
	} else if (!strcmp(a, "--json")) {
		o->detect_json = v;
	} else if (!strcmp(a, "--webhook")) {
		o->webhook = v;
	} else if (!strcmp(a, "--no-store")) {
		o->detect_no_store = 1;
	} else if (!strcmp(a, "--progress")) {
		o->progress = 1;
	} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
		o->quiet = 1;
	} else {
		return 0;
	}
	return 1;
}

int pl_opts_check(struct pl_opts *o, char *why, size_t n)
{
	if (o->from && o->to && o->to <= o->from) {
		snprintf(why, n, "--to must be after --from");
		return -1;
	}
	if (!o->detect)
		return 0;
	o->det.bin = o->sig.bin;
	/* --threshold above the default recovery line: recover halfway to 1 (as darkmap detect) */
	if (o->det_threshold_given && !o->det_recover_given && o->det.recover < o->det.threshold)
		o->det.recover = o->det.threshold + (1 - o->det.threshold) / 2;
	char w[200];
	if (detect_opts_check(&o->det, w, sizeof w)) {
		snprintf(why, n, "detection options out of range: %s", w);
		return -1;
	}
	return 0;
}
