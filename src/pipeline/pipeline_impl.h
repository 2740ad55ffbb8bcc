/* The pipeline's state: private to src/pipeline (pipeline.c: outputs and detection; source.c:
 * the MRT archive source; opts.c: the shared option parser). */
#ifndef DM_PIPELINE_PIPELINE_IMPL_H
#define DM_PIPELINE_PIPELINE_IMPL_H

#include <time.h>

#include "base/obuf.h"
#include "detect/event.h"
#include "out/alert.h"
#include "out/webhook.h"
#include "pipeline/pipeline.h"
#include "store/store.h"

struct rib_time {
	const char *path;
	uint32_t coll;
	int64_t ts;                /* its latest record (the state the dump gives) */
};

/* An event found by the streaming detector, waiting for the end of its bin's close: events of
 * one close go out sorted as `darkmap detect` sorts them (time, then entity order). */
struct pl_found {
	struct dm_event ev;
	uint64_t order;
};

struct pipeline {
	struct pl_opts o;
	const char *name;
	struct rib *rib;
	struct sig *sig;
	struct geo_db *geo;
	struct store *db;
	struct obuf out;
	int csv;
	int64_t from, to;
	uint32_t bin;
	uint32_t cur_coll;
	uint32_t *lazy_hint;     /* per MRT peer index: the set its last lazy RIB entry stood for (source.c) */
	/* counters */
	uint64_t records, elems, rows, rows_db;
	uint64_t err[DM_ERR_COUNT_], warn[DM_ERR_COUNT_];
	uint64_t skipped_multicast;
	int data_errors;
	char **truncated;
	size_t ntruncated;
	/* per collector */
	uint64_t *crecords;
	int64_t *cfirst, *clast;
	uint32_t ccap;
	/* progress */
	int progress, decode_only;
	FILE *qf;                  /* --quality: per collector and bin */
	FILE *cf;                  /* --changes: visibility changes */
	uint64_t changes, changes_db;
	/* --detect without a database: the recent losses, the alerts' evidence (pipeline.c
	 * keep_loss); a ring of capacity caploss from losshead, nloss held */
	struct sig_change *loss;
	size_t losshead, nloss, caploss;
	int64_t loss_gone_t;       /* the latest time of a loss dropped from the ring (0: none) */
	int keep_losses;
	uint64_t bytes_total, bytes_done;
	struct timespec t0, tlast;
	uint64_t db_uncommitted;
	uint64_t rows_pending, changes_pending;   /* put since the last commit: not yet stored */
	int db_failed;
	int csv_failed;
	int stop;                  /* every output failed: reading on would be for nothing */
	int status;                /* exit status so far (an output that failed to close) */
	struct rib_time *ribt;     /* every RIB loaded: collector and time, for the stale check */
	size_t nribt;
	int started;
	/* entities of --country / --asn (both families), for the summary and the names stored */
	struct sig_entity *want;
	size_t nwant;
	/* streaming detection */
	struct detector *det;
	struct pl_found *found;    /* events of the bin being closed */
	size_t nfound, capfound;
	uint64_t ev_seq;
	struct geo_db *ev_geo;     /* the mapping `darkmap detect` uses (defaults), loaded when needed */
	int ev_geo_tried;
	struct alert_names names;
	struct obuf aout, js;
	FILE *jf;
	struct webhook_opts wo;
	struct webhook *hook;      /* live: posts from a sender thread (the loop never waits) */
	uint64_t ev_by_type[8];
	int64_t last_bin_end;
	int ev_store;
	unsigned alerts, unknowns, hook_fail;
	uint64_t reloaded_bins;    /* bins of the database fed back to the detector at pl_new */
	size_t reloaded_entities;
	int64_t now;               /* the last time given to pl_time */
	struct pl_tap tap;         /* pl_set_tap: the source's calls go to a cluster's feeder */
	int tapped;
	uint64_t ext_rows;         /* rows given by pl_rows */
	/* a backfill job (pl_resume, pl_position; docs/scale.md "Backfill") */
	const uint32_t *resume;    /* each update stream's position to start from (3 numbers) */
	size_t nresume;
	int resume_failed;
	void *streams;             /* replay_updates' streams while it runs (source.c struct stream) */
	size_t nstreams;
};

void pl_db_fail(struct pipeline *R, const char *what);
void pl_report(struct pipeline *R, const char *file, const struct dm_error *err, int warning);
void pl_progress(struct pipeline *R, const char *file, uint64_t file_done, int force);
int pl_coll_fit(struct pipeline *R, uint32_t c);
double pl_cpu_s(void);

#endif
