/* ThreadSanitizer test of the archive's compression thread (src/live/archive.c): the event-loop
 * side rotates an updates file every synthetic 15 minutes (each closed file queued to the thread)
 * and reads the counters the thread updates, while the thread compresses; then close drains the
 * queue. Checks that every file was compressed (bzip2 and gzip runs) and no plain file is left.
 * Prints "ok NAME" / "not ok NAME: why"; a data race makes TSan exit 66. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "live/archive.h"

struct clk {
	int64_t t;
};

static int64_t now(void *arg, uint32_t *usec)
{
	*usec = 0;
	return ((struct clk *)arg)->t;
}

static int run(enum dm_compression comp, const char *sfx)
{
	char dir[] = "/tmp/darkmap-tsan-archive.XXXXXX";
	if (!mkdtemp(dir))
		return -1;
	struct clk c = { 1419264000 };
	struct archive_opts o;
	archive_opts_default(&o);
	o.dir = dir;
	o.name = "tsan";
	o.rib_interval = 0;
	o.comp = comp;
	o.no_sync = 1;
	o.clock = now;
	o.clock_arg = &c;
	struct dm_error err;
	struct archive *a = archive_open(&o, &err);
	if (!a)
		return -1;
	/* a KEEPALIVE is the smallest whole BGP message */
	uint8_t ka[19];
	memset(ka, 0xff, 16);
	ka[16] = 0, ka[17] = 19, ka[18] = 4;
	struct mrt_session s = { .peer_as = 65001, .local_as = 64496, .afi = 1, .as4 = 1 };
	s.peer_ip.afi = s.local_ip.afi = 1;
	struct archive_stats st;
	int files = 40;
	for (int f = 0; f < files; f++) {
		for (int i = 0; i < 200; i++)
			archive_message(a, c.t, (uint32_t)i, &s, ka, sizeof ka, &err);
		c.t += 900;
		archive_tick(a, &err);        /* rotation: the file goes to the thread */
		archive_stats(a, &st);        /* read while the thread updates */
	}
	int rc = archive_close(a, &err);
	char p[256];
	int missing = 0;
	for (int f = 0; f < files; f++) {
		int64_t t = 1419264000 + f * 900;
		time_t tt = (time_t)t;
		struct tm tm;
		gmtime_r(&tt, &tm);
		struct stat sb;
		snprintf(p, sizeof p, "%s/tsan/2014.12/UPDATES/updates.%04d%02d%02d.%02d%02d%s", dir, tm.tm_year + 1900,
		         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, sfx);
		missing += stat(p, &sb) != 0;
		p[strlen(p) - strlen(sfx)] = 0;
		missing += stat(p, &sb) == 0;   /* the plain file must be gone */
	}
	snprintf(p, sizeof p, "rm -rf '%s'", dir);
	if (system(p))
		return -1;
	return rc || missing ? -1 : 0;
}

int main(void)
{
	int fails = 0;
	if (run(DM_COMP_BZIP2, ".bz2")) {
		printf("not ok tsan_archive_bzip2: a file not compressed or left plain\n");
		fails++;
	} else {
		printf("ok tsan_archive_bzip2\n");
	}
	if (run(DM_COMP_GZIP, ".gz")) {
		printf("not ok tsan_archive_gzip: a file not compressed or left plain\n");
		fails++;
	} else {
		printf("ok tsan_archive_gzip\n");
	}
	return fails != 0;
}
