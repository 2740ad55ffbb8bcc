/* A partition: its RIB and signal, fed the messages of its stream (cluster.h). */
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "cluster/part_impl.h"
#include "geo/geo.h"
#include "rib/rib.h"
#include "signal/signal.h"

static void on_change(void *arg, const struct sig_change *c)
{
	struct cl_part *p = arg;
	/* the struct as it is: merger and workers run the same build (docs/scale.md) */
	cb_bytes(&p->changes, c, sizeof *c);
	p->nchanges++;
}

static void on_row(void *arg, const struct sig_entity *e, const struct sig_bin *b)
{
	struct cl_part *p = arg;
	struct sig_part sp;
	if (!p->rows) {   /* a bin closed outside a barrier: only a record time out of order can */
		p->bad++;
		return;
	}
	uint32_t np = rib_peer_count(p->rib);
	if (np > p->pe_cap) {
		uint32_t *n = realloc(p->pe_n, np * sizeof *n);
		if (n)
			p->pe_n = n;
		uint64_t *u = realloc(p->pe_units, np * sizeof *u);
		if (u)
			p->pe_units = u;
		if (!n || !u) {
			p->rows->failed = 1;
			return;
		}
		p->pe_cap = np;
	}
	if (sig_entity_part(p->sig, e, &sp, p->pe_n, p->pe_units, p->pe_cap))
		return;
	struct cl_buf *o = p->rows;
	cb_entity(o, e);
	cb_i64(o, b->t);
	cb_u64(o, sp.vis);
	cb_u64(o, sp.more);
	cb_u64(o, sp.ann);
	cb_u64(o, sp.wd);
	cb_u64(o, sp.intr);
	cb_u64(o, sp.cov);
	/* bin-wide fields: the same in every partition, but records, collectors and the gap flag,
	 * which only the control partition counts */
	cb_u8(o, b->quality);
	cb_u32(o, b->records);
	cb_u16(o, b->collectors);
	cb_u16(o, b->collectors_silent);
	cb_u16(o, b->ff_joined);
	cb_u16(o, b->ff_left);
	cb_u16(o, b->full_feed_peers);
	cb_u16(o, b->peers_up);
	uint32_t nff = sp.nff < p->pe_cap ? sp.nff : p->pe_cap;
	cb_u32(o, nff);
	for (uint32_t f = 0; f < nff; f++) {
		cb_u32(o, p->pe_n[f]);
		cb_u64(o, p->pe_units[f]);
	}
	p->nrows++;
}

struct cl_part *cl_part_new(uint32_t id, const struct pl_opts *o, struct geo_db *geo)
{
	struct cl_part *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->id = id;
	arena_init(&p->ar, 1 << 24);
	p->rib = rib_new();
	p->sig = p->rib ? sig_new(p->rib, geo ? geo_countries_cb : NULL, geo, &o->sig) : NULL;
	if (!p->sig) {
		cl_part_free(p);
		return NULL;
	}
	if (geo)
		sig_set_geo4(p->sig, geo_range4_cb, geo_range4_batch_cb);
	sig_set_emit(p->sig, on_row, p);
	/* always: whether the merger stores them is its own option */
	sig_set_change_emit(p->sig, on_change, p);
	if (o->rows_countries)
		sig_want_countries(p->sig);
	for (size_t i = 0; i < o->ncc; i++)
		sig_want_country(p->sig, o->want_cc[i]);
	for (size_t i = 0; i < o->nasn; i++)
		sig_want_asn(p->sig, o->want_asn[i]);
	return p;
}

void cl_part_free(struct cl_part *p)
{
	if (!p)
		return;
	sig_free(p->sig);
	rib_free(p->rib);
	arena_free(&p->ar);
	free(p->sums);
	free(p->pe_n);
	free(p->pe_units);
	cl_buf_free(&p->changes);
	free(p);
}

uint64_t cl_part_bad(const struct cl_part *p) { return p->bad; }
uint64_t cl_part_elements(const struct cl_part *p) { return p->elems; }
uint32_t cl_part_id(const struct cl_part *p) { return p->id; }
struct rib *cl_part_rib(struct cl_part *p) { return p->rib; }

static int cur_ip(struct cur *c, struct dm_ip *ip)
{
	memset(ip, 0, sizeof *ip);
	if (cur_u8(c, &ip->afi) || cur_copy(c, ip->b, 16))
		return -1;
	return ip->afi == DM_AFI_IPV4 || ip->afi == DM_AFI_IPV6 ? 0 : -1;
}

static int bad(struct cl_part *p, struct dm_error *err, enum dm_err code, const struct cur *c, const char *what)
{
	p->bad++;
	return dm_fail(err, code, cur_off(c), "partition %u: %s", p->id, what);
}

static int apply_elem(struct cl_part *p, struct cur *c, struct dm_error *err)
{
	uint32_t coll, usec, asn, path_id, rl;
	uint8_t type, plen, pafi, has_pid, has_attrs;
	uint16_t olds, news;
	int64_t ts;
	struct dm_ip peer;
	struct dm_elem e;
	struct bgp_attrs a;
	memset(&e, 0, sizeof e);
	memset(&a, 0, sizeof a);
	if (cur_u32(c, &coll) || cur_u8(c, &type) || cur_i64(c, &ts) || cur_u32(c, &usec) || cur_ip(c, &peer) ||
	    cur_u32(c, &asn) || cur_u8(c, &pafi) || cur_u8(c, &plen) || cur_copy(c, e.prefix.b, 16) ||
	    cur_u32(c, &path_id) || cur_u8(c, &has_pid) || cur_u16(c, &olds) || cur_u16(c, &news) ||
	    cur_u8(c, &has_attrs))
		return bad(p, err, DM_ERR_TRUNCATED, c, "element truncated");
	if (type != DM_ELEM_RIB && type != DM_ELEM_ANNOUNCE && type != DM_ELEM_WITHDRAW && type != DM_ELEM_STATE)
		return bad(p, err, DM_ERR_BAD_TYPE, c, "element of unknown type");
	if ((pafi != DM_AFI_IPV4 && pafi != DM_AFI_IPV6 && pafi != 0) ||
	    plen > (pafi == DM_AFI_IPV6 ? 128 : 32))
		return bad(p, err, DM_ERR_BAD_VALUE, c, "element with a malformed prefix");
	if (coll >= rib_collector_count(p->rib))
		return bad(p, err, DM_ERR_BAD_VALUE, c, "element of an unknown collector");
	if (rib_peer_find(p->rib, coll, &peer, asn) == RIB_NONE)
		return bad(p, err, DM_ERR_BAD_VALUE, c, "element of an unknown peer");
	e.type = (char)type;
	e.ts = ts;
	e.usec = usec;
	e.peer_ip = &peer;
	e.peer_asn = asn;
	e.prefix.afi = pafi;
	e.prefix.len = plen;
	e.path_id = path_id;
	e.has_path_id = has_pid;
	e.old_state = olds;
	e.new_state = news;
	arena_reset(&p->ar);
	if (has_attrs) {
		uint64_t present;
		uint16_t nseg;
		if (cur_u64(c, &present) || cur_u8(c, &a.origin) || cur_u8(c, &a.as_path.asn_size) || cur_u32(c, &rl))
			return bad(p, err, DM_ERR_TRUNCATED, c, "attributes truncated");
		struct cur raw;
		if (rl > 65535 || cur_take(c, rl, &raw) || cur_u16(c, &nseg))
			return bad(p, err, DM_ERR_BAD_LENGTH, c, "attribute block length");
		a.present = present;
		a.raw = rl ? raw.p : NULL;
		a.raw_len = rl;
		a.path.nseg = nseg;
		a.path.asn_size = 4;
		a.path.seg = nseg ? arena_alloc(&p->ar, nseg * sizeof *a.path.seg) : NULL;
		if (nseg && !a.path.seg)
			return bad(p, err, DM_ERR_NOMEM, c, "path too long");
		for (unsigned s = 0; s < nseg; s++) {
			struct as_seg *sg = &a.path.seg[s];
			if (cur_u8(c, &sg->type) || cur_u8(c, &sg->count))
				return bad(p, err, DM_ERR_TRUNCATED, c, "path truncated");
			if (cur_left(c) < (size_t)sg->count * 4)
				return bad(p, err, DM_ERR_TRUNCATED, c, "path truncated");
			sg->asn = arena_alloc(&p->ar, (size_t)(sg->count ? sg->count : 1) * 4);
			if (!sg->asn)
				return bad(p, err, DM_ERR_NOMEM, c, "path too long");
			for (unsigned k = 0; k < sg->count; k++)
				cur_u32(c, &sg->asn[k]);
		}
		e.attrs = &a;
	}
	if (cur_left(c))
		return bad(p, err, DM_ERR_BAD_LENGTH, c, "element followed by extra bytes");
	/* a record boundary per element: the RIB's per-record attribute shortcut keys on the
	 * attributes' address, which is this function's stack for every element */
	rib_record(p->rib);
	struct rib_change ch;
	rib_apply(p->rib, coll, &e, &ch);
	sig_apply(p->sig, &e, &ch);
	p->elems++;
	return 0;
}

int cl_part_apply(struct cl_part *p, const uint8_t *msg, size_t len, struct cl_barrier *b, struct dm_error *err)
{
	struct cur c = cur_make(msg, len);
	uint8_t kind;
	if (cur_u8(&c, &kind))
		return bad(p, err, DM_ERR_TRUNCATED, &c, "empty message");
	switch (kind) {
	case CL_M_COLLECTOR: {
		uint16_t n;
		char name[256];
		if (cur_u16(&c, &n) || n >= sizeof name || cur_copy(&c, name, n) || cur_left(&c))
			return bad(p, err, DM_ERR_BAD_LENGTH, &c, "collector name");
		name[n] = 0;
		rib_collector_find_or_add(p->rib, name);
		return 0;
	}
	case CL_M_PEER: {
		uint32_t coll, asn;
		struct dm_ip ip;
		if (cur_u32(&c, &coll) || cur_ip(&c, &ip) || cur_u32(&c, &asn) || cur_left(&c))
			return bad(p, err, DM_ERR_BAD_LENGTH, &c, "peer");
		if (coll >= rib_collector_count(p->rib))
			return bad(p, err, DM_ERR_BAD_VALUE, &c, "peer of an unknown collector");
		if (rib_peer_find_or_add(p->rib, coll, &ip, asn) == RIB_NONE)
			return bad(p, err, DM_ERR_NOMEM, &c, "peer: out of memory");
		return 0;
	}
	case CL_M_ELEM:
		return apply_elem(p, &c, err);
	case CL_M_RECORD:
	case CL_M_ACTIVE: {
		uint32_t coll;
		uint8_t on = 0;
		int64_t t;
		if (cur_u32(&c, &coll) || (kind == CL_M_ACTIVE && cur_u8(&c, &on)) || cur_i64(&c, &t) || cur_left(&c))
			return bad(p, err, DM_ERR_BAD_LENGTH, &c, kind == CL_M_RECORD ? "record" : "collector activity");
		if (coll >= rib_collector_count(p->rib))
			return bad(p, err, DM_ERR_BAD_VALUE, &c, "record of an unknown collector");
		/* never a bin close: the feeder's barrier for this time came first */
		sig_time(p->sig, t);
		if (kind == CL_M_RECORD)
			sig_record(p->sig, coll);
		else
			sig_collector_active(p->sig, coll, on);
		return 0;
	}
	case CL_M_BARRIER:
		if (cur_u32(&c, &b->seq) || cur_u8(&c, &b->kind) || cur_i64(&c, &b->t) || cur_left(&c) ||
		    (b->kind != CL_B_START && b->kind != CL_B_TIME && b->kind != CL_B_FINISH))
			return bad(p, err, DM_ERR_BAD_LENGTH, &c, "barrier");
		return 1;
	}
	return bad(p, err, DM_ERR_BAD_TYPE, &c, "message of unknown kind");
}

void cl_part_sizes(struct cl_part *p, const struct cl_barrier *b, struct cl_buf *out)
{
	cb_reset(out);
	cb_u8(out, CL_M_SIZES);
	cb_u32(out, b->seq);
	cb_u32(out, p->id);
	uint32_t np = rib_peer_count(p->rib);
	cb_u32(out, np);
	for (uint32_t i = 0; i < np; i++) {
		cb_u32(out, rib_peer_prefixes(p->rib, i, 0));
		cb_u32(out, rib_peer_prefixes(p->rib, i, 1));
	}
	cb_u64(out, sig_rib_routes(p->sig, 0));
	cb_u64(out, sig_rib_routes(p->sig, 1));
}

int cl_part_close(struct cl_part *p, const struct cl_barrier *b, const uint8_t *sums, size_t len, struct cl_buf *out,
                  struct dm_error *err)
{
	struct cur c = cur_make(sums, len);
	uint8_t kind;
	uint32_t seq, np;
	if (cur_u8(&c, &kind) || kind != CL_M_SUMS || cur_u32(&c, &seq) || seq != b->seq || cur_u32(&c, &np))
		return dm_fail(err, DM_ERR_BAD_VALUE, cur_off(&c), "partition %u: not the sums of barrier %u", p->id, b->seq);
	if (np != rib_peer_count(p->rib) || cur_left(&c) != (size_t)np * 8 + 16)
		return dm_fail(err, DM_ERR_BAD_VALUE, cur_off(&c), "partition %u: sums of barrier %u for %u peers, %u known",
		               p->id, b->seq, np, rib_peer_count(p->rib));
	uint32_t *s = realloc(p->sums, (size_t)(np ? np : 1) * 2 * sizeof *s);
	if (!s)
		return dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
	p->sums = s;
	for (uint32_t i = 0; i < 2 * np; i++) {
		s[i] = 0;
		cur_u32(&c, &s[i]);
	}
	cur_u64(&c, &p->rr[0]);
	cur_u64(&c, &p->rr[1]);
	p->nsums = np;
	sig_set_ff_sizes(p->sig, p->sums, np, p->rr);
	cb_reset(out);
	cb_u8(out, CL_M_ROWS);
	cb_u32(out, b->seq);
	cb_u32(out, p->id);
	size_t at = out->n;
	cb_u32(out, 0);
	p->rows = out;
	p->nrows = 0;
	switch (b->kind) {
	case CL_B_START:
		if (b->t)
			sig_time(p->sig, b->t);
		sig_start(p->sig);
		break;
	case CL_B_TIME:
		sig_time(p->sig, b->t);
		break;
	case CL_B_FINISH:
		sig_finish(p->sig);
		break;
	}
	p->rows = NULL;
	cb_put32_at(out, at, p->nrows);
	cb_u32(out, p->nchanges);
	cb_bytes(out, p->changes.p, p->changes.n);
	cb_reset(&p->changes);
	p->nchanges = 0;
	if (out->failed)
		return dm_fail(err, DM_ERR_NOMEM, 0, "partition %u: out of memory writing rows", p->id);
	return 0;
}
