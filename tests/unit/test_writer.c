/* MRT writer: exact bytes of small records, laid out field by field from RFC 6396 / RFC 4271 /
 * RFC 4760 by hand (the numbers in the comments are the conversions used). The same records are
 * decoded by Debian's bgpdump in tests/golden/writer_bgpdump.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <bzlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "mrt/reader.h"
#include "mrt/writer.h"

/* 2014-12-22 16:15:00 UTC = 1419264900 = 0x54984384 */
#define TS 0x54, 0x98, 0x43, 0x84
#define TS_V 1419264900u

static struct dm_ip ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct dm_ip ip = { .afi = DM_AFI_IPV4, .b = { a, b, c, d } };
	return ip;
}

static struct dm_prefix pfx(const char *s)
{
	struct dm_prefix p;
	assert_int_equal(dm_prefix_parse(s, &p), 0);
	return p;
}

static void assert_bytes(const struct wbuf *b, const uint8_t *want, size_t n)
{
	if (b->len != n) {
		fprintf(stderr, "length %zu, want %zu\n", b->len, n);
		fail();
	}
	for (size_t i = 0; i < n; i++)
		if (b->p[i] != want[i]) {
			fprintf(stderr, "byte %zu: %02x, want %02x\n", i, b->p[i], want[i]);
			fail();
		}
}

static void test_peer_index(void **state)
{
	(void)state;
	struct mrt_peer peer = { .addr = ip4(192, 0, 2, 10), .asn = 131279, .bgp_id = 0x0a000001 };
	struct mrt_peer_index pi = { .collector_id = 0xc0000201, .view = "", .npeers = 1,
	                             .peers = &peer };
	struct wbuf b;
	wbuf_init(&b);
	struct dm_error err;
	assert_int_equal(mrt_encode_peer_index(&b, TS_V, &pi, &err), 0);
	static const uint8_t want[] = {
		TS, 0x00, 0x0d, 0x00, 0x01,    /* TABLE_DUMP_V2 (13), PEER_INDEX_TABLE (1) */
		0x00, 0x00, 0x00, 21,          /* 4 id + 2 view len + 0 + 2 count + 13 per peer */
		0xc0, 0x00, 0x02, 0x01,        /* collector BGP ID 192.0.2.1 */
		0x00, 0x00,                    /* view name length 0 */
		0x00, 0x01,                    /* peer count */
		0x02,                          /* peer type: IPv4 address, 4-byte AS (bit 1) */
		0x0a, 0x00, 0x00, 0x01,        /* peer BGP ID 10.0.0.1 */
		0xc0, 0x00, 0x02, 0x0a,        /* 192.0.2.10 */
		0x00, 0x02, 0x00, 0xcf,        /* AS131279 = 0x000200CF */
	};
	assert_bytes(&b, want, sizeof want);
	wbuf_free(&b);
}

/* KP's real path: 2914 1239 4837 131279, as seen from AS3856 in updates.et-header.2015.gz. */
static uint32_t kp_asns[] = { 2914, 1239, 4837, 131279 };
static struct as_seg kp_seg = { .type = AS_SEQUENCE, .count = 4, .asn = kp_asns };
static const uint8_t comm_3856_50800[] = { 0x0f, 0x10, 0xc6, 0x70 }; /* 3856=0x0F10 50800=0xC670 */

static void kp_attrs(struct bgp_attrs *a)
{
	memset(a, 0, sizeof *a);
	a->present = BGP_ATTR_BIT(BGP_ATTR_ORIGIN) | BGP_ATTR_BIT(BGP_ATTR_AS_PATH) |
	             BGP_ATTR_BIT(BGP_ATTR_NEXT_HOP) | BGP_ATTR_BIT(BGP_ATTR_MULTI_EXIT_DISC) |
	             BGP_ATTR_BIT(BGP_ATTR_COMMUNITIES);
	a->origin = BGP_ORIGIN_INCOMPLETE;
	a->as_path.seg = &kp_seg;
	a->as_path.nseg = 1;
	a->as_path.asn_size = 4;
	a->next_hop = ip4(192, 0, 2, 10);
	a->med = 0;
	a->communities = comm_3856_50800;
	a->n_communities = 1;
}

#define KP_ATTRS                                                                                 \
	0x40, 0x01, 0x01, 0x02,                /* ORIGIN INCOMPLETE */                          \
	0x40, 0x02, 18, 0x02, 0x04,            /* AS_PATH: 1 AS_SEQUENCE of 4, 2 + 16 bytes */   \
	0x00, 0x00, 0x0b, 0x62,                /* 2914 */                                       \
	0x00, 0x00, 0x04, 0xd7,                /* 1239 */                                       \
	0x00, 0x00, 0x12, 0xe5,                /* 4837 */                                       \
	0x00, 0x02, 0x00, 0xcf,                /* 131279 */                                     \
	0x40, 0x03, 0x04, 0xc0, 0x00, 0x02, 0x0a,  /* NEXT_HOP 192.0.2.10 */                    \
	0x80, 0x04, 0x04, 0x00, 0x00, 0x00, 0x00,  /* MULTI_EXIT_DISC 0 (optional) */           \
	0xc0, 0x08, 0x04, 0x0f, 0x10, 0xc6, 0x70   /* COMMUNITIES 3856:50800 (opt. transitive) */
/* 4 + 21 + 7 + 7 + 7 = 46 bytes */

static void test_rib_ipv4(void **state)
{
	(void)state;
	struct mrt_rib_entry e = { .peer_index = 0, .originated = TS_V };
	kp_attrs(&e.attrs);
	struct mrt_rib rib = { .seq = 7, .prefix = pfx("175.45.176.0/24"), .n = 1, .e = &e };
	struct wbuf b;
	wbuf_init(&b);
	assert_int_equal(mrt_encode_rib(&b, TS_V, &rib, NULL), 0);
	static const uint8_t want[] = {
		TS, 0x00, 0x0d, 0x00, 0x02,    /* TABLE_DUMP_V2, RIB_IPV4_UNICAST */
		0x00, 0x00, 0x00, 64,          /* 4 seq + 1 + 3 prefix + 2 count + 2+4+2+46 entry */
		0x00, 0x00, 0x00, 0x07,        /* sequence */
		24, 175, 45, 176,              /* prefix length, ceil(24/8) = 3 bytes */
		0x00, 0x01,                    /* entry count */
		0x00, 0x00,                    /* peer index */
		TS,                            /* originated time */
		0x00, 46,                      /* attribute length */
		KP_ATTRS,
	};
	assert_bytes(&b, want, sizeof want);
	wbuf_free(&b);
}

static void test_rib_ipv6_abbreviated_mp_reach(void **state)
{
	(void)state;
	struct mrt_rib_entry e = { .peer_index = 1, .originated = TS_V };
	e.attrs.present = BGP_ATTR_BIT(BGP_ATTR_ORIGIN) | BGP_ATTR_BIT(BGP_ATTR_MP_REACH_NLRI);
	e.attrs.origin = BGP_ORIGIN_IGP;
	assert_int_equal(dm_ip_parse("2001:db8::1", &e.attrs.mp_reach.nexthop), 0);
	struct mrt_rib rib = { .seq = 0, .prefix = pfx("2001:db8::/32"), .n = 1, .e = &e };
	struct wbuf b;
	wbuf_init(&b);
	assert_int_equal(mrt_encode_rib(&b, TS_V, &rib, NULL), 0);
	static const uint8_t want[] = {
		TS, 0x00, 0x0d, 0x00, 0x04,    /* TABLE_DUMP_V2, RIB_IPV6_UNICAST */
		0x00, 0x00, 0x00, 43,          /* 4 seq + 1 + 4 prefix + 2 count + (2 + 4 + 2 + 24) */
		0x00, 0x00, 0x00, 0x00,
		32, 0x20, 0x01, 0x0d, 0xb8,
		0x00, 0x01,
		0x00, 0x01,
		TS,
		0x00, 24,                      /* ORIGIN 4 + MP_REACH 3 + 17 */
		0x40, 0x01, 0x01, 0x00,
		/* RFC 6396 §4.3.4: MP_REACH_NLRI holds only next-hop length and next hop. */
		0x80, 0x0e, 17, 16,
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
	};
	assert_bytes(&b, want, sizeof want);
	wbuf_free(&b);
}

static struct mrt_session session4(void)
{
	struct mrt_session s = { .peer_as = 3856, .local_as = 6447, .afi = DM_AFI_IPV4,
	                         .peer_ip = ip4(192, 0, 2, 10), .local_ip = ip4(192, 0, 2, 1) };
	return s;
}

#define SESSION4                                                                                 \
	0x00, 0x00, 0x0f, 0x10,                /* peer AS 3856 */                               \
	0x00, 0x00, 0x19, 0x2f,                /* local AS 6447 = 0x192F */                     \
	0x00, 0x00,                            /* interface index */                            \
	0x00, 0x01,                            /* AFI IPv4 */                                   \
	0xc0, 0x00, 0x02, 0x0a,                /* peer IP */                                    \
	0xc0, 0x00, 0x02, 0x01                 /* local IP */
#define MARKER 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, \
               0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff

static void test_update_withdraw_et(void **state)
{
	(void)state;
	struct mrt_session s = session4();
	struct dm_prefix w = pfx("175.45.176.0/24");
	struct bgp_update u;
	memset(&u, 0, sizeof u);
	u.withdrawn.pfx = &w;
	u.withdrawn.n = 1;
	struct wbuf b;
	wbuf_init(&b);
	assert_int_equal(mrt_encode_update(&b, 1, TS_V, 372152, &s, &u, NULL), 0);
	static const uint8_t want[] = {
		TS, 0x00, 0x11, 0x00, 0x04,    /* BGP4MP_ET (17), MESSAGE_AS4 (4) */
		0x00, 0x00, 0x00, 51,          /* 4 usec + 20 session + 27 message */
		0x00, 0x05, 0xad, 0xb8,        /* 372152 us = 0x0005ADB8 */
		SESSION4,
		MARKER,
		0x00, 27,                      /* 19 header + 2 + 4 withdrawn + 2 */
		0x02,                          /* UPDATE */
		0x00, 0x04, 24, 175, 45, 176,  /* withdrawn routes */
		0x00, 0x00,                    /* no path attributes */
	};
	assert_bytes(&b, want, sizeof want);

	/* Without _ET: type 16 and no microseconds. */
	b.len = 0;
	assert_int_equal(mrt_encode_update(&b, 0, TS_V, 372152, &s, &u, NULL), 0);
	static const uint8_t want_plain[] = {
		TS, 0x00, 0x10, 0x00, 0x04, 0x00, 0x00, 0x00, 47, SESSION4, MARKER,
		0x00, 27, 0x02, 0x00, 0x04, 24, 175, 45, 176, 0x00, 0x00,
	};
	assert_bytes(&b, want_plain, sizeof want_plain);
	wbuf_free(&b);
}

static void test_update_announce(void **state)
{
	(void)state;
	struct mrt_session s = session4();
	struct dm_prefix a[2] = { pfx("175.45.176.0/24"), pfx("175.45.178.0/23") };
	struct bgp_update u;
	memset(&u, 0, sizeof u);
	kp_attrs(&u.attrs);
	u.announced.pfx = a;
	u.announced.n = 2;
	struct wbuf b;
	wbuf_init(&b);
	assert_int_equal(mrt_encode_update(&b, 1, TS_V, 0, &s, &u, NULL), 0);
	static const uint8_t want[] = {
		TS, 0x00, 0x11, 0x00, 0x04,
		0x00, 0x00, 0x00, 101,         /* 4 usec + 20 session + 77 message */
		0x00, 0x00, 0x00, 0x00,
		SESSION4,
		MARKER,
		0x00, 77,                      /* 19 + 2 + 0 + 2 + 46 + 4 + 4 */
		0x02,
		0x00, 0x00,
		0x00, 46,
		KP_ATTRS,
		24, 175, 45, 176,
		23, 175, 45, 178,
	};
	assert_bytes(&b, want, sizeof want);
	wbuf_free(&b);
}

static void test_update_ipv6_mp(void **state)
{
	(void)state;
	struct mrt_session s = { .peer_as = 64496, .local_as = 6447, .afi = DM_AFI_IPV6 };
	assert_int_equal(dm_ip_parse("2001:db8::a", &s.peer_ip), 0);
	assert_int_equal(dm_ip_parse("2001:db8::1", &s.local_ip), 0);
	uint32_t asn = 64496;
	struct as_seg seg = { .type = AS_SEQUENCE, .count = 1, .asn = &asn };
	struct dm_prefix ann = pfx("2001:db8:1::/48"), wd = pfx("2001:db8:2::/48");
	struct bgp_update u;
	memset(&u, 0, sizeof u);
	u.attrs.present = BGP_ATTR_BIT(BGP_ATTR_ORIGIN) | BGP_ATTR_BIT(BGP_ATTR_AS_PATH) |
	                  BGP_ATTR_BIT(BGP_ATTR_MP_REACH_NLRI) |
	                  BGP_ATTR_BIT(BGP_ATTR_MP_UNREACH_NLRI);
	u.attrs.as_path.seg = &seg;
	u.attrs.as_path.nseg = 1;
	u.attrs.mp_reach.afi = DM_AFI_IPV6;
	u.attrs.mp_reach.safi = DM_SAFI_UNICAST;
	u.attrs.mp_reach.nexthop = s.peer_ip;
	u.attrs.mp_reach.nlri.pfx = &ann;
	u.attrs.mp_reach.nlri.n = 1;
	u.attrs.mp_unreach.afi = DM_AFI_IPV6;
	u.attrs.mp_unreach.safi = DM_SAFI_UNICAST;
	u.attrs.mp_unreach.nlri.pfx = &wd;
	u.attrs.mp_unreach.nlri.n = 1;
	struct wbuf b;
	wbuf_init(&b);
	assert_int_equal(mrt_encode_update(&b, 1, TS_V, 1, &s, &u, NULL), 0);
	static const uint8_t want[] = {
		TS, 0x00, 0x11, 0x00, 0x04,
		0x00, 0x00, 0x00, 128,         /* 4 usec + 44 session + 80 message */
		0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0xfb, 0xf0,        /* 64496 */
		0x00, 0x00, 0x19, 0x2f,
		0x00, 0x00, 0x00, 0x02,        /* ifindex, AFI IPv6 */
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a,
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
		MARKER,
		0x00, 80,                      /* 19 + 2 + 2 + 57 attributes */
		0x02,
		0x00, 0x00,
		0x00, 57,                      /* ORIGIN 4 + AS_PATH 9 + MP_REACH 31 + MP_UNREACH 13 */
		0x40, 0x01, 0x01, 0x00,        /* ORIGIN IGP (4) */
		0x40, 0x02, 0x06, 0x02, 0x01, 0x00, 0x00, 0xfb, 0xf0,  /* AS_PATH 64496 (9) */
		/* MP_REACH (RFC 4760 §3): AFI 2, SAFI 1, nh len 16, nh, reserved, 48 + 6 bytes:
		 * value 2+1+1+16+1+7 = 28, attribute 31 */
		0x80, 0x0e, 28, 0x00, 0x02, 0x01, 16,
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a,
		0x00,
		48, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01,
		/* MP_UNREACH (RFC 4760 §4): value 2+1+7 = 10, attribute 13 */
		0x80, 0x0f, 10, 0x00, 0x02, 0x01,
		48, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x02,
	};
	assert_bytes(&b, want, sizeof want);
	wbuf_free(&b);
}

static void test_state_change(void **state)
{
	(void)state;
	struct mrt_session s = session4();
	struct wbuf b;
	wbuf_init(&b);
	assert_int_equal(mrt_encode_state(&b, 1, TS_V, 9, &s, 6, 1, NULL), 0);
	static const uint8_t want[] = {
		TS, 0x00, 0x11, 0x00, 0x05,    /* BGP4MP_ET, STATE_CHANGE_AS4 */
		0x00, 0x00, 0x00, 28,          /* 4 usec + 20 + 2 + 2 */
		0x00, 0x00, 0x00, 0x09,
		SESSION4,
		0x00, 0x06, 0x00, 0x01,        /* Established -> Idle */
	};
	assert_bytes(&b, want, sizeof want);
	wbuf_free(&b);
}

/* Found by fuzz_mrt_roundtrip: a next hop the decoder could not read (length 13: afi 0) was
 * written as 4 bytes of 0.0.0.0, a next hop nobody sent. It is written as none. */
static void test_unknown_next_hop_not_invented(void **state)
{
	(void)state;
	struct mrt_rib_entry e = { .peer_index = 0, .originated = TS_V };
	e.attrs.present = BGP_ATTR_BIT(BGP_ATTR_MP_REACH_NLRI);
	e.attrs.mp_reach.nh_len = 13;       /* nexthop.afi stays 0 */
	struct mrt_rib rib = { .seq = 0, .prefix = pfx("2001:db8::/32"), .n = 1, .e = &e };
	struct wbuf b;
	wbuf_init(&b);
	assert_int_equal(mrt_encode_rib(&b, TS_V, &rib, NULL), 0);
	static const uint8_t tail[] = { 0x00, 4, 0x80, 0x0e, 1, 0 };   /* attrs length, MP_REACH: nh len 0 */
	assert_true(b.len > sizeof tail);
	assert_memory_equal(b.p + b.len - sizeof tail, tail, sizeof tail);
	wbuf_free(&b);
}

/* Found by fuzz_mrt_roundtrip: a STATE_CHANGE decoded into a record that held a
 * MESSAGE_AS4_LOCAL kept its `local` flag (struct mrt_rec's union, reused across records). */
static void test_state_after_local_message(void **state)
{
	(void)state;
	struct mrt_session s = session4();
	struct bgp_update u;
	memset(&u, 0, sizeof u);
	struct wbuf b;
	wbuf_init(&b);
	assert_int_equal(mrt_encode_update(&b, 0, TS_V, 0, &s, &u, NULL), 0);
	b.p[7] = MRT_BGP4MP_MESSAGE_AS4_LOCAL;
	struct mrt_ctx ctx;
	mrt_ctx_init(&ctx);
	struct mrt_rec rec;
	struct dm_error err;
	struct mrt_hdr h = { TS_V, 0, MRT_BGP4MP, MRT_BGP4MP_MESSAGE_AS4_LOCAL, (uint32_t)b.len - 12, 0, 0, 0 };
	assert_int_equal(mrt_decode(&ctx, &h, b.p + 12, &rec, &err), 0);
	assert_int_equal(rec.u.msg.s.local, 1);
	b.len = 0;
	assert_int_equal(mrt_encode_state(&b, 0, TS_V, 0, &s, 1, 6, NULL), 0);
	h.subtype = MRT_BGP4MP_STATE_CHANGE_AS4;
	h.len = (uint32_t)b.len - 12;
	assert_int_equal(mrt_decode(&ctx, &h, b.p + 12, &rec, &err), 0);
	assert_int_equal(rec.kind, MRT_K_STATE);
	assert_int_equal(rec.u.state.s.local, 0);
	assert_int_equal(rec.u.state.s.addpath, 0);
	mrt_ctx_free(&ctx);
	wbuf_free(&b);
}

static void test_extended_length_attribute(void **state)
{
	(void)state;
	uint32_t asn[70];
	for (int i = 0; i < 70; i++)
		asn[i] = 64512;
	struct as_seg seg = { .type = AS_SEQUENCE, .count = 70, .asn = asn };
	struct bgp_attrs a;
	memset(&a, 0, sizeof a);
	a.present = BGP_ATTR_BIT(BGP_ATTR_AS_PATH);
	a.as_path.seg = &seg;
	a.as_path.nseg = 1;
	struct wbuf b;
	wbuf_init(&b);
	assert_int_equal(bgp_attrs_encode(&b, &a, 0, NULL), 0);
	/* value 2 + 70*4 = 282 = 0x011A > 255: Extended Length flag, 2-byte length. */
	assert_int_equal(b.len, 4 + 282);
	static const uint8_t head[] = { 0x50, 0x02, 0x01, 0x1a, 0x02, 70, 0x00, 0x00, 0xfc, 0x00 };
	assert_memory_equal(b.p, head, sizeof head);
	wbuf_free(&b);
}

static void test_too_long_update_refused(void **state)
{
	(void)state;
	struct mrt_session s = session4();
	enum { N = 1100 };                  /* 1100 x 4 bytes of NLRI > 4096 */
	struct dm_prefix *p = calloc(N, sizeof *p);
	for (int i = 0; i < N; i++)
		p[i] = pfx("10.0.0.0/24");
	struct bgp_update u;
	memset(&u, 0, sizeof u);
	u.withdrawn.pfx = p;
	u.withdrawn.n = N;
	struct wbuf b;
	wbuf_init(&b);
	wbuf_u8(&b, 0xaa);                  /* an earlier record stays intact */
	struct dm_error err;
	assert_int_equal(mrt_encode_update(&b, 1, TS_V, 0, &s, &u, &err), DM_ERR_BAD_LENGTH);
	assert_int_equal(err.code, DM_ERR_BAD_LENGTH);
	assert_int_equal(b.len, 1);
	assert_int_equal(b.p[0], 0xaa);
	/* and a session whose families disagree */
	struct mrt_session bad = s;
	assert_int_equal(dm_ip_parse("2001:db8::1", &bad.peer_ip), 0);
	u.withdrawn.n = 1;
	assert_int_equal(mrt_encode_update(&b, 1, TS_V, 0, &bad, &u, &err), DM_ERR_BAD_VALUE);
	assert_int_equal(b.len, 1);
	free(p);
	wbuf_free(&b);
}

/* The writer's output, decompressed, is exactly the encoder's bytes (gzip, bzip2, none). */
static void write_three(const char *path, struct wbuf *expect)
{
	struct dm_error err;
	struct mrt_writer *w = mrt_writer_open(path, &err);
	assert_non_null(w);
	struct mrt_session s = session4();
	struct dm_prefix wd = pfx("175.45.177.0/24");
	struct bgp_update u;
	memset(&u, 0, sizeof u);
	u.withdrawn.pfx = &wd;
	u.withdrawn.n = 1;
	/* 3000 x 55 + 3000 x 40 = 285 KB: more than the 256 KiB at which the writer hands its
	 * buffer to the compressor, so both the flush and the final drain are exercised. */
	for (int i = 0; i < 3000; i++) {
		assert_int_equal(mrt_write_update(w, TS_V + (uint32_t)i, 5, &s, &u, &err), 0);
		assert_int_equal(mrt_encode_update(expect, 1, TS_V + (uint32_t)i, 5, &s, &u, NULL), 0);
	}
	for (int i = 0; i < 3000; i++) {
		assert_int_equal(mrt_write_state(w, TS_V, 0, &s, 1, 6, &err), 0);
		assert_int_equal(mrt_encode_state(expect, 1, TS_V, 0, &s, 1, 6, NULL), 0);
	}
	assert_int_equal(mrt_writer_records(w), 6000);
	assert_int_equal(mrt_writer_bytes(w), expect->len);
	assert_int_equal(mrt_writer_close(w, &err), 0);
}

static size_t slurp_gz(const char *path, uint8_t *buf, size_t cap)
{
	gzFile g = gzopen(path, "rb");
	assert_non_null(g);
	int n = gzread(g, buf, (unsigned)cap);
	gzclose(g);
	return n < 0 ? 0 : (size_t)n;
}

static size_t slurp_bz2(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	int bzerr;
	BZFILE *z = BZ2_bzReadOpen(&bzerr, f, 0, 0, NULL, 0);
	size_t got = 0;
	while (bzerr == BZ_OK && got < cap) {
		int n = BZ2_bzRead(&bzerr, z, buf + got, (int)(cap - got));
		if (n > 0)
			got += (size_t)n;
	}
	assert_int_equal(bzerr, BZ_STREAM_END);
	BZ2_bzReadClose(&bzerr, z);
	fclose(f);
	return got;
}

static size_t slurp_raw(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void test_writer_sinks(void **state)
{
	(void)state;
	char dir[] = "/tmp/dm_writer_XXXXXX";
	assert_non_null(mkdtemp(dir));
	const char *suffix[3] = { "x.gz", "x.bz2", "x.mrt" };
	size_t (*slurp[3])(const char *, uint8_t *, size_t) = { slurp_gz, slurp_bz2, slurp_raw };
	size_t cap = 1 << 20;
	uint8_t *buf = malloc(cap);
	for (int k = 0; k < 3; k++) {
		char path[128];
		snprintf(path, sizeof path, "%s/%s", dir, suffix[k]);
		struct wbuf expect;
		wbuf_init(&expect);
		write_three(path, &expect);
		size_t n = slurp[k](path, buf, cap);
		assert_int_equal(n, expect.len);
		assert_memory_equal(buf, expect.p, n);
		/* the compressed files really are compressed: magic bytes */
		uint8_t magic[3];
		FILE *f = fopen(path, "rb");
		assert_int_equal(fread(magic, 1, 3, f), 3);
		fclose(f);
		if (k == 0)
			assert_true(magic[0] == 0x1f && magic[1] == 0x8b);
		if (k == 1)
			assert_memory_equal(magic, "BZh", 3);
		unlink(path);
		wbuf_free(&expect);
	}
	free(buf);
	rmdir(dir);
}

static void test_open_fails_cleanly(void **state)
{
	(void)state;
	struct dm_error err;
	assert_null(mrt_writer_open("/nonexistent-dir/x.gz", &err));
	assert_int_equal(err.code, DM_ERR_IO);
	assert_non_null(strstr(err.what, "/nonexistent-dir/x.gz"));
}


/* Round trip through darkmap's own reader and decoder (written independently of the writer):
 * what was encoded comes back field by field. */
static void test_round_trip_decoder(void **state)
{
	(void)state;
	char dir[] = "/tmp/dm_writer_rt_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof path, "%s/rt.bz2", dir);
	struct dm_error err;
	struct mrt_writer *w = mrt_writer_open(path, &err);
	assert_non_null(w);
	struct mrt_peer peers[2] = { { .addr = ip4(192, 0, 2, 10), .asn = 3856, .bgp_id = 1 },
	                             { .asn = 4200000001u, .bgp_id = 2 } };
	assert_int_equal(dm_ip_parse("2001:db8::a", &peers[1].addr), 0);
	struct mrt_peer_index pi = { .collector_id = 0xc0000201, .view = "v", .npeers = 2,
	                             .peers = peers };
	assert_int_equal(mrt_write_peer_index(w, TS_V, &pi, &err), 0);
	struct mrt_rib_entry e = { .peer_index = 0, .originated = TS_V - 60 };
	kp_attrs(&e.attrs);
	struct mrt_rib rib = { .seq = 3, .prefix = pfx("175.45.176.0/24"), .n = 1, .e = &e };
	assert_int_equal(mrt_write_rib(w, TS_V, &rib, &err), 0);
	struct mrt_rib_entry e6 = { .peer_index = 1, .originated = TS_V };
	e6.attrs.present = BGP_ATTR_BIT(BGP_ATTR_ORIGIN) | BGP_ATTR_BIT(BGP_ATTR_MP_REACH_NLRI);
	e6.attrs.mp_reach.nexthop = peers[1].addr;
	struct mrt_rib rib6 = { .seq = 4, .prefix = pfx("2001:db8::/32"), .n = 1, .e = &e6 };
	assert_int_equal(mrt_write_rib(w, TS_V, &rib6, &err), 0);
	struct mrt_session s = session4();
	struct dm_prefix wd[2] = { pfx("175.45.177.0/24"), pfx("175.45.178.0/24") };
	struct bgp_update u;
	memset(&u, 0, sizeof u);
	u.withdrawn.pfx = wd;
	u.withdrawn.n = 2;
	assert_int_equal(mrt_write_update(w, TS_V + 1, 123456, &s, &u, &err), 0);
	assert_int_equal(mrt_write_state(w, TS_V + 2, 7, &s, 6, 1, &err), 0);
	assert_int_equal(mrt_writer_close(w, &err), 0);

	struct mrt_reader *r = mrt_reader_open(path, &err);
	assert_non_null(r);
	struct mrt_ctx ctx;
	mrt_ctx_init(&ctx);
	struct mrt_hdr h;
	const uint8_t *body;
	struct mrt_rec rec;
	int n = 0;
	while (mrt_reader_next(r, &h, &body, &err) == 1) {
		assert_int_equal(mrt_decode(&ctx, &h, body, &rec, &err), 0);
		assert_int_equal(rec.nwarn, 0);
		switch (n++) {
		case 0:
			assert_int_equal(rec.kind, MRT_K_PEER_INDEX);
			assert_int_equal(ctx.peer_index->npeers, 2);
			assert_int_equal(ctx.peer_index->peers[1].asn, 4200000001u);
			assert_string_equal(ctx.peer_index->view, "v");
			break;
		case 1: {
			assert_int_equal(rec.kind, MRT_K_RIB);
			assert_int_equal(rec.u.rib.seq, 3);
			char buf[DM_PREFIX_STRLEN];
			dm_prefix_fmt(&rec.u.rib.prefix, buf);
			assert_string_equal(buf, "175.45.176.0/24");
			assert_int_equal(rec.u.rib.n, 1);
			const struct bgp_attrs *a = &rec.u.rib.e[0].attrs;
			assert_int_equal(rec.u.rib.e[0].originated, TS_V - 60);
			assert_int_equal(a->origin, BGP_ORIGIN_INCOMPLETE);
			assert_int_equal(a->path.nseg, 1);
			assert_int_equal(a->path.seg[0].count, 4);
			assert_int_equal(a->path.seg[0].asn[3], 131279);
			assert_int_equal(a->n_communities, 1);
			assert_memory_equal(a->communities, comm_3856_50800, 4);
			break;
		}
		case 2: {
			assert_int_equal(rec.kind, MRT_K_RIB);
			char buf[DM_IP_STRLEN];
			dm_ip_fmt(&rec.u.rib.e[0].attrs.mp_reach.nexthop, buf);
			assert_string_equal(buf, "2001:db8::a");
			break;
		}
		case 3:
			assert_int_equal(rec.kind, MRT_K_MESSAGE);
			assert_int_equal(rec.hdr.usec, 123456);
			assert_int_equal(rec.u.msg.s.peer_as, 3856);
			assert_int_equal(rec.u.msg.msg.u.update.withdrawn.n, 2);
			assert_int_equal(rec.u.msg.msg.u.update.withdrawn.pfx[1].b[2], 178);
			break;
		case 4:
			assert_int_equal(rec.kind, MRT_K_STATE);
			assert_int_equal(rec.u.state.old_state, 6);
			assert_int_equal(rec.u.state.new_state, 1);
			break;
		}
	}
	assert_int_equal(n, 5);
	mrt_ctx_free(&ctx);
	mrt_reader_close(r);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peer_index),
		cmocka_unit_test(test_rib_ipv4),
		cmocka_unit_test(test_rib_ipv6_abbreviated_mp_reach),
		cmocka_unit_test(test_update_withdraw_et),
		cmocka_unit_test(test_update_announce),
		cmocka_unit_test(test_update_ipv6_mp),
		cmocka_unit_test(test_state_change),
		cmocka_unit_test(test_unknown_next_hop_not_invented),
		cmocka_unit_test(test_state_after_local_message),
		cmocka_unit_test(test_extended_length_attribute),
		cmocka_unit_test(test_too_long_update_refused),
		cmocka_unit_test(test_writer_sinks),
		cmocka_unit_test(test_open_fails_cleanly),
		cmocka_unit_test(test_round_trip_decoder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
