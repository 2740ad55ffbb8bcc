/* Backfill over PostgreSQL (backfill.c; docs/scale.md "Backfill"): (time range x partition)
 * jobs claimed with FOR UPDATE SKIP LOCKED and kept by a heartbeat, each range started from the
 * exact snapshots the range before wrote, the two-phase barrier and the merge through a table. */
#ifndef DM_CLUSTER_BACKFILL_H
#define DM_CLUSTER_BACKFILL_H

#include "cluster/cluster.h"

struct cl_bf;
struct cl_bf_run {
	uint32_t nparts, workers, nranges, hb_ms;
	const int64_t *t_to;         /* range g < nranges - 1 ends at the barrier of the bin at t_to[g] */
	const char *snap_dir;        /* where the jobs write and read snapshots (every worker reads it) */
	const char *args;            /* the replay options and inputs, one a line */
};
struct cl_bf_stats {
	uint64_t jobs, barriers, elements, bad, takeovers, snapshots, snap_bytes, snap_loaded, snap_refused;
	uint64_t messages, rows;     /* the merger's */
	double snap_s, wait_s, pass_s;
};

struct cl_bf *cl_bf_connect(const char *uri, const char *run, struct dm_error *err);
void cl_bf_free(struct cl_bf *b);
/* Creates the tables (when missing), the run and its jobs; the run must be new. 0 or -1. */
int cl_bf_create(struct cl_bf *b, const struct cl_bf_run *run, struct dm_error *err);
/* Reads the run's parameters; *args (malloc'ed) the options and inputs, one a line. 0 or -1. */
int cl_bf_load(struct cl_bf *b, char **args, struct dm_error *err);
/* A worker: claims jobs until every job of the run is done (or max_passes ranges were read,
 * 0: no limit). o and in: the run's options and inputs, when the mapping's date. 0 or -1. */
int cl_bf_work(struct cl_bf *b, const struct pl_opts *o, const struct pl_inputs *in, int64_t when,
               uint32_t max_passes, struct cl_bf_stats *st, struct dm_error *err);
/* The merger: every barrier's sizes and rows, in order, into out, until the run is done. */
int cl_bf_merge(struct cl_bf *b, struct pipeline *out, struct cl_bf_stats *st, struct dm_error *err);

#endif
