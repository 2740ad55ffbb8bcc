/* ThreadSanitizer test of the server on a thread of its own (src/http/thread.c, darkmap collect
 * --serve): this thread is the collector, writing bins and events into the database, saying so
 * (http_thread_db_changed), publishing stream messages and handing over its /metrics numbers,
 * while a client thread holds an /api/stream connection and asks /metrics and /api/entities.
 * Checks exact values from what the writer did: every stored bin announced on the stream, the
 * event once with its id, each published message, the last metrics given, KR in outage; a
 * data race makes TSan exit 66. Prints "ok NAME" / "not ok NAME: why". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "detect/event.h"
#include "http/http.h"
#include "signal/series.h"
#include "store/store.h"

enum { NBINS = 12, T0 = 1419278400 };

static int connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		return -1;
	return fd;
}

/* Reads fd into buf (NUL-terminated) until want appears count times, the peer closes, or 10 s. */
static size_t read_until(int fd, char *buf, size_t cap, size_t len, const char *want, int count)
{
	for (int waited = 0; waited < 10000;) {
		int n = 0;
		for (const char *p = buf; want && (p = strstr(p, want)); p++)
			n++;
		if (want && n >= count)
			break;
		struct pollfd pf = { fd, POLLIN, 0 };
		if (poll(&pf, 1, 50) <= 0) {
			waited += 50;
			continue;
		}
		ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = 0;
	}
	return len;
}

static char *get(int port, const char *path, char *buf, size_t cap)
{
	buf[0] = 0;
	int fd = connect_to(port);
	if (fd < 0)
		return buf;
	char req[256];
	snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
	if (send(fd, req, strlen(req), 0) == (ssize_t)strlen(req))
		read_until(fd, buf, cap, 0, NULL, 0);
	close(fd);
	return buf;
}

struct client {
	int port;
	atomic_int ready, writer_done;
	char stream[1 << 16];
	size_t slen;
	int metrics_asked;
};

/* The client: a stream open all along, /metrics asked while the writer goes on. */
static void *client_main(void *arg)
{
	struct client *c = arg;
	int fd = connect_to(c->port);
	const char *req = "GET /api/stream HTTP/1.1\r\nHost: x\r\n\r\n";
	if (fd < 0 || send(fd, req, strlen(req), 0) != (ssize_t)strlen(req)) {
		atomic_store(&c->ready, -1);
		return NULL;
	}
	c->slen = read_until(fd, c->stream, sizeof c->stream, 0, "event: hello\n", 1);
	atomic_store(&c->ready, 1);
	static char buf[1 << 16];
	while (!atomic_load(&c->writer_done)) {
		get(c->port, "/metrics", buf, sizeof buf);
		c->metrics_asked++;
		usleep(2000);
	}
	/* the writer's last bin, its event and its last message */
	c->slen = read_until(fd, c->stream, sizeof c->stream, c->slen, "event: current\ndata: {\"n\":12}", 1);
	close(fd);
	return NULL;
}

static void put_bin(struct store *st, const char *cc, int64_t t, uint64_t v)
{
	struct sig_entity e = { .kind = SIG_COUNTRY, .afi = DM_AFI_IPV4 };
	memcpy(e.cc, cc, 2);
	struct sig_bin b = { .t = t, .visible_prefixes = v, .slash24 = v, .baseline_slash24 = 4,
		             .peers_seeing = 2, .full_feed_peers = 2, .peers_up = 2, .peer_frac = 1 };
	store_put_bin(st, &e, &b);
}

static int count(const char *s, const char *want)
{
	int n = 0;
	for (const char *p = s; (p = strstr(p, want)); p++)
		n++;
	return n;
}

int main(void)
{
	char dir[] = "/tmp/darkmap-tsan-http.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char path[256];
	snprintf(path, sizeof path, "%s/db.sqlite", dir);
	struct dm_error err;
	struct store *st = store_open(path, &err);
	if (!st || store_set_bin(st, 300) || store_begin(st)) {
		printf("not ok tsan_http_thread_open: %s\n", err.what);
		return 1;
	}
	put_bin(st, "KP", T0, 4);
	put_bin(st, "KR", T0, 4);
	store_commit(st);

	struct http_opts o;
	http_opts_default(&o);
	o.db_path = path;
	o.web_dir = dir;
	o.port = 0;
	o.poll_ms = 3600 * 1000;   /* only db_changed tells the stream */
	struct http_thread *t = http_thread_start(&o, 5, &err);
	if (!t) {
		printf("not ok tsan_http_thread_start: %s\n", err.what);
		return 1;
	}
	struct client c = { .port = http_thread_port(t) };
	pthread_t th;
	pthread_create(&th, NULL, client_main, &c);
	while (!atomic_load(&c.ready))
		usleep(1000);

	/* the collector: a bin a step, KR's event at the 6th, metrics and a message each step */
	struct http_live_metrics live;
	memset(&live, 0, sizeof live);
	for (int i = 1; i <= NBINS; i++) {
		int64_t ti = T0 + 300 * i;
		store_begin(st);
		put_bin(st, "KP", ti, 4);
		put_bin(st, "KR", ti, i >= 6 ? 0 : 4);
		if (i == 6) {
			struct dm_event ev;
			memset(&ev, 0, sizeof ev);
			ev.entity.kind = SIG_COUNTRY;
			ev.entity.afi = DM_AFI_IPV4;
			memcpy(ev.entity.cc, "KR", 2);
			ev.type = DM_EV_OUTAGE;
			ev.start = ti;
			ev.raised = ti + 300;
			ev.baseline_slash24 = 4;
			store_put_event(st, &ev);
		}
		store_commit(st);
		http_thread_db_changed(t);
		live.peers_up = (uint32_t)i;
		live.routes = 1000u * (uint64_t)i;
		http_live_metrics_observe_write(&live, 0.002);
		char extra[128], msg[32];
		int n = snprintf(extra, sizeof extra, "# TYPE darkmap_test_step gauge\ndarkmap_test_step %d\n", i);
		http_thread_metrics(t, &live, extra, (size_t)n);
		snprintf(msg, sizeof msg, "{\"n\":%d}", i);
		http_thread_publish(t, "current", msg);
		usleep(20000);
	}
	atomic_store(&c.writer_done, 1);
	pthread_join(th, NULL);

	static char buf[1 << 16];
	get(c.port, "/metrics", buf, sizeof buf);
	int metrics_ok = strstr(buf, "\ndarkmap_peers_up 12\n") && strstr(buf, "\ndarkmap_routes 12000\n") &&
	                 strstr(buf, "\ndarkmap_test_step 12\n") && strstr(buf, "\ndarkmap_db_write_seconds_count 12\n") &&
	                 count(buf, "# TYPE darkmap_bin_lag_seconds") == 1;
	printf("%s tsan_http_thread_metrics%s (asked %d times meanwhile)\n", metrics_ok ? "ok" : "not ok",
	       metrics_ok ? "" : ": not the last numbers given", c.metrics_asked);
	get(c.port, "/api/entities?type=country&at=1419280200", buf, sizeof buf);
	int ent_ok = strstr(buf, "{\"entity\":\"KR\",\"name\":\"South Korea\",\"state\":\"outage\"") != NULL;
	printf("%s tsan_http_thread_entities%s\n", ent_ok ? "ok" : "not ok", ent_ok ? "" : ": KR not in outage");
	/* every step's message in order, the event once with its id, and the last bin announced */
	int msgs = 0;
	const char *p = c.stream;
	for (int i = 1; i <= NBINS; i++) {
		char want[64];
		snprintf(want, sizeof want, "event: current\ndata: {\"n\":%d}\n\n", i);
		const char *q = strstr(p, want);
		if (!q)
			break;
		msgs++;
		p = q;
	}
	char last_bin[96];
	snprintf(last_bin, sizeof last_bin, "event: bin\ndata: {\"t\":%d,", T0 + 300 * NBINS);
	int stream_ok = msgs == NBINS && count(c.stream, "id: 1\nevent: event\n") == 1 && strstr(c.stream, last_bin);
	printf("%s tsan_http_thread_stream%s (%d of %d messages in order)\n", stream_ok ? "ok" : "not ok",
	       stream_ok ? "" : ": a message, the event or the last bin missing", msgs, NBINS);
	http_thread_stop(t);
	store_close(st);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) != 0;
}
