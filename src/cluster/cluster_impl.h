/* Message encoding shared by src/cluster's files (big-endian, read back through struct cur). */
#ifndef DM_CLUSTER_CLUSTER_IMPL_H
#define DM_CLUSTER_CLUSTER_IMPL_H

#include "base/cursor.h"
#include "cluster/cluster.h"

void cb_reset(struct cl_buf *b);
void cb_bytes(struct cl_buf *b, const void *p, size_t n);
void cb_u8(struct cl_buf *b, uint8_t v);
void cb_u16(struct cl_buf *b, uint16_t v);
void cb_u32(struct cl_buf *b, uint32_t v);
void cb_u64(struct cl_buf *b, uint64_t v);
static inline void cb_i64(struct cl_buf *b, int64_t v) { cb_u64(b, (uint64_t)v); }
void cb_put32_at(struct cl_buf *b, size_t at, uint32_t v);

static inline int cur_u64(struct cur *c, uint64_t *v)
{
	uint32_t hi, lo;
	if (cur_u32(c, &hi) || cur_u32(c, &lo))
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

static inline int cur_i64(struct cur *c, int64_t *v)
{
	uint64_t u;
	if (cur_u64(c, &u))
		return -1;
	*v = (int64_t)u;
	return 0;
}

/* Entity on the wire: kind, afi, cc[2], asn (8 bytes). */
void cb_entity(struct cl_buf *b, const struct sig_entity *e);
int cur_entity(struct cur *c, struct sig_entity *e);

#endif
