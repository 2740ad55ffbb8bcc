/* Growable arrays for the big tables (RIB nodes and prefixes, signal state): arrays that reach
 * BIGARR_MIN bytes live in their own anonymous mappings and grow with mremap, so the kernel moves
 * page tables instead of copying, and fresh pages are already zero. Transparent huge pages back
 * arrays appended to from 2 MiB on (bigarr_grow_append, bigarr_need_n) and any array from 64 MiB
 * on (bigarr.c grow_to says why). Smaller ones use malloc. */
#ifndef DM_BASE_BIGARR_H
#define DM_BASE_BIGARR_H

#include <stddef.h>
#include <stdint.h>

#include "base/prefault.h"

/* 64 KiB: from there on a doubling moves page tables (mremap) instead of copying into fresh
 * pages, each of them a fault (1 MiB before: the copies and their faults were a third of a
 * one-peer table's remaining faults, issue 12); below it a mapping's page rounding would cost
 * more than malloc's. */
enum { BIGARR_MIN = 64u << 10 };

/* Resizes p from old to size bytes (either may be below BIGARR_MIN); NULL on failure, p kept. */
void *bigarr_resize(void *p, size_t old, size_t size);
void bigarr_free(void *p, size_t size);
/* bigarr_resize for an array appended to an element at a time (bigarr_grow's appends; an array
 * whose size another's appends set): from 2 MiB on in transparent huge pages, the growth that
 * first reaches 2 MiB into a fresh mapping (the old bytes copied) so that they cover it from its
 * start (bigarr.c says why). */
void *bigarr_resize_append(void *p, size_t old, size_t size);
/* size zeroed bytes (freed with bigarr_free(p, size)): fresh zero pages from BIGARR_MIN on. */
void *bigarr_zalloc(size_t size);
/* Ensures *cap >= need elements of elem bytes, doubling from 64. zero: new elements are zeroed
 * (free for mapped arrays). Returns 0 or -1 (out of memory, *arr unchanged). need one past
 * *cap is taken for an append (bigarr_grow_append). */
int bigarr_grow(void **arr, uint32_t *cap, uint32_t need, size_t elem, int zero);
/* bigarr_grow with its common case (room left) inline, for arrays appended to add elements at a
 * time (need = the count after the append): a mapped array's next step of pages is asked for
 * ahead of its end (base/prefault.h), and an array grown by an append goes into huge pages from
 * 2 MiB on (bigarr_resize_append). */
int bigarr_grow_append(void **arr, uint32_t *cap, uint32_t need, size_t elem, int zero);
static inline int bigarr_need_n(void **arr, uint32_t *cap, uint32_t need, uint32_t add, size_t elem, int zero)
{
	size_t span = (size_t)add * elem;   /* the bytes this append writes, ending at end */
	if (need <= *cap) {
		size_t end = (size_t)need * elem, bytes = (size_t)*cap * elem;
		/* A mapped array whose writes enter a step with less than PREFAULT_AHEAD after it
		 * grows now (doubling, as it would at its end), so that the steps asked for ahead reach
		 * into the new room while these are written. Grown only at its end, the writer's first
		 * stores there found no page and faulted (13 us each here), a step of them a doubling. */
		if ((end & (PREFAULT_STEP - 1)) < span && bytes >= BIGARR_MIN && *cap <= UINT32_MAX / 2 &&
		    (end & ~(size_t)(PREFAULT_STEP - 1)) + PREFAULT_STEP + PREFAULT_AHEAD > bytes &&
		    !bigarr_grow_append(arr, cap, *cap + 1, elem, zero))   /* out of memory: at the end, as before */
			bytes = (size_t)*cap * elem;
		prefault_append(*arr, end, span, bytes);
		return 0;
	}
	return need - add <= *cap ? bigarr_grow_append(arr, cap, need, elem, zero)
	                          : bigarr_grow(arr, cap, need, elem, zero);
}
/* one element at a time */
static inline int bigarr_need(void **arr, uint32_t *cap, uint32_t need, size_t elem, int zero)
{
	return bigarr_need_n(arr, cap, need, 1, elem, zero);
}
/* Asks for transparent huge pages on the whole 2 MiB pages inside [p, p + len): memory the caller
 * knows it will fill (a hash table it is about to rehash into, a lower bound of what a build
 * writes). A huge page is cleared and mapped whole at its first touch, so a partly used one
 * would hold up to 2 MiB more than 4 KiB pages do: nothing is asked past len. */
void bigarr_huge(void *p, size_t len);
/* bigarr_huge, and all of [p, p + len) backed now in one call (prefault_now): for memory written
 * all over at once (a hash table being rehashed into, an array filled in one pass), where each
 * 4 KiB page's fault would cost twice as much, and a read before the write (a probe of an empty
 * slot) one fault more. Not for memory filled over a while as other memory is given back (a
 * build's nodes as its sorted input is released): that would raise the peak. */
void bigarr_huge_now(void *p, size_t len);
/* Gives back the whole pages of a mapped array of cap bytes past its first used bytes: pages
 * populated ahead of appends that have not come yet (base/prefault.h), which would otherwise
 * count in a peak. They read as zero when touched again. Smaller (malloc'd) arrays: nothing. */
void bigarr_trim(void *p, size_t used, size_t cap);

#endif
