/* libFuzzer target: the RIB (src/rib) against a naive model. The input is a sequence of 4-byte
 * operations over 4 peers, a small universe of IPv4/IPv6 prefixes (few bases, every length, so
 * prefixes nest and collide after masking) and 4 attribute sets: route set, route delete (with
 * ADD-PATH path ids 0..2), peer clear, longest match and covering-prefix queries. After every
 * operation the RIB must agree with the model: the attribute id a set/delete hands back, each
 * peer's prefix and path counters, rib_routes, every live set's refcount and the number of live
 * sets, the prefix index of a masked prefix; lpm and covering against a linear scan; at the end
 * every (peer, prefix)'s paths. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_attrs.h"
#include "fuzz_util.h"
#include "rib/rib.h"

enum { NPEER = 4, NPFX = 64, NPATH = 3 };

struct model {
	struct dm_prefix pfx[NPFX];     /* masked */
	uint32_t idx[NPFX];             /* the RIB's index */
	int npfx;
	uint8_t route[NPEER][NPFX][NPATH];   /* attribute variant + 1, 0: none */
	uint32_t var_id[FUZZ_NVAR];          /* the RIB's id of each variant while referenced */
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_attr_variants_init();
	return 0;
}

static int bit(const uint8_t *b, unsigned i)
{
	return b[i / 8] >> (7 - i % 8) & 1;
}

static int contains(const struct dm_prefix *p, uint8_t afi, const uint8_t *addr, unsigned len)
{
	if (p->afi != afi || p->len > len)
		return 0;
	for (unsigned i = 0; i < p->len; i++)
		if (bit(p->b, i) != bit(addr, i))
			return 0;
	return 1;
}

/* every length, so prefixes nest and collide after masking */
static const struct fuzz_universe universe = {
	.v4 = { { 10, 0, 0, 0 }, { 10, 1, 0, 0 }, { 10, 1, 2, 0 }, { 175, 45, 176, 0 }, { 0, 0, 0, 0 },
	        { 255, 255, 255, 255 }, { 10, 128, 0, 0 }, { 192, 0, 2, 1 } },
	.v4_min = 0, .v4_span = 33, .v6_byte = 15, .v6_min = 0, .v6_span = 129,
};

static int model_prefix(struct model *m, struct rib *r, const struct dm_prefix *p)
{
	for (int i = 0; i < m->npfx; i++)
		if (m->pfx[i].afi == p->afi && m->pfx[i].len == p->len && memcmp(m->pfx[i].b, p->b, 16) == 0) {
			CHECK(rib_prefix_find_or_add(r, p) == m->idx[i]);
			return i;
		}
	if (m->npfx == NPFX)
		return -1;
	uint32_t idx = rib_prefix_find_or_add(r, p);
	CHECK(idx != RIB_NONE);
	for (int i = 0; i < m->npfx; i++)
		CHECK(m->idx[i] != idx);
	const struct dm_prefix qv = rib_prefix(r, idx), *q = &qv;
	CHECK(q->afi == p->afi && q->len == p->len && memcmp(q->b, p->b, p->afi == DM_AFI_IPV4 ? 4 : 16) == 0);
	m->pfx[m->npfx] = *p;
	m->idx[m->npfx] = idx;
	return m->npfx++;
}

/* Longest prefix of the model containing (afi, addr, len): the index of the RIB, or RIB_NONE. */
static uint32_t naive_longest(const struct model *m, uint8_t afi, const uint8_t *addr, unsigned len)
{
	int best = -1;
	for (int i = 0; i < m->npfx; i++)
		if (contains(&m->pfx[i], afi, addr, len) && (best < 0 || m->pfx[i].len > m->pfx[best].len))
			best = i;
	return best < 0 ? RIB_NONE : m->idx[best];
}

static void check_attr_id(const struct rib *r, uint32_t id, int var)
{
	CHECK(id != 0);
	const struct rib_attr *x = rib_attr_get(r, id);
	CHECK(x->refcnt > 0 && x->origin_asn == 64500u + (uint32_t)var && x->origin == var % 3);
}

static void check_counts(const struct model *m, const struct rib *r, const uint32_t *peer)
{
	uint64_t routes = 0;
	int refs[FUZZ_NVAR] = { 0 };
	for (int p = 0; p < NPEER; p++) {
		uint32_t npfx[2] = { 0, 0 };
		uint64_t npaths = 0;
		for (int i = 0; i < m->npfx; i++) {
			int any = 0;
			for (int k = 0; k < NPATH; k++)
				if (m->route[p][i][k]) {
					any = 1;
					npaths++;
					refs[m->route[p][i][k] - 1]++;
				}
			npfx[rib_fam(m->pfx[i].afi)] += (uint32_t)any;
			routes += (uint64_t)any;
		}
		if (peer[p] == RIB_NONE) {
			CHECK(npaths == 0);
			continue;
		}
		struct rib_peer_info rp;
		CHECK(rib_peer_info(r, peer[p], &rp) == 0);
		CHECK(rp.nprefixes[0] == npfx[0] && rp.nprefixes[1] == npfx[1] && rp.npaths == npaths);
	}
	CHECK(rib_routes(r) == routes);
	uint32_t live = 0;
	for (int v = 0; v < FUZZ_NVAR; v++)
		if (refs[v]) {
			live++;
			check_attr_id(r, m->var_id[v], v);
			CHECK(rib_attr_get(r, m->var_id[v])->refcnt == (uint32_t)refs[v]);
		}
	CHECK(rib_attr_count(r) == live);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rib *r = rib_new();
	if (!r)
		return 0;
	static struct model m;
	memset(&m, 0, sizeof m);
	uint32_t peer[NPEER];
	for (int p = 0; p < NPEER; p++)
		peer[p] = RIB_NONE;
	uint32_t coll[2] = { rib_collector_find_or_add(r, "rrc00"), rib_collector_find_or_add(r, "route-views2") };
	for (size_t off = 0; off + 4 <= size; off += 4) {
		const uint8_t *o = data + off;
		int op = o[0] & 7, p = o[1] & 3;
		if (peer[p] == RIB_NONE) {
			struct dm_ip a = { .afi = DM_AFI_IPV4, .b = { 192, 0, 2, (uint8_t)p } };
			peer[p] = rib_peer_find_or_add(r, coll[p & 1], &a, 64496u + (uint32_t)p);
			CHECK(peer[p] != RIB_NONE);
			CHECK(rib_peer_find(r, coll[p & 1], &a, 64496u + (uint32_t)p) == peer[p]);
		}
		if (op == 5) {   /* longest match of an address of the universe */
			struct dm_prefix q = fuzz_prefix(&universe, o[2], 255);
			q.b[q.afi == DM_AFI_IPV4 ? 3 : 15] ^= o[3];
			struct dm_ip ip = { .afi = q.afi };
			memcpy(ip.b, q.b, 16);
			CHECK(rib_lpm(r, &ip) == naive_longest(&m, q.afi, q.b, q.afi == DM_AFI_IPV4 ? 32 : 128));
			continue;
		}
		if (op == 6) {   /* covering prefix of a prefix (the prefix itself when present) */
			struct dm_prefix q = fuzz_prefix(&universe, o[2], o[3]);
			CHECK(rib_covering(r, &q) == naive_longest(&m, q.afi, q.b, q.len));
			continue;
		}
		if (op == 7 && (o[0] >> 3 & 7) == 0) {
			rib_peer_clear(r, peer[p]);
			memset(m.route[p], 0, sizeof m.route[p]);
			check_counts(&m, r, peer);
			continue;
		}
		struct dm_prefix q = fuzz_prefix(&universe, o[2], o[3]);
		int i = model_prefix(&m, r, &q);
		if (i < 0)
			continue;
		int path = (o[0] >> 3) % NPATH, var = o[0] >> 6;
		uint8_t *slot = &m.route[p][i][path];
		uint32_t old;
		if (op <= 2 || op == 7) {
			uint32_t id = rib_attr_intern(r, &fuzz_var_attrs[var]);
			check_attr_id(r, id, var);
			m.var_id[var] = id;
			old = rib_route_set(r, peer[p], m.idx[i], (uint32_t)path, id);
			if (*slot)
				check_attr_id(r, old, *slot - 1);
			else
				CHECK(old == 0);
			*slot = (uint8_t)(var + 1);
		} else {
			old = rib_route_del(r, peer[p], m.idx[i], (uint32_t)path);
			if (*slot)
				check_attr_id(r, old, *slot - 1);
			else
				CHECK(old == 0);
			*slot = 0;
		}
		if (old)
			rib_attr_unref(r, old);
		check_counts(&m, r, peer);
	}
	/* every (peer, prefix): the paths of the model, no more */
	for (int p = 0; p < NPEER; p++) {
		if (peer[p] == RIB_NONE)
			continue;
		for (int i = 0; i < m.npfx; i++) {
			struct rib_path paths[8];
			int n = rib_route_paths(r, peer[p], m.idx[i], paths, 8), want = 0;
			for (int k = 0; k < NPATH; k++)
				want += m.route[p][i][k] != 0;
			CHECK(n == want);
			for (int j = 0; j < n && j < 8; j++) {
				CHECK(paths[j].path_id < NPATH);
				int v = m.route[p][i][paths[j].path_id];
				CHECK(v);
				check_attr_id(r, paths[j].attr, v - 1);
			}
		}
	}
	rib_free(r);
	return 0;
}
