/* The cluster's roles over Redis Streams (cluster.h "over Redis Streams", docs/scale.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/snapbuf.h"
#include "cluster/cluster_impl.h"
#include "cluster/redis.h"

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void nap(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&t, NULL);
}

static void key_of(char *buf, size_t n, const char *prefix, const char *tag, const char *what)
{
	snprintf(buf, n, "%s:{%s}:%s", prefix, tag, what);
}

static void part_key(char *buf, size_t n, const char *prefix, uint32_t p, const char *what)
{
	char tag[16];
	snprintf(tag, sizeof tag, "p%u", p);
	key_of(buf, n, prefix, tag, what);
}

/* A command whose reply is only checked for errors. */
static int cmd_ok(struct cl_redis *r, const char *key, int argc, const char **argv, struct dm_error *err)
{
	size_t lens[16];
	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	redisReply *rep = cl_redis_cmd(r, key, argc, argv, lens, err);
	if (!rep)
		return -1;
	int rc = rep->type == REDIS_REPLY_ERROR ? -1 : rep->type == REDIS_REPLY_NIL ? 1 : 0;
	if (rep->type == REDIS_REPLY_ERROR)
		dm_fail(err, DM_ERR_IO, 0, "redis %s: %s", argv[0], rep->str);
	freeReplyObject(rep);
	return rc;
}

/* GET as a number; 1 when absent, -1 on error. */
static int get_i64(struct cl_redis *r, const char *key, int64_t *v, struct dm_error *err)
{
	const char *argv[] = { "GET", key };
	size_t lens[] = { 3, strlen(key) };
	redisReply *rep = cl_redis_cmd(r, key, 2, argv, lens, err);
	if (!rep)
		return -1;
	int rc = 1;
	if (rep->type == REDIS_REPLY_STRING) {
		*v = strtoll(rep->str, NULL, 10);
		rc = 0;
	}
	freeReplyObject(rep);
	return rc;
}

static int set_i64(struct cl_redis *r, const char *key, int64_t v, struct dm_error *err)
{
	char b[32];
	snprintf(b, sizeof b, "%lld", (long long)v);
	const char *argv[] = { "SET", key, b };
	return cmd_ok(r, key, 3, argv, err);
}

/* ---------- the feeder ---------- */

struct cl_rfeed {
	struct cl_redis *r;
	struct cl_bus_opts bo;
	char prefix[64];
	char **keys;
	struct cl_buf *batch;      /* per partition: messages not sent yet, each a u32 length + bytes */
	uint64_t *nbatch;          /* per partition: batches sent (each entry's field "n") */
	size_t queued;
	uint64_t msgs;
	int failed;
	struct dm_error err;
};

struct cl_rfeed *cl_rfeed_new(const struct cl_bus_opts *bo, int64_t when, struct dm_error *err)
{
	struct cl_rfeed *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->bo = *bo;
	snprintf(f->prefix, sizeof f->prefix, "%s", bo->prefix);
	f->bo.prefix = f->prefix;
	f->keys = calloc(bo->nparts, sizeof *f->keys);
	f->batch = calloc(bo->nparts, sizeof *f->batch);
	f->nbatch = calloc(bo->nparts, sizeof *f->nbatch);
	if (!f->keys || !f->batch || !f->nbatch || !(f->r = cl_redis_connect(bo->redis, err))) {
		cl_rfeed_free(f);
		return NULL;
	}
	for (uint32_t p = 0; p < bo->nparts; p++) {
		char k[128];
		part_key(k, sizeof k, f->prefix, p, "in");
		if (!(f->keys[p] = strdup(k))) {
			cl_rfeed_free(f);
			return NULL;
		}
	}
	char k[128];
	key_of(k, sizeof k, f->prefix, "m", "when");
	if (set_i64(f->r, k, when, err) < 0) {
		cl_rfeed_free(f);
		return NULL;
	}
	return f;
}

void cl_rfeed_free(struct cl_rfeed *f)
{
	if (!f)
		return;
	for (uint32_t p = 0; f->keys && p < f->bo.nparts; p++)
		free(f->keys[p]);
	for (uint32_t p = 0; f->batch && p < f->bo.nparts; p++)
		cl_buf_free(&f->batch[p]);
	free(f->keys);
	free(f->batch);
	free(f->nbatch);
	cl_redis_free(f->r);
	free(f);
}

static void feed_flush(struct cl_rfeed *f)
{
	if (f->queued && cl_redis_flush(f->r, &f->err) && !f->failed) {
		f->failed = 1;
		dm_log("cluster feed: %s", f->err.what);
	}
	f->queued = 0;
}

/* A partition's batch as one stream entry (field "b": the messages, each a 4-byte length
 * and its bytes; field "n": the partition's batch number, 1, 2, ...): one XADD per 64 KB, not
 * per element. A batch sent again through a failover (redis.c) comes twice with one number:
 * the worker applies the first. */
static void batch_out(struct cl_rfeed *f, uint32_t p)
{
	struct cl_buf *b = &f->batch[p];
	if (!b->n)
		return;
	char n[24];
	snprintf(n, sizeof n, "%llu", (unsigned long long)++f->nbatch[p]);
	const char *argv[] = { "XADD", f->keys[p], "*", "b", (const char *)b->p, "n", n };
	size_t lens[] = { 4, strlen(f->keys[p]), 1, 1, b->n, 1, strlen(n) };
	if (b->failed || cl_redis_append(f->r, f->keys[p], 7, argv, lens))
		f->failed = 1;
	cb_reset(b);
	if (++f->queued >= 256)
		feed_flush(f);
}

void cl_rfeed_send(void *arg, uint32_t part, const uint8_t *msg, size_t len)
{
	struct cl_rfeed *f = arg;
	if (f->failed)
		return;
	for (uint32_t p = 0; p < f->bo.nparts; p++) {
		if (part != CL_ALL && part != p)
			continue;
		cb_u32(&f->batch[p], (uint32_t)len);
		cb_bytes(&f->batch[p], msg, len);
		f->msgs++;
		if (f->batch[p].n >= 65536)
			batch_out(f, p);
	}
	if (msg[0] == CL_M_BARRIER) {   /* a barrier ends every partition's batch */
		for (uint32_t p = 0; p < f->bo.nparts; p++)
			batch_out(f, p);
		feed_flush(f);
	}
}

int cl_rfeed_finish(struct cl_rfeed *f, uint32_t barriers, struct cl_bus_stats *st, struct dm_error *err)
{
	for (uint32_t p = 0; p < f->bo.nparts; p++)
		batch_out(f, p);
	feed_flush(f);
	if (f->failed) {
		*err = f->err;
		return -1;
	}
	char k[128];
	key_of(k, sizeof k, f->prefix, "m", "barriers");
	if (st) {
		st->messages = f->msgs;
		st->bus_commands = cl_redis_commands(f->r);
		st->failover_s = cl_redis_failover_wait(f->r);
	}
	return set_i64(f->r, k, barriers, err) < 0 ? -1 : 0;
}

/* ---------- a worker ---------- */

struct wpart {
	uint32_t id;
	struct cl_part *p;
	char in[96], lease[96], done_key[96];
	uint64_t last_ms, last_seq;    /* the last entry applied */
	uint64_t last_batch;           /* the feeder's number of the last batch applied */
	redisReply *batch;             /* entries read, not all applied yet */
	size_t at;
	size_t sub;                    /* in a batch entry ("b"): the next message's offset */
	int waiting, finished;
	struct cl_barrier b;
	int rebuilding;
	char claim[48];                /* after the rebuild: XAUTOCLAIM's cursor ("" when done) */
	int taken;                     /* taken over from a worker whose lease ran out */
	uint64_t snap_ms[2], snap_seq[2];   /* the stream ids of the last two snapshots, newest
	                                     * first (0-0: none): the stream is kept from the older */
};

struct worker {
	const struct cl_bus_opts *bo;
	const struct pl_opts *o;
	struct cl_redis *r;
	struct geo_db *geo;
	struct wpart *w;               /* every partition; p NULL when not ours */
	char me[64], up[96], sums[96];
	struct cl_buf buf;
	struct cl_bus_stats *st;
	double next_lease;
};

static int id_parse(const char *s, uint64_t *ms, uint64_t *seq)
{
	char *end;
	*ms = strtoull(s, &end, 10);
	if (*end != '-')
		return -1;
	*seq = strtoull(end + 1, NULL, 10);
	return 0;
}

static int id_after(uint64_t ms, uint64_t seq, const struct wpart *w)
{
	return ms > w->last_ms || (ms == w->last_ms && seq > w->last_seq);
}

static int xadd_up(struct worker *k, const struct cl_buf *b, struct dm_error *err)
{
	const char *argv[] = { "XADD", k->up, "*", "m", (const char *)b->p };
	size_t lens[] = { 4, strlen(k->up), 1, 1, b->n };
	redisReply *rep = cl_redis_cmd_durable(k->r, k->up, 5, argv, lens, err);
	if (!rep)
		return -1;
	int rc = rep->type == REDIS_REPLY_ERROR ? -1 : 0;
	if (rc)
		dm_fail(err, DM_ERR_IO, 0, "redis XADD %s: %s", k->up, rep->str);
	freeReplyObject(rep);
	return rc;
}

/* ---------- snapshots (docs/scale.md "Snapshots") ---------- */

static void snap_path(char *buf, size_t n, const struct worker *k, uint32_t part, int prev)
{
	snprintf(buf, n, "%s/%s.p%u.snap%s", k->bo->snap_dir, k->bo->prefix, part, prev ? ".prev" : "");
}

/* After barrier w->b closed: the partition's snapshot, the last one kept as .prev, and the
 * stream trimmed below the older of the two (XTRIM MINID): a snapshot that turns out unusable
 * falls back to the one before, whose stream is still there. Failures are logged, not fatal:
 * the stream is then only kept longer. */
static void snapshot(struct worker *k, struct wpart *w)
{
	double t0 = now_s();
	struct snapbuf b = { 0 };
	char id[48], cur[1200], prev[1200];
	struct dm_error err;
	memset(&err, 0, sizeof err);
	snprintf(id, sizeof id, "%llu-%llu", (unsigned long long)w->last_ms, (unsigned long long)w->last_seq);
	snap_path(cur, sizeof cur, k, w->id, 0);
	snap_path(prev, sizeof prev, k, w->id, 1);
	if (cl_part_snapshot(w->p, &w->b, id, w->last_batch, &b)) {
		dm_log("cluster worker %s: partition %u: snapshot: out of memory", k->me, w->id);
		snapbuf_free(&b);
		return;
	}
	if (rename(cur, prev) && errno != ENOENT)
		dm_fail(&err, DM_ERR_IO, 0, "%s: %s", cur, strerror(errno));
	else if (!cl_snap_save(cur, &b, &err))
		err.code = 0;
	if (err.code) {
		dm_log("cluster worker %s: partition %u: snapshot not written: %s", k->me, w->id, err.what);
		snapbuf_free(&b);
		return;
	}
	k->st->snapshots++;
	if (b.n > k->st->snap_bytes)
		k->st->snap_bytes = b.n;
	snapbuf_free(&b);
	w->snap_ms[1] = w->snap_ms[0];
	w->snap_seq[1] = w->snap_seq[0];
	w->snap_ms[0] = w->last_ms;
	w->snap_seq[0] = w->last_seq;
	k->st->snap_s += now_s() - t0;
	if (!w->snap_ms[1] && !w->snap_seq[1])
		return;   /* one snapshot so far: its fallback is the stream from its start */
	/* only the lease holder trims: a worker that lost the lease unknowingly may be ahead of the
	 * one that took over and is replaying from an older snapshot. The check and the XTRIM run
	 * as one script, so no takeover falls between them (the lease and the stream share the
	 * partition's hash tag, hence one slot of a Redis Cluster); -1: not ours */
	static const char trim_lua[] =
		"if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('XTRIM', KEYS[2], 'MINID', ARGV[2]) end "
		"return -1";
	snprintf(id, sizeof id, "%llu-%llu", (unsigned long long)w->snap_ms[1], (unsigned long long)w->snap_seq[1]);
	const char *argv[] = { "EVAL", trim_lua, "2", w->lease, w->in, k->me, id };
	size_t lens[] = { 4, sizeof trim_lua - 1, 1, strlen(w->lease), strlen(w->in), strlen(k->me), strlen(id) };
	redisReply *rep = cl_redis_cmd(k->r, w->in, 7, argv, lens, &err);
	if (rep && rep->type == REDIS_REPLY_INTEGER && rep->integer > 0)
		k->st->trimmed += (uint64_t)rep->integer;
	else if (rep && rep->type == REDIS_REPLY_INTEGER && rep->integer < 0)
		k->st->trim_refused++;
	if (rep)
		freeReplyObject(rep);
}

/* A partition being taken: from its newest usable snapshot (then the stream after its id is
 * what is replayed), or, when there is none, from the stream's start. 1 loaded, 0 none. */
static int snapshot_load(struct worker *k, struct wpart *w)
{
	for (int prev = 0; prev < 2; prev++) {
		char path[1200];
		snap_path(path, sizeof path, k, w->id, prev);
		FILE *f = fopen(path, "rb");
		if (!f)
			continue;
		uint8_t *buf = NULL;
		size_t n = 0, cap = 0;
		for (;;) {
			if (n == cap) {
				uint8_t *nb = realloc(buf, cap = cap ? 2 * cap : 1 << 20);
				if (!nb)
					break;
				buf = nb;
			}
			size_t r = fread(buf + n, 1, cap - n, f);
			if (!r)
				break;
			n += r;
		}
		fclose(f);
		struct cl_snap_info info;
		struct dm_error err;
		memset(&err, 0, sizeof err);
		uint64_t ms = 0, seq = 0;
		int rc = buf ? cl_part_restore(w->p, buf, n, &info, &err) : dm_fail(&err, DM_ERR_NOMEM, 0, "out of memory");
		free(buf);
		if (!rc && id_parse(info.stream_id, &ms, &seq))
			rc = dm_fail(&err, DM_ERR_BAD_VALUE, 0, "snapshot: stream id \"%s\"", info.stream_id);
		if (!rc) {
			w->last_ms = ms;
			w->last_seq = seq;
			w->last_batch = info.batch;
			w->snap_ms[0] = w->snap_ms[1] = ms;
			w->snap_seq[0] = w->snap_seq[1] = seq;
			k->st->snap_loaded++;
			if (!k->bo->quiet)
				dm_log("cluster worker %s: partition %u: loaded %s (barrier %u, stream entry %s)", k->me, w->id, path,
				       info.seq, info.stream_id);
			return 1;
		}
		k->st->snap_refused++;
		dm_log("cluster worker %s: partition %u: %s unusable (%s at byte %llu): %s", k->me, w->id, path, err.what,
		       (unsigned long long)err.offset, prev ? "replaying the stream from its start" : "trying the one before");
		/* the partition the failed load left behind is only fit for freeing */
		cl_part_free(w->p);
		if (!(w->p = cl_part_new(w->id, k->o, k->geo)))
			return -1;
	}
	return 0;
}

/* The sums of barrier seq, when the merger has written them: 1 (closed), 0 (not yet), -1. */
static int try_close(struct worker *k, struct wpart *w, struct dm_error *err)
{
	char id[32];
	snprintf(id, sizeof id, "%u-1", w->b.seq + 1);
	const char *argv[] = { "XRANGE", k->sums, id, id };
	size_t lens[] = { 6, strlen(k->sums), strlen(id), strlen(id) };
	redisReply *rep = cl_redis_cmd(k->r, k->sums, 4, argv, lens, err);
	if (!rep)
		return -1;
	int rc = 0;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1) {
		redisReply *fields = rep->element[0]->element[1];
		if (fields->type == REDIS_REPLY_ARRAY && fields->elements >= 2) {
			redisReply *v = fields->element[1];
			rc = cl_part_close(w->p, &w->b, (const uint8_t *)v->str, v->len, &k->buf, err) || xadd_up(k, &k->buf, err)
			             ? -1
			             : 1;
			if (rc == 1) {
				w->waiting = 0;
				k->st->barriers++;
				if (k->bo->snap_dir && w->b.kind == CL_B_TIME &&
				    w->b.seq % (k->bo->snap_every ? k->bo->snap_every : 10) == 0)
					snapshot(k, w);
				if (w->b.kind == CL_B_FINISH) {
					w->finished = 1;
					const char *a2[] = { "SET", w->done_key, "1" };
					cmd_ok(k->r, w->done_key, 3, a2, err);
				}
			}
		}
	}
	freeReplyObject(rep);
	return rc;
}

static int at_barrier(struct worker *k, struct wpart *w, struct dm_error *err)
{
	w->waiting = 1;
	int r = try_close(k, w, err);   /* a rebuilt partition finds most sums written already */
	if (r)
		return r < 0 ? -1 : 0;
	cl_part_sizes(w->p, &w->b, &k->buf);
	return xadd_up(k, &k->buf, err);
}

static void ack(struct worker *k, struct wpart *w, redisReply *ents)
{
	if (!ents || ents->type != REDIS_REPLY_ARRAY || !ents->elements)
		return;
	size_t n = ents->elements;
	const char **argv = malloc((n + 3) * sizeof *argv);
	size_t *lens = malloc((n + 3) * sizeof *lens);
	if (argv && lens) {
		argv[0] = "XACK";
		argv[1] = w->in;
		argv[2] = "workers";
		size_t m = 3;
		for (size_t i = 0; i < n; i++)
			if (ents->element[i]->type == REDIS_REPLY_ARRAY && ents->element[i]->elements)
				argv[m++] = ents->element[i]->element[0]->str;
		for (size_t i = 0; i < m; i++)
			lens[i] = strlen(argv[i]);
		struct dm_error e;
		redisReply *rep = cl_redis_cmd(k->r, w->in, (int)m, argv, lens, &e);
		if (rep)
			freeReplyObject(rep);
	}
	free(argv);
	free(lens);
}

/* One message of a stream entry; -1 on failure, else as at_barrier. */
static int apply_one(struct worker *k, struct wpart *w, const uint8_t *msg, size_t len, const char *id,
                     struct dm_error *err)
{
	struct dm_error e2;
	memset(&e2, 0, sizeof e2);
	k->st->messages++;
	if (w->rebuilding && w->taken)
		k->st->rebuilt_msgs++;
	int r = cl_part_apply(w->p, msg, len, &w->b, &e2);
	if (r < 0) {
		k->st->bad++;
		if (!k->bo->quiet)
			dm_log("cluster worker: %s, entry %s (skipped)", e2.what, id);
		return 0;
	}
	return r == 1 ? at_barrier(k, w, err) : 0;
}

/* Applies read entries until a barrier; 1 when something was applied. An entry is one
 * message (field "m") or a batch (field "b": messages, each a 4-byte length and its bytes). */
static int apply_batch(struct worker *k, struct wpart *w, struct dm_error *err)
{
	int progress = 0;
	redisReply *ents = w->batch;
	while (w->batch && !w->waiting && w->at < ents->elements) {
		redisReply *e = ents->element[w->at];
		uint64_t ms, seq;
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 || id_parse(e->element[0]->str, &ms, &seq) ||
		    (!w->sub && !id_after(ms, seq, w))) {
			w->at++;   /* applied already (while rebuilding) */
			continue;
		}
		redisReply *f = e->element[1];
		progress = 1;
		if (f->type != REDIS_REPLY_ARRAY || f->elements < 2 || f->element[1]->type != REDIS_REPLY_STRING ||
		    f->element[0]->type != REDIS_REPLY_STRING) {
			k->st->bad++;
			w->at++;
			w->last_ms = ms;
			w->last_seq = seq;
			continue;
		}
		const uint8_t *v = (const uint8_t *)f->element[1]->str;
		size_t n = f->element[1]->len;
		/* a batch's second copy (the feeder sent it again through a failover): applied */
		uint64_t bn = f->elements >= 4 && f->element[3]->type == REDIS_REPLY_STRING
		                  ? strtoull(f->element[3]->str, NULL, 10) : 0;
		if (!w->sub && bn > 1 && !w->last_batch) {
			/* the stream's start was trimmed away and no snapshot loaded: a replay from here
			 * would not be the partition's state (docs/scale.md "Snapshots") */
			return dm_fail(err, DM_ERR_BAD_VALUE, 0,
			               "partition %u: its stream starts at batch %llu (trimmed) and no snapshot of it loads",
			               w->id, (unsigned long long)bn);
		}
		/* a copy (bn <= last), or a batch ahead of the next: a node that refused a batch in a
		 * failover may have stored the later one it was sent with; the feeder then sends both
		 * again, in order (redis.c cl_redis_flush), and the copies that follow are applied */
		if (!w->sub && bn && (bn <= w->last_batch || bn > w->last_batch + 1)) {
			if (bn > w->last_batch + 1 && !k->bo->quiet)
				dm_log("cluster worker %s: partition %u: entry %s: batch %llu ahead of %llu (its copy in order follows)",
				       k->me, w->id, e->element[0]->str, (unsigned long long)bn,
				       (unsigned long long)w->last_batch + 1);
			w->at++;
			w->last_ms = ms;
			w->last_seq = seq;
			continue;
		}
		if (strcmp(f->element[0]->str, "b")) {   /* one message */
			w->at++;
			w->last_ms = ms;
			w->last_seq = seq;
			if (apply_one(k, w, v, n, e->element[0]->str, err) < 0)
				return -1;
			continue;
		}
		while (!w->waiting && w->sub < n) {
			struct cur c = cur_make(v + w->sub, n - w->sub);
			uint32_t len;
			struct cur m;
			if (cur_u32(&c, &len) || cur_take(&c, len, &m)) {   /* the batch's framing is lost */
				k->st->bad++;
				dm_log("cluster worker: entry %s: batch truncated at byte %zu (rest skipped)", e->element[0]->str,
				       w->sub);
				w->sub = n;
				break;
			}
			w->sub += 4 + (size_t)len;
			if (apply_one(k, w, m.p, len, e->element[0]->str, err) < 0)
				return -1;
		}
		if (w->sub >= n) {   /* the entry is done */
			if (bn)
				w->last_batch = bn;
			w->sub = 0;
			w->at++;
			w->last_ms = ms;
			w->last_seq = seq;
		}
	}
	if (w->batch && w->at >= ents->elements) {
		if (!w->rebuilding)   /* applied: acknowledged (a dead worker's unacknowledged entries are
		                       * what XAUTOCLAIM hands its successor) */
			ack(k, w, w->batch);
		freeReplyObject(w->batch);
		w->batch = NULL;
	}
	return progress;
}

static void drop(struct wpart *w)
{
	cl_part_free(w->p);
	w->p = NULL;
	if (w->batch)
		freeReplyObject(w->batch);
	w->batch = NULL;
}

/* Reads the next entries of a partition: while rebuilding the stream itself from the last
 * applied entry (XRANGE), then the consumer group's new entries (XREADGROUP >). */
static int read_more(struct worker *k, struct wpart *w, struct dm_error *err)
{
	redisReply *rep;
	if (w->rebuilding) {
		char from[48];
		snprintf(from, sizeof from, "(%llu-%llu", (unsigned long long)w->last_ms, (unsigned long long)w->last_seq);
		const char *argv[] = { "XRANGE", w->in, from, "+", "COUNT", "32" };
		size_t lens[6];
		for (int i = 0; i < 6; i++)
			lens[i] = strlen(argv[i]);
		if (!(rep = cl_redis_cmd(k->r, w->in, 6, argv, lens, err)))
			return -1;
		if (rep->type == REDIS_REPLY_ARRAY && rep->elements) {
			w->batch = rep;
			w->at = 0;
			return 1;
		}
		freeReplyObject(rep);
		w->rebuilding = 0;   /* caught up */
		snprintf(w->claim, sizeof w->claim, "0-0");
	}
	if (w->claim[0]) {
		/* What the worker before was handed and did not acknowledge, taken over and read as
		 * any entries: those the stream's read above held are skipped as applied (their ids
		 * are <= the last applied) and acknowledged; any it was handed after that read are
		 * applied here (the reads are fenced by the lease, below, so none should be: this
		 * does not count on it). Acknowledged unread, such an entry would be lost: XREADGROUP
		 * never hands an entry out twice. */
		const char *a2[] = { "XAUTOCLAIM", w->in, "workers", k->me, "0", w->claim, "COUNT", "1000" };
		size_t l2[8];
		for (int i = 0; i < 8; i++)
			l2[i] = strlen(a2[i]);
		redisReply *c = cl_redis_cmd(k->r, w->in, 8, a2, l2, err);
		if (!c)
			return -1;
		redisReply *ents = NULL;
		if (c->type == REDIS_REPLY_ARRAY && c->elements >= 2 && c->element[0]->type == REDIS_REPLY_STRING &&
		    strcmp(c->element[0]->str, "0-0") && strlen(c->element[0]->str) < sizeof w->claim)
			memcpy(w->claim, c->element[0]->str, strlen(c->element[0]->str) + 1);   /* more to claim */
		else
			w->claim[0] = 0;   /* all claimed, or no XAUTOCLAIM (an error reply) */
		if (c->type == REDIS_REPLY_ARRAY && c->elements >= 2 && c->element[1]->type == REDIS_REPLY_ARRAY &&
		    c->element[1]->elements) {
			ents = c->element[1];
			c->element[1] = NULL;
		}
		freeReplyObject(c);
		if (!ents)
			return 0;
		w->batch = ents;
		w->at = 0;
		return 1;
	}
	/* Only the lease's holder is handed entries. A worker whose lease ran out sees so at its
	 * next renewal, up to a third of the lease later; reading meanwhile it took entries that
	 * XREADGROUP then never hands to the worker that took the partition over (each is handed
	 * out once). The check and the read are one script, as for XTRIM (the lease and the stream
	 * share the partition's slot); -1: not ours, the partition goes as at a renewal. */
	static const char read_lua[] =
		"if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end "
		"return redis.call('XREADGROUP', 'GROUP', 'workers', ARGV[1], 'COUNT', '32', 'STREAMS', KEYS[2], '>')";
	const char *argv[] = { "EVAL", read_lua, "2", w->lease, w->in, k->me };
	size_t lens[] = { 4, sizeof read_lua - 1, 1, strlen(w->lease), strlen(w->in), strlen(k->me) };
	if (!(rep = cl_redis_cmd(k->r, w->in, 6, argv, lens, err)))
		return -1;
	if (rep->type == REDIS_REPLY_ERROR) {
		dm_fail(err, DM_ERR_IO, 0, "redis XREADGROUP %s: %s", w->in, rep->str);
		freeReplyObject(rep);
		return -1;
	}
	if (rep->type == REDIS_REPLY_INTEGER && rep->integer < 0) {
		freeReplyObject(rep);
		dm_log("cluster worker %s: lost partition %u (its lease is another's at a read)", k->me, w->id);
		drop(w);
		return 0;
	}
	if (rep->type != REDIS_REPLY_ARRAY || !rep->elements) {
		freeReplyObject(rep);
		return 0;
	}
	/* [[key, [entries]]]: keep the reply, read its entries */
	redisReply *ents = rep->element[0]->element[1];
	rep->element[0]->element[1] = NULL;
	freeReplyObject(rep);
	w->batch = ents;
	w->at = 0;
	return ents->elements > 0;
}

static int take(struct worker *k, struct wpart *w, struct dm_error *err)
{
	const char *argv[] = { "SET", w->lease, k->me, "NX", "PX", NULL };
	char px[16];
	snprintf(px, sizeof px, "%u", k->bo->lease_ms);
	argv[5] = px;
	int r = cmd_ok(k->r, w->lease, 6, argv, err);
	if (r)
		return r < 0 ? -1 : 0;
	if (!(w->p = cl_part_new(w->id, k->o, k->geo)))
		return dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
	const char *g[] = { "XGROUP", "CREATE", w->in, "workers", "0", "MKSTREAM" };
	struct dm_error e;
	cmd_ok(k->r, w->in, 6, g, &e);   /* BUSYGROUP: made by another worker already */
	w->last_ms = w->last_seq = 0;
	w->last_batch = 0;
	w->sub = 0;
	w->rebuilding = 1;
	w->claim[0] = 0;
	w->waiting = w->finished = 0;
	memset(w->snap_ms, 0, sizeof w->snap_ms);
	memset(w->snap_seq, 0, sizeof w->snap_seq);
	if (k->bo->snap_dir) {
		double t0 = now_s();
		if (snapshot_load(k, w) < 0)
			return dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
		k->st->rebuild_s += now_s() - t0;
	}
	return 1;
}

/* Holds our leases and takes the partitions nobody holds that are not done. Returns how many
 * partitions are done (by anyone), or -1. */
static int leases(struct worker *k, int first, struct dm_error *err)
{
	int done = 0;
	char px[16];
	snprintf(px, sizeof px, "%u", k->bo->lease_ms);
	for (uint32_t i = 0; i < k->bo->nparts; i++) {
		struct wpart *w = &k->w[i];
		if (w->p && w->finished) {
			done++;
			continue;
		}
		if (w->p) {   /* ours: renew, unless another took it (we were too slow: stop) */
			const char *argv[] = { "GET", w->lease };
			size_t lens[] = { 3, strlen(w->lease) };
			redisReply *rep = cl_redis_cmd(k->r, w->lease, 2, argv, lens, err);
			if (!rep)
				return -1;
			int mine = rep->type == REDIS_REPLY_STRING && !strcmp(rep->str, k->me);
			freeReplyObject(rep);
			if (!mine) {
				dm_log("cluster worker %s: lost partition %u", k->me, i);
				drop(w);
				continue;
			}
			const char *a2[] = { "PEXPIRE", w->lease, px };
			cmd_ok(k->r, w->lease, 3, a2, err);
			continue;
		}
		int64_t d;
		int r = get_i64(k->r, w->done_key, &d, err);
		if (r < 0)
			return -1;
		if (r == 0) {
			done++;
			continue;
		}
		/* our own share at the start; any partition whose worker's lease ran out later */
		if (first && i % k->bo->workers != k->bo->id)
			continue;
		double t0 = now_s();
		r = take(k, w, err);
		if (r < 0)
			return -1;
		if (r == 1 && !first) {
			w->taken = 1;
			k->st->takeovers++;
			if (!k->bo->quiet)
				dm_log("cluster worker %s: took over partition %u (rebuilding from its stream)", k->me, i);
		}
		(void)t0;
	}
	return done;
}

int cl_rworker_run(const struct cl_bus_opts *bo, const struct pl_opts *o, struct cl_bus_stats *st,
                   struct dm_error *err)
{
	struct worker k;
	memset(&k, 0, sizeof k);
	k.bo = bo;
	k.o = o;
	k.st = st;
	snprintf(k.me, sizeof k.me, "w%u-%d", bo->id, (int)getpid());
	key_of(k.up, sizeof k.up, bo->prefix, "m", "up");
	key_of(k.sums, sizeof k.sums, bo->prefix, "m", "sums");
	if (!(k.r = cl_redis_connect(bo->redis, err)))
		return -1;
	int rc = -1;
	/* the mapping of the inputs' time, which the feeder says */
	char wk[96];
	key_of(wk, sizeof wk, bo->prefix, "m", "when");
	int64_t when = 0;
	for (int i = 0;; i++) {
		int r = get_i64(k.r, wk, &when, err);
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		nap(50);
	}
	int status;
	struct pipeline *host = cl_pipeline_bare(o, "cluster worker", 0, when, &status, err);
	if (!host)
		goto out;
	k.geo = pl_geo(host);
	k.w = calloc(bo->nparts, sizeof *k.w);
	if (!k.w)
		goto out_host;
	for (uint32_t i = 0; i < bo->nparts; i++) {
		k.w[i].id = i;
		part_key(k.w[i].in, sizeof k.w[i].in, bo->prefix, i, "in");
		part_key(k.w[i].lease, sizeof k.w[i].lease, bo->prefix, i, "lease");
		part_key(k.w[i].done_key, sizeof k.w[i].done_key, bo->prefix, i, "done");
	}
	if (leases(&k, 1, err) < 0)
		goto out_parts;
	double next = now_s() + bo->lease_ms / 3000.0;
	double rebuild_t0 = 0;
	for (;;) {
		int progress = 0, rebuilding = 0;
		for (uint32_t i = 0; i < bo->nparts; i++) {
			struct wpart *w = &k.w[i];
			if (!w->p || w->finished)
				continue;
			rebuilding |= w->rebuilding;
			if (w->waiting) {
				int r = try_close(&k, w, err);
				if (r < 0)
					goto out_parts;
				progress |= r;
				continue;
			}
			if (!w->batch) {
				int r = read_more(&k, w, err);
				if (r < 0)
					goto out_parts;
				if (!r)
					continue;
			}
			int r = apply_batch(&k, w, err);
			if (r < 0)
				goto out_parts;
			progress |= r;
		}
		rebuilding = 0;
		for (uint32_t i = 0; i < bo->nparts; i++)
			rebuilding |= k.w[i].p && k.w[i].rebuilding && k.w[i].taken;
		if (rebuilding && !rebuild_t0)
			rebuild_t0 = now_s();
		if (!rebuilding && rebuild_t0) {
			st->rebuild_s += now_s() - rebuild_t0;
			rebuild_t0 = 0;
		}
		if (now_s() >= next) {
			int done = leases(&k, 0, err);
			if (done < 0)
				goto out_parts;
			if ((uint32_t)done == bo->nparts)
				break;
			next = now_s() + bo->lease_ms / 3000.0;
		}
		if (!progress)
			nap(2);
	}
	rc = 0;
	for (uint32_t i = 0; i < bo->nparts; i++)
		if (k.w[i].p)
			st->elements += cl_part_elements(k.w[i].p);
out_parts:
	for (uint32_t i = 0; k.w && i < bo->nparts; i++)
		drop(&k.w[i]);
	free(k.w);
out_host:
	pl_discard(host);
out:
	st->bus_commands = cl_redis_commands(k.r);
	st->failover_s = cl_redis_failover_wait(k.r);
	cl_redis_free(k.r);
	cl_buf_free(&k.buf);
	return rc;
}

/* ---------- the merger ---------- */

/* The id of a stream's first entry into id ("" when the stream is empty): 0, or -1 (err). */
static int first_id(struct cl_redis *r, const char *key, char *id, size_t n, struct dm_error *err)
{
	const char *argv[] = { "XRANGE", key, "-", "+", "COUNT", "1" };
	size_t lens[6];
	for (int i = 0; i < 6; i++)
		lens[i] = strlen(argv[i]);
	redisReply *rep = cl_redis_cmd(r, key, 6, argv, lens, err);
	if (!rep)
		return -1;
	id[0] = 0;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements && rep->element[0]->type == REDIS_REPLY_ARRAY &&
	    rep->element[0]->elements && rep->element[0]->element[0]->type == REDIS_REPLY_STRING)
		snprintf(id, n, "%s", rep->element[0]->element[0]->str);
	freeReplyObject(rep);
	return 0;
}

int cl_rmerge_run(const struct cl_bus_opts *bo, struct pipeline *(*new_out)(void *arg, int64_t when), void *arg,
                  struct pipeline **outp, struct cl_bus_stats *st, struct dm_error *err)
{
	struct cl_redis *r = cl_redis_connect(bo->redis, err);
	if (!r)
		return -1;
	char up[96], sums[96], wk[96], bk[96];
	key_of(up, sizeof up, bo->prefix, "m", "up");
	key_of(sums, sizeof sums, bo->prefix, "m", "sums");
	key_of(wk, sizeof wk, bo->prefix, "m", "when");
	key_of(bk, sizeof bk, bo->prefix, "m", "barriers");
	int rc = -1;
	int64_t when = 0;
	for (;;) {
		int g = get_i64(r, wk, &when, err);
		if (g < 0)
			goto out;
		if (g == 0)
			break;
		nap(50);
	}
	struct pipeline *out = new_out(arg, when);
	*outp = out;
	if (!out) {
		dm_fail(err, DM_ERR_IO, 0, "the merger's outputs could not be opened");
		goto out;
	}
	struct cl_merge *m = cl_merge_new(bo->nparts, out);
	struct cl_buf sb;
	memset(&sb, 0, sizeof sb);
	char last[48] = "0-0";
	if (!m)
		goto out;
	/* A restart (docs/scale.md "A merger restart"): the store says how many barriers the
	 * merger before had committed, with the up stream's first entry id naming the run; the
	 * up stream is read again from its start (it is the merger's whole input, never trimmed),
	 * those barriers merged again for the baselines but not written twice. */
	char ck[160], run[48] = "", cv[96];
	snprintf(ck, sizeof ck, "cluster.%s.merged", bo->prefix);
	uint32_t resume = 0;
	if (first_id(r, up, run, sizeof run, err) < 0)
		goto out_m;
	if (run[0] && pl_get_meta(out, ck, cv, sizeof cv) == 0) {
		char rid[48];
		unsigned k;
		if (sscanf(cv, "%u %47s", &k, rid) == 2 && !strcmp(rid, run)) {
			resume = k;
			cl_merge_resume(m, k);
			if (!bo->quiet)
				dm_log("cluster merge: resuming: %u barriers of run %s are stored; merging them again "
				       "from the bus without writing them", k, run);
		} else {
			dm_log("cluster merge: the store's checkpoint '%s' is of another run (the bus's is %s): ignored",
			       cv, run);
		}
	}
	st->resumed = resume;
	double t_start = now_s();
	/* A merge that stalls says what it waits for (which partitions' sizes or rows), after a
	 * minute without a barrier's sums or rows, then at twice the wait each time: a worker
	 * gone with nobody to take its partitions over, or a partition that lost a batch, is
	 * named in the log rather than found by reading the bus by hand. */
	double t_moved = t_start, say_after = 60;
	uint64_t moved = cl_merge_progress(m);
	for (;;) {
		uint64_t mark = cl_merge_progress(m);
		double t_now = now_s();
		if (mark != moved) {
			moved = mark;
			t_moved = t_now;
			say_after = 60;
		} else if (t_now - t_moved >= say_after) {
			char what[160];
			cl_merge_waiting(m, what, sizeof what);
			dm_log("cluster merge: nothing merged for %.0f s; waiting for %s", t_now - t_moved, what);
			say_after *= 2;
		}
		const char *argv[] = { "XREAD", "COUNT", "1000", "BLOCK", "200", "STREAMS", up, last };
		size_t lens[8];
		for (int i = 0; i < 8; i++)
			lens[i] = strlen(argv[i]);
		redisReply *rep = cl_redis_cmd(r, up, 8, argv, lens, err);
		if (!rep)
			goto out_m;
		if (rep->type == REDIS_REPLY_ARRAY && rep->elements) {
			redisReply *ents = rep->element[0]->element[1];
			for (size_t i = 0; i < ents->elements; i++) {
				redisReply *e = ents->element[i];
				snprintf(last, sizeof last, "%s", e->element[0]->str);
				if (!run[0])
					snprintf(run, sizeof run, "%s", last);
				redisReply *f = e->element[1];
				st->messages++;
				if (f->elements < 2) {
					st->bad++;
					continue;
				}
				const uint8_t *msg = (const uint8_t *)f->element[1]->str;
				size_t len = f->element[1]->len;
				struct dm_error e2;
				memset(&e2, 0, sizeof e2);
				int x = len && msg[0] == CL_M_SIZES ? cl_merge_sizes(m, msg, len, &sb, &e2)
				        : len && msg[0] == CL_M_ROWS ? cl_merge_rows(m, msg, len, &e2)
				                                     : dm_fail(&e2, DM_ERR_BAD_TYPE, 0, "merger: message of unknown kind");
				if (x < 0) {
					st->bad++;
					dm_log("cluster merge: %s (skipped)", e2.what);
					if (e2.code == DM_ERR_NOMEM) {
						*err = e2;
						freeReplyObject(rep);
						goto out_m;
					}
					continue;
				}
				if (x == 1 && msg[0] == CL_M_ROWS && cl_merge_done(m) > resume) {
					/* the rows and events of the barriers merged, committed with the count */
					snprintf(cv, sizeof cv, "%u %s", cl_merge_done(m), run);
					if (pl_checkpoint(out, ck, cv)) {
						dm_fail(err, DM_ERR_IO, 0, "the merger's checkpoint could not be stored");
						freeReplyObject(rep);
						goto out_m;
					}
				}
				if (x == 1 && msg[0] == CL_M_ROWS && resume && !st->rebuild_s && cl_merge_done(m) >= resume)
					st->rebuild_s = now_s() - t_start;
				if (x == 1 && msg[0] == CL_M_SIZES) {
					uint32_t seq;
					cl_msg_seq(sb.p, sb.n, &seq, NULL);
					char id[32];
					snprintf(id, sizeof id, "%u-1", seq + 1);
					const char *a2[] = { "XADD", sums, id, "m", (const char *)sb.p };
					size_t l2[] = { 4, strlen(sums), strlen(id), 1, sb.n };
					redisReply *x2 = cl_redis_cmd_durable(r, sums, 5, a2, l2, err);
					if (!x2) {
						freeReplyObject(rep);
						goto out_m;
					}
					freeReplyObject(x2);
				}
			}
		}
		freeReplyObject(rep);
		int64_t nb;
		int g = get_i64(r, bk, &nb, err);
		if (g < 0)
			goto out_m;
		if (g == 0 && cl_merge_done(m) >= (uint64_t)nb)
			break;
	}
	st->barriers = cl_merge_done(m);
	st->elements = cl_merge_rows_out(m);
	rc = 0;
out_m:
	cl_merge_free(m);
	cl_buf_free(&sb);
out:
	st->bus_commands = cl_redis_commands(r);
	st->failover_s = cl_redis_failover_wait(r);
	cl_redis_free(r);
	return rc;
}
