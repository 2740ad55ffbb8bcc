/* src/signal: full-feed rule, visibility threshold, distinct /24 counting, country split,
 * origin-AS entities, interruptions, peer down/up as a peer outage, bin alignment, and a
 * generated stream that withdraws a country at a known second. Every expected value is
 * computed by hand in the comment beside it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "signal/signal.h"
#include "../attrs_path.h"
#include "../stripe_geo.h"

/* ---- a fake geography: 10.0.0.0/17 AA, 10.0.128.0/17 BB, 175.45.176.0/22 KP, rest US ---- */
static int fake_geo(void *arg, const struct dm_prefix *p, struct geo_share *out, int max)
{
	(void)arg;
	(void)max;
	if (p->afi != DM_AFI_IPV4) {
		memcpy(out[0].cc, "DE", 3);
		out[0].addrs = p->len <= 64 ? 1ull << (64 - p->len) : 0;
		return 1;
	}
	uint32_t a = (uint32_t)p->b[0] << 24 | p->b[1] << 16 | p->b[2] << 8 | p->b[3];
	uint64_t size = 1ull << (32 - p->len);
	if (p->len <= 16 && (a >> 16) == 0x0a00) {   /* 10.0/16 or a /16 inside 10.0: split */
		memcpy(out[0].cc, "AA", 3);
		out[0].addrs = size / 2;
		memcpy(out[1].cc, "BB", 3);
		out[1].addrs = size / 2;
		return 2;
	}
	if ((a >> 16) == 0x0a00) {
		memcpy(out[0].cc, (a & 0x8000) ? "BB" : "AA", 3);
		out[0].addrs = size;
		return 1;
	}
	if ((a & 0xfffffc00u) == 0xaf2db000u) {       /* 175.45.176.0/22 */
		memcpy(out[0].cc, "KP", 3);
		out[0].addrs = size;
		return 1;
	}
	memcpy(out[0].cc, "US", 3);
	out[0].addrs = size;
	return 1;
}

/* ---- element builders (path_to: tests/attrs_path.h) ---- */
static struct dm_ip peer_ip[64];

static void feed(struct sig *s, char type, int64_t ts, int peer, const char *pfx, uint32_t origin)
{
	struct attrs_buf ab;
	struct dm_elem e;
	peer_elem(&e, type, ts, peer, peer_ip);
	if (pfx)
		assert_int_equal(dm_prefix_parse(pfx, &e.prefix), 0);
	if (type == 'A' || type == 'R')
		e.attrs = path_to(&ab, e.peer_asn, origin);
	sig_time(s, ts);
	sig_elem(s, 0, &e);
}

static void state(struct sig *s, int64_t ts, int peer, int from, int to)
{
	struct dm_elem e;
	peer_elem(&e, 'S', ts, peer, peer_ip);
	e.old_state = (uint16_t)from;
	e.new_state = (uint16_t)to;
	sig_time(s, ts);
	sig_elem(s, 0, &e);
}

/* ---- captured rows ---- */
struct row {
	struct sig_entity e;
	struct sig_bin b;
};
static struct row rows[4096];
static int nrows;

static void capture(void *arg, const struct sig_entity *e, const struct sig_bin *b)
{
	(void)arg;
	if (nrows < 4096) {
		rows[nrows].e = *e;
		rows[nrows].b = *b;
		nrows++;
	}
}

static const struct sig_bin *row_of(int64_t t, int kind, const char *cc, uint32_t asn)
{
	for (int i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		if (r->b.t != t || r->e.kind != kind || r->e.afi != DM_AFI_IPV4)
			continue;
		if (kind == SIG_COUNTRY && strcmp(r->e.cc, cc))
			continue;
		if (kind == SIG_ASN && r->e.asn != asn)
			continue;
		return &r->b;
	}
	return NULL;
}

/* The entity's IPv4 row of the last bin emitted. */
static const struct sig_bin *row_of_last(int kind, const char *cc)
{
	if (!nrows)
		return NULL;
	return row_of(rows[nrows - 1].b.t, kind, cc, 0);
}

static struct sig *new_sig(struct rib **r, const char *ff)
{
	struct sig_opts o;
	sig_opts_default(&o);
	if (ff)
		assert_int_equal(sig_parse_ff_rule(ff, &o), 0);
	*r = rib_new();
	struct sig *s = sig_new(*r, fake_geo, NULL, &o);
	assert_non_null(s);
	nrows = 0;
	sig_set_emit(s, capture, NULL);
	return s;
}

/* Peer p gets n filler prefixes 20.p.x.0/24 (origin 65000 + p) so table sizes differ. */
static void filler(struct sig *s, uint32_t ts, int peer, int n)
{
	char buf[32];
	for (int i = 0; i < n; i++) {
		snprintf(buf, sizeof buf, "20.%d.%d.0/24", i / 256, i % 256);
		feed(s, 'R', ts, peer, buf, 65000);
	}
}

static void test_full_feed_rule(void **st)
{
	(void)st;
	struct rib *r;
	/* tables of 100, 90, 79, 50 prefixes. rel (auto, largest 100 < 400000): >= 80 -> peers 0,1 */
	struct sig *s = new_sig(&r, NULL);
	filler(s, 1000, 0, 100);
	filler(s, 1000, 1, 90);
	filler(s, 1000, 2, 79);
	filler(s, 1000, 3, 50);
	sig_start(s);
	struct sig_fam_info fi;
	sig_fam_info(s, 0, &fi);
	assert_string_equal(fi.rule, "rel");
	assert_int_equal(fi.threshold, 80);
	assert_int_equal(fi.nff, 2);
	uint32_t ids[8];
	assert_int_equal(sig_full_feed_peers(s, 0, ids, 8), 2);
	assert_int_equal(ids[0], 0);
	assert_int_equal(ids[1], 1);
	/* need = ceil(0.5 x 2) = 1: the 100 prefixes of the union of peers 0 and 1 are visible */
	assert_int_equal(fi.need, 1);
	assert_int_equal(fi.visible, 100);
	sig_free(s);
	rib_free(r);

	/* explicit count 60: peers 0,1,2; "abs": 400000 -> nobody */
	s = new_sig(&r, "60");
	filler(s, 1000, 0, 100);
	filler(s, 1000, 1, 90);
	filler(s, 1000, 2, 79);
	filler(s, 1000, 3, 50);
	sig_start(s);
	sig_fam_info(s, 0, &fi);
	assert_string_equal(fi.rule, "count");
	assert_int_equal(fi.nff, 3);
	assert_int_equal(fi.need, 2);          /* ceil(1.5) */
	assert_int_equal(fi.visible, 90);      /* 20.0.0-89: seen by peers 0 and 1 (and 2 for < 79) */
	sig_free(s);
	rib_free(r);

	s = new_sig(&r, "abs");
	filler(s, 1000, 0, 100);
	sig_start(s);
	sig_fam_info(s, 0, &fi);
	assert_int_equal(fi.nff, 0);
	assert_int_equal(fi.visible, 0);
	sig_finish(s);
	const struct sig_bin *g = row_of(900, SIG_GLOBAL, NULL, 0);
	assert_non_null(g);
	assert_true(g->quality & SIG_Q_NO_DATA);
	sig_free(s);
	rib_free(r);

	struct sig_opts o;
	sig_opts_default(&o);
	assert_int_equal(sig_parse_ff_rule("rel:0.9", &o), 0);
	assert_int_equal(o.ff_rule, SIG_FF_REL);
	assert_true(o.ff_rel > 0.89 && o.ff_rel < 0.91);
	assert_int_equal(sig_parse_ff_rule("1000,50", &o), 0);
	assert_int_equal(o.ff_count[0], 1000);
	assert_int_equal(o.ff_count[1], 50);
	assert_int_equal(sig_parse_ff_rule("rel:2", &o), -1);
	assert_int_equal(sig_parse_ff_rule("x", &o), -1);
}

/* Three equal full-feed peers (need = 2). */
static struct sig *three_peers(struct rib **r, uint32_t ts)
{
	struct sig *s = new_sig(r, NULL);
	for (int p = 0; p < 3; p++)
		filler(s, ts, p, 10);
	return s;
}

static void test_distinct_slash24_and_split(void **st)
{
	(void)st;
	struct rib *r;
	struct sig *s = three_peers(&r, 1000);
	for (int p = 0; p < 3; p++) {
		feed(s, 'R', 1000, p, "10.0.0.0/16", 100);
		feed(s, 'R', 1000, p, "10.0.1.0/24", 101);       /* inside the /16, other origin */
		feed(s, 'R', 1000, p, "10.0.200.0/25", 100);     /* longer than /24 */
	}
	feed(s, 'R', 1000, 0, "10.1.0.0/24", 100);           /* seen by 1 of 3: not visible */
	feed(s, 'R', 1000, 0, "10.2.0.0/24", 100);
	feed(s, 'R', 1000, 1, "10.2.0.0/24", 102);           /* 2 of 3 peers, 2 origins 1 each */
	sig_start(s);
	sig_finish(s);
	/* global: 10 filler /24s + the /16 (256 /24s, the /24 inside adds none) + 10.2.0.0/24 = 267;
	 * visible prefixes: 10 + /16 + /24 + /25 + 10.2.0.0/24 = 14, of which 1 more-specific */
	const struct sig_bin *g = row_of(900, SIG_GLOBAL, NULL, 0);
	assert_non_null(g);
	assert_int_equal(g->slash24, 267);
	assert_int_equal(g->visible_prefixes, 14);
	assert_int_equal(g->more_specifics, 1);
	assert_int_equal(g->full_feed_peers, 3);
	/* the /16 is split AA/BB by address count: 128 /24s each; 10.0.1.0/24 is in AA and already
	 * covered; the /25 at 10.0.200 is BB's more-specific */
	const struct sig_bin *aa = row_of(900, SIG_COUNTRY, "AA", 0), *bb = row_of(900, SIG_COUNTRY, "BB", 0);
	assert_non_null(aa);
	assert_non_null(bb);
	assert_int_equal(aa->slash24, 128);
	assert_int_equal(bb->slash24, 128);
	assert_int_equal(aa->visible_prefixes, 2);  /* /16, 10.0.1.0/24 */
	const struct sig_bin *us = row_of(900, SIG_COUNTRY, "US", 0);
	assert_non_null(us);
	assert_int_equal(us->slash24, 10 + 1);      /* fillers + 10.2.0.0/24 (US in the fake geo) */
	assert_int_equal(bb->visible_prefixes, 2);  /* /16, /25 */
	assert_int_equal(bb->more_specifics, 1);
	assert_int_equal(aa->peers_seeing, 3);
	/* AS100: the /16 (256) and the /25 (more-specific); 10.2.0.0/24 is seen with origin 100 by
	 * only 1 peer: not visible for AS100. AS101: its /24 counts for itself although covered by
	 * another AS's /16. */
	const struct sig_bin *a100 = row_of(900, SIG_ASN, NULL, 100), *a101 = row_of(900, SIG_ASN, NULL, 101);
	assert_non_null(a100);
	assert_non_null(a101);
	assert_int_equal(a100->slash24, 256);
	assert_int_equal(a100->visible_prefixes, 2);
	assert_int_equal(a100->more_specifics, 1);
	assert_int_equal(a101->slash24, 1);
	assert_int_equal(a101->visible_prefixes, 1);
	assert_int_equal(a101->peers_seeing, 3);
	const struct sig_bin *a102 = row_of(900, SIG_ASN, NULL, 102);   /* 1 peer: a row, nothing visible */
	assert_non_null(a102);
	assert_int_equal(a102->visible_prefixes, 0);
	assert_int_equal(a102->peers_seeing, 1);
	sig_free(s);
	rib_free(r);
}

/* The /16 withdrawn by every peer after the load: incremental counts equal a fresh load. */
static void test_incremental_union(void **st)
{
	(void)st;
	struct rib *r;
	struct sig *s = three_peers(&r, 1000);
	for (int p = 0; p < 3; p++) {
		feed(s, 'R', 1000, p, "10.0.0.0/16", 100);
		feed(s, 'R', 1000, p, "10.0.1.0/24", 100);
		feed(s, 'R', 1000, p, "10.0.2.0/23", 100);
	}
	sig_start(s);
	for (int p = 0; p < 3; p++)
		feed(s, 'W', 1210, p, "10.0.0.0/16", 0);
	/* bin 900 closes at the first element of 1200; after the withdrawals (2 of 3 make it
	 * invisible) AS100 keeps 10.0.1.0/24 + 10.0.2.0/23 = 3 /24s */
	for (int p = 0; p < 3; p++)
		feed(s, 'A', 1510, p, "10.0.0.0/16", 100);
	feed(s, 'W', 1820, 0, "10.0.2.0/23", 0);   /* 2 of 3 still see it: visible */
	/* a covered prefix goes and comes back: the covering /16 keeps the count */
	for (int p = 0; p < 3; p++)
		feed(s, 'W', 2110, p, "10.0.1.0/24", 0);
	feed(s, 'A', 2120, 0, "10.0.1.0/24", 100);
	feed(s, 'A', 2120, 1, "10.0.1.0/24", 100);
	for (int p = 0; p < 3; p++)
		feed(s, 'W', 2410, p, "10.0.1.0/24", 0);
	sig_finish(s);
	assert_int_equal(row_of(2100, SIG_ASN, NULL, 100)->slash24, 256);
	assert_int_equal(row_of(2100, SIG_ASN, NULL, 100)->interruptions, 1);
	assert_int_equal(row_of(2100, SIG_COUNTRY, "AA", 0)->slash24, 128);
	assert_int_equal(row_of(2400, SIG_ASN, NULL, 100)->slash24, 256);
	assert_int_equal(row_of(2400, SIG_ASN, NULL, 100)->visible_prefixes, 2);
	assert_int_equal(row_of(2400, SIG_GLOBAL, NULL, 0)->slash24, 10 + 256);
	const struct sig_bin *b;
	assert_non_null(b = row_of(900, SIG_ASN, NULL, 100));
	assert_int_equal(b->slash24, 256);
	assert_non_null(b = row_of(1200, SIG_ASN, NULL, 100));
	assert_int_equal(b->slash24, 3);
	assert_int_equal(b->visible_prefixes, 2);
	assert_int_equal(b->withdrawals, 3);
	assert_int_equal(b->baseline_slash24, 256);
	/* peer_frac: each peer still has 1 + 2 /24s of a baseline of 256 */
	assert_true(b->peer_frac > 3.0f / 256 - 1e-4f && b->peer_frac < 3.0f / 256 + 1e-4f);
	assert_non_null(b = row_of(1500, SIG_ASN, NULL, 100));
	assert_int_equal(b->slash24, 256);
	assert_int_equal(b->announcements, 3);
	assert_int_equal(b->interruptions, 1);     /* the /16: visible -> invisible -> visible */
	assert_non_null(b = row_of(1800, SIG_ASN, NULL, 100));
	assert_int_equal(b->slash24, 256);
	assert_int_equal(b->interruptions, 0);
	assert_int_equal(b->withdrawals, 1);
	const struct sig_bin *g = row_of(1200, SIG_GLOBAL, NULL, 0);
	assert_int_equal(g->slash24, 10 + 3);
	assert_int_equal(row_of(1500, SIG_GLOBAL, NULL, 0)->interruptions, 1);
	sig_free(s);
	rib_free(r);
}

static void test_peer_down_up(void **st)
{
	(void)st;
	struct rib *r;
	struct sig *s = three_peers(&r, 1000);
	for (int p = 0; p < 3; p++)
		feed(s, 'R', 1000, p, "175.45.176.0/24", 131279);
	sig_start(s);
	/* peer 2's session drops at 1250: a peer outage, not a withdrawal */
	state(s, 1250, 2, 6, 1);
	feed(s, 'A', 1260, 0, "20.0.0.0/24", 65000);
	/* it comes back at 1550 and resends its table within the bin */
	state(s, 1550, 2, 5, 6);
	filler(s, 1560, 2, 10);
	feed(s, 'A', 1560, 2, "175.45.176.0/24", 131279);
	feed(s, 'A', 1860, 0, "20.0.0.0/24", 65000);
	sig_finish(s);
	const struct sig_bin *b = row_of(1200, SIG_COUNTRY, "KP", 0);
	assert_non_null(b);
	assert_int_equal(b->slash24, 1);           /* 2 remaining peers both see it */
	assert_int_equal(b->full_feed_peers, 2);
	assert_int_equal(b->peers_seeing, 2);
	assert_int_equal(b->withdrawals, 0);
	assert_int_equal(b->interruptions, 0);
	assert_true(b->quality & SIG_Q_PEERS_DROPPED);
	assert_int_equal(b->peers_up, 2);
	/* the peer holds a full table again at the end of bin 1500: full-feed again */
	b = row_of(1500, SIG_COUNTRY, "KP", 0);
	assert_int_equal(b->full_feed_peers, 3);
	assert_int_equal(b->peers_seeing, 3);
	assert_int_equal(b->interruptions, 0);
	assert_int_equal(b->peers_up, 3);
	assert_int_equal(b->announcements, 1);
	struct rib_peer_info pi;
	assert_int_equal(rib_peer_info(r, 2, &pi), 0);
	assert_int_equal(pi.down_count, 1);
	sig_free(s);
	rib_free(r);
}

static void test_bins_aligned(void **st)
{
	(void)st;
	struct rib *r;
	struct sig *s = three_peers(&r, 1000);
	sig_start(s);
	feed(s, 'A', 1799, 0, "20.0.0.0/24", 65000);   /* bin 1500 */
	feed(s, 'A', 2700, 0, "20.0.0.0/24", 65000);   /* bin 2700; 1800, 2100, 2400 empty */
	sig_finish(s);
	uint32_t want[] = { 900, 1200, 1500, 1800, 2100, 2400, 2700 };
	int k = 0;
	for (int i = 0; i < nrows; i++)
		if (rows[i].e.kind == SIG_GLOBAL && rows[i].e.afi == DM_AFI_IPV4) {
			assert_true(k < 7);
			assert_int_equal(rows[i].b.t, want[k]);
			k++;
		}
	assert_int_equal(k, 7);
	assert_int_equal(row_of(1500, SIG_GLOBAL, NULL, 0)->announcements, 1);
	assert_int_equal(row_of(1800, SIG_GLOBAL, NULL, 0)->announcements, 0);
	assert_int_equal(row_of(2700, SIG_GLOBAL, NULL, 0)->announcements, 1);
	sig_free(s);
	rib_free(r);
}

/* A generated stream: 10 full-feed peers see KP's four /24s; every peer withdraws them at
 * 2014-12-22 16:15:00 UTC (1419264900, a bin start). The drop is in the 16:15 bin, not in
 * 16:10; and with the withdrawal one second earlier (16:14:59) it is in the 16:10 bin. */
static void kp_withdrawal(uint32_t when, uint32_t drop_bin)
{
	struct rib *r;
	struct sig *s = new_sig(&r, NULL);
	sig_want_country(s, "KP");
	sig_want_asn(s, 131279);
	const char *kp[] = { "175.45.176.0/24", "175.45.177.0/24", "175.45.178.0/24", "175.45.179.0/24" };
	uint32_t t0 = 1419264000;   /* 16:00 */
	for (int p = 0; p < 10; p++) {
		filler(s, t0, p, 20);
		for (int k = 0; k < 4; k++)
			feed(s, 'R', t0, p, kp[k], 131279);
	}
	sig_start(s);
	for (uint32_t t = t0 + 60; t < when; t += 60)   /* background churn */
		feed(s, 'A', t, (int)(t / 60) % 10, "20.0.1.0/24", 65000);
	for (int p = 0; p < 10; p++)
		for (int k = 0; k < 4; k++)
			feed(s, 'W', when, p, kp[k], 0);
	for (uint32_t t = when + 1; t < t0 + 1800; t += 60)
		feed(s, 'A', t, (int)(t / 60) % 10, "20.0.1.0/24", 65000);
	sig_finish(s);
	for (uint32_t t = t0; t < t0 + 1800; t += 300) {
		const struct sig_bin *b = row_of(t, SIG_COUNTRY, "KP", 0);
		const struct sig_bin *a = row_of(t, SIG_ASN, NULL, 131279);
		assert_non_null(b);
		assert_non_null(a);
		uint32_t want = t < drop_bin ? 4 : 0;
		assert_int_equal(b->slash24, want);
		assert_int_equal(a->slash24, want);
		assert_int_equal(b->peers_seeing, t < drop_bin ? 10 : 0);
		assert_int_equal(b->withdrawals, t == drop_bin ? 40 : 0);
		assert_int_equal(b->full_feed_peers, 10);
		assert_int_equal(b->quality, 0);
	}
	/* rows are only KP, AS131279 and the globals */
	for (int i = 0; i < nrows; i++)
		assert_true(rows[i].e.kind == SIG_GLOBAL || !strcmp(rows[i].e.cc, "KP") || rows[i].e.asn == 131279);
	sig_free(s);
	rib_free(r);
}

static void test_country_withdrawn_at_known_second(void **st)
{
	(void)st;
	kp_withdrawal(1419264900, 1419264900);
	kp_withdrawal(1419264899, 1419264600);
}

/* Flaps: withdrawn by all and back, twice in one bin, once in the next. */
static void test_interruptions(void **st)
{
	(void)st;
	struct rib *r;
	struct sig *s = three_peers(&r, 1000);
	for (int p = 0; p < 3; p++)
		feed(s, 'R', 1000, p, "175.45.177.0/24", 131279);
	sig_start(s);
	uint32_t cyc[] = { 1210, 1300, 1520 };
	for (int c = 0; c < 3; c++) {
		for (int p = 0; p < 3; p++)
			feed(s, 'W', cyc[c], p, "175.45.177.0/24", 0);
		for (int p = 0; p < 3; p++)
			feed(s, 'A', cyc[c] + 30, p, "175.45.177.0/24", 131279);
	}
	/* withdrawn by one peer only: stays visible, no interruption */
	feed(s, 'W', 1530, 0, "175.45.177.0/24", 0);
	feed(s, 'A', 1540, 0, "175.45.177.0/24", 131279);
	/* gone at the end of the last bin: an outage, not (yet) an interruption */
	for (int p = 0; p < 3; p++)
		feed(s, 'W', 1850, p, "175.45.177.0/24", 0);
	sig_finish(s);
	assert_int_equal(row_of(1200, SIG_COUNTRY, "KP", 0)->interruptions, 2);
	assert_int_equal(row_of(1200, SIG_ASN, NULL, 131279)->interruptions, 2);
	assert_int_equal(row_of(1500, SIG_COUNTRY, "KP", 0)->interruptions, 1);
	assert_int_equal(row_of(1500, SIG_COUNTRY, "KP", 0)->announcements, 4);
	assert_int_equal(row_of(1800, SIG_COUNTRY, "KP", 0)->interruptions, 0);
	assert_int_equal(row_of(1800, SIG_COUNTRY, "KP", 0)->slash24, 0);
	assert_int_equal(row_of(1800, SIG_COUNTRY, "KP", 0)->baseline_slash24, 1);
	sig_free(s);
	rib_free(r);
}

/* Incremental state after a random stream equals the state computed from scratch from the
 * final tables (a second RIB loaded with them): the two code paths check each other. */
struct copy_ctx {
	struct rib *from;
	struct sig *to;
	uint32_t peer;
};

static void copy_route(void *arg, uint32_t pfx, uint32_t slot)
{
	struct copy_ctx *c = arg;
	const struct rib_attr *a = rib_attr_get(c->from, slot & RIB_MULTI ? 0 : slot);
	struct attrs_buf ab;
	struct dm_elem e;
	memset(&e, 0, sizeof e);
	e.type = 'R';
	e.ts = 1000;
	struct rib_peer_info pi;
	assert_int_equal(rib_peer_info(c->from, c->peer, &pi), 0);
	e.peer_ip = &pi.addr;
	e.peer_asn = pi.asn;
	e.prefix = rib_prefix(c->from, pfx);
	e.attrs = path_to(&ab, e.peer_asn, a->origin_asn);
	sig_elem(c->to, 0, &e);
}

static void test_incremental_equals_recompute(void **st)
{
	(void)st;
	struct sig_opts o;
	sig_opts_default(&o);
	assert_int_equal(sig_parse_ff_rule("1", &o), 0);
	struct rib *r = rib_new();
	struct sig *s = sig_new(r, fake_geo, NULL, &o);
	srand(11);
	char pf[64][32];
	for (int i = 0; i < 64; i++) {
		int len = 12 + rand() % 15;
		uint32_t a = 0x0a000000u | ((uint32_t)rand() & 0x000fffffu);
		a &= ~0u << (32 - len);
		snprintf(pf[i], sizeof pf[i], "%u.%u.%u.%u/%d", a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255, len);
	}
	for (int p = 0; p < 5; p++) {
		feed(s, 'R', 1000, p, "20.0.0.0/24", 65000);
		for (int i = 0; i < 64; i++)
			if (rand() % 2)
				feed(s, 'R', 1000, p, pf[i], 1 + (uint32_t)rand() % 3);
	}
	sig_start(s);
	for (int k = 0; k < 4000; k++) {
		int p = rand() % 5, i = rand() % 64;
		if (rand() % 2)
			feed(s, 'A', 1010, p, pf[i], 1 + (uint32_t)rand() % 3);
		else
			feed(s, 'W', 1010, p, pf[i], 0);
	}
	struct rib *r2 = rib_new();
	struct sig *s2 = sig_new(r2, fake_geo, NULL, &o);
	for (uint32_t p = 0; p < rib_peer_count(r); p++) {
		struct copy_ctx c = { r, s2, p };
		rib_peer_walk(r, p, copy_route, &c);
	}
	sig_time(s2, 1000);
	sig_start(s2);
	struct sig_entity keys[8] = {
		{ .kind = SIG_GLOBAL, .afi = DM_AFI_IPV4 },
		{ .kind = SIG_COUNTRY, .afi = DM_AFI_IPV4, .cc = "AA" },
		{ .kind = SIG_COUNTRY, .afi = DM_AFI_IPV4, .cc = "BB" },
		{ .kind = SIG_COUNTRY, .afi = DM_AFI_IPV4, .cc = "US" },
		{ .kind = SIG_ASN, .afi = DM_AFI_IPV4, .asn = 1 },
		{ .kind = SIG_ASN, .afi = DM_AFI_IPV4, .asn = 2 },
		{ .kind = SIG_ASN, .afi = DM_AFI_IPV4, .asn = 3 },
		{ .kind = SIG_ASN, .afi = DM_AFI_IPV4, .asn = 65000 },
	};
	for (int k = 0; k < 8; k++) {
		struct sig_bin a, b;
		assert_int_equal(sig_entity_now(s, &keys[k], &a), 0);
		assert_int_equal(sig_entity_now(s2, &keys[k], &b), 0);
		assert_int_equal(a.slash24, b.slash24);
		assert_int_equal(a.visible_prefixes, b.visible_prefixes);
		assert_int_equal(a.more_specifics, b.more_specifics);
		assert_int_equal(a.peers_seeing, b.peers_seeing);
		assert_int_equal(a.full_feed_peers, 5);
	}
	struct sig_fam_info f1, f2;
	sig_fam_info(s, 0, &f1);
	sig_fam_info(s2, 0, &f2);
	assert_int_equal(f1.visible, f2.visible);
	assert_int_equal(f1.slash24, f2.slash24);
	assert_true(f1.visible > 10);
	sig_free(s);
	rib_free(r);
	sig_free(s2);
	rib_free(r2);
}

/* Input gaps as a duration (gap_min): collector 1 is silent from 1220 to 1820 (600 s) while
 * collector 0 goes on. With the default gap_min 600 that is no gap in any bin (the 1500 bin,
 * which has no record of collector 1, ends at 1800 < 1220 + 600 = 1820; the record at 1820
 * ends the silence exactly when it would have become one); with gap_min 300 collector 1 is in
 * a gap from 1520 to 1820: the 1500 bin is flagged, and the 1800 bin, whose first 20 s are
 * still in it. */
static void collector_gap_run(uint32_t gap_min)
{
	struct sig_opts o;
	sig_opts_default(&o);
	o.gap_min = gap_min;
	struct rib *r = rib_new();
	struct sig *s = sig_new(r, fake_geo, NULL, &o);
	nrows = 0;
	sig_set_emit(s, capture, NULL);
	for (int p = 0; p < 3; p++)
		filler(s, 1000, p, 10);
	sig_start(s);
	sig_collector_active(s, 0, 1);
	sig_collector_active(s, 1, 1);
	uint32_t t0[] = { 1210, 1510, 1810 }, t1[] = { 1220, 1820 };
	for (int i = 0; i < 3; i++) {
		sig_time(s, t0[i]);
		sig_record(s, 0);
		if (i < 2) {
			sig_time(s, t1[i]);
			sig_record(s, 1);
		}
	}
	sig_time(s, 2110);
	sig_record(s, 0);
	sig_collector_active(s, 1, 0);   /* its input ends: silence after this is no gap */
	sig_time(s, 2700);   /* collector 0 silent 2110 .. 2700: >= 600 s from 2710 on, not before */
	sig_record(s, 0);
	sig_finish(s);
	const struct sig_bin *b;
	assert_non_null(b = row_of(1200, SIG_GLOBAL, NULL, 0));
	assert_int_equal(b->quality & SIG_Q_GAP, 0);
	assert_int_equal(b->records, 2);
	assert_int_equal(b->collectors, 2);
	assert_non_null(b = row_of(1500, SIG_GLOBAL, NULL, 0));
	assert_int_equal(b->quality & SIG_Q_GAP, gap_min == 300 ? SIG_Q_GAP : 0);
	assert_int_equal(b->collectors_silent, gap_min == 300 ? 1 : 0);
	assert_int_equal(b->records, 1);
	assert_non_null(b = row_of(1800, SIG_GLOBAL, NULL, 0));
	assert_int_equal(b->quality & SIG_Q_GAP, gap_min == 300 ? SIG_Q_GAP : 0);
	assert_int_equal(b->records, 2);
	assert_non_null(b = row_of(2100, SIG_GLOBAL, NULL, 0));
	assert_int_equal(b->collectors, 1);
	/* collector 0 is silent 2110 .. 2700: with gap_min 300 in a gap from 2410, so the 2100 bin
	 * (ending at 2400) is clean and the 2400 bin is flagged; with 600 the gap would start at
	 * 2710, after its record at 2700: nothing. */
	assert_int_equal(b->quality & SIG_Q_GAP, 0);
	assert_non_null(b = row_of(2400, SIG_GLOBAL, NULL, 0));
	assert_int_equal(b->quality & SIG_Q_GAP, gap_min == 300 ? SIG_Q_GAP : 0);
	assert_non_null(b = row_of(2700, SIG_GLOBAL, NULL, 0));
	assert_int_equal(b->quality & SIG_Q_GAP, 0);
	sig_free(s);
	rib_free(r);
}

static void test_collector_gap(void **st)
{
	(void)st;
	collector_gap_run(600);
	collector_gap_run(300);
}

/* A 45-minute collector gap at bins of 60, 300 and 900 s. T = 2014-12-15 13:00 UTC. Both
 * collectors send a record every 20 s from T-3600 to T+5400, except collector 1: nothing in
 * (T-20, T+2700) (update files of 13:00-13:45 missing) and nothing in (T+3600, T+3900) (five
 * quiet minutes). Rule: in a gap from 600 s after its last record (T-20+600 = T+580) until
 * its next one (T+2700); a bin overlapping [T+580, T+2700) is flagged:
 *   60 s:  T+540 .. T+2640 (36 bins)   300 s: T+300 .. T+2400 (8)   900 s: T .. T+1800 (3)
 * i.e. the flagged time starts at most one bin before T+580 and ends at T+2700 at every size,
 * and the quiet five minutes are never a gap. */
static void gap_at_bin(uint32_t bin, uint32_t first, uint32_t nbins)
{
	const uint32_t T = 1418648400;
	struct sig_opts o;
	sig_opts_default(&o);
	o.bin = bin;
	struct rib *r = rib_new();
	struct sig *s = sig_new(r, fake_geo, NULL, &o);
	nrows = 0;
	sig_set_emit(s, capture, NULL);
	for (int p = 0; p < 3; p++)
		filler(s, T - 3600, p, 2);
	sig_start(s);
	sig_time(s, T - 3600);
	sig_collector_active(s, 0, 1);
	sig_collector_active(s, 1, 1);
	for (uint32_t t = T - 3600; t <= T + 5400; t += 20) {
		sig_time(s, t);
		sig_record(s, 0);
		int quiet = (t > T - 20 && t < T + 2700) || (t > T + 3600 && t < T + 3900);
		if (!quiet)
			sig_record(s, 1);
	}
	sig_collector_active(s, 0, 0);   /* the inputs end (replay does this at the end of a stream) */
	sig_collector_active(s, 1, 0);
	sig_finish(s);
	uint32_t flagged = 0, lo = UINT32_MAX, hi = 0;
	for (int i = 0; i < nrows; i++) {
		const struct row *w = &rows[i];
		if (w->e.kind != SIG_GLOBAL || w->e.afi != DM_AFI_IPV4)
			continue;
		if (!(w->b.quality & SIG_Q_GAP))
			continue;
		assert_int_equal(w->b.collectors_silent, 1);
		assert_int_equal(w->b.collectors, 2);
		flagged++;
		lo = w->b.t < lo ? w->b.t : lo;
		hi = w->b.t > hi ? w->b.t : hi;
	}
	assert_int_equal(flagged, nbins);
	assert_int_equal(lo, T + first);
	assert_int_equal(hi + bin, T + 2700);           /* flagged until the records resume */
	assert_true(lo <= T + 580 && lo + bin > T + 580);   /* from the bin holding T+580 */
	sig_free(s);
	rib_free(r);
}

static void test_gap_same_at_bin_sizes(void **st)
{
	(void)st;
	gap_at_bin(60, 540, 36);
	gap_at_bin(300, 300, 8);
	gap_at_bin(900, 0, 3);
}

/* IPv6: /48 equivalents, a covered /48 counts once; IPv4 entities are separate. */
static void feed6(struct sig *s, char type, uint32_t ts, int peer, const char *pfx, uint32_t origin)
{
	struct attrs_buf ab;
	struct dm_elem e;
	memset(&e, 0, sizeof e);
	e.type = type;
	e.ts = ts;
	peer_ip[peer].afi = DM_AFI_IPV4;
	peer_ip[peer].b[0] = 192;
	peer_ip[peer].b[3] = (uint8_t)(peer + 1);
	e.peer_ip = &peer_ip[peer];
	e.peer_asn = 64500 + (uint32_t)peer;
	assert_int_equal(dm_prefix_parse(pfx, &e.prefix), 0);
	if (type != 'W')
		e.attrs = path_to(&ab, e.peer_asn, origin);
	sig_time(s, ts);
	sig_elem(s, 0, &e);
}

static void test_ipv6_slash48(void **st)
{
	(void)st;
	struct rib *r;
	struct sig *s = new_sig(&r, NULL);
	for (int p = 0; p < 2; p++) {
		feed6(s, 'R', 1000, p, "2001:db8::/32", 64496);
		feed6(s, 'R', 1000, p, "2001:db8:1::/48", 64497);
		feed6(s, 'R', 1000, p, "2001:db8:1:1::/64", 64497);   /* longer than /48 */
		feed6(s, 'R', 1000, p, "2a00::/12", 64498);            /* shorter than /16: left out */
	}
	sig_start(s);
	sig_finish(s);
	const struct sig_bin *g = NULL;
	for (int i = 0; i < nrows; i++)
		if (rows[i].e.kind == SIG_GLOBAL && rows[i].e.afi == DM_AFI_IPV6)
			g = &rows[i].b;
	assert_non_null(g);
	assert_int_equal(g->slash24, 65536);            /* 2^(48-32) /48s; the /48 inside adds none */
	assert_int_equal(g->visible_prefixes, 3);
	assert_int_equal(g->more_specifics, 1);
	assert_int_equal(g->full_feed_peers, 2);
	assert_int_equal(sig_ignored(s), 2);
	const struct sig_bin *de = NULL, *as97 = NULL;
	for (int i = 0; i < nrows; i++) {
		if (rows[i].e.afi != DM_AFI_IPV6)
			continue;
		if (rows[i].e.kind == SIG_COUNTRY && !strcmp(rows[i].e.cc, "DE"))
			de = &rows[i].b;
		if (rows[i].e.kind == SIG_ASN && rows[i].e.asn == 64497)
			as97 = &rows[i].b;
	}
	assert_non_null(de);
	assert_int_equal(de->slash24, 65536);
	assert_non_null(as97);
	assert_int_equal(as97->slash24, 1);
	assert_int_equal(as97->more_specifics, 1);
	/* no IPv4 row carries IPv6 numbers */
	assert_int_equal(row_of(900, SIG_GLOBAL, NULL, 0)->visible_prefixes, 0);
	sig_free(s);
	rib_free(r);
}

/* ADD-PATH: one peer with two paths of different origins counts for both; dropping one path
 * keeps the prefix (and the other origin) visible. */
static void test_addpath_origins(void **st)
{
	(void)st;
	struct rib *r;
	struct sig *s = new_sig(&r, "1");
	struct attrs_buf ab;
	struct dm_elem e;
	memset(&e, 0, sizeof e);
	peer_ip[0].afi = DM_AFI_IPV4;
	peer_ip[0].b[0] = 192;
	peer_ip[0].b[3] = 1;
	e.peer_ip = &peer_ip[0];
	e.peer_asn = 64500;
	e.has_path_id = 1;
	assert_int_equal(dm_prefix_parse("175.45.176.0/24", &e.prefix), 0);
	e.type = 'R';
	e.ts = 1000;
	e.path_id = 1;
	e.attrs = path_to(&ab, 64500, 131279);
	sig_elem(s, 0, &e);
	struct attrs_buf ab2;
	e.path_id = 2;
	e.attrs = path_to(&ab2, 64500, 4837);
	sig_elem(s, 0, &e);
	sig_time(s, 1000);
	sig_start(s);
	struct sig_entity k1 = { .kind = SIG_ASN, .afi = DM_AFI_IPV4, .asn = 131279 };
	struct sig_entity k2 = { .kind = SIG_ASN, .afi = DM_AFI_IPV4, .asn = 4837 };
	struct sig_entity kp = { .kind = SIG_COUNTRY, .afi = DM_AFI_IPV4, .cc = "KP" };
	struct sig_bin b;
	assert_int_equal(sig_entity_now(s, &k1, &b), 0);
	assert_int_equal(b.slash24, 1);
	assert_int_equal(sig_entity_now(s, &k2, &b), 0);
	assert_int_equal(b.slash24, 1);
	e.type = 'W';
	e.ts = 1010;
	e.path_id = 1;
	e.attrs = NULL;
	sig_time(s, 1010);
	sig_elem(s, 0, &e);
	assert_int_equal(sig_entity_now(s, &k1, &b), 0);
	assert_int_equal(b.slash24, 0);
	assert_int_equal(b.withdrawals, 1);
	assert_int_equal(sig_entity_now(s, &k2, &b), 0);
	assert_int_equal(b.slash24, 1);
	assert_int_equal(sig_entity_now(s, &kp, &b), 0);
	assert_int_equal(b.slash24, 1);
	assert_int_equal(b.peers_seeing, 1);
	assert_int_equal(b.interruptions, 0);
	sig_free(s);
	rib_free(r);
}

/* A full-feed peer's session goes down at T+10 (T = 2014-12-15 13:00, a multiple of 900) and
 * never comes back: the bin of the drop and every bin while fewer full-feed peers than a bin
 * close of the last hour had (the close of the bin before T, stamped T - bin) are flagged:
 * bins T .. T+3600-bin, i.e. [T, T+3600) at 60, 300 and 900 s alike (60, 12, 4 bins). */
static void drop_at_bin(uint32_t bin)
{
	const uint32_t T = 1418648400;
	struct sig_opts o;
	sig_opts_default(&o);
	o.bin = bin;
	struct rib *r = rib_new();
	struct sig *s = sig_new(r, fake_geo, NULL, &o);
	nrows = 0;
	sig_set_emit(s, capture, NULL);
	for (int p = 0; p < 3; p++)
		filler(s, T - 1800, p, 10);
	sig_start(s);
	state(s, T + 10, 2, 6, 1);
	for (uint32_t t = T - 1800 + 30; t < T + 7200; t += 60)
		feed(s, 'A', t, 0, "20.0.0.0/24", 65000);
	sig_finish(s);
	uint32_t n = 0, lo = UINT32_MAX, hi = 0;
	for (int i = 0; i < nrows; i++) {
		const struct row *w = &rows[i];
		if (w->e.kind != SIG_GLOBAL || w->e.afi != DM_AFI_IPV4 || !(w->b.quality & SIG_Q_PEERS_DROPPED))
			continue;
		n++;
		lo = w->b.t < lo ? w->b.t : lo;
		hi = w->b.t > hi ? w->b.t : hi;
		assert_int_equal(w->b.full_feed_peers, 2);
	}
	assert_int_equal(n, 3600 / bin);
	assert_int_equal(lo, T);
	assert_int_equal(hi + bin, T + 3600);
	sig_free(s);
	rib_free(r);
}

/* ---- every country share of a prefix, through the real geo code ---- */

/* A hand-built delegated file: 10.20.0.0/16 over 10 countries, in /24s DE 128, FR 64, IT 32,
 * ES 16, NL 8, BE 4, LU 1, AT 1, CH 1, DK 1 (= 256); and the 47 lines of
 * delegated-apnic-20140701 inside 202.58.0.0/16, which by country add up to (awk over them,
 * /24s) AU 55, CN 1, HK 8, ID 77, IN 14, JP 42, KH 4, MY 16, PG 4, PH 3, SG 8, TH 2, VN 1;
 * the 21 /24s no line covers are ZZ. A cap of 8 shares dropped LU and DK (the smallest, last
 * by code), and KH with 7 others in 202.58.0.0/16. */
static const char rir_many[] =
	"2|apnic|20140701|57|19830613|20140630|+1000\n"
	"apnic|DE|ipv4|10.20.0.0|32768|20140101|allocated\n"
	"apnic|FR|ipv4|10.20.128.0|16384|20140101|allocated\n"
	"apnic|IT|ipv4|10.20.192.0|8192|20140101|allocated\n"
	"apnic|ES|ipv4|10.20.224.0|4096|20140101|allocated\n"
	"apnic|NL|ipv4|10.20.240.0|2048|20140101|allocated\n"
	"apnic|BE|ipv4|10.20.248.0|1024|20140101|allocated\n"
	"apnic|LU|ipv4|10.20.252.0|256|20140101|allocated\n"
	"apnic|AT|ipv4|10.20.253.0|256|20140101|allocated\n"
	"apnic|CH|ipv4|10.20.254.0|256|20140101|allocated\n"
	"apnic|DK|ipv4|10.20.255.0|256|20140101|allocated\n"
	"apnic|AT|ipv4|10.30.0.0|128|20140101|assigned\n"
	"apnic|DE|ipv4|10.30.0.128|640|20140101|assigned\n"
	"apnic|FR|ipv4|10.30.3.0|256|20140101|assigned\n"
	"apnic|CN|ipv4|202.58.0.0|256|20110414|allocated\n"
	"apnic|JP|ipv4|202.58.1.0|256|20041028|assigned\n"
	"apnic|PH|ipv4|202.58.2.0|256|20050316|assigned\n"
	"apnic|AU|ipv4|202.58.3.0|256|20050419|assigned\n"
	"apnic|JP|ipv4|202.58.4.0|1024|20050408|assigned\n"
	"apnic|SG|ipv4|202.58.8.0|2048|20041015|allocated\n"
	"apnic|JP|ipv4|202.58.16.0|4096|20040421|allocated\n"
	"apnic|AU|ipv4|202.58.32.0|8192|19991019|allocated\n"
	"apnic|ID|ipv4|202.58.64.0|4096|20011002|allocated\n"
	"apnic|MY|ipv4|202.58.80.0|4096|20040211|allocated\n"
	"apnic|KH|ipv4|202.58.96.0|1024|20090227|allocated\n"
	"apnic|AU|ipv4|202.58.100.0|256|20090227|assigned\n"
	"apnic|AU|ipv4|202.58.101.0|256|20090309|assigned\n"
	"apnic|IN|ipv4|202.58.102.0|512|20090304|assigned\n"
	"apnic|JP|ipv4|202.58.116.0|1024|20090318|allocated\n"
	"apnic|IN|ipv4|202.58.120.0|1024|20090319|allocated\n"
	"apnic|ID|ipv4|202.58.124.0|256|20090319|assigned\n"
	"apnic|IN|ipv4|202.58.125.0|256|20090323|assigned\n"
	"apnic|TH|ipv4|202.58.126.0|256|20090324|assigned\n"
	"apnic|PG|ipv4|202.58.128.0|1024|20070528|allocated\n"
	"apnic|IN|ipv4|202.58.132.0|1024|20050503|assigned\n"
	"apnic|AU|ipv4|202.58.136.0|2048|20041015|allocated\n"
	"apnic|JP|ipv4|202.58.144.0|4096|20040518|allocated\n"
	"apnic|ID|ipv4|202.58.160.0|4096|20060220|allocated\n"
	"apnic|ID|ipv4|202.58.176.0|2048|20060220|allocated\n"
	"apnic|HK|ipv4|202.58.184.0|2048|20060222|allocated\n"
	"apnic|ID|ipv4|202.58.192.0|4096|20000824|allocated\n"
	"apnic|ID|ipv4|202.58.208.0|4096|20020305|allocated\n"
	"apnic|AU|ipv4|202.58.224.0|256|20100108|assigned\n"
	"apnic|AU|ipv4|202.58.225.0|256|20100108|assigned\n"
	"apnic|AU|ipv4|202.58.226.0|256|20100111|assigned\n"
	"apnic|AU|ipv4|202.58.227.0|256|20100112|assigned\n"
	"apnic|IN|ipv4|202.58.228.0|256|20100113|assigned\n"
	"apnic|AU|ipv4|202.58.229.0|256|20100115|assigned\n"
	"apnic|AU|ipv4|202.58.230.0|512|20100113|assigned\n"
	"apnic|IN|ipv4|202.58.232.0|256|20100118|assigned\n"
	"apnic|IN|ipv4|202.58.233.0|256|20100118|assigned\n"
	"apnic|JP|ipv4|202.58.234.0|256|20100125|assigned\n"
	"apnic|AU|ipv4|202.58.235.0|256|20100127|assigned\n"
	"apnic|PH|ipv4|202.58.236.0|512|20100201|assigned\n"
	"apnic|ID|ipv4|202.58.238.0|512|20100203|assigned\n"
	"apnic|AU|ipv4|202.58.240.0|512|20091015|assigned\n"
	"apnic|ID|ipv4|202.58.242.0|512|20091021|assigned\n"
	"apnic|TH|ipv4|202.58.244.0|256|20091023|assigned\n"
	"apnic|VN|ipv4|202.58.245.0|256|20091028|assigned\n"
	"apnic|AU|ipv4|202.58.246.0|256|20091028|assigned\n"
	"apnic|AU|ipv4|202.58.247.0|256|20091028|assigned\n"
;

static int db_geo(void *arg, const struct dm_prefix *p, struct geo_share *out, int max)
{
	return geo_prefix_countries(arg, p, out, max);
}

static uint64_t cc_s24(const char *cc)
{
	const struct sig_bin *b = row_of_last(SIG_COUNTRY, cc);
	return b ? b->slash24 : 0;
}

struct cc_want {
	const char *cc;
	uint64_t s24;
};

static void check_countries(const struct cc_want *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (cc_s24(w[i].cc) != w[i].s24)
			fail_msg("%s: %llu /24s, want %llu", w[i].cc, (unsigned long long)cc_s24(w[i].cc),
			         (unsigned long long)w[i].s24);
	}
}

/* Sum of the country rows of the last bin. */
static uint64_t countries_sum(void)
{
	uint32_t t = rows[nrows - 1].b.t;
	uint64_t sum = 0;
	for (int i = 0; i < nrows; i++)
		if (rows[i].b.t == t && rows[i].e.kind == SIG_COUNTRY && rows[i].e.afi == DM_AFI_IPV4)
			sum += rows[i].b.slash24;
	return sum;
}

static struct geo_db *rir_many_db(void)
{
	char path[] = "/tmp/test_signal_rir.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, rir_many, sizeof rir_many - 1), (ssize_t)(sizeof rir_many - 1));
	close(fd);
	struct geo_db *g = geo_db_new();
	struct dm_error err;
	memset(&err, 0, sizeof err);
	assert_int_equal(geo_load_rir(g, path, &err), 0);
	unlink(path);
	return g;
}

static struct sig *geo_sig(struct rib **r, struct geo_db *g)
{
	struct sig_opts o;
	sig_opts_default(&o);
	*r = rib_new();
	struct sig *s = sig_new(*r, db_geo, g, &o);
	assert_non_null(s);
	nrows = 0;
	sig_set_emit(s, capture, NULL);
	return s;
}

static void test_every_country_share(void **st)
{
	(void)st;
	struct geo_db *g = rir_many_db();
	struct rib *r;
	struct sig *s = geo_sig(&r, g);
	for (int p = 0; p < 3; p++) {
		feed(s, 'R', 1000, p, "10.20.0.0/16", 100);
		feed(s, 'R', 1000, p, "202.58.0.0/16", 200);
		feed(s, 'R', 1000, p, "202.58.96.0/22", 300);   /* KH's block, inside the /16 */
	}
	sig_start(s);
	sig_time(s, 1300);   /* closes the bin of 900 */
	static const struct cc_want all[] = {
		{ "DE", 128 }, { "FR", 64 }, { "IT", 32 }, { "ES", 16 }, { "NL", 8 }, { "BE", 4 },
		{ "LU", 1 }, { "AT", 1 }, { "CH", 1 }, { "DK", 1 },
		{ "AU", 55 }, { "CN", 1 }, { "HK", 8 }, { "ID", 77 }, { "IN", 14 }, { "JP", 42 },
		{ "KH", 4 }, { "MY", 16 }, { "PG", 4 }, { "PH", 3 }, { "SG", 8 }, { "TH", 2 },
		{ "VN", 1 }, { "ZZ", 21 },
	};
	check_countries(all, sizeof all / sizeof all[0]);
	/* the /16s count in every country they touch; the /22 only in KH */
	assert_int_equal(row_of_last(SIG_COUNTRY, "DK")->visible_prefixes, 1);
	assert_int_equal(row_of_last(SIG_COUNTRY, "KH")->visible_prefixes, 2);
	const struct sig_bin *w = row_of(900, SIG_GLOBAL, NULL, 0);
	assert_non_null(w);
	assert_int_equal(w->slash24, 512);
	assert_int_equal(countries_sum(), 512);

	/* The aggregate withdrawn by every peer (incremental path): KH keeps its /22, the other
	 * countries of 202.58.0.0/16 fall to 0; back when re-announced. */
	for (int p = 0; p < 3; p++)
		feed(s, 'W', 1300, p, "202.58.0.0/16", 0);
	sig_time(s, 1600);   /* closes 1200 */
	assert_int_equal(row_of(1200, SIG_GLOBAL, NULL, 0)->slash24, 256 + 4);
	static const struct cc_want down[] = {
		{ "KH", 4 }, { "AU", 0 }, { "ID", 0 }, { "VN", 0 }, { "ZZ", 0 }, { "DK", 1 }, { "LU", 1 },
	};
	check_countries(down, sizeof down / sizeof down[0]);
	assert_int_equal(countries_sum(), 260);
	for (int p = 0; p < 3; p++)
		feed(s, 'A', 1600, p, "202.58.0.0/16", 200);
	sig_time(s, 1900);   /* closes 1500 */
	check_countries(all, sizeof all / sizeof all[0]);
	assert_int_equal(countries_sum(), 512);
	sig_free(s);
	rib_free(r);
	geo_db_free(g);
}

/* A /24 shared by countries counts once, for one of them: 10.30.0.0/22 (4 /24s) is AT 128
 * addresses (0.5 /24), DE 640 (2.5), FR 256 (1). Whole /24s first: DE 2, FR 1; the one left
 * goes to the largest remainder, AT 128 and DE 128 tie, the larger share wins: AT 0, DE 3,
 * FR 1 = 4. (Rounding each country on its own gave AT 1, DE 3, FR 1 = 5: 10.30.0.0/24 twice.) */
static void test_shared_slash24_counted_once(void **st)
{
	(void)st;
	struct geo_db *g = rir_many_db();
	struct rib *r;
	struct sig *s = geo_sig(&r, g);
	for (int p = 0; p < 3; p++)
		feed(s, 'R', 1000, p, "10.30.0.0/22", 100);
	sig_start(s);
	sig_finish(s);
	static const struct cc_want want[] = { { "AT", 0 }, { "DE", 3 }, { "FR", 1 } };
	check_countries(want, 3);
	assert_non_null(row_of_last(SIG_COUNTRY, "AT"));
	assert_int_equal(row_of_last(SIG_COUNTRY, "AT")->visible_prefixes, 1);   /* touched: counted */
	assert_int_equal(countries_sum(), 4);
	assert_int_equal(row_of(900, SIG_GLOBAL, NULL, 0)->slash24, 4);
	sig_free(s);
	rib_free(r);
	geo_db_free(g);
}

/* 256 countries of 256 /24s each in 30.0.0.0/8 (codes AA, AB, ... JV), largest first as the
 * geo contract says, cut to max: more than one byte of shares, asked again until complete. */
static int geo_256(void *arg, const struct dm_prefix *p, struct geo_share *out, int max)
{
	(void)arg;
	if (p->afi != DM_AFI_IPV4 || p->b[0] != 30 || p->len != 8)
		return 0;
	int n = max < 256 ? max : 256;
	for (int j = 0; j < n; j++) {
		out[j].cc[0] = (char)('A' + j / 26);
		out[j].cc[1] = (char)('A' + j % 26);
		out[j].cc[2] = 0;
		out[j].addrs = 65536;
	}
	return n;
}

static void test_256_shares(void **st)
{
	(void)st;
	struct sig_opts o;
	sig_opts_default(&o);
	struct rib *r = rib_new();
	struct sig *s = sig_new(r, geo_256, NULL, &o);
	nrows = 0;
	sig_set_emit(s, capture, NULL);
	feed(s, 'R', 1000, 0, "30.0.0.0/8", 100);
	sig_start(s);
	sig_finish(s);
	char cc[3] = "AA";
	for (int j = 0; j < 256; j++) {
		cc[0] = (char)('A' + j / 26);
		cc[1] = (char)('A' + j % 26);
		const struct sig_bin *b = row_of_last(SIG_COUNTRY, cc);
		assert_non_null(b);
		assert_int_equal(b->slash24, 256);
		assert_int_equal(b->visible_prefixes, 1);
	}
	assert_int_equal(countries_sum(), 65536);
	assert_int_equal(row_of(900, SIG_GLOBAL, NULL, 0)->slash24, 65536);
	sig_free(s);
	rib_free(r);
}

/* ---- the quick IPv4 answer (sig_set_geo4) ---- */

/* fake_geo's one-country answers for ranges inside one /16 (the rest: 0, ask fake_geo). */
static unsigned geo_asked, geo4_asked;
static int counting_geo(void *arg, const struct dm_prefix *p, struct geo_share *out, int max)
{
	geo_asked++;
	return fake_geo(arg, p, out, max);
}

static uint16_t fake_geo4(void *arg, uint32_t lo, uint32_t hi)
{
	(void)arg;
	geo4_asked++;
	if (lo >> 16 != hi >> 16)
		return 0;
	if (lo >> 16 == 0x0a00)
		return (lo & 0x8000) == (hi & 0x8000) ? (uint16_t)((lo & 0x8000) ? 'B' << 8 | 'B' : 'A' << 8 | 'A') : 0;
	if ((lo & 0xfffffc00u) == 0xaf2db000u)
		return (hi & 0xfffffc00u) == 0xaf2db000u ? (uint16_t)('K' << 8 | 'P') : 0;
	return (uint16_t)('U' << 8 | 'S');
}

/* A run's end: the last bins closed, its rows copied out, the signal and the RIB freed. */
static void geo_run_end(struct sig *s, struct rib *r, struct row *out, int *nout)
{
	sig_finish(s);
	memcpy(out, rows, (size_t)nrows * sizeof *rows);
	*nout = nrows;
	sig_free(s);
	rib_free(r);
}

static void geo4_run(int quick, struct row *out, int *nout)
{
	struct sig_opts o;
	sig_opts_default(&o);
	assert_int_equal(sig_parse_ff_rule("1", &o), 0);
	struct rib *r = rib_new();
	struct sig *s = sig_new(r, counting_geo, NULL, &o);
	if (quick)
		sig_set_geo4(s, fake_geo4, NULL);
	nrows = 0;
	sig_set_emit(s, capture, NULL);
	geo_asked = geo4_asked = 0;
	static const char *const table[] = { "10.0.0.0/16", "10.0.1.0/24", "10.0.200.0/24", "10.0.127.0/24",
		                             "175.45.176.0/22", "175.45.177.0/24", "8.8.8.0/24", "2001:db8::/32" };
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		feed(s, 'R', 1000, 0, table[i], 100 + (uint32_t)i);
	sig_start(s);
	feed(s, 'W', 1100, 0, "10.0.1.0/24", 0);
	feed(s, 'A', 1200, 0, "10.0.129.0/24", 200);   /* new: BB */
	feed(s, 'A', 1300, 0, "175.45.176.0/23", 201); /* new: KP */
	feed(s, 'W', 1400, 0, "8.8.8.0/24", 0);
	geo_run_end(s, r, out, nout);
}

/* The same rows with the quick answer as without it; the geo function asked only where it
 * gives no answer (10.0.0.0/16: two countries; IPv6, which it is not asked for). */
static void test_geo4_same_rows(void **st)
{
	(void)st;
	static struct row slow[4096], quick[4096];
	int nslow, nquick;
	geo4_run(0, slow, &nslow);
	assert_int_equal(geo_asked, 10);   /* 8 prefixes of the table, 2 new ones */
	assert_int_equal(geo4_asked, 0);
	geo4_run(1, quick, &nquick);
	assert_int_equal(geo4_asked, 9);   /* every IPv4 prefix, once */
	assert_int_equal(geo_asked, 2);
	assert_int_equal(nquick, nslow);
	assert_true(nslow > 8);
	for (int i = 0; i < nslow; i++) {
		assert_memory_equal(&quick[i].e, &slow[i].e, sizeof slow[i].e);
		assert_memory_equal(&quick[i].b, &slow[i].b, sizeof slow[i].b);
	}
	/* the rows say what fake_geo says: BB's announcement, KP's two prefixes */
	memcpy(rows, quick, (size_t)nquick * sizeof *rows);
	nrows = nquick;
	const struct sig_bin *bb = row_of(1200, SIG_COUNTRY, "BB", 0);
	assert_non_null(bb);
	assert_int_equal(bb->announcements, 1);
	assert_int_equal(row_of_last(SIG_COUNTRY, "KP")->visible_prefixes, 3);
}

/* the batch answer as fake_geo4 for each range */
static void fake_geo4_batch(void *arg, const uint32_t *lo, const uint32_t *hi, uint16_t *cc, size_t n)
{
	for (size_t k = 0; k < n; k++)
		cc[k] = fake_geo4(arg, lo[k], hi[k]);
}

/* Events of prefixes whose countries are not made yet (a table before its peer is a full-feed
 * one: no visibility asks for them) wait for them and count in their own bin: counted by hand
 * from fake_geo, the same with the quick answers in a batch, one by one, and without them. */
static void waits_run(int quick, struct row *out, int *nout, struct sig_part *mid)
{
	struct sig_opts o;
	sig_opts_default(&o);
	assert_int_equal(sig_parse_ff_rule("4", &o), 0);   /* a table of 4 prefixes is a full feed */
	o.bin = 300;
	struct rib *r = rib_new();
	struct sig *s = sig_new(r, counting_geo, NULL, &o);
	if (quick)
		sig_set_geo4(s, fake_geo4, quick == 2 ? fake_geo4_batch : NULL);
	nrows = 0;
	sig_set_emit(s, capture, NULL);
	sig_start(s);   /* no RIB: the table comes as updates */
	feed(s, 'A', 900, 0, "10.0.0.0/16", 100);       /* AA and BB */
	feed(s, 'A', 910, 0, "175.45.176.0/22", 101);   /* KP */
	feed(s, 'W', 920, 0, "175.45.176.0/22", 0);
	feed(s, 'A', 930, 0, "8.8.8.0/24", 102);        /* US */
	feed(s, 'A', 940, 0, "10.0.0.0/16", 103);       /* AA and BB again: an implicit withdrawal */
	struct sig_entity kp = { .kind = SIG_COUNTRY, .afi = DM_AFI_IPV4, .cc = "KP" };
	uint32_t pe_n[4];
	uint64_t pe_units[4];
	assert_int_equal(sig_entity_part(s, &kp, mid, pe_n, pe_units, 4), 0);   /* read mid-bin */
	feed(s, 'A', 1210, 0, "175.45.176.0/22", 104);  /* KP: its countries known */
	feed(s, 'A', 1220, 0, "1.2.3.0/24", 105);       /* US, new: waits */
	feed(s, 'A', 1230, 0, "10.0.129.0/24", 106);    /* BB: the table reaches 4, a full feed at the close */
	feed(s, 'W', 1530, 0, "8.8.8.0/24", 0);         /* seen by the full-feed peer: counted at once */
	geo_run_end(s, r, out, nout);
}

static void test_geo_waits(void **st)
{
	(void)st;
	static struct row runs[3][4096];
	int n[3];
	struct sig_part mid[3];
	for (int q = 0; q < 3; q++)
		waits_run(q, runs[q], &n[q], &mid[q]);
	for (int q = 1; q < 3; q++) {
		assert_int_equal(n[q], n[0]);
		for (int i = 0; i < n[0]; i++) {
			assert_memory_equal(&runs[q][i].e, &runs[0][i].e, sizeof runs[0][i].e);
			assert_memory_equal(&runs[q][i].b, &runs[0][i].b, sizeof runs[0][i].b);
		}
		assert_memory_equal(&mid[q], &mid[0], sizeof mid[0]);
	}
	assert_int_equal(mid[0].ann, 1);   /* KP's announcement and withdrawal, read mid-bin */
	assert_int_equal(mid[0].wd, 1);
	memcpy(rows, runs[0], (size_t)n[0] * sizeof *rows);
	nrows = n[0];
	static const struct { int64_t t; const char *cc; uint32_t ann, wd; } want[] = {
		{ 900, "AA", 2, 0 }, { 900, "BB", 2, 0 }, { 900, "KP", 1, 1 }, { 900, "US", 1, 0 },
		{ 1200, "KP", 1, 0 }, { 1200, "US", 1, 0 }, { 1200, "BB", 1, 0 }, { 1200, "AA", 0, 0 },
		{ 1500, "US", 0, 1 },
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const struct sig_bin *b = row_of(want[i].t, SIG_COUNTRY, want[i].cc, 0);
		assert_non_null(b);
		assert_int_equal(b->announcements, want[i].ann);
		assert_int_equal(b->withdrawals, want[i].wd);
	}
	assert_int_equal(row_of(1500, SIG_COUNTRY, "US", 0)->visible_prefixes, 1);   /* 1.2.3.0/24 */
}

/* A table's settle (more prefixes wait than the list holds: signal.c settle_scan), by chunks,
 * on two threads or one, over the striped geography of tests/stripe_geo.h; every thousandth
 * prefix has an IPv6 /48 beside it. */
enum { TABLE_N = 80000 };   /* with the seventh left out of the RIB, still over GEO_MAKE_MIN */

/* mode 0: one thread (DARKMAP_SYNC_THREAD=0), 1: the helper forced, 2: no batch answer;
 * rib: the table as RIB entries (no events: the prefixes whose withdrawal the updates carry are
 * left out), its countries made at the first recompute (signal.c recompute, settle_scan all) */
static void table_run(int mode, int rib, struct row *out, int *nout)
{
	setenv("DARKMAP_SYNC_THREAD", mode == 1 ? "1" : "0", 1);
	struct sig_opts o;
	sig_opts_default(&o);
	assert_int_equal(sig_parse_ff_rule("60000", &o), 0);
	o.bin = 300;
	struct rib *r = rib_new();
	struct sig *s = sig_new(r, stripe_geo, NULL, &o);
	sig_set_geo4(s, stripe_geo4, mode == 2 ? NULL : stripe_geo4_batch);
	nrows = 0;
	sig_set_emit(s, capture, NULL);
	if (!rib)
		sig_start(s);
	struct attrs_buf ab;
	struct dm_elem e;
	for (uint32_t i = 0; i < TABLE_N; i++) {
		if (rib && i % 7 == 3)
			continue;
		peer_elem(&e, rib ? 'R' : 'A', 900 + i / 1000, 0, peer_ip);
		stripe_table_prefix(i, &e.prefix);
		e.attrs = path_to(&ab, e.peer_asn, 65000 + i % 8);
		sig_time(s, e.ts);
		sig_elem(s, 0, &e);
		if (!rib && i % 7 == 3) {   /* withdrawn in the same bin: its events wait too */
			e.type = 'W';
			e.attrs = NULL;
			sig_elem(s, 0, &e);
		}
		if (i % 1000 == 999) {
			peer_elem(&e, rib ? 'R' : 'A', 900 + i / 1000, 0, peer_ip);
			assert_int_equal(dm_prefix_parse("2001:db8::/48", &e.prefix), 0);
			e.prefix.b[4] = (uint8_t)(i / 1000);
			e.attrs = path_to(&ab, e.peer_asn, 65100);
			sig_elem(s, 0, &e);
		}
	}
	if (rib)
		sig_start(s);
	feed(s, 'A', 1210, 0, "12.0.0.0/24", 65000);   /* a bin later: the first is closed */
	geo_run_end(s, r, out, nout);
	unsetenv("DARKMAP_SYNC_THREAD");
}

static void table_runs(int rib, struct row runs[3][4096], int n[3])
{
	for (int m = 0; m < 3; m++)
		table_run(m, rib, runs[m], &n[m]);
	for (int m = 1; m < 3; m++) {
		assert_int_equal(n[m], n[0]);
		for (int i = 0; i < n[0]; i++) {
			assert_memory_equal(&runs[m][i].e, &runs[0][i].e, sizeof runs[0][i].e);
			assert_memory_equal(&runs[m][i].b, &runs[0][i].b, sizeof runs[0][i].b);
		}
	}
}

static void test_geo_waits_table(void **st)
{
	(void)st;
	static struct row runs[3][4096], ribruns[3][4096];
	int n[3], nrib[3];
	table_runs(0, runs, n);
	table_runs(1, ribruns, nrib);
	/* by hand (stripe_counts): each prefix's announcement (and withdrawal) counts for every
	 * stripe it touches; visible at the close: the prefixes not withdrawn */
	uint32_t ann[4], wd[4], vis[4];
	stripe_counts(TABLE_N, ann, wd, vis);
	memcpy(rows, runs[0], (size_t)n[0] * sizeof *rows);
	nrows = n[0];
	for (int c = 0; c < 4; c++) {
		const struct sig_bin *b = row_of(900, SIG_COUNTRY, STRIPE[c], 0);
		assert_non_null(b);
		assert_int_equal(b->announcements, ann[c]);
		assert_int_equal(b->withdrawals, wd[c]);
		assert_int_equal(b->visible_prefixes, vis[c]);
	}
	assert_int_equal(ann[0] + ann[1] + ann[2] + ann[3], TABLE_N + TABLE_N / 10);   /* the /19s twice */
	/* the same table from a RIB: the first bin's visible prefixes, no events */
	memcpy(rows, ribruns[0], (size_t)nrib[0] * sizeof *rows);
	nrows = nrib[0];
	for (int c = 0; c < 4; c++) {
		const struct sig_bin *b = row_of(900, SIG_COUNTRY, STRIPE[c], 0);
		assert_non_null(b);
		assert_int_equal(b->announcements, 0);
		assert_int_equal(b->visible_prefixes, vis[c]);
	}
}

static void test_peers_dropped_duration(void **st)
{
	(void)st;
	drop_at_bin(60);
	drop_at_bin(300);
	drop_at_bin(900);
}

/* ---- full-feed hysteresis, no RIB, the change log ---- */

/* Prefix i of a bulk table: the /24 11.0.0.0 + i x 256 (US in the fake geography). */
static void bulk(struct sig *s, char type, uint32_t ts, int peer, uint32_t from, uint32_t to)
{
	struct attrs_buf ab;
	struct dm_elem e;
	memset(&e, 0, sizeof e);
	e.type = type;
	e.ts = ts;
	peer_ip[peer].afi = DM_AFI_IPV4;
	peer_ip[peer].b[0] = 192;
	peer_ip[peer].b[3] = (uint8_t)(peer + 1);
	e.peer_ip = &peer_ip[peer];
	e.peer_asn = 64500 + (uint32_t)peer;
	if (type != 'W')
		e.attrs = path_to(&ab, e.peer_asn, 65000);
	e.prefix.afi = DM_AFI_IPV4;
	e.prefix.len = 24;
	sig_time(s, ts);
	for (uint32_t i = from; i < to; i++) {
		uint32_t a = 0x0b000000u + (i << 8);
		e.prefix.b[0] = (uint8_t)(a >> 24);
		e.prefix.b[1] = (uint8_t)(a >> 16);
		e.prefix.b[2] = (uint8_t)(a >> 8);
		sig_elem(s, 0, &e);
	}
}

/* Two peers with the same 400,000 prefixes: both full-feed (rule auto: abs, the largest table
 * reaches 400,000). Peer 1 then loses prefixes: at 399,999 (bin 1200) and at 360,000 (bin 1500)
 * it stays, the leave threshold being ceil(0.9 x 400,000) = 360,000; at 359,999 (bin 1800) it
 * leaves: that bin is flagged FF_CHANGED (only: no peer went down) with 1 left, and the next
 * bins carry no flag (a leave by table size is no peer outage). Back at 399,999 (bin 2400) it
 * does not rejoin; at 400,000 (bin 2700) it does: FF_CHANGED with 1 joined. */
static void test_full_feed_hysteresis(void **st)
{
	(void)st;
	struct rib *r;
	struct sig *s = new_sig(&r, NULL);
	bulk(s, 'R', 1000, 0, 0, 400000);
	bulk(s, 'R', 1000, 1, 0, 400000);
	sig_start(s);
	struct sig_fam_info fi;
	sig_fam_info(s, 0, &fi);
	assert_string_equal(fi.rule, "abs");
	assert_int_equal(fi.threshold, 400000);
	assert_int_equal(fi.leave, 360000);
	assert_int_equal(fi.nff, 2);
	bulk(s, 'W', 1210, 1, 399999, 400000);          /* 399,999 */
	bulk(s, 'W', 1510, 1, 360000, 399999);          /* 360,000 */
	bulk(s, 'W', 1810, 1, 359999, 360000);          /* 359,999 */
	feed(s, 'A', 2110, 0, "20.0.0.0/24", 65000);
	bulk(s, 'A', 2410, 1, 359999, 399999);          /* 399,999 */
	bulk(s, 'A', 2710, 1, 399999, 400000);          /* 400,000 */
	feed(s, 'A', 3010, 0, "20.0.0.0/24", 65000);
	sig_finish(s);
	struct { uint32_t t; uint16_t ff; uint8_t q; uint16_t joined, left; } want[] = {
		{ 900, 2, 0, 0, 0 },    { 1200, 2, 0, 0, 0 }, { 1500, 2, 0, 0, 0 },
		{ 1800, 1, SIG_Q_FF_CHANGED, 0, 1 }, { 2100, 1, 0, 0, 0 }, { 2400, 1, 0, 0, 0 },
		{ 2700, 2, SIG_Q_FF_CHANGED, 1, 0 }, { 3000, 2, 0, 0, 0 },
	};
	for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
		const struct sig_bin *b = row_of(want[k].t, SIG_GLOBAL, NULL, 0);
		assert_non_null(b);
		assert_int_equal(b->full_feed_peers, want[k].ff);
		assert_int_equal(b->quality, want[k].q);
		assert_int_equal(b->ff_joined, want[k].joined);
		assert_int_equal(b->ff_left, want[k].left);
		/* peer 0 holds every prefix and need is 1 with one or two peers: nothing lost */
		assert_int_equal(b->visible_prefixes, 400000 + (want[k].t >= 2100));
		assert_int_equal(b->interruptions, 0);
	}
	sig_free(s);
	rib_free(r);
}

/* No element before sig_start (no RIB): "auto" is the abs rule only, so peers with partial
 * tables (100 prefixes each, from updates) are no full-feed peers and every bin is no-data
 * (exactly that flag), nothing visible; under "auto" with a RIB of the same tables, rel would
 * have made all three full-feed. A peer whose table reaches the abs threshold (lowered here to
 * 150) joins at the next bin close: FF_CHANGED with 1 joined, data from then on. */
static void test_no_rib_no_data(void **st)
{
	(void)st;
	struct sig_opts o;
	sig_opts_default(&o);
	o.ff_abs[0] = 150;
	struct rib *r = rib_new();
	struct sig *s = sig_new(r, fake_geo, NULL, &o);
	nrows = 0;
	sig_set_emit(s, capture, NULL);
	sig_time(s, 1000);
	sig_start(s);
	assert_int_equal(sig_no_rib(s), 1);
	for (int p = 0; p < 3; p++)
		bulk(s, 'A', 1010 + (uint32_t)p, p, 0, 100);
	feed(s, 'A', 1210, 0, "20.0.0.0/24", 65000);
	bulk(s, 'A', 1510, 0, 100, 150);                /* peer 0: 150 prefixes */
	feed(s, 'A', 1810, 1, "20.0.0.0/24", 65000);
	sig_finish(s);
	for (uint32_t t = 900; t <= 1200; t += 300) {
		const struct sig_bin *b = row_of(t, SIG_GLOBAL, NULL, 0);
		assert_non_null(b);
		assert_int_equal(b->quality, SIG_Q_NO_DATA);
		assert_int_equal(b->full_feed_peers, 0);
		assert_int_equal(b->visible_prefixes, 0);
		assert_int_equal(b->slash24, 0);
		const struct sig_bin *us = row_of(t, SIG_COUNTRY, "US", 0);
		assert_non_null(us);
		assert_int_equal(us->quality, SIG_Q_NO_DATA);
	}
	assert_int_equal(row_of(900, SIG_GLOBAL, NULL, 0)->announcements, 300);
	const struct sig_bin *b = row_of(1500, SIG_GLOBAL, NULL, 0);
	assert_non_null(b);
	assert_int_equal(b->quality, SIG_Q_FF_CHANGED);
	assert_int_equal(b->ff_joined, 1);
	assert_int_equal(b->full_feed_peers, 1);
	assert_int_equal(b->visible_prefixes, 151);     /* peer 0's 150 and 20.0.0.0/24 */
	assert_int_equal(row_of(1800, SIG_GLOBAL, NULL, 0)->quality, 0);
	struct sig_fam_info fi;
	sig_fam_info(s, 0, &fi);
	assert_string_equal(fi.rule, "abs");
	sig_free(s);
	rib_free(r);

	/* the same tables loaded before sig_start (a RIB): rel, threshold ceil(0.8 x 100) = 80;
	 * IPv6, absent from that RIB and arriving in updates only, stays abs: no full-feed peer */
	s = new_sig(&r, NULL);
	for (int p = 0; p < 3; p++)
		bulk(s, 'R', 1000, p, 0, 100);
	sig_start(s);
	assert_int_equal(sig_no_rib(s), 0);
	for (int p = 0; p < 3; p++)
		feed6(s, 'A', 1010, p, "2001:db8::/32", 64496);
	sig_finish(s);
	sig_fam_info(s, 0, &fi);
	assert_string_equal(fi.rule, "rel");
	assert_int_equal(fi.nff, 3);
	sig_fam_info(s, 1, &fi);
	assert_string_equal(fi.rule, "abs");
	assert_int_equal(fi.largest, 1);
	assert_int_equal(fi.nff, 0);
	sig_free(s);
	rib_free(r);
}


static void feed_path(struct sig *s, char type, uint32_t ts, int peer, const char *pfx, const uint32_t *asn, int n)
{
	struct attrs_buf ab;
	struct dm_elem e;
	peer_elem(&e, type, ts, peer, peer_ip);
	assert_int_equal(dm_prefix_parse(pfx, &e.prefix), 0);
	if (type != 'W')
		e.attrs = path_n(&ab, asn, n);
	sig_time(s, ts);
	sig_elem(s, 0, &e);
}

static struct sig_change changes[64];
static int nchanges;

static void capture_change(void *arg, const struct sig_change *c)
{
	(void)arg;
	if (nchanges < 64)
		changes[nchanges++] = *c;
}

/* KP's 175.45.176.0/22 (4 /24s) seen by the 3 full-feed peers (need 2) through
 *   peer 0: 64500 4837 131279      peer 1: 64501 3356 4837 131279 131279 (origin prepended)
 *   peer 2: 64502 9808 131279
 * Peer 2 withdraws at 1210 (2 of 3 left: still visible, no row); peer 1 at 1220: lost. The row:
 * t 1220, off, origin 131279, upstream 4837 (peer 1's path, the prepend skipped), 4 units,
 * cc KP, 2 full-feed peers held it just before, of 3, peer AS64501. Peer 0 withdraws at 1230
 * (already invisible: no row). Peer 2 announces at 1510 (1 of 3), peer 0 at 1520: visible
 * again, the row names peer 0's path: upstream 4837, peer AS64500, 1 peer before.
 * 10.0.1.0/24 under the visible 10.0.0.0/16 (AA/BB half and half; 10.0.1.0/24 is AA) is
 * withdrawn by peers 0 and 1 at 1530: lost, covered (no /24 changed), 1 unit, cc AA, origin
 * 100, upstream 64501 (a two-AS path: the peer itself). Then the /16 itself (peers 0 and 1 at
 * 1540): 256 units, cc AA (the first of two equal shares), countries "AA:128,BB:128".
 * Not rows: the RIB load; 175.45.178.0/24, held by peer 1 only (invisible), becoming visible
 * when peer 0's session goes down at 1810 (need falls to 1: a peer outage, recomputed). */
static void test_change_log(void **st)
{
	(void)st;
	struct rib *r;
	struct sig *s = three_peers(&r, 1000);
	nchanges = 0;
	sig_set_change_emit(s, capture_change, NULL);
	const uint32_t p0[] = { 64500, 4837, 131279 }, p1[] = { 64501, 3356, 4837, 131279, 131279 },
	               p2[] = { 64502, 9808, 131279 };
	feed_path(s, 'R', 1000, 0, "175.45.176.0/22", p0, 3);
	feed_path(s, 'R', 1000, 1, "175.45.176.0/22", p1, 5);
	feed_path(s, 'R', 1000, 2, "175.45.176.0/22", p2, 3);
	feed_path(s, 'R', 1000, 1, "175.45.178.0/24", p1, 5);
	for (int p = 0; p < 3; p++) {
		feed(s, 'R', 1000, p, "10.0.0.0/16", 100);
		feed(s, 'R', 1000, p, "10.0.1.0/24", 100);
	}
	sig_start(s);
	assert_int_equal(nchanges, 0);
	feed(s, 'W', 1210, 2, "175.45.176.0/22", 0);
	feed(s, 'W', 1220, 1, "175.45.176.0/22", 0);
	feed(s, 'W', 1230, 0, "175.45.176.0/22", 0);
	feed_path(s, 'A', 1510, 2, "175.45.176.0/22", p2, 3);
	feed_path(s, 'A', 1520, 0, "175.45.176.0/22", p0, 3);
	feed(s, 'W', 1530, 0, "10.0.1.0/24", 0);
	feed(s, 'W', 1530, 1, "10.0.1.0/24", 0);
	feed(s, 'W', 1540, 0, "10.0.0.0/16", 0);
	feed(s, 'W', 1540, 1, "10.0.0.0/16", 0);
	struct sig_entity kp = { .kind = SIG_COUNTRY, .afi = DM_AFI_IPV4, .cc = "KP" };
	struct sig_bin b;
	assert_int_equal(sig_entity_now(s, &kp, &b), 0);
	assert_int_equal(b.visible_prefixes, 1);
	state(s, 1810, 0, 6, 1);
	assert_int_equal(sig_entity_now(s, &kp, &b), 0);
	assert_int_equal(b.visible_prefixes, 2);      /* 175.45.178.0/24 visible by the recompute */
	sig_finish(s);
	assert_int_equal(nchanges, 4);
	char pfx[DM_PREFIX_STRLEN];
	const struct sig_change *c = &changes[0];
	dm_prefix_fmt(&c->prefix, pfx);
	assert_string_equal(pfx, "175.45.176.0/22");
	assert_int_equal(c->t, 1220);
	assert_int_equal(c->visible, 0);
	assert_int_equal(c->covered, 0);
	assert_int_equal(c->origin_asn, 131279);
	assert_int_equal(c->upstream_asn, 4837);
	assert_int_equal(c->units, 4);
	assert_string_equal(c->cc, "KP");
	assert_string_equal(c->countries, "KP:4");
	assert_int_equal(c->peers_before, 2);
	assert_int_equal(c->full_feed_peers, 3);
	assert_int_equal(c->peer_asn, 64501);
	assert_int_equal(c->peer_addr.b[3], 2);
	c = &changes[1];
	assert_int_equal(c->t, 1520);
	assert_int_equal(c->visible, 1);
	assert_int_equal(c->origin_asn, 131279);
	assert_int_equal(c->upstream_asn, 4837);
	assert_int_equal(c->units, 4);
	assert_int_equal(c->peers_before, 1);
	assert_int_equal(c->peer_asn, 64500);
	c = &changes[2];
	dm_prefix_fmt(&c->prefix, pfx);
	assert_string_equal(pfx, "10.0.1.0/24");
	assert_int_equal(c->t, 1530);
	assert_int_equal(c->visible, 0);
	assert_int_equal(c->covered, 1);
	assert_int_equal(c->units, 1);
	assert_string_equal(c->cc, "AA");
	assert_string_equal(c->countries, "AA:1");
	assert_int_equal(c->origin_asn, 100);
	assert_int_equal(c->upstream_asn, 64501);
	assert_int_equal(c->peers_before, 2);
	/* the /16 split half and half: cc the first of the equal shares, both in countries */
	c = &changes[3];
	dm_prefix_fmt(&c->prefix, pfx);
	assert_string_equal(pfx, "10.0.0.0/16");
	assert_int_equal(c->t, 1540);
	assert_int_equal(c->visible, 0);
	assert_int_equal(c->covered, 0);
	assert_int_equal(c->units, 256);
	assert_string_equal(c->cc, "AA");
	assert_string_equal(c->countries, "AA:128,BB:128");
	assert_int_equal(sig_change_country_units(c, "AA"), 128);
	assert_int_equal(sig_change_country_units(c, "BB"), 128);
	assert_int_equal(sig_change_country_units(c, "KP"), 0);
	assert_int_equal(sig_change_country_units(&changes[0], "KP"), 4);
	sig_free(s);
	rib_free(r);
}

/* Times are 64-bit through the signal (issue 9): records stamped 0xFFFFFFFF used to make the
 * bin end (cur + bin) wrap to 1970, so every record closed max_empty_bins empty bins again.
 * 0xFFFFFFF0 = 4294967280 and 0xFFFFFFFF = 4294967295 share the bin [4294967100, 4294967400)
 * (4294967280 mod 300 = 180); 4294967295 + 400 = 4294967695 is in the next bin but one
 * [4294967400 + 300 = 4294967700 > it]: bin 4294967400. So: 2 bins, never more. */
static void test_time_near_2_32(void **st)
{
	(void)st;
	struct rib *r;
	struct sig *s = three_peers(&r, 0xFFFFFFF0u);
	sig_start(s);
	for (int i = 0; i < 50; i++)
		feed(s, 'A', 0xFFFFFFFFu, i % 3, "10.0.0.0/16", 100);
	feed(s, 'A', (int64_t)0xFFFFFFFFu + 400, 0, "10.0.0.0/16", 100);
	sig_finish(s);
	assert_int_equal(sig_bins_emitted(s), 2);
	assert_non_null(row_of(4294967100, SIG_GLOBAL, NULL, 0));
	assert_non_null(row_of(4294967400, SIG_GLOBAL, NULL, 0));
	assert_int_equal(row_of(4294967100, SIG_GLOBAL, NULL, 0)->announcements, 50);
	sig_free(s);
	rib_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_feed_rule),
		cmocka_unit_test(test_distinct_slash24_and_split),
		cmocka_unit_test(test_incremental_union),
		cmocka_unit_test(test_peer_down_up),
		cmocka_unit_test(test_bins_aligned),
		cmocka_unit_test(test_country_withdrawn_at_known_second),
		cmocka_unit_test(test_interruptions),
		cmocka_unit_test(test_incremental_equals_recompute),
		cmocka_unit_test(test_collector_gap),
		cmocka_unit_test(test_gap_same_at_bin_sizes),
		cmocka_unit_test(test_ipv6_slash48),
		cmocka_unit_test(test_addpath_origins),
		cmocka_unit_test(test_full_feed_hysteresis),
		cmocka_unit_test(test_peers_dropped_duration),
		cmocka_unit_test(test_no_rib_no_data),
		cmocka_unit_test(test_change_log),
		cmocka_unit_test(test_every_country_share),
		cmocka_unit_test(test_shared_slash24_counted_once),
		cmocka_unit_test(test_256_shares),
		cmocka_unit_test(test_geo4_same_rows),
		cmocka_unit_test(test_geo_waits),
		cmocka_unit_test(test_geo_waits_table),
		cmocka_unit_test(test_time_near_2_32),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
