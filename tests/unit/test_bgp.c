/* BGP codec unit tests: every expected value is computed by hand from RFC 4271/4760/6793 layouts
 * (the comment above each input spells the bytes out). */
#include "testutil.h"

#include "base/addr.h"
#include "bgp/bgp.h"
#include "mrt/elem.h"

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

/* /24 10.0.1.0 ; /0 ; /32 192.0.2.1 ; /13 11.13.0.0 (host bits kept as received) */
static const char NLRI_V4[] = "18 0a 00 01  00  20 c0 00 02 01  0d 0b 0d";

static void test_nlri_ipv4(void **s)
{
	(void)s;
	uint8_t b[64];
	size_t n = unhex(NLRI_V4, b);
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

/* Lazy decoding (issue 12): a hand-built block framed by bgp_attrs_frame. 4-byte session.
 * offset 0  ORIGIN        40 01 01 | 02 (INCOMPLETE)                     value at 3, len 1
 * offset 4  AS_PATH       40 02 14 | seq [3356 174] 02 02 00000d1c 000000ae,
 *                                    set {64512 64513} 01 02 0000fc00 0000fc01    value at 7, len 20
 * offset 27 NEXT_HOP      40 03 04 | c0 00 02 01 (192.0.2.1)                  value at 30, len 4
 * offset 34 MED           80 04 04 | 00 00 00 64                             value at 37, len 4
 * offset 41 COMMUNITIES   d0 08 0008 (extended length) | fde8 0064  fde8 00c8  value at 45, len 8
 * offset 53 type 99       c0 63 02 | 01 02 (unknown, kept in the index)      value at 56, len 2 */
static const char *const LAZY_BLOCK =
	"40010102 400214 0202 00000d1c 000000ae 0102 0000fc00 0000fc01 400304c0000201 80040400000064"
	" d0080008 fde80064fde800c8 c0630201 02";

static void test_frame_index_and_accessors(void **s)
{
	(void)s;
	uint8_t b[128];
	size_t n = unhex(LAZY_BLOCK, b);
	assert_int_equal(n, 58);
	struct bgp_ctx ctx = { .asn_size = 4, .afi = DM_AFI_IPV4, .safi = 1 };
	struct bgp_attrs a;
	memset(&a, 0xa5, sizeof a);   /* what the frame does not set stays as it was */
	struct cur c = cur_make(b, n);
	assert_int_equal(bgp_attrs_frame(&c, &ctx, &A, &a), 0);
	assert_int_equal(cur_left(&c), 0);
	assert_int_equal(a.lazy, BGP_ATTRS_FRAMED);
	assert_true(a.raw == b && a.raw_len == 58);
	assert_true(a.present == (BGP_ATTR_BIT(1) | BGP_ATTR_BIT(2) | BGP_ATTR_BIT(3) | BGP_ATTR_BIT(4) |
	                          BGP_ATTR_BIT(8) | BGP_ATTRS_F_OTHER));
	static const struct { uint8_t flags, type; uint16_t off, len; } want[6] = {
		{ 0x40, 1, 3, 1 }, { 0x40, 2, 7, 20 }, { 0x40, 3, 30, 4 }, { 0x80, 4, 37, 4 }, { 0xd0, 8, 45, 8 },
		{ 0xc0, 99, 56, 2 },
	};
	/* where each attribute lies: the two paths' entries kept by the frame, every one by find */
	assert_int_equal(a.ix_as_path.type, BGP_ATTR_AS_PATH);
	assert_int_equal(a.ix_as_path.flags, 0x40);
	assert_int_equal(a.ix_as_path.off, 7);
	assert_int_equal(a.ix_as_path.len, 20);
	assert_int_equal(a.ix_as4_path.type, 0);
	for (int i = 0; i < 6; i++) {
		struct cur f;
		assert_int_equal(bgp_attrs_find(&a, want[i].type, &f), 1);
		assert_int_equal(f.p - b, want[i].off);
		assert_int_equal(cur_left(&f), want[i].len);
	}
	assert_int_equal(a.origin, BGP_ORIGIN_INCOMPLETE);
	assert_int_equal(a.action, BGP_ERR_NONE);
	assert_int_equal(a.n_errors, 0);
	assert_int_equal(a.n_communities, 0);          /* not decoded: read through the index */
	assert_int_equal(a.mp_reach.nlri_supported, 0); /* absent: cleared */
	assert_int_equal(a.mp_unreach.nlri_supported, 0);
	assert_int_equal(a.as_path.asn_size, 4);
	assert_int_equal(a.path.nseg, 0);              /* not decoded yet */
	assert_int_equal(a.path_todo, 1);
	/* on-demand accessors */
	char ip[DM_IP_STRLEN];
	dm_ip_fmt(bgp_attrs_next_hop(&a, DM_AFI_IPV4), ip);
	assert_string_equal(ip, "192.0.2.1");
	assert_ptr_equal(bgp_attrs_next_hop(&a, DM_AFI_IPV6), &a.next_hop);   /* no MP_REACH: NEXT_HOP */
	int is_set = 0;
	assert_int_equal(bgp_attrs_origin_as(&a, &is_set), 64513);
	assert_int_equal(is_set, 1);
	uint32_t tail[8];
	assert_int_equal(bgp_attrs_path_tail(&a, tail, 2), 2);
	assert_int_equal(tail[0], 64512);
	assert_int_equal(tail[1], 64513);
	assert_int_equal(bgp_attrs_path_tail(&a, tail, 8), 4);
	assert_int_equal(tail[0], 3356);
	assert_int_equal(tail[1], 174);
	struct cur v;
	assert_int_equal(bgp_attrs_find(&a, BGP_ATTR_COMMUNITIES, &v), 1);
	assert_int_equal(cur_left(&v), 8);
	assert_int_equal(be32(v.p), 0xfde80064u);    /* 65000:100 */
	assert_int_equal(bgp_attrs_find(&a, BGP_ATTR_LOCAL_PREF, &v), 0);
	/* the path on demand: what bgp_attrs_decode gives */
	assert_int_equal(bgp_attrs_path(&a, &A), 0);
	assert_int_equal(a.path_todo, 0);
	assert_int_equal(a.path.nseg, 2);
	assert_int_equal(a.path.seg[0].type, AS_SEQUENCE);
	assert_int_equal(a.path.seg[0].count, 2);
	assert_int_equal(a.path.seg[0].asn[1], 174);
	assert_int_equal(a.path.seg[1].type, AS_SET);
	assert_int_equal(a.path.seg[1].asn[0], 64512);
	assert_int_equal(bgp_attrs_path_tail(&a, tail, 1), 1);
	assert_int_equal(tail[0], 64513);
	/* BGP_LAZY_PATHS: the same block with its path decoded by the frame */
	struct bgp_attrs p;
	struct bgp_ctx pctx = ctx;
	pctx.lazy = BGP_LAZY_PATHS;
	c = cur_make(b, n);
	assert_int_equal(bgp_attrs_frame(&c, &pctx, &A, &p), 0);
	assert_int_equal(p.path_todo, 0);
	assert_int_equal(p.path.nseg, 2);
	assert_int_equal(p.path.seg[0].asn[0], 3356);
	assert_int_equal(bgp_attrs_origin_as(&p, &is_set), 64513);
	assert_int_equal(is_set, 1);
	/* eager decoding of the same bytes agrees */
	struct bgp_attrs e;
	struct dm_error err;
	c = cur_make(b, n);
	assert_int_equal(bgp_attrs_decode(&c, &ctx, &A, &e, &err), 0);
	assert_true(e.present == a.present);
	assert_int_equal(e.origin, a.origin);
	assert_int_equal(e.n_communities, 2);
	assert_int_equal(e.med, 100);
	assert_int_equal(bgp_attrs_origin_as(&e, &is_set), 64513);
	assert_int_equal(bgp_attrs_find(&e, BGP_ATTR_COMMUNITIES, &v), 1);   /* a decoded block: its bytes */
	assert_int_equal(be32(v.p + 4), 0xfde800c8u);
}

/* Two frames of the same attributes agree on what bgp_attrs_frame sets (bgp.h), where each
 * attribute lies aside (blocks of another order differ there). */
static void assert_same_frame(const struct bgp_attrs *x, const struct bgp_attrs *y)
{
	assert_true(x->present == y->present);
	assert_int_equal(x->origin, y->origin);
	assert_memory_equal(&x->next_hop, &y->next_hop, sizeof x->next_hop);
	assert_int_equal(x->origin_asn, y->origin_asn);
	assert_int_equal(x->origin_asn_set, y->origin_asn_set);
	assert_int_equal(x->path_todo, y->path_todo);
	assert_int_equal(x->as_path.asn_size, y->as_path.asn_size);
	assert_int_equal(x->path.nseg, y->path.nseg);
	assert_int_equal(x->lazy, y->lazy);
	assert_int_equal(x->action, y->action);
	assert_int_equal(x->n_errors, y->n_errors);
	assert_int_equal(x->n_communities, y->n_communities);
	assert_int_equal(x->rib_set, y->rib_set);
}

/* Frames block x with fx into *xa and block y with fy into *ya, each struct filled with a
 * different garbage first (what a frame leaves unset shows), each block consumed whole. */
typedef int (*frame_fn)(struct cur *, const struct bgp_ctx *, struct arena *, struct bgp_attrs *);
static void frame_both(const struct bgp_ctx *ctx, frame_fn fx, const uint8_t *x, size_t nx, struct bgp_attrs *xa,
                       frame_fn fy, const uint8_t *y, size_t ny, struct bgp_attrs *ya)
{
	memset(xa, 0xa5, sizeof *xa);
	memset(ya, 0x5a, sizeof *ya);
	struct cur cx = cur_make(x, nx), cy = cur_make(y, ny);
	assert_int_equal(fx(&cx, ctx, &A, xa), 0);
	assert_int_equal(fy(&cy, ctx, &A, ya), 0);
	assert_int_equal(cur_left(&cx), 0);
	assert_int_equal(cur_left(&cy), 0);
}

/* The frame's head (ORIGIN, AS_PATH, NEXT_HOP in that order, taken without the loop's dispatch by
 * type) sets what the loop sets for the same attributes met in another order: 2-byte session,
 * AS_PATH [3356 174] in its extended-length form (flags 0x50), a MED after the head. */
static void test_frame_head(void **s)
{
	(void)s;
	static const char *const head = "40010101 50020006 0202 0d1c 00ae 400304c0000201 80040400000064";
	static const char *const other = "50020006 0202 0d1c 00ae 80040400000064 400304c0000201 40010101";
	uint8_t b1[64], b2[64];
	size_t n1 = unhex(head, b1), n2 = unhex(other, b2);
	struct bgp_ctx ctx = { .asn_size = 2, .afi = DM_AFI_IPV4, .safi = 1, .lazy = BGP_LAZY_FRAME };
	struct bgp_attrs a, b;
	frame_both(&ctx, bgp_attrs_frame, b1, n1, &a, bgp_attrs_frame, b2, n2, &b);
	assert_same_frame(&a, &b);
	assert_true(a.present == (BGP_ATTR_BIT(1) | BGP_ATTR_BIT(2) | BGP_ATTR_BIT(3) | BGP_ATTR_BIT(4)));
	assert_int_equal(a.origin, BGP_ORIGIN_EGP);
	assert_int_equal(a.next_hop.afi, DM_AFI_IPV4);
	assert_int_equal(a.origin_asn, 174);
	assert_int_equal(a.origin_asn_set, 0);
	assert_int_equal(a.path_todo, 1);
	assert_int_equal(a.as_path.asn_size, 2);
	/* where AS_PATH lies: after ORIGIN's 4 bytes and its own 4-byte header; first in the other */
	assert_int_equal(a.ix_as_path.flags, 0x50);
	assert_int_equal(a.ix_as_path.type, BGP_ATTR_AS_PATH);
	assert_int_equal(a.ix_as_path.off, 8);
	assert_int_equal(a.ix_as_path.len, 6);
	assert_int_equal(b.ix_as_path.off, 4);
	assert_int_equal(a.ix_as4_path.type, 0);
	assert_int_equal(a.lazy, BGP_ATTRS_FRAMED);
	assert_int_equal(a.n_errors, 0);
	uint32_t tail[4];
	assert_int_equal(bgp_attrs_path_tail(&a, tail, 4), 2);
	assert_int_equal(tail[0], 3356);
	assert_int_equal(tail[1], 174);
	struct cur v;
	assert_int_equal(bgp_attrs_find(&a, BGP_ATTR_MULTI_EXIT_DISC, &v), 1);
	assert_int_equal(be32(v.p), 100);
	/* bgp_attrs_frame_short: the block with the MED (framed by bgp_attrs_frame), and the head
	 * alone (read by the short path), each as bgp_attrs_frame frames it */
	static const char *const alone = "40010101 50020006 0202 0d1c 00ae 400304c0000201";
	uint8_t b3[64];
	size_t n3 = unhex(alone, b3);
	for (int k = 0; k < 2; k++) {
		const uint8_t *blk = k ? b3 : b1;
		size_t len = k ? n3 : n1;
		struct bgp_attrs f, sh;
		frame_both(&ctx, bgp_attrs_frame, blk, len, &f, bgp_attrs_frame_short, blk, len, &sh);
		assert_true(sh.raw == blk && sh.raw_len == len);
		assert_same_frame(&f, &sh);
		assert_memory_equal(&f.ix_as_path, &sh.ix_as_path, sizeof f.ix_as_path);
		assert_memory_equal(&f.ix_as4_path, &sh.ix_as4_path, sizeof f.ix_as4_path);
		assert_int_equal(sh.mp_reach.nlri_supported, 0);
		assert_int_equal(sh.mp_reach.nexthop.afi, 0);
		assert_int_equal(sh.mp_unreach.nlri_supported, 0);
		assert_null(sh.other);
	}
}

/* The frame refuses every block bgp_attrs_decode reports a problem in (the caller decodes it
 * whole: same errors), and accepts the rest. */
static void test_frame_refuses_malformed(void **s)
{
	(void)s;
	static const struct { const char *hex; uint8_t asn_size; int ok; } cases[] = {
		{ "40010105", 4, 0 },                       /* ORIGIN 5: RFC 7606 §7.1 */
		{ "4001020000", 4, 0 },                     /* ORIGIN of 2 bytes */
		{ "40010100 40010100", 4, 0 },              /* ORIGIN repeated: §3(g) */
		{ "400206 0203 0001 0002", 2, 0 },          /* segment of 3 2-byte ASNs in 4 bytes */
		{ "400204 0501 0001", 2, 0 },               /* segment type 5 */
		{ "400203 020100", 2, 0 },                  /* segment header then 1 byte of a 2-byte ASN */
		{ "400201 02", 2, 0 },                      /* segment header truncated */
		{ "c00707 0001c000020100", 2, 0 },          /* AGGREGATOR of 7 bytes (§7.7 discard) */
		{ "c0120400000001", 2, 0 },                 /* AS4_AGGREGATOR of 4 */
		{ "c0110602010000fde8", 2, 1 },             /* AS4_PATH [65000] alone (2-byte session) */
		{ "c0110502010000fd", 2, 0 },               /* AS4_PATH segment of 1 ASN in 3 bytes */
		{ "c00805 0000000100", 4, 0 },              /* COMMUNITIES not a multiple of 4 */
		{ "c0100c 000000000000000000000000", 4, 0 },/* EXTENDED_COMMUNITIES of 12 */
		{ "c0200800000000 00000000", 4, 0 },        /* LARGE_COMMUNITIES of 8 */
		{ "40060100", 4, 0 },                       /* ATOMIC_AGGREGATE of 1 */
		{ "800900", 4, 0 },                         /* ORIGINATOR_ID of 0 */
		{ "c0230300 0000", 4, 0 },                  /* ONLY_TO_CUSTOMER of 3 */
		{ "400305c000020100", 4, 0 },               /* NEXT_HOP of 5 */
		{ "800e05 0001 01 03 00", 4, 0 },           /* MP_REACH: IPv4 next hop of 3 bytes (§7.11) */
		{ "800f03 0002 01 40 20", 4, 0 },           /* (unparsable: 3-byte MP_UNREACH then junk) */
		{ "4001", 4, 0 },                           /* header cut */
		{ "40010500", 4, 0 },                       /* length past the block */
		{ "", 4, 1 },                               /* empty block: nothing to check */
		{ "c00706 fde8c0000201", 2, 1 },            /* AGGREGATOR of 6 (2-byte) */
		{ "c00708 0000fde8c0000201", 4, 1 },        /* AGGREGATOR of 8 */
		{ "400200", 4, 1 },                         /* empty AS_PATH */
		{ "e0630100", 4, 1 },                       /* unknown, optional transitive partial */
		/* the frame's head (ORIGIN, AS_PATH, NEXT_HOP taken without the loop's dispatch): each of
		 * its checks, in both forms of AS_PATH's length */
		{ "40010100 400203 020100", 2, 0 },         /* AS_PATH: 1 byte of a 2-byte ASN */
		{ "40010100 50020003 020100", 2, 0 },       /* the same, extended length */
		{ "40010100 5002000a 02010001", 2, 0 },     /* extended length past the block */
		{ "40010100 400205 02010001", 2, 0 },       /* length past the block */
		{ "40010100 50020004 02010001 400304c0000201", 2, 1 },   /* the head, extended AS_PATH */
		{ "40010100 400204 02010001 400305c000020100", 2, 0 },   /* NEXT_HOP of 5 after it */
		{ "40010100 400204 02010001 400304c0000201 400304c0000201", 2, 0 },   /* NEXT_HOP again */
		{ "40010100 400204 02010001 400204 02010001", 2, 0 },   /* AS_PATH again */
		{ "40010100 400204 02010001 4003", 2, 0 },   /* NEXT_HOP's header cut */
		{ "40010103 400204 02010001", 2, 0 },       /* ORIGIN 3 */
		{ "40010200 00", 2, 0 },                    /* ORIGIN of 2 bytes */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint8_t b[64];
		size_t n = unhex(cases[i].hex, b);
		struct bgp_ctx ctx = { .asn_size = cases[i].asn_size, .afi = DM_AFI_IPV4, .safi = 1 };
		struct bgp_attrs a, e;
		struct dm_error err;
		struct cur c = cur_make(b, n);
		int fr = bgp_attrs_frame(&c, &ctx, &A, &a);
		c = cur_make(b, n);
		int sr = bgp_attrs_frame_short(&c, &ctx, &A, &a);
		c = cur_make(b, n);
		int dr = bgp_attrs_decode(&c, &ctx, &A, &e, &err);
		if ((fr == 0) != cases[i].ok || (sr == 0) != cases[i].ok || (dr == 0) != cases[i].ok)
			fail_msg("case %zu (%s): frame %d short %d decode %d, want ok=%d", i, cases[i].hex, fr, sr, dr,
			         cases[i].ok);
	}
}

/* A malformed UPDATE read lazily is read exactly as eagerly: same errors, RFC 7606 action and
 * count, text; a clean one frames, with the same prefixes. */
static void test_update_lazy_same_as_eager(void **s)
{
	(void)s;
	static const char *const bodies[] = {
		/* withdrawn 0; attrs 0x16: ORIGIN 5 (treat-as-withdraw), AS_PATH seq [65001] (2-byte),
		 * AGGREGATOR of 7 (discard), NEXT_HOP 192.0.2.1; NLRI /24 10.1.1.0 */
		"0000 001c 40010105 40020402 01fde9 c00707 0001c0000201ff 400304c0000201 180a0101",
		/* MP_REACH of IPv6 with next hop length 5: AFI/SAFI disable */
		"0000 000d 800e0a 0002 01 05 20010db800 00 180a0101",
		/* clean: ORIGIN IGP, AS_PATH [65001], NEXT_HOP; NLRI /24 10.1.1.0, /16 172.16 */
		"0000 0012 40010100 40020402 01fde9 400304c0000201 180a0101 10ac10",
	};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		uint8_t b[128];
		size_t n = unhex(bodies[i], b);
		struct bgp_update ue, ul;
		struct dm_error ee, el;
		memset(&ee, 0, sizeof ee);
		memset(&el, 0, sizeof el);
		struct bgp_ctx ctx = { .asn_size = 2, .afi = DM_AFI_IPV4, .safi = 1 };
		struct cur c = cur_make(b, n);
		assert_int_equal(bgp_update_decode(&c, &ctx, &A, &ue, &ee), 0);
		ctx.lazy = 1;
		c = cur_make(b, n);
		assert_int_equal(bgp_update_decode(&c, &ctx, &A, &ul, &el), 0);
		assert_int_equal(ul.attr_err, ue.attr_err);
		assert_int_equal(ul.nlri_err, ue.nlri_err);
		assert_int_equal(ul.attrs.action, ue.attrs.action);
		assert_int_equal(ul.attrs.n_errors, ue.attrs.n_errors);
		assert_true(ul.attrs.present == ue.attrs.present);
		assert_int_equal(ul.announced.n, ue.announced.n);
		if (ue.attr_err) {
			assert_int_equal(el.offset, ee.offset);
			assert_string_equal(el.what, ee.what);
			assert_int_equal(ul.attrs.lazy, BGP_ATTRS_DECODED);
		} else {
			assert_int_equal(ul.attrs.lazy, BGP_ATTRS_FRAMED);
		}
	}
	/* the first: ORIGIN undefined and AGGREGATOR discarded, two errors, treat-as-withdraw */
	uint8_t b[128];
	size_t n = unhex(bodies[0], b);
	struct bgp_update u;
	struct dm_error e;
	struct bgp_ctx ctx = { .asn_size = 2, .afi = DM_AFI_IPV4, .safi = 1, .lazy = 1 };
	struct cur c = cur_make(b, n);
	assert_int_equal(bgp_update_decode(&c, &ctx, &A, &u, &e), 0);
	assert_int_equal(u.attr_err, DM_ERR_BAD_ATTR);
	assert_int_equal(u.attrs.action, BGP_ERR_TREAT_AS_WITHDRAW);
	assert_int_equal(u.attrs.n_errors, 2);
	assert_string_equal(e.what, "BGP attribute ORIGIN: value 5 undefined (RFC 7606 treat-as-withdraw)");
	assert_int_equal(e.offset, 4);
	/* the second: AFI/SAFI disable */
	n = unhex(bodies[1], b);
	c = cur_make(b, n);
	assert_int_equal(bgp_update_decode(&c, &ctx, &A, &u, &e), 0);
	assert_int_equal(u.attrs.action, BGP_ERR_AFISAFI_DISABLE);
	/* the third framed: prefixes, origin AS 65001 before any path is decoded */
	n = unhex(bodies[2], b);
	c = cur_make(b, n);
	assert_int_equal(bgp_update_decode(&c, &ctx, &A, &u, &e), 0);
	assert_int_equal(u.announced.n, 2);
	assert_null(u.announced.pfx);   /* framed: read from the bytes (bgp_nlri_frame) */
	struct nlri_iter it;
	struct dm_prefix p;
	uint32_t pid;
	nlri_iter_init(&it, &u.announced);
	assert_true(nlri_iter_next(&it, &p, &pid));
	assert_string_equal(pfx(&p), "10.1.1.0/24");
	assert_true(nlri_iter_next(&it, &p, &pid));
	assert_string_equal(pfx(&p), "172.16.0.0/16");
	assert_false(nlri_iter_next(&it, &p, &pid));
	assert_int_equal(bgp_attrs_origin_as(&u.attrs, NULL), 65001);
	assert_int_equal(u.attrs.path.nseg, 0);
}

/* A 2-byte session's AS4_PATH (RFC 6793 §4.2.3): the frame decodes the merged path at once, so
 * that the origin AS is the 4-byte one. Bytes as in test_as4_merge. */
static void test_frame_as4_merge(void **s)
{
	(void)s;
	uint8_t b[128];
	size_t n = unhex("40020802 0302bd5ba05ba0 c0110a0202fa56ea0000010000", b);
	struct cur c = cur_make(b, n);
	struct bgp_ctx ctx = { .asn_size = 2, .afi = DM_AFI_IPV4, .safi = 1 };
	struct bgp_attrs a;
	assert_int_equal(bgp_attrs_frame(&c, &ctx, &A, &a), 0);
	assert_int_equal(a.path_todo, 0);
	assert_int_equal(bgp_attrs_origin_as(&a, NULL), 65536);
	uint32_t tail[4];
	assert_int_equal(bgp_attrs_path_tail(&a, tail, 4), 3);
	assert_int_equal(tail[0], 701);
	assert_int_equal(tail[1], 4200000000u);
	assert_int_equal(tail[2], 65536);
	/* AS4_PATH of one empty confederation segment and no AS_PATH: merged all the same (path of
	 * that one segment), as eager decoding does (a fuzz finding) */
	n = unhex("c0110203 00", b);
	c = cur_make(b, n);
	assert_int_equal(bgp_attrs_frame(&c, &ctx, &A, &a), 0);
	assert_int_equal(a.path.nseg, 1);
	assert_int_equal(a.path.seg[0].type, AS_CONFED_SEQUENCE);
	/* IPv6 announcement through MP_REACH, framed: prefixes and next hop decoded */
	n = unhex("40010100 800e1a 0002 01 10 20010db8000000000000000000000001 00 20 20010db8", b);
	c = cur_make(b, n);
	ctx.afi = DM_AFI_IPV6;
	assert_int_equal(bgp_attrs_frame(&c, &ctx, &A, &a), 0);
	assert_int_equal(a.mp_reach.nlri.n, 1);
	assert_string_equal(pfx(&a.mp_reach.nlri.pfx[0]), "2001:db8::/32");
	char ip[DM_IP_STRLEN];
	dm_ip_fmt(bgp_attrs_next_hop(&a, DM_AFI_IPV4), ip);   /* no NEXT_HOP: MP_REACH's (RFC 5549) */
	assert_string_equal(ip, "2001:db8::1");
	assert_int_equal(bgp_attrs_origin_as(&a, NULL), 0);
	assert_int_equal(bgp_attrs_path_tail(&a, tail, 4), 0);
}

/* Lazy prefix lists (issue 12): bgp_nlri_frame checks a list as bgp_nlri_decode does and keeps
 * only where its bytes lie; nlri_iter reads the prefixes from them. Same inputs as the three
 * tests above, same expected values. */
static void test_nlri_frame_iter(void **s)
{
	(void)s;
	uint8_t b[64];
	size_t n = unhex(NLRI_V4, b);
	struct nlri_iter it;
	struct cur c = cur_make(b, n);
	struct nlri_list l;
	struct dm_error e;
	struct dm_prefix p;
	uint32_t pid;
	memset(&l, 0x5a, sizeof l);
	assert_int_equal(bgp_nlri_frame(&c, DM_AFI_IPV4, 0, &l, &e), 0);
	assert_int_equal(l.n, 4);
	assert_null(l.pfx);
	assert_null(l.path_id);
	assert_ptr_equal(l.raw, b);
	assert_int_equal(l.raw_len, 13);
	assert_ptr_equal(c.p, b + n);
	static const char *const want[] = { "10.0.1.0/24", "0.0.0.0/0", "192.0.2.1/32", "11.13.0.0/13" };
	nlri_iter_init(&it, &l);
	for (int i = 0; i < 4; i++) {
		assert_true(nlri_iter_next(&it, &p, &pid));
		assert_string_equal(pfx(&p), want[i]);
		assert_int_equal(p.afi, DM_AFI_IPV4);
		assert_int_equal(pid, 0);
	}
	assert_false(nlri_iter_next(&it, &p, &pid));
	/* a good /24, then a /11 cut: the /24 stands (its 4 bytes), same error and offset as decoding */
	n = unhex("18 0a 00 01 0b", b);
	c = cur_make(b, n);
	assert_int_equal(bgp_nlri_frame(&c, DM_AFI_IPV4, 0, &l, &e), DM_ERR_BAD_NLRI);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.raw_len, 4);
	assert_int_equal(e.offset, 4);
	assert_string_equal(e.what, "NLRI: /11 prefix needs 2 bytes, 0 left");
	nlri_iter_init(&it, &l);
	assert_true(nlri_iter_next(&it, &p, &pid));
	assert_string_equal(pfx(&p), "10.0.1.0/24");
	assert_false(nlri_iter_next(&it, &p, &pid));
	/* a /24 then a /20 cut (2 of its 3 bytes): the step of 17-24 is taken without a bounds
	 * check (bgp_nlri_skip), the overrun caught at the list's end, the same error */
	n = unhex("18 0a 00 01 14 0b 00", b);
	c = cur_make(b, n);
	assert_int_equal(bgp_nlri_frame(&c, DM_AFI_IPV4, 0, &l, &e), DM_ERR_BAD_NLRI);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.raw_len, 4);
	assert_int_equal(e.offset, 4);
	assert_string_equal(e.what, "NLRI: /20 prefix needs 3 bytes, 2 left");
	n = unhex("21 0a 00 01 02 03", b);
	c = cur_make(b, n);
	assert_int_equal(bgp_nlri_frame(&c, DM_AFI_IPV4, 0, &l, &e), DM_ERR_BAD_NLRI);
	assert_int_equal(l.n, 0);
	assert_string_equal(e.what, "NLRI: prefix length 33 exceeds 32");
	nlri_iter_init(&it, &l);
	assert_false(nlri_iter_next(&it, &p, &pid));
	/* ADD-PATH IPv6: path ids 7 and 0x01020304; then 3 bytes of a third path id: the two stand */
	n = unhex("00000007 20 20010db8  01020304 30 20010db80001  000000", b);
	c = cur_make(b, n);
	assert_int_equal(bgp_nlri_frame(&c, DM_AFI_IPV6, 1, &l, &e), DM_ERR_BAD_NLRI);
	assert_string_equal(e.what, "NLRI: path identifier truncated (3 bytes left)");
	assert_int_equal(e.offset, 20);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.raw_len, 20);
	nlri_iter_init(&it, &l);
	assert_true(nlri_iter_next(&it, &p, &pid));
	assert_string_equal(pfx(&p), "2001:db8::/32");
	assert_int_equal(pid, 7);
	assert_true(nlri_iter_next(&it, &p, &pid));
	assert_string_equal(pfx(&p), "2001:db8:1::/48");
	assert_int_equal(pid, 0x01020304);
	assert_false(nlri_iter_next(&it, &p, &pid));
}

struct elems_seen {
	int n;
	char line[8][160];
};

static void elem_line(const struct dm_elem *e, void *arg)
{
	struct elems_seen *s = arg;
	char nh[DM_IP_STRLEN] = "-";
	if (e->next_hop)
		dm_ip_fmt(e->next_hop, nh);
	int is_set = 0;
	uint32_t o = e->attrs ? bgp_attrs_origin_as(e->attrs, &is_set) : 0;
	if (s->n < 8)
		snprintf(s->line[s->n], sizeof s->line[0], "%c %s%s%u %s %u", e->type, pfx(&e->prefix),
		         e->has_path_id ? " id " : " ", e->path_id, nh, o);
	s->n++;
}

/* The elements of an UPDATE read lazily, as replay reads them (both lazy modes; prefix lists
 * framed, MP_REACH / MP_UNREACH ones too), against the eager decoder's, one by one. Body:
 *   withdrawn 0004: /24 10.1.2.0
 *   attributes 003c (60): ORIGIN IGP 40010100; AS_PATH seq [65001] 40020402 01fde9; NEXT_HOP
 *     192.0.2.1 400304c0000201; MP_REACH 800e1a: AFI 2 SAFI 1, next hop 16 bytes 2001:db8::1,
 *     reserved 00, /32 2001:db8; MP_UNREACH 800f0a: AFI 2 SAFI 1, /48 2001:db8:1
 *   NLRI: /16 172.16, /24 10.1.1.0
 * Order (mrt/elem.h): withdrawn, MP_UNREACH, NLRI, MP_REACH. With a cut /11 after the NLRI the
 * UPDATE is at session reset (RFC 7606 §5.3): every prefix is a withdrawal. */
static void test_update_elems_lazy(void **s)
{
	(void)s;
	static const char *const body = "0004 180a0102 003c 40010100 40020402 01fde9 400304c0000201"
	                                " 800e1a 0002 01 10 20010db8000000000000000000000001 00 20 20010db8"
	                                " 800f0a 0002 01 30 20010db80001  10ac10 180a0101";
	static const char *const want[] = {
		"W 10.1.2.0/24 0 - 0", "W 2001:db8:1::/48 0 - 0", "A 172.16.0.0/16 0 192.0.2.1 65001",
		"A 10.1.1.0/24 0 192.0.2.1 65001", "A 2001:db8::/32 0 2001:db8::1 65001",
	};
	static const char *const want_reset[] = {
		"W 10.1.2.0/24 0 - 0", "W 2001:db8:1::/48 0 - 0", "W 172.16.0.0/16 0 - 0", "W 10.1.1.0/24 0 - 0",
		"W 2001:db8::/32 0 - 0",
	};
	for (int cut = 0; cut < 2; cut++) {
		char hex[512];
		snprintf(hex, sizeof hex, "%s%s", body, cut ? " 0b" : "");
		uint8_t b[256];
		size_t n = unhex(hex, b);
		for (int mode = 0; mode <= BGP_LAZY_PATHS; mode++) {
			struct bgp_ctx ctx = { .asn_size = 2, .afi = DM_AFI_IPV4, .safi = 1, .lazy = (uint8_t)mode };
			struct bgp_update u;
			struct dm_error e;
			memset(&u, 0xa5, sizeof u);
			struct cur c = cur_make(b, n);
			assert_int_equal(bgp_update_decode(&c, &ctx, &A, &u, &e), 0);
			if (mode)
				assert_null(u.announced.pfx);
			if (cut) {
				assert_int_equal(u.nlri_err, DM_ERR_BAD_NLRI);
				assert_int_equal(u.attrs.action, BGP_ERR_SESSION_RESET);
				assert_int_equal(e.offset, 75);
				assert_string_equal(e.what, "NLRI: /11 prefix needs 2 bytes, 0 left (RFC 7606 session reset)");
			} else {
				assert_int_equal(u.nlri_err, 0);
				assert_int_equal(u.attr_err, 0);
			}
			struct dm_elem tmpl;
			memset(&tmpl, 0, sizeof tmpl);
			struct elems_seen seen = { 0 };
			assert_int_equal(bgp_update_elems(&u, &tmpl, elem_line, &seen), 5);
			assert_int_equal(seen.n, 5);
			for (int i = 0; i < 5; i++)
				assert_string_equal(seen.line[i], cut ? want_reset[i] : want[i]);
		}
	}
	/* ADD-PATH: each element carries its path id */
	uint8_t b[64];
	size_t n = unhex("0000 0012 40010100 40020402 01fde9 400304c0000201 00000009 180a0101", b);
	struct bgp_ctx ctx = { .asn_size = 2, .addpath = 1, .afi = DM_AFI_IPV4, .safi = 1, .lazy = BGP_LAZY_PATHS };
	struct bgp_update u;
	struct dm_error e;
	struct cur c = cur_make(b, n);
	assert_int_equal(bgp_update_decode(&c, &ctx, &A, &u, &e), 0);
	struct dm_elem tmpl;
	memset(&tmpl, 0, sizeof tmpl);
	struct elems_seen seen = { 0 };
	assert_int_equal(bgp_update_elems(&u, &tmpl, elem_line, &seen), 1);
	assert_string_equal(seen.line[0], "A 10.1.1.0/24 id 9 192.0.2.1 65001");
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
		cmocka_unit_test(test_frame_index_and_accessors),
		cmocka_unit_test(test_frame_head),
		cmocka_unit_test(test_frame_refuses_malformed),
		cmocka_unit_test(test_update_lazy_same_as_eager),
		cmocka_unit_test(test_nlri_frame_iter),
		cmocka_unit_test(test_update_elems_lazy),
		cmocka_unit_test(test_frame_as4_merge),
	};
	return cmocka_run_group_tests_name("bgp", tests, setup, teardown);
}
