/* Bounds-checked big-endian reader over a byte range.
 * Every decoder in darkmap reads through a struct cur: no raw indexing
 * without a length check, so a corrupt length cannot read past its record. */
#ifndef DM_BASE_CURSOR_H
#define DM_BASE_CURSOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cur {
	const uint8_t *p;    /* next byte to read */
	const uint8_t *end;  /* one past the last readable byte */
	const uint8_t *base; /* start of the enclosing record: offsets are p - base */
};

static inline struct cur cur_make(const void *buf, size_t len)
{
	struct cur c = { (const uint8_t *)buf, (const uint8_t *)buf + len, (const uint8_t *)buf };
	return c;
}

static inline size_t cur_left(const struct cur *c) { return (size_t)(c->end - c->p); }
static inline size_t cur_off(const struct cur *c) { return (size_t)(c->p - c->base); }

static inline int cur_u8(struct cur *c, uint8_t *v)
{
	if (c->end - c->p < 1)
		return -1;
	*v = c->p[0];
	c->p += 1;
	return 0;
}

static inline int cur_u16(struct cur *c, uint16_t *v)
{
	if (c->end - c->p < 2)
		return -1;
	*v = (uint16_t)((unsigned)c->p[0] << 8 | c->p[1]);
	c->p += 2;
	return 0;
}

static inline int cur_u32(struct cur *c, uint32_t *v)
{
	if (c->end - c->p < 4)
		return -1;
	*v = (uint32_t)c->p[0] << 24 | (uint32_t)c->p[1] << 16 | (uint32_t)c->p[2] << 8 | c->p[3];
	c->p += 4;
	return 0;
}

static inline int cur_copy(struct cur *c, void *dst, size_t n)
{
	if ((size_t)(c->end - c->p) < n)
		return -1;
	memcpy(dst, c->p, n);
	c->p += n;
	return 0;
}

static inline int cur_skip(struct cur *c, size_t n)
{
	if ((size_t)(c->end - c->p) < n)
		return -1;
	c->p += n;
	return 0;
}

/* A sub-view of exactly len bytes, sharing base so offsets stay record-relative:
 * the attribute decoder cannot read past its attribute. */
static inline int cur_take(struct cur *c, size_t len, struct cur *sub)
{
	if ((size_t)(c->end - c->p) < len)
		return -1;
	sub->p = c->p;
	sub->end = c->p + len;
	sub->base = c->base;
	c->p += len;
	return 0;
}

/* Unchecked big-endian loads for bytes already validated by a cursor. */
static inline uint16_t be16(const uint8_t *p) { return (uint16_t)((unsigned)p[0] << 8 | p[1]); }
static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Big-endian stores, for encoders writing into a buffer they sized (BGP messages). */
static inline void be16_put(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
