/* Internals of src/http shared by its files (not part of the module's interface). */
#ifndef DM_HTTP_HTTP_IMPL_H
#define DM_HTTP_HTTP_IMPL_H

#include <sqlite3.h>
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
	Q_SNAP,
	Q_SNAP_CC,
	Q_OPEN_EV,
	Q_ENTITY_ID,
	Q_SERIES,
	Q_FIRST_BIN,
	Q_EVENTS,
	Q_EVENTS_SINCE,
	Q_COUNT_
};

struct api_db {
	sqlite3 *db;
	sqlite3_stmt *st[Q_COUNT_];
	int64_t data_version;
	uint32_t bin, series_end;
	int64_t max_event_id;
	const int64_t *acked; /* ids acknowledged (server memory; the database stays read-only) */
	size_t nacked;
};

int api_db_open(struct api_db *a, const char *path, struct dm_error *err);
void api_db_close(struct api_db *a);
/* Re-reads meta when another connection committed; returns 1 when the data changed, 0 not, <0 error. */
int api_db_refresh(struct api_db *a);

/* Each handler writes a JSON body to o and returns the HTTP status (400: a JSON error naming
 * the parameter; 404: unknown entity; 500: database error). */
int api_entities(struct api_db *a, const struct http_request *req, struct obuf *o);
int api_series(struct api_db *a, const struct http_request *req, struct obuf *o);
int api_events(struct api_db *a, const struct http_request *req, struct obuf *o);
int api_peers(struct api_db *a, const struct http_request *req, struct obuf *o);
int api_collectors(struct api_db *a, const struct http_request *req, struct obuf *o);
int api_check_params(const struct http_request *req, const char *const *allowed, struct obuf *o);
/* Prometheus lines for what the database knows. */
int api_metrics(struct api_db *a, struct obuf *o, uint32_t now);
/* SSE frames ("event: event\ndata: {...}\n\n") of events with id > *last; *last advanced. */
int api_stream_events(struct api_db *a, int64_t *last, struct obuf *o);
void api_error(struct obuf *o, const char *param, const char *msg);

#endif
