/* Prefix lists (RFC 4271 §4.3; ADD-PATH RFC 7911 §3). */
#include "bgp/bgp.h"

#include <string.h>

int bgp_nlri_decode(struct cur *c, uint16_t afi, int addpath, struct arena *a, struct nlri_list *out,
                    struct dm_error *err)
{
	unsigned maxlen = afi == DM_AFI_IPV6 ? 128 : 32;
	/* Pass 1: validate and count, so the arrays are allocated once at their exact size.
	 * A malformed prefix ends the list: the prefixes before it are still returned (with the
	 * error), because an observatory should read everything that can be read. */
	uint32_t n = 0;
	int rc = 0;
	for (struct cur s = *c; cur_left(&s);) {
		size_t at = cur_off(&s);
		if (addpath && cur_skip(&s, 4) < 0) {
			rc = dm_fail(err, DM_ERR_BAD_NLRI, at, "NLRI: path identifier truncated (%zu bytes left)", cur_left(&s));
			break;
		}
		uint8_t len;
		if (cur_u8(&s, &len) < 0) {
			rc = dm_fail(err, DM_ERR_BAD_NLRI, at, "NLRI: prefix length missing after path identifier");
			break;
		}
		if (len > maxlen) {
			rc = dm_fail(err, DM_ERR_BAD_NLRI, at, "NLRI: prefix length %u exceeds %u", len, maxlen);
			break;
		}
		if (cur_skip(&s, (len + 7u) / 8) < 0) {
			rc = dm_fail(err, DM_ERR_BAD_NLRI, at, "NLRI: /%u prefix needs %u bytes, %zu left", len,
			             (len + 7u) / 8, cur_left(&s));
			break;
		}
		n++;
	}
	out->n = 0;
	out->pfx = NULL;
	out->path_id = NULL;
	if (n == 0) {
		c->p = c->end;
		return rc;
	}
	out->pfx = arena_alloc(a, n * sizeof *out->pfx);
	if (addpath)
		out->path_id = arena_alloc(a, n * sizeof *out->path_id);
	if (!out->pfx || (addpath && !out->path_id))
		return dm_fail(err, DM_ERR_NOMEM, cur_off(c), "NLRI: %u prefixes exceed the record memory limit", n);
	for (uint32_t i = 0; i < n; i++) {
		if (addpath) {
			out->path_id[i] = be32(c->p);
			c->p += 4;
		}
		struct dm_prefix *p = &out->pfx[i];
		uint8_t len = *c->p++;
		unsigned nb = (len + 7u) / 8;
		memset(p, 0, sizeof *p);
		p->afi = (uint8_t)(afi == DM_AFI_IPV6 ? DM_AFI_IPV6 : DM_AFI_IPV4);
		p->len = len;
		memcpy(p->b, c->p, nb);
		c->p += nb;
	}
	out->n = n;
	c->p = c->end;
	return rc;
}
