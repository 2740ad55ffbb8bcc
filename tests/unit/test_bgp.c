/* BGP codec unit tests: every expected value is computed by hand from RFC 4271/4760/6793 layouts
 * (the comment above each input spells the bytes out). */
#include "testutil.h"

#include "base/addr.h"
#include "bgp/bgp.h"

static struct arena A;

static int setup(void **s)
{
	(void)s;
	arena_init(&A, 1 << 20);
	return 0;
}

static int teardown(void **s)
{
	(void)s;
	arena_free(&A);
	return 0;
}

static const char *pfx(const struct dm_prefix *p)
{
	static char buf[DM_PREFIX_STRLEN];
	dm_prefix_fmt(p, buf);
	return buf;
}

static void test_nlri_ipv4(void **s)
{
	(void)s;
	uint8_t b[64];
	/* /24 10.0.1.0 ; /0 ; /32 192.0.2.1 ; /13 11.13.0.0 (host bits kept as received) */
	size_t n = unhex("18 0a 00 01  00  20 c0 00 02 01  0d 0b 0d", b);
	struct cur c = cur_make(b, n);
	struct nlri_list l;
	struct dm_error e;
	assert_int_equal(bgp_nlri_decode(&c, DM_AFI_IPV4, 0, &A, &l, &e), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(pfx(&l.pfx[0]), "10.0.1.0/24");
	assert_string_equal(pfx(&l.pfx[1]), "0.0.0.0/0");
	assert_string_equal(pfx(&l.pfx[2]), "192.0.2.1/32");
	assert_string_equal(pfx(&l.pfx[3]), "11.13.0.0/13");
	assert_null(l.path_id);
	dm_prefix_mask(&l.pfx[3]);
	assert_string_equal(pfx(&l.pfx[3]), "11.8.0.0/13");
}

static void test_nlri_partial_and_errors(void **s)
{
	(void)s;
	uint8_t b[64];
	/* a good /24 then a /11 with only its length byte: the /24 is kept, the error points at
	 * offset 4 (the /11's length byte) */
	size_t n = unhex("18 0a 00 01 0b", b);
	struct cur c = cur_make(b, n);
	struct nlri_list l;
	struct dm_error e;
	assert_int_equal(bgp_nlri_decode(&c, DM_AFI_IPV4, 0, &A, &l, &e), DM_ERR_BAD_NLRI);
	assert_int_equal(l.n, 1);
	assert_int_equal(e.offset, 4);
	assert_string_equal(e.what, "NLRI: /11 prefix needs 2 bytes, 0 left");
	/* /33 is impossible for IPv4 */
	n = unhex("21 0a 00 01 02 03", b);
	c = cur_make(b, n);
	assert_int_equal(bgp_nlri_decode(&c, DM_AFI_IPV4, 0, &A, &l, &e), DM_ERR_BAD_NLRI);
	assert_int_equal(l.n, 0);
	assert_string_equal(e.what, "NLRI: prefix length 33 exceeds 32");
}

static void test_nlri_addpath_ipv6(void **s)
{
	(void)s;
	uint8_t b[64];
	/* path id 7, /32 2001:db8::/32 ; path id 0x01020304, /48 2001:db8:1::/48 */
	size_t n = unhex("00000007 20 20010db8  01020304 30 20010db80001", b);
	struct cur c = cur_make(b, n);
	struct nlri_list l;
	struct dm_error e;
	assert_int_equal(bgp_nlri_decode(&c, DM_AFI_IPV6, 1, &A, &l, &e), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(pfx(&l.pfx[0]), "2001:db8::/32");
	assert_string_equal(pfx(&l.pfx[1]), "2001:db8:1::/48");
	assert_int_equal(l.path_id[0], 7);
	assert_int_equal(l.path_id[1], 0x01020304);
}

static void test_attrs_2byte(void **s)
{
	(void)s;
	uint8_t b[128];
	/* ORIGIN IGP (40 01 01 00); AS_PATH seq [1853 1239 80] 2-byte (40 02 08 02 03 073d 04d7 0050);
	 * NEXT_HOP 193.203.0.1 (40 03 04 c1cb0001); MED 5 (80 04 04 00000005);
	 * COMMUNITIES 3856:52400 (c0 08 04 0f10 ccb0); ATOMIC_AGGREGATE (40 06 00);
	 * AGGREGATOR AS 80, 10.0.0.1 (c0 07 06 0050 0a000001) */
	size_t n = unhex("40010100 4002080203073d04d70050 400304c1cb0001 80040400000005 c008040f10ccb0 400600"
	                 " c007060050 0a000001",
	                 b);
	struct cur c = cur_make(b, n);
	struct bgp_ctx ctx = { .asn_size = 2, .afi = DM_AFI_IPV4, .safi = 1 };
	struct bgp_attrs a;
	struct dm_error e;
	assert_int_equal(bgp_attrs_decode(&c, &ctx, &A, &a, &e), 0);
	assert_int_equal(a.origin, BGP_ORIGIN_IGP);
	assert_int_equal(a.path.nseg, 1);
	assert_int_equal(a.path.seg[0].type, AS_SEQUENCE);
	assert_int_equal(a.path.seg[0].count, 3);
	assert_int_equal(a.path.seg[0].asn[0], 1853);
	assert_int_equal(a.path.seg[0].asn[2], 80);
	int is_set;
	assert_int_equal(as_path_origin(&a.path, &is_set), 80);
	assert_int_equal(is_set, 0);
	char ip[DM_IP_STRLEN];
	dm_ip_fmt(&a.next_hop, ip);
	assert_string_equal(ip, "193.203.0.1");
	assert_int_equal(a.med, 5);
	assert_int_equal(a.n_communities, 1);
	assert_int_equal(be16(a.communities), 3856);
	assert_int_equal(be16(a.communities + 2), 52400);
	assert_true(a.present & BGP_ATTR_BIT(BGP_ATTR_ATOMIC_AGGREGATE));
	assert_int_equal(a.aggregator_as, 80);
	assert_false(a.present & BGP_ATTR_BIT(BGP_ATTR_LOCAL_PREF));
	assert_int_equal(a.raw_len, n);
}

static void test_as4_merge(void **s)
{
	(void)s;
	uint8_t b[128];
	/* 2-byte session: AS_PATH seq [701 23456 23456] (AS_TRANS) and AS4_PATH seq [4200000000 65536]:
	 * RFC 6793 §4.2.3 keeps 3-2 = 1 leading ASN of AS_PATH: 701 4200000000 65536.
	 * AS_PATH 40 02 08 02 03 02bd 5ba0 5ba0 ; AS4_PATH c0 11 0a 02 02 fa56ea00 00010000 */
	size_t n = unhex("40020802 0302bd5ba05ba0 c0110a0202fa56ea0000010000", b);
	struct cur c = cur_make(b, n);
	struct bgp_ctx ctx = { .asn_size = 2, .afi = DM_AFI_IPV4, .safi = 1 };
	struct bgp_attrs a;
	struct dm_error e;
	assert_int_equal(bgp_attrs_decode(&c, &ctx, &A, &a, &e), 0);
	unsigned total = 0;
	uint32_t seq[8];
	for (unsigned i = 0; i < a.path.nseg; i++)
		for (unsigned k = 0; k < a.path.seg[i].count; k++)
			seq[total++] = a.path.seg[i].asn[k];
	assert_int_equal(total, 3);
	assert_int_equal(seq[0], 701);
	assert_int_equal(seq[1], 4200000000u);
	assert_int_equal(seq[2], 65536);
	/* AS4_PATH longer than AS_PATH: ignored (RFC 6793 §4.2.3) */
	n = unhex("40020402 01 02bd c0110a0202fa56ea0000010000", b);
	c = cur_make(b, n);
	assert_int_equal(bgp_attrs_decode(&c, &ctx, &A, &a, &e), 0);
	assert_int_equal(a.path.nseg, 1);
	assert_int_equal(a.path.seg[0].count, 1);
	assert_int_equal(a.path.seg[0].asn[0], 701);
}

static void test_as_set_origin(void **s)
{
	(void)s;
	uint8_t b[64];
	/* 4-byte: seq [3356] then set {64512 64513}: origin is the set's last, flagged */
	size_t n = unhex("40021002 0100000d1c 0102 0000fc00 0000fc01", b);
	struct cur c = cur_make(b, n);
	struct bgp_ctx ctx = { .asn_size = 4, .afi = DM_AFI_IPV4, .safi = 1 };
	struct bgp_attrs a;
	struct dm_error e;
	assert_int_equal(bgp_attrs_decode(&c, &ctx, &A, &a, &e), 0);
	int is_set;
	assert_int_equal(as_path_origin(&a.path, &is_set), 64513);
	assert_int_equal(is_set, 1);
}

static void test_mp_reach_full_and_abbrev(void **s)
{
	(void)s;
	uint8_t b[128];
	/* MP_REACH (80 0e 2a): AFI 2 SAFI 1, nh len 32: 2001:db8::1 + fe80::1, reserved 0,
	 * NLRI /32 2001:db8 */
	size_t n = unhex("800e2a 0002 01 20 20010db8000000000000000000000001 fe800000000000000000000000000001 00"
	                 " 20 20010db8",
	                 b);
	struct cur c = cur_make(b, n);
	struct bgp_ctx ctx = { .asn_size = 4, .afi = DM_AFI_IPV6, .safi = 1 };
	struct bgp_attrs a;
	struct dm_error e;
	assert_int_equal(bgp_attrs_decode(&c, &ctx, &A, &a, &e), 0);
	char ip[DM_IP_STRLEN];
	assert_int_equal(a.mp_reach.afi, 2);
	assert_int_equal(a.mp_reach.nlri.n, 1);
	assert_string_equal(pfx(&a.mp_reach.nlri.pfx[0]), "2001:db8::/32");
	dm_ip_fmt(&a.mp_reach.nexthop, ip);
	assert_string_equal(ip, "2001:db8::1");
	dm_ip_fmt(&a.mp_reach.nexthop_ll, ip);
	assert_string_equal(ip, "fe80::1");
	/* RFC 6396 §4.3.4 abbreviated form in a TABLE_DUMP_V2 entry: 80 0e 11, nh len 16, nh */
	n = unhex("800e11 10 20010db8000000000000000000000002", b);
	c = cur_make(b, n);
	ctx.mp_reach_abbrev = 1;
	assert_int_equal(bgp_attrs_decode(&c, &ctx, &A, &a, &e), 0);
	dm_ip_fmt(&a.mp_reach.nexthop, ip);
	assert_string_equal(ip, "2001:db8::2");
	assert_int_equal(a.mp_reach.afi, 2);
}

static void test_attr_errors(void **s)
{
	(void)s;
	uint8_t b[64];
	struct bgp_ctx ctx = { .asn_size = 2, .afi = DM_AFI_IPV4, .safi = 1 };
	struct bgp_attrs a;
	struct dm_error e;
	/* ORIGIN ok, then AS_PATH claiming 34 bytes with 4 left: framing lost at offset 4 */
	size_t n = unhex("40010100 400222 02010001", b);
	struct cur c = cur_make(b, n);
	assert_int_equal(bgp_attrs_decode(&c, &ctx, &A, &a, &e), DM_ERR_BAD_ATTR);
	assert_int_equal(e.offset, 4);
	assert_string_equal(e.what, "BGP attribute AS_PATH: length 34 exceeds remaining 4 (RFC 7606 session reset)");
	assert_int_equal(a.origin, 0);
	assert_int_equal(a.action, BGP_ERR_SESSION_RESET);
	/* MED of 3 bytes (must be 4) then a good LOCAL_PREF: MED reported, LOCAL_PREF still read */
	n = unhex("800403000001 40050400000064", b);
	c = cur_make(b, n);
	assert_int_equal(bgp_attrs_decode(&c, &ctx, &A, &a, &e), DM_ERR_BAD_ATTR);
	assert_string_equal(e.what, "BGP attribute MULTI_EXIT_DISC: length 3, expected 4 (RFC 7606 treat-as-withdraw)");
	assert_int_equal(a.action, BGP_ERR_TREAT_AS_WITHDRAW);
	assert_int_equal(a.local_pref, 100);
	assert_int_equal(a.n_errors, 1);
	/* an unknown attribute (type 99) is kept raw */
	n = unhex("c0630201 02", b);
	c = cur_make(b, n);
	assert_int_equal(bgp_attrs_decode(&c, &ctx, &A, &a, &e), 0);
	assert_int_equal(a.n_other, 1);
	assert_int_equal(a.other[0].type, 99);
	assert_int_equal(a.other[0].len, 2);
}

static void test_update_message(void **s)
{
	(void)s;
	uint8_t b[128];
	/* marker (16), length 0x30 = 48, type 2; withdrawn length 4 (/24 10.1.2.0); attribute length
	 * 0x12 = 18 (ORIGIN IGP 4 bytes, AS_PATH seq [65001] 7 bytes, NEXT_HOP 192.0.2.1 7 bytes);
	 * NLRI /16 172.16: 16+2+1 + 2+4 + 2+18 + 3 = 48 */
	size_t n = unhex("ffffffffffffffffffffffffffffffff 0030 02 0004 180a0102 0012 40010100 40020402 01fde9"
	                 " 400304c0000201 10ac10",
	                 b);
	assert_int_equal(n, 48);
	struct cur c = cur_make(b, n);
	struct bgp_ctx ctx = { .asn_size = 2, .afi = DM_AFI_IPV4, .safi = 1 };
	struct bgp_msg m;
	struct dm_error e;
	assert_int_equal(bgp_msg_decode(&c, &ctx, &A, &m, &e), 0);
	assert_int_equal(m.type, BGP_MSG_UPDATE);
	assert_int_equal(m.u.update.withdrawn.n, 1);
	assert_string_equal(pfx(&m.u.update.withdrawn.pfx[0]), "10.1.2.0/24");
	assert_int_equal(m.u.update.announced.n, 1);
	assert_string_equal(pfx(&m.u.update.announced.pfx[0]), "172.16.0.0/16");
	assert_int_equal(as_path_origin(&m.u.update.attrs.path, NULL), 65001);
	/* header length past the data */
	b[17] = 0x40;
	c = cur_make(b, n);
	assert_int_equal(bgp_msg_decode(&c, &ctx, &A, &m, &e), DM_ERR_BAD_LENGTH);
	assert_string_equal(e.what, "BGP message length 64 exceeds remaining 48");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nlri_ipv4),
		cmocka_unit_test(test_nlri_partial_and_errors),
		cmocka_unit_test(test_nlri_addpath_ipv6),
		cmocka_unit_test(test_attrs_2byte),
		cmocka_unit_test(test_as4_merge),
		cmocka_unit_test(test_as_set_origin),
		cmocka_unit_test(test_mp_reach_full_and_abbrev),
		cmocka_unit_test(test_attr_errors),
		cmocka_unit_test(test_update_message),
	};
	return cmocka_run_group_tests_name("bgp", tests, setup, teardown);
}
