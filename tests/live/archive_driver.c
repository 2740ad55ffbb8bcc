/* Crash test driver for the MRT archive (src/live/archive.c), run by
 * tests/integration/archive_crash.sh:
 *   archive_driver DIR UPDATES PREFIXES [stall]
 * On a synthetic clock starting 2014-12-22 16:01:00 UTC, archives under DIR/crash-test/:
 *  - two STATE_CHANGEs 5 -> 6 (peers 192.0.2.1 AS 65001 and 2001:db8::2 AS 4200000002), then
 *    UPDATES updates from 192.0.2.1, update i (from 0) announcing 100.(i/256%256).(i%256).0/24
 *    with path 65001 65100, next hop 192.0.2.1, 10 ms apart (a flush every 100);
 *  - a RIB snapshot of PREFIXES prefixes 10.(i/256%256).(i%256).0/24, i from 0: 192.0.2.1 holds
 *    each with path 65001 (64512 + i % 1000), 2001:db8::2 the even ones with path 4200000002
 *    65010, next hop 192.0.2.2; time runs 100 ms per clock read during the table (one read
 *    every 256 prefixes), so it is flushed every 2560 prefixes.
 * Prints "flushed RECORDS RIB_RECORDS" after each flush (what a crash may not lose). With
 * `stall`, after the third flush inside the table and 1280 more prefixes (buffered, unflushed) it
 * prints "stalled" and waits to be killed. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "live/archive.h"
#include "mrt/writer.h"
#include "rib/rib.h"

#define T0 1419264060LL   /* 2014-12-22 16:01:00 UTC */

static int64_t now_ms = T0 * 1000;
static int in_table, stall, table_flushes, reads_after;

static int64_t clock_fn(void *arg, uint32_t *usec)
{
	int64_t t = now_ms;
	*usec = (uint32_t)(t % 1000) * 1000;
	if (in_table) {
		now_ms += 100;
		if (stall && table_flushes >= 3 && ++reads_after == 5) {
			printf("stalled\n");
			fflush(stdout);
			for (;;)
				pause();
		}
	}
	return t / 1000;
}

static void on_flush(void *arg, const struct archive_stats *st)
{
	if (in_table)
		table_flushes++;
	printf("flushed %llu %llu\n", (unsigned long long)st->records, (unsigned long long)st->rib_records);
	fflush(stdout);
}

/* ORIGIN IGP, AS_PATH (4-byte) of n ASNs, NEXT_HOP nh. */
static void attrs(struct wbuf *b, const uint32_t *path, int n, const uint8_t nh[4])
{
	static const uint8_t origin[] = { 0x40, 1, 1, 0 };
	wbuf_put(b, origin, sizeof origin);
	wbuf_u8(b, 0x40);
	wbuf_u8(b, 2);
	wbuf_u8(b, (uint8_t)(2 + 4 * n));
	wbuf_u8(b, 2);
	wbuf_u8(b, (uint8_t)n);
	for (int i = 0; i < n; i++)
		wbuf_u32(b, path[i]);
	wbuf_u8(b, 0x40);
	wbuf_u8(b, 3);
	wbuf_u8(b, 4);
	wbuf_put(b, nh, 4);
}

static struct dm_prefix p24(uint8_t a, unsigned i)
{
	struct dm_prefix p = { .afi = DM_AFI_IPV4, .len = 24, .b = { a, (uint8_t)(i >> 8), (uint8_t)i } };
	return p;
}

static uint32_t intern(struct rib *r, struct arena *ar, const uint32_t *path, int n)
{
	static const uint8_t nh[4] = { 192, 0, 2, 2 };
	struct wbuf b;
	wbuf_init(&b);
	attrs(&b, path, n, nh);
	struct bgp_ctx ctx = { .asn_size = 4 };
	struct bgp_attrs at;
	struct cur c = cur_make(b.p, b.len);
	bgp_attrs_decode(&c, &ctx, ar, &at, NULL);
	uint32_t id = rib_attr_intern(r, &at);
	wbuf_free(&b);
	return id;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: archive_driver DIR UPDATES PREFIXES [stall]\n");
		return 2;
	}
	unsigned nupd = (unsigned)atoi(argv[2]), npfx = (unsigned)atoi(argv[3]);
	stall = argc > 4 && !strcmp(argv[4], "stall");
	struct archive_opts o;
	archive_opts_default(&o);
	o.dir = argv[1];
	o.name = "crash-test";
	o.clock = clock_fn;
	o.on_flush = on_flush;
	struct dm_error err;
	struct archive *a = archive_open(&o, &err);
	if (!a) {
		fprintf(stderr, "%s\n", err.what);
		return 3;
	}
	struct mrt_session s1 = { .peer_as = 65001, .local_as = 64496, .afi = DM_AFI_IPV4, .as4 = 1 };
	struct mrt_session s2 = { .peer_as = 4200000002u, .local_as = 64496, .afi = DM_AFI_IPV6, .as4 = 1 };
	dm_ip_parse("192.0.2.1", &s1.peer_ip);
	dm_ip_parse("192.0.2.254", &s1.local_ip);
	dm_ip_parse("2001:db8::2", &s2.peer_ip);
	dm_ip_parse("2001:db8::fe", &s2.local_ip);
	uint32_t usec;
	int64_t t = clock_fn(NULL, &usec);
	int rc = archive_state(a, t, usec, &s1, 5, 6, &err) || archive_state(a, t, usec, &s2, 5, 6, &err);
	struct wbuf m;
	wbuf_init(&m);
	static const uint32_t upath[] = { 65001, 65100 };
	static const uint8_t nh1[4] = { 192, 0, 2, 1 };
	for (unsigned i = 0; i < nupd && !rc; i++) {
		now_ms += 10;
		t = clock_fn(NULL, &usec);
		m.len = 0;
		for (int k = 0; k < 16; k++)
			wbuf_u8(&m, 0xff);
		wbuf_u16(&m, 0);
		wbuf_u8(&m, BGP_MSG_UPDATE);
		wbuf_u16(&m, 0);   /* no withdrawn routes */
		size_t al = m.len;
		wbuf_u16(&m, 0);
		attrs(&m, upath, 2, nh1);
		wbuf_set_u16(&m, al, (uint16_t)(m.len - al - 2));
		struct dm_prefix p = p24(100, i);
		bgp_prefix_encode(&m, &p);
		wbuf_set_u16(&m, 16, (uint16_t)m.len);
		rc = archive_message(a, t, usec, &s1, m.p, m.len, &err) || archive_tick(a, &err);
	}
	wbuf_free(&m);
	struct rib *r = rib_new();
	struct arena ar;
	arena_init(&ar, 1 << 20);
	uint32_t coll = rib_collector_find_or_add(r, "crash-test");
	uint32_t p1 = rib_peer_find_or_add(r, coll, &s1.peer_ip, s1.peer_as);
	uint32_t p2 = rib_peer_find_or_add(r, coll, &s2.peer_ip, s2.peer_as);
	static const uint32_t path2[] = { 4200000002u, 65010 };
	uint32_t x2 = intern(r, &ar, path2, 2);
	for (unsigned i = 0; i < npfx && !rc; i++) {
		uint32_t path1[] = { 65001, 64512 + i % 1000 };
		arena_reset(&ar);
		uint32_t x1 = intern(r, &ar, path1, 2);   /* the reference goes to the route */
		struct dm_prefix p = p24(10, i);
		uint32_t pfx = rib_prefix_find_or_add(r, &p);
		rib_route_set(r, p1, pfx, 0, x1);
		if (i % 2 == 0) {
			rib_attr_ref(r, x2);
			rib_route_set(r, p2, pfx, 0, x2);
		}
	}
	rib_attr_unref(r, x2);
	archive_rib_source(a, r, coll);
	in_table = 1;
	if (!rc)
		rc = archive_rib_snapshot(a, &err);
	in_table = 0;
	if (rc)
		fprintf(stderr, "archive: %s\n", err.what);
	if (archive_close(a, &err)) {
		fprintf(stderr, "archive close: %s\n", err.what);
		rc = 1;
	}
	arena_free(&ar);
	rib_free(r);
	return rc ? 1 : 0;
}
