/* Whether a core is free for a helper thread (src/base/cpu.c): the decision over readings of the
 * other runnable tasks, each test a hand-made sequence of readings. */
#include "testutil.h"

#include "base/cpu.h"

struct readings {
	const int *v;   /* what each reading finds */
	int n, at;      /* readings given, readings taken */
};

static int next_reading(void *arg)
{
	struct readings *r = arg;
	int v = r->at < r->n ? r->v[r->at] : 99;
	r->at++;
	return v;
}

static int decide(long cores, const int *v, int n, int *taken)
{
	struct readings r = { v, n, 0 };
	int free = dm_core_free_readings(cores, next_reading, &r, 0);
	*taken = r.at;
	return free;
}

/* a passing task (the first reading) is gone at the second: free, after two readings */
static void test_passing_task(void **state)
{
	(void)state;
	static const int v[] = { 2, 0, 5, 5 };
	int taken;
	assert_int_equal(decide(2, v, 4, &taken), 1);
	assert_int_equal(taken, 2);
}

/* work of another process at every reading: busy, after DM_FREE_READS of them */
static void test_busy_throughout(void **state)
{
	(void)state;
	static const int v[] = { 1, 1, 1, 1, 0 };
	int taken;
	assert_int_equal(decide(2, v, 5, &taken), 0);
	assert_int_equal(taken, DM_FREE_READS);
}

/* free at the first reading: one reading, no wait */
static void test_free_at_once(void **state)
{
	(void)state;
	static const int v[] = { 0 };
	int taken;
	assert_int_equal(decide(2, v, 1, &taken), 1);
	assert_int_equal(taken, 1);
}

/* four cores leave two for others; an unreadable count is busy (no thread on a guess) */
static void test_cores_and_unreadable(void **state)
{
	(void)state;
	static const int four[] = { 3, 2 };
	static const int unreadable[] = { 1, -1, 0 };
	int taken;
	assert_int_equal(decide(4, four, 2, &taken), 1);
	assert_int_equal(taken, 2);
	assert_int_equal(decide(2, unreadable, 3, &taken), 0);
	assert_int_equal(taken, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passing_task),
		cmocka_unit_test(test_busy_throughout),
		cmocka_unit_test(test_free_at_once),
		cmocka_unit_test(test_cores_and_unreadable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
