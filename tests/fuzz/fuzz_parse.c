/* libFuzzer target: the small parsers of what users and other programs hand darkmap. The first
 * byte picks one; the rest is its input:
 *   0  dm_time_parse (--from/--to): a time it accepts formats and parses back to itself;
 *   1  the webhook URL (webhook_new): an accepted URL is http:// and holds no space or control
 *      byte (its host goes into the Host: header, its path into the request line, as they are);
 *   2  an mmdb file (geo_load_mmdb), then lookups over what it loaded;
 *   3  a darkmap SQLite database as plot/eval/detect open it (store_open_ro, the entities, their
 *      bin extents and dense series, the events): refused or read, never a crash. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "base/addr.h"
#include "base/time.h"
#include "geo/geo.h"
#include "detect/event.h"
#include "out/webhook.h"
#include "store/store.h"

static char dbdir[64];

/* DARKMAP_FUZZ_SEED_DB=PATH: writes a small real database there (the seed of case 3) and exits. */
static void write_seed_db(const char *path)
{
	struct dm_error err;
	struct store *s = store_open(path, &err);
	if (!s)
		exit(1);
	struct sig_entity e = { .kind = SIG_COUNTRY, .afi = DM_AFI_IPV4, .cc = "KP" };
	store_set_bin(s, 300);
	store_put_entity_name(s, &e, "North Korea");
	store_begin(s);
	for (uint32_t i = 0; i < 24; i++) {
		struct sig_bin b = { .t = 1419264000 + i * 300, .visible_prefixes = i > 3 && i < 9 ? 0 : 4,
			             .slash24 = i > 3 && i < 9 ? 0 : 4, .baseline_slash24 = 4, .peers_seeing = 40,
			             .full_feed_peers = 40, .peers_up = 42, .peer_frac = 1, .interruptions = i == 9 };
		store_put_bin(s, &e, &b);
	}
	struct dm_event ev = { .type = DM_EV_OUTAGE, .entity = e, .start = 1419265200, .end = 1419266700,
		               .severity = 1, .baseline_slash24 = 4, .raised = 1419265200 };
	snprintf(ev.reason, sizeof ev.reason, "seed");
	store_put_event(s, &ev);
	int rc = store_commit(s);
	store_close(s);
	exit(rc ? 1 : 0);
}

/* A database folder and what is in it (the files of one input: a database and its journal). */
static void dir_remove(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *de;
		char path[PATH_MAX];
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
			    snprintf(path, sizeof path, "%s/%s", dir, de->d_name) < (int)sizeof path)
				unlink(path);
		closedir(d);
	}
	rmdir(dir);
}

/* the run's database folder goes at exit (each input's files are removed after it) */
static void dbdir_remove(void)
{
	if (dbdir[0])
		dir_remove(dbdir);
}

/* The folders of runs that ended without their exit handler (a finding's abort, a kill: the
 * campaign's timeout kills its workers) are removed by the next run: each folder is named with
 * its process id, and one whose process is gone is stale. */
static void stale_dirs_remove(void)
{
	DIR *d = opendir("/tmp");
	if (!d)
		return;
	struct dirent *de;
	const char *prefix = "darkmap-fuzz-parse-";
	while ((de = readdir(d))) {
		char *end;
		if (strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		long pid = strtol(de->d_name + strlen(prefix), &end, 10);
		if (end == de->d_name + strlen(prefix) || *end != '-' || pid <= 0 || pid == (long)getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;   /* not of this form, or its process may still run */
		char dir[PATH_MAX];
		if (snprintf(dir, sizeof dir, "/tmp/%s", de->d_name) < (int)sizeof dir)
			dir_remove(dir);
	}
	closedir(d);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (getenv("DARKMAP_FUZZ_SEED_DB"))
		write_seed_db(getenv("DARKMAP_FUZZ_SEED_DB"));
	stale_dirs_remove();
	snprintf(dbdir, sizeof dbdir, "/tmp/darkmap-fuzz-parse-%ld-XXXXXX", (long)getpid());
	if (!mkdtemp(dbdir))
		dbdir[0] = 0;
	else
		atexit(dbdir_remove);
	return 0;
}

static void fuzz_time(const uint8_t *d, size_t n)
{
	char s[64];
	if (n >= sizeof s)
		return;
	memcpy(s, d, n);
	s[n] = 0;
	uint32_t t, back;
	if (dm_time_parse(s, &t))
		return;
	char buf[32];
	CHECK(dm_time_parse(dm_time_fmt(t, DM_TIME_ISO, buf), &back) == 0 && back == t);
	CHECK(dm_time_parse(dm_time_fmt(t, DM_TIME_MIN, buf), &back) == 0 && back == t - t % 60);
}

static void fuzz_url(const uint8_t *d, size_t n)
{
	char s[512];
	if (n >= sizeof s)
		return;
	memcpy(s, d, n);
	s[n] = 0;
	struct webhook_opts o;
	webhook_opts_default(&o);
	struct dm_error err;
	struct webhook *w = webhook_new(s, &o, 1, &err);
	if (!w)
		return;
	CHECK(strncmp(s, "http://", 7) == 0);
	for (const char *p = s; *p; p++)   /* nothing that could end the request line or a header */
		CHECK((unsigned char)*p > 0x20 && (unsigned char)*p != 0x7f);
	webhook_free(w);
}

/* Writes the bytes to a file of their own: mmdb and SQLite read files by name. */
static int to_file(const char *path, const uint8_t *d, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = fwrite(d, 1, n, f);
	return fclose(f) == 0 && w == n ? 0 : -1;
}

static void fuzz_mmdb(const uint8_t *d, size_t n)
{
	int fd = memfd_create("fuzz.mmdb", 0);
	if (fd < 0)
		return;
	if (write(fd, d, n) == (ssize_t)n) {
		char path[64];
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		struct geo_db *g = geo_db_new();
		struct dm_error err;
		if (geo_load_mmdb(g, path, &err) == 0) {
			static const char *const probes[] = { "175.45.176.0/22", "0.0.0.0/0", "1.0.0.0/24",
				                              "2001:db8::/32", "::/0", "255.255.255.255/32" };
			for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
				struct dm_prefix p;
				struct geo_share sh[8];
				if (dm_prefix_parse(probes[i], &p) == 0) {
					int k = geo_prefix_countries(g, &p, sh, 8);
					CHECK(k <= 8);
				}
			}
		}
		geo_db_free(g);
	}
	close(fd);
}

static void fuzz_db(const uint8_t *d, size_t n)
{
	if (!dbdir[0])
		return;
	char path[128], side[160];
	snprintf(path, sizeof path, "%s/fuzz.sqlite", dbdir);
	if (to_file(path, d, n))
		return;
	struct dm_error err;
	struct store *s = store_open_ro(path, &err);
	if (s) {
		struct sig_entity *ents = NULL;
		size_t ne = 0;
		if (store_list_entities(s, &ents, &ne) == 0) {
			for (size_t i = 0; i < ne && i < 4; i++) {
				int64_t first, last;
				int ex = store_bin_extent(s, &ents[i], &first, &last);
				CHECK(ex != 0 || first <= last);
				struct sig_bin *b = NULL;
				size_t nb = 0;
				if (store_get_bins(s, &ents[i], 0, UINT32_MAX, &b, &nb) == 0)
					for (size_t k = 1; k < nb; k++)
						CHECK(b[k].t > b[k - 1].t);   /* bins strictly increasing */
				free(b);
				struct dm_event *ev = NULL;
				size_t nev = 0;
				store_get_events(s, &ents[i], 0, UINT32_MAX, &ev, &nev);
				free(ev);
			}
		}
		free(ents);
		char buf[64];
		store_get_meta(s, "bin", buf, sizeof buf);
		store_close(s);
	}
	unlink(path);
	snprintf(side, sizeof side, "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	unlink(side);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0: fuzz_time(data + 1, size - 1); break;
	case 1: fuzz_url(data + 1, size - 1); break;
	case 2: fuzz_mmdb(data + 1, size - 1); break;
	default: fuzz_db(data + 1, size - 1); break;
	}
	return 0;
}
