/* MRT encoder (RFC 6396) and compressed output sinks. See writer.h. */
#include "mrt/writer.h"

#include <bzlib.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* ---- byte buffer ------------------------------------------------------------------------ */

void wbuf_init(struct wbuf *b) { memset(b, 0, sizeof *b); }

void wbuf_free(struct wbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

/* Makes room for n more bytes; 0 or -1 (limit passed or out of memory: overflow set). */
static int wbuf_room(struct wbuf *b, size_t n)
{
	if (b->overflow)
		return -1;
	if (n > SIZE_MAX / 2 - b->len || (b->limit && b->len + n > b->limit)) {
		b->overflow = 1;
		return -1;
	}
	if (b->cap - b->len >= n)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p) {
		b->overflow = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void wbuf_put(struct wbuf *b, const void *data, size_t n)
{
	if (n == 0 || wbuf_room(b, n))
		return;
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

void wbuf_u8(struct wbuf *b, uint8_t v) { wbuf_put(b, &v, 1); }

void wbuf_u16(struct wbuf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	wbuf_put(b, x, 2);
}

void wbuf_u32(struct wbuf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	wbuf_put(b, x, 4);
}

void wbuf_set_u16(struct wbuf *b, size_t at, uint16_t v)
{
	if (b->overflow || at + 2 > b->len)
		return;
	b->p[at] = (uint8_t)(v >> 8);
	b->p[at + 1] = (uint8_t)v;
}

void wbuf_set_u32(struct wbuf *b, size_t at, uint32_t v)
{
	if (b->overflow || at + 4 > b->len)
		return;
	b->p[at] = (uint8_t)(v >> 24);
	b->p[at + 1] = (uint8_t)(v >> 16);
	b->p[at + 2] = (uint8_t)(v >> 8);
	b->p[at + 3] = (uint8_t)v;
}

/* ---- helpers ---------------------------------------------------------------------------- */

static size_t ip_len(uint8_t afi) { return afi == DM_AFI_IPV6 ? 16 : 4; }

/* Fails the record: rewinds b to `start` and clears the overflow flag so the buffer stays
 * usable for the next record. */
static int fail_at(struct wbuf *b, size_t start, struct dm_error *err, enum dm_err code,
                   const char *what)
{
	b->len = start;
	b->overflow = 0;
	return dm_fail(err, code, 0, "MRT writer: %s", what);
}

void bgp_prefix_encode(struct wbuf *b, const struct dm_prefix *p)
{
	unsigned max = p->afi == DM_AFI_IPV6 ? 128 : 32;
	unsigned len = p->len > max ? max : p->len;
	uint8_t bytes[16];
	size_t n = (len + 7) / 8;
	memcpy(bytes, p->b, n);
	if (len % 8)                        /* RFC 4271 §4.3: trailing bits are irrelevant: send 0 */
		bytes[n - 1] &= (uint8_t)(0xff << (8 - len % 8));
	wbuf_u8(b, (uint8_t)len);
	wbuf_put(b, bytes, n);
}

/* Attribute header with a 2-byte length placeholder; attr_end shrinks it to 1 byte when the
 * value fits (RFC 4271 §4.3: Extended Length bit only when needed). */
static size_t attr_begin(struct wbuf *b, uint8_t flags, uint8_t type)
{
	size_t at = b->len;
	wbuf_u8(b, flags | BGP_ATTR_F_EXTLEN);
	wbuf_u8(b, type);
	wbuf_u16(b, 0);
	return at;
}

static int attr_end(struct wbuf *b, size_t at)
{
	if (b->overflow)
		return -1;
	size_t vlen = b->len - at - 4;
	if (vlen > 0xffff)
		return -1;
	if (vlen <= 0xff) {
		b->p[at] &= (uint8_t)~BGP_ATTR_F_EXTLEN;
		b->p[at + 2] = (uint8_t)vlen;
		memmove(b->p + at + 3, b->p + at + 4, vlen);
		b->len--;
	} else {
		wbuf_set_u16(b, at + 2, (uint16_t)vlen);
	}
	return 0;
}

static void nexthop_put(struct wbuf *b, const struct bgp_mp_reach *mp)
{
	if (mp->nexthop.afi)
		wbuf_put(b, mp->nexthop.b, ip_len(mp->nexthop.afi));
	if (mp->nexthop_ll.afi == DM_AFI_IPV6)
		wbuf_put(b, mp->nexthop_ll.b, 16);
}

static uint8_t nexthop_len(const struct bgp_mp_reach *mp)
{
	/* a next hop the decoder could not read (afi 0) is written as none, not as 0.0.0.0 */
	return (uint8_t)((mp->nexthop.afi ? ip_len(mp->nexthop.afi) : 0) + (mp->nexthop_ll.afi == DM_AFI_IPV6 ? 16 : 0));
}

int bgp_attrs_encode(struct wbuf *b, const struct bgp_attrs *a, int rib_form,
                     struct dm_error *err)
{
	size_t start = b->len, at;
	uint64_t has = a->present;

	/* Type order, as BGP speakers send them. */
	if (has & BGP_ATTR_BIT(BGP_ATTR_ORIGIN)) {
		at = attr_begin(b, BGP_ATTR_F_TRANSITIVE, BGP_ATTR_ORIGIN);
		wbuf_u8(b, a->origin);
		if (attr_end(b, at))
			goto toolong;
	}
	if (has & BGP_ATTR_BIT(BGP_ATTR_AS_PATH)) {
		/* RFC 6793 between 4-byte speakers, RFC 6396 §4.3.4 in RIBs: 4-byte ASNs. */
		at = attr_begin(b, BGP_ATTR_F_TRANSITIVE, BGP_ATTR_AS_PATH);
		for (uint16_t i = 0; i < a->as_path.nseg; i++) {
			const struct as_seg *s = &a->as_path.seg[i];
			wbuf_u8(b, s->type);
			wbuf_u8(b, s->count);
			for (unsigned k = 0; k < s->count; k++)
				wbuf_u32(b, s->asn[k]);
		}
		if (attr_end(b, at))
			goto toolong;
	}
	if (has & BGP_ATTR_BIT(BGP_ATTR_NEXT_HOP)) {
		at = attr_begin(b, BGP_ATTR_F_TRANSITIVE, BGP_ATTR_NEXT_HOP);
		wbuf_put(b, a->next_hop.b, 4);
		if (attr_end(b, at))
			goto toolong;
	}
	if (has & BGP_ATTR_BIT(BGP_ATTR_MULTI_EXIT_DISC)) {
		at = attr_begin(b, BGP_ATTR_F_OPTIONAL, BGP_ATTR_MULTI_EXIT_DISC);
		wbuf_u32(b, a->med);
		if (attr_end(b, at))
			goto toolong;
	}
	if (has & BGP_ATTR_BIT(BGP_ATTR_LOCAL_PREF)) {
		at = attr_begin(b, BGP_ATTR_F_TRANSITIVE, BGP_ATTR_LOCAL_PREF);
		wbuf_u32(b, a->local_pref);
		if (attr_end(b, at))
			goto toolong;
	}
	if (has & BGP_ATTR_BIT(BGP_ATTR_COMMUNITIES)) {
		at = attr_begin(b, BGP_ATTR_F_OPTIONAL | BGP_ATTR_F_TRANSITIVE, BGP_ATTR_COMMUNITIES);
		if (a->n_communities > 0xffff / 4)
			goto toolong;
		wbuf_put(b, a->communities, (size_t)a->n_communities * 4);
		if (attr_end(b, at))
			goto toolong;
	}
	if (has & BGP_ATTR_BIT(BGP_ATTR_MP_REACH_NLRI)) {
		const struct bgp_mp_reach *mp = &a->mp_reach;
		at = attr_begin(b, BGP_ATTR_F_OPTIONAL, BGP_ATTR_MP_REACH_NLRI);
		if (rib_form) {
			/* RFC 6396 §4.3.4: only next-hop length and next hop. */
			wbuf_u8(b, nexthop_len(mp));
			nexthop_put(b, mp);
		} else {
			/* RFC 4760 §3 */
			wbuf_u16(b, mp->afi);
			wbuf_u8(b, mp->safi);
			wbuf_u8(b, nexthop_len(mp));
			nexthop_put(b, mp);
			wbuf_u8(b, 0);          /* reserved */
			for (uint32_t i = 0; i < mp->nlri.n; i++)
				bgp_prefix_encode(b, &mp->nlri.pfx[i]);
		}
		if (attr_end(b, at))
			goto toolong;
	}
	if (!rib_form && (has & BGP_ATTR_BIT(BGP_ATTR_MP_UNREACH_NLRI))) {
		const struct bgp_mp_unreach *mu = &a->mp_unreach;
		at = attr_begin(b, BGP_ATTR_F_OPTIONAL, BGP_ATTR_MP_UNREACH_NLRI);
		wbuf_u16(b, mu->afi);       /* RFC 4760 §4 */
		wbuf_u8(b, mu->safi);
		for (uint32_t i = 0; i < mu->nlri.n; i++)
			bgp_prefix_encode(b, &mu->nlri.pfx[i]);
		if (attr_end(b, at))
			goto toolong;
	}
	if (b->overflow)
		goto toolong;
	return 0;
toolong:
	return fail_at(b, start, err, DM_ERR_BAD_LENGTH, "path attribute longer than 65535 bytes");
}

/* MRT common header (RFC 6396 §2); the length is patched by mrt_end. For _ET types the
 * microseconds follow and count in the length (§3). */
static size_t mrt_begin(struct wbuf *b, uint32_t ts, uint16_t type, uint16_t subtype, int et,
                        uint32_t usec)
{
	size_t at = b->len;
	wbuf_u32(b, ts);
	wbuf_u16(b, type);
	wbuf_u16(b, subtype);
	wbuf_u32(b, 0);
	if (et)
		wbuf_u32(b, usec);
	return at;
}

static void mrt_end(struct wbuf *b, size_t at)
{
	wbuf_set_u32(b, at + 8, (uint32_t)(b->len - at - MRT_HEADER_LEN));
}

int mrt_encode_peer_index(struct wbuf *b, uint32_t ts, const struct mrt_peer_index *pi,
                          struct dm_error *err)
{
	size_t start = b->len;
	size_t vlen = strnlen(pi->view, sizeof pi->view);
	size_t at = mrt_begin(b, ts, MRT_TABLE_DUMP_V2, MRT_TD2_PEER_INDEX_TABLE, 0, 0);
	/* RFC 6396 §4.3.1 */
	wbuf_u32(b, pi->collector_id);
	wbuf_u16(b, (uint16_t)vlen);
	wbuf_put(b, pi->view, vlen);
	wbuf_u16(b, pi->npeers);
	for (unsigned i = 0; i < pi->npeers; i++) {
		const struct mrt_peer *p = &pi->peers[i];
		if (p->addr.afi != DM_AFI_IPV4 && p->addr.afi != DM_AFI_IPV6)
			return fail_at(b, start, err, DM_ERR_BAD_VALUE, "peer without an address family");
		/* Peer Type: bit 0 = IPv6 address, bit 1 = 4-byte AS (always: one encoding for all). */
		wbuf_u8(b, (uint8_t)((p->addr.afi == DM_AFI_IPV6 ? 1 : 0) | 2));
		wbuf_u32(b, p->bgp_id);
		wbuf_put(b, p->addr.b, ip_len(p->addr.afi));
		wbuf_u32(b, p->asn);
	}
	if (b->overflow)
		return fail_at(b, start, err, DM_ERR_NOMEM, "out of memory");
	mrt_end(b, at);
	return 0;
}

int mrt_encode_rib(struct wbuf *b, uint32_t ts, const struct mrt_rib *rib, struct dm_error *err)
{
	size_t start = b->len;
	uint16_t subtype;
	if (rib->prefix.afi == DM_AFI_IPV4)
		subtype = MRT_TD2_RIB_IPV4_UNICAST;
	else if (rib->prefix.afi == DM_AFI_IPV6)
		subtype = MRT_TD2_RIB_IPV6_UNICAST;
	else
		return dm_fail(err, DM_ERR_BAD_VALUE, 0, "MRT writer: RIB prefix without family");
	size_t at = mrt_begin(b, ts, MRT_TABLE_DUMP_V2, subtype, 0, 0);
	/* RFC 6396 §4.3.2 */
	wbuf_u32(b, rib->seq);
	bgp_prefix_encode(b, &rib->prefix);
	wbuf_u16(b, rib->n);
	for (unsigned i = 0; i < rib->n; i++) {
		const struct mrt_rib_entry *e = &rib->e[i];
		wbuf_u16(b, e->peer_index);
		wbuf_u32(b, e->originated);
		size_t alen_at = b->len;
		wbuf_u16(b, 0);
		int rc = bgp_attrs_encode(b, &e->attrs, 1, err);
		if (rc) {
			b->len = start;
			return rc;
		}
		size_t alen = b->len - alen_at - 2;
		if (alen > 0xffff)
			return fail_at(b, start, err, DM_ERR_BAD_LENGTH, "RIB entry attributes > 65535");
		wbuf_set_u16(b, alen_at, (uint16_t)alen);
	}
	if (b->overflow)
		return fail_at(b, start, err, DM_ERR_NOMEM, "out of memory");
	mrt_end(b, at);
	return 0;
}

/* BGP4MP MESSAGE_AS4 / STATE_CHANGE_AS4 common part (RFC 6396 §4.4.2, §4.4.3); as2: the 2-byte
 * AS fields of MESSAGE (§4.4.2). */
static int session_put_as(struct wbuf *b, const struct mrt_session *s, int as2)
{
	uint16_t afi = s->afi ? s->afi : s->peer_ip.afi;
	if ((afi != DM_AFI_IPV4 && afi != DM_AFI_IPV6) || s->peer_ip.afi != afi ||
	    (s->local_ip.afi && s->local_ip.afi != afi))
		return -1;
	if (as2) {
		wbuf_u16(b, (uint16_t)s->peer_as);
		wbuf_u16(b, (uint16_t)s->local_as);
	} else {
		wbuf_u32(b, s->peer_as);
		wbuf_u32(b, s->local_as);
	}
	wbuf_u16(b, s->ifindex);
	wbuf_u16(b, afi);
	wbuf_put(b, s->peer_ip.b, ip_len((uint8_t)afi));
	wbuf_put(b, s->local_ip.b, ip_len((uint8_t)afi));  /* zeros when local_ip unset */
	return 0;
}

static int session_put(struct wbuf *b, const struct mrt_session *s) { return session_put_as(b, s, 0); }

enum { BGP_STD_MAX_MSG = 4096 };   /* RFC 4271 §4: no extended messages negotiated */

int mrt_encode_update(struct wbuf *b, int et, uint32_t ts, uint32_t usec,
                      const struct mrt_session *s, const struct bgp_update *u,
                      struct dm_error *err)
{
	size_t start = b->len;
	size_t at = mrt_begin(b, ts, et ? MRT_BGP4MP_ET : MRT_BGP4MP, MRT_BGP4MP_MESSAGE_AS4, et,
	                      usec);
	if (session_put(b, s))
		return fail_at(b, start, err, DM_ERR_BAD_VALUE, "session address families disagree");
	/* RFC 4271 §4.1 header, §4.3 UPDATE */
	size_t msg = b->len;
	static const uint8_t marker[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	                                    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	wbuf_put(b, marker, 16);
	wbuf_u16(b, 0);
	wbuf_u8(b, BGP_MSG_UPDATE);
	size_t wlen_at = b->len;
	wbuf_u16(b, 0);
	for (uint32_t i = 0; i < u->withdrawn.n; i++)
		bgp_prefix_encode(b, &u->withdrawn.pfx[i]);
	size_t wlen = b->len - wlen_at - 2;
	size_t alen_at = b->len;
	wbuf_u16(b, 0);
	int rc = bgp_attrs_encode(b, &u->attrs, 0, err);
	if (rc) {
		b->len = start;
		return rc;
	}
	size_t alen = b->len - alen_at - 2;
	for (uint32_t i = 0; i < u->announced.n; i++)
		bgp_prefix_encode(b, &u->announced.pfx[i]);
	if (b->overflow)
		return fail_at(b, start, err, DM_ERR_NOMEM, "out of memory");
	size_t mlen = b->len - msg;
	if (mlen > BGP_STD_MAX_MSG)
		return fail_at(b, start, err, DM_ERR_BAD_LENGTH, "BGP UPDATE longer than 4096 bytes");
	wbuf_set_u16(b, msg + 16, (uint16_t)mlen);
	wbuf_set_u16(b, wlen_at, (uint16_t)wlen);
	wbuf_set_u16(b, alen_at, (uint16_t)alen);
	mrt_end(b, at);
	return 0;
}

int mrt_encode_message(struct wbuf *b, int et, uint32_t ts, uint32_t usec, const struct mrt_session *s,
                       const uint8_t *msg, size_t len, struct dm_error *err)
{
	size_t start = b->len;
	uint16_t st = s->as4 ? (s->addpath ? MRT_BGP4MP_MESSAGE_AS4_ADDPATH : MRT_BGP4MP_MESSAGE_AS4)
	                     : (s->addpath ? MRT_BGP4MP_MESSAGE_ADDPATH : MRT_BGP4MP_MESSAGE);
	if (len < BGP_HEADER_LEN || len > BGP_MAX_MSG)
		return dm_fail(err, DM_ERR_BAD_LENGTH, 0, "MRT writer: BGP message of %zu bytes", len);
	size_t at = mrt_begin(b, ts, et ? MRT_BGP4MP_ET : MRT_BGP4MP, st, et, usec);
	if (session_put_as(b, s, !s->as4))
		return fail_at(b, start, err, DM_ERR_BAD_VALUE, "session address families disagree");
	wbuf_put(b, msg, len);
	if (b->overflow)
		return fail_at(b, start, err, DM_ERR_NOMEM, "out of memory");
	mrt_end(b, at);
	return 0;
}

size_t mrt_rib_begin(struct wbuf *b, uint32_t ts, int addpath, uint32_t seq, const struct dm_prefix *p)
{
	uint16_t st = p->afi == DM_AFI_IPV6 ? MRT_TD2_RIB_IPV6_UNICAST : MRT_TD2_RIB_IPV4_UNICAST;
	if (addpath)
		st = st == MRT_TD2_RIB_IPV6_UNICAST ? MRT_TD2_RIB_IPV6_UNICAST_ADDPATH : MRT_TD2_RIB_IPV4_UNICAST_ADDPATH;
	size_t at = mrt_begin(b, ts, MRT_TABLE_DUMP_V2, st, 0, 0);
	/* RFC 6396 §4.3.2 */
	wbuf_u32(b, seq);
	bgp_prefix_encode(b, p);
	wbuf_u16(b, 0);   /* entry count, patched by mrt_rib_end */
	return at;
}

void mrt_rib_entry(struct wbuf *b, int addpath, uint16_t peer_index, uint32_t originated, uint32_t path_id,
                   const uint8_t *attrs, size_t len)
{
	wbuf_u16(b, peer_index);
	wbuf_u32(b, originated);
	if (addpath)
		wbuf_u32(b, path_id);   /* RFC 8050 §4.3 */
	if (len > 0xffff) {
		b->overflow = 1;
		return;
	}
	wbuf_u16(b, (uint16_t)len);
	wbuf_put(b, attrs, len);
}

int mrt_rib_end(struct wbuf *b, size_t start, uint16_t n, struct dm_error *err)
{
	if (b->overflow)
		return fail_at(b, start, err, DM_ERR_BAD_LENGTH, "RIB entry too long or out of memory");
	/* the entry count sits before the entries: after header, sequence number and prefix */
	size_t plen = b->p[start + MRT_HEADER_LEN + 4];
	wbuf_set_u16(b, start + MRT_HEADER_LEN + 4 + 1 + (plen + 7) / 8, n);
	mrt_end(b, start);
	return 0;
}

/* One attribute copied as it is (flags, type, length, value). */
static void attr_copy(struct wbuf *b, uint8_t flags, uint8_t type, const uint8_t *v, size_t len)
{
	size_t at = attr_begin(b, flags & (uint8_t)~BGP_ATTR_F_EXTLEN, type);
	wbuf_put(b, v, len);
	attr_end(b, at);
}

int bgp_attrs_rib_form(struct wbuf *b, const uint8_t *raw, size_t len, uint8_t asn_size,
                       const struct dm_ip *nexthop, struct arena *a, struct dm_error *err)
{
	size_t start = b->len;
	struct bgp_attrs d;
	if (asn_size == 2) {   /* the merged path and 4-byte aggregator need the decoded block */
		struct bgp_ctx ctx = { .asn_size = 2 };
		struct cur c = cur_make(raw, len);
		bgp_attrs_decode(&c, &ctx, a, &d, NULL);
	}
	struct cur c = cur_make(raw, len);
	while (cur_left(&c)) {
		uint8_t flags, type, l8;
		uint16_t alen;
		struct cur v;
		if (cur_u8(&c, &flags) < 0 || cur_u8(&c, &type) < 0)
			break;
		if (flags & BGP_ATTR_F_EXTLEN) {
			if (cur_u16(&c, &alen) < 0)
				break;
		} else {
			if (cur_u8(&c, &l8) < 0)
				break;
			alen = l8;
		}
		if (cur_take(&c, alen, &v) < 0)
			break;   /* a block the RIB accepted frames; a cut one keeps what came before */
		switch (type) {
		case BGP_ATTR_MP_REACH_NLRI:
		case BGP_ATTR_MP_UNREACH_NLRI:
			continue;
		case BGP_ATTR_AS4_PATH:
		case BGP_ATTR_AS4_AGGREGATOR:
			if (asn_size == 2)
				continue;
			break;
		case BGP_ATTR_AS_PATH:
			if (asn_size == 2) {
				size_t at = attr_begin(b, BGP_ATTR_F_TRANSITIVE, BGP_ATTR_AS_PATH);
				for (uint16_t i = 0; i < d.path.nseg; i++) {
					wbuf_u8(b, d.path.seg[i].type);
					wbuf_u8(b, d.path.seg[i].count);
					for (unsigned k = 0; k < d.path.seg[i].count; k++)
						wbuf_u32(b, d.path.seg[i].asn[k]);
				}
				attr_end(b, at);
				continue;
			}
			break;
		case BGP_ATTR_AGGREGATOR:
			if (asn_size == 2 && alen == 6) {
				/* RFC 6793 §4.2.3: AS4_AGGREGATOR's AS and address when present */
				int as4 = (d.present & BGP_ATTR_BIT(BGP_ATTR_AS4_AGGREGATOR)) != 0;
				size_t at = attr_begin(b, flags, BGP_ATTR_AGGREGATOR);
				wbuf_u32(b, as4 ? d.as4_aggregator_as : d.aggregator_as);
				wbuf_put(b, as4 ? d.as4_aggregator_addr.b : v.p + 2, 4);
				attr_end(b, at);
				continue;
			}
			break;
		}
		attr_copy(b, flags, type, v.p, alen);
	}
	if (nexthop && nexthop->afi == DM_AFI_IPV6) {
		struct bgp_mp_reach mp = { .nexthop = *nexthop };
		size_t at = attr_begin(b, BGP_ATTR_F_OPTIONAL, BGP_ATTR_MP_REACH_NLRI);
		wbuf_u8(b, nexthop_len(&mp));
		nexthop_put(b, &mp);
		attr_end(b, at);
	}
	if (b->overflow)
		return fail_at(b, start, err, DM_ERR_BAD_LENGTH, "RIB attributes too long or out of memory");
	return 0;
}

int mrt_encode_state(struct wbuf *b, int et, uint32_t ts, uint32_t usec,
                     const struct mrt_session *s, uint16_t old_state, uint16_t new_state,
                     struct dm_error *err)
{
	size_t start = b->len;
	size_t at = mrt_begin(b, ts, et ? MRT_BGP4MP_ET : MRT_BGP4MP, MRT_BGP4MP_STATE_CHANGE_AS4,
	                      et, usec);
	if (session_put(b, s))
		return fail_at(b, start, err, DM_ERR_BAD_VALUE, "session address families disagree");
	wbuf_u16(b, old_state);
	wbuf_u16(b, new_state);
	if (b->overflow)
		return fail_at(b, start, err, DM_ERR_NOMEM, "out of memory");
	mrt_end(b, at);
	return 0;
}

/* ---- sinks ------------------------------------------------------------------------------ */

enum { FLUSH_AT = 256 * 1024, OUT_CHUNK = 64 * 1024 };

struct mrt_writer {
	FILE *f;
	int own;                  /* opened by path: fclose at the end */
	enum dm_compression comp;
	z_stream z;
	bz_stream bz;
	int et;
	int failed;               /* a write or compressor call failed */
	char *name;
	struct wbuf b;            /* records not yet handed to the sink */
	uint64_t records, bytes;
	uint8_t out[OUT_CHUNK];
};

static void sink_fwrite(struct mrt_writer *w, const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, w->f) != n)
		w->failed = 1;
}

/* Hands n bytes to the compressor (finish = 1: end the stream). */
static void sink_write(struct mrt_writer *w, const uint8_t *p, size_t n, int finish)
{
	if (w->failed)
		return;
	switch (w->comp) {
	case DM_COMP_GZIP:
		w->z.next_in = (Bytef *)p;
		w->z.avail_in = (uInt)n;
		for (;;) {
			w->z.next_out = w->out;
			w->z.avail_out = OUT_CHUNK;
			int rc = deflate(&w->z, finish ? Z_FINISH : Z_NO_FLUSH);
			if (rc == Z_STREAM_ERROR) {
				w->failed = 1;
				return;
			}
			sink_fwrite(w, w->out, OUT_CHUNK - w->z.avail_out);
			if (finish ? rc == Z_STREAM_END : w->z.avail_in == 0 && w->z.avail_out != 0)
				break;
		}
		break;
	case DM_COMP_BZIP2:
		w->bz.next_in = (char *)p;
		w->bz.avail_in = (unsigned)n;
		for (;;) {
			w->bz.next_out = (char *)w->out;
			w->bz.avail_out = OUT_CHUNK;
			int rc = BZ2_bzCompress(&w->bz, finish ? BZ_FINISH : BZ_RUN);
			if (rc != BZ_RUN_OK && rc != BZ_FINISH_OK && rc != BZ_STREAM_END) {
				w->failed = 1;
				return;
			}
			sink_fwrite(w, w->out, OUT_CHUNK - w->bz.avail_out);
			if (finish ? rc == BZ_STREAM_END : w->bz.avail_in == 0)
				break;
		}
		break;
	default:
		sink_fwrite(w, p, n);
		break;
	}
}

static void writer_flush(struct mrt_writer *w, int finish)
{
	if (w->b.len || finish)
		sink_write(w, w->b.p, w->b.len, finish);
	w->b.len = 0;
}

struct mrt_writer *mrt_writer_open_stream(FILE *f, enum dm_compression comp,
                                          struct dm_error *err)
{
	struct mrt_writer *w = calloc(1, sizeof *w);
	if (!w) {
		dm_fail(err, DM_ERR_NOMEM, 0, "MRT writer: out of memory");
		return NULL;
	}
	w->f = f;
	w->comp = comp;
	w->et = 1;
	wbuf_init(&w->b);
	int rc = 0;
	if (comp == DM_COMP_GZIP)
		rc = deflateInit2(&w->z, 6, Z_DEFLATED, 15 + 16 /* gzip wrapper */, 8,
		                  Z_DEFAULT_STRATEGY) != Z_OK;
	else if (comp == DM_COMP_BZIP2)   /* 100k blocks: 1.1 MB per stream instead of 7.6 MB, which a scenario opening thousands of small update files pays in page faults; bzip2 -d reads any block size */
		rc = BZ2_bzCompressInit(&w->bz, 1, 0, 0) != BZ_OK;
	else if (comp != DM_COMP_NONE)
		rc = 1;
	if (rc) {
		dm_fail(err, DM_ERR_IO, 0, "MRT writer: cannot start compression %d", (int)comp);
		free(w);
		return NULL;
	}
	return w;
}

static int has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && !strcmp(s + n - m, suf);
}

/* A writer owning f (closed with it, or now when the writer cannot be made). */
static struct mrt_writer *writer_own(FILE *f, enum dm_compression comp, const char *path, struct dm_error *err)
{
	struct mrt_writer *w = mrt_writer_open_stream(f, comp, err);
	if (!w) {
		fclose(f);
		return NULL;
	}
	w->own = 1;
	w->name = strdup(path);
	return w;
}

struct mrt_writer *mrt_writer_open(const char *path, struct dm_error *err)
{
	enum dm_compression comp = has_suffix(path, ".gz")    ? DM_COMP_GZIP
	                           : has_suffix(path, ".bz2") ? DM_COMP_BZIP2
	                                                      : DM_COMP_NONE;
	FILE *f = fopen(path, "wb");
	if (!f) {
		dm_fail(err, DM_ERR_IO, 0, "%s: cannot create: %s", path, strerror(errno));
		return NULL;
	}
	return writer_own(f, comp, path, err);
}

struct mrt_writer *mrt_writer_create(const char *path, struct dm_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		dm_fail(err, DM_ERR_IO, 0, "%s: cannot create: %s", path, strerror(errno));
		return NULL;
	}
	FILE *f = fdopen(fd, "wb");
	if (!f) {
		dm_fail(err, DM_ERR_IO, 0, "%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	/* unbuffered: each sink write is one write(2) of whole records (see writer.h) */
	setvbuf(f, NULL, _IONBF, 0);
	return writer_own(f, DM_COMP_NONE, path, err);
}

int mrt_writer_flush(struct mrt_writer *w, int sync, struct dm_error *err)
{
	writer_flush(w, 0);
	if (fflush(w->f) || (sync && fdatasync(fileno(w->f))))
		w->failed = 1;
	if (w->failed)
		return dm_fail(err, DM_ERR_IO, w->bytes, "%s: write failed", w->name ? w->name : "MRT output");
	return 0;
}

int mrt_writer_close(struct mrt_writer *w, struct dm_error *err)
{
	if (!w)
		return 0;
	writer_flush(w, w->comp != DM_COMP_NONE);
	if (w->comp == DM_COMP_GZIP)
		deflateEnd(&w->z);
	else if (w->comp == DM_COMP_BZIP2)
		BZ2_bzCompressEnd(&w->bz);
	if (fflush(w->f))
		w->failed = 1;
	if (w->own && fclose(w->f))
		w->failed = 1;
	int rc = 0;
	if (w->failed)
		rc = dm_fail(err, DM_ERR_IO, w->bytes, "%s: write failed",
		             w->name ? w->name : "MRT output");
	wbuf_free(&w->b);
	free(w->name);
	free(w);
	return rc;
}

void mrt_writer_set_extended_time(struct mrt_writer *w, int et) { w->et = et != 0; }
uint64_t mrt_writer_records(const struct mrt_writer *w) { return w->records; }
uint64_t mrt_writer_bytes(const struct mrt_writer *w) { return w->bytes; }

/* Accounts for the record just appended and hands the buffer on when it is large. */
static int written(struct mrt_writer *w, size_t before, int rc, struct dm_error *err)
{
	if (rc)
		return rc;
	w->records++;
	w->bytes += w->b.len - before;
	if (w->b.len >= FLUSH_AT)
		writer_flush(w, 0);
	if (w->failed)
		return dm_fail(err, DM_ERR_IO, w->bytes, "%s: write failed",
		               w->name ? w->name : "MRT output");
	return 0;
}

int mrt_write_peer_index(struct mrt_writer *w, uint32_t ts, const struct mrt_peer_index *pi,
                         struct dm_error *err)
{
	size_t before = w->b.len;
	return written(w, before, mrt_encode_peer_index(&w->b, ts, pi, err), err);
}

int mrt_write_rib(struct mrt_writer *w, uint32_t ts, const struct mrt_rib *rib,
                  struct dm_error *err)
{
	size_t before = w->b.len;
	return written(w, before, mrt_encode_rib(&w->b, ts, rib, err), err);
}

int mrt_write_update(struct mrt_writer *w, uint32_t ts, uint32_t usec,
                     const struct mrt_session *s, const struct bgp_update *u,
                     struct dm_error *err)
{
	size_t before = w->b.len;
	return written(w, before, mrt_encode_update(&w->b, w->et, ts, usec, s, u, err), err);
}

int mrt_write_state(struct mrt_writer *w, uint32_t ts, uint32_t usec,
                    const struct mrt_session *s, uint16_t old_state, uint16_t new_state,
                    struct dm_error *err)
{
	size_t before = w->b.len;
	return written(w, before,
	               mrt_encode_state(&w->b, w->et, ts, usec, s, old_state, new_state, err), err);
}

int mrt_write_message(struct mrt_writer *w, uint32_t ts, uint32_t usec, const struct mrt_session *s,
                      const uint8_t *msg, size_t len, struct dm_error *err)
{
	size_t before = w->b.len;
	return written(w, before, mrt_encode_message(&w->b, w->et, ts, usec, s, msg, len, err), err);
}

int mrt_write_bytes(struct mrt_writer *w, const void *p, size_t n, struct dm_error *err)
{
	size_t before = w->b.len;
	wbuf_put(&w->b, p, n);
	if (w->b.overflow) {
		w->b.overflow = 0;
		w->b.len = before;
		return dm_fail(err, DM_ERR_NOMEM, w->bytes, "MRT writer: out of memory");
	}
	int rc = written(w, before, 0, err);
	w->records--;   /* bytes, not a record of their own */
	return rc;
}
