/* Transparent huge pages for the start of malloc's heap, for short commands whose buffers are
 * all first touched in one run (dump: the decompression ring, the batches' output, the decoder's
 * state). */
#ifndef DM_BASE_HUGEHEAP_H
#define DM_BASE_HUGEHEAP_H

#include <stddef.h>

/* Makes about bytes of malloc's heap, from the next allocation on, eligible for transparent
 * huge pages (madvise: THP is often in "madvise" mode). With glibc (not under the sanitizers)
 * malloc's thresholds are set whether or not the hint can be given: blocks below bytes + 4 MiB
 * come from the heap and a free keeps up to 2 x (bytes + 2 MiB) of it. The hint itself is not
 * given where the heap cannot grow in place, nor with another allocator; without THP it does
 * nothing. Returns 1 when the hint was given. */
int hugeheap_reserve(size_t bytes);

#endif
