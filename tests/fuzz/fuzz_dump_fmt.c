/* libFuzzer target: the output side of `darkmap dump` on whatever the decoder accepts: every
 * record through the bgpdump -m and -M formatters and every element through the JSON writer.
 * Records are framed as in fuzz_mrt.c. */
#include <stddef.h>
#include <stdint.h>

#include "base/obuf.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mrt_ctx ctx;
	mrt_ctx_init(&ctx);
	struct obuf o;
	obuf_init_mem(&o);
	struct json_src src;
	json_src_init(&src, "fuzz\"input\n", &ctx);
	struct sink sk = { &o, &src };
	size_t off = 0;
	while (size - off >= MRT_HEADER_LEN) {
		const uint8_t *p = data + off;
		struct mrt_hdr h = { be32(p), 0, be16(p + 4), be16(p + 6), be32(p + 8), off, 0 };
		if (h.len > size - off - MRT_HEADER_LEN)
			break;
		const uint8_t *body = p + MRT_HEADER_LEN;
		off += MRT_HEADER_LEN + h.len;
		if (h.type == MRT_BGP4MP_ET) {
			if (h.len < 4)
				continue;
			h.usec = be32(body);
			body += 4;
			h.len -= 4;
		}
		struct mrt_rec rec;
		struct dm_error err;
		if (mrt_decode(&ctx, &h, body, &rec, &err) != 0)
			continue;
		bgpdump_m_record(&o, &ctx, &rec, 'm');
		bgpdump_m_record(&o, &ctx, &rec, 'M');
		mrt_elems(&ctx, &rec, json_sink, &sk);
		o.len = 0; /* keep memory flat */
	}
	obuf_free(&o);
	mrt_ctx_free(&ctx);
	return 0;
}
