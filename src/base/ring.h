/* Growing a ring buffer (a queue kept circular in one array): detect's runs of baseline values
 * (src/detect/detect.c) and the pipeline's recent losses (src/pipeline/pipeline.c). */
#ifndef DM_BASE_RING_H
#define DM_BASE_RING_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A new array of new_cap items of size bytes holding the len items of the ring buf (cap items,
 * the first at head) in order from index 0; the caller frees buf and sets head to 0. NULL when
 * out of memory (buf unchanged). */
static inline void *dm_ring_grown(const void *buf, size_t cap, size_t head, size_t len, size_t size,
                                  size_t new_cap)
{
	uint8_t *v = malloc(new_cap * size);
	if (!v || !len)
		return v;
	size_t first = cap - head < len ? cap - head : len;   /* the items before the wrap */
	memcpy(v, (const uint8_t *)buf + head * size, first * size);
	memcpy(v + first * size, buf, (len - first) * size);
	return v;
}

#endif
