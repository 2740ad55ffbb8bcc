/* Prefix lists (RFC 4271 §4.3; ADD-PATH RFC 7911 §3). */
#include "bgp/bgp.h"

#include <string.h>

/* mask4.w[k] / mask8.w[k]: the first k bytes of a 4- / 8-byte word in memory order (the
 * masks are built from bytes, so they hold on either byte order). */
#define M8(k) { [0] = (k) > 0 ? 0xff : 0, [1] = (k) > 1 ? 0xff : 0, [2] = (k) > 2 ? 0xff : 0, \
	        [3] = (k) > 3 ? 0xff : 0, [4] = (k) > 4 ? 0xff : 0, [5] = (k) > 5 ? 0xff : 0, \
	        [6] = (k) > 6 ? 0xff : 0, [7] = (k) > 7 ? 0xff : 0 }
static const union { uint8_t b[9][8]; uint64_t w[9]; } mask8 = {
	.b = { M8(0), M8(1), M8(2), M8(3), M8(4), M8(5), M8(6), M8(7), M8(8) }
};
static const union { uint8_t b[5][4]; uint32_t w[5]; } mask4 = {
	.b = { { 0, 0, 0, 0 }, { 0xff, 0, 0, 0 }, { 0xff, 0xff, 0, 0 }, { 0xff, 0xff, 0xff, 0 }, { 0xff, 0xff, 0xff, 0xff } }
};

int bgp_nlri_decode(struct cur *c, uint16_t afi, int addpath, struct arena *a, struct nlri_list *out,
                    struct dm_error *err)
{
	unsigned maxlen = afi == DM_AFI_IPV6 ? 128 : 32;
	uint8_t fam = (uint8_t)(afi == DM_AFI_IPV6 ? DM_AFI_IPV6 : DM_AFI_IPV4);
	size_t left = cur_left(c);
	out->n = 0;
	out->pfx = NULL;
	out->path_id = NULL;
	if (left == 0)
		return 0;
	/* One pass: every prefix takes at least 1 byte (5 with a path id), which bounds the count.
	 * A malformed prefix ends the list: the prefixes before it are still returned (with the
	 * error), because an observatory should read everything that can be read. */
	size_t max = addpath ? left / 5 + 1 : left;
	out->pfx = arena_alloc(a, max * sizeof *out->pfx);
	if (addpath)
		out->path_id = arena_alloc(a, max * sizeof *out->path_id);
	if (!out->pfx || (addpath && !out->path_id))
		return dm_fail(err, DM_ERR_NOMEM, cur_off(c), "NLRI: %zu bytes of prefixes exceed the record memory limit",
		               left);
	const uint8_t *p = c->p, *end = c->end;
	uint32_t n = 0;
	int rc = 0;
	while (p < end) {
		size_t at = (size_t)(p - c->base);
		if (addpath) {
			if (end - p < 4) {
				rc = dm_fail(err, DM_ERR_BAD_NLRI, at, "NLRI: path identifier truncated (%zu bytes left)",
				             (size_t)(end - p));
				break;
			}
			out->path_id[n] = be32(p);
			p += 4;
			if (p == end) {
				rc = dm_fail(err, DM_ERR_BAD_NLRI, at, "NLRI: prefix length missing after path identifier");
				break;
			}
		}
		unsigned len = *p;
		unsigned nb = (len + 7u) / 8;
		if (len > maxlen) {
			rc = dm_fail(err, DM_ERR_BAD_NLRI, (size_t)(p - c->base), "NLRI: prefix length %u exceeds %u", len,
			             maxlen);
			break;
		}
		if ((size_t)(end - p - 1) < nb) {
			rc = dm_fail(err, DM_ERR_BAD_NLRI, (size_t)(p - c->base), "NLRI: /%u prefix needs %u bytes, %zu left",
			             len, nb, (size_t)(end - p - 1));
			break;
		}
		struct dm_prefix *d = &out->pfx[n++];
		d->afi = fam;
		d->len = (uint8_t)len;
		/* The address bytes as whole words, the bytes past nb cleared by a mask, where the input
		 * holds a full word after the length byte (bytes of the next prefix or attribute are read
		 * but masked off): a byte loop and a memset were a fifth of decoding an update file
		 * (callgrind, issue 12). Bits past len inside the last byte stay as received. */
		if (nb <= 4 && end - p > 4) {
			uint32_t w;
			memcpy(&w, p + 1, 4);
			w &= mask4.w[nb];
			memcpy(d->b, &w, 4);
			memset(d->b + 4, 0, 12);
		} else if (end - p > 16) {
			uint64_t w[2];
			memcpy(w, p + 1, 16);
			w[0] &= mask8.w[nb < 8 ? nb : 8];
			w[1] &= mask8.w[nb > 8 ? nb - 8 : 0];
			memcpy(d->b, w, 16);
		} else {
			memset(d->b, 0, sizeof d->b);
			for (unsigned i = 0; i < nb; i++)
				d->b[i] = p[1 + i];
		}
		p += 1 + nb;
	}
	out->n = n;
	if (n == 0) {
		out->pfx = NULL;
		out->path_id = NULL;
	}
	c->p = c->end;
	return rc;
}
