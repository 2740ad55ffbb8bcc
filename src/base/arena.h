/* Bump allocator reset between records: decoding one MRT record allocates only here.
 * Chunks are kept across resets, so steady-state decoding does no malloc at all. */
#ifndef DM_BASE_ARENA_H
#define DM_BASE_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head;  /* chunk being filled */
	struct arena_chunk *all;   /* every chunk, for free */
	size_t used;               /* bytes used in head */
	size_t limit;              /* max total bytes (0: unlimited); guards absurd lengths */
	size_t total;
};

void arena_init(struct arena *a, size_t limit);
/* Returns 16-byte aligned memory or NULL when the limit is reached. */
void *arena_alloc(struct arena *a, size_t n);
void arena_reset(struct arena *a);
void arena_free(struct arena *a);

#endif
