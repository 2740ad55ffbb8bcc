/* What fresh memory costs on this machine: milliseconds per MB to map anonymous memory and write
 * one byte of each 4 KiB page, (a) page by page (a fault each: how malloc'd and mmap'd memory
 * of darkmap's tables is first touched), (b) in one MAP_POPULATE call, (c) with transparent huge
 * pages asked for (MADV_HUGEPAGE: a fault per 2 MiB); then what a writer pays for its stores
 * alone (the map and populate not counted) after another thread (d) populated the pages
 * (MADV_POPULATE_WRITE, as base/prefault.c's helper), (e) populated them and read a byte of
 * each. On the shadow-paging virtual machines of December 2026, (d) cost the writer 5-8 us a
 * page (the first user access to a page still traps to the hypervisor), (e) 0.3 us.
 * usage: touch [MB]; prints one line per mode: "mode ms_per_MB" (median of 5).
 *
 * Why in make bench: a ratio against bgpdump moves with the machine as much as with darkmap.
 * bgpdump holds 2-3 MB; a replay of one full table touches 50 MB, so where a page fault is
 * expensive (virtual machines whose faults trap to the host) the same darkmap is slower against
 * the same bgpdump. This line says how expensive it was where the numbers were taken. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23   /* Linux 5.14 */
#endif

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* ms to map and touch mb MB in mode 0 (faults), 1 (MAP_POPULATE), 2 (MADV_HUGEPAGE); < 0 if
 * the mapping failed */
static double one(int mode, size_t mb)
{
	size_t n = mb << 20, huge = 2u << 20;
	double t0 = now_ms();
	/* 2 MiB more, so that the huge-page case can start on a 2 MiB boundary */
	char *m = mmap(NULL, n + huge, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | (mode == 1 ? MAP_POPULATE : 0), -1, 0);
	if (m == MAP_FAILED)
		return -1;
	volatile char *p = (char *)(((size_t)m + huge - 1) & ~(huge - 1));
#ifdef MADV_HUGEPAGE
	if (mode == 2)
		madvise((void *)p, n, MADV_HUGEPAGE);
#endif
	for (size_t i = 0; i < n; i += 4096)
		p[i] = 1;
	double t = now_ms() - t0;
	munmap(m, n + huge);
	return t;
}

struct prep {
	volatile char *p;
	size_t n;
	int read;
	int rc;
};

static void *prepare(void *arg)
{
	struct prep *w = arg;
	w->rc = madvise((void *)w->p, w->n, MADV_POPULATE_WRITE);
	if (!w->rc && w->read)
		for (size_t i = 0; i < w->n; i += 4096)
			(void)w->p[i];
	return NULL;
}

/* ms the writer takes to write a byte of each page of mb MB that another thread populated
 * (read: and read); < 0 if that could not be done (an old kernel: MADV_POPULATE_WRITE unknown) */
static double after_helper(int read, size_t mb)
{
	size_t n = mb << 20;
	char *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return -1;
	struct prep w = { .p = m, .n = n, .read = read };
	pthread_t th;
	if (pthread_create(&th, NULL, prepare, &w)) {
		munmap(m, n);
		return -1;
	}
	pthread_join(th, NULL);
	double t0 = now_ms();
	for (size_t i = 0; i < n; i += 4096)
		w.p[i] = 1;
	double t = now_ms() - t0;
	munmap(m, n);
	return w.rc ? -1 : t;
}

int main(int argc, char **argv)
{
	size_t mb = argc > 1 ? (size_t)atoi(argv[1]) : 32;
	if (mb == 0 || mb > 4096) {
		fprintf(stderr, "usage: touch [MB 1..4096]\n");
		return 2;
	}
	static const char *const name[3] = { "4KiB-faults", "populate", "huge-pages" };
	for (int mode = 0; mode < 3; mode++) {
		double t[5];
		for (int i = 0; i < 5; i++)
			if ((t[i] = one(mode, mb)) < 0) {
				perror("touch: mmap");
				return 1;
			}
		qsort(t, 5, sizeof *t, cmp_double);
		printf("%s %.3f\n", name[mode], t[2] / (double)mb);
	}
	static const char *const helped[2] = { "written-after-helper-populated", "written-after-helper-populated-and-read" };
	for (int read = 0; read < 2; read++) {
		double t[5];
		int ok = 1;
		for (int i = 0; i < 5 && ok; i++)
			ok = (t[i] = after_helper(read, mb)) >= 0;
		if (!ok)
			continue;   /* no MADV_POPULATE_WRITE here: no line */
		qsort(t, 5, sizeof *t, cmp_double);
		printf("%s %.3f\n", helped[read], t[2] / (double)mb);
	}
	return 0;
}
