/* MaxMind DB (.mmdb) sources through libmaxminddb. The file is memory-mapped and queried per
 * address; a prefix is walked network by network using the netmask of each record found. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <maxminddb.h>
#include <netinet/in.h>

#include "geo/geo_impl.h"

/* The country of a record: GeoIP2/GeoLite2 put it at country.iso_code (or only at
 * registered_country.iso_code), ip-location-db's databases at country_code. */
static uint16_t entry_cc(MMDB_entry_s *entry)
{
	static const char *const paths[][3] = {
		{ "country", "iso_code", NULL },
		{ "registered_country", "iso_code", NULL },
		{ "country_code", NULL, NULL },
	};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		MMDB_entry_data_s d;
		if (MMDB_aget_value(entry, &d, paths[i]) != MMDB_SUCCESS || !d.has_data ||
		    d.type != MMDB_DATA_TYPE_UTF8_STRING || d.data_size != 2)
			continue;
		char a = d.utf8_string[0], b = d.utf8_string[1];
		if (a >= 'a' && a <= 'z')
			a = (char)(a - 32);
		if (b >= 'a' && b <= 'z')
			b = (char)(b - 32);
		if (a >= 'A' && a <= 'Z' && b >= 'A' && b <= 'Z')
			return CC_PACK(a, b);
	}
	return 0;
}

/* Looks up one address; returns -1 when the database cannot answer for its family, else 0 with
 * the record's network [*blo, *bhi] (in the address's own family) and its country (0: none). */
static int mmdb_query(const struct geo_source *s, int v6, u128 addr, u128 *blo, u128 *bhi,
                      uint16_t *cc)
{
	const MMDB_s *m = s->mmdb;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	const struct sockaddr *sa;
	if (v6) {
		if (!s->mmdb_v6)
			return -1;
		memset(&sin6, 0, sizeof sin6);
		sin6.sin6_family = AF_INET6;
		u128 a = addr;
		for (int i = 15; i >= 0; i--) {
			sin6.sin6_addr.s6_addr[i] = (uint8_t)a;
			a >>= 8;
		}
		sa = (const struct sockaddr *)&sin6;
	} else {
		memset(&sin, 0, sizeof sin);
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl((uint32_t)addr);
		sa = (const struct sockaddr *)&sin;
	}
	int merr;
	MMDB_lookup_result_s res = MMDB_lookup_sockaddr(m, sa, &merr);
	if (merr != MMDB_SUCCESS)
		return -1;
	int bits = v6 ? 128 : 32;
	int nm = res.netmask;
	if (!v6 && s->mmdb_v6)
		nm = nm >= 96 ? nm - 96 : 0;   /* IPv4 lives at ::/96 in an IPv6 database */
	if (nm > bits)
		nm = bits;
	u128 host = nm == 0 ? (v6 ? U128_MAX : 0xffffffffu) : nm == bits ? 0 : (((u128)1 << (bits - nm)) - 1);
	*blo = addr & ~host;
	if (!v6)
		*blo &= 0xffffffffu;
	*bhi = *blo | host;
	*cc = res.found_entry ? entry_cc(&res.entry) : 0;
	return 0;
}

int geo_mmdb_walk(const struct geo_source *s, int v6, u128 lo, u128 hi, geo_piece_fn covered,
                  geo_piece_fn gap, void *ctx)
{
	u128 pos = lo;
	/* A valid search tree has at most 2 x node_count leaves, so no range splits into more
	 * pieces. A damaged tree (a record pointing back up) answers /32 or /128 everywhere: found
	 * by fuzz_parse, 0.0.0.0/0 took 2^32 lookups. Past the bound the rest is a gap. */
	uint64_t pieces = 0, most = 2 * (uint64_t)((const MMDB_s *)s->mmdb)->metadata.node_count + 2;
	for (;;) {
		u128 blo, bhi;
		uint16_t cc;
		if (++pieces > most) {
			gap(ctx, pos, hi, 0);
			return 0;
		}
		if (mmdb_query(s, v6, pos, &blo, &bhi, &cc) < 0) {
			if (pos == lo)
				return -1;
			gap(ctx, pos, hi, 0);   /* cannot happen for a valid database; stay total */
			return 0;
		}
		u128 e = bhi < hi ? bhi : hi;
		if (cc)
			covered(ctx, pos, e, cc);
		else
			gap(ctx, pos, e, 0);
		if (e == hi)
			return 0;
		pos = e + 1;
	}
}

int geo_mmdb_ip(const struct geo_source *s, const struct dm_ip *ip, struct geo_ip_hit *hit)
{
	int v6 = ip->afi == DM_AFI_IPV6;
	u128 blo, bhi;
	uint16_t cc;
	if (mmdb_query(s, v6, geo_ip_u128(ip), &blo, &bhi, &cc) < 0 || !cc)
		return -1;
	if (!hit)
		return 0;
	memset(hit, 0, sizeof *hit);
	hit->cc[0] = (char)(cc >> 8);
	hit->cc[1] = (char)(cc & 0xff);
	geo_u128_ip(blo, v6, &hit->first);
	geo_u128_ip(bhi, v6, &hit->last);
	u128 size = bhi - blo;
	int b = 0;
	while (b < 128 && (size >> b) & 1)
		b++;
	hit->plen = (v6 ? 128 : 32) - b;
	return 0;
}

void geo_mmdb_close(struct geo_source *s)
{
	if (!s->mmdb)
		return;
	MMDB_close(s->mmdb);
	free(s->mmdb);
	s->mmdb = NULL;
}

int geo_load_mmdb(struct geo_db *g, const char *path, struct dm_error *err)
{
	MMDB_s *m = calloc(1, sizeof *m);
	if (!m)
		return dm_fail(err, DM_ERR_NOMEM, 0, "%s: out of memory", path);
	errno = 0;
	int st = MMDB_open(path, MMDB_MODE_MMAP, m);
	if (st != MMDB_SUCCESS) {
		int io = st == MMDB_FILE_OPEN_ERROR || st == MMDB_IO_ERROR;
		dm_fail(err, io ? DM_ERR_IO : DM_ERR_BAD_VALUE, 0, "%s: %s%s%s", path, MMDB_strerror(st),
		        io && errno ? ": " : "", io && errno ? strerror(errno) : "");
		free(m);
		return err ? err->code : DM_ERR_IO;
	}
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	char *pkg = geo_npm_package_id(path);
	char name[512];
	if (pkg)
		snprintf(name, sizeof name, "mmdb:%s/%s", pkg, b);
	else
		snprintf(name, sizeof name, "mmdb:%s", b);
	free(pkg);
	if (geo_db_find(g, name, GEO_KIND_MMDB)) {
		MMDB_close(m);
		free(m);
		return dm_fail(err, DM_ERR_BAD_VALUE, 0, "%s: source %s is already loaded", path, name);
	}
	struct geo_source *s = geo_source_new(name, GEO_KIND_MMDB);
	if (!s) {
		MMDB_close(m);
		free(m);
		return dm_fail(err, DM_ERR_NOMEM, 0, "%s: out of memory", path);
	}
	s->mmdb = m;
	s->mmdb_v6 = m->metadata.ip_version == 6;
	char day[16] = "?";
	time_t t = (time_t)m->metadata.build_epoch;
	struct tm tm;
	if (gmtime_r(&t, &tm))
		strftime(day, sizeof day, "%Y-%m-%d", &tm);
	char detail[1024];
	snprintf(detail, sizeof detail, "%s (%s, IPv%u, built %s, %u nodes)", path,
	         m->metadata.database_type ? m->metadata.database_type : "?",
	         (unsigned)m->metadata.ip_version, day, (unsigned)m->metadata.node_count);
	s->info.detail = geo_strdup(detail);
	if (geo_db_add(g, s) < 0) {
		geo_source_free(s);
		return dm_fail(err, DM_ERR_NOMEM, 0, "%s: out of memory", path);
	}
	return 0;
}
