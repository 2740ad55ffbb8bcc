/* What the state targets (fuzz_rib, fuzz_signal) build their operations from: attribute sets
 * and a universe of prefixes. */
#ifndef DM_FUZZ_ATTRS_H
#define DM_FUZZ_ATTRS_H

#include <stdint.h>
#include <string.h>

#include "bgp/bgp.h"

enum { FUZZ_NVAR = 4 };

/* FUZZ_NVAR attribute sets, distinct in ORIGIN (v % 3) and in their one-AS AS_PATH (64500 + v:
 * the origin AS fuzz_rib checks),
 * with their raw bytes; built once by fuzz_attr_variants_init (from LLVMFuzzerInitialize). */
static struct bgp_attrs fuzz_var_attrs[FUZZ_NVAR];

static void fuzz_attr_variants_init(void)
{
	static uint8_t raw[FUZZ_NVAR][4];
	static struct as_seg seg[FUZZ_NVAR];
	static uint32_t asn[FUZZ_NVAR];
	for (int v = 0; v < FUZZ_NVAR; v++) {
		raw[v][0] = 0x40;   /* ORIGIN, transitive, length 1, value v % 3 (RFC 4271 §4.3) */
		raw[v][1] = BGP_ATTR_ORIGIN;
		raw[v][2] = 1;
		raw[v][3] = (uint8_t)(v % 3);
		asn[v] = 64500u + (uint32_t)v;
		seg[v] = (struct as_seg){ .type = AS_SEQUENCE, .count = 1, .asn = &asn[v] };
		struct bgp_attrs *a = &fuzz_var_attrs[v];
		memset(a, 0, sizeof *a);
		a->present = BGP_ATTR_BIT(BGP_ATTR_ORIGIN) | BGP_ATTR_BIT(BGP_ATTR_AS_PATH);
		a->origin = (uint8_t)(v % 3);
		a->as_path = a->path = (struct as_path){ .seg = &seg[v], .nseg = 1, .asn_size = 4 };
		a->raw = raw[v];
		a->raw_len = 4;
	}
}

/* The prefix universe of a state target: 8 IPv4 bases (b >> 1 & 7; family b & 1) at lengths
 * v4_min + c % v4_span, and IPv6 2001:db8:X... with b at byte v6_byte, at lengths
 * v6_min + c % v6_span: prefixes that nest and collide once masked (host bits cleared here, not
 * by the library under test). */
struct fuzz_universe {
	uint8_t v4[8][4];
	int v4_min, v4_span, v6_byte, v6_min, v6_span;
};

static struct dm_prefix fuzz_prefix(const struct fuzz_universe *u, uint8_t b, uint8_t c)
{
	struct dm_prefix p;
	memset(&p, 0, sizeof p);
	if (b & 1) {
		p.afi = DM_AFI_IPV6;
		p.b[0] = 0x20, p.b[1] = 0x01, p.b[2] = 0x0d, p.b[3] = 0xb8;
		p.b[4] = (uint8_t)((b >> 1 & 7) * 0x11);
		p.b[u->v6_byte] = b;
		p.len = (uint8_t)(u->v6_min + c % u->v6_span);
	} else {
		p.afi = DM_AFI_IPV4;
		memcpy(p.b, u->v4[b >> 1 & 7], 4);
		p.len = (uint8_t)(u->v4_min + c % u->v4_span);
	}
	unsigned bits = p.afi == DM_AFI_IPV4 ? 32 : 128;
	for (unsigned i = p.len; i < bits; i++)
		p.b[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	return p;
}

#endif
