#include "base/bigarr.h"
#include "base/cpu.h"
#include "signal/signal.h"
#include "signal/signal_impl.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

enum { ENT_GLOBAL = 0, ENT_COUNTRY = 2, NCC = 26 * 26, ENT_AS = ENT_COUNTRY + 2 * NCC, MAXORG = 8 };
enum { FF_OUT = -1, FF_WAS = -2 };

static const unsigned covlen[2] = { 24, 48 };
static const unsigned minlen[2] = { 8, 16 };
static const uint64_t unit[2] = { 256, 65536 };

void sig_opts_default(struct sig_opts *o)
{
	memset(o, 0, sizeof *o);
	o->bin = 300;
	o->vis = 0.5;
	o->ff_rule = SIG_FF_AUTO;
	o->ff_abs[0] = 400000;
	o->ff_abs[1] = 10000;
	o->ff_rel = 0.8;
	o->max_empty_bins = 2016;
	o->ff_leave = 0.9;
	o->gap_min = 600;
	o->drop_window = 3600;
}

int sig_parse_ff_rule(const char *s, struct sig_opts *o)
{
	if (!strcmp(s, "auto")) {
		o->ff_rule = SIG_FF_AUTO;
		return 0;
	}
	if (!strcmp(s, "abs")) {
		o->ff_rule = SIG_FF_ABS;
		return 0;
	}
	if (!strncmp(s, "rel", 3)) {
		o->ff_rule = SIG_FF_REL;
		if (s[3] == 0)
			return 0;
		if (s[3] != ':')
			return -1;
		char *end;
		double f = strtod(s + 4, &end);
		if (*end || !(f > 0 && f <= 1))
			return -1;
		o->ff_rel = f;
		return 0;
	}
	char *end;
	unsigned long a = strtoul(s, &end, 10), b;
	if (end == s)
		return -1;
	if (*end == ',') {
		const char *q = end + 1;
		b = strtoul(q, &end, 10);
		if (end == q)
			return -1;
	} else {
		b = a / 40 ? a / 40 : 1;   /* IPv6 tables are ~1/40 of IPv4 ones (2014-2016 era ratio) */
	}
	if (*end || a == 0 || a > UINT32_MAX || b == 0 || b > UINT32_MAX)
		return -1;
	o->ff_rule = SIG_FF_COUNT;
	o->ff_count[0] = (uint32_t)a;
	o->ff_count[1] = (uint32_t)b;
	return 0;
}


/* the common case (room left) without a call: once or more per new prefix (issue 12) */
static inline int grow(void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
	return bigarr_need(arr, cap, need, elem, 1);
}

/* grow for an append of add elements (need = the count after it) */
static inline int grow_n(void **arr, uint32_t *cap, uint32_t need, uint32_t add, size_t elem)
{
	return bigarr_need_n(arr, cap, need, add, elem, 1);
}

static int cc_index2(char a, char b)
{
	if (a >= 'A' && a <= 'Z' && b >= 'A' && b <= 'Z')
		return (a - 'A') * 26 + (b - 'A');
	return ('Z' - 'A') * 26 + ('Z' - 'A');
}

static int cc_index(const char *cc)
{
	return cc[0] && cc[1] && !cc[2] ? cc_index2(cc[0], cc[1]) : cc_index2('Z', 'Z');
}

static inline uint32_t country_ent(int fam, int ci) { return ENT_COUNTRY + (uint32_t)fam * NCC + (uint32_t)ci; }

static inline uint64_t size_units_fl(int fam, unsigned len)
{
	if (!fam)
		return 1ull << (32 - len);
	if (len > 64)
		return 0;
	return len ? 1ull << (64 - len) : 1ull << 63;
}

static inline uint64_t size_units(const struct dm_prefix *p) { return size_units_fl(rib_fam(p->afi), p->len); }

/* size_units of the RIB's prefix i, without a copy of the prefix (rib_prefix) */
static inline uint64_t pfx_units(const struct sig *s, uint32_t i)
{
	return size_units_fl(rib_prefix_fam(s->rib, i), rib_prefix_len(s->rib, i));
}

struct sig *sig_new(struct rib *rib, sig_geo_fn geo, void *geo_arg, const struct sig_opts *o)
{
	struct sig *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->rib = rib;
	rib_set_lazy_trie(rib, 1);
	/* Default routes and blocks shorter than any real allocation are not address space anyone
	 * originates: left out of the tables and the signal (docs/replay.md). */
	rib_set_min_len(rib, minlen[0], minlen[1]);
	s->geo = geo;
	s->geo_arg = geo_arg;
	if (o)
		s->o = *o;
	else
		sig_opts_default(&s->o);
	if (!s->o.bin)
		s->o.bin = 300;
	s->freeorg = RIB_NONE;
	s->pend_lo = UINT32_MAX;
	s->asmask = 1023;
	s->astab = calloc(s->asmask + 1, sizeof *s->astab);
	if (!s->astab || grow((void **)&s->ent, &s->capent, ENT_AS, sizeof *s->ent)) {
		sig_free(s);
		return NULL;
	}
	for (int f = 0; f < 2; f++) {
		struct ent *e = &s->ent[ENT_GLOBAL + f];
		e->key.kind = SIG_GLOBAL;
		e->key.afi = f ? DM_AFI_IPV6 : DM_AFI_IPV4;
		e->used = 1;
		for (int c = 0; c < NCC; c++) {
			e = &s->ent[country_ent(f, c)];
			e->key.kind = SIG_COUNTRY;
			e->key.afi = f ? DM_AFI_IPV6 : DM_AFI_IPV4;
			e->key.cc[0] = (char)('A' + c / 26);
			e->key.cc[1] = (char)('A' + c % 26);
		}
		s->fam[f].rule = "none";
		s->fam[f].need = UINT32_MAX;
	}
	s->nent = ENT_AS;
	return s;
}

void sig_free(struct sig *s)
{
	if (!s)
		return;
	for (int f = 0; f < 2; f++)
		bigarr_free(s->fam[f].pe, (size_t)s->fam[f].cappe * sizeof *s->fam[f].pe);
	bigarr_free(s->ent, (size_t)s->capent * sizeof *s->ent);
	bigarr_free(s->p, (size_t)s->capp * sizeof *s->p);
	bigarr_free(s->pend, (size_t)s->cappend * sizeof *s->pend);
	bigarr_free(s->org, (size_t)s->caporg * sizeof *s->org);
	bigarr_free(s->sh, (size_t)s->capsh * sizeof *s->sh);
	bigarr_free(s->vsub, (size_t)s->capvsub * sizeof *s->vsub);
	free(s->astab);
	bigarr_free(s->as, (size_t)s->capas * sizeof *s->as);
	free(s->want_asn);
	free(s->ffslot);
	bigarr_free(s->fam[0].ff, (size_t)s->fam[0].capff * sizeof *s->fam[0].ff);
	bigarr_free(s->fam[1].ff, (size_t)s->fam[1].capff * sizeof *s->fam[1].ff);
	bigarr_free(s->fam[0].hq, (size_t)s->fam[0].caphq * sizeof *s->fam[0].hq);
	bigarr_free(s->fam[1].hq, (size_t)s->fam[1].caphq * sizeof *s->fam[1].hq);
	free(s->crec);
	free(s->cactive);
	free(s->clast);
	free(s->cgap);
	free(s);
}

void sig_set_emit(struct sig *s, sig_emit_fn fn, void *arg)
{
	s->emit = fn;
	s->emit_arg = arg;
}

void sig_set_collector_emit(struct sig *s, sig_collector_fn fn, void *arg)
{
	s->cemit = fn;
	s->cemit_arg = arg;
}

void sig_set_change_emit(struct sig *s, sig_change_fn fn, void *arg)
{
	s->chemit = fn;
	s->chemit_arg = arg;
}

void sig_want_country(struct sig *s, const char *cc)
{
	char up[3] = { 0 };
	for (int i = 0; i < 2 && cc[i]; i++)
		up[i] = (char)(cc[i] >= 'a' && cc[i] <= 'z' ? cc[i] - 32 : cc[i]);
	int ci = cc_index(up);
	s->ent[country_ent(0, ci)].want = s->ent[country_ent(1, ci)].want = 1;
	s->filtered = 1;
}

void sig_want_countries(struct sig *s)
{
	for (int f = 0; f < 2; f++)
		for (int c = 0; c < NCC; c++)
			s->ent[country_ent(f, c)].want = 1;
	s->filtered = 1;
}

/* ---------- AS entities ---------- */

static uint32_t as_hash(uint32_t asn) { return (asn * 2654435761u) ^ (asn >> 16); }

static uint32_t as_find(const struct sig *s, uint32_t asn)
{
	/* the AS found last (a hint, checked: ASNs are unique in s->as): a table's sets come
	 * prefix block by prefix block, and neighbours are mostly one origin's (issue 12: a probe
	 * of the AS hash was a cache miss per new set, 3% of a one-peer replay's time) */
	if (s->as_last < s->nas && s->as[s->as_last].asn == asn)
		return s->as_last;
	for (uint32_t h = as_hash(asn) & s->asmask;; h = (h + 1) & s->asmask) {
		uint32_t v = s->astab[h];
		if (!v)
			return RIB_NONE;
		if (s->as[v - 1].asn == asn)
			return v - 1;
	}
}

void sig_as_prefetch(const struct sig *s, uint32_t asn)
{
	if (asn && s->astab && !(s->as_last < s->nas && s->as[s->as_last].asn == asn))
		__builtin_prefetch(&s->astab[as_hash(asn) & s->asmask]);
}

static int as_rehash(struct sig *s)
{
	uint32_t mask = s->asmask * 2 + 1;
	uint32_t *t = calloc((size_t)mask + 1, sizeof *t);
	if (!t)
		return -1;
	bigarr_huge_now(t, ((size_t)mask + 1) * sizeof *t);   /* every page gets slots */
	for (uint32_t i = 0; i <= s->asmask; i++) {
		uint32_t v = s->astab[i];
		if (!v)
			continue;
		uint32_t h = as_hash(s->as[v - 1].asn) & mask;
		while (t[h])
			h = (h + 1) & mask;
		t[h] = v;
	}
	free(s->astab);
	s->astab = t;
	s->asmask = mask;
	return 0;
}

/* AS record id of the ASN; RIB_NONE on out of memory. */
static uint32_t as_find_or_add(struct sig *s, uint32_t asn)
{
	uint32_t i = as_find(s, asn);
	if (i != RIB_NONE)
		return s->as_last = i;
	if ((s->nas + 1) * 2 > s->asmask + 1 && as_rehash(s))
		return RIB_NONE;
	if (grow((void **)&s->as, &s->capas, s->nas + 1, sizeof *s->as))
		return RIB_NONE;
	i = s->nas++;
	s->as_last = i;
	int want = 0;
	for (uint32_t k = 0; k < s->nwant_asn; k++)
		want |= s->want_asn[k] == asn;
	struct asrec *a = &s->as[i];
	memset(a, 0, sizeof *a);   /* padding too: snapshots write the records as they are */
	a->asn = asn;
	a->ent[0] = a->ent[1] = RIB_NONE;
	a->want = (uint8_t)want;
	uint32_t h = as_hash(asn) & s->asmask;
	while (s->astab[h])
		h = (h + 1) & s->asmask;
	s->astab[h] = i + 1;
	return i;
}

/* The AS's entity of a family, made when first asked for; RIB_NONE on out of memory. */
static uint32_t as_ent_new(struct sig *s, uint32_t as, int fam)
{
	struct asrec *a = &s->as[as];
	if (grow((void **)&s->ent, &s->capent, s->nent + 1, sizeof *s->ent))
		return RIB_NONE;
	struct ent *e = &s->ent[s->nent];
	memset(e, 0, sizeof *e);
	e->key.kind = SIG_ASN;
	e->key.afi = fam ? DM_AFI_IPV6 : DM_AFI_IPV4;
	e->key.asn = a->asn;
	e->want = a->want;
	return a->ent[fam] = s->nent++;
}

/* The AS record's entity of the family, made on first use (the made case inline: once or twice
 * an element). */
static inline uint32_t as_ent(struct sig *s, uint32_t as, int fam)
{
	uint32_t e = s->as[as].ent[fam];
	return e != RIB_NONE ? e : as_ent_new(s, as, fam);
}

/* The k-th entity in emission order (k < ENT_AS + 2 * nas): the global and country entities,
 * then each AS's IPv4 and IPv6 entity in the order the ASes were first met; RIB_NONE for an
 * entity not made. The order is what it was when an AS's two entities were made together. */
static inline uint32_t ent_nth(const struct sig *s, uint32_t k)
{
	return k < ENT_AS ? k : s->as[(k - ENT_AS) / 2].ent[(k - ENT_AS) & 1];
}

void sig_want_asn(struct sig *s, uint32_t asn)
{
	uint32_t *w = realloc(s->want_asn, (s->nwant_asn + 1) * sizeof *w);
	if (!w)
		return;
	s->want_asn = w;
	w[s->nwant_asn++] = asn;
	uint32_t i = as_find_or_add(s, asn);
	if (i != RIB_NONE) {
		s->as[i].want = 1;
		for (int f = 0; f < 2; f++)
			if (s->as[i].ent[f] != RIB_NONE)
				s->ent[s->as[i].ent[f]].want = 1;
	}
	s->filtered = 1;
}

/* Origin entity of an attribute set for a family (the AS record cached in the set). */
static inline uint32_t attr_ent(struct sig *s, uint32_t id, int fam)
{
	const struct rib_attr *a = rib_attr_get(s->rib, id);
	if (!a->origin_asn)
		return RIB_NONE;
	if (a->user == RIB_NONE)
		rib_attr_set_user(s->rib, id, as_find_or_add(s, a->origin_asn));
	return a->user == RIB_NONE ? RIB_NONE : as_ent(s, a->user, fam);
}

/* ---------- prefixes ---------- */

static void sig_trim(struct sig *s)
{
	bigarr_trim(s->p, (size_t)s->np * sizeof *s->p, (size_t)s->capp * sizeof *s->p);
	bigarr_trim(s->ent, (size_t)s->nent * sizeof *s->ent, (size_t)s->capent * sizeof *s->ent);
	bigarr_trim(s->as, (size_t)s->nas * sizeof *s->as, (size_t)s->capas * sizeof *s->as);
	bigarr_trim(s->org, (size_t)s->norg * sizeof *s->org, (size_t)s->caporg * sizeof *s->org);
	bigarr_trim(s->sh, (size_t)s->nsh * sizeof *s->sh, (size_t)s->capsh * sizeof *s->sh);
}

static int vsub_fit(struct sig *s)
{
	uint32_t cap = s->capvsub, n = rib_node_count(s->rib);
	if (grow((void **)&s->vsub, &s->capvsub, n + 1, sizeof *s->vsub))
		return -1;
	if (s->capvsub != cap)   /* every node's count is written before it is read */
		bigarr_huge_now(s->vsub, (size_t)n * sizeof *s->vsub);
	return 0;
}

static int pst_fit(struct sig *s)
{
	uint32_t old = s->np, n = rib_prefix_count(s->rib);
	if (grow((void **)&s->p, &s->capp, n, sizeof *s->p))
		return -1;
	for (uint32_t i = old; i < n; i++) {
		memset(&s->p[i], 0, sizeof s->p[i]);
		s->p[i].org0.ent = RIB_NONE;
	}
	s->np = n;
	return 0;
}

/* Country shares of prefix i into s->sh, every one of them (no cap: a small country inside a
 * multi-country aggregate keeps its part). An IPv4 prefix of one country is told by the quick
 * answer when there is one (sig_set_geo4). The split is asked with room for GEO_FIRST shares
 * on the stack, which every prefix the default mapping holds fits (it cuts at 256 countries;
 * with room for 16 first, a full table's 475 prefixes of more, walked again, were 2% of its
 * replay's instructions, issue 12); a full answer may have been cut (the geo function keeps
 * the largest max), so it is asked again with more room until it is not. A prefix <= /24 (/48) then has its blocks apportioned (sig_apportion, signal.h), and
 * shares of one entity are merged (codes outside A-Z map to ZZ). Up to NGEO_LONG - 1
 * shares are stored as a run with the count in pst.ngeo; longer runs (rare: a /8 over many
 * countries) get ngeo = NGEO_LONG and a header entry holding the count in its ent field. */
enum { GEO_FIRST = 256, NGEO_LONG = 255 };

void sig_apportion(struct geo_share *sh, int n, uint64_t total, uint64_t block)
{
	uint64_t given = 0;
	for (int j = 0; j < n; j++)
		given += sh[j].addrs / block;
	uint64_t left = total > given ? total - given : 0;
	for (; left; left--) {   /* a share rounded up has no remainder left: once each */
		int best = -1;
		for (int j = 0; j < n; j++)
			if (sh[j].addrs % block && (best < 0 || sh[j].addrs % block > sh[best].addrs % block))
				best = j;
		if (best < 0)
			break;
		sh[best].addrs += block - sh[best].addrs % block;
	}
	for (int j = 0; j < n; j++)
		sh[j].addrs -= sh[j].addrs % block;
}

/* No mapping: every prefix is ZZ whole (what geo_fill's general case makes of it). Inline in
 * geo_of_sized: once per new prefix (a call was 1.4% of a one-peer replay's instructions). */
static inline void geo_fill_zz(struct sig *s, uint32_t i)
{
	struct pst *p1 = &s->p[i];
	p1->geo = country_ent(rib_prefix_fam(s->rib, i), cc_index("ZZ"));
	p1->ngeo = 1;
	p1->flags |= PF_GEO | PF_GEO1;
}

void sig_set_geo4(struct sig *s, sig_geo4_fn fn, sig_geo4_batch_fn batch)
{
	s->geo4 = fn;
	s->geo4_batch = fn ? batch : NULL;
}

/* IPv4 prefix i's range, lo..hi */
static inline uint32_t pfx_range4(const struct sig *s, uint32_t i, uint32_t *hi)
{
	unsigned len = rib_prefix_len(s->rib, i);
	uint32_t lo = rib_prefix_v4(s->rib, i);
	*hi = lo | (len >= 32 ? 0 : 0xffffffffu >> len);
	return lo;
}

/* IPv4 prefix i whole in the country of the quick answer cc */
static inline void geo_set_one4(struct sig *s, uint32_t i, uint16_t cc)
{
	struct pst *p1 = &s->p[i];
	p1->geo = country_ent(0, cc_index2((char)(cc >> 8), (char)(cc & 0xff)));
	p1->ngeo = 1;
	p1->flags |= PF_GEO | PF_GEO1;
}

static int geo_fill_split(struct sig *s, uint32_t i);

static int geo_fill(struct sig *s, uint32_t i)
{
	if (!s->geo) {
		geo_fill_zz(s, i);
		return 0;
	}
	if (s->geo4 && !rib_prefix_fam(s->rib, i)) {   /* one country (nearly every prefix) */
		uint32_t hi, lo = pfx_range4(s, i, &hi);
		uint16_t cc = s->geo4(s->geo_arg, lo, hi);
		if (cc) {
			geo_set_one4(s, i, cc);
			return 0;
		}
	}
	return geo_fill_split(s, i);
}

/* Prefix pf's shares by the geo function, apportioned: their count, in first (room for
 * GEO_FIRST) or, when more, in *big (malloc'd, the caller frees it); -1 out of memory. A pure
 * function of the prefix and the mapping: settle_scan's helper asks it too. */
static int geo_split_shares(const struct sig *s, const struct dm_prefix *pf, struct geo_share *first,
                            struct geo_share **big)
{
	int fam = rib_fam(pf->afi);
	struct geo_share *gs = first;
	int cap = GEO_FIRST;
	*big = NULL;
	int k = s->geo ? s->geo(s->geo_arg, pf, gs, cap) : 0;
	while (k >= cap && cap < (1 << 16)) {
		cap *= 4;
		struct geo_share *t = realloc(*big, (size_t)cap * sizeof *t);
		if (!t) {
			free(*big);
			*big = NULL;
			return -1;
		}
		gs = *big = t;
		k = s->geo(s->geo_arg, pf, gs, cap);
	}
	if (k <= 0) {
		memcpy(gs[0].cc, "ZZ", 3);
		gs[0].addrs = size_units(pf);
		k = 1;
	}
	/* one country whole (nearly every prefix) first: apportioning it changes nothing (its
	 * size is whole blocks), and was 1% of a one-peer replay with the mapping (issue 12) */
	if (pf->len > covlen[fam] || k != 1 || gs[0].addrs != size_units(pf)) {
		if (pf->len <= covlen[fam])
			sig_apportion(gs, k, size_units(pf) / unit[fam], unit[fam]);
	}
	return k;
}

/* Prefix i's countries made from its k shares gs (geo_split_shares'): 0, -1 out of memory */
static int geo_store_shares(struct sig *s, uint32_t i, const struct geo_share *gs, int k)
{
	int fam = rib_prefix_fam(s->rib, i);
	if (k == 1 && gs[0].addrs == pfx_units(s, i)) {
		struct pst *p1 = &s->p[i];
		p1->geo = country_ent(fam, cc_index(gs[0].cc));
		p1->ngeo = 1;
		p1->flags |= PF_GEO | PF_GEO1;
		return 0;
	}
	uint32_t hdr = k >= NGEO_LONG;
	/* an append of hdr + k: its step's pages asked for ahead, as for one element (settle_scan
	 * writes a table's shares in one run, on the main thread) */
	if (grow_n((void **)&s->sh, &s->capsh, s->nsh + hdr + (uint32_t)k, hdr + (uint32_t)k, sizeof *s->sh))
		return -1;
	uint32_t at = s->nsh + hdr, n = 0;
	for (int j = 0; j < k; j++) {
		uint32_t ent = country_ent(fam, cc_index(gs[j].cc));
		uint32_t m = 0;
		while (m < n && s->sh[at + m].ent != ent)
			m++;
		if (m == n) {
			s->sh[at + n].ent = ent;
			s->sh[at + n++].units = 0;
		}
		s->sh[at + m].units += gs[j].addrs;
	}
	struct pst *p = &s->p[i];
	p->geo = s->nsh;
	if (hdr) {
		s->sh[s->nsh].ent = n;
		s->sh[s->nsh].units = 0;
		p->ngeo = NGEO_LONG;
	} else {
		p->ngeo = (uint8_t)n;
	}
	s->nsh = at + n;
	p->flags |= PF_GEO;
	return 0;
}

/* geo_fill through the geo function: every share */
static int geo_fill_split(struct sig *s, uint32_t i)
{
	const struct dm_prefix pf = rib_prefix(s->rib, i);
	struct geo_share first[GEO_FIRST], *big;
	int k = geo_split_shares(s, &pf, first, &big);
	int rc = k < 0 ? -1 : geo_store_shares(s, i, big ? big : first, k);
	free(big);
	return rc;
}

/* Events of a prefix whose countries are not known yet wait for them: an announcement or a
 * withdrawal counts for its countries in the bin where it happened, and nothing reads a
 * country's counts before the bin closes (close_bin, sig_entity_part), so they are added when
 * the countries are made: by the first reader of them (geo_settle), or all together before the
 * counts are read (sig_settle_geo). A table that arrives before its peer is a full-feed one (a
 * one-table replay, a live session's first table) then looks its prefixes up one after another,
 * where each lookup, between the RIB's and the signal's work for an element, missed the cache:
 * the mapping's lookups were 10% of such a replay's main thread (issue 12). Waiting: a count of
 * announcements (low 16 bits) and withdrawals in pst.geo, while PF_GEO is not set; full, the
 * prefix is settled and counted as before. 0 when the event waits, -1 when it is to be counted
 * now. */
#ifndef DM_SIGNAL_SMALL
enum { PEND_MAX = 1u << 16 };   /* listed waiting prefixes (256 KiB); more: a scan */
#else   /* fuzz builds (Makefile FUZZ_CFLAGS): a table's paths within reach of a small input */
enum { PEND_MAX = 4 };
#endif

static inline int geo_defer(struct sig *s, uint32_t i, int ann)
{
	struct pst *p = &s->p[i];
	unsigned shift = ann ? 0 : 16;
	if ((p->flags & PF_GEO) || !s->geo || (p->geo >> shift & 0xffff) == 0xffff)
		return -1;
	if (!p->geo && !s->pend_scan) {   /* its first: listed, up to PEND_MAX of them */
		if (s->npend < PEND_MAX && !grow((void **)&s->pend, &s->cappend, s->npend + 1, sizeof *s->pend)) {
			s->pend[s->npend++] = i;
		} else {   /* a scan from pend_lo: the list goes (a table's peak) */
			s->pend_scan = 1;
			bigarr_free(s->pend, (size_t)s->cappend * sizeof *s->pend);
			s->pend = NULL;
			s->npend = s->cappend = 0;
		}
	}
	p->geo += 1u << shift;
	if (i < s->pend_lo)
		s->pend_lo = i;
	return 0;
}

/* a prefix whose events still wait after a settle (out of memory): the next settle looks at
 * every prefix from it on */
static void geo_unsettled(struct sig *s, uint32_t i)
{
	s->pend_scan = 1;
	if (i < s->pend_lo)
		s->pend_lo = i;
}

/* The shares of prefix i, whose countries are made: in s->sh, or (PF_GEO1) written to *one, the
 * caller's, with the prefix's size: *units when the caller knows it (rc_dfs: a read of the
 * prefix it saves), else read. */
static inline __attribute__((always_inline)) const struct share *geo_shares(const struct sig *s, uint32_t i,
                                                                           unsigned *n, struct share *one,
                                                                           const uint64_t *units)
{
	const struct pst *p = &s->p[i];
	if (p->flags & PF_GEO1) {
		one->ent = p->geo;
		one->units = units ? *units : pfx_units(s, i);
		*n = 1;
		return one;
	}
	if (p->ngeo == NGEO_LONG) {
		*n = s->sh[p->geo].ent;
		return &s->sh[p->geo + 1];
	}
	*n = p->ngeo;
	return &s->sh[p->geo];
}

/* The countries of prefix i (a mapping is set: nothing waits without one), and the events that
 * waited for them counted: 0, -1 (out of memory: the prefix stays without countries, its events
 * wait). quick: the quick answer, asked already (cc: 0 when it had none); gs: its k shares,
 * asked already (geo_split_shares), or NULL. */
static int geo_settle(struct sig *s, uint32_t i, int quick, uint16_t cc, const struct geo_share *gs, int k)
{
	uint32_t wait = s->p[i].geo;
	s->p[i].geo = 0;
	int rc = 0;
	if (gs)
		rc = geo_store_shares(s, i, gs, k);
	else if (quick && cc)
		geo_set_one4(s, i, cc);
	else
		rc = quick ? geo_fill_split(s, i) : geo_fill(s, i);
	if (rc) {
		s->p[i].geo = wait;
		return -1;
	}
	if (!wait)
		return 0;
	unsigned n;
	struct share one;
	uint64_t unused = 0;   /* the units are not counted here: not read from the prefix */
	const struct share *sh = geo_shares(s, i, &n, &one, &unused);
	for (unsigned j = 0; j < n; j++) {
		struct ent *e = &s->ent[sh[j].ent];
		e->used = 1;
		e->ann += wait & 0xffff;
		e->wd += wait >> 16;
	}
	return 0;
}

/* Waiting prefixes gathered for the batch answer (IPv4 ones, BATCH at a time: the lookups
 * overlap); the rest settled one by one. */
enum { BATCH = 256 };
struct settle_batch {
	uint32_t n;
	uint32_t id[BATCH], lo4[BATCH], hi4[BATCH];
	uint16_t cc[BATCH];
};

static void settle_flush(struct sig *s, struct settle_batch *b)
{
	if (!b->n)
		return;
	s->geo4_batch(s->geo_arg, b->lo4, b->hi4, b->cc, b->n);
	for (uint32_t k = 0; k < b->n; k++)
		if (geo_settle(s, b->id[k], 1, b->cc[k], NULL, 0))
			geo_unsettled(s, b->id[k]);
	b->n = 0;
}

static inline void settle_add(struct sig *s, struct settle_batch *b, uint32_t i)
{
	if ((s->p[i].flags & PF_GEO) || !s->p[i].geo)
		return;   /* settled by a reader since, or nothing waits */
	if (!s->geo4_batch || rib_prefix_fam(s->rib, i)) {
		if (geo_settle(s, i, 0, 0, NULL, 0))
			geo_unsettled(s, i);
		return;
	}
	b->id[b->n] = i;
	b->lo4[b->n] = pfx_range4(s, i, &b->hi4[b->n]);
	if (++b->n == BATCH)
		settle_flush(s, b);
}

/* A table's settle (a scan: more prefixes wait than the list holds) goes by chunks of the
 * prefixes, in index order: a chunk's answers first (the quick ones, and the shares of the
 * prefixes of several countries), then its waiting prefixes settled with them. The answers are
 * pure functions of the prefix store and the mapping, which nothing writes during a settle, so
 * with a second core free a helper thread answers chunks ahead while the caller settles; the
 * caller, waiting for a chunk, answers the next free one itself, so the two share the work
 * whichever core is the faster (this VM's two differ by up to 1.6x in memory-bound work) and a
 * lagging helper (a busy machine) holds nothing up. The settling itself, and so the shares'
 * layout in s->sh, is the caller's, in index order, with a helper or without.
 * Issue 12: a one-table replay's settle was 22 ms on one core with the other idle (lookups 8.4,
 * the split shares 6.8, the rest the states' settling); by chunks on two, 15.5-16.8 ms (with
 * geo.c's sort of the shares), against 22.5-24.5 for the same code on one. What did not pay: each
 * prefix handed to the helper through a queue as it came (the queue's cache lines crossed
 * between the cores every few items, which cost the caller as much as the lookup), and the
 * helper reading the prefix states (each state line it read the caller's settle then fetched
 * back from the other core: 144,000 lines, the settle's own part twice as long). */
#ifndef DM_SIGNAL_SMALL
enum { TWO_CHUNK = 16384, TWO_BUFS = 4, GEO_MAKE_MIN = 1u << 16 };
#else
enum { TWO_CHUNK = 4, TWO_BUFS = 4, GEO_MAKE_MIN = 8 };
#endif
/* a chunk answer slot: SPLIT_MADE for a prefix whose shares are in the chunk's list, NOT_ASKED
 * for one whose shares could not be kept (out of memory: the settle asks), else the quick
 * answer (0: none, the settle asks; a two-letter code is below both) */
enum { NOT_ASKED = 0xffffu, SPLIT_MADE = 0xfffeu };

/* A chunk's answers: the quick ones, and the split shares (geo_split_shares), in index order */
struct two_buf {
	uint16_t cc[TWO_CHUNK];
	struct two_split { uint32_t idx, at; int k; } *sp;   /* chunk index, shares pool[at .. at + k) */
	uint32_t nsp, capsp;
	struct geo_share *pool;
	uint32_t npool, cappool;
};

struct settle_two {
	struct sig *s;
	uint32_t lo, np, nchunk;
	struct two_buf buf[TWO_BUFS];       /* chunk c's in buf[c % TWO_BUFS] */
	_Alignas(64) uint32_t next;         /* the first chunk nobody has taken */
	_Alignas(64) uint32_t done[TWO_BUFS];   /* c + 1 once chunk c's answers are in its buffer */
	_Alignas(64) uint32_t used;         /* chunks settled: their buffers free */
};

/* prefix i (the chunk's idx-th)'s shares kept in b: 0, or -1 out of memory (not kept: the
 * settle asks again) */
static int two_keep_split(const struct sig *s, struct two_buf *b, uint32_t i, uint32_t idx)
{
	const struct dm_prefix pf = rib_prefix(s->rib, i);
	struct geo_share first[GEO_FIRST], *big;
	int k = geo_split_shares(s, &pf, first, &big);
	int rc = -1;
	if (k > 0 && !grow((void **)&b->sp, &b->capsp, b->nsp + 1, sizeof *b->sp) &&
	    !grow_n((void **)&b->pool, &b->cappool, b->npool + (uint32_t)k, (uint32_t)k, sizeof *b->pool)) {
		memcpy(&b->pool[b->npool], big ? big : first, (size_t)k * sizeof *b->pool);
		b->sp[b->nsp++] = (struct two_split){ idx, b->npool, k };
		b->npool += (uint32_t)k;
		rc = 0;
	}
	free(big);
	return rc;
}

/* The answers of prefixes a .. e - 1 into b, waiting or not (the states are not read here,
 * above): IPv4 ones by the quick answer, 256 at a time, and the shares where it has none;
 * IPv6 ones by their shares. */
static void two_answer(const struct sig *s, uint32_t a, uint32_t e, struct two_buf *b)
{
	uint32_t lo4[BATCH], hi4[BATCH], at[BATCH], n = 0;
	uint16_t cc[BATCH];
	b->nsp = b->npool = 0;
	for (uint32_t i = a; i <= e; i++) {
		int v6 = i < e && rib_prefix_fam(s->rib, i);
		if (n && (n == BATCH || i == e || v6)) {   /* the splits' list stays in index order */
			s->geo4_batch(s->geo_arg, lo4, hi4, cc, n);
			for (uint32_t k = 0; k < n; k++) {
				b->cc[at[k]] = cc[k];
				if (!cc[k] && !two_keep_split(s, b, a + at[k], at[k]))
					b->cc[at[k]] = SPLIT_MADE;   /* else 0: the settle asks the geo function */
			}
			n = 0;
		}
		if (i == e)
			break;
		if (v6) {   /* no quick answer: the shares */
			b->cc[i - a] = two_keep_split(s, b, i, i - a) ? NOT_ASKED : SPLIT_MADE;
		} else {
			at[n] = i - a;
			lo4[n] = pfx_range4(s, i, &hi4[n]);
			n++;
		}
	}
}

static void two_range(const struct settle_two *t, uint32_t c, uint32_t *a, uint32_t *e)
{
	*a = t->lo + c * TWO_CHUNK;
	*e = t->np - *a > TWO_CHUNK ? *a + TWO_CHUNK : t->np;
}

/* The next chunk taken and answered into its buffer by the calling thread (the caller or the
 * helper): 1, or 0 when none can be taken now (all are, or the next one's buffer is still
 * being settled). */
static int two_take(struct settle_two *t)
{
	uint32_t c = __atomic_load_n(&t->next, __ATOMIC_ACQUIRE);
	if (c >= t->nchunk || c - __atomic_load_n(&t->used, __ATOMIC_ACQUIRE) >= TWO_BUFS)
		return 0;
	if (!__atomic_compare_exchange_n(&t->next, &c, c + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return 1;   /* the other took it: another may be there */
	uint32_t a, e;
	two_range(t, c, &a, &e);
	two_answer(t->s, a, e, &t->buf[c % TWO_BUFS]);
	__atomic_store_n(&t->done[c % TWO_BUFS], c + 1, __ATOMIC_RELEASE);
	return 1;
}

static void *two_helper(void *arg)
{
	struct settle_two *t = arg;
	while (__atomic_load_n(&t->next, __ATOMIC_ACQUIRE) < t->nchunk)
		if (!two_take(t))
			sched_yield();
	return NULL;
}

/* Prefixes a .. e - 1 without countries (waiting or not) settled by the caller, their answers
 * in b */
static void two_settle(struct sig *s, uint32_t a, uint32_t e, const struct two_buf *b)
{
	uint32_t j = 0;   /* b's next split */
	for (uint32_t i = a; i < e; i++) {
		if (s->p[i].flags & PF_GEO)
			continue;
		uint16_t q = b->cc[i - a];
		const struct geo_share *gs = NULL;
		if (q == SPLIT_MADE) {
			while (b->sp[j].idx < i - a)
				j++;
			gs = &b->pool[b->sp[j].at];
		}
		if (geo_settle(s, i, q != NOT_ASKED, q == NOT_ASKED ? 0 : q, gs, gs ? b->sp[j].k : 0))
			geo_unsettled(s, i);
	}
}

static int sync_on_thread(uint32_t n);

/* The prefixes lo .. np - 1 without countries get them, and those that wait are settled */
static void settle_scan(struct sig *s, uint32_t lo, uint32_t np)
{
	struct settle_two *t = s->geo4_batch ? calloc(1, sizeof *t) : NULL;
	if (!t) {   /* as the list is: a batch at a time (those that do not wait: left to their readers) */
		struct settle_batch b;
		b.n = 0;
		for (uint32_t i = lo; i < np; i++)
			settle_add(s, &b, i);
		settle_flush(s, &b);
		return;
	}
	t->s = s;
	t->lo = lo;
	t->np = np;
	t->nchunk = (np - lo + TWO_CHUNK - 1) / TWO_CHUNK;
	pthread_t th;
	int threaded = t->nchunk > 1 && sync_on_thread(np - lo) && pthread_create(&th, NULL, two_helper, t) == 0;
	for (uint32_t c = 0; c < t->nchunk; c++) {
		/* chunk c's answers awaited, chunks after it answered meanwhile (the two threads'
		 * shares of the work even out whichever core is the faster) */
		while (__atomic_load_n(&t->done[c % TWO_BUFS], __ATOMIC_ACQUIRE) != c + 1)
			if (!two_take(t))
				sched_yield();
		uint32_t a, e;
		two_range(t, c, &a, &e);
		two_settle(s, a, e, &t->buf[c % TWO_BUFS]);
		__atomic_store_n(&t->used, c + 1, __ATOMIC_RELEASE);
	}
	if (threaded)
		pthread_join(th, NULL);
	for (int k = 0; k < TWO_BUFS; k++) {
		bigarr_free(t->buf[k].sp, (size_t)t->buf[k].capsp * sizeof *t->buf[k].sp);
		bigarr_free(t->buf[k].pool, (size_t)t->buf[k].cappool * sizeof *t->buf[k].pool);
	}
	free(t);
}

/* Every prefix whose events wait, settled: before anything reads a country's counts
 * (signal_impl.h). */
void sig_settle_geo(struct sig *s)
{
	uint32_t lo = s->pend_lo, np = s->np, n = s->npend;
	int scan = s->pend_scan;
	if (lo == UINT32_MAX)
		return;
	s->pend_lo = UINT32_MAX;
	s->npend = 0;
	s->pend_scan = 0;
	if (scan) {   /* a table: its prefixes that do not wait get their countries too */
		/* the pages populated ahead of the growing arrays' ends go back before the shares
		 * (s->sh) and the chunks' answers are allocated, as before a recompute (there): with
		 * the appended arrays in huge pages (base/bigarr.c), their tails made the one-table
		 * replay's peak RSS here, 51.7 MB against 48.0 before; 46.4-47.2 with this */
		rib_trim(s->rib);
		sig_trim(s);
		settle_scan(s, lo, np);
		if (lo <= s->geo_made)
			s->geo_made = np;
		return;
	}
	struct settle_batch b;
	b.n = 0;
	for (uint32_t k = 0; k < n; k++)
		settle_add(s, &b, s->pend[k]);
	settle_flush(s, &b);
}

/* The shares of prefix i (geo_shares), its countries made first when they are not yet. */
static inline __attribute__((always_inline)) const struct share *geo_of_sized(struct sig *s, uint32_t i, unsigned *n,
                                                                             struct share *one, const uint64_t *units)
{
	if (!(s->p[i].flags & PF_GEO)) {
		if (!s->geo) {
			geo_fill_zz(s, i);
		} else if (geo_settle(s, i, 0, 0, NULL, 0)) {
			*n = 0;
			return NULL;
		}
	}
	return geo_shares(s, i, n, one, units);
}

static inline __attribute__((always_inline)) const struct share *geo_of(struct sig *s, uint32_t i, unsigned *n,
                                                                       struct share *one)
{
	return geo_of_sized(s, i, n, one, NULL);
}

/* Prefix q's own part of a vsub count: visible and <= /24 (/48). A prefix the trie holds as a
 * leaf (rib.h RIB_LEAF) has no node and no vsub: this is its count. */
static inline uint32_t pfx_vsub(const struct sig *s, uint32_t q)
{
	if (q == RIB_NONE || q >= s->np || !(s->p[q].flags & PF_VIS))
		return 0;
	return rib_prefix_len(s->rib, q) <= covlen[rib_prefix_fam(s->rib, q)];
}

/* vsub of nodes created since `before`: their own prefix's part (a leaf that got a node of its
 * own may be visible; a new prefix is not) and the sum over their children, old nodes' counts
 * being right. Top-down from each new node under an old one (or a root). */
static uint32_t vsub_fill(struct sig *s, uint32_t n, uint32_t before)
{
	if (n == RIB_NONE)
		return 0;
	if (rib_is_leaf(n))
		return pfx_vsub(s, rib_leaf_pfx(n));
	if (n < before)
		return s->vsub[n];
	const struct rib_tnode *t = rib_node(s->rib, n);
	uint32_t v = pfx_vsub(s, rib_tnode_pfx(t)) + vsub_fill(s, t->child[0], before) +
	             vsub_fill(s, t->child[1], before);
	s->vsub[n] = v;
	return v;
}

static uint32_t vsub_recount(struct sig *s, uint32_t n)
{
	if (n == RIB_NONE)
		return 0;
	if (rib_is_leaf(n))
		return pfx_vsub(s, rib_leaf_pfx(n));
	const struct rib_tnode *t = rib_node(s->rib, n);
	uint32_t v = pfx_vsub(s, rib_tnode_pfx(t)) + vsub_recount(s, t->child[0]) + vsub_recount(s, t->child[1]);
	s->vsub[n] = v;
	return v;
}

/* Puts queued prefixes into the trie and fits the per-node counts. Every toggle and recompute
 * needs the trie complete, so they call this first; queued prefixes are never visible. The
 * counts of family skip (-1: none) are left to the caller, which counts them all again
 * (recompute's rc_dfs): a table's first bin would count its whole trie twice (issue 12). */
static int trie_sync_skip(struct sig *s, int skip)
{
	if (!rib_trie_pending(s->rib))
		return 0;
	uint32_t before = rib_node_count(s->rib);
	int reused = rib_trie_reuses_nodes(s->rib);   /* new nodes may have old indexes */
	int rc = rib_trie_sync(s->rib);
	if (vsub_fit(s))
		return -1;
	if (!rib_trie_pending(s->rib))
		s->trie_owed = 0;
	if (reused) {   /* count every subtree again */
		for (int fam = 0; fam < 2; fam++)
			if (fam != skip)
				vsub_recount(s, rib_trie_root(s->rib, fam));
		return rc;
	}
	if (!before) {   /* every node is new: the tops are the roots (a table's first bin: the
		          * loop below read each of its 537k nodes to find them, issue 12) */
		for (int fam = 0; fam < 2; fam++) {
			uint32_t v = rib_trie_root(s->rib, fam);
			if (fam != skip && v != RIB_NONE && !rib_is_leaf(v))
				vsub_fill(s, v, 0);
		}
		return rc;
	}
	for (uint32_t n = before; n < rib_node_count(s->rib); n++) {
		const struct rib_tnode *t = rib_node(s->rib, n);
		uint32_t par = rib_tnode_parent(t);
		if ((par == RIB_NONE || par < before) && rib_prefix_fam(s->rib, rib_tnode_rep(t)) != skip)
			vsub_fill(s, n, before);
	}
	return rc;
}

static int trie_sync(struct sig *s) { return trie_sync_skip(s, -1); }

/* ---------- entity x peer counters ---------- */

/* An entity's n counters (one per full-feed peer) appended to the pool: an append of n, so that
 * its steps are asked for ahead wherever the n cross one (grow_n; as one element, 40 peers'
 * appends passed most steps unasked: full scale 0.955 of the wall, 0.910 of the CPU, 5 paired
 * rounds, the peak 0.7 MB higher in huge pages) */
int sig_pe_alloc(struct sig *s, int fam, struct ent *e, uint32_t n)
{
	struct fam *F = &s->fam[fam];
	if ((uint64_t)F->npe + n > UINT32_MAX / 2 || grow_n((void **)&F->pe, &F->cappe, F->npe + n, n, sizeof *F->pe))
		return -1;
	e->pe.at = F->npe;
	e->pe_mode = PE_POOL;
	F->npe += n;
	return 0;
}

static inline void pe_add(struct sig *s, uint32_t ent, int fam, int32_t f, int d, uint64_t units)
{
	struct ent *e = &s->ent[ent];
	e->used = 1;
	e->frac_dirty = 1;
	if (e->pe_mode == PE_NONE) {
		uint32_t n = s->fam[fam].nff;
		if (n > 1 ? sig_pe_alloc(s, fam, e, n) : (sig_pe_one(e), 0))
			return;
		if (n > 1)
			memset(&s->fam[fam].pe[e->pe.at], 0, (size_t)n * sizeof(struct pe));
	}
	struct pe *x = &sig_ent_pe(s, e)[f];
	if (d > 0) {
		if (x->n++ == 0)
			e->peers_seeing++;
		x->units += units;
	} else {
		if (--x->n == 0)
			e->peers_seeing--;
		x->units -= units;
	}
}

/* ---------- visibility toggles ---------- */

/* A visible prefix at or above node up (rib_prefix_up of the prefix asked about). */
static int ancestor_visible(const struct sig *s, uint32_t up)
{
	const struct rib *r = s->rib;
	for (uint32_t n = up; n != RIB_NONE; n = rib_tnode_parent(rib_node(r, n))) {
		uint32_t q = rib_tnode_pfx(rib_node(r, n));
		if (q != RIB_NONE && (s->p[q].flags & PF_VIS))
			return 1;
	}
	return 0;
}

/* A prefix's pairs (struct pst): for (o = org_first(s, pfx); o; o = org_next(s, pfx, o)). No
 * pair may be added or collected while a walk holds one (org_new and org_gc move pairs). */
static inline struct org *org_next(struct sig *s, uint32_t pfx, const struct org *o)
{
	if (!(s->p[pfx].flags & PF_LIST))
		return NULL;   /* org0 alone */
	uint32_t n = ((const struct orgn *)(const void *)o)->next;   /* o is a list node's first member */
	return n != RIB_NONE ? &s->org[n].o : NULL;
}

static inline struct org *org_first(struct sig *s, uint32_t pfx)
{
	struct pst *p = &s->p[pfx];
	if (p->flags & PF_LIST)
		return &s->org[p->org0.ent].o;
	return p->org0.ent != RIB_NONE ? &p->org0 : NULL;
}

static struct org *org_find(struct sig *s, uint32_t pfx, uint32_t ent)
{
	for (struct org *o = org_first(s, pfx); o; o = org_next(s, pfx, o))
		if (o->ent == ent)
			return o;
	return NULL;
}

static int org_ancestor_visible(struct sig *s, uint32_t up, uint32_t ent)
{
	const struct rib *r = s->rib;
	for (uint32_t n = up; n != RIB_NONE; n = rib_tnode_parent(rib_node(r, n))) {
		uint32_t q = rib_tnode_pfx(rib_node(r, n));
		if (q == RIB_NONE || !(s->p[q].flags & PF_VIS))
			continue;
		struct org *o = org_find(s, q, ent);
		if (o && (o->flags & PF_VIS))
			return 1;
	}
	return 0;
}

/* Maximal visible prefixes strictly below node (of pair entity ent, or any when RIB_NONE). */
typedef void (*desc_fn)(struct sig *s, uint32_t pfx, void *arg);

static void desc_walk(struct sig *s, uint32_t node, uint32_t ent, desc_fn fn, void *arg)
{
	uint32_t stack[300];
	int sp = 0;
	const struct rib *r = s->rib;
	if (node == RIB_NONE)   /* a leaf: nothing below */
		return;
	for (int c = 0; c < 2; c++)
		if (rib_node(r, node)->child[c] != RIB_NONE)
			stack[sp++] = rib_node(r, node)->child[c];
	while (sp) {
		uint32_t n = stack[--sp];
		int leaf = rib_is_leaf(n);
		if (leaf ? !pfx_vsub(s, rib_leaf_pfx(n)) : !s->vsub[n])
			continue;
		uint32_t q = leaf ? rib_leaf_pfx(n) : rib_tnode_pfx(rib_node(r, n));
		if (q != RIB_NONE && (s->p[q].flags & PF_VIS)) {
			if (ent == RIB_NONE) {
				fn(s, q, arg);
				continue;
			}
			struct org *o = org_find(s, q, ent);
			if (o && (o->flags & PF_VIS)) {
				fn(s, q, arg);
				continue;
			}
		}
		if (leaf)
			continue;
		for (int c = 0; c < 2; c++)
			if (rib_node(r, n)->child[c] != RIB_NONE && sp < 298)
				stack[sp++] = rib_node(r, n)->child[c];
	}
}

struct cov_delta {
	int d;
};

static void desc_sub_global(struct sig *s, uint32_t q, void *arg)
{
	int d = ((struct cov_delta *)arg)->d;
	const unsigned plen = rib_prefix_len(s->rib, q);
	int fam = rib_prefix_fam(s->rib, q);
	s->ent[ENT_GLOBAL + fam].cov -= (uint64_t)d * size_units_fl(fam, plen);
	unsigned n;
	struct share one_;   /* geo_of's answer for a one-country prefix */
	const struct share *sh = geo_of(s, q, &n, &one_);
	for (unsigned k = 0; k < n; k++)
		s->ent[sh[k].ent].cov -= (uint64_t)d * sh[k].units;
}

struct org_delta {
	int d;
	uint32_t ent;
};

static void desc_sub_org(struct sig *s, uint32_t q, void *arg)
{
	struct org_delta *od = arg;
	s->ent[od->ent].cov -= (uint64_t)od->d * pfx_units(s, q);
}

/* The change log (signal.h): one row per global visibility toggle made by an element. */
static void change_emit(struct sig *s, uint32_t pfx, int on)
{
	const struct dm_prefix pfv = rib_prefix(s->rib, pfx), *pf = &pfv;
	int fam = rib_fam(pf->afi);
	struct sig_change c;
	memset(&c, 0, sizeof c);
	c.t = s->ch_ts;
	c.prefix = *pf;
	c.visible = (uint8_t)on;
	c.covered = (uint8_t)ancestor_visible(s, rib_prefix_up(s->rib, pfx));
	c.units = pf->len <= covlen[fam] ? size_units(pf) / unit[fam] : 0;
	unsigned n;
	struct share one_;   /* geo_of's answer for a one-country prefix */
	const struct share *sh = geo_of(s, pfx, &n, &one_);
	memcpy(c.cc, "ZZ", 3);
	/* shares largest first (selection: n is small and this runs once per change) */
	uint8_t done[256] = { 0 };
	size_t len = 0;
	for (unsigned r = 0; r < n && r < 256; r++) {
		unsigned best = n;
		for (unsigned k = 0; k < n && k < 256; k++)
			if (!done[k] && (best == n || sh[k].units > sh[best].units))
				best = k;
		done[best] = 1;
		const char *cc = s->ent[sh[best].ent].key.cc;
		if (r == 0)
			memcpy(c.cc, cc, 3);
		uint64_t u = pf->len <= covlen[fam] ? (sh[best].units + unit[fam] / 2) / unit[fam] : 0;
		char item[32];
		int w = snprintf(item, sizeof item, "%s%s:%llu", r ? "," : "", cc, (unsigned long long)u);
		if (w < 0 || len + (size_t)w + 5 > sizeof c.countries) {
			snprintf(c.countries + len, sizeof c.countries - len, ",...");
			break;
		}
		memcpy(c.countries + len, item, (size_t)w + 1);
		len += (size_t)w;
	}
	if (s->ch_attr) {
		const struct rib_attr *a = rib_attr_get(s->rib, s->ch_attr);
		c.origin_asn = a->origin_asn;
		c.upstream_asn = rib_attr_upstream(a);   /* kept by the RIB (the path is not) */
	}
	uint32_t seen = s->p[pfx].seen, before = on ? seen - 1 : seen + 1;
	c.peers_before = (uint16_t)(before > 65535 ? 65535 : before);
	c.full_feed_peers = (uint16_t)(s->fam[fam].nff > 65535 ? 65535 : s->fam[fam].nff);
	struct rib_peer_info p;
	if (rib_peer_info(s->rib, s->ch_peer, &p) == 0) {
		c.peer_asn = p.asn;
		c.peer_addr = p.addr;
		snprintf(c.collector, sizeof c.collector, "%s", rib_collector_name(s->rib, p.collector));
	}
	s->chemit(s->chemit_arg, &c);
}

static void toggle_prefix(struct sig *s, uint32_t pfx, int on)
{
	struct pst *p = &s->p[pfx];
	const unsigned plen = rib_prefix_len(s->rib, pfx);
	int fam = rib_prefix_fam(s->rib, pfx), d = on ? 1 : -1;
	int counted = 0;
	if (on) {
		p->flags |= PF_VIS;
		counted = (p->flags & PF_LOST) != 0;
		p->flags &= (uint8_t)~PF_LOST;
	} else {
		p->flags = (uint8_t)((p->flags & ~PF_VIS) | PF_LOST);
	}
	s->fam[fam].visible += (uint64_t)(int64_t)d;
	if (s->chemit && s->ch_ts)
		change_emit(s, pfx, on);
	unsigned n;
	struct share one_;   /* geo_of's answer for a one-country prefix */
	const struct share *sh = geo_of(s, pfx, &n, &one_);
	struct ent *g = &s->ent[ENT_GLOBAL + fam];
	g->vis += (uint32_t)d;
	g->intr += (uint32_t)counted;
	for (unsigned k = 0; k < n; k++) {
		struct ent *e = &s->ent[sh[k].ent];
		e->vis += (uint32_t)d;
		e->intr += (uint32_t)counted;
		e->used = 1;
	}
	if (plen > covlen[fam]) {
		g->more += (uint32_t)d;
		for (unsigned k = 0; k < n; k++)
			s->ent[sh[k].ent].more += (uint32_t)d;
		return;
	}
	uint32_t node = rib_prefix_node(s->rib, pfx), up = rib_prefix_up(s->rib, pfx);
	if (!ancestor_visible(s, up)) {
		g->cov += (uint64_t)d * size_units_fl(fam, plen);
		sh = geo_of(s, pfx, &n, &one_);
		for (unsigned k = 0; k < n; k++)
			s->ent[sh[k].ent].cov += (uint64_t)d * sh[k].units;
		struct cov_delta cd = { d };
		desc_walk(s, node, RIB_NONE, desc_sub_global, &cd);
	}
	/* the prefix's node (none for a leaf: pfx_vsub reads its flag) and every node above */
	for (uint32_t x = node != RIB_NONE ? node : up; x != RIB_NONE; x = rib_tnode_parent(rib_node(s->rib, x)))
		s->vsub[x] += (uint32_t)d;
}

static void toggle_org(struct sig *s, uint32_t pfx, struct org *o, int on)
{
	const unsigned plen = rib_prefix_len(s->rib, pfx);
	int fam = rib_prefix_fam(s->rib, pfx), d = on ? 1 : -1;
	struct ent *e = &s->ent[o->ent];
	if (on) {
		o->flags |= PF_VIS;
		if (o->flags & PF_LOST)
			e->intr++;
		o->flags &= (uint8_t)~PF_LOST;
	} else {
		o->flags = (uint8_t)((o->flags & ~PF_VIS) | PF_LOST);
	}
	e->vis += (uint32_t)d;
	e->used = 1;
	if (plen > covlen[fam]) {
		e->more += (uint32_t)d;
		return;
	}
	uint32_t node = rib_prefix_node(s->rib, pfx), ent = o->ent;
	if (!org_ancestor_visible(s, rib_prefix_up(s->rib, pfx), ent)) {
		s->ent[ent].cov += (uint64_t)d * size_units_fl(fam, plen);
		struct org_delta od = { d, ent };
		desc_walk(s, node, ent, desc_sub_org, &od);
	}
}

/* A list node holding x, or RIB_NONE on out of memory (s->org may move). */
static uint32_t orgn_new(struct sig *s, struct org x)
{
	uint32_t o;
	if (s->freeorg != RIB_NONE) {
		o = s->freeorg;
		s->freeorg = s->org[o].next;
	} else {
		if (grow((void **)&s->org, &s->caporg, s->norg + 1, sizeof *s->org))
			return RIB_NONE;
		o = s->norg++;
	}
	s->org[o].o = x;
	s->org[o].next = RIB_NONE;
	return o;
}

static void orgn_free(struct sig *s, uint32_t o)
{
	s->org[o].next = s->freeorg;
	s->freeorg = o;
}

/* A new pair (seen 0) of the prefix: org0 when the prefix has none, else one in a list of s->org
 * (a second pair moves org0 to the list's head; the new one goes after the head); NULL on out of
 * memory. */
static struct org *org_new(struct sig *s, uint32_t pfx, uint32_t ent)
{
	struct pst *p = &s->p[pfx];
	struct org x = { ent, 0, 0, 0 };
	if (!(p->flags & PF_LIST)) {
		if (p->org0.ent == RIB_NONE) {
			p->org0 = x;
			return &p->org0;
		}
		uint32_t head = orgn_new(s, p->org0);
		if (head == RIB_NONE)
			return NULL;
		p->org0 = (struct org){ head, 0, 0, 0 };
		p->flags |= PF_LIST;
	}
	uint32_t o = orgn_new(s, x);
	if (o == RIB_NONE)
		return NULL;
	uint32_t head = p->org0.ent;
	s->org[o].next = s->org[head].next;
	s->org[head].next = o;
	return &s->org[o].o;
}

static inline int org_dead(const struct org *o) { return !o->seen && !(o->flags & (PF_VIS | PF_LOST)); }

/* Frees the prefix's pairs that no full-feed peer sees and that are neither visible nor lost. A
 * list left with one pair goes back to org0. */
static void org_gc(struct sig *s, uint32_t pfx)
{
	struct pst *p = &s->p[pfx];
	if (!(p->flags & PF_LIST)) {
		if (p->org0.ent != RIB_NONE && org_dead(&p->org0))
			p->org0.ent = RIB_NONE;
		return;
	}
	uint32_t *link = &p->org0.ent;
	while (*link != RIB_NONE) {
		uint32_t o = *link;
		if (org_dead(&s->org[o].o)) {
			*link = s->org[o].next;
			orgn_free(s, o);
		} else {
			link = &s->org[o].next;
		}
	}
	uint32_t head = p->org0.ent;
	if (head != RIB_NONE && s->org[head].next != RIB_NONE)
		return;
	p->flags &= (uint8_t)~PF_LIST;
	p->org0 = (struct org){ RIB_NONE, 0, 0, 0 };
	if (head != RIB_NONE) {
		p->org0 = s->org[head].o;
		orgn_free(s, head);
	}
}

static inline int visible_now(const struct sig *s, int fam, uint32_t seen)
{
	return s->fam[fam].nff && seen >= s->fam[fam].need;
}

static void org_count(struct sig *s, uint32_t pfx, int fam, uint32_t ent, int32_t f, int d, uint64_t units)
{
	struct org *o = org_find(s, pfx, ent);
	if (!o) {
		if (d < 0)
			return;
		if (!(o = org_new(s, pfx, ent)))
			return;
	}
	o->seen = (uint16_t)(o->seen + d);
	pe_add(s, ent, fam, f, d, units);
	int v = visible_now(s, fam, o->seen);
	if (v != !!(o->flags & PF_VIS))
		toggle_org(s, pfx, o, v);
	if (!o->seen)
		org_gc(s, pfx);
}

/* ---------- views: what one peer shows of one prefix ---------- */

struct view {
	uint8_t any, n;
	uint32_t org[MAXORG];
};

static void view_add(struct view *v, uint32_t ent)
{
	if (ent == RIB_NONE)
		return;
	for (unsigned i = 0; i < v->n; i++)
		if (v->org[i] == ent)
			return;
	if (v->n < MAXORG)
		v->org[v->n++] = ent;
}

static inline void view_of_slot(struct sig *s, uint32_t slot, int fam, struct view *v)
{
	v->any = slot != 0;
	v->n = 0;
	if (!slot)
		return;
	if (!(slot & RIB_MULTI)) {
		view_add(v, attr_ent(s, slot, fam));
		return;
	}
	for (uint32_t i = slot & ~RIB_MULTI; i != RIB_NONE; i = rib_multi_get(s->rib, i)->next)
		view_add(v, attr_ent(s, rib_multi_get(s->rib, i)->attr, fam));
}

/* The view of (peer, prefix) before a route change, from the slot after it: the other paths
 * as they are, and the path that changed as it was (old_attr; 0: it did not exist). */
static void view_before(struct sig *s, uint32_t slot, const struct rib_change *ch, int fam, struct view *v)
{
	v->n = 0;
	v->any = ch->old_attr != 0;
	if (slot & RIB_MULTI) {
		for (uint32_t i = slot & ~RIB_MULTI; i != RIB_NONE; i = rib_multi_get(s->rib, i)->next) {
			const struct rib_multi *m = rib_multi_get(s->rib, i);
			if (m->path_id == ch->path_id)
				continue;
			v->any = 1;
			view_add(v, attr_ent(s, m->attr, fam));
		}
	} else if (slot && ch->path_id != 0) {   /* the lone path 0 is another path */
		v->any = 1;
		view_add(v, attr_ent(s, slot, fam));
	}
	if (ch->old_attr)
		view_add(v, attr_ent(s, ch->old_attr, fam));
}

static int view_has(const struct view *v, uint32_t ent)
{
	for (unsigned i = 0; i < v->n; i++)
		if (v->org[i] == ent)
			return 1;
	return 0;
}

static void apply_view(struct sig *s, uint32_t pfx, int fam, int32_t f, const struct view *a,
                       const struct view *b)
{
	uint64_t sz = rib_prefix_len(s->rib, pfx) <= covlen[fam] ? pfx_units(s, pfx) : 0;
	if (a->any != b->any) {
		int d = b->any ? 1 : -1;
		struct pst *p = &s->p[pfx];
		p->seen = (uint16_t)(p->seen + d);
		pe_add(s, ENT_GLOBAL + (uint32_t)fam, fam, f, d, sz);
		unsigned n;
		struct share one_;   /* geo_of's answer for a one-country prefix */
		const struct share *sh = geo_of(s, pfx, &n, &one_);
		for (unsigned k = 0; k < n; k++)
			pe_add(s, sh[k].ent, fam, f, d, sz ? sh[k].units : 0);
		int v = visible_now(s, fam, s->p[pfx].seen);
		if (v != !!(s->p[pfx].flags & PF_VIS))
			toggle_prefix(s, pfx, v);
	}
	for (unsigned i = 0; i < a->n; i++)
		if (!view_has(b, a->org[i]))
			org_count(s, pfx, fam, a->org[i], f, -1, sz);
	for (unsigned i = 0; i < b->n; i++)
		if (!view_has(a, b->org[i]))
			org_count(s, pfx, fam, b->org[i], f, 1, sz);
}

/* ---------- peers ---------- */

static int slot_grow(struct sig *s, uint32_t need)
{
	uint32_t n = s->nslot ? s->nslot : 64;
	while (n < need)
		n *= 2;
	int32_t *p = realloc(s->ffslot, n * sizeof *p);
	if (!p)
		return -1;
	for (uint32_t i = s->nslot; i < n; i++)
		p[i] = -1;
	s->ffslot = p;
	s->nslot = n;
	return 0;
}

/* Inline: once per element (issue 12: the call was 1.4% of a full-scale table's instructions). */
static inline int slot_fit(struct sig *s)
{
	uint32_t need = rib_peer_count(s->rib) * 2;
	return need <= s->nslot ? 0 : slot_grow(s, need);
}

static int coll_fit(struct sig *s, uint32_t c)
{
	if (c < s->ncoll)
		return 0;
	uint32_t n = c + 8;
	uint64_t *r = realloc(s->crec, n * sizeof *r);
	if (!r)
		return -1;
	s->crec = r;
	uint8_t *a = realloc(s->cactive, n);
	if (!a)
		return -1;
	s->cactive = a;
	int64_t *l = realloc(s->clast, n * sizeof *l);
	if (!l)
		return -1;
	s->clast = l;
	uint8_t *g = realloc(s->cgap, n);
	if (!g)
		return -1;
	s->cgap = g;
	for (uint32_t i = s->ncoll; i < n; i++) {
		r[i] = 0;
		a[i] = 0;
		l[i] = 0;
		g[i] = 0;
	}
	s->ncoll = n;
	return 0;
}

static void recompute(struct sig *s, int fam);

/* The RIB dropped the table of a peer whose session went down (RIB_CH_PEER_DOWN): a full-feed
 * peer's outage shrinks the set and visibility is recomputed against the others at once. */
static void peer_down(struct sig *s, uint32_t peer)
{
	s->ndown++;
	int was_ff[2] = { 0, 0 };
	for (int fam = 0; fam < 2; fam++) {
		int32_t slot = s->ffslot[2 * peer + fam];
		if (slot < 0)
			continue;
		struct fam *F = &s->fam[fam];
		memmove(&F->ff[slot], &F->ff[slot + 1], (F->nff - (uint32_t)slot - 1) * sizeof *F->ff);
		F->nff--;
		for (uint32_t k = 0; k < F->nff; k++)
			s->ffslot[2 * F->ff[k] + fam] = (int32_t)k;
		s->ffslot[2 * peer + fam] = FF_WAS;   /* its return is a session event */
		F->dropped = 1;
		was_ff[fam] = 1;
	}
	for (int fam = 0; fam < 2; fam++)
		if (was_ff[fam])
			recompute(s, fam);
}

/* ---------- elements ---------- */

static void count_event(struct sig *s, uint32_t pfx, int fam, int ann, uint32_t asent)
{
	struct ent *g = &s->ent[ENT_GLOBAL + fam];
	if (ann)
		g->ann++;
	else
		g->wd++;
	if (pfx != RIB_NONE && geo_defer(s, pfx, ann)) {
		unsigned n;
		struct share one_;   /* geo_of's answer for a one-country prefix */
		uint64_t unused = 0;   /* its units are not counted here: not read from the prefix */
		const struct share *sh = geo_of_sized(s, pfx, &n, &one_, &unused);
		for (unsigned k = 0; k < n; k++) {
			struct ent *e = &s->ent[sh[k].ent];
			e->used = 1;
			if (ann)
				e->ann++;
			else
				e->wd++;
		}
	}
	if (asent != RIB_NONE) {
		struct ent *e = &s->ent[asent];
		e->used = 1;
		if (ann)
			e->ann++;
		else
			e->wd++;
	}
}

/* What change_emit needs to know about the element being applied (after sig_start only: the
 * RIB load is no change). ch_ts 0 = no change log. */
static inline void change_ctx(struct sig *s, const struct dm_elem *e, uint32_t peer, uint32_t attr)
{
	if (!s->chemit || !s->started)
		return;
	s->ch_ts = e->ts ? e->ts : 1;
	s->ch_peer = peer;
	s->ch_attr = attr;
}

void sig_apply(struct sig *s, const struct dm_elem *e, const struct rib_change *ch)
{
	if (ch->peer == RIB_NONE)
		return;   /* nothing applied (a drop is counted by the RIB: sig_dropped adds it) */
	uint32_t peer = ch->peer;
	if (slot_fit(s)) {
		s->dropped++;
		return;
	}
	s->elems++;
	if (ch->came_up || ch->kind == RIB_CH_PEER_UP)
		s->ndown--;
	int fam = rib_fam(e->prefix.afi);
	if (!s->started && ch->kind != RIB_CH_NONE && ch->kind != RIB_CH_IGNORED &&
	    (e->type == DM_ELEM_RIB || e->type == DM_ELEM_ANNOUNCE))
		s->rib_routes[fam]++;   /* the RIB load: tables built from RIB entries */
	switch (ch->kind) {
	case RIB_CH_PEER_DOWN:
		peer_down(s, peer);
		return;
	case RIB_CH_IGNORED:
		s->ignored++;
		return;
	case RIB_CH_NOPATH:
		if (ch->pfx != RIB_NONE && ch->pfx >= s->np && pst_fit(s))
			return;
		if (s->started)
			count_event(s, ch->pfx, fam, 0, RIB_NONE);
		return;
	case RIB_CH_ROUTE:
		break;
	default:
		return;
	}
	uint32_t pfx = ch->pfx;
	if (pfx >= s->np) {
		if (pfx == s->np && pfx < s->capp && rib_prefix_count(s->rib) == pfx + 1) {
			/* the prefix the RIB added last, with room: pst_fit's work without its call
			 * (once per new prefix: a table's every element) */
			memset(&s->p[pfx], 0, sizeof s->p[pfx]);
			s->p[pfx].org0.ent = RIB_NONE;
			s->np++;
			grow((void **)&s->p, &s->capp, s->np, sizeof *s->p);   /* pages ahead; near the end, room */
		} else if (pst_fit(s)) {
			return;
		}
	}
	int ann = ch->new_attr != 0;
	int32_t f = s->ffslot[2 * peer + fam];
	if (f >= 0) {
		if ((ann || s->trie_owed) && trie_sync(s))
			return;
		struct view a, b;
		uint32_t slot = rib_slot(s->rib, peer, pfx);
		view_of_slot(s, slot, fam, &b);
		view_before(s, slot, ch, fam, &a);
		change_ctx(s, e, peer, ann ? ch->new_attr : ch->old_attr);
		apply_view(s, pfx, fam, f, &a, &b);
		s->ch_ts = 0;
	}
	if (!s->started || e->type == DM_ELEM_RIB)
		return;
	if (ann)
		count_event(s, pfx, fam, 1, attr_ent(s, ch->new_attr, fam));
	else
		count_event(s, pfx, fam, 0, attr_ent(s, ch->old_attr, fam));
}

void sig_elem(struct sig *s, uint32_t collector, const struct dm_elem *e)
{
	struct rib_change ch;
	rib_apply(s->rib, collector, e, &ch);
	sig_apply(s, e, &ch);
}

void sig_record(struct sig *s, uint32_t collector)
{
	rib_record(s->rib);
	if (!s->started || coll_fit(s, collector))
		return;
	s->crec[collector]++;
	s->records_bin++;
	/* A gap that ends with this record and reaches into the open bin flags it. */
	int64_t gap_from = s->clast[collector] + s->o.gap_min;
	if (s->cactive[collector] && s->o.gap_min && s->clast[collector] &&
	    (gap_from > s->cur ? gap_from : s->cur) < s->now)
		s->cgap[collector] = 1;
	if (s->now > s->clast[collector])
		s->clast[collector] = s->now;
}

void sig_collector_active(struct sig *s, uint32_t collector, int active)
{
	if (coll_fit(s, collector))
		return;
	if (active && !s->cactive[collector])
		s->clast[collector] = s->now;   /* silence is counted from the start of its input */
	s->cactive[collector] = (uint8_t)(active != 0);
}

/* ---------- full recompute (full-feed set changed) ---------- */

/* Counts of one prefix from the full-feed tables. Prefix-major (every full-feed peer's slot of
 * prefix i, then i+1, ...): the per-prefix and per-entity state stays in cache while the peers'
 * table pages are read sequentially. */
static void rc_prefix(struct sig *s, int fam, uint32_t i)
{
	const struct fam *F = &s->fam[fam];
	uint64_t sz = rib_prefix_len(s->rib, i) <= covlen[fam] ? pfx_units(s, i) : 0;
	const struct share *sh = NULL;
	unsigned n = 0;
	struct share one_;   /* geo_of's answer for a one-country prefix */
	for (uint32_t f = 0; f < F->nff; f++) {
		uint32_t slot = rib_slot(s->rib, F->ff[f], i);
		if (!slot)
			continue;
		if (!sh)
			sh = geo_of(s, i, &n, &one_);
		struct view v;
		view_of_slot(s, slot, fam, &v);
		s->p[i].seen++;
		pe_add(s, ENT_GLOBAL + (uint32_t)fam, fam, (int32_t)f, 1, sz);
		for (unsigned k = 0; k < n; k++)
			pe_add(s, sh[k].ent, fam, (int32_t)f, 1, sz ? sh[k].units : 0);
		for (unsigned j = 0; j < v.n; j++) {
			struct pst *p = &s->p[i];
			struct org *o;
			if (!(p->flags & PF_LIST) && (p->org0.ent == RIB_NONE || p->org0.ent == v.org[j])) {
				/* org_find and org_new without calls for a prefix's first pair (nearly all) */
				if (p->org0.ent == RIB_NONE)
					p->org0 = (struct org){ v.org[j], 0, 0, 0 };
				o = &p->org0;
			} else if (!(o = org_find(s, i, v.org[j])) && !(o = org_new(s, i, v.org[j]))) {
				continue;
			}
			o->seen++;
			pe_add(s, v.org[j], fam, (int32_t)f, 1, sz);
		}
	}
}

/* Where rc_dfs adds coverage: each entity's cov, or (a helper thread's half of the trie) an
 * array of its own, added in after the join. */
struct covsink {
	char *base;
	size_t stride;
};

static inline uint64_t *cov_at(const struct covsink *cs, uint32_t ent)
{
	return (uint64_t *)(void *)(cs->base + (size_t)ent * cs->stride);
}

/* rc_dfs's visit of prefix q (RIB_NONE: a branching node) of length tl: its part of the
 * coverage, given whether a visible prefix above covers it (*covered) and the origin entities
 * of visible pairs above (ostk[0 .. *olen)), both updated for what lies below; 1 when q counts
 * in vsub (visible, <= /24 or /48). It only reads the prefix's country shares, which the pass
 * before made for every visible prefix (a prefix whose shares could not be made, out of memory,
 * counts for no country here as there). */
static inline __attribute__((always_inline)) uint32_t rc_visit(struct sig *s, int fam, uint32_t q, unsigned tl,
                                                               int *covered, uint32_t *ostk, unsigned *olen,
                                                               const struct covsink *cs)
{
	uint32_t cnt = 0;
	if (q == RIB_NONE || tl > covlen[fam])
		return 0;
	uint64_t units = fam ? (tl ? 1ull << (64 - tl) : 1ull << 63) : 1ull << (32 - tl);
	if (s->p[q].flags & PF_VIS) {
		cnt = 1;
		if (!*covered) {
			*cov_at(cs, ENT_GLOBAL + (uint32_t)fam) += units;
			unsigned k = 0;
			struct share one_;   /* geo_of's answer for a one-country prefix */
			const struct share *sh = s->p[q].flags & PF_GEO ? geo_of_sized(s, q, &k, &one_, &units) : NULL;
			for (unsigned j = 0; j < k; j++)
				*cov_at(cs, sh[j].ent) += sh[j].units;
		}
		*covered = 1;
	}
	for (const struct org *o = org_first(s, q); o; o = org_next(s, q, o)) {
		if (!(o->flags & PF_VIS))
			continue;
		uint32_t ent = o->ent;
		int in = 0;
		for (unsigned j = 0; j < *olen && !in; j++)
			in = ostk[j] == ent;
		if (!in) {
			*cov_at(cs, ent) += units;
			if (*olen < 512)
				ostk[(*olen)++] = ent;
		}
	}
	return cnt;
}

/* The coverage (struct ent cov) and the per-node counts (vsub) of the subtree at child word n,
 * in address order. A leaf is visited in its parent's call, not in one of its own: half the
 * calls, 7% of the first bin's close of a one-peer table (issue 12). */
/* rc_visit of a leaf prefix q (nothing below it): what it changes of covered and the stack is
 * its own, so they are taken by value. */
static inline uint32_t rc_leaf(struct sig *s, int fam, uint32_t q, int covered, uint32_t *ostk, unsigned olen,
                               const struct covsink *cs)
{
	return rc_visit(s, fam, q, rib_prefix_len(s->rib, q), &covered, ostk, &olen, cs);
}

static uint32_t rc_dfs(struct sig *s, int fam, uint32_t n, int covered, uint32_t *ostk, unsigned olen,
                       const struct covsink *cs)
{
	if (n == RIB_NONE)
		return 0;
	if (rib_is_leaf(n))   /* a prefix with nothing below, held in its parent's child word */
		return rc_leaf(s, fam, rib_leaf_pfx(n), covered, ostk, olen, cs);
	const struct rib_tnode *t = rib_node(s->rib, n);
	uint32_t c[2] = { t->child[0], t->child[1] };
	/* The walk is in address order, the prefix states in arrival order: start loading the
	 * children's states now (a table's worth of cache misses, issue 12). A prefix node's
	 * length is its prefix's: the prefix itself is not read. */
	uint32_t qc[2];
	for (int k = 0; k < 2; k++) {
		qc[k] = rib_is_leaf(c[k]) ? rib_leaf_pfx(c[k]) : c[k] != RIB_NONE ? rib_tnode_pfx(rib_node(s->rib, c[k])) : RIB_NONE;
		if (qc[k] != RIB_NONE)
			__builtin_prefetch(&s->p[qc[k]]);
	}
	uint32_t cnt = rc_visit(s, fam, rib_tnode_pfx(t), rib_tnode_len(t), &covered, ostk, &olen, cs);
	for (int k = 0; k < 2; k++) {
		if (rib_is_leaf(c[k]))
			cnt += rc_leaf(s, fam, qc[k], covered, ostk, olen, cs);
		else if (c[k] != RIB_NONE)
			cnt += rc_dfs(s, fam, c[k], covered, ostk, olen, cs);
	}
	s->vsub[n] = cnt;
	return cnt;
}

static int ent_fam(const struct ent *e) { return e->key.afi == DM_AFI_IPV6; }

/* A full recompute's trie sync on a helper thread, run beside the prefix pass (issue 12: a
 * table's first bin close was the sync, 190 M instructions, then the pass, 220 M, one after the
 * other on a 2-core machine with the other core idle). The two share no state: the sync writes
 * the RIB's trie, its queue and node count and s->vsub, and reads the prefix store and the flags
 * of the other family's prefix states; the pass writes fam's prefix states, entities, pairs and
 * shares and the attribute sets' user words, and reads the prefix store, table pages and sets.
 * Only worth a thread for a big queue (a table's load): a bin's few new prefixes sync inline. */
enum { SYNC_THREAD_MIN = 1u << 16 };

/* fn(arg) beside the caller's work: on a helper thread when work of size n is worth one
 * (sync_on_thread, below), else at once on the caller's. */
struct side_job {
	int threaded;
	pthread_t th;
};

static int sync_on_thread(uint32_t n);

static void side_start(struct side_job *j, uint32_t n, void *(*fn)(void *), void *arg)
{
	j->threaded = sync_on_thread(n) && pthread_create(&j->th, NULL, fn, arg) == 0;
	if (!j->threaded)
		fn(arg);
}

static void side_join(struct side_job *j)
{
	if (j->threaded)
		pthread_join(j->th, NULL);
}

struct sync_job {
	struct sig *s;
	int skip, rc;
	struct side_job side;
};

static void *sync_main(void *arg)
{
	struct sync_job *j = arg;
	j->rc = trie_sync_skip(j->s, j->skip);
	return NULL;
}

/* Whether a recompute's work of size n (queued prefixes, trie nodes) goes to a helper thread:
 * DARKMAP_SYNC_THREAD=0 turns the threads off, =1 forces them for any size (tests/tsan). */
static int sync_on_thread(uint32_t n)
{
	const char *th = getenv("DARKMAP_SYNC_THREAD");
	if (th && *th)
		return *th == '1' && n;
	return n >= SYNC_THREAD_MIN && dm_core_free();
}

static void sync_start(struct sync_job *j, struct sig *s, int skip)
{
	*j = (struct sync_job){ .s = s, .skip = skip };
	side_start(&j->side, rib_trie_pending(s->rib), sync_main, j);
}

static int sync_join(struct sync_job *j)
{
	side_join(&j->side);
	return j->rc;
}

/* run(arg, sink) on the caller and a helper thread at once, each taking pieces of one job in
 * turns: the caller's into the entities' cov, the helper's into an array of its own added in
 * after the join. Without the array the caller runs alone (and takes every piece). */
typedef void (*cov_run_fn)(void *arg, const struct covsink *cs);

struct cov_helper {
	cov_run_fn run;
	void *arg;
	struct covsink cs;
};

static void *cov_helper_main(void *arg)
{
	struct cov_helper *h = arg;
	h->run(h->arg, &h->cs);
	return NULL;
}

static void cov_on_two(struct sig *s, cov_run_fn run, void *arg)
{
	struct covsink own = { (char *)&s->ent[0].cov, sizeof *s->ent };
	uint64_t *cov = calloc(s->nent ? s->nent : 1, sizeof *cov);
	if (!cov) {
		run(arg, &own);
		return;
	}
	struct cov_helper h = { run, arg, { (char *)cov, sizeof *cov } };
	pthread_t th;
	int threaded = pthread_create(&th, NULL, cov_helper_main, &h) == 0;
	run(arg, &own);   /* without the thread, the caller takes every piece */
	if (threaded)
		pthread_join(th, NULL);
	for (uint32_t i = 0; i < s->nent; i++)
		s->ent[i].cov += cov[i];
	free(cov);
}

/* rc_trie's split of a big trie for two threads: its top RC_DEPTH levels are walked first (by
 * the caller, as rc_dfs would), and the subtrees below them, each with the walk's state above it
 * (covered, the stack of origin entities), are handed out one at a time to the caller and a
 * helper thread, each adding coverage into a sink of its own; then the top nodes' counts are
 * summed bottom-up. Issue 12: two fixed halves below the root took 17 and 30 ms of a one-table
 * close (the halves of the address space are not alike); 64 pieces taken in turns end within a
 * piece of each other. */
enum { RC_DEPTH = 6, RC_MAXSUB = 1u << RC_DEPTH, RC_STK = 512, RC_SUB = 0x80000000u };

struct rc_sub {   /* a subtree below the top levels */
	uint32_t n, cnt;
	int covered;
	unsigned olen;
	uint32_t ostk[RC_STK];
};

struct rc_top {   /* a node of the top levels: its own (and its leaves') count, its children */
	uint32_t n, own, cnt;
	uint32_t ref[2];   /* RIB_NONE, a top index, or RC_SUB | a subtree index */
};

struct rc_split {
	struct sig *s;
	int fam;
	uint32_t ntop, nsub, next;   /* next: the next subtree to take (atomic) */
	struct rc_top top[RC_MAXSUB];
	struct rc_sub sub[RC_MAXSUB];
};

/* The top levels from node n (neither leaf nor none) at depth d: returns its reference. */
static uint32_t rc_top_walk(struct rc_split *sp, uint32_t n, int covered, uint32_t *ostk, unsigned olen, unsigned d,
                            const struct covsink *cs)
{
	struct sig *s = sp->s;
	if (d == RC_DEPTH) {
		struct rc_sub *b = &sp->sub[sp->nsub];
		b->n = n;
		b->covered = covered;
		b->olen = olen;
		memcpy(b->ostk, ostk, olen * sizeof *ostk);
		return RC_SUB | sp->nsub++;
	}
	uint32_t i = sp->ntop++;
	const struct rib_tnode *t = rib_node(s->rib, n);
	uint32_t own = rc_visit(s, sp->fam, rib_tnode_pfx(t), rib_tnode_len(t), &covered, ostk, &olen, cs);
	for (int k = 0; k < 2; k++) {
		uint32_t c = t->child[k];
		sp->top[i].ref[k] = RIB_NONE;
		if (rib_is_leaf(c))
			own += rc_leaf(s, sp->fam, rib_leaf_pfx(c), covered, ostk, olen, cs);
		else if (c != RIB_NONE)
			sp->top[i].ref[k] = rc_top_walk(sp, c, covered, ostk, olen, d + 1, cs);
	}
	sp->top[i].n = n;
	sp->top[i].own = own;
	return i;
}

static void rc_subs_run(void *arg, const struct covsink *cs)
{
	struct rc_split *sp = arg;
	for (;;) {
		uint32_t i = __atomic_fetch_add(&sp->next, 1, __ATOMIC_RELAXED);
		if (i >= sp->nsub)
			return;
		struct rc_sub *b = &sp->sub[i];
		b->cnt = rc_dfs(sp->s, sp->fam, b->n, b->covered, b->ostk, b->olen, cs);
	}
}

/* The coverage and vsub of fam's whole trie, a big one on two threads (rc_split). */
static void rc_trie(struct sig *s, int fam)
{
	struct covsink own = { (char *)&s->ent[0].cov, sizeof *s->ent };
	uint32_t ostk[RC_STK];
	uint32_t root = rib_trie_root(s->rib, fam);
	struct rc_split *sp = NULL;
	if (root != RIB_NONE && !rib_is_leaf(root) && sync_on_thread(rib_node_count(s->rib)))
		sp = malloc(sizeof *sp);
	if (!sp) {
		rc_dfs(s, fam, root, 0, ostk, 0, &own);
		return;
	}
	sp->s = s;
	sp->fam = fam;
	sp->ntop = sp->nsub = sp->next = 0;
	rc_top_walk(sp, root, 0, ostk, 0, 0, &own);
	cov_on_two(s, rc_subs_run, sp);
	for (uint32_t i = sp->ntop; i-- > 0;) {   /* pre-order backwards: children before parents */
		struct rc_top *x = &sp->top[i];
		x->cnt = x->own;
		for (int k = 0; k < 2; k++)
			if (x->ref[k] != RIB_NONE)
				x->cnt += x->ref[k] & RC_SUB ? sp->sub[x->ref[k] & ~RC_SUB].cnt : sp->top[x->ref[k]].cnt;
		s->vsub[x->n] = x->cnt;
	}
	free(sp);
}

/* ---------- the first close of a table: coverage without the trie ---------- */

/* A full recompute of IPv4 while its trie is empty (a table's first bin close, when the first
 * full-feed peers join) counts coverage from the queue's prefixes in the trie's own order
 * (rib_queue4_sorted: address, then length, so each comes after the prefixes covering it) with
 * a stack of the prefixes covering the one at hand: rc_dfs's walk, visit for visit, without the
 * trie. The trie is built when a change first needs it (sig_apply: trie_owed), from the queue
 * as before; a replay that ends at that close never builds it. Issue 12: the first close of a
 * one-peer table was 75 ms, of which the trie's build (47 ms on the second core, waited for)
 * and the walk (20 ms on two). DARKMAP_SWEEP=0 builds the trie at the close as before
 * (tests/golden/replay_sweep.sh and tests/tsan/tsan_recompute.c compare the two). */
static int sweep_wanted(const struct sig *s, int fam)
{
	if (fam != 0 || rib_trie_root(s->rib, 0) != RIB_NONE)
		return 0;
	const char *e = getenv("DARKMAP_SWEEP");
	return !(e && *e == '0');
}

/* rib_queue4_sorted on a helper thread beside the prefix pass (which reads no queue and writes
 * no prefix store: they share nothing). */
struct keys_job {
	const struct rib *r;
	uint64_t *k;
	size_t bytes;
	uint32_t n;
	struct side_job side;
};

static void *keys_main(void *arg)
{
	struct keys_job *j = arg;
	j->n = rib_queue4_sorted(j->r, &j->k, &j->bytes);
	return NULL;
}

static void keys_start(struct keys_job *j, const struct rib *r)
{
	*j = (struct keys_job){ .r = r };
	side_start(&j->side, rib_trie_pending(r), keys_main, j);
}

/* A frame of the sweep's stack: a prefix (its address and length) and the walk's state below
 * it (covered, the length of the origin stack), as rc_dfs passes them down. */
struct sw_frame {
	uint32_t a;
	unsigned len, olen;
	int covered;
};

static inline int sw_covers(const struct sw_frame *f, uint32_t a, unsigned len)
{
	return f->len < len && (f->len == 0 || ((a ^ f->a) >> (32 - f->len)) == 0);
}

static inline uint32_t sw_addr(uint64_t k) { return (uint32_t)(k >> 32); }
static inline uint64_t sw_pfx(uint64_t k) { return k >> RIB_PK_IDX_BITS; }   /* address << 6 | length */

/* k[lo, hi) of the n sorted entries, into cs. The prefixes covering k[lo] (they come before
 * it) are found by a search for each shorter length and visited for their state only (their
 * coverage is their own piece's), so that any piece can start anywhere. */
static void sweep_range(struct sig *s, const uint64_t *k, uint32_t n, uint32_t lo, uint32_t hi,
                        const struct covsink *cs)
{
	enum { AHEAD = 12 };
	struct sw_frame st[34];
	unsigned sp = 0;
	uint32_t ostk[RC_STK];
	uint64_t nowhere = 0;
	const struct covsink none = { (char *)&nowhere, 0 };   /* every entity's cov: one dropped word */
	if (lo < hi && lo) {
		uint32_t a = sw_addr(k[lo]);
		unsigned L = rib_pk_len(k[lo]);
		struct sw_frame f = { 0, 0, 0, 0 };
		for (unsigned l = 0; l < L && l <= 32; l++) {
			uint32_t m = l ? a & ~(uint32_t)0 << (32 - l) : 0;
			uint64_t want = (uint64_t)m << 6 | l;
			uint32_t x = 0, y = lo;   /* the first entry not below want */
			while (x < y) {
				uint32_t mid = x + (y - x) / 2;
				if (sw_pfx(k[mid]) < want)
					x = mid + 1;
				else
					y = mid;
			}
			if (x == lo || sw_pfx(k[x]) != want)
				continue;
			rc_visit(s, 0, rib_pk_index(k[x]), l, &f.covered, ostk, &f.olen, &none);
			st[sp++] = (struct sw_frame){ m, l, f.olen, f.covered };
		}
	}
	for (uint32_t i = lo; i < hi; i++) {
		if (i + AHEAD < n)
			__builtin_prefetch(&s->p[rib_pk_index(k[i + AHEAD])]);
		const struct covsink *to = cs;
		if (i && sw_pfx(k[i]) == sw_pfx(k[i - 1])) {   /* a prefix queued twice: once in the trie too */
			if (i > lo)
				continue;
			to = &none;   /* its first copy was the piece before's: only its state here */
		}
		uint32_t a = sw_addr(k[i]);
		unsigned L = rib_pk_len(k[i]);
		while (sp && !sw_covers(&st[sp - 1], a, L))
			sp--;
		struct sw_frame f = { a, L, sp ? st[sp - 1].olen : 0, sp ? st[sp - 1].covered : 0 };
		rc_visit(s, 0, rib_pk_index(k[i]), L, &f.covered, ostk, &f.olen, to);
		if (sp < sizeof st / sizeof *st)
			st[sp++] = f;
	}
}

/* The sweep of n entries in RC_MAXSUB pieces taken in turns by the caller and a helper thread,
 * each into a sink of its own (cov_on_two, as rc_trie's split). */
struct sweep_split {
	struct sig *s;
	const uint64_t *k;
	uint32_t n, npiece, next;   /* next: the next piece to take (atomic) */
};

static void sweep_run(void *arg, const struct covsink *cs)
{
	struct sweep_split *sp = arg;
	for (;;) {
		uint32_t i = __atomic_fetch_add(&sp->next, 1, __ATOMIC_RELAXED);
		if (i >= sp->npiece)
			return;
		uint64_t lo = (uint64_t)sp->n * i / sp->npiece, hi = (uint64_t)sp->n * (i + 1) / sp->npiece;
		sweep_range(sp->s, sp->k, sp->n, (uint32_t)lo, (uint32_t)hi, cs);
	}
}

static void sweep(struct sig *s, const uint64_t *k, uint32_t n)
{
	struct sweep_split sp = { .s = s, .k = k, .n = n, .npiece = RC_MAXSUB };
	if (!sync_on_thread(n)) {
		struct covsink own = { (char *)&s->ent[0].cov, sizeof *s->ent };
		sweep_range(s, k, n, 0, n, &own);
		return;
	}
	cov_on_two(s, sweep_run, &sp);
}

static void recompute(struct sig *s, int fam)
{
	sig_settle_geo(s);   /* the pass reads every visible prefix's countries */
	/* Prefixes that never waited (a RIB's: its entries are no events) get their countries
	 * from their first reader, this pass, one lookup between a prefix's counts and the next's;
	 * many of them are made first, together (settle_scan: by chunks, on two cores). */
	if (s->geo && s->np > s->geo_made && s->np - s->geo_made >= GEO_MAKE_MIN) {
		settle_scan(s, s->geo_made, s->np);
		s->geo_made = s->np;
	}
	/* the pages populated ahead of the growing arrays' ends go back before the sync and the
	 * pass allocate (base/prefault.h): up to two steps an array, 0.6-0.8 MB of a table's peak */
	rib_trim(s->rib);
	sig_trim(s);
	struct fam *F = &s->fam[fam];
	/* the prefix states first: the sync's counts read them (a new prefix: not visible) */
	if (pst_fit(s))
		return;
	/* the trie is synced when fam has prefixes queued: rc_trie walks fam's alone (the other
	 * family's queue, which may be owed, stays as it is) */
	int sw = sweep_wanted(s, fam);
	struct sync_job sync = { .s = s };
	struct keys_job keys;
	if (sw)
		keys_start(&keys, s->rib);
	else if (rib_trie_pending_fam(s->rib, fam))
		sync_start(&sync, s, fam);
	if (F->nff) {
		double need = ceil(s->o.vis * F->nff - 1e-9);
		F->need = need < 1 ? 1 : (uint32_t)need;
	} else {
		F->need = UINT32_MAX;
	}
	F->npe = 0;   /* every counter of the family goes (pe_mode below) */
	for (uint32_t i = 0; i < s->nent; i++) {
		struct ent *e = &s->ent[i];
		if (ent_fam(e) != fam)
			continue;
		e->pe_mode = PE_NONE;
		e->peers_seeing = 0;
		e->vis = e->more = 0;
		e->cov = 0;
		e->frac_dirty = 1;
	}
	F->visible = 0;
	/* One pass, prefix by prefix: its counts cleared, counted from the full-feed tables, then
	 * judged (a prefix's counts depend on its own slots only; three passes over a table's
	 * prefix states before, issue 12). */
	for (uint32_t i = 0; i < s->np; i++) {
		if (rib_prefix_fam(s->rib, i) != fam)
			continue;
		struct pst *p = &s->p[i];
		p->seen = 0;
		for (struct org *o = org_first(s, i); o; o = org_next(s, i, o))
			o->seen = 0;
		if (F->nff)
			rc_prefix(s, fam, i);
		int more = rib_prefix_len(s->rib, i) > covlen[fam];
		/* A full-feed set change is not an event of the prefix: no interruption counted, and a
		 * prefix it hides is not marked lost. */
		if (visible_now(s, fam, p->seen)) {
			p->flags = (uint8_t)((p->flags | PF_VIS) & ~PF_LOST);
			F->visible++;
			unsigned n;
			struct share one_;   /* geo_of's answer for a one-country prefix */
			const struct share *sh = geo_of(s, i, &n, &one_);
			s->ent[ENT_GLOBAL + fam].vis++;
			s->ent[ENT_GLOBAL + fam].more += (uint32_t)more;
			for (unsigned k = 0; k < n; k++) {
				s->ent[sh[k].ent].vis++;
				s->ent[sh[k].ent].more += (uint32_t)more;
			}
		} else {
			p->flags &= (uint8_t)~PF_VIS;
		}
		for (struct org *x = org_first(s, i); x; x = org_next(s, i, x)) {
			if (visible_now(s, fam, x->seen)) {
				x->flags = (uint8_t)((x->flags | PF_VIS) & ~PF_LOST);
				s->ent[x->ent].vis++;
				s->ent[x->ent].more += (uint32_t)more;
				s->ent[x->ent].used = 1;
			} else {
				x->flags &= (uint8_t)~PF_VIS;
			}
		}
		if ((p->flags & PF_LIST) || (p->org0.ent != RIB_NONE && org_dead(&p->org0)))
			org_gc(s, i);   /* (a lone live pair or none: nothing to collect) */
	}
	if (sw) {
		side_join(&keys.side);
		if (keys.n != UINT32_MAX) {
			sweep(s, keys.k, keys.n);
			bigarr_free(keys.k, keys.bytes);
			s->trie_owed = rib_trie_pending(s->rib) != 0;   /* visible prefixes queued */
			return;
		}
		/* out of memory, or a store too big for the packing (2^26 prefixes): the trie is
		 * built here and walked, as without the sweep */
		sync.rc = trie_sync_skip(s, fam);
	}
	/* out of memory in the sync (reported by the RIB's count): the coverage stays uncounted
	 * until the next full recompute (before, when the sync came first, nothing was) */
	if (sync_join(&sync) || vsub_fit(s))
		return;
	rc_trie(s, fam);
}

/* ---------- full-feed selection and bins ---------- */

/* Table size of peer i that the full-feed choice reads: the RIB's own, or the sizes summed
 * over every partition of a cluster (sig_set_ff_sizes). */
static uint32_t ff_size(const struct sig *s, uint32_t i, int fam)
{
	if (!s->ext_sizes)
		return rib_peer_prefixes(s->rib, i, fam);
	return i < s->ext_npeers ? s->ext_sizes[2 * i + (uint32_t)fam] : 0;
}

static uint64_t ff_rib_routes(const struct sig *s, int fam)
{
	return s->ext_sizes ? s->ext_rib_routes[fam] : s->rib_routes[fam];
}

void sig_set_ff_sizes(struct sig *s, const uint32_t *sizes, uint32_t npeers, const uint64_t rib_routes[2])
{
	s->ext_sizes = sizes;
	s->ext_npeers = npeers;
	if (sizes) {
		s->ext_rib_routes[0] = rib_routes[0];
		s->ext_rib_routes[1] = rib_routes[1];
	}
}

uint64_t sig_rib_routes(const struct sig *s, int fam) { return s->rib_routes[fam & 1]; }

/* Whether peer i belongs to the full-feed set chosen now: hysteresis (signal.h). */
static int ff_keeps(const struct sig *s, const struct fam *F, int fam, uint32_t i)
{
	if (!rib_peer_up(s->rib, i))
		return 0;
	return ff_size(s, i, fam) >= (s->ffslot[2 * i + fam] >= 0 ? F->leave : F->threshold);
}

static void ff_select(struct sig *s, int fam)
{
	struct fam *F = &s->fam[fam];
	const struct rib *r = s->rib;
	uint32_t largest = 0;
	for (uint32_t i = 0; i < rib_peer_count(r); i++)
		if (rib_peer_up(r, i) && ff_size(s, i, fam) > largest)
			largest = ff_size(s, i, fam);
	uint32_t thr;
	const char *rule;
	if (largest >= s->o.ff_abs[fam])
		F->abs_seen = 1;
	switch (s->o.ff_rule) {
	case SIG_FF_ABS:
		thr = s->o.ff_abs[fam];
		rule = "abs";
		break;
	case SIG_FF_COUNT:
		thr = s->o.ff_count[fam];
		rule = "count";
		break;
	case SIG_FF_REL:
		thr = (uint32_t)ceil(s->o.ff_rel * largest - 1e-9);
		rule = "rel";
		break;
	default:
		/* Without a RIB every table is partial: "relative to the largest" would make one or two
		 * partial peers full-feed. Once full tables have been seen, a drop of the largest one
		 * (a reset) must not switch the whole rule to rel either. */
		if (!ff_rib_routes(s, fam) || F->abs_seen) {
			thr = s->o.ff_abs[fam];
			rule = "abs";
		} else {
			thr = (uint32_t)ceil(s->o.ff_rel * largest - 1e-9);
			rule = "rel";
		}
	}
	if (thr < 1)
		thr = 1;
	double lf = s->o.ff_leave > 0 && s->o.ff_leave <= 1 ? s->o.ff_leave : 1;
	uint32_t leave = (uint32_t)ceil(lf * thr - 1e-9);
	F->threshold = thr;
	F->leave = leave < 1 ? 1 : leave > thr ? thr : leave;
	F->largest = largest;
	F->rule = rule;
	/* the new set, in peer order */
	uint32_t n = 0, joined = 0, left = 0;
	int same = 1;
	for (uint32_t i = 0; i < rib_peer_count(r); i++) {
		int32_t slot = s->ffslot[2 * i + fam];
		if (!ff_keeps(s, F, fam, i)) {
			left += slot >= 0;
			continue;
		}
		joined += slot == FF_OUT;   /* FF_WAS: back after its own session reset */
		if (n >= F->nff || F->ff[n] != i)
			same = 0;
		n++;
	}
	if (same && n == F->nff)
		return;
	if (grow((void **)&F->ff, &F->capff, n + 1, sizeof *F->ff))
		return;
	F->joined += joined;
	F->left += left;
	/* Peers that left by table size are no peer outage: drop them from the history of set sizes
	 * too, or SIG_Q_PEERS_DROPPED would follow for drop_window seconds. */
	for (uint32_t k = 0; k < F->nhq; k++)
		F->hq[k].n = F->hq[k].n > left ? F->hq[k].n - left : 0;
	uint8_t *keep = calloc(rib_peer_count(r) ? rib_peer_count(r) : 1, 1);
	if (!keep)
		return;
	for (uint32_t i = 0; i < rib_peer_count(r); i++)
		keep[i] = (uint8_t)ff_keeps(s, F, fam, i);
	for (uint32_t i = 0; i < F->nff; i++)
		s->ffslot[2 * F->ff[i] + fam] = FF_OUT;
	n = 0;
	for (uint32_t i = 0; i < rib_peer_count(r); i++)
		if (keep[i]) {
			s->ffslot[2 * i + fam] = (int32_t)n;
			F->ff[n++] = i;
		}
	free(keep);
	F->nff = n;
	recompute(s, fam);
}

static float ent_frac(struct sig *s, struct ent *e)
{
	int fam = ent_fam(e);
	uint32_t nff = s->fam[fam].nff;
	if (!e->frac_dirty)
		return e->frac;
	e->frac_dirty = 0;
	const struct pe *pe = sig_ent_pe(s, e);
	if (!nff || !pe || !e->base24)
		return e->frac = 0;
	double base = (double)e->base24 * (double)unit[fam], sum = 0;
	for (uint32_t f = 0; f < nff; f++) {
		double x = (double)pe[f].units / base;
		sum += x > 1 ? 1 : x;
	}
	return e->frac = (float)(sum / nff);
}

static void fill_bin(struct sig *s, struct ent *e, int64_t t, struct sig_bin *b, uint8_t q[2],
                     uint16_t ncoll, uint16_t silent)
{
	int fam = ent_fam(e);
	memset(b, 0, sizeof *b);
	b->t = t;
	b->visible_prefixes = e->vis;
	b->slash24 = (e->cov + unit[fam] / 2) / unit[fam];
	if (b->slash24 > e->base24) {
		e->base24 = b->slash24;
		e->frac_dirty = 1;
	}
	b->baseline_slash24 = e->base24;
	b->peers_seeing = (uint16_t)(e->peers_seeing > 65535 ? 65535 : e->peers_seeing);
	b->full_feed_peers = (uint16_t)s->fam[fam].nff;
	uint32_t up = rib_peer_count(s->rib) - s->ndown;
	b->peers_up = (uint16_t)(up > 65535 ? 65535 : up);
	b->peer_frac = ent_frac(s, e);
	b->announcements = e->ann;
	b->withdrawals = e->wd;
	b->interruptions = e->intr;
	b->more_specifics = e->more;
	b->quality = q ? q[fam] : 0;
	b->records = s->records_bin;
	b->collectors = ncoll;
	b->collectors_silent = silent;
	const struct fam *F = &s->fam[fam];
	b->ff_joined = (uint16_t)(F->joined > 65535 ? 65535 : F->joined);
	b->ff_left = (uint16_t)(F->left > 65535 ? 65535 : F->left);
}

/* Whether collector c was in a gap during the bin ending at `end` (signal.h): silent for
 * gap_min seconds by then, or a gap ended inside the bin (cgap, set by sig_record). */
static int coll_in_gap(const struct sig *s, uint32_t c, int64_t end)
{
	if (!s->o.gap_min)
		return s->crec[c] == 0;
	if (!s->clast[c])   /* started before any time was known: silence not measurable yet */
		return 0;
	return s->cgap[c] || end > s->clast[c] + s->o.gap_min;   /* overlaps [last + gap_min, ...) */
}

static void close_bin(struct sig *s, int64_t t)
{
	sig_settle_geo(s);
	ff_select(s, 0);
	ff_select(s, 1);
	uint16_t ncoll = 0, silent = 0;
	int64_t end = t + s->o.bin;
	for (uint32_t c = 0; c < s->ncoll; c++)
		if (s->cactive[c]) {
			ncoll++;
			silent += (uint16_t)coll_in_gap(s, c, end);
		}
	uint8_t q[2];
	for (int fam = 0; fam < 2; fam++) {
		struct fam *F = &s->fam[fam];
		uint32_t k = 0;   /* closes older than drop_window leave the front */
		while (k < F->nhq && F->hq[k].t + s->o.drop_window < t)
			k++;
		if (k) {
			F->nhq -= k;
			memmove(F->hq, F->hq + k, F->nhq * sizeof *F->hq);
		}
		uint32_t hmax = F->nhq ? F->hq[0].n : 0;
		q[fam] = 0;
		if (!F->nff)
			q[fam] |= SIG_Q_NO_DATA;
		if (F->dropped || F->nff < hmax)
			q[fam] |= SIG_Q_PEERS_DROPPED;
		if (silent)
			q[fam] |= SIG_Q_GAP;
		if (F->joined || F->left)
			q[fam] |= SIG_Q_FF_CHANGED;
		while (F->nhq && F->hq[F->nhq - 1].n <= F->nff)
			F->nhq--;
		if (!grow((void **)&F->hq, &F->caphq, F->nhq + 1, sizeof *F->hq))
			F->hq[F->nhq++] = (struct hent){ t, F->nff };
		F->dropped = 0;
	}
	for (uint32_t k = 0; k < ENT_AS + 2 * s->nas; k++) {
		uint32_t i = ent_nth(s, k);
		if (i == RIB_NONE)
			continue;
		struct ent *e = &s->ent[i];
		if (!e->used)
			continue;
		if (s->emit && (!s->filtered || e->want || e->key.kind == SIG_GLOBAL)) {
			struct sig_bin b;
			fill_bin(s, e, t, &b, q, ncoll, silent);
			s->emit(s->emit_arg, &e->key, &b);
		} else {
			uint64_t s24 = (e->cov + unit[ent_fam(e)] / 2) / unit[ent_fam(e)];
			if (s24 > e->base24) {
				e->base24 = s24;
				e->frac_dirty = 1;
			}
		}
		e->ann = e->wd = e->intr = 0;
	}
	for (int fam = 0; fam < 2; fam++)
		s->fam[fam].joined = s->fam[fam].left = 0;
	for (uint32_t c = 0; c < s->ncoll; c++) {
		if (s->cemit && (s->cactive[c] || s->crec[c]))
			s->cemit(s->cemit_arg, t, c, s->crec[c], s->cactive[c], s->cactive[c] && coll_in_gap(s, c, end));
		s->crec[c] = 0;
		s->cgap[c] = 0;
	}
	s->records_bin = 0;
	s->bins++;
}

/* Start of the bin holding t (floor, also for times before 1970). */
static int64_t bin_floor(int64_t t, uint32_t bin)
{
	int64_t r = t % bin;
	return t - (r < 0 ? r + bin : r);
}

void sig_start(struct sig *s)
{
	if (s->started)
		return;
	s->started = 1;
	s->no_rib = s->elems == 0;
	if (slot_fit(s))
		return;
	if (s->max_ts) {
		s->cur = bin_floor(s->max_ts, s->o.bin);
		s->have_cur = 1;
	}
	ff_select(s, 0);
	ff_select(s, 1);
	for (int fam = 0; fam < 2; fam++) {
		if (!s->fam[fam].nff)   /* no full-feed peer: nothing to select, set need */
			recompute(s, fam);
		s->fam[fam].joined = s->fam[fam].left = 0;   /* the first choice is no change */
	}
}

void sig_time(struct sig *s, int64_t ts)
{
	s->now = ts;
	if (!s->started) {
		if (ts > s->max_ts)
			s->max_ts = ts;
		return;
	}
	int64_t bin = s->o.bin;
	if (!s->have_cur) {
		s->cur = bin_floor(ts, s->o.bin);
		s->have_cur = 1;
		return;
	}
	if (ts < s->cur + bin)
		return;   /* same bin, or late (out-of-order) records: counted in the open bin */
	int64_t target = bin_floor(ts, s->o.bin);
	close_bin(s, s->cur);
	s->cur += bin;
	uint32_t empty = 0;
	while (s->cur < target) {
		if (++empty > s->o.max_empty_bins) {
			s->cur = target;
			break;
		}
		close_bin(s, s->cur);
		s->cur += bin;
	}
}

void sig_finish(struct sig *s)
{
	if (!s->started)
		sig_start(s);
	if (s->have_cur) {
		close_bin(s, s->cur);
		s->have_cur = 0;
	}
}

/* ---------- introspection ---------- */

void sig_fam_info(const struct sig *s, int fam, struct sig_fam_info *out)
{
	const struct fam *F = &s->fam[fam];
	out->nff = F->nff;
	out->threshold = F->threshold;
	out->leave = F->leave;
	out->largest = F->largest;
	out->need = F->nff ? F->need : 0;
	out->rule = F->rule;
	out->visible = F->visible;
	out->slash24 = (s->ent[ENT_GLOBAL + fam].cov + unit[fam] / 2) / unit[fam];
}

uint32_t sig_full_feed_peers(const struct sig *s, int fam, uint32_t *out, uint32_t max)
{
	const struct fam *F = &s->fam[fam];
	for (uint32_t i = 0; i < F->nff && i < max; i++)
		out[i] = F->ff[i];
	return F->nff;
}

/* The entity of a key; an AS known in the other family only gets its entity of this one made
 * (all zero, not emitted until used), as when both were made together. */
static uint32_t ent_lookup(struct sig *s, const struct sig_entity *k)
{
	int fam = k->afi == DM_AFI_IPV6;
	switch (k->kind) {
	case SIG_GLOBAL:
		return ENT_GLOBAL + (uint32_t)fam;
	case SIG_COUNTRY:
		return country_ent(fam, cc_index(k->cc));
	case SIG_ASN: {
		uint32_t i = as_find(s, k->asn);
		return i == RIB_NONE ? RIB_NONE : as_ent(s, i, fam);
	}
	}
	return RIB_NONE;
}

int sig_entity_now(struct sig *s, const struct sig_entity *key, struct sig_bin *out)
{
	uint32_t i = ent_lookup(s, key);
	if (i == RIB_NONE)
		return -1;
	fill_bin(s, &s->ent[i], s->cur, out, NULL, 0, 0);
	return 0;
}

uint32_t sig_entity_peers(struct sig *s, const struct sig_entity *key, uint32_t *out, uint32_t max)
{
	uint32_t i = ent_lookup(s, key);
	const struct pe *pe = i == RIB_NONE ? NULL : sig_ent_pe(s, &s->ent[i]);
	if (!pe)
		return 0;
	const struct fam *F = &s->fam[ent_fam(&s->ent[i])];
	uint32_t n = 0;
	for (uint32_t f = 0; f < F->nff; f++)
		if (pe[f].n) {
			if (n < max)
				out[n] = F->ff[f];
			n++;
		}
	return n;
}

int sig_entity_part(struct sig *s, const struct sig_entity *key, struct sig_part *out, uint32_t *pe_n,
                    uint64_t *pe_units, uint32_t max)
{
	uint32_t i = ent_lookup(s, key);
	if (i == RIB_NONE)
		return -1;
	sig_settle_geo(s);
	const struct ent *e = &s->ent[i];
	memset(out, 0, sizeof *out);
	out->vis = e->vis;
	out->more = e->more;
	out->ann = e->ann;
	out->wd = e->wd;
	out->intr = e->intr;
	out->cov = e->cov;
	out->nff = s->fam[ent_fam(e)].nff;
	const struct pe *pe = sig_ent_pe(s, e);
	for (uint32_t f = 0; f < out->nff && f < max; f++) {
		pe_n[f] = pe ? pe[f].n : 0;
		pe_units[f] = pe ? pe[f].units : 0;
	}
	return 0;
}

int sig_no_rib(const struct sig *s) { return s->no_rib; }
uint64_t sig_bins_emitted(const struct sig *s) { return s->bins; }
uint64_t sig_elements(const struct sig *s) { return s->elems; }
uint64_t sig_ignored(const struct sig *s) { return s->ignored; }
uint64_t sig_dropped(const struct sig *s) { return s->dropped + rib_dropped(s->rib); }

size_t sig_memory(const struct sig *s)
{
	size_t m = sizeof *s;
	m += (size_t)s->capp * sizeof *s->p + (size_t)s->caporg * sizeof *s->org;
	m += (size_t)s->capsh * sizeof *s->sh + (size_t)s->capvsub * sizeof *s->vsub;
	m += (size_t)s->capent * sizeof *s->ent + ((size_t)s->asmask + 1) * sizeof *s->astab;
	m += (size_t)s->capas * sizeof *s->as;
	m += ((size_t)s->fam[0].cappe + s->fam[1].cappe) * sizeof(struct pe);
	return m;
}

size_t sig_memory_used(const struct sig *s)
{
	size_t m = sizeof *s;
	m += (size_t)s->np * sizeof *s->p + (size_t)s->norg * sizeof *s->org;
	m += (size_t)s->nsh * sizeof *s->sh + (size_t)rib_node_count(s->rib) * sizeof *s->vsub;
	m += (size_t)s->nent * sizeof *s->ent + (size_t)s->nas * (sizeof *s->astab + sizeof *s->as);
	m += ((size_t)s->fam[0].npe + s->fam[1].npe) * sizeof(struct pe);
	return m;
}
