/* src/store: exact round trips, range reads, event overlap, reopen, and clean errors on files
 * that are not darkmap databases. Every expected value is written here by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "base/addr.h"
#include "store/store.h"

static char dir[64];

static void path_in_dir(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static const struct sig_entity KP4 = { .kind = SIG_COUNTRY, .afi = DM_AFI_IPV4, .cc = "KP" };
static const struct sig_entity KP6 = { .kind = SIG_COUNTRY, .afi = DM_AFI_IPV6, .cc = "KP" };
static const struct sig_entity AS131279 = { .kind = SIG_ASN, .afi = DM_AFI_IPV4, .asn = 131279 };

/* A bin whose every field differs and uses the extremes of its type. */
static struct sig_bin full_bin(uint32_t t)
{
	struct sig_bin b;
	memset(&b, 0, sizeof b);
	b.t = t;
	b.visible_prefixes = 4;
	b.slash24 = 3;
	b.baseline_slash24 = 4;
	b.peers_seeing = 38;
	b.full_feed_peers = 40;
	b.peers_up = 65535;
	b.peer_frac = 0.1f;                /* not exact in binary: must still round-trip */
	b.announcements = 4294967295u;
	b.withdrawals = 7;
	b.interruptions = 11;
	b.more_specifics = 2;
	b.quality = SIG_Q_GAP | SIG_Q_PEERS_DROPPED | SIG_Q_FF_CHANGED;
	b.ff_joined = 65535;
	b.ff_left = 3;
	return b;
}

static void assert_bin_eq(const struct sig_bin *a, const struct sig_bin *b)
{
	assert_int_equal(a->t, b->t);
	assert_int_equal(a->visible_prefixes, b->visible_prefixes);
	assert_int_equal(a->slash24, b->slash24);
	assert_int_equal(a->baseline_slash24, b->baseline_slash24);
	assert_int_equal(a->peers_seeing, b->peers_seeing);
	assert_int_equal(a->full_feed_peers, b->full_feed_peers);
	assert_int_equal(a->peers_up, b->peers_up);
	assert_memory_equal(&a->peer_frac, &b->peer_frac, sizeof a->peer_frac);  /* bit-exact */
	assert_int_equal(a->announcements, b->announcements);
	assert_int_equal(a->withdrawals, b->withdrawals);
	assert_int_equal(a->interruptions, b->interruptions);
	assert_int_equal(a->more_specifics, b->more_specifics);
	assert_int_equal(a->quality, b->quality);
	assert_int_equal(a->ff_joined, b->ff_joined);
	assert_int_equal(a->ff_left, b->ff_left);
}

static struct dm_event mk_event(const struct sig_entity *e, uint8_t type, uint32_t start,
                                uint32_t end)
{
	struct dm_event ev;
	memset(&ev, 0, sizeof ev);
	ev.type = type;
	ev.entity = *e;
	ev.start = start;
	ev.end = end;
	ev.severity = 1.0 / 3.0;
	ev.baseline_slash24 = 4;
	ev.slash24 = 0;
	ev.peers_lost = 38;
	ev.full_feed_peers = 40;
	ev.rate = 12.5;
	ev.baseline_rate = 0.1;
	ev.quality = SIG_Q_OK;
	snprintf(ev.affected, sizeof ev.affected, "175.45.176.0/24 175.45.177.0/24");
	snprintf(ev.reason, sizeof ev.reason, "4 of 4 /24s unreachable, start %u", start);
	ev.of_type = type == DM_EV_RECOVERY ? DM_EV_OUTAGE : 0;
	ev.raised = start + 300;
	ev.window = 21600;
	ev.interruptions = 4294967295u;
	return ev;
}

static struct store *open_new(const char *name)
{
	char p[128];
	struct dm_error err = { 0 };
	path_in_dir(p, sizeof p, name);
	unlink(p);
	struct store *s = store_open(p, &err);
	if (!s)
		fail_msg("store_open %s: %s", p, err.what);
	return s;
}

static void test_bin_round_trip(void **state)
{
	(void)state;
	struct store *s = open_new("rt.sqlite");
	struct sig_bin in[3] = { full_bin(1419264900), full_bin(1419265200), full_bin(1419265500) };
	in[1].peer_frac = 1.0f / 3.0f;
	in[1].slash24 = 0;
	in[1].quality = 0;
	in[2].peer_frac = 0.0f;
	in[2].quality = SIG_Q_NO_DATA;
	in[2].visible_prefixes = 4294967295u;
	/* IPv6 /48 counts pass 2^32: the world value of a 2015 route-views6 RIB, and one above it */
	in[2].slash24 = 9894864915ull;
	in[2].baseline_slash24 = 9894864916ull;
	assert_int_equal(store_begin(s), 0);
	for (int i = 2; i >= 0; i--)   /* out of order on purpose: reads come back sorted by t */
		assert_int_equal(store_put_bin(s, &KP4, &in[i]), 0);
	assert_int_equal(store_commit(s), 0);
	struct sig_bin *out;
	size_t n;
	assert_int_equal(store_get_bins(s, &KP4, 0, UINT32_MAX, &out, &n), 0);
	assert_int_equal(n, 3);
	for (int i = 0; i < 3; i++)
		assert_bin_eq(&in[i], &out[i]);
	free(out);
	/* Same entity in IPv6 and an AS: distinct series, nothing stored yet. */
	assert_int_equal(store_get_bins(s, &KP6, 0, UINT32_MAX, &out, &n), 0);
	assert_int_equal(n, 0);
	assert_null(out);
	assert_int_equal(store_get_bins(s, &AS131279, 0, UINT32_MAX, &out, &n), 0);
	assert_int_equal(n, 0);
	/* Putting the same (entity, t) again replaces the row. */
	struct sig_bin again = in[0];
	again.slash24 = 1;
	assert_int_equal(store_put_bin(s, &KP4, &again), 0);   /* outside a transaction: autocommit */
	assert_int_equal(store_get_bins(s, &KP4, in[0].t, in[0].t + 1, &out, &n), 0);
	assert_int_equal(n, 1);
	assert_bin_eq(&again, &out[0]);
	free(out);
	store_close(s);
}

static void test_bin_ranges(void **state)
{
	(void)state;
	struct store *s = open_new("range.sqlite");
	const uint32_t t0 = 1419206400;   /* 2014-12-22 00:00 UTC */
	assert_int_equal(store_begin(s), 0);
	for (uint32_t i = 0; i < 20; i++) {
		struct sig_bin b = full_bin(t0 + 300 * i);
		b.slash24 = i;
		assert_int_equal(store_put_bin(s, &KP4, &b), 0);
		b.slash24 = 100 + i;
		assert_int_equal(store_put_bin(s, &AS131279, &b), 0);
	}
	assert_int_equal(store_commit(s), 0);
	struct sig_bin *out;
	size_t n;
	/* [t0+300, t0+900): the bins starting at t0+300 and t0+600, not t0+900 (half-open). */
	assert_int_equal(store_get_bins(s, &KP4, t0 + 300, t0 + 900, &out, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].t, t0 + 300);
	assert_int_equal(out[0].slash24, 1);
	assert_int_equal(out[1].t, t0 + 600);
	assert_int_equal(out[1].slash24, 2);
	free(out);
	/* A from inside a bin excludes that bin: bins are selected by their start. */
	assert_int_equal(store_get_bins(s, &KP4, t0 + 301, t0 + 900, &out, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].t, t0 + 600);
	free(out);
	assert_int_equal(store_get_bins(s, &AS131279, t0 + 5700, t0 + 99999, &out, &n), 0);
	assert_int_equal(n, 1);   /* only the 20th bin, t0 + 19*300 */
	assert_int_equal(out[0].slash24, 119);
	free(out);
	assert_int_equal(store_get_bins(s, &KP4, t0 + 6000, t0 + 9000, &out, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_get_bins(s, &KP4, t0 + 900, t0 + 900, &out, &n), 0);
	assert_int_equal(n, 0);
	int64_t first, last;
	assert_int_equal(store_bin_extent(s, &KP4, &first, &last), 0);
	assert_int_equal(first, t0);
	assert_int_equal(last, t0 + 19 * 300);
	assert_int_equal(store_bin_extent(s, &KP6, &first, &last), 1);
	store_close(s);
}

static void test_events_overlap(void **state)
{
	(void)state;
	struct store *s = open_new("events.sqlite");
	struct dm_event a = mk_event(&KP4, DM_EV_OUTAGE, 100, 200);
	struct dm_event b = mk_event(&KP4, DM_EV_OUTAGE, 300, 0);       /* ongoing */
	struct dm_event c = mk_event(&KP4, DM_EV_INSTABILITY, 250, 250); /* an instant */
	struct dm_event d = mk_event(&AS131279, DM_EV_PARTIAL, 120, 180);
	d.baseline_slash24 = 9894864915ull;   /* above 2^32 (IPv6 /48s): 64-bit through the store */
	d.slash24 = 4294967296ull;
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_put_event(s, &b), 0);
	assert_int_equal(store_put_event(s, &a), 0);
	assert_int_equal(store_put_event(s, &d), 0);
	assert_int_equal(store_put_event(s, &c), 0);
	assert_int_equal(store_commit(s), 0);
	struct dm_event *out;
	size_t n;
	assert_int_equal(store_get_events(s, &KP4, 150, 260, &out, &n), 0);
	assert_int_equal(n, 2);   /* a [100,200) and c at 250 */
	assert_memory_equal(&out[0], &a, sizeof a);   /* every field, exact */
	assert_memory_equal(&out[1], &c, sizeof c);
	free(out);
	/* [200, 300): a ended at 200 (half-open), b starts at 300: only c. */
	assert_int_equal(store_get_events(s, &KP4, 200, 300, &out, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].type, DM_EV_INSTABILITY);
	free(out);
	/* Long after: the ongoing outage still overlaps. */
	assert_int_equal(store_get_events(s, &KP4, 100000, 200000, &out, &n), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(&out[0], &b, sizeof b);
	free(out);
	/* All entities, ordered by start: a(100) d(120) c(250) b(300). */
	assert_int_equal(store_get_events(s, NULL, 0, 1000, &out, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(out[0].start, 100);
	assert_memory_equal(&out[1], &d, sizeof d);
	assert_int_equal(out[2].start, 250);
	assert_int_equal(out[3].start, 300);
	free(out);
	/* The ongoing outage ends: the same (entity, type, start) is updated, not duplicated. */
	b.end = 34560;
	memset(b.reason, 0, sizeof b.reason);   /* the store returns zero-filled text fields */
	snprintf(b.reason, sizeof b.reason, "back after 9 h 31 min");
	assert_int_equal(store_put_event(s, &b), 0);
	assert_int_equal(store_get_events(s, &KP4, 0, UINT32_MAX, &out, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(&out[2], &b, sizeof b);
	free(out);
	assert_int_equal(store_get_events(s, &KP4, 40000, 50000, &out, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_get_events(s, &KP6, 0, UINT32_MAX, &out, &n), 0);
	assert_int_equal(n, 0);

	/* docs/detect.md: an outage opens with end 0; a recovery with the same start closes it.
	 * The open row then reads back with the recovery's end, and stops overlapping later. */
	struct dm_event open = mk_event(&AS131279, DM_EV_OUTAGE, 5000, 0);
	struct dm_event rec = mk_event(&AS131279, DM_EV_RECOVERY, 5000, 39260);   /* 9 h 31 min */
	struct dm_event other = mk_event(&AS131279, DM_EV_PARTIAL, 5000, 0);       /* not of_type */
	assert_int_equal(store_put_event(s, &open), 0);
	assert_int_equal(store_put_event(s, &other), 0);
	assert_int_equal(store_get_events(s, &AS131279, 50000, 60000, &out, &n), 0);
	assert_int_equal(n, 2);   /* both open: they overlap everything after their start */
	free(out);
	assert_int_equal(store_put_event(s, &rec), 0);
	assert_int_equal(store_get_events(s, &AS131279, 5000, 5001, &out, &n), 0);
	assert_int_equal(n, 3);   /* ordered by start, then type: outage, partial, recovery */
	assert_int_equal(out[0].type, DM_EV_OUTAGE);
	assert_int_equal(out[0].end, 39260);
	assert_int_equal(out[1].type, DM_EV_PARTIAL);
	assert_int_equal(out[1].end, 0);
	assert_memory_equal(&out[2], &rec, sizeof rec);
	assert_int_equal(out[2].of_type, DM_EV_OUTAGE);
	assert_int_equal(out[2].interruptions, 4294967295u);
	free(out);
	assert_int_equal(store_get_events(s, &AS131279, 50000, 60000, &out, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].type, DM_EV_PARTIAL);
	free(out);
	store_close(s);
}

static void test_reopen_meta_names(void **state)
{
	(void)state;
	char p[128];
	struct dm_error err = { 0 };
	struct store *s = open_new("reopen.sqlite");
	struct sig_bin b = full_bin(1419265500);
	assert_int_equal(store_put_bin(s, &KP4, &b), 0);
	assert_int_equal(store_put_meta(s, "input", "updates.20141222.1600.bz2"), 0);
	assert_int_equal(store_put_meta(s, "input", "rib.20141222.1600.bz2"), 0);   /* replaces */
	assert_int_equal(store_put_entity_name(s, &KP4, "North Korea"), 0);
	store_close(s);

	path_in_dir(p, sizeof p, "reopen.sqlite");
	for (int ro = 0; ro < 2; ro++) {
		s = ro ? store_open_ro(p, &err) : store_open(p, &err);
		assert_non_null(s);
		struct sig_bin *out;
		size_t n;
		assert_int_equal(store_get_bins(s, &KP4, 0, UINT32_MAX, &out, &n), 0);
		assert_int_equal(n, 1);
		assert_bin_eq(&b, &out[0]);
		free(out);
		char buf[64];
		assert_int_equal(store_get_meta(s, "input", buf, sizeof buf), 0);
		assert_string_equal(buf, "rib.20141222.1600.bz2");
		assert_int_equal(store_get_meta(s, "absent", buf, sizeof buf), 1);
		assert_int_equal(store_get_entity_name(s, &KP4, buf, sizeof buf), 0);
		assert_string_equal(buf, "North Korea");
		assert_int_equal(store_get_entity_name(s, &KP6, buf, sizeof buf), 1);
		if (ro) {   /* a read-only store refuses writes with a message, not a crash */
			assert_true(store_put_bin(s, &KP4, &b) < 0);
			assert_non_null(strstr(store_errmsg(s), "reopen.sqlite"));
		}
		store_close(s);
	}
	/* WAL mode is persistent in the file. */
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void test_bad_files(void **state)
{
	(void)state;
	char p[128];
	struct dm_error err;
	/* Not SQLite at all. */
	path_in_dir(p, sizeof p, "text.sqlite");
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database\n", f);
	fclose(f);
	memset(&err, 0, sizeof err);
	assert_null(store_open(p, &err));
	assert_int_not_equal(err.code, 0);
	assert_non_null(strstr(err.what, p));
	assert_non_null(strstr(err.what, "not a darkmap database: file is not a database"));
	memset(&err, 0, sizeof err);
	assert_null(store_open_ro(p, &err));
	assert_non_null(strstr(err.what, "file is not a database"));

	/* A missing file, read-only: refused, not created. */
	path_in_dir(p, sizeof p, "missing.sqlite");
	unlink(p);
	memset(&err, 0, sizeof err);
	assert_null(store_open_ro(p, &err));
	assert_int_equal(err.code, DM_ERR_IO);
	assert_int_equal(access(p, F_OK), -1);

	/* Somebody else's SQLite database. */
	path_in_dir(p, sizeof p, "other.sqlite");
	unlink(p);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE foo(x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	memset(&err, 0, sizeof err);
	assert_null(store_open(p, &err));
	assert_int_equal(err.code, DM_ERR_BAD_VALUE);
	assert_non_null(strstr(err.what, "not a darkmap database (an SQLite file with application_id 0"));

	/* A darkmap database of a future schema version. */
	struct store *s = open_new("future.sqlite");
	store_close(s);
	path_in_dir(p, sizeof p, "future.sqlite");
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	memset(&err, 0, sizeof err);
	assert_null(store_open(p, &err));
	assert_non_null(strstr(err.what, "schema version 99, this darkmap reads 2"));
	/* ... and one of schema version 1 (before vis_changes and the full-feed change counts) */
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	memset(&err, 0, sizeof err);
	assert_null(store_open(p, &err));
	assert_non_null(strstr(err.what, "schema version 1, this darkmap reads 2"));

	/* A darkmap database whose pages were overwritten: open or read fails with a message. */
	s = open_new("smashed.sqlite");
	assert_int_equal(store_begin(s), 0);
	for (uint32_t i = 0; i < 5000; i++) {
		struct sig_bin b = full_bin(i * 300);
		assert_int_equal(store_put_bin(s, &KP4, &b), 0);
	}
	assert_int_equal(store_commit(s), 0);
	store_close(s);   /* the last connection checkpoints the WAL into the main file */
	path_in_dir(p, sizeof p, "smashed.sqlite");
	f = fopen(p, "r+b");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	assert_true(size > 8 * 4096);
	char junk[4096];
	memset(junk, 0xA5, sizeof junk);
	for (long off = 4 * 4096; off + 4096 <= size; off += 4096) {   /* keep header and schema */
		fseek(f, off, SEEK_SET);
		fwrite(junk, 1, sizeof junk, f);
	}
	fclose(f);
	memset(&err, 0, sizeof err);
	s = store_open(p, &err);
	if (s) {
		struct sig_bin *out = NULL;
		size_t n = 0;
		int rc = store_get_bins(s, &KP4, 0, UINT32_MAX, &out, &n);
		assert_true(rc < 0);
		assert_null(out);
		assert_non_null(strstr(store_errmsg(s), "malformed"));
		store_close(s);
	} else {
		assert_non_null(strstr(err.what, "malformed"));
	}
}

/* WAL: a reader (plot, serve) opened beside a writer (replay) sees each commit, never a
 * half-written batch, and neither blocks the other. */
static void test_reader_beside_writer(void **state)
{
	(void)state;
	char p[128];
	struct dm_error err = { 0 };
	struct store *w = open_new("wal.sqlite");
	struct sig_bin b = full_bin(1000 * 300);
	assert_int_equal(store_put_bin(w, &KP4, &b), 0);
	path_in_dir(p, sizeof p, "wal.sqlite");
	struct store *r = store_open_ro(p, &err);
	assert_non_null(r);
	struct sig_bin *out;
	size_t n;
	assert_int_equal(store_get_bins(r, &KP4, 0, UINT32_MAX, &out, &n), 0);
	assert_int_equal(n, 1);
	free(out);
	assert_int_equal(store_begin(w), 0);
	for (uint32_t i = 1; i <= 10; i++) {
		b.t = (1000 + i) * 300;
		assert_int_equal(store_put_bin(w, &KP4, &b), 0);
	}
	/* The writer reads its own batch (it is flushed first); the reader does not see it yet. */
	assert_int_equal(store_get_bins(w, &KP4, 0, UINT32_MAX, &out, &n), 0);
	assert_int_equal(n, 11);
	free(out);
	assert_int_equal(store_get_bins(r, &KP4, 0, UINT32_MAX, &out, &n), 0);
	assert_int_equal(n, 1);
	free(out);
	assert_int_equal(store_commit(w), 0);
	assert_int_equal(store_get_bins(r, &KP4, 0, UINT32_MAX, &out, &n), 0);
	assert_int_equal(n, 11);
	free(out);
	store_close(r);
	store_close(w);
}

/* docs/plot.md quotes the schema between markers; it must be exactly what a new file gets. */
static void test_schema_documented(void **state)
{
	(void)state;
	FILE *f = fopen("docs/plot.md", "r");   /* tests/run runs from the repository root */
	if (!f)
		skip();
	static char doc[65536];
	size_t n = fread(doc, 1, sizeof doc - 1, f);
	fclose(f);
	doc[n] = 0;
	const char *begin = strstr(doc, "<!-- schema:begin -->\n```sql\n");
	assert_non_null(begin);
	begin += strlen("<!-- schema:begin -->\n```sql\n");
	const char *end = strstr(begin, "```\n<!-- schema:end -->");
	assert_non_null(end);
	size_t len = (size_t)(end - begin);
	assert_int_equal(len, strlen(store_schema_sql()));
	assert_memory_equal(begin, store_schema_sql(), len);
}

/* Not a timing assertion: prints inserts/s so a reader sees the order of magnitude (ASan build). */
static void test_insert_rate(void **state)
{
	(void)state;
	struct store *s = open_new("rate.sqlite");
	enum { N = 200000, ENTITIES = 200 };
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(store_begin(s), 0);
	for (uint32_t i = 0; i < N; i++) {
		struct sig_entity e = { .kind = SIG_ASN, .afi = DM_AFI_IPV4, .asn = 1 + i % ENTITIES };
		struct sig_bin bin = full_bin(1419206400 + 300 * (i / ENTITIES));
		assert_int_equal(store_put_bin(s, &e, &bin), 0);
	}
	assert_int_equal(store_commit(s), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double sec = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("store: %d bins in %.2f s = %.0f inserts/s (sanitizer build)\n", N, sec, N / sec);
	struct sig_bin *out;
	size_t n;
	struct sig_entity e7 = { .kind = SIG_ASN, .afi = DM_AFI_IPV4, .asn = 7 };
	assert_int_equal(store_get_bins(s, &e7, 0, UINT32_MAX, &out, &n), 0);
	assert_int_equal(n, N / ENTITIES);
	free(out);
	store_close(s);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/dm-test-store-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Run-length storage: a dense series with long runs is stored as its changes only and read
 * back dense, exactly, for any range; the extent covers the runs up to the series end. */
static void test_run_length(void **state)
{
	(void)state;
	char path[] = "/tmp/dm-test-rle-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	unlink(path);
	struct dm_error err;
	struct store *s = store_open(path, &err);
	assert_non_null(s);
	assert_int_equal(store_set_bin(s, 300), 0);
	struct sig_entity kp = { .kind = SIG_COUNTRY, .afi = 1, .cc = "KP" };
	/* 100 bins from t0: slash24 4, except 0 in bins 40..49; interruptions 1 in bin 50 */
	const uint32_t t0 = 1419264000;
	struct sig_bin want[100];
	assert_int_equal(store_begin(s), 0);
	for (int i = 0; i < 100; i++) {
		memset(&want[i], 0, sizeof want[i]);
		want[i].t = t0 + 300u * (uint32_t)i;
		want[i].slash24 = (i >= 40 && i < 50) ? 0 : 4;
		want[i].visible_prefixes = want[i].slash24;
		want[i].full_feed_peers = 24;
		want[i].interruptions = i == 50 ? 1 : 0;
		assert_int_equal(store_put_bin(s, &kp, &want[i]), 0);
	}
	assert_int_equal(store_commit(s), 0);
	store_close(s);
	/* stored rows: bin 0, 40 (drop), 50 (back + interruption), 51 (interruption back to 0) */
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "SELECT count(*) FROM bins", -1, &st, NULL);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 4);
	sqlite3_finalize(st);
	sqlite3_close(db);
	s = store_open_ro(path, &err);
	assert_non_null(s);
	struct sig_bin *b;
	size_t n;
	assert_int_equal(store_get_bins(s, &kp, 0, UINT32_MAX, &b, &n), 0);
	assert_int_equal(n, 100);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(b[i].t, want[i].t);
		assert_int_equal(b[i].slash24, want[i].slash24);
		assert_int_equal(b[i].interruptions, want[i].interruptions);
		assert_int_equal(b[i].full_feed_peers, 24);
	}
	free(b);
	/* a range starting inside a run: bins 45..59 */
	assert_int_equal(store_get_bins(s, &kp, t0 + 300 * 45, t0 + 300 * 60, &b, &n), 0);
	assert_int_equal(n, 15);
	assert_int_equal(b[0].t, t0 + 300 * 45);
	assert_int_equal(b[0].slash24, 0);
	assert_int_equal(b[5].slash24, 4);
	assert_int_equal(b[5].interruptions, 1);
	assert_int_equal(b[6].interruptions, 0);
	free(b);
	int64_t first, last;
	assert_int_equal(store_bin_extent(s, &kp, &first, &last), 0);
	assert_int_equal(first, t0);
	assert_int_equal(last, t0 + 300 * 99);
	store_close(s);
	unlink(path);
	char wal[64];
	snprintf(wal, sizeof wal, "%s-wal", path);
	unlink(wal);
	snprintf(wal, sizeof wal, "%s-shm", path);
	unlink(wal);
}

static struct sig_change mk_change(uint32_t t, const char *pfx, int visible, const char *cc, uint32_t origin,
                                   uint32_t upstream)
{
	struct sig_change c;
	memset(&c, 0, sizeof c);
	c.t = t;
	assert_int_equal(dm_prefix_parse(pfx, &c.prefix), 0);
	c.visible = (uint8_t)visible;
	c.covered = (uint8_t)!visible;
	memcpy(c.cc, cc, 3);
	snprintf(c.countries, sizeof c.countries, "%s:4", cc);
	c.origin_asn = origin;
	c.upstream_asn = upstream;
	c.units = c.prefix.afi == DM_AFI_IPV6 ? 65536ull * 65536 * 4 : 4;   /* > 2^32 for a /16 */
	c.peers_before = 21;
	c.full_feed_peers = 40;
	c.peer_asn = 4294967295u;
	assert_int_equal(dm_ip_parse(c.prefix.afi == DM_AFI_IPV6 ? "2001:db8::1" : "206.220.231.55", &c.peer_addr), 0);
	snprintf(c.collector, sizeof c.collector, "route-views2");
	return c;
}

static void assert_change_eq(const struct sig_change *a, const struct sig_change *b)
{
	char pa[DM_PREFIX_STRLEN], pb[DM_PREFIX_STRLEN], ia[DM_IP_STRLEN], ib[DM_IP_STRLEN];
	dm_prefix_fmt(&a->prefix, pa);
	dm_prefix_fmt(&b->prefix, pb);
	assert_string_equal(pa, pb);
	dm_ip_fmt(&a->peer_addr, ia);
	dm_ip_fmt(&b->peer_addr, ib);
	assert_string_equal(ia, ib);
	assert_int_equal(a->t, b->t);
	assert_int_equal(a->prefix.afi, b->prefix.afi);
	assert_int_equal(a->visible, b->visible);
	assert_int_equal(a->covered, b->covered);
	assert_string_equal(a->cc, b->cc);
	assert_int_equal(a->origin_asn, b->origin_asn);
	assert_int_equal(a->upstream_asn, b->upstream_asn);
	assert_int_equal(a->units, b->units);
	assert_int_equal(a->peers_before, b->peers_before);
	assert_int_equal(a->full_feed_peers, b->full_feed_peers);
	assert_int_equal(a->peer_asn, b->peer_asn);
	assert_string_equal(a->collector, b->collector);
	assert_string_equal(a->countries, b->countries);
}

/* vis_changes: exact round trip (batched in a transaction and one put outside it), time range
 * [from, to), and the filters: a country (its family), an origin AS, the global entity of a
 * family, none. */
static void test_changes(void **state)
{
	(void)state;
	struct store *s = open_new("changes.sqlite");
	struct sig_change in[5] = {
		mk_change(1419264900, "175.45.176.0/24", 0, "KP", 131279, 4837),
		mk_change(1419264900, "175.45.177.0/24", 0, "KP", 131279, 4837),
		mk_change(1419265000, "203.0.112.0/22", 0, "CN", 4134, 0),
		mk_change(1419299100, "175.45.176.0/24", 1, "KP", 131279, 9808),
		mk_change(1419299200, "2001:db8::/16", 1, "KP", 131279, 4837),
	};
	snprintf(in[2].countries, sizeof in[2].countries, "CN:3,KP:1");   /* KP holds a share */
	assert_int_equal(store_begin(s), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(store_put_change(s, &in[i]), 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_put_change(s, &in[4]), 0);   /* autocommit */
	struct sig_change *out;
	size_t n;
	assert_int_equal(store_get_changes(s, 0, UINT32_MAX, NULL, &out, &n), 0);
	assert_int_equal(n, 5);
	for (int i = 0; i < 5; i++)
		assert_change_eq(&in[i], &out[i]);
	free(out);
	assert_int_equal(store_get_changes(s, 0, UINT32_MAX, &KP4, &out, &n), 0);
	assert_int_equal(n, 4);   /* the two losses, CN's prefix with a KP share, the return; the IPv6 one is KP6's */
	assert_change_eq(&in[0], &out[0]);
	assert_change_eq(&in[1], &out[1]);
	assert_change_eq(&in[2], &out[2]);
	assert_change_eq(&in[3], &out[3]);
	free(out);
	const struct sig_entity cn4 = { .kind = SIG_COUNTRY, .afi = DM_AFI_IPV4, .cc = "CN" };
	assert_int_equal(store_get_changes(s, 0, UINT32_MAX, &cn4, &out, &n), 0);
	assert_int_equal(n, 1);
	assert_change_eq(&in[2], &out[0]);
	free(out);
	const struct sig_entity p4 = { .kind = SIG_COUNTRY, .afi = DM_AFI_IPV4, .cc = "P" };   /* no partial match */
	assert_int_equal(store_get_changes(s, 0, UINT32_MAX, &p4, &out, &n), 0);
	assert_int_equal(n, 0);
	free(out);
	assert_int_equal(store_get_changes(s, 0, UINT32_MAX, &KP6, &out, &n), 0);
	assert_int_equal(n, 1);
	assert_change_eq(&in[4], &out[0]);
	free(out);
	/* [1419264900, 1419299100): the return at 1419299100 is outside */
	assert_int_equal(store_get_changes(s, 1419264900, 1419299100, &AS131279, &out, &n), 0);
	assert_int_equal(n, 2);
	assert_change_eq(&in[1], &out[1]);
	free(out);
	const struct sig_entity as4134 = { .kind = SIG_ASN, .afi = DM_AFI_IPV4, .asn = 4134 };
	assert_int_equal(store_get_changes(s, 0, UINT32_MAX, &as4134, &out, &n), 0);
	assert_int_equal(n, 1);
	assert_change_eq(&in[2], &out[0]);
	free(out);
	const struct sig_entity g4 = { .kind = SIG_GLOBAL, .afi = DM_AFI_IPV4 };
	assert_int_equal(store_get_changes(s, 1419265000, UINT32_MAX, &g4, &out, &n), 0);
	assert_int_equal(n, 2);
	assert_change_eq(&in[2], &out[0]);
	assert_change_eq(&in[3], &out[1]);
	free(out);
	assert_int_equal(store_get_changes(s, 5, 6, NULL, &out, &n), 0);
	assert_int_equal(n, 0);
	assert_null(out);
	/* more than one batch (4096) in a transaction: every row, in put order */
	assert_int_equal(store_begin(s), 0);
	for (uint32_t i = 0; i < 5000; i++) {
		struct sig_change c = mk_change(1500000000 + i / 7, "10.0.0.0/8", (int)(i & 1), "US", 7018, i);
		assert_int_equal(store_put_change(s, &c), 0);
	}
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_get_changes(s, 1500000000, UINT32_MAX, NULL, &out, &n), 0);
	assert_int_equal(n, 5000);
	for (uint32_t i = 0; i < 5000; i++)
		assert_int_equal(out[i].upstream_asn, i);
	free(out);
	store_close(s);
}

/* Found by fuzz_parse: a database whose meta said bin 1 and series_end 4000000000 made
 * store_get_bins ask for 206 GB (detect reads every entity's whole series). A damaged bin or
 * series_end is refused at open, an implausible expansion at read, each with a message. */
static void set_meta(const char *p, const char *key, const char *value)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE meta SET value = ?2 WHERE key = ?1", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void test_damaged_series_meta(void **state)
{
	(void)state;
	char p[128];
	path_in_dir(p, sizeof p, "damaged.sqlite");
	unlink(p);
	struct dm_error err;
	struct store *s = store_open(p, &err);
	assert_non_null(s);
	assert_int_equal(store_set_bin(s, 300), 0);
	struct sig_bin b = full_bin(1419264900);
	assert_int_equal(store_put_bin(s, &KP4, &b), 0);
	store_close(s);

	set_meta(p, "series_end", "4000000000");
	set_meta(p, "bin", "1");
	s = store_open_ro(p, &err);
	assert_non_null(s);
	struct sig_bin *out = NULL;
	size_t n = 0;
	assert_int_equal(store_get_bins(s, &KP4, 0, UINT32_MAX, &out, &n), DM_ERR_BAD_VALUE);
	assert_null(out);
	assert_non_null(strstr(store_errmsg(s), "series would be 2580735100 bins of 1 s"));
	store_close(s);

	set_meta(p, "bin", "1x");
	memset(&err, 0, sizeof err);
	assert_null(store_open_ro(p, &err));
	assert_int_equal(err.code, DM_ERR_BAD_VALUE);
	assert_non_null(strstr(err.what, "meta bin '1x' is not a bin size"));
	set_meta(p, "bin", "300");
	set_meta(p, "series_end", "-5");
	assert_null(store_open_ro(p, &err));
	assert_non_null(strstr(err.what, "meta series_end '-5' is not a time"));
	unlink(p);
}

static void exec_on(const char *p, const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* Found by fuzz_parse (its check that a series is strictly increasing aborted): a bins time
 * stored as a REAL (1419265200.5, which read as an integer is its neighbour's time) or as TEXT
 * (after every INTEGER in min() and max(): the extent ended before it began). Such a file is
 * refused by the reads that meet the row, with the file, the entity and the stored value. */
static void test_damaged_bin_times(void **state)
{
	(void)state;
	char p[128];
	path_in_dir(p, sizeof p, "damaged-times.sqlite");
	unlink(p);
	struct dm_error err;
	struct store *s = store_open(p, &err);
	assert_non_null(s);
	assert_int_equal(store_set_bin(s, 300), 0);
	for (uint32_t t = 1419264900; t <= 1419265500; t += 300) {
		struct sig_bin b = full_bin(t);
		b.slash24 = t % 7;   /* rows that differ: run-length storage keeps each */
		assert_int_equal(store_put_bin(s, &KP4, &b), 0);
	}
	store_close(s);

	struct sig_bin *out = NULL;
	size_t n = 0;
	int64_t first, last;
	s = store_open_ro(p, &err);
	assert_non_null(s);
	assert_int_equal(store_get_bins(s, &KP4, 0, UINT32_MAX, &out, &n), 0);
	assert_int_equal(n, 3);
	free(out);
	assert_int_equal(store_bin_extent(s, &KP4, &first, &last), 0);
	assert_int_equal(first, 1419264900);
	store_close(s);

	/* the fuzzer's file: no bin size (rows returned as stored) and a REAL time */
	exec_on(p, "DELETE FROM meta WHERE key = 'bin'; UPDATE bins SET t = 1419264900.5 WHERE t = 1419265200");
	s = store_open_ro(p, &err);
	assert_non_null(s);
	out = NULL;
	assert_int_equal(store_get_bins(s, &KP4, 0, UINT32_MAX, &out, &n), DM_ERR_BAD_VALUE);
	assert_null(out);
	assert_non_null(strstr(store_errmsg(s), "damaged-times.sqlite: damaged database: entity 1 has a bin at time "
	                                          "'1419264900.5' (not a time)"));
	assert_int_equal(store_bin_extent(s, &KP4, &first, &last), 0);   /* min and max are INTEGERs */
	assert_int_equal(last, 1419265500);
	store_close(s);

	/* a TEXT time: the largest for max(), refused by the extent */
	exec_on(p, "UPDATE bins SET t = 1419265200 WHERE t = 1419264900.5; UPDATE bins SET t = '1419265500x' WHERE t = 1419265500");
	s = store_open_ro(p, &err);
	assert_non_null(s);
	assert_int_equal(store_bin_extent(s, &KP4, &first, &last), DM_ERR_BAD_VALUE);
	assert_non_null(strstr(store_errmsg(s), "entity 1 has a bin at time '1419265500x' (not a time)"));
	/* in no range of times (TEXT is after every number): the reads see the two others */
	assert_int_equal(store_get_bins(s, &KP4, 0, UINT32_MAX, &out, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[1].t, 1419265200);
	free(out);
	store_close(s);

	/* with a bin size, the row before the range (run-length storage reads it) is checked too */
	exec_on(p, "INSERT INTO meta (key, value) VALUES ('bin', '300'); UPDATE bins SET t = 1419265200.25 WHERE t = 1419265200");
	s = store_open_ro(p, &err);
	assert_non_null(s);
	assert_int_equal(store_get_bins(s, &KP4, 1419265300, 1419265400, &out, &n), DM_ERR_BAD_VALUE);
	assert_non_null(strstr(store_errmsg(s), "at time '1419265200.25' (not a time)"));
	store_close(s);
	unlink(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_length),
		cmocka_unit_test(test_bin_round_trip),   cmocka_unit_test(test_bin_ranges),
		cmocka_unit_test(test_events_overlap),   cmocka_unit_test(test_reopen_meta_names),
		cmocka_unit_test(test_bad_files),        cmocka_unit_test(test_insert_rate),
		cmocka_unit_test(test_schema_documented), cmocka_unit_test(test_reader_beside_writer),
		cmocka_unit_test(test_changes),          cmocka_unit_test(test_damaged_series_meta),
		cmocka_unit_test(test_damaged_bin_times),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
