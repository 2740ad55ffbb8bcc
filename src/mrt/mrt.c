/* MRT record bodies (RFC 6396 §4, RFC 8050, and the deprecated types real archives hold). */
#include "mrt/mrt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ARENA_LIMIT = 512 << 20 };

void mrt_ctx_init(struct mrt_ctx *ctx)
{
	ctx->peer_index = NULL;
	ctx->lazy_rib_attrs = ctx->lazy_now = 0;   /* every attribute decoded unless asked */
	ctx->lazy_attrs = 0;
	ctx->lazy_td1 = ctx->lazy_td1_now = ctx->td1_late = 0;
	ctx->careful = 0;
	arena_init(&ctx->arena, ARENA_LIMIT);
}

static void peer_index_free(struct mrt_peer_index *pi)
{
	if (pi) {
		free(pi->peers);
		free(pi);
	}
}

void mrt_ctx_free(struct mrt_ctx *ctx)
{
	peer_index_free(ctx->peer_index);
	ctx->peer_index = NULL;
	arena_free(&ctx->arena);
}

const char *mrt_type_name(uint16_t type)
{
	switch (type) {
	case MRT_BGP_DEPRECATED: return "BGP";
	case MRT_TABLE_DUMP: return "TABLE_DUMP";
	case MRT_TABLE_DUMP_V2: return "TABLE_DUMP_V2";
	case MRT_BGP4MP: return "BGP4MP";
	case MRT_BGP4MP_ET: return "BGP4MP_ET";
	case MRT_ISIS: return "ISIS";
	case MRT_ISIS_ET: return "ISIS_ET";
	case MRT_OSPFV3: return "OSPFv3";
	case MRT_OSPFV3_ET: return "OSPFv3_ET";
	case 11: return "OSPFv2";
	default: return "MRT";
	}
}

const char *mrt_subtype_name(uint16_t type, uint16_t st)
{
	static const char *const td2[] = { "?", "PEER_INDEX_TABLE", "RIB_IPV4_UNICAST", "RIB_IPV4_MULTICAST",
		"RIB_IPV6_UNICAST", "RIB_IPV6_MULTICAST", "RIB_GENERIC", "GEO_PEER_TABLE", "RIB_IPV4_UNICAST_ADDPATH",
		"RIB_IPV4_MULTICAST_ADDPATH", "RIB_IPV6_UNICAST_ADDPATH", "RIB_IPV6_MULTICAST_ADDPATH",
		"RIB_GENERIC_ADDPATH" };
	static const char *const mp[] = { "STATE_CHANGE", "MESSAGE", "ENTRY", "SNAPSHOT", "MESSAGE_AS4",
		"STATE_CHANGE_AS4", "MESSAGE_LOCAL", "MESSAGE_AS4_LOCAL", "MESSAGE_ADDPATH", "MESSAGE_AS4_ADDPATH",
		"MESSAGE_LOCAL_ADDPATH", "MESSAGE_AS4_LOCAL_ADDPATH" };
	static const char *const b5[] = { "NULL", "UPDATE", "PREF_UPDATE", "STATE_CHANGE", "SYNC", "OPEN",
		"NOTIFY", "KEEPALIVE" };
	switch (type) {
	case MRT_TABLE_DUMP: return st == 1 ? "AFI_IPv4" : st == 2 ? "AFI_IPv6" : "?";
	case MRT_TABLE_DUMP_V2: return st < 13 ? td2[st] : "?";
	case MRT_BGP4MP:
	case MRT_BGP4MP_ET: return st < 12 ? mp[st] : "?";
	case MRT_BGP_DEPRECATED: return st < 8 ? b5[st] : "?";
	default: return "?";
	}
}

/* A problem that does not make the whole record unusable. Constant cost: the first
 * MRT_WARN_KEEP are kept with their text, every one is counted by kind (issue 9: a growing
 * copy per problem made one record of 20,000 bad entries take 7 s and 518 MB). */
static void warn(struct mrt_ctx *ctx, struct mrt_rec *rec, const struct dm_error *e)
{
	if (rec->nwarn < MRT_WARN_KEEP) {
		rec->warn = ctx->warn_keep;
		rec->warn[rec->nwarn++] = *e;
		return;
	}
	int k = -(int)e->code;
	if (k <= 0 || k >= DM_ERR_COUNT_)
		k = -(int)DM_ERR_BAD_VALUE;
	rec->warn_unkept[k]++;
	rec->nwarn_unkept++;
}

static int get_ip(struct cur *c, uint16_t afi, struct dm_ip *ip)
{
	memset(ip, 0, sizeof *ip);
	ip->afi = (uint8_t)afi;
	return cur_copy(c, ip->b, afi == DM_AFI_IPV6 ? 16 : 4);
}

/* Prefix given as length byte + ceil(len/8) bytes (TABLE_DUMP_V2, BGP4MP_ENTRY). */
static int get_prefix(struct cur *c, uint16_t afi, struct dm_prefix *p, struct dm_error *err, const char *what)
{
	size_t at = cur_off(c);
	uint8_t len;
	unsigned max = afi == DM_AFI_IPV6 ? 128 : 32;
	if (cur_u8(c, &len) < 0)
		return dm_fail(err, DM_ERR_TRUNCATED, at, "%s: prefix length missing", what);
	if (len > max)
		return dm_fail(err, DM_ERR_BAD_NLRI, at, "%s: prefix length %u exceeds %u", what, len, max);
	memset(p, 0, sizeof *p);
	p->afi = (uint8_t)afi;
	p->len = len;
	if (cur_copy(c, p->b, (len + 7u) / 8) < 0)
		return dm_fail(err, DM_ERR_TRUNCATED, at, "%s: /%u prefix needs %u bytes, %zu left", what, len,
		               (len + 7u) / 8, cur_left(c));
	return 0;
}

static int truncated(struct dm_error *err, const struct cur *c, const char *what)
{
	return dm_fail(err, DM_ERR_TRUNCATED, cur_off(c), "%s truncated: %zu bytes left", what, cur_left(c));
}

/* An address field of alen (4 or 16) bytes into a 16-byte dm_ip / dm_prefix array, zero-filled:
 * two fixed-size copies rather than a memcpy call of a variable length. */
static inline void addr_load(uint8_t b[16], const uint8_t *p, size_t alen)
{
	if (alen == 16) {
		memcpy(b, p, 16);
	} else {
		memcpy(b, p, 4);
		memset(b + 4, 0, 12);
	}
}

/* ---- TABLE_DUMP (v1) ---------------------------------------------------------------- */

/* An attribute block left as its bytes (BGP_ATTRS_RAW, bgp.h): what that promises is set, nothing
 * is cleared. */
static inline void attrs_raw(struct bgp_attrs *o, const uint8_t *p, uint32_t len)
{
	o->raw = p;
	o->raw_len = len;
	o->lazy = BGP_ATTRS_RAW;
	o->rib_set = 0;
	o->action = 0;
	o->n_errors = 0;
	o->present = 0;
	o->next_hop.afi = 0;
	o->mp_reach.nexthop.afi = 0;
}

/* How a TABLE_DUMP entry's attributes are encoded: 2-byte AS numbers, an MP_REACH_NLRI in the
 * abbreviated form (next hop only, RFC 6396 §4.3.4 applied to v1 as bgpdump reads it). */
static inline struct bgp_ctx td1_bgp_ctx(uint16_t afi)
{
	struct bgp_ctx bc = { .asn_size = 2, .mp_reach_abbrev = 1, .afi = afi, .safi = DM_SAFI_UNICAST };
	return bc;
}

/* Inlined (twice: the record's entry and the batched ones): the call was a fifth of the record
 * layers' instructions on the 2002 RIB (callgrind, issue 12). */
static inline __attribute__((always_inline)) int td1_entry(struct mrt_ctx *ctx, struct mrt_rec *rec, struct cur *c,
                                                          uint16_t afi, struct mrt_td1 *e, struct dm_error *err)
{
	unsigned alen = afi == DM_AFI_IPV6 ? 16 : 4;
	size_t at = cur_off(c);
	uint16_t attr_len = 0;
	if (cur_left(c) < alen + 1 + 1 + 4 + alen + 2 + 2)
		return truncated(err, c, "TABLE_DUMP entry");
	/* The fixed part is there (checked above): read with plain loads, not a checked cursor call
	 * per field (those were a tenth of decoding the 2002 RIB, callgrind, issue 12). */
	const uint8_t *p = c->p;
	e->prefix.afi = (uint8_t)afi;
	addr_load(e->prefix.b, p, alen);
	p += alen;
	e->prefix.len = p[0];
	e->status = p[1];
	e->originated = be32(p + 2);
	p += 6;
	e->peer_ip.afi = (uint8_t)afi;
	addr_load(e->peer_ip.b, p, alen);
	p += alen;
	e->peer_as = be16(p);
	attr_len = be16(p + 2);
	c->p = p + 4;
	if (e->prefix.len > alen * 8)
		return dm_fail(err, DM_ERR_BAD_NLRI, at, "TABLE_DUMP: prefix length %u exceeds %u", e->prefix.len, alen * 8);
	struct cur a;
	if (cur_take(c, attr_len, &a) < 0)
		return dm_fail(err, DM_ERR_BAD_LENGTH, cur_off(c) - 2,
		               "TABLE_DUMP: attribute length %u exceeds remaining %zu", attr_len, cur_left(c));
	e->more = NULL;
	e->nmore = 0;
	if (ctx->lazy_td1_now) {
		attrs_raw(&e->attrs, a.p, attr_len);   /* left as bytes (lazy_td1, mrt.h) */
		e->attr_err = 0;
		return 0;
	}
	struct bgp_ctx bc = td1_bgp_ctx(afi);
	struct dm_error ae;
	/* Framed for replay (both lazy modes: with BGP_LAZY_PATHS the path is decoded as it is
	 * checked): no clearing of the struct, no arrays but the path's. Framing once cost 5% more
	 * than decoding the block whole here; measured again on 3 Dec it costs 1.6% less (callgrind,
	 * bench/decode on bview.20020722.2337: 134.5 M instructions against 136.6 M). */
	bc.lazy = ctx->lazy_attrs;
	if (ctx->lazy_attrs && bgp_attrs_frame_short(&a, &bc, &ctx->arena, &e->attrs) == 0) {
		e->attr_err = 0;   /* framed, clean (a block with a problem is decoded whole below) */
		return 0;
	}
	/* the block's cursor made again from its parts, not kept as a copy of a: a 16-byte load of
	 * a's two pointers, stored one by one just before, waits for the stores to retire (a sixth of
	 * decoding the 2002 RIB on an AMD EPYC of family 25, perf) */
	struct cur a0 = { c->p - attr_len, c->p, c->base };
	if ((e->attr_err = bgp_attrs_decode(&a0, &bc, &ctx->arena, &e->attrs, &ae)))
		warn(ctx, rec, &ae);
	return 0;
}

int mrt_td1_entry_decode(struct mrt_ctx *ctx, struct mrt_rec *rec, struct mrt_td1 *e)
{
	if (e->attrs.lazy != BGP_ATTRS_RAW)
		return e->attr_err;
	/* the cursor td1_entry had: offsets from the body's start, made absolute as mrt_decode does */
	struct cur a = { e->attrs.raw, e->attrs.raw + e->attrs.raw_len, rec->u.td1.body };
	struct bgp_ctx bc = td1_bgp_ctx(rec->hdr.subtype == MRT_TD_AFI_IPV6 ? DM_AFI_IPV6 : DM_AFI_IPV4);
	struct dm_error ae;
	if ((e->attr_err = bgp_attrs_decode(&a, &bc, &ctx->arena, &e->attrs, &ae))) {
		ae.offset += rec->hdr.offset + MRT_HEADER_LEN;
		/* before the record's own problems (td1_late), as eager decoding orders them: those are
		 * taken off the end and put back after it; one that no longer fits among the kept is
		 * only counted, as it would have been */
		unsigned k = ctx->td1_late, kept = 0;
		struct dm_error late[2];
		memcpy(late, rec->warn + rec->nwarn - k, k * sizeof *late);
		rec->nwarn -= k;
		warn(ctx, rec, &ae);
		for (unsigned i = 0; i < k; i++) {
			uint32_t n0 = rec->nwarn;
			warn(ctx, rec, &late[i]);
			kept += rec->nwarn > n0;
		}
		ctx->td1_late = (uint8_t)kept;
	}
	return e->attr_err;
}

static int decode_td1(struct mrt_ctx *ctx, struct cur *c, struct mrt_rec *rec, struct dm_error *err)
{
	uint16_t st = rec->hdr.subtype;
	if (st != MRT_TD_AFI_IPV4 && st != MRT_TD_AFI_IPV6)
		return dm_fail(err, DM_ERR_BAD_TYPE, 0, "TABLE_DUMP subtype %u unknown", st);
	uint16_t afi = st == MRT_TD_AFI_IPV6 ? DM_AFI_IPV6 : DM_AFI_IPV4;
	struct mrt_td1 *t = &rec->u.td1;
	rec->kind = MRT_K_TD1;
	t->body = c->base;
	if (cur_left(c) >= 4) {   /* one check for the two fields */
		t->view = be16(c->p);
		t->seq = be16(c->p + 2);
		c->p += 4;
	} else if (cur_u16(c, &t->view) < 0 || cur_u16(c, &t->seq) < 0) {
		return truncated(err, c, "TABLE_DUMP header");
	}
	int rc = td1_entry(ctx, rec, c, afi, t, err);
	if (rc < 0)
		return rc;
	/* Batched entries (RIS 2000): the rest of the body holds more prefix..attribute runs. They
	 * are counted first (each is a fixed part whose last field is its attribute length) and the
	 * array allocated once: growing it by doubling copied every entry (several hundred bytes with
	 * its attributes) about once more, 21% of dump -m's instructions on
	 * rrc00.bview.20000111.0032.gz (callgrind). The count includes a last, truncated entry,
	 * which td1_entry then reports. */
	if (cur_left(c)) {
		unsigned alen = afi == DM_AFI_IPV6 ? 16 : 4;
		size_t fixed = alen + 1 + 1 + 4 + alen + 2 + 2;
		uint32_t cap = 0;
		for (const uint8_t *p = c->p; p < c->end; cap++) {
			if ((size_t)(c->end - p) < fixed) {
				cap++;
				break;
			}
			p += fixed + be16(p + fixed - 2);
		}
		struct mrt_td1 *m = arena_alloc(&ctx->arena, (size_t)cap * sizeof *m);
		if (!m)
			return dm_fail(err, DM_ERR_NOMEM, cur_off(c), "TABLE_DUMP: too many batched entries");
		t->more = m;
		while (cur_left(c) && t->nmore < cap) {
			struct mrt_td1 *e = &t->more[t->nmore];
			e->view = t->view;
			e->seq = t->seq;
			struct dm_error ee;
			if (td1_entry(ctx, rec, c, afi, e, &ee) < 0) {
				warn(ctx, rec, &ee);
				ctx->td1_late = ctx->lazy_td1_now;   /* the record's own problem (mrt.h) */
				break;
			}
			t->nmore++;
		}
	}
	return 0;
}

/* ---- TABLE_DUMP_V2 ------------------------------------------------------------------- */

/* One peer entry of a PEER_INDEX_TABLE (RFC 6396 §4.3.1: type, BGP id, address, AS). */
static int peer_entry(struct cur *c, struct mrt_peer *p)
{
	uint8_t type;
	uint16_t as2;
	if (cur_u8(c, &type) < 0 || cur_u32(c, &p->bgp_id) < 0 || get_ip(c, type & 1 ? DM_AFI_IPV6 : DM_AFI_IPV4, &p->addr) < 0)
		return -1;
	if (type & 2)
		return cur_u32(c, &p->asn);
	if (cur_u16(c, &as2) < 0)
		return -1;
	p->asn = as2;
	return 0;
}

/* How many peer entries fill c exactly (-1 when the last one does not end at c's end). */
static long peers_fill(struct cur c)
{
	long n = 0;
	struct mrt_peer p;
	while (cur_left(&c)) {
		if (peer_entry(&c, &p) < 0 || n == 65535)
			return -1;
		n++;
	}
	return n;
}

/* The peer list as the table's own content gives it when a declared field contradicts it
 * (issue 9: one bad field cost every RIB line of the file). With the view-name length as
 * declared, a peer count that is not the number of entries filling the rest exactly is the
 * damaged field; otherwise the view-name length is, when exactly one value of it below 256 makes
 * a count and that many (>= 1) entries fill the rest exactly. Returns the offset of the peer list
 * (after the count) and sets *n, or 0 when neither repair is unique. */
static size_t peer_list_repair(struct cur c0, size_t vlen_at, uint16_t vlen, uint16_t count, uint16_t *n,
                               const char **what)
{
	struct cur c = c0;
	c.p = c0.base + vlen_at + 2 + vlen + 2;
	long k = c.p <= c.end ? peers_fill(c) : -1;
	if (k >= 0 && k != count) {
		*n = (uint16_t)k;
		*what = "peer count";
		return vlen_at + 2 + vlen + 2;
	}
	size_t found = 0, left = (size_t)(c0.end - (c0.base + vlen_at + 2));
	for (size_t v = 0; v + 2 <= left && v < 256; v++) {   /* view names are short */
		if (v == vlen)
			continue;
		c.p = c0.base + vlen_at + 2 + v;
		uint16_t cnt = be16(c.p);
		c.p += 2;
		k = peers_fill(c);
		if (k >= 1 && k == cnt) {
			if (found)
				return 0;   /* two lengths fit: no way to tell */
			found = vlen_at + 2 + v + 2;
			*n = cnt;
		}
	}
	*what = "view name length";
	return found;
}

static int decode_peer_index(struct mrt_ctx *ctx, struct cur *c, struct mrt_rec *rec, struct dm_error *err)
{
	struct mrt_peer_index *pi = calloc(1, sizeof *pi);
	if (!pi)
		return dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
	/* This table replaces the previous one even when it is unreadable: RIB entries after it
	 * name its peers, never the last file's. */
	peer_index_free(ctx->peer_index);
	ctx->peer_index = pi;
	rec->kind = MRT_K_PEER_INDEX;
	struct cur start = *c;
	size_t vlen_at = 4, zero_from = rec->hdr.zero_tail <= cur_left(c) ? cur_left(c) - rec->hdr.zero_tail : 0;
	uint16_t vlen, n;
	if (cur_u32(c, &pi->collector_id) < 0 || cur_u16(c, &vlen) < 0)
		return truncated(err, c, "PEER_INDEX_TABLE header");
	size_t vcopy = vlen < sizeof pi->view - 1 ? vlen : sizeof pi->view - 1;
	struct dm_error e;
	size_t list_at = vlen_at + 2 + (size_t)vlen + 2;
	const char *what = NULL;
	int declared_ok = cur_left(c) >= (size_t)vlen + 2;
	if (declared_ok) {
		n = be16(c->p + vlen);
		struct cur l = start;
		l.p = start.base + list_at;
		declared_ok = peers_fill(l) == n;
	} else {
		n = 0;
	}
	pi->declared = n;
	if (!declared_ok) {
		/* Contradicted by its content, where the content is not damage itself: perhaps one
		 * field is wrong and the content tells its true value. */
		uint16_t n2 = 0;
		size_t at2 = peer_list_repair(start, vlen_at, vlen, n, &n2, &what);
		if (at2 && at2 <= zero_from) {
			char after[48] = "";
			if (what[0] == 'v')
				snprintf(after, sizeof after, " after a view name of %zu bytes", at2 - vlen_at - 4);
			dm_fail(&e, DM_ERR_BAD_LENGTH, what[0] == 'p' ? list_at - 2 : vlen_at,
			        "PEER_INDEX_TABLE: %s %u contradicts the content, which holds exactly %u peers%s: read as the "
			        "content says", what, what[0] == 'p' ? n : vlen, n2, after);
			warn(ctx, rec, &e);
			if (what[0] == 'v') {
				vlen = (uint16_t)(at2 - vlen_at - 4);
				vcopy = vlen < sizeof pi->view - 1 ? vlen : sizeof pi->view - 1;
			}
			list_at = at2;
			n = n2;
			declared_ok = 1;
		}
	}
	if (cur_left(c) < vlen)
		return truncated(err, c, "PEER_INDEX_TABLE view name");
	memcpy(pi->view, c->p, vcopy);
	pi->view[vcopy] = 0;
	c->p = start.base + list_at - 2;
	if (cur_skip(c, 2) < 0)
		return truncated(err, c, "PEER_INDEX_TABLE peer count");
	pi->peers = calloc(n ? n : 1, sizeof *pi->peers);
	if (!pi->peers)
		return dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
	uint16_t i;
	for (i = 0; i < n; i++) {
		size_t at = cur_off(c);
		if (peer_entry(c, &pi->peers[i]) < 0) {
			dm_fail(&e, DM_ERR_TRUNCATED, at, "PEER_INDEX_TABLE: peer %u of %u truncated", i, n);
			warn(ctx, rec, &e);
			break;
		}
		/* A peer whose address lies in a zero run that goes on past the record's end (damage
		 * the reader skipped) has lost its identity: not used, its RIB entries are reported. */
		size_t addr_at = at + 5;
		if (addr_at >= zero_from && zero_from < cur_off(c)) {
			char which[32];
			snprintf(which, sizeof which, i + 1 == n ? "peer %u" : "peers %u-%u", i, n - 1);
			dm_fail(&e, DM_ERR_FRAMING, at,
			        "PEER_INDEX_TABLE: %s of %u lie%s in a zero run that goes on into the damage after the "
			        "record: not used", which, n, i + 1 == n ? "s" : "");
			warn(ctx, rec, &e);
			break;
		}
	}
	/* Keep the peers read so far: RIB entries naming later ones are reported one by one. */
	pi->npeers = i;
	if (i == n && cur_left(c)) {
		if (cur_off(c) >= zero_from)
			dm_fail(&e, DM_ERR_FRAMING, cur_off(c),
			        "PEER_INDEX_TABLE: %zu bytes after its %u peers are a zero run that goes on into the damage "
			        "after the record: the peers they held are lost", cur_left(c), n);
		else
			dm_fail(&e, DM_ERR_BAD_LENGTH, cur_off(c), "PEER_INDEX_TABLE: %zu trailing bytes after its %u peers",
			        cur_left(c), n);
		warn(ctx, rec, &e);
	}
	(void)declared_ok;
	return 0;
}

static int decode_td2_rib(struct mrt_ctx *ctx, struct cur *c, struct mrt_rec *rec, struct dm_error *err)
{
	uint16_t st = rec->hdr.subtype;
	struct mrt_rib *r = &rec->u.rib;
	rec->kind = MRT_K_RIB;
	r->addpath = st >= MRT_TD2_RIB_IPV4_UNICAST_ADDPATH;
	uint16_t base = r->addpath ? (uint16_t)(st - 6) : st;  /* ADD-PATH subtypes mirror 2..6 */
	if (!ctx->peer_index)
		return dm_fail(err, DM_ERR_NO_PEER_INDEX, 0, "%s record without a preceding PEER_INDEX_TABLE",
		               mrt_subtype_name(MRT_TABLE_DUMP_V2, st));
	if (cur_u32(c, &r->seq) < 0)
		return truncated(err, c, "RIB header");
	if (base == MRT_TD2_RIB_GENERIC) {
		size_t at = cur_off(c);
		if (cur_u16(c, &r->afi) < 0 || cur_u8(c, &r->safi) < 0)
			return truncated(err, c, "RIB_GENERIC header");
		if ((r->afi == DM_AFI_IPV4 || r->afi == DM_AFI_IPV6) &&
		    (r->safi == DM_SAFI_UNICAST || r->safi == DM_SAFI_MULTICAST)) {
			int rc = get_prefix(c, r->afi, &r->prefix, err, "RIB_GENERIC");
			if (rc < 0)
				return rc;
			r->has_prefix = 1;
		} else {
			/* Other families (VPN, labelled...): the length byte counts all NLRI bits. */
			uint8_t bits;
			if (cur_u8(c, &bits) < 0 || cur_skip(c, (bits + 7u) / 8) < 0)
				return dm_fail(err, DM_ERR_TRUNCATED, at, "RIB_GENERIC: NLRI truncated");
			r->has_prefix = 0;
		}
	} else {
		r->afi = base <= MRT_TD2_RIB_IPV4_MULTICAST ? DM_AFI_IPV4 : DM_AFI_IPV6;
		r->safi = (base == MRT_TD2_RIB_IPV4_MULTICAST || base == MRT_TD2_RIB_IPV6_MULTICAST) ? DM_SAFI_MULTICAST
		                                                                                     : DM_SAFI_UNICAST;
		int rc = get_prefix(c, r->afi, &r->prefix, err, mrt_subtype_name(MRT_TABLE_DUMP_V2, st));
		if (rc < 0)
			return rc;
		r->has_prefix = 1;
	}
	uint16_t n;
	if (cur_u16(c, &n) < 0)
		return truncated(err, c, "RIB entry count");
	r->e = arena_alloc(&ctx->arena, (n ? n : 1) * sizeof *r->e);
	if (!r->e)
		return dm_fail(err, DM_ERR_NOMEM, cur_off(c), "RIB: %u entries exceed the record memory limit", n);
	struct bgp_ctx bc = { .asn_size = 4, .mp_reach_abbrev = 1, .afi = r->afi, .safi = r->safi };
	/* Lazy decoding (ctx->lazy_rib_attrs): entries are framed only. A record with any problem
	 * (a warning below, an attribute block the index cannot vouch for) is decoded again whole,
	 * eagerly, so that its warnings and routes are exactly those of eager decoding. */
	int lazy = ctx->lazy_now;
	struct cur c0 = *c;
	uint32_t nwarn0 = rec->nwarn, unkept0 = rec->nwarn_unkept, unkept_kind0[DM_ERR_COUNT_];
	if (lazy)
		memcpy(unkept_kind0, rec->warn_unkept, sizeof unkept_kind0);
again:
	r->n = 0;
	for (uint16_t i = 0; i < n; i++) {
		struct mrt_rib_entry *e = &r->e[r->n];
		size_t at = cur_off(c);
		uint16_t alen;
		struct dm_error ee;
		if (cur_u16(c, &e->peer_index) < 0 || cur_u32(c, &e->originated) < 0 ||
		    (r->addpath && cur_u32(c, &e->path_id) < 0) || cur_u16(c, &alen) < 0) {
			dm_fail(&ee, DM_ERR_TRUNCATED, at, "RIB entry %u of %u truncated: %zu bytes left", i, n, cur_left(c));
			warn(ctx, rec, &ee);
			break;
		}
		if (!r->addpath)
			e->path_id = 0;
		struct cur a;
		if (cur_take(c, alen, &a) < 0) {
			dm_fail(&ee, DM_ERR_BAD_LENGTH, at, "RIB entry %u of %u: attribute length %u exceeds remaining %zu", i,
			        n, alen, cur_left(c));
			warn(ctx, rec, &ee);
			break;
		}
		if (e->peer_index >= ctx->peer_index->npeers) {
			const struct mrt_peer_index *pi = ctx->peer_index;
			if (e->peer_index < pi->declared)
				dm_fail(&ee, DM_ERR_BAD_VALUE, at,
				        "RIB entry %u of %u: peer index %u: its PEER_INDEX_TABLE entry was damaged (%u of %u peers "
				        "readable)", i, n, e->peer_index, pi->npeers, pi->declared);
			else
				dm_fail(&ee, DM_ERR_BAD_VALUE, at,
				        "RIB entry %u of %u: peer index %u not in PEER_INDEX_TABLE (%u peers)", i, n,
				        e->peer_index, pi->npeers);
			warn(ctx, rec, &ee);
			continue;
		}
		if (lazy == MRT_LAZY_RIB_RAW) {   /* the bytes only: framed later if the caller must */
			attrs_raw(&e->attrs, a.p, alen);
			e->attr_err = 0;
			r->n++;
			continue;
		}
		if (lazy) {
			if (bgp_attrs_index(&a, &bc, &ctx->arena, &e->attrs) == 0) {
				e->attr_err = 0;
				r->n++;
				continue;
			}
			lazy = 0;   /* the index cannot vouch for this block: decode the record eagerly */
			break;
		}
		e->attr_err = bgp_attrs_decode(&a, &bc, &ctx->arena, &e->attrs, &ee);
		if (e->attr_err)
			warn(ctx, rec, &ee);
		r->n++;
	}
	if (cur_left(c) && r->n == n && (lazy || ctx->lazy_now == lazy)) {
		struct dm_error ee;
		dm_fail(&ee, DM_ERR_BAD_LENGTH, cur_off(c), "RIB record: %zu trailing bytes after %u entries", cur_left(c), n);
		warn(ctx, rec, &ee);
	}
	if (ctx->lazy_now && (!lazy || rec->nwarn != nwarn0 || rec->nwarn_unkept != unkept0)) {
		/* a problem: forget this pass's warnings and decode again, eagerly */
		rec->nwarn = nwarn0;
		rec->nwarn_unkept = unkept0;
		memcpy(rec->warn_unkept, unkept_kind0, sizeof unkept_kind0);
		*c = c0;
		lazy = 0;
		ctx->lazy_now = 0;
		goto again;
	}
	return 0;
}

int mrt_rib_entry_decode(struct mrt_ctx *ctx, struct mrt_rec *rec, uint32_t i)
{
	struct mrt_rib *r = &rec->u.rib;
	if (rec->kind != MRT_K_RIB || i >= r->n ||
	    (r->e[i].attrs.lazy != BGP_ATTRS_INDEXED && r->e[i].attrs.lazy != BGP_ATTRS_RAW))
		return 0;
	struct mrt_rib_entry *e = &r->e[i];
	struct bgp_ctx bc = { .asn_size = 4, .mp_reach_abbrev = 1, .afi = r->afi, .safi = r->safi };
	struct cur a = { e->attrs.raw, e->attrs.raw + e->attrs.raw_len, r->body };
	struct dm_error ee;
	e->attr_err = bgp_attrs_decode(&a, &bc, &ctx->arena, &e->attrs, &ee);
	e->attrs.lazy = BGP_ATTRS_RIB_ENTRY;
	if (e->attr_err) {
		ee.offset += r->body_off;   /* as mrt_decode does for the record's warnings */
		warn(ctx, rec, &ee);
	}
	return e->attr_err;
}

int mrt_rib_entry_frame(struct mrt_ctx *ctx, struct mrt_rec *rec, uint32_t i)
{
	struct mrt_rib *r = &rec->u.rib;
	if (rec->kind != MRT_K_RIB || i >= r->n)
		return -1;
	struct bgp_attrs *o = &r->e[i].attrs;
	if (o->lazy != BGP_ATTRS_RAW)
		return o->lazy == BGP_ATTRS_INDEXED ? 0 : -1;
	struct bgp_ctx bc = { .asn_size = 4, .mp_reach_abbrev = 1, .afi = r->afi, .safi = r->safi };
	struct cur a = { o->raw, o->raw + o->raw_len, r->body };
	/* on failure bgp_attrs_index leaves raw, raw_len and lazy (RAW) as they were */
	return bgp_attrs_index(&a, &bc, &ctx->arena, o) == 0 ? 0 : -1;
}

void mrt_rec_paths(struct mrt_ctx *ctx, struct mrt_rec *rec)
{
	if (ctx->lazy_attrs != BGP_LAZY_FRAME)
		return;   /* every path decoded already (or no block framed) */
	if (rec->kind == MRT_K_MESSAGE && rec->u.msg.msg.type == BGP_MSG_UPDATE) {
		struct bgp_update *u = &rec->u.msg.msg.u.update;
		/* withdrawals need no path: neither does an UPDATE whose routes are withdrawn (RFC 7606) */
		if (u->attrs.path_todo && u->attrs.action < BGP_ERR_TREAT_AS_WITHDRAW &&
		    (u->announced.n || (u->attrs.mp_reach.nlri_supported && u->attrs.mp_reach.nlri.n)))
			bgp_attrs_path(&u->attrs, &ctx->arena);
	} else if (rec->kind == MRT_K_TD1) {
		struct mrt_td1 *t = &rec->u.td1;
		for (uint32_t i = 0; i <= t->nmore; i++) {
			struct bgp_attrs *a = i ? &t->more[i - 1].attrs : &t->attrs;
			if (a->path_todo && a->action < BGP_ERR_TREAT_AS_WITHDRAW)
				bgp_attrs_path(a, &ctx->arena);
		}
	}
}

/* ---- BGP4MP ---------------------------------------------------------------------------- */

static void update_warnings(struct mrt_ctx *ctx, struct mrt_rec *rec, struct mrt_message *m,
                            const struct dm_error *first)
{
	const struct bgp_update *u = &m->msg.u.update;
	if (u->attr_err || u->nlri_err) {
		m->msg_err = u->attr_err ? u->attr_err : u->nlri_err;
		warn(ctx, rec, first);
	}
	if (u->addpath_guessed) {
		struct dm_error w;
		dm_fail(&w, DM_ERR_BAD_VALUE, 0,
		        "BGP UPDATE prefixes carry ADD-PATH path identifiers not announced by the MRT subtype; "
		        "decoded with path identifiers");
		warn(ctx, rec, &w);
	}
}

static int session_hdr(struct cur *c, struct mrt_session *s, int as4, struct dm_error *err)
{
	size_t at = cur_off(c);
	/* The common case, an IPv4 or IPv6 session whose whole header is there, with plain loads: a
	 * checked cursor call per field was 4% of decoding an update file (callgrind, issue 12). The
	 * checked path below gives the errors. */
	size_t asl = as4 ? 4 : 2, fam_at = 2 * asl + 2;
	if (cur_left(c) >= fam_at + 2) {
		const uint8_t *p = c->p;
		uint16_t afi = be16(p + fam_at);
		size_t alen = afi == DM_AFI_IPV4 ? 4 : afi == DM_AFI_IPV6 ? 16 : 0;
		if (alen && cur_left(c) >= fam_at + 2 + 2 * alen) {
			s->peer_as = as4 ? be32(p) : be16(p);
			s->local_as = as4 ? be32(p + 4) : be16(p + 2);
			s->ifindex = be16(p + 2 * asl);
			s->afi = afi;
			p += fam_at + 2;
			s->peer_ip.afi = s->local_ip.afi = (uint8_t)afi;
			addr_load(s->peer_ip.b, p, alen);
			addr_load(s->local_ip.b, p + alen, alen);
			c->p = p + 2 * alen;
			s->as4 = (uint8_t)as4;
			s->addpath = 0;
			s->local = 0;
			return 0;
		}
	}
	if (as4) {
		if (cur_u32(c, &s->peer_as) < 0 || cur_u32(c, &s->local_as) < 0)
			return truncated(err, c, "BGP4MP header");
	} else {
		uint16_t a, b;
		if (cur_u16(c, &a) < 0 || cur_u16(c, &b) < 0)
			return truncated(err, c, "BGP4MP header");
		s->peer_as = a;
		s->local_as = b;
	}
	if (cur_u16(c, &s->ifindex) < 0 || cur_u16(c, &s->afi) < 0)
		return truncated(err, c, "BGP4MP header");
	if (s->afi != DM_AFI_IPV4 && s->afi != DM_AFI_IPV6)
		return dm_fail(err, DM_ERR_BAD_VALUE, at + (as4 ? 10 : 6), "BGP4MP: address family %u unknown", s->afi);
	if (get_ip(c, s->afi, &s->peer_ip) < 0 || get_ip(c, s->afi, &s->local_ip) < 0)
		return truncated(err, c, "BGP4MP addresses");
	s->as4 = (uint8_t)as4;
	/* set again by MESSAGE subtypes; a STATE_CHANGE must not show an earlier record's flags
	 * (rec->u is a union reused across records) */
	s->addpath = 0;
	s->local = 0;
	return 0;
}

/* The fast path of a BGP4MP MESSAGE record (issue 12): the common record, an IPv4 or IPv6
 * session header, a BGP header with the marker, type UPDATE and a length ending exactly at the
 * record's end, and an UPDATE without any problem (bgp_update_decode_clean), is read with one
 * look at each length instead of a checked cursor call per field through four layers (session
 * header, BGP header, UPDATE, its fields: 15% of decoding an update file, callgrind). 1: rec
 * is what the careful path below makes of it (no error, no warning); 0: anything else, rec
 * partly written, and the careful path decodes the record from its start, with its own errors
 * and warnings. Zebra's MESSAGE without addresses (a marker at byte 4) never passes: its bytes
 * 6-7, where the address family lies, are 0xffff. */
static int bgp4mp_message_fast(struct mrt_ctx *ctx, struct cur *c, struct mrt_rec *rec, uint16_t st, int as4)
{
	const uint8_t *p = c->p, *end = c->end;
	size_t asl = as4 ? 4 : 2, fam_at = 2 * asl + 2;
	if ((size_t)(end - p) < fam_at + 2)
		return 0;
	uint16_t afi = be16(p + fam_at);
	size_t alen = afi == DM_AFI_IPV4 ? 4 : afi == DM_AFI_IPV6 ? 16 : 0;
	if (!alen || (size_t)(end - p) < fam_at + 2 + 2 * alen + BGP_HEADER_LEN)
		return 0;
	const uint8_t *h = p + fam_at + 2 + 2 * alen;   /* the BGP header (no pointer past the end) */
	uint16_t mlen = be16(h + 16);
	if (!bgp_is_marker(h) || h[18] != BGP_MSG_UPDATE || mlen != (size_t)(end - h))
		return 0;
	struct mrt_message *m = &rec->u.msg;
	struct bgp_ctx bc = { .asn_size = (uint8_t)(as4 ? 4 : 2), .addpath = st >= MRT_BGP4MP_MESSAGE_ADDPATH,
		              .afi = afi, .safi = DM_SAFI_UNICAST, .lazy = ctx->lazy_attrs };
	if (bgp_update_decode_clean(h + BGP_HEADER_LEN, end, c->base, &bc, &ctx->arena, &m->msg.u.update) < 0)
		return 0;
	/* as session_hdr, decode_bgp4mp and bgp_msg_decode set them */
	struct mrt_session *s = &m->s;
	s->peer_as = as4 ? be32(p) : be16(p);
	s->local_as = as4 ? be32(p + 4) : be16(p + 2);
	s->ifindex = be16(p + 2 * asl);
	s->afi = afi;
	s->peer_ip.afi = s->local_ip.afi = (uint8_t)afi;
	addr_load(s->peer_ip.b, p + fam_at + 2, alen);
	addr_load(s->local_ip.b, p + fam_at + 2 + alen, alen);
	s->as4 = (uint8_t)as4;
	s->addpath = bc.addpath;
	s->local = st == MRT_BGP4MP_MESSAGE_LOCAL || st == MRT_BGP4MP_MESSAGE_AS4_LOCAL ||
	           st == MRT_BGP4MP_MESSAGE_LOCAL_ADDPATH || st == MRT_BGP4MP_MESSAGE_AS4_LOCAL_ADDPATH;
	m->msg.type = BGP_MSG_UPDATE;
	m->msg.len = mlen;
	m->msg_err = 0;
	c->p = end;
	return 1;
}

static int decode_bgp4mp(struct mrt_ctx *ctx, struct cur *c, struct mrt_rec *rec, struct dm_error *err)
{
	uint16_t st = rec->hdr.subtype;
	switch (st) {
	case MRT_BGP4MP_STATE_CHANGE:
	case MRT_BGP4MP_STATE_CHANGE_AS4: {
		struct mrt_state *s = &rec->u.state;
		rec->kind = MRT_K_STATE;
		if (st == MRT_BGP4MP_STATE_CHANGE && cur_left(c) == 8) {
			/* Zebra of 2000 wrote STATE_CHANGE without interface, family and addresses:
			 * peer AS, local AS, old state, new state. The peer address is unknown. */
			uint16_t a, b;
			memset(&s->s, 0, sizeof s->s); /* nothing from an earlier record may show through */
			cur_u16(c, &a);
			cur_u16(c, &b);
			cur_u16(c, &s->old_state);
			cur_u16(c, &s->new_state);
			s->s.peer_as = a;
			s->s.local_as = b;
			struct dm_error w;
			dm_fail(&w, DM_ERR_BAD_LENGTH, 0,
			        "BGP4MP STATE_CHANGE of 8 bytes (Zebra bug): peer address absent");
			warn(ctx, rec, &w);
			return 0;
		}
		int rc = session_hdr(c, &s->s, st == MRT_BGP4MP_STATE_CHANGE_AS4, err);
		if (rc < 0)
			return rc;
		if (cur_u16(c, &s->old_state) < 0 || cur_u16(c, &s->new_state) < 0)
			return truncated(err, c, "BGP4MP STATE_CHANGE");
		return 0;
	}
	case MRT_BGP4MP_MESSAGE:
	case MRT_BGP4MP_MESSAGE_AS4:
	case MRT_BGP4MP_MESSAGE_LOCAL:
	case MRT_BGP4MP_MESSAGE_AS4_LOCAL:
	case MRT_BGP4MP_MESSAGE_ADDPATH:
	case MRT_BGP4MP_MESSAGE_AS4_ADDPATH:
	case MRT_BGP4MP_MESSAGE_LOCAL_ADDPATH:
	case MRT_BGP4MP_MESSAGE_AS4_LOCAL_ADDPATH: {
		struct mrt_message *m = &rec->u.msg;
		int as4 = st == MRT_BGP4MP_MESSAGE_AS4 || st == MRT_BGP4MP_MESSAGE_AS4_LOCAL ||
		          st == MRT_BGP4MP_MESSAGE_AS4_ADDPATH || st == MRT_BGP4MP_MESSAGE_AS4_LOCAL_ADDPATH;
		rec->kind = MRT_K_MESSAGE;
		if (!ctx->careful && bgp4mp_message_fast(ctx, c, rec, st, as4))
			return 0;
		int rc;
		if (st == MRT_BGP4MP_MESSAGE && cur_left(c) >= 4 + 16 && bgp_is_marker(c->p + 4)) {
			/* Zebra of 2000 wrote some MESSAGE records with only peer AS and local AS before
			 * the BGP message (no interface, family or addresses). */
			uint16_t pa = 0, la = 0;
			cur_u16(c, &pa);
			cur_u16(c, &la);
			memset(&m->s, 0, sizeof m->s);
			m->s.peer_as = pa;
			m->s.local_as = la;
			struct dm_error w;
			dm_fail(&w, DM_ERR_BAD_LENGTH, 0, "BGP4MP MESSAGE without interface, family and addresses (Zebra bug)");
			warn(ctx, rec, &w);
		} else if ((rc = session_hdr(c, &m->s, as4, err)) < 0) {
			return rc;
		}
		m->s.addpath = st >= MRT_BGP4MP_MESSAGE_ADDPATH;
		m->s.local = st == MRT_BGP4MP_MESSAGE_LOCAL || st == MRT_BGP4MP_MESSAGE_AS4_LOCAL ||
		             st == MRT_BGP4MP_MESSAGE_LOCAL_ADDPATH || st == MRT_BGP4MP_MESSAGE_AS4_LOCAL_ADDPATH;
		struct bgp_ctx bc = { .asn_size = (uint8_t)(as4 ? 4 : 2), .addpath = m->s.addpath, .afi = m->s.afi,
			              .safi = DM_SAFI_UNICAST, .lazy = ctx->lazy_attrs };
		struct dm_error me;
		m->msg_err = bgp_msg_decode(c, &bc, &ctx->arena, &m->msg, &me);
		if (m->msg_err < 0)
			return *err = me, m->msg_err;
		const struct bgp_update *u = &m->msg.u.update;
		/* the call only where there is something to say: it was 1% of decoding an update file */
		if (m->msg.type == BGP_MSG_UPDATE && (u->attr_err || u->nlri_err || u->addpath_guessed))
			update_warnings(ctx, rec, m, &me);
		if (cur_left(c)) {
			/* The record is longer than its message: damage or a writer bug, never silent. */
			struct dm_error w;
			dm_fail(&w, DM_ERR_BAD_LENGTH, cur_off(c), "%zu bytes after the %u-byte BGP message inside the record",
			        cur_left(c), m->msg.len);
			warn(ctx, rec, &w);
		}
		return 0;
	}
	case MRT_BGP4MP_ENTRY: {
		struct mrt_entry *e = &rec->u.entry;
		rec->kind = MRT_K_ENTRY;
		int rc = session_hdr(c, &e->s, 0, err);
		if (rc < 0)
			return rc;
		uint8_t nhlen;
		if (cur_u16(c, &e->view) < 0 || cur_u16(c, &e->status) < 0 || cur_u32(c, &e->time_last_change) < 0 ||
		    cur_u16(c, &e->afi) < 0 || cur_u8(c, &e->safi) < 0 || cur_u8(c, &nhlen) < 0)
			return truncated(err, c, "BGP4MP_ENTRY header");
		if (e->afi != DM_AFI_IPV4 && e->afi != DM_AFI_IPV6)
			return dm_fail(err, DM_ERR_BAD_VALUE, cur_off(c) - 4, "BGP4MP_ENTRY: address family %u unknown", e->afi);
		memset(&e->nexthop, 0, sizeof e->nexthop);
		if (nhlen == 4 || nhlen == 16 || nhlen == 32) {
			e->nexthop.afi = nhlen == 4 ? DM_AFI_IPV4 : DM_AFI_IPV6;
			if (cur_copy(c, e->nexthop.b, nhlen == 4 ? 4 : 16) < 0 || cur_skip(c, nhlen == 32 ? 16 : 0) < 0)
				return truncated(err, c, "BGP4MP_ENTRY next hop");
		} else if (cur_skip(c, nhlen) < 0) {
			return truncated(err, c, "BGP4MP_ENTRY next hop");
		}
		rc = get_prefix(c, e->afi, &e->prefix, err, "BGP4MP_ENTRY");
		if (rc < 0)
			return rc;
		uint16_t alen;
		struct cur a;
		if (cur_u16(c, &alen) < 0)
			return truncated(err, c, "BGP4MP_ENTRY attribute length");
		if (cur_take(c, alen, &a) < 0)
			return dm_fail(err, DM_ERR_BAD_LENGTH, cur_off(c) - 2,
			               "BGP4MP_ENTRY: attribute length %u exceeds remaining %zu", alen, cur_left(c));
		struct bgp_ctx bc = { .asn_size = 2, .mp_reach_abbrev = 1, .afi = e->afi, .safi = e->safi };
		struct dm_error ae;
		e->attr_err = bgp_attrs_decode(&a, &bc, &ctx->arena, &e->attrs, &ae);
		if (e->attr_err)
			warn(ctx, rec, &ae);
		return 0;
	}
	default:
		rec->kind = MRT_K_OTHER; /* SNAPSHOT and unassigned subtypes: framed, not decoded */
		return 0;
	}
}

/* ---- deprecated type 5 "BGP" (RFC 6396 Appendix B; RIS 1999-2001) ----------------------- */

static int decode_bgp5(struct mrt_ctx *ctx, struct cur *c, struct mrt_rec *rec, struct dm_error *err)
{
	uint16_t st = rec->hdr.subtype;
	uint16_t pas, las;
	struct mrt_session s;
	memset(&s, 0, sizeof s);
	s.afi = DM_AFI_IPV4;
	if (cur_u16(c, &pas) < 0 || get_ip(c, DM_AFI_IPV4, &s.peer_ip) < 0)
		return truncated(err, c, "BGP record header");
	s.peer_as = pas;
	if (st == MRT_BGP5_STATE_CHANGE) {
		struct mrt_state *t = &rec->u.state;
		rec->kind = MRT_K_STATE;
		t->s = s;
		if (cur_u16(c, &t->old_state) < 0 || cur_u16(c, &t->new_state) < 0)
			return truncated(err, c, "BGP STATE_CHANGE");
		return 0;
	}
	if (st != MRT_BGP5_UPDATE && st != MRT_BGP5_OPEN && st != MRT_BGP5_NOTIFY && st != MRT_BGP5_KEEPALIVE) {
		rec->kind = MRT_K_OTHER;
		return 0;
	}
	if (cur_u16(c, &las) < 0 || get_ip(c, DM_AFI_IPV4, &s.local_ip) < 0)
		return truncated(err, c, "BGP record header");
	s.local_as = las;
	struct mrt_message *m = &rec->u.msg;
	rec->kind = MRT_K_MESSAGE;
	m->s = s;
	memset(&m->msg, 0, sizeof m->msg);
	m->msg_err = 0;
	/* The message follows without its 19-byte header. */
	m->msg.len = (uint16_t)(cur_left(c) + BGP_HEADER_LEN);
	switch (st) {
	case MRT_BGP5_UPDATE: {
		m->msg.type = BGP_MSG_UPDATE;
		struct bgp_ctx bc = { .asn_size = 2, .afi = DM_AFI_IPV4, .safi = DM_SAFI_UNICAST, .lazy = ctx->lazy_attrs };
		struct dm_error me;
		int rc = bgp_update_decode(c, &bc, &ctx->arena, &m->msg.u.update, &me);
		if (rc < 0)
			return *err = me, rc;
		update_warnings(ctx, rec, m, &me);
		return 0;
	}
	case MRT_BGP5_OPEN:
		m->msg.type = BGP_MSG_OPEN;
		return 0;
	case MRT_BGP5_NOTIFY:
		m->msg.type = BGP_MSG_NOTIFICATION;
		return 0;
	default:
		m->msg.type = BGP_MSG_KEEPALIVE;
		return 0;
	}
}

int mrt_decode(struct mrt_ctx *ctx, const struct mrt_hdr *hdr, const uint8_t *body, struct mrt_rec *rec,
               struct dm_error *err)
{
	arena_reset(&ctx->arena);
	/* A caller may have the reader write the header into rec itself (replay, bench/decode): no
	 * copy then. A copy's 16-byte loads over the reader's 2- and 4-byte stores, made just before,
	 * cannot be forwarded from them and wait for them to reach the cache: a tenth of this
	 * function's time on an AMD EPYC of family 25 (perf; a copy field by field is merged back
	 * into wide loads by the compiler). */
	if (hdr != &rec->hdr)
		rec->hdr = *hdr;
	rec->kind = MRT_K_OTHER;
	rec->warn = ctx->warn_keep;
	rec->nwarn = 0;
	rec->nwarn_unkept = 0;
	memset(rec->warn_unkept, 0, sizeof rec->warn_unkept);
	struct cur c = cur_make(body, hdr->len);
	uint64_t body_off = hdr->offset + MRT_HEADER_LEN +
	                    (hdr->type == MRT_BGP4MP_ET || hdr->type == MRT_ISIS_ET || hdr->type == MRT_OSPFV3_ET ? 4 : 0);
	/* a record whose length was fixed gets a warning after its entries': decoded eagerly */
	ctx->lazy_now = hdr->len_fixed ? 0 : ctx->lazy_rib_attrs;
	ctx->lazy_td1_now = ctx->lazy_td1 && hdr->type == MRT_TABLE_DUMP;
	ctx->td1_late = 0;
	rec->u.rib.body = body;
	rec->u.rib.body_off = body_off;
	int rc;
	switch (hdr->type) {
	case MRT_TABLE_DUMP:
		rc = decode_td1(ctx, &c, rec, err);
		break;
	case MRT_TABLE_DUMP_V2:
		if (hdr->subtype == MRT_TD2_PEER_INDEX_TABLE)
			rc = decode_peer_index(ctx, &c, rec, err);
		else if ((hdr->subtype >= MRT_TD2_RIB_IPV4_UNICAST && hdr->subtype <= MRT_TD2_RIB_GENERIC) ||
		         (hdr->subtype >= MRT_TD2_RIB_IPV4_UNICAST_ADDPATH && hdr->subtype <= MRT_TD2_RIB_GENERIC_ADDPATH))
			rc = decode_td2_rib(ctx, &c, rec, err);
		else
			rc = 0; /* GEO_PEER_TABLE and unassigned subtypes: framed, not decoded */
		break;
	case MRT_BGP4MP:
	case MRT_BGP4MP_ET:
		rc = decode_bgp4mp(ctx, &c, rec, err);
		break;
	case MRT_BGP_DEPRECATED:
		rc = decode_bgp5(ctx, &c, rec, err);
		break;
	default:
		rc = 0;
		break;
	}
	if (ctx->lazy_td1_now && rc == 0 && rec->nwarn + rec->nwarn_unkept != ctx->td1_late) {
		/* lazy_td1: a record with another problem than td1_late's is decoded eagerly, so its
		 * warnings are in eager decoding's order (none is known today: a guard) */
		uint8_t keep = ctx->lazy_td1;
		ctx->lazy_td1 = 0;
		rc = mrt_decode(ctx, hdr, body, rec, err);
		ctx->lazy_td1 = keep;
		return rc;
	}
	/* Offsets were record-relative: make them absolute in the input. */
	if (rc < 0 && err) {
		err->offset += body_off;
		char tmp[sizeof err->what + 64];
		snprintf(tmp, sizeof tmp, "%s/%s: %s", mrt_type_name(hdr->type), mrt_subtype_name(hdr->type, hdr->subtype),
		         err->what);
		memcpy(err->what, tmp, sizeof err->what - 1);
		err->what[sizeof err->what - 1] = 0;
	}
	for (uint32_t i = 0; i < rec->nwarn; i++)
		rec->warn[i].offset += body_off;
	if (hdr->len_fixed) {
		struct dm_error w;
		dm_fail(&w, DM_ERR_BAD_LENGTH, hdr->offset + 8,
		        "%s record declares length %u, %u bytes short of the next record; read as %u",
		        mrt_type_name(hdr->type), hdr->len - hdr->len_fixed, hdr->len_fixed, hdr->len);
		warn(ctx, rec, &w);
		if (ctx->lazy_td1_now && rec->nwarn == ctx->td1_late + 1u)
			ctx->td1_late++;   /* the record's own problem too (mrt.h), after the entries' */
	}
	return rc;
}
