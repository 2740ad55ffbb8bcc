/* darkmap cluster: the scale-out of docs/scale.md. Roles:
 *   local   every partition and the merger in this process (what the exactness test runs)
 *   feed    archives -> the cut -> the partitions' Redis streams
 *   worker  owns partitions (leases), applies their streams, hands sizes and rows to the merger
 *   merge   sums sizes, merges rows -> the store (SQLite or PostgreSQL), CSV, detector
 * One configuration file (--config) names the Redis nodes, the partitions, the workers and
 * the pipeline options every role shares. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <limits.h>
#include <sys/stat.h>

#include "cluster/backfill.h"
#include "cluster/cluster.h"
#include "cmd/cmds.h"

static const char usage_text[] =
	"usage: darkmap cluster local [--parts N] [replay options] INPUTS...\n"
	"       darkmap cluster feed --config FILE [replay options] INPUTS...\n"
	"       darkmap cluster worker --config FILE --id I\n"
	"       darkmap cluster merge --config FILE [output options: --db, --csv, --detect ...]\n"
	"       darkmap cluster backfill --pg URI --run NAME --snapshots DIR [--parts N] [--ranges N]\n"
	"                [--workers N] [--heartbeat-ms N] [replay options] INPUTS...\n"
	"       darkmap cluster backfill-worker --pg URI --run NAME [--passes N]\n"
	"\n"
	"Replays like `darkmap replay`, with the elements cut by address range into N partitions\n"
	"(IPv4 /8, IPv6 /16 buckets; partition 0 takes shorter prefixes and the records), each with\n"
	"its own RIB and signal, and their per-bin partial results merged: the rows, changes and\n"
	"events are those one process gives (docs/scale.md says why, and how the roles of a real\n"
	"cluster split this over machines).\n"
	"  --parts N          partitions (default 16, 1..4096)\n"
	"The configuration file (KEY = VALUE lines, # comments):\n"
	"  redis = HOST:PORT[,HOST:PORT...]   Redis nodes (any of a Redis Cluster's)\n"
	"  parts = N            partitions (16)        workers = N   worker processes (1)\n"
	"  prefix = NAME        the cluster's keys (dm)  lease_ms = N  a worker's lease (3000)\n"
	"  options = ...        pipeline options every role takes (--bin, --rows, --asn ...)\n"
	"  snapshots = DIR      workers write each partition's exact snapshot there (a directory every\n"
	"                       worker reads: a takeover loads it and reads the stream after it) and\n"
	"                       trim the streams below the older of the last two (docs/scale.md)\n"
	"  snapshot_every = N   every N bin barriers (10)\n"
	"Backfill (docs/scale.md \"Backfill\"): `backfill` cuts the inputs' period into --ranges time\n"
	"ranges (4) x --parts partitions, puts these jobs into PostgreSQL (--pg, run NAME) and merges\n"
	"their results into its outputs (--db, --csv, --detect ...) as they come; `backfill-worker`\n"
	"processes (any number, any machine with the same input paths and DIR) claim the jobs, each\n"
	"range from the exact snapshots the range before wrote into DIR; a job whose worker stops\n"
	"beating for --heartbeat-ms (10000) is claimed again. --workers: how many share a range (2).\n"
	"%s";

static int cl_parse_parts(const char *v, uint32_t *n)
{
	char *end;
	unsigned long x = strtoul(v, &end, 10);
	if (*end || x < 1 || x > CL_MAX_PARTS)
		return -1;
	*n = (uint32_t)x;
	return 0;
}

/* Options and inputs as replay takes them; returns 0, or an exit status. */
static int parse(int argc, char **argv, int first, struct pl_opts *o, struct pl_inputs *in, uint32_t *nparts)
{
	char why[512];
	for (int i = first; i < argc; i++) {
		const char *a = argv[i];
		int r = pl_opts_parse(o, argc, argv, &i, why, sizeof why);
		if (r < 0) {
			fprintf(stderr, "darkmap cluster: %s\n", why);
			return EXIT_USAGE;
		}
		if (r == 1)
			continue;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			printf(usage_text, pl_opts_usage);
			return -1;
		}
		if (!strcmp(a, "--parts")) {
			if (i + 1 >= argc || cl_parse_parts(argv[++i], nparts)) {
				fprintf(stderr, "darkmap cluster: --parts wants 1..%d\n", CL_MAX_PARTS);
				return EXIT_USAGE;
			}
		} else if (!strcmp(a, "--rib")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "darkmap cluster: --rib needs a value\n");
				return EXIT_USAGE;
			}
			pl_inputs_add(in, argv[++i], 1);
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "darkmap cluster: unknown option %s\n", a);
			return EXIT_USAGE;
		} else if (pl_inputs_add(in, a, 0)) {
			fprintf(stderr, "darkmap cluster: %s: %s\n", a, strerror(errno));
			return EXIT_DATA_ERRORS;
		}
	}
	if (pl_opts_check(o, why, sizeof why)) {
		fprintf(stderr, "darkmap cluster: %s\n", why);
		return EXIT_USAGE;
	}
	if (o->quality_path) {
		fprintf(stderr, "darkmap cluster: --quality is not written by a cluster (yet): use replay\n");
		return EXIT_USAGE;
	}
	if (!pl_inputs_finish(in, o->from, o->to)) {
		fprintf(stderr, "darkmap cluster: no input files%s\n", pl_inputs_dirs(in) ? " in the time range" : "");
		return EXIT_USAGE;
	}
	return 0;
}

/* The feeder: a pipeline that only reads (no outputs, no mapping), its calls tapped. */
static struct pipeline *cl_feeder_new(const struct pl_opts *o, int64_t when, int *status)
{
	struct dm_error err;
	memset(&err, 0, sizeof err);
	struct pipeline *p = cl_pipeline_bare(o, "cluster feed", 1, when, status, &err);
	if (!p && err.what[0])
		fprintf(stderr, "darkmap cluster: %s\n", err.what);
	return p;
}

static int run_local(int argc, char **argv)
{
	struct pl_opts o;
	pl_opts_default(&o, "cluster");
	uint32_t nparts = 16;
	struct pl_inputs *in = pl_inputs_new();
	if (!in)
		return EXIT_FAILURE_;
	int rc = parse(argc, argv, 2, &o, in, &nparts);
	if (rc) {
		pl_inputs_free(in);
		return rc < 0 ? EXIT_OK : rc;
	}
	int64_t when = o.from ? o.from : pl_inputs_first_time(in);
	struct dm_error err;
	memset(&err, 0, sizeof err);
	int status;
	struct pipeline *out = pl_new(&o, when, &status, &err);
	if (!out) {
		if (err.what[0])
			fprintf(stderr, "darkmap cluster: %s\n", err.what);
		pl_inputs_free(in);
		return status;
	}
	struct pipeline *feed = cl_feeder_new(&o, when, &status);
	struct cl_local *l = feed ? cl_local_new(nparts, &o, pl_geo(out), out) : NULL;
	struct cl_cut *cut = l ? cl_cut_new(nparts, o.sig.bin, pl_rib(feed), cl_local_send, l) : NULL;
	if (!cut) {
		fprintf(stderr, "darkmap cluster: out of memory\n");
		cl_local_free(l);
		pl_inputs_free(in);
		return EXIT_FAILURE_;
	}
	struct pl_tap tap;
	cl_cut_tap(cut, &tap);
	pl_set_tap(feed, &tap);
	pl_replay(feed, in);
	int frc = pl_finish(feed);
	if (cl_local_failed(l, &err)) {
		fprintf(stderr, "darkmap cluster: %s\n", err.what);
		frc = EXIT_FAILURE_;
	}
	if (!o.quiet)
		fprintf(stderr, "cluster: %u partitions, %llu messages, %u barriers, %llu skipped\n", nparts,
		        (unsigned long long)cl_cut_messages(cut), cl_cut_barriers(cut), (unsigned long long)cl_local_bad(l));
	int orc = pl_finish(out);
	cl_cut_free(cut);
	cl_local_free(l);
	pl_inputs_free(in);
	if (frc == EXIT_FAILURE_ || orc == EXIT_FAILURE_)
		return EXIT_FAILURE_;
	return frc ? frc : orc;
}

struct conf {
	char redis[1024], prefix[64];
	uint32_t parts, workers, lease_ms, snap_every;
	char snap_dir[1024];
	char options[2048];
	char *argv[128];
	int argc;
};

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

static int conf_read(const char *path, struct conf *c)
{
	memset(c, 0, sizeof c[0]);
	snprintf(c->prefix, sizeof c->prefix, "dm");
	c->parts = 16;
	c->workers = 1;
	c->lease_ms = 3000;
	c->snap_every = 10;
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "darkmap cluster: --config %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	char line[2048];
	int n = 0, rc = 0;
	while (fgets(line, sizeof line, f)) {
		n++;
		char *l = trim(line);
		if (!*l || *l == '#')
			continue;
		char *eq = strchr(l, '=');
		if (!eq) {
			fprintf(stderr, "darkmap cluster: %s:%d: want KEY = VALUE\n", path, n);
			rc = EXIT_USAGE;
			break;
		}
		*eq = 0;
		char *k = trim(l), *v = trim(eq + 1);
		if (!strcmp(k, "redis"))
			snprintf(c->redis, sizeof c->redis, "%s", v);
		else if (!strcmp(k, "prefix"))
			snprintf(c->prefix, sizeof c->prefix, "%s", v);
		else if (!strcmp(k, "parts") && !cl_parse_parts(v, &c->parts))
			;
		else if (!strcmp(k, "workers") && atoi(v) > 0 && atoi(v) <= CL_MAX_PARTS)
			c->workers = (uint32_t)atoi(v);
		else if (!strcmp(k, "lease_ms") && atoi(v) >= 100)
			c->lease_ms = (uint32_t)atoi(v);
		else if (!strcmp(k, "snapshots"))
			snprintf(c->snap_dir, sizeof c->snap_dir, "%s", v);
		else if (!strcmp(k, "snapshot_every") && atoi(v) > 0)
			c->snap_every = (uint32_t)atoi(v);
		else if (!strcmp(k, "options"))
			snprintf(c->options, sizeof c->options, "%s", v);
		else {
			fprintf(stderr, "darkmap cluster: %s:%d: unknown key or bad value: %s = %s\n", path, n, k, v);
			rc = EXIT_USAGE;
			break;
		}
	}
	fclose(f);
	if (!rc && !c->redis[0]) {
		fprintf(stderr, "darkmap cluster: %s: no redis = HOST:PORT\n", path);
		rc = EXIT_USAGE;
	}
	c->argv[c->argc++] = "options";
	for (char *save = NULL, *t = strtok_r(c->options, " \t", &save); t && c->argc < 127; t = strtok_r(NULL, " \t", &save))
		c->argv[c->argc++] = t;
	return rc;
}

/* The configuration's options, then the command line's (after the role and --config). */
static int role_opts(int argc, char **argv, struct conf *c, struct pl_opts *o, struct pl_inputs *in, uint32_t *id,
                     int need_config)
{
	const char *cfg = NULL;
	for (int i = 2; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--config"))
			cfg = argv[i + 1];
	if (!cfg) {
		fprintf(stderr, "darkmap cluster %s: --config FILE is needed\n", argv[1]);
		return EXIT_USAGE;
	}
	int rc = conf_read(cfg, c);
	if (rc)
		return rc;
	char why[512];
	for (int i = 1; i < c->argc; i++) {
		int r = pl_opts_parse(o, c->argc, c->argv, &i, why, sizeof why);
		if (r != 1) {
			fprintf(stderr, "darkmap cluster: %s: options: %s\n", cfg, r < 0 ? why : "not a pipeline option");
			return EXIT_USAGE;
		}
	}
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--config")) {
			i++;
			continue;
		}
		if (!strcmp(a, "--id") && id && i + 1 < argc) {
			*id = (uint32_t)strtoul(argv[++i], NULL, 10);
			continue;
		}
		int r = pl_opts_parse(o, argc, argv, &i, why, sizeof why);
		if (r < 0) {
			fprintf(stderr, "darkmap cluster: %s\n", why);
			return EXIT_USAGE;
		}
		if (r == 1)
			continue;
		if (a[0] == '-' || !in) {
			fprintf(stderr, "darkmap cluster %s: unknown option %s\n", argv[1], a);
			return EXIT_USAGE;
		}
		if (pl_inputs_add(in, a, 0)) {
			fprintf(stderr, "darkmap cluster: %s: %s\n", a, strerror(errno));
			return EXIT_DATA_ERRORS;
		}
	}
	(void)need_config;
	if (pl_opts_check(o, why, sizeof why)) {
		fprintf(stderr, "darkmap cluster: %s\n", why);
		return EXIT_USAGE;
	}
	return 0;
}

static void bus_opts(const struct conf *c, struct cl_bus_opts *bo, const struct pl_opts *o)
{
	memset(bo, 0, sizeof *bo);
	bo->redis = c->redis;
	bo->prefix = c->prefix;
	bo->nparts = c->parts;
	bo->workers = c->workers;
	bo->lease_ms = c->lease_ms;
	bo->snap_dir = c->snap_dir[0] ? c->snap_dir : NULL;
	bo->snap_every = c->snap_every;
	bo->quiet = o->quiet;
}

static double wall(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static int run_feed(int argc, char **argv)
{
	struct conf c;
	struct pl_opts o;
	pl_opts_default(&o, "cluster feed");
	struct pl_inputs *in = pl_inputs_new();
	if (!in)
		return EXIT_FAILURE_;
	int rc = role_opts(argc, argv, &c, &o, in, NULL, 1);
	if (!rc && !pl_inputs_finish(in, o.from, o.to)) {
		fprintf(stderr, "darkmap cluster feed: no input files\n");
		rc = EXIT_USAGE;
	}
	if (rc) {
		pl_inputs_free(in);
		return rc;
	}
	struct cl_bus_opts bo;
	bus_opts(&c, &bo, &o);
	int64_t when = o.from ? o.from : pl_inputs_first_time(in);
	struct dm_error err;
	memset(&err, 0, sizeof err);
	int status;
	double t0 = wall();
	struct pipeline *feed = cl_feeder_new(&o, when, &status);
	struct cl_rfeed *f = feed ? cl_rfeed_new(&bo, when, &err) : NULL;
	struct cl_cut *cut = f ? cl_cut_new(bo.nparts, o.sig.bin, pl_rib(feed), cl_rfeed_send, f) : NULL;
	if (!cut) {
		fprintf(stderr, "darkmap cluster feed: %s\n", err.what[0] ? err.what : "cannot start");
		cl_rfeed_free(f);
		if (feed)
			pl_finish(feed);
		pl_inputs_free(in);
		return EXIT_FAILURE_;
	}
	struct pl_tap tap;
	cl_cut_tap(cut, &tap);
	pl_set_tap(feed, &tap);
	pl_replay(feed, in);
	rc = pl_finish(feed);
	struct cl_bus_stats st;
	memset(&st, 0, sizeof st);
	if (cl_rfeed_finish(f, cl_cut_barriers(cut), &st, &err)) {
		fprintf(stderr, "darkmap cluster feed: %s\n", err.what);
		rc = EXIT_FAILURE_;
	}
	fprintf(stderr, "cluster feed: %llu messages to %u partitions (%u barriers), %llu redis commands in %.2f s\n",
	        (unsigned long long)st.messages, bo.nparts, cl_cut_barriers(cut), (unsigned long long)st.bus_commands,
	        wall() - t0);
	if (st.failover_s > 0)
		fprintf(stderr, "cluster feed: %.2f s waiting for a Redis failover\n", st.failover_s);
	cl_cut_free(cut);
	cl_rfeed_free(f);
	pl_inputs_free(in);
	return rc;
}

static int run_worker(int argc, char **argv)
{
	struct conf c;
	struct pl_opts o;
	pl_opts_default(&o, "cluster worker");
	uint32_t id = 0;
	int rc = role_opts(argc, argv, &c, &o, NULL, &id, 1);
	if (rc)
		return rc;
	struct cl_bus_opts bo;
	bus_opts(&c, &bo, &o);
	bo.id = id % bo.workers;
	struct cl_bus_stats st;
	memset(&st, 0, sizeof st);
	struct dm_error err;
	memset(&err, 0, sizeof err);
	double t0 = wall();
	if (cl_rworker_run(&bo, &o, &st, &err)) {
		fprintf(stderr, "darkmap cluster worker %u: %s\n", id, err.what);
		return EXIT_FAILURE_;
	}
	fprintf(stderr,
	        "cluster worker %u: %llu messages, %llu elements, %llu barriers, %llu skipped, %llu taken over "
	        "(%llu messages replayed in %.2f s), %llu redis commands in %.2f s\n",
	        id, (unsigned long long)st.messages, (unsigned long long)st.elements, (unsigned long long)st.barriers,
	        (unsigned long long)st.bad, (unsigned long long)st.takeovers, (unsigned long long)st.rebuilt_msgs,
	        st.rebuild_s, (unsigned long long)st.bus_commands, wall() - t0);
	if (st.failover_s > 0)
		fprintf(stderr, "cluster worker %u: %.2f s waiting for a Redis failover\n", id, st.failover_s);
	if (st.snapshots || st.snap_loaded || st.snap_refused)
		fprintf(stderr,
		        "cluster worker %u: %llu snapshots written (%.3f s, largest %llu bytes), %llu stream entries "
		        "trimmed; %llu loaded at takeovers, %llu refused; %llu trims not done (the lease another's)\n",
		        id, (unsigned long long)st.snapshots, st.snap_s, (unsigned long long)st.snap_bytes,
		        (unsigned long long)st.trimmed, (unsigned long long)st.snap_loaded,
		        (unsigned long long)st.snap_refused, (unsigned long long)st.trim_refused);
	return st.bad ? EXIT_DATA_ERRORS : EXIT_OK;
}

struct merge_ctx {
	struct pl_opts *o;
	int status;
};

static struct pipeline *merge_out(void *arg, int64_t when)
{
	struct merge_ctx *m = arg;
	struct dm_error err;
	memset(&err, 0, sizeof err);
	struct pipeline *p = pl_new(m->o, when, &m->status, &err);
	if (!p && err.what[0])
		fprintf(stderr, "darkmap cluster merge: %s\n", err.what);
	return p;
}

static int run_merge(int argc, char **argv)
{
	struct conf c;
	struct pl_opts o;
	pl_opts_default(&o, "cluster merge");
	int rc = role_opts(argc, argv, &c, &o, NULL, NULL, 1);
	if (rc)
		return rc;
	struct cl_bus_opts bo;
	bus_opts(&c, &bo, &o);
	struct merge_ctx mc = { &o, EXIT_FAILURE_ };
	struct pipeline *out = NULL;
	struct cl_bus_stats st;
	memset(&st, 0, sizeof st);
	struct dm_error err;
	memset(&err, 0, sizeof err);
	double t0 = wall();
	rc = cl_rmerge_run(&bo, merge_out, &mc, &out, &st, &err);
	if (rc)
		fprintf(stderr, "darkmap cluster merge: %s\n", err.what);
	fprintf(stderr, "cluster merge: %llu messages, %llu barriers, %llu rows, %llu skipped, %llu redis commands in %.2f s\n",
		        (unsigned long long)st.messages, (unsigned long long)st.barriers, (unsigned long long)st.elements,
		        (unsigned long long)st.bad, (unsigned long long)st.bus_commands, wall() - t0);
	if (st.failover_s > 0)
		fprintf(stderr, "cluster merge: %.2f s waiting for a Redis failover\n", st.failover_s);
	if (st.resumed)
		fprintf(stderr, "cluster merge: resumed after %u stored barriers, merged again from the bus in %.2f s\n",
		        st.resumed, st.rebuild_s);
	int prc = out ? pl_finish(out) : mc.status;
	return rc ? EXIT_FAILURE_ : prc;
}

/* ---- backfill ---- */

static int bf_common(int argc, char **argv, const char **pg, const char **run, char **rest, int *nrest)
{
	*nrest = 0;
	rest[(*nrest)++] = argv[1];
	for (int i = 2; i < argc; i++) {
		if ((!strcmp(argv[i], "--pg") || !strcmp(argv[i], "--run")) && i + 1 < argc) {
			*(argv[i][2] == 'p' ? pg : run) = argv[i + 1];
			i++;
		} else {
			rest[(*nrest)++] = argv[i];
		}
	}
	if (!*pg || !*run) {
		fprintf(stderr, "darkmap cluster %s: --pg URI and --run NAME are needed\n", argv[1]);
		return EXIT_USAGE;
	}
	return 0;
}

static int take_u32(char **rest, int *n, int i, uint32_t *v, uint32_t lo, uint32_t hi)
{
	if (i + 1 >= *n)
		return -1;
	char *end;
	unsigned long x = strtoul(rest[i + 1], &end, 10);
	if (*end || x < lo || x > hi)
		return -1;
	*v = (uint32_t)x;
	memmove(rest + i, rest + i + 2, (size_t)(*n - i - 2) * sizeof *rest);
	*n -= 2;
	return 0;
}

static int run_backfill(int argc, char **argv)
{
	const char *pg = NULL, *run = NULL, *snaps = NULL;
	char **rest = calloc((size_t)argc + 1, sizeof *rest);
	int n = 0;
	if (!rest)
		return EXIT_FAILURE_;
	int rc = bf_common(argc, argv, &pg, &run, rest, &n);
	uint32_t ranges = 4, workers = 2, hb = 10000, nparts = 16;
	for (int i = 1; !rc && i < n;) {
		const char *a = rest[i];
		int r = 1;
		if (!strcmp(a, "--ranges"))
			r = take_u32(rest, &n, i, &ranges, 1, 100000);
		else if (!strcmp(a, "--workers"))
			r = take_u32(rest, &n, i, &workers, 1, CL_MAX_PARTS);
		else if (!strcmp(a, "--heartbeat-ms"))
			r = take_u32(rest, &n, i, &hb, 100, 86400000);
		else if (!strcmp(a, "--snapshots") && i + 1 < n) {
			snaps = rest[i + 1];
			memmove(rest + i, rest + i + 2, (size_t)(n - i - 2) * sizeof *rest);
			n -= 2;
			r = 0;
		} else {
			i++;
			continue;
		}
		if (r) {
			fprintf(stderr, "darkmap cluster backfill: %s wants a number (or a directory)\n", a);
			rc = EXIT_USAGE;
		}
	}
	if (!rc && !snaps) {
		fprintf(stderr, "darkmap cluster backfill: --snapshots DIR is needed (a directory every worker reads)\n");
		rc = EXIT_USAGE;
	}
	struct pl_opts o;
	pl_opts_default(&o, "cluster backfill");
	struct pl_inputs *in = pl_inputs_new();
	if (!rc)
		rc = in ? parse(n, rest, 1, &o, in, &nparts) : EXIT_FAILURE_;
	if (rc) {
		pl_inputs_free(in);
		free(rest);
		return rc < 0 ? EXIT_OK : rc;
	}
	/* the options and inputs every worker parses again: inputs (and any existing path) absolute */
	size_t cap = 4096, len = 0;
	char *args = malloc(cap);
	char sdir[PATH_MAX];
	if (!realpath(snaps, sdir))
		snprintf(sdir, sizeof sdir, "%s", snaps);
	for (int i = 1; args && i < n; i++) {
		char abs[PATH_MAX];
		struct stat stt;
		const char *a = rest[i];
		if (a[0] != '-' && !stat(a, &stt) && realpath(a, abs))
			a = abs;
		size_t l = strlen(a);
		if (len + l + 2 > cap) {
			char *g = realloc(args, cap = 2 * (len + l + 2));
			if (!g) {
				free(args);
				args = NULL;
				break;
			}
			args = g;
		}
		memcpy(args + len, a, l);
		len += l;
		args[len++] = '\n';
		args[len] = 0;
	}
	if (!args || !len) {
		pl_inputs_free(in);
		free(rest);
		free(args);
		return EXIT_FAILURE_;
	}
	args[len - 1] = 0;
	int64_t first = pl_inputs_first_time(in), last = pl_inputs_last_time(in);
	int64_t bin = o.sig.bin ? o.sig.bin : 300;
	int64_t start = first - (first % bin + bin) % bin;
	int64_t step = ranges > 1 ? ((last - first) / ranges + bin - 1) / bin * bin : 0;
	if (step <= 0)
		ranges = 1;
	int64_t *t_to = calloc(ranges, sizeof *t_to);
	for (uint32_t g = 0; t_to && g + 1 < ranges; g++)
		t_to[g] = start + (int64_t)(g + 1) * step;
	struct dm_error err;
	memset(&err, 0, sizeof err);
	int64_t when = o.from ? o.from : first;
	struct cl_bf_run br = { nparts, workers, ranges, hb, t_to, sdir, args };
	struct cl_bf *b = t_to ? cl_bf_connect(pg, run, &err) : NULL;
	int status = EXIT_FAILURE_;
	struct pipeline *out = NULL;
	double t0 = wall();
	struct cl_bf_stats st;
	memset(&st, 0, sizeof st);
	char *stored = NULL;
	int bad = !b || cl_bf_create(b, &br, &err) || cl_bf_load(b, &stored, &err);
	free(stored);
	if (bad) {
		fprintf(stderr, "darkmap cluster backfill: %s\n", err.what[0] ? err.what : "out of memory");
		goto out;
	}
	if (!o.quiet)
		fprintf(stderr, "cluster backfill: run %s: %u ranges x %u partitions = %u jobs in %s; start the workers: "
		        "darkmap cluster backfill-worker --pg URI --run %s\n", run, ranges, nparts, ranges * nparts, pg, run);
	out = pl_new(&o, when, &status, &err);
	if (!out) {
		if (err.what[0])
			fprintf(stderr, "darkmap cluster backfill: %s\n", err.what);
		goto out;
	}
	if (cl_bf_merge(b, out, &st, &err)) {
		fprintf(stderr, "darkmap cluster backfill: %s\n", err.what);
		pl_finish(out);
		status = EXIT_FAILURE_;
		goto out;
	}
	fprintf(stderr, "cluster backfill: %llu barriers, %llu rows merged in %.2f s\n", (unsigned long long)st.barriers,
	        (unsigned long long)st.rows, wall() - t0);
	status = pl_finish(out);
out:
	cl_bf_free(b);
	free(t_to);
	free(args);
	pl_inputs_free(in);
	free(rest);
	return status;
}

static int run_backfill_worker(int argc, char **argv)
{
	const char *pg = NULL, *run = NULL;
	char **rest = calloc((size_t)argc + 1, sizeof *rest);
	int n = 0;
	if (!rest)
		return EXIT_FAILURE_;
	int rc = bf_common(argc, argv, &pg, &run, rest, &n);
	uint32_t passes = 0;
	int quiet = 0;
	for (int i = 1; !rc && i < n; i++) {
		if (!strcmp(rest[i], "--passes") && !take_u32(rest, &n, i, &passes, 1, 1u << 30))
			i--;
		else if (!strcmp(rest[i], "-q"))
			quiet = 1;
		else {
			fprintf(stderr, "darkmap cluster backfill-worker: unknown option %s\n", rest[i]);
			rc = EXIT_USAGE;
		}
	}
	free(rest);
	if (rc)
		return rc;
	struct dm_error err;
	memset(&err, 0, sizeof err);
	char *args = NULL;
	struct cl_bf *b = cl_bf_connect(pg, run, &err);
	if (!b || cl_bf_load(b, &args, &err)) {
		fprintf(stderr, "darkmap cluster backfill-worker: %s\n", err.what);
		cl_bf_free(b);
		return EXIT_FAILURE_;
	}
	/* the run's options and inputs, as the backfill was given them */
	char **av = calloc(strlen(args) + 2, sizeof *av);
	int ac = 0;
	av[ac++] = "backfill-worker";
	for (char *save = NULL, *t = strtok_r(args, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
		av[ac++] = t;
	struct pl_opts o;
	pl_opts_default(&o, "cluster backfill-worker");
	struct pl_inputs *in = pl_inputs_new();
	uint32_t nparts = 16;
	rc = in ? parse(ac, av, 1, &o, in, &nparts) : EXIT_FAILURE_;
	o.quiet = quiet;
	struct cl_bf_stats st;
	memset(&st, 0, sizeof st);
	double t0 = wall();
	if (!rc) {
		int64_t when = o.from ? o.from : pl_inputs_first_time(in);
		if (cl_bf_work(b, &o, in, when, passes, &st, &err)) {
			fprintf(stderr, "darkmap cluster backfill-worker: %s\n", err.what);
			rc = EXIT_FAILURE_;
		}
		fprintf(stderr,
		        "cluster backfill-worker: %llu jobs, %llu elements, %llu barriers, %llu skipped, %llu taken over, "
		        "%llu snapshots written (%llu bytes, %.3f s), %llu loaded, %llu refused; %.2f s waiting at "
		        "barriers, %.2f s in all\n",
		        (unsigned long long)st.jobs, (unsigned long long)st.elements, (unsigned long long)st.barriers,
		        (unsigned long long)st.bad, (unsigned long long)st.takeovers, (unsigned long long)st.snapshots,
		        (unsigned long long)st.snap_bytes, st.snap_s, (unsigned long long)st.snap_loaded,
		        (unsigned long long)st.snap_refused, st.wait_s, wall() - t0);
	}
	pl_inputs_free(in);
	free(av);
	free(args);
	cl_bf_free(b);
	return rc < 0 ? EXIT_OK : rc ? rc : st.bad ? EXIT_DATA_ERRORS : EXIT_OK;
}

int cmd_cluster(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf(usage_text, pl_opts_usage);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (!strcmp(argv[1], "local"))
		return run_local(argc, argv);
	if (!strcmp(argv[1], "feed"))
		return run_feed(argc, argv);
	if (!strcmp(argv[1], "worker"))
		return run_worker(argc, argv);
	if (!strcmp(argv[1], "merge"))
		return run_merge(argc, argv);
	if (!strcmp(argv[1], "backfill"))
		return run_backfill(argc, argv);
	if (!strcmp(argv[1], "backfill-worker"))
		return run_backfill_worker(argc, argv);
	fprintf(stderr, "darkmap cluster: unknown role %s (local, feed, worker, merge, backfill, backfill-worker)\n", argv[1]);
	return EXIT_USAGE;
}
