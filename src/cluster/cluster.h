/* Scale-out (docs/scale.md): the elements cut by address range into partitions, each with its
 * own RIB and signal, whose per-bin partial results merge into exactly the rows one process
 * gives.
 *
 *  - The cut (cl_cut): a feeder taps a pipeline's source (pl_set_tap) and sends each element to
 *    the partition of its prefix: IPv4 by /8, IPv6 by /16 (a prefix and every more-specific of
 *    it meet in one partition); shorter prefixes, records and collector activity go to the
 *    control partition 0. What every partition must see alike is broadcast: collector names
 *    and peers in order of first sight (so a peer has the same index everywhere), session state
 *    elements, the session coming up that a route of a down peer implies (rib.h came_up), and
 *    the barriers (start, each time that closes a bin, finish).
 *  - A partition (cl_part) applies its messages to its RIB and signal. At a barrier it hands
 *    over its peers' table sizes (phase 1); the merger sums them and hands the sums back; the
 *    partition's signal chooses the full-feed set from the sums (sig_set_ff_sizes), which is the
 *    set one process chooses, closes the bins and hands over its rows raw (phase 2: sig_part).
 *  - The merger (cl_merge) adds the rows of every partition: counts add, covered units add
 *    (rounded to /24s after), per full-feed peer counts add (peers_seeing: the peers with a
 *    non-zero sum, the OR of the partitions' peer sets), peer_frac from the summed units and
 *    the merger's own running maximum of slash24; bin-wide fields (records, collectors, the
 *    gap flag) from the control partition.
 * Messages are bytes (big-endian, first byte the kind) so that any bus carries them. */
#ifndef DM_CLUSTER_CLUSTER_H
#define DM_CLUSTER_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "pipeline/pipeline.h"

enum { CL_ALL = 0xffffffffu, CL_CONTROL = 0, CL_MAX_PARTS = 4096 };

enum cl_msg_kind {
	CL_M_COLLECTOR = 'C',   /* broadcast: a collector's name (indexes in order of sight) */
	CL_M_PEER = 'P',        /* broadcast: collector, address, ASN (indexes in order of sight) */
	CL_M_ELEM = 'E',        /* an element, to its prefix's partition (S and implied ups: all) */
	CL_M_RECORD = 'R',      /* control: a record of a collector read at a time */
	CL_M_ACTIVE = 'A',      /* control: a collector's update input began or ended */
	CL_M_BARRIER = 'B',     /* broadcast: start, a time that may close bins, finish */
	CL_M_SIZES = 'Z',       /* partition -> merger: its peers' table sizes at a barrier */
	CL_M_SUMS = 'M',        /* merger -> partitions: the sizes summed */
	CL_M_ROWS = 'W',        /* partition -> merger: its rows and visibility changes */
};

enum cl_barrier_kind { CL_B_START = 'S', CL_B_TIME = 'T', CL_B_FINISH = 'F' };

struct cl_barrier {
	uint32_t seq;           /* 0, 1, 2 ... in the order the feeder sent them */
	uint8_t kind;           /* enum cl_barrier_kind */
	int64_t t;              /* START: the latest time of the RIB load; TIME: the time */
};

/* A growable byte buffer messages are written into. */
struct cl_buf {
	uint8_t *p;
	size_t n, cap;
	int failed;             /* out of memory: the buffer is incomplete */
};
void cl_buf_free(struct cl_buf *b);

/* Partition of a prefix among nparts (partition 0 = control and prefixes shorter than their
 * family's bucket). */
uint32_t cl_partition_of(const struct dm_prefix *p, uint32_t nparts);

/* ---- the cut (feeder) ---- */

typedef void (*cl_send_fn)(void *arg, uint32_t part, const uint8_t *msg, size_t len);
struct cl_cut;
/* bin: the signal's bin (seconds); names: the RIB whose collector names the source's indexes refer to (pl_rib of the tapped
 * pipeline); send: called for each message (part CL_ALL: every partition). */
struct cl_cut *cl_cut_new(uint32_t nparts, uint32_t bin, struct rib *names, cl_send_fn send, void *arg);
void cl_cut_free(struct cl_cut *c);
/* The tap to give pl_set_tap. */
void cl_cut_tap(struct cl_cut *c, struct pl_tap *tap);
uint64_t cl_cut_messages(const struct cl_cut *c);
uint32_t cl_cut_barriers(const struct cl_cut *c);
/* A backfill job hands the cut's state to the job of the next time range: the collector names
 * of names in order, the peers in order with their sessions, the clock and the barrier count.
 * cl_cut_load (a decoder) restores it into a new cut over a new pipeline's names (which must not
 * hold other names yet): 0, or a negative enum dm_err with err saying what and where. */
struct cur;
void cl_cut_save(const struct cl_cut *c, struct cl_buf *out);
int cl_cut_load(struct cl_cut *c, struct cur *in, struct dm_error *err);

/* ---- a partition (worker side) ---- */

struct cl_part;
/* The signal options and row selection of o (--rows, --country, --asn), the mapping geo
 * (NULL: every prefix ZZ). Visibility changes always go with the rows: the merger keeps them
 * when it has --db or --changes. */
struct cl_part *cl_part_new(uint32_t id, const struct pl_opts *o, struct geo_db *geo);
void cl_part_free(struct cl_part *p);
/* Applies a message. Returns 0, 1 at a barrier (b filled: call cl_part_sizes, then
 * cl_part_close with the merger's sums), or a negative enum dm_err for a message that is
 * malformed or names an unknown collector or peer: counted (cl_part_bad), err says what. */
int cl_part_apply(struct cl_part *p, const uint8_t *msg, size_t len, struct cl_barrier *b, struct dm_error *err);
/* Phase 1: the SIZES message for barrier b. */
void cl_part_sizes(struct cl_part *p, const struct cl_barrier *b, struct cl_buf *out);
/* Phase 2: takes the SUMS message, closes what the barrier closes, writes the ROWS message.
 * 0, or a negative enum dm_err when sums is not the SUMS message of this barrier. */
int cl_part_close(struct cl_part *p, const struct cl_barrier *b, const uint8_t *sums, size_t len, struct cl_buf *out,
                  struct dm_error *err);
uint64_t cl_part_bad(const struct cl_part *p);
uint64_t cl_part_elements(const struct cl_part *p);
uint32_t cl_part_id(const struct cl_part *p);
struct rib *cl_part_rib(struct cl_part *p);

/* ---- exact snapshots of a partition (snap.c; docs/scale.md "Snapshots") ---- */

enum { CL_SNAP_ID_MAX = 63 };
struct cl_snap_info {
	uint32_t part, seq;          /* the partition, the barrier after whose close it was taken */
	int64_t t;                   /* that barrier's time */
	char stream_id[CL_SNAP_ID_MAX + 1];   /* the last stream entry it covers ("" when none) */
	uint64_t batch;              /* the feeder's batch number of that entry (rbus.c) */
};
struct snapbuf;
struct cur;
/* Appends p's whole state (RIB, signal, its sums and counters) to out, with a header naming
 * barrier b (taken after cl_part_close of b), stream_id and batch. 0, or -1 (out of memory). */
int cl_part_snapshot(const struct cl_part *p, const struct cl_barrier *b, const char *stream_id, uint64_t batch,
                     struct snapbuf *out);
/* Loads a snapshot into p fresh from cl_part_new (the same options): 0, or a negative enum
 * dm_err for bytes that are truncated, corrupt (the CRC-32 of the body), of another build or of
 * another partition, err saying what and at which offset; p is then only fit for cl_part_free
 * (the caller makes a new one and replays the stream from its start). */
int cl_part_restore(struct cl_part *p, const uint8_t *buf, size_t len, struct cl_snap_info *info, struct dm_error *err);
/* The header alone (info filled; body the bytes after it, CRC checked). 0 or negative. */
int cl_snap_header(const uint8_t *buf, size_t len, struct cl_snap_info *info, struct cur *body, struct dm_error *err);
/* Writes b to path through a temporary name and a rename. 0 or negative (err). */
int cl_snap_save(const char *path, const struct snapbuf *b, struct dm_error *err);

/* ---- the merger ---- */

struct cl_merge;
/* Merged rows and changes go to the pipeline out (pl_rows, pl_change): its store, CSV,
 * detector. */
struct cl_merge *cl_merge_new(uint32_t nparts, struct pipeline *out);
void cl_merge_free(struct cl_merge *m);
/* A SIZES message. Returns 1 when every partition's sizes of its barrier are in (sums holds
 * the SUMS message to hand back), 0 when more are awaited, <0 malformed. */
int cl_merge_sizes(struct cl_merge *m, const uint8_t *msg, size_t len, struct cl_buf *sums, struct dm_error *err);
/* A ROWS message. Returns 1 when every partition's rows of its barrier are in and the merged
 * rows went out, 0 when more are awaited, <0 malformed. */
int cl_merge_rows(struct cl_merge *m, const uint8_t *msg, size_t len, struct dm_error *err);
/* A restarted merger: the rows of barriers below merged (already stored by the merger that
 * died) are merged again, from the start of the bus, to rebuild the running baselines, but
 * not handed to the pipeline. */
void cl_merge_resume(struct cl_merge *m, uint32_t merged);
/* Barriers completed (rows merged and written). */
uint32_t cl_merge_done(const struct cl_merge *m);
/* What the merger waits for, said when it stalls: "barrier K: the sizes (or rows) of
 * partition(s) 1, 5 not in (6 of 8)", into buf (n bytes, cut to fit). */
void cl_merge_waiting(const struct cl_merge *m, char *buf, size_t n);
/* Changes whenever a barrier's sums go out or its rows are merged (a stall is its not changing). */
uint64_t cl_merge_progress(const struct cl_merge *m);
uint64_t cl_merge_rows_out(const struct cl_merge *m);

/* A pipeline of a role without outputs (no store, CSV, side files or detector; quiet): a feeder
 * (feeder 1: it only reads, its source's calls then tapped: no mapping, no row selection) or the
 * host of the mapping a worker's partitions use (feeder 0: pl_geo). NULL (status, err) on failure. */
struct pipeline *cl_pipeline_bare(const struct pl_opts *o, const char *name, int feeder, int64_t when, int *status,
                                  struct dm_error *err);

/* ---- in one process (the exactness test, `darkmap cluster local`) ----
 * Every partition and the merger in this process: cl_local_send is the cut's send function,
 * applying each message at once and running both phases of a barrier over every partition. */
struct cl_local;
struct cl_local *cl_local_new(uint32_t nparts, const struct pl_opts *o, struct geo_db *geo, struct pipeline *out);
void cl_local_free(struct cl_local *l);
void cl_local_send(void *arg, uint32_t part, const uint8_t *msg, size_t len);
/* Messages counted and skipped (malformed, unknown collector or peer); 0 when none. */
uint64_t cl_local_bad(const struct cl_local *l);
/* 0, or -1 after a failure (err says what; the run's rows are incomplete). */
int cl_local_failed(const struct cl_local *l, struct dm_error *err);

/* ---- over Redis Streams (rbus.c; docs/scale.md "The bus") ----
 * Keys, all under prefix (a cluster's name): PREFIX:{pN}:in, partition N's stream (the cut's
 * messages; consumer group "workers"); PREFIX:{pN}:lease, the worker that holds N (PX lease);
 * PREFIX:{pN}:done, N has passed its finish barrier; PREFIX:{m}:up, sizes and rows to the
 * merger; PREFIX:{m}:sums, the sums of barrier k as entry (k+1)-1; PREFIX:{m}:when, the
 * inputs' time (the mapping's date); PREFIX:{m}:barriers, how many the feeder sent. */
struct cl_bus_opts {
	const char *redis;           /* HOST:PORT[,...] */
	const char *prefix;
	uint32_t nparts, workers;
	uint32_t id;                 /* worker: its index (its first partitions: p % workers == id) */
	uint32_t lease_ms;           /* 3000 */
	const char *snap_dir;        /* NULL: no snapshots, streams never trimmed */
	uint32_t snap_every;         /* a snapshot every N time barriers of a partition (10) */
	int quiet;
};
struct cl_bus_stats {
	uint64_t messages, elements, bad, barriers, takeovers, rebuilt_msgs, bus_commands;
	double rebuild_s;            /* time spent replaying taken-over partitions; the merger: merging
	                              * again the barriers stored before its restart */
	uint32_t resumed;            /* the merger: barriers stored before its restart */
	double failover_s;           /* time waiting for Redis to fail over (a master lost) */
	uint64_t snapshots, snap_bytes, trimmed, snap_loaded, snap_refused;
	uint64_t trim_refused;       /* trims not done: the lease was another worker's (by then) */
	double snap_s;               /* time writing snapshots (serialise, write, fsync, rename) */
};
struct cl_rfeed;
struct cl_rfeed *cl_rfeed_new(const struct cl_bus_opts *bo, int64_t when, struct dm_error *err);
void cl_rfeed_send(void *arg, uint32_t part, const uint8_t *msg, size_t len);
/* Flushes, writes the barrier count; 0 or -1 (err). */
int cl_rfeed_finish(struct cl_rfeed *f, uint32_t barriers, struct cl_bus_stats *st, struct dm_error *err);
void cl_rfeed_free(struct cl_rfeed *f);
/* A worker: runs until every partition is done. o: the signal options and the mapping's
 * sources (loaded for the feeder's time). 0, or -1 (err). */
int cl_rworker_run(const struct cl_bus_opts *bo, const struct pl_opts *o, struct cl_bus_stats *st,
                   struct dm_error *err);
/* The merger: into the pipeline made by new_out(when) (its store, CSV, detector); 0 or -1. */
int cl_rmerge_run(const struct cl_bus_opts *bo, struct pipeline *(*new_out)(void *arg, int64_t when), void *arg,
                  struct pipeline **out, struct cl_bus_stats *st, struct dm_error *err);

/* Reads the seq (and partition, for SIZES and ROWS) of a message; 0 or -1. */
int cl_msg_seq(const uint8_t *msg, size_t len, uint32_t *seq, uint32_t *part);

#endif
