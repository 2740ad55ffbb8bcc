/* libFuzzer target: a path attribute block, in the contexts MRT uses (BGP4MP 2/4-byte,
 * TABLE_DUMP_V2 with the abbreviated MP_REACH_NLRI, ADD-PATH), decoded eagerly and framed lazily
 * (bgp_attrs_frame and bgp_attrs_frame_short, issue 12; paths on demand and paths with the
 * check; with the check, its MP prefix lists framed, bgp_nlri_frame), all compared: the frames
 * must accept exactly the blocks eager decoding finds no problem in, the short frame set what the
 * frame sets, and their accessors give what the decoded block holds. A difference aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bgp/bgp.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

static int same_path(const struct as_path *a, const struct as_path *b)
{
	if (a->nseg != b->nseg)
		return 0;
	for (unsigned i = 0; i < a->nseg; i++)
		if (a->seg[i].type != b->seg[i].type || a->seg[i].count != b->seg[i].count ||
		    memcmp(a->seg[i].asn, b->seg[i].asn, (size_t)a->seg[i].count * 4))
			return 0;
	return 1;
}

/* the same prefixes, decoded or framed (bgp_nlri_frame: read through nlri_iter) */
static int same_list(const struct nlri_list *a, const struct nlri_list *b)
{
	if (a->n != b->n)
		return 0;
	struct nlri_iter ia, ib;
	struct dm_prefix pa, pb;
	uint32_t ida, idb;
	nlri_iter_init(&ia, a);
	nlri_iter_init(&ib, b);
	while (nlri_iter_next(&ia, &pa, &ida))
		if (!nlri_iter_next(&ib, &pb, &idb) || memcmp(&pa, &pb, sizeof pa) || ida != idb)
			return 0;
	return !nlri_iter_next(&ib, &pb, &idb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct bgp_ctx ctx = {
		.asn_size = (uint8_t)(data[0] & 1 ? 4 : 2),
		.addpath = (uint8_t)(data[0] >> 1 & 1),
		.mp_reach_abbrev = (uint8_t)(data[0] >> 2 & 1),
		.afi = (uint16_t)(data[0] & 8 ? DM_AFI_IPV6 : DM_AFI_IPV4),
		.safi = DM_SAFI_UNICAST,
	};
	struct arena a;
	arena_init(&a, 64 << 20);
	struct cur c = cur_make(data + 1, size - 1);
	struct bgp_attrs attrs;
	struct dm_error err;
	int rc = bgp_attrs_decode(&c, &ctx, &a, &attrs, &err);
	volatile uint32_t x = attrs.n_communities + attrs.mp_reach.nlri.n + attrs.path.nseg;
	for (uint16_t i = 0; i < attrs.path.nseg; i++)
		x += attrs.path.seg[i].count ? attrs.path.seg[i].asn[attrs.path.seg[i].count - 1] : 0;
	(void)x;

	/* the lazy frame of the same bytes, into a struct holding garbage (it clears nothing) */
	struct bgp_attrs f;
	memset(&f, 0x5a, sizeof f);
	struct cur fc = cur_make(data + 1, size - 1);
	int fr = bgp_attrs_frame(&fc, &ctx, &a, &f);
	int clean = rc == 0 && attrs.n_errors == 0 && attrs.action == BGP_ERR_NONE;
	check((fr == 0) == clean);
	if (fr) {   /* the short frame refuses it too */
		struct bgp_attrs sf;
		struct cur sc = cur_make(data + 1, size - 1);
		check(bgp_attrs_frame_short(&sc, &ctx, &a, &sf) != 0);
	}
	if (fr == 0) {
		check(f.lazy == BGP_ATTRS_FRAMED && f.present == attrs.present && f.origin == attrs.origin);
		check(f.raw == attrs.raw && f.raw_len == attrs.raw_len && f.action == 0 && f.n_errors == 0);
		check(f.as_path.asn_size == attrs.as_path.asn_size);
		check(!memcmp(&f.next_hop, &attrs.next_hop, sizeof f.next_hop));
		check(f.mp_reach.nlri_supported == attrs.mp_reach.nlri_supported &&
		      f.mp_reach.afi == attrs.mp_reach.afi && f.mp_reach.safi == attrs.mp_reach.safi &&
		      !memcmp(&f.mp_reach.nexthop, &attrs.mp_reach.nexthop, sizeof f.mp_reach.nexthop) &&
		      same_list(&f.mp_reach.nlri, &attrs.mp_reach.nlri));
		check(f.mp_unreach.nlri_supported == attrs.mp_unreach.nlri_supported &&
		      same_list(&f.mp_unreach.nlri, &attrs.mp_unreach.nlri));
		check(bgp_attrs_next_hop(&f, ctx.afi) ? bgp_attrs_next_hop(&attrs, ctx.afi) &&
		      !memcmp(bgp_attrs_next_hop(&f, ctx.afi), bgp_attrs_next_hop(&attrs, ctx.afi), sizeof(struct dm_ip))
		                                      : !bgp_attrs_next_hop(&attrs, ctx.afi));
		int s1 = 0, s2 = 0;
		check(bgp_attrs_origin_as(&f, &s1) == bgp_attrs_origin_as(&attrs, &s2) && s1 == s2);
		uint32_t t1[4], t2[4];
		unsigned n1 = bgp_attrs_path_tail(&f, t1, 4), n2 = bgp_attrs_path_tail(&attrs, t2, 4);
		check(n1 == n2 && !memcmp(t1, t2, n1 * 4));
		struct cur v1, v2;
		int h1 = bgp_attrs_find(&f, BGP_ATTR_COMMUNITIES, &v1), h2 = bgp_attrs_find(&attrs, BGP_ATTR_COMMUNITIES, &v2);
		check(h1 == h2 && (!h1 || (v1.p == v2.p && v1.end == v2.end && cur_left(&v1) == attrs.n_communities * 4)));
		/* bgp_attrs_frame_short (RIB entries): the frame's result, field by field */
		struct bgp_attrs sf;
		memset(&sf, 0x33, sizeof sf);
		struct cur sc = cur_make(data + 1, size - 1);
		check(bgp_attrs_frame_short(&sc, &ctx, &a, &sf) == 0 && sc.p == sc.end);
		check(sf.lazy == f.lazy && sf.present == f.present && sf.origin == f.origin && sf.raw == f.raw &&
		      sf.raw_len == f.raw_len && sf.action == f.action && sf.n_errors == f.n_errors &&
		      sf.origin_asn == f.origin_asn && sf.origin_asn_set == f.origin_asn_set &&
		      sf.path_todo == f.path_todo && sf.as_path.asn_size == f.as_path.asn_size &&
		      sf.path.nseg == f.path.nseg && sf.n_communities == f.n_communities && sf.rib_set == f.rib_set);
		check(!memcmp(&sf.next_hop, &f.next_hop, sizeof f.next_hop) &&
		      !memcmp(&sf.ix_as_path, &f.ix_as_path, sizeof f.ix_as_path) &&
		      !memcmp(&sf.ix_as4_path, &f.ix_as4_path, sizeof f.ix_as4_path) &&
		      sf.mp_reach.nlri_supported == f.mp_reach.nlri_supported &&
		      !memcmp(&sf.mp_reach.nexthop, &f.mp_reach.nexthop, sizeof f.mp_reach.nexthop) &&
		      sf.mp_unreach.nlri_supported == f.mp_unreach.nlri_supported);
		/* the path on demand: what eager decoding gives */
		check(bgp_attrs_path(&f, &a) == 0 && f.path_todo == 0);
		check(same_path(&f.path, &attrs.path) && same_path(&f.as_path, &attrs.as_path));
		n1 = bgp_attrs_path_tail(&f, t1, 4);
		check(n1 == n2 && !memcmp(t1, t2, n1 * 4));
	}
	/* the paths decoded as they are checked (BGP_LAZY_PATHS, what replay uses) */
	struct bgp_attrs g;
	memset(&g, 0xa5, sizeof g);
	struct bgp_ctx pctx = ctx;
	pctx.lazy = BGP_LAZY_PATHS;
	fc = cur_make(data + 1, size - 1);
	int gr = bgp_attrs_frame(&fc, &pctx, &a, &g);
	check((gr == 0) == clean);
	if (gr == 0) {
		int s1 = 0, s2 = 0;
		check(g.path_todo == 0 && g.present == attrs.present && g.origin == attrs.origin);
		check(same_path(&g.path, &attrs.path) && same_path(&g.as_path, &attrs.as_path) &&
		      g.as_path.asn_size == attrs.as_path.asn_size);
		check(bgp_attrs_origin_as(&g, &s1) == bgp_attrs_origin_as(&attrs, &s2) && s1 == s2);
		/* lazy: the MP prefix lists framed, read from the bytes */
		check(g.mp_reach.nlri_supported == attrs.mp_reach.nlri_supported &&
		      same_list(&g.mp_reach.nlri, &attrs.mp_reach.nlri));
		check(g.mp_unreach.nlri_supported == attrs.mp_unreach.nlri_supported &&
		      same_list(&g.mp_unreach.nlri, &attrs.mp_unreach.nlri));
	}
	arena_free(&a);
	return 0;
}
