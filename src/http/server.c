/* The server: one libevent loop, one bufferevent per connection, requests parsed by parse.c,
 * answered from the read-only database (api.c), the dashboard folder, or the stream. Safe by
 * default (docs/serve.md "Safety"): loopback bind, a bearer token for state changes, limits on
 * heads, headers, bodies and connections, deadlines for slow clients, static files only from
 * the dashboard folder (and a fixed list of npm files). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "http/http_impl.h"

enum { OUT_HIGH = 1 << 20, CACHE_N = 32, CACHE_MAX_BODY = 8 << 20 };
/* API requests look whether the database changed at most this often: each look is a read
 * transaction (two fcntl locks and an fstat, 3 of the 9 system calls of a cached answer) */
#define REFRESH_S 0.005

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct conn {
	struct http_server *s;
	struct bufferevent *bev;
	struct event *timer;
	struct conn *prev, *next;
	int closing;   /* close once the output is written */
	int streaming; /* an /api/stream client */
	int paused;    /* reading stopped until the client reads its answers */
	int linger;    /* an error answered mid-request: read and drop the rest before closing,
	                * or the kernel resets the connection and the client never sees the answer */
};

/* A cached answer body, shared with the output buffers that still send it (evbuffer references:
 * no copy per answer, and no fresh pages for every 60 KB answer) and freed by the last user.
 * data is the answer's own buffer, taken over rather than copied. */
struct body {
	unsigned refs;
	size_t len;
	char *data;
};

struct cache_ent {
	char *key;
	struct body *body;
	uint64_t used;
};

static void body_unref(const void *data, size_t len, void *arg)
{
	struct body *b = arg;
	if (--b->refs == 0) {
		free(b->data);
		free(b);
	}
}

static const int codes[] = { 200, 400, 401, 403, 404, 405, 408, 413, 414, 431, 500, 501, 503, 505 };
enum { NCODES = sizeof codes / sizeof codes[0] };

struct http_server {
	struct http_opts o;
	char token[256];
	struct event_base *base;
	struct evconnlistener *lis;
	struct event *poll, *sig[2];
	struct api_db db;
	char db_path[PATH_MAX];
	char web[PATH_MAX], nm[PATH_MAX];
	struct conn *conns;
	unsigned nconns, nstreams;
	int lis_paused, port;
	int64_t stream_last_id;
	uint32_t stream_series_end;
	time_t last_beat;
	uint64_t requests[NCODES], conns_total, conns_limited, timeouts, stream_msgs;
	int64_t *acked;
	size_t nacked, acap;
	void (*metrics_fn)(struct obuf *, void *);
	void *metrics_arg;
	const struct http_live_metrics *live;
	int own_base;           /* http_server_new's base, freed with the server; not a caller's */
	double refreshed_at;    /* monotonic seconds of the last data_version look */
	int64_t cache_version;
	uint64_t cache_clock, cache_hits, cache_misses;
	struct cache_ent cache[CACHE_N];
};

void http_opts_default(struct http_opts *o)
{
	memset(o, 0, sizeof *o);
	o->bind = "127.0.0.1";
	o->port = 8080;
	o->max_conns = 256;
	o->max_streams = 64;
	o->request_timeout_s = 10;
	o->write_timeout_s = 30;
	o->poll_ms = 1000;
}

static const char *reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

static void count(struct http_server *s, int code)
{
	for (int i = 0; i < NCODES; i++)
		if (codes[i] == code)
			s->requests[i]++;
}

static void conn_free(struct conn *c)
{
	struct http_server *s = c->s;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->streaming)
		s->nstreams--;
	s->nconns--;
	if (c->timer)
		event_free(c->timer);
	bufferevent_free(c->bev);
	free(c);
	if (s->lis_paused && s->nconns < s->o.max_conns) {
		evconnlistener_enable(s->lis);
		s->lis_paused = 0;
	}
}

/* Writes status line, headers and body; head_only leaves the body out (HEAD). */
static void respond(struct conn *c, int code, const char *ctype, const char *extra, const void *body, size_t len,
                    int head_only)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	count(c->s, code);
	evbuffer_add_printf(
	    out,
	    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nX-Content-Type-Options: nosniff\r\n"
	    "Cache-Control: no-store\r\n%s%s\r\n",
	    code, reason(code), ctype, len, extra ? extra : "", c->closing ? "Connection: close\r\n" : "");
	if (!head_only && len)
		evbuffer_add(out, body, len);
}

static void respond_json(struct conn *c, int code, struct obuf *o, int head_only)
{
	respond(c, code, "application/json", code == 401 ? "WWW-Authenticate: Bearer\r\n" : NULL, o->buf, o->len,
	        head_only);
}

static void respond_error(struct conn *c, int code, const char *param, const char *msg)
{
	struct obuf o;
	obuf_init_mem(&o);
	api_error(&o, param, msg);
	respond_json(c, code, &o, 0);
	obuf_free(&o);
}

/* ---- static files ---- */

static const struct {
	const char *url, *rel;
} libs[] = {
	{ "/lib/d3-array.min.js", "d3-array/dist/d3-array.min.js" },
	{ "/lib/d3-geo.min.js", "d3-geo/dist/d3-geo.min.js" },
	{ "/lib/topojson-client.min.js", "topojson-client/dist/topojson-client.min.js" },
	{ "/lib/uPlot.iife.min.js", "uplot/dist/uPlot.iife.min.js" },
	{ "/lib/uPlot.min.css", "uplot/dist/uPlot.min.css" },
	{ "/lib/countries-110m.json", "world-atlas/countries-110m.json" },
	{ "/lib/countries-50m.json", "world-atlas/countries-50m.json" },
	{ "/lib/iso-codes.json", "i18n-iso-countries/codes.json" },
};

static const char *ctype_of(const char *p)
{
	const char *dot = strrchr(p, '.');
	if (!dot)
		return "application/octet-stream";
	static const char *const map[][2] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".json", "application/json" },
		{ ".png", "image/png" },
		{ ".svg", "image/svg+xml" },
		{ ".ico", "image/x-icon" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(dot, map[i][0]))
			return map[i][1];
	return "application/octet-stream";
}

/* Sends root/rel when its real path is inside root (a symbolic link out of it is refused too). */
static void send_file(struct conn *c, const char *root, const char *rel, int head_only)
{
	char p[PATH_MAX + 256], real[PATH_MAX];
	size_t rl = strlen(root);
	if (!root[0] || snprintf(p, sizeof p, "%s/%s", root, rel) >= (int)sizeof p || !realpath(p, real) ||
	    strncmp(real, root, rl) || real[rl] != '/') {
		respond_error(c, 404, NULL, "not found");
		return;
	}
	int fd = open(real, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > (64 << 20)) {
		if (fd >= 0)
			close(fd);
		respond_error(c, 404, NULL, "not found");
		return;
	}
	const char *ct = ctype_of(real);
	const char *csp = strstr(ct, "text/html") ? "Content-Security-Policy: default-src 'self'; style-src 'self' "
	                                            "'unsafe-inline'; img-src 'self' data:; connect-src 'self'\r\n"
	                                          : NULL;
	respond(c, 200, ct, csp, NULL, (size_t)st.st_size, 1);
	if (head_only || !st.st_size)
		close(fd);
	else
		evbuffer_add_file(bufferevent_get_output(c->bev), fd, 0, st.st_size);
}

/* ---- the response cache: JSON bodies of GET /api/... until the database changes ---- */

static void cache_clear(struct http_server *s)
{
	for (int i = 0; i < CACHE_N; i++) {
		free(s->cache[i].key);
		if (s->cache[i].body)
			body_unref(NULL, 0, s->cache[i].body);
		memset(&s->cache[i], 0, sizeof s->cache[i]);
	}
}

static void cache_key(const struct http_request *r, char *k, size_t n)
{
	size_t o = (size_t)snprintf(k, n, "%s", r->path);
	for (size_t i = 0; i < r->nparams && o < n; i++)
		o += (size_t)snprintf(k + o, n - o, "\x01%s=%s", r->params[i].key, r->params[i].val);
}

static struct cache_ent *cache_find(struct http_server *s, const char *k)
{
	for (int i = 0; i < CACHE_N; i++)
		if (s->cache[i].key && !strcmp(s->cache[i].key, k)) {
			s->cache[i].used = ++s->cache_clock;
			return &s->cache[i];
		}
	return NULL;
}

static struct body *cache_put(struct http_server *s, const char *k, struct obuf *o)
{
	if (o->len > CACHE_MAX_BODY)
		return NULL;
	struct body *b = malloc(sizeof *b);
	char *key = strdup(k);
	if (!b || !key) {
		free(b);
		free(key);
		return NULL;
	}
	b->refs = 1;
	b->len = o->len;
	b->data = o->buf; /* o's buffer is the body's now: o is left empty */
	o->buf = NULL;
	o->len = o->cap = 0;
	struct cache_ent *v = &s->cache[0];
	for (int i = 0; i < CACHE_N; i++)
		if (!s->cache[i].key || s->cache[i].used < v->used) {
			v = &s->cache[i];
			if (!v->key)
				break;
		}
	free(v->key);
	if (v->body)
		body_unref(NULL, 0, v->body);
	v->key = key;
	v->body = b;
	v->used = ++s->cache_clock;
	return b;
}

/* A 200 answer from a cached body: headers copied, the body referenced. */
static void respond_body(struct conn *c, struct body *b, int head_only)
{
	respond(c, 200, "application/json", NULL, NULL, b->len, 1);
	if (head_only || !b->len)
		return;
	b->refs++;
	if (evbuffer_add_reference(bufferevent_get_output(c->bev), b->data, b->len, body_unref, b))
		b->refs--;
}

/* ---- the stream ---- */

static void broadcast(struct http_server *s, const char *frame, size_t len)
{
	for (struct conn *c = s->conns; c; c = c->next)
		if (c->streaming) {
			evbuffer_add(bufferevent_get_output(c->bev), frame, len);
			s->stream_msgs++;
		}
}

void http_server_publish(struct http_server *s, const char *kind, const char *json)
{
	struct obuf o;
	obuf_init_mem(&o);
	obuf_printf(&o, "event: %s\ndata: %s\n\n", kind, json);
	broadcast(s, o.buf, o.len);
	obuf_free(&o);
}

static void stream_bin_frame(struct http_server *s, struct obuf *o)
{
	struct api_db *a = &s->db;
	obuf_printf(o, "event: bin\ndata: {\"t\":%u,\"series_end\":%u,\"bin\":%u}\n\n",
	            a->series_end >= a->bin ? a->series_end - a->bin : 0, a->series_end, a->bin);
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *s = arg;
	if (!s->nstreams)
		return;
	if (api_db_refresh(&s->db) < 0)
		return;
	struct obuf o;
	obuf_init_mem(&o);
	if (s->db.max_event_id > s->stream_last_id && api_stream_events(&s->db, &s->stream_last_id, &o) < 0)
		o.len = 0;
	if (s->db.series_end != s->stream_series_end) {
		s->stream_series_end = s->db.series_end;
		stream_bin_frame(s, &o);
	}
	time_t now = time(NULL);
	if (!o.len && now - s->last_beat >= 15)
		obuf_puts(&o, ": keepalive\n\n"); /* proxies drop silent connections */
	if (o.len) {
		s->last_beat = now;
		broadcast(s, o.buf, o.len);
	}
	obuf_free(&o);
}

static void start_stream(struct conn *c, const struct http_request *r, int head_only)
{
	struct http_server *s = c->s;
	struct obuf o;
	obuf_init_mem(&o);
	static const char *const allowed[] = { "since", NULL };
	int rc = api_check_params(r, allowed, &o);
	const char *since = http_param_get(r, "since");
	char *e = NULL;
	long long from = since ? strtoll(since, &e, 10) : -1;
	if (!rc && since && (!*since || *e || from < 0)) {
		api_error(&o, "since", "want an event id (a whole number)");
		rc = 400;
	}
	if (!rc && s->nstreams >= s->o.max_streams) {
		api_error(&o, NULL, "too many stream clients");
		rc = 503;
	}
	if (rc || head_only) {
		respond_json(c, rc ? rc : 200, &o, head_only);
		obuf_free(&o);
		return;
	}
	count(s, 200);
	c->streaming = 1;
	s->nstreams++;
	evtimer_del(c->timer);
	api_db_refresh(&s->db);
	if (s->nstreams == 1) {
		/* the poll runs only while someone listens: start from what is there now */
		s->stream_last_id = s->db.max_event_id;
		s->stream_series_end = s->db.series_end;
	}
	o.len = 0;
	obuf_puts(&o, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
	              "X-Content-Type-Options: nosniff\r\n\r\nretry: 2000\n\n");
	obuf_printf(&o, "event: hello\ndata: {\"series_end\":%u,\"bin\":%u,\"last_event_id\":%lld}\n\n",
	            s->db.series_end, s->db.bin, (long long)s->stream_last_id);
	if (since && from < s->stream_last_id) {
		/* what the client missed: events after its last id, up to where the broadcast stands
		 * (later ones come with the broadcast; a client may see one twice and keeps ids) */
		int64_t last = from;
		struct obuf ev;
		obuf_init_mem(&ev);
		api_stream_events(&s->db, &last, &ev);
		obuf_put(&o, ev.buf, ev.len);
		obuf_free(&ev);
	}
	evbuffer_add(bufferevent_get_output(c->bev), o.buf, o.len);
	obuf_free(&o);
}

/* ---- state changes: bearer token ---- */

static int token_ok(struct http_server *s, const char *auth)
{
	if (!s->token[0] || strncmp(auth, "Bearer ", 7))
		return 0;
	const char *t = auth + 7;
	size_t a = strlen(t), b = strlen(s->token);
	unsigned diff = (unsigned)(a ^ b);
	for (size_t i = 0; i < b; i++)
		diff |= (unsigned char)s->token[i] ^ (unsigned char)(i < a ? t[i] : 0);
	return diff == 0; /* every byte compared: the time does not tell how much matched */
}

static void handle_post(struct conn *c, const struct http_request *r)
{
	struct http_server *s = c->s;
	long long id = 0;
	int n = 0;
	int is_ack = sscanf(r->path, "/api/events/%lld/ack%n", &id, &n) == 1 && r->path[n] == 0 && id > 0;
	int is_reload = !strcmp(r->path, "/api/reload");
	if (!is_ack && !is_reload) {
		respond_error(c, 404, NULL, "not found");
		return;
	}
	if (!s->token[0]) {
		respond_error(c, 403, NULL, "state-changing endpoints are off: start darkmap serve with --token-file");
		return;
	}
	if (!token_ok(s, r->auth)) {
		respond_error(c, 401, NULL, "want Authorization: Bearer TOKEN");
		return;
	}
	struct obuf o;
	obuf_init_mem(&o);
	if (is_reload) {
		struct api_db nd;
		struct dm_error err;
		if (api_db_open(&nd, s->db_path, &err)) {
			respond_error(c, 500, NULL, err.what);
			obuf_free(&o);
			return;
		}
		nd.acked = s->acked;
		nd.nacked = s->nacked;
		api_db_close(&s->db);
		s->db = nd;
		cache_clear(s);
		obuf_printf(&o, "{\"reloaded\":true,\"series_end\":%u}\n", s->db.series_end);
	} else {
		struct dbst *st = s->db.st[Q_EVENT_EXISTS];
		db_bind_int64(st, 1, id);
		int found = db_step(st) == DB_ROW;
		db_reset(st);
		if (!found) {
			respond_error(c, 404, "id", "no such event");
			obuf_free(&o);
			return;
		}
		int have = 0;
		for (size_t i = 0; i < s->nacked; i++)
			have |= s->acked[i] == id;
		if (!have) {
			if (s->nacked == s->acap) {
				size_t nc = s->acap ? s->acap * 2 : 64;
				int64_t *na = realloc(s->acked, nc * sizeof *na);
				if (!na) {
					respond_error(c, 500, NULL, "out of memory");
					obuf_free(&o);
					return;
				}
				s->acked = na;
				s->acap = nc;
			}
			s->acked[s->nacked++] = id;
			s->db.acked = s->acked;
			s->db.nacked = s->nacked;
			cache_clear(s);
		}
		obuf_printf(&o, "{\"id\":%lld,\"acked\":true}\n", id);
	}
	respond_json(c, 200, &o, 0);
	obuf_free(&o);
}

/* ---- routing ---- */

static void metrics(struct conn *c, int head_only)
{
	struct http_server *s = c->s;
	struct obuf o;
	obuf_init_mem(&o);
	if (api_metrics(&s->db, &o, (uint32_t)time(NULL), s->live == NULL)) {
		obuf_free(&o);
		respond_error(c, 500, NULL, db_errmsg(s->db.db));
		return;
	}
	obuf_puts(&o, "# HELP darkmap_http_requests_total Answers sent, by status code.\n"
	              "# TYPE darkmap_http_requests_total counter\n");
	for (int i = 0; i < NCODES; i++)
		obuf_printf(&o, "darkmap_http_requests_total{code=\"%d\"} %llu\n", codes[i],
		            (unsigned long long)s->requests[i]);
	obuf_printf(
	    &o,
	    "# HELP darkmap_http_connections_open Open connections.\n# TYPE darkmap_http_connections_open gauge\n"
	    "darkmap_http_connections_open %u\n"
	    "# HELP darkmap_http_connections_total Connections accepted.\n# TYPE darkmap_http_connections_total "
	    "counter\n"
	    "darkmap_http_connections_total %llu\n"
	    "# HELP darkmap_http_connection_limit_reached_total Times accepting paused at the connection limit.\n"
	    "# TYPE darkmap_http_connection_limit_reached_total counter\n"
	    "darkmap_http_connection_limit_reached_total %llu\n"
	    "# HELP darkmap_http_timeouts_total Connections closed for a slow or idle client.\n"
	    "# TYPE darkmap_http_timeouts_total counter\ndarkmap_http_timeouts_total %llu\n"
	    "# HELP darkmap_stream_clients Open /api/stream clients.\n# TYPE darkmap_stream_clients gauge\n"
	    "darkmap_stream_clients %u\n"
	    "# HELP darkmap_stream_messages_total Stream messages written (per client).\n"
	    "# TYPE darkmap_stream_messages_total counter\ndarkmap_stream_messages_total %llu\n"
	    "# HELP darkmap_http_cache_hits_total API answers served from the cache.\n"
	    "# TYPE darkmap_http_cache_hits_total counter\ndarkmap_http_cache_hits_total %llu\n"
	    "# HELP darkmap_http_cache_misses_total API answers computed from the database.\n"
	    "# TYPE darkmap_http_cache_misses_total counter\ndarkmap_http_cache_misses_total %llu\n"
	    "# HELP darkmap_http_snapshot_reads_total Snapshots of every entity of a kind read for /api/entities.\n"
	    "# TYPE darkmap_http_snapshot_reads_total counter\ndarkmap_http_snapshot_reads_total %llu\n"
	    "# HELP darkmap_http_snapshot_stale_total /api/entities answers from a snapshot older than the database "
	    "(rereads capped at a tenth of the time).\n"
	    "# TYPE darkmap_http_snapshot_stale_total counter\ndarkmap_http_snapshot_stale_total %llu\n"
	    "# HELP darkmap_http_snapshot_background_total Snapshot reads done on a thread beside the event loop "
	    "(while a writer commits).\n"
	    "# TYPE darkmap_http_snapshot_background_total counter\ndarkmap_http_snapshot_background_total %llu\n",
	    s->nconns, (unsigned long long)s->conns_total, (unsigned long long)s->conns_limited,
	    (unsigned long long)s->timeouts, s->nstreams, (unsigned long long)s->stream_msgs,
	    (unsigned long long)s->cache_hits, (unsigned long long)s->cache_misses,
	    (unsigned long long)s->db.snap_builds, (unsigned long long)s->db.snap_stale,
	    (unsigned long long)s->db.snap_background);
	if (s->live)
		http_live_metrics_format(s->live, &o);
	if (s->metrics_fn)
		s->metrics_fn(&o, s->metrics_arg);
	respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, o.buf, o.len, head_only);
	obuf_free(&o);
}

static void handle(struct conn *c, const struct http_request *r)
{
	struct http_server *s = c->s;
	if (r->method == HTTP_POST) {
		handle_post(c, r);
		return;
	}
	int head_only = r->method == HTTP_HEAD;
	if (r->method != HTTP_GET && r->method != HTTP_HEAD) {
		struct obuf o;
		obuf_init_mem(&o);
		api_error(&o, NULL, "method not allowed");
		respond(c, 405, "application/json", "Allow: GET, HEAD, POST\r\n", o.buf, o.len, 0);
		obuf_free(&o);
		return;
	}
	if (!strncmp(r->path, "/api/", 5)) {
		static const struct {
			const char *path;
			int (*fn)(struct api_db *, const struct http_request *, struct obuf *);
		} routes[] = {
			{ "/api/entities", api_entities },     { "/api/series", api_series },
			{ "/api/events", api_events },         { "/api/peers", api_peers },
			{ "/api/collectors", api_collectors },
		};
		if (!strcmp(r->path, "/api/stream")) {
			start_stream(c, r, head_only);
			return;
		}
		for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
			if (strcmp(r->path, routes[i].path))
				continue;
			double now = mono_s();
			if (now - s->refreshed_at >= REFRESH_S || now < s->refreshed_at) {
				if (api_db_refresh(&s->db) < 0) {
					respond_error(c, 500, NULL, db_errmsg(s->db.db));
					return;
				}
				s->refreshed_at = now;
			}
			if (s->db.data_version != s->cache_version) {
				cache_clear(s);
				s->cache_version = s->db.data_version;
			}
			char key[HTTP_MAX_TARGET + HTTP_MAX_PARAMS * (HTTP_MAX_VALUE + 40)];
			cache_key(r, key, sizeof key);
			struct cache_ent *ce = cache_find(s, key);
			if (ce) {
				s->cache_hits++;
				respond_body(c, ce->body, head_only);
				return;
			}
			s->cache_misses++;
			struct obuf o;
			obuf_init_mem(&o);
			int code = routes[i].fn(&s->db, r, &o);
			struct body *b = code == 200 ? cache_put(s, key, &o) : NULL;
			if (b)
				respond_body(c, b, head_only);
			else
				respond_json(c, code, &o, head_only);
			obuf_free(&o);
			return;
		}
		respond_error(c, 404, NULL, "no such endpoint: see /api/ in docs/serve.md");
		return;
	}
	if (!strcmp(r->path, "/metrics")) {
		metrics(c, head_only);
		return;
	}
	if (!strncmp(r->path, "/lib/", 5)) {
		for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++)
			if (!strcmp(r->path, libs[i].url)) {
				send_file(c, s->nm, libs[i].rel, head_only);
				return;
			}
		respond_error(c, 404, NULL, "not found");
		return;
	}
	char rel[HTTP_MAX_TARGET];
	if (http_static_path(r->path, rel, sizeof rel)) {
		respond_error(c, 404, NULL, "not found");
		return;
	}
	send_file(c, s->web, rel, head_only);
}

/* ---- connections ---- */

static void process(struct conn *c);
static void write_cb(struct bufferevent *bev, void *arg);

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	if (c->linger) {
		struct evbuffer *in = bufferevent_get_input(bev);
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	process(c);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	if (c->closing && c->linger) {
		/* answered: half-close, drop what still comes, close at EOF or after 2 s */
		shutdown(bufferevent_getfd(bev), SHUT_WR);
		struct timeval tv = { 2, 0 };
		evtimer_add(c->timer, &tv);
		return;
	}
	if (c->closing) {
		conn_free(c);
		return;
	}
	if (c->paused) {
		c->paused = 0;
		bufferevent_enable(bev, EV_READ);
		process(c);
	}
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	if (what & BEV_EVENT_TIMEOUT)
		c->s->timeouts++;
	conn_free(c);
}

static void close_after(struct conn *c)
{
	c->closing = 1;
	if (!c->linger)
		bufferevent_disable(c->bev, EV_READ);
	if (!evbuffer_get_length(bufferevent_get_output(c->bev))) {
		if (c->linger)
			write_cb(c->bev, c);
		else
			conn_free(c);
	}
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	if (c->closing) {
		conn_free(c); /* the end of a lingering close */
		return;
	}
	c->s->timeouts++;
	if (evbuffer_get_length(bufferevent_get_input(c->bev))) {
		c->closing = 1;
		c->linger = 1;
		respond_error(c, 408, NULL, "request not received in time");
		close_after(c);
	} else {
		conn_free(c); /* idle keep-alive connection */
	}
}

static void process(struct conn *c)
{
	struct http_server *s = c->s;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	while (!c->closing && !c->streaming) {
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) > OUT_HIGH) {
			/* the client does not read its answers: stop reading its requests */
			c->paused = 1;
			bufferevent_disable(c->bev, EV_READ);
			return;
		}
		size_t len = evbuffer_get_length(in);
		if (!len)
			return;
		size_t look = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;
		const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)look);
		struct http_request *r = malloc(sizeof *r);
		if (!r) {
			conn_free(c);
			return;
		}
		const char *why = "";
		int rc = http_request_parse(p, look, r, &why);
		if (rc == 1 && len >= HTTP_MAX_HEAD)
			rc = 431;
		if (rc == 1) {
			free(r);
			return;
		}
		if (rc) {
			free(r);
			c->closing = 1;
			c->linger = 1;
			respond_error(c, rc, NULL, why);
			close_after(c);
			return;
		}
		if (len < r->head_len + r->body_len) {
			free(r);
			return; /* the body is on its way */
		}
		evbuffer_drain(in, r->head_len + r->body_len);
		if (!r->keep_alive)
			c->closing = 1;
		struct timeval tv = { s->o.request_timeout_s, 0 };
		evtimer_add(c->timer, &tv); /* the next request's deadline */
		handle(c, r);
		free(r);
		if (c->closing) {
			close_after(c);
			return;
		}
	}
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct http_server *s = arg;
	/* an answer leaves in several segments; with Nagle the last waits for the client's
	 * delayed ACK (40 ms on Linux) before it is sent */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct conn *c = calloc(1, sizeof *c);
	struct bufferevent *bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	struct event *t = c ? evtimer_new(s->base, timer_cb, c) : NULL;
	if (!c || !bev || !t) {
		free(c);
		if (t)
			event_free(t);
		if (bev)
			bufferevent_free(bev);
		else
			evutil_closesocket(fd);
		return;
	}
	c->s = s;
	c->bev = bev;
	c->timer = t;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	s->conns_total++;
	if (s->nconns >= s->o.max_conns) {
		/* the kernel's backlog holds the next ones until a connection closes */
		evconnlistener_disable(l);
		s->lis_paused = 1;
		s->conns_limited++;
	}
	bufferevent_setcb(bev, read_cb, write_cb, event_cb, c);
	/* libevent writes 16 KiB per loop turn by default: a 60 KB answer took four turns */
	bufferevent_set_max_single_write(bev, 1 << 20);
	/* reading stops at 64 KiB buffered: a head is at most 8 KiB and parsed as it comes */
	bufferevent_setwatermark(bev, EV_READ, 0, 64 << 10);
	struct timeval wt = { s->o.write_timeout_s, 0 };
	bufferevent_set_timeouts(bev, NULL, &wt);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	struct timeval rt = { s->o.request_timeout_s, 0 };
	evtimer_add(t, &rt);
}

static void sig_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

struct http_server *http_server_new(const struct http_opts *o, struct dm_error *err)
{
	return http_server_new_on(o, NULL, err);
}

struct http_server *http_server_new_on(const struct http_opts *o, void *event_base, struct dm_error *err)
{
	struct http_server *s = calloc(1, sizeof *s);
	if (!s) {
		dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
		return NULL;
	}
	s->o = *o;
	s->cache_version = -2;
	snprintf(s->db_path, sizeof s->db_path, "%s", o->db_path);
	if (o->token)
		snprintf(s->token, sizeof s->token, "%s", o->token);
	if (!o->web_dir || !realpath(o->web_dir, s->web)) {
		dm_fail(err, DM_ERR_IO, 0, "%s: dashboard folder: %s", o->web_dir ? o->web_dir : "(none)",
		        strerror(errno));
		free(s);
		return NULL;
	}
	if (o->node_modules && !realpath(o->node_modules, s->nm))
		s->nm[0] = 0;
	if (api_db_open(&s->db, o->db_path, err)) {
		free(s);
		return NULL;
	}
	s->own_base = !event_base;
	s->base = event_base ? event_base : event_base_new();
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	socklen_t sl;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, o->bind, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(o->port);
		sl = sizeof *s4;
	} else if (inet_pton(AF_INET6, o->bind, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(o->port);
		sl = sizeof *s6;
	} else {
		dm_fail(err, DM_ERR_BAD_VALUE, 0, "--bind '%s': want an IPv4 or IPv6 address", o->bind);
		http_server_free(s);
		return NULL;
	}
	if (s->base)
		s->lis = evconnlistener_new_bind(s->base, accept_cb, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 128,
		                                 (struct sockaddr *)&ss, (int)sl);
	if (!s->lis) {
		dm_fail(err, DM_ERR_IO, 0, "%s port %u: cannot listen: %s", o->bind, o->port, strerror(errno));
		http_server_free(s);
		return NULL;
	}
	struct sockaddr_storage got;
	socklen_t gl = sizeof got;
	getsockname(evconnlistener_get_fd(s->lis), (struct sockaddr *)&got, &gl);
	s->port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
	                                          : ((struct sockaddr_in *)&got)->sin_port);
	s->poll = event_new(s->base, -1, EV_PERSIST, poll_cb, s);
	struct timeval pt = { o->poll_ms / 1000, (o->poll_ms % 1000) * 1000 };
	event_add(s->poll, &pt);
	s->stream_last_id = s->db.max_event_id;
	s->stream_series_end = s->db.series_end;
	return s;
}

int http_server_port(const struct http_server *s)
{
	return s->port;
}
void *http_server_base(struct http_server *s)
{
	return s->base;
}

void http_server_set_live_metrics(struct http_server *s, const struct http_live_metrics *m)
{
	s->live = m;
}

void http_server_db_changed(struct http_server *s)
{
	s->refreshed_at = -1;      /* the next API request looks */
	s->db.changes++;           /* and rereads its snapshots whatever the duty cap says */
	poll_cb(-1, 0, s);
}

void http_server_set_metrics(struct http_server *s, void (*fn)(struct obuf *, void *), void *arg)
{
	s->metrics_fn = fn;
	s->metrics_arg = arg;
}

int http_server_run(struct http_server *s, int handle_signals)
{
	if (handle_signals) {
		s->sig[0] = evsignal_new(s->base, SIGINT, sig_cb, s->base);
		s->sig[1] = evsignal_new(s->base, SIGTERM, sig_cb, s->base);
		for (int i = 0; i < 2; i++)
			if (s->sig[i])
				event_add(s->sig[i], NULL);
	}
	event_base_dispatch(s->base);
	return 0;
}

void http_server_stop(struct http_server *s)
{
	event_base_loopbreak(s->base);
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	while (s->conns)
		conn_free(s->conns);
	for (int i = 0; i < 2; i++)
		if (s->sig[i])
			event_free(s->sig[i]);
	if (s->poll)
		event_free(s->poll);
	if (s->lis)
		evconnlistener_free(s->lis);
	if (s->base && s->own_base)
		event_base_free(s->base);
	api_db_close(&s->db);
	cache_clear(s);
	free(s->acked);
	free(s);
}
