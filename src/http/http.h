/* darkmap serve: the HTTP API, the dashboard's static files, /metrics and the event stream, over
 * a read-only darkmap database (docs/serve.md). One thread, libevent bufferevents, our own small
 * HTTP/1.1 request parser (limits enforced while parsing: request size, header count, no request
 * bodies but an ack's). */
#ifndef DM_HTTP_HTTP_H
#define DM_HTTP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/obuf.h"
#include "signal/series.h"

/* ---- request parsing (pure functions; tests/fuzz/fuzz_http.c drives them) ---- */

enum {
	HTTP_MAX_HEAD = 8192,   /* request line + headers, bytes */
	HTTP_MAX_HEADERS = 48,  /* header lines */
	HTTP_MAX_TARGET = 2048, /* request target, bytes */
	HTTP_MAX_BODY = 1024,   /* the only bodies accepted are an ack's (empty or tiny) */
	HTTP_MAX_PARAMS = 16,   /* query parameters */
	HTTP_MAX_VALUE = 256,   /* one decoded query value */
};

enum http_method { HTTP_GET = 1, HTTP_HEAD, HTTP_POST, HTTP_OTHER };

struct http_param {
	char key[32];
	char val[HTTP_MAX_VALUE];
};

struct http_request {
	enum http_method method;
	int minor;                  /* HTTP/1.minor */
	int keep_alive;             /* after this request: 1.1 default yes, 1.0 default no */
	size_t head_len;            /* bytes of request line + headers + blank line */
	size_t body_len;            /* Content-Length (<= HTTP_MAX_BODY) */
	char path[HTTP_MAX_TARGET]; /* percent-decoded path, NUL-terminated */
	char auth[160];             /* Authorization header value ("" none) */
	size_t nparams;
	struct http_param params[HTTP_MAX_PARAMS];
};

/* Parses one request head from buf[0..len). Returns 0 when a whole head is there (req filled,
 * req->head_len set), 1 when more bytes are needed, or an HTTP status to answer with and close:
 * 400 malformed, 414 target too long, 431 head too large or too many headers, 413 body too
 * large, 501 a transfer coding, 505 not HTTP/1.x. *why gets a short reason. */
int http_request_parse(const char *buf, size_t len, struct http_request *req, const char **why);

/* Splits a target's query string "a=1&b=%20x" into params (percent and '+' decoded); path gets
 * the percent-decoded path. Returns 0, or -1 with *why (bad escape, NUL, too many, too long). */
int http_target_split(const char *target, size_t len, char *path, size_t pathlen, struct http_param *params,
                      size_t *nparams, const char **why);
/* The value of a parameter, NULL when absent (the first of repeated keys). */
const char *http_param_get(const struct http_request *req, const char *key);

/* A static file's path relative to the dashboard folder for a decoded URL path ("/" ->
 * "index.html"); -1 for anything that could leave the folder or name a hidden file: a "." or
 * ".." segment, an empty segment, a backslash, a control byte, a segment starting with '.'. */
int http_static_path(const char *path, char *rel, size_t n);

/* An entity as the API names it: "KP", "kp", "AS131279", "131279", "global", with "/v6" for
 * IPv6 ("KP/v6"). Returns 0 or -1. */
int http_entity_parse(const char *s, struct sig_entity *e);
/* The label of an entity, the inverse ("KP", "AS131279", "global", "KP/v6"). */
void http_entity_label(const struct sig_entity *e, char *buf, size_t n);

/* ---- the server ---- */

struct http_opts {
	const char *db_path;        /* darkmap database, opened read-only */
	const char *web_dir;        /* dashboard folder (index.html, app.js, style.css) */
	const char *node_modules;   /* where the dashboard's npm libraries are, NULL: none served */
	const char *bind;           /* address, default 127.0.0.1 */
	uint16_t port;              /* 0: any free port (http_server_port tells which) */
	const char *token;          /* bearer token of state-changing endpoints; NULL: they answer 403 */
	unsigned max_conns;         /* open connections (stream clients included); more wait in the backlog */
	unsigned max_streams;       /* /api/stream clients */
	unsigned request_timeout_s; /* a whole request head must arrive within this, idle or slow */
	unsigned write_timeout_s;   /* a client that reads nothing for this long is dropped */
	unsigned poll_ms;           /* the stream's database poll period */
};
void http_opts_default(struct http_opts *o);

struct http_server;
/* Opens the database (checked as darkmap's, read-only) and binds; errors name the file or address. */
struct http_server *http_server_new(const struct http_opts *o, struct dm_error *err);
int http_server_port(const struct http_server *s);
/* Runs until http_server_stop (or SIGINT/SIGTERM when handle_signals). Returns 0. */
int http_server_run(struct http_server *s, int handle_signals);
void http_server_stop(struct http_server *s);
void http_server_free(struct http_server *s);

/* ---- the live collector's hook (darkmap collect --serve) ----
 *
 * A server on a loop the caller owns (collect runs it on a thread of its own: below), over the
 * database a pipeline writes:
 *
 *   pl = pl_new(...);                          // creates the database (schema) first
 *   srv = http_server_new_on(&opts, base, &err); // opts.db_path = the pipeline's --db
 *   http_server_set_live_metrics(srv, &live);  // collect keeps `live` filled
 *   ... each committed bin:  http_server_db_changed(srv);
 *   ... at the end:          http_server_free(srv); (before event_base_free(base))
 *
 * Everything is called from the loop's thread; nothing here blocks. */

/* As http_server_new, on an event_base the caller owns and runs (struct event_base *): the
 * server adds its listener, timers and connections to it and never runs, breaks or frees it
 * (http_server_run and http_server_stop are for a server with its own base). The database
 * must exist (pl_new creates it). */
struct http_server *http_server_new_on(const struct http_opts *o, void *event_base, struct dm_error *err);
/* The database just committed (a closed bin, events): the stream's clients get the new events
 * (as /api/events objects, with their ids) and a "bin" message now, not at the next poll, and
 * the API's snapshots are reread on the next request even when the duty cap would wait. */
void http_server_db_changed(struct http_server *s);
/* Publishes one Server-Sent Event (kind, data: a JSON object on one line) to every
 * /api/stream client, e.g. the live pipeline's current, still open bin. Events and bins that
 * are stored come through http_server_db_changed: publishing them too would send them twice. */
void http_server_publish(struct http_server *s, const char *kind, const char *json);

/* The live collector's numbers on /metrics. collect fills the struct (it outlives the server,
 * or http_server_set_live_metrics(s, NULL) first); the server formats it on each scrape with
 * http_live_metrics_format, the one place their names, types and help texts are. */
enum { HTTP_DB_WRITE_BUCKETS = 12 };
extern const double http_db_write_le[HTTP_DB_WRITE_BUCKETS]; /* seconds: 0.001 ... 10 */
struct http_live_metrics {
	uint32_t peers_up;            /* darkmap_peers_up: BGP and BMP sessions established now */
	uint64_t routes;              /* darkmap_routes: routes in the RIB, every peer's */
	uint64_t elements_total;      /* darkmap_elements_total: announcements and withdrawals applied */
	uint64_t decode_errors[DM_ERR_COUNT_]; /* darkmap_decode_errors_total{kind}: [-code], kind
	                                        * dm_err_name(code) ("truncated", "bad-attribute") */
	uint64_t events_total[7];     /* darkmap_events_total{type}: [enum dm_event_type], 1 outage ..
	                               * 6 newnormal */
	double bin_lag_seconds;       /* darkmap_bin_lag_seconds: wall clock - end of the last closed bin */
	/* darkmap_db_write_seconds (histogram): one observation per bin written and committed */
	uint64_t db_write_count;
	double db_write_sum;
	uint64_t db_write_bucket[HTTP_DB_WRITE_BUCKETS]; /* observations <= le[i] and > le[i-1] */
};
/* Counts one database write of the given duration. */
void http_live_metrics_observe_write(struct http_live_metrics *m, double seconds);
/* Appends the Prometheus text (format 0.0.4) of m: every family with # HELP and # TYPE, every
 * error kind and event type even at 0 (a series that appears late breaks rate()). */
void http_live_metrics_format(const struct http_live_metrics *m, struct obuf *o);
/* /metrics shows *m (NULL: no more); darkmap_bin_lag_seconds is then collect's, not the one
 * serve computes from the database's series_end. */
void http_server_set_live_metrics(struct http_server *s, const struct http_live_metrics *m);
/* Adds any other Prometheus lines to /metrics: fn appends complete "# TYPE" + sample lines. */
void http_server_set_metrics(struct http_server *s, void (*fn)(struct obuf *o, void *arg), void *arg);
/* The libevent base (struct event_base *): the caller's, or the server's own. */
void *http_server_base(struct http_server *s);

/* ---- the server on a thread of its own (darkmap collect --serve; thread.c) ----
 *
 * The collector's loop carries its BGP and BMP sessions; answering HTTP there would hold their
 * UPDATEs back. http_thread_start makes a server on an event_base of its own and runs it on a
 * new thread, at CPU priority `nice` (0: the caller's); the functions below may be called from
 * any thread and hand their part over (copied) to the server's loop:
 *
 *   t = http_thread_start(&opts, 0, &err);    // opts.db_path = the pipeline's --db
 *   ... each commit:   http_thread_db_changed(t);
 *   ... each second:   http_thread_metrics(t, &live, extra_lines, len);
 *   ... at the end:    http_thread_stop(t);   // joins the thread, frees everything */
struct http_thread;
struct http_thread *http_thread_start(const struct http_opts *o, int nice, struct dm_error *err);
int http_thread_port(const struct http_thread *t);
/* as http_server_db_changed / http_server_publish, on the server's thread */
void http_thread_db_changed(struct http_thread *t);
void http_thread_publish(struct http_thread *t, const char *kind, const char *json);
/* /metrics shows a copy of *m (as http_server_set_live_metrics) and the Prometheus lines extra
 * (complete "# TYPE" + sample lines, as http_server_set_metrics' function appends) */
void http_thread_metrics(struct http_thread *t, const struct http_live_metrics *m, const char *extra, size_t len);
void http_thread_stop(struct http_thread *t);

#endif
