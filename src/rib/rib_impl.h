/* The RIB's own structures: private to src/rib (its users go through rib/rib.h). */
#ifndef DM_RIB_RIB_IMPL_H
#define DM_RIB_RIB_IMPL_H

#include "rib/rib.h"

#include <string.h>

/* struct rib_pfx (rib.h): an IPv6 prefix's 16 bytes are in rib->pfx6, at the index its b
 * holds (host order). rib_pfx_b gives the address bytes of either family. */
struct rib_pfx6 {
	uint8_t b[16];
};

/* Attribute-set blobs come in size classes of 8 bytes up to 384 (rib.c blob_alloc): 8, not 16
 * (issue 12: a full-scale table's blobs are 4 + 42..60 bytes; 16-byte classes wasted 7 a set). */
enum { RIB_BLOB_CLASS = 8, RIB_BLOB_CLASSES = 48 };

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
	uint32_t succ;           /* the peer looked up after this one last (+ 1; 0 none): a RIB record's
	                          * entries come peer by peer in the same order (a cache, not state) */
};

struct rib {
	/* prefix store */
	struct rib_head h;       /* h.pfx: by prefix index (masked); first: rib.h's inline readers */
	struct rib_pfx6 *pfx6;   /* IPv6 addresses, in the order their prefixes were added */
	uint32_t npfx6, cap_pfx6;
	uint32_t *pfx_node;      /* trie node of each prefix (RIB_NONE when removed from the trie) */
	uint32_t npfx, cap_pfx;
	uint32_t *htab;          /* hash bits above hmask | index + 1; 0 = empty (rib.c htab_probe) */
	uint32_t hslots, hmask;  /* slots: 2^b or 1.5 x 2^(b-1); hmask 2^b - 1 (rib.c htab_pos) */
	/* trie */
	struct rib_tnode *node;
	uint32_t nnode, cap_node, free_node;
	uint32_t root[2];        /* [0] IPv4, [1] IPv6 */
	/* attributes */
	struct rib_attr *attr;   /* id 0 unused */
	uint32_t nattr, cap_attr, free_attr, live_attr;
	uint32_t *atab;          /* set hash: fingerprint (hash bits above amask) | attr id; 0 empty (rib.c) */
	uint32_t amask;
	void *blob_free[RIB_BLOB_CLASSES];   /* free set blobs by size class (rib.c blob_alloc) */
	void **blob_chunk;
	uint32_t nblob_chunk, blob_used;
	void *blob_spare;   /* the next chunk, made before the newest is full (rib.c blob_alloc) */
	uint64_t attr_bytes;     /* bytes held by attribute sets (raw + path) */
	/* attr_key's copy of a set without its MP_(UN)REACH_NLRI (rib.c ATTR_SCRATCH bytes): the
	 * RIB's, not 80 KB of static TLS that every thread of every command clears at its start
	 * (dump's 2-3 threads: about 1 ms of a 24 ms run, issue 12) */
	uint8_t *key_scratch;
	/* ADD-PATH lists */
	struct rib_multi *multi;
	uint32_t nmulti, cap_multi, free_multi;
	/* peers */
	struct rib_peer *peer;
	uint32_t npeer, cap_peer;
	uint32_t *ptab;          /* peer hash: index + 1; 0 empty */
	uint32_t last_peer;      /* the peer rib_peer_find_or_add found last (a cache, not state) */
	uint32_t pmask;
	char **collector;
	uint32_t ncollector;
	/* table pages come from 2 MiB chunks; freed pages are reused */
	void **chunk;
	uint32_t nchunk, chunk_used;
	void *chunk_spare;   /* the next table chunk, made before the newest is full (rib.c page_alloc) */
	uint32_t *page_free;     /* free list, linked through the first slot */
	uint64_t pages_live;
	/* lazy trie (rib_set_lazy_trie): prefixes added but not yet in the trie: pend_from ...
	 * npfx - 1 (the prefixes added since the last sync: a table's queue is a range, no list of
	 * 577k indexes written and read back, issue 12), and before them the list pending (a
	 * snapshot's queue); rib.c pend_at */
	uint8_t lazy_trie;
	uint32_t pend_from;
	uint32_t *pending;
	uint32_t npending, cap_pending;
	uint64_t nomem;          /* routes or sets dropped because memory ran out (reported) */
	/* rib_pin_begin .. rib_pin_end: pin[0, npin) the sets a record's entries stand for, then the
	 * ones kept (nheld) because their last reference went meanwhile (rib.c pin_keeps) */
	uint32_t *pin;
	uint32_t npin, nheld, cap_pin;
	/* rib_apply */
	uint32_t deferred;       /* the last change's old_attr: its reference, released next call */
	uint8_t min_len[2];      /* shorter prefixes are not applied (rib_set_min_len) */
	struct dm_prefix last_in;   /* the prefix rib_apply looked up last, as given ... */
	uint32_t last_pfx;          /* ... and its index + 1 (0 none): a RIB record's entries share it */
	uint64_t ignored, dropped;
	uint64_t rec_seq, cache_seq;   /* rib_record: the attribute cache is valid within a record */
	const struct bgp_attrs *cache_attrs;
	uint32_t cache_id;
	/* rib_attr_prefetch: a record's block's key, hashed ahead (valid within the record) */
	uint64_t pf_seq;
	const struct bgp_attrs *pf_attrs;
	uint32_t pf_hash, pf_origin;
	uint8_t pf_oset;
	void (*drop_fn)(void *arg, uint32_t peer, uint32_t pfx, uint32_t slot);
	void *drop_arg;
};


/* The allocators rib_snap.c loads a snapshot's attribute sets and table pages with (rib.c). */
void *rib_blob_alloc_(struct rib *r, size_t n);
uint32_t *rib_page_alloc_(struct rib *r);

static inline uint32_t rib_pfx6_idx(const struct rib_pfx *p)
{
	uint32_t i;
	memcpy(&i, p->b, 4);
	return i;
}

/* The address bytes of prefix i: 4 (IPv4) or 16 (IPv6), past len zero. */
static inline const uint8_t *rib_pfx_b(const struct rib *r, uint32_t i)
{
	const struct rib_pfx *p = &r->h.pfx[i];
	return p->v6 ? r->pfx6[rib_pfx6_idx(p)].b : p->b;
}

/* The raw slot of (peer, pfx): the inline fast path of rib_slot. */
static inline uint32_t rib_slot_(const struct rib *r, uint32_t peer, uint32_t pfx)
{
	const struct rib_peer *p = &r->peer[peer];
	uint32_t pg = pfx >> RIB_PAGE_BITS;
	if (pg >= p->npage || !p->page[pg])
		return 0;
	return p->page[pg][pfx & (RIB_PAGE - 1)];
}

#endif
