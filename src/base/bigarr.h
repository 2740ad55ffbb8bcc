/* Growable arrays for the big tables (RIB nodes and prefixes, signal state): arrays that reach
 * BIGARR_MIN bytes live in their own anonymous mappings and grow with mremap, so the kernel moves
 * page tables instead of copying, and fresh pages are already zero; from 64 MiB on, transparent
 * huge pages can back them. Smaller ones use malloc. */
#ifndef DM_BASE_BIGARR_H
#define DM_BASE_BIGARR_H

#include <stddef.h>
#include <stdint.h>

enum { BIGARR_MIN = 1u << 20 };

/* Resizes p from old to size bytes (either may be below BIGARR_MIN); NULL on failure, p kept. */
void *bigarr_resize(void *p, size_t old, size_t size);
void bigarr_free(void *p, size_t size);
/* size zeroed bytes (freed with bigarr_free(p, size)): fresh zero pages from BIGARR_MIN on. */
void *bigarr_zalloc(size_t size);
/* Ensures *cap >= need elements of elem bytes, doubling from 64. zero: new elements are zeroed
 * (free for mapped arrays). Returns 0 or -1 (out of memory, *arr unchanged). */
int bigarr_grow(void **arr, uint32_t *cap, uint32_t need, size_t elem, int zero);
/* Asks for transparent huge pages on the whole 2 MiB pages inside [p, p + len): memory the caller
 * knows it will fill (a hash table it is about to rehash into, a lower bound of what a build
 * writes). A huge page is cleared and mapped whole at its first touch, so a partly used one
 * would hold up to 2 MiB more than 4 KiB pages do: nothing is asked past len. */
void bigarr_huge(void *p, size_t len);

#endif
