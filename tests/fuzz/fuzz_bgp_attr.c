/* libFuzzer target: a path attribute block, in the contexts MRT uses (BGP4MP 2/4-byte,
 * TABLE_DUMP_V2 with the abbreviated MP_REACH_NLRI, ADD-PATH). */
#include <stddef.h>
#include <stdint.h>

#include "bgp/bgp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct bgp_ctx ctx = {
		.asn_size = (uint8_t)(data[0] & 1 ? 4 : 2),
		.addpath = (uint8_t)(data[0] >> 1 & 1),
		.mp_reach_abbrev = (uint8_t)(data[0] >> 2 & 1),
		.afi = (uint16_t)(data[0] & 8 ? DM_AFI_IPV6 : DM_AFI_IPV4),
		.safi = DM_SAFI_UNICAST,
	};
	struct arena a;
	arena_init(&a, 64 << 20);
	struct cur c = cur_make(data + 1, size - 1);
	struct bgp_attrs attrs;
	struct dm_error err;
	bgp_attrs_decode(&c, &ctx, &a, &attrs, &err);
	volatile uint32_t x = attrs.n_communities + attrs.mp_reach.nlri.n + attrs.path.nseg;
	for (uint16_t i = 0; i < attrs.path.nseg; i++)
		x += attrs.path.seg[i].count ? attrs.path.seg[i].asn[attrs.path.seg[i].count - 1] : 0;
	(void)x;
	arena_free(&a);
	return 0;
}
