/* Buffers, the partition of a prefix, message headers. */
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_impl.h"

void cl_buf_free(struct cl_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

void cb_reset(struct cl_buf *b)
{
	b->n = 0;
	b->failed = 0;
}

void cb_bytes(struct cl_buf *b, const void *p, size_t n)
{
	if (b->failed)
		return;
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->n + n)
			cap *= 2;
		uint8_t *q = realloc(b->p, cap);
		if (!q) {
			b->failed = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->n, p, n);
	b->n += n;
}

void cb_u8(struct cl_buf *b, uint8_t v) { cb_bytes(b, &v, 1); }

void cb_u16(struct cl_buf *b, uint16_t v)
{
	uint8_t x[2];
	be16_put(x, v);
	cb_bytes(b, x, 2);
}

void cb_u32(struct cl_buf *b, uint32_t v)
{
	uint8_t x[4];
	be32_put(x, v);
	cb_bytes(b, x, 4);
}

void cb_u64(struct cl_buf *b, uint64_t v)
{
	cb_u32(b, (uint32_t)(v >> 32));
	cb_u32(b, (uint32_t)v);
}

void cb_put32_at(struct cl_buf *b, size_t at, uint32_t v)
{
	if (!b->failed && at + 4 <= b->n)
		be32_put(b->p + at, v);
}

void cb_entity(struct cl_buf *b, const struct sig_entity *e)
{
	uint8_t x[4] = { e->kind, e->afi, (uint8_t)e->cc[0], (uint8_t)e->cc[1] };
	cb_bytes(b, x, 4);
	cb_u32(b, e->asn);
}

int cur_entity(struct cur *c, struct sig_entity *e)
{
	uint8_t x[4];
	memset(e, 0, sizeof *e);
	if (cur_copy(c, x, 4) || cur_u32(c, &e->asn))
		return -1;
	if (x[0] < SIG_COUNTRY || x[0] > SIG_GLOBAL || (x[1] != DM_AFI_IPV4 && x[1] != DM_AFI_IPV6))
		return -1;
	e->kind = x[0];
	e->afi = x[1];
	e->cc[0] = (char)x[2];
	e->cc[1] = (char)x[3];
	return 0;
}

/* IPv4 by /8 and IPv6 by /16: a prefix and its more-specifics share the bucket. Buckets are
 * spread over the partitions by a multiplicative hash (neighbouring /8s, busy or not, apart). */
uint32_t cl_partition_of(const struct dm_prefix *p, uint32_t nparts)
{
	if (nparts <= 1)
		return 0;
	uint32_t bucket;
	if (p->afi == DM_AFI_IPV4 && p->len >= 8)
		bucket = p->b[0];
	else if (p->afi == DM_AFI_IPV6 && p->len >= 16)
		bucket = 256u + ((uint32_t)p->b[0] << 8 | p->b[1]);
	else
		return CL_CONTROL;
	return 1 + (uint32_t)(((uint64_t)(bucket * 2654435761u) * (nparts - 1)) >> 32);
}

int cl_msg_seq(const uint8_t *msg, size_t len, uint32_t *seq, uint32_t *part)
{
	struct cur c = cur_make(msg, len);
	uint8_t k;
	if (cur_u8(&c, &k) || cur_u32(&c, seq))
		return -1;
	if (part)
		*part = CL_ALL;
	if ((k == CL_M_SIZES || k == CL_M_ROWS) && part && cur_u32(&c, part))
		return -1;
	return k == CL_M_BARRIER || k == CL_M_SIZES || k == CL_M_SUMS || k == CL_M_ROWS ? 0 : -1;
}
