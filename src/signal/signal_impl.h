/* The signal's own structures: private to src/signal (signal.c, and signal_snap.c that writes
 * and loads them whole). */
#ifndef DM_SIGNAL_SIGNAL_IMPL_H
#define DM_SIGNAL_SIGNAL_IMPL_H

#include "rib/rib.h"
#include "signal/signal.h"

#include <string.h>

/* Per-prefix state. seen counts full-feed peers of the prefix's family holding >= 1 path. */
/* PF_GEO1: the prefix lies in one country whole (nearly every prefix): pst.geo is that
 * entity and its units are the prefix's size, nothing in s->sh (16 bytes a prefix, issue 12) */
/* PF_LIST: the prefix's pairs are a list in s->org (struct pst) */
enum { PF_VIS = 1, PF_LOST = 2, PF_GEO = 4, PF_GEO1 = 8, PF_LIST = 16 };
/* (prefix, origin AS entity) pair: full-feed peers whose path to the prefix ends in the AS. */
struct org {
	uint32_t ent;       /* RIB_NONE: an unused pst.org0 */
	uint16_t seen;
	uint8_t flags;      /* PF_VIS, PF_LOST */
	uint8_t pad;
};

/* A pair in a list of s->org (or, free, in s->freeorg's list). */
struct orgn {
	struct org o;
	uint32_t next;      /* RIB_NONE: the last */
};

/* A prefix's pairs: org0 when it has one (ent RIB_NONE: none), or with PF_LIST two or more in a
 * list of s->org whose head org0.ent holds. Nearly every prefix has one origin: kept here, 16
 * bytes a prefix (20 with a next index in each pair, 12 plus a 12-byte pair before; issue 12). */
struct pst {
	uint16_t seen;
	uint8_t flags;
	uint8_t ngeo;       /* country shares at sh[geo ...] (NGEO_LONG: count in sh[geo], see geo_fill) */
	uint32_t geo;       /* or, with PF_GEO1, the one country's entity; without PF_GEO, the
	                     * events that wait for the countries (signal.c geo_defer) */
	struct org org0;
};

struct share {
	uint32_t ent;
	uint64_t units;     /* IPv4 addresses / IPv6 /64s of the prefix in the country */
};

/* entity x full-feed peer: 12 bytes, aligned as a uint32_t, so that one fits in struct ent */
struct pe {
	uint32_t n;         /* entity prefixes the peer has a path to */
	uint64_t units;     /* their address space (prefixes <= /24 or /48), not deduplicated */
} __attribute__((packed, aligned(4)));

/* Where an entity's nff counters are (struct ent pe_mode). A family with one full-feed peer
 * (a one-peer table) keeps its one counter in the entity: a 16-byte malloc'd array and its
 * header for each of 53,078 entities were 1.7 MB of a one-peer replay (issue 12). */
enum { PE_NONE, PE_ONE, PE_POOL };

struct ent {
	struct sig_entity key;
	uint32_t vis, more, ann, wd, intr, peers_seeing;
	union {
		struct pe one;  /* PE_ONE */
		uint32_t at;    /* PE_POOL: the nff entries at s->fam[its family].pe[at] */
	} pe;
	uint64_t cov;       /* distinct units covered by visible prefixes <= /24 (/48) */
	uint64_t base24;    /* running maximum of slash24 */
	float frac;
	uint8_t used, want, frac_dirty;
	uint8_t pe_mode;    /* PE_NONE until touched; chosen by the family's nff then, which does
	                     * not change before recompute drops every counter of the family */
};

/* An origin AS: its entity per family, made when the AS first originates a prefix of that
 * family (issue 12: an AS announcing IPv4 only costs no IPv6 entity, 72 bytes). Entities are
 * emitted in AS order, IPv4 then IPv6 (signal.c ent_nth), as when both were made together. */
struct asrec {
	uint32_t asn;
	uint32_t ent[2];    /* entity ids, RIB_NONE until made */
	uint8_t want;       /* sig_want_asn */
};

struct fam {
	uint32_t *ff;       /* full-feed peers (rib ids), sorted */
	uint32_t nff, capff;
	uint32_t need;      /* full-feed peers needed for visibility */
	uint32_t threshold, leave, largest;
	const char *rule;
	uint8_t abs_seen;   /* auto: a table has reached the abs threshold (abs from then on) */
	uint32_t joined, left;   /* set changes by table size at the open bin's close */
	/* Full-feed set sizes at the bin closes of the last drop_window seconds, as a monotonic
	 * queue (sizes strictly decreasing from the front): the front is their maximum. At most one
	 * entry per distinct size, so it stays as small as the number of peers. */
	struct hent { int64_t t; uint32_t n; } *hq;
	uint32_t nhq, caphq;
	uint8_t dropped;    /* a full-feed peer went down in the open bin */
	uint64_t visible;
	struct pe *pe;      /* PE_POOL counters of the family's entities, nff each */
	uint32_t npe, cappe;
};

struct sig {
	struct rib *rib;
	sig_geo_fn geo;
	void *geo_arg;
	sig_geo4_fn geo4;
	sig_geo4_batch_fn geo4_batch;
	struct sig_opts o;
	sig_emit_fn emit;
	void *emit_arg;
	sig_collector_fn cemit;
	void *cemit_arg;
	sig_change_fn chemit;
	void *chemit_arg;
	/* the element being applied, for the change log: time, peer, and the path that made the
	 * change (withdrawn or announced); 0 outside sig_elem */
	int64_t ch_ts;
	uint32_t ch_peer, ch_attr;

	struct pst *p;
	uint32_t np, capp;
	/* prefixes whose events wait for their countries (signal.c geo_defer): the lowest, and all
	 * of them in pend unless pend_scan (too many: every prefix from pend_lo on is looked at) */
	uint32_t pend_lo;
	uint32_t *pend;
	uint32_t npend, cappend;
	uint8_t pend_scan;
	uint32_t geo_made;  /* a recompute made every prefix's countries below this (signal.c) */
	struct orgn *org;
	uint32_t norg, caporg, freeorg;
	struct share *sh;
	uint32_t nsh, capsh;
	uint32_t *vsub;     /* per trie node: visible prefixes <= /24 (/48) in its subtree */
	uint32_t capvsub;
	/* the RIB's trie queue may hold visible prefixes (a recompute counted them without the
	 * trie, signal.c sweep): any change of a full-feed table syncs the trie first */
	uint8_t trie_owed;

	struct ent *ent;
	uint32_t nent, capent;
	uint32_t *astab;    /* ASN hash -> AS record (s->as) + 1 */
	uint32_t asmask, nas;
	uint32_t as_last;   /* the AS record as_find_or_add gave last (a hint: as_find checks it) */
	struct asrec *as;   /* by AS record id: a set's rib_attr.user */
	uint32_t capas;
	uint32_t *want_asn;
	uint32_t nwant_asn;
	int filtered;

	int32_t *ffslot;    /* per peer: [2*peer + fam] slot in fam's full-feed list, or FF_OUT, or
	                     * FF_WAS (full-feed when its session went down) */
	uint32_t nslot;
	uint32_t ndown;

	struct fam fam[2];
	int started, have_cur, no_rib;
	uint64_t rib_routes[2];   /* route elements per family before sig_start (the RIB load) */
	int64_t cur, max_ts;   /* 64-bit: cur + bin near 2^32 must not wrap */
	int64_t now;       /* the last time given to sig_time */

	uint64_t *crec;     /* per collector: records in the open bin */
	uint8_t *cactive;
	int64_t *clast;     /* per collector: time of its last record (or of its input's start) */
	uint8_t *cgap;      /* per collector: the open bin overlaps a gap that ended in it */
	uint32_t ncoll;
	uint32_t records_bin;


	uint64_t bins, elems, ignored, dropped;
	/* sig_set_ff_sizes (src/cluster): every partition's table sizes, summed, for ff_select */
	const uint32_t *ext_sizes;
	uint32_t ext_npeers;
	uint64_t ext_rib_routes[2];
};

/* An entity's counters: nff of its family (1 for PE_ONE), NULL before its first count. */
static inline struct pe *sig_ent_pe(const struct sig *s, const struct ent *e)
{
	if (e->pe_mode == PE_ONE)
		return (struct pe *)&e->pe.one;
	if (e->pe_mode == PE_POOL)
		return &s->fam[e->key.afi == DM_AFI_IPV6].pe[e->pe.at];
	return NULL;
}

static inline void sig_pe_one(struct ent *e)
{
	memset(&e->pe, 0, sizeof e->pe);
	e->pe_mode = PE_ONE;
}

/* n counters (not cleared) for e in fam's pool: 0, or -1 out of memory (e untouched). */
int sig_pe_alloc(struct sig *s, int fam, struct ent *e, uint32_t n);

/* signal.c: the events that wait for their prefixes' countries counted (signal.c geo_defer):
 * before a country's counts are read or the state is written. */
void sig_settle_geo(struct sig *s);

#endif
