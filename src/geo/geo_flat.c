/* The flattened views of a database's sources (struct geo_flat in geo_impl.h): built once,
 * when the mapping index is written, from the split walk itself, so that they answer as it
 * does by construction; then read by split for every prefix of a replay. */
#include <stdlib.h>
#include <string.h>

#include "geo/geo_impl.h"

/* The walk's pieces, adjacent ones of one country merged (they arrive in address order, each
 * starting where the last ended). */
struct flat_pieces {
	u128 *end;
	uint16_t *cc;
	size_t n, cap;
	u128 next;          /* where the next piece must start */
	int bad;
};

static void flat_piece(void *ctx, u128 lo, u128 hi, uint16_t cc)
{
	struct flat_pieces *p = ctx;
	if (p->bad || lo != p->next || hi < lo) {
		p->bad = 1;
		return;
	}
	p->next = hi + 1;
	if (p->n && p->cc[p->n - 1] == cc) {
		p->end[p->n - 1] = hi;
		return;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 4096;
		u128 *e = realloc(p->end, cap * sizeof *e);
		if (e)
			p->end = e;
		uint16_t *c = e ? realloc(p->cc, cap * sizeof *c) : NULL;
		if (!c) {
			p->bad = 1;
			return;
		}
		p->cc = c;
		p->cap = cap;
	}
	p->end[p->n] = hi;
	p->cc[p->n++] = cc;
}

/* The whole space of one family, split. */
static int flat_walk(const struct geo_db *g, int view, int v6, struct flat_pieces *p)
{
	memset(p, 0, sizeof *p);
	u128 max = v6 ? U128_MAX : 0xffffffffu;
	geo_split_pieces(g, 0, g->nsrc, view, v6, 0, max, 1, flat_piece, p);
	if (!p->bad && (!p->n || p->end[p->n - 1] != max))
		p->bad = 1;     /* the walk must cover the space: its last piece ends at the top */
	return p->bad ? -1 : 0;
}

static void pieces_free(struct flat_pieces *p)
{
	free(p->end);
	free(p->cc);
}

/* The countries by how many segments hold them, most first (then by code): the first 254 get
 * an index, the rest GEO_FLAT_ASK's. There are 250-odd (254 in the registration view with
 * today's files): a segment's country in one byte, not two, is 0.7 MB less of a replay's
 * resident mapping (issue 12), and a country past the table is still answered, by the walk. */
struct cc_count {
	uint16_t cc;
	uint32_t n;
};

static int cc_count_cmp(const void *x, const void *y)
{
	const struct cc_count *a = x, *b = y;
	if (a->n != b->n)
		return a->n > b->n ? -1 : 1;
	return (a->cc > b->cc) - (a->cc < b->cc);
}

static int flat_table(const struct flat_pieces *p4, const struct flat_pieces *p6, struct geo_flat *f,
                      uint8_t *index /* 65536 */)
{
	struct cc_count *c = malloc(65536 * sizeof *c);
	if (!c)
		return -1;
	for (uint32_t i = 0; i < 65536; i++)
		c[i] = (struct cc_count){ (uint16_t)i, 0 };
	for (size_t i = 0; i < p4->n; i++)
		c[p4->cc[i]].n++;
	for (size_t i = 0; i < p6->n; i++)
		c[p6->cc[i]].n++;
	c[0].n = 0;                 /* no source covers it: index 0 */
	c[GEO_FLAT_ASK].n = 0;
	qsort(c, 65536, sizeof c[0], cc_count_cmp);
	memset(index, 255, 65536);
	index[0] = 0;
	f->cctab[0] = 0;
	for (int i = 1; i < 256; i++)
		f->cctab[i] = GEO_FLAT_ASK;
	for (int i = 0; i < 254 && c[i].n; i++) {
		index[c[i].cc] = (uint8_t)(i + 1);
		f->cctab[i + 1] = c[i].cc;
	}
	free(c);
	return 0;
}

/* The pieces' countries as indexes, neighbours that now have one index merged: n left. */
static size_t flat_index(struct flat_pieces *p, const uint8_t *index)
{
	size_t n = 0;
	for (size_t i = 0; i < p->n; i++) {
		uint16_t x = index[p->cc[i]];
		if (n && p->cc[n - 1] == x) {
			p->end[n - 1] = p->end[i];
			continue;
		}
		p->end[n] = p->end[i];
		p->cc[n++] = x;
	}
	return p->n = n;
}

int geo_flat_build(const struct geo_db *g, int view, struct geo_flat *f)
{
	memset(f, 0, sizeof *f);
	for (size_t i = 0; i < g->nsrc; i++)
		if (g->src[i]->mmdb)
			return -1;      /* walked through libmaxminddb, not flattened here */
	struct flat_pieces p4 = { 0 }, p6 = { 0 };
	uint8_t *index = malloc(65536);
	if (!index || flat_walk(g, view, 0, &p4) < 0 || flat_walk(g, view, 1, &p6) < 0) {
		free(index);
		pieces_free(&p4);
		pieces_free(&p6);
		return -1;
	}
	int bad = flat_table(&p4, &p6, f, index);
	size_t n4 = flat_index(&p4, index), n6 = flat_index(&p6, index);
	free(index);
	/* one block: end6 first (16-aligned by malloc), then the 4-, 2- and 1-byte arrays */
	size_t sz = n6 * sizeof(u128) + 65537 * sizeof(uint32_t) + n4 * (sizeof(uint16_t) + 1) + n6;
	uint8_t *b = bad ? NULL : malloc(sz);
	if (!b) {
		pieces_free(&p4);
		pieces_free(&p6);
		return -1;
	}
	u128 *end6 = (u128 *)b;
	uint32_t *bucket4 = (uint32_t *)(b + n6 * sizeof(u128));
	uint16_t *end4 = (uint16_t *)(bucket4 + 65537);
	uint8_t *cc4 = (uint8_t *)(end4 + n4), *cc6 = cc4 + n4;
	memcpy(end6, p6.end, n6 * sizeof *end6);
	for (size_t i = 0; i < n6; i++)
		cc6[i] = (uint8_t)p6.cc[i];
	uint32_t k = 0;
	for (size_t i = 0; i < n4; i++) {
		end4[i] = (uint16_t)p4.end[i];
		cc4[i] = (uint8_t)p4.cc[i];
		while (k < 65536 && (u128)k << 16 <= p4.end[i])
			bucket4[k++] = (uint32_t)i;     /* the segment holding k << 16 */
	}
	bucket4[65536] = (uint32_t)n4;
	pieces_free(&p4);
	pieces_free(&p6);
	f->views = 1u << view;
	f->nsrc = g->nsrc;
	f->n4 = n4;
	f->n6 = n6;
	f->bucket4 = bucket4;
	f->end4 = end4;
	f->cc4 = cc4;
	f->end6 = end6;
	f->cc6 = cc6;
	f->heap = b;
	return 0;
}

void geo_flat_free(struct geo_flat *f)
{
	free(f->heap);
	memset(f, 0, sizeof *f);
}

/* The last address of segment i, which holds an address of the /16 k and runs past it: in
 * the /16 before the first whose start it does not hold (bucket4 grows with k: a binary
 * search). A damaged bucket4 can answer no further than the /16's end, never short of x. */
static uint32_t seg4_end_after(const struct geo_flat *f, uint32_t k, size_t i)
{
	uint32_t lo = k + 1, hi = 65536;
	while (lo < hi) {
		uint32_t m = lo + (hi - lo) / 2;
		if (f->bucket4[m] > i)
			hi = m;
		else
			lo = m + 1;
	}
	if (lo - 1 <= k)
		return k << 16 | 0xffff;
	return (lo - 1) << 16 | f->end4[i];
}

/* The first segment of bucket x >> 16 that ends at or past x, or *b (the one running on into
 * the next /16; *b == f->n4 only in a damaged index) when none does. */
static size_t seg4_find(const struct geo_flat *f, uint32_t x, size_t *b)
{
	uint32_t k = x >> 16;
	size_t a = f->bucket4[k];
	*b = f->bucket4[k + 1];
	if (*b > f->n4)
		*b = f->n4;
	if (a > *b)
		a = *b;
	uint16_t low = (uint16_t)x;
	if (a < *b) {   /* the first end >= low, or b: branch-free (a /16's few segments mispredicted) */
		const uint16_t *e = f->end4 + a;
		size_t n = *b - a;
		while (n > 1) {
			size_t half = n / 2;
			e = e[half] < low ? e + half : e;
			n -= half;
		}
		a = (size_t)(e - f->end4) + (*e < low);
	}
	return a;
}

/* Bucket k's segments: bucket4[k] holds k << 16, and it and those up to bucket4[k + 1] end
 * inside the /16, their ends known by their low 16 bits; past the last of them x lies in
 * segment bucket4[k + 1], which runs on into the next /16. The searches keep inside the
 * bounds the arrays give, whatever they hold, and always answer an end >= x, so a walk moves
 * on. */
uint32_t geo_flat_seg4(const struct geo_flat *f, uint32_t x, uint32_t need, uint16_t *cc)
{
	uint32_t k = x >> 16, base = k << 16;
	size_t b, a = seg4_find(f, x, &b);
	if (a < b) {
		*cc = f->cctab[f->cc4[a]];
		return base | f->end4[a];
	}
	if (b == f->n4) {
		*cc = 0;        /* only in a damaged index: the last segment ends at the top */
		return base | 0xffff;
	}
	*cc = f->cctab[f->cc4[b]];
	/* where it ends past this /16 is asked of the buckets only when the caller needs it */
	return need <= (base | 0xffff) ? base | 0xffff : seg4_end_after(f, k, b);
}

/* Where segment i, which holds an address of the /16 *k, ends: the /16s it runs on into are
 * stepped over (*k follows), up to need's, past which any address of the /16 is answered, as
 * geo_flat_seg4 does (*cut then set: the segment goes on). */
static uint32_t seg4_end_from(const struct geo_flat *f, size_t i, uint32_t *k, uint32_t need, int *cut)
{
	uint32_t kk = *k;
	*cut = 0;
	while (kk < 65535 && f->bucket4[kk + 1] <= i) {   /* it holds the next /16's start */
		if ((kk << 16 | 0xffff) >= need) {
			*cut = 1;
			break;
		}
		kk++;
	}
	*k = kk;
	return *cut ? kk << 16 | 0xffff : kk << 16 | f->end4[i];
}

uint32_t geo_flat_walk4(const struct geo_flat *f, struct geo_walk4 *w, uint32_t x, uint32_t need, uint16_t *cc)
{
	size_t i;
	uint32_t k;
	if (w->i == GEO_WALK4_START) {
		size_t b;
		i = seg4_find(f, x, &b);
		k = x >> 16;
	} else {
		i = w->i + 1;
		k = w->k;
	}
	uint32_t e = 0;
	int cut = 0;
	if (i < f->n4 && k <= x >> 16)
		e = seg4_end_from(f, i, &k, need, &cut);
	if (i >= f->n4 || e < x) {   /* damage: the search's answer, and a new start */
		w->i = GEO_WALK4_START;
		return geo_flat_seg4(f, x, need, cc);
	}
	w->i = cut ? GEO_WALK4_START : i;   /* cut: the next address is still segment i's */
	w->k = k;
	*cc = f->cctab[f->cc4[i]];
	return e;
}

u128 geo_flat_seg6(const struct geo_flat *f, u128 x, uint16_t *cc)
{
	if (!f->n6) {
		*cc = 0;
		return U128_MAX;
	}
	size_t a = u128_first_ge(f->end6, f->n6 - 1, x);   /* the last segment ends at the top */
	*cc = f->cctab[f->cc6[a]];
	return a == f->n6 - 1 ? U128_MAX : f->end6[a];
}
