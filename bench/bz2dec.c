/* bzip2 decoding on one thread: darkmap's block decoder (src/io/bz2dec.c) against libbz2, on the
 * same single-stream .bz2 files, each decoded whole in memory (no I/O in the timing), output
 * compared byte for byte. usage: bz2dec [-o own|lib] [-n REPS] FILE...
 * prints per file: MB out, blocks' CPU seconds (best of REPS) for bz2dec and libbz2, their ratio.
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
	struct bz2dec *d = bz2dec_new();
	if (!d)
		return 1;
	printf("%-44s %8s %9s %9s %7s\n", "file", "MB_out", "bz2dec_s", "libbz2_s", "x_lib");
	for (int a = optind; a < argc; a++) {
		size_t len;
		uint8_t *in = slurp(argv[a], &len);
		if (!in)
			return 1;
		size_t cap = 64u << 20;
		uint8_t *ref = malloc(cap);
		struct bz2dec_out o = { NULL, 0, 0, cap };
		if (only) {
			if (!strcmp(only, "own"))
				printf("%s: rc %d, %zu bytes\n", argv[a], bz2dec_stream(d, in, len, &o), o.len);
			else
				printf("%s: %zu bytes\n", argv[a], lib_decode(in, len, ref, cap));
			free(in);
			free(ref);
			free(o.buf);
			continue;
		}
		double best_own = 1e9, best_lib = 1e9;
		size_t nlib = 0;
		int rc = 0;
		for (int r = 0; r < reps; r++) {
			double t0 = cpu_now();
			o.len = 0;
			rc = bz2dec_stream(d, in, len, &o);
			double t1 = cpu_now();
			nlib = lib_decode(in, len, ref, cap);
			double t2 = cpu_now();
			if (t1 - t0 < best_own)
				best_own = t1 - t0;
			if (t2 - t1 < best_lib)
				best_lib = t2 - t1;
		}
		int same = rc == BZ2DEC_OK && nlib == o.len && !memcmp(ref, o.buf, nlib);
		printf("%-44s %8.2f %9.4f %9.4f %7.3f%s\n", argv[a], o.len / 1e6, best_own, best_lib, best_own / best_lib,
		       same ? "" : "  DIFFERENT");
		free(in);
		free(ref);
		free(o.buf);
	}
	bz2dec_free(d);
	return 0;
}
