/* The cut: a tapped pipeline's source calls -> messages to the partitions (cluster.h). */
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_impl.h"
#include "rib/rib.h"

struct cl_cut {
	uint32_t nparts, bin;
	struct rib *names;
	cl_send_fn send;
	void *arg;
	uint32_t ncoll;          /* collector names sent (indexes 0 .. ncoll-1) */
	struct rib *peers;       /* peer indexes in order of first sight, as every partition has them */
	uint8_t *up;             /* per peer: its session as the RIB sees it (rib_apply's rules) */
	uint32_t capup;
	int started, have_floor;
	int64_t now, max_ts, last_floor;
	uint32_t seq;
	uint64_t msgs;
	struct cl_buf b;
};

static const unsigned minlen[2] = { 8, 16 };   /* the signal's (signal.c): shorter is ignored */

struct cl_cut *cl_cut_new(uint32_t nparts, uint32_t bin, struct rib *names, cl_send_fn send, void *arg)
{
	struct cl_cut *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->nparts = nparts ? nparts : 1;
	c->bin = bin ? bin : 300;
	c->names = names;
	c->send = send;
	c->arg = arg;
	if (!(c->peers = rib_new())) {
		free(c);
		return NULL;
	}
	return c;
}

void cl_cut_free(struct cl_cut *c)
{
	if (!c)
		return;
	rib_free(c->peers);
	free(c->up);
	cl_buf_free(&c->b);
	free(c);
}

uint64_t cl_cut_messages(const struct cl_cut *c) { return c->msgs; }
uint32_t cl_cut_barriers(const struct cl_cut *c) { return c->seq; }

static void out(struct cl_cut *c, uint32_t part)
{
	if (c->b.failed)
		return;   /* out of memory: the partitions would see a hole; nothing better to do */
	c->msgs++;
	c->send(c->arg, part, c->b.p, c->b.n);
}

static void coll_fit(struct cl_cut *c, uint32_t coll)
{
	while (c->ncoll <= coll && c->ncoll < rib_collector_count(c->names)) {
		const char *name = rib_collector_name(c->names, c->ncoll);
		cb_reset(&c->b);
		cb_u8(&c->b, CL_M_COLLECTOR);
		cb_u16(&c->b, (uint16_t)strlen(name));
		cb_bytes(&c->b, name, strlen(name));
		out(c, CL_ALL);
		c->ncoll++;
	}
}

static void put_ip(struct cl_buf *b, const struct dm_ip *ip)
{
	cb_u8(b, ip->afi);
	cb_bytes(b, ip->b, 16);
}

static void put_elem(struct cl_buf *b, uint32_t coll, const struct dm_elem *e)
{
	cb_u8(b, CL_M_ELEM);
	cb_u32(b, coll);
	cb_u8(b, (uint8_t)e->type);
	cb_i64(b, e->ts);
	cb_u32(b, e->usec);
	put_ip(b, e->peer_ip);
	cb_u32(b, e->peer_asn);
	cb_u8(b, e->prefix.afi);
	cb_u8(b, e->prefix.len);
	cb_bytes(b, e->prefix.b, 16);
	cb_u32(b, e->path_id);
	cb_u8(b, e->has_path_id);
	cb_u16(b, e->old_state);
	cb_u16(b, e->new_state);
	const struct bgp_attrs *a = e->attrs;
	cb_u8(b, a != NULL);
	if (!a)
		return;
	/* what the RIB interns (rib.c attr_key, rib_attr_intern): the block as received, which of
	 * MP_(UN)REACH it holds, the origin, the AS number size and the merged path */
	cb_u64(b, a->present);
	cb_u8(b, a->origin);
	cb_u8(b, a->as_path.asn_size);
	uint32_t rl = a->raw ? a->raw_len : 0;
	cb_u32(b, rl);
	cb_bytes(b, a->raw, rl);
	cb_u16(b, a->path.nseg);
	for (unsigned s = 0; s < a->path.nseg; s++) {
		cb_u8(b, a->path.seg[s].type);
		cb_u8(b, a->path.seg[s].count);
		for (unsigned k = 0; k < a->path.seg[s].count; k++)
			cb_u32(b, a->path.seg[s].asn[k]);
	}
}

static void barrier(struct cl_cut *c, uint8_t kind, int64_t t)
{
	cb_reset(&c->b);
	cb_u8(&c->b, CL_M_BARRIER);
	cb_u32(&c->b, c->seq++);
	cb_u8(&c->b, kind);
	cb_i64(&c->b, t);
	out(c, CL_ALL);
}

static void tap_elem(void *arg, uint32_t coll, const struct dm_elem *e)
{
	struct cl_cut *c = arg;
	coll_fit(c, coll);
	if (!e->peer_ip)
		return;   /* the RIB applies nothing without a peer (RIB_CH_NONE) */
	uint32_t peer = rib_peer_find(c->peers, coll, e->peer_ip, e->peer_asn);
	if (peer == RIB_NONE) {
		peer = rib_peer_find_or_add(c->peers, coll, e->peer_ip, e->peer_asn);
		if (peer == RIB_NONE)
			return;
		if (peer >= c->capup) {
			uint32_t cap = c->capup ? c->capup * 2 : 64;
			uint8_t *u = realloc(c->up, cap);
			if (!u)
				return;
			memset(u + c->capup, 0, cap - c->capup);
			c->up = u;
			c->capup = cap;
		}
		c->up[peer] = 1;   /* a new peer is up (rib_peer_find_or_add) */
		cb_reset(&c->b);
		cb_u8(&c->b, CL_M_PEER);
		cb_u32(&c->b, coll);
		put_ip(&c->b, e->peer_ip);
		cb_u32(&c->b, e->peer_asn);
		out(c, CL_ALL);
	}
	if (e->type == DM_ELEM_STATE) {   /* every partition holds part of the peer's table */
		if (e->new_state == DM_BGP_ESTABLISHED)
			c->up[peer] = 1;
		else
			c->up[peer] = 0;
		cb_reset(&c->b);
		put_elem(&c->b, coll, e);
		out(c, CL_ALL);
		return;
	}
	int fam = rib_fam(e->prefix.afi);
	int v46 = e->prefix.afi == DM_AFI_IPV4 || e->prefix.afi == DM_AFI_IPV6;
	if (v46 && (e->type == DM_ELEM_RIB || e->type == DM_ELEM_ANNOUNCE) && e->attrs &&
	    e->prefix.len >= minlen[fam] && !c->up[peer]) {
		/* rib_apply: routes from a down peer bring its session up (came_up), in the one
		 * partition the route goes to; the others must see it come up too, at this point */
		struct dm_elem s;
		memset(&s, 0, sizeof s);
		s.type = DM_ELEM_STATE;
		s.ts = e->ts;
		s.peer_ip = e->peer_ip;
		s.peer_asn = e->peer_asn;
		s.new_state = DM_BGP_ESTABLISHED;
		cb_reset(&c->b);
		put_elem(&c->b, coll, &s);
		out(c, CL_ALL);
		c->up[peer] = 1;
	}
	cb_reset(&c->b);
	put_elem(&c->b, coll, e);
	out(c, v46 ? cl_partition_of(&e->prefix, c->nparts) : CL_CONTROL);
}

static void tap_record(void *arg, uint32_t coll)
{
	struct cl_cut *c = arg;
	coll_fit(c, coll);
	cb_reset(&c->b);
	cb_u8(&c->b, CL_M_RECORD);
	cb_u32(&c->b, coll);
	cb_i64(&c->b, c->now);
	out(c, CL_CONTROL);
}

static int64_t floor_bin(int64_t t, uint32_t bin)
{
	int64_t r = t % bin;
	return t - (r < 0 ? r + bin : r);
}

/* sig_time's rule: before the start only the latest time counts; after it, a time in a later
 * bin than the open one closes bins (a barrier), the first time opens the first bin. */
static void tap_time(void *arg, int64_t now)
{
	struct cl_cut *c = arg;
	c->now = now;
	if (!c->started) {
		if (now > c->max_ts)
			c->max_ts = now;
		return;
	}
	int64_t f = floor_bin(now, c->bin);
	if (c->have_floor && f <= c->last_floor)
		return;
	c->have_floor = 1;
	c->last_floor = f;
	barrier(c, CL_B_TIME, now);
}

static void tap_start(void *arg)
{
	struct cl_cut *c = arg;
	if (c->started)
		return;
	c->started = 1;
	if (c->max_ts) {
		c->have_floor = 1;
		c->last_floor = floor_bin(c->max_ts, c->bin);
	}
	barrier(c, CL_B_START, c->max_ts);
}

static void tap_active(void *arg, uint32_t coll, int active)
{
	struct cl_cut *c = arg;
	coll_fit(c, coll);
	cb_reset(&c->b);
	cb_u8(&c->b, CL_M_ACTIVE);
	cb_u32(&c->b, coll);
	cb_u8(&c->b, (uint8_t)(active != 0));
	cb_i64(&c->b, c->now);
	out(c, CL_CONTROL);
}

static void tap_finish(void *arg)
{
	struct cl_cut *c = arg;
	tap_start(c);
	barrier(c, CL_B_FINISH, c->now);
}

void cl_cut_tap(struct cl_cut *c, struct pl_tap *tap)
{
	tap->elem = tap_elem;
	tap->record = tap_record;
	tap->time = tap_time;
	tap->start = tap_start;
	tap->active = tap_active;
	tap->finish = tap_finish;
	tap->arg = c;
}

/* ---- the cut's state between two backfill jobs (cl_cut_save, cl_cut_load) ---- */

enum { CUT_TAG = 0x43555431u /* "CUT1" */ };

void cl_cut_save(const struct cl_cut *c, struct cl_buf *out)
{
	cb_u32(out, CUT_TAG);
	uint32_t nn = rib_collector_count(c->names);
	cb_u32(out, nn);
	for (uint32_t i = 0; i < nn; i++) {
		const char *name = rib_collector_name(c->names, i);
		cb_u16(out, (uint16_t)strlen(name));
		cb_bytes(out, name, strlen(name));
	}
	cb_u32(out, c->ncoll);
	uint32_t np = rib_peer_count(c->peers);
	cb_u32(out, np);
	for (uint32_t i = 0; i < np; i++) {
		struct rib_peer_info pi;
		rib_peer_info(c->peers, i, &pi);
		cb_u32(out, pi.collector);
		put_ip(out, &pi.addr);
		cb_u32(out, pi.asn);
		cb_u8(out, i < c->capup ? c->up[i] : 0);
	}
	cb_u8(out, (uint8_t)c->started);
	cb_u8(out, (uint8_t)c->have_floor);
	cb_i64(out, c->now);
	cb_i64(out, c->max_ts);
	cb_i64(out, c->last_floor);
	cb_u32(out, c->seq);
	cb_u64(out, c->msgs);
}

static int cut_bad(struct dm_error *err, const struct cur *c, const char *what)
{
	return dm_fail(err, DM_ERR_BAD_VALUE, cur_off(c), "cut state: %s", what);
}

int cl_cut_load(struct cl_cut *c, struct cur *in, struct dm_error *err)
{
	uint32_t tag, nn, np;
	if (cur_u32(in, &tag) || tag != CUT_TAG || cur_u32(in, &nn) || nn > (1u << 20))
		return cut_bad(err, in, "not a cut state");
	for (uint32_t i = 0; i < nn; i++) {
		uint16_t l;
		char name[256];
		if (cur_u16(in, &l) || l >= sizeof name || cur_copy(in, name, l))
			return cut_bad(err, in, "collector name truncated");
		name[l] = 0;
		/* the names in the order the run met them: the new pipeline must index them alike */
		if (rib_collector_find_or_add(c->names, name) != i)
			return cut_bad(err, in, "collector names in another order");
	}
	if (cur_u32(in, &c->ncoll) || c->ncoll > nn || cur_u32(in, &np) || np > (1u << 24))
		return cut_bad(err, in, "peer count");
	if (np > c->capup) {
		uint8_t *u = realloc(c->up, np);
		if (!u)
			return dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
		memset(u + c->capup, 0, np - c->capup);
		c->up = u;
		c->capup = np;
	}
	for (uint32_t i = 0; i < np; i++) {
		uint32_t coll, asn;
		uint8_t up;
		struct dm_ip ip;
		memset(&ip, 0, sizeof ip);
		if (cur_u32(in, &coll) || cur_u8(in, &ip.afi) || cur_copy(in, ip.b, 16) || cur_u32(in, &asn) ||
		    cur_u8(in, &up))
			return cut_bad(err, in, "peer truncated");
		if (coll >= c->ncoll || (ip.afi != DM_AFI_IPV4 && ip.afi != DM_AFI_IPV6))
			return cut_bad(err, in, "peer of an unknown collector");
		if (rib_peer_find_or_add(c->peers, coll, &ip, asn) != i)
			return cut_bad(err, in, "peers repeated or out of order");
		c->up[i] = up != 0;
	}
	uint8_t started, have_floor;
	if (cur_u8(in, &started) || cur_u8(in, &have_floor) || cur_i64(in, &c->now) || cur_i64(in, &c->max_ts) ||
	    cur_i64(in, &c->last_floor) || cur_u32(in, &c->seq) || cur_u64(in, &c->msgs))
		return cut_bad(err, in, "clock truncated");
	c->started = started != 0;
	c->have_floor = have_floor != 0;
	return 0;
}
