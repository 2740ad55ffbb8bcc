/* darkmap geo: what each mapping source says about an address, a prefix or an AS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmds.h"
#include "geo/geo.h"

static const char usage_text[] =
	"usage: darkmap geo [--rir FILE]... [--ranges FILE]... [--mmdb FILE]... [--asnames FILE]...\n"
	"                   [--defaults] [--sources] ADDRESS|PREFIX|ASN...\n"
	"\n"
	"Prints, for each query, what every loaded mapping source says, then the combined answer:\n"
	"  ADDRESS (175.45.177.1, 2001:db8::1)  country and the source entry that covers it\n"
	"  PREFIX  (175.45.176.0/22)            the split of its addresses by country (IPv6: /64s)\n"
	"  ASN     (AS131279, 131279)           AS name and country\n"
	"\n"
	"Sources, queried in the order given (the first source that covers an address answers;\n"
	"inside one source the most specific entry wins):\n"
	"  --rir FILE      RIR delegated or delegated-extended statistics (gzip allowed)\n"
	"  --ranges FILE   IP range -> country CSV: first,last,CC (addresses or integers),\n"
	"                  e.g. node_modules/@ip-location-db/geo-whois-asn-country/*.csv\n"
	"  --mmdb FILE     MaxMind-format database (country.iso_code or country_code)\n"
	"  --asnames FILE  AS names: pyasn asnames.json(.gz), or CSV asn,name[,CC] or\n"
	"                  first,last,asn,name (node_modules/@ip-location-db/asn/asn-ipv4.csv)\n"
	"  --defaults      also load the default sources (after the ones named)\n"
	"  --sources       list the loaded sources with their files and versions\n"
	"With no source option the defaults are used, in this order: geolocation from\n"
	"node_modules/@ip-location-db/dbip-country (DB-IP, CC BY 4.0), then registration:\n"
	"DATA/rir/delegated-* (DATA = $DARKMAP_DATA or ../shared/data) and\n"
	"node_modules/@ip-location-db/geo-whois-asn-country; then DATA/asn/asnames.json.gz.\n"
	"(replay and scenario leave geolocation out for data over 2 years older than it;\n"
	"DARKMAP_GEO=registration leaves it out always, =geolocation,registration keeps it.)\n"
	"When both views are loaded, each query also prints the geolocation and the registration\n"
	"answer and '!! sources disagree' where they name different countries.\n"
	"Exit status: 0 ok, 1 malformed lines were skipped, 2 usage, 3 a source could not be loaded.\n";

static int has_view(const struct geo_db *g, enum geo_view view)
{
	for (size_t i = 0; i < geo_nsources(g); i++)
		if (geo_source_info(g, i)->view == view)
			return 1;
	return 0;
}

static int name_width(const struct geo_db *g)
{
	int w = has_view(g, GEO_VIEW_GEOLOCATION) && has_view(g, GEO_VIEW_REGISTRATION) ? 13 : 0;
	for (size_t i = 0; i < geo_nsources(g); i++) {
		int n = (int)strlen(geo_source_name(g, i));
		if (n > w)
			w = n;
	}
	return w;
}

static const char *cname(const char *cc)
{
	const char *n = geo_country_name(cc);
	return n ? n : "?";
}

static void print_shares(const struct geo_share *sh, int n, uint64_t total)
{
	for (int k = 0; k < n; k++)
		printf("%s%s %llu (%.2f%%)", k ? ", " : "", sh[k].cc, (unsigned long long)sh[k].addrs,
		       total ? 100.0 * (double)sh[k].addrs / (double)total : 0.0);
}

static void query_ip(const struct geo_db *g, const struct dm_ip *ip, const char *arg, int w)
{
	printf("%s\n", arg);
	for (size_t i = 0; i < geo_nsources(g); i++) {
		const struct geo_source_info *si = geo_source_info(g, i);
		if (si->kind == GEO_KIND_ASNAMES)
			continue;
		struct geo_ip_hit h;
		if (geo_source_ip(g, i, ip, &h) < 0) {
			printf("  %-*s  --  (no entry)\n", w, si->name);
			continue;
		}
		char a[DM_IP_STRLEN], b[DM_IP_STRLEN];
		dm_ip_fmt(&h.first, a);
		dm_ip_fmt(&h.last, b);
		printf("  %-*s  %s  %-14s  ", w, si->name, h.cc, cname(h.cc));
		if (h.plen >= 0)
			printf("%s/%d", a, h.plen);
		else
			printf("%s-%s", a, b);
		if (h.record[0])
			printf("  %s", h.record);
		if (h.line)
			printf("  (line %u)", h.line);
		putchar('\n');
	}
	geo_cc cc, gcc, rcc;
	const char *src, *gsrc, *rsrc;
	int both = has_view(g, GEO_VIEW_GEOLOCATION) && has_view(g, GEO_VIEW_REGISTRATION);
	int have_g = geo_ip_view_country(g, GEO_VIEW_GEOLOCATION, ip, gcc, &gsrc) == 0;
	int have_r = geo_ip_view_country(g, GEO_VIEW_REGISTRATION, ip, rcc, &rsrc) == 0;
	if (both) {
		printf("  %-*s  %s  %-14s  %s\n", w, "geolocation:", gcc,
		       have_g ? cname(gcc) : "(no answer)", have_g ? gsrc : "");
		printf("  %-*s  %s  %-14s  %s\n", w, "registration:", rcc,
		       have_r ? cname(rcc) : "(no answer)", have_r ? rsrc : "");
	}
	if (geo_ip_country(g, ip, cc, &src) == 0)
		printf("  => %s %s  (%s)\n", cc, cname(cc), src);
	else
		printf("  => ZZ  (no source covers it)\n");
	if (both && have_g && have_r && strcmp(gcc, rcc))
		printf("  !! sources disagree: geolocation places it in %s %s, registration in %s %s\n",
		       gcc, cname(gcc), rcc, cname(rcc));
}

static void query_prefix(const struct geo_db *g, const struct dm_prefix *p, const char *arg, int w)
{
	struct geo_share sh[64];
	uint64_t total;
	if (p->afi == DM_AFI_IPV6)
		total = p->len >= 64 ? 1 : p->len == 0 ? UINT64_MAX : (uint64_t)1 << (64 - p->len);
	else
		total = (uint64_t)1 << (32 - p->len);
	char txt[DM_PREFIX_STRLEN];
	dm_prefix_fmt(p, txt);
	printf("%s  (%llu %s)\n", txt, (unsigned long long)total,
	       p->afi == DM_AFI_IPV6 ? "/64s" : "addresses");
	(void)arg;
	for (size_t i = 0; i < geo_nsources(g); i++) {
		const struct geo_source_info *si = geo_source_info(g, i);
		if (si->kind == GEO_KIND_ASNAMES)
			continue;
		int n = geo_source_prefix_countries(g, i, p, sh, 64);
		printf("  %-*s  ", w, si->name);
		if (n == 1 && !strcmp(sh[0].cc, "ZZ"))
			printf("--  (no entry)");
		else
			print_shares(sh, n, total);
		putchar('\n');
	}
	int both = has_view(g, GEO_VIEW_GEOLOCATION) && has_view(g, GEO_VIEW_REGISTRATION);
	if (both) {
		struct geo_share gsh[64], rsh[64];
		int ng, nr;
		geo_prefix_views(g, p, gsh, &ng, rsh, &nr, 64);
		printf("  %-*s  ", w, "geolocation:");
		print_shares(gsh, ng, total);
		printf("\n  %-*s  ", w, "registration:");
		print_shares(rsh, nr, total);
		putchar('\n');
	}
	int n = geo_prefix_countries(g, p, sh, 64);
	printf("  => ");
	print_shares(sh, n, total);
	if (n == 1)
		printf("  %s", cname(sh[0].cc));
	putchar('\n');
	n = both ? geo_prefix_disagreement(g, p, sh, 64) : 0;
	if (n > 0) {
		uint64_t differ = 0;
		for (int k = 0; k < n; k++)
			differ += sh[k].addrs;
		printf("  !! sources disagree on %llu of %llu %s (%.2f%%): registration places them in ",
		       (unsigned long long)differ, (unsigned long long)total,
		       p->afi == DM_AFI_IPV6 ? "/64s" : "addresses",
		       total ? 100.0 * (double)differ / (double)total : 0.0);
		for (int k = 0; k < n; k++)
			printf("%s%s %llu", k ? ", " : "", sh[k].cc, (unsigned long long)sh[k].addrs);
		putchar('\n');
	}
}

static void query_as(const struct geo_db *g, uint32_t asn, int w)
{
	printf("AS%u\n", asn);
	for (size_t i = 0; i < geo_nsources(g); i++) {
		const struct geo_source_info *si = geo_source_info(g, i);
		if (si->kind != GEO_KIND_RIR && si->kind != GEO_KIND_ASNAMES)
			continue;
		struct geo_as_hit h;
		if (geo_source_as(g, i, asn, &h) < 0) {
			printf("  %-*s  --  (no entry)\n", w, si->name);
			continue;
		}
		printf("  %-*s  %s", w, si->name, h.cc[0] ? h.cc : "--");
		if (h.cc[0])
			printf("  %-14s", cname(h.cc));
		if (h.name)
			printf("  \"%s\"", h.name);
		if (h.record[0])
			printf("  %s", h.record);
		if (h.line)
			printf("  (line %u)", h.line);
		putchar('\n');
	}
	const char *name = geo_as_name(g, asn);
	geo_cc cc;
	int have_cc = geo_as_country(g, asn, cc) == 0;
	printf("  => AS%u %s%s%s, country %s %s\n", asn, name ? "\"" : "", name ? name : "(no name)",
	       name ? "\"" : "", cc, have_cc ? cname(cc) : "(unknown)");
}

static int parse_asn_arg(const char *s, uint32_t *asn)
{
	if ((s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's'))
		s += 2;
	if (!*s)
		return -1;
	char *e;
	unsigned long long v = strtoull(s, &e, 10);
	if (*e || v > UINT32_MAX || *s < '0' || *s > '9')
		return -1;
	*asn = (uint32_t)v;
	return 0;
}

int cmd_geo(int argc, char **argv)
{
	struct geo_db *g = geo_db_new();
	if (!g)
		return EXIT_FAILURE_;
	char **queries = calloc((size_t)argc + 1, sizeof *queries);
	int nq = 0, named = 0, defaults = 0, list = 0, rc = EXIT_OK;
	struct dm_error err = { 0 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage_text, stdout);
			goto out;
		}
		if (!strcmp(a, "--defaults")) {
			defaults = 1;
			continue;
		}
		if (!strcmp(a, "--sources")) {
			list = 1;
			continue;
		}
		static const char *const opts[] = { "--rir", "--ranges", "--mmdb", "--asnames" };
		int o = -1;
		const char *val = NULL;
		for (int k = 0; k < 4; k++) {
			size_t n = strlen(opts[k]);
			if (!strncmp(a, opts[k], n) && (a[n] == 0 || a[n] == '=')) {
				o = k;
				val = a[n] == '=' ? a + n + 1 : (i + 1 < argc ? argv[++i] : NULL);
			}
		}
		if (o < 0 && a[0] == '-' && a[1] == '-') {
			fprintf(stderr, "darkmap geo: unknown option %s\n%s", a, usage_text);
			rc = EXIT_USAGE;
			goto out;
		}
		if (o < 0) {
			queries[nq++] = argv[i];
			continue;
		}
		if (!val || !*val) {
			fprintf(stderr, "darkmap geo: %s needs a file\n", opts[o]);
			rc = EXIT_USAGE;
			goto out;
		}
		if (geo_load_option(g, opts[o], val, &err) < 0) {
			fprintf(stderr, "darkmap geo: %s\n", err.what);
			rc = EXIT_FAILURE_;
			goto out;
		}
		named++;
	}
	if (!named || defaults) {
		int r = geo_load_defaults(g, &err);
		if (r < 0) {
			fprintf(stderr, "darkmap geo: %s\n", err.what);
			rc = EXIT_FAILURE_;
			goto out;
		}
	}
	if (!geo_nsources(g)) {
		fputs("darkmap geo: no mapping source found: name one with --rir, --ranges, --mmdb or "
		      "--asnames (see docs/geo.md)\n", stderr);
		rc = EXIT_FAILURE_;
		goto out;
	}
	for (size_t i = 0; i < geo_nsources(g); i++) {
		const struct geo_source_info *si = geo_source_info(g, i);
		for (size_t k = 0; k < si->n_problems; k++)
			fprintf(stderr, "darkmap geo: %s: skipped\n", si->problems[k]);
		if (si->n_bad > si->n_problems)
			fprintf(stderr, "darkmap geo: %s: %zu more malformed lines skipped\n", si->name,
			        si->n_bad - si->n_problems);
		if (si->n_bad)
			rc = EXIT_DATA_ERRORS;
	}
	if (list || !nq) {
		for (size_t i = 0; i < geo_nsources(g); i++) {
			const struct geo_source_info *si = geo_source_info(g, i);
			printf("%s\n    %s\n    ", si->name, si->detail ? si->detail : "");
			if (si->kind == GEO_KIND_ASNAMES)
				printf("%zu AS names", si->n_names);
			else if (si->kind == GEO_KIND_MMDB)
				printf("queried through libmaxminddb");
			else
				printf("%zu IPv4 + %zu IPv6 ranges%s", si->n_ipv4, si->n_ipv6,
				       si->kind == GEO_KIND_RIR ? "" : "");
			if (si->kind == GEO_KIND_RIR)
				printf(", %zu asn lines", si->n_asn);
			printf(", %zu unassigned skipped, %zu malformed%s\n", si->n_skipped, si->n_bad,
			       si->view == GEO_VIEW_GEOLOCATION    ? "; view: geolocation"
			       : si->view == GEO_VIEW_REGISTRATION ? "; view: registration"
			                                           : "");
		}
	}
	int w = name_width(g);
	for (int q = 0; q < nq; q++) {
		const char *a = queries[q];
		struct dm_prefix p;
		struct dm_ip ip;
		uint32_t asn;
		if (q || list)
			putchar('\n');
		if (strchr(a, '/') && dm_prefix_parse(a, &p) == 0) {
			dm_prefix_mask(&p);
			query_prefix(g, &p, a, w);
		} else if (!strchr(a, '/') && dm_ip_parse(a, &ip) == 0) {
			query_ip(g, &ip, a, w);
		} else if (parse_asn_arg(a, &asn) == 0) {
			query_as(g, asn, w);
		} else {
			fprintf(stderr, "darkmap geo: '%s' is not an address, a prefix or an AS number\n", a);
			rc = EXIT_USAGE;
		}
	}
out:
	fflush(stdout);
	free(queries);
	geo_db_free(g);
	return rc;
}
