/* Internals of src/http shared by its files (not part of the module's interface). */
#ifndef DM_HTTP_HTTP_IMPL_H
#define DM_HTTP_HTTP_IMPL_H

#include "http/db.h"
#include <stdint.h>

#include "base/obuf.h"
#include "http/http.h"

/* The server's own read-only connection. Not src/store's reader: that one reads meta
 * "series_end" once at open, and serve must follow a writer (replay, collect) commit by commit,
 * so every request re-reads what changed (PRAGMA data_version tells). */
enum api_stmt {
	Q_DATA_VERSION,
	Q_EVENT_EXISTS,
	Q_META,
	Q_SNAP_CC,
	Q_OPEN_EV,
	Q_ENTITY_ID,
	Q_SERIES,
	Q_FIRST_BIN,
	Q_EVENTS,
	Q_EVENTS_SINCE,
	Q_COUNT_
};

/* /api/entities' in-memory snapshot of one (kind, family): every entity with its run-length bin
 * rows and the events that set a state, read in one read transaction at a data_version. An
 * answer for any time is then binary searches and formatting, with no SQLite work: answering
 * from SQLite cost two index seeks per entity per request (1.1 ms for 250 countries). */
struct snap_bin {
	uint32_t t;
	int32_t quality;
	int64_t slash24, baseline, seeing, ffp, visible;
	double peer_frac;
};
struct snap_ent {
	int64_t id;
	char label[24];
	char *name; /* the database's, else the country's; NULL */
	size_t first, n; /* its rows: bins[first .. first + n), ascending t */
	char *json;      /* its answer's opening ({"entity":"KP","name":"North Korea"), made when first used */
};
struct snap_ev {
	int64_t entity, id;
	int type;
	uint32_t start, end;
	char *json; /* {"id":..,"kind":..,"start":..,"end":..}, made when first used */
};
struct snapshot {
	int64_t version;  /* the data_version it was read at */
	double built_at;  /* monotonic seconds when the read ended */
	double cost;      /* seconds the read took */
	uint64_t changes; /* api_db.changes when read */
	struct snap_ent *ents;
	size_t nents;
	struct snap_bin *bins;
	uint32_t *ts; /* bins[i].t again, packed: the searches touch 4 bytes a step, not 56 */
	size_t nbins;
	/* what an answer reads of each row, 16 bytes beside each other rather than in the 56-byte
	 * row and a separate array (one cache line fetched per entity instead of two): the state
	 * and the ranking need quality and loss; frag is 0 or the offset in fragbuf of the row's
	 * JSON values (after bin_t, which depends on T: a 2-byte length and the text), made when
	 * the row is first answered */
	struct snap_hot {
		uint32_t frag;
		int32_t quality;
		int64_t loss;
	} *hot;
	char *fragbuf;
	/* A time-major index: ck[c * nents + i] = how many of entity i's rows have t <= ck_t0 +
	 * c * ck_step. An answer for T starts at its checkpoint and steps over the few rows after
	 * it, entity after entity: the 250 countries' binary searches (about 10 steps each, the
	 * last ones cache misses in 600 KB of times) were a third of a computed answer's time
	 * (perf, bench/serve.sh). As many entries as rows: nck = rows / entities checkpoints. */
	uint32_t *ck;
	size_t nck;
	uint32_t ck_t0, ck_step;
	size_t fraglen, fragcap;
	struct snap_ev *evs; /* outage, partial, instability, unknown events, by (entity, start) */
	size_t nevs;
};
/* While a writer commits faster than a snapshot is read, the old one is answered from until
 * SNAP_DUTY times its read cost has passed: rereading takes at most 1/(1 + SNAP_DUTY) of a core
 * and holds the database's read lock as long (the writer's checkpoints wait for readers). A
 * first change after a quiet spell starts a reread at once; either runs on a thread beside the
 * event loop, the old snapshot answering meanwhile (snapshot.c, "struct snap_job"). */
enum { SNAP_DUTY = 9 };

/* A snapshot read on a thread of its own, with its own read-only connection (snapshot.c). */
struct snap_job;

struct api_db {
	struct db *db;
	struct dbst *st[Q_COUNT_];
	int64_t data_version;
	uint32_t bin, series_end;
	int64_t max_event_id;
	char *path;
	struct snapshot *snap[2][2]; /* [country, asn][IPv4, IPv6], built when first asked */
	struct snap_job *job[2][2];  /* a reread in progress, off the event loop */
	uint64_t changes;                 /* http_server_db_changed calls: a snapshot older is reread */
	uint64_t snap_builds, snap_stale; /* snapshots read; answers from an outdated one */
	uint64_t snap_background;         /* of the reads, those done on a thread beside the loop */
	const int64_t *acked; /* ids acknowledged (server memory; the database stays read-only) */
	size_t nacked;
};

int api_db_open(struct api_db *a, const char *path, struct dm_error *err);
void api_db_close(struct api_db *a);
/* Re-reads meta when another connection committed; returns 1 when the data changed, 0 not, <0 error. */
int api_db_refresh(struct api_db *a);

/* The snapshot of kind (SIG_COUNTRY or SIG_ASN) and family (DM_AFI_IPV4/6) to answer from now:
 * reread when the data changed and the duty cap allows, else the previous one; NULL on a
 * database error with none before. */
struct snapshot *api_snapshot(struct api_db *a, int kind, int afi);
void snapshot_free(struct snapshot *m);
/* A row's t, slash24, baseline_slash24, peers_seeing, full_feed_peers, quality,
 * visible_prefixes and peer_frac, from column col on (the snapshot queries' order). */
struct snap_bin snap_bin_read(struct dbst *st, int col);
/* Waits for the background reads in progress and drops them (api_db_close). */
void api_snapshot_jobs_end(struct api_db *a);
/* The row of e at or before t (NULL: none). */
const struct snap_bin *snapshot_at(const struct snapshot *m, const struct snap_ent *e, uint32_t t);
/* Asks the CPU for what snapshot_at(m, &m->ents[i], t) will read, without waiting: called a few
 * entities ahead, the cache misses of consecutive entities overlap instead of following each
 * other (three dependent misses an entity, scattered over megabytes, were most of an answer's
 * time: perf). */
void snapshot_prefetch(const struct snapshot *m, size_t i, uint32_t t);
/* After ents and bins are filled: ts, hot and (with_ck) the checkpoints; 0, or -1 out of memory. */
int snapshot_index(struct snapshot *m, int with_ck);

/* Each handler writes a JSON body to o and returns the HTTP status (400: a JSON error naming
 * the parameter; 404: unknown entity; 500: database error). */
int api_entities(struct api_db *a, const struct http_request *req, struct obuf *o);
int api_series(struct api_db *a, const struct http_request *req, struct obuf *o);
int api_events(struct api_db *a, const struct http_request *req, struct obuf *o);
int api_peers(struct api_db *a, const struct http_request *req, struct obuf *o);
int api_collectors(struct api_db *a, const struct http_request *req, struct obuf *o);
int api_check_params(const struct http_request *req, const char *const *allowed, struct obuf *o);
/* Prometheus lines for what the database knows (with_lag: darkmap_bin_lag_seconds too). */
int api_metrics(struct api_db *a, struct obuf *o, uint32_t now, int with_lag);
/* SSE frames ("event: event\ndata: {...}\n\n") of events with id > *last; *last advanced. */
int api_stream_events(struct api_db *a, int64_t *last, struct obuf *o);
void api_error(struct obuf *o, const char *param, const char *msg);

#endif
