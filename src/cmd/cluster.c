/* darkmap cluster: the scale-out of docs/scale.md. Roles:
 *   local   every partition and the merger in this process (what the exactness test runs)
 * The Redis Streams roles (feed, worker, merge) are in cluster_redis.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster.h"
#include "cmd/cmds.h"

static const char usage_text[] =
	"usage: darkmap cluster local [--parts N] [replay options] INPUTS...\n"
	"\n"
	"Replays like `darkmap replay`, with the elements cut by address range into N partitions\n"
	"(IPv4 /8, IPv6 /16 buckets; partition 0 takes shorter prefixes and the records), each with\n"
	"its own RIB and signal, and their per-bin partial results merged: the rows, changes and\n"
	"events are those one process gives (docs/scale.md says why, and how the roles of a real\n"
	"cluster split this over machines).\n"
	"  --parts N          partitions (default 16, 1..4096)\n"
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
	struct pl_opts fo = *o;
	fo.name = "cluster feed";
	fo.db_path = NULL;
	fo.csv = 0;
	fo.quality_path = fo.changes_path = NULL;
	fo.detect = 0;
	fo.no_geo = 1;
	fo.ncc = fo.nasn = 0;
	fo.rows_countries = 0;
	fo.quiet = 1;
	struct dm_error err;
	memset(&err, 0, sizeof err);
	struct pipeline *p = pl_new(&fo, when, status, &err);
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

int cmd_cluster(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf(usage_text, pl_opts_usage);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (!strcmp(argv[1], "local"))
		return run_local(argc, argv);
	fprintf(stderr, "darkmap cluster: unknown role %s (local)\n", argv[1]);
	return EXIT_USAGE;
}
