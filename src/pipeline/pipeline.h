/* The pipeline: elements from any source (MRT archives, a live BGP session, a BMP station) ->
 * RIB (rib_apply) -> signal -> streaming detector -> outputs (SQLite store, series CSV,
 * --quality and --changes files, alert lines, JSON Lines, webhook), bin by bin as bins close.
 * `darkmap replay` feeds it MRT files (pl_replay: archive discovery and the time-ordered merge
 * of every collector, in this module); `darkmap collect` feeds it live sessions. Both parse
 * their pipeline options with pl_opts_parse, so a run of either is configured the same way.
 *
 * Order of calls for a source:
 *   pl_new; elements of the RIB load (pl_record, pl_elem ...); pl_start; then for each record
 *   pl_time(its time), pl_record, pl_elem for each of its elements; pl_finish.
 * A live source calls pl_start at once and pl_time(wall clock) every second: a bin is closed,
 * stored and judged as soon as its end has passed. */
#ifndef DM_PIPELINE_PIPELINE_H
#define DM_PIPELINE_PIPELINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "bgp/elem.h"
#include "detect/detect.h"
#include "geo/geo.h"
#include "rib/rib.h"
#include "signal/signal.h"

enum { PL_MAX_FILTER = 1024, PL_MAX_GEO = 32 };
/* Exit statuses (as cmd/cmds.h): ok, input errors skipped, usage, failure. */
enum { PL_OK = 0, PL_DATA_ERRORS = 1, PL_USAGE = 2, PL_FAILURE = 3 };

struct pl_opts {
	const char *name;             /* subcommand, for messages ("darkmap NAME: ...") */
	struct sig_opts sig;
	int64_t from, to;             /* rows written for bins in [from, to) only (0: open) */
	/* outputs */
	const char *db_path;          /* SQLite store (WAL), or NULL */
	int csv;                      /* the series as CSV on stdout */
	const char *quality_path;     /* per collector and bin (CSV) */
	const char *changes_path;     /* visibility changes (CSV) */
	int rows_countries;           /* --rows countries */
	const char *want_cc[PL_MAX_FILTER];
	size_t ncc;
	uint32_t want_asn[PL_MAX_FILTER];
	size_t nasn;
	/* mapping */
	int no_geo;
	const char *geo_opt[PL_MAX_GEO], *geo_file[PL_MAX_GEO];   /* --geo/--rir/... FILE, in order */
	int ngeo;
	/* streaming detection (docs/detect.md): as bins close, on the entities `darkmap detect`
	 * judges in the database (every country and origin AS row of IPv4 or, with detect_v6,
	 * IPv6), with the same events, evidence, alert lines, JSON and webhook posts */
	int detect;
	struct detect_opts det;
	int detect_v6;
	int detect_all;               /* alert lines also for data-quality (unknown) events */
	int detect_quiet;             /* no alert lines on stdout */
	const char *detect_json;      /* JSON Lines file or "-" */
	const char *webhook;
	int detect_no_store;          /* events not written to the store */
	int det_threshold_given, det_recover_given;
	/* live (collect): each closed bin's rows and events are committed at once, so that a reader
	 * (darkmap serve, a restart after a crash) sees every bin that ended; replay commits in
	 * large batches */
	int commit_bins;
	/* called after each commit with its duration (collect: the database-write metric, and
	 * telling darkmap serve on the same loop that new bins and events are stored) */
	void (*on_commit)(void *arg, double seconds);
	void *commit_arg;
	/* progress and messages */
	int quiet, progress;
	/* the process exits right after pl_finish (replay): its memory is left to the kernel */
	int exit_after;
	/* benchmark aids (replay) */
	const char *synth;
	uint32_t synth_peers, synth_time;
	int decode_only;
};

void pl_opts_default(struct pl_opts *o, const char *name);

/* Parses the pipeline option at argv[*i] (and its value, advancing *i): signal (--bin, --vis,
 * --full-feed, --full-feed-leave, --gap-min), selection (--country, --asn, --rows, --from, --to),
 * mapping (--geo, --rir, --ranges, --mmdb, --asnames, --no-geo), outputs (--db, --csv, --quality,
 * --changes), detection (--detect, --v6, --all, --json, --webhook, --no-store-events,
 * --threshold, --hard, --recover, --baseline-days, --min-duration, --min-history,
 * --new-normal-days, --inst-window, --inst-factor), -q/--quiet, --progress.
 * Returns 1 when it took the option, 0 when the option is not a pipeline option, -1 on a bad
 * value (why says what, for a usage error). */
int pl_opts_parse(struct pl_opts *o, int argc, char **argv, int *i, char *why, size_t nwhy);
/* The same for the detection rules only (--threshold, --hard, --recover, --baseline-days,
 * --min-duration, --min-history, --new-normal-days, --inst-window, --inst-factor, into o->det):
 * what darkmap detect shares with the pipeline. */
int pl_opts_parse_detect(struct pl_opts *o, int argc, char **argv, int *i, char *why, size_t nwhy);
/* Checks the options together (--to after --from, detection thresholds); 0 or -1 with why. */
int pl_opts_check(struct pl_opts *o, char *why, size_t nwhy);
/* The pipeline options' usage text (one block, for a subcommand's --help). */
extern const char pl_opts_usage[];

struct pipeline;

/* Opens the outputs (store, files), loads the mapping (the defaults for the time `when`, 0:
 * today's), and with detection on an existing database reloads the detector's baselines from
 * the bins already stored (a restart does not relearn a week of history). NULL on failure, with
 * err filled and *status the exit status (2 usage: a mapping source that cannot be loaded; 3
 * failure: an output that cannot be opened). */
struct pipeline *pl_new(const struct pl_opts *o, int64_t when, int *status, struct dm_error *err);

uint32_t pl_collector(struct pipeline *p, const char *name);   /* index for a collector name */
void pl_collector_active(struct pipeline *p, uint32_t collector, int active);
void pl_elem(struct pipeline *p, uint32_t collector, const struct dm_elem *e);
void pl_record(struct pipeline *p, uint32_t collector);       /* one message or record read */
void pl_time(struct pipeline *p, int64_t now);   /* closes bins ending <= now */
void pl_start(struct pipeline *p);               /* end of the RIB load (replay) / at once (live) */
/* Flushes, closes every output, prints the summary to stderr (also when quiet) and frees the
 * pipeline. Returns the exit status (0 ok, 1 input errors were skipped, 3 an output failed). */
int pl_finish(struct pipeline *p);

/* What a live collector reports (Prometheus /metrics, SIGUSR1). */
struct pl_stats {
	uint64_t records, elems;
	uint64_t routes;                 /* (peer, prefix) pairs held */
	uint64_t err[DM_ERR_COUNT_];     /* input errors by kind, [-code] */
	uint64_t events[8];              /* events raised by enum dm_event_type */
	int64_t last_bin_end;            /* end of the last bin closed (0: none yet) */
};
void pl_stats(const struct pipeline *p, struct pl_stats *out);

/* The run should stop: every output failed (reading on would be for nothing). */
int pl_stopped(const struct pipeline *p);
struct rib *pl_rib(struct pipeline *p);
/* A source's input problem: counted by kind, printed rate-limited (the run goes on). */
void pl_input_error(struct pipeline *p, const char *file, const struct dm_error *err, int warning);

/* ---- cluster hooks (src/cluster, docs/scale.md) ---- */

/* A tap takes the source's calls instead of the RIB and the signal: a cluster's feeder cuts
 * the elements by address range and sends them to the partitions' workers. With a tap set,
 * pl_elem, pl_record, pl_time, pl_start, pl_collector_active and pl_finish go to it (the
 * pipeline still counts records and elements and names collectors: pl_rib's collector names). */
struct pl_tap {
	void (*elem)(void *arg, uint32_t collector, const struct dm_elem *e);
	void (*record)(void *arg, uint32_t collector);
	void (*time)(void *arg, int64_t now);
	void (*start)(void *arg);
	void (*active)(void *arg, uint32_t collector, int active);
	void (*finish)(void *arg);
	void *arg;
};
void pl_set_tap(struct pipeline *p, const struct pl_tap *tap);
/* A backfill job (docs/scale.md "Backfill") reads a time range of a run from the exact point
 * where the job before it stopped. pl_position (called from a tap, while pl_replay reads the
 * update streams) writes each update stream's position, 3 numbers a stream: the file index in
 * its collector's files (UINT32_MAX: ended), the index of its next record in that file (read,
 * not applied yet), whether it has begun (pl_collector_active was called); returns the number
 * of streams, or -1 outside the update streams or when max is too small. pl_resume, before
 * pl_replay of the same inputs, starts every stream there instead (no RIB is loaded: the state
 * comes from the job's snapshots); pl_resume_failed says the inputs do not match it.
 * pl_stop makes pl_replay return after the current record. */
int pl_position(const struct pipeline *p, uint32_t *pos, size_t max);
void pl_resume(struct pipeline *p, const uint32_t *pos, size_t nstreams);
int pl_resume_failed(const struct pipeline *p);
void pl_stop(struct pipeline *p);
/* Rows made elsewhere (a cluster's merger): written, printed and judged as if the pipeline's
 * own signal had emitted them, n rows of one bin close in this order, then the close's events
 * go out. pl_change likewise for a visibility change. */
void pl_rows(struct pipeline *p, const struct sig_entity *e, const struct sig_bin *b, size_t n);
void pl_change(struct pipeline *p, const struct sig_change *c);
/* A merger's restart point (docs/scale.md "A merger restart"): writes key = value into the
 * store's meta and commits, so that the value is stored with exactly the rows and events put
 * before it. No-op (0) without a store; <0 after a database failure. */
int pl_checkpoint(struct pipeline *p, const char *key, const char *value);
/* Reads a meta value from the store: 0, 1 absent (or no store), <0 error. */
int pl_get_meta(struct pipeline *p, const char *key, char *buf, size_t len);
/* The mapping pl_new loaded (NULL with --no-geo): a cluster's partitions share it. */
struct geo_db *pl_geo(struct pipeline *p);
/* Frees a pipeline that was only asked for its mapping (a cluster worker's), without a
 * summary. */
void pl_discard(struct pipeline *p);

/* ---- the MRT archive source (darkmap replay) ---- */

struct pl_inputs;
struct pl_inputs *pl_inputs_new(void);
void pl_inputs_free(struct pl_inputs *in);
/* A file named on the command line (rib: a --rib; otherwise rib.* / bview.* names are RIBs), or
 * a directory in the RouteViews or RIS layout (every RIB and update file under it, picked by
 * time range in pl_inputs_finish). Returns 0, or -1 when path cannot be read (errno). */
int pl_inputs_add(struct pl_inputs *in, const char *path, int rib);
/* Chooses the files of the directories for [from, to) and sorts everything by collector and
 * time. Returns the number of inputs. */
size_t pl_inputs_finish(struct pl_inputs *in, int64_t from, int64_t to);
/* Directory entries found (before picking by time): "no input files in the time range". */
size_t pl_inputs_dirs(const struct pl_inputs *in);
/* The earliest archive time in the file names (0: none): the date whose mapping applies. */
int64_t pl_inputs_first_time(const struct pl_inputs *in);
/* The latest time of an input file's name (0: none): a backfill cuts [first, last] into ranges. */
int64_t pl_inputs_last_time(const struct pl_inputs *in);
/* Loads the RIBs, calls pl_start, then applies the update files of every collector merged in
 * time order (plus the synthetic table of the options first, when asked). */
void pl_replay(struct pipeline *p, const struct pl_inputs *in);

#endif
