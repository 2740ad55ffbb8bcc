/* darkmap collect: a passive BGP collector. Sessions come from live/speaker; what they receive
 * is printed as bgpdump -m lines (--print) and kept per peer for the state dump (--state, on
 * SIGUSR1 and at exit). RFC 4724 graceful restart: a peer that restarts keeps its routes, stale,
 * for its restart time; End-of-RIB after the restart clears what it did not announce again. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "base/obuf.h"
#include "cmd/cmds.h"
#include "live/speaker.h"
#include "out/bgpdump.h"

static const char USAGE[] =
	"usage: darkmap collect [--config FILE] [--listen ADDR:PORT]... [--peer ADDR,ASN[,active]]...\n"
	"                       [--local-as ASN] [--router-id ID] [--name NAME] [--hold-time S]\n"
	"                       [--print] [--state FILE] [--port-file FILE] [--duration S] [-q]\n"
	"\n"
	"Run a BGP collector: accept sessions from the configured peers (RFC 4271, 4-byte ASNs,\n"
	"IPv4/IPv6 unicast, ADD-PATH receive, route refresh, graceful restart, extended messages)\n"
	"and record what they announce. It never announces routes.\n"
	"\n"
	"  --config FILE      peers and settings (docs/live.md); re-read on SIGHUP: unchanged\n"
	"                     sessions stay up\n"
	"  --listen ADDR:PORT listen there (IPv6: [ADDR]:PORT; port 0: any free port); repeatable\n"
	"  --peer ADDR,ASN    accept a session from ADDR (or a range ADDR/LEN, ASN 'any');\n"
	"                     ',active' connects to ADDR port 179 instead; repeatable\n"
	"  --local-as ASN     our AS (default 65000)\n"
	"  --router-id ID     our BGP identifier (default 127.0.0.1... from the first listener)\n"
	"  --name NAME        the collector's name (default: the host name)\n"
	"  --hold-time S      hold time offered (default 90)\n"
	"  --print            every route event on standard output as a bgpdump -m line\n"
	"                     (BGP4MP_ET|TIME|A/W|PEER|AS|PREFIX|AS_PATH|...) and state changes\n"
	"  --state FILE       at exit and on SIGUSR1: each peer's routes, sorted, one per line,\n"
	"                     PEER|AS|PREFIX|AS_PATH|ORIGIN|NEXT_HOP|LOCAL_PREF|MED|COMMUNITIES|AG|AGGR|\n"
	"  --port-file FILE   write the first listener's port there once listening\n"
	"  --duration S       stop after S seconds (default: run until SIGINT/SIGTERM)\n"
	"  -q                 no session log on standard error\n"
	"\n"
	"Signals: SIGHUP reloads --config, SIGUSR1 writes --state and a per-peer report (state,\n"
	"messages, memory) on standard error, SIGINT/SIGTERM cease every session and exit.\n"
	"exit status: 0 ok, 2 usage, 3 failure (cannot listen, cannot write).\n";

/* ------------------------------------------------------------------ the route table */

/* One route: key "PEER|AS|PREFIX[|PATH_ID]", value the rest of its bgpdump line. */
struct route {
	char *key;
	char *val;          /* from the peer field on: "PEER|AS|PREFIX|...\n" */
	uint32_t peer_len;  /* key bytes naming the peer ("PEER|AS|") */
	uint8_t stale;      /* kept over a graceful restart, not yet announced again */
	uint8_t afi;
};

struct table {
	struct route *r;    /* open addressing, key NULL = empty, key TOMB = deleted */
	size_t cap, n, used;
	size_t bytes;
};

static char TOMB[1];

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	return h;
}

static int table_grow(struct table *t)
{
	size_t cap = t->cap ? t->cap * 2 : 1024;
	struct route *r = calloc(cap, sizeof *r);
	if (!r)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->r[i].key || t->r[i].key == TOMB)
			continue;
		size_t j = hash_str(t->r[i].key) & (cap - 1);
		while (r[j].key)
			j = (j + 1) & (cap - 1);
		r[j] = t->r[i];
	}
	free(t->r);
	t->r = r;
	t->cap = cap;
	t->used = t->n;
	return 0;
}

static struct route *table_find(struct table *t, const char *key, int add)
{
	if (add && (t->used + 1) * 4 >= t->cap * 3 && table_grow(t) < 0)
		return NULL;
	if (!t->cap)
		return NULL;
	size_t j = hash_str(key) & (t->cap - 1), tomb = (size_t)-1;
	while (t->r[j].key) {
		if (t->r[j].key == TOMB) {
			if (tomb == (size_t)-1)
				tomb = j;
		} else if (!strcmp(t->r[j].key, key)) {
			return &t->r[j];
		}
		j = (j + 1) & (t->cap - 1);
	}
	if (!add)
		return NULL;
	if (tomb != (size_t)-1)
		j = tomb;
	else
		t->used++;
	t->r[j].key = strdup(key);
	if (!t->r[j].key) {
		t->r[j].key = tomb != (size_t)-1 ? TOMB : NULL;
		return NULL;
	}
	t->r[j].val = NULL;
	t->n++;
	t->bytes += strlen(key) + 1;
	return &t->r[j];
}

static void table_del_at(struct table *t, struct route *r)
{
	t->bytes -= strlen(r->key) + 1 + (r->val ? strlen(r->val) + 1 : 0);
	free(r->key);
	free(r->val);
	r->key = TOMB;
	r->val = NULL;
	t->n--;
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->cap; i++)
		if (t->r[i].key && t->r[i].key != TOMB) {
			free(t->r[i].key);
			free(t->r[i].val);
		}
	free(t->r);
	memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------------ the collector */

struct collect {
	struct event_base *base;
	struct speaker *sp;
	struct speaker_conf conf;
	const char *config_path;
	const char *state_path;
	const char *name;
	int print, quiet, keep_table;
	struct obuf out;
	struct obuf line;           /* one element's line, for the table */
	struct table tab;
	struct event *flush_ev, *sig_hup, *sig_usr1, *sig_int, *sig_term, *stop_ev;
	uint64_t elems;
	int failed;
	/* graceful restart: peers whose routes are stale until a deadline (small list) */
	struct gr_wait { char peer[80]; int64_t until; } gr[64];
	unsigned ngr;
	char notified[80];          /* the peer whose session a NOTIFICATION is ending */
};

static int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static size_t peer_key(char *d, const struct dm_ip *ip, uint32_t as)
{
	size_t n = bgpdump_ip_fmt(d, ip);
	n += (size_t)sprintf(d + n, "|%u|", as);
	return n;
}

/* The bgpdump line of an element without its first three fields ("BGP4MP_ET|T|A|"). */
static const char *line_body(const char *line, size_t len, size_t *blen)
{
	const char *p = line;
	for (int i = 0; i < 3; i++) {
		p = memchr(p, '|', len - (size_t)(p - line));
		if (!p)
			return NULL;
		p++;
	}
	*blen = len - (size_t)(p - line);
	return p;
}

static void table_elem(struct collect *co, const struct dm_elem *e, const char *body, size_t blen)
{
	char key[200];
	size_t n = peer_key(key, e->peer_ip, e->peer_asn);
	size_t plen = n;
	n += bgpdump_prefix_fmt(key + n, &e->prefix);
	if (e->has_path_id)
		n += (size_t)sprintf(key + n, "|%u", e->path_id);
	key[n] = 0;
	if (e->type == DM_ELEM_WITHDRAW) {
		struct route *r = table_find(&co->tab, key, 0);
		if (r)
			table_del_at(&co->tab, r);
		return;
	}
	struct route *r = table_find(&co->tab, key, 1);
	if (!r) {
		co->failed = 1;
		return;
	}
	if (r->val)
		co->tab.bytes -= strlen(r->val) + 1;
	free(r->val);
	r->val = malloc(blen + 1);
	if (!r->val) {
		table_del_at(&co->tab, r);
		co->failed = 1;
		return;
	}
	memcpy(r->val, body, blen);
	r->val[blen] = 0;
	co->tab.bytes += blen + 1;
	r->peer_len = (uint32_t)plen;
	r->stale = 0;
	r->afi = e->prefix.afi;
}

/* Removes a peer's routes: all, or only the stale ones of a family (afi 0: any). */
static void table_clear_peer(struct collect *co, const char *peer, int only_stale, uint8_t afi)
{
	size_t pl = strlen(peer);
	for (size_t i = 0; i < co->tab.cap; i++) {
		struct route *r = &co->tab.r[i];
		if (!r->key || r->key == TOMB || r->peer_len != pl || memcmp(r->key, peer, pl))
			continue;
		if (only_stale && (!r->stale || (afi && r->afi != afi)))
			continue;
		table_del_at(&co->tab, r);
	}
}

static void table_mark_stale(struct collect *co, const char *peer)
{
	size_t pl = strlen(peer);
	for (size_t i = 0; i < co->tab.cap; i++) {
		struct route *r = &co->tab.r[i];
		if (r->key && r->key != TOMB && r->peer_len == pl && !memcmp(r->key, peer, pl))
			r->stale = 1;
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int write_state(struct collect *co)
{
	if (!co->state_path)
		return 0;
	char **v = malloc((co->tab.n ? co->tab.n : 1) * sizeof *v);
	if (!v)
		return -1;
	size_t n = 0;
	for (size_t i = 0; i < co->tab.cap; i++)
		if (co->tab.r[i].key && co->tab.r[i].key != TOMB)
			v[n++] = co->tab.r[i].val;
	qsort(v, n, sizeof *v, cmp_str);
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", co->state_path);
	FILE *f = fopen(tmp, "w");
	int rc = f ? 0 : -1;
	for (size_t i = 0; f && i < n; i++)
		fputs(v[i], f);
	free(v);
	if (f && (fflush(f) != 0 || ferror(f)))
		rc = -1;
	if (f && fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, co->state_path) != 0)
		rc = -1;
	if (rc < 0)
		fprintf(stderr, "darkmap collect: writing %s: %s\n", co->state_path, strerror(errno));
	return rc;
}

static void on_elem(const struct speaker_peer_info *p, const struct dm_elem *e, void *arg)
{
	struct collect *co = arg;
	co->elems++;
	if (!co->print && !co->keep_table)
		return;
	int as4 = p->sess ? bgp_sess_neg(p->sess)->as4 : 1;
	co->line.len = 0;
	bgpdump_m_elem(&co->line, e, as4);
	if (co->print)
		obuf_put(&co->out, co->line.buf, co->line.len);
	if (co->keep_table && (e->type == DM_ELEM_ANNOUNCE || e->type == DM_ELEM_WITHDRAW)) {
		size_t blen;
		const char *body = line_body(co->line.buf, co->line.len, &blen);
		if (body)
			table_elem(co, e, body, blen);
	}
}

static void peer_name(const struct speaker_peer_info *p, char *d)
{
	uint32_t as = p->sess ? bgp_sess_neg(p->sess)->peer_as : 0;
	peer_key(d, &p->addr, as);
}

static void gr_forget(struct collect *co, const char *peer)
{
	for (unsigned i = 0; i < co->ngr; i++)
		if (!strcmp(co->gr[i].peer, peer)) {
			co->gr[i] = co->gr[--co->ngr];
			return;
		}
}

static void on_state(const struct speaker_peer_info *p, int old, int st, void *arg)
{
	struct collect *co = arg;
	char a[DM_IP_STRLEN];
	dm_ip_fmt(&p->addr, a);
	const struct bgp_sess_neg *n = p->sess ? bgp_sess_neg(p->sess) : NULL;
	if (!co->quiet && (st == BGP_ST_ESTABLISHED || old == BGP_ST_ESTABLISHED || st == BGP_ST_IDLE))
		fprintf(stderr, "darkmap collect: peer %s AS%u: %s -> %s\n", a, n ? n->peer_as : 0, bgp_state_name(old),
		        bgp_state_name(st));
	if (old != BGP_ST_ESTABLISHED || !co->keep_table)
		return;
	char peer[80];
	peer_name(p, peer);
	int notified = !strcmp(peer, co->notified);
	co->notified[0] = 0;
	/* RFC 4724 §4.2: a peer that advertised graceful restart keeps its routes (stale) for its
	 * restart time; others lose them at once */
	if (!notified && n && n->gr && n->gr_time && co->ngr < sizeof co->gr / sizeof co->gr[0]) {
		table_mark_stale(co, peer);
		gr_forget(co, peer);
		snprintf(co->gr[co->ngr].peer, sizeof co->gr[0].peer, "%s", peer);
		co->gr[co->ngr++].until = wall_us() + (int64_t)n->gr_time * 1000000;
		return;
	}
	table_clear_peer(co, peer, 0, 0);
}

static void on_eor(const struct speaker_peer_info *p, uint16_t afi, uint8_t safi, void *arg)
{
	struct collect *co = arg;
	if (!co->quiet && p->sess) {
		char a[DM_IP_STRLEN];
		dm_ip_fmt(&p->addr, a);
		const struct bgp_sess_stats *st = bgp_sess_stats(p->sess);
		double dt = (double)(wall_us() - st->established_at) / 1e6;
		fprintf(stderr, "darkmap collect: peer %s AS%u: End-of-RIB %s after %llu elements, %.3f s after Established\n",
		        a, bgp_sess_neg(p->sess)->peer_as, afi == DM_AFI_IPV6 ? "IPv6" : "IPv4",
		        (unsigned long long)st->elems, dt);
	}
	if (!co->keep_table)
		return;
	char peer[80];
	peer_name(p, peer);
	/* RFC 4724 §4.2: End-of-RIB: what is still stale was not announced again */
	table_clear_peer(co, peer, 1, (uint8_t)afi);
}

static void on_notify(const struct speaker_peer_info *p, int sent, uint8_t code, uint8_t sub, void *arg)
{
	struct collect *co = arg;
	/* RFC 4724 §4.2: graceful restart covers a connection lost, not a session ended by a
	 * NOTIFICATION: the state change that follows clears the routes */
	peer_name(p, co->notified);
	if (co->quiet)
		return;
	char a[DM_IP_STRLEN];
	dm_ip_fmt(&p->addr, a);
	fprintf(stderr, "darkmap collect: peer %s: NOTIFICATION %s %u/%u (%s)\n", a, sent ? "sent" : "received", code,
	        sub, bgp_err_name(code));
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct collect *co = arg;
	if (obuf_flush(&co->out) != 0 && !co->failed) {
		co->failed = 1;
		event_base_loopexit(co->base, NULL);
	}
	int64_t now = wall_us();
	for (unsigned i = 0; i < co->ngr;) {
		if (now >= co->gr[i].until) {
			table_clear_peer(co, co->gr[i].peer, 1, 0);
			co->gr[i] = co->gr[--co->ngr];
		} else {
			i++;
		}
	}
}

static int load_config(const char *path, struct speaker_conf *c)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "darkmap collect: %s: %s\n", path, strerror(errno));
		return -1;
	}
	char *text = NULL;
	size_t cap = 0, len = 0;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			char *t = realloc(text, cap);
			if (!t) {
				free(text);
				fclose(f);
				return -1;
			}
			text = t;
		}
		memcpy(text + len, buf, n);
		len += n;
	}
	fclose(f);
	if (!text)
		text = calloc(1, 1);
	if (!text)
		return -1;
	text[len] = 0;
	char err[256];
	int rc = speaker_conf_parse(c, text, err, sizeof err);
	free(text);
	if (rc < 0)
		fprintf(stderr, "darkmap collect: %s: %s\n", path, err);
	return rc;
}

static void sig_cb(evutil_socket_t sig, short what, void *arg)
{
	struct collect *co = arg;
	if (sig == SIGUSR1) {
		write_state(co);
		speaker_report(co->sp, stderr);
		fprintf(stderr, "darkmap collect: %llu elements, %zu routes held, %zu bytes of route text\n",
		        (unsigned long long)co->elems, co->tab.n, co->tab.bytes);
		return;
	}
	if (sig == SIGHUP) {
		if (!co->config_path)
			return;
		struct speaker_conf c;
		speaker_conf_default(&c);
		if (load_config(co->config_path, &c) == 0) {
			char err[256];
			if (speaker_reload(co->sp, &c, err, sizeof err) < 0)
				fprintf(stderr, "darkmap collect: reload: %s\n", err);
			else if (!co->quiet)
				fprintf(stderr, "darkmap collect: reloaded %s: %u peers\n", co->config_path, c.npeer);
		}
		speaker_conf_free(&c);
		return;
	}
	event_base_loopexit(co->base, NULL);
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct collect *co = arg;
	event_base_loopexit(co->base, NULL);
}

static int need_arg(int i, int argc, const char *opt)
{
	if (i + 1 >= argc) {
		fprintf(stderr, "darkmap collect: %s needs a value\n%s", opt, USAGE);
		return -1;
	}
	return 0;
}

int cmd_collect(int argc, char **argv)
{
	struct collect co;
	memset(&co, 0, sizeof co);
	speaker_conf_default(&co.conf);
	const char *port_file = NULL;
	double duration = 0;
	uint32_t local_as = 0, router_id = 0, hold = 0;
	int have_hold = 0;
	char err[256];
	/* --config first, so that command-line settings override the file */
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--config"))
			co.config_path = argv[i + 1];
	if (co.config_path && load_config(co.config_path, &co.conf) < 0)
		return EXIT_USAGE;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(USAGE, stdout);
			speaker_conf_free(&co.conf);
			return EXIT_OK;
		} else if (!strcmp(a, "--print")) {
			co.print = 1;
		} else if (!strcmp(a, "-q")) {
			co.quiet = 1;
		} else if (!strcmp(a, "--config")) {
			i++;
		} else if (!strcmp(a, "--listen") || !strcmp(a, "--peer")) {
			if (need_arg(i, argc, a) < 0)
				goto usage;
			int rc = a[2] == 'l' ? speaker_conf_add_listen(&co.conf, argv[++i], err, sizeof err) :
			                       speaker_conf_add_peer(&co.conf, argv[++i], err, sizeof err);
			if (rc < 0) {
				fprintf(stderr, "darkmap collect: %s\n", err);
				goto usage;
			}
		} else if (!strcmp(a, "--local-as") || !strcmp(a, "--router-id") || !strcmp(a, "--hold-time")) {
			if (need_arg(i, argc, a) < 0)
				goto usage;
			char line[128];
			snprintf(line, sizeof line, "%s %s", a + 2, argv[++i]);
			struct speaker_conf tmp;
			speaker_conf_default(&tmp);
			if (speaker_conf_parse(&tmp, line, err, sizeof err) < 0) {
				fprintf(stderr, "darkmap collect: %s: bad value '%s'\n", a, argv[i]);
				goto usage;
			}
			if (a[2] == 'l')
				local_as = tmp.local_as;
			else if (a[2] == 'r')
				router_id = tmp.router_id;
			else
				hold = tmp.hold_time, have_hold = 1;
		} else if (!strcmp(a, "--name")) {
			if (need_arg(i, argc, a) < 0)
				goto usage;
			co.name = argv[++i];
		} else if (!strcmp(a, "--state")) {
			if (need_arg(i, argc, a) < 0)
				goto usage;
			co.state_path = argv[++i];
		} else if (!strcmp(a, "--port-file")) {
			if (need_arg(i, argc, a) < 0)
				goto usage;
			port_file = argv[++i];
		} else if (!strcmp(a, "--duration")) {
			if (need_arg(i, argc, a) < 0)
				goto usage;
			char *end;
			duration = strtod(argv[++i], &end);
			if (*end || duration <= 0) {
				fprintf(stderr, "darkmap collect: --duration: seconds expected, got '%s'\n", argv[i]);
				goto usage;
			}
		} else {
			fprintf(stderr, "darkmap collect: unknown option '%s'\n", a);
			goto usage;
		}
	}
	if (local_as)
		co.conf.local_as = local_as;
	if (router_id)
		co.conf.router_id = router_id;
	if (have_hold)
		co.conf.hold_time = (uint16_t)hold;
	if (!co.conf.local_as)
		co.conf.local_as = 65000;
	if (!co.conf.router_id) {
		/* the first IPv4 listener's address, else 127.0.0.1: identifiers only need to differ
		 * from the peers' (RFC 6286) */
		co.conf.router_id = 0x7f000001;
		for (unsigned i = 0; i < co.conf.nlisten; i++)
			if (co.conf.listen[i].addr.afi == DM_AFI_IPV4 && dm_ip4(&co.conf.listen[i].addr)) {
				co.conf.router_id = dm_ip4(&co.conf.listen[i].addr);
				break;
			}
	}
	if (!co.conf.nlisten && !co.conf.npeer) {
		fprintf(stderr, "darkmap collect: nothing to do: give --listen and --peer, or --config\n");
		goto usage;
	}
	co.keep_table = co.state_path != NULL;
	signal(SIGPIPE, SIG_IGN);
	co.base = event_base_new();
	if (!co.base) {
		fprintf(stderr, "darkmap collect: libevent initialisation failed\n");
		speaker_conf_free(&co.conf);
		return EXIT_FAILURE_;
	}
	struct speaker_cb cb = { on_elem, NULL, on_state, on_notify, on_eor, NULL, &co };
	co.sp = speaker_new(co.base, &co.conf, &cb, err, sizeof err);
	if (!co.sp) {
		fprintf(stderr, "darkmap collect: %s\n", err);
		event_base_free(co.base);
		speaker_conf_free(&co.conf);
		return EXIT_FAILURE_;
	}
	if (port_file) {
		FILE *f = fopen(port_file, "w");
		if (!f || fprintf(f, "%u\n", speaker_listen_port(co.sp, 0)) < 0 || fclose(f) != 0) {
			fprintf(stderr, "darkmap collect: %s: %s\n", port_file, strerror(errno));
			speaker_free(co.sp);
			event_base_free(co.base);
			speaker_conf_free(&co.conf);
			return EXIT_FAILURE_;
		}
	}
	obuf_init_fd(&co.out, 1);
	obuf_init_mem(&co.line);
	struct timeval tenth = { 0, 100000 };
	co.flush_ev = event_new(co.base, -1, EV_PERSIST, flush_cb, &co);
	event_add(co.flush_ev, &tenth);
	co.sig_hup = evsignal_new(co.base, SIGHUP, sig_cb, &co);
	co.sig_usr1 = evsignal_new(co.base, SIGUSR1, sig_cb, &co);
	co.sig_int = evsignal_new(co.base, SIGINT, sig_cb, &co);
	co.sig_term = evsignal_new(co.base, SIGTERM, sig_cb, &co);
	event_add(co.sig_hup, NULL);
	event_add(co.sig_usr1, NULL);
	event_add(co.sig_int, NULL);
	event_add(co.sig_term, NULL);
	if (duration > 0) {
		struct timeval d = { (time_t)duration, (suseconds_t)((duration - (double)(time_t)duration) * 1e6) };
		co.stop_ev = evtimer_new(co.base, stop_cb, &co);
		evtimer_add(co.stop_ev, &d);
	}
	event_base_dispatch(co.base);
	/* the routes as they were before the sessions end (a shutdown is not a withdrawal) */
	int rc = write_state(&co) < 0 ? EXIT_FAILURE_ : EXIT_OK;
	co.quiet = 1;
	speaker_shutdown(co.sp);
	/* let the Cease NOTIFICATIONs go out */
	struct timeval quick = { 0, 200000 };
	event_base_loopexit(co.base, &quick);
	event_base_dispatch(co.base);
	speaker_free(co.sp);
	if (obuf_free(&co.out) != 0 || co.failed)
		rc = EXIT_FAILURE_;
	obuf_free(&co.line);
	table_free(&co.tab);
	struct event *evs[] = { co.flush_ev, co.sig_hup, co.sig_usr1, co.sig_int, co.sig_term, co.stop_ev };
	for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
		if (evs[i])
			event_free(evs[i]);
	event_base_free(co.base);
	speaker_conf_free(&co.conf);
	return rc;
usage:
	speaker_conf_free(&co.conf);
	return EXIT_USAGE;
}
