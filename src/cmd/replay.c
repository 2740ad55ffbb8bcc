/* darkmap replay: RIB dumps + update files of one or many collectors -> the pipeline
 * (src/pipeline: routing state, the per-bin visibility series of every country, origin AS and
 * the world, optionally detection as bins close), written to SQLite (--db) and/or printed as CSV
 * (--csv). This file parses the options; docs/replay.md is the manual. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/time.h"
#include "cmd/cmds.h"
#include "pipeline/pipeline.h"

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
	"  --cluster URI      backfill on several machines: the same as `darkmap cluster backfill\n"
	"                     --pg URI` with the other arguments (--run NAME --snapshots DIR\n"
	"                     [--ranges N] [--parts N] ...); workers: `darkmap cluster\n"
	"                     backfill-worker --pg URI --run NAME` (docs/scale.md \"Backfill\")\n"
	"%s"
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

static void usage(FILE *f)
{
	fprintf(f, usage_text, pl_opts_usage);
}

/* replay --cluster URI ...: the backfill role of darkmap cluster, which takes replay's options
 * and inputs, with the PostgreSQL URI as its --pg */
static int replay_cluster(int argc, char **argv, int at)
{
	if (at + 1 >= argc) {
		fprintf(stderr, "darkmap replay: --cluster wants the PostgreSQL URI of the backfill's job table\n");
		return EXIT_USAGE;
	}
	char **av = calloc((size_t)argc + 3, sizeof *av);
	if (!av)
		return EXIT_FAILURE_;
	int n = 0;
	av[n++] = "cluster";
	av[n++] = "backfill";
	av[n++] = "--pg";
	av[n++] = argv[at + 1];
	for (int i = 1; i < argc; i++)
		if (i != at && i != at + 1)
			av[n++] = argv[i];
	int rc = cmd_cluster(n, av);
	free(av);
	return rc;
}

int cmd_replay(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--cluster"))
			return replay_cluster(argc, argv, i);
	struct pl_opts o;
	pl_opts_default(&o, "replay");
	o.exit_after = 1;   /* cmd_replay returns to main, which exits */
	struct pl_inputs *in = pl_inputs_new();
	if (!in) {
		fprintf(stderr, "darkmap replay: out of memory\n");
		return EXIT_FAILURE_;
	}
	int rc = EXIT_OK;
	char why[512];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int r = pl_opts_parse(&o, argc, argv, &i, why, sizeof why);
		if (r == -2) {
			fprintf(stderr, "darkmap replay: %s\n", why);
			usage(stderr);
			pl_inputs_free(in);
			return EXIT_USAGE;
		}
		if (r < 0) {
			fprintf(stderr, "darkmap replay: %s\n", why);
			pl_inputs_free(in);
			return EXIT_USAGE;
		}
		if (r == 1)
			continue;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			pl_inputs_free(in);
			return EXIT_OK;
		}
		if (!strcmp(a, "--rib") || !strcmp(a, "--synthetic-table") || !strcmp(a, "--synthetic-time") ||
		    !strcmp(a, "--synthetic-peers")) {
			if (!v) {
				fprintf(stderr, "darkmap replay: %s needs a value\n", a);
				usage(stderr);
				pl_inputs_free(in);
				return EXIT_USAGE;
			}
			i++;
		}
		if (!strcmp(a, "--rib")) {
			pl_inputs_add(in, v, 1);
		} else if (!strcmp(a, "--synthetic-table")) {
			o.synth = v;
		} else if (!strcmp(a, "--synthetic-time")) {
			if (dm_time_parse(v, &o.synth_time)) {
				fprintf(stderr, "darkmap replay: --synthetic-time %s: want unix seconds or YYYY-MM-DD[THH:MM[:SS]]\n", v);
				pl_inputs_free(in);
				return EXIT_USAGE;
			}
		} else if (!strcmp(a, "--synthetic-peers")) {
			o.synth_peers = (uint32_t)strtoul(v, NULL, 10);
			if (o.synth_peers < 1 || o.synth_peers > 4096) {
				fprintf(stderr, "darkmap replay: --synthetic-peers %s: want 1..4096\n", v);
				pl_inputs_free(in);
				return EXIT_USAGE;
			}
		} else if (!strcmp(a, "--decode-only")) {   /* benchmark aid: decode, no RIB */
			o.decode_only = 1;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "darkmap replay: unknown option %s\n", a);
			usage(stderr);
			pl_inputs_free(in);
			return EXIT_USAGE;
		} else if (pl_inputs_add(in, a, 0)) {
			fprintf(stderr, "darkmap replay: %s: %s\n", a, strerror(errno));
			rc = EXIT_DATA_ERRORS;
		}
	}
	if (pl_opts_check(&o, why, sizeof why)) {
		fprintf(stderr, "darkmap replay: %s\n", why);
		pl_inputs_free(in);
		return EXIT_USAGE;
	}
	size_t n = pl_inputs_finish(in, o.from, o.to);
	if (!n && !o.synth) {
		fprintf(stderr, "darkmap replay: no input files%s\n", pl_inputs_dirs(in) ? " in the time range" : "");
		usage(stderr);
		pl_inputs_free(in);
		return EXIT_USAGE;
	}
	/* The mapping of the data's time: --from, else the earliest archive date in the file names */
	int64_t when = o.from ? o.from : pl_inputs_first_time(in);
	struct dm_error err;
	memset(&err, 0, sizeof err);
	int status;
	struct pipeline *p = pl_new(&o, when, &status, &err);
	if (!p) {
		if (err.what[0])
			fprintf(stderr, "darkmap replay: %s\n", err.what);
		pl_inputs_free(in);
		return status;
	}
	pl_replay(p, in);
	int prc = pl_finish(p);
	pl_inputs_free(in);
	return prc != EXIT_OK ? prc : rc;
}
