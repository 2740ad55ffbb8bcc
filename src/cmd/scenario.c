/* darkmap scenario: plays a scenario file (data/scenarios/NAME.tsv or any FILE.tsv, the language
 * of docs/scenario.md) as synthetic but real-format MRT archives, with a machine-readable ground
 * truth (truth.tsv) beside them.
 *
 * Model: every simulated peer is a full-feed peer of one of two collectors and starts with the
 * whole scenario table (RIB dump at the span's start). The table is the real May-2014 one, any
 * RIB, or a generated one; targets (countries by darkmap's geo mapping, ASes, prefixes, sets)
 * are resolved against it. Events are generated up front (outage holds, flaps, origin and
 * upstream changes, churn, session resets), sorted by time, then played against per-peer state
 * arrays (peer x prefix -> withdrawn / announced with path variant v, and how many outage rows
 * hold it down), so that a withdrawal is only written for a route the peer has, and a
 * re-established session re-sends exactly what the peer holds. Update files are cut on interval
 * boundaries, one file per interval even when it is empty, except inside a collector gap. The
 * truth counts each entity's /24s the way replay's signal does, with the same geo mapping. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
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
#include "geo/geo.h"
#include "mrt/mrt.h"
#include "mrt/reader.h"
#include "mrt/writer.h"
#include "scenario/timeline.h"
#include "signal/signal.h"

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

static void fmt_stamp(int64_t t, const char *fmt, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, n, fmt, &tm);
}

/* ---- the prefix table ------------------------------------------------------------------- */

struct tprefix {
	struct dm_prefix p;
	uint32_t origin;
	uint32_t first, last;      /* IPv4 address range */
	uint16_t cc;               /* majority country (cc_key), 0 when not computed */
	uint8_t mark;              /* big table: taken into the scenario */
	uint8_t busy;              /* scenario table: some event row plays it (churn leaves it) */
	uint32_t sh, nsh;          /* scenario table: country shares in gen.share */
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
	memset(x, 0, sizeof *x);
	x->p = *p;
	x->origin = origin;
	uint32_t a = (uint32_t)p->b[0] << 24 | (uint32_t)p->b[1] << 16 | (uint32_t)p->b[2] << 8 | p->b[3];
	x->first = a;
	x->last = a | (p->len >= 32 ? 0 : 0xffffffffu >> p->len);
}

/* Address order, shorter first: a prefix comes after every prefix that covers it. */
static int prefix_cmp(const void *a, const void *b)
{
	const struct tprefix *x = a, *y = b;
	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->p.len - y->p.len;
}

/* North Korea's four /24s (AS131279, Star Joint Venture; upstream China Unicom AS4837): the
 * generator gives their routes the real path seen from RIPE RIS (see peers). */
enum { KP_ORIGIN = 131279, KP_UPSTREAM = 4837, KP_NPREFIX = 4 };
static const char *const kp_prefixes[KP_NPREFIX] = { "175.45.176.0/24", "175.45.177.0/24",
                                                     "175.45.178.0/24", "175.45.179.0/24" };

/* pyasn IPASN format: "prefix<TAB>asn" lines, ';' comments (gzip or plain). IPv4 only: the
 * scenario plays IPv4. */
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
			if (bad++ < 5)
				fprintf(stderr, "darkmap scenario: %s: line %ld: not prefix<TAB>asn, skipped\n",
				        path, lineno);
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
		if (p.afi != DM_AFI_IPV4 || p.len < 8)
			continue;
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

/* Any MRT RIB dump (TABLE_DUMP, TABLE_DUMP_V2, BGP4MP_ENTRY), read with darkmap's own reader and
 * decoder: prefix -> origin AS of the first entry with a usable path (the last ASN of its
 * merged AS path; an AS_SET origin is skipped). */
struct rib_load {
	struct table *t;
	uint64_t entries, noorigin;
};

static void rib_take(struct rib_load *rl, const struct dm_prefix *p, const struct bgp_attrs *a,
                     int attr_err)
{
	if (p->afi != DM_AFI_IPV4 || p->len < 8 || attr_err)
		return;
	rl->entries++;
	int is_set;
	uint32_t o = as_path_origin(&a->path, &is_set);
	if (!o || is_set) {
		rl->noorigin++;
		return;
	}
	struct dm_prefix q = *p;
	dm_prefix_mask(&q);
	table_add(rl->t, &q, o);
}

static int table_load_rib(const char *path, struct table *all)
{
	struct dm_error err;
	memset(&err, 0, sizeof err);
	struct mrt_reader *r = mrt_reader_open(path, &err);
	if (!r) {
		fprintf(stderr, "darkmap scenario: %s: %s\n", path, err.what[0] ? err.what : "cannot open");
		return -1;
	}
	struct mrt_ctx ctx;
	mrt_ctx_init(&ctx);
	struct rib_load rl = { .t = all };
	struct mrt_hdr h;
	const uint8_t *body;
	uint64_t records = 0, bad = 0;
	int rc;
	while ((rc = mrt_reader_next(r, &h, &body, &err)) != 0) {
		if (rc < 0) {
			if (bad++ < 3)
				fprintf(stderr, "darkmap scenario: %s: %s\n", path, err.what);
			if (rc == DM_ERR_FRAMING)
				continue;
			break;
		}
		records++;
		struct mrt_rec rec;
		if (mrt_decode(&ctx, &h, body, &rec, &err)) {
			if (bad++ < 3)
				fprintf(stderr, "darkmap scenario: %s: %s\n", path, err.what);
			continue;
		}
		/* one route per prefix: the first entry is enough (later ones add other paths) */
		if (rec.kind == MRT_K_RIB && rec.u.rib.has_prefix && rec.u.rib.n)
			rib_take(&rl, &rec.u.rib.prefix, &rec.u.rib.e[0].attrs, rec.u.rib.e[0].attr_err);
		else if (rec.kind == MRT_K_TD1) {
			rib_take(&rl, &rec.u.td1.prefix, &rec.u.td1.attrs, rec.u.td1.attr_err);
			for (uint32_t i = 0; i < rec.u.td1.nmore; i++)
				rib_take(&rl, &rec.u.td1.more[i].prefix, &rec.u.td1.more[i].attrs,
				         rec.u.td1.more[i].attr_err);
		} else if (rec.kind == MRT_K_ENTRY)
			rib_take(&rl, &rec.u.entry.prefix, &rec.u.entry.attrs, rec.u.entry.attr_err);
	}
	mrt_ctx_free(&ctx);
	mrt_reader_close(r);
	if (bad)
		fprintf(stderr, "darkmap scenario: %s: %llu unreadable records skipped\n", path,
		        (unsigned long long)bad);
	if (!all->n) {
		fprintf(stderr, "darkmap scenario: %s: %llu records, no IPv4 route with an origin AS: "
		        "not a RIB dump?\n", path, (unsigned long long)records);
		return -1;
	}
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
	       (a & 0xfffffc00u) == 0xaf2db000u; /* KP's 175.45.176.0/22: `route` rows add it */
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

/* Sorts and keeps one route per prefix (the first origin seen). */
static void table_sort_dedupe(struct table *t)
{
	/* a stable order for equal prefixes: mergesort is not at hand; tag with the index */
	for (uint32_t i = 0; i < t->n; i++)
		t->v[i].sh = i;
	if (t->n)
		qsort(t->v, t->n, sizeof *t->v, prefix_cmp);
	uint32_t m = 0;
	for (uint32_t i = 0; i < t->n; i++) {
		if (m && !prefix_cmp(&t->v[m - 1], &t->v[i])) {
			if (t->v[i].sh < t->v[m - 1].sh)
				t->v[m - 1] = t->v[i];
			continue;
		}
		t->v[m++] = t->v[i];
	}
	t->n = m;
	for (uint32_t i = 0; i < t->n; i++)
		t->v[i].sh = 0;
}

static uint16_t cc_key(const char *cc) { return (uint16_t)((uint8_t)cc[0] << 8 | (uint8_t)cc[1]); }

/* The country holding most of the prefix's addresses by the geo mapping (the one replay uses). */
static uint16_t majority_cc(const struct geo_db *geo, const struct dm_prefix *p)
{
	struct geo_share gs[64];
	int k = geo ? geo_prefix_countries(geo, p, gs, 64) : 0;
	if (k <= 0)
		return cc_key("ZZ");
	int best = 0;
	for (int i = 1; i < k; i++)
		if (gs[i].addrs > gs[best].addrs)
			best = i;
	return cc_key(gs[best].cc);
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
	int64_t gap_start[16], gap_end[16];   /* collector_gap rows: no update files */
	int ngap;
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

/* KP's path from each peer: through China Unicom AS4837, its single upstream; from PCH the real
 * one of RIPE RIS data (updates.et-header.2015: 3856 2914 1239 4837 131279); tier 1s of the
 * list peer with AS4837 directly, the others through one tier 1. */
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

/* ---- the scenario file: read by scenario/timeline.h (docs/scenario.md) ------------------ */

_Static_assert((int)MAX_PEERS == (int)TL_MAX_PEERS, "the timeline's peers setting bounds the peers here");

/* A timeline row and what the generator resolves it to. */
struct row {
	struct tl_row t;
	/* resolved */
	uint32_t *pfx, npfx;               /* the target's prefixes, scenario table indices */
	uint32_t *sel, nsel;               /* those that take part (fraction, except), table order */
	int kpeers;                        /* peers taking part: the first kpeers of the permutation */
	char entity[16];                   /* "KP", "AS131279", or "" for prefix lists and sets */
	int coll, peer;                    /* noise targets: collector (-1 all), peer (-1 all) */
	int skip;                          /* outside --from/--to: left out */
};

struct scen {
	struct timeline t;
	struct row *row;
	int nrow;
	int errors;
};

/* FILE:LINE: message, on stderr; the run stops with exit 2 after the file is read. */
static void sc_err(struct scen *s, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void sc_err(struct scen *s, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s:%d: ", s->t.path, line);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	s->errors++;
}

/* The timeline's errors from the from-th on, as sc_err prints them. */
static void print_tl_errors(struct scen *s, int from)
{
	for (int i = from; i < s->t.nerr; i++)
		sc_err(s, s->t.err[i].line, "%s", s->t.err[i].msg);
}

static int scen_load(const char *path, struct scen *s)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "darkmap scenario: %s: %s\n", path, strerror(errno));
		return -1;
	}
	int rc = timeline_read(&s->t, f, path);
	fclose(f);
	if (rc) {
		fputs("darkmap scenario: out of memory\n", stderr);
		exit(EXIT_FAILURE_);
	}
	print_tl_errors(s, 0);
	s->row = xcalloc((size_t)s->t.nrow, sizeof *s->row);
	s->nrow = s->t.nrow;
	for (int i = 0; i < s->nrow; i++) {
		s->row[i].t = s->t.row[i];
		s->row[i].coll = s->row[i].peer = -1;
	}
	return 0;
}

/* Rows must lie inside the file's span (checked once the span is known: it may come after). */
static void scen_check_span(struct scen *s)
{
	int from = s->t.nerr;
	if (timeline_check_span(&s->t) < 0) {
		fputs("darkmap scenario: out of memory\n", stderr);
		exit(EXIT_FAILURE_);
	}
	print_tl_errors(s, from);
}

static void scen_free(struct scen *s)
{
	for (int i = 0; i < s->nrow; i++) {
		free(s->row[i].pfx);
		free(s->row[i].sel);
	}
	free(s->row);
	timeline_free(&s->t);
}

/* Named scenarios ship in data/scenarios: look beside the working directory, then relative to
 * the binary (build/rel/darkmap -> ../../data). */
static int scenario_find(const char *name, char *out, size_t n)
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

/* ---- options ---------------------------------------------------------------------------- */

struct opts {
	const char *out, *table, *rib;
	int peers;                 /* 0: from the file (default 8) */
	int64_t from, to;          /* -1: from the file */
	uint64_t seed;
	int seed_set;
	long sample, world;        /* -1: from the file */
	double churn;              /* -1: from the file */
	const char *countries;
	int all, force, world_set;
	int ris_interval;          /* minutes */
	int rib_every;             /* hours between RIB dumps after the first; 0: only at --from */
	long bin_hint;
	const char *geo_opt[32], *geo_file[32];
	int ngeo;
};

/* ---- the generator state ---------------------------------------------------------------- */

struct gen {
	struct opts *o;
	struct scen *sc;
	int64_t from, to;
	uint64_t seed;
	double churn;
	struct table t;            /* the scenario's table, address order */
	struct geo_db *geo;
	struct geo_share *share;   /* country shares of t's prefixes (t.v[x].sh, .nsh) */
	uint32_t nshare;
	uint32_t *alt_origin;      /* per prefix: origin now announced (reorigin), 0: its own */
	uint32_t *via;             /* per prefix: upstream now used (upstream rows), 0: its own */
	struct speer *peer;
	int npeers;
	uint16_t perm[MAX_PEERS];  /* peers in the order `peers=F` rows take them */
	struct collector coll[2];
	uint8_t *st;               /* st[peer * t.n + prefix]: 0 withdrawn, 1 + path variant */
	uint8_t *hold;             /* hold[peer * t.n + prefix]: outage rows holding it down */
	int failed;
	uint64_t updates_written, withdrawals_written, announcements_written;
	int64_t reset_table_done;
	uint32_t reset_prefixes;
};

/* AS path of prefix x from peer p, path variant v: peer, a transit, the origin's upstream,
 * origin; v 1 and 3 pick other transits, v 2 prepends the origin once. An upstream row replaces
 * the upstream (the hop before the origin) by its via AS; a reorigin row replaces the origin.
 * Repeated ASNs are dropped so a path never loops. */
static int path_for(const struct gen *g, const struct speer *p, uint32_t x, int v, uint32_t *out)
{
	uint32_t origin = g->t.v[x].origin;
	uint32_t cand[MAX_PATH + 2];
	int n = 0;
	uint32_t up;
	if (origin == KP_ORIGIN) {
		for (int i = 0; i < p->kp_len - 2; i++)
			cand[n++] = p->kp_path[i];
		up = KP_UPSTREAM;
	} else {
		uint64_t h = mix64((uint64_t)origin * 0x100000001b3ull);
		uint32_t tr = tier1[mix64(h ^ p->mp.asn ^ (uint64_t)(v == 2 ? 0 : v) << 40) %
		                    (sizeof tier1 / sizeof tier1[0])];
		cand[n++] = p->mp.asn;
		cand[n++] = tr;
		/* a third of origins buy transit from a tier 1 directly */
		up = h % 3 ? regional[h % (sizeof regional / sizeof regional[0])] : 0;
	}
	if (g->via && g->via[x])
		up = g->via[x];
	if (g->alt_origin && g->alt_origin[x])
		origin = g->alt_origin[x];
	if (up)
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

/* Attributes of one route, built in caller-provided storage. */
struct route_attrs {
	struct bgp_attrs a;
	struct as_seg seg;
	uint32_t asn[MAX_PATH];
	uint8_t comm[4];
};

static void route_attrs(struct route_attrs *r, const struct gen *g, const struct speer *p,
                        uint32_t x, int variant)
{
	memset(&r->a, 0, sizeof r->a);
	int kp = g->t.v[x].origin == KP_ORIGIN;
	int n = path_for(g, p, x, variant, r->asn);
	r->seg.type = AS_SEQUENCE;
	r->seg.count = (uint8_t)n;
	r->seg.asn = r->asn;
	r->a.present = BGP_ATTR_BIT(BGP_ATTR_ORIGIN) | BGP_ATTR_BIT(BGP_ATTR_AS_PATH) |
	               BGP_ATTR_BIT(BGP_ATTR_NEXT_HOP) | BGP_ATTR_BIT(BGP_ATTR_MULTI_EXIT_DISC);
	/* KP's routes carry ORIGIN INCOMPLETE, as in the real 2015 record. */
	r->a.origin = kp ? BGP_ORIGIN_INCOMPLETE : BGP_ORIGIN_IGP;
	r->a.as_path.seg = &r->seg;
	r->a.as_path.nseg = 1;
	r->a.as_path.asn_size = 4;
	r->a.next_hop = p->mp.addr;
	r->a.med = 0;
	if (p->mp.asn <= 0xffff) {          /* RFC 1997 communities: 2-byte ASN:value */
		uint16_t val = (uint16_t)(kp ? 50800 : 1000 + variant);
		r->comm[0] = (uint8_t)(p->mp.asn >> 8);
		r->comm[1] = (uint8_t)p->mp.asn;
		r->comm[2] = (uint8_t)(val >> 8);
		r->comm[3] = (uint8_t)val;
		r->a.communities = r->comm;
		r->a.n_communities = 1;
		r->a.present |= BGP_ATTR_BIT(BGP_ATTR_COMMUNITIES);
	}
}

static int same_attrs(const struct route_attrs *a, const struct route_attrs *b)
{
	return a->a.origin == b->a.origin && a->seg.count == b->seg.count &&
	       !memcmp(a->asn, b->asn, a->seg.count * sizeof *a->asn) &&
	       a->a.n_communities == b->a.n_communities &&
	       (!a->a.n_communities || !memcmp(a->comm, b->comm, 4));
}

/* ---- events ----------------------------------------------------------------------------- */

enum ev_kind {
	EV_WITHDRAW,     /* churn: the peer drops one route */
	EV_ANNOUNCE,     /* churn: the peer (re)announces one route, path variant */
	EV_HOLD,         /* an outage/flap row takes the route down at this peer */
	EV_RELEASE,      /* ... and gives it back (announced when no other row holds it) */
	EV_REFRESH,      /* attributes changed (reorigin, upstream): re-announce what the peer has */
	EV_SET_ORIGIN,   /* global: prefix announced with origin `arg` (0: its own) */
	EV_SET_VIA,      /* global: prefix reached through `arg` (0: its own upstream) */
	EV_PEER_DOWN,
	EV_PEER_UP,
};

struct ev {
	int64_t ts;
	uint32_t usec;
	uint32_t seq;
	uint32_t pfx;
	uint32_t arg;
	uint16_t peer;
	uint8_t kind, variant;
};

struct evlist {
	struct ev *v;
	size_t n, cap;
};

static void ev_add(struct evlist *l, int64_t ts, uint32_t usec, enum ev_kind kind, uint16_t peer,
                   uint32_t pfx, uint8_t variant, uint32_t arg)
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
	e->arg = arg;
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

/* One peer's delay behind the event, the same for all its updates: the peers see an event in
 * the same second, microseconds apart (propagation). */
static uint32_t peer_usec(int p) { return (uint32_t)(mix64((uint64_t)p * 7 + 1) % 900000); }

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
	/* thousands of files share a few directories: create each directory once */
	static char made[8][PATH_MAX];
	static unsigned nmade;
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = 0;
		int known = 0;
		for (unsigned i = 0; i < 8 && !known; i++)
			known = !strcmp(dir, made[i]);
		if (!known && mkdir_p(dir)) {
			fprintf(stderr, "darkmap scenario: %s: cannot create: %s\n", dir, strerror(errno));
			return NULL;
		}
		if (!known)
			snprintf(made[nmade++ % 8], sizeof made[0], "%s", dir);
	}
	struct dm_error err;
	struct mrt_writer *w = mrt_writer_open(path, &err);
	if (!w)
		fprintf(stderr, "darkmap scenario: %s\n", err.what);
	return w;
}

/* A full disk fails every file after it: the first few are named, the rest counted (a scenario
 * writes thousands of update files). */
enum { CLOSE_FAIL_SHOWN = 10 };
static unsigned long close_failures;

static int close_out(struct mrt_writer *w)
{
	struct dm_error err;
	if (mrt_writer_close(w, &err)) {
		if (++close_failures <= CLOSE_FAIL_SHOWN)
			fprintf(stderr, "darkmap scenario: %s\n", err.what);
		return -1;
	}
	return 0;
}

static int write_rib(struct gen *g, struct collector *c, int64_t ts);

static int in_gap(const struct collector *c, int64_t t)
{
	for (int i = 0; i < c->ngap; i++)
		if (t >= c->gap_start[i] && t < c->gap_end[i])
			return 1;
	return 0;
}

/* Opens the update file of interval c->cur (none inside a gap), after the periodic RIB dump
 * due at that time, if any: it shows the state before the interval's first update. */
static int coll_open(struct gen *g, struct collector *c)
{
	if (in_gap(c, c->cur)) {
		c->gap_files++;
		return 0;
	}
	int64_t every = (int64_t)g->o->rib_every * 3600;
	if (every && c->cur > g->from && (c->cur - g->from) % every == 0 && write_rib(g, c, c->cur))
		return -1;
	coll_path(g->o, c, c->cur, 0, c->wpath, sizeof c->wpath);
	c->w = open_out(c->wpath);
	if (!c->w)
		return -1;
	c->files++;
	return 0;
}

/* Moves collector c to the interval holding ts: every interval passed gets its file, empty or
 * not, so a missing file means a gap and not a quiet quarter hour. ts = the span's end closes
 * the last. */
static int coll_advance(struct gen *g, struct collector *c, int64_t ts)
{
	if (!c->started) {
		c->started = 1;
		c->cur = g->from;
		if (coll_open(g, c))
			return -1;
	}
	while (c->cur < g->to && ts >= c->cur + c->interval) {
		if (c->w && close_out(c->w))
			g->failed = 1;
		c->w = NULL;
		c->cur += c->interval;
		if (c->cur < g->to && coll_open(g, c))
			return -1;
	}
	return 0;
}

static void write_update(struct gen *g, struct speer *p, int64_t ts, uint32_t usec,
                         const struct bgp_update *u)
{
	struct collector *c = &g->coll[p->coll];
	if (!c->w)                      /* inside a collector gap: nothing recorded */
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

/* Batches of one peer's routes at one instant: withdrawals in one UPDATE (up to 500), routes
 * sharing their attributes in one UPDATE (up to 400), as a router packs them. */
enum { BATCH = 500 };

struct batch {
	int peer;
	int64_t ts;
	uint32_t usec;
	uint32_t nw, na;
	struct dm_prefix w[BATCH], a[BATCH];
	struct route_attrs ra;
};

static void batch_flush_w(struct gen *g, struct batch *b)
{
	if (!b->nw)
		return;
	struct bgp_update u;
	memset(&u, 0, sizeof u);
	u.withdrawn.pfx = b->w;
	u.withdrawn.n = b->nw;
	struct speer *p = &g->peer[b->peer];
	write_update(g, p, b->ts, b->usec, &u);
	g->withdrawals_written += g->coll[p->coll].w ? b->nw : 0;
	b->nw = 0;
}

static void batch_flush_a(struct gen *g, struct batch *b)
{
	if (!b->na)
		return;
	struct bgp_update u;
	memset(&u, 0, sizeof u);
	u.attrs = b->ra.a;
	u.attrs.as_path.seg = &b->ra.seg;
	b->ra.seg.asn = b->ra.asn;
	if (u.attrs.n_communities)
		u.attrs.communities = b->ra.comm;
	u.announced.pfx = b->a;
	u.announced.n = b->na;
	struct speer *p = &g->peer[b->peer];
	write_update(g, p, b->ts, b->usec, &u);
	g->announcements_written += g->coll[p->coll].w ? b->na : 0;
	b->na = 0;
}

static void batch_flush(struct gen *g, struct batch *b)
{
	batch_flush_w(g, b);
	batch_flush_a(g, b);
}

static void batch_at(struct gen *g, struct batch *b, int peer, int64_t ts, uint32_t usec)
{
	if (b->peer != peer || b->ts != ts || b->usec != usec) {
		batch_flush(g, b);
		b->peer = peer;
		b->ts = ts;
		b->usec = usec;
	}
}

static void batch_withdraw(struct gen *g, struct batch *b, uint32_t x)
{
	batch_flush_a(g, b);        /* keep the order in which the peer sent them */
	b->w[b->nw++] = g->t.v[x].p;
	if (b->nw == BATCH)
		batch_flush_w(g, b);
}

static void batch_announce(struct gen *g, struct batch *b, uint32_t x, int variant)
{
	batch_flush_w(g, b);
	struct route_attrs ra;
	route_attrs(&ra, g, &g->peer[b->peer], x, variant);
	if (b->na && (!same_attrs(&ra, &b->ra) || b->na == 400))
		batch_flush_a(g, b);
	if (!b->na)
		b->ra = ra;
	b->a[b->na++] = g->t.v[x].p;
}

/* Session comes back: FSM states as a collector logs them (real STATE_CHANGE sequence in
 * updates.et-header.2015: 1->2, 2->4, 4->5, then 5->6), then the peer's whole table. */
static void peer_up(struct gen *g, struct batch *b, int pi, int64_t ts)
{
	struct speer *p = &g->peer[pi];
	static const int fsm[][2] = { { 1, 2 }, { 2, 4 }, { 4, 5 }, { 5, 6 } };
	batch_flush(g, b);
	for (int i = 0; i < 4; i++)
		write_state(g, p, ts, (uint32_t)(1000 + i * 25000), fsm[i][0], fsm[i][1]);
	p->down = 0;
	const uint8_t *st = g->st + (size_t)pi * g->t.n;
	uint32_t sent = 0;
	for (uint32_t x = 0; x < g->t.n; x++) {
		if (!st[x])
			continue;
		/* the transfer takes about a second per 20k prefixes */
		batch_at(g, b, pi, ts + 1 + sent / 20000, (uint32_t)(sent / 400 % 50) * 20000);
		batch_announce(g, b, x, st[x] - 1);
		sent++;
	}
	batch_flush(g, b);
	g->reset_table_done = ts + 1 + sent / 20000;
	g->reset_prefixes = sent;
}

static void play(struct gen *g, struct batch *b, const struct ev *e)
{
	struct speer *p = &g->peer[e->peer];
	size_t k = (size_t)e->peer * g->t.n + e->pfx;
	uint8_t *st = g->st + k, *hold = g->hold + k;
	switch (e->kind) {
	case EV_SET_ORIGIN:
		g->alt_origin[e->pfx] = e->arg;
		return;
	case EV_SET_VIA:
		g->via[e->pfx] = e->arg;
		return;
	case EV_PEER_DOWN:
		batch_flush(g, b);
		write_state(g, p, e->ts, e->usec, 6, 1);   /* Established -> Idle */
		p->down = 1;
		return;
	case EV_PEER_UP:
		peer_up(g, b, e->peer, e->ts);
		return;
	default:
		break;
	}
	batch_at(g, b, e->peer, e->ts, e->usec);
	switch (e->kind) {
	case EV_HOLD:
		if (*hold < 255)
			++*hold;
		/* fall through */
	case EV_WITHDRAW:
		if (!*st)
			return;
		*st = 0;
		if (!p->down)
			batch_withdraw(g, b, e->pfx);
		return;
	case EV_RELEASE:
		if (*hold && --*hold)
			return;
		if (*st == 1)
			return;
		*st = 1;
		if (!p->down)
			batch_announce(g, b, e->pfx, 0);
		return;
	case EV_ANNOUNCE:
		if (*hold || *st == e->variant + 1)
			return;
		*st = (uint8_t)(e->variant + 1);
		if (!p->down)
			batch_announce(g, b, e->pfx, e->variant);
		return;
	case EV_REFRESH:
		if (*st && !p->down)
			batch_announce(g, b, e->pfx, *st - 1);
		return;
	default:
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
			route_attrs(&ra[n], g, p, x, s - 1);
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

/* ---- targets ---------------------------------------------------------------------------- */

struct u32vec {
	uint32_t *v;
	uint32_t n, cap;
};

static void vec_push(struct u32vec *a, uint32_t x)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->v = xrealloc(a->v, a->cap * sizeof *a->v);
	}
	a->v[a->n++] = x;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void vec_sort_unique(struct u32vec *a)
{
	if (!a->n)
		return;
	qsort(a->v, a->n, sizeof *a->v, u32_cmp);
	uint32_t m = 0;
	for (uint32_t i = 0; i < a->n; i++)
		if (!m || a->v[m - 1] != a->v[i])
			a->v[m++] = a->v[i];
	a->n = m;
}

/* The big table's majority countries, computed once when a country is asked for. */
static void table_countries(struct table *all, const struct geo_db *geo, int *done)
{
	if (*done)
		return;
	for (uint32_t i = 0; i < all->n; i++)
		all->v[i].cc = majority_cc(geo, &all->v[i].p);
	*done = 1;
}

/* One item of a target or set: a country code, ASn, or prefix (the table's prefixes inside it).
 * Adds big-table indices to out; returns 0, or -1 after reporting FILE:LINE. */
static int resolve_item(struct scen *s, int line, const char *item, struct table *all,
                        const struct geo_db *geo, int *cc_done, struct u32vec *out)
{
	uint32_t before = out->n, asn;
	struct dm_prefix p;
	if (tl_is_country_code(item)) {
		if (!geo_country_name(item)) {
			sc_err(s, line, "unknown target '%s': not a country code", item);
			return -1;
		}
		table_countries(all, geo, cc_done);
		uint16_t k = cc_key(item);
		for (uint32_t i = 0; i < all->n; i++)
			if (all->v[i].cc == k)
				vec_push(out, i);
		if (out->n == before) {
			sc_err(s, line, "unknown target '%s': no prefix of the table is in %s (by the geo "
			       "mapping, majority of addresses)", item, item);
			return -1;
		}
	} else if ((item[0] == 'A' || item[0] == 'a') && (item[1] == 'S' || item[1] == 's')) {
		if (tl_parse_asn(item, &asn)) {
			sc_err(s, line, "unknown target '%s': not an AS number", item);
			return -1;
		}
		for (uint32_t i = 0; i < all->n; i++)
			if (all->v[i].origin == asn)
				vec_push(out, i);
		if (out->n == before) {
			sc_err(s, line, "unknown target '%s': AS%u originates no prefix of the table", item, asn);
			return -1;
		}
	} else if (!dm_prefix_parse(item, &p) && p.afi == DM_AFI_IPV4) {
		dm_prefix_mask(&p);
		struct tprefix key;
		memset(&key, 0, sizeof key);
		table_add(&(struct table){ .v = &key, .n = 0, .cap = 1 }, &p, 0);
		/* first prefix starting at or after p's first address */
		uint32_t lo = 0, hi = all->n;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (all->v[mid].first < key.first)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (uint32_t i = lo; i < all->n && all->v[i].first <= key.last; i++)
			if (all->v[i].p.len >= p.len)
				vec_push(out, i);
		if (out->n == before) {
			sc_err(s, line, "unknown target '%s': no prefix of the table is inside it", item);
			return -1;
		}
	} else {
		sc_err(s, line, "unknown target '%s' (want a country code, ASn, prefix:P[,P...], "
		       "set:NAME)", item);
		return -1;
	}
	return 0;
}

static int resolve_list(struct scen *s, int line, const char *list, struct table *all,
                        const struct geo_db *geo, int *cc_done, struct u32vec *out)
{
	char buf[65536];
	snprintf(buf, sizeof buf, "%s", list);
	int rc = 0;
	char *save = NULL;
	for (char *it = strtok_r(buf, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
		while (*it == ' ')
			it++;
		char *e = it + strlen(it);
		while (e > it && e[-1] == ' ')
			*--e = 0;
		if (*it && resolve_item(s, line, it, all, geo, cc_done, out))
			rc = -1;
	}
	return rc;
}

static int prefix_kind(enum tl_kind k)
{
	return k == TL_OUTAGE || k == TL_INSTABILITY || k == TL_FLAP || k == TL_REORIGIN ||
	       k == TL_UPSTREAM;
}

/* A row's target -> big-table indices (r->pfx), r->entity for country and AS targets. */
static int resolve_target(struct scen *s, struct row *r, struct table *all,
                          const struct geo_db *geo, int *cc_done)
{
	struct u32vec out = { 0 };
	int rc;
	const char *t = r->t.target;
	if (!strncmp(t, "prefix:", 7)) {
		rc = resolve_list(s, r->t.line, t + 7, all, geo, cc_done, &out);
	} else if (r->t.set != TL_SET_NONE) {   /* set:NAME, found by the timeline's reader */
		if (r->t.set == TL_SET_UNKNOWN) {
			sc_err(s, r->t.line, "unknown target '%s': no set %s defined", t, t + 4);
			rc = -1;
		} else {
			rc = resolve_list(s, r->t.line, s->t.set[r->t.set].items, all, geo, cc_done, &out);
		}
	} else if (strchr(t, ',') || strchr(t, '/')) {
		sc_err(s, r->t.line, "unknown target '%s' (a prefix list is written prefix:P,P; a list "
		       "of countries or ASes is a set)", t);
		rc = -1;
	} else {
		rc = resolve_item(s, r->t.line, t, all, geo, cc_done, &out);
		if (!rc) {
			uint32_t asn;
			if (tl_is_country_code(t))
				snprintf(r->entity, sizeof r->entity, "%s", t);
			else if (!tl_parse_asn(t, &asn))
				snprintf(r->entity, sizeof r->entity, "AS%u", asn);
		}
	}
	if (!rc) {
		vec_sort_unique(&out);
		/* except= must leave something to play */
		uint32_t left = 0;
		for (uint32_t i = 0; i < out.n; i++) {
			int ex = 0;
			for (int k = 0; k < r->t.nexcept; k++)
				ex |= all->v[out.v[i]].origin == r->t.except[k];
			left += !ex;
		}
		if (!left) {
			sc_err(s, r->t.line, "target %s: every prefix is excepted (except=)", t);
			rc = -1;
		}
	}
	r->pfx = out.v;
	r->npfx = out.n;
	return rc;
}

/* Noise targets: "rrc.sim/2" (one peer), "rrc.sim" (a collector), "all". */
static int resolve_noise(struct scen *s, struct row *r, const struct gen *g, int clamp)
{
	const char *t = r->t.target;
	if (r->t.kind == TL_CHURN) {
		if (strcmp(t, "all")) {
			sc_err(s, r->t.line, "unknown target '%s' for churn (want all)", t);
			return -1;
		}
		return 0;
	}
	if (r->t.kind == TL_COLLECTOR_GAP && !strcmp(t, "all")) {
		r->coll = -1;
		return 0;
	}
	const char *slash = strchr(t, '/');
	size_t n = slash ? (size_t)(slash - t) : strlen(t);
	int c;
	for (c = 0; c < 2; c++)
		if (strlen(g->coll[c].name) == n && !strncmp(t, g->coll[c].name, n))
			break;
	if (c == 2) {
		sc_err(s, r->t.line, "unknown target '%s' for %s (want route-views.sim, rrc.sim%s)", t,
		       tl_kind_name(r->t.kind), r->t.kind == TL_PEER_RESET ? ", or one peer: rrc.sim/N" : ", all");
		return -1;
	}
	r->coll = c;
	if (!slash)
		return 0;
	char *end;
	long i = strtol(slash + 1, &end, 10);
	if (r->t.kind != TL_PEER_RESET || *end || end == slash + 1 || i < 0) {
		sc_err(s, r->t.line, "unknown target '%s' for %s", t, tl_kind_name(r->t.kind));
		return -1;
	}
	if (i >= g->coll[c].npeers) {
		if (!clamp || !g->coll[c].npeers) {
			sc_err(s, r->t.line, "unknown target '%s': %s has %u peers (%s/0 .. %s/%d)", t,
			       g->coll[c].name, g->coll[c].npeers, g->coll[c].name, g->coll[c].name,
			       g->coll[c].npeers - 1);
			return -1;
		}
		/* --peers made the collector smaller than the file assumes: its last peer plays */
		fprintf(stderr, "darkmap scenario: %s:%d: %s has %u peers with --peers %d: %s/%u "
		        "plays %s\n", s->t.path, r->t.line, g->coll[c].name, g->coll[c].npeers, g->npeers,
		        g->coll[c].name, g->coll[c].npeers - 1, t);
		i = g->coll[c].npeers - 1;
	}
	r->peer = g->coll[c].first + (int)i;
	return 0;
}

/* Which of the target's prefixes play: not those of except= ASes, and of the rest a share
 * `fraction` of the /24s, chosen by an order drawn from the seed and the target, so that two
 * rows on one target (a staged outage) take nested sets. */
static uint32_t weight24(const struct tprefix *x)
{
	return x->p.len <= 24 ? 1u << (24 - x->p.len) : 1;
}

struct keyed {
	uint64_t key;
	uint32_t x;
};

static int keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	return x->key < y->key ? -1 : x->key > y->key;
}

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;   /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

/* The target's eligible prefixes form networks: a prefix with the target's prefixes inside it
 * (a /16 and its /24s). A share `fraction` of the /24s is taken network by network, in an order
 * drawn from the seed and the target, so that the /24s lost are close to the share asked (a
 * more-specific under a visible aggregate loses nothing: the networks go together) and two rows
 * on one target (a staged outage) take nested sets. */
static void select_prefixes(struct gen *g, struct row *r)
{
	struct keyed *k = xcalloc(r->npfx, sizeof *k);
	uint32_t *grp = xcalloc(r->npfx, sizeof *grp);   /* first eligible index of each network */
	uint32_t *elig = xcalloc(r->npfx, sizeof *elig);
	uint32_t n = 0, ng = 0;
	double total = 0;
	uint64_t salt = mix64(g->seed ^ str_hash(r->t.target));
	uint32_t top_last = 0;
	for (uint32_t i = 0; i < r->npfx; i++) {
		const struct tprefix *x = &g->t.v[r->pfx[i]];
		int ex = 0;
		for (int e = 0; e < r->t.nexcept; e++)
			ex |= x->origin == r->t.except[e];
		if (ex)
			continue;
		if (!n || x->first > top_last) {   /* a new network (address order: tops first) */
			k[ng].x = ng;
			k[ng].key = mix64(salt ^ ((uint64_t)x->first << 8 | x->p.len));
			grp[ng++] = n;
			top_last = x->last;
			total += weight24(x);
		}
		elig[n++] = r->pfx[i];
	}
	r->sel = xcalloc(n, sizeof *r->sel);
	r->nsel = 0;
	if (r->t.fraction >= 1) {
		for (uint32_t i = 0; i < n; i++)
			r->sel[r->nsel++] = elig[i];
	} else {
		qsort(k, ng, sizeof *k, keyed_cmp);
		double want = r->t.fraction * total, acc = 0;
		for (uint32_t j = 0; j < ng && acc < want - 1e-9; j++) {
			/* this network's members: from its top to the next network's top */
			uint32_t gi = k[j].x, first = grp[gi];
			uint32_t end = gi + 1 < ng ? grp[gi + 1] : n;
			double w = weight24(&g->t.v[elig[first]]);
			/* the last network taken is the one that brings the share nearest to the ask */
			if (acc > 0 && acc + w - want > want - acc)
				break;
			for (uint32_t m = first; m < end; m++)
				r->sel[r->nsel++] = elig[m];
			acc += w;
		}
		qsort(r->sel, r->nsel, sizeof *r->sel, u32_cmp);
	}
	free(k);
	free(grp);
	free(elig);
	int kp = (int)ceil(r->t.peers * g->npeers - 1e-9);
	r->kpeers = kp < 1 ? 1 : kp > g->npeers ? g->npeers : kp;
	for (uint32_t i = 0; i < r->nsel; i++)
		g->t.v[r->sel[i]].busy = 1;
}

/* ---- ground truth ----------------------------------------------------------------------- */

struct truth_row {
	int64_t start, end;
	char kind[16];
	char entity[16];
	double fraction;
	int64_t tolerance;
	char collector[32];
	char peer[64];
	char note[240];
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
	snprintf(r->entity, sizeof r->entity, "all");
	return r;
}

static int truth_cmp(const void *a, const void *b)
{
	const struct truth_row *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	int c = strcmp(x->kind, y->kind);
	if (c)
		return c;
	/* countries before ASes, then by name */
	int xa = x->entity[0] == 'A' && x->entity[1] == 'S', ya = y->entity[0] == 'A' && y->entity[1] == 'S';
	if (xa != ya)
		return xa - ya;
	if (xa && ya)
		return strtoul(x->entity + 2, NULL, 10) < strtoul(y->entity + 2, NULL, 10) ? -1 : 1;
	return strcmp(x->entity, y->entity);
}

/* Entities as replay counts them: every country (geo shares of each prefix) and origin AS. */
struct ents {
	uint32_t ncc, nas;
	uint16_t cc[65536 / 64];      /* cc_key of country i (at most a few hundred) */
	int32_t *ccidx;               /* cc_key -> i, -1 */
	uint32_t *asn;                /* AS i */
	uint32_t *pas;                /* per prefix: its own origin's AS index */
	uint32_t *shcc;               /* per share: country index */
	uint64_t *base_cc, *base_as;  /* /24s with everything visible */
	uint64_t *cov_cc, *cov_as, *cov2_as;
	uint32_t *as_end;             /* scratch */
	uint8_t *target_cc, *target_as;
};

static uint32_t as_index(const struct ents *E, uint32_t asn, int add)
{
	uint32_t lo = 0, hi = E->nas;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (E->asn[mid] < asn)
			lo = mid + 1;
		else
			hi = mid;
	}
	(void)add;
	return lo < E->nas && E->asn[lo] == asn ? lo : UINT32_MAX;
}

/* Coverage in addresses of distinct space under visible prefixes /8../24, as the signal counts:
 * a prefix counts when no visible prefix covers it (per country: its geo shares; per origin AS:
 * no visible prefix of the same AS covers it). down[x]: invisible; org[x]: AS index announced
 * (NULL: own origins). */
static void count_cov(const struct gen *g, struct ents *E, const uint8_t *down, const uint32_t *org,
                      uint64_t *cov_cc, uint64_t *cov_as)
{
	memset(cov_cc, 0, E->ncc * sizeof *cov_cc);
	memset(cov_as, 0, E->nas * sizeof *cov_as);
	memset(E->as_end, 0, E->nas * sizeof *E->as_end);
	uint64_t end = 0;
	for (uint32_t x = 0; x < g->t.n; x++) {
		const struct tprefix *t = &g->t.v[x];
		if (t->p.len < 8 || t->p.len > 24 || (down && down[x]))
			continue;
		if (t->first >= end) {
			for (uint32_t k = 0; k < t->nsh; k++)
				cov_cc[E->shcc[t->sh + k]] += g->share[t->sh + k].addrs;
			end = (uint64_t)t->last + 1;
		}
		uint32_t a = org && org[x] != UINT32_MAX ? org[x] : E->pas[x];
		/* as_end holds last+1 of the AS's current top prefix, 0 for none: a prefix starting at
		 * address 0 is impossible here (/8 minimum, 0/8 reserved) */
		if (t->first >= E->as_end[a]) {
			cov_as[a] += (uint64_t)t->last - t->first + 1;
			E->as_end[a] = t->last + 1 ? t->last + 1 : UINT32_MAX;
		}
	}
	for (uint32_t i = 0; i < E->ncc; i++)
		cov_cc[i] = (cov_cc[i] + 128) / 256;
	for (uint32_t i = 0; i < E->nas; i++)
		cov_as[i] = (cov_as[i] + 128) / 256;
}

static void ents_init(struct gen *g, struct ents *E)
{
	memset(E, 0, sizeof *E);
	E->ccidx = xcalloc(65536, sizeof *E->ccidx);
	for (int i = 0; i < 65536; i++)
		E->ccidx[i] = -1;
	struct u32vec as = { 0 };
	for (uint32_t x = 0; x < g->t.n; x++)
		vec_push(&as, g->t.v[x].origin);
	for (int i = 0; i < g->sc->nrow; i++)
		if (g->sc->row[i].t.kind == TL_REORIGIN)
			vec_push(&as, g->sc->row[i].t.to);
	vec_sort_unique(&as);
	E->asn = as.v;
	E->nas = as.n;
	E->pas = xcalloc(g->t.n, sizeof *E->pas);
	for (uint32_t x = 0; x < g->t.n; x++)
		E->pas[x] = as_index(E, g->t.v[x].origin, 0);
	E->shcc = xcalloc(g->nshare, sizeof *E->shcc);
	for (uint32_t k = 0; k < g->nshare; k++) {
		uint16_t key = cc_key(g->share[k].cc);
		if (E->ccidx[key] < 0 && E->ncc < sizeof E->cc / sizeof E->cc[0]) {
			E->ccidx[key] = (int32_t)E->ncc;
			E->cc[E->ncc++] = key;
		}
		E->shcc[k] = (uint32_t)(E->ccidx[key] < 0 ? 0 : E->ccidx[key]);
	}
	E->base_cc = xcalloc(E->ncc, sizeof(uint64_t));
	E->cov_cc = xcalloc(E->ncc, sizeof(uint64_t));
	E->base_as = xcalloc(E->nas, sizeof(uint64_t));
	E->cov_as = xcalloc(E->nas, sizeof(uint64_t));
	E->cov2_as = xcalloc(E->nas, sizeof(uint64_t));
	E->as_end = xcalloc(E->nas, sizeof(uint32_t));
	E->target_cc = xcalloc(E->ncc, 1);
	E->target_as = xcalloc(E->nas, 1);
	count_cov(g, E, NULL, NULL, E->base_cc, E->base_as);
}

static void ents_free(struct ents *E)
{
	free(E->ccidx);
	free(E->asn);
	free(E->pas);
	free(E->shcc);
	free(E->base_cc);
	free(E->cov_cc);
	free(E->base_as);
	free(E->cov_as);
	free(E->cov2_as);
	free(E->as_end);
	free(E->target_cc);
	free(E->target_as);
}

static void ent_name(const struct ents *E, int is_as, uint32_t i, char *buf, size_t n)
{
	if (is_as)
		snprintf(buf, n, "AS%u", E->asn[i]);
	else
		snprintf(buf, n, "%c%c", E->cc[i] >> 8, E->cc[i] & 0xff);
}

/* Marks the entity a row names (KP, AS131279) so that its rows are written even below 5%. */
static void mark_target(struct ents *E, const struct row *r, int on)
{
	if (!r->entity[0])
		return;
	if (r->entity[0] == 'A' && r->entity[1] == 'S') {
		uint32_t a = as_index(E, (uint32_t)strtoul(r->entity + 2, NULL, 10), 0);
		if (a != UINT32_MAX)
			E->target_as[a] = (uint8_t)on;
	} else {
		int32_t c = E->ccidx[cc_key(r->entity)];
		if (c >= 0)
			E->target_cc[c] = (uint8_t)on;
	}
}

static double lost(uint64_t base, uint64_t now)
{
	if (!base || now >= base)
		return 0;
	return round((double)(base - now) / (double)base * 10000.0) / 10000.0;
}

enum { MIN_DROP_BP = 500 };   /* rows for entities losing >= 5% (in basis points) */

static int worth(double f, int target)
{
	return f >= MIN_DROP_BP / 10000.0 - 1e-12 || (target && f > 0);
}

/* Rows for one standalone set of withdrawn prefixes (a flap, an instability window). */
static void truth_for_down(struct gen *g, struct ents *E, struct truth *tr, const struct row *r,
                           const char *kind, int64_t start, int64_t end, const char *note)
{
	uint8_t *down = xcalloc(g->t.n, 1);
	int need = (g->npeers + 1) / 2;
	if (g->npeers - r->kpeers < need)
		for (uint32_t i = 0; i < r->nsel; i++)
			down[r->sel[i]] = 1;
	count_cov(g, E, down, NULL, E->cov_cc, E->cov_as);
	mark_target(E, r, 1);
	/* An instability window is the entity's as a whole (the detector's rule: at least half of
	 * it interrupted): a country that holds the flapping AS among others gets flap rows (short
	 * outages of its /24s), not an instability row. */
	int window = !strcmp(kind, "instability");
	for (int is_as = 0; is_as < 2; is_as++) {
		uint32_t n = is_as ? E->nas : E->ncc;
		for (uint32_t i = 0; i < n; i++) {
			double f = is_as ? lost(E->base_as[i], E->cov_as[i]) : lost(E->base_cc[i], E->cov_cc[i]);
			int target = is_as ? E->target_as[i] : E->target_cc[i];
			if (!worth(f, target) || (window && f < 0.5 && !target))
				continue;
			struct truth_row *t = truth_add(tr, kind, start, end);
			ent_name(E, is_as, i, t->entity, sizeof t->entity);
			t->fraction = f;
			snprintf(t->note, sizeof t->note, "%s", note);
		}
	}
	mark_target(E, r, 0);
	free(down);
}

/* Outage and reorigin rows: the span is cut where any such row starts or ends; in each piece the
 * withdrawn prefixes and the origins are constant, and every entity's loss is counted; an
 * entity's consecutive pieces with the same loss make one truth row (a staged outage gives one
 * row per stage). */
struct run {
	int64_t start, tol;
	double f;
	char note[240];
};

static void run_close(struct truth *tr, struct run *ru, const char *kind, const char *entity,
                      int64_t end)
{
	if (ru->f > 0) {
		struct truth_row *t = truth_add(tr, kind, ru->start, end);
		snprintf(t->entity, sizeof t->entity, "%s", entity);
		t->fraction = ru->f;
		t->tolerance = ru->tol;
		snprintf(t->note, sizeof t->note, "%s", ru->note);
	}
	ru->f = 0;
}

/* Which entities a row's prefixes count for (their countries, their origin ASes, the AS a
 * reorigin moves them to): a row's tolerance and note go to those entities' rows only. */
static void row_touch(const struct gen *g, const struct ents *E, const struct row *r,
                      uint8_t *tcc, uint8_t *tas)
{
	memset(tcc, 0, E->ncc);
	memset(tas, 0, E->nas);
	for (uint32_t k = 0; k < r->nsel; k++) {
		const struct tprefix *t = &g->t.v[r->sel[k]];
		for (uint32_t j = 0; j < t->nsh; j++)
			tcc[E->shcc[t->sh + j]] = 1;
		tas[E->pas[r->sel[k]]] = 1;
	}
	if (r->t.kind == TL_REORIGIN) {
		uint32_t a = as_index(E, r->t.to, 0);
		if (a != UINT32_MAX)
			tas[a] = 1;
	}
}

static void truth_steps(struct gen *g, struct ents *E, struct truth *tr)
{
	struct scen *s = g->sc;
	struct u32vec cut = { 0 }, act = { 0 };
	uint32_t nent = E->ncc + E->nas;
	uint8_t *touch = xcalloc((size_t)s->nrow ? (size_t)s->nrow : 1, nent);
	for (int i = 0; i < s->nrow; i++) {
		struct row *r = &s->row[i];
		if (r->skip || (r->t.kind != TL_OUTAGE && r->t.kind != TL_REORIGIN))
			continue;
		vec_push(&cut, (uint32_t)(r->t.start < g->from ? g->from : r->t.start));
		vec_push(&cut, (uint32_t)(r->t.end > g->to ? g->to : r->t.end));
		uint8_t *t = touch + (size_t)i * nent;
		row_touch(g, E, r, t, t + E->ncc);
	}
	if (!cut.n) {
		free(touch);
		return;
	}
	vec_sort_unique(&cut);
	uint8_t *kdown = xcalloc(g->t.n, 1), *down = xcalloc(g->t.n, 1);
	uint32_t *org = xcalloc(g->t.n, sizeof *org);
	struct run *ro = xcalloc(nent, sizeof *ro);   /* outage runs: countries, then ASes */
	struct run *rr = xcalloc(E->nas, sizeof *rr);  /* reorigin runs */
	uint64_t *tmp_cc = xcalloc(E->ncc, sizeof *tmp_cc);
	int need = (g->npeers + 1) / 2;
	for (uint32_t c = 0; c + 1 < cut.n; c++) {
		int64_t a = cut.v[c];
		memset(kdown, 0, g->t.n);
		for (uint32_t x = 0; x < g->t.n; x++)
			org[x] = UINT32_MAX;
		int nreo = 0;
		act.n = 0;
		for (int i = 0; i < s->nrow; i++) {
			struct row *r = &s->row[i];
			if (r->skip || (r->t.kind != TL_OUTAGE && r->t.kind != TL_REORIGIN) || r->t.start > a ||
			    r->t.end <= a)
				continue;
			vec_push(&act, (uint32_t)i);
			mark_target(E, r, 1);
			if (r->t.kind == TL_OUTAGE) {
				for (uint32_t k = 0; k < r->nsel; k++)
					if (kdown[r->sel[k]] < r->kpeers)
						kdown[r->sel[k]] = (uint8_t)r->kpeers;
			} else {
				uint32_t to = as_index(E, r->t.to, 0);
				for (uint32_t k = 0; k < r->nsel; k++)
					org[r->sel[k]] = to;
				nreo++;
			}
		}
		/* visible while at least half of the peers (rounded up) still have the route, the
		 * rule of replay's signal */
		for (uint32_t x = 0; x < g->t.n; x++)
			down[x] = g->npeers - kdown[x] < need;
		count_cov(g, E, down, NULL, E->cov_cc, E->cov_as);
		if (nreo)
			count_cov(g, E, down, org, tmp_cc, E->cov2_as);
		else
			memcpy(E->cov2_as, E->cov_as, E->nas * sizeof *E->cov_as);
		for (uint32_t i = 0; i < nent; i++) {
			int is_as = i >= E->ncc;
			uint32_t k = is_as ? i - E->ncc : i;
			double f = is_as ? lost(E->base_as[k], E->cov_as[k]) : lost(E->base_cc[k], E->cov_cc[k]);
			if (!worth(f, is_as ? E->target_as[k] : E->target_cc[k]))
				f = 0;
			double fr = 0;
			if (is_as && E->cov_as[k] > E->cov2_as[k] && E->base_as[k])
				fr = round((double)(E->cov_as[k] - E->cov2_as[k]) / (double)E->base_as[k] *
				           10000.0) / 10000.0;
			if (is_as && !worth(fr, E->target_as[k]))
				fr = 0;
			if (f == 0 && fr == 0 && ro[i].f == 0 && (!is_as || rr[k].f == 0))
				continue;
			/* the rows that concern this entity: tolerance (their spreads) and note */
			int64_t tol = 0;
			char note[240] = "";
			for (uint32_t j = 0; j < act.n; j++) {
				const struct row *r = &s->row[act.v[j]];
				if (!touch[(size_t)act.v[j] * nent + i])
					continue;
				int64_t t1 = r->t.spread > r->t.restore_spread ? r->t.spread : r->t.restore_spread;
				tol = t1 > tol ? t1 : tol;
				size_t l = strlen(note);
				snprintf(note + l, sizeof note - l, "%sline %d: %s %s, %u of %u prefixes, %d of "
				         "%d peers%s%s", l ? "; " : "", r->t.line, tl_kind_name(r->t.kind), r->t.target,
				         r->nsel, r->npfx, r->t.kind == TL_OUTAGE ? r->kpeers : g->npeers,
				         g->npeers, r->t.note[0] ? ": " : "", r->t.note);
			}
			char name[16];
			ent_name(E, is_as, k, name, sizeof name);
			/* a row joining at the same loss (an AS inside a country that goes dark as well)
			 * does not split the entity's row: its detector sees one outage */
			if (ro[i].f != f) {
				run_close(tr, &ro[i], "outage", name, a);
				ro[i].f = f;
				ro[i].start = a;
				ro[i].tol = 0;
				snprintf(ro[i].note, sizeof ro[i].note, "%s", note);
			}
			if (f > 0 && tol > ro[i].tol)
				ro[i].tol = tol;
			if (is_as && rr[k].f != fr) {
				run_close(tr, &rr[k], "reorigin", name, a);
				rr[k].f = fr;
				rr[k].start = a;
				rr[k].tol = 0;
				snprintf(rr[k].note, sizeof rr[k].note, "%s", note);
			}
		}
		for (uint32_t j = 0; j < act.n; j++)
			mark_target(E, &s->row[act.v[j]], 0);
	}
	int64_t last = cut.v[cut.n - 1];
	for (uint32_t i = 0; i < nent; i++) {
		char name[16];
		int is_as = i >= E->ncc;
		ent_name(E, is_as, is_as ? i - E->ncc : i, name, sizeof name);
		run_close(tr, &ro[i], "outage", name, last);
		if (is_as)
			run_close(tr, &rr[i - E->ncc], "reorigin", name, last);
	}
	free(tmp_cc);
	free(touch);
	free(kdown);
	free(down);
	free(org);
	free(ro);
	free(rr);
	free(cut.v);
	free(act.v);
}

/* ---- the run ---------------------------------------------------------------------------- */

/* The real May-2014 table when the shared data is there (DARKMAP_DATA, else ../shared/data
 * from the working directory or from the repository holding the binary). */
static int default_table(char *out, size_t n)
{
	const char *data = getenv("DARKMAP_DATA");
	if (data) {
		snprintf(out, n, "%s/asn/ipasn_20140513.dat.gz", data);
		return access(out, R_OK);
	}
	snprintf(out, n, "../shared/data/asn/ipasn_20140513.dat.gz");
	if (!access(out, R_OK))
		return 0;
	char exe[PATH_MAX];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (k <= 0)
		return -1;
	exe[k] = 0;
	for (int up = 0; up < 4; up++) {
		char *slash = strrchr(exe, '/');
		if (!slash)
			return -1;
		*slash = 0;
		snprintf(out, n, "%.3800s/../shared/data/asn/ipasn_20140513.dat.gz", exe);
		if (!access(out, R_OK))
			return 0;
	}
	return -1;
}

static void add_truth_note(struct truth_row *t, const struct row *r, const char *extra)
{
	snprintf(t->note, sizeof t->note, "line %d%s%s%s%s", r->t.line, extra[0] ? "; " : "", extra,
	         r->t.note[0] ? "; " : "", r->t.note);
}

static int run_scenario(struct opts *o, struct scen *sc)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct gen g;
	memset(&g, 0, sizeof g);
	g.o = o;
	g.sc = sc;
	int rc = EXIT_USAGE;

	/* Settings: the command line wins over the file. */
	int cli_span = o->from >= 0 || o->to >= 0;
	g.from = o->from >= 0 ? o->from : sc->t.from;
	g.to = o->to >= 0 ? o->to : sc->t.to;
	if (!sc->t.have_span && (o->from < 0 || o->to < 0)) {
		fprintf(stderr, "%s: no span row (span<TAB>START<TAB>END) and no --from/--to\n", sc->t.path);
		return EXIT_USAGE;
	}
	if (g.to <= g.from || g.from < 0 || g.to > UINT32_MAX) {
		fputs("darkmap scenario: the span's end must be after its start (both within "
		      "1970..2106)\n", stderr);
		return EXIT_USAGE;
	}
	if (g.from % 900 || g.to % 900) {
		fprintf(stderr, "darkmap scenario: span %s: start and end must be on a 15-minute "
		        "boundary\n", cli_span ? "from --from/--to" : sc->t.path);
		return EXIT_USAGE;
	}
	/* rows must lie in the file's span even when --from/--to cut a piece of it */
	scen_check_span(sc);
	if (sc->errors)
		return EXIT_USAGE;
	g.npeers = o->peers ? o->peers : sc->t.peers_set ? sc->t.peers : 8;
	g.seed = o->seed_set ? o->seed : sc->t.seed_set ? sc->t.seed : 1;
	g.churn = o->churn >= 0 ? o->churn : sc->t.churn_set ? sc->t.churn : 200;
	long sample = o->sample >= 0 ? o->sample : sc->t.sample_set ? sc->t.sample : 3000;
	const char *countries = o->countries ? o->countries : sc->t.countries;
	if (!sc->t.name[0]) {
		const char *b = strrchr(sc->t.path, '/');
		snprintf(sc->t.name, sizeof sc->t.name, "%.120s", b ? b + 1 : sc->t.path);
		char *dot = strrchr(sc->t.name, '.');
		if (dot && !strcmp(dot, ".tsv"))
			*dot = 0;
	}
	/* Separate streams: flap times depend on the seed alone, not on the table or peers. */
	uint64_t rng = mix64(g.seed ^ 0x6e6b32303134ull);     /* table sample, churn */
	uint64_t rng_flap = mix64(g.seed ^ 0x666c617073ull);  /* flaps ("flaps") */

	/* The geo mapping, loaded as replay loads it. */
	g.geo = geo_db_new();
	if (!g.geo) {
		fputs("darkmap scenario: out of memory\n", stderr);
		return EXIT_FAILURE_;
	}
	struct dm_error err;
	memset(&err, 0, sizeof err);
	for (int i = 0; i < o->ngeo; i++)
		if (geo_load_option(g.geo, o->geo_opt[i], o->geo_file[i], &err) < 0) {
			fprintf(stderr, "darkmap scenario: %s %s: %s\n", o->geo_opt[i], o->geo_file[i],
			        err.what[0] ? err.what : dm_err_name(err.code));
			goto out;
		}
	if (!o->ngeo && geo_load_defaults_at(g.geo, g.from, &err) < 0) {   /* as replay: its data's date */
		fprintf(stderr, "darkmap scenario: default mapping sources: %s\n", err.what);
		goto out;
	}
	if (!geo_nsources(g.geo))
		fputs("darkmap scenario: no mapping source loaded: every prefix is in country ZZ\n",
		      stderr);

	/* The table. */
	struct table all;
	memset(&all, 0, sizeof all);
	char srcbuf[PATH_MAX + 64], deftab[PATH_MAX];
	const char *table = o->table;
	if (!table && !o->rib && !o->world_set && !default_table(deftab, sizeof deftab))
		table = deftab;
	if (o->rib) {
		if (table_load_rib(o->rib, &all))
			goto out;
		snprintf(srcbuf, sizeof srcbuf, "%s (RIB, %u IPv4 prefixes)", o->rib, all.n);
	} else if (table) {
		if (table_load_pyasn(table, &all)) {
			fprintf(stderr, "darkmap scenario: %s: cannot read\n", table);
			goto out;
		}
		snprintf(srcbuf, sizeof srcbuf, "%s (%u IPv4 prefixes)", table, all.n);
	} else {
		long world = o->world >= 0 ? o->world : 20000;
		table_generate(&all, (uint32_t)world, &rng);
		snprintf(srcbuf, sizeof srcbuf, "generated world table (%ld prefixes asked)", world);
	}
	for (int i = 0; i < sc->t.nadd; i++)
		table_add(&all, &sc->t.add[i].p, sc->t.add[i].origin);
	table_sort_dedupe(&all);
	/* `route` rows win over the table's origin for their prefixes */
	for (int i = 0; i < sc->t.nadd; i++)
		for (uint32_t x = 0; x < all.n; x++)
			if (all.v[x].p.len == sc->t.add[i].p.len && !memcmp(all.v[x].p.b, sc->t.add[i].p.b, 4)) {
				all.v[x].origin = sc->t.add[i].origin;
				break;
			}

	/* Targets, against the whole table. */
	int cc_done = 0;
	for (int i = 0; i < sc->nrow; i++) {
		struct row *r = &sc->row[i];
		if (cli_span && (r->t.end <= g.from || r->t.start >= g.to))
			r->skip = 1;
		if (prefix_kind(r->t.kind) && !resolve_target(sc, r, &all, g.geo, &cc_done))
			for (uint32_t k = 0; k < r->npfx; k++)
				all.v[r->pfx[k]].mark = 1;
	}
	if (sc->errors)
		goto out_table;
	if (o->all)
		for (uint32_t x = 0; x < all.n; x++)
			all.v[x].mark = 1;
	if (countries[0]) {
		table_countries(&all, g.geo, &cc_done);
		for (uint32_t x = 0; x < all.n; x++)
			for (const char *p = countries; *p;) {
				size_t w = strcspn(p, ",");
				if (w == 2 && all.v[x].cc == cc_key(p))
					all.v[x].mark = 1;
				p += w;
				p += *p == ',';
			}
	}
	/* A uniform sample of the rest (Knuth's selection sampling: exactly `sample`, in order). */
	uint32_t rest = 0, ntarget = 0;
	for (uint32_t x = 0; x < all.n; x++)
		rest += !all.v[x].mark;
	long want = sample < (long)rest ? sample : (long)rest;
	for (uint32_t x = 0, seen = 0; x < all.n; x++) {
		if (all.v[x].mark)
			continue;
		if ((double)(rest - seen) * rng_unit(&rng) < (double)want) {
			all.v[x].mark = 2;
			want--;
		}
		seen++;
	}
	uint32_t *map = xcalloc(all.n, sizeof *map);
	for (uint32_t x = 0; x < all.n; x++) {
		map[x] = UINT32_MAX;
		if (all.v[x].mark) {
			map[x] = g.t.n;
			table_add(&g.t, &all.v[x].p, all.v[x].origin);
			ntarget += all.v[x].mark == 1;
		}
	}
	for (int i = 0; i < sc->nrow; i++)
		for (uint32_t k = 0; k < sc->row[i].npfx; k++)
			sc->row[i].pfx[k] = map[sc->row[i].pfx[k]];
	free(map);
	free(all.v);
	all.v = NULL;

	/* Country shares of the scenario's prefixes (what replay's signal counts). */
	for (uint32_t x = 0; x < g.t.n; x++) {
		struct geo_share gs[256];
		int k = geo_prefix_countries(g.geo, &g.t.v[x].p, gs, 256);
		if (k <= 0) {
			memcpy(gs[0].cc, "ZZ", 3);
			gs[0].addrs = (uint64_t)g.t.v[x].last - g.t.v[x].first + 1;
			k = 1;
		}
		if (g.t.v[x].p.len <= 24)   /* a /24 shared by countries counts once, as replay counts */
			sig_apportion(gs, k, ((uint64_t)g.t.v[x].last - g.t.v[x].first + 1) / 256, 256);
		g.share = xrealloc(g.share, (g.nshare + (uint32_t)k) * sizeof *g.share);
		g.t.v[x].sh = g.nshare;
		g.t.v[x].nsh = (uint32_t)k;
		memcpy(&g.share[g.nshare], gs, (size_t)k * sizeof *gs);
		g.nshare += (uint32_t)k;
	}

	/* Peers and collectors. */
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
	/* the order in which peers=F rows take peers: the same for every row, so shares nest */
	{
		uint64_t rp = mix64(g.seed ^ 0x7065657273ull);   /* "peers" */
		for (int i = 0; i < g.npeers; i++)
			g.perm[i] = (uint16_t)i;
		for (int i = g.npeers - 1; i > 0; i--) {
			uint32_t j = rng_below(&rp, (uint32_t)i + 1);
			uint16_t tmp = g.perm[i];
			g.perm[i] = g.perm[j];
			g.perm[j] = tmp;
		}
	}
	for (int i = 0; i < sc->nrow; i++) {
		struct row *r = &sc->row[i];
		if (!prefix_kind(r->t.kind))
			resolve_noise(sc, r, &g, o->peers != 0);
		else
			select_prefixes(&g, r);
	}
	if (sc->errors)
		goto out_gen;

	g.st = xcalloc((size_t)g.npeers, g.t.n);
	memset(g.st, 1, (size_t)g.npeers * g.t.n);   /* full feed: every route, path variant 0 */
	g.hold = xcalloc((size_t)g.npeers, g.t.n);
	g.alt_origin = xcalloc(g.t.n, sizeof *g.alt_origin);
	g.via = xcalloc(g.t.n, sizeof *g.via);

	/* Events and truth. */
	struct evlist ev;
	memset(&ev, 0, sizeof ev);
	struct truth tr;
	memset(&tr, 0, sizeof tr);
	struct ents E;
	ents_init(&g, &E);
	struct truth_row *t = truth_add(&tr, "scenario", g.from, g.to);
	uint64_t nflaps = 0, nrows = 0, left_out = 0;
	for (int i = 0; i < sc->nrow; i++) {
		struct row *r = &sc->row[i];
		if (r->skip) {
			left_out++;
			continue;
		}
		nrows++;
		char extra[160] = "";
		switch (r->t.kind) {
		case TL_OUTAGE:
			for (int pi = 0; pi < r->kpeers; pi++) {
				int p = g.perm[pi];
				uint32_t us = peer_usec(p);
				for (uint32_t k = 0; k < r->nsel; k++) {
					uint32_t x = r->sel[k];
					uint64_t h = mix64(g.seed ^ (uint64_t)r->t.line << 32 ^ g.t.v[x].first);
					int64_t d = r->t.spread ? (int64_t)(h % (uint64_t)r->t.spread) : 0;
					int64_t u = r->t.restore_spread ? (int64_t)((h >> 32) % (uint64_t)r->t.restore_spread) : 0;
					ev_add(&ev, r->t.start + d, us, EV_HOLD, (uint16_t)p, x, 0, 0);
					ev_add(&ev, r->t.end + u, us, EV_RELEASE, (uint16_t)p, x, 0, 0);
				}
			}
			break;
		case TL_FLAP: {
			for (int pi = 0; pi < r->kpeers; pi++) {
				int p = g.perm[pi];
				for (uint32_t k = 0; k < r->nsel; k++) {
					ev_add(&ev, r->t.start, peer_usec(p), EV_HOLD, (uint16_t)p, r->sel[k], 0, 0);
					ev_add(&ev, r->t.end, peer_usec(p), EV_RELEASE, (uint16_t)p, r->sel[k], 0, 0);
				}
			}
			snprintf(extra, sizeof extra, "%u of %u prefixes, %d of %d peers", r->nsel, r->npfx,
			         r->kpeers, g.npeers);
			char note[240];
			snprintf(note, sizeof note, "line %d; %s%s%s", r->t.line, extra, r->t.note[0] ? "; " : "",
			         r->t.note);
			truth_for_down(&g, &E, &tr, r, "flap", r->t.start, r->t.end, note);
			break;
		}
		case TL_INSTABILITY: {
			/* Flaps: the peers withdraw the target, re-announce 2-6 min later; the pause
			 * between flaps shrinks from `first` to `last` minutes across the window (+-30%). */
			char note[240];
			snprintf(note, sizeof note, "line %d; flaps every %g..%g min%s%s", r->t.line, r->t.first,
			         r->t.last, r->t.note[0] ? "; " : "", r->t.note);
			truth_for_down(&g, &E, &tr, r, "instability", r->t.start, r->t.end, note);
			int64_t tt = r->t.start + rng_below(&rng_flap, 1800);
			for (;;) {
				int64_t down = 120 + rng_below(&rng_flap, 241);
				if (tt + down + 300 > r->t.end)
					break;
				for (int pi = 0; pi < r->kpeers; pi++) {
					int p = g.perm[pi];
					for (uint32_t k = 0; k < r->nsel; k++) {
						ev_add(&ev, tt, peer_usec(p), EV_HOLD, (uint16_t)p, r->sel[k], 0, 0);
						ev_add(&ev, tt + down, peer_usec(p), EV_RELEASE, (uint16_t)p, r->sel[k], 0, 0);
					}
				}
				if (tt + down > g.from && tt < g.to) {   /* overlaps the span */
					snprintf(note, sizeof note, "line %d; withdrawn at %d of %d peers, %lld s",
					         r->t.line, r->kpeers, g.npeers, (long long)down);
					truth_for_down(&g, &E, &tr, r, "flap", tt, tt + down, note);
					nflaps++;
				}
				double frac = (double)(tt - r->t.start) / (double)(r->t.end - r->t.start);
				double pause = (r->t.first + (r->t.last - r->t.first) * frac) * 60.0 *
				               (0.7 + 0.6 * rng_unit(&rng_flap));
				tt += down + (int64_t)pause;
			}
			break;
		}
		case TL_REORIGIN:
		case TL_UPSTREAM: {
			enum ev_kind set = r->t.kind == TL_REORIGIN ? EV_SET_ORIGIN : EV_SET_VIA;
			uint32_t arg = r->t.kind == TL_REORIGIN ? r->t.to : r->t.via;
			for (int edge = 0; edge < 2; edge++) {
				int64_t ts = edge ? r->t.end : r->t.start;
				for (uint32_t k = 0; k < r->nsel; k++)
					ev_add(&ev, ts, 0, set, 0, r->sel[k], 0, edge ? 0 : arg);
				for (int p = 0; p < g.npeers; p++)
					for (uint32_t k = 0; k < r->nsel; k++)
						ev_add(&ev, ts, peer_usec(p), EV_REFRESH, (uint16_t)p, r->sel[k], 0, 0);
			}
			if (r->t.kind == TL_UPSTREAM) {
				/* a transit change: no loss; one row per entity it concerns */
				snprintf(extra, sizeof extra, "via AS%u; %u of %u prefixes", r->t.via, r->nsel, r->npfx);
				struct u32vec ents = { 0 };
				if (!r->entity[0])
					for (uint32_t k = 0; k < r->nsel; k++)
						vec_push(&ents, g.t.v[r->sel[k]].origin);
				vec_sort_unique(&ents);
				for (uint32_t k = 0; k < (r->entity[0] ? 1 : ents.n); k++) {
					t = truth_add(&tr, "upstream", r->t.start, r->t.end);
					if (r->entity[0])
						snprintf(t->entity, sizeof t->entity, "%s", r->entity);
					else
						snprintf(t->entity, sizeof t->entity, "AS%u", ents.v[k]);
					add_truth_note(t, r, extra);
				}
				free(ents.v);
			}
			break;
		}
		case TL_PEER_RESET:
			for (int p = 0; p < g.npeers; p++) {
				if (r->peer >= 0 ? p != r->peer : g.peer[p].coll != r->coll)
					continue;
				ev_add(&ev, r->t.start, 250000, EV_PEER_DOWN, (uint16_t)p, 0, 0, 0);
				ev_add(&ev, r->t.end, 0, EV_PEER_UP, (uint16_t)p, 0, 0, 0);
				t = truth_add(&tr, "peer_reset", r->t.start, r->t.end);
				snprintf(t->collector, sizeof t->collector, "%s", g.coll[g.peer[p].coll].name);
				char ip[DM_IP_STRLEN];
				dm_ip_fmt(&g.peer[p].mp.addr, ip);
				snprintf(t->peer, sizeof t->peer, "%s AS%u", ip, g.peer[p].mp.asn);
				add_truth_note(t, r, "");
			}
			break;
		case TL_COLLECTOR_GAP:
			for (int c = 0; c < 2; c++) {
				if (r->coll >= 0 && c != r->coll)
					continue;
				struct collector *co = &g.coll[c];
				if (co->ngap < 16) {
					co->gap_start[co->ngap] = r->t.start;
					co->gap_end[co->ngap++] = r->t.end;
				}
				t = truth_add(&tr, "collector_gap", r->t.start, r->t.end);
				snprintf(t->collector, sizeof t->collector, "%s", co->name);
				add_truth_note(t, r, "update files starting in [start, end) absent");
			}
			break;
		default:
			break;
		}
	}
	truth_steps(&g, &E, &tr);

	/* Background churn: one prefix at one peer, never a prefix an event row plays: 60%
	 * withdraw and re-announce 1-45 min later, 40% a path change (another path variant). */
	uint32_t nfree = 0;
	for (uint32_t x = 0; x < g.t.n; x++)
		nfree += !g.t.v[x].busy;
	uint64_t nchurn = 0;
	for (int pass = -1; pass < sc->nrow; pass++) {
		int64_t a = g.from, b = g.to;
		double rate = g.churn;
		if (pass >= 0) {
			struct row *r = &sc->row[pass];
			if (r->t.kind != TL_CHURN || r->skip)
				continue;
			a = r->t.start, b = r->t.end, rate = r->t.rate;
		}
		uint64_t n = (uint64_t)(rate * (double)(b - a) / 3600.0);
		for (uint64_t i = 0; i < n && nfree && b - a > 60; i++) {
			int64_t ts = a + (int64_t)(rng_unit(&rng) * (double)(b - a - 60));
			uint16_t p = (uint16_t)rng_below(&rng, (uint32_t)g.npeers);
			uint32_t x;
			do
				x = rng_below(&rng, g.t.n);
			while (g.t.v[x].busy);
			uint32_t us = rng_below(&rng, 1000000);
			if (rng_below(&rng, 10) < 6) {
				int64_t back = ts + 60 + rng_below(&rng, 45 * 60 - 60);
				ev_add(&ev, ts, us, EV_WITHDRAW, p, x, 0, 0);
				if (back < g.to)
					ev_add(&ev, back, rng_below(&rng, 1000000), EV_ANNOUNCE, p, x,
					       (uint8_t)rng_below(&rng, 4), 0);
			} else {
				ev_add(&ev, ts, us, EV_ANNOUNCE, p, x, (uint8_t)rng_below(&rng, 4), 0);
			}
			nchurn++;
		}
	}
	if (ev.n)
		qsort(ev.v, ev.n, sizeof *ev.v, ev_cmp);

	/* Write (the directory only now: a scenario with errors leaves nothing behind). */
	if (mkdir_p(o->out)) {
		fprintf(stderr, "darkmap scenario: %s: %s\n", o->out, strerror(errno));
		rc = EXIT_FAILURE_;
		ents_free(&E);
		free(ev.v);
		free(tr.v);
		goto out_gen;
	}
	rc = 0;
	struct batch *b = xcalloc(1, sizeof *b);
	b->peer = -1;
	/* Events before the span shape the state the RIB shows (a span starting inside an outage
	 * dumps none of its routes); nothing is written for them: no file is open yet. */
	size_t first = 0;
	for (; first < ev.n && ev.v[first].ts < g.from; first++)
		play(&g, b, &ev.v[first]);
	b->nw = b->na = 0;
	for (int c = 0; c < 2 && !rc; c++)
		if (g.coll[c].npeers)
			rc = write_rib(&g, &g.coll[c], g.from);
	for (size_t i = first; i < ev.n && !rc && !g.failed; i++) {
		const struct ev *e = &ev.v[i];
		if (e->ts >= g.to)
			break;
		if (e->kind != EV_SET_ORIGIN && e->kind != EV_SET_VIA &&
		    (b->peer != e->peer || b->ts != e->ts || b->usec != e->usec))
			batch_flush(&g, b);
		if (e->kind != EV_SET_ORIGIN && e->kind != EV_SET_VIA &&
		    coll_advance(&g, &g.coll[g.peer[e->peer].coll], e->ts)) {
			rc = -1;
			break;
		}
		play(&g, b, e);
	}
	batch_flush(&g, b);
	free(b);
	for (int c = 0; c < 2 && !rc; c++)
		if (g.coll[c].npeers && coll_advance(&g, &g.coll[c], g.to))
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
	char hint[32] = "";
	if (o->bin_hint)
		snprintf(hint, sizeof hint, " bin_hint=%lds", o->bin_hint);
	snprintf(tr.v[0].note, sizeof tr.v[0].note,
	         "%s: seed=%llu peers=%d prefixes=%u target_prefixes=%u rows=%llu churn=%g/h%s",
	         sc->t.name, (unsigned long long)g.seed, g.npeers, g.t.n, ntarget,
	         (unsigned long long)nrows, g.churn, hint);

	/* Ground truth and peers. */
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/truth.tsv", o->out);
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "darkmap scenario: %s: %s\n", path, strerror(errno));
		rc = -1;
	} else {
		qsort(tr.v + 1, tr.n - 1, sizeof *tr.v, truth_cmp);
		fprintf(f, "# darkmap scenario %s ground truth (file %s, seed %llu, table %s)\n"
		        "# times: UTC epoch seconds; end is the first second the condition is over; "
		        "fraction: share of the entity's /24s lost; tolerance: seconds\n"
		        "kind\tstart\tend\tstart_utc\tend_utc\tentity\tfraction\ttolerance\tcollector\t"
		        "peer\tnote\n",
		        sc->t.name, sc->t.path, (unsigned long long)g.seed, srcbuf);
		for (size_t i = 0; i < tr.n; i++) {
			char a[32], bb[32];
			tl_fmt_iso(tr.v[i].start, a, sizeof a);
			tl_fmt_iso(tr.v[i].end, bb, sizeof bb);
			fprintf(f, "%s\t%lld\t%lld\t%s\t%s\t%s\t%.4f\t%lld\t%s\t%s\t%s\n", tr.v[i].kind,
			        (long long)tr.v[i].start, (long long)tr.v[i].end, a, bb, tr.v[i].entity,
			        tr.v[i].fraction, (long long)tr.v[i].tolerance, tr.v[i].collector,
			        tr.v[i].peer, tr.v[i].note);
		}
		if (ferror(f) | fclose(f)) {   /* fclose reports only the last flush */
			fprintf(stderr, "darkmap scenario: %s: write failed: %s\n", path, strerror(errno));
			rc = -1;
		}
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
		if (ferror(f) | fclose(f)) {
			fprintf(stderr, "darkmap scenario: %s: write failed: %s\n", path, strerror(errno));
			rc = -1;
		}
	} else {
		fprintf(stderr, "darkmap scenario: %s: %s\n", path, strerror(errno));
		rc = -1;
	}

	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	char a[32], bb[32];
	tl_fmt_iso(g.from, a, sizeof a);
	tl_fmt_iso(g.to, bb, sizeof bb);
	printf("scenario\t%s\tfrom=%s\tto=%s\tseed=%llu\tfile=%s\n", sc->t.name, a, bb,
	       (unsigned long long)g.seed, sc->t.path);
	printf("table\t%s\tprefixes=%u\ttarget_prefixes=%u\n", srcbuf, g.t.n, ntarget);
	for (int c = 0; c < 2; c++)
		printf("collector\t%s\tpeers=%u\tribs=%llu\tupdate_files=%llu\tinterval=%ds\t"
		       "gap_files=%llu\trecords=%llu\n",
		       g.coll[c].name, g.coll[c].npeers, (unsigned long long)g.coll[c].ribs,
		       (unsigned long long)g.coll[c].files, g.coll[c].interval,
		       (unsigned long long)g.coll[c].gap_files, (unsigned long long)g.coll[c].records);
	printf("events\trows=%llu\tleft_out=%llu\tflaps=%llu\tchurn=%llu\tupdates=%llu\t"
	       "announced=%llu\twithdrawn=%llu\n",
	       (unsigned long long)nrows, (unsigned long long)left_out, (unsigned long long)nflaps,
	       (unsigned long long)(nchurn), (unsigned long long)g.updates_written,
	       (unsigned long long)g.announcements_written, (unsigned long long)g.withdrawals_written);
	printf("truth\t%s/truth.tsv\trows=%zu\n", o->out, tr.n);
	printf("elapsed\t%.2fs\n", secs);
	if (left_out)
		fprintf(stderr, "darkmap scenario: %llu rows of %s outside --from/--to left out\n",
		        (unsigned long long)left_out, sc->t.path);
	ents_free(&E);
	free(ev.v);
	free(tr.v);
	if (close_failures > CLOSE_FAIL_SHOWN)
		fprintf(stderr, "darkmap scenario: %lu more files could not be written (%lu in all)\n",
		        close_failures - CLOSE_FAIL_SHOWN, close_failures);
	rc = rc || g.failed ? EXIT_FAILURE_ : EXIT_OK;
out_gen:
	free(g.st);
	free(g.hold);
	free(g.alt_origin);
	free(g.via);
	free(g.peer);
	free(g.share);
	free(g.t.v);
	geo_db_free(g.geo);
	return rc;
out_table:
	free(all.v);
out:
	geo_db_free(g.geo);
	return rc;
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


static void usage(FILE *f)
{
	fputs("usage: darkmap scenario FILE.tsv|NAME --out DIR [options]\n"
	      "       darkmap scenario selftest --out DIR\n\n"
	      "Plays a scenario file (docs/scenario.md: outages, partial and staged outages,\n"
	      "flaps, re-originations, upstream changes, peer resets, collector gaps, churn) as\n"
	      "MRT archives (TABLE_DUMP_V2 RIB, BGP4MP_ET updates) of simulated full-feed peers at\n"
	      "two collectors, and writes DIR/truth.tsv. NAME is data/scenarios/NAME.tsv\n"
	      "(nk-2014: North Korea, December 2014).\n\n"
	      "  --out DIR          output directory (created; refused if it holds a scenario)\n"
	      "  --table FILE       prefix->origin table, pyasn IPASN format (.gz or plain);\n"
	      "                     default ../shared/data/asn/ipasn_20140513.dat.gz when present\n"
	      "                     (DARKMAP_DATA overrides ../shared/data), else generated\n"
	      "  --rib FILE         take prefix->origin from any MRT RIB dump instead\n"
	      "  --world N          use a generated world table of N prefixes\n"
	      "  --sample N         other prefixes of the table drawn at random (file: sample)\n"
	      "  --countries LIST   take every prefix of these countries too (file: countries)\n"
	      "  --all              every prefix of the table\n"
	      "  --peers N          simulated full-feed peers, half per collector (1..40, file: peers)\n"
	      "  --from T, --to T   span, UTC, on 15-minute boundaries (file: span); rows outside\n"
	      "                     are left out, rows across an edge are cut\n"
	      "  --seed S           random seed (file: seed): same seed, same bytes\n"
	      "  --churn N          background events per hour (file: churn)\n"
	      "  --rir FILE, --ranges FILE, --mmdb FILE, --asnames FILE\n"
	      "                     geo mapping as replay takes it (default: replay's defaults)\n"
	      "  --ris-interval M   minutes per RIS-like update file: 5 (default) or 15\n"
	      "  --rib-every H      also dump RIBs every H hours (default 0: one RIB, at the start)\n"
	      "  --bin-hint S       the bin the scenario is meant for (noted in truth.tsv)\n"
	      "  --force            write into a DIR that holds a scenario (old files stay)\n", f);
}

int cmd_scenario(int argc, char **argv)
{
	struct opts o = {
		.from = -1,
		.to = -1,
		.sample = -1,
		.world = -1,
		.churn = -1,
		.ris_interval = 5,
	};
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	const char *name = argv[1], *timeline = NULL;
	static const struct option lo[] = {
		{ "out", required_argument, 0, 'o' },      { "table", required_argument, 0, 't' },
		{ "rib", required_argument, 0, 'B' },      { "countries", required_argument, 0, 'c' },
		{ "sample", required_argument, 0, 'n' },   { "all", no_argument, 0, 'A' },
		{ "world", required_argument, 0, 'w' },    { "peers", required_argument, 0, 'p' },
		{ "from", required_argument, 0, 'f' },     { "to", required_argument, 0, 'T' },
		{ "seed", required_argument, 0, 's' },     { "churn", required_argument, 0, 'C' },
		{ "ris-interval", required_argument, 0, 'r' },
		{ "timeline", required_argument, 0, 'l' }, { "force", no_argument, 0, 'F' },
		{ "rib-every", required_argument, 0, 'R' }, { "bin-hint", required_argument, 0, 'H' },
		{ "rir", required_argument, 0, 'g' },      { "ranges", required_argument, 0, 'g' },
		{ "mmdb", required_argument, 0, 'g' },     { "asnames", required_argument, 0, 'g' },
		{ "help", no_argument, 0, 'h' },           { 0, 0, 0, 0 },
	};
	optind = 1;
	int ch, li;
	char *end;
	while ((ch = getopt_long(argc - 1, argv + 1, "o:t:h", lo, &li)) != -1) {
		switch (ch) {
		case 'o': o.out = optarg; break;
		case 't': o.table = optarg; break;
		case 'B': o.rib = optarg; break;
		case 'c': o.countries = optarg; break;
		case 'A': o.all = 1; break;
		case 'F': o.force = 1; break;
		case 'l': timeline = optarg; break;
		case 'g':
			if (o.ngeo == 32)
				goto bad;
			o.geo_opt[o.ngeo] = li == 17 ? "--rir" : li == 18 ? "--ranges" : li == 19 ? "--mmdb"
			                    : "--asnames";
			o.geo_file[o.ngeo++] = optarg;
			break;
		case 'n':
			o.sample = strtol(optarg, &end, 10);
			if (*end || end == optarg || o.sample < 0)
				goto bad;
			break;
		case 'w':
			o.world = strtol(optarg, &end, 10);
			if (*end || end == optarg || o.world < 0 || o.world > 5000000)
				goto bad;
			o.world_set = 1;
			break;
		case 'p':
			o.peers = (int)strtol(optarg, &end, 10);
			if (*end || o.peers < 1 || o.peers > MAX_PEERS)
				goto bad;
			break;
		case 'f':
			if (tl_parse_time(optarg, &o.from))
				goto bad;
			break;
		case 'T':
			if (tl_parse_time(optarg, &o.to))
				goto bad;
			break;
		case 's':
			o.seed = strtoull(optarg, &end, 10);
			if (*end || end == optarg)
				goto bad;
			o.seed_set = 1;
			break;
		case 'C':
			o.churn = strtod(optarg, &end);
			if (*end || end == optarg || o.churn < 0)
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
		case 'H':
			o.bin_hint = strtol(optarg, &end, 10);
			if (*end || o.bin_hint < 1 || o.bin_hint > 86400)
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
	if (o.table && o.rib) {
		fputs("darkmap scenario: --table and --rib both given: one table only\n", stderr);
		return EXIT_USAGE;
	}
	char path[PATH_MAX];
	size_t nl = strlen(name);
	if (timeline)
		snprintf(path, sizeof path, "%s", timeline);
	else if (strchr(name, '/') || (nl > 4 && !strcmp(name + nl - 4, ".tsv")))
		snprintf(path, sizeof path, "%s", name);
	else if (scenario_find(name, path, sizeof path)) {
		fprintf(stderr, "darkmap scenario: unknown scenario '%s' (no data/scenarios/%s.tsv; give "
		        "a FILE.tsv, or selftest)\n", name, name);
		return EXIT_USAGE;
	}
	struct scen sc;
	memset(&sc, 0, sizeof sc);
	if (scen_load(path, &sc)) {
		scen_free(&sc);
		return EXIT_USAGE;
	}
	if (sc.errors) {
		scen_free(&sc);
		return EXIT_USAGE;
	}
	if (!o.force && holds_scenario(o.out)) {
		fprintf(stderr, "darkmap scenario: %s already holds a scenario (use --force or another "
		        "directory)\n", o.out);
		scen_free(&sc);
		return EXIT_USAGE;
	}
	int rc = run_scenario(&o, &sc);
	scen_free(&sc);
	return rc;
bad:
	fprintf(stderr, "darkmap scenario: bad option value '%s'\n", optarg);
	return EXIT_USAGE;
}
