/* libFuzzer target: the partition snapshot loader (src/cluster/snap.c cl_part_restore, with
 * rib_snap_read and sig_snap_read under it), from any bytes. The CRC-32 of the body would turn
 * nearly every mutation away at the header, so the target writes the body's true length and CRC
 * into the header first: the fuzzer reaches the body decoder. Two ways in (first byte): the
 * input is the snapshot itself, or the input edits (truncation, XORed bytes) a real snapshot of
 * a small partition the target makes at start (peers, routes in both families, a bin closed),
 * so that mutations start deep inside valid state. Nothing may crash, leak or read out of
 * bounds; a snapshot that loads must write back to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/snapbuf.h"
#include "bgp/bgp.h"
#include "cluster/cluster_impl.h"
#include "fuzz_util.h"

static struct pl_opts opts;
static struct snapbuf real;

static void apply(struct cl_part *p, struct cl_buf *b)
{
	struct cl_barrier bar;
	struct dm_error err;
	if (cl_part_apply(p, b->p, b->n, &bar, &err) == 1) {
		struct cl_buf sz = { 0 }, sums = { 0 }, rows = { 0 };
		cl_part_sizes(p, &bar, &sz);
		cb_u8(&sums, CL_M_SUMS);
		cb_bytes(&sums, sz.p + 1, 4);
		cb_bytes(&sums, sz.p + 9, sz.n - 9);
		cl_part_close(p, &bar, sums.p, sums.n, &rows, &err);
		if (bar.kind == CL_B_TIME)
			cl_part_snapshot(p, &bar, "1-0", 1, &real);
		cl_buf_free(&sz);
		cl_buf_free(&sums);
		cl_buf_free(&rows);
	}
	cb_reset(b);
}

static void elem(struct cl_part *p, struct cl_buf *b, char type, int peer, int v6, uint8_t x, uint32_t origin)
{
	uint8_t ip[16] = { 192, 0, 2, (uint8_t)(1 + peer) }, pfx[16] = { 10, x };
	if (v6)
		pfx[0] = 0x20, pfx[1] = 0x01, pfx[2] = 0x0d, pfx[3] = 0xb8, pfx[4] = x;
	cb_u8(b, CL_M_ELEM);
	cb_u32(b, 0);
	cb_u8(b, (uint8_t)type);
	cb_i64(b, 1700000000 + x);
	cb_u32(b, 0);
	cb_u8(b, DM_AFI_IPV4);
	cb_bytes(b, ip, 16);
	cb_u32(b, 64500 + (uint32_t)peer);
	cb_u8(b, v6 ? DM_AFI_IPV6 : DM_AFI_IPV4);
	cb_u8(b, v6 ? 48 : 16);
	cb_bytes(b, pfx, 16);
	cb_u32(b, 0);
	cb_u8(b, 0);
	cb_u16(b, 0);
	cb_u16(b, 0);
	cb_u8(b, type != DM_ELEM_WITHDRAW);
	if (type != DM_ELEM_WITHDRAW) {
		uint8_t raw[] = { 0x40, 1, 1, 0, 0x40, 2, 10, 2, 2, 0, 0, 0xfb, 0xf4, (uint8_t)(origin >> 24),
		                  (uint8_t)(origin >> 16), (uint8_t)(origin >> 8), (uint8_t)origin };
		raw[12] = (uint8_t)(0xf4 + peer);
		cb_u64(b, 1ull << BGP_ATTR_ORIGIN | 1ull << BGP_ATTR_AS_PATH);
		cb_u8(b, 0);
		cb_u8(b, 4);
		cb_u32(b, sizeof raw);
		cb_bytes(b, raw, sizeof raw);
		cb_u16(b, 1);
		cb_u8(b, 2);
		cb_u8(b, 2);
		cb_u32(b, 64500 + (uint32_t)peer);
		cb_u32(b, origin);
	}
	apply(p, b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	pl_opts_default(&opts, "fuzz");
	opts.no_geo = 1;
	opts.quiet = 1;
	opts.sig.bin = 60;
	opts.sig.ff_rule = SIG_FF_COUNT;
	opts.sig.ff_count[0] = opts.sig.ff_count[1] = 2;
	struct cl_part *p = cl_part_new(1, &opts, NULL);
	struct cl_buf b = { 0 };
	cb_u8(&b, CL_M_COLLECTOR);
	cb_u16(&b, 3);
	cb_bytes(&b, "rc0", 3);
	apply(p, &b);
	for (int i = 0; i < 3; i++) {
		uint8_t ip[16] = { 192, 0, 2, (uint8_t)(1 + i) };
		cb_u8(&b, CL_M_PEER);
		cb_u32(&b, 0);
		cb_u8(&b, DM_AFI_IPV4);
		cb_bytes(&b, ip, 16);
		cb_u32(&b, 64500 + (uint32_t)i);
		apply(p, &b);
	}
	for (int i = 0; i < 3; i++)
		for (uint8_t x = 0; x < 6; x++)
			elem(p, &b, DM_ELEM_RIB, i, x >= 4, x, 65000u + x % 3);
	cb_u8(&b, CL_M_BARRIER);
	cb_u32(&b, 0);
	cb_u8(&b, CL_B_START);
	cb_i64(&b, 1700000000);
	apply(p, &b);
	elem(p, &b, DM_ELEM_WITHDRAW, 1, 0, 2, 0);
	elem(p, &b, DM_ELEM_ANNOUNCE, 2, 0, 3, 65009);
	cb_u8(&b, CL_M_BARRIER);
	cb_u32(&b, 1);
	cb_u8(&b, CL_B_TIME);
	cb_i64(&b, 1700000060);
	apply(p, &b);
	cl_buf_free(&b);
	cl_part_free(p);
	return 0;
}

/* Where the body length and CRC sit (cluster/snap.c's header), or 0 when the header is cut. */
static size_t crc_at(const uint8_t *d, size_t n)
{
	size_t at = 8 + 4 + 4 + 4 + 4 + 8;
	if (n < at + 2)
		return 0;
	uint16_t l;
	memcpy(&l, d + at, 2);
	at += 2 + l + 8;
	return n >= at + 12 ? at : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t *buf;
	size_t n;
	if (data[0] & 1 || !real.n) {
		n = size - 1;
		buf = malloc(n ? n : 1);
		memcpy(buf, data + 1, n);
	} else {
		/* edits to the real snapshot: a 4-byte truncation point, then (4-byte offset, XOR) pairs */
		n = real.n;
		if (size >= 5) {
			uint32_t cut;
			memcpy(&cut, data + 1, 4);
			if (cut < n)
				n = cut;
		}
		buf = malloc(n ? n : 1);
		memcpy(buf, real.p, n);
		for (size_t i = 5; n && i + 5 <= size; i += 5) {
			uint32_t off;
			memcpy(&off, data + i, 4);
			buf[off % n] ^= data[i + 4];
		}
	}
	size_t at = crc_at(buf, n);
	if (at) {
		uint64_t len = n - at - 12;
		uint32_t crc = (uint32_t)crc32_z(0, buf + at + 12, len);
		memcpy(buf + at, &len, 8);
		memcpy(buf + at + 8, &crc, 4);
	}
	struct cl_part *p = cl_part_new(1, &opts, NULL);
	struct cl_snap_info info;
	struct dm_error err;
	if (p && !cl_part_restore(p, buf, n, &info, &err)) {
		struct snapbuf again = { 0 };
		struct cl_barrier bar = { info.seq, 0, info.t };
		CHECK(!cl_part_snapshot(p, &bar, info.stream_id, info.batch, &again));
		CHECK(again.n == n && !memcmp(again.p, buf, n));
		snapbuf_free(&again);
	}
	cl_part_free(p);
	free(buf);
	return 0;
}
