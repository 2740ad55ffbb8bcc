/* BMP station: libevent listener + one bmp.c decoder per router connection. See bmp_station.h. */
#include "live/bmp_station.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

enum { NAME_MAX_ = DM_IP_STRLEN + 16 };

struct router {
	struct bmp_station *st;
	struct router *next;
	struct bufferevent *bev;
	struct bmp *bmp;
	struct dm_ip addr;
	char addr_s[DM_IP_STRLEN];
	char name[3][NAME_MAX_];      /* collector names by enum bmp_view */
	int64_t now;
	uint32_t now_usec;
};

struct bmp_station {
	struct event_base *base;
	struct evconnlistener *lis;
	struct bmp_station_opts o;
	struct bmp_station_cb cb;
	struct router *routers;
	uint16_t port;
	struct bmp_station_stats stats;
};

static void session_of(const struct router *r, const struct bmp_peer *p, uint8_t asn_size, uint8_t addpath,
                       struct mrt_session *s)
{
	memset(s, 0, sizeof *s);
	s->peer_as = p->hdr.asn;
	s->local_as = p->local_asn;
	s->peer_ip = p->hdr.addr;
	s->afi = p->hdr.addr.afi;
	/* MRT wants one family for both ends; a Peer Up never seen leaves the local end unknown */
	if (p->local_addr.afi == s->afi)
		s->local_ip = p->local_addr;
	else
		s->local_ip.afi = (uint8_t)s->afi;
	s->as4 = asn_size == 4;
	s->addpath = addpath;
}

static int dropped(const struct bmp_station *st, int view)
{
	return (view == BMP_VIEW_POST && st->o.no_post_policy) || (view == BMP_VIEW_LOC_RIB && st->o.no_loc_rib);
}

static void on_elem(void *arg, const struct bmp_peer *p, int view, const struct dm_elem *e)
{
	struct router *r = arg;
	if (dropped(r->st, view))
		return;
	r->st->stats.elems++;
	if (r->st->cb.elem)
		r->st->cb.elem(r->st->cb.arg, r->name[view], e);
	if (e->type == DM_ELEM_STATE && r->st->cb.state) {
		struct mrt_session s;
		session_of(r, p, 4, p->addpath, &s);
		r->st->cb.state(r->st->cb.arg, r->name[view], r->now, r->now_usec, &s, e->old_state, e->new_state);
	}
}

static void on_update(void *arg, const struct bmp_peer *p, int view, const uint8_t *msg, size_t len, uint8_t asn_size,
                      uint8_t addpath)
{
	struct router *r = arg;
	if (dropped(r->st, view) || !r->st->cb.message)
		return;
	struct mrt_session s;
	session_of(r, p, asn_size, addpath, &s);
	r->st->cb.message(r->st->cb.arg, r->name[view], r->now, r->now_usec, &s, msg, len);
}

static void on_init(void *arg, const char *name, const char *descr)
{
	struct router *r = arg;
	if (r->st->cb.router)
		r->st->cb.router(r->st->cb.arg, r->name[BMP_VIEW_PRE], 1, name);
}

static void on_error(void *arg, const struct dm_error *e)
{
	struct router *r = arg;
	r->st->stats.errors++;
	if (r->st->cb.error)
		r->st->cb.error(r->st->cb.arg, r->name[BMP_VIEW_PRE], e);
}

static void clock_now(int64_t *t, uint32_t *usec)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	*t = ts.tv_sec;
	*usec = (uint32_t)(ts.tv_nsec / 1000);
}

/* The connection is over: its up peers go down (their routes are no longer watched). */
static void router_close(struct router *r)
{
	struct bmp_station *st = r->st;
	clock_now(&r->now, &r->now_usec);
	for (uint32_t i = 0; i < bmp_npeers(r->bmp); i++) {
		const struct bmp_peer *p = bmp_peer(r->bmp, i);
		if (!p->up)
			continue;
		struct dm_elem e;
		memset(&e, 0, sizeof e);
		e.type = DM_ELEM_STATE;
		e.ts = r->now;
		e.usec = r->now_usec;
		e.peer_ip = &p->hdr.addr;
		e.peer_asn = p->hdr.asn;
		e.old_state = 6;
		e.new_state = 1;
		if (p->hdr.type == BMP_PEER_LOC_RIB) {
			on_elem(r, p, BMP_VIEW_LOC_RIB, &e);
			continue;
		}
		on_elem(r, p, BMP_VIEW_PRE, &e);
		if (p->post_seen)
			on_elem(r, p, BMP_VIEW_POST, &e);
	}
	if (st->cb.router)
		st->cb.router(st->cb.arg, r->name[BMP_VIEW_PRE], 0, bmp_sys_name(r->bmp));
	for (struct router **pp = &st->routers; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	st->stats.routers_now--;
	bufferevent_free(r->bev);
	bmp_free(r->bmp);
	free(r);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct router *r = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	clock_now(&r->now, &r->now_usec);
	uint64_t before = bmp_counts(r->bmp)->messages;
	struct dm_error err;
	int rc = 0;
	while (evbuffer_get_length(in) && !rc) {
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		rc = bmp_input(r->bmp, v.iov_base, v.iov_len, r->now, r->now_usec, &err);
		evbuffer_drain(in, v.iov_len);
	}
	r->st->stats.messages += bmp_counts(r->bmp)->messages - before;
	if (rc) {
		/* the framing is lost: nothing later in this stream can be trusted */
		r->st->stats.dropped++;
		if (r->st->cb.error)
			r->st->cb.error(r->st->cb.arg, r->name[BMP_VIEW_PRE], &err);
		router_close(r);
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		router_close(arg);
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct bmp_station *st = arg;
	size_t max = st->o.max_routers ? st->o.max_routers : 64;
	struct router *r = NULL;
	if (st->stats.routers_now >= max || !(r = calloc(1, sizeof *r))) {
		evutil_closesocket(fd);
		st->stats.dropped++;
		return;
	}
	r->st = st;
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		r->addr.afi = DM_AFI_IPV6;
		memcpy(r->addr.b, &s6->sin6_addr, 16);
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {   /* an IPv4 router on a dual-stack socket */
			r->addr.afi = DM_AFI_IPV4;
			memmove(r->addr.b, r->addr.b + 12, 4);
			memset(r->addr.b + 4, 0, 12);
		}
	} else {
		r->addr.afi = DM_AFI_IPV4;
		memcpy(r->addr.b, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	}
	dm_ip_fmt(&r->addr, r->addr_s);
	snprintf(r->name[BMP_VIEW_PRE], NAME_MAX_, "bmp:%s", r->addr_s);
	snprintf(r->name[BMP_VIEW_POST], NAME_MAX_, "bmp-post:%s", r->addr_s);
	snprintf(r->name[BMP_VIEW_LOC_RIB], NAME_MAX_, "bmp-locrib:%s", r->addr_s);
	struct bmp_cb cb = { r, on_init, NULL, NULL, on_elem, on_update, NULL, NULL, on_error };
	r->bmp = bmp_new(&cb);
	r->bev = bufferevent_socket_new(st->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!r->bmp || !r->bev) {
		if (r->bev)
			bufferevent_free(r->bev);
		else
			evutil_closesocket(fd);
		bmp_free(r->bmp);
		free(r);
		st->stats.dropped++;
		return;
	}
	r->next = st->routers;
	st->routers = r;
	st->stats.connections++;
	st->stats.routers_now++;
	bufferevent_setcb(r->bev, on_read, NULL, on_event, r);
	bufferevent_enable(r->bev, EV_READ);
	if (st->cb.router)
		st->cb.router(st->cb.arg, r->name[BMP_VIEW_PRE], 1, "");
}

/* "ADDR:PORT" or "[ADDR]:PORT" (libevent's parser refuses port 0, which tests need). */
static int parse_listen(const char *s, struct sockaddr_storage *ss, int *len)
{
	char host[DM_IP_STRLEN + 2];
	const char *colon = strrchr(s, ':');
	if (!colon)
		return -1;
	size_t hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']')
		s++, hl -= 2;
	if (hl == 0 || hl >= sizeof host)
		return -1;
	memcpy(host, s, hl);
	host[hl] = 0;
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port < 0 || port > 65535)
		return -1;
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof *s4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof *s6;
		return 0;
	}
	return -1;
}

struct bmp_station *bmp_station_new(struct event_base *base, const struct bmp_station_opts *o,
                                    const struct bmp_station_cb *cb, struct dm_error *err)
{
	struct sockaddr_storage ss;
	int sslen = 0;
	if (!o->listen || parse_listen(o->listen, &ss, &sslen)) {
		dm_fail(err, DM_ERR_BAD_VALUE, 0, "BMP station: listen address \"%s\": ADDR:PORT or [ADDR]:PORT expected",
		        o->listen ? o->listen : "");
		return NULL;
	}
	struct bmp_station *st = calloc(1, sizeof *st);
	if (!st) {
		dm_fail(err, DM_ERR_NOMEM, 0, "BMP station: out of memory");
		return NULL;
	}
	st->base = base;
	st->o = *o;
	st->cb = *cb;
	st->lis = evconnlistener_new_bind(base, on_accept, st, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
	                                  (struct sockaddr *)&ss, sslen);
	if (!st->lis) {
		dm_fail(err, DM_ERR_IO, 0, "BMP station: cannot listen on %s", o->listen);
		free(st);
		return NULL;
	}
	struct sockaddr_storage bound;
	socklen_t bl = sizeof bound;
	if (getsockname(evconnlistener_get_fd(st->lis), (struct sockaddr *)&bound, &bl) == 0)
		st->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
		                                             : ((struct sockaddr_in *)&bound)->sin_port);
	return st;
}

void bmp_station_free(struct bmp_station *st)
{
	if (!st)
		return;
	while (st->routers)
		router_close(st->routers);
	if (st->lis)
		evconnlistener_free(st->lis);
	free(st);
}

uint16_t bmp_station_port(const struct bmp_station *st) { return st->port; }
void bmp_station_stats(const struct bmp_station *st, struct bmp_station_stats *out) { *out = st->stats; }
