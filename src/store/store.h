/* SQLite persistence of series and events (one file, WAL mode). Schema: README "Database". */
#ifndef DM_STORE_STORE_H
#define DM_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "detect/event.h"
#include "signal/series.h"

struct store;

struct store *store_open(const char *path, struct dm_error *err);  /* creates the schema */
void store_close(struct store *s);

/* Batched writes: wrap many puts in begin/commit for speed. */
int store_begin(struct store *s);
int store_commit(struct store *s);

int store_put_bin(struct store *s, const struct sig_entity *e, const struct sig_bin *b);
int store_put_event(struct store *s, const struct dm_event *ev);
/* Free-form provenance: input files, mapping sources, options. */
int store_put_meta(struct store *s, const char *key, const char *value);

/* Reads an entity's bins in [from, to) ordered by time; *out malloc'd, caller frees. */
int store_get_bins(struct store *s, const struct sig_entity *e, uint32_t from, uint32_t to,
                   struct sig_bin **out, size_t *n);
/* Events for an entity (NULL: all) overlapping [from, to); *out malloc'd. */
int store_get_events(struct store *s, const struct sig_entity *e, uint32_t from, uint32_t to,
                     struct dm_event **out, size_t *n);

#endif
