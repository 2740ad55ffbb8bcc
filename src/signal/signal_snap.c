/* The signal's state whole, written and loaded back (signal.h sig_snap_write): every array with
 * its count, in the layout the signal keeps it, so that a signal loaded from a snapshot goes on
 * exactly as the one that wrote it (docs/scale.md "Snapshots"). What comes from configuration
 * (options, callbacks, the geo mapping) is not in it: the loading signal was made with them. */
#include "base/bigarr.h"
#include "base/snapbuf.h"
#include "signal/signal.h"
#include "signal/signal_impl.h"

#include <stdlib.h>
#include <string.h>

/* the rule names a family's full-feed choice points at (signal.c ff_select) */
static const char *const rules[] = { "none", "abs", "count", "rel" };
enum { NRULES = sizeof rules / sizeof rules[0], SIG_SNAP_TAG = 0x53494733u /* "SIG3": a prefix's one origin pair inline, two or more a list (PF_LIST); 12-byte entity x peer counters, inline with one full-feed peer; AS records, entities per family (issue 12) */ };

/* the structs dumped as they are: another build's layout is refused, not misread */
static const uint32_t sizes[] = { sizeof(struct pst), sizeof(struct orgn), sizeof(struct share), sizeof(struct ent),
                                  sizeof(struct pe), sizeof(struct hent), sizeof(struct asrec) };
enum { NSIZES = sizeof sizes / sizeof sizes[0] };

/* caps on counts read back: each array's index type, so a corrupt count fails here and not in
 * an allocation of any size */
enum { MAXN = 0x7fffffffu };

void sig_snap_write(struct sig *s, struct snapbuf *b)
{
	sig_settle_geo(s);   /* events that wait are state the snapshot does not hold */
	snap_u32(b, SIG_SNAP_TAG);
	for (unsigned i = 0; i < NSIZES; i++)
		snap_u32(b, sizes[i]);
	snap_arr(b, s->p, s->np, sizeof *s->p);
	snap_arr(b, s->org, s->norg, sizeof *s->org);
	snap_u32(b, s->freeorg);
	snap_arr(b, s->sh, s->nsh, sizeof *s->sh);
	/* per trie node (signal.c vsub_fit keeps nnode + 1); what lies past is unused */
	uint32_t nv = rib_node_count(s->rib) + 1;
	snap_arr(b, s->vsub, nv < s->capvsub ? nv : s->capvsub, sizeof *s->vsub);
	for (int f = 0; f < 2; f++) {
		const struct fam *F = &s->fam[f];
		snap_arr(b, F->ff, F->nff, sizeof *F->ff);
		snap_u32(b, F->need);
		snap_u32(b, F->threshold);
		snap_u32(b, F->leave);
		snap_u32(b, F->largest);
		uint32_t r = 0;
		while (r < NRULES && strcmp(rules[r], F->rule))
			r++;
		snap_u32(b, r);
		snap_u8(b, F->abs_seen);
		snap_u32(b, F->joined);
		snap_u32(b, F->left);
		snap_arr(b, F->hq, F->nhq, sizeof *F->hq);
		snap_u8(b, F->dropped);
		snap_u64(b, F->visible);
	}
	snap_u32(b, s->nent);
	for (uint32_t i = 0; i < s->nent; i++) {
		struct ent e = s->ent[i];
		/* where the counters are is not state (a pool offset depends on the order entities were
		 * first counted): they follow, and a snapshot loaded and written again is the same bytes */
		memset(&e.pe, 0, sizeof e.pe);
		e.pe_mode = PE_NONE;
		snap_put(b, &e, sizeof e);
	}
	for (uint32_t i = 0; i < s->nent; i++) {
		const struct ent *e = &s->ent[i];
		uint32_t n = s->fam[e->key.afi == DM_AFI_IPV6].nff;
		/* the counters are made for the family's full-feed set of their time (signal.c pe_add)
		 * and dropped whenever that set changes: nff entries (1 when empty) */
		const struct pe *pe = sig_ent_pe(s, e);
		if (!pe)
			snap_u32(b, 0);
		else
			snap_arr(b, pe, n ? n : 1, sizeof *pe);
	}
	snap_arr(b, s->astab, s->asmask + 1, sizeof *s->astab);
	snap_u32(b, s->nas);
	snap_arr(b, s->as, s->nas, sizeof *s->as);
	snap_arr(b, s->ffslot, s->nslot, sizeof *s->ffslot);
	snap_u32(b, s->ndown);
	snap_u32(b, (uint32_t)s->started);
	snap_u32(b, (uint32_t)s->have_cur);
	snap_u32(b, (uint32_t)s->no_rib);
	snap_u64(b, s->rib_routes[0]);
	snap_u64(b, s->rib_routes[1]);
	snap_i64(b, s->cur);
	snap_i64(b, s->max_ts);
	snap_i64(b, s->now);
	snap_arr(b, s->crec, s->ncoll, sizeof *s->crec);
	snap_put(b, s->cactive, s->ncoll);
	snap_put(b, s->clast, (size_t)s->ncoll * sizeof *s->clast);
	snap_put(b, s->cgap, s->ncoll);
	snap_u32(b, s->records_bin);
	snap_u64(b, s->bins);
	snap_u64(b, s->elems);
	snap_u64(b, s->ignored);
	snap_u64(b, s->dropped);
}

/* Reads an array of n elements into a fresh bigarr-grown *arr (zeroed past n). */
static int load_arr(struct cur *c, void **arr, uint32_t *cap, uint32_t *n, size_t elem)
{
	const uint8_t *src;
	if (snap_rarr(c, n, MAXN, elem, &src))
		return -1;
	if (*n && bigarr_grow(arr, cap, *n, elem, 1))
		return -1;
	if (*n)
		memcpy(*arr, src, (size_t)*n * elem);
	return 0;
}

static void *load_malloc(struct cur *c, uint32_t *n, size_t elem, uint32_t min)
{
	const uint8_t *src;
	if (snap_rarr(c, n, MAXN, elem, &src))
		return NULL;
	size_t alloc = (size_t)(*n > min ? *n : min) * elem;
	uint8_t *p = calloc(1, alloc ? alloc : 1);
	if (p && *n)
		memcpy(p, src, (size_t)*n * elem);
	return p;
}

/* Loading checks every count against what holds it and every index the signal follows without
 * looking (entity ids, list links, the full-feed slots) against its array: a snapshot that
 * passes is one the signal can run on without reading out of bounds. */
static int check(const struct sig *s, uint32_t npfx, uint32_t npeer)
{
	if (s->np > npfx || s->nent < 4)
		return -1;
	for (uint32_t i = 0; i < s->np; i++) {
		const struct pst *p = &s->p[i];
		if (p->flags & PF_LIST ? p->org0.ent >= s->norg : p->org0.ent != RIB_NONE && p->org0.ent >= s->nent)
			return -1;
		if (p->flags & PF_GEO1) {
			if (p->geo >= s->nent)
				return -1;
		} else if (p->flags & PF_GEO) {
			/* ngeo shares from geo on, or (255, signal.c NGEO_LONG) a header entry with the count */
			uint64_t end = (uint64_t)p->geo + p->ngeo;
			if (p->ngeo == 255)
				end = p->geo < s->nsh ? (uint64_t)p->geo + 1 + s->sh[p->geo].ent : UINT64_MAX;
			if (end > s->nsh)
				return -1;
		}
	}
	for (uint32_t i = 0; i < s->norg; i++)
		if (s->org[i].o.ent >= s->nent || (s->org[i].next != RIB_NONE && s->org[i].next >= s->norg))
			return -1;
	if (s->freeorg != RIB_NONE && s->freeorg >= s->norg)
		return -1;
	for (uint32_t i = 0; i <= s->asmask; i++)
		if (s->astab[i] && s->astab[i] > s->nas)
			return -1;
	/* each live attribute set caches its origin's AS record in `user` (signal.c attr_ent), which
	 * the signal follows without looking: loaded with the RIB, it is checked here */
	for (uint32_t id = 1; id < rib_attr_slots(s->rib); id++) {
		const struct rib_attr *a = rib_attr_get(s->rib, id);
		if (a->refcnt && a->user != RIB_NONE && a->user >= s->nas)
			return -1;
	}
	for (uint32_t i = 0; i < s->nas; i++)
		for (int f = 0; f < 2; f++)
			if (s->as[i].ent[f] != RIB_NONE && (s->as[i].ent[f] < 4 || s->as[i].ent[f] >= s->nent))
				return -1;
	for (int f = 0; f < 2; f++)
		for (uint32_t k = 0; k < s->fam[f].nff; k++)
			if (s->fam[f].ff[k] >= npeer)
				return -1;
	for (uint32_t i = 0; i < s->nslot; i++)
		if (s->ffslot[i] >= 0 && (uint32_t)s->ffslot[i] >= s->fam[i & 1].nff)
			return -1;
	return 0;
}

int sig_snap_read(struct sig *s, struct cur *c)
{
	uint32_t tag, n;
	const uint8_t *src;
	if (snap_ru32(c, &tag) || tag != SIG_SNAP_TAG)
		return -1;
	for (unsigned i = 0; i < NSIZES; i++)
		if (snap_ru32(c, &n) || n != sizes[i])
			return -1;
	/* the fresh signal's own arrays go: the snapshot's replace them */
	for (uint32_t i = 0; i < s->nent; i++)
		s->ent[i].pe_mode = PE_NONE;
	s->fam[0].npe = s->fam[1].npe = 0;
	if (load_arr(c, (void **)&s->p, &s->capp, &s->np, sizeof *s->p) ||
	    load_arr(c, (void **)&s->org, &s->caporg, &s->norg, sizeof *s->org) || snap_ru32(c, &s->freeorg) ||
	    load_arr(c, (void **)&s->sh, &s->capsh, &s->nsh, sizeof *s->sh))
		return -1;
	if (snap_rarr(c, &n, MAXN, sizeof *s->vsub, &src) || (n && bigarr_grow((void **)&s->vsub, &s->capvsub, n,
	                                                                        sizeof *s->vsub, 1)))
		return -1;
	if (n)
		memcpy(s->vsub, src, (size_t)n * sizeof *s->vsub);
	for (int f = 0; f < 2; f++) {
		struct fam *F = &s->fam[f];
		uint32_t r;
		if (load_arr(c, (void **)&F->ff, &F->capff, &F->nff, sizeof *F->ff) || snap_ru32(c, &F->need) ||
		    snap_ru32(c, &F->threshold) || snap_ru32(c, &F->leave) || snap_ru32(c, &F->largest) ||
		    snap_ru32(c, &r) || r >= NRULES || snap_ru8(c, &F->abs_seen) || snap_ru32(c, &F->joined) ||
		    snap_ru32(c, &F->left) || load_arr(c, (void **)&F->hq, &F->caphq, &F->nhq, sizeof *F->hq) ||
		    snap_ru8(c, &F->dropped) || snap_ru64(c, &F->visible))
			return -1;
		F->rule = rules[r];
	}
	/* entities: at least the fresh signal's (global, countries), all replaced; their pe
	 * pointers were written NULL and are allocated below */
	if (snap_rarr(c, &n, MAXN, sizeof *s->ent, &src) || n < s->nent ||
	    bigarr_grow((void **)&s->ent, &s->capent, n, sizeof *s->ent, 1))
		return -1;
	memcpy(s->ent, src, (size_t)n * sizeof *s->ent);
	int bad = 0;
	static const struct ent zero;
	for (uint32_t i = 0; i < n; i++) {
		/* written cleared: anything else is corrupt */
		bad |= s->ent[i].pe_mode != PE_NONE || memcmp(&s->ent[i].pe, &zero.pe, sizeof zero.pe);
		s->ent[i].pe_mode = PE_NONE;
	}
	s->nent = n;
	for (uint32_t i = 0; i < n && !bad; i++) {
		uint32_t k;
		if (snap_rarr(c, &k, MAXN, sizeof(struct pe), &src)) {
			bad = 1;
			break;
		}
		if (!k)
			continue;
		/* pe holds the entity's family's full-feed slots (pe_add): a count other than that
		 * would let the signal index past it */
		int fam = s->ent[i].key.afi == DM_AFI_IPV6;
		uint32_t nff = s->fam[fam].nff;
		if (k != (nff ? nff : 1) || (k > 1 ? sig_pe_alloc(s, fam, &s->ent[i], k) : (sig_pe_one(&s->ent[i]), 0)))
			bad = 1;
		else
			memcpy(sig_ent_pe(s, &s->ent[i]), src, (size_t)k * sizeof(struct pe));
	}
	if (bad)
		return -1;
	free(s->astab);
	s->astab = load_malloc(c, &n, sizeof *s->astab, 1);
	if (!s->astab || !n || (n & (n - 1)))
		return -1;
	s->asmask = n - 1;
	free(s->ffslot);
	uint32_t nas;
	if (snap_ru32(c, &s->nas) || load_arr(c, (void **)&s->as, &s->capas, &nas, sizeof *s->as) || nas != s->nas ||
	    !(s->ffslot = load_malloc(c, &s->nslot, sizeof *s->ffslot, 1)) ||
	    snap_ru32(c, &s->ndown))
		return -1;
	uint32_t started, have_cur, no_rib;
	if (snap_ru32(c, &started) || snap_ru32(c, &have_cur) || snap_ru32(c, &no_rib) ||
	    snap_ru64(c, &s->rib_routes[0]) || snap_ru64(c, &s->rib_routes[1]) || snap_ri64(c, &s->cur) ||
	    snap_ri64(c, &s->max_ts) || snap_ri64(c, &s->now))
		return -1;
	if (started > 1 || have_cur > 1 || no_rib > 1)   /* flags: only what the writer writes */
		return -1;
	s->started = (int)started;
	s->have_cur = (int)have_cur;
	s->no_rib = (int)no_rib;
	/* per collector arrays, as coll_fit keeps them: four of ncoll entries */
	if (snap_rarr(c, &n, 1u << 20, sizeof *s->crec, &src))
		return -1;
	free(s->crec);
	free(s->cactive);
	free(s->clast);
	free(s->cgap);
	s->crec = NULL;
	s->cactive = s->cgap = NULL;
	s->clast = NULL;
	s->ncoll = 0;
	if (n) {
		s->crec = malloc(n * sizeof *s->crec);
		s->cactive = malloc(n);
		s->clast = malloc(n * sizeof *s->clast);
		s->cgap = malloc(n);
		if (!s->crec || !s->cactive || !s->clast || !s->cgap)
			return -1;
		s->ncoll = n;
		memcpy(s->crec, src, n * sizeof *s->crec);
		if (cur_copy(c, s->cactive, n) || cur_copy(c, s->clast, n * sizeof *s->clast) || cur_copy(c, s->cgap, n))
			return -1;
	}
	if (snap_ru32(c, &s->records_bin) || snap_ru64(c, &s->bins) || snap_ru64(c, &s->elems) ||
	    snap_ru64(c, &s->ignored) || snap_ru64(c, &s->dropped))
		return -1;
	/* the writer's trie_owed is not kept: whatever its queue holds is synced before a change */
	s->trie_owed = rib_trie_pending(s->rib) != 0;
	return check(s, rib_prefix_count(s->rib), rib_peer_count(s->rib));
}
