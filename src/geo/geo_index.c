/* The mapping index: the default sources, parsed and flattened once, written as one binary
 * file that later starts map instead of parsing 80 MB of CSV and RIR text (docs/geo.md "The
 * mapping index").
 *
 * Layout (native byte order and alignment; the header says which, a reader of another
 * machine refuses the file):
 *
 *   struct ix_header                       magic, format version, file size, table checksum
 *   struct ix_source[nsrc]                 per source: counts, and where each array lies
 *   key                                    the text naming the inputs (paths, sizes, mtimes)
 *   arrays                                 each 16-aligned: records, segments, names, strings
 *
 * The header, the source table and the key are checked by a checksum; every array is checked
 * to lie inside the file with the length its source says. The arrays' contents are not
 * summed (that would read, and keep resident, the whole file at every start): the lookups
 * that read them bound every index they take from the file (geo.c), so a damaged array gives
 * wrong answers for some addresses, never a read outside the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "geo/geo_impl.h"

#define IX_MAGIC "DMGEOIX"
enum { IX_VERSION = 2, IX_ALIGN = 16, IX_BYTE_ORDER = 0x01020304 };

struct ix_arr {
	uint64_t off, n;            /* byte offset in the file, element count */
};

struct ix_fam {
	struct ix_arr rec, lo4, hi4, lo6, hi6, segcc, segrec, bucket4;
	uint64_t nseg;
};

struct ix_source {
	uint32_t kind, view;
	uint64_t n_ipv4, n_ipv6, n_asn, n_names, n_skipped, n_bad, n_problems;
	char registry[16];
	struct ix_arr name, detail, problems[GEO_PROBLEMS_KEPT];   /* strings, NUL included */
	struct ix_fam v4, v6;
	struct ix_arr as, names, hkey, hval, pool;
};

/* A flattened view of every source of the file (geo_impl.h struct geo_flat). */
struct ix_flat {
	uint32_t view, pad;
	uint64_t n4, n6;
	struct ix_arr bucket4, end4, cc4, end6, cc6;
	uint16_t cctab[256];
};

struct ix_header {
	char magic[8];
	uint32_t version, byte_order;
	uint32_t sizeof_rec, sizeof_asrec;  /* the record layouts this build writes */
	uint64_t file_size;
	uint64_t nsrc;
	struct ix_arr key;
	struct ix_flat flat[2];     /* every source (view 0); the registration view */
	uint64_t check;             /* FNV-1a of the header (check = 0), source table and key */
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

/* ---- writing ---- */

struct ix_out {
	FILE *f;
	uint64_t pos;
	int bad;
};

static struct ix_arr put(struct ix_out *o, const void *p, size_t n, size_t elem)
{
	static const uint8_t zero[IX_ALIGN];
	struct ix_arr a = { 0, 0 };
	if (!p || !n)
		return a;
	size_t pad = (IX_ALIGN - o->pos % IX_ALIGN) % IX_ALIGN;
	if (pad && fwrite(zero, 1, pad, o->f) != pad)
		o->bad = 1;
	o->pos += pad;
	a.off = o->pos;
	a.n = n;
	if (fwrite(p, elem, n, o->f) != n)
		o->bad = 1;
	o->pos += (uint64_t)n * elem;
	return a;
}

static struct ix_arr put_str(struct ix_out *o, const char *s)
{
	return s ? put(o, s, strlen(s) + 1, 1) : (struct ix_arr){ 0, 0 };
}

static void put_fam(struct ix_out *o, const struct geo_fam *f, struct ix_fam *x)
{
	x->nseg = f->nseg;
	x->rec = put(o, f->rec, f->nrec, sizeof *f->rec);
	if (!f->nseg)
		return;
	if (f->v6) {
		x->lo6 = put(o, f->lo6, f->nseg, sizeof *f->lo6);
		x->hi6 = put(o, f->hi6, f->nseg, sizeof *f->hi6);
	} else {
		x->lo4 = put(o, f->lo4, f->nseg, sizeof *f->lo4);
		x->hi4 = put(o, f->hi4, f->nseg, sizeof *f->hi4);
		x->bucket4 = put(o, f->bucket4, 65537, sizeof *f->bucket4);
	}
	x->segcc = put(o, f->segcc, f->nseg, sizeof *f->segcc);
	x->segrec = put(o, f->segrec, f->nseg, sizeof *f->segrec);
}

static void put_flat(struct ix_out *o, const struct geo_db *g, int view, struct ix_flat *x)
{
	struct geo_flat f;
	if (geo_flat_build(g, view, &f) < 0) {
		o->bad = 1;
		return;
	}
	x->view = (uint32_t)view;
	x->n4 = f.n4;
	x->n6 = f.n6;
	x->bucket4 = put(o, f.bucket4, 65537, sizeof *f.bucket4);
	x->end4 = put(o, f.end4, f.n4, sizeof *f.end4);
	x->cc4 = put(o, f.cc4, f.n4, sizeof *f.cc4);
	x->end6 = put(o, f.end6, f.n6, sizeof *f.end6);
	x->cc6 = put(o, f.cc6, f.n6, sizeof *f.cc6);
	memcpy(x->cctab, f.cctab, sizeof x->cctab);
	geo_flat_free(&f);
}

int geo_index_write(const struct geo_db *g, const char *path, const char *key, struct dm_error *err)
{
	struct ix_header h;
	memset(&h, 0, sizeof h);
	memcpy(h.magic, IX_MAGIC, 8);
	h.version = IX_VERSION;
	h.byte_order = IX_BYTE_ORDER;
	h.sizeof_rec = sizeof(struct geo_rec);
	h.sizeof_asrec = sizeof(struct geo_asrec);
	h.nsrc = g->nsrc;
	struct ix_source *xs = calloc(g->nsrc ? g->nsrc : 1, sizeof *xs);
	struct ix_out o = { fopen(path, "wb"), 0, 0 };
	if (!xs || !o.f) {
		free(xs);
		if (o.f)
			fclose(o.f);
		return dm_fail(err, DM_ERR_IO, 0, "%s: cannot write the mapping index", path);
	}
	/* the tables are written last, over the space kept for them here */
	size_t table = sizeof h + g->nsrc * sizeof *xs;
	for (size_t i = 0; i < table; i++)
		if (fputc(0, o.f) == EOF)
			o.bad = 1;
	o.pos = table;
	h.key = put_str(&o, key);
	for (size_t i = 0; i < g->nsrc; i++) {
		const struct geo_source *s = g->src[i];
		struct ix_source *x = &xs[i];
		if (s->mmdb)
			o.bad = 1;      /* an mmdb is mapped by libmaxminddb already: not indexed */
		x->kind = s->info.kind;
		x->view = s->info.view;
		x->n_ipv4 = s->info.n_ipv4;
		x->n_ipv6 = s->info.n_ipv6;
		x->n_asn = s->info.n_asn;
		x->n_names = s->info.n_names;
		x->n_skipped = s->info.n_skipped;
		x->n_bad = s->info.n_bad;
		x->n_problems = s->info.n_problems;
		memcpy(x->registry, s->registry, sizeof x->registry);
		x->name = put_str(&o, s->info.name);
		x->detail = put_str(&o, s->info.detail);
		for (size_t k = 0; k < s->info.n_problems; k++)
			x->problems[k] = put_str(&o, s->info.problems[k]);
	}
	/* What every start reads (the strings above) and what a replay reads for every prefix
	 * (the flattened views) lie together at the head of the file: a page fault maps its
	 * neighbours too (64 KB and more here), and the sources' tables around a string made
	 * 0.7 MB of a replay's resident mapping, read by nobody (issue 12). */
	put_flat(&o, g, 0, &h.flat[0]);
	put_flat(&o, g, GEO_VIEW_REGISTRATION, &h.flat[1]);
	for (size_t i = 0; i < g->nsrc; i++) {
		const struct geo_source *s = g->src[i];
		struct ix_source *x = &xs[i];
		put_fam(&o, &s->v4, &x->v4);
		put_fam(&o, &s->v6, &x->v6);
		x->as = put(&o, s->as, s->nas, sizeof *s->as);
		x->names = put(&o, s->names, s->nnames, sizeof *s->names);
		x->hkey = put(&o, s->hkey, s->hcap, sizeof *s->hkey);
		x->hval = put(&o, s->hval, s->hcap, sizeof *s->hval);
		x->pool = put(&o, s->pool, s->npool, 1);
	}
	h.file_size = o.pos;
	uint64_t c = fnv(0xcbf29ce484222325ULL, &h, sizeof h);
	c = fnv(c, xs, g->nsrc * sizeof *xs);
	h.check = fnv(c, key ? key : "", key ? strlen(key) + 1 : 0);
	if (fseek(o.f, 0, SEEK_SET) != 0 || fwrite(&h, sizeof h, 1, o.f) != 1 ||
	    (g->nsrc && fwrite(xs, sizeof *xs, g->nsrc, o.f) != g->nsrc))
		o.bad = 1;
	free(xs);
	if (fclose(o.f) != 0)
		o.bad = 1;
	if (o.bad)
		return dm_fail(err, DM_ERR_IO, 0, "%s: cannot write the mapping index", path);
	return 0;
}

/* ---- reading ---- */

/* The array a of n elements of elem bytes inside the image; NULL with *ok = 0 when it is not. */
static const void *arr(const uint8_t *base, size_t len, struct ix_arr a, uint64_t n, size_t elem, int *ok)
{
	if (a.n != n) {
		*ok = 0;
		return NULL;
	}
	if (!n)
		return a.off == 0 ? NULL : (*ok = 0, NULL);
	if (a.off % IX_ALIGN || a.off > len || n > (len - a.off) / elem) {
		*ok = 0;
		return NULL;
	}
	return base + a.off;
}

/* A NUL-terminated string inside the image (NULL for an absent one). */
static const char *str(const uint8_t *base, size_t len, struct ix_arr a, int *ok)
{
	if (!a.n && !a.off)
		return NULL;
	const char *s = arr(base, len, a, a.n, 1, ok);
	if (s && s[a.n - 1] != 0) {
		*ok = 0;
		return NULL;
	}
	return s;
}

static int fam_attach(const uint8_t *b, size_t len, const struct ix_fam *x, struct geo_fam *f)
{
	int ok = 1;
	if (x->rec.n > UINT32_MAX || x->nseg > 2 * x->rec.n + 1)
		return -1;
	f->nrec = (size_t)x->rec.n;
	f->rec = (struct geo_rec *)arr(b, len, x->rec, x->rec.n, sizeof *f->rec, &ok);
	f->nseg = (size_t)x->nseg;
	uint64_t n4 = f->v6 ? 0 : x->nseg, n6 = f->v6 ? x->nseg : 0;
	f->lo4 = (uint32_t *)arr(b, len, x->lo4, n4, sizeof *f->lo4, &ok);
	f->hi4 = (uint32_t *)arr(b, len, x->hi4, n4, sizeof *f->hi4, &ok);
	f->bucket4 = (uint32_t *)arr(b, len, x->bucket4, n4 ? 65537 : 0, sizeof *f->bucket4, &ok);
	f->lo6 = (u128 *)arr(b, len, x->lo6, n6, sizeof *f->lo6, &ok);
	f->hi6 = (u128 *)arr(b, len, x->hi6, n6, sizeof *f->hi6, &ok);
	f->segcc = (uint16_t *)arr(b, len, x->segcc, x->nseg, sizeof *f->segcc, &ok);
	f->segrec = (uint32_t *)arr(b, len, x->segrec, x->nseg, sizeof *f->segrec, &ok);
	return ok ? 0 : -1;
}

static int source_attach(const uint8_t *b, size_t len, const struct ix_source *x, struct geo_source *s)
{
	int ok = 1;
	if (x->kind < GEO_KIND_RIR || x->kind > GEO_KIND_ASNAMES || x->kind == GEO_KIND_MMDB ||
	    x->view > GEO_VIEW_REGISTRATION || x->n_problems > GEO_PROBLEMS_KEPT)
		return -1;
	s->mapped = 1;
	s->info.kind = (enum geo_kind)x->kind;
	s->info.view = (enum geo_view)x->view;
	s->info.n_ipv4 = (size_t)x->n_ipv4;
	s->info.n_ipv6 = (size_t)x->n_ipv6;
	s->info.n_asn = (size_t)x->n_asn;
	s->info.n_names = (size_t)x->n_names;
	s->info.n_skipped = (size_t)x->n_skipped;
	s->info.n_bad = (size_t)x->n_bad;
	s->info.n_problems = (size_t)x->n_problems;
	memcpy(s->registry, x->registry, sizeof s->registry);
	s->registry[sizeof s->registry - 1] = 0;
	s->info.name = str(b, len, x->name, &ok);
	s->info.detail = str(b, len, x->detail, &ok);
	for (size_t k = 0; k < s->info.n_problems; k++)
		if (!(s->info.problems[k] = str(b, len, x->problems[k], &ok)))
			ok = 0;
	s->v6.v6 = 1;
	if (!s->info.name || fam_attach(b, len, &x->v4, &s->v4) < 0 || fam_attach(b, len, &x->v6, &s->v6) < 0)
		return -1;
	s->nas = (size_t)x->as.n;
	s->as = (struct geo_asrec *)arr(b, len, x->as, x->as.n, sizeof *s->as, &ok);
	s->nnames = (size_t)x->names.n;
	s->names = (struct geo_asname *)arr(b, len, x->names, x->names.n, sizeof *s->names, &ok);
	s->hcap = (size_t)x->hkey.n;
	s->hkey = (uint32_t *)arr(b, len, x->hkey, x->hkey.n, sizeof *s->hkey, &ok);
	s->hval = (uint32_t *)arr(b, len, x->hval, x->hkey.n, sizeof *s->hval, &ok);
	s->npool = (size_t)x->pool.n;
	s->pool = (char *)arr(b, len, x->pool, x->pool.n, 1, &ok);
	/* the hash is probed with a mask; names end inside the pool */
	if ((s->hcap & (s->hcap - 1)) || (s->nnames && s->hcap <= s->nnames) || s->nnames > UINT32_MAX ||
	    (s->npool && s->pool && s->pool[s->npool - 1] != 0) || (s->nnames && !s->npool))
		ok = 0;
	return ok ? 0 : -1;
}

/* A flattened view of the file's nsrc sources; 0 when it lies in the file as its table says. */
static int flat_attach(const uint8_t *b, size_t len, const struct ix_flat *x, size_t nsrc, struct geo_flat *f)
{
	int ok = 1;
	memset(f, 0, sizeof *f);
	if (x->view > GEO_VIEW_REGISTRATION || !x->n4 || x->n4 > UINT32_MAX || !x->n6)
		return -1;      /* a partition of each family: one segment at least */
	f->views = 1u << x->view;
	f->nsrc = nsrc;
	f->n4 = (size_t)x->n4;
	f->n6 = (size_t)x->n6;
	f->bucket4 = (const uint32_t *)arr(b, len, x->bucket4, 65537, sizeof *f->bucket4, &ok);
	f->end4 = (const uint16_t *)arr(b, len, x->end4, x->n4, sizeof *f->end4, &ok);
	f->cc4 = (const uint8_t *)arr(b, len, x->cc4, x->n4, sizeof *f->cc4, &ok);
	f->end6 = (const u128 *)arr(b, len, x->end6, x->n6, sizeof *f->end6, &ok);
	f->cc6 = (const uint8_t *)arr(b, len, x->cc6, x->n6, sizeof *f->cc6, &ok);
	memcpy(f->cctab, x->cctab, sizeof f->cctab);
	if (!ok)
		memset(f, 0, sizeof *f);
	return ok ? 0 : -1;
}

int geo_index_attach(struct geo_db *g, const void *buf, size_t len, const char *key, int skip_view,
                     struct dm_error *err)
{
	const uint8_t *b = buf;
	struct ix_header h;
	if (len < sizeof h)
		return dm_fail(err, DM_ERR_TRUNCATED, len, "mapping index: %zu bytes, shorter than its header", len);
	memcpy(&h, b, sizeof h);
	if (memcmp(h.magic, IX_MAGIC, 8) != 0)
		return dm_fail(err, DM_ERR_BAD_TYPE, 0, "mapping index: not an index file (magic)");
	if (h.version != IX_VERSION || h.byte_order != IX_BYTE_ORDER || h.sizeof_rec != sizeof(struct geo_rec) ||
	    h.sizeof_asrec != sizeof(struct geo_asrec))
		return dm_fail(err, DM_ERR_BAD_TYPE, 8, "mapping index: format version %u, expected %u", h.version,
		               IX_VERSION);
	if (h.file_size != len)
		return dm_fail(err, DM_ERR_TRUNCATED, len, "mapping index: %zu bytes, its header says %llu", len,
		               (unsigned long long)h.file_size);
	if (h.nsrc > 4096 || h.nsrc * sizeof(struct ix_source) > len - sizeof h)
		return dm_fail(err, DM_ERR_BAD_LENGTH, 0, "mapping index: %llu sources do not fit",
		               (unsigned long long)h.nsrc);
	int ok = 1;
	const char *k = str(b, len, h.key, &ok);
	if (!ok || !k)
		return dm_fail(err, DM_ERR_BAD_LENGTH, 0, "mapping index: key outside the file");
	const struct ix_source *xs = (const struct ix_source *)(b + sizeof h);
	uint64_t want = h.check;
	h.check = 0;
	uint64_t c = fnv(0xcbf29ce484222325ULL, &h, sizeof h);
	c = fnv(c, xs, (size_t)h.nsrc * sizeof *xs);
	if (fnv(c, k, strlen(k) + 1) != want)
		return dm_fail(err, DM_ERR_BAD_VALUE, 0, "mapping index: checksum mismatch (damaged)");
	if (key && strcmp(key, k) != 0)
		return dm_fail(err, DM_ERR_BAD_VALUE, 0, "mapping index: built from other source files (stale)");
	size_t first = g->nsrc;
	for (size_t i = 0; i < h.nsrc; i++) {
		struct ix_source x;
		memcpy(&x, &xs[i], sizeof x);   /* the table's alignment is the header's */
		struct geo_source *s = calloc(1, sizeof *s);
		if (!s || source_attach(b, len, &x, s) < 0 || geo_db_find(g, s->info.name, s->info.kind)) {
			free(s);
			goto damaged;
		}
		if (skip_view && (int)s->info.view == skip_view) {
			free(s);
			continue;
		}
		if (geo_db_add(g, s) < 0) {
			free(s);
			goto damaged;
		}
	}
	/* The flattened views stand for the file's sources as the database's first ones: every
	 * source through view 0 when none was left out; the registration view also through
	 * view 0 when the geolocation sources were. */
	struct geo_flat fl[2];
	if (flat_attach(b, len, &h.flat[0], g->nsrc - first, &fl[0]) < 0 || h.flat[0].view != 0 ||
	    flat_attach(b, len, &h.flat[1], g->nsrc - first, &fl[1]) < 0 || h.flat[1].view != GEO_VIEW_REGISTRATION)
		goto damaged;
	if (first == 0 && !g->flat[0].nsrc && !g->flat[1].nsrc) {
		if (!skip_view)
			g->flat[0] = fl[0];
		if (skip_view == GEO_VIEW_GEOLOCATION)
			fl[1].views |= 1u;
		if (skip_view != GEO_VIEW_REGISTRATION)
			g->flat[1] = fl[1];
	}
	return 0;
damaged:
	while (g->nsrc > first)
		geo_source_free(g->src[--g->nsrc]);
	return dm_fail(err, DM_ERR_BAD_VALUE, 0, "mapping index: a source's tables lie outside the file");
}

/* The checksum of an image recomputed over whatever its tables say now: for the fuzz target
 * and the tests, to reach the checks behind it with damaged tables. */
void geo_index_reseal(void *buf, size_t len)
{
	struct ix_header h;
	if (len < sizeof h)
		return;
	memcpy(&h, buf, sizeof h);
	int ok = 1;
	const char *k = str(buf, len, h.key, &ok);
	if (!ok || !k || h.nsrc > 4096 || h.nsrc * sizeof(struct ix_source) > len - sizeof h)
		return;
	h.check = 0;
	uint64_t c = fnv(0xcbf29ce484222325ULL, &h, sizeof h);
	c = fnv(c, (const uint8_t *)buf + sizeof h, (size_t)h.nsrc * sizeof(struct ix_source));
	h.check = fnv(c, k, strlen(k) + 1);
	memcpy(buf, &h, sizeof h);
}

/* ---- a mapped source made the heap's, so that a loader may add to it ---- */

static int dup(void *pp, size_t n)
{
	void **p = pp;
	if (!*p || !n) {
		*p = NULL;
		return 0;
	}
	void *q = malloc(n);
	if (!q)
		return -1;
	memcpy(q, *p, n);
	*p = q;
	return 0;
}

static int dup_str(const char **s)
{
	return *s ? dup((void *)s, strlen(*s) + 1) : 0;
}

static int fam_own(struct geo_fam *f)
{
	f->caprec = f->nrec;
	return dup(&f->rec, f->nrec * sizeof *f->rec) | dup(&f->lo4, f->nseg * sizeof *f->lo4) |
	       dup(&f->hi4, f->nseg * sizeof *f->hi4) | dup(&f->lo6, f->nseg * sizeof *f->lo6) |
	       dup(&f->hi6, f->nseg * sizeof *f->hi6) | dup(&f->segcc, f->nseg * sizeof *f->segcc) |
	       dup(&f->segrec, f->nseg * sizeof *f->segrec) |
	       dup(&f->bucket4, f->bucket4 ? 65537 * sizeof *f->bucket4 : 0);
}

int geo_source_own(struct geo_source *s)
{
	if (!s->mapped)
		return 0;
	s->mapped = 0;      /* from here geo_source_free frees what was copied (NULL: nothing) */
	int bad = dup_str(&s->info.name) | dup_str(&s->info.detail);
	for (size_t k = 0; k < s->info.n_problems; k++)
		bad |= dup_str(&s->info.problems[k]);
	bad |= fam_own(&s->v4) | fam_own(&s->v6);
	s->capas = s->nas;
	s->capnames = s->nnames;
	s->cappool = s->npool;
	bad |= dup(&s->as, s->nas * sizeof *s->as) | dup(&s->names, s->nnames * sizeof *s->names) |
	       dup(&s->hkey, s->hcap * sizeof *s->hkey) | dup(&s->hval, s->hcap * sizeof *s->hval) |
	       dup(&s->pool, s->npool);
	return bad ? -1 : 0;
}
