/* Alert webhook: HTTP/1.1 POST of an alert's JSON to an http:// URL, with retries and
 * exponential backoff, a per-try timeout, and a clear error when every try failed.
 * webhook_post is synchronous and bounded (tries x (timeout + backoff)); struct webhook runs
 * the posts on its own thread behind a bounded queue so detection never waits for a server. */
#ifndef DM_OUT_WEBHOOK_H
#define DM_OUT_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct webhook_opts {
	int tries;              /* attempts in all (3) */
	double backoff;         /* seconds to wait before the 2nd try (0.2) */
	double backoff_factor;  /* each further wait is multiplied by this (2: 0.2, 0.4, 0.8 s) */
	double timeout;         /* seconds per try for connect + send + response status line (5) */
	const char *content_type;  /* "application/json" */
};

void webhook_opts_default(struct webhook_opts *o);

struct webhook_result {
	int tries;              /* attempts made */
	int status;             /* HTTP status of the last response, 0 when none */
	char error[256];        /* empty on success; otherwise what failed on the last try */
};

/* Posts body to url ("http://host[:port][/path]"). Retries on connection errors, timeouts,
 * HTTP 5xx and 429; any other non-2xx status fails at once. Returns 0 on a 2xx response,
 * DM_ERR_BAD_VALUE for a URL it cannot use, DM_ERR_IO when every try failed. */
int webhook_post(const char *url, const char *body, size_t len, const struct webhook_opts *o,
                 struct webhook_result *res);

/* Background sender. queue_max bodies wait at most; when the queue is full, enqueue drops the
 * body and counts it (the detector must never block on a slow server). */
struct webhook;

struct webhook_stats {
	uint64_t sent, failed, dropped;
	char last_error[256];
};

struct webhook *webhook_new(const char *url, const struct webhook_opts *o, size_t queue_max,
                            struct dm_error *err);
/* 0 queued, -1 dropped (queue full or out of memory). Copies body. */
int webhook_enqueue(struct webhook *w, const char *body, size_t len);
/* Waits until every queued body was posted or failed (each bounded as in webhook_post). */
void webhook_drain(struct webhook *w);
void webhook_stats(struct webhook *w, struct webhook_stats *st);
/* Drains, stops the thread, frees. */
void webhook_free(struct webhook *w);

#endif
