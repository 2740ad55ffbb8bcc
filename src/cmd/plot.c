/* darkmap plot: one entity's visibility, peers and interruptions from the store, as PNG/SVG. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/addr.h"
#include "base/time.h"
#include "cmd/cmds.h"
#include "geo/geo.h"
#include "out/plot.h"
#include "store/store.h"


static const char usage_text[] =
	"usage: darkmap plot --db FILE (--country CC | --asn N) [--from T] [--to T]\n"
	"                    [--out FILE.png|FILE.svg] [--size WxH] [--v6] [--title TEXT] [--csv FILE]\n\n"
	"Draws, for one country or origin AS over [from, to), three panels on a UTC time axis:\n"
	"  visible /24s (/48s with --v6) with outages shaded and instability marked,\n"
	"  the share of full-feed peers seeing it, and interruptions per hour as bars.\n"
	"Bins with poor data quality are drawn in a grey \"unknown\" band.\n\n"
	"options:\n"
	"  --db FILE        darkmap SQLite database (written by darkmap replay), or a\n"
	"                   postgresql://... URI of one (docs/scale.md)\n"
	"  --country CC     two-letter country code, e.g. KP\n"
	"  --asn N          origin AS number, e.g. 131279 (AS131279 accepted)\n"
	"  --from T         start, inclusive; default: the entity's first bin\n"
	"  --to T           end, exclusive; default: after the entity's last bin\n"
	"                   T: 2014-12-22T16:15, '2014-12-22 16:15', 2014-12-22, or unix seconds\n"
	"  --out FILE       .png or .svg (default: plot-CC.png / plot-ASN.png in this directory)\n"
	"  --size WxH       image size in pixels (default 1200x600)\n"
	"  --v6             the IPv6 series instead of IPv4\n"
	"  --title TEXT     replaces the generated title\n"
	"  --csv FILE       also write the plotted rows (t, utc, slash24, baseline_slash24,\n"
	"                   seeing_frac, peer_frac, interruptions, quality) as CSV; - = stdout\n"
	"  -h, --help       this text\n\n"
	"Prints the path of the file written.\n";

int cmd_plot(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },     { "country", required_argument, NULL, 'c' },
		{ "asn", required_argument, NULL, 'a' },    { "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },     { "out", required_argument, NULL, 'o' },
		{ "size", required_argument, NULL, 's' },   { "v6", no_argument, NULL, '6' },
		{ "title", required_argument, NULL, 'T' },  { "help", no_argument, NULL, 'h' },
		{ "csv", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = NULL, *out = NULL, *title = NULL, *csv = NULL;
	struct sig_entity ent = { .afi = DM_AFI_IPV4 };
	uint32_t from = 0, to = 0;
	int have_from = 0, have_to = 0, width = 0, height = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'c':
			if (strlen(optarg) != 2 || !isalpha((unsigned char)optarg[0]) ||
			    !isalpha((unsigned char)optarg[1])) {
				fprintf(stderr, "darkmap plot: --country wants a two-letter code, not '%s'\n",
				        optarg);
				return EXIT_USAGE;
			}
			ent.kind = SIG_COUNTRY;
			ent.cc[0] = (char)toupper((unsigned char)optarg[0]);
			ent.cc[1] = (char)toupper((unsigned char)optarg[1]);
			ent.cc[2] = 0;
			break;
		case 'a': {
			const char *p = optarg;
			if (!strncasecmp(p, "AS", 2))
				p += 2;
			char *end;
			unsigned long long v = strtoull(p, &end, 10);
			if (!*p || *end || v > UINT32_MAX || !isdigit((unsigned char)*p)) {
				fprintf(stderr, "darkmap plot: --asn wants an AS number, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			ent.kind = SIG_ASN;
			ent.asn = (uint32_t)v;
			break;
		}
		case 'f':
		case 't':
			if (dm_time_parse(optarg, c == 'f' ? &from : &to)) {
				fprintf(stderr,
				        "darkmap plot: --%s '%s': want 2014-12-22T16:15, '2014-12-22 16:15', "
				        "2014-12-22 or unix seconds (UTC)\n",
				        c == 'f' ? "from" : "to", optarg);
				return EXIT_USAGE;
			}
			if (c == 'f')
				have_from = 1;
			else
				have_to = 1;
			break;
		case 'o':
			out = optarg;
			break;
		case 's': {
			char x;
			int n = 0;
			if (sscanf(optarg, "%d%c%d%n", &width, &x, &height, &n) != 3 ||
			    (x != 'x' && x != 'X') || optarg[n]) {
				fprintf(stderr, "darkmap plot: --size wants WxH, e.g. 1200x600, not '%s'\n",
				        optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case '6':
			ent.afi = DM_AFI_IPV6;
			break;
		case 'T':
			title = optarg;
			break;
		case 'C':
			csv = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_OK;
		default:
			fputs(usage_text, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "darkmap plot: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (!db || !ent.kind) {
		fputs("darkmap plot: --db and one of --country / --asn are required\n\n", stderr);
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	char label[32], defout[64];
	if (ent.kind == SIG_COUNTRY)
		snprintf(label, sizeof label, "%s", ent.cc);
	else
		snprintf(label, sizeof label, "AS%u", ent.asn);
	if (!out) {
		snprintf(defout, sizeof defout, "plot-%s%s.png", label,
		         ent.afi == DM_AFI_IPV6 ? "-v6" : "");
		out = defout;
	}

	struct dm_error err = { 0 };
	struct store *st = store_open_ro(db, &err);
	if (!st) {
		fprintf(stderr, "darkmap plot: %s\n", err.what);
		return EXIT_FAILURE_;
	}
	int rc = EXIT_FAILURE_;
	struct sig_bin *bins = NULL;
	struct dm_event *ev = NULL;
	size_t nbins = 0, nev = 0;
	int64_t first, last;
	int ex = store_bin_extent(st, &ent, &first, &last);
	if (ex < 0) {
		fprintf(stderr, "darkmap plot: %s\n", store_errmsg(st));
		goto done;
	}
	if (ex == 1) {
		fprintf(stderr, "darkmap plot: %s: no %s bins for %s\n", db,
		        ent.afi == DM_AFI_IPV6 ? "IPv6" : "IPv4", label);
		goto done;
	}
	if (!have_from)
		from = (uint32_t)first;
	if (!have_to) {
		/* One bin past the last: the bin size is the gap between the last two bins. */
		struct sig_bin *tail;
		size_t ntail;
		uint32_t step = 300;
		if (!store_get_bins(st, &ent, last > 86400 ? last - 86400 : 0, last + 1, &tail, &ntail)) {
			if (ntail >= 2)
				step = (uint32_t)(tail[ntail - 1].t - tail[ntail - 2].t);
			free(tail);
		}
		to = (uint32_t)(last + step);
	}
	if (to <= from) {
		fprintf(stderr, "darkmap plot: empty time range: --to is not after --from\n");
		rc = EXIT_USAGE;
		goto done;
	}
	if (store_get_bins(st, &ent, from, to, &bins, &nbins) ||
	    store_get_events(st, &ent, from, to, &ev, &nev)) {
		fprintf(stderr, "darkmap plot: %s\n", store_errmsg(st));
		goto done;
	}
	char name[128] = "";
	if (store_get_entity_name(st, &ent, name, sizeof name) != 0 && ent.kind == SIG_COUNTRY) {
		const char *n = geo_country_name(ent.cc);
		if (n)
			snprintf(name, sizeof name, "%s", n);
	}
	struct plot_spec spec = {
		.entity = ent,
		.entity_name = name[0] ? name : NULL,
		.title = title,
		.from = from,
		.to = to,
		.width = width,
		.height = height,
	};
	if (plot_entity(out, &spec, bins, nbins, ev, nev, &err)) {
		fprintf(stderr, "darkmap plot: %s\n", err.what);
		goto done;
	}
	if (csv) {
		struct plot_data d;
		if (plot_data_build(&spec, bins, nbins, ev, nev, &d, &err) ||
		    plot_data_write_csv(&d, csv, &err)) {
			fprintf(stderr, "darkmap plot: %s\n", err.what);
			plot_data_free(&d);
			goto done;
		}
		plot_data_free(&d);
	}
	fprintf(stderr, "darkmap plot: %s: %zu bins, %zu events\n", label, nbins, nev);
	/* With --csv - the rows own stdout; the path goes to stderr so the CSV stays clean. */
	fprintf(csv && !strcmp(csv, "-") ? stderr : stdout, "%s\n", out);
	rc = EXIT_OK;
done:
	free(bins);
	free(ev);
	store_close(st);
	plot_release_fonts();
	return rc;
}
