/* Shared by the record-level fuzz targets: frames the input as a sequence of MRT records
 * (12-byte headers, _ET microseconds) and decodes each with one mrt_ctx, calling fn for every
 * record the decoder accepts. */
#ifndef DM_FUZZ_RECORDS_H
#define DM_FUZZ_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "mrt/mrt.h"

/* Frames the input as records: fn gets each header and body (as mrt_decode takes them). */
static inline void fuzz_each_frame(const uint8_t *data, size_t size,
                                   void (*fn)(const struct mrt_hdr *, const uint8_t *, void *), void *arg)
{
	size_t off = 0;
	while (size - off >= MRT_HEADER_LEN) {
		const uint8_t *p = data + off;
		struct mrt_hdr h = { be32(p), 0, be16(p + 4), be16(p + 6), be32(p + 8), off, 0, 0 };
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
		fn(&h, body, arg);
	}
}

struct fuzz_rec_arg {
	struct mrt_ctx *ctx;
	void (*fn)(struct mrt_ctx *, const struct mrt_rec *, void *);
	void *arg;
};

static inline void fuzz_decode_one(const struct mrt_hdr *h, const uint8_t *body, void *arg)
{
	struct fuzz_rec_arg *a = arg;
	struct mrt_rec rec;
	struct dm_error err;
	if (mrt_decode(a->ctx, h, body, &rec, &err) == 0)
		a->fn(a->ctx, &rec, a->arg);
}

static inline void fuzz_each_record(const uint8_t *data, size_t size, struct mrt_ctx *ctx,
                                    void (*fn)(struct mrt_ctx *, const struct mrt_rec *, void *), void *arg)
{
	struct fuzz_rec_arg a = { ctx, fn, arg };
	fuzz_each_frame(data, size, fuzz_decode_one, &a);
}

#endif
