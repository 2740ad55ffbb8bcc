/* libFuzzer target: what an HTTP client sends darkmap serve. The input is a request (head and
 * anything after it, as bytes arrive on a socket):
 *   - http_request_parse at every length up to the whole input (a head arriving byte by byte is
 *     "need more" until it is whole, then the same answer);
 *   - an accepted head: the path starts with '/', holds no NUL, the parameters fit; its static
 *     path, when one is made, has no "." or ".." segment and does not start with '/';
 *   - each parameter as an entity label round-trips (parse, label, parse);
 *   - the API handlers (src/http/api.c) answer the request over a small real database: valid
 *     JSON shape (an object), 200/400/404 only. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/http_impl.h"
#include "store/store.h"

#define CHECK(c)                                                                                                       \
	do {                                                                                                           \
		if (!(c))                                                                                              \
			abort();                                                                                       \
	} while (0)

static struct api_db db;
static int have_db;

static char dir[64] = "/tmp/fuzz_http.XXXXXX";

/* at exit: the database and its folder (each run left one /tmp/fuzz_http.* behind) */
static void db_remove(void)
{
	static const char *const side[] = { "", "-wal", "-shm" };
	char path[128];
	for (size_t i = 0; i < sizeof side / sizeof side[0]; i++) {
		snprintf(path, sizeof path, "%s/db.sqlite%s", dir, side[i]);
		unlink(path);
	}
	rmdir(dir);
}

static void make_db(void)
{
	if (!mkdtemp(dir))
		return;
	atexit(db_remove);
	char path[128];
	snprintf(path, sizeof path, "%s/db.sqlite", dir);
	struct dm_error err;
	struct store *s = store_open(path, &err);
	if (!s)
		return;
	store_set_bin(s, 300);
	store_begin(s);
	struct sig_entity kp = { .kind = SIG_COUNTRY, .afi = 1, .cc = "KP" },
	                  as = { .kind = SIG_ASN, .afi = 1, .asn = 131279 }, gl = { .kind = SIG_GLOBAL, .afi = 1 };
	for (uint32_t t = 1419264000; t < 1419264000 + 20 * 300; t += 300) {
		struct sig_bin b = { .t = t,
			             .slash24 = t < 1419265200 ? 4 : 0,
			             .baseline_slash24 = 4,
			             .visible_prefixes = 4,
			             .peers_seeing = 8,
			             .full_feed_peers = 8,
			             .peers_up = 8,
			             .peer_frac = 1,
			             .quality = t == 1419266000 };
		store_put_bin(s, &kp, &b);
		store_put_bin(s, &as, &b);
		store_put_bin(s, &gl, &b);
	}
	store_commit(s);
	struct dm_event ev = {
		.type = DM_EV_OUTAGE, .entity = kp, .start = 1419265200, .severity = 1, .baseline_slash24 = 4
	};
	snprintf(ev.reason, sizeof ev.reason, "seed");
	store_put_event(s, &ev);
	store_close(s);
	have_db = api_db_open(&db, path, &err) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!have_db)
		make_db();
	const char *buf = (const char *)data;
	struct http_request *req = malloc(sizeof *req), *r2 = malloc(sizeof *r2);
	const char *why = NULL;
	int rc = http_request_parse(buf, size, req, &why);
	CHECK(rc == 0 || rc == 1 || (rc >= 400 && rc < 600));
	CHECK(rc == 0 || rc == 1 || why);
	/* a prefix of an accepted head is "need more", or the same error earlier in the bytes */
	if (rc == 0) {
		CHECK(req->head_len <= size && req->head_len <= HTTP_MAX_HEAD);
		for (size_t n = 0; n < req->head_len; n += 1 + n / 4) {
			int r = http_request_parse(buf, n, r2, &why);
			CHECK(r == 1 || r >= 400);
		}
		CHECK(http_request_parse(buf, req->head_len, r2, &why) == 0 && r2->head_len == req->head_len);
		CHECK(req->path[0] == '/');
		CHECK(strlen(req->path) < sizeof req->path);
		CHECK(req->nparams <= HTTP_MAX_PARAMS);
		char rel[HTTP_MAX_TARGET];
		if (http_static_path(req->path, rel, sizeof rel) == 0) {
			CHECK(rel[0] != '/');
			for (const char *s = rel;;) {
				const char *e = strchr(s, '/');
				size_t l = e ? (size_t)(e - s) : strlen(s);
				CHECK(l > 0 && s[0] != '.');
				if (!e)
					break;
				s = e + 1;
			}
		}
		for (size_t i = 0; i < req->nparams; i++) {
			struct sig_entity e, e2;
			if (http_entity_parse(req->params[i].val, &e) == 0) {
				char lb[32];
				http_entity_label(&e, lb, sizeof lb);
				CHECK(http_entity_parse(lb, &e2) == 0);
				CHECK(e.kind == e2.kind && e.afi == e2.afi && e.asn == e2.asn &&
				      !memcmp(e.cc, e2.cc, 2));
			}
		}
		if (have_db) {
			static int (*const fns[])(struct api_db *, const struct http_request *, struct obuf *) = {
				api_entities, api_series, api_events, api_peers, api_collectors,
			};
			struct obuf o;
			obuf_init_mem(&o);
			int code = fns[(unsigned char)req->path[1] % 5](&db, req, &o);
			CHECK(code == 200 || code == 400 || code == 404);
			CHECK(o.len > 0 && o.buf[0] == '{');
			obuf_free(&o);
		}
	}
	free(req);
	free(r2);
	return 0;
}
