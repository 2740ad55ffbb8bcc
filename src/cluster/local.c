/* Every partition and the merger in one process: the exactness test and `darkmap cluster
 * local`. The cut's messages are applied as they are sent; a barrier runs its two phases over
 * every partition at once. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cluster/cluster_impl.h"

struct cl_local {
	uint32_t n;
	struct cl_part **parts;
	struct cl_merge *m;
	struct cl_buf sz, sums, rows;
	uint64_t bad;
	int failed;
	struct dm_error err;
};

struct cl_local *cl_local_new(uint32_t nparts, const struct pl_opts *o, struct geo_db *geo, struct pipeline *out)
{
	struct cl_local *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->n = nparts ? nparts : 1;
	l->parts = calloc(l->n, sizeof *l->parts);
	l->m = cl_merge_new(l->n, out);
	int ok = l->parts && l->m;
	for (uint32_t i = 0; ok && i < l->n; i++)
		ok = (l->parts[i] = cl_part_new(i, o, geo)) != NULL;
	if (!ok) {
		cl_local_free(l);
		return NULL;
	}
	return l;
}

void cl_local_free(struct cl_local *l)
{
	if (!l)
		return;
	for (uint32_t i = 0; l->parts && i < l->n; i++)
		cl_part_free(l->parts[i]);
	free(l->parts);
	cl_merge_free(l->m);
	cl_buf_free(&l->sz);
	cl_buf_free(&l->sums);
	cl_buf_free(&l->rows);
	free(l);
}

uint64_t cl_local_bad(const struct cl_local *l) { return l->bad; }

int cl_local_failed(const struct cl_local *l, struct dm_error *err)
{
	if (l->failed && err)
		*err = l->err;
	return l->failed ? -1 : 0;
}

static void fail(struct cl_local *l, const struct dm_error *e)
{
	if (!l->failed)
		l->err = *e;
	l->failed = 1;
}

void cl_local_send(void *arg, uint32_t part, const uint8_t *msg, size_t len)
{
	struct cl_local *l = arg;
	if (l->failed)
		return;
	struct cl_barrier b;
	struct dm_error e;
	int barrier = 0;
	for (uint32_t i = 0; i < l->n; i++) {
		if (part != CL_ALL && part != i)
			continue;
		memset(&e, 0, sizeof e);
		int r = cl_part_apply(l->parts[i], msg, len, &b, &e);
		if (r < 0) {
			l->bad++;
			dm_log("cluster: %s", e.what);
		}
		barrier |= r == 1;
	}
	if (!barrier)
		return;
	int sums = 0;
	for (uint32_t i = 0; i < l->n; i++) {
		cl_part_sizes(l->parts[i], &b, &l->sz);
		int r = cl_merge_sizes(l->m, l->sz.p, l->sz.n, &l->sums, &e);
		if (r < 0)
			return fail(l, &e);
		sums |= r == 1;
	}
	if (!sums) {
		dm_fail(&e, DM_ERR_BAD_VALUE, 0, "cluster: barrier %u: the merger has not every partition's sizes", b.seq);
		return fail(l, &e);
	}
	for (uint32_t i = 0; i < l->n; i++) {
		if (cl_part_close(l->parts[i], &b, l->sums.p, l->sums.n, &l->rows, &e) ||
		    cl_merge_rows(l->m, l->rows.p, l->rows.n, &e) < 0)
			return fail(l, &e);
	}
}

struct pipeline *cl_pipeline_bare(const struct pl_opts *o, const char *name, int feeder, int64_t when, int *status,
                                  struct dm_error *err)
{
	struct pl_opts q = *o;
	q.name = name;
	q.db_path = NULL;
	q.csv = 0;
	q.quality_path = q.changes_path = NULL;
	q.detect = 0;
	q.quiet = 1;
	if (feeder) {   /* it only reads: the partitions map and select */
		q.no_geo = 1;
		q.ncc = q.nasn = 0;
		q.rows_countries = 0;
	}
	return pl_new(&q, when, status, err);
}
