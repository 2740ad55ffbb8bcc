/* libFuzzer target: the output side of `darkmap dump` on whatever the decoder accepts: every
 * record through the bgpdump -m and -M formatters and every element through the JSON writer.
 * Records are framed by fuzz_records.h. */
#include <stddef.h>
#include <stdint.h>

#include "base/obuf.h"
#include "fuzz_records.h"
#include "mrt/elem.h"
#include "mrt/mrt.h"
#include "out/bgpdump.h"
#include "out/json.h"

struct sink {
	struct obuf *o;
	const struct json_src *src;
};

static void json_sink(const struct dm_elem *e, void *arg)
{
	struct sink *s = arg;
	json_elem(s->o, s->src, e);
}

static void each(struct mrt_ctx *ctx, const struct mrt_rec *rec, void *arg)
{
	struct sink *sk = arg;
	bgpdump_m_record(sk->o, ctx, rec, 'm');
	bgpdump_m_record(sk->o, ctx, rec, 'M');
	mrt_elems(ctx, rec, json_sink, sk);
	sk->o->len = 0; /* keep memory flat */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mrt_ctx ctx;
	mrt_ctx_init(&ctx);
	struct obuf o;
	obuf_init_mem(&o);
	struct json_src src;
	json_src_init(&src, "fuzz\"input\n", &ctx);
	struct sink sk = { &o, &src };
	fuzz_each_record(data, size, &ctx, each, &sk);
	obuf_free(&o);
	mrt_ctx_free(&ctx);
	return 0;
}
