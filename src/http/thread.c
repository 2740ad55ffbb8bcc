/* The server on a thread of its own, for darkmap collect --serve.
 *
 * collect's loop carries the BGP and BMP sessions. With the server on that loop, every answer
 * (90 us for /api/entities over 250 countries, a snapshot reread of 100 ms and more) ran between
 * two UPDATEs: a busy client held back the routes, and a flood of requests could hold the loop
 * past a peer's hold time. Here the server has its own event_base on its own thread (at a lower
 * CPU priority if asked: the collector's cores go to the sessions first), and the collector
 * talks to it only through what this file hands over under a mutex:
 *
 *   - db_changed: the pipeline committed (the stream tells its clients, snapshots are reread);
 *   - publish: a Server-Sent Event, copied;
 *   - metrics: the live numbers and the extra /metrics lines, copied (once a second).
 *
 * Each call sets its part under the lock and writes a byte to a pipe the server's loop watches;
 * the loop takes everything at once and acts on it on its own thread. Nothing of the server is
 * touched from the caller's thread between start and stop. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <event2/event.h>

#include "http/http.h"

struct pub {
	struct pub *next;
	char *kind, *json;
};

struct http_thread {
	pthread_t th;
	int started;
	int nice;
	struct event_base *base;
	struct http_server *srv;
	struct event *wake_ev;
	int wake[2];                       /* any thread writes a byte to [1]; the loop reads [0] */

	pthread_mutex_t mu;                /* guards the fields below, up to the loop's own */
	int stop, changed, metrics_new;
	struct pub *pubs, **pub_tail;
	struct http_live_metrics live_in;
	struct obuf extra_in;

	/* the loop thread's own copies: what the server reads when it answers /metrics */
	struct http_live_metrics live;
	struct obuf extra;
};

static void wake_up(struct http_thread *t)
{
	char b = 1;
	/* full pipe (EAGAIN): a wake-up is pending already, and it takes everything */
	while (write(t->wake[1], &b, 1) < 0 && errno == EINTR)
		;
}

static void pubs_free(struct pub *p)
{
	while (p) {
		struct pub *n = p->next;
		free(p->kind);
		free(p->json);
		free(p);
		p = n;
	}
}

static void extra_metrics(struct obuf *o, void *arg)
{
	struct http_thread *t = arg;
	if (t->extra.len)
		obuf_put(o, t->extra.buf, t->extra.len);
}

/* On the server's loop: takes what the callers left and acts on it there. */
static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct http_thread *t = arg;
	char buf[64];
	while (read(fd, buf, sizeof buf) > 0)
		;
	pthread_mutex_lock(&t->mu);
	int stop = t->stop, changed = t->changed, metrics_new = t->metrics_new;
	struct pub *pubs = t->pubs;
	t->pubs = NULL;
	t->pub_tail = &t->pubs;
	t->changed = t->metrics_new = 0;
	if (metrics_new) {
		t->live = t->live_in;
		struct obuf swap = t->extra;   /* the caller's text becomes the loop's, and the loop's
		                                * old buffer the next one to fill */
		t->extra = t->extra_in;
		t->extra_in = swap;
		t->extra_in.len = 0;
	}
	pthread_mutex_unlock(&t->mu);
	if (metrics_new)
		http_server_set_live_metrics(t->srv, &t->live);
	for (struct pub *p = pubs; p; p = p->next)
		http_server_publish(t->srv, p->kind, p->json);
	pubs_free(pubs);
	if (changed)
		http_server_db_changed(t->srv);
	if (stop)
		event_base_loopbreak(t->base);
}

static void *thread_main(void *arg)
{
	struct http_thread *t = arg;
	/* Linux: a thread's nice value is its own (setpriority on its thread id); the snapshot
	 * reading threads it starts inherit it */
	if (t->nice)
		setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), t->nice);
	event_base_dispatch(t->base);
	return NULL;
}

static void thread_free(struct http_thread *t)
{
	if (t->srv)
		http_server_free(t->srv);
	if (t->wake_ev)
		event_free(t->wake_ev);
	if (t->base)
		event_base_free(t->base);
	for (int i = 0; i < 2; i++)
		if (t->wake[i] >= 0)
			close(t->wake[i]);
	pubs_free(t->pubs);
	obuf_free(&t->extra_in);
	obuf_free(&t->extra);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

struct http_thread *http_thread_start(const struct http_opts *o, int nice, struct dm_error *err)
{
	struct http_thread *t = calloc(1, sizeof *t);
	if (!t) {
		dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
		return NULL;
	}
	t->wake[0] = t->wake[1] = -1;
	t->nice = nice;
	t->pub_tail = &t->pubs;
	obuf_init_mem(&t->extra_in);
	obuf_init_mem(&t->extra);
	pthread_mutex_init(&t->mu, NULL);
	if (pipe2(t->wake, O_NONBLOCK | O_CLOEXEC) < 0) {
		dm_fail(err, DM_ERR_IO, 0, "pipe: %s", strerror(errno));
		thread_free(t);
		return NULL;
	}
	if (!(t->base = event_base_new()) ||
	    !(t->wake_ev = event_new(t->base, t->wake[0], EV_READ | EV_PERSIST, wake_cb, t)) ||
	    event_add(t->wake_ev, NULL) < 0) {
		dm_fail(err, DM_ERR_NOMEM, 0, "cannot make the server's event loop");
		thread_free(t);
		return NULL;
	}
	if (!(t->srv = http_server_new_on(o, t->base, err))) {
		thread_free(t);
		return NULL;
	}
	http_server_set_metrics(t->srv, extra_metrics, t);
	/* from here the base and the server belong to the thread (pthread_create orders what was
	 * made above before everything it does) */
	if (pthread_create(&t->th, NULL, thread_main, t)) {
		dm_fail(err, DM_ERR_NOMEM, 0, "cannot start the server's thread");
		thread_free(t);
		return NULL;
	}
	t->started = 1;
	return t;
}

int http_thread_port(const struct http_thread *t)
{
	return http_server_port(t->srv);   /* set when the listener was made, before the thread */
}

void http_thread_db_changed(struct http_thread *t)
{
	pthread_mutex_lock(&t->mu);
	t->changed = 1;
	pthread_mutex_unlock(&t->mu);
	wake_up(t);
}

void http_thread_publish(struct http_thread *t, const char *kind, const char *json)
{
	struct pub *p = calloc(1, sizeof *p);
	if (!p || !(p->kind = strdup(kind)) || !(p->json = strdup(json))) {
		pubs_free(p);
		return;   /* out of memory: a stream message is lost, as a slow client's would be */
	}
	pthread_mutex_lock(&t->mu);
	*t->pub_tail = p;
	t->pub_tail = &p->next;
	pthread_mutex_unlock(&t->mu);
	wake_up(t);
}

void http_thread_metrics(struct http_thread *t, const struct http_live_metrics *m, const char *extra, size_t len)
{
	pthread_mutex_lock(&t->mu);
	t->live_in = *m;
	t->extra_in.len = 0;
	if (len)
		obuf_put(&t->extra_in, extra, len);
	t->metrics_new = 1;
	pthread_mutex_unlock(&t->mu);
	wake_up(t);
}

void http_thread_stop(struct http_thread *t)
{
	if (!t)
		return;
	if (t->started) {
		pthread_mutex_lock(&t->mu);
		t->stop = 1;
		pthread_mutex_unlock(&t->mu);
		wake_up(t);
		pthread_join(t->th, NULL);
	}
	thread_free(t);
}
