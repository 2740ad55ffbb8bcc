/* A Redis (or Redis Cluster) client over hiredis: commands go to the node that holds their
 * key's slot (CRC16 of the key or its {hash tag}, CLUSTER SLOTS), a MOVED answer reloads the
 * slot map and sends the command again; an unreachable master or CLUSTERDOWN waits for a
 * replica to take over (failover) and sends it again. Debian's hiredis (0.14) has no cluster support of its
 * own: this is the small part of it darkmap needs. */
#ifndef DM_CLUSTER_REDIS_H
#define DM_CLUSTER_REDIS_H

#include <hiredis/hiredis.h>

#include "base/err.h"

struct cl_redis;

/* nodes: "HOST:PORT[,HOST:PORT...]", any of the cluster's nodes (or one plain server). */
struct cl_redis *cl_redis_connect(const char *nodes, struct dm_error *err);
void cl_redis_free(struct cl_redis *r);
/* The slot of a key (0..16383). */
unsigned cl_redis_slot(const char *key, size_t len);
/* One command on the node of key (argv[1] is not assumed to be the key). The reply is the
 * caller's (freeReplyObject); NULL when the connection failed (err says why). */
redisReply *cl_redis_cmd(struct cl_redis *r, const char *key, int argc, const char **argv, const size_t *lens,
                         struct dm_error *err);
/* A write that must survive a failover (the merger's input, the sums): when the slot's master
 * has a replica, WAIT until one has it (1 s at most); written again when the connection was
 * lost before. */
redisReply *cl_redis_cmd_durable(struct cl_redis *r, const char *key, int argc, const char **argv,
                                 const size_t *lens, struct dm_error *err);
/* Seconds spent waiting for failovers. */
double cl_redis_failover_wait(const struct cl_redis *r);
/* Pipelined: queue commands, then cl_redis_flush reads every reply (errors: -1, err the first). */
int cl_redis_append(struct cl_redis *r, const char *key, int argc, const char **argv, const size_t *lens);
int cl_redis_flush(struct cl_redis *r, struct dm_error *err);
/* Round trips made and commands sent (the bus overhead the bench reports). */
unsigned long long cl_redis_commands(const struct cl_redis *r);

#endif
