/* Mapping: prefix -> country, origin AS -> name / country. Every source is named and versioned
 * ("rir:delegated-apnic-20140701", "csv:@ip-location-db/geo-whois-asn-country@2.3.x",
 * "mmdb:GeoLite2-Country.mmdb"), selectable, and queried longest-match-first.
 *
 * Precedence (docs/geo.md): within one source the most specific entry covering an address wins
 * (smallest range; equal ranges: the earlier line); across sources the first source in load
 * order that covers an address answers. Space no source covers is "ZZ". */
#ifndef DM_GEO_GEO_H
#define DM_GEO_GEO_H

#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/err.h"

struct geo_db;

struct geo_db *geo_db_new(void);
void geo_db_free(struct geo_db *g);

/* Loaders. Each adds one named source; later sources do not override earlier ones unless
 * the caller orders them so (lookup uses the first source that answers, in load order).
 * Files may be gzip-compressed. A malformed line is skipped, counted and described
 * ("path:line: what", see geo_source_info); a missing or unreadable file, or one without a
 * single usable line, fails with DM_ERR_IO / DM_ERR_BAD_VALUE and adds no source.
 * geo_load_range_csv adds to the existing source of the same name (the IPv4 and IPv6 files of
 * one npm package form one source). */
int geo_load_rir(struct geo_db *g, const char *path, struct dm_error *err);        /* delegated(-extended) */
int geo_load_range_csv(struct geo_db *g, const char *path, struct dm_error *err);  /* first,last,CC */
int geo_load_mmdb(struct geo_db *g, const char *path, struct dm_error *err);       /* libmaxminddb */
int geo_load_asnames(struct geo_db *g, const char *path, struct dm_error *err);    /* json(.gz) or csv */

/* Default sources (docs/geo.md): every delegated-* file of DATA/rir (DATA = $DARKMAP_DATA, else
 * ../shared/data from the working directory or from the repository holding the binary), the
 * IPv4+IPv6 CSVs of npm's @ip-location-db/geo-whois-asn-country in node_modules (same search),
 * and DATA/asn/asnames.json.gz. Returns the number of sources loaded (0 when none was found);
 * a source that is present but fails to load is an error. The first load writes them to a
 * binary index (node_modules/.cache/darkmap, or $DARKMAP_GEO_INDEX; "off": never) that later
 * loads map instead of parsing, with the same answers (docs/geo.md "The mapping index"). */
int geo_load_defaults(struct geo_db *g, struct dm_error *err);
/* The defaults for data of time when (UTC seconds; 0: now, as geo_load_defaults): the
 * geolocation source is left out when when is more than GEO_GEOLOC_VALID before its snapshot
 * date (its npm version), so old archives are mapped by the registration snapshots.
 * DARKMAP_GEO=registration leaves it out always; DARKMAP_GEO=geolocation,registration keeps
 * it always. replay passes its first archive's date, scenario its span start. */
enum { GEO_GEOLOC_VALID = 2 * 366 * 86400 };
int geo_load_defaults_at(struct geo_db *g, int64_t when, struct dm_error *err);

/* The command-line form shared by every subcommand that maps (geo, replay, demo): option is
 * "--rir", "--ranges", "--mmdb" or "--asnames" and path its argument. Returns 0 when loaded,
 * 1 when option is none of these (nothing done), or the loader's negative error. */
int geo_load_option(struct geo_db *g, const char *option, const char *path, struct dm_error *err);

/* Two-letter country code ("KP"); "ZZ" unknown. */
typedef char geo_cc[3];

struct geo_share {
	geo_cc cc;
	uint64_t addrs;        /* addresses (IPv4) or /64s (IPv6) of the prefix in that country */
};

/* Splits a prefix across countries by address count, longest match first; returns the number
 * of shares written (<= max), sorted by addrs descending. Uncovered space is reported as "ZZ".
 * IPv6: counts are /64s rounded to nearest; a prefix longer than /64 counts as one /64 given
 * to the country holding most of it. When more than max countries share the prefix, the
 * smallest shares are left out. */
int geo_prefix_countries(const struct geo_db *g, const struct dm_prefix *p, struct geo_share *out,
                         int max);
/* The country of the IPv4 addresses lo..hi (host order) when geo_prefix_countries would give
 * all of them to one (the range inside one segment of the mapping index's flattened view, a
 * source covering it): its two letters packed, the first in the high byte; 0 when it would
 * not, or cannot tell so quickly (several segments, a gap, no flattened view): ask
 * geo_prefix_countries. A replay asks once per new prefix: the shares, their apportioning and
 * the prefix's copy cost four times the lookup (issue 12). */
uint16_t geo_range4_country(const struct geo_db *g, uint32_t lo, uint32_t hi);
/* geo_range4_country of ranges lo[j]..hi[j], j < n, into cc[j]: the same answers, in one loop
 * whose lookups overlap (many prefixes at once: a table's, asked together at a bin's close). */
void geo_range4_countries(const struct geo_db *g, const uint32_t *lo, const uint32_t *hi, uint16_t *cc, size_t n);
/* geo_prefix_countries, geo_range4_country and geo_range4_countries in the shapes of the
 * signal's callbacks (signal.h sig_new, sig_set_geo4), g passed as their argument. */
static inline int geo_countries_cb(void *g, const struct dm_prefix *p, struct geo_share *out, int max)
{
	return geo_prefix_countries(g, p, out, max);
}
static inline uint16_t geo_range4_cb(void *g, uint32_t lo, uint32_t hi) { return geo_range4_country(g, lo, hi); }
static inline void geo_range4_batch_cb(void *g, const uint32_t *lo, const uint32_t *hi, uint16_t *cc, size_t n)
{
	geo_range4_countries(g, lo, hi, cc, n);
}
/* 1 when geo_prefix_countries reads a flattened view (the mapping index). */
int geo_flattened(const struct geo_db *g);
/* Country of one address and the source that said so ("" when none). */
int geo_ip_country(const struct geo_db *g, const struct dm_ip *ip, geo_cc cc, const char **source);

/* The two views of a prefix: its split by the geolocation sources alone and by the
 * registration sources alone (each as geo_prefix_countries: largest first, uncovered space
 * "ZZ", at most max shares). A view with no source loaded gives 0 shares. Returns 0, or -1
 * when p is neither IPv4 nor IPv6. With the default sources the combined answer
 * (geo_prefix_countries) is the geolocation view where it has an answer, else registration. */
int geo_prefix_views(const struct geo_db *g, const struct dm_prefix *p, struct geo_share *geoloc,
                     int *ngeoloc, struct geo_share *reg, int *nreg, int max);
/* Where the views disagree: the addresses (IPv6: /64s) of p that geolocation places in one
 * country and registration in another (both answering, neither "ZZ"), split by the country
 * registration gives them; largest first, at most max. 0 shares when they agree everywhere
 * or one view has no source. "Registration places 256 of these 1024 addresses in KP". */
int geo_prefix_disagreement(const struct geo_db *g, const struct dm_prefix *p, struct geo_share *out,
                            int max);
/* The same addresses as geo_prefix_disagreement, by pair of countries: "geolocation IT,
 * registration KP: 256". An alert for an entity names the other country of each pair (the
 * entity is the geolocation country for recent data, the registration one for data the
 * defaults map by registration, see geo_load_defaults_at). Largest first, at most max. */
struct geo_differ {
	geo_cc geoloc, reg;
	uint64_t addrs;             /* IPv4 addresses or IPv6 /64s */
};
int geo_prefix_differ(const struct geo_db *g, const struct dm_prefix *p, struct geo_differ *out,
                      int max);
/* Country of one address by the sources of one view (GEO_VIEW_NONE: every source, as
 * geo_ip_country), and the source that said so. 0 found, -1 none ("ZZ", source ""). */
int geo_ip_view_country(const struct geo_db *g, int view, const struct dm_ip *ip, geo_cc cc,
                        const char **source);

const char *geo_as_name(const struct geo_db *g, uint32_t asn);       /* NULL when unknown */
int geo_as_country(const struct geo_db *g, uint32_t asn, geo_cc cc); /* 0 found, -1 not */

const char *geo_country_name(const char *cc);   /* "North Korea" for "KP"; NULL unknown */

/* Sources loaded, for `darkmap geo` and provenance in outputs. */
size_t geo_nsources(const struct geo_db *g);
const char *geo_source_name(const struct geo_db *g, size_t i);

/* ---- Per-source detail (for `darkmap geo`, provenance and tests) ---- */

enum geo_kind { GEO_KIND_RIR = 1, GEO_KIND_RANGES, GEO_KIND_MMDB, GEO_KIND_ASNAMES };

/* What a source says about an address (docs/geo.md "Views"): where it is used (geolocation:
 * DB-IP, GeoLite2, any range CSV or mmdb not named "whois"/"delegated") or where it is
 * registered (RIR delegated files, geo-whois-asn-country). AS-name sources have no view. */
enum geo_view { GEO_VIEW_NONE = 0, GEO_VIEW_GEOLOCATION = 1, GEO_VIEW_REGISTRATION = 2 };
enum { GEO_PROBLEMS_KEPT = 16 };

struct geo_source_info {
	const char *name;         /* "rir:delegated-apnic-20140701" */
	const char *detail;       /* files, format version, serial, build date */
	enum geo_kind kind;
	enum geo_view view;
	size_t n_ipv4, n_ipv6;    /* range entries loaded (RIR lines, CSV lines) */
	size_t n_asn;             /* RIR asn lines */
	size_t n_names;           /* distinct AS numbers named */
	size_t n_skipped;         /* well-formed lines that map nothing (available/reserved/ZZ) */
	size_t n_bad;             /* malformed lines skipped */
	size_t n_problems;        /* <= GEO_PROBLEMS_KEPT: the first ones, "path:line: what" */
	const char *problems[GEO_PROBLEMS_KEPT];
};
const struct geo_source_info *geo_source_info(const struct geo_db *g, size_t i);

/* What source i says about one address: 0 and *hit filled, or -1 when it has no entry. */
struct geo_ip_hit {
	geo_cc cc;
	struct dm_ip first, last;   /* the entry that matched (RIR line, CSV line, mmdb network) */
	int plen;                   /* its prefix length when it is one CIDR block, else -1 */
	uint32_t line;              /* input line (RIR, CSV); 0 for mmdb */
	char record[160];           /* RIR: the statistics line as registry|cc|type|start|value|date|status */
};
int geo_source_ip(const struct geo_db *g, size_t i, const struct dm_ip *ip, struct geo_ip_hit *hit);

/* The split of a prefix by source i alone (its uncovered space is "ZZ"); as geo_prefix_countries. */
int geo_source_prefix_countries(const struct geo_db *g, size_t i, const struct dm_prefix *p,
                                struct geo_share *out, int max);

/* What source i says about an AS: 0 and *hit filled, or -1 when nothing. */
struct geo_as_hit {
	geo_cc cc;                  /* "" when the source gives no country */
	const char *name;           /* NULL when the source gives no name */
	uint32_t first, last;       /* RIR: the asn line's block */
	uint32_t line;
	char record[160];           /* RIR: the statistics line */
};
int geo_source_as(const struct geo_db *g, size_t i, uint32_t asn, struct geo_as_hit *hit);

#endif
