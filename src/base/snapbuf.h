/* The byte buffer exact state snapshots are written into (src/rib/rib_snap.c,
 * src/signal/signal_snap.c, src/cluster/snap.c) and the reads that load them back through a
 * bounds-checked struct cur. Values are in the machine's own byte order and arrays are dumped
 * as the structs they are: a snapshot is read back by the same darkmap build (docs/scale.md),
 * and the header records the byte order and each struct's size so that another build refuses it
 * instead of misreading it. */
#ifndef DM_BASE_SNAPBUF_H
#define DM_BASE_SNAPBUF_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/cursor.h"

struct snapbuf {
	uint8_t *p;
	size_t n, cap;
	int failed;             /* out of memory: the snapshot is incomplete and must not be used */
};

static inline void snap_put(struct snapbuf *b, const void *src, size_t n)
{
	if (b->failed || !n)
		return;
	if (b->cap - b->n < n) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap - b->n < n)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, src, n);
	b->n += n;
}
static inline void snap_u8(struct snapbuf *b, uint8_t v) { snap_put(b, &v, 1); }
static inline void snap_u32(struct snapbuf *b, uint32_t v) { snap_put(b, &v, 4); }
static inline void snap_u64(struct snapbuf *b, uint64_t v) { snap_put(b, &v, 8); }
static inline void snap_i64(struct snapbuf *b, int64_t v) { snap_put(b, &v, 8); }
/* An array: its element count, then its bytes. */
static inline void snap_arr(struct snapbuf *b, const void *a, uint32_t n, size_t elem)
{
	snap_u32(b, n);
	snap_put(b, a, (size_t)n * elem);
}
static inline void snapbuf_free(struct snapbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

static inline int snap_ru8(struct cur *c, uint8_t *v) { return cur_copy(c, v, 1); }
static inline int snap_ru32(struct cur *c, uint32_t *v) { return cur_copy(c, v, 4); }
static inline int snap_ru64(struct cur *c, uint64_t *v) { return cur_copy(c, v, 8); }
static inline int snap_ri64(struct cur *c, int64_t *v) { return cur_copy(c, v, 8); }
/* Reads an array's count into *n (at most max) and checks its bytes are there; *src points at
 * them (copied by the caller into storage it sized from *n). 0 or -1. */
static inline int snap_rarr(struct cur *c, uint32_t *n, uint32_t max, size_t elem, const uint8_t **src)
{
	if (snap_ru32(c, n) || *n > max || cur_left(c) / elem < *n)
		return -1;
	*src = c->p;
	c->p += (size_t)*n * elem;
	return 0;
}

#endif
