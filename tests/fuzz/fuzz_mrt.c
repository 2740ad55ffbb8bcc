/* libFuzzer target: MRT record decoding (all types), fed a sequence of records; a
 * PEER_INDEX_TABLE from an earlier record stays in the context for later RIB records.
 * Differential (issue 12): every record is decoded eagerly (as dump decodes) and lazily as
 * replay reads UPDATEs and TABLE_DUMP entries (mrt_ctx lazy_attrs: attribute blocks framed,
 * prefix lists framed and read from the bytes; the first input byte's low bit picks paths with
 * the check or on demand), and the two must agree: the same result, error or warnings (codes,
 * offsets, texts, counts), and the same elements in order (type, peer, prefix, path id, origin,
 * origin AS, next hop). A difference aborts. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_elems.h"
#include "fuzz_records.h"

static int same_err(const struct dm_error *a, const struct dm_error *b)
{
	return a->code == b->code && a->offset == b->offset && !strcmp(a->what, b->what);
}

static struct fuzz_seen s_eager, s_lazy;

struct both {
	struct mrt_ctx eager, lazy;
};

/* One record decoded both ways: the same result, warnings and elements. */
static void diff_one(const struct mrt_hdr *h, const uint8_t *body, void *arg)
{
	struct both *b = arg;
	static struct mrt_rec re, rl;
	struct dm_error ee, el;
	int r1 = mrt_decode(&b->eager, h, body, &re, &ee);
	int r2 = mrt_decode(&b->lazy, h, body, &rl, &el);
	fuzz_check(r1 == r2 && re.kind == rl.kind);
	if (r1 < 0) {
		fuzz_check(same_err(&ee, &el));
		return;
	}
	fuzz_check(re.nwarn == rl.nwarn && re.nwarn_unkept == rl.nwarn_unkept &&
	           !memcmp(re.warn_unkept, rl.warn_unkept, sizeof re.warn_unkept));
	for (uint32_t i = 0; i < re.nwarn; i++)
		fuzz_check(same_err(&re.warn[i], &rl.warn[i]));
	s_eager.n = s_lazy.n = 0;
	unsigned n1 = mrt_elems(&b->eager, &re, fuzz_seen_record, &s_eager);
	mrt_rec_paths(&b->lazy, &rl);   /* as replay asks before the RIB takes the elements */
	unsigned n2 = mrt_elems(&b->lazy, &rl, fuzz_seen_record, &s_lazy);
	fuzz_check(n1 == n2);
	fuzz_seen_same(&s_eager, &s_lazy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct both b;
	mrt_ctx_init(&b.eager);
	mrt_ctx_init(&b.lazy);
	b.lazy.lazy_attrs = size && (data[0] & 1) ? BGP_LAZY_FRAME : BGP_LAZY_PATHS;
	fuzz_each_frame(data, size, diff_one, &b);
	mrt_ctx_free(&b.eager);
	mrt_ctx_free(&b.lazy);
	return 0;
}
