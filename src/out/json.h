/* JSON Lines output: one object per element (src/mrt/elem.h), with BGPStream-style field names.
 * Hand-written encoder into a struct obuf: a library encoder (jansson) builds a tree per object
 * and allocates per field, which costs more than decoding the MRT record did; at millions of
 * lines per run that would dominate. */
#ifndef DM_OUT_JSON_H
#define DM_OUT_JSON_H

#include <stddef.h>

#include "base/obuf.h"
#include "mrt/elem.h"
#include "mrt/mrt.h"

/* Per-input context for the element writer. */
struct json_src {
	const char *collector;           /* usually the input's base name; escaped once */
	const struct mrt_ctx *ctx;       /* for the PEER_INDEX_TABLE collector BGP id (may be NULL) */
	char collector_json[600];        /* collector as a quoted, escaped JSON string */
	size_t collector_json_len;
};

void json_src_init(struct json_src *src, const char *collector, const struct mrt_ctx *ctx);

/* Writes one element as one line:
 * {"type":"A","timestamp":1445565708.372152,"collector":"updates.et-header.2015.gz",
 *  "peer_address":"206.220.231.55","peer_asn":3856,"prefix":"175.45.176.0/24",
 *  "next_hop":"129.250.10.57","as_path":"2914 1239 4837 131279","origin_asns":[131279],
 *  "origin":"INCOMPLETE","med":null,"local_pref":100,"communities":["3856:50800"],
 *  "extended_communities":[],"large_communities":[],"aggregator":null,
 *  "atomic_aggregate":false}
 * type is R (RIB entry), A, W or S (state change: old_state/new_state instead of route fields);
 * path_id appears for ADD-PATH data; collector_bgp_id for TABLE_DUMP_V2 inputs. */
void json_elem(struct obuf *o, const struct json_src *src, const struct dm_elem *e);

/* A JSON string literal (quotes included) for n bytes of s: '"', '\\' and control characters
 * escaped, invalid UTF-8 bytes replaced by U+FFFD so the output is always valid JSON. */
void json_str(struct obuf *o, const char *s, size_t n);

/* An address as JSON carries it (without quotes): dotted IPv4, IPv6 exactly as glibc's
 * inet_ntop prints it. dst needs DM_IP_STRLEN bytes; returns the length (no NUL). */
size_t json_ip_fmt(char *dst, const struct dm_ip *ip);

#endif
