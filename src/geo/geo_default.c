/* Default mapping sources: what `darkmap geo`, `replay` and `demo` use when no source is named.
 * Order is precedence: DB-IP geolocation (where addresses are used), then the registration
 * view: RIR statistics (the registries' own record, oldest snapshot first: the demo replays
 * 2014), then geo-whois-asn-country (2026 whois), then AS names. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "geo/geo_impl.h"

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The repository holding this binary: build/<kind>/darkmap -> two levels up. */
static int repo_dir(char *out, size_t n)
{
	char exe[PATH_MAX];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (k <= 0)
		return -1;
	exe[k] = 0;
	for (int up = 0; up < 3; up++) {
		char *sl = strrchr(exe, '/');
		if (!sl)
			return -1;
		*sl = 0;
	}
	return snprintf(out, n, "%s", exe) < (int)n ? 0 : -1;
}

/* First of: $ENV (when env is set), ./rel, <repo>/rel that is a directory. */
static int find_dir(const char *env, const char *rel, char *out, size_t n)
{
	const char *e = env ? getenv(env) : NULL;
	if (e && *e) {
		snprintf(out, n, "%s", e);
		return is_dir(out) ? 0 : -1;
	}
	snprintf(out, n, "%s", rel);
	if (is_dir(out))
		return 0;
	char repo[PATH_MAX];
	if (repo_dir(repo, sizeof repo) == 0 && strlen(repo) + strlen(rel) + 2 <= n) {
		size_t rl = strlen(repo), ll = strlen(rel);
		memcpy(out, repo, rl);
		out[rl] = '/';
		memcpy(out + rl + 1, rel, ll + 1);
		if (is_dir(out))
			return 0;
	}
	return -1;
}

/* The snapshot date a delegated file name ends with ("delegated-apnic-20140701"), 0 if none. */
static unsigned long name_date(const char *n)
{
	size_t l = strlen(n), k = 0;
	while (k < l && n[l - 1 - k] >= '0' && n[l - 1 - k] <= '9')
		k++;
	return k == 8 ? strtoul(n + l - 8, NULL, 10) : 0;
}

/* Oldest snapshot first, then by name: the files nearest the 2014 archives the demo replays
 * answer first, later ones fill what they lack. */
static int name_cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	unsigned long dx = name_date(x), dy = name_date(y);
	if (dx != dy)
		return dx < dy ? -1 : 1;
	return strcmp(x, y);
}

static int load_rir_dir(struct geo_db *g, const char *dir, struct dm_error *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	char *names[256];
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < 256)
		if (!strncmp(de->d_name, "delegated-", 10))
			names[n++] = geo_strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof names[0], name_cmp);
	int loaded = 0, rc = 0;
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX];
		if (!rc && names[i] && snprintf(path, sizeof path, "%s/%s", dir, names[i]) < (int)sizeof path) {
			rc = geo_load_rir(g, path, err);
			loaded += rc == 0;
		}
		free(names[i]);
	}
	return rc < 0 ? rc : loaded;
}

/* Loads the IPv4 and IPv6 CSVs of one ip-location-db package as one source: 1 when loaded,
 * 0 when the package is not installed, or the loader's error. */
static int load_npm_ranges(struct geo_db *g, const char *nm, const char *pkg, struct dm_error *err)
{
	char path[PATH_MAX + 256];
	int any = 0;
	for (int v6 = 0; v6 < 2; v6++) {
		const char *base = strrchr(pkg, '/') + 1;
		snprintf(path, sizeof path, "%s/%s/%s-ipv%d.csv", nm, pkg, base, v6 ? 6 : 4);
		if (!is_file(path))
			continue;
		int rc = geo_load_range_csv(g, path, err);
		if (rc < 0)
			return rc;
		any = 1;
	}
	return any;
}

/* The date of an ip-location-db snapshot from its package version "2.3.2026060120" (the last
 * part is YYYYMMDDHH): UTC seconds of that day, or 0 when the version says no date. */
static int64_t npm_snapshot(const char *csv)
{
	char *id = geo_npm_package_id(csv);
	int64_t t = 0;
	const char *v = id ? strrchr(id, '.') : NULL;
	if (v && strlen(v + 1) == 10 && strspn(v + 1, "0123456789") == 10) {
		char d[9];
		memcpy(d, v + 1, 8);
		d[8] = 0;
		t = geo_date_seconds(strtoul(d, NULL, 10));
	}
	free(id);
	return t;
}

int geo_load_defaults(struct geo_db *g, struct dm_error *err)
{
	return geo_load_defaults_at(g, 0, err);
}

int geo_load_defaults_at(struct geo_db *g, int64_t when, struct dm_error *err)
{
	char data[PATH_MAX], nm[PATH_MAX], path[PATH_MAX + 128];
	int loaded = 0, rc;
	int have_data = find_dir("DARKMAP_DATA", "../shared/data", data, sizeof data) == 0;
	int have_nm = find_dir(NULL, "node_modules", nm, sizeof nm) == 0;
	/* DARKMAP_GEO=registration: the registries' records only. A replay of old archives (the
	 * 2014 demo) is better served by the records of its time than by a 2026 geolocation. */
	const char *views = getenv("DARKMAP_GEO");
	int geoloc = 1, forced = 0;
	if (views && *views) {
		if (!strcmp(views, "registration"))
			geoloc = 0;
		else if (!strcmp(views, "geolocation,registration"))
			forced = 1;
		else
			return dm_fail(err, DM_ERR_BAD_VALUE, 0,
			               "DARKMAP_GEO='%.40s': expected 'registration' or "
			               "'geolocation,registration' (the default)", views);
	}
	/* A geolocation snapshot says where addresses are used at its date. Data much older than
	 * it (the 2014 archives, the scenario library's 2011-2019 events) is mapped by the
	 * registration snapshots instead, the nearest in time we have. */
	if (geoloc && !forced && when > 0 && have_nm) {
		snprintf(path, sizeof path, "%s/%s", nm,
		         "@ip-location-db/dbip-country/dbip-country-ipv4.csv");
		int64_t snap = is_file(path) ? npm_snapshot(path) : 0;
		if (snap && when < snap - GEO_GEOLOC_VALID)
			geoloc = 0;
	}
	/* Geolocation first: where the addresses are used answers; registration fills the space
	 * it has no answer for (docs/geo.md "Views"). */
	if (have_nm && geoloc) {
		if ((rc = load_npm_ranges(g, nm, "@ip-location-db/dbip-country", err)) < 0)
			return rc;
		loaded += rc;
	}
	if (have_data) {
		snprintf(path, sizeof path, "%s/rir", data);
		if ((rc = load_rir_dir(g, path, err)) < 0)
			return rc;
		loaded += rc;
	}
	if (have_nm) {
		if ((rc = load_npm_ranges(g, nm, "@ip-location-db/geo-whois-asn-country", err)) < 0)
			return rc;
		loaded += rc;
	}
	if (have_data) {
		snprintf(path, sizeof path, "%s/asn/asnames.json.gz", data);
		if (is_file(path)) {
			if ((rc = geo_load_asnames(g, path, err)) < 0)
				return rc;
			loaded++;
		}
	}
	return loaded;
}

int geo_load_option(struct geo_db *g, const char *option, const char *path, struct dm_error *err)
{
	if (!strcmp(option, "--rir"))
		return geo_load_rir(g, path, err);
	if (!strcmp(option, "--ranges"))
		return geo_load_range_csv(g, path, err);
	if (!strcmp(option, "--mmdb"))
		return geo_load_mmdb(g, path, err);
	if (!strcmp(option, "--asnames"))
		return geo_load_asnames(g, path, err);
	return 1;
}

int64_t geo_date_seconds(unsigned long yyyymmdd)
{
	int y = (int)(yyyymmdd / 10000), m = (int)(yyyymmdd / 100 % 100), d = (int)(yyyymmdd % 100);
	if (y < 1970 || y > 2200 || m < 1 || m > 12 || d < 1 || d > 31)
		return 0;
	/* days from civil (H. Hinnant's algorithm): no timegm, no TZ */
	y -= m <= 2;
	int era = y / 400, yoe = y - era * 400;
	int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return ((int64_t)era * 146097 + doe - 719468) * 86400;
}
