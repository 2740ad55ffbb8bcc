/* libFuzzer target: the visibility signal (src/signal) over the RIB, against a naive recount.
 * Elements built from the input (announcements and withdrawals of 4 peers over nesting IPv4 and
 * IPv6 prefixes, session downs and ups, time steps; the first ops before sig_start are the RIB
 * load) are fed as replay feeds them. After every element the signal's own state must equal a
 * recount from the RIB and the full-feed set it chose: visible prefixes (seen by >= need of the
 * F full-feed peers, need = ceil(0.5 F)) and visible /24s (/48s: the union of the blocks of the
 * visible prefixes up to /24, /48). Every entity's bins come strictly increasing in time.
 * Input: 2 option bytes, then 4 bytes per operation. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_attrs.h"
#include "fuzz_util.h"
#include "signal/signal.h"

enum { NPEER = 4, NSEEN = 64, MAX_BINS = 64 };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_attr_variants_init();
	return 0;
}

/* IPv4 /6../32 and IPv6 /12../64: some below the /8 and /16 floors */
static const struct fuzz_universe universe = {
	.v4 = { { 10, 0, 0, 0 }, { 10, 1, 0, 0 }, { 10, 1, 2, 0 }, { 175, 45, 176, 0 }, { 1, 0, 0, 0 },
	        { 223, 255, 255, 0 }, { 10, 128, 0, 0 }, { 192, 0, 2, 0 } },
	.v4_min = 6, .v4_span = 27, .v6_byte = 6, .v6_min = 12, .v6_span = 53,
};

/* A mapping (option bit 5): IPv4 addresses by their second byte's top bit, AA or BB (a prefix
 * over both: a share of each), IPv6 DE; with the signal's quick IPv4 answer one by one (bit 6)
 * or also in batches (bit 7), or through this function alone. Events of prefixes whose
 * countries are not made yet wait for them (signal.c geo_defer): a bin's country counts must
 * still fit its global ones. Fuzz builds shrink the signal's table-sized thresholds
 * (DM_SIGNAL_SMALL: a scan past 4 waiting prefixes, chunks of 4, a recompute's make from 8), so
 * that a few prefixes take the paths of a table's settle (tests/fuzz/regress/signal holds one). */
static int fake_geo(void *arg, const struct dm_prefix *p, struct geo_share *out, int max)
{
	(void)arg;
	if (max < 2)
		return 0;
	if (p->afi != DM_AFI_IPV4) {
		memcpy(out[0].cc, "DE", 3);
		out[0].addrs = p->len <= 64 ? 1ull << (64 - (p->len < 1 ? 1 : p->len)) : 1;
		return 1;
	}
	uint64_t size = 1ull << (32 - p->len);
	if (p->len <= 8) {   /* both halves of the second byte */
		memcpy(out[0].cc, "AA", 3);
		memcpy(out[1].cc, "BB", 3);
		out[0].addrs = out[1].addrs = size / 2;
		return 2;
	}
	memcpy(out[0].cc, p->b[1] & 0x80 ? "BB" : "AA", 3);
	out[0].addrs = size;
	return 1;
}

static uint16_t fake_geo4(void *arg, uint32_t lo, uint32_t hi)
{
	(void)arg;
	if ((lo ^ hi) & 0xff800000u)
		return 0;   /* over both: the geo function's shares */
	return lo & 0x00800000u ? (uint16_t)('B' << 8 | 'B') : (uint16_t)('A' << 8 | 'A');
}

static void fake_geo4_batch(void *arg, const uint32_t *lo, const uint32_t *hi, uint16_t *cc, size_t n)
{
	for (size_t k = 0; k < n; k++)
		cc[k] = fake_geo4(arg, lo[k], hi[k]);
}

/* Emitted bins: per entity, strictly increasing in time; per bin and family, the global
 * announcements and withdrawals and the countries' sums of them. */
struct seen {
	struct sig_entity e[NSEEN];
	uint32_t t[NSEEN];
	int n;
	uint32_t t0, bin;
	uint64_t glob[MAX_BINS + 4][2][2], cc[MAX_BINS + 4][2][2];
};

static void emit(void *arg, const struct sig_entity *e, const struct sig_bin *b)
{
	struct seen *s = arg;
	uint64_t k = b->t >= s->t0 ? (b->t - s->t0) / s->bin : MAX_BINS + 3;
	if (k < MAX_BINS + 3 && (e->kind == SIG_GLOBAL || e->kind == SIG_COUNTRY)) {
		uint64_t(*sum)[2] = e->kind == SIG_GLOBAL ? s->glob[k] : s->cc[k];
		int fam = e->afi == DM_AFI_IPV6;
		sum[fam][0] += b->announcements;
		sum[fam][1] += b->withdrawals;
	}
	for (int i = 0; i < s->n; i++)
		if (s->e[i].kind == e->kind && s->e[i].afi == e->afi && s->e[i].asn == e->asn &&
		    memcmp(s->e[i].cc, e->cc, 2) == 0) {
			CHECK(b->t > s->t[i]);
			s->t[i] = b->t;
			return;
		}
	if (s->n < NSEEN) {
		s->e[s->n] = *e;
		s->t[s->n++] = b->t;
	}
}

/* Block range [lo, hi) of a prefix: /24s (IPv4) or /48s (IPv6). */
static void blocks(const struct dm_prefix *p, uint64_t *lo, uint64_t *hi)
{
	if (p->afi == DM_AFI_IPV4) {
		uint64_t a = (uint64_t)p->b[0] << 16 | (uint64_t)p->b[1] << 8 | p->b[2];
		*lo = a;
		*hi = a + (1ull << (24 - p->len));
	} else {
		uint64_t a = 0;
		for (int i = 0; i < 6; i++)
			a = a << 8 | p->b[i];
		*lo = a;
		*hi = a + (1ull << (48 - p->len));
	}
}

static int cmp_u64pair(const void *x, const void *y)
{
	const uint64_t *a = x, *b = y;
	return a[0] < b[0] ? -1 : a[0] > b[0];
}

static void recount(struct sig *s, const struct rib *r)
{
	for (int fam = 0; fam < 2; fam++) {
		struct sig_fam_info info;
		sig_fam_info(s, fam, &info);
		uint32_t ff[NPEER + 4];
		uint32_t nff = sig_full_feed_peers(s, fam, ff, NPEER + 4);
		CHECK(nff == info.nff && nff <= NPEER);
		if (nff == 0) {
			CHECK(info.visible == 0 && info.slash24 == 0);
			continue;
		}
		CHECK(info.need == (nff + 1) / 2);   /* ceil(0.5 x F) */
		uint64_t visible = 0, nb = 0;
		static uint64_t iv[2 * 4096];
		for (uint32_t i = 0; i < rib_prefix_count(r); i++) {
			const struct dm_prefix pv = rib_prefix(r, i), *p = &pv;
			if (rib_fam(p->afi) != fam)
				continue;
			uint32_t seen = 0;
			for (uint32_t k = 0; k < nff; k++)
				seen += rib_slot(r, ff[k], i) != 0;
			if (seen < info.need)
				continue;
			visible++;
			if (p->len <= (fam ? 48 : 24) && nb < 4096) {
				blocks(p, &iv[2 * nb], &iv[2 * nb + 1]);
				nb++;
			}
		}
		CHECK(info.visible == visible);
		qsort(iv, nb, 2 * sizeof *iv, cmp_u64pair);
		uint64_t total = 0, end = 0;
		for (uint64_t k = 0; k < nb; k++) {
			uint64_t lo = iv[2 * k] > end ? iv[2 * k] : end, hi = iv[2 * k + 1];
			if (hi > lo)
				total += hi - lo;
			if (hi > end)
				end = hi;
		}
		CHECK(info.slash24 == total);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	struct rib *r = rib_new();
	if (!r)
		return 0;
	struct sig_opts o;
	sig_opts_default(&o);
	o.bin = data[0] & 1 ? 60 : 300;
	o.ff_rule = SIG_FF_COUNT;
	o.ff_count[0] = 1u + (data[0] >> 1 & 3);
	o.ff_count[1] = 1u + (data[0] >> 3 & 3);
	int mapped = data[0] >> 5 & 1;
	struct sig *s = sig_new(r, mapped ? fake_geo : NULL, NULL, &o);
	if (!s) {
		rib_free(r);
		return 0;
	}
	if (mapped && data[0] >> 6)
		sig_set_geo4(s, fake_geo4, data[0] >> 7 ? fake_geo4_batch : NULL);
	static struct seen seen;
	memset(&seen, 0, sizeof seen);
	seen.t0 = 1419264000u / o.bin * o.bin;
	seen.bin = o.bin;
	sig_set_emit(s, emit, &seen);
	sig_want_countries(s);
	uint32_t coll = rib_collector_find_or_add(r, "rrc00");
	struct dm_ip peer_ip[NPEER], nh = { .afi = DM_AFI_IPV4, .b = { 192, 0, 2, 254 } };
	for (int p = 0; p < NPEER; p++)
		peer_ip[p] = (struct dm_ip){ .afi = DM_AFI_IPV4, .b = { 192, 0, 2, (uint8_t)(p + 1) } };
	uint32_t ts = 1419264000u, t0 = ts;
	size_t load = 2 + 4 * (size_t)(data[1] % 16);   /* ops before sig_start: the RIB */
	int started = 0;
	for (size_t off = 2; off + 4 <= size; off += 4) {
		if (!started && off >= load) {
			sig_start(s);
			sig_collector_active(s, coll, 1);
			started = 1;
		}
		const uint8_t *op = data + off;
		int p = op[0] >> 2 & 3;
		/* Steps of 0..63 s or 0..15 min, and at most MAX_BINS bins an input: every bin walks
		 * every entity slot (hundreds), and steps of up to an hour made thousands of bins an
		 * input (1 run/s). */
		if (started && ts - t0 < MAX_BINS * o.bin) {
			ts += (uint32_t)(op[3] >> 2) * (op[3] & 2 ? 15 : 1);
			sig_time(s, ts);
		}
		struct dm_elem e;
		memset(&e, 0, sizeof e);
		e.ts = ts;
		e.peer_ip = &peer_ip[p];
		e.peer_asn = 64496u + (uint32_t)p;
		switch (op[0] & 3) {
		case 0:
		case 1:
			e.type = started ? DM_ELEM_ANNOUNCE : DM_ELEM_RIB;
			e.prefix = fuzz_prefix(&universe, op[1], op[2]);
			e.attrs = &fuzz_var_attrs[op[0] >> 4 & 3];
			e.next_hop = &nh;
			break;
		case 2:
			e.type = DM_ELEM_WITHDRAW;
			e.prefix = fuzz_prefix(&universe, op[1], op[2]);
			break;
		default:
			e.type = DM_ELEM_STATE;
			e.old_state = op[1] & 1 ? 6 : 1;   /* Established -> Idle, or back */
			e.new_state = op[1] & 1 ? 1 : 6;
			break;
		}
		if (started)
			sig_record(s, coll);
		sig_elem(s, coll, &e);
		if (started)
			recount(s, r);
	}
	if (started)
		sig_finish(s);
	/* an event counts for its prefix's countries (one, or AA and BB for a prefix over both) in
	 * its own bin, whether it waited for them or not: never more than twice the bin's global
	 * count (fewer: a withdrawal of a prefix the RIB never held counts globally only) */
	for (int k = 0; k < MAX_BINS + 3; k++)
		for (int fam = 0; fam < 2; fam++)
			for (int x = 0; x < 2; x++)
				CHECK(seen.cc[k][fam][x] <= 2 * seen.glob[k][fam][x]);
	sig_free(s);
	rib_free(r);
	return 0;
}
