/* Shared by the differential fuzz targets (fuzz_bgp_update, fuzz_mrt): each element a decoder
 * hands out, kept as plain values (no pointers) so that two decodings of the same bytes compare
 * with memcmp, and check(), which aborts on a difference. */
#ifndef DM_FUZZ_ELEMS_H
#define DM_FUZZ_ELEMS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mrt/elem.h"

enum { FUZZ_MAX_ELEMS = 1 << 14 };

struct fuzz_seen {
	uint32_t n;   /* elements handed out; only the first FUZZ_MAX_ELEMS kept */
	struct {
		char type;
		uint8_t has_path_id, origin_set, has_nh, origin;
		uint32_t path_id, origin_as, peer_asn;
		struct dm_prefix prefix;
		struct dm_ip nh, peer;
	} e[FUZZ_MAX_ELEMS];
};

static inline void fuzz_check(int ok)
{
	if (!ok)
		abort();
}

/* A dm_elem_fn: keeps what replay reads of e (type, peer, prefix, path id, ORIGIN, origin AS,
 * next hop) in the fuzz_seen arg. */
static inline void fuzz_seen_record(const struct dm_elem *e, void *arg)
{
	struct fuzz_seen *s = arg;
	if (s->n >= FUZZ_MAX_ELEMS) {
		s->n++;
		return;
	}
	memset(&s->e[s->n], 0, sizeof s->e[s->n]);
	s->e[s->n].type = e->type;
	s->e[s->n].has_path_id = e->has_path_id;
	s->e[s->n].path_id = e->path_id;
	s->e[s->n].prefix = e->prefix;
	s->e[s->n].peer_asn = e->peer_asn;
	if (e->peer_ip)
		s->e[s->n].peer = *e->peer_ip;
	if (e->attrs) {
		int is_set = 0;
		s->e[s->n].origin_as = bgp_attrs_origin_as(e->attrs, &is_set);
		s->e[s->n].origin_set = (uint8_t)is_set;
		s->e[s->n].origin = e->attrs->origin;
	}
	if (e->next_hop) {
		s->e[s->n].has_nh = 1;
		s->e[s->n].nh = *e->next_hop;
	}
	s->n++;
}

/* Aborts unless a and b saw the same elements in the same order. */
static inline void fuzz_seen_same(const struct fuzz_seen *a, const struct fuzz_seen *b)
{
	fuzz_check(a->n == b->n);
	for (uint32_t i = 0; i < a->n && i < FUZZ_MAX_ELEMS; i++)
		fuzz_check(!memcmp(&a->e[i], &b->e[i], sizeof a->e[i]));
}

#endif
