/* Record -> per-prefix elements. */
#include "mrt/elem.h"

#include <string.h>

static unsigned emit_list(const struct nlri_list *l, struct dm_elem *e, dm_elem_fn fn, void *arg)
{
	if (!l->pfx && l->n) {
		/* framed (bgp_nlri_frame, replay): each prefix read from the checked bytes into the
		 * element, no list of them made. The list's fields in locals: fn may write anywhere. */
		const uint8_t *p = l->raw, *end = l->raw + l->raw_len;
		uint32_t n = l->n;
		uint8_t fam = l->fam;
		e->has_path_id = l->addpath;
		e->path_id = 0;
		const uint8_t *lo = p;
		/* each prefix's length read before it is stored: the stores (bytes) could alias *p */
		if (l->addpath) {
			for (uint32_t i = 0; i < n; i++) {
				e->path_id = be32(p);
				p += 4;
				unsigned len = *p;
				bgp_prefix_load_in(&e->prefix, p, lo, end, fam);
				p = bgp_nlri_next(p, len);
				fn(e, arg);
			}
		} else {
			for (uint32_t i = 0; i < n; i++) {
				unsigned len = *p;
				bgp_prefix_load_in(&e->prefix, p, lo, end, fam);
				p = bgp_nlri_next(p, len);
				fn(e, arg);
			}
		}
		return n;
	}
	for (uint32_t i = 0; i < l->n; i++) {
		e->prefix = l->pfx[i];
		e->has_path_id = l->path_id != NULL;
		e->path_id = l->path_id ? l->path_id[i] : 0;
		fn(e, arg);
	}
	return l->n;
}

/* e: the record's element (time set, the rest cleared), shared by its entries */
static unsigned td1_elems(struct dm_elem *e, const struct mrt_td1 *t, dm_elem_fn fn, void *arg)
{
	if (t->attrs.action >= BGP_ERR_TREAT_AS_WITHDRAW)
		return 0;   /* RFC 7606: attributes an UPDATE would withdraw make no route */
	e->type = DM_ELEM_RIB;
	e->peer_ip = &t->peer_ip;
	e->peer_asn = t->peer_as;
	e->prefix = t->prefix;
	e->attrs = &t->attrs;
	e->next_hop = bgp_attrs_next_hop(&t->attrs, t->prefix.afi);
	fn(e, arg);
	return 1;
}

/* Each prefix of one list (framed or decoded) to fn. */
static void list_prefixes(const struct nlri_list *l, dm_prefix_fn fn, void *arg)
{
	if (l->pfx) {
		for (uint32_t i = 0; i < l->n; i++)
			fn(&l->pfx[i], arg);
		return;
	}
	const uint8_t *p = l->raw, *end = l->raw + l->raw_len;
	uint32_t n = l->n;
	uint8_t fam = l->fam, addpath = l->addpath;
	struct dm_prefix d;
	const uint8_t *lo = p;
	for (uint32_t i = 0; i < n; i++) {
		p += addpath ? 4 : 0;
		unsigned len = *p;
		bgp_prefix_load_in(&d, p, lo, end, fam);
		p = bgp_nlri_next(p, len);
		fn(&d, arg);
	}
}

void bgp_update_prefixes(const struct bgp_update *u, dm_prefix_fn fn, void *arg)
{
	const struct bgp_attrs *a = &u->attrs;
	list_prefixes(&u->withdrawn, fn, arg);
	if (a->mp_unreach.nlri_supported)
		list_prefixes(&a->mp_unreach.nlri, fn, arg);
	list_prefixes(&u->announced, fn, arg);
	if (a->mp_reach.nlri_supported)
		list_prefixes(&a->mp_reach.nlri, fn, arg);
}

/* The elements of an UPDATE into e (time and peer set by the caller), changed in place. */
static inline unsigned update_elems(const struct bgp_update *u, struct dm_elem *e, dm_elem_fn fn, void *arg)
{
	const struct bgp_attrs *a = &u->attrs;
	unsigned n = 0;
	e->attrs = NULL;
	e->next_hop = NULL;
	e->type = DM_ELEM_WITHDRAW;
	if (u->withdrawn.n)   /* most UPDATEs withdraw nothing: no call for an empty list */
		n += emit_list(&u->withdrawn, e, fn, arg);
	if (a->mp_unreach.nlri_supported)
		n += emit_list(&a->mp_unreach.nlri, e, fn, arg);
	/* RFC 7606: announcements of an UPDATE at treat-as-withdraw or worse are withdrawals
	 * (bgp.h, enum bgp_err_action; -m prints the same W lines). */
	if (a->action >= BGP_ERR_TREAT_AS_WITHDRAW) {
		n += emit_list(&u->announced, e, fn, arg);
		if (a->mp_reach.nlri_supported)
			n += emit_list(&a->mp_reach.nlri, e, fn, arg);
		return n;
	}
	e->type = DM_ELEM_ANNOUNCE;
	e->attrs = a;
	e->next_hop = bgp_attrs_next_hop(a, DM_AFI_IPV4);
	n += emit_list(&u->announced, e, fn, arg);
	if (a->mp_reach.nlri_supported) {
		e->next_hop = a->mp_reach.nexthop.afi ? &a->mp_reach.nexthop : bgp_attrs_next_hop(a, a->mp_reach.afi);
		n += emit_list(&a->mp_reach.nlri, e, fn, arg);
	}
	return n;
}

unsigned bgp_update_elems(const struct bgp_update *u, const struct dm_elem *tmpl, dm_elem_fn fn, void *arg)
{
	struct dm_elem e = *tmpl;
	return update_elems(u, &e, fn, arg);
}

unsigned mrt_elems(const struct mrt_ctx *ctx, const struct mrt_rec *rec, dm_elem_fn fn, void *arg)
{
	struct dm_elem e;
	unsigned n = 0;
	memset(&e, 0, sizeof e);
	e.ts = rec->hdr.ts;
	e.usec = rec->hdr.usec;
	/* By tests, the kinds of update files and RIBs first: the switch's jump table was an
	 * indirect branch a record (2% of decoding the 2002 RIB, perf). */
	if (rec->kind == MRT_K_MESSAGE) {
		const struct mrt_message *m = &rec->u.msg;
		if (m->msg.type != BGP_MSG_UPDATE || m->s.local)
			return 0;
		e.peer_ip = &m->s.peer_ip;
		e.peer_asn = m->s.peer_as;
		return update_elems(&m->msg.u.update, &e, fn, arg);
	}
	if (rec->kind == MRT_K_RIB) {
		const struct mrt_rib *r = &rec->u.rib;
		if (!r->has_prefix || !ctx->peer_index)
			return 0;
		e.type = DM_ELEM_RIB;
		e.prefix = r->prefix;
		e.has_path_id = r->addpath;
		for (uint16_t i = 0; i < r->n; i++) {
			const struct mrt_rib_entry *x = &r->e[i];
			if (x->attrs.action >= BGP_ERR_TREAT_AS_WITHDRAW)
				continue;   /* RFC 7606: no route (the decoder reported the attribute) */
			const struct mrt_peer *p = &ctx->peer_index->peers[x->peer_index];
			e.peer_ip = &p->addr;
			e.peer_asn = p->asn;
			e.path_id = x->path_id;
			e.attrs = &x->attrs;
			e.next_hop = bgp_attrs_next_hop(&x->attrs, r->afi);
			fn(&e, arg);
			n++;
		}
		return n;
	}
	if (rec->kind == MRT_K_TD1) {
		const struct mrt_td1 *t = &rec->u.td1;
		n += td1_elems(&e, t, fn, arg);
		for (uint32_t i = 0; i < t->nmore; i++)
			n += td1_elems(&e, &t->more[i], fn, arg);
		return n;
	}
	if (rec->kind == MRT_K_STATE) {
		const struct mrt_state *s = &rec->u.state;
		e.type = DM_ELEM_STATE;
		e.peer_ip = &s->s.peer_ip;
		e.peer_asn = s->s.peer_as;
		e.old_state = s->old_state;
		e.new_state = s->new_state;
		fn(&e, arg);
		return 1;
	}
	if (rec->kind == MRT_K_ENTRY) {
		const struct mrt_entry *x = &rec->u.entry;
		if (x->attrs.action >= BGP_ERR_TREAT_AS_WITHDRAW)
			return 0;
		e.type = DM_ELEM_RIB;
		e.peer_ip = &x->s.peer_ip;
		e.peer_asn = x->s.peer_as;
		e.prefix = x->prefix;
		e.attrs = &x->attrs;
		e.next_hop = x->nexthop.afi ? &x->nexthop : bgp_attrs_next_hop(&x->attrs, x->afi);
		fn(&e, arg);
		return 1;
	}
	return 0;
}
