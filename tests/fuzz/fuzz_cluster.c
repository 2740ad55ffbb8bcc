/* libFuzzer target: the cluster's message decoders (src/cluster): what a partition reads from
 * its stream (cl_part_apply: collectors, peers, elements with attributes, records, barriers)
 * and what the merger reads (cl_merge_sizes, cl_merge_rows), from any bytes on the bus. The
 * input is a sequence of messages, each a 2-byte length and its bytes; the first byte picks the
 * reader. A barrier runs both of its phases (the partition's own sizes as the sums), and the
 * partition's ROWS go to a merger of one partition, so that decoded rows are merged too.
 * A first byte of 2 or 3 reads the rest as the cut's state a backfill job hands to the next
 * (cl_cut_load, src/cluster/cut.c); a state that loads is written again (cl_cut_save) and that
 * must load into another cut and write the same bytes.
 * Nothing may crash, leak or read out of bounds; bad messages are counted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/cursor.h"
#include "cluster/cluster.h"
#include "fuzz_util.h"
#include "rib/rib.h"

static void no_send(void *arg, uint32_t part, const uint8_t *msg, size_t len)
{
	(void)arg;
	(void)part;
	(void)msg;
	(void)len;
}

/* cl_cut_load of any bytes; a state that loads round-trips. */
static void cut_state(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	struct rib *n1 = rib_new(), *n2 = rib_new();
	struct cl_cut *c1 = n1 ? cl_cut_new(4, 300, n1, no_send, NULL) : NULL;
	struct cl_cut *c2 = n2 ? cl_cut_new(4, 300, n2, no_send, NULL) : NULL;
	struct cl_buf a, b;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	if (copy && c1 && c2) {
		memcpy(copy, data, size);
		struct cur in = cur_make(copy, size);
		struct dm_error err;
		if (!cl_cut_load(c1, &in, &err)) {
			cl_cut_save(c1, &a);
			struct cur again = cur_make(a.p, a.n);
			if (a.failed || cl_cut_load(c2, &again, &err) || cur_left(&again))
				abort();
			cl_cut_save(c2, &b);
			if (b.n != a.n || memcmp(a.p, b.p, a.n))
				abort();
		}
	}
	cl_buf_free(&a);
	cl_buf_free(&b);
	cl_cut_free(c1);
	cl_cut_free(c2);
	rib_free(n1);
	rib_free(n2);
	free(copy);
}

static struct pipeline *out;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	struct pl_opts o;
	pl_opts_default(&o, "fuzz");
	o.no_geo = 1;
	o.quiet = 1;
	int status;
	struct dm_error err;
	out = pl_new(&o, 0, &status, &err);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || !out)
		return 0;
	if ((data[0] & 3) >= 2) {
		cut_state(data + 1, size - 1);
		return 0;
	}
	struct pl_opts o;
	pl_opts_default(&o, "fuzz");
	o.sig.bin = 60;
	o.sig.ff_rule = SIG_FF_COUNT;
	o.sig.ff_count[0] = o.sig.ff_count[1] = 1;
	int merger = data[0] & 1;   /* 0 partition, 1 merger */
	struct cl_part *p = cl_part_new(0, &o, NULL);
	struct cl_merge *m = cl_merge_new(1, out);
	struct cl_buf a, b;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	for (size_t at = 1; p && m && at + 2 <= size;) {
		size_t len = (size_t)data[at] << 8 | data[at + 1];
		at += 2;
		if (len > size - at)
			len = size - at;
		/* a copy of exactly len bytes: ASan sees a read past the message */
		uint8_t *msg = malloc(len ? len : 1);
		if (!msg)
			break;
		memcpy(msg, data + at, len);
		at += len;
		struct dm_error err;
		if (merger) {
			if (len && msg[0] == CL_M_SIZES)
				cl_merge_sizes(m, msg, len, &b, &err);
			else
				cl_merge_rows(m, msg, len, &err);
			char what[48];   /* what a stalled merge would log, from whatever state this left */
			cl_merge_waiting(m, what, sizeof what);
		} else {
			struct cl_barrier bar;
			if (cl_part_apply(p, msg, len, &bar, &err) == 1) {
				cl_part_sizes(p, &bar, &a);
				if (cl_merge_sizes(m, a.p, a.n, &b, &err) == 1 &&
				    !cl_part_close(p, &bar, b.p, b.n, &a, &err))
					cl_merge_rows(m, a.p, a.n, &err);
			}
		}
		free(msg);
	}
	cl_buf_free(&a);
	cl_buf_free(&b);
	cl_merge_free(m);
	cl_part_free(p);
	return 0;
}
