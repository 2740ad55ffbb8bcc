#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "base/cpu.h"

#include <sched.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* Threads of this process that are runnable now (state R in /proc/self/task/TID/stat), at least 1:
 * the caller. */
static int own_running(void)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return 1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		char path[64], buf[256];
		snprintf(path, sizeof path, "/proc/self/task/%.20s/stat", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t k = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[k] = 0;
		/* "tid (comm) S ...": the state follows the last ')' (comm may hold one) */
		char *p = NULL;
		for (char *q = buf; *q; q++)
			if (*q == ')')
				p = q;
		if (p && p[1] == ' ' && p[2] == 'R')
			n++;
	}
	closedir(d);
	return n ? n : 1;
}

/* One reading of the runnable count is an instant, and a task passing through it (a kernel
 * worker, the shell that started this process) says "busy" where no other work is. Run as make
 * bench runs them (the one-table replay, bgpdump and a dump in turns), 9 of 24 replays found the
 * load average at 1.5 or more, so that the count was read, and 4 of those 9 were refused a
 * helper: the decompression thread (without it a replay of rrc01's update file takes 1.45x the
 * time, the one-table one without the mapping 1.09x) or the settle's and the sweep's (all of
 * those off, with the mapping: 1.13x). A core busy with another process's work is busy at every
 * reading: DM_FREE_READS readings FREE_GAP_US apart, and a free core at any of them is free (the
 * wait is paid only while the readings say busy: 0.3 ms at most). In the same runs with them,
 * 24 of 24 read the count, 7 found a passing task gone at a later reading, 2 were refused
 * (7 Dec 2026). */
enum { FREE_GAP_US = 100 };

int dm_core_free_readings(long cores, int (*others)(void *arg), void *arg, unsigned gap_us)
{
	for (int k = 0; k < DM_FREE_READS; k++) {
		if (k && gap_us)
			nanosleep(&(struct timespec){ 0, (long)gap_us * 1000 }, NULL);
		int n = others(arg);
		if (n < 0)
			return 0;
		if (n <= cores - 2)
			return 1;
	}
	return 0;
}

/* Tasks runnable now that are not this process's threads (/proc/loadavg's count, the caller
 * counted in it), -1 unreadable */
static int others_running(void *arg)
{
	(void)arg;
	int running = 0, total = 0;
	FILE *f = fopen("/proc/loadavg", "r");
	int got = f && fscanf(f, "%*f %*f %*f %d/%d", &running, &total) == 2;
	if (f)
		fclose(f);
	return got ? running - own_running() : -1;
}

int dm_core_free(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	double load;
	if (cores < 2)
		return 0;
	if (getloadavg(&load, 1) != 1 || load < (double)cores - 0.5)
		return 1;
	/* The average lags by a minute: a machine that was busy and is idle now (a build just
	 * ended, the run before this one in a benchmark, a shell loop of dumps: each run's own threads
	 * keep the average near 2 on 2 cores) reads as busy for a minute after. The count of tasks
	 * runnable now (/proc/loadavg) says so at once: with no task of another process running, our
	 * threads have the cores. The count includes this process's own runnable threads (the
	 * decompression thread is running when dump asks for its decoding thread): they are not
	 * competition, so they are taken off. Without that, make bench's dumps ran on one decoding
	 * thread as soon as the average passed 1.5 (the 3 Dec runs). */
	return dm_core_free_readings(cores, others_running, NULL, FREE_GAP_US);
}

/* Helper threads kept off the CPU of the thread that starts them (dm_helpers_keep_off).
 *
 * Why: on this project's virtual machines the kernel is told of no cache shared between the two
 * vCPUs (no /sys/devices/system/cpu/cpu0/cache), so each is its own last-level-cache domain, and
 * a waking thread is placed on the CPU it last ran on, or pulled to its waker's (wake_affine),
 * without a look at the other one. The prefault helper (polling every 200 us) and the
 * decompression thread (woken as the ring drains) so came to wake on the main thread's CPU and
 * preempt it while the other CPU sat idle: a one-table replay's main thread ran 0.26 ms, was
 * preempted 0.25 ms, over and over, 3.3-11.6 ms of its 130-145 in the medians of 5 sets of 8
 * traced runs (sched:sched_switch; up to 15 ms), and 0.0 with the helpers kept off its CPU: the
 * wall 0.974 and 0.974 of before (41 paired rounds each), 0.997 in 101 with the machine at its
 * fastest (docs/replay.md, seventeenth round). Kept off, they still have every other CPU; a
 * process allowed one CPU keeps it.
 *
 * Only for helpers that assist a main thread doing the heavier work (replay's pipeline): where
 * the helpers are the work (dump's second decoding thread, bzip2's block decoders) they need
 * every CPU, the caller's included (dump -m of the 2015 transfer took 1.036x the time with its
 * decompression thread kept off, a bzip2 RIB 1.5x with its block decoders). */
static int keep_off;   /* off until asked */

void dm_helpers_keep_off(int on)
{
	const char *e = getenv("DARKMAP_HELPER_CPU");   /* 0: never (to measure what it gives) */
	keep_off = on && !(e && *e == '0');
}

int dm_helper_create_off(pthread_t *t, pthread_attr_t *attr, void *(*fn)(void *), void *arg, int cpu)
{
	pthread_attr_t own;
	if (!attr && pthread_attr_init(attr = &own))
		return pthread_create(t, NULL, fn, arg);
	/* the set it may run on, from the start: this thread's less cpu */
	cpu_set_t set;
	if (cpu >= 0 && cpu < CPU_SETSIZE && !pthread_getaffinity_np(pthread_self(), sizeof set, &set) &&
	    CPU_ISSET(cpu, &set) && CPU_COUNT(&set) > 1) {
		CPU_CLR(cpu, &set);
		pthread_attr_setaffinity_np(attr, sizeof set, &set);
	}
	int rc = pthread_create(t, attr, fn, arg);
	if (attr == &own)
		pthread_attr_destroy(&own);
	return rc;
}

int dm_helper_create(pthread_t *t, pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	if (!keep_off)
		return pthread_create(t, attr, fn, arg);
	return dm_helper_create_off(t, attr, fn, arg, sched_getcpu());
}
