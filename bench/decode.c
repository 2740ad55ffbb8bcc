/* Decode-only throughput: framing + record decoding (every attribute and prefix decoded into
 * the record structs) + per-prefix element iteration, no output.
 * usage: decode [-r|-f] FILE...   -r: records only, no element iteration; -f: framing only
 * (mrt_reader_next, no decoding: what the reader costs). Prints "bytes records elements seconds
 * MB/s". */
#include <string.h>
#include <stdio.h>
#include <time.h>

#include "mrt/elem.h"
#include "mrt/reader.h"

static void count(const struct dm_elem *e, void *arg)
{
	(void)e;
	(*(unsigned long *)arg)++;
}

int main(int argc, char **argv)
{
	unsigned long records = 0, elems = 0, errors = 0;
	unsigned long long bytes = 0;
	struct timespec t0, t1;
	int records_only = argc > 1 && !strcmp(argv[1], "-r");
	int framing_only = argc > 1 && !strcmp(argv[1], "-f");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 1 + records_only + framing_only; i < argc; i++) {
		struct dm_error err;
		struct mrt_reader *r = mrt_reader_open(argv[i], &err);
		if (!r) {
			fprintf(stderr, "%s: %s\n", argv[i], err.what);
			return 1;
		}
		struct mrt_ctx ctx;
		mrt_ctx_init(&ctx);
		struct mrt_hdr h;
		const uint8_t *body;
		struct mrt_rec rec;
		int rc;
		while ((rc = mrt_reader_next(r, &h, &body, &err)) != 0) {
			if (framing_only) {
				records += rc > 0;
				errors += rc < 0;
				continue;
			}
			if (rc < 0 || mrt_decode(&ctx, &h, body, &rec, &err) < 0) {
				errors++;
				continue;
			}
			records++;
			if (!records_only)
				mrt_elems(&ctx, &rec, count, &elems);
		}
		bytes += mrt_reader_offset(r);
		mrt_ctx_free(&ctx);
		mrt_reader_close(r);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%llu %lu %lu %.4f %.1f\n", bytes, records, elems, s, (double)bytes / s / 1e6);
	return errors ? 1 : 0;
}
