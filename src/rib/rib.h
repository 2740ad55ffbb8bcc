/* Routing state: every peer's table over one shared prefix store, and every peer's session state.
 *
 *  - Prefixes (IPv4 and IPv6) get a dense index on first sight (hash of the masked prefix) and a
 *    node in a binary patricia trie per family (for longest match and for walking the prefixes a
 *    prefix covers). Indexes are never reused: a prefix nobody routes stays in the store.
 *  - Path attributes are interned and refcounted: the key is the attribute block as received
 *    (without MP_REACH/MP_UNREACH, which carry the NLRI and would make every update unique) and
 *    the AS number size it was decoded with (the origin AS, AS_SET flag and path are functions
 *    of the two; a set built without a block is keyed on its origin and path instead). A set
 *    keeps what is read of its path, the origin AS and the upstream AS, not the path. A route
 *    holds one reference.
 *  - A peer's table is an array of 32-bit slots indexed by prefix index, allocated in pages of
 *    RIB_PAGE slots on first use: a slot is 0 (no route), an attribute-set id (one path, path id
 *    0), or RIB_MULTI | index of a list of (path id, attribute id) for ADD-PATH (RFC 7911).
 * At full scale (tens of peers x every prefix) a route costs its 4-byte slot plus its share of the
 * attribute sets and of the prefix store (replay's summary prints bytes/route).
 *
 * The RIB owns what happens to it: rib_apply applies one element (announce, withdraw, RIB entry,
 * peer state change) and says what changed (struct rib_change); the layers above (signal,
 * pipeline, archiver, API) react to the change and read the state through the functions below.
 * struct rib itself is private to src/rib (rib_impl.h).
 *
 * Peer identity = collector + peer address + peer ASN (the same router seen by two collectors is
 * two peers: each collector has its own session). */
#ifndef DM_RIB_RIB_H
#define DM_RIB_RIB_H

#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "bgp/bgp.h"
#include "bgp/elem.h"

enum { RIB_NONE = 0xffffffffu, RIB_PAGE_BITS = 8, RIB_PAGE = 1 << RIB_PAGE_BITS };
#define RIB_MULTI 0x80000000u

struct rib;

/* One interned attribute set (read through rib_attr_get). 32 bytes, not 56 (issue 12: 1.9 M
 * sets on a full-scale table): the block's bytes are in one allocation with the upstream AS
 * (rib_attr_raw, rib_attr_upstream), so no pointer to them; both lengths fit 16 bits (a path is
 * at most 4096 ASNs, a block at most 65535 bytes); the free list's link shares the hash's word.
 * The decoded AS path is not kept (issue 12: ~30 MB of a full-scale table): what is read of it
 * is the origin and the upstream AS; a set with a block is keyed on the block, whose path is a
 * function of its bytes and AS number size. Only a set built without a block (by hand: raw_len
 * 0) keeps its path, as its key. */
struct rib_attr {
	union {
		uint32_t hash;       /* live: the set's hash (its slot in the set hash) */
		uint32_t next;       /* free (refcnt 0): the next free id, 0 none */
	};
	uint32_t refcnt;         /* routes holding it; 0 = free slot */
	uint32_t origin_asn;     /* last ASN of the merged path; 0 when the path is empty */
	uint32_t user;           /* free for the layer above (signal: origin entity); RIB_NONE */
	uint8_t origin_set;      /* the origin came from an AS_SET (ambiguous origin) */
	uint8_t origin;          /* ORIGIN attribute */
	uint8_t asn_size;        /* 2 or 4: AS number size the block was encoded with */
	uint8_t rib_form;        /* made from a TABLE_DUMP_V2 RIB entry decoded without a problem: an
	                          * entry with the same block needs no decoding (rib_attr_find_lazy) */
	uint16_t path_len;       /* a set without a block (raw_len 0) only: ASNs of the path it is
	                          * keyed on (AS_SET members flattened in order); else 0 */
	uint16_t raw_len;        /* bytes of the block (rib_attr_raw) */
	uint32_t *blob;          /* the upstream AS, then path_len ASNs, then the attribute block
	                          * without MP_(UN)REACH_NLRI */
};

/* A set's attribute block (raw_len bytes). */
static inline const uint8_t *rib_attr_raw(const struct rib_attr *x)
{
	return (const uint8_t *)(x->blob + 1 + x->path_len);
}
/* The AS before the origin in the set's merged path, prepends of the origin skipped; 0 when none. */
static inline uint32_t rib_attr_upstream(const struct rib_attr *x) { return x->blob[0]; }
/* Bytes of a set's blob. */
static inline size_t rib_attr_blob_bytes(const struct rib_attr *x)
{
	return 4 + (size_t)x->path_len * 4 + x->raw_len;
}

struct rib_tnode {           /* patricia trie node (read through rib_node and the accessors below) */
	uint32_t child[2];
	/* 16 bytes a node, not 24 (issue 12: about 1.8 nodes a prefix, 8 MB of a one-peer table):
	 * the parent takes 24 bits and the length the other 8 (RIB_NODE_MAX nodes at most: 8 M
	 * prefixes and more), and the prefix the node is (if any) shares a word with the node's
	 * representative: rep is a prefix whose first len bits are the node's bits (the prefix store
	 * never forgets a prefix, so any prefix that made the node will do; a node that is a prefix
	 * has that prefix as rep), and bit 31 says the node is rep (prefix indexes are < 2^31). */
	uint32_t up;             /* parent (RIB_NODE_NIL: none) | len << 24 */
	uint32_t key;            /* rep | RIB_NODE_END when the node is the prefix rep */
};
enum { RIB_NODE_NIL = 0xffffffu, RIB_NODE_MAX = RIB_NODE_NIL };
/* A child (or root) word is RIB_NONE, a node index, or RIB_LEAF | a prefix index: a prefix with
 * nothing below it is held in its parent's child word, not in a node of its own (issue 12: 85%
 * of a full table's prefixes are leaves; a node per prefix made 1.8 nodes a prefix, now 1.0). */
#define RIB_LEAF 0x80000000u
static inline int rib_is_leaf(uint32_t v) { return v != RIB_NONE && (v & RIB_LEAF); }
static inline uint32_t rib_leaf_pfx(uint32_t v) { return v & ~RIB_LEAF; }
#define RIB_NODE_END 0x80000000u

static inline uint32_t rib_tnode_parent(const struct rib_tnode *t)
{
	uint32_t p = t->up & RIB_NODE_NIL;
	return p == RIB_NODE_NIL ? RIB_NONE : p;
}
static inline unsigned rib_tnode_len(const struct rib_tnode *t) { return t->up >> 24; }
/* the prefix index the node is, or RIB_NONE for a branching-only node */
static inline uint32_t rib_tnode_pfx(const struct rib_tnode *t)
{
	return t->key & RIB_NODE_END ? t->key & ~RIB_NODE_END : RIB_NONE;
}
static inline uint32_t rib_tnode_rep(const struct rib_tnode *t) { return t->key & ~RIB_NODE_END; }

struct rib_multi {           /* ADD-PATH path list entry (read through rib_multi_get) */
	uint32_t path_id;
	uint32_t attr;
	uint32_t next;           /* RIB_NONE ends the list; free list link when unused */
};

static inline int rib_fam(uint8_t afi) { return afi == DM_AFI_IPV6; }

struct rib *rib_new(void);
void rib_free(struct rib *r);

/* Exact snapshots (rib_snap.c, docs/scale.md "Snapshots"): the RIB whole, ids and node numbers
 * included, appended to b (b->failed when memory ran out). rib_snap_read loads one into a RIB
 * fresh from rib_new: 0, or -1 for bytes that are truncated, corrupt or of another build (the
 * RIB is then only fit for rib_free). */
struct snapbuf;
struct cur;
void rib_snap_write(const struct rib *r, struct snapbuf *b);
int rib_snap_read(struct rib *r, struct cur *c);

/* ---- applying elements ---- */

enum rib_change_kind {
	RIB_CH_NONE = 0,      /* nothing to apply: no peer address, a family other than IPv4/IPv6,
	                       * an announcement without attributes, a state change that leaves the
	                       * session where it was */
	RIB_CH_ROUTE,         /* a path was set (new or replaced) or removed */
	RIB_CH_NOPATH,        /* a withdrawal of a path the peer did not have (pfx RIB_NONE when
	                       * the prefix was never seen): nothing changed */
	RIB_CH_PEER_UP,       /* the session reached Established (RFC 4271 §8.2.2 state 6) */
	RIB_CH_PEER_DOWN,     /* the session left Established: its table was dropped */
	RIB_CH_IGNORED,       /* prefix shorter than the minimum length (rib_set_min_len) */
	RIB_CH_DROPPED,       /* not applied: no peer address, malformed prefix, no attributes on
	                       * an announcement, or out of memory (counted: rib_dropped) */
};

struct rib_change {
	uint8_t kind;            /* enum rib_change_kind */
	uint8_t came_up;         /* RIB_CH_ROUTE from a down peer: routes arriving mean the session is
	                          * up (its state record missing); the peer is up now */
	uint8_t first;           /* ROUTE: the prefix gained its first path of this peer */
	uint8_t last;            /* ROUTE: the prefix lost its last path of this peer */
	uint32_t peer;           /* peer index (RIB_NONE when DROPPED before the peer was known) */
	uint32_t pfx;            /* ROUTE: prefix index; a withdrawal of an unknown prefix: RIB_NONE */
	uint32_t path_id;        /* ROUTE: the path (0 without ADD-PATH) */
	uint32_t old_attr;       /* ROUTE: the set the path had before (0: none, a new path) */
	uint32_t new_attr;       /* ROUTE: the set it has now (0: removed) */
	uint32_t held[2];        /* PEER_DOWN: prefixes the peer held, [0] IPv4, [1] IPv6 */
	uint64_t paths_held;     /* PEER_DOWN: paths it held */
};

/* Applies an element of a collector (index from rib_collector_find_or_add): A and R set the path
 * (prefix, path id) of the peer (the peer is added on first sight, up); W removes it; S with
 * new_state 6 brings the session up, any other state takes it down and drops its table (RFC 4271:
 * routes of a session that leaves Established are gone; the prefixes it held go to the drop
 * callback first, rib_set_drop_fn). old_attr stays valid until the next rib_apply (the RIB keeps
 * one reference for that long), so the caller can read the path that was replaced or withdrawn.
 * Returns ch->kind. */
int rib_apply(struct rib *r, uint32_t collector, const struct dm_elem *e, struct rib_change *ch);

/* A new record begins: elements of one record that share an attribute pointer share the
 * interned set (looked up once). A source that never calls it gets no such shortcut (attribute
 * memory may be reused between its elements). */
void rib_record(struct rib *r);

/* Elements for prefixes shorter than these (IPv4, IPv6) are not applied (RIB_CH_IGNORED,
 * counted). Default 0, 0: everything. The signal sets /8 and /16 (docs/replay.md). */
void rib_set_min_len(struct rib *r, uint8_t v4, uint8_t v6);

/* Called for each (prefix, slot) of a peer's table just before a session down drops it (the
 * slot's sets are still valid then). */
typedef void (*rib_drop_fn)(void *arg, uint32_t peer, uint32_t pfx, uint32_t slot);
void rib_set_drop_fn(struct rib *r, rib_drop_fn fn, void *arg);

uint64_t rib_ignored(const struct rib *r);   /* elements RIB_CH_IGNORED */
uint64_t rib_dropped(const struct rib *r);   /* elements RIB_CH_DROPPED, routes and sets lost to memory */

/* ---- collectors and peers ---- */

/* Collector names get small indexes; "" is a valid name. */
uint32_t rib_collector_find_or_add(struct rib *r, const char *name);
uint32_t rib_collector_count(const struct rib *r);
const char *rib_collector_name(const struct rib *r, uint32_t c);

uint32_t rib_peer_find_or_add(struct rib *r, uint32_t collector, const struct dm_ip *addr,
                              uint32_t asn);
uint32_t rib_peer_find(const struct rib *r, uint32_t collector, const struct dm_ip *addr,
                       uint32_t asn);
uint32_t rib_peer_count(const struct rib *r);

struct rib_peer_info {
	uint32_t collector;      /* index: rib_collector_name */
	uint32_t asn;
	struct dm_ip addr;
	uint8_t up;              /* session Established (or assumed: seen in a RIB or an update) */
	uint32_t nprefixes[2];   /* prefixes with >= 1 path, [0] IPv4, [1] IPv6 */
	uint64_t npaths;
	uint32_t down_count;     /* times the session left Established */
};
/* Fills out for peer index i; 0, or -1 when there is no such peer. */
int rib_peer_info(const struct rib *r, uint32_t i, struct rib_peer_info *out);
int rib_peer_up(const struct rib *r, uint32_t peer);
uint32_t rib_peer_prefixes(const struct rib *r, uint32_t peer, int fam);

/* Visits every (prefix, slot) of a peer's table. */
typedef void (*rib_route_fn)(void *arg, uint32_t pfx, uint32_t slot);
void rib_peer_walk(const struct rib *r, uint32_t peer, rib_route_fn fn, void *arg);

/* ---- prefixes and the trie ---- */

/* A stored prefix, 8 bytes (issue 12: 18 as a struct dm_prefix, 5.8 MB of a one-peer table):
 * an IPv4 prefix's masked address in place, an IPv6 prefix's address apart (rib.c). Public only
 * for the inline readers below: struct rib begins with a struct rib_head (rib_impl.h), so that
 * the signal's per-prefix loops read a length without a call. */
struct rib_pfx {
	uint8_t b[4];
	uint8_t len;
	uint8_t v6;
	uint8_t pad[2];          /* 0: a stored IPv4 prefix compares as one 64-bit word */
};
struct rib_head {
	struct rib_pfx *pfx;
};

/* Sizes the prefix store for n prefixes (avoids rehashing during a RIB load); 0 or -1. */
int rib_reserve(struct rib *r, uint32_t n);
/* Gives back the pages populated ahead of the ends of the RIB's growing arrays (base/prefault.h),
 * before a phase that allocates much (the signal's full recompute): they are not in its peak. */
void rib_trim(struct rib *r);

/* Prefix index of p (host bits cleared first); adds it (and its trie node) when new.
 * Returns RIB_NONE only for a malformed prefix (bad family or length) or out of memory. */
uint32_t rib_prefix_find_or_add(struct rib *r, const struct dm_prefix *p);
/* Starts loading the hash slot rib_prefix_find_or_add(p) will read first (a hint: no effect on
 * the RIB). Called for each prefix of a record before it is applied, so that the cache misses of
 * its prefixes overlap instead of following one another. */
void rib_prefetch(const struct rib *r, const struct dm_prefix *p);
/* An UPDATE's attribute block (decoded or framed, not a lazy RIB entry's) about to be interned
 * by this record's first element: its hash computed now and its set hash slot asked for, so that
 * the miss overlaps the record's prefix prefetches (a table's every record makes a new set).
 * Call after rib_record; a hint only. */
uint32_t rib_attr_prefetch(struct rib *r, const struct bgp_attrs *a);   /* the origin AS, or 0 */
uint32_t rib_prefix_find(const struct rib *r, const struct dm_prefix *p);
/* Prefix i, masked. A copy, not a pointer: the store keeps an IPv4 prefix in 8 bytes, not in a
 * struct dm_prefix (issue 12). rib_prefix_len and rib_prefix_fam read one field without it. */
struct dm_prefix rib_prefix(const struct rib *r, uint32_t i);
static inline unsigned rib_prefix_len(const struct rib *r, uint32_t i);
static inline int rib_prefix_fam(const struct rib *r, uint32_t i);   /* 0 IPv4, 1 IPv6 (rib_fam) */
static inline uint32_t rib_prefix_v4(const struct rib *r, uint32_t i);   /* an IPv4 prefix's address, host order */
uint32_t rib_prefix_count(const struct rib *r);
/* Trie node of prefix i: RIB_NONE while queued or removed, and for a prefix the trie holds as a
 * leaf (see RIB_LEAF). */
uint32_t rib_prefix_node(const struct rib *r, uint32_t i);
/* The nearest trie node above prefix i (its parent, whether i is a node or a leaf); RIB_NONE at
 * the top or when i is not in the trie. */
uint32_t rib_prefix_up(const struct rib *r, uint32_t i);

/* Trie: a prefix is inserted by rib_prefix_find_or_add; rib_trie_remove takes it out (its index
 * stays valid and rib_trie_insert puts it back). */
int rib_trie_insert(struct rib *r, uint32_t pfx);
/* Lazy mode: rib_prefix_find_or_add only queues new prefixes; rib_trie_sync inserts the queue in
 * address order (a RIB's worth of random inserts costs a cache miss per trie level; sorted ones
 * mostly hit). Trie queries (lpm, covering, walks) see only synced prefixes. */
void rib_set_lazy_trie(struct rib *r, int on);
int rib_trie_sync(struct rib *r);
uint32_t rib_trie_pending(const struct rib *r);      /* prefixes queued, not in the trie yet */
uint32_t rib_trie_pending_fam(const struct rib *r, int fam);   /* of family fam (a pass over the queue) */
/* The queue's IPv4 prefixes in the order rib_trie_sync inserts them (address, then length:
 * each after every prefix that covers it), packed as address (host order) << 32 | length <<
 * RIB_PK_IDX_BITS | prefix index, the queue left as it is: for walking the prefixes an empty
 * trie would hold without building it (signal.c's first close of a table). Returns the count
 * and *out (a bigarr of *bytes: bigarr_free it; NULL when the count is 0), or UINT32_MAX when
 * out of memory or when the store's indexes do not fit the packing. */
enum { RIB_PK_IDX_BITS = 26 };
uint32_t rib_queue4_sorted(const struct rib *r, uint64_t **out, size_t *bytes);
static inline uint32_t rib_pk_index(uint64_t k) { return (uint32_t)k & ((1u << RIB_PK_IDX_BITS) - 1); }
static inline unsigned rib_pk_len(uint64_t k) { return (unsigned)(k >> RIB_PK_IDX_BITS) & 63; }
int rib_trie_reuses_nodes(const struct rib *r);      /* the next sync may reuse freed node indexes */
void rib_trie_remove(struct rib *r, uint32_t pfx);
const struct rib_tnode *rib_node(const struct rib *r, uint32_t n);
uint32_t rib_node_count(const struct rib *r);        /* node indexes in use are < this */
uint32_t rib_trie_root(const struct rib *r, int fam);
/* Longest prefix in the trie containing the address; RIB_NONE when none. */
uint32_t rib_lpm(const struct rib *r, const struct dm_ip *addr);
/* Longest prefix in the trie that covers p (p itself when present); RIB_NONE when none. */
uint32_t rib_covering(const struct rib *r, const struct dm_prefix *p);

/* ---- attribute sets ---- */

/* Interns the attribute set of an element (takes a reference: the caller passes it to a route
 * or drops it with rib_attr_unref). Returns 0 on out of memory. */
uint32_t rib_attr_intern(struct rib *r, const struct bgp_attrs *a);
/* Lazy decoding (issue 12): the set a framed-only block (a->lazy == BGP_ATTRS_INDEXED, see
 * bgp_attrs_index) or an unframed RIB entry block (BGP_ATTRS_RAW: its bytes only, looked up as
 * they are; one holding MP_(UN)REACH_NLRI is found only once framed) stands for, when one made
 * from an equal TABLE_DUMP_V2 RIB entry block
 * decoded without a problem is held (no reference taken); 0 when none: the caller decodes the
 * block (mrt_rib_entry_decode) before applying it. hint (0: none) is a set to try first (the
 * one the same peer's last block stood for). The caller may keep the set in a->rib_set
 * with a reference (rib_attr_ref) or pinned (rib_pin_begin) until the block is applied:
 * rib_attr_intern of a framed-only block returns that set, or looks it up, or returns 0
 * (nothing interned: the path is not known). */
uint32_t rib_attr_find_lazy(const struct rib *r, const struct bgp_attrs *a, uint32_t hint);
/* rib_attr_find_lazy of n blocks at once, out[i] for a[i] with hint[i]: a RIB record's entries,
 * whose lookups overlap their cache misses (issue 12). */
void rib_attr_find_lazy_n(const struct rib *r, const struct bgp_attrs *const *a, const uint32_t *hint,
                          uint32_t *out, uint32_t n);
/* The same, trying the peer's previous set first: in a RIB dump a peer's consecutive prefixes
 * (sorted, so often of the same origin) mostly share their attributes. */
uint32_t rib_attr_intern_peer(struct rib *r, uint32_t peer, const struct bgp_attrs *a);
void rib_attr_ref(struct rib *r, uint32_t id);
void rib_attr_unref(struct rib *r, uint32_t id);
/* A record's sets held while it is applied, without a reference each (issue 12: a reference
 * taken and given back per entry was 3% of a full-scale table's instructions): the caller fills
 * the n ids rib_pin_begin returns (zero; NULL when out of memory: find none) with the sets its
 * entries were found to stand for (rib_attr_find_lazy, in entry order; 0 none) before applying
 * them; until rib_pin_end, a set named there whose last reference goes is kept, and rib_pin_end
 * lets those go in the order a reference per entry, given back entry by entry, would have. */
uint32_t *rib_pin_begin(struct rib *r, uint32_t n);
void rib_pin_end(struct rib *r);
const struct rib_attr *rib_attr_get(const struct rib *r, uint32_t id);
/* The set's `user` word, for the layer above to cache what it derives from the set. */
void rib_attr_set_user(struct rib *r, uint32_t id, uint32_t user);
uint32_t rib_attr_count(const struct rib *r);   /* live sets */
uint32_t rib_attr_slots(const struct rib *r);   /* ids below this are rib_attr_get's (live or free) */

/* ---- routes ---- */

/* Low level (rib_apply uses them; tests and tools may). rib_route_set stores (peer, prefix,
 * path id) -> attr, taking over the caller's reference; it returns the attribute id it replaced
 * (0: none), whose reference the caller now owns. rib_route_del removes the path and returns its
 * attribute id (0: there was none) likewise. */
uint32_t rib_route_set(struct rib *r, uint32_t peer, uint32_t pfx, uint32_t path_id, uint32_t attr);
uint32_t rib_route_del(struct rib *r, uint32_t peer, uint32_t pfx, uint32_t path_id);

/* The raw slot: 0, an attr id, or RIB_MULTI | list head (rib_multi_get). */
uint32_t rib_slot(const struct rib *r, uint32_t peer, uint32_t pfx);
const struct rib_multi *rib_multi_get(const struct rib *r, uint32_t i);

struct rib_path {
	uint32_t path_id;
	uint32_t attr;
};
/* Paths of (peer, prefix), up to max; returns how many there are (may exceed max). */
int rib_route_paths(const struct rib *r, uint32_t peer, uint32_t pfx, struct rib_path *out, int max);

/* Drops every route of a peer (its session state unchanged): attribute references released,
 * counts zeroed. rib_apply does this itself when a session goes down. */
void rib_peer_clear(struct rib *r, uint32_t peer);

/* Memory held by the RIB's own structures (bytes), for bytes/route reports. */
size_t rib_memory(const struct rib *r);
/* Bytes in use: elements held (prefixes, nodes, sets and their bytes, live table pages, hash
 * entries), not the capacity reserved for growth that rib_memory counts. */
size_t rib_memory_used(const struct rib *r);
uint64_t rib_routes(const struct rib *r);   /* (peer, prefix) pairs with >= 1 path */
uint64_t rib_attr_bytes(const struct rib *r);   /* bytes held by attribute sets (raw + path) */

static inline unsigned rib_prefix_len(const struct rib *r, uint32_t i)
{
	return ((const struct rib_head *)(const void *)r)->pfx[i].len;
}
static inline int rib_prefix_fam(const struct rib *r, uint32_t i)
{
	return ((const struct rib_head *)(const void *)r)->pfx[i].v6;
}
static inline uint32_t rib_prefix_v4(const struct rib *r, uint32_t i)
{
	const uint8_t *b = ((const struct rib_head *)(const void *)r)->pfx[i].b;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

#endif
