/* libFuzzer target: darkmap's bzip2 block decoder (src/io/bz2dec.c), differential against
 * libbz2. Whenever bz2dec accepts a stream, libbz2 must decode the same input to its end (every
 * byte taken, BZ_STREAM_END) and give the same bytes; bz2dec may refuse what libbz2 takes (the
 * block-parallel path then hands it to libbz2), never crash or read out of bounds.
 * Input: a mode byte, then the stream. Mode bit 0 "reseal": most mutations break a CRC, which
 * stops both decoders before anything interesting is compared; so the first block's CRC and the
 * stream CRC are recomputed over what libbz2 output for that block (libbz2 writes a block's
 * bytes before it checks its CRC) and written back, then both decoders run. Seeds:
 * tests/fuzz/seeds/bz2dec (small files made by the bzip2 tool, mode byte 1 in front). */
#include <bzlib.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "io/bz2dec.h"

enum { OUT_CAP = 8 << 20 };

static struct bz2dec *dec;
static uint8_t *lib_out;

/* libbz2 over in: BZ2_bzDecompress's last result; *out_len bytes in lib_out, *left input unused. */
static int lib_decode(const uint8_t *in, size_t len, size_t *out_len, size_t *left)
{
	bz_stream s;
	memset(&s, 0, sizeof s);
	CHECK(BZ2_bzDecompressInit(&s, 0, 0) == BZ_OK);
	s.next_in = (char *)in;
	s.avail_in = (unsigned)len;
	s.next_out = (char *)lib_out;
	s.avail_out = OUT_CAP;
	int r;
	do
		r = BZ2_bzDecompress(&s);
	while (r == BZ_OK && s.avail_out > 0 && s.avail_in > 0);
	*out_len = OUT_CAP - s.avail_out;
	*left = s.avail_in;
	BZ2_bzDecompressEnd(&s);
	return r;
}

/* CRC-32 MSB first, poly 0x04c11db7, bit by bit (independent of bz2dec's tables) */
static uint32_t crc_bits(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= (uint32_t)p[i] << 24;
		for (int k = 0; k < 8; k++)
			c = c & 0x80000000u ? c << 1 ^ 0x04c11db7u : c << 1;
	}
	return ~c;
}

static unsigned get_bit(const uint8_t *p, size_t bit) { return p[bit >> 3] >> (7 - (bit & 7)) & 1; }

static void put32(uint8_t *p, size_t bit, uint32_t v)
{
	for (int k = 0; k < 32; k++, bit++) {
		uint8_t m = (uint8_t)(0x80 >> (bit & 7));
		p[bit >> 3] = (uint8_t)((v >> (31 - k) & 1) ? p[bit >> 3] | m : p[bit >> 3] & ~m);
	}
}

/* writes the CRC of libbz2's output of the first block into the block header and after the
 * first end-of-stream magic found past it */
static void reseal(uint8_t *in, size_t len)
{
	static const uint8_t blk[6] = { 0x31, 0x41, 0x59, 0x26, 0x53, 0x59 };
	if (len < 14 || memcmp(in + 4, blk, 6))
		return;
	size_t n, left;
	int r = lib_decode(in, len, &n, &left);
	if (r != BZ_DATA_ERROR && r != BZ_STREAM_END)
		return;
	uint32_t crc = crc_bits(lib_out, n);
	put32(in, 80, crc);
	uint64_t w = 0;
	for (size_t bit = 80; bit < len * 8; bit++) {
		w = (w << 1 | get_bit(in, bit)) & 0xffffffffffffULL;
		if (w == 0x177245385090ULL && bit + 33 <= len * 8) {
			put32(in, bit + 1, crc);
			return;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 100000)
		return 0;
	if (!dec) {
		dec = bz2dec_new();
		lib_out = malloc(OUT_CAP);
		CHECK(dec && lib_out);
	}
	unsigned mode = data[0];
	size_t len = size - 1;
	uint8_t *in = malloc(len ? len : 1);
	CHECK(in);
	memcpy(in, data + 1, len);
	if (mode & 1)
		reseal(in, len);
	struct bz2dec_out o = { NULL, 0, 0, OUT_CAP };
	int rc = bz2dec_stream(dec, in, len, &o);
	CHECK(rc <= 0 && rc >= BZ2DEC_ENOMEM);
	if (rc == BZ2DEC_OK) {
		size_t n, left;
		int r = lib_decode(in, len, &n, &left);
		CHECK(r == BZ_STREAM_END);
		CHECK(left == 0);
		CHECK(n == o.len);
		CHECK(n == 0 || !memcmp(lib_out, o.buf, n));
	} else {
		CHECK(o.len == 0);
	}
	free(o.buf);
	free(in);
	return 0;
}
