/* Mapping: prefix -> country, origin AS -> name / country. Every source is named and versioned
 * ("rir:delegated-apnic-20140701", "csv:@ip-location-db/geo-whois-asn-country@2.3.x",
 * "mmdb:GeoLite2-Country.mmdb"), selectable, and queried longest-match-first. */
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
 * the caller orders them so (lookup uses the first source that answers, in load order). */
int geo_load_rir(struct geo_db *g, const char *path, struct dm_error *err);        /* delegated(-extended) */
int geo_load_range_csv(struct geo_db *g, const char *path, struct dm_error *err);  /* first,last,CC */
int geo_load_mmdb(struct geo_db *g, const char *path, struct dm_error *err);       /* libmaxminddb */
int geo_load_asnames(struct geo_db *g, const char *path, struct dm_error *err);    /* json(.gz) or csv */

/* Two-letter country code ("KP"); "ZZ" unknown. */
typedef char geo_cc[3];

struct geo_share {
	geo_cc cc;
	uint64_t addrs;        /* addresses (IPv4) or /64s (IPv6) of the prefix in that country */
};

/* Splits a prefix across countries by address count, longest match first; returns the number
 * of shares written (<= max), sorted by addrs descending. Uncovered space is reported as "ZZ". */
int geo_prefix_countries(const struct geo_db *g, const struct dm_prefix *p, struct geo_share *out,
                         int max);
/* Country of one address and the source that said so ("" when none). */
int geo_ip_country(const struct geo_db *g, const struct dm_ip *ip, geo_cc cc, const char **source);

const char *geo_as_name(const struct geo_db *g, uint32_t asn);       /* NULL when unknown */
int geo_as_country(const struct geo_db *g, uint32_t asn, geo_cc cc); /* 0 found, -1 not */

const char *geo_country_name(const char *cc);   /* "North Korea" for "KP"; NULL unknown */

/* Sources loaded, for `darkmap geo` and provenance in outputs. */
size_t geo_nsources(const struct geo_db *g);
const char *geo_source_name(const struct geo_db *g, size_t i);

#endif
