#include "base/bigarr.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

enum { BIGARR_HUGE = 64u << 20, HUGE_PAGE = 2u << 20, APPEND_HUGE = 2u << 20 };

static size_t page_round(size_t n) { return (n + 4095) & ~(size_t)4095; }
/* A mapped array's length: whole pages, from 2 MiB on whole huge pages, and such a mapping starts
 * on a 2 MiB boundary (map_aligned, and bigarr_resize's moves): only so can huge pages back an
 * array whole, its last 2 MiB included. Grown by mremap to lengths of 4 KiB multiples, where the
 * kernel picked the address, the entities (72 bytes each) landed off the boundary, their 4.6 MB
 * in 4 KiB pages (issue 12). The pages past the array's own end are never touched: address
 * space only. */
static size_t map_len(size_t n)
{
	n = page_round(n);
	return n >= HUGE_PAGE ? (n + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1) : n;
}

/* A fresh mapping; from 2 MiB on it starts on a 2 MiB boundary, so that bigarr_huge's whole
 * huge pages inside a range begin at its start, not up to 2 MiB into it. */
static void *map_aligned(size_t len)
{
	size_t extra = len >= HUGE_PAGE ? HUGE_PAGE : 0;
	char *q = mmap(NULL, len + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q == MAP_FAILED)
		return NULL;
	if (extra) {
		size_t head = (HUGE_PAGE - ((uintptr_t)q & (HUGE_PAGE - 1))) & (HUGE_PAGE - 1);
		if (head)
			munmap(q, head);
		if (extra - head)
			munmap(q + head + len, extra - head);
		q += head;
	}
	return q;
}

void *bigarr_resize(void *p, size_t old, size_t size)
{
	if (size < BIGARR_MIN)
		return realloc(p, size);
	void *q;
	if (old >= BIGARR_MIN) {
		prefault_unmapping();   /* it may move: the helper stops reading its old pages */
		size_t ol = map_len(old), nl = map_len(size);
		if (nl > ol && nl >= HUGE_PAGE) {
			/* onto a 2 MiB boundary whatever the kernel would pick (Linux 6.7 and later
			 * align a 2 MiB multiple, earlier ones nothing; map_len says why it matters):
			 * moved over a fresh aligned mapping, which MREMAP_FIXED replaces. Never grown
			 * in place then: against the kernel's choice 1.012 and 0.988 of the wall of
			 * the one-table replay and the 2002 RIB (41 and 31 paired rounds), the
			 * one-table peak 46.4 MB against 47.2 */
			void *at = map_aligned(nl);
			if (at) {
				q = mremap(p, ol, nl, MREMAP_MAYMOVE | MREMAP_FIXED, at);
				if (q != MAP_FAILED)
					return q;
				munmap(at, nl);
			}
		}
		q = mremap(p, ol, nl, MREMAP_MAYMOVE);
		return q == MAP_FAILED ? NULL : q;
	}
	q = map_aligned(map_len(size));
	if (!q)
		return NULL;
	if (p && old) {
		prefault_now(q, old);   /* written whole at once: one call, not a fault a page */
		memcpy(q, p, old);
	}
	free(p);
	return q;
}

/* The mapping the next appended array reaching 2 MiB moves into (bigarr_resize_append), its
 * first huge page populated ahead by the helper (base/prefault.h). The move's copy into a fresh
 * mapping was that huge page's fault on the writer's thread, a 2 MiB clearing each (six in a
 * one-table replay: the prefix store, the sets, the entities, the shares...), where the helper
 * clears the huge pages after the first ahead of the writer. Clearing is cheap here most of
 * the time (0.06 ms a MB, bench/touch.c) and then this changes nothing measurable (paired
 * rounds 0.986 and 1.005 of the wall); in this VM's slow spells it is about ten times dearer
 * (clear_page 7.4% of a replay's samples against 1.3%), and these six were 2.2% of the
 * samples, about 8 ms of the main thread (issue 12: the misses of the 5x row came there).
 * One at a time, made when an array first reaches 1 MiB and again at each take, so one is left
 * at the end: 2 MiB more of RSS (the one-table replay's peak 49.8 MB against 47.8; made only
 * when an array reached 1 MiB, as each next one would need it, half the moves found none and
 * the peak was the same). Taken and published atomically: the settle's helper thread grows its
 * own arrays. */
enum { SPARE_LEN = 2 * HUGE_PAGE };   /* a move's length: 2 MiB <= twice under 2 MiB <= 4 MiB */
static void *spare;

static void spare_make(void)
{
	if (__atomic_load_n(&spare, __ATOMIC_ACQUIRE))
		return;
	void *s = map_aligned(SPARE_LEN), *none = NULL;
	if (!s)
		return;
	madvise(s, SPARE_LEN, MADV_HUGEPAGE);
	/* asked for before it is published: once taken, it may be unmapped in part (spare_take) */
	prefault_request(s, HUGE_PAGE);
	if (!__atomic_compare_exchange_n(&spare, &none, s, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		prefault_unmapping();
		munmap(s, SPARE_LEN);
	}
}

/* The spare for a move to len bytes (a 2 MiB multiple), trimmed to it; NULL when there is none
 * or it is too short. */
static void *spare_take(size_t len)
{
	if (len > SPARE_LEN)
		return NULL;
	char *s = __atomic_exchange_n(&spare, NULL, __ATOMIC_ACQ_REL);
	if (s && len < SPARE_LEN) {
		prefault_unmapping();
		munmap(s + len, SPARE_LEN - len);
	}
	return s;
}

/* An appended array reaching 2 MiB goes to a fresh mapping in huge pages, its old bytes (at most
 * 1 MiB) copied: grown there by mremap instead, its first MiB stayed in 4 KiB pages and the MiB
 * after it came in 4 KiB pages too (the advice covers only what is not mapped yet), each one
 * populated and read ahead by the helper at about 1.6 ms a MB (bench/touch.c) where a huge page
 * costs 0.06, and the RIB's pfx_node, grown beside the prefix store, had no advice at all. With
 * map_len's boundaries (above), the one-table replay's arrays were 14.3 MB in huge pages of 43
 * at its close, 24.5 after; paired rounds against the code before (45 each): 0.948 of the
 * wall, 0.931 of the CPU; the 2002 RIB (115,521 routes), whose arrays just pass 2 MiB, 1.016
 * to 1.10 of the wall in four sets of 31 (issue 12). */
void *bigarr_resize_append(void *p, size_t old, size_t size)
{
	size_t len = map_len(size);
	if (size < APPEND_HUGE) {
		if (size >= APPEND_HUGE / 2 && old < APPEND_HUGE / 2)
			spare_make();   /* the first array on its way to 2 MiB */
		return bigarr_resize(p, old, size);
	}
	void *q;
	if (old < APPEND_HUGE && ((q = spare_take(len)) != NULL || (q = map_aligned(len)) != NULL)) {
		madvise(q, len, MADV_HUGEPAGE);
		if (p && old)
			memcpy(q, p, old);   /* into the spare's populated huge page, or its one fault */
		bigarr_free(p, old);
		spare_make();   /* for the next array */
		return q;
	}
	if ((q = bigarr_resize(p, old, size)) != NULL)
		madvise(q, len, MADV_HUGEPAGE);
	return q;
}

void *bigarr_zalloc(size_t size)
{
	return size < BIGARR_MIN ? calloc(1, size ? size : 1) : map_aligned(map_len(size));
}

void bigarr_free(void *p, size_t size)
{
	if (!p)
		return;
	if (size >= BIGARR_MIN) {
		prefault_unmapping();
		munmap(p, map_len(size));
	}
	else
		free(p);
}

void bigarr_huge(void *p, size_t len)
{
	uintptr_t a = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
	uintptr_t e = ((uintptr_t)p + len) & ~(uintptr_t)(HUGE_PAGE - 1);
	if (p && e > a)
		madvise((void *)a, e - a, MADV_HUGEPAGE);
}

void bigarr_huge_now(void *p, size_t len)
{
	bigarr_huge(p, len);
	if (p)
		prefault_now(p, len);
}

void bigarr_trim(void *p, size_t used, size_t cap)
{
	/* the whole pages inside [p + used, p + cap): p may be malloc's (not page-aligned) */
	uintptr_t a = ((uintptr_t)p + used + 4095) & ~(uintptr_t)4095, e = ((uintptr_t)p + cap) & ~(uintptr_t)4095;
	if (p && cap >= BIGARR_MIN && e > a)
		madvise((void *)a, e - a, MADV_DONTNEED);
}

static int grow_to(void **arr, uint32_t *cap, uint32_t need, size_t elem, int zero, int append)
{
	if (need <= *cap)
		return 0;
	uint32_t n = *cap ? *cap : 64;
	while (n < need)
		n *= 2;
	void *p = append ? bigarr_resize_append(*arr, (size_t)*cap * elem, (size_t)n * elem)
	                 : bigarr_resize(*arr, (size_t)*cap * elem, (size_t)n * elem);
	if (!p)
		return -1;
	/* The whole mapping: advising part of it would split it, and mremap moves one piece only.
	 * A huge page is cleared whole at its first touch, so each array's last one is mostly
	 * unused (up to 2 MiB an array; 9 MB of a one-peer table's 113 MB peak RSS when every array
	 * had them, issue 12). So: arrays of 64 MiB and more (at most 3%, and the TLB gain is
	 * there), and arrays appended to an element at a time from 2 MiB on (need one past cap: the
	 * prefix store, the prefix states, sets, entities), whose unwritten tails are given back
	 * before a close allocates (bigarr_trim), as the 4 KiB pages populated ahead were: their
	 * pages, populated ahead by the helper (base/prefault.h) a huge page at a time, cost a
	 * fortieth of 4 KiB ones to back, and the main thread's first store to each line waits
	 * less (a one-table replay 2.4-5.4% less wall, peak RSS within 0.2 MB: eighth round of
	 * docs/replay.md). Not arrays grown to a size at once (a build's nodes, vsub): their
	 * growth comes during a close, after the trim. */
	if ((size_t)n * elem >= BIGARR_MIN) {
		size_t end = ((size_t)*cap * elem) & ~(size_t)4095, len = map_len((size_t)n * elem);
		if (len >= BIGARR_HUGE && !append)   /* (appended ones: bigarr_resize_append) */
			madvise(p, len, MADV_HUGEPAGE);
		if (len < BIGARR_HUGE && len >= PREFAULT_MIN)   /* the pages the next appends write (a hint: base/prefault.h) */
			prefault_request((char *)p + end, len - end < PREFAULT_AHEAD ? len - end : PREFAULT_AHEAD);
	} else if (zero)
		memset((char *)p + (size_t)*cap * elem, 0, (size_t)(n - *cap) * elem);
	*arr = p;
	*cap = n;
	return 0;
}

int bigarr_grow(void **arr, uint32_t *cap, uint32_t need, size_t elem, int zero)
{
	return grow_to(arr, cap, need, elem, zero, need == *cap + 1);
}

int bigarr_grow_append(void **arr, uint32_t *cap, uint32_t need, size_t elem, int zero)
{
	return grow_to(arr, cap, need, elem, zero, 1);
}
