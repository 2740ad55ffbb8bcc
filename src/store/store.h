/* SQLite persistence of series and events (one file, WAL mode). Schema: docs/plot.md
 * "Database schema" (the README's "Database" section is assembled from it). */
#ifndef DM_STORE_STORE_H
#define DM_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "detect/event.h"
#include "signal/change.h"
#include "signal/series.h"

struct store;

/* Schema version written to PRAGMA user_version; a file with another version is refused. */
/* 2: bins.ff_joined/ff_left, the vis_changes table, events.episode_start/prev_start/evidence
 * (issue 8). */
enum { STORE_SCHEMA_VERSION = 2 };
/* PRAGMA application_id of a darkmap database: "dmap". */
#define STORE_APPLICATION_ID 0x646d6170

/* The CREATE statements run on a new file, exactly (docs/plot.md quotes them; a test checks). */
const char *store_schema_sql(void);

/* 1 when path is a postgresql:// (or postgres://) URI: the store is PostgreSQL (pg.c). */
int store_is_pg(const char *path);
struct store *store_open(const char *path, struct dm_error *err);  /* creates the schema */
/* Opens an existing darkmap database read-only (for plot/serve): never creates a file. */
struct store *store_open_ro(const char *path, struct dm_error *err);
void store_close(struct store *s);

/* Text of the last failure of any call on s ("" when none): "bins insert: disk I/O error". */
const char *store_errmsg(const struct store *s);

/* Batched writes: wrap many puts in begin/commit for speed. Without them each put is its own
 * transaction (correct, but ~100x slower). */
int store_begin(struct store *s);
int store_commit(struct store *s);

/* A bin is keyed by (entity, b->t): putting it again replaces the row. */
int store_put_bin(struct store *s, const struct sig_entity *e, const struct sig_bin *b);
/* An event is keyed by (entity, type, start): putting it again (e.g. an instability event
 * closed with end set) replaces the row. A recovery (end != 0) also sets the end of the open
 * (end 0) event of type of_type (0: outage or partial) with the same entity and start, the
 * outage it ends (docs/detect.md). */
int store_put_event(struct store *s, const struct dm_event *ev);
/* A visibility change (signal/change.h) for table vis_changes; batched inside a transaction
 * like bins (inserted at commit, in put order). */
int store_put_change(struct store *s, const struct sig_change *c);
/* Changes with t in [from, to), by time then put order; *out malloc'd. Filter e: NULL every
 * change; a country: the changes of prefixes it has a share of (cc, or in countries), of its
 * family; an AS: that origin and family; global: the family. */
int store_get_changes(struct store *s, int64_t from, int64_t to, const struct sig_entity *e,
                      struct sig_change **out, size_t *n);
/* Free-form provenance: input files, mapping sources, options. */
int store_put_meta(struct store *s, const char *key, const char *value);
/* Copies the value into buf (truncated to len-1); returns 0, 1 when the key is absent, <0 error. */
int store_get_meta(struct store *s, const char *key, char *buf, size_t len);

/* Human name of an entity ("North Korea", "STAR-KP - Ryugyong-dong"), for titles and alerts. */
int store_put_entity_name(struct store *s, const struct sig_entity *e, const char *name);
/* Returns 0 and copies the name, 1 when the entity or its name is unknown, <0 error. */
int store_get_entity_name(struct store *s, const struct sig_entity *e, char *buf, size_t len);

/* Reads an entity's bins in [from, to) ordered by time; *out malloc'd, caller frees. */
int store_get_bins(struct store *s, const struct sig_entity *e, int64_t from, int64_t to,
                   struct sig_bin **out, size_t *n);
/* Events for an entity (NULL: all) overlapping [from, to); *out malloc'd. An event overlaps
 * when start < to and (end > from, or end == 0 (ongoing), or start >= from (instants)).
 * Ordered by start, then type. */
int store_get_events(struct store *s, const struct sig_entity *e, int64_t from, int64_t to,
                     struct dm_event **out, size_t *n);
/* First and last bin start stored for the entity; returns 1 when it has no bins. */
/* Run-length storage in time, for bins of `bin` seconds: a bin row is written only when a
 * value differs from the entity's previous bin, and store_get_bins / store_bin_extent give the
 * dense series back (the previous row repeated, up to meta "series_end"). The writer must put
 * every entity in every bin from its first bin on. Saved as meta "bin"; read back at open. */
int store_set_bin(struct store *s, uint32_t bin);
/* Every entity with a row in the database (kind, afi, cc, asn order); *out malloc'd. */
int store_list_entities(struct store *s, struct sig_entity **out, size_t *n);
int store_bin_extent(struct store *s, const struct sig_entity *e, int64_t *first, int64_t *last);

#endif
