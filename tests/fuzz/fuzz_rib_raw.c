/* libFuzzer target, differential (issue 12): replay's unframed RIB entries (mrt_ctx
 * lazy_rib_attrs = MRT_LAZY_RIB_RAW, attrs BGP_ATTRS_RAW) against eager decoding. Every record
 * is decoded by an eager context and by a lazy one; a lazy RIB record's entries are then taken
 * as replay takes them (src/pipeline/source.c apply_record): looked up by their bytes in a RIB
 * holding the sets of every entry seen before (an IPv6 record's framed first,
 * mrt_rib_entry_frame), decoded in entry order when not found (mrt_rib_entry_decode). Aborts
 * when a found entry was not clean when decoded eagerly or interns to another set; when an
 * entry not found decodes otherwise than eagerly (error, action, attributes present, block);
 * or when the record's problems (kept, with their text and offset, and counted) differ. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_records.h"
#include "fuzz_util.h"
#include "rib/rib.h"

struct st {
	struct mrt_ctx eager, lazy;
	struct rib *rib;
};

static void same_warnings(const struct mrt_rec *a, const struct mrt_rec *b)
{
	CHECK(a->nwarn == b->nwarn && a->nwarn_unkept == b->nwarn_unkept);
	CHECK(!memcmp(a->warn_unkept, b->warn_unkept, sizeof a->warn_unkept));
	for (uint32_t i = 0; i < a->nwarn; i++)
		CHECK(a->warn[i].code == b->warn[i].code && a->warn[i].offset == b->warn[i].offset &&
		      !strcmp(a->warn[i].what, b->warn[i].what));
}

static void one(const struct mrt_hdr *h, const uint8_t *body, void *arg)
{
	struct st *s = arg;
	struct mrt_rec re, rl;
	struct dm_error ee, el;
	int a = mrt_decode(&s->eager, h, body, &re, &ee);
	int b = mrt_decode(&s->lazy, h, body, &rl, &el);
	CHECK(a == b);
	if (a) {
		CHECK(ee.code == el.code && ee.offset == el.offset && !strcmp(ee.what, el.what));
		return;
	}
	CHECK(re.kind == rl.kind);
	if (re.kind != MRT_K_RIB) {
		same_warnings(&re, &rl);
		return;
	}
	const struct mrt_rib *er = &re.u.rib;
	struct mrt_rib *lr = &rl.u.rib;
	CHECK(er->n == lr->n);
	int v6 = lr->afi == DM_AFI_IPV6;
	for (uint32_t i = 0; i < lr->n; i++) {
		struct bgp_attrs *la = &lr->e[i].attrs;
		const struct mrt_rib_entry *ex = &er->e[i];
		CHECK(lr->e[i].peer_index == ex->peer_index && lr->e[i].path_id == ex->path_id);
		uint32_t found = 0;
		if (la->lazy == BGP_ATTRS_RAW || la->lazy == BGP_ATTRS_INDEXED) {
			if (v6 && la->lazy == BGP_ATTRS_RAW)
				mrt_rib_entry_frame(&s->lazy, &rl, i);
			found = rib_attr_find_lazy(s->rib, la, 0);
			if (found) {   /* its set: what the eager decoding interns to, clean */
				CHECK(ex->attr_err == 0 && ex->attrs.n_errors == 0 && ex->attrs.action == BGP_ERR_NONE);
				struct bgp_attrs x = ex->attrs;
				x.lazy = BGP_ATTRS_RIB_ENTRY;
				uint32_t id = rib_attr_intern(s->rib, &x);
				CHECK(id == found);
				rib_attr_unref(s->rib, id);
				CHECK(la->action == BGP_ERR_NONE);
				continue;
			}
			mrt_rib_entry_decode(&s->lazy, &rl, i);
		}
		CHECK(lr->e[i].attr_err == ex->attr_err && la->action == ex->attrs.action &&
		      la->n_errors == ex->attrs.n_errors && la->present == ex->attrs.present &&
		      la->raw_len == ex->attrs.raw_len && la->origin == ex->attrs.origin);
	}
	same_warnings(&re, &rl);
	/* every entry's set, as the RIB interns it (held: later records find them) */
	for (uint32_t i = 0; i < er->n; i++) {
		struct bgp_attrs x = er->e[i].attrs;
		if (x.action >= BGP_ERR_TREAT_AS_WITHDRAW)
			continue;
		x.lazy = BGP_ATTRS_RIB_ENTRY;
		rib_attr_intern(s->rib, &x);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st s;
	mrt_ctx_init(&s.eager);
	mrt_ctx_init(&s.lazy);
	s.lazy.lazy_rib_attrs = MRT_LAZY_RIB_RAW;
	s.rib = rib_new();
	if (s.rib)
		fuzz_each_frame(data, size, one, &s);
	rib_free(s.rib);
	mrt_ctx_free(&s.eager);
	mrt_ctx_free(&s.lazy);
	return 0;
}
