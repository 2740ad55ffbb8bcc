/* libFuzzer target: MRT record decoding (all types), fed a sequence of records; a
 * PEER_INDEX_TABLE from an earlier record stays in the context for later RIB records.
 * Differential (issue 12): every record is decoded eagerly (as dump decodes) and lazily as
 * replay reads UPDATEs and TABLE_DUMP entries (mrt_ctx lazy_attrs: attribute blocks framed,
 * prefix lists framed and read from the bytes; the first input byte's low bit picks paths with
 * the check or on demand), and the two must agree: the same result, error or warnings (codes,
 * offsets, texts, counts), and the same elements in order (type, peer, prefix, path id, origin,
 * origin AS, next hop). A difference aborts.
 * Fast vs careful (issue 12): every record is also decoded eagerly with the fast paths off
 * (mrt_ctx careful: bgp4mp_message_fast skipped), and the fast decoding must print the same
 * bgpdump -m and -M lines and JSON elements, with the same result and warnings; the input's
 * second bit turns the lazy decoding's fast paths off, so that both lazy forms meet eager's. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/obuf.h"
#include "fuzz_elems.h"
#include "fuzz_records.h"
#include "out/bgpdump.h"
#include "out/json.h"

static int same_err(const struct dm_error *a, const struct dm_error *b)
{
	return a->code == b->code && a->offset == b->offset && !strcmp(a->what, b->what);
}

static struct fuzz_seen s_eager, s_lazy;

struct both {
	struct mrt_ctx eager, lazy, careful;
	struct json_src src_fast, src_careful;
};

static void json_sink(const struct dm_elem *e, void *arg)
{
	void **a = arg;
	json_elem(a[0], a[1], e);
}

/* What dump prints of a record decoded eagerly: -m, -M and the JSON elements. */
static void dump_text(struct obuf *o, const struct mrt_ctx *ctx, const struct mrt_rec *rec,
                      const struct json_src *src)
{
	void *a[2] = { o, (void *)src };
	o->len = 0;
	bgpdump_m_record(o, ctx, rec, 'm');
	bgpdump_m_record(o, ctx, rec, 'M');
	mrt_elems(ctx, rec, json_sink, a);
}

/* The eager decoding (fast paths on) against the careful one (off). */
static void diff_careful(struct both *b, const struct mrt_hdr *h, const uint8_t *body, int r1,
                         const struct dm_error *ee, const struct mrt_rec *re)
{
	static struct mrt_rec rc;
	static struct obuf o1, o2;
	static int init;
	if (!init) {
		obuf_init_mem(&o1);
		obuf_init_mem(&o2);
		init = 1;
	}
	struct dm_error ec;
	int r3 = mrt_decode(&b->careful, h, body, &rc, &ec);
	fuzz_check(r1 == r3 && re->kind == rc.kind);
	if (r1 < 0) {
		fuzz_check(same_err(ee, &ec));
		return;
	}
	fuzz_check(re->nwarn == rc.nwarn && re->nwarn_unkept == rc.nwarn_unkept &&
	           !memcmp(re->warn_unkept, rc.warn_unkept, sizeof rc.warn_unkept));
	for (uint32_t i = 0; i < re->nwarn; i++)
		fuzz_check(same_err(&re->warn[i], &rc.warn[i]));
	dump_text(&o1, &b->eager, re, &b->src_fast);
	dump_text(&o2, &b->careful, &rc, &b->src_careful);
	fuzz_check(o1.len == o2.len && !memcmp(o1.buf, o2.buf, o1.len));
}

/* One record decoded both ways: the same result, warnings and elements. */
static void diff_one(const struct mrt_hdr *h, const uint8_t *body, void *arg)
{
	struct both *b = arg;
	static struct mrt_rec re, rl;
	struct dm_error ee, el;
	int r1 = mrt_decode(&b->eager, h, body, &re, &ee);
	int r2 = mrt_decode(&b->lazy, h, body, &rl, &el);
	diff_careful(b, h, body, r1, &ee, &re);
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
	mrt_ctx_init(&b.careful);
	b.careful.careful = 1;
	json_src_init(&b.src_fast, "fuzz", &b.eager);
	json_src_init(&b.src_careful, "fuzz", &b.careful);
	b.lazy.lazy_attrs = size && (data[0] & 1) ? BGP_LAZY_FRAME : BGP_LAZY_PATHS;
	b.lazy.careful = size && (data[0] & 2);
	fuzz_each_frame(data, size, diff_one, &b);
	mrt_ctx_free(&b.eager);
	mrt_ctx_free(&b.lazy);
	mrt_ctx_free(&b.careful);
	return 0;
}
