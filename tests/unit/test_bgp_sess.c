/* The sans-IO BGP session: hand-built byte sequences in, exact replies and NOTIFICATION codes
 * out (RFC 4271 §4, §6, §8; RFC 5492, 6793, 7911, 4724, 7606, 6608, 7313, 8654). Each expected
 * message is spelled out in hex from the RFC layouts. */
#include "testutil.h"

#include "live/bgp_sess.h"

#define MARKER "ffffffffffffffffffffffffffffffff"
#define SEC 1000000LL
#define T0 (1700000000LL * SEC)

struct cap {
	uint8_t out[1 << 17];
	size_t outlen;
	char elems[64][160];
	unsigned nelem;
	int states[32][2];
	unsigned nstate;
	int notify_sent, notify_code, notify_sub;
	unsigned eor;
};

static struct cap C;

static void c_send(void *arg, const uint8_t *b, size_t n)
{
	if (C.outlen + n <= sizeof C.out) {
		memcpy(C.out + C.outlen, b, n);
		C.outlen += n;
	}
}

static void c_elem(const struct dm_elem *e, void *arg)
{
	if (C.nelem >= 64)
		return;
	char *d = C.elems[C.nelem++];
	char p[DM_PREFIX_STRLEN] = "";
	if (e->type == DM_ELEM_STATE) {
		snprintf(d, 160, "S %u %u>%u", e->peer_asn, e->old_state, e->new_state);
		return;
	}
	dm_prefix_fmt(&e->prefix, p);
	int n = snprintf(d, 160, "%c %u %s", e->type, e->peer_asn, p);
	if (e->has_path_id)
		n += snprintf(d + n, 160 - (size_t)n, " id=%u", e->path_id);
	if (e->attrs) {
		const struct as_path *ap = &e->attrs->path;
		n += snprintf(d + n, 160 - (size_t)n, " path");
		for (unsigned i = 0; i < ap->nseg; i++)
			for (unsigned k = 0; k < ap->seg[i].count; k++)
				n += snprintf(d + n, 160 - (size_t)n, " %u", ap->seg[i].asn[k]);
	}
}

static void c_state(void *arg, int o, int n)
{
	if (C.nstate < 32) {
		C.states[C.nstate][0] = o;
		C.states[C.nstate++][1] = n;
	}
}

static void c_notify(void *arg, int sent, uint8_t code, uint8_t sub, const uint8_t *d, size_t n)
{
	C.notify_sent = sent;
	C.notify_code = code;
	C.notify_sub = sub;
}

static void c_eor(void *arg, uint16_t afi, uint8_t safi) { C.eor++; }

static struct bgp_sess_conf conf(void)
{
	struct bgp_sess_conf c;
	memset(&c, 0, sizeof c);
	c.local_as = 65000;
	c.router_id = 0x0a000001;
	c.hold_time = 90;
	c.passive = 1;
	c.addpath_rx = 1;
	dm_ip_parse("192.0.2.1", &c.peer_ip);
	return c;
}

static struct bgp_sess *new_sess(const struct bgp_sess_conf *c)
{
	memset(&C, 0, sizeof C);
	struct bgp_sess_cb cb = { c_send, c_elem, NULL, c_state, c_notify, NULL, c_eor, NULL };
	return bgp_sess_new(c, &cb);
}

static void feed_hex(struct bgp_sess *s, const char *hex, int64_t now)
{
	uint8_t b[8192];
	size_t n = unhex(hex, b);
	size_t used = bgp_sess_input(s, b, n, now, 0);
	(void)used;
}

static void assert_out(const char *hex)
{
	uint8_t b[8192];
	size_t n = unhex(hex, b);
	assert_int_equal(C.outlen, n);
	assert_memory_equal(C.out, b, n);
	C.outlen = 0;
}

/* The peer's OPEN: AS 65001, hold 90, id 10.0.0.2, MP IPv4+IPv6, AS4 65001 [+ extra caps]. */
#define PEER_OPEN_AS4 MARKER "0033 01 04 fde9 005a 0a000002 16 02 14 010400010001 010400020001 4104 0000fde9 0200"
#define KEEPALIVE MARKER "0013 04"

/* Our OPEN (conf() above), RFC 4271 §4.2 + RFC 5492: version 4, AS 65000 (fde8), hold 90 (005a),
 * id 10.0.0.1, one capabilities parameter of 34 bytes: MP IPv4 unicast, MP IPv6 unicast, route
 * refresh, 4-octet AS 65000, ADD-PATH receive IPv4+IPv6 unicast, graceful restart (time 0). */
#define OUR_OPEN MARKER "0041 01 04 fde8 005a 0a000001 24 02 22 010400010001 010400020001 0200 4104 0000fde8 " \
	"4508 0001 01 01 0002 01 01 4002 0000"

static struct bgp_sess *established(struct bgp_sess_conf *c, const char *peer_open)
{
	struct bgp_sess *s = new_sess(c);
	bgp_sess_start(s, T0);
	bgp_sess_connected(s, T0);
	C.outlen = 0;
	feed_hex(s, peer_open, T0);
	feed_hex(s, KEEPALIVE, T0);
	assert_int_equal(bgp_sess_state(s), BGP_ST_ESTABLISHED);
	C.outlen = 0;
	C.nelem = 0;
	return s;
}

static void test_open_exchange(void **st)
{
	struct bgp_sess_conf c = conf();
	struct bgp_sess *s = new_sess(&c);
	bgp_sess_start(s, T0);
	assert_int_equal(bgp_sess_state(s), BGP_ST_ACTIVE);   /* passive: waits */
	bgp_sess_connected(s, T0);
	assert_int_equal(bgp_sess_state(s), BGP_ST_OPENSENT);
	assert_out(OUR_OPEN);
	feed_hex(s, PEER_OPEN_AS4, T0);
	assert_int_equal(bgp_sess_state(s), BGP_ST_OPENCONFIRM);
	assert_out(KEEPALIVE);
	feed_hex(s, KEEPALIVE, T0);
	assert_int_equal(bgp_sess_state(s), BGP_ST_ESTABLISHED);
	const struct bgp_sess_neg *n = bgp_sess_neg(s);
	assert_int_equal(n->peer_as, 65001);
	assert_int_equal(n->peer_id, 0x0a000002);
	assert_int_equal(n->hold_time, 90);
	assert_true(n->as4 && n->refresh && n->mp_v4 && n->mp_v6);
	assert_false(n->addpath_v4);   /* the peer did not offer to send path ids */
	/* state elements: Idle>Active>OpenSent>OpenConfirm>Established */
	assert_int_equal(C.nstate, 4);
	assert_string_equal(C.elems[3], "S 65001 5>6");
	bgp_sess_free(s);
}

static void test_update_elements(void **st)
{
	struct bgp_sess_conf c = conf();
	struct bgp_sess *s = established(&c, PEER_OPEN_AS4);
	/* UPDATE: withdrawn 10.2.0.0/16; ORIGIN IGP, AS_PATH SEQ(65001 15169), NEXT_HOP 192.0.2.1;
	 * NLRI 10.1.0.0/16 */
	feed_hex(s, MARKER "0035 02 0003 10 0a02 0018 400101 00 40020a 02 02 0000fde9 00003b41 400304 c0000201 10 0a01",
	         T0 + SEC);
	assert_int_equal(C.nelem, 2);
	assert_string_equal(C.elems[0], "W 65001 10.2.0.0/16");
	assert_string_equal(C.elems[1], "A 65001 10.1.0.0/16 path 65001 15169");
	/* End-of-RIB: an empty UPDATE (RFC 4724 §2) */
	feed_hex(s, MARKER "0017 02 0000 0000", T0 + SEC);
	assert_int_equal(C.eor, 1);
	assert_int_equal(C.outlen, 0);
	bgp_sess_free(s);
}

static void test_header_errors(void **st)
{
	struct bgp_sess_conf c = conf();
	struct bgp_sess *s = established(&c, PEER_OPEN_AS4);
	/* marker not all ones -> 1/1 Connection Not Synchronized */
	feed_hex(s, "ffffffffffffffffffffffffffffff00 0013 04", T0);
	assert_int_equal(bgp_sess_state(s), BGP_ST_IDLE);
	assert_out(MARKER "0015 03 01 01");
	bgp_sess_free(s);

	/* KEEPALIVE of 20 bytes -> 1/2 Bad Message Length, data = the length 0014 */
	s = established(&c, PEER_OPEN_AS4);
	feed_hex(s, MARKER "0014 04 00", T0);
	assert_out(MARKER "0017 03 01 02 0014");
	bgp_sess_free(s);

	/* type 9 -> 1/3 Bad Message Type, data = the type */
	s = established(&c, PEER_OPEN_AS4);
	feed_hex(s, MARKER "0013 09", T0);
	assert_out(MARKER "0016 03 01 03 09");
	bgp_sess_free(s);

	/* 5000 bytes without extended messages (RFC 8654) -> 1/2, data 1388 */
	s = established(&c, PEER_OPEN_AS4);
	feed_hex(s, MARKER "1388 02", T0);
	assert_out(MARKER "0017 03 01 02 1388");
	bgp_sess_free(s);
}

static void test_open_errors(void **st)
{
	struct bgp_sess_conf c = conf();
	struct {
		const char *open;
		const char *want;
	} cases[] = {
		/* version 3 -> 2/1, data 0004 (the version we support) */
		{ MARKER "001d 01 03 fde9 005a 0a000002 00", MARKER "0017 03 02 01 0004" },
		/* hold time 2 -> 2/6 */
		{ MARKER "001d 01 04 fde9 0002 0a000002 00", MARKER "0015 03 02 06" },
		/* identifier 0 -> 2/3, data the identifier */
		{ MARKER "001d 01 04 fde9 005a 00000000 00", MARKER "0019 03 02 03 00000000" },
		/* optional parameter type 3 -> 2/4 */
		{ MARKER "0021 01 04 fde9 005a 0a000002 04 0302 0000", MARKER "0015 03 02 04" },
		/* OPEN sent a KEEPALIVE before its OPEN -> 5/1 (RFC 6608) */
		{ KEEPALIVE, MARKER "0015 03 05 01" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct bgp_sess *s = new_sess(&c);
		bgp_sess_start(s, T0);
		bgp_sess_connected(s, T0);
		C.outlen = 0;
		feed_hex(s, cases[i].open, T0);
		assert_int_equal(bgp_sess_state(s), BGP_ST_IDLE);
		assert_out(cases[i].want);
		bgp_sess_free(s);
	}
	/* configured remote AS 65002, the peer says 65001 -> 2/2, data its My AS */
	c.remote_as = 65002;
	struct bgp_sess *s = new_sess(&c);
	bgp_sess_start(s, T0);
	bgp_sess_connected(s, T0);
	C.outlen = 0;
	feed_hex(s, PEER_OPEN_AS4, T0);
	assert_out(MARKER "0017 03 02 02 fde9");
	bgp_sess_free(s);
	/* a peer without 4-octet AS support when it is required -> 2/7 (RFC 5492 §3), data = the
	 * capability: 41 04 0000fde8 */
	c = conf();
	c.require_as4 = 1;
	s = new_sess(&c);
	bgp_sess_start(s, T0);
	bgp_sess_connected(s, T0);
	C.outlen = 0;
	feed_hex(s, MARKER "001d 01 04 fde9 005a 0a000002 00", T0);
	assert_out(MARKER "001b 03 02 07 4104 0000fde8");
	bgp_sess_free(s);
}

static void test_fsm_errors(void **st)
{
	struct bgp_sess_conf c = conf();
	/* UPDATE in OpenConfirm -> 5/2 */
	struct bgp_sess *s = new_sess(&c);
	bgp_sess_start(s, T0);
	bgp_sess_connected(s, T0);
	feed_hex(s, PEER_OPEN_AS4, T0);
	C.outlen = 0;
	feed_hex(s, MARKER "0017 02 0000 0000", T0);
	assert_out(MARKER "0015 03 05 02");
	bgp_sess_free(s);
	/* OPEN in Established -> 5/3 */
	s = established(&c, PEER_OPEN_AS4);
	feed_hex(s, PEER_OPEN_AS4, T0);
	assert_out(MARKER "0015 03 05 03");
	bgp_sess_free(s);
	/* ROUTE-REFRESH of 24 bytes -> 7/1 (RFC 7313 §5), data = the message header */
	s = established(&c, PEER_OPEN_AS4);
	feed_hex(s, MARKER "0018 05 00010001 00", T0);
	assert_out(MARKER "0028 03 07 01" MARKER "0018 05");
	bgp_sess_free(s);
	/* a NOTIFICATION from the peer: Idle, no reply */
	s = established(&c, PEER_OPEN_AS4);
	feed_hex(s, MARKER "0015 03 06 02", T0);
	assert_int_equal(bgp_sess_state(s), BGP_ST_IDLE);
	assert_int_equal(C.outlen, 0);
	assert_int_equal(C.notify_sent, 0);
	assert_int_equal(C.notify_code, 6);
	bgp_sess_free(s);
}

static void test_update_errors(void **st)
{
	struct bgp_sess_conf c = conf();
	/* attribute length 0x40 past the message -> 3/1 Malformed Attribute List */
	struct bgp_sess *s = established(&c, PEER_OPEN_AS4);
	feed_hex(s, MARKER "001a 02 0000 0040 400100", T0);
	assert_out(MARKER "0015 03 03 01");
	bgp_sess_free(s);
	/* NLRI /33 -> 3/10 Invalid Network Field */
	s = established(&c, PEER_OPEN_AS4);
	feed_hex(s, MARKER "001d 02 0000 0000 21 0a000000 00", T0);
	assert_out(MARKER "0015 03 03 0a");
	bgp_sess_free(s);
	/* RFC 7606 §7.1: ORIGIN 5 (undefined) -> treat-as-withdraw, no NOTIFICATION */
	s = established(&c, PEER_OPEN_AS4);
	feed_hex(s, MARKER "0032 02 0000 0018 400101 05 40020a 02 02 0000fde9 00003b41 400304 c0000201 10 0a01",
	         T0);
	assert_int_equal(bgp_sess_state(s), BGP_ST_ESTABLISHED);
	assert_int_equal(C.outlen, 0);
	assert_int_equal(C.nelem, 1);
	assert_string_equal(C.elems[0], "W 65001 10.1.0.0/16");
	/* RFC 7606 §3(d): AS_PATH missing with NLRI -> treat-as-withdraw */
	C.nelem = 0;
	feed_hex(s, MARKER "0025 02 0000 000b 400101 00 400304 c0000201 10 0a01", T0);
	assert_int_equal(C.nelem, 1);
	assert_string_equal(C.elems[0], "W 65001 10.1.0.0/16");
	/* RFC 7606 §7.7: AGGREGATOR of 5 bytes -> attribute discarded, the route stays */
	C.nelem = 0;
	feed_hex(s, MARKER "003a 02 0000 0020 400101 00 40020a 02 02 0000fde9 00003b41 400304 c0000201 c00705 0102030405 10 0a01",
	         T0);
	assert_int_equal(C.nelem, 1);
	assert_string_equal(C.elems[0], "A 65001 10.1.0.0/16 path 65001 15169");
	assert_int_equal(bgp_sess_stats(s)->attrs_discarded, 1);
	assert_int_equal(bgp_sess_stats(s)->withdrawn_7606, 2);
	bgp_sess_free(s);
}

static void test_timers(void **st)
{
	struct bgp_sess_conf c = conf();
	/* the peer offers hold 30: negotiated 30, keepalive every 10 s */
	struct bgp_sess *s = established(&c, MARKER "0033 01 04 fde9 001e 0a000002 16 02 14 010400010001 010400020001 4104 0000fde9 0200");
	assert_int_equal(bgp_sess_neg(s)->hold_time, 30);
	bgp_sess_timer(s, T0 + 9 * SEC);
	assert_int_equal(C.outlen, 0);
	bgp_sess_timer(s, T0 + 10 * SEC);
	assert_out(KEEPALIVE);
	feed_hex(s, KEEPALIVE, T0 + 20 * SEC);   /* restarts the hold timer */
	bgp_sess_timer(s, T0 + 49 * SEC);
	assert_int_equal(bgp_sess_state(s), BGP_ST_ESTABLISHED);
	C.outlen = 0;
	bgp_sess_timer(s, T0 + 50 * SEC);
	assert_int_equal(bgp_sess_state(s), BGP_ST_IDLE);
	assert_out(MARKER "0015 03 04 00");   /* Hold Timer Expired */
	bgp_sess_free(s);
	/* hold 0 (RFC 4271 §4.2): no keepalives, no expiry */
	s = established(&c, MARKER "0033 01 04 fde9 0000 0a000002 16 02 14 010400010001 010400020001 4104 0000fde9 0200");
	bgp_sess_timer(s, T0 + 3600 * SEC);
	assert_int_equal(bgp_sess_state(s), BGP_ST_ESTABLISHED);
	assert_int_equal(C.outlen, 0);
	bgp_sess_free(s);
	/* no OPEN within the OpenSent hold time (240 s) -> 4/0 */
	s = new_sess(&c);
	bgp_sess_start(s, T0);
	bgp_sess_connected(s, T0);
	C.outlen = 0;
	bgp_sess_timer(s, T0 + 240 * SEC);
	assert_out(MARKER "0015 03 04 00");
	bgp_sess_free(s);
}

static void test_capabilities(void **st)
{
	struct bgp_sess_conf c = conf();
	c.ext_msg = 1;
	/* a 2-byte peer (no AS4 capability) that sends path ids (ADD-PATH 45 04 0001 01 02), and
	 * extended messages (06 00) */
	struct bgp_sess *s = established(&c, MARKER "0033 01 04 fde9 005a 0a000002 16 02 14 010400010001 010400020001 4504 0001 01 02 0600");
	const struct bgp_sess_neg *n = bgp_sess_neg(s);
	assert_false(n->as4);
	assert_true(n->addpath_v4);
	assert_false(n->addpath_v6);
	assert_true(n->ext_msg);
	assert_int_equal(bgp_sess_max_msg(s), 65535);
	/* 2-byte AS_PATH SEQ(65001 23456) + AS4_PATH SEQ(4200000000): merged 65001 4200000000
	 * (RFC 6793 §4.2.3); NLRI with path id 7 */
	feed_hex(s, MARKER "003b 02 0000 001d 400101 00 400206 0202 fde9 5ba0 c01106 0201 fa56ea00 400304 c0000201 00000007 10 0a01",
	         T0);
	assert_int_equal(C.nelem, 1);
	assert_string_equal(C.elems[0], "A 65001 10.1.0.0/16 id=7 path 65001 4200000000");
	bgp_sess_free(s);
	/* route refresh (RFC 2918): AFI 1, SAFI 1 */
	c = conf();
	s = established(&c, PEER_OPEN_AS4);
	assert_int_equal(bgp_sess_refresh(s, 1, 1), 0);
	assert_out(MARKER "0017 05 0001 00 01");
	bgp_sess_free(s);
}

static void test_split_input(void **st)
{
	/* the same messages one byte at a time: whole messages only are consumed */
	struct bgp_sess_conf c = conf();
	struct bgp_sess *s = new_sess(&c);
	bgp_sess_start(s, T0);
	bgp_sess_connected(s, T0);
	uint8_t b[256];
	size_t n = unhex(PEER_OPEN_AS4 KEEPALIVE, b), have = 0, off = 0;
	uint8_t buf[256];
	for (size_t i = 0; i < n; i++) {
		buf[have++] = b[i];
		size_t used = bgp_sess_input(s, buf + off, have - off, T0, 0);
		off += used;
	}
	assert_int_equal(off, n);
	assert_int_equal(bgp_sess_state(s), BGP_ST_ESTABLISHED);
	bgp_sess_free(s);
}

static void test_cease_and_collision(void **st)
{
	struct bgp_sess_conf c = conf();
	struct bgp_sess *s = established(&c, PEER_OPEN_AS4);
	bgp_sess_cease(s, BGP_CEASE_SHUTDOWN, NULL, 0, T0);
	assert_out(MARKER "0015 03 06 02");
	assert_int_equal(bgp_sess_state(s), BGP_ST_IDLE);
	bgp_sess_free(s);
	/* RFC 4271 §6.8: our id 10.0.0.1 < the peer's 10.0.0.2: the connection we opened goes */
	struct bgp_sess *a = established(&c, PEER_OPEN_AS4);
	struct bgp_sess *b = established(&c, PEER_OPEN_AS4);
	bgp_sess_set_initiator(a, 1);
	bgp_sess_set_initiator(b, 0);
	assert_ptr_equal(bgp_sess_collision(a, b), a);
	assert_ptr_equal(bgp_sess_collision(b, a), a);
	bgp_sess_free(a);
	bgp_sess_free(b);
	/* our id higher: the connection the peer opened goes */
	c.router_id = 0x0b000000;
	a = established(&c, PEER_OPEN_AS4);
	b = established(&c, PEER_OPEN_AS4);
	bgp_sess_set_initiator(a, 1);
	assert_ptr_equal(bgp_sess_collision(a, b), b);
	bgp_sess_free(a);
	bgp_sess_free(b);
}

static void test_feed_mode(void **st)
{
	struct bgp_sess_conf c = conf();
	c.feed = 1;
	c.passive = 0;
	struct bgp_sess *s = new_sess(&c);
	assert_int_equal(bgp_sess_send_update(s, (const uint8_t *)"\0\0\0\0", 4), -1);   /* not Established */
	bgp_sess_start(s, T0);
	assert_int_equal(bgp_sess_state(s), BGP_ST_CONNECT);
	bgp_sess_connected(s, T0);
	/* feed mode: no ADD-PATH receive, no graceful restart capability: 24 bytes of capabilities */
	assert_out(MARKER "0033 01 04 fde8 005a 0a000001 16 02 14 010400010001 010400020001 0200 4104 0000fde8");
	feed_hex(s, PEER_OPEN_AS4, T0);
	feed_hex(s, KEEPALIVE, T0);
	C.outlen = 0;
	assert_int_equal(bgp_sess_send_update(s, (const uint8_t *)"\0\0\0\0", 4), 0);
	assert_out(MARKER "0017 02 0000 0000");
	assert_false(bgp_sess_neg(s)->addpath_tx_v4);   /* not offered */
	bgp_sess_free(s);
	/* ADD-PATH send offered (RFC 7911 §4: 45 08, IPv4 and IPv6 unicast, 2 = send); a peer that
	 * receives for IPv4 only (01) and sends for IPv6 (02): path ids go out in IPv4 only */
	c.addpath_tx = 1;
	s = new_sess(&c);
	bgp_sess_start(s, T0);
	bgp_sess_connected(s, T0);
	assert_out(MARKER "003d 01 04 fde8 005a 0a000001 20 02 1e 010400010001 010400020001 0200 4104 0000fde8 "
	           "4508 0001 01 02 0002 01 02");
	feed_hex(s, MARKER "003b 01 04 fde9 005a 0a000002 1e 02 1c 010400010001 010400020001 4104 0000fde9 "
	            "4508 0001 01 01 0002 01 02", T0);
	feed_hex(s, KEEPALIVE, T0);
	assert_int_equal(bgp_sess_state(s), BGP_ST_ESTABLISHED);
	assert_true(bgp_sess_neg(s)->addpath_tx_v4);
	assert_false(bgp_sess_neg(s)->addpath_tx_v6);
	assert_false(bgp_sess_neg(s)->addpath_v6);      /* feed receives nothing */
	bgp_sess_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_exchange),
		cmocka_unit_test(test_update_elements),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_fsm_errors),
		cmocka_unit_test(test_update_errors),
		cmocka_unit_test(test_timers),
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_split_input),
		cmocka_unit_test(test_cease_and_collision),
		cmocka_unit_test(test_feed_mode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
