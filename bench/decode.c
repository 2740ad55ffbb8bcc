/* Decode-only throughput, no output. usage: decode [MODE] FILE...; prints "bytes records elements
 * seconds MB/s". MODE says what is decoded:
 *   (none) what replay decodes (pipeline/source.c replay_ctx_init): framing (mrt_reader_next);
 *          lazy attributes (mrt_ctx lazy_attrs and lazy_rib_attrs: every block framed and
 *          checked, ORIGIN, NEXT_HOP and MP_(UN)REACH_NLRI decoded, a block with a problem
 *          decoded whole); AS paths left undecoded (BGP_LAZY_FRAME: the RIB reads a new set's
 *          path from the checked bytes, each element's origin AS was read while they were
 *          checked); the per-prefix elements, each asked its ORIGIN, origin AS and next hop.
 *          TABLE_DUMP_V2 entries stay indexed (replay looks them up in its RIB: not here);
 *   -p     the same with the AS paths decoded as they are checked (BGP_LAZY_PATHS: replay
 *          feeding a cluster, whose tap sends every route's path);
 *   -e     eager, as dump decodes: every attribute of every block (mrt_decode), per-prefix
 *          elements asked the same three values;
 *   -r     lazy records only: framing + lazy attributes, no paths, no element iteration;
 *   -f     framing only (mrt_reader_next, no decoding: what the reader costs). */
#include <string.h>
#include <stdio.h>
#include <time.h>

#include "mrt/elem.h"
#include "mrt/reader.h"

struct acc {
	unsigned long elems;
	uint64_t sum;   /* of what each element was asked, so that the asking is not optimised away */
};

static void ask(const struct dm_elem *e, void *arg)
{
	struct acc *a = arg;
	a->elems++;
	if (e->attrs) {
		int is_set;
		a->sum += e->attrs->origin + bgp_attrs_origin_as(e->attrs, &is_set) + (unsigned)is_set;
		if (e->next_hop)
			a->sum += e->next_hop->b[3];
	}
}

int main(int argc, char **argv)
{
	unsigned long records = 0, errors = 0;
	struct acc acc = { 0, 0 };
	unsigned long long bytes = 0;
	struct timespec t0, t1;
	char mode = argc > 1 && argv[1][0] == '-' && argv[1][1] && !argv[1][2] ? argv[1][1] : 0;
	if (mode && !strchr("perf", mode)) {
		fprintf(stderr, "usage: decode [-p|-e|-r|-f] FILE...\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 1 + (mode != 0); i < argc; i++) {
		struct dm_error err;
		struct mrt_reader *r = mrt_reader_open(argv[i], &err);
		if (!r) {
			fprintf(stderr, "%s: %s\n", argv[i], err.what);
			return 1;
		}
		struct mrt_ctx ctx;
		mrt_ctx_init(&ctx);
		ctx.lazy_rib_attrs = mode != 'e';
		ctx.lazy_attrs = mode == 'e' ? 0 : mode == 'p' ? BGP_LAZY_PATHS : BGP_LAZY_FRAME;
		const uint8_t *body = NULL;   /* set when rc > 0 (LTO inlines the reader and cannot tell) */
		struct mrt_rec rec;
		int rc;
		/* the header read into rec, as replay reads it (pipeline/source.c: no copy, mrt.h) */
		while ((rc = mrt_reader_next(r, &rec.hdr, &body, &err)) != 0) {
			if (mode == 'f') {
				records += rc > 0;
				errors += rc < 0;
				continue;
			}
			if (rc < 0 || mrt_decode(&ctx, &rec.hdr, body, &rec, &err) < 0) {
				errors++;
				continue;
			}
			records++;
			if (mode == 'r')
				continue;
			mrt_elems(&ctx, &rec, ask, &acc);
		}
		bytes += mrt_reader_offset(r);
		mrt_ctx_free(&ctx);
		mrt_reader_close(r);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%llu %lu %lu %.4f %.1f\n", bytes, records, acc.elems, s, (double)bytes / s / 1e6);
	fprintf(stderr, "checksum %llu\n", (unsigned long long)acc.sum);
	return errors ? 1 : 0;
}
