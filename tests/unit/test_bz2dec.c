/* darkmap's bzip2 block decoder (src/io/bz2dec.c) on hand-made inputs. Each input is made here,
 * compressed by the `bzip2` tool (an independent encoder: the reference implementation), and
 * must decode to exactly the bytes given to it; the tool's own decompression (`bzip2 -dc`) is
 * checked against the same bytes, so the expected output comes from outside darkmap. Damaged
 * streams (a block CRC, the stream CRC, a cut) must give an error and no output. */
#include "testutil.h"

#include <unistd.h>

#include "io/bz2dec.h"

struct buf {
	uint8_t *p;
	size_t n;
};

static struct buf read_path(const char *path)
{
	struct buf b = { NULL, 0 };
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t cap = 1 << 16;
	b.p = malloc(cap);
	size_t k;
	while ((k = fread(b.p + b.n, 1, cap - b.n, f)) > 0) {
		b.n += k;
		if (b.n == cap) {
			cap *= 2;
			b.p = realloc(b.p, cap);
			assert_non_null(b.p);
		}
	}
	fclose(f);
	return b;
}

/* data compressed by `bzip2 -LEVEL`; `bzip2 -dc` of it checked equal to data */
static struct buf bzip2_tool(const uint8_t *data, size_t n, int level)
{
	char raw[] = "/tmp/test_bz2dec.XXXXXX", cmd[256], zpath[64], back[64];
	int fd = mkstemp(raw);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
	snprintf(zpath, sizeof zpath, "%s.bz2", raw);
	snprintf(back, sizeof back, "%s.back", raw);
	snprintf(cmd, sizeof cmd, "bzip2 -%d -c %s > %s && bzip2 -dc %s > %s", level, raw, zpath, zpath, back);
	assert_int_equal(system(cmd), 0);
	struct buf z = read_path(zpath), b = read_path(back);
	assert_int_equal(b.n, n);
	assert_memory_equal(b.p, data, n);
	free(b.p);
	unlink(raw);
	unlink(zpath);
	unlink(back);
	return z;
}

/* Decodes z with a fresh decoder: its return code; on success the bytes must equal want. */
static int decode(const struct buf *z, const uint8_t *want, size_t n)
{
	struct bz2dec *d = bz2dec_new();
	assert_non_null(d);
	struct bz2dec_out o = { NULL, 0, 0, 64u << 20 };
	int rc = bz2dec_stream(d, z->p, z->n, &o);
	if (rc == BZ2DEC_OK) {
		assert_int_equal(o.len, n);
		if (n)
			assert_memory_equal(o.buf, want, n);
	} else {
		assert_int_equal(o.len, 0);   /* nothing handed out on an error */
	}
	free(o.buf);
	bz2dec_free(d);
	return rc;
}

static void round_trip(const uint8_t *data, size_t n, int level)
{
	struct buf z = bzip2_tool(data, n, level);
	assert_int_equal(decode(&z, data, n), BZ2DEC_OK);
	free(z.p);
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint8_t next_byte(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint8_t)(rng >> 32);
}

/* no block at all (an empty file), and blocks of 1, 2 and 3 bytes */
static void test_tiny(void **state)
{
	(void)state;
	round_trip((const uint8_t *)"", 0, 9);
	round_trip((const uint8_t *)"a", 1, 9);
	round_trip((const uint8_t *)"ab", 2, 1);
	round_trip((const uint8_t *)"aaa", 3, 5);
}

/* one byte repeated: every length around the run-length edges (4 equal bytes and a count byte
 * 0..255, i.e. runs of 4..259), then a run longer than a level-1 block */
static void test_one_byte_runs(void **state)
{
	(void)state;
	static uint8_t x[300000];
	memset(x, 'x', sizeof x);
	const size_t lens[] = { 4, 5, 8, 9, 258, 259, 260, 262, 263, 264, 518, 519, 520, 100000, 300000 };
	for (size_t i = 0; i < sizeof lens / sizeof *lens; i++)
		round_trip(x, lens[i], lens[i] > 1000 ? 1 : 9);
	/* runs of every length 1..270 of alternating bytes, in one block */
	static uint8_t y[40000];
	size_t n = 0;
	for (unsigned r = 1; r <= 270 && n + r <= sizeof y; r++) {
		memset(y + n, r & 1 ? 0 : 0xff, r);
		n += r;
	}
	round_trip(y, n, 9);
}

/* all 256 byte values: in order, in runs of 4, and shuffled */
static void test_all_bytes(void **state)
{
	(void)state;
	static uint8_t x[256 * 16];
	for (size_t i = 0; i < sizeof x; i++)
		x[i] = (uint8_t)i;
	round_trip(x, 256, 9);
	round_trip(x, sizeof x, 9);
	for (size_t i = 0; i < sizeof x; i++)
		x[i] = (uint8_t)(i / 4);
	round_trip(x, 1024, 9);
	for (size_t i = sizeof x - 1; i > 0; i--) {
		size_t j = next_byte() % (i + 1);
		uint8_t t = x[i];
		x[i] = x[j];
		x[j] = t;
	}
	round_trip(x, sizeof x, 9);
}

/* random bytes at level 1 (three blocks of 100 000) and level 9 (two blocks, 900 000 and the
 * rest); random text with long codes (a skewed alphabet: Huffman codes past 10 bits) */
static void test_random(void **state)
{
	(void)state;
	size_t n = 1200000;
	uint8_t *x = malloc(n);
	assert_non_null(x);
	for (size_t i = 0; i < n; i++)
		x[i] = next_byte();
	round_trip(x, 250000, 1);
	round_trip(x, n, 9);
	for (size_t i = 0; i < n; i++) {
		uint8_t r = next_byte();
		unsigned z = r ? (unsigned)__builtin_ctz(r) : 8;   /* P(byte k) ~ 2^-k: 9 lengths */
		x[i] = (uint8_t)('a' + z + (next_byte() < 8 ? 10 + next_byte() % 100 : 0));
	}
	round_trip(x, 500000, 9);
	free(x);
}

/* periodic blocks (a piece repeated, whole pieces in one block): the inverse BWT's T vector then
 * splits into one cycle per copy of the piece, and the block is the cycle through origPtr
 * repeated (bz2dec.c walk: the segments of every cycle are walked, the one through origPtr copied
 * out, then repeated). Pieces of 3 bytes (most cycles hold no segment start), 1000 (each cycle
 * about one segment) and 5000 bytes (each cycle cut into about five). */
static void test_periodic(void **state)
{
	(void)state;
	size_t n = 750000;
	uint8_t *x = malloc(n);
	assert_non_null(x);
	const size_t piece[] = { 3, 1000, 5000 };
	for (size_t k = 0; k < sizeof piece / sizeof *piece; k++) {
		for (size_t i = 0; i < piece[k]; i++)
			x[i] = k == 0 ? (uint8_t)("abc"[i]) : next_byte();
		for (size_t i = piece[k]; i < n; i++)
			x[i] = x[i - piece[k]];
		round_trip(x, k == 0 ? 600000 : k == 1 ? 700000 : 750000, 9);
	}
	free(x);
}

/* a flipped bit in the block CRC or the stream CRC, a flipped byte inside the data, a cut, and
 * bytes after the stream: each an error, no output */
static void test_damaged(void **state)
{
	(void)state;
	size_t n = 50000;
	uint8_t *x = malloc(n);
	assert_non_null(x);
	for (size_t i = 0; i < n; i++)
		x[i] = (uint8_t)("the quick brown fox "[i % 20] + (i % 1000 == 0));
	struct buf z = bzip2_tool(x, n, 9);
	assert_int_equal(decode(&z, x, n), BZ2DEC_OK);
	/* block CRC: bytes 4..9 are the block magic, 10..13 its CRC */
	z.p[11] ^= 0x10;
	assert_int_equal(decode(&z, x, n), BZ2DEC_ECRC);
	z.p[11] ^= 0x10;
	/* stream CRC: the last 4 bytes (plus padding bits) hold it after the 48-bit magic */
	z.p[z.n - 2] ^= 0x01;
	assert_int_not_equal(decode(&z, x, n), BZ2DEC_OK);
	z.p[z.n - 2] ^= 0x01;
	z.p[z.n / 2] ^= 0x55;
	assert_int_not_equal(decode(&z, x, n), BZ2DEC_OK);
	z.p[z.n / 2] ^= 0x55;
	size_t full = z.n;
	for (size_t cut = 0; cut < full; cut += full / 7 + 1) {
		z.n = cut;
		assert_int_not_equal(decode(&z, x, n), BZ2DEC_OK);
	}
	z.n = full - 1;
	assert_int_equal(decode(&z, x, n), BZ2DEC_ETRUNC);
	z.p = realloc(z.p, full + 1);
	z.p[full] = 0;
	z.n = full + 1;
	assert_int_equal(decode(&z, x, n), BZ2DEC_EDATA);
	z.n = full;
	assert_int_equal(decode(&z, x, n), BZ2DEC_OK);
	free(z.p);
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tiny),
		cmocka_unit_test(test_one_byte_runs),
		cmocka_unit_test(test_all_bytes),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_periodic),
		cmocka_unit_test(test_damaged),
	};
	return cmocka_run_group_tests_name("bz2dec", tests, NULL, NULL);
}
