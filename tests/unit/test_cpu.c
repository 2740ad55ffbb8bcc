/* Cores for helper threads (src/base/cpu.c): whether one is free, the decision over readings of
 * the other runnable tasks, each test a hand-made sequence of readings; and the CPUs a helper
 * started kept off its starter's CPU may run on, read back from the helper itself. */
#include "testutil.h"

#include "base/cpu.h"

#include <sched.h>
#include <stdlib.h>

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

/* what a helper finds about itself */
struct seen {
	cpu_set_t set;
	int cpu;
};

static void *record_cpus(void *arg)
{
	struct seen *w = arg;
	CPU_ZERO(&w->set);
	pthread_getaffinity_np(pthread_self(), sizeof w->set, &w->set);
	w->cpu = sched_getcpu();
	return NULL;
}

static void run_helper(pthread_attr_t *attr, int cpu, int by_mode, struct seen *w)
{
	pthread_t t;
	int rc = by_mode ? dm_helper_create(&t, attr, record_cpus, w) : dm_helper_create_off(&t, attr, record_cpus, w, cpu);
	assert_int_equal(rc, 0);
	assert_int_equal(pthread_join(t, NULL), 0);
}

static int first_cpu(const cpu_set_t *s)
{
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, s))
			return c;
	return -1;
}

/* kept off a CPU: it may run on every other one the starter may, and runs on one of them; with
 * attributes of its own (the prefault helper's) as with none */
static void test_helper_kept_off(void **state)
{
	(void)state;
	cpu_set_t mine;
	assert_int_equal(pthread_getaffinity_np(pthread_self(), sizeof mine, &mine), 0);
	if (CPU_COUNT(&mine) < 2) {
		fprintf(stderr, "skip: this process may run on one CPU only\n");
		skip();
	}
	int off = first_cpu(&mine);
	cpu_set_t want = mine;
	CPU_CLR(off, &want);
	struct seen w;
	run_helper(NULL, off, 0, &w);
	assert_true(CPU_EQUAL(&w.set, &want));
	assert_int_not_equal(w.cpu, off);
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64u << 10);
	run_helper(&a, off, 0, &w);
	pthread_attr_destroy(&a);
	assert_true(CPU_EQUAL(&w.set, &want));
	run_helper(NULL, -1, 0, &w);   /* -1: as pthread_create */
	assert_true(CPU_EQUAL(&w.set, &mine));
}

/* a starter allowed one CPU: the helper keeps it (it would have none) */
static void test_helper_one_cpu(void **state)
{
	(void)state;
	cpu_set_t mine, one;
	assert_int_equal(pthread_getaffinity_np(pthread_self(), sizeof mine, &mine), 0);
	int c = first_cpu(&mine);
	CPU_ZERO(&one);
	CPU_SET(c, &one);
	assert_int_equal(pthread_setaffinity_np(pthread_self(), sizeof one, &one), 0);
	struct seen w;
	run_helper(NULL, c, 0, &w);
	assert_int_equal(pthread_setaffinity_np(pthread_self(), sizeof mine, &mine), 0);
	assert_true(CPU_EQUAL(&w.set, &one));
	assert_int_equal(w.cpu, c);
}

/* the mode: off, the helper may run where its starter may; on, on one CPU fewer (the starter's,
 * which it may have left since: only the count is sure); DARKMAP_HELPER_CPU=0 keeps it off */
static void test_helper_mode(void **state)
{
	(void)state;
	cpu_set_t mine;
	assert_int_equal(pthread_getaffinity_np(pthread_self(), sizeof mine, &mine), 0);
	struct seen w;
	dm_helpers_keep_off(0);
	run_helper(NULL, 0, 1, &w);
	assert_true(CPU_EQUAL(&w.set, &mine));
	dm_helpers_keep_off(1);
	run_helper(NULL, 0, 1, &w);
	assert_int_equal(CPU_COUNT(&w.set), CPU_COUNT(&mine) > 1 ? CPU_COUNT(&mine) - 1 : 1);
	setenv("DARKMAP_HELPER_CPU", "0", 1);
	dm_helpers_keep_off(1);
	unsetenv("DARKMAP_HELPER_CPU");
	run_helper(NULL, 0, 1, &w);
	assert_true(CPU_EQUAL(&w.set, &mine));
	dm_helpers_keep_off(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passing_task),
		cmocka_unit_test(test_busy_throughout),
		cmocka_unit_test(test_free_at_once),
		cmocka_unit_test(test_cores_and_unreadable),
		cmocka_unit_test(test_helper_kept_off),
		cmocka_unit_test(test_helper_one_cpu),
		cmocka_unit_test(test_helper_mode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
