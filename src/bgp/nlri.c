/* Prefix lists (RFC 4271 §4.3; ADD-PATH RFC 7911 §3). */
#include "bgp/bgp.h"

#include <string.h>

#define M8(k) { [0] = (k) > 0 ? 0xff : 0, [1] = (k) > 1 ? 0xff : 0, [2] = (k) > 2 ? 0xff : 0, \
	        [3] = (k) > 3 ? 0xff : 0, [4] = (k) > 4 ? 0xff : 0, [5] = (k) > 5 ? 0xff : 0, \
	        [6] = (k) > 6 ? 0xff : 0, [7] = (k) > 7 ? 0xff : 0 }
const union bgp_mask8 bgp_mask8 = {
	.b = { M8(0), M8(1), M8(2), M8(3), M8(4), M8(5), M8(6), M8(7), M8(8) }
};
const union bgp_mask4 bgp_mask4 = {
	.b = { { 0, 0, 0, 0 }, { 0xff, 0, 0, 0 }, { 0xff, 0xff, 0, 0 }, { 0xff, 0xff, 0xff, 0 }, { 0xff, 0xff, 0xff, 0xff } }
};

/* The walk both functions make: checks each prefix (and its path id) in order, stopping at the
 * first malformed one with the error eager decoding reports (a malformed prefix ends the list:
 * the prefixes before it are still returned, with the error, because an observatory should read
 * everything that can be read). When d is not NULL each prefix is stored there, path ids in
 * path_id likewise. Returns 0 or the error; *n_out the prefixes that stand, *stop the end of
 * their bytes. Inlined into each caller, so that the framing walk stores nothing. */
static inline __attribute__((always_inline)) int nlri_walk(const struct cur *c, unsigned maxlen, uint8_t fam,
                                                         int addpath, struct dm_prefix *d, uint32_t *path_id,
                                                         uint32_t *n_out, const uint8_t **stop, struct dm_error *err)
{
	const uint8_t *p = c->p, *end = c->end;
	uint32_t n = 0;
	int rc = 0;
	while (p < end) {
		size_t at = (size_t)(p - c->base);
		const uint8_t *start = p;
		if (addpath) {
			if (end - p < 4) {
				rc = dm_fail(err, DM_ERR_BAD_NLRI, at, "NLRI: path identifier truncated (%zu bytes left)",
				             (size_t)(end - p));
				break;
			}
			if (path_id)
				path_id[n] = be32(p);
			p += 4;
			if (p == end) {
				rc = dm_fail(err, DM_ERR_BAD_NLRI, at, "NLRI: prefix length missing after path identifier");
				p = start;
				break;
			}
		}
		unsigned len = *p;
		unsigned nb = (len + 7u) / 8;
		if (len > maxlen) {
			rc = dm_fail(err, DM_ERR_BAD_NLRI, (size_t)(p - c->base), "NLRI: prefix length %u exceeds %u", len,
			             maxlen);
			p = start;
			break;
		}
		if ((size_t)(end - p - 1) < nb) {
			rc = dm_fail(err, DM_ERR_BAD_NLRI, (size_t)(p - c->base), "NLRI: /%u prefix needs %u bytes, %zu left",
			             len, nb, (size_t)(end - p - 1));
			p = start;
			break;
		}
		if (d)
			bgp_prefix_load(&d[n], p, end, fam);
		n++;
		p += 1 + nb;
	}
	*n_out = n;
	*stop = p;
	return rc;
}

int bgp_nlri_decode(struct cur *c, uint16_t afi, int addpath, struct arena *a, struct nlri_list *out,
                    struct dm_error *err)
{
	unsigned maxlen = afi == DM_AFI_IPV6 ? 128 : 32;
	uint8_t fam = (uint8_t)(afi == DM_AFI_IPV6 ? DM_AFI_IPV6 : DM_AFI_IPV4);
	size_t left = cur_left(c);
	out->n = 0;
	out->pfx = NULL;
	out->path_id = NULL;
	out->raw = NULL;
	out->raw_len = 0;
	if (left == 0)
		return 0;
	/* Every prefix takes at least 1 byte (5 with a path id), which bounds the count. */
	size_t max = addpath ? left / 5 + 1 : left;
	out->pfx = arena_alloc(a, max * sizeof *out->pfx);
	if (addpath)
		out->path_id = arena_alloc(a, max * sizeof *out->path_id);
	if (!out->pfx || (addpath && !out->path_id))
		return dm_fail(err, DM_ERR_NOMEM, cur_off(c), "NLRI: %zu bytes of prefixes exceed the record memory limit",
		               left);
	uint32_t n;
	const uint8_t *stop;
	int rc = nlri_walk(c, maxlen, fam, addpath, out->pfx, out->path_id, &n, &stop, err);
	out->n = n;
	if (n == 0) {
		out->pfx = NULL;
		out->path_id = NULL;
	}
	c->p = c->end;
	return rc;
}

/* bgp_nlri_frame (bgp.h) for the lists its inline part leaves: with path ids, or malformed. */
int bgp_nlri_frame_(struct cur *c, uint16_t afi, int addpath, struct nlri_list *out, struct dm_error *err)
{
	uint8_t fam = (uint8_t)(afi == DM_AFI_IPV6 ? DM_AFI_IPV6 : DM_AFI_IPV4);
	uint32_t n;
	const uint8_t *stop;
	int rc = nlri_walk(c, fam == DM_AFI_IPV6 ? 128 : 32, fam, addpath, NULL, NULL, &n, &stop, err);
	out->pfx = NULL;
	out->path_id = NULL;
	out->n = n;
	out->raw = n ? c->p : NULL;
	out->raw_len = n ? (uint32_t)(stop - c->p) : 0;   /* the standing prefixes' bytes only */
	out->fam = fam;
	out->addpath = (uint8_t)(addpath != 0);
	c->p = c->end;
	return rc;
}
