/* Test driver for the BMP station (src/live/bmp_station.c) until `darkmap collect --bmp` wires it:
 * listens on ADDR:PORT (port 0: any; the port is printed first as "listening PORT"), prints every
 * element as a line and, with DIR, archives each router's messages under DIR/<collector>/.
 *   bmp_listen ADDR:PORT [DIR]
 * Lines: COLLECTOR|TYPE|PEER|PEER_AS|PREFIX|AS_PATH|NEXT_HOP (S: COLLECTOR|S|PEER|PEER_AS|OLD|NEW),
 * "router COLLECTOR up|down SYSNAME", "error COLLECTOR OFFSET WHAT". Stops on SIGTERM/SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "live/archive.h"
#include "live/bmp_station.h"

struct ctx {
	const char *dir;
	struct archive *arch[16];
	char name[16][64];
	int narch;
	struct event_base *base;
};

static struct archive *arch_for(struct ctx *c, const char *coll)
{
	if (!c->dir)
		return NULL;
	for (int i = 0; i < c->narch; i++)
		if (!strcmp(c->name[i], coll))
			return c->arch[i];
	if (c->narch == 16)
		return NULL;
	struct archive_opts o;
	archive_opts_default(&o);
	o.dir = c->dir;
	o.name = coll;
	struct dm_error err;
	struct archive *a = archive_open(&o, &err);
	if (!a) {
		fprintf(stderr, "archive %s: %s\n", coll, err.what);
		return NULL;
	}
	archive_attach(a, c->base);
	snprintf(c->name[c->narch], sizeof c->name[0], "%s", coll);
	c->arch[c->narch++] = a;
	return a;
}

static void on_elem(void *arg, const char *coll, const struct dm_elem *e)
{
	char ip[DM_IP_STRLEN], pf[DM_PREFIX_STRLEN], nh[DM_IP_STRLEN] = "";
	dm_ip_fmt(e->peer_ip, ip);
	if (e->type == DM_ELEM_STATE) {
		printf("%s|S|%s|%u|%u|%u\n", coll, ip, e->peer_asn, e->old_state, e->new_state);
		fflush(stdout);
		return;
	}
	dm_prefix_fmt(&e->prefix, pf);
	printf("%s|%c|%s|%u|%s|", coll, e->type, ip, e->peer_asn, pf);
	if (e->attrs)
		for (unsigned i = 0; i < e->attrs->path.nseg; i++)
			for (unsigned k = 0; k < e->attrs->path.seg[i].count; k++)
				printf("%s%u", i || k ? " " : "", e->attrs->path.seg[i].asn[k]);
	if (e->next_hop)
		dm_ip_fmt(e->next_hop, nh);
	printf("|%s\n", nh);
	fflush(stdout);
}

static void on_message(void *arg, const char *coll, int64_t ts, uint32_t usec, const struct mrt_session *s,
                       const uint8_t *msg, size_t len)
{
	struct archive *a = arch_for(arg, coll);
	struct dm_error err;
	if (a && archive_message(a, ts, usec, s, msg, len, &err))
		fprintf(stderr, "archive: %s\n", err.what);
}

static void on_state(void *arg, const char *coll, int64_t ts, uint32_t usec, const struct mrt_session *s,
                     uint16_t o, uint16_t n)
{
	struct archive *a = arch_for(arg, coll);
	struct dm_error err;
	if (a && archive_state(a, ts, usec, s, o, n, &err))
		fprintf(stderr, "archive: %s\n", err.what);
}

static void on_router(void *arg, const char *coll, int up, const char *name)
{
	printf("router %s %s %s\n", coll, up ? "up" : "down", name);
	fflush(stdout);
}

static void on_error(void *arg, const char *coll, const struct dm_error *e)
{
	printf("error %s %llu %s\n", coll, (unsigned long long)e->offset, e->what);
	fflush(stdout);
}

static void on_signal(evutil_socket_t sig, short what, void *arg) { event_base_loopbreak(arg); }

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bmp_listen ADDR:PORT [DIR]\n");
		return 2;
	}
	struct ctx c = { .dir = argc > 2 ? argv[2] : NULL };
	c.base = event_base_new();
	struct bmp_station_opts o = { .listen = argv[1] };
	struct bmp_station_cb cb = { &c, on_elem, on_message, on_state, on_router, on_error };
	struct dm_error err;
	struct bmp_station *st = bmp_station_new(c.base, &o, &cb, &err);
	if (!st) {
		fprintf(stderr, "%s\n", err.what);
		event_base_free(c.base);
		return 3;
	}
	printf("listening %u\n", bmp_station_port(st));
	fflush(stdout);
	struct event *t = evsignal_new(c.base, SIGTERM, on_signal, c.base);
	struct event *i = evsignal_new(c.base, SIGINT, on_signal, c.base);
	event_add(t, NULL);
	event_add(i, NULL);
	event_base_dispatch(c.base);
	bmp_station_free(st);
	for (int k = 0; k < c.narch; k++)
		archive_close(c.arch[k], NULL);
	event_free(t);
	event_free(i);
	event_base_free(c.base);
	return 0;
}
