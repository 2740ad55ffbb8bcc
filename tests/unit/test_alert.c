/* Alert lines, JSON objects and the webhook. The webhook is tested against a small HTTP server
 * on 127.0.0.1 run in a thread of this test: it answers the first N requests with 500 (or
 * another status, or never), then 200, and records every request, so the retry count and the
 * exact bytes received can be asserted. No timing is asserted. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "../loopback_http.h"
#include "base/addr.h"
#include "base/obuf.h"
#include "detect/detect.h"
#include "out/alert.h"
#include "out/webhook.h"

struct geo_db {
	int unused;
};

static const char *fake_country(const char *cc)
{
	return strcmp(cc, "KP") == 0 ? "North Korea" : NULL;
}

static const char *fake_as(const struct geo_db *g, uint32_t asn)
{
	assert_non_null(g);   /* the context given in alert_names is passed through */
	return asn == 131279 ? "Ryugyong-dong" : NULL;
}

static struct geo_db GEO;
static const struct alert_names NAMES = {.country_name = fake_country, .as_name = fake_as, .geo = &GEO};

static char *text_of(const struct dm_event *ev, int json)
{
	struct obuf o;
	obuf_init_mem(&o);
	if (json)
		alert_json(&o, ev, &NAMES);
	else
		alert_text(&o, ev, &NAMES);
	obuf_putc(&o, 0);
	return o.buf;   /* caller frees */
}

static void expect(const struct dm_event *ev, int json, const char *want)
{
	char *s = text_of(ev, json);
	assert_string_equal(s, want);
	free(s);
}

/* 2014-12-22 16:15 UTC = 1419264900; 2014-12-23 01:46 UTC = 1419299160 (9 h 31 min later). */
enum { T_DOWN = 1419264900, T_UP = 1419299160 };

static struct dm_event kp_outage(void)
{
	struct dm_event ev = {.type = DM_EV_OUTAGE, .entity = {.kind = SIG_COUNTRY, .afi = DM_AFI_IPV4, .cc = "KP"},
	                      .start = T_DOWN, .raised = T_DOWN + 300, .severity = 1.0, .baseline_slash24 = 4,
	                      .slash24 = 0, .peers_lost = 38, .full_feed_peers = 40};
	strcpy(ev.affected, "175.45.176.0/24 175.45.177.0/24 175.45.178.0/24 175.45.179.0/24");
	strcpy(ev.reason, "visible /24s 0 < 0.5 x baseline 4 (moving median of 2016 good bins) for 2 bins");
	return ev;
}

static void test_labels(void **state)
{
	(void)state;
	char b[64];
	struct sig_entity kp = {.kind = SIG_COUNTRY, .afi = DM_AFI_IPV4, .cc = "KP"};
	struct sig_entity xx = {.kind = SIG_COUNTRY, .afi = DM_AFI_IPV4, .cc = "XX"};
	struct sig_entity as = {.kind = SIG_ASN, .afi = DM_AFI_IPV4, .asn = 131279};
	struct sig_entity as2 = {.kind = SIG_ASN, .afi = DM_AFI_IPV6, .asn = 64500};
	assert_int_equal(alert_entity_label(&kp, &NAMES, b, sizeof b), 16);
	assert_string_equal(b, "KP (North Korea)");
	alert_entity_label(&xx, &NAMES, b, sizeof b);
	assert_string_equal(b, "XX");
	alert_entity_label(&as, &NAMES, b, sizeof b);
	assert_string_equal(b, "AS131279 (Ryugyong-dong)");
	alert_entity_label(&as2, &NAMES, b, sizeof b);
	assert_string_equal(b, "AS64500 IPv6");
	alert_entity_label(&kp, NULL, b, sizeof b);
	assert_string_equal(b, "KP");
	alert_entity_label(&kp, &NAMES, b, 5);   /* truncated, still terminated */
	assert_string_equal(b, "KP (");
}

static void test_durations(void **state)
{
	(void)state;
	char b[48];
	static const struct { uint32_t s; const char *want; } c[] = {
		{0, "0 min"}, {59, "0 min"}, {31 * 60, "31 min"}, {9 * 3600 + 31 * 60, "9 h 31 min"},
		{9 * 3600 + 31 * 60 + 59, "9 h 31 min"}, {2 * 3600, "2 h"}, {86400 + 5 * 60, "1 d 5 min"},
		{3 * 86400 + 3600, "3 d 1 h"},
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		alert_duration(c[i].s, b, sizeof b);
		assert_string_equal(b, c[i].want);
	}
}

/* The lines the 2014 observers would have posted, exactly as in the issue. */
static void test_text_lines(void **state)
{
	(void)state;
	struct dm_event ev = kp_outage();
	expect(&ev, 0, "KP (North Korea): 4 of 4 /24s unreachable, withdrawn by 38 of 40 full-feed peers, "
	               "since 2014-12-22 16:15 UTC\n");

	struct dm_event rec = ev;
	rec.type = DM_EV_RECOVERY;
	rec.of_type = DM_EV_OUTAGE;
	rec.end = T_UP;
	rec.slash24 = 4;
	expect(&rec, 0, "KP (North Korea): back after 9 h 31 min (down 2014-12-22 16:15 - 2014-12-23 01:46 UTC)\n");

	/* 7 in a 6 h window; baseline 0.5 per window = 0.5 / 6 per hour. */
	struct dm_event in = {.type = DM_EV_INSTABILITY, .entity = ev.entity, .start = T_DOWN - 86400,
	                      .window = 6 * 3600, .interruptions = 7, .rate = 7 / 6.0, .baseline_rate = 0.5 / 6.0};
	expect(&in, 0, "KP (North Korea): rising instability, 7 interruptions in the last 6 h vs 0.5 baseline\n");
	in.end = T_DOWN;
	in.interruptions = 1;
	expect(&in, 0, "KP (North Korea): instability subsided, 1 interruption in the last 6 h vs 0.5 baseline "
	               "(rising 2014-12-21 16:15 - 2014-12-22 16:15 UTC)\n");

	struct dm_event as = ev;
	as.entity = (struct sig_entity){.kind = SIG_ASN, .afi = DM_AFI_IPV4, .asn = 131279};
	expect(&as, 0, "AS131279 (Ryugyong-dong): 4 of 4 /24s unreachable, withdrawn by 38 of 40 full-feed peers, "
	               "since 2014-12-22 16:15 UTC\n");

	struct dm_event part = ev;
	part.type = DM_EV_PARTIAL;
	part.slash24 = 3;
	part.peers_lost = 0;
	expect(&part, 0, "KP (North Korea): partial outage, 1 of 4 /24s unreachable, since 2014-12-22 16:15 UTC\n");

	struct dm_event v6 = ev;
	v6.entity.afi = DM_AFI_IPV6;
	v6.baseline_slash24 = 2;
	expect(&v6, 0, "KP (North Korea) IPv6: 2 of 2 /48s unreachable, withdrawn by 38 of 40 full-feed peers, "
	               "since 2014-12-22 16:15 UTC\n");
	/* the world's IPv6 /48s pass 2^32: 64-bit in the text and the JSON */
	v6.baseline_slash24 = 9894864915ull;
	v6.slash24 = 4294967296ull;
	expect(&v6, 0, "KP (North Korea) IPv6: 5599897619 of 9894864915 /48s unreachable, withdrawn by 38 of 40 "
	               "full-feed peers, since 2014-12-22 16:15 UTC\n");
	char *js = text_of(&v6, 1);
	assert_non_null(strstr(js, "\"unit\":\"/48\",\"baseline\":9894864915,\"value\":4294967296,"));
	free(js);

	struct dm_event unk = {.type = DM_EV_UNKNOWN, .entity = ev.entity, .start = T_DOWN,
	                       .quality = SIG_Q_GAP | SIG_Q_NO_DATA};
	assert_int_equal(alert_is_alert(&unk), 0);
	assert_int_equal(alert_is_alert(&ev), 1);
	assert_int_equal(alert_is_alert(&rec), 1);
	assert_int_equal(alert_is_alert(&in), 1);
	expect(&unk, 0, "KP (North Korea): state unknown since 2014-12-22 16:15 UTC (collector gap, no data), not judged\n");
	unk.end = T_DOWN + 600;
	expect(&unk, 0, "KP (North Korea): data quality restored after 10 min (unknown 2014-12-22 16:15 - "
	                "2014-12-22 16:25 UTC, collector gap, no data)\n");
}

static void test_json(void **state)
{
	(void)state;
	struct dm_event ev = kp_outage();
	expect(&ev, 1,
	       "{\"entity\":\"KP\",\"kind\":\"country\",\"afi\":4,\"label\":\"KP (North Korea)\",\"type\":\"outage\","
	       "\"start\":\"2014-12-22T16:15:00Z\",\"end\":null,\"start_ts\":1419264900,\"end_ts\":null,\"duration\":null,"
	       "\"raised\":\"2014-12-22T16:20:00Z\",\"severity\":1,\"unit\":\"/24\",\"baseline\":4,\"value\":0,\"evidence\":\"\","
	       "\"affected\":[\"175.45.176.0/24\",\"175.45.177.0/24\",\"175.45.178.0/24\",\"175.45.179.0/24\"],"
	       "\"peers_lost\":38,\"full_feed_peers\":40,\"peers_share_lost\":0.95,\"quality\":0,\"quality_text\":\"ok\","
	       "\"reason\":\"visible /24s 0 < 0.5 x baseline 4 (moving median of 2016 good bins) for 2 bins\"}");

	struct dm_event rec = ev;
	rec.type = DM_EV_RECOVERY;
	rec.of_type = DM_EV_OUTAGE;
	rec.end = T_UP;
	rec.affected[0] = 0;
	strcpy(rec.reason, "quote \" backslash \\ newline \n end");
	char *s = text_of(&rec, 1);
	json_error_t jerr;
	json_t *j = json_loads(s, 0, &jerr);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "recovery");
	assert_string_equal(json_string_value(json_object_get(j, "ends")), "outage");
	assert_int_equal(json_integer_value(json_object_get(j, "duration")), 9 * 3600 + 31 * 60);
	assert_string_equal(json_string_value(json_object_get(j, "end")), "2014-12-23T01:46:00Z");
	assert_int_equal(json_array_size(json_object_get(j, "affected")), 0);
	assert_string_equal(json_string_value(json_object_get(j, "reason")), "quote \" backslash \\ newline \n end");
	json_decref(j);
	free(s);

	struct dm_event in = {.type = DM_EV_INSTABILITY, .entity = ev.entity, .start = T_DOWN, .window = 21600,
	                      .interruptions = 7, .rate = 7 / 6.0, .baseline_rate = 0.5 / 6.0};
	s = text_of(&in, 1);
	j = json_loads(s, 0, &jerr);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "interruptions")), 7);
	assert_int_equal(json_integer_value(json_object_get(j, "window")), 21600);
	assert_true(json_real_value(json_object_get(j, "baseline_rate")) > 0.0833 &&
	            json_real_value(json_object_get(j, "baseline_rate")) < 0.0834);
	json_decref(j);
	free(s);
}

/* ---- the test server ---- */

struct srv {
	int lfd, port;
	int conns;             /* connections to serve, then the thread ends */
	int fail_first;        /* answer the first N requests with fail_status */
	int fail_status;       /* 500, 404, ...; 0: never answer (read until the client gives up);
	                        * -1: wait until the test writes to release[1], then answer 503 */
	int release[2];
	int requests;
	char reqs[4][2048];    /* raw requests received (headers + body), NUL-terminated */
	char bodies[4][1024];
	pthread_t th;
};

static void *srv_run(void *arg)
{
	struct srv *s = arg;
	for (int c = 0; c < s->conns; c++) {
		int fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			break;
		char buf[2048], *hend;
		size_t len = loopback_read_request(fd, buf, sizeof buf, &hend);
		int i = s->requests++;
		if (i < 4) {
			memcpy(s->reqs[i], buf, len + 1);
			if (hend)
				snprintf(s->bodies[i], sizeof s->bodies[i], "%s", hend + 4);
		}
		const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		char fail[128];
		if (i < s->fail_first) {
			if (s->fail_status == 0) {
				while (recv(fd, buf, sizeof buf, 0) > 0)   /* hold the line until the client closes */
					;
				close(fd);
				continue;
			}
			if (s->fail_status < 0) {
				char x;
				ssize_t rr = read(s->release[0], &x, 1);
				(void)rr;
			}
			snprintf(fail, sizeof fail, "HTTP/1.1 %d Failing\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
			         s->fail_status < 0 ? 503 : s->fail_status);
			resp = fail;
		}
		ssize_t w = send(fd, resp, strlen(resp), MSG_NOSIGNAL);
		(void)w;
		close(fd);
	}
	return NULL;
}

static void srv_start(struct srv *s, int conns, int fail_first, int fail_status)
{
	memset(s, 0, sizeof *s);
	s->conns = conns;
	s->fail_first = fail_first;
	s->fail_status = fail_status;
	assert_int_equal(pipe(s->release), 0);
	s->lfd = loopback_listen(8, &s->port);
	assert_true(s->lfd >= 0);
	assert_int_equal(pthread_create(&s->th, NULL, srv_run, s), 0);
}

static void srv_stop(struct srv *s)
{
	pthread_join(s->th, NULL);
	close(s->lfd);
	close(s->release[0]);
	close(s->release[1]);
}

static struct webhook_opts fast_opts(void)
{
	struct webhook_opts o;
	webhook_opts_default(&o);
	o.backoff = 0.01;   /* 0.01, 0.02 s: keeps the test short; the count is what is checked */
	o.timeout = 30;   /* generous: a loaded machine must not turn a slow answer into a retry */
	return o;
}

/* Two 500s, then 200: three tries, and the third request carries the exact JSON. */
static void test_webhook_retries(void **state)
{
	(void)state;
	struct srv s;
	srv_start(&s, 3, 2, 500);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", s.port);
	struct dm_event ev = kp_outage();
	char *body = text_of(&ev, 1);
	struct webhook_opts o = fast_opts();
	struct webhook_result r;
	assert_int_equal(webhook_post(url, body, strlen(body), &o, &r), 0);
	srv_stop(&s);
	assert_int_equal(r.tries, 3);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.error, "");
	assert_int_equal(s.requests, 3);
	for (int i = 0; i < 3; i++)
		assert_string_equal(s.bodies[i], body);
	char head[256];
	snprintf(head, sizeof head,
	         "POST /hook HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: darkmap\r\nContent-Type: application/json\r\n"
	         "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	         s.port, strlen(body));
	assert_memory_equal(s.reqs[2], head, strlen(head));
	free(body);
}

/* Always 500: gives up after the configured 3 tries with a message naming the URL and cause. */
static void test_webhook_gives_up(void **state)
{
	(void)state;
	struct srv s;
	srv_start(&s, 3, 3, 500);
	char url[64], want[160];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", s.port);
	struct webhook_opts o = fast_opts();
	struct webhook_result r;
	assert_int_equal(webhook_post(url, "{}", 2, &o, &r), DM_ERR_IO);
	srv_stop(&s);
	assert_int_equal(r.tries, 3);
	assert_int_equal(s.requests, 3);
	assert_int_equal(r.status, 500);
	snprintf(want, sizeof want, "webhook %s: failed after 3 tries: HTTP 500", url);
	assert_string_equal(r.error, want);
}

/* 404 is the server refusing: no retry. */
static void test_webhook_no_retry_on_4xx(void **state)
{
	(void)state;
	struct srv s;
	srv_start(&s, 1, 1, 404);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", s.port);
	struct webhook_opts o = fast_opts();
	struct webhook_result r;
	assert_int_equal(webhook_post(url, "{}", 2, &o, &r), DM_ERR_IO);
	srv_stop(&s);
	assert_int_equal(r.tries, 1);
	assert_int_equal(r.status, 404);
}

/* A server that accepts and never answers: each try ends at its timeout, never hangs. */
static void test_webhook_timeout(void **state)
{
	(void)state;
	struct srv s;
	srv_start(&s, 2, 2, 0);
	char url[64], want[160];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/x", s.port);
	struct webhook_opts o = fast_opts();
	o.tries = 2;
	o.timeout = 0.2;
	struct webhook_result r;
	assert_int_equal(webhook_post(url, "{}", 2, &o, &r), DM_ERR_IO);
	srv_stop(&s);
	assert_int_equal(r.tries, 2);
	assert_int_equal(s.requests, 2);
	snprintf(want, sizeof want, "webhook %s: failed after 2 tries: no response within 0.2 s", url);
	assert_string_equal(r.error, want);
}

/* Nothing listening (a port just released) and bad URLs. */
static void test_webhook_refused_and_bad_urls(void **state)
{
	(void)state;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	close(fd);
	char url[64], want[200];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(a.sin_port));
	struct webhook_opts o = fast_opts();
	struct webhook_result r;
	assert_int_equal(webhook_post(url, "{}", 2, &o, &r), DM_ERR_IO);
	assert_int_equal(r.tries, 3);
	snprintf(want, sizeof want, "webhook %s: failed after 3 tries: connect 127.0.0.1:%d: Connection refused", url,
	         ntohs(a.sin_port));
	assert_string_equal(r.error, want);

	assert_int_equal(webhook_post("https://127.0.0.1/", "{}", 2, &o, &r), DM_ERR_BAD_VALUE);
	assert_string_equal(r.error, "webhook https://127.0.0.1/: only http:// URLs are supported");
	assert_int_equal(webhook_post("http://127.0.0.1:99999/", "{}", 2, &o, &r), DM_ERR_BAD_VALUE);
	assert_string_equal(r.error, "webhook http://127.0.0.1:99999/: bad port");
	assert_int_equal(webhook_post("http:///x", "{}", 2, &o, &r), DM_ERR_BAD_VALUE);
	assert_int_equal(webhook_post("http://[::1/x", "{}", 2, &o, &r), DM_ERR_BAD_VALUE);
	assert_string_equal(r.error, "webhook http://[::1/x: missing, unterminated or too long host");
	/* found by fuzz_parse: a CR LF in the host went into the Host: header as it was */
	assert_int_equal(webhook_post("http://example.org\r\nX-Injected: 1/", "{}", 2, &o, &r), DM_ERR_BAD_VALUE);
	assert_string_equal(r.error, "webhook http://example.org\r\nX-Injected: 1/: space or control character at "
	                             "position 18");
	struct dm_error err;
	assert_null(webhook_new("http://exa mple/", &o, 4, &err));
	assert_null(webhook_new("ftp://x/", &o, 4, &err));
	assert_int_equal(err.code, DM_ERR_BAD_VALUE);
}

/* The background sender: two alerts queued, posted in order, the first after one retry. */
static void test_webhook_async(void **state)
{
	(void)state;
	struct srv s;
	srv_start(&s, 3, 1, 500);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/a", s.port);
	struct webhook_opts o = fast_opts();
	struct dm_error err;
	struct webhook *w = webhook_new(url, &o, 8, &err);
	assert_non_null(w);
	assert_int_equal(webhook_enqueue(w, "{\"n\":1}", 7), 0);
	assert_int_equal(webhook_enqueue(w, "{\"n\":2}", 7), 0);
	webhook_drain(w);
	struct webhook_stats st;
	webhook_stats(w, &st);
	webhook_free(w);
	srv_stop(&s);
	/* Request 1 got a 500 and was retried (request 2); then the second body (request 3). */
	assert_int_equal(st.sent, 2);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(s.requests, 3);
	assert_string_equal(s.bodies[0], "{\"n\":1}");
	assert_string_equal(s.bodies[1], "{\"n\":1}");
	assert_string_equal(s.bodies[2], "{\"n\":2}");
}

/* Queue bound: with a queue of 1 and a server that holds the first request until the test
 * releases it, the thread is busy, one body waits, and a further enqueue is dropped at once. */
static void test_webhook_queue_full_drops(void **state)
{
	(void)state;
	struct srv s;
	srv_start(&s, 2, 1, -1);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/a", s.port);
	struct webhook_opts o = fast_opts();
	o.tries = 1;
	o.timeout = 60;   /* longer than any hold: the release, not the clock, ends request 1 */
	struct dm_error err;
	struct webhook *w = webhook_new(url, &o, 1, &err);
	assert_non_null(w);
	assert_int_equal(webhook_enqueue(w, "1", 1), 0);
	/* Wait (without a time bound in the assertion) until the thread took body 1 off the queue. */
	for (;;) {
		int taken = webhook_enqueue(w, "2", 1) == 0;
		if (taken)
			break;
		usleep(1000);
	}
	struct webhook_stats st0;
	webhook_stats(w, &st0);
	/* Body 2 waits in the queue of 1, body 1 is in flight (the server holds it): full. */
	int dropped_now = webhook_enqueue(w, "3", 1);
	assert_int_equal(write(s.release[1], "x", 1), 1);
	webhook_drain(w);
	struct webhook_stats st;
	webhook_stats(w, &st);
	webhook_free(w);
	srv_stop(&s);
	assert_int_equal(dropped_now, -1);
	assert_int_equal(st.dropped, st0.dropped + 1);
	assert_int_equal(st.sent, 1);     /* body 2 */
	assert_int_equal(st.failed, 1);   /* body 1 got a 503 with no tries left */
	assert_string_equal(st.last_error + strlen(st.last_error) - 8, "HTTP 503");
	assert_string_equal(s.bodies[1], "2");
}

/* IPv6 literal URL against a server on ::1 (skipped when the machine has no IPv6 loopback). */
static void *v6_serve(void *arg)
{
	int lfd = *(int *)arg;
	int fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	static char buf[1024];
	size_t len = 0;
	for (;;) {
		ssize_t r = recv(fd, buf + len, sizeof buf - 1 - len, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = 0;
		char *h = strstr(buf, "\r\n\r\n");
		if (h && strlen(h + 4) >= 2)
			break;
	}
	const char *ok = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
	ssize_t w = send(fd, ok, strlen(ok), MSG_NOSIGNAL);
	(void)w;
	close(fd);
	return buf;
}

static void test_webhook_ipv6(void **state)
{
	(void)state;
	int lfd = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	socklen_t al = sizeof a;
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) != 0) {
		if (lfd >= 0)
			close(lfd);
		skip();
	}
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, v6_serve, &lfd), 0);
	char url[64], host[64];
	snprintf(url, sizeof url, "http://[::1]:%d/v6", ntohs(a.sin6_port));
	struct webhook_opts o = fast_opts();
	struct webhook_result r;
	int rc = webhook_post(url, "{}", 2, &o, &r);
	void *req;
	pthread_join(th, &req);
	close(lfd);
	assert_int_equal(rc, 0);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.tries, 1);
	snprintf(host, sizeof host, "\r\nHost: [::1]:%d\r\n", ntohs(a.sin6_port));
	assert_non_null(req);
	assert_non_null(strstr(req, host));
	assert_memory_equal(req, "POST /v6 HTTP/1.1\r\n", 19);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_text_lines),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_webhook_retries),
		cmocka_unit_test(test_webhook_gives_up),
		cmocka_unit_test(test_webhook_no_retry_on_4xx),
		cmocka_unit_test(test_webhook_timeout),
		cmocka_unit_test(test_webhook_refused_and_bad_urls),
		cmocka_unit_test(test_webhook_async),
		cmocka_unit_test(test_webhook_queue_full_drops),
		cmocka_unit_test(test_webhook_ipv6),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
