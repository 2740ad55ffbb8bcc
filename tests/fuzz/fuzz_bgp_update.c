/* libFuzzer target: one BGP message (with marker) under every decoding context: the first
 * byte chooses 2/4-byte ASNs, ADD-PATH, and the session address family. */
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
		.afi = (uint16_t)(data[0] & 4 ? DM_AFI_IPV6 : DM_AFI_IPV4),
		.safi = DM_SAFI_UNICAST,
	};
	struct arena a;
	arena_init(&a, 64 << 20);
	struct cur c = cur_make(data + 1, size - 1);
	struct bgp_msg m;
	struct dm_error err;
	if (data[0] & 8) {
		bgp_update_decode(&c, &ctx, &a, &m.u.update, &err);
	} else if (bgp_msg_decode(&c, &ctx, &a, &m, &err) == 0 && m.type == BGP_MSG_UPDATE) {
		const struct bgp_update *u = &m.u.update;
		volatile unsigned x = u->announced.n + u->withdrawn.n + u->attrs.path.nseg;
		(void)x;
		int is_set;
		as_path_origin(&u->attrs.path, &is_set);
	}
	arena_free(&a);
	return 0;
}
