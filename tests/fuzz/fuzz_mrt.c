/* libFuzzer target: MRT record decoding (all types), fed a sequence of records; a
 * PEER_INDEX_TABLE from an earlier record stays in the context for later RIB records. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_records.h"
#include "mrt/elem.h"

static void sink(const struct dm_elem *e, void *arg)
{
	/* touch the fields a consumer reads */
	volatile unsigned x = e->prefix.len + (e->attrs ? e->attrs->path.nseg : 0u);
	(void)x;
	(*(unsigned *)arg)++;
}

static void each(struct mrt_ctx *ctx, const struct mrt_rec *rec, void *arg)
{
	mrt_elems(ctx, rec, sink, arg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mrt_ctx ctx;
	mrt_ctx_init(&ctx);
	unsigned elems = 0;
	fuzz_each_record(data, size, &ctx, each, &elems);
	mrt_ctx_free(&ctx);
	return 0;
}
