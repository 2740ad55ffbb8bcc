/* Path attributes (RFC 4271 §4.3, 5; RFC 4760; RFC 6793; RFC 7606 error handling). */
#include "bgp/bgp.h"

#include <stdio.h>
#include <string.h>

const char *bgp_attr_name(unsigned type)
{
	switch (type) {
	case BGP_ATTR_ORIGIN: return "ORIGIN";
	case BGP_ATTR_AS_PATH: return "AS_PATH";
	case BGP_ATTR_NEXT_HOP: return "NEXT_HOP";
	case BGP_ATTR_MULTI_EXIT_DISC: return "MULTI_EXIT_DISC";
	case BGP_ATTR_LOCAL_PREF: return "LOCAL_PREF";
	case BGP_ATTR_ATOMIC_AGGREGATE: return "ATOMIC_AGGREGATE";
	case BGP_ATTR_AGGREGATOR: return "AGGREGATOR";
	case BGP_ATTR_COMMUNITIES: return "COMMUNITIES";
	case BGP_ATTR_ORIGINATOR_ID: return "ORIGINATOR_ID";
	case BGP_ATTR_CLUSTER_LIST: return "CLUSTER_LIST";
	case BGP_ATTR_MP_REACH_NLRI: return "MP_REACH_NLRI";
	case BGP_ATTR_MP_UNREACH_NLRI: return "MP_UNREACH_NLRI";
	case BGP_ATTR_EXT_COMMUNITIES: return "EXTENDED_COMMUNITIES";
	case BGP_ATTR_AS4_PATH: return "AS4_PATH";
	case BGP_ATTR_AS4_AGGREGATOR: return "AS4_AGGREGATOR";
	case BGP_ATTR_LARGE_COMMUNITIES: return "LARGE_COMMUNITIES";
	case BGP_ATTR_ONLY_TO_CUSTOMER: return "ONLY_TO_CUSTOMER";
	case BGP_ATTR_SET: return "ATTR_SET";
	default: return "unknown";
	}
}

/* Segments of an AS_PATH/AS4_PATH with asn_size-byte ASNs (RFC 4271 §4.3, RFC 6793 §3). */
static int aspath_decode(struct cur *c, unsigned asn_size, struct arena *a, struct as_path *out,
                         struct dm_error *err, const char *name)
{
	size_t len = cur_left(c);
	out->nseg = 0;
	out->asn_size = (uint8_t)asn_size;
	out->seg = NULL;
	if (len == 0)
		return 0;
	/* One pass into arrays sized by upper bounds: a segment takes >= 2 bytes, an ASN asn_size. */
	struct as_seg *seg = arena_alloc(a, (len / 2) * sizeof *seg);
	uint32_t *asn = arena_alloc(a, (len / asn_size + 1) * sizeof *asn);
	if (!seg || !asn)
		return dm_fail(err, DM_ERR_NOMEM, cur_off(c), "BGP attribute %s: too large", name);
	const uint8_t *p = c->p, *end = c->end;
	unsigned nseg = 0;
	while (p < end) {
		size_t at = (size_t)(p - c->base);
		if (end - p < 2)
			return dm_fail(err, DM_ERR_BAD_ATTR, at, "BGP attribute %s: segment header truncated", name);
		unsigned type = p[0], count = p[1];
		p += 2;
		if ((size_t)(end - p) < (size_t)count * asn_size)
			return dm_fail(err, DM_ERR_BAD_ATTR, at, "BGP attribute %s: segment of %u ASNs needs %u bytes, %zu left",
			               name, count, count * asn_size, (size_t)(end - p));
		if (type < AS_SET || type > AS_CONFED_SET)
			return dm_fail(err, DM_ERR_BAD_ATTR, at, "BGP attribute %s: unknown segment type %u", name, type);
		seg[nseg].type = (uint8_t)type;
		seg[nseg].count = (uint8_t)count;
		seg[nseg].asn = asn;
		if (asn_size == 4) {
			for (unsigned k = 0; k < count; k++, p += 4)
				*asn++ = be32(p);
		} else {
			for (unsigned k = 0; k < count; k++, p += 2)
				*asn++ = be16(p);
		}
		nseg++;
	}
	c->p = p;
	out->seg = seg;
	out->nseg = (uint16_t)nseg;
	return 0;
}

/* Next hop of MP_REACH_NLRI: family from its length (RFC 4760 §3; RFC 2545 §3: 16 or 32 for
 * IPv6 with link-local; RFC 5549: IPv6 next hop for IPv4 NLRI; 12/24 with an RD for VPNs). */
static void mp_nexthop(const uint8_t *p, unsigned len, struct bgp_mp_reach *m)
{
	memset(&m->nexthop, 0, sizeof m->nexthop);
	memset(&m->nexthop_ll, 0, sizeof m->nexthop_ll);
	switch (len) {
	case 4:
		m->nexthop.afi = DM_AFI_IPV4;
		memcpy(m->nexthop.b, p, 4);
		break;
	case 12: /* RD + IPv4 */
		m->nexthop.afi = DM_AFI_IPV4;
		memcpy(m->nexthop.b, p + 8, 4);
		break;
	case 16:
	case 32:
		m->nexthop.afi = DM_AFI_IPV6;
		memcpy(m->nexthop.b, p, 16);
		if (len == 32) {
			m->nexthop_ll.afi = DM_AFI_IPV6;
			memcpy(m->nexthop_ll.b, p + 16, 16);
		}
		break;
	case 24: /* RD + IPv6 */
	case 48:
		m->nexthop.afi = DM_AFI_IPV6;
		memcpy(m->nexthop.b, p + 8, 16);
		break;
	default:
		break;
	}
}

static int nlri_family_supported(uint16_t afi, uint8_t safi)
{
	return (afi == DM_AFI_IPV4 || afi == DM_AFI_IPV6) && (safi == DM_SAFI_UNICAST || safi == DM_SAFI_MULTICAST);
}

/* Next-hop lengths of the unicast/multicast families: IPv4 4, or 16/32 for an IPv6 next hop
 * (RFC 8950); IPv6 16, or 32 with a link-local address (RFC 2545 §3). */
static int nexthop_len_ok(uint16_t afi, unsigned len)
{
	return len == 16 || len == 32 || (afi == DM_AFI_IPV4 && len == 4);
}

static int mp_reach_decode(struct cur *c, const struct bgp_ctx *ctx, struct arena *a, struct bgp_mp_reach *m,
                           struct dm_error *err)
{
	size_t at = cur_off(c);
	size_t len = cur_left(c);
	memset(m, 0, sizeof *m);
	/* RFC 6396 §4.3.4: in TABLE_DUMP_V2 RIB entries only the next-hop length and next hop are
	 * written. Some writers still put the full attribute there, so take the abbreviated form
	 * only when its length byte accounts for the whole attribute. */
	if (ctx->mp_reach_abbrev && len >= 1 && c->p[0] == len - 1) {
		m->afi = ctx->afi;
		m->safi = ctx->safi;
		m->nh_len = c->p[0];
		mp_nexthop(c->p + 1, m->nh_len, m);
		c->p = c->end;
		m->nlri_supported = 1;
		return 0;
	}
	uint8_t nhlen, reserved;
	if (cur_u16(c, &m->afi) < 0 || cur_u8(c, &m->safi) < 0 || cur_u8(c, &nhlen) < 0)
		return dm_fail(err, DM_ERR_BAD_ATTR, at, "BGP attribute MP_REACH_NLRI: length %zu too short", len);
	m->nh_len = nhlen;
	if (cur_left(c) < nhlen)
		return dm_fail(err, DM_ERR_BAD_ATTR, at,
		               "BGP attribute MP_REACH_NLRI: next hop length %u exceeds remaining %zu", nhlen, cur_left(c));
	if (nlri_family_supported(m->afi, m->safi) && !nexthop_len_ok(m->afi, nhlen)) {
		/* RFC 7606 §7.11: with the next hop's length wrong, where the NLRI start is unknown */
		c->p = c->end;
		return dm_fail(err, DM_ERR_BAD_ATTR, at, "BGP attribute MP_REACH_NLRI: next hop length %u invalid for AFI %u",
		               nhlen, m->afi);
	}
	mp_nexthop(c->p, nhlen, m);
	c->p += nhlen;
	if (cur_u8(c, &reserved) < 0) {
		/* Some TABLE_DUMP_V2 writers end the attribute after the next hop. */
		if (ctx->mp_reach_abbrev) {
			m->nlri_supported = 1;
			return 0;
		}
		return dm_fail(err, DM_ERR_BAD_ATTR, at, "BGP attribute MP_REACH_NLRI: reserved byte missing");
	}
	m->raw_nlri = c->p;
	m->raw_nlri_len = (uint32_t)cur_left(c);
	if (!nlri_family_supported(m->afi, m->safi)) {
		c->p = c->end;
		return 0;
	}
	m->nlri_supported = 1;
	return ctx->lazy ? bgp_nlri_frame(c, m->afi, ctx->addpath, &m->nlri, err)
	                 : bgp_nlri_decode(c, m->afi, ctx->addpath, a, &m->nlri, err);
}

static int mp_unreach_decode(struct cur *c, const struct bgp_ctx *ctx, struct arena *a, struct bgp_mp_unreach *m,
                             struct dm_error *err)
{
	size_t at = cur_off(c);
	memset(m, 0, sizeof *m);
	if (cur_u16(c, &m->afi) < 0 || cur_u8(c, &m->safi) < 0)
		return dm_fail(err, DM_ERR_BAD_ATTR, at, "BGP attribute MP_UNREACH_NLRI: length %zu too short",
		               cur_left(c));
	if (!nlri_family_supported(m->afi, m->safi)) {
		c->p = c->end;
		return 0;
	}
	m->nlri_supported = 1;
	return ctx->lazy ? bgp_nlri_frame(c, m->afi, ctx->addpath, &m->nlri, err)
	                 : bgp_nlri_decode(c, m->afi, ctx->addpath, a, &m->nlri, err);
}

/* Fixed-length attributes: RFC 7606 §7 lists the lengths; a wrong one is an error. */
static int want_len(struct cur *v, size_t want, unsigned type, struct dm_error *err, size_t at)
{
	if (cur_left(v) != want)
		return dm_fail(err, DM_ERR_BAD_ATTR, at, "BGP attribute %s: length %zu, expected %zu", bgp_attr_name(type),
		               cur_left(v), want);
	return 0;
}

static int want_multiple(struct cur *v, size_t unit, unsigned type, struct dm_error *err, size_t at)
{
	if (cur_left(v) % unit)
		return dm_fail(err, DM_ERR_BAD_ATTR, at, "BGP attribute %s: length %zu is not a multiple of %zu",
		               bgp_attr_name(type), cur_left(v), unit);
	return 0;
}

const char *bgp_err_action_name(unsigned action)
{
	switch (action) {
	case BGP_ERR_NONE: return "none";
	case BGP_ERR_ATTR_DISCARD: return "attribute discard";
	case BGP_ERR_TREAT_AS_WITHDRAW: return "treat-as-withdraw";
	case BGP_ERR_AFISAFI_DISABLE: return "AFI/SAFI disable";
	default: return "session reset";
	}
}

/* RFC 7606 §7 (and RFC 6793 §6 for AS4_*, RFC 8092 §6 large communities, RFC 9234 §5 OTC): the
 * approach a malformed attribute of this type asks for. */
static unsigned attr_action(unsigned type)
{
	switch (type) {
	case BGP_ATTR_ORIGIN:              /* §7.1 */
	case BGP_ATTR_AS_PATH:             /* §7.2 */
	case BGP_ATTR_NEXT_HOP:            /* §7.3 */
	case BGP_ATTR_MULTI_EXIT_DISC:     /* §7.4 */
	case BGP_ATTR_LOCAL_PREF:          /* §7.5 (eBGP or iBGP: an archive does not say; withdraw) */
	case BGP_ATTR_COMMUNITIES:         /* §7.8 */
	case BGP_ATTR_ORIGINATOR_ID:       /* §7.9 */
	case BGP_ATTR_CLUSTER_LIST:        /* §7.10 */
	case BGP_ATTR_EXT_COMMUNITIES:     /* §7.14 */
	case BGP_ATTR_LARGE_COMMUNITIES:
	case BGP_ATTR_ONLY_TO_CUSTOMER:
		return BGP_ERR_TREAT_AS_WITHDRAW;
	case BGP_ATTR_MP_REACH_NLRI:       /* §7.11: the NLRI cannot be trusted */
	case BGP_ATTR_MP_UNREACH_NLRI:     /* §7.12 */
		return BGP_ERR_AFISAFI_DISABLE;
	default:                           /* ATOMIC_AGGREGATE §7.6, AGGREGATOR §7.7, AS4_PATH, AS4_AGGREGATOR */
		return BGP_ERR_ATTR_DISCARD;
	}
}

/* Records one malformed attribute: counts it, raises the UPDATE's action, and names the approach
 * in the first error's text. */
static void attr_error(struct bgp_attrs *o, unsigned action, struct dm_error *first)
{
	o->n_errors++;
	if (action > o->action)
		o->action = (uint8_t)action;
	if (first) {
		size_t n = strlen(first->what);
		snprintf(first->what + n, sizeof first->what - n, " (RFC 7606 %s)", bgp_err_action_name(action));
	}
}

static int decode_one(unsigned type, uint8_t flags, struct cur *v, const struct bgp_ctx *ctx, struct arena *a,
                      struct bgp_attrs *o, struct dm_error *err, size_t at)
{
	size_t len = cur_left(v);
	int rc;
	switch (type) {
	case BGP_ATTR_ORIGIN:
		if ((rc = want_len(v, 1, type, err, at)) < 0)
			return rc;
		o->origin = v->p[0];
		if (o->origin > BGP_ORIGIN_INCOMPLETE)
			return dm_fail(err, DM_ERR_BAD_ATTR, at, "BGP attribute ORIGIN: value %u undefined", o->origin);
		return 0;
	case BGP_ATTR_AS_PATH:
		return aspath_decode(v, ctx->asn_size == 2 ? 2 : 4, a, &o->as_path, err, "AS_PATH");
	case BGP_ATTR_AS4_PATH:
		return aspath_decode(v, 4, a, &o->as4_path, err, "AS4_PATH");
	case BGP_ATTR_NEXT_HOP:
		if ((rc = want_len(v, 4, type, err, at)) < 0)
			return rc;
		o->next_hop.afi = DM_AFI_IPV4;
		memcpy(o->next_hop.b, v->p, 4);
		return 0;
	case BGP_ATTR_MULTI_EXIT_DISC:
		if ((rc = want_len(v, 4, type, err, at)) < 0)
			return rc;
		o->med = be32(v->p);
		return 0;
	case BGP_ATTR_LOCAL_PREF:
		if ((rc = want_len(v, 4, type, err, at)) < 0)
			return rc;
		o->local_pref = be32(v->p);
		return 0;
	case BGP_ATTR_ATOMIC_AGGREGATE:
		return want_len(v, 0, type, err, at);
	case BGP_ATTR_AGGREGATOR:
		/* 6 bytes from a 2-byte speaker, 8 from a 4-byte one: the length says which. */
		if (len == 6) {
			o->aggregator_as = be16(v->p);
			o->aggregator_addr.afi = DM_AFI_IPV4;
			memcpy(o->aggregator_addr.b, v->p + 2, 4);
			return 0;
		}
		if (len == 8) {
			o->aggregator_as = be32(v->p);
			o->aggregator_addr.afi = DM_AFI_IPV4;
			memcpy(o->aggregator_addr.b, v->p + 4, 4);
			return 0;
		}
		return dm_fail(err, DM_ERR_BAD_ATTR, at, "BGP attribute AGGREGATOR: length %zu, expected 6 or 8", len);
	case BGP_ATTR_AS4_AGGREGATOR:
		if ((rc = want_len(v, 8, type, err, at)) < 0)
			return rc;
		o->as4_aggregator_as = be32(v->p);
		o->as4_aggregator_addr.afi = DM_AFI_IPV4;
		memcpy(o->as4_aggregator_addr.b, v->p + 4, 4);
		return 0;
	case BGP_ATTR_COMMUNITIES:
		if ((rc = want_multiple(v, 4, type, err, at)) < 0)
			return rc;
		o->communities = v->p;
		o->n_communities = (uint32_t)(len / 4);
		return 0;
	case BGP_ATTR_EXT_COMMUNITIES:
		if ((rc = want_multiple(v, 8, type, err, at)) < 0)
			return rc;
		o->ext_communities = v->p;
		o->n_ext_communities = (uint32_t)(len / 8);
		return 0;
	case BGP_ATTR_LARGE_COMMUNITIES:
		if ((rc = want_multiple(v, 12, type, err, at)) < 0)
			return rc;
		o->large_communities = v->p;
		o->n_large_communities = (uint32_t)(len / 12);
		return 0;
	case BGP_ATTR_ONLY_TO_CUSTOMER:
		if ((rc = want_len(v, 4, type, err, at)) < 0)
			return rc;
		o->otc = be32(v->p);
		return 0;
	case BGP_ATTR_ORIGINATOR_ID:
		if ((rc = want_len(v, 4, type, err, at)) < 0)
			return rc;
		o->originator_id = be32(v->p);
		return 0;
	case BGP_ATTR_CLUSTER_LIST:
		if ((rc = want_multiple(v, 4, type, err, at)) < 0)
			return rc;
		o->cluster_list = v->p;
		o->n_cluster = (uint32_t)(len / 4);
		return 0;
	case BGP_ATTR_MP_REACH_NLRI:
		return mp_reach_decode(v, ctx, a, &o->mp_reach, err);
	case BGP_ATTR_MP_UNREACH_NLRI:
		return mp_unreach_decode(v, ctx, a, &o->mp_unreach, err);
	default:
		(void)flags;
		return 1; /* kept raw by the caller */
	}
}

int bgp_attrs_index(struct cur *c, const struct bgp_ctx *ctx, struct arena *a, struct bgp_attrs *o)
{
	if (!cur_left(c))
		return -1;
	const uint8_t *raw = c->p;
	uint64_t present = 0;
	int mp = 0;
	memset(&o->next_hop, 0, sizeof o->next_hop);
	o->origin = 0;
	while (cur_left(c)) {
		uint8_t flags, type;
		struct cur v;
		if (bgp_attr_next(c, &flags, &type, &v) < 0)
			return -1;
		uint64_t bit = type < 63 ? BGP_ATTR_BIT(type) : BGP_ATTRS_F_OTHER;
		if (type < 63 && (present & bit))
			return -1;
		present |= bit;
		/* what replay reads besides the RIB's set: ORIGIN and the next hop (decode_one's checks) */
		if (type == BGP_ATTR_ORIGIN) {
			if (cur_left(&v) != 1 || v.p[0] > BGP_ORIGIN_INCOMPLETE)
				return -1;
			o->origin = v.p[0];
		} else if (type == BGP_ATTR_NEXT_HOP) {
			if (cur_left(&v) != 4)
				return -1;
			o->next_hop.afi = DM_AFI_IPV4;
			memcpy(o->next_hop.b, v.p, 4);
		}
		if (type == BGP_ATTR_MP_REACH_NLRI || type == BGP_ATTR_MP_UNREACH_NLRI) {
			if (!mp) {
				memset(&o->mp_reach, 0, sizeof o->mp_reach);
				memset(&o->mp_unreach, 0, sizeof o->mp_unreach);
				mp = 1;
			}
			int rc = type == BGP_ATTR_MP_REACH_NLRI ? mp_reach_decode(&v, ctx, a, &o->mp_reach, NULL)
			                                        : mp_unreach_decode(&v, ctx, a, &o->mp_unreach, NULL);
			if (rc)
				return -1;
		}
	}
	if (!mp) {
		memset(&o->mp_reach, 0, sizeof o->mp_reach);
		memset(&o->mp_unreach, 0, sizeof o->mp_unreach);
	}
	o->raw = raw;
	o->raw_len = (uint32_t)(c->p - raw);
	o->present = present;
	o->as_path.asn_size = (present & BGP_ATTR_BIT(BGP_ATTR_AS_PATH)) ? (ctx->asn_size == 2 ? 2 : 4) : 0;
	o->action = 0;
	o->n_errors = 0;
	o->lazy = BGP_ATTRS_INDEXED;
	o->rib_set = 0;
	return 0;
}

static int attrs_decode(struct cur *c, const struct bgp_ctx *ctx, struct arena *a, struct bgp_attrs *o,
                        struct dm_error *err);

int bgp_attrs_decode(struct cur *c, const struct bgp_ctx *ctx, struct arena *a, struct bgp_attrs *o,
                     struct dm_error *err)
{
	/* The cursor is decoded from a local copy: through the caller's pointer, every byte stored
	 * into the attributes (which may alias anything) made the compiler reload and store it
	 * again, a tenth of the loop's instructions (callgrind, issue 12). */
	struct cur local = *c;
	int rc = attrs_decode(&local, ctx, a, o, err);
	*c = local;
	return rc;
}

static inline __attribute__((always_inline)) int attrs_decode(struct cur *c, const struct bgp_ctx *ctx,
                                                              struct arena *a, struct bgp_attrs *o,
                                                              struct dm_error *err)
{
	memset(o, 0, sizeof *o);
	o->raw = c->p;
	o->raw_len = (uint32_t)cur_left(c);
	int first_err = 0;
	unsigned nother = 0;
	struct bgp_attr_raw other[32];

	while (cur_left(c)) {
		size_t at = cur_off(c);
		uint8_t flags, type;
		uint16_t len;
		/* Attribute header: with 4 bytes left, the longest header (extended length) fits, so it
		 * is read with this one check instead of a check per field (the cursor calls were a
		 * third of the block's decoding, callgrind); the checked reads below handle the end. */
		if (cur_left(c) >= 4) {
			const uint8_t *h = c->p;
			flags = h[0];
			type = h[1];
			if (flags & BGP_ATTR_F_EXTLEN) {
				len = (uint16_t)((unsigned)h[2] << 8 | h[3]);
				c->p += 4;
			} else {
				len = h[2];
				c->p += 3;
			}
		} else if (cur_u8(c, &flags) < 0 || cur_u8(c, &type) < 0) {
			/* RFC 7606 §4: the attribute list cannot be parsed to its end: an MP_REACH_NLRI in
			 * the rest would name routes nobody can locate */
			int rc = dm_fail(first_err ? NULL : err, DM_ERR_BAD_ATTR, at,
			                 "BGP attributes: 1 stray byte at the end");
			attr_error(o, BGP_ERR_SESSION_RESET, first_err ? NULL : err);
			return first_err ? first_err : rc;
		} else if (flags & BGP_ATTR_F_EXTLEN) {
			if (cur_u16(c, &len) < 0)
				goto trunc_len;
		} else {
			uint8_t l8;
			if (cur_u8(c, &l8) < 0)
				goto trunc_len;
			len = l8;
		}
		struct cur v;
		if (cur_take(c, len, &v) < 0) {
			/* RFC 7606 §4: the attribute runs past the block: the rest cannot be framed. */
			int rc = dm_fail(first_err ? NULL : err, DM_ERR_BAD_ATTR, at,
			                 "BGP attribute %s: length %u exceeds remaining %zu", bgp_attr_name(type), len,
			                 cur_left(c));
			attr_error(o, BGP_ERR_SESSION_RESET, first_err ? NULL : err);
			c->p = c->end;
			return first_err ? first_err : rc;
		}
		uint64_t bit = type < 63 ? BGP_ATTR_BIT(type) : BGP_ATTRS_F_OTHER;
		if (type < 63 && (o->present & bit)) {
			/* RFC 7606 §3(g): a repeated attribute is discarded, the first kept; §3(j): a repeated
			 * MP_REACH/MP_UNREACH_NLRI leaves the routes unknown */
			int mp = type == BGP_ATTR_MP_REACH_NLRI || type == BGP_ATTR_MP_UNREACH_NLRI;
			int rc = dm_fail(first_err ? NULL : err, DM_ERR_BAD_ATTR, at, "BGP attribute %s repeated",
			                 bgp_attr_name(type));
			attr_error(o, mp ? BGP_ERR_SESSION_RESET : BGP_ERR_ATTR_DISCARD, first_err ? NULL : err);
			if (!first_err)
				first_err = rc;
			continue;
		}
		int rc = decode_one(type, flags, &v, ctx, a, o, first_err ? NULL : err, at);
		if (rc == 1) {
			if (nother < sizeof other / sizeof other[0])
				other[nother++] = (struct bgp_attr_raw){ flags, type, len, v.p };
			o->present |= bit;
			continue;
		}
		if (rc < 0) {
			/* A bad prefix inside MP_(UN)REACH keeps the prefixes before it (see nlri.c): they are
			 * withdrawn like the rest of the UPDATE's announcements. */
			attr_error(o, attr_action(type), first_err ? NULL : err);
			if (!first_err)
				first_err = rc;
			continue; /* framing is intact: go on with the next attribute */
		}
		o->present |= bit;
		continue;
	trunc_len:
		rc = dm_fail(first_err ? NULL : err, DM_ERR_BAD_ATTR, at, "BGP attribute %s: length field truncated",
		             bgp_attr_name(type));
		attr_error(o, BGP_ERR_SESSION_RESET, first_err ? NULL : err);
		return first_err ? first_err : rc;
	}
	if (nother) {
		o->other = arena_alloc(a, nother * sizeof *o->other);
		if (o->other) {
			memcpy(o->other, other, nother * sizeof *o->other);
			o->n_other = (uint16_t)nother;
		}
	}
	/* RFC 6793 §4.2.3: a 2-byte speaker's AS4_PATH restores the 4-byte ASNs hidden by AS_TRANS. */
	if (ctx->asn_size == 2 && (o->present & BGP_ATTR_BIT(BGP_ATTR_AS4_PATH)))
		as_path_merge(&o->as_path, &o->as4_path, a, &o->path);
	else
		o->path = o->as_path;
	return first_err;
}

/* ---- lazy decoding of a whole block (issue 12) ---------------------------------------------- */

/* The checks aspath_decode makes, without storing the path (RFC 4271 §4.3: segment type 1-4,
 * count ASNs of asn_size bytes each). Sets the origin AS as as_path_origin would find it in
 * this path alone. 0 or -1. Inlined: the frame checks every block's path here now that replay
 * decodes none, and the call was 1-2% of decoding (callgrind, issue 12). */
static inline __attribute__((always_inline)) int aspath_check(const uint8_t *p, const uint8_t *end, unsigned asn_size,
                                                             uint32_t *origin, uint8_t *oset)
{
	*origin = 0;
	*oset = 0;
	while (p < end) {
		if (end - p < 2)
			return -1;
		unsigned type = p[0], count = p[1];
		p += 2;
		if ((size_t)(end - p) < (size_t)count * asn_size || type < AS_SET || type > AS_CONFED_SET)
			return -1;
		p += (size_t)count * asn_size;
		/* as_path_origin: the last ASN of the last segment outside confederations */
		if (count && (type == AS_SET || type == AS_SEQUENCE)) {
			*origin = asn_size == 4 ? be32(p - 4) : be16(p - 2);
			*oset = type == AS_SET;
		}
	}
	return 0;
}

/* What the frame has read when its loop starts: the head's attributes (frame_head). */
struct frame_head {
	uint64_t present;
	uint32_t origin_asn;
	uint8_t origin, oset;
};

/* The head nearly every block has: ORIGIN, then AS_PATH, then NEXT_HOP (RFC 4271's order of
 * types; the only other lengths they can have are errors, which the loop reports): the same
 * checks as bgp_attrs_frame's loop, without its dispatch by type. Returns where the loop goes
 * on (anything else, and whatever follows), or NULL for a problem. */
static inline __attribute__((always_inline)) const uint8_t *frame_head(const uint8_t *raw, const uint8_t *p,
                                                                       const uint8_t *end, unsigned asz, int paths,
                                                                       struct bgp_attrs *o, struct frame_head *h)
{
	memset(&o->next_hop, 0, sizeof o->next_hop);   /* set below when NEXT_HOP is met */
	if (end - p >= 4 && p[1] == BGP_ATTR_ORIGIN && !(p[0] & BGP_ATTR_F_EXTLEN) && p[2] == 1) {
		if (p[3] > BGP_ORIGIN_INCOMPLETE)
			return NULL;
		h->origin = p[3];
		h->present = BGP_ATTR_BIT(BGP_ATTR_ORIGIN);
		p += 4;
		if (end - p >= 4 && p[1] == BGP_ATTR_AS_PATH && !paths) {   /* either length form */
			size_t len;
			const uint8_t *v;
			if (p[0] & BGP_ATTR_F_EXTLEN) {
				len = be16(p + 2);
				v = p + 4;
			} else {
				len = p[2];
				v = p + 3;
			}
			if ((size_t)(end - v) < len || aspath_check(v, v + len, asz, &h->origin_asn, &h->oset) < 0)
				return NULL;
			o->ix_as_path = (struct bgp_attr_ix){ p[0], BGP_ATTR_AS_PATH, (uint16_t)len, (uint16_t)(v - raw) };
			h->present |= BGP_ATTR_BIT(BGP_ATTR_AS_PATH);
			p = v + len;
			if (end - p >= 7 && p[1] == BGP_ATTR_NEXT_HOP && !(p[0] & BGP_ATTR_F_EXTLEN) && p[2] == 4) {
				o->next_hop.afi = DM_AFI_IPV4;
				memcpy(o->next_hop.b, p + 3, 4);
				h->present |= BGP_ATTR_BIT(BGP_ATTR_NEXT_HOP);
				p += 7;
			}
		}
	}
	return p;
}

/* What the frame sets once the block is read (bgp.h, bgp_attrs_frame), the paths' decoding and
 * the RFC 6793 merge aside. */
static inline __attribute__((always_inline)) void frame_store(struct bgp_attrs *o, const uint8_t *raw, size_t n,
                                                             uint64_t present, uint8_t origin,
                                                             uint32_t origin_asn, uint8_t oset, unsigned asz,
                                                             int paths)
{
	if (!(present & BGP_ATTR_BIT(BGP_ATTR_MP_REACH_NLRI))) {
		/* in two parts, each small enough for GCC to clear with straight stores: whole, it
		 * became a loop of 64 bytes a turn and a tail (15 instructions for 8 stores) */
		_Static_assert(sizeof o->mp_reach > 64 && sizeof o->mp_reach <= 128, "two parts");
		memset(&o->mp_reach, 0, 64);
		memset((char *)&o->mp_reach + 64, 0, sizeof o->mp_reach - 64);
	}
	if (!(present & BGP_ATTR_BIT(BGP_ATTR_MP_UNREACH_NLRI)))
		memset(&o->mp_unreach, 0, sizeof o->mp_unreach);
	o->present = present;
	o->origin = origin;
	o->raw = raw;
	o->raw_len = (uint32_t)n;
	/* the entries of the two paths were stored as they were met (a block that fails is decoded
	 * whole, which sets them anew): the absent ones are cleared here */
	if (!(present & BGP_ATTR_BIT(BGP_ATTR_AS_PATH)))
		o->ix_as_path = (struct bgp_attr_ix){ 0, 0, 0, 0 };
	if (!(present & BGP_ATTR_BIT(BGP_ATTR_AS4_PATH)))
		o->ix_as4_path = (struct bgp_attr_ix){ 0, 0, 0, 0 };
	/* path copied from a local, not read back from as_path: a 16-byte load of the three fields
	 * just stored one by one cannot be forwarded from the stores and waits for them to retire
	 * (a sixth of this function's samples on an AMD EPYC of family 25, perf) */
	struct as_path path = { NULL, 0, (uint8_t)((present & BGP_ATTR_BIT(BGP_ATTR_AS_PATH)) ? asz : 0) };
	if (paths && (present & BGP_ATTR_BIT(BGP_ATTR_AS_PATH)))
		path = o->as_path;
	o->as_path = path;
	if (!paths || !(present & BGP_ATTR_BIT(BGP_ATTR_AS4_PATH)))
		o->as4_path = (struct as_path){ NULL, 0, 0 };
	o->path = path;
	o->path_todo = !paths && (present & (BGP_ATTR_BIT(BGP_ATTR_AS_PATH) | BGP_ATTR_BIT(BGP_ATTR_AS4_PATH)));
	o->origin_asn = origin_asn;
	o->origin_asn_set = oset;
	/* the list attributes read as empty: their bytes are in the index */
	o->n_communities = o->n_ext_communities = o->n_large_communities = o->n_cluster = 0;
	o->n_other = 0;
	o->other = NULL;
	o->n_errors = 0;
	o->action = BGP_ERR_NONE;
	o->lazy = BGP_ATTRS_FRAMED;
	o->rib_set = 0;
}

int bgp_attrs_frame(struct cur *c, const struct bgp_ctx *ctx, struct arena *a, struct bgp_attrs *o)
{
	const uint8_t *raw = c->p, *p = c->p, *end = c->end;
	size_t n = (size_t)(end - p);
	unsigned asz = ctx->asn_size == 2 ? 2 : 4;
	int paths = ctx->lazy == BGP_LAZY_PATHS;
	struct frame_head h = { 0, 0, 0, 0 };
	if (!(p = frame_head(raw, p, end, asz, paths, o, &h)))
		return -1;
	uint64_t present = h.present;
	uint8_t origin = h.origin, oset = h.oset;
	uint32_t origin_asn = h.origin_asn;
	while (p < end) {
		/* attribute header (RFC 4271 §4.3), as attrs_decode frames it */
		if (end - p < 3)
			return -1;
		uint8_t flags = p[0], type = p[1];
		size_t len;
		if (flags & BGP_ATTR_F_EXTLEN) {
			if (end - p < 4)
				return -1;
			len = be16(p + 2);
			p += 4;
		} else {
			len = p[2];
			p += 3;
		}
		if ((size_t)(end - p) < len)
			return -1;
		const uint8_t *v = p;
		p += len;
		uint64_t bit = type < 63 ? BGP_ATTR_BIT(type) : BGP_ATTRS_F_OTHER;
		if (type < 63 && (present & bit))
			return -1;   /* RFC 7606 §3(g), §3(j): a repeat is reported */
		present |= bit;
		/* decode_one's checks, type by type (RFC 7606 §7). The common types by tests in the
		 * order blocks hold them, the lengths alone by masks, the rare ones by the switch: its
		 * jump table's indirect branch, taken for every attribute, was 6% of decoding an update
		 * file (perf, AMD EPYC family 25). */
		if (type == BGP_ATTR_ORIGIN) {
			if (len != 1 || v[0] > BGP_ORIGIN_INCOMPLETE)
				return -1;
			origin = v[0];
			continue;
		}
		if (type == BGP_ATTR_AS_PATH) {
			if (paths) {   /* decoding checks it (one walk of the segments, not two) */
				struct cur vc = { v, v + len, c->base };
				if (aspath_decode(&vc, asz, a, &o->as_path, NULL, "AS_PATH") < 0)
					return -1;
			} else if (aspath_check(v, v + len, asz, &origin_asn, &oset) < 0) {
				return -1;
			}
			o->ix_as_path = (struct bgp_attr_ix){ flags, type, (uint16_t)len, (uint16_t)(v - raw) };
			continue;
		}
		if (type == BGP_ATTR_NEXT_HOP) {
			if (len != 4)
				return -1;
			o->next_hop.afi = DM_AFI_IPV4;
			memcpy(o->next_hop.b, v, 4);
			continue;
		}
		if (bit & (BGP_ATTR_BIT(BGP_ATTR_MULTI_EXIT_DISC) | BGP_ATTR_BIT(BGP_ATTR_LOCAL_PREF) |
		           BGP_ATTR_BIT(BGP_ATTR_ORIGINATOR_ID) | BGP_ATTR_BIT(BGP_ATTR_ONLY_TO_CUSTOMER))) {
			if (len != 4)
				return -1;
			continue;
		}
		if (bit & (BGP_ATTR_BIT(BGP_ATTR_COMMUNITIES) | BGP_ATTR_BIT(BGP_ATTR_CLUSTER_LIST))) {
			if (len % 4)
				return -1;
			continue;
		}
		switch (type) {
		case BGP_ATTR_AS4_PATH: {
			uint32_t o4;
			uint8_t s4;
			if (paths) {
				struct cur vc = { v, v + len, c->base };
				if (aspath_decode(&vc, 4, a, &o->as4_path, NULL, "AS4_PATH") < 0)
					return -1;
			} else if (aspath_check(v, v + len, 4, &o4, &s4) < 0) {
				return -1;
			}
			o->ix_as4_path = (struct bgp_attr_ix){ flags, type, (uint16_t)len, (uint16_t)(v - raw) };
			break;
		}
		case BGP_ATTR_ATOMIC_AGGREGATE:
			if (len != 0)
				return -1;
			break;
		case BGP_ATTR_AGGREGATOR:
			if (len != 6 && len != 8)
				return -1;
			break;
		case BGP_ATTR_AS4_AGGREGATOR:
			if (len != 8)
				return -1;
			break;
		case BGP_ATTR_EXT_COMMUNITIES:
			if (len % 8)
				return -1;
			break;
		case BGP_ATTR_LARGE_COMMUNITIES:
			if (len % 12)
				return -1;
			break;
		case BGP_ATTR_MP_REACH_NLRI:
		case BGP_ATTR_MP_UNREACH_NLRI: {
			/* decoded now: their prefixes are the UPDATE's elements */
			struct cur vc = { v, v + len, c->base };
			int rc = type == BGP_ATTR_MP_REACH_NLRI ? mp_reach_decode(&vc, ctx, a, &o->mp_reach, NULL)
			                                        : mp_unreach_decode(&vc, ctx, a, &o->mp_unreach, NULL);
			if (rc)
				return -1;
			break;
		}
		default:
			break;
		}
	}
	c->p = end;
	frame_store(o, raw, n, present, origin, origin_asn, oset, asz, paths);
	/* RFC 6793 §4.2.3: a 2-byte speaker's AS4_PATH changes the path and maybe its origin: those
	 * blocks (archives of 2007-2015 mostly) have their paths decoded now. */
	if (asz == 2 && (present & BGP_ATTR_BIT(BGP_ATTR_AS4_PATH))) {
		/* merged even when AS_PATH is absent, as attrs_decode does */
		if (paths) {
			if (as_path_merge(&o->as_path, &o->as4_path, a, &o->path) < 0)
				return -1;
		} else {
			o->path_todo = 2;
			if (bgp_attrs_path(o, a) < 0)
				return -1;
		}
	}
	if (!o->path_todo) {
		/* the path is decoded: its origin AS (as_path_origin), from the last segment where it
		 * is the origin's (a call per UPDATE was 0.5% of replay, callgrind) */
		const struct as_seg *ls = o->path.nseg ? &o->path.seg[o->path.nseg - 1] : NULL;
		if (ls && ls->count && (ls->type == AS_SEQUENCE || ls->type == AS_SET)) {
			o->origin_asn = ls->asn[ls->count - 1];
			o->origin_asn_set = ls->type == AS_SET;
		} else {
			int is_set = 0;
			o->origin_asn = as_path_origin(&o->path, &is_set);
			o->origin_asn_set = (uint8_t)is_set;
		}
	}
	return 0;
}

/* bgp.h: the head alone finished here, anything else by bgp_attrs_frame */
int bgp_attrs_frame_short(struct cur *c, const struct bgp_ctx *ctx, struct arena *a, struct bgp_attrs *o)
{
	const uint8_t *raw = c->p, *end = c->end;
	unsigned asz = ctx->asn_size == 2 ? 2 : 4;
	int paths = ctx->lazy == BGP_LAZY_PATHS;
	struct frame_head h = { 0, 0, 0, 0 };
	const uint8_t *p = frame_head(raw, raw, end, asz, paths, o, &h);
	/* the head was the whole block, with a path (its decoding waits: path_todo) */
	if (p == end && (h.present & BGP_ATTR_BIT(BGP_ATTR_AS_PATH))) {
		c->p = end;
		frame_store(o, raw, (size_t)(end - raw), h.present, h.origin, h.origin_asn, h.oset, asz, 0);
		return 0;
	}
	return bgp_attrs_frame(c, ctx, a, o);   /* from the start: a problem is its to find */
}

int bgp_attrs_find(const struct bgp_attrs *a, unsigned type, struct cur *val)
{
	/* the block framed again: an index entry per attribute, kept for this, cost more than the
	 * frame saved (callgrind, issue 12); the paths' entries are kept (bgp_attrs_path) */
	if (!a->raw)
		return 0;
	struct cur c = cur_make(a->raw, a->raw_len);
	uint8_t flags, t;
	while (cur_left(&c) && bgp_attr_next(&c, &flags, &t, val) == 0)
		if (t == type)
			return 1;
	return 0;
}

int bgp_attrs_path(struct bgp_attrs *o, struct arena *ar)
{
	if (o->lazy != BGP_ATTRS_FRAMED || !o->path_todo)
		return 0;
	int merge = o->path_todo == 2;
	o->path_todo = 0;
	uint8_t asz = o->as_path.asn_size;
	/* checked by bgp_attrs_frame: only the arena can fail here */
	if (o->ix_as_path.type) {
		const struct bgp_attr_ix *x = &o->ix_as_path;
		struct cur v = { o->raw + x->off, o->raw + x->off + x->len, o->raw };
		if (aspath_decode(&v, asz, ar, &o->as_path, NULL, "AS_PATH") < 0)
			return DM_ERR_NOMEM;
	}
	if (o->ix_as4_path.type) {
		const struct bgp_attr_ix *x = &o->ix_as4_path;
		struct cur v = { o->raw + x->off, o->raw + x->off + x->len, o->raw };
		if (aspath_decode(&v, 4, ar, &o->as4_path, NULL, "AS4_PATH") < 0)
			return DM_ERR_NOMEM;
	}
	o->as_path.asn_size = asz;
	if (merge)
		return as_path_merge(&o->as_path, &o->as4_path, ar, &o->path);   /* origin set by the frame */
	o->path = o->as_path;   /* the origin AS is the AS_PATH's, set by the frame */
	return 0;
}

uint32_t bgp_attrs_origin_as_(const struct bgp_attrs *a, int *is_set)
{
	if (a->lazy == BGP_ATTRS_INDEXED) {   /* a RIB entry's block (4-byte ASNs, no merge): its bytes */
		struct cur v;
		uint32_t o = 0;
		uint8_t set = 0;
		if (bgp_attrs_find(a, BGP_ATTR_AS_PATH, &v) && aspath_check(v.p, v.end, 4, &o, &set) < 0)
			o = set = 0;
		if (is_set)
			*is_set = set;
		return o;
	}
	return as_path_origin(&a->path, is_set);
}

unsigned bgp_attrs_path_tail(const struct bgp_attrs *a, uint32_t *asn, unsigned k)
{
	unsigned total = 0, n = 0;
	struct cur v;
	if ((a->lazy == BGP_ATTRS_FRAMED && a->path_todo) || a->lazy == BGP_ATTRS_INDEXED) {
		/* from the AS_PATH bytes: count, then copy the last k */
		uint32_t o;
		uint8_t set;
		unsigned asz = a->lazy == BGP_ATTRS_INDEXED ? 4 : a->as_path.asn_size;
		if (!bgp_attrs_find(a, BGP_ATTR_AS_PATH, &v) || aspath_check(v.p, v.end, asz, &o, &set) < 0)
			return 0;   /* (checked already when framed; an indexed block was not) */
		for (const uint8_t *p = v.p; p < v.end; p += 2 + (size_t)p[1] * asz)
			total += p[1];
		unsigned skip = total > k ? total - k : 0;
		for (const uint8_t *p = v.p; p < v.end; p += 2 + (size_t)p[1] * asz) {
			unsigned cnt = p[1];
			if (skip >= cnt) {
				skip -= cnt;
				continue;
			}
			for (unsigned i = skip; i < cnt; i++)
				asn[n++] = asz == 4 ? be32(p + 2 + 4 * i) : be16(p + 2 + 2 * i);
			skip = 0;
		}
		return n;
	}
	for (unsigned s = 0; s < a->path.nseg; s++)
		total += a->path.seg[s].count;
	unsigned skip = total > k ? total - k : 0;
	for (unsigned s = 0; s < a->path.nseg; s++) {
		const struct as_seg *sg = &a->path.seg[s];
		for (unsigned i = 0; i < sg->count; i++) {
			if (skip) {
				skip--;
				continue;
			}
			asn[n++] = sg->asn[i];
		}
	}
	return n;
}

unsigned bgp_attrs_path_flat(const struct bgp_attrs *a, uint32_t *asn, unsigned max)
{
	unsigned n = 0;
	if (a->lazy == BGP_ATTRS_FRAMED && a->path_todo == 1) {
		/* not decoded, no RFC 6793 merge: the path is the AS_PATH, checked by the frame */
		const struct bgp_attr_ix *x = &a->ix_as_path;
		unsigned asz = a->as_path.asn_size;
		if (!x->type)
			return 0;
		const uint8_t *p = a->raw + x->off, *end = p + x->len;
		while (p < end && n < max) {
			unsigned cnt = p[1];
			p += 2;
			for (unsigned k = 0; k < cnt && n < max; k++)
				asn[n++] = asz == 4 ? be32(p + 4 * k) : be16(p + 2 * k);
			p += (size_t)cnt * asz;
		}
		return n;
	}
	for (unsigned s = 0; s < a->path.nseg && n < max; s++) {
		const struct as_seg *sg = &a->path.seg[s];
		for (unsigned k = 0; k < sg->count && n < max; k++)
			asn[n++] = sg->asn[k];
	}
	return n;
}

const struct dm_ip *bgp_attrs_next_hop(const struct bgp_attrs *a, uint16_t afi)
{
	/* IPv4 routes: NEXT_HOP, or an MP_REACH next hop (RFC 5549) when there is none. */
	if (afi == DM_AFI_IPV4 && a->next_hop.afi)
		return &a->next_hop;
	if (a->mp_reach.nexthop.afi)
		return &a->mp_reach.nexthop;
	if (a->next_hop.afi)
		return &a->next_hop;
	return NULL;
}
