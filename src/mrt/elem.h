/* Elements: one route event per prefix, BGPStream-style. The common currency between the
 * decoder and everything above it (JSON output, the RIB, the signal). */
#ifndef DM_MRT_ELEM_H
#define DM_MRT_ELEM_H

#include <stdint.h>

#include "base/addr.h"
#include "bgp/bgp.h"
#include "mrt/mrt.h"

enum dm_elem_type {
	DM_ELEM_RIB = 'R',        /* a RIB entry (TABLE_DUMP, TABLE_DUMP_V2, BGP4MP_ENTRY) */
	DM_ELEM_ANNOUNCE = 'A',
	DM_ELEM_WITHDRAW = 'W',
	DM_ELEM_STATE = 'S',      /* peer session state change */
};

struct dm_elem {
	char type;                      /* enum dm_elem_type */
	uint32_t ts, usec;
	const struct dm_ip *peer_ip;
	uint32_t peer_asn;
	struct dm_prefix prefix;        /* A, W, R */
	uint32_t path_id;
	uint8_t has_path_id;
	const struct bgp_attrs *attrs;  /* A, R (NULL for W, S) */
	const struct dm_ip *next_hop;   /* A, R: NEXT_HOP or MP_REACH next hop; NULL if none */
	uint16_t old_state, new_state;  /* S */
};

typedef void (*dm_elem_fn)(const struct dm_elem *e, void *arg);

/* Calls fn for each element of a decoded record, in record order: for an UPDATE, withdrawals
 * (withdrawn routes, then MP_UNREACH) before announcements (NLRI, then MP_REACH).
 * Returns the number of elements. */
unsigned mrt_elems(const struct mrt_ctx *ctx, const struct mrt_rec *rec, dm_elem_fn fn, void *arg);

/* The elements of one decoded BGP UPDATE, in the same order; tmpl gives the time and the peer
 * (type, prefix, path id, attrs and next hop are set here). Shared by MRT records and live
 * sources (BMP route monitoring, BGP sessions). Returns the number of elements. */
unsigned bgp_update_elems(const struct bgp_update *u, const struct dm_elem *tmpl, dm_elem_fn fn, void *arg);

#endif
