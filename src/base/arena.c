#include "base/arena.h"

#include <stdint.h>
#include <stdlib.h>

struct arena_chunk {
	struct arena_chunk *next_all;
	struct arena_chunk *next_free;
	size_t size;
	_Alignas(16) unsigned char data[];
};

/* The first chunk is small (most records need a few KB; a 256 KB first chunk per context cost
 * the fuzz targets a fresh mmap per run under ASan), later ones ARENA_CHUNK. */
enum { ARENA_FIRST = 16 * 1024, ARENA_CHUNK = 256 * 1024 };

void arena_init(struct arena *a, size_t limit)
{
	a->head = NULL;
	a->all = NULL;
	a->cur = NULL;
	a->room = 0;
	a->limit = limit;
	a->total = 0;
}

static struct arena_chunk *chunk_new(struct arena *a, size_t need)
{
	size_t chunk = a->all ? ARENA_CHUNK : ARENA_FIRST;
	size_t size = need > chunk ? need : chunk;
	if (a->limit && a->total + size > a->limit)
		return NULL;
	struct arena_chunk *c = malloc(sizeof *c + size);
	if (!c)
		return NULL;
	c->size = size;
	c->next_all = a->all;
	c->next_free = NULL;
	a->all = c;
	a->total += size;
	return c;
}

/* Start filling chunk c with an allocation of n bytes (n <= c->size). */
static void *take(struct arena *a, struct arena_chunk *c, size_t n)
{
	a->head = c;
	a->cur = c->data + n;
	a->room = c->size - n;
	return c->data;
}

/* n is rounded already (arena_alloc) and more than the head chunk has left. */
void *arena_alloc_slow(struct arena *a, size_t n)
{
	/* Reuse a later chunk from a previous round if one is big enough. */
	if (a->head) {
		for (struct arena_chunk *c = a->head->next_free; c; c = c->next_free) {
			if (c->size >= n)
				return take(a, c, n);
		}
	}
	struct arena_chunk *c = chunk_new(a, n);
	if (!c)
		return NULL;
	/* Chain the new chunk after head in the free order so reset walks it. */
	if (a->head) {
		c->next_free = a->head->next_free;
		a->head->next_free = c;
	}
	return take(a, c, n);
}

void arena_reset(struct arena *a)
{
	/* Rebuild the reuse chain from all chunks; start at the first. */
	struct arena_chunk *prev = NULL;
	for (struct arena_chunk *c = a->all; c; c = c->next_all) {
		c->next_free = prev;
		prev = c;
	}
	a->head = prev;
	a->cur = prev ? prev->data : NULL;
	a->room = prev ? prev->size : 0;
}

void arena_free(struct arena *a)
{
	struct arena_chunk *c = a->all;
	while (c) {
		struct arena_chunk *n = c->next_all;
		free(c);
		c = n;
	}
	arena_init(a, a->limit);
}
