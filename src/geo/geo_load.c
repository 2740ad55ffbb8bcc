/* Loaders for text sources: RIR delegated(-extended) statistics, IP range -> country CSVs,
 * AS name files (pyasn JSON, CSV). A file is read whole (gzip or plain, through zlib) and parsed
 * in place: no per-line allocation, no sscanf. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <zlib.h>

#include "geo/geo_impl.h"

int geo_slurp(const char *path, char **bufp, size_t *lenp, struct dm_error *err)
{
	gzFile z = gzopen(path, "rb");
	if (!z)
		return dm_fail(err, DM_ERR_IO, 0, "%s: %s", path, errno ? strerror(errno) : "cannot open");
	gzbuffer(z, 1 << 17);
	/* Start at the file size (x4 when compressed): one allocation for plain files. */
	struct stat st;
	size_t cap = 1 << 16, len = 0;
	if (stat(path, &st) == 0 && st.st_size > 0 && (uint64_t)st.st_size < ((uint64_t)1 << 34))
		cap = (size_t)st.st_size * (gzdirect(z) ? 1 : 4) + (1 << 16);
	char *buf = malloc(cap + 1);
	if (!buf) {
		gzclose(z);
		return dm_fail(err, DM_ERR_NOMEM, 0, "%s: out of memory", path);
	}
	for (;;) {
		if (cap - len < (1 << 16)) {
			char *nb = realloc(buf, cap * 2 + 1);
			if (!nb) {
				free(buf);
				gzclose(z);
				return dm_fail(err, DM_ERR_NOMEM, len, "%s: out of memory", path);
			}
			buf = nb;
			cap *= 2;
		}
		int n = gzread(z, buf + len, (unsigned)(cap - len));
		if (n < 0) {
			int zerr;
			const char *msg = gzerror(z, &zerr);
			dm_fail(err, DM_ERR_IO, len, "%s: offset %zu: read failed: %s", path, len,
			        zerr == Z_ERRNO ? strerror(errno) : msg);
			free(buf);
			gzclose(z);
			return DM_ERR_IO;
		}
		if (n == 0) {
			/* zlib returns the data before a cut and then 0: the cut is only in gzerror */
			int zerr;
			const char *msg = gzerror(z, &zerr);
			if (zerr != Z_OK && zerr != Z_STREAM_END) {
				dm_fail(err, DM_ERR_IO, len, "%s: offset %zu: read failed: %s", path, len, msg);
				free(buf);
				gzclose(z);
				return DM_ERR_IO;
			}
			break;
		}
		len += (size_t)n;
	}
	gzclose(z);
	buf[len] = 0;
	*bufp = buf;
	*lenp = len;
	return 0;
}

/* ---- small strict parsers over (pointer, length) ---- */

struct fld {
	char *p;
	size_t n;
};

static int fld_eq(struct fld f, const char *s) { return f.n == strlen(s) && !memcmp(f.p, s, f.n); }

static int parse_u64(struct fld f, uint64_t max, uint64_t *v)
{
	if (!f.n || f.n > 20)
		return -1;
	uint64_t x = 0;
	for (size_t i = 0; i < f.n; i++) {
		unsigned d = (unsigned)(uint8_t)f.p[i] - '0';
		if (d > 9 || x > (max - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

static int parse_u128(struct fld f, u128 *v)
{
	if (!f.n || f.n > 39)
		return -1;
	u128 x = 0;
	for (size_t i = 0; i < f.n; i++) {
		unsigned d = (unsigned)(uint8_t)f.p[i] - '0';
		if (d > 9 || x > (U128_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

static int parse_ip4(struct fld f, uint32_t *v)
{
	uint32_t x = 0;
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		if (part) {
			if (i >= f.n || f.p[i] != '.')
				return -1;
			i++;
		}
		unsigned o = 0, digits = 0;
		while (i < f.n && f.p[i] >= '0' && f.p[i] <= '9' && digits < 4) {
			o = o * 10 + (unsigned)(f.p[i] - '0');
			i++;
			digits++;
		}
		if (!digits || o > 255)
			return -1;
		x = x << 8 | o;
	}
	if (i != f.n)
		return -1;
	*v = x;
	return 0;
}

static int parse_ip6(struct fld f, u128 *v)
{
	char tmp[64];
	uint8_t b[16];
	if (f.n >= sizeof tmp)
		return -1;
	memcpy(tmp, f.p, f.n);
	tmp[f.n] = 0;
	if (inet_pton(AF_INET6, tmp, b) != 1)
		return -1;
	u128 x = 0;
	for (int i = 0; i < 16; i++)
		x = x << 8 | b[i];
	*v = x;
	return 0;
}

/* Two letters, returned packed upper-case; 0 when not a code. */
static uint16_t parse_cc(struct fld f)
{
	if (f.n != 2)
		return 0;
	char a = f.p[0], b = f.p[1];
	if (a >= 'a' && a <= 'z')
		a = (char)(a - 32);
	if (b >= 'a' && b <= 'z')
		b = (char)(b - 32);
	if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z')
		return 0;
	return CC_PACK(a, b);
}

static struct fld trim(struct fld f)
{
	while (f.n && (f.p[0] == ' ' || f.p[0] == '\t'))
		f.p++, f.n--;
	while (f.n && (f.p[f.n - 1] == ' ' || f.p[f.n - 1] == '\t'))
		f.n--;
	return f;
}

/* Next line of buf (without "\n" / "\r\n"); returns 0 at the end. */
static int next_line(char **cur, char *end, struct fld *line)
{
	char *p = *cur;
	if (p >= end)
		return 0;
	char *nl = memchr(p, '\n', (size_t)(end - p));
	char *e = nl ? nl : end;
	*cur = nl ? nl + 1 : end;
	if (e > p && e[-1] == '\r')
		e--;
	line->p = p;
	line->n = (size_t)(e - p);
	return 1;
}

static int split_char(struct fld line, char sep, struct fld *f, int maxf)
{
	int n = 0;
	char *p = line.p, *end = line.p + line.n;
	for (;;) {
		char *q = memchr(p, sep, (size_t)(end - p));
		if (n == maxf)
			return n + 1;   /* more fields than wanted: caller sees maxf + 1 */
		f[n].p = p;
		f[n].n = (size_t)((q ? q : end) - p);
		n++;
		if (!q)
			return n;
		p = q + 1;
	}
}

/* CSV fields with RFC 4180 quoting ("a, b" and "" inside quotes), unquoted in place. */
static int split_csv(struct fld line, struct fld *f, int maxf)
{
	int n = 0;
	char *p = line.p, *end = line.p + line.n;
	for (;;) {
		if (n == maxf)
			return n + 1;
		if (p < end && *p == '"') {
			char *w = p, *r = p + 1;
			for (;;) {
				if (r >= end)
					return -1;          /* unterminated quote */
				if (*r == '"') {
					if (r + 1 < end && r[1] == '"') {
						*w++ = '"';
						r += 2;
						continue;
					}
					r++;
					break;
				}
				*w++ = *r++;
			}
			f[n].p = p;
			f[n].n = (size_t)(w - p);
			n++;
			if (r >= end)
				return n;
			if (*r != ',')
				return -1;
			p = r + 1;
			continue;
		}
		char *q = memchr(p, ',', (size_t)(end - p));
		f[n].p = p;
		f[n].n = (size_t)((q ? q : end) - p);
		n++;
		if (!q)
			return n;
		p = q + 1;
	}
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}

/* "name@version" from the package.json beside path (npm packages), or NULL. */
char *geo_npm_package_id(const char *path)
{
	const char *b = base_name(path);
	size_t dl = (size_t)(b - path);
	char *pj = malloc(dl + sizeof "package.json");
	if (!pj)
		return NULL;
	memcpy(pj, path, dl);
	memcpy(pj + dl, "package.json", sizeof "package.json");
	json_t *root = json_load_file(pj, 0, NULL);
	free(pj);
	if (!root)
		return NULL;
	const char *name = json_string_value(json_object_get(root, "name"));
	const char *ver = json_string_value(json_object_get(root, "version"));
	char *id = NULL;
	if (name && ver) {
		size_t n = strlen(name) + strlen(ver) + 2;
		if ((id = malloc(n)))
			snprintf(id, n, "%s@%s", name, ver);
	}
	json_decref(root);
	return id;
}

static void detail_append(struct geo_source *s, const char *fmt, const char *a, const char *b)
{
	char add[1024];
	snprintf(add, sizeof add, fmt, a, b);
	const char *old = s->info.detail ? s->info.detail : "";
	size_t n = strlen(old) + strlen(add) + 3;
	char *d = malloc(n);
	if (!d)
		return;
	snprintf(d, n, "%s%s%s", old, *old ? "; " : "", add);
	free((char *)s->info.detail);
	s->info.detail = d;
}

static int fail_unusable(struct geo_source *s, const char *path, const char *what,
                         struct dm_error *err)
{
	const char *first = s->info.n_problems ? s->info.problems[0] : NULL;
	return dm_fail(err, DM_ERR_BAD_VALUE, 0, "%s: no usable %s (%zu malformed%s%s)", path, what,
	               s->info.n_bad, first ? "; first: " : "", first ? first : "");
}

/* ---- RIR statistics exchange format ----
 * https://www.apnic.net/about-apnic/corporate-documents/documents/resource-guidelines/rir-statistics-exchange-format/
 *   version|registry|serial|records|startdate|enddate|UTCoffset      header
 *   registry|*|type|*|count|summary                                  summary
 *   registry|cc|type|start|value|date|status[|opaque-id[|extensions]] record
 * ipv4 value = number of addresses (not always a power of two), ipv6 value = prefix length,
 * asn value = number of AS numbers. */

static int rir_record(struct geo_source *s, const char *path, uint32_t ln, struct fld *f, int nf)
{
	if (s->registry[0] == 0 && f[0].n && f[0].n < sizeof s->registry) {
		memcpy(s->registry, f[0].p, f[0].n);
		s->registry[f[0].n] = 0;
	}
	struct fld type = f[2], status = f[6];
	int t = fld_eq(type, "ipv4") ? 4 : fld_eq(type, "ipv6") ? 6 : fld_eq(type, "asn") ? 1 : 0;
	if (!t) {
		geo_problem(s, path, ln, "unknown type '%.*s'", (int)type.n, type.p);
		return 0;
	}
	/* Unassigned space (empty cc, ZZ; status available/reserved) maps to nothing. */
	if (fld_eq(status, "available") || fld_eq(status, "reserved") || f[1].n == 0 ||
	    fld_eq(f[1], "ZZ")) {
		s->info.n_skipped++;
		return 0;
	}
	uint16_t cc = parse_cc(f[1]);
	if (!cc || f[1].p[0] > 'Z' || f[1].p[1] > 'Z') {
		geo_problem(s, path, ln, "country code '%.*s' is not two capital letters", (int)f[1].n,
		            f[1].p);
		return 0;
	}
	uint64_t date = 0;
	if (f[5].n == 8 && parse_u64(f[5], 99999999, &date) < 0)
		date = 0;
	uint8_t st = fld_eq(status, "allocated") ? ST_ALLOCATED
	           : fld_eq(status, "assigned") ? ST_ASSIGNED : ST_OTHER;
	(void)nf;
	if (t == 1) {
		uint64_t first, count;
		if (parse_u64(f[3], UINT32_MAX, &first) < 0) {
			geo_problem(s, path, ln, "asn start '%.*s' is not an AS number", (int)f[3].n, f[3].p);
			return 0;
		}
		if (parse_u64(f[4], (uint64_t)UINT32_MAX + 1, &count) < 0 || !count ||
		    first + count - 1 > UINT32_MAX) {
			geo_problem(s, path, ln, "asn count '%.*s' is not a count from %llu", (int)f[4].n,
			            f[4].p, (unsigned long long)first);
			return 0;
		}
		struct geo_asrec r = { (uint32_t)first, (uint32_t)(first + count - 1), ln, (uint32_t)date,
		                       cc, st };
		if (geo_as_push(s, &r) < 0)
			return -1;
		s->info.n_asn++;
		return 0;
	}
	struct geo_rec r = { .line = ln, .date = (uint32_t)date, .cc = cc, .status = st };
	if (t == 4) {
		uint32_t a;
		uint64_t count;
		if (parse_ip4(f[3], &a) < 0) {
			geo_problem(s, path, ln, "ipv4 start '%.*s' is not an IPv4 address", (int)f[3].n,
			            f[3].p);
			return 0;
		}
		if (parse_u64(f[4], (uint64_t)1 << 32, &count) < 0 || !count ||
		    a + count - 1 > UINT32_MAX) {
			geo_problem(s, path, ln, "ipv4 count '%.*s' is not an address count from %.*s",
			            (int)f[4].n, f[4].p, (int)f[3].n, f[3].p);
			return 0;
		}
		r.lo = a;
		r.hi = a + count - 1;
		if (geo_fam_push(&s->v4, &r) < 0)
			return -1;
		s->info.n_ipv4++;
		return 0;
	}
	u128 a;
	uint64_t plen;
	if (parse_ip6(f[3], &a) < 0) {
		geo_problem(s, path, ln, "ipv6 start '%.*s' is not an IPv6 address", (int)f[3].n, f[3].p);
		return 0;
	}
	if (parse_u64(f[4], 128, &plen) < 0) {
		geo_problem(s, path, ln, "ipv6 prefix length '%.*s' is not 0..128", (int)f[4].n, f[4].p);
		return 0;
	}
	u128 host = plen == 0 ? U128_MAX : plen == 128 ? 0 : (((u128)1 << (128 - plen)) - 1);
	if (a & host) {
		geo_problem(s, path, ln, "ipv6 start '%.*s' has bits set past /%u", (int)f[3].n, f[3].p,
		            (unsigned)plen);
		return 0;
	}
	r.lo = a;
	r.hi = a | host;
	if (geo_fam_push(&s->v6, &r) < 0)
		return -1;
	s->info.n_ipv6++;
	return 0;
}

int geo_load_rir(struct geo_db *g, const char *path, struct dm_error *err)
{
	char name[512];
	snprintf(name, sizeof name, "rir:%s", base_name(path));
	if (geo_db_find(g, name, GEO_KIND_RIR))
		return dm_fail(err, DM_ERR_BAD_VALUE, 0, "%s: source %s is already loaded", path, name);
	char *buf;
	size_t len;
	int rc = geo_slurp(path, &buf, &len, err);
	if (rc < 0)
		return rc;
	struct geo_source *s = geo_source_new(name, GEO_KIND_RIR);
	if (!s) {
		free(buf);
		return dm_fail(err, DM_ERR_NOMEM, 0, "%s: out of memory", path);
	}
	char hdr[160] = "";
	char *cur = buf, *end = buf + len;
	struct fld line, f[10];
	uint32_t ln = 0;
	while (next_line(&cur, end, &line)) {
		ln++;
		if (!line.n || line.p[0] == '#')
			continue;
		int nf = split_char(line, '|', f, 9);
		if (line.p[0] >= '0' && line.p[0] <= '9') {   /* version line */
			if (nf >= 4 && !hdr[0]) {
				snprintf(hdr, sizeof hdr, "format %.*s, serial %.*s, %.*s records", (int)f[0].n,
				         f[0].p, (int)f[2].n, f[2].p, (int)f[3].n, f[3].p);
				if (f[1].n < sizeof s->registry) {
					memcpy(s->registry, f[1].p, f[1].n);
					s->registry[f[1].n] = 0;
				}
			}
			continue;
		}
		if (nf == 6 && fld_eq(f[5], "summary"))
			continue;
		if (nf < 7 || nf > 9) {
			geo_problem(s, path, ln, "expected 7 or 8 '|'-separated fields, found %s%d",
			            nf > 9 ? "more than " : "", nf > 9 ? 9 : nf);
			continue;
		}
		if (rir_record(s, path, ln, f, nf) < 0) {
			free(buf);
			geo_source_free(s);
			return dm_fail(err, DM_ERR_NOMEM, 0, "%s: out of memory", path);
		}
	}
	free(buf);
	if (!s->info.n_ipv4 && !s->info.n_ipv6 && !s->info.n_asn) {
		rc = fail_unusable(s, path, "delegated-statistics lines", err);
		geo_source_free(s);
		return rc;
	}
	detail_append(s, "%s (%s)", path, hdr[0] ? hdr : "no version line");
	if (geo_fam_build(&s->v4) < 0 || geo_fam_build(&s->v6) < 0 || geo_db_add(g, s) < 0) {
		geo_source_free(s);
		return dm_fail(err, DM_ERR_NOMEM, 0, "%s: out of memory", path);
	}
	geo_as_build(s);
	return 0;
}

/* ---- IP range -> country CSV: first,last,CC ----
 * ip-location-db ships -ipv4.csv / -ipv6.csv (addresses) and -ipv4-num.csv / -ipv6-num.csv
 * (decimal integers). A numeric file is IPv6 when its name says "ipv6" or a value exceeds 32 bits. */

static int range_end(struct fld f, int num_v6, int *v6, u128 *v)
{
	f = trim(f);
	if (memchr(f.p, ':', f.n)) {
		*v6 = 1;
		return parse_ip6(f, v);
	}
	if (memchr(f.p, '.', f.n)) {
		uint32_t a;
		*v6 = 0;
		if (parse_ip4(f, &a) < 0)
			return -1;
		*v = a;
		return 0;
	}
	if (parse_u128(f, v) < 0)
		return -1;
	*v6 = num_v6 || *v > UINT32_MAX;
	return 0;
}

/* Reads path whole and finds the source it adds to, named "PREFIX:package@version" (or the
 * file's name outside an npm package) so that a package's IPv4 and IPv6 files make one source,
 * or makes a new one (*fresh = 1: the caller adds it to g, or frees it on failure). */
static int source_open(struct geo_db *g, const char *path, const char *prefix, enum geo_kind kind, char **buf,
                       size_t *len, struct geo_source **s, int *fresh, struct dm_error *err)
{
	char name[512];
	char *pkg = geo_npm_package_id(path);
	snprintf(name, sizeof name, "%s:%s", prefix, pkg ? pkg : base_name(path));
	free(pkg);
	int rc = geo_slurp(path, buf, len, err);
	if (rc < 0)
		return rc;
	*s = geo_db_find(g, name, kind);
	*fresh = !*s;
	if (*s)
		geo_db_unflatten(g);    /* the source grows: the flattened views no longer answer */
	if (*s && (*s)->mapped && geo_source_own(*s) < 0) {   /* it grows: off the index file */
		free(*buf);
		return dm_fail(err, DM_ERR_NOMEM, 0, "%s: out of memory", path);
	}
	if (*fresh && !(*s = geo_source_new(name, kind))) {
		free(*buf);
		return dm_fail(err, DM_ERR_NOMEM, 0, "%s: out of memory", path);
	}
	return 0;
}

int geo_load_range_csv(struct geo_db *g, const char *path, struct dm_error *err)
{
	char *buf;
	size_t len;
	struct geo_source *s;
	int fresh;
	int rc = source_open(g, path, "csv", GEO_KIND_RANGES, &buf, &len, &s, &fresh, err);
	if (rc < 0)
		return rc;
	size_t before = s->info.n_ipv4 + s->info.n_ipv6;
	int num_v6 = strstr(base_name(path), "ipv6") != NULL;
	char *cur = buf, *end = buf + len;
	struct fld line, f[5];
	uint32_t ln = 0;
	while (next_line(&cur, end, &line)) {
		ln++;
		if (!line.n || line.p[0] == '#')
			continue;
		int nf = split_csv(line, f, 4);
		if (nf < 0) {
			geo_problem(s, path, ln, "unterminated quoted field");
			continue;
		}
		if (nf != 3) {
			geo_problem(s, path, ln, "expected 3 fields first,last,country, found %d", nf);
			continue;
		}
		int v6a, v6b;
		u128 lo, hi;
		if (range_end(f[0], num_v6, &v6a, &lo) < 0) {
			if (ln == 1)
				continue;       /* a header line */
			geo_problem(s, path, ln, "range start '%.*s' is not an address", (int)f[0].n, f[0].p);
			continue;
		}
		if (range_end(f[1], num_v6, &v6b, &hi) < 0) {
			geo_problem(s, path, ln, "range end '%.*s' is not an address", (int)f[1].n, f[1].p);
			continue;
		}
		if (v6a != v6b || hi < lo) {
			geo_problem(s, path, ln, "range %.*s-%.*s is empty or mixes address families",
			            (int)f[0].n, f[0].p, (int)f[1].n, f[1].p);
			continue;
		}
		struct fld c = trim(f[2]);
		if (!c.n || fld_eq(c, "ZZ") || fld_eq(c, "--")) {
			s->info.n_skipped++;
			continue;
		}
		uint16_t cc = parse_cc(c);
		if (!cc) {
			geo_problem(s, path, ln, "country code '%.*s' is not two letters", (int)c.n, c.p);
			continue;
		}
		struct geo_rec r = { .lo = lo, .hi = hi, .line = ln, .cc = cc };
		if (geo_fam_push(v6a ? &s->v6 : &s->v4, &r) < 0)
			goto nomem;
		if (v6a)
			s->info.n_ipv6++;
		else
			s->info.n_ipv4++;
	}
	free(buf);
	buf = NULL;
	if (s->info.n_ipv4 + s->info.n_ipv6 == before) {
		rc = fail_unusable(s, path, "first,last,country lines", err);
		if (fresh)
			geo_source_free(s);
		return rc;
	}
	detail_append(s, "%s%s", path, "");
	if (geo_fam_build(&s->v4) < 0 || geo_fam_build(&s->v6) < 0)
		goto nomem;
	if (fresh && geo_db_add(g, s) < 0)
		goto nomem;
	return 0;
nomem:
	free(buf);
	if (fresh)
		geo_source_free(s);
	return dm_fail(err, DM_ERR_NOMEM, 0, "%s: out of memory", path);
}

/* ---- AS names ----
 * pyasn's asnames.json: {"131279": "STAR-KP Ryugyong-dong, KP", ...}; the trailing ", CC" is
 * the AS's country. CSV: asn,name | asn,name,CC | first,last,asn,name (ip-location-db/asn). */

static uint16_t trailing_cc(const char *name, size_t n)
{
	if (n >= 4 && name[n - 4] == ',' && name[n - 3] == ' ' && name[n - 2] >= 'A' &&
	    name[n - 2] <= 'Z' && name[n - 1] >= 'A' && name[n - 1] <= 'Z')
		return CC_PACK(name[n - 2], name[n - 1]);
	return 0;
}

static int parse_asn(struct fld f, uint32_t *asn)
{
	f = trim(f);
	if (f.n > 2 && (f.p[0] == 'A' || f.p[0] == 'a') && (f.p[1] == 'S' || f.p[1] == 's'))
		f.p += 2, f.n -= 2;
	uint64_t v;
	if (parse_u64(f, UINT32_MAX, &v) < 0)
		return -1;
	*asn = (uint32_t)v;
	return 0;
}

static int names_json(struct geo_source *s, const char *path, char *buf, size_t len,
                      struct dm_error *err)
{
	json_error_t jerr;
	json_t *root = json_loadb(buf, len, 0, &jerr);
	if (!root)
		return dm_fail(err, DM_ERR_BAD_VALUE, (uint64_t)(jerr.position < 0 ? 0 : jerr.position),
		               "%s:%d:%d: JSON: %s", path, jerr.line, jerr.column, jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return dm_fail(err, DM_ERR_BAD_VALUE, 0, "%s: expected a JSON object {\"ASN\": \"name\"}",
		               path);
	}
	const char *key;
	json_t *val;
	json_object_foreach(root, key, val) {
		uint32_t asn;
		struct fld k = { (char *)key, strlen(key) };
		if (parse_asn(k, &asn) < 0) {
			geo_problem(s, path, 0, "key \"%.40s\" is not an AS number", key);
			continue;
		}
		const char *name = json_string_value(val);
		if (!name) {
			geo_problem(s, path, 0, "AS%u: name is not a string", asn);
			continue;
		}
		size_t n = json_string_length(val);
		if (geo_name_add(s, asn, name, n, trailing_cc(name, n)) < 0) {
			json_decref(root);
			return dm_fail(err, DM_ERR_NOMEM, 0, "%s: out of memory", path);
		}
	}
	json_decref(root);
	return 0;
}

static int names_csv(struct geo_source *s, const char *path, char *buf, size_t len,
                     struct dm_error *err)
{
	char *cur = buf, *end = buf + len;
	struct fld line, f[6];
	uint32_t ln = 0;
	while (next_line(&cur, end, &line)) {
		ln++;
		if (!line.n || line.p[0] == '#')
			continue;
		int nf = split_csv(line, f, 5);
		if (nf < 0) {
			geo_problem(s, path, ln, "unterminated quoted field");
			continue;
		}
		struct fld a, n;
		uint16_t cc = 0;
		if (nf == 2 || nf == 3) {
			a = f[0];
			n = trim(f[1]);
			if (nf == 3 && !(cc = parse_cc(trim(f[2])))) {
				geo_problem(s, path, ln, "country '%.*s' is not two letters", (int)f[2].n, f[2].p);
				continue;
			}
		} else if (nf == 4) {
			a = f[2];
			n = trim(f[3]);
		} else {
			geo_problem(s, path, ln, "expected asn,name[,CC] or first,last,asn,name, found %d fields",
			            nf);
			continue;
		}
		uint32_t asn;
		if (parse_asn(a, &asn) < 0) {
			if (ln == 1)
				continue;   /* a header line */
			geo_problem(s, path, ln, "'%.*s' is not an AS number", (int)a.n, a.p);
			continue;
		}
		if (!n.n) {
			s->info.n_skipped++;
			continue;
		}
		if (!cc)
			cc = trailing_cc(n.p, n.n);
		if (geo_name_add(s, asn, n.p, n.n, cc) < 0)
			return dm_fail(err, DM_ERR_NOMEM, 0, "%s: out of memory", path);
	}
	return 0;
}

int geo_load_asnames(struct geo_db *g, const char *path, struct dm_error *err)
{
	char *buf;
	size_t len;
	struct geo_source *s;
	int fresh;
	int rc = source_open(g, path, "names", GEO_KIND_ASNAMES, &buf, &len, &s, &fresh, err);
	if (rc < 0)
		return rc;
	size_t before = s->nnames;
	size_t i = 0;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
		i++;
	rc = i < len && buf[i] == '{' ? names_json(s, path, buf, len, err)
	                              : names_csv(s, path, buf, len, err);
	free(buf);
	if (rc == 0 && s->nnames == before)
		rc = fail_unusable(s, path, "AS name entries", err);
	if (rc < 0) {
		if (fresh)
			geo_source_free(s);
		return rc;
	}
	detail_append(s, "%s%s", path, "");
	if (fresh && geo_db_add(g, s) < 0) {
		geo_source_free(s);
		return dm_fail(err, DM_ERR_NOMEM, 0, "%s: out of memory", path);
	}
	return 0;
}
