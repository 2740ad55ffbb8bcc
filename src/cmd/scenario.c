/* darkmap scenario: writes synthetic but real-format MRT archives that play a documented event
 * timeline (data/scenarios/nk-2014.tsv), with a machine-readable ground truth beside them.
 *
 * Model: every simulated peer is a full-feed peer of one of two collectors and starts with the
 * whole table (RIB dump at --from). Events are generated up front (timeline, flaps drawn from the
 * seed, background churn, one session reset), sorted by time, then played against a per-peer
 * state array (peer x prefix -> withdrawn / announced with path variant v) so that a withdrawal
 * is only written for a route the peer has, and a re-established session re-sends exactly what
 * the peer holds. Update files are cut on interval boundaries, one file per interval even when
 * it is empty, except inside the collector gap. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "base/addr.h"
#include "base/time.h"
#include "cmd/cmds.h"
#include "mrt/writer.h"

/* Allocation failure in a one-shot generator: say so and stop (nothing half-written is kept
 * in a consistent state worth saving). */
static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fputs("darkmap scenario: out of memory\n", stderr);
		exit(EXIT_FAILURE_);
	}
	return p;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p) {
		fputs("darkmap scenario: out of memory\n", stderr);
		exit(EXIT_FAILURE_);
	}
	return p;
}

/* ---- deterministic randomness (splitmix64: one 64-bit state, same stream everywhere) ------ */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rng_next(uint64_t *s) { return mix64(*s += 0x9e3779b97f4a7c15ull); }
static uint32_t rng_below(uint64_t *s, uint32_t n) { return (uint32_t)(((rng_next(s) >> 32) * n) >> 32); }
static double rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) / 9007199254740992.0; }

/* ---- time ------------------------------------------------------------------------------- */

/* "1418342400", "2014-12-12", "2014-12-12T00:00", "2014-12-12 00:00:00Z": UTC. */
static int parse_time(const char *s, int64_t *out)
{
	uint32_t t;
	if (dm_time_parse(s, &t))
		return -1;
	*out = t;
	return 0;
}

static void fmt_iso(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void fmt_stamp(int64_t t, const char *fmt, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, n, fmt, &tm);
}

/* ---- timeline (data/scenarios/nk-2014.tsv) ---------------------------------------------- */

enum tl_kind { TL_INSTABILITY, TL_OUTAGE, TL_PEER_RESET, TL_COLLECTOR_GAP };
static const char *const tl_names[] = { "instability", "outage", "peer_reset", "collector_gap" };

struct tl_row {
	enum tl_kind kind;
	int64_t start, end;
	char target[64];
	char note[200];
	int line;
};

struct timeline {
	struct tl_row *row;
	size_t n;
	char path[PATH_MAX];
};

static int timeline_load(const char *path, struct timeline *tl)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	snprintf(tl->path, sizeof tl->path, "%s", path);
	char line[1024];
	int lineno = 0, bad = 0;
	size_t cap = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		line[strcspn(line, "\r\n")] = 0;
		if (line[0] == '#' || line[0] == 0)
			continue;
		char *field[5] = { 0 };
		int nf = 0;
		for (char *p = line; p && nf < 5; nf++) {
			field[nf] = p;
			p = strchr(p, '\t');
			if (p)
				*p++ = 0;
		}
		struct tl_row r;
		memset(&r, 0, sizeof r);
		r.line = lineno;
		int k;
		for (k = 0; k < 4; k++)
			if (field[0] && !strcmp(field[0], tl_names[k]))
				break;
		if (nf < 4 || k == 4 || parse_time(field[1], &r.start) || parse_time(field[2], &r.end) ||
		    r.end <= r.start) {
			fprintf(stderr, "darkmap scenario: %s: line %d: expected kind<TAB>start<TAB>end"
			        "<TAB>target[<TAB>note] with end after start\n", path, lineno);
			bad = 1;
			continue;
		}
		r.kind = (enum tl_kind)k;
		snprintf(r.target, sizeof r.target, "%s", field[3]);
		if (nf > 4)
			snprintf(r.note, sizeof r.note, "%s", field[4]);
		if (tl->n == cap) {
			cap = cap ? cap * 2 : 16;
			tl->row = xrealloc(tl->row, cap * sizeof *tl->row);
		}
		tl->row[tl->n++] = r;
	}
	fclose(f);
	return bad ? -2 : 0;
}

/* The timeline ships in data/scenarios: look beside the working directory, then relative to the
 * binary (build/rel/darkmap -> ../../data). */
static int timeline_find(const char *name, char *out, size_t n)
{
	char exe[PATH_MAX];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
	const char *dirs[4] = { "data/scenarios", NULL, NULL, NULL };
	char d1[PATH_MAX], d2[PATH_MAX], d3[PATH_MAX];
	if (k > 0) {
		exe[k] = 0;
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = 0;
		snprintf(d1, sizeof d1, "%.3800s/../../data/scenarios", exe);
		snprintf(d2, sizeof d2, "%.3800s/../data/scenarios", exe);
		snprintf(d3, sizeof d3, "%.3800s/data/scenarios", exe);
		dirs[1] = d1, dirs[2] = d2, dirs[3] = d3;
	}
	for (int i = 0; i < 4; i++) {
		if (!dirs[i])
			continue;
		snprintf(out, n, "%.3800s/%s.tsv", dirs[i], name);
		if (access(out, R_OK) == 0)
			return 0;
	}
	return -1;
}

/* ---- the prefix table ------------------------------------------------------------------- */

struct tprefix {
	struct dm_prefix p;
	uint32_t origin;
	uint8_t kp;
};

struct table {
	struct tprefix *v;
	uint32_t n, cap;
};

static void table_add(struct table *t, const struct dm_prefix *p, uint32_t origin)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 4096;
		t->v = xrealloc(t->v, t->cap * sizeof *t->v);
	}
	struct tprefix *x = &t->v[t->n++];
	x->p = *p;
	x->origin = origin;
	x->kp = 0;
}

static int prefix_cmp(const void *a, const void *b)
{
	const struct tprefix *x = a, *y = b;
	if (x->p.afi != y->p.afi)
		return x->p.afi - y->p.afi;
	int c = memcmp(x->p.b, y->p.b, 16);
	if (c)
		return c;
	return x->p.len - y->p.len;
}

/* North Korea's four /24s (AS131279, Star Joint Venture; upstream China Unicom AS4837). */
enum { KP_ORIGIN = 131279, KP_UPSTREAM = 4837, KP_NPREFIX = 4 };
static const char *const kp_prefixes[KP_NPREFIX] = { "175.45.176.0/24", "175.45.177.0/24",
                                                     "175.45.178.0/24", "175.45.179.0/24" };

/* pyasn IPASN format: "prefix<TAB>asn" lines, ';' comments (gzip or plain). */
static int table_load_pyasn(const char *path, struct table *all)
{
	gzFile g = gzopen(path, "rb");
	if (!g)
		return -1;
	char line[256];
	long lineno = 0, bad = 0;
	while (gzgets(g, line, sizeof line)) {
		lineno++;
		if (line[0] == ';' || line[0] == '#' || line[0] == '\n')
			continue;
		char *tab = strpbrk(line, "\t ");
		if (!tab) {
			bad++;
			continue;
		}
		*tab = 0;
		char *end;
		unsigned long asn = strtoul(tab + 1, &end, 10);
		struct dm_prefix p;
		if (dm_prefix_parse(line, &p) || end == tab + 1 || asn == 0 || asn > UINT32_MAX) {
			if (bad++ < 5)
				fprintf(stderr, "darkmap scenario: %s: line %ld: not prefix<TAB>asn, skipped\n",
				        path, lineno);
			continue;
		}
		dm_prefix_mask(&p);
		table_add(all, &p, (uint32_t)asn);
	}
	int zerr;
	const char *msg = gzerror(g, &zerr);
	gzclose(g);
	if (zerr != Z_OK && zerr != Z_STREAM_END) {
		fprintf(stderr, "darkmap scenario: %s: read error after line %ld: %s\n", path, lineno,
		        msg);
		return -1;
	}
	if (bad)
		fprintf(stderr, "darkmap scenario: %s: %ld malformed lines skipped\n", path, bad);
	return 0;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* ASNs whose pyasn name ends in ", CC" for one of the listed countries. */
static int asnames_by_country(const char *path, const char *countries, uint32_t **out, size_t *n)
{
	gzFile g = gzopen(path, "rb");
	if (!g)
		return -1;
	size_t cap = 1 << 22, len = 0;
	char *buf = xrealloc(NULL, cap);
	int k;
	while ((k = gzread(g, buf + len, (unsigned)(cap - len))) > 0) {
		len += (size_t)k;
		if (len == cap)
			buf = xrealloc(buf, cap *= 2);
	}
	gzclose(g);
	json_error_t jerr;
	json_t *root = json_loadb(buf, len, 0, &jerr);
	free(buf);
	if (!root || !json_is_object(root)) {
		fprintf(stderr, "darkmap scenario: %s: line %d: %s\n", path, jerr.line, jerr.text);
		json_decref(root);
		return -1;
	}
	size_t c = 0;
	uint32_t *v = xrealloc(NULL, json_object_size(root) * sizeof *v + 1);
	const char *key;
	json_t *val;
	json_object_foreach(root, key, val) {
		const char *s = json_string_value(val);
		if (!s)
			continue;
		size_t sl = strlen(s);
		if (sl < 4 || s[sl - 4] != ',' || s[sl - 3] != ' ')
			continue;
		const char *cc = s + sl - 2;
		for (const char *p = countries; *p;) {
			size_t w = strcspn(p, ",");
			if (w == 2 && p[0] == cc[0] && p[1] == cc[1]) {
				v[c++] = (uint32_t)strtoul(key, NULL, 10);
				break;
			}
			p += w;
			if (*p == ',')
				p++;
		}
	}
	json_decref(root);
	qsort(v, c, sizeof *v, u32_cmp);
	*out = v;
	*n = c;
	return 0;
}

/* Generated world table: prefixes of public IPv4 space, lengths distributed roughly as in a
 * 2014 table (over half /24), origins from a pool of ASNs with a skewed size distribution. */
static int reserved4(uint32_t a)
{
	uint8_t o = (uint8_t)(a >> 24);
	return o == 0 || o == 10 || o == 127 || o >= 224 || (a & 0xffc00000u) == 0x64400000u ||
	       (a & 0xffff0000u) == 0xa9fe0000u || (a & 0xfff00000u) == 0xac100000u ||
	       (a & 0xffff0000u) == 0xc0a80000u || (a & 0xffffff00u) == 0xc0000200u ||
	       (a & 0xffffff00u) == 0xc6336400u || (a & 0xffffff00u) == 0xcb007100u ||
	       (a & 0xfffffc00u) == 0xaf2db000u; /* KP's 175.45.176.0/22 is added apart */
}

static void table_generate(struct table *t, uint32_t n, uint64_t *rng)
{
	static const uint8_t lens[] = { 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 23, 23, 22,
	                                22, 22, 21, 20, 20, 19, 18, 17, 16, 16 };
	enum { POOL = 3000 };
	uint32_t pool[POOL];
	for (int i = 0; i < POOL; i++)
		pool[i] = i % 4 == 3 ? 131072 + rng_below(rng, 80000) : 1000 + rng_below(rng, 60000);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t a;
		do
			a = (uint32_t)(rng_next(rng) >> 32);
		while (reserved4(a));
		uint8_t len = lens[rng_below(rng, sizeof lens)];
		a &= len ? ~0u << (32 - len) : 0;
		if (reserved4(a))
			continue;
		struct dm_prefix p = { .afi = DM_AFI_IPV4, .len = len,
		                       .b = { (uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8),
		                              (uint8_t)a } };
		/* skew: squaring a uniform number favours the low pool indices (big ASes) */
		double u = rng_unit(rng);
		table_add(t, &p, pool[(uint32_t)(u * u * POOL) % POOL]);
	}
}

/* ---- peers and collectors --------------------------------------------------------------- */

/* Real full-feed ASNs of the period; 3856 (PCH) first, whose path to KP is the real one in
 * updates.et-header.2015.gz: 3856 2914 1239 4837 131279. */
static const uint32_t peer_asns[] = {
	3856, 3356, 2914, 1299, 174, 3257, 6939, 6453, 3491, 1239, 7018, 701, 6461, 2828,
	4637, 7660, 3130, 293, 1221, 37100, 20912, 8492, 13030, 9002, 6762, 3549, 5511, 6830,
	22652, 31019, 34224, 47692, 3333, 12956, 1273, 4826, 7575, 2497, 2152, 3303,
};
enum { MAX_PEERS = sizeof peer_asns / sizeof peer_asns[0], MAX_PATH = 8 };

static const uint32_t tier1[] = { 3356, 1299, 174, 2914, 3257, 6453, 3491, 6762, 1239, 701, 7018, 6461 };
static const uint32_t regional[] = { 4134, 4837, 3320, 9002, 6830, 12389, 3216, 7473, 4755,
                                     9498, 1273, 3549, 6939, 20485, 8359, 5511, 7922, 4766 };

struct collector {
	const char *name;
	int rv_layout;            /* RouteViews folders and bz2; else RIS folders and gz */
	int interval;             /* update file length, seconds */
	uint32_t local_as;
	struct dm_ip ip;
	uint16_t first, npeers;   /* peers [first, first + npeers) */
	struct mrt_writer *w;     /* current update file, NULL inside the gap */
	char wpath[PATH_MAX];
	int64_t cur;              /* start of the current interval */
	int64_t gap_start, gap_end;
	int started;
	uint64_t files, records, gap_files, ribs;
};

struct speer {
	struct mrt_peer mp;
	int coll;
	uint16_t index;           /* in its collector's PEER_INDEX_TABLE */
	struct mrt_session s;
	uint32_t kp_path[MAX_PATH];
	uint8_t kp_len;
	int down;
};

/* AS path from peer to origin for path variant v: peer, a transit, the origin's upstream,
 * origin; v 1 and 3 pick other transits, v 2 prepends the origin once. Repeated ASNs are
 * dropped so a path never loops. */
static int path_for(const struct speer *p, uint32_t origin, int v, uint32_t *out)
{
	uint32_t cand[5];
	int n = 0;
	uint64_t h = mix64((uint64_t)origin * 0x100000001b3ull);
	uint32_t up = regional[h % (sizeof regional / sizeof regional[0])];
	uint32_t tr = tier1[mix64(h ^ p->mp.asn ^ (uint64_t)(v == 2 ? 0 : v) << 40) %
	                    (sizeof tier1 / sizeof tier1[0])];
	cand[n++] = p->mp.asn;
	cand[n++] = tr;
	if (h % 3)                         /* a third of origins buy transit from a tier 1 directly */
		cand[n++] = up;
	cand[n++] = origin;
	int m = 0;
	for (int i = 0; i < n; i++) {
		int dup = 0;
		for (int k = 0; k < m; k++)
			dup |= out[k] == cand[i];
		if (!dup)
			out[m++] = cand[i];
	}
	if (v == 2 && out[m - 1] == origin && m < MAX_PATH)
		out[m++] = origin;
	return m;
}

static void kp_path_init(struct speer *p)
{
	uint32_t a = p->mp.asn;
	int n = 0;
	p->kp_path[n++] = a;
	if (a == 3856) {                   /* the real path seen from PCH (updates.et-header.2015) */
		p->kp_path[n++] = 2914;
		p->kp_path[n++] = 1239;
	} else {
		int direct = 0;          /* tier 1s of the list peer with China Unicom directly */
		static const uint32_t cu_peers[] = { 3356, 1299, 174, 2914, 3257, 6453, 3491, 1239,
		                                     701, 7018, 6461, 6762 };
		for (size_t i = 0; i < sizeof cu_peers / sizeof cu_peers[0]; i++)
			direct |= cu_peers[i] == a;
		if (!direct) {
			uint32_t t = cu_peers[mix64(a) % 8];
			p->kp_path[n++] = t;
		}
	}
	p->kp_path[n++] = KP_UPSTREAM;
	p->kp_path[n++] = KP_ORIGIN;
	p->kp_len = (uint8_t)n;
}

/* Attributes of one route, built in caller-provided storage. */
struct route_attrs {
	struct bgp_attrs a;
	struct as_seg seg;
	uint32_t asn[MAX_PATH];
	uint8_t comm[4];
};

static void route_attrs(struct route_attrs *r, const struct speer *p, const struct tprefix *x,
                        int variant)
{
	memset(&r->a, 0, sizeof r->a);
	int n;
	if (x->kp) {
		memcpy(r->asn, p->kp_path, p->kp_len * sizeof(uint32_t));
		n = p->kp_len;
	} else {
		n = path_for(p, x->origin, variant, r->asn);
	}
	r->seg.type = AS_SEQUENCE;
	r->seg.count = (uint8_t)n;
	r->seg.asn = r->asn;
	r->a.present = BGP_ATTR_BIT(BGP_ATTR_ORIGIN) | BGP_ATTR_BIT(BGP_ATTR_AS_PATH) |
	               BGP_ATTR_BIT(BGP_ATTR_NEXT_HOP) | BGP_ATTR_BIT(BGP_ATTR_MULTI_EXIT_DISC);
	/* KP's routes carry ORIGIN INCOMPLETE, as in the real 2015 record. */
	r->a.origin = x->kp ? BGP_ORIGIN_INCOMPLETE : BGP_ORIGIN_IGP;
	r->a.as_path.seg = &r->seg;
	r->a.as_path.nseg = 1;
	r->a.as_path.asn_size = 4;
	r->a.next_hop = p->mp.addr;
	r->a.med = 0;
	if (p->mp.asn <= 0xffff) {          /* RFC 1997 communities: 2-byte ASN:value */
		uint16_t val = (uint16_t)(x->kp ? 50800 : 1000 + variant);
		r->comm[0] = (uint8_t)(p->mp.asn >> 8);
		r->comm[1] = (uint8_t)p->mp.asn;
		r->comm[2] = (uint8_t)(val >> 8);
		r->comm[3] = (uint8_t)val;
		r->a.communities = r->comm;
		r->a.n_communities = 1;
		r->a.present |= BGP_ATTR_BIT(BGP_ATTR_COMMUNITIES);
	}
}

/* ---- events ----------------------------------------------------------------------------- */

enum ev_kind { EV_WITHDRAW, EV_ANNOUNCE, EV_KP_DOWN, EV_KP_UP, EV_PEER_DOWN, EV_PEER_UP };

struct ev {
	int64_t ts;
	uint32_t usec;
	uint32_t seq;
	uint32_t pfx;
	uint16_t peer;
	uint8_t kind, variant;
};

struct evlist {
	struct ev *v;
	size_t n, cap;
};

static void ev_add(struct evlist *l, int64_t ts, uint32_t usec, enum ev_kind kind, uint16_t peer,
                   uint32_t pfx, uint8_t variant)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 65536;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	struct ev *e = &l->v[l->n];
	e->ts = ts;
	e->usec = usec;
	e->seq = (uint32_t)l->n;
	e->kind = (uint8_t)kind;
	e->peer = peer;
	e->pfx = pfx;
	e->variant = variant;
	l->n++;
}

static int ev_cmp(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->usec != y->usec)
		return x->usec < y->usec ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ---- ground truth ----------------------------------------------------------------------- */

struct truth_row {
	int64_t start, end;
	char kind[16];
	char collector[32];
	char peer[64];
	char entity[32];
	char note[200];
};

struct truth {
	struct truth_row *v;
	size_t n, cap;
};

static struct truth_row *truth_add(struct truth *t, const char *kind, int64_t start, int64_t end)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->v = xrealloc(t->v, t->cap * sizeof *t->v);
	}
	struct truth_row *r = &t->v[t->n++];
	memset(r, 0, sizeof *r);
	snprintf(r->kind, sizeof r->kind, "%s", kind);
	r->start = start;
	r->end = end;
	snprintf(r->collector, sizeof r->collector, "all");
	snprintf(r->peer, sizeof r->peer, "all");
	snprintf(r->entity, sizeof r->entity, "-");
	return r;
}

static int truth_cmp(const void *a, const void *b)
{
	const struct truth_row *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return strcmp(x->kind, y->kind);
}

/* ---- options ---------------------------------------------------------------------------- */

struct opts {
	const char *out, *table, *asnames, *timeline, *countries;
	int peers;
	int64_t from, to;
	uint64_t seed;
	long sample, world;
	int all, force;
	int ris_interval;          /* minutes */
	int rib_every;             /* hours between RIB dumps after the first; 0: only at --from */
	double churn;              /* background events per hour */
};

static void usage(FILE *f)
{
	fputs("usage: darkmap scenario nk-2014 --out DIR [options]\n"
	      "       darkmap scenario selftest --out DIR\n\n"
	      "Writes MRT archives (TABLE_DUMP_V2 RIB, BGP4MP_ET updates) of simulated full-feed\n"
	      "peers at two collectors, playing the North Korea December 2014 timeline\n"
	      "(data/scenarios/nk-2014.tsv) with background noise, and DIR/truth.tsv.\n\n"
	      "  --out DIR          output directory (created; refused if it holds a scenario)\n"
	      "  --table FILE       prefix->origin table, pyasn IPASN format (.gz or plain),\n"
	      "                     e.g. ../shared/data/asn/ipasn_20140513.dat.gz;\n"
	      "                     default: a generated world table (--world N prefixes)\n"
	      "  --asnames FILE     pyasn asnames.json(.gz) to pick --countries' ASes\n"
	      "                     (default: asnames.json.gz beside --table)\n"
	      "  --countries LIST   take every prefix of these countries' ASes\n"
	      "                     (default KP,YE,AF,TW,SY,IR,CU,MM,NP,MN,IQ,LY)\n"
	      "  --sample N         plus N other prefixes drawn at random (default 10000)\n"
	      "  --all              every prefix of --table\n"
	      "  --world N          size of the generated table without --table (default 20000)\n"
	      "  --peers N          simulated full-feed peers, half per collector (default 24, max 40)\n"
	      "  --from T, --to T   span, UTC (default 2014-12-12T00:00Z .. 2014-12-29T00:00Z)\n"
	      "  --seed S           random seed (default 1): same seed, same bytes\n"
	      "  --churn N          background events per hour (default 400)\n"
	      "  --ris-interval M   minutes per RIS-like update file: 5 (default) or 15\n"
	      "  --rib-every H      also dump RIBs every H hours (RouteViews: 2, RIS: 8);\n"
	      "                     default 0: one RIB per collector, at --from\n"
	      "  --timeline FILE    timeline (default data/scenarios/nk-2014.tsv)\n"
	      "  --force            write into a DIR that holds a scenario (old files stay)\n", f);
}

/* ---- output ----------------------------------------------------------------------------- */

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0755) && errno != EEXIST)
		return -1;
	return 0;
}

/* A directory holds a scenario when it has our truth file or collector trees: writing into it
 * would mix two runs' files, which a directory walker could not tell apart. */
static int holds_scenario(const char *dir)
{
	static const char *const marks[] = { "truth.tsv", "route-views.sim", "rrc.sim" };
	char path[PATH_MAX];
	for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, marks[i]);
		if (access(path, F_OK) == 0)
			return 1;
	}
	return 0;
}

/* DIR/route-views.sim/bgpdata/2014.12/UPDATES/updates.20141222.1615.bz2,
 * DIR/rrc.sim/2014.12/updates.20141222.1615.gz (rib: RIBS/rib.*.bz2, bview.*.gz). */
static void coll_path(const struct opts *o, const struct collector *c, int64_t t, int rib,
                      char *buf, size_t n)
{
	char month[16], stamp[32];
	fmt_stamp(t, "%Y.%m", month, sizeof month);
	fmt_stamp(t, "%Y%m%d.%H%M", stamp, sizeof stamp);
	if (c->rv_layout)
		snprintf(buf, n, "%s/%s/bgpdata/%s/%s/%s.%s.bz2", o->out, c->name, month,
		         rib ? "RIBS" : "UPDATES", rib ? "rib" : "updates", stamp);
	else
		snprintf(buf, n, "%s/%s/%s/%s.%s.gz", o->out, c->name, month, rib ? "bview" : "updates",
		         stamp);
}

static struct mrt_writer *open_out(const char *path)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = 0;
		if (mkdir_p(dir)) {
			fprintf(stderr, "darkmap scenario: %s: cannot create: %s\n", dir, strerror(errno));
			return NULL;
		}
	}
	struct dm_error err;
	struct mrt_writer *w = mrt_writer_open(path, &err);
	if (!w)
		fprintf(stderr, "darkmap scenario: %s\n", err.what);
	return w;
}

static int close_out(struct mrt_writer *w)
{
	struct dm_error err;
	if (mrt_writer_close(w, &err)) {
		fprintf(stderr, "darkmap scenario: %s\n", err.what);
		return -1;
	}
	return 0;
}

struct gen {
	struct opts *o;
	struct table t;
	uint32_t kp[KP_NPREFIX];
	struct speer *peer;
	int npeers;
	struct collector coll[2];
	uint8_t *st;              /* st[peer * t.n + prefix]: 0 withdrawn, 1 + path variant */
	int failed;
	uint64_t updates_written, withdrawals_written, announcements_written;
	int64_t reset_table_done;
	uint32_t reset_prefixes;
};

static int write_rib(struct gen *g, struct collector *c, int64_t ts);

/* Opens the update file of interval c->cur (none inside the gap), after the periodic RIB dump
 * due at that time, if any: it shows the state before the interval's first update. */
static int coll_open(struct gen *g, struct collector *c)
{
	if (c->cur >= c->gap_start && c->cur < c->gap_end) {
		c->gap_files++;
		return 0;
	}
	int64_t every = (int64_t)g->o->rib_every * 3600;
	if (every && c->cur > g->o->from && (c->cur - g->o->from) % every == 0 &&
	    write_rib(g, c, c->cur))
		return -1;
	coll_path(g->o, c, c->cur, 0, c->wpath, sizeof c->wpath);
	c->w = open_out(c->wpath);
	if (!c->w)
		return -1;
	c->files++;
	return 0;
}

/* Moves collector c to the interval holding ts: every interval passed gets its file, empty or
 * not, so a missing file means a gap and not a quiet quarter hour. ts = --to closes the last. */
static int coll_advance(struct gen *g, struct collector *c, int64_t ts)
{
	if (!c->started) {
		c->started = 1;
		c->cur = g->o->from;
		if (coll_open(g, c))
			return -1;
	}
	while (c->cur < g->o->to && ts >= c->cur + c->interval) {
		if (c->w && close_out(c->w))
			g->failed = 1;
		c->w = NULL;
		c->cur += c->interval;
		if (c->cur < g->o->to && coll_open(g, c))
			return -1;
	}
	return 0;
}

static void write_update(struct gen *g, struct speer *p, int64_t ts, uint32_t usec,
                         const struct bgp_update *u)
{
	struct collector *c = &g->coll[p->coll];
	if (!c->w)                      /* inside the collector gap: nothing recorded */
		return;
	struct dm_error err;
	if (mrt_write_update(c->w, (uint32_t)ts, usec, &p->s, u, &err)) {
		fprintf(stderr, "darkmap scenario: %s: %s\n", c->wpath, err.what);
		g->failed = 1;
		return;
	}
	c->records++;
	g->updates_written++;
}

static void write_state(struct gen *g, struct speer *p, int64_t ts, uint32_t usec, int from,
                        int to)
{
	struct collector *c = &g->coll[p->coll];
	if (!c->w)
		return;
	struct dm_error err;
	if (mrt_write_state(c->w, (uint32_t)ts, usec, &p->s, (uint16_t)from, (uint16_t)to, &err)) {
		fprintf(stderr, "darkmap scenario: %s: %s\n", c->wpath, err.what);
		g->failed = 1;
		return;
	}
	c->records++;
}

/* Announces prefixes idx[0..n) (same attributes) in UPDATEs of at most 400 prefixes. */
static void announce(struct gen *g, struct speer *p, int64_t ts, uint32_t usec,
                     const uint32_t *idx, uint32_t n, int variant)
{
	struct route_attrs ra;
	route_attrs(&ra, p, &g->t.v[idx[0]], variant);
	struct dm_prefix pfx[400];
	for (uint32_t i = 0; i < n;) {
		uint32_t k = 0;
		for (; k < 400 && i < n; k++, i++)
			pfx[k] = g->t.v[idx[i]].p;
		struct bgp_update u;
		memset(&u, 0, sizeof u);
		u.attrs = ra.a;
		u.announced.pfx = pfx;
		u.announced.n = k;
		write_update(g, p, ts, usec, &u);
		g->announcements_written += g->coll[p->coll].w ? k : 0;
	}
}

static void withdraw(struct gen *g, struct speer *p, int64_t ts, uint32_t usec,
                     const uint32_t *idx, uint32_t n)
{
	struct dm_prefix pfx[KP_NPREFIX];
	struct bgp_update u;
	memset(&u, 0, sizeof u);
	for (uint32_t i = 0; i < n && i < KP_NPREFIX; i++)
		pfx[i] = g->t.v[idx[i]].p;
	u.withdrawn.pfx = pfx;
	u.withdrawn.n = n < KP_NPREFIX ? n : KP_NPREFIX;
	write_update(g, p, ts, usec, &u);
	g->withdrawals_written += g->coll[p->coll].w ? u.withdrawn.n : 0;
}

/* Session comes back: FSM states as a collector logs them (real STATE_CHANGE sequence in
 * updates.et-header.2015: 1->2, 2->4, 4->5, then 5->6), then the peer's whole table, in runs of
 * prefixes sharing attributes. */
static void peer_up(struct gen *g, struct speer *p, int64_t ts)
{
	static const int fsm[][2] = { { 1, 2 }, { 2, 4 }, { 4, 5 }, { 5, 6 } };
	for (int i = 0; i < 4; i++)
		write_state(g, p, ts, (uint32_t)(1000 + i * 25000), fsm[i][0], fsm[i][1]);
	p->down = 0;
	uint8_t *st = g->st + (size_t)(p - g->peer) * g->t.n;
	uint32_t *run = xcalloc(400, sizeof *run);
	uint32_t nrun = 0, sent = 0;
	for (uint32_t x = 0; x <= g->t.n; x++) {
		int flush = x == g->t.n || nrun == 400 ||
		            (nrun && (st[x] != st[run[0]] || g->t.v[x].origin != g->t.v[run[0]].origin ||
		                      g->t.v[x].kp != g->t.v[run[0]].kp));
		if (flush && nrun) {
			/* the transfer takes about a second per 20k prefixes */
			int64_t t = ts + 1 + sent / 20000;
			announce(g, p, t, (uint32_t)(sent % 20000) * 49, run, nrun, st[run[0]] - 1);
			sent += nrun;
			nrun = 0;
		}
		if (x < g->t.n && st[x])
			run[nrun++] = x;
	}
	free(run);
	g->reset_table_done = ts + 1 + sent / 20000;
	g->reset_prefixes = sent;
}

static void play(struct gen *g, const struct ev *e)
{
	struct speer *p = &g->peer[e->peer];
	uint8_t *st = g->st + (size_t)e->peer * g->t.n;
	switch (e->kind) {
	case EV_WITHDRAW:
		if (!st[e->pfx])
			return;
		st[e->pfx] = 0;
		if (!p->down)
			withdraw(g, p, e->ts, e->usec, &e->pfx, 1);
		return;
	case EV_ANNOUNCE:
		if (st[e->pfx] == e->variant + 1)
			return;
		st[e->pfx] = (uint8_t)(e->variant + 1);
		if (!p->down)
			announce(g, p, e->ts, e->usec, &e->pfx, 1, e->variant);
		return;
	case EV_KP_DOWN:
		for (int i = 0; i < KP_NPREFIX; i++)
			st[g->kp[i]] = 0;
		if (!p->down)
			withdraw(g, p, e->ts, e->usec, g->kp, KP_NPREFIX);
		return;
	case EV_KP_UP:
		for (int i = 0; i < KP_NPREFIX; i++)
			st[g->kp[i]] = 1;
		if (!p->down)
			announce(g, p, e->ts, e->usec, g->kp, KP_NPREFIX, 0);
		return;
	case EV_PEER_DOWN:
		write_state(g, p, e->ts, e->usec, 6, 1);   /* Established -> Idle */
		p->down = 1;
		return;
	case EV_PEER_UP:
		peer_up(g, p, e->ts);
		return;
	}
}

static int write_rib(struct gen *g, struct collector *c, int64_t when)
{
	char path[PATH_MAX];
	coll_path(g->o, c, when, 1, path, sizeof path);
	struct mrt_writer *w = open_out(path);
	if (!w)
		return -1;
	struct mrt_peer_index pi;
	memset(&pi, 0, sizeof pi);
	pi.collector_id = dm_ip4(&c->ip);
	pi.npeers = c->npeers;
	struct mrt_peer mp[MAX_PEERS];
	for (int i = 0; i < c->npeers; i++)
		mp[i] = g->peer[c->first + i].mp;
	pi.peers = mp;
	struct dm_error err;
	uint32_t ts = (uint32_t)when;
	int rc = mrt_write_peer_index(w, ts, &pi, &err);
	struct mrt_rib_entry e[MAX_PEERS];
	struct route_attrs ra[MAX_PEERS];
	uint32_t seq = 0;
	for (uint32_t x = 0; x < g->t.n && !rc; x++) {
		uint16_t n = 0;
		for (int i = 0; i < c->npeers; i++) {
			struct speer *p = &g->peer[c->first + i];
			uint8_t s = g->st[(size_t)(c->first + i) * g->t.n + x];
			if (!s || p->down)
				continue;
			route_attrs(&ra[n], p, &g->t.v[x], s - 1);
			memset(&e[n], 0, sizeof e[n]);
			e[n].peer_index = (uint16_t)i;
			/* when the route was learnt: some time in the 30 days before the dump */
			e[n].originated = ts - 3600 - (uint32_t)(mix64(x * 131u + i) % (30 * 86400));
			e[n].attrs = ra[n].a;     /* its pointers point into ra[n], alive until written */
			n++;
		}
		if (!n)
			continue;
		struct mrt_rib rib = { .seq = seq++, .prefix = g->t.v[x].p, .n = n, .e = e };
		rc = mrt_write_rib(w, ts, &rib, &err);
	}
	if (rc)
		fprintf(stderr, "darkmap scenario: %s: %s\n", path, err.what);
	if (close_out(w))
		rc = -1;
	if (!c->ribs++)                   /* the first; the periodic ones are counted */
		printf("rib\t%s\tpeers=%u\tprefixes=%u\trecords=%llu\n", path, c->npeers, seq,
		       (unsigned long long)seq + 1);
	return rc;
}

/* ---- nk-2014 ---------------------------------------------------------------------------- */

static int find_timeline_target_peer(struct gen *g, const char *target)
{
	/* "collector/index" */
	const char *slash = strchr(target, '/');
	if (!slash)
		return -1;
	for (int c = 0; c < 2; c++) {
		size_t n = strlen(g->coll[c].name);
		if ((size_t)(slash - target) == n && !strncmp(target, g->coll[c].name, n)) {
			int i = atoi(slash + 1);
			if (i < 0 || g->coll[c].npeers == 0)
				return -1;
			if (i >= g->coll[c].npeers)
				i = g->coll[c].npeers - 1;
			return g->coll[c].first + i;
		}
	}
	return -1;
}

static int run_nk2014(struct opts *o)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct gen g;
	memset(&g, 0, sizeof g);
	g.o = o;
	/* Separate streams: the flap times depend on --seed alone, not on the table or peers. */
	uint64_t rng = mix64(o->seed ^ 0x6e6b32303134ull);   /* table sample, churn ("nk2014") */
	uint64_t rng_flap = mix64(o->seed ^ 0x666c617073ull); /* flaps ("flaps") */

	struct timeline tl;
	memset(&tl, 0, sizeof tl);
	char tlpath[PATH_MAX];
	if (o->timeline)
		snprintf(tlpath, sizeof tlpath, "%s", o->timeline);
	else if (timeline_find("nk-2014", tlpath, sizeof tlpath)) {
		fputs("darkmap scenario: data/scenarios/nk-2014.tsv not found (run from the source "
		      "tree or give --timeline FILE)\n", stderr);
		return EXIT_USAGE;
	}
	int rc = timeline_load(tlpath, &tl);
	if (rc) {
		if (rc == -1)
			fprintf(stderr, "darkmap scenario: %s: %s\n", tlpath, strerror(errno));
		free(tl.row);
		return EXIT_USAGE;
	}

	/* The table. */
	struct table all;
	memset(&all, 0, sizeof all);
	const char *source;
	char srcbuf[PATH_MAX + 64];
	if (o->table) {
		if (table_load_pyasn(o->table, &all)) {
			fprintf(stderr, "darkmap scenario: %s: cannot read\n", o->table);
			free(tl.row);
			return EXIT_USAGE;
		}
		uint32_t *cc_asns = NULL;
		size_t ncc = 0;
		if (!o->all) {
			char def[PATH_MAX];
			const char *an = o->asnames;
			if (!an) {
				snprintf(def, sizeof def, "%s", o->table);
				char *slash = strrchr(def, '/');
				snprintf(slash ? slash + 1 : def, sizeof def - (size_t)(slash ? slash + 1 - def : 0),
				         "asnames.json.gz");
				an = def;
			}
			if (asnames_by_country(an, o->countries, &cc_asns, &ncc))
				fprintf(stderr, "darkmap scenario: %s: cannot read AS names; only the random "
				        "sample and KP are taken\n", an);
		}
		/* Keep: KP, the countries' prefixes, and a uniform sample of the rest (Knuth's
		 * selection sampling: exactly --sample of them, in table order). */
		uint32_t rest = 0;
		uint8_t *keep = xcalloc(all.n, 1);
		for (uint32_t i = 0; i < all.n; i++) {
			uint32_t a = all.v[i].origin;
			keep[i] = o->all || a == KP_ORIGIN ||
			          (ncc && bsearch(&a, cc_asns, ncc, sizeof a, u32_cmp));
			rest += !keep[i];
		}
		long want = o->sample < (long)rest ? o->sample : (long)rest;
		uint32_t seen = 0;
		for (uint32_t i = 0; i < all.n; i++) {
			if (keep[i])
				continue;
			if ((double)(rest - seen) * rng_unit(&rng) < (double)want) {
				keep[i] = 2;
				want--;
			}
			seen++;
		}
		for (uint32_t i = 0; i < all.n; i++)
			if (keep[i] && all.v[i].p.afi == DM_AFI_IPV4)
				table_add(&g.t, &all.v[i].p, all.v[i].origin);
		free(keep);
		free(cc_asns);
		if (o->all)
			snprintf(srcbuf, sizeof srcbuf, "%s (%u prefixes, all taken)", o->table, all.n);
		else
			snprintf(srcbuf, sizeof srcbuf, "%s (%u prefixes; countries %s + sample %ld)",
			         o->table, all.n, o->countries, o->sample);
		source = srcbuf;
	} else {
		table_generate(&g.t, (uint32_t)o->world, &rng);
		snprintf(srcbuf, sizeof srcbuf, "generated world table (%ld prefixes asked)", o->world);
		source = srcbuf;
	}
	free(all.v);
	/* KP's four /24s, whether or not the table had them. */
	for (int i = 0; i < KP_NPREFIX; i++) {
		struct dm_prefix p;
		dm_prefix_parse(kp_prefixes[i], &p);
		table_add(&g.t, &p, KP_ORIGIN);
	}
	qsort(g.t.v, g.t.n, sizeof *g.t.v, prefix_cmp);
	uint32_t m = 0;                    /* dedupe (prefix) keeping the first origin */
	for (uint32_t i = 0; i < g.t.n; i++)
		if (!m || prefix_cmp(&g.t.v[m - 1], &g.t.v[i]))
			g.t.v[m++] = g.t.v[i];
	g.t.n = m;
	int nkp = 0;
	for (uint32_t i = 0; i < g.t.n; i++)
		for (int k = 0; k < KP_NPREFIX; k++) {
			struct dm_prefix p;
			dm_prefix_parse(kp_prefixes[k], &p);
			if (g.t.v[i].p.len == p.len && !memcmp(g.t.v[i].p.b, p.b, 4)) {
				g.t.v[i].kp = 1;
				g.t.v[i].origin = KP_ORIGIN;
				g.kp[nkp++] = i;
			}
		}

	/* Peers and collectors. */
	g.npeers = o->peers;
	g.peer = xcalloc((size_t)g.npeers, sizeof *g.peer);
	g.coll[0] = (struct collector){ .name = "route-views.sim", .rv_layout = 1, .interval = 900,
	                                 .local_as = 6447 };
	g.coll[1] = (struct collector){ .name = "rrc.sim", .rv_layout = 0,
	                                 .interval = o->ris_interval * 60, .local_as = 12654 };
	dm_ip_parse("192.0.2.1", &g.coll[0].ip);
	dm_ip_parse("198.51.100.1", &g.coll[1].ip);
	g.coll[0].first = 0;
	g.coll[0].npeers = (uint16_t)((g.npeers + 1) / 2);
	g.coll[1].first = g.coll[0].npeers;
	g.coll[1].npeers = (uint16_t)(g.npeers - g.coll[0].npeers);
	for (int i = 0; i < g.npeers; i++) {
		struct speer *p = &g.peer[i];
		p->coll = i < g.coll[0].npeers ? 0 : 1;
		struct collector *c = &g.coll[p->coll];
		p->index = (uint16_t)(i - c->first);
		p->mp.asn = peer_asns[i];
		/* documentation addresses (RFC 5737): 192.0.2.10+ at one, 198.51.100.10+ at the other */
		p->mp.addr = c->ip;
		p->mp.addr.b[3] = (uint8_t)(10 + p->index);
		p->mp.bgp_id = dm_ip4(&p->mp.addr);
		p->s.peer_as = p->mp.asn;
		p->s.local_as = c->local_as;
		p->s.afi = DM_AFI_IPV4;
		p->s.peer_ip = p->mp.addr;
		p->s.local_ip = c->ip;
		p->s.as4 = 1;
		kp_path_init(p);
	}
	g.st = xcalloc((size_t)g.npeers, g.t.n);
	memset(g.st, 1, (size_t)g.npeers * g.t.n);   /* full feed: every route, path variant 0 */

	/* Events. */
	struct evlist ev;
	memset(&ev, 0, sizeof ev);
	struct truth tr;
	memset(&tr, 0, sizeof tr);
	struct truth_row *r = truth_add(&tr, "scenario", o->from, o->to);
	snprintf(r->note, sizeof r->note, "seed=%llu peers=%d prefixes=%u kp_prefixes=%d",
	         (unsigned long long)o->seed, g.npeers, g.t.n, nkp);
	for (int c = 0; c < 2; c++)
		g.coll[c].gap_start = g.coll[c].gap_end = INT64_MIN;
	uint64_t nflaps = 0, noutages = 0;
	int left_out = 0;
	for (size_t i = 0; i < tl.n; i++) {
		struct tl_row *row = &tl.row[i];
		/* Rows that only overlap the span are kept: their events outside it are not
		 * written (a short span around one outage is a test case). */
		if (row->end <= o->from || row->start >= o->to) {
			left_out++;
			continue;
		}
		if (row->kind == TL_OUTAGE || row->kind == TL_INSTABILITY) {
			if (strcmp(row->target, "KP")) {
				fprintf(stderr, "darkmap scenario: %s: line %d: target %s unknown (KP only)\n",
				        tl.path, row->line, row->target);
				continue;
			}
		}
		switch (row->kind) {
		case TL_OUTAGE:
			for (int p = 0; p < g.npeers; p++) {
				/* same second at every peer, distinct microseconds (propagation) */
				uint32_t us = (uint32_t)(mix64((uint64_t)p * 7 + 1) % 900000);
				ev_add(&ev, row->start, us, EV_KP_DOWN, (uint16_t)p, 0, 0);
				ev_add(&ev, row->end, us, EV_KP_UP, (uint16_t)p, 0, 0);
			}
			r = truth_add(&tr, "outage", row->start, row->end);
			snprintf(r->entity, sizeof r->entity, "KP/AS131279");
			snprintf(r->note, sizeof r->note, "%s", row->note);
			noutages++;
			break;
		case TL_INSTABILITY: {
			r = truth_add(&tr, "instability", row->start, row->end);
			snprintf(r->entity, sizeof r->entity, "KP/AS131279");
			snprintf(r->note, sizeof r->note, "%s", row->note);
			/* Flaps: every peer withdraws KP, re-announces 2-6 min later; the pause between
			 * flaps shrinks from ~150 min to ~12 min across the window (+-30%). */
			int64_t t = row->start + rng_below(&rng_flap, 1800);
			for (;;) {
				int64_t down = 120 + rng_below(&rng_flap, 241);
				if (t + down + 300 > row->end)
					break;
				for (int p = 0; p < g.npeers; p++) {
					uint32_t us = (uint32_t)(mix64((uint64_t)p * 7 + 1) % 900000);
					ev_add(&ev, t, us, EV_KP_DOWN, (uint16_t)p, 0, 0);
					ev_add(&ev, t + down, us, EV_KP_UP, (uint16_t)p, 0, 0);
				}
				if (t + down > o->from && t < o->to) {   /* overlaps the span */
					r = truth_add(&tr, "flap", t, t + down);
					snprintf(r->entity, sizeof r->entity, "KP/AS131279");
					snprintf(r->note, sizeof r->note, "withdrawn at every peer, %lld s",
					         (long long)down);
					nflaps++;
				}
				double frac = (double)(t - row->start) / (double)(row->end - row->start);
				double pause = (150.0 + (12.0 - 150.0) * frac) * 60.0 *
				               (0.7 + 0.6 * rng_unit(&rng_flap));
				t += down + (int64_t)pause;
			}
			break;
		}
		case TL_PEER_RESET: {
			int p = find_timeline_target_peer(&g, row->target);
			if (p < 0) {
				fprintf(stderr, "darkmap scenario: %s: line %d: peer %s unknown\n", tl.path,
				        row->line, row->target);
				continue;
			}
			ev_add(&ev, row->start, 250000, EV_PEER_DOWN, (uint16_t)p, 0, 0);
			ev_add(&ev, row->end, 0, EV_PEER_UP, (uint16_t)p, 0, 0);
			r = truth_add(&tr, "peer_reset", row->start, row->end);
			snprintf(r->collector, sizeof r->collector, "%s", g.coll[g.peer[p].coll].name);
			char ip[DM_IP_STRLEN];
			dm_ip_fmt(&g.peer[p].mp.addr, ip);
			snprintf(r->peer, sizeof r->peer, "%s AS%u", ip, g.peer[p].mp.asn);
			snprintf(r->note, sizeof r->note, "%s", row->note);
			break;
		}
		case TL_COLLECTOR_GAP: {
			int c = !strcmp(row->target, g.coll[0].name) ? 0
			        : !strcmp(row->target, g.coll[1].name) ? 1 : -1;
			if (c < 0) {
				fprintf(stderr, "darkmap scenario: %s: line %d: collector %s unknown\n",
				        tl.path, row->line, row->target);
				continue;
			}
			g.coll[c].gap_start = row->start;
			g.coll[c].gap_end = row->end;
			r = truth_add(&tr, "collector_gap", row->start, row->end);
			snprintf(r->collector, sizeof r->collector, "%s", g.coll[c].name);
			snprintf(r->note, sizeof r->note, "%.140s; update files starting in [start, end) absent",
			         row->note);
			break;
		}
		}
	}
	if (left_out)
		fprintf(stderr, "darkmap scenario: %d rows of %s outside --from/--to left out\n",
		        left_out, tl.path);
	/* Background churn: one prefix at one peer, never KP: 60% withdraw and re-announce 1-45
	 * min later, 40% a path change (another path variant). */
	uint64_t nchurn = (uint64_t)(o->churn * (double)(o->to - o->from) / 3600.0);
	uint32_t nother = g.t.n - (uint32_t)nkp;
	for (uint64_t i = 0; i < nchurn && nother; i++) {
		int64_t t = o->from + (int64_t)(rng_unit(&rng) * (double)(o->to - o->from - 60));
		uint16_t p = (uint16_t)rng_below(&rng, (uint32_t)g.npeers);
		uint32_t x;
		do
			x = rng_below(&rng, g.t.n);
		while (g.t.v[x].kp);
		uint32_t us = rng_below(&rng, 1000000);
		if (rng_below(&rng, 10) < 6) {
			int64_t back = t + 60 + rng_below(&rng, 45 * 60 - 60);
			ev_add(&ev, t, us, EV_WITHDRAW, p, x, 0);
			if (back < o->to)
				ev_add(&ev, back, rng_below(&rng, 1000000), EV_ANNOUNCE, p, x,
				       (uint8_t)rng_below(&rng, 4));
		} else {
			ev_add(&ev, t, us, EV_ANNOUNCE, p, x, (uint8_t)rng_below(&rng, 4));
		}
	}
	qsort(ev.v, ev.n, sizeof *ev.v, ev_cmp);

	/* Write. */
	rc = 0;
	/* Events before --from shape the state the RIB shows (a span starting inside an outage
	 * dumps no KP routes); nothing is written for them: no file is open yet. */
	size_t first = 0;
	for (; first < ev.n && ev.v[first].ts < o->from; first++)
		play(&g, &ev.v[first]);
	for (int c = 0; c < 2 && !rc; c++) {
		if (!g.coll[c].npeers)
			continue;
		rc = write_rib(&g, &g.coll[c], o->from);
	}
	for (size_t i = first; i < ev.n && !rc && !g.failed; i++) {
		const struct ev *e = &ev.v[i];
		if (e->ts >= o->to)
			break;
		if (coll_advance(&g, &g.coll[g.peer[e->peer].coll], e->ts)) {
			rc = -1;
			break;
		}
		play(&g, e);
	}
	for (int c = 0; c < 2 && !rc; c++)
		if (g.coll[c].npeers && coll_advance(&g, &g.coll[c], o->to))
			rc = -1;
	for (int c = 0; c < 2; c++)
		if (g.coll[c].w) {
			close_out(g.coll[c].w);
			g.coll[c].w = NULL;
		}
	if (g.reset_table_done)
		for (size_t i = 0; i < tr.n; i++)
			if (!strcmp(tr.v[i].kind, "peer_reset")) {
				size_t l = strlen(tr.v[i].note);
				snprintf(tr.v[i].note + l, sizeof tr.v[i].note - l,
				         "; STATE_CHANGE 6->1 at start, 5->6 at end; table re-sent: %u "
				         "prefixes until %lld",
				         g.reset_prefixes, (long long)g.reset_table_done);
			}

	/* Ground truth and peers. */
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/truth.tsv", o->out);
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "darkmap scenario: %s: %s\n", path, strerror(errno));
		rc = -1;
	} else {
		qsort(tr.v, tr.n, sizeof *tr.v, truth_cmp);
		fprintf(f, "# darkmap scenario nk-2014 ground truth (timeline %s, seed %llu)\n"
		        "# times: UTC epoch seconds; end is the first second the condition is over\n"
		        "kind\tstart\tend\tstart_utc\tend_utc\tcollector\tpeer\tentity\tnote\n",
		        tl.path, (unsigned long long)o->seed);
		for (size_t i = 0; i < tr.n; i++) {
			char a[32], b[32];
			fmt_iso(tr.v[i].start, a, sizeof a);
			fmt_iso(tr.v[i].end, b, sizeof b);
			fprintf(f, "%s\t%lld\t%lld\t%s\t%s\t%s\t%s\t%s\t%s\n", tr.v[i].kind,
			        (long long)tr.v[i].start, (long long)tr.v[i].end, a, b, tr.v[i].collector,
			        tr.v[i].peer, tr.v[i].entity, tr.v[i].note);
		}
		if (fclose(f))
			rc = -1;
	}
	snprintf(path, sizeof path, "%s/peers.tsv", o->out);
	f = fopen(path, "w");
	if (f) {
		fputs("collector\tpeer_ip\tpeer_as\tpeer_index\tkp_path\n", f);
		for (int i = 0; i < g.npeers; i++) {
			char ip[DM_IP_STRLEN];
			dm_ip_fmt(&g.peer[i].mp.addr, ip);
			fprintf(f, "%s\t%s\t%u\t%u\t", g.coll[g.peer[i].coll].name, ip, g.peer[i].mp.asn,
			        g.peer[i].index);
			for (int k = 0; k < g.peer[i].kp_len; k++)
				fprintf(f, "%s%u", k ? " " : "", g.peer[i].kp_path[k]);
			fputc('\n', f);
		}
		if (fclose(f))
			rc = -1;
	} else {
		rc = -1;
	}

	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	char a[32], b[32];
	fmt_iso(o->from, a, sizeof a);
	fmt_iso(o->to, b, sizeof b);
	printf("scenario\tnk-2014\tfrom=%s\tto=%s\tseed=%llu\n", a, b, (unsigned long long)o->seed);
	printf("table\t%s\tprefixes=%u\tkp_prefixes=%d\n", source, g.t.n, nkp);
	for (int c = 0; c < 2; c++)
		printf("collector\t%s\tpeers=%u\tribs=%llu\tupdate_files=%llu\tinterval=%ds\t"
		       "gap_files=%llu\trecords=%llu\n",
		       g.coll[c].name, g.coll[c].npeers, (unsigned long long)g.coll[c].ribs,
		       (unsigned long long)g.coll[c].files,
		       g.coll[c].interval, (unsigned long long)g.coll[c].gap_files,
		       (unsigned long long)g.coll[c].records);
	printf("events\toutages=%llu\tflaps=%llu\tchurn=%llu\tupdates=%llu\tannounced=%llu\t"
	       "withdrawn=%llu\n",
	       (unsigned long long)noutages, (unsigned long long)nflaps,
	       (unsigned long long)nchurn, (unsigned long long)g.updates_written,
	       (unsigned long long)g.announcements_written, (unsigned long long)g.withdrawals_written);
	printf("truth\t%s/truth.tsv\trows=%zu\n", o->out, tr.n);
	printf("elapsed\t%.2fs\n", secs);

	free(ev.v);
	free(tr.v);
	free(tl.row);
	free(g.t.v);
	free(g.peer);
	free(g.st);
	return rc || g.failed ? EXIT_FAILURE_ : EXIT_OK;
}

/* ---- selftest: small files with known content for tests/golden/writer_bgpdump.sh -------- */

static int run_selftest(const struct opts *o)
{
	static const uint32_t ts = 1419264900;    /* 2014-12-22 16:15:00 UTC */
	struct mrt_peer peers[2];
	memset(peers, 0, sizeof peers);
	dm_ip_parse("192.0.2.10", &peers[0].addr);
	peers[0].asn = 3856;
	peers[0].bgp_id = 0xc000020a;
	dm_ip_parse("2001:db8::a", &peers[1].addr);
	peers[1].asn = 4200000001u;                 /* needs 4 bytes */
	peers[1].bgp_id = 0xc000020b;
	struct mrt_peer_index pi = { .collector_id = 0xc0000201, .view = "sim", .npeers = 2,
	                             .peers = peers };

	uint32_t kp[] = { 3856, 2914, 1239, 4837, 131279 };
	struct as_seg kseg = { .type = AS_SEQUENCE, .count = 5, .asn = kp };
	static const uint8_t comm[] = { 0x0f, 0x10, 0xc6, 0x70, 0xff, 0xff, 0xff, 0x01 };
	struct bgp_attrs ka;
	memset(&ka, 0, sizeof ka);
	ka.present = BGP_ATTR_BIT(BGP_ATTR_ORIGIN) | BGP_ATTR_BIT(BGP_ATTR_AS_PATH) |
	             BGP_ATTR_BIT(BGP_ATTR_NEXT_HOP) | BGP_ATTR_BIT(BGP_ATTR_MULTI_EXIT_DISC) |
	             BGP_ATTR_BIT(BGP_ATTR_LOCAL_PREF) | BGP_ATTR_BIT(BGP_ATTR_COMMUNITIES);
	ka.origin = BGP_ORIGIN_INCOMPLETE;
	ka.as_path.seg = &kseg;
	ka.as_path.nseg = 1;
	ka.next_hop = peers[0].addr;
	ka.med = 0;
	ka.local_pref = 100;
	ka.communities = comm;                      /* 3856:50800 and no-export */
	ka.n_communities = 2;

	uint32_t v6path[] = { 4200000001u, 6939 };
	uint32_t v6set[] = { 64496, 64497 };
	struct as_seg v6seg[2] = { { .type = AS_SEQUENCE, .count = 2, .asn = v6path },
	                           { .type = AS_SET, .count = 2, .asn = v6set } };
	struct bgp_attrs a6;
	memset(&a6, 0, sizeof a6);
	a6.present = BGP_ATTR_BIT(BGP_ATTR_ORIGIN) | BGP_ATTR_BIT(BGP_ATTR_AS_PATH) |
	             BGP_ATTR_BIT(BGP_ATTR_MULTI_EXIT_DISC) | BGP_ATTR_BIT(BGP_ATTR_MP_REACH_NLRI);
	a6.origin = BGP_ORIGIN_IGP;
	a6.as_path.seg = v6seg;
	a6.as_path.nseg = 2;
	a6.med = 42;
	a6.mp_reach.afi = DM_AFI_IPV6;
	a6.mp_reach.safi = DM_SAFI_UNICAST;
	dm_ip_parse("2001:db8::a", &a6.mp_reach.nexthop);

	char path[PATH_MAX];
	int rc = 0;
	struct dm_error err;
	if (mkdir_p(o->out)) {
		fprintf(stderr, "darkmap scenario: %s: %s\n", o->out, strerror(errno));
		return EXIT_FAILURE_;
	}

	/* RIB: peer index, KP /24 from peer 0, 2001:db8::/32 from peer 1. */
	snprintf(path, sizeof path, "%s/selftest.rib.bz2", o->out);
	struct mrt_writer *w = open_out(path);
	if (!w)
		return EXIT_FAILURE_;
	rc |= mrt_write_peer_index(w, ts, &pi, &err);
	struct mrt_rib_entry e;
	memset(&e, 0, sizeof e);
	e.peer_index = 0;
	e.originated = ts - 3600;
	e.attrs = ka;
	struct mrt_rib rib = { .seq = 0, .n = 1, .e = &e };
	dm_prefix_parse("175.45.176.0/24", &rib.prefix);
	rc |= mrt_write_rib(w, ts, &rib, &err);
	e.peer_index = 1;
	e.attrs = a6;
	rib.seq = 1;
	dm_prefix_parse("2001:db8::/32", &rib.prefix);
	rc |= mrt_write_rib(w, ts, &rib, &err);
	rc |= close_out(w);

	/* Updates (gzip, BGP4MP_ET): state change, announcement, withdrawal, IPv6 announce and
	 * withdraw; then the same withdrawal as plain BGP4MP (uncompressed file). */
	struct mrt_session s = { .peer_as = 3856, .local_as = 6447, .afi = DM_AFI_IPV4 };
	dm_ip_parse("192.0.2.10", &s.peer_ip);
	dm_ip_parse("192.0.2.1", &s.local_ip);
	struct mrt_session s6 = { .peer_as = 4200000001u, .local_as = 6447, .afi = DM_AFI_IPV6 };
	dm_ip_parse("2001:db8::a", &s6.peer_ip);
	dm_ip_parse("2001:db8::1", &s6.local_ip);
	struct dm_prefix kpp[4];
	for (int i = 0; i < 4; i++)
		dm_prefix_parse(kp_prefixes[i], &kpp[i]);
	struct dm_prefix p6a, p6w;
	dm_prefix_parse("2001:db8:1::/48", &p6a);
	dm_prefix_parse("2001:db8:2::/48", &p6w);

	for (int plain = 0; plain < 2; plain++) {
		snprintf(path, sizeof path, "%s/selftest.updates%s", o->out, plain ? "" : ".gz");
		w = open_out(path);
		if (!w)
			return EXIT_FAILURE_;
		mrt_writer_set_extended_time(w, !plain);
		rc |= mrt_write_state(w, ts, 1000, &s, 5, 6, &err);
		struct bgp_update u;
		memset(&u, 0, sizeof u);
		u.attrs = ka;
		u.announced.pfx = kpp;
		u.announced.n = 4;
		rc |= mrt_write_update(w, ts, 372152, &s, &u, &err);
		memset(&u, 0, sizeof u);
		u.withdrawn.pfx = kpp;
		u.withdrawn.n = 4;
		rc |= mrt_write_update(w, ts + 1, 5, &s, &u, &err);
		memset(&u, 0, sizeof u);
		u.attrs = a6;
		u.attrs.mp_reach.nlri.pfx = &p6a;
		u.attrs.mp_reach.nlri.n = 1;
		u.attrs.present |= BGP_ATTR_BIT(BGP_ATTR_MP_UNREACH_NLRI);
		u.attrs.mp_unreach.afi = DM_AFI_IPV6;
		u.attrs.mp_unreach.safi = DM_SAFI_UNICAST;
		u.attrs.mp_unreach.nlri.pfx = &p6w;
		u.attrs.mp_unreach.nlri.n = 1;
		rc |= mrt_write_update(w, ts + 2, 999999, &s6, &u, &err);
		rc |= mrt_write_state(w, ts + 3, 0, &s6, 6, 1, &err);
		rc |= close_out(w);
	}
	if (rc) {
		fprintf(stderr, "darkmap scenario selftest: %s\n", err.what);
		return EXIT_FAILURE_;
	}
	printf("selftest\t%s\tselftest.rib.bz2 selftest.updates.gz selftest.updates\n", o->out);
	return EXIT_OK;
}

int cmd_scenario(int argc, char **argv)
{
	struct opts o = {
		.countries = "KP,YE,AF,TW,SY,IR,CU,MM,NP,MN,IQ,LY",
		.peers = 24,
		.seed = 1,
		.sample = 10000,
		.world = 20000,
		.ris_interval = 5,
		.churn = 400,
	};
	parse_time("2014-12-12T00:00:00Z", &o.from);
	parse_time("2014-12-29T00:00:00Z", &o.to);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	const char *name = argv[1];
	static const struct option lo[] = {
		{ "out", required_argument, 0, 'o' },      { "table", required_argument, 0, 't' },
		{ "asnames", required_argument, 0, 'a' },  { "countries", required_argument, 0, 'c' },
		{ "sample", required_argument, 0, 'n' },   { "all", no_argument, 0, 'A' },
		{ "world", required_argument, 0, 'w' },    { "peers", required_argument, 0, 'p' },
		{ "from", required_argument, 0, 'f' },     { "to", required_argument, 0, 'T' },
		{ "seed", required_argument, 0, 's' },     { "churn", required_argument, 0, 'C' },
		{ "ris-interval", required_argument, 0, 'r' },
		{ "timeline", required_argument, 0, 'l' }, { "force", no_argument, 0, 'F' },
		{ "rib-every", required_argument, 0, 'R' },
		{ "help", no_argument, 0, 'h' },           { 0, 0, 0, 0 },
	};
	optind = 1;
	int ch;
	char *end;
	while ((ch = getopt_long(argc - 1, argv + 1, "o:t:h", lo, NULL)) != -1) {
		switch (ch) {
		case 'o': o.out = optarg; break;
		case 't': o.table = optarg; break;
		case 'a': o.asnames = optarg; break;
		case 'c': o.countries = optarg; break;
		case 'A': o.all = 1; break;
		case 'F': o.force = 1; break;
		case 'l': o.timeline = optarg; break;
		case 'n':
			o.sample = strtol(optarg, &end, 10);
			if (*end || o.sample < 0)
				goto bad;
			break;
		case 'w':
			o.world = strtol(optarg, &end, 10);
			if (*end || o.world < 0 || o.world > 5000000)
				goto bad;
			break;
		case 'p':
			o.peers = (int)strtol(optarg, &end, 10);
			if (*end || o.peers < 1 || o.peers > MAX_PEERS)
				goto bad;
			break;
		case 'f':
			if (parse_time(optarg, &o.from))
				goto bad;
			break;
		case 'T':
			if (parse_time(optarg, &o.to))
				goto bad;
			break;
		case 's':
			o.seed = strtoull(optarg, &end, 10);
			if (*end)
				goto bad;
			break;
		case 'C':
			o.churn = strtod(optarg, &end);
			if (*end || o.churn < 0)
				goto bad;
			break;
		case 'r':
			o.ris_interval = (int)strtol(optarg, &end, 10);
			if (*end || (o.ris_interval != 5 && o.ris_interval != 15))
				goto bad;
			break;
		case 'R':
			o.rib_every = (int)strtol(optarg, &end, 10);
			if (*end || o.rib_every < 0 || o.rib_every > 24 * 366)
				goto bad;
			break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc - 1) {
		fprintf(stderr, "darkmap scenario: unexpected argument '%s'\n", argv[optind + 1]);
		return EXIT_USAGE;
	}
	if (!o.out) {
		fputs("darkmap scenario: --out DIR is required\n", stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(name, "selftest"))
		return run_selftest(&o);
	if (strcmp(name, "nk-2014")) {
		fprintf(stderr, "darkmap scenario: unknown scenario '%s' (nk-2014, selftest)\n", name);
		return EXIT_USAGE;
	}
	if (o.to <= o.from || o.from < 0 || o.to > UINT32_MAX) {
		fputs("darkmap scenario: --to must be after --from (both within 1970..2106)\n", stderr);
		return EXIT_USAGE;
	}
	if (o.from % 900 || o.to % 900) {
		fputs("darkmap scenario: --from and --to must be on a 15-minute boundary\n", stderr);
		return EXIT_USAGE;
	}
	if (!o.force && holds_scenario(o.out)) {
		fprintf(stderr, "darkmap scenario: %s already holds a scenario (use --force or another "
		        "directory)\n", o.out);
		return EXIT_USAGE;
	}
	if (mkdir_p(o.out)) {
		fprintf(stderr, "darkmap scenario: %s: %s\n", o.out, strerror(errno));
		return EXIT_FAILURE_;
	}
	return run_nk2014(&o);
bad:
	fprintf(stderr, "darkmap scenario: bad option value '%s'\n", optarg);
	return EXIT_USAGE;
}
