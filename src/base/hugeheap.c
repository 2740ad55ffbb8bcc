#include "base/hugeheap.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <sys/mman.h>

/* Why: a 4 KiB page's first touch is a page fault, and on some machines a fault is dear: on the
 * AMD EPYC virtual machines of December 2026 (bench/touch.c) 2.6 ms a MB, against 0.06 ms with
 * 2 MiB pages. dump -m of a 6 MB update file first touches about 3 MB (800 faults, a quarter of
 * its 30 ms); with its heap on huge pages 300 faults and 15% less time (docs/dump.md, "Page
 * faults on huge pages"). glibc can do this itself (GLIBC_TUNABLES=glibc.malloc.hugetlb=1), but
 * only when set before the process starts; here the same is asked for once, at run time:
 * grow the heap by bytes in one piece, advise its whole 2 MiB pages, give it back to malloc
 * (which keeps it: the trim threshold is raised) and hold the part below the first whole huge
 * page with a block that is never touched, so that the allocations after it land in the
 * advised range. */
#if defined(__GLIBC__) && defined(MADV_HUGEPAGE) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define HUGEHEAP 1
static void *hugeheap_below;   /* the block below the advised range, kept for the process */
#endif

int hugeheap_reserve(size_t bytes)
{
#ifdef HUGEHEAP
	enum { HUGE = 2u << 20 };
	size_t n = bytes + HUGE;
	if (n > (64u << 20))
		return 0;
	/* from here on blocks of up to n stay on the heap, and freeing them keeps their pages */
	mallopt(M_MMAP_THRESHOLD, (int)n + HUGE);
	mallopt(M_TRIM_THRESHOLD, (int)(2 * n));
	uint8_t *p = malloc(n);
	if (!p)
		return 0;
	uintptr_t lo = (uintptr_t)p, brk_now = (uintptr_t)sbrk(0);
	uintptr_t a = (lo + HUGE - 1) & ~(uintptr_t)(HUGE - 1);
	uintptr_t e = (lo + n) & ~(uintptr_t)(HUGE - 1);
	int on_heap = brk_now != (uintptr_t)-1 && lo < brk_now && lo + n <= brk_now;
	if (!on_heap || e <= a || madvise((void *)a, e - a, MADV_HUGEPAGE)) {
		free(p);
		return 0;
	}
	free(p);
	/* the bytes below a: one block, allocated and never touched past its header (no page of
	 * it is faulted in but the first); it lives as long as the process */
	if (a - lo > 64)
		hugeheap_below = malloc(a - lo - 32);
	return 1;
#else
	(void)bytes;
	return 0;
#endif
}
