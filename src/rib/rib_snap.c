/* The RIB whole, written and loaded back (rib.h rib_snap_write): the prefix store, the trie with
 * its node numbers and free list, the attribute sets with their ids, hash tables and free list,
 * the ADD-PATH lists, the peers and their tables, as the RIB keeps them. Ids and node numbers
 * are what the signal indexes its own state by, so they must come back the same, and so must
 * the free lists, which decide the ids of what is added after (docs/scale.md "Snapshots"). The
 * memory allocators' own free lists (pages, set blobs) are not state: they decide addresses
 * only. */
#include "base/bigarr.h"
#include "base/snapbuf.h"
#include "rib/rib_impl.h"

#include <stdlib.h>
#include <string.h>

enum { RIB_SNAP_TAG = 0x52494235u /* "RIB5": 8-byte prefixes, IPv6 addresses apart; a prefix hash of 2^b or 1.5 x 2^(b-1) slots; 16-byte trie nodes, leaves in child words, 4-byte hash slots; 32-byte attribute sets with 4-byte hash slots; a set's blob the upstream AS and its block, no path; the set hash without the AS number size (issue 12) */, MAXN = 0x7fffffffu };

/* the structs dumped as they are: another build's layout is refused, not misread */
static const uint32_t sizes[] = { sizeof(struct rib_pfx), sizeof(struct rib_pfx6), sizeof(struct rib_tnode), sizeof(struct rib_attr),
                                  sizeof(struct rib_multi), sizeof(struct rib_peer), RIB_PAGE };
enum { NSIZES = sizeof sizes / sizeof sizes[0] };

void rib_snap_write(const struct rib *r, struct snapbuf *b)
{
	snap_u32(b, RIB_SNAP_TAG);
	for (unsigned i = 0; i < NSIZES; i++)
		snap_u32(b, sizes[i]);
	snap_arr(b, r->h.pfx, r->npfx, sizeof *r->h.pfx);
	snap_arr(b, r->pfx6, r->npfx6, sizeof *r->pfx6);
	snap_put(b, r->pfx_node, (size_t)r->npfx * sizeof *r->pfx_node);
	snap_arr(b, r->htab, r->hslots, sizeof *r->htab);
	snap_arr(b, r->node, r->nnode, sizeof *r->node);
	snap_u32(b, r->free_node);
	snap_u32(b, r->root[0]);
	snap_u32(b, r->root[1]);
	/* attribute sets: the structs (their pointers are rewritten on load), then each live set's
	 * blob (upstream AS, a hand-built set's path, the block) */
	snap_u32(b, r->nattr);
	for (uint32_t i = 0; i < r->nattr; i++) {
		struct rib_attr x = r->attr[i];
		x.blob = NULL;   /* addresses are not state: a snapshot loaded and written again is the same bytes */
		snap_put(b, &x, sizeof x);
	}
	for (uint32_t i = 1; i < r->nattr; i++)
		if (r->attr[i].refcnt)
			snap_put(b, r->attr[i].blob, rib_attr_blob_bytes(&r->attr[i]));
	snap_u32(b, r->free_attr);
	snap_u32(b, r->live_attr);
	snap_u64(b, r->attr_bytes);
	snap_arr(b, r->atab, r->amask + 1, sizeof *r->atab);
	snap_arr(b, r->multi, r->nmulti, sizeof *r->multi);
	snap_u32(b, r->free_multi);
	snap_arr(b, r->ptab, r->pmask + 1, sizeof *r->ptab);
	snap_u32(b, r->ncollector);
	for (uint32_t i = 0; i < r->ncollector; i++) {
		uint32_t n = (uint32_t)strlen(r->collector[i]);
		snap_arr(b, r->collector[i], n, 1);
	}
	snap_u32(b, r->npeer);
	for (uint32_t i = 0; i < r->npeer; i++) {
		struct rib_peer p = r->peer[i];
		p.page = NULL;
		p.npage = 0;
		p.succ = 0;   /* a cache */
		snap_put(b, &p, sizeof p);
	}
	for (uint32_t i = 0; i < r->npeer; i++) {
		const struct rib_peer *p = &r->peer[i];
		uint32_t used = 0;
		for (uint32_t k = 0; k < p->npage; k++)
			used += p->page[k] != NULL;
		snap_u32(b, p->npage);
		snap_u32(b, used);
		for (uint32_t k = 0; k < p->npage; k++)
			if (p->page[k]) {
				snap_u32(b, k);
				snap_put(b, p->page[k], RIB_PAGE * sizeof *p->page[k]);
			}
	}
	snap_u8(b, r->lazy_trie);
	/* the queue as one list: rib_impl.h's list, then its range */
	uint32_t from = r->lazy_trie ? r->pend_from : r->npfx;
	snap_u32(b, r->npending + (r->npfx - from));
	snap_put(b, r->pending, (size_t)r->npending * sizeof *r->pending);
	for (uint32_t i = from; i < r->npfx; i++)
		snap_u32(b, i);
	snap_u64(b, r->nomem);
	snap_u32(b, r->deferred);
	snap_u8(b, r->min_len[0]);
	snap_u8(b, r->min_len[1]);
	snap_u64(b, r->ignored);
	snap_u64(b, r->dropped);
}

static int pow2(uint32_t n) { return n && !(n & (n - 1)); }
static int idx_ok(uint32_t v, uint32_t n) { return v == RIB_NONE || v < n; }
/* A trie child word: none, a node, or a leaf prefix (rib.h RIB_LEAF). */
static int child_ok(const struct rib *r, uint32_t v)
{
	return rib_is_leaf(v) ? rib_leaf_pfx(v) < r->npfx : idx_ok(v, r->nnode);
}
/* A prefix's trie word: none, its node, or RIB_LEAF | its parent (RIB_NODE_NIL: none). */
static int pfx_node_ok(const struct rib *r, uint32_t v)
{
	if (rib_is_leaf(v))
		return (v & ~(RIB_LEAF | RIB_NODE_NIL)) == 0 && ((v & RIB_NODE_NIL) == RIB_NODE_NIL || (v & RIB_NODE_NIL) < r->nnode);
	return idx_ok(v, r->nnode);
}

/* A hash table of n entries (a power of two) read into a fresh calloc'd array. */
static void *load_tab(struct cur *c, uint32_t *mask, size_t elem)
{
	const uint8_t *src;
	uint32_t n;
	if (snap_rarr(c, &n, MAXN, elem, &src) || !pow2(n))
		return NULL;
	void *t = malloc((size_t)n * elem);
	if (t) {
		memcpy(t, src, (size_t)n * elem);
		*mask = n - 1;
	}
	return t;
}

static int load_arr(struct cur *c, void **arr, uint32_t *cap, uint32_t *n, size_t elem)
{
	const uint8_t *src;
	if (snap_rarr(c, n, MAXN, elem, &src) || (*n && bigarr_grow(arr, cap, *n, elem, 0)))
		return -1;
	if (*n)
		memcpy(*arr, src, (size_t)*n * elem);
	return 0;
}

/* Every index the RIB follows without looking, against its array: a loaded RIB reads nothing
 * out of bounds whatever bytes it was loaded from. */
static int check(const struct rib *r)
{
	if ((uint64_t)r->npfx * 4 > (uint64_t)r->hslots * 3)   /* the hash's fill rule: indexes fit a slot */
		return -1;
	for (uint32_t i = 0; i < r->hslots; i++)
		if ((r->htab[i] & r->hmask) > r->npfx || (r->htab[i] && !(r->htab[i] & r->hmask)))
			return -1;
	/* a stored prefix: an IPv4 one compares as one word (pad 0), an IPv6 one's bytes exist, and
	 * the trie reads no bit past a prefix's family (a node no longer than its rep's family) */
	for (uint32_t i = 0; i < r->npfx; i++) {
		const struct rib_pfx *x = &r->h.pfx[i];
		if (!pfx_node_ok(r, r->pfx_node[i]) || x->v6 > 1 || x->pad[0] || x->pad[1] ||
		    x->len > (x->v6 ? 128 : 32) || (x->v6 && rib_pfx6_idx(x) >= r->npfx6))
			return -1;
	}
	for (uint32_t i = 0; i < r->nnode; i++) {
		const struct rib_tnode *t = &r->node[i];
		if (!child_ok(r, t->child[0]) || !child_ok(r, t->child[1]) ||
		    !idx_ok(rib_tnode_parent(t), r->nnode) || rib_tnode_rep(t) >= r->npfx ||
		    rib_tnode_len(t) > (r->h.pfx[rib_tnode_rep(t)].v6 ? 128u : 32u))
			return -1;
	}
	if (!idx_ok(r->free_node, r->nnode) || !child_ok(r, r->root[0]) || !child_ok(r, r->root[1]))
		return -1;
	for (uint32_t i = 1; i < r->nattr; i++)
		if (!r->attr[i].refcnt && r->attr[i].next && r->attr[i].next >= r->nattr)
			return -1;
	if (r->free_attr >= r->nattr || r->deferred >= r->nattr)
		return -1;
	if (r->nattr > (uint64_t)r->amask + 1)   /* every id fits a slot's id bits (rib.c aslot) */
		return -1;
	for (uint32_t i = 0; i <= r->amask; i++) {   /* a slot names a live set whose hash it carries */
		uint32_t id = r->atab[i] & r->amask;
		if (r->atab[i] && (!id || id >= r->nattr || !r->attr[id].refcnt ||
		                   ((r->atab[i] ^ r->attr[id].hash) & ~r->amask)))
			return -1;
	}
	for (uint32_t i = 0; i < r->nmulti; i++)
		if (!idx_ok(r->multi[i].next, r->nmulti) || r->multi[i].attr >= r->nattr)
			return -1;
	if (!idx_ok(r->free_multi, r->nmulti))
		return -1;
	for (uint32_t i = 0; i <= r->pmask; i++)
		if (r->ptab[i] > r->npeer)
			return -1;
	for (uint32_t i = 0; i < r->npeer; i++) {
		const struct rib_peer *p = &r->peer[i];
		if (p->collector >= r->ncollector || p->last_attr >= r->nattr)
			return -1;
		for (uint32_t k = 0; k < p->npage; k++)
			for (uint32_t j = 0; p->page[k] && j < RIB_PAGE; j++) {
				uint32_t v = p->page[k][j];
				if (v & RIB_MULTI ? (v & ~RIB_MULTI) >= r->nmulti : v >= r->nattr)
					return -1;
			}
	}
	for (uint32_t i = 0; i < r->npending; i++)
		if (r->pending[i] >= r->npfx)
			return -1;
	return 0;
}

int rib_snap_read(struct rib *r, struct cur *c)
{
	uint32_t tag, n, k;
	const uint8_t *src;
	if (snap_ru32(c, &tag) || tag != RIB_SNAP_TAG || r->npfx || r->npeer || r->ncollector || r->nattr != 1)
		return -1;   /* loads into a fresh RIB only */
	for (unsigned i = 0; i < NSIZES; i++)
		if (snap_ru32(c, &n) || n != sizes[i])
			return -1;
	if (load_arr(c, (void **)&r->h.pfx, &r->cap_pfx, &r->npfx, sizeof *r->h.pfx) ||
	    load_arr(c, (void **)&r->pfx6, &r->cap_pfx6, &r->npfx6, sizeof *r->pfx6))
		return -1;
	/* pfx_node shares cap_pfx with pfx (rib.c rib_reserve) */
	r->pfx_node = bigarr_resize(NULL, 0, (size_t)r->cap_pfx * sizeof *r->pfx_node);
	if ((r->cap_pfx && !r->pfx_node) || cur_copy(c, r->pfx_node, (size_t)r->npfx * sizeof *r->pfx_node))
		return -1;
	bigarr_free(r->htab, (size_t)r->hslots * sizeof *r->htab);
	r->htab = NULL;
	r->hslots = 0;
	/* the prefix hash: 2^b or 3 x 2^(b-2) slots (rib.c htab_pos) */
	if (snap_rarr(c, &n, MAXN, sizeof *r->htab, &src) || !(pow2(n) || (n % 3 == 0 && pow2(n / 3))) ||
	    !(r->htab = bigarr_zalloc((size_t)n * sizeof *r->htab)))
		return -1;
	memcpy(r->htab, src, (size_t)n * sizeof *r->htab);
	r->hslots = n;
	r->hmask = pow2(n) ? n - 1 : n / 3 * 4 - 1;
	if (load_arr(c, (void **)&r->node, &r->cap_node, &r->nnode, sizeof *r->node) || snap_ru32(c, &r->free_node) ||
	    snap_ru32(c, &r->root[0]) || snap_ru32(c, &r->root[1]))
		return -1;
	if (snap_rarr(c, &n, MAXN, sizeof *r->attr, &src) || !n || bigarr_grow((void **)&r->attr, &r->cap_attr, n,
	                                                                        sizeof *r->attr, 0))
		return -1;
	memcpy(r->attr, src, (size_t)n * sizeof *r->attr);
	int stray = 0;
	for (uint32_t i = 0; i < n; i++) {   /* no set owns a blob until it is read below */
		stray |= r->attr[i].blob != NULL;   /* written NULL: anything else is corrupt */
		r->attr[i].blob = NULL;
		if (stray)
			r->attr[i].refcnt = 0;
	}
	r->nattr = n;
	if (stray) {
		for (uint32_t i = 0; i < n; i++)
			r->attr[i].refcnt = 0;
		return -1;
	}
	for (uint32_t i = 1; i < n; i++) {
		struct rib_attr *x = &r->attr[i];
		if (!x->refcnt)
			continue;
		size_t bytes = rib_attr_blob_bytes(x);
		if (cur_left(c) < bytes) {
			x->refcnt = 0;   /* rib_free must not free what was never allocated */
			for (uint32_t j = i + 1; j < n; j++)
				r->attr[j].refcnt = 0;
			return -1;
		}
		if (!(x->blob = rib_blob_alloc_(r, bytes))) {
			for (uint32_t j = i; j < n; j++)
				r->attr[j].refcnt = 0;
			return -1;
		}
		cur_copy(c, x->blob, bytes);
	}
	if (snap_ru32(c, &r->free_attr) || snap_ru32(c, &r->live_attr) || snap_ru64(c, &r->attr_bytes))
		return -1;
	free(r->atab);
	if (!(r->atab = load_tab(c, &r->amask, sizeof *r->atab)))
		return -1;
	if (load_arr(c, (void **)&r->multi, &r->cap_multi, &r->nmulti, sizeof *r->multi) ||
	    snap_ru32(c, &r->free_multi))
		return -1;
	free(r->ptab);
	if (!(r->ptab = load_tab(c, &r->pmask, sizeof *r->ptab)) || snap_ru32(c, &n) || n > 65536 ||
	    !(r->collector = calloc(n ? n : 1, sizeof *r->collector)))
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		if (snap_rarr(c, &k, 65535, 1, &src) || memchr(src, 0, k) || !(r->collector[i] = malloc(k + 1)))
			return -1;
		memcpy(r->collector[i], src, k);
		r->collector[i][k] = 0;
		r->ncollector = i + 1;
	}
	if (snap_rarr(c, &n, MAXN, sizeof *r->peer, &src) || (n && bigarr_grow((void **)&r->peer, &r->cap_peer, n,
	                                                                        sizeof *r->peer, 0)))
		return -1;
	if (n)
		memcpy(r->peer, src, (size_t)n * sizeof *r->peer);
	for (uint32_t i = 0; i < n; i++) {
		stray |= r->peer[i].page || r->peer[i].npage || r->peer[i].succ;   /* written NULL and 0 */
		r->peer[i].page = NULL, r->peer[i].npage = 0;
	}
	r->npeer = n;
	if (stray)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		struct rib_peer *p = &r->peer[i];
		uint32_t np, used, at;
		if (snap_ru32(c, &np) || snap_ru32(c, &used) || used > np || np > (MAXN >> RIB_PAGE_BITS) + 1 ||
		    cur_left(c) / (4 + RIB_PAGE * 4) < used)
			return -1;
		if (np && !(p->page = calloc(np, sizeof *p->page)))
			return -1;
		p->npage = np;
		for (uint32_t j = 0; j < used; j++) {
			if (snap_ru32(c, &at) || at >= np || p->page[at] || !(p->page[at] = rib_page_alloc_(r)) ||
			    cur_copy(c, p->page[at], RIB_PAGE * sizeof *p->page[at]))
				return -1;
		}
	}
	uint8_t lazy;
	if (snap_ru8(c, &lazy))
		return -1;
	if (lazy > 1)
		return -1;
	r->lazy_trie = lazy;
	if (snap_rarr(c, &n, MAXN, sizeof *r->pending, &src))
		return -1;
	free(r->pending);
	r->pending = NULL;
	r->npending = r->cap_pending = 0;
	r->pend_from = r->npfx;   /* the whole queue loads as the list */
	if (n) {
		if (!(r->pending = malloc((size_t)n * sizeof *r->pending)))
			return -1;
		memcpy(r->pending, src, (size_t)n * sizeof *r->pending);
		r->npending = r->cap_pending = n;
	}
	if (snap_ru64(c, &r->nomem) || snap_ru32(c, &r->deferred) || snap_ru8(c, &r->min_len[0]) ||
	    snap_ru8(c, &r->min_len[1]) || snap_ru64(c, &r->ignored) || snap_ru64(c, &r->dropped))
		return -1;
	/* the per-record attribute cache starts empty: the next element is a new record */
	r->cache_seq = 0;
	r->rec_seq = 1;
	r->cache_attrs = NULL;
	r->cache_id = 0;
	return check(r);
}
