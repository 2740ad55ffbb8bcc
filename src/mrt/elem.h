/* MRT records -> elements (struct dm_elem, bgp/elem.h: the element is a route event, not
 * MRT's; this header keeps including it so that users of mrt_elems see the type). */
#ifndef DM_MRT_ELEM_H
#define DM_MRT_ELEM_H

#include "bgp/elem.h"
#include "mrt/mrt.h"

/* Calls fn for each element of a decoded record, in record order: for an UPDATE, withdrawals
 * (withdrawn routes, then MP_UNREACH) before announcements (NLRI, then MP_REACH).
 * Returns the number of elements. */
unsigned mrt_elems(const struct mrt_ctx *ctx, const struct mrt_rec *rec, dm_elem_fn fn, void *arg);

/* The elements of one decoded BGP UPDATE, in the same order; tmpl gives the time and the peer
 * (type, prefix, path id, attrs and next hop are set here). Shared by MRT records and live
 * sources (BMP route monitoring, BGP sessions). Returns the number of elements. */
unsigned bgp_update_elems(const struct bgp_update *u, const struct dm_elem *tmpl, dm_elem_fn fn, void *arg);

/* The prefixes of one decoded BGP UPDATE alone, in the order of bgp_update_elems (every
 * prefix an element of it is made for): for a walk that needs nothing else, e.g. replay's
 * prefetch of each prefix's hash slot before the elements are applied. */
typedef void (*dm_prefix_fn)(const struct dm_prefix *p, void *arg);
void bgp_update_prefixes(const struct bgp_update *u, dm_prefix_fn fn, void *arg);

#endif
