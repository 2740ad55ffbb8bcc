/* libFuzzer target: MRT record decoding (all types), fed a sequence of records; a
 * PEER_INDEX_TABLE from an earlier record stays in the context for later RIB records.
 * Differential (issue 12): every record is decoded eagerly (as dump decodes) and lazily as
 * replay reads UPDATEs and TABLE_DUMP entries (mrt_ctx lazy_attrs: attribute blocks framed,
 * prefix lists framed and read from the bytes; the first input byte's low bit picks paths with
 * the check or on demand), and the two must agree: the same result, error or warnings (codes,
 * offsets, texts, counts), and the same elements in order (type, peer, prefix, path id, origin,
 * origin AS, next hop). A difference aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mrt/elem.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

enum { MAX_ELEMS = 1 << 14 };

struct seen {
	uint32_t n;
	struct {
		char type;
		uint8_t has_path_id, origin_set, has_nh, origin;
		uint32_t path_id, origin_as, peer_asn;
		struct dm_prefix prefix;
		struct dm_ip nh, peer;
	} e[MAX_ELEMS];
};

static void record(const struct dm_elem *e, void *arg)
{
	struct seen *s = arg;
	if (s->n >= MAX_ELEMS) {
		s->n++;
		return;
	}
	memset(&s->e[s->n], 0, sizeof s->e[s->n]);
	s->e[s->n].type = e->type;
	s->e[s->n].has_path_id = e->has_path_id;
	s->e[s->n].path_id = e->path_id;
	s->e[s->n].prefix = e->prefix;
	s->e[s->n].peer_asn = e->peer_asn;
	if (e->peer_ip)
		s->e[s->n].peer = *e->peer_ip;
	if (e->attrs) {
		int is_set = 0;
		s->e[s->n].origin_as = bgp_attrs_origin_as(e->attrs, &is_set);
		s->e[s->n].origin_set = (uint8_t)is_set;
		s->e[s->n].origin = e->attrs->origin;
	}
	if (e->next_hop) {
		s->e[s->n].has_nh = 1;
		s->e[s->n].nh = *e->next_hop;
	}
	s->n++;
}

static int same_err(const struct dm_error *a, const struct dm_error *b)
{
	return a->code == b->code && a->offset == b->offset && !strcmp(a->what, b->what);
}

static struct seen s_eager, s_lazy;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mrt_ctx eager, lazy;
	mrt_ctx_init(&eager);
	mrt_ctx_init(&lazy);
	lazy.lazy_attrs = size && (data[0] & 1) ? BGP_LAZY_FRAME : BGP_LAZY_PATHS;
	size_t off = 0;
	while (size - off >= MRT_HEADER_LEN) {
		const uint8_t *p = data + off;
		struct mrt_hdr h = { be32(p), 0, be16(p + 4), be16(p + 6), be32(p + 8), off, 0, 0 };
		if (h.len > size - off - MRT_HEADER_LEN)
			break;
		const uint8_t *body = p + MRT_HEADER_LEN;
		off += MRT_HEADER_LEN + h.len;
		if (h.type == MRT_BGP4MP_ET) {
			if (h.len < 4)
				continue;
			h.usec = be32(body);
			body += 4;
			h.len -= 4;
		}
		static struct mrt_rec re, rl;
		struct dm_error ee, el;
		int r1 = mrt_decode(&eager, &h, body, &re, &ee);
		int r2 = mrt_decode(&lazy, &h, body, &rl, &el);
		check(r1 == r2 && re.kind == rl.kind);
		if (r1 < 0) {
			check(same_err(&ee, &el));
			continue;
		}
		check(re.nwarn == rl.nwarn && re.nwarn_unkept == rl.nwarn_unkept &&
		      !memcmp(re.warn_unkept, rl.warn_unkept, sizeof re.warn_unkept));
		for (uint32_t i = 0; i < re.nwarn; i++)
			check(same_err(&re.warn[i], &rl.warn[i]));
		s_eager.n = s_lazy.n = 0;
		unsigned n1 = mrt_elems(&eager, &re, record, &s_eager);
		mrt_rec_paths(&lazy, &rl);   /* as replay asks before the RIB takes the elements */
		unsigned n2 = mrt_elems(&lazy, &rl, record, &s_lazy);
		check(n1 == n2 && s_eager.n == s_lazy.n);
		for (uint32_t i = 0; i < s_eager.n && i < MAX_ELEMS; i++)
			check(!memcmp(&s_eager.e[i], &s_lazy.e[i], sizeof s_eager.e[i]));
	}
	mrt_ctx_free(&eager);
	mrt_ctx_free(&lazy);
	return 0;
}
