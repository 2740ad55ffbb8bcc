/* libFuzzer target: one BGP message (with marker) under every decoding context: the first
 * byte chooses 2/4-byte ASNs, ADD-PATH, and the session address family. Differential (issue 12):
 * the UPDATE is decoded eagerly (what dump prints) and lazily, as replay decodes it (prefix lists
 * framed by bgp_nlri_frame and read from the bytes, attributes framed by bgp_attrs_frame; both
 * lazy modes), and the two must give the same errors (codes, offsets, texts), the same RFC 7606
 * action and the same elements (type, prefix, path id, origin AS, next hop) in the same order.
 * The input's bytes are also read as one bare prefix list of each family, framed and decoded: the
 * same count, prefixes, path ids and error. A difference aborts. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_elems.h"

static int same_err(int rc, const struct dm_error *a, const struct dm_error *b)
{
	return !rc || (a->code == b->code && a->offset == b->offset && !strcmp(a->what, b->what));
}

/* One prefix list of family afi: framed and decoded alike. */
static void list_both(const uint8_t *data, size_t size, uint16_t afi, int addpath)
{
	struct arena a;
	arena_init(&a, 64 << 20);
	struct cur c1 = cur_make(data, size), c2 = cur_make(data, size);
	struct nlri_list d, f;
	struct dm_error e1, e2;
	memset(&f, 0x5a, sizeof f);   /* the frame sets every field it leaves to be read */
	int r1 = bgp_nlri_decode(&c1, afi, addpath, &a, &d, &e1);
	int r2 = bgp_nlri_frame(&c2, afi, addpath, &f, &e2);
	fuzz_check(r1 == r2 && same_err(r1, &e1, &e2) && c1.p == c2.p);
	if (r1 != DM_ERR_NOMEM) {
		fuzz_check(d.n == f.n && !f.pfx && !f.path_id);
		struct nlri_iter it;
		struct dm_prefix p;
		uint32_t pid, i = 0;
		nlri_iter_init(&it, &f);
		while (nlri_iter_next(&it, &p, &pid)) {
			fuzz_check(i < d.n && !memcmp(&p, &d.pfx[i], sizeof p) && pid == (d.path_id ? d.path_id[i] : 0));
			i++;
		}
		fuzz_check(i == d.n);
	}
	arena_free(&a);
}

static struct fuzz_seen s_eager, s_lazy;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct bgp_ctx ctx = {
		.asn_size = (uint8_t)(data[0] & 1 ? 4 : 2),
		.addpath = (uint8_t)(data[0] >> 1 & 1),
		.afi = (uint16_t)(data[0] & 4 ? DM_AFI_IPV6 : DM_AFI_IPV4),
		.safi = DM_SAFI_UNICAST,
	};
	struct arena a;
	arena_init(&a, 64 << 20);
	struct cur c = cur_make(data + 1, size - 1);
	struct bgp_msg m;
	struct dm_error err;
	int rc;
	if (data[0] & 8) {
		rc = bgp_update_decode(&c, &ctx, &a, &m.u.update, &err);
		m.type = BGP_MSG_UPDATE;
	} else {
		rc = bgp_msg_decode(&c, &ctx, &a, &m, &err);
	}
	if (rc == 0 && m.type == BGP_MSG_UPDATE) {
		const struct bgp_update *u = &m.u.update;
		int is_set;
		as_path_origin(&u->attrs.path, &is_set);
		struct dm_elem tmpl;
		memset(&tmpl, 0, sizeof tmpl);
		s_eager.n = 0;
		bgp_update_elems(u, &tmpl, fuzz_seen_record, &s_eager);
		/* the same bytes lazily, as replay reads them, into a struct holding garbage */
		for (uint8_t mode = BGP_LAZY_FRAME; mode <= BGP_LAZY_PATHS; mode++) {
			struct bgp_ctx lctx = ctx;
			lctx.lazy = mode;
			struct bgp_msg lm;
			struct dm_error lerr;
			memset(&lm, 0xa5, sizeof lm);
			struct cur lc = cur_make(data + 1, size - 1);
			int lrc = data[0] & 8 ? bgp_update_decode(&lc, &lctx, &a, &lm.u.update, &lerr)
			                      : bgp_msg_decode(&lc, &lctx, &a, &lm, &lerr);
			const struct bgp_update *l = &lm.u.update;
			fuzz_check(lrc == 0 && lc.p == c.p);
			fuzz_check(l->attr_err == u->attr_err && l->nlri_err == u->nlri_err && l->attrs.action == u->attrs.action &&
			      l->addpath_guessed == u->addpath_guessed && l->attrs.n_errors == u->attrs.n_errors);
			fuzz_check(same_err(u->attr_err || u->nlri_err, &err, &lerr));
			fuzz_check(l->withdrawn.n == u->withdrawn.n && l->announced.n == u->announced.n);
			s_lazy.n = 0;
			bgp_update_elems(l, &tmpl, fuzz_seen_record, &s_lazy);
			fuzz_seen_same(&s_eager, &s_lazy);
		}
	}
	list_both(data + 1, size - 1, ctx.afi, ctx.addpath);
	arena_free(&a);
	return 0;
}
