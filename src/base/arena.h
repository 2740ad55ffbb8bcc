/* Bump allocator reset between records: decoding one MRT record allocates only here.
 * Chunks are kept across resets, so steady-state decoding does no malloc at all. */
#ifndef DM_BASE_ARENA_H
#define DM_BASE_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head;  /* chunk being filled */
	struct arena_chunk *all;   /* every chunk, for free */
	unsigned char *cur;        /* next free byte of head (NULL before the first chunk) */
	size_t room;               /* bytes left in head after cur */
	size_t limit;              /* max total bytes (0: unlimited); guards absurd lengths */
	size_t total;
};

void arena_init(struct arena *a, size_t limit);
void *arena_alloc_slow(struct arena *a, size_t n);

/* Returns 16-byte aligned memory or NULL when the limit is reached. The common case (room left
 * in the chunk being filled) is inline: decoding calls this several times per record, and the
 * call with its chunk-header loads was 3-4% of decoding's instructions (callgrind, issue 12). */
static inline void *arena_alloc(struct arena *a, size_t n)
{
	n = n ? (n + 15) & ~(size_t)15 : 16;
	if (a->room >= n) {
		void *p = a->cur;
		a->cur += n;
		a->room -= n;
		return p;
	}
	return arena_alloc_slow(a, n);
}
void arena_reset(struct arena *a);
void arena_free(struct arena *a);

#endif
