/* A sans-IO BGP-4 session: the RFC 4271 §8 finite state machine, OPEN and capability
 * negotiation (RFC 5492, 4760, 6793, 7911, 2918, 4724, 8654), hold and keepalive timers, error
 * handling (RFC 4271 §6, RFC 6608, RFC 7606) and UPDATE decoding into elements. */
#include "live/bgp_sess.h"

#include <stdlib.h>
#include <string.h>

enum {
	OPEN_HOLD_SECONDS = 240,      /* RFC 4271 §8.2.2: "a large value" while the OPEN is awaited */
	OPEN_MIN_LEN = 29,
	UPDATE_MIN_LEN = 23,
	NOTIFICATION_MIN_LEN = 21,
	REFRESH_LEN = 23,
	ARENA_LIMIT = 8 << 20,        /* one UPDATE of 64 KiB decodes in well under this */
};

struct bgp_sess {
	struct bgp_sess_conf conf;
	struct bgp_sess_cb cb;
	int state;
	struct bgp_sess_neg neg;
	struct bgp_sess_stats stats;
	int64_t hold_at, keepalive_at, connect_at;   /* deadlines, 0 = off */
	uint8_t local_initiator;
	uint8_t err_code, err_subcode;               /* last NOTIFICATION sent */
	struct arena arena;                          /* per UPDATE, reset each time */
};

static const uint8_t MARKER[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	                            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

const char *bgp_state_name(int state)
{
	switch (state) {
	case BGP_ST_IDLE: return "Idle";
	case BGP_ST_CONNECT: return "Connect";
	case BGP_ST_ACTIVE: return "Active";
	case BGP_ST_OPENSENT: return "OpenSent";
	case BGP_ST_OPENCONFIRM: return "OpenConfirm";
	case BGP_ST_ESTABLISHED: return "Established";
	default: return "?";
	}
}

const char *bgp_err_name(uint8_t code)
{
	switch (code) {
	case BGP_ERR_HEADER: return "Message Header Error";
	case BGP_ERR_OPEN: return "OPEN Message Error";
	case BGP_ERR_UPDATE: return "UPDATE Message Error";
	case BGP_ERR_HOLD: return "Hold Timer Expired";
	case BGP_ERR_FSM: return "Finite State Machine Error";
	case BGP_ERR_CEASE: return "Cease";
	case BGP_ERR_REFRESH: return "ROUTE-REFRESH Message Error";
	default: return "unknown error code";
	}
}

struct bgp_sess *bgp_sess_new(const struct bgp_sess_conf *conf, const struct bgp_sess_cb *cb)
{
	struct bgp_sess *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->conf = *conf;
	if (cb)
		s->cb = *cb;
	s->state = BGP_ST_IDLE;
	if (!s->conf.connect_retry)
		s->conf.connect_retry = 30;
	arena_init(&s->arena, ARENA_LIMIT);
	return s;
}

void bgp_sess_free(struct bgp_sess *s)
{
	if (!s)
		return;
	arena_free(&s->arena);
	free(s);
}

int bgp_sess_state(const struct bgp_sess *s) { return s->state; }
const struct bgp_sess_neg *bgp_sess_neg(const struct bgp_sess *s) { return &s->neg; }
const struct bgp_sess_stats *bgp_sess_stats(const struct bgp_sess *s) { return &s->stats; }
void bgp_sess_set_initiator(struct bgp_sess *s, int local) { s->local_initiator = local != 0; }
int bgp_sess_is_initiator(const struct bgp_sess *s) { return s->local_initiator; }

size_t bgp_sess_max_msg(const struct bgp_sess *s)
{
	return s->neg.ext_msg ? BGP_MAX_MSG : BGP_STD_MAX_MSG;
}

size_t bgp_sess_mem(const struct bgp_sess *s)
{
	return sizeof *s + s->arena.total;
}

void bgp_sess_last_error(const struct bgp_sess *s, uint8_t *code, uint8_t *subcode)
{
	*code = s->err_code;
	*subcode = s->err_subcode;
}

static uint32_t peer_asn(const struct bgp_sess *s)
{
	return s->neg.peer_as ? s->neg.peer_as : s->conf.remote_as;
}

static void set_state(struct bgp_sess *s, int st, int64_t now)
{
	int old = s->state;
	if (old == st)
		return;
	s->state = st;
	if (st == BGP_ST_ESTABLISHED)
		s->stats.established_at = now;
	if (st == BGP_ST_IDLE || st == BGP_ST_CONNECT || st == BGP_ST_ACTIVE)
		s->hold_at = s->keepalive_at = 0;
	if (s->cb.state)
		s->cb.state(s->cb.arg, old, st);
	if (s->cb.elem) {
		struct dm_elem e;
		memset(&e, 0, sizeof e);
		e.type = DM_ELEM_STATE;
		e.ts = (uint32_t)(now / 1000000);
		e.usec = (uint32_t)(now % 1000000);
		e.peer_ip = &s->conf.peer_ip;
		e.peer_asn = peer_asn(s);
		e.old_state = (uint16_t)old;
		e.new_state = (uint16_t)st;
		s->cb.elem(&e, s->cb.arg);
	}
}

/* Frames and sends one message; body may be NULL when len is 0. */
static void send_msg(struct bgp_sess *s, uint8_t type, const uint8_t *body, size_t len)
{
	uint8_t hdr[BGP_HEADER_LEN];
	size_t total = BGP_HEADER_LEN + len;
	memcpy(hdr, MARKER, 16);
	be16_put(hdr + 16, (unsigned)total);
	hdr[18] = type;
	s->stats.msgs_out++;
	if (!s->cb.send && !s->cb.raw)
		return;
	/* one contiguous message for the archiver and one write for the socket */
	uint8_t buf[BGP_MAX_MSG];
	memcpy(buf, hdr, BGP_HEADER_LEN);
	if (len)
		memcpy(buf + BGP_HEADER_LEN, body, len);
	if (s->cb.raw)
		s->cb.raw(s->cb.arg, 1, buf, total);
	if (s->cb.send)
		s->cb.send(s->cb.arg, buf, total);
}

/* Sends a NOTIFICATION and drops to Idle: the one exit of every error. */
static void notify(struct bgp_sess *s, uint8_t code, uint8_t subcode, const uint8_t *data, size_t n, int64_t now)
{
	uint8_t body[BGP_STD_MAX_MSG];
	size_t room = bgp_sess_max_msg(s) - BGP_HEADER_LEN - 2;
	if (n > room)
		n = room;
	if (n > sizeof body - 2)
		n = sizeof body - 2;
	body[0] = code;
	body[1] = subcode;
	if (n)
		memcpy(body + 2, data, n);
	s->err_code = code;
	s->err_subcode = subcode;
	send_msg(s, BGP_MSG_NOTIFICATION, body, 2 + n);
	if (s->cb.notify)
		s->cb.notify(s->cb.arg, 1, code, subcode, data, n);
	set_state(s, BGP_ST_IDLE, now);
}

static size_t open_body(const struct bgp_sess *s, uint8_t *b)
{
	const struct bgp_sess_conf *c = &s->conf;
	size_t n = 0;
	b[n++] = 4;
	be16_put(b + n, c->local_as > 0xffff ? BGP_AS_TRANS : c->local_as);
	n += 2;
	be16_put(b + n, c->hold_time);
	n += 2;
	be32_put(b + n, c->router_id);
	n += 4;
	size_t optlen_at = n++;
	b[n++] = 2;                     /* parameter type: capabilities (RFC 5492) */
	size_t caplen_at = n++;
	static const uint8_t mp4[] = { BGP_CAP_MP, 4, 0, DM_AFI_IPV4, 0, DM_SAFI_UNICAST };
	static const uint8_t mp6[] = { BGP_CAP_MP, 4, 0, DM_AFI_IPV6, 0, DM_SAFI_UNICAST };
	memcpy(b + n, mp4, sizeof mp4);
	n += sizeof mp4;
	memcpy(b + n, mp6, sizeof mp6);
	n += sizeof mp6;
	b[n++] = BGP_CAP_REFRESH;
	b[n++] = 0;
	b[n++] = BGP_CAP_AS4;
	b[n++] = 4;
	be32_put(b + n, c->local_as);
	n += 4;
	if (c->ext_msg) {
		b[n++] = BGP_CAP_EXT_MSG;
		b[n++] = 0;
	}
	if (c->addpath_rx && !c->feed) {
		/* RFC 7911 §4: send/receive 1 = we can receive path ids */
		static const uint8_t ap[] = { BGP_CAP_ADDPATH, 8, 0, DM_AFI_IPV4, DM_SAFI_UNICAST, 1,
			                      0, DM_AFI_IPV6, DM_SAFI_UNICAST, 1 };
		memcpy(b + n, ap, sizeof ap);
		n += sizeof ap;
	} else if (c->feed && c->addpath_tx) {
		/* 2 = we can send path ids (feed plays an archive's ADD-PATH UPDATEs as they were) */
		static const uint8_t ap[] = { BGP_CAP_ADDPATH, 8, 0, DM_AFI_IPV4, DM_SAFI_UNICAST, 2,
			                      0, DM_AFI_IPV6, DM_SAFI_UNICAST, 2 };
		memcpy(b + n, ap, sizeof ap);
		n += sizeof ap;
	}
	if (!c->feed) {
		/* RFC 4724 §3: a receiving speaker advertises the capability with no families and
		 * restart time 0: it keeps the peer's routes over the peer's restart. */
		b[n++] = BGP_CAP_GR;
		b[n++] = 2;
		b[n++] = 0;
		b[n++] = 0;
	}
	b[caplen_at] = (uint8_t)(n - caplen_at - 1);
	b[optlen_at] = (uint8_t)(n - optlen_at - 1);
	return n;
}

void bgp_sess_start(struct bgp_sess *s, int64_t now)
{
	if (s->state != BGP_ST_IDLE)
		return;
	if (s->conf.passive) {
		set_state(s, BGP_ST_ACTIVE, now);
		return;
	}
	set_state(s, BGP_ST_CONNECT, now);
	s->connect_at = now + (int64_t)s->conf.connect_retry * 1000000;
	if (s->cb.connect)
		s->cb.connect(s->cb.arg);
}

void bgp_sess_connected(struct bgp_sess *s, int64_t now)
{
	if (s->state == BGP_ST_OPENSENT || s->state == BGP_ST_OPENCONFIRM || s->state == BGP_ST_ESTABLISHED)
		return;
	memset(&s->neg, 0, sizeof s->neg);
	s->err_code = s->err_subcode = 0;
	s->connect_at = 0;
	uint8_t b[64];
	size_t n = open_body(s, b);
	send_msg(s, BGP_MSG_OPEN, b, n);
	set_state(s, BGP_ST_OPENSENT, now);
	s->hold_at = now + (int64_t)OPEN_HOLD_SECONDS * 1000000;
}

void bgp_sess_closed(struct bgp_sess *s, int64_t now)
{
	if (s->state == BGP_ST_IDLE)
		return;
	if (s->conf.passive) {
		set_state(s, BGP_ST_ACTIVE, now);
		return;
	}
	/* RFC 4271 §8.2.2: a failed or dropped connection waits ConnectRetryTime in Active */
	set_state(s, BGP_ST_ACTIVE, now);
	s->connect_at = now + (int64_t)s->conf.connect_retry * 1000000;
}

void bgp_sess_cease(struct bgp_sess *s, uint8_t subcode, const uint8_t *data, size_t n, int64_t now)
{
	if (s->state == BGP_ST_OPENSENT || s->state == BGP_ST_OPENCONFIRM || s->state == BGP_ST_ESTABLISHED)
		notify(s, BGP_ERR_CEASE, subcode, data, n, now);
	else
		set_state(s, BGP_ST_IDLE, now);
}

static void arm_hold(struct bgp_sess *s, int64_t now)
{
	s->hold_at = s->neg.hold_time ? now + (int64_t)s->neg.hold_time * 1000000 : 0;
}

static void arm_keepalive(struct bgp_sess *s, int64_t now)
{
	unsigned iv = s->neg.hold_time / 3;
	if (s->neg.hold_time && !iv)
		iv = 1;
	s->keepalive_at = iv ? now + (int64_t)iv * 1000000 : 0;
}

void bgp_sess_timer(struct bgp_sess *s, int64_t now)
{
	switch (s->state) {
	case BGP_ST_CONNECT:
	case BGP_ST_ACTIVE:
		if (!s->conf.passive && s->connect_at && now >= s->connect_at) {
			s->connect_at = now + (int64_t)s->conf.connect_retry * 1000000;
			set_state(s, BGP_ST_CONNECT, now);
			if (s->cb.connect)
				s->cb.connect(s->cb.arg);
		}
		return;
	case BGP_ST_OPENSENT:
	case BGP_ST_OPENCONFIRM:
	case BGP_ST_ESTABLISHED:
		if (s->hold_at && now >= s->hold_at) {
			notify(s, BGP_ERR_HOLD, 0, NULL, 0, now);
			return;
		}
		if (s->state != BGP_ST_OPENSENT && s->keepalive_at && now >= s->keepalive_at) {
			send_msg(s, BGP_MSG_KEEPALIVE, NULL, 0);
			arm_keepalive(s, now);
		}
		return;
	default:
		return;
	}
}

/* ------------------------------------------------------------------ OPEN */

struct open_caps {
	uint8_t as4_seen;
	uint32_t as4;
	uint8_t mp_seen, mp_v4, mp_v6;
	uint8_t ap_v4, ap_v6;           /* the peer sends path ids */
	uint8_t ap_rx_v4, ap_rx_v6;     /* the peer receives them */
	uint8_t ext_msg, refresh;
	uint8_t gr, gr_v4, gr_v6;
	uint16_t gr_time;
};

/* One capability TLV value (RFC 5492 §4): unknown codes are ignored, as the RFC asks. Returns
 * -1 when a known capability has an impossible length. */
static int cap_one(uint8_t code, struct cur *v, struct open_caps *c)
{
	size_t len = cur_left(v);
	switch (code) {
	case BGP_CAP_MP:
		if (len != 4)
			return -1;
		c->mp_seen = 1;
		if (be16(v->p) == DM_AFI_IPV4 && v->p[3] == DM_SAFI_UNICAST)
			c->mp_v4 = 1;
		if (be16(v->p) == DM_AFI_IPV6 && v->p[3] == DM_SAFI_UNICAST)
			c->mp_v6 = 1;
		return 0;
	case BGP_CAP_AS4:
		if (len != 4)
			return -1;
		c->as4_seen = 1;
		c->as4 = be32(v->p);
		return 0;
	case BGP_CAP_ADDPATH:
		if (len % 4)
			return -1;
		for (size_t i = 0; i < len; i += 4) {
			const uint8_t *t = v->p + i;
			int sends = (t[3] & 2) != 0;   /* RFC 7911 §4: 1 = receive, 2 = send, 3 = both */
			int receives = (t[3] & 1) != 0;
			if (be16(t) == DM_AFI_IPV4 && t[2] == DM_SAFI_UNICAST) {
				c->ap_v4 = (uint8_t)sends;
				c->ap_rx_v4 = (uint8_t)receives;
			}
			if (be16(t) == DM_AFI_IPV6 && t[2] == DM_SAFI_UNICAST) {
				c->ap_v6 = (uint8_t)sends;
				c->ap_rx_v6 = (uint8_t)receives;
			}
		}
		return 0;
	case BGP_CAP_EXT_MSG:
		c->ext_msg = 1;
		return len == 0 ? 0 : -1;
	case BGP_CAP_REFRESH:
	case 128:   /* the pre-standard route refresh code some routers still send */
		c->refresh = 1;
		return 0;
	case BGP_CAP_GR:
		if (len < 2 || (len - 2) % 4)
			return -1;
		c->gr = 1;
		c->gr_time = be16(v->p) & 0x0fff;
		for (size_t i = 2; i < len; i += 4) {
			const uint8_t *t = v->p + i;
			if (be16(t) == DM_AFI_IPV4 && t[2] == DM_SAFI_UNICAST)
				c->gr_v4 = 1;
			if (be16(t) == DM_AFI_IPV6 && t[2] == DM_SAFI_UNICAST)
				c->gr_v6 = 1;
		}
		return 0;
	default:
		return 0;
	}
}

/* Optional parameters (RFC 4271 §4.2, RFC 9072 extended form). Returns 0, or the OPEN error
 * subcode to send (*bad_param points at the offending parameter for BGP_OPEN_BAD_OPT). */
static int open_params(struct cur *p, struct open_caps *caps)
{
	int ext = cur_left(p) >= 3 && p->p[0] == 255;   /* RFC 9072 §2: non-extended type 255 */
	struct cur params = *p;
	if (ext) {
		uint16_t l;
		params.p += 1;
		if (cur_u16(&params, &l) < 0 || cur_left(&params) != l)
			return 0xff;
	}
	while (cur_left(&params)) {
		uint8_t type;
		uint16_t len;
		if (cur_u8(&params, &type) < 0)
			return 0xff;
		if (ext) {
			if (cur_u16(&params, &len) < 0)
				return 0xff;
		} else {
			uint8_t l8;
			if (cur_u8(&params, &l8) < 0)
				return 0xff;
			len = l8;
		}
		struct cur v;
		if (cur_take(&params, len, &v) < 0)
			return 0xff;
		if (type != 2)
			return BGP_OPEN_BAD_OPT;
		while (cur_left(&v)) {
			uint8_t code, clen;
			struct cur cv;
			if (cur_u8(&v, &code) < 0 || cur_u8(&v, &clen) < 0 || cur_take(&v, clen, &cv) < 0)
				return 0xff;
			if (cap_one(code, &cv, caps) < 0)
				return 0xff;
		}
	}
	return 0;
}

static void open_error(struct bgp_sess *s, uint8_t subcode, const uint8_t *data, size_t n, int64_t now)
{
	notify(s, BGP_ERR_OPEN, subcode, data, n, now);
}

static void handle_open(struct bgp_sess *s, const uint8_t *msg, size_t len, int64_t now)
{
	struct cur c = cur_make(msg + BGP_HEADER_LEN, len - BGP_HEADER_LEN);
	uint8_t version = 0, optlen = 0;
	uint16_t my_as = 0, hold = 0;
	uint32_t id = 0;
	cur_u8(&c, &version);
	cur_u16(&c, &my_as);
	cur_u16(&c, &hold);
	cur_u32(&c, &id);
	cur_u8(&c, &optlen);
	/* RFC 4271 §6.2, checks in its order */
	if (version != 4) {
		static const uint8_t v4[2] = { 0, 4 };   /* the largest version we support */
		open_error(s, BGP_OPEN_BAD_VERSION, v4, 2, now);
		return;
	}
	if (cur_left(&c) != optlen) {
		/* the optional parameters' length disagrees with the message length */
		open_error(s, 0, NULL, 0, now);
		return;
	}
	struct open_caps caps;
	memset(&caps, 0, sizeof caps);
	int bad = open_params(&c, &caps);
	if (bad == BGP_OPEN_BAD_OPT) {
		open_error(s, BGP_OPEN_BAD_OPT, NULL, 0, now);
		return;
	}
	if (bad) {
		open_error(s, 0, NULL, 0, now);   /* malformed parameters: unspecific subcode */
		return;
	}
	uint32_t pas = caps.as4_seen ? caps.as4 : my_as;
	if (!pas || (s->conf.remote_as && pas != s->conf.remote_as) ||
	    (caps.as4_seen && caps.as4 > 0xffff && my_as != BGP_AS_TRANS)) {
		uint8_t d[2];
		be16_put(d, my_as);
		open_error(s, BGP_OPEN_BAD_AS, d, 2, now);
		return;
	}
	if (hold == 1 || hold == 2) {
		open_error(s, BGP_OPEN_BAD_HOLD, NULL, 0, now);
		return;
	}
	/* RFC 6286 §2.2: any non-zero identifier, unique within the AS */
	if (id == 0 || (pas == s->conf.local_as && id == s->conf.router_id)) {
		uint8_t d[4];
		be32_put(d, id);
		open_error(s, BGP_OPEN_BAD_ID, d, 4, now);
		return;
	}
	if (s->conf.require_as4 && !caps.as4_seen) {
		/* RFC 5492 §3: the data names the capability we needed */
		uint8_t d[6] = { BGP_CAP_AS4, 4 };
		be32_put(d + 2, s->conf.local_as);
		open_error(s, BGP_OPEN_UNSUP_CAP, d, sizeof d, now);
		return;
	}
	struct bgp_sess_neg *n = &s->neg;
	n->peer_as = pas;
	n->peer_id = id;
	n->hold_time = hold < s->conf.hold_time ? hold : s->conf.hold_time;
	n->as4 = caps.as4_seen;
	int offered_ap = s->conf.addpath_rx && !s->conf.feed;
	n->addpath_v4 = (uint8_t)(offered_ap && caps.ap_v4);
	n->addpath_v6 = (uint8_t)(offered_ap && caps.ap_v6);
	int offered_tx = s->conf.feed && s->conf.addpath_tx;
	n->addpath_tx_v4 = (uint8_t)(offered_tx && caps.ap_rx_v4);
	n->addpath_tx_v6 = (uint8_t)(offered_tx && caps.ap_rx_v6);
	n->ext_msg = (uint8_t)(s->conf.ext_msg && caps.ext_msg);
	n->refresh = caps.refresh;
	n->mp_v4 = (uint8_t)(caps.mp_seen ? caps.mp_v4 : 1);   /* RFC 4760 §8: none = IPv4 unicast */
	n->mp_v6 = caps.mp_v6;
	n->gr = caps.gr;
	n->gr_time = caps.gr_time;
	n->gr_v4 = caps.gr_v4;
	n->gr_v6 = caps.gr_v6;
	send_msg(s, BGP_MSG_KEEPALIVE, NULL, 0);
	set_state(s, BGP_ST_OPENCONFIRM, now);
	arm_hold(s, now);
	arm_keepalive(s, now);
}

/* ------------------------------------------------------------------ UPDATE */

enum bgp_upd_action bgp_update_action(const struct bgp_update *u, int decode_rc, uint8_t *code, uint8_t *subcode)
{
	const struct bgp_attrs *a = &u->attrs;
	*code = *subcode = 0;
	/* RFC 7606 §5.3 / RFC 4271 §6.3: the withdrawn-routes or attribute length overruns the
	 * message: nothing after it can be located. */
	if (decode_rc < 0) {
		*code = BGP_ERR_UPDATE;
		*subcode = BGP_UPD_MALFORMED_ATTRS;
		return BGP_UPD_RESET;
	}
	/* A prefix that cannot be parsed (in NLRI, withdrawn routes, or MP_(UN)REACH) leaves the
	 * rest of the message unreadable: RFC 7606 §5.3 session reset, Invalid Network Field. A
	 * message only readable with path ids the session did not negotiate is the same. */
	if (u->nlri_err || u->attr_err == DM_ERR_BAD_NLRI || u->addpath_guessed) {
		*code = BGP_ERR_UPDATE;
		*subcode = BGP_UPD_BAD_NETWORK;
		return BGP_UPD_RESET;
	}
	/* the decoder's RFC 7606 class (bgp.h): a framing or MP error is a reset, the rest as classed */
	if (a->action >= BGP_ERR_AFISAFI_DISABLE) {
		*code = BGP_ERR_UPDATE;
		*subcode = BGP_UPD_MALFORMED_ATTRS;
		return BGP_UPD_RESET;
	}
	if (a->action == BGP_ERR_TREAT_AS_WITHDRAW)
		return BGP_UPD_TREAT_AS_WITHDRAW;
	/* RFC 7606 §3(d): a missing well-known mandatory attribute with routes to announce */
	int has_nlri = u->announced.n || ((a->present & BGP_ATTR_BIT(BGP_ATTR_MP_REACH_NLRI)) && a->mp_reach.nlri.n);
	if (has_nlri) {
		uint64_t need = BGP_ATTR_BIT(BGP_ATTR_ORIGIN) | BGP_ATTR_BIT(BGP_ATTR_AS_PATH);
		if (u->announced.n)
			need |= BGP_ATTR_BIT(BGP_ATTR_NEXT_HOP);
		if ((a->present & need) != need)
			return BGP_UPD_TREAT_AS_WITHDRAW;
	}
	if (a->n_errors)
		return BGP_UPD_DISCARD_ATTR;
	return BGP_UPD_OK;
}

static int is_eor(const struct bgp_update *u, uint16_t *afi, uint8_t *safi)
{
	const struct bgp_attrs *a = &u->attrs;
	if (u->withdrawn.n || u->announced.n)
		return 0;
	if (u->attrs_len == 0) {
		*afi = DM_AFI_IPV4;
		*safi = DM_SAFI_UNICAST;
		return 1;
	}
	/* RFC 4724 §2: an UPDATE holding only an empty MP_UNREACH_NLRI */
	if (a->present == BGP_ATTR_BIT(BGP_ATTR_MP_UNREACH_NLRI) && !a->mp_unreach.nlri.n) {
		*afi = a->mp_unreach.afi;
		*safi = a->mp_unreach.safi;
		return 1;
	}
	return 0;
}

static void handle_update(struct bgp_sess *s, const uint8_t *msg, size_t len, int64_t now)
{
	s->stats.updates_in++;
	arena_reset(&s->arena);
	struct bgp_ctx ctx = { .asn_size = (uint8_t)(s->neg.as4 ? 4 : 2), .addpath = s->neg.addpath_v4,
		               .afi = DM_AFI_IPV4, .safi = DM_SAFI_UNICAST };
	struct mrt_rec rec;
	rec.kind = MRT_K_MESSAGE;
	memset(&rec.hdr, 0, sizeof rec.hdr);
	struct mrt_message *m = &rec.u.msg;
	memset(&m->s, 0, sizeof m->s);
	struct cur c = cur_make(msg + BGP_HEADER_LEN, len - BGP_HEADER_LEN);
	struct dm_error err;
	struct bgp_update *u = &m->msg.u.update;
	int rc = bgp_update_decode(&c, &ctx, &s->arena, u, &err);
	if (rc == 0 && s->neg.addpath_v4 != s->neg.addpath_v6 &&
	    (u->attrs.present & (BGP_ATTR_BIT(BGP_ATTR_MP_REACH_NLRI) | BGP_ATTR_BIT(BGP_ATTR_MP_UNREACH_NLRI))) &&
	    !u->withdrawn.n && !u->announced.n) {
		/* ADD-PATH negotiated for one family only: an IPv6 UPDATE is read with IPv6's setting */
		ctx.addpath = s->neg.addpath_v6;
		c = cur_make(msg + BGP_HEADER_LEN, len - BGP_HEADER_LEN);
		rc = bgp_update_decode(&c, &ctx, &s->arena, u, &err);
	}
	uint8_t code, subcode;
	enum bgp_upd_action act = bgp_update_action(u, rc, &code, &subcode);
	if (act == BGP_UPD_RESET) {
		notify(s, code, subcode, NULL, 0, now);
		return;
	}
	if (act == BGP_UPD_TREAT_AS_WITHDRAW) {
		u->attrs.action = BGP_ERR_TREAT_AS_WITHDRAW;
		s->stats.withdrawn_7606++;
	} else if (act == BGP_UPD_DISCARD_ATTR) {
		s->stats.attrs_discarded++;
	}
	uint16_t afi;
	uint8_t safi;
	if (is_eor(u, &afi, &safi)) {
		if (s->cb.eor)
			s->cb.eor(s->cb.arg, afi, safi);
		return;
	}
	if (!s->cb.elem)
		return;
	m->msg.type = BGP_MSG_UPDATE;
	m->msg.len = (uint16_t)len;
	m->msg_err = 0;
	m->s.peer_ip = s->conf.peer_ip;
	m->s.peer_as = s->neg.peer_as;
	m->s.local_as = s->conf.local_as;
	m->s.afi = s->conf.peer_ip.afi;
	m->s.as4 = s->neg.as4;
	m->s.addpath = ctx.addpath;
	rec.hdr.ts = (uint32_t)(now / 1000000);
	rec.hdr.usec = (uint32_t)(now % 1000000);
	rec.hdr.type = MRT_BGP4MP_ET;
	rec.hdr.subtype = ctx.addpath ? MRT_BGP4MP_MESSAGE_AS4_ADDPATH : MRT_BGP4MP_MESSAGE_AS4;
	s->stats.elems += mrt_elems(NULL, &rec, s->cb.elem, s->cb.arg);
}

/* ------------------------------------------------------------------ input */

static void fsm_error(struct bgp_sess *s, int64_t now)
{
	uint8_t sub = s->state == BGP_ST_OPENSENT ? BGP_FSM_IN_OPENSENT :
	              s->state == BGP_ST_OPENCONFIRM ? BGP_FSM_IN_OPENCONFIRM : BGP_FSM_IN_ESTABLISHED;
	notify(s, BGP_ERR_FSM, sub, NULL, 0, now);
}

/* Header checks of RFC 4271 §6.1 on the first 19 bytes. Returns 0 or sends the NOTIFICATION. */
static int check_header(struct bgp_sess *s, const uint8_t *h, int64_t now)
{
	if (memcmp(h, MARKER, 16)) {
		notify(s, BGP_ERR_HEADER, BGP_HDR_NOT_SYNC, NULL, 0, now);
		return -1;
	}
	unsigned len = be16(h + 16);
	uint8_t type = h[18];
	size_t max = bgp_sess_max_msg(s);
	/* RFC 8654 §4: OPEN and KEEPALIVE never exceed 4096 */
	if (type == BGP_MSG_OPEN || type == BGP_MSG_KEEPALIVE)
		max = BGP_STD_MAX_MSG;
	int bad = len < BGP_HEADER_LEN || len > max;
	switch (type) {
	case BGP_MSG_OPEN: bad |= len < OPEN_MIN_LEN; break;
	case BGP_MSG_UPDATE: bad |= len < UPDATE_MIN_LEN; break;
	case BGP_MSG_NOTIFICATION: bad |= len < NOTIFICATION_MIN_LEN; break;
	case BGP_MSG_KEEPALIVE: bad |= len != BGP_HEADER_LEN; break;
	case BGP_MSG_ROUTE_REFRESH:
		if (!bad && len != REFRESH_LEN) {
			/* RFC 7313 §5: its own code, the whole message as data (may not be here yet:
			 * the header is enough) */
			notify(s, BGP_ERR_REFRESH, BGP_REFRESH_BAD_LEN, h, BGP_HEADER_LEN, now);
			return -1;
		}
		break;
	default:
		notify(s, BGP_ERR_HEADER, BGP_HDR_BAD_TYPE, &type, 1, now);
		return -1;
	}
	if (bad) {
		uint8_t d[2];
		be16_put(d, len);
		notify(s, BGP_ERR_HEADER, BGP_HDR_BAD_LEN, d, 2, now);
		return -1;
	}
	return 0;
}

static void handle_msg(struct bgp_sess *s, const uint8_t *msg, size_t len, int64_t now)
{
	uint8_t type = msg[18];
	s->stats.msgs_in++;
	s->stats.bytes_in += len;
	if (s->cb.raw)
		s->cb.raw(s->cb.arg, 0, msg, len);
	if (type == BGP_MSG_NOTIFICATION) {
		if (s->cb.notify)
			s->cb.notify(s->cb.arg, 0, msg[19], msg[20], msg + 21, len - 21);
		set_state(s, BGP_ST_IDLE, now);
		return;
	}
	switch (s->state) {
	case BGP_ST_OPENSENT:
		if (type != BGP_MSG_OPEN) {
			fsm_error(s, now);
			return;
		}
		handle_open(s, msg, len, now);
		return;
	case BGP_ST_OPENCONFIRM:
		if (type != BGP_MSG_KEEPALIVE) {
			fsm_error(s, now);
			return;
		}
		arm_hold(s, now);
		set_state(s, BGP_ST_ESTABLISHED, now);
		return;
	case BGP_ST_ESTABLISHED:
		switch (type) {
		case BGP_MSG_KEEPALIVE:
			arm_hold(s, now);
			return;
		case BGP_MSG_UPDATE:
			arm_hold(s, now);
			handle_update(s, msg, len, now);
			return;
		case BGP_MSG_ROUTE_REFRESH:
			return;   /* a collector has nothing to resend; the feeder replays on its own */
		default:
			fsm_error(s, now);
			return;
		}
	default:
		return;
	}
}

size_t bgp_sess_input(struct bgp_sess *s, const uint8_t *bytes, size_t n, int64_t now, unsigned max_msgs)
{
	size_t off = 0;
	unsigned done = 0;
	while (s->state >= BGP_ST_OPENSENT && n - off >= BGP_HEADER_LEN && (!max_msgs || done < max_msgs)) {
		const uint8_t *h = bytes + off;
		if (check_header(s, h, now) < 0)
			return n;   /* the connection is finished: the rest is dropped */
		size_t len = be16(h + 16);
		if (n - off < len)
			break;
		handle_msg(s, h, len, now);
		off += len;
		done++;
		if (s->state == BGP_ST_IDLE)
			return n;
	}
	return off;
}

/* ------------------------------------------------------------------ sending */

int bgp_sess_send_update(struct bgp_sess *s, const uint8_t *body, size_t n)
{
	if (s->state != BGP_ST_ESTABLISHED || n + BGP_HEADER_LEN > bgp_sess_max_msg(s))
		return -1;
	send_msg(s, BGP_MSG_UPDATE, body, n);
	return 0;
}

int bgp_sess_refresh(struct bgp_sess *s, uint16_t afi, uint8_t safi)
{
	if (s->state != BGP_ST_ESTABLISHED || !s->neg.refresh)
		return -1;
	uint8_t b[4];
	be16_put(b, afi);
	b[2] = 0;
	b[3] = safi;
	send_msg(s, BGP_MSG_ROUTE_REFRESH, b, sizeof b);
	return 0;
}

struct bgp_sess *bgp_sess_collision(struct bgp_sess *a, struct bgp_sess *b)
{
	if (a->local_initiator == b->local_initiator)
		return b;   /* not a collision of two directions: keep the older one */
	uint32_t remote_id = a->neg.peer_id ? a->neg.peer_id : b->neg.peer_id;
	struct bgp_sess *mine = a->local_initiator ? a : b;
	struct bgp_sess *theirs = a->local_initiator ? b : a;
	return a->conf.router_id < remote_id ? mine : theirs;
}
