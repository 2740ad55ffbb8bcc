/* The merger's account of what it waits for (src/cluster/merge.c cl_merge_waiting), which a
 * stalled `cluster merge` logs: the barrier, whether its sizes or its rows are awaited, and the
 * partitions not in, as the SIZES and ROWS messages arrive, copies ignored. Expected strings are
 * written out by hand from the messages fed. */
#include "testutil.h"

#include "cluster/cluster_impl.h"

/* A message's head: kind, barrier, partition, and a count (peers of SIZES, rows of ROWS) of 0. */
static struct cl_buf head(uint8_t kind, uint32_t seq, uint32_t part)
{
	struct cl_buf b;
	memset(&b, 0, sizeof b);
	cb_u8(&b, kind);
	cb_u32(&b, seq);
	cb_u32(&b, part);
	cb_u32(&b, 0);
	return b;
}

/* A SIZES message of no peers: the head and two route totals. */
static int sizes(struct cl_merge *m, uint32_t seq, uint32_t part, struct cl_buf *sums)
{
	struct cl_buf b = head(CL_M_SIZES, seq, part);
	cb_u64(&b, 10);
	cb_u64(&b, 0);
	struct dm_error err;
	int r = cl_merge_sizes(m, b.p, b.n, sums, &err);
	cl_buf_free(&b);
	return r;
}

/* The head of a ROWS message: enough to be held until every partition's is in (it is parsed
 * only then, which this test never reaches). */
static int rows(struct cl_merge *m, uint32_t seq, uint32_t part)
{
	struct cl_buf b = head(CL_M_ROWS, seq, part);
	struct dm_error err;
	int r = cl_merge_rows(m, b.p, b.n, &err);
	cl_buf_free(&b);
	return r;
}

static void assert_waiting(const struct cl_merge *m, const char *want)
{
	char got[160];
	cl_merge_waiting(m, got, sizeof got);
	assert_string_equal(got, want);
}

static void test_waiting_sizes_then_rows(void **state)
{
	(void)state;
	struct cl_merge *m = cl_merge_new(4, NULL);
	assert_non_null(m);
	struct cl_buf sums;
	memset(&sums, 0, sizeof sums);
	assert_waiting(m, "barrier 0: the sizes of partition(s) 0, 1, 2, 3 not in (0 of 4)");
	assert_int_equal(sizes(m, 0, 2, &sums), 0);
	assert_int_equal(sizes(m, 0, 0, &sums), 0);
	assert_int_equal(sizes(m, 0, 2, &sums), 0);   /* a copy: still 2 of 4 */
	assert_waiting(m, "barrier 0: the sizes of partition(s) 1, 3 not in (2 of 4)");
	assert_int_equal(sizes(m, 0, 3, &sums), 0);
	assert_int_equal(sizes(m, 0, 1, &sums), 1);   /* all in: the sums go out */
	assert_int_equal(sums.p[0], CL_M_SUMS);
	assert_waiting(m, "barrier 0: the rows of partition(s) 0, 1, 2, 3 not in (0 of 4)");
	assert_int_equal(rows(m, 0, 1), 0);
	assert_int_equal(rows(m, 0, 1), 0);
	assert_waiting(m, "barrier 0: the rows of partition(s) 0, 2, 3 not in (1 of 4)");
	/* the next barrier's sizes, ahead of this one's rows, do not change what is awaited */
	assert_int_equal(sizes(m, 1, 0, &sums), 0);
	assert_waiting(m, "barrier 0: the rows of partition(s) 0, 2, 3 not in (1 of 4)");
	cl_buf_free(&sums);
	cl_merge_free(m);
}

static void test_waiting_cut_to_fit(void **state)
{
	(void)state;
	struct cl_merge *m = cl_merge_new(40, NULL);
	assert_non_null(m);
	/* more than 16 partitions missing: the first 16 and "..." */
	assert_waiting(m, "barrier 0: the sizes of partition(s) 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, "
	                  "15 ... not in (0 of 40)");
	char small[20];
	memset(small, 'x', sizeof small);
	cl_merge_waiting(m, small, sizeof small);
	assert_string_equal(small, "barrier 0: the size");   /* 19 bytes and the NUL */
	cl_merge_waiting(m, small, 0);                       /* nothing written */
	assert_string_equal(small, "barrier 0: the size");
	cl_merge_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_waiting_sizes_then_rows),
		cmocka_unit_test(test_waiting_cut_to_fit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
