/* libFuzzer target: MRT record decoding (all types), fed a sequence of records. The first
 * byte selects whether a PEER_INDEX_TABLE from an earlier record stays in the context. */
#include <stddef.h>
#include <stdint.h>

#include "mrt/elem.h"
#include "mrt/mrt.h"

static void sink(const struct dm_elem *e, void *arg)
{
	/* touch the fields a consumer reads */
	volatile unsigned x = e->prefix.len + (e->attrs ? e->attrs->path.nseg : 0u);
	(void)x;
	(*(unsigned *)arg)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mrt_ctx ctx;
	mrt_ctx_init(&ctx);
	size_t off = 0;
	unsigned elems = 0;
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
		if (mrt_decode(&ctx, &h, body, &rec, &err) == 0)
			mrt_elems(&ctx, &rec, sink, &elems);
	}
	mrt_ctx_free(&ctx);
	return 0;
}
