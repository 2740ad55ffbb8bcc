/* A striped geography for the tests of a table's settle (src/signal/signal.c settle_scan:
 * tests/unit/test_signal.c, tests/tsan/tsan_settle.c): IPv4 address a lies in country
 * STRIPE[(a >> 12) & 3] (stripes of 4,096 addresses), so a /24 is in one country and a /19 in
 * two; IPv6 in DE. In the shapes of the signal's geo function and its quick answers. And the
 * table both tests load: prefix i a /19 in 11/8 for every tenth (two stripes), else a /24 in 12/8. */
#ifndef DM_TESTS_STRIPE_GEO_H
#define DM_TESTS_STRIPE_GEO_H

#include <stdint.h>
#include <string.h>

#include "base/addr.h"
#include "signal/signal.h"

static const char STRIPE[4][3] = { "AA", "BB", "KP", "US" };

static inline int stripe_geo(void *arg, const struct dm_prefix *p, struct geo_share *out, int max)
{
	(void)arg;
	if (p->afi != DM_AFI_IPV4) {
		memcpy(out[0].cc, "DE", 3);
		out[0].addrs = p->len <= 64 ? 1ull << (64 - p->len) : 0;
		return 1;
	}
	uint32_t a = (uint32_t)p->b[0] << 24 | p->b[1] << 16 | p->b[2] << 8 | p->b[3];
	uint32_t n = 1u << (32 - p->len), k = 0;
	for (uint32_t x = a; x - a < n && (int)k < max; x += 4096, k++) {
		memcpy(out[k].cc, STRIPE[(x >> 12) & 3], 3);
		out[k].addrs = n < 4096 ? n : 4096;
	}
	return (int)k;
}

static inline void stripe_geo4_batch(void *arg, const uint32_t *lo, const uint32_t *hi, uint16_t *cc, size_t n)
{
	(void)arg;
	for (size_t k = 0; k < n; k++) {
		const char *c = STRIPE[(lo[k] >> 12) & 3];
		cc[k] = lo[k] >> 12 == hi[k] >> 12 ? (uint16_t)(c[0] << 8 | c[1]) : 0;
	}
}

static inline uint16_t stripe_geo4(void *arg, uint32_t lo, uint32_t hi)
{
	uint16_t cc;
	stripe_geo4_batch(arg, &lo, &hi, &cc, 1);
	return cc;
}

static inline void stripe_table_prefix(uint32_t i, struct dm_prefix *p)
{
	memset(p, 0, sizeof *p);
	p->afi = DM_AFI_IPV4;
	uint32_t a = i % 10 ? 0x0c000000u + (i << 8) : 0x0b000000u + (i / 10 << 13);
	p->len = i % 10 ? 24 : 19;
	for (int k = 0; k < 4; k++)
		p->b[k] = (uint8_t)(a >> (24 - 8 * k));
}

/* What the table's first n prefixes give, counted here: per stripe, the announcements (each
 * prefix's, for every stripe it touches), the withdrawals (of the prefixes i % 7 == 3, which
 * both tests withdraw) and the prefixes left visible (the others). */
static inline void stripe_counts(uint32_t n, uint32_t ann[4], uint32_t wd[4], uint32_t vis[4])
{
	for (int c = 0; c < 4; c++)
		ann[c] = wd[c] = vis[c] = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct dm_prefix p;
		stripe_table_prefix(i, &p);
		uint32_t a = (uint32_t)p.b[0] << 24 | p.b[1] << 16 | p.b[2] << 8;
		for (uint32_t x = a; x - a < (1u << (32 - p.len)); x += 4096) {
			ann[(x >> 12) & 3]++;
			wd[(x >> 12) & 3] += i % 7 == 3;
			vis[(x >> 12) & 3] += i % 7 != 3;
		}
	}
}

#endif
