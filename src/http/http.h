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

/* The live pipeline's hook (issue 10): publish one Server-Sent Event ("event" or "bin", data a
 * JSON object on one line) to every /api/stream client, as the database poll does for what it
 * finds. Must be called from the server's thread (e.g. from a libevent callback on its base). */
void http_server_publish(struct http_server *s, const char *kind, const char *json);
/* Adds Prometheus lines to /metrics (the live pipeline's counters: elements/s, decode errors by
 * kind, peers up, database write latency). fn appends complete "# TYPE" + sample lines. */
void http_server_set_metrics(struct http_server *s, void (*fn)(struct obuf *o, void *arg), void *arg);
/* The libevent base, for a pipeline that runs on the same loop (struct event_base *). */
void *http_server_base(struct http_server *s);

#endif
