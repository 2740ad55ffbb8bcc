#include "base/bigarr.h"
#include "rib/rib_impl.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ---------- hashing ---------- */

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* The attribute-set hash (issue 12: 1 in 3 entries of a full-scale table hashes its block,
 * 4% of the load through a mix64 per 8 bytes before): one 64 x 64 -> 128-bit multiply folded per
 * 16 bytes (wyhash's step), and one at the end. */
__extension__ typedef unsigned __int128 u128;

static inline uint64_t mum(uint64_t a, uint64_t b)
{
	u128 r = (u128)a * b;
	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t hash_block(const uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t h = seed ^ mum(n ^ 0xa0761d6478bd642full, 0xe7037ed1a0b428dbull);
	uint64_t w0 = 0, w1 = 0;
	if (n >= 16) {
		const uint8_t *end = p + n - 16;
		for (; p < end; p += 16) {
			memcpy(&w0, p, 8);
			memcpy(&w1, p + 8, 8);
			h = mum(w0 ^ 0x8ebc6af09c88c6e3ull, w1 ^ h);
		}
		memcpy(&w0, end, 8);   /* the last 16 bytes, overlapping the loop's last step (n is hashed) */
		memcpy(&w1, end + 8, 8);
	} else if (n >= 8) {
		memcpy(&w0, p, 8);
		memcpy(&w1, p + n - 8, 8);
	} else if (n >= 4) {
		uint32_t x, y;
		memcpy(&x, p, 4);
		memcpy(&y, p + n - 4, 4);
		w0 = x, w1 = y;
	} else if (n) {
		w0 = (uint64_t)p[0] << 16 | (uint64_t)p[n >> 1] << 8 | p[n - 1];
	}
	h = mum(w0 ^ 0x8ebc6af09c88c6e3ull, w1 ^ h);
	return mum(h ^ 0x589965cc75374cc3ull, h ^ 0x1d8e4e27c47d124full);
}

/* Equal bytes (a set's key against a block: 30-100 bytes): eight at a time, inline. */
static inline int bytes_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint64_t x, y;
	if (n < 8 && n >= 4) {   /* an IPv4 address (an element's peer, its prefix): two words */
		uint32_t a0, a1, b0, b1;
		memcpy(&a0, a, 4);
		memcpy(&b0, b, 4);
		memcpy(&a1, a + n - 4, 4);
		memcpy(&b1, b + n - 4, 4);
		return a0 == b0 && a1 == b1;
	}
	if (n < 8) {
		for (size_t i = 0; i < n; i++)
			if (a[i] != b[i])
				return 0;
		return 1;
	}
	for (size_t i = 0; i + 8 <= n; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			return 0;
	}
	memcpy(&x, a + n - 8, 8);   /* the last 8 bytes (overlapping the loop's last word) */
	memcpy(&y, b + n - 8, 8);
	return x == y;
}

/* The hash of a masked prefix given as its address bytes (4 or 16), length and family. */
static inline uint32_t prefix_hash_b(const uint8_t *b, unsigned len, int v6)
{
	uint64_t w0 = 0, w1;
	memcpy(&w0, b, v6 ? 8 : 4);
	uint64_t h = mix64(w0 ^ ((uint64_t)len << 8 | (v6 ? DM_AFI_IPV6 : DM_AFI_IPV4)) * 0x9e3779b97f4a7c15ull);
	if (v6) {
		memcpy(&w1, b + 8, 8);
		h = mix64(h ^ w1);
	}
	return (uint32_t)(h >> 32) | 1u;   /* never 0: 0 marks an empty bucket */
}

static inline uint32_t prefix_hash(const struct dm_prefix *p)
{
	return prefix_hash_b(p->b, p->len, p->afi == DM_AFI_IPV6);
}

/* the common case (room left) without a call: once or more per new prefix (issue 12) */
static inline int grow(void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
	return bigarr_need(arr, cap, need, elem, 0);
}

/* table chunks: 2 MiB of RIB pages each, backed ahead of their use (page_alloc) */
enum { CHUNK_BYTES = 2u << 20, CHUNK_PAGES = CHUNK_BYTES / (RIB_PAGE * sizeof(uint32_t)) };
/* attr_key's copy of a set (the RIB's key_scratch), a flattened path (on the stack) */
enum { ATTR_SCRATCH = 65536 + 64, PATH_SCRATCH = 4096 };

/* ---------- lifecycle ---------- */

struct rib *rib_new(void)
{
	struct rib *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->hslots = 1024;
	r->hmask = 1023;
	r->htab = bigarr_zalloc((size_t)r->hslots * sizeof *r->htab);
	r->amask = 1023;
	r->atab = calloc(r->amask + 1, sizeof *r->atab);
	r->pmask = 63;
	r->ptab = calloc(r->pmask + 1, sizeof *r->ptab);
	r->root[0] = r->root[1] = RIB_NONE;
	r->free_node = RIB_NONE;
	r->last_peer = RIB_NONE;
	r->free_attr = 0;
	r->free_multi = RIB_NONE;
	r->nattr = 1;   /* id 0 = no attributes */
	r->key_scratch = malloc(ATTR_SCRATCH);
	if (!r->htab || !r->atab || !r->ptab || !r->key_scratch || grow((void **)&r->attr, &r->cap_attr, 64, sizeof *r->attr)) {
		rib_free(r);
		return NULL;
	}
	memset(&r->attr[0], 0, sizeof r->attr[0]);
	return r;
}

void rib_free(struct rib *r)
{
	if (!r)
		return;
	for (uint32_t i = 0; i < r->npeer; i++)
		free(r->peer[i].page);
	prefault_unmapping();   /* the table and blob chunks below were named in requests */
	for (uint32_t i = 0; i < r->nchunk; i++)
		munmap(r->chunk[i], CHUNK_BYTES);
	if (r->chunk_spare)
		munmap(r->chunk_spare, CHUNK_BYTES);
	free(r->chunk);
	for (uint32_t i = 1; i < r->nattr; i++)   /* big sets were malloc'd on their own */
		if (r->attr[i].refcnt && rib_attr_blob_bytes(&r->attr[i]) > RIB_BLOB_CLASSES * RIB_BLOB_CLASS)
			free(r->attr[i].blob);
	for (uint32_t i = 0; i < r->nblob_chunk; i++)
		free(r->blob_chunk[i]);
	free(r->blob_chunk);
	free(r->blob_spare);
	for (uint32_t i = 0; i < r->ncollector; i++)
		free(r->collector[i]);
	free(r->collector);
	bigarr_free(r->h.pfx, (size_t)r->cap_pfx * sizeof *r->h.pfx);
	bigarr_free(r->pfx6, (size_t)r->cap_pfx6 * sizeof *r->pfx6);
	free(r->pending);
	bigarr_free(r->pfx_node, (size_t)r->cap_pfx * sizeof *r->pfx_node);
	bigarr_free(r->htab, (size_t)r->hslots * sizeof *r->htab);
	bigarr_free(r->node, (size_t)r->cap_node * sizeof *r->node);
	bigarr_free(r->attr, (size_t)r->cap_attr * sizeof *r->attr);
	free(r->atab);
	bigarr_free(r->multi, (size_t)r->cap_multi * sizeof *r->multi);
	bigarr_free(r->peer, (size_t)r->cap_peer * sizeof *r->peer);
	free(r->ptab);
	free(r->pin);
	free(r->key_scratch);
	free(r);
}

/* ---------- collectors and peers ---------- */

uint32_t rib_collector_find_or_add(struct rib *r, const char *name)
{
	for (uint32_t i = 0; i < r->ncollector; i++)
		if (!strcmp(r->collector[i], name))
			return i;
	char **c = realloc(r->collector, (r->ncollector + 1) * sizeof *c);
	if (!c)
		return RIB_NONE;
	r->collector = c;
	if (!(c[r->ncollector] = strdup(name)))
		return RIB_NONE;
	return r->ncollector++;
}

static uint32_t peer_hash(uint32_t collector, const struct dm_ip *addr, uint32_t asn)
{
	uint64_t w0, w1;
	memcpy(&w0, addr->b, 8);
	memcpy(&w1, addr->b + 8, 8);
	return (uint32_t)mix64(w0 ^ mix64(w1 ^ ((uint64_t)collector << 40 | (uint64_t)addr->afi << 32 | asn)));
}

static inline int peer_eq(const struct rib_peer *p, uint32_t collector, const struct dm_ip *addr, uint32_t asn)
{
	/* inline compares, not memcmp's call: once per element (issue 12) */
	return p->collector == collector && p->asn == asn && p->addr.afi == addr->afi &&
	       bytes_eq(p->addr.b, addr->b, addr->afi == DM_AFI_IPV6 ? 16 : 4);
}

uint32_t rib_peer_find(const struct rib *r, uint32_t collector, const struct dm_ip *addr, uint32_t asn)
{
	for (uint32_t h = peer_hash(collector, addr, asn) & r->pmask;; h = (h + 1) & r->pmask) {
		uint32_t v = r->ptab[h];
		if (!v)
			return RIB_NONE;
		if (peer_eq(&r->peer[v - 1], collector, addr, asn))
			return v - 1;
	}
}

static int peer_rehash(struct rib *r)
{
	uint32_t mask = r->pmask * 2 + 1;
	uint32_t *t = calloc(mask + 1, sizeof *t);
	if (!t)
		return -1;
	for (uint32_t i = 0; i < r->npeer; i++) {
		const struct rib_peer *p = &r->peer[i];
		uint32_t h = peer_hash(p->collector, &p->addr, p->asn) & mask;
		while (t[h])
			h = (h + 1) & mask;
		t[h] = i + 1;
	}
	free(r->ptab);
	r->ptab = t;
	r->pmask = mask;
	return 0;
}

/* an update file's elements come from one peer in long runs: its hash probe is skipped; a RIB
 * record's come peer after peer, in the same order record after record (issue 12: the peer hash
 * was 5% of a full-scale table's load). RIB_NONE: not the last peer or its successor. Inline in
 * apply_elem (once per element: the call was 3% of a full-scale table's instructions). */
static inline uint32_t peer_cached(struct rib *r, uint32_t collector, const struct dm_ip *addr, uint32_t asn)
{
	uint32_t prev = r->last_peer;
	if (prev < r->npeer) {
		if (peer_eq(&r->peer[prev], collector, addr, asn))
			return prev;
		uint32_t s = r->peer[prev].succ;
		if (s && s - 1 < r->npeer && peer_eq(&r->peer[s - 1], collector, addr, asn))
			return r->last_peer = s - 1;
	}
	return RIB_NONE;
}

uint32_t rib_peer_find_or_add(struct rib *r, uint32_t collector, const struct dm_ip *addr, uint32_t asn)
{
	uint32_t prev = r->last_peer, c = peer_cached(r, collector, addr, asn);
	if (c != RIB_NONE)
		return c;
	uint32_t i = rib_peer_find(r, collector, addr, asn);
	if (i != RIB_NONE) {
		if (prev < r->npeer)
			r->peer[prev].succ = i + 1;
		return r->last_peer = i;
	}
	if ((r->npeer + 1) * 2 > r->pmask + 1 && peer_rehash(r))
		return RIB_NONE;
	if (grow((void **)&r->peer, &r->cap_peer, r->npeer + 1, sizeof *r->peer))
		return RIB_NONE;
	struct rib_peer *p = &r->peer[r->npeer];
	memset(p, 0, sizeof *p);
	p->collector = collector;
	p->asn = asn;
	p->addr.afi = addr->afi;
	memcpy(p->addr.b, addr->b, addr->afi == DM_AFI_IPV6 ? 16 : 4);
	p->up = 1;
	uint32_t h = peer_hash(collector, addr, asn) & r->pmask;
	while (r->ptab[h])
		h = (h + 1) & r->pmask;
	r->ptab[h] = r->npeer + 1;
	return r->npeer++;
}

/* ---------- prefix store ---------- */

static int prefix_ok(const struct dm_prefix *p)
{
	return (p->afi == DM_AFI_IPV4 && p->len <= 32) || (p->afi == DM_AFI_IPV6 && p->len <= 128);
}

static inline void prefix_canon(const struct dm_prefix *in, struct dm_prefix *out)
{
	memset(out, 0, sizeof *out);
	out->afi = in->afi;
	out->len = in->len;
	unsigned full = in->len / 8, rem = in->len % 8;
	memcpy(out->b, in->b, full);
	if (rem)
		out->b[full] = in->b[full] & (uint8_t)(0xff00u >> rem);
}

/* A prefix as the hash looks it up: an IPv4 prefix as its stored word, masked without building
 * a struct dm_prefix (a lookup per element); an IPv6 one canonical in p6. */
struct lookup {
	uint64_t w4;
	uint32_t hv;
	const struct dm_prefix *p6;   /* NULL: IPv4 */
};

/* in: prefix_ok. c: room for the canonical IPv6 prefix. Inline: twice per element (prefetch,
 * then lookup), a call was 3% of a one-peer replay's instructions. */
static inline __attribute__((always_inline)) void lookup_key(const struct dm_prefix *in, struct dm_prefix *c, struct lookup *k)
{
	if (in->afi == DM_AFI_IPV4) {
		uint32_t a;
		memcpy(&a, in->b, 4);
		a &= htonl(in->len ? ~0u << (32 - in->len) : 0);
		struct rib_pfx x = { { 0 }, in->len, 0, { 0, 0 } };
		memcpy(x.b, &a, 4);
		memcpy(&k->w4, &x, 8);
		k->hv = prefix_hash_b(x.b, in->len, 0);
		k->p6 = NULL;
	} else {
		prefix_canon(in, c);
		k->w4 = 0;
		k->hv = prefix_hash(c);
		k->p6 = c;
	}
}

/* Whether stored prefix i is the looked-up one (an IPv4 prefix: one word compared). */
static inline int prefix_eq(const struct rib *r, uint32_t i, const struct lookup *k)
{
	const struct rib_pfx *x = &r->h.pfx[i];
	if (!k->p6) {
		uint64_t w;
		memcpy(&w, x, 8);
		return w == k->w4;
	}
	return x->v6 && x->len == k->p6->len && !memcmp(r->pfx6[rib_pfx6_idx(x)].b, k->p6->b, 16);
}

static inline int pfx_afi(const struct rib *r, uint32_t i) { return r->h.pfx[i].v6 ? DM_AFI_IPV6 : DM_AFI_IPV4; }

/* The prefix hash: 4-byte slots, open addressing. A slot holds the prefix index + 1 in its low
 * bits (as many as the table has slots: the table is at most 3/4 full, so the index fits) and
 * the hash's bits above them as a fingerprint, which keeps nearly every probe off the prefix
 * array (8 bytes a slot before: 4 MB of a one-peer table, issue 12). Growing recomputes the
 * hashes from the prefixes. Returns p's index, or RIB_NONE with *slot the empty slot it would
 * take. */
/* The table has n slots, n = 2^b or 1.5 x 2^(b-1) (htab_next, htab_step: a full table's 577,705
 * prefixes take 786,432 slots, 3 MB, not 1 Mi; issue 12), mask =
 * 2^b - 1. A hash's low b bits pick its first slot, scaled to n (the same slot as hv & mask
 * when n = 2^b); its bits above are the fingerprint. */
static inline uint32_t htab_pos(uint32_t hv, uint32_t n, uint32_t mask)
{
	return (uint32_t)(((uint64_t)(hv & mask) * n) >> __builtin_ctz(mask + 1));
}

/* The next slot count above n on the lattice: 1.5x, then 4/3x (back to a power of two). */
static inline uint32_t htab_step(uint32_t n) { return n & (n - 1) ? (n / 3) * 4 : n / 2 * 3; }
/* The slot count a full table of n slots grows to: 4x (3x from a power of two) up to 49,152
 * (1,024, 3,072, 12,288, 49,152: each 1.5 x 2^k), then at once 786,432, then 2x (1.5x from a
 * power of two). Each growth rehashes every prefix (a cache miss each): growing by the fine
 * steps of htab_step rehashed a one-peer table's 577,705 prefixes 1.37 M times over 19 growths,
 * 8% of its replay's time; by 4x 0.2 M times over 5. A RIB past 36,864 prefixes is most likely
 * taking a full table (400,000 and more; the signal's full-feed rule) and would pass through
 * 196,608 slots to 786,432 (3 MB, a full table's 577,705 prefixes at 73%) within a fifth of
 * it: it goes there at once, 147,456 rehashes fewer (issue 12). Below 786,432 a table may be
 * up to 4x its need (4 bytes a slot; 16x between 36,864 and 147,456 prefixes, 2.25 MB more
 * than before at most), above it 2x. */
static inline uint32_t htab_next(uint32_t n)
{
	enum { BIG = 786432, TABLE = 49152 };
	int pow2 = !(n & (n - 1));
	if (n < BIG) {
		uint64_t m = pow2 ? (uint64_t)n * 3 : (uint64_t)n * 4;
		return m < BIG && n < TABLE ? (uint32_t)m : BIG;
	}
	return pow2 ? n / 2 * 3 : n * 2;
}
/* The index mask of a table of n slots: the power of two at or above n, less one. */
static inline uint32_t htab_mask(uint32_t n) { return n & (n - 1) ? (n / 3) * 4 - 1 : n - 1; }

static inline uint32_t htab_probe(const struct rib *r, const struct lookup *k, uint32_t *slot)
{
	uint32_t fp = k->hv & ~r->hmask;
	for (uint32_t h = htab_pos(k->hv, r->hslots, r->hmask);; h = h + 1 == r->hslots ? 0 : h + 1) {
		uint32_t v = r->htab[h];
		if (!v) {
			*slot = h;
			return RIB_NONE;
		}
		if ((v & ~r->hmask) == fp && prefix_eq(r, (v & r->hmask) - 1, k))
			return (v & r->hmask) - 1;
	}
}

/* Fills an empty table of n slots with every prefix (in index order: the prefix array is read
 * in order). */
static void htab_fill(const struct rib *r, uint32_t *t, uint32_t n)
{
	/* Each insert is a cache miss in the new table: a batch's hashes are computed and their
	 * slots prefetched first, so that the misses overlap (the same inserts in the same order).
	 * A one-peer table's growing hash: 7% of replay's profile before. */
	enum { BATCH = 32 };
	uint32_t mask = htab_mask(n), hv[BATCH], pos[BATCH];
	unsigned sh = (unsigned)__builtin_ctz(mask + 1);   /* htab_pos's shift, once */
	for (uint32_t i0 = 0; i0 < r->npfx; i0 += BATCH) {
		uint32_t m = r->npfx - i0 < BATCH ? r->npfx - i0 : BATCH;
		for (uint32_t j = 0; j < m; j++) {
			const struct rib_pfx *x = &r->h.pfx[i0 + j];
			hv[j] = x->v6 ? prefix_hash_b(rib_pfx_b(r, i0 + j), x->len, 1) : prefix_hash_b(x->b, x->len, 0);
			pos[j] = (uint32_t)(((uint64_t)(hv[j] & mask) * n) >> sh);
			__builtin_prefetch(&t[pos[j]], 1);
		}
		for (uint32_t j = 0; j < m; j++) {
			uint32_t h = pos[j];
			while (t[h])
				h = h + 1 == n ? 0 : h + 1;
			t[h] = (hv[j] & ~mask) | (i0 + j + 1);
		}
	}
}

/* The table rebuilt with n slots. */
static int htab_resize(struct rib *r, uint32_t n)
{
	uint32_t *t = bigarr_zalloc((size_t)n * sizeof *t);
	if (!t)
		return -1;
	bigarr_huge_now(t, (size_t)n * sizeof *t);   /* every page gets slots below: huge pages where whole */
	htab_fill(r, t, n);
	bigarr_free(r->htab, (size_t)r->hslots * sizeof *r->htab);
	r->htab = t;
	r->hslots = n;
	r->hmask = htab_mask(n);
	return 0;
}

uint32_t rib_prefix_find(const struct rib *r, const struct dm_prefix *in)
{
	if (!prefix_ok(in))
		return RIB_NONE;
	struct dm_prefix c;
	struct lookup k;
	lookup_key(in, &c, &k);
	uint32_t slot;
	return htab_probe(r, &k, &slot);
}

void rib_prefetch(const struct rib *r, const struct dm_prefix *in)
{
	if (!prefix_ok(in))
		return;
	struct dm_prefix c;
	struct lookup k;
	lookup_key(in, &c, &k);
	__builtin_prefetch(&r->htab[htab_pos(k.hv, r->hslots, r->hmask)]);
}


int rib_reserve(struct rib *r, uint32_t n)
{
	uint32_t oldcap = r->cap_pfx;
	if (grow((void **)&r->h.pfx, &r->cap_pfx, n, sizeof *r->h.pfx))
		return -1;
	uint32_t *pn = bigarr_resize(r->pfx_node, (size_t)oldcap * sizeof *pn, (size_t)r->cap_pfx * sizeof *pn);
	if (!pn)
		return -1;
	r->pfx_node = pn;
	if (grow((void **)&r->node, &r->cap_node, 2 * n, sizeof *r->node))
		return -1;
	uint32_t slots = r->hslots;
	while ((uint64_t)n * 4 > (uint64_t)slots * 3)
		slots = htab_step(slots);   /* the size is known: the smallest that holds it */
	if (slots != r->hslots)   /* one rehash to the final size */
		return htab_resize(r, slots);
	return 0;
}

uint32_t rib_prefix_find_or_add(struct rib *r, const struct dm_prefix *in)
{
	if (!prefix_ok(in))
		return RIB_NONE;
	struct dm_prefix c;
	struct lookup k;
	lookup_key(in, &c, &k);
	uint32_t h = 0;
	uint32_t found = htab_probe(r, &k, &h);
	if (found != RIB_NONE)
		return found;
	if (r->npfx >= RIB_MULTI - 2)
		return RIB_NONE;
	uint32_t oldcap = r->cap_pfx;
	if (grow((void **)&r->h.pfx, &r->cap_pfx, r->npfx + 1, sizeof *r->h.pfx))
		return RIB_NONE;
	if (r->cap_pfx != oldcap) {
		uint32_t *pn = bigarr_resize_append(r->pfx_node, (size_t)oldcap * sizeof *pn, (size_t)r->cap_pfx * sizeof *pn);
		if (!pn)
			return RIB_NONE;
		r->pfx_node = pn;
	}
	struct rib_pfx x;
	memcpy(&x, &k.w4, 8);
	if (k.p6) {
		if (grow((void **)&r->pfx6, &r->cap_pfx6, r->npfx6 + 1, sizeof *r->pfx6))
			return RIB_NONE;
		memcpy(r->pfx6[r->npfx6].b, c.b, 16);
		memcpy(x.b, &r->npfx6, 4);
		x.len = c.len;
		x.v6 = 1;
		r->npfx6++;
	}
	uint32_t idx = r->npfx++;
	r->h.pfx[idx] = x;
	r->pfx_node[idx] = RIB_NONE;
	prefault_append(r->pfx_node, (size_t)r->npfx * sizeof *r->pfx_node, sizeof *r->pfx_node,
	                (size_t)r->cap_pfx * sizeof *r->pfx_node);
	r->htab[h] = (k.hv & ~r->hmask) | (idx + 1);
	/* grown at 3/4 full: the fingerprint in each slot keeps probes off the prefix array, and a
	 * full table (577,705 prefixes) fits 786,432 slots (3 MB; 2 Mi of 8 bytes before, issue 12) */
	if ((uint64_t)r->npfx * 4 > (uint64_t)r->hslots * 3 && htab_resize(r, htab_next(r->hslots)))
		return RIB_NONE;
	if (r->lazy_trie)
		return idx;   /* queued: in pend_from .. npfx - 1 */
	if (rib_trie_insert(r, idx))
		return RIB_NONE;
	return idx;
}

void rib_set_lazy_trie(struct rib *r, int on)
{
	if (!on)
		rib_trie_sync(r);
	if (on && !r->lazy_trie)
		r->pend_from = r->npfx;   /* the queue's range starts with the next prefix */
	r->lazy_trie = (uint8_t)(on != 0);
}

/* Prefixes queued for the trie: the list, then the range (rib_impl.h). */
static inline uint32_t pend_range(const struct rib *r) { return r->lazy_trie ? r->npfx - r->pend_from : 0; }
static inline uint32_t pend_count(const struct rib *r) { return r->npending + pend_range(r); }
static inline uint32_t pend_at(const struct rib *r, uint32_t i)
{
	return i < r->npending ? r->pending[i] : r->pend_from + (i - r->npending);
}

/* The range appended to the list (the paths that sort the list itself); 0, or -1 out of memory
 * (nothing changed). */
static int pend_list(struct rib *r)
{
	uint32_t n = pend_count(r);
	if (n > r->cap_pending) {
		uint32_t *q = realloc(r->pending, (size_t)n * sizeof *q);
		if (!q)
			return -1;
		r->pending = q;
		r->cap_pending = n;
	}
	for (uint32_t i = r->npending; i < n; i++)
		r->pending[i] = pend_at(r, i);
	r->npending = n;
	r->pend_from = r->npfx;
	return 0;
}

static inline unsigned bit_at(const uint8_t *b, unsigned i) { return b[i >> 3] >> (7 - (i & 7)) & 1; }

/* Length of the common leading bits of a and b, at most limit. Compared 32 bits at a time (a
 * byte at a time was 4% of a one-peer replay, issue 12): both hold at least the whole words
 * limit reaches (4 bytes an IPv4 prefix, 16 an IPv6 one). */
static inline unsigned common_bits(const uint8_t *a, const uint8_t *b, unsigned limit)
{
	for (unsigned i = 0; i < limit; i += 32) {
		uint32_t x, y;
		memcpy(&x, a + i / 8, 4);
		memcpy(&y, b + i / 8, 4);
		uint32_t d = ntohl(x ^ y);
		if (d) {
			unsigned c = i + (unsigned)__builtin_clz(d);
			return c < limit ? c : limit;
		}
	}
	return limit;
}

static const struct rib *sort_rib;
static int cmp_pending(const void *a, const void *b)
{
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	const struct rib_pfx *x = &sort_rib->h.pfx[i], *y = &sort_rib->h.pfx[j];
	if (x->v6 != y->v6)
		return x->v6 < y->v6 ? -1 : 1;
	int c = memcmp(rib_pfx_b(sort_rib, i), rib_pfx_b(sort_rib, j), x->v6 ? 16 : 4);
	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* The family and first 16 bits of prefix i: buckets in cmp_pending's order. */
static inline uint32_t pending_bucket(const struct rib *r, uint32_t i)
{
	const uint8_t *b = rib_pfx_b(r, i);
	return (uint32_t)r->h.pfx[i].v6 << 16 | (uint32_t)b[0] << 8 | b[1];
}

/* A bucket's sort key: the address bits after the first 16, then the length (IPv4: exact, so
 * equal keys are one prefix; IPv6: ties broken by cmp_pending). */
struct pkey {
	uint64_t k;
	uint32_t idx;
};

static inline int pkey_less(const struct pkey *x, const struct pkey *y)
{
	return x->k != y->k ? x->k < y->k : cmp_pending(&x->idx, &y->idx) < 0;
}

/* An inline quicksort of T by LESS(const T *, const T *) (median of three, the smaller side
 * first, insertion sort under 16), made for each key type below: glibc's qsort through a
 * comparator call was 5.6% of a one-peer replay's instructions, this 2.7% (issue 12). */
#define DEFINE_SORT(name, T, LESS)                                                                 \
	static void name(T *a, uint32_t n)                                                         \
	{                                                                                          \
		while (n > 16) {                                                                   \
			uint32_t mid = n / 2;                                                      \
			T t;                                                                       \
			if (LESS(&a[mid], &a[0])) { t = a[mid]; a[mid] = a[0]; a[0] = t; }        \
			if (LESS(&a[n - 1], &a[0])) { t = a[n - 1]; a[n - 1] = a[0]; a[0] = t; }   \
			if (LESS(&a[n - 1], &a[mid])) { t = a[n - 1]; a[n - 1] = a[mid]; a[mid] = t; } \
			T piv = a[mid];                                                            \
			uint32_t i = 0, j = n - 1;                                                 \
			for (;;) {   /* Hoare partition: a[0..j] <= piv <= a[j+1..n-1] */          \
				while (LESS(&a[i], &piv))                                          \
					i++;                                                       \
				while (LESS(&piv, &a[j]))                                          \
					j--;                                                       \
				if (i >= j)                                                        \
					break;                                                     \
				t = a[i];                                                          \
				a[i] = a[j];                                                       \
				a[j] = t;                                                          \
				i++;                                                               \
				j--;                                                               \
			}                                                                          \
			uint32_t left = j + 1;                                                     \
			if (left < n - left) {                                                     \
				name(a, left);                                                     \
				a += left;                                                         \
				n -= left;                                                         \
			} else {                                                                   \
				name(a + left, n - left);                                          \
				n = left;                                                          \
			}                                                                          \
		}                                                                                  \
		for (uint32_t i = 1; i < n; i++) {                                                 \
			T x = a[i];                                                                \
			uint32_t j = i;                                                            \
			for (; j > 0 && LESS(&x, &a[j - 1]); j--)                                  \
				a[j] = a[j - 1];                                                   \
			a[j] = x;                                                                  \
		}                                                                                  \
	}

/* a bucket by key, ties (IPv6) by cmp_pending */
DEFINE_SORT(pkey_sort, struct pkey, pkey_less)
/* packed IPv4 queue entries (pk_fill) */
static inline int u64_less(const uint64_t *x, const uint64_t *y) { return *x < *y; }
DEFINE_SORT(u64_sort, uint64_t, u64_less)

static inline uint64_t pending_key(const struct rib *r, uint32_t i)
{
	const struct rib_pfx *p = &r->h.pfx[i];
	if (!p->v6)
		return (uint64_t)p->b[2] << 16 | (uint64_t)p->b[3] << 8 | p->len;
	const uint8_t *b = rib_pfx_b(r, i);
	uint64_t k = 0;
	for (int j = 2; j < 9; j++)
		k = k << 8 | b[j];
	return k;
}

/* Sorts r->pending into cmp_pending's order. A qsort of a whole table's 577k prefixes through
 * memcmp was 14% of a one-peer replay (issue 12); a counting pass over the family and first 16
 * bits leaves buckets of tens of prefixes, each sorted by an integer key. The order is the same
 * total order, so the trie is built in the same order as before. */
static void sort_pending(struct rib *r)
{
	uint32_t n = r->npending;
	enum { NB = 2u << 16 };
	uint32_t *cnt = n > 4096 ? calloc(NB + 1, sizeof *cnt) : NULL;
	uint32_t *out = cnt ? malloc((size_t)n * sizeof *out) : NULL;
	struct pkey *kv = NULL;
	sort_rib = r;
	if (out) {
		for (uint32_t i = 0; i < n; i++)
			cnt[pending_bucket(r, r->pending[i]) + 1]++;
		uint32_t big = 0;
		for (uint32_t b = 0; b < NB; b++) {
			big = cnt[b + 1] > big ? cnt[b + 1] : big;
			cnt[b + 1] += cnt[b];
		}
		kv = malloc((size_t)big * sizeof *kv);
	}
	if (!kv) {
		free(cnt);
		free(out);
		qsort(r->pending, n, sizeof *r->pending, cmp_pending);
		return;
	}
	for (uint32_t i = 0; i < n; i++)
		out[cnt[pending_bucket(r, r->pending[i])]++] = r->pending[i];
	/* cnt[b] is now the end of bucket b */
	for (uint32_t b = 0, lo = 0; b < NB; lo = cnt[b++]) {
		uint32_t m = cnt[b] - lo, *v = out + lo;
		if (m < 2)
			continue;
		for (uint32_t i = 0; i < m; i++)
			kv[i] = (struct pkey){ pending_key(r, v[i]), v[i] };
		pkey_sort(kv, m);
		for (uint32_t i = 0; i < m; i++)
			v[i] = kv[i].idx;
	}
	free(kv);
	free(cnt);
	free(r->pending);
	r->pending = out;
	r->cap_pending = n;
}

static int trie_insert_at(struct rib *r, uint32_t p, uint32_t n);
static uint32_t tnode_new(struct rib *r, int end, uint32_t rep, uint8_t len, uint32_t parent);
static inline void child_set_parent(struct rib *r, uint32_t v, uint32_t par);
static inline void slot_set(struct rib *r, int fam, uint32_t par, unsigned side, uint32_t v);

/* The deepest node on the path from a (a node inserted just before) to the root whose bits
 * begin p's: the root's descent to p passes through it, so inserting from there makes the same
 * trie. In address order the walk up is short, and the descent skips the levels above it. */
static uint32_t trie_finger(const struct rib *r, uint32_t a, uint32_t p)
{
	const struct rib_pfx *pp = &r->h.pfx[p];
	const uint8_t *pb = rib_pfx_b(r, p);
	for (; a != RIB_NONE; a = rib_tnode_parent(&r->node[a])) {
		const struct rib_tnode *t = &r->node[a];
		uint32_t k = rib_tnode_rep(t);
		unsigned tl = rib_tnode_len(t);
		if (r->h.pfx[k].v6 != pp->v6)
			return RIB_NONE;
		if (tl <= pp->len && common_bits(pb, rib_pfx_b(r, k), tl) == tl)
			return a;
	}
	return RIB_NONE;
}

/* Inserts q[0..n) (one family, in sort_pending's order) from trie_finger each. */
static int trie_insert_run(struct rib *r, const uint32_t *q, uint32_t n)
{
	int rc = 0;
	uint32_t last = RIB_NONE;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t p = q[i];
		uint32_t at = trie_finger(r, last, p);
		if (trie_insert_at(r, p, at))
			rc = -1;
		last = r->pfx_node[p] & RIB_LEAF ? rib_prefix_up(r, p) : r->pfx_node[p];
	}
	return rc;
}

/* A prefix's first bits as host-order words (IPv4: w[0]; IPv6: w[0..3]), the form
 * trie_build compares them in. */
struct tbits {
	uint32_t w[4];
};

static inline void tbits_of(const struct rib *r, int fam, uint32_t i, struct tbits *t)
{
	const uint8_t *b = rib_pfx_b(r, i);
	for (int j = 0; j < (fam ? 4 : 1); j++) {
		uint32_t x;
		memcpy(&x, b + 4 * j, 4);
		t->w[j] = ntohl(x);
	}
}

/* Length of the common leading bits of a and b, at most limit (common_bits on words). */
static inline __attribute__((always_inline)) unsigned tbits_common(int fam, const struct tbits *a,
                                                                   const struct tbits *b, unsigned limit)
{
	for (int j = 0; j < (fam ? 4 : 1) && 32u * (unsigned)j < limit; j++) {
		uint32_t d = a->w[j] ^ b->w[j];
		if (d) {
			unsigned c = 32u * (unsigned)j + (unsigned)__builtin_clz(d);
			return c < limit ? c : limit;
		}
	}
	return limit;
}

static inline unsigned tbits_at(const struct tbits *t, unsigned i) { return t->w[i >> 5] >> (31 - (i & 31)) & 1; }

/* One entry of trie_build's stack: a child word (a node, or a leaf prefix), and the bits it
 * stands for (its rep's first len bits). */
struct tstk {
	uint32_t v;
	unsigned len;
	struct tbits b;
};
/* A path holds at most one node a length (0 ... 128) and a leaf below them. */
enum { TSTK_MAX = 130 };

/* The path from the root of fam's trie down to prefix p (in the trie), into st; its depth. */
static unsigned tstk_of(const struct rib *r, int fam, uint32_t p, struct tstk *st)
{
	struct tstk rev[TSTK_MAX];
	unsigned k = 0, sp = 0;
	uint32_t v = r->pfx_node[p];
	if (v & RIB_LEAF) {
		rev[k] = (struct tstk){ RIB_LEAF | p, r->h.pfx[p].len, { { 0 } } };
		tbits_of(r, fam, p, &rev[k++].b);
		v = rib_prefix_up(r, p);
	}
	for (; v != RIB_NONE && k < TSTK_MAX; v = rib_tnode_parent(&r->node[v])) {
		const struct rib_tnode *t = &r->node[v];
		rev[k] = (struct tstk){ v, rib_tnode_len(t), { { 0 } } };
		tbits_of(r, fam, rib_tnode_rep(t), &rev[k++].b);
	}
	if (v != RIB_NONE || (k && rev[k - 1].v != r->root[fam]))
		return 0;   /* cannot be: an empty stack is always a safe start (see below) */
	while (k)
		st[sp++] = rev[--k];
	return sp;
}

/* IPv4 queue entries packed for sorting: address (host order) << 32 | length << 26 | index, so
 * that integer order is cmp_pending's order, and the sort and trie_build read no prefix from
 * the store (its random reads were most of the build's time; issue 12). */
enum { PK_IDX_BITS = RIB_PK_IDX_BITS };
#define PK_IDX_MASK ((1u << PK_IDX_BITS) - 1)

/* Builds an empty family's trie from its queue in sort_pending's order, in one pass (issue 12:
 * 18% of a one-peer table's instructions went to inserting its 577k prefixes one by one, each
 * from trie_finger). In that order every prefix comes after the prefixes that cover it and after
 * every prefix on its left, so it lands on the right edge of the trie built so far: below the
 * deepest entry of the path to the prefix inserted last whose bits begin its own (that path is
 * kept on a stack), either in an empty child place (a leaf), or beside the next entry of the path
 * under a new branching node where their bits part; the prefix inserted last gets a node of its
 * own when it covers the new one. These are the nodes trie_insert_at makes, with the same reps,
 * in the same order (the same node numbers: test_prefix_store compares the two). A case the
 * order rules out (a prefix above one inserted before, a branching node that is the prefix, an
 * index queued twice: a snapshot's queue is only checked for range) is inserted by
 * trie_insert_at from the root, and the stack is read back from the trie.
 * Input: IPv4 packed entries k (PK_IDX_BITS), or IPv6 indexes q. Inline for each family's word
 * count. mapped: k is a mapping of its own (bigarr), whose pages read are given back as it goes. */
static inline __attribute__((always_inline)) int trie_build(struct rib *r, int fam, const uint64_t *k,
                                                            const uint32_t *q, uint32_t n, int mapped)
{
	enum { GIVE_BACK = 1u << 16 };   /* entries (512 KB) */
	struct tstk st[TSTK_MAX];
	unsigned sp = 0;
	int rc = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t p;
		unsigned L;
		struct tbits pb;
		if (fam) {
			p = q[i];
			L = r->h.pfx[p].len;
			tbits_of(r, fam, p, &pb);
		} else {
			if (mapped && i && i % GIVE_BACK == 0) {   /* whole pages read: back to the system */
				uintptr_t lo = (uintptr_t)k, hi = (uintptr_t)(k + i) & ~(uintptr_t)4095;
				if (hi > lo)
					madvise((void *)lo, hi - lo, MADV_DONTNEED);   /* k: page-aligned (mmap) */
			}
			p = (uint32_t)k[i] & PK_IDX_MASK;
			L = (unsigned)(k[i] >> PK_IDX_BITS) & 63;
			/* a prefix's trie word is read and written at random (the order is the
			 * address's, the indexes arrival's): ask for it ahead (its miss was 45% of
			 * the build's time) */
			if (i + 16 < n)
				__builtin_prefetch(&r->pfx_node[(uint32_t)k[i + 16] & PK_IDX_MASK], 1);
			pb.w[0] = (uint32_t)(k[i] >> 32);
		}
		if (r->pfx_node[p] != RIB_NONE)
			continue;   /* in the trie already (trie_insert_at's test) */
		/* the deepest entry whose bits begin p's; x: the entry below it on the path */
		struct tstk x = { RIB_NONE, 0, { { 0 } } };
		while (sp && (st[sp - 1].len > L || tbits_common(fam, &pb, &st[sp - 1].b, st[sp - 1].len) < st[sp - 1].len))
			x = st[--sp];
		uint32_t par = RIB_NONE, cur = r->root[fam];
		unsigned side = 0;
		if (sp) {
			struct tstk *e = &st[sp - 1];
			if (e->len == L)
				goto general;
			if (e->v & RIB_LEAF) {   /* the prefix inserted last covers p: a node of its own */
				uint32_t gp = sp > 1 ? st[sp - 2].v : RIB_NONE;
				uint32_t m = tnode_new(r, 1, rib_leaf_pfx(e->v), (uint8_t)e->len, gp);
				if (m == RIB_NONE) {
					rc = -1;
					sp = 0;
					continue;
				}
				slot_set(r, fam, gp, gp != RIB_NONE && r->node[gp].child[1] == e->v, m);
				e->v = m;
			}
			par = e->v;
			side = tbits_at(&pb, e->len);
			cur = r->node[par].child[side];
		}
		if (cur == RIB_NONE) {   /* an empty place: p is a leaf */
			slot_set(r, fam, par, side, RIB_LEAF | p);
			st[sp++] = (struct tstk){ RIB_LEAF | p, L, pb };
			continue;
		}
		if (cur != x.v)
			goto general;
		unsigned c = tbits_common(fam, &pb, &x.b, L < x.len ? L : x.len);
		if (c >= x.len || c == L)
			goto general;
		/* p and x part at bit c: a branching node above both (rep p, as trie_insert_at makes it) */
		uint32_t g = tnode_new(r, 0, p, (uint8_t)c, par);
		if (g == RIB_NONE) {
			rc = -1;
			sp = 0;
			continue;
		}
		unsigned nbit = tbits_at(&x.b, c);
		slot_set(r, fam, par, side, g);
		r->node[g].child[nbit] = x.v;
		child_set_parent(r, x.v, g);
		r->node[g].child[!nbit] = RIB_LEAF | p;
		child_set_parent(r, RIB_LEAF | p, g);
		st[sp++] = (struct tstk){ g, c, pb };
		st[sp++] = (struct tstk){ RIB_LEAF | p, L, pb };
		continue;
	general:
		if (trie_insert_at(r, p, RIB_NONE))
			rc = -1;
		sp = r->pfx_node[p] == RIB_NONE ? 0 : tstk_of(r, fam, p, st);
	}
	return rc;
}

static int trie_build4(struct rib *r, const uint64_t *k, uint32_t n, int mapped) { return trie_build(r, 0, k, NULL, n, mapped); }
static int trie_build6(struct rib *r, const uint32_t *q, uint32_t n) { return trie_build(r, 1, NULL, q, n, 0); }

/* Buckets of pk_fill: the top 16 bits of an IPv4 address. */
enum { PK_NB = 1u << 16 };

static inline uint64_t pk_of(const struct rib_pfx *x, uint32_t p)
{
	uint32_t a;
	memcpy(&a, x->b, 4);
	return (uint64_t)ntohl(a) << 32 | (uint64_t)x->len << PK_IDX_BITS | p;
}

/* The count of the queue's IPv4 entries in each bucket of the family and top 16 bits, summed:
 * next[b] the start of bucket b, next[PK_NB] the IPv4 count returned. */
static uint32_t pk_count(const struct rib *r, uint32_t *next /* PK_NB + 1, zero */)
{
	uint32_t n = pend_count(r);
	for (uint32_t i = 0; i < n; i++) {
		const struct rib_pfx *x = &r->h.pfx[pend_at(r, i)];
		if (!x->v6)
			next[((uint32_t)x->b[0] << 8 | x->b[1]) + 1]++;
	}
	for (uint32_t b = 0; b < PK_NB; b++)
		next[b + 1] += next[b];
	return next[PK_NB];
}

/* A bucket's n entries (one /16's) sorted: from SMALL on, by the address's third byte first, a
 * counting pass through tmp (room for n), then each /24's few by u64_sort (an insertion sort at
 * that size). A bucket's entries come in arrival order, near random (a table's 577,705 in 65,536
 * buckets: 388,516 neighbours out of order), and u64_sort's partitions and insertions
 * mispredicted a branch at nearly every step: sorting that table's buckets took 9.1 ms by
 * u64_sort alone, 3.9 so (the keys saved from a replay, sorted apart, 5 runs each; issue 12).
 * tmp NULL (out of memory): u64_sort. */
static void pk_sort_bucket(uint64_t *a, uint32_t n, uint64_t *tmp)
{
	enum { SMALL = 32 };
	if (n > SMALL && tmp) {
		uint32_t c[257] = { 0 }, at[256];
		for (uint32_t i = 0; i < n; i++)
			c[(a[i] >> 40 & 255) + 1]++;
		for (unsigned d = 0; d < 256; d++)
			c[d + 1] += c[d];
		memcpy(at, c, sizeof at);
		for (uint32_t i = 0; i < n; i++)
			tmp[at[a[i] >> 40 & 255]++] = a[i];
		memcpy(a, tmp, (size_t)n * sizeof *a);
		for (unsigned d = 0; d < 256; d++)
			if (c[d + 1] - c[d] > 1)
				u64_sort(a + c[d], c[d + 1] - c[d]);
		return;
	}
	u64_sort(a, n);
}

/* The queue's IPv4 entries packed into k in order (next: pk_count's). Each entry is written straight into its bucket
 * (stores that wait on nothing: sorting k in place made a chain of dependent cache misses, 8% of
 * a one-peer replay's time), then each bucket (tens of entries) sorted as integers. The queue is
 * read in arrival order, twice with pk_count; both read the prefixes nearly in order. The queue
 * itself is left as it is. */
static void pk_place(const struct rib *r, uint64_t *k, uint32_t *next)
{
	uint32_t n = pend_count(r), big = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t p = pend_at(r, i);
		const struct rib_pfx *x = &r->h.pfx[p];
		if (!x->v6)
			k[next[(uint32_t)x->b[0] << 8 | x->b[1]]++] = pk_of(x, p);
	}
	/* next[b] is now the end of bucket b */
	for (uint32_t b = 0, lo = 0; b < PK_NB; lo = next[b++])
		if (next[b] - lo > big)
			big = next[b] - lo;
	uint64_t *tmp = malloc((size_t)big * sizeof *tmp);
	for (uint32_t b = 0, lo = 0; b < PK_NB; lo = next[b++])
		pk_sort_bucket(k + lo, next[b] - lo, tmp);
	free(tmp);
}

/* The queue's IPv6 entries made the whole queue (a list, the range taken), its n4 IPv4 ones
 * dropped (rib_queue4_sorted has them); 0, or -1 out of memory (the queue unchanged). */
static int pend_keep6(struct rib *r, uint32_t n4)
{
	uint32_t n = pend_count(r), m6 = 0;
	uint32_t *six = n - n4 ? malloc((size_t)(n - n4) * sizeof *six) : NULL;
	if (n - n4 && !six)
		return -1;
	for (uint32_t i = 0; i < n && m6 < n - n4; i++) {
		uint32_t p = pend_at(r, i);
		if (r->h.pfx[p].v6)
			six[m6++] = p;
	}
	free(r->pending);
	r->pending = six;
	r->npending = r->cap_pending = m6;
	r->pend_from = r->npfx;
	return 0;
}

uint32_t rib_queue4_sorted(const struct rib *r, uint64_t **out, size_t *bytes)
{
	*out = NULL;
	*bytes = 0;
	if (r->npfx > PK_IDX_MASK)
		return UINT32_MAX;
	if (!pend_count(r))
		return 0;   /* nothing queued (a close before any table): no 256 KiB of counts to make,
		             * whose page faults took 1.7 ms of a replay's start */
	uint32_t *cnt = calloc(PK_NB + 1, sizeof *cnt);
	if (!cnt)
		return UINT32_MAX;
	uint32_t n4 = pk_count(r, cnt);
	size_t kbytes = (size_t)n4 * sizeof(uint64_t);
	uint64_t *k = n4 ? bigarr_resize(NULL, 0, kbytes) : NULL;
	if (n4 && !k) {
		free(cnt);
		return UINT32_MAX;
	}
	if (n4) {
		bigarr_huge_now(k, kbytes);   /* written whole by pk_place */
		pk_place(r, k, cnt);
	}
	free(cnt);
	*out = k;
	*bytes = kbytes;
	return n4;
}

/* The fewest nodes trie_build makes of the sorted IPv4 entries k[0, n) in an empty trie. A
 * prefix with nothing below it is a leaf, held in a child word, and any other is a node; every
 * node has two child words, holding the leaves and every node but the root, so nodes >= leaves
 * - 1, and nodes >= prefixes that are no leaf. In sort order what a prefix covers follows it at
 * once: a prefix is a leaf when the next entry is not inside it (the same prefix twice, a queue
 * that cannot be but is only checked for range, counts once). One sequential pass. */
static uint32_t pk_min_nodes(const uint64_t *k, uint32_t n)
{
	uint32_t leaves = 0, distinct = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t key = k[i] >> PK_IDX_BITS;   /* address << 6 | length */
		if (i + 1 < n && k[i + 1] >> PK_IDX_BITS == key)
			continue;   /* counted at its last copy */
		distinct++;
		unsigned len = (unsigned)key & 63;
		uint32_t a = (uint32_t)(key >> 6);
		if (i + 1 == n) {
			leaves++;
			break;
		}
		uint64_t nk = k[i + 1] >> PK_IDX_BITS;
		unsigned nlen = (unsigned)nk & 63;
		uint32_t na = (uint32_t)(nk >> 6);
		int inside = nlen > len && (len == 0 || ((na ^ a) >> (32 - len)) == 0);
		leaves += !inside;
	}
	uint32_t inner = distinct - leaves;
	return leaves - 1 > inner ? leaves - 1 : inner;
}

int rib_trie_sync(struct rib *r)
{
	if (!pend_count(r))
		return 0;
	int rc = 0;
	/* IPv4 first, packed and sorted (rib_queue4_sorted), when the indexes fit; the IPv6 rest
	 * becomes the queue, and trie_build gives back the packed entries' pages as it goes. */
	uint64_t *k;
	size_t kbytes;
	uint32_t n4 = rib_queue4_sorted(r, &k, &kbytes);
	if (n4 != UINT32_MAX && pend_keep6(r, n4)) {
		bigarr_free(k, kbytes);
		k = NULL;
		n4 = UINT32_MAX;
	}
	if (n4 != UINT32_MAX) {
		if (n4 && r->root[0] == RIB_NONE) {
			/* Room for the build at once, and huge pages for the part it surely writes
			 * (pk_min_nodes; one table: 537k nodes for 578k prefixes, 2,100 first touches of
			 * 4 KiB were a quarter of the build's time here; issue 12). */
			if (!grow((void **)&r->node, &r->cap_node, r->nnode + n4, sizeof *r->node))
				bigarr_huge(r->node, (size_t)(r->nnode + pk_min_nodes(k, n4)) * sizeof *r->node);
			rc = trie_build4(r, k, n4, kbytes >= BIGARR_MIN);
		} else {
			uint32_t last = RIB_NONE;
			for (uint32_t i = 0; i < n4; i++) {
				uint32_t p = (uint32_t)k[i] & PK_IDX_MASK;
				if (trie_insert_at(r, p, trie_finger(r, last, p)))
					rc = -1;
				last = r->pfx_node[p] & RIB_LEAF ? rib_prefix_up(r, p) : r->pfx_node[p];
			}
		}
	}
	bigarr_free(k, kbytes);
	if (pend_list(r))
		return -1;   /* out of memory: the queue stays (never half taken) */
	if (r->npending) {
		sort_pending(r);
		/* sort_pending's order: every IPv4 prefix, then every IPv6 one */
		uint32_t m4 = 0;
		while (m4 < r->npending && !r->h.pfx[r->pending[m4]].v6)
			m4++;
		if (m4 && trie_insert_run(r, r->pending, m4))
			rc = -1;
		if (r->npending > m4 && (r->root[1] == RIB_NONE ? trie_build6(r, r->pending + m4, r->npending - m4)
		                                                : trie_insert_run(r, r->pending + m4, r->npending - m4)))
			rc = -1;
	}
	r->npending = 0;
	/* a table's queue is not needed again: 2.3 MB of a one-peer replay's peak (issue 12) */
	if (r->cap_pending > 4096) {
		free(r->pending);
		r->pending = NULL;
		r->cap_pending = 0;
	}
	return rc;
}

/* ---------- trie ---------- */

static inline void tnode_set_parent(struct rib_tnode *t, uint32_t parent)
{
	t->up = (t->up & ~RIB_NODE_NIL) | (parent == RIB_NONE ? RIB_NODE_NIL : parent);
}

/* A node that is prefix pfx (end) or only branches (rep: a prefix beginning with its bits). */
static inline uint32_t tnode_new(struct rib *r, int end, uint32_t rep, uint8_t len, uint32_t parent)
{
	uint32_t n;
	if (r->free_node != RIB_NONE) {
		n = r->free_node;
		r->free_node = r->node[n].child[0];
	} else {
		if (r->nnode >= RIB_NODE_MAX ||
		    grow((void **)&r->node, &r->cap_node, r->nnode + 1, sizeof *r->node))
			return RIB_NONE;
		n = r->nnode++;
		/* a build makes nodes in a run, each on memory never read: ask for the line 8 nodes on
		 * for writing (its first write waited for the line: a quarter of trie_build's samples) */
		__builtin_prefetch(&r->node[n + 8], 1);
	}
	struct rib_tnode *t = &r->node[n];
	t->child[0] = t->child[1] = RIB_NONE;
	t->up = (uint32_t)len << 24;
	tnode_set_parent(t, parent);
	t->key = rep | (end ? RIB_NODE_END : 0);
	if (end)
		r->pfx_node[rep] = n;
	return n;
}

static void tnode_release(struct rib *r, uint32_t n)
{
	r->node[n].key &= ~RIB_NODE_END;
	tnode_set_parent(&r->node[n], RIB_NONE);
	r->node[n].child[0] = r->free_node;
	r->node[n].child[1] = RIB_NONE;
	r->free_node = n;
}

/* Makes par (RIB_NONE: none, at the root) the parent of child word v (a node or a leaf). */
static inline void child_set_parent(struct rib *r, uint32_t v, uint32_t par)
{
	if (v == RIB_NONE)
		return;
	if (v & RIB_LEAF)
		r->pfx_node[rib_leaf_pfx(v)] = RIB_LEAF | (par == RIB_NONE ? RIB_NODE_NIL : par);
	else
		tnode_set_parent(&r->node[v], par);
}

/* Puts child word v in par's child side (par RIB_NONE: as the family's root). */
static inline void slot_set(struct rib *r, int fam, uint32_t par, unsigned side, uint32_t v)
{
	if (par == RIB_NONE)
		r->root[fam] = v;
	else
		r->node[par].child[side] = v;
	child_set_parent(r, v, par);
}

/* Puts child word m where node n was (under n's parent, or as the root). */
static void tnode_replace(struct rib *r, int fam, uint32_t n, uint32_t m)
{
	uint32_t par = rib_tnode_parent(&r->node[n]);
	slot_set(r, fam, par, par != RIB_NONE && r->node[par].child[1] == n, m);
}

int rib_trie_insert(struct rib *r, uint32_t p)
{
	return trie_insert_at(r, p, RIB_NONE);
}

/* Inserts p descending from node n (RIB_NONE: the root), whose bits begin p's (trie_finger).
 * The descent holds the child word it is at (cur) and where it lies (par, side). */
static int trie_insert_at(struct rib *r, uint32_t p, uint32_t n)
{
	if (r->pfx_node[p] != RIB_NONE)
		return 0;
	const uint8_t *pb = rib_pfx_b(r, p);
	int fam = r->h.pfx[p].v6;
	unsigned L = r->h.pfx[p].len;
	uint32_t par = RIB_NONE, cur = r->root[fam];
	unsigned side = 0;
	if (n != RIB_NONE) {
		par = rib_tnode_parent(&r->node[n]);
		side = par != RIB_NONE && r->node[par].child[1] == n;
		cur = n;
	}
	for (;;) {
		if (cur == RIB_NONE) {   /* an empty place: p is a leaf */
			slot_set(r, fam, par, side, RIB_LEAF | p);
			return 0;
		}
		/* tnode_new may move r->node: re-read through cur each time */
		int leaf = (cur & RIB_LEAF) != 0;
		uint32_t krep = leaf ? rib_leaf_pfx(cur) : rib_tnode_rep(&r->node[cur]);
		const uint8_t *kb = rib_pfx_b(r, krep);
		unsigned nlen = leaf ? r->h.pfx[krep].len : rib_tnode_len(&r->node[cur]);
		unsigned c = common_bits(pb, kb, L < nlen ? L : nlen);
		if (c < nlen) {
			unsigned nbit = bit_at(kb, c);
			if (c == L) {   /* p is above cur: a node of p with cur below */
				uint32_t m = tnode_new(r, 1, p, (uint8_t)L, par);
				if (m == RIB_NONE)
					return -1;
				slot_set(r, fam, par, side, m);
				r->node[m].child[nbit] = cur;
				child_set_parent(r, cur, m);
			} else {        /* p and cur part at bit c: a branching node above both */
				uint32_t g = tnode_new(r, 0, p, (uint8_t)c, par);
				if (g == RIB_NONE)
					return -1;
				slot_set(r, fam, par, side, g);
				r->node[g].child[nbit] = cur;
				child_set_parent(r, cur, g);
				r->node[g].child[!nbit] = RIB_LEAF | p;
				child_set_parent(r, RIB_LEAF | p, g);
			}
			return 0;
		}
		if (L == nlen) {
			if (leaf)          /* the same prefix: cannot be (the store holds one index a prefix) */
				return 0;
			/* a branching node becomes p: p is its rep from now on */
			r->node[cur].key = p | RIB_NODE_END;
			r->pfx_node[p] = cur;
			return 0;
		}
		if (leaf) {   /* a leaf above p gets a node of its own, and p goes below it */
			uint32_t m = tnode_new(r, 1, krep, (uint8_t)nlen, par);
			if (m == RIB_NONE)
				return -1;
			slot_set(r, fam, par, side, m);
			cur = m;
		}
		unsigned b = bit_at(pb, nlen);
		par = cur;
		side = b;
		cur = r->node[cur].child[b];
	}
}

void rib_trie_remove(struct rib *r, uint32_t p)
{
	uint32_t v = r->pfx_node[p];
	if (v == RIB_NONE)
		return;
	int fam = r->h.pfx[p].v6;
	uint32_t n;
	if (v & RIB_LEAF) {   /* a leaf leaves its parent's child word */
		n = rib_prefix_up(r, p);
		r->pfx_node[p] = RIB_NONE;
		if (n == RIB_NONE) {
			r->root[fam] = RIB_NONE;
			return;
		}
		r->node[n].child[r->node[n].child[1] == (RIB_LEAF | p)] = RIB_NONE;
	} else {   /* p's node branches only now (p stays its rep: the store never forgets it) */
		n = v;
		r->pfx_node[p] = RIB_NONE;
		r->node[n].key &= ~RIB_NODE_END;
	}
	/* branching nodes left with one child or none go; a prefix's node left with no child stays */
	while (n != RIB_NONE && !(r->node[n].key & RIB_NODE_END)) {
		uint32_t c0 = r->node[n].child[0], c1 = r->node[n].child[1];
		uint32_t par = rib_tnode_parent(&r->node[n]);
		if (c0 != RIB_NONE && c1 != RIB_NONE)
			break;
		uint32_t only = c0 != RIB_NONE ? c0 : c1;
		tnode_replace(r, fam, n, only);
		tnode_release(r, n);
		if (only != RIB_NONE)
			break;
		n = par;
	}
}

static uint32_t lpm_bits(const struct rib *r, int fam, const uint8_t *b, unsigned len)
{
	uint32_t best = RIB_NONE;
	for (uint32_t n = r->root[fam]; n != RIB_NONE;) {
		if (n & RIB_LEAF) {
			uint32_t q = rib_leaf_pfx(n);
			unsigned ql = r->h.pfx[q].len;
			if (ql <= len && common_bits(b, rib_pfx_b(r, q), ql) == ql)
				best = rib_leaf_pfx(n);
			break;
		}
		const struct rib_tnode *t = &r->node[n];
		unsigned tl = rib_tnode_len(t);
		if (tl > len || common_bits(b, rib_pfx_b(r, rib_tnode_rep(t)), tl) < tl)
			break;
		if (t->key & RIB_NODE_END)
			best = rib_tnode_rep(t);
		if (tl == len)
			break;
		n = t->child[bit_at(b, tl)];
	}
	return best;
}

uint32_t rib_lpm(const struct rib *r, const struct dm_ip *addr)
{
	if (addr->afi != DM_AFI_IPV4 && addr->afi != DM_AFI_IPV6)
		return RIB_NONE;
	return lpm_bits(r, rib_fam(addr->afi), addr->b, addr->afi == DM_AFI_IPV6 ? 128 : 32);
}

uint32_t rib_covering(const struct rib *r, const struct dm_prefix *p)
{
	if (!prefix_ok(p))
		return RIB_NONE;
	struct dm_prefix c;
	prefix_canon(p, &c);
	return lpm_bits(r, rib_fam(c.afi), c.b, c.len);
}

/* ---------- attributes ---------- */

/* The attribute block without MP_REACH_NLRI / MP_UNREACH_NLRI (they carry the prefixes of the
 * message, so keeping them would make every update's set unique). Malformed framing: whole block. */
static size_t attrs_strip(const uint8_t *raw, size_t len, uint8_t *out)
{
	size_t i = 0, o = 0;
	while (i < len) {
		if (len - i < 3)
			goto whole;
		uint8_t flags = raw[i], type = raw[i + 1];
		size_t hl = (flags & BGP_ATTR_F_EXTLEN) ? 4 : 3;
		if (len - i < hl)
			goto whole;
		size_t al = hl == 4 ? (size_t)raw[i + 2] << 8 | raw[i + 3] : raw[i + 2];
		if (len - i - hl < al)
			goto whole;
		if (type != BGP_ATTR_MP_REACH_NLRI && type != BGP_ATTR_MP_UNREACH_NLRI) {
			memcpy(out + o, raw + i, hl + al);
			o += hl + al;
		}
		i += hl + al;
	}
	return o;
whole:
	memcpy(out, raw, len);
	return len;
}

/* Attribute-set blobs (upstream AS + raw bytes) come from per-size-class free lists carved out of 1 MiB
 * chunks: a RIB load creates hundreds of thousands of them, and malloc was a tenth of it. */
enum { BLOB_CLASS = RIB_BLOB_CLASS, BLOB_CLASSES = RIB_BLOB_CLASSES, BLOB_CHUNK = 1u << 20 };

static void *blob_alloc(struct rib *r, size_t n)
{
	size_t c = (n + BLOB_CLASS - 1) / BLOB_CLASS;
	if (c == 0)
		c = 1;
	if (c > BLOB_CLASSES)
		return malloc(n);
	void *b = r->blob_free[c - 1];
	if (b) {
		memcpy(&r->blob_free[c - 1], b, sizeof(void *));
		return b;
	}
	size_t sz = c * BLOB_CLASS;
	if (!r->nblob_chunk || r->blob_used + sz > BLOB_CHUNK) {
		void **bc = realloc(r->blob_chunk, (r->nblob_chunk + 1) * sizeof *bc);
		if (!bc)
			return NULL;
		r->blob_chunk = bc;
		if ((bc[r->nblob_chunk] = r->blob_spare))
			r->blob_spare = NULL;
		else if (!(bc[r->nblob_chunk] = malloc(BLOB_CHUNK)))
			return NULL;
		r->nblob_chunk++;
		r->blob_used = 0;
	}
	b = (char *)r->blob_chunk[r->nblob_chunk - 1] + r->blob_used;
	r->blob_used += sz;
	prefault_append(r->blob_chunk[r->nblob_chunk - 1], r->blob_used, sz, BLOB_CHUNK);
	/* The next chunk is made while this one's last steps are written, and its first steps asked
	 * for ahead (base/prefault.h): a chunk made when needed had its first two steps faulted in
	 * by the writer (requests start at the second step's end), 16 faults a chunk. */
	if (BLOB_CHUNK - r->blob_used < PREFAULT_AHEAD && !r->blob_spare && (r->blob_spare = malloc(BLOB_CHUNK)))
		prefault_request(r->blob_spare, PREFAULT_STEP + PREFAULT_AHEAD);
	return b;
}

void *rib_blob_alloc_(struct rib *r, size_t n) { return blob_alloc(r, n); }

static void blob_release(struct rib *r, void *b, size_t n)
{
	size_t c = (n + BLOB_CLASS - 1) / BLOB_CLASS;
	if (c == 0)
		c = 1;
	if (c > BLOB_CLASSES) {
		free(b);
		return;
	}
	memcpy(b, &r->blob_free[c - 1], sizeof(void *));
	r->blob_free[c - 1] = b;
}

/* The set hash: open addressing, linear probing, 4-byte slots (8 before: 16 MB of a full-scale
 * table, issue 12). A slot is the set id in the bits the table's size needs (ids stay within
 * them: the table doubles before the live sets fill half of it, and an id is made only when no
 * freed one is left, so every id is at most the most sets ever live) and the hash's bits above
 * them as a fingerprint, so probing does not touch the sets themselves until those match; 0 is
 * empty (id 0 is never a set). A slot's own place comes from the set's hash (rib_attr.hash). */
static inline uint32_t aslot(uint32_t mask, uint32_t h, uint32_t id) { return (h & ~mask) | id; }
static inline int aslot_fp(uint32_t mask, uint32_t v, uint32_t h) { return ((v ^ h) & ~mask) == 0; }

static void atab_insert(uint32_t *t, uint32_t mask, uint32_t h, uint32_t id)
{
	uint32_t i = h & mask;
	while (t[i])
		i = (i + 1) & mask;
	t[i] = aslot(mask, h, id);
}

/* Doubles the set hash, with every live set but `skip` (the one being made: inserted after). */
static int attr_rehash(struct rib *r, uint32_t skip)
{
	uint32_t mask = r->amask * 2 + 1;
	uint32_t *t = calloc((size_t)mask + 1, sizeof *t);
	if (!t)
		return -1;
	bigarr_huge_now(t, ((size_t)mask + 1) * sizeof *t);
	for (uint32_t id = 1; id < r->nattr; id++)   /* the live sets in id order: read in a stream */
		if (r->attr[id].refcnt && id != skip)
			atab_insert(t, mask, r->attr[id].hash, id);
	free(r->atab);
	r->atab = t;
	r->amask = mask;
	return 0;
}

static void atab_delete(struct rib *r, uint32_t h, uint32_t id)
{
	uint32_t *t = r->atab;
	uint32_t mask = r->amask, i = h & mask;
	uint32_t want = aslot(mask, h, id);
	while (t[i] != want) {
		if (!t[i])
			return;
		i = (i + 1) & mask;
	}
	/* backward-shift deletion keeps every probe sequence unbroken */
	for (uint32_t j = i;;) {
		t[i] = 0;
		for (;;) {
			j = (j + 1) & mask;
			if (!t[j])
				return;
			uint32_t home = r->attr[t[j] & mask].hash & mask;
			/* t[j] may move to i when i lies cyclically in [home, j) */
			if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
				break;
		}
		t[i] = t[j];
		i = j;
	}
}

/* Whether a set's key is the block's own bytes (no copy: attr_key returns a->raw). */
static inline int key_is_block(const struct bgp_attrs *a)
{
	return a->raw && a->raw_len <= 65535 &&
	       !(a->present & (BGP_ATTR_BIT(BGP_ATTR_MP_REACH_NLRI) | BGP_ATTR_BIT(BGP_ATTR_MP_UNREACH_NLRI)));
}

/* The key bytes of a set: the block itself, or a copy without MP_(UN)REACH_NLRI when present. */
static const uint8_t *attr_key(const struct rib *r, const struct bgp_attrs *a, size_t *rl)
{
	uint8_t *raw = r->key_scratch;
	if (key_is_block(a)) {
		*rl = a->raw_len;
		return a->raw;
	}
	if (!a->raw || a->raw_len > 65535) {
		*rl = 0;
		return raw;
	}
	*rl = attrs_strip(a->raw, a->raw_len, raw);
	return raw;
}

/* A framed block's path not decoded (replay, BGP_LAZY_FRAME) is read from its bytes. */
static size_t flatten_path(const struct bgp_attrs *a, uint32_t *path)
{
	return bgp_attrs_path_flat(a, path, PATH_SCRATCH);
}

static inline int attr_match(const struct rib_attr *x, const uint8_t *raw, size_t rl, uint32_t origin,
                             uint8_t oset, uint8_t asn_size, const struct bgp_attrs *a)
{
	if (x->raw_len != rl || x->origin_asn != origin || x->origin_set != oset || x->asn_size != asn_size ||
	    !bytes_eq(rib_attr_raw(x), raw, rl))
		return 0;
	if (rl)
		return 1;   /* the path is a function of the block and the AS number size */
	uint32_t path[PATH_SCRATCH];
	size_t pl = flatten_path(a, path);
	return x->path_len == pl && !memcmp(x->blob + 1, path, pl * 4);
}

/* A set's hash: its key bytes; for an empty key (a set built by hand) the origin and AS number
 * size too. Not the AS number size of a keyed set: a RIB entry's block looked up unframed
 * (BGP_ATTRS_RAW) does not know it; sets of equal bytes and other sizes share a chain. */
static uint32_t attr_hash(const uint8_t *raw, size_t rl, uint32_t origin, uint8_t oset, uint8_t asz)
{
	uint64_t seed = rl ? 0 : ((uint64_t)origin << 8 | (uint64_t)asz << 1 | oset);
	uint64_t h64 = hash_block(raw, rl, 0x5bd1e995u ^ seed);
	return (uint32_t)h64 ^ (uint32_t)(h64 >> 32);
}

static inline int lazy_block(const struct bgp_attrs *a)
{
	return a->lazy == BGP_ATTRS_INDEXED || a->lazy == BGP_ATTRS_RAW;
}

/* A lazy block's key without a copy: a framed block's bytes when it has no MP_(UN)REACH_NLRI to
 * strip (attr_key's scratch is one buffer, so such a block is looked up alone), an unframed
 * block's bytes as they are (one holding MP_(UN)REACH_NLRI equals no key: keys are without
 * them); NULL when there is no usable key. */
static inline const uint8_t *lazy_key(const struct bgp_attrs *a, size_t *rl)
{
	if (!a->raw || !a->raw_len || a->raw_len > 65535 ||
	    (a->lazy != BGP_ATTRS_RAW &&
	     (a->present & (BGP_ATTR_BIT(BGP_ATTR_MP_REACH_NLRI) | BGP_ATTR_BIT(BGP_ATTR_MP_UNREACH_NLRI)))))
		return NULL;
	*rl = a->raw_len;
	return a->raw;
}

/* Set x is what lazy block a (its key: raw, rl bytes) stands for: a set made from a RIB entry
 * that decoded cleanly, with the same key and AS number size. An unframed block's size is not
 * known, and needs not be: a RIB entry's AS numbers are 4 bytes, so its size (4, or 0 without
 * AS_PATH) is its bytes', and only RIB entries make rib_form sets (RIB_ENTRY intern). */
static inline int lazy_match(const struct rib_attr *x, const uint8_t *raw, size_t rl, const struct bgp_attrs *a)
{
	return x->rib_form && x->raw_len == rl && (a->lazy == BGP_ATTRS_RAW || x->asn_size == a->as_path.asn_size) &&
	       bytes_eq(rib_attr_raw(x), raw, rl);
}

/* The key of lazy block a: lazy_key's, or a stripped copy (attr_key); NULL when none. */
static inline const uint8_t *lazy_key_any(const struct rib *r, const struct bgp_attrs *a, size_t *rl)
{
	if (a->lazy == BGP_ATTRS_RAW)
		return lazy_key(a, rl);
	const uint8_t *raw = attr_key(r, a, rl);
	return *rl ? raw : NULL;
}

uint32_t rib_attr_find_lazy(const struct rib *r, const struct bgp_attrs *a, uint32_t hint)
{
	size_t rl;
	const uint8_t *raw = lazy_key_any(r, a, &rl);
	if (!raw)
		return 0;
	if (hint && hint < r->nattr) {   /* the caller's guess: the set this peer's last route had */
		const struct rib_attr *x = &r->attr[hint];
		if (x->refcnt && lazy_match(x, raw, rl, a))
			return hint;
	}
	uint32_t h = attr_hash(raw, rl, 0, 0, 0);
	for (uint32_t i = h & r->amask; r->atab[i]; i = (i + 1) & r->amask) {
		if (!aslot_fp(r->amask, r->atab[i], h))
			continue;
		const struct rib_attr *x = &r->attr[r->atab[i] & r->amask];
		if (x->hash == h && lazy_match(x, raw, rl, a))
			return r->atab[i] & r->amask;
	}
	return 0;
}

/* A record's blocks looked up together (issue 12): on a full-scale table nearly every probe of
 * the set hash is a cache miss, then the set, then its bytes, each load waiting on the one
 * before. Done block by block that is three misses in a row per entry (21% of the profile);
 * here each step is taken for every block of the batch before the next step, so that the
 * misses of the batch's blocks overlap (prefetches), and the last step finds every line in
 * the cache. The answers are rib_attr_find_lazy's. */
enum { LAZY_BATCH = 64 };

void rib_attr_find_lazy_n(const struct rib *r, const struct bgp_attrs *const *a, const uint32_t *hint,
                          uint32_t *out, uint32_t n)
{
	for (uint32_t b = 0; b < n; b += LAZY_BATCH) {
		uint32_t m = n - b < LAZY_BATCH ? n - b : LAZY_BATCH;
		uint32_t h[LAZY_BATCH], cand[LAZY_BATCH], todo[LAZY_BATCH], nt = 0;
		for (uint32_t k = 0; k < m; k++) {   /* the hint (a recent set: cached), else hash + prefetch */
			uint32_t i = b + k;
			size_t rl;
			const uint8_t *raw = lazy_key(a[i], &rl);
			out[i] = 0;
			if (!raw) {
				out[i] = rib_attr_find_lazy(r, a[i], hint[i]);
				continue;
			}
			uint32_t hi = hint[i];
			if (hi && hi < r->nattr) {
				const struct rib_attr *x = &r->attr[hi];
				if (x->refcnt && lazy_match(x, raw, rl, a[i])) {
					out[i] = hi;
					continue;
				}
			}
			h[k] = attr_hash(raw, rl, 0, 0, 0);
			__builtin_prefetch(&r->atab[h[k] & r->amask]);
			todo[nt++] = k;
		}
		for (uint32_t t = 0; t < nt; t++) {   /* the first slot whose hash matches: its set */
			uint32_t k = todo[t];
			cand[k] = 0;
			for (uint32_t j = h[k] & r->amask; r->atab[j]; j = (j + 1) & r->amask)
				if (aslot_fp(r->amask, r->atab[j], h[k])) {
					cand[k] = r->atab[j] & r->amask;
					__builtin_prefetch(&r->attr[cand[k]]);
					break;
				}
		}
		for (uint32_t t = 0; t < nt; t++)   /* its bytes */
			if (cand[todo[t]])
				__builtin_prefetch(rib_attr_raw(&r->attr[cand[todo[t]]]));
		for (uint32_t t = 0; t < nt; t++) {   /* the lookup proper, on cached lines */
			uint32_t k = todo[t], i = b + k;
			if (!cand[k])
				continue;   /* no slot with its hash: not held */
			size_t rl = 0;
			const uint8_t *raw = lazy_key(a[i], &rl);
			for (uint32_t j = h[k] & r->amask; r->atab[j]; j = (j + 1) & r->amask) {
				if (!aslot_fp(r->amask, r->atab[j], h[k]))
					continue;
				const struct rib_attr *x = &r->attr[r->atab[j] & r->amask];
				if (x->hash == h[k] && lazy_match(x, raw, rl, a[i])) {
					out[i] = r->atab[j] & r->amask;
					break;
				}
			}
		}
	}
}

/* A set's hash of its key bytes, with the origin (last AS outside confederations) and whether it
 * is an AS_SET's, which key a set without a block and are read once for both. */
static inline uint32_t key_hash(const struct bgp_attrs *a, const uint8_t *raw, size_t rl, uint32_t *origin,
                                uint8_t *oset)
{
	int is_set = 0;
	*origin = bgp_attrs_origin_as(a, &is_set);
	*oset = (uint8_t)is_set;
	/* the size the block's AS_PATH was encoded with (the merged path's is always 4) */
	return attr_hash(raw, rl, *origin, *oset, a->as_path.asn_size);
}

uint32_t rib_attr_prefetch(struct rib *r, const struct bgp_attrs *a)
{
	if (lazy_block(a) || !key_is_block(a))   /* only a key that needs no copy */
		return 0;
	r->pf_hash = key_hash(a, a->raw, a->raw_len, &r->pf_origin, &r->pf_oset);
	r->pf_attrs = a;
	r->pf_seq = r->rec_seq;
	__builtin_prefetch(&r->atab[r->pf_hash & r->amask]);
	return r->pf_origin;
}

uint32_t rib_attr_intern(struct rib *r, const struct bgp_attrs *a)
{
	if (lazy_block(a)) {   /* path and origin unknown: only a held set will do */
		if (a->rib_set && a->rib_set < r->nattr && r->attr[a->rib_set].refcnt) {   /* found by the caller */
			r->attr[a->rib_set].refcnt++;
			return a->rib_set;
		}
		uint32_t id = rib_attr_find_lazy(r, a, 0);
		if (id)
			r->attr[id].refcnt++;
		return id;
	}
	size_t rl;
	const uint8_t *raw = attr_key(r, a, &rl);
	uint32_t origin, h;
	uint8_t oset, asz = a->as_path.asn_size;
	if (r->pf_seq == r->rec_seq && r->pf_attrs == a && r->rec_seq) {   /* rib_attr_prefetch's */
		origin = r->pf_origin;
		oset = r->pf_oset;
		h = r->pf_hash;
	} else {
		h = key_hash(a, raw, rl, &origin, &oset);
	}
	for (uint32_t i = h & r->amask; r->atab[i]; i = (i + 1) & r->amask) {
		if (!aslot_fp(r->amask, r->atab[i], h))
			continue;
		uint32_t id = r->atab[i] & r->amask;
		struct rib_attr *x = &r->attr[id];
		if (x->hash == h && attr_match(x, raw, rl, origin, oset, asz, a)) {
			x->refcnt++;
			if (a->lazy == BGP_ATTRS_RIB_ENTRY && !a->n_errors && a->action == BGP_ERR_NONE)
				x->rib_form = 1;   /* now known to decode cleanly as a RIB entry too */
			return id;
		}
	}
	uint32_t id;
	if (r->free_attr) {
		id = r->free_attr;
		r->free_attr = r->attr[id].next;
	} else {
		if (grow((void **)&r->attr, &r->cap_attr, r->nattr + 1, sizeof *r->attr))
			return 0;
		id = r->nattr++;
	}
	uint32_t path[PATH_SCRATCH];
	size_t pl = flatten_path(a, path);
	/* the upstream: the AS before the origin, its prepends skipped (the change log's) */
	uint32_t up = 0;
	for (size_t i = pl; i-- > 0;)
		if (path[i] != origin) {
			up = path[i];
			break;
		}
	size_t kpl = rl ? 0 : pl;   /* the path is kept only as the key of a set without a block */
	struct rib_attr *x = &r->attr[id];
	size_t bytes = 4 + kpl * 4 + rl;
	x->blob = blob_alloc(r, bytes);
	if (!x->blob) {
		x->refcnt = 0;
		x->next = r->free_attr;
		r->free_attr = id;
		return 0;
	}
	x->blob[0] = up;
	memcpy(x->blob + 1, path, kpl * 4);
	memcpy(x->blob + 1 + kpl, raw, rl);
	x->hash = h;
	x->refcnt = 1;
	x->origin_asn = origin;
	x->origin_set = oset;
	x->origin = a->origin;
	x->asn_size = asz;
	x->rib_form = a->lazy == BGP_ATTRS_RIB_ENTRY && !a->n_errors && a->action == BGP_ERR_NONE;
	x->path_len = (uint16_t)kpl;
	x->raw_len = (uint16_t)rl;
	x->user = RIB_NONE;
	r->live_attr++;
	r->attr_bytes += bytes;
	if ((uint64_t)r->live_attr * 2 > (uint64_t)r->amask + 1 && attr_rehash(r, id) && r->live_attr > r->amask) {
		/* table full and cannot grow: give the set back */
		r->live_attr--;
		r->attr_bytes -= bytes;
		blob_release(r, x->blob, bytes);
		x->refcnt = 0;
		x->next = r->free_attr;
		r->free_attr = id;
		return 0;
	}
	atab_insert(r->atab, r->amask, h, id);
	return id;
}

uint32_t rib_attr_intern_peer(struct rib *r, uint32_t peer, const struct bgp_attrs *a)
{
	struct rib_peer *p = &r->peer[peer];
	uint32_t h = p->last_attr;
	if (lazy_block(a) && a->rib_set)
		h = 0;   /* the caller found its set already */
	if (h && h < r->nattr && r->attr[h].refcnt) {
		const struct rib_attr *x = &r->attr[h];
		size_t rl;
		if (lazy_block(a)) {
			const uint8_t *raw = lazy_key_any(r, a, &rl);
			if (raw && lazy_match(x, raw, rl, a)) {
				r->attr[h].refcnt++;
				return h;
			}
		} else {
			const uint8_t *raw = attr_key(r, a, &rl);
			int is_set = 0;
			if (rl && x->raw_len == rl && x->asn_size == a->as_path.asn_size && bytes_eq(rib_attr_raw(x), raw, rl) &&
			    bgp_attrs_origin_as(a, &is_set) == x->origin_asn && (uint8_t)is_set == x->origin_set) {
				r->attr[h].refcnt++;
				if (a->lazy == BGP_ATTRS_RIB_ENTRY && !a->n_errors && a->action == BGP_ERR_NONE)
					r->attr[h].rib_form = 1;
				return h;
			}
		}
	}
	uint32_t id = rib_attr_intern(r, a);
	if (id)
		p->last_attr = id;
	return id;
}

void rib_attr_ref(struct rib *r, uint32_t id)
{
	if (id)
		r->attr[id].refcnt++;
}

uint32_t *rib_pin_begin(struct rib *r, uint32_t n)
{
	if (2 * (uint64_t)n > r->cap_pin) {   /* the ids, then as many kept ones at most */
		uint32_t c = 2 * n < 256 ? 256 : 2 * n;
		uint32_t *p = realloc(r->pin, (size_t)c * sizeof *p);
		if (!p)
			return NULL;
		r->pin = p;
		r->cap_pin = c;
	}
	memset(r->pin, 0, (size_t)n * sizeof *r->pin);
	r->npin = n;
	r->nheld = 0;
	return r->pin;
}

/* Set id lost its last reference inside rib_pin_begin .. rib_pin_end: kept (a reference of the
 * pin's, once: it holds the set from then on) when an entry of the record stands for it. */
static int pin_keeps(struct rib *r, uint32_t id)
{
	for (uint32_t i = 0; i < r->npin; i++)
		if (r->pin[i] == id) {
			r->attr[id].refcnt = 1;
			r->pin[r->npin + r->nheld++] = id;   /* distinct ids: at most npin */
			return 1;
		}
	return 0;
}

void rib_pin_end(struct rib *r)
{
	uint32_t n = r->npin, nh = r->nheld, *held = r->pin + n;
	r->npin = r->nheld = 0;
	/* A reference per entry given back in entry order frees a set at its last entry: the kept
	 * sets by their last entries, from the end (held[0] the latest), then given back in turn. */
	uint32_t k = 0;
	for (uint32_t i = n; i-- > 0 && k < nh;)
		for (uint32_t j = k; j < nh; j++)
			if (held[j] == r->pin[i]) {
				uint32_t t = held[k];
				held[k++] = held[j];
				held[j] = t;
				break;
			}
	while (nh)
		rib_attr_unref(r, held[--nh]);
}

void rib_attr_unref(struct rib *r, uint32_t id)
{
	if (!id)
		return;
	struct rib_attr *x = &r->attr[id];
	if (--x->refcnt)
		return;
	if (r->npin && pin_keeps(r, id))
		return;
	atab_delete(r, x->hash, id);
	size_t bytes = rib_attr_blob_bytes(x);
	r->attr_bytes -= bytes;
	blob_release(r, x->blob, bytes);
	x->blob = NULL;
	x->next = r->free_attr;
	r->free_attr = id;
	r->live_attr--;
}

/* ---------- routes ---------- */

void rib_trim(struct rib *r)
{
	bigarr_trim(r->h.pfx, (size_t)r->npfx * sizeof *r->h.pfx, (size_t)r->cap_pfx * sizeof *r->h.pfx);
	bigarr_trim(r->pfx_node, (size_t)r->npfx * sizeof *r->pfx_node, (size_t)r->cap_pfx * sizeof *r->pfx_node);
	bigarr_trim(r->pfx6, (size_t)r->npfx6 * sizeof *r->pfx6, (size_t)r->cap_pfx6 * sizeof *r->pfx6);
	bigarr_trim(r->node, (size_t)r->nnode * sizeof *r->node, (size_t)r->cap_node * sizeof *r->node);
	bigarr_trim(r->attr, (size_t)r->nattr * sizeof *r->attr, (size_t)r->cap_attr * sizeof *r->attr);
	bigarr_trim(r->multi, (size_t)r->nmulti * sizeof *r->multi, (size_t)r->cap_multi * sizeof *r->multi);
	if (r->nblob_chunk)   /* the newest chunk is carved from its start */
		bigarr_trim(r->blob_chunk[r->nblob_chunk - 1], r->blob_used, BLOB_CHUNK);
	bigarr_trim(r->blob_spare, 0, BLOB_CHUNK);   /* its first steps, populated ahead */
	if (r->nchunk)   /* so is the newest table chunk */
		bigarr_trim(r->chunk[r->nchunk - 1], (size_t)r->chunk_used * RIB_PAGE * sizeof(uint32_t), CHUNK_BYTES);
	bigarr_trim(r->chunk_spare, 0, CHUNK_BYTES);
}

/* A table chunk. Fresh anonymous memory is zero: no memset. Its pages are populated a step
 * ahead of use by the helper (base/prefault.h), which also reads each one: MAP_POPULATE (the
 * fifth chunk on, before) backed a chunk at once but left the first access to each page to trap
 * on these virtual machines (5-8 us; base/prefault.c), the writer's. Not huge pages: 41 chunks
 * cost 0.14-0.31 s CPU backed as huge pages fresh from the host, 0.09-0.10 s as 4 KiB pages
 * touched, 0.05 s populated (3 rounds; 8.7% of a full-scale table's time went to clearing huge
 * pages), and a record's routes are on pages allocated together, next to one another, so the TLB
 * gains little from huge ones. */
static void *chunk_map(void)
{
	void *m = mmap(NULL, CHUNK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return m == MAP_FAILED ? NULL : m;
}

static uint32_t *page_alloc(struct rib *r)
{
	uint32_t *pg;
	if (r->page_free) {
		pg = r->page_free;
		memcpy(&r->page_free, pg, sizeof r->page_free);
		memset(pg, 0, RIB_PAGE * sizeof *pg);
	} else {
		if (!r->nchunk || r->chunk_used == CHUNK_PAGES) {
			void **c = realloc(r->chunk, (r->nchunk + 1) * sizeof *c);
			if (!c)
				return NULL;
			r->chunk = c;
			void *m = r->chunk_spare;
			r->chunk_spare = NULL;
			if (!m && (m = chunk_map()) == NULL)
				return NULL;
			r->chunk[r->nchunk++] = m;
			r->chunk_used = 0;
		}
		pg = (uint32_t *)r->chunk[r->nchunk - 1] + (size_t)r->chunk_used++ * RIB_PAGE;
		size_t end = (size_t)r->chunk_used * RIB_PAGE * sizeof *pg;
		prefault_append(r->chunk[r->nchunk - 1], end, RIB_PAGE * sizeof *pg, CHUNK_BYTES);
		/* the next chunk made, and its first steps asked for, while this one's last are used */
		if (CHUNK_BYTES - end < PREFAULT_AHEAD && !r->chunk_spare && (r->chunk_spare = chunk_map()))
			prefault_request(r->chunk_spare, PREFAULT_STEP + PREFAULT_AHEAD);
	}
	r->pages_live++;
	return pg;
}

uint32_t *rib_page_alloc_(struct rib *r) { return page_alloc(r); }

static void page_release(struct rib *r, uint32_t *pg)
{
	memcpy(pg, &r->page_free, sizeof r->page_free);
	r->page_free = pg;
	r->pages_live--;
}

static uint32_t *slot_ptr(struct rib *r, uint32_t peer, uint32_t pfx, int create)
{
	struct rib_peer *p = &r->peer[peer];
	uint32_t pg = pfx >> RIB_PAGE_BITS;
	if (pg >= p->npage) {
		if (!create)
			return NULL;
		uint32_t n = p->npage ? p->npage : 16;
		while (n <= pg)
			n *= 2;
		uint32_t **np = realloc(p->page, n * sizeof *np);
		if (!np)
			return NULL;
		memset(np + p->npage, 0, (n - p->npage) * sizeof *np);
		p->page = np;
		p->npage = n;
	}
	if (!p->page[pg]) {
		if (!create)
			return NULL;
		if (!(p->page[pg] = page_alloc(r)))
			return NULL;
	}
	return &p->page[pg][pfx & (RIB_PAGE - 1)];
}

static uint32_t multi_new(struct rib *r, uint32_t path_id, uint32_t attr, uint32_t next)
{
	uint32_t i;
	if (r->free_multi != RIB_NONE) {
		i = r->free_multi;
		r->free_multi = r->multi[i].next;
	} else {
		if (r->nmulti >= RIB_MULTI - 1 ||
		    grow((void **)&r->multi, &r->cap_multi, r->nmulti + 1, sizeof *r->multi))
			return RIB_NONE;
		i = r->nmulti++;
	}
	r->multi[i].path_id = path_id;
	r->multi[i].attr = attr;
	r->multi[i].next = next;
	return i;
}

static void multi_release(struct rib *r, uint32_t i)
{
	r->multi[i].next = r->free_multi;
	r->free_multi = i;
}

uint32_t rib_route_set(struct rib *r, uint32_t peer, uint32_t pfx, uint32_t path_id, uint32_t attr)
{
	uint32_t *s = slot_ptr(r, peer, pfx, 1);
	struct rib_peer *p = &r->peer[peer];
	if (!s) {
		rib_attr_unref(r, attr);   /* out of memory: the route is dropped */
		r->nomem++;
		return 0;
	}
	uint32_t v = *s;
	if (!v) {
		if (path_id == 0) {
			*s = attr;
		} else {
			uint32_t m = multi_new(r, path_id, attr, RIB_NONE);
			if (m == RIB_NONE) {
				rib_attr_unref(r, attr);
				r->nomem++;
				return 0;
			}
			*s = RIB_MULTI | m;
		}
		p->nprefixes[r->h.pfx[pfx].v6]++;
		p->npaths++;
		return 0;
	}
	if (!(v & RIB_MULTI)) {
		if (path_id == 0) {
			*s = attr;
			return v;
		}
		uint32_t m0 = multi_new(r, 0, v, RIB_NONE);
		uint32_t m1 = m0 == RIB_NONE ? RIB_NONE : multi_new(r, path_id, attr, m0);
		if (m1 == RIB_NONE) {
			if (m0 != RIB_NONE)
				multi_release(r, m0);
			rib_attr_unref(r, attr);
			r->nomem++;
			return 0;
		}
		*s = RIB_MULTI | m1;
		p->npaths++;
		return 0;
	}
	uint32_t head = v & ~RIB_MULTI;
	for (uint32_t i = head; i != RIB_NONE; i = r->multi[i].next)
		if (r->multi[i].path_id == path_id) {
			uint32_t old = r->multi[i].attr;
			r->multi[i].attr = attr;
			return old;
		}
	uint32_t m = multi_new(r, path_id, attr, head);
	if (m == RIB_NONE) {
		rib_attr_unref(r, attr);
		r->nomem++;
		return 0;
	}
	*s = RIB_MULTI | m;
	p->npaths++;
	return 0;
}

uint32_t rib_route_del(struct rib *r, uint32_t peer, uint32_t pfx, uint32_t path_id)
{
	uint32_t *s = slot_ptr(r, peer, pfx, 0);
	if (!s || !*s)
		return 0;
	struct rib_peer *p = &r->peer[peer];
	uint32_t v = *s, old = 0;
	if (!(v & RIB_MULTI)) {
		if (path_id != 0)
			return 0;
		*s = 0;
		old = v;
	} else {
		uint32_t *link = s, i = v & ~RIB_MULTI;
		for (; i != RIB_NONE; i = r->multi[i].next) {
			if (r->multi[i].path_id == path_id)
				break;
			link = &r->multi[i].next;
		}
		if (i == RIB_NONE)
			return 0;
		old = r->multi[i].attr;
		uint32_t next = r->multi[i].next;
		multi_release(r, i);
		if (link == s)
			*s = next == RIB_NONE ? 0 : (RIB_MULTI | next);
		else
			*link = next;
		/* Canonical form: a lone path with id 0 lives in the slot itself. */
		if (*s & RIB_MULTI) {
			uint32_t h = *s & ~RIB_MULTI;
			if (r->multi[h].next == RIB_NONE && r->multi[h].path_id == 0) {
				*s = r->multi[h].attr;
				multi_release(r, h);
			}
		}
	}
	p->npaths--;
	if (!*s)
		p->nprefixes[r->h.pfx[pfx].v6]--;
	return old;
}

int rib_route_paths(const struct rib *r, uint32_t peer, uint32_t pfx, struct rib_path *out, int max)
{
	uint32_t v = rib_slot_(r, peer, pfx);
	if (!v)
		return 0;
	if (!(v & RIB_MULTI)) {
		if (max > 0) {
			out[0].path_id = 0;
			out[0].attr = v;
		}
		return 1;
	}
	int n = 0;
	for (uint32_t i = v & ~RIB_MULTI; i != RIB_NONE; i = r->multi[i].next, n++)
		if (n < max) {
			out[n].path_id = r->multi[i].path_id;
			out[n].attr = r->multi[i].attr;
		}
	return n;
}

void rib_peer_walk(const struct rib *r, uint32_t peer, rib_route_fn fn, void *arg)
{
	const struct rib_peer *p = &r->peer[peer];
	for (uint32_t pg = 0; pg < p->npage; pg++) {
		const uint32_t *page = p->page[pg];
		if (!page)
			continue;
		for (uint32_t k = 0; k < RIB_PAGE; k++)
			if (page[k])
				fn(arg, pg << RIB_PAGE_BITS | k, page[k]);
	}
}

void rib_peer_clear(struct rib *r, uint32_t peer)
{
	struct rib_peer *p = &r->peer[peer];
	for (uint32_t pg = 0; pg < p->npage; pg++) {
		uint32_t *page = p->page[pg];
		if (!page)
			continue;
		for (uint32_t k = 0; k < RIB_PAGE; k++) {
			uint32_t v = page[k];
			if (!v)
				continue;
			if (!(v & RIB_MULTI)) {
				rib_attr_unref(r, v);
				continue;
			}
			for (uint32_t i = v & ~RIB_MULTI; i != RIB_NONE;) {
				uint32_t next = r->multi[i].next;
				rib_attr_unref(r, r->multi[i].attr);
				multi_release(r, i);
				i = next;
			}
		}
		page_release(r, page);
		p->page[pg] = NULL;
	}
	p->nprefixes[0] = p->nprefixes[1] = 0;
	p->npaths = 0;
}

size_t rib_memory(const struct rib *r)
{
	size_t m = sizeof *r;
	m += (size_t)r->cap_pfx * (sizeof *r->h.pfx + sizeof *r->pfx_node) + (size_t)r->cap_pfx6 * sizeof *r->pfx6;
	m += (size_t)r->hslots * sizeof *r->htab;
	m += (size_t)r->cap_node * sizeof *r->node;
	m += (size_t)r->cap_attr * sizeof *r->attr + ((size_t)r->amask + 1) * sizeof *r->atab;
	m += (size_t)(r->nblob_chunk + (r->blob_spare != NULL)) * (1u << 20);   /* attribute-set blobs (live, free, next) */
	m += (size_t)r->cap_multi * sizeof *r->multi + (size_t)r->cap_pending * sizeof *r->pending;
	m += (size_t)r->cap_peer * sizeof *r->peer + ((size_t)r->pmask + 1) * sizeof *r->ptab;
	for (uint32_t i = 0; i < r->npeer; i++)
		m += r->peer[i].npage * sizeof(uint32_t *);
	m += (size_t)(r->nchunk + (r->chunk_spare != NULL)) * CHUNK_BYTES;   /* table pages, live, free, next */
	return m;
}

size_t rib_memory_used(const struct rib *r)
{
	size_t m = sizeof *r;
	m += (size_t)r->npfx * (sizeof *r->h.pfx + sizeof *r->pfx_node + sizeof *r->htab) + (size_t)r->npfx6 * sizeof *r->pfx6;
	m += (size_t)r->nnode * sizeof *r->node;
	m += (size_t)r->nattr * sizeof *r->attr + (size_t)r->live_attr * sizeof *r->atab + r->attr_bytes;
	m += (size_t)r->nmulti * sizeof *r->multi + (size_t)r->npending * sizeof *r->pending;
	m += (size_t)r->npeer * (sizeof *r->peer + sizeof *r->ptab);
	for (uint32_t i = 0; i < r->npeer; i++)
		m += r->peer[i].npage * sizeof(uint32_t *);
	m += (size_t)r->pages_live * RIB_PAGE * sizeof(uint32_t);
	return m;
}

uint64_t rib_routes(const struct rib *r)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < r->npeer; i++)
		n += r->peer[i].nprefixes[0] + r->peer[i].nprefixes[1];
	return n;
}

/* ---------- applying elements ---------- */

void rib_record(struct rib *r) { r->rec_seq++; }

void rib_set_min_len(struct rib *r, uint8_t v4, uint8_t v6)
{
	r->min_len[0] = v4;
	r->min_len[1] = v6;
}

void rib_set_drop_fn(struct rib *r, rib_drop_fn fn, void *arg)
{
	r->drop_fn = fn;
	r->drop_arg = arg;
}

uint64_t rib_ignored(const struct rib *r) { return r->ignored; }
uint64_t rib_dropped(const struct rib *r) { return r->dropped + r->nomem; }

/* The set of an element's attributes. Elements of one record mostly share one attribute block
 * (an UPDATE's NLRI): within a record (rib_record) the same pointer is the same set. */
static uint32_t elem_attr(struct rib *r, uint32_t peer, const struct dm_elem *e)
{
	if (r->rec_seq && r->cache_seq == r->rec_seq && r->cache_attrs == e->attrs && r->cache_id) {
		rib_attr_ref(r, r->cache_id);
		return r->cache_id;
	}
	/* a lazy block whose set the caller found (a RIB entry; source.c): rib_attr_intern_peer's
	 * and rib_attr_intern's answer without their calls (two a full-scale table's element) */
	const struct bgp_attrs *a = e->attrs;
	uint32_t id = a->rib_set;
	if (id && lazy_block(a) && id < r->nattr && r->attr[id].refcnt) {
		r->attr[id].refcnt++;
		r->peer[peer].last_attr = id;
	} else {
		id = rib_attr_intern_peer(r, peer, a);
	}
	r->cache_seq = r->rec_seq;
	r->cache_attrs = e->attrs;
	r->cache_id = id;
	return id;
}

struct drop_ctx {
	struct rib *r;
	uint32_t peer;
};

static void drop_one(void *arg, uint32_t pfx, uint32_t slot)
{
	const struct drop_ctx *c = arg;
	c->r->drop_fn(c->r->drop_arg, c->peer, pfx, slot);
}

static int apply_state(struct rib *r, struct rib_peer *p, uint32_t peer, const struct dm_elem *e,
                       struct rib_change *ch)
{
	/* RFC 4271 §8.2.2: 6 = Established; leaving it loses every route of the session. */
	if (e->new_state == DM_BGP_ESTABLISHED) {
		if (p->up)
			return ch->kind = RIB_CH_NONE;
		p->up = 1;
		return ch->kind = RIB_CH_PEER_UP;
	}
	if (!p->up)
		return ch->kind = RIB_CH_NONE;
	p->up = 0;
	p->down_count++;
	ch->held[0] = p->nprefixes[0];
	ch->held[1] = p->nprefixes[1];
	ch->paths_held = p->npaths;
	if (r->drop_fn) {
		struct drop_ctx c = { r, peer };
		rib_peer_walk(r, peer, drop_one, &c);
	}
	rib_peer_clear(r, peer);
	return ch->kind = RIB_CH_PEER_DOWN;
}

static int apply_elem(struct rib *r, uint32_t collector, const struct dm_elem *e, struct rib_change *ch);

int rib_apply(struct rib *r, uint32_t collector, const struct dm_elem *e, struct rib_change *ch)
{
	/* The previous change's old path: its reader is done with it. Released after this element's
	 * set is interned, so that a set a lazy block was found to stand for (rib_attr_find_lazy,
	 * just before this call) is still held when the block is interned. */
	uint32_t held = r->deferred;
	r->deferred = 0;
	int kind = apply_elem(r, collector, e, ch);
	if (held)
		rib_attr_unref(r, held);
	return kind;
}

static int apply_elem(struct rib *r, uint32_t collector, const struct dm_elem *e, struct rib_change *ch)
{
	memset(ch, 0, sizeof *ch);
	ch->peer = ch->pfx = RIB_NONE;
	if (!e->peer_ip)
		return ch->kind = RIB_CH_NONE;
	uint32_t peer = peer_cached(r, collector, e->peer_ip, e->peer_asn);
	if (peer == RIB_NONE)
		peer = rib_peer_find_or_add(r, collector, e->peer_ip, e->peer_asn);
	if (peer == RIB_NONE) {
		r->dropped++;
		return ch->kind = RIB_CH_DROPPED;
	}
	ch->peer = peer;
	struct rib_peer *p = &r->peer[peer];
	if (e->type == DM_ELEM_STATE)
		return apply_state(r, p, peer, e, ch);
	if (e->prefix.afi != DM_AFI_IPV4 && e->prefix.afi != DM_AFI_IPV6)
		return ch->kind = RIB_CH_NONE;
	int fam = rib_fam(e->prefix.afi);
	if (e->prefix.len < r->min_len[fam]) {
		r->ignored++;
		return ch->kind = RIB_CH_IGNORED;
	}
	uint32_t pid = e->has_path_id ? e->path_id : 0;
	ch->path_id = pid;
	if (e->type == DM_ELEM_RIB || e->type == DM_ELEM_ANNOUNCE) {
		if (!e->attrs)
			return ch->kind = RIB_CH_NONE;
		if (!p->up) {   /* routes arriving: the session is up (its state record missing) */
			p->up = 1;
			ch->came_up = 1;
		}
		uint32_t pfx;
		/* a RIB record's entries are one prefix, peer after peer: looked up once (issue 12; the
		 * store never forgets a prefix, so the index stays right) */
		const struct dm_prefix *in = &e->prefix;
		if (r->last_pfx && in->afi == r->last_in.afi && in->len == r->last_in.len &&
		    bytes_eq(in->b, r->last_in.b, in->afi == DM_AFI_IPV6 ? 16 : 4)) {
			pfx = r->last_pfx - 1;
		} else if ((pfx = rib_prefix_find_or_add(r, in)) != RIB_NONE) {
			r->last_in = *in;
			r->last_pfx = pfx + 1;
		}
		uint32_t attr = pfx == RIB_NONE ? 0 : elem_attr(r, peer, e);
		if (!attr) {   /* malformed prefix or out of memory: counted, reported */
			r->dropped++;
			return ch->kind = RIB_CH_DROPPED;
		}
		p = &r->peer[peer];
		uint32_t before = p->nprefixes[fam];
		uint64_t nomem = r->nomem;
		/* rib_route_set's commonest case inline (a new path 0 on a page there: a RIB load's
		 * every element but a page's first) */
		uint32_t pg = pfx >> RIB_PAGE_BITS, *sp, old;
		if (!pid && pg < p->npage && p->page[pg] && !*(sp = &p->page[pg][pfx & (RIB_PAGE - 1)])) {
			*sp = attr;
			p->nprefixes[fam]++;
			p->npaths++;
			old = 0;
		} else {
			old = rib_route_set(r, peer, pfx, pid, attr);
			if (r->nomem != nomem)
				return ch->kind = RIB_CH_DROPPED;   /* counted in nomem */
		}
		ch->pfx = pfx;
		ch->old_attr = old;
		ch->new_attr = attr;
		ch->first = p->nprefixes[fam] != before;
		r->deferred = old;
		return ch->kind = RIB_CH_ROUTE;
	}
	if (e->type != DM_ELEM_WITHDRAW)
		return ch->kind = RIB_CH_NONE;
	uint32_t pfx = rib_prefix_find(r, &e->prefix);
	ch->pfx = pfx;
	if (pfx == RIB_NONE)
		return ch->kind = RIB_CH_NOPATH;
	uint32_t before = p->nprefixes[fam];
	uint32_t old = rib_route_del(r, peer, pfx, pid);
	if (!old)
		return ch->kind = RIB_CH_NOPATH;
	ch->old_attr = old;
	ch->last = p->nprefixes[fam] != before;
	r->deferred = old;
	return ch->kind = RIB_CH_ROUTE;
}

/* ---------- read access ---------- */

uint32_t rib_collector_count(const struct rib *r) { return r->ncollector; }
const char *rib_collector_name(const struct rib *r, uint32_t c) { return c < r->ncollector ? r->collector[c] : ""; }
uint32_t rib_peer_count(const struct rib *r) { return r->npeer; }

int rib_peer_info(const struct rib *r, uint32_t i, struct rib_peer_info *out)
{
	if (i >= r->npeer)
		return -1;
	const struct rib_peer *p = &r->peer[i];
	out->collector = p->collector;
	out->asn = p->asn;
	out->addr = p->addr;
	out->up = p->up;
	out->nprefixes[0] = p->nprefixes[0];
	out->nprefixes[1] = p->nprefixes[1];
	out->npaths = p->npaths;
	out->down_count = p->down_count;
	return 0;
}

int rib_peer_up(const struct rib *r, uint32_t peer) { return r->peer[peer].up; }
uint32_t rib_peer_prefixes(const struct rib *r, uint32_t peer, int fam) { return r->peer[peer].nprefixes[fam]; }
struct dm_prefix rib_prefix(const struct rib *r, uint32_t i)
{
	struct dm_prefix p = { 0 };
	p.afi = (uint8_t)pfx_afi(r, i);
	p.len = r->h.pfx[i].len;
	memcpy(p.b, rib_pfx_b(r, i), r->h.pfx[i].v6 ? 16 : 4);
	return p;
}
uint32_t rib_prefix_count(const struct rib *r) { return r->npfx; }
uint32_t rib_prefix_node(const struct rib *r, uint32_t i) { return r->pfx_node[i] & RIB_LEAF ? RIB_NONE : r->pfx_node[i]; }

uint32_t rib_prefix_up(const struct rib *r, uint32_t i)
{
	uint32_t v = r->pfx_node[i];
	if (v == RIB_NONE)
		return RIB_NONE;
	if (v & RIB_LEAF)
		return (v & RIB_NODE_NIL) == RIB_NODE_NIL ? RIB_NONE : v & RIB_NODE_NIL;
	return rib_tnode_parent(&r->node[v]);
}
uint32_t rib_trie_pending(const struct rib *r) { return pend_count(r); }

uint32_t rib_trie_pending_fam(const struct rib *r, int fam)
{
	uint32_t n = pend_count(r), m = 0;
	for (uint32_t i = 0; i < n; i++)
		m += r->h.pfx[pend_at(r, i)].v6 == (fam != 0);
	return m;
}
int rib_trie_reuses_nodes(const struct rib *r) { return r->free_node != RIB_NONE; }
const struct rib_tnode *rib_node(const struct rib *r, uint32_t n) { return &r->node[n]; }
uint32_t rib_node_count(const struct rib *r) { return r->nnode; }
uint32_t rib_trie_root(const struct rib *r, int fam) { return r->root[fam]; }
const struct rib_attr *rib_attr_get(const struct rib *r, uint32_t id) { return &r->attr[id]; }
void rib_attr_set_user(struct rib *r, uint32_t id, uint32_t user) { r->attr[id].user = user; }
uint32_t rib_attr_count(const struct rib *r) { return r->live_attr; }
uint32_t rib_attr_slots(const struct rib *r) { return r->nattr; }
uint64_t rib_attr_bytes(const struct rib *r) { return r->attr_bytes; }
uint32_t rib_slot(const struct rib *r, uint32_t peer, uint32_t pfx) { return rib_slot_(r, peer, pfx); }
const struct rib_multi *rib_multi_get(const struct rib *r, uint32_t i) { return &r->multi[i]; }
