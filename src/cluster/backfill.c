/* Backfill (docs/scale.md "Backfill"): a long period cut into (time range x partition) jobs in
 * a PostgreSQL table, claimed by workers on any machine with FOR UPDATE SKIP LOCKED and kept by
 * a heartbeat. Each worker reads the archives of its range itself (the whole input list is
 * every job's: the pipeline then numbers collectors and orders streams as one process does)
 * and keeps only its partitions' messages.
 *
 * A range starts exactly where the one before stopped: the job of range R-1 runs until the
 * barrier that opens R's first bin, closes it, and writes each partition's exact snapshot
 * (cl_part_snapshot) and, once per range, the feeder's state: the cut's (collector names,
 * peers and their sessions, clock, barrier count) and every update stream's position (the
 * record that was next). Range R's jobs load them and go on: the same messages follow as in
 * one continuous run, so the rows are the same. The first range starts fresh (its RIBs).
 *
 * The two-phase barrier needs every partition of a barrier: each job puts its partitions'
 * sizes (and later rows) into bf_msgs, keyed (run, barrier, partition, kind), and waits until
 * the sizes of every partition of that barrier are there; each computes the same sums from
 * them. A job run twice (its worker died, or its successor's snapshot was unusable) puts the
 * same bytes again: ON CONFLICT DO NOTHING. The merger (the process that made the run) reads
 * bf_msgs barrier by barrier, in order, once every partition's rows are in. */
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/snapbuf.h"
#include "cluster/backfill.h"
#include "cluster/cluster_impl.h"

struct cl_bf {
	PGconn *c;
	char run[64];
	char me[128];                /* this worker: host:pid */
	uint32_t nparts, workers, nranges, hb_ms;
	char snap_dir[1024];
	int quiet;
};

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void nap_ms(unsigned ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&t, NULL);
}

/* One statement; params text except those whose len[i] > 0 (binary); binary results when
 * bin. NULL on failure (err). */
static PGresult *q(struct cl_bf *b, const char *sql, int n, const char *const *v, const int *len, int bin,
                   struct dm_error *err)
{
	int fmt[8] = { 0 };
	for (int i = 0; i < n && i < 8; i++)
		fmt[i] = len && len[i] > 0;
	PGresult *r = PQexecParams(b->c, sql, n, NULL, v, len, fmt, bin);
	ExecStatusType st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	dm_fail(err, DM_ERR_IO, 0, "backfill: PostgreSQL: %s", r ? PQresultErrorMessage(r) : PQerrorMessage(b->c));
	PQclear(r);
	return NULL;
}

static int exec(struct cl_bf *b, const char *sql, int n, const char *const *v, const int *len, struct dm_error *err)
{
	PGresult *r = q(b, sql, n, v, len, 0, err);
	PQclear(r);
	return r ? 0 : -1;
}

static uint32_t bin_u32(const PGresult *r, int row, int col)
{
	const uint8_t *p = (const uint8_t *)PQgetvalue(r, row, col);
	return PQgetlength(r, row, col) == 4 ? (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3] : 0;
}

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS bf_runs (run text PRIMARY KEY, nparts int NOT NULL, workers int NOT NULL,"
	" nranges int NOT NULL, heartbeat_ms int NOT NULL, snapshots text NOT NULL, args text NOT NULL,"
	" created timestamptz NOT NULL DEFAULT now());"
	"CREATE TABLE IF NOT EXISTS bf_jobs (run text NOT NULL, rng int NOT NULL, part int NOT NULL,"
	" t_to bigint NOT NULL,"                      /* the range ends at the barrier of this bin (0: at the finish) */
	" state text NOT NULL,"                       /* wait, ready, running, done */
	" worker text, heartbeat timestamptz, tries int NOT NULL DEFAULT 0,"
	" snap_in text, seq_in int,"                  /* the snapshot it starts from, written at barrier seq_in */
	" seq_out int,"                               /* the barrier it stopped at */
	" PRIMARY KEY (run, rng, part));"
	"CREATE TABLE IF NOT EXISTS bf_feed (run text NOT NULL, rng int NOT NULL, state bytea NOT NULL,"
	" PRIMARY KEY (run, rng));"
	"CREATE TABLE IF NOT EXISTS bf_msgs (run text NOT NULL, seq int NOT NULL, part int NOT NULL,"
	" kind \"char\" NOT NULL, msg bytea NOT NULL, PRIMARY KEY (run, seq, kind, part));";

struct cl_bf *cl_bf_connect(const char *uri, const char *run, struct dm_error *err)
{
	struct cl_bf *b = calloc(1, sizeof *b);
	if (!b) {
		dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
		return NULL;
	}
	snprintf(b->run, sizeof b->run, "%s", run);
	char host[64] = "";
	gethostname(host, sizeof host - 1);
	snprintf(b->me, sizeof b->me, "%s:%ld", host, (long)getpid());
	b->c = PQconnectdb(uri);
	if (PQstatus(b->c) != CONNECTION_OK) {
		dm_fail(err, DM_ERR_IO, 0, "backfill: %s: %s", uri, PQerrorMessage(b->c));
		cl_bf_free(b);
		return NULL;
	}
	PGresult *r = PQexec(b->c, "SET client_min_messages = warning");
	PQclear(r);
	return b;
}

void cl_bf_free(struct cl_bf *b)
{
	if (!b)
		return;
	if (b->c)
		PQfinish(b->c);
	free(b);
}

int cl_bf_create(struct cl_bf *b, const struct cl_bf_run *run, struct dm_error *err)
{
	PGresult *r = PQexec(b->c, schema);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		dm_fail(err, DM_ERR_IO, 0, "backfill: creating the tables: %s", PQresultErrorMessage(r));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	char np[16], nw[16], nr[16], hb[16];
	snprintf(np, sizeof np, "%u", run->nparts);
	snprintf(nw, sizeof nw, "%u", run->workers);
	snprintf(nr, sizeof nr, "%u", run->nranges);
	snprintf(hb, sizeof hb, "%u", run->hb_ms);
	if (exec(b, "BEGIN", 0, NULL, NULL, err))
		return -1;
	const char *v[7] = { b->run, np, nw, nr, hb, run->snap_dir, run->args };
	r = q(b, "INSERT INTO bf_runs (run, nparts, workers, nranges, heartbeat_ms, snapshots, args) "
	         "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING 1", 7, v, NULL, 0, err);
	if (!r)
		goto fail;
	int fresh = PQntuples(r) == 1;
	PQclear(r);
	if (!fresh) {
		dm_fail(err, DM_ERR_BAD_VALUE, 0, "backfill: run %s exists in this database: give another --run", b->run);
		goto fail;
	}
	for (uint32_t g = 0; g < run->nranges; g++)
		for (uint32_t k = 0; k < run->nparts; k++) {
			char rg[16], pk[16], to[32];
			snprintf(rg, sizeof rg, "%u", g);
			snprintf(pk, sizeof pk, "%u", k);
			snprintf(to, sizeof to, "%lld", (long long)(g + 1 < run->nranges ? run->t_to[g] : 0));
			const char *jv[5] = { b->run, rg, pk, to, g ? "wait" : "ready" };
			if (exec(b, "INSERT INTO bf_jobs (run, rng, part, t_to, state) VALUES ($1, $2, $3, $4, $5)", 5, jv,
			         NULL, err))
				goto fail;
		}
	return exec(b, "COMMIT", 0, NULL, NULL, err);
fail:
	r = PQexec(b->c, "ROLLBACK");
	PQclear(r);
	return -1;
}

int cl_bf_load(struct cl_bf *b, char **args, struct dm_error *err)
{
	const char *v[1] = { b->run };
	PGresult *r = q(b, "SELECT nparts, workers, nranges, heartbeat_ms, snapshots, args FROM bf_runs WHERE run = $1", 1,
	                v, NULL, 0, err);
	if (!r)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return dm_fail(err, DM_ERR_BAD_VALUE, 0, "backfill: no run %s in this database", b->run);
	}
	b->nparts = (uint32_t)atoi(PQgetvalue(r, 0, 0));
	b->workers = (uint32_t)atoi(PQgetvalue(r, 0, 1));
	b->nranges = (uint32_t)atoi(PQgetvalue(r, 0, 2));
	b->hb_ms = (uint32_t)atoi(PQgetvalue(r, 0, 3));
	snprintf(b->snap_dir, sizeof b->snap_dir, "%s", PQgetvalue(r, 0, 4));
	*args = strdup(PQgetvalue(r, 0, 5));
	PQclear(r);
	if (!*args)
		return dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
	if (!b->nparts || b->nparts > CL_MAX_PARTS || !b->workers || !b->nranges || b->hb_ms < 100)
		return dm_fail(err, DM_ERR_BAD_VALUE, 0, "backfill: run %s: bad parameters", b->run);
	return 0;
}

/* ---------------- the worker ---------------- */

struct job {
	uint32_t part;
	char snap_in[1024];
	int32_t seq_in;
	struct cl_part *p;
};

struct pass {
	struct cl_bf *b;
	const struct pl_opts *o;
	struct geo_db *geo;
	uint32_t rng;
	int64_t t_to;                /* the range ends at the barrier of this bin (0: the finish) */
	struct job *jobs;
	uint32_t njobs, capjobs;
	struct pipeline *feed;
	struct cl_cut *cut;
	struct cl_merge *sums;       /* sums only: out NULL */
	struct cl_buf sz, sm, rows;
	double next_hb;
	uint64_t nmsg;
	int ended, failed, restart;
	int yielded;                 /* its jobs handed back for an earlier range's (barrier) */
	struct dm_error err;
	struct cl_bf_stats *st;
	const struct pl_inputs *in; /* the run's inputs, and the mapping's date */
	int64_t when;
};

static int heartbeat(struct pass *ps)
{
	const char *v[2] = { ps->b->run, ps->b->me };
	ps->next_hb = now_s() + ps->b->hb_ms / 3000.0;
	return exec(ps->b, "UPDATE bf_jobs SET heartbeat = now() WHERE run = $1 AND worker = $2 AND state = 'running'", 2,
	            v, NULL, &ps->err);
}

/* A job anybody may take: ready, or running for a worker whose heartbeat stopped ($2: the
 * heartbeat in seconds, hb_text). claim and yield_to_earlier ask the same. */
#define BF_CLAIMABLE "(state = 'ready' OR (state = 'running' AND heartbeat < now() - make_interval(secs => $2)))"

static void hb_text(const struct cl_bf *b, char out[32])
{
	snprintf(out, 32, "%.3f", b->hb_ms / 1000.0);
}

/* Claims jobs of one range: those ready, and those running whose heartbeat stopped; of range
 * only (when >= 0) and at most max. Appends them to jobs; returns how many, or -1. */
static int claim(struct cl_bf *b, int64_t only, uint32_t max, uint32_t *rng, struct job **jobs, uint32_t *njobs,
                 uint32_t *cap, struct dm_error *err)
{
	char hb[32], lim[16], rg[16];
	hb_text(b, hb);
	snprintf(lim, sizeof lim, "%u", max);
	snprintf(rg, sizeof rg, "%lld", (long long)only);
	if (exec(b, "BEGIN", 0, NULL, NULL, err))
		return -1;
	const char *v[4] = { b->run, hb, lim, rg };
	PGresult *r = q(b,
	                "SELECT rng, part, coalesce(snap_in, ''), coalesce(seq_in, -1) FROM bf_jobs WHERE run = $1 AND "
	                BF_CLAIMABLE " AND ($4::int < 0 OR rng = $4::int) ORDER BY rng, part LIMIT $3 FOR UPDATE SKIP LOCKED",
	                4, v, NULL, 0, err);
	if (!r)
		goto fail;
	int n = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		uint32_t g = (uint32_t)atoi(PQgetvalue(r, i, 0));
		if (i == 0 && only < 0)
			*rng = g;
		if (g != *rng)
			break;   /* a pass reads one range */
		if (*njobs == *cap) {
			uint32_t nc = *cap ? 2 * *cap : 8;
			struct job *j = realloc(*jobs, nc * sizeof *j);
			if (!j) {
				PQclear(r);
				dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
				goto fail;
			}
			*jobs = j;
			*cap = nc;
		}
		struct job *j = &(*jobs)[(*njobs)++];
		memset(j, 0, sizeof *j);
		j->part = (uint32_t)atoi(PQgetvalue(r, i, 1));
		snprintf(j->snap_in, sizeof j->snap_in, "%s", PQgetvalue(r, i, 2));
		j->seq_in = atoi(PQgetvalue(r, i, 3));
		char pk[16];
		snprintf(pk, sizeof pk, "%u", j->part);
		snprintf(rg, sizeof rg, "%u", g);
		const char *uv[4] = { b->run, rg, pk, b->me };
		if (exec(b, "UPDATE bf_jobs SET state = 'running', worker = $4, heartbeat = now(), tries = tries + 1"
		            " WHERE run = $1 AND rng = $2 AND part = $3", 4, uv, NULL, err)) {
			PQclear(r);
			goto fail;
		}
		n++;
	}
	PQclear(r);
	if (exec(b, "COMMIT", 0, NULL, NULL, err))
		return -1;
	return n;
fail:
	r = PQexec(b->c, "ROLLBACK");
	PQclear(r);
	return -1;
}

static void pass_fail(struct pass *ps)
{
	ps->failed = 1;
	pl_stop(ps->feed);
}

static int put_msg(struct pass *ps, uint32_t seq, uint32_t part, char kind, const struct cl_buf *m)
{
	char sq[16], pk[16], kd[2] = { kind, 0 };
	snprintf(sq, sizeof sq, "%u", seq);
	snprintf(pk, sizeof pk, "%u", part);
	const char *v[5] = { ps->b->run, sq, pk, kd, (const char *)m->p };
	int len[5] = { 0, 0, 0, 0, (int)m->n };
	return exec(ps->b, "INSERT INTO bf_msgs (run, seq, part, kind, msg) VALUES ($1, $2, $3, $4, $5)"
	                   " ON CONFLICT DO NOTHING", 5, v, len, &ps->err);
}

static int end_range(struct pass *ps, const struct cl_barrier *bar);

/* A barrier that waits on partitions whose jobs of this range cannot start: their jobs of an
 * earlier range are ready or were held by a worker that stopped, and every worker left waits
 * in a barrier of a later range (a worker killed after its sizes of a range's last barrier
 * were in, before it ended the range: the others went on to the next range and waited there
 * for ever; seen in tests/integration/cluster_backfill.sh's kill -9 case). Such a job of an
 * earlier range: this pass hands its own jobs back (ready again, to be rerun from their
 * snapshots, their messages put again as the same bytes) and the worker claims anew, earliest
 * range first. 1 when it did, 0 when there is none, -1 failed. */
static int yield_to_earlier(struct pass *ps)
{
	char rg[16], hb[32];
	snprintf(rg, sizeof rg, "%u", ps->rng);
	hb_text(ps->b, hb);
	const char *v[3] = { ps->b->run, hb, rg };
	PGresult *r = q(ps->b, "SELECT count(*) FROM bf_jobs WHERE run = $1 AND rng < $3::int AND " BF_CLAIMABLE, 3, v,
	                NULL, 0, &ps->err);
	if (!r)
		return -1;
	int n = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!n)
		return 0;
	const char *h[3] = { ps->b->run, rg, ps->b->me };
	if (exec(ps->b, "UPDATE bf_jobs SET state = 'ready', worker = NULL WHERE run = $1 AND rng = $2 AND worker = $3"
	                " AND state = 'running'", 3, h, NULL, &ps->err))
		return -1;
	if (!ps->b->quiet)
		fprintf(stderr, "backfill worker %s: range %u waits on %d job(s) of an earlier range nobody runs: its jobs "
		        "handed back\n", ps->b->me, ps->rng, n);
	return 1;
}

/* Both phases of a barrier for this pass's partitions, through bf_msgs. */
static void barrier(struct pass *ps, const struct cl_barrier *bar)
{
	ps->st->barriers++;
	for (uint32_t i = 0; i < ps->njobs; i++) {
		cl_part_sizes(ps->jobs[i].p, bar, &ps->sz);
		if (ps->sz.failed || put_msg(ps, bar->seq, ps->jobs[i].part, 'Z', &ps->sz))
			return pass_fail(ps);
	}
	char sq[16];
	snprintf(sq, sizeof sq, "%u", bar->seq);
	const char *v[2] = { ps->b->run, sq };
	/* jobs of this range nobody took: ready ones left for a third of the heartbeat (the worker
	 * that made them ready claims them within milliseconds), or whose worker stopped beating */
	double t0 = now_s(), next_claim = t0 + ps->b->hb_ms / 3000.0;
	unsigned wait = 1;
	for (;;) {
		PGresult *r = q(ps->b, "SELECT msg FROM bf_msgs WHERE run = $1 AND seq = $2 AND kind = 'Z' ORDER BY part", 2, v,
		                NULL, 1, &ps->err);
		if (!r)
			return pass_fail(ps);
		if ((uint32_t)PQntuples(r) == ps->b->nparts) {
			int got = 0;
			for (int i = 0; i < PQntuples(r) && got >= 0; i++)
				got = cl_merge_sizes(ps->sums, (const uint8_t *)PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0),
				                     &ps->sm, &ps->err);
			PQclear(r);
			if (got != 1) {
				if (got == 0)
					dm_fail(&ps->err, DM_ERR_BAD_VALUE, 0, "backfill: barrier %u: the sizes do not add up", bar->seq);
				return pass_fail(ps);
			}
			break;
		}
		PQclear(r);
		double t = now_s();
		if (t >= ps->next_hb && heartbeat(ps))
			return pass_fail(ps);
		if (t >= next_claim) {
			/* a partition of this range whose worker died: take it, and read the range again
			 * with it (the barriers already complete go by without waiting) */
			next_claim = t + ps->b->hb_ms / 3000.0;
			uint32_t rng = ps->rng;
			int n = claim(ps->b, ps->rng, CL_MAX_PARTS, &rng, &ps->jobs, &ps->njobs, &ps->capjobs, &ps->err);
			if (n < 0)
				return pass_fail(ps);
			if (n > 0) {
				if (!ps->b->quiet)
					fprintf(stderr, "backfill worker %s: took over %d job(s) of range %u at barrier %u\n",
					        ps->b->me, n, ps->rng, bar->seq);
				ps->st->takeovers += (uint64_t)n;
				ps->restart = 1;
				pl_stop(ps->feed);
				return;
			}
			/* nothing of this range to take after two heartbeats: an earlier range's? */
			if (t - t0 >= 2 * ps->b->hb_ms / 1000.0) {
				int y = yield_to_earlier(ps);
				if (y < 0)
					return pass_fail(ps);
				if (y > 0) {
					ps->yielded = ps->restart = 1;
					pl_stop(ps->feed);
					return;
				}
			}
		}
		nap_ms(wait);
		if (wait < 20)
			wait *= 2;
	}
	ps->st->wait_s += now_s() - t0;
	for (uint32_t i = 0; i < ps->njobs; i++) {
		if (cl_part_close(ps->jobs[i].p, bar, ps->sm.p, ps->sm.n, &ps->rows, &ps->err) ||
		    put_msg(ps, bar->seq, ps->jobs[i].part, 'W', &ps->rows))
			return pass_fail(ps);
	}
	int64_t bin = ps->o->sig.bin ? ps->o->sig.bin : 300;
	int64_t floor = bar->t - ((bar->t % bin) + bin) % bin;
	int end = bar->kind == CL_B_FINISH || (ps->t_to && bar->kind == CL_B_TIME && floor >= ps->t_to);
	if (end) {
		if (end_range(ps, bar))
			return pass_fail(ps);
		ps->ended = 1;
		pl_stop(ps->feed);
	}
}

static void send(void *arg, uint32_t part, const uint8_t *msg, size_t len)
{
	struct pass *ps = arg;
	if (ps->ended || ps->failed || ps->restart)
		return;   /* past the range's end: the next range's jobs apply it */
	if ((++ps->nmsg & 0xfff) == 0 && now_s() >= ps->next_hb && heartbeat(ps))
		return pass_fail(ps);
	struct cl_barrier bar;
	int at = 0;
	for (uint32_t i = 0; i < ps->njobs; i++) {
		if (part != CL_ALL && part != ps->jobs[i].part)
			continue;
		struct dm_error e;
		memset(&e, 0, sizeof e);
		int r = cl_part_apply(ps->jobs[i].p, msg, len, &bar, &e);
		if (r < 0) {
			ps->st->bad++;
			dm_log("backfill: %s", e.what);
		}
		at |= r == 1;
	}
	if (at)
		barrier(ps, &bar);
}

static void snap_path(const struct cl_bf *b, uint32_t rng, uint32_t part, char *out, size_t n)
{
	snprintf(out, n, "%s/%s.r%u.p%u.snap", b->snap_dir, b->run, rng, part);
}

/* The range's last barrier is closed: snapshots and the feeder's state for the next range,
 * then the jobs done and their successors ready, in one transaction. */
static int end_range(struct pass *ps, const struct cl_barrier *bar)
{
	struct cl_bf *b = ps->b;
	int last = bar->kind == CL_B_FINISH;
	if (!last) {
		struct snapbuf sb;
		memset(&sb, 0, sizeof sb);
		for (uint32_t i = 0; i < ps->njobs; i++) {
			char path[1100];
			snap_path(b, ps->rng + 1, ps->jobs[i].part, path, sizeof path);
			sb.n = 0;
			double t0 = now_s();
			if (cl_part_snapshot(ps->jobs[i].p, bar, "", 0, &sb)) {
				free(sb.p);
				return dm_fail(&ps->err, DM_ERR_NOMEM, 0, "backfill: snapshot: out of memory");
			}
			if (cl_snap_save(path, &sb, &ps->err)) {
				free(sb.p);
				return -1;
			}
			ps->st->snapshots++;
			ps->st->snap_bytes += sb.n;
			ps->st->snap_s += now_s() - t0;
		}
		free(sb.p);
		/* the feeder's state: the cut's, then every update stream's position */
		struct cl_buf fs;
		memset(&fs, 0, sizeof fs);
		cl_cut_save(ps->cut, &fs);
		uint32_t pos[3 * 4096];
		int ns = pl_position(ps->feed, pos, sizeof pos / sizeof *pos);
		if (ns < 0) {
			cl_buf_free(&fs);
			return dm_fail(&ps->err, DM_ERR_BAD_VALUE, 0, "backfill: range %u ends outside the update files", ps->rng);
		}
		cb_u32(&fs, (uint32_t)ns);
		for (int i = 0; i < 3 * ns; i++)
			cb_u32(&fs, pos[i]);
		char rg[16];
		snprintf(rg, sizeof rg, "%u", ps->rng + 1);
		const char *v[3] = { b->run, rg, (const char *)fs.p };
		int len[3] = { 0, 0, (int)fs.n };
		int rc = fs.failed ? -1 : exec(b, "INSERT INTO bf_feed (run, rng, state) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
		                               3, v, len, &ps->err);
		cl_buf_free(&fs);
		if (rc)
			return -1;
	}
	if (exec(b, "BEGIN", 0, NULL, NULL, &ps->err))
		return -1;
	for (uint32_t i = 0; i < ps->njobs; i++) {
		char rg[16], rn[16], pk[16], sq[16], path[1100];
		snprintf(rg, sizeof rg, "%u", ps->rng);
		snprintf(rn, sizeof rn, "%u", ps->rng + 1);
		snprintf(pk, sizeof pk, "%u", ps->jobs[i].part);
		snprintf(sq, sizeof sq, "%u", bar->seq);
		snap_path(b, ps->rng + 1, ps->jobs[i].part, path, sizeof path);
		const char *v[5] = { b->run, rg, pk, sq, b->me };
		const char *w[5] = { b->run, rn, pk, path, sq };
		if (exec(b, "UPDATE bf_jobs SET state = 'done', seq_out = $4, heartbeat = now() WHERE run = $1 AND rng = $2"
		            " AND part = $3", 4, v, NULL, &ps->err) ||
		    (!last && exec(b, "UPDATE bf_jobs SET state = 'ready', snap_in = $4, seq_in = $5 WHERE run = $1 AND"
		                      " rng = $2 AND part = $3 AND state = 'wait'", 5, w, NULL, &ps->err))) {
			PGresult *r = PQexec(b->c, "ROLLBACK");
			PQclear(r);
			return -1;
		}
	}
	ps->st->jobs += ps->njobs;
	return exec(b, "COMMIT", 0, NULL, NULL, &ps->err);
}

/* A job whose start snapshot does not load: its predecessor is run again (by this worker,
 * now: nobody else would, the range's other jobs wait for this partition), which writes the
 * snapshot anew; the range's jobs this worker holds are handed back. */
static int redo_before(struct pass *ps, uint32_t part, struct dm_error *why);

static int load_feed(struct pass *ps, uint32_t **pos, size_t *npos)
{
	char rg[16];
	snprintf(rg, sizeof rg, "%u", ps->rng);
	const char *v[2] = { ps->b->run, rg };
	PGresult *r = q(ps->b, "SELECT state FROM bf_feed WHERE run = $1 AND rng = $2", 2, v, NULL, 1, &ps->err);
	if (!r)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return dm_fail(&ps->err, DM_ERR_BAD_VALUE, 0, "backfill: range %u: the feeder state of the range before is missing",
		               ps->rng);
	}
	struct cur c = cur_make(PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
	uint32_t ns = 0;
	int rc = cl_cut_load(ps->cut, &c, &ps->err);
	if (!rc && (cur_u32(&c, &ns) || ns > 4096 || cur_left(&c) != (size_t)ns * 12))
		rc = dm_fail(&ps->err, DM_ERR_BAD_VALUE, cur_off(&c), "backfill: range %u: stream positions", ps->rng);
	if (!rc && !(*pos = malloc((size_t)(ns ? ns : 1) * 12)))
		rc = dm_fail(&ps->err, DM_ERR_NOMEM, 0, "out of memory");
	for (uint32_t i = 0; !rc && i < 3 * ns; i++)
		cur_u32(&c, &(*pos)[i]);
	*npos = ns;
	PQclear(r);
	return rc;
}

static int read_file(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	size_t cap = 1 << 16, n = 0;
	uint8_t *p = malloc(cap);
	while (p) {
		size_t r = fread(p + n, 1, cap - n, f);
		n += r;
		if (n < cap)
			break;
		uint8_t *q2 = realloc(p, cap *= 2);
		if (!q2) {
			free(p);
			p = NULL;
		}
		p = q2;
	}
	int bad = ferror(f);
	fclose(f);
	if (!p || bad) {
		free(p);
		return -1;
	}
	*buf = p;
	*len = n;
	return 0;
}

enum { PASS_DONE = 0, PASS_RESTART = 1 };

/* One range for the claimed jobs: 0 done, 1 to read again (jobs taken over), -1 failed. */
static int run_pass(struct pass *ps, const struct pl_inputs *in, int64_t when)
{
	int rc = -1;
	uint32_t *pos = NULL;
	size_t npos = 0;
	ps->ended = ps->failed = ps->restart = ps->yielded = 0;
	int status;
	ps->feed = cl_pipeline_bare(ps->o, "backfill feed", 1, when, &status, &ps->err);
	ps->sums = cl_merge_new(ps->b->nparts, NULL);
	ps->cut = ps->feed ? cl_cut_new(ps->b->nparts, ps->o->sig.bin, pl_rib(ps->feed), send, ps) : NULL;
	if (!ps->cut || !ps->sums) {
		if (!ps->err.what[0])
			dm_fail(&ps->err, DM_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	char rg[16];
	snprintf(rg, sizeof rg, "%u", ps->rng);
	{
		const char *v[2] = { ps->b->run, rg };
		PGresult *r = q(ps->b, "SELECT t_to FROM bf_jobs WHERE run = $1 AND rng = $2 LIMIT 1", 2, v, NULL, 0, &ps->err);
		if (!r)
			goto out;
		ps->t_to = PQntuples(r) ? atoll(PQgetvalue(r, 0, 0)) : 0;
		PQclear(r);
	}
	if (ps->rng > 0 && load_feed(ps, &pos, &npos))
		goto out;
	for (uint32_t i = 0; i < ps->njobs; i++) {
		struct job *j = &ps->jobs[i];
		if (!(j->p = cl_part_new(j->part, ps->o, ps->geo))) {
			dm_fail(&ps->err, DM_ERR_NOMEM, 0, "out of memory");
			goto out;
		}
		if (ps->rng == 0)
			continue;
		uint8_t *buf = NULL;
		size_t len = 0;
		struct cl_snap_info info;
		struct dm_error why;
		memset(&why, 0, sizeof why);
		if (read_file(j->snap_in, &buf, &len))
			dm_fail(&why, DM_ERR_IO, 0, "%s: %s", j->snap_in, strerror(errno));
		else if (!cl_part_restore(j->p, buf, len, &info, &why) && (int32_t)info.seq != j->seq_in)
			dm_fail(&why, DM_ERR_BAD_VALUE, 0, "snapshot of barrier %u, the job wants %d", info.seq, j->seq_in);
		free(buf);
		if (why.what[0]) {
			fprintf(stderr, "backfill worker %s: range %u partition %u: its snapshot is refused (%s): the range before "
			        "is computed again\n", ps->b->me, ps->rng, j->part, why.what);
			ps->st->snap_refused++;
			for (uint32_t k = 0; k <= i; k++) {   /* redo_before hands the jobs back (njobs 0) */
				cl_part_free(ps->jobs[k].p);
				ps->jobs[k].p = NULL;
			}
			rc = redo_before(ps, j->part, &why);
			goto out;
		}
		ps->st->snap_loaded++;
	}
	if (ps->rng > 0)
		pl_resume(ps->feed, pos, npos);
	struct pl_tap tap;
	cl_cut_tap(ps->cut, &tap);
	pl_set_tap(ps->feed, &tap);
	heartbeat(ps);
	pl_replay(ps->feed, in);
	int resume_failed = pl_resume_failed(ps->feed);
	if (!ps->ended && !ps->failed && !ps->restart && !resume_failed && !ps->t_to)
		pl_finish(ps->feed);   /* the last range: the finish barrier */
	else
		pl_discard(ps->feed);
	ps->feed = NULL;
	for (uint32_t i = 0; i < ps->njobs; i++)
		if (ps->jobs[i].p)
			ps->st->elements += cl_part_elements(ps->jobs[i].p);
	if (ps->restart)
		rc = PASS_RESTART;
	else if (ps->failed)
		rc = -1;
	else if (!ps->ended)
		rc = dm_fail(&ps->err, DM_ERR_BAD_VALUE, 0, "backfill: range %u: the inputs ended before its last barrier%s",
		             ps->rng, resume_failed ? " (the stream positions do not fit them)" : "");
	else
		rc = PASS_DONE;
out:
	if (ps->feed)
		pl_discard(ps->feed);
	ps->feed = NULL;
	cl_cut_free(ps->cut);
	ps->cut = NULL;
	cl_merge_free(ps->sums);
	ps->sums = NULL;
	for (uint32_t i = 0; i < ps->njobs; i++) {
		cl_part_free(ps->jobs[i].p);
		ps->jobs[i].p = NULL;
	}
	if (ps->yielded)
		ps->njobs = 0;   /* handed back (yield_to_earlier): claim anew */
	free(pos);
	return rc;
}

static int redo_before(struct pass *ps, uint32_t part, struct dm_error *why)
{
	struct cl_bf *b = ps->b;
	(void)why;
	char rg[16], rp[16], pk[16];
	snprintf(rg, sizeof rg, "%u", ps->rng);
	snprintf(rp, sizeof rp, "%u", ps->rng - 1);
	snprintf(pk, sizeof pk, "%u", part);
	const char *v1[4] = { b->run, rg, b->me, pk };
	const char *v2[3] = { b->run, rg, pk };
	const char *v3[4] = { b->run, rp, pk, b->me };
	if (exec(b, "BEGIN", 0, NULL, NULL, &ps->err) ||
	    exec(b, "UPDATE bf_jobs SET state = 'ready', worker = NULL WHERE run = $1 AND rng = $2 AND worker = $3"
	            " AND state = 'running' AND part <> $4", 4, v1, NULL, &ps->err) ||
	    exec(b, "UPDATE bf_jobs SET state = 'wait', worker = NULL WHERE run = $1 AND rng = $2 AND part = $3", 3, v2, NULL,
	         &ps->err) ||
	    exec(b, "UPDATE bf_jobs SET state = 'running', worker = $4, heartbeat = now(), tries = tries + 1 WHERE run = $1"
	            " AND rng = $2 AND part = $3", 4, v3, NULL, &ps->err) ||
	    exec(b, "COMMIT", 0, NULL, NULL, &ps->err)) {
		PGresult *r = PQexec(b->c, "ROLLBACK");
		PQclear(r);
		return -1;
	}
	/* the predecessor job, alone: its range's sizes are stored (or come), so it runs through */
	const char *sv[3] = { b->run, rp, pk };
	PGresult *r = q(b, "SELECT coalesce(snap_in, ''), coalesce(seq_in, -1) FROM bf_jobs WHERE run = $1 AND rng = $2"
	                   " AND part = $3", 3, sv, NULL, 0, &ps->err);
	if (!r)
		return -1;
	struct pass sub = *ps;
	struct job *j = calloc(1, sizeof *j);
	if (!j) {
		PQclear(r);
		return dm_fail(&ps->err, DM_ERR_NOMEM, 0, "out of memory");
	}
	j->part = part;
	snprintf(j->snap_in, sizeof j->snap_in, "%s", PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
	j->seq_in = PQntuples(r) ? atoi(PQgetvalue(r, 0, 1)) : -1;
	PQclear(r);
	memset(&sub.sz, 0, sizeof sub.sz);
	memset(&sub.sm, 0, sizeof sub.sm);
	memset(&sub.rows, 0, sizeof sub.rows);
	memset(&sub.err, 0, sizeof sub.err);
	sub.jobs = j;   /* claim() may grow it: jobs of that range whose worker died */
	sub.njobs = 1;
	sub.capjobs = 1;
	sub.rng = ps->rng - 1;
	int rc;
	do
		rc = run_pass(&sub, sub.in, sub.when);
	while (rc == PASS_RESTART && sub.njobs);
	free(sub.jobs);
	cl_buf_free(&sub.sz);
	cl_buf_free(&sub.sm);
	cl_buf_free(&sub.rows);
	if (rc < 0)
		ps->err = sub.err;
	/* the jobs this pass had claimed were handed back: claim anew */
	ps->njobs = 0;
	return rc < 0 ? -1 : PASS_RESTART;
}

static int run_done(struct cl_bf *b, int *done, struct dm_error *err)
{
	const char *v[1] = { b->run };
	PGresult *r = q(b, "SELECT count(*) FILTER (WHERE state <> 'done') FROM bf_jobs WHERE run = $1", 1, v, NULL, 0, err);
	if (!r)
		return -1;
	*done = atoi(PQgetvalue(r, 0, 0)) == 0;
	PQclear(r);
	return 0;
}

int cl_bf_work(struct cl_bf *b, const struct pl_opts *o, const struct pl_inputs *in, int64_t when, uint32_t max_passes,
               struct cl_bf_stats *st, struct dm_error *err)
{
	int status;
	struct pipeline *host = cl_pipeline_bare(o, "backfill worker", 0, when, &status, err);   /* the mapping */
	if (!host)
		return -1;
	struct pass ps;
	memset(&ps, 0, sizeof ps);
	ps.in = in;
	ps.when = when;
	ps.b = b;
	ps.o = o;
	ps.geo = pl_geo(host);
	ps.st = st;
	uint32_t cap = (b->nparts + b->workers - 1) / b->workers;
	int rc = 0;
	uint32_t passes = 0;
	for (;;) {
		if (max_passes && passes >= max_passes)
			break;
		ps.njobs = 0;
		uint32_t rng = 0;
		int n = claim(b, -1, cap, &rng, &ps.jobs, &ps.njobs, &ps.capjobs, err);
		if (n < 0) {
			rc = -1;
			break;
		}
		if (n == 0) {
			int done;
			if (run_done(b, &done, err)) {
				rc = -1;
				break;
			}
			if (done)
				break;
			nap_ms(50);
			continue;
		}
		ps.rng = rng;
		int r;
		double t0 = now_s();
		while ((r = run_pass(&ps, in, when)) == PASS_RESTART && ps.njobs)
			;
		st->pass_s += now_s() - t0;
		passes++;
		if (!b->quiet && r >= 0 && ps.njobs) {
			fprintf(stderr, "backfill worker %s: range %u, partitions", b->me, rng);
			for (uint32_t i = 0; i < ps.njobs; i++)
				fprintf(stderr, " %u", ps.jobs[i].part);
			fprintf(stderr, ": done in %.2f s\n", now_s() - t0);
		}
		if (r < 0) {
			*err = ps.err;
			rc = -1;
			break;
		}
	}
	free(ps.jobs);
	cl_buf_free(&ps.sz);
	cl_buf_free(&ps.sm);
	cl_buf_free(&ps.rows);
	pl_discard(host);
	return rc;
}

/* ---------------- the merger ---------------- */

int cl_bf_merge(struct cl_bf *b, struct pipeline *out, struct cl_bf_stats *st, struct dm_error *err)
{
	struct cl_merge *m = cl_merge_new(b->nparts, out);
	struct cl_buf sums;
	memset(&sums, 0, sizeof sums);
	if (!m)
		return dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
	uint32_t next = 0;
	int rc = -1, settled = 0;
	unsigned wait = 1;
	for (;;) {
		char sq[16];
		snprintf(sq, sizeof sq, "%u", next);
		const char *v[2] = { b->run, sq };
		/* a batch of barriers: sizes (Z) before rows (W) of each, partitions in order */
		PGresult *r = q(b, "SELECT seq, kind, part, msg FROM bf_msgs WHERE run = $1 AND seq >= $2 AND seq < $2::int + 256"
		                   " ORDER BY seq, kind DESC, part", 2, v, NULL, 1, err);
		if (!r)
			goto out;
		int n = PQntuples(r), i = 0, progress = 0;
		while (i < n) {
			uint32_t seq = bin_u32(r, i, 0);
			int k = i;
			while (k < n && bin_u32(r, k, 0) == seq)
				k++;
			if (seq != next || (uint32_t)(k - i) != 2 * b->nparts)
				break;   /* this barrier is not complete yet */
			for (int x = i; x < k; x++) {
				const uint8_t *msg = (const uint8_t *)PQgetvalue(r, x, 3);
				size_t len = (size_t)PQgetlength(r, x, 3);
				int got = *PQgetvalue(r, x, 1) == 'Z' ? cl_merge_sizes(m, msg, len, &sums, err)
				                                       : cl_merge_rows(m, msg, len, err);
				if (got < 0) {
					PQclear(r);
					goto out;
				}
				st->messages++;
			}
			next++;
			st->barriers++;
			progress = 1;
			i = k;
		}
		PQclear(r);
		if (progress) {
			wait = 1;
			continue;
		}
		/* the run is over when every job is done and their last barrier is merged */
		PGresult *d = q(b, "SELECT count(*) FILTER (WHERE state <> 'done'), coalesce(max(seq_out), -1) FROM bf_jobs"
		                   " WHERE run = $1", 1, v, NULL, 0, err);
		if (!d)
			goto out;
		int left = atoi(PQgetvalue(d, 0, 0)), last = atoi(PQgetvalue(d, 0, 1));
		PQclear(d);
		if (!left && (int64_t)next > last) {
			rc = 0;
			break;
		}
		if (!left && settled) {
			dm_fail(err, DM_ERR_BAD_VALUE, 0, "backfill: every job is done but barrier %u is incomplete", next);
			goto out;
		}
		if (!left) {   /* the last rows may have come after the read above: read once more */
			settled = 1;
			continue;
		}
		nap_ms(wait);
		if (wait < 50)
			wait *= 2;
	}
out:
	st->rows = cl_merge_rows_out(m);
	cl_merge_free(m);
	cl_buf_free(&sums);
	return rc;
}
