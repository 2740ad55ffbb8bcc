/* BGP-4 message and path attribute codec (RFC 4271, 4760, 6793, 7911, 1997, 4360, 8092, 9234).
 * Decoders read through a struct cur, allocate only from the caller's arena, and return 0 or a
 * negative enum dm_err with struct dm_error filled (offset relative to cur.base). */
#ifndef DM_BGP_BGP_H
#define DM_BGP_BGP_H

#include <stdint.h>
#include <string.h>

#include "base/addr.h"
#include "base/arena.h"
#include "base/cursor.h"
#include "base/err.h"

enum bgp_msg_type {
	BGP_MSG_OPEN = 1,
	BGP_MSG_UPDATE = 2,
	BGP_MSG_NOTIFICATION = 3,
	BGP_MSG_KEEPALIVE = 4,
	BGP_MSG_ROUTE_REFRESH = 5,   /* RFC 2918 */
};

enum { BGP_HEADER_LEN = 19, BGP_MAX_MSG = 65535 /* RFC 8654 extended messages */ };

enum bgp_attr_type {
	BGP_ATTR_ORIGIN = 1,
	BGP_ATTR_AS_PATH = 2,
	BGP_ATTR_NEXT_HOP = 3,
	BGP_ATTR_MULTI_EXIT_DISC = 4,
	BGP_ATTR_LOCAL_PREF = 5,
	BGP_ATTR_ATOMIC_AGGREGATE = 6,
	BGP_ATTR_AGGREGATOR = 7,
	BGP_ATTR_COMMUNITIES = 8,
	BGP_ATTR_ORIGINATOR_ID = 9,
	BGP_ATTR_CLUSTER_LIST = 10,
	BGP_ATTR_MP_REACH_NLRI = 14,
	BGP_ATTR_MP_UNREACH_NLRI = 15,
	BGP_ATTR_EXT_COMMUNITIES = 16,
	BGP_ATTR_AS4_PATH = 17,
	BGP_ATTR_AS4_AGGREGATOR = 18,
	BGP_ATTR_LARGE_COMMUNITIES = 32,
	BGP_ATTR_ONLY_TO_CUSTOMER = 35,
	BGP_ATTR_SET = 128,
};

enum bgp_attr_flag {
	BGP_ATTR_F_OPTIONAL = 0x80,
	BGP_ATTR_F_TRANSITIVE = 0x40,
	BGP_ATTR_F_PARTIAL = 0x20,
	BGP_ATTR_F_EXTLEN = 0x10,
};

enum bgp_origin { BGP_ORIGIN_IGP = 0, BGP_ORIGIN_EGP = 1, BGP_ORIGIN_INCOMPLETE = 2 };

enum as_seg_type {
	AS_SET = 1,
	AS_SEQUENCE = 2,
	AS_CONFED_SEQUENCE = 3,   /* RFC 5065 */
	AS_CONFED_SET = 4,
};

struct as_seg {
	uint8_t type;          /* enum as_seg_type (other values kept as received) */
	uint8_t count;
	uint32_t *asn;         /* count ASNs, arena memory */
};

struct as_path {
	struct as_seg *seg;
	uint16_t nseg;
	uint8_t asn_size;      /* 2 or 4: how it was encoded */
};

/* RFC 7606 §2 error-handling approaches, weakest first: what a malformed UPDATE asks of its
 * receiver. The decoder classifies each malformed attribute (RFC 7606 §3-§7, RFC 6793 §6, RFC 8092
 * §6, RFC 9234 §5) and each malformed NLRI field (§5.3), and keeps the strongest in
 * bgp_attrs.action. Every darkmap output applies it the same way (docs/dump.md: an announcement
 * of an UPDATE at BGP_ERR_TREAT_AS_WITHDRAW or above is a withdrawal; a RIB entry at that level
 * is no route; a discarded attribute is absent); a live speaker answers the two strongest with a
 * NOTIFICATION or by disabling the family, which an archive cannot replay. */
enum bgp_err_action {
	BGP_ERR_NONE = 0,
	BGP_ERR_ATTR_DISCARD = 1,        /* the malformed attribute is ignored, the routes stand */
	BGP_ERR_TREAT_AS_WITHDRAW = 2,   /* the UPDATE's announced routes are withdrawn */
	BGP_ERR_AFISAFI_DISABLE = 3,     /* MP_REACH/MP_UNREACH_NLRI unusable (§7.11, §7.12): that family of the
	                                  * session is void; the routes it names are withdrawn */
	BGP_ERR_SESSION_RESET = 4,       /* the UPDATE cannot be parsed (NLRI field §5.3, attribute list §4,
	                                  * repeated MP attribute §3(j)): NOTIFICATION */
};

/* "attribute discard", "treat-as-withdraw", "AFI/SAFI disable", "session reset" (RFC 7606 §2). */
const char *bgp_err_action_name(unsigned action);

/* A list of prefixes from withdrawn routes, NLRI, or MP_(UN)REACH. Decoded (bgp_nlri_decode):
 * pfx[0 .. n). Framed (bgp_nlri_frame, lazy decoding): pfx is NULL and the n prefixes lie checked
 * in raw[0 .. raw_len), read by struct nlri_iter; a list with n > 0 and pfx NULL is framed. */
struct nlri_list {
	struct dm_prefix *pfx;
	uint32_t *path_id;     /* NULL unless ADD-PATH (RFC 7911) */
	uint32_t n;
	const uint8_t *raw;    /* framed: the prefixes' bytes (path ids included) */
	uint32_t raw_len;
	uint8_t fam;           /* framed: DM_AFI_IPV4 or DM_AFI_IPV6 */
	uint8_t addpath;       /* framed: each prefix after a 4-byte path id */
};

struct bgp_mp_reach {
	uint16_t afi;
	uint8_t safi;
	uint8_t nh_len;            /* next hop length as received */
	struct dm_ip nexthop;      /* global next hop (afi 0 when none) */
	struct dm_ip nexthop_ll;   /* IPv6 link-local when nh_len is 32 (afi 0 otherwise) */
	struct nlri_list nlri;
	uint8_t nlri_supported;    /* 0: AFI/SAFI we do not decode (e.g. VPNv4), NLRI left raw */
	const uint8_t *raw_nlri;
	uint32_t raw_nlri_len;
};

struct bgp_mp_unreach {
	uint16_t afi;
	uint8_t safi;
	struct nlri_list nlri;
	uint8_t nlri_supported;
};

struct bgp_attr_raw {      /* an attribute kept as bytes (unknown types, ATTR_SET, ...) */
	uint8_t flags, type;
	uint16_t len;
	const uint8_t *data;
};

/* One attribute of a framed block (bgp_attrs_frame): where its value lies, from bgp_attrs.raw. */
struct bgp_attr_ix {
	uint8_t flags, type;
	uint16_t len;
	uint16_t off;              /* of the value, from the start of the block */
};

/* Which attributes were present: bit (1ull << type) for types 0..63; BGP_ATTRS_F_OTHER for any
 * type >= 64. */
#define BGP_ATTR_BIT(t) (1ull << (t))
#define BGP_ATTRS_F_OTHER (1ull << 63)

struct bgp_attrs {
	uint64_t present;
	uint8_t origin;
	struct as_path as_path;          /* AS_PATH as received */
	struct as_path as4_path;         /* AS4_PATH as received (RFC 6793) */
	struct as_path path;             /* effective path: AS_PATH merged with AS4_PATH (RFC 6793 §4.2.3) */
	struct dm_ip next_hop;           /* NEXT_HOP (IPv4) */
	uint32_t med;
	uint32_t local_pref;
	uint32_t aggregator_as;          /* AGGREGATOR (2- or 4-byte AS per session) */
	struct dm_ip aggregator_addr;
	uint32_t as4_aggregator_as;      /* AS4_AGGREGATOR */
	struct dm_ip as4_aggregator_addr;
	const uint8_t *communities;      /* n_communities x 4 bytes, network order (RFC 1997) */
	uint32_t n_communities;
	const uint8_t *ext_communities;  /* n_ext_communities x 8 bytes (RFC 4360) */
	uint32_t n_ext_communities;
	const uint8_t *large_communities;/* n_large_communities x 12 bytes (RFC 8092) */
	uint32_t n_large_communities;
	uint32_t otc;                    /* ONLY_TO_CUSTOMER (RFC 9234) */
	uint32_t originator_id;
	const uint8_t *cluster_list;     /* n_cluster x 4 bytes */
	uint32_t n_cluster;
	struct bgp_mp_reach mp_reach;
	struct bgp_mp_unreach mp_unreach;
	struct bgp_attr_raw *other;      /* unknown / not decoded attributes, in order */
	uint16_t n_other;
	const uint8_t *raw;              /* the whole attribute block as received (for interning) */
	uint32_t raw_len;
	uint16_t n_errors;               /* malformed attributes seen (first one is in dm_error) */
	uint8_t action;                  /* enum bgp_err_action: the strongest over the malformed attributes
	                                  * (and, for an UPDATE, its NLRI fields: bgp_update_decode) */
	uint8_t lazy;                    /* BGP_ATTRS_INDEXED: only framed (bgp_attrs_index), the rest is
	                                  * not set; BGP_ATTRS_RIB_ENTRY: decoded whole from a TABLE_DUMP_V2
	                                  * RIB entry after a lazy lookup missed (rib/rib.h) */
	uint32_t rib_set;                /* BGP_ATTRS_INDEXED: the RIB set the block stands for, found and
	                                  * held by the caller (a reference or rib_pin_begin) until the
	                                  * block is applied; 0: none */
	/* BGP_ATTRS_FRAMED (bgp_attrs_frame) only: */
	struct bgp_attr_ix ix_as_path;   /* where AS_PATH and AS4_PATH lie (type 0: absent) */
	struct bgp_attr_ix ix_as4_path;
	uint8_t path_todo;               /* 1: as_path, as4_path and path not decoded yet (bgp_attrs_path);
	                                  * 2: the same, path by the RFC 6793 merge */
	uint8_t origin_asn_set;          /* origin AS of the effective path (bgp_attrs_origin_as) */
	uint32_t origin_asn;
};
/* BGP_ATTRS_FRAMED: a whole block framed and checked by bgp_attrs_frame; what it did not decode
 * is read through the accessors below. To the RIB it is a decoded block once its path is
 * (bgp_attrs_path). */
/* BGP_ATTRS_RAW: not even framed (a TABLE_DUMP_V2 RIB entry read with MRT_LAZY_RIB_RAW, mrt.h):
 * only raw, raw_len, action and n_errors (0), rib_set (0) are set, and next_hop.afi and
 * mp_reach.nexthop.afi are 0 (no next hop known). */
enum { BGP_ATTRS_DECODED = 0, BGP_ATTRS_INDEXED = 1, BGP_ATTRS_RIB_ENTRY = 2, BGP_ATTRS_FRAMED = 3, BGP_ATTRS_RAW = 4 };

/* Decoding context: what the session/record says about the encoding. */
struct bgp_ctx {
	uint8_t asn_size;        /* 2 or 4 (AS_PATH/AGGREGATOR encoding) */
	uint8_t addpath;         /* 1: NLRI carry 4-byte path identifiers (RFC 7911 / RFC 8050) */
	uint8_t mp_reach_abbrev; /* 1: TABLE_DUMP_V2 RIB form of MP_REACH_NLRI: next-hop length +
	                          * next hop only (RFC 6396 §4.3.4) */
	uint16_t afi;            /* session or RIB address family: the family of NEXT_HOP-less data */
	uint8_t safi;
	uint8_t lazy;            /* BGP_LAZY_*: an UPDATE's attributes are framed (bgp_attrs_frame),
	                          * decoded whole only when the block has a problem (bgp_update_decode) */
};
/* bgp_ctx.lazy: 0 every attribute decoded; BGP_LAZY_FRAME: framed, AS paths decoded on demand
 * (bgp_attrs_path); BGP_LAZY_PATHS: framed, AS paths decoded while they are checked (one walk
 * instead of a check now and a decoding later: for callers that take every route's path, a
 * cluster's tap; replay's RIB reads a new set's path from the bytes, bgp_attrs_path_flat). */
enum { BGP_LAZY_FRAME = 1, BGP_LAZY_PATHS = 2 };

/* Frames the next path attribute of a block (RFC 4271 §4.3: flags, type, 1- or 2-byte length
 * by the Extended Length flag): its value goes to val. Returns 0, or -1 when the block ends
 * inside the header or the value (nothing is decoded: the value's meaning is the caller's). */
static inline int bgp_attr_next(struct cur *c, uint8_t *flags, uint8_t *type, struct cur *val)
{
	uint16_t len;
	uint8_t l8;
	if (cur_u8(c, flags) < 0 || cur_u8(c, type) < 0)
		return -1;
	if (*flags & BGP_ATTR_F_EXTLEN) {
		if (cur_u16(c, &len) < 0)
			return -1;
	} else {
		if (cur_u8(c, &l8) < 0)
			return -1;
		len = l8;
	}
	return cur_take(c, len, val);
}

/* Decodes a path attribute block (len bytes at c). On error the fields decoded so far stay
 * valid, err says which attribute and where; the caller picks skip or treat-as-withdraw
 * (RFC 7606). */
int bgp_attrs_decode(struct cur *c, const struct bgp_ctx *ctx, struct arena *a,
                     struct bgp_attrs *out, struct dm_error *err);

/* Lazy decoding (issue 12): frames a block without decoding it. Sets raw, raw_len, present,
 * as_path.asn_size (the size AS_PATH would be read with, 0 when absent), mp_reach and
 * mp_unreach (decoded: the RIB keys a set without them, so they are checked here), action and
 * n_errors (0), lazy = BGP_ATTRS_INDEXED; every other field is left as it was, unset. Returns 0,
 * or -1 when the block has a problem bgp_attrs_decode would report (framing, a repeated
 * attribute, a bad MP_(UN)REACH_NLRI) or is empty: the caller decodes it whole then. Equal
 * blocks decode alike under one context, so a block equal to one decoded cleanly before needs
 * no decoding (rib_attr_find_lazy). */
int bgp_attrs_index(struct cur *c, const struct bgp_ctx *ctx, struct arena *a, struct bgp_attrs *out);

/* Lazy decoding of a whole block (issue 12; UPDATEs and TABLE_DUMP entries for replay): frames
 * the block (present; where AS_PATH and AS4_PATH lie: ix_as_path, ix_as4_path; any other
 * attribute is found on demand by bgp_attrs_find)
 * and makes every check bgp_attrs_decode makes (RFC 7606: framing, repeats, each type's length
 * and values, AS_PATH / AS4_PATH segments), decoding only ORIGIN, NEXT_HOP and MP_(UN)REACH_NLRI
 * (prefixes and next hop). Sets raw, raw_len, present, origin, next_hop, mp_reach, mp_unreach,
 * as_path.asn_size, the origin AS, the two entries, lazy = BGP_ATTRS_FRAMED, action and n_errors (0),
 * rib_set (0) and the counts of the list attributes (0: read them with bgp_attrs_find); the
 * paths are empty until bgp_attrs_path; MED, LOCAL_PREF, AGGREGATOR... are left as they were.
 * No clearing of the struct. Returns 0, or -1 when bgp_attrs_decode would report a problem (or
 * the index cannot be allocated): the caller decodes the block whole then, and gets its
 * warnings exactly. Consumes the block. */
int bgp_attrs_frame(struct cur *c, const struct bgp_ctx *ctx, struct arena *a, struct bgp_attrs *out);
/* bgp_attrs_frame for blocks that are mostly ORIGIN, AS_PATH and NEXT_HOP alone (RIB entries: 92%
 * of the 2002 RIB's): those are read without the loop, in a function small enough to keep its
 * values in registers; any other block is framed by bgp_attrs_frame from its start. The same
 * result, the same return. */
int bgp_attrs_frame_short(struct cur *c, const struct bgp_ctx *ctx, struct arena *a, struct bgp_attrs *out);

/* Decodes as_path, as4_path and path of a framed block on demand (no-op for any other block),
 * as bgp_attrs_decode would (RFC 6793 merge included). 0, or DM_ERR_NOMEM (paths left empty). */
int bgp_attrs_path(struct bgp_attrs *a, struct arena *ar);

/* The value of attribute type of a block (its bytes framed again: only the block's bytes are
 * needed). 1 and *val set when present, else 0. A repeated attribute: the first. */
int bgp_attrs_find(const struct bgp_attrs *a, unsigned type, struct cur *val);

/* Origin AS of the effective path (as_path_origin of path), without decoding a framed block's
 * path (an indexed RIB entry's is read from its bytes). Inline for a framed block: replay asks
 * it of every element. */
uint32_t bgp_attrs_origin_as_(const struct bgp_attrs *a, int *is_set);
static inline uint32_t bgp_attrs_origin_as(const struct bgp_attrs *a, int *is_set)
{
	if (a->lazy == BGP_ATTRS_FRAMED) {   /* set by the frame */
		if (is_set)
			*is_set = a->origin_asn_set;
		return a->origin_asn;
	}
	return bgp_attrs_origin_as_(a, is_set);
}

/* The last k ASNs of the effective path in path order (AS_SET members flattened, as the RIB
 * stores paths) into asn; returns how many (fewer when the path is shorter). A framed block's
 * AS_PATH is read from its bytes unless the RFC 6793 merge applies (then its path must have been
 * decoded: bgp_attrs_path). */
unsigned bgp_attrs_path_tail(const struct bgp_attrs *a, uint32_t *asn, unsigned k);

/* The first max ASNs of the effective path in path order (AS_SET members flattened, as the RIB
 * stores paths) into asn; returns how many. A framed block's path not decoded yet (BGP_LAZY_FRAME,
 * no RFC 6793 merge) is read from its checked AS_PATH bytes: replay's RIB takes a new set's path
 * this way instead of decoding every UPDATE's (issue 12). */
unsigned bgp_attrs_path_flat(const struct bgp_attrs *a, uint32_t *asn, unsigned max);

/* Next hop of the routes of family afi: for IPv4, NEXT_HOP, else MP_REACH_NLRI's (RFC 5549);
 * for IPv6, MP_REACH_NLRI's, else NEXT_HOP. NULL when none. */
const struct dm_ip *bgp_attrs_next_hop(const struct bgp_attrs *a, uint16_t afi);

/* Decodes prefixes (RFC 4271 §4.3 encoding) of the given family until c is exhausted. */
int bgp_nlri_decode(struct cur *c, uint16_t afi, int addpath, struct arena *a,
                    struct nlri_list *out, struct dm_error *err);

/* Where the prefix after the one at offset at (or pointer p) begins, its length being len (RFC
 * 4271 §4.3: a length byte, then (len + 7) / 8 address bytes). Each prefix's start is known only
 * once the length before it is loaded: a chain of load, add, shift and add per prefix, which every
 * walk of a list waits on (the frame's loop was a third of mrt_decode's samples, perf). Lengths
 * 17 to 24, nine prefixes in ten of an update file (54% /24 and 40% /17-/23 in the 2015 one),
 * step 4 bytes: taken as a branch, the step is predicted and the next length's load issues before
 * this one's arrives. The empty asm keeps the compiler from making the branch arithmetic again. */
static inline size_t bgp_nlri_skip(size_t at, unsigned len)
{
	if (__builtin_expect(len - 17u < 8u, 1)) {
		__asm__ volatile("" : "+r"(at));
		return at + 4;
	}
	return at + (len + 15u) / 8;
}

static inline const uint8_t *bgp_nlri_next(const uint8_t *p, unsigned len)
{
	if (__builtin_expect(len - 17u < 8u, 1)) {
		__asm__ volatile("" : "+r"(p));
		return p + 4;
	}
	return p + (len + 15u) / 8;
}

/* Lazy decoding of a prefix list (issue 12; replay): makes every check bgp_nlri_decode makes
 * and stores nothing: out->n prefixes lie checked in out->raw (pfx and path_id NULL), read by
 * struct nlri_iter. The same return value, error and count as bgp_nlri_decode (a malformed
 * prefix ends the list: the ones before it stand). Consumes c. */
int bgp_nlri_frame_(struct cur *c, uint16_t afi, int addpath, struct nlri_list *out, struct dm_error *err);
static inline int bgp_nlri_frame(struct cur *c, uint16_t afi, int addpath, struct nlri_list *out,
                                 struct dm_error *err)
{
	/* Inline for the common list, without path ids and sound: the checks alone (a call per list,
	 * two or three per UPDATE, cost as much as checking its prefixes; callgrind, issue 12). */
	if (!addpath) {
		const uint8_t *p = c->p, *end = c->end;
		size_t size = (size_t)(end - p), at = 0;
		unsigned maxlen = afi == DM_AFI_IPV6 ? 128 : 32;
		uint32_t n = 0;
		/* A prefix running past the end leaves at past size, and the list goes to the checks
		 * below that report it: no bounds check per prefix. */
		while (at < size) {
			unsigned len = p[at];
			if (len > maxlen)
				break;
			at = bgp_nlri_skip(at, len);
			n++;
		}
		if (at == size) {
			out->pfx = NULL;
			out->path_id = NULL;
			out->n = n;
			out->raw = n ? c->p : NULL;
			out->raw_len = (uint32_t)(end - c->p);
			out->fam = (uint8_t)(afi == DM_AFI_IPV6 ? DM_AFI_IPV6 : DM_AFI_IPV4);
			out->addpath = 0;
			c->p = end;
			return 0;
		}
	}
	return bgp_nlri_frame_(c, afi, addpath, out, err);   /* path ids, or a malformed prefix to report */
}

/* mask4.w[k] / mask8.w[k]: the first k bytes of a 4- / 8-byte word in memory order (built from
 * bytes, so they hold on either byte order). */
extern const union bgp_mask4 { uint8_t b[5][4]; uint32_t w[5]; } bgp_mask4;
extern const union bgp_mask8 { uint8_t b[9][8]; uint64_t w[9]; } bgp_mask8;

/* One prefix of a list whose length byte is at p (len <= the family's maximum and its nb address
 * bytes present, end the list's end, lo <= p its first byte) into d, bits past len inside the
 * last byte as received. The address is read as whole words where the list holds a full word
 * after the length byte (bytes of the next prefix are read and masked off), or, for the last
 * prefixes of a list, the word ending with the prefix's last byte (bytes of the one before it
 * shifted off): a byte loop and a memset were a fifth of decoding an update file, and the
 * last prefix of each list still a tenth of what was left of it (callgrind, issue 12). */
static inline void bgp_prefix_load_in(struct dm_prefix *d, const uint8_t *p, const uint8_t *lo, const uint8_t *end,
                                      uint8_t fam)
{
	unsigned len = *p, nb = (len + 7u) / 8;
	d->afi = fam;
	d->len = (uint8_t)len;
	if (nb <= 4 && end - p > 4) {
		uint32_t w;
		memcpy(&w, p + 1, 4);
		w &= bgp_mask4.w[nb];
		memcpy(d->b, &w, 4);
		memset(d->b + 4, 0, 12);
	} else if (end - p > 16) {
		uint64_t w[2];
		memcpy(w, p + 1, 16);
		w[0] &= bgp_mask8.w[nb < 8 ? nb : 8];
		w[1] &= bgp_mask8.w[nb > 8 ? nb - 8 : 0];
		memcpy(d->b, w, 16);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	} else if (nb <= 4 && p + 1 + nb - lo >= 4) {
		uint64_t w = 0;
		memcpy(&w, p + 1 + nb - 4, 4);
		w >>= 8 * (4 - nb);   /* the last nb bytes first, in memory order (nb 0: none) */
		uint32_t w4 = (uint32_t)w;
		memcpy(d->b, &w4, 4);
		memset(d->b + 4, 0, 12);
#endif
	} else {
		memset(d->b, 0, sizeof d->b);
		for (unsigned i = 0; i < nb; i++)
			d->b[i] = p[1 + i];
	}
}

static inline void bgp_prefix_load(struct dm_prefix *d, const uint8_t *p, const uint8_t *end, uint8_t fam)
{
	bgp_prefix_load_in(d, p, p, end, fam);
}

/* Walks a prefix list, framed or decoded, in order:
 *   struct nlri_iter it; nlri_iter_init(&it, l); while (nlri_iter_next(&it, &pfx, &path_id)) ...
 * A framed list's prefixes are read from its bytes (checked by bgp_nlri_frame), one at a time:
 * no array of them is made. path_id is 0 without ADD-PATH. */
struct nlri_iter {
	const struct nlri_list *l;
	const uint8_t *p, *end;
	uint32_t i;
};

static inline void nlri_iter_init(struct nlri_iter *it, const struct nlri_list *l)
{
	it->l = l;
	it->p = l->raw;
	it->end = l->raw ? l->raw + l->raw_len : NULL;
	it->i = 0;
}

static inline int nlri_iter_next(struct nlri_iter *it, struct dm_prefix *d, uint32_t *path_id)
{
	const struct nlri_list *l = it->l;
	if (it->i >= l->n)
		return 0;
	if (l->pfx) {
		*d = l->pfx[it->i];
		*path_id = l->path_id ? l->path_id[it->i] : 0;
	} else {
		const uint8_t *p = it->p;
		*path_id = 0;
		if (l->addpath) {
			*path_id = be32(p);
			p += 4;
		}
		bgp_prefix_load_in(d, p, l->raw, it->end, l->fam);
		it->p = bgp_nlri_next(p, *p);
	}
	it->i++;
	return 1;
}

struct bgp_update {
	struct nlri_list withdrawn;      /* IPv4 unicast withdrawn routes */
	struct nlri_list announced;      /* IPv4 unicast NLRI */
	struct bgp_attrs attrs;
	uint16_t attrs_len;
	int attr_err;                    /* 0 or the enum dm_err from attribute decoding */
	int nlri_err;                    /* 0 or DM_ERR_BAD_NLRI: withdrawn/NLRI lists cut at a bad prefix */
	uint8_t addpath_guessed;         /* NLRI only parse with ADD-PATH path ids although the context
	                                  * did not say so (BIRD's MRT of 2017): decoded with them */
};

struct bgp_open {
	uint8_t version;
	uint16_t my_as;
	uint16_t hold_time;
	uint32_t bgp_id;
	uint32_t as4;                    /* from capability 65, 0 when absent */
	uint8_t addpath[3];              /* RFC 7911 capability 69 for unicast, by AFI (index 1 IPv4,
	                                  * 2 IPv6): BGP_ADDPATH_RECEIVE | BGP_ADDPATH_SEND, 0 absent */
	const uint8_t *opt;              /* optional parameters, raw */
	uint8_t opt_len;
};

/* Capability codes (IANA registry) and ADD-PATH send/receive bits (RFC 7911). */
enum {
	BGP_CAP_MP = 1, BGP_CAP_REFRESH = 2, BGP_CAP_EXT_MSG = 6, BGP_CAP_GR = 64, BGP_CAP_AS4 = 65,
	BGP_CAP_ADDPATH = 69, BGP_CAP_ENH_REFRESH = 70,
};
enum { BGP_ADDPATH_RECEIVE = 1, BGP_ADDPATH_SEND = 2 };

struct bgp_notification {
	uint8_t code, subcode;
	const uint8_t *data;
	uint16_t data_len;
};

struct bgp_msg {
	uint8_t type;                    /* enum bgp_msg_type */
	uint16_t len;                    /* from the header */
	union {
		struct bgp_update update;
		struct bgp_open open;
		struct bgp_notification notification;
	} u;
};

/* 1 when the 16 bytes at p are the all-ones BGP marker (RFC 4271 §4.1). Two 8-byte loads,
 * inline: a memcmp was a call into libc for every record (the reader's and the decoder's). */
static inline int bgp_is_marker(const uint8_t *p)
{
	uint64_t a, b;
	memcpy(&a, p, 8);
	memcpy(&b, p + 8, 8);
	return (a & b) == UINT64_MAX;
}

/* Decodes one BGP message starting with its 16-byte marker. */
int bgp_msg_decode(struct cur *c, const struct bgp_ctx *ctx, struct arena *a, struct bgp_msg *out,
                   struct dm_error *err);
/* Decodes an UPDATE body (after the 19-byte header); used by MRT type 5 which omits the header.
 * Returns a negative dm_err only when the UPDATE cannot be framed; malformed attributes or
 * prefixes leave it usable with u->attr_err / u->nlri_err set and err describing the first. */
int bgp_update_decode(struct cur *c, const struct bgp_ctx *ctx, struct arena *a,
                      struct bgp_update *out, struct dm_error *err);

/* The fast path of bgp_update_decode (issue 12): the UPDATE body p .. end (offsets from base)
 * decoded as bgp_update_decode would, when it holds no problem at all: its three fields framed
 * by their lengths, the prefix lists and the attribute block decoded (framed when ctx->lazy)
 * without an error. Returns 0 and u is what bgp_update_decode makes of the body (returning 0
 * with no error, warning or ADD-PATH guess), or -1 when anything is amiss: then u is garbage and
 * the caller decodes the body with bgp_update_decode (the arena may hold what this allocated).
 * Nothing is reported, so the careful path's errors stay its own. */
int bgp_update_decode_clean(const uint8_t *p, const uint8_t *end, const uint8_t *base, const struct bgp_ctx *ctx,
                            struct arena *a, struct bgp_update *u);

/* RFC 6793 §4.2.3: effective path from AS_PATH and AS4_PATH (out in arena). */
int as_path_merge(const struct as_path *as_path, const struct as_path *as4_path, struct arena *a,
                  struct as_path *out);

/* Origin AS of a path: last ASN of the last segment; *is_set = 1 when that segment is an AS_SET.
 * Returns 0 when the path is empty. */
uint32_t as_path_origin(const struct as_path *p, int *is_set);

const char *bgp_attr_name(unsigned type);

#endif
