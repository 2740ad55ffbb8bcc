/* Pages made ahead of a growing array's writes, on a helper thread (issue 12).
 *
 * A 4 KiB page's first touch is a page fault, and on the virtual machines this project runs on a
 * fault is dear (bench/touch.c: 2.3-2.7 ms a MB by faults, 1.2-1.6 populated in one call, 0.06
 * as huge pages). Replaying one peer's full table first touches about 45 MB, nearly all of it
 * appended in order (prefixes, their states, attribute sets and bytes, table pages, entities):
 * a third of the main thread's time went to the faults. Huge pages would cut them but cost up
 * to 2 MiB a growing array at its end (the 96 bytes/route budget has no room for that); here a
 * helper thread populates (MADV_POPULATE_WRITE) a small step ahead of each array's end, and reads
 * a byte of each page (the first access after populating still traps on these machines:
 * prefault.c), so the writer finds its pages there and at most two steps an array are backed
 * before they are written.
 *
 * Requests are hints: a full queue drops one, a range unmapped meanwhile (an array moved by
 * mremap) makes the call fail harmlessly (prefault_unmapping keeps the reads off it), and
 * populating or reading never changes a byte of memory. Off
 * where MADV_POPULATE_WRITE is unknown (kernels before 5.14: the first call says EINVAL), on one
 * core, and with DARKMAP_PREFAULT=0. On a busy machine it still pays: a populated MB costs half
 * the CPU of a faulted one, and what the helper has not reached yet the writer faults in. */
#ifndef DM_BASE_PREFAULT_H
#define DM_BASE_PREFAULT_H

#include <stddef.h>
#include <stdint.h>

/* The step: small, as each array may hold up to three populated and unwritten (the one being
 * written and PREFAULT_AHEAD after it). Two steps ahead, not one: with one, a writer filling a
 * step in about 0.25 ms (a table's prefix states) often reached the next before the helper, which
 * polls every 0.2 ms, had populated it (issue 12: 2,000 faults left of a one-peer table's
 * replay, 1,000 with two). Arrays from 64 KiB on (1 MiB before: a table's arrays faulted their
 * first MiB each, about 900 faults); the unwritten steps are given back before a close allocates
 * (bigarr_trim). */
enum { PREFAULT_STEP = 32u << 10, PREFAULT_MIN = 64u << 10, PREFAULT_AHEAD = 2 * PREFAULT_STEP };

/* Asks for [p, p + len) to be populated for writing, soon, on the helper thread. */
void prefault_request(void *p, size_t len);

/* Populates the whole pages around [p, p + len) now, in one call (about half the cost of a fault
 * a page): for memory written all over at once, such as a hash table being rehashed into.
 * Returns 0, or -1 where it could not be done (off, unknown to the kernel, not mapped). */
int prefault_now(void *p, size_t len);

/* An array of cap bytes at base was written up to `end` bytes, one element of elem bytes more
 * than before: when that end reached a step's start B (end in [B, B + elem)), the PREFAULT_AHEAD
 * bytes after the step at B are asked for (within cap), while the writer fills the one at B.
 * Arrays of cap under PREFAULT_MIN are left alone. Inline: it runs once per appended element. */
static inline void prefault_append(void *base, size_t end, size_t elem, size_t cap)
{
	if ((end & (PREFAULT_STEP - 1)) < elem && cap >= PREFAULT_MIN) {
		size_t next = (end & ~(size_t)(PREFAULT_STEP - 1)) + PREFAULT_STEP;
		if (next < cap)
			prefault_request((char *)base + next, cap - next < PREFAULT_AHEAD ? cap - next : PREFAULT_AHEAD);
	}
}

/* Counts for tests: requests made, populated by the helper, failed there (the range no longer
 * mapped), dropped (queue full, or off); untouched: populated, but not read through (memory was
 * unmapped or moved meanwhile: prefault_unmapping). */
struct prefault_stats {
	uint64_t requested, populated, failed, dropped, untouched;
};
void prefault_stats(struct prefault_stats *out);

/* To be called before unmapping or moving (munmap, mremap, free) any memory a request may have
 * named: the helper reads each page it populated (prefault.c says why), and stops reading the
 * ranges asked for before this call. */
void prefault_unmapping(void);

#endif
