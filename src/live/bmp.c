/* BMP station decoder (RFC 7854). See bmp.h. */
#include "live/bmp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/cursor.h"

enum { MAX_PEERS = 65536, INFO_MAX = 256 };

struct bmp {
	struct bmp_cb cb;
	uint8_t *buf;                 /* a message split across inputs */
	size_t blen, bcap, want;      /* want: its length once the common header is in */
	uint64_t offset;              /* stream offset of the next message */
	int dead;                     /* framing lost */
	struct dm_error dead_err;
	int terminated;
	int64_t now;
	uint32_t now_usec;
	struct arena arena;           /* per message */
	struct bmp_peer *peer;
	uint32_t npeer, cap_peer;
	uint32_t last;                /* the peer found last: consecutive messages share it */
	struct bmp_counts counts;
	char sys_name[INFO_MAX], sys_descr[INFO_MAX];
};

struct bmp *bmp_new(const struct bmp_cb *cb)
{
	struct bmp *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	b->cb = *cb;
	arena_init(&b->arena, 64 << 20);
	return b;
}

void bmp_free(struct bmp *b)
{
	if (!b)
		return;
	arena_free(&b->arena);
	free(b->buf);
	free(b->peer);
	free(b);
}

int bmp_terminated(const struct bmp *b) { return b->terminated; }
const struct bmp_counts *bmp_counts(const struct bmp *b) { return &b->counts; }
const char *bmp_sys_name(const struct bmp *b) { return b->sys_name; }
const char *bmp_sys_descr(const struct bmp *b) { return b->sys_descr; }
uint32_t bmp_npeers(const struct bmp *b) { return b->npeer; }
const struct bmp_peer *bmp_peer(const struct bmp *b, uint32_t i) { return i < b->npeer ? &b->peer[i] : NULL; }

/* Reports a skipped or partly decoded message. Returns 0: decoding goes on. */
static int report(struct bmp *b, struct bmp_peer *p, const struct dm_error *e)
{
	b->counts.errors++;
	if (p)
		p->errors++;
	if (b->cb.error)
		b->cb.error(b->cb.arg, e);
	return 0;
}

/* Fails the current message: err's offset is relative to the message; made absolute here. */
static int bad(struct bmp *b, struct bmp_peer *p, size_t at, enum dm_err code, const char *what, ...)
	__attribute__((format(printf, 5, 6)));
static int bad(struct bmp *b, struct bmp_peer *p, size_t at, enum dm_err code, const char *what, ...)
{
	struct dm_error e = { .code = code, .offset = b->offset + at };
	va_list ap;
	va_start(ap, what);
	vsnprintf(e.what, sizeof e.what, what, ap);
	va_end(ap);
	return report(b, p, &e);
}

static int peer_same(const struct bmp_peer_hdr *a, const struct bmp_peer_hdr *h)
{
	return a->type == h->type && a->rd == h->rd && !memcmp(&a->addr, &h->addr, sizeof a->addr);
}

static struct bmp_peer *peer_find_or_add(struct bmp *b, const struct bmp_peer_hdr *h)
{
	if (b->last < b->npeer && peer_same(&b->peer[b->last].hdr, h))
		return &b->peer[b->last];
	for (uint32_t i = 0; i < b->npeer; i++)
		if (peer_same(&b->peer[i].hdr, h)) {
			b->last = i;
			return &b->peer[i];
		}
	if (b->npeer >= MAX_PEERS)
		return NULL;
	if (b->npeer == b->cap_peer) {
		uint32_t cap = b->cap_peer ? b->cap_peer * 2 : 8;
		struct bmp_peer *np = realloc(b->peer, cap * sizeof *np);
		if (!np)
			return NULL;
		b->peer = np;
		b->cap_peer = cap;
	}
	struct bmp_peer *p = &b->peer[b->npeer];
	memset(p, 0, sizeof *p);
	p->as4 = 1;           /* until a Peer Up says otherwise */
	b->last = b->npeer++;
	return p;
}

/* Per-peer header (§4.2): 42 bytes. */
static int peer_hdr_decode(struct cur *c, struct bmp_peer_hdr *h)
{
	memset(h, 0, sizeof *h);
	if (cur_left(c) < BMP_PEER_HDR_LEN)
		return -1;
	uint32_t hi = 0, lo = 0;
	cur_u8(c, &h->type);
	cur_u8(c, &h->flags);
	cur_u32(c, &hi);
	cur_u32(c, &lo);
	h->rd = (uint64_t)hi << 32 | lo;
	if (h->type == BMP_PEER_LOC_RIB) {
		/* RFC 9069 §4.1: zero-filled; 0x80 is the F flag there, not V */
		h->addr.afi = DM_AFI_IPV4;
		cur_skip(c, 16);
	} else if (h->flags & BMP_PF_V) {
		h->addr.afi = DM_AFI_IPV6;
		cur_copy(c, h->addr.b, 16);
	} else {
		/* IPv4: 12 bytes of zeros, then the address */
		h->addr.afi = DM_AFI_IPV4;
		cur_skip(c, 12);
		cur_copy(c, h->addr.b, 4);
	}
	cur_u32(c, &h->asn);
	cur_u32(c, &h->bgp_id);
	cur_u32(c, &h->ts);
	cur_u32(c, &h->usec);
	return 0;
}

static struct dm_elem elem_of(const struct bmp *b, const struct bmp_peer *p)
{
	struct dm_elem e;
	memset(&e, 0, sizeof e);
	e.ts = b->now;
	e.usec = b->now_usec;
	e.peer_ip = &p->hdr.addr;
	e.peer_asn = p->hdr.asn;
	return e;
}

struct elem_arg {
	struct bmp *b;
	struct bmp_peer *p;
	int view;
};

static void elem_out(const struct dm_elem *e, void *arg)
{
	struct elem_arg *x = arg;
	x->p->elems++;
	x->b->counts.elems++;
	if (x->b->cb.elem)
		x->b->cb.elem(x->b->cb.arg, x->p, x->view, e);
}

static void state_elem_view(struct bmp *b, struct bmp_peer *p, int view, uint16_t from, uint16_t to)
{
	struct dm_elem e = elem_of(b, p);
	e.type = DM_ELEM_STATE;
	e.old_state = from;
	e.new_state = to;
	struct elem_arg x = { b, p, view };
	elem_out(&e, &x);
}

/* A session change goes to the pre-policy view and, once the router has shown one, to the
 * post-policy view: both are peers of the routing state. A Loc-RIB instance (RFC 9069) is a
 * peer of its own view only. */
static void state_elem(struct bmp *b, struct bmp_peer *p, uint16_t from, uint16_t to)
{
	if (p->hdr.type == BMP_PEER_LOC_RIB) {
		state_elem_view(b, p, BMP_VIEW_LOC_RIB, from, to);
		return;
	}
	state_elem_view(b, p, BMP_VIEW_PRE, from, to);
	if (p->post_seen)
		state_elem_view(b, p, BMP_VIEW_POST, from, to);
}

static int update_bad(int rc, const struct bgp_msg *m)
{
	return rc == 0 && m->type == BGP_MSG_UPDATE &&
	       (m->u.update.attr_err || m->u.update.nlri_err || m->u.update.addpath_guessed);
}

/* Route Monitoring (§4.6): one BGP UPDATE. */
static int route_monitoring(struct bmp *b, struct bmp_peer *p, struct cur *c)
{
	if (p->hdr.flags & BMP_PF_O && p->hdr.type != BMP_PEER_LOC_RIB)   /* Adj-RIB-Out (RFC 8671) */
		return bad(b, p, cur_off(c), DM_ERR_BAD_TYPE, "BMP Route Monitoring of Adj-RIB-Out (O flag) not decoded");
	int view = p->hdr.type == BMP_PEER_LOC_RIB ? BMP_VIEW_LOC_RIB : (p->hdr.flags & BMP_PF_L) ? BMP_VIEW_POST
	                                                                                           : BMP_VIEW_PRE;
	const uint8_t *msg = c->p;
	size_t at = cur_off(c);
	/* §4.2 A flag: 2-byte AS_PATH; clear: 4-byte (RFC 6793), whatever the session used. */
	struct bgp_ctx ctx = { .asn_size = (p->hdr.flags & BMP_PF_A) ? 2 : 4, .addpath = p->addpath,
	                       .afi = p->hdr.addr.afi, .safi = DM_SAFI_UNICAST };
	struct bgp_msg m;
	struct dm_error err;
	struct cur mc = *c;
	int rc = bgp_msg_decode(&mc, &ctx, &b->arena, &m, &err);
	/* not as negotiated (see bmp.h): without path ids, then with 2-byte ASNs */
	struct bgp_ctx alt[2];
	int nalt = 0;
	if (ctx.addpath) {
		alt[nalt] = ctx;
		alt[nalt++].addpath = 0;
	}
	if (ctx.asn_size == 4 && !p->as4) {
		alt[nalt] = ctx;
		alt[nalt++].asn_size = 2;
	}
	for (int i = 0; i < nalt && update_bad(rc, &m); i++) {
		struct bgp_msg m2;
		struct dm_error err2;
		struct cur mc2 = *c;
		if (!update_bad(bgp_msg_decode(&mc2, &alt[i], &b->arena, &m2, &err2), &m2)) {
			m = m2;
			mc = mc2;
			ctx = alt[i];
			err = err2;
			p->decode_retry++;
		}
	}
	if (rc < 0) {
		err.offset += b->offset;
		return report(b, p, &err);
	}
	if (m.type != BGP_MSG_UPDATE)
		return bad(b, p, at, DM_ERR_BAD_TYPE, "BMP Route Monitoring carries BGP message type %u, not UPDATE",
		           m.type);
	if (cur_left(&mc))
		bad(b, p, cur_off(&mc), DM_ERR_BAD_LENGTH, "BMP Route Monitoring: %zu bytes after the UPDATE",
		    cur_left(&mc));
	p->updates++;
	const struct bgp_update *u = &m.u.update;
	if (u->attr_err || u->nlri_err) {
		err.offset += b->offset;
		report(b, p, &err);
	}
	/* the first post-policy route of an up session: that view's peer comes up (Peer Up said so
	 * for the pre-policy view before any route) */
	if (view == BMP_VIEW_POST && !p->post_seen) {
		p->post_seen = 1;
		if (p->up)
			state_elem_view(b, p, BMP_VIEW_POST, 5 /* OpenConfirm */, 6 /* Established */);
	}
	/* a Loc-RIB instance's routes without its Peer Up (gobgpd 3.10 sends none): it is up from
	 * its first route, so that its Peer Down or the router's going takes its routes away */
	if (view == BMP_VIEW_LOC_RIB && !p->up) {
		p->up = 1;
		state_elem_view(b, p, BMP_VIEW_LOC_RIB, 5 /* OpenConfirm */, 6 /* Established */);
	}
	if (b->cb.update)
		b->cb.update(b->cb.arg, p, view, msg, m.len, ctx.asn_size, ctx.addpath || u->addpath_guessed);
	struct dm_elem tmpl = elem_of(b, p);
	struct elem_arg x = { b, p, view };
	bgp_update_elems(u, &tmpl, elem_out, &x);
	return 0;
}

/* Peer Up (§4.10): local address and ports, the sent and the received OPEN, optional TLVs. */
static int peer_up(struct bmp *b, struct bmp_peer *p, struct cur *c)
{
	size_t at = cur_off(c);
	struct dm_ip local = { 0 };
	uint16_t lport = 0, rport = 0;
	if (cur_left(c) < 20)
		return bad(b, p, at, DM_ERR_TRUNCATED, "BMP Peer Up: %zu bytes, 20 needed before the OPENs", cur_left(c));
	if (p->hdr.flags & BMP_PF_V) {
		local.afi = DM_AFI_IPV6;
		cur_copy(c, local.b, 16);
	} else {
		local.afi = DM_AFI_IPV4;
		cur_skip(c, 12);
		cur_copy(c, local.b, 4);
	}
	cur_u16(c, &lport);
	cur_u16(c, &rport);
	struct bgp_ctx ctx = { .asn_size = 4, .afi = local.afi, .safi = DM_SAFI_UNICAST };
	struct bgp_msg sent, recv;
	struct dm_error err;
	if (bgp_msg_decode(c, &ctx, &b->arena, &sent, &err) < 0 || bgp_msg_decode(c, &ctx, &b->arena, &recv, &err) < 0) {
		err.offset += b->offset;
		return report(b, p, &err);
	}
	if (sent.type != BGP_MSG_OPEN || recv.type != BGP_MSG_OPEN)
		return bad(b, p, at + 20, DM_ERR_BAD_TYPE, "BMP Peer Up: BGP messages of types %u and %u, not two OPENs",
		           sent.type, recv.type);
	/* the optional Information TLVs (§4.4) carry nothing we use */
	const struct bgp_open *so = &sent.u.open, *ro = &recv.u.open;
	p->local_addr = local;
	p->local_port = lport;
	p->remote_port = rport;
	p->local_asn = so->as4 ? so->as4 : so->my_as;
	p->local_bgp_id = so->bgp_id;
	p->as4 = so->as4 && ro->as4;
	/* RFC 7911 §4: the peer sends path ids when it can send and the router can receive. */
	p->addpath = 0;
	for (int afi = DM_AFI_IPV4; afi <= DM_AFI_IPV6; afi++)
		if ((ro->addpath[afi] & BGP_ADDPATH_SEND) && (so->addpath[afi] & BGP_ADDPATH_RECEIVE))
			p->addpath = 1;
	int was_up = p->up;
	p->up = 1;
	if (b->cb.peer_up)
		b->cb.peer_up(b->cb.arg, p, &sent, &recv);
	if (!was_up)
		state_elem(b, p, 5 /* OpenConfirm */, 6 /* Established */);
	return 0;
}

/* Peer Down (§4.9). */
static int peer_down(struct bmp *b, struct bmp_peer *p, struct cur *c)
{
	size_t at = cur_off(c);
	uint8_t reason;
	if (cur_u8(c, &reason) < 0)
		return bad(b, p, at, DM_ERR_TRUNCATED, "BMP Peer Down without a reason");
	struct bgp_msg m;
	const struct bgp_notification *n = NULL;
	switch (reason) {
	case BMP_DOWN_LOCAL_NOTIFY:
	case BMP_DOWN_REMOTE_NOTIFY: {
		struct bgp_ctx ctx = { .asn_size = 4 };
		struct dm_error err;
		if (bgp_msg_decode(c, &ctx, &b->arena, &m, &err) < 0) {
			err.offset += b->offset;
			report(b, p, &err);   /* the peer is down all the same */
		} else if (m.type != BGP_MSG_NOTIFICATION) {
			bad(b, p, at + 1, DM_ERR_BAD_TYPE, "BMP Peer Down reason %u carries BGP message type %u", reason,
			    m.type);
		} else {
			n = &m.u.notification;
		}
		break;
	}
	case BMP_DOWN_LOCAL_FSM:
		if (cur_left(c) < 2)
			bad(b, p, at + 1, DM_ERR_TRUNCATED, "BMP Peer Down reason 2 without its FSM event code");
		break;
	case BMP_DOWN_REMOTE:
	case BMP_DOWN_DECONFIGURED:
	case BMP_DOWN_LOC_RIB:
		break;
	default:
		bad(b, p, at, DM_ERR_BAD_VALUE, "BMP Peer Down reason %u unknown", reason);
		break;
	}
	int was_up = p->up;
	p->up = 0;
	p->down_reason = reason;
	if (b->cb.peer_down)
		b->cb.peer_down(b->cb.arg, p, reason, n);
	if (was_up)
		state_elem(b, p, 6 /* Established */, 1 /* Idle */);
	return 0;
}

/* Statistics Report (§4.8): count, then (type 2, length 2, value) entries. */
static int statistics(struct bmp *b, struct bmp_peer *p, struct cur *c)
{
	size_t at = cur_off(c);
	uint32_t count;
	if (cur_u32(c, &count) < 0)
		return bad(b, p, at, DM_ERR_TRUNCATED, "BMP Statistics Report without a count");
	p->stat_reports++;
	for (uint32_t i = 0; i < count; i++) {
		uint16_t type, len;
		struct cur v;
		at = cur_off(c);
		if (cur_u16(c, &type) < 0 || cur_u16(c, &len) < 0 || cur_take(c, len, &v) < 0)
			return bad(b, p, at, DM_ERR_TRUNCATED, "BMP Statistics Report: entry %u of %u truncated", i + 1,
			           count);
		uint64_t val = 0;
		if ((type == BMP_STAT_ADJ_RIB_IN_AFI || type == BMP_STAT_LOC_RIB_AFI) && len == 11) {
			uint16_t afi = be16(v.p);
			val = (uint64_t)be32(v.p + 3) << 32 | be32(v.p + 7);
			if (v.p[2] == DM_SAFI_UNICAST && (afi == DM_AFI_IPV4 || afi == DM_AFI_IPV6))
				p->stat_afi[type - BMP_STAT_ADJ_RIB_IN_AFI][afi - 1] = val;
		} else if (len == 4) {
			val = be32(v.p);                        /* 32-bit counter */
		} else if (len == 8) {
			val = (uint64_t)be32(v.p) << 32 | be32(v.p + 4);   /* 64-bit gauge */
		} else {
			bad(b, p, at, DM_ERR_BAD_LENGTH, "BMP statistics type %u: length %u", type, len);
			continue;
		}
		if (type < BMP_STAT_TYPES) {
			if (type != BMP_STAT_ADJ_RIB_IN_AFI && type != BMP_STAT_LOC_RIB_AFI)
				p->stat[type] = val;
			p->stat_seen |= 1u << type;
		}
	}
	if (b->cb.stats)
		b->cb.stats(b->cb.arg, p);
	return 0;
}

/* Information TLVs of Initiation (§4.3) and Termination (§4.5): (type 2, length 2, value). */
static int info_tlvs(struct bmp *b, struct cur *c, int term, uint16_t *reason, char *info, size_t info_sz)
{
	while (cur_left(c)) {
		size_t at = cur_off(c);
		uint16_t type, len;
		struct cur v;
		if (cur_u16(c, &type) < 0 || cur_u16(c, &len) < 0 || cur_take(c, len, &v) < 0)
			return bad(b, NULL, at, DM_ERR_TRUNCATED, "BMP %s: information TLV truncated",
			           term ? "Termination" : "Initiation");
		char *dst = NULL;
		size_t dst_sz = INFO_MAX;
		if (term && type == 1) {                 /* reason */
			if (len == 2)
				*reason = be16(v.p);
			continue;
		}
		if (type == 0)                           /* free text */
			dst = info, dst_sz = info_sz;
		else if (!term && type == 1)
			dst = b->sys_descr;
		else if (!term && type == 2)
			dst = b->sys_name;
		if (dst) {
			size_t n = len < dst_sz - 1 ? len : dst_sz - 1;
			memcpy(dst, v.p, n);
			dst[n] = 0;
		}
	}
	return 0;
}

static int has_peer_hdr(uint8_t type)
{
	return type == BMP_ROUTE_MONITORING || type == BMP_STATISTICS_REPORT || type == BMP_PEER_DOWN ||
	       type == BMP_PEER_UP || type == BMP_ROUTE_MIRRORING;
}

/* One whole message (common header included). */
static void message(struct bmp *b, const uint8_t *msg, size_t len)
{
	struct cur c = cur_make(msg, len);
	uint8_t type = msg[5];
	c.p += BMP_COMMON_LEN;
	b->counts.messages++;
	b->counts.by_type[type < 7 ? type : 7]++;
	arena_reset(&b->arena);
	if (b->terminated) {
		bad(b, NULL, 0, DM_ERR_BAD_VALUE, "BMP message type %u after Termination", type);
		return;
	}
	struct bmp_peer *p = NULL;
	if (has_peer_hdr(type)) {
		struct bmp_peer_hdr h;
		if (peer_hdr_decode(&c, &h) < 0) {
			bad(b, NULL, BMP_COMMON_LEN, DM_ERR_TRUNCATED, "BMP message type %u: per-peer header truncated", type);
			return;
		}
		if (h.type > BMP_PEER_LOC_RIB) {
			bad(b, NULL, BMP_COMMON_LEN, DM_ERR_BAD_VALUE, "BMP per-peer header: peer type %u unknown", h.type);
			return;
		}
		p = peer_find_or_add(b, &h);
		if (!p) {
			bad(b, NULL, BMP_COMMON_LEN, DM_ERR_NOMEM, "BMP: too many monitored peers (%u)", b->npeer);
			return;
		}
		p->hdr = h;
	}
	switch (type) {
	case BMP_ROUTE_MONITORING: route_monitoring(b, p, &c); break;
	case BMP_STATISTICS_REPORT: statistics(b, p, &c); break;
	case BMP_PEER_DOWN: peer_down(b, p, &c); break;
	case BMP_PEER_UP: peer_up(b, p, &c); break;
	case BMP_ROUTE_MIRRORING: break;   /* mirrored PDUs are not routing state */
	case BMP_INITIATION:
		b->sys_name[0] = b->sys_descr[0] = 0;
		info_tlvs(b, &c, 0, NULL, NULL, 0);
		if (b->cb.initiation)
			b->cb.initiation(b->cb.arg, b->sys_name, b->sys_descr);
		break;
	case BMP_TERMINATION: {
		uint16_t reason = 0xffff;
		char info[INFO_MAX] = "";
		info_tlvs(b, &c, 1, &reason, info, sizeof info);
		b->terminated = 1;
		if (b->cb.termination)
			b->cb.termination(b->cb.arg, reason, info);
		break;
	}
	default:
		bad(b, NULL, 5, DM_ERR_BAD_TYPE, "BMP message type %u unknown (%zu bytes skipped)", type, len);
		break;
	}
}

/* Checks a common header; its length in *len. */
static int frame(struct bmp *b, const uint8_t *h, uint32_t *len, struct dm_error *err)
{
	*len = be32(h + 1);
	if (h[0] != BMP_VERSION)
		return dm_fail(err, DM_ERR_FRAMING, b->offset, "BMP version %u, expected 3: framing lost", h[0]);
	if (*len < BMP_COMMON_LEN || *len > BMP_MAX_MSG)
		return dm_fail(err, DM_ERR_FRAMING, b->offset + 1, "BMP message length %u impossible: framing lost",
		               *len);
	return 0;
}

static int die(struct bmp *b, struct dm_error *err)
{
	b->dead = 1;
	b->dead_err = *err;
	b->counts.errors++;
	return err->code;
}

static int buf_reserve(struct bmp *b, size_t n)
{
	if (b->bcap >= n)
		return 0;
	size_t cap = b->bcap ? b->bcap : 4096;
	while (cap < n)
		cap *= 2;
	uint8_t *nb = realloc(b->buf, cap);
	if (!nb)
		return -1;
	b->buf = nb;
	b->bcap = cap;
	return 0;
}

int bmp_input(struct bmp *b, const uint8_t *p, size_t n, int64_t now, uint32_t now_usec, struct dm_error *err)
{
	struct dm_error e;
	if (!err)
		err = &e;
	if (b->dead) {
		*err = b->dead_err;
		return err->code;
	}
	b->now = now;
	b->now_usec = now_usec;
	while (n) {
		uint32_t len;
		if (b->blen == 0 && n >= BMP_COMMON_LEN) {
			/* the usual case: whole messages straight from the input, no copy */
			if (frame(b, p, &len, err))
				return die(b, err);
			if (n >= len) {
				message(b, p, len);
				b->offset += len;
				b->counts.bytes += len;
				p += len;
				n -= len;
				continue;
			}
			b->want = len;
		}
		if (b->blen < BMP_COMMON_LEN) {
			size_t take = BMP_COMMON_LEN - b->blen;
			if (take > n)
				take = n;
			if (buf_reserve(b, BMP_COMMON_LEN))
				goto nomem;
			memcpy(b->buf + b->blen, p, take);
			b->blen += take;
			p += take;
			n -= take;
			if (b->blen < BMP_COMMON_LEN)
				break;
			if (frame(b, b->buf, &len, err))
				return die(b, err);
			b->want = len;
		}
		if (buf_reserve(b, b->want))
			goto nomem;
		size_t take = b->want - b->blen;
		if (take > n)
			take = n;
		memcpy(b->buf + b->blen, p, take);
		b->blen += take;
		p += take;
		n -= take;
		if (b->blen == b->want) {
			message(b, b->buf, b->want);
			b->offset += b->want;
			b->counts.bytes += b->want;
			b->blen = 0;
		}
	}
	return 0;
nomem:
	dm_fail(err, DM_ERR_NOMEM, b->offset, "BMP: out of memory buffering a %zu-byte message", b->want);
	return die(b, err);
}
