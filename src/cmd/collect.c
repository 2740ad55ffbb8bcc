/* darkmap collect: a passive BGP collector and BMP station on the same pipeline as replay.
 * Sessions come from live/speaker, routers' BMP feeds from live/bmp_station; every element goes
 * to the pipeline (RIB -> signal -> detector -> store, CSV, alerts, JSON, webhook: the same code
 * `darkmap replay` runs), every UPDATE and state change to the MRT archive (live/archive), and,
 * on request, to bgpdump -m lines (--print) and the per-peer state dump (--state, on SIGUSR1 and
 * at exit). RFC 4724 graceful restart: a peer that restarts keeps its routes in the state dump,
 * stale, for its restart time; End-of-RIB after the restart clears what it did not announce
 * again.
 *
 * The table load: the routes that sessions send when they come up at the start are the live
 * form of a RIB dump, so the pipeline is started (pl_start: its first bin opens) only once every
 * Established session has sent End-of-RIB for each family it negotiated (and every configured
 * single-address peer is up), or --load-time after the start; until then nothing is counted as
 * an announcement. Sessions that come up later are route changes, as a session reset is in an
 * update archive.
 *
 * The clock: the wall clock, checked every second (a bin is closed, stored and judged within a
 * second of its end); or, with --sim-clock, the archive times `darkmap feed --sim-clock` plays:
 * then a live run gives exactly the rows and events `darkmap replay` gives on the same files
 * (tests/integration/live_pipeline.sh). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "base/cursor.h"
#include "base/log.h"
#include "base/obuf.h"
#include "cmd/cmds.h"
#include "http/http.h"
#include "live/archive.h"
#include "live/bmp_station.h"
#include "live/speaker.h"
#include "out/bgpdump.h"
#include "pipeline/pipeline.h"
#include "rib/rib.h"

static const char USAGE[] =
	"usage: darkmap collect [--config FILE] [--listen ADDR:PORT]... [--peer ADDR,ASN[,active][,K=V]]...\n"
	"                       [--local-as ASN] [--router-id ID] [--name NAME] [--hold-time S]\n"
	"                       [--print] [--state FILE] [--peers FILE] [--port-file FILE] [--duration S] [-q]\n"
	"                       [--archive DIR [--rotate S] [--rib-every S] [--compress bz2|gz|none]]\n"
	"                       [--bmp ADDR:PORT] [--serve ADDR:PORT [--serve-nice N]] [--load-time S]\n"
	"                       [--sim-clock PATH]\n"
	"                       [pipeline options: --db FILE --detect --json FILE --webhook URL ...]\n"
	"\n"
	"Run a BGP collector: accept sessions from the configured peers (RFC 4271, 4-byte ASNs,\n"
	"IPv4/IPv6 unicast, ADD-PATH receive, route refresh, graceful restart, extended messages)\n"
	"and record what they announce. It never announces routes.\n"
	"\n"
	"  --config FILE      peers and settings (docs/live.md); re-read on SIGHUP: unchanged\n"
	"                     sessions stay up\n"
	"  --listen ADDR:PORT listen there (IPv6: [ADDR]:PORT; port 0: any free port); repeatable\n"
	"  --peer ADDR,ASN    accept a session from ADDR (or a range ADDR/LEN, ASN 'any');\n"
	"                     ',active' connects to ADDR port 179 instead; then any config-file\n"
	"                     peer setting as ',KEY=VALUE' (',max-prefix=N', ',port=N'); repeatable\n"
	"  --local-as ASN     our AS (default 65000)\n"
	"  --router-id ID     our BGP identifier (default 127.0.0.1... from the first listener)\n"
	"  --name NAME        the collector's name (default: the host name)\n"
	"  --hold-time S      hold time offered (default 90)\n"
	"  --print            every route event on standard output as a bgpdump -m line\n"
	"                     (BGP4MP_ET|TIME|A/W|PEER|AS|PREFIX|AS_PATH|...) and state changes\n"
	"  --state FILE       at exit and on SIGUSR1: each peer's routes, sorted, one per line,\n"
	"                     PEER|AS|PREFIX|AS_PATH|ORIGIN|NEXT_HOP|LOCAL_PREF|MED|COMMUNITIES|AG|AGGR|\n"
	"  --peers FILE       at exit and on SIGUSR1 (before --state): the routing state's peers\n"
	"                     (sessions and BMP views, the pipeline must run: --archive, --db...)\n"
	"                     COLLECTOR|PEER|AS|up/down|IPv4 prefixes|IPv6 prefixes|times down\n"
	"  --port-file FILE   write the first listener's port there once listening (then lines\n"
	"                     'bmp PORT' and 'http PORT' for --bmp and --serve)\n"
	"  --duration S       stop after S seconds (default: run until SIGINT/SIGTERM)\n"
	"  -q                 no session log on standard error\n"
	"  --archive DIR      write everything received as MRT under DIR/<name>/YYYY.MM/UPDATES\n"
	"                     (BGP4MP_ET, rotated every --rotate S, default 900) and .../RIBS\n"
	"                     (TABLE_DUMP_V2 snapshots every --rib-every S, default 7200, 0 none),\n"
	"                     compressed after rotation (--compress, default bz2); BMP routers'\n"
	"                     under DIR/bmp:<router>/ (docs/live.md)\n"
	"  --bmp ADDR:PORT    also a BMP station (RFC 7854): routers connect there\n"
	"  --serve ADDR:PORT  also darkmap serve's API, dashboard, event stream and /metrics (with\n"
	"                     the collector's live counters) over the --db being written, on a\n"
	"                     thread of its own (docs/serve.md); port 0: any free port\n"
	"  --serve-nice N     the server's thread at CPU priority N (0-19, default 0): beside\n"
	"                     heavy API use, the sessions get the cores first\n"
	"  --load-time S      the table load ends at the latest S seconds after the start (120)\n"
	"  --sim-clock PATH   take the time from `darkmap feed --sim-clock PATH` (a Unix socket\n"
	"                     collect creates) instead of the wall clock: backtests and tests\n"
	"\n"
	"Pipeline options (as `darkmap replay`; any of --db, --csv, --quality, --changes,\n"
	"--detect, --archive runs the pipeline: RIB, signal, detector, outputs, bin by bin as\n"
	"bins end):\n"
	"%s"
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
	const char *peers_path;     /* --peers: the routing state's peers, written with --state */
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
	/* the pipeline, when an output asks for it */
	struct pl_opts po;
	int use_pl;
	struct pipeline *pl;
	uint32_t coll;              /* the BGP sessions' collector in the pipeline */
	int loaded;                 /* the table load is over (pl_start called) */
	double load_time;
	int64_t t_start;            /* wall µs */
	int pl_status;
	/* Established sessions and the End-of-RIBs each still owes (the table load) */
	struct eor_wait { char peer[80]; uint8_t need, got; } ew[256];
	unsigned new;
	unsigned expect;            /* configured single-address peers */
	struct event *tick_ev;
	/* the MRT archive: the sessions' under DIR/<name>, each BMP view's under DIR/<view> */
	const char *archive_dir;
	struct archive_opts ao;
	struct archive *arch;
	struct bmp_coll { char name[80]; uint32_t coll; struct archive *arch; } bc[64];
	unsigned nbc;
	/* BMP */
	const char *bmp_listen;
	struct bmp_station *bmp;
	/* the simulated clock (--sim-clock): one connection from darkmap feed; a command waits
	 * until the UPDATEs sent before it have all been received */
	const char *sim_path;
	evutil_socket_t sim_lfd;
	struct event *sim_accept, *sim_due;
	struct bufferevent *sim;
	int64_t sim_now;
	uint32_t sim_usec, sim_ts_usec;
	uint64_t updates_in;        /* UPDATE messages received on the BGP sessions */
	char sim_cmd;               /* 0: none pending; 'T', 'L', 'E' */
	int64_t sim_ts;
	uint64_t sim_need;
	const char *cname;          /* the collector's name */
	/* --serve: the HTTP API on a thread of its own, over the database the pipeline writes */
	const char *serve;
	int serve_nice;
	struct http_thread *http;
	struct http_live_metrics live;
	const char *port_file;
};

static void sim_try(struct collect *co);
static void live_metrics(struct collect *co);
static void serve_metrics(struct collect *co);

static int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The time of what arrives now: the simulated clock's or the wall clock's (µs). */
static int64_t now_us(const struct collect *co)
{
	return co->sim_path ? co->sim_now * 1000000 + co->sim_usec : wall_us();
}

/* With the simulated clock an element carries the archive's time, not its arrival's: a copy
 * in buf, stamped. */
static const struct dm_elem *sim_stamp(const struct collect *co, const struct dm_elem *e, struct dm_elem *buf)
{
	if (!co->sim_path)
		return e;
	*buf = *e;
	buf->ts = co->sim_now;
	buf->usec = co->sim_usec;
	return buf;
}

static int64_t arch_clock(void *arg, uint32_t *usec)
{
	int64_t t = now_us(arg);
	*usec = (uint32_t)(t % 1000000);
	return t / 1000000;
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

/* view: NULL for the BGP sessions, a BMP view's collector name otherwise (its routes are keyed
 * and printed "VIEW|PEER|AS|...": the same peer shows once per view) */
static void table_elem(struct collect *co, const char *view, const struct dm_elem *e, const char *body, size_t blen)
{
	char key[300];
	size_t vlen = view ? (size_t)snprintf(key, 100, "%s|", view) : 0;   /* views are < 80 bytes */
	size_t n = vlen + peer_key(key + vlen, e->peer_ip, e->peer_asn);
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
	r->val = malloc(vlen + blen + 1);
	if (!r->val) {
		table_del_at(&co->tab, r);
		co->failed = 1;
		return;
	}
	memcpy(r->val, key, vlen);
	memcpy(r->val + vlen, body, blen);
	r->val[vlen + blen] = 0;
	co->tab.bytes += vlen + blen + 1;
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

/* Writes the n lines of v, sorted, to path (via path.tmp, then renamed: a reader never sees
 * half a file). 0, or -1 reported on standard error. */
static int write_sorted(const char *path, char **v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_str);
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	int rc = f ? 0 : -1;
	for (size_t i = 0; f && i < n; i++)
		fputs(v[i], f);
	if (f && (fflush(f) != 0 || ferror(f)))
		rc = -1;
	if (f && fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	if (rc < 0)
		fprintf(stderr, "darkmap collect: writing %s: %s\n", path, strerror(errno));
	return rc;
}

/* --peers: one line per peer of the pipeline's routing state (BGP sessions and BMP views
 * alike): COLLECTOR|PEER|AS|up or down|IPv4 prefixes|IPv6 prefixes|times down, sorted. */
static int write_peers(struct collect *co)
{
	if (!co->peers_path)
		return 0;
	const struct rib *rib = co->pl ? pl_rib(co->pl) : NULL;
	uint32_t np = rib ? rib_peer_count(rib) : 0;
	char **v = calloc(np ? np : 1, sizeof *v);
	if (!v)
		return -1;
	size_t n = 0;
	int rc = 0;
	for (uint32_t i = 0; i < np; i++) {
		struct rib_peer_info pi;
		if (rib_peer_info(rib, i, &pi) < 0)
			continue;
		char a[DM_IP_STRLEN];
		dm_ip_fmt(&pi.addr, a);
		if (asprintf(&v[n], "%s|%s|%u|%s|%u|%u|%u\n", rib_collector_name(rib, pi.collector), a, pi.asn,
		             pi.up ? "up" : "down", pi.nprefixes[0], pi.nprefixes[1], pi.down_count) < 0) {
			rc = -1;
			break;
		}
		n++;
	}
	if (rc == 0)
		rc = write_sorted(co->peers_path, v, n);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return rc;
}

static int write_state(struct collect *co)
{
	if (write_peers(co) < 0)
		return -1;
	if (!co->state_path)
		return 0;
	char **v = malloc((co->tab.n ? co->tab.n : 1) * sizeof *v);
	if (!v)
		return -1;
	size_t n = 0;
	for (size_t i = 0; i < co->tab.cap; i++)
		if (co->tab.r[i].key && co->tab.r[i].key != TOMB)
			v[n++] = co->tab.r[i].val;
	int rc = write_sorted(co->state_path, v, n);
	free(v);
	return rc;
}

/* ------------------------------------------------------------------ the table load */

static void load_over(struct collect *co, const char *why)
{
	if (co->loaded || !co->pl)
		return;
	co->loaded = 1;
	pl_start(co->pl);
	if (!co->quiet)
		fprintf(stderr, "darkmap collect: table load over after %.1f s (%s): %u sessions Established; bins "
		        "now close as they end\n", (double)(wall_us() - co->t_start) / 1e6, why, co->new);
}

/* Every Established session has sent End-of-RIB for each of its families and every configured
 * single-address peer is up (the simulated clock's owner says when instead). */
static void load_check(struct collect *co)
{
	if (co->loaded || !co->pl || co->sim_path)
		return;
	if (wall_us() - co->t_start >= (int64_t)(co->load_time * 1e6)) {
		load_over(co, "--load-time reached");
		return;
	}
	if (!co->new || co->new < co->expect)
		return;
	for (unsigned i = 0; i < co->new; i++)
		if ((co->ew[i].got & co->ew[i].need) != co->ew[i].need)
			return;
	load_over(co, "every session sent End-of-RIB");
}

static struct eor_wait *ew_find(struct collect *co, const char *peer)
{
	for (unsigned i = 0; i < co->new; i++)
		if (!strcmp(co->ew[i].peer, peer))
			return &co->ew[i];
	return NULL;
}

/* ------------------------------------------------------------------ MRT archive */

/* The session as an MRT record describes it (RFC 6396 §4.4). */
static void mrt_session_of(const struct speaker_peer_info *p, struct mrt_session *s)
{
	memset(s, 0, sizeof *s);
	const struct bgp_sess_neg *n = p->sess ? bgp_sess_neg(p->sess) : NULL;
	s->peer_as = n ? n->peer_as : 0;
	s->local_as = p->local_as;
	s->peer_ip = p->addr;
	s->local_ip = p->local;
	s->afi = p->addr.afi;
	s->as4 = n ? n->as4 : 1;
}

/* Does this UPDATE carry IPv6 routes (MP_REACH or MP_UNREACH for AFI 2)? It decides which
 * family's ADD-PATH applies when the two differ (RFC 7911 is per family). */
static int update_is_v6(const uint8_t *msg, size_t len)
{
	if (len < BGP_HEADER_LEN + 4)
		return 0;
	struct cur c = cur_make(msg + BGP_HEADER_LEN, len - BGP_HEADER_LEN);
	uint16_t wl, al;
	struct cur a;
	if (cur_u16(&c, &wl) < 0 || cur_skip(&c, wl) < 0 || cur_u16(&c, &al) < 0 || cur_take(&c, al, &a) < 0)
		return 0;
	uint8_t fl, ty;
	struct cur v;
	while (cur_left(&a) >= 3 && bgp_attr_next(&a, &fl, &ty, &v) == 0) {
		uint16_t afi;
		if ((ty == BGP_ATTR_MP_REACH_NLRI || ty == BGP_ATTR_MP_UNREACH_NLRI) && cur_u16(&v, &afi) == 0)
			return afi == DM_AFI_IPV6;
	}
	return 0;
}

static void on_raw(const struct speaker_peer_info *p, int out, const uint8_t *msg, size_t n, void *arg)
{
	struct collect *co = arg;
	if (out || n < BGP_HEADER_LEN || msg[18] != BGP_MSG_UPDATE)
		return;
	co->updates_in++;
	if (co->pl)
		pl_record(co->pl, co->coll);
	if (co->arch && p->sess) {
		const struct bgp_sess_neg *ng = bgp_sess_neg(p->sess);
		struct mrt_session s;
		mrt_session_of(p, &s);
		s.addpath = ng->addpath_v4 == ng->addpath_v6 ? ng->addpath_v4 :
		            update_is_v6(msg, n) ? ng->addpath_v6 : ng->addpath_v4;
		struct dm_error err;
		int64_t t = now_us(co);
		if (archive_message(co->arch, t / 1000000, (uint32_t)(t % 1000000), &s, msg, n, &err) && !co->quiet)
			dm_log("darkmap collect: archive: %s", err.what);
	}
	if (co->sim_cmd && co->updates_in >= co->sim_need) {
		/* the elements of this message are applied when this callback returns: the command
		 * waits for the next turn of the loop */
		static const struct timeval zero = { 0, 0 };
		evtimer_add(co->sim_due, &zero);
	}
}

/* ------------------------------------------------------------------ BMP */

static struct bmp_coll *bmp_coll(struct collect *co, const char *name)
{
	for (unsigned i = 0; i < co->nbc; i++)
		if (!strcmp(co->bc[i].name, name))
			return &co->bc[i];
	if (co->nbc == sizeof co->bc / sizeof co->bc[0])
		return NULL;
	struct bmp_coll *b = &co->bc[co->nbc++];
	memset(b, 0, sizeof *b);
	snprintf(b->name, sizeof b->name, "%s", name);
	if (co->pl)
		b->coll = pl_collector(co->pl, name);
	if (co->archive_dir) {
		struct archive_opts o = co->ao;
		o.name = b->name;
		struct dm_error err;
		b->arch = archive_open(&o, &err);
		if (!b->arch)
			fprintf(stderr, "darkmap collect: archive %s/%s: %s\n", co->archive_dir, name, err.what);
		else
			archive_attach(b->arch, co->base);
		if (b->arch && co->pl)
			archive_rib_source(b->arch, pl_rib(co->pl), b->coll);
	}
	return b;
}

static void bmp_elem(void *arg, const char *collector, const struct dm_elem *e)
{
	struct collect *co = arg;
	co->elems++;
	struct bmp_coll *b = bmp_coll(co, collector);
	struct dm_elem stamped;
	e = sim_stamp(co, e, &stamped);
	if (b && co->pl)
		pl_elem(co->pl, b->coll, e);
	if (!co->print && !co->keep_table)
		return;
	co->line.len = 0;
	bgpdump_m_elem(&co->line, e, 1);
	if (co->print) {
		/* "VIEW|" in front: the same monitored peer appears once per view */
		obuf_put(&co->out, collector, strlen(collector));
		obuf_put(&co->out, "|", 1);
		obuf_put(&co->out, co->line.buf, co->line.len);
	}
	if (!co->keep_table)
		return;
	if (e->type == DM_ELEM_ANNOUNCE || e->type == DM_ELEM_WITHDRAW) {
		size_t blen;
		const char *body = line_body(co->line.buf, co->line.len, &blen);
		if (body)
			table_elem(co, collector, e, body, blen);
	} else if (e->type == DM_ELEM_STATE && e->old_state == DM_BGP_ESTABLISHED) {
		/* the monitored session is gone: so are its routes (as the RIB drops them) */
		char peer[200];
		size_t n = (size_t)snprintf(peer, 100, "%s|", collector);   /* views are < 80 bytes */
		peer_key(peer + n, e->peer_ip, e->peer_asn);
		table_clear_peer(co, peer, 0, 0);
	}
}

static void bmp_message(void *arg, const char *collector, int64_t ts, uint32_t usec, const struct mrt_session *s,
                        const uint8_t *msg, size_t len)
{
	struct collect *co = arg;
	struct bmp_coll *b = bmp_coll(co, collector);
	if (!b)
		return;
	if (co->pl)
		pl_record(co->pl, b->coll);
	struct dm_error err;
	if (b->arch && archive_message(b->arch, ts, usec, s, msg, len, &err) && !co->quiet)
		dm_log("darkmap collect: archive %s: %s", collector, err.what);
}

static void bmp_state(void *arg, const char *collector, int64_t ts, uint32_t usec, const struct mrt_session *s,
                      uint16_t old_state, uint16_t new_state)
{
	struct collect *co = arg;
	struct bmp_coll *b = bmp_coll(co, collector);
	struct dm_error err;
	if (b && b->arch && archive_state(b->arch, ts, usec, s, old_state, new_state, &err) && !co->quiet)
		dm_log("darkmap collect: archive %s: %s", collector, err.what);
}

static void bmp_router(void *arg, const char *router, int up, const char *sys_name)
{
	struct collect *co = arg;
	if (co->quiet)
		return;
	/* the station calls with up at the connection and again at the router's Initiation message,
	 * which names it: one line each, saying which */
	if (up && sys_name && sys_name[0])
		fprintf(stderr, "darkmap collect: BMP router %s initiation: %s\n", router, sys_name);
	else
		fprintf(stderr, "darkmap collect: BMP router %s %s%s%s\n", router, up ? "connected" : "gone",
		        sys_name && sys_name[0] ? ": " : "", sys_name ? sys_name : "");
}

static void bmp_error(void *arg, const char *router, const struct dm_error *err)
{
	struct collect *co = arg;
	if (co->pl)
		pl_input_error(co->pl, router, err, 0);
	else
		dm_log("darkmap collect: BMP %s: offset %llu: %s", router, (unsigned long long)err->offset,
		       err->what);
}

/* ------------------------------------------------------------------ the simulated clock */

static void sim_answer(struct collect *co)
{
	if (co->sim)
		bufferevent_write(co->sim, "ok\n", 3);
}

/* Applies the pending command once every UPDATE sent before it has been received. */
static void sim_try(struct collect *co)
{
	if (!co->sim_cmd || co->updates_in < co->sim_need)
		return;
	char cmd = co->sim_cmd;
	co->sim_cmd = 0;
	if (cmd == 'T') {
		co->sim_now = co->sim_ts;
		co->sim_usec = co->sim_ts_usec;
		if (co->pl)
			pl_time(co->pl, co->sim_now);
		live_metrics(co);
		/* rotations and RIB snapshots at the archive's times, between its records */
		struct dm_error err;
		if (co->arch && archive_tick(co->arch, &err) && !co->quiet)
			dm_log("darkmap collect: archive: %s", err.what);
		for (unsigned i = 0; i < co->nbc; i++)
			if (co->bc[i].arch && archive_tick(co->bc[i].arch, &err) && !co->quiet)
				dm_log("darkmap collect: archive %s: %s", co->bc[i].name, err.what);
	} else if (cmd == 'L') {
		load_over(co, "the feed's table is sent");
	} else if (cmd == 'E') {
		event_base_loopexit(co->base, NULL);
	}
	sim_answer(co);
}

static void sim_due_cb(evutil_socket_t fd, short what, void *arg) { sim_try(arg); }

static int open_pipeline(struct collect *co, int64_t when);

static void sim_read_cb(struct bufferevent *bev, void *arg)
{
	struct collect *co = arg;
	char *line;
	while (!co->sim_cmd && (line = evbuffer_readln(bufferevent_get_input(bev), NULL, EVBUFFER_EOL_LF))) {
		long long ts = 0;
		unsigned long long need = 0;
		unsigned usec = 0;
		char cmd = line[0];
		int ok = (cmd == 'T' && sscanf(line + 1, "%lld %u %llu", &ts, &usec, &need) == 3 && usec < 1000000) ||
		         ((cmd == 'L' || cmd == 'E') && sscanf(line + 1, "%llu", &need) == 1);
		free(line);
		if (!ok) {
			fprintf(stderr, "darkmap collect: --sim-clock: a line that is not T/L/E: ignored\n");
			continue;
		}
		if (cmd == 'T' && co->use_pl && !co->pl && open_pipeline(co, ts) < 0) {
			event_base_loopexit(co->base, NULL);
			return;
		}
		co->sim_cmd = cmd;
		co->sim_ts = ts;
		co->sim_ts_usec = usec;
		co->sim_need = need;
		sim_try(co);
	}
}

static void sim_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct collect *co = arg;
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	bufferevent_free(co->sim);
	co->sim = NULL;
}

static void sim_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct collect *co = arg;
	evutil_socket_t fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return;
	if (co->sim) {   /* one clock at a time */
		close(fd);
		return;
	}
	evutil_make_socket_nonblocking(fd);
	co->sim = bufferevent_socket_new(co->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!co->sim) {
		close(fd);
		return;
	}
	bufferevent_setcb(co->sim, sim_read_cb, NULL, sim_event_cb, co);
	bufferevent_enable(co->sim, EV_READ);
}

static int sim_listen(struct collect *co)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(co->sim_path) >= sizeof sa.sun_path) {
		fprintf(stderr, "darkmap collect: --sim-clock %s: path too long\n", co->sim_path);
		return -1;
	}
	strcpy(sa.sun_path, co->sim_path);
	unlink(co->sim_path);
	co->sim_lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (co->sim_lfd < 0 || bind(co->sim_lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(co->sim_lfd, 4) < 0) {
		fprintf(stderr, "darkmap collect: --sim-clock %s: %s\n", co->sim_path, strerror(errno));
		return -1;
	}
	evutil_make_socket_nonblocking(co->sim_lfd);
	co->sim_accept = event_new(co->base, co->sim_lfd, EV_READ | EV_PERSIST, sim_accept_cb, co);
	co->sim_due = evtimer_new(co->base, sim_due_cb, co);
	event_add(co->sim_accept, NULL);
	return 0;
}

/* ------------------------------------------------------------------ the pipeline */

/* The live counters darkmap serve shows on /metrics. */
static void live_metrics(struct collect *co)
{
	if (!co->pl)
		return;
	struct pl_stats st;
	pl_stats(co->pl, &st);
	struct http_live_metrics *m = &co->live;
	m->peers_up = co->sp ? speaker_established(co->sp) : 0;
	m->routes = st.routes;
	m->elements_total = st.elems;
	memcpy(m->decode_errors, st.err, sizeof m->decode_errors);
	for (size_t i = 0; i < sizeof m->events_total / sizeof m->events_total[0]; i++)
		m->events_total[i] = st.events[i];
	m->bin_lag_seconds = st.last_bin_end ? (double)now_us(co) / 1e6 - (double)st.last_bin_end : 0;
	serve_metrics(co);
}

static void on_commit(void *arg, double seconds)
{
	struct collect *co = arg;
	if (!co->http)
		return;
	http_live_metrics_observe_write(&co->live, seconds);
	serve_metrics(co);
	http_thread_db_changed(co->http);
}

/* "ADDR:PORT" / "[V6]:PORT" into bind and port. */
static int split_hostport(const char *s, char *host, size_t n, uint16_t *port)
{
	const char *c = strrchr(s, ':');
	if (!c || c == s)
		return -1;
	const char *h = s;
	size_t hl = (size_t)(c - s);
	if (*h == '[' && hl >= 2 && h[hl - 1] == ']')
		h++, hl -= 2;
	char *end;
	unsigned long p = strtoul(c + 1, &end, 10);
	if (!c[1] || *end || p > 65535 || hl >= n)
		return -1;
	memcpy(host, h, hl);
	host[hl] = 0;
	*port = (uint16_t)p;
	return 0;
}

/* /metrics: memory held per BGP peer (session, buffers, max-prefix set) and its input buffer,
 * the bound a flooding peer stays under */
struct pm_arg { struct obuf *o; int input; };
static void peer_metric(void *arg, const struct dm_ip *addr, uint32_t as, size_t held, size_t input)
{
	struct pm_arg *a = arg;
	char ip[DM_IP_STRLEN];
	dm_ip_fmt(addr, ip);
	obuf_printf(a->o, "darkmap_peer_%s_bytes{peer=\"%s\",as=\"%u\"} %zu\n", a->input ? "input" : "memory", ip, as,
	            a->input ? input : held);
}

static void peer_metrics(struct obuf *o, void *arg)
{
	struct collect *co = arg;
	if (!co->sp)
		return;
	struct pm_arg a = { o, 0 };
	obuf_printf(o, "# HELP darkmap_peer_memory_bytes Bytes held for a BGP peer: session, buffers, max-prefix set.\n"
	               "# TYPE darkmap_peer_memory_bytes gauge\n");
	speaker_memory(co->sp, peer_metric, &a);
	a.input = 1;
	obuf_printf(o, "# HELP darkmap_peer_input_bytes A BGP peer's unread input (bounded by max-input: %zu).\n"
	               "# TYPE darkmap_peer_input_bytes gauge\n", co->conf.max_input);
	speaker_memory(co->sp, peer_metric, &a);
}

/* The live numbers and the per-peer lines, handed to the server's thread (a copy: the speaker
 * and the pipeline are this thread's) */
static void serve_metrics(struct collect *co)
{
	if (!co->http)
		return;
	struct obuf o;
	obuf_init_mem(&o);
	peer_metrics(&o, co);
	http_thread_metrics(co->http, &co->live, o.buf, o.len);
	obuf_free(&o);
}

static int open_serve(struct collect *co)
{
	struct http_opts ho;
	http_opts_default(&ho);
	char host[128];
	if (split_hostport(co->serve, host, sizeof host, &ho.port) < 0) {
		fprintf(stderr, "darkmap collect: --serve %s: want ADDR:PORT\n", co->serve);
		return -1;
	}
	ho.bind = host;
	ho.db_path = co->po.db_path;
	struct dashboard_paths dp;
	dashboard_paths(&ho, NULL, NULL, &dp, "collect");
	struct dm_error err = { 0 };
	co->http = http_thread_start(&ho, co->serve_nice, &err);
	if (!co->http) {
		fprintf(stderr, "darkmap collect: --serve: %s\n", err.what);
		return -1;
	}
	live_metrics(co);
	int port = http_thread_port(co->http);
	fprintf(stderr, "darkmap collect: dashboard and API on http://%s%s%s:%d/\n", strchr(host, ':') ? "[" : "", host,
	        strchr(host, ':') ? "]" : "", port);
	if (co->port_file) {
		FILE *f = fopen(co->port_file, "a");
		if (!f || fprintf(f, "http %d\n", port) < 0 || fclose(f) != 0)
			fprintf(stderr, "darkmap collect: %s: %s\n", co->port_file, strerror(errno));
	}
	return 0;
}

/* Opens the pipeline (the mapping of the time `when`), and the archive that snapshots its RIB. */
static int open_pipeline(struct collect *co, int64_t when)
{
	struct dm_error err;
	memset(&err, 0, sizeof err);
	co->pl = pl_new(&co->po, when, &co->pl_status, &err);
	if (!co->pl) {
		if (err.what[0])
			fprintf(stderr, "darkmap collect: %s\n", err.what);
		return -1;
	}
	co->coll = pl_collector(co->pl, co->cname);
	pl_collector_active(co->pl, co->coll, 1);
	if (co->arch)
		archive_rib_source(co->arch, pl_rib(co->pl), co->coll);
	if (co->serve && co->sp && open_serve(co) < 0)   /* else once the listeners are up */
		return -1;
	return 0;
}

/* Every second of the wall clock: bins that ended are closed, stored and judged. */
static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct collect *co = arg;
	if (!co->pl)
		return;
	pl_time(co->pl, wall_us() / 1000000);
	load_check(co);
	live_metrics(co);
	if (pl_stopped(co->pl)) {
		fprintf(stderr, "darkmap collect: every pipeline output failed: stopping\n");
		event_base_loopexit(co->base, NULL);
	}
}

static void on_elem(const struct speaker_peer_info *p, const struct dm_elem *e, void *arg)
{
	struct collect *co = arg;
	co->elems++;
	struct dm_elem stamped;
	e = sim_stamp(co, e, &stamped);
	/* state changes that matter to the routing state are those into and out of Established
	 * (before OPEN the peer's AS is not even known: it would make a phantom peer) */
	if (co->pl && (e->type != DM_ELEM_STATE || e->old_state == DM_BGP_ESTABLISHED ||
	               e->new_state == DM_BGP_ESTABLISHED))
		pl_elem(co->pl, co->coll, e);
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
			table_elem(co, NULL, e, body, blen);
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
	if (co->arch) {
		struct mrt_session s;
		mrt_session_of(p, &s);
		s.as4 = 1;   /* STATE_CHANGE_AS4 */
		struct dm_error err;
		int64_t t = now_us(co);
		if (archive_state(co->arch, t / 1000000, (uint32_t)(t % 1000000), &s, (uint16_t)old, (uint16_t)st, &err) &&
		    !co->quiet)
			dm_log("darkmap collect: archive: %s", err.what);
	}
	char peer[80];
	peer_name(p, peer);
	if (st == BGP_ST_ESTABLISHED && !co->loaded && n && co->new < sizeof co->ew / sizeof co->ew[0] &&
	    !ew_find(co, peer)) {
		struct eor_wait *w = &co->ew[co->new++];
		snprintf(w->peer, sizeof w->peer, "%s", peer);
		w->need = (uint8_t)((n->mp_v4 ? 1 : 0) | (n->mp_v6 ? 2 : 0));
		w->got = 0;
	}
	if (old == BGP_ST_ESTABLISHED) {
		struct eor_wait *w = ew_find(co, peer);
		if (w)
			*w = co->ew[--co->new];
	}
	if (old != BGP_ST_ESTABLISHED || !co->keep_table)
		return;
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
	char peer[80];
	peer_name(p, peer);
	struct eor_wait *w = ew_find(co, peer);
	if (w)
		w->got |= afi == DM_AFI_IPV6 ? 2 : 1;
	load_check(co);
	if (!co->keep_table)
		return;
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
		fprintf(stderr, "darkmap collect: %s needs a value (--help: the options)\n", opt);
		return -1;
	}
	return 0;
}

int cmd_collect(int argc, char **argv)
{
	struct collect co;
	memset(&co, 0, sizeof co);
	speaker_conf_default(&co.conf);
	pl_opts_default(&co.po, "collect");
	archive_opts_default(&co.ao);
	co.load_time = 120;
	co.sim_lfd = -1;
	co.t_start = wall_us();
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
			printf(USAGE, pl_opts_usage);
			speaker_conf_free(&co.conf);
			return EXIT_OK;
		} else if (!strcmp(a, "--print")) {
			co.print = 1;
		} else if (!strcmp(a, "-q")) {
			co.quiet = 1;
			co.po.quiet = 1;
		} else if (!strcmp(a, "--archive") || !strcmp(a, "--bmp") || !strcmp(a, "--sim-clock") ||
		           !strcmp(a, "--serve")) {
			if (need_arg(i, argc, a) < 0)
				goto usage;
			const char **dst = a[2] == 'a' ? &co.archive_dir : a[2] == 'b' ? &co.bmp_listen :
			                   a[3] == 'i' ? &co.sim_path : &co.serve;
			*dst = argv[++i];
		} else if (!strcmp(a, "--serve-nice")) {
			if (need_arg(i, argc, a) < 0)
				goto usage;
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (!argv[i][0] || *end || v < 0 || v > 19) {
				fprintf(stderr, "darkmap collect: --serve-nice: 0 to 19, not '%s'\n", argv[i]);
				goto usage;
			}
			co.serve_nice = (int)v;
		} else if (!strcmp(a, "--rotate") || !strcmp(a, "--rib-every") || !strcmp(a, "--load-time")) {
			if (need_arg(i, argc, a) < 0)
				goto usage;
			char *end;
			double v = strtod(argv[++i], &end);
			int zero_ok = a[2] == 'r' && a[3] == 'i';
			if (*end || v < 0 || (v == 0 && !zero_ok) || v > 86400 * 7) {
				fprintf(stderr, "darkmap collect: %s: seconds expected, got '%s'\n", a, argv[i]);
				goto usage;
			}
			if (a[2] == 'l')
				co.load_time = v;
			else if (zero_ok)
				co.ao.rib_interval = (uint32_t)v;
			else
				co.ao.rotate = (uint32_t)v;
		} else if (!strcmp(a, "--compress")) {
			if (need_arg(i, argc, a) < 0)
				goto usage;
			const char *v = argv[++i];
			if (!strcmp(v, "bz2"))
				co.ao.comp = DM_COMP_BZIP2;
			else if (!strcmp(v, "gz"))
				co.ao.comp = DM_COMP_GZIP;
			else if (!strcmp(v, "none"))
				co.ao.comp = DM_COMP_NONE;
			else {
				fprintf(stderr, "darkmap collect: --compress: bz2, gz or none, not '%s'\n", v);
				goto usage;
			}
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
		} else if (!strcmp(a, "--peers")) {
			if (need_arg(i, argc, a) < 0)
				goto usage;
			co.peers_path = argv[++i];
		} else if (!strcmp(a, "--port-file")) {
			if (need_arg(i, argc, a) < 0)
				goto usage;
			port_file = co.port_file = argv[++i];
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
			int r = pl_opts_parse(&co.po, argc, argv, &i, err, sizeof err);
			if (r < 0) {
				fprintf(stderr, "darkmap collect: %s\n", err);
				goto usage;
			}
			if (r == 0) {
				fprintf(stderr, "darkmap collect: unknown option '%s' (--help: the options)\n", a);
				goto usage;
			}
		}
	}
	if (pl_opts_check(&co.po, err, sizeof err)) {
		fprintf(stderr, "darkmap collect: %s\n", err);
		goto usage;
	}
	co.po.commit_bins = 1;
	co.po.on_commit = on_commit;
	co.po.commit_arg = &co;
	if (co.serve && !co.po.db_path) {
		fprintf(stderr, "darkmap collect: --serve shows the database the pipeline writes: give --db FILE\n");
		goto usage;
	}
	co.use_pl = co.po.db_path || co.po.csv || co.po.quality_path || co.po.changes_path || co.po.detect ||
	            (co.archive_dir && co.ao.rib_interval);
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
	char host[64] = "collector";
	gethostname(host, sizeof host - 1);
	co.cname = co.name ? co.name : host;
	for (unsigned i = 0; i < co.conf.npeer; i++)
		co.expect += co.conf.peer[i].range.len == (co.conf.peer[i].range.afi == DM_AFI_IPV6 ? 128 : 32);
	signal(SIGPIPE, SIG_IGN);
	co.base = event_base_new();
	if (!co.base) {
		fprintf(stderr, "darkmap collect: libevent initialisation failed\n");
		speaker_conf_free(&co.conf);
		return EXIT_FAILURE_;
	}
	int rc = EXIT_FAILURE_;
	if (co.archive_dir) {
		co.ao.dir = co.archive_dir;
		co.ao.name = co.cname;
		co.ao.clock = arch_clock;
		co.ao.clock_arg = &co;
		struct dm_error aerr;
		co.arch = archive_open(&co.ao, &aerr);
		if (!co.arch) {
			fprintf(stderr, "darkmap collect: --archive %s: %s\n", co.archive_dir, aerr.what);
			goto out;
		}
		archive_attach(co.arch, co.base);
	}
	/* the pipeline: at once on the wall clock; at the simulated clock's first time otherwise
	 * (the mapping is the data's date's) */
	if (co.use_pl && !co.sim_path && open_pipeline(&co, co.t_start / 1000000) < 0) {
		rc = co.pl_status;
		goto out;
	}
	if (co.sim_path && sim_listen(&co) < 0)
		goto out;
	struct speaker_cb cb = { on_elem, on_raw, on_state, on_notify, on_eor, NULL, &co };
	co.sp = speaker_new(co.base, &co.conf, &cb, err, sizeof err);
	if (!co.sp) {
		fprintf(stderr, "darkmap collect: %s\n", err);
		goto out;
	}
	if (co.bmp_listen) {
		struct bmp_station_opts bo = { .listen = co.bmp_listen };
		struct bmp_station_cb bcb = { &co, bmp_elem, bmp_message, bmp_state, bmp_router, bmp_error };
		struct dm_error berr;
		co.bmp = bmp_station_new(co.base, &bo, &bcb, &berr);
		if (!co.bmp) {
			fprintf(stderr, "darkmap collect: --bmp %s: %s\n", co.bmp_listen, berr.what);
			goto out;
		}
		if (!co.quiet)
			fprintf(stderr, "darkmap collect: BMP station on port %u\n", bmp_station_port(co.bmp));
	}
	if (port_file) {
		FILE *f = fopen(port_file, "w");
		/* the BGP port, then the BMP station's */
		if (!f || fprintf(f, "%u\n", speaker_listen_port(co.sp, 0)) < 0 ||
		    (co.bmp && fprintf(f, "bmp %u\n", bmp_station_port(co.bmp)) < 0) || fclose(f) != 0) {
			fprintf(stderr, "darkmap collect: %s: %s\n", port_file, strerror(errno));
			goto out;
		}
	}
	obuf_init_fd(&co.out, 1);
	obuf_init_mem(&co.line);
	if (co.pl && co.serve && open_serve(&co) < 0)
		goto out;
	struct timeval tenth = { 0, 100000 }, second = { 1, 0 };
	co.flush_ev = event_new(co.base, -1, EV_PERSIST, flush_cb, &co);
	event_add(co.flush_ev, &tenth);
	if (!co.sim_path) {
		co.tick_ev = event_new(co.base, -1, EV_PERSIST, tick_cb, &co);
		event_add(co.tick_ev, &second);
	}
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
	/* the routes as they were before the sessions end (a shutdown is not a withdrawal): the
	 * state dump and the pipeline end first, then the sessions (whose end the archive records) */
	rc = write_state(&co) < 0 ? EXIT_FAILURE_ : EXIT_OK;
	if (co.pl) {
		if (!co.loaded)
			load_over(&co, "stopping");
		int prc = pl_finish(co.pl);
		co.pl = NULL;
		/* a run that got no message is not a failure for a collector */
		if (prc != PL_OK && !(prc == PL_FAILURE && !co.updates_in && !co.elems))
			rc = prc;
	}
	co.quiet = 1;
	speaker_shutdown(co.sp);
	/* let the Cease NOTIFICATIONs (and the clock's last answer) go out */
	struct timeval quick = { 0, 200000 };
	event_base_loopexit(co.base, &quick);
	event_base_dispatch(co.base);
	if (obuf_flush(&co.out) != 0 || co.failed)
		rc = EXIT_FAILURE_;
out:
	if (co.pl) {
		pl_finish(co.pl);
		co.pl = NULL;
	}
	http_thread_stop(co.http);
	if (co.bmp)
		bmp_station_free(co.bmp);
	if (co.sp)
		speaker_free(co.sp);
	for (unsigned i = 0; i < co.nbc; i++)
		if (co.bc[i].arch && archive_close(co.bc[i].arch, NULL) != 0)
			rc = EXIT_FAILURE_;
	if (co.arch && archive_close(co.arch, NULL) != 0)
		rc = EXIT_FAILURE_;
	obuf_free(&co.out);
	obuf_free(&co.line);
	table_free(&co.tab);
	if (co.sim)
		bufferevent_free(co.sim);
	if (co.sim_lfd >= 0) {
		close(co.sim_lfd);
		unlink(co.sim_path);
	}
	struct event *evs[] = { co.flush_ev, co.sig_hup, co.sig_usr1, co.sig_int, co.sig_term, co.stop_ev,
		                co.tick_ev, co.sim_accept, co.sim_due };
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
