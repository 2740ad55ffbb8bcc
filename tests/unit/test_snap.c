/* Exact partition snapshots (src/cluster/snap.c, src/rib/rib_snap.c, src/signal/signal_snap.c):
 * a partition fed messages A then B gives, barrier by barrier, the same ROWS messages byte for
 * byte as one fed A, snapshotted, freed, loaded from the snapshot into a new partition, then fed
 * B; for a snapshot after every barrier of a run that has a RIB load, announcements, withdrawals,
 * a peer session going down and up, an ADD-PATH peer, collector records and IPv6. The reference is the
 * uninterrupted partition itself (the cluster's exactness tests tie it to the single process).
 * And the loader refuses truncated, corrupted and foreign snapshots with an error code. */
#include "testutil.h"

#include "base/snapbuf.h"
#include "bgp/bgp.h"
#include "cluster/cluster_impl.h"

enum { NPEER = 6, BIN = 60, T0 = 1700000040 };

struct msgs {
	struct cl_buf *m;
	size_t n, cap;
};

static struct cl_buf *next(struct msgs *s)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->m = realloc(s->m, s->cap * sizeof *s->m);
		assert_non_null(s->m);
	}
	struct cl_buf *b = &s->m[s->n++];
	memset(b, 0, sizeof *b);
	return b;
}

static void put_ip(struct cl_buf *b, uint8_t afi, const uint8_t *a16)
{
	cb_u8(b, afi);
	cb_bytes(b, a16, 16);
}

static void peer_ip(int i, uint8_t out[16])
{
	memset(out, 0, 16);
	out[0] = 192;
	out[1] = 0;
	out[2] = 2;
	out[3] = (uint8_t)(1 + i);
}

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

/* An element: type, time, peer, prefix (v6: 2001:db8:X::/48 or /32, v4: 10.X.Y.0/len), and for
 * announcements a path of 2-3 ASNs ending in an origin of a few. */
static void elem(struct msgs *s, char type, int64_t ts, int peer, int v6, uint32_t x, uint8_t len, int path,
                 uint16_t olds, uint16_t news)
{
	struct cl_buf *b = next(s);
	uint8_t ip[16], pfx[16] = { 0 };
	peer_ip(peer, ip);
	cb_u8(b, CL_M_ELEM);
	cb_u32(b, 0);
	cb_u8(b, (uint8_t)type);
	cb_i64(b, ts);
	cb_u32(b, 0);
	put_ip(b, DM_AFI_IPV4, ip);
	cb_u32(b, 64500 + (uint32_t)peer);
	if (type == DM_ELEM_STATE) {
		cb_u8(b, 0);
		cb_u8(b, 0);
	} else if (v6) {
		pfx[0] = 0x20;
		pfx[1] = 0x01;
		pfx[2] = 0x0d;
		pfx[3] = 0xb8;
		pfx[4] = (uint8_t)(x >> 8);
		pfx[5] = (uint8_t)x;
		cb_u8(b, DM_AFI_IPV6);
		cb_u8(b, len);
	} else {
		pfx[0] = 10;
		pfx[1] = (uint8_t)(x >> 8);
		pfx[2] = (uint8_t)x;
		cb_u8(b, DM_AFI_IPV4);
		cb_u8(b, len);
	}
	cb_bytes(b, pfx, 16);
	/* peer 5 is an ADD-PATH session (path ids 1 and 2): the RIB's path lists are state too */
	cb_u32(b, peer == 5 && type != DM_ELEM_STATE ? 1 + (uint32_t)(path % 2) : 0);
	cb_u8(b, peer == 5 && type != DM_ELEM_STATE);
	cb_u16(b, olds);
	cb_u16(b, news);
	int attrs = type == DM_ELEM_RIB || type == DM_ELEM_ANNOUNCE;
	cb_u8(b, (uint8_t)attrs);
	if (!attrs)
		return;
	uint32_t asns[3] = { 64500 + (uint32_t)peer, 3356 + (uint32_t)(path % 3), 65000 + (uint32_t)(path % 5) };
	uint8_t n = (uint8_t)(2 + path % 2);
	if (n == 2)
		asns[1] = asns[2];
	cb_u64(b, 1ull << BGP_ATTR_ORIGIN | 1ull << BGP_ATTR_AS_PATH);
	cb_u8(b, 0);
	cb_u8(b, 4);
	/* the block the RIB keys sets by: ORIGIN IGP and the path, as a router sends them */
	uint8_t raw[64];
	size_t rl = 0;
	raw[rl++] = 0x40, raw[rl++] = 1, raw[rl++] = 1, raw[rl++] = 0;
	raw[rl++] = 0x40, raw[rl++] = 2, raw[rl++] = (uint8_t)(2 + 4 * n), raw[rl++] = 2, raw[rl++] = n;
	for (int i = 0; i < n; i++)
		for (int k = 3; k >= 0; k--)
			raw[rl++] = (uint8_t)(asns[i] >> (8 * k));
	cb_u32(b, (uint32_t)rl);
	cb_bytes(b, raw, rl);
	cb_u16(b, 1);
	cb_u8(b, 2);
	cb_u8(b, n);
	for (int i = 0; i < n; i++)
		cb_u32(b, asns[i]);
}

static void barrier(struct msgs *s, uint32_t seq, char kind, int64_t t)
{
	struct cl_buf *b = next(s);
	cb_u8(b, CL_M_BARRIER);
	cb_u32(b, seq);
	cb_u8(b, (uint8_t)kind);
	cb_i64(b, t);
}

static void record(struct msgs *s, int64_t t)
{
	struct cl_buf *b = next(s);
	cb_u8(b, CL_M_RECORD);
	cb_u32(b, 0);
	cb_i64(b, t);
}

/* The run: collector, peers, a RIB of 60 IPv4 and 12 IPv6 prefixes at each peer (some
 * peers without some), the start barrier, then 14 bins of updates with a record each, peer 2
 * going down in bin 5 and up again in bin 8, a time barrier per bin, the finish. */
static void make_run(struct msgs *s)
{
	struct cl_buf *b = next(s);
	cb_u8(b, CL_M_COLLECTOR);
	cb_u16(b, 5);
	cb_bytes(b, "rrc00", 5);
	for (int i = 0; i < NPEER; i++) {
		uint8_t ip[16];
		peer_ip(i, ip);
		b = next(s);
		cb_u8(b, CL_M_PEER);
		cb_u32(b, 0);
		put_ip(b, DM_AFI_IPV4, ip);
		cb_u32(b, 64500 + (uint32_t)i);
	}
	for (int i = 0; i < NPEER; i++)
		for (uint32_t x = 0; x < 72; x++)
			if (i < 4 || rnd(4))
				elem(s, DM_ELEM_RIB, T0 - 10, i, x >= 60, x, x >= 60 ? 48 : (uint8_t)(16 + x % 9), (int)x, 0,
				     0);
	uint32_t seq = 0;
	barrier(s, seq++, CL_B_START, T0 - 10);
	barrier(s, seq++, CL_B_TIME, T0);   /* closes the RIB's bin, as the cut would */
	for (int bin = 0; bin < 14; bin++) {
		int64_t t0 = T0 + (int64_t)bin * BIN;
		record(s, t0 + 1);
		if (bin == 5)
			elem(s, DM_ELEM_STATE, t0 + 2, 2, 0, 0, 0, 0, 6, 1);
		if (bin == 8)
			elem(s, DM_ELEM_STATE, t0 + 2, 2, 0, 0, 0, 0, 1, 6);
		for (int k = 0; k < 40; k++) {
			int peer = (int)rnd(NPEER);
			if ((bin >= 5 && bin < 8) && peer == 2)
				continue;
			uint32_t x = rnd(80);   /* 72 ... 79: prefixes new to the RIB */
			int v6 = x >= 60 && x < 72;
			char type = rnd(3) ? DM_ELEM_WITHDRAW : DM_ELEM_ANNOUNCE;
			if (bin >= 10)   /* the withdrawn come back */
				type = DM_ELEM_ANNOUNCE;
			elem(s, type, t0 + 3 + k, peer, v6, x, v6 ? 48 : (uint8_t)(16 + x % 9), (int)rnd(7), 0, 0);
		}
		barrier(s, seq++, CL_B_TIME, t0 + BIN);
	}
	barrier(s, seq, CL_B_FINISH, T0 + 14 * BIN);
}

static void part_opts(struct pl_opts *o)
{
	pl_opts_default(o, "test");
	o->no_geo = 1;
	o->quiet = 1;
	o->sig.bin = BIN;
	o->sig.ff_rule = SIG_FF_COUNT;
	o->sig.ff_count[0] = 50;
	o->sig.ff_count[1] = 10;
}

/* Both phases of a barrier with the partition's own sizes as the sums (one partition); the
 * ROWS message appended to log. */
static void close_barrier(struct cl_part *p, const struct cl_barrier *bar, struct cl_buf *log)
{
	struct cl_buf sz = { 0 }, sums = { 0 }, rows = { 0 };
	struct dm_error err;
	cl_part_sizes(p, bar, &sz);
	/* SIZES: kind, seq, part, np, sizes, routes; SUMS: kind, seq, np, sizes, routes */
	cb_u8(&sums, CL_M_SUMS);
	cb_bytes(&sums, sz.p + 1, 4);
	cb_bytes(&sums, sz.p + 9, sz.n - 9);
	assert_int_equal(cl_part_close(p, bar, sums.p, sums.n, &rows, &err), 0);
	cb_bytes(log, rows.p, rows.n);
	cl_buf_free(&sz);
	cl_buf_free(&sums);
	cl_buf_free(&rows);
}

/* Feeds messages [from, to) to p; after the barrier at index snap_at (when in range) snapshots
 * p into *snap and stops there, returning the index after it. */
static size_t feed(struct cl_part *p, const struct msgs *s, size_t from, size_t to, size_t snap_at,
                   struct snapbuf *snap, struct cl_buf *log)
{
	for (size_t i = from; i < to; i++) {
		struct cl_barrier bar;
		struct dm_error err;
		int rc = cl_part_apply(p, s->m[i].p, s->m[i].n, &bar, &err);
		assert_true(rc >= 0);
		if (rc == 1) {
			close_barrier(p, &bar, log);
			if (i == snap_at) {
				assert_int_equal(cl_part_snapshot(p, &bar, "1700000000000-7", 7, snap), 0);
				return i + 1;
			}
		}
	}
	return to;
}

static void test_snapshot_exact(void **state)
{
	(void)state;
	struct msgs s = { 0 };
	make_run(&s);
	struct pl_opts o;
	part_opts(&o);
	struct cl_buf ref = { 0 };
	struct cl_part *p = cl_part_new(1, &o, NULL);
	assert_non_null(p);
	feed(p, &s, 0, s.n, SIZE_MAX, NULL, &ref);
	assert_int_equal(cl_part_bad(p), 0);
	cl_part_free(p);
	assert_true(ref.n > 1000);
	/* a snapshot after every barrier but the finish */
	int snaps = 0;
	size_t max_snap = 0;
	for (size_t at = 0; at < s.n; at++) {
		if (s.m[at].p[0] != CL_M_BARRIER || s.m[at].p[5] == CL_B_FINISH)
			continue;
		struct cl_buf log = { 0 };
		struct snapbuf snap = { 0 };
		p = cl_part_new(1, &o, NULL);
		size_t next_i = feed(p, &s, 0, s.n, at, &snap, &log);
		assert_int_equal(next_i, at + 1);
		cl_part_free(p);
		struct cl_snap_info info;
		struct dm_error err;
		p = cl_part_new(1, &o, NULL);
		assert_int_equal(cl_part_restore(p, snap.p, snap.n, &info, &err), 0);
		assert_int_equal(info.part, 1);
		assert_string_equal(info.stream_id, "1700000000000-7");
		assert_int_equal(info.batch, 7);
		/* loaded and written again: the same bytes (nothing of the state is lost in between) */
		struct snapbuf again = { 0 };
		struct cl_barrier bar = { info.seq, 0, info.t };
		assert_int_equal(cl_part_snapshot(p, &bar, info.stream_id, info.batch, &again), 0);
		assert_int_equal(again.n, snap.n);
		assert_memory_equal(again.p, snap.p, snap.n);
		snapbuf_free(&again);
		feed(p, &s, next_i, s.n, SIZE_MAX, NULL, &log);
		assert_int_equal(cl_part_bad(p), 0);
		cl_part_free(p);
		assert_int_equal(log.n, ref.n);
		assert_memory_equal(log.p, ref.p, ref.n);
		if (snap.n > max_snap)
			max_snap = snap.n;
		snapbuf_free(&snap);
		cl_buf_free(&log);
		snaps++;
	}
	assert_int_equal(snaps, 16);   /* the start and 15 time barriers */
	fprintf(stderr, "16 snapshots, the largest %zu bytes; rows %zu bytes identical\n", max_snap, ref.n);
	for (size_t i = 0; i < s.n; i++)
		cl_buf_free(&s.m[i]);
	free(s.m);
	cl_buf_free(&ref);
}

/* Truncated at every 97th length, a byte flipped at every 89th offset, another partition's: each
 * refused with a negative code, never loaded. */
static void test_snapshot_refused(void **state)
{
	(void)state;
	struct msgs s = { 0 };
	make_run(&s);
	struct pl_opts o;
	part_opts(&o);
	struct snapbuf snap = { 0 };
	struct cl_buf log = { 0 };
	struct cl_part *p = cl_part_new(1, &o, NULL);
	size_t at = 0;
	while (s.m[at].p[0] != CL_M_BARRIER || s.m[at].p[5] != CL_B_TIME || at < s.n / 2)
		at++;
	feed(p, &s, 0, s.n, at, &snap, &log);
	cl_part_free(p);
	struct cl_snap_info info;
	struct dm_error err;
	int refused = 0, tried = 0;
	for (size_t n = 0; n < snap.n; n += 97, tried++) {
		p = cl_part_new(1, &o, NULL);
		refused += cl_part_restore(p, snap.p, n, &info, &err) < 0;
		cl_part_free(p);
	}
	uint8_t *bad = malloc(snap.n);
	for (size_t i = 0; i < snap.n; i += 89, tried++) {
		memcpy(bad, snap.p, snap.n);
		bad[i] ^= 0x5a;
		p = cl_part_new(1, &o, NULL);
		refused += cl_part_restore(p, bad, snap.n, &info, &err) < 0;
		cl_part_free(p);
	}
	assert_int_equal(refused, tried);
	p = cl_part_new(2, &o, NULL);
	assert_true(cl_part_restore(p, snap.p, snap.n, &info, &err) < 0);
	assert_non_null(strstr(err.what, "another partition"));
	cl_part_free(p);
	free(bad);
	snapbuf_free(&snap);
	cl_buf_free(&log);
	for (size_t i = 0; i < s.n; i++)
		cl_buf_free(&s.m[i]);
	free(s.m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_exact),
		cmocka_unit_test(test_snapshot_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
