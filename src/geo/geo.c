/* Geo database: sources, the flattened per-family interval tables, and the lookups.
 *
 * A source's ranges (RIR lines, CSV lines) may nest or overlap. At load time they are flattened
 * into sorted disjoint segments, each owned by the most specific range covering it, so a lookup
 * is one binary search (IPv4: narrowed first by a 65,536-entry index on the top 16 bits). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "geo/geo_impl.h"

char *geo_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 64;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * elem);
	if (!q)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

/* ---- database and sources ---- */

struct geo_db *geo_db_new(void)
{
	return calloc(1, sizeof(struct geo_db));
}

struct geo_source *geo_source_new(const char *name, enum geo_kind kind)
{
	struct geo_source *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->info.name = geo_strdup(name);
	s->info.kind = kind;
	/* docs/geo.md "Views": RIR files and whois-derived tables record where space is
	 * registered; any other range table or mmdb is taken as geolocation. */
	if (kind == GEO_KIND_RIR || (kind != GEO_KIND_ASNAMES && name &&
	                             (strstr(name, "whois") || strstr(name, "delegated"))))
		s->info.view = GEO_VIEW_REGISTRATION;
	else if (kind != GEO_KIND_ASNAMES)
		s->info.view = GEO_VIEW_GEOLOCATION;
	s->v6.v6 = 1;
	if (!s->info.name) {
		free(s);
		return NULL;
	}
	return s;
}

static void fam_free_segments(struct geo_fam *f)
{
	free(f->lo4);
	free(f->hi4);
	free(f->lo6);
	free(f->hi6);
	free(f->segcc);
	free(f->segrec);
	free(f->bucket4);
	f->lo4 = f->hi4 = NULL;
	f->lo6 = f->hi6 = NULL;
	f->segcc = NULL;
	f->segrec = f->bucket4 = NULL;
	f->nseg = 0;
}

void geo_source_free(struct geo_source *s)
{
	if (!s)
		return;
	geo_mmdb_close(s);
	if (s->mapped) {    /* its arrays and strings are the index file's */
		free(s);
		return;
	}
	fam_free_segments(&s->v4);
	fam_free_segments(&s->v6);
	free(s->v4.rec);
	free(s->v6.rec);
	free(s->as);
	free(s->names);
	free(s->hkey);
	free(s->hval);
	free(s->pool);
	for (size_t i = 0; i < s->info.n_problems; i++)
		free((char *)s->info.problems[i]);
	free((char *)s->info.name);
	free((char *)s->info.detail);
	free(s);
}

void geo_db_free(struct geo_db *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nsrc; i++)
		geo_source_free(g->src[i]);
	geo_db_unflatten(g);
	free(g->src);
	if (g->map)
		munmap(g->map, g->maplen);
	free(g);
}

void geo_db_unflatten(struct geo_db *g)
{
	geo_flat_free(&g->flat[0]);
	geo_flat_free(&g->flat[1]);
}

int geo_db_add(struct geo_db *g, struct geo_source *s)
{
	if (grow((void **)&g->src, &g->capsrc, g->nsrc + 1, sizeof *g->src) < 0)
		return -1;
	g->src[g->nsrc++] = s;
	return 0;
}

struct geo_source *geo_db_find(struct geo_db *g, const char *name, enum geo_kind kind)
{
	for (size_t i = 0; i < g->nsrc; i++)
		if (g->src[i]->info.kind == kind && !strcmp(g->src[i]->info.name, name))
			return g->src[i];
	return NULL;
}

size_t geo_nsources(const struct geo_db *g) { return g->nsrc; }

const char *geo_source_name(const struct geo_db *g, size_t i)
{
	return i < g->nsrc ? g->src[i]->info.name : NULL;
}

const struct geo_source_info *geo_source_info(const struct geo_db *g, size_t i)
{
	return i < g->nsrc ? &g->src[i]->info : NULL;
}

void geo_problem(struct geo_source *s, const char *path, uint32_t line, const char *fmt, ...)
{
	s->info.n_bad++;
	if (s->info.n_problems >= GEO_PROBLEMS_KEPT)
		return;
	char what[256], *msg;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	size_t n = strlen(path) + strlen(what) + 24;
	if (!(msg = malloc(n)))
		return;
	if (line)
		snprintf(msg, n, "%s:%u: %s", path, line, what);
	else
		snprintf(msg, n, "%s: %s", path, what);
	s->info.problems[s->info.n_problems++] = msg;
}

/* ---- addresses as 128-bit integers (IPv4: the low 32 bits) ---- */

u128 geo_ip_u128(const struct dm_ip *ip)
{
	if (ip->afi != DM_AFI_IPV6)
		return dm_ip4(ip);
	u128 v = 0;
	for (int i = 0; i < 16; i++)
		v = v << 8 | ip->b[i];
	return v;
}

void geo_u128_ip(u128 v, int v6, struct dm_ip *ip)
{
	memset(ip, 0, sizeof *ip);
	ip->afi = v6 ? DM_AFI_IPV6 : DM_AFI_IPV4;
	int n = v6 ? 16 : 4;
	for (int i = n - 1; i >= 0; i--) {
		ip->b[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* ---- building a family's segments ---- */

int geo_fam_push(struct geo_fam *f, const struct geo_rec *r)
{
	if (f->nrec >= UINT32_MAX - 1)
		return -1;
	if (grow((void **)&f->rec, &f->caprec, f->nrec + 1, sizeof *f->rec) < 0)
		return -1;
	f->rec[f->nrec++] = *r;
	return 0;
}

static const struct geo_rec *sort_recs;   /* qsort has no context argument in C11 */

static int ord_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	const struct geo_rec *rx = &sort_recs[x], *ry = &sort_recs[y];
	if (rx->lo != ry->lo)
		return rx->lo < ry->lo ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Heap of active ranges; the top is the most specific: smallest size, then earliest line. */
static int better(const struct geo_rec *rec, uint32_t x, uint32_t y)
{
	u128 sx = rec[x].hi - rec[x].lo, sy = rec[y].hi - rec[y].lo;
	if (sx != sy)
		return sx < sy;
	return x < y;
}

static void heap_push(uint32_t *h, size_t *n, uint32_t v, const struct geo_rec *rec)
{
	size_t i = (*n)++;
	h[i] = v;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!better(rec, h[i], h[p]))
			break;
		uint32_t t = h[i];
		h[i] = h[p];
		h[p] = t;
		i = p;
	}
}

static void heap_pop(uint32_t *h, size_t *n, const struct geo_rec *rec)
{
	h[0] = h[--*n];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < *n && better(rec, h[l], h[m]))
			m = l;
		if (r < *n && better(rec, h[r], h[m]))
			m = r;
		if (m == i)
			break;
		uint32_t t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* Sweep over the ranges sorted by start, keeping the covering ones in a heap: each piece of
 * space between two consecutive boundaries belongs to the heap's top. O(n log n). */
int geo_fam_build(struct geo_fam *f)
{
	fam_free_segments(f);
	size_t n = f->nrec;
	if (!n)
		return 0;
	uint32_t *ord = malloc(n * sizeof *ord), *heap = malloc(n * sizeof *heap);
	size_t cap = 2 * n + 1;
	u128 *slo = malloc(cap * sizeof *slo), *shi = malloc(cap * sizeof *shi);
	f->segrec = malloc(cap * sizeof *f->segrec);
	f->segcc = malloc(cap * sizeof *f->segcc);
	if (!ord || !heap || !slo || !shi || !f->segrec || !f->segcc)
		goto nomem;
	for (size_t i = 0; i < n; i++)
		ord[i] = (uint32_t)i;
	sort_recs = f->rec;
	qsort(ord, n, sizeof *ord, ord_cmp);
	sort_recs = NULL;

	const struct geo_rec *rec = f->rec;
	size_t i = 0, nh = 0, ns = 0;
	u128 pos = 0;
	while (i < n || nh) {
		if (!nh)
			pos = rec[ord[i]].lo;
		while (i < n && rec[ord[i]].lo <= pos)
			heap_push(heap, &nh, ord[i++], rec);
		while (nh && rec[heap[0]].hi < pos)
			heap_pop(heap, &nh, rec);
		if (!nh)
			continue;
		uint32_t best = heap[0];
		u128 end = rec[best].hi;
		if (i < n && rec[ord[i]].lo - 1 < end)
			end = rec[ord[i]].lo - 1;   /* a range starts inside: it may be more specific */
		if (ns && f->segrec[ns - 1] == best && shi[ns - 1] + 1 == pos) {
			shi[ns - 1] = end;
		} else {
			slo[ns] = pos;
			shi[ns] = end;
			f->segrec[ns] = best;
			f->segcc[ns] = rec[best].cc;
			ns++;
		}
		if (end == U128_MAX)
			break;
		pos = end + 1;
	}
	f->nseg = ns;
	free(ord);
	free(heap);
	ord = heap = NULL;
	if (f->v6) {
		f->lo6 = slo;
		f->hi6 = shi;
		return 0;
	}
	f->lo4 = malloc((ns ? ns : 1) * sizeof *f->lo4);
	f->hi4 = malloc((ns ? ns : 1) * sizeof *f->hi4);
	f->bucket4 = malloc(65537 * sizeof *f->bucket4);
	if (!f->lo4 || !f->hi4 || !f->bucket4)
		goto nomem;
	for (size_t k = 0; k < ns; k++) {
		f->lo4[k] = (uint32_t)slo[k];
		f->hi4[k] = (uint32_t)shi[k];
	}
	free(slo);
	free(shi);
	size_t k = 0;
	for (uint32_t b = 0; b < 65536; b++) {
		while (k < ns && f->hi4[k] < b << 16)
			k++;
		f->bucket4[b] = (uint32_t)k;
	}
	f->bucket4[65536] = (uint32_t)ns;
	return 0;
nomem:
	free(ord);
	free(heap);
	free(slo);
	free(shi);
	fam_free_segments(f);
	return -1;
}

/* First segment whose end is >= key (nseg when none). */
static size_t seg_find(const struct geo_fam *f, u128 key)
{
	size_t a, b;
	if (!f->v6) {
		uint32_t k4 = (uint32_t)key, k = k4 >> 16;
		a = f->bucket4[k];
		b = f->bucket4[k + 1];
		if (b < f->nseg)
			b++;            /* segment b ends past this bucket: a valid answer */
		if (b > f->nseg)
			b = f->nseg;    /* a damaged index file (geo_index.c) must not lead outside */
		if (a > b)
			a = b;
		while (a < b) {
			size_t m = a + (b - a) / 2;
			if (f->hi4[m] < k4)
				a = m + 1;
			else
				b = m;
		}
		return a;
	}
	return u128_first_ge(f->hi6, f->nseg, key);
}

static inline u128 seg_lo(const struct geo_fam *f, size_t i) { return f->v6 ? f->lo6[i] : f->lo4[i]; }
static inline u128 seg_hi(const struct geo_fam *f, size_t i) { return f->v6 ? f->hi6[i] : f->hi4[i]; }

/* ---- AS tables ---- */

int geo_as_push(struct geo_source *s, const struct geo_asrec *r)
{
	if (grow((void **)&s->as, &s->capas, s->nas + 1, sizeof *s->as) < 0)
		return -1;
	s->as[s->nas++] = *r;
	return 0;
}

static int asrec_cmp(const void *a, const void *b)
{
	const struct geo_asrec *x = a, *y = b;
	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

void geo_as_build(struct geo_source *s)
{
	if (s->nas)
		qsort(s->as, s->nas, sizeof *s->as, asrec_cmp);
}

static const struct geo_asrec *as_find(const struct geo_source *s, uint32_t asn)
{
	size_t a = 0, b = s->nas;   /* first entry with first > asn */
	while (a < b) {
		size_t m = a + (b - a) / 2;
		if (s->as[m].first <= asn)
			a = m + 1;
		else
			b = m;
	}
	/* Entries are disjoint in well-formed files; on overlap the nearest start wins. */
	if (a && s->as[a - 1].last >= asn)
		return &s->as[a - 1];
	return NULL;
}

static inline uint32_t hash32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

static const struct geo_asname *name_find(const struct geo_source *s, uint32_t asn)
{
	if (!s->hcap)
		return NULL;
	size_t mask = s->hcap - 1;
	/* bounded, and the entry checked: the table may come from a damaged index file */
	for (size_t i = hash32(asn) & mask, n = 0; n < s->hcap; i = (i + 1) & mask, n++) {
		if (!s->hval[i])
			return NULL;
		if (s->hkey[i] == asn) {
			if (s->hval[i] > s->nnames || s->names[s->hval[i] - 1].off >= s->npool)
				return NULL;
			return &s->names[s->hval[i] - 1];
		}
	}
	return NULL;
}

static int hash_grow(struct geo_source *s)
{
	size_t ncap = s->hcap ? s->hcap * 2 : 1024;
	uint32_t *k = calloc(ncap, sizeof *k), *v = calloc(ncap, sizeof *v);
	if (!k || !v) {
		free(k);
		free(v);
		return -1;
	}
	for (size_t e = 0; e < s->nnames; e++) {
		size_t i = hash32(s->names[e].asn) & (ncap - 1);
		while (v[i])
			i = (i + 1) & (ncap - 1);
		k[i] = s->names[e].asn;
		v[i] = (uint32_t)e + 1;
	}
	free(s->hkey);
	free(s->hval);
	s->hkey = k;
	s->hval = v;
	s->hcap = ncap;
	return 0;
}

/* The first name given for an AS in a source is kept; later ones are ignored. */
int geo_name_add(struct geo_source *s, uint32_t asn, const char *name, size_t len, uint16_t cc)
{
	if (name_find(s, asn))
		return 0;
	if ((s->nnames + 1) * 2 > s->hcap && hash_grow(s) < 0)
		return -1;
	if (grow((void **)&s->names, &s->capnames, s->nnames + 1, sizeof *s->names) < 0 ||
	    grow((void **)&s->pool, &s->cappool, s->npool + len + 1, 1) < 0 || s->npool > UINT32_MAX)
		return -1;
	memcpy(s->pool + s->npool, name, len);
	s->pool[s->npool + len] = 0;
	s->names[s->nnames] = (struct geo_asname){ asn, (uint32_t)s->npool, cc };
	s->npool += len + 1;
	size_t mask = s->hcap - 1, i = hash32(asn) & mask;
	while (s->hval[i])
		i = (i + 1) & mask;
	s->hkey[i] = asn;
	s->hval[i] = (uint32_t)++s->nnames;
	s->info.n_names = s->nnames;
	return 0;
}

/* ---- lookups ---- */

static void cc_unpack(uint16_t c, geo_cc cc)
{
	if (!c) {
		cc[0] = 0;
		return;
	}
	cc[0] = (char)(c >> 8);
	cc[1] = (char)(c & 0xff);
	cc[2] = 0;
}

static const char *status_name(uint8_t st)
{
	switch (st) {
	case ST_ALLOCATED: return "allocated";
	case ST_ASSIGNED: return "assigned";
	case ST_OTHER: return "other";
	default: return "";
	}
}

static int fam_ip(const struct geo_source *s, const struct geo_fam *f, u128 key, struct geo_ip_hit *hit)
{
	if (!f->nseg)
		return -1;
	size_t i = seg_find(f, key);
	if (i >= f->nseg || seg_lo(f, i) > key)
		return -1;
	if (!hit)
		return 0;
	if (f->segrec[i] >= f->nrec)
		return -1;      /* a damaged index file */
	const struct geo_rec *r = &f->rec[f->segrec[i]];
	memset(hit, 0, sizeof *hit);
	cc_unpack(r->cc, hit->cc);
	geo_u128_ip(r->lo, f->v6, &hit->first);
	geo_u128_ip(r->hi, f->v6, &hit->last);
	u128 size = r->hi - r->lo;      /* size - 1 */
	hit->plen = -1;
	if ((size & (size + 1)) == 0 && (r->lo & size) == 0) {
		int bits = 0;
		while (bits < 128 && (size >> bits) & 1)
			bits++;
		hit->plen = (f->v6 ? 128 : 32) - bits;
	}
	hit->line = r->line;
	if (s->info.kind == GEO_KIND_RIR) {
		char a[DM_IP_STRLEN];
		dm_ip_fmt(&hit->first, a);
		char date[12] = "";
		if (r->date)
			snprintf(date, sizeof date, "%u", r->date);
		if (f->v6)
			snprintf(hit->record, sizeof hit->record, "%s|%s|ipv6|%s|%d|%s|%s", s->registry,
			         hit->cc, a, hit->plen, date, status_name(r->status));
		else
			snprintf(hit->record, sizeof hit->record, "%s|%s|ipv4|%s|%llu|%s|%s", s->registry,
			         hit->cc, a, (unsigned long long)(size + 1), date, status_name(r->status));
	}
	return 0;
}

int geo_source_ip(const struct geo_db *g, size_t i, const struct dm_ip *ip, struct geo_ip_hit *hit)
{
	if (i >= g->nsrc || (ip->afi != DM_AFI_IPV4 && ip->afi != DM_AFI_IPV6))
		return -1;
	const struct geo_source *s = g->src[i];
	if (s->mmdb)
		return geo_mmdb_ip(s, ip, hit);
	const struct geo_fam *f = ip->afi == DM_AFI_IPV6 ? &s->v6 : &s->v4;
	return fam_ip(s, f, geo_ip_u128(ip), hit);
}

int geo_ip_country(const struct geo_db *g, const struct dm_ip *ip, geo_cc cc, const char **source)
{
	struct geo_ip_hit hit;
	for (size_t i = 0; i < g->nsrc && (ip->afi == DM_AFI_IPV4 || ip->afi == DM_AFI_IPV6); i++) {
		const struct geo_source *s = g->src[i];
		if (s->mmdb) {
			if (geo_mmdb_ip(s, ip, &hit) < 0)
				continue;
			memcpy(cc, hit.cc, 3);
		} else {
			const struct geo_fam *f = ip->afi == DM_AFI_IPV6 ? &s->v6 : &s->v4;
			if (!f->nseg)
				continue;
			u128 key = geo_ip_u128(ip);
			size_t k = seg_find(f, key);
			if (k >= f->nseg || seg_lo(f, k) > key)
				continue;
			cc_unpack(f->segcc[k], cc);
		}
		if (source)
			*source = s->info.name;
		return 0;
	}
	memcpy(cc, "ZZ", 3);
	if (source)
		*source = "";
	return -1;
}

/* Address counts per country while a prefix is split. 256 entries hold every assigned code;
 * past that (never seen) further codes are folded into ZZ. With piece set, every covered or
 * uncovered piece goes to it instead (the disagreement walk needs the ranges, not the sums).
 * view (0: every source) limits the walk to the sources of one view. */
struct acc {
	int n;
	int view;
	void (*piece)(void *ctx, u128 lo, u128 hi, uint16_t cc);
	void *pctx;
	uint16_t uncovered;         /* the country of what no source covers: ZZ (0 to flatten) */
	uint16_t cc[256];
	u128 cnt[256];
	/* from ACC_HASHED countries on, where each is in cc (index + 1, 0 free; open addressing):
	 * a wide aggregate's pieces each looked through every country found before were 45% of
	 * splitting a full table's multi-country prefixes (/8s of thousands of pieces, issue 12) */
	uint16_t slot[1024];
};
enum { ACC_HASHED = 16 };

static inline unsigned acc_hash(uint16_t cc) { return (cc * 40503u) >> 6 & 1023; }

static void acc_index(struct acc *a, int i)
{
	unsigned h = acc_hash(a->cc[i]);
	while (a->slot[h])
		h = (h + 1) & 1023;
	a->slot[h] = (uint16_t)(i + 1);
}

static inline u128 span(u128 lo, u128 hi)
{
	u128 n = hi - lo + 1;
	return n ? n : U128_MAX;    /* all of ::/0: one short, irrelevant once counted in /64s */
}

static void acc_count(struct acc *a, uint16_t cc, u128 cnt)
{
	if (a->n < ACC_HASHED) {
		for (int i = 0; i < a->n; i++)
			if (a->cc[i] == cc) {
				a->cnt[i] += cnt;
				return;
			}
	} else {
		for (unsigned h = acc_hash(cc); a->slot[h]; h = (h + 1) & 1023)
			if (a->cc[a->slot[h] - 1] == cc) {
				a->cnt[a->slot[h] - 1] += cnt;
				return;
			}
	}
	if (a->n == 256) {
		if (cc != CC_ZZ)
			acc_count(a, CC_ZZ, cnt);
		return;
	}
	a->cc[a->n] = cc;
	a->cnt[a->n++] = cnt;
	if (a->n == ACC_HASHED) {   /* from here on, through the slots */
		memset(a->slot, 0, sizeof a->slot);
		for (int i = 0; i < a->n; i++)
			acc_index(a, i);
	} else if (a->n > ACC_HASHED) {
		acc_index(a, a->n - 1);
	}
}

static void acc_init(struct acc *a, int view, geo_piece_fn piece, void *pctx)
{
	a->n = 0;
	a->view = view;
	a->piece = piece;
	a->pctx = pctx;
	a->uncovered = CC_ZZ;
}

static void acc_add(struct acc *a, uint16_t cc, u128 lo, u128 hi)
{
	if (a->piece)
		a->piece(a->pctx, lo, hi, cc);
	else
		acc_count(a, cc, span(lo, hi));
}

struct split_ctx {
	const struct geo_db *g;
	size_t next, to;    /* gaps are asked of sources next..to-1 */
	int v6;
	struct acc *a;
};

static void split(const struct geo_db *g, size_t from, size_t to, int v6, u128 lo, u128 hi,
                  struct acc *a);
static void split_sources(const struct geo_db *g, size_t from, size_t to, int v6, u128 lo, u128 hi,
                          struct acc *a);

static void piece_covered(void *ctx, u128 lo, u128 hi, uint16_t cc)
{
	struct split_ctx *c = ctx;
	acc_add(c->a, cc, lo, hi);
}

static void piece_gap(void *ctx, u128 lo, u128 hi, uint16_t cc)
{
	(void)cc;
	struct split_ctx *c = ctx;
	split(c->g, c->next, c->to, c->v6, lo, hi, c->a);
}

/* The flattened view that stands for sources from..to-1 seen through view, when g has one:
 * it begins at the first source and ends at or before to. */
static const struct geo_flat *flat_for(const struct geo_db *g, size_t from, size_t to, int view)
{
	if (from || view < 0 || view > GEO_VIEW_REGISTRATION)
		return NULL;
	for (int k = 0; k < 2; k++) {
		const struct geo_flat *f = &g->flat[k];
		if (f->nsrc && f->nsrc <= to && (f->views >> view & 1))
			return f;
	}
	return NULL;
}

/* split through a flattened view: its pieces, and what it leaves uncovered to the sources
 * after it. */
static void flat_split(const struct geo_db *g, const struct geo_flat *f, size_t to, int v6, u128 lo, u128 hi,
                       struct acc *a)
{
	struct geo_walk4 w = { GEO_WALK4_START, 0 };
	for (u128 pos = lo;; ) {
		uint16_t cc;
		u128 e = v6 ? geo_flat_seg6(f, pos, &cc) : geo_flat_walk4(f, &w, (uint32_t)pos, (uint32_t)hi, &cc);
		if (e > hi)
			e = hi;
		if (cc == GEO_FLAT_ASK)
			split_sources(g, 0, to, v6, pos, e, a);
		else if (cc)
			acc_add(a, cc, pos, e);
		else
			split(g, f->nsrc, to, v6, pos, e, a);
		if (e == hi)
			return;
		pos = e + 1;
	}
}

/* Splits [lo, hi] by sources from..to-1 (of a->view, when set), in order; gaps of one source
 * go to the next. */
static void split(const struct geo_db *g, size_t from, size_t to, int v6, u128 lo, u128 hi,
                  struct acc *a)
{
	const struct geo_flat *fl = flat_for(g, from, to, a->view);
	if (fl)
		flat_split(g, fl, to, v6, lo, hi, a);
	else
		split_sources(g, from, to, v6, lo, hi, a);
}

/* split, source by source */
static void split_sources(const struct geo_db *g, size_t from, size_t to, int v6, u128 lo, u128 hi,
                          struct acc *a)
{
	for (size_t s = from; s < to; s++) {
		const struct geo_source *src = g->src[s];
		if (a->view && (int)src->info.view != a->view)
			continue;
		if (src->mmdb) {
			struct split_ctx c = { g, s + 1, to, v6, a };
			if (geo_mmdb_walk(src, v6, lo, hi, piece_covered, piece_gap, &c) == 0)
				return;
			continue;   /* this family is not in the database */
		}
		const struct geo_fam *f = v6 ? &src->v6 : &src->v4;
		if (!f->nseg)
			continue;
		u128 pos = lo;
		for (size_t i = seg_find(f, lo); i < f->nseg; i++) {
			u128 sl = seg_lo(f, i), sh = seg_hi(f, i);
			if (sl > hi)
				break;
			if (sl > pos) {
				split(g, s + 1, to, v6, pos, sl - 1, a);
				pos = sl;
			}
			u128 e = sh < hi ? sh : hi;
			acc_add(a, f->segcc[i], pos, e);
			if (e == hi)
				return;
			pos = e + 1;
		}
		split(g, s + 1, to, v6, pos, hi, a);
		return;
	}
	acc_add(a, a->uncovered, lo, hi);
}

void geo_split_pieces(const struct geo_db *g, size_t from, size_t to, int view, int v6, u128 lo, u128 hi,
                      int uncovered0, geo_piece_fn fn, void *ctx)
{
	struct acc a;
	acc_init(&a, view, fn, ctx);
	if (uncovered0)
		a.uncovered = 0;
	split(g, from, to, v6, lo, hi, &a);
}

/* The prefix as a family and an inclusive range; -1 when it is neither IPv4 nor IPv6. */
static int prefix_range(const struct dm_prefix *p, int *v6, int *len, u128 *lo, u128 *hi)
{
	if (p->afi != DM_AFI_IPV4 && p->afi != DM_AFI_IPV6)
		return -1;
	*v6 = p->afi == DM_AFI_IPV6;
	int bits = *v6 ? 128 : 32;
	*len = p->len > bits ? bits : p->len;
	struct dm_ip ip = { .afi = p->afi };
	memcpy(ip.b, p->b, 16);
	u128 host = *len == bits ? 0 : (*len == 0 ? (*v6 ? U128_MAX : 0xffffffffu)
	                                          : (((u128)1 << (bits - *len)) - 1));
	*lo = geo_ip_u128(&ip) & ~host;
	if (!*v6)
		*lo &= 0xffffffffu;
	*hi = *lo | host;
	return 0;
}

/* The counts of a as shares, largest first, the largest max of them copied to out. */
static int acc_shares(const struct acc *a, int v6, int len, struct geo_share *out, int max)
{
	/* Largest first, then by code in strcmp's order of the unpacked codes (the packed code's,
	 * its second letter left out when the first is none), by insertion of packed keys: qsort
	 * calling strcmp was a third of a split's time (issue 12); a prefix has few shares, and at
	 * most 256. Codes are distinct (acc_count merges them), so the order is total. */
	struct geo_share all[256];
	uint64_t addrs[256];
	uint16_t code[256];
	for (int i = 0; i < a->n; i++) {
		u128 c = a->cnt[i];
		if (v6)
			c = (c >> 64) + ((c >> 63) & 1);   /* /64s, rounded to nearest */
		uint64_t v = c > UINT64_MAX ? UINT64_MAX : (uint64_t)c;
		uint16_t k = a->cc[i], key = k >> 8 ? k : 0;
		int j = i;
		for (; j > 0 && (addrs[j - 1] < v || (addrs[j - 1] == v && (code[j - 1] >> 8 ? code[j - 1] : 0) > key)); j--) {
			addrs[j] = addrs[j - 1];
			code[j] = code[j - 1];
		}
		addrs[j] = v;
		code[j] = k;
	}
	for (int i = 0; i < a->n; i++) {
		all[i].addrs = addrs[i];
		cc_unpack(code[i], all[i].cc);
	}
	int n = a->n;
	if (v6 && len > 64 && n) {
		all[0].addrs = 1;   /* shorter than one /64: one unit to its main country */
		n = 1;
	}
	n = n < max ? n : max;
	memcpy(out, all, (size_t)n * sizeof *out);
	return n;
}

/* An IPv4 range inside one segment of the first source split would ask (nearly every prefix of
 * a table): that segment's country for all of it, as split and acc_shares give it (one piece,
 * one share), without them; 0 when not so (a gap, several segments, an mmdb source: split).
 * A replay asks once per new prefix: split and its u128 ranges were 58% of the mapping's cost
 * in a one-peer table's replay (issue 12). */
static uint16_t flat4_one(const struct geo_flat *fl, uint32_t lo, uint32_t hi)
{
	uint16_t cc;
	if (geo_flat_seg4(fl, lo, hi, &cc) < hi || cc == GEO_FLAT_ASK)
		return 0;
	return cc;
}

static int split4_one(const struct geo_db *g, size_t from, size_t to, int view, uint32_t lo, uint32_t hi,
                      struct geo_share *out)
{
	const struct geo_flat *fl = flat_for(g, from, to, view);
	if (fl) {
		uint16_t cc = flat4_one(fl, lo, hi);
		if (!cc)
			return 0;
		out->addrs = (uint64_t)hi - lo + 1;
		cc_unpack(cc, out->cc);
		return 1;
	}
	for (size_t s = from; s < to; s++) {
		const struct geo_source *src = g->src[s];
		if (view && (int)src->info.view != view)
			continue;
		if (src->mmdb)
			return 0;
		const struct geo_fam *f = &src->v4;
		if (!f->nseg)
			continue;
		size_t i = seg_find(f, lo);
		if (i == f->nseg || f->lo4[i] > lo || f->hi4[i] < hi)
			return 0;
		out->addrs = (uint64_t)hi - lo + 1;
		cc_unpack(f->segcc[i], out->cc);
		return 1;
	}
	return 0;
}

static int prefix_split(const struct geo_db *g, size_t from, size_t to, int view,
                        const struct dm_prefix *p, struct geo_share *out, int max)
{
	int v6, len;
	u128 lo, hi;
	if (max > 0 && p->afi == DM_AFI_IPV4) {   /* prefix_range's IPv4 range, in 32 bits */
		uint32_t a = (uint32_t)p->b[0] << 24 | (uint32_t)p->b[1] << 16 | (uint32_t)p->b[2] << 8 | p->b[3];
		uint32_t host = p->len >= 32 ? 0 : 0xffffffffu >> p->len;
		if (split4_one(g, from, to, view, a & ~host, (a & ~host) | host, out))
			return 1;
	}
	if (max <= 0 || prefix_range(p, &v6, &len, &lo, &hi) < 0)
		return 0;
	struct acc a;
	acc_init(&a, view, NULL, NULL);
	split(g, from, to, v6, lo, hi, &a);
	return acc_shares(&a, v6, len, out, max);
}

uint16_t geo_range4_country(const struct geo_db *g, uint32_t lo, uint32_t hi)
{
	const struct geo_flat *fl = flat_for(g, 0, g->nsrc, 0);
	return fl ? flat4_one(fl, lo, hi) : 0;
}

void geo_range4_countries(const struct geo_db *g, const uint32_t *lo, const uint32_t *hi, uint16_t *cc, size_t n)
{
	const struct geo_flat *fl = flat_for(g, 0, g->nsrc, 0);
	if (!fl) {
		memset(cc, 0, n * sizeof *cc);
		return;
	}
	/* one loop of independent lookups, which the core overlaps by itself: prefetching 16 and 8
	 * lookups ahead measured no different (without it 0.992 and 1.011 of the wall, 31 and 41
	 * rounds of the one-table replay) */
	for (size_t j = 0; j < n; j++)
		cc[j] = flat4_one(fl, lo[j], hi[j]);
}

int geo_flattened(const struct geo_db *g)
{
	return g && flat_for(g, 0, g->nsrc, 0) != NULL;
}

int geo_prefix_countries(const struct geo_db *g, const struct dm_prefix *p, struct geo_share *out,
                         int max)
{
	return prefix_split(g, 0, g->nsrc, 0, p, out, max);
}

int geo_source_prefix_countries(const struct geo_db *g, size_t i, const struct dm_prefix *p,
                                struct geo_share *out, int max)
{
	if (i >= g->nsrc)
		return 0;
	return prefix_split(g, i, i + 1, 0, p, out, max);
}

static int has_view(const struct geo_db *g, int view)
{
	for (size_t i = 0; i < g->nsrc; i++)
		if ((int)g->src[i]->info.view == view)
			return 1;
	return 0;
}

int geo_prefix_views(const struct geo_db *g, const struct dm_prefix *p, struct geo_share *geoloc,
                     int *ngeoloc, struct geo_share *reg, int *nreg, int max)
{
	*ngeoloc = *nreg = 0;
	if (p->afi != DM_AFI_IPV4 && p->afi != DM_AFI_IPV6)
		return -1;
	if (has_view(g, GEO_VIEW_GEOLOCATION))
		*ngeoloc = prefix_split(g, 0, g->nsrc, GEO_VIEW_GEOLOCATION, p, geoloc, max);
	if (has_view(g, GEO_VIEW_REGISTRATION))
		*nreg = prefix_split(g, 0, g->nsrc, GEO_VIEW_REGISTRATION, p, reg, max);
	return 0;
}

/* The disagreement walk: each geolocation piece with a country is split again by the
 * registration view; what registration places in another country is counted. */
struct pair_acc;
struct differ_ctx {
	const struct geo_db *g;
	int v6;
	uint16_t geo_cc;
	struct acc *out;            /* by registration country, or */
	struct pair_acc *pairs;     /* by (geolocation, registration) when set */
};

/* The pairs walk keys its counts by (geolocation, registration) packed in 32 bits. */
struct pair_acc {
	int n;
	uint32_t key[256];
	u128 cnt[256];
};

static void differ_reg_piece(void *ctx, u128 lo, u128 hi, uint16_t cc)
{
	struct differ_ctx *d = ctx;
	if (cc == CC_ZZ || cc == d->geo_cc)
		return;
	if (!d->pairs) {
		acc_count(d->out, cc, span(lo, hi));
		return;
	}
	uint32_t key = (uint32_t)d->geo_cc << 16 | cc;
	struct pair_acc *pa = d->pairs;
	for (int i = 0; i < pa->n; i++)
		if (pa->key[i] == key) {
			pa->cnt[i] += span(lo, hi);
			return;
		}
	if (pa->n < 256) {
		pa->key[pa->n] = key;
		pa->cnt[pa->n++] = span(lo, hi);
	}
}

static void differ_geo_piece(void *ctx, u128 lo, u128 hi, uint16_t cc)
{
	struct differ_ctx *d = ctx;
	if (cc == CC_ZZ)
		return;     /* no geolocation answer: registration answers, nothing to disagree on */
	struct differ_ctx inner = *d;
	inner.geo_cc = cc;
	struct acc r;
	acc_init(&r, GEO_VIEW_REGISTRATION, differ_reg_piece, &inner);
	split(d->g, 0, d->g->nsrc, d->v6, lo, hi, &r);
}

int geo_prefix_disagreement(const struct geo_db *g, const struct dm_prefix *p, struct geo_share *out,
                            int max)
{
	int v6, len;
	u128 lo, hi;
	if (max <= 0 || prefix_range(p, &v6, &len, &lo, &hi) < 0 ||
	    !has_view(g, GEO_VIEW_GEOLOCATION) || !has_view(g, GEO_VIEW_REGISTRATION))
		return 0;
	struct acc counts;
	acc_init(&counts, 0, NULL, NULL);
	struct differ_ctx d = { g, v6, 0, &counts, NULL };
	struct acc walk;
	acc_init(&walk, GEO_VIEW_GEOLOCATION, differ_geo_piece, &d);
	split(g, 0, g->nsrc, v6, lo, hi, &walk);
	if (v6 && len > 64)
		return 0;   /* less than one /64: counted in /64s it rounds to nothing */
	return acc_shares(&counts, v6, len, out, max);
}

static int differ_cmp(const void *x, const void *y)
{
	const struct geo_differ *a = x, *b = y;
	if (a->addrs != b->addrs)
		return a->addrs > b->addrs ? -1 : 1;
	int c = strcmp(a->geoloc, b->geoloc);
	return c ? c : strcmp(a->reg, b->reg);
}

int geo_prefix_differ(const struct geo_db *g, const struct dm_prefix *p, struct geo_differ *out,
                      int max)
{
	int v6, len;
	u128 lo, hi;
	if (max <= 0 || prefix_range(p, &v6, &len, &lo, &hi) < 0 ||
	    !has_view(g, GEO_VIEW_GEOLOCATION) || !has_view(g, GEO_VIEW_REGISTRATION) ||
	    (v6 && len > 64))
		return 0;
	static _Thread_local struct pair_acc pa;   /* 5 KB: off the caller's stack */
	pa.n = 0;
	struct differ_ctx d = { g, v6, 0, NULL, &pa };
	struct acc walk;
	acc_init(&walk, GEO_VIEW_GEOLOCATION, differ_geo_piece, &d);
	split(g, 0, g->nsrc, v6, lo, hi, &walk);
	struct geo_differ all[256];
	for (int i = 0; i < pa.n; i++) {
		u128 c = pa.cnt[i];
		if (v6)
			c = (c >> 64) + ((c >> 63) & 1);
		all[i].addrs = c > UINT64_MAX ? UINT64_MAX : (uint64_t)c;
		cc_unpack((uint16_t)(pa.key[i] >> 16), all[i].geoloc);
		cc_unpack((uint16_t)pa.key[i], all[i].reg);
	}
	qsort(all, (size_t)pa.n, sizeof all[0], differ_cmp);
	int n = pa.n < max ? pa.n : max;
	memcpy(out, all, (size_t)n * sizeof *out);
	return n;
}

int geo_ip_view_country(const struct geo_db *g, int view, const struct dm_ip *ip, geo_cc cc,
                        const char **source)
{
	struct geo_ip_hit hit;
	for (size_t i = 0; i < g->nsrc; i++) {
		if (view && (int)g->src[i]->info.view != view)
			continue;
		if (g->src[i]->info.kind == GEO_KIND_ASNAMES || geo_source_ip(g, i, ip, &hit) < 0)
			continue;
		memcpy(cc, hit.cc, 3);
		if (source)
			*source = g->src[i]->info.name;
		return 0;
	}
	memcpy(cc, "ZZ", 3);
	if (source)
		*source = "";
	return -1;
}

int geo_source_as(const struct geo_db *g, size_t i, uint32_t asn, struct geo_as_hit *hit)
{
	if (i >= g->nsrc)
		return -1;
	const struct geo_source *s = g->src[i];
	memset(hit, 0, sizeof *hit);
	const struct geo_asrec *r = s->nas ? as_find(s, asn) : NULL;
	if (r) {
		cc_unpack(r->cc, hit->cc);
		hit->first = r->first;
		hit->last = r->last;
		hit->line = r->line;
		char date[12] = "";
		if (r->date)
			snprintf(date, sizeof date, "%u", r->date);
		snprintf(hit->record, sizeof hit->record, "%s|%s|asn|%u|%llu|%s|%s", s->registry, hit->cc,
		         r->first, (unsigned long long)r->last - r->first + 1, date, status_name(r->status));
		return 0;
	}
	const struct geo_asname *n = name_find(s, asn);
	if (n) {
		hit->name = s->pool + n->off;
		cc_unpack(n->cc, hit->cc);
		hit->first = hit->last = asn;
		return 0;
	}
	return -1;
}

const char *geo_as_name(const struct geo_db *g, uint32_t asn)
{
	for (size_t i = 0; i < g->nsrc; i++) {
		const struct geo_asname *n = name_find(g->src[i], asn);
		if (n)
			return g->src[i]->pool + n->off;
	}
	return NULL;
}

/* RIR asn lines and the trailing ", CC" of names, first source in load order. */
int geo_as_country(const struct geo_db *g, uint32_t asn, geo_cc cc)
{
	for (size_t i = 0; i < g->nsrc; i++) {
		const struct geo_source *s = g->src[i];
		const struct geo_asrec *r = s->nas ? as_find(s, asn) : NULL;
		if (r) {
			cc_unpack(r->cc, cc);
			return 0;
		}
		const struct geo_asname *n = name_find(s, asn);
		if (n && n->cc) {
			cc_unpack(n->cc, cc);
			return 0;
		}
	}
	memcpy(cc, "ZZ", 3);
	return -1;
}
