/* The live collector's hook into darkmap serve (src/http/http.h): the /metrics formatter's exact
 * text (written out here by hand from the Prometheus text format 0.0.4), and a server started
 * on the test's own event_base over a database this process writes with src/store, as collect
 * does: the stream gets a stored event once when the writer says it committed, a published
 * message, /metrics the live numbers, /api/entities the new rows at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "detect/event.h"
#include "http/http.h"
#include "store/store.h"

static void test_format_zero(void **state)
{
	struct http_live_metrics m;
	memset(&m, 0, sizeof m);
	struct obuf o;
	obuf_init_mem(&o);
	http_live_metrics_format(&m, &o);
	obuf_putc(&o, 0);
	assert_string_equal(o.buf, "# HELP darkmap_peers_up BGP and BMP peers with an established session.\n"
	                           "# TYPE darkmap_peers_up gauge\n"
	                           "darkmap_peers_up 0\n"
	                           "# HELP darkmap_routes Routes in the RIB, every peer's.\n"
	                           "# TYPE darkmap_routes gauge\n"
	                           "darkmap_routes 0\n"
	                           "# HELP darkmap_elements_total BGP announcements and withdrawals applied to the RIB.\n"
	                           "# TYPE darkmap_elements_total counter\n"
	                           "darkmap_elements_total 0\n"
	                           "# HELP darkmap_decode_errors_total Input errors counted and skipped, by kind.\n"
	                           "# TYPE darkmap_decode_errors_total counter\n"
	                           "darkmap_decode_errors_total{kind=\"truncated\"} 0\n"
	                           "darkmap_decode_errors_total{kind=\"bad-length\"} 0\n"
	                           "darkmap_decode_errors_total{kind=\"bad-type\"} 0\n"
	                           "darkmap_decode_errors_total{kind=\"bad-value\"} 0\n"
	                           "darkmap_decode_errors_total{kind=\"no-peer-index\"} 0\n"
	                           "darkmap_decode_errors_total{kind=\"bad-attribute\"} 0\n"
	                           "darkmap_decode_errors_total{kind=\"bad-nlri\"} 0\n"
	                           "darkmap_decode_errors_total{kind=\"framing\"} 0\n"
	                           "darkmap_decode_errors_total{kind=\"io\"} 0\n"
	                           "darkmap_decode_errors_total{kind=\"nomem\"} 0\n"
	                           "# HELP darkmap_events_total Events raised by the detector, by type.\n"
	                           "# TYPE darkmap_events_total counter\n"
	                           "darkmap_events_total{type=\"outage\"} 0\n"
	                           "darkmap_events_total{type=\"partial\"} 0\n"
	                           "darkmap_events_total{type=\"recovery\"} 0\n"
	                           "darkmap_events_total{type=\"instability\"} 0\n"
	                           "darkmap_events_total{type=\"unknown\"} 0\n"
	                           "darkmap_events_total{type=\"newnormal\"} 0\n"
	                           "# HELP darkmap_bin_lag_seconds Wall clock minus the end of the last closed bin.\n"
	                           "# TYPE darkmap_bin_lag_seconds gauge\n"
	                           "darkmap_bin_lag_seconds 0\n"
	                           "# HELP darkmap_db_write_seconds Time to write and commit one closed bin to the "
	                           "database.\n"
	                           "# TYPE darkmap_db_write_seconds histogram\n"
	                           "darkmap_db_write_seconds_bucket{le=\"0.001\"} 0\n"
	                           "darkmap_db_write_seconds_bucket{le=\"0.0025\"} 0\n"
	                           "darkmap_db_write_seconds_bucket{le=\"0.005\"} 0\n"
	                           "darkmap_db_write_seconds_bucket{le=\"0.01\"} 0\n"
	                           "darkmap_db_write_seconds_bucket{le=\"0.025\"} 0\n"
	                           "darkmap_db_write_seconds_bucket{le=\"0.05\"} 0\n"
	                           "darkmap_db_write_seconds_bucket{le=\"0.1\"} 0\n"
	                           "darkmap_db_write_seconds_bucket{le=\"0.25\"} 0\n"
	                           "darkmap_db_write_seconds_bucket{le=\"0.5\"} 0\n"
	                           "darkmap_db_write_seconds_bucket{le=\"1\"} 0\n"
	                           "darkmap_db_write_seconds_bucket{le=\"2.5\"} 0\n"
	                           "darkmap_db_write_seconds_bucket{le=\"10\"} 0\n"
	                           "darkmap_db_write_seconds_bucket{le=\"+Inf\"} 0\n"
	                           "darkmap_db_write_seconds_sum 0\n"
	                           "darkmap_db_write_seconds_count 0\n");
	obuf_free(&o);
}

/* The values: counters by kind at their index, the histogram cumulative with the bucket
 * bounds inclusive (0.001 lands in le="0.001"), a write over 10 s only in +Inf. */
static void test_format_values(void **state)
{
	struct http_live_metrics m;
	memset(&m, 0, sizeof m);
	m.peers_up = 3;
	m.routes = 2715604;
	m.elements_total = 18446744073709551615u;
	m.decode_errors[-DM_ERR_BAD_ATTR] = 7;
	m.decode_errors[-DM_ERR_NOMEM] = 1;
	m.events_total[DM_EV_OUTAGE] = 2;
	m.events_total[DM_EV_NEWNORMAL] = 5;
	m.bin_lag_seconds = 12.25;
	http_live_metrics_observe_write(&m, 0.001);
	http_live_metrics_observe_write(&m, 0.003);
	http_live_metrics_observe_write(&m, 0.003);
	http_live_metrics_observe_write(&m, 0.75);
	http_live_metrics_observe_write(&m, 11);
	struct obuf o;
	obuf_init_mem(&o);
	http_live_metrics_format(&m, &o);
	obuf_putc(&o, 0);
	static const char *const want[] = {
		"\ndarkmap_peers_up 3\n",
		"\ndarkmap_routes 2715604\n",
		"\ndarkmap_elements_total 18446744073709551615\n",
		"\ndarkmap_decode_errors_total{kind=\"truncated\"} 0\n",
		"\ndarkmap_decode_errors_total{kind=\"bad-attribute\"} 7\n",
		"\ndarkmap_decode_errors_total{kind=\"nomem\"} 1\n",
		"\ndarkmap_events_total{type=\"outage\"} 2\n",
		"\ndarkmap_events_total{type=\"partial\"} 0\n",
		"\ndarkmap_events_total{type=\"newnormal\"} 5\n",
		"\ndarkmap_bin_lag_seconds 12.25\n",
		"\ndarkmap_db_write_seconds_bucket{le=\"0.001\"} 1\n"
		"darkmap_db_write_seconds_bucket{le=\"0.0025\"} 1\n"
		"darkmap_db_write_seconds_bucket{le=\"0.005\"} 3\n"
		"darkmap_db_write_seconds_bucket{le=\"0.01\"} 3\n"
		"darkmap_db_write_seconds_bucket{le=\"0.025\"} 3\n"
		"darkmap_db_write_seconds_bucket{le=\"0.05\"} 3\n"
		"darkmap_db_write_seconds_bucket{le=\"0.1\"} 3\n"
		"darkmap_db_write_seconds_bucket{le=\"0.25\"} 3\n"
		"darkmap_db_write_seconds_bucket{le=\"0.5\"} 3\n"
		"darkmap_db_write_seconds_bucket{le=\"1\"} 4\n"
		"darkmap_db_write_seconds_bucket{le=\"2.5\"} 4\n"
		"darkmap_db_write_seconds_bucket{le=\"10\"} 4\n"
		"darkmap_db_write_seconds_bucket{le=\"+Inf\"} 5\n"
		"darkmap_db_write_seconds_sum 11.757\n"
		"darkmap_db_write_seconds_count 5\n",
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		if (!strstr(o.buf, want[i]))
			fail_msg("missing:%s\nin:\n%s", want[i], o.buf);
	obuf_free(&o);
}

/* ---- the server on the caller's loop ---- */

static struct event_base *base;

/* Runs the loop and reads fd until its input holds want (count times); returns what came. */
static char *pump(int fd, char *buf, size_t cap, size_t *len, const char *want, int count)
{
	for (int i = 0; i < 5000; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		ssize_t r = recv(fd, buf + *len, cap - 1 - *len, MSG_DONTWAIT);
		if (r > 0)
			*len += (size_t)r;
		buf[*len] = 0;
		int n = 0;
		for (const char *p = buf; (p = strstr(p, want)); p++)
			n++;
		if (n >= count)
			return buf;
		usleep(1000);
	}
	fail_msg("no '%s' (x%d) in: %s", want, count, buf);
	return NULL;
}

static int connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	return fd;
}

/* One GET on a new connection (Connection: close): the whole answer. */
static char *get(int port, const char *path, char *buf, size_t cap)
{
	int fd = connect_to(port);
	char req[256];
	snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
	assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	size_t len = 0;
	buf[0] = 0;
	for (int i = 0; i < 5000; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		ssize_t r = recv(fd, buf + len, cap - 1 - len, MSG_DONTWAIT);
		if (r == 0)
			break;
		if (r > 0)
			len += (size_t)r;
		else
			usleep(1000);
	}
	buf[len] = 0;
	close(fd);
	return buf;
}

static void put_bin(struct store *st, const char *cc, int64_t t, uint64_t v)
{
	struct sig_entity e = { .kind = SIG_COUNTRY, .afi = DM_AFI_IPV4 };
	memcpy(e.cc, cc, 2);
	struct sig_bin b = { .t = t, .visible_prefixes = v, .slash24 = v, .baseline_slash24 = 4,
		             .peers_seeing = 2, .full_feed_peers = 2, .peers_up = 2, .peer_frac = 1 };
	assert_int_equal(store_put_bin(st, &e, &b), 0);
}

static void test_server_on_callers_loop(void **state)
{
	char dir[] = "/tmp/test_http_live.XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/db.sqlite", dir);
	struct dm_error err;
	struct store *st = store_open(path, &err); /* the pipeline's writer */
	assert_non_null(st);
	assert_int_equal(store_set_bin(st, 300), 0);
	store_begin(st);
	put_bin(st, "KP", 1419278400, 4);
	assert_int_equal(store_commit(st), 0);

	base = event_base_new();
	struct http_opts o;
	http_opts_default(&o);
	o.db_path = path;
	o.web_dir = dir;
	o.port = 0;
	o.poll_ms = 3600 * 1000; /* only http_server_db_changed tells the stream */
	struct http_server *srv = http_server_new_on(&o, base, &err);
	if (!srv)
		fail_msg("%s", err.what);
	assert_ptr_equal(http_server_base(srv), base);
	int port = http_server_port(srv);
	static char buf[1 << 16];
	assert_non_null(strstr(get(port, "/api/entities?type=country", buf, sizeof buf), "\"count\":1,"));

	int sfd = connect_to(port);
	const char *sreq = "GET /api/stream HTTP/1.1\r\nHost: x\r\n\r\n";
	assert_int_equal(send(sfd, sreq, strlen(sreq), 0), (ssize_t)strlen(sreq));
	static char sbuf[1 << 16];
	size_t slen = 0;
	pump(sfd, sbuf, sizeof sbuf, &slen, "event: hello\n", 1);

	/* the writer commits a bin and an event, then says so (twice: the event comes once) */
	struct dm_event ev;
	memset(&ev, 0, sizeof ev);
	ev.entity.kind = SIG_COUNTRY;
	ev.entity.afi = DM_AFI_IPV4;
	memcpy(ev.entity.cc, "KR", 2);
	ev.type = DM_EV_OUTAGE;
	ev.start = 1419278700;
	ev.raised = 1419279000;
	ev.baseline_slash24 = 4;
	store_begin(st);
	put_bin(st, "KP", 1419278700, 4);
	put_bin(st, "KR", 1419278700, 0);
	assert_int_equal(store_put_event(st, &ev), 0);
	assert_int_equal(store_commit(st), 0);
	http_server_db_changed(srv);
	http_server_db_changed(srv);
	pump(sfd, sbuf, sizeof sbuf, &slen, "event: bin\ndata: {\"t\":1419278700,\"series_end\":1419279000", 1);
	pump(sfd, sbuf, sizeof sbuf, &slen, "id: 1\nevent: event\ndata: {\"id\":1,\"entity\":\"KR\"", 1);
	http_server_publish(srv, "current", "{\"t\":1419279000}");
	pump(sfd, sbuf, sizeof sbuf, &slen, "event: current\ndata: {\"t\":1419279000}\n\n", 1);
	const char *first = strstr(sbuf, "id: 1\n");
	assert_null(strstr(first + 1, "id: 1\n")); /* not twice */

	/* /api/entities follows at once: KR in outage at its event's start */
	get(port, "/api/entities?type=country&at=1419278700", buf, sizeof buf);
	assert_non_null(strstr(buf, "\"count\":2,"));
	assert_non_null(strstr(buf, "{\"entity\":\"KR\",\"name\":\"South Korea\",\"state\":\"outage\""));

	/* /metrics: the live numbers, and one darkmap_bin_lag_seconds (collect's, not serve's) */
	struct http_live_metrics live;
	memset(&live, 0, sizeof live);
	live.peers_up = 2;
	live.bin_lag_seconds = 7.5;
	http_server_set_live_metrics(srv, &live);
	get(port, "/metrics", buf, sizeof buf);
	assert_non_null(strstr(buf, "\ndarkmap_peers_up 2\n"));
	assert_non_null(strstr(buf, "\ndarkmap_bin_lag_seconds 7.5\n"));
	const char *lag = strstr(buf, "# TYPE darkmap_bin_lag_seconds");
	assert_non_null(lag);
	assert_null(strstr(lag + 1, "# TYPE darkmap_bin_lag_seconds"));
	http_server_set_live_metrics(srv, NULL);
	get(port, "/metrics", buf, sizeof buf);
	assert_null(strstr(buf, "darkmap_peers_up "));

	close(sfd);
	http_server_free(srv);
	/* the base is still the caller's: usable, then freed by it */
	assert_int_equal(event_base_loop(base, EVLOOP_NONBLOCK), 1);
	event_base_free(base);
	store_close(st);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_zero),
		cmocka_unit_test(test_format_values),
		cmocka_unit_test(test_server_on_callers_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
