/* MRT archive of a live collector (RFC 6396, RFC 8050): everything received, in a RouteViews-like
 * tree that `darkmap dump`, `darkmap replay` and bgpdump read:
 *
 *   DIR/<name>/YYYY.MM/UPDATES/updates.YYYYMMDD.HHMM[.N].bz2   BGP4MP_ET MESSAGE(_AS4)(_ADDPATH)
 *                                                               and STATE_CHANGE_AS4, rotated
 *                                                               every `rotate` seconds
 *   DIR/<name>/YYYY.MM/RIBS/rib.YYYYMMDD.HHMM[.N].bz2          TABLE_DUMP_V2 PEER_INDEX_TABLE +
 *                                                               RIB_IPV4/IPV6_UNICAST(_ADDPATH),
 *                                                               every `rib_interval` seconds
 *
 * HHMM is the start of the interval (UTC). The file being written is uncompressed under its final
 * name without the compression suffix; once closed it is compressed by a background thread into
 * a hidden `.NAME.bz2` that is fsync'd, renamed to `NAME.bz2`, and then the plain file is removed.
 *
 * Crash rules (kill -9 at any moment):
 *  - Records are buffered and written (one write(2) of whole records) and fdatasync'd at each
 *    flush, every `flush_ms`: a crash loses at most what arrived since the last flush. A kill in
 *    the middle of that write can leave one cut record at the end of the file.
 *  - An existing file is never truncated, overwritten or appended to: a run that would write a
 *    name already taken (plain, .bz2 or .gz, by a previous run) writes NAME.1, NAME.2, ... instead.
 *  - At start, files a previous run left uncompressed are compressed (their bytes unchanged), a
 *    hidden partial compression is removed, and a plain file whose .bz2 is complete is removed.
 *  - One archiver per DIR/<name>: a lock file (flock) refuses a second one.
 *
 * Not thread-safe: one event loop calls it. Times are UTC seconds; the clock is injectable. */
#ifndef DM_LIVE_ARCHIVE_H
#define DM_LIVE_ARCHIVE_H

#include <stdint.h>

#include "base/err.h"
#include "io/reader.h"
#include "mrt/mrt.h"

struct rib;
struct event_base;

struct archive_stats {
	uint64_t records;             /* written to updates files */
	uint64_t rib_records;         /* written to RIB files (PEER_INDEX_TABLE and RIB records) */
	uint64_t flushes;
	uint64_t files;               /* files created */
	uint64_t compressed;          /* files compressed by the thread */
	uint64_t errors;              /* write, flush or compression failures */
	uint64_t recovered;           /* files of a previous run compressed or cleaned at start */
};
struct archive_opts {
	const char *dir;              /* DIR */
	const char *name;             /* collector name: DIR/<name>/... (no '/') */
	uint32_t rotate;              /* seconds per updates file (default 900) */
	uint32_t rib_interval;        /* seconds between RIB snapshots (default 7200; 0: none) */
	uint32_t flush_ms;            /* flush period (default 1000) */
	enum dm_compression comp;     /* after rotation: DM_COMP_BZIP2 (default), _GZIP or _NONE */
	int no_sync;                  /* 1: flush without fdatasync (tests on tmpfs, benchmarks) */
	/* The clock (seconds, *usec): NULL = the wall clock. Rotation, snapshots and flushes go by
	 * it; tests pass a synthetic one. */
	int64_t (*clock)(void *arg, uint32_t *usec);
	void *clock_arg;
	/* Called after each flush with the counts so far (tests: what a crash may not lose). */
	void (*on_flush)(void *arg, const struct archive_stats *st);
	void *flush_arg;
};

void archive_opts_default(struct archive_opts *o);

struct archive;

/* Creates DIR/<name>, takes its lock, recovers what a previous run left (see above), starts the
 * compression thread. NULL with err filled on failure. */
struct archive *archive_open(const struct archive_opts *o, struct dm_error *err);
/* Flushes, closes and compresses the open files, waits for the compression thread, frees. */
int archive_close(struct archive *a, struct dm_error *err);

/* A BGP message received on a session (marker and header included): a BGP4MP_ET MESSAGE_AS4
 * record (MESSAGE when !s->as4, the _ADDPATH variant when s->addpath), time ts/usec (arrival). */
int archive_message(struct archive *a, int64_t ts, uint32_t usec, const struct mrt_session *s,
                    const uint8_t *msg, size_t len, struct dm_error *err);
/* A session's FSM state change (RFC 4271 states 1 Idle .. 6 Established): STATE_CHANGE_AS4. */
int archive_state(struct archive *a, int64_t ts, uint32_t usec, const struct mrt_session *s,
                  uint16_t old_state, uint16_t new_state, struct dm_error *err);

/* Where RIB snapshots come from: the peers of `collector` in r. */
void archive_rib_source(struct archive *a, const struct rib *r, uint32_t collector);
/* Writes a RIB snapshot now (named after now's rib_interval slot), flushing every flush_ms by the
 * clock while it writes. Returns 0 or a negative dm_err. */
int archive_rib_snapshot(struct archive *a, struct dm_error *err);

/* Call at least every flush_ms: flushes, rotates the updates file when its interval is over,
 * writes a RIB snapshot when one is due. now: the clock's seconds. */
int archive_tick(struct archive *a, struct dm_error *err);
/* A persistent libevent timer calling archive_tick every flush_ms on base (errors counted in
 * archive_stats). Removed by archive_close. */
int archive_attach(struct archive *a, struct event_base *base);

void archive_stats(const struct archive *a, struct archive_stats *out);
/* The path of the updates file being written ("" when none). */
const char *archive_current(const struct archive *a);

#endif
