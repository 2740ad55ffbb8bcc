/* darkmap replay: RIB dumps + update files of one or many collectors -> routing state -> the
 * per-bin visibility series of every country, origin AS and the world (src/signal), written to
 * SQLite (--db) and/or printed as CSV (--csv). docs/replay.md is the manual. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/obuf.h"
#include "base/time.h"
#include "cmd/cmds.h"
#include "geo/geo.h"
#include "io/reader.h"
#include "mrt/elem.h"
#include "mrt/reader.h"
#include "rib/rib.h"
#include "signal/signal.h"
#include "store/store.h"

static const char usage_text[] =
	"usage: darkmap replay [OPTIONS] [--rib FILE]... UPDATES...\n"
	"\n"
	"Loads RIB dumps (TABLE_DUMP / TABLE_DUMP_V2; several collectors at once), then applies the\n"
	"update files (BGP4MP / BGP4MP_ET) of every collector merged in timestamp order, and emits\n"
	"for every time bin the visibility of each country, origin AS and the world (IPv4, IPv6).\n"
	"\n"
	"Inputs (files in any compression, or directories in the RouteViews layout\n"
	"COLLECTOR/bgpdata/YYYY.MM/{RIBS,UPDATES}/ or the RIS layout rrcNN/YYYY.MM/{bview,updates}.*):\n"
	"  --rib FILE         a RIB dump (repeatable); files named rib.* or bview.* are RIBs anyway\n"
	"  UPDATES            update files or directories (a directory gives RIBs and updates)\n"
	"  --from T, --to T   time range (unix seconds, YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS]); picks the\n"
	"                     files of directories and limits the bins written\n"
	"Signal:\n"
	"  --bin SECONDS      bin size (300); bins start at multiples of it, UTC\n"
	"  --vis FRACTION     a prefix is visible when seen by >= FRACTION of full-feed peers (0.5)\n"
	"  --full-feed RULE   auto (default) | abs (400000 IPv4 / 10000 IPv6 prefixes) |\n"
	"                     rel[:F] (>= F x the largest table, F 0.8) | N[,N6] (explicit counts);\n"
	"                     auto = abs once a table reaches 400000 (10000), else rel; without a\n"
	"                     RIB, abs only. A full-feed peer leaves the set below 0.9 x the\n"
	"                     threshold (--full-feed-leave F) or when its session goes down\n"
	"  --gap-min SECONDS  a collector silent this long is in a gap until its next record;\n"
	"                     bins overlapping the gap are flagged gap (600; 0: any bin without\n"
	"                     a record)\n"
	"  --geo FILE         a mapping source (repeatable), kind guessed from the name: delegated-*\n"
	"                     RIR file, *.mmdb, asnames json/csv, else an IP range CSV; or name the\n"
	"                     kind: --rir FILE, --ranges FILE, --mmdb FILE, --asnames FILE (as in\n"
	"                     darkmap geo). Default: darkmap geo's defaults for the data's date (docs/geo.md).\n"
	"                     A source that cannot be loaded is an error (exit 2).\n"
	"                     Precedence: for an address, the first source that covers it answers.\n"
	"                     Sources are asked in the order given, except that RIR files are asked\n"
	"                     among themselves oldest snapshot first (the YYYYMMDD their name ends\n"
	"                     with), then by file name, whatever their order on the command line:\n"
	"                     where two RIR files disagree, the older snapshot wins\n"
	"  --no-geo           no country mapping (every prefix is ZZ)\n"
	"Output:\n"
	"  --db FILE          write the series to this SQLite file (WAL)\n"
	"  --csv              print the series as CSV on stdout (columns: docs/replay.md)\n"
	"  --quality FILE     per collector and bin: records, records/s, active, silent, gap (CSV)\n"
	"  --changes FILE     every change of a prefix's visibility, with its evidence (CSV;\n"
	"                     with --db also in the table vis_changes)\n"
	"  --country CC       only this country (repeatable) and the global rows; CC is an ISO\n"
	"                     3166-1 alpha-2 code darkmap knows (src/geo/country.c), ZZ = unmapped\n"
	"  --asn N            only this origin AS (repeatable) and the global rows\n"
	"  --rows countries   every country and the global rows, origin ASes only as --asn asks\n"
	"                     (a full table has tens of thousands of ASes: rows = entities x bins)\n"
	"  --progress         progress line even when stderr is not a terminal\n"
	"  -q, --quiet        no progress, no per-error messages (the summary stays)\n"
	"Benchmark aids:\n"
	"  --synthetic-table FILE  before the RIBs, load every prefix of a prefix->origin table\n"
	"                     (pyasn IPASN format) as held by --synthetic-peers N peers (40),\n"
	"                     stamped --synthetic-time T (2014-05-13T06:00)\n"
	"  --decode-only      decode and count elements, no RIB or signal\n"
	"Warnings: a RIB more than a day older than its updates (routes withdrawn in between stay).\n"
	"Exit status: 0 ok, 1 input errors were skipped (reported), 2 usage (also: a mapping source\n"
	"that cannot be loaded, an unknown --country code), 3 nothing readable, or an output that\n"
	"could not be written (--db, --csv, --changes, --quality: a full disk, a read-only file;\n"
	"the error names what failed and how much was stored).\n";

/* ---------- inputs ---------- */

struct input {
	char *path;
	char *collector;
	int rib;
	uint32_t ftime;        /* time from the file name; 0 unknown */
	uint64_t size;
};

struct inputs {
	struct input *v;
	size_t n, cap;
};

static int input_add(struct inputs *in, const char *path, const char *collector, int rib, uint32_t ftime)
{
	if (in->n == in->cap) {
		size_t c = in->cap ? in->cap * 2 : 16;
		struct input *v = realloc(in->v, c * sizeof *v);
		if (!v)
			return -1;
		in->v = v;
		in->cap = c;
	}
	struct input *x = &in->v[in->n++];
	x->path = strdup(path);
	x->collector = strdup(collector);
	x->rib = rib;
	x->ftime = ftime;
	struct stat st;
	x->size = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
	return x->path && x->collector ? 0 : -1;
}

static void inputs_free(struct inputs *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].collector);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}

static int all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* "YYYYMMDD.HHMM" or unix seconds after the kind token. */
static uint32_t name_time(const char *s)
{
	if (all_digits(s, 8) && s[8] == '.' && all_digits(s + 9, 4)) {
		struct tm tm;
		memset(&tm, 0, sizeof tm);
		tm.tm_year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0') - 1900;
		tm.tm_mon = (s[4] - '0') * 10 + (s[5] - '0') - 1;
		tm.tm_mday = (s[6] - '0') * 10 + (s[7] - '0');
		tm.tm_hour = (s[9] - '0') * 10 + (s[10] - '0');
		tm.tm_min = (s[11] - '0') * 10 + (s[12] - '0');
		return (uint32_t)timegm(&tm);
	}
	if (all_digits(s, 9)) {
		char *end;
		unsigned long v = strtoul(s, &end, 10);
		if (end - s <= 10)
			return (uint32_t)v;
	}
	return 0;
}

/* What a file name says: kind (1 RIB, 0 updates, -1 neither), time, collector prefix. */
static int name_kind(const char *base, uint32_t *t, char *coll, size_t ncoll)
{
	static const struct { const char *tok; int rib; } toks[] = {
		{ "bview.", 1 }, { "rib.", 1 }, { "rib6.", 1 }, { "updates.", 0 },
	};
	for (size_t k = 0; k < sizeof toks / sizeof toks[0]; k++) {
		const char *p = base;
		while ((p = strstr(p, toks[k].tok))) {
			if (p == base || p[-1] == '.') {
				*t = name_time(p + strlen(toks[k].tok));
				size_t n = (size_t)(p - base);
				coll[0] = 0;
				if (n > 1 && n < ncoll) {
					const char *c = base;
					if (!strncmp(c, "ris.", 4) || !strncmp(c, "routeviews.", 11))
						c = strchr(c, '.') + 1;
					size_t m = (size_t)(p - 1 - c);
					if (m > 0 && m < ncoll) {
						memcpy(coll, c, m);
						coll[m] = 0;
					}
				}
				return toks[k].rib;
			}
			p++;
		}
	}
	*t = 0;
	coll[0] = 0;
	return -1;
}

/* Collector from the directory part of a path: an rrc* or route-views* component, or the
 * component above "bgpdata" (RouteViews), else "". */
static void path_collector(const char *path, char *out, size_t n)
{
	out[0] = 0;
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", path);
	char *comp[128];
	int nc = 0;
	for (char *tok = strtok(buf, "/"); tok && nc < 128; tok = strtok(NULL, "/"))
		comp[nc++] = tok;
	for (int i = nc - 2; i >= 0; i--) {
		const char *c = comp[i];
		if (!strncmp(c, "rrc", 3) || !strncmp(c, "route-views", 11)) {
			snprintf(out, n, "%s", c);
			return;
		}
		if (!strcmp(c, "bgpdata")) {
			snprintf(out, n, "%s", i > 0 ? comp[i - 1] : "route-views2");
			return;
		}
	}
}

static void file_collector(const char *path, char *out, size_t n)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	uint32_t t;
	char c[128];
	name_kind(base, &t, c, sizeof c);
	if (c[0]) {
		snprintf(out, n, "%s", c);
		return;
	}
	path_collector(path, out, n);
}

static void walk_dir(const char *dir, int depth, struct inputs *out)
{
	if (depth > 8)
		return;
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char p[4096];
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		struct stat st;
		if (stat(p, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			walk_dir(p, depth + 1, out);
			continue;
		}
		uint32_t t;
		char c[128];
		int kind = name_kind(de->d_name, &t, c, sizeof c);
		if (kind < 0 || !t)
			continue;
		char coll[128];
		if (!c[0])
			path_collector(p, coll, sizeof coll);
		else
			snprintf(coll, sizeof coll, "%s", c);
		input_add(out, p, coll, kind, t);
	}
	closedir(d);
}

static int cmp_input(const void *a, const void *b)
{
	const struct input *x = a, *y = b;
	int c = strcmp(x->collector, y->collector);
	if (c)
		return c;
	if (x->ftime != y->ftime)
		return x->ftime < y->ftime ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* From the files found in directories, per collector: the RIB (the latest at or before --from,
 * else the first one) and the update files from the RIB's time (or --from) up to --to. */
static void pick_from_dirs(struct inputs *found, uint32_t from, uint32_t to, struct inputs *out)
{
	if (!found->n)
		return;
	qsort(found->v, found->n, sizeof *found->v, cmp_input);
	for (size_t i = 0; i < found->n;) {
		size_t j = i;
		while (j < found->n && !strcmp(found->v[j].collector, found->v[i].collector))
			j++;
		const struct input *rib = NULL;
		for (size_t k = i; k < j; k++) {   /* the latest RIB at or before --from */
			const struct input *x = &found->v[k];
			if (x->rib && from && x->ftime <= from && (!rib || x->ftime > rib->ftime))
				rib = x;
		}
		for (size_t k = i; k < j && !rib; k++) {   /* else the first one (in range) */
			const struct input *x = &found->v[k];
			if (x->rib && (!to || x->ftime < to))
				rib = x;
		}
		uint32_t start = rib ? rib->ftime : from;
		if (rib)
			input_add(out, rib->path, rib->collector, 1, rib->ftime);
		for (size_t k = i; k < j; k++) {
			const struct input *x = &found->v[k];
			if (x->rib)
				continue;
			/* an update file covers [ftime, ftime + 15 min): keep the one holding `start` */
			if (start && x->ftime + 900 <= start)
				continue;
			if (to && x->ftime >= to)
				continue;
			input_add(out, x->path, x->collector, 0, x->ftime);
		}
		i = j;
	}
}

/* ---------- time options ---------- */



/* ---------- the replay ---------- */

/* --country/--asn filters: a scenario's truth can name a hundred ASes (iran-2009: 120) */
enum { MAX_FILTER = 1024 };

struct replay {
	struct rib *rib;
	struct sig *sig;
	struct geo_db *geo;
	struct store *db;
	struct obuf out;
	int csv;
	uint32_t from, to, bin;
	uint32_t cur_coll;
	/* counters */
	uint64_t records, elems, rows, rows_db;
	uint64_t err[DM_ERR_COUNT_], warn[DM_ERR_COUNT_];
	uint64_t skipped_multicast;
	int data_errors;
	char **truncated;
	size_t ntruncated;
	/* per collector */
	uint64_t *crecords;
	uint32_t *cfirst, *clast;
	/* progress */
	int progress, decode_only;
	FILE *qf;                  /* --quality: per collector and bin */
	FILE *cf;                  /* --changes: visibility changes */
	uint64_t changes, changes_db;
	const char *synth;
	uint32_t synth_peers, synth_time;
	uint64_t bytes_total, bytes_done;
	struct timespec t0, tlast;
	uint64_t db_uncommitted;
	uint64_t rows_pending, changes_pending;   /* put since the last commit: not yet stored */
	int db_failed;
	int csv_failed;
	int stop;                  /* every output failed: reading on would be for nothing */
	struct rib_time *ribt;     /* every RIB loaded: collector and time, for the stale check */
	size_t nribt;
};

struct rib_time {
	const char *path;
	uint32_t coll, ts;         /* ts: its latest record (the state the dump gives) */
};

/* CPU seconds of this process (user + system): the machine may be shared, so rates per core
 * are computed from CPU time, wall time is printed beside them. */
static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

static double now_s(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static int geo_split(void *arg, const struct dm_prefix *p, struct geo_share *out, int max)
{
	return geo_prefix_countries(arg, p, out, max);
}

static const char *quality_text(uint8_t q, char *buf)
{
	if (!q)
		return "ok";
	buf[0] = 0;
	if (q & SIG_Q_NO_DATA)
		strcat(buf, "no-data+");
	if (q & SIG_Q_PEERS_DROPPED)
		strcat(buf, "peers-dropped+");
	if (q & SIG_Q_GAP)
		strcat(buf, "gap+");
	if (q & SIG_Q_FF_CHANGED)
		strcat(buf, "ff-changed+");
	buf[strlen(buf) - 1] = 0;
	return buf;
}

/* A database write failed: said at once with SQLite's reason, nothing more is written, the run
 * ends with exit 3 (issue 9: a failed commit used to roll a whole batch back silently). */
static void db_fail(struct replay *R, const char *what)
{
	if (R->db_failed)
		return;
	R->db_failed = 1;
	R->stop = (!R->csv || R->csv_failed) && !R->cf && !R->qf;
	fprintf(stderr, "%sdarkmap replay: database %s failed: %s; %llu rows and %llu visibility changes not "
	        "committed are lost, nothing more is stored\n", R->progress ? "\n" : "", what, store_errmsg(R->db),
	        (unsigned long long)R->rows_pending, (unsigned long long)R->changes_pending);
}

/* Commits the batch (then opens the next one when again): rows count as stored only here. */
static void db_commit(struct replay *R, int again)
{
	if (!R->db || R->db_failed)
		return;
	if (store_commit(R->db)) {
		db_fail(R, "commit");
		return;
	}
	R->rows_db += R->rows_pending;
	R->changes_db += R->changes_pending;
	R->rows_pending = R->changes_pending = 0;
	R->db_uncommitted = 0;
	if (again && store_begin(R->db))
		db_fail(R, "begin");
}

static void emit_row(void *arg, const struct sig_entity *e, const struct sig_bin *b)
{
	struct replay *R = arg;
	if ((R->from && b->t + R->bin <= R->from) || (R->to && b->t >= R->to))
		return;
	R->rows++;
	if (R->db && !R->db_failed) {
		if (store_put_bin(R->db, e, b)) {
			db_fail(R, "write (bins)");
		} else {
			R->rows_pending++;
			if (++R->db_uncommitted >= 200000)
				db_commit(R, 1);
		}
	}
	if (!R->csv)
		return;
	if (R->out.failed) {
		if (!R->csv_failed)   /* said once, at once; the run goes on for the other outputs */
			fprintf(stderr, "%sdarkmap replay: writing the CSV to standard output failed: %s\n",
			        R->progress ? "\n" : "", strerror(R->out.failed));
		R->csv_failed = 1;
		R->stop = (!R->db || R->db_failed) && !R->cf && !R->qf;
		return;
	}
	struct obuf *o = &R->out;
	char tb[32], qb[48];
	obuf_i64(o, b->t);
	obuf_putc(o, ',');
	dm_time_fmt(b->t, DM_TIME_ISO, tb);
	obuf_puts(o, tb);
	obuf_putc(o, ',');
	if (e->kind == SIG_GLOBAL) {
		obuf_puts(o, "global,all,");
	} else if (e->kind == SIG_COUNTRY) {
		obuf_puts(o, "country,");
		obuf_puts(o, e->cc);
		obuf_putc(o, ',');
	} else {
		obuf_puts(o, "asn,");
		obuf_u32(o, e->asn);
		obuf_putc(o, ',');
	}
	obuf_putc(o, e->afi == DM_AFI_IPV6 ? '6' : '4');
	uint64_t v[] = { b->visible_prefixes, b->slash24, b->baseline_slash24, b->peers_seeing,
		         b->full_feed_peers, b->peers_up };
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		obuf_putc(o, ',');
		obuf_u64(o, v[i]);
	}
	obuf_printf(o, ",%.4f", (double)b->peer_frac);
	uint32_t w[] = { b->announcements, b->withdrawals, b->interruptions, b->more_specifics };
	for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
		obuf_putc(o, ',');
		obuf_u32(o, w[i]);
	}
	obuf_putc(o, ',');
	obuf_puts(o, quality_text(b->quality, qb));
	obuf_putc(o, ',');
	obuf_u32(o, b->records);
	obuf_putc(o, ',');
	obuf_u32(o, b->ff_joined);
	obuf_putc(o, ',');
	obuf_u32(o, b->ff_left);
	obuf_putc(o, '\n');
}

static void emit_collector(void *arg, int64_t t, uint32_t c, uint64_t records, int active, int gap)
{
	struct replay *R = arg;
	if (!R->qf || (R->from && t + R->bin <= R->from) || (R->to && t >= R->to))
		return;
	char tb[32];
	dm_time_fmt(t, DM_TIME_ISO, tb);
	const char *name = rib_collector_name(R->rib, c);
	fprintf(R->qf, "%lld,%s,%s,%llu,%.3f,%d,%d,%d\n", (long long)t, tb, name[0] ? name : "-", (unsigned long long)records,
	        (double)records / R->bin, active, active && !records, gap);
}

static void emit_change(void *arg, const struct sig_change *c)
{
	struct replay *R = arg;
	if ((R->from && c->t < R->from) || (R->to && c->t >= R->to))
		return;
	R->changes++;
	if (R->db && !R->db_failed) {
		if (store_put_change(R->db, c))
			db_fail(R, "write (vis_changes)");
		else
			R->changes_pending++;
	}
	if (!R->cf)
		return;
	char tb[32], pfx[DM_PREFIX_STRLEN], ip[DM_IP_STRLEN];
	dm_time_fmt(c->t, DM_TIME_ISO, tb);
	dm_prefix_fmt(&c->prefix, pfx);
	dm_ip_fmt(&c->peer_addr, ip);
	fprintf(R->cf, "%lld,%s,%d,%s,%s,%u,%s,%u,%u,%llu,%u,%u,%u,%s,%s,\"%s\"\n", (long long)c->t, tb,
	        c->prefix.afi == DM_AFI_IPV6 ? 6 : 4, pfx, c->visible ? "on" : "off", c->covered, c->cc, c->origin_asn,
	        c->upstream_asn, (unsigned long long)c->units, c->peers_before, c->full_feed_peers, c->peer_asn, ip,
	        c->collector[0] ? c->collector : "-", c->countries);
}

static void on_elem(const struct dm_elem *e, void *arg)
{
	struct replay *R = arg;
	sig_elem(R->sig, R->cur_coll, e);
}

static void on_elem_count(const struct dm_elem *e, void *arg)
{
	(void)e;
	(void)arg;
}

/* Multicast routes are not part of the unicast table (RFC 4760 SAFI 2): skip records that only
 * carry them. */
static int multicast_only(const struct mrt_rec *rec)
{
	if (rec->kind == MRT_K_RIB)
		return rec->u.rib.safi == DM_SAFI_MULTICAST;
	if (rec->kind != MRT_K_MESSAGE || rec->u.msg.msg.type != BGP_MSG_UPDATE)
		return 0;
	const struct bgp_update *u = &rec->u.msg.msg.u.update;
	const struct bgp_attrs *a = &u->attrs;
	int mp = (a->present & BGP_ATTR_BIT(BGP_ATTR_MP_REACH_NLRI)) && a->mp_reach.safi == DM_SAFI_MULTICAST;
	int mpu = (a->present & BGP_ATTR_BIT(BGP_ATTR_MP_UNREACH_NLRI)) && a->mp_unreach.safi == DM_SAFI_MULTICAST;
	return (mp || mpu) && u->announced.n == 0 && u->withdrawn.n == 0 &&
	       !(a->present & BGP_ATTR_BIT(BGP_ATTR_MP_REACH_NLRI) && a->mp_reach.safi != DM_SAFI_MULTICAST) &&
	       !(a->present & BGP_ATTR_BIT(BGP_ATTR_MP_UNREACH_NLRI) && a->mp_unreach.safi != DM_SAFI_MULTICAST);
}

static void report(struct replay *R, const char *file, const struct dm_error *err, int warning)
{
	int k = -err->code;
	if (k < 0 || k >= DM_ERR_COUNT_)
		k = 0;
	if (warning)
		R->warn[k]++;
	else
		R->err[k]++;
	R->data_errors = 1;
	dm_log_rl(k, "%s: offset %llu: %s", file, (unsigned long long)err->offset,
	          err->what[0] ? err->what : dm_err_name(err->code));
}

static void progress(struct replay *R, const char *file, uint64_t file_done, int force)
{
	if (!R->progress)
		return;
	double t = now_s(&R->t0);
	double since = (double)(R->tlast.tv_sec) + (double)R->tlast.tv_nsec / 1e9;
	if (!force && t - since < 0.5)
		return;
	R->tlast.tv_sec = (time_t)t;
	R->tlast.tv_nsec = (long)((t - (double)(time_t)t) * 1e9);
	double done = (double)(R->bytes_done + file_done), total = (double)R->bytes_total;
	double frac = total > 0 ? done / total : 0;
	double eta = frac > 0.001 ? t / frac - t : 0;
	const char *b = strrchr(file, '/');
	fprintf(stderr, "\rreplay: %5.1f%%  %.2f M rec/s  %.2f M elem/s  ETA %d:%02d  %-40.40s", frac * 100,
	        t > 0 ? (double)R->records / t / 1e6 : 0, t > 0 ? (double)R->elems / t / 1e6 : 0,
	        (int)eta / 60, (int)eta % 60, b ? b + 1 : file);
	fflush(stderr);
}

static int coll_fit(struct replay *R, uint32_t c)
{
	static uint32_t cap;
	if (c < cap)
		return 0;
	uint32_t n = c + 16;
	uint64_t *a = realloc(R->crecords, n * sizeof *a);
	uint32_t *f = a ? realloc(R->cfirst, n * sizeof *f) : NULL;
	if (a)
		R->crecords = a;
	if (f)
		R->cfirst = f;
	uint32_t *l = f ? realloc(R->clast, n * sizeof *l) : NULL;
	if (!l)
		return -1;
	R->clast = l;
	for (uint32_t i = cap; i < n; i++) {
		R->crecords[i] = 0;
		R->cfirst[i] = R->clast[i] = 0;
	}
	cap = n;
	return 0;
}

/* One record: time, quality accounting, elements. */
static void apply_record(struct replay *R, struct mrt_ctx *ctx, struct mrt_rec *rec, const char *file)
{
	sig_time(R->sig, rec->hdr.ts);
	sig_record(R->sig, R->cur_coll);
	R->records++;
	if (!coll_fit(R, R->cur_coll)) {
		uint32_t c = R->cur_coll;
		R->crecords[c]++;
		if (!R->cfirst[c] || rec->hdr.ts < R->cfirst[c])
			R->cfirst[c] = rec->hdr.ts;
		if (rec->hdr.ts > R->clast[c])
			R->clast[c] = rec->hdr.ts;
	}
	for (uint32_t i = 0; i < rec->nwarn; i++)
		report(R, file, &rec->warn[i], 1);
	for (int k = 1; rec->nwarn_unkept && k < DM_ERR_COUNT_; k++) {   /* counted, not printed */
		R->warn[k] += rec->warn_unkept[k];
		dm_log_rl_skip(k, rec->warn_unkept[k]);
		R->data_errors = 1;
	}
	if (multicast_only(rec)) {
		R->skipped_multicast++;
		return;
	}
	R->elems += mrt_elems(ctx, rec, R->decode_only ? on_elem_count : on_elem, R);
}

/* Reads one record of a reader into rec; 1 ok, 0 end. Errors are reported and skipped. */
static int next_record(struct replay *R, struct mrt_reader *rd, struct mrt_ctx *ctx, struct mrt_rec *rec,
                       const char *file)
{
	for (;;) {
		struct mrt_hdr hdr;
		const uint8_t *body;
		struct dm_error err;
		memset(&err, 0, sizeof err);
		int rc = mrt_reader_next(rd, &hdr, &body, &err);
		if (rc == 0)
			return 0;
		if (rc < 0) {
			report(R, file, &err, 0);
			if (rc == DM_ERR_TRUNCATED || rc == DM_ERR_IO) {
				char **t = realloc(R->truncated, (R->ntruncated + 1) * sizeof *t);
				if (t) {
					R->truncated = t;
					char buf[512];
					snprintf(buf, sizeof buf, "%s: %s at offset %llu: records before it were used",
					         file, rc == DM_ERR_TRUNCATED ? "truncated" : "unreadable",
					         (unsigned long long)err.offset);
					t[R->ntruncated++] = strdup(buf);
				}
			}
			continue;
		}
		memset(&err, 0, sizeof err);
		rc = mrt_decode(ctx, &hdr, body, rec, &err);
		if (rc < 0) {
			report(R, file, &err, 0);
			sig_record(R->sig, R->cur_coll);
			continue;
		}
		return 1;
	}
}

static void load_rib(struct replay *R, const struct input *in)
{
	struct dm_error err;
	memset(&err, 0, sizeof err);
	struct mrt_reader *rd = mrt_reader_open(in->path, &err);
	if (!rd) {
		report(R, in->path, &err, 0);
		return;
	}
	R->cur_coll = rib_collector_find_or_add(R->rib, in->collector);
	struct mrt_ctx ctx;
	mrt_ctx_init(&ctx);
	struct mrt_rec rec;
	uint64_t n = 0;
	uint32_t last = 0;
	while (!R->stop && next_record(R, rd, &ctx, &rec, in->path)) {
		apply_record(R, &ctx, &rec, in->path);
		if (rec.hdr.ts > last)
			last = rec.hdr.ts;
		if ((++n & 0x3fff) == 0)
			progress(R, in->path, mrt_reader_compressed_offset(rd), 0);
	}
	struct rib_time *t = last ? realloc(R->ribt, (R->nribt + 1) * sizeof *t) : NULL;
	if (t) {
		R->ribt = t;
		t[R->nribt++] = (struct rib_time){ in->path, R->cur_coll, last };
	}
	R->bytes_done += in->size;
	if (mrt_reader_note(rd))   /* not an error (zero padding after the compressed data) */
		dm_log_rl(DM_ERR_COUNT_, "%s: note: %s", in->path, mrt_reader_note(rd));
	mrt_ctx_free(&ctx);
	mrt_reader_close(rd);
}

/* ---------- synthetic full-scale table (benchmark of the RIB and the signal) ---------- */

/* Every prefix of a prefix->origin table (pyasn IPASN format: "prefix<TAB>asn" lines, ";"
 * comments, any compression), held by n peers, fed as RIB elements in the order of a
 * TABLE_DUMP_V2 dump (prefix by prefix, every peer). Peer p (AS 64512+p, 10.255.p.1) reaches
 * origin O through one of 8 transit ASes chosen by (p, O): path "64512+p T O", ORIGIN IGP,
 * NEXT_HOP the peer. This gives each peer one attribute set per (transit, origin) pair, as many
 * as a real peer has distinct paths to within a small factor. Returns elements fed. */
static uint64_t synthetic_table(struct replay *R, const char *path, uint32_t npeers, uint32_t ts)
{
	struct dm_error err;
	memset(&err, 0, sizeof err);
	struct dm_reader *rd = dm_reader_open(path, &err);
	if (!rd) {
		report(R, path, &err, 0);
		return 0;
	}
	size_t cap = 1 << 20, len = 0;
	char *text = malloc(cap);
	for (;;) {
		if (!text)
			break;
		if (cap - len < 65536) {
			char *t = realloc(text, cap * 2);
			if (!t) {
				free(text);
				text = NULL;
				break;
			}
			text = t;
			cap *= 2;
		}
		ssize_t n = dm_reader_read(rd, text + len, cap - len - 1, &err);
		if (n < 0)
			report(R, path, &err, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	dm_reader_close(rd);
	if (!text)
		return 0;
	text[len] = 0;
	static const uint32_t transit[8] = { 174, 701, 1299, 2914, 3257, 3356, 6453, 6762 };
	R->cur_coll = rib_collector_find_or_add(R->rib, "synthetic");
	struct dm_ip *ips = calloc(npeers, sizeof *ips);
	if (!ips) {
		free(text);
		return 0;
	}
	for (uint32_t p = 0; p < npeers; p++) {
		ips[p].afi = DM_AFI_IPV4;
		ips[p].b[0] = 10;
		ips[p].b[1] = 255;
		ips[p].b[2] = (uint8_t)(p >> 8);
		ips[p].b[3] = (uint8_t)(p + 1);
	}
	uint64_t fed = 0;
	sig_time(R->sig, ts);
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		char *tab = strchr(line, '\t');
		if (line[0] == ';' || !tab)
			continue;
		*tab = 0;
		struct dm_elem e;
		memset(&e, 0, sizeof e);
		if (dm_prefix_parse(line, &e.prefix))
			continue;
		uint32_t origin = (uint32_t)strtoul(tab + 1, NULL, 10);
		e.type = DM_ELEM_RIB;
		e.ts = ts;
		for (uint32_t p = 0; p < npeers; p++) {
			uint32_t asn[3] = { 64512 + p, transit[(origin * 2654435761u + p * 40503u) >> 29], origin };
			struct as_seg seg = { AS_SEQUENCE, 3, asn };
			struct bgp_attrs a;
			memset(&a, 0, sizeof a);
			a.path.seg = &seg;
			a.path.nseg = 1;
			a.path.asn_size = 4;
			uint8_t raw[40];
			size_t o = 0;
			raw[o++] = 0x40; raw[o++] = BGP_ATTR_ORIGIN; raw[o++] = 1; raw[o++] = BGP_ORIGIN_IGP;
			raw[o++] = 0x40; raw[o++] = BGP_ATTR_AS_PATH; raw[o++] = 14; raw[o++] = AS_SEQUENCE; raw[o++] = 3;
			for (int k = 0; k < 3; k++) {
				raw[o++] = (uint8_t)(asn[k] >> 24); raw[o++] = (uint8_t)(asn[k] >> 16);
				raw[o++] = (uint8_t)(asn[k] >> 8); raw[o++] = (uint8_t)asn[k];
			}
			raw[o++] = 0x40; raw[o++] = BGP_ATTR_NEXT_HOP; raw[o++] = 4;
			memcpy(raw + o, ips[p].b, 4);
			o += 4;
			a.raw = raw;
			a.raw_len = (uint32_t)o;
			e.peer_ip = &ips[p];
			e.peer_asn = 64512 + p;
			e.attrs = &a;
			sig_elem(R->sig, R->cur_coll, &e);
			fed++;
		}
	}
	R->elems += fed;
	free(ips);
	free(text);
	return fed;
}

/* A collector's update files, read in order, as one time-sorted stream. */
struct stream {
	uint32_t coll;
	const struct input **files;
	size_t nfiles, next;
	struct mrt_reader *rd;
	const char *path;
	struct mrt_ctx ctx;
	struct mrt_rec rec;
	uint32_t order;
	int started;
};

static int stream_advance(struct replay *R, struct stream *s)
{
	for (;;) {
		if (s->rd) {
			R->cur_coll = s->coll;
			if (next_record(R, s->rd, &s->ctx, &s->rec, s->path))
				return 1;
			R->bytes_done += s->files[s->next - 1]->size;
			if (mrt_reader_note(s->rd))   /* not an error (zero padding after the data) */
				dm_log_rl(DM_ERR_COUNT_, "%s: note: %s", s->path, mrt_reader_note(s->rd));
			mrt_reader_close(s->rd);
			s->rd = NULL;
		}
		if (s->next >= s->nfiles)
			return 0;
		const struct input *in = s->files[s->next++];
		struct dm_error err;
		memset(&err, 0, sizeof err);
		s->rd = mrt_reader_open(in->path, &err);
		s->path = in->path;
		if (!s->rd)
			report(R, in->path, &err, 0);
	}
}

/* A RIB older than the updates that follow it holds routes withdrawn in between, which no
 * update will ever remove: warn when it is more than a day older than the first update record
 * of its collector (of any collector when its own has none). h: streams with a record. */
static void stale_rib_check(const struct replay *R, struct stream *const *h, size_t nh)
{
	for (size_t i = 0; i < R->nribt; i++) {
		const struct rib_time *rt = &R->ribt[i];
		uint32_t own = 0, any = 0;
		for (size_t k = 0; k < nh; k++) {
			uint32_t ts = h[k]->rec.hdr.ts;
			if (!any || ts < any)
				any = ts;
			if (h[k]->coll == rt->coll && (!own || ts < own))
				own = ts;
		}
		uint32_t first = own ? own : any;
		if (!first || first <= rt->ts || first - rt->ts <= 86400)
			continue;
		uint32_t d = first - rt->ts;
		char age[32], t0[32], t1[32];
		if (d >= 2 * 86400)
			snprintf(age, sizeof age, "%u days", d / 86400);
		else
			snprintf(age, sizeof age, "%u h", d / 3600);
		dm_time_fmt(rt->ts, DM_TIME_ISO, t0);
		dm_time_fmt(first, DM_TIME_ISO, t1);
		fprintf(stderr, "replay: warning: RIB %s older than its updates: routes withdrawn in between are still "
		        "counted; give a RIB from the start of the period (%s: %s; first update: %s)\n",
		        age, rt->path, t0, t1);
	}
}

static int stream_less(const struct stream *a, const struct stream *b)
{
	if (a->rec.hdr.ts != b->rec.hdr.ts)
		return a->rec.hdr.ts < b->rec.hdr.ts;
	if (a->rec.hdr.usec != b->rec.hdr.usec)
		return a->rec.hdr.usec < b->rec.hdr.usec;
	return a->order < b->order;
}

static void heap_down(struct stream **h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && stream_less(h[l], h[m]))
			m = l;
		if (l + 1 < n && stream_less(h[l + 1], h[m]))
			m = l + 1;
		if (m == i)
			return;
		struct stream *t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void replay_updates(struct replay *R, const struct inputs *in)
{
	/* group update inputs by collector, in time order (cmp_input sorted them) */
	size_t ns = 0;
	struct stream *st = calloc(in->n + 1, sizeof *st);
	struct stream **heap = calloc(in->n + 1, sizeof *heap);
	const struct input **files = calloc(in->n + 1, sizeof *files);
	if (!st || !heap || !files)
		goto out;
	size_t nf = 0;
	for (size_t i = 0; i < in->n; i++) {
		if (in->v[i].rib)
			continue;
		uint32_t c = rib_collector_find_or_add(R->rib, in->v[i].collector);
		struct stream *s = NULL;
		for (size_t k = 0; k < ns; k++)
			if (st[k].coll == c)
				s = &st[k];
		if (!s) {
			s = &st[ns];
			s->coll = c;
			s->order = (uint32_t)ns;
			s->files = files + nf;
			ns++;
		}
		/* files of one collector are contiguous after sorting */
		files[nf++] = &in->v[i];
		s->nfiles++;
	}
	size_t nh = 0;
	for (size_t k = 0; k < ns; k++) {
		mrt_ctx_init(&st[k].ctx);
		if (stream_advance(R, &st[k]))
			heap[nh++] = &st[k];
	}
	stale_rib_check(R, heap, nh);
	for (size_t i = nh / 2; i-- > 0;)
		heap_down(heap, nh, i);
	uint64_t n = 0;
	while (nh && !R->stop) {
		struct stream *s = heap[0];
		R->cur_coll = s->coll;
		if (!s->started) {   /* its input runs from its first record on: close earlier bins first */
			sig_time(R->sig, s->rec.hdr.ts);
			sig_collector_active(R->sig, s->coll, 1);
			s->started = 1;
		}
		apply_record(R, &s->ctx, &s->rec, s->path);
		if ((++n & 0x3fff) == 0)
			progress(R, s->path, s->rd ? mrt_reader_compressed_offset(s->rd) : 0, 0);
		if (!stream_advance(R, s)) {
			sig_collector_active(R->sig, s->coll, 0);
			heap[0] = heap[--nh];
		}
		heap_down(heap, nh, 0);
	}
	for (size_t k = 0; k < ns; k++) {
		if (st[k].rd)   /* left open when the run stopped early (R->stop) */
			mrt_reader_close(st[k].rd);
		mrt_ctx_free(&st[k].ctx);
	}
out:
	free(st);
	free(heap);
	free(files);
}

static int is_rir_file(const char *option, const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	return !strcmp(option, "--rir") || (!strcmp(option, "--geo") && strstr(b, "delegated"));
}

/* The snapshot date a delegated file name ends with ("delegated-apnic-20140701"), 0 if none. */
static unsigned long rir_date(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	size_t l = strlen(b), k = 0;
	while (k < l && isdigit((unsigned char)b[l - 1 - k]))
		k++;
	return k == 8 ? strtoul(b + l - 8, NULL, 10) : 0;
}

static int rir_cmp(const char *x, const char *y)
{
	unsigned long dx = rir_date(x), dy = rir_date(y);
	if (dx != dy)
		return dx < dy ? -1 : 1;
	const char *bx = strrchr(x, '/'), *by = strrchr(y, '/');
	int c = strcmp(bx ? bx + 1 : x, by ? by + 1 : y);
	return c ? c : strcmp(x, y);
}

/* Where two RIR files disagree the one queried first answers (docs/geo.md). So that the answer
 * does not depend on the order of the options, the RIR files among the named sources are put
 * in the order of the default sources: oldest snapshot (the date the name ends with) first,
 * then by file name, then by path. Other sources keep their places. */
static void rir_order(const char **opts, const char **files, int n)
{
	for (int i = 1; i < n; i++) {   /* insertion sort over the RIR entries only */
		if (!is_rir_file(opts[i], files[i]))
			continue;
		for (int j = i; j > 0;) {
			int k = j - 1;
			while (k >= 0 && !is_rir_file(opts[k], files[k]))
				k--;
			if (k < 0 || rir_cmp(files[k], files[j]) <= 0)
				break;
			const char *to = opts[k], *tf = files[k];
			opts[k] = opts[j];
			files[k] = files[j];
			opts[j] = to;
			files[j] = tf;
			j = k;
		}
	}
}

static int load_geo(struct geo_db *g, const char *path, struct dm_error *err)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	int rc;
	size_t n = strlen(b);
	if (strstr(b, "delegated"))
		rc = geo_load_rir(g, path, err);
	else if (n > 5 && !strcmp(b + n - 5, ".mmdb"))
		rc = geo_load_mmdb(g, path, err);
	else if (strstr(b, "asn") && (strstr(b, ".json") || strstr(b, "asn-ip") || strstr(b, "asnames")))
		rc = geo_load_asnames(g, path, err);
	else
		rc = geo_load_range_csv(g, path, err);
	return rc < 0 ? rc : 0;
}

static void peer_text(const struct rib *r, uint32_t p, char *buf, size_t n)
{
	char ip[DM_IP_STRLEN];
	struct rib_peer_info pi;
	if (rib_peer_info(r, p, &pi)) {
		snprintf(buf, n, "?");
		return;
	}
	dm_ip_fmt(&pi.addr, ip);
	const char *c = rib_collector_name(r, pi.collector);
	snprintf(buf, n, "%s AS%u%s%s%s", ip, pi.asn, c[0] ? " (" : "", c, c[0] ? ")" : "");
}

static void summary(struct replay *R, const struct sig_entity *want, size_t nwant)
{
	double t = now_s(&R->t0);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	uint64_t routes = rib_routes(R->rib);
	/* bytes/route from the memory in use: the capacity reserved for growth (tables double; a
	 * synthetic table reserves 600,000 prefixes) says nothing about the cost of a route */
	size_t mem = rib_memory_used(R->rib) + sig_memory_used(R->sig);
	size_t reserved = rib_memory(R->rib) + sig_memory(R->sig);
	double cpu = cpu_s();
	fprintf(stderr, "replay: %llu records, %llu elements in %.2f s wall, %.2f s CPU (%.2f M elements/s per core), "
	        "%llu bins, %llu rows",
	        (unsigned long long)R->records, (unsigned long long)R->elems, t, cpu,
	        cpu > 0 ? (double)R->elems / cpu / 1e6 : 0, (unsigned long long)sig_bins_emitted(R->sig),
	        (unsigned long long)R->rows);
	if (R->db)
		fprintf(stderr, " (%llu stored)", (unsigned long long)R->rows_db);
	if (R->db || R->cf)
		fprintf(stderr, ", %llu visibility changes", (unsigned long long)R->changes);
	fputc('\n', stderr);
	fprintf(stderr, "replay: %u peers, %llu routes, %u prefixes, %u attribute sets; RIB+signal %.1f MB "
	        "(%.1f bytes/route) in use, %.1f MB reserved, peak RSS %.1f MB\n",
	        rib_peer_count(R->rib), (unsigned long long)routes, rib_prefix_count(R->rib), rib_attr_count(R->rib), (double)mem / 1e6,
	        routes ? (double)mem / (double)routes : 0, (double)reserved / 1e6, (double)ru.ru_maxrss / 1024);
	for (int fam = 0; fam < 2; fam++) {
		struct sig_fam_info fi;
		sig_fam_info(R->sig, fam, &fi);
		if (!fi.largest)
			continue;
		fprintf(stderr, "replay: IPv%d: %u full-feed peers (rule %s: >= %u prefixes to join, leave below %u; "
		        "largest table %u); ", fam ? 6 : 4, fi.nff, fi.rule, fi.threshold, fi.leave, fi.largest);
		if (fi.nff)
			fprintf(stderr, "visible (seen by >= %u): %llu prefixes, %llu %s\n", fi.need,
			        (unsigned long long)fi.visible, (unsigned long long)fi.slash24, fam ? "/48s" : "/24s");
		else
			fputs("no full-feed peer: nothing judged (no-data)\n", stderr);
	}
	for (uint32_t c = 0; c < rib_collector_count(R->rib); c++) {
		if (coll_fit(R, c) || !R->crecords[c])
			continue;
		uint32_t span = R->clast[c] > R->cfirst[c] ? R->clast[c] - R->cfirst[c] : 0;
		const char *cn = rib_collector_name(R->rib, c);
		fprintf(stderr, "replay: collector %s: %llu records", cn[0] ? cn : "-",
		        (unsigned long long)R->crecords[c]);
		if (span)
			fprintf(stderr, ", %.1f records/s over %u s", (double)R->crecords[c] / span, span);
		fputc('\n', stderr);
	}
	for (size_t i = 0; i < nwant; i++) {
		struct sig_bin b;
		if (sig_entity_now(R->sig, &want[i], &b) || (!b.visible_prefixes && !b.full_feed_peers))
			continue;
		uint32_t ids[64];
		uint32_t n = sig_entity_peers(R->sig, &want[i], ids, 64);
		char name[32];
		if (want[i].kind == SIG_COUNTRY)
			snprintf(name, sizeof name, "%s", want[i].cc);
		else
			snprintf(name, sizeof name, "AS%u", want[i].asn);
		fprintf(stderr, "replay: %s IPv%d now: %llu visible prefixes, %llu %s, seen by %u of %u full-feed peers%s",
		        name, want[i].afi == DM_AFI_IPV6 ? 6 : 4, (unsigned long long)b.visible_prefixes,
		        (unsigned long long)b.slash24,
		        want[i].afi == DM_AFI_IPV6 ? "/48s" : "/24s", b.peers_seeing, b.full_feed_peers, n ? ":" : "");
		for (uint32_t k = 0; k < n && k < 64; k++) {
			char pt[160];
			peer_text(R->rib, ids[k], pt, sizeof pt);
			fprintf(stderr, "%s %s", k ? "," : "", pt);
		}
		if (n > 64)
			fprintf(stderr, ", ...");
		fputc('\n', stderr);
	}
	for (size_t i = 0; i < R->ntruncated; i++)
		fprintf(stderr, "replay: %s\n", R->truncated[i]);
	uint64_t ne = 0, nw = 0;
	for (int k = 0; k < DM_ERR_COUNT_; k++) {
		ne += R->err[k];
		nw += R->warn[k];
	}
	if (ne || nw) {
		fprintf(stderr, "replay: input problems (skipped, counted):");
		for (int k = 0; k < DM_ERR_COUNT_; k++) {
			if (R->err[k])
				fprintf(stderr, " %s %llu", dm_err_name((enum dm_err) - k), (unsigned long long)R->err[k]);
			if (R->warn[k])
				fprintf(stderr, " %s(entry) %llu", dm_err_name((enum dm_err) - k), (unsigned long long)R->warn[k]);
		}
		fputc('\n', stderr);
	}
	if (sig_dropped(R->sig))
		fprintf(stderr, "replay: not applied (malformed prefix or out of memory): %llu elements\n",
		        (unsigned long long)sig_dropped(R->sig));
	if (sig_ignored(R->sig))
		fprintf(stderr, "replay: left out (prefix shorter than /8, IPv6 /16): %llu elements\n",
		        (unsigned long long)sig_ignored(R->sig));
	if (R->skipped_multicast)
		fprintf(stderr, "replay: %llu multicast-only records skipped\n", (unsigned long long)R->skipped_multicast);
}

/* The --quality and --changes files, closed on a path that stops before the replay. */
static void close_side_files(struct replay *R)
{
	if (R->qf)
		fclose(R->qf);
	if (R->cf)
		fclose(R->cf);
	R->qf = R->cf = NULL;
}

int cmd_replay(int argc, char **argv)
{
	struct sig_opts so;
	sig_opts_default(&so);
	struct replay R;
	memset(&R, 0, sizeof R);
	struct inputs ribs = { 0 }, files = { 0 }, dirs = { 0 }, inputs = { 0 };
	const char *geo_files[32], *geo_opts[32];
	int ngeo = 0, no_geo = 0, quiet = 0, force_progress = 0, rc = EXIT_OK, rows_countries = 0;
	const char *db_path = NULL, *quality_path = NULL, *changes_path = NULL;
	const char *want_cc[MAX_FILTER];
	uint32_t want_asn[MAX_FILTER];
	size_t ncc = 0, nasn = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV()                                                                  \
	do {                                                                         \
		if (!v) {                                                                \
			fprintf(stderr, "darkmap replay: %s needs a value\n%s", a, usage_text); \
			return EXIT_USAGE;                                                   \
		}                                                                        \
		i++;                                                                     \
	} while (0)
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, stdout);
			return EXIT_OK;
		} else if (!strcmp(a, "--rib")) {
			NEEDV();
			char c[128];
			file_collector(v, c, sizeof c);
			input_add(&ribs, v, c, 1, 0);
		} else if (!strcmp(a, "--bin")) {
			NEEDV();
			so.bin = (uint32_t)strtoul(v, NULL, 10);
			if (so.bin < 1 || so.bin > 86400 * 7) {
				fprintf(stderr, "darkmap replay: --bin %s: want 1..604800 seconds\n", v);
				return EXIT_USAGE;
			}
		} else if (!strcmp(a, "--vis")) {
			NEEDV();
			char *end;
			so.vis = strtod(v, &end);
			if (*end || !(so.vis > 0 && so.vis <= 1)) {
				fprintf(stderr, "darkmap replay: --vis %s: want a fraction in (0, 1]\n", v);
				return EXIT_USAGE;
			}
		} else if (!strcmp(a, "--full-feed")) {
			NEEDV();
			if (sig_parse_ff_rule(v, &so)) {
				fprintf(stderr, "darkmap replay: --full-feed %s: want auto, abs, rel[:F] or N[,N6]\n", v);
				return EXIT_USAGE;
			}
		} else if (!strcmp(a, "--full-feed-leave")) {
			NEEDV();
			char *end;
			so.ff_leave = strtod(v, &end);
			if (*end || !(so.ff_leave > 0 && so.ff_leave <= 1)) {
				fprintf(stderr, "darkmap replay: --full-feed-leave %s: want a fraction in (0, 1]\n", v);
				return EXIT_USAGE;
			}
		} else if (!strcmp(a, "--gap-min")) {
			NEEDV();
			char *end;
			unsigned long g = strtoul(v, &end, 10);
			if (*end || end == v || g > 86400 * 7) {
				fprintf(stderr, "darkmap replay: --gap-min %s: want 0..604800 seconds\n", v);
				return EXIT_USAGE;
			}
			so.gap_min = (uint32_t)g;
		} else if (!strcmp(a, "--changes")) {
			NEEDV();
			changes_path = v;
		} else if (!strcmp(a, "--db")) {
			NEEDV();
			db_path = v;
		} else if (!strcmp(a, "--rows")) {
			NEEDV();
			if (strcmp(v, "all") && strcmp(v, "countries")) {
				fprintf(stderr, "darkmap replay: --rows %s: want all or countries\n", v);
				return EXIT_USAGE;
			}
			rows_countries = !strcmp(v, "countries");
		} else if (!strcmp(a, "--quality")) {
			NEEDV();
			quality_path = v;
		} else if (!strcmp(a, "--csv")) {
			R.csv = 1;
		} else if (!strcmp(a, "--country")) {
			NEEDV();
			if (strlen(v) != 2 || ncc >= MAX_FILTER) {
				fprintf(stderr, "darkmap replay: --country %s: want a two-letter code\n", v);
				return EXIT_USAGE;
			}
			/* a code no mapping can give would only ever have empty rows */
			if (!geo_country_name(v)) {
				fprintf(stderr, "darkmap replay: --country %s: not a country code darkmap knows "
				        "(ISO 3166-1 alpha-2 such as KP, or ZZ for unmapped space; src/geo/country.c)\n", v);
				return EXIT_USAGE;
			}
			want_cc[ncc++] = v;
		} else if (!strcmp(a, "--asn")) {
			NEEDV();
			const char *s = (!strncmp(v, "AS", 2) || !strncmp(v, "as", 2)) ? v + 2 : v;
			char *end;
			unsigned long n = strtoul(s, &end, 10);
			if (*end || end == s || n > UINT32_MAX) {
				fprintf(stderr, "darkmap replay: --asn %s: want an AS number\n", v);
				return EXIT_USAGE;
			}
			if (nasn >= MAX_FILTER) {
				fprintf(stderr, "darkmap replay: --asn %s: at most %d --asn (use no --rows for every AS)\n", v, MAX_FILTER);
				return EXIT_USAGE;
			}
			want_asn[nasn++] = (uint32_t)n;
		} else if (!strcmp(a, "--from") || !strcmp(a, "--to")) {
			NEEDV();
			uint32_t t;
			if (dm_time_parse(v, &t)) {
				fprintf(stderr, "darkmap replay: %s %s: want unix seconds or YYYY-MM-DD[THH:MM[:SS]]\n", a, v);
				return EXIT_USAGE;
			}
			if (a[2] == 'f')
				R.from = t;
			else
				R.to = t;
		} else if (!strcmp(a, "--geo") || !strcmp(a, "--rir") || !strcmp(a, "--ranges") ||
		           !strcmp(a, "--mmdb") || !strcmp(a, "--asnames")) {
			NEEDV();
			if (ngeo < 32) {
				geo_opts[ngeo] = a;
				geo_files[ngeo++] = v;
			}
		} else if (!strcmp(a, "--no-geo")) {
			no_geo = 1;
		} else if (!strcmp(a, "--synthetic-table")) {
			NEEDV();
			R.synth = v;
		} else if (!strcmp(a, "--synthetic-time")) {
			NEEDV();
			if (dm_time_parse(v, &R.synth_time)) {
				fprintf(stderr, "darkmap replay: --synthetic-time %s: want unix seconds or YYYY-MM-DD[THH:MM[:SS]]\n", v);
				return EXIT_USAGE;
			}
		} else if (!strcmp(a, "--synthetic-peers")) {
			NEEDV();
			R.synth_peers = (uint32_t)strtoul(v, NULL, 10);
			if (R.synth_peers < 1 || R.synth_peers > 4096) {
				fprintf(stderr, "darkmap replay: --synthetic-peers %s: want 1..4096\n", v);
				return EXIT_USAGE;
			}
		} else if (!strcmp(a, "--decode-only")) {   /* benchmark aid: decode, no RIB */
			R.decode_only = 1;
		} else if (!strcmp(a, "--progress")) {
			force_progress = 1;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			quiet = 1;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "darkmap replay: unknown option %s\n%s", a, usage_text);
			return EXIT_USAGE;
		} else {
			struct stat st;
			if (stat(a, &st)) {
				fprintf(stderr, "darkmap replay: %s: %s\n", a, strerror(errno));
				rc = EXIT_DATA_ERRORS;
				continue;
			}
			if (S_ISDIR(st.st_mode)) {
				walk_dir(a, 0, &dirs);
				continue;
			}
			const char *b = strrchr(a, '/');
			uint32_t t;
			char c[128];
			int kind = name_kind(b ? b + 1 : a, &t, c, sizeof c);
			file_collector(a, c, sizeof c);
			input_add(&files, a, c, kind == 1, t);
		}
	}
	if (R.from && R.to && R.to <= R.from) {
		fprintf(stderr, "darkmap replay: --to must be after --from\n");
		return EXIT_USAGE;
	}
	pick_from_dirs(&dirs, R.from, R.to, &inputs);
	for (size_t i = 0; i < ribs.n; i++)
		input_add(&inputs, ribs.v[i].path, ribs.v[i].collector, 1, ribs.v[i].ftime);
	for (size_t i = 0; i < files.n; i++)
		input_add(&inputs, files.v[i].path, files.v[i].collector, files.v[i].rib, files.v[i].ftime);
	if (!inputs.n && !R.synth) {
		fprintf(stderr, "darkmap replay: no input files%s\n%s", dirs.n ? " in the time range" : "", usage_text);
		return EXIT_USAGE;
	}
	if (inputs.n)   /* none with --synthetic-table alone */
		qsort(inputs.v, inputs.n, sizeof *inputs.v, cmp_input);

	dm_log_quiet = quiet;
	R.bin = so.bin;
	/* The RIB's tables grow by doubling: keep them mmap'd so realloc moves pages (mremap) instead
	 * of copying; a fixed threshold also stops glibc from raising it after a big free. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	R.progress = !quiet && (force_progress || isatty(2));
	R.geo = geo_db_new();
	if (!no_geo && R.geo) {
		if (ngeo) {
			rir_order(geo_opts, geo_files, ngeo);
			for (int i = 0; i < ngeo; i++) {
				struct dm_error err;
				memset(&err, 0, sizeof err);
				int r = strcmp(geo_opts[i], "--geo") ? geo_load_option(R.geo, geo_opts[i], geo_files[i], &err)
				                                      : load_geo(R.geo, geo_files[i], &err);
				if (r < 0) {   /* a source named but not usable: replaying would map its space to ZZ */
					const char *what = err.what[0] ? err.what : dm_err_name(err.code);
					if (strstr(what, geo_files[i]))
						fprintf(stderr, "darkmap replay: %s: %s\n", geo_opts[i], what);
					else
						fprintf(stderr, "darkmap replay: %s %s: %s\n", geo_opts[i], geo_files[i], what);
					geo_db_free(R.geo);
					for (struct inputs *l = &ribs; l; l = l == &ribs ? &files : l == &files ? &dirs : l == &dirs ? &inputs : NULL)
						inputs_free(l);
					return EXIT_USAGE;
				}
			}
		} else {
			struct dm_error err;
			memset(&err, 0, sizeof err);
			/* The mapping of the data's time: --from, else the earliest archive date in
			 * the file names (docs/geo.md: geolocation only for recent data). */
			int64_t when = R.from;
			for (size_t i = 0; !when && i < inputs.n; i++)
				if (inputs.v[i].ftime && (!when || inputs.v[i].ftime < when))
					when = inputs.v[i].ftime;
			if (geo_load_defaults_at(R.geo, when, &err) < 0)
				dm_log("replay: default mapping sources: %s", err.what);
		}
		if (!geo_nsources(R.geo))
			dm_log("replay: no mapping source loaded: every prefix counts as country ZZ");
	}
	R.rib = rib_new();
	R.sig = R.rib ? sig_new(R.rib, no_geo || !R.geo ? NULL : geo_split, R.geo, &so) : NULL;
	if (!R.sig) {
		fprintf(stderr, "darkmap replay: out of memory\n");
		return EXIT_FAILURE_;
	}
	sig_set_emit(R.sig, emit_row, &R);
	if (quality_path) {
		if (!(R.qf = fopen(quality_path, "w"))) {
			fprintf(stderr, "darkmap replay: --quality %s: %s\n", quality_path, strerror(errno));
			return EXIT_FAILURE_;
		}
		fputs("t,time,collector,records,records_per_s,active,silent,gap\n", R.qf);
		sig_set_collector_emit(R.sig, emit_collector, &R);
	}
	if (changes_path) {
		if (!(R.cf = fopen(changes_path, "w"))) {
			fprintf(stderr, "darkmap replay: --changes %s: %s\n", changes_path, strerror(errno));
			return EXIT_FAILURE_;
		}
		fputs("t,time,afi,prefix,change,covered,cc,origin,upstream,units,peers_before,full_feed_peers,"
		      "peer_asn,peer,collector,countries\n", R.cf);
	}
	if (changes_path || db_path)
		sig_set_change_emit(R.sig, emit_change, &R);
	if (rows_countries)
		sig_want_countries(R.sig);
	struct sig_entity want[2 * 2 * MAX_FILTER];
	size_t nwant = 0;
	for (size_t i = 0; i < ncc; i++) {
		sig_want_country(R.sig, want_cc[i]);
		for (int f = 0; f < 2; f++) {
			struct sig_entity *e = &want[nwant++];
			memset(e, 0, sizeof *e);
			e->kind = SIG_COUNTRY;
			e->afi = f ? DM_AFI_IPV6 : DM_AFI_IPV4;
			e->cc[0] = (char)toupper((unsigned char)want_cc[i][0]);
			e->cc[1] = (char)toupper((unsigned char)want_cc[i][1]);
		}
	}
	for (size_t i = 0; i < nasn; i++) {
		sig_want_asn(R.sig, want_asn[i]);
		for (int f = 0; f < 2; f++) {
			struct sig_entity *e = &want[nwant++];
			memset(e, 0, sizeof *e);
			e->kind = SIG_ASN;
			e->afi = f ? DM_AFI_IPV6 : DM_AFI_IPV4;
			e->asn = want_asn[i];
		}
	}
	if (db_path) {
		struct dm_error err;
		memset(&err, 0, sizeof err);
		R.db = store_open(db_path, &err);
		if (!R.db) {
			if (strstr(err.what, db_path))
				fprintf(stderr, "darkmap replay: %s\n", err.what);
			else
				fprintf(stderr, "darkmap replay: %s: %s\n", db_path, err.what);
			close_side_files(&R);
			rc = EXIT_FAILURE_;
			goto done;
		}
		if (store_begin(R.db))
			db_fail(&R, "begin");
		/* run-length rows: quiet entities (most of them) cost one row per change, not per bin */
		if (!R.db_failed && store_set_bin(R.db, so.bin))
			db_fail(&R, "write (meta)");
		char buf[256];
		snprintf(buf, sizeof buf, "bin=%u vis=%g full-feed=%s full-feed-leave=%g gap-min=%u", so.bin, so.vis,
		         so.ff_rule == SIG_FF_AUTO ? "auto" : so.ff_rule == SIG_FF_ABS ? "abs" : so.ff_rule == SIG_FF_REL ? "rel" : "count",
		         so.ff_leave, so.gap_min);
		int bad = !R.db_failed && store_put_meta(R.db, "replay.options", buf);
		for (size_t i = 0; !bad && !R.db_failed && i < inputs.n; i++) {
			char key[64];
			snprintf(key, sizeof key, "replay.input.%zu", i);
			bad = store_put_meta(R.db, key, inputs.v[i].path);
		}
		for (size_t i = 0; !bad && !R.db_failed && R.geo && i < geo_nsources(R.geo); i++) {
			char key[64];
			snprintf(key, sizeof key, "replay.geo.%zu", i);
			bad = store_put_meta(R.db, key, geo_source_name(R.geo, i));
		}
		if (bad)
			db_fail(&R, "write (meta)");
		if (R.db_failed) {   /* nothing could be stored: do not replay for nothing */
			store_close(R.db);
			close_side_files(&R);
			rc = EXIT_FAILURE_;
			goto done;
		}
	}
	if (R.csv) {
		obuf_init_fd(&R.out, 1);
		obuf_puts(&R.out, "t,time,kind,entity,afi,visible_prefixes,slash24,baseline_slash24,peers_seeing,"
		                  "full_feed_peers,peers_up,peer_frac,announcements,withdrawals,interruptions,"
		                  "more_specifics,quality,records,ff_joined,ff_left\n");
	}
	for (size_t i = 0; i < inputs.n; i++)
		R.bytes_total += inputs.v[i].size;
	clock_gettime(CLOCK_MONOTONIC, &R.t0);

	if (R.synth) {
		uint32_t np = R.synth_peers ? R.synth_peers : 40;
		/* stamped --synthetic-time, or 2014-05-13 06:00 (the pyasn table's RIB) */
		uint32_t ts = R.synth_time ? R.synth_time : 1399960800;
		rib_reserve(R.rib, 600000);
		double c1 = cpu_s();
		uint64_t n = synthetic_table(&R, R.synth, np, ts);
		double dt = cpu_s() - c1;
		fprintf(stderr, "replay: synthetic table: %u peers x %u prefixes = %llu elements in %.2f s CPU "
		        "(%.2f M elements/s per core, parsing the table included)\n",
		        np, rib_prefix_count(R.rib), (unsigned long long)n, dt, dt > 0 ? (double)n / dt / 1e6 : 0);
	}
	for (size_t i = 0; i < inputs.n; i++)
		if (inputs.v[i].rib)
			load_rib(&R, &inputs.v[i]);
	double c2 = cpu_s();
	sig_start(R.sig);
	if (sig_no_rib(R.sig)) {
		/* Tables built from updates alone hold only the prefixes that changed: a peer is known
		 * to be full-feed only once it has sent a whole table (a session reset). */
		if (so.ff_rule == SIG_FF_AUTO || so.ff_rule == SIG_FF_ABS)
			fprintf(stderr, "replay: no RIB given: full-feed peers are unknown until a peer's table reaches "
			        "%u IPv4 / %u IPv6 prefixes; bins before are marked no-data and not judged\n",
			        so.ff_abs[0], so.ff_abs[1]);
		else
			fprintf(stderr, "replay: no RIB given: tables hold only what the updates sent; full-feed rule "
			        "%s as asked\n", so.ff_rule == SIG_FF_REL ? "rel" : "count");
	}
	if (R.synth)
		fprintf(stderr, "replay: full-feed selection and signal state from scratch: %.2f s CPU\n", cpu_s() - c2);
	replay_updates(&R, &inputs);
	sig_finish(R.sig);
	if (R.progress) {
		progress(&R, "done", 0, 1);
		fputc('\n', stderr);
	}
	int werr = R.csv ? obuf_free(&R.out) : 0;
	if (werr && !R.csv_failed)
		fprintf(stderr, "darkmap replay: writing the CSV to standard output failed: %s\n", strerror(werr));
	if (werr)
		R.csv_failed = 1;
	/* fclose reports only the last flush: an earlier failed write shows in ferror */
	if (R.cf && (ferror(R.cf) | fclose(R.cf))) {
		fprintf(stderr, "darkmap replay: --changes %s: write failed: %s\n", changes_path,
		        errno ? strerror(errno) : "I/O error");
		rc = EXIT_FAILURE_;
	}
	if (R.qf && (ferror(R.qf) | fclose(R.qf))) {
		fprintf(stderr, "darkmap replay: --quality %s: write failed: %s\n", quality_path,
		        errno ? strerror(errno) : "I/O error");
		rc = EXIT_FAILURE_;
	}
	if (R.db) {
		db_commit(&R, 1);
		for (size_t i = 0; i < nwant && !R.db_failed; i++) {
			const char *name = NULL;
			if (want[i].kind == SIG_COUNTRY)
				name = geo_country_name(want[i].cc);
			else if (R.geo)
				name = geo_as_name(R.geo, want[i].asn);
			if (name && store_put_entity_name(R.db, &want[i], name))
				db_fail(&R, "write (entity names)");
		}
		db_commit(&R, 0);
		store_close(R.db);
	}
	dm_log_flush_suppressed();
	summary(&R, want, nwant);
	if (R.db_failed) {
		fprintf(stderr, "darkmap replay: %s is incomplete: %llu of %llu rows and %llu of %llu visibility changes "
		        "stored (the database write failed, see above)\n", db_path, (unsigned long long)R.rows_db,
		        (unsigned long long)R.rows, (unsigned long long)R.changes_db, (unsigned long long)R.changes);
		rc = EXIT_FAILURE_;
	}
	if (R.csv_failed) {
		fprintf(stderr, "darkmap replay: the CSV on standard output is incomplete (the write failed, see above)\n");
		rc = EXIT_FAILURE_;
	}
	if ((R.data_errors || sig_dropped(R.sig)) && rc == EXIT_OK)
		rc = EXIT_DATA_ERRORS;
	if (!R.records && !R.synth)
		rc = EXIT_FAILURE_;
done:
	sig_free(R.sig);
	rib_free(R.rib);
	geo_db_free(R.geo);
	for (struct inputs *l = &ribs; l; l = l == &ribs ? &files : l == &files ? &dirs : l == &dirs ? &inputs : NULL)
		inputs_free(l);
	for (size_t i = 0; i < R.ntruncated; i++)
		free(R.truncated[i]);
	free(R.truncated);
	free(R.crecords);
	free(R.cfirst);
	free(R.clast);
	free(R.ribt);
	return rc;
}
