/* Small byte-range helpers for the hot paths (keys and blocks of 4-100 bytes): inline, no libc
 * call. */
#ifndef DM_BASE_BYTES_H
#define DM_BASE_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Equal bytes: eight at a time, the last word overlapping the one before. */
static inline int bytes_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint64_t x, y;
	if (n < 8 && n >= 4) {   /* an IPv4 address (an element's peer, its prefix): two words */
		uint32_t a0, a1, b0, b1;
		memcpy(&a0, a, 4);
		memcpy(&b0, b, 4);
		memcpy(&a1, a + n - 4, 4);
		memcpy(&b1, b + n - 4, 4);
		return a0 == b0 && a1 == b1;
	}
	if (n < 8) {
		for (size_t i = 0; i < n; i++)
			if (a[i] != b[i])
				return 0;
		return 1;
	}
	for (size_t i = 0; i + 8 <= n; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			return 0;
	}
	memcpy(&x, a + n - 8, 8);   /* the last 8 bytes (overlapping the loop's last word) */
	memcpy(&y, b + n - 8, 8);
	return x == y;
}

/* Copies n <= 64 bytes as two overlapping runs of a fixed size: no libc call, no byte loop. */
static inline void bytes_copy64(uint8_t *dst, const uint8_t *src, size_t n)
{
	if (n >= 32) {
		memcpy(dst, src, 32);
		memcpy(dst + n - 32, src + n - 32, 32);
	} else if (n >= 16) {
		memcpy(dst, src, 16);
		memcpy(dst + n - 16, src + n - 16, 16);
	} else if (n >= 8) {
		memcpy(dst, src, 8);
		memcpy(dst + n - 8, src + n - 8, 8);
	} else {
		for (size_t i = 0; i < n; i++)
			dst[i] = src[i];
	}
}

#endif
