/* The attribute sets the state targets (fuzz_rib, fuzz_signal) hang on their routes. */
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

#endif
