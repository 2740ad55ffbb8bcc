/* The PostgreSQL store (pg.c), behind store.h: store.c hands every call on a store opened with
 * a postgresql:// (or postgres://) URI to these. Private to src/store. */
#ifndef DM_STORE_STORE_PG_H
#define DM_STORE_STORE_PG_H

#include "store/store.h"

struct store_pg;

int store_is_pg(const char *path);
struct store_pg *pg_open(const char *uri, int readonly, struct dm_error *err);
void pg_close(struct store_pg *s);
const char *pg_errmsg(const struct store_pg *s);
int pg_begin(struct store_pg *s);
int pg_commit(struct store_pg *s);
int pg_put_bin(struct store_pg *s, const struct sig_entity *e, const struct sig_bin *b);
int pg_put_event(struct store_pg *s, const struct dm_event *ev);
int pg_put_change(struct store_pg *s, const struct sig_change *c);
int pg_get_changes(struct store_pg *s, int64_t from, int64_t to, const struct sig_entity *e, struct sig_change **out,
                   size_t *n);
int pg_put_meta(struct store_pg *s, const char *key, const char *value);
int pg_get_meta(struct store_pg *s, const char *key, char *buf, size_t len);
int pg_put_entity_name(struct store_pg *s, const struct sig_entity *e, const char *name);
int pg_get_entity_name(struct store_pg *s, const struct sig_entity *e, char *buf, size_t len);
int pg_get_bins(struct store_pg *s, const struct sig_entity *e, int64_t from, int64_t to, struct sig_bin **out,
                size_t *n);
int pg_get_events(struct store_pg *s, const struct sig_entity *e, int64_t from, int64_t to, struct dm_event **out,
                  size_t *n);
int pg_set_bin(struct store_pg *s, uint32_t bin);
int pg_list_entities(struct store_pg *s, struct sig_entity **out, size_t *n);
int pg_bin_extent(struct store_pg *s, const struct sig_entity *e, int64_t *first, int64_t *last);

#endif
