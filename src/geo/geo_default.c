/* Default mapping sources: what `darkmap geo`, `replay` and `demo` use when no source is named.
 * Order is precedence: DB-IP geolocation (where addresses are used), then the registration
 * view: RIR statistics (the registries' own record, oldest snapshot first: the demo replays
 * 2014), then geo-whois-asn-country (2026 whois), then AS names. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
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

/* out as it is wherever darkmap runs (absolute, links resolved; as it was when that fails):
 * the defaults found through ./node_modules or through the binary's folder are the same files,
 * named alike in the mapping index's key (one index, where each way built and kept its own,
 * 123 MB and a 2 s build) and in the sources' paths it holds (`darkmap geo --sources`). */
static int canon_dir(char *out, size_t n)
{
	char real[PATH_MAX];
	if (realpath(out, real) && strlen(real) < n)
		memcpy(out, real, strlen(real) + 1);
	return 0;
}

/* First of: $ENV (when env is set), ./rel, <repo>/rel that is a directory; canonical. */
static int find_dir(const char *env, const char *rel, char *out, size_t n)
{
	const char *e = env ? getenv(env) : NULL;
	if (e && *e) {
		snprintf(out, n, "%s", e);
		return is_dir(out) ? canon_dir(out, n) : -1;
	}
	snprintf(out, n, "%s", rel);
	if (is_dir(out))
		return canon_dir(out, n);
	char repo[PATH_MAX];
	if (repo_dir(repo, sizeof repo) == 0 && strlen(repo) + strlen(rel) + 2 <= n) {
		size_t rl = strlen(repo), ll = strlen(rel);
		memcpy(out, repo, rl);
		out[rl] = '/';
		memcpy(out + rl + 1, rel, ll + 1);
		if (is_dir(out))
			return canon_dir(out, n);
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

/* The default sources, read from their files: geolocation first (where the addresses are
 * used answers; registration fills the space it has no answer for, docs/geo.md "Views"). data
 * or nm is NULL when absent. Returns the number of sources loaded, or an error. */
static int load_sources(struct geo_db *g, const char *data, const char *nm, int geoloc, struct dm_error *err)
{
	char path[PATH_MAX + 128];
	int loaded = 0, rc;
	if (nm && geoloc) {
		if ((rc = load_npm_ranges(g, nm, "@ip-location-db/dbip-country", err)) < 0)
			return rc;
		loaded += rc;
	}
	if (data) {
		snprintf(path, sizeof path, "%s/rir", data);
		if ((rc = load_rir_dir(g, path, err)) < 0)
			return rc;
		loaded += rc;
	}
	if (nm) {
		if ((rc = load_npm_ranges(g, nm, "@ip-location-db/geo-whois-asn-country", err)) < 0)
			return rc;
		loaded += rc;
	}
	if (data) {
		snprintf(path, sizeof path, "%s/asn/asnames.json.gz", data);
		if (is_file(path)) {
			if ((rc = geo_load_asnames(g, path, err)) < 0)
				return rc;
			loaded++;
		}
	}
	return loaded;
}

/* ---- the mapping index of the default sources (geo_index.c, docs/geo.md) ---- */

/* Below this many bytes of input the sources are read as they are: parsing them costs less
 * than a file in the cache (the tests' small data folders would each leave one). */
enum { INDEX_MIN_INPUT = 4 << 20, INDEX_KEEP = 4 };

struct key {
	char *text;
	size_t len, cap;
	uint64_t bytes;             /* input size */
};

static void key_add(struct key *k, const char *path)
{
	struct stat st;
	char line[PATH_MAX + 96];
	int n;
	if (stat(path, &st) == 0)
		n = snprintf(line, sizeof line, "%s %llu %lld.%09ld %llu\n", path, (unsigned long long)st.st_size,
		             (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (unsigned long long)st.st_ino);
	else
		n = snprintf(line, sizeof line, "%s absent\n", path);
	if (n < 0 || (size_t)n >= sizeof line)
		return;
	if (k->len + (size_t)n + 1 > k->cap) {
		size_t cap = (k->cap ? k->cap * 2 : 4096) + (size_t)n;
		char *t = realloc(k->text, cap);
		if (!t)
			return;
		k->text = t;
		k->cap = cap;
	}
	memcpy(k->text + k->len, line, (size_t)n + 1);
	k->len += (size_t)n;
	k->bytes += stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static void key_npm(struct key *k, const char *nm, const char *pkg)
{
	char path[PATH_MAX + 256];
	const char *base = strrchr(pkg, '/') + 1;
	for (int v6 = 0; v6 < 2; v6++) {
		snprintf(path, sizeof path, "%s/%s/%s-ipv%d.csv", nm, pkg, base, v6 ? 6 : 4);
		key_add(k, path);
	}
	snprintf(path, sizeof path, "%s/%s/package.json", nm, pkg);   /* the source's version */
	key_add(k, path);
}

/* The text naming every input of the defaults (all views): path, size, mtime, inode. Any
 * change to a source file, a new delegated-* file or a new package version changes it. */
static int defaults_key(const char *data, const char *nm, struct key *k)
{
	char path[PATH_MAX + 128];
	memset(k, 0, sizeof *k);
	key_add(k, "darkmap mapping index of the default sources, paths canonical");   /* a title: no file */
	if (nm)
		key_npm(k, nm, "@ip-location-db/dbip-country");
	if (data) {
		snprintf(path, sizeof path, "%s/rir", data);
		DIR *d = opendir(path);
		char *names[256];
		size_t n = 0;
		struct dirent *de;
		while (d && (de = readdir(d)) && n < 256)
			if (!strncmp(de->d_name, "delegated-", 10))
				names[n++] = geo_strdup(de->d_name);
		if (d)
			closedir(d);
		qsort(names, n, sizeof names[0], name_cmp);
		for (size_t i = 0; i < n; i++) {
			char f[PATH_MAX * 2];
			if (names[i] && snprintf(f, sizeof f, "%s/%s", path, names[i]) < (int)sizeof f)
				key_add(k, f);
			free(names[i]);
		}
	}
	if (nm)
		key_npm(k, nm, "@ip-location-db/geo-whois-asn-country");
	if (data) {
		snprintf(path, sizeof path, "%s/asn/asnames.json.gz", data);
		key_add(k, path);
	}
	return k->text ? 0 : -1;
}

static int mkdirs(const char *dir)
{
	char p[PATH_MAX];
	if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p)
		return -1;
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			mkdir(p, 0755);
			*s = '/';
		}
	return mkdir(p, 0755) == 0 || is_dir(p) ? 0 : -1;
}

/* Where the index of key lives: $DARKMAP_GEO_INDEX (a file), else a cache folder beside the
 * sources (node_modules/.cache/darkmap, else $XDG_CACHE_HOME or ~/.cache/darkmap), one file
 * per set of source paths. 0, or -1 when there is nowhere to keep it. */
static int index_path(const char *nm, const struct key *k, char *dir, size_t ndir, char *out, size_t n)
{
	const char *e = getenv("DARKMAP_GEO_INDEX");
	if (e && *e) {
		dir[0] = 0;
		return snprintf(out, n, "%s", e) < (int)n ? 0 : -1;
	}
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int w = -1;
	if (nm)
		w = snprintf(dir, ndir, "%s/.cache/darkmap", nm);
	else if (xdg && *xdg)
		w = snprintf(dir, ndir, "%s/darkmap", xdg);
	else if (home && *home)
		w = snprintf(dir, ndir, "%s/.cache/darkmap", home);
	if (w < 0 || (size_t)w >= ndir || mkdirs(dir) < 0)
		return -1;
	/* named by the paths alone (the first word of each key line): a changed file replaces
	 * its configuration's index instead of adding one */
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0, word = 1; i < k->len; i++) {
		if (k->text[i] == '\n')
			word = 1;
		else if (k->text[i] == ' ')
			word = 0;
		if (word)
			h = (h ^ (uint8_t)k->text[i]) * 0x100000001b3ULL;
	}
	return snprintf(out, n, "%s/geo-v2-%016llx.idx", dir, (unsigned long long)h) < (int)n ? 0 : -1;
}

/* Keeps the INDEX_KEEP newest index files of dir: other source folders' indexes go. */
static void index_prune(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct { char name[64]; time_t t; } f[64];
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < 64) {
		struct stat st;
		char p[PATH_MAX + 80];
		if (strncmp(de->d_name, "geo-", 4) || strlen(de->d_name) >= sizeof f[0].name)
			continue;
		if (snprintf(p, sizeof p, "%s/%s", dir, de->d_name) < (int)sizeof p && stat(p, &st) == 0) {
			memcpy(f[n].name, de->d_name, strlen(de->d_name) + 1);   /* length checked above */
			f[n++].t = st.st_mtime;
		}
	}
	closedir(d);
	for (int kept = 0; kept < n; kept++) {
		int newest = kept;
		for (int i = kept + 1; i < n; i++)
			if (f[i].t > f[newest].t)
				newest = i;
		char name[64];
		time_t t = f[newest].t;
		memcpy(name, f[newest].name, sizeof name);
		f[newest] = f[kept];
		memcpy(f[kept].name, name, sizeof name);
		f[kept].t = t;
		char p[PATH_MAX + 80];
		if (kept >= INDEX_KEEP && snprintf(p, sizeof p, "%s/%s", dir, f[kept].name) < (int)sizeof p)
			unlink(p);
	}
}

/* Maps the index at path into g when it is whole and built from key: 0, or -1. */
static int index_map(struct geo_db *g, const char *path, const char *key, int geoloc, struct dm_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	void *m = MAP_FAILED;
	if (fstat(fd, &st) == 0 && st.st_size > 0)
		m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -1;
	size_t first = g->nsrc;
	if (geo_index_attach(g, m, (size_t)st.st_size, key, geoloc ? 0 : GEO_VIEW_GEOLOCATION, err) < 0) {
		munmap(m, (size_t)st.st_size);
		return -1;
	}
	if (g->map || g->nsrc == first) {   /* one mapping per database */
		while (g->nsrc > first)
			geo_source_free(g->src[--g->nsrc]);
		munmap(m, (size_t)st.st_size);
		return -1;
	}
	g->map = m;
	g->maplen = (size_t)st.st_size;
	return 0;
}

/* The defaults through their index: mapped when the index is there and current; else read
 * from the files (every view), written to a new index beside them, and handed to g. Anything
 * wrong with the index (absent, stale, damaged, unwritable) ends in reading the files, as
 * without an index: the answers are the same either way. DARKMAP_GEO_INDEX=off: never. */
static int load_indexed(struct geo_db *g, const char *data, const char *nm, int geoloc, struct dm_error *err)
{
	const char *e = getenv("DARKMAP_GEO_INDEX");
	struct key k;
	char dir[PATH_MAX], path[PATH_MAX + 64];
	if ((e && !strcmp(e, "off")) || defaults_key(data, nm, &k) < 0)
		return load_sources(g, data, nm, geoloc, err);
	int rc;
	size_t first = g->nsrc;
	struct dm_error ierr;
	if ((k.bytes < INDEX_MIN_INPUT && !(e && *e)) || g->nsrc || g->map ||
	    index_path(nm, &k, dir, sizeof dir, path, sizeof path) < 0) {
		rc = load_sources(g, data, nm, geoloc, err);
	} else if (index_map(g, path, k.text, geoloc, &ierr) == 0) {
		rc = (int)(g->nsrc - first);
	} else {
		/* build: every view, so that one index serves every date */
		struct geo_db *all = geo_db_new();
		rc = all ? load_sources(all, data, nm, 1, err) : dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
		char tmp[PATH_MAX + 96];
		snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
		if (rc > 0 && geo_index_write(all, tmp, k.text, &ierr) == 0 && rename(tmp, path) == 0 &&
		    index_map(g, path, k.text, geoloc, &ierr) == 0) {
			rc = (int)(g->nsrc - first);
			if (dir[0])
				index_prune(dir);
			geo_db_free(all);
		} else if (rc >= 0 && all) {
			unlink(tmp);
			/* no index: the sources just read, those of this date */
			rc = 0;
			for (size_t i = 0; i < all->nsrc; i++) {
				struct geo_source *s = all->src[i];
				if ((!geoloc && s->info.view == GEO_VIEW_GEOLOCATION) || geo_db_add(g, s) < 0)
					geo_source_free(s);
				else
					rc++;
			}
			all->nsrc = 0;
			geo_db_free(all);
		} else {
			geo_db_free(all);
			rc = load_sources(g, data, nm, geoloc, err);
		}
	}
	free(k.text);
	return rc;
}

int geo_load_defaults(struct geo_db *g, struct dm_error *err)
{
	return geo_load_defaults_at(g, 0, err);
}

int geo_load_defaults_at(struct geo_db *g, int64_t when, struct dm_error *err)
{
	char data[PATH_MAX], nm[PATH_MAX], path[PATH_MAX + 128];
	int have_data = find_dir("DARKMAP_DATA", "../shared/data", data, sizeof data) == 0;
	int have_nm = find_dir("DARKMAP_NODE_MODULES", "node_modules", nm, sizeof nm) == 0;
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
	if (!have_nm && !have_data)
		return 0;
	return load_indexed(g, have_data ? data : NULL, have_nm ? nm : NULL, geoloc, err);
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
