/* libFuzzer target: the MRT writer (src/mrt/writer) against the decoder. Every record the
 * decoder accepts in the form the writer can express (PEER_INDEX_TABLE, RIB_IPV4/IPV6_UNICAST
 * without ADD-PATH, BGP4MP(_ET) UPDATEs and STATE_CHANGEs) is encoded again, the bytes are
 * decoded again, and what the writer promises to carry must come back equal: peers, prefixes,
 * entries, ORIGIN, AS_PATH, NEXT_HOP, MED, LOCAL_PREF, COMMUNITIES, MP_REACH/MP_UNREACH next
 * hops and NLRI, session addresses and ASes, FSM states. A refused record leaves the buffer as
 * it was (writer.h). Input: a sequence of MRT records, as fuzz_mrt. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_records.h"
#include "fuzz_util.h"
#include "mrt/writer.h"

/* the attributes bgp_attrs_encode writes */
#define WRITTEN                                                                                       \
	(BGP_ATTR_BIT(BGP_ATTR_ORIGIN) | BGP_ATTR_BIT(BGP_ATTR_AS_PATH) | BGP_ATTR_BIT(BGP_ATTR_NEXT_HOP) | \
	 BGP_ATTR_BIT(BGP_ATTR_MULTI_EXIT_DISC) | BGP_ATTR_BIT(BGP_ATTR_LOCAL_PREF) |                     \
	 BGP_ATTR_BIT(BGP_ATTR_COMMUNITIES) | BGP_ATTR_BIT(BGP_ATTR_MP_REACH_NLRI) |                      \
	 BGP_ATTR_BIT(BGP_ATTR_MP_UNREACH_NLRI))

static size_t iplen(uint8_t afi)
{
	return afi == DM_AFI_IPV4 ? 4 : afi == DM_AFI_IPV6 ? 16 : 0;
}

static void ip_eq(const struct dm_ip *a, const struct dm_ip *b)
{
	CHECK(a->afi == b->afi);
	CHECK(memcmp(a->b, b->b, iplen(a->afi)) == 0);
}

/* Bits past the length are not part of the prefix: compared masked. */
static void pfx_eq(const struct dm_prefix *a, const struct dm_prefix *b)
{
	CHECK(a->afi == b->afi && a->len == b->len);
	for (unsigned i = 0; i < (a->len + 7u) / 8; i++) {
		unsigned bits = a->len - i * 8 >= 8 ? 8 : a->len - i * 8;
		uint8_t m = (uint8_t)(0xff00u >> bits);
		CHECK((a->b[i] & m) == (b->b[i] & m));
	}
}

static void list_eq(const struct nlri_list *a, const struct nlri_list *b)
{
	CHECK(a->n == b->n);
	for (uint32_t i = 0; i < a->n; i++)
		pfx_eq(&a->pfx[i], &b->pfx[i]);
}

static int attrs_ok(const struct bgp_attrs *a)
{
	if (a->n_errors || a->treat_as_withdraw)
		return 0;
	if ((a->present & BGP_ATTR_BIT(BGP_ATTR_MP_REACH_NLRI)) && !a->mp_reach.nlri_supported)
		return 0;
	return 1;
}

static void attrs_eq(const struct bgp_attrs *a, const struct bgp_attrs *b, int rib_form)
{
	uint64_t want = a->present & WRITTEN;
	if (rib_form)
		want &= ~BGP_ATTR_BIT(BGP_ATTR_MP_UNREACH_NLRI);
	CHECK((b->present & ~BGP_ATTRS_F_OTHER) == want);
	if (want & BGP_ATTR_BIT(BGP_ATTR_ORIGIN))
		CHECK(a->origin == b->origin);
	if (want & BGP_ATTR_BIT(BGP_ATTR_AS_PATH)) {
		CHECK(a->as_path.nseg == b->as_path.nseg);
		for (uint16_t i = 0; i < a->as_path.nseg; i++) {
			const struct as_seg *x = &a->as_path.seg[i], *y = &b->as_path.seg[i];
			CHECK(x->type == y->type && x->count == y->count);
			CHECK(x->count == 0 || memcmp(x->asn, y->asn, x->count * sizeof *x->asn) == 0);
		}
	}
	if (want & BGP_ATTR_BIT(BGP_ATTR_NEXT_HOP))
		CHECK(memcmp(a->next_hop.b, b->next_hop.b, 4) == 0);
	if (want & BGP_ATTR_BIT(BGP_ATTR_MULTI_EXIT_DISC))
		CHECK(a->med == b->med);
	if (want & BGP_ATTR_BIT(BGP_ATTR_LOCAL_PREF))
		CHECK(a->local_pref == b->local_pref);
	if (want & BGP_ATTR_BIT(BGP_ATTR_COMMUNITIES)) {
		CHECK(a->n_communities == b->n_communities);
		CHECK(!a->n_communities || memcmp(a->communities, b->communities, a->n_communities * 4u) == 0);
	}
	if (want & BGP_ATTR_BIT(BGP_ATTR_MP_REACH_NLRI)) {
		ip_eq(&a->mp_reach.nexthop, &b->mp_reach.nexthop);
		ip_eq(&a->mp_reach.nexthop_ll, &b->mp_reach.nexthop_ll);
		if (!rib_form) {
			CHECK(a->mp_reach.afi == b->mp_reach.afi && a->mp_reach.safi == b->mp_reach.safi);
			list_eq(&a->mp_reach.nlri, &b->mp_reach.nlri);
		}
	}
	if (want & BGP_ATTR_BIT(BGP_ATTR_MP_UNREACH_NLRI)) {
		CHECK(a->mp_unreach.afi == b->mp_unreach.afi && a->mp_unreach.safi == b->mp_unreach.safi);
		list_eq(&a->mp_unreach.nlri, &b->mp_unreach.nlri);
	}
}

static void session_eq(const struct mrt_session *a, const struct mrt_session *b)
{
	CHECK(a->peer_as == b->peer_as && a->local_as == b->local_as && a->ifindex == b->ifindex);
	ip_eq(&a->peer_ip, &b->peer_ip);
	if (a->local_ip.afi)
		ip_eq(&a->local_ip, &b->local_ip);
	CHECK(b->as4 && !b->addpath && !b->local);
}

struct rt {
	struct mrt_ctx ctx2;            /* decodes what the writer wrote */
	struct wbuf b;
	unsigned checked;
};

/* Decodes the one record at b->p[0..len) with ctx2. */
static int redecode(struct rt *r, struct mrt_rec *out)
{
	const uint8_t *p = r->b.p;
	CHECK(r->b.len >= MRT_HEADER_LEN);
	struct mrt_hdr h = { be32(p), 0, be16(p + 4), be16(p + 6), be32(p + 8), 0, 0 };
	CHECK(h.len == r->b.len - MRT_HEADER_LEN);
	const uint8_t *body = p + MRT_HEADER_LEN;
	if (h.type == MRT_BGP4MP_ET) {
		CHECK(h.len >= 4);
		h.usec = be32(body);
		body += 4;
		h.len -= 4;
	}
	struct dm_error err;
	return mrt_decode(&r->ctx2, &h, body, out, &err);
}

static void each(struct mrt_ctx *ctx, const struct mrt_rec *rec, void *arg)
{
	struct rt *r = arg;
	struct dm_error err;
	struct mrt_rec back;
	const uint32_t ts = rec->hdr.ts;
	r->b.len = 0;
	int rc = -1;
	switch (rec->kind) {
	case MRT_K_PEER_INDEX: {
		const struct mrt_peer_index *pi = ctx->peer_index;
		if (!pi)
			return;
		rc = mrt_encode_peer_index(&r->b, ts, pi, &err);
		if (rc) {
			CHECK(r->b.len == 0);
			return;
		}
		CHECK(redecode(r, &back) == 0 && back.kind == MRT_K_PEER_INDEX);
		const struct mrt_peer_index *q = r->ctx2.peer_index;
		CHECK(q && q->collector_id == pi->collector_id && q->npeers == pi->npeers);
		CHECK(strncmp(q->view, pi->view, sizeof q->view) == 0);
		for (unsigned i = 0; i < pi->npeers; i++) {
			ip_eq(&pi->peers[i].addr, &q->peers[i].addr);
			CHECK(pi->peers[i].asn == q->peers[i].asn && pi->peers[i].bgp_id == q->peers[i].bgp_id);
		}
		break;
	}
	case MRT_K_RIB: {
		const struct mrt_rib *a = &rec->u.rib;
		if (a->addpath || !a->has_prefix || a->safi != DM_SAFI_UNICAST || rec->nwarn)
			return;
		for (unsigned i = 0; i < a->n; i++)
			if (a->e[i].attr_err || !attrs_ok(&a->e[i].attrs))
				return;
		rc = mrt_encode_rib(&r->b, ts, a, &err);
		if (rc) {
			CHECK(r->b.len == 0);
			return;
		}
		CHECK(redecode(r, &back) == 0 && back.kind == MRT_K_RIB);
		const struct mrt_rib *b = &back.u.rib;
		CHECK(b->seq == a->seq && b->afi == a->afi && b->n == a->n && !b->addpath);
		pfx_eq(&a->prefix, &b->prefix);
		for (unsigned i = 0; i < a->n; i++) {
			CHECK(b->e[i].peer_index == a->e[i].peer_index && b->e[i].originated == a->e[i].originated);
			CHECK(b->e[i].attr_err == 0);
			attrs_eq(&a->e[i].attrs, &b->e[i].attrs, 1);
		}
		break;
	}
	case MRT_K_MESSAGE: {
		const struct mrt_message *m = &rec->u.msg;
		if (m->msg_err || m->msg.type != BGP_MSG_UPDATE || m->s.addpath || rec->nwarn)
			return;
		const struct bgp_update *u = &m->msg.u.update;
		if (u->attr_err || u->nlri_err || u->addpath_guessed || !attrs_ok(&u->attrs))
			return;
		int et = rec->hdr.type == MRT_BGP4MP_ET;
		rc = mrt_encode_update(&r->b, et, ts, rec->hdr.usec, &m->s, u, &err);
		if (rc) {
			CHECK(r->b.len == 0);
			return;
		}
		CHECK(redecode(r, &back) == 0 && back.kind == MRT_K_MESSAGE);
		const struct mrt_message *n = &back.u.msg;
		CHECK(back.hdr.usec == (et ? rec->hdr.usec : 0));
		CHECK(n->msg_err == 0 && n->msg.type == BGP_MSG_UPDATE);
		session_eq(&m->s, &n->s);
		const struct bgp_update *v = &n->msg.u.update;
		CHECK(v->attr_err == 0 && v->nlri_err == 0);
		list_eq(&u->withdrawn, &v->withdrawn);
		list_eq(&u->announced, &v->announced);
		attrs_eq(&u->attrs, &v->attrs, 0);
		break;
	}
	case MRT_K_STATE: {
		const struct mrt_state *s = &rec->u.state;
		int et = rec->hdr.type == MRT_BGP4MP_ET;
		rc = mrt_encode_state(&r->b, et, ts, rec->hdr.usec, &s->s, s->old_state, s->new_state, &err);
		if (rc) {
			CHECK(r->b.len == 0);   /* e.g. Zebra's 8-byte form: no address to write */
			return;
		}
		CHECK(redecode(r, &back) == 0 && back.kind == MRT_K_STATE);
		CHECK(back.u.state.old_state == s->old_state && back.u.state.new_state == s->new_state);
		session_eq(&s->s, &back.u.state.s);
		break;
	}
	default:
		return;
	}
	CHECK(back.hdr.ts == ts);
	r->checked++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mrt_ctx ctx;
	struct rt r;
	mrt_ctx_init(&ctx);
	mrt_ctx_init(&r.ctx2);
	wbuf_init(&r.b);
	r.checked = 0;
	fuzz_each_record(data, size, &ctx, each, &r);
	wbuf_free(&r.b);
	mrt_ctx_free(&r.ctx2);
	mrt_ctx_free(&ctx);
	return 0;
}
