/* AS_PATH / AS4_PATH decoding and the RFC 6793 merge. */
#include "bgp/bgp.h"

#include <string.h>

/* Number of ASNs a path counts for in path length (RFC 4271 §9.1.2.2: an AS_SET counts 1,
 * confederation segments count 0 — RFC 5065 §5.3). */
static unsigned path_count(const struct as_path *p)
{
	unsigned n = 0;
	for (unsigned i = 0; i < p->nseg; i++) {
		const struct as_seg *s = &p->seg[i];
		if (s->type == AS_SEQUENCE)
			n += s->count;
		else if (s->type == AS_SET)
			n += 1;
	}
	return n;
}

int as_path_merge(const struct as_path *as_path, const struct as_path *as4_path, struct arena *a,
                  struct as_path *out)
{
	unsigned n2 = path_count(as_path), n4 = path_count(as4_path);
	/* RFC 6793 §4.2.3: if AS_PATH is shorter than AS4_PATH, ignore AS4_PATH. */
	if (as4_path->nseg == 0 || n2 < n4) {
		*out = *as_path;
		return 0;
	}
	/* Keep the first (n2 - n4) counted ASNs of AS_PATH, then append AS4_PATH. */
	unsigned keep = n2 - n4;
	struct as_seg *seg = arena_alloc(a, (size_t)(as_path->nseg + as4_path->nseg) * sizeof *seg);
	if (!seg)
		return DM_ERR_NOMEM;
	unsigned ns = 0;
	for (unsigned i = 0; i < as_path->nseg && keep > 0; i++) {
		const struct as_seg *s = &as_path->seg[i];
		if (s->type == AS_SEQUENCE) {
			unsigned take = s->count < keep ? s->count : keep;
			seg[ns] = *s;
			seg[ns].count = (uint8_t)take;
			ns++;
			keep -= take;
		} else if (s->type == AS_SET) {
			seg[ns++] = *s;
			keep -= 1;
		} else {
			seg[ns++] = *s; /* confederation segments carry no count: keep as they are */
		}
	}
	for (unsigned i = 0; i < as4_path->nseg; i++) {
		/* Adjacent AS_SEQUENCEs print as one: merge them so the text is a single run. */
		const struct as_seg *s = &as4_path->seg[i];
		if (ns > 0 && i == 0 && s->type == AS_SEQUENCE && seg[ns - 1].type == AS_SEQUENCE &&
		    seg[ns - 1].count + s->count <= 255) {
			uint32_t *asn = arena_alloc(a, (size_t)(seg[ns - 1].count + s->count) * 4);
			if (!asn)
				return DM_ERR_NOMEM;
			memcpy(asn, seg[ns - 1].asn, (size_t)seg[ns - 1].count * 4);
			memcpy(asn + seg[ns - 1].count, s->asn, (size_t)s->count * 4);
			seg[ns - 1].asn = asn;
			seg[ns - 1].count = (uint8_t)(seg[ns - 1].count + s->count);
			continue;
		}
		seg[ns++] = *s;
	}
	out->seg = seg;
	out->nseg = (uint16_t)ns;
	out->asn_size = 4;
	return 0;
}

uint32_t as_path_origin(const struct as_path *p, int *is_set)
{
	if (is_set)
		*is_set = 0;
	for (int i = (int)p->nseg - 1; i >= 0; i--) {
		const struct as_seg *s = &p->seg[i];
		if (s->count == 0)
			continue;
		if (s->type == AS_CONFED_SEQUENCE || s->type == AS_CONFED_SET)
			continue; /* confederation-internal: not the origin */
		if (is_set)
			*is_set = s->type == AS_SET;
		return s->asn[s->count - 1];
	}
	return 0;
}
