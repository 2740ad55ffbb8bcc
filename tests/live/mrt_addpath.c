/* Test data for darkmap feed's ADD-PATH path (tests/integration/live_feed_addpath.sh): writes an
 * updates file of BGP4MP_ET MESSAGE_AS4_ADDPATH records (RFC 8050) with the project's MRT writer,
 * UPDATE bytes built here by hand from RFC 4271 / RFC 4760 / RFC 7911:
 *   peer 127.0.0.2 AS 65001 (collector 127.0.0.1 AS 65000), times TS, TS+1, ...
 *   A 10.1.0.0/16 path id 1, AS_PATH 65001 65002, NEXT_HOP 127.0.0.2
 *   A 10.1.0.0/16 path id 2, AS_PATH 65001 65003
 *   A 2001:db8:1::/48 path id 7, AS_PATH 65001 4200000000, MP_REACH next hop 2001:db8::2
 *   W 10.1.0.0/16 path id 1
 * and, with RIBFILE, a TABLE_DUMP_V2 RIB (time TS - 60): PEER_INDEX_TABLE of that one peer, then
 * RIB_IPV4_UNICAST_ADDPATH 10.2.0.0/16 with two entries of it, path id 1 (AS_PATH 65001 65005)
 * and path id 2 (65001 65006), NEXT_HOP 127.0.0.2, ORIGIN IGP.
 *   mrt_addpath FILE [RIBFILE] */
#include <stdio.h>
#include <string.h>

#include "mrt/writer.h"

enum { TS = 1417651200 };   /* 2014-12-04 00:00:00 UTC */

static size_t put32(uint8_t *d, uint32_t v)
{
	d[0] = (uint8_t)(v >> 24);
	d[1] = (uint8_t)(v >> 16);
	d[2] = (uint8_t)(v >> 8);
	d[3] = (uint8_t)v;
	return 4;
}

/* The header around body (marker, length, type 2 UPDATE). */
static size_t frame(uint8_t *m, const uint8_t *body, size_t n)
{
	memset(m, 0xff, 16);
	m[16] = (uint8_t)((19 + n) >> 8);
	m[17] = (uint8_t)(19 + n);
	m[18] = 2;
	memcpy(m + 19, body, n);
	return 19 + n;
}

/* ORIGIN IGP, AS_PATH (one AS_SEQUENCE of 4-byte ASNs), NEXT_HOP when nh */
static size_t attrs(uint8_t *d, const uint32_t *path, int np, const uint8_t *nh)
{
	size_t n = 0;
	d[n++] = 0x40, d[n++] = 1, d[n++] = 1, d[n++] = 0;
	d[n++] = 0x40, d[n++] = 2, d[n++] = (uint8_t)(2 + 4 * np), d[n++] = 2, d[n++] = (uint8_t)np;
	for (int i = 0; i < np; i++)
		n += put32(d + n, path[i]);
	if (nh) {
		d[n++] = 0x40, d[n++] = 3, d[n++] = 4;
		memcpy(d + n, nh, 4);
		n += 4;
	}
	return n;
}

/* an IPv4 announcement of 10.1.0.0/16 with a path id */
static size_t v4_announce(uint8_t *b, uint32_t id, uint32_t last_as)
{
	static const uint8_t nh[4] = { 127, 0, 0, 2 };
	uint32_t path[2] = { 65001, last_as };
	size_t n = 0;
	b[n++] = 0, b[n++] = 0;                     /* no withdrawn routes */
	size_t al = attrs(b + n + 2, path, 2, nh);
	b[n++] = (uint8_t)(al >> 8), b[n++] = (uint8_t)al;
	n += al;
	n += put32(b + n, id);
	b[n++] = 16, b[n++] = 10, b[n++] = 1;
	return n;
}

static int rib(const char *file, const struct mrt_session *s)
{
	struct dm_error err;
	struct mrt_writer *w = mrt_writer_open(file, &err);
	if (!w) {
		fprintf(stderr, "%s: %s\n", file, err.what);
		return 1;
	}
	struct mrt_peer peer = { s->peer_ip, s->peer_as, 0x0a000002 };
	struct mrt_peer_index pi;
	memset(&pi, 0, sizeof pi);
	pi.collector_id = 0x7f000001;
	pi.npeers = pi.declared = 1;
	pi.peers = &peer;
	int rc = mrt_write_peer_index(w, TS - 60, &pi, &err);
	struct wbuf b;
	wbuf_init(&b);
	struct dm_prefix p = { DM_AFI_IPV4, 16, { 10, 2 } };
	static const uint8_t nh[4] = { 127, 0, 0, 2 };
	size_t start = mrt_rib_begin(&b, TS - 60, 1, 0, &p);
	for (uint32_t id = 1; id <= 2; id++) {
		uint32_t path[2] = { 65001, 65004 + id };
		uint8_t a[64];
		mrt_rib_entry(&b, 1, 0, TS - 120, id, a, attrs(a, path, 2, nh));
	}
	rc |= mrt_rib_end(&b, start, 2, &err);
	rc |= mrt_write_bytes(w, b.p, b.len, &err);
	wbuf_free(&b);
	if (rc || mrt_writer_close(w, &err)) {
		fprintf(stderr, "%s: %s\n", file, err.what);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: mrt_addpath FILE [RIBFILE]\n");
		return 2;
	}
	struct dm_error err;
	struct mrt_writer *w = mrt_writer_open(argv[1], &err);
	if (!w) {
		fprintf(stderr, "%s: %s\n", argv[1], err.what);
		return 1;
	}
	struct mrt_session s;
	memset(&s, 0, sizeof s);
	s.peer_as = 65001;
	s.local_as = 65000;
	s.afi = DM_AFI_IPV4;
	dm_ip_parse("127.0.0.2", &s.peer_ip);
	dm_ip_parse("127.0.0.1", &s.local_ip);
	s.as4 = 1;
	s.addpath = 1;
	uint8_t body[512], m[600];
	size_t n, t = 0;
	int rc = 0;

	n = v4_announce(body, 1, 65002);
	rc |= mrt_write_message(w, TS + (uint32_t)t++, 0, &s, m, frame(m, body, n), &err);
	n = v4_announce(body, 2, 65003);
	rc |= mrt_write_message(w, TS + (uint32_t)t++, 0, &s, m, frame(m, body, n), &err);

	/* IPv6 through MP_REACH_NLRI (RFC 4760 §3), its NLRI with a path id (RFC 7911 §3) */
	uint32_t path6[2] = { 65001, 4200000000u };
	n = 0;
	body[n++] = 0, body[n++] = 0;
	size_t at = n;
	n += 2;
	uint8_t *mp = body + n;
	size_t k = 0;
	mp[k++] = 0x80, mp[k++] = 14, mp[k++] = 0;  /* length below */
	mp[k++] = 0, mp[k++] = 2, mp[k++] = 1, mp[k++] = 16;
	static const uint8_t nh6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };
	memcpy(mp + k, nh6, 16);
	k += 16;
	mp[k++] = 0;                                /* reserved */
	k += put32(mp + k, 7);
	mp[k++] = 48, mp[k++] = 0x20, mp[k++] = 0x01, mp[k++] = 0x0d, mp[k++] = 0xb8, mp[k++] = 0, mp[k++] = 1;
	mp[2] = (uint8_t)(k - 3);
	n += k;
	n += attrs(body + n, path6, 2, NULL);
	body[at] = (uint8_t)((n - at - 2) >> 8);
	body[at + 1] = (uint8_t)(n - at - 2);
	rc |= mrt_write_message(w, TS + (uint32_t)t++, 0, &s, m, frame(m, body, n), &err);

	/* withdraw 10.1.0.0/16 path id 1 */
	n = 0;
	body[n++] = 0, body[n++] = 4 + 3;
	n += put32(body + n, 1);
	body[n++] = 16, body[n++] = 10, body[n++] = 1;
	body[n++] = 0, body[n++] = 0;
	rc |= mrt_write_message(w, TS + (uint32_t)t++, 0, &s, m, frame(m, body, n), &err);

	if (rc || mrt_writer_close(w, &err)) {
		fprintf(stderr, "%s: %s\n", argv[1], err.what);
		return 1;
	}
	return argc == 3 ? rib(argv[2], &s) : 0;
}
