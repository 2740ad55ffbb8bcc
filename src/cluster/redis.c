/* Redis Cluster routing over hiredis (redis.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "cluster/redis.h"

enum { NSLOTS = 16384, MAX_NODES = 64 };
/* How long a command waits for a failover (a master unreachable, CLUSTERDOWN) before it
 * fails: a replica takes over after cluster-node-timeout plus an election (about 2x). */
enum { FAILOVER_WAIT_MS = 30000, RETRY_NAP_MS = 100 };

struct node {
	char host[64];
	int port;
	redisContext *c;
	unsigned pending;      /* pipelined commands awaiting replies */
	unsigned gen;          /* connections made: a pipelined command of an older one is lost */
};

struct queued {
	int node;
	unsigned slot;
	char *cmd;             /* formatted, kept for a MOVED resend */
	size_t len;
	unsigned gen;          /* its node's connection when it was queued */
	uint8_t repl;          /* that node had a replica then: the map may name its successor since */
};

struct cl_redis {
	struct node n[MAX_NODES];
	int nn;
	uint16_t slot[NSLOTS];   /* node index */
	uint8_t repl[NSLOTS];    /* the slot's master has a replica (CLUSTER SLOTS) */
	double waited_s;         /* time spent waiting for failovers */
	int cluster;
	struct queued *q;
	size_t nq, capq;
	unsigned long long commands;
};

static uint16_t crc16(const char *buf, size_t len)
{
	uint16_t crc = 0;
	for (size_t i = 0; i < len; i++) {
		crc ^= (uint16_t)((uint8_t)buf[i] << 8);
		for (int k = 0; k < 8; k++)
			crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
	}
	return crc;
}

unsigned cl_redis_slot(const char *key, size_t len)
{
	const char *o = memchr(key, '{', len);
	if (o) {
		const char *c = memchr(o + 1, '}', len - (size_t)(o + 1 - key));
		if (c && c > o + 1)
			return crc16(o + 1, (size_t)(c - o - 1)) % NSLOTS;
	}
	return crc16(key, len) % NSLOTS;
}

static int node_find_or_add(struct cl_redis *r, const char *host, int port)
{
	for (int i = 0; i < r->nn; i++)
		if (r->n[i].port == port && !strcmp(r->n[i].host, host))
			return i;
	if (r->nn == MAX_NODES)
		return -1;
	struct node *n = &r->n[r->nn];
	memset(n, 0, sizeof *n);
	snprintf(n->host, sizeof n->host, "%s", host);
	n->port = port;
	return r->nn++;
}

static redisContext *node_ctx(struct cl_redis *r, int i, struct dm_error *err)
{
	struct node *n = &r->n[i];
	if (n->c && !n->c->err)
		return n->c;
	if (n->c)
		redisFree(n->c);
	struct timeval tv = { 2, 0 };
	n->c = redisConnectWithTimeout(n->host, n->port, tv);
	if (!n->c || n->c->err) {
		dm_fail(err, DM_ERR_IO, 0, "redis %s:%d: %s", n->host, n->port, n->c ? n->c->errstr : "out of memory");
		if (n->c)
			redisFree(n->c);
		n->c = NULL;
		return NULL;
	}
	struct timeval rt = { 30, 0 };
	redisSetTimeout(n->c, rt);
	n->pending = 0;
	n->gen++;
	return n->c;
}

/* Whether a master has a replica online now, asked of the master itself (ROLE lists the
 * replicas WAIT counts): 1, 0, or -1 when it does not answer. Asked when CLUSTER SLOTS lists
 * none: a node leaves out a replica whose replication offset it has not yet heard by gossip,
 * as every node does for about a second after a cluster is made (seen on Redis 7.0: no range
 * with its replica for 0.6-0.9 s after cluster_state:ok and every replica's link up). A client
 * that loaded its map then never waited for that slot's writes, and a master killed later lost
 * writes nobody sent again: a worker's rows or sizes, or the feeder's batches, and the merger
 * waited for ever (5 of 333 runs of cluster_redis.sh's failover case on a cluster just made,
 * the master killed at a random point of the feed). */
static int has_replica(struct cl_redis *r, int ni)
{
	struct dm_error e;
	redisContext *c = node_ctx(r, ni, &e);
	if (!c)
		return -1;
	redisReply *rep = redisCommand(c, "ROLE");
	if (!rep)
		return -1;
	int have = -1;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 3 && rep->element[0]->type == REDIS_REPLY_STRING &&
	    !strcmp(rep->element[0]->str, "master") && rep->element[2]->type == REDIS_REPLY_ARRAY)
		have = rep->element[2]->elements > 0;
	freeReplyObject(rep);
	return have;
}

/* The slot map from any reachable node (CLUSTER SLOTS); a server without cluster mode holds
 * every slot. */
static int load_slots(struct cl_redis *r, struct dm_error *err)
{
	for (int i = 0; i < r->nn; i++) {
		redisContext *c = node_ctx(r, i, err);
		if (!c)
			continue;
		redisReply *rep = redisCommand(c, "CLUSTER SLOTS");
		if (!rep)
			continue;
		if (rep->type == REDIS_REPLY_ERROR) {   /* not a cluster: one server */
			freeReplyObject(rep);
			r->cluster = 0;
			for (int s = 0; s < NSLOTS; s++) {
				r->slot[s] = (uint16_t)i;
				r->repl[s] = 0;
			}
			return 0;
		}
		r->cluster = 1;
		int8_t asked[MAX_NODES];   /* has_replica per node, once a load (a master may hold ranges) */
		memset(asked, -2, sizeof asked);
		for (size_t k = 0; rep->type == REDIS_REPLY_ARRAY && k < rep->elements; k++) {
			redisReply *e = rep->element[k];
			if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 || e->element[2]->type != REDIS_REPLY_ARRAY ||
			    e->element[2]->elements < 2)
				continue;
			long long lo = e->element[0]->integer, hi = e->element[1]->integer;
			const char *host = e->element[2]->element[0]->str;
			int port = (int)e->element[2]->element[1]->integer;
			int ni = node_find_or_add(r, host && host[0] ? host : r->n[i].host, port);
			/* a replica listed is one; none listed is asked of the master (a dead one, as in
			 * a failover, is not: its range lists its replica until that is promoted) */
			if (ni >= 0 && e->elements <= 3 && asked[ni] == -2)
				asked[ni] = (int8_t)has_replica(r, ni);
			int repl = e->elements > 3 || (ni >= 0 && asked[ni] > 0);
			for (long long s = lo; ni >= 0 && s <= hi && s < NSLOTS; s++) {
				r->slot[s] = (uint16_t)ni;
				r->repl[s] = (uint8_t)repl;
			}
		}
		freeReplyObject(rep);
		return 0;
	}
	return -1;
}

struct cl_redis *cl_redis_connect(const char *nodes, struct dm_error *err)
{
	struct cl_redis *r = calloc(1, sizeof *r);
	if (!r) {
		dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
		return NULL;
	}
	char buf[1024];
	snprintf(buf, sizeof buf, "%s", nodes);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *colon = strrchr(t, ':');
		int port = colon ? atoi(colon + 1) : 6379;
		if (colon)
			*colon = 0;
		if (port <= 0 || port > 65535 || node_find_or_add(r, t, port) < 0) {
			dm_fail(err, DM_ERR_BAD_VALUE, 0, "redis node %s: want HOST:PORT", t);
			cl_redis_free(r);
			return NULL;
		}
	}
	if (!r->nn || load_slots(r, err)) {
		if (!r->nn)
			dm_fail(err, DM_ERR_BAD_VALUE, 0, "no redis node given");
		cl_redis_free(r);
		return NULL;
	}
	return r;
}

void cl_redis_free(struct cl_redis *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->nn; i++)
		if (r->n[i].c)
			redisFree(r->n[i].c);
	for (size_t i = 0; i < r->nq; i++)
		free(r->q[i].cmd);
	free(r->q);
	free(r);
}

unsigned long long cl_redis_commands(const struct cl_redis *r) { return r->commands; }

static int is_moved(const redisReply *rep)
{
	return rep->type == REDIS_REPLY_ERROR && (!strncmp(rep->str, "MOVED ", 6) || !strncmp(rep->str, "ASK ", 4));
}

/* "MOVED 3999 127.0.0.1:6381": the slot has moved; reload the map. */
static int moved(struct cl_redis *r, const redisReply *rep, struct dm_error *err)
{
	if (!is_moved(rep))
		return 0;
	load_slots(r, err);
	return 1;
}

static redisReply *send_formatted(struct cl_redis *r, int node, const char *cmd, size_t len, struct dm_error *err)
{
	redisContext *c = node_ctx(r, node, err);
	if (!c)
		return NULL;
	void *rep = NULL;
	r->commands++;
	if (redisAppendFormattedCommand(c, cmd, len) != REDIS_OK || redisGetReply(c, &rep) != REDIS_OK) {
		dm_fail(err, DM_ERR_IO, 0, "redis %s:%d: %s", r->n[node].host, r->n[node].port, c->errstr);
		return NULL;
	}
	return rep;
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The cluster is failing over: the master of a slot is unreachable (the connection failed),
 * or a node answers that the cluster is down or the slot not served yet. */
static int failing_over(const redisReply *rep)
{
	if (!rep)
		return 1;
	if (rep->type != REDIS_REPLY_ERROR)
		return 0;
	static const char *const codes[] = { "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "LOADING" };
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (!strncmp(rep->str, codes[i], strlen(codes[i])))
			return 1;
	return 0;
}

/* Sends a formatted command to its slot's node, following MOVED, and through a failover:
 * while the slot's master is unreachable or the cluster down, the slot map is reloaded from
 * the nodes that answer every RETRY_NAP_MS until a replica has taken over (or
 * FAILOVER_WAIT_MS passed: then the last failure). A command retried after a lost connection
 * may have run once already: the bus's messages are safe to see twice (docs/scale.md). */
static redisReply *send_slot(struct cl_redis *r, unsigned slot, const char *cmd, size_t len, struct dm_error *err)
{
	redisReply *rep = NULL;
	double t0 = 0;
	for (int moves = 0;;) {
		rep = send_formatted(r, r->slot[slot], cmd, len, err);
		if (rep && moved(r, rep, err) && ++moves < 16) {
			freeReplyObject(rep);
			continue;
		}
		if (!failing_over(rep))
			break;
		double now = mono_s();
		if (!t0) {
			t0 = now;
			dm_log("redis: %s: waiting for the cluster to fail over", rep ? rep->str : err->what);
		}
		if (now - t0 > FAILOVER_WAIT_MS / 1000.0)
			break;
		if (rep)
			freeReplyObject(rep);
		rep = NULL;
		struct timespec ts = { 0, RETRY_NAP_MS * 1000000L };
		nanosleep(&ts, NULL);
		struct dm_error e2;
		load_slots(r, &e2);
	}
	if (t0)
		r->waited_s += mono_s() - t0;
	return rep;
}

redisReply *cl_redis_cmd(struct cl_redis *r, const char *key, int argc, const char **argv, const size_t *lens,
                         struct dm_error *err)
{
	char *cmd;
	int len = redisFormatCommandArgv(&cmd, argc, argv, lens);
	if (len < 0) {
		dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
		return NULL;
	}
	redisReply *rep = send_slot(r, cl_redis_slot(key, strlen(key)), cmd, (size_t)len, err);
	free(cmd);
	return rep;
}

/* WAIT for one replica (1 s at most) on node's connection: 0 (logged when none acknowledged:
 * a failover now could lose the writes), 1 when the connection broke (the writes may be lost
 * with the master). */
static int replicated(struct cl_redis *r, int node, const char *what, struct dm_error *err)
{
	static const char wait_cmd[] = "*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$4\r\n1000\r\n";
	redisReply *w = send_formatted(r, node, wait_cmd, sizeof wait_cmd - 1, err);
	int lost = !w || w->type != REDIS_REPLY_INTEGER;
	if (!lost && w->integer < 1)
		dm_log("redis: writes to %s not on a replica after 1 s", what);
	if (w)
		freeReplyObject(w);
	return lost;
}

redisReply *cl_redis_cmd_durable(struct cl_redis *r, const char *key, int argc, const char **argv,
                                 const size_t *lens, struct dm_error *err)
{
	unsigned slot = cl_redis_slot(key, strlen(key));
	for (int tries = 0;; tries++) {
		redisReply *rep = cl_redis_cmd(r, key, argc, argv, lens, err);
		if (!rep || rep->type == REDIS_REPLY_ERROR || !r->repl[slot] || tries == 8)
			return rep;
		/* WAIT on the same connection: the master's own replicas; a connection lost meanwhile
		 * may have lost the write with the master: written again on its successor */
		if (replicated(r, r->slot[slot], key, err)) {
			freeReplyObject(rep);
			continue;
		}
		return rep;
	}
}

double cl_redis_failover_wait(const struct cl_redis *r) { return r->waited_s; }

int cl_redis_append(struct cl_redis *r, const char *key, int argc, const char **argv, const size_t *lens)
{
	if (r->nq == r->capq) {
		size_t cap = r->capq ? r->capq * 2 : 256;
		struct queued *q = realloc(r->q, cap * sizeof *q);
		if (!q)
			return -1;
		r->q = q;
		r->capq = cap;
	}
	struct queued *q = &r->q[r->nq];
	int len = redisFormatCommandArgv(&q->cmd, argc, argv, lens);
	if (len < 0)
		return -1;
	q->len = (size_t)len;
	q->slot = cl_redis_slot(key, strlen(key));
	q->node = r->slot[q->slot];
	struct dm_error e;
	redisContext *c = node_ctx(r, q->node, &e);
	if (!c || redisAppendFormattedCommand(c, q->cmd, q->len) != REDIS_OK) {
		free(q->cmd);
		return -1;
	}
	r->n[q->node].pending++;
	q->gen = r->n[q->node].gen;
	q->repl = r->repl[q->slot];
	r->commands++;
	r->nq++;
	return 0;
}

int cl_redis_flush(struct cl_redis *r, struct dm_error *err)
{
	int rc = 0;
	uint8_t redo[MAX_NODES] = { 0 };
	/* Every pipelined reply is read before anything is sent again. A command sent on a
	 * connection whose replies are still pending is answered by the next of them: during a
	 * failover a refused (CLUSTERDOWN) XADD was taken for written that way, its partition's
	 * batch lost, and with it a barrier (the merger then waited for ever, docs/scale.md). */
	for (size_t i = 0; i < r->nq; i++) {
		struct queued *q = &r->q[i];
		redisContext *c = r->n[q->node].c;
		void *rep = NULL;
		/* a connection made again since (a failover) never had it */
		if (!c || r->n[q->node].gen != q->gen || redisGetReply(c, &rep) != REDIS_OK) {
			redo[q->node] = 1;
			continue;
		}
		redisReply *x = rep;
		if (is_moved(x) || failing_over(x))
			redo[q->node] = 1;
		else if (x->type == REDIS_REPLY_ERROR && !rc) {
			dm_fail(err, DM_ERR_IO, 0, "redis: %s", x->str);
			rc = -1;
		}
		freeReplyObject(x);
	}
	/* Durable, as cl_redis_cmd_durable. A node that refused some, whose connection broke, or
	 * whose WAIT failed may have lost what it took (a master's acknowledged writes die with it
	 * unless its replica had them): all its commands of this flush are sent again, in their
	 * order, to their slots' nodes now. A stream so gets its batches in order after the copies
	 * it kept, a batch it has already coming twice (the reader skips it: src/cluster/rbus.c).
	 * The replica asked for is the one the node had when it took them: once the map names its
	 * successor (no replica yet), the dead master's writes would otherwise pass unconfirmed. */
	for (int pass = 0; !rc && pass < 4; pass++) {
		uint8_t asked[MAX_NODES] = { 0 };
		int any = 0;
		for (size_t i = 0; i < r->nq; i++) {
			struct queued *q = &r->q[i];
			if (redo[q->node])
				any = 1;
			else if (asked[q->node])
				continue;
			else if (r->n[q->node].gen != q->gen)
				redo[q->node] = any = 1;
			else if (q->repl) {
				asked[q->node] = 1;
				if (replicated(r, q->node, r->n[q->node].host, err))
					redo[q->node] = any = 1;
			}
		}
		if (!any)
			break;
		uint8_t again[MAX_NODES];
		memcpy(again, redo, sizeof again);
		memset(redo, 0, sizeof redo);
		for (size_t i = 0; !rc && i < r->nq; i++) {
			struct queued *q = &r->q[i];
			if (!again[q->node])
				continue;
			redisReply *x = send_slot(r, q->slot, q->cmd, q->len, err);
			if (!x || x->type == REDIS_REPLY_ERROR) {
				if (x)
					dm_fail(err, DM_ERR_IO, 0, "redis: %s", x->str);
				rc = -1;
			}
			if (x)
				freeReplyObject(x);
			q->node = r->slot[q->slot];
			q->gen = r->n[q->node].gen;
			q->repl = r->repl[q->slot];
		}
	}
	for (size_t i = 0; i < r->nq; i++)
		free(r->q[i].cmd);
	r->nq = 0;
	for (int i = 0; i < r->nn; i++)
		r->n[i].pending = 0;
	return rc;
}
