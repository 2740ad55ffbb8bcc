/* Transparent huge pages for the start of malloc's heap, for short commands whose buffers are
 * all first touched in one run (dump: the decompression ring, the batches' output, the decoder's
 * state). */
#ifndef DM_BASE_HUGEHEAP_H
#define DM_BASE_HUGEHEAP_H

#include <stddef.h>

/* Makes about bytes of malloc's heap, from the next allocation on, eligible for transparent
 * huge pages (madvise: THP is often in "madvise" mode), and keeps allocations below bytes on
 * the heap. A hint: nothing changes where the heap cannot grow in place, with another allocator
 * (sanitizers) or without THP. Returns 1 when the hint was given. */
int hugeheap_reserve(size_t bytes);

#endif
