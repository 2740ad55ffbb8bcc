/* HTTP/1.1 POST over a plain socket. One request per connection (Connection: close): alerts
 * are rare, and a fresh connection per try is what makes a retry meaningful after a reset. */
#include "out/webhook.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void webhook_opts_default(struct webhook_opts *o)
{
	o->tries = 3;
	o->backoff = 0.2;
	o->backoff_factor = 2.0;
	o->timeout = 5.0;
	o->content_type = "application/json";
}

struct url {
	char host[256];
	char port[8];
	char path[1024];
	int v6;            /* host was an IPv6 literal in brackets */
};

static int url_parse(const char *s, struct url *u, char *err, size_t errn)
{
	if (strncmp(s, "http://", 7) != 0) {
		snprintf(err, errn, "only http:// URLs are supported");
		return -1;
	}
	s += 7;
	/* RFC 3986 §2: no space or control byte in a URL; here one would end up inside the request
	 * line or the Host: header (a CR LF in the host adds a header) */
	for (const char *q = s; *q; q++)
		if ((unsigned char)*q <= 0x20 || *q == 0x7f) {
			snprintf(err, errn, "space or control character at position %zu", (size_t)(q - s) + 7);
			return -1;
		}
	u->v6 = *s == '[';
	size_t hl = u->v6 ? strcspn(s + 1, "]") : strcspn(s, ":/?#[]@");
	if (hl == 0 || hl >= sizeof u->host || (u->v6 && s[1 + hl] != ']')) {
		snprintf(err, errn, "missing, unterminated or too long host");
		return -1;
	}
	memcpy(u->host, s + u->v6, hl);
	u->host[hl] = 0;
	s += hl + 2 * u->v6;
	snprintf(u->port, sizeof u->port, "80");
	if (*s == ':') {
		s++;
		size_t pl = strspn(s, "0123456789");
		long port = pl && pl < 6 ? strtol(s, NULL, 10) : 0;
		if (port < 1 || port > 65535) {
			snprintf(err, errn, "bad port");
			return -1;
		}
		snprintf(u->port, sizeof u->port, "%ld", port);
		s += pl;
	}
	if (*s == '#')
		s = "";
	if (*s && *s != '/' && *s != '?') {
		snprintf(err, errn, "unexpected character after host:port");
		return -1;
	}
	size_t rl = strcspn(s, "# \r\n");
	if (rl + 2 > sizeof u->path) {
		snprintf(err, errn, "path too long");
		return -1;
	}
	if (rl == 0 || *s == '?') {
		u->path[0] = '/';
		memcpy(u->path + 1, s, rl);
		u->path[rl + 1] = 0;
	} else {
		memcpy(u->path, s, rl);
		u->path[rl] = 0;
	}
	return 0;
}

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Waits for fd to become ready for events; 1 ready, 0 deadline passed, -1 error. */
static int wait_fd(int fd, short events, double deadline)
{
	for (;;) {
		double left = deadline - now_mono();
		if (left <= 0)
			return 0;
		struct pollfd p = {fd, events, 0};
		int r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* One try: connect, send, read the status line. Returns the HTTP status, or -1 with err. */
static int post_once(const struct url *u, const char *hdr, size_t hlen, const char *body, size_t blen,
                     double timeout, char *err, size_t errn)
{
	double deadline = now_mono() + timeout;
	struct addrinfo hints = {0}, *ai = NULL;
	hints.ai_socktype = SOCK_STREAM;
	int gr = getaddrinfo(u->host, u->port, &hints, &ai);
	if (gr != 0) {
		snprintf(err, errn, "resolve %.100s: %s", u->host, gai_strerror(gr));
		return -1;
	}
	int fd = -1, status = -1;
	snprintf(err, errn, "connect %.100s:%s: no address", u->host, u->port);
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		int cr = connect(fd, a->ai_addr, a->ai_addrlen);
		if (cr < 0 && errno == EINPROGRESS) {
			int w = wait_fd(fd, POLLOUT, deadline);
			int soerr = 0;
			socklen_t sl = sizeof soerr;
			if (w == 0) {
				snprintf(err, errn, "connect %.100s:%s: timed out after %g s", u->host, u->port, timeout);
				close(fd);
				fd = -1;
				continue;
			}
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
			cr = soerr ? -1 : 0;
			errno = soerr;
		}
		if (cr == 0)
			break;
		snprintf(err, errn, "connect %.100s:%s: %s", u->host, u->port, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return -1;

	const char *parts[2] = {hdr, body};
	size_t lens[2] = {hlen, blen};
	for (int i = 0; i < 2; i++) {
		size_t off = 0;
		while (off < lens[i]) {
			ssize_t w = send(fd, parts[i] + off, lens[i] - off, MSG_NOSIGNAL);
			if (w > 0) {
				off += (size_t)w;
				continue;
			}
			if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
				if (wait_fd(fd, POLLOUT, deadline) == 1)
					continue;
				snprintf(err, errn, "send: timed out after %g s", timeout);
			} else {
				snprintf(err, errn, "send: %s", strerror(errno));
			}
			goto out;
		}
	}

	char resp[512];
	size_t rl = 0;
	for (;;) {
		ssize_t r = recv(fd, resp + rl, sizeof resp - 1 - rl, 0);
		if (r > 0) {
			rl += (size_t)r;
			resp[rl] = 0;
			if (strstr(resp, "\r\n") || rl == sizeof resp - 1)
				break;
			continue;
		}
		if (r == 0) {
			if (rl == 0) {
				snprintf(err, errn, "connection closed before any response");
				goto out;
			}
			break;
		}
		if (errno == EAGAIN || errno == EINTR) {
			if (wait_fd(fd, POLLIN, deadline) == 1)
				continue;
			snprintf(err, errn, "no response within %g s", timeout);
		} else {
			snprintf(err, errn, "recv: %s", strerror(errno));
		}
		goto out;
	}
	int code = 0;
	if (sscanf(resp, "HTTP/1.%*1[01] %3d", &code) != 1 || code < 100 || code > 599) {
		snprintf(err, errn, "bad HTTP status line");
		goto out;
	}
	status = code;
	if (code < 200 || code > 299)
		snprintf(err, errn, "HTTP %d", code);
	else
		err[0] = 0;
out:
	close(fd);
	return status;
}

int webhook_post(const char *url, const char *body, size_t len, const struct webhook_opts *opts,
                 struct webhook_result *res)
{
	struct webhook_opts o;
	struct webhook_result dummy;
	if (!opts)
		webhook_opts_default(&o);
	else
		o = *opts;
	if (!res)
		res = &dummy;
	memset(res, 0, sizeof *res);
	if (o.tries < 1)
		o.tries = 1;
	if (!o.content_type)
		o.content_type = "application/json";

	struct url u;
	char why[160];
	if (url_parse(url, &u, why, sizeof why) < 0) {
		snprintf(res->error, sizeof res->error, "webhook %.100s: %.120s", url, why);
		return DM_ERR_BAD_VALUE;
	}
	char hdr[1600];
	int hl = snprintf(hdr, sizeof hdr,
	                  "POST %s HTTP/1.1\r\nHost: %s%s%s%s%s\r\nUser-Agent: darkmap\r\nContent-Type: %s\r\n"
	                  "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	                  u.path, u.v6 ? "[" : "", u.host, u.v6 ? "]" : "", strcmp(u.port, "80") ? ":" : "",
	                  strcmp(u.port, "80") ? u.port : "",
	                  o.content_type, len);
	if (hl < 0 || (size_t)hl >= sizeof hdr) {
		snprintf(res->error, sizeof res->error, "webhook %.100s: request header too long", url);
		return DM_ERR_BAD_VALUE;
	}

	double wait = o.backoff;
	char err[200] = "";
	for (int i = 1; i <= o.tries; i++) {
		if (i > 1) {
			sleep_s(wait);
			wait *= o.backoff_factor;
		}
		res->tries = i;
		int st = post_once(&u, hdr, (size_t)hl, body, len, o.timeout, err, sizeof err);
		res->status = st > 0 ? st : 0;
		if (st >= 200 && st <= 299) {
			res->error[0] = 0;
			return 0;
		}
		if (st > 0 && st != 429 && st < 500)
			break;   /* the server understood and refused: a retry would get the same answer */
	}
	snprintf(res->error, sizeof res->error, "webhook %.100s: failed after %d tr%s: %.120s", url, res->tries,
	         res->tries == 1 ? "y" : "ies", err);
	return DM_ERR_IO;
}

/* ---- background sender ---- */

struct item {
	struct item *next;
	size_t len;
	char body[];
};

struct webhook {
	char *url;
	struct webhook_opts o;
	size_t queue_max, queued;
	struct item *head, *tail;
	int busy, stop;
	struct webhook_stats st;
	pthread_mutex_t mu;
	pthread_cond_t cv, idle;
	pthread_t th;
};

static void *webhook_run(void *arg)
{
	struct webhook *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->head && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->head)
			break;
		struct item *it = w->head;
		w->head = it->next;
		if (!w->head)
			w->tail = NULL;
		w->queued--;
		w->busy = 1;
		pthread_mutex_unlock(&w->mu);
		struct webhook_result r;
		int rc = webhook_post(w->url, it->body, it->len, &w->o, &r);
		free(it);
		pthread_mutex_lock(&w->mu);
		w->busy = 0;
		if (rc == 0) {
			w->st.sent++;
		} else {
			w->st.failed++;
			snprintf(w->st.last_error, sizeof w->st.last_error, "%s", r.error);
		}
		if (!w->head)
			pthread_cond_broadcast(&w->idle);
	}
	pthread_cond_broadcast(&w->idle);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct webhook *webhook_new(const char *url, const struct webhook_opts *o, size_t queue_max, struct dm_error *err)
{
	struct url u;
	char why[160];
	if (url_parse(url, &u, why, sizeof why) < 0) {
		dm_fail(err, DM_ERR_BAD_VALUE, 0, "webhook %.100s: %.120s", url, why);
		return NULL;
	}
	struct webhook *w = calloc(1, sizeof *w);
	if (!w || !(w->url = strdup(url))) {
		free(w);
		dm_fail(err, DM_ERR_NOMEM, 0, "webhook: out of memory");
		return NULL;
	}
	if (o)
		w->o = *o;
	else
		webhook_opts_default(&w->o);
	w->queue_max = queue_max ? queue_max : 1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	pthread_cond_init(&w->idle, NULL);
	if (pthread_create(&w->th, NULL, webhook_run, w) != 0) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		pthread_cond_destroy(&w->idle);
		free(w->url);
		free(w);
		dm_fail(err, DM_ERR_IO, 0, "webhook: cannot start thread");
		return NULL;
	}
	return w;
}

int webhook_enqueue(struct webhook *w, const char *body, size_t len)
{
	struct item *it = malloc(sizeof *it + len + 1);
	pthread_mutex_lock(&w->mu);
	if (!it || w->queued >= w->queue_max) {
		w->st.dropped++;
		pthread_mutex_unlock(&w->mu);
		free(it);
		return -1;
	}
	it->next = NULL;
	it->len = len;
	memcpy(it->body, body, len);
	it->body[len] = 0;
	if (w->tail)
		w->tail->next = it;
	else
		w->head = it;
	w->tail = it;
	w->queued++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

void webhook_drain(struct webhook *w)
{
	pthread_mutex_lock(&w->mu);
	while (w->head || w->busy)
		pthread_cond_wait(&w->idle, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

void webhook_stats(struct webhook *w, struct webhook_stats *st)
{
	pthread_mutex_lock(&w->mu);
	*st = w->st;
	pthread_mutex_unlock(&w->mu);
}

void webhook_free(struct webhook *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	pthread_cond_destroy(&w->idle);
	free(w->url);
	free(w);
}
