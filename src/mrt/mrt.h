/* MRT (RFC 6396, RFC 8050) record framing and decoding. */
#ifndef DM_MRT_MRT_H
#define DM_MRT_MRT_H

#include <stdint.h>

#include "base/addr.h"
#include "base/arena.h"
#include "base/cursor.h"
#include "base/err.h"
#include "bgp/bgp.h"

enum mrt_type {
	MRT_BGP_DEPRECATED = 5,   /* RFC 6396 Appendix B (old "BGP" type, 1999-2001 RIS archives) */
	MRT_TABLE_DUMP = 12,
	MRT_TABLE_DUMP_V2 = 13,
	MRT_BGP4MP = 16,
	MRT_BGP4MP_ET = 17,       /* extended timestamp: 4-byte microseconds inside the body */
	MRT_ISIS = 32,
	MRT_ISIS_ET = 33,
	MRT_OSPFV3 = 48,
	MRT_OSPFV3_ET = 49,
};

enum mrt_td_subtype { MRT_TD_AFI_IPV4 = 1, MRT_TD_AFI_IPV6 = 2 };

enum mrt_td2_subtype {
	MRT_TD2_PEER_INDEX_TABLE = 1,
	MRT_TD2_RIB_IPV4_UNICAST = 2,
	MRT_TD2_RIB_IPV4_MULTICAST = 3,
	MRT_TD2_RIB_IPV6_UNICAST = 4,
	MRT_TD2_RIB_IPV6_MULTICAST = 5,
	MRT_TD2_RIB_GENERIC = 6,
	MRT_TD2_GEO_PEER_TABLE = 7,          /* RFC 6397 */
	MRT_TD2_RIB_IPV4_UNICAST_ADDPATH = 8, /* RFC 8050 */
	MRT_TD2_RIB_IPV4_MULTICAST_ADDPATH = 9,
	MRT_TD2_RIB_IPV6_UNICAST_ADDPATH = 10,
	MRT_TD2_RIB_IPV6_MULTICAST_ADDPATH = 11,
	MRT_TD2_RIB_GENERIC_ADDPATH = 12,
};

enum mrt_bgp4mp_subtype {
	MRT_BGP4MP_STATE_CHANGE = 0,
	MRT_BGP4MP_MESSAGE = 1,
	MRT_BGP4MP_ENTRY = 2,                /* deprecated */
	MRT_BGP4MP_SNAPSHOT = 3,             /* deprecated */
	MRT_BGP4MP_MESSAGE_AS4 = 4,
	MRT_BGP4MP_STATE_CHANGE_AS4 = 5,
	MRT_BGP4MP_MESSAGE_LOCAL = 6,
	MRT_BGP4MP_MESSAGE_AS4_LOCAL = 7,
	MRT_BGP4MP_MESSAGE_ADDPATH = 8,      /* RFC 8050 */
	MRT_BGP4MP_MESSAGE_AS4_ADDPATH = 9,
	MRT_BGP4MP_MESSAGE_LOCAL_ADDPATH = 10,
	MRT_BGP4MP_MESSAGE_AS4_LOCAL_ADDPATH = 11,
};

enum mrt_bgp5_subtype {            /* deprecated type 5 subtypes */
	MRT_BGP5_NULL = 0,
	MRT_BGP5_UPDATE = 1,
	MRT_BGP5_PREF_UPDATE = 2,
	MRT_BGP5_STATE_CHANGE = 3,
	MRT_BGP5_SYNC = 4,
	MRT_BGP5_OPEN = 5,
	MRT_BGP5_NOTIFY = 6,
	MRT_BGP5_KEEPALIVE = 7,
};

enum { MRT_HEADER_LEN = 12 };

struct mrt_hdr {
	uint32_t ts;          /* seconds since the epoch, UTC */
	uint32_t usec;        /* microseconds (_ET types), else 0 */
	uint16_t type, subtype;
	uint32_t len;         /* body length after the 12-byte header (for _ET: includes the 4 usec bytes) */
	uint64_t offset;      /* byte offset of the header in the decompressed input */
	uint8_t len_fixed;    /* bytes the reader added to a declared length found short (see reader.c) */
	uint32_t zero_tail;   /* zero bytes ending the body that run on into damage after the record (a zero
	                       * run over the record's end, reader.c): their values are not evidence */
};

struct mrt_peer {
	struct dm_ip addr;
	uint32_t asn;
	uint32_t bgp_id;
};

/* TABLE_DUMP_V2 PEER_INDEX_TABLE: long-lived, owned by struct mrt_ctx. */
struct mrt_peer_index {
	uint32_t collector_id;
	char view[256];
	uint16_t npeers;         /* peers readable: peers[0 .. npeers) */
	uint16_t declared;       /* peer count the table declares (> npeers when its end was damaged) */
	struct mrt_peer *peers;
};

struct mrt_rib_entry {
	uint16_t peer_index;
	uint32_t originated;
	uint32_t path_id;        /* ADD-PATH subtypes */
	struct bgp_attrs attrs;
	int attr_err;            /* 0, or dm_err of this entry's attributes (then attrs is partial) */
};

enum mrt_kind {
	MRT_K_OTHER = 0,          /* framed and skipped: a type we do not decode (hdr tells which) */
	MRT_K_TD1,                /* TABLE_DUMP v1 entry */
	MRT_K_PEER_INDEX,         /* TABLE_DUMP_V2 PEER_INDEX_TABLE (now in ctx->peer_index) */
	MRT_K_RIB,                /* TABLE_DUMP_V2 RIB_* / RIB_GENERIC */
	MRT_K_MESSAGE,            /* BGP4MP(_ET) MESSAGE* and type-5 UPDATE/OPEN/NOTIFY/KEEPALIVE */
	MRT_K_STATE,              /* BGP4MP(_ET) STATE_CHANGE(_AS4), type-5 STATE_CHANGE */
	MRT_K_ENTRY,              /* BGP4MP_ENTRY (deprecated): one route of a RIB dump */
};

struct mrt_td1 {
	uint16_t view, seq;
	struct dm_prefix prefix;
	uint8_t status;
	uint32_t originated;
	struct dm_ip peer_ip;
	uint32_t peer_as;
	struct bgp_attrs attrs;
	int attr_err;
	/* RIS bviews of 2000 batch many entries in one record (view and seq once, then
	 * prefix..attributes repeated): the entries after the first, in order. */
	struct mrt_td1 *more;
	uint32_t nmore;
	const uint8_t *body;      /* the record's body (first entry only; lazy_td1: offsets of problems) */
};

struct mrt_rib {
	uint32_t seq;
	uint16_t afi;             /* from the subtype, or RIB_GENERIC's field */
	uint8_t safi;
	uint8_t addpath;
	uint8_t has_prefix;       /* 0: RIB_GENERIC of an AFI/SAFI we do not decode */
	struct dm_prefix prefix;
	uint16_t n;
	struct mrt_rib_entry *e;
	const uint8_t *body;      /* lazy decoding: the record body and its offset in the input */
	uint64_t body_off;
};

/* Peer/local addressing shared by BGP4MP MESSAGE, STATE_CHANGE and ENTRY. */
struct mrt_session {
	uint32_t peer_as, local_as;
	uint16_t ifindex;
	uint16_t afi;
	struct dm_ip peer_ip, local_ip;
	uint8_t as4;              /* AS numbers 4 bytes (AS4 subtypes) */
	uint8_t addpath;
	uint8_t local;            /* _LOCAL subtypes: message sent by the collector */
};

struct mrt_message {
	struct mrt_session s;
	struct bgp_msg msg;
	int msg_err;              /* 0, or dm_err: the BGP message could not be fully decoded */
};

struct mrt_state {
	struct mrt_session s;        /* s.peer_ip.afi == 0: the record did not say (Zebra 8-byte form) */
	uint16_t old_state, new_state;  /* RFC 4271 FSM: 1 Idle .. 6 Established (7,8 Quagga) */
};

struct mrt_entry {            /* BGP4MP_ENTRY */
	struct mrt_session s;
	uint16_t view, status;
	uint32_t time_last_change;
	uint16_t afi;
	uint8_t safi;
	struct dm_ip nexthop;
	struct dm_prefix prefix;
	struct bgp_attrs attrs;
	int attr_err;
};

struct mrt_rec {
	struct mrt_hdr hdr;
	enum mrt_kind kind;
	union {
		struct mrt_td1 td1;
		struct mrt_rib rib;
		struct mrt_message msg;
		struct mrt_state state;
		struct mrt_entry entry;
	} u;
	/* Problems that did not stop the record (one RIB entry's attributes, ...). The first
	 * MRT_WARN_KEEP keep their text (ctx memory, valid until the next mrt_decode); the others are
	 * only counted, by kind, so a record of 20,000 bad entries costs constant memory and every
	 * problem is counted: total = nwarn + nwarn_unkept. */
	struct dm_error *warn;
	uint32_t nwarn;                          /* kept: warn[0 .. nwarn) */
	uint32_t nwarn_unkept;                   /* counted, text not kept */
	uint32_t warn_unkept[DM_ERR_COUNT_];     /* the same by kind, index -code */
};

/* Decoding state across records of one input: the current PEER_INDEX_TABLE and the arena. */
enum { MRT_WARN_KEEP = 64 };   /* problems kept with their text per record (>= DM_LOG_BURST) */
enum { MRT_LAZY_RIB_RAW = 2 };   /* mrt_ctx.lazy_rib_attrs: blocks not framed (BGP_ATTRS_RAW) */

struct mrt_ctx {
	struct mrt_peer_index *peer_index;  /* NULL until a PEER_INDEX_TABLE was read */
	/* 1: the attributes of TABLE_DUMP_V2 RIB entries are only framed (bgp_attrs_index, attrs.lazy
	 * = BGP_ATTRS_INDEXED) and decoded on demand by mrt_rib_entry_decode; a record with any
	 * problem is decoded whole at once, so its warnings are those of eager decoding. For
	 * replay (pipeline/source.c); dump decodes every attribute.
	 * MRT_LAZY_RIB_RAW: not even framed (attrs.lazy = BGP_ATTRS_RAW: the block's bytes only): the
	 * caller looks each block up among the sets it holds by its bytes and frames or decodes only
	 * the others (mrt_rib_entry_frame, mrt_rib_entry_decode); a found entry has no next hop
	 * (mrt_elems gives NULL: replay reads none). Record-level problems still make the record
	 * decoded whole, eagerly. */
	uint8_t lazy_rib_attrs;
	uint8_t lazy_now;                   /* lazy_rib_attrs for the record being decoded */
	/* 1: the attributes of BGP UPDATEs (BGP4MP MESSAGE*, type 5) and TABLE_DUMP entries are
	 * framed and checked (bgp_attrs_frame, attrs.lazy = BGP_ATTRS_FRAMED), their paths decoded
	 * on demand (mrt_rec_paths); a block with a problem is decoded whole, so warnings and
	 * routes are eager decoding's. For replay; dump decodes every attribute. The value is a
	 * BGP_LAZY_* (bgp.h): BGP_LAZY_PATHS decodes the paths with the check (a cluster's tap
	 * sends the path of every route, so mrt_rec_paths has nothing left to do); replay decodes
	 * none (BGP_LAZY_FRAME: its RIB reads a new set's path from the bytes). */
	uint8_t lazy_attrs;
	/* 1 (with lazy_attrs 0): the attribute blocks of TABLE_DUMP (v1) entries are not decoded but
	 * left as bytes (attrs.lazy = BGP_ATTRS_RAW). For dump -m/-M, which prints a block it printed
	 * before from its text, found by its bytes, and has mrt_td1_entry_decode decode the others in
	 * entry order, so the record's warnings are eager decoding's, in its order (td1_late). */
	uint8_t lazy_td1;
	uint8_t lazy_td1_now;               /* lazy_td1 for the record being decoded */
	uint8_t td1_late;                   /* lazy_td1: the last kept warning is the record's own (a batched
	                                     * entry cut short), which eager decoding gives after the
	                                     * entries' problems: mrt_td1_entry_decode puts them before it */
	/* 1: no fast path (bgp4mp_message_fast, mrt.c): every record through the careful path, which
	 * gives the errors and warnings. For the tests and fuzz targets that compare the two. */
	uint8_t careful;
	struct arena arena;                 /* reset at each mrt_decode */
	struct dm_error warn_keep[MRT_WARN_KEEP];   /* the current record's kept problems */
};

void mrt_ctx_init(struct mrt_ctx *ctx);
void mrt_ctx_free(struct mrt_ctx *ctx);

/* Decodes one record body (body points at the bytes after the 12-byte header, len = hdr->len).
 * hdr may be &rec->hdr (the reader's output read into rec: no copy, mrt.c says why).
 * Returns 0 (rec filled; rec->nwarn may be > 0) or a negative dm_err: the record is unusable,
 * err->offset is absolute in the input (hdr->offset + 12 + position in body). */
int mrt_decode(struct mrt_ctx *ctx, const struct mrt_hdr *hdr, const uint8_t *body,
               struct mrt_rec *rec, struct dm_error *err);

/* Decodes the attributes of RIB entry i of rec (an MRT_K_RIB record decoded with
 * lazy_rib_attrs) whole, as eager decoding would have: a problem becomes one of the record's
 * warnings (append order: entry order, the record had none before). attrs.lazy becomes
 * BGP_ATTRS_RIB_ENTRY. Returns the entry's attr_err; 0 when it was decoded already. */
int mrt_rib_entry_decode(struct mrt_ctx *ctx, struct mrt_rec *rec, uint32_t i);
/* Frames the attributes of RIB entry i of rec (BGP_ATTRS_RAW, MRT_LAZY_RIB_RAW) as
 * lazy_rib_attrs 1 does (bgp_attrs_index: attrs.lazy becomes BGP_ATTRS_INDEXED). Returns 0, or
 * -1 when the block is not framed (a problem, or not RAW and not INDEXED): the caller decodes it
 * with mrt_rib_entry_decode, which reports its problems. Reports nothing itself. */
int mrt_rib_entry_frame(struct mrt_ctx *ctx, struct mrt_rec *rec, uint32_t i);

/* Decodes the attribute block of TABLE_DUMP entry e of rec (rec->u.td1 or one of its more[]; an
 * MRT_K_TD1 record decoded with lazy_td1, e's attrs BGP_ATTRS_RAW) whole, as eager decoding would
 * have: a problem becomes one of the record's warnings, appended (call it in entry order). Returns
 * e's attr_err; when the block was decoded already, that alone. */
int mrt_td1_entry_decode(struct mrt_ctx *ctx, struct mrt_rec *rec, struct mrt_td1 *e);

/* The paths of the framed attribute blocks of rec (ctx->lazy_attrs) that make routes: an
 * UPDATE announcing prefixes below treat-as-withdraw, TABLE_DUMP entries below it
 * (bgp_attrs_path), for callers that read the decoded paths of BGP_LAZY_FRAME blocks (replay's
 * RIB does not: bgp_attrs_path_flat reads them from the bytes). */
void mrt_rec_paths(struct mrt_ctx *ctx, struct mrt_rec *rec);

const char *mrt_type_name(uint16_t type);                 /* "TABLE_DUMP_V2" */
const char *mrt_subtype_name(uint16_t type, uint16_t subtype); /* "RIB_IPV4_UNICAST" */

#endif
