/* libFuzzer target: the output side of `darkmap dump` on whatever the decoder accepts: every
 * record through the bgpdump -m and -M formatters and every element through the JSON writer.
 * Records are framed by fuzz_each_frame (fuzz_records.h).
 * Differential: -m and -M as dump prints them, from a context that leaves TABLE_DUMP attribute
 * blocks as bytes (mrt.h lazy_td1, bgpdump_m_record_lazy), must give the text, the line count and
 * the warnings (order, codes, offsets, texts, the counted ones by kind) of eager decoding. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/obuf.h"
#include "fuzz_records.h"
#include "mrt/elem.h"
#include "mrt/mrt.h"
#include "out/bgpdump.h"
#include "out/json.h"

struct sink {
	struct obuf *o, *o2;
	const struct json_src *src;
	struct mrt_ctx *eager, *lazy;
};

static void json_sink(const struct dm_elem *e, void *arg)
{
	struct sink *s = arg;
	json_elem(s->o, s->src, e);
}

static void same_err(const struct dm_error *a, const struct dm_error *b)
{
	if (a->code != b->code || a->offset != b->offset || strcmp(a->what, b->what))
		abort();
}

static void each(const struct mrt_hdr *h, const uint8_t *body, void *arg)
{
	struct sink *sk = arg;
	static struct mrt_rec a, b;
	struct dm_error ea, eb;
	int ra = 0;
	for (int mode = 'm'; mode; mode = mode == 'm' ? 'M' : 0) {
		ra = mrt_decode(sk->eager, h, body, &a, &ea);
		int rb = mrt_decode(sk->lazy, h, body, &b, &eb);
		if (ra != rb)
			abort();
		if (ra < 0) {
			same_err(&ea, &eb);
			return;
		}
		sk->o->len = sk->o2->len = 0;
		unsigned la = bgpdump_m_record(sk->o, sk->eager, &a, mode);
		unsigned lb = bgpdump_m_record_lazy(sk->o2, sk->lazy, &b, mode);
		if (la != lb || sk->o->len != sk->o2->len || memcmp(sk->o->buf, sk->o2->buf, sk->o->len))
			abort();
		if (a.nwarn != b.nwarn || a.nwarn_unkept != b.nwarn_unkept ||
		    memcmp(a.warn_unkept, b.warn_unkept, sizeof a.warn_unkept))
			abort();
		for (uint32_t i = 0; i < a.nwarn; i++)
			same_err(&a.warn[i], &b.warn[i]);
	}
	mrt_elems(sk->eager, &a, json_sink, sk);
	sk->o->len = sk->o2->len = 0; /* keep memory flat */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mrt_ctx eager, lazy;
	mrt_ctx_init(&eager);
	mrt_ctx_init(&lazy);
	lazy.lazy_td1 = 1;
	struct obuf o, o2;
	obuf_init_mem(&o);
	obuf_init_mem(&o2);
	struct json_src src;
	json_src_init(&src, "fuzz\"input\n", &eager);
	struct sink sk = { &o, &o2, &src, &eager, &lazy };
	fuzz_each_frame(data, size, each, &sk);
	obuf_free(&o);
	obuf_free(&o2);
	mrt_ctx_free(&eager);
	mrt_ctx_free(&lazy);
	return 0;
}
