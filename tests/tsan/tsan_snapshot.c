/* ThreadSanitizer test of darkmap serve's snapshot rereads beside the event loop
 * (src/http/snapshot.c): a writer (src/store, a connection of its own) commits a bin of 20
 * countries at a time, while the loop side asks for the countries' snapshot as /api/entities
 * does, reads every entity's row at the last time, and takes the snapshots the reader threads
 * finish. Checks that reads ran on threads beside the loop and that, once the writer stops, the
 * snapshot holds every row written. Prints "ok NAME" / "not ok NAME: why"; a data race makes
 * TSan exit 66. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http/http_impl.h"
#include "signal/series.h"
#include "store/store.h"

enum { NCC = 20, NBINS = 150, T0 = 1419206400 };

struct writer {
	struct store *st;
	atomic_int done, failed;
};

static void *write_main(void *arg)
{
	struct writer *w = arg;
	for (int i = 0; i < NBINS; i++) {
		if (store_begin(w->st))
			atomic_store(&w->failed, 1);
		for (int c = 0; c < NCC; c++) {
			struct sig_entity e = { .kind = SIG_COUNTRY, .afi = DM_AFI_IPV4 };
			e.cc[0] = 'A' + c;
			e.cc[1] = 'Q';
			/* a value that changes every bin: every row is stored (rows are run-length) */
			uint64_t v = 10 + (uint64_t)((i + c) & 1);
			struct sig_bin b = { .t = T0 + 300 * i, .visible_prefixes = v, .slash24 = v, .baseline_slash24 = 11,
				             .peers_seeing = 4, .full_feed_peers = 4, .peers_up = 4, .peer_frac = 0.5f };
			if (store_put_bin(w->st, &e, &b))
				atomic_store(&w->failed, 1);
		}
		if (store_commit(w->st))
			atomic_store(&w->failed, 1);
		usleep(3000);
	}
	atomic_store(&w->done, 1);
	return NULL;
}

/* What an /api/entities answer reads of a snapshot: each entity's row at t. */
static size_t read_all(struct api_db *a, uint32_t t)
{
	struct snapshot *m = api_snapshot(a, SIG_COUNTRY, DM_AFI_IPV4);
	size_t seen = 0;
	for (size_t i = 0; m && i < m->nents; i++) {
		snapshot_prefetch(m, i + 1, t);
		const struct snap_bin *b = snapshot_at(m, &m->ents[i], t);
		seen += b && b->slash24 >= 10 && m->hot[b - m->bins].loss == b->baseline - b->slash24;
	}
	return seen;
}

int main(void)
{
	char dir[] = "/tmp/darkmap-tsan-snapshot.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char path[256];
	snprintf(path, sizeof path, "%s/db.sqlite", dir);
	struct dm_error err;
	struct writer w = { .st = store_open(path, &err) };
	if (!w.st || store_set_bin(w.st, 300)) {
		printf("not ok tsan_snapshot_open: %s\n", err.what);
		return 1;
	}
	struct api_db a;
	if (api_db_open(&a, path, &err)) {
		printf("not ok tsan_snapshot_open: %s\n", err.what);
		return 1;
	}
	pthread_t th;
	pthread_create(&th, NULL, write_main, &w);
	size_t answers = 0;
	while (!atomic_load(&w.done)) {
		api_db_refresh(&a);
		read_all(&a, UINT32_MAX);
		answers++;
		usleep(500);
	}
	pthread_join(th, NULL);
	/* the writer stopped: the next reads catch up (the duty cap is ten times a read of a few ms) */
	size_t nbins = 0;
	for (int i = 0; i < 2000; i++) {
		api_db_refresh(&a);
		read_all(&a, UINT32_MAX);
		struct snapshot *m = a.snap[0][0];
		nbins = m ? m->nbins : 0;
		if (nbins == (size_t)NCC * NBINS && m->version == a.data_version)
			break;
		usleep(1000);
	}
	size_t seen = read_all(&a, T0 + 300 * 10);
	int bad = atomic_load(&w.failed);
	printf("%s tsan_snapshot_writer%s\n", bad ? "not ok" : "ok", bad ? ": a store call failed" : "");
	if (a.snap_background > 0)
		printf("ok tsan_snapshot_background_reads\n");
	else
		printf("not ok tsan_snapshot_background_reads: none in %zu answers (%llu reads on the loop)\n", answers,
		       (unsigned long long)a.snap_builds);
	if (nbins == (size_t)NCC * NBINS && seen == NCC)
		printf("ok tsan_snapshot_caught_up\n");
	else
		printf("not ok tsan_snapshot_caught_up: %zu rows of %d, %zu entities at bin 10\n", nbins, NCC * NBINS, seen);
	api_db_close(&a);
	store_close(w.st);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd))
		return 1;
	return 0;
}
