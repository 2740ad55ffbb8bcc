/* Routing state: every peer's table over one shared prefix store.
 *
 *  - Prefixes (IPv4 and IPv6) get a dense index on first sight (hash of the masked prefix) and a
 *    node in a binary patricia trie per family (for longest match and for walking the prefixes a
 *    prefix covers). Indexes are never reused: a prefix nobody routes stays in the store.
 *  - Path attributes are interned and refcounted: the key is the attribute block as received
 *    (without MP_REACH/MP_UNREACH, which carry the NLRI and would make every update unique) plus
 *    the decoded origin AS, AS_SET flag and the merged AS path. A route holds one reference.
 *  - A peer's table is an array of 32-bit slots indexed by prefix index, allocated in pages of
 *    RIB_PAGE slots on first use: a slot is 0 (no route), an attribute-set id (one path, path id
 *    0), or RIB_MULTI | index of a list of (path id, attribute id) for ADD-PATH (RFC 7911).
 * At full scale (tens of peers x every prefix) a route costs its 4-byte slot plus its share of the
 * attribute sets and of the prefix store: see bench/rib_scale.c.
 *
 * Peer identity = collector + peer address + peer ASN (the same router seen by two collectors is
 * two peers: each collector has its own session). */
#ifndef DM_RIB_RIB_H
#define DM_RIB_RIB_H

#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "bgp/bgp.h"

enum { RIB_NONE = 0xffffffffu, RIB_PAGE_BITS = 8, RIB_PAGE = 1 << RIB_PAGE_BITS };
#define RIB_MULTI 0x80000000u

/* One interned attribute set. */
struct rib_attr {
	uint32_t hash;
	uint32_t refcnt;         /* routes holding it; 0 = free slot */
	uint32_t next;           /* hash chain (or free list) */
	uint32_t origin_asn;     /* last ASN of the merged path; 0 when the path is empty */
	uint8_t origin_set;      /* the origin came from an AS_SET (ambiguous origin) */
	uint8_t origin;          /* ORIGIN attribute */
	uint8_t asn_size;        /* 2 or 4: AS number size the block was encoded with */
	uint16_t path_len;       /* ASNs in asn[] (AS_SET members flattened in order) */
	uint32_t raw_len;
	uint32_t *asn;           /* merged AS path; asn and raw share one allocation */
	uint8_t *raw;            /* attribute block without MP_(UN)REACH_NLRI */
	uint32_t user;           /* free for the layer above (signal: origin entity); RIB_NONE */
};

struct rib_tnode {           /* patricia trie node */
	uint32_t child[2];
	uint32_t parent;
	uint32_t pfx;            /* prefix index, or RIB_NONE for a branching-only node */
	uint8_t len;
	uint8_t key[16];         /* the node's bits (first len bits valid): no indirection per level */
};

struct rib_peer {
	uint32_t collector;      /* index into rib->collector names */
	uint32_t asn;
	struct dm_ip addr;
	uint8_t up;              /* session Established (or assumed: seen in a RIB or an update) */
	uint32_t nprefixes[2];   /* prefixes with >= 1 path, [0] IPv4, [1] IPv6 */
	uint64_t npaths;
	uint32_t **page;         /* page[i] covers prefix indexes i*RIB_PAGE ... */
	uint32_t npage;
	uint32_t down_count;     /* times the session left Established */
	uint32_t last_attr;      /* the set this peer's last route used: the likely next one */
};

struct rib_multi {           /* ADD-PATH path list entry */
	uint32_t path_id;
	uint32_t attr;
	uint32_t next;           /* RIB_NONE ends the list; free list link when unused */
};

struct rib {
	/* prefix store */
	struct dm_prefix *pfx;   /* by prefix index (masked) */
	uint32_t *pfx_node;      /* trie node of each prefix (RIB_NONE when removed from the trie) */
	uint32_t npfx, cap_pfx;
	uint64_t *htab;          /* hash << 32 | index; 0 = empty (index stored + 1) */
	uint32_t hmask;
	/* trie */
	struct rib_tnode *node;
	uint32_t nnode, cap_node, free_node;
	uint32_t root[2];        /* [0] IPv4, [1] IPv6 */
	/* attributes */
	struct rib_attr *attr;   /* id 0 unused */
	uint32_t nattr, cap_attr, free_attr, live_attr;
	uint64_t *atab;          /* open addressing: hash << 32 | attr id; 0 empty */
	uint32_t amask;
	void *blob_free[24];     /* free set blobs by 16-byte size class */
	void **blob_chunk;
	uint32_t nblob_chunk, blob_used;
	uint64_t attr_bytes;     /* bytes held by attribute sets (raw + path) */
	/* ADD-PATH lists */
	struct rib_multi *multi;
	uint32_t nmulti, cap_multi, free_multi;
	/* peers */
	struct rib_peer *peer;
	uint32_t npeer, cap_peer;
	uint32_t *ptab;          /* peer hash: index + 1; 0 empty */
	uint32_t pmask;
	char **collector;
	uint32_t ncollector;
	/* table pages come from 2 MiB chunks; freed pages are reused */
	void **chunk;
	uint32_t nchunk, chunk_used;
	uint32_t *page_free;     /* free list, linked through the first slot */
	uint64_t pages_live;
	/* lazy trie (rib_set_lazy_trie): prefixes added but not yet in the trie */
	uint8_t lazy_trie;
	uint32_t *pending;
	uint32_t npending, cap_pending;
	uint64_t nomem;          /* routes or sets dropped because memory ran out (reported) */
};

static inline int rib_fam(uint8_t afi) { return afi == DM_AFI_IPV6; }

struct rib *rib_new(void);
void rib_free(struct rib *r);

/* Collector names get small indexes; "" is a valid name. */
uint32_t rib_collector_find_or_add(struct rib *r, const char *name);

uint32_t rib_peer_find_or_add(struct rib *r, uint32_t collector, const struct dm_ip *addr,
                              uint32_t asn);
uint32_t rib_peer_find(const struct rib *r, uint32_t collector, const struct dm_ip *addr,
                       uint32_t asn);

/* Sizes the prefix store for n prefixes (avoids rehashing during a RIB load); 0 or -1. */
int rib_reserve(struct rib *r, uint32_t n);

/* Prefix index of p (host bits cleared first); adds it (and its trie node) when new.
 * Returns RIB_NONE only for a malformed prefix (bad family or length) or out of memory. */
uint32_t rib_prefix_find_or_add(struct rib *r, const struct dm_prefix *p);
uint32_t rib_prefix_find(const struct rib *r, const struct dm_prefix *p);
static inline const struct dm_prefix *rib_prefix(const struct rib *r, uint32_t i) { return &r->pfx[i]; }

/* Trie: a prefix is inserted by rib_prefix_find_or_add; rib_trie_remove takes it out (its index
 * stays valid and rib_trie_insert puts it back). */
int rib_trie_insert(struct rib *r, uint32_t pfx);
/* Lazy mode: rib_prefix_find_or_add only queues new prefixes; rib_trie_sync inserts the queue in
 * address order (a RIB's worth of random inserts costs a cache miss per trie level; sorted ones
 * mostly hit). Trie queries (lpm, covering, walks) see only synced prefixes. */
void rib_set_lazy_trie(struct rib *r, int on);
int rib_trie_sync(struct rib *r);
void rib_trie_remove(struct rib *r, uint32_t pfx);
/* Longest prefix in the trie containing the address; RIB_NONE when none. */
uint32_t rib_lpm(const struct rib *r, const struct dm_ip *addr);
/* Longest prefix in the trie that covers p (p itself when present); RIB_NONE when none. */
uint32_t rib_covering(const struct rib *r, const struct dm_prefix *p);

/* Interns the attribute set of an element (takes a reference: the caller passes it to a route
 * or drops it with rib_attr_unref). Returns 0 on out of memory. */
uint32_t rib_attr_intern(struct rib *r, const struct bgp_attrs *a);
/* The same, trying the peer's previous set first: in a RIB dump a peer's consecutive prefixes
 * (sorted, so often of the same origin) mostly share their attributes. */
uint32_t rib_attr_intern_peer(struct rib *r, uint32_t peer, const struct bgp_attrs *a);
void rib_attr_ref(struct rib *r, uint32_t id);
void rib_attr_unref(struct rib *r, uint32_t id);
static inline const struct rib_attr *rib_attr_get(const struct rib *r, uint32_t id) { return &r->attr[id]; }

/* Routes. rib_route_set stores (peer, prefix, path id) -> attr, taking over the caller's reference;
 * it returns the attribute id it replaced (0: none), whose reference the caller now owns.
 * rib_route_del removes the path and returns its attribute id (0: there was none) likewise. */
uint32_t rib_route_set(struct rib *r, uint32_t peer, uint32_t pfx, uint32_t path_id, uint32_t attr);
uint32_t rib_route_del(struct rib *r, uint32_t peer, uint32_t pfx, uint32_t path_id);

/* The raw slot: 0, an attr id, or RIB_MULTI | list head. */
static inline uint32_t rib_slot(const struct rib *r, uint32_t peer, uint32_t pfx)
{
	const struct rib_peer *p = &r->peer[peer];
	uint32_t pg = pfx >> RIB_PAGE_BITS;
	if (pg >= p->npage || !p->page[pg])
		return 0;
	return p->page[pg][pfx & (RIB_PAGE - 1)];
}

struct rib_path {
	uint32_t path_id;
	uint32_t attr;
};
/* Paths of (peer, prefix), up to max; returns how many there are (may exceed max). */
int rib_route_paths(const struct rib *r, uint32_t peer, uint32_t pfx, struct rib_path *out, int max);

/* Visits every (prefix, slot) of a peer's table. */
typedef void (*rib_route_fn)(void *arg, uint32_t pfx, uint32_t slot);
void rib_peer_walk(const struct rib *r, uint32_t peer, rib_route_fn fn, void *arg);
/* Drops every route of a peer (session down): attribute references released, counts zeroed. */
void rib_peer_clear(struct rib *r, uint32_t peer);

/* Memory held by the RIB's own structures (bytes), for bytes/route reports. */
size_t rib_memory(const struct rib *r);
/* Bytes in use: elements held (prefixes, nodes, sets and their bytes, live table pages, hash
 * entries), not the capacity reserved for growth that rib_memory counts. */
size_t rib_memory_used(const struct rib *r);
uint64_t rib_routes(const struct rib *r);   /* (peer, prefix) pairs with >= 1 path */

#endif
