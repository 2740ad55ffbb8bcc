/* src/live/bmp: a BMP (RFC 7854) stream built by hand, field by field from RFC 7854 §4 and
 * RFC 4271 §4, fed whole, byte by byte and damaged; every callback is logged as one text line and
 * the log compared with the expected lines, written from the bytes, not from darkmap's output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "live/bmp.h"
#include "mrt/writer.h"

/* ---- building messages ------------------------------------------------------------------- */

static void ip4(struct wbuf *b, uint8_t a, uint8_t c, uint8_t d, uint8_t e)
{
	uint8_t x[4] = { a, c, d, e };
	wbuf_put(b, x, 4);
}

/* Common header (§4.1); the length is patched by end(). */
static size_t begin(struct wbuf *b, uint8_t type)
{
	size_t at = b->len;
	wbuf_u8(b, 3);
	wbuf_u32(b, 0);
	wbuf_u8(b, type);
	return at;
}

static void end(struct wbuf *b, size_t at) { wbuf_set_u32(b, at + 1, (uint32_t)(b->len - at)); }

/* Per-peer header (§4.2): global peer 192.0.2.1 (or 2001:db8::1 with V), AS 65001; with
 * loc_rib a Loc-RIB instance (RFC 9069: peer type 3, address zero-filled). */
static void peer_hdr_t(struct wbuf *b, uint8_t flags, int loc_rib)
{
	wbuf_u8(b, loc_rib ? 3 : 0);
	wbuf_u8(b, flags);
	wbuf_u32(b, 0);          /* RD */
	wbuf_u32(b, 0);
	if (loc_rib) {
		static const uint8_t z[16];
		wbuf_put(b, z, 16);
	} else if (flags & BMP_PF_V) {
		static const uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
		wbuf_put(b, a6, 16);
	} else {
		static const uint8_t z[12];
		wbuf_put(b, z, 12);
		ip4(b, 192, 0, 2, 1);
	}
	wbuf_u32(b, 65001);
	ip4(b, 10, 0, 0, 1);     /* BGP ID */
	wbuf_u32(b, 1419264900); /* 2014-12-22 16:15:00 */
	wbuf_u32(b, 5);
}

static void peer_hdr(struct wbuf *b, uint8_t flags) { peer_hdr_t(b, flags, 0); }

static size_t bgp_begin(struct wbuf *b, uint8_t type)
{
	size_t at = b->len;
	for (int i = 0; i < 16; i++)
		wbuf_u8(b, 0xff);
	wbuf_u16(b, 0);
	wbuf_u8(b, type);
	return at;
}

static void bgp_end(struct wbuf *b, size_t at) { wbuf_set_u16(b, at + 16, (uint16_t)(b->len - at)); }

/* OPEN (RFC 4271 §4.2) with capabilities: 4-byte AS (RFC 6793) when as4, ADD-PATH IPv4 unicast
 * with send/receive bits ap (RFC 7911) when ap. */
static void open_msg(struct wbuf *b, uint32_t asn, int as4, uint8_t ap)
{
	size_t at = bgp_begin(b, BGP_MSG_OPEN);
	wbuf_u8(b, 4);
	wbuf_u16(b, asn > 65535 ? 23456 : (uint16_t)asn);
	wbuf_u16(b, 90);
	ip4(b, 10, 0, 0, (uint8_t)(asn & 0xff));
	size_t opt = b->len;
	wbuf_u8(b, 0);
	if (as4) {
		wbuf_u8(b, 2);   /* capabilities parameter */
		wbuf_u8(b, 6);
		wbuf_u8(b, 65);
		wbuf_u8(b, 4);
		wbuf_u32(b, asn);
	}
	if (ap) {
		wbuf_u8(b, 2);
		wbuf_u8(b, 6);
		wbuf_u8(b, 69);
		wbuf_u8(b, 4);
		wbuf_u16(b, 1);   /* AFI IPv4 */
		wbuf_u8(b, 1);    /* SAFI unicast */
		wbuf_u8(b, ap);
	}
	b->p[opt] = (uint8_t)(b->len - opt - 1);
	bgp_end(b, at);
}

static void initiation(struct wbuf *b)
{
	size_t at = begin(b, BMP_INITIATION);
	wbuf_u16(b, 1);      /* sysDescr */
	wbuf_u16(b, 8);
	wbuf_put(b, "FRR 8.4 ", 8);
	wbuf_u16(b, 2);      /* sysName */
	wbuf_u16(b, 3);
	wbuf_put(b, "r1a", 3);
	end(b, at);
}

static void peer_up(struct wbuf *b, uint8_t flags, int as4, uint8_t ap_sent, uint8_t ap_recv)
{
	size_t at = begin(b, BMP_PEER_UP);
	peer_hdr(b, flags);
	static const uint8_t z[12];
	wbuf_put(b, z, 12);
	ip4(b, 192, 0, 2, 254);          /* local address */
	wbuf_u16(b, 179);
	wbuf_u16(b, 40001);
	open_msg(b, 4200000000u, as4, ap_sent);   /* sent by the router */
	open_msg(b, 65001, as4, ap_recv);         /* received from the peer */
	end(b, at);
}

/* UPDATE announcing 10.0.0.0/8 and 10.1.0.0/16 (path ids 7 and 8 when addpath) from AS 65001
 * with origin 4200000000 (2-byte form: AS_TRANS 23456), next hop 192.0.2.1; withdrawing
 * 172.16.0.0/12 (path id 9). */
static void update(struct wbuf *b, int asn2, int addpath)
{
	size_t at = bgp_begin(b, BGP_MSG_UPDATE);
	wbuf_u16(b, (uint16_t)(addpath ? 7 : 3));
	if (addpath)
		wbuf_u32(b, 9);
	wbuf_u8(b, 12);
	wbuf_u8(b, 172);
	wbuf_u8(b, 16);
	size_t alen = b->len;
	wbuf_u16(b, 0);
	wbuf_u8(b, 0x40);    /* ORIGIN IGP */
	wbuf_u8(b, 1);
	wbuf_u8(b, 1);
	wbuf_u8(b, 0);
	wbuf_u8(b, 0x40);    /* AS_PATH: one AS_SEQUENCE of 2 */
	wbuf_u8(b, 2);
	wbuf_u8(b, (uint8_t)(asn2 ? 6 : 10));
	wbuf_u8(b, 2);
	wbuf_u8(b, 2);
	if (asn2) {
		wbuf_u16(b, 65001);
		wbuf_u16(b, 23456);
	} else {
		wbuf_u32(b, 65001);
		wbuf_u32(b, 4200000000u);
	}
	wbuf_u8(b, 0x40);    /* NEXT_HOP */
	wbuf_u8(b, 3);
	wbuf_u8(b, 4);
	ip4(b, 192, 0, 2, 1);
	wbuf_set_u16(b, alen, (uint16_t)(b->len - alen - 2));
	if (addpath)
		wbuf_u32(b, 7);
	wbuf_u8(b, 8);
	wbuf_u8(b, 10);
	if (addpath)
		wbuf_u32(b, 8);
	wbuf_u8(b, 16);
	wbuf_u8(b, 10);
	wbuf_u8(b, 1);
	bgp_end(b, at);
}

static void route_monitoring(struct wbuf *b, uint8_t flags, int asn2, int addpath)
{
	size_t at = begin(b, BMP_ROUTE_MONITORING);
	peer_hdr(b, flags);
	update(b, asn2, addpath);
	end(b, at);
}

static void stats(struct wbuf *b)
{
	size_t at = begin(b, BMP_STATISTICS_REPORT);
	peer_hdr(b, 0);
	wbuf_u32(b, 3);
	wbuf_u16(b, 0);      /* prefixes rejected by inbound policy: 32-bit counter */
	wbuf_u16(b, 4);
	wbuf_u32(b, 12);
	wbuf_u16(b, 7);      /* routes in Adj-RIB-In: 64-bit gauge */
	wbuf_u16(b, 8);
	wbuf_u32(b, 1);
	wbuf_u32(b, 2);
	wbuf_u16(b, 9);      /* per AFI/SAFI Adj-RIB-In, IPv6 unicast */
	wbuf_u16(b, 11);
	wbuf_u16(b, 2);
	wbuf_u8(b, 1);
	wbuf_u32(b, 0);
	wbuf_u32(b, 77);
	end(b, at);
}

static void peer_down(struct wbuf *b)
{
	size_t at = begin(b, BMP_PEER_DOWN);
	peer_hdr(b, 0);
	wbuf_u8(b, BMP_DOWN_REMOTE_NOTIFY);
	size_t n = bgp_begin(b, BGP_MSG_NOTIFICATION);
	wbuf_u8(b, 6);       /* Cease */
	wbuf_u8(b, 2);       /* Administrative Shutdown */
	bgp_end(b, n);
	end(b, at);
}

static void termination(struct wbuf *b)
{
	size_t at = begin(b, BMP_TERMINATION);
	wbuf_u16(b, 0);
	wbuf_u16(b, 3);
	wbuf_put(b, "bye", 3);
	wbuf_u16(b, 1);
	wbuf_u16(b, 2);
	wbuf_u16(b, 1);      /* administratively closed */
	end(b, at);
}

/* ---- the log -------------------------------------------------------------------------------- */

static char logbuf[8192];

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	size_t n = strlen(logbuf);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(logbuf + n, sizeof logbuf - n, fmt, ap);
	va_end(ap);
}

static void on_init(void *arg, const char *name, const char *descr) { logf_("init %s|%s\n", name, descr); }

static void on_up(void *arg, const struct bmp_peer *p, const struct bgp_msg *s, const struct bgp_msg *r)
{
	char a[DM_IP_STRLEN];
	dm_ip_fmt(&p->local_addr, a);
	logf_("up local %s:%u AS%u as4 %u addpath %u\n", a, p->local_port, p->local_asn, p->as4, p->addpath);
}

static void on_down(void *arg, const struct bmp_peer *p, uint8_t reason, const struct bgp_notification *n)
{
	logf_("down reason %u notification %d/%d\n", reason, n ? n->code : -1, n ? n->subcode : -1);
}

static void on_elem(void *arg, const struct bmp_peer *p, int view, const struct dm_elem *e)
{
	char ip[DM_IP_STRLEN], pf[DM_PREFIX_STRLEN], nh[DM_IP_STRLEN] = "-";
	dm_ip_fmt(e->peer_ip, ip);
	if (e->type == DM_ELEM_STATE) {
		logf_("%c%s %s AS%u %u->%u t%u\n", e->type, view == BMP_VIEW_POST ? " post" : view ? " loc-rib" : "", ip,
		      e->peer_asn, e->old_state, e->new_state, (unsigned)e->ts);
		return;
	}
	dm_prefix_fmt(&e->prefix, pf);
	if (e->next_hop)
		dm_ip_fmt(e->next_hop, nh);
	logf_("%c%s %s AS%u %s", e->type, view == BMP_VIEW_POST ? " post" : view ? " loc-rib" : "", ip, e->peer_asn, pf);
	if (e->has_path_id)
		logf_(" id %u", e->path_id);
	if (e->attrs) {
		logf_(" path");
		const struct as_path *ph = &e->attrs->path;
		for (unsigned i = 0; i < ph->nseg; i++)
			for (unsigned k = 0; k < ph->seg[i].count; k++)
				logf_(" %u", ph->seg[i].asn[k]);
		logf_(" nh %s", nh);
	}
	logf_("\n");
}

static void on_update(void *arg, const struct bmp_peer *p, int view, const uint8_t *m, size_t len, uint8_t asn_size,
                      uint8_t addpath)
{
	logf_("update %zu bytes asn %u addpath %u\n", len, asn_size, addpath);
}

static void on_stats(void *arg, const struct bmp_peer *p)
{
	logf_("stats 0=%llu 7=%llu 9/v6=%llu seen %x\n", (unsigned long long)p->stat[0],
	      (unsigned long long)p->stat[7], (unsigned long long)p->stat_afi[0][1], p->stat_seen);
}

static void on_term(void *arg, uint16_t reason, const char *info) { logf_("term %u %s\n", reason, info); }

static void on_error(void *arg, const struct dm_error *e)
{
	logf_("error %s @%llu: %s\n", dm_err_name(e->code), (unsigned long long)e->offset, e->what);
}

static const struct bmp_cb cbs = { NULL, on_init, on_up, on_down, on_elem, on_update, on_stats, on_term, on_error };

/* Feeds the stream in pieces of `step` bytes (0: whole); returns bmp_input's last result. */
static int feed(const struct wbuf *b, size_t step, struct bmp **out)
{
	struct bmp *s = bmp_new(&cbs);
	assert_non_null(s);
	logbuf[0] = 0;
	int rc = 0;
	struct dm_error err;
	size_t off = 0;
	while (off < b->len && rc == 0) {
		size_t n = step ? step : b->len;
		if (n > b->len - off)
			n = b->len - off;
		rc = bmp_input(s, b->p + off, n, 1700000000, 0, &err);
		off += n;
	}
	if (rc)
		logf_("input %s @%llu: %s\n", dm_err_name(err.code), (unsigned long long)err.offset, err.what);
	if (out)
		*out = s;
	else
		bmp_free(s);
	return rc;
}

static void check(const char *want)
{
	if (strcmp(logbuf, want)) {
		fprintf(stderr, "got:\n%swant:\n%s", logbuf, want);
		fail();
	}
}

/* ---- tests -------------------------------------------------------------------------------- */

static const char *session_want =
	"init r1a|FRR 8.4 \n"
	"up local 192.0.2.254:179 AS4200000000 as4 1 addpath 0\n"
	"S 192.0.2.1 AS65001 5->6 t1700000000\n"
	"update 55 bytes asn 4 addpath 0\n"
	"W 192.0.2.1 AS65001 172.16.0.0/12\n"
	"A 192.0.2.1 AS65001 10.0.0.0/8 path 65001 4200000000 nh 192.0.2.1\n"
	"A 192.0.2.1 AS65001 10.1.0.0/16 path 65001 4200000000 nh 192.0.2.1\n"
	"S post 192.0.2.1 AS65001 5->6 t1700000000\n"   /* the post-policy view's first route */
	"update 55 bytes asn 4 addpath 0\n"
	"W post 192.0.2.1 AS65001 172.16.0.0/12\n"
	"A post 192.0.2.1 AS65001 10.0.0.0/8 path 65001 4200000000 nh 192.0.2.1\n"
	"A post 192.0.2.1 AS65001 10.1.0.0/16 path 65001 4200000000 nh 192.0.2.1\n"
	"stats 0=12 7=4294967298 9/v6=77 seen 281\n"
	"down reason 3 notification 6/2\n"
	"S 192.0.2.1 AS65001 6->1 t1700000000\n"
	"S post 192.0.2.1 AS65001 6->1 t1700000000\n"
	"term 1 bye\n";

static void session(struct wbuf *b)
{
	initiation(b);
	peer_up(b, 0, 1, 0, 0);
	route_monitoring(b, 0, 0, 0);
	route_monitoring(b, BMP_PF_L, 0, 0);
	stats(b);
	peer_down(b);
	termination(b);
}

static void test_session(void **state)
{
	struct wbuf b;
	wbuf_init(&b);
	session(&b);
	struct bmp *s;
	assert_int_equal(feed(&b, 0, &s), 0);
	check(session_want);
	const struct bmp_counts *c = bmp_counts(s);
	assert_int_equal(c->messages, 7);
	assert_int_equal(c->bytes, b.len);
	assert_int_equal(c->elems, 10);   /* 6 routes, up and down in both views */
	assert_int_equal(c->errors, 0);
	assert_int_equal(bmp_npeers(s), 1);
	const struct bmp_peer *p = bmp_peer(s, 0);
	assert_int_equal(p->updates, 2);
	assert_int_equal(p->up, 0);
	assert_int_equal(p->down_reason, 3);
	assert_int_equal(p->stat_reports, 1);
	assert_string_equal(bmp_sys_name(s), "r1a");
	assert_int_equal(bmp_terminated(s), 1);
	bmp_free(s);
	wbuf_free(&b);
}

/* TCP splits the stream anywhere: byte by byte, and in 7-byte pieces, the log is the same. */
static void test_split(void **state)
{
	struct wbuf b;
	wbuf_init(&b);
	session(&b);
	assert_int_equal(feed(&b, 1, NULL), 0);
	check(session_want);
	assert_int_equal(feed(&b, 7, NULL), 0);
	check(session_want);
	wbuf_free(&b);
}

/* ADD-PATH: the router receives, the peer sends (RFC 7911 §4): path ids in the NLRI. */
static void test_addpath(void **state)
{
	struct wbuf b;
	wbuf_init(&b);
	peer_up(&b, 0, 1, BGP_ADDPATH_RECEIVE, BGP_ADDPATH_SEND);
	route_monitoring(&b, 0, 0, 1);
	assert_int_equal(feed(&b, 0, NULL), 0);
	check("up local 192.0.2.254:179 AS4200000000 as4 1 addpath 1\n"
	      "S 192.0.2.1 AS65001 5->6 t1700000000\n"
	      "update 67 bytes asn 4 addpath 1\n"
	      "W 192.0.2.1 AS65001 172.16.0.0/12 id 9\n"
	      "A 192.0.2.1 AS65001 10.0.0.0/8 id 7 path 65001 4200000000 nh 192.0.2.1\n"
	      "A 192.0.2.1 AS65001 10.1.0.0/16 id 8 path 65001 4200000000 nh 192.0.2.1\n");
	/* only one side capable: no path ids */
	b.len = 0;
	peer_up(&b, 0, 1, BGP_ADDPATH_SEND, BGP_ADDPATH_SEND);
	assert_int_equal(feed(&b, 0, NULL), 0);
	check("up local 192.0.2.254:179 AS4200000000 as4 1 addpath 0\n"
	      "S 192.0.2.1 AS65001 5->6 t1700000000\n");
	wbuf_free(&b);
}

/* What gobgpd sends: ADD-PATH negotiated, pre-policy UPDATEs with path ids, post-policy ones
 * re-encoded without (decoded again without, counted), and Loc-RIB routes (RFC 9069) whose
 * flags byte has the F bit (0x80), which is not V there. */
static void test_views(void **state)
{
	struct wbuf b;
	wbuf_init(&b);
	peer_up(&b, 0, 1, BGP_ADDPATH_RECEIVE, BGP_ADDPATH_SEND);
	route_monitoring(&b, BMP_PF_L, 0, 0);
	size_t at = begin(&b, BMP_ROUTE_MONITORING);
	peer_hdr_t(&b, 0x80, 1);
	update(&b, 0, 0);
	end(&b, at);
	at = begin(&b, BMP_PEER_DOWN);   /* the Loc-RIB instance closed (RFC 9069 §5.2): its view only */
	peer_hdr_t(&b, 0x80, 1);
	wbuf_u8(&b, BMP_DOWN_LOC_RIB);
	end(&b, at);
	struct bmp *s;
	assert_int_equal(feed(&b, 0, &s), 0);
	check("up local 192.0.2.254:179 AS4200000000 as4 1 addpath 1\n"
	      "S 192.0.2.1 AS65001 5->6 t1700000000\n"
	      "S post 192.0.2.1 AS65001 5->6 t1700000000\n"
	      "update 55 bytes asn 4 addpath 0\n"
	      "W post 192.0.2.1 AS65001 172.16.0.0/12\n"
	      "A post 192.0.2.1 AS65001 10.0.0.0/8 path 65001 4200000000 nh 192.0.2.1\n"
	      "A post 192.0.2.1 AS65001 10.1.0.0/16 path 65001 4200000000 nh 192.0.2.1\n"
	      "S loc-rib 0.0.0.0 AS65001 5->6 t1700000000\n"   /* up from its first route: no Peer Up */
	      "update 55 bytes asn 4 addpath 0\n"
	      "W loc-rib 0.0.0.0 AS65001 172.16.0.0/12\n"
	      "A loc-rib 0.0.0.0 AS65001 10.0.0.0/8 path 65001 4200000000 nh 192.0.2.1\n"
	      "A loc-rib 0.0.0.0 AS65001 10.1.0.0/16 path 65001 4200000000 nh 192.0.2.1\n"
	      "down reason 6 notification -1/-1\n"
	      "S loc-rib 0.0.0.0 AS65001 6->1 t1700000000\n");
	assert_int_equal(bmp_npeers(s), 2);
	assert_int_equal(bmp_peer(s, 0)->decode_retry, 1);
	assert_int_equal(bmp_counts(s)->errors, 0);
	bmp_free(s);
	wbuf_free(&b);
}

/* 2-byte AS_PATH: by the A flag, and by the OPENs when a router forwards without setting A. */
static void test_asn2(void **state)
{
	static const char *want_tail =
		"W 192.0.2.1 AS65001 172.16.0.0/12\n"
		"A 192.0.2.1 AS65001 10.0.0.0/8 path 65001 23456 nh 192.0.2.1\n"
		"A 192.0.2.1 AS65001 10.1.0.0/16 path 65001 23456 nh 192.0.2.1\n";
	char want[1024];
	struct wbuf b;
	wbuf_init(&b);
	route_monitoring(&b, BMP_PF_A, 1, 0);
	assert_int_equal(feed(&b, 0, NULL), 0);
	snprintf(want, sizeof want, "update 51 bytes asn 2 addpath 0\n%s", want_tail);
	check(want);
	b.len = 0;
	peer_up(&b, 0, 0, 0, 0);
	route_monitoring(&b, 0, 1, 0);
	struct bmp *s;
	assert_int_equal(feed(&b, 0, &s), 0);
	snprintf(want, sizeof want,
	         "up local 192.0.2.254:179 AS23456 as4 0 addpath 0\n"
	         "S 192.0.2.1 AS65001 5->6 t1700000000\n"
	         "update 51 bytes asn 2 addpath 0\n%s", want_tail);
	check(want);
	assert_int_equal(bmp_peer(s, 0)->decode_retry, 1);
	bmp_free(s);
	wbuf_free(&b);
}

/* IPv6 peer (V flag). */
static void test_ipv6_peer(void **state)
{
	struct wbuf b;
	wbuf_init(&b);
	route_monitoring(&b, BMP_PF_V, 0, 0);
	assert_int_equal(feed(&b, 0, NULL), 0);
	check("update 55 bytes asn 4 addpath 0\n"
	      "W 2001:db8::1 AS65001 172.16.0.0/12\n"
	      "A 2001:db8::1 AS65001 10.0.0.0/8 path 65001 4200000000 nh 192.0.2.1\n"
	      "A 2001:db8::1 AS65001 10.1.0.0/16 path 65001 4200000000 nh 192.0.2.1\n");
	wbuf_free(&b);
}

/* A bad message with a sane length is skipped (its offset reported) and decoding goes on. */
static void test_bad_message_skipped(void **state)
{
	struct wbuf b;
	wbuf_init(&b);
	/* 0: a Route Monitoring whose UPDATE length says 200 (message is 6 + 42 + 55 = 103) */
	route_monitoring(&b, 0, 0, 0);
	wbuf_set_u16(&b, 6 + 42 + 16, 200);
	/* 103: an unknown message type 9, 10 bytes */
	size_t at = begin(&b, 9);
	wbuf_u32(&b, 0);
	end(&b, at);
	/* 113: a Peer Up cut inside its per-peer header */
	at = begin(&b, BMP_PEER_UP);
	wbuf_u32(&b, 0);
	end(&b, at);
	/* 123: a good one */
	route_monitoring(&b, 0, 0, 0);
	struct bmp *s;
	assert_int_equal(feed(&b, 0, &s), 0);
	check("error bad-length @48: BGP message length 200 exceeds remaining 55\n"
	      "error bad-type @108: BMP message type 9 unknown (10 bytes skipped)\n"
	      "error truncated @119: BMP message type 3: per-peer header truncated\n"
	      "update 55 bytes asn 4 addpath 0\n"
	      "W 192.0.2.1 AS65001 172.16.0.0/12\n"
	      "A 192.0.2.1 AS65001 10.0.0.0/8 path 65001 4200000000 nh 192.0.2.1\n"
	      "A 192.0.2.1 AS65001 10.1.0.0/16 path 65001 4200000000 nh 192.0.2.1\n");
	assert_int_equal(bmp_counts(s)->errors, 3);
	assert_int_equal(bmp_counts(s)->messages, 4);
	bmp_free(s);
	wbuf_free(&b);
}

/* The framing is lost (version 1, a length of 3): the session is dropped, later input refused. */
static void test_framing_lost(void **state)
{
	struct wbuf b;
	wbuf_init(&b);
	initiation(&b);
	size_t bad = b.len;
	initiation(&b);
	b.p[bad] = 1;
	route_monitoring(&b, 0, 0, 0);
	struct bmp *s;
	assert_int_equal(feed(&b, 0, &s), DM_ERR_FRAMING);
	check("init r1a|FRR 8.4 \n"
	      "input framing @25: BMP version 1, expected 3: framing lost\n");
	struct dm_error err;
	assert_int_equal(bmp_input(s, b.p, b.len, 0, 0, &err), DM_ERR_FRAMING);
	assert_int_equal(err.offset, 25);
	bmp_free(s);

	b.len = 0;
	initiation(&b);
	size_t at = begin(&b, BMP_INITIATION);
	end(&b, at);
	wbuf_set_u32(&b, at + 1, 3);
	assert_int_equal(feed(&b, 1, NULL), DM_ERR_FRAMING);
	check("init r1a|FRR 8.4 \n"
	      "input framing @26: BMP message length 3 impossible: framing lost\n");
	wbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_addpath),
		cmocka_unit_test(test_asn2),
		cmocka_unit_test(test_views),
		cmocka_unit_test(test_ipv6_peer),
		cmocka_unit_test(test_bad_message_skipped),
		cmocka_unit_test(test_framing_lost),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
