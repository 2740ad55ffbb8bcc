/* src/http's parsers, against hand-written requests and the answers RFC 9112 asks for: the head
 * parser and its limits, query decoding, static paths (every traversal spelling refused), entity
 * labels. The server itself is tested over sockets by tests/integration/serve_api.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/addr.h"
#include "http/http.h"

static struct http_request req;

static int parse(const char *s, const char **why)
{
	return http_request_parse(s, strlen(s), &req, why);
}

static void test_request_ok(void **state)
{
	const char *why = NULL;
	const char *r = "GET /api/series?entity=KP&from=2014-12-22+16%3A00&signals=slash24,quality HTTP/1.1\r\n"
	                "Host: x\r\nAuthorization:  Bearer abc \r\nConnection: Close\r\n\r\nNEXT";
	assert_int_equal(parse(r, &why), 0);
	assert_int_equal(req.method, HTTP_GET);
	assert_int_equal(req.minor, 1);
	assert_int_equal(req.keep_alive, 0);
	assert_int_equal(req.head_len, strlen(r) - 4);
	assert_string_equal(req.path, "/api/series");
	assert_int_equal(req.nparams, 3);
	assert_string_equal(http_param_get(&req, "entity"), "KP");
	assert_string_equal(http_param_get(&req, "from"), "2014-12-22 16:00");
	assert_string_equal(http_param_get(&req, "signals"), "slash24,quality");
	assert_null(http_param_get(&req, "to"));
	assert_string_equal(req.auth, "Bearer abc");
	/* HTTP/1.0 closes unless asked; bare LF line ends are accepted (RFC 9112 §2.2) */
	assert_int_equal(parse("HEAD / HTTP/1.0\nConnection: keep-alive\n\n", &why), 0);
	assert_int_equal(req.method, HTTP_HEAD);
	assert_int_equal(req.keep_alive, 1);
	/* every prefix of a head is "need more" */
	for (size_t n = 0; n < strlen(r) - 4; n++)
		assert_int_equal(http_request_parse(r, n, &req, &why), 1);
}

static void test_request_limits(void **state)
{
	const char *why = NULL;
	char *big = malloc(HTTP_MAX_HEAD + 100);
	snprintf(big, HTTP_MAX_HEAD + 100, "GET / HTTP/1.1\r\nX: %0*d\r\n\r\n", HTTP_MAX_HEAD, 0);
	assert_int_equal(parse(big, &why), 431);
	big[HTTP_MAX_HEAD] = 0; /* no end of head within the limit, still coming: also 431 */
	assert_int_equal(http_request_parse(big, HTTP_MAX_HEAD, &req, &why), 431);
	char *o = big;
	o += sprintf(o, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++)
		o += sprintf(o, "H%d: v\r\n", i);
	sprintf(o, "\r\n");
	assert_int_equal(parse(big, &why), 431);
	assert_string_equal(why, "more than 48 header lines");
	memset(big, 'a', 3000);
	memcpy(big, "GET /", 5);
	strcpy(big + 3000, " HTTP/1.1\r\n\r\n");
	assert_int_equal(parse(big, &why), 414);
	free(big);
	assert_int_equal(parse("POST /api/reload HTTP/1.1\r\nContent-Length: 1025\r\n\r\n", &why), 413);
	assert_int_equal(parse("POST /api/reload HTTP/1.1\r\nContent-Length: 12\r\n\r\n", &why), 0);
	assert_int_equal(req.body_len, 12);
	assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", &why), 400);
	assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", &why), 400);
	assert_int_equal(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &why), 501);
	assert_int_equal(parse("GET / HTTP/2.0\r\n\r\n", &why), 505);
	assert_int_equal(parse("GET / FTP/1.0\r\n\r\n", &why), 400);
	assert_int_equal(parse("GET http://x/ HTTP/1.1\r\n\r\n", &why), 400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", &why), 400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nX : a\r\n\r\n", &why), 400);
	assert_int_equal(parse("GET /a%zz HTTP/1.1\r\n\r\n", &why), 400);
	assert_int_equal(parse("GET /a%00b HTTP/1.1\r\n\r\n", &why), 400);
	assert_int_equal(parse("GET /a%4 HTTP/1.1\r\n\r\n", &why), 400);
	assert_int_equal(parse("GET /a#b HTTP/1.1\r\n\r\n", &why), 400);
	assert_int_equal(parse("GET /\x01 HTTP/1.1\r\n\r\n", &why), 400);
	assert_int_equal(parse("G(T / HTTP/1.1\r\n\r\n", &why), 400);
	assert_int_equal(parse("DELETE / HTTP/1.1\r\n\r\n", &why), 0);
	assert_int_equal(req.method, HTTP_OTHER);
	char q[600] = "GET /?";
	for (int i = 0; i < HTTP_MAX_PARAMS + 1; i++)
		sprintf(q + strlen(q), "k%d=v&", i);
	strcat(q, " HTTP/1.1\r\n\r\n");
	assert_int_equal(parse(q, &why), 400);
	assert_string_equal(why, "too many query parameters");
}

static void test_static_paths(void **state)
{
	char rel[256];
	assert_int_equal(http_static_path("/", rel, sizeof rel), 0);
	assert_string_equal(rel, "index.html");
	assert_int_equal(http_static_path("/app.js", rel, sizeof rel), 0);
	assert_string_equal(rel, "app.js");
	assert_int_equal(http_static_path("/img/a.png", rel, sizeof rel), 0);
	assert_string_equal(rel, "img/a.png");
	/* paths as they are after percent-decoding (%2e%2e -> "..", %2f -> "/", %5c -> "\") */
	static const char *const bad[] = { "/..",          "/../Makefile",
		                           "/a/../../b",   "/./index.html",
		                           "/a//b",        "//etc/passwd",
		                           "/.git/config", "/..\\Makefile",
		                           "/a\\..\\b",    "/a/",
		                           "/a/.",         "/x\x01",
		                           "/C:/x",        "" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(http_static_path(bad[i], rel, sizeof rel), -1);
}

static void test_entities(void **state)
{
	struct sig_entity e;
	char lb[32];
	assert_int_equal(http_entity_parse("kp", &e), 0);
	assert_int_equal(e.kind, SIG_COUNTRY);
	assert_memory_equal(e.cc, "KP", 2);
	assert_int_equal(e.afi, DM_AFI_IPV4);
	assert_int_equal(http_entity_parse("AS131279/v6", &e), 0);
	assert_int_equal(e.kind, SIG_ASN);
	assert_int_equal(e.asn, 131279);
	assert_int_equal(e.afi, DM_AFI_IPV6);
	http_entity_label(&e, lb, sizeof lb);
	assert_string_equal(lb, "AS131279/v6");
	assert_int_equal(http_entity_parse("4294967295", &e), 0);
	assert_int_equal(e.asn, 4294967295u);
	assert_int_equal(http_entity_parse("Global", &e), 0);
	assert_int_equal(e.kind, SIG_GLOBAL);
	/* "AS" alone is American Samoa, not an AS without a number */
	assert_int_equal(http_entity_parse("AS", &e), 0);
	assert_int_equal(e.kind, SIG_COUNTRY);
	static const char *const bad[] = { "", "K", "K1", "KPX", "AS-1", "4294967296", "AS12a", "/v6", "12345678901" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(http_entity_parse(bad[i], &e), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_ok),
		cmocka_unit_test(test_request_limits),
		cmocka_unit_test(test_static_paths),
		cmocka_unit_test(test_entities),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
