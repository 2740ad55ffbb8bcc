/* BGP messages (RFC 4271 §4): header, UPDATE, OPEN, NOTIFICATION. */
#include "bgp/bgp.h"

#include <stdio.h>
#include <string.h>

/* An UPDATE that ends before its attributes: they are cleared here, where bgp_attrs_decode (which
 * clears them) is not reached. Clearing the 376 bytes on every UPDATE as well was 2% of decoding
 * an update file (callgrind, issue 12). */
static int no_attrs(struct bgp_update *u, int rc)
{
	memset(&u->attrs, 0, sizeof u->attrs);
	return rc;
}

/* The fields of an UPDATE set before its parts are decoded (the attributes by their decoder). */
static inline void update_start(struct bgp_update *u, uint16_t attrs_len)
{
	u->attrs_len = attrs_len;
	u->attr_err = u->nlri_err = 0;
	u->addpath_guessed = 0;
	u->withdrawn.n = u->announced.n = 0;
	u->withdrawn.pfx = u->announced.pfx = NULL;
	u->withdrawn.path_id = u->announced.path_id = NULL;
	u->withdrawn.raw = u->announced.raw = NULL;
}

/* Inlined into bgp_update_decode (twice: the ADD-PATH retry), a call layer less per UPDATE. */
static inline __attribute__((always_inline)) int update_decode(struct cur *c, const struct bgp_ctx *ctx,
                                                              struct arena *a, struct bgp_update *u,
                                                              struct dm_error *err)
{
	/* every field is set below (attrs by bgp_attrs_decode or no_attrs): no memset of the struct */
	update_start(u, 0);
	uint16_t wlen, alen;
	size_t at = cur_off(c);
	struct cur w, attrs;
	if (cur_u16(c, &wlen) < 0)
		return no_attrs(u, dm_fail(err, DM_ERR_TRUNCATED, at, "BGP UPDATE: withdrawn routes length missing"));
	if (cur_take(c, wlen, &w) < 0)
		return no_attrs(u, dm_fail(err, DM_ERR_BAD_LENGTH, at,
		                           "BGP UPDATE: withdrawn routes length %u exceeds remaining %zu", wlen, cur_left(c)));
	at = cur_off(c);
	if (cur_u16(c, &alen) < 0)
		return no_attrs(u, dm_fail(err, DM_ERR_TRUNCATED, at, "BGP UPDATE: path attribute length missing"));
	if (cur_take(c, alen, &attrs) < 0)
		return no_attrs(u, dm_fail(err, DM_ERR_BAD_LENGTH, at,
		                           "BGP UPDATE: path attribute length %u exceeds remaining %zu", alen, cur_left(c)));
	u->attrs_len = alen;
	/* Problems below leave the update usable (the function returns 0): they are in attr_err and
	 * nlri_err, and the first one is described in err. */
	struct dm_error e1, e2, e3;
	/* Lazy (replay): the prefix lists are checked, not stored (bgp_nlri_frame): the elements
	 * read them from the bytes. */
	int rw = ctx->lazy ? bgp_nlri_frame(&w, DM_AFI_IPV4, ctx->addpath, &u->withdrawn, &e1)
	                   : bgp_nlri_decode(&w, DM_AFI_IPV4, ctx->addpath, a, &u->withdrawn, &e1);
	/* Lazy (replay): a block that frames cleanly is not decoded; one with a problem is decoded
	 * whole, so that its errors and RFC 7606 action are eager decoding's. */
	struct cur attrs0 = attrs;
	if (ctx->lazy && bgp_attrs_frame(&attrs, ctx, a, &u->attrs) == 0)
		u->attr_err = 0;
	else
		u->attr_err = bgp_attrs_decode(&attrs0, ctx, a, &u->attrs, &e2);
	int rn = ctx->lazy ? bgp_nlri_frame(c, DM_AFI_IPV4, ctx->addpath, &u->announced, &e3)
	                   : bgp_nlri_decode(c, DM_AFI_IPV4, ctx->addpath, a, &u->announced, &e3);
	u->nlri_err = rw ? rw : rn;
	/* RFC 7606 §5.3: a withdrawn-routes or NLRI field that does not parse cannot be handled by
	 * treat-as-withdraw for the prefixes after the error: session reset. */
	if (u->nlri_err && u->attrs.action < BGP_ERR_SESSION_RESET)
		u->attrs.action = BGP_ERR_SESSION_RESET;
	if (err) {
		if (rw)
			*err = e1;
		else if (u->attr_err)
			*err = e2;
		else if (rn)
			*err = e3;
		if (rw || (!u->attr_err && rn)) {
			size_t n = strlen(err->what);
			snprintf(err->what + n, sizeof err->what - n, " (RFC 7606 %s)",
			         bgp_err_action_name(BGP_ERR_SESSION_RESET));
		}
	}
	return 0;
}

int bgp_update_decode(struct cur *c, const struct bgp_ctx *ctx, struct arena *a, struct bgp_update *u,
                      struct dm_error *err)
{
	struct cur start = *c;
	int rc = update_decode(c, ctx, a, u, err);
	if (rc < 0)
		return rc;
	/* RFC 7911 path identifiers are announced by capability; MRT says so by subtype (RFC 8050).
	 * Some writers (BIRD 2017) put path ids in plain MESSAGE_AS4 records: when the prefixes only
	 * parse with path ids, decode them that way and say so. */
	int nlri_problem = u->nlri_err || (u->attr_err == DM_ERR_BAD_NLRI);
	if (!ctx->addpath && nlri_problem) {
		struct bgp_ctx with = *ctx;
		struct bgp_update u2;
		struct cur c2 = start;
		with.addpath = 1;
		if (update_decode(&c2, &with, a, &u2, NULL) == 0 && !u2.nlri_err && u2.attr_err != DM_ERR_BAD_NLRI) {
			*u = u2;
			*c = c2;
			u->addpath_guessed = 1;
			return 0;
		}
	}
	return rc;
}

/* Inlined into its caller (mrt.c's one-record path) at link time: as a call, its prologue and
 * epilogue were a fifth of its instructions (callgrind, issue 12). */
__attribute__((always_inline)) inline int bgp_update_decode_clean(const uint8_t *p, const uint8_t *end,
                                                                  const uint8_t *base, const struct bgp_ctx *ctx,
                                                                  struct arena *a, struct bgp_update *u)
{
	/* the three fields' lengths, with one look each (update_decode's cursor calls, its error
	 * texts and the ADD-PATH retry are for the records that fail here) */
	size_t n = (size_t)(end - p);
	if (n < 4)
		return -1;
	size_t wlen = be16(p);
	if (n - 4 < wlen)
		return -1;
	const uint8_t *ap = p + 2 + wlen;
	size_t alen = be16(ap);
	if ((size_t)(end - ap) - 2 < alen)
		return -1;
	struct cur w = { p + 2, ap, base }, attrs = { ap + 2, ap + 2 + alen, base }, nlri = { ap + 2 + alen, end, base };
	update_start(u, (uint16_t)alen);   /* as update_decode sets them */
	struct dm_error e;
	if (ctx->lazy)
		return bgp_nlri_frame(&w, DM_AFI_IPV4, ctx->addpath, &u->withdrawn, &e) ||
		               bgp_attrs_frame(&attrs, ctx, a, &u->attrs) ||
		               bgp_nlri_frame(&nlri, DM_AFI_IPV4, ctx->addpath, &u->announced, &e)
		           ? -1
		           : 0;
	return bgp_nlri_decode(&w, DM_AFI_IPV4, ctx->addpath, a, &u->withdrawn, &e) ||
	               bgp_attrs_decode(&attrs, ctx, a, &u->attrs, &e) ||
	               bgp_nlri_decode(&nlri, DM_AFI_IPV4, ctx->addpath, a, &u->announced, &e)
	           ? -1
	           : 0;
}

int bgp_msg_decode(struct cur *c, const struct bgp_ctx *ctx, struct arena *a, struct bgp_msg *m,
                   struct dm_error *err)
{
	size_t at = cur_off(c);
	m->type = 0;
	m->len = 0;
	if (cur_left(c) < BGP_HEADER_LEN)
		return dm_fail(err, DM_ERR_TRUNCATED, at, "BGP message header truncated: %zu of 19 bytes", cur_left(c));
	if (!bgp_is_marker(c->p))
		return dm_fail(err, DM_ERR_BAD_VALUE, at, "BGP message marker is not all ones");
	c->p += 16;
	cur_u16(c, &m->len);
	cur_u8(c, &m->type);
	if (m->len < BGP_HEADER_LEN)
		return dm_fail(err, DM_ERR_BAD_LENGTH, at, "BGP message length %u below the 19-byte header", m->len);
	struct cur body;
	if (cur_take(c, m->len - BGP_HEADER_LEN, &body) < 0)
		return dm_fail(err, DM_ERR_BAD_LENGTH, at, "BGP message length %u exceeds remaining %zu", m->len,
		               cur_left(c) + BGP_HEADER_LEN);
	switch (m->type) {
	case BGP_MSG_UPDATE:
		return bgp_update_decode(&body, ctx, a, &m->u.update, err);
	case BGP_MSG_OPEN: {
		struct bgp_open *o = &m->u.open;
		memset(o, 0, sizeof *o);
		uint32_t id;
		if (cur_u8(&body, &o->version) < 0 || cur_u16(&body, &o->my_as) < 0 || cur_u16(&body, &o->hold_time) < 0 ||
		    cur_u32(&body, &id) < 0 || cur_u8(&body, &o->opt_len) < 0)
			return dm_fail(err, DM_ERR_TRUNCATED, at, "BGP OPEN truncated");
		o->bgp_id = id;
		o->opt = body.p;
		if (cur_left(&body) < o->opt_len)
			return dm_fail(err, DM_ERR_BAD_LENGTH, at, "BGP OPEN: optional parameters length %u exceeds %zu",
			               o->opt_len, cur_left(&body));
		/* RFC 5492 capabilities: 4-octet AS (RFC 6793), ADD-PATH (RFC 7911 §4). */
		struct cur op;
		cur_take(&body, o->opt_len, &op);
		while (cur_left(&op) >= 2) {
			uint8_t pt = 0, pl = 0;
			cur_u8(&op, &pt);
			cur_u8(&op, &pl);
			struct cur pv;
			if (cur_take(&op, pl, &pv) < 0)
				break;
			while (pt == 2 && cur_left(&pv) >= 2) {
				uint8_t code = 0, clen = 0;
				cur_u8(&pv, &code);
				cur_u8(&pv, &clen);
				struct cur cv;
				if (cur_take(&pv, clen, &cv) < 0)
					break;
				if (code == BGP_CAP_AS4 && clen == 4)
					o->as4 = be32(cv.p);
				/* ADD-PATH: (AFI 2, SAFI 1, send/receive 1) tuples */
				while (code == BGP_CAP_ADDPATH && cur_left(&cv) >= 4) {
					uint16_t afi = be16(cv.p);
					if (cv.p[2] == DM_SAFI_UNICAST && (afi == DM_AFI_IPV4 || afi == DM_AFI_IPV6))
						o->addpath[afi] = cv.p[3] & (BGP_ADDPATH_RECEIVE | BGP_ADDPATH_SEND);
					cv.p += 4;
				}
			}
		}
		return 0;
	}
	case BGP_MSG_NOTIFICATION: {
		struct bgp_notification *n = &m->u.notification;
		memset(n, 0, sizeof *n);
		if (cur_u8(&body, &n->code) < 0 || cur_u8(&body, &n->subcode) < 0)
			return dm_fail(err, DM_ERR_TRUNCATED, at, "BGP NOTIFICATION truncated");
		n->data = body.p;
		n->data_len = (uint16_t)cur_left(&body);
		return 0;
	}
	case BGP_MSG_KEEPALIVE:
	case BGP_MSG_ROUTE_REFRESH:
		return 0;
	default:
		return dm_fail(err, DM_ERR_BAD_TYPE, at, "BGP message type %u unknown", m->type);
	}
}
