/* Elements built by hand for tests that feed the RIB and the signal directly
 * (tests/unit/test_signal.c, tests/tsan/tsan_recompute.c): an attribute set of one AS path, as
 * the decoded path the signal reads and the AS_PATH bytes the RIB keys the set on, and an
 * element of peer k (192.0.0.k+1, AS 64500 + k). */
#ifndef DM_TESTS_ATTRS_PATH_H
#define DM_TESTS_ATTRS_PATH_H

#include <stdint.h>
#include <string.h>

#include "bgp/bgp.h"
#include "bgp/elem.h"

struct attrs_buf {
	struct bgp_attrs a;
	struct as_seg seg;
	uint32_t asn[8];
	uint8_t raw[64];
};

/* asn[0 .. n) (n <= 8: the peer first, the origin last) as one AS_SEQUENCE of 4-byte ASNs;
 * points into ab. */
static inline const struct bgp_attrs *path_n(struct attrs_buf *ab, const uint32_t *asn, int n)
{
	memset(ab, 0, sizeof *ab);
	for (int i = 0; i < n; i++)
		ab->asn[i] = asn[i];
	ab->seg.type = AS_SEQUENCE;
	ab->seg.count = (uint8_t)n;
	ab->seg.asn = ab->asn;
	ab->a.path.seg = &ab->seg;
	ab->a.path.nseg = 1;
	ab->a.path.asn_size = 4;
	uint8_t *b = ab->raw;
	size_t o = 0;
	b[o++] = 0x40; b[o++] = 2; b[o++] = (uint8_t)(2 + 4 * n); b[o++] = 2; b[o++] = (uint8_t)n;
	for (int i = 0; i < n; i++) {
		b[o++] = (uint8_t)(asn[i] >> 24); b[o++] = (uint8_t)(asn[i] >> 16);
		b[o++] = (uint8_t)(asn[i] >> 8); b[o++] = (uint8_t)asn[i];
	}
	ab->a.raw = b;
	ab->a.raw_len = (uint32_t)o;
	return &ab->a;
}

static inline const struct bgp_attrs *path_to(struct attrs_buf *ab, uint32_t peer_as, uint32_t origin)
{
	const uint32_t asn[2] = { peer_as, origin };
	return path_n(ab, asn, 2);
}

/* *e cleared, of type and time ts, from peer k; ip: the caller's addresses, one a peer. */
static inline void peer_elem(struct dm_elem *e, char type, int64_t ts, int k, struct dm_ip *ip)
{
	memset(e, 0, sizeof *e);
	e->type = type;
	e->ts = ts;
	ip[k].afi = DM_AFI_IPV4;
	ip[k].b[0] = 192;
	ip[k].b[3] = (uint8_t)(k + 1);
	e->peer_ip = &ip[k];
	e->peer_asn = 64500 + (uint32_t)k;
}

#endif
