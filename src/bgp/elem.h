/* Elements: one route event per prefix, BGPStream-style. The common currency between the
 * sources (MRT archives through mrt/elem.h, live BGP sessions, BMP) and everything above them
 * (JSON output, the RIB, the signal, the pipeline). A route event, not an MRT one: it lives here
 * so that a live source need not include mrt/. */
#ifndef DM_BGP_ELEM_H
#define DM_BGP_ELEM_H

#include <stdint.h>

#include "base/addr.h"
#include "bgp/bgp.h"

enum dm_elem_type {
	DM_ELEM_RIB = 'R',        /* a RIB entry (TABLE_DUMP, TABLE_DUMP_V2, BGP4MP_ENTRY) */
	DM_ELEM_ANNOUNCE = 'A',
	DM_ELEM_WITHDRAW = 'W',
	DM_ELEM_STATE = 'S',      /* peer session state change */
};

/* RFC 4271 §8.2.2 / RFC 6396 §4.4.1 BGP FSM state numbers (old_state, new_state of S). */
enum dm_bgp_state {
	DM_BGP_IDLE = 1,
	DM_BGP_CONNECT = 2,
	DM_BGP_ACTIVE = 3,
	DM_BGP_OPENSENT = 4,
	DM_BGP_OPENCONFIRM = 5,
	DM_BGP_ESTABLISHED = 6,
};

struct dm_elem {
	char type;                      /* enum dm_elem_type */
	int64_t ts;                     /* seconds, UTC: 64-bit so that no arithmetic on it wraps */
	uint32_t usec;
	const struct dm_ip *peer_ip;
	uint32_t peer_asn;
	struct dm_prefix prefix;        /* A, W, R */
	uint32_t path_id;
	uint8_t has_path_id;
	const struct bgp_attrs *attrs;  /* A, R (NULL for W, S) */
	const struct dm_ip *next_hop;   /* A, R: NEXT_HOP or MP_REACH next hop; NULL if none */
	uint16_t old_state, new_state;  /* S: enum dm_bgp_state */
};

typedef void (*dm_elem_fn)(const struct dm_elem *e, void *arg);

#endif
