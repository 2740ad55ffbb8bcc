/* bzip2 decoding on one thread: darkmap's block decoder (src/io/bz2dec.c) against libbz2 on the
 * same blocks, as src/io/bz2par.c hands them out: each whole block of a .bz2 file (found by its
 * magic; a file cut short, like the 1 MB heads of RIBs, loses only its last block) is made a
 * one-block stream, and all of them are decoded in memory (no I/O in the timing), outputs
 * compared byte for byte. usage: bz2dec [-o own|lib] [-n REPS] FILE...
 * prints per file: blocks, MB out, CPU seconds (median of REPS, the two decoders alternating)
 * for bz2dec and libbz2, and their ratio.
 * -o own / -o lib: only that decoder, once (for callgrind: instructions of one side alone). */
#include <bzlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/bz2dec.h"

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 20, n = 0;
	uint8_t *b = malloc(cap);
	size_t k;
	while (b && (k = fread(b + n, 1, cap - n, f)) > 0) {
		n += k;
		if (n == cap)
			b = realloc(b, cap *= 2);
	}
	fclose(f);
	*len = n;
	return b;
}

struct blocks {
	uint8_t **in;
	size_t *len, n;
};

static unsigned bit_at(const uint8_t *p, uint64_t b) { return p[b >> 3] >> (7 - (b & 7)) & 1; }

static void put(uint8_t *o, uint64_t *ob, uint64_t v, unsigned n)
{
	while (n--) {
		if (v >> n & 1)
			o[*ob >> 3] |= (uint8_t)(0x80 >> (*ob & 7));
		(*ob)++;
	}
}

/* every block between two magics, as a one-block stream (as bz2par.c makes them) */
static struct blocks cut_blocks(const uint8_t *f, size_t len)
{
	struct blocks bl = { NULL, NULL, 0 };
	uint64_t w = 0, start = 0;
	int open = 0;
	for (uint64_t b = 32; b < (uint64_t)len * 8; b++) {
		w = (w << 1 | bit_at(f, b)) & 0xffffffffffffULL;
		if (w != 0x314159265359ULL && w != 0x177245385090ULL)
			continue;
		uint64_t at = b - 47;
		if (open) {
			uint32_t crc = 0;
			for (int k = 0; k < 32; k++)
				crc = crc << 1 | bit_at(f, start + 48 + (unsigned)k);
			size_t cap = (size_t)((at - start) / 8) + 20;
			uint8_t *o = calloc(1, cap);
			uint64_t ob = 0;
			put(o, &ob, 0x425a68, 24);
			put(o, &ob, f[3], 8);
			for (uint64_t k = start; k < at; k++)
				put(o, &ob, bit_at(f, k), 1);
			put(o, &ob, 0x177245385090ULL, 48);
			put(o, &ob, crc, 32);
			bl.in = realloc(bl.in, (bl.n + 1) * sizeof *bl.in);
			bl.len = realloc(bl.len, (bl.n + 1) * sizeof *bl.len);
			bl.in[bl.n] = o;
			bl.len[bl.n++] = (size_t)((ob + 7) / 8);
		}
		open = w == 0x314159265359ULL;
		start = at;
	}
	return bl;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* libbz2 over one stream: output length, or (size_t)-1 when it does not decode whole. */
static size_t lib_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	bz_stream s;
	memset(&s, 0, sizeof s);
	if (BZ2_bzDecompressInit(&s, 0, 0) != BZ_OK)
		return (size_t)-1;
	s.next_in = (char *)in;
	s.avail_in = (unsigned)len;
	s.next_out = (char *)out;
	s.avail_out = (unsigned)cap;
	int r = BZ2_bzDecompress(&s);
	size_t n = cap - s.avail_out;
	BZ2_bzDecompressEnd(&s);
	return r == BZ_STREAM_END ? n : (size_t)-1;
}

int main(int argc, char **argv)
{
	const char *only = NULL;
	int reps = 5, opt;
	while ((opt = getopt(argc, argv, "o:n:")) != -1) {
		if (opt == 'o')
			only = optarg;
		else if (opt == 'n')
			reps = atoi(optarg);
		else
			return 2;
	}
	if (reps < 1 || reps > 99)
		return 2;
	struct bz2dec *d = bz2dec_new();
	if (!d)
		return 1;
	if (!only)
		printf("%-44s %6s %8s %9s %9s %7s\n", "file", "blocks", "MB_out", "bz2dec_s", "libbz2_s", "x_lib");
	for (int a = optind; a < argc; a++) {
		size_t len;
		uint8_t *f = slurp(argv[a], &len);
		if (!f || len < 4)
			return 1;
		struct blocks bl = cut_blocks(f, len);
		size_t cap = 64u << 20;
		uint8_t *ref = malloc(cap);
		struct bz2dec_out o = { NULL, 0, 0, cap };
		double t_own[99], t_lib[99];
		size_t total = 0;
		int same = 1;
		for (int r = 0; r < (only ? 1 : reps); r++) {
			double t0 = cpu_now();
			if (!only || !strcmp(only, "own")) {
				for (size_t i = 0; i < bl.n; i++) {
					o.len = 0;
					if (bz2dec_stream(d, bl.in[i], bl.len[i], &o) != BZ2DEC_OK)
						same = 0;
				}
			}
			double t1 = cpu_now();
			total = 0;
			if (!only || !strcmp(only, "lib")) {
				for (size_t i = 0; i < bl.n; i++) {
					size_t k = lib_decode(bl.in[i], bl.len[i], ref, cap);
					if (k == (size_t)-1) {
						same = 0;
						continue;
					}
					total += k;
					/* the check on the first round only (outside the timing of later ones) */
					if (r == 0 && !only) {
						o.len = 0;
						if (bz2dec_stream(d, bl.in[i], bl.len[i], &o) != BZ2DEC_OK || o.len != k ||
						    memcmp(o.buf, ref, k))
							same = 0;
					}
				}
			}
			double t2 = cpu_now();
			t_own[r] = t1 - t0;
			t_lib[r] = t2 - t1;
		}
		if (only) {
			printf("%s: %zu blocks (%s)\n", argv[a], bl.n, only);
		} else {
			/* round 0 of libbz2 includes the check: drop it when there are more */
			int from = reps > 1;
			qsort(t_own + from, (size_t)(reps - from), sizeof *t_own, cmp_double);
			qsort(t_lib + from, (size_t)(reps - from), sizeof *t_lib, cmp_double);
			double mo = t_own[from + (reps - from) / 2], ml = t_lib[from + (reps - from) / 2];
			printf("%-44s %6zu %8.2f %9.4f %9.4f %7.3f%s\n", argv[a], bl.n, total / 1e6, mo, ml, mo / ml,
			       same ? "" : "  DIFFERENT");
		}
		for (size_t i = 0; i < bl.n; i++)
			free(bl.in[i]);
		free(bl.in);
		free(bl.len);
		free(f);
		free(ref);
		free(o.buf);
	}
	bz2dec_free(d);
	return 0;
}
